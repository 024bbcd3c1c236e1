/*
 * fugu — page walks (SDM vol. 3A, chapter 4): 32-bit paging with 4 KiB and
 * 4 MiB pages (PSE, PSE-36), PAE paging with its PDPTE registers and 2 MiB
 * pages, 4-level paging with 2 MiB and (if the model has pdpe1gb) 1 GiB pages;
 * access rights with U/S, R/W, CR0.WP, XD/NXE, SMEP, SMAP and protection keys;
 * accessed and dirty flags; page-fault error codes; PDPTE loading. Every
 * guest-physical address goes through the second stage when one is given.
 *
 * Paging-structure caches are not modelled: every TLB miss walks from CR3 (or
 * the PDPTE registers), which the architecture permits (4.10.3).
 */
#include "mmu/paging.h"

#include <string.h>

#include "mmu/physmem.h"

/* Entry bits common to every format (4.3, 4.4, 4.5). */
#define PTE_P 0x001ull
#define PTE_RW 0x002ull
#define PTE_US 0x004ull
#define PTE_A 0x020ull
#define PTE_D 0x040ull
#define PTE_PS 0x080ull
#define PTE_PAT 0x080ull /* in a 4 KiB PTE */
#define PTE_G 0x100ull
#define PTE_LPAT 0x1000ull /* PAT in a large-page entry */
#define PTE_XD (1ull << 63)

enum walk_status { WALK_OK, WALK_NOT_PRESENT, WALK_RESERVED, WALK_STAGE2 };

struct walk {
	const struct mmu_ctx *ctx;
	uint64_t lin;
	bool lin_valid;
	bool effects; /* set accessed flags on the way (false for MMU_PROBE) */
	/* Results. */
	uint64_t pa, page_mask;
	uint64_t leaf;             /* the entry that maps the page */
	uint64_t leaf_pa;          /* its guest-physical address */
	uint8_t level;             /* its level */
	bool user;                 /* AND of the U/S flags (4.6) */
	bool writable;             /* AND of the R/W flags */
	bool xd;                   /* OR of the XD flags, with EFER.NXE */
	struct mmu_entry *entries; /* every entry read, top level first */
	unsigned nentries;
	/* A second-stage failure (WALK_STAGE2). */
	uint64_t s2_gpa, s2_qual;
	bool s2_misconfig, s2_pml_full, s2_apic_access;
};

/* ---- the second stage ---- */

/*
 * Every guest-physical address produced here -- each paging-structure entry
 * read or updated, the PDPTEs, and the final address -- passes through this
 * function (SDM vol. 3C, 29.3.3: guest paging-structure accesses are EPT
 * reads, A/D updates EPT writes). Without a second stage it is the identity.
 */
static inline bool
stage2(struct walk *w, uint64_t gpa, enum tlb_access kind, bool paging_structure, uint64_t *pa)
{
	const struct mmu_stage2 *s2 = w->ctx->stage2;
	if (__builtin_expect(!s2, 1)) {
		*pa = gpa;
		return true;
	}
	struct mmu_s2_access a = { .gpa = gpa,
				   .lin = w->lin,
				   .kind = kind,
				   .lin_valid = w->lin_valid,
				   .paging_structure = paging_structure,
				   .effects = w->effects ? MMU_EFFECTS : MMU_PROBE };
	uint64_t qual = 0;
	enum mmu_s2_status st = s2->translate(s2->opaque, &a, pa, &qual);
	if (st == MMU_S2_OK)
		return true;
	w->s2_gpa = gpa;
	w->s2_qual = qual;
	w->s2_misconfig = st == MMU_S2_MISCONFIG;
	w->s2_pml_full = st == MMU_S2_PML_FULL;
	w->s2_apic_access = st == MMU_S2_APIC_ACCESS;
	return false;
}

/* ---- paging-structure entries in guest memory ---- */

/* Read a 4- or 8-byte paging-structure entry at guest-physical `gpa`. Inlined:
 * it is most of a walk's work. */
