/*
 * fugu — the MSR table (SDM vol. 4, chapter 2). Each row: index, the feature
 * that makes it exist, and its accessors. An MSR not in the table, or one whose
 * feature the model lacks, raises #GP like hardware.
 */
#include "cpu/msr.h"

#include <stddef.h>
#include <string.h>

#include "cpu/cpu_internal.h"
#include "cpu/jit/jit.h"
#include "cpu/vmx/vmx.h"

/* MSR_KIND_APIC: implemented by the local APIC device, reached through cpu->bus. */
enum msr_kind {
	MSR_PLAIN,
	MSR_KIND_TSC,
	MSR_KIND_EFER,
	MSR_KIND_FSBASE,
	MSR_KIND_GSBASE,
	MSR_KIND_APIC,
	MSR_KIND_MISC_ENABLE,
	MSR_KIND_MCG_CAP,
	MSR_KIND_MC_BANK,
	MSR_KIND_FEATURE_CONTROL, /* IA32_FEATURE_CONTROL: lock semantics (cpu/vmx/vmx.c) */
	MSR_KIND_VMX_CAP,         /* IA32_VMX_BASIC ... VMFUNC, read-only (cpu/vmx/caps.c) */
	MSR_KIND_ZERO,            /* reads 0; only 0 may be written (reserved ~0: read-only) */
	MSR_KIND_SPEC_CTRL,       /* IA32_SPEC_CTRL: the bits the model enumerates */
	MSR_KIND_PRED_CMD,        /* IA32_PRED_CMD: write-only command */
};

struct msr_row {
	uint32_t index;
	enum cpu_feature feature;              /* the MSR exists when the model has it... */
	bool (*exists)(const struct cpu *cpu); /* ...or, if set, when this says so */
	enum msr_kind kind;
	size_t offset;     /* MSR_PLAIN: field of struct msr_state */
	uint64_t reset;    /* MSR_PLAIN: value after RESET */
	uint64_t reserved; /* bits that must be written as zero (#GP otherwise) */
	bool canonical;    /* the value is an address and must be canonical */
};

#define PLAIN(field) NULL, MSR_PLAIN, offsetof(struct msr_state, field)
#define PLAIN_IF(exists, field) exists, MSR_PLAIN, offsetof(struct msr_state, field)

/*
 * IA32_MISC_ENABLE (SDM vol. 4, table 2-2; Linux reads and rewrites it early):
 * fast strings (0), TCC (3), Limit CPUID Maxval (22, honoured by CPUID) and
 * xTPR disable (23) are read/write; performance monitoring available (7) reads
 * 0 and BTS/PEBS unavailable (11, 12) read 1, as fugu models no PMU, and writes
 * leave them alone. Every other bit is #GP when set. XXX: XD Bit Disable (34)
 * is not modelled (its write is #GP): Linux only ever clears it.
 */
#define MISC_ENABLE_RW ((1ull << 0) | (1ull << 3) | (1ull << 22) | (1ull << 23))
#define MISC_ENABLE_RO ((1ull << 7) | (1ull << 11) | (1ull << 12))
#define MISC_ENABLE_RESET ((1ull << 0) | (1ull << 11) | (1ull << 12))

/* IA32_MCG_CAP.MCG_CTL_P (bit 8): IA32_MCG_CTL exists (SDM vol. 3B, 15.3.1.1). */
#define MCG_CTL_P (1ull << 8)

/* The IA32_SPEC_CTRL bits the model enumerates; none: the MSR does not exist. */
static uint64_t
spec_ctrl_bits(const struct cpu *cpu)
{
	return (cpu_has(&cpu->features, FEAT_SPEC_CTRL) ? 1u : 0u) |
	       (cpu_has(&cpu->features, FEAT_STIBP) ? 2u : 0u) |
	       (cpu_has(&cpu->features, FEAT_SSBD) ? 4u : 0u);
}

static bool
has_spec_ctrl(const struct cpu *cpu)
{
	return spec_ctrl_bits(cpu) != 0;
}

