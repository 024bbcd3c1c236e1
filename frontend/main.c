/*
 * fugu — command line and run loop.
 *
 * Options follow qemu-system-x86_64 where both have the feature, so scripts
 * written for QEMU run unchanged. Every bad option, value or file ends with one
 * line on stderr and exit status 2 before any guest code runs.
 */
#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "chipset/pc.h"
#include "cpu/cpu.h"
#include "cpu/jit/jit.h"
#include "cpu/tcache.h"
#include "firmware/bios.h"
#include "frontend/display.h"
#include "frontend/exitcodes.h"
#include "frontend/gdbstub.h"
#include "frontend/monitor.h"
#include "frontend/plugin.h"
#include "frontend/summary.h"
#include "frontend/trace.h"

#ifndef FUGU_VERSION
#define FUGU_VERSION "0.1"
#endif

struct options {
	struct pc_config pc;
	double timeout; /* seconds; 0 = none */
	bool no_reboot;
	bool stats;        /* print instruction count and speed at exit */
	FILE *run_summary; /* -run-summary FILE: the JSON summary at exit, opened at start */
	enum trace_format trace_format;
	const char *log_path;
	struct trace_config trace; /* -d: categories and filter */
	const char *plugins[16];   /* -plugin FILE.so[,key=value,...] */
	unsigned nplugins;
	const char *cpu_model;
	const char *debugcon;
	const char *serial;
	const char *display; /* none, sdl; NULL: sdl when a display is there */
	struct display_opts display_opts;
	const char *screendump; /* at exit, the screen as text, PPM or PNG to this file */
	const char *gdb;        /* -gdb tcp::PORT (-s: tcp::1234) */
	bool gdb_wait;          /* -S: stopped until the debugger continues */
	const char *monitor;    /* -monitor stdio|tcp:...,server (NULL: none) */
};

static _Noreturn void
usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("fugu: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(FUGU_EXIT_USAGE);
}

static void
print_help(void)
{
	printf("usage: fugu [options]\n"
	       "\n"
	       "Machine:\n"
	       "  -m SIZE                  guest RAM (default 128M; suffix K, M, G; plain number = "
	       "MiB)\n"
	       "  -cpu MODEL[,+f,-f]       CPU model and feature edits (-cpu help lists them)\n"
	       "  -bios FILE               system BIOS image (default " BIOS_DEFAULT_PATH ")\n"
	       "  -kernel FILE             boot a Linux bzImage or Multiboot kernel directly\n"
	       "  -initrd FILE[,FILE...]   initrd (Linux: concatenated) or Multiboot modules\n"
	       "                           (\"FILE ARGS\": the module's string)\n"
	       "  -append CMDLINE          kernel command line\n"
	       "  -device isa-debug-exit[,iobase=N][,iosize=N]\n"
	       "                           a write of v to the port exits with status (v << 1) | "
	       "1\n"
	       "                           (default: ports 0xf4-0xf7 and QEMU's 0x501-0x502)\n"
	       "  -no-reboot               exit instead of resetting (triple fault, guest reset)\n"
	       "  -clock realtime|deterministic\n"
	       "                           virtual time from the host clock (default) or from the\n"
	       "                           instruction count (reproducible runs)\n"
	       "\n"
	       "Disks (raw images; written only when the drive is writable and not -snapshot):\n"
	       "  -hda/-hdb/-hdc/-hdd FILE  IDE primary master/slave, secondary master/slave\n"
	       "  -drive file=PATH[,format=raw][,if=ide][,index=N][,media=disk][,readonly=on]\n"
	       "                           the same in QEMU's syntax (index 0-3; ',,' in PATH is "
	       "',')\n"
	       "  -snapshot                keep all disk writes in a temporary overlay file; "
	       "images\n"
	       "                           stay untouched\n"
	       "\n"
	       "I/O:\n"
	       "  -debugcon stdio|file:PATH|none   the 0xe9/0x402 debug console (default none)\n"
	       "  -serial stdio|file:PATH|tcp:HOST:PORT[,server][,nowait]|none\n"
	       "                                   COM1 backend (default none)\n"
	       "  -display none|sdl[,grab-mod=lctrl-lalt|lshift-lctrl-lalt|rctrl]"
	       "[,full-screen=on]\n"
	       "                                   the SDL window (default when DISPLAY or\n"
	       "                                   WAYLAND_DISPLAY is set) or none; hotkeys "
	       "Ctrl-Alt-\n"
	       "                                   G (mouse), F (full screen), S (screenshot),\n"
	       "                                   V (paste), End (Ctrl-Alt-Del)\n"
	       "  -full-screen                     start the window in full screen\n"
	       "  -nographic                       no display; serial on stdio\n"
	       "  -vga std|none                    PCI VGA with Bochs VBE at 00:02.0 (default "
	       "std)\n"
	       "  -screendump FILE                 at exit, write the screen to FILE: a PNG if "
	       "FILE\n"
	       "                                   ends in .png, else UTF-8 text in a text mode\n"
	       "                                   and a binary PPM in a graphics mode\n"
	       "                                   (FILE.txt / FILE.ppm ask for one of them)\n"
	       "\n"
	       "  -monitor stdio|tcp:HOST:PORT,server|none\n"
	       "                                   the human monitor (QEMU's HMP names; 'help')\n"
	       "\n"
	       "QEMU compatibility: -machine pc, -accel tcg and -smp 1 are accepted\n"
	       "(fugu has one board, one CPU, no accelerator).\n"
	       "\n"
	       "Run control and tracing:\n"
	       "  -timeout SECONDS         stop the guest after SECONDS of host time (exit status "
	       "%d)\n"
	       "  -d CATEGORIES[,FILTER]   trace categories and filters, comma-separated (-d "
	       "help)\n"
	       "  -D LOGFILE               write the trace to LOGFILE instead of stderr\n"
	       "  -trace-format text|json|binary\n"
	       "                           trace lines as text (default) or JSON objects, or\n"
	       "                           binary records for fugu-tracedump (needs -D)\n"
	       "  -plugin FILE.so[,k=v,..] load a trace plugin (docs/TRACING.md)\n"
	       "  -jit off|on|always       the JIT fast path: hot traces compiled to host code\n"
	       "                           (default off; 'always' compiles every trace)\n"
	       "  -stats                   at exit, print retired instructions, CPU time, MIPS "
	       "and\n"
	       "                           the 15 most executed instructions\n"
	       "  -run-summary FILE        at exit, write one JSON object to FILE: status, "
	       "reason,\n"
	       "                           instructions, CPU/wall seconds, MIPS, serial bytes,\n"
	       "                           triple-fault registers\n"
	       "  -gdb tcp::PORT           wait for a GDB connection (tcp:HOST:PORT to pick the\n"
	       "                           address); -s is -gdb tcp::1234\n"
	       "  -S                       do not start the CPU until the debugger continues\n"
	       "  -h, --help               this text\n"
	       "  -version, --version      print the version\n"
	       "\n"
	       "Exit status: %d guest powered off; (v << 1) | 1 isa-debug-exit (always odd);\n"
	       "%d bad usage or files; %d triple fault with -no-reboot; %d the guest needed\n"
	       "something fugu does not model yet; %d timeout.\n",
	       FUGU_EXIT_TIMEOUT, FUGU_EXIT_OK, FUGU_EXIT_USAGE, FUGU_EXIT_SHUTDOWN,
	       FUGU_EXIT_UNMODELLED, FUGU_EXIT_TIMEOUT);
}

