/*
 * Unit tests: the local APIC (chipset/lapic.c) through its xAPIC page, its
 * MSRs and its pins, on a deterministic clock (1 ns per instruction, timer
 * input LAPIC_BUS_HZ = 1 GHz), so every expiry is exact. Section numbers
 * refer to the Intel SDM vol. 3A, chapter 10 (chapter 11 in recent editions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "chipset/lapic.h"
#include "cpu/msr.h"
#include "mmu/physmem.h"

#define BASE 0xfee00000u
#define ID 0x020
#define VER 0x030
#define TPR 0x080
#define PPR 0x0a0
#define EOI 0x0b0
#define SVR 0x0f0
#define ISR 0x100
#define TMR 0x180
#define IRR 0x200
#define ESR 0x280
#define ICR_LO 0x300
#define ICR_HI 0x310
#define LVT_T 0x320
#define LVT_L0 0x350
#define LVT_ERR 0x370
#define TIMER_INIT 0x380
#define TIMER_CUR 0x390
#define TIMER_DIV 0x3e0

struct fixture {
	uint64_t icount;
	uint64_t tsc_offset;
	struct vclock clock;
	struct physmem *mem;
	struct lapic apic;
	bool intr;
	int extint_acks;
	int eois;
	uint8_t last_eoi;
};

static void
set_intr(void *opaque, int n, int level)
{
	(void)n;
	struct fixture *f = opaque;
	f->intr = level;
}

static int
extint_ack(void *opaque)
{
	struct fixture *f = opaque;
	f->extint_acks++;
	return 0x08; /* what the 8259 master would answer for IRQ0 */
}

static void
on_eoi(void *opaque, uint8_t vector)
{
	struct fixture *f = opaque;
	f->eois++;
	f->last_eoi = vector;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	vclock_init(&f->clock, VCLOCK_DETERMINISTIC, &f->icount);
	f->mem = physmem_create(1u << 20);
	struct lapic_config cfg = { .present = true,
				    .x2apic = true,
				    .tsc_deadline = true,
				    .tsc_offset = &f->tsc_offset,
				    .intr = IRQ_LINE(set_intr, f, 0),
				    .extint_ack = extint_ack,
				    .eoi = on_eoi,
				    .opaque = f };
	assert_int_equal(lapic_init(&f->apic, f->mem, &f->clock, &cfg), 0);
	f->icount = 1000;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	vtimer_disarm(&f->apic.timer);
	physmem_destroy(f->mem);
	vclock_destroy(&f->clock);
	free(f);
	return 0;
}

static uint32_t
rd(struct fixture *f, unsigned reg)
{
	return (uint32_t)physmem_read_sized(f->mem, BASE + reg, 4);
}

static void
wr(struct fixture *f, unsigned reg, uint32_t v)
{
	physmem_write_sized(f->mem, BASE + reg, v, 4);
}

static bool
irr_has(struct fixture *f, unsigned v)
{
	return (rd(f, IRR + 0x10 * (v / 32)) >> (v % 32)) & 1;
}

/* Software-enable the APIC (SVR bit 8, 10.4.7.2) with spurious vector 0xff. */
static void
enable(struct fixture *f)
{
	wr(f, SVR, 0x1ff);
}

/*
 * Power-on state (10.4.7.1, 10.4.8): APIC ID 0, version 0x14 with max LVT 5,
 * SVR 0xFF, DFR all ones, the LVT masked except LINT0 (virtual-wire ExtINT,
 * fugu's documented choice), IA32_APIC_BASE 0xFEE00900 (BSP, enabled).
 */
static void
reset_state(void **state)
{
	struct fixture *f = *state;
	uint64_t base;
	assert_int_equal(rd(f, ID), 0);
	assert_int_equal(rd(f, VER), 0x00050014);
	assert_int_equal(rd(f, SVR), 0xff);
	assert_int_equal(rd(f, 0x0e0), 0xffffffffu);
	assert_int_equal(rd(f, LVT_T), 0x10000);
	assert_int_equal(rd(f, LVT_ERR), 0x10000);
	assert_int_equal(rd(f, LVT_L0), 0x700);
	assert_int_equal(lapic_msr_read(&f->apic, MSR_APIC_BASE, &base), 0);
	assert_int_equal(base, 0xfee00900);
	/* Clearing the software enable masks the LVT and keeps it masked (10.4.7.2). */
	wr(f, SVR, 0x0ff);
	assert_int_equal(rd(f, LVT_L0), 0x10700);
	wr(f, LVT_L0, 0x700);
	assert_int_equal(rd(f, LVT_L0), 0x10700);
}

