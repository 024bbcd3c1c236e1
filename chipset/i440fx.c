/*
 * fugu — the Intel 82441FX PMC (440FX host bridge), PCI 00:00.0. References
 * are to the Intel 440FX PCIset 82441FX PMC / 82442FX DBX datasheet, register
 * descriptions "PAM—Programmable Attribute Map Registers" (59h-5Fh) and
 * "SMRAM—System Management RAM Control Register" (72h).
 *
 * PAM: each 16 KiB segment of 0xC0000-0xEFFFF, and the 64 KiB segment at
 * 0xF0000, has a read enable (RE) and a write enable (WE). RE=1 sends reads to
 * DRAM, RE=0 to PCI; WE=1 sends writes to DRAM, WE=0 to PCI. The PCI side is
 * what the physical map showed when the bridge was created: the BIOS alias at
 * 0xE0000-0xFFFFF (firmware/bios.c), nothing (all ones) below it. Each state
 * is a set of physical-map regions:
 *   RE WE  regions
 *    1  1  DRAM: the base RAM, or `rw` (a RAM alias) over the BIOS alias
 *    1  0  `ro`: RAM bytes mapped read-only, so writes are dropped
 *    0  1  `wo`: MMIO reading the PCI side and writing DRAM
 *    0  0  the BIOS alias where there is one, else `wo` with writes dropped
 *
 * SMRAM: outside SMM, 0xA0000-0xBFFFF shows DRAM only while G_SMRAME and
 * D_OPEN are both set; otherwise it is the PCI side (the VGA window). D_CLS
 * only matters in SMM, which is not modelled yet (XXX).
 */
#include "chipset/i440fx.h"

#include <string.h>

#include "mmu/physmem.h"

#define SEG_LOW 0xc0000u
#define VGA_BASE 0xa0000u
#define VGA_SIZE 0x20000u

/* The PAM register and nibble shift of segment k (datasheet PAM table). */
static unsigned
seg_reg(unsigned k)
{
	return k == I440FX_NSEG - 1 ? I440FX_PAM0 : I440FX_PAM0 + 1 + k / 2;
}

static unsigned
seg_shift(unsigned k)
{
	return k == I440FX_NSEG - 1 ? 4 : (k & 1) * 4;
}

/* The PCI side of `pa` (inside the PAM range): ROM bytes, or NULL for nothing. */
static const uint8_t *
pci_side(const struct i440fx *h, uint64_t pa)
{
	const uint8_t *page = h->pci_side[(pa - SEG_LOW) >> 12];
	return page ? page + (pa & 0xfff) : NULL;
}

/*
 * `wo` regions (RE=0): a read comes from the PCI side; a write goes to DRAM
 * when the segment's WE is set and is dropped otherwise. Byte-wide: a byte
 * of the PCI side may be ROM or nothing.
 */
static uint64_t
wo_read(void *opaque, uint64_t offset, unsigned size)
{
	struct i440fx_seg *s = opaque;
	const uint8_t *p = pci_side(s->host, s->base + offset);
	(void)size;
	return p ? *p : 0xff;
}

static void
wo_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct i440fx_seg *s = opaque;
	struct i440fx *h = s->host;
	unsigned k = (unsigned)(s - h->seg);
	if (!(h->fn.st.config[seg_reg(k)] >> seg_shift(k) & 2))
		return;
	(void)size;
	h->mem->ram[s->base + offset] = (uint8_t)value;
	physmem_mark_ram_dirty(h->mem, s->base + offset);
}

static const struct mmio_ops wo_ops = { wo_read, wo_write, MMIO_BYTE_WIDE };

/*
 * The legacy VGA window while SMRAM is closed: the VGA device's handlers
 * (i440fx_set_vga_window), or an empty PCI bus (reads all ones, writes
 * dropped).
 */
static const struct mmio_ops no_vga_ops = { NULL, NULL, 0 };

/*
 * Make the physical map match the PAM and SMRAM registers.
 */
