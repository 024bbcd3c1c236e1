/*
 * fugu — the processor: creation, RESET state, mode bookkeeping and the
 * execution loop that runs cached traces and takes interrupts at their
 * boundaries.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu/cpu_internal.h"
#include "cpu/msr.h"
#include "cpu/tcache.h"
#include "frontend/trace.h"
#include "mmu/paging.h"
#include "mmu/physmem.h"

bool cpu_handle_fault(struct cpu *cpu); /* except.c */

#define FAULT_STORM 4096 /* faults in a row without progress before cpu_exec yields */

_Noreturn void
cpu_unmodelled(struct cpu *cpu, const char *what)
{
	fprintf(stderr,
		"fugu: the guest used %s, which fugu does not model yet (at %04x:%" PRIx64 ")\n",
		what, cpu->state.seg[S_CS].sel, cpu->insn_rip);
	cpu->shutdown = true;
	longjmp(cpu->fault_jmp, 2);
}

static void
on_code_written(void *opaque, uint64_t pa, uint64_t len)
{
	struct cpu *cpu = opaque;
	uint64_t end = pa + len;
	for (uint64_t p = pa & ~0xfffull; p < end; p += 0x1000)
		tcache_invalidate_page(cpu, p);
	cpu->stop_trace = true; /* the running trace may have been among them */
}

static void
on_map_changed(void *opaque)
{
	cpu_memory_map_changed(opaque);
}

struct cpu *
cpu_create(struct physmem *mem, struct ioports *io, const struct cpu_features *feat)
{
	struct cpu *cpu = calloc(1, sizeof(*cpu));
	if (!cpu)
		return NULL;
	cpu->tcache = tcache_create();
	if (!cpu->tcache) {
		free(cpu);
		return NULL;
	}
	cpu->mem = mem;
	cpu->io = io;
	cpu->features = *feat;
	mem->code_written = on_code_written;
	mem->map_changed = on_map_changed;
	mem->notify_opaque = cpu;
	cpu_reset(cpu);
	return cpu;
}

void
cpu_destroy(struct cpu *cpu)
{
	if (!cpu)
		return;
	tcache_destroy(cpu->tcache);
	free(cpu);
}

void
cpu_memory_map_changed(struct cpu *cpu)
{
	tlb_flush_all(&cpu->tlb);
	mmu_trace_flush(cpu, "all", 0, "physical-map");
	tcache_flush(cpu);
	cpu->stop_trace = true;
}

void
cpu_set_a20(struct cpu *cpu, bool enabled)
{
	uint64_t mask = enabled ? ~0ull : ~(1ull << 20);
	if (mask != cpu->a20_mask) {
		cpu->a20_mask = mask;
		tlb_flush_all(&cpu->tlb);
		mmu_trace_flush(cpu, "all", enabled, "a20");
		cpu->stop_trace = true;
	}
}

/* Processor state after RESET (SDM vol. 3A, 9.1.1, table 9-1). */
void
cpu_reset(struct cpu *cpu)
{
	memset(cpu->state.gpr, 0, sizeof(cpu->state.gpr));
	const struct cpu_features *f = &cpu->features;
	uint32_t fam = f->family > 15 ? 15 : f->family;
	cpu->state.gpr[R_DX] = (f->stepping & 0xf) | ((f->model & 0xf) << 4) | (fam << 8) |
			       ((f->model >> 4) << 16) |
			       ((f->family > 15 ? f->family - 15 : 0) << 20);
	cpu->state.rip = 0xfff0;
	cpu->state.rflags = F_FIXED1;
	cpu->lf.mask = 0;
	for (int s = 0; s < 6; s++)
		cpu->state.seg[s] =
			(struct segment){ .sel = 0, .base = 0, .limit = 0xffff, .attr = 0x93 };
	cpu->state.seg[S_CS] = (struct segment){
		.sel = 0xf000, .base = 0xffff0000, .limit = 0xffff, .attr = 0x9b
	};
	cpu->state.ldtr = (struct segment){ .limit = 0xffff, .attr = 0x82 };
	cpu->state.tr = (struct segment){ .limit = 0xffff, .attr = 0x8b };
	cpu->state.gdtr = (struct dtr){ 0, 0xffff };
	cpu->state.idtr = (struct dtr){ 0, 0xffff };
	cpu->state.cr2 = cpu->state.cr8 = 0;
	struct control_regs ctl = { 0x60000010, 0, 0, 0 }; /* CD, NW, ET: caches off */
	cpu_load_control(cpu, &ctl, CTL_FLUSH_ALL, "reset");
	memset(cpu->state.dr, 0, sizeof(cpu->state.dr));
	cpu->state.dr[6] = 0xffff0ff0;
	cpu->state.dr[7] = 0x400;
	cpu->dbg_data = 0;
	cpu->dbg_hits = cpu->dbg_deferred = 0;
	cpu->state.cpl = 0;
	cpu->state.tsc_offset = 0;
	msr_reset(cpu);
	cpu->a20_mask = ~0ull;
	cpu->state.halted = false;
	cpu->state.intr_shadow = 0;
	cpu->delivering = false;
	cpu->shutdown = false;
	cpu->events &= ~(uint32_t)(EV_RESET | EV_SMI | EV_NMI);
	cpu->state.nmi_blocked = false;
	cpu_smm_reset(cpu);
	cpu_mode_update(cpu);
	mmu_reset(cpu); /* PDPTEs, PKRU, an empty TLB */
	tcache_flush(cpu);
}

