/*
 * fugu — the VMX capability MSRs (SDM vol. 3C, appendix A), all from one
 * table. Policy is written here, where it is enforced: a control is allowed-1
 * exactly when fugu implements what it does, and each row says why. The same
 * table decides what VM entry accepts (entry.c checks the controls against
 * the TRUE MSRs, IA32_VMX_BASIC bit 55 being set).
 */
#include "cpu/cpu_internal.h"
#include "cpu/vmx/vmx.h"

#include <string.h>

enum cap_reg { CAP_PIN, CAP_PROC, CAP_PROC2, CAP_EXIT, CAP_ENTRY };

/* The default-1 bits (A.3-A.5): reserved bits that read as 1 in the plain MSRs;
 * the TRUE MSRs let the ones named in the comment be 0. */
static const uint32_t default1[] = {
	[CAP_PIN] = 0x00000016,                            /* bits 1, 2, 4 */
	[CAP_PROC] = 0x0401e172,                           /* 1, 4-6, 8, 13-16, 26 */
	[CAP_PROC2] = 0,          [CAP_EXIT] = 0x00036dff, /* 0-8, 10, 11, 13, 14, 16, 17 */
	[CAP_ENTRY] = 0x000011ff,                          /* 0-8, 12 */
};
/* The default-1 bits the TRUE MSRs allow to be 0 (A.3.1-A.5): CR3-load/store
 * exiting, save/load debug controls. */
static const uint32_t true_may_clear[] = {
	[CAP_PIN] = 0,
	[CAP_PROC] = PROC_CR3_LOAD | PROC_CR3_STORE,
	[CAP_PROC2] = 0,
	[CAP_EXIT] = EXIT_SAVE_DEBUG,
	[CAP_ENTRY] = ENTRY_LOAD_DEBUG,
};

