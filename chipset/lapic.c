/*
 * fugu — the local APIC. References are to the Intel SDM vol. 3A, chapter 10
 * ("Advanced Programmable Interrupt Controller (APIC)"; chapter 11 in recent
 * editions — the section numbers below are 10.x).
 *
 * One APIC per processor: the interrupt sources are the LVT (timer,
 * LINT0/LINT1, error; thermal and performance exist as registers only), IPIs
 * through the ICR of any APIC on the bus, and messages from the IOAPIC.
 * The APIC bus (the end of this file) picks a message's destinations (10.6.2)
 * and hands each its copy; delivery is immediate, so the ICR's delivery status
 * always reads idle. INIT and STARTUP messages go to the CPU through the
 * board (the CPU waits for SIPI after INIT, 8.4.1). Accepted fixed
 * interrupts wait in IRR; the CPU takes the highest one whose priority class
 * is above the processor priority (PPR) through lapic_intr_ack, which moves it
 * to ISR; EOI retires the highest ISR bit and, for a level-triggered vector
 * (TMR), broadcasts the EOI to the IOAPIC. The 8259's INTR reaches the CPU
 * through LINT0 in ExtINT mode, or directly while the APIC is globally
 * disabled (IA32_APIC_BASE.EN = 0: "functionally equivalent to a processor
 * without an on-chip APIC", 10.4.3).
 *
 * The timer runs on a LAPIC_BUS_HZ input clock divided by the divide
 * configuration register. Nothing ticks: the current count is computed from
 * the virtual clock and one vtimer is armed at the next expiry.
 *
 * Deviation at power-on, as in QEMU: the BSP's LINT0 (only the BSP's) starts unmasked in ExtINT
 * mode (the MP specification's virtual-wire mode, which a BIOS sets up), so a
 * guest that never touches the APIC gets its 8259 interrupts. 10.4.7.1 has
 * every LVT entry masked after RESET.
 */
#include "chipset/lapic.h"
#include "chipset/state.h"

#include <string.h>

#include "cpu/msr.h"
#include "mmu/physmem.h"

#define LVT_MASKED (1u << 16)
#define LVT_LEVEL (1u << 15)
#define LVT_TIMER_MODE(v) (((v) >> 17) & 3)
#define TIMER_ONESHOT 0
#define TIMER_PERIODIC 1
#define TIMER_TSC_DEADLINE 2

#define SVR_ENABLE (1u << 8)

/* Error status bits (10.5.3, figure 10-9). */
#define ESR_SEND_ILLEGAL (1u << 5)
#define ESR_RECV_ILLEGAL (1u << 6)
#define ESR_ILLEGAL_REG (1u << 7)

/* Version register: version 0x14, max LVT entry LVT_COUNT - 1 (10.4.8). */
#define APIC_VERSION (0x14u | (uint32_t)(LVT_COUNT - 1) << 16)

/* Writable bits of each LVT entry (10.5.1, figure 10-8). */
static const uint32_t lvt_writable[LVT_COUNT] = {
	[LVT_TIMER] = 0x300ff, /* vector, mask, mode bit 17 (bit 18 with TSC-deadline) */
	[LVT_THERMAL] = 0x107ff, [LVT_PERF] = 0x107ff,
	[LVT_LINT0] = 0x1a7ff, /* vector, delivery mode, polarity, trigger mode, mask */
	[LVT_LINT1] = 0x1a7ff,   [LVT_ERROR] = 0x100ff,
};

static void update(struct lapic *apic);
static bool accept(struct lapic *apic, unsigned vector, bool level_trig);

static bool
test_bit(const uint32_t *v, unsigned n)
{
	return (v[n >> 5] >> (n & 31)) & 1;
}

static void
set_bit(uint32_t *v, unsigned n, bool on)
{
	if (on)
		v[n >> 5] |= 1u << (n & 31);
	else
		v[n >> 5] &= ~(1u << (n & 31));
}

/* The highest set bit of a 256-bit register, or -1. */
static int
highest(const uint32_t *v)
{
	for (int k = 7; k >= 0; k--)
		if (v[k])
			return k * 32 + 31 - __builtin_clz(v[k]);
	return -1;
}

static bool
hw_enabled(const struct lapic *apic)
{
	return apic->cfg.present && (apic->st.apic_base & APIC_BASE_EN);
}

static bool
sw_enabled(const struct lapic *apic)
{
	return apic->st.svr & SVR_ENABLE;
}

static bool
x2apic_mode(const struct lapic *apic)
{
	return hw_enabled(apic) && (apic->st.apic_base & APIC_BASE_EXTD);
}

/*
 * Processor priority (10.8.3.1): the TPR, unless the highest in-service
 * vector's class is higher, in which case that class.
 */
static uint8_t
ppr(const struct lapic *apic)
{
	int isrv = highest(apic->st.isr);
	unsigned isr_class = isrv < 0 ? 0 : (unsigned)isrv & 0xf0;
	return (apic->st.tpr & 0xf0) >= isr_class ? apic->st.tpr : (uint8_t)isr_class;
}

/*
 * Arbitration priority (10.6.2.4, figure 10-15): the TPR, unless the higher of
 * the highest IRR and ISR classes is above it.
 */
static uint8_t
apr(const struct lapic *apic)
{
	int irrv = highest(apic->st.irr), isrv = highest(apic->st.isr);
	unsigned top = (unsigned)(irrv > isrv ? irrv : isrv);
	if (irrv < 0 && isrv < 0)
		top = 0;
	return (apic->st.tpr & 0xf0) >= (top & 0xf0) ? apic->st.tpr : (uint8_t)(top & 0xf0);
}