/*
 * One-shot timer (10.5.4): with divide-by-16 the count of 1000 reaches 0
 * after 16000 ns; the current count is computed from the clock; one
 * interrupt, then the count stays 0 and no timer is armed.
 */
static void
timer_one_shot(void **state)
{
	struct fixture *f = *state;
	enable(f);
	wr(f, TIMER_DIV, 0x3); /* divide by 16 (figure 10-10) */
	wr(f, LVT_T, 0x40);
	wr(f, TIMER_INIT, 1000);
	assert_int_equal(vclock_next_deadline(&f->clock), 1000 + 16000);
	f->icount = 1000 + 1600;
	assert_int_equal(rd(f, TIMER_CUR), 900);
	f->icount = 1000 + 16000 - 1;
	assert_int_equal(vclock_run_expired(&f->clock), 0);
	assert_false(f->intr);
	f->icount = 1000 + 16000;
	assert_int_equal(vclock_run_expired(&f->clock), 1);
	assert_true(irr_has(f, 0x40));
	assert_true(f->intr);
	assert_int_equal(rd(f, TIMER_CUR), 0);
	assert_int_equal(vclock_next_deadline(&f->clock), VCLOCK_NEVER);
	/* Writing 0 to the initial count stops a running timer. */
	wr(f, TIMER_INIT, 50);
	wr(f, TIMER_INIT, 0);
	assert_int_equal(vclock_next_deadline(&f->clock), VCLOCK_NEVER);
}

/*
 * Periodic timer (10.5.4): the count reloads at 0 and interrupts every
 * initial-count ticks; a masked entry suppresses the interrupt only (the
 * timer keeps its period). A divide change continues from the current count.
 */
static void
timer_periodic(void **state)
{
	struct fixture *f = *state;
	enable(f);
	wr(f, TIMER_DIV, 0xb); /* divide by 1 */
	wr(f, LVT_T, 0x20000 | 0x41);
	wr(f, TIMER_INIT, 500);
	int taken = 0;
	for (unsigned k = 1; k <= 3; k++) {
		uint64_t due = 1000 + 500 * k;
		assert_int_equal(vclock_next_deadline(&f->clock), due);
		f->icount = due;
		vclock_run_expired(&f->clock);
		assert_int_equal(rd(f, TIMER_CUR), 500);
		if (lapic_intr_ack(&f->apic) == 0x41) {
			taken++;
			wr(f, EOI, 0);
		}
	}
	assert_int_equal(taken, 3);
	f->icount += 100;
	assert_int_equal(rd(f, TIMER_CUR), 400);
	/* Masked: the period goes on, nothing is requested, and no host timer is
	 * armed for it (an expiry nobody can see must not wake the host). */
	wr(f, LVT_T, 0x30000 | 0x41);
	assert_int_equal(vclock_next_deadline(&f->clock), VCLOCK_NEVER);
	f->icount = 1000 + 2000;
	vclock_run_expired(&f->clock);
	assert_false(irr_has(f, 0x41));
	assert_int_equal(rd(f, TIMER_CUR), 500);
	/* Divide by 2 at count 500: the remaining 500 ticks take 1000 ns. */
	wr(f, TIMER_DIV, 0x0);
	assert_int_equal(rd(f, TIMER_CUR), 500);
	f->icount += 300; /* 150 ticks */
	assert_int_equal(rd(f, TIMER_CUR), 350);
	/* Unmasked: the next expiry of the same period is armed again. */
	wr(f, LVT_T, 0x20000 | 0x41);
	assert_int_equal(vclock_next_deadline(&f->clock), 1000 + 2000 + 1000);
	assert_false(irr_has(f, 0x41));
}

