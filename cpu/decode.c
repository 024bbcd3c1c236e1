/*
 * fugu — the instruction decoder.
 *
 * The opcode maps are data: one row per opcode naming its handler, its operand
 * shape (ModRM, byte size, immediate kind), where it may appear (invalid in 64-bit
 * mode, default 64-bit operand size), whether LOCK is allowed, whether it ends a
 * trace, and the CPUID feature it needs. Group opcodes (80, C0, F6, FF, ...) name
 * a row of groups[] chosen by ModRM.reg; opcodes whose meaning depends on a
 * mandatory prefix (none/66/F3/F2: the SSE forms, POPCNT, TZCNT, CRC32, ...) name
 * a row of pfxrows[]. The opcode row fixes the shape (ModRM, immediate), so the
 * length never depends on the CPU's features. SDM vol. 2, appendix A (tables A-2
 * to A-7), is the source; VEX (C4/C5) follows vol. 2A, 2.3.
 */
#include "cpu/decode.h"

#include "cpu/exec/exec.h"
#include "cpu/vex.h"

const char *const insn_mnemonic[INSN_COUNT] = {
#define X(id, mn) [INSN_##id] = mn,
	INSN_ID_LIST(X)
#undef X
};

const char *const insn_class_name[ICLS_COUNT] = {
#define X(id, name) [ICLS_##id] = name,
	INSN_CLASS_LIST(X)
#undef X
};

enum imm_kind {
	IMM_NONE,
	IMM_B,     /* 8-bit, zero-extended */
	IMM_SB,    /* 8-bit, sign-extended to the operand size */
	IMM_W,     /* 16-bit */
	IMM_Z,     /* 16 or 32 bits by operand size, sign-extended to 64; 8 for byte forms */
	IMM_V,     /* 16, 32 or 64 bits by operand size (MOV r, imm) */
	IMM_MOFFS, /* address-size offset (MOV AL, moffs) */
	IMM_FAR,   /* offset (16/32 by operand size) then a 16-bit selector */
	IMM_ENTER, /* 16-bit frame size then an 8-bit nesting level */
};

/* Operand attributes of an opcode row. */
#define A_MODRM 0x001
#define A_BYTE 0x002    /* operand size is one byte */
#define A_END 0x004     /* ends a trace (conditional branches do not: they end it when taken) */
#define A_LOCK 0x008    /* LOCK allowed (with a memory destination) */
#define A_INV64 0x010   /* #UD in 64-bit mode */
#define A_DEF64 0x020   /* operand size defaults to 64 bits in 64-bit mode */
#define A_F64 0x040     /* operand size is 64 bits in 64-bit mode (near branches) */
#define A_GROUP 0x080   /* handler chosen by ModRM.reg from groups[row.group] */
#define A_MEMONLY 0x100 /* #UD when ModRM.mod == 3 */
#define A_PREFIX 0x200
#define A_MODREG 0x400    /* ModRM.mod is ignored: always a register (MOV CRn/DRn) */
#define A_NOMEM 0x800     /* #UD when ModRM.mod != 3 */
#define A_PFXSEL 0x1000   /* handler chosen by the mandatory prefix from pfxrows[row.group] */
#define A_FALLBACK 0x2000 /* pfxrows: without the feature, the prefix is ignored (TZCNT) */
#define A_SPLITMOD 0x4000 /* group: register forms (mod == 3) use groups[row.group + 1] */
#define A_RMSEL 0x8000    /* group member: handler chosen by ModRM.rm from rmrows[row.group] */

struct oprow {
	insn_fn fn;
	uint16_t attr;
	uint16_t id; /* enum insn_id */
	uint8_t imm;
	uint8_t feature; /* enum cpu_feature, or FEAT_NONE */
	uint8_t group;
	uint8_t cls; /* enum insn_class */
};

enum { G1, G1A, G2, G3, G4, G5, G6, G7, G7R, G8, G9, G9R, G11, G12, G13, G14, G15, G15R, NGROUPS };

/* 0F 01 register forms by ModRM.reg, each chosen by ModRM.rm (SDM vol. 2D, table A-6). */
enum { R7_0, R7_1, R7_2, R7_5, R7_7, NRMSEL };

/*
 * Mandatory-prefix rows, each for no prefix / 66 / F3 / F2 (SDM vol. 2A, 2.1.2 and
 * the prefix columns of tables ). Named by which forms exist and the
 * feature of each: PS/PD/SS/SD SSE forms, MMX forms with an SSE2 66 form, ...
 */
enum {
	P_ALL,     /* ps SSE, pd SSE2, ss SSE, sd SSE2 */
	P_ALL2,    /* all four SSE2 (CVTPS2PD row) */
	P_PSPD,    /* ps SSE, pd SSE2 (and the MMX forms SSE added: PAVGB, PMINUB, ...) */
	P_PSSS,    /* ps and ss, SSE */
	P_12,      /* MOVLPS/MOVLPD/MOVSLDUP/MOVDDUP */
	P_16,      /* MOVHPS/MOVHPD/MOVSHDUP */
	P_5B,      /* CVTDQ2PS/CVTPS2DQ/CVTTPS2DQ */
	P_MMX,     /* MMX, and the 66 SSE2 form on XMM */
	P_SSE2X,   /* MMX-register and XMM forms both SSE2 (PADDQ, PMULUDQ, PSUBQ) */
	P_66,      /* 66 only, SSE2 (PUNPCKLQDQ, PSRLDQ, ...) */
	P_6F,      /* MOVQ mm / MOVDQA / MOVDQU */
	P_70,      /* PSHUFW / PSHUFD / PSHUFHW / PSHUFLW */
	P_7C,      /* 66 and F2, SSE3 (HADDPD/HADDPS, ADDSUBPD/PS) */
	P_7E,      /* MOVD mm / MOVD xmm / MOVQ xmm */
	P_D6,      /* 66, F3, F2, SSE2 (MOVQ/MOVQ2DQ/MOVDQ2Q, CVT*DQ*) */
	P_F0,      /* F2 only, SSE3 (LDDQU) */
	P_SSSE3,   /* 0F 38/3A: MMX and 66 forms, SSSE3 */
	P_41,      /* 0F 38/3A: 66 only, SSE4.1 */
	P_42,      /* 0F 38/3A: 66 only, SSE4.2 */
	P_AES,     /* 0F 38 DB-DF, 0F 3A DF: 66 only, AES-NI */
	P_CLMUL,   /* 0F 3A 44: 66 only, PCLMULQDQ */
	P_INVVPID, /* 66 0F 38 81 */
	P_PCID66,  /* 0F 38 82 INVPCID: 66 only */
	P_B8,      /* F3 POPCNT (no prefix: JMPE, not on this processor) */
	P_BC,      /* BSF, F3 TZCNT */
	P_BD,      /* BSR, F3 LZCNT */
	P_MOVBE0,  /* 0F 38 F0: MOVBE r, m; F2 CRC32 r, r/m8 */
	P_MOVBE1,  /* 0F 38 F1: MOVBE m, r; F2 CRC32 r, r/m */
	P_RDFS,    /* 0F AE /0-/3 register forms: F3 RDFSBASE, RDGSBASE, WRFSBASE, WRGSBASE */
	P_RDGS,
	P_WRFS,
	P_WRGS,
	P_VMC7,   /* 0F C7 /6 memory: VMPTRLD, 66 VMCLEAR, F3 VMXON */
	P_INVEPT, /* 66 0F 38 80 */
	NPFX
};

/* clang-format off: the opcode maps are tables, laid out by hand */
/* A row: id, handler, attributes, immediate; RF adds the feature, RC the
 * intercept class, RFC both. */
#define RFC(n, f, a, im, ft, c)                                                                    \
	{                                                                                          \
		.fn = op_##f, .attr = (a), .id = INSN_##n, .imm = (im), .feature = FEAT_##ft,      \
		.cls = ICLS_##c                                                                    \
	}
#define R(id, f, a, im) RFC(id, f, a, im, NONE, NONE)
#define RF(id, f, a, im, ft) RFC(id, f, a, im, ft, NONE)
#define RC(id, f, a, im, c) RFC(id, f, a, im, NONE, c)
#define GRP(g, a, im)                                                                              \
	{                                                                                          \
		.attr = (a) | A_GROUP | A_MODRM, .imm = (im), .feature = FEAT_NONE, .group = (g)   \
	}
