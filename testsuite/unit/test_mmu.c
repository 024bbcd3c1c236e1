/*
 * Unit tests: the MMU through its own interface (mmu/paging.h), with no CPU:
 * a translation context over a physical map, page tables built by hand, and
 * every fault kind, A/D behaviour, the entries a walk reports, and the
 * second-stage slot. Section numbers are SDM vol. 3A.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mmu/paging.h"
#include "mmu/physmem.h"

static struct physmem *pm;
static struct mmu_ctx ctx;
static uint64_t pdpte[4];
static struct mmu_result res;
static struct mmu_fault flt;

#define P 0x1ull
#define RW 0x2ull
#define US 0x4ull
#define A 0x20ull
#define D 0x40ull
#define PS 0x80ull
#define G 0x100ull
#define XD (1ull << 63)
#define F (P | RW | US)

static int
setup(void **state)
{
	(void)state;
	pm = physmem_create(16 << 20);
	assert_non_null(pm);
	memset(pdpte, 0, sizeof(pdpte));
	ctx = (struct mmu_ctx){ .cr0 = MMU_CR0_PG,
				.cr3 = 0x1000,
				.pdpte = pdpte,
				.maxphyaddr = 36,
				.model = MMU_MODEL_PAT | MMU_MODEL_PSE36 | MMU_MODEL_1G,
				.a20_mask = ~0ull,
				.mem = pm };
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	physmem_destroy(pm);
	return 0;
}

static void
w32(uint64_t pa, uint32_t v)
{
	physmem_write_sized(pm, pa, v, 4);
}

static void
w64(uint64_t pa, uint64_t v)
{
	physmem_write_sized(pm, pa, v, 8);
}

static uint64_t
r64(uint64_t pa)
{
	return physmem_read_sized(pm, pa, 8);
}

static bool
tr(uint64_t lin, enum tlb_access kind, enum mmu_priv priv)
{
	memset(&res, 0xcc, sizeof(res));
	memset(&flt, 0xcc, sizeof(flt));
	return mmu_translate(&ctx, lin, kind, priv, MMU_EFFECTS, &res, &flt);
}

static bool
probe(uint64_t lin, enum tlb_access kind, enum mmu_priv priv)
{
	memset(&res, 0xcc, sizeof(res));
	memset(&flt, 0xcc, sizeof(flt));
	return mmu_translate(&ctx, lin, kind, priv, MMU_PROBE, &res, &flt);
}

/* The access must translate to `pa`. */
static void
ok(uint64_t lin, enum tlb_access kind, enum mmu_priv priv, uint64_t pa)
{
	assert_true(tr(lin, kind, priv));
	assert_int_equal(res.pa, pa);
}

/* The access must fail with a stage-1 #PF with this error code, for CR2 = lin. */
static void
pf(uint64_t lin, enum tlb_access kind, enum mmu_priv priv, uint32_t err)
{
	assert_false(tr(lin, kind, priv));
	assert_int_equal(flt.stage, 1);
	assert_int_equal(flt.vector, MMU_VEC_PF);
	assert_int_equal(flt.error, err);
	assert_int_equal(flt.lin, lin);
}

/* ---- 4-level paging: PML4 0x1000, PDPT 0x2000, PD 0x3000, PT 0x4000, page 0x5000 ---- */

#define LIN4 ((1ull << 39) | (2ull << 30) | (3ull << 21) | (4ull << 12) | 0x123)
#define E4 (0x1000 + 8 * 1)
#define E3 (0x2000 + 8 * 2)
#define E2 (0x3000 + 8 * 3)
#define E1 (0x4000 + 8 * 4)

static void
long_mode(void)
{
	ctx.cr4 = MMU_CR4_PAE;
	ctx.efer = MMU_EFER_LMA;
	w64(E4, 0x2000 | F);
	w64(E3, 0x3000 | F);
	w64(E2, 0x4000 | F);
	w64(E1, 0x5000 | F);
}

