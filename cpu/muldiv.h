/*
 * fugu — multiply and divide on the accumulator (F6/F7 /4-/7).
 */
#ifndef FUGU_MULDIV_H
#define FUGU_MULDIV_H

#include "cpu/cpu_internal.h"

/* op: 4 MUL, 5 IMUL, 6 DIV, 7 IDIV; src is the r/m operand of `size` bytes. */
void muldiv_acc(struct cpu *cpu, unsigned op, uint64_t src, unsigned size);

#endif
