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
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <capstone/capstone.h>

#include "chipset/pc.h"
#include "chipset/snapshot.h"
#include "cpu/cpu.h"
#include "cpu/jit/jit.h"
#include "cpu/tcache.h"
#include "firmware/bios.h"
#include "frontend/display.h"
#include "frontend/exitcodes.h"
#include "frontend/gdbstub.h"
#include "frontend/monitor.h"
#include "frontend/plugin.h"
#include "frontend/replay.h"
#include "frontend/summary.h"
#include "frontend/trace.h"

#ifndef FUGU_VERSION
#define FUGU_VERSION "0.1"
#endif
#define PC_MAX_CPUS_STR "16"
_Static_assert(PC_MAX_CPUS == 16, "PC_MAX_CPUS_STR names PC_MAX_CPUS");

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
	const char *loadvm;     /* -loadvm FILE: start from this snapshot */
	const char *savevm;     /* -savevm-at ICOUNT FILE: save once at that instruction count */
	uint64_t savevm_at;
	const char *record, *replay; /* -record FILE, -replay FILE */
	uint64_t record_interval;    /* -record-interval N: instructions between checkpoints */
	bool nodefaults;             /* -nodefaults: no VGA unless -vga asks for one */
	bool vga_given;              /* -vga appeared */
};

/*
 * Where parse_options ends early (a usage error: status 2; -help, -version,
 * -OPT help: status 0). The command-line fuzz harness (testsuite/fuzz/
 * fuzz_cmdline.c, which compiles this file in) installs one to parse many
 * command lines in one process: it longjmps there instead of exiting, and with
 * `quiet` a usage error's message is only formatted, not printed. fugu itself
 * never sets it, so it exits exactly as before.
 */
struct options_exit {
	jmp_buf jb;
	int status;
	bool quiet;
};
static struct options_exit *options_exit_hook;

static _Noreturn void
options_exit(int status)
{
	if (options_exit_hook) {
		options_exit_hook->status = status;
		longjmp(options_exit_hook->jb, 1);
	}
	exit(status);
}

