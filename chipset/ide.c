/*
 * fugu — ATA hard disks on the legacy IDE channels. References are to
 * ATA/ATAPI-6 (T13 1410D rev. 3b), by name: clause 7 (the registers), clause
 * 8 (the commands, alphabetical), clause 9 (the protocols: software reset,
 * signatures, single-device configurations, PIO data-in/out, DMA).
 *
 * Commands complete at once: a PIO command leaves DRQ set with its first
 * block ready, a DMA command transfers as soon as the bus master runs, and
 * BSY is only ever seen while SRST is held. Both devices of a channel share
 * one copy of the command block registers (every write reaches both, only the
 * selected one answers reads).
 */
#include "chipset/ide.h"
#include "chipset/state.h"

#include <stdio.h>
#include <string.h>

#include "mmu/ioport.h"

/* Command codes (ATA/ATAPI-6 clause 8; "without retries" and RECALIBRATE/SEEK
 * are from ATA-3 and are still sent by old drivers). */
enum {
	CMD_DEVICE_RESET = 0x08,
	CMD_RECALIBRATE = 0x10,
	CMD_READ_SECTORS = 0x20,
	CMD_READ_SECTORS_NR = 0x21,
	CMD_READ_SECTORS_EXT = 0x24,
	CMD_READ_DMA_EXT = 0x25,
	CMD_READ_MULTIPLE_EXT = 0x29,
	CMD_WRITE_SECTORS = 0x30,
	CMD_WRITE_SECTORS_NR = 0x31,
	CMD_WRITE_SECTORS_EXT = 0x34,
	CMD_WRITE_DMA_EXT = 0x35,
	CMD_WRITE_MULTIPLE_EXT = 0x39,
	CMD_READ_VERIFY = 0x40,
	CMD_READ_VERIFY_NR = 0x41,
	CMD_READ_VERIFY_EXT = 0x42,
	CMD_SEEK = 0x70,
	CMD_DIAGNOSTIC = 0x90,
	CMD_INIT_PARAMS = 0x91,
	CMD_PACKET = 0xa0,
	CMD_IDENTIFY_PACKET = 0xa1,
	CMD_READ_MULTIPLE = 0xc4,
	CMD_WRITE_MULTIPLE = 0xc5,
	CMD_SET_MULTIPLE = 0xc6,
	CMD_READ_DMA = 0xc8,
	CMD_READ_DMA_NR = 0xc9,
	CMD_WRITE_DMA = 0xca,
	CMD_WRITE_DMA_NR = 0xcb,
	CMD_STANDBY_IMMEDIATE = 0xe0,
	CMD_IDLE_IMMEDIATE = 0xe1,
	CMD_STANDBY = 0xe2,
	CMD_IDLE = 0xe3,
	CMD_CHECK_POWER = 0xe5,
	CMD_SLEEP = 0xe6,
	CMD_FLUSH_CACHE = 0xe7,
	CMD_FLUSH_CACHE_EXT = 0xea,
	CMD_IDENTIFY = 0xec,
	CMD_SET_FEATURES = 0xef,
};

#define DEV_LBA 0x40 /* Device register bit 6: LBA addressing (7.10) */
#define DEV_DEV 0x10 /* Device register bit 4: device 1 selected */
#define READY (ATA_STAT_DRDY | ATA_STAT_DSC)
#define EMPTY_BUS 0x7f /* no device: DD7 pulled down by the host, the rest floats */
/* PACKET interrupt reason, in Sector Count (9.8, PACKET command protocol). */
#define IREASON_COD 0x01 /* command packet (1) or data (0) */
#define IREASON_IO 0x02  /* to the host (1) or to the device (0) */

static void pio_next_in(struct ide_channel *ch, struct ide_drive *d);
static void atapi_dma(struct ide *ide, struct ide_channel *ch, struct ide_drive *d);
static void atapi_command(struct ide_channel *ch, struct ide_drive *d, uint8_t cmd);

static bool
channel_empty(const struct ide_channel *ch)
{
	return !ch->drive[0].present && !ch->drive[1].present;
}

static struct ide_drive *
selected(struct ide_channel *ch)
{
	return &ch->drive[ch->st.select & DEV_DEV ? 1 : 0];
}

/*
 * INTRQ: asserted while the selected device has an interrupt pending and
 * nIEN is clear (7, Device Control register: nIEN). A rising edge also sets the bus
 * master's interrupt bit.
 */
static void
update_irq(struct ide_channel *ch)
{
	struct ide_drive *d = selected(ch);
	bool level = d->present && d->st.irq_pending && !(ch->st.ctl & ATA_CTL_NIEN);
	if (level == ch->irq)
		return;
	ch->irq = level;
	if (level)
		ide_bm_irq(ch->ide, ch->index);
	irq_set(&ch->ide->board.irq[ch->index], level);
}

static void
raise_irq(struct ide_channel *ch, struct ide_drive *d)
{
	d->st.irq_pending = true;
	update_irq(ch);
}

/* The command ends with `status` and an interrupt. */
static void
complete(struct ide_channel *ch, struct ide_drive *d, uint8_t status)
{
	d->st.status = status;
	d->st.cmd = 0;
	d->st.xfer = IDE_XFER_NONE;
	d->st.pos = d->st.len = 0;
	raise_irq(ch, d);
}

/* The command fails with Error = err (ABRT, IDNF, UNC) and an interrupt. */
static void
fail(struct ide_channel *ch, struct ide_drive *d, uint8_t err)
{
	d->st.error = err;
	complete(ch, d, READY | ATA_STAT_ERR);
}

/*
 * The reset signature of an ATA device (9, signature and persistence):
 * Sector Count 01h, LBA Low 01h, LBA Mid/High 00h (14h/EBh for a packet
 * device), Device 00h; Error holds the diagnostic code 01h (passed; for
 * device 0, device 1 passed or absent). XXX: the channel keeps one copy of
 * the registers, so it is device 0's signature that shows.
 */
static void
signature(struct ide_channel *ch)
{
	struct ide_channel_state *t = &ch->st;
	t->nsect = t->lbal = 1;
	t->lbam = t->lbah = 0;
	/* device 0's signature (device 1's when it is alone, as SeaBIOS probes it) */
	const struct ide_drive *sig = ch->drive[0].present ? &ch->drive[0] : &ch->drive[1];
	if (sig->atapi) { /* a packet device's signature: 14h EBh (9.1) */
		t->lbam = 0x14;
		t->lbah = 0xeb;
	}
	t->hob_nsect = t->hob_lbal = t->hob_lbam = t->hob_lbah = 0;
	t->select = 0;
	for (unsigned k = 0; k < 2; k++) {
		struct ide_drive *d = &ch->drive[k];
		d->st.error = 0x01;
		d->st.status = d->present ? READY : 0;
		d->st.cmd = 0;
		d->st.xfer = IDE_XFER_NONE;
		d->st.pos = d->st.len = 0;
		d->st.irq_pending = false;
	}
}

