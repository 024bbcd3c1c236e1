/*
 * fugu — control transfers: Jcc, JMP, CALL, RET (near and far), LOOP/JCXZ,
 * INT n/INT3/INTO/INT1, IRET, BOUND. On entry cpu->state.rip already points at the
 * next instruction, so relative targets are rip + displacement.
 */
#include "cpu/vmx/vmx.h"
#include "cpu/exec/exec.h"

void
op_jmp_rel(struct cpu *cpu, const struct insn *i)
{
	cpu->state.rip = near_target(cpu, cpu->state.rip + i->imm, i->opsize);
}

void
op_call_rel(struct cpu *cpu, const struct insn *i)
{
	uint64_t t = near_target(cpu, cpu->state.rip + i->imm, i->opsize);
	cpu_push(cpu, cpu->state.rip, i->opsize);
	cpu->state.rip = t;
}

void
op_jmp_rm(struct cpu *cpu, const struct insn *i)
{
	cpu->state.rip = near_target(cpu, rm_read(cpu, i, i->opsize), i->opsize);
}

void
op_call_rm(struct cpu *cpu, const struct insn *i)
{
	uint64_t t = near_target(cpu, rm_read(cpu, i, i->opsize), i->opsize);
	cpu_push(cpu, cpu->state.rip, i->opsize);
	cpu->state.rip = t;
}

void
op_ret(struct cpu *cpu, const struct insn *i)
{
	uint64_t t = near_target(cpu, cpu_stack_peek(cpu, 0, i->opsize), i->opsize);
	cpu_stack_adjust(cpu, i->opsize);
	cpu->state.rip = t;
}

void
op_ret_imm(struct cpu *cpu, const struct insn *i)
{
	uint64_t t = near_target(cpu, cpu_stack_peek(cpu, 0, i->opsize), i->opsize);
	cpu_stack_adjust(cpu, i->opsize + (int64_t)i->imm);
	cpu->state.rip = t;
}

/* E0 LOOPNE, E1 LOOPE, E2 LOOP: the count register follows the address size. */
void
op_loop(struct cpu *cpu, const struct insn *i)
{
	uint64_t m = addr_mask(i->adsize);
	uint64_t c = (cpu->state.gpr[R_CX] - 1) & m;
	cpu->state.gpr[R_CX] = (cpu->state.gpr[R_CX] & ~m) | c;
	if (i->adsize == 4)
		cpu->state.gpr[R_CX] &= 0xffffffff;
	bool taken = c != 0;
	if ((i->opcode & 3) == 0)
		taken = taken && !flag_zf(cpu);
	else if ((i->opcode & 3) == 1)
		taken = taken && flag_zf(cpu);
	if (taken)
		branch_taken(cpu, i);
}

void
op_jcxz(struct cpu *cpu, const struct insn *i)
{
	if ((cpu->state.gpr[R_CX] & addr_mask(i->adsize)) == 0)
		branch_taken(cpu, i);
}

/* ---- far transfers ---- */

void
op_jmpf_imm(struct cpu *cpu, const struct insn *i)
{
	cpu_far_jump(cpu, i->imm2, i->imm, i->opsize);
}

void
op_jmpf_m(struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = insn_ea(cpu, i);
	uint64_t off = cpu_read(cpu, i->seg, ea, i->opsize);
	uint16_t sel = (uint16_t)cpu_read(cpu, i->seg, (ea + i->opsize) & addr_mask(i->adsize), 2);
	cpu_far_jump(cpu, sel, off, i->opsize);
}

static void
far_call(struct cpu *cpu, uint16_t sel, uint64_t off, unsigned opsize)
{
	if (cpu_real_mode(cpu) || cpu_v86(cpu)) {
		uint64_t m = stack_mask(cpu);
		uint64_t sp = cpu->state.gpr[R_SP];
		if (opsize == 2)
			off &= 0xffff;
		if (off > cpu->state.seg[S_CS].limit)
			cpu_gp0(cpu);
		/* Both stores are checked before the first one and before anything changes. */
		cpu_probe_write(cpu, S_SS, (sp - 2 * opsize) & m, opsize);
		cpu_write(cpu, S_SS, (sp - opsize) & m, cpu->state.seg[S_CS].sel, opsize);
		cpu_write(cpu, S_SS, (sp - 2 * opsize) & m, cpu->state.rip, opsize);
		cpu_stack_adjust(cpu, -2 * (int64_t)opsize);
		seg_load_real(cpu, S_CS, sel);
		cpu->state.rip = off;
		return;
	}
	cpu_far_call_protected(cpu, sel, off, opsize);
}

void
op_callf_imm(struct cpu *cpu, const struct insn *i)
{
	far_call(cpu, i->imm2, i->imm, i->opsize);
}

void
op_callf_m(struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = insn_ea(cpu, i);
	uint64_t off = cpu_read(cpu, i->seg, ea, i->opsize);
	uint16_t sel = (uint16_t)cpu_read(cpu, i->seg, (ea + i->opsize) & addr_mask(i->adsize), 2);
	far_call(cpu, sel, off, i->opsize);
}