static _Noreturn void
usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (options_exit_hook && options_exit_hook->quiet) {
		char msg[512];
		vsnprintf(msg, sizeof(msg), fmt, ap);
	} else {
		fputs("fugu: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
	options_exit(FUGU_EXIT_USAGE);
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
	       "  -device pc-testdev        QEMU's test device: scratch register at 0xe0 and "
	       "0xe8,\n"
	       "                           IRQ line n at port 0x2000 + n, 64 KiB MMIO at "
	       "0xff000000\n"
	       "  -device pci-testdev       QEMU's PCI test device (1b36:0005) for kvm-unit-tests\n"
	       "  -no-hpet                 no HPET at 0xfed00000 (also -machine pc,hpet=off)\n"
	       "  -boot [order=]DRIVES     SeaBIOS's boot order: up to three of a (floppy), "
	       "c (disk),\n"
	       "                           d (CD-ROM), n (network)\n"
	       "  -no-reboot               exit instead of resetting (triple fault, guest reset)\n"
	       "  -loadvm FILE             start from a snapshot saved by the same configuration\n"
	       "  -savevm-at ICOUNT FILE   save a snapshot when ICOUNT instructions have retired\n"
	       "                           (docs/SNAPSHOT.md); the run then goes on\n"
	       "  -record FILE             with -clock deterministic: log host input (serial,\n"
	       "                           keyboard, mouse) and a checkpoint of the machine\n"
	       "                           every -record-interval N instructions (default\n"
	       "                           4194304) to FILE\n"
	       "  -replay FILE             run again from such a log, ignoring host input; the\n"
	       "                           first divergence is reported (exit status 8)\n"
	       "  -clock realtime|deterministic\n"
	       "                           virtual time from the host clock (default) or from the\n"
	       "                           instruction count (reproducible runs)\n"
	       "\n"
	       "Disks (raw images; written only when the drive is writable and not -snapshot):\n"
	       "  -hda/-hdb/-hdc/-hdd FILE  IDE primary master/slave, secondary master/slave\n"
	       "  -cdrom FILE               an ATAPI CD-ROM with the ISO image FILE (secondary "
	       "master)\n"
	       "  -drive file=PATH[,format=raw][,if=ide][,index=N][,media=disk|cdrom]"
	       "[,readonly=on]\n"
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
	       "\n"
	       "Network (one Intel e1000 at 00:03.0; none by default):\n"
	       "  -nic user[,hostfwd=[tcp|udp]:[HADDR]:HPORT-[GADDR]:GPORT][,mac=M][,model=e1000]\n"
	       "                           user-mode network through libslirp: DHCP gives the\n"
	       "                           guest 10.0.2.15, the host is 10.0.2.2, DNS 10.0.2.3;\n"
	       "                           hostfwd forwards a host port to the guest\n"
	       "  -netdev user,id=ID[,hostfwd=...]  the same backend by name, for\n"
	       "  -device e1000[,netdev=ID][,mac=M] the card (without netdev: unconnected)\n"
	       "  -nic none                no network card\n"
	       "\n"
	       "  -monitor stdio|tcp:HOST:PORT,server|none\n"
	       "                                   the human monitor (QEMU's HMP names; 'help')\n"
	       "\n"
	       "  -smp [cpus=]N[,maxcpus=M][,sockets=S][,dies=D][,cores=C][,threads=T]\n"
	       "                           N CPUs (default 1, at most " PC_MAX_CPUS_STR "), QEMU's "
	       "topology rules;\n"
	       "                           they take turns on one host thread (deterministic)\n"
	       "\n"
	       "QEMU compatibility: -machine pc[,accel=tcg], -accel tcg, -nodefaults (no VGA\n"
	       "unless -vga std), -vnc none and -global kvm-pit.lost_tick_policy=... are accepted\n"
	       "(fugu has one board, no accelerator).\n"
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
	       "  -jit off|on|always|check the JIT fast path: hot traces compiled to host code\n"
	       "                           (default on where the host is x86-64; 'always'\n"
	       "                           compiles every trace; 'check' also runs each\n"
	       "                           compiled run in the interpreter and stops with a\n"
	       "                           report where the two differ)\n"
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
	       "%d bad usage or files; %d triple fault or VMX abort with -no-reboot; %d the\n"
	       "guest needed something fugu does not model yet; %d a -replay diverged; %d\n"
	       "timeout. man fugu (docs/fugu.1) has the details.\n",
	       FUGU_EXIT_TIMEOUT, FUGU_EXIT_OK, FUGU_EXIT_USAGE, FUGU_EXIT_SHUTDOWN,
	       FUGU_EXIT_UNMODELLED, FUGU_EXIT_DIVERGED, FUGU_EXIT_TIMEOUT);
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

/*
 * -smp [cpus=]N[,maxcpus=M][,sockets=S][,dies=D][,clusters=C][,cores=C][,threads=T],
 * computed as QEMU does for its current pc machines (hw/core/machine-smp.c:
 * omitted values from the given ones, cores preferred over sockets), with
 * its messages. fugu creates N CPUs (APIC IDs 0 to N-1) and reports M to the
 * firmware; the topology itself is not shown to the guest (CPUID leaves 4
 * and 0BH are not modelled).
 */
static void
parse_smp(const char *arg, struct pc_config *pc)
{
	static const char *const names[] = { "cpus",     "maxcpus", "sockets", "dies",
					     "clusters", "cores",   "threads" };
	enum { CPUS, MAXCPUS, SOCKETS, DIES, CLUSTERS, CORES, THREADS, NKEYS };
	unsigned long v[NKEYS] = { 0 };
	bool given[NKEYS] = { false };
	char buf[256];
	if (strlen(arg) >= sizeof(buf))
		usage_error("-smp %s: too long", arg);
	strcpy(buf, arg);
	bool first = true;
	for (char *save = NULL, *item = strtok_r(buf, ",", &save); item;
	     item = strtok_r(NULL, ",", &save), first = false) {
		char *eq = strchr(item, '='), *val = eq ? eq + 1 : item;
		unsigned key = NKEYS;
		if (!eq && first) {
			key = CPUS; /* "-smp 4" is cpus=4 */
		} else if (eq) {
			*eq = 0;
			for (unsigned k = 0; k < NKEYS; k++)
				if (!strcmp(item, names[k]))
					key = k;
		}
		if (key == NKEYS)
			usage_error(
				"-smp %s: unknown parameter '%s' (cpus, maxcpus, sockets, dies, "
				"clusters, cores, threads)",
				arg, item);
		char *end;
		errno = 0;
		unsigned long n = strtoul(val, &end, 10);
		if (errno || end == val || *end || val[0] == '-' || n > 1000000)
			usage_error("-smp %s: bad value '%s' for %s", arg, val, names[key]);
		if (n == 0)
			usage_error(
				"-smp %s: Invalid CPU topology: CPU topology parameters must be "
				"greater than zero",
				arg);
		v[key] = n;
		given[key] = true;
	}
	unsigned long cpus = v[CPUS], maxcpus = v[MAXCPUS], sockets = v[SOCKETS],
		      dies = given[DIES] ? v[DIES] : 1,
		      clusters = given[CLUSTERS] ? v[CLUSTERS] : 1, cores = v[CORES],
		      threads = v[THREADS];
	if (!cpus && !maxcpus) {
		sockets = sockets ? sockets : 1;
		cores = cores ? cores : 1;
		threads = threads ? threads : 1;
	} else {
		maxcpus = maxcpus ? maxcpus : cpus;
		sockets = sockets ? sockets : 1;
		if (!cores) {
			threads = threads ? threads : 1;
			cores = maxcpus / (sockets * dies * clusters * threads);
		}
	}
	if (!threads)
		threads = maxcpus / (sockets * dies * clusters * cores);
	unsigned long product = sockets * dies * clusters * cores * threads;
	maxcpus = maxcpus ? maxcpus : product;
	cpus = cpus ? cpus : maxcpus;
	if (product != maxcpus)
		usage_error("-smp %s: Invalid CPU topology: product of the hierarchy must match "
			    "maxcpus: sockets (%lu) * dies (%lu) * clusters (%lu) * cores (%lu) * "
			    "threads (%lu) != maxcpus (%lu)",
			    arg, sockets, dies, clusters, cores, threads, maxcpus);
	if (maxcpus < cpus)
		usage_error("-smp %s: Invalid CPU topology: maxcpus must be equal to or greater "
			    "than smp: maxcpus (%lu) < smp_cpus (%lu)",
			    arg, maxcpus, cpus);
	if (maxcpus > PC_MAX_CPUS)
		usage_error("-smp %s: Invalid SMP CPUs %lu. The max CPUs supported by fugu's "
			    "machine 'pc' is %u",
			    arg, maxcpus, PC_MAX_CPUS);
	pc->ncpus = (unsigned)cpus;
	pc->max_cpus = (unsigned)maxcpus;
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
	if ((n == 5 && !strncmp(spec, "e1000", 5)) ||
	    (n == 13 && !strncmp(spec, "e1000-82540em", 13))) {
		char err[256];
		if (net_parse_device(&o->pc.net, spec, err, sizeof(err)) < 0)
			usage_error("%s", err);
		return;
	}
	if (n == strlen("pc-testdev") && !strncmp(spec, "pc-testdev", n)) {
		if (spec[n])
			usage_error("pc-testdev takes no properties");
		o->pc.testdev = true;
		return;
	}
	if (n == strlen("pci-testdev") && !strncmp(spec, "pci-testdev", n)) {
		if (spec[n])
			usage_error("pci-testdev takes no properties");
		o->pc.pci_testdev = true;
		return;
	}
	if (strncmp(spec, "isa-debug-exit", n) || n != strlen("isa-debug-exit"))
		usage_error("unknown device '%.*s' (supported: isa-debug-exit, pc-testdev, "
			    "pci-testdev, e1000)",
			    (int)n, spec);
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
add_drive(struct options *o, int index, const char *path, bool readonly, bool cdrom)
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
	o->pc.drive[index].readonly = readonly || cdrom;
	o->pc.drive[index].cdrom = cdrom;
}

/*
 * -boot [order=]DRIVES[,...]: QEMU's drive letters, a (floppy), c (disk),
 * d (CD-ROM), n (network), at most three; other properties (menu=, once=,
 * splash=...) are accepted and ignored.
 */
static void
parse_boot(struct options *o, const char *spec)
{
	static char order[8];
	const char *p = spec;
	while (*p) {
		size_t n = strcspn(p, ",");
		const char *v = NULL;
		if (!strncmp(p, "order=", 6))
			v = p + 6;
		else if (!memchr(p, '=', n))
			v = p;
		if (v) {
			size_t vn = n - (size_t)(v - p);
			if (vn == 0 || vn > 3 || strspn(v, "acdn") < vn)
				usage_error("-boot: bad order '%.*s' (up to three of a, c, d, n)",
					    (int)vn, v);
			memcpy(order, v, vn);
			order[vn] = 0;
			o->pc.boot_order = order;
		}
		p += n;
		if (*p == ',')
			p++;
	}
}

/*
 * -drive file=PATH,format=raw,if=ide[,index=N][,media=disk][,readonly=on|off]
 * (QEMU's syntax; a ',' inside a value is written ',,').
 */
static char drive_files[4][4096]; /* -drive's unescaped file names, alive until exit */
static unsigned drive_nfiles;

/* parse_options' static state back to empty (fugu starts so; the fuzz
 * harness calls this before each command line). */
static void
options_reset(void)
{
	drive_nfiles = 0;
}

static void
parse_drive(struct options *o, const char *spec)
{
	char item[4096 + 16];
	const char *file = NULL;
	int index = -1;
	bool readonly = false, cdrom = false;
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
			if (drive_nfiles >= 4)
				usage_error("too many IDE drives (at most 4: index 0-3)");
			snprintf(drive_files[drive_nfiles], sizeof(drive_files[drive_nfiles]), "%s",
				 v);
			file = drive_files[drive_nfiles++];
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
			if (strcmp(v, "disk") && strcmp(v, "cdrom"))
				usage_error("-drive: media '%s' is not supported (disk or cdrom)",
					    v);
			cdrom = !strcmp(v, "cdrom");
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
	add_drive(o, index, file, readonly, cdrom);
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
	options_exit(FUGU_EXIT_OK);
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
			options_exit(FUGU_EXIT_OK);
		} else if (!strcmp(a, "-version")) {
			printf("fugu %s, a full-system x86-64 PC emulator\n", FUGU_VERSION);
			options_exit(FUGU_EXIT_OK);
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
				options_exit(FUGU_EXIT_OK);
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
			o->vga_given = true;
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
		} else if (!strcmp(a, "-nodefaults")) {
			o->nodefaults = true; /* QEMU's default devices: here only the VGA */
		} else if (!strcmp(a, "-vnc")) {
			const char *s = ARG();
			if (strcmp(s, "none"))
				usage_error(
					"-vnc %s: fugu has no VNC server (-vnc none is accepted)",
					s);
		} else if (!strcmp(a, "-global")) {
			/* QEMU scripts set the in-kernel PIT's policy for lost ticks; fugu's
			 * PIT is computed from the clock and loses none. */
			const char *s = ARG();
			if (strncmp(s, "kvm-pit.lost_tick_policy=", 25))
				usage_error(
					"-global %s: only kvm-pit.lost_tick_policy= is accepted",
					s);
		} else if (!strcmp(a, "-no-hpet")) {
			o->pc.no_hpet = true;
		} else if (!strcmp(a, "-no-reboot")) {
			o->no_reboot = true;
		} else if (!strcmp(a, "-stats")) {
			o->stats = true;
		} else if (!strcmp(a, "-jit")) {
			const char *s = ARG();
			maybe_help(s,
				   "-jit off|on|always|check: the JIT fast path (x86-64 hosts); "
				   "'always' compiles every trace at its first run (for tests); "
				   "'check' compiles them the same way and runs each compiled run "
				   "in the interpreter too, compares registers, flags, RIP, the "
				   "instruction count and the memory stored, and on a difference "
				   "prints the trace, disassembled, and the differing values and "
				   "exits with status 10\n");
			int mode = jit_mode_parse(s);
			if (mode < 0)
				usage_error("-jit %s: expected on, off, always or check", s);
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
			maybe_help(s,
				   "devices:\n"
				   "  isa-debug-exit[,iobase=N][,iosize=1|2|4]  exit with (v << "
				   "1) | 1 "
				   "on a write of v\n"
				   "  pc-testdev  QEMU's test device: scratch ports 0xe0/0xe8, "
				   "IRQ lines 0x2000-0x2017, MMIO at 0xff000000\n"
				   "  pci-testdev  QEMU's PCI test device 1b36:0005 (BAR0 memory, "
				   "BAR1 I/O)\n"
				   "  e1000[,netdev=ID][,mac=M]  Intel 82540EM network card at "
				   "00:03.0\n");
			parse_device(o, s);
		} else if (!strcmp(a, "-nic") || !strcmp(a, "-netdev")) {
			const char *s = ARG();
			maybe_help(s, a[2] == 'i' ? "network backends: user (libslirp), none\n"
						  : "network backends: user (libslirp)\n");
			if ((a[2] == 'i' ? net_parse_nic : net_parse_netdev)(&o->pc.net, s, err,
									     sizeof(err)) < 0)
				usage_error("%s", err);
		} else if (!strcmp(a, "-hda") || !strcmp(a, "-hdb") || !strcmp(a, "-hdc") ||
			   !strcmp(a, "-hdd")) {
			add_drive(o, a[3] - 'a', ARG(), false, false);
		} else if (!strcmp(a, "-cdrom")) {
			add_drive(o, 2, ARG(), true, true); /* secondary master, as QEMU */
		} else if (!strcmp(a, "-boot")) {
			parse_boot(o, ARG());
		} else if (!strcmp(a, "-drive")) {
			parse_drive(o, ARG());
		} else if (!strcmp(a, "-record")) {
			o->record = ARG();
		} else if (!strcmp(a, "-replay")) {
			o->replay = ARG();
		} else if (!strcmp(a, "-record-interval")) {
			const char *n = ARG();
			char *end;
			errno = 0;
			unsigned long long v = strtoull(n, &end, 0);
			if (errno || end == n || *end || n[0] == '-' || v == 0)
				usage_error(
					"bad -record-interval '%s' (a positive instruction count)",
					n);
			o->record_interval = v;
		} else if (!strcmp(a, "-loadvm")) {
			o->loadvm = ARG();
		} else if (!strcmp(a, "-savevm-at")) {
			const char *n = ARG();
			char *end;
			errno = 0;
			unsigned long long v = strtoull(n, &end, 0);
			if (errno || end == n || *end || n[0] == '-')
				usage_error("bad -savevm-at count '%s' (an instruction count)", n);
			o->savevm_at = v;
			o->savevm = ARG();
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
				options_exit(FUGU_EXIT_OK);
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
			      !strncmp(s, "type=pc", 7) ||
			      (memchr(s, '=', n) && strncmp(s, "type=", 5))))
				usage_error("-machine %.*s: fugu models only the i440FX board 'pc'",
					    (int)n, s);
			/* Of the board's properties, hpet=on|off means something here, and
			 * accel= must name the software emulator. */
			for (const char *p = strstr(s, "accel="); p; p = strstr(p + 1, "accel=")) {
				if ((p == s || p[-1] == ',') && strncmp(p + 6, "tcg", 3))
					usage_error(
						"-machine: fugu has no accelerators (accel=tcg)");
			}
			for (const char *p = strstr(s, ",hpet="); p; p = strstr(p + 1, ",hpet=")) {
				const char *v = p + strlen(",hpet=");
				size_t vn = strcspn(v, ",");
				if (vn == 3 && !strncmp(v, "off", 3))
					o->pc.no_hpet = true;
				else if (vn == 2 && !strncmp(v, "on", 2))
					o->pc.no_hpet = false;
				else
					usage_error("-machine: bad hpet value '%.*s' (on or off)",
						    (int)vn, v);
			}
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
			maybe_help(s, "-smp [cpus=]N[,maxcpus=M][,sockets=S][,dies=D][,clusters=C]"
				      "[,cores=C][,threads=T] (N up to " PC_MAX_CPUS_STR ")\n");
			parse_smp(s, &o->pc);
		} else if (!strcmp(a, "-monitor")) {
			const char *s = ARG();
			o->monitor = strcmp(s, "none") ? s : NULL;
		} else {
			usage_error("unknown option '%s' (see -h)", argv[k]);
		}
