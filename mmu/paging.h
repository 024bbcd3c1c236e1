/*
 * fugu — linear-to-physical translation as a lower layer: the page walks
 * (32-bit, PAE, 4-level; SDM vol. 3A, chapter 4), access rights, accessed and
 * dirty flags, PDPTE loading, and a second-stage slot for EPT.
 *
 * The MMU knows nothing of the processor structure: the caller passes the
 * registers paging depends on in a struct mmu_ctx and gets back either a
 * translation (struct mmu_result) or a fault (struct mmu_fault). It never
 * raises anything, fills no TLB and traces nothing; the CPU does that
 * (cpu/translate.c), as will the tracer and the GDB stub with the
 * side-effect-free variant.
 */
#ifndef FUGU_PAGING_H
#define FUGU_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/tlb.h"

struct physmem;

/*
 * The control-register and EFER bits paging depends on (SDM vol. 3A, 2.5, 2.2.1).
 * The MMU keeps its own names so it does not depend on cpu/; cpu/translate.c
 * checks at compile time that they equal the CPU's.
 */
#define MMU_CR0_WP (1ull << 16)
#define MMU_CR0_PG (1ull << 31)
#define MMU_CR4_PSE (1ull << 4)
#define MMU_CR4_PAE (1ull << 5)
#define MMU_CR4_PGE (1ull << 7)
#define MMU_CR4_SMEP (1ull << 20)
#define MMU_CR4_SMAP (1ull << 21)
#define MMU_CR4_PKE (1ull << 22)
#define MMU_EFER_LMA (1ull << 10)
#define MMU_EFER_NXE (1ull << 11)

/* Model features that change what a walk accepts (struct mmu_ctx.model). */
#define MMU_MODEL_PAT 0x1   /* PAT bit in entries (otherwise reserved) */
#define MMU_MODEL_PSE36 0x2 /* 4 MiB pages map above 4 GiB */
#define MMU_MODEL_1G 0x4    /* pdpe1gb: 1 GiB pages with 4-level paging */

/* Page-fault error code bits (SDM vol. 3A, 4.7). */
#define PF_P 0x01
#define PF_W 0x02
#define PF_U 0x04
#define PF_RSVD 0x08
#define PF_ID 0x10
#define PF_PK 0x20

/* Exception vectors a translation can report (stage 1). */
#define MMU_VEC_GP 13 /* a PDPTE with a reserved bit, at PDPTE load */
#define MMU_VEC_PF 14

/* Who makes an access (SDM vol. 3A, 4.6: supervisor-mode and user-mode accesses). */
enum mmu_priv {
	MMU_SUPER,    /* explicit access at CPL 0-2 */
	MMU_USER,     /* explicit access at CPL 3 */
	MMU_IMPLICIT, /* implicit supervisor access (GDT/LDT/IDT/TSS) at any CPL */
};

/* What a translation may change. */
enum mmu_effects {
	MMU_EFFECTS, /* an access by the processor: sets accessed/dirty flags (4.8) */
	MMU_PROBE,   /* look only: no A/D writes (the tracer, the GDB stub) */
};

/* ---- the second stage (EPT; SDM vol. 3C, 29.3) ---- */

/* One guest-physical access the second stage must translate. */
struct mmu_s2_access {
	uint64_t gpa;
	uint64_t lin;          /* the linear address being translated, if lin_valid */
	enum tlb_access kind;  /* paging-structure reads are TLB_READ, A/D updates TLB_WRITE */
	bool lin_valid;        /* false for PDPTE loads (MOV CR3 and friends) */
	bool paging_structure; /* an access to a paging-structure entry, not the final page */
	enum mmu_effects effects;
};

enum mmu_s2_status {
	MMU_S2_OK,
	MMU_S2_VIOLATION, /* EPT violation: the qualification says why (vol. 3C, table 28-7) */
	MMU_S2_MISCONFIG, /* EPT misconfiguration */
	MMU_S2_PML_FULL,  /* the page-modification log is full (vol. 3C, 29.3.6) */
	/* A paging-structure access whose address translates to the APIC-access
	 * page: an APIC-access VM exit (vol. 3C, 29.4.6.1). */
	MMU_S2_APIC_ACCESS,
};

