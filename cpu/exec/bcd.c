/*
 * fugu — decimal adjust instructions (SDM vol. 2A: DAA, DAS, AAA, AAS, AAM, AAD;
 * the 386+ forms: AAA/AAS adjust AX as a whole).
 */
#include "cpu/exec/exec.h"

static inline uint8_t
al(struct cpu *cpu)
{
	return (uint8_t)cpu->state.gpr[R_AX];
}

void
op_daa(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	uint32_t f = flags_arith(cpu);
	uint8_t old_al = al(cpu), v = old_al;
	uint32_t nf = 0;
	if ((v & 0x0f) > 9 || (f & F_AF)) {
		nf |= F_AF | (((unsigned)v + 6 > 0xff || (f & F_CF)) ? F_CF : 0);
		v = (uint8_t)(v + 6);
	}
	if (old_al > 0x99 || (f & F_CF)) {
		v = (uint8_t)(v + 0x60);
		nf |= F_CF;
	} else {
		nf &= ~F_CF;
	}
	reg_write(cpu, R_AX, 1, v);
	flags_set(cpu, F_ARITH, nf | szp_flags(v, 1));
}

void
op_das(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	uint32_t f = flags_arith(cpu);
	uint8_t old_al = al(cpu), v = old_al;
	uint32_t nf = 0;
	if ((v & 0x0f) > 9 || (f & F_AF)) {
		nf |= F_AF | ((v < 6 || (f & F_CF)) ? F_CF : 0);
		v = (uint8_t)(v - 6);
	}
	if (old_al > 0x99 || (f & F_CF)) {
		v = (uint8_t)(v - 0x60);
		nf |= F_CF;
	}
	reg_write(cpu, R_AX, 1, v);
	flags_set(cpu, F_ARITH, nf | szp_flags(v, 1));
}

static void
ascii_adjust(struct cpu *cpu, bool subtract)
{
	uint32_t f = flags_arith(cpu);
	uint16_t ax = (uint16_t)cpu->state.gpr[R_AX];
	uint32_t nf = 0;
	if ((ax & 0x0f) > 9 || (f & F_AF)) {
		if (subtract) {
			ax = (uint16_t)(ax - 6);
			ax = (uint16_t)(ax - 0x100);
		} else {
			ax = (uint16_t)(ax + 0x106);
		}
		nf = F_AF | F_CF;
	}
	ax &= 0xff0f;
	reg_write(cpu, R_AX, 2, ax);
	flags_set(cpu, F_ARITH, nf | szp_flags(ax & 0xff, 1));
}

void
op_aaa(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	ascii_adjust(cpu, false);
}

void
op_aas(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	ascii_adjust(cpu, true);
}

void
op_aam(struct cpu *cpu, const struct insn *i)
{
	uint8_t base = (uint8_t)i->imm, v = al(cpu);
	if (base == 0)
		cpu_fault(cpu, EXC_DE, NO_ERRCODE);
	uint8_t q = v / base, r = v % base;
	reg_write(cpu, R_AX, 2, (uint16_t)(q << 8 | r));
	flags_set(cpu, F_ARITH, szp_flags(r, 1));
}

void
op_aad(struct cpu *cpu, const struct insn *i)
{
	uint8_t base = (uint8_t)i->imm;
	uint8_t ah = (uint8_t)(cpu->state.gpr[R_AX] >> 8), a = al(cpu);
	uint8_t prod = (uint8_t)(ah * base);
	uint8_t v = (uint8_t)(a + prod);
	reg_write(cpu, R_AX, 2, v);
	/* The flags are those of the byte addition AL + AH*imm (undefined OF/AF/CF). */
	lf_set(cpu, LF_ADD, 1, a, prod, v);
}
