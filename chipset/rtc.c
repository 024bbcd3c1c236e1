/*
 * fugu — the MC146818 real-time clock with its CMOS RAM. References are to
 * the Motorola MC146818A datasheet: "Time, calendar and alarm locations",
 * "Update cycle", "Register A" ... "Register D", "Periodic interrupt",
 * Table 4 (periodic interrupt rates) and Figure 16 (update timing).
 *
 * Nothing ticks. The divider's phase is one instant (origin_ns); every
 * update (once a second) and every periodic edge is a computed moment after
 * it. On each access the time registers are brought forward over the update
 * cycles that passed and the flags of register C collected. A vtimer is armed
 * only for the next flag that would raise IRQ8 while IRQ8 is low; once IRQF is
 * set, nothing happens until the guest reads register C.
 *
 * The time registers hold raw bytes in the format register B selected when
 * they were written (BCD or binary, 12 or 24 hour), as the chip does.
 * XXX daylight-saving (DSE) and the square-wave output are not modelled.
 */
#include "chipset/rtc.h"
#include "chipset/state.h"

#include <string.h>

#include "mmu/ioport.h"

#define NS 1000000000ll
#define HALF_NS 500000000ll
#define UIP_NS (244000 + 1984000) /* tBUC before the update + tUC (32.768 kHz) */

#define A_UIP 0x80
#define A_DV 0x70
#define A_RS 0x0f
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_SQWE 0x08
#define B_DM 0x04 /* 1: binary, 0: BCD */
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define D_VRT 0x80

/* floor(a / b) for b > 0. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Whether the divider runs: DV = 010, the 32.768 kHz time base ("Register A"). */
static bool
running(const struct rtc *rtc)
{
	return (rtc->st.cmos[RTC_REG_A] & A_DV) == 0x20;
}

/* Periodic interrupt period in 32.768 kHz cycles (Table 4), 0 when off. */
static uint32_t
period_cycles(const struct rtc *rtc)
{
	unsigned rs = rtc->st.cmos[RTC_REG_A] & A_RS;
	if (rs == 0)
		return 0;
	return rs < 3 ? 1u << (rs + 6) : 1u << (rs - 1);
}

/* Update cycles completed up to time ns (counted from an arbitrary zero). */
static int64_t
updates_at(const struct rtc *rtc, uint64_t ns)
{
	return floor_div((int64_t)ns - rtc->st.origin_ns - HALF_NS, NS);
}

/* The instant the k-th update completes (k as counted by updates_at). */
static uint64_t
update_time(const struct rtc *rtc, int64_t k)
{
	return (uint64_t)(rtc->st.origin_ns + HALF_NS + k * NS);
}

/* Periodic edges up to time ns. */
static int64_t
edges_at(const struct rtc *rtc, uint64_t ns, uint32_t period)
{
	__int128 x = (__int128)((int64_t)ns - rtc->st.origin_ns) * 32768;
	__int128 d = (__int128)NS * period;
	return (int64_t)(x >= 0 ? x / d : -((-x + d - 1) / d));
}

/* The first instant at or after the k-th periodic edge. */
static uint64_t
edge_time(const struct rtc *rtc, int64_t k, uint32_t period)
{
	__int128 x = (__int128)k * period * NS;
	return (uint64_t)(rtc->st.origin_ns + (int64_t)((x + 32767) / 32768));
}

static uint8_t
to_bcd(unsigned v)
{
	return (uint8_t)((v / 10) << 4 | v % 10);
}

static unsigned
from_bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 15);
}

/* A time register's value in binary, per register B's DM bit. */
static unsigned
get_field(const struct rtc *rtc, unsigned reg)
{
	uint8_t v = rtc->st.cmos[reg];
	return (rtc->st.cmos[RTC_REG_B] & B_DM) ? v : from_bcd(v);
}

static uint8_t
encode(const struct rtc *rtc, unsigned v)
{
	return (rtc->st.cmos[RTC_REG_B] & B_DM) ? (uint8_t)v : to_bcd(v);
}

/* The hour register in 0-23, whatever the 12/24 mode ("Hours": bit 7 is PM). */
static unsigned
get_hour(const struct rtc *rtc)
{
	uint8_t raw = rtc->st.cmos[RTC_HOUR];
	if (rtc->st.cmos[RTC_REG_B] & B_24H)
		return get_field(rtc, RTC_HOUR);
	unsigned h = (rtc->st.cmos[RTC_REG_B] & B_DM) ? (raw & 0x7fu) : from_bcd(raw & 0x7f);
	return h % 12 + ((raw & 0x80) ? 12 : 0);
}

