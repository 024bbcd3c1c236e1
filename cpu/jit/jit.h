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
};

#define JIT_THRESHOLD 16
#define JIT_ARENA_BYTES (32u << 20)

/* "on", "off" or "always"; -1 for anything else. */
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

#endif
