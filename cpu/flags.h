/*
 * fugu — lazy arithmetic flags.
 *
 * An ALU instruction records its operands and result; CF/PF/AF/ZF/SF/OF are
 * computed only when something reads them. lf.mask names the flags that are
 * lazy; every other EFLAGS bit lives in cpu->state.rflags. INC/DEC leave CF alone by
 * materializing it first and making only the other five lazy.
 */
#ifndef FUGU_FLAGS_H
#define FUGU_FLAGS_H

#include "cpu/cpu.h"

enum lf_op {
	LF_ADD,   /* res = src1 + src2 */
	LF_ADC,   /* res = src1 + src2 + 1 (carry-in set) */
	LF_SUB,   /* res = src1 - src2 */
	LF_SBB,   /* res = src1 - src2 - 1 (borrow-in set) */
	LF_LOGIC, /* AND/OR/XOR/TEST: CF=OF=0 */
	LF_SHL,   /* res = src1 << src2 (src2 = masked count, 1..63) */
	LF_SHR,   /* res = src1 >> src2 (logical) */
	LF_SAR,   /* res = src1 >> src2 (arithmetic) */
	LF_MUL,   /* MUL/IMUL: res = low half, src1 = 1 when the high half is significant */
};

static inline uint64_t
size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static inline uint64_t
size_sign(unsigned size)
{
	return 1ull << (8 * size - 1);
}

static inline uint32_t
parity_flag(uint64_t v)
{
	return __builtin_parity((unsigned)(v & 0xff)) ? 0 : F_PF;
}

/* ZF, SF and PF of a result of `size` bytes. */
static inline uint32_t
szp_flags(uint64_t res, unsigned size)
{
	uint64_t m = size_mask(size);
	return ((res & m) == 0 ? F_ZF : 0) | ((res & size_sign(size)) ? F_SF : 0) |
	       parity_flag(res);
}

static inline uint32_t
lf_compute(const struct lazy_flags *lf)
{
	uint64_t m = size_mask(lf->size), sign = size_sign(lf->size);
	uint64_t a = lf->src1 & m, b = lf->src2 & m, r = lf->res & m;
	uint32_t f = szp_flags(r, lf->size);
	switch (lf->op) {
	case LF_ADD: f |= (r < a ? F_CF : 0) | (((a ^ r) & (b ^ r) & sign) ? F_OF : 0); break;
	case LF_ADC: f |= (r <= a ? F_CF : 0) | (((a ^ r) & (b ^ r) & sign) ? F_OF : 0); break;
	case LF_SUB: f |= (a < b ? F_CF : 0) | (((a ^ b) & (a ^ r) & sign) ? F_OF : 0); break;
	case LF_SBB: f |= (a <= b ? F_CF : 0) | (((a ^ b) & (a ^ r) & sign) ? F_OF : 0); break;
	case LF_SHL: {
		/* CF is the last bit shifted out; OF = MSB(result) ^ CF (SDM vol. 2B, SAL/SHL). */
		unsigned bits = 8u * lf->size;
		uint32_t cf = b <= bits ? (uint32_t)((a << (b - 1)) >> (bits - 1)) & 1 : 0;
		return f | (cf ? F_CF : 0) | ((!!(r & sign) ^ cf) ? F_OF : 0);
	}
	case LF_SHR: return f | (((a >> (b - 1)) & 1) ? F_CF : 0) | ((a & sign) ? F_OF : 0);
	case LF_SAR: {
		int64_t sa = (int64_t)(a << (64 - 8u * lf->size)) >> (64 - 8u * lf->size);
		return f | (((uint64_t)(sa >> (b - 1)) & 1) ? F_CF : 0);
	}
	case LF_MUL: return f | (lf->src1 ? F_CF | F_OF : 0);
	default: return f;
	}
	return f | ((a ^ b ^ r) & F_AF);
}

/* CF alone, for ADC/SBB/INC/DEC/RCL/RCR/Jcc: cheaper than lf_compute. */
static inline bool
lf_compute_cf(const struct lazy_flags *lf)
{
	uint64_t m = size_mask(lf->size);
	uint64_t a = lf->src1 & m, b = lf->src2 & m, r = lf->res & m;
	switch (lf->op) {
	case LF_ADD: return r < a;
	case LF_ADC: return r <= a;
	case LF_SUB: return a < b;
	case LF_SBB: return a <= b;
	case LF_LOGIC: return false;
	default: return lf_compute(lf) & F_CF;
	}
}

