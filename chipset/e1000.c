/*
 * fugu — the Intel 82540EM gigabit Ethernet controller (chipset/e1000.h).
 *
 * Timing: the controller does everything at once. A TDT write transmits the
 * new descriptors before the write returns (in bounded passes: see tx_run);
 * a frame is stored and its RXT0 raised as it arrives. The interrupt delay
 * timers (RDTR, RADV, TIDV, TADV) and the interrupt throttling register ITR
 * are plain storage: every cause is signalled immediately (Linux's NAPI
 * masks the device itself while it polls, so this costs interrupts, not
 * correctness).
 *
 * DMA: every descriptor and buffer access goes through dma_read/dma_write,
 * which move nothing unless bus mastering is enabled and the whole range is
 * guest RAM; ring sizes, head and tail indices and lengths are checked
 * before use, so a guest's values never reach outside its RAM.
 */
#include "chipset/e1000.h"

#include <string.h>

#include "chipset/state.h"
#include "mmu/ioport.h"
#include "mmu/physmem.h"

#define R(off) (e->st.reg[(off) / 4])

/* CTRL (13.4.1) */
#define CTRL_SLU 0x00000040
#define CTRL_RST 0x04000000
#define CTRL_VME 0x40000000
#define CTRL_PHY_RST 0x80000000
/* STATUS (13.4.2): full duplex, link up, 1000 Mb/s, auto-detected speed 1000 */
#define STATUS_LINK_UP 0x00000283
/* EECD (13.4.3) */
#define EECD_SK 0x001
#define EECD_CS 0x002
#define EECD_DI 0x004
#define EECD_DO 0x008
#define EECD_FWE 0x030
#define EECD_REQ 0x040
#define EECD_GNT 0x080
#define EECD_PRES 0x100
/* EERD (13.4.4, 82540 layout) */
#define EERD_START 0x01
#define EERD_DONE 0x10
/* MDIC (13.4.7) */
#define MDIC_OP_WRITE 1
#define MDIC_OP_READ 2
#define MDIC_READY 0x10000000
#define MDIC_INT 0x20000000
#define MDIC_ERROR 0x40000000
#define INT_MDAC 0x00000200
/* RCTL (13.4.22) */
#define RCTL_EN 0x00000002
#define RCTL_UPE 0x00000008
#define RCTL_MPE 0x00000010
#define RCTL_LPE 0x00000020
#define RCTL_BAM 0x00008000
#define RCTL_BSEX 0x02000000
#define RCTL_SECRC 0x04000000
/* TCTL (13.4.33) */
#define TCTL_EN 0x00000002
/* Descriptor command bits (3.3.3, 3.3.6, 3.3.7): the same in all three formats. */
#define TXD_EOP 0x01
#define TXD_IFCS 0x02
#define TXD_IC 0x04  /* legacy: insert checksum */
#define TXD_TSE 0x04 /* extended: TCP segmentation */
#define TXD_RS 0x08
#define TXD_DEXT 0x20
#define TXD_VLE 0x40
#define TXD_STAT_DD 0x01
#define TUCMD_TCP 0x01
#define TUCMD_IP 0x02 /* IPv4 (else IPv6) */
#define POPTS_IXSM 0x01
#define POPTS_TXSM 0x02
/* Receive descriptor status (3.2.3.1) */
#define RXD_DD 0x01
#define RXD_EOP 0x02
#define RXD_IXSM 0x04 /* ignore the checksum indications */
#define RXD_ERR_RXE 0x80

/* Statistics (13.7), the ones counted. */
#define ST_MPC 0x4010
#define ST_GPRC 0x4074
#define ST_BPRC 0x4078
#define ST_MPRC 0x407c
#define ST_GPTC 0x4080
#define ST_GORCL 0x4088
#define ST_GOTCL 0x4090
#define ST_RNBC 0x40a0
#define ST_ROC 0x40ac
#define ST_TORL 0x40c0
#define ST_TOTL 0x40c8
#define ST_TPR 0x40d0
#define ST_TPT 0x40d4
#define ST_MPTC 0x40f0
#define ST_BPTC 0x40f4
#define ST_TSCTC 0x40f8

/* Work per transmit pass: bytes moved (descriptors count 64 each); what is
 * left continues from a timer, so one TDT write costs bounded host time. */
#define TX_BUDGET (1u << 20)
#define TX_RESUME_NS 10000

/* The M88E1011 PHY at MDIO address 1 (Marvell's register map, as the 82540EM
 * carries it): auto-negotiation complete, link up at 1000 Mb/s full duplex. */
#define PHY_ADDR 1
static const uint16_t phy_reset_value[E1000_PHY_REGS] = {
	[0] = 0x1140,  /* BMCR: auto-negotiation enabled, 1000 Mb/s, full duplex */
	[1] = 0x796d,  /* BMSR: link up, auto-negotiation complete, abilities */
	[2] = 0x0141,  /* PHY identifier: Marvell OUI */
	[3] = 0x0c20,  /* M88E1011, revision 0 */
	[4] = 0x0de1,  /* auto-negotiation advertisement */
	[5] = 0x45e1,  /* link partner ability */
	[6] = 0x0001,  /* auto-negotiation expansion: partner can negotiate */
	[9] = 0x0e00,  /* 1000BASE-T control */
	[10] = 0x3c00, /* 1000BASE-T status: both receivers OK, partner 1000 FD/HD */
	[15] = 0x3000, /* extended status: 1000BASE-T FD/HD */
	[16] = 0x0068, /* PHY specific control */
	[17] = 0xac00, /* PHY specific status: 1000 Mb/s, FD, resolved, link up */
	[20] = 0x0c60, /* extended PHY specific control */
};
/* Registers a PHY write leaves alone. */
static const uint32_t phy_readonly =
	1u << 1 | 1u << 2 | 1u << 3 | 1u << 5 | 1u << 6 | 1u << 10 | 1u << 15 | 1u << 17;

