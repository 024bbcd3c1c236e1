/*
 * Unit tests: the physical address space (mmu/physmem.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "mmu/physmem.h"

static void
ram_reads_back_writes(void **state)
{
	(void)state;
	struct physmem *pm = physmem_create(16 << 20);
	assert_non_null(pm);
	physmem_write_sized(pm, 0x1234, 0xdeadbeefcafef00dull, 8);
	assert_int_equal(physmem_read_sized(pm, 0x1234, 8), 0xdeadbeefcafef00dull);
	assert_int_equal(physmem_read_sized(pm, 0x1234, 1), 0x0d);
	assert_int_equal(physmem_read_sized(pm, 0x1236, 2), 0xcafe);
	/* An access that crosses a page boundary. */
	physmem_write_sized(pm, 0x1ffe, 0x11223344, 4);
	assert_int_equal(physmem_read_sized(pm, 0x1ffe, 4), 0x11223344);
	assert_int_equal(physmem_read_sized(pm, 0x2000, 2), 0x1122);
	physmem_destroy(pm);
}

/* Nothing decodes unassigned addresses: reads float to all ones, writes vanish. */
static void
unassigned_reads_all_ones(void **state)
{
	(void)state;
	struct physmem *pm = physmem_create(16 << 20);
	uint64_t hole = 0x80000000ull;
	assert_int_equal(physmem_read_sized(pm, hole, 4), 0xffffffffu);
	assert_int_equal(physmem_read_sized(pm, hole, 1), 0xff);
	physmem_write_sized(pm, hole, 0, 4);
	assert_int_equal(physmem_read_sized(pm, hole, 4), 0xffffffffu);
	/* Past the end of RAM is unassigned too. */
	assert_int_equal(physmem_read_sized(pm, 16 << 20, 2), 0xffff);
	physmem_destroy(pm);
}

/* ROM is read-only; its alias shows the same bytes (BIOS at 4G - size and below 1 MiB). */
static void
rom_is_read_only_and_aliased(void **state)
{
	(void)state;
	struct physmem *pm = physmem_create(16 << 20);
	static uint8_t image[0x20000];
	for (size_t k = 0; k < sizeof(image); k++)
		image[k] = (uint8_t)(k * 7);
	int r = physmem_add_rom(pm, "bios", PHYS_4G - sizeof(image), image, sizeof(image));
	assert_true(r >= 0);
	assert_true(physmem_add_alias(pm, "bios-low", 0xe0000, pm->regions[r].host, sizeof(image),
				      false) >= 0);
	assert_int_equal(physmem_read_sized(pm, PHYS_4G - 16, 1), image[sizeof(image) - 16]);
	assert_int_equal(physmem_read_sized(pm, 0xffff0, 1), image[sizeof(image) - 16]);
	physmem_write_sized(pm, 0xffff0, 0x55, 1);
	physmem_write_sized(pm, PHYS_4G - 16, 0x55, 1);
	assert_int_equal(physmem_read_sized(pm, 0xffff0, 1), image[sizeof(image) - 16]);
	assert_int_equal(physmem_read_sized(pm, PHYS_4G - 16, 1), image[sizeof(image) - 16]);
	/* The alias shadows RAM below it; RAM just below the alias is untouched. */
	physmem_write_sized(pm, 0xdfffc, 0x01020304, 4);
	assert_int_equal(physmem_read_sized(pm, 0xdfffc, 4), 0x01020304);
	physmem_destroy(pm);
}

static uint64_t last_off, last_val;
static unsigned last_size;

static uint64_t
mmio_rd(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	last_off = off;
	last_size = size;
	return 0xa5a5a5a5a5a5a5a5ull & (~0ull >> (64 - 8 * size));
}

static void
mmio_wr(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
	(void)opaque;
	last_off = off;
	last_val = v;
	last_size = size;
}

static const struct mmio_ops test_ops = { mmio_rd, mmio_wr, 0 };

/* MMIO handlers see region-relative offsets and the access size; beyond the region's
 * size (within its last page) the bus is unassigned. */
