/*
 * Unit tests: the instruction decoder (cpu/decode.c) on specific SDM cases, and
 * the bit-count handlers (cpu/exec/bitcount.c) on register operands.
 * The random-bytes comparison with Capstone is testsuite/conformance/decode_oracle.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cpu/cpuid.h"
#include "cpu/decode.h"
#include "cpu/exec/exec.h"
#include "cpu/tcache.h"
#include "mmu/ioport.h"
#include "mmu/physmem.h"

static struct cpu_features max_feat;

static struct cpu_features
model(const char *spec)
{
	struct cpu_features f;
	char err[128];
	if (cpu_features_parse(&f, spec, err, sizeof(err)) != 0)
		fail_msg("cpu model %s: %s", spec, err);
	return f;
}

/* Decode `n` bytes for the max model; returns the length. */
static int
dec_feat(const struct cpu_features *f, unsigned code_size, struct insn *in, unsigned n,
	 const uint8_t *b)
{
	return decode_insn(b, n, code_size, f, in);
}

#define DEC(cs, in, ...)                                                                           \
	dec_feat(&max_feat, (cs), (in), sizeof((const uint8_t[]){ __VA_ARGS__ }),                  \
		 (const uint8_t[]){ __VA_ARGS__ })
#define DECF(f, cs, in, ...)                                                                       \
	dec_feat((f), (cs), (in), sizeof((const uint8_t[]){ __VA_ARGS__ }),                        \
		 (const uint8_t[]){ __VA_ARGS__ })

static int
setup(void **state)
{
	(void)state;
	max_feat = model("all");
	return 0;
}

/* Prefixes in any order; the last of F2/F3 is the mandatory prefix (vol. 2A, 2.1). */
static void
prefix_order(void **state)
{
	(void)state;
	struct insn in;
	assert_int_equal(DEC(4, &in, 0x66, 0xf3, 0x0f, 0xb8, 0xc1), 5); /* POPCNT ax, cx */
	assert_ptr_equal(in.fn, op_popcnt);
	assert_int_equal(in.opsize, 2);
	assert_int_equal(DEC(4, &in, 0xf3, 0x66, 0x0f, 0xb8, 0xc1), 5);
	assert_ptr_equal(in.fn, op_popcnt);
	assert_int_equal(in.opsize, 2);
	/* F3 then F2: F2 selects, and 0F B8 has no F2 form */
	assert_int_equal(DEC(4, &in, 0xf3, 0xf2, 0x0f, 0xb8, 0xc1), 5);
	assert_ptr_equal(in.fn, op_ud);
	/* a segment override and 67 in front of a string instruction */
	assert_int_equal(DEC(2, &in, 0x26, 0x67, 0xf3, 0xa4), 4);
	assert_ptr_equal(in.fn, op_movs);
	assert_int_equal(in.seg, S_ES);
	assert_int_equal(in.adsize, 4);
	assert_true(in.flags & I_REP);
	/* 66 is still the operand size with an F2 mandatory prefix (CRC32 r32, r/m16) */
	assert_int_equal(DEC(8, &in, 0x66, 0xf2, 0x0f, 0x38, 0xf1, 0xc1), 6);
	assert_ptr_equal(in.fn, op_crc32);
	assert_int_equal(in.opsize, 2);
	assert_int_equal(DEC(8, &in, 0xf2, 0x0f, 0x38, 0xf0, 0xc1), 5);
	assert_ptr_equal(in.fn, op_crc32);
	assert_int_equal(in.opsize, 1);
}

/* More than 15 bytes is #GP (vol. 2A, 2.3.11); fewer bytes than needed asks for more. */
static void
length_limit(void **state)
{
	(void)state;
	struct insn in;
	uint8_t b[16];
	memset(b, 0x66, sizeof(b));
	b[14] = 0x90;
	assert_int_equal(decode_insn(b, 15, 4, &max_feat, &in), 15); /* 14 prefixes + NOP */
	b[14] = 0x66;
	b[15] = 0x90;
	assert_int_equal(decode_insn(b, 16, 4, &max_feat, &in), DECODE_TOO_LONG);
	/* 4 prefixes + MOV [esp+disp32], imm32 = 15; one more prefix is too long */
	const uint8_t mov[] = { 0x26, 0x26, 0x26, 0x26, 0x26, 0xc7, 0x84, 0x24,
				1,    2,    3,    4,    5,    6,    7,    8 };
	assert_int_equal(decode_insn(mov + 1, 15, 4, &max_feat, &in), 15);
	assert_int_equal(decode_insn(mov, 16, 4, &max_feat, &in), DECODE_TOO_LONG);
	assert_int_equal(decode_insn(mov + 1, 14, 4, &max_feat, &in), DECODE_NEED_MORE);
	assert_int_equal(decode_insn(mov + 1, 0, 4, &max_feat, &in), DECODE_NEED_MORE);
}

/* A REX prefix counts only directly before the opcode (vol. 2A, 2.2.1). */
static void
rex_before_legacy_prefix(void **state)
{
	(void)state;
	struct insn in;
	assert_int_equal(DEC(8, &in, 0x48, 0x66, 0x89, 0xc8), 4); /* REX.W ignored */
	assert_int_equal(in.opsize, 2);
	assert_false(in.flags & I_REX);
	assert_int_equal(DEC(8, &in, 0x66, 0x48, 0x89, 0xc8), 4); /* REX.W wins over 66 */
	assert_int_equal(in.opsize, 8);
	assert_true(in.flags & I_REX);
	assert_int_equal(DEC(8, &in, 0x41, 0x66, 0xb8, 0x34, 0x12), 5); /* mov ax, not r8w */
	assert_int_equal(in.rm & 8, 0);
	assert_int_equal(in.imm, 0x1234);
	assert_int_equal(DEC(8, &in, 0x4c, 0x41, 0x89, 0xc8), 4); /* the last REX counts */
	assert_int_equal(in.opsize, 4);
	assert_int_equal(in.reg, 1);
	assert_int_equal(in.rm, 8);
}