static void
paging_off_is_identity(void **state)
{
	(void)state;
	ctx.cr0 = 0;
	ok(0x123456, TLB_WRITE, MMU_USER, 0x123456);
	assert_int_equal(res.nentries, 0);
	assert_int_equal(res.level, 0);
	ctx.a20_mask = ~(1ull << 20);
	ok(0x123456, TLB_READ, MMU_SUPER, 0x023456);
}

static void
long_walk_reports_entries_and_sets_ad(void **state)
{
	(void)state;
	long_mode();
	ok(LIN4, TLB_READ, MMU_SUPER, 0x5123);
	assert_int_equal(res.gpa, 0x5123);
	assert_int_equal(res.level, 1);
	assert_int_equal(res.page_mask, 0xfff);
	assert_true(res.writable && res.user && res.executable);
	assert_false(res.global);
	assert_false(res.dirty);
	assert_false(res.store_ok); /* D clear: a store must walk */
	assert_int_equal(res.nentries, 4);
	static const uint64_t pas[4] = { E4, E3, E2, E1 };
	static const uint64_t vals[4] = { 0x2000 | F, 0x3000 | F, 0x4000 | F, 0x5000 | F };
	for (unsigned k = 0; k < 4; k++) {
		assert_int_equal(res.entries[k].level, 4 - k);
		assert_int_equal(res.entries[k].pa, pas[k]);
		assert_int_equal(res.entries[k].val, vals[k]); /* as read, before A was set */
	}
	/* A in every entry; D only after a write, only in the leaf (4.8). */
	assert_int_equal(r64(E4), 0x2000 | F | A);
	assert_int_equal(r64(E3), 0x3000 | F | A);
	assert_int_equal(r64(E2), 0x4000 | F | A);
	assert_int_equal(r64(E1), 0x5000 | F | A);
	ok(LIN4, TLB_WRITE, MMU_SUPER, 0x5123);
	assert_true(res.dirty && res.store_ok);
	assert_int_equal(r64(E2), 0x4000 | F | A);
	assert_int_equal(r64(E1), 0x5000 | F | A | D);
	/* A read of a dirty page may fill the write entry too. */
	ok(LIN4, TLB_READ, MMU_SUPER, 0x5123);
	assert_true(res.store_ok);
	/* Global with CR4.PGE only. */
	w64(E1, 0x5000 | F | A | D | G);
	ok(LIN4, TLB_READ, MMU_SUPER, 0x5123);
	assert_false(res.global);
	ctx.cr4 |= MMU_CR4_PGE;
	ok(LIN4, TLB_READ, MMU_SUPER, 0x5123);
	assert_true(res.global);
}

static void
probe_has_no_side_effects(void **state)
{
	(void)state;
	long_mode();
	assert_true(probe(LIN4, TLB_WRITE, MMU_USER));
	assert_int_equal(res.pa, 0x5123);
	assert_int_equal(res.nentries, 4);
	assert_int_equal(r64(E4), 0x2000 | F);
	assert_int_equal(r64(E3), 0x3000 | F);
	assert_int_equal(r64(E2), 0x4000 | F);
	assert_int_equal(r64(E1), 0x5000 | F);
	/* A denied access is reported, not raised, and changes nothing either. */
	w64(E1, 0x5000 | P | US);
	assert_false(probe(LIN4, TLB_WRITE, MMU_USER));
	assert_int_equal(flt.stage, 1);
	assert_int_equal(flt.error, PF_P | PF_W | PF_U);
	assert_int_equal(r64(E4), 0x2000 | F);
	assert_int_equal(r64(E1), 0x5000 | P | US);
	/* A normal walk that faults on rights sets A on the way but not in the leaf. */
	pf(LIN4, TLB_WRITE, MMU_USER, PF_P | PF_W | PF_U);
	assert_int_equal(r64(E2), 0x4000 | F | A);
	assert_int_equal(r64(E1), 0x5000 | P | US);
}