static bool
is_intel(const struct cpu *cpu)
{
	return !strcmp(cpu->features.vendor, "GenuineIntel");
}

/* IA32_EFER exists with any of the features it enables (SDM vol. 4, table 2-2). */
static bool
has_efer(const struct cpu *cpu)
{
	return cpu_has(&cpu->features, FEAT_LM) || cpu_has(&cpu->features, FEAT_NX) ||
	       cpu_has(&cpu->features, FEAT_SYSCALL);
}

static const struct msr_row msr_table[] = {
	{ MSR_TSC, FEAT_TSC, NULL, MSR_KIND_TSC, 0, 0, 0, false },
	{ MSR_APIC_BASE, FEAT_APIC, NULL, MSR_KIND_APIC, 0, 0, 0xffffff00000002ffull, false },
	/* Every Intel model: written with 0, then CPUID leaf 1 loads the
	 * revision into bits 63:32 (SDM vol. 3A, 9.11.7.1); writes are plain stores. */
	{ MSR_BIOS_SIGN_ID, FEAT_NONE, PLAIN_IF(is_intel, bios_sign_id),
	  (uint64_t)MICROCODE_REVISION << 32, 0, false },
	/* Every Intel model: bits 52:50 the platform (0, the one microcode matches
	 * with flag 1); read-only. Linux's microcode loader reads it on resume. */
	{ MSR_PLATFORM_ID, FEAT_NONE, PLAIN_IF(is_intel, platform_id), 0, ~0ull, false },
	/* Speculation controls (SDM vol. 4, table 2-2; Intel's "Speculative
	 * Execution Side Channel Mitigations"): IA32_SPEC_CTRL exists when CPUID
	 * enumerates any of its bits, IBRS (7.0:EDX[26]), STIBP ([27]) or SSBD
	 * ([31]), and only those bits may be set; IA32_PRED_CMD (IBPB, with [26])
	 * is write-only, bit 0 the command. fugu has no branch predictor to
	 * restrict, so the bits are kept and have no other effect. */
	{ MSR_SPEC_CTRL, FEAT_NONE, has_spec_ctrl, MSR_KIND_SPEC_CTRL, 0, 0, 0, false },
	{ MSR_PRED_CMD, FEAT_SPEC_CTRL, NULL, MSR_KIND_PRED_CMD, 0, 0, ~1ull, false },
	/* Machine-check architecture (SDM vol. 3B, 15.3): MCG_CAP is read-only (the
	 * model's bank count and MCG_CTL_P); MCG_STATUS holds RIPV/EIPV/MCIP. */
	{ MSR_MCG_CAP, FEAT_MCA, NULL, MSR_KIND_MCG_CAP, 0, 0, ~0ull, false },
	{ MSR_MCG_STATUS, FEAT_MCA, PLAIN(mcg_status), 0, ~7ull, false },
	{ MSR_MCG_CTL, FEAT_MCA, PLAIN(mcg_ctl), 0, 0, false },
	{ MSR_MC0_CTL, FEAT_MCA, NULL, MSR_KIND_MC_BANK, 0, 0, 0, false }, /* the model's banks */
	{ MSR_FEATURE_CONTROL, FEAT_VMX, NULL, MSR_KIND_FEATURE_CONTROL, 0, 0, 0, false },
	{ MSR_VMX_BASIC, FEAT_VMX, NULL, MSR_KIND_VMX_CAP, 0, 0, ~0ull, false }, /* 0x480-0x491 */
	{ MSR_SYSENTER_CS, FEAT_SEP, PLAIN(sysenter_cs), 0, 0, false },
	{ MSR_SYSENTER_ESP, FEAT_SEP, PLAIN(sysenter_esp), 0, 0, true },
	{ MSR_SYSENTER_EIP, FEAT_SEP, PLAIN(sysenter_eip), 0, 0, true },
	/* IA32_DEBUGCTL (SDM vol. 3B, 17.4.1; every P6-family and later part): it
	 * exists, since Linux reads it unchecked (KVM's vcpu run saves the host's),
	 * but fugu has none of its features (LBR, BTF, TR, BTS, FREEZE_*): it reads
	 * 0 and a write of anything but 0 is #GP. XXX: BTF could be modelled in
	 * debug.c. */
	{ MSR_DEBUGCTL, FEAT_NONE, NULL, MSR_KIND_ZERO, 0, 0, 0, false },
	/* IA32_XSS (SDM vol. 4, table 2-2; vol. 1, 13.3): the supervisor state
	 * components XSAVES/XRSTORS manage. fugu has no supervisor component
	 * (CPUID.(EAX=0DH,ECX=1):ECX/EDX = 0), so every bit is reserved: it reads
	 * 0 and a write of anything but 0 is #GP. Exists with xsaves. */
	{ MSR_XSS, FEAT_XSAVES, NULL, MSR_KIND_ZERO, 0, 0, 0, false },
	{ MSR_MISC_ENABLE, FEAT_NONE, NULL, MSR_KIND_MISC_ENABLE, 0, 0,
	  ~(MISC_ENABLE_RW | MISC_ENABLE_RO), false },
	{ MSR_PAT, FEAT_PAT, PLAIN(pat), 0x0007040600070406ull, 0xf8f8f8f8f8f8f8f8ull, false },
	/* MTRRs (SDM vol. 3A, 12.11): storage only -- fugu models no caches. MTRRCAP:
	 * 8 variable ranges, fixed ranges, write-combining; read-only (#GP on write). */
	{ MSR_MTRRCAP, FEAT_MTRR, PLAIN(mtrr_cap), 0x508, ~0ull, false },
	{ MSR_MTRR_DEF_TYPE, FEAT_MTRR, PLAIN(mtrr_def_type), 0, ~0xcffull, false },
	{ MSR_MTRR_PHYSBASE0 + 0, FEAT_MTRR, PLAIN(mtrr_var[0]), 0, 0xfffffff000000f00ull, false },
	{ MSR_MTRR_PHYSBASE0 + 1, FEAT_MTRR, PLAIN(mtrr_var[1]), 0, 0xfffffff0000007ffull, false },
	{ MSR_MTRR_PHYSBASE0 + 2, FEAT_MTRR, PLAIN(mtrr_var[2]), 0, 0xfffffff000000f00ull, false },
	{ MSR_MTRR_PHYSBASE0 + 3, FEAT_MTRR, PLAIN(mtrr_var[3]), 0, 0xfffffff0000007ffull, false },
	{ MSR_MTRR_PHYSBASE0 + 4, FEAT_MTRR, PLAIN(mtrr_var[4]), 0, 0xfffffff000000f00ull, false },
	{ MSR_MTRR_PHYSBASE0 + 5, FEAT_MTRR, PLAIN(mtrr_var[5]), 0, 0xfffffff0000007ffull, false },
	{ MSR_MTRR_PHYSBASE0 + 6, FEAT_MTRR, PLAIN(mtrr_var[6]), 0, 0xfffffff000000f00ull, false },
	{ MSR_MTRR_PHYSBASE0 + 7, FEAT_MTRR, PLAIN(mtrr_var[7]), 0, 0xfffffff0000007ffull, false },
	{ MSR_MTRR_PHYSBASE0 + 8, FEAT_MTRR, PLAIN(mtrr_var[8]), 0, 0xfffffff000000f00ull, false },
	{ MSR_MTRR_PHYSBASE0 + 9, FEAT_MTRR, PLAIN(mtrr_var[9]), 0, 0xfffffff0000007ffull, false },
	{ MSR_MTRR_PHYSBASE0 + 10, FEAT_MTRR, PLAIN(mtrr_var[10]), 0, 0xfffffff000000f00ull,
	  false },
	{ MSR_MTRR_PHYSBASE0 + 11, FEAT_MTRR, PLAIN(mtrr_var[11]), 0, 0xfffffff0000007ffull,
	  false },
	{ MSR_MTRR_PHYSBASE0 + 12, FEAT_MTRR, PLAIN(mtrr_var[12]), 0, 0xfffffff000000f00ull,
	  false },
	{ MSR_MTRR_PHYSBASE0 + 13, FEAT_MTRR, PLAIN(mtrr_var[13]), 0, 0xfffffff0000007ffull,
	  false },
	{ MSR_MTRR_PHYSBASE0 + 14, FEAT_MTRR, PLAIN(mtrr_var[14]), 0, 0xfffffff000000f00ull,
	  false },
	{ MSR_MTRR_PHYSBASE0 + 15, FEAT_MTRR, PLAIN(mtrr_var[15]), 0, 0xfffffff0000007ffull,
	  false },
	{ 0x250, FEAT_MTRR, PLAIN(mtrr_fixed[0]), 0, 0, false },
	{ 0x258, FEAT_MTRR, PLAIN(mtrr_fixed[1]), 0, 0, false },
	{ 0x259, FEAT_MTRR, PLAIN(mtrr_fixed[2]), 0, 0, false },
	{ 0x268, FEAT_MTRR, PLAIN(mtrr_fixed[3]), 0, 0, false },
	{ 0x269, FEAT_MTRR, PLAIN(mtrr_fixed[4]), 0, 0, false },
	{ 0x26a, FEAT_MTRR, PLAIN(mtrr_fixed[5]), 0, 0, false },
	{ 0x26b, FEAT_MTRR, PLAIN(mtrr_fixed[6]), 0, 0, false },
	{ 0x26c, FEAT_MTRR, PLAIN(mtrr_fixed[7]), 0, 0, false },
	{ 0x26d, FEAT_MTRR, PLAIN(mtrr_fixed[8]), 0, 0, false },
	{ 0x26e, FEAT_MTRR, PLAIN(mtrr_fixed[9]), 0, 0, false },
	{ 0x26f, FEAT_MTRR, PLAIN(mtrr_fixed[10]), 0, 0, false },
	{ MSR_TSC_DEADLINE, FEAT_TSC_DEADLINE, NULL, MSR_KIND_APIC, 0, 0, 0, false },
	{ MSR_X2APIC_FIRST, FEAT_X2APIC, NULL, MSR_KIND_APIC, 0, 0, 0,
	  false }, /* the whole range */
	{ MSR_EFER, FEAT_NONE, has_efer, MSR_KIND_EFER, 0, 0, 0, false },
	{ MSR_STAR, FEAT_SYSCALL, PLAIN(star), 0, 0, false },
	{ MSR_LSTAR, FEAT_LM, PLAIN(lstar), 0, 0, true },
	{ MSR_CSTAR, FEAT_LM, PLAIN(cstar), 0, 0, true },
	{ MSR_FMASK, FEAT_LM, PLAIN(fmask), 0, 0xffffffff00000000ull, false },
	{ MSR_FS_BASE, FEAT_LM, NULL, MSR_KIND_FSBASE, 0, 0, 0, true },
	{ MSR_GS_BASE, FEAT_LM, NULL, MSR_KIND_GSBASE, 0, 0, 0, true },
	{ MSR_KERNEL_GS_BASE, FEAT_LM, PLAIN(kernel_gs_base), 0, 0, true },
	{ MSR_TSC_AUX, FEAT_RDTSCP, PLAIN(tsc_aux), 0, 0xffffffff00000000ull, false },
};