/* 66 on near branches in 64-bit mode is ignored: rel32, 64-bit operand size (Intel 64). */
static void
branch_operand_size(void **state)
{
	(void)state;
	struct insn in;
	assert_int_equal(DEC(8, &in, 0x66, 0xe8, 0, 0, 0, 0), 6);
	assert_int_equal(in.opsize, 8);
	assert_int_equal(DEC(8, &in, 0x66, 0xe9, 0xfe, 0xff, 0xff, 0xff), 6);
	assert_int_equal(DEC(8, &in, 0x66, 0x0f, 0x84, 0, 0, 0, 0), 7);
	assert_int_equal(in.opsize, 8);
	assert_int_equal(DEC(8, &in, 0x66, 0xff, 0xe0), 3); /* JMP rax */
	assert_int_equal(in.opsize, 8);
	assert_int_equal(DEC(4, &in, 0x66, 0xe8, 0, 0), 4); /* rel16 in 32-bit code */
	assert_int_equal(in.opsize, 2);
	assert_int_equal(DEC(2, &in, 0x66, 0xe8, 0, 0, 0, 0), 6); /* rel32 in 16-bit code */
	assert_int_equal(in.opsize, 4);
	/* default-64 stack operations: 66 gives 16 bits, nothing gives 32 */
	assert_int_equal(DEC(8, &in, 0x50), 1);
	assert_int_equal(in.opsize, 8);
	assert_int_equal(DEC(8, &in, 0x66, 0x50), 2);
	assert_int_equal(in.opsize, 2);
	assert_int_equal(DEC(8, &in, 0x66, 0x68, 0x34, 0x12), 4); /* PUSH imm16 */
	assert_int_equal(DEC(8, &in, 0x68, 0x34, 0x12, 0, 0x80), 5);
	assert_int_equal(in.imm, 0xffffffff80001234ull); /* sign-extended to 64 */
}

/* moffs is address-sized: 67 changes it (vol. 2B, MOV 0xA0-0xA3). */
static void
moffs_sizes(void **state)
{
	(void)state;
	struct insn in;
	assert_int_equal(DEC(2, &in, 0xa1, 0x34, 0x12), 3);
	assert_int_equal(in.imm, 0x1234);
	assert_int_equal(DEC(2, &in, 0x67, 0xa1, 1, 2, 3, 4), 6);
	assert_int_equal(DEC(4, &in, 0xa1, 1, 2, 3, 4), 5);
	assert_int_equal(DEC(4, &in, 0x67, 0xa0, 1, 2), 4);
	assert_int_equal(DEC(8, &in, 0xa1, 1, 2, 3, 4, 5, 6, 7, 8), 9);
	assert_int_equal(in.imm, 0x0807060504030201ull);
	assert_int_equal(in.opsize, 4);
	assert_int_equal(DEC(8, &in, 0x48, 0xa3, 1, 2, 3, 4, 5, 6, 7, 8), 10);
	assert_int_equal(in.opsize, 8);
	assert_int_equal(DEC(8, &in, 0x67, 0xa2, 1, 2, 3, 4), 6);
	assert_int_equal(in.adsize, 4);
}

/* ENTER iw, ib and the far pointers of JMP/CALL ptr16:16/32 (vol. 2A/2B). */
static void
enter_and_far_pointers(void **state)
{
	(void)state;
	struct insn in;
	assert_int_equal(DEC(4, &in, 0xc8, 0x10, 0x00, 0x01), 4);
	assert_int_equal(in.imm, 0x10);
	assert_int_equal(in.imm2, 1);
	assert_int_equal(DEC(4, &in, 0x66, 0xc8, 0x10, 0x00, 0x01), 5);
	assert_int_equal(DEC(2, &in, 0xea, 0x00, 0x10, 0x00, 0xf0), 5);
	assert_int_equal(in.imm, 0x1000);
	assert_int_equal(in.imm2, 0xf000);
	assert_int_equal(DEC(4, &in, 0x9a, 1, 2, 3, 4, 0x08, 0x00), 7);
	assert_int_equal(in.imm, 0x04030201);
	assert_int_equal(in.imm2, 8);
	assert_int_equal(DEC(2, &in, 0x66, 0xea, 1, 2, 3, 4, 5, 6), 8);
	assert_int_equal(DEC(4, &in, 0x66, 0xea, 1, 2, 3, 4), 6); /* ptr16:16 */
	DEC(8, &in, 0xea, 1, 2, 3, 4, 5, 6);
	assert_ptr_equal(in.fn, op_ud); /* invalid in 64-bit mode */
}

/* Group immediates come with the member: F6 /0 (and /1) have Ib, F6 /2 none (table A-6). */
static void
group_immediates(void **state)
{
	(void)state;
	struct insn in;
	assert_int_equal(DEC(4, &in, 0xf6, 0xc0, 0x12), 3); /* TEST al, 12h */
	assert_int_equal(in.imm, 0x12);
	assert_int_equal(DEC(4, &in, 0xf6, 0xc8, 0x12), 3); /* /1: TEST alias */
	assert_int_equal(DEC(4, &in, 0xf6, 0xd0, 0x12), 2); /* NOT al */
	assert_int_equal(DEC(4, &in, 0xf7, 0xc0, 1, 2, 3, 4), 6);
	assert_int_equal(in.imm, 0x04030201);
	assert_int_equal(DEC(4, &in, 0x66, 0xf7, 0xc0, 1, 2), 5);
	assert_int_equal(DEC(8, &in, 0x48, 0xf7, 0xc0, 1, 2, 3, 0x84), 7);
	assert_int_equal(in.imm, 0xffffffff84030201ull);
	assert_int_equal(DEC(4, &in, 0xf7, 0xd8), 2);                   /* NEG eax */
	assert_int_equal(DEC(4, &in, 0xf6, 0x05, 1, 2, 3, 4, 0x77), 7); /* TEST [disp32], ib */
	assert_int_equal(DEC(4, &in, 0x0f, 0xba, 0xe0, 3), 4);          /* BT eax, 3 */
	assert_int_equal(DEC(4, &in, 0x0f, 0x73, 0xd0, 3), 4);          /* PSRLQ mm0, 3 */
	assert_int_equal(DEC(4, &in, 0x66, 0x0f, 0x73, 0xf8, 3), 5);    /* PSLLDQ xmm0, 3 */
	DEC(4, &in, 0x0f, 0x73, 0x10, 3);
	assert_ptr_equal(in.fn, op_ud); /* memory form */
}

