/*
 * fugu — host-differential conformance for 64-bit mode.
 *
 * Every instruction form in `forms[]` is encoded here (a small table-driven
 * encoder: prefixes, REX, opcode, ModRM/SIB/displacement, immediate) with
 * random registers and operands, and run twice from the same random state
 * (general-purpose registers and flags biased toward edge values, and a 1 KiB
 * window of memory the memory operands point into):
 *
 *  - natively, in a forked child: the bytes sit in an executable page between a
 *    prologue that loads all 16 GPRs and RFLAGS (arithmetic flags and DF) from
 *    a state block and an epilogue that stores them back;
 *  - in fugu, on a CPU set up directly in 64-bit mode (EFER.LME/LMA, CR0.PE|PG,
 *    CR4.PAE, 4-level page tables, a CS with L=1, CPL 0), for one instruction
 *    (a REP string instruction runs to completion within that one).
 *
 * Both see the same linear addresses (the host maps its pages with
 * MAP_FIXED_NOREPLACE at AREA_LIN, fugu's page tables map the same linear
 * pages), so RIP-relative and absolute operands work alike. The 16 GPRs, RIP,
 * the arithmetic flags and DF that the SDM defines for the instruction (see
 * `undefined_flags`), and the memory window are compared. A host #DE (SIGFPE)
 * must be a #DE in fugu; fugu's exceptions go through a 64-bit IDT whose gates
 * each lead to a HLT, so the vector is known exactly.
 *
 * The x87 forms (the "x87 forms" section) run the same way with an x87 state
 * loaded by FRSTOR and stored by FNSAVE around the instruction.
 *
 * Output is TAP: one line per form and operand size, with the first few
 * mismatches described in full.
 *
 * Usage: hostdiff [-v] [-n STATES] [-s SEED] [FILTER...]
 *   FILTER  run only the forms whose name contains it ("shl", "r/m64")
 *   -v      describe every mismatch, and list undefined flags that differ
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "bare_machine.h"
#include "long_machine.h"
#include "mmu/ioport.h"
#include "cpu/cpu.h"
#include "cpu/cpuid.h"
#include "cpu/msr.h"
#include "cpu/vex.h"
#include "mmu/physmem.h"

/* ---- the shared linear layout ---- */

/* The area, the guest page tables and the fugu side's GDT/IDT: long_machine.h. */
#define EPI_OFF 0x800u
#define EPI_LIN (CODE_LIN + EPI_OFF)    /* host epilogue; fugu's RIP after the instruction */
#define STATE_LIN (AREA_LIN + 0x1000u)  /* host: register block */
#define HSTACK_TOP (AREA_LIN + 0x3000u) /* host: scratch stack of the epilogue */

#define WIN_OFF 0x600u /* the window of the data page the operands point into */
#define WIN_LEN 0x400u

/* Host state block (STATE_LIN). */
#define ST_INIT 0x000u /* 16 GPRs */
#define ST_IFLAGS 0x080u
#define ST_FINAL 0x100u
#define ST_FFLAGS 0x180u
#define ST_SAVED_RSP 0x188u

#define DEFAULT_STATES 2500u
#define DEFAULT_SEED 0x686f737464696666ull
#define DETAILS_PER_FORM 3
#define FLAGS_CMP (F_ARITH | F_DF) /* the flags loaded and compared */

/* ---- random numbers ---- */

static uint64_t rng_state;

/* splitmix64. */
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

static bool
chance(unsigned pct)
{
	return rnd_below(100) < pct;
}

static uint64_t
bits_mask(unsigned bits)
{
	return bits >= 64 ? ~0ull : (1ull << bits) - 1;
}

/* A `bits`-wide value, often one of the edges: 0, 1, -1, the sign bit and its
 * neighbours, small positive and negative numbers, single bits. */
static uint64_t
edge_value(unsigned bits)
{
	uint64_t m = bits_mask(bits), sign = 1ull << (bits - 1);
	switch (rnd_below(14)) {
	case 0: return 0;
	case 1: return 1;
	case 2: return m;
	case 3: return sign;
	case 4: return sign - 1;
	case 5: return sign + 1;
	case 6: return rnd_below(17);
	case 7: return (0 - (uint64_t)rnd_below(17)) & m;
	case 8: return 1ull << rnd_below(bits);
	case 9: return ~(1ull << rnd_below(bits)) & m;
	default: return rnd() & m;
	}
}

/* A register value whose low `size` bytes (sometimes another width) are an edge
 * value and whose upper bits are random. */
static uint64_t
gpr_value(unsigned size)
{
	uint64_t v = rnd();
	if (chance(20))
		return v;
	unsigned bits = chance(60) ? 8 * size : 8u << rnd_below(4);
	return (v & ~bits_mask(bits)) | edge_value(bits);
}

/* A shift or rotate count: 0, 1, around the operand width and the count masks. */
static uint8_t
edge_count(unsigned size)
{
	static const uint8_t common[] = {
		0, 1, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65
	};
	unsigned bits = 8 * size;
	switch (rnd_below(6)) {
	case 0: return (uint8_t)(bits - 1);
	case 1: return (uint8_t)(bits + rnd_below(3) - 1);
	case 2: return (uint8_t)rnd();
	default: return common[rnd_below(sizeof(common))];
	}
}

/* ---- the forms ---- */

enum shape {
	SH_RM_R,   /* ModRM: reg names a register operand, r/m the other */
	SH_RM_EXT, /* ModRM: reg is an opcode extension */
	SH_OPREG,  /* a register in the opcode's low three bits (REX.B extends it) */
	SH_NONE,   /* implicit operands only */
};
enum rm_kind { RMK_BOTH, RMK_REG, RMK_MEM };
enum imm_kind {
	IM_NONE,
	IM_8,
	IM_Z,     /* imm8 for bytes, imm16 with 66, else imm32 */
	IM_V,     /* as IM_Z, but imm64 with REX.W (MOV r, imm) */
	IM_MOFFS, /* an absolute address: 8 bytes, 4 with 67 (MOV acc, moffs) */
};
enum gen {
	G_PLAIN,
	G_SHIFT1,   /* count 1 */
	G_SHIFT_CL, /* count in CL */
	G_SHIFT_IMM,
	G_DIV,
	G_BT_REG,  /* bit offset in the reg operand: any bit around a memory operand */
	G_BITSCAN, /* r/m often zero */
	G_CMPXCHG, /* accumulator often equal to r/m */
	G_STRING,
	G_LEA,
	G_MOFFS, /* the address is the immediate */
	G_XLAT,  /* RBX points into the window */
	G_STACK, /* RSP points into the window */
};
/* Which flags the SDM leaves undefined (vol. 2, each instruction's "Flags Affected"). */
enum rule {
	R_ALL,   /* all defined, or unaffected (kept) */
	R_LOGIC, /* AND OR XOR TEST: AF undefined */
	R_SHIFT, /* SHL SAL SHR: AF, OF (count > 1), CF (count >= width) undefined */
	R_SAR,   /* SAR: AF, OF (count > 1) undefined */
	R_ROT,   /* ROL ROR RCL RCR: OF undefined unless the masked count is 1 */
	R_SHXD,  /* SHLD SHRD: AF, OF (count > 1); everything when count > width */
	R_MUL,   /* MUL IMUL: SF ZF AF PF undefined */
	R_DIV,   /* DIV IDIV: all six undefined */
	R_BT,    /* BT BTS BTR BTC: OF SF AF PF undefined, ZF kept */
	R_BSX,   /* BSF BSR: CF OF SF AF PF undefined; destination undefined for 0 */
	R_XZCNT, /* LZCNT TZCNT: OF SF AF PF undefined */
};
/*
 * Forms that read flags (or keep some) also run after a flag-setting
 * instruction, so that fugu's lazy flags (flags.h) are consumed, not the
 * materialized RFLAGS a fresh state starts with.
 */
enum pair {
	P_NONE,
	P_CF_ALL,  /* ADC SBB: read CF, write all six */
	P_CF_ROT,  /* RCL RCR: read CF, write CF and OF unless the masked count is 0 */
	P_KEEP_CF, /* INC DEC: write all but CF */
	P_CC,      /* CMOVcc SETcc: read the condition's flags, write none */
	P_CMC,     /* CMC: read and write CF */
	P_LAHF,    /* LAHF: read SF ZF AF PF CF, write none */
};

#define SZ_B 1u
#define SZ_W 2u
#define SZ_D 4u
#define SZ_Q 8u
#define SZ_ALL (SZ_B | SZ_W | SZ_D | SZ_Q)
#define SZ_WDQ (SZ_W | SZ_D | SZ_Q)
#define RB(r) (1u << (r))

struct form {
	const char *name; /* '%' stands for the operand size in bits */
	uint8_t esc;      /* 0x0f: two-byte opcode map */
	uint8_t op8, op;  /* opcode of the byte form (0: none) and of the wider ones */
	uint8_t ext;      /* ModRM.reg of SH_RM_EXT */
	uint8_t sizes;    /* SZ_* */
	uint8_t shape, rmk, imm, gen, rule;
	uint8_t rm_size;   /* r/m operand size when fixed (MOVZX MOVSX MOVSXD SETcc) */
	uint8_t pfx;       /* mandatory or repeat prefix: F2/F3, or 0 */
	bool lockable;     /* LOCK is legal with a memory destination */
	bool a32;          /* 67 prefix: 32-bit addressing */
	uint16_t implicit; /* registers used implicitly: never a base or index */
	uint8_t pair;      /* enum pair */
};

#define FP(name, esc, op8, op, ext, sizes, shape, rmk, imm, gen, rule, rms, pfx, lock, a32, impl,  \
	   pair)                                                                                   \
	{                                                                                          \
		name, esc, op8, op, ext, sizes, shape, rmk, imm, gen, rule, rms, pfx, lock, a32,   \
			impl, pair                                                                 \
	}
#define F(name, esc, op8, op, ext, sizes, shape, rmk, imm, gen, rule, rms, pfx, lock, a32, impl)   \
	FP(name, esc, op8, op, ext, sizes, shape, rmk, imm, gen, rule, rms, pfx, lock, a32, impl,  \
	   P_NONE)

/* ALU op n (ADD=0 ... CMP=7): the five encodings. */
#define ALU(nm, n, rule)                                                                           \
	FP(nm " r/m%,r%", 0, 8 * (n), 8 * (n) + 1, 0, SZ_ALL, SH_RM_R, RMK_BOTH, IM_NONE, G_PLAIN, \
	   rule, 0, 0, (n) != 7, false, 0, ALU_PAIR(n)),                                           \
		FP(nm " r%,r/m%", 0, 8 * (n) + 2, 8 * (n) + 3, 0, SZ_ALL, SH_RM_R, RMK_BOTH,       \
		   IM_NONE, G_PLAIN, rule, 0, 0, false, false, 0, ALU_PAIR(n)),                    \
		FP(nm " acc%,imm", 0, 8 * (n) + 4, 8 * (n) + 5, 0, SZ_ALL, SH_NONE, RMK_REG, IM_Z, \
		   G_PLAIN, rule, 0, 0, false, false, 0, ALU_PAIR(n)),                             \
		FP(nm " r/m%,imm", 0, 0x80, 0x81, n, SZ_ALL, SH_RM_EXT, RMK_BOTH, IM_Z, G_PLAIN,   \
		   rule, 0, 0, (n) != 7, false, 0, ALU_PAIR(n)),                                   \
		FP(nm " r/m%,imm8", 0, 0, 0x83, n, SZ_WDQ, SH_RM_EXT, RMK_BOTH, IM_8, G_PLAIN,     \
		   rule, 0, 0, (n) != 7, false, 0, ALU_PAIR(n))
#define ALU_PAIR(n) ((n) == 2 || (n) == 3 ? P_CF_ALL : P_NONE)

/* Group-2 operation n: by 1, by CL, by imm8. */
#define SHIFT(nm, n, rule)                                                                         \
	FP(nm " r/m%,1", 0, 0xd0, 0xd1, n, SZ_ALL, SH_RM_EXT, RMK_BOTH, IM_NONE, G_SHIFT1, rule,   \
	   0, 0, false, false, 0, SHIFT_PAIR(n)),                                                  \
		FP(nm " r/m%,cl", 0, 0xd2, 0xd3, n, SZ_ALL, SH_RM_EXT, RMK_BOTH, IM_NONE,          \
		   G_SHIFT_CL, rule, 0, 0, false, false, RB(R_CX), SHIFT_PAIR(n)),                 \
		FP(nm " r/m%,imm8", 0, 0xc0, 0xc1, n, SZ_ALL, SH_RM_EXT, RMK_BOTH, IM_8,           \
		   G_SHIFT_IMM, rule, 0, 0, false, false, 0, SHIFT_PAIR(n))
#define SHIFT_PAIR(n) ((n) == 2 || (n) == 3 ? P_CF_ROT : P_NONE)

#define UNARY(nm, op8, op, ext, gen, rule, lock, impl)                                             \
	FP(nm " r/m%", 0, op8, op, ext, SZ_ALL, SH_RM_EXT, RMK_BOTH, IM_NONE, gen, rule, 0, 0,     \
	   lock, false, impl, (op8) == 0xfe ? P_KEEP_CF : P_NONE)

#define TWO(nm, op, sizes, gen, rule, pfx, lock, impl)                                             \
	F(nm, 0x0f, 0, op, 0, sizes, SH_RM_R, RMK_BOTH, IM_NONE, gen, rule, 0, pfx, lock, false,   \
	  impl)

#define CMOV(nm, cc)                                                                               \
	FP("cmov" nm " r%,r/m%", 0x0f, 0, 0x40 + (cc), 0, SZ_WDQ, SH_RM_R, RMK_BOTH, IM_NONE,      \
	   G_PLAIN, R_ALL, 0, 0, false, false, 0, P_CC)
#define SETCC(nm, cc)                                                                              \
	FP("set" nm " r/m8", 0x0f, 0x90 + (cc), 0x90 + (cc), 0, SZ_B, SH_RM_EXT, RMK_BOTH,         \
	   IM_NONE, G_PLAIN, R_ALL, 0, 0, false, false, 0, P_CC)

#define STR_IMPL (RB(R_AX) | RB(R_CX) | RB(R_SI) | RB(R_DI))
#define STRING(nm, op8, rule, pfx, a32)                                                            \
	F(nm, 0, op8, (op8) + 1, 0, SZ_ALL, SH_NONE, RMK_REG, IM_NONE, G_STRING, rule, 0, pfx,     \
	  false, a32, STR_IMPL)

#define ACC_DX (RB(R_AX) | RB(R_DX))