static inline __attribute__((always_inline)) bool
entry_read(struct walk *w, uint64_t gpa, unsigned size, uint64_t *val)
{
	uint64_t pa;
	if (!stage2(w, gpa, TLB_READ, true, &pa))
		return false;
	pa &= w->ctx->a20_mask;
	phys_page_t p = physmem_page(w->ctx->mem, pa);
	if (p & PP_HOST_MASK) {
		const uint8_t *h = (const uint8_t *)(p & PP_HOST_MASK) + (pa & 0xfff);
		if (size == 8) {
			memcpy(val, h, 8);
		} else {
			uint32_t v;
			memcpy(&v, h, 4);
			*val = v;
		}
		return true;
	}
	*val = physmem_read_sized(w->ctx->mem, pa, size);
	return true;
}

/*
 * Set accessed/dirty bits (both in the entry's low byte) with a locked OR, as
 * the processor does (4.8). RAM that holds no decoded code is updated in place;
 * anything else goes through the physical map, so a page-table entry that
 * shares a page with code still invalidates the cached traces, and ROM or MMIO
 * see an ordinary store.
 */
static bool
entry_set_bits(struct walk *w, uint64_t gpa, uint8_t bits)
{
	uint64_t pa;
	if (!stage2(w, gpa, TLB_WRITE, true, &pa))
		return false;
	pa &= w->ctx->a20_mask;
	struct physmem *mem = w->ctx->mem;
	phys_page_t p = physmem_page(mem, pa);
	if ((p & PP_HOST_MASK) && (p & PP_WRITABLE) && !(p & PP_NOTIFY)) {
		uint8_t *h = (uint8_t *)(p & PP_HOST_MASK) + (pa & 0xfff);
		__atomic_fetch_or(h, bits, __ATOMIC_SEQ_CST);
		return true;
	}
	uint8_t v = (uint8_t)physmem_read_sized(mem, pa, 1);
	physmem_write_sized(mem, pa, v | bits, 1);
	return true;
}

static inline void
record(struct walk *w, uint64_t pa, uint64_t val, unsigned level)
{
	w->entries[w->nentries++] =
		(struct mmu_entry){ .pa = pa, .val = val, .level = (uint8_t)level };
}

/* Bits M-1:12 of an entry: the physical address it holds. */
static inline uint64_t
addr_bits(const struct mmu_ctx *ctx)
{
	return ((1ull << ctx->maxphyaddr) - 1) & ~0xfffull;
}

/* ---- the walks ---- */

/*
 * Walk 8-byte entries from `level` (4: PML4, 3: PDPT, 2: PD, 1: PT) down, starting
 * with the table at guest-physical `table` (4.4.2 for PAE, 4.5.4 for 4-level).
 * A non-leaf entry's accessed flag is set once the walk has used it (4.8); the
 * leaf's flags are set by the caller, only if the access is allowed.
 */
static enum walk_status
walk_64(struct walk *w, unsigned level, uint64_t table)
{
	const struct mmu_ctx *ctx = w->ctx;
	unsigned m = ctx->maxphyaddr;
	bool nxe = (ctx->efer & MMU_EFER_NXE) != 0;
	bool four_level = (ctx->efer & MMU_EFER_LMA) != 0;
	/* Reserved: 51:M with 4-level paging, 62:M with PAE paging; XD without NXE. */
	uint64_t rsvd = (four_level ? (1ull << 52) - 1 : (1ull << 63) - 1) & ~((1ull << m) - 1);
	if (!nxe)
		rsvd |= PTE_XD;
	uint64_t addr = addr_bits(ctx);
	bool pat = (ctx->model & MMU_MODEL_PAT) != 0;
	for (;;) {
		unsigned shift = 12 + 9 * (level - 1);
		uint64_t epa = table + (((w->lin >> shift) & 0x1ff) << 3);
		uint64_t e;
		if (!entry_read(w, epa, 8, &e))
			return WALK_STAGE2;
		record(w, epa, e, level);
		if (!(e & PTE_P))
			return WALK_NOT_PRESENT;
		uint64_t r = rsvd;
		bool leaf = level == 1;
		if (level == 4) {
			r |= PTE_PS; /* PML4E bit 7 is reserved (table 4-15) */
		} else if (level > 1 && (e & PTE_PS)) {
			if (level == 3 && !(ctx->model & MMU_MODEL_1G))
				return WALK_RESERVED; /* PS in a PDPTE without 1-GByte pages */
			leaf = true;
			r |= ((1ull << shift) - 1) & ~0x1fffull; /* bits shift-1:13 */
			if (!pat)
				r |= PTE_LPAT;
		} else if (level == 1 && !pat) {
			r |= PTE_PAT;
		}
		if (e & r)
			return WALK_RESERVED;
		w->user = w->user && (e & PTE_US);
		w->writable = w->writable && (e & PTE_RW);
		w->xd = w->xd || (nxe && (e & PTE_XD));
		if (leaf) {
			w->page_mask = (1ull << shift) - 1;
			w->pa = (e & addr & ~w->page_mask) | (w->lin & w->page_mask);
			w->leaf = e;
			w->leaf_pa = epa;
			w->level = (uint8_t)level;
			return WALK_OK;
		}
		if (w->effects && !(e & PTE_A) && !entry_set_bits(w, epa, PTE_A))
			return WALK_STAGE2;
		table = e & addr;
		level--;
	}
}