static const struct msr_row *
msr_find(struct cpu *cpu, uint32_t index)
{
	/* One row stands for all the x2APIC registers (SDM vol. 3A, 10.12.1.2). */
	uint32_t key =
		index >= MSR_X2APIC_FIRST && index <= MSR_X2APIC_LAST ? MSR_X2APIC_FIRST : index;
	/* One row stands for the machine-check banks the model advertises. */
	if (index >= MSR_MC0_CTL && index <= MSR_MC_LAST) {
		if (index - MSR_MC0_CTL >= 4u * cpu->features.mca_banks)
			return NULL;
		key = MSR_MC0_CTL;
	}
	if (index >= MSR_VMX_BASIC && index <= MSR_VMX_LAST)
		key = MSR_VMX_BASIC; /* one row for the capability MSRs */
	for (size_t k = 0; k < sizeof(msr_table) / sizeof(msr_table[0]); k++) {
		const struct msr_row *r = &msr_table[k];
		if (r->index != key)
			continue;
		if (r->exists)
			return r->exists(cpu) ? r : NULL;
		return cpu_has(&cpu->features, r->feature) ? r : NULL;
	}
	return NULL;
}

static uint64_t *
plain_field(struct cpu *cpu, const struct msr_row *r)
{
	return (uint64_t *)((char *)&cpu->state.msr + r->offset);
}

