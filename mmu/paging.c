/*
 * fugu — page walks (SDM vol. 3A, chapter 4): 32-bit paging with 4 KiB and
 * 4 MiB pages (PSE, PSE-36), PAE paging with its PDPTE registers and 2 MiB
 * pages, 4-level paging with 2 MiB and (if the model has pdpe1gb) 1 GiB pages;
 * access rights with U/S, R/W, CR0.WP, XD/NXE, SMEP, SMAP and protection keys;
 * accessed and dirty flags; page-fault error codes and CR2; PDPTE loading,
 * MOV CR3, INVLPG and INVPCID as they affect the TLB.
 *
 * Paging-structure caches are not modelled: every TLB miss walks from CR3 (or
 * the PDPTE registers), which the architecture permits (4.10.3).
 */
#include "mmu/paging.h"

#include <inttypes.h>
#include <stdio.h>

#include "cpu/cpu_internal.h"
#include "frontend/trace.h"
#include "cpu/msr.h"
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

/* ---- the EPT seam ---- */

/*
 * The second stage. Every guest-physical address produced here -- each
 * paging-structure entry read or updated, the PDPTEs, and the final address --
 * passes through this function. Outside VMX non-root mode (and, for now,
 * always) it is the identity. The EPT walk goes here: translate `gpa` for an
 * access of `kind` (a paging-structure access is a read, an A/D update a write;
 * `walk` says which, for the exit qualification together with `lin`), and
 * raise an EPT-violation or EPT-misconfiguration VM exit on failure.
 */
static inline uint64_t
stage2(struct cpu *cpu, uint64_t gpa, enum tlb_access kind, bool walk, uint64_t lin)
{
	(void)cpu;
	(void)kind;
	(void)walk;
	(void)lin;
	return gpa;
}

/* ---- paging-structure entries in guest memory ---- */

/* Read a 4- or 8-byte paging-structure entry at guest-physical `gpa`. */
static uint64_t
entry_read(struct cpu *cpu, uint64_t gpa, unsigned size, uint64_t lin)
{
	uint64_t pa = stage2(cpu, gpa, TLB_READ, true, lin) & cpu->a20_mask;
	phys_page_t p = physmem_page(cpu->mem, pa);
	if (p & PP_HOST_MASK) {
		const uint8_t *h = (const uint8_t *)(p & PP_HOST_MASK) + (pa & 0xfff);
		if (size == 8) {
			uint64_t v;
			memcpy(&v, h, 8);
			return v;
		}
		uint32_t v;
		memcpy(&v, h, 4);
		return v;
	}
	return physmem_read_sized(cpu->mem, pa, size);
}

/*
 * Set accessed/dirty bits (both in the entry's low byte) with a locked OR, as
 * the processor does (4.8). RAM that holds no decoded code is updated in place;
 * anything else goes through the physical map, so a page-table entry that
 * shares a page with code still invalidates the cached traces, and ROM or MMIO
 * see an ordinary store.
 */
static void
entry_set_bits(struct cpu *cpu, uint64_t gpa, uint8_t bits, uint64_t lin)
{
	uint64_t pa = stage2(cpu, gpa, TLB_WRITE, true, lin) & cpu->a20_mask;
	phys_page_t p = physmem_page(cpu->mem, pa);
	if ((p & PP_HOST_MASK) && (p & PP_WRITABLE) && !(p & PP_CODE)) {
		uint8_t *h = (uint8_t *)(p & PP_HOST_MASK) + (pa & 0xfff);
		__atomic_fetch_or(h, bits, __ATOMIC_SEQ_CST);
		return;
	}
	uint8_t v = (uint8_t)physmem_read_sized(cpu->mem, pa, 1);
	physmem_write_sized(cpu->mem, pa, v | bits, 1);
}

/* ---- model parameters ---- */

unsigned
mmu_maxphyaddr(const struct cpu *cpu)
{
	const struct cpu_features *f = &cpu->features;
	if (f->max_ext_leaf >= 0x80000008u) {
		uint32_t regs[4];
		cpu_features_cpuid(f, 0x80000008u, 0, regs);
		unsigned m = regs[0] & 0xff;
		if (m >= 32 && m <= 52)
			return m;
	}
	return cpu_has(f, FEAT_PAE) ? 36 : 32;
}

/* Bits M-1:12 of an entry: the physical address it holds. */
static inline uint64_t
addr_bits(const struct cpu *cpu)
{
	return ((1ull << cpu->maxphyaddr) - 1) & ~0xfffull;
}