/* Record an ALU result; all six arithmetic flags become lazy. */
static inline void
lf_set(struct cpu *cpu, enum lf_op op, unsigned size, uint64_t src1, uint64_t src2, uint64_t res)
{
	cpu->lf.op = (uint8_t)op;
	cpu->lf.size = (uint8_t)size;
	cpu->lf.src1 = src1;
	cpu->lf.src2 = src2;
	cpu->lf.res = res;
	cpu->lf.mask = F_ARITH;
}

/* Fold the lazy flags into cpu->state.rflags. */
static inline void
flags_materialize(struct cpu *cpu)
{
	if (cpu->lf.mask) {
		cpu->state.rflags = (cpu->state.rflags & ~(uint64_t)cpu->lf.mask) |
				    (lf_compute(&cpu->lf) & cpu->lf.mask);
		cpu->lf.mask = 0;
	}
}

/* The six arithmetic flags, as EFLAGS bits. */
static inline uint32_t
flags_arith(struct cpu *cpu)
{
	uint32_t f = (uint32_t)cpu->state.rflags & F_ARITH;
	if (cpu->lf.mask)
		f = (f & ~(uint32_t)cpu->lf.mask) | (lf_compute(&cpu->lf) & cpu->lf.mask);
	return f;
}

/* Replace the arithmetic flags named in `which` with `bits` (eager update). */
static inline void
flags_set(struct cpu *cpu, uint32_t which, uint32_t bits)
{
	flags_materialize(cpu);
	cpu->state.rflags = (cpu->state.rflags & ~(uint64_t)which) | (bits & which);
}

static inline bool
flag_cf(struct cpu *cpu)
{
	if (!(cpu->lf.mask & F_CF))
		return cpu->state.rflags & F_CF;
	return lf_compute_cf(&cpu->lf);
}

static inline bool
flag_zf(struct cpu *cpu)
{
	if (cpu->lf.mask & F_ZF)
		return (cpu->lf.res & size_mask(cpu->lf.size)) == 0;
	return cpu->state.rflags & F_ZF;
}

/* An INC/DEC-style result: every arithmetic flag but CF. */
static inline void
lf_set_keep_cf(struct cpu *cpu, enum lf_op op, unsigned size, uint64_t src1, uint64_t src2,
	       uint64_t res)
{
	if (cpu->lf.mask & F_CF)
		cpu->state.rflags = (cpu->state.rflags & ~(uint64_t)F_CF) |
				    (lf_compute_cf(&cpu->lf) ? F_CF : 0);
	lf_set(cpu, op, size, src1, src2, res);
	cpu->lf.mask = F_ARITH & ~F_CF;
}

/* Evaluate condition code cc (0-15, the low nibble of Jcc/SETcc/CMOVcc). */
static inline bool
cond_eval(struct cpu *cpu, unsigned cc)
{
	uint32_t f;
	bool r;
	if ((cc >> 1) == 2) { /* E/NE: the hottest pair */
		r = flag_zf(cpu);
		return (cc & 1) ? !r : r;
	}
	if (cpu->lf.mask == F_ARITH && cpu->lf.op == LF_SUB) {
		/* After CMP/SUB the conditions are comparisons of the operands. */
		uint64_t m = size_mask(cpu->lf.size), sign = size_sign(cpu->lf.size);
		uint64_t a = cpu->lf.src1 & m, b = cpu->lf.src2 & m;
		int64_t sa = (int64_t)((a ^ sign) - sign), sb = (int64_t)((b ^ sign) - sign);
		switch (cc >> 1) {
		case 1: r = a < b; break;    /* B/AE */
		case 3: r = a <= b; break;   /* BE/A */
		case 6: r = sa < sb; break;  /* L/GE */
		case 7: r = sa <= sb; break; /* LE/G */
		default: goto general;
		}
		return (cc & 1) ? !r : r;
	}
general:
	f = flags_arith(cpu);
	switch (cc >> 1) {
	case 0: r = f & F_OF; break;
	case 1: r = f & F_CF; break;
	case 3: r = f & (F_CF | F_ZF); break;
	case 4: r = f & F_SF; break;
	case 5: r = f & F_PF; break;
	case 6: r = !(f & F_SF) != !(f & F_OF); break;
	default: r = (f & F_ZF) || (!(f & F_SF) != !(f & F_OF)); break;
	}
	return (cc & 1) ? !r : r;
}

#endif
