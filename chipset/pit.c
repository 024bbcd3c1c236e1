/*
 * fugu — the 8254 programmable interval timer. References are to the Intel
 * 82C54 datasheet (order number 231244): "Mode 0" ... "Mode 5", "Read
 * operations", "Read-back command", "Status byte" and Table 5 (GATE).
 *
 * Nothing ticks. Each counter remembers the clock tick at which its counting
 * element (CE) was loaded; its count and OUT level at any moment are computed
 * from the virtual clock. Counter 0 drives IRQ0: one vtimer is armed at its
 * next rising OUT edge, and nothing else. Counter 2's GATE and OUT are wired
 * to port 0x61, with the speaker enable and the refresh toggle.
 */
#include "chipset/pit.h"
#include "chipset/state.h"

#include <string.h>

#include "mmu/ioport.h"

#define NEVER UINT64_MAX
#define REFRESH_NS 15085 /* DRAM refresh period on the PC/AT (counter 1, count 18) */

/*
 * The PIT tick count at virtual time ns, and the first ns at which tick t has
 * been reached.
 */
static uint64_t
ns_to_tick(uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * PIT_HZ / 1000000000u);
}

static uint64_t
tick_to_ns(uint64_t t)
{
	return (uint64_t)(((unsigned __int128)t * 1000000000u + PIT_HZ - 1) / PIT_HZ);
}

static uint64_t
now_tick(const struct pit *pit)
{
	return ns_to_tick(vclock_now(pit->clock));
}

/* Modes 6 and 7 are modes 2 and 3 (datasheet, control word format). */
static unsigned
mode_of(const struct pit_counter *c)
{
	return c->mode > 5 ? c->mode - 4 : c->mode;
}

/* The count N the CE runs from: 0 stands for 65536 (binary) or 10000 (BCD). */
static uint64_t
n_of(const struct pit_counter *c, uint32_t count)
{
	return count ? count : c->bcd ? 10000 : 65536;
}

/*
 * Apply a count written during a mode 2/3 cycle once its cycle has ended.
 */
static void
normalize(struct pit_counter *c, uint64_t t)
{
	if (c->pending && t >= c->switch_at) {
		c->count = c->next_count;
		c->start = c->next_start;
		c->pending = false;
	}
}

/*
 * Clocks counted since the CE was loaded, or -1 before the load.
 */
static int64_t
elapsed(const struct pit_counter *c, uint64_t t)
{
	if (c->held)
		return (int64_t)c->frozen;
	if (!c->running || t < c->start)
		return -1;
	return (int64_t)(t - c->start);
}

/*
 * Counter c's OUT level at tick t (datasheet, "Mode 0" to "Mode 5").
 */
static bool
out_at(struct pit_counter *c, uint64_t t)
{
	normalize(c, t);
	unsigned mode = mode_of(c);
	uint64_t n = n_of(c, c->count);
	int64_t e = elapsed(c, t);
	if (c->held && (mode == 2 || mode == 3))
		return true; /* GATE low forces OUT high in modes 2 and 3 */
	if (e < 0)
		return mode != 0; /* before the count is loaded: the mode's initial level */
	uint64_t u = (uint64_t)e;
	switch (mode) {
	case 0: /* interrupt on terminal count: high once the count reaches 0 */ return u >= n;
	case 1: /* one-shot: low from the trigger until terminal count */ return u >= n;
	case 2: /* rate generator: low for one clock when the count reaches 1 */
		return u % n != n - 1;
	case 3: /* square wave: high for ceil(N/2), low for floor(N/2) */
		return u % n < (n + 1) / 2;
	default: /* 4, 5: strobe, low for one clock at terminal count */ return u != n;
	}
}

/*
 * The value of counter c's CE at tick t, in binary.
 */
