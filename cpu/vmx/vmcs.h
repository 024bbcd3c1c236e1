/*
 * fugu — the VMCS field table (SDM vol. 3C, appendix B; 24.11.2 for the
 * encoding). One row per field: name, encoding, the capability that makes it
 * exist, and where it lives in the CPU-state table when it is a copy of an
 * architectural register. Width, type and read-only follow from the encoding
 * (bits 14:13 width, 11:10 type; exit-information fields are read-only, as
 * IA32_VMX_MISC bit 29 is clear). VMREAD/VMWRITE, the guest-state save and
 * load, the host-state load and the VMCS layout in memory all walk it.
 *
 * Layout of a VMCS region (fugu's own, SDM vol. 3C, 24.2 leaves it to the
 * implementation): bytes 0-3 revision identifier, 4-7 VMX-abort indicator,
 * 8-11 launch state (0 clear, 1 launched), 16 + 8 * row the field values in
 * table order. The current VMCS is cached in struct vmx (VMPTRLD reads the
 * region, VMCLEAR, VMPTRLD of another VMCS and VMXOFF write it back), which the
 * SDM allows (24.11.1): software must not touch an active VMCS's region.
 */
#ifndef FUGU_VMX_VMCS_H
#define FUGU_VMX_VMCS_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/state.h"

/* What makes a field exist (VMREAD/VMWRITE of a missing one: VMfailValid 12). */
enum vmcs_cap { VC_ALL, VC_NEVER /* a capability fugu does not report (EPT, VPID, ...) */ };

/* How a guest/host field maps onto the CPU-state table. */
enum vmcs_map {
	VM_NONE,  /* no architectural copy, or handled by hand (control registers) */
	VM_PLAIN, /* the state field, as is */
	VM_AR,    /* a segment's access rights: the VMCS format <-> struct segment.attr */
};

