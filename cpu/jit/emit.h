/*
 * fugu — a small x86-64 machine-code emitter for the JIT: the handful of
 * instruction forms the compiler needs (Intel SDM vol. 2, chapter 2: REX,
 * ModRM, SIB), written into a byte buffer that reports overflow instead of
 * running past its end.
 */
#ifndef FUGU_JIT_EMIT_H
#define FUGU_JIT_EMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum hreg { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };
#define HNONE 0xff

struct emit {
	uint8_t *p, *end;
	bool overflow; /* the buffer was too small: the code is unusable */
};

/* A memory operand [base + index * 2^scale + disp]; index HNONE for none. */
struct mref {
	uint8_t base, index, scale;
	int32_t disp;
};

static inline struct mref
mem(unsigned base, int32_t disp)
{
	return (struct mref){ (uint8_t)base, HNONE, 0, disp };
}

static inline struct mref
mem_idx(unsigned base, unsigned index, unsigned scale, int32_t disp)
{
	return (struct mref){ (uint8_t)base, (uint8_t)index, (uint8_t)scale, disp };
}

static inline void
e8(struct emit *e, unsigned b)
{
	if (e->p >= e->end) {
		e->overflow = true;
		return;
	}
	*e->p++ = (uint8_t)b;
}

static inline void
e32(struct emit *e, uint32_t v)
{
	for (unsigned k = 0; k < 4; k++)
		e8(e, (v >> (8 * k)) & 0xff);
}

static inline void
e64(struct emit *e, uint64_t v)
{
	e32(e, (uint32_t)v);
	e32(e, (uint32_t)(v >> 32));
}

/* Operand-size prefix and REX for an operation of `size` bytes (1, 2, 4, 8) with
 * ModRM.reg `r`, index `x` and base/rm `b` (HNONE when absent). */
static inline void
prefixes(struct emit *e, unsigned size, unsigned r, unsigned x, unsigned b)
{
	if (size == 2)
		e8(e, 0x66);
	unsigned rex = (size == 8 ? 8 : 0) | (r != HNONE && (r & 8) ? 4 : 0) |
		       (x != HNONE && (x & 8) ? 2 : 0) | (b != HNONE && (b & 8) ? 1 : 0);
	/* SPL/BPL/SIL/DIL need a REX prefix as byte registers. */
	if (size == 1 && ((r != HNONE && r >= 4 && r < 8)))
		rex |= 0x40;
	if (rex)
		e8(e, 0x40 | rex);
}

static inline void
modrm_mem(struct emit *e, unsigned r, struct mref m)
{
	unsigned mod = m.disp == 0 && (m.base & 7) != RBP ? 0
		       : (m.disp >= -128 && m.disp < 128) ? 1
							  : 2;
	if (m.index == HNONE && (m.base & 7) != RSP) {
		e8(e, (mod << 6) | ((r & 7) << 3) | (m.base & 7));
	} else {
		e8(e, (mod << 6) | ((r & 7) << 3) | 4);
		unsigned idx = m.index == HNONE ? 4 : m.index & 7;
		e8(e, (m.scale << 6) | (idx << 3) | (m.base & 7));
	}
	if (mod == 1)
		e8(e, (uint8_t)m.disp);
	else if (mod == 2)
		e32(e, (uint32_t)m.disp);
}

/* opcode reg, [mem] (or [mem], reg): `op` is the 16/32/64-bit opcode; the byte
 * form is op - 1 (the ALU, MOV and TEST rows). A 0F-map opcode is op | 0x0f00. */
static inline void
op_rm(struct emit *e, unsigned op, unsigned size, unsigned r, struct mref m)
{
	prefixes(e, size, r, m.index, m.base);
	if (op > 0xff)
		e8(e, op >> 8);
	e8(e, (op & 0xff) - (size == 1 ? 1 : 0));
	modrm_mem(e, r, m);
}

/* opcode reg, reg (ModRM.mod = 3; `r` in ModRM.reg, `b` in ModRM.rm). */
static inline void
op_rr(struct emit *e, unsigned op, unsigned size, unsigned r, unsigned b)
{
	prefixes(e, size, r, HNONE, b);
	if (op > 0xff)
		e8(e, op >> 8);
	e8(e, (op & 0xff) - (size == 1 ? 1 : 0));
	e8(e, 0xc0 | ((r & 7) << 3) | (b & 7));
}