static void
long_not_present_at_each_level(void **state)
{
	(void)state;
	static const uint64_t where[4] = { E4, E3, E2, E1 };
	for (unsigned k = 0; k < 4; k++) {
		long_mode();
		w64(where[k], r64(where[k]) & ~P);
		pf(LIN4, TLB_READ, MMU_SUPER, 0);
		assert_int_equal(flt.nentries, k + 1);
		assert_int_equal(flt.entries[k].level, 4 - k);
		assert_int_equal(flt.entries[k].pa, where[k]);
		pf(LIN4, TLB_WRITE, MMU_USER, PF_W | PF_U);
		pf(LIN4, TLB_EXEC, MMU_USER, PF_U); /* no I/D without NXE or SMEP */
		ctx.efer |= MMU_EFER_NXE;
		pf(LIN4, TLB_EXEC, MMU_SUPER, PF_ID);
	}
}

static void
long_reserved_bits_at_each_level(void **state)
{
	(void)state;
	static const uint64_t where[4] = { E4, E3, E2, E1 };
	for (unsigned k = 0; k < 4; k++) {
		/* A bit above MAXPHYADDR (36), at each level. */
		long_mode();
		w64(where[k], r64(where[k]) | (1ull << 40));
		pf(LIN4, TLB_READ, MMU_SUPER, PF_P | PF_RSVD);
		assert_int_equal(flt.nentries, k + 1);
		pf(LIN4, TLB_WRITE, MMU_USER, PF_P | PF_RSVD | PF_W | PF_U);
		/* XD without EFER.NXE is reserved. */
		long_mode();
		w64(where[k], r64(where[k]) | XD);
		pf(LIN4, TLB_READ, MMU_SUPER, PF_P | PF_RSVD);
	}
	/* A wider MAXPHYADDR makes bit 40 an address bit. */
	long_mode();
	ctx.maxphyaddr = 46;
	w64(E1, 0x5000 | (1ull << 40) | F);
	ok(LIN4, TLB_READ, MMU_SUPER, (1ull << 40) | 0x5123);
	ctx.maxphyaddr = 36;
	/* Bits 51:M even with a 52-bit-wide entry. */
	w64(E1, 0x5000 | (1ull << 51) | F);
	pf(LIN4, TLB_READ, MMU_SUPER, PF_P | PF_RSVD);
	/* PS in a PML4E is reserved (table 4-15). */
	long_mode();
	w64(E4, 0x2000 | F | PS);
	pf(LIN4, TLB_READ, MMU_SUPER, PF_P | PF_RSVD);
	/* PAT in a PTE without the PAT feature. */
	long_mode();
	ctx.model &= ~MMU_MODEL_PAT;
	w64(E1, 0x5000 | F | 0x80);
	pf(LIN4, TLB_READ, MMU_SUPER, PF_P | PF_RSVD);
	ctx.model |= MMU_MODEL_PAT;
	ok(LIN4, TLB_READ, MMU_SUPER, 0x5123);
}

static void
long_large_pages(void **state)
{
	(void)state;
	/* 2 MiB page at 0x600000. */
	long_mode();
	w64(E2, 0x600000 | F | PS);
	ok(LIN4, TLB_READ, MMU_SUPER, 0x604123);
	assert_int_equal(res.level, 2);
	assert_int_equal(res.page_mask, 0x1fffff);
	assert_int_equal(res.nentries, 3);
	assert_int_equal(r64(E2), 0x600000 | F | PS | A);
	/* Bits 20:13 of a 2 MiB entry are reserved. */
	w64(E2, 0x600000 | (1ull << 13) | F | PS);
	pf(LIN4, TLB_READ, MMU_SUPER, PF_P | PF_RSVD);
	/* 1 GiB page at 0x40000000 with pdpe1gb. */
	long_mode();
	w64(E3, 0x40000000 | F | PS);
	ok(LIN4, TLB_READ, MMU_SUPER, 0x40000000 | (3ull << 21) | (4ull << 12) | 0x123);
	assert_int_equal(res.level, 3);
	assert_int_equal(res.page_mask, 0x3fffffff);
	assert_int_equal(res.nentries, 2);
	/* Bits 29:13 of a 1 GiB entry are reserved. */
	w64(E3, 0x40000000 | (1ull << 21) | F | PS);
	pf(LIN4, TLB_READ, MMU_SUPER, PF_P | PF_RSVD);
	/* Without pdpe1gb, PS in a PDPTE is reserved. */
	w64(E3, 0x40000000 | F | PS);
	ctx.model &= ~MMU_MODEL_1G;
	pf(LIN4, TLB_READ, MMU_SUPER, PF_P | PF_RSVD);
}