/* ModRM forms: MOV CRn ignores mod; RIP-relative vs. SIB absolute (vol. 2A, 2.2.1.6). */
static void
modrm_forms(void **state)
{
	(void)state;
	struct insn in;
	assert_int_equal(DEC(4, &in, 0x0f, 0x20, 0x04), 3); /* no SIB: mod is ignored */
	assert_false(in.flags & I_MEM);
	assert_int_equal(DEC(4, &in, 0x0f, 0x22, 0x45), 3);
	assert_int_equal(DEC(8, &in, 0x8b, 0x05, 0x10, 0, 0, 0), 6);
	assert_int_equal(in.base, REG_RIP);
	assert_int_equal(in.disp, 0x10);
	assert_int_equal(DEC(8, &in, 0x8b, 0x04, 0x25, 0x10, 0, 0, 0), 7);
	assert_int_equal(in.base, REG_NONE);
	assert_int_equal(DEC(4, &in, 0x8b, 0x05, 0x10, 0, 0, 0), 6);
	assert_int_equal(in.base, REG_NONE);
	assert_int_equal(DEC(2, &in, 0x8b, 0x06, 0x10, 0), 4); /* [disp16] */
	assert_int_equal(DEC(2, &in, 0x8b, 0x46, 0x10), 3);    /* [bp+disp8] */
	assert_int_equal(in.seg, S_SS);
	assert_int_equal(DEC(8, &in, 0x41, 0x8b, 0x44, 0x25, 0x10), 5); /* [r13+disp8] */
	assert_int_equal(in.base, 13);
	assert_int_equal(in.index, REG_NONE);
}

/* One-byte opcodes invalid in 64-bit mode (table A-2, "i64"); 63 is MOVSXD there. */
static void
invalid_in_64bit_mode(void **state)
{
	(void)state;
	static const uint8_t ops[] = { 0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37,
				       0x3f, 0x60, 0x61, 0x82, 0x9a, 0xce, 0xd4, 0xd5, 0xd6, 0xea };
	struct insn in;
	for (unsigned k = 0; k < sizeof(ops); k++) {
		uint8_t b[15] = { ops[k], 0x00 };
		assert_true(decode_insn(b, sizeof(b), 8, &max_feat, &in) > 0);
		assert_ptr_equal(in.fn, op_ud);
		assert_true(decode_insn(b, sizeof(b), 4, &max_feat, &in) > 0);
		assert_ptr_not_equal(in.fn, op_ud);
	}
	DEC(8, &in, 0x62, 0x00, 0, 0, 0, 0); /* EVEX in 64-bit mode: not decoded, #UD */
	assert_ptr_equal(in.fn, op_ud);
	assert_int_equal(DEC(8, &in, 0x63, 0xc1), 2);
	assert_ptr_equal(in.fn, op_movsxd);
}

/* VEX: C4/C5 always in 64-bit mode, elsewhere only with bits 7:6 of the next byte set. */
static void
vex_lengths(void **state)
{
	(void)state;
	struct insn in;
	assert_int_equal(DEC(8, &in, 0xc5, 0xf8, 0x77), 3); /* VZEROUPPER */
	assert_ptr_equal(in.fn, cpu_has(&max_feat, FEAT_AVX) ? op_avx : op_ud);
	assert_int_equal(DEC(8, &in, 0xc5, 0xf9, 0x70, 0xc1, 0x1b), 5);    /* VPSHUFD ib */
	assert_int_equal(DEC(8, &in, 0xc4, 0xe3, 0x79, 0x0f, 0xc1, 8), 6); /* VPALIGNR */
	assert_int_equal(DEC(8, &in, 0xc4, 0xe2, 0x79, 0x00, 0x04, 0x25, 0, 0, 0, 0), 10);
	assert_int_equal(DEC(8, &in, 0xc5, 0x78, 0x10, 0x05, 0, 0, 0, 0), 8); /* RIP-relative */
	assert_int_equal(DEC(4, &in, 0xc5, 0xf8, 0x77), 3);
	assert_ptr_equal(in.fn, cpu_has(&max_feat, FEAT_AVX) ? op_avx : op_ud);
	assert_int_equal(DEC(4, &in, 0xc4, 0x06), 2); /* LES eax, [esi] */
	assert_ptr_equal(in.fn, op_lxs);
	assert_int_equal(DEC(2, &in, 0xc5, 0x47, 0x10), 3); /* LDS ax, [bx+10h] */
	assert_ptr_equal(in.fn, op_lxs);
	assert_int_equal(DEC(4, &in, 0xc4, 0xe1, 0x79, 0xc5, 0xc1, 1), 6); /* VPEXTRW ib */
}

/* The decode-time #UD rules of VEX (SDM vol. 2A, 2.3.2-2.3.6, 2.3.12 and the
 * VEX.L/W/vvvv encodings of each instruction's page). */