void
mmu_reset(struct cpu *cpu)
{
	cpu->maxphyaddr = (uint8_t)mmu_maxphyaddr(cpu);
	memset(cpu->state.pdpte, 0, sizeof(cpu->state.pdpte));
	cpu->state.pkru = 0;
	tlb_init(&cpu->tlb);
}

bool
mmu_legacy_pae(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
	return (cr0 & CR0_PG) && (cr4 & CR4_PAE) && !(efer & EFER_LMA);
}

/* ---- the walks ---- */

enum walk_status { WALK_OK, WALK_NOT_PRESENT, WALK_RESERVED };

struct walk {
	uint64_t lin;
	bool effects; /* set accessed flags on the way (false for mmu_probe) */
	/* Results. */
	uint64_t pa, page_mask;
	uint64_t leaf;       /* the entry that maps the page */
	uint64_t leaf_pa;    /* its guest-physical address */
	bool user;           /* AND of the U/S flags (4.6) */
	bool writable;       /* AND of the R/W flags */
	bool xd;             /* OR of the XD flags, with EFER.NXE */
	uint64_t entries[5]; /* every entry read, top level first (the `pagewalk` trace) */
	unsigned nentries;
};

/*
 * Walk 8-byte entries from `level` (4: PML4, 3: PDPT, 2: PD, 1: PT) down, starting
 * with the table at guest-physical `table` (4.4.2 for PAE, 4.5.4 for 4-level).
 * A non-leaf entry's accessed flag is set once the walk has used it (4.8); the
 * leaf's flags are set by the caller, only if the access is allowed.
 */
static enum walk_status
walk_64(struct cpu *cpu, struct walk *w, int level, uint64_t table)
{
	const struct cpu_features *f = &cpu->features;
	unsigned m = cpu->maxphyaddr;
	bool nxe = (cpu->state.efer & EFER_NXE) != 0;
	bool four_level = (cpu->state.efer & EFER_LMA) != 0;
	/* Reserved: 51:M with 4-level paging, 62:M with PAE paging; XD without NXE. */
	uint64_t rsvd = (four_level ? (1ull << 52) - 1 : (1ull << 63) - 1) & ~((1ull << m) - 1);
	if (!nxe)
		rsvd |= PTE_XD;
	uint64_t addr = addr_bits(cpu);
	bool pat = cpu_has(f, FEAT_PAT);
	for (;;) {
		unsigned shift = 12 + 9 * (unsigned)(level - 1);
		uint64_t epa = table + (((w->lin >> shift) & 0x1ff) << 3);
		uint64_t e = entry_read(cpu, epa, 8, w->lin);
		w->entries[w->nentries++] = e;
		if (!(e & PTE_P))
			return WALK_NOT_PRESENT;
		uint64_t r = rsvd;
		bool leaf = level == 1;
		if (level == 4) {
			r |= PTE_PS; /* PML4E bit 7 is reserved (table 4-15) */
		} else if (level > 1 && (e & PTE_PS)) {
			if (level == 3 && !cpu_has(f, FEAT_PDPE1GB))
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
			return WALK_OK;
		}
		if (w->effects && !(e & PTE_A))
			entry_set_bits(cpu, epa, PTE_A, w->lin);
		table = e & addr;
		level--;
	}
}

/* 32-bit paging (4.3): 4-byte entries, 4 MiB pages with CR4.PSE, PSE-36 addresses. */
static enum walk_status
walk_32(struct cpu *cpu, struct walk *w)
{
	const struct cpu_features *f = &cpu->features;
	bool pat = cpu_has(f, FEAT_PAT);
	uint64_t pde_pa = (cpu->state.cr3 & 0xfffff000u) + (((w->lin >> 22) & 0x3ff) << 2);
	uint64_t pde = entry_read(cpu, pde_pa, 4, w->lin);
	w->entries[w->nentries++] = pde;
	if (!(pde & PTE_P))
		return WALK_NOT_PRESENT;
	w->user = (pde & PTE_US) != 0;
	w->writable = (pde & PTE_RW) != 0;
	if ((pde & PTE_PS) && (cpu->state.cr4 & CR4_PSE)) {
		/* Bits 20:13 hold physical-address bits 39:32 up to M-1; the rest of
		 * 21:13 are reserved (table 4-4). Without PSE-36, M is 32. */
		unsigned m = cpu->maxphyaddr < 40 ? cpu->maxphyaddr : 40;
		if (!cpu_has(f, FEAT_PSE36))
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
		return WALK_OK;
	}
	if (w->effects && !(pde & PTE_A))
		entry_set_bits(cpu, pde_pa, PTE_A, w->lin);
	uint64_t pte_pa = (pde & 0xfffff000u) + (((w->lin >> 12) & 0x3ff) << 2);
	uint64_t pte = entry_read(cpu, pte_pa, 4, w->lin);
	w->entries[w->nentries++] = pte;
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
	return WALK_OK;
}

