/*
 * fugu — the GDB remote stub (gdbstub.h). The protocol is the GDB Remote
 * Serial Protocol ("Debugging with GDB", appendix E): $packet#checksum with
 * +/- acknowledgements until QStartNoAckMode, one connection, one thread.
 *
 * The register file is a table (regs[] below) whose rows name a field of the
 * CPU-state table (cpu/state.h) or a slot of the XSAVE image; the target
 * description sent to gdb (qXfer:features:read) and the g/G/p/P packets are
 * derived from it, so they cannot disagree.
 */
#define _GNU_SOURCE
#include "frontend/gdbstub.h"

#include "frontend/listen.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chipset/pc.h"
#include "cpu/vmx/vmx.h"
#include "frontend/reverse.h"

#define PACKET_MAX 16384

/* Where a register's value lives. */
enum reg_source {
	SRC_STATE,  /* a field of the state table: `field` */
	SRC_RFLAGS, /* RFLAGS with the lazy bits folded in */
	SRC_XSAVE,  /* bytes of the XSAVE image at `field` (x87/SSE registers) */
	SRC_FTAG,   /* the full x87 tag word, derived from the abridged one and the registers */
};

struct gdb_reg {
	const char *name;
	uint16_t bits;
	const char *type;    /* gdb's predefined types */
	const char *feature; /* the target-description feature the register belongs to */
	uint8_t source;      /* enum reg_source */
	uint16_t field;      /* state field id, or byte offset in the XSAVE image */
	uint8_t xbytes;      /* SRC_XSAVE: bytes the register occupies in the image */
};

#define CORE "org.gnu.gdb.i386.core"
#define SSE "org.gnu.gdb.i386.sse"
#define SEGS "org.gnu.gdb.i386.segments"
#define SYS "org.fugu.x86.system"
#define GPR(n, id)                                                                                 \
	{                                                                                          \
		n, 64, "int64", CORE, SRC_STATE, STATE_##id, 0                                     \
	}
#define SEL(n, id)                                                                                 \
	{                                                                                          \
		n, 32, "int32", CORE, SRC_STATE, STATE_##id##_SEL, 0                               \
	}
#define ST(k)                                                                                      \
	{                                                                                          \
		"st" #k, 80, "i387_ext", CORE, SRC_XSAVE, 32 + 16 * (k), 10                        \
	}
#define FPX(n, off, bytes)                                                                         \
	{                                                                                          \
		n, 32, "int", CORE, SRC_XSAVE, (off), (bytes)                                      \
	}
#define XMM(k)                                                                                     \
	{                                                                                          \
		"xmm" #k, 128, "vec128", SSE, SRC_XSAVE, 160 + 16 * (k), 16                        \
	}

/* gdb's amd64 register order (its core and SSE features), then fugu's extras. */
static const struct gdb_reg regs[] = {
	GPR("rax", RAX),
	GPR("rbx", RBX),
	GPR("rcx", RCX),
	GPR("rdx", RDX),
	GPR("rsi", RSI),
	GPR("rdi", RDI),
	{ "rbp", 64, "data_ptr", CORE, SRC_STATE, STATE_RBP, 0 },
	{ "rsp", 64, "data_ptr", CORE, SRC_STATE, STATE_RSP, 0 },
	GPR("r8", R8),
	GPR("r9", R9),
	GPR("r10", R10),
	GPR("r11", R11),
	GPR("r12", R12),
	GPR("r13", R13),
	GPR("r14", R14),
	GPR("r15", R15),
	{ "rip", 64, "code_ptr", CORE, SRC_STATE, STATE_RIP, 0 },
	{ "eflags", 32, "i386_eflags", CORE, SRC_RFLAGS, 0, 0 },
	SEL("cs", CS),
	SEL("ss", SS),
	SEL("ds", DS),
	SEL("es", ES),
	SEL("fs", FS),
	SEL("gs", GS),
	ST(0),
	ST(1),
	ST(2),
	ST(3),
	ST(4),
	ST(5),
	ST(6),
	ST(7),
	/* FXSAVE layout (SDM vol. 1, table 10-2): FCW 0, FSW 2, FOP 6, FIP 8, FCS 12,
	 * FDP 16, FDS 20, MXCSR 24. */
	FPX("fctrl", 0, 2),
	FPX("fstat", 2, 2),
	{ "ftag", 32, "int", CORE, SRC_FTAG, 0, 0 },
	FPX("fiseg", 12, 2),
	FPX("fioff", 8, 4),
	FPX("foseg", 20, 2),
	FPX("fooff", 16, 4),
	FPX("fop", 6, 2),
	XMM(0),
	XMM(1),
	XMM(2),
	XMM(3),
	XMM(4),
	XMM(5),
	XMM(6),
	XMM(7),
	XMM(8),
	XMM(9),
	XMM(10),
	XMM(11),
	XMM(12),
	XMM(13),
	XMM(14),
	XMM(15),
	{ "mxcsr", 32, "i386_mxcsr", SSE, SRC_XSAVE, 24, 4 },
	{ "fs_base", 64, "int64", SEGS, SRC_STATE, STATE_FS_BASE, 0 },
	{ "gs_base", 64, "int64", SEGS, SRC_STATE, STATE_GS_BASE, 0 },
	{ "k_gs_base", 64, "int64", SYS, SRC_STATE, STATE_KERNEL_GS_BASE, 0 },
	{ "cr0", 64, "int64", SYS, SRC_STATE, STATE_CR0, 0 },
	{ "cr2", 64, "int64", SYS, SRC_STATE, STATE_CR2, 0 },
	{ "cr3", 64, "int64", SYS, SRC_STATE, STATE_CR3, 0 },
	{ "cr4", 64, "int64", SYS, SRC_STATE, STATE_CR4, 0 },
	{ "cr8", 64, "int64", SYS, SRC_STATE, STATE_CR8, 0 },
	{ "efer", 64, "int64", SYS, SRC_STATE, STATE_EFER, 0 },
};
#define NREGS (sizeof(regs) / sizeof(regs[0]))