/* X(ID, encoding, "name", cap, map, state field) */
/* clang-format off */
#define VMCS_FIELD_LIST(X)                                                                         \
	X(VPID, 0x0000, "vpid", VC_ALL, VM_NONE, 0)                                             \
	X(POSTED_INT_NV, 0x0002, "posted_int_nv", VC_ALL, VM_NONE, 0)                           \
	X(EPTP_INDEX, 0x0004, "eptp_index", VC_ALL, VM_NONE, 0)                                 \
	X(GUEST_ES_SEL, 0x0800, "guest_es_sel", VC_ALL, VM_PLAIN, STATE_ES_SEL)                   \
	X(GUEST_CS_SEL, 0x0802, "guest_cs_sel", VC_ALL, VM_PLAIN, STATE_CS_SEL)                   \
	X(GUEST_SS_SEL, 0x0804, "guest_ss_sel", VC_ALL, VM_PLAIN, STATE_SS_SEL)                   \
	X(GUEST_DS_SEL, 0x0806, "guest_ds_sel", VC_ALL, VM_PLAIN, STATE_DS_SEL)                   \
	X(GUEST_FS_SEL, 0x0808, "guest_fs_sel", VC_ALL, VM_PLAIN, STATE_FS_SEL)                   \
	X(GUEST_GS_SEL, 0x080a, "guest_gs_sel", VC_ALL, VM_PLAIN, STATE_GS_SEL)                   \
	X(GUEST_LDTR_SEL, 0x080c, "guest_ldtr_sel", VC_ALL, VM_PLAIN, STATE_LDTR_SEL)             \
	X(GUEST_TR_SEL, 0x080e, "guest_tr_sel", VC_ALL, VM_PLAIN, STATE_TR_SEL)                   \
	X(GUEST_INTR_STATUS, 0x0810, "guest_intr_status", VC_ALL, VM_NONE, 0)                   \
	X(GUEST_PML_INDEX, 0x0812, "guest_pml_index", VC_ALL, VM_NONE, 0)                         \
	X(HOST_ES_SEL, 0x0c00, "host_es_sel", VC_ALL, VM_NONE, STATE_ES_SEL)                      \
	X(HOST_CS_SEL, 0x0c02, "host_cs_sel", VC_ALL, VM_NONE, STATE_CS_SEL)                      \
	X(HOST_SS_SEL, 0x0c04, "host_ss_sel", VC_ALL, VM_NONE, STATE_SS_SEL)                      \
	X(HOST_DS_SEL, 0x0c06, "host_ds_sel", VC_ALL, VM_NONE, STATE_DS_SEL)                      \
	X(HOST_FS_SEL, 0x0c08, "host_fs_sel", VC_ALL, VM_NONE, STATE_FS_SEL)                      \
	X(HOST_GS_SEL, 0x0c0a, "host_gs_sel", VC_ALL, VM_NONE, STATE_GS_SEL)                      \
	X(HOST_TR_SEL, 0x0c0c, "host_tr_sel", VC_ALL, VM_NONE, STATE_TR_SEL)                      \
	X(IO_BITMAP_A, 0x2000, "io_bitmap_a", VC_ALL, VM_NONE, 0)                                 \
	X(IO_BITMAP_B, 0x2002, "io_bitmap_b", VC_ALL, VM_NONE, 0)                                 \
	X(MSR_BITMAP, 0x2004, "msr_bitmap", VC_ALL, VM_NONE, 0)                                   \
	X(EXIT_MSR_STORE_ADDR, 0x2006, "exit_msr_store_addr", VC_ALL, VM_NONE, 0)                 \
	X(EXIT_MSR_LOAD_ADDR, 0x2008, "exit_msr_load_addr", VC_ALL, VM_NONE, 0)                   \
	X(ENTRY_MSR_LOAD_ADDR, 0x200a, "entry_msr_load_addr", VC_ALL, VM_NONE, 0)                 \
	X(EXECUTIVE_VMCS, 0x200c, "executive_vmcs", VC_ALL, VM_NONE, 0)                           \
	X(PML_ADDR, 0x200e, "pml_addr", VC_ALL, VM_NONE, 0)                                       \
	X(TSC_OFFSET, 0x2010, "tsc_offset", VC_ALL, VM_NONE, 0)                                   \
	X(VIRTUAL_APIC_ADDR, 0x2012, "virtual_apic_addr", VC_ALL, VM_NONE, 0)                   \
	X(APIC_ACCESS_ADDR, 0x2014, "apic_access_addr", VC_ALL, VM_NONE, 0)                       \
	X(PI_DESC_ADDR, 0x2016, "posted_int_desc_addr", VC_ALL, VM_NONE, 0)                     \
	X(VMFUNC_CTLS, 0x2018, "vmfunc_ctls", VC_ALL, VM_NONE, 0)                                 \
	X(EOI_EXIT0, 0x201c, "eoi_exit_bitmap0", VC_ALL, VM_NONE, 0)                             \
	X(EOI_EXIT1, 0x201e, "eoi_exit_bitmap1", VC_ALL, VM_NONE, 0)                             \
	X(EOI_EXIT2, 0x2020, "eoi_exit_bitmap2", VC_ALL, VM_NONE, 0)                             \
	X(EOI_EXIT3, 0x2022, "eoi_exit_bitmap3", VC_ALL, VM_NONE, 0)                             \
	X(EPT_POINTER, 0x201a, "ept_pointer", VC_ALL, VM_NONE, 0)                                 \
	X(EPTP_LIST_ADDR, 0x2024, "eptp_list_addr", VC_ALL, VM_NONE, 0)                           \
	X(VE_INFO_ADDR, 0x202a, "ve_info_addr", VC_ALL, VM_NONE, 0)                               \
	X(VMREAD_BITMAP, 0x2026, "vmread_bitmap", VC_ALL, VM_NONE, 0)                             \
	X(VMWRITE_BITMAP, 0x2028, "vmwrite_bitmap", VC_ALL, VM_NONE, 0)                           \
	X(GUEST_PHYS_ADDR, 0x2400, "guest_phys_addr", VC_ALL, VM_NONE, 0)                         \
	X(VMCS_LINK_PTR, 0x2800, "vmcs_link_ptr", VC_ALL, VM_NONE, 0)                             \
	X(GUEST_DEBUGCTL, 0x2802, "guest_debugctl", VC_ALL, VM_NONE, 0)                           \
	X(GUEST_PAT, 0x2804, "guest_pat", VC_ALL, VM_NONE, STATE_PAT)                             \
	X(GUEST_EFER, 0x2806, "guest_efer", VC_ALL, VM_NONE, STATE_EFER)                          \
	X(GUEST_PDPTE0, 0x280a, "guest_pdpte0", VC_ALL, VM_NONE, 0)                               \
	X(GUEST_PDPTE1, 0x280c, "guest_pdpte1", VC_ALL, VM_NONE, 0)                               \
	X(GUEST_PDPTE2, 0x280e, "guest_pdpte2", VC_ALL, VM_NONE, 0)                               \
	X(GUEST_PDPTE3, 0x2810, "guest_pdpte3", VC_ALL, VM_NONE, 0)                               \
	X(HOST_PAT, 0x2c00, "host_pat", VC_ALL, VM_NONE, STATE_PAT)                               \
	X(HOST_EFER, 0x2c02, "host_efer", VC_ALL, VM_NONE, STATE_EFER)                            \
	X(PIN_CTLS, 0x4000, "pin_ctls", VC_ALL, VM_NONE, 0)                                       \
	X(PROC_CTLS, 0x4002, "proc_ctls", VC_ALL, VM_NONE, 0)                                     \
	X(EXCEPTION_BITMAP, 0x4004, "exception_bitmap", VC_ALL, VM_NONE, 0)                       \
	X(PF_ERR_MASK, 0x4006, "pf_err_mask", VC_ALL, VM_NONE, 0)                                 \
	X(PF_ERR_MATCH, 0x4008, "pf_err_match", VC_ALL, VM_NONE, 0)                               \
	X(CR3_TARGET_COUNT, 0x400a, "cr3_target_count", VC_ALL, VM_NONE, 0)                       \
	X(EXIT_CTLS, 0x400c, "exit_ctls", VC_ALL, VM_NONE, 0)                                     \
	X(EXIT_MSR_STORE_COUNT, 0x400e, "exit_msr_store_count", VC_ALL, VM_NONE, 0)               \
	X(EXIT_MSR_LOAD_COUNT, 0x4010, "exit_msr_load_count", VC_ALL, VM_NONE, 0)                 \
	X(ENTRY_CTLS, 0x4012, "entry_ctls", VC_ALL, VM_NONE, 0)                                   \
	X(ENTRY_MSR_LOAD_COUNT, 0x4014, "entry_msr_load_count", VC_ALL, VM_NONE, 0)               \
	X(ENTRY_INTR_INFO, 0x4016, "entry_intr_info", VC_ALL, VM_NONE, 0)                         \
	X(ENTRY_EXC_ERROR, 0x4018, "entry_exc_error", VC_ALL, VM_NONE, 0)                         \
	X(ENTRY_INSN_LEN, 0x401a, "entry_insn_len", VC_ALL, VM_NONE, 0)                           \
	X(TPR_THRESHOLD, 0x401c, "tpr_threshold", VC_ALL, VM_NONE, 0)                           \
	X(PROC_CTLS2, 0x401e, "proc_ctls2", VC_ALL, VM_NONE, 0)                                   \
	X(PLE_GAP, 0x4020, "ple_gap", VC_ALL, VM_NONE, 0)                                       \
	X(PLE_WINDOW, 0x4022, "ple_window", VC_ALL, VM_NONE, 0)                                 \
	X(VM_INSN_ERROR, 0x4400, "vm_insn_error", VC_ALL, VM_NONE, 0)                             \
	X(EXIT_REASON, 0x4402, "exit_reason", VC_ALL, VM_NONE, 0)                                 \
	X(EXIT_INTR_INFO, 0x4404, "exit_intr_info", VC_ALL, VM_NONE, 0)                           \
	X(EXIT_INTR_ERROR, 0x4406, "exit_intr_error", VC_ALL, VM_NONE, 0)                         \
	X(IDT_VECTORING_INFO, 0x4408, "idt_vectoring_info", VC_ALL, VM_NONE, 0)                   \
	X(IDT_VECTORING_ERROR, 0x440a, "idt_vectoring_error", VC_ALL, VM_NONE, 0)                 \
	X(EXIT_INSN_LEN, 0x440c, "exit_insn_len", VC_ALL, VM_NONE, 0)                             \
	X(EXIT_INSN_INFO, 0x440e, "exit_insn_info", VC_ALL, VM_NONE, 0)                           \
	X(GUEST_ES_LIMIT, 0x4800, "guest_es_limit", VC_ALL, VM_PLAIN, STATE_ES_LIMIT)             \
	X(GUEST_CS_LIMIT, 0x4802, "guest_cs_limit", VC_ALL, VM_PLAIN, STATE_CS_LIMIT)             \
	X(GUEST_SS_LIMIT, 0x4804, "guest_ss_limit", VC_ALL, VM_PLAIN, STATE_SS_LIMIT)             \
	X(GUEST_DS_LIMIT, 0x4806, "guest_ds_limit", VC_ALL, VM_PLAIN, STATE_DS_LIMIT)             \
	X(GUEST_FS_LIMIT, 0x4808, "guest_fs_limit", VC_ALL, VM_PLAIN, STATE_FS_LIMIT)             \
	X(GUEST_GS_LIMIT, 0x480a, "guest_gs_limit", VC_ALL, VM_PLAIN, STATE_GS_LIMIT)             \
	X(GUEST_LDTR_LIMIT, 0x480c, "guest_ldtr_limit", VC_ALL, VM_PLAIN, STATE_LDTR_LIMIT)       \
	X(GUEST_TR_LIMIT, 0x480e, "guest_tr_limit", VC_ALL, VM_PLAIN, STATE_TR_LIMIT)             \
	X(GUEST_GDTR_LIMIT, 0x4810, "guest_gdtr_limit", VC_ALL, VM_PLAIN, STATE_GDTR_LIMIT)       \
	X(GUEST_IDTR_LIMIT, 0x4812, "guest_idtr_limit", VC_ALL, VM_PLAIN, STATE_IDTR_LIMIT)       \
	X(GUEST_ES_AR, 0x4814, "guest_es_ar", VC_ALL, VM_AR, STATE_ES_ATTR)                       \
	X(GUEST_CS_AR, 0x4816, "guest_cs_ar", VC_ALL, VM_AR, STATE_CS_ATTR)                       \
	X(GUEST_SS_AR, 0x4818, "guest_ss_ar", VC_ALL, VM_AR, STATE_SS_ATTR)                       \
	X(GUEST_DS_AR, 0x481a, "guest_ds_ar", VC_ALL, VM_AR, STATE_DS_ATTR)                       \
	X(GUEST_FS_AR, 0x481c, "guest_fs_ar", VC_ALL, VM_AR, STATE_FS_ATTR)                       \
	X(GUEST_GS_AR, 0x481e, "guest_gs_ar", VC_ALL, VM_AR, STATE_GS_ATTR)                       \
	X(GUEST_LDTR_AR, 0x4820, "guest_ldtr_ar", VC_ALL, VM_AR, STATE_LDTR_ATTR)                 \
	X(GUEST_TR_AR, 0x4822, "guest_tr_ar", VC_ALL, VM_AR, STATE_TR_ATTR)                       \
	X(GUEST_INTERRUPTIBILITY, 0x4824, "guest_interruptibility", VC_ALL, VM_NONE, 0)           \
	X(GUEST_ACTIVITY, 0x4826, "guest_activity", VC_ALL, VM_NONE, 0)                           \
	X(GUEST_SMBASE, 0x4828, "guest_smbase", VC_ALL, VM_NONE, 0)                               \
	X(GUEST_SYSENTER_CS, 0x482a, "guest_sysenter_cs", VC_ALL, VM_PLAIN, STATE_SYSENTER_CS)    \
	X(PREEMPTION_TIMER, 0x482e, "guest_preemption_timer", VC_ALL, VM_NONE, 0)                     \
	X(HOST_SYSENTER_CS, 0x4c00, "host_sysenter_cs", VC_ALL, VM_NONE, STATE_SYSENTER_CS)       \
	X(CR0_MASK, 0x6000, "cr0_mask", VC_ALL, VM_NONE, 0)                                       \
	X(CR4_MASK, 0x6002, "cr4_mask", VC_ALL, VM_NONE, 0)                                       \
	X(CR0_SHADOW, 0x6004, "cr0_shadow", VC_ALL, VM_NONE, 0)                                   \
	X(CR4_SHADOW, 0x6006, "cr4_shadow", VC_ALL, VM_NONE, 0)                                   \
	X(CR3_TARGET0, 0x6008, "cr3_target0", VC_ALL, VM_NONE, 0)                                 \
	X(CR3_TARGET1, 0x600a, "cr3_target1", VC_ALL, VM_NONE, 0)                                 \
	X(CR3_TARGET2, 0x600c, "cr3_target2", VC_ALL, VM_NONE, 0)                                 \
	X(CR3_TARGET3, 0x600e, "cr3_target3", VC_ALL, VM_NONE, 0)                                 \
	X(EXIT_QUALIFICATION, 0x6400, "exit_qualification", VC_ALL, VM_NONE, 0)                   \
	X(IO_RCX, 0x6402, "io_rcx", VC_ALL, VM_NONE, 0)                                           \
	X(IO_RSI, 0x6404, "io_rsi", VC_ALL, VM_NONE, 0)                                           \
	X(IO_RDI, 0x6406, "io_rdi", VC_ALL, VM_NONE, 0)                                           \
	X(IO_RIP, 0x6408, "io_rip", VC_ALL, VM_NONE, 0)                                           \
	X(GUEST_LINEAR_ADDR, 0x640a, "guest_linear_addr", VC_ALL, VM_NONE, 0)                     \
	X(GUEST_CR0, 0x6800, "guest_cr0", VC_ALL, VM_NONE, STATE_CR0)                             \
	X(GUEST_CR3, 0x6802, "guest_cr3", VC_ALL, VM_NONE, STATE_CR3)                             \
	X(GUEST_CR4, 0x6804, "guest_cr4", VC_ALL, VM_NONE, STATE_CR4)                             \
	X(GUEST_ES_BASE, 0x6806, "guest_es_base", VC_ALL, VM_PLAIN, STATE_ES_BASE)                \
	X(GUEST_CS_BASE, 0x6808, "guest_cs_base", VC_ALL, VM_PLAIN, STATE_CS_BASE)                \
	X(GUEST_SS_BASE, 0x680a, "guest_ss_base", VC_ALL, VM_PLAIN, STATE_SS_BASE)                \
	X(GUEST_DS_BASE, 0x680c, "guest_ds_base", VC_ALL, VM_PLAIN, STATE_DS_BASE)                \
	X(GUEST_FS_BASE, 0x680e, "guest_fs_base", VC_ALL, VM_PLAIN, STATE_FS_BASE)                \
	X(GUEST_GS_BASE, 0x6810, "guest_gs_base", VC_ALL, VM_PLAIN, STATE_GS_BASE)                \
	X(GUEST_LDTR_BASE, 0x6812, "guest_ldtr_base", VC_ALL, VM_PLAIN, STATE_LDTR_BASE)          \
	X(GUEST_TR_BASE, 0x6814, "guest_tr_base", VC_ALL, VM_PLAIN, STATE_TR_BASE)                \
	X(GUEST_GDTR_BASE, 0x6816, "guest_gdtr_base", VC_ALL, VM_PLAIN, STATE_GDTR_BASE)          \
	X(GUEST_IDTR_BASE, 0x6818, "guest_idtr_base", VC_ALL, VM_PLAIN, STATE_IDTR_BASE)          \
	X(GUEST_DR7, 0x681a, "guest_dr7", VC_ALL, VM_NONE, STATE_DR7)                             \
	X(GUEST_RSP, 0x681c, "guest_rsp", VC_ALL, VM_PLAIN, STATE_RSP)                            \
	X(GUEST_RIP, 0x681e, "guest_rip", VC_ALL, VM_NONE, STATE_RIP)                             \
	X(GUEST_RFLAGS, 0x6820, "guest_rflags", VC_ALL, VM_NONE, STATE_RFLAGS)                    \
	X(GUEST_PENDING_DBG, 0x6822, "guest_pending_dbg", VC_ALL, VM_NONE, 0)                     \
	X(GUEST_SYSENTER_ESP, 0x6824, "guest_sysenter_esp", VC_ALL, VM_PLAIN, STATE_SYSENTER_ESP) \
	X(GUEST_SYSENTER_EIP, 0x6826, "guest_sysenter_eip", VC_ALL, VM_PLAIN, STATE_SYSENTER_EIP) \
	X(HOST_CR0, 0x6c00, "host_cr0", VC_ALL, VM_NONE, STATE_CR0)                               \
	X(HOST_CR3, 0x6c02, "host_cr3", VC_ALL, VM_NONE, STATE_CR3)                               \
	X(HOST_CR4, 0x6c04, "host_cr4", VC_ALL, VM_NONE, STATE_CR4)                               \
	X(HOST_FS_BASE, 0x6c06, "host_fs_base", VC_ALL, VM_NONE, STATE_FS_BASE)                   \
	X(HOST_GS_BASE, 0x6c08, "host_gs_base", VC_ALL, VM_NONE, STATE_GS_BASE)                   \
	X(HOST_TR_BASE, 0x6c0a, "host_tr_base", VC_ALL, VM_NONE, STATE_TR_BASE)                   \
	X(HOST_GDTR_BASE, 0x6c0c, "host_gdtr_base", VC_ALL, VM_NONE, STATE_GDTR_BASE)             \
	X(HOST_IDTR_BASE, 0x6c0e, "host_idtr_base", VC_ALL, VM_NONE, STATE_IDTR_BASE)             \
	X(HOST_SYSENTER_ESP, 0x6c10, "host_sysenter_esp", VC_ALL, VM_NONE, STATE_SYSENTER_ESP)    \
	X(HOST_SYSENTER_EIP, 0x6c12, "host_sysenter_eip", VC_ALL, VM_NONE, STATE_SYSENTER_EIP)    \
	X(HOST_RSP, 0x6c14, "host_rsp", VC_ALL, VM_NONE, STATE_RSP)                               \
	X(HOST_RIP, 0x6c16, "host_rip", VC_ALL, VM_NONE, STATE_RIP)
