/*
 * fugu — VM entry (SDM vol. 3C, chapter 26): the checks on the controls, the
 * host-state area and the guest-state area as tables of named checks (the
 * first failing one decides the outcome and names itself in the vmx trace),
 * then the guest state loaded through the mode gate, the MSR-load area and
 * event injection.
 */
#include "cpu/translate.h"
#include "cpu/vmx/vmx_internal.h"
#include "mmu/physmem.h"
#include "trace/events.h"

#define F(id) vmcs_get(cpu, VMCS_##id)

/* A control field against its TRUE capability MSR (26.2.1.1-26.2.1.2). */
static bool
ctl_ok(const struct cpu *cpu, uint32_t msr, uint64_t value)
{
	uint64_t cap;
	vmx_cap_msr(cpu, msr, &cap);
	uint32_t must1 = (uint32_t)cap, may1 = (uint32_t)(cap >> 32);
	return (value & must1) == must1 && !(value & ~(uint64_t)may1);
}

static bool
phys_ok(const struct cpu *cpu, uint64_t pa, uint64_t align)
{
	return !(pa & (align - 1)) && !(pa >> cpu->maxphyaddr);
}

typedef bool (*check_fn)(const struct cpu *cpu);
struct check {
	const char *name;
	check_fn ok;
};

/* ---- 26.2.1: VM-execution, VM-exit and VM-entry control fields ---- */

/* Virtual NMIs only with NMI exiting; NMI-window exiting only with virtual
 * NMIs (26.2.1.1). */
static bool
c_pin(const struct cpu *cpu)
{
	if ((F(PIN_CTLS) & PIN_VIRTUAL_NMI) && !(F(PIN_CTLS) & PIN_NMI))
		return false;
	return ctl_ok(cpu, 0x48d, F(PIN_CTLS));
}
static bool
c_proc(const struct cpu *cpu)
{
	if ((F(PROC_CTLS) & PROC_NMI_WINDOW) && !(F(PIN_CTLS) & PIN_VIRTUAL_NMI))
		return false;
	return ctl_ok(cpu, 0x48e, F(PROC_CTLS));
}
static bool
c_proc2(const struct cpu *cpu)
{
	return !(F(PROC_CTLS) & PROC_SECONDARY) || ctl_ok(cpu, 0x48b, F(PROC_CTLS2));
}
static uint64_t
proc2(const struct cpu *cpu)
{
	return (F(PROC_CTLS) & PROC_SECONDARY) ? F(PROC_CTLS2) : 0;
}
/* "enable EPT" needs a valid EPT pointer (26.2.1.1). */
static bool
c_ept(const struct cpu *cpu)
{
	return !(proc2(cpu) & PROC2_EPT) || vmx_eptp_ok(cpu, F(EPT_POINTER));
}
/* "unrestricted guest" needs "enable EPT" (26.2.1.1). */
static bool
c_unrestricted(const struct cpu *cpu)
{
	return !(proc2(cpu) & PROC2_UNRESTRICTED) || (proc2(cpu) & PROC2_EPT);
}
/* "enable PML" needs "enable EPT" and a PML address 4 KiB aligned within
 * MAXPHYADDR (26.2.1.1). */
static bool
c_pml(const struct cpu *cpu)
{
	return !(proc2(cpu) & PROC2_PML) ||
	       ((proc2(cpu) & PROC2_EPT) && phys_ok(cpu, F(PML_ADDR), 4096));
}
/* "EPT-violation #VE": the virtualization-exception information address 4 KiB
 * aligned within MAXPHYADDR (26.2.1.1). */
static bool
c_ept_ve(const struct cpu *cpu)
{
	return !(proc2(cpu) & PROC2_EPT_VE) || phys_ok(cpu, F(VE_INFO_ADDR), 4096);
}
/* "enable VM functions" (26.2.1.1): the VM-function controls within
 * IA32_VMX_VMFUNC; EPTP switching needs "enable EPT" and an EPTP-list address
 * 4 KiB aligned within MAXPHYADDR. */
static bool
c_vmfunc(const struct cpu *cpu)
{
	if (!(proc2(cpu) & PROC2_VMFUNC))
		return true;
	uint64_t allowed = 0;
	vmx_cap_msr(cpu, 0x491, &allowed);
	if (F(VMFUNC_CTLS) & ~allowed)
		return false;
	return !(F(VMFUNC_CTLS) & 1) ||
	       ((proc2(cpu) & PROC2_EPT) && phys_ok(cpu, F(EPTP_LIST_ADDR), 4096));
}
/* "enable VPID" needs a VPID other than 0000H, the host's (26.2.1.1). */
static bool
c_vpid(const struct cpu *cpu)
{
	return !(F(PROC_CTLS) & PROC_SECONDARY) || !(F(PROC_CTLS2) & PROC2_VPID) ||
	       (F(VPID) & 0xffff) != 0;
}
/* "Use TPR shadow" (26.2.1.1): the virtual-APIC address 4 KiB aligned within
 * MAXPHYADDR; without virtual-interrupt delivery, TPR threshold bits 31:4 0;
 * without APIC-access virtualization too, threshold[3:0] not above VTPR[7:4]. */
static bool
c_vapic(const struct cpu *cpu)
{
	return !(F(PROC_CTLS) & PROC_TPR_SHADOW) || phys_ok(cpu, F(VIRTUAL_APIC_ADDR), 4096);
}
static bool
c_tpr_threshold(const struct cpu *cpu)
{
	if (!(F(PROC_CTLS) & PROC_TPR_SHADOW) || (proc2(cpu) & PROC2_VID))
		return true;
	if (F(TPR_THRESHOLD) & ~0xfull)
		return false;
	if (proc2(cpu) & PROC2_APIC_ACCESS)
		return true;
	uint8_t vtpr = 0;
	physmem_read(cpu->mem, F(VIRTUAL_APIC_ADDR) + 0x80, &vtpr, 1);
	return (F(TPR_THRESHOLD) & 15) <= (unsigned)(vtpr >> 4);
}
/* "Virtualize x2APIC mode" needs "use TPR shadow" (26.2.1.1). */
static bool
c_virt_x2apic(const struct cpu *cpu)
{
	return !(F(PROC_CTLS) & PROC_SECONDARY) || !(F(PROC_CTLS2) & PROC2_VIRT_X2APIC) ||
	       (F(PROC_CTLS) & PROC_TPR_SHADOW);
}
/* So do "APIC-register virtualization" and "virtual-interrupt delivery" (26.2.1.1). */
static bool
c_apicv_tpr_shadow(const struct cpu *cpu)
{
	return !(proc2(cpu) & (PROC2_APIC_REG_VIRT | PROC2_VID)) ||
	       (F(PROC_CTLS) & PROC_TPR_SHADOW);
}
/* "Virtualize x2APIC mode" excludes "virtualize APIC accesses" (26.2.1.1). */
static bool
c_x2apic_apic_access(const struct cpu *cpu)
{
	return (proc2(cpu) & (PROC2_VIRT_X2APIC | PROC2_APIC_ACCESS)) !=
	       (PROC2_VIRT_X2APIC | PROC2_APIC_ACCESS);
}
/* "Virtualize APIC accesses": the APIC-access address 4 KiB aligned within
 * MAXPHYADDR (26.2.1.1). */
