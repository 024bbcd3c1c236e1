/*
 * fugu — -jit check: every run of a compiled trace is checked against the
 * interpreter (docs/ARCHITECTURE.md, "The JIT", check mode).
 *
 * The interpreter runs the trace first, from a snapshot of the state, with
 * every guest store it makes logged (host address, old and new bytes: the CPU's
 * TLB fast path and slow path both log, cpu/mem.c). Then its stores are undone
 * (newest first), the snapshot is restored and the compiled code runs the same
 * trace with the same budget. Registers, RFLAGS (lazy flags folded), RIP, the
 * segment, control and MSR state, the x87/SSE area, the instruction count and
 * every byte the interpreter stored must then agree; on a difference the check
 * reports it and stops the emulator (jit_set_mismatch_handler).
 *
 * What cannot be run twice is not compared, and the interpreter's result then
 * stands (the compiled code does not run): a port or MMIO access in the run (a
 * device saw it), RDMSR/WRMSR (an MSR may be a device's), a read of the clock
 * (RDTSC, RDTSCP: the realtime clock moves between the two runs), an event raised during it, a
 * store to a page holding decoded code (self-modifying code: the page is no longer code for a
 * second run, so its stores would not end the trace), a mode change (CR0/CR3/CR4/EFER, CS, SS, CPL,
 * SMM, DR7, HLT: the CPU caches state derived from those outside struct cpu_state), and a run that
 * faults in the interpreter (the fault unwinds to cpu_exec and is delivered as without the JIT). A
 * compiled run that faults where the interpreter did not is a difference. While CR4.VMXE is set
 * nothing is compared (the VMX state is not snapshotted): compiled code runs unchecked.
 */
#include "cpu/cpu_internal.h"
#include "cpu/flags.h"
#include "cpu/jit/jit.h"
#include "cpu/tcache.h"
#include "mmu/physmem.h"
#include "mmu/tlb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One logged store: up to 8 bytes at host address `at` (page-crossing stores
 * are logged as two). */
struct store {
	uint8_t *at;
	uint8_t n;
	uint8_t old[8];
	uint8_t new_[8]; /* the interpreter's final bytes, filled after its run */
};

#define STORES_MAX 4096 /* more (REP string instructions): not compared */
#define TLB_FILLS_MAX 256

/* A TLB slot as it was before the interpreter's run filled it. */
struct tlb_fill {
	unsigned set, kind, idx;
	struct tlb_entry e;
	uint8_t info;
	uint64_t large_mask;
};

struct jit_check {
	struct store log[STORES_MAX];
	unsigned n;
	struct tlb_fill fills[TLB_FILLS_MAX];
	unsigned nfills;
	uint64_t large_lo, large_hi;
	bool any, any_global;
	unsigned tlb_nlog; /* the TLB's fill log (mmu/tlb.h) */
	uint16_t tlb_log[TLB_LOG_MAX];
	bool overflow;
	bool io; /* a device access or anything else that cannot be repeated */
};

static jit_mismatch_fn mismatch_fn;

void
jit_set_mismatch_handler(jit_mismatch_fn fn)
{
	mismatch_fn = fn;
}

void
jit_check_log_host(struct cpu *cpu, void *host, unsigned size)
{
	struct jit_check *jc = cpu->jcheck;
	if (jc->n == STORES_MAX) {
		jc->overflow = true;
		return;
	}
	struct store *s = &jc->log[jc->n++];
	s->at = host;
	s->n = (uint8_t)size;
	memcpy(s->old, host, size);
}

void
jit_check_log_pa(struct cpu *cpu, uint64_t pa, unsigned size, bool write)
{
	phys_page_t p = physmem_page(cpu->mem, pa);
	uint8_t *page = (uint8_t *)(uintptr_t)(p & PP_HOST_MASK);
	if (!page) { /* MMIO (or nothing): a device sees it */
		cpu->jcheck->io = true;
		return;
	}
	if (write)
		jit_check_log_host(cpu, page + (pa & 0xfff), size);
}

void
jit_check_log_tlb(struct cpu *cpu, unsigned set, unsigned kind, uint64_t lin)
{
	struct jit_check *jc = cpu->jcheck;
	if (jc->nfills == TLB_FILLS_MAX) {
		jc->overflow = true;
		return;
	}
	unsigned idx = (unsigned)(lin >> 12) & (TLB_SIZE - 1);
	jc->fills[jc->nfills++] = (struct tlb_fill){ set,
						     kind,
						     idx,
						     cpu->tlb.e[set][kind][idx],
						     cpu->tlb.info[set][kind][idx],
						     cpu->tlb.large_mask[set][kind][idx] };
}

