/*
 * fugu — shifts and rotates: group 2 (ROL ROR RCL RCR SHL SHR SAL SAR) and
 * SHLD/SHRD. Flags per SDM vol. 2B, SAL/SAR/SHL/SHR and RCL/RCR/ROL/ROR: a
 * masked count of 0 changes nothing; OF is defined only for a count of 1, and
 * fugu computes the count-1 formula for every count, as Intel parts do.
 */
#include "cpu/exec/exec.h"

enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

static inline __attribute__((always_inline)) uint64_t
shift_op_inline(struct cpu *cpu, unsigned op, uint64_t v, unsigned count, unsigned size)
{
	unsigned bits = 8 * size;
	uint64_t m = size_mask(size), sign = size_sign(size);
	uint64_t r;
	uint32_t cf, of;
	v &= m;
	count &= size == 8 ? 0x3f : 0x1f;
	if (count == 0)
		return v;
	switch (op) {
	case SH_ROL: {
		unsigned c = count % bits;
		r = c ? ((v << c) | (v >> (bits - c))) & m : v;
		cf = r & 1;
		of = !!(r & sign) ^ cf;
		flags_set(cpu, F_CF | F_OF, (cf ? F_CF : 0) | (of ? F_OF : 0));
		return r;
	}
	case SH_ROR: {
		unsigned c = count % bits;
		r = c ? ((v >> c) | (v << (bits - c))) & m : v;
		cf = !!(r & sign);
		of = cf ^ !!(r & (sign >> 1));
		flags_set(cpu, F_CF | F_OF, (cf ? F_CF : 0) | (of ? F_OF : 0));
		return r;
	}
	case SH_RCL:
	case SH_RCR: {
		unsigned c = size < 4 ? count % (bits + 1) : count;
		cf = flag_cf(cpu);
		r = v;
		of = 0;
		if (op == SH_RCR)
			of = !!(r & sign) ^ cf; /* computed before the rotation */
		for (unsigned k = 0; k < c; k++) {
			if (op == SH_RCL) {
				uint32_t out = !!(r & sign);
				r = ((r << 1) | cf) & m;
				cf = out;
			} else {
				uint32_t out = r & 1;
				r = (r >> 1) | (cf ? sign : 0);
				cf = out;
			}
		}
		if (op == SH_RCL)
			of = !!(r & sign) ^ cf;
		else if (c == 0)
			of = !!(r & sign) ^ cf;
		flags_set(cpu, F_CF | F_OF, (cf ? F_CF : 0) | (of ? F_OF : 0));
		return r;
	}
	case SH_SHL:
	case SH_SAL:
		r = count < 64 ? (v << count) & m : 0;
		lf_set(cpu, LF_SHL, size, v, count, r); /* flags as in flags.h, computed lazily */
		return r;
	case SH_SHR:
		r = v >> count;
		lf_set(cpu, LF_SHR, size, v, count, r);
		return r;
	default: { /* SAR */
		int64_t s = (int64_t)(v << (64 - bits)) >> (64 - bits);
		r = (uint64_t)(s >> count) & m;
		lf_set(cpu, LF_SAR, size, v, count, r);
		return r;
	}
	}
}

uint64_t
shift_op(struct cpu *cpu, unsigned op, uint64_t v, unsigned count, unsigned size)
{
	return shift_op_inline(cpu, op, v, count, size);
}

/* Memory form, out of line so the register forms need no stack frame. */
static __attribute__((noinline)) void
shift_mem(struct cpu *cpu, const struct insn *i, unsigned op, unsigned count)
{
	unsigned size = i->opsize;
	uint64_t ea = insn_ea(cpu, i);
	uint64_t v = cpu_read(cpu, i->seg, ea, size);
	cpu_probe_write(cpu, i->seg, ea, size);
	cpu_write(cpu, i->seg, ea, shift_op(cpu, op, v, count, size), size);
}

static inline __attribute__((always_inline)) void
shift_rm(struct cpu *cpu, const struct insn *i, unsigned op, unsigned count)
{
	unsigned size = i->opsize;
	if (__builtin_expect(i->flags & I_MEM, 0)) {
		shift_mem(cpu, i, op, count);
		return;
	}
	uint64_t v = opreg_read(cpu, i, i->rm, size);
	opreg_write(cpu, i, i->rm, size, shift_op_inline(cpu, op, v, count, size));
}

/* One handler per (operation, count source) so each folds to straight-line code:
 * C0/C1 take an immediate count, D0/D1 a count of 1, D2/D3 CL. */
