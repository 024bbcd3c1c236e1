/*
 * fugu — the run loop: runs decoded traces until the instruction budget is used
 * up or something needs the board's attention, and accepts interrupts (SMI,
 * NMI, INTR) at instruction boundaries. Every instruction, in every loop (plain,
 * traced, debug single-step), runs through exec_one (cpu_internal.h).
 */
#include "cpu/cpu_internal.h"
#include "cpu/jit/jit.h"
#include "cpu/tcache.h"
#include "cpu/trace_cpu.h"
#include "cpu/vmx/vmx.h"

bool cpu_handle_fault(struct cpu *cpu); /* except.c */

/* The least number of steps that retire nothing (see cpu_exec) a call may take. */
#define STALL_MIN 64

void
cpu_raise_events(struct cpu *cpu, uint32_t ev)
{
	cpu->events |= ev;
	cpu->stop_trace = true; /* take it at the next instruction boundary, not the next trace */
	if ((ev & EV_INTR) && cpu->state.halted && !cpu->wait_sipi) {
		if (cpu->vmx_nonroot && vmx_shutdown_state(cpu))
			; /* the shutdown activity state blocks them (vol. 3C, 26.6.2) */
		else if (cpu->state.rflags & F_IF)
			cpu->state.halted = false;
		else if (cpu->vmx_nonroot && vmx_intr_exits(cpu))
			vmx_wake_for_exit(cpu); /* IF does not matter (vol. 3C, 25.2) */
	}
}

void
cpu_clear_events(struct cpu *cpu, uint32_t ev)
{
	cpu->events &= ~ev;
}

void
cpu_sipi(struct cpu *cpu, uint8_t vector)
{
	if (!cpu->wait_sipi && !(cpu->events & EV_INIT))
		return; /* a running CPU ignores STARTUP (vol. 3A, 8.4.3) */
	cpu->sipi_vector = vector;
	cpu_raise_events(cpu, EV_SIPI);
}

/* INIT waits while in SMM and in VMX root operation (vol. 3C, 23.8, 32.14). */
static bool
init_blocked(const struct cpu *cpu)
{
	return cpu->state.in_smm || (cpu->vmx && cpu->vmx->on && !cpu->vmx_nonroot);
}

bool
cpu_runnable(const struct cpu *cpu)
{
	/* EV_STOP only asks for the run loop's attention: no reason to run a halted CPU. */
	uint32_t init = init_blocked(cpu) ? 0 : EV_INIT;
	if (cpu->wait_sipi) /* only INIT and STARTUP end it (vol. 3A, 8.4.1) */
		return cpu->events & (init | EV_SIPI);
	return !cpu->state.halted || (cpu->events & (EV_NMI | EV_SMI | init));
}

/*
 * INIT and STARTUP at a boundary. INIT (vol. 3A, 9.1, table 9-1) is RESET
 * keeping the x87/SSE state, XCR0, the MSRs and SMBASE; the BSP then runs from
 * the reset vector and an AP waits for SIPI (8.4.1). INIT waits while in SMM
 * (vol. 3C, 32.5.1). A STARTUP IPI starts a waiting CPU in real mode at
 * vector:0000, CS base vector << 12 (8.4.3, 10.6.1); it is ignored otherwise.
 */
static void
take_init_sipi(struct cpu *cpu)
{
	if ((cpu->events & EV_INIT) && !init_blocked(cpu)) {
		cpu->events &= ~(uint32_t)EV_INIT;
		if (cpu->vmx_nonroot)
			vmx_signal_exit(cpu, false); /* exit reason 3 (vol. 3C, 25.2) */
		cpu_init(cpu); /* a SIPI latched after the INIT is taken next */
	}
	if (cpu->events & EV_SIPI) {
		cpu->events &= ~(uint32_t)EV_SIPI;
		if (!cpu->wait_sipi)
			return;
		if (cpu->vmx_nonroot) /* a guest in wait-for-SIPI: exit reason 4 (25.2) */
			vmx_signal_exit(cpu, true);
		cpu->wait_sipi = false;
		cpu->state.halted = false;
		cpu->state.seg[S_CS].sel = (uint16_t)(cpu->sipi_vector << 8);
		cpu->state.seg[S_CS].base = (uint64_t)cpu->sipi_vector << 12;
		cpu->state.rip = 0;
		cpu_state_changed(cpu);
	}
}

