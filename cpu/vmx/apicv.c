/*
 * fugu — APIC virtualization (SDM vol. 3C, chapter 29), the part fugu has:
 * "virtualize x2APIC mode" with the TPR shadow and without APIC-register
 * virtualization or virtual-interrupt delivery (29.5). RDMSR and WRMSR of
 * the x2APIC TPR (808H) that the MSR bitmap lets through read and write the
 * virtual-APIC page at offset 80H, and a write is followed by TPR
 * virtualization (29.1.2): VTPR[7:4] below TPR threshold[3:0] is a trap-like
 * TPR-below-threshold VM exit. Every other x2APIC MSR behaves normally.
 * XXX: the APIC-access page, APIC-register virtualization, virtual-interrupt
 * delivery and posted interrupts are not implemented (not reported).
 */
#include "cpu/vmx/vmx_internal.h"
#include "mmu/physmem.h"

#define F(id) (cpu->vmx->f[VMCS_##id])
#define X2APIC_TPR 0x808

static bool
virt_x2apic_tpr(const struct cpu *cpu, uint32_t index)
{
	return index == X2APIC_TPR && (F(PROC_CTLS) & PROC_SECONDARY) &&
	       (F(PROC_CTLS2) & PROC2_VIRT_X2APIC);
}

bool
vmx_x2apic_rdmsr(struct cpu *cpu, uint32_t index, uint64_t *value)
{
	if (!virt_x2apic_tpr(cpu, index))
		return false;
	/* The quadword at offset 80H of the virtual-APIC page (29.5). */
	physmem_read(cpu->mem, F(VIRTUAL_APIC_ADDR) + 0x80, value, 8);
	return true;
}

bool
vmx_x2apic_wrmsr(struct cpu *cpu, uint32_t index, uint64_t value)
{
	if (!virt_x2apic_tpr(cpu, index))
		return false;
	if (value >> 8) /* bits 63:8 reserved (29.5) */
		cpu_gp0(cpu);
	physmem_write(cpu->mem, F(VIRTUAL_APIC_ADDR) + 0x80, &value, 8);
	vmx_tpr_virtualize(cpu, (uint8_t)value);
	return true;
}

/* TPR virtualization without virtual-interrupt delivery (29.1.2): after the
 * write, VTPR[7:4] below TPR threshold[3:0] exits (reason 43, trap-like: the
 * saved RIP is the next instruction's). */
void
vmx_tpr_virtualize(struct cpu *cpu, uint8_t vtpr)
{
	if ((unsigned)(vtpr >> 4) < (F(TPR_THRESHOLD) & 15)) {
		cpu->insn_rip = cpu->state.rip;
		vmx_exit(cpu, VMX_EXIT_TPR_BELOW_THRESHOLD, 0, 0, 0);
	}
}