static void
update_map(struct i440fx *h)
{
	struct physmem *pm = h->mem;
	physmem_batch_begin(pm); /* one rebuild for all the segments */
	for (unsigned k = 0; k < I440FX_NSEG; k++) {
		struct i440fx_seg *s = &h->seg[k];
		unsigned a = h->fn.st.config[seg_reg(k)] >> seg_shift(k) & 3;
		bool re = a & 1, we = a & 2;
		physmem_region_enable(pm, s->rw, re && we);
		physmem_region_enable(pm, s->ro, re && !we);
		physmem_region_enable(pm, s->wo, !re && (we || !s->pci_rom));
	}
	/* SMRAM (82441FX datasheet, SMRAM register): with G_SMRAME, DRAM answers at
	 * 0xA0000-0xBFFFF when D_OPEN is set, or for the CPU in SMM unless D_CLS.
	 * XXX D_CLS should keep code fetches in SMM on DRAM; one map cannot split
	 * fetches from data, so D_CLS closes the window for both. */
	uint8_t sm = h->fn.st.config[I440FX_SMRAM];
	bool open = (sm & SMRAM_G_SMRAME) &&
		    ((sm & SMRAM_D_OPEN) || (h->in_smm && !(sm & SMRAM_D_CLS)));
	physmem_region_enable(pm, h->smram, open);
	physmem_batch_end(pm);
}

/*
 * SMRAM register write rules: C_BASE_SEG is hardwired to 010b; bit 7 is
 * reserved. Setting D_LCK clears D_OPEN and makes D_LCK, D_OPEN, G_SMRAME and
 * C_BASE_SEG read-only until a power-on reset; D_CLS stays writable.
 */
static uint8_t
smram_write(uint8_t old, uint8_t v)
{
	if (old & SMRAM_D_LCK)
		return (uint8_t)((old & ~SMRAM_D_CLS) | (v & SMRAM_D_CLS));
	uint8_t n = (uint8_t)((v & 0x78) | SMRAM_C_BASE_SEG);
	if (n & SMRAM_D_LCK)
		n &= (uint8_t)~SMRAM_D_OPEN;
	return n;
}

static void
host_config_write(struct pci_function *fn, unsigned reg, uint32_t value, unsigned size)
{
	struct i440fx *h = fn->opaque;
	pci_function_write_default(fn, reg, value, size);
	if (reg <= I440FX_SMRAM && reg + size > I440FX_SMRAM) {
		uint8_t v = (uint8_t)(value >> (8 * (I440FX_SMRAM - reg)));
		fn->st.config[I440FX_SMRAM] = smram_write(fn->st.config[I440FX_SMRAM], v);
	}
	if ((reg <= I440FX_SMRAM && reg + size > I440FX_PAM0))
		update_map(h);
}

static const struct pci_function_ops host_ops = { host_config_write, NULL };

/*
 * The configuration header and the registers software writes, at their
 * power-on defaults. DRAM configuration (DRB, DRT, DRAMC...) is plain storage:
 * the memory size comes from the board, not from these.
 */
static void
setup_config(struct pci_function *fn)
{
	pci_set(fn, PCI_COMMAND, 0x0006, 2);       /* MAE and BME hardwired to 1 */
	pci_set_wmask(fn, PCI_COMMAND, 0x0140, 2); /* SERRE, PERRE */
	pci_set(fn, PCI_STATUS, 0x0280, 2);        /* fast back-to-back, DEVSEL medium */
	pci_set_wmask(fn, 0x0d, 0xf8, 1);          /* master latency timer */
	for (unsigned r = 0x50; r <= 0x58; r++)
		pci_set_wmask(fn, r, 0xff, 1); /* PMCCFG, DETURBO, DBC, AXC, DRAMR, DRAMC, DRAMT */
	pci_set_wmask(fn, I440FX_PAM0, 0x30, 1); /* PAM0 bits 3-0 reserved */
	for (unsigned r = I440FX_PAM0 + 1; r <= I440FX_PAM0 + 6; r++)
		pci_set_wmask(fn, r, 0x33, 1); /* bits 7, 6, 3, 2 reserved */
	for (unsigned r = 0x60; r <= 0x67; r++) {
		pci_set(fn, r, 0x02, 1); /* DRB0-7 */
		pci_set_wmask(fn, r, 0xff, 1);
	}
	pci_set_wmask(fn, 0x68, 0xff, 1);               /* DRT */
	pci_set_wmask(fn, 0x70, 0xf8, 1);               /* MTT */
	pci_set_wmask(fn, 0x71, 0xff, 1);               /* CLT */
	pci_set(fn, I440FX_SMRAM, SMRAM_C_BASE_SEG, 1); /* written by host_config_write */
	pci_set_wmask(fn, 0x90, 0xff, 1);               /* ERRCMD */
	pci_set_w1cmask(fn, 0x91, 0xff, 1);             /* ERRSTS */
}