/* 32-bit paging (4.3): 4-byte entries, 4 MiB pages with CR4.PSE, PSE-36 addresses. */
static enum walk_status
walk_32(struct walk *w)
{
	const struct mmu_ctx *ctx = w->ctx;
	bool pat = (ctx->model & MMU_MODEL_PAT) != 0;
	uint64_t pde_pa = (ctx->cr3 & 0xfffff000u) + (((w->lin >> 22) & 0x3ff) << 2);
	uint64_t pde;
	if (!entry_read(w, pde_pa, 4, &pde))
		return WALK_STAGE2;
	record(w, pde_pa, pde, 2);
	if (!(pde & PTE_P))
		return WALK_NOT_PRESENT;
	w->user = (pde & PTE_US) != 0;
	w->writable = (pde & PTE_RW) != 0;
	if ((pde & PTE_PS) && (ctx->cr4 & MMU_CR4_PSE)) {
		/* Bits 20:13 hold physical-address bits 39:32 up to M-1; the rest of
		 * 21:13 are reserved (table 4-4). Without PSE-36, M is 32. */
		unsigned m = ctx->maxphyaddr < 40 ? ctx->maxphyaddr : 40;
		if (!(ctx->model & MMU_MODEL_PSE36))
			m = 32;
		uint64_t r = ((1ull << 22) - 1) & ~((1ull << (m - 19)) - 1);
		if (!pat)
			r |= PTE_LPAT;
		if (pde & r)
			return WALK_RESERVED;
		w->page_mask = 0x3fffff;
		w->pa = (pde & 0xffc00000u) | (((pde >> 13) & 0xff) << 32) | (w->lin & 0x3fffff);
		w->leaf = pde;
		w->leaf_pa = pde_pa;
		w->level = 2;
		return WALK_OK;
	}
	if (w->effects && !(pde & PTE_A) && !entry_set_bits(w, pde_pa, PTE_A))
		return WALK_STAGE2;
	uint64_t pte_pa = (pde & 0xfffff000u) + (((w->lin >> 12) & 0x3ff) << 2);
	uint64_t pte;
	if (!entry_read(w, pte_pa, 4, &pte))
		return WALK_STAGE2;
	record(w, pte_pa, pte, 1);
	if (!(pte & PTE_P))
		return WALK_NOT_PRESENT;
	if (!pat && (pte & PTE_PAT))
		return WALK_RESERVED;
	w->user = w->user && (pte & PTE_US);
	w->writable = w->writable && (pte & PTE_RW);
	w->page_mask = 0xfff;
	w->pa = (pte & 0xfffff000u) | (w->lin & 0xfff);
	w->leaf = pte;
	w->leaf_pa = pte_pa;
	w->level = 1;
	return WALK_OK;
}

/* Walk in the current paging mode (4.1.1). */
static enum walk_status
walk(struct walk *w)
{
	const struct mmu_ctx *ctx = w->ctx;
	w->user = w->writable = true;
	w->xd = false;
	if (ctx->efer & MMU_EFER_LMA)
		return walk_64(w, 4, ctx->cr3 & addr_bits(ctx));
	w->lin &= 0xffffffffull;
	if (ctx->cr4 & MMU_CR4_PAE) {
		/* The PDPTE registers were loaded from CR3 (4.4.1): no memory access now. */
		unsigned k = (unsigned)(w->lin >> 30) & 3;
		uint64_t pdpte = ctx->pdpte[k];
		record(w, (ctx->cr3 & 0xffffffe0u) + 8 * k, pdpte, 3);
		if (!(pdpte & PTE_P))
			return WALK_NOT_PRESENT;
		return walk_64(w, 2, pdpte & addr_bits(ctx));
	}
	return walk_32(w);
}

