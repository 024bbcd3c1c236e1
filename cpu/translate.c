/*
 * fugu — the CPU's side of the MMU seam (see cpu/translate.h and mmu/paging.h):
 * the translation context from cpu->state, faults, the `pagewalk` and `tlb`
 * trace events, and the TLB maintenance instructions.
 */
#include "cpu/vmx/vmx.h"
#include "cpu/translate.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu/cpu_internal.h"
#include "cpu/msr.h"
#include "trace/events.h"

/* mmu/ names the paging bits itself; they must be the CPU's. */
_Static_assert(MMU_CR0_WP == CR0_WP && MMU_CR0_PG == CR0_PG, "CR0 bits");
_Static_assert(MMU_CR4_PSE == CR4_PSE && MMU_CR4_PAE == CR4_PAE && MMU_CR4_PGE == CR4_PGE &&
		       MMU_CR4_SMEP == CR4_SMEP && MMU_CR4_SMAP == CR4_SMAP &&
		       MMU_CR4_PKE == CR4_PKE,
	       "CR4 bits");
_Static_assert(MMU_EFER_LMA == EFER_LMA && MMU_EFER_NXE == EFER_NXE, "EFER bits");
_Static_assert(MMU_VEC_PF == EXC_PF && MMU_VEC_GP == EXC_GP, "vectors");

/* MAXPHYADDR of the model (SDM vol. 3A, 4.1.4): CPUID 80000008H, else 36 with PAE. */
static unsigned
model_maxphyaddr(const struct cpu_features *f)
{
	if (f->max_ext_leaf >= 0x80000008u) {
		uint32_t regs[4];
		cpu_features_cpuid(f, 0x80000008u, 0, regs);
		unsigned m = regs[0] & 0xff;
		if (m >= 32 && m <= 52)
			return m;
	}
	return cpu_has(f, FEAT_PAE) ? 36 : 32;
}

/* The translation context for the current state; in VMX non-root operation
 * with "enable EPT" the EPT walk is the second stage (cpu/vmx/ept.c). The
 * second stage belongs to the running level only: a state other than the live
 * one (the debugger's view of L2 from L1) is translated without it. */
static inline void
make_ctx_from(const struct cpu *cpu, const struct cpu_state *s, struct mmu_ctx *ctx)
{
	*ctx = (struct mmu_ctx){
		.cr0 = s->cr0,
		.cr3 = s->cr3,
		.cr4 = s->cr4,
		.efer = s->efer,
		.pdpte = s->pdpte,
		.pkru = s->pkru,
		.ac = (s->rflags & F_AC) != 0,
		.maxphyaddr = cpu->maxphyaddr,
		.model = cpu->mmu_model,
		.a20_mask = cpu->a20_mask,
		.mem = cpu->mem,
		.stage2 = __builtin_expect(cpu->vmx_nonroot, 0) && s == &cpu->state
				  ? vmx_stage2(cpu)
				  : NULL,
	};
}

static void
make_ctx(const struct cpu *cpu, struct mmu_ctx *ctx)
{
	make_ctx_from(cpu, &cpu->state, ctx);
}

void
cpu_paging_reset(struct cpu *cpu)
{
	const struct cpu_features *f = &cpu->features;
	cpu->maxphyaddr = (uint8_t)model_maxphyaddr(f);
	/* Kept beside the state: the features sit far away, behind the TLB. */
	cpu->mmu_model = (uint8_t)((cpu_has(f, FEAT_PAT) ? MMU_MODEL_PAT : 0) |
				   (cpu_has(f, FEAT_PSE36) ? MMU_MODEL_PSE36 : 0) |
				   (cpu_has(f, FEAT_PDPE1GB) ? MMU_MODEL_1G : 0));
	memset(cpu->state.pdpte, 0, sizeof(cpu->state.pdpte));
	cpu->state.pkru = 0;
	tlb_init(&cpu->tlb);
}

/* The `pagewalk` trace event: the address, each entry read, and the outcome. */
static void
trace_walk(struct cpu *cpu, uint64_t lin, enum tlb_access kind, enum mmu_priv priv,
	   const struct mmu_result *r, const struct mmu_fault *f)
{
	static const enum trace_access kinds[] = { [TLB_READ] = TRACE_ACCESS_READ,
						   [TLB_WRITE] = TRACE_ACCESS_WRITE,
						   [TLB_EXEC] = TRACE_ACCESS_EXEC };
	const struct mmu_entry *e = f ? f->entries : r->entries;
	unsigned n = f ? f->nentries : r->nentries;
	uint64_t entries[MMU_MAX_ENTRIES];
	for (unsigned k = 0; k < n; k++)
		entries[k] = e[k].val;
	enum trace_walk outcome = TRACE_WALK_OK;
	uint64_t pa = 0;
	uint32_t error = 0;
	if (!f)
		pa = r->gpa;
	else if (f->stage == 1) {
		outcome = TRACE_WALK_PF;
		error = f->error | (kind == TLB_EXEC ? PF_ID : 0);
	} else {
		outcome = TRACE_WALK_STAGE2;
		pa = f->gpa;
	}
	if (!(cpu->state.efer & EFER_LMA))
		lin &= 0xffffffffull; /* 32-bit and PAE paging translate 32-bit addresses */
	trace_pagewalk(cpu->tracer, cpu, lin, kinds[kind],
		       priv == MMU_USER ? TRACE_PRIV_USER : TRACE_PRIV_SUPERVISOR, entries,
		       (uint8_t)n, outcome, pa, error);
}

