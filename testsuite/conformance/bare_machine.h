/*
 * A bare machine for the conformance harnesses: the physical map, an empty port
 * space (every port reads all ones) and a CPU of one model, driven directly
 * through the library API with no board around them.
 */
#ifndef FUGU_BARE_MACHINE_H
#define FUGU_BARE_MACHINE_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mmu/ioport.h"
#include "cpu/cpu.h"
#include "cpu/jit/jit.h"
#include "mmu/physmem.h"

struct machine {
	struct physmem *mem;
	struct ioports *io;
	struct cpu *cpu;
};

/* Create it with `ram` bytes of RAM and the CPU model `model`; false with a message. */
static inline bool
bare_machine_create(struct machine *m, const char *model, uint64_t ram, char *err, size_t errlen)
{
	struct cpu_features feat;
	*m = (struct machine){ 0 };
	if (cpu_features_parse(&feat, model, err, errlen) != 0)
		return false;
	m->mem = physmem_create(ram);
	m->io = ioports_create();
	if (!m->mem || !m->io) {
		snprintf(err, errlen, "cannot create the machine: %s", strerror(errno));
		return false;
	}
	/* FUGU_JIT=on|always runs the harness through the JIT (meson's -jit variants). */
	int jit = jit_mode_parse(getenv("FUGU_JIT"));
	m->cpu = cpu_create(&(struct cpu_config){
		.mem = m->mem, .io = m->io, .features = feat, .jit = jit < 0 ? JIT_OFF : jit });
	if (!m->cpu) {
		snprintf(err, errlen, "cannot create the CPU");
		return false;
	}
	return true;
}

static inline void
bare_machine_destroy(struct machine *m)
{
	cpu_destroy(m->cpu);
	ioports_destroy(m->io);
	physmem_destroy(m->mem);
}

/* The CPU alone, its machine reached through it (cpu->mem, cpu->io): for unit
 * tests that drive one CPU. NULL when the model is unknown or memory is short. */
static inline struct cpu *
bare_cpu_create(const char *model, uint64_t ram)
{
	struct machine m;
	char err[160];
	return bare_machine_create(&m, model, ram, err, sizeof(err)) ? m.cpu : NULL;
}

static inline void
bare_cpu_destroy(struct cpu *cpu)
{
	struct machine m = { .mem = cpu->mem, .io = cpu->io, .cpu = cpu };
	bare_machine_destroy(&m);
}

#endif
