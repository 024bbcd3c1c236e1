/*
 * Unit tests: the 8254 and port 0x61 (chipset/pit.c), through their ports, on
 * a deterministic clock (1 ns per instruction) so every tick is exact. Section
 * names refer to the Intel 82C54 datasheet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "mmu/ioport.h"
#include "chipset/pit.h"

struct fixture {
	uint64_t icount;
	struct vclock clock;
	struct ioports *io;
	struct pit pit;
	bool irq;
	int rises;
};

static void
set_irq(void *opaque, int n, int level)
{
	(void)n;
	struct fixture *f = opaque;
	if (level && !f->irq)
		f->rises++;
	f->irq = level;
}

static uint8_t
inb(struct fixture *f, uint16_t port)
{
	return (uint8_t)ioport_read(f->io, port, 1);
}

static void
outb(struct fixture *f, uint16_t port, uint8_t v)
{
	ioport_write(f->io, port, v, 1);
}

/* Move the clock to the first nanosecond of PIT tick t. */
static void
at_tick(struct fixture *f, uint64_t t)
{
	f->icount = (t * 1000000000ull + PIT_HZ - 1) / PIT_HZ;
}

/* Program counter n: control word with LSB/MSB access, then the count. */
static void
program(struct fixture *f, unsigned n, unsigned mode, uint16_t count)
{
	outb(f, 0x43, (uint8_t)(n << 6 | 0x30 | mode << 1));
	outb(f, 0x40 + n, (uint8_t)count);
	outb(f, 0x40 + n, (uint8_t)(count >> 8));
}

/* Counter latch command then two reads. */
static uint16_t
latched(struct fixture *f, unsigned n)
{
	outb(f, 0x43, (uint8_t)(n << 6));
	uint16_t v = inb(f, 0x40 + n);
	return (uint16_t)(v | inb(f, 0x40 + n) << 8);
}

/* OUT of counter n through a read-back of its status (bit 7). */
static bool
out_of(struct fixture *f, unsigned n)
{
	outb(f, 0x43, (uint8_t)(0xe0 | 2u << n));
	return inb(f, 0x40 + n) & 0x80;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	vclock_init(&f->clock, VCLOCK_DETERMINISTIC, &f->icount);
	f->io = ioports_create();
	assert_int_equal(pit_init(&f->pit, f->io, &f->clock, IRQ_LINE(set_irq, f, 0)), 0);
	at_tick(f, 1000);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	vtimer_disarm(&f->pit.timer);
	ioports_destroy(f->io);
	vclock_destroy(&f->clock);
	free(f);
	return 0;
}

/*
 * Mode 2: the count is loaded one clock after it is written, counts N..1,
 * OUT is low for the clock at count 1, then the count reloads ("Mode 2").
 * The IRQ0 timer is armed at the next rising edge only.
 */
static void
mode2_reload_and_timing(void **state)
{
	struct fixture *f = *state;
	program(f, 0, 2, 100); /* written at tick 1000, loaded at 1001 */
	at_tick(f, 1001);
	assert_int_equal(latched(f, 0), 100);
	at_tick(f, 1051);
	assert_int_equal(latched(f, 0), 50);
	assert_true(out_of(f, 0));
	at_tick(f, 1100);
	assert_int_equal(latched(f, 0), 1);
	assert_false(out_of(f, 0));
	at_tick(f, 1101);
	assert_int_equal(latched(f, 0), 100);
	assert_true(out_of(f, 0));
	/* One timer, at the next rising edge. */
	f->rises = 0;
	at_tick(f, 1150);
	vclock_run_expired(&f->clock);
	uint64_t next = vclock_next_deadline(&f->clock);
	assert_int_equal(next, (1201 * 1000000000ull + PIT_HZ - 1) / PIT_HZ);
	f->icount = next - 1;
	assert_int_equal(vclock_run_expired(&f->clock), 0);
	f->icount = next;
	assert_int_equal(vclock_run_expired(&f->clock), 1);
	assert_int_equal(f->rises, 1);
	assert_true(f->irq);
}