#define PFX                                                                                        \
	{                                                                                          \
		.attr = A_PREFIX, .feature = FEAT_NONE                                             \
	}
/* An opcode fugu knows the shape of but does not execute yet: #UD. */
#define NX(id, a, im, c) RFC(id, ud, (a) | A_END, im, NONE, c)
/* Mandatory-prefix opcode: ModRM, operand shape here, handlers in pfxrows[pat]. */
#define PS(pat, a, im)                                                                             \
	{                                                                                          \
		.attr = (a) | A_MODRM | A_PFXSEL, .imm = (im), .feature = FEAT_NONE,               \
		.group = (pat)                                                                     \
	}
/* Register forms chosen by ModRM.rm (0F 01 C0-FF): handlers in rmrows[sel]. */
#define RMS(sel)                                                                                   \
	{                                                                                          \
		.attr = A_RMSEL, .feature = FEAT_NONE, .group = (sel)                              \
	}
/* An MMX/SSE form (pfxrows): decoded, not executed yet; its id is the family's. */
#define SX(ft)                                                                                     \
	{                                                                                          \
		.fn = op_sse, .id = INSN_##ft, .feature = FEAT_##ft                                \
	}
#define NOROW                                                                                      \
	{                                                                                          \
		.feature = FEAT_NONE                                                               \
	}
/* The six forms of an ALU operation (00-05, 08-0D, ...); CMP's r/m destination is
 * not lockable. Each operation has its own handlers (cpu/exec/alu.c). */
