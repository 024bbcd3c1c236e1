/*
 * fugu — the CPU's side of the MMU seam: builds the translation context from
 * the architectural state, calls mmu_translate on a TLB miss, raises the fault
 * it reports, and traces the walk; plus the operations on the CPU's TLB
 * (INVLPG, INVPCID, PKRU, flush tracing) and PDPTE loading.
 */
#ifndef FUGU_CPU_TRANSLATE_H
#define FUGU_CPU_TRANSLATE_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/paging.h"
#include "trace/events.h"

struct cpu;
struct cpu_state;

/* Set up paging state after RESET: MAXPHYADDR, PDPTE registers, PKRU, an empty TLB. */
void cpu_paging_reset(struct cpu *cpu);

/*
 * Walk the page tables for a TLB miss with the current state, setting A/D
 * flags; emits the `pagewalk` trace event. Raises the fault (#PF with CR2 =
 * lin) through cpu_fault. The caller fills the TLB from *res.
 */
void cpu_page_walk(struct cpu *cpu, uint64_t lin, enum tlb_access kind, enum mmu_priv priv,
		   struct mmu_result *res);

/*
 * Translate without side effects (no A/D updates, no fault, no TLB, no trace):
 * for the debugger and the tracer. Returns false when the address has no valid
 * translation or the access would not be allowed.
 */
bool cpu_translate_probe(struct cpu *cpu, uint64_t lin, enum tlb_access kind, enum mmu_priv priv,
			 uint64_t *pa);
/* The same through the paging of another state (the debugger's view of a
 * nested level: cpu_view_state). */
bool cpu_translate_probe_state(struct cpu *cpu, const struct cpu_state *s, uint64_t lin,
			       enum tlb_access kind, enum mmu_priv priv, uint64_t *pa);

/*
 * PAE paging: read the four PDPTEs the table at `cr3` holds into `out` (SDM vol.
 * 3A, 4.4.1). Returns false if a present one has a reserved bit set; the caller
 * then raises #GP(0) and changes nothing.
 */
bool cpu_read_pdptes(struct cpu *cpu, uint64_t cr3, uint64_t out[4]);

/* INVLPG: drop the translations of the page holding `lin` (4.10.4.1). */
void cpu_invlpg(struct cpu *cpu, uint64_t lin);

/*
 * INVPCID with the register operand `type` and the 16-byte descriptor
 * (SDM vol. 2A, INVPCID); raises #GP(0) for the cases it lists. The caller
 * checks CPL 0 and that the model has INVPCID (#UD otherwise).
 */
void cpu_invpcid(struct cpu *cpu, uint64_t type, uint64_t desc_lo, uint64_t desc_hi);

/* WRPKRU/XRSTOR: a new PKRU changes cached access decisions for user pages. */
void cpu_set_pkru(struct cpu *cpu, uint32_t pkru);

/* Log a TLB flush in the `tlb` trace category (scope: all, non-global, page, pcid). */
void cpu_trace_tlb_flush(struct cpu *cpu, enum trace_flush scope, uint64_t addr, const char *cause);

#endif