/* Registers that exist as storage (or with behaviour below); others read 0. */
static const struct {
	uint16_t lo, hi; /* [lo, hi] inclusive, dword offsets in bytes */
} reg_ranges[] = {
	{ 0x0000, 0x0000 }, { 0x0008, 0x0020 }, { 0x0028, 0x0030 }, { 0x0038, 0x0038 },
	{ 0x00c0, 0x00c8 }, { 0x00d0, 0x00d0 }, { 0x00d8, 0x00d8 }, { 0x0100, 0x0100 },
	{ 0x0170, 0x0170 }, { 0x0178, 0x0180 }, { 0x0400, 0x0400 }, { 0x0410, 0x0410 },
	{ 0x0458, 0x0458 }, { 0x0e00, 0x0e00 }, { 0x1000, 0x1000 }, { 0x2160, 0x2168 },
	{ 0x2800, 0x282c }, { 0x2c00, 0x2c00 }, { 0x3000, 0x3000 }, { 0x3800, 0x3830 },
	{ 0x4000, 0x40fc }, { 0x5000, 0x5000 }, { 0x5200, 0x547c }, { 0x5600, 0x5810 },
	{ 0x5820, 0x5820 }, { 0x5838, 0x5858 }, { 0x5880, 0x588c }, { 0x5f00, 0x5f18 },
};