static void
write_protect(void **state)
{
	(void)state;
	long_mode();
	w64(E2, 0x4000 | P | US); /* read-only at the PD level: the AND counts (4.6) */
	/* Supervisor writes to read-only pages: allowed without CR0.WP, not with it. */
	ok(LIN4, TLB_WRITE, MMU_SUPER, 0x5123);
	assert_false(res.writable);
	ok(LIN4, TLB_WRITE, MMU_IMPLICIT, 0x5123);
	ctx.cr0 |= MMU_CR0_WP;
	pf(LIN4, TLB_WRITE, MMU_SUPER, PF_P | PF_W);
	/* User writes: never. Reads are fine. */
	ctx.cr0 &= ~MMU_CR0_WP;
	pf(LIN4, TLB_WRITE, MMU_USER, PF_P | PF_W | PF_U);
	ok(LIN4, TLB_READ, MMU_USER, 0x5123);
}

static void
user_and_nx(void **state)
{
	(void)state;
	long_mode();
	w64(E1, 0x5000 | P | RW); /* supervisor page */
	pf(LIN4, TLB_READ, MMU_USER, PF_P | PF_U);
	pf(LIN4, TLB_EXEC, MMU_USER, PF_P | PF_U);
	ok(LIN4, TLB_READ, MMU_SUPER, 0x5123);
	assert_false(res.user);
	/* XD with EFER.NXE: fetches fault with I/D, data accesses do not. */
	long_mode();
	ctx.efer |= MMU_EFER_NXE;
	w64(E3, 0x3000 | F | XD);
	pf(LIN4, TLB_EXEC, MMU_SUPER, PF_P | PF_ID);
	pf(LIN4, TLB_EXEC, MMU_USER, PF_P | PF_ID | PF_U);
	ok(LIN4, TLB_WRITE, MMU_USER, 0x5123);
	assert_false(res.executable);
}

static void
smep_smap(void **state)
{
	(void)state;
	long_mode(); /* a user page */
	ok(LIN4, TLB_EXEC, MMU_SUPER, 0x5123);
	ctx.cr4 |= MMU_CR4_SMEP;
	pf(LIN4, TLB_EXEC, MMU_SUPER, PF_P | PF_ID);
	ok(LIN4, TLB_EXEC, MMU_USER, 0x5123);
	ok(LIN4, TLB_READ, MMU_SUPER, 0x5123);
	assert_false(res.no_tlb);
	/* SMAP: explicit supervisor data accesses need RFLAGS.AC; implicit ones fail. */
	ctx.cr4 |= MMU_CR4_SMAP;
	pf(LIN4, TLB_READ, MMU_SUPER, PF_P);
	pf(LIN4, TLB_WRITE, MMU_SUPER, PF_P | PF_W);
	pf(LIN4, TLB_READ, MMU_IMPLICIT, PF_P);
	ctx.ac = true;
	ok(LIN4, TLB_READ, MMU_SUPER, 0x5123);
	assert_true(res.no_tlb); /* depends on AC: not for the TLB */
	ok(LIN4, TLB_WRITE, MMU_SUPER, 0x5123);
	pf(LIN4, TLB_READ, MMU_IMPLICIT, PF_P);
	ok(LIN4, TLB_READ, MMU_USER, 0x5123);
	assert_false(res.no_tlb);
	/* Supervisor pages are unaffected. */
	ctx.ac = false;
	w64(E1, 0x5000 | P | RW);
	ok(LIN4, TLB_READ, MMU_SUPER, 0x5123);
	ok(LIN4, TLB_EXEC, MMU_SUPER, 0x5123);
}