void
jit_check_note_event(struct jit_check *jc)
{
	jc->io = true;
}

void
jit_check_io(struct cpu *cpu)
{
	cpu->jcheck->io = true;
}

/* The full RFLAGS: the lazy bits folded in, without changing the CPU. */
static uint64_t
rflags_of(const struct cpu_state *s, const struct lazy_flags *lf)
{
	if (!lf->mask)
		return s->rflags;
	return (s->rflags & ~(uint64_t)lf->mask) | (lf_compute(lf) & lf->mask);
}

/* A change the CPU derives cached state from (or that a device might see). */
static bool
mode_changed(const struct cpu_state *a, const struct cpu_state *b, uint8_t cs_a, uint8_t cs_b)
{
	return cs_a != cs_b || a->cr0 != b->cr0 || a->cr3 != b->cr3 || a->cr4 != b->cr4 ||
	       a->efer != b->efer || a->xcr0 != b->xcr0 || a->cpl != b->cpl ||
	       a->in_smm != b->in_smm || a->halted != b->halted || a->dr[7] != b->dr[7] ||
	       a->pkru != b->pkru || memcmp(&a->seg[S_CS], &b->seg[S_CS], sizeof(a->seg[0])) ||
	       memcmp(&a->seg[S_SS], &b->seg[S_SS], sizeof(a->seg[0]));
}

/* Both runs' outcome; -1 fault values mean "did not unwind". */
struct outcome {
	struct cpu_state st;
	struct lazy_flags lf;
	uint64_t icount;
	int unwound;
};

static void
report(struct cpu *cpu, const struct trace *t, uint64_t rip0, unsigned limit,
       const struct outcome *in, const struct outcome *jit, const struct jit_check *jc)
{
	fprintf(stderr,
		"fugu: jit check: compiled trace at %016" PRIx64 " (phys %016" PRIx64
		", %u instructions, %u run, %u-bit code) differs from the interpreter:\n",
		rip0, t->pa, (unsigned)t->n, limit, 8u * t->code_size);
	if (in->unwound != jit->unwound)
		fprintf(stderr, "  the compiled code unwound (a fault or VM exit); the interpreter "
				"did not\n");
	if (in->icount != jit->icount)
		fprintf(stderr, "  icount: interpreter %" PRIu64 ", jit %" PRIu64 "\n", in->icount,
			jit->icount);
	for (int id = 0; id < STATE_FIELD_COUNT; id++) {
		uint64_t a = state_get(&in->st, (enum state_field_id)id);
		uint64_t b = state_get(&jit->st, (enum state_field_id)id);
		if (id == STATE_RFLAGS) {
			a = rflags_of(&in->st, &in->lf);
			b = rflags_of(&jit->st, &jit->lf);
		}
		if (a != b)
			fprintf(stderr, "  %-12s interpreter %016" PRIx64 "  jit %016" PRIx64 "\n",
				state_fields[id].name, a, b);
	}
	for (unsigned k = 0; k < sizeof(in->st.xsave); k++)
		if (in->st.xsave[k] != jit->st.xsave[k]) {
			fprintf(stderr,
				"  x87/SSE state differs (XSAVE-area byte %u: interpreter %02x, "
				"jit %02x)\n",
				k, in->st.xsave[k], jit->st.xsave[k]);
			break;
		}
	for (unsigned k = 0; k < jc->n; k++) {
		const struct store *s = &jc->log[k];
		if (memcmp(s->at, s->new_, s->n)) {
			uint64_t a = 0, b = 0;
			memcpy(&a, s->new_, s->n);
			memcpy(&b, s->at, s->n);
			fprintf(stderr,
				"  memory: the %u-byte store #%u: interpreter left %0*" PRIx64
				", jit %0*" PRIx64 "\n",
				s->n, k, 2 * s->n, a, 2 * s->n, b);
		}
	}
	fprintf(stderr, "  the trace:\n");
	if (mismatch_fn)
		mismatch_fn(cpu, rip0, t->n);
	abort();
}