/* The translation a drive reports by default: 16 heads, 63 sectors per track
 * up to 16383 cylinders (the classic 8.4 GB limit), smaller for tiny disks. */
static void
default_geometry(struct ide_drive *d)
{
	uint64_t n = d->bd.sectors;
	uint64_t heads = 16, spt = 63, cyls = n / (16 * 63);
	if (cyls == 0) {
		spt = n < 63 ? n : 63;
		heads = n / spt > 16 ? 16 : n / spt;
		cyls = 1;
	}
	if (cyls > 16383)
		cyls = 16383;
	d->def_cyls = (uint16_t)cyls;
	d->def_heads = (uint16_t)heads;
	d->def_spt = (uint16_t)spt;
}

/* The current translation's cylinder count for `heads` x `spt` (IDENTIFY word 54). */
static uint16_t
translated_cyls(const struct ide_drive *d, unsigned heads, unsigned spt)
{
	uint64_t c = d->bd.sectors / ((uint64_t)heads * spt);
	if (c > 65535)
		c = 65535;
	return (uint16_t)c;
}

/* Power-on settings of one drive (multiple mode at its maximum, default translation). */
static void
drive_power_on(struct ide_drive *d)
{
	memset(&d->st, 0, sizeof(d->st));
	d->st.mult = IDE_MAX_MULT;
	d->st.wcache = true;
	d->st.xfer_mode = 0x0c; /* PIO mode 4 */
	d->st.heads = d->def_heads;
	d->st.spt = d->def_spt;
	d->st.cyls = d->def_cyls;
}

/* Put `s` into words [first, first+n) as ATA strings: two characters per word,
 * the first in bits 15-8, padded with spaces (8, IDENTIFY DEVICE, word 10 notes). */
static void
put_string(uint16_t *w, unsigned first, unsigned n, const char *s)
{
	size_t len = strlen(s);
	for (unsigned k = 0; k < 2 * n; k++) {
		uint8_t c = k < len ? (uint8_t)s[k] : ' ';
		if (k & 1)
			w[first + k / 2] |= c;
		else
			w[first + k / 2] = (uint16_t)(c << 8);
	}
}

/*
 * IDENTIFY DEVICE data (8, IDENTIFY DEVICE, its table of words) into
 * d->st.buf, little-endian words.
 */
static void identify_put(struct ide_drive *d, uint16_t *w);

static void
identify(struct ide_drive *d)
{
	uint16_t w[256] = { 0 };
	uint64_t n = d->bd.sectors;
	uint64_t lba28 = n > 0x0fffffff ? 0x0fffffff : n;
	uint32_t chs_cap = (uint32_t)d->st.cyls * d->st.heads * d->st.spt;
	char serial[21];
	snprintf(serial, sizeof(serial), "FUGU%016u", d->unit + 1u);
	w[0] = 0x0040; /* fixed device, not removable, ATA */
	w[1] = d->def_cyls;
	w[3] = d->def_heads;
	w[6] = d->def_spt;
	put_string(w, 10, 10, serial);
	put_string(w, 23, 4, "0.1");
	put_string(w, 27, 20, "FUGU HARDDISK");
	w[47] = 0x8000 | IDE_MAX_MULT; /* READ/WRITE MULTIPLE: up to 16 sectors */
	w[49] = 0x0b00;                /* IORDY supported, LBA and DMA supported */
	w[50] = 0x4000;
	w[51] = 0x0200;     /* PIO timing mode 2 (obsolete) */
	w[53] = 0x0007;     /* words 54-58, 64-70 and 88 are valid */
	w[54] = d->st.cyls; /* current translation */
	w[55] = d->st.heads;
	w[56] = d->st.spt;
	w[57] = (uint16_t)chs_cap;
	w[58] = (uint16_t)(chs_cap >> 16);
	w[59] = d->st.mult ? (uint16_t)(0x0100 | d->st.mult) : 0;
	w[60] = (uint16_t)lba28; /* total addressable sectors, 28-bit commands */
	w[61] = (uint16_t)(lba28 >> 16);
	w[63] = 0x0007;                      /* multiword DMA modes 0-2 supported */
	w[64] = 0x0003;                      /* PIO modes 3 and 4 */
	w[65] = w[66] = w[67] = w[68] = 120; /* cycle times, ns */
	w[80] = 0x007e;                      /* ATA-1 to ATA-6 */
	w[82] = 0x4028;                      /* NOP, write cache, power management */
	w[83] = 0x7400;                      /* FLUSH CACHE EXT, FLUSH CACHE, 48-bit address */
	w[84] = 0x4000;
	w[85] = (uint16_t)(0x4008 | (d->st.wcache ? 0x0020 : 0));
	w[86] = 0x3400;
	w[87] = 0x4000;
	w[88] = 0x003f; /* Ultra DMA modes 0-5 supported */
	uint8_t mode = d->st.xfer_mode;
	if ((mode & 0xf8) == 0x20)
		w[63] |= (uint16_t)(0x0100 << (mode & 7)); /* multiword DMA mode selected */
	if ((mode & 0xf8) == 0x40)
		w[88] |= (uint16_t)(0x0100 << (mode & 7)); /* Ultra DMA mode selected */
	w[93] = (d->unit & 1) ? 0x6300 : 0x600b;           /* reset results, 80-conductor cable */
	w[100] = (uint16_t)n; /* total addressable sectors, 48-bit commands */
	w[101] = (uint16_t)(n >> 16);
	w[102] = (uint16_t)(n >> 32);
	w[103] = (uint16_t)(n >> 48);
	identify_put(d, w);
}

/* IDENTIFY data into the drive's buffer, with the integrity word (word 255:
 * signature A5h, then the checksum). */
static void
identify_put(struct ide_drive *d, uint16_t *w)
{
	w[255] = 0x00a5;
	uint8_t sum = 0;
	for (unsigned k = 0; k < 256; k++) {
		d->st.buf[2 * k] = (uint8_t)w[k];
		d->st.buf[2 * k + 1] = (uint8_t)(w[k] >> 8);
		if (k < 255)
			sum = (uint8_t)(sum + d->st.buf[2 * k] + d->st.buf[2 * k + 1]);
	}
	sum = (uint8_t)(sum + 0xa5);
	d->st.buf[511] = (uint8_t)-sum;
}

/*
 * The command's starting address and sector count from the task file:
 * 48-bit (previous content holds bits 47-24 and the count's high byte), LBA28
 * (Device bits 3-0 are LBA 27-24) or CHS through the current translation
 * (7, Device register; 8, each command's "Inputs"). A count of 0 means 256
 * (65536 for 48-bit). Fails with
 * IDNF for an invalid CHS address or a range beyond the medium.
 */