void
msr_reset(struct cpu *cpu)
{
	for (size_t k = 0; k < sizeof(msr_table) / sizeof(msr_table[0]); k++)
		if (msr_table[k].kind == MSR_PLAIN)
			*plain_field(cpu, &msr_table[k]) = msr_table[k].reset;
	cpu->state.msr.misc_enable = MISC_ENABLE_RESET;
	memset(cpu->state.msr.mc, 0, sizeof(cpu->state.msr.mc));
}

void
msr_cpuid_signature(struct cpu *cpu)
{
	if (msr_find(cpu, MSR_BIOS_SIGN_ID))
		cpu->state.msr.bios_sign_id = (uint64_t)MICROCODE_REVISION << 32;
}

/*
 * Memory types a PAT entry may hold: 0 UC, 1 WC, 4 WT, 5 WP, 6 WB, 7 UC-; 2, 3
 * and 8 up are reserved, #GP (SDM vol. 3A, 12.12.2). An MTRR type field takes
 * the same minus 7 (12.11.2.2, 12.11.2.3).
 */
static bool
mem_type_ok(uint64_t type, bool pat)
{
	return type == 0 || type == 1 || (type >= 4 && type <= 6) || (pat && type == 7);
}

static bool
mem_types_ok(uint32_t index, uint64_t value)
{
	if (index == MSR_PAT) {
		for (unsigned k = 0; k < 8; k++)
			if (!mem_type_ok((value >> (8 * k)) & 0xff, true))
				return false;
		return true;
	}
	if (index == MSR_MTRR_DEF_TYPE ||
	    (index >= MSR_MTRR_PHYSBASE0 && index < MSR_MTRR_PHYSBASE0 + 16 && !(index & 1)))
		return mem_type_ok(value & 0xff, false);
	if (index == 0x250 || index == 0x258 || index == 0x259 ||
	    (index >= 0x268 && index <= 0x26f)) {
		for (unsigned k = 0; k < 8; k++) /* fixed ranges: eight type fields */
			if (!mem_type_ok((value >> (8 * k)) & 0xff, false))
				return false;
	}
	return true;
}