static void
mmio_dispatch(void **state)
{
	(void)state;
	struct physmem *pm = physmem_create(16 << 20);
	assert_true(physmem_add_mmio(pm, "dev", 0xfee00000, 0x400, &test_ops, NULL) >= 0);
	physmem_write_sized(pm, 0xfee000b0, 0x12345678, 4);
	assert_int_equal(last_off, 0xb0);
	assert_int_equal(last_size, 4);
	assert_int_equal(last_val, 0x12345678);
	assert_int_equal(physmem_read_sized(pm, 0xfee00020, 2), 0xa5a5);
	assert_int_equal(last_off, 0x20);
	assert_int_equal(last_size, 2);
	assert_int_equal(physmem_read_sized(pm, 0xfee00800, 4), 0xffffffffu);
	/* MMIO over RAM hides the RAM. */
	assert_true(physmem_add_mmio(pm, "low", 0x3000, 0x1000, &test_ops, NULL) >= 0);
	assert_int_equal(physmem_read_sized(pm, 0x3010, 1), 0xa5);
	physmem_destroy(pm);
}

/* A byte-wide handler's log: each access it saw, in order. */
static struct {
	unsigned n;
	uint64_t off[8], val[8];
	unsigned size[8];
} bw;

static uint64_t
bw_rd(void *opaque, uint64_t off, unsigned size)
{
	(void)opaque;
	bw.off[bw.n] = off;
	bw.size[bw.n++] = size;
	return 0x10 + (off & 0xff); /* byte k of the register reads 0x10 + its offset */
}

static void
bw_wr(void *opaque, uint64_t off, uint64_t v, unsigned size)
{
	(void)opaque;
	bw.off[bw.n] = off;
	bw.val[bw.n] = v;
	bw.size[bw.n++] = size;
}

static const struct mmio_ops bw_ops = { bw_rd, bw_wr, MMIO_BYTE_WIDE };

/* MMIO_BYTE_WIDE: the map splits an 8-byte access into eight byte accesses at
 * consecutive offsets, lowest first; a read is assembled little-endian. */
static void
mmio_byte_wide_split(void **state)
{
	(void)state;
	struct physmem *pm = physmem_create(16 << 20);
	assert_true(physmem_add_mmio(pm, "bw", 0xfed00000, 0x100, &bw_ops, NULL) >= 0);
	bw.n = 0;
	physmem_write_sized(pm, 0xfed00040, 0x8877665544332211ull, 8);
	assert_int_equal(bw.n, 8);
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(bw.off[i], 0x40 + i);
		assert_int_equal(bw.size[i], 1);
		assert_int_equal(bw.val[i], 0x11 * (i + 1));
	}
	bw.n = 0;
	assert_int_equal(physmem_read_sized(pm, 0xfed00040, 8), 0x5756555453525150ull);
	assert_int_equal(bw.n, 8);
	for (unsigned i = 0; i < 8; i++) {
		assert_int_equal(bw.off[i], 0x40 + i);
		assert_int_equal(bw.size[i], 1);
	}
	bw.n = 0;
	assert_int_equal(physmem_read_sized(pm, 0xfed00012, 2), 0x2322);
	assert_int_equal(bw.n, 2);
	assert_int_equal(bw.off[1], 0x13);
	/* A byte access is passed through as it is. */
	bw.n = 0;
	physmem_write_sized(pm, 0xfed00001, 0xab, 1);
	assert_int_equal(bw.n, 1);
	assert_int_equal(bw.val[0], 0xab);
	physmem_destroy(pm);
}

/* An MMIO region can be given other handlers (the host bridge's VGA window). */
static void
mmio_region_set_ops(void **state)
{
	(void)state;
	static const struct mmio_ops none = { NULL, NULL, 0 };
	struct physmem *pm = physmem_create(16 << 20);
	int r = physmem_add_mmio(pm, "win", 0xa0000, 0x20000, &none, NULL);
	assert_true(r >= 0);
	assert_int_equal(physmem_read_sized(pm, 0xa0010, 2), 0xffff);
	physmem_region_set_ops(pm, r, &bw_ops, NULL);
	bw.n = 0;
	assert_int_equal(physmem_read_sized(pm, 0xa0010, 2), 0x2120);
	assert_int_equal(bw.n, 2);
	physmem_destroy(pm);
}

