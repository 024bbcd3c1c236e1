/*
 * fugu — segment descriptors as segment.c, the gates and the task switch
 * (task.c) share them: reading a descriptor from the GDT/LDT, checking and
 * committing a segment-register load (SDM vol. 3A, 3.4-3.5, 5.4-5.8).
 */
#ifndef FUGU_DESC_H
#define FUGU_DESC_H

#include "cpu/cpu_internal.h"

struct descriptor {
	uint64_t raw;
	uint64_t base;
	uint32_t limit;
	uint16_t attr;
};

static inline unsigned
desc_dpl(const struct descriptor *d)
{
	return (d->attr >> 5) & 3;
}

/* Decode the 8 bytes of a descriptor (base, byte-granular limit, packed attributes). */
void desc_decode(struct descriptor *d, uint64_t raw);
/* Linear address of the descriptor for `sel`; fault `vec`(sel) if outside the table. */
uint64_t desc_addr(struct cpu *cpu, uint16_t sel, unsigned vec);
void desc_fetch(struct cpu *cpu, uint16_t sel, struct descriptor *d, unsigned vec);
void desc_set_accessed(struct cpu *cpu, uint16_t sel, struct descriptor *d);
void seg_set(struct cpu *cpu, unsigned s, uint16_t sel, const struct descriptor *d);
/* The checks of MOV/POP to a data or stack segment register at privilege `cpl`;
 * false for a null selector. */
bool seg_check(struct cpu *cpu, unsigned s, uint16_t sel, unsigned cpl, bool null_ss_ok,
	       struct descriptor *d);
void seg_commit(struct cpu *cpu, unsigned s, uint16_t sel, struct descriptor *d);

/* A stack being built before it is loaded: pushes are checked against its limit. */
struct new_stack {
	uint64_t base;
	uint32_t limit;
	uint16_t attr;
	uint16_t sel;
	uint64_t sp;
	uint64_t mask;
	bool flat64; /* 64-bit mode: no segmentation */
};

/* Push on a stack that is not loaded yet (#SS(sel) past its limit), load it. */
void ns_push(struct cpu *cpu, struct new_stack *ns, uint64_t v, unsigned size);
void ns_commit(struct cpu *cpu, struct new_stack *ns, struct descriptor *ssd);
/* The inner stack for privilege `dpl` from the current TSS, checked (#TS/#SS). */
void tss_inner_stack(struct cpu *cpu, unsigned dpl, unsigned ext, struct new_stack *ns,
		     struct descriptor *ssd);

/* Task switch (task.c; SDM vol. 3A, 7.3). `tss_sel` names an available or (IRET) busy
 * TSS descriptor; `return_rip` is the EIP saved in the old TSS; an error code, if
 * not NO_ERRCODE, is pushed on the new task's stack. `ext` is the EXT bit of the
 * error codes of faults the switch raises. */
enum task_reason { TASK_JMP, TASK_CALL, TASK_IRET, TASK_INT };
void task_switch(struct cpu *cpu, uint16_t tss_sel, enum task_reason why, uint64_t return_rip,
		 uint32_t error_code, unsigned ext);

#endif
