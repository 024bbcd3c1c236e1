/*
 * fugu — data movement, conversions and flag instructions.
 */
#include "cpu/exec/exec.h"

void
op_ud(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	cpu_ud(cpu);
}

void
op_nop(struct cpu *cpu, const struct insn *i)
{
	(void)cpu;
	(void)i;
}

void
op_mov_rm_r(struct cpu *cpu, const struct insn *i)
{
	rm_write(cpu, i, i->opsize, opreg_read(cpu, i, i->reg, i->opsize));
}

void
op_mov_r_rm(struct cpu *cpu, const struct insn *i)
{
	opreg_write(cpu, i, i->reg, i->opsize, rm_read(cpu, i, i->opsize));
}

void
op_mov_r_imm(struct cpu *cpu, const struct insn *i)
{
	opreg_write(cpu, i, (i->opcode & 7) | ((i->rm & 8)), i->opsize, i->imm);
}

void
op_mov_rm_imm(struct cpu *cpu, const struct insn *i)
{
	rm_write(cpu, i, i->opsize, i->imm);
}

void
op_mov_acc_moffs(struct cpu *cpu, const struct insn *i)
{
	opreg_write(cpu, i, R_AX, i->opsize, cpu_read(cpu, i->seg, i->imm, i->opsize));
}

void
op_mov_moffs_acc(struct cpu *cpu, const struct insn *i)
{
	cpu_write(cpu, i->seg, i->imm, opreg_read(cpu, i, R_AX, i->opsize), i->opsize);
}

void
op_lea(struct cpu *cpu, const struct insn *i)
{
	reg_write(cpu, i->reg, i->opsize, insn_ea(cpu, i));
}

void
op_xchg_rm_r(struct cpu *cpu, const struct insn *i)
{
	uint64_t a = rm_read(cpu, i, i->opsize);
	uint64_t b = opreg_read(cpu, i, i->reg, i->opsize);
	rm_write(cpu, i, i->opsize, b);
	opreg_write(cpu, i, i->reg, i->opsize, a);
}

/* 90-97: XCHG rAX, r. 90 without REX.B is NOP (and F3 90 is PAUSE): it must not
 * zero-extend EAX in 64-bit mode. */
void
op_xchg_acc_r(struct cpu *cpu, const struct insn *i)
{
	unsigned r = (i->opcode & 7) | (i->rm & 8);
	if (r == R_AX)
		return;
	uint64_t a = reg_read(cpu, R_AX, i->opsize), b = reg_read(cpu, r, i->opsize);
	reg_write(cpu, R_AX, i->opsize, b);
	reg_write(cpu, r, i->opsize, a);
}

void
op_cbw(struct cpu *cpu, const struct insn *i)
{
	switch (i->opsize) {
	case 2: reg_write(cpu, R_AX, 2, (uint64_t)(int64_t)(int8_t)cpu->state.gpr[R_AX]); break;
	case 4: reg_write(cpu, R_AX, 4, (uint64_t)(int64_t)(int16_t)cpu->state.gpr[R_AX]); break;
	default: cpu->state.gpr[R_AX] = (uint64_t)(int64_t)(int32_t)cpu->state.gpr[R_AX]; break;
	}
}

void
op_cwd(struct cpu *cpu, const struct insn *i)
{
	uint64_t sign = reg_read(cpu, R_AX, i->opsize) & size_sign(i->opsize);
	reg_write(cpu, R_DX, i->opsize, sign ? ~0ull : 0);
}

/* SAHF/LAHF: SF ZF AF PF CF <-> AH (SDM vol. 2B). In 64-bit mode they need LAHF-LM. */
void
op_sahf(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	if (cpu->code_size == 8 && !cpu_has(&cpu->features, FEAT_LAHF_LM))
		cpu_ud(cpu);
	uint32_t ah = (cpu->state.gpr[R_AX] >> 8) & 0xff;
	flags_set(cpu, F_SF | F_ZF | F_AF | F_PF | F_CF, ah);
}

void
op_lahf(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	if (cpu->code_size == 8 && !cpu_has(&cpu->features, FEAT_LAHF_LM))
		cpu_ud(cpu);
	uint64_t f = (rflags_read(cpu) & (F_SF | F_ZF | F_AF | F_PF | F_CF)) | F_FIXED1;
	cpu->state.gpr[R_AX] = (cpu->state.gpr[R_AX] & ~0xff00ull) | (f << 8);
}

void
op_clc(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	flags_set(cpu, F_CF, 0);
}

void
op_stc(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	flags_set(cpu, F_CF, F_CF);
}

void
op_cmc(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	flags_set(cpu, F_CF, flag_cf(cpu) ? 0 : F_CF);
}

void
op_cld(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	cpu->state.rflags &= ~(uint64_t)F_DF;
}

void
op_std(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	cpu->state.rflags |= F_DF;
}