#undef ARG
	}
	if (o->nodefaults && !o->vga_given)
		o->pc.vga = false;
	if (net_config_finish(&o->pc.net, err, sizeof(err)) < 0)
		usage_error("%s", err);
	if (o->pc.net.user && (o->record || o->replay))
		usage_error("%s: network input from the host is not recorded (use -nic none)",
			    o->record ? "-record" : "-replay");
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
	/* They place events by one CPU's instruction count (docs/SNAPSHOT.md). */
	if (o->pc.ncpus > 1 && (o->savevm || o->record || o->replay))
		usage_error("%s needs one CPU (-smp 1): several CPUs are not recorded or saved "
			    "at an instruction count yet",
			    o->savevm   ? "-savevm-at"
			    : o->record ? "-record"
					: "-replay");
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
	struct pollfd pfd[64];
	unsigned n = 0;
	for (unsigned k = 0; k < nfds && k < 3; k++)
		pfd[n++] = (struct pollfd){ .fd = fds[k], .events = POLLIN };
	n += pc_wait_fds(pc, pfd + n, 64 - n, &d); /* serial input, the network's sockets */
	struct timespec ts = { (time_t)(d / 1000000000ull), (long)(d % 1000000000ull) };
	return ppoll(pfd, n, &ts, NULL) > 0; /* fds < 0 are ignored */
}