static const struct form forms[] = {
	ALU("add", 0, R_ALL),
	ALU("or", 1, R_LOGIC),
	ALU("adc", 2, R_ALL),
	ALU("sbb", 3, R_ALL),
	ALU("and", 4, R_LOGIC),
	ALU("sub", 5, R_ALL),
	ALU("xor", 6, R_LOGIC),
	ALU("cmp", 7, R_ALL),
	F("test r/m%,r%", 0, 0x84, 0x85, 0, SZ_ALL, SH_RM_R, RMK_BOTH, IM_NONE, G_PLAIN, R_LOGIC, 0,
	  0, false, false, 0),
	F("test acc%,imm", 0, 0xa8, 0xa9, 0, SZ_ALL, SH_NONE, RMK_REG, IM_Z, G_PLAIN, R_LOGIC, 0, 0,
	  false, false, 0),
	F("test r/m%,imm", 0, 0xf6, 0xf7, 0, SZ_ALL, SH_RM_EXT, RMK_BOTH, IM_Z, G_PLAIN, R_LOGIC, 0,
	  0, false, false, 0),
	UNARY("inc", 0xfe, 0xff, 0, G_PLAIN, R_ALL, true, 0),
	UNARY("dec", 0xfe, 0xff, 1, G_PLAIN, R_ALL, true, 0),
	UNARY("not", 0xf6, 0xf7, 2, G_PLAIN, R_ALL, true, 0),
	UNARY("neg", 0xf6, 0xf7, 3, G_PLAIN, R_ALL, true, 0),
	UNARY("mul", 0xf6, 0xf7, 4, G_PLAIN, R_MUL, false, ACC_DX),
	UNARY("imul", 0xf6, 0xf7, 5, G_PLAIN, R_MUL, false, ACC_DX),
	UNARY("div", 0xf6, 0xf7, 6, G_DIV, R_DIV, false, ACC_DX),
	UNARY("idiv", 0xf6, 0xf7, 7, G_DIV, R_DIV, false, ACC_DX),
	TWO("imul r%,r/m%", 0xaf, SZ_WDQ, G_PLAIN, R_MUL, 0, false, 0),
	F("imul r%,r/m%,imm", 0, 0, 0x69, 0, SZ_WDQ, SH_RM_R, RMK_BOTH, IM_Z, G_PLAIN, R_MUL, 0, 0,
	  false, false, 0),
	F("imul r%,r/m%,imm8", 0, 0, 0x6b, 0, SZ_WDQ, SH_RM_R, RMK_BOTH, IM_8, G_PLAIN, R_MUL, 0, 0,
	  false, false, 0),
	SHIFT("rol", 0, R_ROT),
	SHIFT("ror", 1, R_ROT),
	SHIFT("rcl", 2, R_ROT),
	SHIFT("rcr", 3, R_ROT),
	SHIFT("shl", 4, R_SHIFT),
	SHIFT("shr", 5, R_SHIFT),
	SHIFT("sal(/6)", 6, R_SHIFT),
	SHIFT("sar", 7, R_SAR),
	F("shld r/m%,r%,imm8", 0x0f, 0, 0xa4, 0, SZ_WDQ, SH_RM_R, RMK_BOTH, IM_8, G_SHIFT_IMM,
	  R_SHXD, 0, 0, false, false, 0),
	F("shld r/m%,r%,cl", 0x0f, 0, 0xa5, 0, SZ_WDQ, SH_RM_R, RMK_BOTH, IM_NONE, G_SHIFT_CL,
	  R_SHXD, 0, 0, false, false, RB(R_CX)),
	F("shrd r/m%,r%,imm8", 0x0f, 0, 0xac, 0, SZ_WDQ, SH_RM_R, RMK_BOTH, IM_8, G_SHIFT_IMM,
	  R_SHXD, 0, 0, false, false, 0),
	F("shrd r/m%,r%,cl", 0x0f, 0, 0xad, 0, SZ_WDQ, SH_RM_R, RMK_BOTH, IM_NONE, G_SHIFT_CL,
	  R_SHXD, 0, 0, false, false, RB(R_CX)),
	TWO("bt r/m%,r%", 0xa3, SZ_WDQ, G_BT_REG, R_BT, 0, false, 0),
	TWO("bts r/m%,r%", 0xab, SZ_WDQ, G_BT_REG, R_BT, 0, true, 0),
	TWO("btr r/m%,r%", 0xb3, SZ_WDQ, G_BT_REG, R_BT, 0, true, 0),
	TWO("btc r/m%,r%", 0xbb, SZ_WDQ, G_BT_REG, R_BT, 0, true, 0),
	F("bt r/m%,imm8", 0x0f, 0, 0xba, 4, SZ_WDQ, SH_RM_EXT, RMK_BOTH, IM_8, G_PLAIN, R_BT, 0, 0,
	  false, false, 0),
	F("bts r/m%,imm8", 0x0f, 0, 0xba, 5, SZ_WDQ, SH_RM_EXT, RMK_BOTH, IM_8, G_PLAIN, R_BT, 0, 0,
	  true, false, 0),
	F("btr r/m%,imm8", 0x0f, 0, 0xba, 6, SZ_WDQ, SH_RM_EXT, RMK_BOTH, IM_8, G_PLAIN, R_BT, 0, 0,
	  true, false, 0),
	F("btc r/m%,imm8", 0x0f, 0, 0xba, 7, SZ_WDQ, SH_RM_EXT, RMK_BOTH, IM_8, G_PLAIN, R_BT, 0, 0,
	  true, false, 0),
	TWO("bsf r%,r/m%", 0xbc, SZ_WDQ, G_BITSCAN, R_BSX, 0, false, 0),
	TWO("bsr r%,r/m%", 0xbd, SZ_WDQ, G_BITSCAN, R_BSX, 0, false, 0),
	TWO("popcnt r%,r/m%", 0xb8, SZ_WDQ, G_BITSCAN, R_ALL, 0xf3, false, 0),
	TWO("tzcnt r%,r/m%", 0xbc, SZ_WDQ, G_BITSCAN, R_XZCNT, 0xf3, false, 0),
	TWO("lzcnt r%,r/m%", 0xbd, SZ_WDQ, G_BITSCAN, R_XZCNT, 0xf3, false, 0),
	CMOV("o", 0),
	CMOV("no", 1),
	CMOV("b", 2),
	CMOV("ae", 3),
	CMOV("e", 4),
	CMOV("ne", 5),
	CMOV("be", 6),
	CMOV("a", 7),
	CMOV("s", 8),
	CMOV("ns", 9),
	CMOV("p", 10),
	CMOV("np", 11),
	CMOV("l", 12),
	CMOV("ge", 13),
	CMOV("le", 14),
	CMOV("g", 15),
	SETCC("o", 0),
	SETCC("no", 1),
	SETCC("b", 2),
	SETCC("ae", 3),
	SETCC("e", 4),
	SETCC("ne", 5),
	SETCC("be", 6),
	SETCC("a", 7),
	SETCC("s", 8),
	SETCC("ns", 9),
	SETCC("p", 10),
	SETCC("np", 11),
	SETCC("l", 12),
	SETCC("ge", 13),
	SETCC("le", 14),
	SETCC("g", 15),
	F("xadd r/m%,r%", 0x0f, 0xc0, 0xc1, 0, SZ_ALL, SH_RM_R, RMK_BOTH, IM_NONE, G_PLAIN, R_ALL,
	  0, 0, true, false, 0),
	F("cmpxchg r/m%,r%", 0x0f, 0xb0, 0xb1, 0, SZ_ALL, SH_RM_R, RMK_BOTH, IM_NONE, G_CMPXCHG,
	  R_ALL, 0, 0, true, false, RB(R_AX)),
	F("bswap r%", 0x0f, 0, 0xc8, 0, SZ_D | SZ_Q, SH_OPREG, RMK_REG, IM_NONE, G_PLAIN, R_ALL, 0,
	  0, false, false, 0),
	F("movzx r%,r/m8", 0x0f, 0, 0xb6, 0, SZ_WDQ, SH_RM_R, RMK_BOTH, IM_NONE, G_PLAIN, R_ALL, 1,
	  0, false, false, 0),
	F("movzx r%,r/m16", 0x0f, 0, 0xb7, 0, SZ_WDQ, SH_RM_R, RMK_BOTH, IM_NONE, G_PLAIN, R_ALL, 2,
	  0, false, false, 0),
	F("movsx r%,r/m8", 0x0f, 0, 0xbe, 0, SZ_WDQ, SH_RM_R, RMK_BOTH, IM_NONE, G_PLAIN, R_ALL, 1,
	  0, false, false, 0),
	F("movsx r%,r/m16", 0x0f, 0, 0xbf, 0, SZ_WDQ, SH_RM_R, RMK_BOTH, IM_NONE, G_PLAIN, R_ALL, 2,
	  0, false, false, 0),
	F("movsxd r%,r/m32", 0, 0, 0x63, 0, SZ_WDQ, SH_RM_R, RMK_BOTH, IM_NONE, G_PLAIN, R_ALL, 4,
	  0, false, false, 0),
	F("lea r%,m", 0, 0, 0x8d, 0, SZ_WDQ, SH_RM_R, RMK_MEM, IM_NONE, G_LEA, R_ALL, 0, 0, false,
	  false, 0),
	F("lea r%,m (a32)", 0, 0, 0x8d, 0, SZ_WDQ, SH_RM_R, RMK_MEM, IM_NONE, G_LEA, R_ALL, 0, 0,
	  false, true, 0),
	F("xchg r/m%,r%", 0, 0x86, 0x87, 0, SZ_ALL, SH_RM_R, RMK_BOTH, IM_NONE, G_PLAIN, R_ALL, 0,
	  0, true, false, 0),
	F("xchg acc%,r%", 0, 0, 0x90, 0, SZ_WDQ, SH_OPREG, RMK_REG, IM_NONE, G_PLAIN, R_ALL, 0, 0,
	  false, false, 0),
	F("mov r/m%,r%", 0, 0x88, 0x89, 0, SZ_ALL, SH_RM_R, RMK_BOTH, IM_NONE, G_PLAIN, R_ALL, 0, 0,
	  false, false, 0),
	F("mov r%,r/m%", 0, 0x8a, 0x8b, 0, SZ_ALL, SH_RM_R, RMK_BOTH, IM_NONE, G_PLAIN, R_ALL, 0, 0,
	  false, false, 0),
	F("mov r/m%,imm", 0, 0xc6, 0xc7, 0, SZ_ALL, SH_RM_EXT, RMK_BOTH, IM_Z, G_PLAIN, R_ALL, 0, 0,
	  false, false, 0),
	F("mov r%,imm", 0, 0xb0, 0xb8, 0, SZ_ALL, SH_OPREG, RMK_REG, IM_V, G_PLAIN, R_ALL, 0, 0,
	  false, false, 0),
	F("mov acc%,moffs", 0, 0xa0, 0xa1, 0, SZ_ALL, SH_NONE, RMK_REG, IM_MOFFS, G_MOFFS, R_ALL, 0,
	  0, false, false, 0),
	F("mov moffs,acc%", 0, 0xa2, 0xa3, 0, SZ_ALL, SH_NONE, RMK_REG, IM_MOFFS, G_MOFFS, R_ALL, 0,
	  0, false, false, 0),
	F("mov acc%,moffs32 (a32)", 0, 0xa0, 0xa1, 0, SZ_ALL, SH_NONE, RMK_REG, IM_MOFFS, G_MOFFS,
	  R_ALL, 0, 0, false, true, 0),
	F("push r%", 0, 0, 0x50, 0, SZ_W | SZ_Q, SH_OPREG, RMK_REG, IM_NONE, G_STACK, R_ALL, 0, 0,
	  false, false, 0),
	F("pop r%", 0, 0, 0x58, 0, SZ_W | SZ_Q, SH_OPREG, RMK_REG, IM_NONE, G_STACK, R_ALL, 0, 0,
	  false, false, 0),
	F("push r/m%", 0, 0, 0xff, 6, SZ_W | SZ_Q, SH_RM_EXT, RMK_BOTH, IM_NONE, G_STACK, R_ALL, 0,
	  0, false, false, 0),
	F("pop r/m%", 0, 0, 0x8f, 0, SZ_W | SZ_Q, SH_RM_EXT, RMK_BOTH, IM_NONE, G_STACK, R_ALL, 0,
	  0, false, false, 0),
	F("push imm (%)", 0, 0, 0x68, 0, SZ_W | SZ_Q, SH_NONE, RMK_REG, IM_Z, G_STACK, R_ALL, 0, 0,
	  false, false, 0),
	F("push imm8 (%)", 0, 0, 0x6a, 0, SZ_W | SZ_Q, SH_NONE, RMK_REG, IM_8, G_STACK, R_ALL, 0, 0,
	  false, false, 0),
	F("xlat", 0, 0xd7, 0xd7, 0, SZ_B, SH_NONE, RMK_REG, IM_NONE, G_XLAT, R_ALL, 0, 0, false,
	  false, RB(R_AX) | RB(R_BX)),
	FP("cmc", 0, 0xf5, 0xf5, 0, SZ_B, SH_NONE, RMK_REG, IM_NONE, G_PLAIN, R_ALL, 0, 0, false,
	   false, 0, P_CMC),
	F("clc", 0, 0xf8, 0xf8, 0, SZ_B, SH_NONE, RMK_REG, IM_NONE, G_PLAIN, R_ALL, 0, 0, false,
	  false, 0),
	F("stc", 0, 0xf9, 0xf9, 0, SZ_B, SH_NONE, RMK_REG, IM_NONE, G_PLAIN, R_ALL, 0, 0, false,
	  false, 0),
	FP("lahf", 0, 0x9f, 0x9f, 0, SZ_B, SH_NONE, RMK_REG, IM_NONE, G_PLAIN, R_ALL, 0, 0, false,
	   false, 0, P_LAHF),
	F("sahf", 0, 0x9e, 0x9e, 0, SZ_B, SH_NONE, RMK_REG, IM_NONE, G_PLAIN, R_ALL, 0, 0, false,
	  false, 0),
	F("cbw/cwde/cdqe (%)", 0, 0, 0x98, 0, SZ_WDQ, SH_NONE, RMK_REG, IM_NONE, G_PLAIN, R_ALL, 0,
	  0, false, false, 0),
	F("cwd/cdq/cqo (%)", 0, 0, 0x99, 0, SZ_WDQ, SH_NONE, RMK_REG, IM_NONE, G_PLAIN, R_ALL, 0, 0,
	  false, false, 0),
	STRING("movs%", 0xa4, R_ALL, 0, false),
	STRING("rep movs%", 0xa4, R_ALL, 0xf3, false),
	STRING("rep movs% (a32)", 0xa4, R_ALL, 0xf3, true),
	STRING("cmps%", 0xa6, R_ALL, 0, false),
	STRING("repe cmps%", 0xa6, R_ALL, 0xf3, false),
	STRING("repne cmps%", 0xa6, R_ALL, 0xf2, false),
	STRING("repe cmps% (a32)", 0xa6, R_ALL, 0xf3, true),
	STRING("stos%", 0xaa, R_ALL, 0, false),
	STRING("rep stos%", 0xaa, R_ALL, 0xf3, false),
	STRING("lods%", 0xac, R_ALL, 0, false),
	STRING("rep lods%", 0xac, R_ALL, 0xf3, false),
	STRING("scas%", 0xae, R_ALL, 0, false),
	STRING("repe scas%", 0xae, R_ALL, 0xf3, false),
	STRING("repne scas%", 0xae, R_ALL, 0xf2, false),
	STRING("repne scas% (a32)", 0xae, R_ALL, 0xf2, true),
};
#define NFORMS (sizeof(forms) / sizeof(forms[0]))

/* ---- one random state ---- */

struct regs {
	uint64_t gpr[16];
	uint64_t flags;
};

struct state {
	struct regs init;
	uint8_t mem[WIN_LEN]; /* the window's initial bytes */
	uint8_t bytes[32];
	uint8_t len;      /* all the bytes: the producer's and the tested instruction's */
	uint8_t plen;     /* length of the flag-setting instruction in front, or 0 */
	uint32_t p_undef; /* flags it leaves undefined */
	uint8_t count;    /* shift count as encoded (imm8 or CL), before masking */
	uint8_t rm;       /* r/m register (register form) */
	uint8_t reg;      /* ModRM.reg register, or the opcode register */
	bool rm_mem;      /* the r/m operand is in memory */
	bool rex;         /* a REX prefix is present (SPL..DIL rather than AH..BH) */
	uint32_t mem_off; /* window offset of the memory operand */
};

struct host_result {
	struct regs fin;
	int sig;            /* the signal the instruction raised, or 0 */
	bool outside_dirty; /* the page changed outside the window */
	uint8_t mem[WIN_LEN];
};

static uint64_t
get_reg(const struct state *st, unsigned r, unsigned size)
{
	if (size == 1 && !st->rex && r >= 4 && r < 8)
		return (st->init.gpr[r - 4] >> 8) & 0xff;
	return st->init.gpr[r] & bits_mask(8 * size);
}

static void
set_reg(struct state *st, unsigned r, unsigned size, uint64_t v)
{
	if (size == 1 && !st->rex && r >= 4 && r < 8) {
		st->init.gpr[r - 4] = (st->init.gpr[r - 4] & ~0xff00ull) | (v & 0xff) << 8;
		return;
	}
	uint64_t m = bits_mask(8 * size);
	st->init.gpr[r] = (st->init.gpr[r] & ~m) | (v & m);
}

static uint64_t
get_mem(const struct state *st, uint32_t off, unsigned size)
{
	uint64_t v = 0;
	for (unsigned k = 0; k < size; k++)
		v |= (uint64_t)st->mem[off + k] << (8 * k);
	return v;
}

static void
set_mem(struct state *st, uint32_t off, unsigned size, uint64_t v)
{
	for (unsigned k = 0; k < size; k++)
		st->mem[off + k] = (uint8_t)(v >> (8 * k));
}

static uint64_t
get_rm(const struct state *st, unsigned size)
{
	return st->rm_mem ? get_mem(st, st->mem_off, size) : get_reg(st, st->rm, size);
}

static void
set_rm(struct state *st, unsigned size, uint64_t v)
{
	if (st->rm_mem)
		set_mem(st, st->mem_off, size, v);
	else
		set_reg(st, st->rm, size, v);
}

/* A register number 0-7 (0-15 with REX) outside `exclude`. */
static unsigned
pick_reg(bool rex, uint16_t exclude)
{
	unsigned n = rex ? 16 : 8;
	for (;;) {
		unsigned r = rnd_below(n);
		if (!(exclude >> r & 1))
			return r;
	}
}

/* Encoder output. */
struct enc {
	uint8_t *p;
	uint8_t rex; /* 0x40 | W R X B */
};

static void
put_le(uint8_t **p, uint64_t v, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		*(*p)++ = (uint8_t)(v >> (8 * k));
}

/* A memory operand: base/index/scale/disp (base or index REG_NO), or RIP-relative. */
#define REG_NO 0xff
struct memop {
	uint8_t base, index, scale;
	bool rip;
	int32_t disp;
};

/* ModRM (+SIB, +disp) of a memory operand with ModRM.reg = `regf`. */
static void
encode_mem(uint8_t **p, unsigned regf, const struct memop *m)
{
	uint8_t r = (uint8_t)((regf & 7) << 3);
	if (m->rip) {
		*(*p)++ = 0x05 | r;
		put_le(p, (uint32_t)m->disp, 4);
		return;
	}
	if (m->base == REG_NO) { /* SIB with no base: disp32 always */
		*(*p)++ = 0x04 | r;
		unsigned idx = m->index == REG_NO ? 4 : m->index & 7;
		*(*p)++ = (uint8_t)(m->scale << 6 | idx << 3 | 5);
		put_le(p, (uint32_t)m->disp, 4);
		return;
	}
	unsigned mod = m->disp == 0 && (m->base & 7) != 5 ? 0 : m->disp == (int8_t)m->disp ? 1 : 2;
	bool sib = m->index != REG_NO || (m->base & 7) == 4;
	*(*p)++ = (uint8_t)(mod << 6 | r | (sib ? 4 : (m->base & 7)));
	if (sib) {
		unsigned idx = m->index == REG_NO ? 4 : m->index & 7;
		*(*p)++ = (uint8_t)(m->scale << 6 | idx << 3 | (m->base & 7));
	}
	if (mod == 1)
		*(*p)++ = (uint8_t)m->disp;
	else if (mod == 2)
		put_le(p, (uint32_t)m->disp, 4);
}

/* A random displacement: none, disp8 or disp32. */
static int32_t
rand_disp(void)
{
	switch (rnd_below(3)) {
	case 0: return 0;
	case 1: return (int8_t)rnd();
	default: return (int32_t)(uint32_t)rnd();
	}
}

/*
 * A memory operand at linear address `target`: choose the addressing form and
 * set the base/index registers so that base + (index << scale) + disp wraps
 * around to `target` (64-bit addressing) or, for LEA, just random registers.
 */
static void
choose_mem(struct state *st, struct memop *m, uint16_t exclude, bool lea, uint64_t target, bool a32,
	   bool rsp_in_window)
{
	unsigned kind = rnd_below(20);
	m->rip = false;
	m->base = m->index = REG_NO;
	m->scale = (uint8_t)rnd_below(4);
	m->disp = rand_disp();
	if (kind == 0) { /* RIP-relative: the instruction ends at EPI_LIN */
		m->rip = true;
		m->disp = lea ? (int32_t)(uint32_t)rnd() : (int32_t)(target - EPI_LIN);
		return;
	}
	if (kind == 1 || kind == 2) { /* no base: [index*scale + disp32] or [disp32] */
		if (kind == 2)
			m->index = (uint8_t)pick_reg(st->rex, exclude | RB(R_SP));
		if (lea) {
			m->disp = (int32_t)(uint32_t)rnd();
		} else if (m->index != REG_NO) {
			uint64_t iv = rnd_below(0x1000);
			st->init.gpr[m->index] = iv;
			m->disp = (int32_t)(target - (iv << m->scale));
		} else {
			m->disp = (int32_t)target;
		}
		return;
	}
	m->base = (uint8_t)pick_reg(st->rex, exclude);
	if (m->base == R_SP && !lea && rsp_in_window) {
		m->disp = (int8_t)rnd(); /* RSP stays a stack pointer into the window */
		st->init.gpr[R_SP] = target - (uint64_t)(int64_t)m->disp;
		return;
	}
	if (chance(50))
		m->index = (uint8_t)pick_reg(st->rex, exclude | RB(R_SP) | RB(m->base));
	if (lea)
		return; /* the registers keep their random values */
	uint64_t iv = m->index == REG_NO ? 0 : st->init.gpr[m->index];
	if (a32)
		iv &= 0xffffffff;
	st->init.gpr[m->base] = target - (iv << m->scale) - (uint64_t)(int64_t)m->disp;
}

/* Fill the window: random bytes, or bytes from a few edge values so that
 * comparisons often find equal elements. */
static void
fill_window(struct state *st)
{
	static const uint8_t pattern[] = { 0x00, 0x00, 0xff, 0x80, 0x7f, 0x01 };
	if (chance(50)) {
		for (unsigned k = 0; k < WIN_LEN; k += 8) {
			uint64_t v = rnd();
			memcpy(st->mem + k, &v, 8);
		}
		return;
	}
	for (unsigned k = 0; k < WIN_LEN; k++)
		st->mem[k] = chance(70) ? pattern[rnd_below(sizeof(pattern))] : (uint8_t)rnd();
}

/* Divisor and dividend for DIV/IDIV: most states have a quotient that fits. */
static void
gen_div(struct state *st, const struct form *f, unsigned size)
{
	unsigned bits = 8 * size;
	uint64_t m = bits_mask(bits);
	uint64_t d = edge_value(bits);
	if (d == 0 && chance(90))
		d = 1 + rnd_below(9);
	bool idiv = f->ext == 7;
	uint64_t lo = get_reg(st, R_AX, size);
	uint64_t hi;
	if (chance(8))
		hi = rnd() & m;
	else if (idiv)
		hi = (lo & (1ull << (bits - 1))) ? m : 0;
	else
		hi = d ? (rnd() & m) % d : 0;
	if (size == 1)
		set_reg(st, R_AX, 2, lo | hi << 8);
	else
		set_reg(st, R_DX, size, hi);
	set_rm(st, size, d); /* last: a divisor in AX/DX wins (those states mostly fault) */
}

/* The flags condition code cc reads (SDM vol. 1, appendix B). */
static uint32_t
cc_flags(unsigned cc)
{
	static const uint32_t f[8] = { F_OF, F_CF, F_ZF,        F_CF | F_ZF,
				       F_SF, F_PF, F_SF | F_OF, F_ZF | F_SF | F_OF };
	return f[(cc >> 1) & 7];
}

/*
 * A register-only flag-setting instruction in front of the tested one, writing
 * a register outside `used`: an ALU op, TEST, INC/DEC/NEG, SHL/SHR/SAR by an
 * immediate, IMUL r,r/m or BT r,imm8. Its undefined flags must not include
 * `reads`. Returns the length; *undef gets the flags it leaves undefined.
 */
static unsigned
gen_producer(uint8_t *out, uint16_t used, uint32_t reads, uint32_t *undef)
{
	for (;;) {
		uint8_t *p = out;
		unsigned size = 1u << rnd_below(4);
		unsigned kind = rnd_below(16), dst = pick_reg(true, used), src = pick_reg(true, 0);
		if (chance(15))
			src = dst; /* equal operands: CMP/SUB give ZF, SBB borrows */
		unsigned regf = src, imm_len = 0;
		uint64_t imm = 0;
		uint8_t op, esc = 0;
		uint32_t u = 0;
		if (kind < 8) { /* ALU r/m,r */
			op = (uint8_t)(8 * kind + (size > 1));
			u = kind == 1 || kind == 4 || kind == 6 ? F_AF : 0;
		} else if (kind == 8) { /* TEST */
			op = size > 1 ? 0x85 : 0x84;
			u = F_AF;
		} else if (kind <= 10) { /* INC, DEC */
			op = size > 1 ? 0xff : 0xfe;
			regf = kind - 9;
		} else if (kind == 11) { /* NEG */
			op = size > 1 ? 0xf7 : 0xf6;
			regf = 3;
		} else if (kind <= 13) { /* SHL/SHR/SAR imm8 within the width */
			static const uint8_t ext[3] = { 4, 5, 7 };
			op = size > 1 ? 0xc1 : 0xc0;
			regf = ext[rnd_below(3)];
			imm = 1 + rnd_below(8 * size - 1);
			imm_len = 1;
			u = F_AF | (imm > 1 ? F_OF : 0);
		} else if (kind == 14) { /* IMUL r, r/m */
			if (size == 1)
				size = 4;
			esc = 0x0f;
			op = 0xaf;
			regf = dst;
			dst = src;
			if (used >> regf & 1)
				continue;
			u = F_SF | F_ZF | F_AF | F_PF;
		} else { /* BT r, imm8 */
			if (size == 1)
				size = 2;
			esc = 0x0f;
			op = 0xba;
			regf = 4;
			imm = rnd() & 0xff;
			imm_len = 1;
			u = F_OF | F_SF | F_AF | F_PF;
		}
		if (u & reads)
			continue;
		if (size == 2)
			*p++ = 0x66;
		*p++ = (uint8_t)(0x40 | (size == 8) << 3 | (regf >> 3) << 2 | (dst >> 3));
		if (esc)
			*p++ = esc;
		*p++ = op;
		*p++ = (uint8_t)(0xc0 | (regf & 7) << 3 | (dst & 7));
		put_le(&p, imm, imm_len);
		*undef = u;
		return (unsigned)(p - out);
	}
}