/* RAM above the 3.5 GiB hole moves above 4 GiB. */
static void
ram_split_around_pci_hole(void **state)
{
	(void)state;
	struct physmem *pm = physmem_create(4ull << 30);
	assert_non_null(pm);
	assert_int_equal(pm->ram_below_4g, PHYS_LOWMEM_MAX);
	assert_int_equal(pm->ram_above_4g, (4ull << 30) - PHYS_LOWMEM_MAX);
	physmem_write_sized(pm, PHYS_4G + 0x10, 0x77, 1);
	assert_int_equal(physmem_read_sized(pm, PHYS_4G + 0x10, 1), 0x77);
	assert_int_equal(physmem_read_sized(pm, PHYS_LOWMEM_MAX + 0x10, 1), 0xff);
	physmem_destroy(pm);
}

static uint64_t notified_pa;
static int notified;

static void
code_hook(void *opaque, uint64_t pa, uint64_t len)
{
	(void)opaque;
	(void)len;
	notified_pa = pa;
	notified++;
}

/* A store to a page flagged as holding decoded code is reported (self-modifying code, DMA). */
static void
code_pages_notify_on_write(void **state)
{
	(void)state;
	struct physmem *pm = physmem_create(16 << 20);
	pm->code_written = code_hook;
	notified = 0;
	physmem_set_code(pm, 0x5000, true);
	physmem_write_sized(pm, 0x4ffc, 0, 4);
	assert_int_equal(notified, 0);
	physmem_write_sized(pm, 0x5010, 0x90, 1);
	assert_int_equal(notified, 1);
	assert_int_equal(notified_pa, 0x5010);
	uint8_t buf[8] = { 0 };
	physmem_write(pm, 0x4ffc, buf, sizeof(buf)); /* a DMA write across the boundary */
	assert_int_equal(notified, 2);
	physmem_set_code(pm, 0x5000, false);
	physmem_write_sized(pm, 0x5010, 0x90, 1);
	assert_int_equal(notified, 2);
	physmem_destroy(pm);
}

static int ntraced;
static char traced_region[32];
static uint64_t traced_pa;
static int traced_write;

static void
trace_hook(void *opaque, const char *region, uint64_t pa, uint64_t value, unsigned size,
	   int is_write)
{
	(void)opaque;
	(void)value;
	(void)size;
	ntraced++;
	snprintf(traced_region, sizeof(traced_region), "%s", region);
	traced_pa = pa;
	traced_write = is_write;
}

/* The trace hook sees MMIO, unassigned space and dropped ROM writes, never RAM. */
static void
unassigned_and_mmio_are_traced(void **state)
{
	(void)state;
	struct physmem *pm = physmem_create(16 << 20);
	static uint8_t rom[4096];
	assert_true(physmem_add_rom(pm, "rom", 0xfffff000, rom, sizeof(rom)) >= 0);
	assert_true(physmem_add_mmio(pm, "dev", 0xfee00000, 0x1000, &test_ops, NULL) >= 0);
	pm->trace = trace_hook;
	ntraced = 0;
	physmem_write_sized(pm, 0x1000, 1, 4);
	(void)physmem_read_sized(pm, 0x1000, 4);
	assert_int_equal(ntraced, 0);
	(void)physmem_read_sized(pm, 0x80000000, 4);
	assert_int_equal(ntraced, 1);
	assert_string_equal(traced_region, "unassigned");
	assert_int_equal(traced_pa, 0x80000000);
	physmem_write_sized(pm, 0xfffff010, 5, 1);
	assert_string_equal(traced_region, "rom");
	assert_int_equal(traced_write, 1);
	physmem_write_sized(pm, 0xfee00010, 5, 4);
	assert_string_equal(traced_region, "dev");
	assert_int_equal(ntraced, 3);
	physmem_destroy(pm);
}

