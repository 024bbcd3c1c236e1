/*
 * fugu — the board: creates the address space, the port space, the clock, the
 * CPU and the devices, and wires them (ports, IRQ lines, A20, reset).
 */
#ifndef FUGU_PC_H
#define FUGU_PC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "chipset/debugport.h"
#include "chipset/timer.h"
#include "cpu/cpuid.h"

struct cpu;
struct physmem;
struct ioports;
struct tracer;

struct pc_config {
	uint64_t ram_size;
	const char *bios_path;
	struct cpu_features cpu;
	FILE *debugcon;		  /* NULL: none */
	bool exit_device;
	uint16_t exit_iobase;
	uint8_t exit_iosize;
	enum vclock_mode clock_mode;
	struct tracer *tracer;	  /* NULL: tracing off */
};

struct pc {
	struct physmem *mem;
	struct ioports *io;
	struct vclock clock;
	struct cpu *cpu;
	struct debugport debug;
	struct tracer *tracer;
};

/* Build the machine; returns NULL with a one-line message in err. */
struct pc *pc_create(const struct pc_config *cfg, char *err, size_t errlen);
void pc_destroy(struct pc *pc);
/* A system reset: the CPU and every device return to their power-on state. */
void pc_reset(struct pc *pc);

#endif
