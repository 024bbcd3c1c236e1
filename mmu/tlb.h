/*
 * fugu — the software TLB: linear page -> host pointer, with separate read, write
 * and execute entries so that a page can be readable from the fast path while its
 * writes take the slow path (code pages, ROM, dirty-bit updates).
 */
#ifndef FUGU_TLB_H
#define FUGU_TLB_H

#include <stdint.h>
#include <string.h>

#define TLB_BITS 10
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_INVALID_TAG 1 /* odd: never equals a page-aligned address */

struct tlb_entry {
	uint64_t tag;	  /* linear page address, or TLB_INVALID_TAG */
	uintptr_t addend; /* host address = linear address + addend */
	uint64_t pa_page; /* physical page address, for code lookups and tracing */
};

enum tlb_access { TLB_READ, TLB_WRITE, TLB_EXEC, TLB_NKINDS };

struct tlb {
	struct tlb_entry e[TLB_NKINDS][TLB_SIZE];
};

static inline struct tlb_entry *
tlb_slot(struct tlb *t, enum tlb_access kind, uint64_t lin)
{
	return &t->e[kind][(lin >> 12) & (TLB_SIZE - 1)];
}

/* Host pointer for an access of `size` bytes at `lin`, or NULL when the slow path must run. */
static inline void *
tlb_lookup(struct tlb *t, enum tlb_access kind, uint64_t lin, unsigned size)
{
	struct tlb_entry *e = tlb_slot(t, kind, lin);
	if (__builtin_expect(e->tag == (lin & ~0xfffull) && (lin & 0xfff) + size <= 0x1000, 1))
		return (void *)(uintptr_t)(lin + e->addend);
	return NULL;
}

static inline void
tlb_flush_all(struct tlb *t)
{
	for (unsigned k = 0; k < TLB_NKINDS; k++)
		for (unsigned i = 0; i < TLB_SIZE; i++)
			t->e[k][i].tag = TLB_INVALID_TAG;
}

static inline void
tlb_flush_page(struct tlb *t, uint64_t lin)
{
	for (unsigned k = 0; k < TLB_NKINDS; k++) {
		struct tlb_entry *e = tlb_slot(t, k, lin);
		if (e->tag == (lin & ~0xfffull))
			e->tag = TLB_INVALID_TAG;
	}
}

#endif