static bool
decode_address(struct ide_channel *ch, struct ide_drive *d, bool lba48, uint64_t *lba,
	       uint32_t *count)
{
	const struct ide_channel_state *t = &ch->st;
	if (lba48) {
		*count = (uint32_t)(t->hob_nsect << 8 | t->nsect);
		if (*count == 0)
			*count = 65536;
		*lba = (uint64_t)t->lbal | (uint64_t)t->lbam << 8 | (uint64_t)t->lbah << 16 |
		       (uint64_t)t->hob_lbal << 24 | (uint64_t)t->hob_lbam << 32 |
		       (uint64_t)t->hob_lbah << 40;
		d->st.addr_mode = 2;
	} else {
		*count = t->nsect ? t->nsect : 256;
		if (t->select & DEV_LBA) {
			*lba = (uint64_t)t->lbal | (uint64_t)t->lbam << 8 |
			       (uint64_t)t->lbah << 16 | (uint64_t)(t->select & 0x0f) << 24;
			d->st.addr_mode = 1;
		} else {
			unsigned cyl = (unsigned)(t->lbah << 8 | t->lbam);
			unsigned head = t->select & 0x0f, sec = t->lbal;
			d->st.addr_mode = 0;
			if (!d->st.spt || sec == 0 || sec > d->st.spt || head >= d->st.heads ||
			    cyl >= d->st.cyls) {
				fail(ch, d, ATA_ERR_IDNF);
				return false;
			}
			*lba = ((uint64_t)cyl * d->st.heads + head) * d->st.spt + sec - 1;
		}
	}
	if (*lba >= d->bd.sectors || *count > d->bd.sectors - *lba) {
		fail(ch, d, ATA_ERR_IDNF);
		return false;
	}
	return true;
}

/*
 * Report sector `lba` in the task file the way the command addressed the
 * medium: after an error, the sector in error; after success, the last one.
 */
static void
set_address(struct ide_channel *ch, struct ide_drive *d, uint64_t lba)
{
	struct ide_channel_state *t = &ch->st;
	switch (d->st.addr_mode) {
	case 2:
		t->lbal = (uint8_t)lba;
		t->lbam = (uint8_t)(lba >> 8);
		t->lbah = (uint8_t)(lba >> 16);
		t->hob_lbal = (uint8_t)(lba >> 24);
		t->hob_lbam = (uint8_t)(lba >> 32);
		t->hob_lbah = (uint8_t)(lba >> 40);
		break;
	case 1:
		t->lbal = (uint8_t)lba;
		t->lbam = (uint8_t)(lba >> 8);
		t->lbah = (uint8_t)(lba >> 16);
		t->select = (uint8_t)((t->select & 0xf0) | ((lba >> 24) & 0x0f));
		break;
	default: {
		uint64_t track = lba / d->st.spt;
		uint64_t cyl = track / d->st.heads;
		t->lbal = (uint8_t)(lba % d->st.spt + 1);
		t->lbam = (uint8_t)cyl;
		t->lbah = (uint8_t)(cyl >> 8);
		t->select = (uint8_t)((t->select & 0xf0) | (track % d->st.heads));
		break;
	}
	}
}

/* A data command finished: Sector Count 0, the address of the last sector. */
static void
data_done(struct ide_channel *ch, struct ide_drive *d, uint64_t last)
{
	ch->st.nsect = 0;
	ch->st.hob_nsect = 0;
	set_address(ch, d, last);
}

/*
 * PIO data-in (9, PIO data-in protocol): read the next DRQ block (up to `block` sectors) into
 * the buffer, set DRQ and interrupt. An unreadable sector ends the command
 * with UNC.
 */
static void
pio_next_in(struct ide_channel *ch, struct ide_drive *d)
{
	unsigned n = d->st.left < d->st.block ? d->st.left : d->st.block;
	if (blockdev_read(&d->bd, d->st.lba, n, d->st.buf) < 0) {
		set_address(ch, d, d->st.lba);
		fail(ch, d, ATA_ERR_UNC);
		return;
	}
	d->st.pos = 0;
	d->st.len = (uint16_t)(n * BLOCKDEV_SECTOR);
	d->st.status = READY | ATA_STAT_DRQ;
	raise_irq(ch, d);
}

/* PIO data-out (9, PIO data-out protocol): wait for the next block of up to `block` sectors. */
static void
pio_next_out(struct ide_drive *d)
{
	unsigned n = d->st.left < d->st.block ? d->st.left : d->st.block;
	d->st.pos = 0;
	d->st.len = (uint16_t)(n * BLOCKDEV_SECTOR);
	d->st.status = READY | ATA_STAT_DRQ;
}

/* The host has read the whole DRQ block. */
static void
pio_in_block_done(struct ide_channel *ch, struct ide_drive *d)
{
	unsigned n = d->st.len / BLOCKDEV_SECTOR;
	if (d->st.cmd == CMD_IDENTIFY || d->st.cmd == CMD_IDENTIFY_PACKET) {
		d->st.status = READY;
		d->st.xfer = IDE_XFER_NONE;
		d->st.cmd = 0;
		return;
	}
	d->st.lba += n;
	d->st.left -= n;
	if (d->st.left) {
		pio_next_in(ch, d);
		return;
	}
	/* The last block: DRQ clears, no interrupt (9, PIO data-in protocol). */
	data_done(ch, d, d->st.lba - 1);
	d->st.status = READY;
	d->st.xfer = IDE_XFER_NONE;
	d->st.cmd = 0;
}

/* The host has written the whole DRQ block: write it, then ask for the next
 * block (with an interrupt) or complete (with an interrupt). */
static void
pio_out_block_done(struct ide_channel *ch, struct ide_drive *d)
{
	unsigned n = d->st.len / BLOCKDEV_SECTOR;
	if (blockdev_write(&d->bd, d->st.lba, n, d->st.buf) < 0) {
		set_address(ch, d, d->st.lba);
		fail(ch, d, ATA_ERR_ABRT);
		return;
	}
	d->st.lba += n;
	d->st.left -= n;
	if (d->st.left) {
		pio_next_out(d);
		raise_irq(ch, d);
		return;
	}
	data_done(ch, d, d->st.lba - 1);
	complete(ch, d, READY);
}

/*
 * Start a PIO or DMA data command on the decoded range. Writes to a
 * read-only drive are refused with ABRT before any data moves.
 */