/* EFER bits the model lets software set (SDM vol. 3A, 2.2.1). */
int
msr_read(struct cpu *cpu, uint32_t index, uint64_t *value)
{
	if (__builtin_expect(cpu->jcheck != NULL, 0))
		jit_check_io(cpu); /* -jit check: an MSR may be a device's (APIC, TSC) */
	const struct msr_row *r = msr_find(cpu, index);
	if (!r)
		return -1;
	switch (r->kind) {
	case MSR_KIND_TSC:
		*value = cpu_tsc(cpu);
		if (cpu->vmx_nonroot)
			*value += vmx_tsc_offset(cpu); /* TSC offsetting (SDM vol. 3C, 25.3) */
		break;
	case MSR_KIND_FEATURE_CONTROL: *value = cpu->vmx->feature_control; break;
	case MSR_KIND_VMX_CAP: return vmx_cap_msr(cpu, index, value);
	case MSR_KIND_EFER: *value = cpu->state.efer; break;
	case MSR_KIND_FSBASE: *value = cpu->state.seg[S_FS].base; break;
	case MSR_KIND_GSBASE: *value = cpu->state.seg[S_GS].base; break;
	case MSR_KIND_APIC:
		return cpu->bus.apic_msr_read ? cpu->bus.apic_msr_read(cpu->bus.apic, index, value)
					      : -1;
	case MSR_KIND_MISC_ENABLE: *value = cpu->state.msr.misc_enable; break;
	case MSR_KIND_ZERO: *value = 0; break;
	case MSR_KIND_SPEC_CTRL: *value = cpu->state.msr.spec_ctrl; break;
	case MSR_KIND_PRED_CMD: return -1; /* write-only */
	case MSR_KIND_MCG_CAP: *value = MCG_CTL_P | cpu->features.mca_banks; break;
	case MSR_KIND_MC_BANK:
		*value = cpu->state.msr.mc[(index - MSR_MC0_CTL) / 4][(index - MSR_MC0_CTL) % 4];
		break;
	default: *value = *plain_field(cpu, r); break;
	}
	return 0;
}

