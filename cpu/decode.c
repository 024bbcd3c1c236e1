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

struct oprow {
	insn_fn fn;
	uint16_t attr;
	uint8_t imm;
	uint8_t feature; /* enum cpu_feature, or FEAT_NONE */
	uint8_t group;
};

enum { G1, G1A, G2, G3, G4, G5, G6, G7, G8, G9, G11, G12, G13, G14, G15, G15R, NGROUPS };

/*
 * Mandatory-prefix rows, each for no prefix / 66 / F3 / F2 (SDM vol. 2A, 2.1.2 and
 * the prefix columns of tables ). Named by which forms exist and the
 * feature of each: PS/PD/SS/SD SSE forms, MMX forms with an SSE2 66 form, ...
 */
enum {
	P_ALL,    /* ps SSE, pd SSE2, ss SSE, sd SSE2 */
	P_ALL2,   /* all four SSE2 (CVTPS2PD row) */
	P_PSPD,   /* ps SSE, pd SSE2 (and the MMX forms SSE added: PAVGB, PMINUB, ...) */
	P_PSSS,   /* ps and ss, SSE */
	P_12,     /* MOVLPS/MOVLPD/MOVSLDUP/MOVDDUP */
	P_16,     /* MOVHPS/MOVHPD/MOVSHDUP */
	P_5B,     /* CVTDQ2PS/CVTPS2DQ/CVTTPS2DQ */
	P_MMX,    /* MMX, and the 66 SSE2 form on XMM */
	P_SSE2X,  /* MMX-register and XMM forms both SSE2 (PADDQ, PMULUDQ, PSUBQ) */
	P_66,     /* 66 only, SSE2 (PUNPCKLQDQ, PSRLDQ, ...) */
	P_6F,     /* MOVQ mm / MOVDQA / MOVDQU */
	P_70,     /* PSHUFW / PSHUFD / PSHUFHW / PSHUFLW */
	P_7C,     /* 66 and F2, SSE3 (HADDPD/HADDPS, ADDSUBPD/PS) */
	P_7E,     /* MOVD mm / MOVD xmm / MOVQ xmm */
	P_D6,     /* 66, F3, F2, SSE2 (MOVQ/MOVQ2DQ/MOVDQ2Q, CVT*DQ*) */
	P_F0,     /* F2 only, SSE3 (LDDQU) */
	P_SSSE3,  /* 0F 38/3A: MMX and 66 forms, SSSE3 */
	P_41,     /* 0F 38/3A: 66 only, SSE4.1 */
	P_42,     /* 0F 38/3A: 66 only, SSE4.2 */
	P_VMX66,  /* 0F 38 80/81 INVEPT/INVVPID: 66 only */
	P_PCID66, /* 0F 38 82 INVPCID: 66 only */
	P_B8,     /* F3 POPCNT (no prefix: JMPE, not on this processor) */
	P_BC,     /* BSF, F3 TZCNT */
	P_BD,     /* BSR, F3 LZCNT */
	P_MOVBE0, /* 0F 38 F0: MOVBE r, m; F2 CRC32 r, r/m8 */
	P_MOVBE1, /* 0F 38 F1: MOVBE m, r; F2 CRC32 r, r/m */
	P_FSGS,   /* 0F AE /0-/3 register forms: F3 RD/WRFSBASE, RD/WRGSBASE */
	NPFX
};

/* clang-format off: the opcode maps are tables, laid out by hand */
#define R(f, a, im)                                                                                \
	{                                                                                          \
		op_##f, (a), (im), FEAT_NONE, 0                                                    \
	}
#define RF(f, a, im, ft)                                                                           \
	{                                                                                          \
		op_##f, (a), (im), FEAT_##ft, 0                                                    \
	}
#define GRP(g, a, im)                                                                              \
	{                                                                                          \
		NULL, (a) | A_GROUP | A_MODRM, (im), FEAT_NONE, (g)                                \
	}
#define PFX                                                                                        \
	{                                                                                          \
		NULL, A_PREFIX, 0, FEAT_NONE, 0                                                    \
	}