/* One random state of form `f` at operand size `size`: registers, flags, memory, bytes. */
static void
gen_state(const struct form *f, unsigned size, struct state *st)
{
	memset(st, 0, sizeof(*st));
	for (unsigned r = 0; r < 16; r++)
		st->init.gpr[r] = gpr_value(size);
	st->init.flags = (rnd() & F_ARITH) | F_FIXED1;
	if (chance(f->gen == G_STRING ? 50 : 15))
		st->init.flags |= F_DF;
	fill_window(st);
	if (f->gen == G_STACK)
		st->init.gpr[R_SP] = DATA_LIN + WIN_OFF + 32 + rnd_below(WIN_LEN - 64);

	unsigned rm_size = f->rm_size ? f->rm_size : size;
	bool byte_regs = size == 1 || rm_size == 1;
	st->rex = size == 8 || chance(byte_regs ? 50 : 35);
	uint8_t rex = st->rex ? 0x40 : 0;
	if (size == 8)
		rex |= 8;
	else if (size == 1 && st->rex && f->rm_size == 0 && chance(30))
		rex |= 8; /* REX.W does nothing to a byte operation */

	uint8_t *p = st->bytes;
	bool mem = f->rmk == RMK_MEM || (f->rmk == RMK_BOTH && chance(40));
	if (f->shape != SH_RM_R && f->shape != SH_RM_EXT)
		mem = false;
	st->rm_mem = mem;
	if (mem && f->lockable && chance(30))
		*p++ = 0xf0;
	if (size == 2 || ((size == 8 || (size == 1 && f->rm_size == 0)) && chance(10)))
		*p++ = 0x66;
	if (f->a32)
		*p++ = 0x67;
	if (f->pfx)
		*p++ = f->pfx;

	struct memop mo = { REG_NO, REG_NO, 0, false, 0 };
	uint8_t opcode = size == 1 ? f->op8 : f->op;
	uint8_t regf = f->ext;
	switch (f->shape) {
	case SH_RM_R:
	case SH_RM_EXT:
		if (f->shape == SH_RM_R)
			regf = (uint8_t)pick_reg(st->rex, 0);
		st->reg = regf;
		if (!mem) {
			st->rm = (uint8_t)pick_reg(st->rex, 0);
		} else {
			uint16_t excl = f->implicit | (f->shape == SH_RM_R ? RB(regf) : 0);
			/* Byte registers 4-7 without REX are AH..BH: keep their word too. */
			if (f->shape == SH_RM_R && !st->rex && byte_regs && regf >= 4)
				excl |= RB(regf - 4);
			uint32_t span =
				f->gen == G_BT_REG ? WIN_LEN / 2 : 16 + rnd_below(WIN_LEN - 48);
			st->mem_off = span;
			choose_mem(st, &mo, excl, f->gen == G_LEA, DATA_LIN + WIN_OFF + span,
				   f->a32, f->gen == G_STACK);
		}
		break;
	case SH_OPREG:
		st->reg = (uint8_t)pick_reg(st->rex, 0);
		opcode = (uint8_t)(opcode + (st->reg & 7));
		break;
	default: break;
	}
	if (f->shape == SH_RM_R || f->shape == SH_RM_EXT) {
		if (regf & 8)
			rex |= 4;
		if (mem && mo.index != REG_NO && (mo.index & 8))
			rex |= 2;
		if (mem ? (mo.base != REG_NO && (mo.base & 8)) : (st->rm & 8))
			rex |= 1;
	} else if (f->shape == SH_OPREG && (st->reg & 8)) {
		rex |= 1;
	}
	if (st->rex)
		*p++ = rex;
	if (f->esc)
		*p++ = f->esc;
	*p++ = opcode;
	if (f->shape == SH_RM_R || f->shape == SH_RM_EXT) {
		if (mem)
			encode_mem(&p, regf, &mo);
		else
			*p++ = (uint8_t)(0xc0 | (regf & 7) << 3 | (st->rm & 7));
	}

	/* Operands that need particular values. */
	uint64_t imm = 0;
	unsigned imm_len = f->imm == IM_8 ? 1 : f->imm == IM_Z ? (size > 4 ? 4 : size) : 0;
	if (f->imm == IM_V)
		imm_len = size;
	else if (f->imm == IM_MOFFS)
		imm_len = f->a32 ? 4 : 8;
	if (imm_len)
		imm = edge_value(8 * imm_len);
	switch (f->gen) {
	case G_SHIFT1: st->count = 1; break;
	case G_SHIFT_CL:
		st->count = edge_count(size);
		set_reg(st, R_CX, 1, st->count);
		break;
	case G_SHIFT_IMM:
		st->count = edge_count(size);
		imm = st->count;
		break;
	case G_DIV: gen_div(st, f, size); break;
	case G_MOFFS:
		st->rm_mem = true;
		st->mem_off = 16 + rnd_below(WIN_LEN - 32);
		imm = DATA_LIN + WIN_OFF + st->mem_off;
		break;
	case G_XLAT:
		st->init.gpr[R_BX] = DATA_LIN + WIN_OFF + 16 + rnd_below(WIN_LEN - 256 - 32);
		break;
	case G_BT_REG:
		if (mem) { /* a signed bit offset reaching anywhere in the window */
			int64_t bit = (int64_t)rnd_below(8 * (WIN_LEN - 32)) - 4 * (WIN_LEN - 32);
			uint64_t m = bits_mask(8 * size);
			st->init.gpr[regf] = (rnd() & ~m) | ((uint64_t)bit & m);
		}
		break;
	case G_BITSCAN:
		if (chance(15))
			set_rm(st, size, 0);
		else if (chance(20))
			set_rm(st, size, 1ull << rnd_below(8 * size));
		break;
	case G_CMPXCHG:
		if (chance(50))
			set_reg(st, R_AX, size, get_rm(st, size));
		break;
	case G_STRING: {
		unsigned span = 9 * 8;
		uint64_t si = DATA_LIN + WIN_OFF + span + rnd_below(WIN_LEN - 2 * span);
		uint64_t di = DATA_LIN + WIN_OFF + span + rnd_below(WIN_LEN - 2 * span);
		if (chance(30))
			di = si + (uint64_t)((int64_t)rnd_below(33) - 16); /* overlaps */
		uint64_t hi = f->a32 ? rnd() << 32 : 0;
		st->init.gpr[R_SI] = hi | si;
		st->init.gpr[R_DI] = (f->a32 ? rnd() << 32 : 0) | di;
		if (f->pfx)
			st->init.gpr[R_CX] = (f->a32 ? rnd() << 32 : 0) | rnd_below(10);
		if (chance(50)) /* the accumulator equals the first element SCAS sees */
			set_reg(st, R_AX, size,
				get_mem(st, (uint32_t)(di - DATA_LIN - WIN_OFF), size));
		break;
	}
	default: break;
	}
	put_le(&p, imm, imm_len);
	st->len = (uint8_t)(p - st->bytes);

	if (f->pair != P_NONE && chance(50)) {
		uint16_t used = f->implicit | RB(st->reg); /* SH_NONE: reg 0 is the accumulator */
		if (!mem)
			used |= RB(st->rm);
		if (mem && mo.base != REG_NO)
			used |= RB(mo.base);
		if (mem && mo.index != REG_NO)
			used |= RB(mo.index);
		for (unsigned r = 4; r < 8; r++) /* AH..BH are parts of RAX..RBX */
			if ((used >> r & 1) && !st->rex)
				used |= RB(r - 4);
		uint32_t reads = f->pair == P_CC     ? cc_flags(opcode & 15)
				 : f->pair == P_LAHF ? F_SF | F_ZF | F_AF | F_PF | F_CF
						     : F_CF;
		uint8_t pro[16];
		st->plen = (uint8_t)gen_producer(pro, used, reads, &st->p_undef);
		memmove(st->bytes + st->plen, st->bytes, st->len);
		memcpy(st->bytes, pro, st->plen);
		st->len = (uint8_t)(st->len + st->plen);
	}
}

/* ---- which flags and registers the SDM leaves undefined ---- */

struct undefined {
	uint32_t flags; /* F_* bits not compared */
	uint16_t regs;  /* GPRs not compared */
	bool mem;       /* the window is not compared */
};

/*
 * The SDM's undefined results for one state (vol. 2A/2B, "Flags Affected" of each
 * instruction; counts are masked to 5 bits, 6 with REX.W, first):
 *  - AND/OR/XOR/TEST: AF undefined.
 *  - SAL/SHL/SHR/SAR: nothing changes for a masked count of 0; otherwise AF is
 *    undefined, OF is undefined unless the count is 1, and for SHL/SHR CF is
 *    undefined when the count is at least the operand width.
 *  - ROL/ROR/RCL/RCR: OF undefined unless the masked count is 1 (a masked count
 *    of 0 changes no flags).
 *  - SHLD/SHRD: AF undefined, OF undefined unless the count is 1; a count above
 *    the operand width leaves the destination and every flag undefined.
 *  - MUL/IMUL: SF ZF AF PF undefined.  DIV/IDIV: all six undefined.
 *  - BT/BTS/BTR/BTC: OF SF AF PF undefined (ZF unaffected).
 *  - BSF/BSR: CF OF SF AF PF undefined; the destination too when the source is 0.
 *  - LZCNT/TZCNT: OF SF AF PF undefined.
 *  - ADD ADC SUB SBB CMP NEG INC DEC XADD CMPXCHG CMPS SCAS POPCNT: all defined.
 */
static struct undefined
undefined_for(const struct form *f, const struct state *st, unsigned size)
{
	struct undefined u = { 0, 0, false };
	unsigned bits = 8 * size, count = st->count & (size == 8 ? 63 : 31);
	switch (f->rule) {
	case R_LOGIC: u.flags = F_AF; break;
	case R_SHIFT:
	case R_SAR:
		if (count == 0)
			break;
		u.flags = F_AF | (count != 1 ? F_OF : 0);
		if (f->rule == R_SHIFT && count >= bits)
			u.flags |= F_CF;
		break;
	case R_ROT:
		if (count != 0 && count != 1)
			u.flags = F_OF;
		break;
	case R_SHXD:
		if (count == 0)
			break;
		u.flags = F_AF | (count != 1 ? F_OF : 0);
		if (count > bits) {
			u.flags = F_ARITH;
			if (st->rm_mem)
				u.mem = true;
			else
				u.regs = RB(st->rm);
		}
		break;
	case R_MUL: u.flags = F_SF | F_ZF | F_AF | F_PF; break;
	case R_DIV: u.flags = F_ARITH; break;
	case R_BT: u.flags = F_OF | F_SF | F_AF | F_PF; break;
	case R_BSX:
		u.flags = F_CF | F_OF | F_SF | F_AF | F_PF;
		if (get_rm(st, size) == 0)
			u.regs = RB(st->reg);
		break;
	case R_XZCNT: u.flags = F_OF | F_SF | F_AF | F_PF; break;
	default: break;
	}
	/* What the flag-setting instruction in front left undefined stays so where
	 * the tested instruction does not write. */
	uint32_t written = 0;
	switch (f->pair) {
	case P_CF_ALL: written = F_ARITH; break;
	case P_CF_ROT: written = count ? F_CF | F_OF : 0; break;
	case P_KEEP_CF: written = F_ARITH & ~F_CF; break;
	case P_CMC: written = F_CF; break;
	default: break;
	}
	u.flags |= st->p_undef & ~written;
	return u;
}

/* ---- the host side ---- */

static uint8_t *
st_block(void)
{
	return (uint8_t *)(uintptr_t)STATE_LIN;
}

/* mov r64, [abs32] (load) or mov [abs32], r64 (store). */
static void
emit_abs_mov(uint8_t **p, bool store, unsigned reg, uint32_t addr)
{
	*(*p)++ = (uint8_t)(0x48 | (reg >> 3) << 2);
	*(*p)++ = store ? 0x89 : 0x8b;
	*(*p)++ = (uint8_t)(0x04 | (reg & 7) << 3);
	*(*p)++ = 0x25;
	put_le(p, addr, 4);
}

static void
emit_bytes(uint8_t **p, const char *bytes, size_t n)
{
	memcpy(*p, bytes, n);
	*p += n;
}

static uint32_t prologue_jmp_off; /* offset of the prologue's JMP rel32 operand */

/*
 * The prologue (at CODE_LIN, called as a C function) saves the callee-saved
 * registers and RSP, loads RFLAGS and the 16 GPRs from the state block and jumps
 * to the instruction, which ends at EPI_LIN; the epilogue stores the GPRs and
 * RFLAGS, clears DF, and returns.
 */
static void
host_emit_stubs(void)
{
	uint8_t *base = (uint8_t *)(uintptr_t)CODE_LIN, *p = base;
	emit_bytes(&p, "\x53\x55\x41\x54\x41\x55\x41\x56\x41\x57", 10); /* push rbx..r15 */
	emit_abs_mov(&p, true, R_SP, STATE_LIN + ST_SAVED_RSP);
	emit_bytes(&p, "\x48\xc7\xc4", 3); /* mov rsp, imm32 */
	put_le(&p, HSTACK_TOP, 4);
	emit_bytes(&p, "\xff\x34\x25", 3); /* push qword [abs] */
	put_le(&p, STATE_LIN + ST_IFLAGS, 4);
	*p++ = 0x9d; /* popfq */
	for (unsigned r = 0; r < 16; r++)
		emit_abs_mov(&p, false, r, STATE_LIN + ST_INIT + 8 * r);
	*p++ = 0xe9; /* jmp rel32, patched per instruction */
	prologue_jmp_off = (uint32_t)(p - base);
	put_le(&p, 0, 4);

	p = base + EPI_OFF;
	for (unsigned r = 0; r < 16; r++)
		emit_abs_mov(&p, true, r, STATE_LIN + ST_FINAL + 8 * r);
	emit_bytes(&p, "\x48\xc7\xc4", 3);
	put_le(&p, HSTACK_TOP, 4);
	*p++ = 0x9c;                       /* pushfq */
	emit_bytes(&p, "\x8f\x04\x25", 3); /* pop qword [abs] */
	put_le(&p, STATE_LIN + ST_FFLAGS, 4);
	*p++ = 0xfc; /* cld */
	emit_abs_mov(&p, false, R_SP, STATE_LIN + ST_SAVED_RSP);
	emit_bytes(&p, "\x41\x5f\x41\x5e\x41\x5d\x41\x5c\x5d\x5b\xc3", 11); /* pop r15..rbx; ret */
}

static sigjmp_buf host_jmp;
static volatile sig_atomic_t host_sig;

static void
host_on_signal(int sig)
{
	host_sig = sig;
	siglongjmp(host_jmp, 1);
}

/* Run one state natively. */
static void
host_run(const struct state *st, struct host_result *out)
{
	uint8_t *code = (uint8_t *)(uintptr_t)CODE_LIN;
	uint8_t *page = (uint8_t *)(uintptr_t)DATA_LIN;
	uint32_t at = EPI_OFF - st->len;
	memcpy(code + at, st->bytes, st->len);
	uint8_t *jp = code + prologue_jmp_off;
	put_le(&jp, at - (prologue_jmp_off + 4), 4);
	memcpy(st_block() + ST_INIT, st->init.gpr, sizeof(st->init.gpr));
	memcpy(st_block() + ST_IFLAGS, &st->init.flags, 8);
	memcpy(page + WIN_OFF, st->mem, WIN_LEN);
	host_sig = 0;
	if (!sigsetjmp(host_jmp, 1)) {
		void (*fn)(void) = (void (*)(void))(uintptr_t)CODE_LIN;
		fn();
	}
	out->sig = host_sig;
	memcpy(out->fin.gpr, st_block() + ST_FINAL, sizeof(out->fin.gpr));
	memcpy(&out->fin.flags, st_block() + ST_FFLAGS, 8);
	memcpy(out->mem, page + WIN_OFF, WIN_LEN);
	out->outside_dirty = false;
	for (unsigned k = 0; k < PAGE_SIZE; k++) {
		if ((k < WIN_OFF || k >= WIN_OFF + WIN_LEN) && page[k]) {
			out->outside_dirty = true;
			memset(page, 0, WIN_OFF);
			memset(page + WIN_OFF + WIN_LEN, 0, PAGE_SIZE - WIN_OFF - WIN_LEN);
			break;
		}
	}
}

/* The child: catch the instruction's signals on an alternate stack, run every state. */
static _Noreturn void
host_child(const struct state *states, unsigned n, struct host_result *res)
{
	static uint8_t altstack[1 << 16];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack), .ss_flags = 0 };
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = host_on_signal;
	sa.sa_flags = SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaltstack(&ss, NULL) != 0)
		_exit(3);
	static const int sigs[] = { SIGFPE, SIGSEGV, SIGBUS, SIGILL, SIGTRAP };
	for (size_t k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
		sigaction(sigs[k], &sa, NULL);
	alarm(60);
	host_emit_stubs();
	for (unsigned k = 0; k < n; k++)
		host_run(&states[k], &res[k]);
	_exit(0);
}