static uint32_t
count_at(struct pit_counter *c, uint64_t t)
{
	normalize(c, t);
	uint64_t n = n_of(c, c->count);
	uint64_t mod = c->bcd ? 10000 : 65536;
	int64_t e = elapsed(c, t);
	if (e < 0)
		return (uint32_t)(n % mod);
	uint64_t u = (uint64_t)e, p;
	switch (mode_of(c)) {
	case 2: return (uint32_t)((n - u % n) % mod);
	case 3: /* decremented by two; odd counts load N-1 ("Mode 3") */
		p = u % n;
		if (n & 1)
			return (uint32_t)(n - 1 - 2 * (p < (n + 1) / 2 ? p : p - (n + 1) / 2));
		return (uint32_t)((n - 2 * (p % (n / 2))) % mod);
	default: /* modes 0, 1, 4, 5 wrap around after terminal count */
		return (uint32_t)((n + mod - u % mod) % mod);
	}
}

/*
 * The tick of counter c's next rising OUT edge after tick t, or NEVER.
 */
static uint64_t
next_rise(struct pit_counter *c, uint64_t t)
{
	normalize(c, t);
	if (!c->running)
		return NEVER;
	uint64_t n = n_of(c, c->count), edge;
	switch (mode_of(c)) {
	case 0:
	case 1: edge = c->start + n; return edge > t ? edge : NEVER;
	case 4:
	case 5: edge = c->start + n + 1; return edge > t ? edge : NEVER;
	default: /* 2, 3: at the start of every cycle */
		if (n < 2)
			return NEVER;
		edge = t < c->start ? c->start + n : c->start + ((t - c->start) / n + 1) * n;
		if (c->pending && edge >= c->switch_at) {
			uint64_t n2 = n_of(c, c->next_count);
			uint64_t from = c->switch_at > t + 1 ? c->switch_at : t + 1;
			if (n2 < 2)
				return NEVER;
			edge = c->next_start + (from - c->next_start + n2 - 1) / n2 * n2;
		}
		return edge;
	}
}

/*
 * Set IRQ0 to counter 0's OUT and arm the timer at its next rising edge.
 */
static void
update_irq(struct pit *pit)
{
	uint64_t t = now_tick(pit);
	struct pit_counter *c = &pit->st.c[0];
	irq_set(&pit->irq, out_at(c, t));
	uint64_t edge = next_rise(c, t);
	if (edge == NEVER || (pit->edges_unseen && pit->edges_unseen(pit->unseen_opaque)))
		vtimer_disarm(&pit->timer);
	else
		vtimer_arm(&pit->timer, tick_to_ns(edge));
}

void
pit_recheck(struct pit *pit)
{
	update_irq(pit);
}

/*
 * The timer: counter 0's OUT rose. Pulse IRQ0 so the PIC sees the edge even
 * if the run loop arrives after OUT fell again (mode 3 at high rates), then
 * leave the line at the current level.
 */
static void
pit_timer(void *opaque)
{
	struct pit *pit = opaque;
	irq_lower(&pit->irq);
	irq_raise(&pit->irq);
	update_irq(pit);
}

