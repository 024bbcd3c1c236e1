/*
 * fugu — CPU models (data) and CPUID, both derived from CPU_FEATURE_LIST.
 *
 * Policy: a CPU model does not advertise a feature fugu does not execute
 * (CPU_FEATURE_LIST's implemented column). `max` (the default) is every
 * implemented feature; the named models (pentiumpro, pentium2, nehalem, skylake) are the
 * real parts' feature lists masked to the implemented features, so a guest
 * that trusts CPUID never meets an instruction that raises #UD where the real
 * part would run it (nehalem reports VMX, modelled in cpu/vmx/). `all`
 * reports every feature fugu knows, implemented or not, for decoder and CPUID
 * studies; and an explicit `-cpu MODEL,+feat` is honoured even for a feature
 * fugu does not execute (the user asked for it).
 *
 * Host features: the x87, SIMD and VEX GPR instructions run on the host's own
 * unit (the host column of CPU_FEATURE_LIST), so a guest may see such a feature
 * only when the host has it. `max` and `all` silently leave out what the host
 * lacks; a named model or an explicit +feat that needs it is refused with a
 * one-line error (the guest would otherwise die later of SIGILL in fugu).
 */
#include "cpu/cpuid.h"

#include "cpu/state.h"

#include <cpuid.h>
#include <stdlib.h>
#include <string.h>

static const struct feature_info {
	const char *name;
	uint32_t leaf;
	uint8_t reg, bit;
	bool implemented;
	bool host; /* runs on the host's unit: the host must report it too */
} feature_info[FEAT_COUNT] = {
#define X(name, id, leaf, reg, bit, impl, host) [FEAT_##id] = { name, leaf, reg, bit, impl, host },
	CPU_FEATURE_LIST(X)
#undef X
};

struct cpu_model {
	const char *name;
	const char *description;
	const char *vendor;
	uint32_t family, model, stepping;
	uint32_t max_leaf, max_ext_leaf;
	const char *features; /* space-separated feature names; NULL: max; "": all */
	bool masked;          /* only the implemented features (see the policy above) */
	uint8_t mca_banks;    /* IA32_MCG_CAP.Count: the part's machine-check banks */
};

/* Models: feature lists from the parts' datasheets / SDM CPUID tables. */
static const struct cpu_model models[] = {
	{ "pentiumpro", "Intel Pentium Pro (P6, 32-bit)", "GenuineIntel", 6, 1, 9, 2, 0,
	  "fpu vme de pse tsc msr pae mce cx8 apic mtrr pge mca cmov", true, 5 },
	{ "pentium2", "Intel Pentium II (P6, 32-bit, SYSENTER, MMX)", "GenuineIntel", 6, 5, 2, 2, 0,
	  "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 mmx fxsr", true,
	  5 },
	{ "nehalem", "Intel Core i7 (Nehalem, 64-bit, VMX)", "GenuineIntel", 6, 26, 3, 11,
	  0x80000008,
	  "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx "
	  "fxsr "
	  "sse sse2 sse3 vmx ssse3 cx16 sse4.1 sse4.2 popcnt lahf-lm syscall nx rdtscp lm invtsc",
	  true, 9 },
	/* Core i7-6700K (family 6, model 5EH, stepping 3): its CPUID leaves 1, 7 and
	 * 80000001H and 0DH subleaf 1 (XSAVEOPT, XSAVEC, XGETBV1, XSAVES: EAX = FH);
	 * RDRAND, RDSEED, ADX, ERMS, MPX, CLFLUSHOPT, PREFETCHW and VME fall to the
	 * mask until fugu executes them. */
	{ "skylake", "Intel Core i7-6700K (Skylake client, 64-bit, VMX, AVX2)", "GenuineIntel", 6,
	  94, 3, 0x16, 0x80000008,
	  "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx "
	  "fxsr sse sse2 sse3 pclmulqdq vmx ssse3 fma cx16 pcid sse4.1 sse4.2 x2apic movbe popcnt "
	  "tsc-deadline aes xsave avx f16c fsgsbase bmi1 avx2 smep bmi2 invpcid smap spec-ctrl "
	  "stibp "
	  "ssbd xsaveopt xsavec xgetbv1 xsaves lahf-lm abm syscall nx pdpe1gb rdtscp lm invtsc",
	  true, 10 },
	{ "max", "every feature fugu implements", "GenuineIntel", 6, 42, 7, 0x16, 0x80000008, NULL,
	  true, 10 },
	{ "all", "every feature fugu knows, implemented or not (decoder and CPUID studies)",
	  "GenuineIntel", 6, 42, 7, 0x16, 0x80000008, "", false, 10 },
};

static void
feature_set(struct cpu_features *f, unsigned feat, bool on)
{
	if (on)
		f->bits[feat / 64] |= 1ull << (feat % 64);
	else
		f->bits[feat / 64] &= ~(1ull << (feat % 64));
}