static void
vex_ud_rules(void **state)
{
	(void)state;
	struct insn in;
	if (!cpu_has(&max_feat, FEAT_AVX2))
		skip();
	DEC(8, &in, 0xc5, 0xf8, 0x77); /* VZEROUPPER */
	assert_ptr_equal(in.fn, op_avx);
	/* 66, F2, F3, LOCK or REX before VEX (2.3.2) */
	static const uint8_t pfx[] = { 0x66, 0xf2, 0xf3, 0xf0, 0x40, 0x48 };
	for (unsigned k = 0; k < sizeof(pfx); k++) {
		assert_int_equal(DEC(8, &in, pfx[k], 0xc5, 0xf8, 0x77), 4);
		assert_ptr_equal(in.fn, op_ud);
	}
	assert_int_equal(DEC(8, &in, 0x2e, 0xc5, 0xf8, 0x77), 4); /* a segment prefix is fine */
	assert_ptr_equal(in.fn, op_avx);
	DEC(8, &in, 0xc5, 0xf9, 0x6e, 0xc0); /* VMOVD xmm0, eax: VEX.128 only */
	assert_ptr_equal(in.fn, op_avx);
	DEC(8, &in, 0xc5, 0xfd, 0x6e, 0xc0); /* ... with VEX.L = 1 */
	assert_ptr_equal(in.fn, op_ud);
	DEC(8, &in, 0xc5, 0xfa, 0x58, 0xc1); /* VADDSS: LIG */
	assert_ptr_equal(in.fn, op_avx);
	DEC(8, &in, 0xc5, 0xfe, 0x58, 0xc1);
	assert_ptr_equal(in.fn, op_avx);
	DEC(8, &in, 0xc5, 0xf8, 0x10, 0xc1); /* VMOVUPS xmm0, xmm1: vvvv = 1111b */
	assert_ptr_equal(in.fn, op_avx);
	DEC(8, &in, 0xc5, 0xc0, 0x10, 0xc1); /* ... vvvv = 0111b: #UD (2.3.6) */
	assert_ptr_equal(in.fn, op_ud);
	DEC(8, &in, 0xc5, 0xc2, 0x10, 0xc1); /* VMOVSS xmm0, xmm7, xmm1: vvvv is an operand */
	assert_ptr_equal(in.fn, op_avx);
	DEC(8, &in, 0xc5, 0xc2, 0x10, 0x00); /* VMOVSS xmm0, [rax]: vvvv must be 1111b */
	assert_ptr_equal(in.fn, op_ud);
	DEC(8, &in, 0xc4, 0xe2, 0x79, 0x0c, 0xc1); /* VPERMILPS: W0 */
	assert_ptr_equal(in.fn, op_avx);
	DEC(8, &in, 0xc4, 0xe2, 0xf9, 0x0c, 0xc1);
	assert_ptr_equal(in.fn, op_ud);
	/* VPERMQ/VPERMPD are VEX.256.66.0F3A.W1 00/01 ib; their pages list #UD "If
	 * VEX.W = 0" (vol. 2C) even where a host (AMD) runs the W0 encoding. */
	DEC(8, &in, 0xc4, 0xe3, 0xfd, 0x00, 0xc1, 0x1b); /* VPERMQ ymm0, ymm1, 1BH */
	assert_ptr_equal(in.fn, op_avx);
	DEC(8, &in, 0xc4, 0xe3, 0x7d, 0x00, 0xc1, 0x1b); /* ... VEX.W = 0 */
	assert_ptr_equal(in.fn, op_ud);
	DEC(8, &in, 0xc4, 0xe3, 0x7d, 0x01, 0xc1, 0x1b); /* VPERMPD, VEX.W = 0 */
	assert_ptr_equal(in.fn, op_ud);
	/* VAESENC is VEX.128 (AES + AVX); its VEX.256 form belongs to VAES
	 * (CPUID.(EAX=7,ECX=0):ECX[9]), which fugu's CPU does not have: #UD. */
	DEC(8, &in, 0xc4, 0xe2, 0x71, 0xdc, 0xc2); /* VAESENC xmm0, xmm1, xmm2 */
	assert_ptr_equal(in.fn, op_avx);
	DEC(8, &in, 0xc4, 0xe2, 0x75, 0xdc, 0xc2); /* ... VEX.L = 1 */
	assert_ptr_equal(in.fn, op_ud);
	DEC(8, &in, 0xc4, 0xe3, 0x75, 0x44, 0xc2, 0); /* VPCLMULQDQ ymm: also #UD */
	assert_ptr_equal(in.fn, op_ud);
	DEC(8, &in, 0xc4, 0xe3, 0x7d, 0x18, 0xc1, 0); /* VINSERTF128: VEX.256 only */
	assert_ptr_equal(in.fn, op_avx);
	DEC(8, &in, 0xc4, 0xe3, 0x79, 0x18, 0xc1, 0);
	assert_ptr_equal(in.fn, op_ud);
	DEC(8, &in, 0xc4, 0xe2, 0x71, 0x90, 0x04, 0x10); /* VPGATHERDD xmm0, [rax+xmm2], xmm1 */
	assert_ptr_equal(in.fn, op_avx);
	assert_int_equal(in.index, 2);
	DEC(8, &in, 0xc4, 0xe2, 0x71, 0x90, 0x04, 0x20); /* index xmm4 is a VSIB index */
	assert_int_equal(in.index, 4);
	DEC(8, &in, 0xc4, 0xe2, 0x71, 0x90, 0x04, 0x00); /* index = destination: #UD */
	assert_ptr_equal(in.fn, op_ud);
	DEC(8, &in, 0xc4, 0xe2, 0x71, 0x90, 0x04, 0x08); /* index = mask: #UD */
	assert_ptr_equal(in.fn, op_ud);
	DEC(8, &in, 0xc4, 0xe2, 0x71, 0x90, 0xc2); /* no memory operand: #UD */
	assert_ptr_equal(in.fn, op_ud);
	DEC(8, &in, 0xc4, 0xe2, 0x78, 0xf2, 0xc1); /* ANDN */
	assert_ptr_equal(in.fn, op_avx);
	DEC(8, &in, 0xc4, 0xe2, 0x7c, 0xf2, 0xc1); /* ANDN with VEX.L = 1 */
	assert_ptr_equal(in.fn, op_ud);
	DEC(8, &in, 0xc4, 0xe2, 0x79, 0xf2, 0xc1); /* ANDN has no 66 form */
	assert_ptr_equal(in.fn, op_ud);
	DEC(8, &in, 0xc4, 0xe4, 0x78, 0xf2, 0xc1); /* mmmmm = 4: #UD */
	assert_ptr_equal(in.fn, op_ud);
	DEC(8, &in, 0xc5, 0xf8, 0xfc, 0xc1); /* VPADDB has no VEX form without 66 */
	assert_ptr_equal(in.fn, op_ud);
	DEC(8, &in, 0xc5, 0xfd, 0xfc, 0xc1); /* VPADDB ymm: AVX2 */
	assert_ptr_equal(in.fn, op_avx);
	struct cpu_features f = model("all,-avx2");
	DECF(&f, 8, &in, 0xc5, 0xfd, 0xfc, 0xc1);
	assert_ptr_equal(in.fn, op_ud);
	DECF(&f, 8, &in, 0xc5, 0xf9, 0xfc, 0xc1);
	assert_ptr_equal(in.fn, op_avx);
	/* outside 64-bit mode VEX.vvvv[3] is ignored (vol. 2A, 2.3.6) */
	DEC(4, &in, 0xc4, 0xe1, 0x38, 0x10, 0xc1); /* VMOVUPS, vvvv = 8 (bit 3 only) */
	assert_ptr_equal(in.fn, op_avx);
	DEC(8, &in, 0xc4, 0xe1, 0x38, 0x10, 0xc1); /* the same in 64-bit mode: #UD */
	assert_ptr_equal(in.fn, op_ud);
}

