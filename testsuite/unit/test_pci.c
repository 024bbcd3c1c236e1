/*
 * Unit tests: PCI configuration mechanism #1 and the pci_function interface
 * (chipset/pci.c), through ports 0xCF8/0xCFC as a guest uses them. Sections
 * refer to the PCI Local Bus Specification 2.1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "mmu/ioport.h"
#include "chipset/pci.h"

struct fixture {
	struct ioports *io;
	struct pci_bus bus;
	struct pci_function fn;  /* 00:03.0: I/O BAR0 (32 bytes), memory BAR1 (4 KiB), ROM */
	struct pci_function fn1; /* 00:03.2 */
	unsigned updates;
	unsigned last_bar;
	uint32_t last_addr;
	bool last_mapped;
};

static void
bar_update(struct pci_function *fn, unsigned bar, uint32_t addr, bool mapped)
{
	struct fixture *f = fn->opaque;
	f->updates++;
	f->last_bar = bar;
	f->last_addr = addr;
	f->last_mapped = mapped;
}

static const struct pci_function_ops ops = { NULL, bar_update };

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->io = ioports_create();
	assert_int_equal(pci_bus_init(&f->bus, f->io, NULL, NULL), 0);
	pci_function_init(&f->fn, 0x1234, 0x5678, 0x01, 0x020000, &ops, f);
	pci_set_wmask(&f->fn, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
	pci_set_wmask(&f->fn, PCI_INTERRUPT_LINE, 0xff, 1);
	pci_function_add_bar(&f->fn, 0, PCI_BAR0, PCI_BAR_IO, 32);
	pci_function_add_bar(&f->fn, 1, PCI_BAR0 + 4, PCI_BAR_MEM_PREFETCH, 4096);
	pci_function_add_bar(&f->fn, 6, PCI_ROM_ADDRESS, PCI_BAR_ROM, 64 << 10);
	assert_int_equal(pci_bus_add(&f->bus, &f->fn, 3, 0), 0);
	pci_function_init(&f->fn1, 0x1234, 0x5679, 0, 0x020000, NULL, NULL);
	assert_int_equal(pci_bus_add(&f->bus, &f->fn1, 3, 2), 0);
	f->updates = 0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	ioports_destroy(f->io);
	free(f);
	return 0;
}

static uint32_t
cfg_read(struct fixture *f, unsigned bus, unsigned dev, unsigned fn, unsigned reg, unsigned size)
{
	ioport_write(f->io, 0xcf8, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc), 4);
	return ioport_read(f->io, (uint16_t)(0xcfc + (reg & 3)), size);
}

static void
cfg_write(struct fixture *f, unsigned dev, unsigned fn, unsigned reg, uint32_t v, unsigned size)
{
	ioport_write(f->io, 0xcf8, 0x80000000u | dev << 11 | fn << 8 | (reg & 0xfc), 4);
	ioport_write(f->io, (uint16_t)(0xcfc + (reg & 3)), v, size);
}

/* 3.7.4.1: a function that is not there master-aborts: all ones, vendor ID 0xFFFF. */
static void
absent_function(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(cfg_read(f, 0, 3, 0, 0, 4), 0x56781234);
	assert_int_equal(cfg_read(f, 0, 4, 0, 0, 2), 0xffff);
	assert_int_equal(cfg_read(f, 0, 3, 1, 0, 4), 0xffffffff);
	assert_int_equal(cfg_read(f, 1, 3, 0, 0, 4), 0xffffffff); /* no bus 1 */
	/* Enable bit clear: CONFIG_DATA is ordinary I/O with nothing behind it. */
	ioport_write(f->io, 0xcf8, 3 << 11, 4);
	assert_int_equal(ioport_read(f->io, 0xcfc, 4), 0xffffffff);
	cfg_write(f, 4, 0, PCI_COMMAND, 0xffff, 2); /* dropped, no crash */
}

/* 3.7.4.1: CONFIG_ADDRESS is a dword register; bits 30-24 and 1-0 read 0;
 * smaller accesses are not decoded (0xCF9 belongs to someone else). */
static void
config_address_register(void **state)
{
	struct fixture *f = *state;
	ioport_write(f->io, 0xcf8, 0xffffffff, 4);
	assert_int_equal(ioport_read(f->io, 0xcf8, 4), 0x80fffffc);
	ioport_write(f->io, 0xcf8, 0x12, 1);
	assert_int_equal(ioport_read(f->io, 0xcf8, 4), 0x80fffffc);
	assert_int_equal(ioport_read(f->io, 0xcf8, 2), 0xffff);
}

/* Byte and word accesses reach the right bytes of the selected dword. */
static void
byte_and_word_access(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(cfg_read(f, 0, 3, 0, 2, 2), 0x5678);
	assert_int_equal(cfg_read(f, 0, 3, 0, 3, 1), 0x56);
	assert_int_equal(cfg_read(f, 0, 3, 0, 0x0b, 1), 0x02); /* class code base */
	cfg_write(f, 3, 0, PCI_INTERRUPT_LINE, 0x0a, 1);
	assert_int_equal(cfg_read(f, 0, 3, 0, 0x3c, 4) & 0xff, 0x0a);
}

/* 6.1: read-only registers ignore writes; 6.2.3: status error bits are write-1-to-clear. */
static void
read_only_and_w1c(void **state)
{
	struct fixture *f = *state;
	cfg_write(f, 3, 0, PCI_VENDOR_ID, 0, 4);
	assert_int_equal(cfg_read(f, 0, 3, 0, 0, 4), 0x56781234);
	cfg_write(f, 3, 0, PCI_COMMAND, 0xffff, 2);
	assert_int_equal(cfg_read(f, 0, 3, 0, PCI_COMMAND, 2), 0x0003);
	pci_set(&f->fn, PCI_STATUS, 0x2800, 2); /* received master abort, signaled target abort */
	cfg_write(f, 3, 0, PCI_STATUS, 0x2000, 2);
	assert_int_equal(cfg_read(f, 0, 3, 0, PCI_STATUS, 2), 0x0800);
	cfg_write(f, 3, 0, PCI_STATUS, 0x0000, 2);
	assert_int_equal(cfg_read(f, 0, 3, 0, PCI_STATUS, 2), 0x0800);
}

