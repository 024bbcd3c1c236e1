/*
 * fugu — string instructions: MOVS CMPS STOS LODS SCAS INS OUTS with REP/REPE/
 * REPNE, every operand and address size. The source segment may be overridden;
 * the destination is always ES (SDM vol. 1, 7.3.9). A long REP yields after a
 * bounded number of iterations with RIP still on the instruction, so interrupts
 * and timers are serviced in the middle of it as on hardware.
 */
#include "cpu/exec/exec.h"
#include "cpu/vmx/vmx.h"

static inline uint64_t
idx_get(struct cpu *cpu, unsigned r, unsigned adsize)
{
	return cpu->state.gpr[r] & addr_mask(adsize);
}

/* Advance SI/DI by the element size in the direction DF says, within the address size. */
static inline void
idx_step(struct cpu *cpu, unsigned r, unsigned adsize, unsigned size)
{
	uint64_t m = addr_mask(adsize);
	uint64_t v = cpu->state.gpr[r];
	v = (cpu->state.rflags & F_DF) ? v - size : v + size;
	if (adsize == 4)
		cpu->state.gpr[r] = v & 0xffffffff;
	else
		cpu->state.gpr[r] = (cpu->state.gpr[r] & ~m) | (v & m);
}

static inline void
count_set(struct cpu *cpu, unsigned adsize, uint64_t c)
{
	uint64_t m = addr_mask(adsize);
	if (adsize == 4)
		cpu->state.gpr[R_CX] = c & 0xffffffff;
	else
		cpu->state.gpr[R_CX] = (cpu->state.gpr[R_CX] & ~m) | (c & m);
}

enum str_op { STR_MOVS, STR_CMPS, STR_STOS, STR_LODS, STR_SCAS, STR_INS, STR_OUTS };

/* One element; returns false when a REPE/REPNE condition ends the repetition. */
static inline bool
str_step(struct cpu *cpu, const struct insn *i, enum str_op op)
{
	unsigned size = op >= STR_INS ? insn_io_size(i) : i->opsize, as = i->adsize;
	uint64_t a, b;
	switch (op) {
	case STR_MOVS:
		a = cpu_read(cpu, i->seg, idx_get(cpu, R_SI, as), size);
		cpu_write(cpu, S_ES, idx_get(cpu, R_DI, as), a, size);
		idx_step(cpu, R_SI, as, size);
		idx_step(cpu, R_DI, as, size);
		return true;
	case STR_CMPS:
		a = cpu_read(cpu, i->seg, idx_get(cpu, R_SI, as), size);
		b = cpu_read(cpu, S_ES, idx_get(cpu, R_DI, as), size);
		lf_set(cpu, LF_SUB, size, a, b, (a - b) & size_mask(size));
		idx_step(cpu, R_SI, as, size);
		idx_step(cpu, R_DI, as, size);
		break;
	case STR_STOS:
		cpu_write(cpu, S_ES, idx_get(cpu, R_DI, as), reg_read(cpu, R_AX, size), size);
		idx_step(cpu, R_DI, as, size);
		return true;
	case STR_LODS:
		reg_write(cpu, R_AX, size, cpu_read(cpu, i->seg, idx_get(cpu, R_SI, as), size));
		idx_step(cpu, R_SI, as, size);
		return true;
	case STR_SCAS:
		a = reg_read(cpu, R_AX, size);
		b = cpu_read(cpu, S_ES, idx_get(cpu, R_DI, as), size);
		lf_set(cpu, LF_SUB, size, a, b, (a - b) & size_mask(size));
		idx_step(cpu, R_DI, as, size);
		break;
	case STR_INS: {
		uint16_t port = (uint16_t)cpu->state.gpr[R_DX];
		uint64_t di = idx_get(cpu, R_DI, as);
		cpu_probe_write(cpu, S_ES, di, size); /* a fault must not lose the port read */
		cpu_write(cpu, S_ES, di, cpu_io_in(cpu, port, size), size);
		idx_step(cpu, R_DI, as, size);
		return true;
	}
	case STR_OUTS: {
		uint16_t port = (uint16_t)cpu->state.gpr[R_DX];
		a = cpu_read(cpu, i->seg, idx_get(cpu, R_SI, as), size);
		cpu_io_out(cpu, port, (uint32_t)a, size);
		idx_step(cpu, R_SI, as, size);
		return true;
	}
	}
	/* CMPS/SCAS: F3 repeats while equal, F2 while not equal. */
	bool zf = flag_zf(cpu);
	return (i->flags & I_REP) ? zf : !zf;
}

static void
str_run(struct cpu *cpu, const struct insn *i, enum str_op op)
{
	if (!(i->flags & (I_REP | I_REPNE))) {
		str_step(cpu, i, op);
		return;
	}
	unsigned as = i->adsize;
	uint64_t c = cpu->state.gpr[R_CX] & addr_mask(as);
	for (unsigned n = 0; c != 0; n++) {
		if (n == REP_CHUNK || cpu_event_deliverable(cpu)) {
			/* Resume later: the instruction restarts with the registers as they are. */
			cpu->state.rip = cpu->insn_rip;
			cpu->stop_trace = true;
			return;
		}
		bool more = str_step(cpu, i, op);
		count_set(cpu, as, --c);
		if (!more)
			break;
	}
}

void
op_movs(struct cpu *cpu, const struct insn *i)
{
	str_run(cpu, i, STR_MOVS);
}
void
op_cmps(struct cpu *cpu, const struct insn *i)
{
	str_run(cpu, i, STR_CMPS);
}
void
op_stos(struct cpu *cpu, const struct insn *i)
{
	str_run(cpu, i, STR_STOS);
}
void
op_lods(struct cpu *cpu, const struct insn *i)
{
	str_run(cpu, i, STR_LODS);
}
void
op_scas(struct cpu *cpu, const struct insn *i)
{
	str_run(cpu, i, STR_SCAS);
}
void
op_ins(struct cpu *cpu, const struct insn *i)
{
	if (__builtin_expect(cpu->vmx_nonroot, 0)) { /* after the permission check (26.1.1) */
		cpu_io_check(cpu, (uint16_t)cpu->state.gpr[R_DX], insn_io_size(i));
		vmx_intercept(cpu, i);
	}
	str_run(cpu, i, STR_INS);
}
void
op_outs(struct cpu *cpu, const struct insn *i)
{
	if (__builtin_expect(cpu->vmx_nonroot, 0)) {
		cpu_io_check(cpu, (uint16_t)cpu->state.gpr[R_DX], insn_io_size(i));
		vmx_intercept(cpu, i);
	}
	str_run(cpu, i, STR_OUTS);
}