struct mmu_stage2 {
	/* Translate a->gpa; on MMU_S2_OK store the host-physical address in *pa,
	 * else the exit qualification in *qualification. */
	enum mmu_s2_status (*translate)(void *opaque, const struct mmu_s2_access *a, uint64_t *pa,
					uint64_t *qualification);
	void *opaque;
};

/* ---- a translation ---- */

/* Everything a walk depends on. */
struct mmu_ctx {
	uint64_t cr0, cr3, cr4, efer;
	const uint64_t *pdpte; /* the four PDPTE registers (PAE paging) */
	uint32_t pkru;
	bool ac;             /* RFLAGS.AC: explicit supervisor accesses under SMAP (4.6) */
	uint8_t maxphyaddr;  /* MAXPHYADDR (4.1.4) */
	unsigned model;      /* MMU_MODEL_* */
	uint64_t a20_mask;   /* applied to every physical address */
	struct physmem *mem; /* where paging structures are read and updated */
	const struct mmu_stage2 *stage2; /* NULL: guest-physical = physical */
};

/* A paging-structure entry the walk read. */
struct mmu_entry {
	uint64_t pa;   /* its (guest-)physical address */
	uint64_t val;  /* its value as read, before any A/D update */
	uint8_t level; /* 4 PML4E, 3 PDPTE, 2 PDE, 1 PTE */
};

#define MMU_MAX_ENTRIES 4

struct mmu_result {
	uint64_t pa;        /* physical address, after the second stage and the A20 mask */
	uint64_t gpa;       /* the guest-physical address stage 1 produced (before A20) */
	uint64_t page_mask; /* size of the page that mapped it, minus 1 */
	uint8_t level;      /* level of the entry that mapped it (0: paging off) */
	/* Effective rights of the translation (4.6): AND of R/W and U/S, no XD. */
	bool writable, user, executable;
	bool global;   /* a global translation (G with CR4.PGE) */
	bool dirty;    /* the leaf's dirty flag is set (after this access) */
	bool store_ok; /* a store at the same privilege is allowed and needs no D update */
	bool no_tlb;   /* the decision depends on more than the TLB set keys: do not cache */
	unsigned nentries;
	struct mmu_entry entries[MMU_MAX_ENTRIES]; /* top level first */
};

struct mmu_fault {
	uint8_t stage;          /* 1: guest paging (vector, error), 2: second stage */
	uint8_t vector;         /* stage 1: MMU_VEC_PF (MMU_VEC_GP from mmu_load_pdptes) */
	uint32_t error;         /* stage 1: the #PF error code */
	uint64_t lin;           /* the linear address (CR2 for #PF) */
	uint64_t gpa;           /* stage 2: the guest-physical address that failed */
	uint64_t qualification; /* stage 2: the exit qualification */
	bool misconfig;         /* stage 2: EPT misconfiguration rather than violation */
	bool pml_full;          /* stage 2: a page-modification log-full event */
	bool apic_access;       /* stage 2: a guest-physical access to the APIC-access page */
	unsigned nentries;
	struct mmu_entry entries[MMU_MAX_ENTRIES]; /* the entries read before the fault */
};

/*
 * Translate `lin` for an access of `kind` by `priv`. On success fill *res and
 * return true; otherwise fill *fault and return false. With MMU_EFFECTS
 * accessed/dirty flags are set as the SDM says (4.8), and only then.
 */
bool mmu_translate(const struct mmu_ctx *ctx, uint64_t lin, enum tlb_access kind,
		   enum mmu_priv priv, enum mmu_effects effects, struct mmu_result *res,
		   struct mmu_fault *fault);

/*
 * PAE paging: read the four PDPTEs of the table at `cr3` into `out` (SDM vol.
 * 3A, 4.4.1). Returns false if a present one has a reserved bit set (fault:
 * stage 1, #GP(0)) or the second stage refuses a read (fault: stage 2).
 */
bool mmu_load_pdptes(const struct mmu_ctx *ctx, uint64_t cr3, uint64_t out[4],
		     struct mmu_fault *fault);

/* Would PAE paging (not 4-level) be in use with these register values? (4.1.1) */
static inline bool
mmu_legacy_pae(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
	return (cr0 & MMU_CR0_PG) && (cr4 & MMU_CR4_PAE) && !(efer & MMU_EFER_LMA);
}

#endif
