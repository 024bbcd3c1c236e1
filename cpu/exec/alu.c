/*
 * fugu — integer arithmetic and logic: ADD OR ADC SBB AND SUB XOR CMP in all
 * their forms, TEST, INC/DEC, NOT/NEG and group 3, XADD, CMPXCHG.
 */
#include "cpu/exec/exec.h"

#include "cpu/muldiv.h"

enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

/* Compute op(a, b), record the flags, return the result (CMP's is discarded).
 * Always inlined into per-operation handlers so the switch folds away. */
static inline __attribute__((always_inline)) uint64_t
alu(struct cpu *cpu, unsigned op, uint64_t a, uint64_t b, unsigned size)
{
	uint64_t r, m = size_mask(size);
	switch (op) {
	case ALU_ADD:
		r = (a + b) & m;
		lf_set(cpu, LF_ADD, size, a, b, r);
		return r;
	case ALU_ADC:
		if (flag_cf(cpu)) {
			r = (a + b + 1) & m;
			lf_set(cpu, LF_ADC, size, a, b, r);
		} else {
			r = (a + b) & m;
			lf_set(cpu, LF_ADD, size, a, b, r);
		}
		return r;
	case ALU_SBB:
		if (flag_cf(cpu)) {
			r = (a - b - 1) & m;
			lf_set(cpu, LF_SBB, size, a, b, r);
		} else {
			r = (a - b) & m;
			lf_set(cpu, LF_SUB, size, a, b, r);
		}
		return r;
	case ALU_SUB:
	case ALU_CMP:
		r = (a - b) & m;
		lf_set(cpu, LF_SUB, size, a, b, r);
		return r;
	case ALU_OR: r = a | b; break;
	case ALU_AND: r = a & b; break;
	default: r = a ^ b; break;
	}
	lf_set(cpu, LF_LOGIC, size, a, b, r);
	return r;
}

/* Memory form of alu_rm, kept out of line so the register form needs no stack frame. */
static __attribute__((noinline)) void
alu_mem(struct cpu *cpu, const struct insn *i, unsigned op, uint64_t src)
{
	unsigned size = i->opsize;
	uint64_t ea = insn_ea(cpu, i);
	uint64_t a = cpu_read(cpu, i->seg, ea, size);
	if (op == ALU_CMP) {
		alu(cpu, op, a, src, size);
		return;
	}
	cpu_probe_write(cpu, i->seg, ea, size);
	cpu_write(cpu, i->seg, ea, alu(cpu, op, a, src, size), size);
}

/* Read-modify-write of the r/m operand, checking writability before the ALU runs. */
static inline __attribute__((always_inline)) void
alu_rm(struct cpu *cpu, const struct insn *i, unsigned op, uint64_t src)
{
	unsigned size = i->opsize;
	if (__builtin_expect(i->flags & I_MEM, 0)) {
		alu_mem(cpu, i, op, src);
		return;
	}
	uint64_t r = alu(cpu, op, opreg_read(cpu, i, i->rm, size), src, size);
	if (op != ALU_CMP)
		opreg_write(cpu, i, i->rm, size, r);
}

static inline __attribute__((always_inline)) void
alu_r_rm(struct cpu *cpu, const struct insn *i, unsigned op)
{
	uint64_t r = alu(cpu, op, opreg_read(cpu, i, i->reg, i->opsize), rm_read(cpu, i, i->opsize),
			 i->opsize);
	if (op != ALU_CMP)
		opreg_write(cpu, i, i->reg, i->opsize, r);
}

static inline __attribute__((always_inline)) void
alu_acc_imm(struct cpu *cpu, const struct insn *i, unsigned op)
{
	uint64_t r = alu(cpu, op, reg_read(cpu, R_AX, i->opsize), i->imm, i->opsize);
	if (op != ALU_CMP)
		reg_write(cpu, R_AX, i->opsize, r);
}

/* The four handler forms of each ALU operation: r/m,reg; reg,r/m; acc,imm; r/m,imm. */
#define ALU_HANDLERS(name, OP)                                                                     \
	void op_##name##_rm_r(struct cpu *cpu, const struct insn *i)                               \
	{                                                                                          \
		alu_rm(cpu, i, OP, opreg_read(cpu, i, i->reg, i->opsize));                         \
	}                                                                                          \
	void op_##name##_r_rm(struct cpu *cpu, const struct insn *i)                               \
	{                                                                                          \
		alu_r_rm(cpu, i, OP);                                                              \
	}                                                                                          \
	void op_##name##_acc_imm(struct cpu *cpu, const struct insn *i)                            \
	{                                                                                          \
		alu_acc_imm(cpu, i, OP);                                                           \
	}                                                                                          \
	void op_##name##_rm_imm(struct cpu *cpu, const struct insn *i)                             \
	{                                                                                          \
		alu_rm(cpu, i, OP, i->imm);                                                        \
	}

ALU_HANDLERS(add, ALU_ADD)
ALU_HANDLERS(or, ALU_OR)
ALU_HANDLERS(adc, ALU_ADC)
ALU_HANDLERS(sbb, ALU_SBB)
ALU_HANDLERS(and, ALU_AND)
ALU_HANDLERS(sub, ALU_SUB)
ALU_HANDLERS(xor, ALU_XOR)
ALU_HANDLERS(cmp, ALU_CMP)

