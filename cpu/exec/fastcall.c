/*
 * fugu — fast system calls: SYSCALL/SYSRET (64-bit mode; Intel raises #UD for
 * them elsewhere) and SYSENTER/SYSEXIT (SDM vol. 2B). These load flat CS/SS
 * descriptor caches from MSRs without reading the GDT, exactly as the SDM's
 * operation sections list them.
 */
#include "cpu/exec/exec.h"
#include "cpu/msr.h"

/* Flat 4 GiB segments: attr = type | S | DPL | P | L | DB | G (cpu.h packing). */
#define ATTR_CODE64 0xa9b
#define ATTR_CODE32 0xc9b
#define ATTR_DATA32 0xc93
#define ATTR_DPL3 0x060

static void
load_flat(struct cpu *cpu, unsigned s, uint16_t sel, uint16_t attr)
{
	cpu->state.seg[s] =
		(struct segment){ .sel = sel, .base = 0, .limit = 0xffffffff, .attr = attr };
}

void
op_syscall(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	if (cpu->code_size != 8 || !(cpu->state.efer & EFER_SCE))
		cpu_ud(cpu);
	uint64_t fl = rflags_read(cpu);
	cpu->state.gpr[R_CX] = cpu->state.rip;
	cpu->state.gpr[R_R11] = fl & ~(uint64_t)F_RF;
	uint16_t sel = (uint16_t)(cpu->state.msr.star >> 32);
	load_flat(cpu, S_CS, sel & 0xfffc, ATTR_CODE64);
	load_flat(cpu, S_SS, (uint16_t)(sel + 8), ATTR_DATA32);
	cpu->state.cpl = 0;
	cpu->state.rflags = (fl & ~cpu->state.msr.fmask & ~(uint64_t)F_RF) | F_FIXED1;
	cpu->state.rip = cpu->state.msr.lstar;
	cpu_mode_update(cpu);
}

void
op_sysret(struct cpu *cpu, const struct insn *i)
{
	if (cpu->code_size != 8 || !(cpu->state.efer & EFER_SCE))
		cpu_ud(cpu);
	if (cpu->state.cpl != 0)
		cpu_gp0(cpu);
	uint16_t sel = (uint16_t)(cpu->state.msr.star >> 48);
	if (i->opsize == 8) {
		/* Intel checks RCX before anything changes (SDM vol. 2B, SYSRET). */
		if (!is_canonical(cpu->state.gpr[R_CX]))
			cpu_gp0(cpu);
		load_flat(cpu, S_CS, (uint16_t)((sel + 16) | 3), ATTR_CODE64 | ATTR_DPL3);
		cpu->state.rip = cpu->state.gpr[R_CX];
	} else {
		load_flat(cpu, S_CS, sel | 3, ATTR_CODE32 | ATTR_DPL3);
		cpu->state.rip = cpu->state.gpr[R_CX] & 0xffffffff;
	}
	/* SS keeps its descriptor cache except selector and DPL (SDM vol. 2B, SYSRET). */
	cpu->state.seg[S_SS].sel = (uint16_t)((sel + 8) | 3);
	cpu->state.seg[S_SS].attr =
		(uint16_t)((cpu->state.seg[S_SS].attr & ~SEG_ATTR_DPL) | ATTR_DPL3);
	cpu->lf.mask = 0;
	cpu->state.rflags = (cpu->state.gpr[R_R11] & 0x3c7fd7) | F_FIXED1;
	cpu->state.cpl = 3;
	cpu_mode_update(cpu);
}

void
op_sysenter(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	uint16_t cs = (uint16_t)cpu->state.msr.sysenter_cs;
	if (cpu_real_mode(cpu) || (cs & 0xfffc) == 0)
		cpu_gp0(cpu);
	flags_materialize(cpu);
	cpu->state.rflags &= ~(uint64_t)(F_VM | F_IF | F_RF);
	if (cpu->long_mode) {
		load_flat(cpu, S_CS, cs & 0xfffc, ATTR_CODE64);
		cpu->state.gpr[R_SP] = cpu->state.msr.sysenter_esp;
		cpu->state.rip = cpu->state.msr.sysenter_eip;
	} else {
		load_flat(cpu, S_CS, cs & 0xfffc, ATTR_CODE32);
		cpu->state.gpr[R_SP] = cpu->state.msr.sysenter_esp & 0xffffffff;
		cpu->state.rip = cpu->state.msr.sysenter_eip & 0xffffffff;
	}
	load_flat(cpu, S_SS, (uint16_t)((cs & 0xfffc) + 8), ATTR_DATA32);
	cpu->state.cpl = 0;
	cpu_mode_update(cpu);
}

void
op_sysexit(struct cpu *cpu, const struct insn *i)
{
	uint16_t cs = (uint16_t)cpu->state.msr.sysenter_cs;
	if (cpu_real_mode(cpu) || cpu_v86(cpu) || (cs & 0xfffc) == 0 || cpu->state.cpl != 0)
		cpu_gp0(cpu);
	if (i->opsize == 8) {
		if (!is_canonical(cpu->state.gpr[R_DX]) || !is_canonical(cpu->state.gpr[R_CX]))
			cpu_gp0(cpu);
		load_flat(cpu, S_CS, (uint16_t)((cs + 32) | 3), ATTR_CODE64 | ATTR_DPL3);
		load_flat(cpu, S_SS, (uint16_t)((cs + 40) | 3), ATTR_DATA32 | ATTR_DPL3);
		cpu->state.rip = cpu->state.gpr[R_DX];
		cpu->state.gpr[R_SP] = cpu->state.gpr[R_CX];
	} else {
		load_flat(cpu, S_CS, (uint16_t)((cs + 16) | 3), ATTR_CODE32 | ATTR_DPL3);
		load_flat(cpu, S_SS, (uint16_t)((cs + 24) | 3), ATTR_DATA32 | ATTR_DPL3);
		cpu->state.rip = cpu->state.gpr[R_DX] & 0xffffffff;
		cpu->state.gpr[R_SP] = cpu->state.gpr[R_CX] & 0xffffffff;
	}
	cpu->state.cpl = 3;
	cpu_mode_update(cpu);
}