/* Map the host pages at the shared linear addresses (the code page executable). */
static bool
host_map(char *err, size_t errlen)
{
	void *code =
		mmap((void *)(uintptr_t)AREA_LIN, PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	void *rest = mmap((void *)(uintptr_t)(AREA_LIN + PAGE_SIZE), 4 * PAGE_SIZE,
			  PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			  -1, 0);
	if (code != (void *)(uintptr_t)AREA_LIN ||
	    rest != (void *)(uintptr_t)(AREA_LIN + PAGE_SIZE)) {
		snprintf(err, errlen, "cannot map the host pages at %#x: %s", AREA_LIN,
			 strerror(errno));
		return false;
	}
	return true;
}

/* ---- the fugu side ---- */

struct fugu_result {
	struct regs fin;
	uint64_t rip;
	int vector; /* the exception raised, or -1 */
	bool outside_dirty;
	enum cpu_exit exit;
	uint8_t mem[WIN_LEN];
};

static void
fugu_run(struct machine *m, const struct state *st, struct fugu_result *out)
{
	struct cpu *cpu = m->cpu;
	static uint8_t page[PAGE_SIZE];
	uint64_t at = EPI_LIN - st->len;
	physmem_write(m->mem, PHYS_OF(at), st->bytes, st->len);
	physmem_write(m->mem, PHYS_OF(DATA_LIN) + WIN_OFF, st->mem, WIN_LEN);
	memcpy(cpu->state.gpr, st->init.gpr, sizeof(cpu->state.gpr));
	cpu->state.rip = at;
	cpu_set_rflags(cpu, (st->init.flags & FLAGS_CMP) | F_FIXED1);
	uint64_t faults = cpu->faults;
	out->exit = cpu_exec(cpu, st->plen ? 2 : 1);
	out->vector = -1;
	if (cpu->faults != faults) {
		uint64_t v = cpu->state.rip - HANDLER_LIN - 1;
		out->vector = cpu->state.halted && v < 32 ? (int)v : 99;
	}
	memcpy(out->fin.gpr, cpu->state.gpr, sizeof(out->fin.gpr));
	out->fin.flags = cpu_get_rflags(cpu);
	out->rip = cpu->state.rip;
	physmem_read(m->mem, PHYS_OF(DATA_LIN), page, PAGE_SIZE);
	memcpy(out->mem, page + WIN_OFF, WIN_LEN);
	out->outside_dirty = false;
	for (unsigned k = 0; k < PAGE_SIZE; k++) {
		if ((k < WIN_OFF || k >= WIN_OFF + WIN_LEN) && page[k]) {
			out->outside_dirty = true;
			memset(page, 0, PAGE_SIZE);
			physmem_write(m->mem, PHYS_OF(DATA_LIN), page, PAGE_SIZE);
			break;
		}
	}
	if (out->vector >= 0 || out->exit != CPU_EXIT_BUDGET)
		long_machine_mode(cpu);
}

/* ---- comparing and reporting ---- */

static const char *const reg_names[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					   "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15" };

/* The exception a host signal stands for. */
static int
signal_vector(int sig)
{
	return sig == SIGFPE ? EXC_DE : -2;
}

static void
note(char *buf, size_t cap, const char *fmt, ...)
{
	size_t len = strlen(buf);
	if (len + 1 >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + len, cap - len, fmt, ap);
	va_end(ap);
}

static void
flags_str(uint64_t f, char *buf, size_t cap)
{
	static const struct {
		uint32_t bit;
		char c;
	} names[] = {
		{ F_OF, 'O' }, { F_DF, 'D' }, { F_SF, 'S' }, { F_ZF, 'Z' },
		{ F_AF, 'A' }, { F_PF, 'P' }, { F_CF, 'C' },
	};
	size_t k = 0;
	for (size_t n = 0; n < sizeof(names) / sizeof(names[0]) && k + 1 < cap; n++)
		buf[k++] = (f & names[n].bit) ? names[n].c : '-';
	buf[k] = 0;
}

/* Compare one state; on a mismatch, `why` says where. */
static bool
compare(const struct form *f, unsigned size, const struct state *st, const struct host_result *h,
	const struct fugu_result *g, char *why, size_t cap, uint32_t *undef_diff)
{
	bool ok = true;
	why[0] = 0;
	if (h->sig) {
		int want = signal_vector(h->sig);
		if (want < 0) {
			note(why, cap, " host signal %d (harness error)", h->sig);
			return false;
		}
		if (g->vector != want) {
			note(why, cap, " host raised vector %d, fugu %d", want, g->vector);
			return false;
		}
		return true;
	}
	if (g->vector >= 0 || g->exit != CPU_EXIT_BUDGET) {
		note(why, cap, " fugu raised vector %d (exit %d)", g->vector, (int)g->exit);
		return false;
	}
	struct undefined u = undefined_for(f, st, size);
	for (unsigned r = 0; r < 16; r++) {
		if (h->fin.gpr[r] != g->fin.gpr[r] && !(u.regs >> r & 1)) {
			note(why, cap, " %s", reg_names[r]);
			ok = false;
		}
	}
	if (g->rip != EPI_LIN) {
		note(why, cap, " rip=%" PRIx64 "(want %x)", g->rip, EPI_LIN);
		ok = false;
	}
	uint64_t fd = (h->fin.flags ^ g->fin.flags) & FLAGS_CMP;
	*undef_diff |= (uint32_t)(fd & u.flags);
	if (fd & ~(uint64_t)u.flags) {
		char hs[8], gs[8], ds[8];
		flags_str(h->fin.flags, hs, sizeof(hs));
		flags_str(g->fin.flags, gs, sizeof(gs));
		flags_str(fd & ~(uint64_t)u.flags, ds, sizeof(ds));
		note(why, cap, " flags host %s fugu %s (differ %s)", hs, gs, ds);
		ok = false;
	}
	if (!u.mem && memcmp(h->mem, g->mem, WIN_LEN)) {
		for (unsigned k = 0; k < WIN_LEN; k++) {
			if (h->mem[k] != g->mem[k]) {
				note(why, cap, " mem[+%#x] host %02x fugu %02x", k, h->mem[k],
				     g->mem[k]);
				break;
			}
		}
		ok = false;
	}
	if (h->outside_dirty != g->outside_dirty) {
		note(why, cap, " memory outside the window written by %s",
		     g->outside_dirty ? "fugu" : "the host");
		ok = false;
	}
	return ok;
}

static void
describe(const char *name, unsigned idx, const struct state *st, const struct host_result *h,
	 const struct fugu_result *g, const char *why)
{
	char fs[8];
	printf("# MISMATCH %s, state %u: bytes", name, idx);
	for (unsigned k = 0; k < st->len; k++)
		printf(" %02x", st->bytes[k]);
	printf(" (at %" PRIx64 "%s):%s\n", (uint64_t)EPI_LIN - st->len,
	       st->plen ? ", after a flag-setting instruction" : "", why);
	flags_str(st->init.flags, fs, sizeof(fs));
	printf("#   init:");
	for (unsigned r = 0; r < 16; r++)
		printf("%s%s=%016" PRIx64, r % 4 ? " " : "\n#     ", reg_names[r], st->init.gpr[r]);
	printf("\n#     flags=%s", fs);
	if (st->rm_mem)
		printf(" mem operand at window+%#x: %016" PRIx64, st->mem_off,
		       get_mem(st, st->mem_off, 8));
	printf("\n");
	const struct regs *fin[2] = { &h->fin, &g->fin };
	for (int s = 0; s < 2; s++) {
		printf("#   %s:", s ? "fugu" : "host");
		if (s ? g->vector >= 0 : h->sig != 0) {
			printf(s ? " exception %d\n" : " signal %d\n", s ? g->vector : h->sig);
			continue;
		}
		for (unsigned r = 0; r < 16; r++)
			if (fin[s]->gpr[r] != st->init.gpr[r])
				printf(" %s=%016" PRIx64, reg_names[r], fin[s]->gpr[r]);
		flags_str(fin[s]->flags, fs, sizeof(fs));
		printf(" flags=%s", fs);
		const uint8_t *mem = s ? g->mem : h->mem;
		unsigned shown = 0;
		for (unsigned k = 0; k < WIN_LEN && shown < 16; k++) {
			if (mem[k] != st->mem[k]) {
				printf(" [+%#x]=%02x", k, mem[k]);
				shown++;
			}
		}
		printf("\n");
	}
}

/* ---- driver ---- */

static unsigned tap_number;

static void
tap_line(bool ok, const char *fmt, ...)
{
	va_list ap;
	printf("%s %u - ", ok ? "ok" : "not ok", ++tap_number);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* "add r/m%,r%" at size 4 -> "add r/m32,r32". */
static void
form_name(const struct form *f, unsigned size, char *buf, size_t cap)
{
	size_t k = 0;
	for (const char *s = f->name; *s && k + 3 < cap; s++) {
		if (*s == '%')
			k += (size_t)snprintf(buf + k, cap - k, "%u", 8 * size);
		else
			buf[k++] = *s;
	}
	buf[k] = 0;
}

/* Host CPUID: does it have what the form needs? */
static bool
host_supports(const struct form *f)
{
	unsigned a, b, c, d;
	if (f->esc != 0x0f || f->pfx != 0xf3)
		return true;
	switch (f->op) {
	case 0xb8: /* POPCNT: CPUID.01H:ECX.POPCNT[bit 23] */
		return __get_cpuid(1, &a, &b, &c, &d) && (c >> 23 & 1);
	case 0xbc: /* TZCNT: CPUID.(EAX=07H,ECX=0):EBX.BMI1[bit 3] */
		return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 3 & 1);
	case 0xbd: /* LZCNT: CPUID.80000001H:ECX.LZCNT[bit 5] */
		return __get_cpuid(0x80000001, &a, &b, &c, &d) && (c >> 5 & 1);
	default: return true;
	}
}

static bool
selected(const char *name, char **filters, int n)
{
	if (!n)
		return true;
	for (int k = 0; k < n; k++)
		if (strstr(name, filters[k]))
			return true;
	return false;
}

/* ---- x87 forms ----
 *
 * Every x87 instruction (D8-DF, register and memory forms, and WAIT) runs from
 * a random x87 state: the host loads it with FRSTOR, runs the bytes and stores
 * the outcome with FNSAVE; fugu gets the same state in its XSAVE image. Random
 * FCW (rounding, precision, masks), TOP, tags, condition codes, sticky flags
 * (sometimes an unmasked one: a pending exception that must raise #MF, SIGFPE
 * on the host), operands of every class (normals, denormals, zeros,
 * infinities, QNaN/SNaN, pseudo-denormals, unnormals, pseudo-NaNs and
 * pseudo-infinities, large and small exponents, integers, halves, multiples of
 * pi/4). Compared: ST0-7, FSW, FCW, the tags (empty or not), RAX (FNSTSW AX),
 * the arithmetic flags (FCOMI, FCMOVcc) and the memory window, except the
 * FIP/FCS/FOP/FDP/FDS fields of stored environments (the host's CS and DS
 * selectors differ from fugu's test segments).
 */

#define X_IMG 0x200u  /* state block: the FRSTOR image */
#define X_OUT 0x300u  /* the FNSAVE image */
#define X_RAXI 0x400u /* RAX in and out (FNSTSW AX) */
#define X_RAXO 0x408u
#define X_FLO 0x410u
#define X_PRO 0xa00u /* code page: the x87 prologue */
#define X_EPI 0xc00u /* and epilogue */

enum xop {
	XO_NONE,
	XO_F32,
	XO_F64,
	XO_F80,
	XO_I16,
	XO_I32,
	XO_I64,
	XO_BCD,
	XO_CW,
	XO_ENV,
	XO_SAVE,
	XO_OUT
};

struct xform {
	char name[40];
	uint8_t esc, modrm; /* modrm: a register form's byte, or ModRM.reg << 3 for memory */
	uint8_t mem;        /* enum xop; XO_NONE for register forms */
	bool any_i;         /* register form: modrm + 0-7 at random */
	bool p66;           /* operand-size prefix (16-bit environment formats) */
	bool wait;          /* 9B */
	uint8_t env_skip;   /* stored environment: skip FIP..FDS when comparing */
};

struct xstate {
	uint8_t img[108]; /* FSAVE image, 32-bit format */
	uint64_t rax, flags;
	uint8_t mem[WIN_LEN];
	uint8_t bytes[16];
	uint8_t len;
	uint32_t mem_off;
};

struct xresult {
	uint8_t img[108];
	uint64_t rax, flags;
	int sig;
	uint8_t mem[WIN_LEN];
};

static const char *const x_mem_names[8][8] = {
	{ "fadd m32fp", "fmul m32fp", "fcom m32fp", "fcomp m32fp", "fsub m32fp", "fsubr m32fp",
	  "fdiv m32fp", "fdivr m32fp" },
	{ "fld m32fp", NULL, "fst m32fp", "fstp m32fp", "fldenv", "fldcw", "fnstenv", "fnstcw" },
	{ "fiadd m32int", "fimul m32int", "ficom m32int", "ficomp m32int", "fisub m32int",
	  "fisubr m32int", "fidiv m32int", "fidivr m32int" },
	{ "fild m32int", "fisttp m32int", "fist m32int", "fistp m32int", NULL, "fld m80fp", NULL,
	  "fstp m80fp" },
	{ "fadd m64fp", "fmul m64fp", "fcom m64fp", "fcomp m64fp", "fsub m64fp", "fsubr m64fp",
	  "fdiv m64fp", "fdivr m64fp" },
	{ "fld m64fp", "fisttp m64int", "fst m64fp", "fstp m64fp", "frstor", NULL, "fnsave",
	  "fnstsw m16" },
	{ "fiadd m16int", "fimul m16int", "ficom m16int", "ficomp m16int", "fisub m16int",
	  "fisubr m16int", "fidiv m16int", "fidivr m16int" },
	{ "fild m16int", "fisttp m16int", "fist m16int", "fistp m16int", "fbld m80bcd",
	  "fild m64int", "fbstp m80bcd", "fistp m64int" },
};

static const uint8_t x_mem_ops[8][8] = {
	{ XO_F32, XO_F32, XO_F32, XO_F32, XO_F32, XO_F32, XO_F32, XO_F32 },
	{ XO_F32, 0, XO_OUT, XO_OUT, XO_ENV, XO_CW, XO_OUT, XO_OUT },
	{ XO_I32, XO_I32, XO_I32, XO_I32, XO_I32, XO_I32, XO_I32, XO_I32 },
	{ XO_I32, XO_OUT, XO_OUT, XO_OUT, 0, XO_F80, 0, XO_OUT },
	{ XO_F64, XO_F64, XO_F64, XO_F64, XO_F64, XO_F64, XO_F64, XO_F64 },
	{ XO_F64, XO_OUT, XO_OUT, XO_OUT, XO_SAVE, 0, XO_OUT, XO_OUT },
	{ XO_I16, XO_I16, XO_I16, XO_I16, XO_I16, XO_I16, XO_I16, XO_I16 },
	{ XO_I16, XO_OUT, XO_OUT, XO_OUT, XO_BCD, XO_I64, XO_OUT, XO_OUT },
};

/* Register forms: ModRM.reg groups with one operation (st(i) at random), and
 * the single-byte operations of the groups that have several. */
static const struct {
	uint8_t esc, modrm;
	bool any_i;
	const char *name;
} x_reg_forms[] = {
	{ 0, 0xc0, 1, "fadd st,st(i)" },
	{ 0, 0xc8, 1, "fmul st,st(i)" },
	{ 0, 0xd0, 1, "fcom st(i)" },
	{ 0, 0xd8, 1, "fcomp st(i)" },
	{ 0, 0xe0, 1, "fsub st,st(i)" },
	{ 0, 0xe8, 1, "fsubr st,st(i)" },
	{ 0, 0xf0, 1, "fdiv st,st(i)" },
	{ 0, 0xf8, 1, "fdivr st,st(i)" },
	{ 1, 0xc0, 1, "fld st(i)" },
	{ 1, 0xc8, 1, "fxch st(i)" },
	{ 1, 0xd0, 0, "fnop" },
	{ 1, 0xd8, 1, "fstp1 st(i) (alias)" },
	{ 1, 0xe0, 0, "fchs" },
	{ 1, 0xe1, 0, "fabs" },
	{ 1, 0xe4, 0, "ftst" },
	{ 1, 0xe5, 0, "fxam" },
	{ 1, 0xe8, 0, "fld1" },
	{ 1, 0xe9, 0, "fldl2t" },
	{ 1, 0xea, 0, "fldl2e" },
	{ 1, 0xeb, 0, "fldpi" },
	{ 1, 0xec, 0, "fldlg2" },
	{ 1, 0xed, 0, "fldln2" },
	{ 1, 0xee, 0, "fldz" },
	{ 1, 0xf0, 0, "f2xm1" },
	{ 1, 0xf1, 0, "fyl2x" },
	{ 1, 0xf2, 0, "fptan" },
	{ 1, 0xf3, 0, "fpatan" },
	{ 1, 0xf4, 0, "fxtract" },
	{ 1, 0xf5, 0, "fprem1" },
	{ 1, 0xf6, 0, "fdecstp" },
	{ 1, 0xf7, 0, "fincstp" },
	{ 1, 0xf8, 0, "fprem" },
	{ 1, 0xf9, 0, "fyl2xp1" },
	{ 1, 0xfa, 0, "fsqrt" },
	{ 1, 0xfb, 0, "fsincos" },
	{ 1, 0xfc, 0, "frndint" },
	{ 1, 0xfd, 0, "fscale" },
	{ 1, 0xfe, 0, "fsin" },
	{ 1, 0xff, 0, "fcos" },
	{ 2, 0xc0, 1, "fcmovb st,st(i)" },
	{ 2, 0xc8, 1, "fcmove st,st(i)" },
	{ 2, 0xd0, 1, "fcmovbe st,st(i)" },
	{ 2, 0xd8, 1, "fcmovu st,st(i)" },
	{ 2, 0xe9, 0, "fucompp" },
	{ 3, 0xc0, 1, "fcmovnb st,st(i)" },
	{ 3, 0xc8, 1, "fcmovne st,st(i)" },
	{ 3, 0xd0, 1, "fcmovnbe st,st(i)" },
	{ 3, 0xd8, 1, "fcmovnu st,st(i)" },
	{ 3, 0xe0, 0, "fneni (nop)" },
	{ 3, 0xe1, 0, "fndisi (nop)" },
	{ 3, 0xe2, 0, "fnclex" },
	{ 3, 0xe3, 0, "fninit" },
	{ 3, 0xe4, 0, "fnsetpm (nop)" },
	{ 3, 0xe8, 1, "fucomi st,st(i)" },
	{ 3, 0xf0, 1, "fcomi st,st(i)" },
	{ 4, 0xc0, 1, "fadd st(i),st" },
	{ 4, 0xc8, 1, "fmul st(i),st" },
	{ 4, 0xd0, 1, "fcom2 st(i) (alias)" },
	{ 4, 0xd8, 1, "fcomp3 st(i) (alias)" },
	{ 4, 0xe0, 1, "fsubr st(i),st" },
	{ 4, 0xe8, 1, "fsub st(i),st" },
	{ 4, 0xf0, 1, "fdivr st(i),st" },
	{ 4, 0xf8, 1, "fdiv st(i),st" },
	{ 5, 0xc0, 1, "ffree st(i)" },
	{ 5, 0xc8, 1, "fxch4 st(i) (alias)" },
	{ 5, 0xd0, 1, "fst st(i)" },
	{ 5, 0xd8, 1, "fstp st(i)" },
	{ 5, 0xe0, 1, "fucom st(i)" },
	{ 5, 0xe8, 1, "fucomp st(i)" },
	{ 6, 0xc0, 1, "faddp st(i),st" },
	{ 6, 0xc8, 1, "fmulp st(i),st" },
	{ 6, 0xd0, 1, "fcomp5 st(i) (alias)" },
	{ 6, 0xd9, 0, "fcompp" },
	{ 6, 0xe0, 1, "fsubrp st(i),st" },
	{ 6, 0xe8, 1, "fsubp st(i),st" },
	{ 6, 0xf0, 1, "fdivrp st(i),st" },
	{ 6, 0xf8, 1, "fdivp st(i),st" },
	{ 7, 0xc0, 1, "ffreep st(i)" },
	{ 7, 0xc8, 1, "fxch7 st(i) (alias)" },
	{ 7, 0xd0, 1, "fstp8 st(i) (alias)" },
	{ 7, 0xd8, 1, "fstp9 st(i) (alias)" },
	{ 7, 0xe0, 0, "fnstsw ax" },
	{ 7, 0xe8, 1, "fucomip st,st(i)" },
	{ 7, 0xf0, 1, "fcomip st,st(i)" },
};

#define MAX_XFORMS 160
static struct xform xforms[MAX_XFORMS];
static unsigned nxforms;

static void
x_build_forms(void)
{
	for (size_t k = 0; k < sizeof(x_reg_forms) / sizeof(x_reg_forms[0]); k++) {
		struct xform *f = &xforms[nxforms++];
		memset(f, 0, sizeof(*f));
		snprintf(f->name, sizeof(f->name), "x87 %s", x_reg_forms[k].name);
		f->esc = x_reg_forms[k].esc;
		f->modrm = x_reg_forms[k].modrm;
		f->any_i = x_reg_forms[k].any_i;
	}
	for (unsigned esc = 0; esc < 8; esc++) {
		for (unsigned reg = 0; reg < 8; reg++) {
			if (!x_mem_names[esc][reg])
				continue;
			bool env = (esc == 1 && (reg == 4 || reg == 6)) ||
				   (esc == 5 && (reg == 4 || reg == 6));
			for (unsigned p = 0; p < (env ? 2u : 1u); p++) {
				struct xform *f = &xforms[nxforms++];
				memset(f, 0, sizeof(*f));
				snprintf(f->name, sizeof(f->name), "x87 %s%s",
					 x_mem_names[esc][reg],
					 env ? (p ? " (16-bit)" : " (32-bit)") : "");
				f->esc = (uint8_t)esc;
				f->modrm = (uint8_t)(reg << 3);
				f->mem = x_mem_ops[esc][reg];
				f->p66 = p;
				f->env_skip = env && reg == 6 ? 1 : 0;
			}
		}
	}
	struct xform *f = &xforms[nxforms++];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "x87 fwait");
	f->wait = true;
}

/* An 80-bit value of a random class. */
static void
x_f80(uint8_t *out)
{
	uint64_t m = rnd();
	unsigned e;
	long double v;
	switch (rnd_below(18)) {
	case 0: m = 0, e = 0; break;
	case 1: m >>= 1 + rnd_below(40), e = 0; break;            /* denormal */
	case 2: m |= 1ull << 63, e = 0; break;                    /* pseudo-denormal */
	case 3: m >>= 1, e = 1 + rnd_below(0x7ffe); break;        /* unnormal */
	case 4: m = 1ull << 63, e = 0x7fff; break;                /* infinity */
	case 5: m |= 3ull << 62, e = 0x7fff; break;               /* QNaN */
	case 6: m = (m >> 2 | 1) | 1ull << 63, e = 0x7fff; break; /* SNaN */
	case 7: m >>= 1 + rnd_below(2) * 62, e = 0x7fff; break;   /* pseudo-NaN/-infinity */
	case 8: m |= 1ull << 63, e = 0x7ffe - rnd_below(3); break;
	case 9: m |= 1ull << 63, e = 1 + rnd_below(3); break;
	case 10: {
		static const unsigned lim[] = { 126,  127,  128,  149, 150, 1022, 1023,
						1024, 1074, 1075, 15,  31,  63,   64 };
		int d = (int)lim[rnd_below(14)] + (int)rnd_below(3) - 1;
		e = chance(50) ? 0x3fffu + (unsigned)d : 0x3fffu - (unsigned)d;
		m |= 1ull << 63;
		if (chance(50))
			m &= ~0ull << rnd_below(64);
		break;
	}
	case 11:
		v = (long double)(int64_t)(edge_value(64) >> rnd_below(64));
		memcpy(out, &v, 10);
		return;
	case 12: m |= 1ull << 63, e = 0x3fff - 70 + rnd_below(140); break;
	case 13:
		m = 3ull << 62, e = 0x7fff, out[9] = 0x80;
		memcpy(out, &m, 8);
		out[8] = 0xff;
		return;
	case 14:
		v = (long double)((int)rnd_below(41) - 20) * 0.785398163397448309616L;
		if (chance(30))
			v *= (long double)(1ull << rnd_below(64));
		memcpy(out, &v, 10);
		return;
	case 15:
		v = (long double)((int)rnd_below(21) - 10) + 0.5L;
		memcpy(out, &v, 10);
		return;
	default: m |= 1ull << 63, e = 0x3fff - 16 + rnd_below(32); break;
	}
	if (chance(50))
		e |= 0x8000;
	memcpy(out, &m, 8);
	out[8] = (uint8_t)e;
	out[9] = (uint8_t)(e >> 8);
}

/* A 32- or 64-bit floating-point memory operand. */
static uint64_t
x_fmem(unsigned bits)
{
	unsigned mb = bits == 32 ? 23 : 52, eb = bits == 32 ? 8 : 11;
	uint64_t emax = (1ull << eb) - 1, m = rnd() & bits_mask(mb), e;
	switch (rnd_below(10)) {
	case 0: m = 0, e = 0; break;
	case 1: e = 0; break;
	case 2: m = 0, e = emax; break;
	case 3: e = emax; break; /* NaN (or infinity when m = 0) */
	case 4: e = 1 + rnd_below(3); break;
	case 5: e = emax - 1 - rnd_below(3); break;
	case 6: {
		long double v = (long double)(int)(edge_value(16) & 0xffff);
		if (bits == 32) {
			float f = (float)v;
			uint32_t u;
			memcpy(&u, &f, 4);
			return u;
		}
		double d = (double)v;
		uint64_t u;
		memcpy(&u, &d, 8);
		return u;
	}
	default: e = (emax >> 1) - 20 + rnd_below(40); break;
	}
	return (chance(50) ? 1ull << (bits - 1) : 0) | e << mb | m;
}

static void
x_gen_image(uint8_t *img, bool pending_ok)
{
	memset(img, 0, 108);
	uint16_t fcw = (uint16_t)((rnd() & 0x1f00) | 0x40);
	fcw = (uint16_t)((fcw & ~0x0300) |
			 (chance(5)                     ? 0x0100
			  : (rnd_below(3) + 1) % 3 == 0 ? 0
							: 0x0200 | (chance(60) ? 0x0100 : 0)));
	fcw |= chance(50) ? 0x3f : (uint16_t)(rnd() & 0x3f);
	unsigned top = rnd_below(8);
	uint16_t flags = chance(70) ? 0 : (uint16_t)(rnd() & 0x7f);
	if (!pending_ok || !chance(5))
		flags &= (uint16_t)(fcw & 0x3f) | 0x40; /* no unmasked flag: nothing pending */
	if (!(fcw & ~flags & 0x3f) && (flags & 0x40) && !(flags & 1))
		flags &= (uint16_t)~0x40;
	uint16_t fsw = (uint16_t)((rnd() & 0x4700) | top << 11 | flags);
	if (flags & ~fcw & 0x3f)
		fsw |= 0x8080;
	uint16_t ftw = 0;
	unsigned empty_pct = chance(20) ? 60 : 12;
	for (unsigned p = 0; p < 8; p++)
		if (chance(empty_pct))
			ftw |= (uint16_t)(3u << (2 * p));
	memcpy(img, &fcw, 2);
	memcpy(img + 4, &fsw, 2);
	memcpy(img + 8, &ftw, 2);
	for (unsigned k = 0; k < 8; k++)
		x_f80(img + 28 + 10 * k);
}