/* clang-format on */

enum vmcs_field_id {
#define X(id, enc, name, cap, map, sf) VMCS_##id,
	VMCS_FIELD_LIST(X)
#undef X
		VMCS_FIELD_COUNT
};

/* Encoding bits (SDM vol. 3C, 24.11.2). */
enum vmcs_width { VMCS_W16, VMCS_W64, VMCS_W32, VMCS_WNAT };
enum vmcs_type { VMCS_T_CONTROL, VMCS_T_EXITINFO, VMCS_T_GUEST, VMCS_T_HOST };

struct vmcs_field {
	const char *name;
	uint16_t enc;
	uint8_t cap;    /* enum vmcs_cap */
	uint8_t map;    /* enum vmcs_map */
	uint16_t state; /* enum state_field_id when map != VM_NONE (or the field it stands for) */
};

extern const struct vmcs_field vmcs_fields[VMCS_FIELD_COUNT];

static inline enum vmcs_width
vmcs_enc_width(uint32_t enc)
{
	return (enum vmcs_width)((enc >> 13) & 3);
}

static inline enum vmcs_type
vmcs_enc_type(uint32_t enc)
{
	return (enum vmcs_type)((enc >> 10) & 3);
}

/* The row of an encoding (a 64-bit field's "high" access, enc | 1, finds the
 * field with *high set), or -1 when fugu has no such field or the capability
 * that makes it exist is not reported. */
int vmcs_field_lookup(uint32_t enc, bool *high);
/* The value mask of a field's width (natural width: 64 bits). */
uint64_t vmcs_width_mask(enum vmcs_width w);
/* The largest index (bits 9:1 of the encoding) of any existing field (IA32_VMX_VMCS_ENUM). */
unsigned vmcs_max_index(void);
/* Access rights: VMCS format (24.4.1) <-> struct segment.attr; bit 16 is "unusable". */
uint32_t vmcs_ar_from_attr(uint16_t attr, bool usable);
uint16_t vmcs_attr_from_ar(uint32_t ar);
/* The guest-state fields that hold a register of `s` as they are (the state
 * table's VM_PLAIN and VM_AR rows; a segment not present is unusable, except
 * CS and TR: SDM vol. 3C, 27.3.2). VM exit saves through it (exit.c), and
 * vmx_check_state checks a saved state through it. */
void vmcs_guest_from_state(const struct cpu_state *s, uint64_t *f);

#define VMCS_REGION_FIELDS 16 /* byte offset of the first field value in a VMCS region */
#define VMCS_AR_UNUSABLE (1u << 16)

#endif
