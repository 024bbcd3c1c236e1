/*
 * fugu — the trace sinks: human-readable text, one event per line, JSON Lines,
 * and fixed-size binary records; plus what stands in front of every sink: the
 * filter (category, CPL, VMX slot, CR3, address range, instruction-count
 * window), the guest's tracing hypercall, and the plugins (frontend/plugin.h).
 * All of them work on the typed events of trace/events.h; the producers in cpu/
 * and chipset/ never format anything. When no category is enabled and no
 * plugin is loaded the CPU holds no tracer pointer and pays nothing.
 * docs/TRACING.md documents the syntax and the formats.
 */
#ifndef FUGU_TRACE_H
#define FUGU_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "trace/events.h"

struct plugins;

/* What `-d` asked for. */
struct trace_config {
	unsigned categories; /* the categories the output sink (text, JSON, binary) shows */
	struct trace_filter filter;
	bool start_off;   /* nothing reaches any sink until the guest starts it (start=off) */
	bool hypercall;   /* CPUID leaves 0x4FFF0001-3 control tracing (docs/TRACING.md) */
	bool all_repeats; /* repeats=all: no summary of repeating cycles */
};

/* Parse a -d spec ("insn,io,cpl=3,addr=0x1000-0x1fff"): categories and filter
 * keys; 0, or -1 with a one-line message. */
int trace_parse_spec(const char *spec, struct trace_config *cfg, char *err, size_t errlen);
void trace_list_categories(FILE *f);
/* Categories only ("insn,io"), for the monitor's trace-event; -1 with a message. */
int trace_parse_categories(const char *spec, unsigned *mask, char *err, size_t errlen);

/* Output formats: one event per line, as text (`name field=value ...`) or as a
 * JSON object (`{"event":"name","hdr":{...},"field":value,...}`, JSON Lines),
 * or binary records for fugu-tracedump (docs/TRACING.md). */
enum trace_format { TRACE_TEXT, TRACE_JSON, TRACE_BINARY };

/* A tracer feeding `out` in `format`, and the plugins' subscriptions (NULL for
 * none). NULL with a message when the binary header cannot be written. */
struct tracer *tracer_create(const struct trace_config *cfg, FILE *out, enum trace_format format,
			     struct plugins *plugins);
void tracer_destroy(struct tracer *t);
/* Switch output categories on or off at run time (the monitor's trace-event);
 * the caller makes the run loop re-read them. */
void tracer_set_categories(struct tracer *t, unsigned mask, bool on);

/* The binary format (docs/TRACING.md): a file header, then one record per event
 * whose size the schema fixes (the changed-register list is the one variable
 * tail). fugu-tracedump reads it back into the text or JSON sink. */
#define TRACE_BIN_MAGIC "FUGUTRC1"
#define TRACE_BIN_VERSION 2 /* 2: the header holds the current VMCS */
#define TRACE_BIN_STR 32    /* a label's bytes in a record, NUL-padded (31 kept) */
int trace_bin_decode(FILE *in, struct tracer *t, char *err, size_t errlen);

#endif