/* clang-format off */
static const struct cap_row {
	uint8_t reg;   /* enum cap_reg */
	uint32_t bit;
	enum cpu_feature feat; /* the control needs this feature of the model (FEAT_NONE: none) */
} allowed1[] = {
	/* Pin-based. */
	{ CAP_PIN, PIN_EXT_INTR, FEAT_NONE },	/* the run loop asks before acknowledging */
	{ CAP_PIN, PIN_NMI, FEAT_NONE },	/* the run loop asks before delivering an NMI */
	/* The VMX-preemption timer (timer.c): a deadline on the virtual clock,
	 * TSC >> VMX_PREEMPT_SHIFT; exit 52, also from HLT. */
	{ CAP_PIN, PIN_PREEMPT_TIMER, FEAT_NONE },
	/* Virtual NMIs: "blocking by NMI" is virtual (set by an injected NMI,
	 * removed by IRET), real NMIs exit regardless (exit.c). */
	{ CAP_PIN, PIN_VIRTUAL_NMI, FEAT_NONE },
	/* Posted-interrupt processing (apicv.c, 29.6): an external interrupt
	 * with the notification vector merges the descriptor's PIR into VIRR
	 * instead of exiting. It needs virtual-interrupt delivery, so the same
	 * models (x2APIC generation). */
	{ CAP_PIN, PIN_POSTED_INTR, FEAT_X2APIC },

	/* Primary processor-based. */
	{ CAP_PROC, PROC_INTR_WINDOW, FEAT_NONE }, /* checked at each boundary while set */
	{ CAP_PROC, PROC_TSC_OFFSET, FEAT_NONE },  /* RDTSC, RDTSCP and RDMSR(TSC) add it */
	{ CAP_PROC, PROC_HLT, FEAT_NONE },
	{ CAP_PROC, PROC_INVLPG, FEAT_NONE },
	/* MWAIT/MONITOR: fugu does not execute them (no monitor feature), so they
	 * raise #UD, which comes before any exit (SDM vol. 3C, 26.1.1); the controls
	 * are allowed because kvm_intel requires them, and they never fire. */
	{ CAP_PROC, PROC_MWAIT, FEAT_NONE },
	{ CAP_PROC, PROC_RDPMC, FEAT_NONE },
	{ CAP_PROC, PROC_RDTSC, FEAT_NONE },
	{ CAP_PROC, PROC_CR3_LOAD, FEAT_NONE },	/* with the four CR3-target values */
	{ CAP_PROC, PROC_CR3_STORE, FEAT_NONE },
	{ CAP_PROC, PROC_CR8_LOAD, FEAT_LM },	/* CR8 exists in 64-bit mode only */
	{ CAP_PROC, PROC_CR8_STORE, FEAT_LM },
	/* TPR shadow: MOV CR8 reads and writes VTPR in the virtual-APIC page, and
	 * TPR virtualization follows (29.3, apicv.c). CR8 exists in 64-bit mode
	 * only. */
	{ CAP_PROC, PROC_TPR_SHADOW, FEAT_LM },
	{ CAP_PROC, PROC_MOV_DR, FEAT_NONE },
	{ CAP_PROC, PROC_UNCOND_IO, FEAT_NONE },
	{ CAP_PROC, PROC_IO_BITMAPS, FEAT_NONE },	/* bitmaps A and B, straddling accesses */
	{ CAP_PROC, PROC_MSR_BITMAPS, FEAT_NONE },	/* all four 1 KiB quarters */
	{ CAP_PROC, PROC_MONITOR, FEAT_NONE },	/* see MWAIT */
	{ CAP_PROC, PROC_PAUSE, FEAT_NONE },
	/* Monitor trap flag: the run's budget ends after each instruction, the
	 * exit (37) at the next boundary, or after an event's delivery (exit.c). */
	{ CAP_PROC, PROC_MTF, FEAT_NONE },
	{ CAP_PROC, PROC_SECONDARY, FEAT_NONE },
	{ CAP_PROC, PROC_NMI_WINDOW, FEAT_NONE }, /* exit 8 at the boundary (exit.c) */

	/* Secondary processor-based. */
	/* EPT: the second stage of every guest-physical access (ept.c), with
	 * what IA32_VMX_EPT_VPID_CAP reports below. */
	{ CAP_PROC2, PROC2_EPT, FEAT_NONE },
	{ CAP_PROC2, PROC2_DESC_TABLE, FEAT_NONE }, /* exits 46/47 with instruction information */
	{ CAP_PROC2, PROC2_RDTSCP, FEAT_RDTSCP },   /* clear: RDTSCP is #UD in the guest */
	/* Virtualize x2APIC mode (apicv.c): x2APIC MSRs on the virtual-APIC page
	 * (29.5); it needs the TPR shadow, so the same models. */
	{ CAP_PROC2, PROC2_VIRT_X2APIC, FEAT_LM },
	/* VPID: fugu keeps no translation across VM entries and exits (both flush
	 * the whole TLB), so none is ever tagged with a VPID: "enable VPID" changes
	 * nothing but the entry check on the VPID field, and INVVPID (every type)
	 * flushes everything, more than required (28.3.3.3). */
	{ CAP_PROC2, PROC2_VPID, FEAT_NONE },
	{ CAP_PROC2, PROC2_WBINVD, FEAT_NONE },
	/* Unrestricted guest: the interpreter runs real mode and unpaged
	 * protected mode anyway; under EPT a linear address is then the
	 * guest-physical one. Only the entry checks change (26.3.1). */
	{ CAP_PROC2, PROC2_UNRESTRICTED, FEAT_NONE },
	{ CAP_PROC2, PROC2_INVPCID, FEAT_INVPCID }, /* clear: INVPCID is #UD in the guest */
	{ CAP_PROC2, PROC2_PLE, FEAT_NONE }, /* PLE_Gap/PLE_Window in TSC ticks (timer.c) */
	/* VMCS shadowing: VMREAD/VMWRITE in non-root operation go to the shadow
	 * VMCS (the link pointer's region) when their bitmap bit is clear. */
	{ CAP_PROC2, PROC2_SHADOW_VMCS, FEAT_NONE },
	/* VM functions: VMFUNC in non-root operation; the only function is EPTP
	 * switching (0), as IA32_VMX_VMFUNC says (ept.c). */
	{ CAP_PROC2, PROC2_VMFUNC, FEAT_NONE },
	/* EPT-violation #VE: a convertible EPT violation (its entry's bit 63
	 * clear) is a virtualization exception in the guest (ept.c). */
	{ CAP_PROC2, PROC2_EPT_VE, FEAT_NONE },
	/* PML: with EPT A/D, each EPT dirty flag set 0 -> 1 logs the page's
	 * guest-physical address; a full log exits (62) first (ept.c). */
	{ CAP_PROC2, PROC2_PML, FEAT_NONE },
	/* Virtualize APIC accesses (apicv.c, 29.4): accesses to the APIC-access
	 * page stay out of the TLB and exit (44) or use the virtual-APIC page.
	 * FlexPriority predates x2APIC: every model with VMX (nehalem too). */
	{ CAP_PROC2, PROC2_APIC_ACCESS, FEAT_NONE },
	/* APIC-register virtualization and virtual-interrupt delivery
	 * (apicv.c, 29.2, 29.4, 29.5): the APICv generation (Ivy Bridge-EP on),
	 * which all has x2APIC; nehalem has neither, skylake and max have both. */
	{ CAP_PROC2, PROC2_APIC_REG_VIRT, FEAT_X2APIC },
	{ CAP_PROC2, PROC2_VID, FEAT_X2APIC },
	/* Not allowed: RDRAND/RDSEED exiting (fugu has neither), XSAVES. */

	/* VM-exit controls. */
	{ CAP_EXIT, EXIT_SAVE_DEBUG, FEAT_NONE },	/* DR7 (IA32_DEBUGCTL reads 0: msr.c) */
	{ CAP_EXIT, EXIT_HOST_64, FEAT_LM },
	{ CAP_EXIT, EXIT_ACK_INTR, FEAT_NONE },	/* the vector lands in the exit information */
	{ CAP_EXIT, EXIT_SAVE_PAT, FEAT_PAT },
	{ CAP_EXIT, EXIT_LOAD_PAT, FEAT_PAT },
	{ CAP_EXIT, EXIT_SAVE_EFER, FEAT_LM },
	{ CAP_EXIT, EXIT_LOAD_EFER, FEAT_LM },
	{ CAP_EXIT, EXIT_SAVE_PREEMPT, FEAT_NONE }, /* what is left of the timer (timer.c) */
	/* Not allowed: PERF_GLOBAL_CTRL (no such MSR), BNDCFGS (no MPX). */

	/* VM-entry controls. */
	{ CAP_ENTRY, ENTRY_LOAD_DEBUG, FEAT_NONE },
	{ CAP_ENTRY, ENTRY_IA32E, FEAT_LM },
	{ CAP_ENTRY, ENTRY_LOAD_PAT, FEAT_PAT },
	{ CAP_ENTRY, ENTRY_LOAD_EFER, FEAT_LM },
	/* Not allowed: entry to SMM and dual-monitor treatment (no SMM monitor),
	 * PERF_GLOBAL_CTRL, BNDCFGS. */
};
/* clang-format on */

