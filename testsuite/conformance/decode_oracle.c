/*
 * Decoder-length oracle: random byte strings decoded by fugu (cpu/decode.c) and
 * by Capstone 4, in 16-, 32- and 64-bit code. Wherever Capstone decodes a valid
 * instruction whose feature the "all" CPU model (every feature fugu knows) has, fugu's length must
 * be the same. TAP output, one line per mode.
 *
 * Generation is seeded and reproducible (FUGU_ORACLE_SEED, FUGU_ORACLE_CASES
 * override the defaults) and biased so that prefixes, REX, the 0F, 0F 38 and
 * 0F 3A escapes, VEX, and the ModRM/SIB/displacement forms are all well covered.
 *
 * Capstone 4 is itself wrong in a few places; those cases are recognised by
 * pattern in cs_quirks[] below (and listed in docs/CONFORMANCE.md, "Decoder
 * lengths") with the SDM text that decides them, and fugu is compared with the
 * SDM's length instead of Capstone's.
 */
#include <capstone/capstone.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpuid.h"
#include "cpu/decode.h"

#define DEFAULT_CASES 2000000u
#define DEFAULT_SEED 0x6675677564656301ull
#define MAX_REPORT 4000

static uint64_t rng_state;

/* splitmix64: small, fast and good enough for test generation. */
static uint64_t
rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned
rnd_below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

/* true with probability pct percent */
static bool
chance(unsigned pct)
{
	return rnd_below(100) < pct;
}

static const uint8_t legacy_prefixes[] = {
	0x66, 0x66, 0x66, 0x67, 0x67, 0xf2, 0xf2, 0xf3,
	0xf3, 0xf0, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65,
};

/* A ModRM byte, biased toward the forms that change the length: SIB, disp32, disp16. */
static uint8_t
gen_modrm(void)
{
	uint8_t m = (uint8_t)rnd();
	switch (rnd_below(8)) {
	case 0: m = (uint8_t)((m & 0xf8) | 4); break; /* SIB */
	case 1: m = (uint8_t)((m & 0x38) | 5); break; /* mod 0, rm 5: disp32/RIP */
	case 2: m = (uint8_t)((m & 0x38) | 6); break; /* mod 0, rm 6: disp16 */
	case 3: m = (uint8_t)(m | 0xc0); break;       /* register form */
	}
	return m;
}

static uint8_t
gen_sib(void)
{
	uint8_t s = (uint8_t)rnd();
	if (chance(30))
		s = (uint8_t)((s & 0xf8) | 5); /* base 5: disp32 when mod == 0 */
	return s;
}

/*
 * One test case: 15 bytes. Prefixes, then an escape and opcode, then ModRM/SIB,
 * then random bytes (displacements and immediates).
 */