static void
start_data(struct ide_channel *ch, struct ide_drive *d, bool lba48, enum ide_xfer xfer,
	   unsigned block)
{
	uint64_t lba;
	uint32_t count;
	bool write = xfer == IDE_XFER_PIO_OUT || xfer == IDE_XFER_DMA_OUT;
	if (write && d->bd.readonly) {
		fail(ch, d, ATA_ERR_ABRT);
		return;
	}
	if (!decode_address(ch, d, lba48, &lba, &count))
		return;
	d->st.lba = lba;
	d->st.left = count;
	d->st.block = (uint16_t)block;
	d->st.xfer = (uint8_t)xfer;
	d->st.pos = d->st.len = 0;
	switch (xfer) {
	case IDE_XFER_PIO_IN: pio_next_in(ch, d); break;
	case IDE_XFER_PIO_OUT:
		pio_next_out(d); /* the first block is requested without an interrupt */
		break;
	default:
		/* DMA (9, DMA protocol): DRQ until the bus master has moved everything. */
		d->st.status = READY | ATA_STAT_DRQ;
		ide_dma_kick(ch->ide, ch->index);
		break;
	}
}

/*
 * Move data between the selected drive and the bus master, as far as the PRD
 * table allows. When all sectors have moved the command completes with an
 * interrupt; a table that runs out first leaves the drive waiting (PIIX3
 * BMISx: active and interrupt both clear).
 */
void
ide_dma_kick(struct ide *ide, unsigned chn)
{
	struct ide_channel *ch = &ide->ch[chn];
	struct ide_drive *d = selected(ch);
	bool in = d->st.xfer == IDE_XFER_DMA_IN;
	if (!d->present || (!in && d->st.xfer != IDE_XFER_DMA_OUT))
		return;
	if (!(ide->bm[chn].status & BM_STAT_ACTIVE) ||
	    !(ide->fn.st.config[PCI_COMMAND] & PCI_COMMAND_MASTER))
		return;
	if (d->atapi) {
		atapi_dma(ide, ch, d);
		return;
	}
	irq_pulse(&ide->board.dma_done);
	while (d->st.left) {
		unsigned n = d->st.left < IDE_MAX_MULT ? d->st.left : IDE_MAX_MULT;
		if (d->st.len == 0) {
			if (in && blockdev_read(&d->bd, d->st.lba, n, d->st.buf) < 0) {
				set_address(ch, d, d->st.lba);
				fail(ch, d, ATA_ERR_UNC);
				ide_bm_done(ide, chn);
				return;
			}
			d->st.pos = 0;
			d->st.len = (uint16_t)(n * BLOCKDEV_SECTOR);
		}
		d->st.pos += (uint16_t)ide_bm_transfer(ide, chn, d->st.buf + d->st.pos,
						       d->st.len - d->st.pos, in);
		if (d->st.pos < d->st.len)
			return; /* the PRD table ran out */
		if (!in && blockdev_write(&d->bd, d->st.lba, n, d->st.buf) < 0) {
			set_address(ch, d, d->st.lba);
			fail(ch, d, ATA_ERR_ABRT);
			ide_bm_done(ide, chn);
			return;
		}
		d->st.lba += n;
		d->st.left -= n;
		d->st.len = 0;
	}
	data_done(ch, d, d->st.lba - 1);
	ide_bm_done(ide, chn);
	complete(ch, d, READY);
}

/* SET FEATURES (8): transfer mode, write cache, look-ahead, defaults. */
static void
set_features(struct ide_channel *ch, struct ide_drive *d)
{
	uint8_t v = ch->st.nsect;
	switch (ch->st.feature) {
	case 0x03: /* set transfer mode (SET FEATURES, transfer mode values) */
		if (v <= 0x01 || (v >= 0x08 && v <= 0x0c) || (v >= 0x20 && v <= 0x22) ||
		    (v >= 0x40 && v <= 0x45)) {
			d->st.xfer_mode = v <= 0x01 ? 0x0c : v;
			break;
		}
		fail(ch, d, ATA_ERR_ABRT);
		return;
	case 0x02: /* enable write cache */ d->st.wcache = true; break;
	case 0x82: /* disable write cache */ d->st.wcache = false; break;
	case 0x55: /* disable / enable read look-ahead, reverting to power-on defaults */
	case 0xaa:
	case 0x66:
	case 0xcc: break;
	default: fail(ch, d, ATA_ERR_ABRT); return;
	}
	complete(ch, d, READY);
}

/* EXECUTE DEVICE DIAGNOSTIC (8): both devices reset their registers to the
 * signature; device 0 interrupts. */
static void
diagnostic(struct ide_channel *ch)
{
	signature(ch);
	raise_irq(ch, &ch->drive[0]);
}

/*
 * A command written to the Command register of present drive d (clause 8).
 */
static void
execute(struct ide_channel *ch, struct ide_drive *d, uint8_t cmd)
{
	d->st.cmd = cmd;
	d->st.xfer = IDE_XFER_NONE;
	d->st.error = 0;
	d->st.irq_pending = false;
	update_irq(ch);
	if (d->atapi) {
		atapi_command(ch, d, cmd);
		return;
	}
	switch (cmd) {
	case CMD_IDENTIFY:
		identify(d);
		d->st.xfer = IDE_XFER_PIO_IN;
		d->st.pos = 0;
		d->st.len = BLOCKDEV_SECTOR;
		d->st.status = READY | ATA_STAT_DRQ;
		raise_irq(ch, d);
		break;
	case CMD_READ_SECTORS:
	case CMD_READ_SECTORS_NR: start_data(ch, d, false, IDE_XFER_PIO_IN, 1); break;
	case CMD_READ_SECTORS_EXT: start_data(ch, d, true, IDE_XFER_PIO_IN, 1); break;
	case CMD_WRITE_SECTORS:
	case CMD_WRITE_SECTORS_NR: start_data(ch, d, false, IDE_XFER_PIO_OUT, 1); break;
	case CMD_WRITE_SECTORS_EXT: start_data(ch, d, true, IDE_XFER_PIO_OUT, 1); break;
	case CMD_READ_MULTIPLE:
	case CMD_READ_MULTIPLE_EXT:
	case CMD_WRITE_MULTIPLE:
	case CMD_WRITE_MULTIPLE_EXT: {
		/* READ/WRITE MULTIPLE (8): aborted while multiple mode is disabled */
		bool ext = cmd == CMD_READ_MULTIPLE_EXT || cmd == CMD_WRITE_MULTIPLE_EXT;
		bool rd = cmd == CMD_READ_MULTIPLE || cmd == CMD_READ_MULTIPLE_EXT;
		if (!d->st.mult) {
			fail(ch, d, ATA_ERR_ABRT);
			break;
		}
		start_data(ch, d, ext, rd ? IDE_XFER_PIO_IN : IDE_XFER_PIO_OUT, d->st.mult);
		break;
	}
	case CMD_READ_DMA:
	case CMD_READ_DMA_NR: start_data(ch, d, false, IDE_XFER_DMA_IN, 1); break;
	case CMD_READ_DMA_EXT: start_data(ch, d, true, IDE_XFER_DMA_IN, 1); break;
	case CMD_WRITE_DMA:
	case CMD_WRITE_DMA_NR: start_data(ch, d, false, IDE_XFER_DMA_OUT, 1); break;
	case CMD_WRITE_DMA_EXT: start_data(ch, d, true, IDE_XFER_DMA_OUT, 1); break;
	case CMD_READ_VERIFY:
	case CMD_READ_VERIFY_NR:
	case CMD_READ_VERIFY_EXT: {
		/* READ VERIFY SECTORS (8): the sectors are read but not transferred */
		uint64_t lba;
		uint32_t count;
		if (decode_address(ch, d, cmd == CMD_READ_VERIFY_EXT, &lba, &count)) {
			data_done(ch, d, lba + count - 1);
			complete(ch, d, READY);
		}
		break;
	}
	case CMD_SET_MULTIPLE: {
		/* SET MULTIPLE MODE (8): a power of two up to word 47's maximum; 0 disables */
		uint8_t n = ch->st.nsect;
		if (n > IDE_MAX_MULT || (n & (n - 1))) {
			fail(ch, d, ATA_ERR_ABRT);
			break;
		}
		d->st.mult = n;
		complete(ch, d, READY);
		break;
	}
	case CMD_INIT_PARAMS: {
		/* INITIALIZE DEVICE PARAMETERS (8): sectors per track from Sector
		 * Count, heads from Device bits 3-0; an unusable translation makes
		 * CHS commands fail with IDNF */
		d->st.spt = ch->st.nsect;
		d->st.heads = (uint16_t)((ch->st.select & 0x0f) + 1);
		d->st.cyls = d->st.spt ? translated_cyls(d, d->st.heads, d->st.spt) : 0;
		complete(ch, d, READY);
		break;
	}
	case CMD_SET_FEATURES: set_features(ch, d); break;
	case CMD_FLUSH_CACHE:
	case CMD_FLUSH_CACHE_EXT:
		if (blockdev_flush(&d->bd) < 0)
			fail(ch, d, ATA_ERR_ABRT);
		else
			complete(ch, d, READY);
		break;
	case CMD_CHECK_POWER:
		ch->st.nsect = 0xff; /* CHECK POWER MODE (8): active or idle */
		complete(ch, d, READY);
		break;
	case CMD_STANDBY_IMMEDIATE:
	case CMD_IDLE_IMMEDIATE:
	case CMD_STANDBY:
	case CMD_IDLE:
	case CMD_SLEEP:
	case CMD_RECALIBRATE:
	case CMD_SEEK: complete(ch, d, READY); break;
	case CMD_DIAGNOSTIC: diagnostic(ch); break;
	default:
		fail(ch, d, ATA_ERR_ABRT); /* NOP (00h) included: it always aborts */
		break;
	}
}