void
op_test_rm_r(struct cpu *cpu, const struct insn *i)
{
	alu(cpu, ALU_AND, rm_read(cpu, i, i->opsize), opreg_read(cpu, i, i->reg, i->opsize),
	    i->opsize);
}

void
op_test_acc_imm(struct cpu *cpu, const struct insn *i)
{
	alu(cpu, ALU_AND, reg_read(cpu, R_AX, i->opsize), i->imm, i->opsize);
}

static inline __attribute__((always_inline)) uint64_t
inc_dec(struct cpu *cpu, uint64_t v, bool dec, unsigned size)
{
	uint64_t r = (dec ? v - 1 : v + 1) & size_mask(size);
	lf_set_keep_cf(cpu, dec ? LF_SUB : LF_ADD, size, v, 1, r);
	return r;
}

/* 40-4F (outside 64-bit mode, where they are REX). */
void
op_inc_r(struct cpu *cpu, const struct insn *i)
{
	unsigned r = i->opcode & 7;
	reg_write(cpu, r, i->opsize, inc_dec(cpu, reg_read(cpu, r, i->opsize), false, i->opsize));
}

void
op_dec_r(struct cpu *cpu, const struct insn *i)
{
	unsigned r = i->opcode & 7;
	reg_write(cpu, r, i->opsize, inc_dec(cpu, reg_read(cpu, r, i->opsize), true, i->opsize));
}

/* Read-modify-write helper for unary r/m operations. */
static uint64_t
rm_read_for_write(struct cpu *cpu, const struct insn *i, uint64_t *ea)
{
	if (!(i->flags & I_MEM))
		return opreg_read(cpu, i, i->rm, i->opsize);
	*ea = insn_ea(cpu, i);
	uint64_t v = cpu_read(cpu, i->seg, *ea, i->opsize);
	cpu_probe_write(cpu, i->seg, *ea, i->opsize);
	return v;
}

static void
rm_write_back(struct cpu *cpu, const struct insn *i, uint64_t ea, uint64_t v)
{
	if (!(i->flags & I_MEM))
		opreg_write(cpu, i, i->rm, i->opsize, v);
	else
		cpu_write(cpu, i->seg, ea, v, i->opsize);
}

/* FE/FF /0 /1: INC/DEC r/m. */
static inline __attribute__((always_inline)) void
inc_dec_rm(struct cpu *cpu, const struct insn *i, bool dec)
{
	if (!(i->flags & I_MEM)) {
		uint64_t v = opreg_read(cpu, i, i->rm, i->opsize);
		opreg_write(cpu, i, i->rm, i->opsize, inc_dec(cpu, v, dec, i->opsize));
		return;
	}
	uint64_t ea = 0;
	uint64_t v = rm_read_for_write(cpu, i, &ea);
	rm_write_back(cpu, i, ea, inc_dec(cpu, v, dec, i->opsize));
}

void
op_inc_rm(struct cpu *cpu, const struct insn *i)
{
	inc_dec_rm(cpu, i, false);
}

void
op_dec_rm(struct cpu *cpu, const struct insn *i)
{
	inc_dec_rm(cpu, i, true);
}

/* F6/F7: TEST, NOT, NEG, MUL, IMUL, DIV, IDIV. */
void
op_grp3(struct cpu *cpu, const struct insn *i)
{
	unsigned size = i->opsize;
	uint64_t ea = 0, v, r;
	switch (i->reg & 7) {
	case 0:
	case 1: alu(cpu, ALU_AND, rm_read(cpu, i, size), i->imm, size); return;
	case 2:
		v = rm_read_for_write(cpu, i, &ea);
		rm_write_back(cpu, i, ea, ~v & size_mask(size));
		return;
	case 3:
		v = rm_read_for_write(cpu, i, &ea);
		r = (0 - v) & size_mask(size);
		lf_set(cpu, LF_SUB, size, 0, v, r);
		rm_write_back(cpu, i, ea, r);
		return;
	default: muldiv_acc(cpu, i->reg & 7, rm_read(cpu, i, size), size); return;
	}
}

void
op_xadd(struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = 0;
	uint64_t dst = rm_read_for_write(cpu, i, &ea);
	uint64_t src = opreg_read(cpu, i, i->reg, i->opsize);
	uint64_t sum = alu(cpu, ALU_ADD, dst, src, i->opsize);
	opreg_write(cpu, i, i->reg, i->opsize, dst);
	rm_write_back(cpu, i, ea, sum);
}

/* CMPXCHG: the destination is written in both cases (SDM vol. 2A, CMPXCHG). */
void
op_cmpxchg(struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = 0;
	uint64_t dst = rm_read_for_write(cpu, i, &ea);
	uint64_t acc = reg_read(cpu, R_AX, i->opsize);
	alu(cpu, ALU_CMP, acc, dst, i->opsize);
	if (acc == dst) {
		rm_write_back(cpu, i, ea, opreg_read(cpu, i, i->reg, i->opsize));
	} else {
		if (i->flags & I_MEM)
			rm_write_back(cpu, i, ea, dst);
		reg_write(cpu, R_AX, i->opsize, dst);
	}
}
