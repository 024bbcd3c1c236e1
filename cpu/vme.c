/*
 * fugu — virtual-8086 mode extensions (CR4.VME) and protected-mode virtual
 * interrupts (CR4.PVI), SDM vol. 3A, 20.3-20.4: the virtual interrupt flag VIF
 * that CLI/STI/PUSHF/POPF/IRET use in place of IF when IOPL does not allow
 * IF, VIP, and INT n redirected through the TSS's interrupt redirection bitmap
 * to the virtual-8086 program's own interrupt vector table. A virtual-8086
 * monitor (kvm_intel without unrestricted guest runs real mode this way) runs
 * its guest with VME on.
 */
#include "cpu/cpu_internal.h"
#include "trace/events.h"

/* The 16-bit flags an IOPL < 3 virtual-8086 POPF/IRET writes (VME): not IF, not IOPL. */
#define VME_WRITABLE (F_ARITH | F_TF | F_DF | F_NT)

/*
 * The flag CLI/STI change (SDM vol. 2A, CLI; vol. 2B, STI): IF in real mode
 * and when CPL <= IOPL (IOPL 3 in virtual-8086 mode); VIF when IOPL < 3 in
 * virtual-8086 mode with CR4.VME, or at CPL 3 with IOPL < 3 and CR4.PVI — STI
 * only while VIP is clear; #GP(0) otherwise.
 */
uint64_t
cpu_cli_sti_flag(struct cpu *cpu, bool sti)
{
	if (cpu_real_mode(cpu) || cpu->state.cpl <= ((cpu->state.rflags & F_IOPL) >> 12))
		return F_IF;
	bool virt = cpu_v86(cpu) ? (cpu->state.cr4 & CR4_VME) != 0
				 : cpu->state.cpl == 3 && (cpu->state.cr4 & CR4_PVI);
	if (!virt || (sti && (cpu->state.rflags & F_VIP)))
		cpu_gp0(cpu);
	return F_VIF;
}

/* Virtual-8086 mode below IOPL 3, where PUSHF/POPF/IRET/INT n need CR4.VME. */
static bool
v86_below_iopl3(const struct cpu *cpu)
{
	return cpu_v86(cpu) && (cpu->state.rflags & F_IOPL) != F_IOPL;
}

/* The VME form applies: 16-bit operand size and CR4.VME; otherwise #GP(0). */
static void
vme_required(struct cpu *cpu, unsigned opsize)
{
	if (!(cpu->state.cr4 & CR4_VME) || opsize != 2)
		cpu_gp0(cpu);
}

/* The FLAGS image of a virtual-8086 program below IOPL 3: IF from VIF, IOPL 3. */
static uint16_t
vme_flags_image(struct cpu *cpu)
{
	uint64_t f = rflags_read(cpu);
	uint64_t img = (f & 0xffff & ~(uint64_t)F_IF) | F_IOPL;
	if (f & F_VIF)
		img |= F_IF;
	return (uint16_t)img;
}

/* A popped FLAGS image below IOPL 3 (POPF, IRET): #GP(0) when it sets TF, or IF
 * while VIP is set; else the 16-bit flags but IF and IOPL, and VIF from its IF. */
static void
vme_check_flags(struct cpu *cpu, uint64_t v)
{
	if ((v & F_TF) || ((v & F_IF) && (cpu->state.rflags & F_VIP)))
		cpu_gp0(cpu);
}

static void
vme_write_flags(struct cpu *cpu, uint64_t v)
{
	flags_materialize(cpu);
	uint64_t f = cpu->state.rflags & ~(uint64_t)(VME_WRITABLE | F_VIF);
	cpu->state.rflags = f | (v & VME_WRITABLE) | ((v & F_IF) ? F_VIF : 0) | F_FIXED1;
	cpu->stop_trace = true;
}

/* PUSHF in virtual-8086 mode below IOPL 3 (SDM vol. 2B, PUSHF): true when done. */
bool
cpu_vme_pushf(struct cpu *cpu, unsigned opsize)
{
	if (!v86_below_iopl3(cpu))
		return false;
	vme_required(cpu, opsize);
	cpu_push(cpu, vme_flags_image(cpu), 2);
	return true;
}