/* Walk in the current paging mode (4.1.1). */
static enum walk_status
walk(struct cpu *cpu, struct walk *w)
{
	w->user = w->writable = true;
	w->xd = false;
	if (cpu->state.efer & EFER_LMA)
		return walk_64(cpu, w, 4, cpu->state.cr3 & addr_bits(cpu));
	if (cpu->state.cr4 & CR4_PAE) {
		w->lin &= 0xffffffffull;
		uint64_t pdpte = cpu->state.pdpte[(w->lin >> 30) & 3];
		w->entries[w->nentries++] = pdpte;
		if (!(pdpte & PTE_P))
			return WALK_NOT_PRESENT;
		return walk_64(cpu, w, 2, pdpte & addr_bits(cpu));
	}
	w->lin &= 0xffffffffull;
	return walk_32(cpu, w);
}

/*
 * Access rights of a valid translation (4.6). Returns 0 when the access is
 * allowed, else the #PF error bits P, and PK when the protection key denies it
 * (4.6.2; PK is reported whenever the key denies, whatever else does).
 */
static uint32_t
check_rights(struct cpu *cpu, const struct walk *w, enum tlb_access kind, enum mmu_priv priv)
{
	bool write = kind == TLB_WRITE, fetch = kind == TLB_EXEC;
	bool wp = (cpu->state.cr0 & CR0_WP) != 0;
	bool bad;
	if (priv == MMU_USER) {
		bad = !w->user || (fetch && w->xd) || (write && !w->writable);
	} else if (fetch) {
		bad = w->xd || (w->user && (cpu->state.cr4 & CR4_SMEP));
	} else {
		/* SMAP: explicit accesses honour EFLAGS.AC, implicit ones never do. */
		bool smap = w->user && (cpu->state.cr4 & CR4_SMAP) &&
			    (priv == MMU_IMPLICIT || !(cpu->state.rflags & F_AC));
		bad = smap || (write && !w->writable && wp);
	}
	bool pk = false;
	if (!fetch && w->user && (cpu->state.cr4 & CR4_PKE) && (cpu->state.efer & EFER_LMA)) {
		unsigned key = (unsigned)(w->leaf >> 59) & 0xf;
		bool ad = (cpu->state.pkru >> (2 * key)) & 1,
		     wd = (cpu->state.pkru >> (2 * key + 1)) & 1;
		pk = ad || (wd && write && (priv == MMU_USER || wp));
	}
	if (!bad && !pk)
		return 0;
	return PF_P | (pk ? PF_PK : 0);
}

/* Raise #PF for `lin` with the error code for this access (4.7); CR2 = lin. */
static _Noreturn void
page_fault(struct cpu *cpu, uint64_t lin, enum tlb_access kind, enum mmu_priv priv, uint32_t err)
{
	if (kind == TLB_WRITE)
		err |= PF_W;
	if (priv == MMU_USER)
		err |= PF_U;
	if (kind == TLB_EXEC && ((cpu->state.cr4 & CR4_SMEP) ||
				 ((cpu->state.cr4 & CR4_PAE) && (cpu->state.efer & EFER_NXE))))
		err |= PF_ID;
	cpu->state.cr2 = lin;
	cpu_fault(cpu, EXC_PF, err);
}

/* The `pagewalk` trace event: the address, each entry read, and the outcome. */
static void
trace_walk(struct cpu *cpu, const struct walk *w, enum tlb_access kind, enum mmu_priv priv, bool ok,
	   uint32_t err)
{
	static const char *const kinds[] = { "read", "write", "exec" };
	char entries[5 * 17 + 1] = "", outcome[48];
	size_t n = 0;
	for (unsigned k = 0; k < w->nentries; k++)
		n += (size_t)snprintf(entries + n, sizeof(entries) - n, "%s%" PRIx64, k ? " " : "",
				      w->entries[k]);
	if (ok)
		snprintf(outcome, sizeof(outcome), "pa=%" PRIx64, w->pa);
	else
		snprintf(outcome, sizeof(outcome), "#PF error=%x",
			 err | (kind == TLB_WRITE ? PF_W : 0) | (priv == MMU_USER ? PF_U : 0) |
				 (kind == TLB_EXEC ? PF_ID : 0));
	union trace_value v[5] = { { .u = w->lin },
				   { .s = kinds[kind] },
				   { .s = priv == MMU_USER ? "user" : "supervisor" },
				   { .s = entries },
				   { .s = outcome } };
	trace_emit(cpu->tracer, TEV_PAGEWALK, v);
}