/* 6.2.5.1: writing all ones returns the size mask with the read-only type bits. */
static void
bar_sizing(void **state)
{
	struct fixture *f = *state;
	cfg_write(f, 3, 0, PCI_BAR0, 0xffffffff, 4);
	/* I/O, 32 bytes; bits 31-16 writable in header BARs (see pci.c). */
	assert_int_equal(cfg_read(f, 0, 3, 0, PCI_BAR0, 4), 0xffffffe1);
	cfg_write(f, 3, 0, PCI_BAR0 + 4, 0xffffffff, 4);
	assert_int_equal(cfg_read(f, 0, 3, 0, PCI_BAR0 + 4, 4), 0xfffff008); /* mem, prefetchable */
	cfg_write(f, 3, 0, PCI_BAR0 + 8, 0xffffffff, 4);
	assert_int_equal(cfg_read(f, 0, 3, 0, PCI_BAR0 + 8, 4), 0); /* unimplemented BAR */
	/* 6.2.5.2: expansion ROM: address bits and the enable bit. */
	cfg_write(f, 3, 0, PCI_ROM_ADDRESS, 0xfffffffe, 4);
	assert_int_equal(cfg_read(f, 0, 3, 0, PCI_ROM_ADDRESS, 4), 0xffff0000);
	cfg_write(f, 3, 0, PCI_BAR0, 0xc041, 4);
	assert_int_equal(cfg_read(f, 0, 3, 0, PCI_BAR0, 4), 0xc041);
}

/* The owner learns where a BAR decodes when the address or the command enables change. */
static void
bar_callbacks(void **state)
{
	struct fixture *f = *state;
	cfg_write(f, 3, 0, PCI_BAR0, 0xc000, 4);
	assert_int_equal(f->updates, 0); /* I/O decode still disabled */
	cfg_write(f, 3, 0, PCI_COMMAND, PCI_COMMAND_IO, 2);
	assert_int_equal(f->updates, 1);
	assert_int_equal(f->last_bar, 0);
	assert_int_equal(f->last_addr, 0xc000);
	assert_true(f->last_mapped);
	cfg_write(f, 3, 0, PCI_BAR0, 0xc020, 4);
	assert_int_equal(f->updates, 2);
	assert_int_equal(f->last_addr, 0xc020);
	cfg_write(f, 3, 0, PCI_BAR0 + 4, 0xfebf0000, 4);
	cfg_write(f, 3, 0, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
	assert_int_equal(f->updates, 3);
	assert_int_equal(f->last_bar, 1);
	assert_int_equal(f->last_addr, 0xfebf0000);
	cfg_write(f, 3, 0, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	assert_int_equal(f->updates, 4);
	assert_int_equal(f->last_bar, 0);
	assert_false(f->last_mapped);
	/* Reset returns the power-on config space and unmaps. */
	pci_function_reset(&f->fn);
	assert_false(f->fn.bar[1].mapped);
	assert_int_equal(cfg_read(f, 0, 3, 0, PCI_BAR0 + 4, 4), 0x8);
}

/* 6.2.1: header type bit 7 of function 0 announces a multi-function device. */
static void
multifunction_header(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(cfg_read(f, 0, 3, 0, PCI_HEADER_TYPE, 1), 0x80);
	assert_int_equal(cfg_read(f, 0, 3, 2, 0, 4), 0x56791234);
	pci_function_reset(&f->fn);
	assert_int_equal(cfg_read(f, 0, 3, 0, PCI_HEADER_TYPE, 1), 0x80);
}

/* Save/restore round trip of a function and the bus. */
static void
save_restore(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[1024];
	cfg_write(f, 3, 0, PCI_BAR0, 0xc000, 4);
	cfg_write(f, 3, 0, PCI_COMMAND, PCI_COMMAND_IO, 2);
	cfg_read(f, 0, 3, 0, PCI_BAR0, 4); /* CONFIG_ADDRESS selects BAR0 */
	size_t n = pci_function_save(&f->fn, buf, sizeof(buf));
	size_t m = pci_bus_save(&f->bus, buf + n, sizeof(buf) - n);
	assert_true(n + m <= sizeof(buf));
	pci_function_reset(&f->fn);
	pci_bus_reset(&f->bus);
	assert_int_equal(pci_function_restore(&f->fn, buf, n), 0);
	assert_int_equal(pci_bus_restore(&f->bus, buf + n, m), 0);
	assert_true(f->fn.bar[0].mapped); /* restore re-reported every BAR */
	assert_int_equal(f->fn.bar[0].addr, 0xc000);
	assert_int_equal(ioport_read(f->io, 0xcfc, 4), 0xc001);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(absent_function, setup, teardown),
		cmocka_unit_test_setup_teardown(config_address_register, setup, teardown),
		cmocka_unit_test_setup_teardown(byte_and_word_access, setup, teardown),
		cmocka_unit_test_setup_teardown(read_only_and_w1c, setup, teardown),
		cmocka_unit_test_setup_teardown(bar_sizing, setup, teardown),
		cmocka_unit_test_setup_teardown(bar_callbacks, setup, teardown),
		cmocka_unit_test_setup_teardown(multifunction_header, setup, teardown),
		cmocka_unit_test_setup_teardown(save_restore, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