#define REALTIME_SLICE 50000 /* instructions between host-clock checks */
#define HOST_POLL_NS 5000000 /* serial input and output flushing: every 5 ms at most */
#define TRIPLE_FAULT_DUMPS 3 /* register dumps shown before a reset loop is only counted */
#define SMP_SLICE 10000      /* with several CPUs: instructions one CPU runs before the next */
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

/* Whether any CPU has work (else the machine idles until the next timer). */
static bool
any_runnable(const struct pc *pc)
{
	if (pc->suspended)
		return false; /* ACPI S3: only a wake event starts the CPUs again */
	for (unsigned k = 0; k < pc->ncpus; k++)
		if (cpu_runnable(pc->cpus[k]))
			return true;
	return false;
}

/*
 * The CPU to run next: with several CPUs, the next runnable one after the
 * last in round-robin order (the current one when none is), made current.
 * The order depends only on the machine's state, so deterministic runs stay
 * reproducible (docs/ARCHITECTURE.md, "Several CPUs").
 */
static struct cpu *
next_cpu(struct pc *pc)
{
	if (pc->ncpus == 1)
		return pc->cpu;
	for (unsigned d = 1; d <= pc->ncpus; d++) {
		unsigned k = (pc->cur + d) % pc->ncpus;
		if (cpu_runnable(pc->cpus[k])) {
			pc_switch_cpu(pc, k);
			break;
		}
	}
	return pc_cur_cpu(pc);
}