/* "128", "128M", "1G", "65536K": bytes. Plain numbers are MiB, as in QEMU. */
static uint64_t
parse_size(const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		usage_error("bad -m value '%s'", s);
	uint64_t mult = 1ull << 20;
	if (*end) {
		switch (*end) {
		case 'k':
		case 'K': mult = 1ull << 10; break;
		case 'm':
		case 'M': mult = 1ull << 20; break;
		case 'g':
		case 'G': mult = 1ull << 30; break;
		default: usage_error("bad -m value '%s' (use a number with K, M or G)", s);
		}
		if (end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B"))
			usage_error("bad -m value '%s'", s);
	}
	uint64_t bytes = v * mult;
	if (v == 0 || bytes / mult != v)
		usage_error("bad -m value '%s'", s);
	if (bytes < (1ull << 20) || bytes > (64ull << 30))
		usage_error("-m %s is out of range (1 MiB to 64 GiB)", s);
	return bytes;
}

/* A character backend: stdio, file:PATH or none. Returns the stream or NULL for none. */
static FILE *
open_backend(const char *opt, const char *spec)
{
	if (!strcmp(spec, "none") || !strcmp(spec, "null"))
		return NULL;
	if (!strcmp(spec, "stdio"))
		return stdout;
	if (!strncmp(spec, "file:", 5)) {
		if (!spec[5])
			usage_error("%s file: needs a path", opt);
		FILE *f = fopen(spec + 5, "w");
		if (!f)
			usage_error("%s: cannot open %s: %s", opt, spec + 5, strerror(errno));
		return f;
	}
	usage_error("bad %s backend '%s' (use stdio, file:PATH or none)", opt, spec);
}

static unsigned long
parse_number(const char *what, const char *s, unsigned long max)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		usage_error("bad %s value '%s'", what, s);
	return v;
}

static void
parse_device(struct options *o, const char *spec)
{
	size_t n = strcspn(spec, ",");
	if (strncmp(spec, "isa-debug-exit", n) || n != strlen("isa-debug-exit"))
		usage_error("unknown device '%.*s' (supported: isa-debug-exit)", (int)n, spec);
	/* Without iobase=, listen where QEMU's default is (0x501, 2 bytes) and at 0xf4
	 * (4 bytes), the port scripts written for QEMU nearly always choose. */
	o->pc.exit_device = true;
	o->pc.exit_iobase = 0xf4;
	o->pc.exit_iosize = 4;
	o->pc.exit_also_qemu_default = true;
	const char *p = spec + n;
	while (*p == ',') {
		p++;
		size_t len = strcspn(p, ",");
		char item[64];
		if (len >= sizeof(item))
			usage_error("bad isa-debug-exit property '%.*s'", (int)len, p);
		memcpy(item, p, len);
		item[len] = 0;
		char *eq = strchr(item, '=');
		if (!eq)
			usage_error("bad isa-debug-exit property '%s' (use iobase=N or iosize=N)",
				    item);
		*eq = 0;
		if (!strcmp(item, "iobase")) {
			o->pc.exit_iobase = (uint16_t)parse_number("iobase", eq + 1, 0xffff);
			o->pc.exit_also_qemu_default = false;
		} else if (!strcmp(item, "iosize")) {
			unsigned long sz = parse_number("iosize", eq + 1, 4);
			if (sz != 1 && sz != 2 && sz != 4)
				usage_error("bad iosize value '%s' (1, 2 or 4)", eq + 1);
			o->pc.exit_iosize = (uint8_t)sz;
		} else
			usage_error("unknown isa-debug-exit property '%s'", item);
		p += len;
	}
}

/*
 * Put a disk image on IDE drive `index` (0-3); -1 picks the first free one.
 * The image is opened (and checked) when the board is built.
 */
