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
#include "chipset/pic.h"
#include "chipset/pit.h"
#include "chipset/rtc.h"
#include "chipset/timer.h"
#include "chipset/uart.h"
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
	const char *serial;	  /* COM1 backend: stdio, file:PATH, none (NULL: none) */
	bool exit_device;
	uint16_t exit_iobase;
	uint8_t exit_iosize;
	bool exit_also_qemu_default; /* also claim 0x501-0x502, QEMU's default iobase */
	enum vclock_mode clock_mode;
	struct tracer *tracer;	  /* NULL: tracing off */
};

struct pc {
	struct physmem *mem;
	struct ioports *io;
	struct vclock clock;
	struct cpu *cpu;
	struct debugport debug;
	struct pic pic;		  /* 8259A pair + ELCR */
	struct pit pit;		  /* 8254 + port 0x61 */
	struct rtc rtc;		  /* MC146818 + CMOS */
	struct uart com[4];	  /* 16550A COM1-COM4 */
	uint16_t irq_sources[16]; /* ISA IRQ lines: one bit per device driving each high */
	struct pc_irq_pin {
		struct pc *pc;
		uint8_t irq, source;
	} pins[8];		  /* the devices' connections to those lines */
	bool chipset_ready;	  /* the devices above were initialized (pc_destroy) */
	struct tracer *tracer;
};

/* Build the machine; returns NULL with a one-line message in err. */
struct pc *pc_create(const struct pc_config *cfg, char *err, size_t errlen);
void pc_destroy(struct pc *pc);
/* A system reset: the CPU and every device return to their power-on state. */
void pc_reset(struct pc *pc);
/* Host I/O (serial input, output flush); called by the run loop at a bounded rate. */
bool pc_poll_host(struct pc *pc);
/* The host fd whose input should wake an idle guest, or -1. */
int pc_wait_fd(const struct pc *pc);

#endif