static void
x_gen_state(const struct xform *f, struct xstate *st)
{
	memset(st, 0, sizeof(*st));
	x_gen_image(st->img, true);
	st->rax = rnd();
	st->flags = (rnd() & (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)) | 0x202;
	for (unsigned k = 0; k < WIN_LEN; k++)
		st->mem[k] = (uint8_t)rnd();
	st->mem_off = rnd_below(WIN_LEN - 112) & ~(chance(70) ? 7u : 0u);
	uint8_t *op = st->mem + st->mem_off;
	uint64_t v;
	switch (f->mem) {
	case XO_F32: v = x_fmem(32), memcpy(op, &v, 4); break;
	case XO_F64: v = x_fmem(64), memcpy(op, &v, 8); break;
	case XO_F80: x_f80(op); break;
	case XO_I16: v = edge_value(16), memcpy(op, &v, 2); break;
	case XO_I32: v = edge_value(32), memcpy(op, &v, 4); break;
	case XO_I64: v = edge_value(64), memcpy(op, &v, 8); break;
	case XO_BCD:
		for (unsigned k = 0; k < 9; k++)
			op[k] = chance(95) ? (uint8_t)(rnd_below(10) << 4 | rnd_below(10))
					   : (uint8_t)rnd();
		op[9] = chance(80) ? (uint8_t)(rnd() & 0x80) : (uint8_t)rnd();
		break;
	case XO_CW:
		v = chance(50) ? (rnd() & 0xffff) : (rnd() & 0x0f00) | 0x3f, memcpy(op, &v, 2);
		break;
	case XO_ENV:
	case XO_SAVE: {
		uint8_t img[108];
		x_gen_image(img, false);
		if (f->p66) { /* the 16-bit protected-mode layout */
			for (unsigned k = 0; k < 7; k++)
				memcpy(op + 2 * k, img + 4 * k, 2);
			memcpy(op + 14, img + 28, 80);
		} else {
			for (unsigned k = 0; k < 7; k++)
				if (chance(80))
					memcpy(op + 4 * k, img + 4 * k, 2);
			memcpy(op + 28, img + 28, 80);
		}
		break;
	}
	default: break;
	}
	uint8_t *p = st->bytes;
	if (f->wait) {
		*p++ = 0x9b;
	} else {
		if (f->p66)
			*p++ = 0x66;
		*p++ = (uint8_t)(0xd8 + f->esc);
		if (f->mem) {
			*p++ = (uint8_t)(f->modrm | 4);
			*p++ = 0x25;
			uint32_t a = DATA_LIN + WIN_OFF + st->mem_off;
			put_le(&p, a, 4);
		} else {
			*p++ = (uint8_t)(f->modrm + (f->any_i ? rnd_below(8) : 0));
		}
	}
	st->len = (uint8_t)(p - st->bytes);
}

static void
x_host_stubs(void)
{
	uint8_t *base = (uint8_t *)(uintptr_t)CODE_LIN, *p = base + X_PRO;
	emit_bytes(&p, "\xff\x34\x25", 3); /* push qword [abs]; popfq */
	put_le(&p, STATE_LIN + ST_IFLAGS, 4);
	*p++ = 0x9d;
	emit_bytes(&p, "\xdd\x24\x25", 3); /* frstor [abs] */
	put_le(&p, STATE_LIN + X_IMG, 4);
	emit_abs_mov(&p, false, R_AX, STATE_LIN + X_RAXI);
	*p++ = 0xe9; /* jmp rel32, patched */
	p += 4;
	p = base + X_EPI;
	emit_abs_mov(&p, true, R_AX, STATE_LIN + X_RAXO);
	*p++ = 0x9c;
	emit_bytes(&p, "\x8f\x04\x25", 3); /* pop qword [abs] */
	put_le(&p, STATE_LIN + X_FLO, 4);
	emit_bytes(&p, "\xdd\x34\x25", 3); /* fnsave [abs] */
	put_le(&p, STATE_LIN + X_OUT, 4);
	*p++ = 0xfc;
	*p++ = 0xc3;
}

static void
x_host_run(const struct xstate *st, struct xresult *out)
{
	uint8_t *code = (uint8_t *)(uintptr_t)CODE_LIN;
	uint8_t *page = (uint8_t *)(uintptr_t)DATA_LIN;
	uint32_t at = X_EPI - st->len;
	memcpy(code + at, st->bytes, st->len);
	uint8_t *jp = code + X_PRO + 24;
	put_le(&jp, at - (X_PRO + 28), 4);
	memcpy(st_block() + X_IMG, st->img, 108);
	memcpy(st_block() + ST_IFLAGS, &st->flags, 8);
	memcpy(st_block() + X_RAXI, &st->rax, 8);
	memcpy(page + WIN_OFF, st->mem, WIN_LEN);
	host_sig = 0;
	if (!sigsetjmp(host_jmp, 1)) {
		void (*fn)(void) = (void (*)(void))(uintptr_t)(CODE_LIN + X_PRO);
		fn();
	}
	__asm__ volatile("fninit");
	out->sig = host_sig;
	memcpy(out->img, st_block() + X_OUT, 108);
	memcpy(&out->rax, st_block() + X_RAXO, 8);
	memcpy(&out->flags, st_block() + X_FLO, 8);
	memcpy(out->mem, page + WIN_OFF, WIN_LEN);
}

static _Noreturn void
x_host_child(const struct xstate *states, unsigned n, struct xresult *res)
{
	static uint8_t altstack[1 << 16];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack), .ss_flags = 0 };
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = host_on_signal;
	sa.sa_flags = SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaltstack(&ss, NULL) != 0)
		_exit(3);
	static const int sigs[] = { SIGFPE, SIGSEGV, SIGBUS, SIGILL, SIGTRAP };
	for (size_t k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
		sigaction(sigs[k], &sa, NULL);
	alarm(60);
	x_host_stubs();
	for (unsigned k = 0; k < n; k++)
		x_host_run(&states[k], &res[k]);
	_exit(0);
}

static uint8_t
x_abridge(uint16_t ftw)
{
	uint8_t ab = 0;
	for (unsigned p = 0; p < 8; p++)
		if (((ftw >> (2 * p)) & 3) != 3)
			ab |= (uint8_t)(1u << p);
	return ab;
}

struct x_fugu {
	uint16_t fcw, fsw;
	uint8_t tags;
	uint8_t st[8][10];
	uint64_t rax, flags;
	int vector;
	uint8_t mem[WIN_LEN];
};

static void
x_fugu_run(struct machine *m, const struct xstate *st, struct x_fugu *out)
{
	struct cpu *cpu = m->cpu;
	uint64_t at = EPI_LIN - st->len;
	physmem_write(m->mem, PHYS_OF(at), st->bytes, st->len);
	physmem_write(m->mem, PHYS_OF(DATA_LIN) + WIN_OFF, st->mem, WIN_LEN);
	uint8_t *x = cpu->state.xsave;
	memset(x, 0, XSAVE_LEGACY_SIZE);
	memcpy(x, st->img, 2);         /* FCW */
	memcpy(x + 2, st->img + 4, 2); /* FSW */
	uint16_t ftw;
	memcpy(&ftw, st->img + 8, 2);
	x[4] = x_abridge(ftw);
	for (unsigned k = 0; k < 8; k++)
		memcpy(x + 32 + 16 * k, st->img + 28 + 10 * k, 10);
	cpu->state.gpr[R_AX] = st->rax;
	cpu->state.rip = at;
	cpu_set_rflags(cpu, (st->flags & FLAGS_CMP) | F_FIXED1);
	uint64_t faults = cpu->faults;
	enum cpu_exit ex = cpu_exec(cpu, 1);
	out->vector = -1;
	if (cpu->faults != faults) {
		uint64_t v = cpu->state.rip - HANDLER_LIN - 1;
		out->vector = cpu->state.halted && v < 32 ? (int)v : 99;
	} else if (ex != CPU_EXIT_BUDGET || cpu->state.rip != EPI_LIN) {
		out->vector = 98;
	}
	memcpy(&out->fcw, x, 2);
	memcpy(&out->fsw, x + 2, 2);
	out->tags = x[4];
	for (unsigned k = 0; k < 8; k++)
		memcpy(out->st[k], x + 32 + 16 * k, 10);
	out->rax = cpu->state.gpr[R_AX];
	out->flags = cpu_get_rflags(cpu);
	physmem_read(m->mem, PHYS_OF(DATA_LIN) + WIN_OFF, out->mem, WIN_LEN);
	if (out->vector >= 0)
		long_machine_mode(cpu);
}

static bool
x_compare(const struct xform *f, const struct xstate *st, const struct xresult *h,
	  const struct x_fugu *g, char *why, size_t cap)
{
	why[0] = 0;
	if (h->sig) {
		if (h->sig != SIGFPE) {
			note(why, cap, " host signal %d (harness error)", h->sig);
			return false;
		}
		if (g->vector != EXC_MF) {
			note(why, cap, " host #MF, fugu vector %d", g->vector);
			return false;
		}
		return true;
	}
	if (g->vector >= 0) {
		note(why, cap, " fugu raised vector %d", g->vector);
		return false;
	}
	bool ok = true;
	uint16_t hfcw, hfsw, hftw;
	memcpy(&hfcw, h->img, 2);
	memcpy(&hfsw, h->img + 4, 2);
	memcpy(&hftw, h->img + 8, 2);
	if (hfcw != g->fcw)
		note(why, cap, " fcw host %04x fugu %04x", hfcw, g->fcw), ok = false;
	if (hfsw != g->fsw)
		note(why, cap, " fsw host %04x fugu %04x", hfsw, g->fsw), ok = false;
	if (x_abridge(hftw) != g->tags)
		note(why, cap, " tags host %02x fugu %02x", x_abridge(hftw), g->tags), ok = false;
	for (unsigned k = 0; k < 8; k++) {
		if (memcmp(h->img + 28 + 10 * k, g->st[k], 10)) {
			uint64_t hm, gm;
			uint16_t he, ge;
			memcpy(&hm, h->img + 28 + 10 * k, 8);
			memcpy(&he, h->img + 36 + 10 * k, 2);
			memcpy(&gm, g->st[k], 8);
			memcpy(&ge, g->st[k] + 8, 2);
			note(why, cap, " st%u host %04x:%016" PRIx64 " fugu %04x:%016" PRIx64, k,
			     he, hm, ge, gm);
			ok = false;
		}
	}
	if (h->rax != g->rax)
		note(why, cap, " rax host %016" PRIx64 " fugu %016" PRIx64, h->rax, g->rax),
			ok = false;
	if ((h->flags ^ g->flags) & F_ARITH)
		note(why, cap, " flags host %03" PRIx64 " fugu %03" PRIx64, h->flags & F_ARITH,
		     g->flags & F_ARITH),
			ok = false;
	for (unsigned k = 0; k < WIN_LEN; k++) {
		unsigned rel = k - st->mem_off;
		if (f->env_skip && rel >= (f->p66 ? 6u : 12u) && rel < (f->p66 ? 14u : 28u))
			continue;
		if (h->mem[k] != g->mem[k]) {
			note(why, cap, " mem[+%#x] host %02x fugu %02x", k, h->mem[k], g->mem[k]);
			ok = false;
			break;
		}
	}
	return ok;
}

static void
x_describe(const char *name, unsigned idx, const struct xstate *st, const char *why)
{
	printf("# MISMATCH %s, state %u: bytes", name, idx);
	for (unsigned k = 0; k < st->len; k++)
		printf(" %02x", st->bytes[k]);
	printf(":%s\n#   init fcw %02x%02x fsw %02x%02x ftw %02x%02x flags %03" PRIx64 "\n", why,
	       st->img[1], st->img[0], st->img[5], st->img[4], st->img[9], st->img[8],
	       st->flags & F_ARITH);
	for (unsigned k = 0; k < 8; k++) {
		const uint8_t *r = st->img + 28 + 10 * k;
		printf("#   st%u %02x%02x:", k, r[9], r[8]);
		for (int b = 7; b >= 0; b--)
			printf("%02x", r[b]);
		printf("\n");
	}
	printf("#   mem:");
	for (unsigned k = 0; k < 16; k++)
		printf(" %02x", st->mem[st->mem_off + k]);
	printf("\n");
}

/* Run the x87 forms; adds to the totals, returns false on any mismatch. */
static bool
x87_run_all(struct machine *m, unsigned nstates, uint64_t seed, bool verbose, char **filters,
	    int nfilters, uint64_t *total_states, uint64_t *total_bad, unsigned *nforms)
{
	x_build_forms();
	struct xstate *states = calloc(nstates, sizeof(*states));
	struct x_fugu *g = malloc(sizeof(*g));
	size_t res_bytes = nstates * sizeof(struct xresult);
	struct xresult *hres =
		mmap(NULL, res_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!states || !g || hres == MAP_FAILED) {
		tap_line(false, "x87 setup: out of memory");
		return false;
	}
	bool all_ok = true;
	uint64_t xs = 0, xb = 0;
	for (unsigned fi = 0; fi < nxforms; fi++) {
		const struct xform *f = &xforms[fi];
		if (!selected(f->name, filters, nfilters))
			continue;
		(*nforms)++;
		rng_state = seed ^ (0x87ull << 40) ^ (fi * 0x100000001b3ull);
		for (unsigned k = 0; k < nstates; k++)
			x_gen_state(f, &states[k]);
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0)
			x_host_child(states, nstates, hres);
		int status = 0;
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			tap_line(false, "%s: the host child failed (status %#x)", f->name, status);
			all_ok = false;
			continue;
		}
		unsigned bad = 0, mf = 0, details = 0;
		for (unsigned k = 0; k < nstates; k++) {
			char why[1024];
			x_fugu_run(m, &states[k], g);
			if (hres[k].sig == SIGFPE)
				mf++;
			if (x_compare(f, &states[k], &hres[k], g, why, sizeof(why)))
				continue;
			bad++;
			if (verbose || details++ < DETAILS_PER_FORM)
				x_describe(f->name, k, &states[k], why);
		}
		tap_line(bad == 0, "%s: %u states, %u mismatches (%u raised #MF)", f->name, nstates,
			 bad, mf);
		all_ok = all_ok && bad == 0;
		xs += nstates;
		xb += bad;
	}
	printf("# x87: %" PRIu64 " states, %" PRIu64 " mismatches\n", xs, xb);
	*total_states += xs;
	*total_bad += xb;
	munmap(hres, res_bytes);
	free(g);
	free(states);
	return all_ok;
}

/* ---- MMX and SSE forms ----
 *
 * Every MMX, SSE, SSE2, SSE3, SSSE3, SSE4.1, SSE4.2, AES-NI and PCLMULQDQ form
 * (register and memory forms, every mandatory prefix, REX.W variants, random
 * imm8) and LDMXCSR/STMXCSR/FXSAVE64/FXRSTOR64 run from a random state loaded
 * on the host with FXRSTOR64 and stored with FXSAVE64: XMM0-15 filled lane by
 * lane with special values (zeros, denormals, infinities, QNaN/SNaN, integer
 * edges, random bits), MM0-7 with random values and tags and TOP, random
 * MXCSR (every rounding mode, DAZ and FTZ, masks all set or random: unmasked
 * exceptions must raise #XM as the host raises SIGFPE, with the same MXCSR),
 * random GPRs and memory; the memory operand is misaligned in some states
 * (#GP on the aligned forms, SIGSEGV on the host). Compared: FCW, FSW, the
 * tags, ST0-7/MM0-7, MXCSR, XMM0-15, the 16 GPRs, the arithmetic flags and the
 * memory window (stored FXSAVE images without FOP/FIP/FDP and MXCSR_MASK).
 */

#define S_IMGI 0x600u /* state block: FXRSTOR64 image (16-byte aligned) */
#define S_IMGO 0x800u /* FXSAVE64 image after the instruction */
#define S_GPRI 0xa00u /* 16 GPRs in */
#define S_GPRO 0xa80u /* and out */
#define S_FLI 0xb00u
#define S_FLO 0xb08u
#define S_PRO 0xd00u /* code page: prologue; the bytes end at S_EPI */
#define S_EPI 0xf00u

/* Form flags. */
#define SF_IMM 0x01  /* imm8 */
#define SF_MEMO 0x02 /* memory form only */
#define SF_REGO 0x04 /* register form only */
#define SF_GPR 0x08  /* has a general-register operand: never rSP */
#define SF_W 0x10    /* also with REX.W */
#define SF_DI 0x20   /* stores through DS:rDI (MASKMOV*) */
#define SF_EXT 0x40  /* ModRM.reg is an opcode extension (ext) */

struct sform {
	char name[48];
	uint8_t pfx, map, op, flags, ext;
	bool w, mem;
	uint8_t feat; /* enum cpu_feature: skipped when the host lacks it */
};

struct sstate {
	_Alignas(16) uint8_t img[512];
	uint64_t gpr[16], flags;
	uint8_t mem[WIN_LEN];
	uint8_t bytes[16];
	uint8_t len;
};

struct sresult {
	_Alignas(16) uint8_t img[512];
	uint64_t gpr[16], flags;
	int sig;
	uint32_t sig_mxcsr;
	uint8_t mem[WIN_LEN];
};

/* "pfx:op flags" rows per map: pfx n (none), 6 (66), 3 (F3), 2 (F2). */
struct srow {
	uint8_t map, op;
	const char *pfxs; /* which mandatory prefixes exist */
	uint8_t flags;
	uint8_t ext;
	uint8_t feat[4]; /* feature per prefix position n/6/3/2 */
};

#define N FEAT_MMX
#define S1 FEAT_SSE
#define S2 FEAT_SSE2
#define S3 FEAT_SSE3
#define SS3 FEAT_SSSE3
#define S41 FEAT_SSE41
#define S42 FEAT_SSE42
/* clang-format off */
static const struct srow srows[] = {
	{ 1, 0x10, "n632", 0, 0, { S1, S2, S1, S2 } }, { 1, 0x11, "n632", 0, 0, { S1, S2, S1, S2 } },
	{ 1, 0x12, "n32", 0, 0, { S1, 0, S3, S3 } }, { 1, 0x12, "6", SF_MEMO, 0, { 0, S2 } },
	{ 1, 0x13, "n6", SF_MEMO, 0, { S1, S2 } },
	{ 1, 0x14, "n6", 0, 0, { S1, S2 } }, { 1, 0x15, "n6", 0, 0, { S1, S2 } },
	{ 1, 0x16, "n3", 0, 0, { S1, 0, S3 } }, { 1, 0x16, "6", SF_MEMO, 0, { 0, S2 } },
	{ 1, 0x17, "n6", SF_MEMO, 0, { S1, S2 } },
	{ 1, 0x28, "n6", 0, 0, { S1, S2 } }, { 1, 0x29, "n6", 0, 0, { S1, S2 } },
	{ 1, 0x2a, "n6", 0, 0, { S1, S2 } }, { 1, 0x2a, "32", SF_GPR | SF_W, 0, { 0, 0, S1, S2 } },
	{ 1, 0x2b, "n6", SF_MEMO, 0, { S1, S2 } },
	{ 1, 0x2c, "n6", 0, 0, { S1, S2 } }, { 1, 0x2c, "32", SF_GPR | SF_W, 0, { 0, 0, S1, S2 } },
	{ 1, 0x2d, "n6", 0, 0, { S1, S2 } }, { 1, 0x2d, "32", SF_GPR | SF_W, 0, { 0, 0, S1, S2 } },
	{ 1, 0x2e, "n6", 0, 0, { S1, S2 } }, { 1, 0x2f, "n6", 0, 0, { S1, S2 } },
	{ 1, 0x50, "n6", SF_REGO | SF_GPR, 0, { S1, S2 } },
	{ 1, 0x51, "n632", 0, 0, { S1, S2, S1, S2 } },
	{ 1, 0x52, "n3", 0, 0, { S1, 0, S1 } }, { 1, 0x53, "n3", 0, 0, { S1, 0, S1 } },
	{ 1, 0x54, "n6", 0, 0, { S1, S2 } }, { 1, 0x55, "n6", 0, 0, { S1, S2 } },
	{ 1, 0x56, "n6", 0, 0, { S1, S2 } }, { 1, 0x57, "n6", 0, 0, { S1, S2 } },
	{ 1, 0x58, "n632", 0, 0, { S1, S2, S1, S2 } }, { 1, 0x59, "n632", 0, 0, { S1, S2, S1, S2 } },
	{ 1, 0x5a, "n632", 0, 0, { S2, S2, S2, S2 } }, { 1, 0x5b, "n63", 0, 0, { S2, S2, S2 } },
	{ 1, 0x5c, "n632", 0, 0, { S1, S2, S1, S2 } }, { 1, 0x5d, "n632", 0, 0, { S1, S2, S1, S2 } },
	{ 1, 0x5e, "n632", 0, 0, { S1, S2, S1, S2 } }, { 1, 0x5f, "n632", 0, 0, { S1, S2, S1, S2 } },
	{ 1, 0x60, "n6", 0, 0, { N, S2 } }, { 1, 0x61, "n6", 0, 0, { N, S2 } },
	{ 1, 0x62, "n6", 0, 0, { N, S2 } }, { 1, 0x63, "n6", 0, 0, { N, S2 } },
	{ 1, 0x64, "n6", 0, 0, { N, S2 } }, { 1, 0x65, "n6", 0, 0, { N, S2 } },
	{ 1, 0x66, "n6", 0, 0, { N, S2 } }, { 1, 0x67, "n6", 0, 0, { N, S2 } },
	{ 1, 0x68, "n6", 0, 0, { N, S2 } }, { 1, 0x69, "n6", 0, 0, { N, S2 } },
	{ 1, 0x6a, "n6", 0, 0, { N, S2 } }, { 1, 0x6b, "n6", 0, 0, { N, S2 } },
	{ 1, 0x6c, "6", 0, 0, { 0, S2 } }, { 1, 0x6d, "6", 0, 0, { 0, S2 } },
	{ 1, 0x6e, "n6", SF_GPR | SF_W, 0, { N, S2 } },
	{ 1, 0x6f, "n63", 0, 0, { N, S2, S2 } },
	{ 1, 0x70, "n632", SF_IMM, 0, { S1, S2, S2, S2 } },
	{ 1, 0x71, "n6", SF_IMM | SF_REGO | SF_EXT, 2, { N, S2 } },
	{ 1, 0x71, "n6", SF_IMM | SF_REGO | SF_EXT, 4, { N, S2 } },
	{ 1, 0x71, "n6", SF_IMM | SF_REGO | SF_EXT, 6, { N, S2 } },
	{ 1, 0x72, "n6", SF_IMM | SF_REGO | SF_EXT, 2, { N, S2 } },
	{ 1, 0x72, "n6", SF_IMM | SF_REGO | SF_EXT, 4, { N, S2 } },
	{ 1, 0x72, "n6", SF_IMM | SF_REGO | SF_EXT, 6, { N, S2 } },
	{ 1, 0x73, "n6", SF_IMM | SF_REGO | SF_EXT, 2, { N, S2 } },
	{ 1, 0x73, "6", SF_IMM | SF_REGO | SF_EXT, 3, { 0, S2 } },
	{ 1, 0x73, "n6", SF_IMM | SF_REGO | SF_EXT, 6, { N, S2 } },
	{ 1, 0x73, "6", SF_IMM | SF_REGO | SF_EXT, 7, { 0, S2 } },
	{ 1, 0x74, "n6", 0, 0, { N, S2 } }, { 1, 0x75, "n6", 0, 0, { N, S2 } },
	{ 1, 0x76, "n6", 0, 0, { N, S2 } },
	{ 1, 0x7c, "62", 0, 0, { 0, S3, 0, S3 } }, { 1, 0x7d, "62", 0, 0, { 0, S3, 0, S3 } },
	{ 1, 0x7e, "n6", SF_GPR | SF_W, 0, { N, S2 } }, { 1, 0x7e, "3", 0, 0, { 0, 0, S2 } },
	{ 1, 0x7f, "n63", 0, 0, { N, S2, S2 } },
	{ 1, 0xc2, "n632", SF_IMM, 0, { S1, S2, S1, S2 } },
	{ 1, 0xc3, "n", SF_MEMO | SF_GPR | SF_W, 0, { S2 } },
	{ 1, 0xc4, "n6", SF_IMM | SF_GPR, 0, { S1, S2 } },
	{ 1, 0xc5, "n6", SF_IMM | SF_GPR | SF_REGO, 0, { S1, S2 } },
	{ 1, 0xc6, "n6", SF_IMM, 0, { S1, S2 } },
	{ 1, 0xd0, "62", 0, 0, { 0, S3, 0, S3 } },
	{ 1, 0xd6, "6", 0, 0, { 0, S2 } }, { 1, 0xd6, "32", SF_REGO, 0, { 0, 0, S2, S2 } },
	{ 1, 0xd7, "n6", SF_REGO | SF_GPR, 0, { S1, S2 } },
	{ 1, 0xe6, "632", 0, 0, { 0, S2, S2, S2 } },
	{ 1, 0xe7, "n6", SF_MEMO, 0, { S1, S2 } },
	{ 1, 0xf0, "2", SF_MEMO, 0, { 0, 0, 0, S3 } },
	{ 1, 0xf7, "n6", SF_REGO | SF_DI, 0, { S1, S2 } },
	{ 2, 0x10, "6", 0, 0, { 0, S41 } }, { 2, 0x14, "6", 0, 0, { 0, S41 } },
	{ 2, 0x15, "6", 0, 0, { 0, S41 } }, { 2, 0x17, "6", 0, 0, { 0, S41 } },
	{ 2, 0x2a, "6", SF_MEMO, 0, { 0, S41 } },
	{ 3, 0x14, "6", SF_IMM | SF_GPR, 0, { 0, S41 } }, { 3, 0x15, "6", SF_IMM | SF_GPR, 0, { 0, S41 } },
	{ 3, 0x16, "6", SF_IMM | SF_GPR | SF_W, 0, { 0, S41 } },
	{ 3, 0x17, "6", SF_IMM | SF_GPR, 0, { 0, S41 } },
	{ 3, 0x20, "6", SF_IMM | SF_GPR, 0, { 0, S41 } }, { 3, 0x21, "6", SF_IMM, 0, { 0, S41 } },
	{ 3, 0x22, "6", SF_IMM | SF_GPR | SF_W, 0, { 0, S41 } },
	{ 3, 0x0f, "n6", SF_IMM, 0, { SS3, SS3 } },
	{ 3, 0x44, "6", SF_IMM, 0, { 0, FEAT_PCLMULQDQ } },
	{ 3, 0xdf, "6", SF_IMM, 0, { 0, FEAT_AES } },
};
/* clang-format on */
#undef N

