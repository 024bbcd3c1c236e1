/*
 * fugu — bit test and scan: BT/BTS/BTR/BTC (register and immediate offsets),
 * BSF, BSR. BT* change only CF here (OF/SF/AF/PF are undefined, ZF is kept, as
 * on Intel parts); BSF/BSR with a zero source set ZF and keep the destination.
 */
#include "cpu/exec/exec.h"

enum { BT_TEST, BT_SET, BT_RESET, BT_COMPLEMENT };

static void
bit_op(struct cpu *cpu, const struct insn *i, unsigned op, int64_t offset, bool reg_offset)
{
	unsigned size = i->opsize, bits = 8 * size;
	uint64_t v, ea = 0;
	unsigned bit;
	if (!(i->flags & I_MEM)) {
		bit = (uint64_t)offset & (bits - 1);
		v = reg_read(cpu, i->rm, size);
	} else {
		ea = insn_ea(cpu, i);
		if (reg_offset) {
			/* A register offset addresses any bit around the operand (SDM vol. 2A, BT).
			 */
			int64_t word = offset >> (size == 2 ? 4 : size == 4 ? 5 : 6);
			ea = (ea + (uint64_t)(word * (int64_t)size)) & addr_mask(i->adsize);
		}
		bit = (uint64_t)offset & (bits - 1);
		v = cpu_read(cpu, i->seg, ea, size);
	}
	uint64_t mask = 1ull << bit;
	flags_set(cpu, F_CF, (v & mask) ? F_CF : 0);
	if (op == BT_TEST)
		return;
	v = op == BT_SET ? v | mask : op == BT_RESET ? v & ~mask : v ^ mask;
	if (i->flags & I_MEM)
		cpu_write(cpu, i->seg, ea, v, size);
	else
		reg_write(cpu, i->rm, size, v);
}

/* 0F A3 BT, AB BTS, B3 BTR, BB BTC: the operation is in opcode bits 3-4. */
void
op_bt_rm_r(struct cpu *cpu, const struct insn *i)
{
	uint64_t off = reg_read(cpu, i->reg, i->opsize);
	int64_t soff = i->opsize == 2 ? (int16_t)off : i->opsize == 4 ? (int32_t)off : (int64_t)off;
	bit_op(cpu, i, (i->opcode >> 3) & 3, soff, true);
}

/* 0F BA /4-/7 ib. */
void
op_bt_rm_imm(struct cpu *cpu, const struct insn *i)
{
	bit_op(cpu, i, i->reg & 3, (int64_t)(i->imm & 0xff), false);
}

void
op_bsf(struct cpu *cpu, const struct insn *i)
{
	uint64_t v = rm_read(cpu, i, i->opsize);
	if (!v) {
		flags_set(cpu, F_ARITH, F_ZF);
		return;
	}
	unsigned idx = (unsigned)__builtin_ctzll(v);
	flags_set(cpu, F_ARITH, parity_flag(idx));
	reg_write(cpu, i->reg, i->opsize, idx);
}

void
op_bsr(struct cpu *cpu, const struct insn *i)
{
	uint64_t v = rm_read(cpu, i, i->opsize);
	if (!v) {
		flags_set(cpu, F_ARITH, F_ZF);
		return;
	}
	unsigned idx = 63u - (unsigned)__builtin_clzll(v);
	flags_set(cpu, F_ARITH, parity_flag(idx));
	reg_write(cpu, i->reg, i->opsize, idx);
}