struct gdbstub {
	struct pc *pc;
	struct cpu *cpu;
	int listen_fd, fd;
	bool stopped;        /* the debugger holds the machine */
	bool no_ack;         /* QStartNoAckMode */
	bool phys;           /* `monitor phys on`: m/M take physical addresses */
	bool swbreak_ok;     /* gdb announced swbreak/hwbreak stop reasons */
	struct reverse *rev; /* replaying: reverse execution (bs, bc); NULL otherwise */
	bool at_begin;       /* stopped by a backward move at the start of the history */
	uint8_t view;        /* enum dbg_view: `monitor view` */
	uint8_t break_in;    /* enum dbg_in: where new breakpoints count (`monitor break-in`) */
	uint8_t in[PACKET_MAX];
	size_t nin;
	char *xml;
	size_t xml_len;
};

/* ---- the target description ---- */

static char *
build_target_xml(size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	if (!f)
		return NULL;
	fputs("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
	      "<target version=\"1.0\">\n<architecture>i386:x86-64</architecture>\n",
	      f);
	const char *open = NULL;
	for (unsigned k = 0; k < NREGS; k++) {
		if (!open || strcmp(open, regs[k].feature)) {
			if (open)
				fputs("</feature>\n", f);
			open = regs[k].feature;
			fprintf(f, "<feature name=\"%s\">\n", open);
			if (!strcmp(open, CORE))
				fputs("<flags id=\"i386_eflags\" size=\"4\">"
				      "<field name=\"CF\" start=\"0\" end=\"0\"/>"
				      "<field name=\"PF\" start=\"2\" end=\"2\"/>"
				      "<field name=\"AF\" start=\"4\" end=\"4\"/>"
				      "<field name=\"ZF\" start=\"6\" end=\"6\"/>"
				      "<field name=\"SF\" start=\"7\" end=\"7\"/>"
				      "<field name=\"TF\" start=\"8\" end=\"8\"/>"
				      "<field name=\"IF\" start=\"9\" end=\"9\"/>"
				      "<field name=\"DF\" start=\"10\" end=\"10\"/>"
				      "<field name=\"OF\" start=\"11\" end=\"11\"/>"
				      "<field name=\"NT\" start=\"14\" end=\"14\"/>"
				      "<field name=\"RF\" start=\"16\" end=\"16\"/>"
				      "<field name=\"VM\" start=\"17\" end=\"17\"/>"
				      "<field name=\"AC\" start=\"18\" end=\"18\"/>"
				      "<field name=\"VIF\" start=\"19\" end=\"19\"/>"
				      "<field name=\"VIP\" start=\"20\" end=\"20\"/>"
				      "<field name=\"ID\" start=\"21\" end=\"21\"/></flags>\n",
				      f);
			if (!strcmp(open, SSE))
				fputs("<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
				      "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
				      "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
				      "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
				      "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
				      "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
				      "<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/>"
				      "<field name=\"v2_double\" type=\"v2d\"/>"
				      "<field name=\"v16_int8\" type=\"v16i8\"/>"
				      "<field name=\"v8_int16\" type=\"v8i16\"/>"
				      "<field name=\"v4_int32\" type=\"v4i32\"/>"
				      "<field name=\"v2_int64\" type=\"v2i64\"/>"
				      "<field name=\"uint128\" type=\"uint128\"/></union>"
				      "<flags id=\"i386_mxcsr\" size=\"4\">"
				      "<field name=\"IE\" start=\"0\" end=\"0\"/>"
				      "<field name=\"DE\" start=\"1\" end=\"1\"/>"
				      "<field name=\"ZE\" start=\"2\" end=\"2\"/>"
				      "<field name=\"OE\" start=\"3\" end=\"3\"/>"
				      "<field name=\"UE\" start=\"4\" end=\"4\"/>"
				      "<field name=\"PE\" start=\"5\" end=\"5\"/>"
				      "<field name=\"DAZ\" start=\"6\" end=\"6\"/>"
				      "<field name=\"FZ\" start=\"15\" end=\"15\"/></flags>\n",
				      f);
		}
		fprintf(f, "<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" regnum=\"%u\"/>\n",
			regs[k].name, regs[k].bits, regs[k].type, k);
	}
	fputs("</feature>\n</target>\n", f);
	fclose(f);
	*len = size;
	return buf;
}