/* The allowed-1 settings follow from the model's feature bits alone. VM entry
 * checks every control against them, so they are computed once per feature
 * set (kept with the bits they came from: fugu runs its CPUs on one thread)
 * rather than by a scan of the table on every entry. */
static uint32_t
cap_allowed1(const struct cpu *cpu, enum cap_reg reg)
{
	static uint64_t bits[sizeof(cpu->features.bits) / sizeof(cpu->features.bits[0])];
	static uint32_t v[CAP_ENTRY + 1];
	static bool valid;
	_Static_assert(sizeof(bits) == sizeof(cpu->features.bits), "the feature bits");
	if (!valid || memcmp(bits, cpu->features.bits, sizeof(bits))) {
		memcpy(bits, cpu->features.bits, sizeof(bits));
		for (unsigned r = 0; r <= CAP_ENTRY; r++)
			v[r] = default1[r];
		for (size_t k = 0; k < sizeof(allowed1) / sizeof(allowed1[0]); k++)
			if (cpu_has(&cpu->features, allowed1[k].feat))
				v[allowed1[k].reg] |= allowed1[k].bit;
		valid = true;
	}
	return v[reg];
}

/* A control MSR: allowed-0 settings (bits that must be 1) in 31:0, allowed-1 in 63:32. */
static uint64_t
cap_ctl(const struct cpu *cpu, enum cap_reg reg, bool true_msr)
{
	uint32_t must1 = default1[reg] & ~(true_msr ? true_may_clear[reg] : 0);
	return must1 | (uint64_t)cap_allowed1(cpu, reg) << 32;
}