static void
far_return(struct cpu *cpu, unsigned opsize, uint64_t imm)
{
	if (cpu_real_mode(cpu) || cpu_v86(cpu)) {
		uint64_t off = cpu_stack_peek(cpu, 0, opsize);
		uint16_t sel = (uint16_t)cpu_stack_peek(cpu, opsize, 2);
		if (opsize == 2)
			off &= 0xffff;
		if (off > 0xffff && !cpu_real_mode(cpu))
			cpu_gp0(cpu);
		cpu_stack_adjust(cpu, 2 * (int64_t)opsize + (int64_t)imm);
		seg_load_real(cpu, S_CS, sel);
		if (off > cpu->state.seg[S_CS].limit)
			cpu_gp0(cpu);
		cpu->state.rip = off;
		return;
	}
	cpu_far_return_protected(cpu, opsize, imm);
}

void
op_retf(struct cpu *cpu, const struct insn *i)
{
	far_return(cpu, i->opsize, 0);
}

void
op_retf_imm(struct cpu *cpu, const struct insn *i)
{
	far_return(cpu, i->opsize, i->imm);
}

/* ---- software interrupts ---- */

/*
 * A software interrupt through the IVT/IDT (the gate's DPL is checked against
 * CPL). In V86 mode only INT n (CD) is IOPL-sensitive: #GP(0) below IOPL 3;
 * INT3 and INTO always go through the IDT (SDM vol. 2A, INT n, Operation;
 * vol. 3A, 20.3.3). With CR4.VME, INT n first consults the TSS's interrupt
 * redirection bitmap (vme.c).
 */
static void
soft_int(struct cpu *cpu, unsigned vector, bool int_n)
{
	if (int_n && cpu_vme_int(cpu, vector))
		return;
	if (int_n && cpu_v86(cpu) && (cpu->state.rflags & F_IOPL) != F_IOPL)
		cpu_gp0(cpu);
	cpu_deliver_event(cpu, vector, EVENT_SOFTWARE_INT, NO_ERRCODE, cpu->state.rip);
}

void
op_int3(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	if (__builtin_expect(cpu->vmx_nonroot, 0)) {
		vmx_exception(cpu, EXC_BP, NO_ERRCODE,
			      6); /* a software exception (vol. 3C, 25.2) */
		vmx_soft_exception(cpu, 6);
	}
	soft_int(cpu, EXC_BP, false);
}

void
op_int_imm(struct cpu *cpu, const struct insn *i)
{
	soft_int(cpu, (unsigned)i->imm, true);
}

void
op_into(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	if (flags_arith(cpu) & F_OF) {
		if (__builtin_expect(cpu->vmx_nonroot, 0)) {
			vmx_exception(cpu, EXC_OF, NO_ERRCODE, 6);
			vmx_soft_exception(cpu, 6);
		}
		soft_int(cpu, EXC_OF, false);
	}
}

/* INT1 (F1, ICEBP): a #DB trap that pushes the next instruction. */
void
op_int1(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	if (__builtin_expect(cpu->vmx_nonroot, 0))
		vmx_soft_exception(cpu, 5); /* privileged software exception (24.8.3) */
	cpu_deliver_event(cpu, EXC_DB, EVENT_EXCEPTION, NO_ERRCODE, cpu->state.rip);
}

static void iret_any_mode(struct cpu *cpu, const struct insn *i);

/* IRET; a completed IRET also ends NMI blocking (SDM vol. 3A, 6.7.1), in VMX
 * non-root operation as the NMI controls say (vol. 3C, 25.3). */
void
op_iret(struct cpu *cpu, const struct insn *i)
{
	if (__builtin_expect(cpu->vmx_nonroot, 0)) {
		vmx_iret(cpu, true); /* a fault exiting now reports the unblocking */
		iret_any_mode(cpu, i);
		vmx_iret(cpu, false);
		return;
	}
	iret_any_mode(cpu, i);
	cpu->state.nmi_blocked = false;
}

static void
iret_any_mode(struct cpu *cpu, const struct insn *i)
{
	unsigned size = i->opsize;
	if (cpu_real_mode(cpu)) {
		uint64_t off = cpu_stack_peek(cpu, 0, size);
		uint16_t sel = (uint16_t)cpu_stack_peek(cpu, size, 2);
		uint64_t fl = cpu_stack_peek(cpu, 2 * size, size);
		if (size == 2)
			off &= 0xffff;
		if (off > cpu->state.seg[S_CS].limit)
			cpu_gp0(cpu);
		cpu_stack_adjust(cpu, 3 * (int64_t)size);
		seg_load_real(cpu, S_CS, sel);
		cpu->state.rip = off;
		rflags_write_checked(cpu, fl, size);
		return;
	}
	cpu_iret_protected(cpu, size);
}

/* BOUND r, m16&16 / m32&32: #BR (a fault) when the index is outside [lower, upper]. */
void
op_bound(struct cpu *cpu, const struct insn *i)
{
	unsigned size = i->opsize;
	uint64_t ea = insn_ea(cpu, i);
	int64_t lo, hi, idx;
	uint64_t l = cpu_read(cpu, i->seg, ea, size);
	uint64_t h = cpu_read(cpu, i->seg, (ea + size) & addr_mask(i->adsize), size);
	uint64_t x = reg_read(cpu, i->reg, size);
	if (size == 2) {
		lo = (int16_t)l;
		hi = (int16_t)h;
		idx = (int16_t)x;
	} else {
		lo = (int32_t)l;
		hi = (int32_t)h;
		idx = (int32_t)x;
	}
	if (idx < lo || idx > hi)
		cpu_fault(cpu, EXC_BR, NO_ERRCODE);
}