static void
add_drive(struct options *o, int index, const char *path, bool readonly)
{
	if (index < 0)
		for (index = 0; index < 4 && o->pc.drive[index].path; index++)
			;
	if (index > 3)
		usage_error("too many IDE drives (at most 4: index 0-3)");
	if (o->pc.drive[index].path)
		usage_error("IDE drive index %d is given twice", index);
	if (!path[0])
		usage_error("empty disk image file name");
	o->pc.drive[index].path = path;
	o->pc.drive[index].readonly = readonly;
}

/*
 * -drive file=PATH,format=raw,if=ide[,index=N][,media=disk][,readonly=on|off]
 * (QEMU's syntax; a ',' inside a value is written ',,').
 */
static void
parse_drive(struct options *o, const char *spec)
{
	static char files[4][4096]; /* unescaped file names, alive until exit */
	static unsigned nfiles;
	char item[4096 + 16];
	const char *file = NULL;
	int index = -1;
	bool readonly = false;
	const char *p = spec;
	while (*p) {
		size_t n = 0;
		for (; *p && !(*p == ',' && p[1] != ','); p++) {
			if (*p == ',')
				p++; /* ",," is a literal comma */
			if (n + 1 >= sizeof(item))
				usage_error("-drive: option too long");
			item[n++] = *p;
		}
		item[n] = 0;
		if (*p == ',')
			p++;
		char *eq = strchr(item, '=');
		if (!eq)
			usage_error("-drive: bad property '%s' (use key=value)", item);
		*eq = 0;
		const char *v = eq + 1;
		if (!strcmp(item, "file")) {
			if (nfiles >= 4)
				usage_error("too many IDE drives (at most 4: index 0-3)");
			snprintf(files[nfiles], sizeof(files[nfiles]), "%s", v);
			file = files[nfiles++];
		} else if (!strcmp(item, "format")) {
			if (strcmp(v, "raw"))
				usage_error("-drive: format '%s' is not supported (only raw)", v);
		} else if (!strcmp(item, "if")) {
			if (strcmp(v, "ide"))
				usage_error("-drive: interface '%s' is not supported (only ide)",
					    v);
		} else if (!strcmp(item, "index")) {
			index = (int)parse_number("-drive index", v, 3);
		} else if (!strcmp(item, "media")) {
			if (strcmp(v, "disk"))
				usage_error("-drive: media '%s' is not supported (only disk)", v);
		} else if (!strcmp(item, "readonly")) {
			if (!strcmp(v, "on"))
				readonly = true;
			else if (!strcmp(v, "off"))
				readonly = false;
			else
				usage_error("-drive: bad readonly value '%s' (on or off)", v);
		} else {
			usage_error("-drive: unknown property '%s'", item);
		}
	}
	if (!file)
		usage_error("-drive: file=PATH is required");
	add_drive(o, index, file, readonly);
}

/* -display none|sdl[,grab-mod=MODS][,full-screen=on|off] (QEMU's syntax). */
static void
parse_display(struct options *o, const char *spec)
{
	static char buf[256];
	snprintf(buf, sizeof(buf), "%s", spec);
	char *save = NULL, *tok = strtok_r(buf, ",", &save);
	if (!tok || (strcmp(tok, "none") && strcmp(tok, "sdl")))
		usage_error("bad -display value '%s' (none or sdl)", spec);
	o->display = tok;
	while ((tok = strtok_r(NULL, ",", &save))) {
		if (!strncmp(tok, "grab-mod=", 9) &&
		    (!strcmp(tok + 9, "lctrl-lalt") || !strcmp(tok + 9, "lshift-lctrl-lalt") ||
		     !strcmp(tok + 9, "rctrl")))
			o->display_opts.grab_mod = tok + 9;
		else if (!strcmp(tok, "full-screen=on"))
			o->display_opts.full_screen = true;
		else if (!strcmp(tok, "full-screen=off"))
			o->display_opts.full_screen = false;
		else
			usage_error("bad -display property '%s' (grab-mod=lctrl-lalt|lshift-lctrl-"
				    "lalt|rctrl, full-screen=on|off)",
				    tok);
	}
}

/* `-OPT help` (or `?`): print the choices and exit 0, as QEMU does. */
static void
maybe_help(const char *value, const char *text)
{
	if (strcmp(value, "help") && strcmp(value, "?"))
		return;
	fputs(text, stdout);
	exit(FUGU_EXIT_OK);
}

/* The screen dump format a file name asks for: by its extension. */
enum dump_format { DUMP_AUTO, DUMP_TEXT, DUMP_PPM };

static enum dump_format
dump_format_of(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (dot && strchr(dot, '/'))
		dot = NULL;
	if (dot && !strcasecmp(dot, ".txt"))
		return DUMP_TEXT;
	if (dot && !strcasecmp(dot, ".ppm"))
		return DUMP_PPM;
	return DUMP_AUTO;
}

/*
 * Check that -screendump's file can be written, without truncating it (a
 * usage error later must not destroy an existing screenshot): an existing
 * file is opened for writing and left as it is; a new one is created and
 * removed again.
 */
static void
check_screendump_path(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd >= 0)
			unlink(path);
	}
	if (fd < 0)
		usage_error("-screendump: cannot open %s: %s", path, strerror(errno));
	close(fd);
}

/* At exit: the screen in the format the name asks for (PNG, text or PPM), or
 * as the current mode shows it when the name does not say. */