/* Opcodes of the forms above (the 16/32/64-bit rows). */
enum {
	OP_ADD_RM_R = 0x01,
	OP_OR_RM_R = 0x09,
	OP_AND_RM_R = 0x21,
	OP_SUB_RM_R = 0x29,
	OP_XOR_RM_R = 0x31,
	OP_CMP_RM_R = 0x39,
	OP_ADD_R_RM = 0x03,
	OP_SUB_R_RM = 0x2b,
	OP_CMP_R_RM = 0x3b,
	OP_TEST = 0x85,
	OP_MOV_ST = 0x89, /* mov [mem], reg */
	OP_MOV_LD = 0x8b, /* mov reg, [mem] */
	OP_LEA = 0x8d,
	OP_IMUL = 0x0faf,
};

/* mov reg, [mem] of `size` bytes, zero-extended into the 64-bit register. */
static inline void
load_zx(struct emit *e, unsigned size, unsigned r, struct mref m)
{
	if (size >= 4) {
		op_rm(e, OP_MOV_LD, size, r, m);
		return;
	}
	prefixes(e, 4, r, m.index, m.base);
	e8(e, 0x0f);
	e8(e, size == 1 ? 0xb6 : 0xb7);
	modrm_mem(e, r, m);
}

/* Zero-extend the low `size` bytes of r into all of r. */
static inline void
zext(struct emit *e, unsigned size, unsigned r)
{
	if (size == 8)
		return;
	if (size == 4) {
		op_rr(e, OP_MOV_ST, 4, r, r);
		return;
	}
	prefixes(e, 4, r, HNONE, r);
	e8(e, 0x0f);
	e8(e, size == 1 ? 0xb6 : 0xb7);
	e8(e, 0xc0 | ((r & 7) << 3) | (r & 7));
}

/* movzx r32, r8/r16 (src RAX..RBX or R8..R15: no SPL..DIL ambiguity). */
static inline void
movzx_rr(struct emit *e, unsigned size, unsigned r, unsigned b)
{
	prefixes(e, 4, r, HNONE, b);
	e8(e, 0x0f);
	e8(e, size == 1 ? 0xb6 : 0xb7);
	e8(e, 0xc0 | ((r & 7) << 3) | (b & 7));
}

/* An immediate of `bytes` bytes (1, 2 or 4), little-endian. */
static inline void
imm_n(struct emit *e, unsigned bytes, int32_t imm)
{
	for (unsigned k = 0; k < bytes; k++)
		e8(e, ((uint32_t)imm >> (8 * k)) & 0xff);
}

/* The immediate of a group-1 form: 83's imm8 when it fits, else the operand's. */
static inline unsigned
grp1_imm_bytes(unsigned size, int32_t imm)
{
	if (size == 1 || (imm >= -128 && imm < 128))
		return 1;
	return size == 2 ? 2 : 4;
}

/* Group 1 with an immediate: /ext of 81 (80 for bytes), on a register. */
static inline void
grp1_ri(struct emit *e, unsigned ext, unsigned size, unsigned r, int32_t imm)
{
	unsigned n = grp1_imm_bytes(size, imm);
	prefixes(e, size, HNONE, HNONE, r);
	e8(e, size == 1 ? 0x80 : n == 1 ? 0x83 : 0x81);
	e8(e, 0xc0 | (ext << 3) | (r & 7));
	imm_n(e, n, imm);
}

/* Group 1 with an immediate on memory. */
static inline void
grp1_mi(struct emit *e, unsigned ext, unsigned size, struct mref m, int32_t imm)
{
	unsigned n = grp1_imm_bytes(size, imm);
	prefixes(e, size, HNONE, m.index, m.base);
	e8(e, size == 1 ? 0x80 : n == 1 ? 0x83 : 0x81);
	modrm_mem(e, ext, m);
	imm_n(e, n, imm);
}

/* mov [mem], imm (sign-extended imm32 for 8 bytes). */
static inline void
mov_mi(struct emit *e, unsigned size, struct mref m, int32_t imm)
{
	prefixes(e, size, HNONE, m.index, m.base);
	e8(e, size == 1 ? 0xc6 : 0xc7);
	modrm_mem(e, 0, m);
	imm_n(e, size < 4 ? size : 4, imm);
}

/* test byte [mem], imm8 */
static inline void
test_mi8(struct emit *e, struct mref m, uint8_t imm)
{
	prefixes(e, 1, HNONE, m.index, m.base);
	e8(e, 0xf6);
	modrm_mem(e, 0, m);
	e8(e, imm);
}

