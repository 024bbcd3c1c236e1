/*
 * fugu — the JIT: hot decoded traces compiled to x86-64 host code
 * (docs/ARCHITECTURE.md, "The JIT"). Each guest instruction becomes either an
 * inline host-code copy of its handler or a call of the handler itself, so the
 * compiled trace and the interpreter cannot disagree about semantics.
 */
#ifndef FUGU_JIT_H
#define FUGU_JIT_H

#include <stdbool.h>
#include <stdint.h>

struct cpu;
struct trace;

enum jit_mode {
	JIT_OFF,    /* the interpreter only */
	JIT_ON,     /* compile a trace after JIT_THRESHOLD runs */
	JIT_ALWAYS, /* compile every cached trace at its first run (tests) */
	JIT_CHECK,  /* as always, and every compiled run checked against the interpreter */
};

#define JIT_THRESHOLD 16
#define JIT_ARENA_BYTES (32u << 20)

/* "on", "off", "always" or "check"; -1 for anything else. */
int jit_mode_parse(const char *s);

struct jit;
/* NULL when the mode is off, the host is not x86-64, or memory is short. */
struct jit *jit_create(enum jit_mode mode);
void jit_destroy(struct jit *j);
/* Runs a trace needs before it is compiled. */
unsigned jit_threshold(const struct jit *j);
/* Compile t (sets t->jit, or t->jit_failed); true. False when the code arena
 * was full: the whole trace cache was flushed (t with it, so t must not run:
 * its page no longer notices stores) and the caller looks the trace up again. */
bool jit_compile(struct cpu *cpu, struct trace *t);
/* The trace cache was flushed: every compiled trace is gone. */
void jit_flush(struct jit *j);

/* Statistics: traces compiled, code bytes in use, microseconds compiling. */
struct jit_stats {
	uint64_t compiled, failed, flushes, bytes, compile_ns;
};
void jit_get_stats(const struct jit *j, struct jit_stats *out);

/*
 * -jit check (cpu/jit/check.c, docs/ARCHITECTURE.md "The JIT"): every run of a
 * compiled trace runs first in the interpreter, with its guest memory stores
 * logged, then is undone and runs again as host code; registers, flags, RIP,
 * the instruction count and the bytes the interpreter stored must agree.
 */
bool jit_checking(const struct jit *j);
/* Run t (compiled) for `limit` instructions the checked way; the run loop's
 * contract of t->jit. */
void jit_check_run(struct cpu *cpu, struct trace *t, unsigned limit);
/* Called after the report of a difference (which has gone to stderr): the
 * frontend disassembles the trace's n instructions from rip and exits. Without
 * one the check aborts. */
typedef void (*jit_mismatch_fn)(struct cpu *cpu, uint64_t rip, unsigned n);
void jit_set_mismatch_handler(jit_mismatch_fn fn);
/* The run for a comparison: the interpreter's stores (host bytes), a physical
 * access during it (MMIO: not repeatable) and port I/O. Only while cpu->jcheck
 * is set. */
void jit_check_log_host(struct cpu *cpu, void *host, unsigned size);
void jit_check_log_pa(struct cpu *cpu, uint64_t pa, unsigned size, bool write);
void jit_check_io(struct cpu *cpu);
/* A trace event went out during the recorded run (its sink cannot see it twice). */
struct jit_check;
void jit_check_note_event(struct jit_check *jc);
/* A TLB slot about to be filled (the second run starts from the same TLB). */
void jit_check_log_tlb(struct cpu *cpu, unsigned set, unsigned kind, uint64_t lin);

#endif
