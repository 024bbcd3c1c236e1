/*
 * fugu — CPU models and the feature set: the one source of truth for what the
 * emulated processor is. CPUID, the decoder, CR4/EFER write masks and the MSR
 * table all ask this set.
 */
#ifndef FUGU_CPUID_H
#define FUGU_CPUID_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/*
 * X(name, id, leaf, register, bit, implemented, host): every feature flag fugu knows,
 * with where CPUID reports it (SDM vol. 2A, CPUID, tables 3-8 to 3-11; register: 0=EAX
 * 1=EBX 2=ECX 3=EDX), whether fugu executes it (0: CPUID can report it, but its
 * instructions raise #UD/#NM or its state is not modelled: PKU's RDPKRU/WRPKRU)
 * and whether its instructions run on the host's own unit (x87, SIMD and
 * the VEX GPR instructions: cpu/exec/x87.c, sse.c, avx.c), so that the host must
 * have the same CPUID bit (and, for the AVX family, an OS that enabled the YMM
 * state) before a guest may see it (docs/FPU.md, "Host features"). MCE/MCA are
 * implemented as the architecture without errors: CR4.MCE and the machine-check
 * MSRs (msr.c) exist, and since fugu emulates no hardware error no bank ever logs
 * one and #MC never happens.
 */
