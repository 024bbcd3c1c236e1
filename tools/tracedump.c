/*
 * fugu-tracedump — print a binary trace (`-trace-format binary -D FILE`) as
 * text or JSON Lines, through the same sinks fugu itself uses, so the output
 * equals what `-trace-format text|json` would have written for the same run.
 *
 * usage: fugu-tracedump [-json] FILE
 */
#include <stdio.h>
#include <string.h>

#include "frontend/trace.h"

int
main(int argc, char **argv)
{
	enum trace_format fmt = TRACE_TEXT;
	const char *path = NULL;
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "-json"))
			fmt = TRACE_JSON;
		else if (!strcmp(argv[k], "-text"))
			fmt = TRACE_TEXT;
		else if (!path && argv[k][0] != '-')
			path = argv[k];
		else
			path = NULL, k = argc;
	}
	if (!path) {
		fprintf(stderr, "usage: fugu-tracedump [-json|-text] FILE\n");
		return 2;
	}
	FILE *in = fopen(path, "rb");
	if (!in) {
		perror(path);
		return 2;
	}
	char err[256];
	/* Every category, no filter: the file holds what fugu kept. */
	struct trace_config cfg;
	trace_parse_spec("", &cfg, err, sizeof(err));
	cfg.categories = ~0u;
	struct tracer *t = tracer_create(&cfg, stdout, fmt, NULL);
	int rc = t ? trace_bin_decode(in, t, err, sizeof(err)) : -1;
	if (rc < 0)
		fprintf(stderr, "fugu-tracedump: %s: %s\n", path, t ? err : "out of memory");
	tracer_destroy(t);
	fclose(in);
	return rc < 0 ? 1 : 0;
}