/* An opcode fugu knows the shape of but does not execute yet: #UD. */
#define NX(a, im)                                                                                  \
	{                                                                                          \
		op_ud, (a) | A_END, (im), FEAT_NONE, 0                                             \
	}
/* Mandatory-prefix opcode: ModRM, operand shape here, handlers in pfxrows[pat]. */
#define PS(pat, a, im)                                                                             \
	{                                                                                          \
		NULL, (a) | A_MODRM | A_PFXSEL, (im), FEAT_NONE, (pat)                             \
	}
/* An MMX/SSE form (pfxrows): decoded, not executed yet. */
#define SX(ft)                                                                                     \
	{                                                                                          \
		op_simd_esc, 0, 0, FEAT_##ft, 0                                                    \
	}
#define NOROW                                                                                      \
	{                                                                                          \
		NULL, 0, 0, FEAT_NONE, 0                                                           \
	}
/* The six forms of an ALU operation (00-05, 08-0D, ...); CMP's r/m destination is
 * not lockable. Each operation has its own handlers (cpu/exec/alu.c). */
#define ALU_ROWS(op, lock)                                                                         \
	R(op##_rm_r, A_MODRM | A_BYTE | (lock), IMM_NONE),                                         \
		R(op##_rm_r, A_MODRM | (lock), IMM_NONE),                                          \
		R(op##_r_rm, A_MODRM | A_BYTE, IMM_NONE), R(op##_r_rm, A_MODRM, IMM_NONE),         \
		R(op##_acc_imm, A_BYTE, IMM_B), R(op##_acc_imm, 0, IMM_Z)

/* One-byte opcodes (SDM vol. 2D, table A-2). */
static const struct oprow map1[256] = {
	[0x00] = ALU_ROWS(add, A_LOCK),
	[0x06] = R(push_sreg, A_INV64, IMM_NONE),
	[0x07] = R(pop_sreg, A_INV64 | A_END, IMM_NONE),
	[0x08] = ALU_ROWS(or, A_LOCK),
	[0x0e] = R(push_sreg, A_INV64, IMM_NONE),
	[0x10] = ALU_ROWS(adc, A_LOCK),
	[0x16] = R(push_sreg, A_INV64, IMM_NONE),
	[0x17] = R(pop_sreg, A_INV64 | A_END, IMM_NONE),
	[0x18] = ALU_ROWS(sbb, A_LOCK),
	[0x1e] = R(push_sreg, A_INV64, IMM_NONE),
	[0x1f] = R(pop_sreg, A_INV64 | A_END, IMM_NONE),
	[0x20] = ALU_ROWS(and, A_LOCK),
	[0x26] = PFX,
	[0x27] = R(daa, A_INV64, IMM_NONE),
	[0x28] = ALU_ROWS(sub, A_LOCK),
	[0x2e] = PFX,
	[0x2f] = R(das, A_INV64, IMM_NONE),
	[0x30] = ALU_ROWS(xor, A_LOCK),
	[0x36] = PFX,
	[0x37] = R(aaa, A_INV64, IMM_NONE),
	[0x38] = ALU_ROWS(cmp, 0),
	[0x3e] = PFX,
	[0x3f] = R(aas, A_INV64, IMM_NONE),
	[0x40 ... 0x47] = R(inc_r, 0, IMM_NONE),
	[0x48 ... 0x4f] = R(dec_r, 0, IMM_NONE),
	[0x50 ... 0x57] = R(push_r, A_DEF64, IMM_NONE),
	[0x58 ... 0x5f] = R(pop_r, A_DEF64, IMM_NONE),
	[0x60] = R(pusha, A_INV64, IMM_NONE),
	[0x61] = R(popa, A_INV64, IMM_NONE),
	[0x62] = R(bound, A_INV64 | A_MODRM | A_MEMONLY, IMM_NONE),
	[0x63] = R(arpl, A_MODRM, IMM_NONE), /* MOVSXD in 64-bit mode: see decode_insn */
	[0x64] = PFX,
	[0x65] = PFX,
	[0x66] = PFX,
	[0x67] = PFX,
	[0x68] = R(push_imm, A_DEF64, IMM_Z),
	[0x69] = R(imul_r_rm_imm, A_MODRM, IMM_Z),
	[0x6a] = R(push_imm, A_DEF64, IMM_SB),
	[0x6b] = R(imul_r_rm_imm, A_MODRM, IMM_SB),
	[0x6c] = R(ins, A_BYTE, IMM_NONE),
	[0x6d] = R(ins, 0, IMM_NONE),
	[0x6e] = R(outs, A_BYTE, IMM_NONE),
	[0x6f] = R(outs, 0, IMM_NONE),
	[0x70 ... 0x7f] = R(jcc, A_F64, IMM_SB),
	[0x80] = GRP(G1, A_BYTE | A_LOCK, IMM_B),
	[0x81] = GRP(G1, A_LOCK, IMM_Z),
	[0x82] = GRP(G1, A_BYTE | A_LOCK | A_INV64, IMM_B),
	[0x83] = GRP(G1, A_LOCK, IMM_SB),
	[0x84] = R(test_rm_r, A_MODRM | A_BYTE, IMM_NONE),
	[0x85] = R(test_rm_r, A_MODRM, IMM_NONE),
	[0x86] = R(xchg_rm_r, A_MODRM | A_BYTE | A_LOCK, IMM_NONE),
	[0x87] = R(xchg_rm_r, A_MODRM | A_LOCK, IMM_NONE),
	[0x88] = R(mov_rm_r, A_MODRM | A_BYTE, IMM_NONE),
	[0x89] = R(mov_rm_r, A_MODRM, IMM_NONE),
	[0x8a] = R(mov_r_rm, A_MODRM | A_BYTE, IMM_NONE),
	[0x8b] = R(mov_r_rm, A_MODRM, IMM_NONE),
	[0x8c] = R(mov_rm_sreg, A_MODRM, IMM_NONE),
	[0x8d] = R(lea, A_MODRM | A_MEMONLY, IMM_NONE),
	[0x8e] = R(mov_sreg_rm, A_MODRM | A_END, IMM_NONE),
	[0x8f] = GRP(G1A, A_DEF64, IMM_NONE),
	[0x90] = R(xchg_acc_r, 0, IMM_NONE), /* NOP / PAUSE unless REX.B */
	[0x91 ... 0x97] = R(xchg_acc_r, 0, IMM_NONE),
	[0x98] = R(cbw, 0, IMM_NONE),
	[0x99] = R(cwd, 0, IMM_NONE),
	[0x9a] = R(callf_imm, A_INV64 | A_END, IMM_FAR),
	[0x9b] = R(wait, 0, IMM_NONE),
	[0x9c] = R(pushf, A_DEF64, IMM_NONE),
	[0x9d] = R(popf, A_DEF64 | A_END, IMM_NONE),
	[0x9e] = R(sahf, 0, IMM_NONE),
	[0x9f] = R(lahf, 0, IMM_NONE),
	[0xa0] = R(mov_acc_moffs, A_BYTE, IMM_MOFFS),
	[0xa1] = R(mov_acc_moffs, 0, IMM_MOFFS),
	[0xa2] = R(mov_moffs_acc, A_BYTE, IMM_MOFFS),
	[0xa3] = R(mov_moffs_acc, 0, IMM_MOFFS),
	[0xa4] = R(movs, A_BYTE, IMM_NONE),
	[0xa5] = R(movs, 0, IMM_NONE),
	[0xa6] = R(cmps, A_BYTE, IMM_NONE),
	[0xa7] = R(cmps, 0, IMM_NONE),
	[0xa8] = R(test_acc_imm, A_BYTE, IMM_B),
	[0xa9] = R(test_acc_imm, 0, IMM_Z),
	[0xaa] = R(stos, A_BYTE, IMM_NONE),
	[0xab] = R(stos, 0, IMM_NONE),
	[0xac] = R(lods, A_BYTE, IMM_NONE),
	[0xad] = R(lods, 0, IMM_NONE),
	[0xae] = R(scas, A_BYTE, IMM_NONE),
	[0xaf] = R(scas, 0, IMM_NONE),
	[0xb0 ... 0xb7] = R(mov_r_imm, A_BYTE, IMM_B),
	[0xb8 ... 0xbf] = R(mov_r_imm, 0, IMM_V),
	[0xc0] = GRP(G2, A_BYTE, IMM_B),
	[0xc1] = GRP(G2, 0, IMM_B),
	[0xc2] = R(ret_imm, A_F64 | A_END, IMM_W),
	[0xc3] = R(ret, A_F64 | A_END, IMM_NONE),
	[0xc4] = R(lxs, A_INV64 | A_MODRM | A_MEMONLY, IMM_NONE),
	[0xc5] = R(lxs, A_INV64 | A_MODRM | A_MEMONLY, IMM_NONE),
	[0xc6] = GRP(G11, A_BYTE, IMM_B),
	[0xc7] = GRP(G11, 0, IMM_Z),
	[0xc8] = R(enter, A_DEF64, IMM_ENTER),
	[0xc9] = R(leave, A_DEF64, IMM_NONE),
	[0xca] = R(retf_imm, A_END, IMM_W),
	[0xcb] = R(retf, A_END, IMM_NONE),
	[0xcc] = R(int3, A_END, IMM_NONE),
	[0xcd] = R(int_imm, A_END, IMM_B),
	[0xce] = R(into, A_INV64 | A_END, IMM_NONE),
	[0xcf] = R(iret, A_END, IMM_NONE),
	[0xd0] = GRP(G2, A_BYTE, IMM_NONE),
	[0xd1] = GRP(G2, 0, IMM_NONE),
	[0xd2] = GRP(G2, A_BYTE, IMM_NONE),
	[0xd3] = GRP(G2, 0, IMM_NONE),
	[0xd4] = R(aam, A_INV64, IMM_B),
	[0xd5] = R(aad, A_INV64, IMM_B),
	[0xd6] = R(salc, A_INV64, IMM_NONE),
	[0xd7] = R(xlat, 0, IMM_NONE),
	[0xd8 ... 0xdf] = R(fpu_esc, A_MODRM, IMM_NONE),
	[0xe0 ... 0xe2] = R(loop, A_F64, IMM_SB),
	[0xe3] = R(jcxz, A_F64, IMM_SB),
	[0xe4] = R(in_imm, A_BYTE, IMM_B),
	[0xe5] = R(in_imm, 0, IMM_B),
	[0xe6] = R(out_imm, A_BYTE, IMM_B),
	[0xe7] = R(out_imm, 0, IMM_B),
	[0xe8] = R(call_rel, A_F64 | A_END, IMM_Z),
	[0xe9] = R(jmp_rel, A_F64 | A_END, IMM_Z),
	[0xea] = R(jmpf_imm, A_INV64 | A_END, IMM_FAR),
	[0xeb] = R(jmp_rel, A_F64 | A_END, IMM_SB),
	[0xec] = R(in_dx, A_BYTE, IMM_NONE),
	[0xed] = R(in_dx, 0, IMM_NONE),
	[0xee] = R(out_dx, A_BYTE, IMM_NONE),
	[0xef] = R(out_dx, 0, IMM_NONE),
	[0xf0] = PFX,
	[0xf1] = R(int1, A_END, IMM_NONE),
	[0xf2] = PFX,
	[0xf3] = PFX,
	[0xf4] = R(hlt, A_END, IMM_NONE),
	[0xf5] = R(cmc, 0, IMM_NONE),
	[0xf6] = GRP(G3, A_BYTE, IMM_NONE),
	[0xf7] = GRP(G3, 0, IMM_NONE),
	[0xf8] = R(clc, 0, IMM_NONE),
	[0xf9] = R(stc, 0, IMM_NONE),
	[0xfa] = R(cli, 0, IMM_NONE),
	[0xfb] = R(sti, A_END, IMM_NONE),
	[0xfc] = R(cld, 0, IMM_NONE),
	[0xfd] = R(std, 0, IMM_NONE),
	[0xfe] = GRP(G4, A_BYTE, IMM_NONE),
	[0xff] = GRP(G5, 0, IMM_NONE),
};

/* Two-byte opcodes, 0F xx (SDM vol. 2D, table A-3). 0F 38 and 0F 3A escape to map3/map4. */
static const struct oprow map2[256] = {
	[0x00] = GRP(G6, 0, IMM_NONE),
	[0x01] = GRP(G7, 0, IMM_NONE),
	[0x02] = R(lar, A_MODRM, IMM_NONE),
	[0x03] = R(lsl, A_MODRM, IMM_NONE),
	[0x05] = RF(syscall, A_END, IMM_NONE, SYSCALL),
	[0x06] = R(clts, A_END, IMM_NONE),
	[0x07] = RF(sysret, A_END, IMM_NONE, SYSCALL),
	[0x08] = R(invd, 0, IMM_NONE),
	[0x09] = R(invd, 0, IMM_NONE),
	[0x0b] = R(ud, A_END, IMM_NONE),
	[0x0d] = R(nop, A_MODRM | A_MEMONLY, IMM_NONE),
	[0x10 ... 0x11] = PS(P_ALL, 0, IMM_NONE),
	[0x12] = PS(P_12, 0, IMM_NONE),
	[0x13] = PS(P_PSPD, A_MEMONLY, IMM_NONE),
	[0x14 ... 0x15] = PS(P_PSPD, 0, IMM_NONE),
	[0x16] = PS(P_16, 0, IMM_NONE),
	[0x17] = PS(P_PSPD, A_MEMONLY, IMM_NONE),
	[0x18 ... 0x1f] = R(nop, A_MODRM, IMM_NONE), /* hint NOPs (SDM vol. 2B, NOP) */
	/* MOV to/from CRn/DRn: mod is ignored, no SIB or displacement (vol. 2B, MOV CR). */
	[0x20] = R(mov_r_cr, A_MODRM | A_MODREG, IMM_NONE),
	[0x21] = R(mov_r_dr, A_MODRM | A_MODREG, IMM_NONE),
	[0x22] = R(mov_cr_r, A_MODRM | A_MODREG | A_END, IMM_NONE),
	[0x23] = R(mov_dr_r, A_MODRM | A_MODREG | A_END, IMM_NONE),
	[0x28 ... 0x29] = PS(P_PSPD, 0, IMM_NONE),
	[0x2a] = PS(P_ALL, 0, IMM_NONE),
	[0x2b] = PS(P_PSPD, A_MEMONLY, IMM_NONE),
	[0x2c ... 0x2d] = PS(P_ALL, 0, IMM_NONE),
	[0x2e ... 0x2f] = PS(P_PSPD, 0, IMM_NONE),
	[0x30] = RF(wrmsr, A_END, IMM_NONE, MSR),
	[0x31] = RF(rdtsc, 0, IMM_NONE, TSC),
	[0x32] = RF(rdmsr, 0, IMM_NONE, MSR),
	[0x33] = R(rdpmc, 0, IMM_NONE),
	[0x34] = RF(sysenter, A_END, IMM_NONE, SEP),
	[0x35] = RF(sysexit, A_END, IMM_NONE, SEP),
	[0x37] = NX(0, IMM_NONE), /* GETSEC */
	[0x40 ... 0x4f] = RF(cmovcc, A_MODRM, IMM_NONE, CMOV),
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
	[0x77] = RF(simd_esc, 0, IMM_NONE, MMX), /* EMMS */
	[0x78 ... 0x79] = NX(A_MODRM, IMM_NONE), /* VMREAD, VMWRITE */
	[0x7c ... 0x7d] = PS(P_7C, 0, IMM_NONE),
	[0x7e] = PS(P_7E, 0, IMM_NONE),
	[0x7f] = PS(P_6F, 0, IMM_NONE),
	[0x80 ... 0x8f] = R(jcc, A_F64, IMM_Z),
	[0x90 ... 0x9f] = R(setcc, A_MODRM | A_BYTE, IMM_NONE),
	[0xa0] = R(push_sreg, A_DEF64, IMM_NONE),
	[0xa1] = R(pop_sreg, A_DEF64, IMM_NONE),
	[0xa2] = R(cpuid, A_END, IMM_NONE),
	[0xa3] = R(bt_rm_r, A_MODRM, IMM_NONE),
	[0xa4] = R(shld_imm, A_MODRM, IMM_B),
	[0xa5] = R(shld_cl, A_MODRM, IMM_NONE),
	[0xa8] = R(push_sreg, A_DEF64, IMM_NONE),
	[0xa9] = R(pop_sreg, A_DEF64, IMM_NONE),
	[0xaa] = R(rsm, A_END, IMM_NONE),
	[0xab] = R(bt_rm_r, A_MODRM | A_LOCK, IMM_NONE),
	[0xac] = R(shrd_imm, A_MODRM, IMM_B),
	[0xad] = R(shrd_cl, A_MODRM, IMM_NONE),
	[0xae] = GRP(G15, A_SPLITMOD, IMM_NONE),
	[0xaf] = R(imul_r_rm, A_MODRM, IMM_NONE),
	[0xb0] = R(cmpxchg, A_MODRM | A_BYTE | A_LOCK, IMM_NONE),
	[0xb1] = R(cmpxchg, A_MODRM | A_LOCK, IMM_NONE),
	[0xb2] = R(lxs, A_MODRM | A_MEMONLY, IMM_NONE),
	[0xb3] = R(bt_rm_r, A_MODRM | A_LOCK, IMM_NONE),
	[0xb4] = R(lxs, A_MODRM | A_MEMONLY, IMM_NONE),
	[0xb5] = R(lxs, A_MODRM | A_MEMONLY, IMM_NONE),
	[0xb6] = R(movzx, A_MODRM, IMM_NONE),
	[0xb7] = R(movzx, A_MODRM, IMM_NONE),
	[0xb8] = PS(P_B8, 0, IMM_NONE),
	[0xb9] = R(ud, A_MODRM | A_END, IMM_NONE), /* UD1 */
	[0xba] = GRP(G8, 0, IMM_B),
	[0xbb] = R(bt_rm_r, A_MODRM | A_LOCK, IMM_NONE),
	[0xbc] = PS(P_BC, 0, IMM_NONE),
	[0xbd] = PS(P_BD, 0, IMM_NONE),
	[0xbe] = R(movsx, A_MODRM, IMM_NONE),
	[0xbf] = R(movsx, A_MODRM, IMM_NONE),
	[0xc0] = R(xadd, A_MODRM | A_BYTE | A_LOCK, IMM_NONE),
	[0xc1] = R(xadd, A_MODRM | A_LOCK, IMM_NONE),
	[0xc2] = PS(P_ALL, 0, IMM_B),
	[0xc3] = { op_ud, A_MODRM | A_MEMONLY | A_END, IMM_NONE, FEAT_SSE2, 0 }, /* MOVNTI */
	[0xc4] = PS(P_PSPD, 0, IMM_B),
	[0xc5] = PS(P_PSPD, A_NOMEM, IMM_B),
	[0xc6] = PS(P_PSPD, 0, IMM_B),
	[0xc7] = GRP(G9, 0, IMM_NONE),
	[0xc8 ... 0xcf] = R(bswap, 0, IMM_NONE),
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
	[0xff] = R(ud, A_MODRM | A_END, IMM_NONE), /* UD0 */
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
	[0x80 ... 0x81] = PS(P_VMX66, A_MEMONLY, IMM_NONE),
	[0x82] = PS(P_PCID66, A_MEMONLY, IMM_NONE),
	[0xf0] = PS(P_MOVBE0, 0, IMM_NONE),
	[0xf1] = PS(P_MOVBE1, 0, IMM_NONE),
};

/* Three-byte opcodes 0F 3A xx (table A-5): every one has a ModRM and an imm8. */
static const struct oprow map4[256] = {
	[0x08 ... 0x0e] = PS(P_41, 0, IMM_B), [0x0f] = PS(P_SSSE3, 0, IMM_B),
	[0x14 ... 0x17] = PS(P_41, 0, IMM_B), [0x20 ... 0x22] = PS(P_41, 0, IMM_B),
	[0x40 ... 0x42] = PS(P_41, 0, IMM_B), [0x60 ... 0x63] = PS(P_42, 0, IMM_B),
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
	{ map3, { NULL, A_MODRM, IMM_NONE, FEAT_NONE, 0 } },
	{ map4, { NULL, A_MODRM, IMM_B, FEAT_NONE, 0 } },
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
	[P_VMX66] = { NOROW, { op_ud, A_END, 0, FEAT_VMX, 0 }, NOROW, NOROW },
	[P_PCID66] = { NOROW, { op_invpcid, A_END, 0, FEAT_INVPCID, 0 }, NOROW, NOROW },
	/* SDM vol. 2B, POPCNT/TZCNT/LZCNT: where TZCNT (LZCNT) is not supported the
	 * F3 encoding executes as BSF (BSR). */
	[P_B8] = { NOROW, NOROW, RF(popcnt, 0, 0, POPCNT), NOROW },
	[P_BC] = { R(bsf, 0, 0), R(bsf, 0, 0), RF(tzcnt, A_FALLBACK, 0, BMI1), R(bsf, 0, 0) },
	[P_BD] = { R(bsr, 0, 0), R(bsr, 0, 0), RF(lzcnt, A_FALLBACK, 0, ABM), R(bsr, 0, 0) },
	/* MOVBE: memory forms, 66 is the operand size; F2 (with or without 66) is CRC32. */
	[P_MOVBE0] = { RF(movbe, A_MEMONLY, 0, MOVBE), RF(movbe, A_MEMONLY, 0, MOVBE), NOROW,
		       RF(crc32, A_BYTE, 0, SSE42) },
	[P_MOVBE1] = { RF(movbe, A_MEMONLY, 0, MOVBE), RF(movbe, A_MEMONLY, 0, MOVBE), NOROW,
		       RF(crc32, 0, 0, SSE42) },
	[P_FSGS] = { NOROW, NOROW, RF(fsgsbase, 0, 0, FSGSBASE), NOROW },
};

/* Group rows: the opcode row's attributes are OR-ed in; imm from the opcode row. */
static const struct oprow groups[NGROUPS][8] = {
	[G1] = { R(add_rm_imm, A_LOCK, 0), R(or_rm_imm, A_LOCK, 0), R(adc_rm_imm, A_LOCK, 0),
		 R(sbb_rm_imm, A_LOCK, 0), R(and_rm_imm, A_LOCK, 0), R(sub_rm_imm, A_LOCK, 0),
		 R(xor_rm_imm, A_LOCK, 0), R(cmp_rm_imm, 0, 0) },
	[G1A] = { [0] = R(pop_rm, 0, 0) },
	[G2] = { [0 ... 7] = { NULL, 0, 0, FEAT_NONE, 0 } }, /* handlers: shift_handlers[][] */
	/* F6/F7 /0 TEST r/m, imm (and its alias /1) carry Ib/Iz; /2-/7 none (table A-6). */
	[G3] = { [0 ... 1] = R(grp3, 0, IMM_Z),
		 [2 ... 3] = R(grp3, A_LOCK, 0),
		 [4 ... 7] = R(grp3, 0, 0) },
	[G4] = { R(inc_rm, A_LOCK, 0), R(dec_rm, A_LOCK, 0) },
	[G5] = { R(inc_rm, A_LOCK, 0), R(dec_rm, A_LOCK, 0), [2] = R(call_rm, A_F64 | A_END, 0),
		 [3] = R(callf_m, A_MEMONLY | A_END, 0), [4] = R(jmp_rm, A_F64 | A_END, 0),
		 [5] = R(jmpf_m, A_MEMONLY | A_END, 0), [6] = R(push_rm, A_DEF64, 0) },
	[G6] = { [0 ... 5] = R(grp6, A_END, 0) },
	[G7] = { [0 ... 7] = R(grp7, A_END, 0) },
	[G8] = { [4] = R(bt_rm_imm, 0, 0), [5 ... 7] = R(bt_rm_imm, A_LOCK, 0) },
	[G9] = { [1] = RF(cmpxchg8b, A_MEMONLY | A_LOCK, 0, CX8) }, /* 16B: cx16 in the handler */
	[G11] = { [0] = R(mov_rm_imm, 0, 0) },
	/* 0F 71/72/73 ib: MMX and 66 XMM shifts by an immediate, register forms only. */
	[G12] = { [2] = PS(P_MMX, 0, 0), [4] = PS(P_MMX, 0, 0), [6] = PS(P_MMX, 0, 0) },
	[G13] = { [2] = PS(P_MMX, 0, 0), [4] = PS(P_MMX, 0, 0), [6] = PS(P_MMX, 0, 0) },
	[G14] = { [2] = PS(P_MMX, 0, 0),
		  [3] = PS(P_66, 0, 0),
		  [6] = PS(P_MMX, 0, 0),
		  [7] = PS(P_66, 0, 0) },
	/* 0F AE memory forms: FXSAVE, FXRSTOR, LDMXCSR, STMXCSR, XSAVE, XRSTOR, XSAVEOPT,
	 * CLFLUSH; register forms: F3 RD/WR FS/GS BASE, LFENCE, MFENCE, SFENCE. */
	[G15] = { [0 ... 1] = RF(ud, A_END, 0, FXSR),
		  [2 ... 3] = RF(ud, A_END, 0, SSE),
		  [4 ... 6] = RF(ud, A_END, 0, XSAVE),
		  [7] = RF(clflush, 0, 0, CLFLUSH) },
	[G15R] = { [0 ... 3] = PS(P_FSGS, 0, 0),
		   [5 ... 6] = RF(nop, 0, 0, SSE2),
		   [7] = RF(nop, 0, 0, SSE) },
};

static const struct oprow row_movsxd = R(movsxd, A_MODRM, IMM_NONE);
static const struct oprow row_ud = R(ud, A_END, IMM_NONE);
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
	 * next byte has bits 7:6 set (else LES/LDS with a memory operand). R, X, B are
	 * stored inverted and only count in 64-bit mode; W sits in the third byte of C4.
	 * No VEX instruction executes yet: all decode to #UD with the right length (as
	 * does a VEX after 66, F2, F3, LOCK or REX, vol. 2A, 2.3.2).
	 */
	bool vex = false;
	if (op == 0xc4 || op == 0xc5) {
		NEED(1);
		if (code_size == 8 || (b[pos] & 0xc0) == 0xc0) {
			unsigned v1 = b[pos++];
			vex = true;
			map = 1; /* C5: the 0F map */
			rex = 0x40 | ((~v1 >> 5) & 4);
			if (op == 0xc4) {
				NEED(1);
				unsigned v2 = b[pos++];
				map = v1 & 0x1f; /* mmmmm: 1 0F, 2 0F 38, 3 0F 3A, others #UD */
				rex = 0x40 | ((~v1 >> 5) & 7) | ((v2 >> 4) & 8);
			}
			if (code_size != 8)
				rex &= ~7u;
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
		r = (struct oprow){ NULL, (uint16_t)(shape->attr & A_MODRM), shape->imm, FEAT_NONE,
				    0 };
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
			r.attr = (uint16_t)((r.attr & ~A_PFXSEL) | (p->attr & ~A_FALLBACK));
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
	out->reg = (uint8_t)(((modrm >> 3) & 7) | ((rex & 4) << 1));
	out->rm = (uint8_t)((modrm & 7) | ((rex & 1) << 3));
	unsigned default_seg = S_DS;
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
	if (!valid) {
		r = row_ud;
	}
	if (r.fn == op_jcc)
		r.fn = jcc_handlers[op & 15]; /* one handler per condition (cpu/exec/jcc.c) */
	out->fn = r.fn;
	if (r.attr & A_END)
		flags |= I_END;
	out->flags = flags;
	return (int)pos;
#undef NEED
}