/* ---- packet devices: the PACKET command protocol (9.8) ---- */

/* IDENTIFY PACKET DEVICE data (8, IDENTIFY PACKET DEVICE). */
static void
identify_packet(struct ide_drive *d)
{
	uint16_t w[256] = { 0 };
	char serial[21];
	snprintf(serial, sizeof(serial), "FUGU%016u", d->unit + 1u);
	/* ATAPI, CD-ROM (05h), removable, DRQ within 50 us of PACKET, 12-byte packets */
	w[0] = 0x85c0;
	put_string(w, 10, 10, serial);
	put_string(w, 23, 4, "0.1");
	put_string(w, 27, 20, "FUGU DVD-ROM");
	w[49] = 0x0b00; /* IORDY, LBA, DMA */
	w[53] = 0x0006; /* words 64-70 and 88 are valid */
	w[63] = 0x0007; /* multiword DMA modes 0-2 */
	w[64] = 0x0003; /* PIO modes 3 and 4 */
	w[65] = w[66] = w[67] = w[68] = 120;
	w[80] = 0x007e; /* ATA/ATAPI-1 to -6 */
	w[82] = 0x4014; /* NOP, PACKET, removable media feature sets */
	w[83] = 0x4000;
	w[84] = 0x4000;
	w[85] = 0x4014;
	w[87] = 0x4000;
	w[88] = 0x003f; /* Ultra DMA modes 0-5 */
	uint8_t mode = d->st.xfer_mode;
	if ((mode & 0xf8) == 0x20)
		w[63] |= (uint16_t)(0x0100 << (mode & 7));
	if ((mode & 0xf8) == 0x40)
		w[88] |= (uint16_t)(0x0100 << (mode & 7));
	w[93] = (d->unit & 1) ? 0x6300 : 0x600b;
	identify_put(d, w);
}

/* The packet command ended: interrupt reason I/O and C/D, an interrupt;
 * CHECK CONDITION shows as ERR with the sense key in Error bits 7-4 (7, Error
 * register, for the PACKET command set). */
static void
atapi_finish(struct ide_channel *ch, struct ide_drive *d, bool check)
{
	ch->st.nsect = IREASON_IO | IREASON_COD;
	if (!check) {
		complete(ch, d, READY);
		return;
	}
	d->st.error = (uint8_t)(d->st.at.sense_key << 4 | ATA_ERR_ABRT);
	complete(ch, d, READY | ATA_STAT_ERR);
}

/* PIO data-in: offer the next DRQ block from buf[pos], at most the byte count
 * limit the host gave (even, 0 read as FFFEh), in LBA Mid/High (9.8). */
static void
atapi_pio_block(struct ide_channel *ch, struct ide_drive *d)
{
	uint32_t limit = d->st.at.limit ? d->st.at.limit & ~1u : 0xfffe;
	uint32_t n = d->st.at.buf_len - d->st.pos;
	if (!limit)
		limit = 2;
	if (n > limit)
		n = limit;
	d->st.len = (uint16_t)(d->st.pos + n);
	ch->st.lbam = (uint8_t)n;
	ch->st.lbah = (uint8_t)(n >> 8);
	ch->st.nsect = IREASON_IO;
	d->st.xfer = IDE_XFER_PIO_IN;
	d->st.status = READY | ATA_STAT_DRQ;
	raise_irq(ch, d);
}

/* Refill the buffer with the next sectors of a READ; false when it failed
 * (the command then ended with CHECK CONDITION). */
static bool
atapi_refill(struct ide_channel *ch, struct ide_drive *d)
{
	int n = atapi_fill(&d->st.at, &d->bd, d->st.buf, sizeof(d->st.buf));
	if (n < 0) {
		atapi_finish(ch, d, true);
		return false;
	}
	d->st.at.buf_len = (uint32_t)n;
	d->st.pos = 0;
	return true;
}

/* The host has read a DRQ block: the next one, the next sectors, or the end. */
static void
atapi_pio_in_done(struct ide_channel *ch, struct ide_drive *d)
{
	if (d->st.pos < d->st.at.buf_len) {
		atapi_pio_block(ch, d);
	} else if (d->st.at.sectors) {
		if (atapi_refill(ch, d))
			atapi_pio_block(ch, d);
	} else {
		atapi_finish(ch, d, false);
	}
}