/* Features: masked ones decode to #UD, except TZCNT/LZCNT, which fall back to BSF/BSR. */
static void
feature_gating(void **state)
{
	(void)state;
	struct insn in;
	struct cpu_features f = model("max,-popcnt,-bmi1,-abm,-movbe,-sse4.2");
	assert_int_equal(DECF(&f, 4, &in, 0xf3, 0x0f, 0xb8, 0xc1), 4);
	assert_ptr_equal(in.fn, op_ud);
	assert_int_equal(DECF(&f, 4, &in, 0xf3, 0x0f, 0xbc, 0xc1), 4);
	assert_ptr_equal(in.fn, op_bsf); /* SDM vol. 2B, TZCNT */
	assert_int_equal(DECF(&f, 4, &in, 0xf3, 0x0f, 0xbd, 0xc1), 4);
	assert_ptr_equal(in.fn, op_bsr);
	assert_int_equal(DECF(&f, 4, &in, 0x0f, 0x38, 0xf0, 0x00), 4);
	assert_ptr_equal(in.fn, op_ud);
	assert_int_equal(DECF(&f, 4, &in, 0xf2, 0x0f, 0x38, 0xf1, 0xc1), 5);
	assert_ptr_equal(in.fn, op_ud);
	DEC(4, &in, 0xf3, 0x0f, 0xbc, 0xc1);
	assert_ptr_equal(in.fn, op_tzcnt);
	DEC(4, &in, 0xf3, 0x0f, 0xbd, 0xc1);
	assert_ptr_equal(in.fn, op_lzcnt);
	DEC(4, &in, 0x66, 0x0f, 0xbc, 0xc1);
	assert_ptr_equal(in.fn, op_bsf);
	assert_int_equal(in.opsize, 2);
	assert_int_equal(DEC(4, &in, 0x0f, 0x38, 0xf0, 0x00), 4);
	assert_ptr_equal(in.fn, op_movbe);
	DEC(4, &in, 0x0f, 0x38, 0xf0, 0xc0); /* MOVBE has no register form */
	assert_ptr_equal(in.fn, op_ud);
	DEC(4, &in, 0xf0, 0x0f, 0x38, 0xf1, 0x00); /* nor a LOCK form */
	assert_ptr_equal(in.fn, op_ud);
	struct cpu_features p6 = model("pentiumpro");
	assert_int_equal(DECF(&p6, 4, &in, 0x0f, 0x10, 0x00), 3); /* MOVUPS without SSE */
	assert_ptr_equal(in.fn, op_ud);
	DEC(4, &in, 0x0f, 0x10, 0x00);
	assert_ptr_equal(in.fn, op_sse);
	DEC(4, &in, 0xf3, 0x0f, 0x60, 0xc1); /* PUNPCKLBW has no F3 form */
	assert_ptr_equal(in.fn, op_ud);
}

/* ---- the handlers, on register operands (no memory needed) ---- */

static struct cpu cpu;

static void
run(const struct insn *in)
{
	in->fn(&cpu, in);
}

static void
bitcount_handlers(void **state)
{
	(void)state;
	struct insn in;
	memset(&cpu, 0, sizeof(cpu));
	cpu.state.gpr[R_CX] = 0xf0f0;
	DEC(4, &in, 0xf3, 0x0f, 0xb8, 0xc1); /* POPCNT eax, ecx */
	run(&in);
	assert_int_equal(cpu.state.gpr[R_AX], 8);
	assert_false(flags_arith(&cpu) & F_ZF);
	cpu.state.gpr[R_CX] = 0;
	run(&in);
	assert_int_equal(cpu.state.gpr[R_AX], 0);
	assert_true(flags_arith(&cpu) & F_ZF);

	cpu.state.gpr[R_CX] = 0x100;
	DEC(4, &in, 0xf3, 0x0f, 0xbc, 0xc1); /* TZCNT eax, ecx */
	run(&in);
	assert_int_equal(cpu.state.gpr[R_AX], 8);
	assert_false(flags_arith(&cpu) & (F_CF | F_ZF));
	cpu.state.gpr[R_CX] = 0;
	DEC(4, &in, 0x66, 0xf3, 0x0f, 0xbc, 0xc1); /* TZCNT ax, cx: 16 */
	run(&in);
	assert_int_equal(cpu.state.gpr[R_AX], 16);
	assert_true(flags_arith(&cpu) & F_CF);
	cpu.state.gpr[R_CX] = 1;
	DEC(8, &in, 0xf3, 0x48, 0x0f, 0xbd, 0xc1); /* LZCNT rax, rcx */
	run(&in);
	assert_int_equal(cpu.state.gpr[R_AX], 63);
	cpu.state.gpr[R_CX] = 0x8000;
	DEC(4, &in, 0x66, 0xf3, 0x0f, 0xbd, 0xc1); /* LZCNT ax, cx */
	run(&in);
	assert_int_equal(cpu.state.gpr[R_AX], 0);
	assert_true(flags_arith(&cpu) & F_ZF);

	/* CRC32C("123456789") = E3069283h (init and final XOR FFFFFFFFh) */
	DEC(4, &in, 0xf2, 0x0f, 0x38, 0xf0, 0xc1); /* CRC32 eax, cl */
	cpu.state.gpr[R_AX] = 0xffffffff;
	for (const char *p = "123456789"; *p; p++) {
		cpu.state.gpr[R_CX] = (uint8_t)*p;
		run(&in);
	}
	assert_int_equal(cpu.state.gpr[R_AX] ^ 0xffffffff, 0xe3069283);
	/* the same through the 32-bit form: "1234" then "5678" then "9" */
	cpu.state.gpr[R_AX] = 0xffffffff;
	DEC(4, &in, 0xf2, 0x0f, 0x38, 0xf1, 0xc1);
	cpu.state.gpr[R_CX] = 0x34333231;
	run(&in);
	cpu.state.gpr[R_CX] = 0x38373635;
	run(&in);
	DEC(4, &in, 0xf2, 0x0f, 0x38, 0xf0, 0xc1);
	cpu.state.gpr[R_CX] = '9';
	run(&in);
	assert_int_equal(cpu.state.gpr[R_AX] ^ 0xffffffff, 0xe3069283);
}

