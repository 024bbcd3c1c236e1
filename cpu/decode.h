/*
 * fugu — the instruction decoder: prefixes, the one-byte and 0F opcode maps,
 * ModRM/SIB, displacements and immediates, into a struct insn with its handler.
 */
#ifndef FUGU_DECODE_H
#define FUGU_DECODE_H

#include "cpu/cpu_internal.h"

#define INSN_MAX_LEN 15

/* decode_insn results other than a length. */
#define DECODE_NEED_MORE (-1) /* the bytes given end inside the instruction */
#define DECODE_TOO_LONG (-2)  /* longer than 15 bytes: #GP(0) (SDM vol. 2A, 2.3.11) */

/*
 * Decode one instruction from `bytes` (n of them available) for code of
 * `code_size` (2, 4 or 8) on a CPU with features `feat`. Fills *out and returns
 * its length. An undefined or masked opcode decodes to a handler that raises #UD
 * when executed, so the fault belongs to that instruction, not to its trace.
 */
int decode_insn(const uint8_t *bytes, unsigned n, unsigned code_size,
		const struct cpu_features *feat, struct insn *out);

#endif