static uint16_t
to_bcd(uint32_t v)
{
	return (uint16_t)((v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 |
			  v % 10);
}

static uint32_t
from_bcd(uint32_t v)
{
	return (v >> 12 & 15) * 1000 + (v >> 8 & 15) * 100 + (v >> 4 & 15) * 10 + (v & 15);
}

/*
 * The count as the guest reads it (BCD when programmed so).
 */
static uint16_t
visible_count(struct pit_counter *c, uint64_t t)
{
	uint32_t v = count_at(c, t);
	return c->bcd ? to_bcd(v) : (uint16_t)v;
}

/*
 * Status byte (datasheet, "Status byte"): OUT, NULL COUNT, RW1-0, M2-0, BCD.
 */
static uint8_t
status_of(struct pit_counter *c, uint64_t t)
{
	return (uint8_t)(out_at(c, t) << 7 | (t < c->null_until) << 6 | c->rw << 4 | c->mode << 1 |
			 c->bcd);
}

/*
 * Counter latch command: freeze the count for reading, unless one is already
 * latched and unread ("Counter latch command").
 */
static void
latch_count(struct pit_counter *c, uint64_t t)
{
	if (c->latch_bytes)
		return;
	c->latch = visible_count(c, t);
	c->latch_bytes = c->rw == 3 ? 2 : 1;
	c->latch_msb_next = c->rw == 2;
}

/*
 * A control word for counter n: mode, access and BCD; resets the control
 * logic; OUT goes to the mode's initial level; the count is null until written.
 */
static void
program(struct pit_counter *c, uint8_t v)
{
	c->rw = v >> 4 & 3;
	c->mode = v >> 1 & 7;
	c->bcd = v & 1;
	c->armed = false;
	c->running = false;
	c->held = false;
	c->pending = false;
	c->write_msb = false;
	c->read_msb = false;
	c->null_until = NEVER;
}

/*
 * Read-back command ("Read-back command"): latch the count and/or the status
 * of each selected counter.
 */
static void
read_back(struct pit *pit, uint8_t v, uint64_t t)
{
	for (unsigned n = 0; n < 3; n++) {
		struct pit_counter *c = &pit->st.c[n];
		if (!(v & (2u << n)))
			continue;
		if (!(v & 0x20))
			latch_count(c, t);
		if (!(v & 0x10) && !c->status_latched) {
			c->status = status_of(c, t);
			c->status_latched = true;
		}
	}
}

/*
 * A complete count written to counter c at tick t: when it reaches the CE
 * depends on the mode (datasheet, "Mode 0" ... "Mode 5", and Table 5).
 */
static void
load_count(struct pit_counter *c, uint32_t value, uint64_t t)
{
	uint32_t count = c->bcd ? from_bcd(value) : value;
	unsigned mode = mode_of(c);
	normalize(c, t);
	if ((mode == 2 || mode == 3) && c->running) {
		/* Counting: the new count is used at the end of the current period
		 * (mode 2) or half-cycle (mode 3). */
		uint64_t n = n_of(c, c->count), tt = t > c->start ? t : c->start;
		uint64_t p = (tt - c->start) % n, high = (n + 1) / 2;
		c->next_count = count;
		c->pending = true;
		if (mode == 3 && p < high) {
			c->switch_at = tt - p + high;
			c->next_start = c->switch_at - (n_of(c, count) + 1) / 2;
		} else {
			c->switch_at = tt - p + n;
			c->next_start = c->switch_at;
		}
		c->null_until = c->switch_at;
		return;
	}
	c->count = count;
	c->armed = true;
	if (mode == 1 || mode == 5) {
		/* Waits for a GATE trigger; a running one-shot keeps its count. */
		c->null_until = NEVER;
		return;
	}
	c->start = t + 1; /* loaded on the next CLK pulse */
	c->null_until = t + 1;
	c->held = !c->gate;
	c->running = c->gate;
	c->frozen = 0;
}

static void
counter_write(struct pit_counter *c, uint8_t v, uint64_t t)
{
	switch (c->rw) {
	case 1: load_count(c, v, t); break;
	case 2: load_count(c, (uint32_t)v << 8, t); break;
	default:
		if (!c->write_msb) {
			c->write_lsb = v;
			c->write_msb = true;
			if (mode_of(c) == 0) {
				/* Mode 0: the first byte stops counting, OUT low at once. */
				normalize(c, t);
				c->running = false;
				c->held = false;
			}
			return;
		}
		c->write_msb = false;
		load_count(c, c->write_lsb | (uint32_t)v << 8, t);
		break;
	}
}

static uint8_t
counter_read(struct pit_counter *c, uint64_t t)
{
	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->latch_bytes) {
		uint8_t b = c->latch_msb_next ? (uint8_t)(c->latch >> 8) : (uint8_t)c->latch;
		c->latch_msb_next = !c->latch_msb_next;
		c->latch_bytes--;
		return b;
	}
	uint16_t v = visible_count(c, t);
	switch (c->rw) {
	case 1: return (uint8_t)v;
	case 2: return (uint8_t)(v >> 8);
	default: c->read_msb = !c->read_msb; return c->read_msb ? (uint8_t)v : (uint8_t)(v >> 8);
	}
}