/* Take a pending interrupt if the CPU can; returns true if one was delivered. */
static bool
take_interrupts(struct cpu *cpu)
{
	if (cpu->state.intr_shadow)
		return false;
	/* NMI: above INTR, not masked by IF, blocked while an NMI handler runs (until
	 * its IRET) and in SMM (SDM vol. 3A, 6.7.1, 6.9; vol. 3C, 32.8). */
	if ((cpu->events & EV_NMI) && !cpu->state.nmi_blocked && !cpu->state.in_smm) {
		cpu->events &= ~(uint32_t)EV_NMI;
		cpu->state.nmi_blocked = true;
		cpu->state.halted = false;
		if (cpu->vmx_nonroot) /* an NMI ends the shutdown activity state */
			vmx_leave_shutdown(cpu);
		cpu->insn_rip = cpu->state.rip;
		cpu_deliver_event(cpu, EXC_NMI, EVENT_NMI, NO_ERRCODE, cpu->state.rip);
		return true;
	}
	if ((cpu->events & EV_INTR) && (cpu->state.rflags & F_IF) &&
	    !(cpu->vmx_nonroot && vmx_shutdown_state(cpu))) {
		int vector = cpu->bus.intr_ack ? cpu->bus.intr_ack(cpu->bus.opaque) : -1;
		if (vector < 0) {
			cpu->events &= ~(uint32_t)EV_INTR;
			return false;
		}
		cpu->state.halted = false;
		cpu->insn_rip = cpu->state.rip;
		cpu_deliver_event(cpu, (unsigned)vector, EVENT_EXTERNAL, NO_ERRCODE,
				  cpu->state.rip);
		return true;
	}
	return false;
}

/* Run one trace, or its first `limit` instructions. RIP and the instruction
 * count live in registers across the trace (exec_one's contract). */
static inline void
run_trace(struct cpu *cpu, const struct trace *t, unsigned limit)
{
	uint64_t mask = cpu_ip_mask(cpu), rip = cpu->state.rip, icount = cpu->icount;
	for (unsigned k = 0; k < limit; k++) {
		exec_one(cpu, &t->insn[k], &rip, &icount, mask);
		if (__builtin_expect(cpu->stop_trace, 0))
			break;
	}
}

void
cpu_run_trace_interp(struct cpu *cpu, const struct trace *t, unsigned limit)
{
	run_trace(cpu, t, limit);
}

/* Count a run of t towards the JIT's threshold and compile it when it is hot.
 * False when the code arena was full and the whole cache was flushed: t is no
 * longer in it (its page no longer notices stores), so the caller must look
 * the trace up again rather than run it. */
static inline bool
jit_hot(struct cpu *cpu, struct trace *t)
{
	if (!cpu->jit || t->jit || t->jit_failed || ++t->hits < jit_threshold(cpu->jit))
		return true;
	return jit_compile(cpu, t);
}

/* The same with a trace event per instruction. */
static void
run_trace_traced(struct cpu *cpu, const struct trace *t, unsigned limit)
{
	uint64_t mask = cpu_ip_mask(cpu), rip = cpu->state.rip, icount = cpu->icount;
	struct trace_insn_pre pre;
	for (unsigned k = 0; k < limit; k++) {
		const struct insn *i = &t->insn[k];
		/* Header and bytes as the instruction is about to run: a far
		 * transfer or a mode switch must not change how it is reported. */
		bool want = trace_insn_begin(cpu, &pre);
		exec_one(cpu, i, &rip, &icount, mask);
		if (want)
			trace_insn_end(cpu->tracer, cpu, &pre, i, t->bytes ? t->bytes[k] : NULL,
				       t->code_size);
		if (cpu->stop_trace)
			break;
	}
}

/*
 * A step that retires nothing (see cpu_exec) just happened -- a fault or event
 * delivered, a VM exit or failed VM entry, a debug step: true when the call
 * must yield. It is a stall only when no instruction retired since the last
 * such step, so the first fault after some progress is free. The count does
 * not depend on where traces begin and end (an interpreted trace that retires
 * six instructions and faults on the seventh, and a compiled one that stops
 * after the sixth with the fault in the next trace, stall alike).
 */
static bool
stalled(struct cpu *cpu)
{
	if (cpu->icount != cpu->stall_icount) {
		cpu->stall_icount = cpu->icount;
		return false;
	}
	return cpu->stalls_left-- == 0;
}

/*
 * Run until `max_insns` instructions have retired, or something needs the
 * board (HLT, a triple fault, a debugger stop...). The budget bounds the work
 * of a call whatever the guest does: a step that retires nothing (a fault or
 * an event delivered, a VM exit or failed VM entry, an instruction breakpoint
 * taken) with nothing retired since the previous one is a stall, and after
 * max(max_insns, STALL_MIN) of them the call returns CPU_EXIT_BUDGET at an
 * instruction boundary (after the delivery). Hardware can loop
 * forever without retiring anything -- a #DB handler whose first instruction
 * has an instruction breakpoint (delivery clears RF, SDM vol. 3A, 17.3.1.1),
 * a handler that faults again, VMRESUME at host RIP failing VM entry -- and
 * fugu loops the same way, only in bounded slices, so the run loop still
 * gets control (timers, -timeout, the monitor). Stalls are counted at those
 * steps, not at loop heads: loop heads come at trace ends, which differ
 * between the interpreter and the JIT (docs/PERFORMANCE.md, branch jit6).
 */
