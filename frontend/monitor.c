/*
 * fugu — the human monitor (monitor.h). One command per line; each command is a
 * row of commands[] with its arguments and help text, so `help` cannot miss one.
 * Output goes back where the command came from (stdout or the TCP client).
 */
#define _GNU_SOURCE
#include "frontend/monitor.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chipset/pc.h"
#include "chipset/snapshot.h"
#include "cpu/cpu.h"
#include "cpu/vmx/vmx.h"
#include "frontend/display.h"
#include "frontend/keymap.h"
#include "frontend/listen.h"
#include "frontend/trace.h"
#include "mmu/physmem.h"

#define LINE_MAX_LEN 1024

struct monitor {
	struct pc *pc;
	struct tracer *tracer;
	int in_fd, out_fd; /* stdio: 0 and 1; tcp: the connection (both), -1 while none */
	int listen_fd;     /* tcp: the listening socket; -1 for stdio */
	bool paused, quit;
	struct snapshot *fast; /* snapshot_take's in-memory snapshot, or NULL */
	const char *
		frozen; /* recording or replaying: the commands that change the guest are refused */
	unsigned cpu_index; /* the CPU that info registers, info lapic, x and $REG show (cpu N) */
	char line[LINE_MAX_LEN];
	size_t nline;
};

static void
out(struct monitor *m, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || m->out_fd < 0)
		return;
	size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
	for (size_t done = 0; done < len;) {
		ssize_t w = write(m->out_fd, buf + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the client went away: drop the output */
		done += (size_t)w;
	}
}

static void
prompt(struct monitor *m)
{
	out(m, "(fugu) ");
}

/* The CPU the monitor looks at (the `cpu` command selects it; QEMU's default is 0). */
static struct cpu *
mon_cpu(const struct monitor *m)
{
	return m->pc->cpus[m->cpu_index];
}

/* ---- argument parsing ---- */

/* A number (0x.. hex, else decimal), $pc (linear) or $REG (a CPU-state field: $rip, ...). */
static bool
parse_value(struct monitor *m, const char *s, uint64_t *v)
{
	if (s[0] == '$') {
		const char *name = s + 1;
		if (!strcmp(name, "pc")) { /* as QEMU: the linear address CS.base + RIP */
			*v = cpu_pc_linear(mon_cpu(m));
			return true;
		}
		int id = state_field_find(name);
		if (id < 0)
			return false;
		*v = id == STATE_RFLAGS ? cpu_get_rflags(mon_cpu(m))
					: state_get(&mon_cpu(m)->state, (enum state_field_id)id);
		return true;
	}
	char *end;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno == 0 && end != s && *end == 0;
}

/* ---- commands ---- */

/* Output of a dump function of any length (out() writes up to 4 KiB at a time). */
static void
out_dump(struct monitor *m, void (*dump)(struct cpu *cpu, FILE *f))
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (!f)
		return;
	dump(mon_cpu(m), f);
	fclose(f);
	for (size_t k = 0; buf && k < size; k += 4000)
		out(m, "%.4000s", buf + k);
	free(buf);
}

static void
dump_registers(struct cpu *cpu, FILE *f)
{
	cpu_dump_state(cpu, f);
}

static void
dump_vmcs(struct cpu *cpu, FILE *f)
{
	vmx_dump(cpu, f);
}

static void
cmd_info_registers(struct monitor *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	out_dump(m, dump_registers);
}

static void
cmd_info_vmcs(struct monitor *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	out_dump(m, dump_vmcs);
}

static void
cmd_info_cpus(struct monitor *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	for (unsigned k = 0; k < m->pc->ncpus; k++) {
		const struct cpu *cpu = m->pc->cpus[k];
		const char *what = cpu->wait_sipi      ? " (wait-for-SIPI)"
				   : cpu->shutdown     ? " (shutdown)"
				   : cpu->state.halted ? " (halted)"
				   : cpu->state.in_smm ? " (SMM)"
				   : k == m->pc->cur   ? " (running)"
						       : "";
		out(m, "%c CPU #%u: pc=0x%016" PRIx64 " (%04x:%" PRIx64 ") apic-id=%u%s\n",
		    k == m->cpu_index ? '*' : ' ', k, cpu_pc_linear(cpu), cpu->state.seg[S_CS].sel,
		    cpu->state.rip, m->pc->lapics[k].st.id, what);
	}
}

