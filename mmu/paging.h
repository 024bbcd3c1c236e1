/*
 * fugu — linear-to-physical translation: the page walks (32-bit, PAE, 4-level)
 * and, later, the EPT second stage for VMX non-root mode.
 */
#ifndef FUGU_PAGING_H
#define FUGU_PAGING_H

#include <stdbool.h>
#include <stdint.h>

#include "mmu/tlb.h"

struct cpu;

struct mmu_result {
	uint64_t pa;	/* physical address (before the A20 mask) */
	bool writable;	/* a store may use the TLB without re-walking (W and dirty set) */
};

/*
 * Translate `lin` for an access of the given kind at the given privilege.
 * Raises #PF through cpu_fault on failure; never returns then.
 */
void mmu_translate(struct cpu *cpu, uint64_t lin, enum tlb_access kind, bool supervisor,
		   struct mmu_result *out);

#endif
