/*
 * Unit tests: QEMU's fw_cfg (chipset/fwcfg.c) through its I/O ports and DMA
 * descriptors in guest memory, as SeaBIOS uses it (src/fw/paravirt.c). Section
 * names refer to QEMU's docs/specs/fw_cfg.rst. The last test builds the whole
 * board and reads the items it publishes (RAM size, CPU count, "etc/e820").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "chipset/fwcfg.h"
#include "mmu/ioport.h"
#include "chipset/pc.h"
#include "mmu/physmem.h"

#include "fwcfg_fixture.h"

static void
select_key(struct ioports *io, uint16_t key)
{
	ioport_write(io, FWCFG_PORT_SEL, key, 2);
}

static void
read_data(struct ioports *io, void *buf, size_t len)
{
	uint8_t *p = buf;
	for (size_t k = 0; k < len; k++)
		p[k] = (uint8_t)ioport_read(io, FWCFG_PORT_DATA, 1);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int k = 7; k >= 0; k--)
		v = v << 8 | p[k];
	return v;
}

/* Look a file up in the directory ("File Directory"); returns its key or -1. */
static int
find_file(struct ioports *io, const char *name, uint32_t *size)
{
	uint8_t b[64];
	select_key(io, FWCFG_FILE_DIR);
	read_data(io, b, 4);
	uint32_t count = be32(b);
	for (uint32_t k = 0; k < count; k++) {
		read_data(io, b, 64);
		if (!strncmp((const char *)b + 8, name, 56)) {
			*size = be32(b);
			return b[4] << 8 | b[5];
		}
	}
	return -1;
}

/*
 * Signature key 0x0000 reads "QEMU", the probe SeaBIOS's qemu_cfg_init does;
 * reads past the end of an item return 0 ("Data Register").
 */
static void
signature(void **state)
{
	struct fixture *f = *state;
	char sig[6];
	select_key(f->io, FWCFG_SIGNATURE);
	read_data(f->io, sig, 6);
	assert_memory_equal(sig, "QEMU\0\0", 6);
	/* Re-selecting rewinds the offset. */
	select_key(f->io, FWCFG_SIGNATURE);
	assert_int_equal(ioport_read(f->io, FWCFG_PORT_DATA, 1), 'Q');
}

/* ID key 0x0001: bit 0 traditional interface, bit 1 DMA ("Revision / feature bitmap"). */
static void
id_reports_dma(void **state)
{
	struct fixture *f = *state;
	uint8_t id[4];
	select_key(f->io, FWCFG_ID);
	read_data(f->io, id, 4);
	assert_int_equal(id[0], FWCFG_ID_TRADITIONAL | FWCFG_ID_DMA);
	assert_int_equal(id[1] | id[2] | id[3], 0);
	/* The DMA address register reads back the "QEMU CFG" signature. */
	assert_int_equal(ioport_read(f->io, FWCFG_PORT_DMA, 4), 0x554d4551);     /* "QEMU" */
	assert_int_equal(ioport_read(f->io, FWCFG_PORT_DMA + 4, 4), 0x47464320); /* " CFG" */
}

/* Unknown keys read as zeros (QEMU's behaviour), as do the legacy write-flagged keys. */
static void
unknown_key_reads_zero(void **state)
{
	struct fixture *f = *state;
	uint8_t b[8];
	select_key(f->io, 0x1234);
	read_data(f->io, b, 8);
	assert_memory_equal(b, "\0\0\0\0\0\0\0\0", 8);
	select_key(f->io, FWCFG_SIGNATURE | 0x4000);
	read_data(f->io, b, 4);
	assert_memory_equal(b, "\0\0\0\0", 4);
}

/*
 * The file directory at 0x0019: a big-endian count, then {be32 size, be16
 * select, be16 reserved, char name[56]} entries; the selected key reads the
 * file ("File Directory").
 */
static void
file_directory(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(fwcfg_add_file(&f->fw, "etc/one", "abc", 3), FWCFG_FILE_FIRST);
	assert_int_equal(fwcfg_add_file(&f->fw, "opt/two", "hello", 5), FWCFG_FILE_FIRST + 1);
	/* Replacing keeps the key and updates the size. */
	assert_int_equal(fwcfg_add_file(&f->fw, "etc/one", "abcd", 4), FWCFG_FILE_FIRST);
	uint8_t b[4];
	select_key(f->io, FWCFG_FILE_DIR);
	read_data(f->io, b, 4);
	assert_int_equal(be32(b), 2);
	uint32_t size;
	int key = find_file(f->io, "opt/two", &size);
	assert_int_equal(key, FWCFG_FILE_FIRST + 1);
	assert_int_equal(size, 5);
	key = find_file(f->io, "etc/one", &size);
	assert_int_equal(size, 4);
	char data[5];
	select_key(f->io, (uint16_t)key);
	read_data(f->io, data, 5);
	assert_memory_equal(data, "abcd\0", 5);
}

/* Build a DMA descriptor {be32 control, be32 length, be64 address} at pa. */
static void
put_desc(struct physmem *mem, uint64_t pa, uint32_t control, uint32_t length, uint64_t addr)
{
	uint8_t d[16];
	for (int k = 0; k < 4; k++) {
		d[k] = (uint8_t)(control >> (24 - 8 * k));
		d[4 + k] = (uint8_t)(length >> (24 - 8 * k));
	}
	for (int k = 0; k < 8; k++)
		d[8 + k] = (uint8_t)(addr >> (56 - 8 * k));
	physmem_write(mem, pa, d, sizeof(d));
}