/* cpu N: the CPU the other commands show. */
static void
cmd_cpu(struct monitor *m, int argc, char **argv)
{
	uint64_t k;
	if (argc != 2 || !parse_value(m, argv[1], &k) || k >= m->pc->ncpus) {
		out(m, "cpu: give a CPU index from 0 to %u\n", m->pc->ncpus - 1);
		return;
	}
	m->cpu_index = (unsigned)k;
}

static void
cmd_info_mtree(struct monitor *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	static const char *const kinds[] = { [PHYS_UNASSIGNED] = "unassigned",
					     [PHYS_RAM] = "ram",
					     [PHYS_ROM] = "rom",
					     [PHYS_MMIO] = "i/o" };
	const struct physmem *pm = m->pc->mem;
	out(m, "address-space: memory\n");
	for (int k = 0; k < pm->nregions; k++) {
		const struct phys_region *r = &pm->regions[k];
		out(m, "  %016" PRIx64 "-%016" PRIx64 " (prio 0, %s): %s%s\n", r->base,
		    r->base + r->size - 1,
		    (unsigned)r->kind < sizeof(kinds) / sizeof(kinds[0]) ? kinds[r->kind] : "?",
		    r->name, r->enabled ? "" : " [disabled]");
	}
}

static void
cmd_info_pci(struct monitor *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	const struct pci_bus *bus = &m->pc->pci;
	for (unsigned devfn = 0; devfn < 256; devfn++) {
		struct pci_function *fn = bus->fn[devfn];
		if (!fn)
			continue;
		uint32_t id = pci_get(fn, 0x00, 4), cls = pci_get(fn, 0x08, 4);
		out(m, "  Bus  0, device %2u, function %u:\n", devfn >> 3, devfn & 7);
		out(m, "    class %04x: PCI device %04x:%04x (rev %02x)\n", cls >> 16, id & 0xffff,
		    id >> 16, cls & 0xff);
		uint8_t pin = (uint8_t)pci_get(fn, 0x3d, 1);
		if (pin)
			out(m, "    IRQ %u, pin %c\n", (unsigned)pci_get(fn, 0x3c, 1),
			    'A' + pin - 1);
		for (unsigned b = 0; b < 6; b++) {
			uint32_t bar = pci_get(fn, 0x10 + 4 * b, 4);
			if (bar)
				out(m, "    BAR%u: %s at 0x%08x\n", b, (bar & 1) ? "I/O" : "memory",
				    bar & ((bar & 1) ? ~3u : ~15u));
		}
	}
}

static void
cmd_info_irq(struct monitor *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	out(m, "ISA IRQ lines (devices driving each high):\n");
	for (unsigned irq = 0; irq < 16; irq++)
		out(m, "  IRQ%-2u %s (sources 0x%04x)\n", irq,
		    m->pc->irq_sources[irq] ? "high" : "low", m->pc->irq_sources[irq]);
}

static void
cmd_info_pic(struct monitor *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	for (unsigned c = 0; c < 2; c++) {
		const struct pic_chip *p = &m->pc->pic.st.chip[c];
		out(m,
		    "pic%u: irr=%02x imr=%02x isr=%02x lines=%02x elcr=%02x base=%02x "
		    "init_step=%u aeoi=%u sfnm=%u special_mask=%u\n",
		    c, p->irr, p->imr, p->isr, p->lines, p->elcr, p->vector_base, p->init_step,
		    p->auto_eoi, p->sfnm, p->special_mask);
	}
}