/* ---- registers ---- */

/* The full tag word (2 bits per physical register: 00 valid, 01 zero, 10 special,
 * 11 empty) from the abridged one of the FXSAVE image (SDM vol. 1, 10.5.1.1). */
static uint32_t
full_tag_word(const struct cpu *cpu)
{
	const uint8_t *x = cpu->state.xsave;
	unsigned abridged = x[4], top = (x[2] | x[3] << 8) >> 11 & 7, tw = 0;
	for (unsigned phys = 0; phys < 8; phys++) {
		unsigned tag = 3;
		if (abridged >> phys & 1) {
			const uint8_t *r = x + 32 + 16 * ((phys - top) & 7); /* ST(i) order */
			uint64_t mant;
			memcpy(&mant, r, 8);
			unsigned exp = (r[8] | r[9] << 8) & 0x7fff;
			if (exp == 0x7fff)
				tag = 2;
			else if (exp == 0)
				tag = mant ? 2 : 1;
			else
				tag = (mant >> 63) ? 0 : 2;
		}
		tw |= tag << (2 * phys);
	}
	return tw;
}

/* The registers of the level the stub looks at (`monitor view`). */
struct reg_view {
	bool live; /* the running level: the CPU's own state */
	struct cpu_state st;
	bool avail[STATE_FIELD_COUNT]; /* fields that level's VMCS area keeps */
};

static void
get_view(struct gdbstub *g, struct reg_view *v)
{
	enum dbg_view view = (enum dbg_view)g->view;
	v->live = view == DBG_VIEW_LIVE || (view == DBG_VIEW_L2) == g->cpu->vmx_nonroot;
	if (!cpu_view_state(g->cpu, view, &v->st, v->avail))
		memset(v->avail, 0, sizeof(v->avail)); /* that level does not exist now */
}

/* Append register k to `out` as little-endian hex ("xx" for each byte of a
 * value the viewed level does not keep); returns the characters written. */