/* POPF in virtual-8086 mode below IOPL 3 (SDM vol. 2B, POPF): true when done. */
bool
cpu_vme_popf(struct cpu *cpu, unsigned opsize)
{
	if (!v86_below_iopl3(cpu))
		return false;
	vme_required(cpu, opsize);
	uint64_t v = cpu_stack_peek(cpu, 0, 2);
	vme_check_flags(cpu, v);
	cpu_stack_adjust(cpu, 2);
	vme_write_flags(cpu, v);
	return true;
}

/* IRET in virtual-8086 mode below IOPL 3 (SDM vol. 2A, IRET; vol. 3A, 20.4.4):
 * true when done. */
bool
cpu_vme_iret(struct cpu *cpu, unsigned opsize)
{
	if (!v86_below_iopl3(cpu))
		return false;
	vme_required(cpu, opsize);
	uint16_t ip = (uint16_t)cpu_stack_peek(cpu, 0, 2);
	uint16_t cs = (uint16_t)cpu_stack_peek(cpu, 2, 2);
	uint64_t v = cpu_stack_peek(cpu, 4, 2);
	vme_check_flags(cpu, v);
	cpu_stack_adjust(cpu, 6);
	seg_load_real(cpu, S_CS, cs);
	cpu->state.rip = ip;
	vme_write_flags(cpu, v);
	return true;
}

/*
 * INT n in virtual-8086 mode with CR4.VME (SDM vol. 3A, 20.3.3, table 20-2,
 * methods 5 and 6 with IOPL 3 and below): when the vector's bit in the
 * interrupt redirection bitmap (the 32 bytes below the TSS's I/O map base) is
 * clear, the interrupt goes to the virtual-8086 program's own vector table at
 * linear address 0: FLAGS, CS and IP pushed on its stack (IF from VIF and IOPL
 * 3 in the image below IOPL 3), TF and RF cleared, and IF (VIF below IOPL 3)
 * cleared. A set bit leaves it to the caller (the IDT at IOPL 3, else #GP).
 * #GP(0) when the TSS is not a 32-bit one or the bitmap lies beyond its limit.
 * True when redirected.
 */
bool
cpu_vme_int(struct cpu *cpu, unsigned vector)
{
	if (!cpu_v86(cpu) || !(cpu->state.cr4 & CR4_VME))
		return false;
	unsigned type = cpu->state.tr.attr & 0xf;
	if ((type != 9 && type != 11) || cpu->state.tr.limit < 0x67)
		cpu_gp0(cpu);
	uint16_t iomap = (uint16_t)cpu_read_linear(cpu, cpu->state.tr.base + 0x66, 2, true);
	uint32_t off = (uint32_t)iomap - 32 + vector / 8;
	if (iomap < 32 || off > cpu->state.tr.limit)
		cpu_gp0(cpu);
	uint8_t bits = (uint8_t)cpu_read_linear(cpu, cpu->state.tr.base + off, 1, true);
	if (bits & (1u << (vector & 7)))
		return false;
	bool iopl3 = (cpu->state.rflags & F_IOPL) == F_IOPL;
	uint16_t img = iopl3 ? (uint16_t)rflags_read(cpu) : vme_flags_image(cpu);
	uint32_t target = (uint32_t)cpu_read_linear(cpu, vector * 4u, 4, true);
	uint64_t m = stack_mask(cpu), sp = cpu->state.gpr[R_SP];
	/* Every store is checked before the first one and before anything changes. */
	for (unsigned k = 2; k <= 6; k += 2)
		cpu_probe_write(cpu, S_SS, (sp - k) & m, 2);
	cpu_write(cpu, S_SS, (sp - 2) & m, img, 2);
	cpu_write(cpu, S_SS, (sp - 4) & m, cpu->state.seg[S_CS].sel, 2);
	cpu_write(cpu, S_SS, (sp - 6) & m, cpu->state.rip & 0xffff, 2);
	cpu_stack_adjust(cpu, -6);
	if (cpu->tracer) /* the same event as an interrupt through the IDT */
		trace_interrupt(cpu->tracer, cpu, (uint8_t)vector,
				(enum trace_int_kind)EVENT_SOFTWARE_INT, NO_ERRCODE,
				cpu->state.seg[S_CS].sel, cpu->insn_rip, cpu->state.rip);
	seg_load_real(cpu, S_CS, (uint16_t)(target >> 16));
	cpu->state.rip = target & 0xffff;
	flags_materialize(cpu);
	cpu->state.rflags &= ~(uint64_t)(F_TF | F_RF | (iopl3 ? F_IF : F_VIF));
	cpu->stop_trace = true;
	return true;
}
