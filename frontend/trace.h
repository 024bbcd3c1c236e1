/*
 * fugu — the trace sinks: human-readable text, one event per line, and JSON
 * Lines. Both format the typed events of trace/events.h; the producers in cpu/
 * and chipset/ never format anything. When no category is enabled the CPU holds
 * no tracer pointer and pays nothing.
 */
#ifndef FUGU_TRACE_H
#define FUGU_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "trace/events.h"

/* Parse "-d" categories ("insn,io,int"); returns the mask or -1 with a message. */
int trace_parse_categories(const char *spec, unsigned *mask, char *err, size_t errlen);
void trace_list_categories(FILE *f);

/* Output formats: one event per line, as text (`name field=value ...`) or as a
 * JSON object (`{"event":"name","hdr":{...},"field":value,...}`, JSON Lines;
 * docs/TRACE.md). */
enum trace_format { TRACE_TEXT, TRACE_JSON };

struct tracer *tracer_create(unsigned categories, FILE *out);
void tracer_set_format(struct tracer *t, enum trace_format format);
void tracer_destroy(struct tracer *t);

#endif