/*
 * The vector the APIC would dispatch to the CPU now, or -1: the highest IRR
 * bit whose priority class is above PPR[7:4] (10.8.3.1).
 */
static int
pending_vector(const struct lapic *apic)
{
	if (!hw_enabled(apic) || !sw_enabled(apic))
		return -1;
	int v = highest(apic->st.irr);
	if (v < 0 || ((unsigned)v >> 4) <= (unsigned)(ppr(apic) >> 4))
		return -1;
	return v;
}

/*
 * Whether an 8259 interrupt reaches the CPU: directly while the APIC is
 * globally disabled, through LINT0 when it is unmasked in ExtINT mode
 * (10.5.1), or by an ExtINT message from the IOAPIC.
 */
static bool
extint_ready(const struct lapic *apic)
{
	if (!hw_enabled(apic))
		return apic->st.lint[0];
	if (apic->st.extint_pending)
		return true;
	uint32_t lvt = apic->st.lvt[LVT_LINT0];
	return apic->st.lint[0] && !(lvt & LVT_MASKED) && ((lvt >> 8) & 7) == APIC_DM_EXTINT;
}

/*
 * Drive the CPU's "interrupt pending" input from the APIC's state.
 */
static void
update(struct lapic *apic)
{
	bool level = pending_vector(apic) >= 0 || extint_ready(apic);
	if (level != apic->intr) {
		apic->intr = level;
		irq_set(&apic->cfg.intr, level);
	}
}

/*
 * Record an error (10.5.3) and, when the error LVT is unmasked, signal it
 * through that entry (an illegal error vector is not delivered again).
 */
static void
error(struct lapic *apic, uint32_t bit)
{
	bool fresh = !(apic->st.esr_pending & bit);
	apic->st.esr_pending |= bit;
	uint32_t lvt = apic->st.lvt[LVT_ERROR];
	if (fresh && !(lvt & LVT_MASKED) && (lvt & 0xff) >= 16)
		accept(apic, lvt & 0xff, false);
}

/*
 * Accept a fixed interrupt into IRR, recording its trigger mode in TMR
 * (10.8.4). Vectors 0-15 are illegal: "received illegal vector" (10.5.3).
 */
static bool
accept(struct lapic *apic, unsigned vector, bool level_trig)
{
	if (!hw_enabled(apic))
		return false;
	if (vector < 16) {
		error(apic, ESR_RECV_ILLEGAL);
		return false;
	}
	set_bit(apic->st.irr, vector, true);
	set_bit(apic->st.tmr, vector, level_trig);
	update(apic);
	return true;
}

/* NMI delivery mode (10.5.1, 10.6.1): the vector is ignored; the CPU takes
 * vector 2 as an NMI (SDM vol. 3A, 6.7). */
static void
send_nmi(struct lapic *apic)
{
	irq_pulse(&apic->cfg.nmi);
}

/*
 * Deliver a local interrupt through LVT entry n (10.5.1): fixed vectors into
 * IRR, NMI, SMI and INIT to the CPU, unless the entry is masked; ExtINT is a
 * level seen by extint_ready.
 */
static void
lvt_deliver(struct lapic *apic, unsigned n)
{
	uint32_t lvt = apic->st.lvt[n];
	if (!hw_enabled(apic) || (lvt & LVT_MASKED))
		return;
	unsigned mode = n == LVT_TIMER || n == LVT_ERROR ? APIC_DM_FIXED : (lvt >> 8) & 7;
	if (mode == APIC_DM_FIXED)
		accept(apic, lvt & 0xff, (n == LVT_LINT0 || n == LVT_LINT1) && (lvt & LVT_LEVEL));
	else if (mode == APIC_DM_NMI)
		send_nmi(apic); /* LINT1 on a PC */
	else if (mode == APIC_DM_SMI)
		irq_pulse(&apic->cfg.smi);
	else if (mode == APIC_DM_INIT)
		irq_pulse(&apic->cfg.init);
}

/* ---- The timer (10.5.4) ---- */

/* Divide configuration bits 0, 1, 3 -> 2, 4, ... 128, or 1 for 111b (figure 10-10). */
static uint64_t
divisor(const struct lapic *apic)
{
	uint32_t d = (apic->st.timer_divide & 3) | ((apic->st.timer_divide >> 1) & 4);
	return d == 7 ? 1 : 2ull << d;
}

/* Timer ticks counted in `ns` nanoseconds at the current divisor. */
static uint64_t
ns_to_ticks(const struct lapic *apic, uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * LAPIC_BUS_HZ / (1000000000ull * divisor(apic)));
}

/* The nanoseconds for `ticks` timer ticks (rounded up). */
static uint64_t
ticks_to_ns(const struct lapic *apic, uint64_t ticks)
{
	unsigned __int128 num = (unsigned __int128)ticks * divisor(apic) * 1000000000ull;
	return (uint64_t)((num + LAPIC_BUS_HZ - 1) / LAPIC_BUS_HZ);
}

static unsigned
timer_mode(const struct lapic *apic)
{
	return LVT_TIMER_MODE(apic->st.lvt[LVT_TIMER]);
}

/*
 * The current count register at virtual time `now` (10.5.4): counts down from
 * timer_count0 at timer_start; a one-shot timer stays at 0, a periodic one
 * reloads the initial count. Always 0 in TSC-deadline mode.
 */