enum cpu_exit
cpu_exec(struct cpu *cpu, uint64_t max_insns)
{
	cpu->budget_end = cpu->icount + max_insns;
	cpu->stalls_left = max_insns > STALL_MIN ? max_insns : STALL_MIN;
	cpu->stall_icount = cpu->icount - 1; /* the first such step is no stall */
	switch (setjmp(cpu->fault_jmp)) {
	case 0: break;
	case 1:                     /* a fault unwound here: deliver it (which may fault again) */
		cpu->jcheck = NULL; /* -jit check: that run is not compared */
		cpu->stop_trace = false;
		if (cpu->cur_trace)
			tcache_leave(cpu); /* the trace was left at the faulting instruction */
		if (!cpu->shutdown && cpu_handle_fault(cpu)) {
			if (cpu->dbg.step) { /* the stepped instruction faulted: stop at the handler
					      */
				cpu->dbg.stop = DBG_STOP_STEP;
				return CPU_EXIT_DEBUG;
			}
			if (stalled(cpu))
				return CPU_EXIT_BUDGET;
			break;
		}
		if (cpu->vmx_nonroot && !cpu->shutdown)
			vmx_triple_fault(cpu); /* exit reason 2; unwinds to case 3 */
		cpu->shutdown = true;
		return CPU_EXIT_TRIPLE_FAULT;
	case VMX_LONGJMP_ABORT: /* a VMX abort (cpu/vmx/exit.c): shutdown, as a triple fault */
		cpu->jcheck = NULL;
		if (cpu->cur_trace)
			tcache_leave(cpu);
		return CPU_EXIT_TRIPLE_FAULT;
	case 3: /* a VM exit (cpu/vmx/exit.c) unwound the instruction or event */
		cpu->jcheck = NULL;
		cpu->stop_trace = false;
		if (cpu->cur_trace)
			tcache_leave(cpu);
		if (stalled(cpu))
			return CPU_EXIT_BUDGET;
		break;
	default: /* an unmodelled path stopped the CPU (it printed what) */
		cpu->jcheck = NULL;
		if (cpu->cur_trace)
			tcache_leave(cpu);
		return CPU_EXIT_UNMODELLED;
	}
	/* After the setjmp: a value live across it could be clobbered by the longjmp. */
	const bool traced = tracer_wants(cpu->tracer, TRACE_CAT_INSN);
	while (cpu->icount < cpu->budget_end) {
		cpu->stop_trace = false;
		/* While the debugger steps, interrupts wait unless it asked for them. */
		if (cpu->events && !(cpu->dbg.step && !cpu->dbg.step_irqs)) {
			if (cpu->events & EV_STOP) {
				cpu->events &= ~(uint32_t)EV_STOP;
				return CPU_EXIT_STOP;
			}
			if (cpu->events & (EV_INIT | EV_SIPI))
				take_init_sipi(cpu);
			if (cpu->wait_sipi) /* NMI, SMI and INTR are blocked (vol. 3A, 8.4.1) */
				return CPU_EXIT_HALT;
			/* An SMI has priority over NMI and INTR and is blocked only in SMM (32.2).
			 */
			if ((cpu->events & EV_SMI) && !cpu->state.in_smm)
				cpu_smm_enter(cpu);
			if (cpu->vmx_nonroot)
				vmx_boundary(cpu); /* NMI, INTR and window exits (vol. 3C, 25.2) */
			if (take_interrupts(cpu) && (cpu->events & EV_VMX_MTF))
				vmx_boundary(cpu); /* the MTF exit after delivery (25.5.2) */
			cpu->stop_trace = false;
		}
		if (cpu->state.halted)
			return CPU_EXIT_HALT;
		cpu->insn_rip = cpu->state.rip;
		cpu->delivering = false;
		if (__builtin_expect(cpu_debug_armed(cpu), 0)) {
			uint64_t before = cpu->icount;
			cpu_debug_step(cpu); /* TF, RF or breakpoints: one careful instruction */
			if (__builtin_expect(cpu->dbg.stop != DBG_STOP_NONE, 0))
				return CPU_EXIT_DEBUG;
			if (cpu->icount == before && stalled(cpu))
				return CPU_EXIT_BUDGET; /* a breakpoint's #DB delivered */
			continue;
		}
		struct trace *prev =
			cpu->chain_gen == tcache_generation(cpu->tcache) ? cpu->chain_prev : NULL;
		struct trace *t = tcache_get(cpu, prev);
		cpu->chain_prev = t;
		cpu->chain_gen = tcache_generation(cpu->tcache);
		if (!traced && !jit_hot(cpu, t))
			continue;
		uint64_t left = cpu->budget_end - cpu->icount;
		unsigned limit = t->n < left ? t->n : (unsigned)left;
		if (cpu->state.intr_shadow) {
			limit = 1; /* the shadow covers exactly the next instruction */
			cpu->state.intr_shadow = 0;
		}
		if (__builtin_expect(cpu->count_insns, 0))
			tcache_enter(cpu, t);
		if (__builtin_expect(traced, 0))
			run_trace_traced(cpu, t, limit);
		else if (t->jit) { /* compiled: the same contract, `limit` included (cpu/jit) */
			if (__builtin_expect(cpu->jit_check, 0))
				jit_check_run(cpu, t, limit);
			else
				t->jit(cpu, limit);
		} else
			run_trace(cpu, t, limit);
		if (__builtin_expect(cpu->cur_trace != NULL, 0))
			tcache_leave(cpu);
	}
	return CPU_EXIT_BUDGET;
}