/* ---- instruction ids and intercept classes ---- */

/* Decode every opcode of every map with every mandatory prefix, ModRM.reg, a
 * register and a memory form, in each code size, and call fn on the result. */
static void
walk_all(void (*fn)(const uint8_t *b, unsigned n, unsigned cs, const struct insn *in))
{
	static const uint8_t pfx[] = { 0, 0x66, 0xf3, 0xf2 };
	static const unsigned sizes[] = { 2, 4, 8 };
	for (unsigned z = 0; z < 3; z++)
		for (unsigned map = 0; map < 4; map++)
			for (unsigned p = 0; p < 4; p++)
				for (unsigned op = 0; op < 256; op++)
					for (unsigned m = 0; m < 256; m++) {
						/* every ModRM byte */
						uint8_t b[16] = { 0 };
						unsigned n = 0;
						if (pfx[p])
							b[n++] = pfx[p];
						if (map)
							b[n++] = 0x0f;
						if (map == 2)
							b[n++] = 0x38;
						if (map == 3)
							b[n++] = 0x3a;
						b[n++] = (uint8_t)op;
						b[n++] = (uint8_t)m;
						struct insn in;
						int len = decode_insn(b, 16, sizes[z], &max_feat,
								      &in);
						if (len > 0)
							fn(b, (unsigned)len, sizes[z], &in);
					}
}

static unsigned seen_ids[INSN_COUNT];

static void
check_id(const uint8_t *b, unsigned n, unsigned cs, const struct insn *in)
{
	if (in->fn != op_ud && in->id == INSN_INVALID)
		fail_msg("%u-bit %02x %02x %02x %02x (len %u): a handler but no id", cs * 8, b[0],
			 b[1], b[2], b[3], n);
	if (in->id >= INSN_COUNT)
		fail_msg("id %u out of range", in->id);
	if (in->icls != ICLS_NONE && in->fn == op_ud && in->id == INSN_INVALID)
		fail_msg("an undefined opcode has a class");
	seen_ids[in->id]++;
}

/* Every row that has a handler has an id; only undefined opcodes have none; and
 * every id of the list is some row's. */
static void
every_row_has_an_id(void **state)
{
	(void)state;
	memset(seen_ids, 0, sizeof(seen_ids));
	walk_all(check_id);
	for (unsigned k = 1; k < INSN_COUNT; k++) {
		assert_non_null(insn_mnemonic[k]);
		if (!seen_ids[k] && (k < INSN_AVX || k > INSN_BMI2)) /* VEX ids: cpu/vex.c */
			fail_msg("id %s is no row's", insn_mnemonic[k]);
	}
	struct insn in;
	DEC(8, &in, 0xc5, 0xf8, 0x77); /* VZEROUPPER */
	assert_int_equal(in.id, INSN_AVX);
	DEC(8, &in, 0xc4, 0xe2, 0x78, 0xf2, 0xc1); /* ANDN */
	assert_int_equal(in.id, cpu_has(&max_feat, FEAT_BMI1) ? INSN_BMI1 : INSN_AVX);
	DEC(4, &in, 0x0f, 0x04); /* undefined */
	assert_int_equal(in.id, INSN_INVALID);
	assert_ptr_equal(in.fn, op_ud);
}

/* The handler each class must land on (op_ud: not executed by fugu yet). */
static const struct {
	unsigned cls;
	insn_fn fn[14];
} class_doors[] = {
	{ ICLS_CPUID, { op_cpuid } },
	{ ICLS_GETSEC, { op_ud } },
	{ ICLS_INVD, { op_invd } },
	{ ICLS_XSETBV, { op_xsetbv } },
	{ ICLS_VMX,
	  { op_vmxon, op_vmxoff, op_vmclear, op_vmptrld, op_vmptrst, op_vmread, op_vmwrite,
	    op_vmlaunch, op_vmresume, op_vmcall, op_invvpid, op_invept, op_vmfunc } },
	{ ICLS_RDMSR, { op_rdmsr } },
	{ ICLS_WRMSR, { op_wrmsr } },
	{ ICLS_IO, { op_in_imm, op_in_dx, op_out_imm, op_out_dx } },
	{ ICLS_IO_STRING, { op_ins, op_outs } },
	{ ICLS_HLT, { op_hlt } },
	{ ICLS_INVLPG, { op_invlpg } },
	{ ICLS_INVPCID, { op_invpcid } },
	{ ICLS_MOV_CR, { op_mov_r_cr, op_mov_cr_r, op_clts, op_lmsw } },
	{ ICLS_MOV_DR, { op_mov_r_dr, op_mov_dr_r } },
	{ ICLS_RDTSC, { op_rdtsc } },
	{ ICLS_RDTSCP, { op_rdtscp } },
	{ ICLS_RDPMC, { op_rdpmc } },
	{ ICLS_MONITOR, { op_ud } },
	{ ICLS_MWAIT, { op_ud } },
	{ ICLS_PAUSE, { op_pause } },
	{ ICLS_WBINVD, { op_invd } },
	{ ICLS_RDRAND, { op_ud } },
	{ ICLS_RDSEED, { op_ud } },
	{ ICLS_DESC_TABLE,
	  { op_sgdt, op_sidt, op_lgdt, op_lidt, op_sldt, op_str, op_lldt, op_ltr } },
	{ ICLS_XSAVES, { op_xsaves, op_xrstors } },
};

static unsigned seen_cls[ICLS_COUNT];