static uint32_t
current_count(const struct lapic *apic, uint64_t now)
{
	const struct lapic_state *s = &apic->st;
	if (timer_mode(apic) == TIMER_TSC_DEADLINE || !s->timer_count0)
		return 0;
	uint64_t e = now > s->timer_start ? ns_to_ticks(apic, now - s->timer_start) : 0;
	if (e < s->timer_count0)
		return (uint32_t)(s->timer_count0 - e);
	if (timer_mode(apic) != TIMER_PERIODIC || !s->timer_initial)
		return 0;
	return (uint32_t)(s->timer_initial - (e - s->timer_count0) % s->timer_initial);
}

/*
 * Arm the host-side timer for the next expiry -- only while the timer's LVT
 * entry is unmasked: a masked expiry has no effect anyone can see (the current
 * count is computed from the clock, and timer_catch_up processes a passed
 * expiry when the entry is unmasked or the count read), so a halted guest with
 * a masked periodic timer at count 1 costs the host nothing.
 */
static void
timer_arm(struct lapic *apic)
{
	if (apic->st.timer_next == VCLOCK_NEVER || (apic->st.lvt[LVT_TIMER] & LVT_MASKED))
		vtimer_disarm(&apic->timer);
	else
		vtimer_arm(&apic->timer, apic->st.timer_next);
}

/*
 * The timer reached its expiry: interrupt through the timer LVT entry (a
 * masked entry suppresses only the interrupt), then reload (periodic), stop
 * (one-shot) or clear IA32_TSC_DEADLINE (TSC-deadline, 10.5.4.1).
 */
static void
timer_expire(struct lapic *apic, uint64_t now)
{
	struct lapic_state *s = &apic->st;
	lvt_deliver(apic, LVT_TIMER);
	if (timer_mode(apic) == TIMER_PERIODIC && s->timer_initial) {
		uint64_t e = ns_to_ticks(apic, now - s->timer_start);
		uint64_t next = s->timer_count0 +
				((e - s->timer_count0) / s->timer_initial + 1) * s->timer_initial;
		s->timer_next = s->timer_start + ticks_to_ns(apic, next);
	} else {
		s->timer_next = VCLOCK_NEVER;
		if (timer_mode(apic) == TIMER_TSC_DEADLINE)
			s->tsc_deadline = 0;
	}
	timer_arm(apic);
}

/* An expiry that is due but not yet processed is processed now. */
static void
timer_catch_up(struct lapic *apic, uint64_t now)
{
	if (apic->st.timer_next != VCLOCK_NEVER && apic->st.timer_next <= now)
		timer_expire(apic, now);
}

static void
timer_cb(void *opaque)
{
	struct lapic *apic = opaque;
	timer_catch_up(apic, vclock_now(apic->clock));
}

/* (Re)start counting from `count` at `now`. */
static void
timer_load(struct lapic *apic, uint32_t count, uint64_t now)
{
	struct lapic_state *s = &apic->st;
	s->timer_count0 = count;
	s->timer_start = now;
	s->timer_next = count ? now + ticks_to_ns(apic, count) : VCLOCK_NEVER;
	timer_arm(apic);
}

/* Initial count register: starts the count; ignored in TSC-deadline mode (10.5.4.1). */
static void
timer_write_initial(struct lapic *apic, uint32_t v)
{
	if (timer_mode(apic) == TIMER_TSC_DEADLINE)
		return;
	apic->st.timer_initial = v;
	timer_load(apic, v, vclock_now(apic->clock));
}

/* Divide configuration: the count continues from its current value at the new rate. */
static void
timer_write_divide(struct lapic *apic, uint32_t v)
{
	uint64_t now = vclock_now(apic->clock);
	timer_catch_up(apic, now);
	bool running =
		apic->st.timer_next != VCLOCK_NEVER && timer_mode(apic) != TIMER_TSC_DEADLINE;
	uint32_t count = current_count(apic, now);
	apic->st.timer_divide = v & 0xb;
	if (running)
		timer_load(apic, count, now);
}

/*
 * The TSC deadline in virtual ns: the TSC runs at 1 GHz from the virtual
 * clock plus the CPU's offset (cpu_tsc).
 */
static uint64_t
deadline_ns(const struct lapic *apic, uint64_t tsc)
{
	uint64_t off = apic->cfg.tsc_offset ? *apic->cfg.tsc_offset : 0;
	return tsc > off ? tsc - off : 0;
}

/*
 * IA32_TSC_DEADLINE (10.5.4.1): arms the timer in TSC-deadline mode (0
 * disarms); a deadline already passed fires at once. Ignored in other modes.
 * XXX A later write to the TSC does not move an armed deadline.
 */
static void
timer_write_deadline(struct lapic *apic, uint64_t tsc)
{
	if (timer_mode(apic) != TIMER_TSC_DEADLINE)
		return;
	uint64_t now = vclock_now(apic->clock);
	apic->st.tsc_deadline = tsc;
	apic->st.timer_next = tsc ? deadline_ns(apic, tsc) : VCLOCK_NEVER;
	timer_arm(apic);
	timer_catch_up(apic, now);
}

/* ---- Registers ---- */

/*
 * A write to LVT entry n: only the writable bits; while the APIC is software
 * disabled the mask bit stays set (10.4.7.2). Switching the timer between
 * TSC-deadline and the other modes disarms it (10.5.4.1).
 */