/* Instructions retired by every CPU. */
static uint64_t
total_icount(const struct pc *pc)
{
	uint64_t n = 0;
	for (unsigned k = 0; k < pc->ncpus; k++)
		n += pc->cpus[k]->icount;
	return n;
}

/* Run the machine until it ends; the exit status, with why in sum->reason and
 * every triple fault recorded in sum (-run-summary). */
static int
run(struct pc *pc, struct gdbstub *gdb, struct monitor *mon, struct display *disp,
    struct replay *rp, struct plugins *plugins, const struct options *o, uint64_t host_deadline,
    struct run_summary *sum)
{
	uint64_t next_host_poll = 0;
	bool was_paused = false;
	uint64_t next_fault_report = 0;
	bool save_pending = o->savevm != NULL;
	for (;;) {
		if (gdb)
			gdbstub_boundary(gdb); /* before the checkpoint: a rewind checks it again */
		/* -savevm-at: at the loop's top, as a -loadvm run starts */
		if (save_pending && pc->cpu->icount >= o->savevm_at) { /* one CPU: checked */
			char err[512];
			save_pending = false;
			if (machine_save(pc, o->savevm, err, sizeof(err)) < 0) {
				fprintf(stderr, "fugu: -savevm-at %s: %s\n", o->savevm, err);
				sum->reason = "savevm-failed";
				return FUGU_EXIT_USAGE;
			}
			fprintf(stderr,
				"fugu: saved the machine to %s at instruction %" PRIu64 "\n",
				o->savevm, pc->cpu->icount);
		}
		if (rp && replay_checkpoint(rp) < 0) {
			sum->reason = "replay-diverged";
			return FUGU_EXIT_DIVERGED;
		}
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
		struct cpu *cpu = next_cpu(pc);
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
		if (pc->ncpus > 1 && budget > SMP_SLICE)
			budget = SMP_SLICE;
		if (save_pending && o->savevm_at - cpu->icount < budget)
			budget = o->savevm_at - cpu->icount; /* stop exactly there */
		if (gdb)
			budget = gdbstub_budget(gdb, budget);
		if (rp) { /* checkpoints and recorded inputs: stop exactly there too */
			uint64_t stop = replay_next_stop(rp);
			if (stop > cpu->icount && stop - cpu->icount < budget)
				budget = stop - cpu->icount;
		}
		enum cpu_exit r = pc->suspended ? CPU_EXIT_HALT : cpu_exec(cpu, budget);
		vclock_run_expired(&pc->clock);
		plugins_boundary(plugins);
		if (pc->debug.exit_requested) {
			sum->reason = "debug-exit";
			return pc->debug.exit_status & 0xff;
		}
		if (pc->poweroff_requested) {
			sum->reason = "poweroff";
			return FUGU_EXIT_OK; /* ACPI soft off */
		}
		if (pc->suspend_requested)
			pc_suspend(pc); /* ACPI S3: the CPUs stop until a wake event */
		if (pc->suspended && pc->wake)
			pc_wakeup(pc);
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
		int fed = 0; /* replaying: recorded input reached the guest now */
		if (rp) {
			int st;
			if ((fed = replay_inputs(rp)) < 0) {
				sum->reason = "replay-diverged";
				return FUGU_EXIT_DIVERGED;
			}
			if (replay_ended(rp, &st)) {
				sum->reason = "timeout"; /* the recording ended here by -timeout */
				return st;
			}
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
			 * never spin. A timer that just fired may have woken a CPU, and
			 * with several CPUs another may still run. */
			if (any_runnable(pc) || fed)
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
		case CPU_EXIT_TRIPLE_FAULT: { /* or another shutdown: a VMX abort */
			const char *why = cpu->shutdown_why ? cpu->shutdown_why : "triple fault";
			sum->triple_faults++;
			if (o->no_reboot) {
				fprintf(stderr, "fugu: %s: the CPU shut down\n", why);
				cpu_dump_state(cpu, stderr);
				sum->triple = cpu->state; /* flags folded in by the dump */
				sum->reason = cpu->shutdown_why ? "vmx-abort" : "triple-fault";
				return FUGU_EXIT_SHUTDOWN;
			}
			/* A reset loop must not flood stderr: the first few shutdowns
			 * are shown in full, later ones counted once per second. */
			if (sum->triple_faults <= TRIPLE_FAULT_DUMPS) {
				fprintf(stderr, "fugu: %s: the CPU shut down\n", why);
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
		}
		case CPU_EXIT_UNMODELLED:
			cpu_dump_state(cpu, stderr);
			sum->reason = "unmodelled";
			return FUGU_EXIT_UNMODELLED;
		}
	}
}

/* -stats: the 15 most executed instructions, exact counts (cpu/tcache.h). */
static void
print_top_insns(struct cpu *cpu, uint64_t total)
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
			total ? 100.0 * (double)counts[best] / (double)total : 0.0,
			insn_mnemonic[best]);
	}
}

