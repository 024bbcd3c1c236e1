/*
 * fugu — tracing. One event schema (trace_events.h) drives every sink; the
 * first sink is human-readable text, one event per line. When no category is
 * enabled the CPU holds no tracer pointer and pays nothing.
 */
#ifndef FUGU_TRACE_H
#define FUGU_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "frontend/trace_events.h"

struct cpu;
struct insn;
struct tracer;

/* Parse "-d" categories ("insn,io,int"); returns the mask or -1 with a message. */
int trace_parse_categories(const char *spec, unsigned *mask, char *err, size_t errlen);
void trace_list_categories(FILE *f);

/* Output formats: one event per line, as text (`name field=value ...`) or as a
 * JSON object (`{"event":"name","field":value,...}`, JSON Lines). */
enum trace_format { TRACE_TEXT, TRACE_JSON };

struct tracer *tracer_create(unsigned categories, FILE *out);
void tracer_set_format(struct tracer *t, enum trace_format format);
void tracer_destroy(struct tracer *t);
bool tracer_wants(const struct tracer *t, enum trace_category cat);

/* Emit one event: values in the order of the schema's fields. */
void trace_emit(struct tracer *t, enum trace_event ev, const union trace_value *values);

/* Register snapshot taken before an instruction, to report what it changed. */
struct trace_regs {
	uint64_t gpr[16], rip, rflags;
	uint16_t sel[6];
};
void trace_regs_capture(struct cpu *cpu, struct trace_regs *r);
void trace_insn(struct tracer *t, struct cpu *cpu, const struct insn *i,
		const struct trace_regs *before);
void trace_interrupt(struct tracer *t, struct cpu *cpu, unsigned vector, int kind,
		     uint32_t error_code, uint64_t return_rip);

#endif