static void
write_screendump(struct vga *vga, const char *path)
{
	char err[256];
	size_t len = strlen(path);
	if (len > 4 && !strcasecmp(path + len - 4, ".png")) { /* the picture, any mode */
		if (png_write_frame(path, vga_render(vga), err, sizeof(err)) < 0)
			fprintf(stderr, "fugu: %s%s\n", err[0] == '-' ? "" : "-screendump: ", err);
		return;
	}
	enum dump_format fmt = dump_format_of(path);
	if (fmt == DUMP_AUTO) {
		if (vga_screendump(vga, path, err, sizeof(err)) < 0)
			fprintf(stderr, "fugu: %s\n", err);
		return;
	}
	bool text = vga_text_mode(vga);
	if ((fmt == DUMP_TEXT) != text) {
		fprintf(stderr,
			"fugu: -screendump %s: the screen is in a %s mode; name the file .%s\n",
			path, text ? "text" : "graphics", text ? "txt" : "ppm");
		return;
	}
	FILE *f = fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "fugu: -screendump: cannot open %s: %s\n", path, strerror(errno));
		return;
	}
	int r = text ? vga_text_dump(vga, f) : vga_ppm_dump(vga, f);
	if (fclose(f) != 0 || r < 0)
		fprintf(stderr, "fugu: -screendump: cannot write %s\n", path);
}

