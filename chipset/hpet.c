/*
 * fugu — the HPET, after the IA-PC HPET (High Precision Event Timers)
 * Specification 1.0a (Intel, 2004); section numbers below are its.
 *
 * Nothing ticks. The main counter is computed from the virtual clock (one
 * count per 10 ns, so it is exact in -clock deterministic); each comparator
 * keeps the counter value of its next match (`next`) and arms a vtimer for it
 * only while a match would interrupt. A match is acted on when its vtimer
 * fires or when a register access finds it passed, whichever comes first, so
 * a register read always sees the comparator and status a real HPET would.
 *
 * Capabilities (2.3.4, 2.3.8): revision 1, three 64-bit comparators, all
 * periodic-capable, legacy replacement capable, vendor 8086h (SeaBIOS's ACPI
 * HPET table names the block 8086A201h), routable to IOAPIC pins 16-23; FSB
 * (MSI) delivery is not offered (Tn_FSB_INT_DEL_CAP = 0).
 */
#include "chipset/hpet.h"

#include <string.h>

#include "chipset/state.h"
#include "mmu/physmem.h"

/* Register offsets (2.3.1, table 3). */
#define GCAP_ID 0x000
#define GEN_CONF 0x010
#define GINTR_STA 0x020
#define MAIN_CNT 0x0f0
#define TN_FIRST 0x100 /* timer n at 0x100 + 0x20 * n: CONF, COMPARATOR, FSB route */
#define TN_STRIDE 0x20
#define TN_CONF 0x00
#define TN_CMP 0x08
#define TN_FSB 0x10
#define HPET_REG_SIZE 0x400

/* GEN_CONF (2.3.5) */
#define ENABLE_CNF 0x1
#define LEG_RT_CNF 0x2

/* Tn_CONF (2.3.8) */
#define TN_INT_TYPE_LEVEL 0x2
#define TN_INT_ENB 0x4
#define TN_TYPE_PERIODIC 0x8
#define TN_PER_INT_CAP 0x10
#define TN_SIZE_CAP 0x20
#define TN_VAL_SET 0x40
#define TN_32MODE 0x100
#define TN_ROUTE_SHIFT 9
#define TN_ROUTE_MASK 0x1f
#define TN_WRITABLE                                                                                \
	(TN_INT_TYPE_LEVEL | TN_INT_ENB | TN_TYPE_PERIODIC | TN_VAL_SET | TN_32MODE |              \
	 (TN_ROUTE_MASK << TN_ROUTE_SHIFT))
#define TN_ROUTE_CAP (((1ull << HPET_ROUTES) - 1) << HPET_ROUTE_FIRST)

#define NEVER UINT64_MAX
/*
 * XXX: the soonest a comparator's vtimer is re-armed after it fired. A
 * periodic comparator with a tiny period would otherwise wake the host every
 * few nanoseconds of virtual time; matches in between are merged into one
 * interrupt (as a late interrupt would be on hardware).
 */
#define HPET_MIN_REARM_NS 10000

static bool
enabled(const struct hpet *h)
{
	return h->st.config & ENABLE_CNF;
}

/* The main counter now (2.3.7): halted, or counting since base_ns. */
static uint64_t
counter_now(const struct hpet *h, uint64_t now)
{
	if (!enabled(h) || now < h->st.base_ns)
		return h->st.counter;
	return h->st.counter + (now - h->st.base_ns) / HPET_PERIOD_NS;
}

/* The bits a comparator compares: 32 in 32-bit mode (Tn_32MODE_CNF). */
static uint64_t
width_mask(const struct hpet_timer_state *t)
{
	return (t->config & TN_32MODE) ? 0xffffffffull : ~0ull;
}

/* The first main-counter value >= from whose compared bits equal the comparator. */
static uint64_t
next_match(const struct hpet_timer_state *t, uint64_t from)
{
	uint64_t delta = (t->cmp - from) & width_mask(t);
	return delta >= NEVER - from ? NEVER : from + delta; /* past 2^64: never */
}

/* Which output timer n drives: 0 IRQ0, 1 IRQ8, 2 + k IOAPIC pin 16 + k, or -1.
 * Legacy replacement (2.3.5, LEG_RT_CNF) takes timers 0 and 1 over. */
