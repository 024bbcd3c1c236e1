/*
 * Unit tests: the 82093AA I/O APIC (chipset/ioapic.c) through IOREGSEL/IOWIN,
 * and the board's routing of the ISA IRQ lines to it. Section numbers refer
 * to the Intel 82093AA datasheet (290566), 3.0 "Register description".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "chipset/ioapic.h"
#include "mmu/ioport.h"
#include "chipset/pc.h"
#include "cpu/cpu.h"
#include "mmu/physmem.h"

#define BASE 0xfec00000u
#define RTE_REMOTE_IRR (1u << 14)
#define RTE_LEVEL (1u << 15)
#define RTE_MASKED (1u << 16)

struct message {
	uint8_t vector;
	unsigned mode;
	bool level;
	uint32_t dest;
	bool logical;
};

struct fixture {
	struct physmem *mem;
	struct ioapic io;
	struct message msg[16];
	int nmsg;
	bool refuse; /* the local APIC does not accept */
};

static bool
deliver(void *opaque, uint8_t vector, unsigned mode, bool level, uint32_t dest, bool logical)
{
	struct fixture *f = opaque;
	if (f->nmsg < 16)
		f->msg[f->nmsg] = (struct message){ vector, mode, level, dest, logical };
	f->nmsg++;
	return !f->refuse;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->mem = physmem_create(1u << 20);
	assert_int_equal(ioapic_init(&f->io, f->mem, deliver, f), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	physmem_destroy(f->mem);
	free(f);
	return 0;
}

static uint32_t
ind(struct physmem *mem, uint32_t base, uint8_t reg)
{
	physmem_write_sized(mem, base, reg, 4);
	return (uint32_t)physmem_read_sized(mem, base + 0x10, 4);
}

static void
outd(struct physmem *mem, uint32_t base, uint8_t reg, uint32_t v)
{
	physmem_write_sized(mem, base, reg, 4);
	physmem_write_sized(mem, base + 0x10, v, 4);
}

static uint32_t
rd(struct fixture *f, uint8_t reg)
{
	return ind(f->mem, BASE, reg);
}

static void
wr(struct fixture *f, uint8_t reg, uint32_t v)
{
	outd(f->mem, BASE, reg, v);
}

/*
 * IOAPICVER (3.2.2): version 0x11, maximum redirection entry 23; IOAPICID
 * bits 27-24 are writable and load the arbitration ID (3.2.1, 3.2.3); every
 * entry is masked after reset (3.2.4); IOREGSEL reads back.
 */
static void
registers(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(rd(f, 0x01), 0x00170011);
	wr(f, 0x00, 0xffffffffu);
	assert_int_equal(rd(f, 0x00), 0x0f000000);
	assert_int_equal(rd(f, 0x02), 0x0f000000);
	for (uint8_t pin = 0; pin < 24; pin++) {
		assert_int_equal(rd(f, (uint8_t)(0x10 + 2 * pin)), RTE_MASKED);
		assert_int_equal(rd(f, (uint8_t)(0x11 + 2 * pin)), 0);
	}
	physmem_write_sized(f->mem, BASE, 0x13, 4);
	assert_int_equal(physmem_read_sized(f->mem, BASE, 4), 0x13);
	/* Read-only Delivery Status and Remote IRR cannot be written. */
	wr(f, 0x10, 0xffffffffu);
	assert_int_equal(rd(f, 0x10), 0x1afff);
	wr(f, 0x11, 0xffffffffu);
	assert_int_equal(rd(f, 0x11), 0xff000000u);
}

/*
 * Edge-triggered pin: one message per rising edge while unmasked, carrying
 * the entry's vector, delivery mode, destination mode and destination
 * (3.2.4); an edge on a masked pin is lost, not held.
 */
static void
edge_and_mask(void **state)
{
	struct fixture *f = *state;
	wr(f, 0x10 + 2 * 4, 0x800 | 0x34); /* logical, fixed, vector 0x34 */
	wr(f, 0x11 + 2 * 4, 0x03000000);
	ioapic_set_irq(&f->io, 4, true);
	ioapic_set_irq(&f->io, 4, true);
	assert_int_equal(f->nmsg, 1);
	assert_int_equal(f->msg[0].vector, 0x34);
	assert_int_equal(f->msg[0].mode, 0);
	assert_false(f->msg[0].level);
	assert_int_equal(f->msg[0].dest, 3);
	assert_true(f->msg[0].logical);
	assert_int_equal(rd(f, 0x10 + 2 * 4) & RTE_REMOTE_IRR, 0); /* edge: no Remote IRR */
	ioapic_set_irq(&f->io, 4, false);
	ioapic_set_irq(&f->io, 4, true);
	assert_int_equal(f->nmsg, 2);
	ioapic_set_irq(&f->io, 4, false);
	wr(f, 0x10 + 2 * 4, RTE_MASKED | 0x34);
	ioapic_set_irq(&f->io, 4, true);
	wr(f, 0x10 + 2 * 4, 0x34);
	assert_int_equal(f->nmsg, 2);
	assert_int_equal(rd(f, 0x10 + 2 * 4) & RTE_REMOTE_IRR, 0);
}

/*
 * Level-triggered pin (3.2.4, Remote IRR): one message while asserted; Remote
 * IRR is set when the local APIC accepts it and cleared by the EOI for its
 * vector, after which a still-asserted input sends again. An EOI for another
 * vector changes nothing; a refused message leaves Remote IRR clear.
 */
static void
level_remote_irr_eoi(void **state)
{
	struct fixture *f = *state;
	wr(f, 0x10 + 2 * 9, RTE_LEVEL | 0x39);
	ioapic_set_irq(&f->io, 9, true);
	assert_int_equal(f->nmsg, 1);
	assert_true(f->msg[0].level);
	assert_true(rd(f, 0x10 + 2 * 9) & RTE_REMOTE_IRR);
	ioapic_set_irq(&f->io, 9, true);
	ioapic_eoi(&f->io, 0x40);
	assert_int_equal(f->nmsg, 1);
	ioapic_eoi(&f->io, 0x39); /* still asserted: sent again */
	assert_int_equal(f->nmsg, 2);
	assert_true(rd(f, 0x10 + 2 * 9) & RTE_REMOTE_IRR);
	ioapic_set_irq(&f->io, 9, false);
	ioapic_eoi(&f->io, 0x39);
	assert_int_equal(f->nmsg, 2);
	assert_int_equal(rd(f, 0x10 + 2 * 9) & RTE_REMOTE_IRR, 0);
	f->refuse = true;
	ioapic_set_irq(&f->io, 9, true);
	assert_int_equal(f->nmsg, 3);
	assert_int_equal(rd(f, 0x10 + 2 * 9) & RTE_REMOTE_IRR, 0);
}

/*
 * Masking a level-triggered pin holds it; unmasking while the input is
 * asserted sends the message then.
 */
static void
level_unmask_sends(void **state)
{
	struct fixture *f = *state;
	wr(f, 0x10 + 2 * 11, RTE_MASKED | RTE_LEVEL | 0x3b);
	ioapic_set_irq(&f->io, 11, true);
	assert_int_equal(f->nmsg, 0);
	wr(f, 0x10 + 2 * 11, RTE_LEVEL | 0x3b);
	assert_int_equal(f->nmsg, 1);
	assert_int_equal(f->msg[0].vector, 0x3b);
	/* Save/restore keeps Remote IRR: nothing is sent again. */
	unsigned char buf[sizeof(f->io.st)];
	assert_int_equal(ioapic_save(&f->io, buf, sizeof(buf)), sizeof(buf));
	ioapic_reset(&f->io);
	assert_int_equal(rd(f, 0x10 + 2 * 11), RTE_MASKED);
	assert_int_equal(ioapic_restore(&f->io, buf, sizeof(buf)), 0);
	assert_int_equal(f->nmsg, 1);
	assert_true(rd(f, 0x10 + 2 * 11) & RTE_REMOTE_IRR);
}

/*
 * The board (MP specification 5.3 default configuration, ACPI MADT override):
 * ISA IRQ0 from the PIT reaches IOAPIC pin 2, IRQ8 (RTC) reaches pin 8; the
 * local APIC receives the programmed vectors; the 8259's INTR is on pin 0.
 */
static void
board_irq0_override(void **state)
{
	(void)state;
	char path[] = "/tmp/fugu-ioapic-biosXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	static uint8_t rom[4096];
	assert_int_equal(write(fd, rom, sizeof(rom)), (ssize_t)sizeof(rom));
	close(fd);
	struct pc_config cfg = { .ram_size = 16u << 20,
				 .bios_path = path,
				 .clock_mode = VCLOCK_DETERMINISTIC };
	char err[256];
	assert_int_equal(cpu_features_parse(&cfg.cpu, "max", err, sizeof(err)), 0);
	struct pc *pc = pc_create(&cfg, err, sizeof(err));
	unlink(path);
	assert_non_null(pc);
	physmem_write_sized(pc->mem, 0xfee000f0, 0x1ff, 4); /* software-enable the LAPIC */
	ioport_write(pc->io, 0x21, 0xff, 1);                /* mask the 8259s: no INTR */
	ioport_write(pc->io, 0xa1, 0xff, 1);
	outd(pc->mem, BASE, 0x10 + 2 * 0, 0x50); /* pin 0 -> 0x50 */
	outd(pc->mem, BASE, 0x10 + 2 * 2, 0x52); /* pin 2 -> 0x52 */
	outd(pc->mem, BASE, 0x10 + 2 * 8, 0x58); /* pin 8 -> 0x58 */
	irq_lower(&pc->pit.irq);
	irq_raise(&pc->pit.irq); /* ISA IRQ0 */
	irq_raise(&pc->rtc.irq); /* ISA IRQ8 */
	uint32_t irr = (uint32_t)physmem_read_sized(pc->mem, 0xfee00200 + 0x20, 4);
	assert_int_equal(irr, 1u << (0x52 - 0x40) | 1u << (0x58 - 0x40));
	assert_true(pc->cpu->events & EV_INTR);
	pc_destroy(pc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(registers, setup, teardown),
		cmocka_unit_test_setup_teardown(edge_and_mask, setup, teardown),
		cmocka_unit_test_setup_teardown(level_remote_irr_eoi, setup, teardown),
		cmocka_unit_test_setup_teardown(level_unmask_sends, setup, teardown),
		cmocka_unit_test(board_irq0_override),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