/* The 12-byte packet has arrived: execute it, then the data phase by PIO or
 * by the bus master (Features bit 0), or the end at once. */
static void
atapi_packet(struct ide_channel *ch, struct ide_drive *d)
{
	struct atapi_state *at = &d->st.at;
	memcpy(at->cdb, d->st.buf, ATAPI_PACKET);
	int n = atapi_execute(at, &d->bd, d->st.buf, sizeof(d->st.buf));
	if (n <= 0) {
		atapi_finish(ch, d, n < 0);
		return;
	}
	at->buf_len = (uint32_t)n;
	d->st.pos = 0;
	if (!at->dma) {
		atapi_pio_block(ch, d);
		return;
	}
	ch->st.nsect = IREASON_IO;
	d->st.xfer = IDE_XFER_DMA_IN;
	d->st.len = (uint16_t)n;
	d->st.status = READY | ATA_STAT_DRQ;
	ide_dma_kick(ch->ide, ch->index);
}

/* The bus master runs: move the buffer and the READ's further sectors to
 * the PRD regions, as far as the table goes. */
static void
atapi_dma(struct ide *ide, struct ide_channel *ch, struct ide_drive *d)
{
	struct atapi_state *at = &d->st.at;
	unsigned chn = ch->index;
	irq_pulse(&ide->board.dma_done);
	for (;;) {
		if (d->st.pos >= at->buf_len) {
			if (!at->sectors)
				break;
			if (!atapi_refill(ch, d)) {
				ide_bm_done(ide, chn);
				return;
			}
		}
		d->st.pos += (uint16_t)ide_bm_transfer(ide, chn, d->st.buf + d->st.pos,
						       at->buf_len - d->st.pos, true);
		if (d->st.pos < at->buf_len)
			return; /* the PRD table ran out */
	}
	ide_bm_done(ide, chn);
	atapi_finish(ch, d, false);
}

/*
 * An ATA command to a packet device (8; the PACKET command feature set):
 * PACKET, IDENTIFY PACKET DEVICE, DEVICE RESET and the general ones; IDENTIFY
 * DEVICE and the media access commands abort, IDENTIFY DEVICE with the packet
 * signature in the registers so the host learns what it talks to.
 */
static void
atapi_command(struct ide_channel *ch, struct ide_drive *d, uint8_t cmd)
{
	switch (cmd) {
	case CMD_PACKET:
		if (ch->st.feature & 0x02) { /* overlapped: not supported */
			fail(ch, d, ATA_ERR_ABRT);
			break;
		}
		d->st.at.dma = ch->st.feature & 0x01;
		d->st.at.limit = (uint16_t)(ch->st.lbam | ch->st.lbah << 8);
		ch->st.nsect = IREASON_COD; /* DRQ for the packet, without an interrupt */
		d->st.xfer = IDE_XFER_PIO_OUT;
		d->st.pos = 0;
		d->st.len = ATAPI_PACKET;
		d->st.status = READY | ATA_STAT_DRQ;
		break;
	case CMD_IDENTIFY_PACKET:
		identify_packet(d);
		d->st.xfer = IDE_XFER_PIO_IN;
		d->st.pos = 0;
		d->st.len = BLOCKDEV_SECTOR;
		d->st.status = READY | ATA_STAT_DRQ;
		raise_irq(ch, d);
		break;
	case CMD_DEVICE_RESET: /* (8, DEVICE RESET): the signature, no interrupt */
		ch->st.nsect = ch->st.lbal = 1;
		ch->st.lbam = 0x14;
		ch->st.lbah = 0xeb;
		d->st.error = 0x01;
		d->st.status = READY;
		d->st.cmd = 0;
		break;
	case CMD_IDENTIFY:
		ch->st.nsect = ch->st.lbal = 1;
		ch->st.lbam = 0x14;
		ch->st.lbah = 0xeb;
		fail(ch, d, ATA_ERR_ABRT);
		break;
	case CMD_SET_FEATURES: set_features(ch, d); break;
	case CMD_CHECK_POWER:
		ch->st.nsect = 0xff;
		complete(ch, d, READY);
		break;
	case CMD_STANDBY_IMMEDIATE:
	case CMD_IDLE_IMMEDIATE:
	case CMD_STANDBY:
	case CMD_IDLE:
	case CMD_SLEEP: complete(ch, d, READY); break;
	case CMD_DIAGNOSTIC: diagnostic(ch); break;
	default: fail(ch, d, ATA_ERR_ABRT); break;
	}
}

/* One 16-bit cycle on the data port. */
static uint16_t
data_in16(struct ide_channel *ch)
{
	struct ide_drive *d = selected(ch);
	if (!d->present || d->st.xfer != IDE_XFER_PIO_IN || !(d->st.status & ATA_STAT_DRQ))
		return 0xffff;
	uint16_t v = (uint16_t)(d->st.buf[d->st.pos] | d->st.buf[d->st.pos + 1] << 8);
	d->st.pos += 2;
	if (d->st.pos >= d->st.len) {
		if (d->atapi && d->st.cmd == CMD_PACKET)
			atapi_pio_in_done(ch, d);
		else
			pio_in_block_done(ch, d);
	}
	return v;
}

static void
data_out16(struct ide_channel *ch, uint16_t v)
{
	struct ide_drive *d = selected(ch);
	if (!d->present || d->st.xfer != IDE_XFER_PIO_OUT || !(d->st.status & ATA_STAT_DRQ))
		return;
	d->st.buf[d->st.pos] = (uint8_t)v;
	d->st.buf[d->st.pos + 1] = (uint8_t)(v >> 8);
	d->st.pos += 2;
	if (d->st.pos >= d->st.len) {
		if (d->atapi)
			atapi_packet(ch, d);
		else
			pio_out_block_done(ch, d);
	}
}

/* The value of the Status register of the selected device: 00h for an absent
 * device 1 next to device 0 (9, device 0-only configurations), the floating
 * bus for an empty channel. */
static uint8_t
status_value(struct ide_channel *ch)
{
	if (channel_empty(ch))
		return EMPTY_BUS;
	struct ide_drive *d = selected(ch);
	return d->present ? d->st.status : 0;
}

/* A byte read of command block register reg (1-7). */
static uint8_t
reg_read(struct ide_channel *ch, unsigned reg)
{
	const struct ide_channel_state *t = &ch->st;
	bool hob = t->ctl & ATA_CTL_HOB;
	if (channel_empty(ch))
		return EMPTY_BUS;
	struct ide_drive *d = selected(ch);
	if (d->present && (d->st.status & ATA_STAT_BSY))
		return d->st.status; /* while BSY, the other registers are not valid */
	switch (reg) {
	case 1: return d->present ? d->st.error : 0;
	case 2: return hob ? t->hob_nsect : t->nsect;
	case 3: return hob ? t->hob_lbal : t->lbal;
	case 4: return hob ? t->hob_lbam : t->lbam;
	case 5: return hob ? t->hob_lbah : t->lbah;
	case 6: return t->select;
	default:
		/* Status: reading it acknowledges the interrupt (7, Status register) */
		if (d->present) {
			d->st.irq_pending = false;
			update_irq(ch);
		}
		return status_value(ch);
	}
}