#define CPU_FEATURE_LIST(X)                                                                        \
	X("fpu", FPU, 0x00000001, 3, 0, 1, 1)                                                      \
	X("vme", VME, 0x00000001, 3, 1, 1, 0)                                                      \
	X("de", DE, 0x00000001, 3, 2, 1, 0)                                                        \
	X("pse", PSE, 0x00000001, 3, 3, 1, 0)                                                      \
	X("tsc", TSC, 0x00000001, 3, 4, 1, 0)                                                      \
	X("msr", MSR, 0x00000001, 3, 5, 1, 0)                                                      \
	X("pae", PAE, 0x00000001, 3, 6, 1, 0)                                                      \
	X("mce", MCE, 0x00000001, 3, 7, 1, 0)                                                      \
	X("cx8", CX8, 0x00000001, 3, 8, 1, 0)                                                      \
	X("apic", APIC, 0x00000001, 3, 9, 1, 0)                                                    \
	X("sep", SEP, 0x00000001, 3, 11, 1, 0)                                                     \
	X("mtrr", MTRR, 0x00000001, 3, 12, 1, 0)                                                   \
	X("pge", PGE, 0x00000001, 3, 13, 1, 0)                                                     \
	X("mca", MCA, 0x00000001, 3, 14, 1, 0)                                                     \
	X("cmov", CMOV, 0x00000001, 3, 15, 1, 0)                                                   \
	X("pat", PAT, 0x00000001, 3, 16, 1, 0)                                                     \
	X("pse36", PSE36, 0x00000001, 3, 17, 1, 0)                                                 \
	X("clflush", CLFLUSH, 0x00000001, 3, 19, 1, 0)                                             \
	X("mmx", MMX, 0x00000001, 3, 23, 1, 1)                                                     \
	X("fxsr", FXSR, 0x00000001, 3, 24, 1, 1)                                                   \
	X("sse", SSE, 0x00000001, 3, 25, 1, 1)                                                     \
	X("sse2", SSE2, 0x00000001, 3, 26, 1, 1)                                                   \
	X("sse3", SSE3, 0x00000001, 2, 0, 1, 1)                                                    \
	X("pclmulqdq", PCLMULQDQ, 0x00000001, 2, 1, 1, 1)                                          \
	X("vmx", VMX, 0x00000001, 2, 5, 1, 0)                                                      \
	X("ssse3", SSSE3, 0x00000001, 2, 9, 1, 1)                                                  \
	X("cx16", CX16, 0x00000001, 2, 13, 1, 0)                                                   \
	X("fma", FMA, 0x00000001, 2, 12, 1, 1)                                                     \
	X("pcid", PCID, 0x00000001, 2, 17, 1, 0)                                                   \
	X("sse4.1", SSE41, 0x00000001, 2, 19, 1, 1)                                                \
	X("sse4.2", SSE42, 0x00000001, 2, 20, 1, 1)                                                \
	X("x2apic", X2APIC, 0x00000001, 2, 21, 1, 0)                                               \
	X("movbe", MOVBE, 0x00000001, 2, 22, 1, 0)                                                 \
	X("popcnt", POPCNT, 0x00000001, 2, 23, 1, 0)                                               \
	X("tsc-deadline", TSC_DEADLINE, 0x00000001, 2, 24, 1, 0)                                   \
	X("aes", AES, 0x00000001, 2, 25, 1, 1)                                                     \
	X("xsave", XSAVE, 0x00000001, 2, 26, 1, 0)                                                 \
	X("xsaveopt", XSAVEOPT, 0x0000000d, 0, 0, 1, 0) /* leaf 0DH subleaf 1 */                   \
	X("xsavec", XSAVEC, 0x0000000d, 0, 1, 1, 0)     /* and XRSTOR's compacted form */          \
	X("xgetbv1", XGETBV1, 0x0000000d, 0, 2, 1, 0)   /* XGETBV with ECX = 1: XINUSE */          \
	X("xsaves", XSAVES, 0x0000000d, 0, 3, 1, 0)     /* XSAVES, XRSTORS, IA32_XSS */            \
	X("avx", AVX, 0x00000001, 2, 28, 1, 1)                                                     \
	X("f16c", F16C, 0x00000001, 2, 29, 1, 1)                                                   \
	X("hypervisor", HYPERVISOR, 0x00000001, 2, 31, 1, 0)                                       \
	X("fsgsbase", FSGSBASE, 0x00000007, 1, 0, 1, 0)                                            \
	X("bmi1", BMI1, 0x00000007, 1, 3, 1, 1)                                                    \
	X("avx2", AVX2, 0x00000007, 1, 5, 1, 1)                                                    \
	X("smep", SMEP, 0x00000007, 1, 7, 1, 0)                                                    \
	X("bmi2", BMI2, 0x00000007, 1, 8, 1, 1)                                                    \
	X("invpcid", INVPCID, 0x00000007, 1, 10, 1, 0)                                             \
	X("smap", SMAP, 0x00000007, 1, 20, 1, 0)                                                   \
	X("pku", PKU, 0x00000007, 2, 3, 0, 0)                                                      \
	/* IBRS/IBPB, STIBP, SSBD (CPUID.7.0:EDX 26, 27, 31): IA32_SPEC_CTRL and    */             \
	/* IA32_PRED_CMD (msr.c). fugu does not speculate, so the controls are     */              \
	/* the architectural MSRs with nothing behind them, which is exact.         */             \
	X("spec-ctrl", SPEC_CTRL, 0x00000007, 3, 26, 1, 0)                                         \
	X("stibp", STIBP, 0x00000007, 3, 27, 1, 0)                                                 \
	X("ssbd", SSBD, 0x00000007, 3, 31, 1, 0)                                                   \
	X("lahf-lm", LAHF_LM, 0x80000001, 2, 0, 1, 0)                                              \
	X("abm", ABM, 0x80000001, 2, 5, 1, 0)                                                      \
	X("syscall", SYSCALL, 0x80000001, 3, 11, 1, 0)                                             \
	X("nx", NX, 0x80000001, 3, 20, 1, 0)                                                       \
	X("pdpe1gb", PDPE1GB, 0x80000001, 3, 26, 1, 0)                                             \
	X("rdtscp", RDTSCP, 0x80000001, 3, 27, 1, 0)                                               \
	X("lm", LM, 0x80000001, 3, 29, 1, 0)                                                       \
	X("invtsc", INVTSC, 0x80000007, 3, 8, 1, 0)

