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

struct trace {
	uint64_t pa;   /* physical address of the first byte */
	uint64_t lin2; /* linear page of a second page the last instruction runs into */
	uint64_t pa2;  /* its physical page, or UINT64_MAX */
	struct trace *hash_next;
	/* Traces that followed this one last time (chaining skips the hash lookup):
	 * the successor's physical address and the trace itself. */
	uint64_t succ_pa[2];
	struct trace *succ[2];
	uint8_t code_size;
	uint8_t n;
	bool valid;
	bool cached; /* false for a one-off trace (code in MMIO) */
	struct insn insn[];
};

struct tcache;

struct tcache *tcache_create(void);
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

#endif