static bool
reg_exists(uint32_t off)
{
	for (size_t k = 0; k < sizeof(reg_ranges) / sizeof(reg_ranges[0]); k++)
		if (off >= reg_ranges[k].lo && off <= reg_ranges[k].hi)
			return true;
	return false;
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
le64(const uint8_t *p)
{
	return le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void
put_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Bus-master reads and writes of guest RAM only; false moves nothing. */
static bool
dma_ok(struct e1000 *e, uint64_t pa, uint64_t len)
{
	return (pci_get(&e->fn, PCI_COMMAND, 2) & PCI_COMMAND_MASTER) &&
	       physmem_is_ram(e->mem, pa, len);
}

static bool
dma_read(struct e1000 *e, uint64_t pa, void *buf, uint64_t len)
{
	if (!dma_ok(e, pa, len))
		return false;
	physmem_read(e->mem, pa, buf, len);
	return true;
}

static bool
dma_write(struct e1000 *e, uint64_t pa, const void *buf, uint64_t len)
{
	if (!dma_ok(e, pa, len))
		return false;
	physmem_write(e->mem, pa, buf, len);
	return true;
}

/* INTA# is asserted while an unmasked cause is pending (13.4.17), unless the
 * command register's Interrupt Disable bit holds it off. */
static void
update_irq(struct e1000 *e)
{
	bool level =
		(R(E1000_ICR) & R(E1000_IMS)) != 0 && !(pci_get(&e->fn, PCI_COMMAND, 2) & 0x400);
	pci_set_irq(&e->fn, level);
}

static void
raise_cause(struct e1000 *e, uint32_t causes)
{
	R(E1000_ICR) |= causes;
	update_irq(e);
}

/* A 32-bit statistic, saturating; a 64-bit one as its low/high pair. */
static void
stat_add(struct e1000 *e, uint32_t off, uint32_t n)
{
	uint32_t v = R(off) + n;
	R(off) = v < R(off) ? 0xffffffffu : v;
}

static void
stat_add64(struct e1000 *e, uint32_t off, uint64_t n)
{
	uint64_t v = ((uint64_t)R(off + 4) << 32 | R(off)) + n;
	R(off) = (uint32_t)v;
	R(off + 4) = (uint32_t)(v >> 32);
}

/* Count a frame of `len` bytes (FCS included) to or from `dest`. */
static void
count_frame(struct e1000 *e, const uint8_t *dest, size_t len, bool rx)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	stat_add(e, rx ? ST_TPR : ST_TPT, 1);
	stat_add(e, rx ? ST_GPRC : ST_GPTC, 1);
	stat_add64(e, rx ? ST_TORL : ST_TOTL, len);
	stat_add64(e, rx ? ST_GORCL : ST_GOTCL, len);
	if (!memcmp(dest, bcast, 6))
		stat_add(e, rx ? ST_BPRC : ST_BPTC, 1);
	else if (dest[0] & 1)
		stat_add(e, rx ? ST_MPRC : ST_MPTC, 1);
}

/*
 * The EEPROM image (5.6, table 5-2): the MAC address in words 0-2, the PBA
 * number, initialization control words, subsystem and device IDs, and word
 * 3Fh chosen so that words 00h-3Fh sum to BABAh.
 */
static void
eeprom_build(struct e1000 *e)
{
	uint16_t *w = e->st.eeprom;
	const uint8_t *m = e->board.mac;
	memset(w, 0, sizeof(e->st.eeprom));
	for (unsigned k = 0; k < 3; k++)
		w[k] = (uint16_t)(m[2 * k] | m[2 * k + 1] << 8);
	w[0x08] = 0xffff; /* PBA number: none */
	w[0x09] = 0xffff;
	w[0x0a] = 0x4000; /* initialization control 1: valid signature (01b) */
	w[0x0b] = 0x001e; /* subsystem ID */
	w[0x0c] = 0x8086; /* subsystem vendor ID */
	w[0x0d] = 0x100e; /* device ID: 82540EM */
	w[0x0e] = 0x8086; /* vendor ID */
	w[0x0f] = 0x0000; /* initialization control 2: no flow control */
	uint16_t sum = 0;
	for (unsigned k = 0; k < E1000_EEPROM_WORDS - 1; k++)
		sum = (uint16_t)(sum + w[k]);
	w[E1000_EEPROM_WORDS - 1] = (uint16_t)(0xbaba - sum);
}

/*
 * Microwire through EECD (5.3.1): while CS is high, DI is sampled on each
 * rising edge of SK: a start bit, the opcode (10b: READ) and six address
 * bits; then each rising edge puts the next data bit on DO, most significant
 * first, running on into the following words.
 */
static void
eecd_write(struct e1000 *e, uint32_t v)
{
	struct e1000_state *s = &e->st;
	R(E1000_EECD) =
		(R(E1000_EECD) & ~(uint32_t)(EECD_SK | EECD_CS | EECD_DI | EECD_FWE | EECD_REQ)) |
		(v & (EECD_SK | EECD_CS | EECD_DI | EECD_FWE | EECD_REQ));
	bool sk = v & EECD_SK, rising = sk && !s->ee_sk;
	s->ee_sk = sk;
	if (!(v & EECD_CS)) {
		s->ee_bits = 0;
		s->ee_cmd = 0;
		s->ee_do = 0;
		return;
	}
	if (!rising)
		return;
	if (s->ee_bits < 9) {
		if (s->ee_bits == 0 && !(v & EECD_DI))
			return; /* leading zeros before the start bit */
		s->ee_cmd = (uint16_t)(s->ee_cmd << 1 | ((v & EECD_DI) != 0));
		s->ee_bits++;
		s->ee_do = 0; /* the dummy zero before the data */
		return;
	}
	unsigned k = (unsigned)(s->ee_bits - 9);
	if ((s->ee_cmd >> 6) == 6) { /* start bit, READ */
		unsigned word = ((s->ee_cmd & 0x3f) + k / 16) % E1000_EEPROM_WORDS;
		s->ee_do = (uint8_t)(s->eeprom[word] >> (15 - k % 16) & 1);
	}
	if (s->ee_bits < 9 + 16 * E1000_EEPROM_WORDS)
		s->ee_bits++; /* a read runs on through the whole EEPROM once */
}

static uint32_t
eecd_read(struct e1000 *e)
{
	uint32_t v = R(E1000_EECD) & ~(uint32_t)(EECD_DO | EECD_GNT);
	if (e->st.ee_do)
		v |= EECD_DO;
	if (v & EECD_REQ)
		v |= EECD_GNT; /* the EEPROM is the software's at once */
	return v | EECD_PRES;
}

/* EERD: a read started by software completes at once (13.4.4). */
static void
eerd_write(struct e1000 *e, uint32_t v)
{
	if (!(v & EERD_START))
		return;
	unsigned addr = v >> 8 & 0xff;
	uint16_t data = addr < E1000_EEPROM_WORDS ? e->st.eeprom[addr] : 0xffff;
	R(E1000_EERD) = (uint32_t)data << 16 | addr << 8 | EERD_DONE;
}

static void
phy_reset(struct e1000 *e)
{
	memcpy(e->st.phy, phy_reset_value, sizeof(e->st.phy));
}

static void
phy_write(struct e1000 *e, unsigned reg, uint16_t v)
{
	if (reg == 0) {
		if (v & 0x8000) { /* reset: back to defaults, self-clearing */
			phy_reset(e);
			return;
		}
		v &= (uint16_t)~0x0200; /* restart auto-negotiation: done at once */
	}
	if (!(phy_readonly >> reg & 1))
		e->st.phy[reg] = v;
}

/* MDIC (13.4.7): a PHY read or write completes at once; only PHY address 1 answers. */
static void
mdic_write(struct e1000 *e, uint32_t v)
{
	unsigned op = v >> 26 & 3, phy = v >> 21 & 31, reg = v >> 16 & 31;
	v &= ~(uint32_t)(MDIC_READY | MDIC_ERROR);
	if (phy != PHY_ADDR || (op != MDIC_OP_READ && op != MDIC_OP_WRITE))
		v |= MDIC_ERROR;
	else if (op == MDIC_OP_READ)
		v = (v & 0xffff0000u) | e->st.phy[reg];
	else
		phy_write(e, reg, (uint16_t)v);
	R(E1000_MDIC) = v | MDIC_READY;
	if (v & MDIC_INT)
		raise_cause(e, INT_MDAC);
}

/*
 * The register file at power-on or after CTRL.RST (13.4): link up, the
 * receive address 0 loaded from the EEPROM and valid, everything else at its
 * default. The EEPROM and the PCI configuration space are not touched.
 */
static void
soft_reset(struct e1000 *e)
{
	struct e1000_state *s = &e->st;
	vtimer_disarm(&e->tx_timer);
	memset(s->reg, 0, sizeof(s->reg));
	R(E1000_CTRL) = 0x00000241; /* full duplex, SLU, 1000 Mb/s */
	R(E1000_EECD) = EECD_PRES | 0x10;
	R(E1000_VET) = 0x8100;
	R(E1000_LEDCTL) = 0x07068302;
	R(E1000_PBA) = 0x00100030; /* 48 KiB receive, 16 KiB transmit */
	R(E1000_TIPG) = 0x0060200a;
	R(E1000_TXDCTL) = 0x00010000;
	R(E1000_RXDCTL) = 0x00010000;
	R(E1000_RXCSUM) = 0x00000200;
	const uint8_t *m = e->board.mac;
	R(E1000_RAL0) = le32(m);
	R(E1000_RAH0) = (uint32_t)(m[4] | m[5] << 8) | 0x80000000u; /* address valid */
	s->ee_bits = s->ee_do = s->ee_sk = 0;
	s->ee_cmd = 0;
	memset(&s->ctx, 0, sizeof(s->ctx));
	s->tx_len = 0;
	s->tx_active = 0;
	phy_reset(e);
	update_irq(e);
}

static void tx_run(struct e1000 *e);

static void
tx_timer_fired(void *opaque)
{
	tx_run(opaque);
}

/* The receive buffer size from RCTL.BSIZE and BSEX (13.4.22). */
static uint32_t
rx_buf_size(uint32_t rctl)
{
	unsigned bsize = rctl >> 16 & 3;
	if (rctl & RCTL_BSEX)
		return bsize ? 65536u >> bsize : 2048; /* 16384, 8192, 4096; 00b reserved */
	return 2048u >> bsize;
}

/* Descriptors in the receive ring, or 0 when RDLEN/RDH/RDT do not describe a ring. */
static uint32_t
rx_ring_size(struct e1000 *e)
{
	uint32_t n = R(E1000_RDLEN) / 16;
	if (n == 0 || R(E1000_RDH) >= n || R(E1000_RDT) >= n)
		return 0;
	return n;
}

/*
 * Destination filtering (4.4.x "Receive Address Filtering"): broadcast with
 * RCTL.BAM; multicast with RCTL.MPE or its bit in the multicast table
 * (12 address bits chosen by RCTL.MO); unicast with RCTL.UPE or a valid
 * receive address register that matches.
 */
static bool
rx_accept(struct e1000 *e, const uint8_t *d)
{
	uint32_t rctl = R(E1000_RCTL);
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	if (!memcmp(d, bcast, 6))
		return (rctl & RCTL_BAM) || (rctl & RCTL_MPE);
	if (d[0] & 1) {
		if (rctl & RCTL_MPE)
			return true;
		static const uint8_t shift[4] = { 4, 3, 2, 0 };
		unsigned mo = rctl >> 12 & 3;
		unsigned hash = (unsigned)(d[4] >> shift[mo] | d[5] << (8 - shift[mo])) & 0xfff;
		return R(E1000_MTA + 4 * (hash >> 5)) >> (hash & 31) & 1;
	}
	if (rctl & RCTL_UPE)
		return true;
	for (unsigned k = 0; k < 16; k++) {
		uint32_t lo = R(E1000_RAL0 + 8 * k), hi = R(E1000_RAH0 + 8 * k);
		if ((hi & 0x80000000u) && le32(d) == lo &&
		    (uint32_t)(d[4] | d[5] << 8) == (hi & 0xffff))
			return true;
	}
	return false;
}

/* Ethernet's FCS: CRC-32 (IEEE 802.3, reflected polynomial EDB88320h). */
static uint32_t
crc32_ether(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (unsigned b = 0; b < 8; b++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

bool
e1000_rx_enabled(const struct e1000 *e)
{
	return e->st.reg[E1000_RCTL / 4] & RCTL_EN;
}

/*
 * Receive (3.2): pad to the 60-byte minimum, append the FCS unless
 * RCTL.SECRC strips it, and store the frame across as many descriptors as
 * its length needs at the RCTL buffer size, EOP on the last. Descriptors
 * belong to hardware from RDH up to RDT (exclusive). RXT0 follows every
 * frame, RXDMT0 when the free descriptors fall to the RCTL.RDMTS fraction.
 */
bool
e1000_receive(struct e1000 *e, const uint8_t *frame, size_t len)
{
	uint32_t rctl = R(E1000_RCTL);
	if (!(rctl & RCTL_EN) || len < 14 || len > E1000_FRAME_MAX || !rx_accept(e, frame))
		return true; /* not for this receiver: gone */
	if (len > 1518 + 4 && !(rctl & RCTL_LPE)) {
		stat_add(e, ST_ROC, 1); /* oversize without long packet enable */
		return true;
	}
	uint8_t *f = e->rx_frame;
	memcpy(f, frame, len);
	if (len < 60) {
		memset(f + len, 0, 60 - len);
		len = 60;
	}
	uint32_t fcs = crc32_ether(f, len);
	for (unsigned k = 0; k < 4; k++)
		f[len + k] = (uint8_t)(fcs >> (8 * k));
	size_t total = rctl & RCTL_SECRC ? len : len + 4;
	uint32_t n = rx_ring_size(e), bsize = rx_buf_size(rctl);
	uint32_t need = (uint32_t)((total + bsize - 1) / bsize);
	uint32_t avail = n ? (R(E1000_RDT) + n - R(E1000_RDH)) % n : 0;
	if (avail < need) {
		stat_add(e, ST_RNBC, 1);
		return false; /* kept by the caller until RDT moves */
	}
	uint64_t base = (uint64_t)R(E1000_RDBAH) << 32 | (R(E1000_RDBAL) & ~0xfu);
	for (size_t done = 0; done < total;) {
		uint64_t pa = base + 16ull * R(E1000_RDH);
		uint8_t d[16];
		uint16_t chunk = (uint16_t)(total - done < bsize ? total - done : bsize);
		uint8_t status = RXD_DD | RXD_IXSM, errors = 0;
		if (!dma_read(e, pa, d, 16)) {
			stat_add(e, ST_MPC, 1);
			raise_cause(e, E1000_INT_RXO);
			return true; /* the ring is not in RAM: the frame is lost */
		}
		if (!dma_write(e, le64(d), f + done, chunk))
			errors |= RXD_ERR_RXE;
		done += chunk;
		if (done == total)
			status |= RXD_EOP;
		uint8_t wb[8] = {
			(uint8_t)chunk, (uint8_t)(chunk >> 8), 0, 0, status, errors, 0, 0
		};
		dma_write(e, pa + 8, wb, sizeof(wb));
		R(E1000_RDH) = (R(E1000_RDH) + 1) % n;
	}
	count_frame(e, f, total, true);
	uint32_t causes = E1000_INT_RXT0;
	uint32_t left = (R(E1000_RDT) + n - R(E1000_RDH)) % n;
	if (left <= n >> (1 + (rctl >> 8 & 3)))
		causes |= E1000_INT_RXDMT0;
	raise_cause(e, causes);
	return true;
}

/* Internet checksum arithmetic (RFC 1071) over big-endian 16-bit words. */
static uint64_t
csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += be16(p + i);
	if (len & 1)
		sum += (uint64_t)p[len - 1] << 8;
	return sum;
}

static uint16_t
csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * Insert a checksum (3.3.6): the one's complement of the sum from css to cse
 * inclusive (0: to the end of the packet), plus `extra` (the TCP/UDP length
 * a segmentation context adds to the pseudo-header), stored big-endian at
 * cso. Offsets outside the packet insert nothing.
 */
static void
put_csum(uint8_t *p, size_t len, unsigned css, unsigned cse, unsigned cso, uint32_t extra)
{
	size_t end = cse && cse < len ? (size_t)cse + 1 : len;
	if (css >= end || (size_t)cso + 2 > len)
		return;
	put_be16(p + cso, (uint16_t)~csum_fold(csum_add(extra, p + css, end - css)));
}

/* One frame to the wire: the VLAN tag inserted when asked (3.3.7.3), counted. */
static void
send_frame(struct e1000 *e, const uint8_t *p, size_t len)
{
	struct e1000_state *s = &e->st;
	if (len < 14 || len > E1000_FRAME_MAX)
		return;
	if ((s->tx_cmd & TXD_VLE) && (R(E1000_CTRL) & CTRL_VME)) {
		if (p != e->frame)
			memcpy(e->frame, p, len);
		memmove(e->frame + 16, e->frame + 12, len - 12);
		put_be16(e->frame + 12, R(E1000_VET) & 0xffff);
		put_be16(e->frame + 14, s->tx_vlan);
		p = e->frame;
		len += 4;
	}
	count_frame(e, p, len < 60 ? 64 : len + 4, false);
	if (e->board.send)
		e->board.send(e->board.opaque, p, len);
}

/*
 * TCP segmentation (3.5): the first hdrlen bytes are the header template;
 * each segment carries it and up to mss bytes of payload. Per segment the
 * IPv4 total length and identification (or the IPv6 payload length), the
 * TCP sequence number, and FIN/PSH (last segment only) are updated, and the
 * checksums inserted as POPTS asks, the TCP/UDP one with the segment's
 * length added to the pseudo-header sum software left in the field.
 */
static void
tso_send(struct e1000 *e, uint32_t total)
{
	struct e1000_state *s = &e->st;
	const struct e1000_tx_ctx *c = &s->ctx;
	uint32_t hdr = c->hdrlen, mss = c->mss;
	bool tcp = c->tucmd & TUCMD_TCP;
	if (hdr > total || mss == 0 || hdr + mss > E1000_FRAME_MAX ||
	    (uint32_t)c->ipcss + 6 > hdr || (tcp && (uint32_t)c->tucss + 14 > hdr) ||
	    c->tucss + 8u > hdr)
		return; /* a context that does not fit the packet: dropped */
	stat_add(e, ST_TSCTC, 1);
	uint32_t payload = total - hdr, off = 0;
	uint16_t id = be16(s->tx_buf + c->ipcss + 4);
	uint32_t seq = tcp ? (uint32_t)be16(s->tx_buf + c->tucss + 4) << 16 |
				       be16(s->tx_buf + c->tucss + 6)
			   : 0;
	uint8_t *f = e->frame;
	for (unsigned seg = 0;; seg++) {
		uint32_t chunk = payload - off < mss ? payload - off : mss;
		bool last = off + chunk >= payload;
		uint32_t flen = hdr + chunk;
		memcpy(f, s->tx_buf, hdr);
		memcpy(f + hdr, s->tx_buf + hdr + off, chunk);
		if (c->tucmd & TUCMD_IP) {
			put_be16(f + c->ipcss + 2, flen - c->ipcss);
			put_be16(f + c->ipcss + 4, (uint16_t)(id + seg));
		} else if (flen >= c->ipcss + 40u) {
			put_be16(f + c->ipcss + 4, flen - c->ipcss - 40);
		}
		if (tcp) {
			uint32_t sn = seq + off;
			put_be16(f + c->tucss + 4, sn >> 16);
			put_be16(f + c->tucss + 6, sn);
			if (!last)
				f[c->tucss + 13] &= (uint8_t)~0x09; /* FIN, PSH */
		} else {
			put_be16(f + c->tucss + 4, flen - c->tucss); /* UDP length */
		}
		if ((s->tx_popts & POPTS_IXSM) && (c->tucmd & TUCMD_IP) && c->ipcso + 2u <= hdr) {
			put_be16(f + c->ipcso, 0);
			put_csum(f, flen, c->ipcss, c->ipcse, c->ipcso, 0);
		}
		if (s->tx_popts & POPTS_TXSM)
			put_csum(f, flen, c->tucss, c->tucse, c->tucso, flen - c->tucss);
		send_frame(e, f, flen);
		off += chunk;
		if (last)
			break;
	}
}

/* The packet gathered up to EOP: offloads applied, sent, and forgotten. */
static void
tx_finish(struct e1000 *e)
{
	struct e1000_state *s = &e->st;
	uint32_t len = s->tx_len;
	s->tx_active = 0;
	s->tx_len = 0;
	if (len == 0 || len > E1000_TX_MAX)
		return; /* a packet too large, or a buffer outside RAM: dropped */
	if (!(s->tx_cmd & TXD_DEXT)) {
		if (s->tx_cmd & TXD_IC)
			put_csum(s->tx_buf, len, s->tx_legacy_css, 0, s->tx_legacy_cso, 0);
		send_frame(e, s->tx_buf, len);
		return;
	}
	if (s->tx_cmd & TXD_TSE) {
		tso_send(e, len);
		return;
	}
	const struct e1000_tx_ctx *c = &s->ctx;
	if (s->tx_popts & POPTS_IXSM)
		put_csum(s->tx_buf, len, c->ipcss, c->ipcse, c->ipcso, 0);
	if (s->tx_popts & POPTS_TXSM)
		put_csum(s->tx_buf, len, c->tucss, c->tucse, c->tucso, 0);
	send_frame(e, s->tx_buf, len);
}

/* Append a data buffer to the packet; one that is too large or not in RAM
 * spoils the packet (tx_len beyond E1000_TX_MAX). */
static void
tx_gather(struct e1000 *e, uint64_t addr, uint32_t len)
{
	struct e1000_state *s = &e->st;
	if (s->tx_len <= E1000_TX_MAX && len <= E1000_TX_MAX - s->tx_len) {
		if (dma_read(e, addr, s->tx_buf + s->tx_len, len))
			s->tx_len += len;
		else
			s->tx_len = E1000_TX_MAX + 1;
	} else {
		s->tx_len = E1000_TX_MAX + 1;
	}
}

/* One transmit descriptor (3.3.3 legacy, 3.3.6 context, 3.3.7 data); its
 * command byte (RS asks for a write-back), and the bytes it moved. */
static uint8_t
tx_descriptor(struct e1000 *e, const uint8_t *d, uint32_t *moved)
{
	struct e1000_state *s = &e->st;
	uint64_t addr = le64(d);
	uint32_t d2 = le32(d + 8), d3 = le32(d + 12);
	uint8_t cmd = (uint8_t)(d2 >> 24);
	*moved = 0;
	if (!(cmd & TXD_DEXT)) { /* legacy */
		uint32_t len = d2 & 0xffff;
		if (!s->tx_active) {
			s->tx_active = 1;
			s->tx_cmd = cmd;
			s->tx_popts = 0;
			s->tx_legacy_cso = (uint8_t)(d2 >> 16);
			s->tx_legacy_css = (uint8_t)(d3 >> 8);
		}
		tx_gather(e, addr, len);
		*moved = len;
		if (cmd & TXD_EOP) {
			s->tx_vlan = (uint16_t)(d3 >> 16);
			s->tx_cmd = (uint8_t)((s->tx_cmd & ~TXD_VLE) | (cmd & TXD_VLE));
			tx_finish(e);
		}
		return cmd;
	}
	switch (d2 >> 20 & 0xf) {
	case 0: { /* context */
		struct e1000_tx_ctx *c = &s->ctx;
		uint32_t d0 = le32(d), d1 = le32(d + 4);
		c->ipcss = (uint8_t)d0;
		c->ipcso = (uint8_t)(d0 >> 8);
		c->ipcse = (uint16_t)(d0 >> 16);
		c->tucss = (uint8_t)d1;
		c->tucso = (uint8_t)(d1 >> 8);
		c->tucse = (uint16_t)(d1 >> 16);
		c->paylen = d2 & 0xfffff;
		c->tucmd = cmd;
		c->hdrlen = (uint8_t)(d3 >> 8);
		c->mss = (uint16_t)(d3 >> 16);
		return cmd;
	}
	case 1: { /* data */
		uint32_t len = d2 & 0xfffff;
		if (!s->tx_active) {
			s->tx_active = 1;
			s->tx_cmd = cmd;
			s->tx_popts = (uint8_t)(d3 >> 8);
		}
		tx_gather(e, addr, len);
		*moved = len;
		if (cmd & TXD_EOP) {
			s->tx_vlan = (uint16_t)(d3 >> 16);
			s->tx_cmd = (uint8_t)((s->tx_cmd & ~TXD_VLE) | (cmd & TXD_VLE));
			tx_finish(e);
		}
		return cmd;
	}
	default: return cmd; /* reserved type: skipped */
	}
}

/*
 * Transmit (3.3, 3.4): descriptors from TDH up to TDT (exclusive) while
 * TCTL.EN, each written back with DD when its RS bit asks; TXDW after a
 * write-back, TXQE when the ring is empty. A pass moves at most TX_BUDGET
 * bytes and resumes from a timer; a ring that does not fit its registers,
 * or a descriptor outside RAM, stops it until software writes TDT again.
 */
static void
tx_run(struct e1000 *e)
{
	uint32_t n = R(E1000_TDLEN) / 16, causes = 0, budget = TX_BUDGET;
	if (!(R(E1000_TCTL) & TCTL_EN) || n == 0)
		return;
	uint64_t base = (uint64_t)R(E1000_TDBAH) << 32 | (R(E1000_TDBAL) & ~0xfu);
	while (R(E1000_TDH) != R(E1000_TDT)) {
		if (R(E1000_TDH) >= n || R(E1000_TDT) >= n)
			break;
		if (budget < 64) {
			vtimer_arm(&e->tx_timer, vclock_now(e->clock) + TX_RESUME_NS);
			break;
		}
		uint64_t pa = base + 16ull * R(E1000_TDH);
		uint8_t d[16];
		if (!dma_read(e, pa, d, 16))
			break;
		uint32_t moved;
		uint8_t cmd = tx_descriptor(e, d, &moved);
		budget -= 64;
		budget = moved < budget ? budget - moved : 0;
		if (cmd & TXD_RS) {
			uint8_t sta = (uint8_t)(d[12] | TXD_STAT_DD);
			dma_write(e, pa + 12, &sta, 1);
			causes |= E1000_INT_TXDW;
		}
		R(E1000_TDH) = (R(E1000_TDH) + 1) % n;
	}
	if (R(E1000_TDH) == R(E1000_TDT))
		causes |= E1000_INT_TXQE;
	if (causes)
		raise_cause(e, causes);
}

/* The statistics clear when read (13.7); a 64-bit pair when its high half is. */
static uint32_t
stat_read(struct e1000 *e, uint32_t off)
{
	uint32_t v = R(off);
	switch (off) {
	case ST_GORCL:
	case ST_GOTCL:
	case ST_TORL:
	case ST_TOTL: return v;
	case ST_GORCL + 4:
	case ST_GOTCL + 4:
	case ST_TORL + 4:
	case ST_TOTL + 4: R(off - 4) = 0; break;
	default: break;
	}
	R(off) = 0;
	return v;
}

uint32_t
e1000_reg_read(struct e1000 *e, uint32_t off)
{
	off &= ~3u;
	if (off >= E1000_NREGS * 4 || !reg_exists(off))
		return 0;
	switch (off) {
	case E1000_STATUS: return STATUS_LINK_UP;
	case E1000_EECD: return eecd_read(e);
	case E1000_ICR: {
		uint32_t v = R(E1000_ICR);
		R(E1000_ICR) = 0; /* read to clear (13.4.17) */
		update_irq(e);
		return v;
	}
	case E1000_ICS:
	case E1000_IMC: return 0; /* write-only */
	default: break;
	}
	if (off >= E1000_STATS && off < E1000_STATS_END)
		return stat_read(e, off);
	return R(off);
}

void
e1000_reg_write(struct e1000 *e, uint32_t off, uint32_t v)
{
	off &= ~3u;
	if (off >= E1000_NREGS * 4 || !reg_exists(off))
		return;
	switch (off) {
	case E1000_CTRL:
		if (v & CTRL_RST) { /* device reset, self-clearing */
			soft_reset(e);
			return;
		}
		if (v & CTRL_PHY_RST)
			phy_reset(e);
		R(off) = v & ~(CTRL_RST | CTRL_PHY_RST);
		return;
	case E1000_STATUS: return;
	case E1000_EECD: eecd_write(e, v); return;
	case E1000_EERD: eerd_write(e, v); return;
	case E1000_MDIC: mdic_write(e, v); return;
	case E1000_ICR: /* write 1 to clear */
		R(off) &= ~v;
		update_irq(e);
		return;
	case E1000_ICS: raise_cause(e, v); return;
	case E1000_IMS:
		R(off) |= v;
		update_irq(e);
		return;
	case E1000_IMC:
		R(E1000_IMS) &= ~v;
		update_irq(e);
		return;
	case E1000_RCTL: {
		bool was = R(off) & RCTL_EN;
		R(off) = v;
		if ((v & RCTL_EN) && !was && e->board.rx_ready)
			e->board.rx_ready(e->board.opaque);
		return;
	}
	case E1000_RDBAL:
	case E1000_TDBAL: R(off) = v & ~0xfu; return;
	case E1000_RDLEN:
	case E1000_TDLEN: R(off) = v & 0xfff80; return;
	case E1000_RDH:
	case E1000_TDH: R(off) = v & 0xffff; return;
	case E1000_RDT:
		R(off) = v & 0xffff;
		if (e->board.rx_ready)
			e->board.rx_ready(e->board.opaque);
		return;
	case E1000_TDT:
		R(off) = v & 0xffff;
		tx_run(e);
		return;
	case E1000_TCTL:
		R(off) = v;
		tx_run(e);
		return;
	default: break;
	}
	if (off >= E1000_STATS && off < E1000_STATS_END)
		return; /* read-only */
	R(off) = v;
}

/* BAR0: dword registers; narrower accesses see or change part of one. */
static uint64_t
mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct e1000 *e = opaque;
	if (size == 8)
		return e1000_reg_read(e, (uint32_t)offset) |
		       (uint64_t)e1000_reg_read(e, (uint32_t)offset + 4) << 32;
	uint32_t v = e1000_reg_read(e, (uint32_t)offset & ~3u);
	v >>= 8 * (offset & 3);
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void
mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct e1000 *e = opaque;
	uint32_t off = (uint32_t)offset & ~3u;
	if (size == 8) {
		e1000_reg_write(e, off, (uint32_t)value);
		e1000_reg_write(e, off + 4, (uint32_t)(value >> 32));
		return;
	}
	uint32_t v = (uint32_t)value;
	if (size < 4) { /* merge into the stored value, without a read's side effects */
		unsigned sh = 8 * (offset & 3);
		uint32_t mask = ((1u << (8 * size)) - 1) << sh;
		uint32_t old = off < E1000_NREGS * 4 ? R(off) : 0;
		v = (old & ~mask) | ((v << sh) & mask);
	}
	e1000_reg_write(e, off, v);
}

static const struct mmio_ops e1000_mmio_ops = { mmio_read, mmio_write, 0 };

/* BAR1 (13.3.1): IOADDR at 0 selects a register, IODATA at 4 reaches it. */
static uint32_t
io_read(void *opaque, uint16_t port, unsigned size)
{
	struct e1000 *e = opaque;
	unsigned off = (uint16_t)(port - e->io_base);
	uint32_t v = off < 4 ? e->st.ioaddr : off < 8 ? e1000_reg_read(e, e->st.ioaddr) : 0;
	v >>= 8 * (off & 3);
	return size == 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void
io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct e1000 *e = opaque;
	unsigned off = (uint16_t)(port - e->io_base);
	if (size != 4 || (off != 0 && off != 4))
		return; /* IOADDR and IODATA take dword accesses */
	if (off == 0)
		e->st.ioaddr = value & 0x1fffc;
	else
		e1000_reg_write(e, e->st.ioaddr, value);
}

static void
bar_update(struct pci_function *fn, unsigned bar, uint32_t addr, bool mapped)
{
	struct e1000 *e = fn->opaque;
	if (bar == 0) {
		physmem_region_place(e->mem, e->mmio_region, addr, mapped);
		return;
	}
	if (e->io_mapped)
		ioports_unmap(e->io, e->io_base, E1000_IO_SIZE, "e1000", e);
	e->io_mapped = mapped;
	e->io_base = (uint16_t)addr;
	if (mapped)
		ioports_map(e->io, e->io_base, E1000_IO_SIZE, "e1000", io_read, io_write, e, 0);
}

/* A configuration write may change Interrupt Disable or bus mastering. */
static void
config_write(struct pci_function *fn, unsigned reg, uint32_t value, unsigned size)
{
	struct e1000 *e = fn->opaque;
	pci_function_write_default(fn, reg, value, size);
	if (reg <= PCI_COMMAND + 1 && reg + size > PCI_COMMAND)
		update_irq(e);
}

static const struct pci_function_ops e1000_pci_ops = { config_write, bar_update };

/*
 * 8086:100E revision 3, class 02 00 00 (Ethernet), subsystem 8086:001E,
 * INTA#; BAR0 128 KiB of memory, BAR1 64 bytes of I/O.
 */
int
e1000_init(struct e1000 *e, struct pci_bus *bus, unsigned slot, struct ioports *io,
	   struct physmem *mem, struct vclock *clock, const struct e1000_board *board)
{
	memset(e, 0, sizeof(*e));
	e->board = *board;
	e->mem = mem;
	e->io = io;
	e->clock = clock;
	vtimer_init(&e->tx_timer, clock, "e1000-tx", tx_timer_fired, e);
	e->mmio_region = physmem_add_mmio(mem, "e1000", 0, E1000_MMIO_SIZE, &e1000_mmio_ops, e);
	if (e->mmio_region < 0)
		return -1;
	physmem_region_enable(mem, e->mmio_region, false);
	struct pci_function *fn = &e->fn;
	pci_function_init(fn, 0x8086, 0x100e, 0x03, 0x020000, &e1000_pci_ops, e);
	pci_set(fn, PCI_SUBSYS_VENDOR, 0x001e8086u, 4);
	pci_set(fn, PCI_STATUS, 0x0200, 2); /* medium DEVSEL */
	pci_set(fn, PCI_INTERRUPT_PIN, 1, 1);
	pci_set_wmask(fn, PCI_COMMAND,
		      PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | 0x400, 2);
	pci_set_wmask(fn, PCI_INTERRUPT_LINE, 0xff, 1);
	pci_function_add_bar(fn, 0, PCI_BAR0, PCI_BAR_MEM, E1000_MMIO_SIZE);
	pci_function_add_bar(fn, 1, PCI_BAR0 + 4, PCI_BAR_IO, E1000_IO_SIZE);
	if (pci_bus_add(bus, fn, slot, 0) < 0)
		return -1;
	e1000_reset(e);
	return 0;
}

void
e1000_reset(struct e1000 *e)
{
	eeprom_build(e);
	soft_reset(e);
	pci_function_reset(&e->fn);
}

void
e1000_destroy(struct e1000 *e)
{
	vtimer_disarm(&e->tx_timer);
}

size_t
e1000_save(const struct e1000 *e, void *buf, size_t len)
{
	size_t need = sizeof(e->st) + sizeof(e->fn.st);
	if (len >= need) {
		memcpy(buf, &e->st, sizeof(e->st));
		memcpy((uint8_t *)buf + sizeof(e->st), &e->fn.st, sizeof(e->fn.st));
	}
	return need;
}

/* The limits of struct e1000_state (chipset/state.h): IOADDR keeps the bits a
 * write stores (13.3.1: a dword-aligned register offset). The ring registers
 * and the transmit context are checked where they are used, as the guest's
 * writes are; an oversized tx_len drops the packet. */
static const struct state_limit e1000_limits[] = {
	STATE_MASK(struct e1000_state, ioaddr, 0x1fffc),
};

int
e1000_check(const struct e1000 *e, const void *buf, size_t len, char *err, size_t errlen)
{
	if (len != sizeof(e->st) + sizeof(e->fn.st)) {
		snprintf(err, errlen, "%zu bytes", len);
		return -1;
	}
	return state_check(buf, sizeof(e->st), STATE_LIMITS(e1000_limits), "", err, errlen);
}

int
e1000_restore(struct e1000 *e, const void *buf, size_t len)
{
	if (len != sizeof(e->st) + sizeof(e->fn.st))
		return -1;
	state_restore(&e->st, sizeof(e->st), buf, sizeof(e->st), STATE_NO_BOOLS,
		      STATE_LIMITS(e1000_limits));
	return pci_function_restore(&e->fn, (const uint8_t *)buf + sizeof(e->st), sizeof(e->fn.st));
}