/*
 * A byte write of command block register reg (1-7). Writes reach both
 * devices and clear HOB (7, Device Control register); they are ignored while the device is busy.
 */
static void
reg_write(struct ide_channel *ch, unsigned reg, uint8_t v)
{
	struct ide_channel_state *t = &ch->st;
	struct ide_drive *d = selected(ch);
	if (d->present && (d->st.status & ATA_STAT_BSY))
		return;
	t->ctl &= (uint8_t)~ATA_CTL_HOB;
	switch (reg) {
	case 1:
		t->hob_feature = t->feature;
		t->feature = v;
		break;
	case 2:
		t->hob_nsect = t->nsect;
		t->nsect = v;
		break;
	case 3:
		t->hob_lbal = t->lbal;
		t->lbal = v;
		break;
	case 4:
		t->hob_lbam = t->lbam;
		t->lbam = v;
		break;
	case 5:
		t->hob_lbah = t->lbah;
		t->lbah = v;
		break;
	case 6:
		t->select = v;
		update_irq(ch);
		break;
	default:
		if (d->present)
			execute(ch, d, v);
		else if (v == CMD_DIAGNOSTIC && ch->drive[0].present)
			diagnostic(ch); /* device 0-only (9): device 0 runs it for both */
		/* otherwise: a command to an absent device 1 is ignored */
		break;
	}
}

/* Port base+0, the data register: 16- and 32-bit accesses (the PIIX splits a
 * dword into two word cycles). */
static uint32_t
data_read(void *opaque, uint16_t port, unsigned size)
{
	struct ide_channel *ch = opaque;
	(void)port;
	if (channel_empty(ch))
		return 0xffffffffu >> (32 - 8 * size);
	uint32_t v = data_in16(ch);
	if (size == 4)
		v |= (uint32_t)data_in16(ch) << 16;
	return size == 1 ? v & 0xff : v;
}

static void
data_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct ide_channel *ch = opaque;
	(void)port;
	data_out16(ch, (uint16_t)value);
	if (size == 4)
		data_out16(ch, (uint16_t)(value >> 16));
}

/* Ports base+1 .. base+7, the task file: byte-wide, the port table splits
 * wider accesses. */
static uint32_t
cmd_read(void *opaque, uint16_t port, unsigned size)
{
	(void)size;
	return reg_read(opaque, port & 7);
}

static void
cmd_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	(void)size;
	reg_write(opaque, port & 7, (uint8_t)value);
}

/* Alternate Status (7): the Status register without acknowledging. */
static uint32_t
ctl_read(void *opaque, uint16_t port, unsigned size)
{
	struct ide_channel *ch = opaque;
	(void)port;
	(void)size;
	return status_value(ch);
}

/*
 * Device Control (7): nIEN masks INTRQ; SRST held high keeps both devices
 * BSY, and its falling edge completes the software reset (9, software reset protocol) with the
 * signature and without an interrupt.
 */
static void
ctl_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct ide_channel *ch = opaque;
	uint8_t old = ch->st.ctl, v = (uint8_t)value;
	(void)port;
	(void)size;
	ch->st.ctl = v;
	if ((v & ATA_CTL_SRST) && !(old & ATA_CTL_SRST)) {
		for (unsigned k = 0; k < 2; k++) {
			struct ide_drive *d = &ch->drive[k];
			if (!d->present)
				continue;
			d->st.status = ATA_STAT_BSY;
			d->st.xfer = IDE_XFER_NONE;
			d->st.cmd = 0;
			d->st.irq_pending = false;
		}
	} else if (!(v & ATA_CTL_SRST) && (old & ATA_CTL_SRST)) {
		signature(ch);
	}
	update_irq(ch);
}

int
ide_init(struct ide *ide, struct pci_bus *bus, struct ioports *io, struct physmem *mem,
	 const struct ide_board *board)
{
	static const uint16_t cmd_base[2] = { 0x1f0, 0x170 }, ctl_port[2] = { 0x3f6, 0x376 };
	memset(ide, 0, sizeof(*ide));
	ide->io = io;
	ide->mem = mem;
	ide->board = *board;
	for (unsigned c = 0; c < 2; c++) {
		struct ide_channel *ch = &ide->ch[c];
		ch->ide = ide;
		ch->index = (uint8_t)c;
		for (unsigned k = 0; k < 2; k++) {
			ch->drive[k].unit = (uint8_t)(2 * c + k);
			ch->drive[k].bd.fd = -1;
		}
		if (ioports_register(io, cmd_base[c], 1, "ide", data_read, data_write, ch, 0) < 0 ||
		    ioports_register(io, cmd_base[c] + 1, 7, "ide", cmd_read, cmd_write, ch,
				     IOPORT_BYTE_WIDE) < 0 ||
		    ioports_register(io, ctl_port[c], 1, "ide-ctl", ctl_read, ctl_write, ch, 0) < 0)
			return -1;
	}
	if (ide_pci_init(ide, bus) < 0)
		return -1;
	ide_reset(ide);
	return 0;
}

int
ide_attach(struct ide *ide, unsigned unit, const char *path, bool readonly, bool snapshot,
	   char *err, size_t errlen)
{
	if (unit > 3) {
		snprintf(err, errlen, "IDE drive index %u out of range (0-3)", unit);
		return -1;
	}
	struct ide_drive *d = &ide->ch[unit >> 1].drive[unit & 1];
	if (d->present) {
		snprintf(err, errlen, "IDE drive index %u is already in use", unit);
		return -1;
	}
	if (blockdev_open(&d->bd, path, readonly, snapshot, err, errlen) < 0)
		return -1;
	d->present = true;
	default_geometry(d);
	drive_power_on(d);
	signature(&ide->ch[unit >> 1]);
	return 0;
}

int
ide_attach_cdrom(struct ide *ide, unsigned unit, const char *path, char *err, size_t errlen)
{
	if (ide_attach(ide, unit, path, true, false, err, errlen) < 0)
		return -1;
	struct ide_drive *d = &ide->ch[unit >> 1].drive[unit & 1];
	d->atapi = true;
	signature(&ide->ch[unit >> 1]);
	return 0;
}

void
ide_destroy(struct ide *ide)
{
	for (unsigned u = 0; u < 4; u++) {
		struct ide_drive *d = &ide->ch[u >> 1].drive[u & 1];
		if (d->present)
			blockdev_close(&d->bd);
		d->present = false;
		d->atapi = false;
	}
}

