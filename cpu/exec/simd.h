/*
 * fugu — what the SIMD executors share (cpu/exec/sse.c, cpu/exec/avx.c): the
 * host stub cache, the memory operand through the CPU's path, unmasked SIMD
 * exceptions and MXCSR.
 */
#ifndef FUGU_CPU_EXEC_SIMD_H
#define FUGU_CPU_EXEC_SIMD_H

#include "cpu/exec/exec.h"

/* A host routine that loads a context, calls stub with [rsi] = mem, stores back. */
typedef void (*simd_host_fn)(void *ctx, const void *stub, void *mem);

/* The stub for n <= 7 bytes of host code (a RET is appended), or NULL when
 * no executable memory could be mapped. */
const void *simd_stub(const uint8_t *code, unsigned n);
/* Run with unmasked exceptions: true when the host trapped (#XM), *mxcsr then
 * holds the host's MXCSR at the trap; host_mxcsr is restored in that case. */
bool simd_run_trapping(simd_host_fn run, void *ctx, const void *stub, void *mem,
		       uint32_t host_mxcsr, uint32_t *mxcsr);
/* An unmasked SIMD floating-point exception: #XM, or #UD without CR4.OSXMMEXCPT. */
_Noreturn void simd_fault(struct cpu *cpu);

uint32_t simd_mxcsr_get(const struct cpu *cpu);
/* XINUSE (vol. 1, 13.6): bit i clear when component i is in its initial configuration. */
uint64_t simd_xinuse(const struct cpu *cpu);
void simd_mxcsr_set(struct cpu *cpu, uint32_t v);

/* The memory operand at ea, n bytes: read, probe for a write, write (probing first). */
void simd_mem_read(struct cpu *cpu, const struct insn *i, uint64_t ea, uint8_t *buf, unsigned n);
void simd_mem_probe(struct cpu *cpu, const struct insn *i, uint64_t ea, unsigned n);
void simd_mem_write(struct cpu *cpu, const struct insn *i, uint64_t ea, const uint8_t *buf,
		    unsigned n);
/* MASKMOVQ/(V)MASKMOVDQU: the bytes of src whose mask byte has bit 7 set, to DS:rDI. */
void simd_maskmov(struct cpu *cpu, const struct insn *i, const uint8_t *src, const uint8_t *mask,
		  unsigned n);

/* ---- the legacy SSE forms (cpu/exec/sse.c), shared with the JIT (cpu/jit/sse.c) ---- */

/* Operand kinds of the ModRM fields. */
enum { SIMD_T_NONE, SIMD_T_X, SIMD_T_M, SIMD_T_G };

/* Shape flags. */
#define SIMD_S_ALIGN 0x01   /* legacy 16-byte memory operand must be aligned: #GP(0) */
#define SIMD_S_STORE 0x02   /* the r/m operand is the destination (memory store) */
#define SIMD_S_MEMW 0x04    /* memory size is 8 with REX.W (MOVQ, CVTSI2SS r/m64, PINSRQ) */
#define SIMD_S_NOREG 0x08   /* register form is #UD (66 0F 12 MOVLPD, ...) */
#define SIMD_S_NOMEM 0x10   /* memory form is #UD */
#define SIMD_S_EFL 0x20     /* writes the arithmetic flags */
#define SIMD_S_RCX 0x40     /* writes ECX (PCMPESTRI/PCMPISTRI) */
#define SIMD_S_MXCSR 0x80   /* floating point: MXCSR flags and exceptions */
#define SIMD_S_MASKMV 0x100 /* MASKMOVQ/MASKMOVDQU: byte-masked store to DS:rDI */

struct simd_shape {
	uint8_t reg, rm; /* SIMD_T_*: the ModRM.reg and ModRM.rm operands (reg SIMD_T_NONE:
			    an opcode extension) */
	uint8_t msize;   /* memory operand size in bytes */
	uint16_t flags;  /* SIMD_S_* */
};

/* The shape of an op_sse instruction. */
struct simd_shape simd_sse_shape(const struct insn *i);
/* The host encoding of op_sse instruction i with its ModRM.reg operand in host
 * register hreg (or the opcode extension), its ModRM.rm operand in host
 * register hrm, or for a memory form at [hrm] (hrm neither RSP nor RBP):
 * mandatory prefix, REX.W, escape, opcode, ModRM, imm8. Returns the length
 * (at most 7) written to code. */
unsigned simd_sse_encode(const struct insn *i, unsigned hreg, unsigned hrm, uint8_t *code);

#endif