/* The plain rows: 0F D1-FE (MMX / 66 SSE2), 0F 38 SSSE3, SSE4.1, SSE4.2, AES, 0F 3A SSE4.1/4.2. */
static const uint8_t mmx_ops[] = { 0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc,
				   0xdd, 0xde, 0xdf, 0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe8,
				   0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef, 0xf1, 0xf2, 0xf3,
				   0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe };
static const uint8_t ssse3_ops[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x1c, 0x1d, 0x1e };
static const uint8_t sse41_ops[] = { 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x28, 0x29, 0x2b,
				     0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x38, 0x39, 0x3a,
				     0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41 };
static const uint8_t sse41i_ops[] = { 8, 9, 10, 11, 12, 13, 14, 0x40, 0x41, 0x42 };

#define MAX_SFORMS 1024
static struct sform sforms[MAX_SFORMS];
static unsigned nsforms;

static void
s_add(uint8_t map, uint8_t op, uint8_t pfx, uint8_t flags, uint8_t ext, uint8_t feat,
      const char *tag)
{
	static const char *const mapn[4] = { "", "0f", "0f38", "0f3a" };
	for (int w = 0; w <= ((flags & SF_W) ? 1 : 0); w++) {
		for (int mem = 0; mem <= 1; mem++) {
			if ((mem && (flags & SF_REGO)) || (!mem && (flags & SF_MEMO)))
				continue;
			if (nsforms >= MAX_SFORMS)
				return;
			struct sform *f = &sforms[nsforms++];
			f->pfx = pfx, f->map = map, f->op = op, f->flags = flags, f->ext = ext;
			f->w = w, f->mem = mem, f->feat = feat;
			char e[8] = "";
			if (flags & SF_EXT)
				snprintf(e, sizeof(e), "/%u", ext);
			snprintf(f->name, sizeof(f->name), "%s %s%s%s%02x%s %s%s", tag,
				 pfx ? (pfx == 0x66   ? "66 "
					: pfx == 0xf3 ? "f3 "
						      : "f2 ")
				     : "",
				 w ? "rex.w " : "", mapn[map], op, e, mem ? "mem" : "reg", "");
		}
	}
}

static const char *
feat_tag(uint8_t feat)
{
	switch (feat) {
	case FEAT_MMX: return "mmx";
	case FEAT_SSE: return "sse";
	case FEAT_SSE2: return "sse2";
	case FEAT_SSE3: return "sse3";
	case FEAT_SSSE3: return "ssse3";
	case FEAT_SSE41: return "sse4.1";
	case FEAT_SSE42: return "sse4.2";
	case FEAT_AES: return "aes";
	case FEAT_PCLMULQDQ: return "pclmul";
	default: return "?";
	}
}

static void
s_build_forms(void)
{
	static const uint8_t pfxv[4] = { 0, 0x66, 0xf3, 0xf2 };
	nsforms = 0;
	for (size_t k = 0; k < sizeof(srows) / sizeof(srows[0]); k++) {
		const struct srow *r = &srows[k];
		for (const char *p = r->pfxs; *p; p++) {
			unsigned pos = *p == 'n' ? 0 : *p == '6' ? 1 : *p == '3' ? 2 : 3;
			s_add(r->map, r->op, pfxv[pos], r->flags, r->ext, r->feat[pos],
			      feat_tag(r->feat[pos]));
		}
	}
	for (size_t k = 0; k < sizeof(mmx_ops); k++) {
		s_add(1, mmx_ops[k], 0, 0, 0, FEAT_MMX, "mmx");
		s_add(1, mmx_ops[k], 0x66, 0, 0, FEAT_SSE2, "sse2");
	}
	for (size_t k = 0; k < sizeof(ssse3_ops); k++) {
		s_add(2, ssse3_ops[k], 0, 0, 0, FEAT_SSSE3, "ssse3");
		s_add(2, ssse3_ops[k], 0x66, 0, 0, FEAT_SSSE3, "ssse3");
	}
	for (size_t k = 0; k < sizeof(sse41_ops); k++)
		s_add(2, sse41_ops[k], 0x66, 0, 0, FEAT_SSE41, "sse4.1");
	s_add(2, 0x37, 0x66, 0, 0, FEAT_SSE42, "sse4.2");
	for (unsigned op = 0xdb; op <= 0xdf; op++)
		s_add(2, (uint8_t)op, 0x66, 0, 0, FEAT_AES, "aes");
	for (size_t k = 0; k < sizeof(sse41i_ops); k++)
		s_add(3, sse41i_ops[k], 0x66, SF_IMM, 0, FEAT_SSE41, "sse4.1");
	for (unsigned op = 0x60; op <= 0x63; op++)
		s_add(3, (uint8_t)op, 0x66, SF_IMM, 0, FEAT_SSE42, "sse4.2");
	/* 0F AE: FXSAVE64 /0, FXRSTOR64 /1, LDMXCSR /2, STMXCSR /3; EMMS */
	s_add(1, 0xae, 0, SF_MEMO | SF_EXT | SF_W, 0, FEAT_FXSR, "fxsr");
	s_add(1, 0xae, 0, SF_MEMO | SF_EXT | SF_W, 1, FEAT_FXSR, "fxsr");
	s_add(1, 0xae, 0, SF_MEMO | SF_EXT, 2, FEAT_SSE, "sse");
	s_add(1, 0xae, 0, SF_MEMO | SF_EXT, 3, FEAT_SSE, "sse");
	s_add(1, 0x77, 0, SF_REGO, 0, FEAT_MMX, "mmx");
	sforms[nsforms - 1].flags |= 0x80; /* no ModRM */
}

static bool
s_host_has(uint8_t feat)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return false;
	switch (feat) {
	case FEAT_SSE3: return c & 1;
	case FEAT_PCLMULQDQ: return c >> 1 & 1;
	case FEAT_SSSE3: return c >> 9 & 1;
	case FEAT_SSE41: return c >> 19 & 1;
	case FEAT_SSE42: return c >> 20 & 1;
	case FEAT_AES: return c >> 25 & 1;
	default: return true; /* MMX, SSE, SSE2, FXSR: every x86-64 host */
	}
}

/* One 16-byte register of special values: single or double lanes, integer edges, bits. */
static void
s_vec(uint8_t *v)
{
	uint64_t q[2];
	switch (rnd_below(5)) {
	case 0:
	case 1:
		for (unsigned k = 0; k < 4; k++) {
			uint32_t u = (uint32_t)x_fmem(32);
			memcpy(v + 4 * k, &u, 4);
		}
		return;
	case 2: q[0] = x_fmem(64), q[1] = x_fmem(64); break;
	case 3: q[0] = edge_value(64), q[1] = edge_value(64); break;
	default: q[0] = rnd(), q[1] = rnd(); break;
	}
	memcpy(v, q, 16);
}

static void
s_gen_state(const struct sform *f, struct sstate *st)
{
	memset(st, 0, sizeof(*st));
	uint8_t *img = st->img;
	uint16_t fcw = 0x037f, fsw = (uint16_t)(rnd_below(8) << 11);
	memcpy(img, &fcw, 2);
	memcpy(img + 2, &fsw, 2);
	img[4] = chance(50) ? 0xff : (uint8_t)rnd();
	uint32_t mx = (uint32_t)(rnd() & 0x7fc0);
	mx |= chance(60) ? 0x1f80 : (uint32_t)(rnd() & 0x1f80);
	mx |= chance(60) ? 0 : (uint32_t)(rnd() & 0x3f);
	memcpy(img + 24, &mx, 4);
	for (unsigned k = 0; k < 8; k++) {
		uint64_t m = chance(50) ? edge_value(64) : rnd();
		uint16_t e = chance(50) ? 0xffff : (uint16_t)rnd();
		memcpy(img + 32 + 16 * k, &m, 8);
		memcpy(img + 40 + 16 * k, &e, 2);
	}
	for (unsigned k = 0; k < 16; k++)
		s_vec(img + 160 + 16 * k);
	for (unsigned k = 0; k < 16; k++)
		st->gpr[k] = chance(50) ? edge_value(64) : rnd();
	st->gpr[R_AX] = chance(50) ? rnd_below(40) - 20 : st->gpr[R_AX]; /* PCMPESTRx lengths */
	st->gpr[R_DX] = chance(50) ? rnd_below(40) - 20 : st->gpr[R_DX];
	st->flags = (rnd() & F_ARITH) | 0x202;
	for (unsigned k = 0; k < WIN_LEN; k += 16)
		s_vec(st->mem + k);
	uint32_t off = rnd_below(WIN_LEN - 512) & ~15u;
	if (chance(10))
		off += 1 + rnd_below(15);
	bool is_fx = f->map == 1 && f->op == 0xae;
	if (is_fx && f->ext == 1) { /* FXRSTOR64 from a valid image, sometimes a bad MXCSR */
		uint8_t *p = st->mem + off;
		memcpy(p, img, 512);
		memset(p + 6, 0, 18);
		for (unsigned k = 0; k < 8; k++)
			p[32 + 16 * k] ^= (uint8_t)rnd();
		for (unsigned k = 0; k < 16; k++)
			s_vec(p + 160 + 16 * k);
		uint32_t m2 = (uint32_t)(rnd() & 0xffff);
		if (chance(5))
			m2 |= 1u << 16;
		memcpy(p + 24, &m2, 4);
	}
	if (is_fx && f->ext == 2) { /* LDMXCSR: a valid value, sometimes reserved bits */
		uint32_t m2 = (uint32_t)(rnd() & 0xffff);
		if (chance(5))
			m2 |= 1u << (16 + rnd_below(15) * (rnd_below(2)));
		if (m2 & 0x20000)
			m2 &= ~0x20000u; /* MM (AMD misaligned mode) is not fugu's */
		memcpy(st->mem + off, &m2, 4);
	}
	if (f->flags & SF_DI)
		st->gpr[R_DI] = DATA_LIN + WIN_OFF + off;
	uint8_t *p = st->bytes;
	if (f->pfx)
		*p++ = f->pfx;
	unsigned reg = rnd_below(16), rm = rnd_below(16);
	if (f->flags & SF_GPR) {
		while (reg == R_SP || (f->flags & SF_DI && reg == R_DI))
			reg = rnd_below(16);
		while (rm == R_SP)
			rm = rnd_below(16);
	}
	if (f->flags & SF_EXT)
		reg = f->ext;
	unsigned rex = (f->w ? 8 : 0) | (reg >> 3) << 2 | (f->mem ? 0 : rm >> 3);
	if (rex || chance(20))
		*p++ = (uint8_t)(0x40 | rex);
	*p++ = 0x0f;
	if (f->map == 2)
		*p++ = 0x38;
	if (f->map == 3)
		*p++ = 0x3a;
	*p++ = f->op;
	if (!(f->flags & 0x80)) {
		if (f->mem) {
			*p++ = (uint8_t)((reg & 7) << 3 | 4);
			*p++ = 0x25;
			put_le(&p, DATA_LIN + WIN_OFF + off, 4);
		} else {
			*p++ = (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7));
		}
	}
	if (f->flags & SF_IMM)
		*p++ = (uint8_t)rnd();
	st->len = (uint8_t)(p - st->bytes);
}

static sigjmp_buf s_jmp;
static volatile sig_atomic_t s_sig;
static volatile uint32_t s_sig_mxcsr;

static void
s_on_signal(int sig, siginfo_t *si, void *ucv)
{
	(void)si;
	ucontext_t *uc = ucv;
	s_sig = sig;
	s_sig_mxcsr = uc->uc_mcontext.fpregs ? uc->uc_mcontext.fpregs->mxcsr : 0;
	siglongjmp(s_jmp, 1);
}

static uint32_t s_jmp_at;

static void
s_host_stubs(void)
{
	uint8_t *base = (uint8_t *)(uintptr_t)CODE_LIN, *p = base + S_PRO;
	emit_bytes(&p, "\xff\x34\x25", 3); /* push qword [abs]; popfq */
	put_le(&p, STATE_LIN + S_FLI, 4);
	*p++ = 0x9d;
	emit_bytes(&p, "\x48\x0f\xae\x0c\x25", 5); /* fxrstor64 [abs] */
	put_le(&p, STATE_LIN + S_IMGI, 4);
	for (unsigned r = 0; r < 16; r++)
		if (r != R_SP)
			emit_abs_mov(&p, false, r, STATE_LIN + S_GPRI + 8 * r);
	*p++ = 0xe9; /* jmp rel32, patched */
	s_jmp_at = (uint32_t)(p - base);
	p += 4;
	p = base + S_EPI;
	for (unsigned r = 0; r < 16; r++)
		if (r != R_SP)
			emit_abs_mov(&p, true, r, STATE_LIN + S_GPRO + 8 * r);
	*p++ = 0x9c;
	emit_bytes(&p, "\x8f\x04\x25", 3); /* pop qword [abs] */
	put_le(&p, STATE_LIN + S_FLO, 4);
	emit_bytes(&p, "\x48\x0f\xae\x04\x25", 5); /* fxsave64 [abs] */
	put_le(&p, STATE_LIN + S_IMGO, 4);
	*p++ = 0xfc;
	*p++ = 0xc3;
}

static void
s_host_run(const struct sstate *st, struct sresult *out)
{
	uint8_t *code = (uint8_t *)(uintptr_t)CODE_LIN;
	uint8_t *page = (uint8_t *)(uintptr_t)DATA_LIN;
	uint32_t at = S_EPI - st->len;
	memcpy(code + at, st->bytes, st->len);
	uint8_t *jp = code + s_jmp_at;
	put_le(&jp, at - (s_jmp_at + 4), 4);
	memcpy(st_block() + S_IMGI, st->img, 512);
	memset(st_block() + S_IMGO, 0, 512);
	memcpy(st_block() + S_FLI, &st->flags, 8);
	memcpy(st_block() + S_GPRI, st->gpr, 128);
	memcpy(st_block() + S_GPRO, st->gpr, 128);
	memcpy(page + WIN_OFF, st->mem, WIN_LEN);
	s_sig = 0;
	if (!sigsetjmp(s_jmp, 1)) {
		/* rbx, rbp, r12-r15 are loaded from the state: save them around the call */
		__asm__ volatile("push %%rbx; push %%rbp; push %%r12; push %%r13; push %%r14; "
				 "push %%r15; call *%0; pop %%r15; pop %%r14; pop %%r13; "
				 "pop %%r12; pop %%rbp; pop %%rbx"
				 :
				 : "r"((uintptr_t)(CODE_LIN + S_PRO))
				 : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
				   "memory", "cc");
	}
	uint32_t dflt = 0x1f80;
	__asm__ volatile("emms; fninit; ldmxcsr %0" : : "m"(dflt));
	out->sig = s_sig;
	out->sig_mxcsr = s_sig_mxcsr;
	memcpy(out->img, st_block() + S_IMGO, 512);
	memcpy(out->gpr, st_block() + S_GPRO, 128);
	memcpy(&out->flags, st_block() + S_FLO, 8);
	memcpy(out->mem, page + WIN_OFF, WIN_LEN);
}

/* The SIMD host children's signal handlers (on an alternate stack) and alarm. */
static void
s_host_signals(void)
{
	static uint8_t altstack[1 << 16];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack), .ss_flags = 0 };
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = s_on_signal;
	sa.sa_flags = SA_ONSTACK | SA_NODEFER | SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaltstack(&ss, NULL) != 0)
		_exit(3);
	static const int sigs[] = { SIGFPE, SIGSEGV, SIGBUS, SIGILL, SIGTRAP };
	for (size_t k = 0; k < sizeof(sigs) / sizeof(sigs[0]); k++)
		sigaction(sigs[k], &sa, NULL);
	alarm(60);
}

static _Noreturn void
s_host_child(const struct sstate *states, unsigned n, struct sresult *res)
{
	s_host_signals();
	s_host_stubs();
	for (unsigned k = 0; k < n; k++)
		s_host_run(&states[k], &res[k]);
	_exit(0);
}

struct s_fugu {
	uint8_t img[512];
	uint64_t gpr[16], flags;
	int vector;
	uint8_t mem[WIN_LEN];
};

static void
s_fugu_run(struct machine *m, const struct sstate *st, struct s_fugu *out)
{
	struct cpu *cpu = m->cpu;
	uint64_t at = EPI_LIN - st->len;
	physmem_write(m->mem, PHYS_OF(at), st->bytes, st->len);
	physmem_write(m->mem, PHYS_OF(DATA_LIN) + WIN_OFF, st->mem, WIN_LEN);
	cpu->state.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
	memcpy(cpu->state.xsave, st->img, 512);
	memcpy(cpu->state.gpr, st->gpr, 128);
	cpu->state.gpr[R_SP] = st->gpr[R_SP];
	cpu->state.rip = at;
	cpu_set_rflags(cpu, (st->flags & FLAGS_CMP) | F_FIXED1);
	uint64_t faults = cpu->faults;
	enum cpu_exit ex = cpu_exec(cpu, 1);
	out->vector = -1;
	if (cpu->faults != faults) {
		uint64_t v = cpu->state.rip - HANDLER_LIN - 1;
		out->vector = cpu->state.halted && v < 32 ? (int)v : 99;
	} else if (ex != CPU_EXIT_BUDGET || cpu->state.rip != EPI_LIN) {
		out->vector = 98;
	}
	memcpy(out->img, cpu->state.xsave, 512);
	memcpy(out->gpr, cpu->state.gpr, 128);
	out->flags = cpu_get_rflags(cpu);
	physmem_read(m->mem, PHYS_OF(DATA_LIN) + WIN_OFF, out->mem, WIN_LEN);
	if (out->vector >= 0)
		long_machine_mode(cpu);
}