static void
cmd_info_lapic(struct monitor *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	const struct lapic_state *s = &m->pc->lapics[m->cpu_index].st;
	out(m, "apic_base=%016" PRIx64 " id=%x tpr=%02x ldr=%08x dfr=%08x svr=%08x esr=%x\n",
	    s->apic_base, s->id, s->tpr, s->ldr, s->dfr, s->svr, s->esr);
	static const char *const names[] = { "isr", "irr", "tmr" };
	const uint32_t *bits[] = { s->isr, s->irr, s->tmr };
	for (unsigned k = 0; k < 3; k++)
		out(m, "%s=%08x%08x%08x%08x%08x%08x%08x%08x\n", names[k], bits[k][7], bits[k][6],
		    bits[k][5], bits[k][4], bits[k][3], bits[k][2], bits[k][1], bits[k][0]);
	for (unsigned k = 0; k < LVT_COUNT; k++)
		out(m, "lvt[%u]=%08x%s", k, s->lvt[k], k + 1 == LVT_COUNT ? "\n" : " ");
	out(m, "timer: initial=%08x divide=%x icr=%08x:%08x\n", s->timer_initial, s->timer_divide,
	    s->icr_hi, s->icr_lo);
}

static void
cmd_info_trace(struct monitor *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	if (!m->tracer) {
		out(m, "tracing is off (start fugu with -d to trace)\n");
		return;
	}
	out(m, "trace categories enabled: mask 0x%x (trace-event CATEGORY on|off changes them)\n",
	    m->tracer->categories);
}

/* trace-event CATEGORY on|off: change the tracer's categories at run time. */
static void
cmd_trace_event(struct monitor *m, int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[2], "on") && strcmp(argv[2], "off"))) {
		out(m, "usage: trace-event CATEGORY on|off\n");
		return;
	}
	if (!m->tracer) {
		out(m,
		    "trace-event: tracing is off (start fugu with -d ... to choose the output)\n");
		return;
	}
	unsigned mask;
	char err[160];
	if (trace_parse_categories(argv[1], &mask, err, sizeof(err)) < 0) {
		out(m, "trace-event: %s\n", err);
		return;
	}
	tracer_set_categories(m->tracer, mask, !strcmp(argv[2], "on"));
	pc_cur_cpu(m->pc)->stop_trace = true; /* the run loop re-reads the categories */
}

/* x /FMT ADDR and xp /FMT ADDR: FMT is [count][x|d|u|o|c|i][b|h|w|g] (QEMU's). */
static void
dump_memory(struct monitor *m, int argc, char **argv, bool physical)
{
	unsigned count = 1, size = 4;
	char format = 'x';
	int a = 1;
	if (argc > 1 && argv[1][0] == '/') {
		const char *f = argv[1] + 1;
		if (*f >= '0' && *f <= '9')
			count = (unsigned)strtoul(f, (char **)&f, 10);
		for (; *f; f++) {
			if (strchr("xduoci", *f))
				format = *f;
			else if (*f == 'b')
				size = 1;
			else if (*f == 'h')
				size = 2;
			else if (*f == 'w')
				size = 4;
			else if (*f == 'g')
				size = 8;
			else {
				out(m, "bad format '%s'\n", argv[1]);
				return;
			}
		}
		a = 2;
	}
	uint64_t addr;
	if (argc != a + 1 || !parse_value(m, argv[a], &addr)) {
		out(m, "usage: %s /FMT ADDR (FMT: [count][x|d|u|o|c|i][b|h|w|g])\n", argv[0]);
		return;
	}
	if (count > 4096)
		count = 4096;
	struct cpu *cpu = mon_cpu(m);
	if (format == 'i') {
		csh cs;
		cs_mode mode = cpu->code_size == 8   ? CS_MODE_64
			       : cpu->code_size == 4 ? CS_MODE_32
						     : CS_MODE_16;
		if (cs_open(CS_ARCH_X86, mode, &cs) != CS_ERR_OK)
			return;
		for (unsigned k = 0; k < count; k++) {
			uint8_t bytes[16];
			size_t n = 16;
			while (n && !cpu_peek(cpu, addr, physical, bytes, n))
				n--; /* the end of readable memory */
			cs_insn *ci = NULL;
			if (!n || cs_disasm(cs, bytes, n, addr, 1, &ci) != 1) {
				out(m, "0x%016" PRIx64 ":  (cannot disassemble)\n", addr);
				break;
			}
			out(m, "0x%016" PRIx64 ":  %s %s\n", addr, ci->mnemonic, ci->op_str);
			addr += ci->size;
			cs_free(ci, 1);
		}
		cs_close(&cs);
		return;
	}
	if (format == 'c')
		size = 1;
	unsigned per_line = size == 8 ? 2 : size == 4 ? 4 : 8;
	for (unsigned k = 0; k < count; k++) {
		uint64_t v = 0;
		if (k % per_line == 0)
			out(m, "%s%016" PRIx64 ":", k ? "\n" : "", addr + (uint64_t)k * size);
		if (!cpu_peek(cpu, addr + (uint64_t)k * size, physical, &v, size)) {
			out(m, " Cannot access memory");
			break;
		}
		switch (format) {
		case 'd': {
			int64_t sv = (int64_t)(v << (64 - 8 * size)) >> (64 - 8 * size);
			out(m, " %" PRId64, sv);
			break;
		}
		case 'u': out(m, " %" PRIu64, v); break;
		case 'o': out(m, " %#" PRIo64, v); break;
		case 'c': out(m, " '%c'", v >= 32 && v < 127 ? (char)v : '.'); break;
		default: out(m, " 0x%0*" PRIx64, (int)(2 * size), v); break;
		}
	}
	out(m, "\n");
}