static void
parse_options(struct options *o, int argc, char **argv)
{
	char err[256];
	const char *cpu_spec = "max";
	for (int k = 1; k < argc; k++) {
		const char *a = argv[k];
		if (a[0] == '-' && a[1] == '-' && a[2])
			a++; /* --opt is the same as -opt */
#define ARG() (k + 1 < argc ? argv[++k] : (usage_error("option %s needs an argument", a), ""))
		if (!strcmp(a, "-h") || !strcmp(a, "-help")) {
			print_help();
			exit(FUGU_EXIT_OK);
		} else if (!strcmp(a, "-version")) {
			printf("fugu %s, a full-system x86-64 PC emulator\n", FUGU_VERSION);
			exit(FUGU_EXIT_OK);
		} else if (!strcmp(a, "-m")) {
			o->pc.ram_size = parse_size(ARG());
		} else if (!strcmp(a, "-bios")) {
			o->pc.bios_path = ARG();
		} else if (!strcmp(a, "-kernel")) {
			o->pc.kernel = ARG();
		} else if (!strcmp(a, "-initrd")) {
			o->pc.initrd = ARG();
		} else if (!strcmp(a, "-append")) {
			o->pc.append = ARG();
		} else if (!strcmp(a, "-cpu")) {
			cpu_spec = o->cpu_model = ARG();
			if (!strcmp(cpu_spec, "help") || !strcmp(cpu_spec, "?")) {
				cpu_models_list(stdout);
				exit(FUGU_EXIT_OK);
			}
		} else if (!strcmp(a, "-serial")) {
			o->serial = ARG();
			maybe_help(o->serial,
				   "COM1 backends:\n"
				   "  stdio                            this terminal (raw mode)\n"
				   "  file:PATH                        output to PATH\n"
				   "  tcp:HOST:PORT[,server][,nowait]  a TCP connection\n"
				   "  none                             nothing (default)\n");
		} else if (!strcmp(a, "-debugcon")) {
			o->debugcon = ARG();
			maybe_help(o->debugcon, "debug console backends: stdio, file:PATH, none\n");
		} else if (!strcmp(a, "-display")) {
			const char *s = ARG();
			maybe_help(s, "displays: none (headless), sdl (a window)\n");
			parse_display(o, s);
		} else if (!strcmp(a, "-full-screen")) {
			o->display_opts.full_screen = true;
		} else if (!strcmp(a, "-vga")) {
			const char *s = ARG();
			maybe_help(s,
				   "display adapters: std (QEMU stdvga with Bochs VBE, default), "
				   "none\n");
			if (!strcmp(s, "std"))
				o->pc.vga = true;
			else if (!strcmp(s, "none"))
				o->pc.vga = false;
			else
				usage_error("bad -vga value '%s' (std or none)", s);
		} else if (!strcmp(a, "-screendump")) {
			o->screendump = ARG();
		} else if (!strcmp(a, "-nographic")) {
			o->display = "none";
			if (!o->serial)
				o->serial = "stdio";
		} else if (!strcmp(a, "-no-reboot")) {
			o->no_reboot = true;
		} else if (!strcmp(a, "-stats")) {
			o->stats = true;
		} else if (!strcmp(a, "-jit")) {
			const char *s = ARG();
			maybe_help(s,
				   "-jit off|on|always: the JIT fast path (x86-64 hosts); 'always' "
				   "compiles every trace at its first run (for tests)\n");
			int mode = jit_mode_parse(s);
			if (mode < 0)
				usage_error("-jit %s: expected on, off or always", s);
			o->pc.jit = mode;
		} else if (!strcmp(a, "-run-summary")) {
			const char *path = ARG();
			if (o->run_summary)
				fclose(o->run_summary);
			/* Opened now, so a bad path fails before the guest runs. */
			o->run_summary = fopen(path, "w");
			if (!o->run_summary)
				usage_error("-run-summary: cannot open %s: %s", path,
					    strerror(errno));
		} else if (!strcmp(a, "-gdb")) {
			o->gdb = ARG();
		} else if (!strcmp(a, "-s")) {
			o->gdb = "tcp::1234";
		} else if (!strcmp(a, "-S")) {
			o->gdb_wait = true;
		} else if (!strcmp(a, "-device")) {
			const char *s = ARG();
			maybe_help(s, "devices:\n"
				      "  isa-debug-exit[,iobase=N][,iosize=1|2|4]  exit with (v << "
				      "1) | 1 "
				      "on a write of v\n");
			parse_device(o, s);
		} else if (!strcmp(a, "-hda") || !strcmp(a, "-hdb") || !strcmp(a, "-hdc") ||
			   !strcmp(a, "-hdd")) {
			add_drive(o, a[3] - 'a', ARG(), false);
		} else if (!strcmp(a, "-drive")) {
			parse_drive(o, ARG());
		} else if (!strcmp(a, "-snapshot")) {
			o->pc.snapshot = true;
		} else if (!strcmp(a, "-timeout")) {
			const char *s = ARG();
			char *end;
			errno = 0;
			double t = strtod(s, &end);
			if (errno || end == s || *end || !(t > 0) || t > 1e9)
				usage_error(
					"bad -timeout value '%s' (a positive number of seconds)",
					s);
			o->timeout = t;
		} else if (!strcmp(a, "-d")) {
			const char *s = ARG();
			if (!strcmp(s, "help") || !strcmp(s, "?")) {
				trace_list_categories(stdout);
				exit(FUGU_EXIT_OK);
			}
			if (trace_parse_spec(s, &o->trace, err, sizeof(err)) < 0)
				usage_error("%s", err);
		} else if (!strcmp(a, "-plugin")) {
			if (o->nplugins == sizeof(o->plugins) / sizeof(o->plugins[0]))
				usage_error("too many -plugin options");
			o->plugins[o->nplugins++] = ARG();
		} else if (!strcmp(a, "-D")) {
			o->log_path = ARG();
		} else if (!strcmp(a, "-trace-format")) {
			const char *s = ARG();
			maybe_help(s, "trace formats: text (default), json\n");
			if (!strcmp(s, "text"))
				o->trace_format = TRACE_TEXT;
			else if (!strcmp(s, "json"))
				o->trace_format = TRACE_JSON;
			else if (!strcmp(s, "binary"))
				o->trace_format = TRACE_BINARY;
			else
				usage_error("bad -trace-format value '%s' (text, json or binary)",
					    s);
		} else if (!strcmp(a, "-clock")) {
			const char *s = ARG();
			maybe_help(s, "clocks: realtime (host time, default), deterministic "
				      "(from the instruction count)\n");
			if (!strcmp(s, "realtime"))
				o->pc.clock_mode = VCLOCK_REALTIME;
			else if (!strcmp(s, "deterministic"))
				o->pc.clock_mode = VCLOCK_DETERMINISTIC;
			else
				usage_error("bad -clock value '%s' (realtime or deterministic)", s);
		} else if (!strcmp(a, "-M") || !strcmp(a, "-machine")) {
			/* QEMU compatibility: fugu has one board, the i440FX "pc". */
			const char *s = ARG();
			maybe_help(s, "machines:\n  pc  i440FX + PIIX3/PIIX4 (the only one; also "
				      "pc-i440fx-*)\n");
			size_t n = strcspn(s, ",");
			if (!((n == 2 && !strncmp(s, "pc", 2)) || !strncmp(s, "pc-i440fx", 9) ||
			      !strncmp(s, "type=pc", 7)))
				usage_error("-machine %.*s: fugu models only the i440FX board 'pc'",
					    (int)n, s);
		} else if (!strcmp(a, "-accel")) {
			const char *s = ARG();
			maybe_help(s, "accelerators: tcg (software emulation, the only one)\n");
			if (strcmp(s, "tcg") && strncmp(s, "tcg,", 4))
				usage_error("-accel %s: fugu has no accelerators; 'tcg' (software "
					    "emulation) is accepted",
					    s);
		} else if (!strcmp(a, "-enable-kvm")) {
			usage_error(
				"-enable-kvm: fugu has no accelerators (it emulates in software)");
		} else if (!strcmp(a, "-smp")) {
			const char *s = ARG();
			if (strcmp(s, "1") && strncmp(s, "1,", 2) && strcmp(s, "cpus=1"))
				usage_error("-smp %s: fugu models one CPU", s);
		} else if (!strcmp(a, "-monitor")) {
			const char *s = ARG();
			o->monitor = strcmp(s, "none") ? s : NULL;
		} else {
			usage_error("unknown option '%s' (see -h)", argv[k]);
		}
#undef ARG
	}
	if (!o->pc.kernel && (o->pc.initrd || o->pc.append))
		usage_error("%s needs -kernel", o->pc.initrd ? "-initrd" : "-append");
	if (cpu_features_parse(&o->pc.cpu, cpu_spec, err, sizeof(err)) < 0)
		usage_error("%s", err);
	if (o->display && !strcmp(o->display, "sdl") && !display_available())
		usage_error("-display sdl: this fugu was built without SDL2");
	if (o->display && !strcmp(o->display, "sdl") && !o->pc.vga)
		usage_error("-display sdl needs a display adapter (-vga std)");
	if (o->screendump && !o->pc.vga)
		usage_error("-screendump needs a display adapter (-vga std)");
	if (o->screendump) /* a bad path fails now, not after the run */
		check_screendump_path(o->screendump);
	if (o->monitor && !strcmp(o->monitor, "stdio") && o->serial && !strcmp(o->serial, "stdio"))
		usage_error("-monitor stdio and -serial stdio both want the terminal (use "
			    "-monitor tcp:...,server)");
	if (o->serial && strcmp(o->serial, "none") && strcmp(o->serial, "stdio") &&
	    strncmp(o->serial, "file:", 5) && strncmp(o->serial, "tcp:", 4))
		usage_error("bad -serial backend '%s' (use stdio, file:PATH, tcp:HOST:PORT[,server]"
			    "[,nowait] or none)",
			    o->serial);
}