/*
 * The timing policy (docs/TIMING.md), stated where CPUID reports it: the TSC
 * counts the virtual clock's nanoseconds, so it runs at exactly 1 GHz, never
 * stops and never changes rate (cpu_tsc; invariant: CPUID.80000007H:EDX[8]);
 * the local APIC timer's input clock is the same 1 GHz (LAPIC_BUS_HZ, checked
 * where the board joins them). Models whose maximum basic leaf reaches 0x15
 * (`max`, `all`) report both in leaves 0x15 and 0x16, so Linux takes the rate
 * from CPUID and calibrates nothing; the named models keep their real parts'
 * maximum leaf and are calibrated by the guest against the PIT (counter 2
 * through port 0x61) or the ACPI PM timer, which run off the same virtual
 * clock and so agree with the TSC exactly (testsuite/guests/tsc.asm).
 */
#define CPU_TSC_HZ 1000000000u

/* The XCR0 bits fugu knows (vol. 1, 13.3): x87 (bit 0), SSE (bit 1), AVX (bit 2,
 * the upper halves of YMM0-15). Which of them a CPU supports: cpu_xcr0_supported. */
#define XCR0_X87 1u
#define XCR0_SSE 2u
#define XCR0_AVX 4u

enum cpu_feature {
#define X(name, id, leaf, reg, bit, impl, host) FEAT_##id,
	CPU_FEATURE_LIST(X)
#undef X
		FEAT_COUNT,
	FEAT_NONE = 255, /* an opcode that needs no feature */
};

/* The feature set of one emulated CPU: a model plus the user's edits. */
struct cpu_features {
	const char *model_name;
	char vendor[13];
	uint32_t family, model, stepping;
	uint32_t max_leaf, max_ext_leaf;
	uint8_t mca_banks; /* machine-check banks (IA32_MCG_CAP.Count) when MCA is reported */
	uint64_t bits[(FEAT_COUNT + 63) / 64];
	/* -cpu ...,vmx-locked=on: IA32_FEATURE_CONTROL comes out of reset locked with VMX
	 * enabled, as UEFI firmware leaves it (SeaBIOS leaves it unlocked: the default). */
	bool vmx_locked;
};

static inline bool
cpu_has(const struct cpu_features *f, enum cpu_feature feat)
{
	return feat == FEAT_NONE || ((f->bits[feat / 64] >> (feat % 64)) & 1);
}

/*
 * Build a feature set from a -cpu specification "MODEL[,+feat,-feat,feat=on|off]".
 * Returns 0, or -1 with a one-line message in err.
 */
int cpu_features_parse(struct cpu_features *out, const char *spec, char *err, size_t errlen);
void cpu_models_list(FILE *f);
/* Does fugu execute this feature (the implemented column)? */
bool cpu_feature_implemented(enum cpu_feature feat);
/* The XCR0 bits this feature set supports: x87 | SSE, and AVX with the avx feature. */
uint64_t cpu_xcr0_supported(const struct cpu_features *f);
/* Whether XSETBV may load `v` into XCR0 (SDM vol. 2C, XSETBV): x87 set, only
 * supported bits, AVX only with SSE. */
bool cpu_xcr0_valid(const struct cpu_features *f, uint64_t v);
/* The XSAVE state components i >= 2 (vol. 1, 13.2, 13.4.3): size, standard
 * offset and whether the compacted form aligns them to 64 bytes, as CPUID
 * 0DH subleaf i reports them (0 size: unknown component). */
struct xsave_comp {
	uint32_t size, offset;
	bool align64;
};
extern const struct xsave_comp cpu_xsave_comps[3];
/* The compacted-form offset of component i >= 2 for XCOMP_BV[62:0] = comp
 * (vol. 1, 13.4.3), and the size of a compacted area holding comp. */
uint32_t cpu_xsave_comp_offset(uint64_t comp, unsigned i);
uint32_t cpu_xsave_compacted_size(uint64_t comp);
/* Does the host have what fugu needs to execute this feature (see CPU_FEATURE_LIST)? */
bool cpu_feature_on_host(enum cpu_feature feat);
/* Clear every feature fugu does not execute. */
void cpu_features_mask_unimplemented(struct cpu_features *f);
/* CPUID leaf/subleaf as the model reports it; regs = EAX, EBX, ECX, EDX. */
void cpu_features_cpuid(const struct cpu_features *f, uint32_t leaf, uint32_t subleaf,
			uint32_t regs[4]);

#endif