static void
protection_keys(void **state)
{
	(void)state;
	long_mode();
	w64(E1, 0x5000 | F | (3ull << 59));   /* key 3 */
	ctx.pkru = 1u << 6;                   /* AD for key 3 */
	ok(LIN4, TLB_READ, MMU_USER, 0x5123); /* without CR4.PKE keys do nothing */
	ctx.cr4 |= MMU_CR4_PKE;
	pf(LIN4, TLB_READ, MMU_USER, PF_P | PF_PK | PF_U);
	pf(LIN4, TLB_WRITE, MMU_USER, PF_P | PF_PK | PF_W | PF_U);
	pf(LIN4, TLB_READ, MMU_SUPER, PF_P | PF_PK); /* data accesses to user pages */
	ok(LIN4, TLB_EXEC, MMU_USER, 0x5123);        /* fetches ignore keys */
	ctx.pkru = 1u << 7;                          /* WD for key 3 */
	ok(LIN4, TLB_READ, MMU_USER, 0x5123);
	pf(LIN4, TLB_WRITE, MMU_USER, PF_P | PF_PK | PF_W | PF_U);
	ok(LIN4, TLB_WRITE, MMU_SUPER, 0x5123); /* supervisor writes: only with CR0.WP */
	ctx.cr0 |= MMU_CR0_WP;
	pf(LIN4, TLB_WRITE, MMU_SUPER, PF_P | PF_PK | PF_W);
	ctx.pkru = 3u << 4; /* another key: no effect */
	ok(LIN4, TLB_WRITE, MMU_USER, 0x5123);
	/* Supervisor pages have no keys. */
	ctx.pkru = 1u << 6;
	w64(E1, 0x5000 | P | RW | (3ull << 59));
	ok(LIN4, TLB_READ, MMU_SUPER, 0x5123);
}

/* ---- 32-bit paging: PD 0x1000, PT 0x2000 ---- */

static void
paging32(void **state)
{
	(void)state;
	uint64_t lin = (1u << 22) | (5u << 12) | 0x321;
	w32(0x1000 + 4, 0x2000 | F);
	w32(0x2000 + 4 * 5, 0x7000 | F);
	ok(lin, TLB_READ, MMU_SUPER, 0x7321);
	assert_int_equal(res.nentries, 2);
	assert_int_equal(res.entries[0].level, 2);
	assert_int_equal(res.entries[0].pa, 0x1004);
	assert_int_equal(res.entries[1].level, 1);
	assert_int_equal(res.entries[1].pa, 0x2014);
	assert_int_equal(res.entries[1].val, 0x7000 | F);
	ok(lin, TLB_WRITE, MMU_SUPER, 0x7321);
	assert_int_equal(physmem_read_sized(pm, 0x1004, 4), 0x2000 | F | A);
	assert_int_equal(physmem_read_sized(pm, 0x2014, 4), 0x7000 | F | A | D);
	/* Not present at each level. */
	pf(lin + 0x400000, TLB_READ, MMU_USER, PF_U);
	assert_int_equal(flt.nentries, 1);
	pf(lin + 0x1000, TLB_WRITE, MMU_SUPER, PF_W);
	assert_int_equal(flt.nentries, 2);
	/* Rights, and no I/D bit: 32-bit paging has no NX (4.7). */
	w32(0x2000 + 4 * 5, 0x7000 | P);
	pf(lin, TLB_READ, MMU_USER, PF_P | PF_U);
	pf(lin, TLB_EXEC, MMU_USER, PF_P | PF_U);
	ctx.cr0 |= MMU_CR0_WP;
	pf(lin, TLB_WRITE, MMU_SUPER, PF_P | PF_W);
	/* PAT in a PTE without the feature is reserved. */
	w32(0x2000 + 4 * 5, 0x7000 | F | 0x80);
	ctx.model &= ~MMU_MODEL_PAT;
	pf(lin, TLB_READ, MMU_SUPER, PF_P | PF_RSVD);
}