static void
gen_case(uint8_t b[INSN_MAX_LEN], unsigned code_size)
{
	for (unsigned k = 0; k < INSN_MAX_LEN; k++)
		b[k] = (uint8_t)rnd();
	if (chance(5))
		return; /* completely random */
	unsigned p = 0;
	unsigned npfx = 0;
	while (npfx < 6 && chance(npfx ? 35 : 50))
		npfx++;
	if (chance(1))
		npfx = 8 + rnd_below(7); /* runs into the 15-byte limit */
	for (unsigned k = 0; k < npfx; k++)
		b[p++] = legacy_prefixes[rnd_below(sizeof(legacy_prefixes))];
	unsigned kind = rnd_below(100);
	if (kind >= 30 && kind < 77 && chance(50)) {
		static const uint8_t mandatory[] = { 0x66, 0x66, 0xf2, 0xf3 };
		b[p++] = mandatory[rnd_below(sizeof(mandatory))]; /* selects an SSE form */
	}
	if (code_size == 8 && chance(40)) {
		b[p++] = (uint8_t)(0x40 | rnd_below(16));
		if (chance(5) && p < 10) /* REX followed by a legacy prefix: REX ignored */
			b[p++] = legacy_prefixes[rnd_below(sizeof(legacy_prefixes))];
	}
	if (p >= 12)
		return;
	if (kind < 30) {
		b[p++] = (uint8_t)rnd(); /* one-byte map */
	} else if (kind < 55) {
		b[p++] = 0x0f;
		b[p++] = (uint8_t)rnd();
	} else if (kind < 67) {
		b[p++] = 0x0f;
		b[p++] = 0x38;
		b[p++] = (uint8_t)rnd();
	} else if (kind < 77) {
		b[p++] = 0x0f;
		b[p++] = 0x3a;
		b[p++] = (uint8_t)rnd();
	} else if (kind < 87) {
		/* VEX3: C4 [R X B mmmmm] [W vvvv L pp] opcode (SDM vol. 2A, 2.3.5) */
		b[p++] = 0xc4;
		uint8_t v1 = (uint8_t)rnd();
		if (chance(90))
			v1 = (uint8_t)((v1 & 0xe0) | (1 + rnd_below(3)));
		if (code_size != 8 && chance(85))
			v1 |= 0xc0;
		b[p++] = v1;
		b[p++] = (uint8_t)rnd();
		b[p++] = (uint8_t)rnd();
	} else if (kind < 93) {
		b[p++] = 0xc5; /* VEX2: C5 [R vvvv L pp] opcode */
		uint8_t v1 = (uint8_t)rnd();
		if (code_size != 8 && chance(85))
			v1 |= 0xc0;
		b[p++] = v1;
		b[p++] = (uint8_t)rnd();
	} else {
		static const uint8_t special[] = { 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
						   0xf6, 0xf7, 0xc8, 0x9a, 0xea, 0xa0, 0xa1, 0xa2,
						   0xa3, 0xe8, 0xe9, 0xc7, 0xc6, 0x8f, 0x62, 0x63 };
		b[p++] = special[rnd_below(sizeof(special))];
	}
	if (p < INSN_MAX_LEN)
		b[p] = gen_modrm();
	if (p + 1 < INSN_MAX_LEN && chance(50))
		b[p + 1] = gen_sib();
}

/* ---- Capstone's groups to fugu's features ---- */

/*
 * Groups whose instructions are outside the model or encoded in spaces fugu does
 * not decode yet: AMD-only extensions (3DNow!, SSE4a, XOP, FMA4, TBM) and EVEX
 * (AVX-512). These are skipped, not compared.
 */
static bool
group_skipped(uint8_t g)
{
	switch (g) {
	case X86_GRP_3DNOW:
	case X86_GRP_SSE4A:
	case X86_GRP_XOP:
	case X86_GRP_FMA4:
	case X86_GRP_TBM:
	case X86_GRP_AVX512:
	case X86_GRP_CDI:
	case X86_GRP_ERI:
	case X86_GRP_DQI:
	case X86_GRP_BWI:
	case X86_GRP_PFI:
	case X86_GRP_VLX: return true;
	}
	return false;
}

/*
 * Instructions of other vendors that Capstone decodes without a group: VIA
 * PadLock (0F A6/A7 forms), undefined on the modelled processor.
 */
static bool
insn_skipped(unsigned id)
{
	switch (id) {
	case X86_INS_MONTMUL:
	case X86_INS_XCRYPTCBC:
	case X86_INS_XCRYPTCFB:
	case X86_INS_XCRYPTCTR:
	case X86_INS_XCRYPTECB:
	case X86_INS_XCRYPTOFB:
	case X86_INS_XSHA1:
	case X86_INS_XSHA256:
	case X86_INS_XSTORE: return true;
	}
	return false;
}

/* The fugu feature a Capstone group stands for, or FEAT_NONE (compared regardless). */
static enum cpu_feature
group_feature(uint8_t g)
{
	switch (g) {
	case X86_GRP_VM: return FEAT_VMX;
	case X86_GRP_BMI: return FEAT_BMI1;
	case X86_GRP_BMI2: return FEAT_BMI2;
	case X86_GRP_CMOV: return FEAT_CMOV;
	case X86_GRP_FSGSBASE: return FEAT_FSGSBASE;
	case X86_GRP_MMX: return FEAT_MMX;
	case X86_GRP_SSE1: return FEAT_SSE;
	case X86_GRP_SSE2: return FEAT_SSE2;
	case X86_GRP_SSE3: return FEAT_SSE3;
	case X86_GRP_SSE41: return FEAT_SSE41;
	case X86_GRP_SSE42: return FEAT_SSE42;
	case X86_GRP_SSSE3: return FEAT_SSSE3;
	case X86_GRP_SMAP: return FEAT_SMAP;
	case X86_GRP_FPU: return FEAT_FPU;
	default: return FEAT_NONE;
	}
}