/* Milliseconds until host time `deadline_ns`, rounded up, at least 0. */
static int
wait_ms(uint64_t deadline_ns)
{
	uint64_t now = host_now_ns();
	uint64_t ms = deadline_ns > now ? (deadline_ns - now + 999999) / 1000000 : 0;
	return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

/*
 * Idle: sleep until host time `until_ns` or until host input arrives on the
 * board's wait fd, whichever comes first (never spin). Returns true on input.
 */
static bool
idle_wait(struct pc *pc, const int *fds, unsigned nfds, struct display *disp, uint64_t until_ns)
{
	uint64_t now = host_now_ns();
	if (until_ns <= now)
		return false;
	uint64_t d = until_ns - now;
	if (disp && d > display_idle_ns(disp))
		d = display_idle_ns(disp); /* window events and the next refresh */
	if (d > 1000000000ull)
		d = 1000000000ull; /* wake at least once a second to re-check */
	struct timespec ts = { (time_t)(d / 1000000000ull), (long)(d % 1000000000ull) };
	struct pollfd pfd[4] = { { .fd = pc_wait_fd(pc), .events = POLLIN } };
	for (unsigned k = 0; k < nfds && k < 3; k++)
		pfd[1 + k] = (struct pollfd){ .fd = fds[k], .events = POLLIN };
	return ppoll(pfd, 1 + (nfds < 3 ? nfds : 3), &ts, NULL) > 0; /* fds < 0 are ignored */
}

#define REALTIME_SLICE 50000 /* instructions between host-clock checks */
#define HOST_POLL_NS 5000000 /* serial input and output flushing: every 5 ms at most */
#define TRIPLE_FAULT_DUMPS 3 /* register dumps shown before a reset loop is only counted */
#define MAX_SLICE                                                                                  \
	(1u << 17) /* deterministic mode: instructions between host-clock checks at most */

/* The debugger's and the monitor's descriptors, for the waits. */
static unsigned
control_fds(struct gdbstub *gdb, struct monitor *mon, int fds[2])
{
	fds[0] = gdb ? gdbstub_fd(gdb) : -1;
	fds[1] = mon ? monitor_fd(mon) : -1;
	return 2;
}

/* Serve the debugger and the monitor; false when one of them ends fugu. */
static bool
serve_controls(struct gdbstub *gdb, struct monitor *mon)
{
	if (gdb && gdbstub_serve(gdb, 0) == GDBSTUB_KILL)
		return false;
	if (mon) {
		monitor_serve(mon);
		if (monitor_quit(mon))
			return false;
	}
	return true;
}

/* Run the machine until it ends; the exit status, with why in sum->reason and
 * every triple fault recorded in sum (-run-summary). */
static int
run(struct pc *pc, struct gdbstub *gdb, struct monitor *mon, struct display *disp,
    const struct options *o, uint64_t host_deadline, struct run_summary *sum)
{
	struct cpu *cpu = pc->cpu;
	uint64_t next_host_poll = 0;
	bool was_paused = false;
	uint64_t next_fault_report = 0;
	for (;;) {
		/* The debugger or the monitor may hold the machine; the virtual clock
		 * stands still meanwhile (no time passes for the guest). */
		bool paused = (gdb && gdbstub_stopped(gdb)) || (mon && monitor_paused(mon));
		if (paused != was_paused) {
			if (paused)
				vclock_pause(&pc->clock);
			else
				vclock_resume(&pc->clock);
			was_paused = paused;
		}
		if (paused) {
			int fds[2];
			unsigned n = control_fds(gdb, mon, fds);
			struct pollfd pfd[2] = { { .fd = fds[0], .events = POLLIN },
						 { .fd = fds[1], .events = POLLIN } };
			poll(pfd, n, disp ? 15 : 100); /* the window keeps its events flowing */
			if (!serve_controls(gdb, mon)) {
				sum->reason = "quit";
				return FUGU_EXIT_OK;
			}
			if (disp && !display_poll(disp, true)) {
				sum->reason = "window-closed"; /* power off, as QEMU */
				return FUGU_EXIT_OK;
			}
			if (pc->reset_requested) { /* the monitor's system_reset */
				if (o->no_reboot) {
					sum->reason = "reset";
					return FUGU_EXIT_OK;
				}
				pc_reset(pc);
			}
			if (host_now_ns() >= host_deadline) {
				sum->reason = "timeout";
				fprintf(stderr,
					"fugu: timeout after %g s (the machine was paused)\n",
					o->timeout);
				return FUGU_EXIT_TIMEOUT;
			}
			continue;
		}
		uint64_t budget = REALTIME_SLICE;
		if (pc->clock.mode == VCLOCK_DETERMINISTIC) {
			uint64_t next = vclock_next_deadline(&pc->clock),
				 now = vclock_now(&pc->clock);
			budget = next == VCLOCK_NEVER ? MAX_SLICE
				 : next > now         ? (next - now) / pc->clock.ns_per_insn
						      : 0;
			if (budget == 0)
				budget = 1;
			if (budget > MAX_SLICE)
				budget = MAX_SLICE;
		}
		enum cpu_exit r = cpu_exec(cpu, budget);
		vclock_run_expired(&pc->clock);
		if (pc->debug.exit_requested) {
			sum->reason = "debug-exit";
			return pc->debug.exit_status & 0xff;
		}
		if (pc->poweroff_requested) {
			sum->reason = "poweroff";
			return FUGU_EXIT_OK; /* ACPI soft off */
		}
		if (pc->reset_requested) {
			/* 8042, port 0x92 or 0xCF9 reset: -no-reboot turns it into an exit */
			if (o->no_reboot) {
				sum->reason = "reset";
				return FUGU_EXIT_OK;
			}
			pc_reset(pc);
			/* no `continue`: a guest that resets at once after every reset
			 * must still meet the host deadline below */
			r = CPU_EXIT_STOP;
		}
		uint64_t host_now = host_now_ns();
		if (host_now >= next_host_poll) {
			pc_poll_host(pc);
			if (!serve_controls(gdb, mon)) {
				sum->reason = "quit";
				return FUGU_EXIT_OK;
			}
			if (disp && !display_poll(disp, false)) {
				sum->reason = "window-closed"; /* power off, as QEMU */
				return FUGU_EXIT_OK;
			}
			next_host_poll = host_now + HOST_POLL_NS;
		}
		if (host_now >= host_deadline) {
			fprintf(stderr, "fugu: timeout after %g s at %04x:%" PRIx64 "\n",
				o->timeout, cpu->state.seg[S_CS].sel, cpu->state.rip);
			sum->reason = "timeout";
			return FUGU_EXIT_TIMEOUT;
		}
		switch (r) {
		case CPU_EXIT_BUDGET:
		case CPU_EXIT_STOP: break;
		case CPU_EXIT_DEBUG: gdbstub_cpu_stopped(gdb); break;
		case CPU_EXIT_HALT: {
			if (gdb && cpu->dbg.step) { /* a step into HLT with interrupts held back */
				gdbstub_cpu_stopped(gdb);
				break;
			}
			/* Idle: sleep until the next timer, host input or the timeout;
			 * never spin. A timer that just fired may have woken the CPU. */
			if (!cpu->state.halted)
				break;
			uint64_t next = vclock_next_deadline(&pc->clock);
			if (pc->clock.mode == VCLOCK_DETERMINISTIC && next != VCLOCK_NEVER) {
				vclock_skip_to(&pc->clock, next);
				break;
			}
			uint64_t wake = host_deadline;
			if (next != VCLOCK_NEVER) {
				uint64_t host_next = pc->clock.host_origin_ns + next;
				if (host_next < wake)
					wake = host_next;
			}
			int fds[2];
			unsigned n = control_fds(gdb, mon, fds);
			if (idle_wait(pc, fds, n, disp, wake)) {
				pc_poll_host(pc);
				if (!serve_controls(gdb, mon)) {
					sum->reason = "quit";
					return FUGU_EXIT_OK;
				}
			}
			break;
		}
		case CPU_EXIT_TRIPLE_FAULT:
			sum->triple_faults++;
			if (o->no_reboot) {
				fprintf(stderr, "fugu: triple fault: the CPU shut down\n");
				cpu_dump_state(cpu, stderr);
				sum->triple = cpu->state; /* flags folded in by the dump */
				sum->reason = "triple-fault";
				return FUGU_EXIT_SHUTDOWN;
			}
			/* A reset loop must not flood stderr: the first few shutdowns
			 * are shown in full, later ones counted once per second. */
			if (sum->triple_faults <= TRIPLE_FAULT_DUMPS) {
				fprintf(stderr, "fugu: triple fault: the CPU shut down\n");
				cpu_dump_state(cpu, stderr);
				fprintf(stderr, "fugu: resetting the machine%s\n",
					sum->triple_faults == TRIPLE_FAULT_DUMPS
						? " (further triple faults are only counted)"
						: "");
			} else if (host_now >= next_fault_report) {
				fprintf(stderr, "fugu: %u triple faults so far\n",
					sum->triple_faults);
				next_fault_report = host_now + 1000000000ull;
			}
			cpu_set_rflags(cpu, cpu_get_rflags(cpu)); /* fold the lazy flags */
			sum->triple = cpu->state;
			pc_reset(pc);
			break;
		case CPU_EXIT_UNMODELLED:
			cpu_dump_state(cpu, stderr);
			sum->reason = "unmodelled";
			return FUGU_EXIT_UNMODELLED;
		}
	}
}

/* -stats: the 15 most executed instructions, exact counts (cpu/tcache.h). */
static void
print_top_insns(struct cpu *cpu)
{
	static uint64_t counts[INSN_COUNT];
	bool shown[INSN_COUNT] = { false };
	tcache_insn_counts(cpu, counts);
	fprintf(stderr, "fugu: top instructions:\n");
	for (unsigned rank = 0; rank < 15; rank++) {
		unsigned best = INSN_COUNT;
		for (unsigned k = 0; k < INSN_COUNT; k++)
			if (!shown[k] && counts[k] &&
			    (best == INSN_COUNT || counts[k] > counts[best]))
				best = k;
		if (best == INSN_COUNT)
			break;
		shown[best] = true;
		fprintf(stderr, "fugu: %12" PRIu64 " %5.1f%% %s\n", counts[best],
			cpu->icount ? 100.0 * (double)counts[best] / (double)cpu->icount : 0.0,
			insn_mnemonic[best]);
	}
}

int
main(int argc, char **argv)
{
	struct options o = { .pc = { .ram_size = 128ull << 20,
				     .bios_path = BIOS_DEFAULT_PATH,
				     .clock_mode = VCLOCK_REALTIME,
				     .vga = true } };
	char err[512];
	if (argc < 2) { /* a bare `fugu` would boot nothing forever: say how to use it */
		fprintf(stderr,
			"usage: fugu [options] (-h for the list; e.g. fugu -hda disk.img)\n");
		return FUGU_EXIT_USAGE;
	}
	/* FUGU_JIT=off|on|always: the default of -jit (test setups run whole suites
	 * through the JIT with it); -jit on the command line wins. */
	int jit_env = jit_mode_parse(getenv("FUGU_JIT"));
	if (jit_env >= 0)
		o.pc.jit = jit_env;
	parse_options(&o, argc, argv);

	FILE *log = stderr;
	if (o.log_path) {
		log = fopen(o.log_path, "w");
		if (!log)
			usage_error("-D: cannot open %s: %s", o.log_path, strerror(errno));
	}
	if (o.trace_format == TRACE_BINARY && !o.log_path)
		usage_error("-trace-format binary needs a file (-D FILE)");
	struct plugins *plugins = NULL;
	if (o.nplugins) {
		const struct plugin_machine m = { o.cpu_model ? o.cpu_model : "max",
						  o.pc.ram_size };
		plugins = plugins_load(o.plugins, o.nplugins, &m, err, sizeof(err));
		if (!plugins)
			usage_error("%s", err);
	}
	if (o.trace.categories || plugins) {
		o.trace.hypercall = true;
		o.pc.tracer = tracer_create(&o.trace, log, o.trace_format, plugins);
		if (!o.pc.tracer)
			usage_error("cannot start the tracer (out of memory or -D not writable)");
	}
	if (o.debugcon)
		o.pc.debugcon = open_backend("-debugcon", o.debugcon);
	o.pc.serial = o.serial; /* COM1; opened by the board */
	o.pc.count_insns = o.stats;

	struct pc *pc = pc_create(&o.pc, err, sizeof(err));
	if (!pc)
		usage_error("%s", err);
	if (plugins)
		plugins_attach(plugins, pc);
	struct gdbstub *gdb = NULL;
	if (o.gdb && !(gdb = gdbstub_open(o.gdb, pc, o.gdb_wait, err, sizeof(err))))
		usage_error("%s", err);
	if (o.gdb_wait && !o.gdb && !o.monitor)
		fprintf(stderr, "fugu: -S without -gdb, -s or -monitor: starting anyway\n");
	struct monitor *mon = NULL;
	if (o.monitor && !(mon = monitor_open(o.monitor, pc, o.pc.tracer, err, sizeof(err))))
		usage_error("%s", err);
	if (mon && o.gdb_wait && !gdb)
		monitor_pause(mon); /* -S: the CPU waits for the monitor's cont (or gdb's) */
	/* The window: asked for, or by default when there is a display to open it on. */
	struct display *disp = NULL;
	const char *x = getenv("DISPLAY"), *wl = getenv("WAYLAND_DISPLAY");
	bool auto_sdl = !o.display && o.pc.vga && display_available() && ((x && *x) || (wl && *wl));
	if ((o.display && !strcmp(o.display, "sdl")) || auto_sdl) {
		disp = display_open(pc, &o.display_opts, err, sizeof(err));
		if (!disp && !auto_sdl)
			usage_error("-display sdl: %s", err);
	}
	struct run_summary sum = { .reason = "unknown" };
	/* -timeout counts from here: the machine is built (and the wait for a
	 * serial client below is part of the run) */
	uint64_t wall_start = host_now_ns();
	uint64_t host_deadline =
		o.timeout > 0 ? wall_start + (uint64_t)(o.timeout * 1e9) : UINT64_MAX;
	int status;
	/* -serial tcp:...,server (with wait) holds the machine until its client
	 * connects, but not past -timeout. */
	if (uart_wait_client(&pc->com[0], o.timeout > 0 ? wait_ms(host_deadline) : -1) < 0) {
		fprintf(stderr, "fugu: timeout after %g s waiting for the serial client\n",
			o.timeout);
		sum.reason = "timeout";
		status = FUGU_EXIT_TIMEOUT;
	} else {
		status = run(pc, gdb, mon, disp, &o, host_deadline, &sum);
	}
	sum.wall_seconds = (double)(host_now_ns() - wall_start) / 1e9;
	display_close(disp);
	monitor_close(mon);
	if (gdb) {
		gdbstub_exited(gdb, status);
		gdbstub_close(gdb);
	}
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	double cpu_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	if (o.run_summary) {
		sum.status = status;
		sum.instructions = pc->cpu->icount;
		sum.cpu_seconds = cpu_s;
		sum.serial_bytes = pc->com[0].tx_bytes;
		run_summary_write(o.run_summary, &sum);
		if (fclose(o.run_summary) != 0)
			fprintf(stderr, "fugu: -run-summary: %s\n", strerror(errno));
	}
	if (o.stats) {
		fprintf(stderr, "fugu: %" PRIu64 " instructions, %.3f s CPU, %.1f MIPS\n",
			pc->cpu->icount, cpu_s,
			cpu_s > 0 ? (double)pc->cpu->icount / cpu_s / 1e6 : 0.0);
		print_top_insns(pc->cpu);
		if (pc->cpu->jit) {
			struct jit_stats js;
			jit_get_stats(pc->cpu->jit, &js);
			fprintf(stderr,
				"fugu: jit: %" PRIu64 " traces compiled (%" PRIu64
				" not compilable), %" PRIu64 " arena flushes, %" PRIu64
				" code bytes, %.1f us a trace\n",
				js.compiled, js.failed, js.flushes, js.bytes,
				js.compiled ? (double)js.compile_ns / 1e3 / (double)js.compiled
					    : 0.0);
		}
	}
	if (o.pc.debugcon)
		fflush(o.pc.debugcon);
	if (o.screendump)
		write_screendump(&pc->vga, o.screendump);
	plugins_destroy(plugins); /* their reports, while the machine still exists */
	pc_destroy(pc);
	tracer_destroy(o.pc.tracer);
	if (log != stderr)
		fclose(log);
	if (o.pc.debugcon && o.pc.debugcon != stdout)
		fclose(o.pc.debugcon);
	return status;
}
