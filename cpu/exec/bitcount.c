/*
 * fugu — bit counts and byte order: POPCNT, TZCNT, LZCNT, MOVBE, CRC32 (the
 * general-purpose-register instructions of the 0F B8/BC/BD and 0F 38 F0/F1 rows),
 * and the placeholder for MMX/SSE instructions until they execute.
 *
 * The decoder gates each on its CPUID feature (popcnt, bmi1, abm, movbe, sse4.2).
 */
#include "cpu/exec/exec.h"

/* F3 0F B8 POPCNT r, r/m: every arithmetic flag cleared, ZF = source is zero. */
void
op_popcnt(struct cpu *cpu, const struct insn *i)
{
	uint64_t v = rm_read(cpu, i, i->opsize);
	flags_set(cpu, F_ARITH, v ? 0 : F_ZF);
	reg_write(cpu, i->reg, i->opsize, (uint64_t)__builtin_popcountll(v));
}

/*
 * F3 0F BC TZCNT r, r/m: trailing zeros, the operand width when the source is
 * zero. CF = source is zero, ZF = result is zero; OF/SF/AF/PF are undefined and
 * left as they were.
 */
void
op_tzcnt(struct cpu *cpu, const struct insn *i)
{
	unsigned bits = 8 * i->opsize;
	uint64_t v = rm_read(cpu, i, i->opsize);
	unsigned n = v ? (unsigned)__builtin_ctzll(v) : bits;
	flags_set(cpu, F_CF | F_ZF, (v ? 0 : F_CF) | (n ? 0 : F_ZF));
	reg_write(cpu, i->reg, i->opsize, n);
}

/* F3 0F BD LZCNT r, r/m: leading zeros within the operand width; flags as TZCNT. */
void
op_lzcnt(struct cpu *cpu, const struct insn *i)
{
	unsigned bits = 8 * i->opsize;
	uint64_t v = rm_read(cpu, i, i->opsize);
	unsigned n = v ? (unsigned)__builtin_clzll(v) - (64 - bits) : bits;
	flags_set(cpu, F_CF | F_ZF, (v ? 0 : F_CF) | (n ? 0 : F_ZF));
	reg_write(cpu, i->reg, i->opsize, n);
}

static uint64_t
byte_swap(uint64_t v, unsigned size)
{
	switch (size) {
	case 2: return __builtin_bswap16((uint16_t)v);
	case 4: return __builtin_bswap32((uint32_t)v);
	default: return __builtin_bswap64(v);
	}
}

/*
 * 0F 38 F0 MOVBE r, m / 0F 38 F1 MOVBE m, r: a load or store with the bytes
 * swapped. Memory forms only (the decoder makes the register form #UD); a 16-bit
 * load leaves bits 63:16 of the register alone, as MOV does.
 */
void
op_movbe(struct cpu *cpu, const struct insn *i)
{
	if ((i->opcode & 0xff) == 0xf0) {
		uint64_t v = cpu_read(cpu, i->seg, insn_ea(cpu, i), i->opsize);
		reg_write(cpu, i->reg, i->opsize, byte_swap(v, i->opsize));
	} else {
		uint64_t v = reg_read(cpu, i->reg, i->opsize);
		cpu_write(cpu, i->seg, insn_ea(cpu, i), byte_swap(v, i->opsize), i->opsize);
	}
}

/*
 * F2 0F 38 F0/F1 CRC32 r32/r64, r/m8/16/32/64: accumulate the source into the
 * CRC-32C (polynomial 11EDC6F41H, bit-reflected as the SDM's algorithm is) in
 * the low 32 bits of the destination; a 64-bit destination is zero-extended.
 * Flags are unaffected. The F0 row is byte-sized; F1 takes the operand size.
 */
void
op_crc32(struct cpu *cpu, const struct insn *i)
{
	unsigned size = i->opsize;
	uint64_t src = rm_read(cpu, i, size);
	uint32_t crc = (uint32_t)cpu->state.gpr[i->reg];
	for (unsigned k = 0; k < 8 * size; k++) {
		uint32_t bit = (crc ^ (uint32_t)(src >> k)) & 1;
		crc = (crc >> 1) ^ (bit ? 0x82f63b78u : 0);
	}
	reg_write(cpu, i->reg, 4, crc);
}