static int
timer_output(const struct hpet *h, unsigned n)
{
	if ((h->st.config & LEG_RT_CNF) && n < 2)
		return (int)n;
	unsigned route = (unsigned)(h->st.t[n].config >> TN_ROUTE_SHIFT) & TN_ROUTE_MASK;
	if (route < HPET_ROUTE_FIRST || route >= HPET_ROUTE_FIRST + HPET_ROUTES)
		return -1; /* not in Tn_INT_ROUTE_CAP: the interrupt goes nowhere */
	return (int)(2 + route - HPET_ROUTE_FIRST);
}

static const struct irq_line *
output_line(const struct hpet *h, int k)
{
	return k == 0 ? &h->board.irq0 : k == 1 ? &h->board.irq8 : &h->board.gsi[k - 2];
}

/*
 * Drive the outputs level-triggered timers hold: high while the timer's
 * Tn_INT_STS is set, its interrupt enabled and the counter enabled (2.3.6).
 */
static void
drive_lines(struct hpet *h)
{
	uint32_t want = 0;
	for (unsigned n = 0; n < HPET_TIMERS && enabled(h); n++) {
		const struct hpet_timer_state *t = &h->st.t[n];
		int k = timer_output(h, n);
		if (k >= 0 && (h->st.isr >> n & 1) && (t->config & TN_INT_TYPE_LEVEL) &&
		    (t->config & TN_INT_ENB))
			want |= 1u << k;
	}
	uint32_t changed = want ^ h->st.lines;
	h->st.lines = want;
	for (int k = 0; k < 2 + HPET_ROUTES; k++)
		if (changed >> k & 1)
			irq_set(output_line(h, k), want >> k & 1);
}

/* Timer n's comparator matched: a level interrupt sets Tn_INT_STS and holds its
 * line; an edge interrupt is a pulse (2.3.6, 2.3.9.1). */
static void
timer_interrupt(struct hpet *h, unsigned n)
{
	const struct hpet_timer_state *t = &h->st.t[n];
	if (!(t->config & TN_INT_ENB))
		return;
	if (t->config & TN_INT_TYPE_LEVEL) {
		h->st.isr |= 1ull << n;
		drive_lines(h);
		return;
	}
	int k = timer_output(h, n);
	if (k >= 0 && !(h->st.lines >> k & 1))
		irq_pulse(output_line(h, k));
}

/*
 * Act on timer n's match if the counter has reached it. A periodic timer's
 * comparator then advances by the last value written (2.3.9.2.2), past the
 * counter if several periods went by; a one-shot comparator stays and matches
 * again when a 32-bit counter wraps (2.3.9.2.1), never in 64-bit mode.
 */
static bool
timer_sync(struct hpet *h, unsigned n, uint64_t cur)
{
	struct hpet_timer_state *t = &h->st.t[n];
	if (!enabled(h) || t->next == NEVER || t->next > cur)
		return false;
	timer_interrupt(h, n);
	uint64_t m = width_mask(t), p = t->period & m;
	if ((t->config & TN_TYPE_PERIODIC) && p) {
		unsigned __int128 nx = (unsigned __int128)t->next + p;
		if (nx <= cur)
			nx += ((cur - (uint64_t)nx) / p + 1) * (unsigned __int128)p;
		t->next = nx >= NEVER ? NEVER : (uint64_t)nx;
		t->cmp = (uint64_t)nx & m;
	} else {
		t->next = next_match(t, t->next + 1);
	}
	return true;
}

/* Arm timer n's vtimer for its next match, no sooner than min_ns from now;
 * not at all when a match would not interrupt. */
static void
timer_arm(struct hpet *h, unsigned n, uint64_t now, uint64_t min_ns)
{
	const struct hpet_timer_state *t = &h->st.t[n];
	if (!enabled(h) || !(t->config & TN_INT_ENB) || t->next == NEVER ||
	    t->next < h->st.counter) {
		vtimer_disarm(&h->timer[n]);
		return;
	}
	unsigned __int128 d =
		(unsigned __int128)(t->next - h->st.counter) * HPET_PERIOD_NS + h->st.base_ns;
	if (d < (unsigned __int128)now + min_ns)
		d = (unsigned __int128)now + min_ns;
	if (d >= NEVER)
		vtimer_disarm(&h->timer[n]);
	else
		vtimer_arm(&h->timer[n], (uint64_t)d);
}

/* Bring every comparator up to the counter (re-arming those that matched);
 * the counter's value. */
