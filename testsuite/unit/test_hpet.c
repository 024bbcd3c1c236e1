/*
 * Unit tests: the HPET (chipset/hpet.c) through its MMIO block, on a
 * deterministic clock (1 ns per instruction), after the IA-PC HPET
 * specification 1.0a (section numbers below are its).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "chipset/hpet.h"
#include "mmu/physmem.h"

#define GCAP 0x000
#define GCONF 0x010
#define GSTA 0x020
#define COUNT 0x0f0
#define TCONF(n) (0x100 + 0x20 * (n))
#define TCMP(n) (0x108 + 0x20 * (n))

enum { OUT_IRQ0, OUT_IRQ8, OUT_GSI16, OUT_LEGACY = OUT_GSI16 + HPET_ROUTES, NOUT };

struct fixture {
	uint64_t icount;
	struct vclock clock;
	struct physmem *mem;
	struct hpet hpet;
	int level[NOUT], edges[NOUT];
};

static void
set_line(void *opaque, int n, int level)
{
	struct fixture *f = opaque;
	if (level && !f->level[n])
		f->edges[n]++;
	f->level[n] = level;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct hpet_board b = { .irq0 = IRQ_LINE(set_line, f, OUT_IRQ0),
				.irq8 = IRQ_LINE(set_line, f, OUT_IRQ8),
				.legacy = IRQ_LINE(set_line, f, OUT_LEGACY) };
	for (int k = 0; k < HPET_ROUTES; k++)
		b.gsi[k] = IRQ_LINE(set_line, f, OUT_GSI16 + k);
	vclock_init(&f->clock, VCLOCK_DETERMINISTIC, &f->icount);
	f->clock.ns_per_insn = 1;
	f->mem = physmem_create(1u << 20);
	assert_non_null(f->mem);
	assert_int_equal(hpet_init(&f->hpet, f->mem, &f->clock, &b), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	vclock_destroy(&f->clock);
	physmem_destroy(f->mem);
	free(f);
	return 0;
}

static uint64_t
rd(struct fixture *f, unsigned reg, unsigned size)
{
	return physmem_read_sized(f->mem, HPET_BASE + reg, size);
}

static void
wr(struct fixture *f, unsigned reg, uint64_t v, unsigned size)
{
	physmem_write_sized(f->mem, HPET_BASE + reg, v, size);
}

/* Let virtual time reach `ns`, firing the timers due on the way. */
static void
run_to(struct fixture *f, uint64_t ns)
{
	for (;;) {
		uint64_t d = vclock_next_deadline(&f->clock);
		if (d > ns)
			break;
		f->icount = d;
		vclock_run_expired(&f->clock);
	}
	f->icount = ns;
	vclock_run_expired(&f->clock);
}

/* 2.3.4: the capabilities at every access width; the counter halted at 0. */
static void
capabilities_and_halted_counter(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(rd(f, GCAP, 8), 0x009896808086a201ull);
	assert_int_equal(rd(f, GCAP + 1, 1), 0xa2);
	assert_int_equal(rd(f, GCAP + 2, 2), 0x8086);
	assert_int_equal(rd(f, GCAP + 4, 4), HPET_PERIOD_FS);
	assert_int_equal(rd(f, TCONF(1), 8), 0x00ff000000000030ull);
	assert_int_equal(rd(f, TCMP(2), 8), ~0ull);
	f->icount = 12345;
	assert_int_equal(rd(f, COUNT, 8), 0);
	assert_int_equal(rd(f, 0x3f8, 8), 0); /* reserved */
}

/* 2.3.7: one count per 10 ns while ENABLE_CNF is set, exactly; a halted
 * counter keeps its value and takes writes. */
static void
counter_follows_the_clock(void **state)
{
	struct fixture *f = *state;
	f->icount = 1000;
	wr(f, GCONF, 1, 4);
	f->icount = 1000 + 123456789;
	assert_int_equal(rd(f, COUNT, 8), 12345678);
	assert_int_equal(rd(f, COUNT + 4, 4), 0);
	wr(f, GCONF, 0, 4);
	f->icount += 5000;
	assert_int_equal(rd(f, COUNT, 4), 12345678);
	wr(f, COUNT + 4, 0x1, 4);
	assert_int_equal(rd(f, COUNT, 8), 0x100000000ull + 12345678);
	wr(f, GCONF, 1, 4);
	f->icount += 100;
	assert_int_equal(rd(f, COUNT, 8), 0x100000000ull + 12345688);
}

/* 2.3.9.2.1: a one-shot comparator interrupts once, when the counter reaches
 * it, on the route it names (an edge: a pulse), and never again in 64-bit mode. */
