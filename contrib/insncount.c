/*
 * insncount — a fugu plugin: how often each instruction executed, by mnemonic
 * (the insn event's mnemonic field, fugu's instruction id), counted in a
 * per-CPU scoreboard and printed at exit, most frequent first:
 *
 *   insncount: 12345 mov
 *
 * Options: out=FILE (default: stderr), top=N (default: every instruction seen).
 * Build: cc -shared -fPIC -I fugu/include -o insncount.so insncount.c
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fugu-plugin.h"

const unsigned fugu_plugin_version = FUGU_PLUGIN_API_VERSION;

#define MAX_IDS 4096

static const struct fugu_api *api;
static struct fugu_scoreboard *counts; /* uint64_t[MAX_IDS] per CPU */
static const char *out_path;
static unsigned top = MAX_IDS;

/* The insn event's fields, in the schema's order (docs/TRACING.md). */
static void
on_insn(uint64_t icount, uint16_t cs, uint64_t rip, const uint8_t *bytes, uint8_t len, uint8_t bits,
	const struct fugu_changes *changed, uint64_t lin, unsigned mnemonic)
{
	uint64_t *c = api->scoreboard_entry(counts, api->cpu_index());
	if (mnemonic < MAX_IDS)
		c[mnemonic]++;
}

static void
report(void)
{
	FILE *f = out_path ? fopen(out_path, "w") : stderr;
	if (!f)
		return;
	uint64_t *c = api->scoreboard_entry(counts, 0);
	for (unsigned rank = 0; rank < top; rank++) {
		unsigned best = MAX_IDS;
		for (unsigned k = 0; k < MAX_IDS; k++)
			if (c[k] && (best == MAX_IDS || c[k] > c[best]))
				best = k;
		if (best == MAX_IDS)
			break;
		fprintf(f, "insncount: %llu %s\n", (unsigned long long)c[best],
			api->insn_name(best));
		c[best] = 0;
	}
	if (f != stderr)
		fclose(f);
}

int
fugu_plugin_install(unsigned version, const struct fugu_api *a,
		    const struct fugu_machine_info *info, int argc, char **argv)
{
	api = a;
	for (int k = 1; k < argc; k++) {
		if (!strncmp(argv[k], "out=", 4))
			out_path = argv[k] + 4;
		else if (!strncmp(argv[k], "top=", 4))
			top = (unsigned)strtoul(argv[k] + 4, NULL, 0);
		else {
			fprintf(stderr, "insncount: unknown option %s (out=FILE, top=N)\n",
				argv[k]);
			return 1;
		}
	}
	counts = api->scoreboard_new(MAX_IDS * sizeof(uint64_t));
	if (!counts || api->subscribe("insn", (void (*)(void))on_insn, 0))
		return 1;
	api->at_exit(report);
	return 0;
}
