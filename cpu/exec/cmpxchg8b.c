/*
 * fugu — CMPXCHG8B and CMPXCHG16B (0F C7 /1; SDM vol. 2A, CMPXCHG8B/CMPXCHG16B).
 * The emulated CPU is the only one, so LOCK needs nothing more than doing the
 * read, compare and write inside one instruction.
 */
#include "cpu/exec/exec.h"

/*
 * Compare EDX:EAX (RDX:RAX with REX.W) with the memory operand: equal, store
 * ECX:EBX (RCX:RBX) and set ZF; else load the operand into EDX:EAX and clear
 * ZF. The destination is written either way (with its own value on a
 * mismatch), so the write is checked first. CMPXCHG16B needs the cx16 feature
 * (#UD) and a 16-byte aligned operand (#GP(0)).
 */
void
op_cmpxchg8b(struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = insn_ea(cpu, i);
	uint64_t am = addr_mask(i->adsize);
	if (i->opsize == 8) {
		if (!cpu_has(&cpu->features, FEAT_CX16))
			cpu_ud(cpu);
		if (cpu->code_size == 8
			    ? ((ea + (i->seg >= S_FS ? cpu->state.seg[i->seg].base : 0)) & 15)
			    : ((cpu->state.seg[i->seg].base + ea) & 15))
			cpu_gp0(cpu);
		cpu_probe_write(cpu, i->seg, ea, 8);
		cpu_probe_write(cpu, i->seg, (ea + 8) & am, 8);
		uint64_t lo = cpu_read(cpu, i->seg, ea, 8);
		uint64_t hi = cpu_read(cpu, i->seg, (ea + 8) & am, 8);
		bool eq = lo == cpu->state.gpr[R_AX] && hi == cpu->state.gpr[R_DX];
		uint64_t nlo = eq ? cpu->state.gpr[R_BX] : lo, nhi = eq ? cpu->state.gpr[R_CX] : hi;
		cpu_write(cpu, i->seg, ea, nlo, 8);
		cpu_write(cpu, i->seg, (ea + 8) & am, nhi, 8);
		if (!eq) {
			cpu->state.gpr[R_AX] = lo;
			cpu->state.gpr[R_DX] = hi;
		}
		flags_set(cpu, F_ZF, eq ? F_ZF : 0);
		return;
	}
	cpu_probe_write(cpu, i->seg, ea, 8);
	uint64_t v = cpu_read(cpu, i->seg, ea, 8);
	uint64_t cmp = (reg_read(cpu, R_DX, 4) << 32) | reg_read(cpu, R_AX, 4);
	bool eq = v == cmp;
	cpu_write(cpu, i->seg, ea, eq ? (reg_read(cpu, R_CX, 4) << 32) | reg_read(cpu, R_BX, 4) : v,
		  8);
	if (!eq) {
		reg_write(cpu, R_AX, 4, v & 0xffffffff);
		reg_write(cpu, R_DX, 4, v >> 32);
	}
	flags_set(cpu, F_ZF, eq ? F_ZF : 0);
}