static uint8_t
encode_hour(const struct rtc *rtc, unsigned h)
{
	if (rtc->st.cmos[RTC_REG_B] & B_24H)
		return encode(rtc, h);
	unsigned h12 = h % 12 ? h % 12 : 12;
	return (uint8_t)(encode(rtc, h12) | (h >= 12 ? 0x80 : 0));
}

/* Days in a month; leap years are those divisible by four (the chip's rule). */
static unsigned
month_days(unsigned month, unsigned year)
{
	static const uint8_t days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (month == 2 && year % 4 == 0)
		return 29;
	return month >= 1 && month <= 12 ? days[month - 1] : 31;
}

/*
 * Whether the alarm matches the time registers: each alarm byte equals its
 * time byte or is a "don't care" code (11xxxxxx) ("Alarm").
 */
static bool
alarm_matches(const struct rtc *rtc)
{
	static const uint8_t pairs[3][2] = { { RTC_SEC_ALARM, RTC_SEC },
					     { RTC_MIN_ALARM, RTC_MIN },
					     { RTC_HOUR_ALARM, RTC_HOUR } };
	for (unsigned k = 0; k < 3; k++) {
		uint8_t a = rtc->st.cmos[pairs[k][0]];
		if ((a & 0xc0) != 0xc0 && a != rtc->st.cmos[pairs[k][1]])
			return false;
	}
	return true;
}

/*
 * Advance the clock and calendar by `n` seconds, as n update cycles would.
 * Sets UF, and AF when an update lands on the alarm. Beyond two days of
 * updates the alarm is assumed to have matched (every alarm recurs daily).
 */
static void
advance(struct rtc *rtc, uint64_t n)
{
	uint8_t *c = rtc->st.cmos;
	unsigned sec = get_field(rtc, RTC_SEC), min = get_field(rtc, RTC_MIN), hour = get_hour(rtc);
	unsigned dow = get_field(rtc, RTC_DOW), dom = get_field(rtc, RTC_DOM);
	unsigned mon = get_field(rtc, RTC_MONTH), year = get_field(rtc, RTC_YEAR);
	bool walk = n <= 2 * 86400;
	uint64_t days = 0;
	c[RTC_REG_C] |= C_UF;
	if (!walk) {
		uint64_t total = sec + 60ull * min + 3600ull * hour + n;
		days = total / 86400;
		sec = total % 60;
		min = total / 60 % 60;
		hour = total / 3600 % 24;
		c[RTC_REG_C] |= C_AF;
	}
	for (uint64_t k = 0; walk ? k < n : k < days; k++) {
		if (walk) {
			if (++sec < 60)
				goto check;
			sec = 0;
			if (++min < 60)
				goto check;
			min = 0;
			if (++hour < 24)
				goto check;
			hour = 0;
		}
		dow = dow % 7 + 1;
		if (++dom > month_days(mon, year)) {
			dom = 1;
			if (++mon > 12) {
				mon = 1;
				if (++year > 99) {
					/* The PC keeps the century in CMOS; carry into it. */
					year = 0;
					c[RTC_CENTURY] =
						to_bcd((from_bcd(c[RTC_CENTURY]) + 1) % 100);
				}
			}
		}
	check:
		if (walk) {
			c[RTC_SEC] = encode(rtc, sec);
			c[RTC_MIN] = encode(rtc, min);
			c[RTC_HOUR] = encode_hour(rtc, hour);
			if (alarm_matches(rtc))
				c[RTC_REG_C] |= C_AF;
		}
	}
	c[RTC_SEC] = encode(rtc, sec);
	c[RTC_MIN] = encode(rtc, min);
	c[RTC_HOUR] = encode_hour(rtc, hour);
	c[RTC_DOW] = encode(rtc, dow);
	c[RTC_DOM] = encode(rtc, dom);
	c[RTC_MONTH] = encode(rtc, mon);
	c[RTC_YEAR] = encode(rtc, year);
}

/*
 * Bring the registers up to virtual time `now`: the update cycles and periodic
 * edges since last_ns, then IRQF ("Register C": IRQF = PF.PIE + AF.AIE + UF.UIE).
 */
static void
catch_up(struct rtc *rtc, uint64_t now)
{
	uint8_t *c = rtc->st.cmos;
	if (now > rtc->st.last_ns && running(rtc)) {
		int64_t n = updates_at(rtc, now) - updates_at(rtc, rtc->st.last_ns);
		if (n > 0 && !(c[RTC_REG_B] & B_SET))
			advance(rtc, (uint64_t)n);
		uint32_t p = period_cycles(rtc);
		if (p && edges_at(rtc, now, p) > edges_at(rtc, rtc->st.last_ns, p))
			c[RTC_REG_C] |= C_PF;
	}
	if (now > rtc->st.last_ns)
		rtc->st.last_ns = now;
	if (c[RTC_REG_C] & c[RTC_REG_B] & (C_PF | C_AF | C_UF))
		c[RTC_REG_C] |= C_IRQF;
}

