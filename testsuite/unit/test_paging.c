/*
 * Unit tests: paging and the TLB (mmu/paging.c, mmu/tlb.h, cpu/mem.c) and the
 * control-register rules around them (cpu/cpu.c, cpu/msr.c). Page tables are
 * built by hand in guest RAM; accesses go through the CPU's memory path, and
 * faults are caught on cpu->fault_jmp. Section numbers are SDM vol. 3A.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mmu/ioport.h"
#include "cpu/cpu_internal.h"
#include "cpu/msr.h"
#include "cpu/translate.h"
#include "mmu/paging.h"
#include "mmu/physmem.h"

static struct physmem *pm;
static struct ioports *io;
static struct cpu *cpu;

/* A CPU of the given model in flat 32-bit protected mode, paging off, CPL 0. */
static void
make(const char *model)
{
	struct cpu_features f;
	char err[128];
	assert_int_equal(cpu_features_parse(&f, model, err, sizeof(err)), 0);
	pm = physmem_create(16 << 20);
	io = ioports_create();
	assert_non_null(pm);
	assert_non_null(io);
	cpu = cpu_create(&(struct cpu_config){ .mem = pm, .io = io, .features = f });
	assert_non_null(cpu);
	cpu->state.cr0 |= CR0_PE;
	for (int s = 0; s < 6; s++)
		cpu->state.seg[s] = (struct segment){ .sel = 0x10,
						      .base = 0,
						      .limit = 0xffffffff,
						      .attr = 0x93 | SEG_ATTR_DB | SEG_ATTR_G };
	cpu->state.seg[S_CS] = (struct segment){
		.sel = 0x08, .base = 0, .limit = 0xffffffff, .attr = 0x9b | SEG_ATTR_DB | SEG_ATTR_G
	};
	cpu_mode_update(cpu);
}