/* ---- where Capstone 4 is wrong (see docs/CONFORMANCE.md, "Decoder lengths") ---- */

/* The bytes of a case split into prefixes, REX, map and opcode. */
struct parsed {
	bool p66, p67;
	bool rep_after_66; /* an F2 or F3 after a 66 */
	bool vex;
	unsigned rex;
	unsigned map; /* 0 one-byte, 1 0F, 2 0F 38, 3 0F 3A (legacy encodings) */
	unsigned op;
	unsigned pos; /* of the opcode byte */
};

static void
parse(const uint8_t *b, unsigned code_size, struct parsed *p)
{
	memset(p, 0, sizeof(*p));
	unsigned k = 0;
	for (; k < INSN_MAX_LEN - 3; k++) {
		uint8_t c = b[k];
		if (code_size == 8 && (c & 0xf0) == 0x40) {
			p->rex = c;
			continue;
		}
		if (c == 0x66)
			p->p66 = true;
		else if (c == 0x67)
			p->p67 = true;
		else if (c == 0xf2 || c == 0xf3)
			p->rep_after_66 |= p->p66;
		else if (c != 0x26 && c != 0x2e && c != 0x36 && c != 0x3e && c != 0x64 &&
			 c != 0x65 && c != 0xf0)
			break;
		p->rex = 0;
	}
	if (b[k] == 0x0f) {
		k++;
		p->map = 1;
		if (b[k] == 0x38 || b[k] == 0x3a) {
			p->map = b[k] == 0x38 ? 2 : 3;
			k++;
		}
	} else if ((b[k] == 0xc4 || b[k] == 0xc5) && (code_size == 8 || b[k + 1] >= 0xc0)) {
		p->vex = true;
	}
	p->pos = k;
	p->op = b[k];
}

/*
 * A Capstone 4 erratum: which cases it covers and the length the SDM gives them,
 * derived from Capstone's own answer (so these cases are still compared).
 */
struct quirk {
	const char *what;
	/* the SDM length (DECODE_TOO_LONG beyond 15 bytes), or 0 if it does not apply */
	int (*sdm_len)(csh h, const uint8_t *b, const struct parsed *p, unsigned code_size,
		       const cs_insn *ci);
	uint64_t hits[3];
};

static int
sdm(unsigned len)
{
	return len > INSN_MAX_LEN ? DECODE_TOO_LONG : (int)len;
}

/*
 * 66 before a near relative CALL/JMP/Jcc in 64-bit mode: on Intel 64 the operand
 * size of near branches is 64 bits whatever the prefix, so the displacement stays
 * rel32 (SDM vol. 2A, 2.2.1.3; vol. 2A CALL and vol. 2B JMP/Jcc, 64-bit mode
 * notes). Capstone 4 follows AMD and reads a rel16.
 */
static int
q_branch66(csh h, const uint8_t *b, const struct parsed *p, unsigned code_size, const cs_insn *ci)
{
	(void)h;
	(void)b;
	if (code_size != 8 || !p->p66 || (p->rex & 8) || p->vex)
		return 0;
	if ((p->map == 0 && (p->op == 0xe8 || p->op == 0xe9)) ||
	    (p->map == 1 && (p->op & 0xf0) == 0x80))
		return ci->size == p->pos + 3 ? sdm(p->pos + 5) : 0;
	return 0;
}

/*
 * UD1 (0F B9 /r) and UD0 (0F FF /r) have a ModRM byte (SDM vol. 2B, UD: "0F FF /r
 * UD0 r32, r/m32", "0F B9 /r UD1 r32, r/m32"); Capstone 4 decodes both as two
 * bytes. The SDM length is Capstone's for the same bytes with 0F AF (IMUL r, r/m:
 * a ModRM, no immediate) in place of the opcode.
 */
static int
q_ud01(csh h, const uint8_t *b, const struct parsed *p, unsigned code_size, const cs_insn *ci)
{
	(void)code_size;
	(void)ci;
	if (p->vex || p->map != 1 || (p->op != 0xb9 && p->op != 0xff))
		return 0;
	uint8_t alt[INSN_MAX_LEN];
	memcpy(alt, b, sizeof(alt));
	alt[p->pos] = 0xaf;
	cs_insn *ai = NULL;
	int len = DECODE_TOO_LONG; /* IMUL r, r/m does not fit in 15 bytes */
	if (cs_disasm(h, alt, sizeof(alt), 0x1000, 1, &ai) == 1) {
		len = ai->size;
		cs_free(ai, 1);
	}
	return len;
}

