/*
 * Unit tests: the MC146818 RTC and CMOS (chipset/rtc.c), through ports
 * 0x70-0x73, on a deterministic clock (1 ns per instruction). Section names
 * refer to the Motorola MC146818A datasheet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "mmu/ioport.h"
#include "chipset/rtc.h"

#define SEC 1000000000ull
#define START 1709164798 /* 2024-02-28 23:59:58 UTC, a Wednesday */

struct fixture {
	uint64_t icount;
	struct vclock clock;
	struct ioports *io;
	struct rtc rtc;
	bool irq;
};

static void
set_irq(void *opaque, int n, int level)
{
	(void)n;
	struct fixture *f = opaque;
	f->irq = level;
}

static uint8_t
rd(struct fixture *f, uint8_t reg)
{
	ioport_write(f->io, 0x70, reg, 1);
	return (uint8_t)ioport_read(f->io, 0x71, 1);
}

static void
wr(struct fixture *f, uint8_t reg, uint8_t v)
{
	ioport_write(f->io, 0x70, reg, 1);
	ioport_write(f->io, 0x71, v, 1);
}

/* Move the clock and fire what expired. */
static void
at(struct fixture *f, uint64_t ns)
{
	f->icount = ns;
	vclock_run_expired(&f->clock);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	vclock_init(&f->clock, VCLOCK_DETERMINISTIC, &f->icount);
	f->io = ioports_create();
	/* Updates complete at 0.5 s, 1.5 s, ...; periodic edges at multiples of the period. */
	assert_int_equal(
		rtc_init(&f->rtc, f->io, &f->clock, START, SEC / 2, IRQ_LINE(set_irq, f, 8)), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	vtimer_disarm(&f->rtc.timer);
	ioports_destroy(f->io);
	vclock_destroy(&f->clock);
	free(f);
	return 0;
}

/* The time and calendar locations in BCD, 24-hour mode; the century byte. */
static void
initial_time_bcd(void **state)
{
	struct fixture *f = *state;
	static const uint8_t expect[10] = { 0x58, 0, 0x59, 0, 0x23, 0, 4, 0x28, 0x02, 0x24 };
	for (uint8_t r = 0; r < 10; r += (r == 0 || r == 2 || r == 4) ? 2 : 1)
		assert_int_equal(rd(f, r), expect[r]);
	assert_int_equal(rd(f, RTC_CENTURY), 0x20);
	assert_int_equal(rd(f, RTC_REG_D), 0x80); /* VRT */
}

/* Each update cycle adds a second; the calendar knows 2024 is a leap year. */
static void
update_and_leap_day(void **state)
{
	struct fixture *f = *state;
	at(f, SEC / 2 - 1);
	assert_int_equal(rd(f, RTC_SEC), 0x58);
	at(f, SEC / 2);
	assert_int_equal(rd(f, RTC_SEC), 0x59);
	at(f, SEC + SEC / 2);
	assert_int_equal(rd(f, RTC_SEC), 0x00);
	assert_int_equal(rd(f, RTC_MIN), 0x00);
	assert_int_equal(rd(f, RTC_HOUR), 0x00);
	assert_int_equal(rd(f, RTC_DOM), 0x29);
	assert_int_equal(rd(f, RTC_MONTH), 0x02);
	assert_int_equal(rd(f, RTC_DOW), 5);
	at(f, 86401 * SEC + SEC / 2); /* a day later: March 1st */
	assert_int_equal(rd(f, RTC_DOM), 0x01);
	assert_int_equal(rd(f, RTC_MONTH), 0x03);
	assert_int_equal(rd(f, RTC_DOW), 6);
	assert_int_equal(rd(f, RTC_SEC), 0x00);
}

/* Binary and 12-hour formats ("Register B" DM and 24/12): 11:59:59 PM -> 12:00:00 AM. */
static void
binary_12_hour(void **state)
{
	struct fixture *f = *state;
	wr(f, RTC_REG_B, 0x84); /* SET, binary, 12-hour */
	wr(f, RTC_HOUR, 0x80 | 11);
	wr(f, RTC_MIN, 59);
	wr(f, RTC_SEC, 59);
	wr(f, RTC_REG_B, 0x04);
	at(f, SEC / 2);
	assert_int_equal(rd(f, RTC_HOUR), 12);
	assert_int_equal(rd(f, RTC_MIN), 0);
	assert_int_equal(rd(f, RTC_SEC), 0);
	wr(f, RTC_HOUR, 11);
	wr(f, RTC_MIN, 59);
	wr(f, RTC_SEC, 59);
	at(f, SEC + SEC / 2);
	assert_int_equal(rd(f, RTC_HOUR), 0x80 | 12); /* 12 PM, noon */
}

/* UIP: high from 244 us before the update cycle to its end (1984 us at 32.768 kHz). */
static void
uip_window(void **state)
{
	struct fixture *f = *state;
	at(f, SEC / 2 - 2228000 - 1);
	assert_int_equal(rd(f, RTC_REG_A) & 0x80, 0);
	at(f, SEC / 2 - 2228000);
	assert_int_equal(rd(f, RTC_REG_A) & 0x80, 0x80);
	at(f, SEC / 2 - 1);
	assert_int_equal(rd(f, RTC_REG_A), 0xa6);
	wr(f, RTC_REG_B, 0x82); /* SET clears UIP */
	assert_int_equal(rd(f, RTC_REG_A) & 0x80, 0);
	wr(f, RTC_REG_B, 0x02);
	at(f, SEC / 2);
	assert_int_equal(rd(f, RTC_REG_A) & 0x80, 0);
}

/* Every rate of Table 4: PF and IRQ8 exactly once per period; C clears on read. */
static void
periodic_rates(void **state)
{
	struct fixture *f = *state;
	for (unsigned rs = 1; rs < 16; rs++) {
		uint64_t cycles = rs < 3 ? 1u << (rs + 6) : 1u << (rs - 1);
		wr(f, RTC_REG_A, (uint8_t)(0x20 | rs));
		wr(f, RTC_REG_B, 0x42); /* PIE */
		rd(f, RTC_REG_C);
		assert_false(f->irq);
		uint64_t k = f->icount * 32768 / (cycles * SEC) + 1;
		for (int n = 0; n < 3; n++, k++) {
			uint64_t edge = (k * cycles * SEC + 32767) / 32768;
			assert_int_equal(vclock_next_deadline(&f->clock), edge);
			at(f, edge - 1);
			assert_false(f->irq);
			at(f, edge);
			assert_true(f->irq);
			assert_int_equal(rd(f, RTC_REG_C) & 0xc0, 0xc0); /* IRQF, PF */
			assert_false(f->irq);
			assert_int_equal(rd(f, RTC_REG_C), 0);
		}
		/* PF is set at the rate even with PIE off, without IRQF. */
		wr(f, RTC_REG_B, 0x02);
		assert_int_equal(vclock_next_deadline(&f->clock), VCLOCK_NEVER);
		at(f, (k * cycles * SEC + 32767) / 32768);
		assert_int_equal(rd(f, RTC_REG_C) & 0xc0, 0x40);
	}
}

/* Alarm: AF when an update lands on the alarm time; AIE raises IRQ8. */
static void
alarm_interrupt(void **state)
{
	struct fixture *f = *state;
	wr(f, RTC_SEC_ALARM, 0x01);
	wr(f, RTC_MIN_ALARM, 0x00);
	wr(f, RTC_HOUR_ALARM, 0x00);
	wr(f, RTC_REG_B, 0x22); /* AIE */
	at(f, 2 * SEC + SEC / 2 - 1);
	assert_false(f->irq);
	at(f, 2 * SEC + SEC / 2); /* 00:00:01 */
	assert_true(f->irq);
	assert_int_equal(rd(f, RTC_REG_C) & 0xb0, 0xb0); /* IRQF, AF, UF (PF runs at 1024 Hz) */
	at(f, 3 * SEC + SEC / 2);
	assert_false(f->irq);
	/* "Don't care" codes (11xxxxxx) match every second. */
	wr(f, RTC_SEC_ALARM, 0xc0);
	wr(f, RTC_MIN_ALARM, 0xff);
	wr(f, RTC_HOUR_ALARM, 0xc5);
	rd(f, RTC_REG_C);
	at(f, 4 * SEC + SEC / 2);
	assert_true(f->irq);
	assert_int_equal(rd(f, RTC_REG_C) & 0x20, 0x20);
}

/* Update-ended interrupt: UIE raises IRQ8 at the end of each update cycle. */
static void
update_ended_interrupt(void **state)
{
	struct fixture *f = *state;
	wr(f, RTC_REG_B, 0x12);
	assert_int_equal(vclock_next_deadline(&f->clock), SEC / 2);
	at(f, SEC / 2);
	assert_true(f->irq);
	assert_int_equal(rd(f, RTC_REG_C), 0xd0); /* IRQF, UF, and PF: 1024 Hz by default */
	assert_false(f->irq);
	assert_int_equal(vclock_next_deadline(&f->clock), SEC + SEC / 2);
	/* While IRQF is set nothing more is armed. */
	at(f, SEC + SEC / 2);
	assert_true(f->irq);
	assert_int_equal(vclock_next_deadline(&f->clock), VCLOCK_NEVER);
}

/* SET: updates stop, UIE is cleared; clearing SET resumes from the written time. */
static void
set_bit_inhibits_updates(void **state)
{
	struct fixture *f = *state;
	wr(f, RTC_REG_B, 0x12);
	wr(f, RTC_REG_B, 0x92);
	assert_int_equal(rd(f, RTC_REG_B), 0x82);
	wr(f, RTC_SEC, 0x30);
	at(f, 5 * SEC);
	assert_int_equal(rd(f, RTC_SEC), 0x30);
	wr(f, RTC_REG_B, 0x02);
	at(f, 5 * SEC + SEC / 2);
	assert_int_equal(rd(f, RTC_SEC), 0x31);
}

/* Divider reset (DV=11x) stops the clock; leaving it, the first update comes 0.5 s later. */
static void
divider_reset(void **state)
{
	struct fixture *f = *state;
	wr(f, RTC_REG_A, 0x76);
	at(f, 10 * SEC);
	assert_int_equal(rd(f, RTC_SEC), 0x58);
	at(f, 10 * SEC + 123);
	wr(f, RTC_REG_A, 0x26);
	at(f, 10 * SEC + 123 + SEC / 2 - 1);
	assert_int_equal(rd(f, RTC_SEC), 0x58);
	at(f, 10 * SEC + 123 + SEC / 2);
	assert_int_equal(rd(f, RTC_SEC), 0x59);
}

/* Port 0x70 bit 7 masks NMI and is not part of the index; the second bank is apart. */
static void
nmi_mask_and_banks(void **state)
{
	struct fixture *f = *state;
	ioport_write(f->io, 0x70, 0x80 | 0x40, 1);
	assert_true(f->rtc.st.nmi_masked);
	ioport_write(f->io, 0x71, 0x5a, 1);
	assert_int_equal(rd(f, 0x40), 0x5a);
	assert_false(f->rtc.st.nmi_masked);
	ioport_write(f->io, 0x72, 0x40, 1);
	ioport_write(f->io, 0x73, 0xa5, 1);
	assert_int_equal(rd(f, 0x40), 0x5a);
	ioport_write(f->io, 0x72, 0x40, 1);
	assert_int_equal(ioport_read(f->io, 0x73, 1), 0xa5);
	wr(f, 0x7f, 0x11);
	assert_int_equal(rd(f, 0x7f), 0x11);
	wr(f, RTC_REG_D, 0x00); /* read-only */
	assert_int_equal(rd(f, RTC_REG_D), 0x80);
}

/* Save and restore bring back the time and the pending interrupt. */
static void
save_restore(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[1024];
	wr(f, RTC_REG_B, 0x12);
	at(f, SEC / 2);
	size_t n = rtc_save(&f->rtc, buf, sizeof(buf));
	assert_true(n <= sizeof(buf));
	rd(f, RTC_REG_C);
	wr(f, RTC_SEC, 0x00);
	assert_false(f->irq);
	assert_int_equal(rtc_restore(&f->rtc, buf, n), 0);
	assert_true(f->irq);
	assert_int_equal(rd(f, RTC_SEC), 0x59);
	assert_int_equal(rd(f, RTC_REG_C) & 0xb0, 0x90);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(initial_time_bcd, setup, teardown),
		cmocka_unit_test_setup_teardown(update_and_leap_day, setup, teardown),
		cmocka_unit_test_setup_teardown(binary_12_hour, setup, teardown),
		cmocka_unit_test_setup_teardown(uip_window, setup, teardown),
		cmocka_unit_test_setup_teardown(periodic_rates, setup, teardown),
		cmocka_unit_test_setup_teardown(alarm_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(update_ended_interrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(set_bit_inhibits_updates, setup, teardown),
		cmocka_unit_test_setup_teardown(divider_reset, setup, teardown),
		cmocka_unit_test_setup_teardown(nmi_mask_and_banks, setup, teardown),
		cmocka_unit_test_setup_teardown(save_restore, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
