/*
 * fugu — the debug ports: POST codes on 0x80, the Bochs/QEMU debug console on
 * 0xe9 and 0x402, and QEMU's isa-debug-exit device.
 */
#ifndef FUGU_DEBUGPORT_H
#define FUGU_DEBUGPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct ioports;
struct tracer;

struct debugport {
	FILE *console;               /* -debugcon backend, or NULL for none */
	uint8_t last_post;           /* last POST code written to port 0x80 */
	bool no_e9;                  /* the console at 0x402 only: pc-testdev has 0xe8-0xeb */
	bool exit_enabled;           /* isa-debug-exit present */
	uint16_t exit_iobase;        /* its port (default 0xf4) */
	uint8_t exit_iosize;         /* its width in bytes (default 4) */
	bool exit_also_qemu_default; /* also at 0x501, 2 bytes (QEMU's default) */
	bool exit_requested;
	int exit_status; /* (value << 1) | 1, as QEMU's isa-debug-exit */
	struct tracer *tracer;
	void (*stop_cpu)(void *opaque); /* the board: make the CPU return to the run loop */
	void *stop_opaque;
};

/* Claim the ports; -1 if one is already taken. */
int debugport_init(struct debugport *d, struct ioports *io);
void debugport_reset(struct debugport *d);

#endif