/*
 * 66 and then F2 or F3 before CALL rel (E8; 32-bit code) or PUSH imm (68;
 * 64-bit mode): Capstone 4 drops the operand-size override and reads a 32-bit
 * immediate. F2/F3 do not change these instructions' operands (F2 is the BND
 * prefix; SDM vol. 2A, 2.1.1), so the immediate is rel16 (CALL) or imm16 ("PUSH
 * imm16", vol. 2B).
 */
static int
q_rep_after_66(csh h, const uint8_t *b, const struct parsed *p, unsigned code_size,
	       const cs_insn *ci)
{
	(void)h;
	(void)b;
	if (!p->rep_after_66 || p->map != 0 || p->vex || (p->rex & 8))
		return 0;
	if ((p->op == 0xe8 && code_size == 4) || (p->op == 0x68 && code_size == 8))
		return ci->size == p->pos + 5 ? sdm(p->pos + 3) : 0;
	return 0;
}

/*
 * 64-bit mode, 67 and a REX before CALL rel32: Capstone 4 reads a rel16. The
 * address size does not change a relative branch's displacement (vol. 2A, CALL:
 * "E8 cd ... 64-bit mode").
 */
static int
q_call67_rex(csh h, const uint8_t *b, const struct parsed *p, unsigned code_size, const cs_insn *ci)
{
	(void)h;
	(void)b;
	if (code_size != 8 || !p->p67 || !p->rex || p->map != 0 || p->op != 0xe8)
		return 0;
	return ci->size == p->pos + 3 ? sdm(p->pos + 5) : 0;
}

/*
 * 64-bit mode, 66 or 67 and a REX before RET imm16 (C2 iw): Capstone 4 reads two
 * bytes too many. C2 always has a 16-bit immediate (vol. 2B, RET).
 */
static int
q_ret_rex(csh h, const uint8_t *b, const struct parsed *p, unsigned code_size, const cs_insn *ci)
{
	(void)h;
	(void)b;
	if (code_size != 8 || !(p->p66 || p->p67) || !p->rex || p->map != 0 || p->op != 0xc2)
		return 0;
	return ci->size == p->pos + 5 ? sdm(p->pos + 3) : 0;
}

static struct quirk cs_quirks[] = {
	{ "66 before near CALL/JMP/Jcc rel in 64-bit mode", q_branch66, { 0 } },
	{ "UD0/UD1 without their ModRM", q_ud01, { 0 } },
	{ "66 then F2/F3 before CALL rel (PUSH imm in 64-bit mode)", q_rep_after_66, { 0 } },
	{ "67 and REX before CALL rel32 in 64-bit mode", q_call67_rex, { 0 } },
	{ "66/67 and REX before RET imm16 in 64-bit mode", q_ret_rex, { 0 } },
};
#define NQUIRKS (sizeof(cs_quirks) / sizeof(cs_quirks[0]))

/* ---- the comparison ---- */

struct mode {
	const char *name;
	cs_mode cs;
	unsigned code_size;
};

static void
hex(char *out, const uint8_t *b, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		sprintf(out + 3 * k, "%02x ", b[k]);
	if (n)
		out[3 * n - 1] = 0;
	else
		out[0] = 0;
}

