/*
 * Unit tests: the virtual clock and its deadline queue (chipset/timer.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "chipset/timer.h"

static int order[16];
static int nfired;

static void
record(void *opaque)
{
	order[nfired++] = (int)(intptr_t)opaque;
}

/* Deterministic time is the instruction count times ns_per_insn plus skipped idle time. */
static void
deterministic_clock_follows_icount(void **state)
{
	(void)state;
	uint64_t icount = 0;
	struct vclock c;
	vclock_init(&c, VCLOCK_DETERMINISTIC, &icount);
	assert_int_equal(vclock_now(&c), 0);
	icount = 1234;
	assert_int_equal(vclock_now(&c), 1234);
	vclock_skip_to(&c, 5000);
	assert_int_equal(vclock_now(&c), 5000);
	vclock_skip_to(&c, 10); /* never backwards */
	assert_int_equal(vclock_now(&c), 5000);
	vclock_destroy(&c);
}

/* Timers fire in deadline order, only once their deadline has passed. */
static void
timers_fire_in_deadline_order(void **state)
{
	(void)state;
	uint64_t icount = 0;
	struct vclock c;
	struct vtimer t[5];
	static const uint64_t deadlines[5] = { 500, 100, 300, 200, 400 };
	vclock_init(&c, VCLOCK_DETERMINISTIC, &icount);
	nfired = 0;
	for (int k = 0; k < 5; k++) {
		vtimer_init(&t[k], &c, "t", record, (void *)(intptr_t)k);
		vtimer_arm(&t[k], deadlines[k]);
	}
	assert_int_equal(vclock_next_deadline(&c), 100);
	icount = 99;
	assert_int_equal(vclock_run_expired(&c), 0);
	icount = 300;
	assert_int_equal(vclock_run_expired(&c), 3);
	assert_int_equal(order[0], 1);
	assert_int_equal(order[1], 3);
	assert_int_equal(order[2], 2);
	assert_false(vtimer_armed(&t[1]));
	assert_true(vtimer_armed(&t[0]));
	assert_int_equal(vclock_next_deadline(&c), 400);
	icount = 1000;
	assert_int_equal(vclock_run_expired(&c), 2);
	assert_int_equal(vclock_next_deadline(&c), VCLOCK_NEVER);
	vclock_destroy(&c);
}

/* Re-arming moves a timer; disarming removes it wherever it sits in the heap. */
static void
rearm_and_disarm(void **state)
{
	(void)state;
	uint64_t icount = 0;
	struct vclock c;
	struct vtimer t[8];
	vclock_init(&c, VCLOCK_DETERMINISTIC, &icount);
	nfired = 0;
	for (int k = 0; k < 8; k++) {
		vtimer_init(&t[k], &c, "t", record, (void *)(intptr_t)k);
		vtimer_arm(&t[k], 100 * (uint64_t)(k + 1));
	}
	vtimer_arm(&t[7], 50);  /* moves to the front */
	vtimer_arm(&t[0], 750); /* moves back */
	vtimer_disarm(&t[3]);
	vtimer_disarm(&t[3]); /* twice is harmless */
	assert_int_equal(vclock_next_deadline(&c), 50);
	icount = 10000;
	assert_int_equal(vclock_run_expired(&c), 7);
	static const int expect[7] = { 7, 1, 2, 4, 5, 6, 0 };
	for (int k = 0; k < 7; k++)
		assert_int_equal(order[k], expect[k]);
	vclock_destroy(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(deterministic_clock_follows_icount),
		cmocka_unit_test(timers_fire_in_deadline_order),
		cmocka_unit_test(rearm_and_disarm),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