int
vmx_cap_msr(const struct cpu *cpu, uint32_t index, uint64_t *value)
{
	if (!cpu->vmx)
		return -1;
	switch (index) {
	case 0x480: /* IA32_VMX_BASIC (A.1): revision, VMCS size 4096, WB, INS/OUTS info, TRUE */
		*value =
			VMX_REVISION | (4096ull << 32) | (6ull << 50) | (1ull << 54) | (1ull << 55);
		return 0;
	case 0x481: *value = cap_ctl(cpu, CAP_PIN, false); return 0;
	case 0x482: *value = cap_ctl(cpu, CAP_PROC, false); return 0;
	case 0x483: *value = cap_ctl(cpu, CAP_EXIT, false); return 0;
	case 0x484: *value = cap_ctl(cpu, CAP_ENTRY, false); return 0;
	case 0x485:
		/* IA32_VMX_MISC (A.6): LMA stored into "IA-32e mode guest" (bit 5),
		 * activity states HLT (bit 6), shutdown (bit 7: only NMIs, INIT,
		 * SMIs and the preemption timer end it) and wait-for-SIPI (bit 8:
		 * an AP's hypervisor parks its guest there; INIT and SIPI exit),
		 * four CR3-target values, MSR lists of up to 512
		 * entries (bits 27:25 = 0), MSEG revision 0; the preemption timer
		 * counts when TSC bit VMX_PREEMPT_SHIFT changes (bits 4:0). */
		*value = VMX_PREEMPT_SHIFT | (1u << 5) | (1u << 6) | (1u << 7) | (1u << 8) |
			 (4u << 16);
		return 0;
	case 0x486: *value = CR0_PE | CR0_NE | CR0_PG; return 0;        /* CR0_FIXED0 (A.7) */
	case 0x487: *value = 0xffffffffull; return 0;                   /* CR0_FIXED1 */
	case 0x488: *value = CR4_VMXE; return 0;                        /* CR4_FIXED0 (A.8) */
	case 0x489: *value = cpu_cr4_writable(cpu); return 0;           /* CR4_FIXED1 */
	case 0x48a: *value = (uint64_t)vmcs_max_index() << 1; return 0; /* VMCS_ENUM (A.9) */
	case 0x48b: *value = cap_ctl(cpu, CAP_PROC2, false); return 0;
	case 0x48d: *value = cap_ctl(cpu, CAP_PIN, true); return 0;
	case 0x48e: *value = cap_ctl(cpu, CAP_PROC, true); return 0;
	case 0x48f: *value = cap_ctl(cpu, CAP_EXIT, true); return 0;
	case 0x490: *value = cap_ctl(cpu, CAP_ENTRY, true); return 0;
	case 0x48c:
		/* IA32_VMX_EPT_VPID_CAP (A.10): EPT execute-only entries (0),
		 * 4-level (6) and 5-level (7) walks, EPTP memory types UC (8) and WB (14), 2 MiB
		 * (16) and 1 GiB (17) pages, INVEPT (20), EPT accessed/dirty flags (21),
		 * single-context (25) and all-context (26) INVEPT; INVVPID (32) with
		 * the individual-address (40), single-context (41), all-context (42)
		 * and single-context-retaining-globals (43) types. No advanced
		 * VM-exit information for EPT violations (22), no supervisor
		 * shadow-stack control (23). */
		*value = 1ull | (1ull << 6) | (1ull << 7) | (1ull << 8) | (1ull << 14) |
			 (1ull << 16) | (1ull << 17) | (1ull << 20) | (1ull << 21) | (1ull << 25) |
			 (1ull << 26) | (1ull << 32) | (0xfull << 40);
		return 0;
	case 0x491:
		/* IA32_VMX_VMFUNC (A.11): exists when "enable VM functions" may be
		 * 1; the VM functions allowed: EPTP switching (bit 0) alone. */
		if (!(cap_allowed1(cpu, CAP_PROC2) & PROC2_VMFUNC))
			return -1;
		*value = 1;
		return 0;
	default: return -1;
	}
}