/* CLI/STI: IOPL-sensitive outside real mode; VIF instead of IF with VME/PVI (vme.c). */
void
op_cli(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	cpu->state.rflags &= ~cpu_cli_sti_flag(cpu, false);
}

/* STI: interrupts stay blocked until after the next instruction (SDM vol. 2B, STI);
 * setting VIF blocks nothing. */
void
op_sti(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	uint64_t flag = cpu_cli_sti_flag(cpu, true);
	if (flag == F_IF && !(cpu->state.rflags & F_IF))
		cpu->state.intr_shadow = 1;
	cpu->state.rflags |= flag;
}

void
op_xlat(struct cpu *cpu, const struct insn *i)
{
	uint64_t off =
		(cpu->state.gpr[R_BX] + (cpu->state.gpr[R_AX] & 0xff)) & addr_mask(i->adsize);
	reg_write(cpu, R_AX, 1, cpu_read(cpu, i->seg, off, 1));
}

/* SALC (D6, undocumented): AL = CF ? FF : 00. */
void
op_salc(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	reg_write(cpu, R_AX, 1, flag_cf(cpu) ? 0xff : 0);
}

/* MOVZX/MOVSX: 0F B6/BE take r/m8, 0F B7/BF take r/m16. */
void
op_movzx(struct cpu *cpu, const struct insn *i)
{
	unsigned src = (i->opcode & 1) ? 2 : 1;
	reg_write(cpu, i->reg, i->opsize, rm_read(cpu, i, src));
}

void
op_movsx(struct cpu *cpu, const struct insn *i)
{
	unsigned src = (i->opcode & 1) ? 2 : 1;
	uint64_t v = rm_read(cpu, i, src);
	int64_t s = src == 1 ? (int8_t)v : (int16_t)v;
	reg_write(cpu, i->reg, i->opsize, (uint64_t)s);
}

/* MOVSXD (63 in 64-bit mode): sign-extends with REX.W, plain move otherwise. */
void
op_movsxd(struct cpu *cpu, const struct insn *i)
{
	unsigned src = i->opsize == 8 ? 4 : i->opsize;
	uint64_t v = rm_read(cpu, i, src);
	if (i->opsize == 8)
		v = (uint64_t)(int64_t)(int32_t)v;
	reg_write(cpu, i->reg, i->opsize, v);
}

/* CMOVcc: the source is read even when the condition is false, and a 32-bit
 * destination is zero-extended either way (SDM vol. 2A, CMOVcc). */
void
op_cmovcc(struct cpu *cpu, const struct insn *i)
{
	uint64_t v = rm_read(cpu, i, i->opsize);
	if (cond_eval(cpu, i->opcode & 15))
		reg_write(cpu, i->reg, i->opsize, v);
	else if (i->opsize == 4)
		reg_write(cpu, i->reg, 4, reg_read(cpu, i->reg, 4));
}

void
op_setcc(struct cpu *cpu, const struct insn *i)
{
	rm_write(cpu, i, 1, cond_eval(cpu, i->opcode & 15));
}

void
op_bswap(struct cpu *cpu, const struct insn *i)
{
	unsigned r = (i->opcode & 7) | (i->rm & 8);
	if (i->opsize == 8)
		cpu->state.gpr[r] = __builtin_bswap64(cpu->state.gpr[r]);
	else if (i->opsize == 4)
		reg_write(cpu, r, 4, __builtin_bswap32((uint32_t)cpu->state.gpr[r]));
	else
		reg_write(cpu, r, 2, 0); /* undefined with a 16-bit operand; hardware gives 0 */
}

/*
 * F3 0F AE /0-/3 (register forms): RDFSBASE, RDGSBASE, WRFSBASE, WRGSBASE
 * (SDM vol. 2B). 64-bit mode only, and CR4.FSGSBASE must be set (#UD
 * otherwise); a non-canonical new base is #GP(0). 32-bit forms zero-extend.
 */
void
op_fsgsbase(struct cpu *cpu, const struct insn *i)
{
	if (cpu->code_size != 8 || !(cpu->state.cr4 & (1u << 16)))
		cpu_ud(cpu);
	struct segment *s = &cpu->state.seg[(i->reg & 1) ? S_GS : S_FS];
	unsigned size = i->opsize == 8 ? 8 : 4;
	if (!(i->reg & 2)) {
		reg_write(cpu, i->rm, size, s->base);
		return;
	}
	uint64_t v = reg_read(cpu, i->rm, size);
	if (!is_canonical(v))
		cpu_gp0(cpu);
	s->base = v;
}

/*
 * CLFLUSH m8 (SDM vol. 2A): fugu has no caches to flush; the access checks of a
 * byte load still apply (segment limit, page fault), as on hardware.
 */
void
op_clflush(struct cpu *cpu, const struct insn *i)
{
	(void)cpu_read(cpu, i->seg, insn_ea(cpu, i), 1);
}