/* -jit check found a difference (it printed the values): the trace's
 * instructions, disassembled from guest memory, then the exit status. */
static void
jit_mismatch(struct cpu *cpu, uint64_t rip, unsigned n)
{
	csh cs;
	cs_mode mode = cpu->code_size == 8   ? CS_MODE_64
		       : cpu->code_size == 4 ? CS_MODE_32
					     : CS_MODE_16;
	if (cs_open(CS_ARCH_X86, mode, &cs) == CS_ERR_OK) {
		uint64_t addr = rip; /* CS base 0 in 64-bit code; else cs.base + IP */
		uint64_t lin = cpu->code_size == 8 ? addr : cpu->state.seg[S_CS].base + addr;
		for (unsigned k = 0; k < n; k++) {
			uint8_t bytes[16];
			size_t len = 16;
			while (len && !cpu_peek(cpu, lin, false, bytes, len))
				len--;
			cs_insn *ci = NULL;
			if (!len || cs_disasm(cs, bytes, len, addr, 1, &ci) != 1) {
				fprintf(stderr, "    %016" PRIx64 ":  (cannot disassemble)\n",
					addr);
				break;
			}
			fprintf(stderr, "    %016" PRIx64 ":  %s %s\n", addr, ci->mnemonic,
				ci->op_str);
			addr += ci->size;
			lin += ci->size;
			cs_free(ci, 1);
		}
		cs_close(&cs);
	}
	fflush(NULL);
	_exit(FUGU_EXIT_JIT_MISMATCH);
}

