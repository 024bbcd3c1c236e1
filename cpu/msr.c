/*
 * fugu — the MSR table (SDM vol. 4, chapter 2). Each row: index, the feature
 * that makes it exist, and its accessors. An MSR not in the table, or one whose
 * feature the model lacks, raises #GP like hardware.
 */
#include "cpu/msr.h"

#include <stddef.h>

#include "cpu/cpu_internal.h"

/* MSR_KIND_APIC: implemented by the local APIC device, reached through cpu->bus. */
enum msr_kind {
	MSR_PLAIN,
	MSR_KIND_TSC,
	MSR_KIND_EFER,
	MSR_KIND_FSBASE,
	MSR_KIND_GSBASE,
	MSR_KIND_APIC
};

struct msr_row {
	uint32_t index;
	enum cpu_feature feature;
	enum msr_kind kind;
	size_t offset;     /* MSR_PLAIN: field of struct msr_state */
	uint64_t reset;    /* MSR_PLAIN: value after RESET */
	uint64_t reserved; /* bits that must be written as zero (#GP otherwise) */
	bool canonical;    /* the value is an address and must be canonical */
};

#define PLAIN(field) MSR_PLAIN, offsetof(struct msr_state, field)

static const struct msr_row msr_table[] = {
	{ MSR_TSC, FEAT_TSC, MSR_KIND_TSC, 0, 0, 0, false },
	{ MSR_APIC_BASE, FEAT_APIC, MSR_KIND_APIC, 0, 0, 0xffffff00000002ffull, false },
	{ MSR_SYSENTER_CS, FEAT_SEP, PLAIN(sysenter_cs), 0, 0, false },
	{ MSR_SYSENTER_ESP, FEAT_SEP, PLAIN(sysenter_esp), 0, 0, true },
	{ MSR_SYSENTER_EIP, FEAT_SEP, PLAIN(sysenter_eip), 0, 0, true },
	{ MSR_MISC_ENABLE, FEAT_NONE, PLAIN(misc_enable), 1, 0, false },
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
	{ MSR_TSC_DEADLINE, FEAT_TSC_DEADLINE, MSR_KIND_APIC, 0, 0, 0, false },
	{ MSR_X2APIC_FIRST, FEAT_X2APIC, MSR_KIND_APIC, 0, 0, 0, false }, /* the whole range */
	{ MSR_EFER, FEAT_NONE, MSR_KIND_EFER, 0, 0, 0, false },
	{ MSR_STAR, FEAT_SYSCALL, PLAIN(star), 0, 0, false },
	{ MSR_LSTAR, FEAT_LM, PLAIN(lstar), 0, 0, true },
	{ MSR_CSTAR, FEAT_LM, PLAIN(cstar), 0, 0, true },
	{ MSR_FMASK, FEAT_LM, PLAIN(fmask), 0, 0xffffffff00000000ull, false },
	{ MSR_FS_BASE, FEAT_LM, MSR_KIND_FSBASE, 0, 0, 0, true },
	{ MSR_GS_BASE, FEAT_LM, MSR_KIND_GSBASE, 0, 0, 0, true },
	{ MSR_KERNEL_GS_BASE, FEAT_LM, PLAIN(kernel_gs_base), 0, 0, true },
	{ MSR_TSC_AUX, FEAT_RDTSCP, PLAIN(tsc_aux), 0, 0xffffffff00000000ull, false },
};

static const struct msr_row *
msr_find(struct cpu *cpu, uint32_t index)
{
	/* One row stands for all the x2APIC registers (SDM vol. 3A, 10.12.1.2). */
	uint32_t key =
		index >= MSR_X2APIC_FIRST && index <= MSR_X2APIC_LAST ? MSR_X2APIC_FIRST : index;
	for (size_t k = 0; k < sizeof(msr_table) / sizeof(msr_table[0]); k++) {
		const struct msr_row *r = &msr_table[k];
		if (r->index != key)
			continue;
		if (r->kind == MSR_KIND_EFER)
			return (cpu_has(&cpu->features, FEAT_LM) ||
				cpu_has(&cpu->features, FEAT_NX) ||
				cpu_has(&cpu->features, FEAT_SYSCALL))
				       ? r
				       : NULL;
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
}

/* EFER bits the model lets software set (SDM vol. 3A, 2.2.1). */
int
msr_read(struct cpu *cpu, uint32_t index, uint64_t *value)
{
	const struct msr_row *r = msr_find(cpu, index);
	if (!r)
		return -1;
	switch (r->kind) {
	case MSR_KIND_TSC: *value = cpu_tsc(cpu); break;
	case MSR_KIND_EFER: *value = cpu->state.efer; break;
	case MSR_KIND_FSBASE: *value = cpu->state.seg[S_FS].base; break;
	case MSR_KIND_GSBASE: *value = cpu->state.seg[S_GS].base; break;
	case MSR_KIND_APIC:
		return cpu->bus.apic_msr_read ? cpu->bus.apic_msr_read(cpu->bus.apic, index, value)
					      : -1;
	default: *value = *plain_field(cpu, r); break;
	}
	return 0;
}

int
msr_write(struct cpu *cpu, uint32_t index, uint64_t value)
{
	const struct msr_row *r = msr_find(cpu, index);
	if (!r || (value & r->reserved))
		return -1;
	if (r->canonical && !is_canonical(value))
		return -1;
	switch (r->kind) {
	case MSR_KIND_TSC: cpu->state.tsc_offset += value - cpu_tsc(cpu); break;
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
	default: *plain_field(cpu, r) = value; break;
	}
	return 0;
}
