/*
 * fastreset — a fuzzer's reset loop on testsuite/guests/fastreset.asm: marker 1
 * takes a snapshot, marker 2 restores it until `restores=N` restores were done.
 * Writes "restores N" and, for each restore, "pages K" (the RAM pages it
 * copied back) to out=FILE at exit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fugu-plugin.h"

const unsigned fugu_plugin_version = FUGU_PLUGIN_API_VERSION;

static const struct fugu_api *api;
static FILE *out;
static struct fugu_snapshot *snap;
static unsigned restores, wanted;
static uint64_t pages[64];

static void
on_marker(uint32_t value)
{
	if (value == 1 && !snap) {
		snap = api->snapshot_take();
	} else if (value == 2 && snap) {
		/* the previous restore has happened by now: its page count */
		if (restores && restores <= 64)
			pages[restores - 1] = api->snapshot_pages(snap);
		if (restores < wanted && api->snapshot_restore(snap) == 0)
			restores++;
	}
}

static void
report(void)
{
	fprintf(out, "restores %u\n", restores);
	for (unsigned k = 0; k < restores && k < 64; k++)
		fprintf(out, "pages %llu\n", (unsigned long long)pages[k]);
	/* errors: a stranger is refused, freeing twice is harmless */
	fprintf(out, "bad-restore %d\n", api->snapshot_restore((struct fugu_snapshot *)&wanted));
	api->snapshot_free(snap);
	fclose(out);
}

int
fugu_plugin_install(unsigned version, const struct fugu_api *a,
		    const struct fugu_machine_info *info, int argc, char **argv)
{
	(void)version;
	(void)info;
	api = a;
	for (int k = 1; k < argc; k++) {
		if (!strncmp(argv[k], "out=", 4))
			out = fopen(argv[k] + 4, "w");
		else if (!strncmp(argv[k], "restores=", 9))
			wanted = (unsigned)strtoul(argv[k] + 9, NULL, 0);
	}
	if (!out)
		return 1;
	api->at_exit(report);
	return api->subscribe("marker", (void (*)(void))on_marker, 0);
}