static void
cmd_x(struct monitor *m, int argc, char **argv)
{
	dump_memory(m, argc, argv, false);
}

static void
cmd_xp(struct monitor *m, int argc, char **argv)
{
	dump_memory(m, argc, argv, true);
}

static void
cmd_stop(struct monitor *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	m->paused = true;
}

static void
cmd_cont(struct monitor *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	m->paused = false;
}

static void
cmd_system_reset(struct monitor *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	m->pc->reset_requested = true; /* the run loop resets at its next step, as a guest reset */
	cpu_raise_events(pc_cur_cpu(m->pc), EV_STOP);
}

static void
cmd_system_powerdown(struct monitor *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	pc_power_button(m->pc); /* the guest's ACPI code decides; it wakes a suspended board */
}

static void
cmd_screendump(struct monitor *m, int argc, char **argv)
{
	char err[256];
	if (argc != 2) {
		out(m, "usage: screendump FILE\n");
		return;
	}
	if (!m->pc->vga_enabled)
		out(m, "screendump: no display adapter (-vga none)\n");
	else if (strlen(argv[1]) > 4 && !strcasecmp(argv[1] + strlen(argv[1]) - 4, ".png")) {
		if (png_write_frame(argv[1], vga_render(&m->pc->vga), err, sizeof(err)) < 0)
			out(m, "screendump: %s\n", err);
	} else if (vga_screendump(&m->pc->vga, argv[1], err, sizeof(err)) < 0)
		out(m, "screendump: %s\n", err);
}

/* QEMU's key names for the keys that are not one printable character (HID usages). */
static const struct {
	const char *name;
	uint8_t usage;
} key_names[] = {
	{ "ret", 0x28 },     { "esc", 0x29 },         { "backspace", 0x2a }, { "tab", 0x2b },
	{ "spc", 0x2c },     { "minus", 0x2d },       { "equal", 0x2e },     { "caps_lock", 0x39 },
	{ "f1", 0x3a },      { "f2", 0x3b },          { "f3", 0x3c },        { "f4", 0x3d },
	{ "f5", 0x3e },      { "f6", 0x3f },          { "f7", 0x40 },        { "f8", 0x41 },
	{ "f9", 0x42 },      { "f10", 0x43 },         { "f11", 0x44 },       { "f12", 0x45 },
	{ "print", 0x46 },   { "scroll_lock", 0x47 }, { "pause", 0x48 },     { "insert", 0x49 },
	{ "home", 0x4a },    { "pgup", 0x4b },        { "delete", 0x4c },    { "end", 0x4d },
	{ "pgdn", 0x4e },    { "right", 0x4f },       { "left", 0x50 },      { "down", 0x51 },
	{ "up", 0x52 },      { "num_lock", 0x53 },    { "menu", 0x65 },      { "ctrl", 0xe0 },
	{ "shift", 0xe1 },   { "alt", 0xe2 },         { "meta_l", 0xe3 },    { "ctrl_r", 0xe4 },
	{ "shift_r", 0xe5 }, { "alt_r", 0xe6 },       { "meta_r", 0xe7 },
};

static bool
key_usage(const char *name, unsigned *usage)
{
	for (size_t k = 0; k < sizeof(key_names) / sizeof(key_names[0]); k++)
		if (!strcmp(key_names[k].name, name)) {
			*usage = key_names[k].usage;
			return true;
		}
	bool shift;
	return name[0] && !name[1] && keymap_ascii(name[0], usage, &shift) && !shift;
}