/*
 * Drive IRQ8 from IRQF and arm the timer for the next flag that would set it.
 */
static void
update_irq(struct rtc *rtc, uint64_t now)
{
	uint8_t *c = rtc->st.cmos;
	bool irq = c[RTC_REG_C] & C_IRQF;
	if (irq != rtc->st.irq) {
		rtc->st.irq = irq;
		irq_set(&rtc->irq, irq);
	}
	uint64_t next = VCLOCK_NEVER;
	if (!irq && running(rtc)) {
		uint32_t p = period_cycles(rtc);
		if ((c[RTC_REG_B] & B_PIE) && p)
			next = edge_time(rtc, edges_at(rtc, now, p) + 1, p);
		if ((c[RTC_REG_B] & (B_AIE | B_UIE)) && !(c[RTC_REG_B] & B_SET)) {
			uint64_t u = update_time(rtc, updates_at(rtc, now) + 1);
			if (u < next)
				next = u;
		}
	}
	vtimer_arm(&rtc->timer, next);
}

static void
rtc_timer(void *opaque)
{
	struct rtc *rtc = opaque;
	uint64_t now = vclock_now(rtc->clock);
	catch_up(rtc, now);
	update_irq(rtc, now);
}

/*
 * UIP ("Register A", Figure 16): set from 244 us before an update cycle to
 * its end, while the divider runs and SET is clear.
 */
static bool
uip(const struct rtc *rtc, uint64_t now)
{
	if (!running(rtc) || (rtc->st.cmos[RTC_REG_B] & B_SET))
		return false;
	return update_time(rtc, updates_at(rtc, now) + 1) - now <= UIP_NS;
}

static uint8_t
reg_read(struct rtc *rtc, unsigned index, uint64_t now)
{
	uint8_t *c = rtc->st.cmos;
	uint8_t v;
	switch (index) {
	case RTC_REG_A: return (uint8_t)((c[RTC_REG_A] & ~A_UIP) | (uip(rtc, now) ? A_UIP : 0));
	case RTC_REG_C: /* read clears every flag and IRQF, releasing IRQ8 */
		v = c[RTC_REG_C];
		c[RTC_REG_C] = 0;
		update_irq(rtc, now);
		return v;
	case RTC_REG_D: /* VRT: the battery is always good */ return D_VRT;
	default: return c[index];
	}
}

static void
reg_write(struct rtc *rtc, unsigned index, uint8_t v, uint64_t now)
{
	uint8_t *c = rtc->st.cmos;
	switch (index) {
	case RTC_REG_A:
		/* Leaving divider reset: the first update comes half a second later. */
		if ((v & A_DV) == 0x20 && !running(rtc))
			rtc->st.origin_ns = (int64_t)now;
		c[RTC_REG_A] = v & (uint8_t)~A_UIP;
		break;
	case RTC_REG_B:
		if (v & B_SET)
			v &= (uint8_t)~B_UIE; /* SET clears UIE ("Register B") */
		c[RTC_REG_B] = v;
		break;
	case RTC_REG_C:
	case RTC_REG_D: break; /* read-only */
	default: c[index] = v; break;
	}
	if (c[RTC_REG_C] & c[RTC_REG_B] & (C_PF | C_AF | C_UF))
		c[RTC_REG_C] |= C_IRQF;
	update_irq(rtc, now);
}

static uint32_t
rtc_read(void *opaque, uint16_t port, unsigned size)
{
	struct rtc *rtc = opaque;
	(void)size;
	if (!(port & 1))
		return 0xff; /* the index registers are write-only */
	if (port & 2)
		return rtc->st.cmos[128 + rtc->st.index[1]];
	uint64_t now = vclock_now(rtc->clock);
	catch_up(rtc, now);
	return reg_read(rtc, rtc->st.index[0], now);
}

static void
rtc_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct rtc *rtc = opaque;
	uint8_t v = (uint8_t)value;
	(void)size;
	if (!(port & 1)) {
		rtc->st.index[(port >> 1) & 1] = v & 0x7f;
		if (!(port & 2))
			rtc->st.nmi_masked = v & 0x80;
		return;
	}
	if (port & 2) {
		rtc->st.cmos[128 + rtc->st.index[1]] = v;
		return;
	}
	uint64_t now = vclock_now(rtc->clock);
	catch_up(rtc, now);
	reg_write(rtc, rtc->st.index[0], v, now);
}

/*
 * Set the time registers from seconds since 1970-01-01 UTC (in the
 * register B format), and the century byte.
 */
