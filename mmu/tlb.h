/*
 * fugu — the software TLB: linear page -> host pointer.
 *
 * Unlike a hardware TLB, which caches the rights of a translation (the AND of the
 * R/W and U/S flags, the OR of XD) and checks them against CPL, CR0.WP, SMEP and
 * SMAP on every access, this TLB caches the *decision*: an entry in the write
 * array means "a store here is allowed and needs no dirty-bit update". So every
 * input of that decision must select the entry or flush it when it changes:
 *
 *  - privilege: two sets, one for supervisor accesses (CPL 0-2 and implicit
 *    supervisor accesses to descriptor tables/TSS from any CPL) and one for user
 *    accesses (CPL 3). CPL changes on every interrupt and system call, so keying
 *    is much cheaper than flushing; the set is picked from cpu->state.cpl on the hit
 *    path (one compare).
 *  - EFLAGS.AC under SMAP, and implicit vs explicit supervisor accesses: the
 *    supervisor set never holds an entry for a user-mode page while CR4.SMAP is
 *    set, so neither can reach a wrong decision (those accesses always walk).
 *  - CR0.WP, CR0.PG, CR4.PSE/PAE/PGE/PCIDE/SMEP/SMAP/PKE, EFER.NXE, PKRU, the
 *    paging mode: rare; any change flushes everything (cpu.c, msr.c).
 *  - the address space (CR3/PCID): MOV CR3 drops every non-global entry unless
 *    PCIDs allow keeping them (see cpu_write_cr3 in cpu/mode.c). Entries are not
 *    tagged by PCID: only the current PCID's entries (and global ones) are
 *    ever held, which the architecture permits (a TLB may drop any entry).
 *
 * Within a set there are separate read, write and execute arrays, so a page can
 * be readable from the fast path while its writes take the slow path (code pages,
 * ROM, a clear dirty bit, a read-only PTE).
 *
 * A full flush clears only the slots filled since the last one when they are few
 * (the fill log): VM entries and exits flush everything (cpu/vmx), and a
 * VM-exit round trip fills a handful of slots, where clearing all 6144 cost
 * most of its time (docs/PERFORMANCE.md, "Nested VMX").
 */
#ifndef FUGU_TLB_H
#define FUGU_TLB_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define TLB_BITS 10
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_INVALID_TAG 1 /* odd: never equals a page-aligned address */

struct tlb_entry {
	uint64_t tag;     /* linear page address, or TLB_INVALID_TAG */
	uintptr_t addend; /* host address = linear address + addend */
	uint64_t pa_page; /* physical page address, for code lookups and tracing */
};

enum tlb_access { TLB_READ, TLB_WRITE, TLB_EXEC, TLB_NKINDS };
enum tlb_set { TLB_SUPER, TLB_USER, TLB_NSETS };

/* tlb.info[]: what a flush needs to know about an entry, kept out of the hit path. */
#define TLBI_GLOBAL 0x01 /* from a global translation (G=1 with CR4.PGE): survives MOV CR3 */
#define TLBI_LARGE 0x02  /* from a 2M/4M/1G page: INVLPG anywhere in it must drop it */

/* The fill log: up to TLB_LOG_MAX slots made valid since the last full flush,
 * each as set << 12 | kind << 10 | index; nlog > TLB_LOG_MAX: too many, a full
 * flush clears every slot. Invariant: a valid slot is in the log unless nlog
 * exceeds TLB_LOG_MAX (tlb_insert logs a slot it finds invalid). */
#define TLB_LOG_MAX 64
_Static_assert(TLB_BITS <= 10 && TLB_NKINDS <= 4 && TLB_NSETS <= 16, "tlb log packing");

struct tlb {
	struct tlb_entry e[TLB_NSETS][TLB_NKINDS][TLB_SIZE];
	uint8_t info[TLB_NSETS][TLB_NKINDS][TLB_SIZE];
	uint64_t large_mask[TLB_NSETS][TLB_NKINDS][TLB_SIZE]; /* page size - 1 when TLBI_LARGE */
	uint64_t large_lo, large_hi; /* [lo, hi]: linear span of all large entries, if any */
	bool any;                    /* some entry may be valid (flushing an empty TLB is free) */
	bool any_global;             /* some entry may be global */
	unsigned nlog;               /* the fill log (above) */
	uint16_t log[TLB_LOG_MAX];
};

static inline struct tlb_entry *
tlb_slot(struct tlb *t, unsigned set, enum tlb_access kind, uint64_t lin)
{
	return &t->e[set][kind][(lin >> 12) & (TLB_SIZE - 1)];
}

/* Host pointer for an access of `size` bytes at `lin`, or NULL when the slow path must run. */
static inline void *
tlb_lookup(struct tlb *t, unsigned set, enum tlb_access kind, uint64_t lin, unsigned size)
{
	struct tlb_entry *e = tlb_slot(t, set, kind, lin);
	if (__builtin_expect(e->tag == (lin & ~0xfffull) && (lin & 0xfff) + size <= 0x1000, 1))
		return (void *)(uintptr_t)(lin + e->addend);
	return NULL;
}