int
msr_write(struct cpu *cpu, uint32_t index, uint64_t value)
{
	if (__builtin_expect(cpu->jcheck != NULL, 0))
		jit_check_io(cpu); /* -jit check: an MSR may be a device's (APIC, TSC) */
	const struct msr_row *r = msr_find(cpu, index);
	/* reserved == ~0: a read-only MSR, whose every write is #GP (0 included). */
	if (!r || (value & r->reserved) || r->reserved == ~0ull)
		return -1;
	if (r->canonical && !is_canonical(value))
		return -1;
	if (!mem_types_ok(index, value))
		return -1;
	/* IA32_APIC_BASE: the base is a physical address; bits MAXPHYADDR-1 and up
	 * are reserved (SDM vol. 3A, 10.4.4, figure 10-5). */
	if (r->index == MSR_APIC_BASE && (value >> cpu->maxphyaddr))
		return -1;
	switch (r->kind) {
	case MSR_KIND_TSC: cpu->state.tsc_offset += value - cpu_tsc(cpu); break;
	case MSR_KIND_FEATURE_CONTROL: return vmx_feature_control_write(cpu, value);
	case MSR_KIND_VMX_CAP: return -1; /* read-only */
	case MSR_KIND_EFER:
		if (cpu_write_efer(cpu, value) < 0) /* the mode gate (mode.c) */
			return -1;
		break;
	case MSR_KIND_FSBASE: cpu->state.seg[S_FS].base = value; break;
	case MSR_KIND_GSBASE: cpu->state.seg[S_GS].base = value; break;
	case MSR_KIND_APIC:
		return cpu->bus.apic_msr_write
			       ? cpu->bus.apic_msr_write(cpu->bus.apic, index, value)
			       : -1;
	case MSR_KIND_MISC_ENABLE:
		cpu->state.msr.misc_enable =
			(cpu->state.msr.misc_enable & MISC_ENABLE_RO) | (value & MISC_ENABLE_RW);
		break;
	case MSR_KIND_ZERO:
		if (value)
			return -1;
		break;
	case MSR_KIND_SPEC_CTRL:
		if (value & ~spec_ctrl_bits(cpu))
			return -1;
		cpu->state.msr.spec_ctrl = value;
		break;
	case MSR_KIND_PRED_CMD: break; /* IBPB: no predictor state to discard */
	case MSR_KIND_MC_BANK: {
		/* MCi_CTL: any value. MCi_STATUS, MCi_ADDR, MCi_MISC: software clears
		 * them with 0s; "writing 1s to them causes a general-protection
		 * exception" (SDM vol. 3B, 15.3.2.2; 15.3.2.3-4 for ADDR and MISC). */
		unsigned reg = (index - MSR_MC0_CTL) % 4;
		if (reg != 0 && value)
			return -1;
		cpu->state.msr.mc[(index - MSR_MC0_CTL) / 4][reg] = value;
		break;
	}
	default: *plain_field(cpu, r) = value; break;
	}
	return 0;
}