/* A region moves in one change; a batch rebuilds the map (and notifies) once. */
static int nchanges;

static void
count_changes(void *opaque)
{
	(void)opaque;
	nchanges++;
}

static void
region_place_and_batch(void **state)
{
	(void)state;
	struct physmem *pm = physmem_create(16 << 20);
	int r = physmem_add_mmio(pm, "dev", 0xfee00000, 0x1000, &test_ops, NULL);
	pm->map_changed = count_changes;
	nchanges = 0;
	physmem_region_place(pm, r, 0xfed00000, true);
	assert_int_equal(nchanges, 1);
	assert_int_equal(physmem_read_sized(pm, 0xfed00020, 1), 0xa5);
	assert_int_equal(physmem_read_sized(pm, 0xfee00020, 1), 0xff);
	physmem_region_place(pm, r, 0xfed00800, true); /* not page aligned: unmapped */
	assert_int_equal(physmem_read_sized(pm, 0xfed00020, 1), 0xff);
	nchanges = 0;
	physmem_batch_begin(pm);
	physmem_region_place(pm, r, 0xfec00000, true);
	physmem_region_enable(pm, r, false);
	physmem_region_enable(pm, r, true);
	assert_int_equal(nchanges, 0);
	physmem_batch_end(pm);
	assert_int_equal(nchanges, 1);
	assert_int_equal(physmem_read_sized(pm, 0xfec00020, 1), 0xa5);
	physmem_destroy(pm);
}

/*
 * Moves rebuild only the pages involved: a region moved away and back leaves
 * every other page as it was (RAM far away keeps its host pointer and flags),
 * and a priority-1 region stays visible under a later region placed over it.
 */
static void
partial_rebuild_and_priority(void **state)
{
	(void)state;
	struct physmem *pm = physmem_create(16 << 20);
	int apic = physmem_add_mmio(pm, "apic", 0xfee00000, 0x1000, &test_ops, NULL);
	static const struct mmio_ops none = { NULL, NULL, 0 };
	int bar = physmem_add_mmio(pm, "bar", 0xe0000000, 0x1000000, &none, NULL);
	physmem_set_code(pm, 0x5000, true);              /* a flag only a full rebuild would drop */
	physmem_region_place(pm, bar, 0x00800000, true); /* onto RAM ... */
	assert_int_equal(physmem_read_sized(pm, 0x00800000, 1), 0xff);
	physmem_region_place(pm, bar, 0xfe000000, true); /* ... and over the APIC page */
	assert_true(pm->pages[5] & PP_CODE);
	physmem_write_sized(pm, 0x00800000, 0x5a, 1); /* RAM is back */
	assert_int_equal(physmem_read_sized(pm, 0x00800000, 1), 0x5a);
	assert_int_equal(physmem_read_sized(pm, 0xfee00020, 1), 0xff); /* the BAR hides it */
	physmem_region_set_priority(pm, apic, 1);
	assert_int_equal(physmem_read_sized(pm, 0xfee00020, 1), 0xa5);
	physmem_region_place(pm, bar, 0xfd000000, true);
	physmem_region_place(pm, bar, 0xfe000000, true);
	assert_int_equal(physmem_read_sized(pm, 0xfee00020, 1), 0xa5);
	physmem_destroy(pm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ram_reads_back_writes),
		cmocka_unit_test(partial_rebuild_and_priority),
		cmocka_unit_test(unassigned_reads_all_ones),
		cmocka_unit_test(rom_is_read_only_and_aliased),
		cmocka_unit_test(mmio_dispatch),
		cmocka_unit_test(mmio_byte_wide_split),
		cmocka_unit_test(mmio_region_set_ops),
		cmocka_unit_test(ram_split_around_pci_hole),
		cmocka_unit_test(code_pages_notify_on_write),
		cmocka_unit_test(unassigned_and_mmio_are_traced),
		cmocka_unit_test(region_place_and_batch),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
