/*
 * fugu — Jcc, one handler per condition so that each evaluates only the flags
 * its condition needs (the taken path is out of line: most branches in hot
 * loops are decided by ZF or a CMP, both cheap with lazy flags).
 */
#include "cpu/exec/exec.h"

static __attribute__((noinline)) void
jcc_taken(struct cpu *cpu, const struct insn *i)
{
	branch_taken(cpu, i);
}

#define JCC(cc)                                                                                    \
	static void jcc_##cc(struct cpu *cpu, const struct insn *i)                                \
	{                                                                                          \
		if (cond_eval(cpu, cc))                                                            \
			jcc_taken(cpu, i);                                                         \
	}

/* clang-format off */
JCC(0) JCC(1) JCC(2) JCC(3) JCC(4) JCC(5) JCC(6) JCC(7)
JCC(8) JCC(9) JCC(10) JCC(11) JCC(12) JCC(13) JCC(14) JCC(15)

const insn_fn jcc_handlers[16] = {
	jcc_0, jcc_1, jcc_2,  jcc_3,  jcc_4,  jcc_5,  jcc_6,  jcc_7,
	jcc_8, jcc_9, jcc_10, jcc_11, jcc_12, jcc_13, jcc_14, jcc_15,
};
/* clang-format on */

/* The table row names one handler for all 16 conditions; the decoder picks from
 * jcc_handlers by the opcode's low nibble. This one serves anything else. */
void
op_jcc(struct cpu *cpu, const struct insn *i)
{
	jcc_handlers[i->opcode & 15](cpu, i);
}