static bool
same(const struct outcome *a, const struct outcome *b, const struct jit_check *jc)
{
	if (a->unwound != b->unwound || a->icount != b->icount)
		return false;
	for (int id = 0; id < STATE_FIELD_COUNT; id++) {
		if (id == STATE_RFLAGS)
			continue;
		if (state_get(&a->st, (enum state_field_id)id) !=
		    state_get(&b->st, (enum state_field_id)id))
			return false;
	}
	if (rflags_of(&a->st, &a->lf) != rflags_of(&b->st, &b->lf))
		return false;
	if (memcmp(a->st.xsave, b->st.xsave, sizeof(a->st.xsave)))
		return false;
	for (unsigned k = 0; k < jc->n; k++)
		if (memcmp(jc->log[k].at, jc->log[k].new_, jc->log[k].n))
			return false;
	return true;
}

void
jit_check_run(struct cpu *cpu, struct trace *t, unsigned limit)
{
	static struct jit_check jc; /* one CPU runs at a time (single-threaded) */
	if (cpu->state.cr4 & CR4_VMXE) {
		t->jit(cpu, limit);
		return;
	}
	static struct cpu_state st0; /* large (XSAVE area): not on the stack */
	st0 = cpu->state;
	const struct lazy_flags lf0 = cpu->lf;
	const uint64_t icount0 = cpu->icount, insn_rip0 = cpu->insn_rip;
	const uint32_t events0 = cpu->events;
	const uint8_t cs0 = cpu->code_size;

	/* 1. The interpreter, logging its stores. A fault unwinds from here to
	 * cpu_exec, which clears cpu->jcheck: that run is not compared. */
	jc.n = jc.nfills = 0;
	jc.overflow = jc.io = false;
	jc.large_lo = cpu->tlb.large_lo;
	jc.large_hi = cpu->tlb.large_hi;
	jc.any = cpu->tlb.any;
	jc.any_global = cpu->tlb.any_global;
	jc.tlb_nlog = cpu->tlb.nlog;
	memcpy(jc.tlb_log, cpu->tlb.log, sizeof(jc.tlb_log));
	cpu->jcheck = &jc;
	cpu_run_trace_interp(cpu, t, limit);
	cpu->jcheck = NULL;
	if (jc.io || jc.overflow || !t->valid || cpu->events != events0 ||
	    mode_changed(&st0, &cpu->state, cs0, cpu->code_size))
		return; /* not repeatable: the interpreter's run stands */
	static struct outcome in, out;
	in.st = cpu->state;
	in.lf = cpu->lf;
	in.icount = cpu->icount;
	in.unwound = 0;
	const bool stop_in = cpu->stop_trace;
	for (unsigned k = 0; k < jc.n; k++)
		memcpy(jc.log[k].new_, jc.log[k].at, jc.log[k].n);

	/* 2. Undo, then the compiled code from the same state. */
	for (unsigned k = jc.n; k-- > 0;)
		memcpy(jc.log[k].at, jc.log[k].old, jc.log[k].n);
	/* The TLB as the interpreter found it: the compiled run must walk (and set
	 * accessed and dirty flags) where the interpreter did. Entries the run
	 * dropped (INVLPG) stay dropped: XXX not restored. */
	for (unsigned k = jc.nfills; k-- > 0;) {
		const struct tlb_fill *f = &jc.fills[k];
		cpu->tlb.e[f->set][f->kind][f->idx] = f->e;
		cpu->tlb.info[f->set][f->kind][f->idx] = f->info;
		cpu->tlb.large_mask[f->set][f->kind][f->idx] = f->large_mask;
	}
	cpu->tlb.large_lo = jc.large_lo;
	cpu->tlb.large_hi = jc.large_hi;
	cpu->tlb.any = jc.any;
	cpu->tlb.any_global = jc.any_global;
	cpu->tlb.nlog = jc.tlb_nlog;
	memcpy(cpu->tlb.log, jc.tlb_log, sizeof(jc.tlb_log));
	cpu->state = st0;
	cpu->lf = lf0;
	cpu->icount = icount0;
	cpu->insn_rip = insn_rip0;
	cpu->stop_trace = false;
	static jmp_buf outer;
	memcpy(outer, cpu->fault_jmp, sizeof(jmp_buf));
	volatile int unwound = 0;
	if (setjmp(cpu->fault_jmp) != 0)
		unwound = 1;
	else
		t->jit(cpu, limit);
	memcpy(cpu->fault_jmp, outer, sizeof(jmp_buf));
	out.st = cpu->state;
	out.lf = cpu->lf;
	out.icount = cpu->icount;
	out.unwound = unwound;
	if (!same(&in, &out, &jc))
		report(cpu, t, st0.rip, limit, &in, &out, &jc);
	cpu->stop_trace = stop_in || cpu->stop_trace;
}