/*
 * Mode 0: OUT low from the control word; high N+1 clocks after the count is
 * written and stays high; the counter keeps wrapping ("Mode 0").
 */
static void
mode0_terminal_count(void **state)
{
	struct fixture *f = *state;
	program(f, 0, 0, 10);
	assert_false(f->irq);
	at_tick(f, 1010);
	assert_false(out_of(f, 0));
	assert_int_equal(latched(f, 0), 1);
	at_tick(f, 1011);
	assert_true(out_of(f, 0));
	assert_int_equal(latched(f, 0), 0);
	at_tick(f, 1012);
	assert_int_equal(latched(f, 0), 0xffff);
	assert_true(out_of(f, 0));
	/* Writing the first byte of a new count stops it and drops OUT at once. */
	outb(f, 0x40, 5);
	assert_false(out_of(f, 0));
	assert_false(f->irq);
	outb(f, 0x40, 0);
	at_tick(f, 1018);
	assert_true(out_of(f, 0));
}

/* Mode 3: even N: N/2 high, N/2 low; odd N: (N+1)/2 high, (N-1)/2 low ("Mode 3"). */
static void
mode3_square_wave(void **state)
{
	struct fixture *f = *state;
	program(f, 0, 3, 10);
	unsigned high = 0;
	for (uint64_t t = 1001; t < 1011; t++) {
		at_tick(f, t);
		high += out_of(f, 0);
	}
	assert_int_equal(high, 5);
	at_tick(f, 1002);
	assert_int_equal(latched(f, 0), 8); /* decremented by two */
	program(f, 1, 3, 7);
	high = 0;
	for (uint64_t t = 1003; t < 1010; t++) {
		at_tick(f, t);
		high += out_of(f, 1);
	}
	assert_int_equal(high, 4);
	at_tick(f, 1003);
	assert_int_equal(latched(f, 1), 6); /* odd counts load N-1 */
}

/* Mode 1 on counter 2: the GATE rising edge triggers a one-shot low pulse of N clocks. */
static void
mode1_one_shot(void **state)
{
	struct fixture *f = *state;
	program(f, 2, 1, 5);
	assert_true(out_of(f, 2));
	at_tick(f, 1100);
	assert_true(out_of(f, 2)); /* no trigger yet */
	outb(f, 0x61, 0x01);       /* GATE 2 rises at tick 1100 */
	at_tick(f, 1101);
	assert_false(out_of(f, 2));
	assert_int_equal(latched(f, 2), 5);
	at_tick(f, 1105);
	assert_false(out_of(f, 2));
	at_tick(f, 1106);
	assert_true(out_of(f, 2));
	/* Retriggerable. */
	outb(f, 0x61, 0x00);
	outb(f, 0x61, 0x01);
	at_tick(f, 1107);
	assert_false(out_of(f, 2));
}

/* Modes 4 and 5: OUT low for exactly one clock at terminal count. */
static void
mode4_and_5_strobe(void **state)
{
	struct fixture *f = *state;
	program(f, 1, 4, 20);
	at_tick(f, 1020);
	assert_true(out_of(f, 1));
	at_tick(f, 1021);
	assert_false(out_of(f, 1));
	at_tick(f, 1022);
	assert_true(out_of(f, 1));
	program(f, 2, 5, 3);
	outb(f, 0x61, 0x01);
	at_tick(f, 1026);
	assert_false(out_of(f, 2));
	at_tick(f, 1027);
	assert_true(out_of(f, 2));
}

/* Counter latch: the value is frozen until read; a second latch is ignored. */
static void
counter_latch(void **state)
{
	struct fixture *f = *state;
	program(f, 0, 2, 1000);
	at_tick(f, 1101);
	outb(f, 0x43, 0x00);
	at_tick(f, 1201);
	outb(f, 0x43, 0x00); /* ignored: the first latch is unread */
	assert_int_equal(inb(f, 0x40), (900 & 0xff));
	at_tick(f, 1301);
	assert_int_equal(inb(f, 0x40), 900 >> 8);
	/* Live reads follow the counter. */
	uint16_t v = inb(f, 0x40);
	v |= (uint16_t)(inb(f, 0x40) << 8);
	assert_int_equal(v, 700);
}