static void
lvt_write(struct lapic *apic, unsigned n, uint32_t v)
{
	uint32_t w = lvt_writable[n];
	if (n == LVT_TIMER && apic->cfg.tsc_deadline)
		w |= 1u << 18;
	uint32_t old = apic->st.lvt[n];
	v = (old & ~w) | (v & w);
	if (!sw_enabled(apic))
		v |= LVT_MASKED;
	if (n == LVT_TIMER) {
		uint64_t now = vclock_now(apic->clock);
		timer_catch_up(apic, now);
		uint32_t count = current_count(apic, now); /* in the old mode */
		apic->st.lvt[n] = v;
		if ((LVT_TIMER_MODE(old) == TIMER_TSC_DEADLINE) !=
		    (LVT_TIMER_MODE(v) == TIMER_TSC_DEADLINE)) {
			apic->st.timer_initial = 0;
			apic->st.timer_count0 = 0;
			apic->st.tsc_deadline = 0;
			apic->st.timer_next = VCLOCK_NEVER;
		} else if (LVT_TIMER_MODE(old) != LVT_TIMER_MODE(v)) {
			/* One-shot <-> periodic: "Changing the mode of the APIC timer ...
			 * by writing to the timer LVT entry does not start the timer"
			 * (SDM vol. 3A, 10.5.4): the count goes on from where it is, so
			 * an expired one-shot timer stays at 0 in periodic mode. */
			apic->st.timer_start = now;
			apic->st.timer_count0 = count;
			apic->st.timer_next = count ? now + ticks_to_ns(apic, count) : VCLOCK_NEVER;
		}
		timer_arm(apic); /* (un)masking starts or stops the host timer */
		return;
	}
	apic->st.lvt[n] = v;
	update(apic); /* LINT0 ExtINT may have been unmasked */
}

/* The x2APIC logical ID derived from the APIC ID (10.12.10.2). */
static uint32_t
x2apic_ldr(uint32_t id)
{
	return (id >> 4) << 16 | 1u << (id & 15);
}

/*
 * Whether this APIC is a destination of a message (10.6.2): physical mode
 * compares the APIC ID (all ones broadcasts); logical mode uses the flat or
 * cluster model of the DFR with the LDR, or the x2APIC cluster ID/bitmap.
 */
static bool
dest_match(const struct lapic *apic, uint32_t dest, bool logical)
{
	const struct lapic_state *s = &apic->st;
	if (x2apic_mode(apic)) {
		if (dest == 0xffffffffu)
			return true;
		if (!logical)
			return dest == s->id;
		return (dest >> 16) == (s->ldr >> 16) && (dest & s->ldr & 0xffff);
	}
	dest &= 0xff;
	if (dest == 0xff)
		return true;
	if (!logical)
		return dest == (s->id & 0xff);
	uint32_t ldr = s->ldr >> 24;
	if ((s->dfr >> 28) == 0xf)
		return (dest & ldr) != 0;
	return ((dest >> 4) == (ldr >> 4) || (dest >> 4) == 0xf) && (dest & ldr & 0xf);
}

/*
 * Issue the IPI in the ICR (10.6.1) on the bus: the sender checks the vector
 * of fixed and lowest-priority IPIs ("send illegal vector", 10.5.3). Alone
 * on no bus, only this APIC can be a destination.
 */
static void
icr_send(struct lapic *apic)
{
	uint32_t lo = apic->st.icr_lo;
	struct apic_msg m = {
		.dest = x2apic_mode(apic) ? apic->st.icr_hi : apic->st.icr_hi >> 24,
		.vector = (uint8_t)lo,
		.mode = (uint8_t)((lo >> 8) & 7),
		.shorthand = (uint8_t)((lo >> 18) & 3),
		.logical = lo & (1u << 11),
		.level = lo & (1u << 14),
		.level_trig = lo & (1u << 15),
	};
	if ((m.mode == APIC_DM_FIXED || m.mode == APIC_DM_LOWEST) && m.vector < 16) {
		error(apic, ESR_SEND_ILLEGAL);
		return;
	}
	if (m.mode == APIC_DM_FIXED || m.mode == APIC_DM_LOWEST)
		m.level_trig = false; /* IPIs are edge-triggered (the TMR stays clear) */
	if (apic->cfg.bus) {
		apic_bus_send(apic->cfg.bus, (int)apic->cfg.index, &m);
	} else {
		struct apic_bus solo = { .apic = { apic }, .n = 1 };
		apic_bus_send(&solo, 0, &m);
	}
}

/*
 * EOI (10.8.5): retire the highest in-service vector; a level-triggered one
 * (TMR set) is broadcast to the IOAPIC, which clears its remote IRR.
 */
static void
eoi(struct lapic *apic)
{
	int v = highest(apic->st.isr);
	if (v < 0)
		return;
	set_bit(apic->st.isr, (unsigned)v, false);
	if (test_bit(apic->st.tmr, (unsigned)v) && apic->cfg.eoi)
		apic->cfg.eoi(apic->cfg.opaque, (uint8_t)v);
	update(apic);
}

void
lapic_eoi(void *opaque)
{
	eoi(opaque);
}

/*
 * Read the register at offset `reg` (16-byte aligned; 10.4.1, table 10-1).
 * Returns false for a reserved offset.
 */
static bool
reg_read(struct lapic *apic, unsigned reg, uint32_t *out)
{
	struct lapic_state *s = &apic->st;
	uint32_t v;
	if (reg >= 0x100 && reg < 0x280) {
		const uint32_t *bank = reg < 0x180 ? s->isr : reg < 0x200 ? s->tmr : s->irr;
		*out = bank[(reg >> 4) & 7];
		return true;
	}
	if (reg >= 0x320 && reg < 0x380) {
		*out = s->lvt[(reg - 0x320) >> 4];
		return true;
	}
	switch (reg) {
	case 0x020: v = x2apic_mode(apic) ? s->id : s->id << 24; break;
	case 0x030: v = APIC_VERSION; break;
	case 0x080: v = s->tpr; break;
	case 0x090: v = apr(apic); break;
	case 0x0a0: v = ppr(apic); break;
	case 0x0b0: v = 0; break; /* EOI: write-only */
	case 0x0c0: v = 0; break; /* remote read: never used */
	case 0x0d0: v = s->ldr; break;
	case 0x0e0: v = s->dfr; break;
	case 0x0f0: v = s->svr; break;
	case 0x280: v = s->esr; break;
	case 0x300: v = s->icr_lo; break;
	case 0x310: v = s->icr_hi; break;
	case 0x380: v = s->timer_initial; break;
	case 0x390: v = current_count(apic, vclock_now(apic->clock)); break;
	case 0x3e0: v = s->timer_divide; break;
	default: return false;
	}
	*out = v;
	return true;
}

