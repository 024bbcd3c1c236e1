/*
 * Unit tests: the 82441FX host bridge (chipset/i440fx.c) through PCI
 * configuration cycles, observed in the physical map. Register names refer to
 * the 82441FX datasheet: PAM (59h-5Fh) and SMRAM (72h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chipset/i440fx.h"
#include "mmu/ioport.h"
#include "mmu/physmem.h"

#define ROM_BYTE 0xa5

struct fixture {
	struct physmem *mem;
	struct ioports *io;
	struct pci_bus bus;
	struct i440fx host;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	static uint8_t rom[128 << 10];
	memset(rom, ROM_BYTE, sizeof(rom));
	f->mem = physmem_create(4 << 20);
	f->io = ioports_create();
	/* The BIOS alias below 1 MiB, as firmware/bios.c maps it. */
	assert_true(physmem_add_rom(f->mem, "bios-low", 0xe0000, rom, sizeof(rom)) >= 0);
	assert_int_equal(pci_bus_init(&f->bus, f->io, NULL, NULL), 0);
	assert_int_equal(i440fx_init(&f->host, &f->bus, f->mem), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	physmem_destroy(f->mem);
	ioports_destroy(f->io);
	free(f);
	return 0;
}

static uint8_t
cfg_readb(struct fixture *f, unsigned reg)
{
	ioport_write(f->io, 0xcf8, 0x80000000u | (reg & 0xfc), 4);
	return (uint8_t)ioport_read(f->io, (uint16_t)(0xcfc + (reg & 3)), 1);
}

static void
cfg_writeb(struct fixture *f, unsigned reg, uint8_t v)
{
	ioport_write(f->io, 0xcf8, 0x80000000u | (reg & 0xfc), 4);
	ioport_write(f->io, (uint16_t)(0xcfc + (reg & 3)), v, 1);
}

static uint8_t
rd(struct fixture *f, uint64_t pa)
{
	return (uint8_t)physmem_read_sized(f->mem, pa, 1);
}

static void
wr(struct fixture *f, uint64_t pa, uint8_t v)
{
	physmem_write_sized(f->mem, pa, v, 1);
}

/* Identity: 8086:1237, host bridge class 06 00 00. */
static void
identity(void **state)
{
	struct fixture *f = *state;
	ioport_write(f->io, 0xcf8, 0x80000000u, 4);
	assert_int_equal(ioport_read(f->io, 0xcfc, 4), 0x12378086);
	ioport_write(f->io, 0xcf8, 0x80000008u, 4);
	assert_int_equal(ioport_read(f->io, 0xcfc, 4) >> 8, 0x060000);
}

/* PAM defaults 00h: every segment on the PCI side, so the BIOS shows at
 * 0xE0000-0xFFFFF and nothing (all ones) at 0xC0000-0xDFFFF. */
static void
reset_shows_rom(void **state)
{
	struct fixture *f = *state;
	for (unsigned r = 0x59; r <= 0x5f; r++)
		assert_int_equal(cfg_readb(f, r), 0);
	assert_int_equal(rd(f, 0xffff0), ROM_BYTE);
	assert_int_equal(rd(f, 0xe0000), ROM_BYTE);
	assert_int_equal(rd(f, 0xc0000), 0xff);
	wr(f, 0xf0000, 0x11); /* to PCI: dropped */
	assert_int_equal(rd(f, 0xf0000), ROM_BYTE);
	assert_int_equal(f->mem->ram[0xf0000], 0);
}

/* PAM "write only" (WE=1 RE=0): writes go to DRAM while reads still come from
 * the ROM; then "read only" reads the copy and drops writes; "read/write" is DRAM. */
static void
pam_shadow_sequence(void **state)
{
	struct fixture *f = *state;
	cfg_writeb(f, 0x59, 0x20); /* PAM0 hi: 0xF0000-0xFFFFF WE */
	assert_int_equal(rd(f, 0xf1234), ROM_BYTE);
	wr(f, 0xf1234, 0x42);
	assert_int_equal(rd(f, 0xf1234), ROM_BYTE); /* reads still from ROM */
	assert_int_equal(f->mem->ram[0xf1234], 0x42);
	cfg_writeb(f, 0x59, 0x10); /* RE only */
	assert_int_equal(rd(f, 0xf1234), 0x42);
	wr(f, 0xf1234, 0x43);
	assert_int_equal(rd(f, 0xf1234), 0x42); /* write-protected */
	cfg_writeb(f, 0x59, 0x30);              /* RE and WE */
	wr(f, 0xf1234, 0x44);
	assert_int_equal(rd(f, 0xf1234), 0x44);
	assert_int_equal(rd(f, 0xe0000), ROM_BYTE); /* other segments untouched */
	cfg_writeb(f, 0x59, 0x00);
	assert_int_equal(rd(f, 0xf1234), ROM_BYTE);
}