/* mov r64, imm64 (the shortest form that gives the same 64-bit value). */
static inline void
mov_ri(struct emit *e, unsigned r, uint64_t v)
{
	if (v <= 0xffffffffull) { /* mov r32, imm32 zero-extends */
		prefixes(e, 4, HNONE, HNONE, r);
		e8(e, 0xb8 + (r & 7));
		e32(e, (uint32_t)v);
	} else if ((int64_t)v == (int32_t)v) {
		prefixes(e, 8, HNONE, HNONE, r);
		e8(e, 0xc7);
		e8(e, 0xc0 | (r & 7));
		e32(e, (uint32_t)v);
	} else {
		prefixes(e, 8, HNONE, HNONE, r);
		e8(e, 0xb8 + (r & 7));
		e64(e, v);
	}
}

/* Shift group 2 by an immediate count: ext 4 SHL, 5 SHR, 7 SAR. */
static inline void
shift_ri(struct emit *e, unsigned ext, unsigned size, unsigned r, unsigned count)
{
	prefixes(e, size, HNONE, HNONE, r);
	e8(e, size == 1 ? 0xc0 : 0xc1);
	e8(e, 0xc0 | (ext << 3) | (r & 7));
	e8(e, count);
}

/* Group 3 on a register: ext 2 NOT, 3 NEG (sizes 1, 2, 4, 8; byte registers
 * RAX..RBX or R8B..R15B). */
static inline void
grp3_r(struct emit *e, unsigned ext, unsigned size, unsigned r)
{
	prefixes(e, size, HNONE, HNONE, r);
	e8(e, size == 1 ? 0xf6 : 0xf7);
	e8(e, 0xc0 | (ext << 3) | (r & 7));
}

/* Shift group 2 by CL: ext 4 SHL, 5 SHR, 7 SAR. */
static inline void
shift_cl(struct emit *e, unsigned ext, unsigned size, unsigned r)
{
	prefixes(e, size, HNONE, HNONE, r);
	e8(e, size == 1 ? 0xd2 : 0xd3);
	e8(e, 0xc0 | (ext << 3) | (r & 7));
}

/* imul r, r/m, imm32 (sizes 2, 4, 8). */
static inline void
imul_rri(struct emit *e, unsigned size, unsigned r, unsigned b, int32_t imm)
{
	prefixes(e, size, r, HNONE, b);
	e8(e, 0x69);
	e8(e, 0xc0 | ((r & 7) << 3) | (b & 7));
	imm_n(e, size == 2 ? 2 : 4, imm);
}

/* setcc r8 (r is RAX..RBX). */
static inline void
setcc(struct emit *e, unsigned cc, unsigned r)
{
	e8(e, 0x0f);
	e8(e, 0x90 + cc);
	e8(e, 0xc0 | (r & 7));
}

static inline void
push_r(struct emit *e, unsigned r)
{
	if (r & 8)
		e8(e, 0x41);
	e8(e, 0x50 + (r & 7));
}

static inline void
pop_r(struct emit *e, unsigned r)
{
	if (r & 8)
		e8(e, 0x41);
	e8(e, 0x58 + (r & 7));
}

/* call through RAX to an absolute address. */
static inline void
call_abs(struct emit *e, const void *fn)
{
	mov_ri(e, RAX, (uint64_t)(uintptr_t)fn);
	e8(e, 0xff);
	e8(e, 0xd0);
}

/* jcc rel32 / jmp rel32 with the displacement left to patch; returns where
 * the 32-bit displacement is. cc < 0: jmp. */
static inline uint8_t *
jump_fwd(struct emit *e, int cc)
{
	if (cc < 0) {
		e8(e, 0xe9);
	} else {
		e8(e, 0x0f);
		e8(e, 0x80 + (unsigned)cc);
	}
	uint8_t *at = e->p;
	e32(e, 0);
	return at;
}

/* Point the displacement at `at` to `target`. */
static inline void
patch(struct emit *e, uint8_t *at, const uint8_t *target)
{
	if (e->overflow || !at)
		return;
	int32_t rel = (int32_t)(target - (at + 4));
	memcpy(at, &rel, 4);
}

/* Condition codes (the low nibble of Jcc/SETcc). */
enum {
	CC_O,
	CC_NO,
	CC_B,
	CC_AE,
	CC_E,
	CC_NE,
	CC_BE,
	CC_A,
	CC_S,
	CC_NS,
	CC_P,
	CC_NP,
	CC_L,
	CC_GE,
	CC_LE,
	CC_G
};

#endif