static uint64_t
sync_all(struct hpet *h, uint64_t now)
{
	uint64_t cur = counter_now(h, now);
	for (unsigned n = 0; n < HPET_TIMERS; n++)
		if (timer_sync(h, n, cur))
			timer_arm(h, n, now, 0);
	return cur;
}

static void
arm_all(struct hpet *h, uint64_t now)
{
	for (unsigned n = 0; n < HPET_TIMERS; n++)
		timer_arm(h, n, now, 0);
}

/* The comparators' next matches from counter value cur (after a change of the
 * counter, its enable, or a comparator). */
static void
rematch_all(struct hpet *h, uint64_t cur)
{
	for (unsigned n = 0; n < HPET_TIMERS; n++)
		h->st.t[n].next = next_match(&h->st.t[n], cur);
}

static void
timer_expired(void *opaque)
{
	const struct hpet_ref *r = opaque;
	struct hpet *h = r->h;
	uint64_t now = vclock_now(h->clock);
	timer_sync(h, r->n, counter_now(h, now));
	timer_arm(h, r->n, now, HPET_MIN_REARM_NS);
}

/* The 64-bit register at offset reg (8-aligned) as read now. */
static uint64_t
reg_read(struct hpet *h, unsigned reg)
{
	uint64_t cur = sync_all(h, vclock_now(h->clock));
	switch (reg) {
	case GCAP_ID: /* 2.3.4: period, vendor, LEG_RT_CAP, COUNT_SIZE_CAP, NUM_TIM_CAP, REV_ID */
		return (uint64_t)HPET_PERIOD_FS << 32 | 0x8086u << 16 | 1u << 15 | 1u << 13 |
		       (HPET_TIMERS - 1) << 8 | 1u;
	case GEN_CONF: return h->st.config;
	case GINTR_STA: return h->st.isr;
	case MAIN_CNT: return cur;
	}
	if (reg < TN_FIRST || reg >= TN_FIRST + HPET_TIMERS * TN_STRIDE)
		return 0; /* reserved */
	const struct hpet_timer_state *t = &h->st.t[(reg - TN_FIRST) / TN_STRIDE];
	switch ((reg - TN_FIRST) % TN_STRIDE) {
	case TN_CONF: return t->config | TN_PER_INT_CAP | TN_SIZE_CAP | TN_ROUTE_CAP << 32;
	case TN_CMP: return t->cmp;
	case TN_FSB: return t->fsb;
	}
	return 0;
}

/* Write the bits `mask` of the 64-bit register at reg (8-aligned) with val. */
static void
reg_write(struct hpet *h, unsigned reg, uint64_t val, uint64_t mask)
{
	uint64_t now = vclock_now(h->clock);
	uint64_t cur = sync_all(h, now);
	if (reg == GEN_CONF) {
		uint64_t old = h->st.config;
		h->st.config = ((old & ~mask) | (val & mask)) & (ENABLE_CNF | LEG_RT_CNF);
		if (!(old & ENABLE_CNF) && enabled(h)) {
			h->st.base_ns = now; /* the counter runs on from its halted value */
			rematch_all(h, h->st.counter);
		} else if ((old & ENABLE_CNF) && !enabled(h)) {
			h->st.counter = cur; /* halted: no timer interrupts (2.3.5) */
		}
		if ((old ^ h->st.config) & LEG_RT_CNF)
			irq_set(&h->board.legacy, h->st.config & LEG_RT_CNF);
		drive_lines(h);
	} else if (reg == GINTR_STA) {
		h->st.isr &= ~(val & mask); /* write 1 to clear (2.3.6) */
		drive_lines(h);
	} else if (reg == MAIN_CNT) {
		h->st.counter = (cur & ~mask) | (val & mask);
		h->st.base_ns = now;
		rematch_all(h, h->st.counter);
	} else if (reg >= TN_FIRST && reg < TN_FIRST + HPET_TIMERS * TN_STRIDE) {
		unsigned n = (reg - TN_FIRST) / TN_STRIDE;
		struct hpet_timer_state *t = &h->st.t[n];
		switch ((reg - TN_FIRST) % TN_STRIDE) {
		case TN_CONF:
			t->config = ((t->config & ~mask) | (val & mask)) & TN_WRITABLE;
			if (!(t->config & TN_INT_TYPE_LEVEL))
				h->st.isr &= ~(1ull << n); /* edge mode has no status */
			break;
		case TN_CMP:
			/* Periodic: a write sets the accumulator's increment, and the
			 * comparator too only right after Tn_VAL_SET_CNF (2.3.9.2.2). */
			if (!(t->config & TN_TYPE_PERIODIC) || (t->config & TN_VAL_SET))
				t->cmp = (t->cmp & ~mask) | (val & mask);
			if (t->config & TN_TYPE_PERIODIC)
				t->period = (t->period & ~mask) | (val & mask);
			t->config &= ~(uint64_t)TN_VAL_SET;
			break;
		case TN_FSB: t->fsb = (t->fsb & ~mask) | (val & mask); break;
		}
		/* 32-bit mode compares and accumulates 32 bits (2.3.9.2.4). */
		t->cmp &= width_mask(t);
		t->period &= width_mask(t);
		t->next = next_match(t, cur);
		drive_lines(h);
	}
	arm_all(h, now);
}