static int
feature_lookup(const char *name, size_t len)
{
	for (unsigned k = 0; k < FEAT_COUNT; k++)
		if (strlen(feature_info[k].name) == len &&
		    !strncmp(feature_info[k].name, name, len))
			return (int)k;
	return -1;
}

bool
cpu_feature_implemented(enum cpu_feature feat)
{
	return feat == FEAT_NONE || (feat < FEAT_COUNT && feature_info[feat].implemented);
}

void
cpu_features_mask_unimplemented(struct cpu_features *f)
{
	for (unsigned k = 0; k < FEAT_COUNT; k++)
		if (!feature_info[k].implemented)
			feature_set(f, k, false);
}

/* The host's CPUID bit for a feature: leaf/register/bit as the guest's, read once.
 * The AVX family needs more than the bit: an OS that enabled the x87, SSE and AVX
 * state in XCR0 (OSXSAVE, then XGETBV; SDM vol. 1, 14.3). */
bool
cpu_feature_on_host(enum cpu_feature feat)
{
	static uint64_t known, have;
	if (feat >= FEAT_COUNT || !feature_info[feat].host)
		return true;
	if (known >> feat & 1)
		return have >> feat & 1;
	const struct feature_info *fi = &feature_info[feat];
	unsigned r[4] = { 0 };
	bool ok = __get_cpuid_count(fi->leaf, 0, &r[0], &r[1], &r[2], &r[3]) &&
		  (r[fi->reg] >> fi->bit & 1);
	if (ok &&
	    (feat == FEAT_AVX || feat == FEAT_AVX2 || feat == FEAT_FMA || feat == FEAT_F16C)) {
		unsigned a, b, c, d;
		ok = __get_cpuid(1, &a, &b, &c, &d) && (c >> 27 & 1) && (c >> 28 & 1);
		if (ok) {
			uint32_t lo, hi;
			__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
			ok = (lo & 7) == 7;
		}
	}
	known |= 1ull << feat;
	if (ok)
		have |= 1ull << feat;
	return ok;
}

uint64_t
cpu_xcr0_supported(const struct cpu_features *f)
{
	return XCR0_X87 | XCR0_SSE | (cpu_has(f, FEAT_AVX) ? XCR0_AVX : 0);
}

bool
cpu_xcr0_valid(const struct cpu_features *f, uint64_t v)
{
	return (v & XCR0_X87) && !(v & ~cpu_xcr0_supported(f)) &&
	       (!(v & XCR0_AVX) || (v & XCR0_SSE));
}

/* Component 2, YMM_Hi128: YMM0-15 bits 255:128, at 576 in the standard form,
 * not 64-byte aligned when compacted (as the Skylake parts report it). */
const struct xsave_comp cpu_xsave_comps[3] = { [2] = { 256, XSAVE_AVX_OFFSET, false } };

/* vol. 1, 13.4.3: the compacted extended region starts at 576; component i
 * (2 <= i) present in comp follows the previous present one, rounded up to a
 * multiple of 64 when CPUID.(EAX=0DH,ECX=i):ECX[1] = 1. */
uint32_t
cpu_xsave_comp_offset(uint64_t comp, unsigned i)
{
	uint32_t off = XSAVE_AVX_OFFSET; /* 512 legacy + 64 header */
	for (unsigned k = 2; k < i && k < 3; k++)
		if (comp >> k & 1)
			off += cpu_xsave_comps[k].size;
	if (i < 3 && cpu_xsave_comps[i].align64)
		off = (off + 63) & ~63u;
	return off;
}

uint32_t
cpu_xsave_compacted_size(uint64_t comp)
{
	uint32_t end = XSAVE_AVX_OFFSET;
	for (unsigned k = 2; k < 3; k++)
		if (comp >> k & 1)
			end = cpu_xsave_comp_offset(comp, k) + cpu_xsave_comps[k].size;
	return end;
}

static void
model_apply(struct cpu_features *f, const struct cpu_model *m)
{
	memset(f, 0, sizeof(*f));
	f->model_name = m->name;
	snprintf(f->vendor, sizeof(f->vendor), "%s", m->vendor);
	f->family = m->family;
	f->model = m->model;
	f->stepping = m->stepping;
	f->max_leaf = m->max_leaf;
	f->max_ext_leaf = m->max_ext_leaf;
	f->mca_banks = m->mca_banks;
	if (!m->features || !m->features[0]) {
		for (unsigned k = 0; k < FEAT_COUNT; k++)
			feature_set(f, k, true);
	} else {
		for (const char *p = m->features; *p;) {
			size_t len = strcspn(p, " ");
			int k = feature_lookup(p, len);
			if (k >= 0)
				feature_set(f, (unsigned)k, true);
			p += len;
			while (*p == ' ')
				p++;
		}
	}
	if (m->masked)
		cpu_features_mask_unimplemented(f);
	if (!m->features || !m->features[0]) /* max, all: what this host can run */
		for (unsigned k = 0; k < FEAT_COUNT; k++)
			if (!cpu_feature_on_host((enum cpu_feature)k))
				feature_set(f, k, false);
}