static void
paging32_large_pages(void **state)
{
	(void)state;
	uint64_t lin = (2u << 22) | 0x12345;
	w32(0x1000 + 8, 0x00c00000 | F | PS);
	/* Without CR4.PSE, PS is ignored: the entry points to a page table at 0xc00000. */
	w32(0xc00000 + 4 * 0x12, 0x9000 | F);
	ok(lin, TLB_READ, MMU_SUPER, 0x9345);
	ctx.cr4 = MMU_CR4_PSE;
	ok(lin, TLB_READ, MMU_SUPER, 0xc12345);
	assert_int_equal(res.page_mask, 0x3fffff);
	assert_int_equal(res.level, 2);
	assert_int_equal(res.nentries, 1);
	/* PSE-36: bits 20:13 are physical-address bits 39:32 (up to MAXPHYADDR 36). */
	w32(0x1000 + 8, 0x00c00000 | (0x3u << 13) | F | PS);
	ok(lin, TLB_READ, MMU_SUPER, 0x300c12345ull);
	/* Bit 17 would be PA bit 36: reserved with MAXPHYADDR 36; so is bit 21. */
	w32(0x1000 + 8, 0x00c00000 | (1u << 17) | F | PS);
	pf(lin, TLB_READ, MMU_SUPER, PF_P | PF_RSVD);
	w32(0x1000 + 8, 0x00c00000 | (1u << 21) | F | PS);
	pf(lin, TLB_READ, MMU_SUPER, PF_P | PF_RSVD);
	/* Without PSE-36 every bit of 21:13 is reserved. */
	w32(0x1000 + 8, 0x00c00000 | (1u << 13) | F | PS);
	ctx.model &= ~MMU_MODEL_PSE36;
	pf(lin, TLB_READ, MMU_SUPER, PF_P | PF_RSVD);
}

/* ---- PAE paging: PDPT at 0x1000 (in registers), PD 0x2000, PT 0x3000 ---- */

static void
pae_mode(void)
{
	ctx.cr4 = MMU_CR4_PAE;
	w64(0x1000 + 8, 0x2000 | P);
	w64(0x2000 + 8 * 2, 0x3000 | F);
	w64(0x3000 + 8 * 3, 0x8000 | F);
	assert_true(mmu_load_pdptes(&ctx, ctx.cr3, pdpte, &flt));
}

#define LINP ((1u << 30) | (2u << 21) | (3u << 12) | 0x456)

static void
pae_walk(void **state)
{
	(void)state;
	pae_mode();
	assert_int_equal(pdpte[1], 0x2000 | P);
	ok(LINP, TLB_READ, MMU_SUPER, 0x8456);
	assert_int_equal(res.nentries, 3);
	assert_int_equal(res.entries[0].level, 3);
	assert_int_equal(res.entries[0].pa, 0x1008);
	assert_int_equal(res.entries[0].val, 0x2000 | P);
	assert_int_equal(res.entries[2].pa, 0x3018);
	/* The PDPTE registers, not memory, are used until they are reloaded (4.4.1). */
	w64(0x1000 + 8, 0);
	ok(LINP, TLB_READ, MMU_SUPER, 0x8456);
	pdpte[1] = 0;
	pf(LINP, TLB_READ, MMU_SUPER, 0);
	assert_int_equal(flt.nentries, 1);
	/* Not present in the PD and in the PT. */
	pae_mode();
	pf(LINP + (1u << 21), TLB_READ, MMU_SUPER, 0);
	assert_int_equal(flt.nentries, 2);
	pf(LINP + (1u << 12), TLB_READ, MMU_SUPER, 0);
	assert_int_equal(flt.nentries, 3);
	/* A 2 MiB page. */
	w64(0x2000 + 8 * 2, 0xa00000 | F | PS);
	ok(LINP, TLB_READ, MMU_SUPER, 0xa00000 | (3u << 12) | 0x456);
	assert_int_equal(res.page_mask, 0x1fffff);
	/* Reserved: 62:M in PAE entries, XD without NXE. */
	w64(0x2000 + 8 * 2, 0x3000 | F | (1ull << 62));
	pf(LINP, TLB_READ, MMU_SUPER, PF_P | PF_RSVD);
	w64(0x2000 + 8 * 2, 0x3000 | F | XD);
	pf(LINP, TLB_EXEC, MMU_SUPER, PF_P | PF_RSVD);
	/* NX with NXE; PAE paging reports I/D then (4.7). */
	ctx.efer = MMU_EFER_NXE;
	pf(LINP, TLB_EXEC, MMU_SUPER, PF_P | PF_ID);
	pf(LINP + (1u << 21), TLB_EXEC, MMU_SUPER, PF_ID);
}