static unsigned
reg_hex(struct gdbstub *g, const struct reg_view *view, unsigned k, char *out)
{
	const struct gdb_reg *r = &regs[k];
	uint8_t bytes[16] = { 0 };
	unsigned n = r->bits / 8;
	uint64_t v = 0;
	bool avail = true;
	switch (r->source) {
	case SRC_STATE:
		avail = view->live || view->avail[r->field];
		v = state_get(&view->st, r->field);
		break;
	case SRC_RFLAGS:
		avail = view->live || view->avail[STATE_RFLAGS];
		v = view->live ? cpu_get_rflags(g->cpu) : view->st.rflags;
		break;
	case SRC_FTAG: v = full_tag_word(g->cpu); break; /* x87/SSE: one set for both levels */
	case SRC_XSAVE: memcpy(bytes, g->cpu->state.xsave + r->field, r->xbytes); break;
	}
	if (r->source != SRC_XSAVE)
		memcpy(bytes, &v, n > 8 ? 8 : n);
	for (unsigned b = 0; b < n; b++) {
		if (avail)
			sprintf(out + 2 * b, "%02x", bytes[b]);
		else
			memcpy(out + 2 * b, "xx", 2);
	}
	return 2 * n;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode `n` bytes of hex; false on a bad digit. */
static bool
unhex(const char *s, uint8_t *out, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		int hi = hexval(s[2 * k]), lo = hi < 0 ? -1 : hexval(s[2 * k + 1]);
		if (lo < 0)
			return false;
		out[k] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/*
 * Write register k. Control registers go through the mode gate's unchecked
 * load (the debugger may set any value, as on a hardware debugger, and the
 * derived mode follows); a selector in real or V86 mode sets its base too.
 */
static void
reg_write(struct gdbstub *g, unsigned k, const uint8_t *bytes)
{
	struct cpu *cpu = g->cpu;
	const struct gdb_reg *r = &regs[k];
	unsigned n = r->bits / 8;
	uint64_t v = 0;
	memcpy(&v, bytes, n > 8 ? 8 : n);
	switch (r->source) {
	case SRC_FTAG: return; /* derived: write the abridged tag through FXRSTOR in the guest */
	case SRC_XSAVE: memcpy(cpu->state.xsave + r->field, bytes, r->xbytes); return;
	case SRC_RFLAGS: cpu_set_rflags(cpu, v); return;
	case SRC_STATE: break;
	}
	switch (r->field) {
	case STATE_CR0:
	case STATE_CR3:
	case STATE_CR4:
	case STATE_EFER: {
		struct control_regs ctl = { cpu->state.cr0, cpu->state.cr3, cpu->state.cr4,
					    cpu->state.efer };
		if (r->field == STATE_CR0)
			ctl.cr0 = v;
		else if (r->field == STATE_CR3)
			ctl.cr3 = v;
		else if (r->field == STATE_CR4)
			ctl.cr4 = v;
		else
			ctl.efer = v;
		cpu_load_control(cpu, &ctl, CTL_FLUSH_ALL, "debugger");
		return;
	}
	case STATE_ES_SEL:
	case STATE_CS_SEL:
	case STATE_SS_SEL:
	case STATE_DS_SEL:
	case STATE_FS_SEL:
	case STATE_GS_SEL: {
		unsigned s = (r->field - STATE_ES_SEL) / (STATE_CS_SEL - STATE_ES_SEL);
		cpu->state.seg[s].sel = (uint16_t)v;
		if (!(cpu->state.cr0 & CR0_PE) || (cpu->state.rflags & F_VM))
			cpu->state.seg[s].base = (uint16_t)v << 4;
		break;
	}
	default: state_set(&cpu->state, r->field, v); break;
	}
	cpu_state_changed(cpu);
}

/* ---- memory ---- */

static bool
debug_read(struct gdbstub *g, uint64_t addr, uint8_t *buf, size_t len)
{
	if (g->view == DBG_VIEW_LIVE || g->phys)
		return cpu_peek(g->cpu, addr, g->phys, buf, len);
	static struct reg_view view; /* linear addresses through the viewed level's paging */
	get_view(g, &view);
	return (view.live || view.avail[STATE_CR3]) &&
	       cpu_view_peek(g->cpu, &view.st, addr, buf, len);
}

static bool
debug_write(struct gdbstub *g, uint64_t addr, const uint8_t *buf, size_t len)
{
	return cpu_poke(g->cpu, addr, g->phys, buf, len);
}

/* ---- packets ---- */

static void
send_raw(struct gdbstub *g, const void *data, size_t len)
{
	const char *p = data;
	while (len && g->fd >= 0) {
		ssize_t n = send(g->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(g->fd);
			g->fd = -1;
			return;
		}
		p += n, len -= (size_t)n;
	}
}

static void
send_packet(struct gdbstub *g, const char *body, size_t len)
{
	static char buf[2 * PACKET_MAX + 8];
	if (len > 2 * PACKET_MAX)
		len = 2 * PACKET_MAX;
	uint8_t sum = 0;
	buf[0] = '$';
	memcpy(buf + 1, body, len);
	for (size_t k = 0; k < len; k++)
		sum += (uint8_t)body[k];
	snprintf(buf + 1 + len, 4, "#%02x", sum);
	send_raw(g, buf, len + 4);
}

static void
reply(struct gdbstub *g, const char *s)
{
	send_packet(g, s, strlen(s));
}

/* A reply of text for gdb to print (qRcmd): hex-encoded. */
static void
reply_text_hex(struct gdbstub *g, const char *text)
{
	size_t n = strlen(text);
	if (n > PACKET_MAX - 1)
		n = PACKET_MAX - 1;
	char *hex = malloc(2 * n + 1);
	if (!hex)
		return reply(g, "E01");
	for (size_t k = 0; k < n; k++)
		sprintf(hex + 2 * k, "%02x", (uint8_t)text[k]);
	send_packet(g, hex, 2 * n);
	free(hex);
}

static void
report_stop(struct gdbstub *g)
{
	struct cpu *cpu = g->cpu;
	char buf[96];
	if (g->at_begin) {
		reply(g, "T05replaylog:begin;thread:01;"); /* no history before this */
		return;
	}
	switch (cpu->dbg.stop) {
	case DBG_STOP_WATCH: {
		static const char *const names[] = { "", "watch", "rwatch", "awatch" };
		snprintf(buf, sizeof(buf), "T05%s:%" PRIx64 ";thread:01;",
			 names[cpu->dbg.stop_kind], cpu->dbg.stop_addr);
		break;
	}
	case DBG_STOP_BREAK:
		snprintf(buf, sizeof(buf), "T05%sthread:01;", g->swbreak_ok ? "swbreak:;" : "");
		break;
	case DBG_STOP_STEP: snprintf(buf, sizeof(buf), "T05thread:01;"); break;
	default: snprintf(buf, sizeof(buf), "T02thread:01;"); break; /* Ctrl-C: SIGINT */
	}
	reply(g, buf);
}

static void
stop_machine(struct gdbstub *g)
{
	g->stopped = true; /* the run loop stops the virtual clock while the machine is held */
}

static void
resume_machine(struct gdbstub *g, bool step)
{
	cpu_debugger_resume(g->cpu, step);
	g->stopped = false;
	g->at_begin = false;
}

/* Parse "ADDR,LEN" (hex); returns the character after LEN. */
static const char *
parse_addr_len(const char *p, uint64_t *addr, uint64_t *len)
{
	char *end;
	*addr = strtoull(p, &end, 16);
	if (*end != ',')
		return NULL;
	*len = strtoull(end + 1, &end, 16);
	return end;
}

/* `monitor view [l1|l2|live]`: set, then say what gdb now sees. */
static void
monitor_view(struct gdbstub *g, const char *arg, FILE *f)
{
	if (!strcmp(arg, "l1"))
		g->view = DBG_VIEW_L1;
	else if (!strcmp(arg, "l2"))
		g->view = DBG_VIEW_L2;
	else if (!strcmp(arg, "live"))
		g->view = DBG_VIEW_LIVE;
	else if (*arg)
		fprintf(f, "view: l1, l2 or live\n");
	struct reg_view v;
	get_view(g, &v);
	static const char *const names[] = { "the running level", "L1 (the hypervisor)",
					     "L2 (the nested guest)" };
	const char *running = g->cpu->vmx_nonroot              ? "L2 runs (VMX non-root operation)"
			      : g->cpu->vmx && g->cpu->vmx->on ? "L1 runs (VMX root operation)"
							       : "no VMX operation";
	if (v.live)
		fprintf(f, "view: %s, live; %s\n", names[g->view], running);
	else if (v.avail[STATE_RIP])
		fprintf(f,
			"view: %s from the current VMCS (read-only; registers it does not keep "
			"are unavailable); %s\n",
			names[g->view], running);
	else
		fprintf(f, "view: %s does not exist now (%s): registers are unavailable\n",
			names[g->view], running);
}

static void
handle_monitor(struct gdbstub *g, const char *hexcmd)
{
	char cmd[256];
	size_t n = strlen(hexcmd) / 2;
	if (n >= sizeof(cmd) || !unhex(hexcmd, (uint8_t *)cmd, n))
		return reply(g, "E01");
	cmd[n] = 0;
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);
	if (!f)
		return reply(g, "E01");
	if (!strcmp(cmd, "info registers")) {
		cpu_dump_state(g->cpu, f);
	} else if (!strcmp(cmd, "phys on") || !strcmp(cmd, "phys off")) {
		g->phys = !strcmp(cmd, "phys on");
		fprintf(f, "memory accesses use %s addresses\n", g->phys ? "physical" : "linear");
	} else if (!strcmp(cmd, "step-irqs on") || !strcmp(cmd, "step-irqs off")) {
		g->cpu->dbg.step_irqs = !strcmp(cmd, "step-irqs on");
		fprintf(f, "single-step %s interrupts\n",
			g->cpu->dbg.step_irqs ? "takes" : "holds back");
	} else if (!strcmp(cmd, "info vmcs")) {
		vmx_dump(g->cpu, f);
	} else if (!strncmp(cmd, "view", 4) && (!cmd[4] || cmd[4] == ' ')) {
		monitor_view(g, cmd[4] ? cmd + 5 : "", f);
	} else if (!strncmp(cmd, "break-in", 8) && (!cmd[8] || cmd[8] == ' ')) {
		const char *a = cmd[8] ? cmd + 9 : "";
		if (!strcmp(a, "root") || !strcmp(a, "l1"))
			g->break_in = DBG_IN_ROOT;
		else if (!strcmp(a, "non-root") || !strcmp(a, "l2"))
			g->break_in = DBG_IN_NONROOT;
		else if (!strcmp(a, "any"))
			g->break_in = DBG_IN_ANY;
		else if (*a)
			fprintf(f, "break-in: root (l1), non-root (l2) or any\n");
		static const char *const in[] = { "anywhere", "in root operation only (L1)",
						  "in non-root operation only (L2)" };
		fprintf(f, "new breakpoints and watchpoints count %s\n", in[g->break_in]);
	} else if (!strncmp(cmd, "reverse ", 8)) {
		if (!g->rev)
			fprintf(f, "reverse execution needs -replay\n");
		else
			reverse_describe(g->rev, cmd + 8, f);
	} else {
		fprintf(f,
			"fugu monitor commands:\n"
			"  info registers   the CPU state (every field of the state table)\n"
			"  phys on|off      m/M packets use physical (on) or linear addresses\n"
			"  step-irqs on|off single-step takes interrupts and timers (default off)\n"
			"  info vmcs        VMX operation and the current VMCS, every field\n"
			"  view [l1|l2|live] whose registers and memory gdb sees: the\n"
			"                   hypervisor (L1), its nested guest (L2, from the\n"
			"                   VMCS), or whichever runs (default)\n"
			"  break-in root|non-root|any  where new breakpoints count\n"
			"  reverse info     replaying: the snapshots reverse execution keeps\n"
			"  reverse interval N  a snapshot every N instructions from now on\n"
			"  help             this text\n");
	}
	fclose(f);
	reply_text_hex(g, out ? out : "");
	free(out);
}

static void
handle_query(struct gdbstub *g, char *p)
{
	if (!strncmp(p, "qSupported", 10)) {
		g->swbreak_ok = strstr(p, "swbreak+") != NULL;
		char buf[160];
		snprintf(buf, sizeof(buf),
			 "PacketSize=%x;qXfer:features:read+;QStartNoAckMode+;%s%svContSupported+",
			 PACKET_MAX - 16, g->swbreak_ok ? "swbreak+;hwbreak+;" : "",
			 g->rev ? "ReverseStep+;ReverseContinue+;" : "");
		reply(g, buf);
	} else if (!strncmp(p, "qXfer:features:read:target.xml:", 31)) {
		uint64_t off, len;
		if (!parse_addr_len(p + 31, &off, &len))
			return reply(g, "E01");
		if (off >= g->xml_len)
			return reply(g, "l");
		if (len > PACKET_MAX - 16)
			len = PACKET_MAX - 16;
		size_t n = g->xml_len - off < len ? g->xml_len - off : len;
		char *buf = malloc(n + 1);
		if (!buf)
			return reply(g, "E01");
		buf[0] = off + n < g->xml_len ? 'm' : 'l';
		memcpy(buf + 1, g->xml + off, n);
		send_packet(g, buf, n + 1);
		free(buf);
	} else if (!strcmp(p, "qAttached")) {
		reply(g, "1");
	} else if (!strcmp(p, "qC")) {
		reply(g, "QC01");
	} else if (!strcmp(p, "qfThreadInfo")) {
		reply(g, "m01");
	} else if (!strcmp(p, "qsThreadInfo")) {
		reply(g, "l");
	} else if (!strncmp(p, "qRcmd,", 6)) {
		handle_monitor(g, p + 6);
	} else if (!strcmp(p, "QStartNoAckMode")) {
		reply(g, "OK");
		g->no_ack = true;
	} else {
		reply(g, ""); /* unsupported */
	}
}

static const enum dbg_point z_kinds[5] = { DBG_BREAK, DBG_BREAK, DBG_WATCH_WRITE, DBG_WATCH_READ,
					   DBG_WATCH_ACCESS };

/* Handle one packet body; returns GDBSTUB_KILL for 'k'. */
static enum gdbstub_result
handle_packet(struct gdbstub *g, char *p, size_t len)
{
	struct cpu *cpu = g->cpu;
	switch (p[0]) {
	case '?': report_stop(g); break;
	case 'g': {
		static char buf[PACKET_MAX];
		static struct reg_view view;
		size_t n = 0;
		get_view(g, &view);
		for (unsigned k = 0; k < NREGS; k++)
			n += reg_hex(g, &view, k, buf + n);
		send_packet(g, buf, n);
		break;
	}
	case 'G': {
		const char *h = p + 1;
		if (g->view != DBG_VIEW_LIVE)
			return reply(g, "E01"),
			       GDBSTUB_OK; /* the other level's view is read-only */
		for (unsigned k = 0; k < NREGS && (size_t)(h - p) < len; k++) {
			uint8_t bytes[16];
			unsigned n = regs[k].bits / 8;
			if ((size_t)(h - p) + 2 * n > len || !unhex(h, bytes, n))
				break;
			reg_write(g, k, bytes);
			h += 2 * n;
		}
		reply(g, "OK");
		break;
	}
	case 'p': {
		unsigned k = (unsigned)strtoul(p + 1, NULL, 16);
		if (k >= NREGS)
			return reply(g, "E00"), GDBSTUB_OK;
		char buf[40];
		static struct reg_view view;
		get_view(g, &view);
		buf[reg_hex(g, &view, k, buf)] = 0;
		reply(g, buf);
		break;
	}
	case 'P': {
		char *eq;
		unsigned k = (unsigned)strtoul(p + 1, &eq, 16);
		uint8_t bytes[16];
		if (k >= NREGS || g->view != DBG_VIEW_LIVE || *eq != '=' ||
		    strlen(eq + 1) < 2u * (regs[k].bits / 8) ||
		    !unhex(eq + 1, bytes, regs[k].bits / 8))
			return reply(g, "E00"), GDBSTUB_OK;
		reg_write(g, k, bytes);
		reply(g, "OK");
		break;
	}
	case 'm': {
		uint64_t addr, n;
		if (!parse_addr_len(p + 1, &addr, &n) || n > (PACKET_MAX - 16) / 2)
			return reply(g, "E01"), GDBSTUB_OK;
		uint8_t *data = malloc(n ? n : 1);
		char *hex = malloc(2 * n + 1);
		if (data && hex && debug_read(g, addr, data, n)) {
			for (size_t k = 0; k < n; k++)
				sprintf(hex + 2 * k, "%02x", data[k]);
			send_packet(g, hex, 2 * n);
		} else {
			reply(g, "E14"); /* EFAULT */
		}
		free(data);
		free(hex);
		break;
	}
	case 'M': {
		uint64_t addr, n;
		const char *colon = parse_addr_len(p + 1, &addr, &n);
		if (!colon || *colon != ':' || n > PACKET_MAX || strlen(colon + 1) < 2 * n ||
		    (g->view != DBG_VIEW_LIVE && !g->phys))
			return reply(g, "E01"), GDBSTUB_OK;
		uint8_t *data = malloc(n ? n : 1);
		if (data && unhex(colon + 1, data, n) && debug_write(g, addr, data, n))
			reply(g, "OK");
		else
			reply(g, "E14");
		free(data);
		break;
	}
	case 'c':
	case 's':
		if (p[1]) { /* resume at an address */
			cpu->state.rip = strtoull(p + 1, NULL, 16);
			cpu->stop_trace = true;
		}
		resume_machine(g, p[0] == 's');
		break;
	case 'b': /* bs, bc: reverse step and continue, while replaying */
		if (!g->rev || (p[1] != 's' && p[1] != 'c') || p[2]) {
			reply(g, "");
			break;
		}
		if (!(p[1] == 's' ? reverse_step(g->rev) : reverse_continue(g->rev))) {
			g->at_begin = true; /* at the start of the history already */
			report_stop(g);
			break;
		}
		resume_machine(g, false);
		cpu->dbg.skip_break = false; /* the scan counts a breakpoint where it starts */
		break;
	case 'v':
		if (!strcmp(p, "vCont?")) {
			reply(g, "vCont;c;C;s;S");
		} else if (!strncmp(p, "vCont;", 6)) {
			/* One thread: the first action decides (s/S step, c/C continue). */
			char a = p[6];
			resume_machine(g, a == 's' || a == 'S');
		} else {
			reply(g, "");
		}
		break;
	case 'Z':
	case 'z': {
		unsigned type = (unsigned)(p[1] - '0');
		uint64_t addr, n;
		if (type > 4 || p[2] != ',' || !parse_addr_len(p + 3, &addr, &n))
			return reply(g, "E01"), GDBSTUB_OK;
		if (type <= 1)
			n = 1; /* a breakpoint's "kind" is the instruction length: irrelevant here
				*/
		int rc = p[0] == 'Z' ? cpu_debugger_insert_in(cpu, z_kinds[type], addr, n,
							      (enum dbg_in)g->break_in)
				     : cpu_debugger_remove(cpu, z_kinds[type], addr, n);
		reply(g, rc == 0 ? "OK" : "E22");
		break;
	}
	case 'H':
	case 'T': reply(g, "OK"); break; /* one thread */
	case 'D':
		reply(g, "OK");
		for (unsigned k = cpu->dbg.npoints; k-- > 0;)
			cpu_debugger_remove(cpu, cpu->dbg.point[k].kind, cpu->dbg.point[k].lin,
					    cpu->dbg.point[k].len);
		resume_machine(g, false);
		close(g->fd);
		g->fd = -1;
		break;
	case 'k': return GDBSTUB_KILL;
	case 'q':
	case 'Q': handle_query(g, p); break;
	default: reply(g, ""); break;
	}
	return GDBSTUB_OK;
}

/* Take the complete packets out of the input buffer. */
static enum gdbstub_result
process_input(struct gdbstub *g)
{
	size_t k = 0;
	while (k < g->nin) {
		uint8_t c = g->in[k];
		if (c == 0x03) { /* Ctrl-C */
			k++;
			if (!g->stopped) {
				if (g->rev)
					reverse_abort(g->rev);
				g->cpu->dbg.stop = DBG_STOP_NONE;
				stop_machine(g);
				report_stop(g);
			}
			continue;
		}
		if (c != '$') {
			k++; /* '+', '-' and noise */
			continue;
		}
		uint8_t *hash = memchr(g->in + k, '#', g->nin - k);
		if (!hash || (size_t)(hash - g->in) + 3 > g->nin)
			break; /* incomplete */
		size_t body = k + 1, len = (size_t)(hash - g->in) - body;
		uint8_t sum = 0;
		for (size_t j = 0; j < len; j++)
			sum += g->in[body + j];
		int want = hexval(hash[1]) << 4 | hexval(hash[2]);
		k = (size_t)(hash - g->in) + 3;
		if (!g->no_ack)
			send_raw(g, sum == want ? "+" : "-", 1);
		if (sum != want)
			continue;
		char pkt[PACKET_MAX + 1];
		memcpy(pkt, g->in + body, len);
		pkt[len] = 0;
		/* Packets that resume the machine only make sense while it is stopped. */
		if (!g->stopped &&
		    (pkt[0] == 'c' || pkt[0] == 's' || pkt[0] == 'b' || !strncmp(pkt, "vCont;", 6)))
			continue;
		if (handle_packet(g, pkt, len) == GDBSTUB_KILL)
			return GDBSTUB_KILL;
	}
	memmove(g->in, g->in + k, g->nin - k);
	g->nin -= k;
	if (g->nin == sizeof(g->in))
		g->nin = 0; /* an oversized packet: drop it */
	return GDBSTUB_OK;
}

static void
accept_client(struct gdbstub *g)
{
	int fd = accept(g->listen_fd, NULL, NULL);
	if (fd < 0)
		return;
	if (g->fd >= 0) { /* one debugger at a time */
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	g->fd = fd;
	g->no_ack = false;
	g->nin = 0;
	g->cpu->dbg.stop = DBG_STOP_NONE;
	stop_machine(g); /* as QEMU: an attaching debugger stops the machine */
}

enum gdbstub_result
gdbstub_serve(struct gdbstub *g, int timeout_ms)
{
	struct pollfd pfd = { .fd = g->fd >= 0 ? g->fd : g->listen_fd, .events = POLLIN };
	int wait = g->stopped ? timeout_ms : 0;
	while (poll(&pfd, 1, wait) > 0) {
		if (g->fd < 0) {
			accept_client(g);
		} else {
			ssize_t n = recv(g->fd, g->in + g->nin, sizeof(g->in) - g->nin, 0);
			if (n <= 0) { /* gdb went away: drop its points and let the guest run */
				close(g->fd);
				g->fd = -1;
				for (unsigned k = g->cpu->dbg.npoints; k-- > 0;)
					cpu_debugger_remove(g->cpu, g->cpu->dbg.point[k].kind,
							    g->cpu->dbg.point[k].lin,
							    g->cpu->dbg.point[k].len);
				resume_machine(g, false);
				return GDBSTUB_OK;
			}
			g->nin += (size_t)n;
			if (process_input(g) == GDBSTUB_KILL)
				return GDBSTUB_KILL;
		}
		if (!g->stopped)
			return GDBSTUB_OK;
		pfd.fd = g->fd >= 0 ? g->fd : g->listen_fd;
	}
	return GDBSTUB_OK;
}

void
gdbstub_cpu_stopped(struct gdbstub *g)
{
	if (g->rev && reverse_debug_stop(g->rev))
		return; /* a hit on a backward move's way: it goes on */
	if (g->cpu->dbg.stop == DBG_STOP_NONE)
		g->cpu->dbg.stop = DBG_STOP_STEP; /* halted during a step: it is done */
	g->cpu->dbg.step = false;
	stop_machine(g);
	if (g->fd >= 0)
		report_stop(g);
}

void
gdbstub_enable_reverse(struct gdbstub *g, struct replay *rp)
{
	if (!g->rev)
		g->rev = reverse_create(g->pc, rp);
}

void
gdbstub_boundary(struct gdbstub *g)
{
	if (g->rev && reverse_boundary(g->rev)) {
		stop_machine(g);
		g->at_begin = reverse_at_begin(g->rev);
		if (g->fd >= 0)
			report_stop(g);
	}
}

uint64_t
gdbstub_budget(const struct gdbstub *g, uint64_t budget)
{
	return g->rev ? reverse_budget(g->rev, budget) : budget;
}

void
gdbstub_exited(struct gdbstub *g, int status)
{
	char buf[8];
	snprintf(buf, sizeof(buf), "W%02x", status & 0xff);
	if (g->fd >= 0)
		reply(g, buf);
}

bool
gdbstub_stopped(const struct gdbstub *g)
{
	return g->stopped;
}

int
gdbstub_fd(const struct gdbstub *g)
{
	return g->fd >= 0 ? g->fd : g->listen_fd;
}

struct gdbstub *
gdbstub_open(const char *spec, struct pc *pc, bool wait, char *err, size_t errlen)
{
	if (strncmp(spec, "tcp:", 4)) {
		snprintf(err, errlen, "-gdb: '%s' is not tcp::PORT or tcp:HOST:PORT", spec);
		return NULL;
	}
	const char *hp = spec + 4, *colon = strrchr(hp, ':');
	if (!colon || !colon[1]) {
		snprintf(err, errlen, "-gdb: '%s' has no port (tcp::PORT)", spec);
		return NULL;
	}
	char host[256];
	size_t hl = (size_t)(colon - hp);
	if (hl >= sizeof(host)) {
		snprintf(err, errlen, "-gdb: host name too long");
		return NULL;
	}
	memcpy(host, hp, hl);
	host[hl] = 0;
	int fd = tcp_listen("-gdb", spec, host, colon + 1, false, err, errlen);
	if (fd < 0)
		return NULL;
	struct gdbstub *g = calloc(1, sizeof(*g));
	if (!g || !(g->xml = build_target_xml(&g->xml_len))) {
		snprintf(err, errlen, "-gdb: out of memory");
		free(g);
		close(fd);
		return NULL;
	}
	g->pc = pc;
	g->cpu = pc->cpu;
	g->listen_fd = fd;
	g->fd = -1;
	if (wait)
		stop_machine(g); /* -S: nothing runs until gdb says so */
	return g;
}

void
gdbstub_close(struct gdbstub *g)
{
	if (!g)
		return;
	if (g->fd >= 0)
		close(g->fd);
	close(g->listen_fd);
	reverse_destroy(g->rev);
	free(g->xml);
	free(g);
}