int
main(int argc, char **argv)
{
	struct options o = { .pc = { .ram_size = 128ull << 20,
				     .bios_path = BIOS_DEFAULT_PATH,
				     .clock_mode = VCLOCK_REALTIME,
				     .vga = true,
				     /* the JIT where the host has one (x86-64: jit_create
				      * returns NULL elsewhere, which is the interpreter) */
				     .jit = JIT_ON } };
	char err[512];
	if (argc < 2) { /* a bare `fugu` would boot nothing forever: say how to use it */
		fprintf(stderr,
			"usage: fugu [options] (-h for the list; e.g. fugu -hda disk.img)\n");
		return FUGU_EXIT_USAGE;
	}
	options_reset();
	net_config_init(&o.pc.net);
	/* FUGU_JIT=off|on|always|check: the default of -jit (test setups run whole suites
	 * through the JIT with it); -jit on the command line wins. */
	int jit_env = jit_mode_parse(getenv("FUGU_JIT"));
	if (jit_env >= 0)
		o.pc.jit = jit_env;
	parse_options(&o, argc, argv);
	jit_set_mismatch_handler(jit_mismatch);

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
	if (o.loadvm && machine_load(pc, o.loadvm, err, sizeof(err)) < 0)
		usage_error("-loadvm %s: %s", o.loadvm, err);
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
	struct replay *rp = NULL;
	if (o.record && o.replay)
		usage_error("-record and -replay exclude each other");
	if (o.record && !(rp = replay_record(pc, o.record, o.record_interval, err, sizeof(err))))
		usage_error("%s", err);
	if (o.replay && !(rp = replay_replay(pc, o.replay, err, sizeof(err))))
		usage_error("%s", err);
	if (rp && mon)
		monitor_freeze(mon, o.record ? "recording" : "replaying");
	if (gdb && o.replay)
		gdbstub_enable_reverse(gdb, rp);
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
		status = run(pc, gdb, mon, disp, rp, plugins, &o, host_deadline, &sum);
	}
	sum.wall_seconds = (double)(host_now_ns() - wall_start) / 1e9;
	display_close(disp);
	if (replay_finish(rp, status) < 0 && status != FUGU_EXIT_DIVERGED) {
		status = FUGU_EXIT_DIVERGED;
		sum.reason = "replay-diverged";
	}
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
		sum.instructions = total_icount(pc);
		sum.cpu_seconds = cpu_s;
		sum.serial_bytes = pc->com[0].tx_bytes;
		run_summary_write(o.run_summary, &sum);
		if (fclose(o.run_summary) != 0)
			fprintf(stderr, "fugu: -run-summary: %s\n", strerror(errno));
	}
	if (o.stats) {
		uint64_t n = total_icount(pc);
		fprintf(stderr, "fugu: %" PRIu64 " instructions, %.3f s CPU, %.1f MIPS\n", n, cpu_s,
			cpu_s > 0 ? (double)n / cpu_s / 1e6 : 0.0);
		print_top_insns(pc->cpu, n);
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
