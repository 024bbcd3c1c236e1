/*
 * fugu — stack instructions: PUSH/POP in every form, PUSHA/POPA, PUSHF/POPF,
 * ENTER/LEAVE.
 */
#include "cpu/exec/exec.h"

void
op_push_r(struct cpu *cpu, const struct insn *i)
{
	/* PUSH SP pushes the value before the decrement (286 and later). */
	cpu_push(cpu, reg_read(cpu, (i->opcode & 7) | (i->rm & 8), i->opsize), i->opsize);
}

void
op_pop_r(struct cpu *cpu, const struct insn *i)
{
	uint64_t v = cpu_pop(cpu, i->opsize);
	reg_write(cpu, (i->opcode & 7) | (i->rm & 8), i->opsize, v);
}

void
op_push_imm(struct cpu *cpu, const struct insn *i)
{
	cpu_push(cpu, i->imm, i->opsize);
}

void
op_push_rm(struct cpu *cpu, const struct insn *i)
{
	cpu_push(cpu, rm_read(cpu, i, i->opsize), i->opsize);
}

/* POP r/m: an ESP-based address is computed after the increment (SDM vol. 2B, POP),
 * and a fault on the store leaves ESP unchanged. */
void
op_pop_rm(struct cpu *cpu, const struct insn *i)
{
	uint64_t v = cpu_stack_peek(cpu, 0, i->opsize);
	if (!(i->flags & I_MEM)) {
		cpu_stack_adjust(cpu, i->opsize);
		reg_write(cpu, i->rm, i->opsize, v);
		return;
	}
	uint64_t old_sp = cpu->state.gpr[R_SP];
	cpu_stack_adjust(cpu, i->opsize);
	uint64_t ea = insn_ea(cpu, i);
	uint64_t new_sp = cpu->state.gpr[R_SP];
	cpu->state.gpr[R_SP] = old_sp;
	cpu_probe_write(cpu, i->seg, ea, i->opsize);
	cpu_write(cpu, i->seg, ea, v, i->opsize);
	cpu->state.gpr[R_SP] = new_sp;
}

/* The segment register of PUSH/POP sreg: 06/07 ES, 0E CS, 16/17 SS, 1E/1F DS, 0F A0/A1 FS,
 * 0F A8/A9 GS. */
static unsigned
stack_sreg(const struct insn *i)
{
	return (i->opcode >> 3) & 7;
}

/* A 32/64-bit push of a segment register writes only the low 16 bits (SDM vol. 2B, PUSH). */
void
op_push_sreg(struct cpu *cpu, const struct insn *i)
{
	uint16_t sel = cpu->state.seg[stack_sreg(i)].sel;
	uint64_t sp = (cpu->state.gpr[R_SP] - i->opsize) & stack_mask(cpu);
	cpu_write(cpu, S_SS, sp, sel, 2);
	cpu_stack_adjust(cpu, -(int64_t)i->opsize);
}

void
op_pop_sreg(struct cpu *cpu, const struct insn *i)
{
	unsigned s = stack_sreg(i);
	uint16_t sel = (uint16_t)cpu_stack_peek(cpu, 0, 2);
	/* The pop is done with the stack as it was: ESP is incremented by the old
	 * SS's address size, even when POP SS loads one of another size (SDM vol.
	 * 2B, POP, Operation: the selector is read at the old SS:eSP, then eSP is
	 * incremented per the "StackAddrSize" of the instruction's start). */
	uint64_t m = stack_mask(cpu), sp = cpu->state.gpr[R_SP];
	seg_load(cpu, s, sel);
	cpu->state.gpr[R_SP] = (sp & ~m) | ((sp + i->opsize) & m);
	if (s == S_SS)
		cpu->state.intr_shadow =
			2; /* SDM vol. 2B, POP: interrupts and #DB traps inhibited */
}

void
op_pusha(struct cpu *cpu, const struct insn *i)
{
	unsigned size = i->opsize;
	uint64_t sp0 = cpu->state.gpr[R_SP];
	static const uint8_t order[8] = { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI };
	uint64_t m = stack_mask(cpu);
	/* Real mode: an odd SP of 7-15 makes the frame wrap through offset FFFF; the
	 * SDM (vol. 2B, PUSHA, real-address mode exceptions) gives #GP for it. */
	if (cpu_real_mode(cpu) && size == 2 && (sp0 & m) >= 7 && (sp0 & m) <= 15 && (sp0 & 1))
		cpu_gp0(cpu);
	/* Check every store before the first one, so a fault leaves memory untouched. */
	for (unsigned k = 0; k < 8; k++)
		cpu_probe_write(cpu, S_SS, (sp0 - size * (k + 1)) & m, size);
	for (unsigned k = 0; k < 8; k++) {
		uint64_t v = order[k] == R_SP ? sp0 : cpu->state.gpr[order[k]];
		cpu_write(cpu, S_SS, (sp0 - size * (k + 1)) & m, v, size);
	}
	cpu_stack_adjust(cpu, -8 * (int64_t)size);
}