/* Read-back: status then count; NULL COUNT until the count reaches the CE. */
static void
read_back(void **state)
{
	struct fixture *f = *state;
	outb(f, 0x43, 0xb4); /* counter 2, LSB/MSB, mode 2 */
	outb(f, 0x42, 0x34);
	outb(f, 0x42, 0x12);
	outb(f, 0x61, 0x01);
	outb(f, 0x43, 0xc8);                         /* read-back: count and status of counter 2 */
	assert_int_equal(inb(f, 0x42), 0xc0 | 0x34); /* OUT, NULL COUNT, RW 3, mode 2 */
	assert_int_equal(inb(f, 0x42), 0x34);
	assert_int_equal(inb(f, 0x42), 0x12);
	at_tick(f, 1003);
	outb(f, 0x43, 0xe8); /* status only */
	assert_int_equal(inb(f, 0x42), 0x80 | 0x34);
	outb(f, 0x43, 0xd8); /* count only */
	assert_int_equal(inb(f, 0x42), 0x32);
	assert_int_equal(inb(f, 0x42), 0x12);
}

/* RW 1 and 2: one-byte access to the LSB or the MSB. */
static void
lsb_msb_access(void **state)
{
	struct fixture *f = *state;
	outb(f, 0x43, 0x14); /* counter 0, LSB only, mode 2 */
	outb(f, 0x40, 200);
	at_tick(f, 1051);
	assert_int_equal(inb(f, 0x40), 150);
	assert_int_equal(inb(f, 0x40), 150);
	outb(f, 0x43, 0x64); /* counter 1, MSB only, mode 2 */
	outb(f, 0x41, 0x02); /* count 0x200 */
	at_tick(f, 1052 + 0x100);
	assert_int_equal(inb(f, 0x41), 0x01);
}

/* BCD counting: the count is four decades. */
static void
bcd_count(void **state)
{
	struct fixture *f = *state;
	outb(f, 0x43, 0x35); /* counter 0, LSB/MSB, mode 2, BCD */
	outb(f, 0x40, 0x00);
	outb(f, 0x40, 0x01); /* 100 */
	at_tick(f, 1012);
	assert_int_equal(latched(f, 0), 0x0089);
	at_tick(f, 1100);
	assert_int_equal(latched(f, 0), 0x0001);
	at_tick(f, 1101);
	assert_int_equal(latched(f, 0), 0x0100);
	/* Count 0 is 10000 in BCD. */
	outb(f, 0x43, 0x31);
	outb(f, 0x40, 0);
	outb(f, 0x40, 0);
	at_tick(f, 1102 + 1);
	assert_int_equal(latched(f, 0), 0x9999);
}

/* GATE in modes 2 and 0: low stops counting (mode 2 also forces OUT high). */
static void
gate_controls_counting(void **state)
{
	struct fixture *f = *state;
	outb(f, 0x61, 0x01);
	program(f, 2, 2, 10);
	at_tick(f, 1010);
	assert_false(out_of(f, 2));
	outb(f, 0x61, 0x00);
	assert_true(out_of(f, 2));
	at_tick(f, 1500);
	assert_true(out_of(f, 2));
	outb(f, 0x61, 0x01); /* rising GATE reloads */
	at_tick(f, 1501);
	assert_int_equal(latched(f, 2), 10);
	program(f, 2, 0, 10);
	at_tick(f, 1506);
	outb(f, 0x61, 0x00);
	at_tick(f, 1600);
	assert_int_equal(latched(f, 2), 6); /* loaded at 1502, stopped at 1506 */
	outb(f, 0x61, 0x01);
	at_tick(f, 1605);
	assert_false(out_of(f, 2));
	at_tick(f, 1606);
	assert_true(out_of(f, 2));
}