static void
destroy(void)
{
	cpu_destroy(cpu);
	ioports_destroy(io);
	physmem_destroy(pm);
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

/* ---- running things that may fault: each returns -1, or the vector raised ---- */

enum how { RD, WR, FX, IMP };

static int
acc(enum how h, uint64_t lin, uint64_t *val)
{
	if (setjmp(cpu->fault_jmp))
		return cpu->pending_vector;
	switch (h) {
	case RD: *val = cpu_read(cpu, S_DS, lin, 4); break;
	case WR: cpu_write(cpu, S_DS, lin, *val, 4); break;
	case FX: *val = cpu_translate_fetch(cpu, lin); break;
	case IMP: *val = cpu_read_linear(cpu, lin, 4, true); break;
	}
	return -1;
}

static int
set_cr(int n, uint64_t v)
{
	if (setjmp(cpu->fault_jmp))
		return cpu->pending_vector;
	if (n == 0)
		cpu_write_cr0(cpu, v);
	else if (n == 3)
		cpu_write_cr3(cpu, v);
	else
		cpu_write_cr4(cpu, v);
	return -1;
}

static int
invpcid(uint64_t type, uint64_t lo, uint64_t hi)
{
	if (setjmp(cpu->fault_jmp))
		return cpu->pending_vector;
	cpu_invpcid(cpu, type, lo, hi);
	return -1;
}

static uint64_t
rd(uint64_t lin)
{
	uint64_t v = 0;
	assert_int_equal(acc(RD, lin, &v), -1);
	return v;
}

static void
wr(uint64_t lin, uint32_t v)
{
	uint64_t x = v;
	assert_int_equal(acc(WR, lin, &x), -1);
}

static void
ok(enum how h, uint64_t lin)
{
	uint64_t v = 0x5a5a5a5a;
	assert_int_equal(acc(h, lin, &v), -1);
}

/* The access must raise #PF with this error code and CR2 = lin. */
static void
pf(enum how h, uint64_t lin, uint32_t err)
{
	uint64_t v = 0;
	cpu->state.cr2 = 0xdead;
	assert_int_equal(acc(h, lin, &v), EXC_PF);
	assert_int_equal(cpu->pending_error, err);
	assert_int_equal(cpu->state.cr2, lin);
}

static uint64_t
probe(uint64_t lin)
{
	uint64_t pa = ~0ull;
	assert_true(cpu_translate_probe(cpu, lin, TLB_READ, MMU_SUPER, &pa));
	return pa;
}

#define P 0x1u
#define RW 0x2u
#define US 0x4u
#define A 0x20u
#define D 0x40u
#define PS 0x80u
#define G 0x100u
#define XD (1ull << 63)

/* ---- 32-bit paging ---- */

#define PD32 0x10000
#define PT32 0x11000

/*
 * lin 0x400000.. through PDE 1 and the table at PT32:
 *   +0 -> 0x200000 supervisor RW   +1 -> 0x201000 user RO   +2 -> 0x202000 user RW
 *   +3 not present                 +4 -> 0x204000 supervisor RO
 * lin 0x800000: PDE 2, a 4 MiB page at 0xc00000 (when CR4.PSE).
 */
static void
setup32(void)
{
	w32(PD32 + 1 * 4, PT32 | P | RW | US);
	w32(PD32 + 2 * 4, 0xc00000 | P | RW | US | PS);
	w32(PT32 + 0 * 4, 0x200000 | P | RW);
	w32(PT32 + 1 * 4, 0x201000 | P | US);
	w32(PT32 + 2 * 4, 0x202000 | P | RW | US);
	w32(PT32 + 4 * 4, 0x204000 | P);
	for (unsigned k = 0; k < 8; k++)
		w32(0x200000 + k * 0x1000, 0x1000 + k);
	assert_int_equal(set_cr(3, PD32), -1);
	assert_int_equal(set_cr(0, cpu->state.cr0 | CR0_PG), -1);
	assert_true(cpu->paging);
}

static void
no_paging_is_identity(void **state)
{
	(void)state;
	make("all");
	w32(0x123454, 0xfeedbeef);
	assert_int_equal(rd(0x123454), 0xfeedbeef);
	wr(0x123458, 7);
	assert_int_equal(physmem_read_sized(pm, 0x123458, 4), 7);
	destroy();
}

/* 4.3: translation, accessed flags on both levels, dirty only on the PTE of a write (4.8). */
static void
paging32_translate_and_ad(void **state)
{
	(void)state;
	make("all");
	setup32();
	assert_int_equal(rd(0x400004), 0); /* physical 0x200004 */
	assert_int_equal(rd(0x400000), 0x1000);
	assert_int_equal(rd(0x402000), 0x1002);
	assert_true(physmem_read_sized(pm, PD32 + 4, 4) & A);
	assert_true(physmem_read_sized(pm, PT32, 4) & A);
	assert_false(physmem_read_sized(pm, PT32, 4) & D);
	wr(0x400010, 0x77);
	assert_int_equal(physmem_read_sized(pm, 0x200010, 4), 0x77);
	assert_true(physmem_read_sized(pm, PT32, 4) & D);
	assert_false(physmem_read_sized(pm, PD32 + 4, 4) & D); /* not on a non-leaf entry */
	/* A write after a read (read TLB entry present) still sets D. */
	assert_false(physmem_read_sized(pm, PT32 + 8, 4) & D);
	wr(0x402000, 1);
	assert_true(physmem_read_sized(pm, PT32 + 8, 4) & D);
	/* D cleared by software + INVLPG: the next write sets it again. */
	w32(PT32 + 8, 0x202000 | P | RW | US | A);
	cpu_invlpg(cpu, 0x402000);
	assert_int_equal(rd(0x402000), 1);
	assert_false(physmem_read_sized(pm, PT32 + 8, 4) & D);
	wr(0x402004, 2);
	assert_true(physmem_read_sized(pm, PT32 + 8, 4) & D);
	destroy();
}

/* 4.6, 4.7: rights by U/S, R/W, CR0.WP and CPL; error codes; CR2; no A on a faulting leaf. */
static void
paging32_rights(void **state)
{
	(void)state;
	make("all");
	setup32();
	pf(RD, 0x403000, 0);    /* not present, supervisor read */
	pf(WR, 0x403004, PF_W); /* not present, supervisor write */
	pf(RD, 0xc00000, 0);    /* PDE not present */
	pf(FX, 0x403000, 0);    /* no I/D flag with 32-bit paging and no SMEP */
	ok(WR, 0x404000);       /* supervisor write to RO page, WP=0 */
	ok(WR, 0x401000);       /* same for a user RO page */
	assert_int_equal(set_cr(0, cpu->state.cr0 | CR0_WP), -1);
	pf(WR, 0x404000, PF_P | PF_W); /* WP=1: the cached write entry is gone */
	pf(WR, 0x401000, PF_P | PF_W);
	ok(RD, 0x404000);
	cpu->state.cpl = 3;
	pf(RD, 0x400000, PF_P | PF_U); /* user read of a supervisor page */
	pf(FX, 0x400000, PF_P | PF_U);
	pf(WR, 0x401000, PF_P | PF_W | PF_U); /* user write of RO page */
	pf(RD, 0x403000, PF_U);
	ok(RD, 0x401000);
	ok(FX, 0x401000);
	ok(WR, 0x402000);
	/* An implicit supervisor access from CPL 3 reaches supervisor pages. */
	ok(IMP, 0x400000);
	cpu->state.cpl = 0;
	assert_int_equal(set_cr(0, cpu->state.cr0 & ~(uint64_t)CR0_WP), -1);
	/* A fresh page: the leaf's accessed flag stays clear when the access faults. */
	w32(PT32 + 5 * 4, 0x205000 | P);
	cpu->state.cpl = 3;
	pf(RD, 0x405000, PF_P | PF_U);
	assert_false(physmem_read_sized(pm, PT32 + 5 * 4, 4) & A);
	cpu->state.cpl = 0;
	ok(RD, 0x405000);
	assert_true(physmem_read_sized(pm, PT32 + 5 * 4, 4) & A);
	destroy();
}

/* 4.3: 4 MiB pages with CR4.PSE, PSE-36 address bits, reserved bits 21:13. */
static void
paging32_large_pages(void **state)
{
	(void)state;
	make("all");
	setup32();
	/* CR4.PSE=0: PS is ignored and the PDE points to a page table (zeros here). */
	pf(RD, 0x812345, 0);
	assert_int_equal(set_cr(4, CR4_PSE), -1);
	w32(0xc12344, 0xabcdef);
	assert_int_equal(rd(0x812344), 0xabcdef);
	assert_int_equal(probe(0x812345), 0xc12345);
	assert_true(physmem_read_sized(pm, PD32 + 8, 4) & A);
	wr(0x9ffffc, 1);
	assert_true(physmem_read_sized(pm, PD32 + 8, 4) & D);
	/* PSE-36: PDE bits 16:13 are physical bits 35:32 (M = 36). */
	w32(PD32 + 5 * 4, 0x00400000 | (0x3u << 13) | P | RW | PS);
	assert_int_equal(probe(0x1412345), 0x300412345ull);
	/* Bits 21:17 are reserved with M = 36. */
	w32(PD32 + 6 * 4, 0x00400000 | (1u << 17) | P | RW | PS);
	pf(RD, 0x1800000, PF_P | PF_RSVD);
	w32(PD32 + 7 * 4, 0x00400000 | (1u << 21) | P | RW | PS);
	cpu->state.cpl = 3;
	pf(WR, 0x1c00000, PF_P | PF_RSVD | PF_W | PF_U);
	destroy();
	/* Without PSE-36 (Pentium Pro) bits 21:13 are all reserved. */
	make("pentiumpro");
	setup32();
	assert_int_equal(set_cr(4, CR4_PSE), -1);
	assert_int_equal(probe(0x812345), 0xc12345);
	w32(PD32 + 5 * 4, 0x00400000 | (1u << 13) | P | RW | PS);
	pf(RD, 0x1400000, PF_P | PF_RSVD);
	/* No PAT on the Pentium Pro: PTE bit 7 is reserved. */
	w32(PT32 + 6 * 4, 0x206000 | P | 0x80);
	pf(RD, 0x406000, PF_P | PF_RSVD);
	destroy();
}

/* ---- TLB behaviour (4.10) ---- */

static void
tlb_invlpg_and_stale_entries(void **state)
{
	(void)state;
	make("all");
	setup32();
	assert_int_equal(rd(0x400000), 0x1000);
	w32(PT32, 0x205000 | P | RW);
	/* Without invalidation the TLB may (and here does) keep the old translation. */
	assert_int_equal(rd(0x400000), 0x1000);
	cpu_invlpg(cpu, 0x400abc);
	assert_int_equal(rd(0x400000), 0x1005);
	/* A 4 MiB page is cached as 4 KiB slices: INVLPG anywhere in it drops them all. */
	assert_int_equal(set_cr(4, CR4_PSE), -1);
	w32(0xc00000, 11);
	w32(0xfff000, 12);
	w32(0x800000, 21);
	w32(0xbff000, 22);
	assert_int_equal(rd(0x800000), 11);
	assert_int_equal(rd(0xbff000), 12);
	w32(PD32 + 8, 0x800000 | P | RW | PS);
	assert_int_equal(rd(0xbff000), 12);
	cpu_invlpg(cpu, 0x800000);
	assert_int_equal(rd(0xbff000), 22);
	assert_int_equal(rd(0x800000), 21);
	destroy();
}

/* 4.10.2.4: global translations survive MOV CR3; toggling CR4.PGE drops them. */
static void
tlb_global_pages(void **state)
{
	(void)state;
	make("all");
	setup32();
	assert_int_equal(set_cr(4, CR4_PGE), -1);
	w32(PT32, 0x200000 | P | RW | G);
	assert_int_equal(rd(0x400000), 0x1000);
	assert_int_equal(rd(0x402000), 0x1002);
	w32(PT32, 0x205000 | P | RW | G);
	w32(PT32 + 8, 0x206000 | P | RW | US);
	assert_int_equal(set_cr(3, PD32), -1);
	assert_int_equal(rd(0x400000), 0x1000); /* global: kept */
	assert_int_equal(rd(0x402000), 0x1006); /* not global: dropped */
	/* G without CR4.PGE is not global. */
	assert_int_equal(set_cr(4, 0), -1);
	assert_int_equal(rd(0x400000), 0x1005);
	w32(PT32, 0x200000 | P | RW | G);
	assert_int_equal(set_cr(3, PD32), -1);
	assert_int_equal(rd(0x400000), 0x1000);
	/* INVLPG drops a global translation too. */
	assert_int_equal(set_cr(4, CR4_PGE), -1);
	assert_int_equal(rd(0x400000), 0x1000);
	w32(PT32, 0x207000 | P | RW | G);
	cpu_invlpg(cpu, 0x400000);
	assert_int_equal(rd(0x400000), 0x1007);
	destroy();
}

/* Every slot of t invalid: what a full flush must leave, fill log or not. */
static bool
tlb_empty(const struct tlb *t)
{
	for (unsigned s = 0; s < TLB_NSETS; s++)
		for (unsigned k = 0; k < TLB_NKINDS; k++)
			for (unsigned i = 0; i < TLB_SIZE; i++)
				if (t->e[s][k][i].tag != TLB_INVALID_TAG)
					return false;
	return true;
}

/* The fill log (mmu/tlb.h): a full flush clears the slots filled since the last
 * one (few: from the log; many: all); a slot overwritten while valid, or filled
 * again after INVLPG, stays covered; MOV CR3 keeps global slots and their log. */
static void
tlb_fill_log(void **state)
{
	(void)state;
	static struct tlb t;
	static uint8_t page[4096];
	uintptr_t host = (uintptr_t)page;
	memset(&t, 0, sizeof(t));
	tlb_init(&t);
	assert_true(tlb_empty(&t));
	/* Few fills, in every set and kind. */
	for (unsigned k = 0; k < 12; k++)
		tlb_insert(&t, k % TLB_NSETS, k % TLB_NKINDS, (uint64_t)k << 12, host, 0, false,
			   0xfff);
	for (unsigned k = 0; k < 12; k++)
		assert_non_null(
			tlb_lookup(&t, k % TLB_NSETS, k % TLB_NKINDS, (uint64_t)k << 12, 4));
	assert_true(t.nlog <= TLB_LOG_MAX);
	tlb_flush_all(&t);
	assert_true(tlb_empty(&t));
	/* Many: the log overflows, the flush clears every slot. */
	for (unsigned k = 0; k < 3 * TLB_LOG_MAX; k++)
		tlb_insert(&t, TLB_USER, TLB_WRITE, 0x10000000 + ((uint64_t)k << 12), host, 0,
			   false, 0xfff);
	assert_true(t.nlog > TLB_LOG_MAX);
	tlb_flush_all(&t);
	assert_true(tlb_empty(&t));
	assert_true(t.nlog == 0);
	/* One slot overwritten while valid (same index, other pages), and filled
	 * again after INVLPG emptied it: one flush still clears it. */
	for (unsigned k = 0; k < 199; k++) {
		uint64_t lin = ((uint64_t)k << 22) | 0x5000;
		tlb_insert(&t, TLB_SUPER, TLB_EXEC, lin, host, 0, false, 0xfff);
		if (k % 50 == 49)
			tlb_flush_page(&t, lin);
	}
	assert_non_null(tlb_lookup(&t, TLB_SUPER, TLB_EXEC, (198ull << 22) | 0x5000, 1));
	tlb_insert(&t, TLB_SUPER, TLB_EXEC, 0x5000, host, 0, false, 0xfff);
	assert_true(t.nlog <= TLB_LOG_MAX);
	tlb_flush_all(&t);
	assert_true(tlb_empty(&t));
	/* MOV CR3: the global slot stays valid and logged, the others go; the
	 * next full flush (CR4.PGE toggled, a VM exit) clears the global one. */
	tlb_insert(&t, TLB_SUPER, TLB_READ, 0x7000, host, 0, true, 0xfff);
	tlb_insert(&t, TLB_SUPER, TLB_READ, 0x8000, host, 0, false, 0xfff);
	tlb_insert(&t, TLB_USER, TLB_READ, 0x9000, host, 0, false, 0xfff);
	tlb_flush_nonglobal(&t);
	assert_non_null(tlb_lookup(&t, TLB_SUPER, TLB_READ, 0x7000, 4));
	assert_null(tlb_lookup(&t, TLB_SUPER, TLB_READ, 0x8000, 4));
	assert_null(tlb_lookup(&t, TLB_USER, TLB_READ, 0x9000, 4));
	assert_true(t.nlog == 1);
	tlb_flush_all(&t);
	assert_true(tlb_empty(&t));
}

/* An entry made for one privilege must not serve another. */
static void
tlb_keyed_by_privilege(void **state)
{
	(void)state;
	make("all");
	setup32();
	ok(RD, 0x400000); /* supervisor entry for a supervisor page */
	ok(WR, 0x400000);
	ok(FX, 0x400000);
	cpu->state.cpl = 3;
	pf(RD, 0x400000, PF_P | PF_U);
	pf(WR, 0x400000, PF_P | PF_W | PF_U);
	pf(FX, 0x400000, PF_P | PF_U);
	ok(RD, 0x401000); /* user entry for a user RO page */
	cpu->state.cpl = 0;
	ok(WR, 0x401000); /* supervisor, WP=0: allowed although the user entry is read-only */
	cpu->state.cpl = 3;
	pf(WR, 0x401000, PF_P | PF_W | PF_U);
	/* A read of a dirty page also makes the write entry, but only if a write is allowed. */
	w32(PT32 + 1 * 4, 0x201000 | P | US | A | D);
	cpu_invlpg(cpu, 0x401000);
	ok(RD, 0x401000);
	pf(WR, 0x401000, PF_P | PF_W | PF_U);
	cpu->state.cpl = 0;
	ok(RD, 0x401000);
	ok(WR, 0x401000); /* WP=0 */
	assert_int_equal(set_cr(0, cpu->state.cr0 | CR0_WP), -1);
	ok(RD, 0x401000);
	pf(WR, 0x401000, PF_P | PF_W);
	destroy();
}

/* The physical map still sees A/D updates on a page that holds decoded code. */
static void
ad_updates_reach_code_pages(void **state)
{
	(void)state;
	make("all");
	setup32();
	physmem_set_code(pm, PT32, true);
	assert_true(physmem_page(pm, PT32) & PP_CODE);
	wr(0x402000, 5);
	assert_int_equal(physmem_read_sized(pm, PT32 + 8, 4) & (A | D), A | D);
	/* The store notified the CPU, which dropped the (empty) code record. */
	assert_false(physmem_page(pm, PT32) & PP_CODE);
	destroy();
}

/* ---- PAE paging (4.4) ---- */

#define PDPT 0x10000
#define PDP 0x11000
#define PTP 0x12000

/*
 * PDPTE 0 -> PDP; PDE 2 (lin 0x400000) -> PTP: +0 -> 0x200000 RW, +1 -> 0x201000 RW XD,
 * +2 not present with reserved bits; PDE 4 (lin 0x800000): a 2 MiB page at 0x600000.
 */
static void
setup_pae(void)
{
	w64(PDPT, PDP | P);
	w64(PDP + 2 * 8, PTP | P | RW | US);
	w64(PDP + 4 * 8, 0x600000 | P | RW | PS);
	w64(PTP + 0 * 8, 0x200000 | P | RW);
	w64(PTP + 1 * 8, 0x201000 | P | RW | XD);
	w64(PTP + 2 * 8, 1ull << 62);
	for (unsigned k = 0; k < 8; k++)
		w32(0x200000 + k * 0x1000, 0x1000 + k);
	assert_int_equal(set_cr(4, CR4_PAE), -1);
	assert_int_equal(set_cr(3, PDPT), -1);
	assert_int_equal(set_cr(0, cpu->state.cr0 | CR0_PG), -1);
}

static void
pae_walk_and_pdptes(void **state)
{
	(void)state;
	make("all");
	setup_pae();
	assert_int_equal(cpu->state.pdpte[0], PDP | P);
	assert_int_equal(rd(0x400000), 0x1000);
	assert_int_equal(probe(0x9abcde), 0x7abcde);
	assert_true(r64(PDP + 2 * 8) & A);
	assert_int_equal(r64(PDPT), PDP | P); /* PDPTEs have no accessed flag */
	pf(RD, 0x402000, 0);                  /* reserved bits do not matter when P=0 */
	pf(RD, 0x40000000, 0);                /* PDPTE 1 not present */
	/* XD is reserved without EFER.NXE. */
	pf(RD, 0x401000, PF_P | PF_RSVD);
	pf(FX, 0x401000, PF_P | PF_RSVD); /* and no I/D flag without NXE */
	assert_int_equal(msr_write(cpu, MSR_EFER, EFER_NXE), 0);
	assert_int_equal(rd(0x401000), 0x1001);
	pf(FX, 0x401000, PF_P | PF_ID);
	pf(FX, 0x403000, PF_ID);
	ok(FX, 0x400000);
	/* 2 MiB page: bits 20:13 reserved. */
	w64(PDP + 5 * 8, 0x600000 | (1u << 13) | P | RW | PS);
	pf(RD, 0xa00000, PF_P | PF_RSVD);
	/* Bits 62:M are reserved (M = 36). */
	w64(PTP + 3 * 8, 0x203000 | (1ull << 52) | P);
	pf(RD, 0x403000, PF_P | PF_RSVD);
	/* The PDPTEs are registers: changing the table in memory changes nothing until
	 * they are reloaded (4.4.1). */
	w64(PDPT, 0);
	cpu_invlpg(cpu, 0x400000);
	assert_int_equal(rd(0x400000), 0x1000);
	assert_int_equal(set_cr(3, PDPT), -1);
	pf(RD, 0x400000, 0);
	destroy();
}

/* 4.4.1: a reserved bit in a present PDPTE makes the loading instruction #GP, changing nothing. */
static void
pae_pdpte_reserved_bits(void **state)
{
	(void)state;
	make("all");
	w64(PDPT, PDP | P);
	w64(PDPT + 8, 0x13000 | P | RW); /* bit 1 is reserved in a PDPTE */
	assert_int_equal(set_cr(4, CR4_PAE), -1);
	assert_int_equal(set_cr(3, PDPT), -1); /* paging off: no load yet */
	uint64_t cr0 = cpu->state.cr0;
	assert_int_equal(set_cr(0, cr0 | CR0_PG), EXC_GP);
	assert_int_equal(cpu->state.cr0, cr0);
	w64(PDPT + 8, 0x13000 | P);
	assert_int_equal(set_cr(0, cr0 | CR0_PG), -1);
	w64(PDPT + 0x28, 0x13000 | P | (1ull << 63)); /* bit 63 too, whatever NXE says */
	assert_int_equal(set_cr(3, PDPT + 0x20), EXC_GP);
	assert_int_equal(cpu->state.cr3, PDPT);
	/* CR4.PGE change reloads them; a bad table at CR3 then faults the MOV CR4. */
	w64(PDPT + 8, 0x13000 | P | (1u << 5));
	assert_int_equal(set_cr(4, CR4_PAE | CR4_PGE), EXC_GP);
	assert_int_equal(cpu->state.cr4, CR4_PAE);
	destroy();
}

/* ---- 4-level paging (4.5) ---- */

#define PML4 0x10000
#define PDPT4 0x11000
#define PD4 0x12000
#define PT4 0x13000

/*
 * PML4E 0 and 256 -> PDPT4 -> (0) PD4 -> PDE 2 -> PT4:
 *   +0 -> 0x200000 user RW   +1 -> 0x201000 supervisor RW   +3 -> 0x203000 user XD
 *   +4 -> 0x204000 user RW, protection key 1
 * PDE 4: 2 MiB page at 0x600000; PDPTE 1: 1 GiB page at 0x40000000; PML4E 1: PS (reserved).
 */
static void
setup_long(void)
{
	w64(PML4, PDPT4 | P | RW | US);
	w64(PML4 + 256 * 8, PDPT4 | P | RW | US);
	w64(PML4 + 1 * 8, PDPT4 | P | RW | US | PS);
	w64(PDPT4, PD4 | P | RW | US);
	w64(PDPT4 + 8, 0x40000000 | P | RW | US | PS);
	w64(PD4 + 2 * 8, PT4 | P | RW | US);
	w64(PD4 + 4 * 8, 0x600000 | P | RW | US | PS);
	w64(PT4 + 0 * 8, 0x200000 | P | RW | US);
	w64(PT4 + 1 * 8, 0x201000 | P | RW);
	w64(PT4 + 3 * 8, 0x203000 | P | RW | US | XD);
	w64(PT4 + 4 * 8, 0x204000 | P | RW | US | (1ull << 59));
	for (unsigned k = 0; k < 8; k++)
		w32(0x200000 + k * 0x1000, 0x1000 + k);
	assert_int_equal(msr_write(cpu, MSR_EFER, EFER_LME | EFER_NXE), 0);
	/* Activating IA-32e mode needs CR4.PAE (9.8.5). */
	assert_int_equal(set_cr(3, PML4), -1);
	assert_int_equal(set_cr(0, cpu->state.cr0 | CR0_PG), EXC_GP);
	assert_false(cpu->state.efer & EFER_LMA);
	assert_int_equal(set_cr(4, CR4_PAE), -1);
	assert_int_equal(set_cr(0, cpu->state.cr0 | CR0_PG), -1);
	assert_true(cpu->state.efer & EFER_LMA);
	assert_true(cpu->long_mode);
	/* LME cannot change while paging is on. */
	assert_int_equal(msr_write(cpu, MSR_EFER, EFER_NXE), -1);
	/* Into 64-bit mode. */
	cpu->state.seg[S_CS].attr =
		(uint16_t)((cpu->state.seg[S_CS].attr & ~SEG_ATTR_DB) | SEG_ATTR_L);
	cpu_mode_update(cpu);
	assert_int_equal(cpu->code_size, 8);
}

static void
long_walk(void **state)
{
	(void)state;
	make("all");
	setup_long();
	assert_int_equal(rd(0x400000), 0x1000);
	assert_int_equal(rd(0xffff800000401000ull), 0x1001);
	assert_int_equal(probe(0x40123456), 0x40123456);
	assert_int_equal(probe(0x812345), 0x612345);
	assert_true(r64(PML4) & A);
	assert_true(r64(PDPT4) & A);
	assert_true(r64(PD4 + 2 * 8) & A);
	assert_true(r64(PT4) & A);
	assert_false(r64(PT4) & D);
	assert_true(r64(PML4 + 256 * 8) & A);
	pf(RD, 0x8000000000ull, PF_P | PF_RSVD);       /* PS in a PML4E */
	w64(PT4 + 5 * 8, 0x205000 | (1ull << 40) | P); /* bits 51:M reserved (M = 36) */
	pf(RD, 0x405000, PF_P | PF_RSVD);
	w64(PT4 + 6 * 8, 0x206000 | (0x7full << 52) | P); /* 62:52 ignored */
	assert_int_equal(probe(0x406000), 0x206000);
	w64(PD4 + 5 * 8, 0x600000 | (1u << 20) | P | PS); /* 2 MiB: 20:13 reserved */
	pf(WR, 0xa00000, PF_P | PF_RSVD | PF_W);
	/* NX: fetches fault, with I/D; user fetch also sets U/S. */
	pf(FX, 0x403000, PF_P | PF_ID);
	cpu->state.cpl = 3;
	pf(FX, 0x403000, PF_P | PF_ID | PF_U);
	ok(RD, 0x403000);
	pf(RD, 0x401000, PF_P | PF_U);
	cpu->state.cpl = 0;
	/* Leaving IA-32e mode: not from 64-bit mode; PAE cannot be cleared with LMA set. */
	assert_int_equal(set_cr(0, cpu->state.cr0 & ~(uint64_t)CR0_PG), EXC_GP);
	assert_int_equal(set_cr(4, 0), EXC_GP);
	assert_int_equal(set_cr(3, PML4 | (1ull << 40)), EXC_GP); /* CR3 bits 63:M */
	assert_int_equal(set_cr(3, PML4 | (1ull << 63)), EXC_GP); /* bit 63 without PCIDE */
	cpu->state.seg[S_CS].attr =
		(uint16_t)((cpu->state.seg[S_CS].attr & ~SEG_ATTR_L) | SEG_ATTR_DB);
	cpu_mode_update(cpu); /* compatibility mode */
	assert_int_equal(set_cr(0, cpu->state.cr0 & ~(uint64_t)CR0_PG), -1);
	assert_false(cpu->state.efer & EFER_LMA);
	assert_false(cpu->long_mode);
	destroy();
}

/* 1-GByte pages exist only with pdpe1gb (4.5.4; Nehalem has none). */
static void
long_1g_pages_need_pdpe1gb(void **state)
{
	(void)state;
	make("nehalem");
	setup_long();
	assert_int_equal(rd(0x400000), 0x1000);
	pf(RD, 0x40000000, PF_P | PF_RSVD);
	destroy();
}

/* 4.6: SMEP and SMAP, with EFLAGS.AC for explicit accesses only. */
static void
smep_smap(void **state)
{
	(void)state;
	make("all");
	setup_long();
	ok(FX, 0x400000); /* supervisor fetch from a user page, SMEP off */
	ok(RD, 0x400000);
	assert_int_equal(set_cr(4, CR4_PAE | CR4_SMEP), -1);
	pf(FX, 0x400000, PF_P | PF_ID);
	ok(FX, 0x401000);
	ok(RD, 0x400000); /* SMEP is about fetches only */
	assert_int_equal(set_cr(4, CR4_PAE | CR4_SMEP | CR4_SMAP), -1);
	pf(RD, 0x400000, PF_P);
	pf(WR, 0x400000, PF_P | PF_W);
	cpu->state.rflags |= F_AC;
	assert_int_equal(rd(0x400000), 0x1000);
	wr(0x400000, 0x99);
	pf(IMP, 0x400000, PF_P); /* implicit accesses ignore AC */
	cpu->state.rflags &= ~(uint64_t)F_AC;
	pf(RD, 0x400000, PF_P); /* the AC=1 success above was not cached */
	pf(WR, 0x400000, PF_P | PF_W);
	ok(RD, 0x401000); /* supervisor pages are unaffected */
	cpu->state.cpl = 3;
	ok(RD, 0x400000);
	pf(IMP, 0x400000, PF_P); /* implicit supervisor access from CPL 3: U/S clear */
	ok(IMP, 0x401000);
	destroy();
}

/* 4.6.2: protection keys for user pages' data accesses. */
static void
protection_keys(void **state)
{
	(void)state;
	make("all");
	setup_long();
	assert_int_equal(set_cr(4, CR4_PAE | CR4_PKE), -1);
	cpu->state.cpl = 3;
	ok(RD, 0x404000);
	cpu_set_pkru(cpu, 1u << 2); /* AD for key 1 */
	pf(RD, 0x404000, PF_P | PF_U | PF_PK);
	ok(RD, 0x400000);           /* key 0 */
	ok(FX, 0x404000);           /* fetches are not subject to keys */
	cpu_set_pkru(cpu, 1u << 3); /* WD for key 1 */
	ok(RD, 0x404000);
	pf(WR, 0x404000, PF_P | PF_W | PF_U | PF_PK);
	cpu->state.cpl = 0;
	ok(WR, 0x404000); /* supervisor write with WP=0 ignores WD */
	assert_int_equal(set_cr(0, cpu->state.cr0 | CR0_WP), -1);
	pf(WR, 0x404000, PF_P | PF_W | PF_PK);
	destroy();
}

/* 4.10.1, 4.10.4: PCIDs and MOV CR3's no-flush bit; INVPCID. */
static void
pcid_and_invpcid(void **state)
{
	(void)state;
	make("all");
	assert_int_equal(set_cr(4, CR4_PCIDE), EXC_GP); /* only in IA-32e mode */
	setup_long();
	assert_int_equal(set_cr(3, PML4 | 1), -1);
	assert_int_equal(set_cr(4, CR4_PAE | CR4_PCIDE), EXC_GP); /* CR3[11:0] != 0 */
	assert_int_equal(set_cr(3, PML4), -1);
	assert_int_equal(set_cr(4, CR4_PAE | CR4_PCIDE | CR4_PGE), -1);
	assert_int_equal(rd(0x400000), 0x1000);
	w64(PT4, 0x205000 | P | RW | US);
	assert_int_equal(set_cr(3, PML4 | (1ull << 63)), -1); /* same PCID, no flush */
	assert_int_equal(cpu->state.cr3, PML4);               /* bit 63 is not stored */
	assert_int_equal(rd(0x400000), 0x1000);
	assert_int_equal(set_cr(3, PML4), -1); /* flush */
	assert_int_equal(rd(0x400000), 0x1005);
	/* Another PCID with other tables must not see PCID 0's entries, no-flush or not. */
	w64(0x14000, PDPT4 | P | RW | US);
	w64(0x14000 + 8, 0); /* different from PML4: the 0x8000000000 entry absent */
	assert_int_equal(rd(0x400000), 0x1005);
	w64(PT4, 0x206000 | P | RW | US);
	assert_int_equal(set_cr(3, 0x14000 | 1 | (1ull << 63)), -1);
	assert_int_equal(rd(0x400000), 0x1006);
	assert_int_equal(set_cr(0, cpu->state.cr0 & ~(uint64_t)CR0_PG), EXC_GP); /* PCIDE set */
	/* INVPCID (vol. 2A). */
	assert_int_equal(invpcid(4, 0, 0), EXC_GP);
	assert_int_equal(invpcid(1, 1u << 12, 0), EXC_GP);
	assert_int_equal(invpcid(0, 1, 0x800000000000ull), EXC_GP);
	w64(PT4, 0x207000 | P | RW | US | G);
	assert_int_equal(invpcid(0, 0, 0x400000), -1); /* PCID 0 is not current: no effect needed */
	assert_int_equal(invpcid(0, 1, 0x400000), -1);
	assert_int_equal(rd(0x400000), 0x1007); /* a global entry now */
	w64(PT4, 0x200000 | P | RW | US);
	assert_int_equal(invpcid(3, 0, 0), -1); /* all but globals */
	assert_int_equal(rd(0x400000), 0x1007);
	assert_int_equal(invpcid(2, 0, 0), -1); /* everything */
	assert_int_equal(rd(0x400000), 0x1000);
	destroy();
	/* Without PCIDE, type 0/1 with a nonzero PCID is #GP. */
	make("all");
	assert_int_equal(invpcid(1, 1, 0), EXC_GP);
	assert_int_equal(invpcid(1, 0, 0), -1);
	destroy();
}

/* CR4 bits follow the model (vol. 3A, 2.5; vol. 2B, MOV CR). */
static void
cr4_bits_follow_the_model(void **state)
{
	(void)state;
	/* The named models report only what fugu executes (cpu/cpuid.c's policy):
	 * VME is not executed, so pentiumpro's CR4.VME is reserved unless asked for. */
	make("pentiumpro");
	assert_int_equal(set_cr(4, CR4_VME), cpu_feature_implemented(FEAT_VME) ? -1 : EXC_GP);
	destroy();
	make("pentiumpro,+vme");
	assert_int_equal(set_cr(4, CR4_PSE | CR4_PAE | CR4_PGE | CR4_VME | CR4_DE), -1);
	assert_int_equal(set_cr(4, CR4_OSFXSR), EXC_GP);
	assert_int_equal(set_cr(4, CR4_SMEP), EXC_GP);
	assert_int_equal(set_cr(4, 1u << 11), EXC_GP);
	assert_int_equal(cpu->state.cr4, CR4_PSE | CR4_PAE | CR4_PGE | CR4_VME | CR4_DE);
	destroy();
	make("nehalem");
	assert_int_equal(set_cr(4, CR4_VMXE), cpu_feature_implemented(FEAT_VMX) ? -1 : EXC_GP);
	destroy();
	make("nehalem,+fxsr,+sse,+vmx");
	assert_int_equal(set_cr(4, CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_VMXE), -1);
	assert_int_equal(set_cr(4, CR4_SMEP), EXC_GP);
	assert_int_equal(set_cr(4, CR4_SMAP), EXC_GP);
	assert_int_equal(set_cr(4, CR4_PKE), EXC_GP);
	assert_int_equal(set_cr(4, CR4_FSGSBASE), EXC_GP);
	destroy();
	make("all");
	assert_int_equal(set_cr(4, CR4_SMEP | CR4_SMAP | CR4_PKE | CR4_FSGSBASE | CR4_OSXSAVE), -1);
	assert_int_equal(set_cr(4, 1u << 12), EXC_GP); /* LA57 is not modelled */
	destroy();
}

/* CR0 combinations (vol. 2B, MOV CR). */
static void
cr0_rules(void **state)
{
	(void)state;
	make("all");
	uint64_t cr0 = cpu->state.cr0;
	assert_int_equal(set_cr(0, (cr0 | CR0_PG) & ~(uint64_t)CR0_PE), EXC_GP);
	assert_int_equal(set_cr(0, cr0 | CR0_NW | CR0_CD), -1);
	assert_int_equal(set_cr(0, (cr0 | CR0_NW) & ~(uint64_t)CR0_CD), EXC_GP);
	assert_int_equal(set_cr(0, cr0 | (1ull << 32)), EXC_GP);
	/* Paging without LME: no IA-32e mode. */
	w32(PD32, 0);
	assert_int_equal(set_cr(3, PD32), -1);
	assert_int_equal(set_cr(0, cr0 | CR0_PG), -1);
	assert_false(cpu->state.efer & EFER_LMA);
	assert_true(cpu->paging);
	assert_int_equal(set_cr(0, cr0), -1);
	assert_false(cpu->paging);
	destroy();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_paging_is_identity),
		cmocka_unit_test(paging32_translate_and_ad),
		cmocka_unit_test(paging32_rights),
		cmocka_unit_test(paging32_large_pages),
		cmocka_unit_test(tlb_invlpg_and_stale_entries),
		cmocka_unit_test(tlb_global_pages),
		cmocka_unit_test(tlb_keyed_by_privilege),
		cmocka_unit_test(tlb_fill_log),
		cmocka_unit_test(ad_updates_reach_code_pages),
		cmocka_unit_test(pae_walk_and_pdptes),
		cmocka_unit_test(pae_pdpte_reserved_bits),
		cmocka_unit_test(long_walk),
		cmocka_unit_test(long_1g_pages_need_pdpe1gb),
		cmocka_unit_test(smep_smap),
		cmocka_unit_test(protection_keys),
		cmocka_unit_test(pcid_and_invpcid),
		cmocka_unit_test(cr4_bits_follow_the_model),
		cmocka_unit_test(cr0_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