/* sendkey KEYS: "ctrl-alt-delete" presses ctrl, alt, delete and releases them in
 * reverse order, as PS/2 make and break codes through the 8042 (the one keymap). */
static void
cmd_sendkey(struct monitor *m, int argc, char **argv)
{
	if (argc != 2) {
		out(m, "usage: sendkey KEYS (QEMU's names joined by '-', e.g. ctrl-alt-delete)\n");
		return;
	}
	unsigned keys[8], n = 0;
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", argv[1]);
	for (char *save, *k = strtok_r(buf, "-", &save); k; k = strtok_r(NULL, "-", &save)) {
		if (n == 8 || !key_usage(k, &keys[n])) {
			out(m, "sendkey: unknown key '%s'\n", k);
			return;
		}
		n++;
	}
	uint8_t codes[KEYMAP_MAX_CODES];
	for (unsigned k = 0; k < n; k++)
		kbc_kbd_input(&m->pc->kbc, codes, keymap_set2(keys[k], true, codes));
	for (unsigned k = n; k-- > 0;)
		kbc_kbd_input(&m->pc->kbc, codes, keymap_set2(keys[k], false, codes));
}

/* Commands run between slices: the machine is at an instruction boundary. */
static void
cmd_savevm(struct monitor *m, int argc, char **argv)
{
	char err[512];
	if (argc != 2)
		out(m, "usage: savevm FILE\n");
	else if (machine_save(m->pc, argv[1], err, sizeof(err)) < 0)
		out(m, "savevm: %s\n", err);
	else
		out(m, "saved at instruction %" PRIu64 "\n", m->pc->cpu->icount);
}

static void
cmd_loadvm(struct monitor *m, int argc, char **argv)
{
	char err[512];
	if (argc != 2)
		out(m, "usage: loadvm FILE\n");
	else if (machine_load(m->pc, argv[1], err, sizeof(err)) < 0)
		out(m, "loadvm: %s (nothing changed)\n", err);
	else
		out(m, "loaded; at instruction %" PRIu64 "\n", m->pc->cpu->icount);
}

static void
cmd_snapshot_take(struct monitor *m, int argc, char **argv)
{
	char err[256];
	(void)argc, (void)argv;
	snapshot_free(m->fast);
	m->fast = snapshot_take(m->pc, err, sizeof(err));
	if (!m->fast)
		out(m, "snapshot_take: %s\n", err);
}

static void
cmd_snapshot_restore(struct monitor *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	if (!m->fast) {
		out(m, "snapshot_restore: no snapshot (snapshot_take first)\n");
		return;
	}
	snapshot_restore(m->fast);
	out(m, "restored %" PRIu64 " pages\n", snapshot_last_pages(m->fast));
}

static void
cmd_quit(struct monitor *m, int argc, char **argv)
{
	(void)argc, (void)argv;
	m->quit = true;
}

static void cmd_help(struct monitor *m, int argc, char **argv);

struct command {
	const char *name, *alias, *args, *help;
	void (*fn)(struct monitor *m, int argc, char **argv);
	bool changes_guest; /* other than through host input a recording logs */
};

