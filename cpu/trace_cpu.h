/*
 * fugu — the CPU's trace producers: the instruction event, captured around
 * exec_one in the traced run loops. The typed emitters of every other event
 * come from trace/events.h.
 */
#ifndef FUGU_TRACE_CPU_H
#define FUGU_TRACE_CPU_H

#include "trace/events.h"

struct cpu;
struct insn;

/* What the instruction event needs from before the instruction runs: the
 * header (mode, CPL, CR3 as it executed) and the registers, to report what it
 * changed. */
/* The fields of the state table an instruction event reports when they change:
 * the general registers, the segment selectors and RFLAGS. */
#define TRACE_DELTA_FIELDS 23

struct trace_insn_pre {
	struct trace_hdr hdr;
	uint64_t rip;
	uint64_t lin; /* CS.base + RIP: the instruction's linear address */
	uint16_t cs;
	uint64_t before[TRACE_DELTA_FIELDS]; /* the delta fields' values before the instruction */
};

/* Take the snapshot; false (and nothing taken) when the tracer would drop
 * the event: insn switched off by the guest, or filtered out by header or
 * address. Then the caller skips trace_insn_end. */
bool trace_insn_begin(struct cpu *cpu, struct trace_insn_pre *pre);
/* After the instruction retired: `bytes` are its raw bytes as decoded (the
 * trace cache keeps them), code_size the size it was decoded for (2, 4, 8). */
void trace_insn_end(struct tracer *t, struct cpu *cpu, const struct trace_insn_pre *pre,
		    const struct insn *i, const uint8_t *bytes, unsigned code_size);

#endif