/*
 * Write the register at offset `reg` (xAPIC semantics; the x2APIC MSR path
 * filters first). Writes to read-only registers are ignored; a reserved
 * offset is an "illegal register address" error (10.5.3).
 */
static void
reg_write(struct lapic *apic, unsigned reg, uint32_t v)
{
	struct lapic_state *s = &apic->st;
	if (reg >= 0x320 && reg < 0x380) {
		lvt_write(apic, (reg - 0x320) >> 4, v);
		return;
	}
	if (reg >= 0x100 && reg < 0x280)
		return; /* ISR, TMR, IRR: read-only */
	switch (reg) {
	case 0x020:
		if (!x2apic_mode(apic))
			s->id = v >> 24;
		break;
	case 0x080:
		s->tpr = (uint8_t)v;
		update(apic);
		break;
	case 0x0b0: eoi(apic); break;
	case 0x0d0: s->ldr = v & 0xff000000u; break;
	case 0x0e0: s->dfr = v | 0x0fffffffu; break;
	case 0x0f0:
		/* Bits 0-9: vector, APIC software enable, focus processor checking.
		 * Clearing the enable masks every LVT entry (10.4.7.2). */
		s->svr = v & 0x3ff;
		if (!(v & SVR_ENABLE))
			for (unsigned n = 0; n < LVT_COUNT; n++)
				s->lvt[n] |= LVT_MASKED;
		timer_arm(apic);
		update(apic);
		break;
	case 0x280:
		/* A write latches the errors detected since the last one (10.5.3). */
		s->esr = s->esr_pending;
		s->esr_pending = 0;
		break;
	case 0x300:
		s->icr_lo = v & ~(1u << 12); /* delivery status is read-only */
		icr_send(apic);
		break;
	case 0x310: s->icr_hi = v & 0xff000000u; break;
	case 0x380: timer_write_initial(apic, v); break;
	case 0x3e0: timer_write_divide(apic, v); break;
	case 0x030:
	case 0x090:
	case 0x0a0:
	case 0x0c0:
	case 0x390: break; /* read-only */
	default: error(apic, ESR_ILLEGAL_REG); break;
	}
}

/*
 * The xAPIC page (10.4.1): registers are 32 bits at 16-byte aligned offsets;
 * a narrower access reads part of the first dword; anything else reads 0.
 * Only aligned 32-bit (or wider, low dword) writes take effect.
 */
static uint64_t
mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct lapic *apic = opaque;
	unsigned reg = (unsigned)offset & 0xff0, sub = (unsigned)offset & 0xf;
	uint32_t v = 0;
	if (sub >= 4)
		return 0;
	if (!reg_read(apic, reg, &v))
		return 0;
	v >>= 8 * sub;
	return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void
mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct lapic *apic = opaque;
	if ((offset & 0xf) || size < 4)
		return;
	reg_write(apic, (unsigned)offset & 0xff0, (uint32_t)value);
}

static const struct mmio_ops lapic_mmio = { mmio_read, mmio_write, 0 };

/*
 * Place the xAPIC page at the IA32_APIC_BASE address; it is visible only in
 * xAPIC mode (not while globally disabled, not in x2APIC mode, 10.12.1.2).
 */
static void
remap(struct lapic *apic)
{
	struct apic_bus *bus = apic->cfg.bus;
	if (bus) {
		if (bus->apic[bus->current] == apic)
			apic_bus_set_current(bus, bus->current);
		return;
	}
	if (apic->region < 0)
		return;
	uint64_t base = apic->st.apic_base & APIC_BASE_ADDR;
	bool on = hw_enabled(apic) && !x2apic_mode(apic);
	physmem_region_place(apic->mem, apic->region, base, on);
}

/*
 * Registers to their power-on values (10.4.7.1): also the state after a
 * global disable, which discards the APIC's state (10.4.3).
 */
static void
regs_reset(struct lapic *apic)
{
	struct lapic_state *s = &apic->st;
	s->tpr = 0;
	s->ldr = 0;
	s->dfr = 0xffffffffu;
	s->svr = 0xff;
	memset(s->irr, 0, sizeof(s->irr));
	memset(s->isr, 0, sizeof(s->isr));
	memset(s->tmr, 0, sizeof(s->tmr));
	s->esr = s->esr_pending = 0;
	for (unsigned n = 0; n < LVT_COUNT; n++)
		s->lvt[n] = LVT_MASKED;
	s->icr_lo = s->icr_hi = 0;
	s->timer_initial = s->timer_divide = s->timer_count0 = 0;
	s->timer_start = 0;
	s->timer_next = VCLOCK_NEVER;
	s->tsc_deadline = 0;
	s->extint_pending = false;
	timer_arm(apic);
}

/*
 * IA32_APIC_BASE (10.4.4, 10.12.5): relocation, global enable, x2APIC
 * enable. Invalid transitions (x2APIC without the feature or while disabled,
 * x2APIC back to xAPIC, figure 10-27) raise #GP; BSP is read-only.
 */