static void
one_shot_edge(void **state)
{
	struct fixture *f = *state;
	wr(f, GCONF, 1, 4);
	wr(f, TCMP(2), 500, 8);
	wr(f, TCONF(2), 18 << 9 | 0x4, 4); /* route 18, enabled, edge */
	assert_int_equal(vclock_next_deadline(&f->clock), 5000);
	run_to(f, 4999);
	assert_int_equal(f->edges[OUT_GSI16 + 2], 0);
	run_to(f, 5000);
	assert_int_equal(f->edges[OUT_GSI16 + 2], 1);
	assert_int_equal(f->level[OUT_GSI16 + 2], 0);
	run_to(f, 1000000000);
	assert_int_equal(f->edges[OUT_GSI16 + 2], 1);
	assert_int_equal(rd(f, GSTA, 8), 0); /* edge mode sets no status */
	/* a route outside Tn_INT_ROUTE_CAP goes nowhere */
	wr(f, TCMP(2), rd(f, COUNT, 8) + 10, 8);
	wr(f, TCONF(2), 3 << 9 | 0x4, 4);
	run_to(f, f->icount + 1000);
	for (int k = 0; k < NOUT; k++)
		assert_int_equal(f->edges[k], k == OUT_GSI16 + 2 ? 1 : 0);
}

/* 2.3.9.2.2: periodic, Tn_VAL_SET_CNF then the comparator, then the period
 * alone (32-bit writes, as Linux does): an interrupt every period, the
 * comparator one period ahead after each; legacy replacement puts timer 0 on
 * IRQ0 and tells the board (2.3.5). */
static void
periodic_legacy(void **state)
{
	struct fixture *f = *state;
	wr(f, GCONF, 3, 4);
	assert_int_equal(f->level[OUT_LEGACY], 1);
	wr(f, TCONF(0), 0x14c, 4);
	wr(f, TCMP(0), 10000, 4);
	wr(f, TCMP(0), 10000, 4);
	assert_int_equal(rd(f, TCONF(0), 4) & 0x40, 0); /* VAL_SET clears itself */
	run_to(f, 1000000);                             /* counts 0 .. 100000 */
	assert_int_equal(f->edges[OUT_IRQ0], 10);
	assert_int_equal(rd(f, TCMP(0), 8), 110000);
	/* a late look merges the missed periods; the comparator stays in phase */
	f->icount = 2000500;
	assert_int_equal(rd(f, TCMP(0), 8), 210000);
	assert_int_equal(f->edges[OUT_IRQ0], 11);
	wr(f, GCONF, 1, 4);
	assert_int_equal(f->level[OUT_LEGACY], 0);
}

/* 2.3.9.2.4: a 32-bit one-shot comparator matches again after the counter
 * wraps its low 32 bits. */
static void
thirty_two_bit_wrap(void **state)
{
	struct fixture *f = *state;
	wr(f, COUNT, 0xffffff00ull, 8);
	wr(f, TCONF(1), 16 << 9 | 0x104, 4);
	wr(f, TCMP(1), 0x1234500000010ull, 8);
	assert_int_equal(rd(f, TCMP(1), 8), 0x10);
	wr(f, GCONF, 1, 4);
	run_to(f, 0x110 * 10);
	assert_int_equal(f->edges[OUT_GSI16], 1);
	run_to(f, (0x110 + 0x100000000ull) * 10 - 1);
	assert_int_equal(f->edges[OUT_GSI16], 1);
	run_to(f, (0x110 + 0x100000000ull) * 10);
	assert_int_equal(f->edges[OUT_GSI16], 2);
}

/* 2.3.6: a level-triggered timer sets its Tn_INT_STS and holds its line until
 * software writes 1 to the bit; disabling the counter drops the line. */
static void
level_status(void **state)
{
	struct fixture *f = *state;
	wr(f, GCONF, 3, 4);
	wr(f, TCMP(1), 10, 8);
	wr(f, TCONF(1), 0x6, 4);
	run_to(f, 100);
	assert_int_equal(rd(f, GSTA, 4), 2);
	assert_int_equal(f->level[OUT_IRQ8], 1);
	wr(f, GSTA, 1, 4); /* other bits: no effect */
	assert_int_equal(f->level[OUT_IRQ8], 1);
	wr(f, GSTA, 2, 4);
	assert_int_equal(rd(f, GSTA, 4), 0);
	assert_int_equal(f->level[OUT_IRQ8], 0);
	wr(f, TCMP(1), rd(f, COUNT, 8) + 10, 8);
	run_to(f, f->icount + 100);
	assert_int_equal(f->level[OUT_IRQ8], 1);
	wr(f, GCONF, 0, 4);
	assert_int_equal(f->level[OUT_IRQ8], 0);
}

/* A period of one count does not make the host fire the timer every 10 ns. */
static void
tiny_period_is_bounded(void **state)
{
	struct fixture *f = *state;
	wr(f, GCONF, 1, 4);
	wr(f, TCONF(2), 16 << 9 | 0x4c, 4);
	wr(f, TCMP(2), 1, 8);
	wr(f, TCMP(2), 1, 8);
	unsigned fired = 0;
	while (vclock_next_deadline(&f->clock) <= 1000000 && fired < 1000000) {
		f->icount = vclock_next_deadline(&f->clock);
		fired += vclock_run_expired(&f->clock);
	}
	assert_true(fired <= 101); /* at most one per 10 us */
	assert_true(fired >= 50);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(capabilities_and_halted_counter, setup, teardown),
		cmocka_unit_test_setup_teardown(counter_follows_the_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(one_shot_edge, setup, teardown),
		cmocka_unit_test_setup_teardown(periodic_legacy, setup, teardown),
		cmocka_unit_test_setup_teardown(thirty_two_bit_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(level_status, setup, teardown),
		cmocka_unit_test_setup_teardown(tiny_period_is_bounded, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
