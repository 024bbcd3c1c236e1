/*
 * fugu — plugins (`-plugin FILE.so[,key=value,...]`): shared objects written
 * against include/fugu-plugin.h, loaded with dlopen, their callbacks called
 * through libffi with each event's fields as typed C arguments built from the
 * trace schema. The tracer (frontend/trace.c) hands them the events that pass
 * its filter.
 */
#ifndef FUGU_PLUGIN_LOADER_H
#define FUGU_PLUGIN_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "trace/events.h"

struct plugins;
struct pc;

struct plugin_machine {
	const char *cpu_model;
	uint64_t ram_size;
};

/* Load and install every plugin of `specs`; NULL with a one-line message when
 * one cannot be loaded, has the wrong API version or refuses to install. */
struct plugins *plugins_load(const char *const *specs, unsigned n, const struct plugin_machine *m,
			     char *err, size_t errlen);
/* The categories of the events some plugin subscribed to. */
unsigned plugins_categories(const struct plugins *p);
/* The machine the API calls act on (registers, memory), once it exists. */
void plugins_attach(struct plugins *p, struct pc *pc);
void plugins_dispatch(struct plugins *p, enum trace_event ev, const struct trace_hdr *h,
		      const struct trace_value *v);
/* At an instruction boundary (the run loop, between slices): the snapshots
 * the plugins asked to take or restore since the last one. NULL: nothing. */
void plugins_boundary(struct plugins *p);
/* Run the plugins' at-exit functions, then unload them. */
void plugins_destroy(struct plugins *p);

#endif