/*
 * Access rights of a valid translation (4.6). Returns 0 when the access is
 * allowed, else the #PF error bits P, and PK when the protection key denies it
 * (4.6.2; PK is reported whenever the key denies, whatever else does).
 */
static uint32_t
check_rights(const struct mmu_ctx *ctx, const struct walk *w, enum tlb_access kind,
	     enum mmu_priv priv)
{
	bool write = kind == TLB_WRITE, fetch = kind == TLB_EXEC;
	bool wp = (ctx->cr0 & MMU_CR0_WP) != 0;
	bool bad;
	if (priv == MMU_USER) {
		bad = !w->user || (fetch && w->xd) || (write && !w->writable);
	} else if (fetch) {
		bad = w->xd || (w->user && (ctx->cr4 & MMU_CR4_SMEP));
	} else {
		/* SMAP: explicit accesses honour EFLAGS.AC, implicit ones never do. */
		bool smap =
			w->user && (ctx->cr4 & MMU_CR4_SMAP) && (priv == MMU_IMPLICIT || !ctx->ac);
		bad = smap || (write && !w->writable && wp);
	}
	bool pk = false;
	if (!fetch && w->user && (ctx->cr4 & MMU_CR4_PKE) && (ctx->efer & MMU_EFER_LMA)) {
		unsigned key = (unsigned)(w->leaf >> 59) & 0xf;
		bool ad = (ctx->pkru >> (2 * key)) & 1, wd = (ctx->pkru >> (2 * key + 1)) & 1;
		pk = ad || (wd && write && (priv == MMU_USER || wp));
	}
	if (!bad && !pk)
		return 0;
	return PF_P | (pk ? PF_PK : 0);
}

/* Fill *fault for a failed walk; `err` holds the P/RSVD/PK bits of a stage-1 fault. */
static bool
fail(const struct walk *w, uint64_t lin, enum tlb_access kind, enum mmu_priv priv, bool s2,
     uint32_t err, struct mmu_fault *fault)
{
	const struct mmu_ctx *ctx = w->ctx;
	fault->lin = lin;
	fault->nentries = w->nentries;
	memcpy(fault->entries, w->entries, w->nentries * sizeof(w->entries[0]));
	if (s2) {
		fault->stage = 2;
		fault->vector = 0;
		fault->error = 0;
		fault->gpa = w->s2_gpa;
		fault->qualification = w->s2_qual;
		fault->misconfig = w->s2_misconfig;
		fault->pml_full = w->s2_pml_full;
		fault->apic_access = w->s2_apic_access;
		return false;
	}
	/* The error code (4.7): I/D only when fetches can be told apart (SMEP, or
	 * NX with PAE/4-level paging). */
	if (kind == TLB_WRITE)
		err |= PF_W;
	if (priv == MMU_USER)
		err |= PF_U;
	if (kind == TLB_EXEC &&
	    ((ctx->cr4 & MMU_CR4_SMEP) || ((ctx->cr4 & MMU_CR4_PAE) && (ctx->efer & MMU_EFER_NXE))))
		err |= PF_ID;
	fault->stage = 1;
	fault->vector = MMU_VEC_PF;
	fault->error = err;
	fault->gpa = 0;
	fault->qualification = 0;
	fault->misconfig = false;
	fault->pml_full = false;
	fault->apic_access = false;
	return false;
}