/* A named model or +feat asking for a feature the host cannot run: the error. */
static int
host_refuses(const struct cpu_features *f, char *err, size_t errlen)
{
	for (unsigned k = 0; k < FEAT_COUNT; k++)
		if (cpu_has(f, (enum cpu_feature)k) && !cpu_feature_on_host((enum cpu_feature)k)) {
			snprintf(err, errlen,
				 "CPU feature '%s' needs the host CPU to have it, and this host "
				 "does not (fugu runs it on the host's unit); use -cpu ...,-%s",
				 feature_info[k].name, feature_info[k].name);
			return -1;
		}
	return 0;
}

int
cpu_features_parse(struct cpu_features *out, const char *spec, char *err, size_t errlen)
{
	size_t len = strcspn(spec, ",");
	const struct cpu_model *m = NULL;
	for (size_t k = 0; k < sizeof(models) / sizeof(models[0]); k++)
		if (strlen(models[k].name) == len && !strncmp(models[k].name, spec, len))
			m = &models[k];
	if (!m) {
		snprintf(err, errlen, "unknown CPU model '%.*s' (see -cpu help)", (int)len, spec);
		return -1;
	}
	model_apply(out, m);
	const char *p = spec + len;
	while (*p == ',') {
		p++;
		size_t n = strcspn(p, ",");
		const char *name = p;
		size_t nlen = n;
		bool on = true;
		if (*p == '+' || *p == '-') {
			on = *p == '+';
			name++;
			nlen--;
		} else {
			const char *eq = memchr(p, '=', n);
			if (!eq) {
				snprintf(err, errlen,
					 "bad -cpu item '%.*s' (use +feat, -feat or feat=on|off)",
					 (int)n, p);
				return -1;
			}
			nlen = (size_t)(eq - p);
			size_t vlen = n - nlen - 1;
			if (vlen == 2 && !strncmp(eq + 1, "on", 2))
				on = true;
			else if (vlen == 3 && !strncmp(eq + 1, "off", 3))
				on = false;
			else {
				snprintf(err, errlen, "bad value in -cpu item '%.*s' (on or off)",
					 (int)n, p);
				return -1;
			}
		}
		if (nlen == 10 && !strncmp(name, "vmx-locked", 10)) {
			out->vmx_locked = on; /* a setting of the model, not a CPUID bit */
			p += n;
			continue;
		}
		int k = feature_lookup(name, nlen);
		if (k < 0) {
			snprintf(err, errlen, "unknown CPU feature '%.*s' (see -cpu help)",
				 (int)nlen, name);
			return -1;
		}
		feature_set(out, (unsigned)k, on);
		p += n;
	}
	return host_refuses(out, err, errlen);
}

void
cpu_models_list(FILE *f)
{
	fprintf(f, "Available CPU models:\n");
	for (size_t k = 0; k < sizeof(models) / sizeof(models[0]); k++)
		fprintf(f, "  %-12s %s\n", models[k].name, models[k].description);
	fprintf(f, "\nFeature flags (use -cpu MODEL,+feat,-feat):\n ");
	for (unsigned k = 0; k < FEAT_COUNT; k++)
		fprintf(f, " %s%s", feature_info[k].name, feature_info[k].implemented ? "" : "*");
	fprintf(f, "\n(* known, reported by `all`, not executed by fugu yet)\n");
	fprintf(f, "Settings: vmx-locked=on|off (IA32_FEATURE_CONTROL locked with VMX enabled "
		   "at reset, as UEFI leaves it; default off, as SeaBIOS)\n");
}

/* Collect the feature bits CPUID reports in (leaf, reg). */
static uint32_t
feature_word(const struct cpu_features *f, uint32_t leaf, unsigned reg)
{
	uint32_t w = 0;
	for (unsigned k = 0; k < FEAT_COUNT; k++)
		if (feature_info[k].leaf == leaf && feature_info[k].reg == reg &&
		    cpu_has(f, (enum cpu_feature)k))
			w |= 1u << feature_info[k].bit;
	return w;
}

/* CPUID (SDM vol. 2A, CPUID). A basic leaf above the maximum returns the maximum
 * leaf's data, as Intel processors do. */