static int
write_apic_base(struct lapic *apic, uint64_t v)
{
	uint64_t old = apic->st.apic_base;
	bool en = v & APIC_BASE_EN, extd = v & APIC_BASE_EXTD;
	if (extd && (!apic->cfg.x2apic || !en))
		return -1;
	if (extd && !(old & APIC_BASE_EN))
		return -1;
	if ((old & APIC_BASE_EN) && (old & APIC_BASE_EXTD) && en && !extd)
		return -1;
	apic->st.apic_base = (v & ~APIC_BASE_BSP) | (old & APIC_BASE_BSP);
	if ((old & APIC_BASE_EN) && !en)
		regs_reset(apic);
	if (extd && !(old & APIC_BASE_EXTD))
		apic->st.ldr = x2apic_ldr(apic->st.id);
	remap(apic);
	update(apic);
	return 0;
}

/*
 * An x2APIC MSR read (10.12.1.2, table 10-6): only in x2APIC mode; APR, RRD,
 * DFR, ICR high, EOI and SELF IPI are not readable (#GP).
 */
static int
x2apic_read(struct lapic *apic, uint32_t index, uint64_t *value)
{
	unsigned reg = (index - MSR_X2APIC_FIRST) << 4;
	uint32_t v;
	if (!x2apic_mode(apic))
		return -1;
	switch (reg) {
	case 0x090:
	case 0x0b0:
	case 0x0c0:
	case 0x0e0:
	case 0x310:
	case 0x3f0: return -1;
	case 0x300: *value = (uint64_t)apic->st.icr_hi << 32 | apic->st.icr_lo; return 0;
	default:
		if (!reg_read(apic, reg, &v))
			return -1;
		*value = v;
		return 0;
	}
}

/*
 * An x2APIC MSR write (10.12.1.2, 10.12.9, 10.12.11): read-only and absent
 * registers raise #GP, as do non-zero EOI/ESR writes and bits 63-32 except
 * in the 64-bit ICR. SELF IPI sends a fixed IPI to this APIC.
 */
static int
x2apic_write(struct lapic *apic, uint32_t index, uint64_t value)
{
	unsigned reg = (index - MSR_X2APIC_FIRST) << 4;
	if (!x2apic_mode(apic))
		return -1;
	if (reg == 0x300) {
		apic->st.icr_hi = (uint32_t)(value >> 32);
		apic->st.icr_lo = (uint32_t)value & ~(1u << 12);
		icr_send(apic);
		return 0;
	}
	if (value >> 32)
		return -1;
	uint32_t v = (uint32_t)value, dummy;
	switch (reg) {
	case 0x020:
	case 0x030:
	case 0x090:
	case 0x0a0:
	case 0x0c0:
	case 0x0d0:
	case 0x0e0:
	case 0x310:
	case 0x390: return -1;
	case 0x0b0:
	case 0x280:
		if (v)
			return -1;
		break;
	case 0x3f0:
		/* SELF IPI: bits 31:8 are reserved (SDM vol. 3A, 10.12.11, figure 10-30);
		 * a WRMSR setting them is #GP, like any x2APIC reserved bit (10.12.1.2). */
		if (v & ~0xffu)
			return -1;
		if ((v & 0xff) < 16)
			error(apic, ESR_SEND_ILLEGAL);
		else
			accept(apic, v & 0xff, false);
		return 0;
	default:
		if (reg >= 0x100 && reg < 0x280)
			return -1;
		if (!reg_read(apic, reg, &dummy))
			return -1;
		break;
	}
	reg_write(apic, reg, v);
	return 0;
}

int
lapic_msr_read(void *opaque, uint32_t index, uint64_t *value)
{
	struct lapic *apic = opaque;
	if (!apic->cfg.present)
		return -1;
	if (index == MSR_APIC_BASE) {
		*value = apic->st.apic_base;
		return 0;
	}
	if (index == MSR_TSC_DEADLINE) {
		if (!apic->cfg.tsc_deadline)
			return -1;
		timer_catch_up(apic, vclock_now(apic->clock)); /* a masked expiry cleared it */
		*value = timer_mode(apic) == TIMER_TSC_DEADLINE ? apic->st.tsc_deadline : 0;
		return 0;
	}
	if (index >= MSR_X2APIC_FIRST && index <= MSR_X2APIC_LAST && apic->cfg.x2apic)
		return x2apic_read(apic, index, value);
	return -1;
}

int
lapic_msr_write(void *opaque, uint32_t index, uint64_t value)
{
	struct lapic *apic = opaque;
	if (!apic->cfg.present)
		return -1;
	if (index == MSR_APIC_BASE)
		return write_apic_base(apic, value);
	if (index == MSR_TSC_DEADLINE) {
		if (!apic->cfg.tsc_deadline)
			return -1;
		timer_write_deadline(apic, value);
		return 0;
	}
	if (index >= MSR_X2APIC_FIRST && index <= MSR_X2APIC_LAST && apic->cfg.x2apic)
		return x2apic_write(apic, index, value);
	return -1;
}

uint8_t
lapic_get_cr8(void *opaque)
{
	struct lapic *apic = opaque;
	return apic->st.tpr >> 4;
}

void
lapic_set_cr8(void *opaque, uint8_t value)
{
	struct lapic *apic = opaque;
	apic->st.tpr = (uint8_t)((value & 0xf) << 4);
	update(apic);
}

