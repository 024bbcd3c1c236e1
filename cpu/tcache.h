/*
 * fugu — the decoded-instruction cache: short traces (straight-line runs of
 * decoded instructions ending at a control transfer, a state change or a page
 * end), keyed by physical address and code size, invalidated per physical page
 * when anything writes there.
 */
#ifndef FUGU_TCACHE_H
#define FUGU_TCACHE_H

#include "cpu/cpu_internal.h"

#define TRACE_MAX_INSNS 32
#define TCACHE_ARENA_BYTES (32u << 20)
#define TCACHE_BYTES_STRIDE 16 /* INSN_MAX_LEN rounded up */

/* A compiled trace (cpu/jit): runs at most `limit` instructions of it. */
typedef void (*trace_code_fn)(struct cpu *cpu, uint64_t limit);

struct trace {
	uint64_t pa;   /* physical address of the first byte */
	uint64_t lin2; /* linear page of a second page the last instruction runs into */
	uint64_t pa2;  /* its physical page, or UINT64_MAX */
	struct trace *hash_next;
	/* Traces that followed this one last time (chaining skips the hash lookup):
	 * the successor's physical address and the trace itself. */
	uint64_t succ_pa[2];
	struct trace *succ[2];
	uint64_t entries;  /* times entered since its counts were last folded (statistics) */
	trace_code_fn jit; /* its host code (cpu/jit), or NULL */
	void *jit_chain;   /* where a chaining compiled trace enters it */
	uint32_t hits;     /* runs in the interpreter, towards the JIT's threshold */
	bool jit_failed;   /* the JIT could not compile it: do not try again */
	uint8_t code_size;
	uint8_t n;
	bool valid;
	bool cached; /* false for a one-off trace (code in MMIO) */
	/* The raw bytes of insn[k] at bytes[k], as decoded: kept only when the
	 * instruction trace is on (tcache_create), NULL otherwise. */
	uint8_t (*bytes)[TCACHE_BYTES_STRIDE];
	struct insn insn[];
};

struct tcache;

/* keep_bytes: keep each instruction's raw bytes with its trace, for the
 * instruction trace event (costs nothing at run time either way). */
struct tcache *tcache_create(bool keep_bytes);
void tcache_destroy(struct tcache *tc);
/* The trace starting at CS:RIP, decoding it if needed. Faults like an instruction fetch.
 * `prev` is the trace that ran just before (or NULL): its successor links are
 * tried first and updated. */
struct trace *tcache_get(struct cpu *cpu, struct trace *prev);
/* Changes whenever the cache is flushed: trace pointers from before are dead. */
uint64_t tcache_generation(const struct tcache *tc);
/* Drop every trace on the physical page holding pa. Returns true if any was dropped. */
bool tcache_invalidate_page(struct cpu *cpu, uint64_t pa);
void tcache_flush(struct cpu *cpu);

/*
 * Per-instruction counts at no cost per instruction: a trace counts its entries,
 * and a run that leaves it early (stop_trace, a fault, the budget) is recorded
 * on a cold path, so instruction k of a trace ran entries - (early exits before
 * k) times. A trace's counts are folded into per-id totals (enum insn_id) when
 * the cache drops it and when tcache_insn_counts asks.
 */
void tcache_exit_early(struct cpu *cpu, struct trace *t, unsigned retired);

static inline void
tcache_enter(struct cpu *cpu, struct trace *t)
{
	t->entries++;
	cpu->cur_trace = t;
	cpu->cur_start = cpu->icount;
}

/* After a trace ran, or after a fault unwound out of it. */
static inline void
tcache_leave(struct cpu *cpu)
{
	struct trace *t = cpu->cur_trace;
	uint64_t retired = cpu->icount - cpu->cur_start;
	cpu->cur_trace = NULL;
	if (__builtin_expect(retired < t->n || !t->cached, 0))
		tcache_exit_early(cpu, t, (unsigned)retired);
}

/* Retired instructions by id so far (exact); folds every live trace's counts. */
void tcache_insn_counts(struct cpu *cpu, uint64_t counts[INSN_COUNT]);

#endif
