/*
 * fugu — IN and OUT, and the I/O permission check every port access passes
 * (SDM vol. 1, 19.5: CPL <= IOPL, else the TSS I/O permission bitmap).
 */
#include "mmu/ioport.h"
#include "cpu/exec/exec.h"
#include "cpu/jit/jit.h"

void
cpu_io_check(struct cpu *cpu, uint16_t port, unsigned size)
{
	if (cpu_real_mode(cpu))
		return;
	if (!cpu_v86(cpu) && cpu->state.cpl <= ((cpu->state.rflags & F_IOPL) >> 12))
		return;
	/* The I/O permission bitmap of a 32/64-bit TSS (SDM vol. 1, 19.5.2). */
	unsigned type = cpu->state.tr.attr & 0xf;
	if (type != 9 && type != 11)
		cpu_gp0(cpu);
	if (cpu->state.tr.limit < 0x67)
		cpu_gp0(cpu);
	uint16_t base = (uint16_t)cpu_read_linear(cpu, cpu->state.tr.base + 0x66, 2, true);
	uint32_t off = base + port / 8u;
	if (off + 1 > cpu->state.tr.limit)
		cpu_gp0(cpu);
	uint16_t bits = (uint16_t)cpu_read_linear(cpu, cpu->state.tr.base + off, 2, true);
	if ((bits >> (port & 7)) & ((1u << size) - 1))
		cpu_gp0(cpu);
}

uint32_t
cpu_io_in(struct cpu *cpu, uint16_t port, unsigned size)
{
	cpu_io_check(cpu, port, size);
	if (__builtin_expect((cpu->state.dr[7] & 0xff) != 0, 0))
		cpu_debug_io(cpu, port, size); /* I/O breakpoints (CR4.DE) */
	if (__builtin_expect(cpu->jcheck != NULL, 0))
		jit_check_io(cpu); /* -jit check: a device access cannot run twice */
	return ioport_read(cpu->io, port, size);
}

void
cpu_io_out(struct cpu *cpu, uint16_t port, uint32_t v, unsigned size)
{
	cpu_io_check(cpu, port, size);
	if (__builtin_expect((cpu->state.dr[7] & 0xff) != 0, 0))
		cpu_debug_io(cpu, port, size); /* I/O breakpoints (CR4.DE) */
	if (__builtin_expect(cpu->jcheck != NULL, 0))
		jit_check_io(cpu);
	ioport_write(cpu->io, port, v, size);
}

/* The VM-exit check comes after the I/O permission check (vol. 3C, 26.1.1). */
static inline void
io_door(struct cpu *cpu, const struct insn *i, uint16_t port, unsigned size)
{
	if (__builtin_expect(cpu->vmx_nonroot, 0)) {
		cpu_io_check(cpu, port, size);
		vmx_intercept(cpu, i);
	}
}

void
op_in_imm(struct cpu *cpu, const struct insn *i)
{
	unsigned size = insn_io_size(i);
	io_door(cpu, i, (uint16_t)i->imm, size);
	reg_write(cpu, R_AX, size, cpu_io_in(cpu, (uint16_t)i->imm, size));
}

void
op_in_dx(struct cpu *cpu, const struct insn *i)
{
	unsigned size = insn_io_size(i);
	io_door(cpu, i, (uint16_t)cpu->state.gpr[R_DX], size);
	reg_write(cpu, R_AX, size, cpu_io_in(cpu, (uint16_t)cpu->state.gpr[R_DX], size));
}

void
op_out_imm(struct cpu *cpu, const struct insn *i)
{
	unsigned size = insn_io_size(i);
	io_door(cpu, i, (uint16_t)i->imm, size);
	cpu_io_out(cpu, (uint16_t)i->imm, (uint32_t)reg_read(cpu, R_AX, size), size);
	cpu->stop_trace = true; /* a device may have raised an event */
}

void
op_out_dx(struct cpu *cpu, const struct insn *i)
{
	unsigned size = insn_io_size(i);
	io_door(cpu, i, (uint16_t)cpu->state.gpr[R_DX], size);
	cpu_io_out(cpu, (uint16_t)cpu->state.gpr[R_DX], (uint32_t)reg_read(cpu, R_AX, size), size);
	cpu->stop_trace = true;
}