static bool
c_apic_access(const struct cpu *cpu)
{
	return !(proc2(cpu) & PROC2_APIC_ACCESS) || phys_ok(cpu, F(APIC_ACCESS_ADDR), 4096);
}
/* "Virtual-interrupt delivery" needs "external-interrupt exiting" (26.2.1.1). */
static bool
c_vid(const struct cpu *cpu)
{
	return !(proc2(cpu) & PROC2_VID) || (F(PIN_CTLS) & PIN_EXT_INTR);
}
/* "Process posted interrupts" (26.2.1.1): virtual-interrupt delivery and
 * "acknowledge interrupt on exit" on, notification vector bits 15:8 clear,
 * the descriptor address 64-byte aligned within MAXPHYADDR. */
static bool
c_posted(const struct cpu *cpu)
{
	if (!(F(PIN_CTLS) & PIN_POSTED_INTR))
		return true;
	return (proc2(cpu) & PROC2_VID) && (F(EXIT_CTLS) & EXIT_ACK_INTR) &&
	       !(F(POSTED_INT_NV) & 0xff00) && phys_ok(cpu, F(PI_DESC_ADDR), 64);
}
static bool
c_cr3_count(const struct cpu *cpu)
{
	return F(CR3_TARGET_COUNT) <= 4;
}
static bool
c_io_bitmaps(const struct cpu *cpu)
{
	return !(F(PROC_CTLS) & PROC_IO_BITMAPS) ||
	       (phys_ok(cpu, F(IO_BITMAP_A), 4096) && phys_ok(cpu, F(IO_BITMAP_B), 4096));
}
/* VMCS shadowing: the VMREAD/VMWRITE bitmaps 4 KiB aligned within MAXPHYADDR (26.2.1.1). */
static bool
c_vmrw_bitmaps(const struct cpu *cpu)
{
	return !(F(PROC_CTLS) & PROC_SECONDARY) || !(F(PROC_CTLS2) & PROC2_SHADOW_VMCS) ||
	       (phys_ok(cpu, F(VMREAD_BITMAP), 4096) && phys_ok(cpu, F(VMWRITE_BITMAP), 4096));
}
static bool
c_msr_bitmap(const struct cpu *cpu)
{
	return !(F(PROC_CTLS) & PROC_MSR_BITMAPS) || phys_ok(cpu, F(MSR_BITMAP), 4096);
}
/* The exit controls; "save VMX-preemption timer value" only with "activate
 * VMX-preemption timer" (26.2.1.2). */
static bool
c_exit(const struct cpu *cpu)
{
	if ((F(EXIT_CTLS) & EXIT_SAVE_PREEMPT) && !(F(PIN_CTLS) & PIN_PREEMPT_TIMER))
		return false;
	return ctl_ok(cpu, 0x48f, F(EXIT_CTLS));
}
static bool
c_exit_msr_areas(const struct cpu *cpu)
{
	return (!F(EXIT_MSR_STORE_COUNT) || phys_ok(cpu, F(EXIT_MSR_STORE_ADDR), 16)) &&
	       (!F(EXIT_MSR_LOAD_COUNT) || phys_ok(cpu, F(EXIT_MSR_LOAD_ADDR), 16));
}
static bool
c_entry(const struct cpu *cpu)
{
	return ctl_ok(cpu, 0x490, F(ENTRY_CTLS));
}
static bool
c_entry_msr_area(const struct cpu *cpu)
{
	return !F(ENTRY_MSR_LOAD_COUNT) || phys_ok(cpu, F(ENTRY_MSR_LOAD_ADDR), 16);
}

/* Event injection (26.2.1.3). */
#define INTR_VALID (1u << 31)
#define INTR_ERRCODE (1u << 11)
#define INTR_TYPE(info) (((info) >> 8) & 7)
enum {
	IT_EXTERNAL = 0,
	IT_NMI = 2,
	IT_HW_EXC = 3,
	IT_SW_INT = 4,
	IT_PRIV_SW_EXC = 5,
	IT_SW_EXC = 6,
	IT_OTHER = 7
};

static bool
c_inject_type(const struct cpu *cpu)
{
	uint32_t info = (uint32_t)F(ENTRY_INTR_INFO);
	if (!(info & INTR_VALID))
		return true;
	unsigned type = INTR_TYPE(info), vec = info & 0xff;
	if (type == 1) /* reserved */
		return false;
	/* "Other event" (fugu supports MTF): vector 0, a pending MTF VM exit. */
	if (type == IT_OTHER && vec != 0)
		return false;
	if (type == IT_NMI && vec != 2)
		return false;
	if (type == IT_HW_EXC && vec > 31)
		return false;
	return !(info & 0x7ffff000u); /* bits 30:12 reserved */
}
static bool
c_inject_errcode(const struct cpu *cpu)
{
	uint32_t info = (uint32_t)F(ENTRY_INTR_INFO);
	if (!(info & INTR_VALID))
		return true;
	unsigned vec = info & 0xff;
	bool needs = INTR_TYPE(info) == IT_HW_EXC && (F(GUEST_CR0) & CR0_PE) &&
		     (vec == 8 || (vec >= 10 && vec <= 14) || vec == 17);
	if (!!(info & INTR_ERRCODE) != needs)
		return false;
	return !needs || !(F(ENTRY_EXC_ERROR) & 0xffff8000u);
}
static bool
c_inject_len(const struct cpu *cpu)
{
	uint32_t info = (uint32_t)F(ENTRY_INTR_INFO);
	unsigned type = INTR_TYPE(info);
	if (!(info & INTR_VALID) ||
	    (type != IT_SW_INT && type != IT_PRIV_SW_EXC && type != IT_SW_EXC))
		return true;
	return F(ENTRY_INSN_LEN) >= 1 && F(ENTRY_INSN_LEN) <= 15;
}