static void
pae_pdpte_reserved_bits(void **state)
{
	(void)state;
	uint64_t out[4];
	static const uint64_t bad[] = { 0x2,   0x4,        0x20,       0x40, 0x80,
					0x100, 1ull << 36, 1ull << 62, XD };
	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		w64(0x1000 + 16, 0x2000 | P | bad[k]);
		memset(&flt, 0, sizeof(flt));
		assert_false(mmu_load_pdptes(&ctx, 0x1000, out, &flt));
		assert_int_equal(flt.stage, 1);
		assert_int_equal(flt.vector, MMU_VEC_GP);
		assert_int_equal(flt.error, 0);
		/* Not present: the other bits are free. */
		w64(0x1000 + 16, 0x2000 | bad[k]);
		assert_true(mmu_load_pdptes(&ctx, 0x1000, out, &flt));
		assert_int_equal(out[2], 0x2000 | bad[k]);
	}
	/* Bits 35:12 are address bits with MAXPHYADDR 36; PWT/PCD (3, 4) are allowed. */
	w64(0x1000 + 16, 0x800002000ull | P | 0x18);
	assert_true(mmu_load_pdptes(&ctx, 0x1000, out, &flt));
	/* The PDPT is 32-byte aligned: CR3 bits 4:0 are ignored. */
	assert_true(mmu_load_pdptes(&ctx, 0x101f, out, &flt));
	assert_int_equal(out[2], 0x800002000ull | P | 0x18);
}

/* ---- the second stage ---- */

struct s2_test {
	uint64_t fault_gpa; /* the page that faults */
	enum tlb_access fault_kind;
	bool any_kind;
	uint64_t remap_from, remap_to; /* one page moved */
	unsigned calls;
	struct mmu_s2_access last;
};

static enum mmu_s2_status
s2_cb(void *opaque, const struct mmu_s2_access *a, uint64_t *pa, uint64_t *qual)
{
	struct s2_test *t = opaque;
	t->calls++;
	t->last = *a;
	if ((a->gpa & ~0xfffull) == t->fault_gpa && (t->any_kind || a->kind == t->fault_kind)) {
		/* An EPT-violation-like qualification: access bits, then bit 7/8 (vol. 3C,
		 * table 28-7): linear address valid, access to the final translation. */
		*qual = (1u << a->kind) | (a->lin_valid ? 0x80 : 0) |
			(a->paging_structure ? 0 : 0x100);
		return MMU_S2_VIOLATION;
	}
	*pa = (a->gpa & ~0xfffull) == t->remap_from ? t->remap_to | (a->gpa & 0xfff) : a->gpa;
	return MMU_S2_OK;
}

static void
stage2_final_address(void **state)
{
	(void)state;
	struct s2_test t = { .fault_gpa = 0x5000, .any_kind = true, .remap_from = 1 };
	struct mmu_stage2 s2 = { .translate = s2_cb, .opaque = &t };
	long_mode();
	ctx.stage2 = &s2;
	assert_false(tr(LIN4, TLB_WRITE, MMU_USER));
	assert_int_equal(flt.stage, 2);
	assert_int_equal(flt.gpa, 0x5123);
	assert_int_equal(flt.lin, LIN4);
	assert_int_equal(flt.qualification, 0x2 | 0x80 | 0x100);
	assert_false(flt.misconfig);
	assert_int_equal(flt.nentries, 4); /* the whole walk succeeded */
	assert_int_equal(flt.entries[3].pa, E1);
	assert_false(t.last.paging_structure);
	assert_int_equal(t.last.kind, TLB_WRITE);
	/* 4 reads, 4 A/D updates, the final address: every access went through. */
	assert_int_equal(t.calls, 9);
	/* A remapped final page: gpa is stage 1's, pa the second stage's. */
	t = (struct s2_test){ .fault_gpa = 1, .remap_from = 0x5000, .remap_to = 0x9000 };
	ok(LIN4, TLB_READ, MMU_SUPER, 0x9123);
	assert_int_equal(res.gpa, 0x5123);
	assert_int_equal(t.calls, 5); /* A flags are set already */
	/* Paging off: the linear address is the guest-physical address. */
	ctx.cr0 = 0;
	t = (struct s2_test){ .fault_gpa = 0x5000, .any_kind = true, .remap_from = 1 };
	assert_false(tr(0x5678, TLB_EXEC, MMU_SUPER));
	assert_int_equal(flt.stage, 2);
	assert_int_equal(flt.gpa, 0x5678);
	assert_int_equal(flt.qualification, 0x4 | 0x80 | 0x100);
}