/* clang-format off */
static const struct command commands[] = {
	{ "info registers", NULL, "", "the CPU state (every field of the state table)", cmd_info_registers, false },
	{ "info cpus", NULL, "", "the CPUs, where they are and their state (* the selected one)", cmd_info_cpus, false },
	{ "cpu", NULL, "N", "select the CPU that info registers, info lapic, x and $REG show", cmd_cpu, false },
	{ "info vmcs", NULL, "", "VMX operation and every field of the current VMCS", cmd_info_vmcs, false },
	{ "info mtree", NULL, "", "the physical memory map: RAM, ROM and MMIO regions", cmd_info_mtree, false },
	{ "info pci", NULL, "", "the PCI functions, their IDs, IRQs and BARs", cmd_info_pci, false },
	{ "info irq", NULL, "", "the ISA interrupt lines and who drives them", cmd_info_irq, false },
	{ "info pic", NULL, "", "the 8259A pair's registers", cmd_info_pic, false },
	{ "info lapic", NULL, "", "the selected CPU's local APIC registers", cmd_info_lapic, false },
	{ "info trace", NULL, "", "the trace categories enabled", cmd_info_trace, false },
	{ "trace-event", NULL, "CATEGORY on|off", "turn a trace category on or off (-d names)", cmd_trace_event, false },
	{ "x", NULL, "/FMT ADDR", "dump memory at a linear address ($reg allowed; /i disassembles)", cmd_x, false },
	{ "xp", NULL, "/FMT ADDR", "dump memory at a physical address", cmd_xp, false },
	{ "stop", "s", "", "pause the machine (the virtual clock stands still)", cmd_stop, false },
	{ "cont", "c", "", "resume the machine", cmd_cont, false },
	{ "system_reset", NULL, "", "reset the machine", cmd_system_reset, true },
	{ "system_powerdown", NULL, "", "press the ACPI power button", cmd_system_powerdown, true },
	{ "screendump", NULL, "FILE", "write the screen to FILE (PNG for *.png, else text or PPM)", cmd_screendump, false },
	{ "sendkey", NULL, "KEYS", "type keys on the PS/2 keyboard (QEMU names: ctrl-alt-delete)", cmd_sendkey, false },
	{ "savevm", NULL, "FILE", "save the machine to FILE (docs/SNAPSHOT.md)", cmd_savevm, false },
	{ "loadvm", NULL, "FILE", "load a snapshot of this machine's configuration", cmd_loadvm, true },
	{ "snapshot_take", NULL, "", "take an in-memory snapshot (fast reset)", cmd_snapshot_take, false },
	{ "snapshot_restore", NULL, "", "go back to it, copying only the pages written since", cmd_snapshot_restore, true },
	{ "quit", "q", "", "end fugu (exit status 0)", cmd_quit, false },
	{ "help", "?", "[COMMAND]", "list the commands, or show one", cmd_help, false },
};
/* clang-format on */
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
cmd_help(struct monitor *m, int argc, char **argv)
{
	for (size_t k = 0; k < NCOMMANDS; k++) {
		const struct command *c = &commands[k];
		if (argc > 1 && strncmp(c->name, argv[1], strlen(argv[1])))
			continue;
		out(m, "%s%s%s%s%s -- %s\n", c->name, c->alias ? "|" : "", c->alias ? c->alias : "",
		    c->args[0] ? " " : "", c->args, c->help);
	}
}

/* Split `line` into words (at most 16); returns the count. */
static int
split(char *line, char **argv)
{
	int argc = 0;
	for (char *p = strtok(line, " \t\r"); p && argc < 16; p = strtok(NULL, " \t\r"))
		argv[argc++] = p;
	return argc;
}

static void
run_line(struct monitor *m, char *line)
{
	char *argv[17];
	int argc = split(line, argv);
	if (!argc)
		return;
	/* Two-word commands ("info registers") match first; "x/4i" is "x /4i". */
	char *slash = argv[0][0] != '/' ? strchr(argv[0], '/') : NULL;
	if (slash && argc < 16) {
		memmove(argv + 2, argv + 1, (size_t)argc * sizeof(*argv));
		argv[1] = slash;
		argc++;
		static char name[32];
		snprintf(name, sizeof(name), "%.*s", (int)(slash - argv[0]), argv[0]);
		argv[0] = name;
	}
	for (size_t k = 0; k < NCOMMANDS; k++) {
		const struct command *c = &commands[k];
		const char *sp = strchr(c->name, ' ');
		if (sp) {
			if (argc >= 2 && !strncmp(argv[0], c->name, (size_t)(sp - c->name)) &&
			    !argv[0][sp - c->name] && !strcmp(argv[1], sp + 1)) {
				c->fn(m, argc - 1, argv + 1);
				return;
			}
		} else if (!strcmp(argv[0], c->name) || (c->alias && !strcmp(argv[0], c->alias))) {
			if (c->changes_guest && m->frozen)
				out(m, "%s: not while %s (docs/SNAPSHOT.md)\n", c->name, m->frozen);
			else
				c->fn(m, argc, argv);
			return;
		}
	}
	if (!strcmp(argv[0], "info"))
		out(m, "info: one of registers, cpus, vmcs, mtree, pci, irq, pic, lapic, trace\n");
	else
		out(m, "unknown command: '%s' (help lists the commands)\n", argv[0]);
}

