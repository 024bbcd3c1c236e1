/*
 * fugu — linear-to-physical translation: the page walks (32-bit, PAE, 4-level;
 * SDM vol. 3A, chapter 4), the control-register rules that belong to paging
 * (PDPTE loading, TLB invalidation), and the seam where the EPT second stage
 * for VMX non-root mode will go.
 */
#ifndef FUGU_PAGING_H
#define FUGU_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/tlb.h"

struct cpu;

/* Who makes an access (SDM vol. 3A, 4.6: supervisor-mode and user-mode accesses). */
enum mmu_priv {
	MMU_SUPER,    /* explicit access at CPL 0-2 */
	MMU_USER,     /* explicit access at CPL 3 */
	MMU_IMPLICIT, /* implicit supervisor access (GDT/LDT/IDT/TSS) at any CPL */
};

struct mmu_result {
	uint64_t pa;        /* physical address (before the A20 mask) */
	uint64_t page_mask; /* size of the page that mapped it, minus 1 */
	bool writable;      /* a store may use the TLB without walking (allowed, D set) */
	bool global;        /* a global translation (G with CR4.PGE) */
	bool no_tlb;        /* the decision depends on more than the TLB set keys: do not cache */
};

/* Page-fault error code bits (SDM vol. 3A, 4.7). */
#define PF_P 0x01
#define PF_W 0x02
#define PF_U 0x04
#define PF_RSVD 0x08
#define PF_ID 0x10
#define PF_PK 0x20

/* Set up paging state after RESET (PDPTE registers, an empty TLB). */
void mmu_reset(struct cpu *cpu);

/* MAXPHYADDR of the model (SDM vol. 3A, 4.1.4): CPUID 80000008H, else 36 with PAE. */
unsigned mmu_maxphyaddr(const struct cpu *cpu);

/*
 * Translate `lin` for an access of the given kind. Sets accessed/dirty flags as
 * the SDM says (4.8). Raises #PF through cpu_fault, with CR2 = lin, on failure.
 */
void mmu_translate(struct cpu *cpu, uint64_t lin, enum tlb_access kind, enum mmu_priv priv,
		   struct mmu_result *out);

/*
 * Translate without side effects (no A/D updates, no fault, no TLB): for the
 * debugger and the tracer. Returns false when the address has no valid
 * translation or the access would not be allowed.
 */
bool mmu_probe(struct cpu *cpu, uint64_t lin, enum tlb_access kind, enum mmu_priv priv,
	       uint64_t *pa);

/*
 * PAE paging: read the four PDPTEs the table at `cr3` holds into `out` (SDM vol.
 * 3A, 4.4.1). Returns false if a present one has a reserved bit set; the caller
 * then raises #GP(0) and changes nothing.
 */
bool mmu_read_pdptes(struct cpu *cpu, uint64_t cr3, uint64_t out[4]);

/* Would PAE paging (not 4-level) be in use with these register values? (4.1.1) */
bool mmu_legacy_pae(uint64_t cr0, uint64_t cr4, uint64_t efer);

/* INVLPG: drop the translations of the page holding `lin` (4.10.4.1). */
void mmu_invlpg(struct cpu *cpu, uint64_t lin);

/*
 * INVPCID with the register operand `type` and the 16-byte descriptor
 * (SDM vol. 2A, INVPCID); raises #GP(0) for the cases it lists. The caller
 * checks CPL 0 and that the model has INVPCID (#UD otherwise).
 */
void mmu_invpcid(struct cpu *cpu, uint64_t type, uint64_t desc_lo, uint64_t desc_hi);

/* WRPKRU/XRSTOR: a new PKRU changes cached access decisions for user pages. */
void mmu_set_pkru(struct cpu *cpu, uint32_t pkru);

/* Log a TLB flush in the `tlb` trace category (scope: all, non-global, page, pcid). */
void mmu_trace_flush(struct cpu *cpu, const char *scope, uint64_t addr, const char *cause);

#endif