/* Start a DMA request: the address written as two big-endian 32-bit halves. */
static void
dma_start(struct ioports *io, uint64_t pa)
{
	ioport_write(io, FWCFG_PORT_DMA, __builtin_bswap32((uint32_t)(pa >> 32)), 4);
	ioport_write(io, FWCFG_PORT_DMA + 4, __builtin_bswap32((uint32_t)pa), 4);
}

/*
 * DMA ("DMA interface"): select + read copies the item into guest memory and
 * clears the control word; skip advances the offset; a read past the end fills
 * zeros; a write (no item is writable) reports the error bit.
 */
static void
dma_read_skip_write(void **state)
{
	struct fixture *f = *state;
	fwcfg_add_file(&f->fw, "etc/data", "0123456789", 10);
	uint8_t buf[8], ctl[4];
	memset(buf, 0xaa, sizeof(buf));
	physmem_write(f->mem, 0x2000, buf, sizeof(buf));
	uint32_t ctl_select = (uint32_t)FWCFG_FILE_FIRST << 16 | FWCFG_DMA_SELECT;
	put_desc(f->mem, 0x1000, ctl_select | FWCFG_DMA_READ, 3, 0x2000);
	dma_start(f->io, 0x1000);
	physmem_read(f->mem, 0x1000, ctl, 4);
	assert_memory_equal(ctl, "\0\0\0\0", 4);
	physmem_read(f->mem, 0x2000, buf, 4);
	assert_memory_equal(buf, "012\xaa", 4);
	/* Skip 4, then read 5: "789" and two zeros past the end. */
	put_desc(f->mem, 0x1000, FWCFG_DMA_SKIP, 4, 0);
	dma_start(f->io, 0x1000);
	put_desc(f->mem, 0x1000, FWCFG_DMA_READ, 5, 0x2000);
	dma_start(f->io, 0x1000);
	physmem_read(f->mem, 0x2000, buf, 6);
	assert_memory_equal(buf, "789\0\0\xaa", 6);
	/* The port interface continues from the same offset (past the end: 0). */
	assert_int_equal(ioport_read(f->io, FWCFG_PORT_DATA, 1), 0);
	put_desc(f->mem, 0x1000, FWCFG_DMA_WRITE, 1, 0x2000);
	dma_start(f->io, 0x1000);
	physmem_read(f->mem, 0x1000, ctl, 4);
	assert_memory_equal(ctl, "\0\0\0\x01", 4);
}

/*
 * The board: RAM size (key 0x0003, 64-bit LE), CPU count (0x0005), the IRQ0
 * override and "etc/e820" with RAM below 4 GiB, the IOAPIC and local APIC
 * pages reserved, and RAM above 4 GiB. A 4 KiB BIOS image is enough to boot
 * the board object (it never runs here).
 */
static void
board_items(void **state)
{
	(void)state;
	char path[] = "/tmp/fugu-fwcfg-biosXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	static uint8_t rom[4096];
	memset(rom, 0xf4, sizeof(rom));
	assert_int_equal(write(fd, rom, sizeof(rom)), (ssize_t)sizeof(rom));
	close(fd);
	struct pc_config cfg = { .ram_size = 0xe0000000ull + (64u << 20),
				 .bios_path = path,
				 .clock_mode = VCLOCK_DETERMINISTIC };
	char err[256];
	assert_int_equal(cpu_features_parse(&cfg.cpu, "max", err, sizeof(err)), 0);
	struct pc *pc = pc_create(&cfg, err, sizeof(err));
	unlink(path);
	assert_non_null(pc);
	uint8_t b[8];
	select_key(pc->io, FWCFG_RAM_SIZE);
	read_data(pc->io, b, 8);
	assert_int_equal(le64(b), cfg.ram_size);
	select_key(pc->io, FWCFG_NB_CPUS);
	read_data(pc->io, b, 2);
	assert_int_equal(b[0] | b[1] << 8, 1);
	select_key(pc->io, FWCFG_IRQ0_OVERRIDE);
	read_data(pc->io, b, 1);
	assert_int_equal(b[0], 1);

	uint32_t size;
	int key = find_file(pc->io, "etc/e820", &size);
	assert_true(key >= FWCFG_FILE_FIRST);
	assert_int_equal(size, 4 * 20);
	uint8_t e[4 * 20];
	select_key(pc->io, (uint16_t)key);
	read_data(pc->io, e, sizeof(e));
	static const uint64_t want[4][3] = {
		{ 0, 0xe0000000ull, 1 },
		{ 0xfec00000ull, 0x1000, 2 },
		{ 0xfee00000ull, 0x1000, 2 },
		{ 0x100000000ull, 64u << 20, 1 },
	};
	for (unsigned k = 0; k < 4; k++) {
		assert_int_equal(le64(e + 20 * k), want[k][0]);
		assert_int_equal(le64(e + 20 * k + 8), want[k][1]);
		assert_int_equal(e[20 * k + 16] | e[20 * k + 17] << 8, want[k][2]);
	}
	assert_true(find_file(pc->io, "bootorder", &size) >= 0);
	assert_int_equal(size, 0);
	pc_destroy(pc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(signature, setup, teardown),
		cmocka_unit_test_setup_teardown(id_reports_dma, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_key_reads_zero, setup, teardown),
		cmocka_unit_test_setup_teardown(file_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(dma_read_skip_write, setup, teardown),
		cmocka_unit_test(board_items),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