/* Drop every entry, global ones included. */
static inline void
tlb_flush_all(struct tlb *t)
{
	if (!t->any)
		return; /* nothing was inserted since the last flush (tlb_init sets `any`) */
	if (t->nlog <= TLB_LOG_MAX) {
		for (unsigned n = 0; n < t->nlog; n++) {
			unsigned x = t->log[n];
			t->e[x >> 12][(x >> 10) & 3][x & (TLB_SIZE - 1)].tag = TLB_INVALID_TAG;
		}
	} else {
		for (unsigned s = 0; s < TLB_NSETS; s++)
			for (unsigned k = 0; k < TLB_NKINDS; k++)
				for (unsigned i = 0; i < TLB_SIZE; i++)
					t->e[s][k][i].tag = TLB_INVALID_TAG;
	}
	t->nlog = 0;
	t->any = t->any_global = false;
	t->large_lo = UINT64_MAX;
	t->large_hi = 0;
}

/* Drop every entry except global translations (MOV CR3; SDM vol. 3A, 4.10.4.1). */
static inline void
tlb_flush_nonglobal(struct tlb *t)
{
	if (!t->any_global) {
		tlb_flush_all(t);
		return;
	}
	if (t->nlog <= TLB_LOG_MAX) { /* the global slots stay valid, so stay logged */
		unsigned kept = 0;
		for (unsigned n = 0; n < t->nlog; n++) {
			unsigned x = t->log[n], s = x >> 12, k = (x >> 10) & 3,
				 i = x & (TLB_SIZE - 1);
			if (t->info[s][k][i] & TLBI_GLOBAL)
				t->log[kept++] = (uint16_t)x;
			else
				t->e[s][k][i].tag = TLB_INVALID_TAG;
		}
		t->nlog = kept;
		return;
	}
	for (unsigned s = 0; s < TLB_NSETS; s++)
		for (unsigned k = 0; k < TLB_NKINDS; k++)
			for (unsigned i = 0; i < TLB_SIZE; i++)
				if (!(t->info[s][k][i] & TLBI_GLOBAL))
					t->e[s][k][i].tag = TLB_INVALID_TAG;
}

/*
 * Drop every entry that translates `lin`, global or not, in every set (INVLPG;
 * SDM vol. 3A, 4.10.4.1). Entries made from a large page are 4 KiB slices of it
 * at other indexes, so an address inside the span of large entries scans them all.
 */
static inline void
tlb_flush_page(struct tlb *t, uint64_t lin)
{
	uint64_t page = lin & ~0xfffull;
	for (unsigned s = 0; s < TLB_NSETS; s++)
		for (unsigned k = 0; k < TLB_NKINDS; k++) {
			struct tlb_entry *e = tlb_slot(t, s, k, lin);
			if (e->tag == page)
				e->tag = TLB_INVALID_TAG;
		}
	if (lin < t->large_lo || lin > t->large_hi)
		return;
	for (unsigned s = 0; s < TLB_NSETS; s++)
		for (unsigned k = 0; k < TLB_NKINDS; k++)
			for (unsigned i = 0; i < TLB_SIZE; i++) {
				struct tlb_entry *e = &t->e[s][k][i];
				uint64_t m = t->large_mask[s][k][i];
				if (e->tag != TLB_INVALID_TAG && (t->info[s][k][i] & TLBI_LARGE) &&
				    (e->tag & ~m) == (lin & ~m))
					e->tag = TLB_INVALID_TAG;
			}
}

/* Drop the write entries that reach physical page `pa_page` (it now holds decoded code). */
static inline void
tlb_drop_writes_to(struct tlb *t, uint64_t pa_page)
{
	for (unsigned s = 0; s < TLB_NSETS; s++)
		for (unsigned i = 0; i < TLB_SIZE; i++) {
			struct tlb_entry *e = &t->e[s][TLB_WRITE][i];
			if (e->tag != TLB_INVALID_TAG && e->pa_page == pa_page)
				e->tag = TLB_INVALID_TAG;
		}
}

/* Make a zero-filled TLB empty. */
static inline void
tlb_init(struct tlb *t)
{
	t->any = true;
	t->nlog = TLB_LOG_MAX + 1; /* every slot cleared */
	tlb_flush_all(t);
}

/* Record a translation; page_mask is the size of the page it came from, minus 1. */
static inline void
tlb_insert(struct tlb *t, unsigned set, enum tlb_access kind, uint64_t lin, uintptr_t host_page,
	   uint64_t pa_page, bool global, uint64_t page_mask)
{
	unsigned i = (unsigned)(lin >> 12) & (TLB_SIZE - 1);
	struct tlb_entry *e = &t->e[set][kind][i];
	if (e->tag == TLB_INVALID_TAG && t->nlog <= TLB_LOG_MAX) {
		if (t->nlog < TLB_LOG_MAX)
			t->log[t->nlog] = (uint16_t)(set << 12 | (unsigned)kind << 10 | i);
		t->nlog++; /* TLB_LOG_MAX + 1: overflowed */
	}
	e->tag = lin & ~0xfffull;
	e->addend = host_page - (uintptr_t)(lin & ~0xfffull);
	e->pa_page = pa_page;
	uint8_t info = global ? TLBI_GLOBAL : 0;
	if (page_mask > 0xfff) {
		info |= TLBI_LARGE;
		t->large_mask[set][kind][i] = page_mask;
		uint64_t lo = lin & ~page_mask, hi = lin | page_mask;
		if (lo < t->large_lo)
			t->large_lo = lo;
		if (hi > t->large_hi)
			t->large_hi = hi;
	}
	t->info[set][kind][i] = info;
	t->any = true;
	t->any_global |= global;
}

#endif