int
lapic_intr_ack(void *opaque)
{
	struct lapic *apic = opaque;
	int v = pending_vector(apic);
	if (v >= 0) {
		set_bit(apic->st.irr, (unsigned)v, false);
		set_bit(apic->st.isr, (unsigned)v, true);
		update(apic);
		return v;
	}
	if (extint_ready(apic)) {
		apic->st.extint_pending = false;
		v = apic->cfg.extint_ack ? apic->cfg.extint_ack(apic->cfg.opaque) : -1;
	}
	update(apic);
	return v;
}

void
lapic_set_lint(struct lapic *apic, unsigned n, bool level)
{
	n &= 1;
	bool rising = level && !apic->st.lint[n];
	uint32_t lvt = apic->st.lvt[LVT_LINT0 + n];
	apic->st.lint[n] = level;
	if (level && (rising || (lvt & LVT_LEVEL)))
		lvt_deliver(apic, LVT_LINT0 + n);
	update(apic);
}

/*
 * This APIC received a message (it is one of the destinations). A software-
 * disabled APIC still takes NMI, SMI, INIT and STARTUP (10.4.7.2); a globally
 * disabled one takes nothing. INIT resets the APIC but for its ID and base
 * (10.4.7.3) and puts the CPU into wait-for-SIPI; INIT level de-assert only
 * synchronises arbitration IDs (10.6.1) and does nothing here.
 */
static bool
receive(struct lapic *apic, const struct apic_msg *m)
{
	if (!hw_enabled(apic))
		return false;
	switch (m->mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST: return sw_enabled(apic) && accept(apic, m->vector, m->level_trig);
	case APIC_DM_EXTINT:
		apic->st.extint_pending = true;
		update(apic);
		return true;
	case APIC_DM_NMI: send_nmi(apic); return true;
	case APIC_DM_SMI: irq_pulse(&apic->cfg.smi); return true;
	case APIC_DM_INIT:
		if (m->level_trig && !m->level)
			return true; /* INIT level de-assert */
		regs_reset(apic);
		update(apic);
		irq_pulse(&apic->cfg.init);
		return true;
	case APIC_DM_STARTUP:
		if (apic->cfg.sipi)
			apic->cfg.sipi(apic->cfg.opaque, apic->cfg.index, m->vector);
		return true;
	default: return false;
	}
}

bool
lapic_deliver(struct lapic *apic, uint8_t vector, unsigned mode, bool level_trig, uint32_t dest,
	      bool logical)
{
	const struct apic_msg m = { .dest = dest,
				    .vector = vector,
				    .mode = (uint8_t)mode,
				    .logical = logical,
				    .level = true,
				    .level_trig = level_trig };
	return dest_match(apic, dest, logical) && receive(apic, &m);
}

int
lapic_init(struct lapic *apic, struct physmem *mem, struct vclock *clock,
	   const struct lapic_config *cfg)
{
	memset(apic, 0, sizeof(*apic));
	apic->cfg = *cfg;
	apic->clock = clock;
	apic->mem = mem;
	apic->region = -1;
	vtimer_init(&apic->timer, clock, "lapic", timer_cb, apic);
	if (cfg->present && !cfg->bus) {
		apic->region = physmem_add_mmio(mem, "lapic", LAPIC_DEFAULT_BASE, PAGE_SIZE,
						&lapic_mmio, apic);
		if (apic->region < 0)
			return -1;
	}
	lapic_reset(apic);
	return 0;
}

/*
 * RESET (10.4.7.1): the initial APIC ID, the page at 0xFEE00000, globally
 * enabled, the BSP flag on CPU 0 only (8.4.1); registers at their power-on
 * values, the BSP's LINT0 in virtual-wire ExtINT (see the top of the file).
 * The LINT input levels belong to the devices driving them and are kept.
 */
void
lapic_reset(struct lapic *apic)
{
	bool bsp = apic->cfg.index == 0;
	apic->st.apic_base = LAPIC_DEFAULT_BASE | APIC_BASE_EN | (bsp ? APIC_BASE_BSP : 0);
	apic->st.id = apic->cfg.id;
	regs_reset(apic);
	if (bsp)
		apic->st.lvt[LVT_LINT0] = APIC_DM_EXTINT << 8;
	remap(apic);
	apic->intr = false;
	irq_lower(&apic->cfg.intr);
	update(apic);
}

size_t
lapic_save(const struct lapic *apic, void *buf, size_t len)
{
	return state_save(&apic->st, sizeof(apic->st), buf, len);
}

/* The bools of struct lapic_state (chipset/state.h). */
static const size_t STATE_KEEP lapic_bools[] = { offsetof(struct lapic_state, lint[0]),
						 offsetof(struct lapic_state, lint[1]),
						 offsetof(struct lapic_state, extint_pending) };

/* The limits of struct lapic_state (chipset/state.h): the instant the timer's
 * count was loaded lies within the clock's range (timer_next may be
 * VCLOCK_NEVER). Nothing else indexes: register offsets are not saved, LVT
 * and ICR fields are decoded as the guest's writes are, and the timer divides
 * by a table, not by a saved value. */
static const struct state_limit lapic_limits[] = {
	STATE_MAX(struct lapic_state, timer_start, VCLOCK_TIME_LIMIT_NS),
};

int
lapic_restore(struct lapic *apic, const void *buf, size_t len)
{
	if (state_restore(&apic->st, sizeof(apic->st), buf, len, STATE_BOOLS(lapic_bools),
			  STATE_LIMITS(lapic_limits)) < 0)
		return -1;
	remap(apic);
	timer_arm(apic);
	apic->intr = false;
	irq_lower(&apic->cfg.intr);
	update(apic);
	return 0;
}

