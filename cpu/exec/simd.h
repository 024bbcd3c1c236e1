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

#endif
