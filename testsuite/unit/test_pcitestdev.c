/*
 * Unit tests: QEMU's pci-testdev (chipset/pcitestdev.c) through PCI
 * configuration and its two BARs, as kvm-unit-tests' lib/pci-testdev.c
 * drives it: select a test at offset 0, read its header and name, write its
 * offset, read the count back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chipset/pcitestdev.h"
#include "mmu/ioport.h"
#include "mmu/physmem.h"

#define MEM 0xe0000000u
#define IOB 0xc100

struct fixture {
	struct ioports *io;
	struct physmem *mem;
	struct pci_bus bus;
	struct pcitestdev dev;
};

static uint32_t
cfg_read(struct fixture *f, unsigned reg)
{
	ioport_write(f->io, 0xcf8, 0x80000000u | 3u << 11 | reg, 4);
	return ioport_read(f->io, 0xcfc, 4);
}

static void
cfg_write(struct fixture *f, unsigned reg, uint32_t v)
{
	ioport_write(f->io, 0xcf8, 0x80000000u | 3u << 11 | reg, 4);
	ioport_write(f->io, 0xcfc, v, 4);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->io = ioports_create();
	f->mem = physmem_create(1u << 20);
	assert_int_equal(pci_bus_init(&f->bus, f->io, NULL, NULL), 0);
	assert_int_equal(pcitestdev_init(&f->dev, &f->bus, f->io, f->mem), 0);
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

/* 1B36:0005 at slot 3, class FF00h, 4 KiB memory BAR0 and 256-port BAR1, no pin. */
static void
config_space(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(cfg_read(f, 0), 0x00051b36);
	assert_int_equal(cfg_read(f, 8) >> 8, 0xff0000);
	cfg_write(f, 0x10, 0xffffffff);
	assert_int_equal(cfg_read(f, 0x10), 0xfffff000);
	cfg_write(f, 0x14, 0xffffffff);
	assert_int_equal(cfg_read(f, 0x14) & 0xffff, 0xff01);
	assert_int_equal(cfg_read(f, 0x3c) >> 8 & 0xff, 0);
}

static void
map(struct fixture *f)
{
	cfg_write(f, 0x10, MEM);
	cfg_write(f, 0x14, IOB);
	cfg_write(f, 0x04, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
}

/* The six tests: header, name, offset; counted writes, data matching. */
static void
tests_count_writes(void **state)
{
	struct fixture *f = *state;
	map(f);
	assert_int_equal(physmem_read_sized(f->mem, MEM, 4), 0); /* nothing selected */
	for (unsigned n = 0; n < 6; n++) {
		bool mem = n < 3;
		uint64_t base = mem ? MEM : IOB;
		uint32_t off = (mem ? 2048 : 128) + n;
		uint8_t data = n % 3 == 1 ? 0xce : 0xfa;
		if (mem)
			physmem_write_sized(f->mem, MEM, n % 3, 1);
		else
			ioport_write(f->io, IOB, n % 3, 1);
		char name[32];
		for (unsigned k = 0; k < sizeof(name); k++)
			name[k] = (char)(mem ? physmem_read_sized(f->mem, base + 16 + k, 1)
					     : ioport_read(f->io, (uint16_t)(base + 16 + k), 1));
		name[31] = 0;
		static const char *const names[6] = {
			"mmio-no-eventfd",   "mmio-wildcard-eventfd",   "mmio-datamatch-eventfd",
			"portio-no-eventfd", "portio-wildcard-eventfd", "portio-datamatch-eventfd",
		};
		assert_string_equal(name, names[n]);
		/* the header reads the same through both regions */
		assert_int_equal(physmem_read_sized(f->mem, MEM, 1), n);
		assert_int_equal(ioport_read(f->io, IOB + 1, 1), 1);
		assert_int_equal(physmem_read_sized(f->mem, MEM + 4, 4), off);
		assert_int_equal(ioport_read(f->io, IOB + 8, 1), data);
		for (unsigned k = 0; k < 3; k++) {
			if (mem)
				physmem_write_sized(f->mem, base + off, data, 1);
			else
				ioport_write(f->io, (uint16_t)(base + off), data, 1);
		}
		/* another value counts only for the wildcard test */
		if (mem)
			physmem_write_sized(f->mem, base + off, 0x12, 1);
		else
			ioport_write(f->io, (uint16_t)(base + off), 0x12, 1);
		assert_int_equal(physmem_read_sized(f->mem, MEM + 12, 4), n % 3 == 1 ? 4 : 3);
	}
	/* any other selector deselects */
	ioport_write(f->io, IOB, 3, 1);
	assert_int_equal(ioport_read(f->io, IOB + 16, 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(config_space, setup, teardown),
		cmocka_unit_test_setup_teardown(tests_count_writes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
