/*
 * fugu — MUL, IMUL (one-, two- and three-operand), DIV, IDIV.
 *
 * MUL/IMUL set CF=OF when the upper half is significant; SF/ZF/AF/PF are
 * undefined (SDM vol. 2A, MUL/IMUL): fugu gives SF/ZF/PF of the low half, AF=0.
 * DIV/IDIV leave all six undefined: fugu leaves them unchanged. #DE on a zero
 * divisor or a quotient that does not fit.
 */
#include "cpu/exec/exec.h"
#include "cpu/muldiv.h"

typedef unsigned __int128 u128;
typedef __int128 s128;

static void
mul_flags(struct cpu *cpu, uint64_t low, bool overflow, unsigned size)
{
	lf_set(cpu, LF_MUL, size, overflow, 0, low);
}

static inline int64_t
sx(uint64_t v, unsigned size)
{
	unsigned shift = 64 - 8 * size;
	return (int64_t)(v << shift) >> shift;
}

/* Store a double-width result into AX (8-bit), DX:AX, EDX:EAX or RDX:RAX. */
static void
store_pair(struct cpu *cpu, unsigned size, uint64_t lo, uint64_t hi)
{
	if (size == 1) {
		reg_write(cpu, R_AX, 2, (lo & 0xff) | ((hi & 0xff) << 8));
	} else {
		reg_write(cpu, R_AX, size, lo);
		reg_write(cpu, R_DX, size, hi);
	}
}

void
muldiv_acc(struct cpu *cpu, unsigned op, uint64_t src, unsigned size)
{
	uint64_t m = size_mask(size);
	unsigned bits = 8 * size;
	uint64_t a = reg_read(cpu, R_AX, size);
	u128 dividend;
	switch (op) {
	case 4: { /* MUL */
		u128 p = (u128)a * src;
		uint64_t lo = (uint64_t)p & m, hi = (uint64_t)(p >> bits) & m;
		store_pair(cpu, size, lo, hi);
		mul_flags(cpu, lo, hi != 0, size);
		return;
	}
	case 5: { /* IMUL */
		s128 p = (s128)sx(a, size) * sx(src, size);
		uint64_t lo = (uint64_t)p & m, hi = (uint64_t)((u128)p >> bits) & m;
		store_pair(cpu, size, lo, hi);
		mul_flags(cpu, lo, p != (s128)sx(lo, size), size);
		return;
	}
	}
	if (src == 0)
		cpu_fault(cpu, EXC_DE, NO_ERRCODE);
	if (size == 1)
		dividend = reg_read(cpu, R_AX, 2);
	else
		dividend = ((u128)reg_read(cpu, R_DX, size) << bits) | a;
	if (op == 6) { /* DIV */
		u128 q = dividend / src, r = dividend % src;
		if (q > m)
			cpu_fault(cpu, EXC_DE, NO_ERRCODE);
		store_pair(cpu, size, (uint64_t)q, (uint64_t)r);
		return;
	}
	/* IDIV: sign-extend the 2*size-byte dividend. */
	s128 sd;
	if (size == 8)
		sd = (s128)dividend;
	else
		sd = (s128)(dividend << (128 - 2 * bits)) >> (128 - 2 * bits);
	s128 sdiv = sx(src, size);
	if (size == 8 && (u128)sd == (u128)1 << 127 && sdiv == -1)
		cpu_fault(cpu, EXC_DE, NO_ERRCODE);
	s128 q = sd / sdiv, r = sd % sdiv;
	s128 qmax = ((s128)1 << (bits - 1)) - 1, qmin = -((s128)1 << (bits - 1));
	if (q > qmax || q < qmin)
		cpu_fault(cpu, EXC_DE, NO_ERRCODE);
	store_pair(cpu, size, (uint64_t)q & m, (uint64_t)r & m);
}

static void
imul2(struct cpu *cpu, const struct insn *i, uint64_t a, uint64_t b)
{
	unsigned size = i->opsize;
	s128 p = (s128)sx(a, size) * sx(b, size);
	uint64_t lo = (uint64_t)p & size_mask(size);
	reg_write(cpu, i->reg, size, lo);
	mul_flags(cpu, lo, p != (s128)sx(lo, size), size);
}

void
op_imul_r_rm(struct cpu *cpu, const struct insn *i)
{
	imul2(cpu, i, reg_read(cpu, i->reg, i->opsize), rm_read(cpu, i, i->opsize));
}

void
op_imul_r_rm_imm(struct cpu *cpu, const struct insn *i)
{
	imul2(cpu, i, rm_read(cpu, i, i->opsize), i->imm);
}