uint64_t
cpu_get_rflags(struct cpu *cpu)
{
	return rflags_read(cpu);
}

void
cpu_set_rflags(struct cpu *cpu, uint64_t v)
{
	cpu->lf.mask = 0;
	cpu->state.rflags = (v & ~(uint64_t)0x8028) | F_FIXED1;
	cpu_mode_update(cpu);
}

/*
 * Flags written by POPF and IRET (SDM vol. 2B, POPF, table "Effect of POPF on
 * EFLAGS"): IOPL only at CPL 0, IF only when CPL <= IOPL; VM, VIP, VIF and RF
 * never; a 16-bit operand leaves bits 16 and up alone.
 */
void
rflags_write_checked(struct cpu *cpu, uint64_t v, unsigned opsize)
{
	uint64_t writable = F_ARITH | F_TF | F_DF | F_NT | F_AC | F_ID | F_IF | F_IOPL;
	unsigned iopl = (cpu->state.rflags & F_IOPL) >> 12;
	if (!cpu_real_mode(cpu)) {
		if (cpu->state.cpl > 0)
			writable &= ~(uint64_t)F_IOPL;
		if (cpu->state.cpl > iopl)
			writable &= ~(uint64_t)F_IF;
	}
	if (opsize == 2)
		writable &= 0xffff;
	flags_materialize(cpu);
	cpu->state.rflags = (cpu->state.rflags & ~writable) | (v & writable) | F_FIXED1;
	cpu->stop_trace = true; /* IF or TF may have changed */
}

uint64_t
cpu_tsc(struct cpu *cpu)
{
	uint64_t ns = cpu->clock_ns ? cpu->clock_ns(cpu->clock_opaque) : cpu->icount;
	return ns + cpu->state.tsc_offset; /* a 1 GHz invariant TSC */
}

void
cpu_raise_events(struct cpu *cpu, uint32_t ev)
{
	cpu->events |= ev;
	cpu->stop_trace = true; /* take it at the next instruction boundary, not the next trace */
	if (ev & EV_INTR)
		cpu->state.halted = cpu->state.halted && !(cpu->state.rflags & F_IF);
}