static void
check_class(const uint8_t *b, unsigned n, unsigned cs, const struct insn *in)
{
	(void)n;
	for (size_t k = 0; k < sizeof(class_doors) / sizeof(class_doors[0]); k++) {
		bool door = false;
		for (unsigned j = 0; j < 14 && class_doors[k].fn[j]; j++)
			door |= in->fn == class_doors[k].fn[j];
		if (in->icls == class_doors[k].cls && !door)
			fail_msg("%u-bit %02x %02x %02x %02x: class %s, not its handler", cs * 8,
				 b[0], b[1], b[2], b[3], insn_class_name[in->icls]);
		/* and the other way: a class's own handler always carries the class */
		if (door && in->fn != op_ud && in->icls != class_doors[k].cls &&
		    !(in->fn == op_invd && (in->icls == ICLS_INVD || in->icls == ICLS_WBINVD)))
			fail_msg("%u-bit %02x %02x %02x %02x: handler of %s with class %s", cs * 8,
				 b[0], b[1], b[2], b[3], insn_class_name[class_doors[k].cls],
				 insn_class_name[in->icls]);
	}
	seen_cls[in->icls]++;
}

/* Each intercept class lands on exactly its handler(s), and every class occurs. */
static void
classes_land_on_their_handlers(void **state)
{
	(void)state;
	memset(seen_cls, 0, sizeof(seen_cls));
	walk_all(check_class);
	for (unsigned k = 0; k < ICLS_COUNT; k++)
		if (!seen_cls[k])
			fail_msg("class %s never decoded", insn_class_name[k]);
	struct insn in;
	DEC(4, &in, 0x0f, 0xa2);
	assert_int_equal(in.icls, ICLS_CPUID);
	assert_int_equal(in.id, INSN_CPUID);
	assert_ptr_equal(in.fn, op_cpuid);
	DEC(4, &in, 0xf0, 0x0f, 0xa2); /* LOCK CPUID: #UD, which is not an intercept */
	assert_ptr_equal(in.fn, op_ud);
	assert_int_equal(in.icls, ICLS_NONE);
	assert_int_equal(in.id, INSN_CPUID);
}

/* Group 7 and group 6: one row and handler per instruction. */
static void
group7_rows(void **state)
{
	(void)state;
	struct insn in;
	static const struct {
		uint8_t modrm;
		unsigned id, cls;
		insn_fn fn;
	} g7[] = {
		{ 0xc1, INSN_VMCALL, ICLS_VMX, op_vmcall },
		{ 0xc2, INSN_VMLAUNCH, ICLS_VMX, op_vmlaunch },
		{ 0xc3, INSN_VMRESUME, ICLS_VMX, op_vmresume },
		{ 0xc4, INSN_VMXOFF, ICLS_VMX, op_vmxoff },
		{ 0xc8, INSN_MONITOR, ICLS_MONITOR, op_ud },
		{ 0xc9, INSN_MWAIT, ICLS_MWAIT, op_ud },
		{ 0xca, INSN_CLAC, ICLS_NONE, op_clac },
		{ 0xcb, INSN_STAC, ICLS_NONE, op_stac },
		{ 0xd0, INSN_XGETBV, ICLS_NONE, op_xgetbv },
		{ 0xd1, INSN_XSETBV, ICLS_XSETBV, op_xsetbv },
		{ 0xd4, INSN_VMFUNC, ICLS_VMX, op_vmfunc },
		{ 0xf8, INSN_SWAPGS, ICLS_NONE, op_swapgs },
		{ 0xf9, INSN_RDTSCP, ICLS_RDTSCP, op_rdtscp },
		{ 0xe0, INSN_SMSW, ICLS_NONE, op_smsw },
		{ 0xf0, INSN_LMSW, ICLS_MOV_CR, op_lmsw },
		{ 0x00, INSN_SGDT, ICLS_DESC_TABLE, op_sgdt },
		{ 0x08, INSN_SIDT, ICLS_DESC_TABLE, op_sidt },
		{ 0x10, INSN_LGDT, ICLS_DESC_TABLE, op_lgdt },
		{ 0x18, INSN_LIDT, ICLS_DESC_TABLE, op_lidt },
		{ 0x20, INSN_SMSW, ICLS_NONE, op_smsw },
		{ 0x30, INSN_LMSW, ICLS_MOV_CR, op_lmsw },
		{ 0x38, INSN_INVLPG, ICLS_INVLPG, op_invlpg },
		{ 0xc0, INSN_INVALID, ICLS_NONE, op_ud },
		{ 0xd8, INSN_INVALID, ICLS_NONE, op_ud },
	};
	for (size_t k = 0; k < sizeof(g7) / sizeof(g7[0]); k++) {
		/* "all" reports every feature: the rows are valid, MONITOR... #UD */
		assert_int_equal(DEC(8, &in, 0x0f, 0x01, g7[k].modrm), 3);
		assert_int_equal(in.id, g7[k].id);
		assert_int_equal(in.icls, g7[k].cls);
		assert_ptr_equal(in.fn, g7[k].fn);
	}
	assert_int_equal(DEC(4, &in, 0x0f, 0x01, 0x15, 1, 2, 3, 4), 7); /* LGDT [disp32] */
	assert_ptr_equal(in.fn, op_lgdt);
	struct cpu_features p6 = model("pentiumpro"); /* no RDTSCP: #UD, as before */
	DECF(&p6, 4, &in, 0x0f, 0x01, 0xf9);
	assert_ptr_equal(in.fn, op_ud);
	assert_int_equal(in.id, INSN_RDTSCP);
	static const struct {
		uint8_t modrm;
		unsigned id;
		insn_fn fn;
	} g6[] = {
		{ 0xc0, INSN_SLDT, op_sldt }, { 0x08, INSN_STR, op_str },
		{ 0xd0, INSN_LLDT, op_lldt }, { 0x18, INSN_LTR, op_ltr },
		{ 0xe0, INSN_VERR, op_verr }, { 0x28, INSN_VERW, op_verw },
	};
	for (size_t k = 0; k < sizeof(g6) / sizeof(g6[0]); k++) {
		assert_int_equal(DEC(4, &in, 0x0f, 0x00, g6[k].modrm), 3);
		assert_int_equal(in.id, g6[k].id);
		assert_ptr_equal(in.fn, g6[k].fn);
	}
	DEC(4, &in, 0x0f, 0x00, 0x30); /* /6 is undefined */
	assert_ptr_equal(in.fn, op_ud);
	assert_int_equal(in.id, INSN_INVALID);
	/* 90 NOP, F3 90 PAUSE, REX.B 90 XCHG r8, rAX. */
	DEC(8, &in, 0x90);
	assert_ptr_equal(in.fn, op_nop);
	assert_int_equal(in.id, INSN_NOP);
	DEC(8, &in, 0xf3, 0x90);
	assert_ptr_equal(in.fn, op_pause);
	assert_int_equal(in.icls, ICLS_PAUSE);
	DEC(8, &in, 0x41, 0x90);
	assert_ptr_equal(in.fn, op_xchg_acc_r);
	assert_int_equal(in.id, INSN_XCHG);
	/* 0F C7: VMX memory forms by prefix, RDRAND/RDSEED register forms. */
	DEC(8, &in, 0x66, 0x0f, 0xc7, 0x30);
	assert_int_equal(in.id, INSN_VMCLEAR);
	DEC(8, &in, 0xf3, 0x0f, 0xc7, 0x30);
	assert_int_equal(in.id, INSN_VMXON);
	DEC(8, &in, 0x0f, 0xc7, 0xf0);
	assert_int_equal(in.id, INSN_RDRAND);
	assert_int_equal(in.icls, ICLS_RDRAND);
	DEC(8, &in, 0x0f, 0xc7, 0x08);
	assert_ptr_equal(in.fn, op_cmpxchg8b);
}