/* ---- The APIC bus ---- */

/* The xAPIC page of the bus: the registers of the running CPU's APIC. */
static uint64_t
bus_mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct apic_bus *bus = opaque;
	return mmio_read(bus->apic[bus->current], offset, size);
}

static void
bus_mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct apic_bus *bus = opaque;
	mmio_write(bus->apic[bus->current], offset, value, size);
}

static const struct mmio_ops bus_mmio = { bus_mmio_read, bus_mmio_write, 0 };

int
apic_bus_init(struct apic_bus *bus, struct lapic *apics, unsigned n, struct physmem *mem,
	      struct vclock *clock, const struct lapic_config *cfg)
{
	memset(bus, 0, sizeof(*bus));
	bus->mem = mem;
	bus->region = -1;
	bus->n = n < APIC_BUS_MAX ? n : APIC_BUS_MAX;
	for (unsigned k = 0; k < bus->n; k++)
		bus->apic[k] = &apics[k];
	if (n && cfg[0].present) {
		bus->region = physmem_add_mmio(mem, "lapic", LAPIC_DEFAULT_BASE, PAGE_SIZE,
					       &bus_mmio, bus);
		if (bus->region < 0)
			return -1;
	}
	for (unsigned k = 0; k < bus->n; k++) {
		struct lapic_config c = cfg[k];
		c.bus = bus;
		if (lapic_init(&apics[k], mem, clock, &c) < 0)
			return -1;
	}
	return 0;
}

/*
 * The running CPU changed: its APIC answers the page, which sits at its
 * IA32_APIC_BASE while it is in xAPIC mode (10.4.5, 10.12.1.2). Usually every
 * APIC has the same base and nothing moves.
 */
void
apic_bus_set_current(struct apic_bus *bus, unsigned index)
{
	if (index >= bus->n)
		return;
	bus->current = index;
	const struct lapic *apic = bus->apic[index];
	if (bus->region >= 0)
		physmem_region_place(bus->mem, bus->region, apic->st.apic_base & APIC_BASE_ADDR,
				     hw_enabled(apic) && !x2apic_mode(apic));
}

/*
 * The destinations of a message (10.6.2): a shorthand names the sender, every
 * APIC, or every APIC but the sender; otherwise each APIC compares the
 * destination with its own ID (physical) or LDR under its DFR model (logical,
 * flat or cluster; x2APIC cluster), broadcast included. Lowest priority
 * (10.6.2.4) keeps the one target with the lowest arbitration priority; a tie
 * goes to the lowest CPU index, so the choice is deterministic.
 */
uint32_t
apic_bus_targets(const struct apic_bus *bus, int src, const struct apic_msg *m)
{
	uint32_t set = 0;
	for (unsigned k = 0; k < bus->n; k++) {
		const struct lapic *a = bus->apic[k];
		bool self = (int)k == src, hit;
		switch (m->shorthand) {
		case APIC_SH_SELF: hit = self; break;
		case APIC_SH_ALL: hit = true; break;
		case APIC_SH_OTHERS: hit = !self; break;
		default: hit = hw_enabled(a) && dest_match(a, m->dest, m->logical); break;
		}
		if (hit)
			set |= 1u << k;
	}
	if (m->mode == APIC_DM_LOWEST && (set & (set - 1))) {
		unsigned best = 0, best_apr = 0x100;
		for (unsigned k = 0; k < bus->n; k++)
			if ((set >> k & 1) && apr(bus->apic[k]) < best_apr) {
				best = k;
				best_apr = apr(bus->apic[k]);
			}
		set = 1u << best;
	}
	return set;
}

bool
apic_bus_send(struct apic_bus *bus, int src, const struct apic_msg *m)
{
	uint32_t set = apic_bus_targets(bus, src, m);
	bool accepted = false;
	for (unsigned k = 0; k < bus->n; k++)
		if (set >> k & 1)
			accepted |= receive(bus->apic[k], m);
	return accepted;
}

void
apic_bus_reset(struct apic_bus *bus)
{
	for (unsigned k = 0; k < bus->n; k++)
		lapic_reset(bus->apic[k]);
	apic_bus_set_current(bus, 0);
}

/* Every APIC's state, one after the other. */
size_t
apic_bus_save(const struct apic_bus *bus, void *buf, size_t len)
{
	size_t one = sizeof(struct lapic_state), need = one * bus->n;
	if (buf && len >= need)
		for (unsigned k = 0; k < bus->n; k++)
			lapic_save(bus->apic[k], (char *)buf + k * one, one);
	return need;
}

int
apic_bus_check(const struct apic_bus *bus, const void *buf, size_t len, char *err, size_t errlen)
{
	size_t one = sizeof(struct lapic_state);
	if (len != one * bus->n) {
		snprintf(err, errlen, "%zu bytes", len);
		return -1;
	}
	for (unsigned k = 0; k < bus->n; k++) {
		char prefix[24];
		snprintf(prefix, sizeof(prefix), "cpu %u: ", k);
		if (state_check((const uint8_t *)buf + k * one, one, STATE_LIMITS(lapic_limits),
				prefix, err, errlen) < 0)
			return -1;
	}
	return 0;
}

int
apic_bus_restore(struct apic_bus *bus, const void *buf, size_t len)
{
	size_t one = sizeof(struct lapic_state);
	if (len != one * bus->n)
		return -1;
	for (unsigned k = 0; k < bus->n; k++)
		if (lapic_restore(bus->apic[k], (const char *)buf + k * one, one) < 0)
			return -1;
	apic_bus_set_current(bus, bus->current);
	return 0;
}
