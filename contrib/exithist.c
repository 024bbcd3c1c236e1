/*
 * exithist — a fugu plugin: a histogram of the discontinuities, printed at
 * exit: VM exits by basic exit reason once fugu models VMX (the "vmexit"
 * event, whose first field is the exit reason), and interrupts and exceptions
 * by kind and vector, which every guest has:
 *
 *   exithist: interrupt exception 14 count=3
 *   exithist: vmexit reason=10 count=7
 *
 * Options: out=FILE (default: stderr).
 * Build: cc -shared -fPIC -I fugu/include -o exithist.so exithist.c
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fugu-plugin.h"

const unsigned fugu_plugin_version = FUGU_PLUGIN_API_VERSION;

static const struct fugu_api *api;
static const char *out_path;
static uint64_t ints[4][256]; /* [kind][vector] */
static uint64_t exits[65536]; /* [basic exit reason] */
static const char *const kind_name[4] = { "exception", "software", "external", "nmi" };

/* The interrupt event: vector, kind, error code, the handler's cs:rip, the
 * return address (docs/TRACING.md). */
static void
on_interrupt(const struct fugu_event_header *h, uint8_t vector, unsigned kind, uint32_t error,
	     uint16_t cs, uint64_t rip, uint64_t ret)
{
	if (kind < 4)
		ints[kind][vector]++;
}

static void
on_vmexit(uint32_t reason)
{
	exits[reason & 0xffff]++;
}

static void
report(void)
{
	FILE *f = out_path ? fopen(out_path, "w") : stderr;
	if (!f)
		return;
	for (unsigned r = 0; r < 65536; r++)
		if (exits[r])
			fprintf(f, "exithist: vmexit reason=%u count=%llu\n", r,
				(unsigned long long)exits[r]);
	for (unsigned k = 0; k < 4; k++)
		for (unsigned v = 0; v < 256; v++)
			if (ints[k][v])
				fprintf(f, "exithist: interrupt %s %u count=%llu\n", kind_name[k],
					v, (unsigned long long)ints[k][v]);
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
		else {
			fprintf(stderr, "exithist: unknown option %s (out=FILE)\n", argv[k]);
			return 1;
		}
	}
	if (api->subscribe("interrupt", (void (*)(void))on_interrupt, FUGU_CB_HEADER))
		return 1;
	/* Absent until VMX is modelled: then only interrupts are counted. */
	api->subscribe("vmexit", (void (*)(void))on_vmexit, 0);
	api->at_exit(report);
	return 0;
}