bool
mmu_translate(const struct mmu_ctx *ctx, uint64_t lin, enum tlb_access kind, enum mmu_priv priv,
	      enum mmu_effects effects, struct mmu_result *res, struct mmu_fault *fault)
{
	/* Only the inputs are set: zeroing the whole walk costs more than a
	 * fast walk (the outputs are written before they are read). */
	struct walk w;
	w.ctx = ctx;
	w.lin = lin;
	w.lin_valid = true;
	w.effects = effects == MMU_EFFECTS;
	w.entries = res->entries;
	w.nentries = 0;
	res->nentries = 0;
	if (!(ctx->cr0 & MMU_CR0_PG)) {
		uint64_t pa;
		if (!stage2(&w, lin, kind, false, &pa))
			return fail(&w, lin, kind, priv, true, 0, fault);
		res->pa = pa & ctx->a20_mask;
		res->gpa = lin;
		res->page_mask = 0xfff;
		res->level = 0;
		res->writable = res->user = res->executable = true;
		res->global = false;
		res->dirty = true;
		res->store_ok = !ctx->stage2 || kind == TLB_WRITE; /* see below */
		res->no_tlb = false;
		return true;
	}
	enum walk_status st = walk(&w);
	res->nentries = w.nentries;
	if (st == WALK_STAGE2)
		return fail(&w, lin, kind, priv, true, 0, fault);
	if (st != WALK_OK)
		return fail(&w, lin, kind, priv, false, st == WALK_RESERVED ? PF_P | PF_RSVD : 0,
			    fault);
	uint32_t err = check_rights(ctx, &w, kind, priv);
	if (err)
		return fail(&w, lin, kind, priv, false, err, fault);
	/* The leaf's accessed flag, and its dirty flag on a write (4.8). */
	uint64_t bits = PTE_A | (kind == TLB_WRITE ? PTE_D : 0);
	if (w.effects && (w.leaf & bits) != bits && !entry_set_bits(&w, w.leaf_pa, (uint8_t)bits))
		return fail(&w, lin, kind, priv, true, 0, fault);
	uint64_t pa;
	if (!stage2(&w, w.pa, kind, false, &pa))
		return fail(&w, lin, kind, priv, true, 0, fault);
	res->pa = pa & ctx->a20_mask;
	res->gpa = w.pa;
	res->page_mask = w.page_mask;
	res->level = w.level;
	res->writable = w.writable;
	res->user = w.user;
	res->executable = !w.xd;
	res->dirty = (w.leaf & PTE_D) || (w.effects && kind == TLB_WRITE);
	/* A store may skip the walk if it is allowed and D is set: after this write's
	 * walk, or after a read's if the entry is dirty already (read-modify-write
	 * code then walks once, not twice). */
	/* Not with a second stage: the read did not ask it about writes (its
	 * rights, its dirty flag). */
	res->store_ok = (kind == TLB_WRITE && w.effects) ||
			(kind == TLB_READ && !ctx->stage2 && (w.leaf & PTE_D) &&
			 !check_rights(ctx, &w, TLB_WRITE, priv));
	res->global = (w.leaf & PTE_G) && (ctx->cr4 & MMU_CR4_PGE);
	/* A supervisor data access to a user page under SMAP depends on EFLAGS.AC and
	 * on implicit/explicit, which the TLB sets do not tell apart. */
	res->no_tlb = priv != MMU_USER && kind != TLB_EXEC && w.user && (ctx->cr4 & MMU_CR4_SMAP);
	return true;
}

/* ---- PDPTEs ---- */

bool
mmu_load_pdptes(const struct mmu_ctx *ctx, uint64_t cr3, uint64_t out[4], struct mmu_fault *fault)
{
	struct mmu_entry entries[MMU_MAX_ENTRIES];
	struct walk w = { .ctx = ctx, .lin_valid = false, .effects = true, .entries = entries };
	/* Reserved in a present PDPTE: 2:1, 8:5, 63:M (table 4-8). */
	uint64_t rsvd = ~((1ull << ctx->maxphyaddr) - 1) | 0x1e6;
	uint64_t base = cr3 & 0xffffffe0u;
	for (unsigned k = 0; k < 4; k++) {
		uint64_t e;
		if (!entry_read(&w, base + 8 * k, 8, &e))
			return fail(&w, 0, TLB_READ, MMU_SUPER, true, 0, fault);
		if ((e & PTE_P) && (e & rsvd)) {
			fail(&w, 0, TLB_READ, MMU_SUPER, false, 0, fault);
			fault->vector = MMU_VEC_GP;
			fault->error = 0;
			return false;
		}
		out[k] = e;
	}
	return true;
}
