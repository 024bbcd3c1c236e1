/*
 * fugu — the PIIX3 IDE function 00:01.1 (82371SB, 8086:7010): both channels
 * in legacy (compatibility) mode, class 01 01 80 (IDE, bus-master capable),
 * and the 16-byte bus-master I/O space at BMIBA (BAR4). References are to
 * the Intel 82371SB PIIX3 datasheet by register name: PCICMD, BMIBA, IDETIM,
 * SIDETIM (function 1 configuration space) and BMICx, BMISx, BMIDTPx (bus
 * master IDE I/O registers), and its "Bus Master IDE Operation" section:
 * the physical region descriptor (PRD) table and the interrupt/active bits.
 *
 * XXX: the legacy ports are decoded at all times, as QEMU does; on a real
 * PIIX3, PCICMD.IOSE and IDETIM.IDE gate them (SeaBIOS and Linux set both).
 */
#include "chipset/ide.h"

#include <string.h>

#include "mmu/ioport.h"
#include "mmu/physmem.h"

#define BMIBA 0x20   /* BAR4 */
#define IDETIM 0x40  /* primary (40-41h) and secondary (42-43h) IDE timing */
#define SIDETIM 0x44 /* slave IDE timing */
#define MLT 0x0d     /* master latency timer */

/* PRD entry (Bus Master IDE Operation): base address (bit 0 is 0), byte count
 * in bits 15-1 of the second dword (0 means 64 KiB), EOT in bit 31. */
#define PRD_EOT 0x80000000u

/*
 * Move up to `len` bytes between buf and the regions of channel ch's PRD
 * table, fetching entries as regions are used up. Returns the bytes moved;
 * fewer than len means the table is exhausted: the bus master stops (active
 * clears) and the device waits.
 */
size_t
ide_bm_transfer(struct ide *ide, unsigned ch, uint8_t *buf, size_t len, bool to_memory)
{
	struct ide_bm_state *bm = &ide->bm[ch];
	size_t done = 0;
	while (done < len) {
		if (bm->left == 0) {
			if (bm->eot) {
				bm->status &= (uint8_t)~BM_STAT_ACTIVE;
				break;
			}
			uint8_t e[8];
			physmem_read(ide->mem, bm->next, e, sizeof(e));
			bm->next += 8;
			uint32_t base = (uint32_t)(e[0] | e[1] << 8 | e[2] << 16) | (uint32_t)e[3]
											    << 24;
			uint32_t ctl = (uint32_t)(e[4] | e[5] << 8 | e[6] << 16) | (uint32_t)e[7]
											   << 24;
			bm->addr = base & ~1u;
			bm->left = ctl & 0xfffe;
			if (bm->left == 0)
				bm->left = 0x10000;
			bm->eot = ctl & PRD_EOT;
		}
		size_t n = len - done < bm->left ? len - done : bm->left;
		if (to_memory)
			physmem_write(ide->mem, bm->addr, buf + done, n);
		else
			physmem_read(ide->mem, bm->addr, buf + done, n);
		bm->addr += (uint32_t)n;
		bm->left -= (uint32_t)n;
		done += n;
	}
	return done;
}

/*
 * The device finished its DMA command (or failed it). When the transfer
 * used up the last region, active clears (normal end); a table larger than
 * the transfer leaves it set, as the datasheet's interrupt/active table says.
 */
void
ide_bm_done(struct ide *ide, unsigned ch)
{
	struct ide_bm_state *bm = &ide->bm[ch];
	if (bm->left == 0 && bm->eot)
		bm->status &= (uint8_t)~BM_STAT_ACTIVE;
}

void
ide_bm_irq(struct ide *ide, unsigned ch)
{
	ide->bm[ch].status |= BM_STAT_INTR;
}

/* A byte of the bus master I/O space: offset 0 BMIC, 2 BMIS, 4-7 BMIDTP; 8-15
 * the same for the secondary channel. Reserved bytes read 0. */
static uint8_t
bm_read_byte(struct ide *ide, unsigned off)
{
	struct ide_bm_state *bm = &ide->bm[off >> 3];
	switch (off & 7) {
	case 0: return bm->cmd;
	case 2: return bm->status;
	case 4:
	case 5:
	case 6:
	case 7: return (uint8_t)(bm->prdt >> (8 * ((off & 7) - 4)));
	default: return 0;
	}
}

/*
 * BMICx: bit 0 SSBM starts (0 -> 1: active sets, the PRD pointer is loaded)
 * or stops the bus master (active clears, a transfer in progress is
 * abandoned); bit 3 RWCON is the direction. BMISx: error and interrupt are
 * write-1-to-clear, the two drive DMA-capable bits are plain storage.
 * BMIDTPx: bits 31-2.
 */