void
cpu_clear_events(struct cpu *cpu, uint32_t ev)
{
	cpu->events &= ~ev;
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
		cpu->insn_rip = cpu->state.rip;
		cpu_deliver_event(cpu, EXC_NMI, EVENT_NMI, NO_ERRCODE, cpu->state.rip);
		return true;
	}
	if ((cpu->events & EV_INTR) && (cpu->state.rflags & F_IF)) {
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

static inline uint64_t
ip_mask(const struct cpu *cpu)
{
	return cpu->code_size == 8 ? ~0ull : cpu->code_size == 4 ? 0xffffffffull : 0xffffull;
}

/* Run one trace, or its first `limit` instructions. */
static inline void
run_trace(struct cpu *cpu, const struct trace *t, unsigned limit)
{
	uint64_t mask = ip_mask(cpu);
	/* RIP and the instruction count live in registers across the trace; the CPU
	 * struct is kept exact before each handler runs (faults and branches read it).
	 * A handler that changes RIP also ends the trace (stop_trace or I_END). */
	uint64_t rip = cpu->state.rip, icount = cpu->icount;
	for (unsigned k = 0; k < limit; k++) {
		const struct insn *i = &t->insn[k];
		cpu->insn_rip = rip;
		rip = (rip + i->len) & mask;
		cpu->state.rip = rip;
		i->fn(cpu, i);
		cpu->icount = ++icount;
		if (__builtin_expect(cpu->stop_trace, 0))
			break;
	}
}

/* The same with a trace event per instruction. */
static void
run_trace_traced(struct cpu *cpu, const struct trace *t, unsigned limit)
{
	struct trace_regs before;
	for (unsigned k = 0; k < limit; k++) {
		const struct insn *i = &t->insn[k];
		trace_regs_capture(cpu, &before);
		cpu->insn_rip = cpu->state.rip;
		cpu->state.rip = (cpu->state.rip + i->len) & ip_mask(cpu);
		i->fn(cpu, i);
		cpu->icount++;
		trace_insn(cpu->tracer, cpu, i, &before);
		if (cpu->stop_trace)
			break;
	}
}

enum cpu_exit
cpu_exec(struct cpu *cpu, uint64_t max_insns)
{
	cpu->budget_end = cpu->icount + max_insns;
	bool traced = tracer_wants(cpu->tracer, TRACE_CAT_INSN);
	switch (setjmp(cpu->fault_jmp)) {
	case 0: break;
	case 1: /* a fault unwound here: deliver it (which may fault again) */
		cpu->stop_trace = false;
		/* A faulting instruction does not retire, so a guest that only faults
		 * (a handler that faults again, forever) would never use up the budget:
		 * after FAULT_STORM faults in a row without a retired instruction the
		 * run loop gets control back (timers, -timeout), then execution goes on. */
		if (cpu->icount != cpu->last_fault_icount) {
			cpu->last_fault_icount = cpu->icount;
			cpu->faults_in_row = 0;
		}
		if (++cpu->faults_in_row > FAULT_STORM) {
			cpu->faults_in_row = 0;
			return CPU_EXIT_BUDGET;
		}
		if (!cpu->shutdown && cpu_handle_fault(cpu))
			break;
		cpu->shutdown = true;
		return CPU_EXIT_TRIPLE_FAULT;
	default: /* an unmodelled path stopped the CPU (it printed what) */
		return CPU_EXIT_UNMODELLED;
	}
	while (cpu->icount < cpu->budget_end) {
		cpu->stop_trace = false;
		if (cpu->events) {
			if (cpu->events & EV_STOP) {
				cpu->events &= ~(uint32_t)EV_STOP;
				return CPU_EXIT_STOP;
			}
			/* An SMI has priority over NMI and INTR and is blocked only in SMM (32.2).
			 */
			if ((cpu->events & EV_SMI) && !cpu->state.in_smm)
				cpu_smm_enter(cpu);
			take_interrupts(cpu);
			cpu->stop_trace = false;
		}
		if (cpu->state.halted)
			return CPU_EXIT_HALT;
		cpu->insn_rip = cpu->state.rip;
		cpu->delivering = false;
		if (__builtin_expect(cpu_debug_armed(cpu), 0)) {
			cpu_debug_step(cpu); /* TF, RF or breakpoints: one careful instruction */
			continue;
		}
		struct trace *prev =
			cpu->chain_gen == tcache_generation(cpu->tcache) ? cpu->chain_prev : NULL;
		struct trace *t = tcache_get(cpu, prev);
		cpu->chain_prev = t;
		cpu->chain_gen = tcache_generation(cpu->tcache);
		uint64_t left = cpu->budget_end - cpu->icount;
		unsigned limit = t->n < left ? t->n : (unsigned)left;
		if (cpu->state.intr_shadow) {
			limit = 1; /* the shadow covers exactly the next instruction */
			cpu->state.intr_shadow = 0;
		}
		if (__builtin_expect(traced, 0))
			run_trace_traced(cpu, t, limit);
		else
			run_trace(cpu, t, limit);
	}
	return CPU_EXIT_BUDGET;
}

void
cpu_dump_state(struct cpu *cpu, void *file)
{
	FILE *f = file;
	static const char *const names[16] = { "RAX", "RCX", "RDX", "RBX", "RSP", "RBP",
					       "RSI", "RDI", "R8",  "R9",  "R10", "R11",
					       "R12", "R13", "R14", "R15" };
	static const char *const segs[6] = { "ES", "CS", "SS", "DS", "FS", "GS" };
	for (int k = 0; k < 16; k++)
		fprintf(f, "%-3s=%016" PRIx64 "%s", names[k], cpu->state.gpr[k],
			(k % 4 == 3) ? "\n" : " ");
	fprintf(f, "RIP=%016" PRIx64 " RFL=%08" PRIx64 " CPL=%u  icount=%" PRIu64 "\n",
		cpu->state.rip, rflags_read(cpu), cpu->state.cpl, cpu->icount);
	for (int s = 0; s < 6; s++)
		fprintf(f, "%s =%04x %016" PRIx64 " %08x %04x\n", segs[s], cpu->state.seg[s].sel,
			cpu->state.seg[s].base, cpu->state.seg[s].limit, cpu->state.seg[s].attr);
	fprintf(f, "GDT=%016" PRIx64 " %08x  IDT=%016" PRIx64 " %08x\n", cpu->state.gdtr.base,
		cpu->state.gdtr.limit, cpu->state.idtr.base, cpu->state.idtr.limit);
	fprintf(f,
		"CR0=%08" PRIx64 " CR2=%016" PRIx64 " CR3=%016" PRIx64 " CR4=%08" PRIx64
		" EFER=%" PRIx64 "\n",
		cpu->state.cr0, cpu->state.cr2, cpu->state.cr3, cpu->state.cr4, cpu->state.efer);
}