/* ---- I/O ---- */

static void
greet(struct monitor *m)
{
	out(m, "fugu monitor - type 'help' for more information\n");
	prompt(m);
}

void
monitor_serve(struct monitor *m)
{
	if (m->listen_fd >= 0 && m->in_fd < 0) {
		int fd = accept4(m->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		m->in_fd = m->out_fd = fd;
		m->nline = 0;
		greet(m);
	}
	for (;;) {
		char buf[512];
		ssize_t n = read(m->in_fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			if (m->listen_fd >= 0) { /* the client left: wait for the next */
				close(m->in_fd);
				m->in_fd = m->out_fd = -1;
			} else {
				m->in_fd = -1; /* stdin closed: no more commands */
			}
			return;
		}
		if (n < 0)
			return;
		for (ssize_t k = 0; k < n; k++) {
			if (buf[k] == '\n') {
				m->line[m->nline] = 0;
				run_line(m, m->line);
				m->nline = 0;
				if (m->quit)
					return;
				prompt(m);
			} else if (m->nline + 1 < sizeof(m->line)) {
				m->line[m->nline++] = buf[k];
			}
		}
	}
}

int
monitor_fd(const struct monitor *m)
{
	return m->in_fd >= 0 ? m->in_fd : m->listen_fd;
}

bool
monitor_paused(const struct monitor *m)
{
	return m->paused;
}

void
monitor_pause(struct monitor *m)
{
	m->paused = true;
}

bool
monitor_quit(const struct monitor *m)
{
	return m->quit;
}

/* "tcp:HOST:PORT,server[,nowait]": listen (fugu's monitor is always the server). */
static int
listen_tcp(const char *spec, char *err, size_t errlen)
{
	char host[256], port[32];
	const char *hp = spec + 4, *opts = strchr(hp, ','), *end = opts ? opts : hp + strlen(hp);
	const char *colon = memrchr(hp, ':', (size_t)(end - hp));
	if (!colon || colon + 1 >= end || (size_t)(colon - hp) >= sizeof(host) ||
	    (size_t)(end - colon - 1) >= sizeof(port)) {
		snprintf(err, errlen, "-monitor: '%s' is not tcp:HOST:PORT,server", spec);
		return -1;
	}
	if (!opts || !strstr(opts, "server")) {
		snprintf(err, errlen, "-monitor: '%s': fugu's monitor listens (add ,server)", spec);
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - hp), hp);
	snprintf(port, sizeof(port), "%.*s", (int)(end - colon - 1), colon + 1);
	return tcp_listen("-monitor", spec, host, port, true, err, errlen);
}

struct monitor *
monitor_open(const char *spec, struct pc *pc, struct tracer *tracer, char *err, size_t errlen)
{
	struct monitor *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "-monitor: out of memory");
		return NULL;
	}
	m->pc = pc;
	m->tracer = tracer;
	m->listen_fd = m->in_fd = m->out_fd = -1;
	if (!strcmp(spec, "stdio")) {
		m->in_fd = 0;
		m->out_fd = 1;
		fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
		greet(m);
	} else if (!strncmp(spec, "tcp:", 4)) {
		m->listen_fd = listen_tcp(spec, err, errlen);
		if (m->listen_fd < 0) {
			free(m);
			return NULL;
		}
	} else {
		snprintf(err, errlen, "-monitor: '%s' (use stdio, tcp:HOST:PORT,server or none)",
			 spec);
		free(m);
		return NULL;
	}
	return m;
}

void
monitor_close(struct monitor *m)
{
	if (!m)
		return;
	if (m->listen_fd >= 0) {
		if (m->in_fd >= 0)
			close(m->in_fd);
		close(m->listen_fd);
	} else if (m->in_fd == 0) {
		fcntl(0, F_SETFL, fcntl(0, F_GETFL) & ~O_NONBLOCK);
	}
	snapshot_free(m->fast);
	free(m);
}

void
monitor_freeze(struct monitor *m, const char *why)
{
	m->frozen = why;
}
