/*
 * fugu — page walks.
 *
 * XXX paging is not modelled yet (milestone 1, part 3): with CR0.PG clear the
 * linear address is the physical address; cpu_write_cr0 refuses to set PG.
 */
#include "mmu/paging.h"

#include "cpu/cpu_internal.h"

void
mmu_translate(struct cpu *cpu, uint64_t lin, enum tlb_access kind, bool supervisor,
	      struct mmu_result *out)
{
	(void)kind;
	(void)supervisor;
	(void)cpu;
	out->pa = lin;
	out->writable = true;
}