/* clang-format off */
static const struct check control_checks[] = {
	{ "pin-based controls", c_pin },
	{ "primary processor-based controls", c_proc },
	{ "secondary processor-based controls", c_proc2 },
	{ "CR3-target count", c_cr3_count },
	{ "VPID", c_vpid },
	{ "EPT pointer", c_ept },
	{ "unrestricted guest without EPT", c_unrestricted },
	{ "PML without EPT or PML address", c_pml },
	{ "VM-function controls or EPTP-list address", c_vmfunc },
	{ "virtualization-exception information address", c_ept_ve },
	{ "virtual-APIC address", c_vapic },
	{ "TPR threshold", c_tpr_threshold },
	{ "virtualize x2APIC mode needs the TPR shadow", c_virt_x2apic },
	{ "APIC-register virtualization/virtual-interrupt delivery need the TPR shadow", c_apicv_tpr_shadow },
	{ "virtualize x2APIC mode with virtualize APIC accesses", c_x2apic_apic_access },
	{ "APIC-access address", c_apic_access },
	{ "virtual-interrupt delivery needs external-interrupt exiting", c_vid },
	{ "posted interrupts", c_posted },
	{ "I/O-bitmap addresses", c_io_bitmaps },
	{ "MSR-bitmap address", c_msr_bitmap },
	{ "VMREAD/VMWRITE-bitmap addresses", c_vmrw_bitmaps },
	{ "VM-exit controls", c_exit },
	{ "VM-exit MSR-store/load addresses", c_exit_msr_areas },
	{ "VM-entry controls", c_entry },
	{ "VM-entry MSR-load address", c_entry_msr_area },
	{ "event injection: type and vector", c_inject_type },
	{ "event injection: error code", c_inject_errcode },
	{ "event injection: instruction length", c_inject_len },
};
/* clang-format on */

/* ---- 26.2.2-26.2.4: host-state area ---- */

static bool
cr_fixed_ok(const struct cpu *cpu, uint64_t cr0, uint64_t cr4)
{
	return !(cr0 >> 32) && vmx_cr_fixed_ok(cpu, 0, cr0) && vmx_cr_fixed_ok(cpu, 4, cr4);
}

static bool
host64(const struct cpu *cpu)
{
	return (F(EXIT_CTLS) & EXIT_HOST_64) != 0;
}

static bool
h_cr0_cr4(const struct cpu *cpu)
{
	return cr_fixed_ok(cpu, F(HOST_CR0), F(HOST_CR4));
}
static bool
h_cr3(const struct cpu *cpu)
{
	return !(F(HOST_CR3) >> cpu->maxphyaddr);
}
static bool
h_sysenter(const struct cpu *cpu)
{
	return is_canonical(F(HOST_SYSENTER_ESP)) && is_canonical(F(HOST_SYSENTER_EIP));
}
static bool
h_pat(const struct cpu *cpu)
{
	if (!(F(EXIT_CTLS) & EXIT_LOAD_PAT))
		return true;
	for (unsigned k = 0; k < 8; k++) { /* types 0, 1, 4, 5, 6, 7 (26.2.2) */
		unsigned t = (F(HOST_PAT) >> (8 * k)) & 0xff;
		if (t == 2 || t == 3 || t > 7)
			return false;
	}
	return true;
}
static bool
h_efer(const struct cpu *cpu)
{
	if (!(F(EXIT_CTLS) & EXIT_LOAD_EFER))
		return true;
	uint64_t e = F(HOST_EFER);
	bool lma = (e & EFER_LMA) != 0, lme = (e & EFER_LME) != 0;
	return !(e & ~(cpu_efer_writable(cpu) | EFER_LMA)) && lma == host64(cpu) &&
	       lme == host64(cpu);
}
/* Selectors: RPL and TI 0; CS and TR not null; SS not null unless 64-bit host (26.2.3). */
static bool
h_selectors(const struct cpu *cpu)
{
	static const enum vmcs_field_id sel[] = { VMCS_HOST_ES_SEL, VMCS_HOST_CS_SEL,
						  VMCS_HOST_SS_SEL, VMCS_HOST_DS_SEL,
						  VMCS_HOST_FS_SEL, VMCS_HOST_GS_SEL,
						  VMCS_HOST_TR_SEL };
	for (unsigned k = 0; k < sizeof(sel) / sizeof(sel[0]); k++)
		if (vmcs_get(cpu, sel[k]) & 7)
			return false;
	return F(HOST_CS_SEL) && F(HOST_TR_SEL) && (F(HOST_SS_SEL) || host64(cpu));
}
static bool
h_bases(const struct cpu *cpu)
{
	return is_canonical(F(HOST_FS_BASE)) && is_canonical(F(HOST_GS_BASE)) &&
	       is_canonical(F(HOST_GDTR_BASE)) && is_canonical(F(HOST_IDTR_BASE)) &&
	       is_canonical(F(HOST_TR_BASE));
}
/* Address-space size (26.2.4): outside IA-32e mode the host and the guest are
 * not 64-bit; inside it the host is. */
static bool
h_address_space(const struct cpu *cpu)
{
	if (!(cpu->state.efer & EFER_LMA))
		return !host64(cpu) && !(F(ENTRY_CTLS) & ENTRY_IA32E);
	return host64(cpu);
}
static bool
h_rip_cr4(const struct cpu *cpu)
{
	if (host64(cpu))
		return (F(HOST_CR4) & CR4_PAE) && is_canonical(F(HOST_RIP));
	return !(F(HOST_CR4) & CR4_PCIDE) && !(F(HOST_RIP) >> 32);
}

