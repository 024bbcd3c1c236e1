/*
 * fugu — the VEX opcode space (SDM vol. 2A, 2.3; vol. 2D, tables with
 * the "v" forms): one row per map (0F, 0F 38, 0F 3A), VEX.pp and opcode saying
 * which encodings exist, the CPUID feature, the operands (ModRM.reg, VEX.vvvv,
 * ModRM.rm), the memory operand's size, and the #UD rules of VEX.L, VEX.W and
 * VEX.vvvv. The decoder uses a row to decide validity (vex_valid), the executor
 * (cpu/exec/avx.c) to re-encode the instruction for the host.
 */
#ifndef FUGU_CPU_VEX_H
#define FUGU_CPU_VEX_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpuid.h"

/* Operand kinds of ModRM.reg, VEX.vvvv and ModRM.rm. */
enum { VO_N, VO_V, VO_G }; /* none (reg: opcode extension; vvvv: must be 1111b), vector, GPR */

/* How a row executes. */
enum {
	VK_NONE,    /* no such instruction: #UD */
	VK_HOST,    /* re-encoded and run on the host's unit */
	VK_GPR,     /* BMI1/BMI2: a general-register instruction, run on the host */
	VK_ZERO,    /* VZEROUPPER / VZEROALL */
	VK_MXCSR,   /* VLDMXCSR (/2), VSTMXCSR (/3) */
	VK_MASKDQU, /* VMASKMOVDQU */
	VK_MASKLD,  /* VMASKMOVPS/PD, VPMASKMOVD/Q loads */
	VK_MASKST,  /* and stores */
	VK_GATHER,  /* VGATHER*, VPGATHER* (VSIB) */
};

/* Row flags. */
#define VF_L0 0x00001    /* VEX.L = 1 is #UD */
#define VF_L1 0x00002    /* VEX.L = 0 is #UD (256-bit only) */
#define VF_LIG 0x00004   /* VEX.L ignored (scalar) */
#define VF_W0 0x00008    /* VEX.W = 1 is #UD */
#define VF_W1 0x00010    /* VEX.W = 0 is #UD */
#define VF_WG 0x00020    /* VEX.W selects a 64-bit GPR operand (64-bit mode only) */
#define VF_WK 0x00040    /* VEX.W selects the element type (kept as encoded) */
#define VF_ALIGN 0x00080 /* memory operand aligned to its size, else #GP(0) (type 1) */
#define VF_STORE 0x00100 /* the r/m operand is the destination */
#define VF_NOMEM 0x00200 /* memory form #UD */
#define VF_NOREG 0x00400 /* register form #UD */
#define VF_MX 0x00800    /* SIMD floating point: MXCSR flags, #XM */
#define VF_IS4 0x01000   /* imm8[7:4] names a vector register */
#define VF_I2 0x02000    /* the 256-bit form needs AVX2 (promoted integer forms) */
#define VF_VSR 0x04000   /* VEX.vvvv is an operand of the register form only (VMOVSS/SD) */
#define VF_WSZ 0x08000   /* memory size 8 when VEX.W selects 64 bits, else 4 */
#define VF_R2 0x10000    /* the register-source form needs AVX2 (VBROADCASTSS/SD) */
#define VF_IMM 0x20000   /* an imm8 follows (as the decoder's shape says) */

struct vexrow {
	uint32_t flags;
	uint8_t kind;
	uint8_t feat; /* enum cpu_feature; AVX forms also need AVX */
	uint8_t reg, vvvv, rm;
	uint8_t m128, m256; /* memory operand bytes with VEX.L = 0 / 1 */
	uint8_t exts;       /* group rows: the valid ModRM.reg values (bit n), else 0 */
};

/* The row for map (1-3), pp (0 none, 1 66, 2 F3, 3 F2) and opcode; kind VK_NONE if none. */
const struct vexrow *vex_row(unsigned map, unsigned pp, unsigned op);

/* The decoded VEX fields, packed into insn.imm2 (with pp in bits 1:0, as the
 * legacy SSE forms keep their mandatory prefix there). */
#define VEX_PP(imm2) ((imm2)&3u)
#define VEX_L(imm2) (((imm2) >> 2) & 1u)
#define VEX_W(imm2) (((imm2) >> 3) & 1u)
#define VEX_VVVV(imm2) (((imm2) >> 4) & 15u)
#define VEX_PACK(pp, l, w, vvvv) ((uint16_t)((pp) | (l) << 2 | (w) << 3 | (vvvv) << 4))

/*
 * Is this VEX encoding an instruction (SDM vol. 2A, 2.3 and the exception
 * classes of 2.4-2.5, the decode-time part): the row exists, ModRM.reg is a
 * valid extension, VEX.L, VEX.W and an unused VEX.vvvv (1111b) follow the row,
 * the register/memory form exists, VSIB rules hold, and the feature is there.
 * vvvv is the register number (not inverted); sib_index the VSIB index register.
 */
bool vex_valid(const struct vexrow *r, const struct cpu_features *feat, unsigned l, unsigned w,
	       unsigned vvvv, unsigned modrm, bool mem, unsigned code_size, unsigned adsize,
	       unsigned reg, unsigned sib_index);

#endif