static uint32_t
pit_read(void *opaque, uint16_t port, unsigned size)
{
	struct pit *pit = opaque;
	(void)size;
	if ((port & 3) == 3)
		return 0xff; /* the control word register is write-only */
	return counter_read(&pit->st.c[port & 3], now_tick(pit));
}

static void
pit_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct pit *pit = opaque;
	uint8_t v = (uint8_t)value;
	uint64_t t = now_tick(pit);
	(void)size;
	if ((port & 3) != 3) {
		counter_write(&pit->st.c[port & 3], v, t);
		if ((port & 3) == 0)
			update_irq(pit);
		return;
	}
	unsigned sc = v >> 6;
	if (sc == 3) {
		read_back(pit, v, t);
		return;
	}
	struct pit_counter *c = &pit->st.c[sc];
	if ((v & 0x30) == 0)
		latch_count(c, t);
	else
		program(c, v);
	if (sc == 0)
		update_irq(pit);
}

void
pit_set_gate(struct pit *pit, unsigned n, bool level)
{
	struct pit_counter *c = &pit->st.c[n];
	uint64_t t = now_tick(pit);
	if (c->gate == level)
		return;
	normalize(c, t);
	c->gate = level;
	unsigned mode = mode_of(c);
	if (!level) {
		/* Modes 0, 2, 3, 4: GATE low suspends counting (Table 5). */
		if (c->running && mode != 1 && mode != 5) {
			c->frozen = t >= c->start ? t - c->start : 0;
			c->running = false;
			c->held = true;
		}
	} else if (c->held && (mode == 0 || mode == 4)) {
		c->start = t - c->frozen; /* the next CLK pulse decrements again */
		c->held = false;
		c->running = true;
	} else if (c->armed && mode != 0 && mode != 4) {
		/* Modes 1, 5: trigger; modes 2, 3: reload. On the next CLK pulse. */
		if (c->pending) {
			c->count = c->next_count;
			c->pending = false;
		}
		c->start = t + 1;
		c->null_until = t + 1;
		c->held = false;
		c->running = true;
	}
	if (n == 0)
		update_irq(pit);
}

bool
pit_out(struct pit *pit, unsigned n)
{
	return out_at(&pit->st.c[n], now_tick(pit));
}

/*
 * Port 0x61 (system control port B): bit 0 counter 2 GATE, bit 1 speaker
 * data enable, bits 2-3 parity/IOCHK check enables (kept), bit 4 refresh
 * toggle, bit 5 counter 2 OUT; no parity or IOCHK errors are ever reported.
 */
static uint32_t
port61_read(void *opaque, uint16_t port, unsigned size)
{
	struct pit *pit = opaque;
	uint64_t now = vclock_now(pit->clock);
	(void)port;
	(void)size;
	return (pit->st.port61 & 0x0f) | ((now / REFRESH_NS) & 1) << 4 |
	       (uint32_t)pit_out(pit, 2) << 5;
}

static void
port61_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct pit *pit = opaque;
	(void)port;
	(void)size;
	pit->st.port61 = (uint8_t)value & 0x0f;
	pit_set_gate(pit, 2, value & 1);
}

int
pit_init(struct pit *pit, struct ioports *io, struct vclock *clock, struct irq_line irq)
{
	memset(pit, 0, sizeof(*pit));
	pit->clock = clock;
	pit->irq = irq;
	vtimer_init(&pit->timer, clock, "pit", pit_timer, pit);
	pit_reset(pit);
	if (ioports_register(io, 0x40, 4, "pit", pit_read, pit_write, pit, 0) ||
	    ioports_register(io, 0x61, 1, "port61", port61_read, port61_write, pit, 0))
		return -1;
	return 0;
}