static void
set_time(struct rtc *rtc, int64_t epoch)
{
	uint8_t *c = rtc->st.cmos;
	int64_t days = floor_div(epoch, 86400), secs = epoch - days * 86400;
	/* Civil date from a day count (proleptic Gregorian). */
	int64_t z = days + 719468, era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	unsigned dom = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	unsigned mon = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	int64_t year = yoe + era * 400 + (mon <= 2);
	c[RTC_SEC] = encode(rtc, (unsigned)(secs % 60));
	c[RTC_MIN] = encode(rtc, (unsigned)(secs / 60 % 60));
	c[RTC_HOUR] = encode_hour(rtc, (unsigned)(secs / 3600));
	c[RTC_DOW] = encode(rtc, (unsigned)(days + 4 - floor_div(days + 4, 7) * 7) +
					 1); /* 1970-01-01: Thu */
	c[RTC_DOM] = encode(rtc, dom);
	c[RTC_MONTH] = encode(rtc, mon);
	c[RTC_YEAR] = encode(rtc, (unsigned)(year % 100));
	c[RTC_CENTURY] = to_bcd((unsigned)(year / 100 % 100));
}

int
rtc_init(struct rtc *rtc, struct ioports *io, struct vclock *clock, int64_t epoch,
	 uint64_t phase_ns, struct irq_line irq)
{
	memset(rtc, 0, sizeof(*rtc));
	rtc->clock = clock;
	rtc->irq = irq;
	vtimer_init(&rtc->timer, clock, "rtc", rtc_timer, rtc);
	uint64_t now = vclock_now(clock);
	/* Battery-backed defaults as a BIOS leaves them: 32.768 kHz divider,
	 * 1024 Hz rate, 24-hour BCD. */
	rtc->st.cmos[RTC_REG_A] = 0x26;
	rtc->st.cmos[RTC_REG_B] = B_24H;
	rtc->st.cmos[RTC_REG_D] = D_VRT;
	rtc->st.origin_ns = (int64_t)now + (int64_t)(phase_ns % NS) - HALF_NS;
	rtc->st.last_ns = now;
	set_time(rtc, epoch);
	if (ioports_register(io, 0x70, 4, "rtc", rtc_read, rtc_write, rtc, 0))
		return -1;
	return 0;
}

void
rtc_reset(struct rtc *rtc)
{
	uint64_t now = vclock_now(rtc->clock);
	catch_up(rtc, now);
	rtc->st.cmos[RTC_REG_B] &= (uint8_t) ~(B_PIE | B_AIE | B_UIE | B_SQWE);
	rtc->st.cmos[RTC_REG_C] = 0;
	rtc->st.nmi_masked = false;
	update_irq(rtc, now);
}

void
rtc_cmos_set(struct rtc *rtc, unsigned index, uint8_t value)
{
	rtc->st.cmos[index & 0xff] = value;
}

uint8_t
rtc_cmos_get(struct rtc *rtc, unsigned index)
{
	return rtc->st.cmos[index & 0xff];
}

size_t
rtc_save(const struct rtc *rtc, void *buf, size_t len)
{
	return state_save(&rtc->st, sizeof(rtc->st), buf, len);
}

/* The bools of struct rtc_state (chipset/state.h). */
static const size_t STATE_KEEP rtc_bools[] = { offsetof(struct rtc_state, nmi_masked),
					       offsetof(struct rtc_state, irq) };

/* The limits of struct rtc_state (chipset/state.h): the index registers at
 * 0x70 and 0x72 hold 7 bits (bit 7 of 0x70 is the NMI mask, kept apart), as
 * a port write stores them; bank 1 is cmos[128 + index[1]]. The divider's
 * phase (signed: it may precede time 0) and the instant the registers are
 * current as of lie within the clock's range, so the signed arithmetic on
 * them cannot overflow. */
static const struct state_limit rtc_limits[] = {
	STATE_MASK(struct rtc_state, index[0], 0x7f),
	STATE_MASK(struct rtc_state, index[1], 0x7f),
	STATE_ABS_MAX(struct rtc_state, origin_ns, VCLOCK_TIME_LIMIT_NS),
	STATE_MAX(struct rtc_state, last_ns, VCLOCK_TIME_LIMIT_NS),
};

int
rtc_check(const struct rtc *rtc, const void *buf, size_t len, char *err, size_t errlen)
{
	(void)rtc;
	return state_check(buf, len, STATE_LIMITS(rtc_limits), "", err, errlen);
}

int
rtc_restore(struct rtc *rtc, const void *buf, size_t len)
{
	if (state_restore(&rtc->st, sizeof(rtc->st), buf, len, STATE_BOOLS(rtc_bools),
			  STATE_LIMITS(rtc_limits)) < 0)
		return -1;
	rtc->st.irq = !rtc->st.irq; /* force the line to be driven again */
	update_irq(rtc, vclock_now(rtc->clock));
	return 0;
}