static bool
run_mode(unsigned test_no, const struct mode *m, uint64_t seed, unsigned ncases,
	 const struct cpu_features *feat)
{
	csh h;
	if (cs_open(CS_ARCH_X86, m->cs, &h) != CS_ERR_OK) {
		printf("not ok %u - %s: cs_open failed\n", test_no, m->name);
		return false;
	}
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	rng_state = seed ^ m->code_size;
	uint64_t compared = 0, skipped_feat = 0, cs_invalid = 0;
	uint64_t kinds[6] = { 0 }; /* one-byte, x87, 0F, 0F 38, 0F 3A, VEX */
	uint64_t mismatches = 0;
	static char line[MAX_REPORT][400];
	unsigned nline = 0, maxline = 4;
	const char *v = getenv("FUGU_ORACLE_VERBOSE");
	if (v && *v)
		maxline = (unsigned)strtoul(v, NULL, 0) < MAX_REPORT ? (unsigned)strtoul(v, NULL, 0)
								     : MAX_REPORT;
	uint8_t b[INSN_MAX_LEN];
	struct insn in;
	for (unsigned c = 0; c < ncases; c++) {
		gen_case(b, m->code_size);
		cs_insn *ci = NULL;
		size_t got = cs_disasm(h, b, sizeof(b), 0x1000, 1, &ci);
		if (got == 0) {
			cs_invalid++;
			continue;
		}
		bool skip = insn_skipped(ci->id);
		for (unsigned g = 0; g < ci->detail->groups_count; g++) {
			uint8_t grp = ci->detail->groups[g];
			if (group_skipped(grp) || !cpu_has(feat, group_feature(grp)))
				skip = true;
		}
		if (skip) {
			skipped_feat++;
			cs_free(ci, got);
			continue;
		}
		struct parsed p;
		parse(b, m->code_size, &p);
		int want = (int)ci->size;
		for (unsigned q = 0; q < NQUIRKS; q++) {
			int l = cs_quirks[q].sdm_len(h, b, &p, m->code_size, ci);
			if (l) {
				cs_quirks[q].hits[test_no - 1]++;
				want = l;
				break;
			}
		}
		compared++;
		kinds[p.vex ? 5 : p.map ? p.map + 1 : (p.op & 0xf8) == 0xd8 ? 1 : 0]++;
		int len = decode_insn(b, sizeof(b), m->code_size, feat, &in);
		if (len != want) {
			if (nline < maxline) {
				char hb[3 * INSN_MAX_LEN + 1];
				hex(hb, b, INSN_MAX_LEN);
				snprintf(
					line[nline++], sizeof(line[0]),
					"# %s: %s | capstone: %s %s (len %u, SDM %d) | fugu len %d",
					m->name, hb, ci->mnemonic, ci->op_str, (unsigned)ci->size,
					want, len);
			}
			mismatches++;
		}
		cs_free(ci, got);
	}
	cs_close(&h);
	printf("%s %u - %s: %u cases, %" PRIu64 " compared, %" PRIu64 " mismatches\n",
	       mismatches ? "not ok" : "ok", test_no, m->name, ncases, compared, mismatches);
	printf("#   capstone invalid %" PRIu64 ", skipped by feature/vendor %" PRIu64 "\n",
	       cs_invalid, skipped_feat);
	printf("#   compared: one-byte %" PRIu64 ", x87 %" PRIu64 ", 0F %" PRIu64 ", 0F 38 %" PRIu64
	       ", 0F 3A %" PRIu64 ", VEX %" PRIu64 "\n",
	       kinds[0], kinds[1], kinds[2], kinds[3], kinds[4], kinds[5]);
	for (unsigned k = 0; k < nline; k++)
		printf("%s\n", line[k]);
	if (compared < ncases / 4) {
		printf("# too few cases compared: the generator is broken\n");
		return false;
	}
	return mismatches == 0;
}

int
main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	uint64_t seed = DEFAULT_SEED;
	unsigned ncases = DEFAULT_CASES;
	const char *s = getenv("FUGU_ORACLE_SEED");
	if (s && *s)
		seed = strtoull(s, NULL, 0);
	s = getenv("FUGU_ORACLE_CASES");
	if (s && *s)
		ncases = (unsigned)strtoul(s, NULL, 0);

	struct cpu_features feat;
	char err[128];
	if (cpu_features_parse(&feat, "all", err, sizeof(err)) != 0) {
		printf("Bail out! cpu model max: %s\n", err);
		return 1;
	}
	static const struct mode modes[] = {
		{ "16-bit", CS_MODE_16, 2 },
		{ "32-bit", CS_MODE_32, 4 },
		{ "64-bit", CS_MODE_64, 8 },
	};
	printf("1..3\n");
	printf("# seed 0x%016" PRIx64 "\n", seed);
	bool all = true;
	for (unsigned k = 0; k < 3; k++)
		all &= run_mode(k + 1, &modes[k], seed, ncases, &feat);
	for (unsigned q = 0; q < NQUIRKS; q++)
		printf("# Capstone erratum \"%s\": %" PRIu64 "/%" PRIu64 "/%" PRIu64
		       " cases (16/32/64-bit), compared with the SDM length\n",
		       cs_quirks[q].what, cs_quirks[q].hits[0], cs_quirks[q].hits[1],
		       cs_quirks[q].hits[2]);
	return all ? 0 : 1;
}