/*
 * A masked periodic timer at initial count 1 (the hostile case: an expiry
 * every bus clock) arms nothing, however long it runs; the count still reads
 * as the period says, and the TSC-deadline MSR reads 0 once a masked deadline
 * has passed (10.5.4.1).
 */
static void
timer_masked_costs_nothing(void **state)
{
	struct fixture *f = *state;
	enable(f);
	wr(f, TIMER_DIV, 0xb);
	wr(f, LVT_T, 0x30000 | 0x41);
	wr(f, TIMER_INIT, 1);
	assert_int_equal(vclock_next_deadline(&f->clock), VCLOCK_NEVER);
	f->icount += 1000000000ull;
	vclock_run_expired(&f->clock);
	assert_int_equal(rd(f, TIMER_CUR), 1);
	assert_false(irr_has(f, 0x41));
	/* Software disable masks the entry: an armed timer stops too. */
	wr(f, LVT_T, 0x20000 | 0x41);
	assert_true(vclock_next_deadline(&f->clock) != VCLOCK_NEVER);
	wr(f, SVR, 0x0ff);
	assert_int_equal(vclock_next_deadline(&f->clock), VCLOCK_NEVER);
	/* TSC deadline, masked: passes silently and the MSR reads 0. */
	enable(f);
	wr(f, LVT_T, 0x50000 | 0x41);
	assert_int_equal(lapic_msr_write(&f->apic, MSR_TSC_DEADLINE, f->icount + 100), 0);
	assert_int_equal(vclock_next_deadline(&f->clock), VCLOCK_NEVER);
	f->icount += 200;
	uint64_t v = 1;
	assert_int_equal(lapic_msr_read(&f->apic, MSR_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0);
	assert_false(irr_has(f, 0x41));
}

/*
 * TSC-deadline mode (10.5.4.1): IA32_TSC_DEADLINE arms the timer at a TSC
 * value (TSC = virtual ns + offset here); it fires once and the MSR reads 0;
 * the initial-count register is ignored; outside that mode the MSR reads 0
 * and ignores writes; a deadline already passed fires at once.
 */
static void
timer_tsc_deadline(void **state)
{
	struct fixture *f = *state;
	uint64_t v;
	enable(f);
	f->tsc_offset = 7000;
	assert_int_equal(lapic_msr_write(&f->apic, MSR_TSC_DEADLINE, 99999), 0);
	assert_int_equal(lapic_msr_read(&f->apic, MSR_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0); /* one-shot mode: ignored */
	wr(f, LVT_T, 0x40000 | 0x42);
	wr(f, TIMER_INIT, 10);
	assert_int_equal(rd(f, TIMER_INIT), 0);
	assert_int_equal(vclock_next_deadline(&f->clock), VCLOCK_NEVER);
	assert_int_equal(lapic_msr_write(&f->apic, MSR_TSC_DEADLINE, 7000 + 6000), 0);
	assert_int_equal(vclock_next_deadline(&f->clock), 6000);
	assert_int_equal(lapic_msr_read(&f->apic, MSR_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 13000);
	f->icount = 5999;
	vclock_run_expired(&f->clock);
	assert_false(irr_has(f, 0x42));
	f->icount = 6000;
	vclock_run_expired(&f->clock);
	assert_true(irr_has(f, 0x42));
	assert_int_equal(lapic_msr_read(&f->apic, MSR_TSC_DEADLINE, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(vclock_next_deadline(&f->clock), VCLOCK_NEVER);
	/* A past deadline fires during the write. */
	assert_int_equal(lapic_intr_ack(&f->apic), 0x42);
	wr(f, EOI, 0);
	assert_int_equal(lapic_msr_write(&f->apic, MSR_TSC_DEADLINE, 1), 0);
	assert_true(irr_has(f, 0x42));
}

/*
 * Priorities (10.8.3.1): a request is dispatched only if its class is above
 * PPR[7:4]; PPR is the TPR or the in-service class, whichever is higher.
 * CR8 is TPR[7:4] (10.8.6.1).
 */
static void
tpr_ppr_masking(void **state)
{
	struct fixture *f = *state;
	enable(f);
	wr(f, TPR, 0x50);
	assert_true(lapic_deliver(&f->apic, 0x51, APIC_DM_FIXED, false, 0, false));
	assert_true(irr_has(f, 0x51));
	assert_false(f->intr);
	assert_int_equal(lapic_intr_ack(&f->apic), -1);
	lapic_set_cr8(&f->apic, 4);
	assert_int_equal(rd(f, TPR), 0x40);
	assert_int_equal(lapic_get_cr8(&f->apic), 4);
	assert_true(f->intr);
	assert_int_equal(lapic_intr_ack(&f->apic), 0x51);
	assert_false(irr_has(f, 0x51));
	assert_int_equal(rd(f, ISR + 0x20), 1u << (0x51 - 0x40));
	assert_int_equal(rd(f, PPR), 0x50);
	/* Same class as the one in service: held; a higher class: dispatched. */
	lapic_deliver(&f->apic, 0x5f, APIC_DM_FIXED, false, 0, false);
	assert_false(f->intr);
	lapic_deliver(&f->apic, 0x61, APIC_DM_FIXED, false, 0, false);
	assert_true(f->intr);
	assert_int_equal(lapic_intr_ack(&f->apic), 0x61);
	assert_int_equal(rd(f, PPR), 0x60);
	/* EOI the 0x61, then the 0x51: 0x5f becomes deliverable. */
	wr(f, EOI, 0);
	assert_false(f->intr);
	wr(f, EOI, 0);
	assert_true(f->intr);
	assert_int_equal(lapic_intr_ack(&f->apic), 0x5f);
}

/*
 * EOI (10.8.5): retires the highest in-service vector; for a level-triggered
 * one (TMR set) the EOI is broadcast to the IOAPIC, for an edge one it is not.
 */
static void
eoi_broadcast(void **state)
{
	struct fixture *f = *state;
	enable(f);
	lapic_deliver(&f->apic, 0x30, APIC_DM_FIXED, true, 0, false);
	assert_int_equal(rd(f, TMR + 0x10), 1u << 16);
	assert_int_equal(lapic_intr_ack(&f->apic), 0x30);
	lapic_deliver(&f->apic, 0x41, APIC_DM_FIXED, false, 0, false);
	assert_int_equal(rd(f, TMR + 0x20), 0);
	assert_int_equal(lapic_intr_ack(&f->apic), 0x41);
	wr(f, EOI, 0); /* retires 0x41, edge: no broadcast */
	assert_int_equal(f->eois, 0);
	assert_int_equal(rd(f, ISR + 0x20), 0);
	assert_int_equal(rd(f, ISR + 0x10), 1u << 16);
	wr(f, EOI, 0);
	assert_int_equal(f->eois, 1);
	assert_int_equal(f->last_eoi, 0x30);
	assert_int_equal(rd(f, ISR + 0x10), 0);
	wr(f, EOI, 0); /* nothing in service: nothing happens */
	assert_int_equal(f->eois, 1);
}

/*
 * IPIs through the ICR (10.6.1): shorthand self, or a physical destination
 * equal to the APIC ID, requests the vector here; another ID does not; an
 * illegal vector sets "send illegal vector" in the ESR, which a write latches
 * (10.5.3).
 */
static void
self_ipi(void **state)
{
	struct fixture *f = *state;
	enable(f);
	wr(f, ICR_LO, 0x40000 | 0x70);
	assert_true(irr_has(f, 0x70));
	assert_int_equal(rd(f, ICR_LO) & (1u << 12), 0); /* delivery status idle */
	wr(f, ICR_HI, 1u << 24);
	wr(f, ICR_LO, 0x71);
	assert_false(irr_has(f, 0x71));
	wr(f, ICR_HI, 0);
	wr(f, ICR_LO, 0x71);
	assert_true(irr_has(f, 0x71));
	wr(f, ICR_LO, 0x40000 | 0x05);
	assert_int_equal(rd(f, ESR), 0);
	wr(f, ESR, 0);
	assert_int_equal(rd(f, ESR), 1u << 5);
	wr(f, ESR, 0);
	assert_int_equal(rd(f, ESR), 0);
	/* x2APIC SELF IPI MSR (10.12.11). */
	uint64_t base;
	lapic_msr_read(&f->apic, MSR_APIC_BASE, &base);
	assert_int_equal(lapic_msr_write(&f->apic, MSR_APIC_BASE, base | (1u << 10)), 0);
	assert_int_equal(lapic_msr_write(&f->apic, 0x83f, 0x72), 0);
	uint64_t irr;
	assert_int_equal(lapic_msr_read(&f->apic, 0x800 + (IRR >> 4) + 3, &irr), 0);
	assert_int_equal(irr, 0x70000u); /* 0x70, 0x71, 0x72 */
	/* Bits 31:8 of SELF IPI are reserved: #GP, nothing sent (10.12.11). */
	assert_int_equal(lapic_msr_write(&f->apic, 0x83f, 0x173), -1);
	assert_int_equal(lapic_msr_write(&f->apic, 0x83f, 0x80000073u), -1);
	assert_int_equal(lapic_msr_read(&f->apic, 0x800 + (IRR >> 4) + 3, &irr), 0);
	assert_int_equal(irr, 0x70000u);
}

/*
 * Changing the timer mode between one-shot and periodic "does not start the
 * timer" (10.5.4): an expired one-shot timer switched to periodic stays at 0
 * with nothing armed; a running one keeps counting from where it is.
 */
static void
timer_mode_change(void **state)
{
	struct fixture *f = *state;
	enable(f);
	wr(f, TIMER_DIV, 0xb); /* divide by 1 */
	wr(f, LVT_T, 0x42);
	wr(f, TIMER_INIT, 100);
	f->icount = 1000 + 100;
	assert_int_equal(vclock_run_expired(&f->clock), 1);
	f->icount = 1000 + 150;
	assert_int_equal(rd(f, TIMER_CUR), 0);
	wr(f, LVT_T, 0x20000 | 0x42);
	assert_int_equal(rd(f, TIMER_CUR), 0);
	f->icount = 1000 + 230;
	assert_int_equal(rd(f, TIMER_CUR), 0);
	assert_int_equal(vclock_next_deadline(&f->clock), VCLOCK_NEVER);
	/* Running periodic, switched to one-shot in its third period: the count goes
	 * on to 0 and the timer stops there. */
	wr(f, TIMER_INIT, 100); /* starts at 1230 */
	f->icount = 1230 + 250;
	vclock_run_expired(&f->clock);
	assert_int_equal(rd(f, TIMER_CUR), 50);
	wr(f, LVT_T, 0x42);
	assert_int_equal(rd(f, TIMER_CUR), 50);
	assert_int_equal(vclock_next_deadline(&f->clock), 1230 + 300);
	f->icount = 1230 + 300;
	vclock_run_expired(&f->clock);
	f->icount = 1230 + 360;
	assert_int_equal(rd(f, TIMER_CUR), 0);
	assert_int_equal(vclock_next_deadline(&f->clock), VCLOCK_NEVER);
}

/*
 * LINT0 in ExtINT mode passes the 8259's INTR to the CPU and the acknowledge
 * to the 8259 (10.5.1); masked, it does not; with the APIC globally disabled
 * (IA32_APIC_BASE.EN = 0, 10.4.3) the 8259 reaches the CPU directly and the
 * xAPIC page is gone.
 */
static void
extint_through_lint0(void **state)
{
	struct fixture *f = *state;
	lapic_set_lint(&f->apic, 0, true);
	assert_true(f->intr);
	assert_int_equal(lapic_intr_ack(&f->apic), 0x08);
	assert_int_equal(f->extint_acks, 1);
	enable(f);
	wr(f, LVT_L0, 0x10700);
	assert_false(f->intr);
	assert_int_equal(lapic_intr_ack(&f->apic), -1);
	assert_int_equal(f->extint_acks, 1);
	assert_int_equal(lapic_msr_write(&f->apic, MSR_APIC_BASE, 0xfee00000), 0);
	assert_true(f->intr);
	assert_int_equal(lapic_intr_ack(&f->apic), 0x08);
	assert_int_equal(rd(f, VER), 0xffffffffu); /* unassigned */
	lapic_set_lint(&f->apic, 0, false);
	assert_false(f->intr);
	/* Re-enabled: the registers were reset, the LVT masked (10.4.3, 10.4.7.1). */
	assert_int_equal(lapic_msr_write(&f->apic, MSR_APIC_BASE, 0xfee00800), 0);
	assert_int_equal(rd(f, LVT_L0), 0x10000);
	assert_int_equal(rd(f, SVR), 0xff);
}

/*
 * IA32_APIC_BASE (10.4.5, 10.12.5): the page moves with the base address;
 * x2APIC mode hides it and exposes the MSRs (ID, version, 64-bit ICR);
 * x2APIC to xAPIC and x2APIC while disabled are invalid (#GP), and the
 * x2APIC MSRs #GP outside x2APIC mode.
 */
static void
apic_base_msr(void **state)
{
	struct fixture *f = *state;
	uint64_t v;
	assert_int_equal(lapic_msr_read(&f->apic, 0x803, &v), -1);
	assert_int_equal(lapic_msr_write(&f->apic, MSR_APIC_BASE, 0xfed00800), 0);
	assert_int_equal(physmem_read_sized(f->mem, 0xfed00000 + VER, 4), 0x00050014);
	assert_int_equal(rd(f, VER), 0xffffffffu);
	assert_int_equal(lapic_msr_read(&f->apic, MSR_APIC_BASE, &v), 0);
	assert_int_equal(v, 0xfed00900); /* BSP is read-only */
	assert_int_equal(lapic_msr_write(&f->apic, MSR_APIC_BASE, 0xfee00c00), 0);
	assert_int_equal(rd(f, VER), 0xffffffffu);
	assert_int_equal(lapic_msr_read(&f->apic, 0x803, &v), 0);
	assert_int_equal(v, 0x00050014);
	assert_int_equal(lapic_msr_read(&f->apic, 0x802, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(lapic_msr_read(&f->apic, 0x80d, &v), 0);
	assert_int_equal(v, 1); /* logical ID: cluster 0, bit 0 (10.12.10.2) */
	assert_int_equal(lapic_msr_write(&f->apic, 0x802, 5), -1); /* read-only */
	assert_int_equal(lapic_msr_read(&f->apic, 0x80e, &v), -1); /* no DFR */
	assert_int_equal(lapic_msr_write(&f->apic, MSR_APIC_BASE, 0xfee00800), -1);
	assert_int_equal(lapic_msr_write(&f->apic, MSR_APIC_BASE, 0xfee00000), 0);
	assert_int_equal(lapic_msr_write(&f->apic, MSR_APIC_BASE, 0xfee00400), -1);
}

/* Save and restore: the armed timer and the pending request come back. */
static void
save_restore(void **state)
{
	struct fixture *f = *state;
	enable(f);
	wr(f, LVT_T, 0x44);
	wr(f, TIMER_INIT, 300);
	lapic_deliver(&f->apic, 0x90, APIC_DM_FIXED, false, 0, false);
	unsigned char buf[sizeof(f->apic.st)];
	assert_int_equal(lapic_save(&f->apic, buf, sizeof(buf)), sizeof(buf));
	lapic_reset(&f->apic);
	assert_false(f->intr);
	assert_int_equal(vclock_next_deadline(&f->clock), VCLOCK_NEVER);
	assert_int_equal(lapic_restore(&f->apic, buf, sizeof(buf)), 0);
	assert_true(f->intr);
	assert_int_equal(vclock_next_deadline(&f->clock), 1000 + 300 * 2);
	assert_int_equal(lapic_intr_ack(&f->apic), 0x90);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reset_state, setup, teardown),
		cmocka_unit_test_setup_teardown(timer_one_shot, setup, teardown),
		cmocka_unit_test_setup_teardown(timer_periodic, setup, teardown),
		cmocka_unit_test_setup_teardown(timer_masked_costs_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(timer_tsc_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(timer_mode_change, setup, teardown),
		cmocka_unit_test_setup_teardown(tpr_ppr_masking, setup, teardown),
		cmocka_unit_test_setup_teardown(eoi_broadcast, setup, teardown),
		cmocka_unit_test_setup_teardown(self_ipi, setup, teardown),
		cmocka_unit_test_setup_teardown(extint_through_lint0, setup, teardown),
		cmocka_unit_test_setup_teardown(apic_base_msr, setup, teardown),
		cmocka_unit_test_setup_teardown(save_restore, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