static bool
s_compare(const struct sform *f, const struct sstate *st, const struct sresult *h,
	  const struct s_fugu *g, char *why, size_t cap)
{
	why[0] = 0;
	uint32_t gmx;
	memcpy(&gmx, g->img + 24, 4);
	if (h->sig) {
		int want = h->sig == SIGFPE    ? EXC_XM
			   : h->sig == SIGSEGV ? EXC_GP
			   : h->sig == SIGBUS  ? EXC_GP
			   : h->sig == SIGILL  ? EXC_UD
					       : 100;
		if (g->vector != want) {
			note(why, cap, " host signal %d, fugu vector %d", h->sig, g->vector);
			return false;
		}
		if (h->sig == SIGFPE && (h->sig_mxcsr & 0xffff) != gmx) {
			note(why, cap, " #XM mxcsr host %04x fugu %04x", h->sig_mxcsr, gmx);
			return false;
		}
		return true;
	}
	if (g->vector >= 0) {
		note(why, cap, " fugu raised vector %d", g->vector);
		return false;
	}
	bool ok = true;
	static const struct {
		unsigned off, len;
		const char *what;
	} parts[] = { { 0, 2, "fcw" }, { 2, 2, "fsw" }, { 4, 1, "ftw" }, { 24, 4, "mxcsr" } };
	for (size_t k = 0; k < 4; k++)
		if (memcmp(h->img + parts[k].off, g->img + parts[k].off, parts[k].len))
			note(why, cap, " %s differs", parts[k].what), ok = false;
	for (unsigned k = 0; k < 8; k++)
		if (memcmp(h->img + 32 + 16 * k, g->img + 32 + 16 * k, 10))
			note(why, cap, " st%u/mm differs", k), ok = false;
	for (unsigned k = 0; k < 16; k++)
		if (memcmp(h->img + 160 + 16 * k, g->img + 160 + 16 * k, 16)) {
			uint64_t a[2], b[2];
			memcpy(a, h->img + 160 + 16 * k, 16);
			memcpy(b, g->img + 160 + 16 * k, 16);
			note(why, cap,
			     " xmm%u host %016" PRIx64 "%016" PRIx64 " fugu %016" PRIx64
			     "%016" PRIx64,
			     k, a[1], a[0], b[1], b[0]);
			ok = false;
		}
	for (unsigned k = 0; k < 16; k++)
		if (k != R_SP && h->gpr[k] != g->gpr[k])
			note(why, cap, " %s host %016" PRIx64 " fugu %016" PRIx64, reg_names[k],
			     h->gpr[k], g->gpr[k]),
				ok = false;
	if ((h->flags ^ g->flags) & F_ARITH)
		note(why, cap, " flags host %03" PRIx64 " fugu %03" PRIx64, h->flags & F_ARITH,
		     g->flags & F_ARITH),
			ok = false;
	bool fxsave = f->map == 1 && f->op == 0xae && f->ext == 0;
	uint32_t moff = 0;
	if (fxsave)
		memcpy(&moff, st->bytes + st->len - 4, 4), moff -= DATA_LIN + WIN_OFF;
	for (unsigned k = 0; k < WIN_LEN; k++) {
		unsigned rel = k - moff;
		if (fxsave && ((rel >= 6 && rel < 24) || (rel >= 28 && rel < 32)))
			continue; /* FOP/FIP/FDP (AMD stores them only with ES set), MXCSR_MASK */
		if (h->mem[k] != g->mem[k]) {
			note(why, cap, " mem[+%#x] host %02x fugu %02x", k, h->mem[k], g->mem[k]);
			ok = false;
			break;
		}
	}
	return ok;
}

static void
s_describe(const char *name, unsigned idx, const struct sstate *st, const char *why)
{
	uint32_t mx;
	memcpy(&mx, st->img + 24, 4);
	printf("# MISMATCH %s, state %u: bytes", name, idx);
	for (unsigned k = 0; k < st->len; k++)
		printf(" %02x", st->bytes[k]);
	printf(":%s\n#   init mxcsr %04x\n", why, mx);
}

/* Run the MMX/SSE forms; adds to the totals, returns false on any mismatch. */
static bool
sse_run_all(struct machine *m, unsigned nstates, uint64_t seed, bool verbose, char **filters,
	    int nfilters, uint64_t *total_states, uint64_t *total_bad, unsigned *nforms)
{
	s_build_forms();
	struct sstate *states = aligned_alloc(16, nstates * sizeof(*states));
	struct s_fugu *g = malloc(sizeof(*g));
	size_t res_bytes = nstates * sizeof(struct sresult);
	struct sresult *hres =
		mmap(NULL, res_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!states || !g || hres == MAP_FAILED) {
		tap_line(false, "sse setup: out of memory");
		return false;
	}
	bool all_ok = true;
	uint64_t ss = 0, sb = 0;
	for (unsigned fi = 0; fi < nsforms; fi++) {
		const struct sform *f = &sforms[fi];
		if (!selected(f->name, filters, nfilters))
			continue;
		if (!s_host_has(f->feat)) {
			printf("ok %u - %s # SKIP the host CPU lacks it\n", ++tap_number, f->name);
			continue;
		}
		(*nforms)++;
		rng_state = seed ^ (0x55ull << 40) ^ (fi * 0x100000001b3ull);
		for (unsigned k = 0; k < nstates; k++)
			s_gen_state(f, &states[k]);
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0)
			s_host_child(states, nstates, hres);
		int status = 0;
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			tap_line(false, "%s: the host child failed (status %#x)", f->name, status);
			all_ok = false;
			continue;
		}
		unsigned bad = 0, xm = 0, gp = 0, details = 0;
		for (unsigned k = 0; k < nstates; k++) {
			char why[1024];
			s_fugu_run(m, &states[k], g);
			xm += hres[k].sig == SIGFPE;
			gp += hres[k].sig == SIGSEGV;
			if (s_compare(f, &states[k], &hres[k], g, why, sizeof(why)))
				continue;
			bad++;
			if (verbose || details++ < DETAILS_PER_FORM)
				s_describe(f->name, k, &states[k], why);
		}
		tap_line(bad == 0, "%s: %u states, %u mismatches (%u #XM, %u #GP)", f->name,
			 nstates, bad, xm, gp);
		all_ok = all_ok && bad == 0;
		ss += nstates;
		sb += bad;
	}
	printf("# mmx/sse: %" PRIu64 " states, %" PRIu64 " mismatches\n", ss, sb);
	*total_states += ss;
	*total_bad += sb;
	munmap(hres, res_bytes);
	free(g);
	free(states);
	return all_ok;
}

/* ---- VEX forms: AVX, AVX2, FMA, F16C, BMI1, BMI2 ----
 *
 * Every row of fugu's VEX table (cpu/vex.c) that the host has, in register and
 * memory forms and every ModRM.reg extension, with random VEX.L (where both
 * lengths exist), VEX.W, registers (VEX.vvvv and imm8[7:4] too), imm8, the
 * two- and three-byte VEX prefixes, run from a random state loaded on the host
 * with XRSTOR64 (x87 | SSE | AVX) and stored with XSAVE64: YMM0-15 lane by
 * lane special values, random MXCSR (rounding, DAZ/FTZ, masked and unmasked),
 * GPRs, flags and memory. In 5 % of the states one decode-time #UD rule is
 * broken on purpose (VEX.L on an L0/L1 form, VEX.W on a W0/W1 form, a
 * VEX.vvvv that must be 1111b, a 66/F3/F2/REX/LOCK prefix before VEX): the
 * host's SIGILL must be fugu's #UD (SDM vol. 2A, 2.3). Compared: XMM0-15, the
 * upper halves of YMM0-15 (VEX.128 forms zero them), MXCSR, the GPRs, the
 * arithmetic flags, the memory window. Gathers are checked separately.
 */

#define V_IMGI 0x1000u /* state block: XRSTOR64 image (64-byte aligned, 832 bytes) */
#define V_IMGO 0x1400u /* XSAVE64 image after the instruction */
#define V_IMG 832u

struct vform {
	char name[64];
	const struct vexrow *r;
	uint8_t map, pp, op, ext;
	bool mem;
};

struct vstate {
	_Alignas(64) uint8_t img[V_IMG];
	uint64_t gpr[16], flags;
	uint8_t mem[WIN_LEN];
	uint8_t bytes[20];
	uint8_t len;
	bool broken; /* a #UD rule broken on purpose */
};

struct vresult {
	_Alignas(64) uint8_t img[V_IMG];
	uint64_t gpr[16], flags;
	int sig;
	uint32_t sig_mxcsr;
	uint8_t mem[WIN_LEN];
};

#define MAX_VFORMS 1024
static struct vform vforms[MAX_VFORMS];
static unsigned nvforms;

static const char *
v_feat_tag(unsigned feat)
{
	switch (feat) {
	case FEAT_AVX: return "avx";
	case FEAT_AVX2: return "avx2";
	case FEAT_FMA: return "fma";
	case FEAT_F16C: return "f16c";
	case FEAT_BMI1: return "bmi1";
	case FEAT_BMI2: return "bmi2";
	case FEAT_AES: return "avx-aes";
	case FEAT_PCLMULQDQ: return "avx-pclmul";
	default: return "?";
	}
}

static void
v_build_forms(void)
{
	static const char *const pps[4] = { "", "66.", "f3.", "f2." };
	static const char *const mapn[4] = { "", "0f", "0f38", "0f3a" };
	nvforms = 0;
	for (unsigned map = 1; map <= 3; map++)
		for (unsigned pp = 0; pp < 4; pp++)
			for (unsigned op = 0; op < 256; op++) {
				const struct vexrow *r = vex_row(map, pp, op);
				if (r->kind == VK_NONE)
					continue;
				for (unsigned ext = 0; ext < 8; ext++) {
					if (r->exts ? !(r->exts >> ext & 1) : ext)
						continue;
					for (int mem = 0; mem <= 1; mem++) {
						if ((mem && (r->flags & VF_NOMEM)) ||
						    (!mem && (r->flags & VF_NOREG)) ||
						    (r->kind == VK_ZERO && mem))
							continue;
						if (nvforms >= MAX_VFORMS)
							return;
						struct vform *f = &vforms[nvforms++];
						f->r = r, f->map = (uint8_t)map,
						f->pp = (uint8_t)pp;
						f->op = (uint8_t)op, f->ext = (uint8_t)ext,
						f->mem = mem;
						char e[8] = "";
						if (r->exts)
							snprintf(e, sizeof(e), "/%u", ext);
						snprintf(f->name, sizeof(f->name),
							 "%s vex.%s%s %02x%s %s",
							 v_feat_tag(r->feat), pps[pp], mapn[map],
							 op, e,
							 r->kind == VK_ZERO ? ""
							 : mem              ? "mem"
									    : "reg");
					}
				}
			}
}

static bool
v_host_has(const struct vform *f)
{
	if (!cpu_feature_on_host((enum cpu_feature)f->r->feat))
		return false;
	if (f->r->kind != VK_GPR && !cpu_feature_on_host(FEAT_AVX))
		return false;
	if ((f->r->flags & (VF_I2 | VF_R2)) && !cpu_feature_on_host(FEAT_AVX2))
		return false;
	return true;
}

/* Does the host have VAES or VPCLMULQDQ (CPUID.(7,0):ECX[9], [10])? */
static bool
v_host_vaes(void)
{
	unsigned a, b, c, d;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c >> 9 & 3);
}

static void
v_gen_state(const struct vform *f, struct vstate *st)
{
	const struct vexrow *r = f->r;
	memset(st, 0, sizeof(*st));
	uint8_t *img = st->img;
	uint16_t fcw = 0x037f;
	memcpy(img, &fcw, 2);
	uint32_t mx = (uint32_t)(rnd() & 0x7fc0);
	mx |= chance(60) ? 0x1f80 : (uint32_t)(rnd() & 0x1f80);
	mx |= chance(60) ? 0 : (uint32_t)(rnd() & 0x3f);
	memcpy(img + 24, &mx, 4);
	for (unsigned k = 0; k < 16; k++) {
		s_vec(img + 160 + 16 * k);
		s_vec(img + 576 + 16 * k);
	}
	uint64_t bv = 7;
	memcpy(img + 512, &bv, 8);
	for (unsigned k = 0; k < 16; k++)
		st->gpr[k] = chance(50) ? edge_value(64) : rnd();
	st->gpr[R_AX] = chance(50) ? rnd_below(40) - 20 : st->gpr[R_AX]; /* PCMPESTRx lengths */
	st->gpr[R_DX] = chance(50) ? rnd_below(40) - 20 : st->gpr[R_DX];
	if (chance(30)) /* small counts and indexes for the shifts, BZHI, BEXTR */
		st->gpr[rnd_below(16)] = rnd_below(80);
	st->flags = (rnd() & F_ARITH) | 0x202;
	for (unsigned k = 0; k < WIN_LEN; k += 16)
		s_vec(st->mem + k);
	uint32_t off = rnd_below(WIN_LEN - 64) & ~31u;
	if (chance(10))
		off += 1 + rnd_below(31);
	if (r->kind == VK_MXCSR && f->ext == 2) { /* VLDMXCSR: valid, sometimes reserved bits */
		uint32_t m2 = (uint32_t)(rnd() & 0xffff);
		if (chance(5))
			m2 |= 1u << (16 + rnd_below(15));
		m2 &= ~0x20000u;
		memcpy(st->mem + off, &m2, 4);
	}
	if (r->kind == VK_MASKDQU)
		st->gpr[R_DI] = DATA_LIN + WIN_OFF + off;

	/* the fields */
	unsigned l = rnd_below(2), w = rnd_below(2), pp = f->pp;
	if (r->flags & VF_L0)
		l = 0;
	if (r->flags & VF_L1)
		l = 1;
	if (r->flags & VF_W0)
		w = 0;
	if (r->flags & VF_W1)
		w = 1;
	if ((r->flags & VF_I2) && l && !cpu_feature_on_host(FEAT_AVX2))
		l = 0;
	unsigned reg = rnd_below(16), rm = rnd_below(16), vv = rnd_below(16);
	bool gpr = r->reg == VO_G || r->rm == VO_G || r->vvvv == VO_G;
	if (gpr) {
		while (reg == R_SP || (r->reg != VO_G && 0))
			reg = rnd_below(16);
		while (rm == R_SP)
			rm = rnd_below(16);
		while (vv == R_SP)
			vv = rnd_below(16);
	}
	if (r->kind == VK_MASKDQU)
		while (reg == R_DI)
			reg = rnd_below(16);
	if (r->exts)
		reg = f->ext;
	bool vused = r->vvvv != VO_N && !((r->flags & VF_VSR) && f->mem);
	if (!vused)
		vv = 0;
	unsigned pfx = 0;
	st->broken = chance(5);
	if (st->broken) {
		unsigned how = rnd_below(4);
		/* Where the SDM and this host part ways, the SDM's rule is checked by
		 * the unit and guest tests instead: a host with VAES/VPCLMULQDQ runs
		 * the VEX.256 AES and PCLMULQDQ forms fugu's CPU does not have, and
		 * AMD runs VPERMQ/VPERMPD (VEX.W1 forms) with VEX.W = 0. */
		bool l_wider = (r->feat == FEAT_AES || r->feat == FEAT_PCLMULQDQ) && v_host_vaes();
		if (how == 0 && (r->flags & (VF_L0 | VF_L1)) && !l_wider)
			l ^= 1;
		else if (how == 1 && (r->flags & VF_W0))
			w ^= 1;
		else if (how == 2 && !vused)
			vv = 1 + rnd_below(15);
		else {
			static const uint8_t bad[] = { 0x66, 0xf3, 0xf2, 0x40, 0xf0 };
			pfx = bad[rnd_below(sizeof(bad))];
		}
	}
	uint8_t *p = st->bytes;
	if (pfx)
		*p++ = (uint8_t)pfx;
	if (r->kind == VK_GATHER) {
		/* VSIB: [disp32 + index * scale] into the window; destination, index and
		 * mask distinct (unless a rule is broken on purpose: then the same) */
		unsigned idx = rnd_below(16), scale = rnd_below(4);
		while (idx == reg || idx == vv || vv == reg)
			vv = rnd_below(16), idx = rnd_below(16);
		if (st->broken && !pfx)
			idx = reg;
		for (unsigned k = 0; k < 8; k++) {
			uint32_t x = rnd_below(96);
			uint8_t *lane = k < 4 ? img + 160 + 16 * idx + 4 * k
					      : img + 576 + 16 * idx + 4 * (k - 4);
			if (f->op & 1) { /* qword indexes: lanes k = 0..3 of 8 bytes */
				if (k >= 4)
					break;
				uint64_t q = x;
				lane = k < 2 ? img + 160 + 16 * idx + 8 * k
					     : img + 576 + 16 * idx + 8 * (k - 2);
				memcpy(lane, &q, 8);
			} else {
				memcpy(lane, &x, 4);
			}
		}
		*p++ = 0xc4;
		*p++ = (uint8_t)((!(reg >> 3)) << 7 | (!(idx >> 3)) << 6 | 1 << 5 | f->map);
		*p++ = (uint8_t)(w << 7 | (~vv & 15) << 3 | l << 2 | pp);
		*p++ = f->op;
		*p++ = (uint8_t)((reg & 7) << 3 | 4);
		*p++ = (uint8_t)(scale << 6 | (idx & 7) << 3 | 5);
		put_le(&p, DATA_LIN + WIN_OFF, 4);
		st->len = (uint8_t)(p - st->bytes);
		return;
	}
	unsigned R = reg >> 3, B = f->mem ? 0 : rm >> 3;
	if (f->map == 1 && !w && !B && chance(30)) {
		*p++ = 0xc5;
		*p++ = (uint8_t)((!R) << 7 | (~vv & 15) << 3 | l << 2 | pp);
	} else {
		*p++ = 0xc4;
		*p++ = (uint8_t)((!R) << 7 | 1 << 6 | (!B) << 5 | f->map);
		*p++ = (uint8_t)(w << 7 | (~vv & 15) << 3 | l << 2 | pp);
	}
	*p++ = f->op;
	if (r->kind != VK_ZERO) {
		if (f->mem) {
			*p++ = (uint8_t)((reg & 7) << 3 | 4);
			*p++ = 0x25;
			put_le(&p, DATA_LIN + WIN_OFF + off, 4);
		} else {
			*p++ = (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7));
		}
	}
	if ((r->flags & VF_IMM) || f->map == 3)
		*p++ = (uint8_t)rnd();
	st->len = (uint8_t)(p - st->bytes);
}

static void
v_host_stubs(void)
{
	uint8_t *base = (uint8_t *)(uintptr_t)CODE_LIN, *p = base + S_PRO;
	emit_bytes(&p, "\xb8\x07\x00\x00\x00\x31\xd2", 7); /* mov eax, 7; xor edx, edx */
	emit_bytes(&p, "\x48\x0f\xae\x2c\x25", 5);         /* xrstor64 [abs] */
	put_le(&p, STATE_LIN + V_IMGI, 4);
	emit_bytes(&p, "\xff\x34\x25", 3); /* push qword [abs]; popfq */
	put_le(&p, STATE_LIN + S_FLI, 4);
	*p++ = 0x9d;
	for (unsigned r = 0; r < 16; r++)
		if (r != R_SP)
			emit_abs_mov(&p, false, r, STATE_LIN + S_GPRI + 8 * r);
	*p++ = 0xe9; /* jmp rel32, patched */
	s_jmp_at = (uint32_t)(p - base);
	p += 4;
	p = base + S_EPI;
	for (unsigned r = 0; r < 16; r++)
		if (r != R_SP)
			emit_abs_mov(&p, true, r, STATE_LIN + S_GPRO + 8 * r);
	*p++ = 0x9c;
	emit_bytes(&p, "\x8f\x04\x25", 3); /* pop qword [abs] */
	put_le(&p, STATE_LIN + S_FLO, 4);
	emit_bytes(&p, "\xb8\x07\x00\x00\x00\x31\xd2", 7);
	emit_bytes(&p, "\x48\x0f\xae\x24\x25", 5); /* xsave64 [abs] */
	put_le(&p, STATE_LIN + V_IMGO, 4);
	*p++ = 0xfc;
	*p++ = 0xc3;
}

static void
v_host_run(const struct vstate *st, struct vresult *out)
{
	uint8_t *code = (uint8_t *)(uintptr_t)CODE_LIN;
	uint8_t *page = (uint8_t *)(uintptr_t)DATA_LIN;
	uint32_t at = S_EPI - st->len;
	memcpy(code + at, st->bytes, st->len);
	uint8_t *jp = code + s_jmp_at;
	put_le(&jp, at - (s_jmp_at + 4), 4);
	memcpy(st_block() + V_IMGI, st->img, V_IMG);
	memset(st_block() + V_IMGO, 0, V_IMG);
	memcpy(st_block() + S_FLI, &st->flags, 8);
	memcpy(st_block() + S_GPRI, st->gpr, 128);
	memcpy(st_block() + S_GPRO, st->gpr, 128);
	memcpy(page + WIN_OFF, st->mem, WIN_LEN);
	s_sig = 0;
	if (!sigsetjmp(s_jmp, 1)) {
		__asm__ volatile("push %%rbx; push %%rbp; push %%r12; push %%r13; push %%r14; "
				 "push %%r15; call *%0; pop %%r15; pop %%r14; pop %%r13; "
				 "pop %%r12; pop %%rbp; pop %%rbx"
				 :
				 : "r"((uintptr_t)(CODE_LIN + S_PRO))
				 : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11",
				   "memory", "cc");
	}
	uint32_t dflt = 0x1f80;
	__asm__ volatile("vzeroupper; fninit; ldmxcsr %0" : : "m"(dflt));
	out->sig = s_sig;
	out->sig_mxcsr = s_sig_mxcsr;
	memcpy(out->img, st_block() + V_IMGO, V_IMG);
	memcpy(out->gpr, st_block() + S_GPRO, 128);
	memcpy(&out->flags, st_block() + S_FLO, 8);
	memcpy(out->mem, page + WIN_OFF, WIN_LEN);
}

static _Noreturn void
v_host_child(const struct vstate *states, unsigned n, struct vresult *res)
{
	s_host_signals();
	v_host_stubs();
	for (unsigned k = 0; k < n; k++)
		v_host_run(&states[k], &res[k]);
	_exit(0);
}

struct v_fugu {
	uint8_t img[V_IMG];
	uint64_t gpr[16], flags;
	int vector;
	uint8_t mem[WIN_LEN];
};