/* clang-format off */
static const struct check host_checks[] = {
	{ "host CR0/CR4 fixed bits", h_cr0_cr4 },
	{ "host CR3 width", h_cr3 },
	{ "host SYSENTER_ESP/EIP canonical", h_sysenter },
	{ "host PAT", h_pat },
	{ "host EFER", h_efer },
	{ "host selectors", h_selectors },
	{ "host bases canonical", h_bases },
	{ "host address-space size", h_address_space },
	{ "host RIP and CR4 for the address-space size", h_rip_cr4 },
};
/* clang-format on */

/* ---- 26.3.1: guest-state area ----
 * The checks read the fields from `f`: the current VMCS at VM entry, or the
 * fields a saved CPU state would have (vmx_check_state, for snapshots). */
#undef F
#define F(id) f[VMCS_##id]

static bool
guest64(const struct cpu *cpu, const uint64_t *f)
{
	return (F(ENTRY_CTLS) & ENTRY_IA32E) != 0;
}
static bool
unusable(const uint64_t *f, enum vmcs_field_id ar)
{
	return (f[ar] & VMCS_AR_UNUSABLE) != 0;
}

static bool
unrestricted(const struct cpu *cpu, const uint64_t *f)
{
	return (F(PROC_CTLS) & PROC_SECONDARY) && (F(PROC_CTLS2) & PROC2_UNRESTRICTED);
}
/* CR0 and CR4 against the fixed bits, except PE and PG for an unrestricted
 * guest (26.3.1.1); PG still needs PE. */