void
op_popa(struct cpu *cpu, const struct insn *i)
{
	unsigned size = i->opsize;
	static const uint8_t order[8] = { R_DI, R_SI, R_BP, R_SP, R_BX, R_DX, R_CX, R_AX };
	uint64_t v[8];
	for (unsigned k = 0; k < 8; k++)
		v[k] = cpu_stack_peek(cpu, size * k, size);
	for (unsigned k = 0; k < 8; k++)
		if (order[k] != R_SP)
			reg_write(cpu, order[k], size, v[k]);
	cpu_stack_adjust(cpu, 8 * (int64_t)size);
}

/* PUSHF: in V86 mode with IOPL < 3 the VME form or #GP (vme.c); the image has VM
 * and RF clear (SDM vol. 2B). */
void
op_pushf(struct cpu *cpu, const struct insn *i)
{
	if (cpu_vme_pushf(cpu, i->opsize))
		return;
	uint64_t f = rflags_read(cpu) & ~(uint64_t)(F_VM | F_RF);
	cpu_push(cpu, f, i->opsize);
}

void
op_popf(struct cpu *cpu, const struct insn *i)
{
	if (cpu_vme_popf(cpu, i->opsize))
		return; /* V86 mode with IOPL < 3: the VME form or #GP (vme.c) */
	uint64_t v = cpu_stack_peek(cpu, 0, i->opsize);
	cpu_stack_adjust(cpu, i->opsize);
	rflags_write_checked(cpu, v, i->opsize);
}

/* ENTER imm16, imm8 (SDM vol. 2A, ENTER): nesting level taken mod 32. */
void
op_enter(struct cpu *cpu, const struct insn *i)
{
	unsigned size = i->opsize, level = i->imm2 & 31;
	uint64_t m = stack_mask(cpu);
	uint64_t sp = cpu->state.gpr[R_SP] & m;
	uint64_t bp = cpu->state.gpr[R_BP];
	/* FrameTemp, which eBP receives at the operand size (SDM vol. 2A, ENTER):
	 * the whole eSP minus the pushed size, not the stack-sized pointer. An o32
	 * ENTER on a 16-bit stack with ESP = 0x20000 sets EBP to 0x1fffc while SP
	 * wraps to 0xfffc (ESP = 0x2fffc): the pseudocode's "FrameTemp <- SP" for a
	 * 16-bit stack is what processors do with SP, not with EBP's upper half. */
	uint64_t frame = cpu->state.gpr[R_SP] - size;
	/* Compute every store first, then commit registers, so a fault changes nothing. */
	sp = (sp - size) & m;
	cpu_write(cpu, S_SS, sp, reg_read(cpu, R_BP, size), size);
	if (level > 0) {
		for (unsigned k = 1; k < level; k++) {
			bp = (bp & ~m) | ((bp - size) & m);
			uint64_t v = cpu_read(cpu, S_SS, bp & m, size);
			sp = (sp - size) & m;
			cpu_write(cpu, S_SS, sp, v, size);
		}
		sp = (sp - size) & m;
		cpu_write(cpu, S_SS, sp, frame, size);
	}
	sp = (sp - i->imm) & m;
	if (cpu->code_size != 8 && !cpu_real_mode(cpu))
		cpu_probe_write(cpu, S_SS, sp, 1);
	reg_write(cpu, R_BP, size, frame);
	cpu->state.gpr[R_SP] = (cpu->state.gpr[R_SP] & ~m) | sp;
}

void
op_leave(struct cpu *cpu, const struct insn *i)
{
	uint64_t m = stack_mask(cpu);
	uint64_t sp = cpu->state.gpr[R_BP] & m;
	uint64_t v = cpu_read(cpu, S_SS, sp, i->opsize);
	cpu->state.gpr[R_SP] = (cpu->state.gpr[R_SP] & ~m) | ((sp + i->opsize) & m);
	reg_write(cpu, R_BP, i->opsize, v);
}