#define ALU_ROWS(id, op, lock)                                                                     \
	R(id, op##_rm_r, A_MODRM | A_BYTE | (lock), IMM_NONE),                                     \
		R(id, op##_rm_r, A_MODRM | (lock), IMM_NONE),                                      \
		R(id, op##_r_rm, A_MODRM | A_BYTE, IMM_NONE), R(id, op##_r_rm, A_MODRM, IMM_NONE), \
		R(id, op##_acc_imm, A_BYTE, IMM_B), R(id, op##_acc_imm, 0, IMM_Z)

/* One-byte opcodes (SDM vol. 2D, table A-2). */
static const struct oprow map1[256] = {
	[0x00] = ALU_ROWS(ADD, add, A_LOCK),
	[0x06] = R(PUSH, push_sreg, A_INV64, IMM_NONE),
	[0x07] = R(POP, pop_sreg, A_INV64 | A_END, IMM_NONE),
	[0x08] = ALU_ROWS(OR, or, A_LOCK),
	[0x0e] = R(PUSH, push_sreg, A_INV64, IMM_NONE),
	[0x10] = ALU_ROWS(ADC, adc, A_LOCK),
	[0x16] = R(PUSH, push_sreg, A_INV64, IMM_NONE),
	[0x17] = R(POP, pop_sreg, A_INV64 | A_END, IMM_NONE),
	[0x18] = ALU_ROWS(SBB, sbb, A_LOCK),
	[0x1e] = R(PUSH, push_sreg, A_INV64, IMM_NONE),
	[0x1f] = R(POP, pop_sreg, A_INV64 | A_END, IMM_NONE),
	[0x20] = ALU_ROWS(AND, and, A_LOCK),
	[0x26] = PFX,
	[0x27] = R(DAA, daa, A_INV64, IMM_NONE),
	[0x28] = ALU_ROWS(SUB, sub, A_LOCK),
	[0x2e] = PFX,
	[0x2f] = R(DAS, das, A_INV64, IMM_NONE),
	[0x30] = ALU_ROWS(XOR, xor, A_LOCK),
	[0x36] = PFX,
	[0x37] = R(AAA, aaa, A_INV64, IMM_NONE),
	[0x38] = ALU_ROWS(CMP, cmp, 0),
	[0x3e] = PFX,
	[0x3f] = R(AAS, aas, A_INV64, IMM_NONE),
	[0x40 ... 0x47] = R(INC, inc_r, 0, IMM_NONE),
	[0x48 ... 0x4f] = R(DEC, dec_r, 0, IMM_NONE),
	[0x50 ... 0x57] = R(PUSH, push_r, A_DEF64, IMM_NONE),
	[0x58 ... 0x5f] = R(POP, pop_r, A_DEF64, IMM_NONE),
	[0x60] = R(PUSHA, pusha, A_INV64, IMM_NONE),
	[0x61] = R(POPA, popa, A_INV64, IMM_NONE),
	[0x62] = R(BOUND, bound, A_INV64 | A_MODRM | A_MEMONLY, IMM_NONE),
	[0x63] = R(ARPL, arpl, A_MODRM, IMM_NONE), /* MOVSXD in 64-bit mode: see decode_insn */
	[0x64] = PFX,
	[0x65] = PFX,
	[0x66] = PFX,
	[0x67] = PFX,
	[0x68] = R(PUSH, push_imm, A_DEF64, IMM_Z),
	[0x69] = R(IMUL, imul_r_rm_imm, A_MODRM, IMM_Z),
	[0x6a] = R(PUSH, push_imm, A_DEF64, IMM_SB),
	[0x6b] = R(IMUL, imul_r_rm_imm, A_MODRM, IMM_SB),
	[0x6c] = RC(INS, ins, A_BYTE, IMM_NONE, IO_STRING),
	[0x6d] = RC(INS, ins, 0, IMM_NONE, IO_STRING),
	[0x6e] = RC(OUTS, outs, A_BYTE, IMM_NONE, IO_STRING),
	[0x6f] = RC(OUTS, outs, 0, IMM_NONE, IO_STRING),
	[0x70 ... 0x7f] = R(JCC, jcc, A_F64, IMM_SB),
	[0x80] = GRP(G1, A_BYTE | A_LOCK, IMM_B),
	[0x81] = GRP(G1, A_LOCK, IMM_Z),
	[0x82] = GRP(G1, A_BYTE | A_LOCK | A_INV64, IMM_B),
	[0x83] = GRP(G1, A_LOCK, IMM_SB),
	[0x84] = R(TEST, test_rm_r, A_MODRM | A_BYTE, IMM_NONE),
	[0x85] = R(TEST, test_rm_r, A_MODRM, IMM_NONE),
	[0x86] = R(XCHG, xchg_rm_r, A_MODRM | A_BYTE | A_LOCK, IMM_NONE),
	[0x87] = R(XCHG, xchg_rm_r, A_MODRM | A_LOCK, IMM_NONE),
	[0x88] = R(MOV, mov_rm_r, A_MODRM | A_BYTE, IMM_NONE),
	[0x89] = R(MOV, mov_rm_r, A_MODRM, IMM_NONE),
	[0x8a] = R(MOV, mov_r_rm, A_MODRM | A_BYTE, IMM_NONE),
	[0x8b] = R(MOV, mov_r_rm, A_MODRM, IMM_NONE),
	[0x8c] = R(MOV_SREG, mov_rm_sreg, A_MODRM, IMM_NONE),
	[0x8d] = R(LEA, lea, A_MODRM | A_MEMONLY, IMM_NONE),
	[0x8e] = R(MOV_SREG, mov_sreg_rm, A_MODRM | A_END, IMM_NONE),
	[0x8f] = GRP(G1A, A_DEF64, IMM_NONE),
	[0x90] = R(XCHG, xchg_acc_r, 0, IMM_NONE), /* NOP / PAUSE unless REX.B */
	[0x91 ... 0x97] = R(XCHG, xchg_acc_r, 0, IMM_NONE),
	[0x98] = R(CBW, cbw, 0, IMM_NONE),
	[0x99] = R(CWD, cwd, 0, IMM_NONE),
	[0x9a] = R(CALLF, callf_imm, A_INV64 | A_END, IMM_FAR),
	[0x9b] = R(WAIT, fwait, 0, IMM_NONE),
	[0x9c] = R(PUSHF, pushf, A_DEF64, IMM_NONE),
	[0x9d] = R(POPF, popf, A_DEF64 | A_END, IMM_NONE),
	[0x9e] = R(SAHF, sahf, 0, IMM_NONE),
	[0x9f] = R(LAHF, lahf, 0, IMM_NONE),
	[0xa0] = R(MOV, mov_acc_moffs, A_BYTE, IMM_MOFFS),
	[0xa1] = R(MOV, mov_acc_moffs, 0, IMM_MOFFS),
	[0xa2] = R(MOV, mov_moffs_acc, A_BYTE, IMM_MOFFS),
	[0xa3] = R(MOV, mov_moffs_acc, 0, IMM_MOFFS),
	[0xa4] = R(MOVS, movs, A_BYTE, IMM_NONE),
	[0xa5] = R(MOVS, movs, 0, IMM_NONE),
	[0xa6] = R(CMPS, cmps, A_BYTE, IMM_NONE),
	[0xa7] = R(CMPS, cmps, 0, IMM_NONE),
	[0xa8] = R(TEST, test_acc_imm, A_BYTE, IMM_B),
	[0xa9] = R(TEST, test_acc_imm, 0, IMM_Z),
	[0xaa] = R(STOS, stos, A_BYTE, IMM_NONE),
	[0xab] = R(STOS, stos, 0, IMM_NONE),
	[0xac] = R(LODS, lods, A_BYTE, IMM_NONE),
	[0xad] = R(LODS, lods, 0, IMM_NONE),
	[0xae] = R(SCAS, scas, A_BYTE, IMM_NONE),
	[0xaf] = R(SCAS, scas, 0, IMM_NONE),
	[0xb0 ... 0xb7] = R(MOV, mov_r_imm, A_BYTE, IMM_B),
	[0xb8 ... 0xbf] = R(MOV, mov_r_imm, 0, IMM_V),
	[0xc0] = GRP(G2, A_BYTE, IMM_B),
	[0xc1] = GRP(G2, 0, IMM_B),
	[0xc2] = R(RET, ret_imm, A_F64 | A_END, IMM_W),
	[0xc3] = R(RET, ret, A_F64 | A_END, IMM_NONE),
	[0xc4] = R(LES, lxs, A_INV64 | A_MODRM | A_MEMONLY, IMM_NONE),
	[0xc5] = R(LDS, lxs, A_INV64 | A_MODRM | A_MEMONLY, IMM_NONE),
	[0xc6] = GRP(G11, A_BYTE, IMM_B),
	[0xc7] = GRP(G11, 0, IMM_Z),
	[0xc8] = R(ENTER, enter, A_DEF64, IMM_ENTER),
	[0xc9] = R(LEAVE, leave, A_DEF64, IMM_NONE),
	[0xca] = R(RETF, retf_imm, A_END, IMM_W),
	[0xcb] = R(RETF, retf, A_END, IMM_NONE),
	[0xcc] = R(INT3, int3, A_END, IMM_NONE),
	[0xcd] = R(INT, int_imm, A_END, IMM_B),
	[0xce] = R(INTO, into, A_INV64 | A_END, IMM_NONE),
	[0xcf] = R(IRET, iret, A_END, IMM_NONE),
	[0xd0] = GRP(G2, A_BYTE, IMM_NONE),
	[0xd1] = GRP(G2, 0, IMM_NONE),
	[0xd2] = GRP(G2, A_BYTE, IMM_NONE),
	[0xd3] = GRP(G2, 0, IMM_NONE),
	[0xd4] = R(AAM, aam, A_INV64, IMM_B),
	[0xd5] = R(AAD, aad, A_INV64, IMM_B),
	[0xd6] = R(SALC, salc, A_INV64, IMM_NONE),
	[0xd7] = R(XLAT, xlat, 0, IMM_NONE),
	[0xd8 ... 0xdf] = R(X87, x87, A_MODRM, IMM_NONE),
	[0xe0] = R(LOOPNE, loop, A_F64, IMM_SB),
	[0xe1] = R(LOOPE, loop, A_F64, IMM_SB),
	[0xe2] = R(LOOP, loop, A_F64, IMM_SB),
	[0xe3] = R(JCXZ, jcxz, A_F64, IMM_SB),
	[0xe4] = RC(IN, in_imm, A_BYTE, IMM_B, IO),
	[0xe5] = RC(IN, in_imm, 0, IMM_B, IO),
	[0xe6] = RC(OUT, out_imm, A_BYTE, IMM_B, IO),
	[0xe7] = RC(OUT, out_imm, 0, IMM_B, IO),
	[0xe8] = R(CALL, call_rel, A_F64 | A_END, IMM_Z),
	[0xe9] = R(JMP, jmp_rel, A_F64 | A_END, IMM_Z),
	[0xea] = R(JMPF, jmpf_imm, A_INV64 | A_END, IMM_FAR),
	[0xeb] = R(JMP, jmp_rel, A_F64 | A_END, IMM_SB),
	[0xec] = RC(IN, in_dx, A_BYTE, IMM_NONE, IO),
	[0xed] = RC(IN, in_dx, 0, IMM_NONE, IO),
	[0xee] = RC(OUT, out_dx, A_BYTE, IMM_NONE, IO),
	[0xef] = RC(OUT, out_dx, 0, IMM_NONE, IO),
	[0xf0] = PFX,
	[0xf1] = R(INT1, int1, A_END, IMM_NONE),
	[0xf2] = PFX,
	[0xf3] = PFX,
	[0xf4] = RC(HLT, hlt, A_END, IMM_NONE, HLT),
	[0xf5] = R(CMC, cmc, 0, IMM_NONE),
	[0xf6] = GRP(G3, A_BYTE, IMM_NONE),
	[0xf7] = GRP(G3, 0, IMM_NONE),
	[0xf8] = R(CLC, clc, 0, IMM_NONE),
	[0xf9] = R(STC, stc, 0, IMM_NONE),
	[0xfa] = R(CLI, cli, 0, IMM_NONE),
	[0xfb] = R(STI, sti, A_END, IMM_NONE),
	[0xfc] = R(CLD, cld, 0, IMM_NONE),
	[0xfd] = R(STD, std, 0, IMM_NONE),
	[0xfe] = GRP(G4, A_BYTE, IMM_NONE),
	[0xff] = GRP(G5, 0, IMM_NONE),
};

/* Two-byte opcodes, 0F xx (SDM vol. 2D, table A-3). 0F 38 and 0F 3A escape to map3/map4. */
static const struct oprow map2[256] = {
	[0x00] = GRP(G6, 0, IMM_NONE),
	[0x01] = GRP(G7, A_SPLITMOD, IMM_NONE),
	[0x02] = R(LAR, lar, A_MODRM, IMM_NONE),
	[0x03] = R(LSL, lsl, A_MODRM, IMM_NONE),
	[0x05] = RF(SYSCALL, syscall, A_END, IMM_NONE, SYSCALL),
	[0x06] = RC(CLTS, clts, A_END, IMM_NONE, MOV_CR),
	[0x07] = RF(SYSRET, sysret, A_END, IMM_NONE, SYSCALL),
	[0x08] = RC(INVD, invd, 0, IMM_NONE, INVD),
	[0x09] = RC(WBINVD, invd, 0, IMM_NONE, WBINVD),
	[0x0b] = R(UD2, ud, A_END, IMM_NONE),
	[0x0d] = R(PREFETCH, nop, A_MODRM | A_MEMONLY, IMM_NONE),
	[0x10 ... 0x11] = PS(P_ALL, 0, IMM_NONE),
	[0x12] = PS(P_12, 0, IMM_NONE),
	[0x13] = PS(P_PSPD, A_MEMONLY, IMM_NONE),
	[0x14 ... 0x15] = PS(P_PSPD, 0, IMM_NONE),
	[0x16] = PS(P_16, 0, IMM_NONE),
	[0x17] = PS(P_PSPD, A_MEMONLY, IMM_NONE),
	[0x18 ... 0x1f] = R(NOP, nop, A_MODRM, IMM_NONE), /* hint NOPs (SDM vol. 2B, NOP) */
	/* MOV to/from CRn/DRn: mod is ignored, no SIB or displacement (vol. 2B, MOV CR). */
	[0x20] = RC(MOV_CR, mov_r_cr, A_MODRM | A_MODREG, IMM_NONE, MOV_CR),
	[0x21] = RC(MOV_DR, mov_r_dr, A_MODRM | A_MODREG, IMM_NONE, MOV_DR),
	[0x22] = RC(MOV_CR, mov_cr_r, A_MODRM | A_MODREG | A_END, IMM_NONE, MOV_CR),
	[0x23] = RC(MOV_DR, mov_dr_r, A_MODRM | A_MODREG | A_END, IMM_NONE, MOV_DR),
	[0x28 ... 0x29] = PS(P_PSPD, 0, IMM_NONE),
	[0x2a] = PS(P_ALL, 0, IMM_NONE),
	[0x2b] = PS(P_PSPD, A_MEMONLY, IMM_NONE),
	[0x2c ... 0x2d] = PS(P_ALL, 0, IMM_NONE),
	[0x2e ... 0x2f] = PS(P_PSPD, 0, IMM_NONE),
	[0x30] = RFC(WRMSR, wrmsr, A_END, IMM_NONE, MSR, WRMSR),
	[0x31] = RFC(RDTSC, rdtsc, 0, IMM_NONE, TSC, RDTSC),
	[0x32] = RFC(RDMSR, rdmsr, 0, IMM_NONE, MSR, RDMSR),
	[0x33] = RC(RDPMC, rdpmc, 0, IMM_NONE, RDPMC),
	[0x34] = RF(SYSENTER, sysenter, A_END, IMM_NONE, SEP),
	[0x35] = RF(SYSEXIT, sysexit, A_END, IMM_NONE, SEP),
	[0x37] = NX(GETSEC, 0, IMM_NONE, GETSEC),
	[0x40 ... 0x4f] = RF(CMOVCC, cmovcc, A_MODRM, IMM_NONE, CMOV),
	[0x50] = PS(P_PSPD, A_NOMEM, IMM_NONE),
	[0x51] = PS(P_ALL, 0, IMM_NONE),
	[0x52 ... 0x53] = PS(P_PSSS, 0, IMM_NONE),
	[0x54 ... 0x57] = PS(P_PSPD, 0, IMM_NONE),
	[0x58 ... 0x59] = PS(P_ALL, 0, IMM_NONE),
	[0x5a] = PS(P_ALL2, 0, IMM_NONE),
	[0x5b] = PS(P_5B, 0, IMM_NONE),
	[0x5c ... 0x5f] = PS(P_ALL, 0, IMM_NONE),
	[0x60 ... 0x6b] = PS(P_MMX, 0, IMM_NONE),
	[0x6c ... 0x6d] = PS(P_66, 0, IMM_NONE),
	[0x6e] = PS(P_MMX, 0, IMM_NONE),
	[0x6f] = PS(P_6F, 0, IMM_NONE),
	[0x70] = PS(P_70, 0, IMM_B),
	[0x71] = GRP(G12, A_NOMEM, IMM_B),
	[0x72] = GRP(G13, A_NOMEM, IMM_B),
	[0x73] = GRP(G14, A_NOMEM, IMM_B),
	[0x74 ... 0x76] = PS(P_MMX, 0, IMM_NONE),
	[0x77] = RF(EMMS, emms, 0, IMM_NONE, MMX), /* EMMS */
	[0x78] = RFC(VMREAD, vmread, A_MODRM | A_END, IMM_NONE, VMX, VMX),
	[0x79] = RFC(VMWRITE, vmwrite, A_MODRM | A_END, IMM_NONE, VMX, VMX),
	[0x7c ... 0x7d] = PS(P_7C, 0, IMM_NONE),
	[0x7e] = PS(P_7E, 0, IMM_NONE),
	[0x7f] = PS(P_6F, 0, IMM_NONE),
	[0x80 ... 0x8f] = R(JCC, jcc, A_F64, IMM_Z),
	[0x90 ... 0x9f] = R(SETCC, setcc, A_MODRM | A_BYTE, IMM_NONE),
	[0xa0] = R(PUSH, push_sreg, A_DEF64, IMM_NONE),
	[0xa1] = R(POP, pop_sreg, A_DEF64, IMM_NONE),
	[0xa2] = RC(CPUID, cpuid, A_END, IMM_NONE, CPUID),
	[0xa3] = R(BT, bt_rm_r, A_MODRM, IMM_NONE),
	[0xa4] = R(SHLD, shld_imm, A_MODRM, IMM_B),
	[0xa5] = R(SHLD, shld_cl, A_MODRM, IMM_NONE),
	[0xa8] = R(PUSH, push_sreg, A_DEF64, IMM_NONE),
	[0xa9] = R(POP, pop_sreg, A_DEF64, IMM_NONE),
	[0xaa] = R(RSM, rsm, A_END, IMM_NONE),
	[0xab] = R(BTS, bt_rm_r, A_MODRM | A_LOCK, IMM_NONE),
	[0xac] = R(SHRD, shrd_imm, A_MODRM, IMM_B),
	[0xad] = R(SHRD, shrd_cl, A_MODRM, IMM_NONE),
	[0xae] = GRP(G15, A_SPLITMOD, IMM_NONE),
	[0xaf] = R(IMUL, imul_r_rm, A_MODRM, IMM_NONE),
	[0xb0] = R(CMPXCHG, cmpxchg, A_MODRM | A_BYTE | A_LOCK, IMM_NONE),
	[0xb1] = R(CMPXCHG, cmpxchg, A_MODRM | A_LOCK, IMM_NONE),
	[0xb2] = R(LSS, lxs, A_MODRM | A_MEMONLY, IMM_NONE),
	[0xb3] = R(BTR, bt_rm_r, A_MODRM | A_LOCK, IMM_NONE),
	[0xb4] = R(LFS, lxs, A_MODRM | A_MEMONLY, IMM_NONE),
	[0xb5] = R(LGS, lxs, A_MODRM | A_MEMONLY, IMM_NONE),
	[0xb6] = R(MOVZX, movzx, A_MODRM, IMM_NONE),
	[0xb7] = R(MOVZX, movzx, A_MODRM, IMM_NONE),
	[0xb8] = PS(P_B8, 0, IMM_NONE),
	[0xb9] = R(UD1, ud, A_MODRM | A_END, IMM_NONE), /* UD1 */
	[0xba] = GRP(G8, 0, IMM_B),
	[0xbb] = R(BTC, bt_rm_r, A_MODRM | A_LOCK, IMM_NONE),
	[0xbc] = PS(P_BC, 0, IMM_NONE),
	[0xbd] = PS(P_BD, 0, IMM_NONE),
	[0xbe] = R(MOVSX, movsx, A_MODRM, IMM_NONE),
	[0xbf] = R(MOVSX, movsx, A_MODRM, IMM_NONE),
	[0xc0] = R(XADD, xadd, A_MODRM | A_BYTE | A_LOCK, IMM_NONE),
	[0xc1] = R(XADD, xadd, A_MODRM | A_LOCK, IMM_NONE),
	[0xc2] = PS(P_ALL, 0, IMM_B),
	[0xc3] = RF(MOVNTI, movnti, A_MODRM | A_MEMONLY, IMM_NONE, SSE2),
	[0xc4] = PS(P_PSPD, 0, IMM_B),
	[0xc5] = PS(P_PSPD, A_NOMEM, IMM_B),
	[0xc6] = PS(P_PSPD, 0, IMM_B),
	[0xc7] = GRP(G9, A_SPLITMOD, IMM_NONE),
	[0xc8 ... 0xcf] = R(BSWAP, bswap, 0, IMM_NONE),
	[0xd0] = PS(P_7C, 0, IMM_NONE),
	[0xd1 ... 0xd3] = PS(P_MMX, 0, IMM_NONE),
	[0xd4] = PS(P_SSE2X, 0, IMM_NONE),
	[0xd5] = PS(P_MMX, 0, IMM_NONE),
	[0xd6] = PS(P_D6, 0, IMM_NONE),
	[0xd7] = PS(P_PSPD, A_NOMEM, IMM_NONE),
	[0xd8 ... 0xd9] = PS(P_MMX, 0, IMM_NONE),
	[0xda] = PS(P_PSPD, 0, IMM_NONE),
	[0xdb ... 0xdd] = PS(P_MMX, 0, IMM_NONE),
	[0xde] = PS(P_PSPD, 0, IMM_NONE),
	[0xdf] = PS(P_MMX, 0, IMM_NONE),
	[0xe0] = PS(P_PSPD, 0, IMM_NONE),
	[0xe1 ... 0xe2] = PS(P_MMX, 0, IMM_NONE),
	[0xe3 ... 0xe4] = PS(P_PSPD, 0, IMM_NONE),
	[0xe5] = PS(P_MMX, 0, IMM_NONE),
	[0xe6] = PS(P_D6, 0, IMM_NONE),
	[0xe7] = PS(P_PSPD, A_MEMONLY, IMM_NONE),
	[0xe8 ... 0xe9] = PS(P_MMX, 0, IMM_NONE),
	[0xea] = PS(P_PSPD, 0, IMM_NONE),
	[0xeb ... 0xed] = PS(P_MMX, 0, IMM_NONE),
	[0xee] = PS(P_PSPD, 0, IMM_NONE),
	[0xef] = PS(P_MMX, 0, IMM_NONE),
	[0xf0] = PS(P_F0, A_MEMONLY, IMM_NONE),
	[0xf1 ... 0xf3] = PS(P_MMX, 0, IMM_NONE),
	[0xf4] = PS(P_SSE2X, 0, IMM_NONE),
	[0xf5] = PS(P_MMX, 0, IMM_NONE),
	[0xf6] = PS(P_PSPD, 0, IMM_NONE),
	[0xf7] = PS(P_PSPD, A_NOMEM, IMM_NONE),
	[0xf8 ... 0xfa] = PS(P_MMX, 0, IMM_NONE),
	[0xfb] = PS(P_SSE2X, 0, IMM_NONE),
	[0xfc ... 0xfe] = PS(P_MMX, 0, IMM_NONE),
	[0xff] = R(UD0, ud, A_MODRM | A_END, IMM_NONE), /* UD0 */
};

/* Three-byte opcodes 0F 38 xx (table A-4): every one has a ModRM and no immediate. */
static const struct oprow map3[256] = {
	[0x00 ... 0x0b] = PS(P_SSSE3, 0, IMM_NONE),
	[0x10] = PS(P_41, 0, IMM_NONE),
	[0x14 ... 0x15] = PS(P_41, 0, IMM_NONE),
	[0x17] = PS(P_41, 0, IMM_NONE),
	[0x1c ... 0x1e] = PS(P_SSSE3, 0, IMM_NONE),
	[0x20 ... 0x25] = PS(P_41, 0, IMM_NONE),
	[0x28 ... 0x29] = PS(P_41, 0, IMM_NONE),
	[0x2a] = PS(P_41, A_MEMONLY, IMM_NONE),
	[0x2b] = PS(P_41, 0, IMM_NONE),
	[0x30 ... 0x35] = PS(P_41, 0, IMM_NONE),
	[0x37] = PS(P_42, 0, IMM_NONE),
	[0x38 ... 0x41] = PS(P_41, 0, IMM_NONE),
	[0xdb ... 0xdf] = PS(P_AES, 0, IMM_NONE),
	[0x80] = PS(P_INVEPT, A_MEMONLY, IMM_NONE),
	[0x81] = PS(P_INVVPID, A_MEMONLY, IMM_NONE),
	[0x82] = PS(P_PCID66, A_MEMONLY, IMM_NONE),
	[0xf0] = PS(P_MOVBE0, 0, IMM_NONE),
	[0xf1] = PS(P_MOVBE1, 0, IMM_NONE),
};

/* Three-byte opcodes 0F 3A xx (table A-5): every one has a ModRM and an imm8. */
static const struct oprow map4[256] = {
	[0x08 ... 0x0e] = PS(P_41, 0, IMM_B), [0x0f] = PS(P_SSSE3, 0, IMM_B),
	[0x14 ... 0x17] = PS(P_41, 0, IMM_B), [0x20 ... 0x22] = PS(P_41, 0, IMM_B),
	[0x40 ... 0x42] = PS(P_41, 0, IMM_B), [0x60 ... 0x63] = PS(P_42, 0, IMM_B),
	[0x44] = PS(P_CLMUL, 0, IMM_B),       [0xdf] = PS(P_AES, 0, IMM_B),
};

/*
 * The opcode maps by number (0 one-byte, 1 0F, 2 0F 38, 3 0F 3A; also VEX.mmmmm),
 * with the shape an opcode without a row there has: in the three-byte maps every
 * opcode has a ModRM (and in 0F 3A an imm8), defined here or not.
 */
static const struct opmap {
	const struct oprow *rows;
	struct oprow undef;
} maps[4] = {
	{ map1, NOROW },
	{ map2, NOROW },
	{ map3, { .attr = A_MODRM, .imm = IMM_NONE, .feature = FEAT_NONE } },
	{ map4, { .attr = A_MODRM, .imm = IMM_B, .feature = FEAT_NONE } },
};

/* Mandatory-prefix rows: [pattern][none, 66, F3, F2]. */
static const struct oprow pfxrows[NPFX][4] = {
	[P_ALL] = { SX(SSE), SX(SSE2), SX(SSE), SX(SSE2) },
	[P_ALL2] = { SX(SSE2), SX(SSE2), SX(SSE2), SX(SSE2) },
	[P_PSPD] = { SX(SSE), SX(SSE2), NOROW, NOROW },
	[P_PSSS] = { SX(SSE), NOROW, SX(SSE), NOROW },
	[P_12] = { SX(SSE), SX(SSE2), SX(SSE3), SX(SSE3) },
	[P_16] = { SX(SSE), SX(SSE2), SX(SSE3), NOROW },
	[P_5B] = { SX(SSE2), SX(SSE2), SX(SSE2), NOROW },
	[P_MMX] = { SX(MMX), SX(SSE2), NOROW, NOROW },
	[P_SSE2X] = { SX(SSE2), SX(SSE2), NOROW, NOROW },
	[P_66] = { NOROW, SX(SSE2), NOROW, NOROW },
	[P_6F] = { SX(MMX), SX(SSE2), SX(SSE2), NOROW },
	[P_70] = { SX(SSE), SX(SSE2), SX(SSE2), SX(SSE2) },
	[P_7C] = { NOROW, SX(SSE3), NOROW, SX(SSE3) },
	[P_7E] = { SX(MMX), SX(SSE2), SX(SSE2), NOROW },
	[P_D6] = { NOROW, SX(SSE2), SX(SSE2), SX(SSE2) },
	[P_F0] = { NOROW, NOROW, NOROW, SX(SSE3) },
	[P_SSSE3] = { SX(SSSE3), SX(SSSE3), NOROW, NOROW },
	[P_41] = { NOROW, SX(SSE41), NOROW, NOROW },
	[P_42] = { NOROW, SX(SSE42), NOROW, NOROW },
	[P_AES] = { NOROW, SX(AES), NOROW, NOROW },
	[P_CLMUL] = { NOROW, SX(PCLMULQDQ), NOROW, NOROW },
	[P_INVEPT] = { NOROW, RFC(INVEPT, invept, A_END, 0, VMX, VMX), NOROW, NOROW },
	[P_INVVPID] = { NOROW, RFC(INVVPID, invvpid, A_END, 0, VMX, VMX), NOROW, NOROW },
	/* 0F C7 /6 memory forms (SDM vol. 3C, 30.3). */
	[P_VMC7] = { RFC(VMPTRLD, vmptrld, A_END, 0, VMX, VMX),
		     RFC(VMCLEAR, vmclear, A_END, 0, VMX, VMX),
		     RFC(VMXON, vmxon, A_END, 0, VMX, VMX), NOROW },
	[P_PCID66] = { NOROW, RFC(INVPCID, invpcid, A_END, 0, INVPCID, INVPCID), NOROW, NOROW },
	/* SDM vol. 2B, POPCNT/TZCNT/LZCNT: where TZCNT (LZCNT) is not supported the
	 * F3 encoding executes as BSF (BSR). */
	[P_B8] = { NOROW, NOROW, RF(POPCNT, popcnt, 0, 0, POPCNT), NOROW },
	[P_BC] = { R(BSF, bsf, 0, 0), R(BSF, bsf, 0, 0), RF(TZCNT, tzcnt, A_FALLBACK, 0, BMI1),
		   R(BSF, bsf, 0, 0) },
	[P_BD] = { R(BSR, bsr, 0, 0), R(BSR, bsr, 0, 0), RF(LZCNT, lzcnt, A_FALLBACK, 0, ABM),
		   R(BSR, bsr, 0, 0) },
	/* MOVBE: memory forms, 66 is the operand size; F2 (with or without 66) is CRC32. */
	[P_MOVBE0] = { RF(MOVBE, movbe, A_MEMONLY, 0, MOVBE), RF(MOVBE, movbe, A_MEMONLY, 0, MOVBE),
		       NOROW, RF(CRC32, crc32, A_BYTE, 0, SSE42) },
	[P_MOVBE1] = { RF(MOVBE, movbe, A_MEMONLY, 0, MOVBE), RF(MOVBE, movbe, A_MEMONLY, 0, MOVBE),
		       NOROW, RF(CRC32, crc32, 0, 0, SSE42) },
	[P_RDFS] = { NOROW, NOROW, RF(RDFSBASE, fsgsbase, 0, 0, FSGSBASE), NOROW },
	[P_RDGS] = { NOROW, NOROW, RF(RDGSBASE, fsgsbase, 0, 0, FSGSBASE), NOROW },
	[P_WRFS] = { NOROW, NOROW, RF(WRFSBASE, fsgsbase, 0, 0, FSGSBASE), NOROW },
	[P_WRGS] = { NOROW, NOROW, RF(WRGSBASE, fsgsbase, 0, 0, FSGSBASE), NOROW },
};

/* Group rows: the opcode row's attributes are OR-ed in; imm from the opcode row. */
static const struct oprow groups[NGROUPS][8] = {
	[G1] = { R(ADD, add_rm_imm, A_LOCK, 0), R(OR, or_rm_imm, A_LOCK, 0),
		 R(ADC, adc_rm_imm, A_LOCK, 0), R(SBB, sbb_rm_imm, A_LOCK, 0),
		 R(AND, and_rm_imm, A_LOCK, 0), R(SUB, sub_rm_imm, A_LOCK, 0),
		 R(XOR, xor_rm_imm, A_LOCK, 0), R(CMP, cmp_rm_imm, 0, 0) },
	[G1A] = { [0] = R(POP, pop_rm, 0, 0) },
	/* C0/C1, D0-D3: handlers from shift_handlers[][] (/6 is SAL, an alias of SHL). */
	[G2] = { { .id = INSN_ROL, .feature = FEAT_NONE },
		 { .id = INSN_ROR, .feature = FEAT_NONE },
		 { .id = INSN_RCL, .feature = FEAT_NONE },
		 { .id = INSN_RCR, .feature = FEAT_NONE },
		 { .id = INSN_SHL, .feature = FEAT_NONE },
		 { .id = INSN_SHR, .feature = FEAT_NONE },
		 { .id = INSN_SAL, .feature = FEAT_NONE },
		 { .id = INSN_SAR, .feature = FEAT_NONE } },
	/* F6/F7 /0 TEST r/m, imm (and its alias /1) carry Ib/Iz; /2-/7 none (table A-6). */
	[G3] = { [0 ... 1] = R(TEST, grp3, 0, IMM_Z),
		 [2] = R(NOT, grp3, A_LOCK, 0),
		 [3] = R(NEG, grp3, A_LOCK, 0),
		 [4] = R(MUL, grp3, 0, 0),
		 [5] = R(IMUL, grp3, 0, 0),
		 [6] = R(DIV, grp3, 0, 0),
		 [7] = R(IDIV, grp3, 0, 0) },
	[G4] = { R(INC, inc_rm, A_LOCK, 0), R(DEC, dec_rm, A_LOCK, 0) },
	[G5] = { R(INC, inc_rm, A_LOCK, 0),
		 R(DEC, dec_rm, A_LOCK, 0), [2] = R(CALL, call_rm, A_F64 | A_END, 0),
		 [3] = R(CALLF, callf_m, A_MEMONLY | A_END, 0),
		 [4] = R(JMP, jmp_rm, A_F64 | A_END, 0),
		 [5] = R(JMPF, jmpf_m, A_MEMONLY | A_END, 0), [6] = R(PUSH, push_rm, A_DEF64, 0) },
	/* 0F 00 (SDM vol. 2D, table A-6); #UD in real and virtual-8086 mode (handlers). */
	[G6] = { RC(SLDT, sldt, A_END, 0, DESC_TABLE), RC(STR, str, A_END, 0, DESC_TABLE),
		 RC(LLDT, lldt, A_END, 0, DESC_TABLE), RC(LTR, ltr, A_END, 0, DESC_TABLE),
		 R(VERR, verr, A_END, 0), R(VERW, verw, A_END, 0) },
	/* 0F 01 memory forms; the register forms are G7R. */
	[G7] = { RC(SGDT, sgdt, A_END, 0, DESC_TABLE), RC(SIDT, sidt, A_END, 0, DESC_TABLE),
		 RC(LGDT, lgdt, A_END, 0, DESC_TABLE), RC(LIDT, lidt, A_END, 0, DESC_TABLE),
		 R(SMSW, smsw, A_END, 0), [6] = RC(LMSW, lmsw, A_END, 0, MOV_CR),
		 [7] = RC(INVLPG, invlpg, A_END, 0, INVLPG) },
	[G7R] = { RMS(R7_0), RMS(R7_1), RMS(R7_2), [4] = R(SMSW, smsw, A_END, 0), RMS(R7_5),
		  RC(LMSW, lmsw, A_END, 0, MOV_CR), RMS(R7_7) },
	[G8] = { [4] = R(BT, bt_rm_imm, 0, 0),
		 [5] = R(BTS, bt_rm_imm, A_LOCK, 0),
		 [6] = R(BTR, bt_rm_imm, A_LOCK, 0),
		 [7] = R(BTC, bt_rm_imm, A_LOCK, 0) },
	[G9] = { [1] = RF(CMPXCHG8B, cmpxchg8b, A_MEMONLY | A_LOCK, 0,
			  CX8), /* 16B: cx16 in the handler */
		 [3] = RFC(XRSTORS, xrstors, 0, 0, XSAVES, XSAVES),
		 [4] = RF(XSAVEC, xsavec, 0, 0, XSAVEC),
		 [5] = RFC(XSAVES, xsaves, 0, 0, XSAVES, XSAVES),
		 [6] = PS(P_VMC7, 0, 0),
		 [7] = RFC(VMPTRST, vmptrst, A_END, 0, VMX, VMX) },
	[G9R] = { [6] = NX(RDRAND, 0, 0, RDRAND), [7] = NX(RDSEED, 0, 0, RDSEED) },
	[G11] = { [0] = R(MOV, mov_rm_imm, 0, 0) },
	/* 0F 71/72/73 ib: MMX and 66 XMM shifts by an immediate, register forms only. */
	[G12] = { [2] = PS(P_MMX, 0, 0), [4] = PS(P_MMX, 0, 0), [6] = PS(P_MMX, 0, 0) },
	[G13] = { [2] = PS(P_MMX, 0, 0), [4] = PS(P_MMX, 0, 0), [6] = PS(P_MMX, 0, 0) },
	[G14] = { [2] = PS(P_MMX, 0, 0),
		  [3] = PS(P_66, 0, 0),
		  [6] = PS(P_MMX, 0, 0),
		  [7] = PS(P_66, 0, 0) },
	/* 0F AE memory forms: FXSAVE, FXRSTOR, LDMXCSR, STMXCSR, XSAVE, XRSTOR, XSAVEOPT,
	 * CLFLUSH; register forms: F3 RD/WR FS/GS BASE, LFENCE, MFENCE, SFENCE. */
	[G15] = { [0] = RF(FXSAVE, fxsave, 0, 0, FXSR),
		  [1] = RF(FXRSTOR, fxrstor, 0, 0, FXSR),
		  [2] = RF(LDMXCSR, ldmxcsr, 0, 0, SSE),
		  [3] = RF(STMXCSR, stmxcsr, 0, 0, SSE),
		  [4] = RF(XSAVE, xsave, 0, 0, XSAVE),
		  [5] = RF(XRSTOR, xrstor, 0, 0, XSAVE),
		  [6] = RF(XSAVEOPT, xsave, 0, 0, XSAVEOPT),
		  [7] = RF(CLFLUSH, clflush, 0, 0, CLFLUSH) },
	[G15R] = { PS(P_RDFS, 0, 0), PS(P_RDGS, 0, 0), PS(P_WRFS, 0, 0),
		   PS(P_WRGS, 0, 0), [5] = RF(LFENCE, nop, 0, 0, SSE2),
		   [6] = RF(MFENCE, nop, 0, 0, SSE2), [7] = RF(SFENCE, nop, 0, 0, SSE) },
};

/* 0F 01 register forms by ModRM.rm. What fugu does not execute (VMX, MONITOR,
 * RDPKRU/WRPKRU) is #UD, as before these rows existed. */
static const struct oprow rmrows[NRMSEL][8] = {
	[R7_0] = { [1] = RFC(VMCALL, vmcall, A_END, 0, VMX, VMX),
		   [2] = RFC(VMLAUNCH, vmlaunch, A_END, 0, VMX, VMX),
		   [3] = RFC(VMRESUME, vmresume, A_END, 0, VMX, VMX),
		   [4] = RFC(VMXOFF, vmxoff, A_END, 0, VMX, VMX) },
	[R7_1] = { NX(MONITOR, 0, 0, MONITOR), NX(MWAIT, 0, 0, MWAIT),
		   RF(CLAC, clac, A_END, 0, SMAP), RF(STAC, stac, A_END, 0, SMAP) },
	[R7_2] = { RF(XGETBV, xgetbv, A_END, 0, XSAVE),
		   RFC(XSETBV, xsetbv, A_END, 0, XSAVE, XSETBV),
		   [4] = RFC(VMFUNC, vmfunc, A_END, 0, VMX, VMX) },
	[R7_5] = { [6] = RF(RDPKRU, ud, A_END, 0, PKU), [7] = RF(WRPKRU, ud, A_END, 0, PKU) },
	[R7_7] = { RC(SWAPGS, swapgs, A_END, 0, NONE),
		   RFC(RDTSCP, rdtscp, A_END, 0, RDTSCP, RDTSCP) },
};

static const struct oprow row_movsxd = R(MOVSXD, movsxd, A_MODRM, IMM_NONE);
static const struct oprow row_ud = R(INVALID, ud, A_END, IMM_NONE);
/* clang-format on */

static inline uint64_t
le_read(const uint8_t *p, unsigned size)
{
	uint64_t v = 0;
	for (unsigned k = 0; k < size; k++)
		v |= (uint64_t)p[k] << (8 * k);
	return v;
}

static inline int64_t
sign_extend(uint64_t v, unsigned size)
{
	unsigned shift = 64 - 8 * size;
	return (int64_t)(v << shift) >> shift;
}

/* 16-bit ModRM addressing: base and index for rm 0-7 (SDM vol. 2A, table 2-1). */
static const uint8_t rm16_base[8] = { R_BX, R_BX, R_BP, R_BP, R_SI, R_DI, R_BP, R_BX };
static const uint8_t rm16_index[8] = { R_SI,     R_DI,     R_SI,     R_DI,
				       REG_NONE, REG_NONE, REG_NONE, REG_NONE };

int
decode_insn(const uint8_t *b, unsigned n, unsigned code_size, const struct cpu_features *feat,
	    struct insn *out)
{
	unsigned pos = 0, rex = 0, opsize_pfx = 0, adsize_pfx = 0, seg = S_NONE;
	uint8_t flags = 0;
	const struct oprow *row;
	unsigned op, map = 0;

#define NEED(k)                                                                                    \
	do {                                                                                       \
		if (pos + (k) > INSN_MAX_LEN)                                                      \
			return DECODE_TOO_LONG;                                                    \
		if (pos + (k) > n)                                                                 \
			return DECODE_NEED_MORE;                                                   \
	} while (0)

	memset(out, 0, sizeof(*out));
	/* Prefixes (SDM vol. 2A, 2.1.1); a REX counts only directly before the opcode. */
	for (;;) {
		NEED(1);
		op = b[pos++];
		if (code_size == 8 && (op & 0xf0) == 0x40) {
			rex = op;
			continue;
		}
		if (map1[op].attr != A_PREFIX)
			break;
		rex = 0;
		switch (op) {
		case 0x26: seg = S_ES; break;
		case 0x2e: seg = S_CS; break;
		case 0x36: seg = S_SS; break;
		case 0x3e: seg = S_DS; break;
		case 0x64: seg = S_FS; break;
		case 0x65: seg = S_GS; break;
		case 0x66: opsize_pfx = 1; break;
		case 0x67: adsize_pfx = 1; break;
		case 0xf0: flags |= I_LOCK; break;
		case 0xf2: flags = (flags & ~I_REP) | I_REPNE; break;
		case 0xf3: flags = (flags & ~I_REPNE) | I_REP; break;
		}
	}
	/*
	 * VEX (SDM vol. 2A, 2.3.5): C4/C5 always in 64-bit mode, elsewhere only when the
	 * next byte has bits 7:6 set (else LES/LDS with a memory operand; in real and
	 * virtual-8086 mode the handler makes the register form #UD, as LES/LDS with a
	 * register operand are). R, X, B are stored inverted and only count in 64-bit
	 * mode; W, and mmmmm, sit in the third byte of C4; vvvv (inverted), L and pp in
	 * the last. A VEX after 66, F2, F3, LOCK or REX is #UD (vol. 2A, 2.3.2).
	 */
	bool vex = false, vex_pfx_bad = false;
	unsigned vex_l = 0, vex_w = 0, vex_v = 0, vex_pp = 0;
	if (op == 0xc4 || op == 0xc5) {
		NEED(1);
		if (code_size == 8 || (b[pos] & 0xc0) == 0xc0) {
			unsigned v1 = b[pos++], vl = v1;
			vex = true;
			vex_pfx_bad = rex || opsize_pfx || (flags & (I_REP | I_REPNE | I_LOCK));
			flags &= (uint8_t) ~(I_REP | I_REPNE);
			map = 1; /* C5: the 0F map */
			rex = 0x40 | ((~v1 >> 5) & 4);
			if (op == 0xc4) {
				NEED(1);
				vl = b[pos++];
				map = v1 & 0x1f; /* mmmmm: 1 0F, 2 0F 38, 3 0F 3A, others #UD */
				rex = 0x40 | ((~v1 >> 5) & 7);
				vex_w = vl >> 7;
			}
			vex_v = (~vl >> 3) & 15;
			vex_l = (vl >> 2) & 1;
			vex_pp = vl & 3;
			if (code_size != 8) {
				rex &= ~7u;
				vex_v &= 7; /* vvvv[3] is ignored outside 64-bit mode */
			}
			NEED(1);
			op = b[pos++];
		}
	}
	if (rex && !vex)
		flags |= I_REX;
	struct oprow r;
	if (vex) {
		/* Shapes: a VEX 0F opcode has its legacy row's (only 0F 77 VZEROUPPER has no
		 * ModRM; 70-73, C2, C4-C6 have an imm8), 0F 38 and 0F 3A their maps'. */
		const struct oprow *shape = map == 1   ? &map2[op]
					    : map <= 3 ? &maps[map].undef
						       : &row_ud;
		r = (struct oprow){ .fn = op_avx,
				    .attr = (uint16_t)(shape->attr & A_MODRM),
				    .id = INSN_AVX,
				    .imm = shape->imm,
				    .feature = FEAT_NONE };
	} else {
		if (op == 0x0f) {
			NEED(1);
			op = b[pos++];
			map = 1;
			if (op == 0x38 || op == 0x3a) { /* three-byte maps (vol. 2D, A.2.4) */
				map = op == 0x38 ? 2 : 3;
				NEED(1);
				op = b[pos++];
			}
		}
		row = &maps[map].rows[op];
		if (!row->fn && !row->attr)
			row = &maps[map].undef;
		if (map == 0 && op == 0x63 && code_size == 8)
			row = &row_movsxd;
		r = *row;
	}
	out->opcode = (uint16_t)(map << 8 | op);

	unsigned modrm = 0;
	if (r.attr & A_MODRM) {
		NEED(1);
		modrm = b[pos++];
		if (r.attr & A_GROUP) {
			unsigned grp = r.group + ((r.attr & A_SPLITMOD) && modrm >= 0xc0 ? 1 : 0);
			const struct oprow *g = &groups[grp][(modrm >> 3) & 7];
			r.fn = g->fn;
			/* Lockability is the group member's: CMP and TEST are not, ADD is. */
			r.attr = (uint16_t)((r.attr & ~(A_LOCK | A_GROUP | A_SPLITMOD)) | g->attr);
			if (g->imm != IMM_NONE)
				r.imm = g->imm; /* F6/F7 /0 TEST r/m, imm */
			if (g->feature != FEAT_NONE)
				r.feature = g->feature;
			r.group = g->group;
			r.id = g->id;
			r.cls = g->cls;
			if (r.attr & A_RMSEL) { /* 0F 01 C0-FF: the instruction is named by rm */
				const struct oprow *m = &rmrows[r.group][modrm & 7];
				r.fn = m->fn;
				r.attr = (uint16_t)((r.attr & ~A_RMSEL) | m->attr);
				r.feature = m->feature;
				r.id = m->id;
				r.cls = m->cls;
			}
			if (grp == G2) /* C0/C1 imm8, D0/D1 by 1, D2/D3 by CL */
				r.fn = shift_handlers[op < 0xd0   ? SHIFT_BY_IMM
						      : op < 0xd2 ? SHIFT_BY_1
								  : SHIFT_BY_CL][(modrm >> 3) & 7];
		}
		if (r.attr & A_PFXSEL) {
			/* The mandatory prefix: the last of F3/F2, else 66 (vol. 2A, 2.1.2). */
			unsigned sel = (flags & I_REP)     ? 2
				       : (flags & I_REPNE) ? 3
				       : opsize_pfx        ? 1
							   : 0;
			const struct oprow *p = &pfxrows[r.group][sel];
			if ((p->attr & A_FALLBACK) && !cpu_has(feat, p->feature))
				p = &pfxrows[r.group][0];
			r.fn = p->fn;
			r.feature = p->feature;
			r.id = p->id;
			r.cls = p->cls;
			r.attr = (uint16_t)((r.attr & ~A_PFXSEL) | (p->attr & ~A_FALLBACK));
			out->imm2 = (uint16_t)sel; /* the SSE handlers re-encode it */
		}
	}

	/* Operand and address size (SDM vol. 1, 3.6; vol. 2A, 2.2.1.2). */
	unsigned opsize, adsize;
	if (r.attr & A_BYTE)
		opsize = 1;
	else if (code_size == 8)
		opsize = (rex & 8)            ? 8
			 : (r.attr & A_F64)   ? 8
			 : (r.attr & A_DEF64) ? (opsize_pfx ? 2 : 8)
					      : (opsize_pfx ? 2 : 4);
	else
		opsize = (code_size == 4) != !!opsize_pfx ? 4 : 2;
	if (code_size == 8)
		adsize = adsize_pfx ? 4 : 8;
	else
		adsize = (code_size == 4) != !!adsize_pfx ? 4 : 2;
	out->opsize = (uint8_t)opsize;
	out->adsize = (uint8_t)adsize;
	/* In 64-bit mode CS/DS/ES/SS overrides are ignored (SDM vol. 1, 3.3.7.1). */
	if (code_size == 8 && seg < S_FS)
		seg = S_NONE;

	/* ModRM operand. */
	out->base = out->index = REG_NONE;
	out->modrm = (uint8_t)modrm;
	out->reg = (uint8_t)(((modrm >> 3) & 7) | ((rex & 4) << 1));
	out->rm = (uint8_t)((modrm & 7) | ((rex & 1) << 3));
	unsigned default_seg = S_DS, sib_index = REG_NONE;
	if (r.attr & A_MODRM) {
		unsigned mod = modrm >> 6, rm = modrm & 7;
		if (mod != 3 && !(r.attr & A_MODREG)) {
			flags |= I_MEM;
			unsigned disp_size = 0;
			if (adsize == 2) {
				if (mod == 0 && rm == 6) {
					disp_size = 2;
				} else {
					out->base = rm16_base[rm];
					out->index = rm16_index[rm];
					if (out->base == R_BP)
						default_seg = S_SS;
				}
				if (mod == 1)
					disp_size = 1;
				else if (mod == 2)
					disp_size = 2;
			} else {
				unsigned base = rm | ((rex & 1) << 3);
				if (rm == 4) {
					NEED(1);
					unsigned sib = b[pos++];
					unsigned index = ((sib >> 3) & 7) | ((rex & 2) << 2);
					out->scale = (uint8_t)(sib >> 6);
					sib_index = index;
					if (index != R_SP)
						out->index = (uint8_t)index;
					base = (sib & 7) | ((rex & 1) << 3);
					if ((sib & 7) == 5 && mod == 0) {
						disp_size = 4;
						base = REG_NONE;
					}
				} else if (rm == 5 && mod == 0) {
					disp_size = 4;
					base = code_size == 8 ? REG_RIP : REG_NONE;
				}
				out->base = (uint8_t)base;
				if (base == R_SP || base == R_BP)
					default_seg = S_SS;
				if (mod == 1)
					disp_size = 1;
				else if (mod == 2)
					disp_size = 4;
			}
			if (disp_size) {
				NEED(disp_size);
				out->disp = (int32_t)sign_extend(le_read(b + pos, disp_size),
								 disp_size);
				pos += disp_size;
			}
		}
	}
	if (seg != S_NONE)
		flags |= I_SEGOVR;
	out->seg = (uint8_t)(seg != S_NONE ? seg : default_seg);

	/* Immediates. */
	unsigned zsize = opsize == 2 ? 2 : 4;
	switch (r.imm) {
	case IMM_B:
		NEED(1);
		out->imm = b[pos++];
		break;
	case IMM_SB:
		NEED(1);
		out->imm = (uint64_t)sign_extend(b[pos++], 1) & size_mask(opsize);
		break;
	case IMM_W:
		NEED(2);
		out->imm = le_read(b + pos, 2);
		pos += 2;
		break;
	case IMM_Z: {
		unsigned zs = opsize == 1 ? 1 : zsize;
		NEED(zs);
		out->imm = (uint64_t)sign_extend(le_read(b + pos, zs), zs) & size_mask(opsize);
		pos += zs;
		break;
	}
	case IMM_V:
		NEED(opsize);
		out->imm = le_read(b + pos, opsize);
		pos += opsize;
		break;
	case IMM_MOFFS:
		NEED(adsize);
		out->imm = le_read(b + pos, adsize);
		pos += adsize;
		break;
	case IMM_FAR:
		NEED(zsize + 2);
		out->imm = le_read(b + pos, zsize);
		out->imm2 = (uint16_t)le_read(b + pos + zsize, 2);
		pos += zsize + 2;
		break;
	case IMM_ENTER:
		NEED(3);
		out->imm = le_read(b + pos, 2);
		out->imm2 = b[pos + 2];
		pos += 3;
		break;
	}
	out->len = (uint8_t)pos;

	/* Validity: undefined opcodes, 64-bit-mode exclusions, register forms, LOCK, features. */
	bool valid = r.fn != NULL && !(r.attr & A_PREFIX);
	if ((r.attr & A_INV64) && code_size == 8)
		valid = false;
	if ((r.attr & A_MEMONLY) && !(flags & I_MEM))
		valid = false;
	if ((r.attr & A_NOMEM) && (flags & I_MEM))
		valid = false;
	if ((flags & I_LOCK) && (!(r.attr & A_LOCK) || !(flags & I_MEM)))
		valid = false; /* SDM vol. 2A, LOCK: #UD unless a lockable form with memory dest */
	if (!cpu_has(feat, r.feature))
		valid = false; /* a masked feature's instruction is undefined (decoder-enforced) */
	if (vex) {
		const struct vexrow *vr = vex_row(map, vex_pp, op);
		if (vex_pfx_bad || !vex_valid(vr, feat, vex_l, vex_w, vex_v, modrm, flags & I_MEM,
					      code_size, adsize, out->reg, sib_index))
			valid = false;
		static const uint16_t ids[FEAT_COUNT] = {
			[FEAT_AVX2] = INSN_AVX2, [FEAT_FMA] = INSN_FMA,   [FEAT_F16C] = INSN_F16C,
			[FEAT_BMI1] = INSN_BMI1, [FEAT_BMI2] = INSN_BMI2,
		};
		if (vr->feat < FEAT_COUNT && ids[vr->feat])
			r.id = ids[vr->feat];
		out->imm2 = VEX_PACK(vex_pp, vex_l, vex_w, vex_v);
		if (vr->kind == VK_GATHER && sib_index != REG_NONE)
			out->index = (uint8_t)sib_index; /* VSIB: xmm4/ymm4 is an index too */
	}
	if (!valid) { /* the id still names what the bytes encode; the class is dropped */
		r = (struct oprow){ .fn = row_ud.fn, .attr = row_ud.attr, .id = r.id };
	} else if (map == 0 && op == 0x90 && !(rex & 1)) {
		/* 90 is NOP, F3 90 PAUSE (SDM vol. 2B, PAUSE); with REX.B it is XCHG r8. */
		r.fn = (flags & I_REP) ? op_pause : op_nop;
		r.id = (flags & I_REP) ? INSN_PAUSE : INSN_NOP;
		r.cls = (flags & I_REP) ? ICLS_PAUSE : ICLS_NONE;
	}
	if (r.fn == op_jcc)
		r.fn = jcc_handlers[op & 15]; /* one handler per condition (cpu/exec/jcc.c) */
	out->fn = r.fn;
	out->id = r.id;
	out->icls = r.cls;
	if (r.attr & A_END)
		flags |= I_END;
	out->flags = flags;
	return (int)pos;
#undef NEED
}