static bool
g_cr0_cr4(const struct cpu *cpu, const uint64_t *f)
{
	uint64_t cr0 = F(GUEST_CR0);
	if (unrestricted(cpu, f))
		cr0 |= CR0_PE | CR0_PG;
	return cr_fixed_ok(cpu, cr0, F(GUEST_CR4)) &&
	       (!(F(GUEST_CR0) & CR0_PG) || (F(GUEST_CR0) & CR0_PE));
}
static bool
g_debug(const struct cpu *cpu, const uint64_t *f)
{
	return !(F(ENTRY_CTLS) & ENTRY_LOAD_DEBUG) || !(F(GUEST_DR7) >> 32);
}
static bool
g_ia32e(const struct cpu *cpu, const uint64_t *f)
{
	if (guest64(cpu, f))
		return (F(GUEST_CR0) & CR0_PG) && (F(GUEST_CR4) & CR4_PAE);
	return !(F(GUEST_CR4) & CR4_PCIDE);
}
static bool
g_cr3(const struct cpu *cpu, const uint64_t *f)
{
	return !(F(GUEST_CR3) >> cpu->maxphyaddr);
}
static bool
g_efer(const struct cpu *cpu, const uint64_t *f)
{
	if (!(F(ENTRY_CTLS) & ENTRY_LOAD_EFER))
		return true;
	uint64_t e = F(GUEST_EFER);
	if (e & ~(cpu_efer_writable(cpu) | EFER_LMA))
		return false;
	if (!!(e & EFER_LMA) != guest64(cpu, f))
		return false;
	return !(F(GUEST_CR0) & CR0_PG) || !!(e & EFER_LME) == !!(e & EFER_LMA);
}
static bool
g_tr_ldtr_ti(const struct cpu *cpu, const uint64_t *f)
{
	return !(F(GUEST_TR_SEL) & 4) &&
	       (unusable(f, VMCS_GUEST_LDTR_AR) || !(F(GUEST_LDTR_SEL) & 4));
}
static bool
g_ss_rpl(const struct cpu *cpu, const uint64_t *f)
{
	return (F(GUEST_RFLAGS) & F_VM) || unrestricted(cpu, f) ||
	       (F(GUEST_SS_SEL) & 3) == (F(GUEST_CS_SEL) & 3);
}
/* Access rights of CS, SS, DS-GS outside virtual-8086 mode (26.3.1.2). */
static bool
g_cs_ar(const struct cpu *cpu, const uint64_t *f)
{
	uint32_t ar = (uint32_t)F(GUEST_CS_AR);
	unsigned type = ar & 15;
	if (F(GUEST_RFLAGS) & F_VM)
		return ar == 0xf3;
	/* Type 3 (read/write accessed data) only for an unrestricted guest. */
	if (type != 9 && type != 11 && type != 13 && type != 15 &&
	    (type != 3 || !unrestricted(cpu, f)))
		return false;
	if (!(ar & 0x10) || !(ar & 0x80) || (ar & 0xffff0f00u)) /* CS is never unusable */
		return false;
	unsigned dpl = (ar >> 5) & 3;
	if (type == 3)
		return dpl == 0;
	if (type <= 11 && dpl != (F(GUEST_SS_AR) >> 5 & 3))
		return false;
	if (type >= 13 && dpl > (F(GUEST_SS_AR) >> 5 & 3))
		return false;
	if (guest64(cpu, f) && (ar & (1u << 13)) && (ar & (1u << 14)))
		return false;
	return true;
}
static bool
limit_g_ok(uint32_t limit, uint32_t ar)
{
	if ((limit & 0xfff) != 0xfff && (ar & (1u << 15)))
		return false;
	return !((limit >> 20) && !(ar & (1u << 15)));
}
static bool
g_data_ar(const struct cpu *cpu, const uint64_t *f)
{
	static const enum vmcs_field_id ars[] = { VMCS_GUEST_SS_AR, VMCS_GUEST_DS_AR,
						  VMCS_GUEST_ES_AR, VMCS_GUEST_FS_AR,
						  VMCS_GUEST_GS_AR };
	static const enum vmcs_field_id lims[] = { VMCS_GUEST_SS_LIMIT, VMCS_GUEST_DS_LIMIT,
						   VMCS_GUEST_ES_LIMIT, VMCS_GUEST_FS_LIMIT,
						   VMCS_GUEST_GS_LIMIT };
	static const enum vmcs_field_id sels[] = { VMCS_GUEST_SS_SEL, VMCS_GUEST_DS_SEL,
						   VMCS_GUEST_ES_SEL, VMCS_GUEST_FS_SEL,
						   VMCS_GUEST_GS_SEL };
	if (F(GUEST_RFLAGS) & F_VM)
		return true;
	/* SS.DPL is 0 when CS is a data segment (type 3) or CR0.PE is 0. */
	if (((F(GUEST_CS_AR) & 15) == 3 || !(F(GUEST_CR0) & CR0_PE)) && ((F(GUEST_SS_AR) >> 5) & 3))
		return false;
	for (unsigned k = 0; k < 5; k++) {
		uint32_t ar = (uint32_t)f[ars[k]];
		if (ar & VMCS_AR_UNUSABLE)
			continue;
		unsigned type = ar & 15;
		if (k == 0 && type != 3 && type != 7)
			return false;
		if (!(type & 1) || ((type & 8) && !(type & 2)))
			return false; /* accessed; code must be readable */
		if (!(ar & 0x10) || !(ar & 0x80) || (ar & 0xfffe0f00u))
			return false;
		if (!limit_g_ok((uint32_t)f[lims[k]], ar))
			return false;
		unsigned dpl = (ar >> 5) & 3, rpl = f[sels[k]] & 3;
		if (k == 0 && dpl != rpl && !unrestricted(cpu, f))
			return false; /* SS.DPL = SS.RPL */
		if (k > 0 && type < 12 && dpl < rpl && !unrestricted(cpu, f))
			return false; /* DS-GS, not conforming code: DPL >= RPL */
	}
	return limit_g_ok((uint32_t)F(GUEST_CS_LIMIT), (uint32_t)F(GUEST_CS_AR));
}
/* Virtual-8086 guests: base = selector * 16, limit FFFFh, access rights F3h. */
static bool
g_v86_segments(const struct cpu *cpu, const uint64_t *f)
{
	if (!(F(GUEST_RFLAGS) & F_VM))
		return true;
	for (unsigned s = 0; s < 6; s++) {
		uint64_t sel = f[VMCS_GUEST_ES_SEL + s];
		if (f[VMCS_GUEST_ES_BASE + s] != sel << 4 || f[VMCS_GUEST_ES_LIMIT + s] != 0xffff ||
		    f[VMCS_GUEST_ES_AR + s] != 0xf3)
			return false;
	}
	return true;
}
static bool
g_tr_ar(const struct cpu *cpu, const uint64_t *f)
{
	uint32_t ar = (uint32_t)F(GUEST_TR_AR);
	unsigned type = ar & 15;
	if (type != 11 && (guest64(cpu, f) || type != 3))
		return false;
	return !(ar & 0x10) && (ar & 0x80) && !(ar & 0xffff0f00u) && /* usable (26.3.1.2) */
	       limit_g_ok((uint32_t)F(GUEST_TR_LIMIT), ar);
}
static bool
g_ldtr_ar(const struct cpu *cpu, const uint64_t *f)
{
	uint32_t ar = (uint32_t)F(GUEST_LDTR_AR);
	if (ar & VMCS_AR_UNUSABLE)
		return true;
	return (ar & 15) == 2 && !(ar & 0x10) && (ar & 0x80) && !(ar & 0xfffe0f00u) &&
	       limit_g_ok((uint32_t)F(GUEST_LDTR_LIMIT), ar);
}
static bool
g_bases(const struct cpu *cpu, const uint64_t *f)
{
	return is_canonical(F(GUEST_TR_BASE)) && is_canonical(F(GUEST_FS_BASE)) &&
	       is_canonical(F(GUEST_GS_BASE)) && is_canonical(F(GUEST_LDTR_BASE)) &&
	       !(F(GUEST_CS_BASE) >> 32) &&
	       (unusable(f, VMCS_GUEST_SS_AR) || !(F(GUEST_SS_BASE) >> 32)) &&
	       (unusable(f, VMCS_GUEST_DS_AR) || !(F(GUEST_DS_BASE) >> 32)) &&
	       (unusable(f, VMCS_GUEST_ES_AR) || !(F(GUEST_ES_BASE) >> 32));
}
static bool
g_dtr(const struct cpu *cpu, const uint64_t *f)
{
	return is_canonical(F(GUEST_GDTR_BASE)) && is_canonical(F(GUEST_IDTR_BASE)) &&
	       !(F(GUEST_GDTR_LIMIT) >> 16) && !(F(GUEST_IDTR_LIMIT) >> 16);
}
static bool
g_rip(const struct cpu *cpu, const uint64_t *f)
{
	if (guest64(cpu, f) && (F(GUEST_CS_AR) & (1u << 13)))
		return is_canonical(F(GUEST_RIP));
	return !(F(GUEST_RIP) >> 32);
}
static bool
g_rflags(const struct cpu *cpu, const uint64_t *f)
{
	uint64_t r = F(GUEST_RFLAGS);
	if ((r & 0xffffffffffc08028ull) || !(r & F_FIXED1))
		return false;
	if ((r & F_VM) && (guest64(cpu, f) || !(F(GUEST_CR0) & CR0_PE)))
		return false;
	uint32_t info = (uint32_t)F(ENTRY_INTR_INFO);
	return !((info & INTR_VALID) && INTR_TYPE(info) == IT_EXTERNAL && !(r & F_IF));
}
static bool
g_activity(const struct cpu *cpu, const uint64_t *f)
{
	/* Active, HLT, shutdown and wait-for-SIPI (IA32_VMX_MISC bits 6-8); an
	 * inactive state not with STI or MOV SS blocking; HLT needs SS.DPL 0;
	 * only an NMI or a #MC may be injected into shutdown, nothing into
	 * wait-for-SIPI (26.3.1.5). */
	uint64_t a = F(GUEST_ACTIVITY);
	uint32_t info = (uint32_t)F(ENTRY_INTR_INFO);
	unsigned type = INTR_TYPE(info), vec = info & 0xff;
	if (a == 0)
		return true;
	if (a > 3 || (F(GUEST_INTERRUPTIBILITY) & 3))
		return false;
	if (a == 3)
		return !(info & INTR_VALID);
	if (a == 2)
		return !(info & INTR_VALID) || type == IT_NMI ||
		       (type == IT_HW_EXC && vec == EXC_MC);
	if ((F(GUEST_SS_AR) >> 5) & 3)
		return false;
	/* Into HLT only external interrupts, NMIs, #DB, #MC and a pending MTF VM
	 * exit can be injected. */
	return !(info & INTR_VALID) || type == IT_EXTERNAL || type == IT_NMI ||
	       (type == IT_HW_EXC && (vec == EXC_DB || vec == EXC_MC)) ||
	       (type == IT_OTHER && vec == 0);
}
static bool
g_interruptibility(const struct cpu *cpu, const uint64_t *f)
{
	uint64_t s = F(GUEST_INTERRUPTIBILITY);
	uint32_t info = (uint32_t)F(ENTRY_INTR_INFO);
	if (s & ~0xfull)
		return false;
	if ((s & 3) == 3 || ((s & 1) && !(F(GUEST_RFLAGS) & F_IF)))
		return false;
	if ((s & 4) && !cpu->state.in_smm)
		return false;
	if ((info & INTR_VALID) && INTR_TYPE(info) == IT_EXTERNAL && (s & 3))
		return false;
	/* Injecting an NMI: no MOV SS blocking; with virtual NMIs no (virtual-)NMI
	 * blocking (26.3.1.5). */
	if ((info & INTR_VALID) && INTR_TYPE(info) == IT_NMI &&
	    ((s & 2) || ((s & 8) && (F(PIN_CTLS) & PIN_VIRTUAL_NMI))))
		return false;
	return true;
}
static bool
g_pending_dbg(const struct cpu *cpu, const uint64_t *f)
{
	uint64_t p = F(GUEST_PENDING_DBG);
	if (p & ~0x1500full)
		return false;
	/* With STI/MOV SS blocking or in HLT, BS is set exactly when RFLAGS.TF is
	 * (IA32_DEBUGCTL.BTF is 0 here: fugu has none; 26.3.1.5). */
	if ((F(GUEST_INTERRUPTIBILITY) & 3) || F(GUEST_ACTIVITY) == 1)
		return !!(p & (1u << 14)) == !!(F(GUEST_RFLAGS) & F_TF);
	return true;
}

