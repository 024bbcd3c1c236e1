/*
 * fugu — what the files of cpu/vmx/ share: the VMCS cache accessors, the
 * VMsucceed/VMfail conventions, VM entry (entry.c) and VM exit (exit.c).
 */
#ifndef FUGU_VMX_INTERNAL_H
#define FUGU_VMX_INTERNAL_H

#include "cpu/cpu_internal.h"
#include "cpu/vmx/vmx.h"

#define VMX_LONGJMP_EXIT 3 /* cpu->fault_jmp: a VM exit unwound the instruction */

static inline uint64_t
vmcs_get(const struct cpu *cpu, enum vmcs_field_id id)
{
	return cpu->vmx->f[id];
}

static inline void
vmcs_set(struct cpu *cpu, enum vmcs_field_id id, uint64_t v)
{
	cpu->vmx->f[id] = v & vmcs_width_mask(vmcs_enc_width(vmcs_fields[id].enc));
}

/* Write the cached current VMCS back to its region (vmx.c). */
void vmcs_writeback(struct cpu *cpu);

/* Entry (entry.c). The outcome of the checks of one area. */
struct vmx_check_result {
	const char *check; /* the failing check's name, NULL when all passed */
	uint32_t error;    /* VMfailValid number, or the entry-failure qualification */
};
/* 26.2.1 controls (VMfailValid 7), 26.2.2-26.2.4 host state (VMfailValid 8),
 * 26.3.1 guest state (entry failure, reason 33): the first failing check. */
struct vmx_check_result vmx_check_controls(const struct cpu *cpu);
struct vmx_check_result vmx_check_host(const struct cpu *cpu);
struct vmx_check_result vmx_check_guest(const struct cpu *cpu);
/* VMLAUNCH/VMRESUME after the instruction's own checks (30.3). */
void vmx_enter(struct cpu *cpu, bool launch);

/* Exit (exit.c). Record the exit information, save the guest, load the host
 * and unwind to the run loop. `len` and `info` are the instruction length and
 * information fields (0 when the exit has none). */
_Noreturn void vmx_exit(struct cpu *cpu, uint32_t reason, uint64_t qual, uint32_t len,
			uint32_t info);
/* The VM-entry failure path (26.8): host state loaded, nothing of the guest saved. */
_Noreturn void vmx_entry_fail(struct cpu *cpu, uint32_t reason, uint64_t qual, const char *check);
/* The instruction-information field for an instruction with a ModRM operand
 * (27.2.5, tables 27-9 to 27-14): scaling, address size, segment, index, base;
 * reg2 in bits 31:28, reg1 in 6:3. */
uint32_t vmx_insn_info(const struct insn *i, unsigned reg1, unsigned reg2);
/* Does IRET remove (virtual-)NMI blocking in this guest (25.3)? */
bool vmx_iret_unblocks(const struct cpu *cpu);

#endif