#define SHIFT_HANDLERS(name, OP)                                                                   \
	static void shift_##name##_imm(struct cpu *cpu, const struct insn *i)                      \
	{                                                                                          \
		shift_rm(cpu, i, OP, (unsigned)i->imm);                                            \
	}                                                                                          \
	static void shift_##name##_1(struct cpu *cpu, const struct insn *i)                        \
	{                                                                                          \
		shift_rm(cpu, i, OP, 1);                                                           \
	}                                                                                          \
	static void shift_##name##_cl(struct cpu *cpu, const struct insn *i)                       \
	{                                                                                          \
		shift_rm(cpu, i, OP, cpu->state.gpr[R_CX] & 0xff);                                 \
	}

SHIFT_HANDLERS(rol, SH_ROL)
SHIFT_HANDLERS(ror, SH_ROR)
SHIFT_HANDLERS(rcl, SH_RCL)
SHIFT_HANDLERS(rcr, SH_RCR)
SHIFT_HANDLERS(shl, SH_SHL)
SHIFT_HANDLERS(shr, SH_SHR)
SHIFT_HANDLERS(sal, SH_SAL)
SHIFT_HANDLERS(sar, SH_SAR)

#define SHIFT_ROW(kind)                                                                            \
	{                                                                                          \
		shift_rol_##kind, shift_ror_##kind, shift_rcl_##kind, shift_rcr_##kind,            \
			shift_shl_##kind, shift_shr_##kind, shift_sal_##kind, shift_sar_##kind     \
	}

const insn_fn shift_handlers[SHIFT_COUNT_KINDS][8] = {
	[SHIFT_BY_IMM] = SHIFT_ROW(imm),
	[SHIFT_BY_1] = SHIFT_ROW(1),
	[SHIFT_BY_CL] = SHIFT_ROW(cl),
};

/* SHLD/SHRD (SDM vol. 2B). A count above the operand size (16-bit forms) gives an
 * undefined result; fugu shifts through the 32-bit concatenation like Intel parts. */
static void
double_shift(struct cpu *cpu, const struct insn *i, unsigned count, bool left)
{
	unsigned size = i->opsize, bits = 8 * size;
	uint64_t m = size_mask(size), sign = size_sign(size);
	count &= size == 8 ? 0x3f : 0x1f;
	uint64_t ea = 0;
	uint64_t dst;
	if (i->flags & I_MEM) {
		ea = insn_ea(cpu, i);
		dst = cpu_read(cpu, i->seg, ea, size);
		cpu_probe_write(cpu, i->seg, ea, size);
	} else {
		dst = reg_read(cpu, i->rm, size);
	}
	if (count == 0) {
		/* No flags change, but the destination is still written: a 32-bit
		 * register is zero-extended, as for the group-2 shifts (SDM vol. 1,
		 * 3.4.1.1; checked against hardware by conformance-hostdiff). */
		if (!(i->flags & I_MEM))
			reg_write(cpu, i->rm, size, dst);
		return;
	}
	uint64_t src = reg_read(cpu, i->reg, size);
	uint64_t r;
	uint32_t cf;
	if (size == 2) {
		/* 48-bit pattern dst:src:dst, as the hardware's 32-bit shifter sees it. */
		unsigned __int128 t = ((unsigned __int128)dst << 32) | (src << 16) | dst;
		if (left) {
			r = (uint64_t)(t << count >> 32) & m;
			cf = (uint64_t)(t << (count - 1) >> 47) & 1;
		} else {
			/* SHRD sees src:dst with dst repeated above: dst:src:dst read rightwards.
			 */
			r = (uint64_t)(t >> count) & m;
			cf = (uint64_t)(t >> (count - 1)) & 1;
		}
	} else if (left) {
		r = ((dst << count) | (src >> (bits - count))) & m;
		cf = (dst >> (bits - count)) & 1;
	} else {
		r = ((dst >> count) | (src << (bits - count))) & m;
		cf = (dst >> (count - 1)) & 1;
	}
	uint32_t of = !!((r ^ dst) & sign);
	flags_set(cpu, F_ARITH, szp_flags(r, size) | (cf ? F_CF : 0) | (of ? F_OF : 0));
	if (i->flags & I_MEM)
		cpu_write(cpu, i->seg, ea, r, size);
	else
		reg_write(cpu, i->rm, size, r);
}

void
op_shld_imm(struct cpu *cpu, const struct insn *i)
{
	double_shift(cpu, i, (unsigned)i->imm, true);
}

void
op_shld_cl(struct cpu *cpu, const struct insn *i)
{
	double_shift(cpu, i, cpu->state.gpr[R_CX] & 0xff, true);
}

void
op_shrd_imm(struct cpu *cpu, const struct insn *i)
{
	double_shift(cpu, i, (unsigned)i->imm, false);
}

void
op_shrd_cl(struct cpu *cpu, const struct insn *i)
{
	double_shift(cpu, i, cpu->state.gpr[R_CX] & 0xff, false);
}
