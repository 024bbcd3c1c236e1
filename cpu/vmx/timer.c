/*
 * fugu — the VMX-preemption timer (SDM vol. 3C, 25.5.1; 26.7.4 for VM entry,
 * 27.3.1 for the save, 25.2 for its priority). In non-root operation with
 * "activate VMX-preemption timer" it counts down from the value VM entry
 * loaded, by 1 each time bit X = VMX_PREEMPT_SHIFT (IA32_VMX_MISC[4:0]) of the
 * TSC changes, and at zero causes a VM exit (reason 52). The TSC is fugu's
 * virtual clock (1 GHz), so nothing ticks: VM entry computes the clock time of
 * the expiry and asks the board for a timer there (cpu_bus.vmx_timer_arm); the
 * timer raises EV_VMX_TIMER and the next boundary compares the TSC again.
 * In deterministic mode that boundary is exactly the first one at or after
 * the expiry, since the board's budget stops the CPU at the next deadline.
 *
 * PAUSE-loop exiting (25.1.3) measures time with the same TSC.
 */
#include "cpu/vmx/vmx_internal.h"

#define F(id) (cpu->vmx->f[VMCS_##id])

static void
arm(struct cpu *cpu, uint64_t deadline_ns)
{
	if (cpu->bus.vmx_timer_arm)
		cpu->bus.vmx_timer_arm(cpu->bus.vmx_timer_opaque, deadline_ns);
}

/* Ticks of the timer since VM entry: changes of TSC bit X. */
static uint64_t
elapsed(struct cpu *cpu)
{
	return (cpu_tsc(cpu) >> VMX_PREEMPT_SHIFT) - cpu->vmx->preempt_start;
}

bool
vmx_preempt_expired(struct cpu *cpu)
{
	return cpu->vmx->preempt_on && elapsed(cpu) >= cpu->vmx->preempt_value;
}

/* The exit wakes the guest from HLT as an NMI would (25.2); never from
 * wait-for-SIPI, where the timer causes no exit. */
static void
wake(struct cpu *cpu)
{
	if (cpu->state.halted && !cpu->wait_sipi)
		vmx_wake_for_exit(cpu);
	cpu_raise_events(cpu, EV_VMX_TIMER);
}

void
vmx_preempt_start(struct cpu *cpu)
{
	struct vmx *v = cpu->vmx;
	v->preempt_on = true;
	v->preempt_value = (uint32_t)F(PREEMPTION_TIMER);
	uint64_t tsc = cpu_tsc(cpu);
	v->preempt_start = tsc >> VMX_PREEMPT_SHIFT;
	if (v->preempt_value == 0) {
		/* Expired during VM entry: the exit comes after any event injection,
		 * before the first guest instruction (26.7.4). */
		wake(cpu);
		return;
	}
	/* The TSC value at which bit X has changed preempt_value times, as clock time. */
	uint64_t expiry = (v->preempt_start + v->preempt_value) << VMX_PREEMPT_SHIFT;
	uint64_t now = cpu->clock_ns ? cpu->clock_ns(cpu->clock_opaque) : cpu->icount;
	arm(cpu, now + (expiry - tsc));
	/* Back to the board, which sizes the next run to the new deadline. */
	if (cpu->bus.vmx_timer_arm)
		cpu->budget_end = cpu->icount;
}

void
vmx_preempt_stop(struct cpu *cpu, bool expired)
{
	struct vmx *v = cpu->vmx;
	if (!v->preempt_on)
		return;
	if (F(EXIT_CTLS) & EXIT_SAVE_PREEMPT) {
		uint64_t e = elapsed(cpu);
		F(PREEMPTION_TIMER) =
			expired || e >= v->preempt_value ? 0 : v->preempt_value - (uint32_t)e;
	}
	v->preempt_on = false;
	arm(cpu, UINT64_MAX);
}

void
vmx_preempt_fire(struct cpu *cpu)
{
	if (cpu->vmx && cpu->vmx_nonroot && vmx_preempt_expired(cpu))
		wake(cpu);
}

/* 25.1.3: a PAUSE at CPL 0 more than PLE_Gap after the previous one (or the
 * first since VM entry) starts a loop; one more than PLE_Window after the
 * start of its loop exits. Time is TSC ticks. */
bool
vmx_ple_exits(struct cpu *cpu)
{
	struct vmx *v = cpu->vmx;
	if (cpu->state.cpl != 0)
		return false;
	uint64_t now = cpu_tsc(cpu);
	if (!v->ple_seen || now - v->ple_last > (uint32_t)F(PLE_GAP)) {
		v->ple_seen = true;
		v->ple_first = now;
	}
	v->ple_last = now;
	return now - v->ple_first > (uint32_t)F(PLE_WINDOW);
}