void
ide_reset(struct ide *ide)
{
	for (unsigned c = 0; c < 2; c++) {
		struct ide_channel *ch = &ide->ch[c];
		memset(&ch->st, 0, sizeof(ch->st));
		for (unsigned k = 0; k < 2; k++)
			if (ch->drive[k].present)
				drive_power_on(&ch->drive[k]);
		signature(ch);
		update_irq(ch);
	}
	ide_pci_reset(ide);
}

size_t
ide_save(const struct ide *ide, void *buf, size_t len)
{
	size_t need = 2 * sizeof(struct ide_channel_state) + 4 * sizeof(struct ide_drive_state) +
		      sizeof(ide->bm) + sizeof(ide->fn.st);
	if (len < need)
		return need;
	uint8_t *b = buf;
	for (unsigned c = 0; c < 2; c++) {
		memcpy(b, &ide->ch[c].st, sizeof(ide->ch[c].st));
		b += sizeof(ide->ch[c].st);
		for (unsigned k = 0; k < 2; k++) {
			memcpy(b, &ide->ch[c].drive[k].st, sizeof(struct ide_drive_state));
			b += sizeof(struct ide_drive_state);
		}
	}
	memcpy(b, ide->bm, sizeof(ide->bm));
	b += sizeof(ide->bm);
	memcpy(b, &ide->fn.st, sizeof(ide->fn.st));
	return need;
}

/*
 * The limits of a drive's record (chipset/state.h): the transfer kind and
 * addressing mode of the command (enum ide_xfer; CHS, LBA28, LBA48), the
 * sectors per DRQ block and READ/WRITE MULTIPLE's block size (at most
 * IDE_MAX_MULT), and the buffer's fill and read position (within buf; a
 * 16-bit data port cycle touches buf[pos] and buf[pos + 1], a position there
 * is always even). ide_check adds what the limits cannot say: the position
 * is not past the data (len; for an ATAPI drive's DMA, at.buf_len).
 */
static const struct state_limit drive_limits[] = {
	STATE_MAX(struct ide_drive_state, xfer, IDE_XFER_DMA_OUT),
	STATE_MAX(struct ide_drive_state, addr_mode, 2),
	STATE_MAX(struct ide_drive_state, block, IDE_MAX_MULT),
	STATE_MAX(struct ide_drive_state, mult, IDE_MAX_MULT),
	STATE_MAX(struct ide_drive_state, len, IDE_BUF_SIZE),
	STATE_MAX(struct ide_drive_state, pos, IDE_BUF_SIZE - 1),
	STATE_MAX(struct ide_drive_state, at.buf_len, IDE_BUF_SIZE),
};

int
ide_check(const struct ide *ide, const void *buf, size_t len, char *err, size_t errlen)
{
	size_t need = 2 * sizeof(struct ide_channel_state) + 4 * sizeof(struct ide_drive_state) +
		      sizeof(ide->bm) + sizeof(ide->fn.st);
	const uint8_t *b = buf;
	if (len != need) {
		snprintf(err, errlen, "%zu bytes", len);
		return -1;
	}
	for (unsigned c = 0; c < 2; c++) {
		b += sizeof(struct ide_channel_state);
		for (unsigned k = 0; k < 2; k++, b += sizeof(struct ide_drive_state)) {
			char prefix[32];
			snprintf(prefix, sizeof(prefix), "drive %u: ", 2 * c + k);
			if (state_check(b, sizeof(struct ide_drive_state),
					STATE_LIMITS(drive_limits), prefix, err, errlen) < 0)
				return -1;
			struct ide_drive_state d;
			memcpy(&d.xfer, b + offsetof(struct ide_drive_state, xfer), sizeof(d.xfer));
			memcpy(&d.pos, b + offsetof(struct ide_drive_state, pos), sizeof(d.pos));
			memcpy(&d.len, b + offsetof(struct ide_drive_state, len), sizeof(d.len));
			memcpy(&d.at.buf_len, b + offsetof(struct ide_drive_state, at.buf_len),
			       sizeof(d.at.buf_len));
			bool pio = d.xfer == IDE_XFER_PIO_IN || d.xfer == IDE_XFER_PIO_OUT;
			bool atapi = ide->ch[c].drive[k].atapi;
			if ((pio && (d.pos & 1)) ||
			    (d.pos > d.len && !(atapi && d.pos <= d.at.buf_len))) {
				snprintf(err, errlen, "%spos is %u, past the data (len %u)", prefix,
					 d.pos, d.len);
				return -1;
			}
		}
	}
	return 0;
}

int
ide_restore(struct ide *ide, const void *buf, size_t len)
{
	size_t need = 2 * sizeof(struct ide_channel_state) + 4 * sizeof(struct ide_drive_state) +
		      sizeof(ide->bm) + sizeof(ide->fn.st);
	/* The bools of the drives' and the bus masters' records (chipset/state.h). */
	static const size_t STATE_KEEP drive_bools[] = {
		offsetof(struct ide_drive_state, irq_pending),
		offsetof(struct ide_drive_state, wcache),
		offsetof(struct ide_drive_state, at.locked),
		offsetof(struct ide_drive_state, at.dma)
	};
	static const size_t STATE_KEEP bm_bools[] = { offsetof(struct ide_bm_state, eot),
						      sizeof(struct ide_bm_state) +
							      offsetof(struct ide_bm_state, eot) };
	const uint8_t *b = buf;
	if (len != need)
		return -1;
	for (unsigned c = 0; c < 2; c++) {
		memcpy(&ide->ch[c].st, b, sizeof(ide->ch[c].st));
		b += sizeof(ide->ch[c].st);
		for (unsigned k = 0; k < 2; k++) {
			struct ide_drive_state *d = &ide->ch[c].drive[k].st;
			state_restore(d, sizeof(*d), b, sizeof(*d), STATE_BOOLS(drive_bools),
				      STATE_LIMITS(drive_limits));
			/* What ide_check refuses, for a caller that did not check. */
			if (d->pos > d->len &&
			    !(ide->ch[c].drive[k].atapi && d->pos <= d->at.buf_len))
				d->pos = d->len;
			if (d->xfer == IDE_XFER_PIO_IN || d->xfer == IDE_XFER_PIO_OUT)
				d->pos &= (uint16_t)~1u;
			b += sizeof(struct ide_drive_state);
		}
	}
	_Static_assert(sizeof(((struct ide *)0)->bm) == 2 * sizeof(struct ide_bm_state),
		       "bm_bools covers both bus masters");
	state_restore(ide->bm, sizeof(ide->bm), b, sizeof(ide->bm), STATE_BOOLS(bm_bools),
		      STATE_NO_LIMITS);
	b += sizeof(ide->bm);
	if (pci_function_restore(&ide->fn, b, sizeof(ide->fn.st)) < 0)
		return -1;
	for (unsigned c = 0; c < 2; c++)
		update_irq(&ide->ch[c]);
	return 0;
}