/* clang-format off */
typedef bool (*guest_check_fn)(const struct cpu *cpu, const uint64_t *f);
struct guest_check {
	const char *name;
	guest_check_fn ok;
	bool arch; /* holds for every state a processor can be in, not only a VM entry's */
};

static const struct guest_check guest_checks[] = {
	{ "guest CR0/CR4 fixed bits", g_cr0_cr4, false }, /* VMX's, not the architecture's */
	{ "guest DR7 (load debug controls)", g_debug, true },
	{ "IA-32e mode guest needs CR0.PG and CR4.PAE", g_ia32e, true },
	{ "guest CR3 width", g_cr3, true },
	{ "guest EFER (load EFER)", g_efer, true },
	{ "guest TR/LDTR TI flag", g_tr_ldtr_ti, true },
	{ "guest SS.RPL = CS.RPL", g_ss_rpl, true },
	{ "guest CS access rights", g_cs_ar, true },
	{ "guest SS/DS/ES/FS/GS access rights and limits", g_data_ar, true },
	{ "guest virtual-8086 segments", g_v86_segments, true },
	{ "guest TR access rights", g_tr_ar, true },
	{ "guest LDTR access rights", g_ldtr_ar, true },
	{ "guest segment bases", g_bases, true },
	{ "guest GDTR/IDTR", g_dtr, true },
	{ "guest RIP", g_rip, true },
	{ "guest RFLAGS", g_rflags, true },
	{ "guest activity state", g_activity, true },
	{ "guest interruptibility state", g_interruptibility, true },
	{ "guest pending debug exceptions", g_pending_dbg, true },
};
/* clang-format on */

static struct vmx_check_result
run_checks(const struct cpu *cpu, const struct check *t, size_t n, uint32_t error)
{
	for (size_t k = 0; k < n; k++)
		if (!t[k].ok(cpu))
			return (struct vmx_check_result){ t[k].name, error };
	return (struct vmx_check_result){ NULL, 0 };
}

struct vmx_check_result
vmx_check_controls(const struct cpu *cpu)
{
	return run_checks(cpu, control_checks, sizeof(control_checks) / sizeof(control_checks[0]),
			  VMERR_BAD_CONTROLS);
}

struct vmx_check_result
vmx_check_host(const struct cpu *cpu)
{
	return run_checks(cpu, host_checks, sizeof(host_checks) / sizeof(host_checks[0]),
			  VMERR_BAD_HOST);
}

static const char *
run_guest_checks(const struct cpu *cpu, const uint64_t *f, bool arch_only)
{
	for (size_t k = 0; k < sizeof(guest_checks) / sizeof(guest_checks[0]); k++)
		if ((guest_checks[k].arch || !arch_only) && !guest_checks[k].ok(cpu, f))
			return guest_checks[k].name;
	return NULL;
}

/*
 * A saved CPU state (a snapshot's, chipset/snapshot.c) against the guest-state
 * checks that hold for every state a processor can be in: the fields are the
 * ones VM exit would save from it (vmcs_guest_from_state), with "unrestricted
 * guest" (real mode and unpaged protected mode are states too, 26.3.1.1), "load
 * EFER" and "load debug controls" on and "IA-32e mode guest" = EFER.LMA. The
 * VMX fixed bits of CR0/CR4 are VM entry's own and not checked here.
 */
const char *
vmx_check_state(const struct cpu *cpu, const struct cpu_state *s)
{
	uint64_t f[VMCS_FIELD_COUNT] = { 0 };
	vmcs_guest_from_state(s, f);
	f[VMCS_GUEST_CR0] = s->cr0;
	f[VMCS_GUEST_CR3] = s->cr3;
	f[VMCS_GUEST_CR4] = s->cr4;
	f[VMCS_GUEST_RIP] = s->rip;
	f[VMCS_GUEST_RFLAGS] = s->rflags;
	f[VMCS_GUEST_DR7] = s->dr[7];
	f[VMCS_GUEST_EFER] = s->efer;
	f[VMCS_GUEST_INTERRUPTIBILITY] = (s->intr_shadow == 1 ? 1u : 0) |
					 (s->intr_shadow == 2 ? 2u : 0) | (s->nmi_blocked ? 8u : 0);
	f[VMCS_GUEST_ACTIVITY] = s->halted ? 1 : 0;
	f[VMCS_ENTRY_CTLS] =
		ENTRY_LOAD_DEBUG | ENTRY_LOAD_EFER | ((s->efer & EFER_LMA) ? ENTRY_IA32E : 0);
	f[VMCS_PROC_CTLS] = PROC_SECONDARY;
	f[VMCS_PROC_CTLS2] = PROC2_UNRESTRICTED;
	/* A descriptor cache's limit need not be one G could make: SMI loads
	 * 4 GiB limits without G (32.5.1), RSM any the state-save map holds. VM
	 * exit saves what the cache has; here G is what the limit needs, so the
	 * limit checks of 26.3.1.2 pass for every limit. */
	for (unsigned k = 0; k < 8; k++) { /* ES, CS, SS, DS, FS, GS, LDTR, TR */
		uint64_t *lim = &f[VMCS_GUEST_ES_LIMIT + k], *ar = &f[VMCS_GUEST_ES_AR + k];
		*ar &= ~(1ull << 15);
		if (*lim >> 20) {
			*ar |= 1u << 15;
			*lim |= 0xfff;
		}
	}
	return run_guest_checks(cpu, f, true);
}