/* Raise what mmu_translate or mmu_load_pdptes reported. */
static _Noreturn void
raise_fault(struct cpu *cpu, const struct mmu_fault *f)
{
	if (f->stage != 1)
		vmx_ept_fault(cpu, f); /* only EPT installs a second stage */
	if (f->vector == MMU_VEC_PF) {
		/* A #PF that exits leaves CR2 alone (SDM vol. 3C, 27.1). */
		if (__builtin_expect(cpu->vmx_nonroot, 0) && vmx_pf_exits(cpu, f->error))
			cpu->vmx->pf_lin = f->lin;
		else
			cpu->state.cr2 = f->lin;
	}
	cpu_fault(cpu, f->vector, f->error);
}

void
cpu_page_walk(struct cpu *cpu, uint64_t lin, enum tlb_access kind, enum mmu_priv priv,
	      struct mmu_result *res)
{
	struct mmu_ctx ctx;
	struct mmu_fault f;
	make_ctx(cpu, &ctx);
	bool ok = mmu_translate(&ctx, lin, kind, priv, MMU_EFFECTS, res, &f);
	if (__builtin_expect(cpu->tracer != NULL, 0) && (ctx.cr0 & CR0_PG) &&
	    tracer_wants(cpu->tracer, TRACE_CAT_PAGEWALK))
		trace_walk(cpu, lin, kind, priv, res, ok ? NULL : &f);
	if (!ok)
		raise_fault(cpu, &f);
}

bool
cpu_translate_probe(struct cpu *cpu, uint64_t lin, enum tlb_access kind, enum mmu_priv priv,
		    uint64_t *pa)
{
	struct mmu_ctx ctx;
	struct mmu_result r;
	struct mmu_fault f;
	make_ctx(cpu, &ctx);
	if (!mmu_translate(&ctx, lin, kind, priv, MMU_PROBE, &r, &f))
		return false;
	*pa = r.pa;
	return true;
}

bool
cpu_translate_probe_state(struct cpu *cpu, const struct cpu_state *s, uint64_t lin,
			  enum tlb_access kind, enum mmu_priv priv, uint64_t *pa)
{
	struct mmu_ctx ctx;
	struct mmu_result r;
	struct mmu_fault f;
	uint64_t pdpte[4];
	make_ctx_from(cpu, s, &ctx);
	/* PAE paging outside IA-32e mode: the PDPTEs this CR3 would load (the
	 * state's own are the running level's) */
	if (s != &cpu->state && (s->cr0 & CR0_PG) && (s->cr4 & CR4_PAE) && !(s->efer & EFER_LMA)) {
		if (!mmu_load_pdptes(&ctx, s->cr3, pdpte, &f))
			return false;
		ctx.pdpte = pdpte;
	}
	if (!mmu_translate(&ctx, lin, kind, priv, MMU_PROBE, &r, &f))
		return false;
	*pa = r.pa;
	return true;
}

bool
cpu_read_pdptes(struct cpu *cpu, uint64_t cr3, uint64_t out[4])
{
	struct mmu_ctx ctx;
	struct mmu_fault f;
	make_ctx(cpu, &ctx);
	if (mmu_load_pdptes(&ctx, cr3, out, &f))
		return true;
	if (f.stage != 1)
		raise_fault(cpu, &f);
	return false;
}

void
cpu_trace_tlb_flush(struct cpu *cpu, enum trace_flush scope, uint64_t addr, const char *cause)
{
	trace_tlb_flush(cpu->tracer, cpu, scope, addr, cause);
}

void
cpu_invlpg(struct cpu *cpu, uint64_t lin)
{
	tlb_flush_page(&cpu->tlb, lin);
	cpu_trace_tlb_flush(cpu, TRACE_FLUSH_PAGE, lin, "invlpg");
	cpu->stop_trace = true;
}

void
cpu_invpcid(struct cpu *cpu, uint64_t type, uint64_t desc_lo, uint64_t desc_hi)
{
	uint64_t pcid = desc_lo & 0xfff;
	if (type > 3 || (desc_lo >> 12))
		cpu_gp0(cpu);
	if (type <= 1 && pcid && !(cpu->state.cr4 & CR4_PCIDE))
		cpu_gp0(cpu);
	if (type == 0 && !is_canonical(desc_hi))
		cpu_gp0(cpu);
	uint64_t current = (cpu->state.cr4 & CR4_PCIDE) ? cpu->state.cr3 & 0xfff : 0;
	switch (type) {
	case 0: /* individual address (may drop global translations too) */
		if (pcid == current)
			tlb_flush_page(&cpu->tlb, desc_hi);
		break;
	case 1: /* single context, except global translations */
		if (pcid == current)
			tlb_flush_nonglobal(&cpu->tlb);
		break;
	case 2: /* all contexts, global translations included */ tlb_flush_all(&cpu->tlb); break;
	default: /* all contexts except global translations */
		tlb_flush_nonglobal(&cpu->tlb);
		break;
	}
	static const enum trace_flush scopes[4] = { TRACE_FLUSH_PAGE, TRACE_FLUSH_PCID,
						    TRACE_FLUSH_ALL, TRACE_FLUSH_NONGLOBAL };
	cpu_trace_tlb_flush(cpu, scopes[type], type == 0 ? desc_hi : pcid, "invpcid");
	cpu->stop_trace = true;
}

void
cpu_set_pkru(struct cpu *cpu, uint32_t pkru)
{
	if (pkru != cpu->state.pkru)
		tlb_flush_all(&cpu->tlb);
	cpu->state.pkru = pkru;
}