static void
v_fugu_run(struct machine *m, const struct vstate *st, struct v_fugu *out)
{
	struct cpu *cpu = m->cpu;
	uint64_t at = EPI_LIN - st->len;
	physmem_write(m->mem, PHYS_OF(at), st->bytes, st->len);
	physmem_write(m->mem, PHYS_OF(DATA_LIN) + WIN_OFF, st->mem, WIN_LEN);
	cpu->state.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE;
	cpu->state.xcr0 = 7;
	memcpy(cpu->state.xsave, st->img, V_IMG);
	memcpy(cpu->state.gpr, st->gpr, 128);
	cpu->state.rip = at;
	cpu_set_rflags(cpu, (st->flags & FLAGS_CMP) | F_FIXED1);
	uint64_t faults = cpu->faults;
	enum cpu_exit ex = cpu_exec(cpu, 1);
	out->vector = -1;
	if (cpu->faults != faults) {
		uint64_t v = cpu->state.rip - HANDLER_LIN - 1;
		out->vector = cpu->state.halted && v < 32 ? (int)v : 99;
	} else if (ex != CPU_EXIT_BUDGET || cpu->state.rip != EPI_LIN) {
		out->vector = 98;
	}
	memcpy(out->img, cpu->state.xsave, V_IMG);
	memcpy(out->gpr, cpu->state.gpr, 128);
	out->flags = cpu_get_rflags(cpu);
	physmem_read(m->mem, PHYS_OF(DATA_LIN) + WIN_OFF, out->mem, WIN_LEN);
	if (out->vector >= 0)
		long_machine_mode(cpu);
}

static bool
v_compare(const struct vresult *h, const struct v_fugu *g, char *why, size_t cap)
{
	why[0] = 0;
	uint32_t gmx;
	memcpy(&gmx, g->img + 24, 4);
	if (h->sig) {
		int want = h->sig == SIGFPE    ? EXC_XM
			   : h->sig == SIGSEGV ? EXC_GP
			   : h->sig == SIGBUS  ? EXC_GP
			   : h->sig == SIGILL  ? EXC_UD
					       : 100;
		if (g->vector != want) {
			note(why, cap, " host signal %d, fugu vector %d", h->sig, g->vector);
			return false;
		}
		if (h->sig == SIGFPE && (h->sig_mxcsr & 0xffff) != gmx) {
			note(why, cap, " #XM mxcsr host %04x fugu %04x", h->sig_mxcsr, gmx);
			return false;
		}
		return true;
	}
	if (g->vector >= 0) {
		note(why, cap, " fugu raised vector %d", g->vector);
		return false;
	}
	bool ok = true;
	if (memcmp(h->img + 24, g->img + 24, 4))
		note(why, cap, " mxcsr differs"), ok = false;
	for (unsigned k = 0; k < 16; k++) {
		uint64_t a[4], b[4];
		memcpy(a, h->img + 160 + 16 * k, 16);
		memcpy(a + 2, h->img + 576 + 16 * k, 16);
		memcpy(b, g->img + 160 + 16 * k, 16);
		memcpy(b + 2, g->img + 576 + 16 * k, 16);
		if (memcmp(a, b, 32)) {
			note(why, cap,
			     " ymm%u host %016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64
			     " fugu %016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64,
			     k, a[3], a[2], a[1], a[0], b[3], b[2], b[1], b[0]);
			ok = false;
		}
	}
	for (unsigned k = 0; k < 16; k++)
		if (k != R_SP && h->gpr[k] != g->gpr[k])
			note(why, cap, " %s host %016" PRIx64 " fugu %016" PRIx64, reg_names[k],
			     h->gpr[k], g->gpr[k]),
				ok = false;
	if ((h->flags ^ g->flags) & F_ARITH)
		note(why, cap, " flags host %03" PRIx64 " fugu %03" PRIx64, h->flags & F_ARITH,
		     g->flags & F_ARITH),
			ok = false;
	for (unsigned k = 0; k < WIN_LEN; k++)
		if (h->mem[k] != g->mem[k]) {
			note(why, cap, " mem[+%#x] host %02x fugu %02x", k, h->mem[k], g->mem[k]);
			ok = false;
			break;
		}
	return ok;
}

static void
v_describe(const char *name, unsigned idx, const struct vstate *st, const char *why)
{
	uint32_t mx;
	memcpy(&mx, st->img + 24, 4);
	printf("# MISMATCH %s, state %u: bytes", name, idx);
	for (unsigned k = 0; k < st->len; k++)
		printf(" %02x", st->bytes[k]);
	printf(":%s\n#   init mxcsr %04x\n", why, mx);
}

/* Run the VEX forms; adds to the totals, returns false on any mismatch. */
static bool
vex_run_all(struct machine *m, unsigned nstates, uint64_t seed, bool verbose, char **filters,
	    int nfilters, uint64_t *total_states, uint64_t *total_bad, unsigned *nforms)
{
	v_build_forms();
	struct vstate *states = aligned_alloc(64, nstates * sizeof(*states));
	struct v_fugu *g = malloc(sizeof(*g));
	size_t res_bytes = nstates * sizeof(struct vresult);
	struct vresult *hres =
		mmap(NULL, res_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!states || !g || hres == MAP_FAILED) {
		tap_line(false, "vex setup: out of memory");
		return false;
	}
	bool all_ok = true;
	uint64_t ss = 0, sb = 0;
	for (unsigned fi = 0; fi < nvforms; fi++) {
		const struct vform *f = &vforms[fi];
		if (!selected(f->name, filters, nfilters))
			continue;
		if (!v_host_has(f)) {
			printf("ok %u - %s # SKIP the host CPU lacks it\n", ++tap_number, f->name);
			continue;
		}
		(*nforms)++;
		rng_state = seed ^ (0x56ull << 40) ^ (fi * 0x100000001b3ull);
		for (unsigned k = 0; k < nstates; k++)
			v_gen_state(f, &states[k]);
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0)
			v_host_child(states, nstates, hres);
		int status = 0;
		if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			tap_line(false, "%s: the host child failed (status %#x)", f->name, status);
			all_ok = false;
			continue;
		}
		unsigned bad = 0, xm = 0, gp = 0, ud = 0, details = 0;
		for (unsigned k = 0; k < nstates; k++) {
			char why[2048];
			v_fugu_run(m, &states[k], g);
			xm += hres[k].sig == SIGFPE;
			gp += hres[k].sig == SIGSEGV;
			ud += hres[k].sig == SIGILL;
			if (v_compare(&hres[k], g, why, sizeof(why)))
				continue;
			bad++;
			if (verbose || details++ < DETAILS_PER_FORM)
				v_describe(f->name, k, &states[k], why);
		}
		tap_line(bad == 0, "%s: %u states, %u mismatches (%u #XM, %u #GP, %u #UD)", f->name,
			 nstates, bad, xm, gp, ud);
		all_ok = all_ok && bad == 0;
		ss += nstates;
		sb += bad;
	}
	printf("# vex: %" PRIu64 " states, %" PRIu64 " mismatches\n", ss, sb);
	*total_states += ss;
	*total_bad += sb;
	munmap(hres, res_bytes);
	free(g);
	free(states);
	return all_ok;
}

/* ---- XSAVEC against the host (SDM vol. 1, 13.10) ----
 *
 * Each state is an XSAVE image in the standard form (x87, SSE, AVX; a quarter
 * of the time each component in its initial configuration, XMM/YMM registers
 * zero half the time) with a random XSTATE_BV; the host and fugu load it with
 * XRSTOR64 (RFBM = 7) and store it with XSAVEC64 under a random RFBM ⊆ 7 into
 * an area filled with CCh. Compared: XCOMP_BV, every byte of the area, and
 * XSTATE_BV, with one allowance: XINUSE[i] = 1 does not promise that a
 * component is out of its initial configuration (13.6) — the host tracks a
 * component loaded from memory as in use even when the value loaded is the
 * initial one — so where the host saved a component fugu left out, the host's
 * bytes must be that component's initial configuration. Bytes 6-23 (FOP, FIP,
 * FDP, which the AMD host stores only with FSW.ES set) and MXCSR_MASK (28-31)
 * are not compared, as for FXSAVE above. The host side runs in this process
 * between an XSAVE64 and an XRSTOR64 of its own state. */
#define XC_IMG 832u
#define XC_IN 0x000u /* fugu: offsets in the data page */
#define XC_OUT 0x800u

static bool
xc_host_ok(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid_count(0xd, 1, &a, &b, &c, &d) || !(a & 2))
		return false;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c >> 27 & 1))
		return false;
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 7) == 7;
}

static void
xc_gen(uint8_t *img, uint64_t *rfbm)
{
	memset(img, 0, XC_IMG);
	static const uint16_t fcws[] = { 0x037f, 0x027f, 0x0f7f, 0x037e };
	static const uint32_t mxs[] = { 0x1f80, 0x1f81, 0x9f80, 0x7f80, 0x1fbf, 0x3f80 };
	if (!chance(25)) { /* x87 out of its initial configuration (mostly) */
		uint16_t fcw = fcws[rnd_below(4)],
			 fsw = (uint16_t)(rnd() & 0x4700) | (uint16_t)((rnd() & 7) << 11);
		memcpy(img, &fcw, 2);
		memcpy(img + 2, &fsw, 2);
		img[4] = (uint8_t)rnd();
		for (unsigned k = 0; k < 8; k++)
			for (unsigned j = 0; j < 10; j++)
				img[32 + 16 * k + j] = (uint8_t)rnd();
	} else {
		img[0] = 0x7f, img[1] = 0x03;
	}
	uint32_t mx = mxs[rnd_below(6)];
	memcpy(img + 24, &mx, 4);
	bool sse = !chance(25), avx = !chance(25);
	for (unsigned r = 0; r < 16; r++) {
		if (sse && chance(50))
			for (unsigned j = 0; j < 16; j++)
				img[160 + 16 * r + j] = (uint8_t)rnd();
		if (avx && chance(50))
			for (unsigned j = 0; j < 16; j++)
				img[576 + 16 * r + j] = (uint8_t)rnd();
	}
	uint64_t bv = rnd() & 7;
	memcpy(img + 512, &bv, 8);
	*rfbm = rnd() & 7;
}

static void
xc_host_run(const uint8_t *in, uint64_t rfbm, uint8_t *out)
{
	static _Alignas(64) uint8_t save[16384], img[XC_IMG];
	static _Alignas(64) uint8_t area[XC_IMG];
	memcpy(img, in, XC_IMG);
	memset(area, 0xcc, XC_IMG);
	__asm__ volatile("mov $-1, %%eax; mov $-1, %%edx; xsave64 (%0);"
			 "mov $7, %%eax; xor %%edx, %%edx; xrstor64 (%1);"
			 "mov %3, %%eax; xor %%edx, %%edx; xsavec64 (%2);"
			 "mov $-1, %%eax; mov $-1, %%edx; xrstor64 (%0)"
			 :
			 : "r"(save), "r"(img), "r"(area), "r"((uint32_t)rfbm)
			 : "rax", "rdx", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
			   "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13",
			   "xmm14", "xmm15", "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)",
			   "st(6)", "st(7)");
	memcpy(out, area, XC_IMG);
}

/* fugu: XRSTOR64 [in] (RFBM 7); MOV EAX, rfbm; XSAVEC64 [out]. */
static int
xc_fugu_run(struct machine *m, const uint8_t *in, uint64_t rfbm, uint8_t *out)
{
	struct cpu *cpu = m->cpu;
	uint8_t code[32], *p = code;
	emit_bytes(&p, "\x48\x0f\xae\x2c\x25", 5);
	put_le(&p, DATA_LIN + XC_IN, 4);
	*p++ = 0xb8;
	put_le(&p, (uint32_t)rfbm, 4);
	emit_bytes(&p, "\x48\x0f\xc7\x24\x25", 5);
	put_le(&p, DATA_LIN + XC_OUT, 4);
	unsigned len = (unsigned)(p - code);
	uint64_t at = EPI_LIN - len;
	physmem_write(m->mem, PHYS_OF(at), code, len);
	physmem_write(m->mem, PHYS_OF(DATA_LIN) + XC_IN, in, XC_IMG);
	uint8_t fill[XC_IMG];
	memset(fill, 0xcc, XC_IMG);
	physmem_write(m->mem, PHYS_OF(DATA_LIN) + XC_OUT, fill, XC_IMG);
	cpu->state.cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_OSXSAVE;
	cpu->state.xcr0 = 7;
	cpu->state.gpr[R_AX] = 7;
	cpu->state.gpr[R_DX] = 0;
	cpu->state.rip = at;
	uint64_t faults = cpu->faults;
	enum cpu_exit ex = cpu_exec(cpu, 3);
	int vector = -1;
	if (cpu->faults != faults) {
		uint64_t v = cpu->state.rip - HANDLER_LIN - 1;
		vector = cpu->state.halted && v < 32 ? (int)v : 99;
		long_machine_mode(cpu);
	} else if (ex != CPU_EXIT_BUDGET || cpu->state.rip != EPI_LIN) {
		vector = 98;
	}
	physmem_read(m->mem, PHYS_OF(DATA_LIN) + XC_OUT, out, XC_IMG);
	return vector;
}

/* Component i's bytes in a compacted image of fugu's layout (x87: 0-5 and
 * 32-159, since 6-23 are not compared; SSE: 24-27 and 160-415; AVX: 576-831). */
static bool
xc_part(unsigned i, unsigned off)
{
	switch (i) {
	case 0: return off < 6 || (off >= 32 && off < 160);
	case 1: return (off >= 24 && off < 28) || (off >= 160 && off < 416);
	default: return off >= 576 && off < 832;
	}
}

static bool
xc_compare(const uint8_t *h, const uint8_t *g, char *why, size_t cap)
{
	why[0] = 0;
	uint64_t hbv, gbv, hcomp, gcomp;
	memcpy(&hbv, h + 512, 8);
	memcpy(&gbv, g + 512, 8);
	memcpy(&hcomp, h + 520, 8);
	memcpy(&gcomp, g + 520, 8);
	if (hcomp != gcomp) {
		note(why, cap, " XCOMP_BV host %#" PRIx64 " fugu %#" PRIx64, hcomp, gcomp);
		return false;
	}
	if ((gbv & ~hbv) || (hbv & ~7ull)) {
		note(why, cap, " XSTATE_BV host %#" PRIx64 " fugu %#" PRIx64, hbv, gbv);
		return false;
	}
	/* the initial configurations, as the host would store them */
	uint8_t init[XC_IMG];
	memset(init, 0, XC_IMG);
	init[0] = 0x7f, init[1] = 0x03;
	init[24] = 0x80, init[25] = 0x1f;
	for (unsigned off = 0; off < XC_IMG; off++) {
		if ((off >= 6 && off < 24) || (off >= 28 && off < 32) || (off >= 512 && off < 528))
			continue;
		bool extra = false; /* saved by the host only */
		for (unsigned i = 0; i < 3; i++)
			if (xc_part(i, off) && (hbv >> i & 1) && !(gbv >> i & 1))
				extra = true;
		if (extra) {
			if (h[off] != init[off] || g[off] != 0xcc) {
				note(why, cap, " byte %u: host %02x (XINUSE only), fugu %02x", off,
				     h[off], g[off]);
				return false;
			}
		} else if (h[off] != g[off]) {
			note(why, cap, " byte %u: host %02x fugu %02x", off, h[off], g[off]);
			return false;
		}
	}
	return true;
}

static bool
xsavec_run_all(struct machine *m, unsigned nstates, uint64_t seed, bool verbose, char **filters,
	       int nfilters, uint64_t *total_states, uint64_t *total_bad, unsigned *nforms)
{
	const char *name = "xsavec64";
	if (!selected(name, filters, nfilters))
		return true;
	if (!xc_host_ok() || !cpu_has(&m->cpu->features, FEAT_XSAVEC) ||
	    !cpu_has(&m->cpu->features, FEAT_AVX)) {
		printf("ok %u - %s # SKIP the host CPU or fugu's model lacks XSAVEC or AVX\n",
		       ++tap_number, name);
		return true;
	}
	(*nforms)++;
	rng_state = seed ^ 0x7873617665633634ull;
	unsigned bad = 0, details = 0, extra = 0;
	for (unsigned k = 0; k < nstates; k++) {
		_Alignas(64) uint8_t in[XC_IMG];
		uint8_t hout[XC_IMG], gout[XC_IMG];
		uint64_t rfbm;
		char why[256];
		xc_gen(in, &rfbm);
		xc_host_run(in, rfbm, hout);
		int v = xc_fugu_run(m, in, rfbm, gout);
		if (v >= 0)
			snprintf(why, sizeof(why), " fugu raised vector %d", v);
		if (v < 0 && xc_compare(hout, gout, why, sizeof(why))) {
			uint64_t hbv, gbv;
			memcpy(&hbv, hout + 512, 8);
			memcpy(&gbv, gout + 512, 8);
			extra += hbv != gbv;
			continue;
		}
		bad++;
		if (verbose || details++ < 3) {
			uint64_t bv;
			memcpy(&bv, in + 512, 8);
			printf("#   %s state %u: XSTATE_BV in %#" PRIx64 ", RFBM %#" PRIx64 ":%s\n",
			       name, k, bv, rfbm, why);
		}
	}
	tap_line(bad == 0, "%s: %u states, %u mismatches (%u with host-only XINUSE bits)", name,
		 nstates, bad, extra);
	*total_states += nstates;
	*total_bad += bad;
	return bad == 0;
}

int
main(int argc, char **argv)
{
	unsigned nstates = DEFAULT_STATES;
	uint64_t seed = DEFAULT_SEED;
	bool verbose = false;
	char *filters[64];
	int nfilters = 0;
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "-v"))
			verbose = true;
		else if (!strcmp(argv[k], "-n") && k + 1 < argc)
			nstates = (unsigned)strtoul(argv[++k], NULL, 0);
		else if (!strcmp(argv[k], "-s") && k + 1 < argc)
			seed = strtoull(argv[++k], NULL, 0);
		else if (nfilters < 64)
			filters[nfilters++] = argv[k];
	}
	if (!nstates)
		nstates = 1;
	setvbuf(stdout, NULL, _IOLBF, 0);

	char err[512];
	struct machine m;
	if (!host_map(err, sizeof(err)) || !long_machine_create(&m, err, sizeof(err))) {
		tap_line(false, "setup: %s", err);
		printf("1..%u\n", tap_number);
		return 1;
	}
	struct state *states = calloc(nstates, sizeof(*states));
	struct fugu_result *gres = malloc(sizeof(*gres));
	size_t res_bytes = nstates * sizeof(struct host_result);
	struct host_result *hres =
		mmap(NULL, res_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!states || !gres || hres == MAP_FAILED) {
		tap_line(false, "setup: out of memory");
		printf("1..%u\n", tap_number);
		return 1;
	}

	bool all_ok = true;
	uint64_t total_states = 0, total_bad = 0;
	unsigned nforms = 0;
	for (size_t fi = 0; fi < NFORMS; fi++) {
		const struct form *f = &forms[fi];
		for (unsigned size = 1; size <= 8; size *= 2) {
			char name[64];
			if (!(f->sizes & size))
				continue;
			form_name(f, size, name, sizeof(name));
			if (!selected(name, filters, nfilters))
				continue;
			if (!host_supports(f)) {
				printf("ok %u - %s # SKIP the host CPU lacks it\n", ++tap_number,
				       name);
				continue;
			}
			nforms++;
			/* Each form has its own reproducible sequence. */
			rng_state = seed ^ (fi * 0x100000001b3ull + size);
			for (unsigned k = 0; k < nstates; k++)
				gen_state(f, size, &states[k]);
			fflush(stdout);
			pid_t pid = fork();
			if (pid == 0)
				host_child(states, nstates, hres);
			int status = 0;
			if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
			    WEXITSTATUS(status) != 0) {
				tap_line(false, "%s: the host child failed (status %#x)", name,
					 status);
				all_ok = false;
				continue;
			}
			unsigned bad = 0, faults = 0, details = 0;
			uint32_t undef_diff = 0;
			for (unsigned k = 0; k < nstates; k++) {
				char why[512];
				fugu_run(&m, &states[k], gres);
				if (hres[k].sig == SIGFPE)
					faults++;
				if (compare(f, size, &states[k], &hres[k], gres, why, sizeof(why),
					    &undef_diff))
					continue;
				bad++;
				if (verbose || details++ < DETAILS_PER_FORM)
					describe(name, k, &states[k], &hres[k], gres, why);
			}
			char extra[64] = "";
			if (faults)
				snprintf(extra, sizeof(extra), " (%u raised #DE)", faults);
			tap_line(bad == 0, "%s: %u states, %u mismatches%s", name, nstates, bad,
				 extra);
			if (verbose && undef_diff) {
				char fs[8];
				flags_str(undef_diff, fs, sizeof(fs));
				printf("#   undefined flags that differ from the host: %s\n", fs);
			}
			all_ok = all_ok && bad == 0;
			total_states += nstates;
			total_bad += bad;
		}
	}
	if (!x87_run_all(&m, nstates, seed, verbose, filters, nfilters, &total_states, &total_bad,
			 &nforms))
		all_ok = false;
	/* the MMX/SSE forms are many: a fifth of the states each */
	if (!sse_run_all(&m, nstates / 5 ? nstates / 5 : 1, seed, verbose, filters, nfilters,
			 &total_states, &total_bad, &nforms))
		all_ok = false;
	if (!vex_run_all(&m, nstates / 5 ? nstates / 5 : 1, seed, verbose, filters, nfilters,
			 &total_states, &total_bad, &nforms))
		all_ok = false;
	if (!xsavec_run_all(&m, nstates / 5 ? nstates / 5 : 1, seed, verbose, filters, nfilters,
			    &total_states, &total_bad, &nforms))
		all_ok = false;
	printf("# %u forms, %" PRIu64 " states, %" PRIu64 " mismatches\n", nforms, total_states,
	       total_bad);
	printf("1..%u\n", tap_number);
	munmap(hres, res_bytes);
	free(gres);
	free(states);
	bare_machine_destroy(&m);
	return all_ok ? 0 : 1;
}