struct vmx_check_result
vmx_check_guest(const struct cpu *cpu)
{
	const uint64_t *f = cpu->vmx->f;
	struct vmx_check_result r = { run_guest_checks(cpu, f, false), 0 };
	if (r.check)
		return r;
	/* The VMCS link pointer (26.3.1.5), unless all ones: 4 KiB aligned within
	 * MAXPHYADDR, its region's bits 30:0 the revision and bit 31 the "VMCS
	 * shadowing" control, not the current VMCS (fugu has no SMM monitor); a
	 * failure has qualification 4. */
	uint64_t link = F(VMCS_LINK_PTR);
	if (link == VMCS_NONE)
		return r;
	uint32_t rev = 0;
	bool shadowing = (F(PROC_CTLS) & PROC_SECONDARY) && (F(PROC_CTLS2) & PROC2_SHADOW_VMCS);
	if (phys_ok(cpu, link, 4096))
		physmem_read(cpu->mem, link, &rev, 4);
	if (!phys_ok(cpu, link, 4096) || rev != (VMX_REVISION | (shadowing ? 1u << 31 : 0)) ||
	    link == cpu->vmx->current)
		return (struct vmx_check_result){ "VMCS link pointer", 4 };
	return r;
}

#undef F

/* Load the guest state (26.3.2) through the state table and the mode gate. */
static bool
load_guest(struct cpu *cpu)
{
	struct cpu_state *s = &cpu->state;
	const uint64_t *f = cpu->vmx->f;
	uint64_t efer = s->efer;
	if (f[VMCS_ENTRY_CTLS] & ENTRY_LOAD_EFER) {
		efer = f[VMCS_GUEST_EFER];
	} else {
		/* LMA and LME follow "IA-32e mode guest" (26.3.2.1). */
		efer &= ~(EFER_LMA | EFER_LME);
		if (f[VMCS_ENTRY_CTLS] & ENTRY_IA32E)
			efer |= EFER_LMA | EFER_LME;
	}
	struct control_regs ctl = { f[VMCS_GUEST_CR0] | CR0_ET, f[VMCS_GUEST_CR3],
				    f[VMCS_GUEST_CR4], efer };
	/* PAE paging outside IA-32e mode loads the PDPTEs; an invalid one fails the
	 * entry with qualification 2 (26.3.1.6), before anything changed. With
	 * EPT they come from the guest PDPTE fields instead (26.3.2.4), whose
	 * present entries must not set reserved bits (2:1, 8:5, 63:MAXPHYADDR). */
	bool ept = (f[VMCS_PROC_CTLS] & PROC_SECONDARY) && (f[VMCS_PROC_CTLS2] & PROC2_EPT);
	bool pae = mmu_legacy_pae(ctl.cr0, ctl.cr4, ctl.efer);
	if (ept && pae) {
		uint64_t rsvd = ~((1ull << cpu->maxphyaddr) - 1) | 0x1e6;
		for (unsigned k = 0; k < 4; k++)
			if ((f[VMCS_GUEST_PDPTE0 + k] & 1) && (f[VMCS_GUEST_PDPTE0 + k] & rsvd))
				return false;
	}
	if (!cpu_load_control(cpu, &ctl, (ept ? CTL_NO_PDPTES : CTL_LOAD_PDPTES) | CTL_FLUSH_ALL,
			      "vmentry"))
		return false;
	if (ept && pae)
		for (unsigned k = 0; k < 4; k++)
			s->pdpte[k] = f[VMCS_GUEST_PDPTE0 + k];
	for (unsigned k = 0; k < VMCS_FIELD_COUNT; k++) {
		const struct vmcs_field *vf = &vmcs_fields[k];
		if (vmcs_enc_type(vf->enc) != VMCS_T_GUEST)
			continue;
		if (vf->map == VM_PLAIN) {
			state_set(s, vf->state, f[k]);
		} else if (vf->map == VM_AR) {
			uint16_t attr = vmcs_attr_from_ar((uint32_t)f[k]);
			if (f[k] & VMCS_AR_UNUSABLE)
				attr &= ~SEG_ATTR_P; /* an unusable register faults on use */
			state_set(s, vf->state, attr);
		}
	}
	if (f[VMCS_ENTRY_CTLS] & ENTRY_LOAD_DEBUG) {
		s->dr[7] = f[VMCS_GUEST_DR7] | 0x400;
		cpu_debug_update(cpu);
	}
	if (f[VMCS_ENTRY_CTLS] & ENTRY_LOAD_PAT)
		s->msr.pat = f[VMCS_GUEST_PAT];
	cpu->lf.mask = 0;
	s->rflags = f[VMCS_GUEST_RFLAGS];
	s->rip = f[VMCS_GUEST_RIP];
	s->cpl = (uint8_t)((f[VMCS_GUEST_SS_AR] >> 5) & 3);
	uint64_t intr = f[VMCS_GUEST_INTERRUPTIBILITY];
	s->intr_shadow = (intr & 2) ? 2 : (intr & 1) ? 1 : 0;
	s->nmi_blocked = (intr & 8) != 0;
	s->halted = f[VMCS_GUEST_ACTIVITY] != 0;
	cpu->vmx->guest_shutdown = f[VMCS_GUEST_ACTIVITY] == 2; /* until an NMI or an exit */
	cpu->wait_sipi = f[VMCS_GUEST_ACTIVITY] == 3; /* only INIT and SIPI end it: both exit */
	cpu_mode_update(cpu);
	return true;
}

/* The VM-entry MSR-load area (26.4): 16-byte entries (index, reserved, value);
 * a failure gives exit reason 34 with the entry's number, counting from 1. */