static void
stage2_paging_structures(void **state)
{
	(void)state;
	struct s2_test t = { .fault_gpa = 0x3000, .any_kind = true, .remap_from = 1 };
	struct mmu_stage2 s2 = { .translate = s2_cb, .opaque = &t };
	long_mode();
	ctx.stage2 = &s2;
	/* Reading the PDE (in the PD at 0x3000) fails. */
	assert_false(tr(LIN4, TLB_READ, MMU_SUPER));
	assert_int_equal(flt.stage, 2);
	assert_int_equal(flt.gpa, E2);
	assert_int_equal(flt.lin, LIN4);
	assert_int_equal(flt.qualification, 0x1 | 0x80);
	assert_int_equal(flt.nentries, 2); /* PML4E and PDPTE were read */
	assert_true(t.last.paging_structure);
	assert_int_equal(t.last.kind, TLB_READ);
	/* Reads allowed, writes not: setting the PDE's accessed flag fails. */
	long_mode();
	t = (struct s2_test){ .fault_gpa = 0x3000, .fault_kind = TLB_WRITE, .remap_from = 1 };
	assert_false(tr(LIN4, TLB_READ, MMU_SUPER));
	assert_int_equal(flt.stage, 2);
	assert_int_equal(flt.gpa, E2);
	assert_int_equal(flt.qualification, 0x2 | 0x80);
	assert_int_equal(flt.nentries, 3);
	assert_int_equal(r64(E2), 0x4000 | F); /* unchanged */
	/* The side-effect-free variant writes nothing, so it succeeds, and says so. */
	assert_true(probe(LIN4, TLB_READ, MMU_SUPER));
	assert_int_equal(t.last.effects, MMU_PROBE);
	/* Page tables moved by the second stage are read from where it says. */
	long_mode();
	w64(0x9000 + 8 * 4, 0x6000 | F);
	t = (struct s2_test){ .fault_gpa = 1, .remap_from = 0x4000, .remap_to = 0x9000 };
	ok(LIN4, TLB_READ, MMU_SUPER, 0x6123);
	assert_int_equal(res.entries[3].pa, E1); /* guest-physical */
	assert_int_equal(r64(0x9000 + 8 * 4), 0x6000 | F | A);
	/* PDPTE loads go through the second stage too, without a linear address. */
	t = (struct s2_test){ .fault_gpa = 0x1000, .any_kind = true, .remap_from = 1 };
	uint64_t out[4];
	assert_false(mmu_load_pdptes(&ctx, 0x1000, out, &flt));
	assert_int_equal(flt.stage, 2);
	assert_int_equal(flt.gpa, 0x1000);
	assert_int_equal(flt.qualification, 0x1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(paging_off_is_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(long_walk_reports_entries_and_sets_ad, setup,
						teardown),
		cmocka_unit_test_setup_teardown(probe_has_no_side_effects, setup, teardown),
		cmocka_unit_test_setup_teardown(long_not_present_at_each_level, setup, teardown),
		cmocka_unit_test_setup_teardown(long_reserved_bits_at_each_level, setup, teardown),
		cmocka_unit_test_setup_teardown(long_large_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(write_protect, setup, teardown),
		cmocka_unit_test_setup_teardown(user_and_nx, setup, teardown),
		cmocka_unit_test_setup_teardown(smep_smap, setup, teardown),
		cmocka_unit_test_setup_teardown(protection_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(paging32, setup, teardown),
		cmocka_unit_test_setup_teardown(paging32_large_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(pae_walk, setup, teardown),
		cmocka_unit_test_setup_teardown(pae_pdpte_reserved_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(stage2_final_address, setup, teardown),
		cmocka_unit_test_setup_teardown(stage2_paging_structures, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