/*
 * Power-on: the datasheet leaves mode, count and OUT undefined until a
 * control word is written; fugu starts every counter unprogrammed in mode 0
 * (OUT low, no IRQ0 edges). GATE 0 and 1 are tied high, GATE 2 is port 0x61.
 */
void
pit_reset(struct pit *pit)
{
	memset(&pit->st, 0, sizeof(pit->st));
	for (unsigned n = 0; n < 3; n++) {
		pit->st.c[n].gate = n != 2;
		pit->st.c[n].rw = 3;
		pit->st.c[n].null_until = NEVER;
	}
	update_irq(pit);
}

size_t
pit_save(const struct pit *pit, void *buf, size_t len)
{
	return state_save(&pit->st, sizeof(pit->st), buf, len);
}

/* The bools of struct pit_state (chipset/state.h): ten per counter. */
#define COUNTER_BOOLS(n)                                                                           \
	offsetof(struct pit_state, c[n].bcd), offsetof(struct pit_state, c[n].gate),               \
		offsetof(struct pit_state, c[n].armed), offsetof(struct pit_state, c[n].running),  \
		offsetof(struct pit_state, c[n].held), offsetof(struct pit_state, c[n].pending),   \
		offsetof(struct pit_state, c[n].write_msb),                                        \
		offsetof(struct pit_state, c[n].read_msb),                                         \
		offsetof(struct pit_state, c[n].latch_msb_next),                                   \
		offsetof(struct pit_state, c[n].status_latched)
static const size_t STATE_KEEP pit_bools[] = { COUNTER_BOOLS(0), COUNTER_BOOLS(1),
					       COUNTER_BOOLS(2) };

/* The limits of struct pit_state (chipset/state.h): the control word's M2-M0
 * and RW1-RW0 fields (3 and 2 bits), the 16-bit count registers, a latched
 * count of at most two bytes, the counters' instants within the clock's
 * range, and port 0x61's four writable bits. */
/* The last PIT tick the clock can reach (VCLOCK_TIME_LIMIT_NS): the counters'
 * saved instants lie before it, so the tick arithmetic cannot wrap. */
#define TICK_LIMIT ((uint64_t)((unsigned __int128)VCLOCK_TIME_LIMIT_NS * PIT_HZ / 1000000000u))
#define COUNTER_LIMITS(n)                                                                          \
	STATE_MASK(struct pit_state, c[n].mode, 7), STATE_MASK(struct pit_state, c[n].rw, 3),      \
		STATE_MAX(struct pit_state, c[n].count, 0xffff),                                   \
		STATE_MAX(struct pit_state, c[n].next_count, 0xffff),                              \
		STATE_MAX(struct pit_state, c[n].latch_bytes, 2),                                  \
		STATE_MAX(struct pit_state, c[n].start, TICK_LIMIT),                               \
		STATE_MAX(struct pit_state, c[n].frozen, TICK_LIMIT),                              \
		STATE_MAX(struct pit_state, c[n].switch_at, TICK_LIMIT),                           \
		STATE_MAX(struct pit_state, c[n].next_start, TICK_LIMIT)
static const struct state_limit pit_limits[] = { COUNTER_LIMITS(0), COUNTER_LIMITS(1),
						 COUNTER_LIMITS(2),
						 STATE_MASK(struct pit_state, port61, 0x0f) };

int
pit_check(const struct pit *pit, const void *buf, size_t len, char *err, size_t errlen)
{
	(void)pit;
	return state_check(buf, len, STATE_LIMITS(pit_limits), "", err, errlen);
}

int
pit_restore(struct pit *pit, const void *buf, size_t len)
{
	if (state_restore(&pit->st, sizeof(pit->st), buf, len, STATE_BOOLS(pit_bools),
			  STATE_LIMITS(pit_limits)) < 0)
		return -1;
	update_irq(pit);
	return 0;
}