/* Accesses of any width: the bytes of the 64-bit register they fall in. */
static uint64_t
hpet_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	if (offset >= HPET_REG_SIZE)
		return 0;
	uint64_t v = reg_read(opaque, (unsigned)offset & ~7u) >> (8 * (offset & 7));
	return size >= 8 ? v : v & ((1ull << (8 * size)) - 1);
}

static void
hpet_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	if (offset >= HPET_REG_SIZE)
		return;
	unsigned shift = 8 * (unsigned)(offset & 7);
	uint64_t mask = (size >= 8 ? ~0ull : (1ull << (8 * size)) - 1) << shift;
	reg_write(opaque, (unsigned)offset & ~7u, value << shift, mask);
}

static const struct mmio_ops hpet_ops = { .read = hpet_mmio_read, .write = hpet_mmio_write };

int
hpet_init(struct hpet *h, struct physmem *mem, struct vclock *clock, const struct hpet_board *board)
{
	h->board = *board;
	h->clock = clock;
	for (unsigned n = 0; n < HPET_TIMERS; n++) {
		h->ref[n] = (struct hpet_ref){ h, n };
		vtimer_init(&h->timer[n], clock, "hpet", timer_expired, &h->ref[n]);
	}
	memset(&h->st, 0, sizeof(h->st));
	hpet_reset(h);
	h->region = physmem_add_mmio(mem, "hpet", HPET_BASE, PAGE_SIZE, &hpet_ops, h);
	return h->region < 0 ? -1 : 0;
}

void
hpet_reset(struct hpet *h)
{
	bool legacy = h->st.config & LEG_RT_CNF;
	h->st.config = 0;
	drive_lines(h); /* every line low */
	if (legacy)
		irq_lower(&h->board.legacy);
	memset(&h->st, 0, sizeof(h->st));
	for (unsigned n = 0; n < HPET_TIMERS; n++) {
		h->st.t[n].cmp = ~0ull; /* comparators reset to all ones (2.3.9.2) */
		h->st.t[n].next = NEVER;
		vtimer_disarm(&h->timer[n]);
	}
}

size_t
hpet_save(const struct hpet *h, void *buf, size_t len)
{
	return state_save(&h->st, sizeof(h->st), buf, len);
}

/* The limits of struct hpet_state (chipset/state.h): the instant the running
 * counter had `counter` lies within the clock's range. Nothing indexes: a
 * timer's Tn_INT_ROUTE_CNF is checked against Tn_INT_ROUTE_CAP where it is
 * used, and the counter and comparators are 64-bit values the guest can write. */
static const struct state_limit hpet_limits[] = {
	STATE_MAX(struct hpet_state, base_ns, VCLOCK_TIME_LIMIT_NS),
};

int
hpet_check(const struct hpet *h, const void *buf, size_t len, char *err, size_t errlen)
{
	(void)h;
	return state_check(buf, len, STATE_LIMITS(hpet_limits), "", err, errlen);
}

int
hpet_restore(struct hpet *h, const void *buf, size_t len)
{
	uint32_t lines = h->st.lines;
	bool legacy = h->st.config & LEG_RT_CNF;
	if (state_restore(&h->st, sizeof(h->st), buf, len, STATE_NO_BOOLS,
			  STATE_LIMITS(hpet_limits)) < 0)
		return -1;
	if (legacy != !!(h->st.config & LEG_RT_CNF))
		irq_set(&h->board.legacy, h->st.config & LEG_RT_CNF);
	h->st.lines = lines; /* what the lines are now: drive_lines changes the rest */
	drive_lines(h);
	arm_all(h, vclock_now(h->clock));
	return 0;
}
