/*
 * Fuzz harness: the whole command line, parse_options in frontend/main.c
 * (which is compiled in here, its main renamed). The input is argv[1..]
 * separated by NUL bytes (at most MAX_ARGS arguments of MAX_ARG bytes each,
 * longer ones are cut). Only the parser runs, never the machine; a usage
 * error or -help comes back through main.c's options_exit hook instead of
 * exit(). It must accept or refuse every command line, never crash.
 *
 * The two options that touch files while parsing, -run-summary (creates and
 * truncates its file) and -screendump (creates and removes it), get a path in
 * a private temporary directory instead of the fuzzed one: the argument after
 * any argument spelled like them is replaced, whatever option consumes it.
 */
#define main fugu_main
int fugu_main(int argc, char **argv);
#include "frontend/main.c"
#undef main

#include <stdint.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_ARGS = 32, MAX_ARG = 8192 };

static char tmpdir[64];
static char safe_path[96];
/* Static, not local: changed between setjmp and longjmp (C11 7.13.2.1). */
static struct options o;
static char args[MAX_ARGS + 1][MAX_ARG + 1];

static void
remove_tmpdir(void)
{
	unlink(safe_path);
	rmdir(tmpdir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fugu-fuzz-cmdline-XXXXXX");
	if (!mkdtemp(tmpdir))
		abort();
	snprintf(safe_path, sizeof(safe_path), "%s/out", tmpdir);
	atexit(remove_tmpdir);
	/* -help and -OPT help print pages: keep libFuzzer's log (stderr) readable. */
	if (!freopen("/dev/null", "w", stdout))
		abort();
	return 0;
}

static bool
writes_file(const char *a)
{
	if (a[0] == '-' && a[1] == '-')
		a++;
	return !strcmp(a, "-run-summary") || !strcmp(a, "-screendump");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0;
	argv[argc++] = args[0];
	snprintf(args[0], sizeof(args[0]), "fugu");
	size_t i = 0;
	while (i < size && argc <= MAX_ARGS) {
		const uint8_t *end = memchr(data + i, 0, size - i);
		size_t n = end ? (size_t)(end - (data + i)) : size - i;
		size_t keep = n < MAX_ARG ? n : MAX_ARG;
		memcpy(args[argc], data + i, keep);
		args[argc][keep] = 0;
		argv[argc] = args[argc];
		argc++;
		i += n + 1;
	}
	argv[argc] = NULL;
	for (int k = 1; k + 1 < argc; k++)
		if (writes_file(argv[k]))
			argv[k + 1] = safe_path;

	memset(&o, 0, sizeof(o));
	o.pc = (struct pc_config){ .ram_size = 128ull << 20,
				   .bios_path = BIOS_DEFAULT_PATH,
				   .clock_mode = VCLOCK_REALTIME,
				   .vga = true,
				   .jit = JIT_ON };
	options_reset();
	net_config_init(&o.pc.net);
	struct options_exit ex = { .quiet = true };
	options_exit_hook = &ex;
	if (!setjmp(ex.jb)) {
		parse_options(&o, argc, argv);
		ex.status = FUGU_EXIT_OK;
	}
	options_exit_hook = NULL;
	if (ex.status != FUGU_EXIT_OK && ex.status != FUGU_EXIT_USAGE)
		abort();
	if (o.run_summary) {
		fclose(o.run_summary);
		o.run_summary = NULL;
	}
	unlink(safe_path);
	return 0;
}