int
i440fx_init(struct i440fx *h, struct pci_bus *bus, struct physmem *mem)
{
	memset(h, 0, sizeof(*h));
	h->mem = mem;
	h->smram = -1;
	h->vga_hole = -1;
	pci_function_init(&h->fn, 0x8086, 0x1237, 0x02, 0x060000, &host_ops, h);
	setup_config(&h->fn);
	for (unsigned p = 0; p < 64; p++) {
		phys_page_t e = physmem_page(mem, SEG_LOW + ((uint64_t)p << 12));
		if ((e & PP_HOST_MASK) && !(e & (PP_WRITABLE | PP_MMIO)))
			h->pci_side[p] = (uint8_t *)(e & PP_HOST_MASK);
	}
	if (mem->ram_below_4g < 0x100000)
		return -1;
	for (unsigned k = 0; k < I440FX_NSEG; k++) {
		struct i440fx_seg *s = &h->seg[k];
		s->host = h;
		s->base = SEG_LOW + k * 0x4000;
		s->size = k == I440FX_NSEG - 1 ? 0x10000 : 0x4000;
		s->rw = -1;
		for (unsigned p = 0; p < s->size >> 12; p++)
			s->pci_rom |= h->pci_side[((s->base - SEG_LOW) >> 12) + p] != NULL;
		uint8_t *ram = mem->ram + s->base;
		s->ro = physmem_add_alias(mem, "pam-ro", s->base, ram, s->size, false);
		s->wo = physmem_add_mmio(mem, "pam-wo", s->base, s->size, &wo_ops, s);
		if (s->pci_rom)
			s->rw = physmem_add_alias(mem, "pam-rw", s->base, ram, s->size, true);
		if (s->ro < 0 || s->wo < 0 || (s->pci_rom && s->rw < 0))
			return -1;
	}
	h->vga_hole = physmem_add_mmio(mem, "vga-window", VGA_BASE, VGA_SIZE, &no_vga_ops, h);
	h->smram = physmem_add_alias(mem, "smram", VGA_BASE, mem->ram + VGA_BASE, VGA_SIZE, true);
	if (h->vga_hole < 0 || h->smram < 0 || pci_bus_add(bus, &h->fn, 0, 0) < 0)
		return -1;
	i440fx_reset(h);
	return 0;
}

/*
 * Power-on: PAM all 0 (every segment on the PCI side: the BIOS shows at
 * 0xE0000-0xFFFFF), SMRAM 02h (closed, unlocked).
 */
void
i440fx_reset(struct i440fx *h)
{
	pci_function_reset(&h->fn);
	update_map(h);
}

void
i440fx_get_pam(const struct i440fx *h, uint8_t pam[I440FX_NPAM])
{
	memcpy(pam, &h->fn.st.config[I440FX_PAM0], I440FX_NPAM);
}

void
i440fx_set_pam(struct i440fx *h, const uint8_t pam[I440FX_NPAM])
{
	memcpy(&h->fn.st.config[I440FX_PAM0], pam, I440FX_NPAM);
	update_map(h);
}

void
i440fx_set_smm(struct i440fx *h, bool in_smm)
{
	if (h->in_smm == in_smm)
		return;
	h->in_smm = in_smm;
	update_map(h);
}

void
i440fx_set_vga_window(struct i440fx *h, const struct mmio_ops *ops, void *opaque)
{
	physmem_region_set_ops(h->mem, h->vga_hole, ops, opaque);
}

size_t
i440fx_save(const struct i440fx *h, void *buf, size_t len)
{
	return pci_function_save(&h->fn, buf, len);
}

/* The record is the host bridge's configuration space: PAM and SMRAM values
 * are decoded bit by bit, as the guest's own writes are. */
int
i440fx_check(const struct i440fx *h, const void *buf, size_t len, char *err, size_t errlen)
{
	(void)h;
	(void)buf;
	(void)len;
	(void)err;
	(void)errlen;
	return 0;
}

int
i440fx_restore(struct i440fx *h, const void *buf, size_t len)
{
	if (pci_function_restore(&h->fn, buf, len) < 0)
		return -1;
	update_map(h);
	return 0;
}