/* Each PAM register holds two 16 KiB segments: PAM1 low = 0xC0000, high = 0xC4000. */
static void
pam_16k_segments(void **state)
{
	struct fixture *f = *state;
	cfg_writeb(f, 0x5a, 0x03); /* 0xC0000-0xC3FFF read/write */
	wr(f, 0xc0000, 0x55);
	wr(f, 0xc4000, 0x66);
	assert_int_equal(rd(f, 0xc0000), 0x55);
	assert_int_equal(rd(f, 0xc3fff), 0x00);
	assert_int_equal(rd(f, 0xc4000), 0xff);
	cfg_writeb(f, 0x5f, 0x30); /* PAM6 hi: 0xEC000-0xEFFFF */
	wr(f, 0xec000, 0x77);
	assert_int_equal(rd(f, 0xec000), 0x77);
	assert_int_equal(rd(f, 0xe8000), ROM_BYTE);
}

/* Reserved PAM bits read 0: bits 7, 6, 3, 2, and PAM0 bits 3-0. */
static void
pam_reserved_bits(void **state)
{
	struct fixture *f = *state;
	cfg_writeb(f, 0x59, 0xff);
	assert_int_equal(cfg_readb(f, 0x59), 0x30);
	cfg_writeb(f, 0x5c, 0xff);
	assert_int_equal(cfg_readb(f, 0x5c), 0x33);
}

/* SMRAM: the window shows DRAM outside SMM only with G_SMRAME and D_OPEN;
 * closed, it is the VGA side (nothing here: all ones). C_BASE_SEG is 010b. */
static void
smram_open_close(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(cfg_readb(f, I440FX_SMRAM), 0x02);
	f->mem->ram[0xa0000] = 0x99;
	assert_int_equal(rd(f, 0xa0000), 0xff);
	cfg_writeb(f, I440FX_SMRAM, SMRAM_D_OPEN); /* D_OPEN without G_SMRAME */
	assert_int_equal(rd(f, 0xa0000), 0xff);
	cfg_writeb(f, I440FX_SMRAM, SMRAM_G_SMRAME | SMRAM_D_OPEN | 0x07);
	assert_int_equal(cfg_readb(f, I440FX_SMRAM), 0x4a);
	assert_int_equal(rd(f, 0xa0000), 0x99);
	wr(f, 0xbffff, 0x12);
	assert_int_equal(f->mem->ram[0xbffff], 0x12);
	cfg_writeb(f, I440FX_SMRAM, SMRAM_G_SMRAME);
	assert_int_equal(rd(f, 0xa0000), 0xff);
	wr(f, 0xa0000, 0x13);
	assert_int_equal(f->mem->ram[0xa0000], 0x99);
}

/* D_LCK clears D_OPEN and freezes D_OPEN, D_LCK, G_SMRAME until power-on
 * reset; D_CLS stays writable. */
static void
smram_lock(void **state)
{
	struct fixture *f = *state;
	cfg_writeb(f, I440FX_SMRAM, SMRAM_G_SMRAME | SMRAM_D_OPEN);
	cfg_writeb(f, I440FX_SMRAM, SMRAM_G_SMRAME | SMRAM_D_LCK | SMRAM_D_OPEN);
	assert_int_equal(cfg_readb(f, I440FX_SMRAM), 0x1a);
	assert_int_equal(rd(f, 0xa0000), 0xff);
	cfg_writeb(f, I440FX_SMRAM, SMRAM_D_OPEN | SMRAM_G_SMRAME);
	assert_int_equal(cfg_readb(f, I440FX_SMRAM), 0x1a);
	cfg_writeb(f, I440FX_SMRAM, 0x00);
	assert_int_equal(cfg_readb(f, I440FX_SMRAM), 0x1a);
	cfg_writeb(f, I440FX_SMRAM, SMRAM_D_CLS);
	assert_int_equal(cfg_readb(f, I440FX_SMRAM), 0x3a);
	assert_int_equal(rd(f, 0xa0000), 0xff);
	i440fx_reset(&f->host);
	assert_int_equal(cfg_readb(f, I440FX_SMRAM), 0x02);
	cfg_writeb(f, I440FX_SMRAM, SMRAM_G_SMRAME | SMRAM_D_OPEN);
	assert_int_equal(cfg_readb(f, I440FX_SMRAM), 0x4a);
}

/* Save/restore carries PAM and SMRAM, and the map follows. */
static void
save_restore(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[512];
	cfg_writeb(f, 0x59, 0x30);
	wr(f, 0xf0000, 0x5a);
	size_t n = i440fx_save(&f->host, buf, sizeof(buf));
	i440fx_reset(&f->host);
	assert_int_equal(rd(f, 0xf0000), ROM_BYTE);
	assert_int_equal(i440fx_restore(&f->host, buf, n), 0);
	assert_int_equal(rd(f, 0xf0000), 0x5a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(identity, setup, teardown),
		cmocka_unit_test_setup_teardown(reset_shows_rom, setup, teardown),
		cmocka_unit_test_setup_teardown(pam_shadow_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(pam_16k_segments, setup, teardown),
		cmocka_unit_test_setup_teardown(pam_reserved_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(smram_open_close, setup, teardown),
		cmocka_unit_test_setup_teardown(smram_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(save_restore, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
