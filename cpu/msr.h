/*
 * fugu — model-specific registers: one table saying which MSRs exist (decided
 * by the CPU feature set), their reset values and their write rules.
 */
#ifndef FUGU_MSR_H
#define FUGU_MSR_H

#include <stdint.h>

struct cpu;

#define MSR_TSC 0x00000010
#define MSR_APIC_BASE 0x0000001b
#define MSR_PLATFORM_ID 0x00000017  /* IA32_PLATFORM_ID (SDM vol. 4, table 2-2) */
#define MSR_BIOS_SIGN_ID 0x0000008b /* microcode update signature (SDM vol. 3A, 9.11.7.1) */
#define MSR_SPEC_CTRL 0x00000048    /* IA32_SPEC_CTRL: IBRS, STIBP, SSBD (SDM vol. 4, table 2-2) */
#define MSR_PRED_CMD 0x00000049     /* IA32_PRED_CMD: IBPB, write-only */
#define MSR_MCG_CAP 0x00000179
#define MSR_MCG_STATUS 0x0000017a
#define MSR_MCG_CTL 0x0000017b
#define MSR_MC0_CTL 0x00000400 /* IA32_MCi_CTL/STATUS/ADDR/MISC at 0x400 + 4i + 0..3 */
#define MSR_MC_LAST 0x0000047f /* 32 banks at most (MCG_CAP.Count is 8 bits, SDM 15.3.1.1) */
#define MCA_BANKS_MAX 10       /* the most any fugu model advertises */
#define MSR_SYSENTER_CS 0x00000174
#define MSR_SYSENTER_ESP 0x00000175
#define MSR_SYSENTER_EIP 0x00000176
#define MSR_MISC_ENABLE 0x000001a0
#define MSR_DEBUGCTL 0x000001d9
#define MSR_XSS 0x00000da0 /* IA32_XSS */
#define MSR_TSC_DEADLINE 0x000006e0
#define MSR_X2APIC_FIRST 0x00000800 /* x2APIC registers: 0x800-0x8ff */
#define MSR_X2APIC_LAST 0x000008ff
#define MSR_PAT 0x00000277
#define MSR_MTRRCAP 0x000000fe
#define MSR_MTRR_PHYSBASE0 0x00000200
#define MSR_MTRR_DEF_TYPE 0x000002ff
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_FMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103

#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

/* Storage for the MSRs that are plain registers. */
struct msr_state {
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
	uint64_t star, lstar, cstar, fmask, kernel_gs_base, tsc_aux;
	uint64_t pat, misc_enable;
	uint64_t mtrr_cap;             /* IA32_MTRRCAP (read-only: its row rejects every write) */
	uint64_t mtrr_def_type;        /* IA32_MTRR_DEF_TYPE */
	uint64_t mtrr_fixed[11];       /* the fixed-range MTRRs, in MSR order */
	uint64_t mtrr_var[16];         /* PHYSBASE0, PHYSMASK0, ... PHYSMASK7 */
	uint64_t bios_sign_id;         /* IA32_BIOS_SIGN_ID: bits 63:32 the microcode revision */
	uint64_t platform_id;          /* IA32_PLATFORM_ID (read-only): platform 0 */
	uint64_t mcg_status;           /* IA32_MCG_STATUS (RIPV, EIPV, MCIP) */
	uint64_t spec_ctrl;            /* IA32_SPEC_CTRL: IBRS (0), STIBP (1), SSBD (2) */
	uint64_t mcg_ctl;              /* IA32_MCG_CTL */
	uint64_t mc[MCA_BANKS_MAX][4]; /* IA32_MCi_CTL, _STATUS, _ADDR, _MISC per bank */
};

/* The microcode revision fugu's Intel models report in IA32_BIOS_SIGN_ID[63:32]. */
#define MICROCODE_REVISION 1
/* Called by CPUID leaf 1, which loads the revision into IA32_BIOS_SIGN_ID. */
void msr_cpuid_signature(struct cpu *cpu);

void msr_reset(struct cpu *cpu);
/* 0 on success; -1 when the MSR does not exist or the value is invalid (the caller raises #GP). */
int msr_read(struct cpu *cpu, uint32_t index, uint64_t *value);
int msr_write(struct cpu *cpu, uint32_t index, uint64_t value);

#endif