void
cpu_features_cpuid(const struct cpu_features *f, uint32_t leaf, uint32_t subleaf, uint32_t regs[4])
{
	memset(regs, 0, 4 * sizeof(regs[0]));
	if (leaf >= 0x80000000u) {
		if (leaf > f->max_ext_leaf)
			return;
	} else if (leaf > f->max_leaf) {
		leaf = f->max_leaf;
	}
	switch (leaf) {
	case 0:
	case 0x80000000u:
		regs[0] = leaf ? f->max_ext_leaf : f->max_leaf;
		if (!leaf) {
			memcpy(&regs[1], f->vendor, 4);
			memcpy(&regs[3], f->vendor + 4, 4);
			memcpy(&regs[2], f->vendor + 8, 4);
		}
		return;
	case 1: {
		uint32_t fam = f->family, mod = f->model;
		regs[0] = (f->stepping & 0xf) | ((mod & 0xf) << 4) | ((fam > 15 ? 15 : fam) << 8) |
			  ((mod >> 4) << 16) | ((fam > 15 ? fam - 15 : 0) << 20);
		regs[1] = (8u << 8) |
			  (1u << 16); /* CLFLUSH line 64 bytes, 1 logical CPU, APIC ID 0 */
		regs[2] = feature_word(f, 1, 2);
		regs[3] = feature_word(f, 1, 3);
		return;
	}
	case 7:
		if (subleaf == 0) {
			regs[1] = feature_word(f, 7, 1);
			regs[2] = feature_word(f, 7, 2);
			regs[3] = feature_word(f, 7, 3);
		}
		return;
	case 0xd:
		/* Processor extended state enumeration (vol. 1, 13.2; vol. 2A, CPUID,
		 * leaf 0DH): XCR0 may hold x87 | SSE (the 512-byte legacy region) and,
		 * with AVX, the YMM_Hi128 component 2 (256 bytes at offset 576, after
		 * the 64-byte header). EBX of subleaf 0 depends on the XCR0 in use and
		 * is filled in by CPUID itself (op_cpuid); here it is the size for XCR0
		 * = 1. Subleaf 1: EAX = XSAVEOPT, XSAVEC, XGETBV1, XSAVES (bits 0-3);
		 * with a compacted form (XSAVEC or XSAVES; Linux sizes its XSAVEC
		 * buffers from it too) EBX = the compacted size for XCR0 | IA32_XSS
		 * (also filled in by op_cpuid; IA32_XSS is always 0 here) and ECX/EDX
		 * = the IA32_XSS bits supported: none, fugu has no supervisor state. Subleaf 2 the
		 * AVX component (ECX = 0: a user component, not 64-byte aligned when compacted);
		 * components 0 and 1 have no subleaves of their own; the rest read as 0. */
		if (!cpu_has(f, FEAT_XSAVE))
			return;
		if (subleaf == 0) {
			uint64_t sup = cpu_xcr0_supported(f);
			regs[0] = (uint32_t)sup;
			regs[1] = XSAVE_AVX_OFFSET;
			regs[2] = sup & XCR0_AVX ? XSAVE_AVX_OFFSET + 256 : XSAVE_AVX_OFFSET;
		} else if (subleaf == 1) {
			regs[0] = feature_word(f, 0xd, 0);
			if (cpu_has(f, FEAT_XSAVEC) || cpu_has(f, FEAT_XSAVES))
				regs[1] = cpu_xsave_compacted_size(XCR0_X87);
		} else if (subleaf == 2 && cpu_has(f, FEAT_AVX)) {
			regs[0] = cpu_xsave_comps[2].size; /* YMM_Hi128: 16 registers x 16 bytes */
			regs[1] = cpu_xsave_comps[2].offset;
			regs[2] = cpu_xsave_comps[2].align64 ? 2 : 0;
		}
		return;
	case 0x80000001u:
		regs[2] = feature_word(f, 0x80000001u, 2);
		regs[3] = feature_word(f, 0x80000001u, 3);
		return;
	case 0x80000002u:
	case 0x80000003u:
	case 0x80000004u: {
		char brand[49];
		memset(brand, 0, sizeof(brand));
		snprintf(brand, sizeof(brand), "fugu %s CPU", f->model_name ? f->model_name : "");
		memcpy(regs, brand + 16 * (leaf - 0x80000002u), 16);
		return;
	}
	case 0x15: /* TSC/crystal ratio (SDM vol. 2A, CPUID): TSC = ECX * EBX / EAX */
		regs[0] = 1;
		regs[1] = 1;
		regs[2] = CPU_TSC_HZ; /* the crystal: the APIC timer's input clock */
		return;
	case 0x16: /* processor base, maximum and bus (reference) frequencies, MHz */
		regs[0] = regs[1] = regs[2] = CPU_TSC_HZ / 1000000;
		return;
	case 0x80000007u: regs[3] = feature_word(f, 0x80000007u, 3); return;
	case 0x80000008u:
		regs[0] = 36 | (48 << 8); /* physical and linear address widths */
		return;
	}
}