static uint32_t
load_msrs(struct cpu *cpu, uint64_t addr, uint64_t count)
{
	for (uint64_t k = 0; k < count; k++) {
		uint32_t e[4];
		physmem_read(cpu->mem, addr + 16 * k, e, sizeof(e));
		uint32_t index = e[0];
		uint64_t value = e[2] | (uint64_t)e[3] << 32;
		/* FS/GS base, the x2APIC range and the SMM MSRs may not be loaded this way. */
		if (e[1] || index == MSR_FS_BASE || index == MSR_GS_BASE || (index >> 8) == 0x8 ||
		    index == 0x9e || msr_write(cpu, index, value) < 0)
			return (uint32_t)k + 1;
	}
	return 0;
}

/* Inject the event of the VM-entry interruption-information field (26.6). */
static void
inject(struct cpu *cpu)
{
	uint32_t info = (uint32_t)cpu->vmx->f[VMCS_ENTRY_INTR_INFO];
	if (!(info & INTR_VALID))
		return;
	cpu->vmx->f[VMCS_ENTRY_INTR_INFO] = info & ~INTR_VALID; /* cleared by entry (27.2.3) */
	unsigned vec = info & 0xff, type = INTR_TYPE(info);
	if (type == IT_OTHER) { /* a pending MTF VM exit, whatever the control (25.5.2) */
		cpu->vmx->mtf_pending = true;
		cpu->events |= EV_VMX_MTF;
		return;
	}
	uint32_t err =
		(info & INTR_ERRCODE) ? (uint32_t)cpu->vmx->f[VMCS_ENTRY_EXC_ERROR] : NO_ERRCODE;
	uint64_t next = cpu->state.rip + cpu->vmx->f[VMCS_ENTRY_INSN_LEN];
	cpu->state.halted = false; /* a vectoring entry leaves the guest active (26.6.2) */
	cpu->vmx->guest_shutdown = false;
	cpu->insn_rip = cpu->state.rip;
	/* An injected hardware exception is not subject to the exception bitmap
	 * (26.6.1.1): vmx_exception lets it through once. Any other injected event
	 * never reaches that door, so a fault while delivering it (a #PF on the
	 * stack) must find the flag clear and exit by the bitmap (27.2.4). */
	cpu->vmx->injecting = type == IT_HW_EXC;
	switch (type) {
	case IT_EXTERNAL:
		cpu_deliver_event(cpu, vec, EVENT_EXTERNAL, NO_ERRCODE, cpu->state.rip);
		break;
	case IT_NMI:
		cpu->state.nmi_blocked = true;
		cpu_deliver_event(cpu, vec, EVENT_NMI, NO_ERRCODE, cpu->state.rip);
		break;
	case IT_HW_EXC: cpu_deliver_event(cpu, vec, EVENT_EXCEPTION, err, cpu->state.rip); break;
	default: /* software interrupt and (privileged) software exception: after the instruction */
		if (type != IT_SW_INT) /* an exit while delivering it names its type (27.2.4) */
			vmx_soft_exception(cpu, type);
		cpu_deliver_event(cpu, vec,
				  type == IT_PRIV_SW_EXC ? EVENT_EXTERNAL : EVENT_SOFTWARE_INT,
				  NO_ERRCODE, next);
		break;
	}
	cpu->vmx->injecting = false; /* a vector that reached no exception door */
}

void
vmx_enter(struct cpu *cpu, bool launch)
{
	struct vmx *v = cpu->vmx;
	struct vmx_check_result r = vmx_check_guest(cpu);
	if (r.check)
		vmx_entry_fail(cpu, VMX_EXIT_BAD_GUEST, r.error, r.check);
	if (!load_guest(cpu))
		vmx_entry_fail(cpu, VMX_EXIT_BAD_GUEST, 2, "guest PDPTEs");
	vmx_ept_enter(cpu);
	cpu->vmx_nonroot = true;
	v->launched = true;
	v->hlt_wake = false;
	v->vectoring = 0;
	uint32_t bad =
		load_msrs(cpu, v->f[VMCS_ENTRY_MSR_LOAD_ADDR], v->f[VMCS_ENTRY_MSR_LOAD_COUNT]);
	if (bad)
		vmx_entry_fail(cpu, VMX_EXIT_BAD_MSR_LOAD, bad, "VM-entry MSR-load area");
	trace_vmentry(cpu->tracer, cpu, launch, true, "none", cpu->state.rip,
		      (uint32_t)v->f[VMCS_ENTRY_INTR_INFO], vmx_written_fields(cpu));
	cpu->stop_trace = true;
	/* An armed interrupt window is looked at on every boundary. */
	if (v->f[VMCS_PROC_CTLS] & (PROC_INTR_WINDOW | PROC_NMI_WINDOW))
		cpu->events |= EV_VMX;
	v->in_iret = false;
	/* MTF: an exit after the first instruction that retires (VMLAUNCH itself
	 * retires once this returns), or after the delivery of an event. */
	v->mtf_pending = false;
	v->mtf_icount = cpu->icount + 1;
	v->ple_seen = false; /* the first PAUSE after VM entry starts a loop (25.1.3) */
	if (v->f[VMCS_PROC_CTLS] & PROC_MTF)
		cpu->events |= EV_VMX_MTF;
	if (v->f[VMCS_PIN_CTLS] & PIN_PREEMPT_TIMER)
		vmx_preempt_start(cpu);
	v->pending_dbg = 0;
	uint32_t info = (uint32_t)v->f[VMCS_ENTRY_INTR_INFO];
	bool vectoring = (info & INTR_VALID) && INTR_TYPE(info) != IT_OTHER;
	vmx_apicv_enter(cpu);
	inject(cpu);
	/* Pending debug exceptions (26.6.3): after an entry that is not
	 * vectoring, B3:0 or BS make a debug trap pending, delivered before the
	 * first guest instruction, or after it with MOV SS blocking. XXX: an
	 * entry into an inactive activity state drops them. */
	uint32_t pd = (uint32_t)v->f[VMCS_GUEST_PENDING_DBG] & 0x400fu;
	if (pd && !vectoring && !cpu->state.halted) {
		if (cpu->state.intr_shadow == 2) {
			cpu->dbg_deferred = pd;
		} else {
			cpu->vmx->injecting = false;
			cpu_debug_deliver(cpu, pd);
		}
	}
	cpu->delivering = false;
}