/* Mode 2: a count written while counting takes over at the end of the period. */
static void
mode2_new_count_next_period(void **state)
{
	struct fixture *f = *state;
	program(f, 0, 2, 100);
	at_tick(f, 1031);
	outb(f, 0x40, 50);
	outb(f, 0x40, 0);
	at_tick(f, 1041);
	assert_int_equal(latched(f, 0), 60); /* the old period goes on */
	at_tick(f, 1101);
	assert_int_equal(latched(f, 0), 50);
	at_tick(f, 1151);
	assert_int_equal(latched(f, 0), 50);
	assert_int_equal(vclock_next_deadline(&f->clock),
			 (1201 * 1000000000ull + PIT_HZ - 1) / PIT_HZ);
}

/* Port 0x61: gate and speaker bits read back, bit 5 is OUT2, bit 4 toggles every 15 us. */
static void
port61(void **state)
{
	struct fixture *f = *state;
	f->icount = 0;
	outb(f, 0x61, 0x03);
	assert_int_equal(inb(f, 0x61) & 0x0f, 0x03);
	uint8_t b = inb(f, 0x61) & 0x10;
	f->icount = 15085;
	assert_int_equal(inb(f, 0x61) & 0x10, b ^ 0x10);
	f->icount = 2 * 15085;
	assert_int_equal(inb(f, 0x61) & 0x10, b);
	outb(f, 0x43, 0xb0); /* counter 2 mode 0 */
	outb(f, 0x42, 100);
	outb(f, 0x42, 0);
	assert_int_equal(inb(f, 0x61) & 0x20, 0);
	f->icount += 200000;
	assert_int_equal(inb(f, 0x61) & 0x20, 0x20);
}

/* Nothing armed while counter 0 is unprogrammed: an idle machine never wakes. */
static void
idle_arms_nothing(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(vclock_next_deadline(&f->clock), VCLOCK_NEVER);
	program(f, 0, 0, 10);
	assert_true(vclock_next_deadline(&f->clock) != VCLOCK_NEVER);
	at_tick(f, 1020);
	vclock_run_expired(&f->clock);
	assert_int_equal(vclock_next_deadline(&f->clock), VCLOCK_NEVER); /* mode 0: once */
}

/* Save and restore: the counter continues from the saved state. */
static void
save_restore(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[1024];
	program(f, 0, 2, 100);
	size_t n = pit_save(&f->pit, buf, sizeof(buf));
	assert_true(n <= sizeof(buf));
	program(f, 0, 2, 7);
	assert_int_equal(pit_restore(&f->pit, buf, n), 0);
	at_tick(f, 1051);
	assert_int_equal(latched(f, 0), 50);
	assert_int_equal(vclock_next_deadline(&f->clock),
			 (1101 * 1000000000ull + PIT_HZ - 1) / PIT_HZ);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(mode2_reload_and_timing, setup, teardown),
		cmocka_unit_test_setup_teardown(mode0_terminal_count, setup, teardown),
		cmocka_unit_test_setup_teardown(mode3_square_wave, setup, teardown),
		cmocka_unit_test_setup_teardown(mode1_one_shot, setup, teardown),
		cmocka_unit_test_setup_teardown(mode4_and_5_strobe, setup, teardown),
		cmocka_unit_test_setup_teardown(counter_latch, setup, teardown),
		cmocka_unit_test_setup_teardown(read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(lsb_msb_access, setup, teardown),
		cmocka_unit_test_setup_teardown(bcd_count, setup, teardown),
		cmocka_unit_test_setup_teardown(gate_controls_counting, setup, teardown),
		cmocka_unit_test_setup_teardown(mode2_new_count_next_period, setup, teardown),
		cmocka_unit_test_setup_teardown(port61, setup, teardown),
		cmocka_unit_test_setup_teardown(idle_arms_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(save_restore, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