/* -stats: per-instruction counts are exact (traces entered, early exits at
 * taken branches and at the budget, counted out of line). */
static void
insn_counts_are_exact(void **state)
{
	(void)state;
	struct cpu_features f = model("max");
	struct physmem *pm = physmem_create(4 << 20);
	struct ioports *io = ioports_create();
	struct cpu *c = cpu_create(
		&(struct cpu_config){ .mem = pm, .io = io, .features = f, .count_insns = true });
	assert_non_null(c);
	/* mov cx, 100; l: add ax, 1; inc bx; loop l; hlt (16-bit real mode) */
	static const uint8_t code[] = {
		0xb9, 0x64, 0x00, 0x05, 0x01, 0x00, 0x43, 0xe2, 0xfa, 0xf4
	};
	for (unsigned budget = 1; budget <= 64; budget += 21) {
		physmem_write(pm, 0x1000, code, sizeof(code));
		c->state.seg[S_CS].base = 0;
		c->state.seg[S_CS].sel = 0;
		c->state.rip = 0x1000;
		c->state.halted = false;
		uint64_t before[INSN_COUNT], after[INSN_COUNT], start = c->icount;
		tcache_insn_counts(c, before);
		while (cpu_exec(c, budget) != CPU_EXIT_HALT)
			;
		tcache_flush(c); /* folding at a flush, then at the query */
		tcache_insn_counts(c, after);
		assert_int_equal(c->icount - start, 302);
		assert_int_equal(after[INSN_MOV] - before[INSN_MOV], 1);
		assert_int_equal(after[INSN_ADD] - before[INSN_ADD], 100);
		assert_int_equal(after[INSN_INC] - before[INSN_INC], 100);
		assert_int_equal(after[INSN_LOOP] - before[INSN_LOOP], 100);
		assert_int_equal(after[INSN_HLT] - before[INSN_HLT], 1);
		uint64_t sum = 0;
		for (unsigned k = 0; k < INSN_COUNT; k++)
			sum += after[k] - before[k];
		assert_int_equal(sum, 302);
	}
	cpu_destroy(c);
	physmem_destroy(pm);
	ioports_destroy(io);
}

/* The implemented column: `max` is the implemented features, `all` everything
 * known; masking a named model removes what fugu does not execute. */
static void
implemented_column(void **state)
{
	(void)state;
	struct cpu_features mx = model("max"), al = model("all"), nh = model("nehalem");
	assert_true(cpu_feature_implemented(FEAT_VMX));   /* cpu/vmx/ (docs/VMX.md) */
	assert_true(cpu_feature_implemented(FEAT_SSE));   /* cpu/exec/sse.c */
	assert_true(cpu_feature_implemented(FEAT_XSAVE)); /* cpu/exec/sse.c */
	assert_true(cpu_feature_implemented(FEAT_BMI1));  /* cpu/exec/avx.c */
	assert_true(cpu_feature_implemented(FEAT_AVX2));
	assert_false(cpu_feature_implemented(FEAT_PKU));
	assert_true(cpu_feature_implemented(FEAT_LM));
	assert_true(cpu_feature_implemented(FEAT_FPU));
	assert_true(cpu_has(&mx, FEAT_VMX));
	assert_true(cpu_has(&al, FEAT_VMX));
	for (unsigned k = 0; k < FEAT_COUNT; k++) /* max: implemented and on this host */
		assert_int_equal(cpu_has(&mx, (enum cpu_feature)k),
				 cpu_feature_implemented((enum cpu_feature)k) &&
					 cpu_feature_on_host((enum cpu_feature)k));
	cpu_features_mask_unimplemented(&nh);
	assert_true(cpu_has(&nh, FEAT_VMX));   /* Nehalem has VMX, and fugu models it */
	assert_true(cpu_has(&nh, FEAT_SSE42)); /* the x86-64 baseline and SSE4.2 execute */
	assert_true(cpu_has(&mx, FEAT_SSE2) && cpu_has(&mx, FEAT_FXSR) && cpu_has(&mx, FEAT_MMX));
	assert_true(cpu_has(&nh, FEAT_FPU)); /* the x87 is executed (cpu/exec/x87.c) */
	assert_true(cpu_has(&nh, FEAT_LM));
	assert_true(cpu_has(&nh, FEAT_RDTSCP));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prefix_order),
		cmocka_unit_test(length_limit),
		cmocka_unit_test(rex_before_legacy_prefix),
		cmocka_unit_test(branch_operand_size),
		cmocka_unit_test(moffs_sizes),
		cmocka_unit_test(enter_and_far_pointers),
		cmocka_unit_test(group_immediates),
		cmocka_unit_test(modrm_forms),
		cmocka_unit_test(invalid_in_64bit_mode),
		cmocka_unit_test(vex_lengths),
		cmocka_unit_test(vex_ud_rules),
		cmocka_unit_test(feature_gating),
		cmocka_unit_test(bitcount_handlers),
		cmocka_unit_test(every_row_has_an_id),
		cmocka_unit_test(classes_land_on_their_handlers),
		cmocka_unit_test(group7_rows),
		cmocka_unit_test(insn_counts_are_exact),
		cmocka_unit_test(implemented_column),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
