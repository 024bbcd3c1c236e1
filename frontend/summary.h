/*
 * fugu — the batch run summary (-run-summary FILE): one JSON object written at
 * exit, for scripts that run many guests. The fields are listed in README.md.
 */
#ifndef FUGU_SUMMARY_H
#define FUGU_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/state.h"

struct run_summary {
	int status;              /* fugu's exit status */
	const char *reason;      /* why the run ended: see run_summary_write */
	uint64_t instructions;   /* retired by the CPU */
	double cpu_seconds;      /* process CPU time */
	double wall_seconds;     /* host time from machine creation to the end */
	uint64_t serial_bytes;   /* bytes the guest sent out of COM1 */
	unsigned triple_faults;  /* CPU shutdowns seen (the machine resets without -no-reboot) */
	struct cpu_state triple; /* the architectural state at the last one */
};

/*
 * Write `s` to f as one JSON object and a newline: "status", "reason",
 * "instructions", "cpu_seconds", "wall_seconds", "mips" (instructions per CPU
 * microsecond), "serial_bytes", and "triple_fault": null, or an object with
 * "count" and "registers" (every field of the CPU-state table by its name,
 * as a "0x..." string: 64-bit values do not fit a JSON number exactly).
 */
void run_summary_write(FILE *f, const struct run_summary *s);

#endif