void
mmu_trace_flush(struct cpu *cpu, const char *scope, uint64_t addr, const char *cause)
{
	if (!tracer_wants(cpu->tracer, TRACE_CAT_TLB))
		return;
	union trace_value v[3] = { { .s = scope }, { .u = addr }, { .s = cause } };
	trace_emit(cpu->tracer, TEV_TLB_FLUSH, v);
}

void
mmu_translate(struct cpu *cpu, uint64_t lin, enum tlb_access kind, enum mmu_priv priv,
	      struct mmu_result *out)
{
	if (!(cpu->state.cr0 & CR0_PG)) {
		out->pa = stage2(cpu, lin, kind, false, lin);
		out->page_mask = 0xfff;
		out->writable = true;
		out->global = false;
		out->no_tlb = false;
		return;
	}
	struct walk w = { .lin = lin, .effects = true };
	enum walk_status st = walk(cpu, &w);
	uint32_t err = st == WALK_NOT_PRESENT ? 0
		       : st == WALK_RESERVED  ? PF_P | PF_RSVD
					      : check_rights(cpu, &w, kind, priv);
	if (tracer_wants(cpu->tracer, TRACE_CAT_PAGEWALK))
		trace_walk(cpu, &w, kind, priv, st == WALK_OK && !err, err);
	if (st != WALK_OK || err)
		page_fault(cpu, lin, kind, priv, err);
	/* The leaf's accessed flag, and its dirty flag on a write (4.8). */
	uint64_t bits = PTE_A | (kind == TLB_WRITE ? PTE_D : 0);
	if ((w.leaf & bits) != bits)
		entry_set_bits(cpu, w.leaf_pa, (uint8_t)bits, lin);
	out->pa = stage2(cpu, w.pa, kind, false, lin);
	out->page_mask = w.page_mask;
	/* A store may skip the walk if it is allowed and D is set: after this write's
	 * walk, or after a read's if the entry is dirty already (read-modify-write
	 * code then walks once, not twice). */
	out->writable = kind == TLB_WRITE || (kind == TLB_READ && (w.leaf & PTE_D) &&
					      !check_rights(cpu, &w, TLB_WRITE, priv));
	out->global = (w.leaf & PTE_G) && (cpu->state.cr4 & CR4_PGE);
	/* A supervisor data access to a user page under SMAP depends on EFLAGS.AC and
	 * on implicit/explicit, which the TLB sets do not tell apart. */
	out->no_tlb = priv != MMU_USER && kind != TLB_EXEC && w.user && (cpu->state.cr4 & CR4_SMAP);
}

bool
mmu_probe(struct cpu *cpu, uint64_t lin, enum tlb_access kind, enum mmu_priv priv, uint64_t *pa)
{
	if (!(cpu->state.cr0 & CR0_PG)) {
		*pa = lin;
		return true;
	}
	struct walk w = { .lin = lin, .effects = false };
	if (walk(cpu, &w) != WALK_OK || check_rights(cpu, &w, kind, priv))
		return false;
	*pa = w.pa;
	return true;
}

/* ---- PDPTEs, CR3, invalidation ---- */

bool
mmu_read_pdptes(struct cpu *cpu, uint64_t cr3, uint64_t out[4])
{
	/* Reserved in a present PDPTE: 2:1, 8:5, 63:M (table 4-8). */
	uint64_t rsvd = ~((1ull << cpu->maxphyaddr) - 1) | 0x1e6;
	uint64_t base = cr3 & 0xffffffe0u;
	for (unsigned k = 0; k < 4; k++) {
		uint64_t e = entry_read(cpu, base + 8 * k, 8, 0);
		if ((e & PTE_P) && (e & rsvd))
			return false;
		out[k] = e;
	}
	return true;
}

void
mmu_invlpg(struct cpu *cpu, uint64_t lin)
{
	tlb_flush_page(&cpu->tlb, lin);
	mmu_trace_flush(cpu, "page", lin, "invlpg");
	cpu->stop_trace = true;
}

void
mmu_invpcid(struct cpu *cpu, uint64_t type, uint64_t desc_lo, uint64_t desc_hi)
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
	static const char *const scopes[4] = { "page", "pcid", "all", "non-global" };
	mmu_trace_flush(cpu, scopes[type], type == 0 ? desc_hi : pcid, "invpcid");
	cpu->stop_trace = true;
}

void
mmu_set_pkru(struct cpu *cpu, uint32_t pkru)
{
	if (pkru != cpu->state.pkru)
		tlb_flush_all(&cpu->tlb);
	cpu->state.pkru = pkru;
}