static void
bm_write_byte(struct ide *ide, unsigned off, uint8_t v)
{
	unsigned ch = off >> 3;
	struct ide_bm_state *bm = &ide->bm[ch];
	switch (off & 7) {
	case 0: {
		uint8_t old = bm->cmd;
		bm->cmd = v & (BM_CMD_START | BM_CMD_READ);
		if ((v & BM_CMD_START) && !(old & BM_CMD_START)) {
			bm->status |= BM_STAT_ACTIVE;
			bm->next = bm->prdt;
			bm->left = 0;
			bm->eot = false;
			ide_dma_kick(ide, ch);
		} else if (!(v & BM_CMD_START)) {
			bm->status &= (uint8_t)~BM_STAT_ACTIVE;
		}
		break;
	}
	case 2:
		bm->status = (uint8_t)((bm->status & ~(BM_STAT_DMA0 | BM_STAT_DMA1)) |
				       (v & (BM_STAT_DMA0 | BM_STAT_DMA1)));
		bm->status &= (uint8_t) ~(v & (BM_STAT_ERROR | BM_STAT_INTR));
		break;
	case 4:
	case 5:
	case 6:
	case 7: {
		unsigned sh = 8 * ((off & 7) - 4);
		bm->prdt = (bm->prdt & ~(0xffu << sh)) | (uint32_t)v << sh;
		bm->prdt &= ~3u;
		break;
	}
	default: break;
	}
}

/* The bus master registers are byte-wide: the port table splits wider accesses. */
static uint32_t
bm_read(void *opaque, uint16_t port, unsigned size)
{
	struct ide *ide = opaque;
	(void)size;
	return bm_read_byte(ide, (uint16_t)(port - ide->bm_base));
}

static void
bm_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct ide *ide = opaque;
	(void)size;
	bm_write_byte(ide, (uint16_t)(port - ide->bm_base), (uint8_t)value);
}

/* BMIBA moved or PCICMD.IOSE changed: move the bus master I/O space. */
static void
bm_bar_update(struct pci_function *fn, unsigned bar, uint32_t addr, bool mapped)
{
	struct ide *ide = fn->opaque;
	(void)bar;
	if (ide->bm_mapped)
		ioports_unmap(ide->io, ide->bm_base, IDE_BM_SIZE, "ide-bm", ide);
	ide->bm_mapped = mapped;
	ide->bm_base = (uint16_t)addr;
	if (mapped)
		ioports_map(ide->io, ide->bm_base, IDE_BM_SIZE, "ide-bm", bm_read, bm_write, ide,
			    IOPORT_BYTE_WIDE);
}

/*
 * A configuration write: the default masked write; setting PCICMD's bus
 * master enable lets a waiting transfer proceed.
 */
static void
ide_config_write(struct pci_function *fn, unsigned reg, uint32_t value, unsigned size)
{
	struct ide *ide = fn->opaque;
	pci_function_write_default(fn, reg, value, size);
	if (reg <= PCI_COMMAND && reg + size > PCI_COMMAND)
		for (unsigned ch = 0; ch < 2; ch++)
			ide_dma_kick(ide, ch);
}

static const struct pci_function_ops ide_ops = { ide_config_write, bm_bar_update };

/*
 * Function 1 at its PIIX3 defaults: PCICMD with IOSE and BME writable,
 * PCISTS fast back-to-back and medium DEVSEL, MLT bits 7-4, BMIBA (16 bytes
 * of I/O), the timing registers as storage, no interrupt pin (the channels use
 * IRQ 14 and 15 directly).
 */
int
ide_pci_init(struct ide *ide, struct pci_bus *bus)
{
	struct pci_function *fn = &ide->fn;
	pci_function_init(fn, 0x8086, 0x7010, 0x00, 0x010180, &ide_ops, ide);
	pci_set(fn, PCI_STATUS, 0x0280, 2);
	pci_set_wmask(fn, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
	pci_set_wmask(fn, MLT, 0xf0, 1);
	pci_function_add_bar(fn, 4, BMIBA, PCI_BAR_IO, IDE_BM_SIZE);
	pci_set_wmask(fn, IDETIM, 0xffff, 2);
	pci_set_wmask(fn, IDETIM + 2, 0xffff, 2);
	pci_set_wmask(fn, SIDETIM, 0xff, 1);
	if (!bus || pci_bus_add(bus, fn, 1, 1) < 0)
		return -1;
	return 0;
}

void
ide_pci_reset(struct ide *ide)
{
	memset(ide->bm, 0, sizeof(ide->bm));
	pci_function_reset(&ide->fn);
}
