/*
 * fugu — record and replay (docs/SNAPSHOT.md, "Record and replay").
 *
 * The log is text, one event per line:
 *
 *   fugu-record 1
 *   interval N
 *   input comK ICOUNT NS HEXBYTES     serial bytes from the host reached COMK+1
 *   input kbd ICOUNT NS HEXBYTES      a key's set-2 scan codes (window, sendkey)
 *   input mouse ICOUNT NS DX DY DZ B  mouse motion, wheel and buttons (window)
 *   check ICOUNT NS ram=CRC cpu=CRC DEV=CRC... regs NAME=HEX...
 *   final ICOUNT NS ...               the check as the run ended
 *   end ICOUNT NS STATUS
 *
 * ICOUNT and NS place the event: the retired-instruction count and the virtual
 * time at that point of the run loop. A check holds CRC-32s of RAM, of the
 * saved CPU and of each device's saved section, and the value of every field
 * of the CPU-state table, so a divergence names the register.
 */
#define _GNU_SOURCE /* getline */
#include "frontend/replay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "chipset/pc.h"
#include "cpu/cpu.h"
#include "frontend/exitcodes.h"
#include "mmu/physmem.h"

#define REPLAY_FORMAT 1

struct replay {
	struct pc *pc;
	FILE *f;
	bool replaying;
	uint64_t interval;
	uint64_t next_check; /* recording: the next checkpoint's instruction count */
	/* Replaying: the next lines of each kind, read ahead. */
	char *line;
	size_t cap;
	bool have_input, have_check, have_end;
	enum { IN_COM, IN_KBD, IN_MOUSE } in_kind;
	unsigned in_port;
	int in_mouse[4]; /* dx, dy, dz, buttons */
	uint64_t in_icount, in_ns;
	uint8_t in_bytes[256];
	size_t in_len;
	uint64_t ck_icount, ck_ns;
	char *ck_text; /* the recorded check line */
	bool ck_final; /* it is the "final" line: checked only when the run ends */
	uint64_t end_icount, end_ns;
	int end_status;
	long lineno;
};

static uint64_t
now_ns(const struct replay *r)
{
	return vclock_now(&r->pc->clock);
}

static uint32_t
crc_bytes(const void *p, uint64_t len)
{
	uLong c = crc32(0, NULL, 0);
	for (uint64_t off = 0; off < len;) {
		uint64_t n = len - off > (1u << 30) ? (1u << 30) : len - off;
		c = crc32(c, (const Bytef *)p + off, (uInt)n);
		off += n;
	}
	return (uint32_t)c;
}

/* The checkpoint line for the machine as it is now (without the newline). */
static char *
check_line(struct replay *r)
{
	struct pc *pc = r->pc;
	size_t cap = 16384, len = 0;
	char *s = malloc(cap);
	if (!s)
		return NULL;
#define PUT(...)                                                                                   \
	do {                                                                                       \
		int n_ = snprintf(s + len, cap - len, __VA_ARGS__);                                \
		if (n_ > 0)                                                                        \
			len += (size_t)n_ < cap - len ? (size_t)n_ : cap - len - 1;                \
	} while (0)
	static struct cpu_saved cs;
	cpu_save(pc->cpu, &cs);
	PUT("check %" PRIu64 " %" PRIu64 " ram=%08x cpu=%08x", pc->cpu->icount, now_ns(r),
	    crc_bytes(pc->mem->ram, pc->mem->ram_size), crc_bytes(&cs, sizeof(cs)));
	size_t vmx_len = cpu_save_vmx(pc->cpu, NULL, 0);
	void *vmx = vmx_len ? malloc(vmx_len) : NULL;
	if (vmx) {
		cpu_save_vmx(pc->cpu, vmx, vmx_len);
		PUT(" vmx=%08x", crc_bytes(vmx, vmx_len));
		free(vmx);
	}
	for (size_t i = 0; i < pc_ndevices; i++) {
		void *dev = pc_device(pc, i);
		if (!dev || !pc_devices[i].save || !pc_devices[i].version)
			continue;
		size_t n = pc_devices[i].save(dev, NULL, 0);
		void *buf = malloc(n ? n : 1);
		if (!buf)
			continue;
		pc_devices[i].save(dev, buf, n);
		PUT(" %s=%08x", pc_devices[i].name, crc_bytes(buf, n));
		free(buf);
	}
	PUT(" regs");
	for (unsigned k = 0; k < STATE_FIELD_COUNT; k++)
		PUT(" %s=%" PRIx64, state_fields[k].name, state_get(&cs.state, k));
#undef PUT
	return s;
}

/* An input line's head: "input KIND ICOUNT NS ". */
static void
put_input(struct replay *r, const char *kind)
{
	fprintf(r->f, "input %s %" PRIu64 " %" PRIu64 " ", kind, r->pc->cpu->icount, now_ns(r));
}

static void
put_hex(struct replay *r, const uint8_t *buf, size_t len)
{
	for (size_t k = 0; k < len; k++)
		fprintf(r->f, "%02x", buf[k]);
	fputc('\n', r->f);
}

static void
on_serial_input(void *opaque, struct uart *u, const uint8_t *buf, size_t len)
{
	struct replay *r = opaque;
	char kind[8];
	snprintf(kind, sizeof(kind), "com%u", (unsigned)(u - r->pc->com) & 3);
	put_input(r, kind);
	put_hex(r, buf, len);
}

static void
on_kbd_input(void *opaque, const uint8_t *codes, size_t n)
{
	struct replay *r = opaque;
	if (!n)
		return;
	put_input(r, "kbd");
	put_hex(r, codes, n < 128 ? n : 128);
}

static void
on_mouse_input(void *opaque, int dx, int dy, int dz, unsigned buttons)
{
	struct replay *r = opaque;
	put_input(r, "mouse");
	fprintf(r->f, "%d %d %d %u\n", dx, dy, dz, buttons);
}

/* A disk the guest may write lives on after the run: a replay would read what
 * the recorded run wrote. Such drives are refused rather than logged. */
static bool
disks_immutable(struct pc *pc, const char *opt, char *err, size_t errlen)
{
	for (unsigned d = 0; d < 4; d++) {
		const struct ide_drive *drv = &pc->ide.ch[d / 2].drive[d % 2];
		if (drv->present && !drv->bd.readonly && !drv->bd.snapshot) {
			snprintf(err, errlen,
				 "%s: IDE drive %u is written through to its image, so a replay "
				 "would read what this run wrote (use -snapshot or readonly=on)",
				 opt, d);
			return false;
		}
	}
	return true;
}

struct replay *
replay_record(struct pc *pc, const char *path, uint64_t interval, char *err, size_t errlen)
{
	if (pc->clock.mode != VCLOCK_DETERMINISTIC) {
		snprintf(err, errlen, "-record needs -clock deterministic");
		return NULL;
	}
	if (!disks_immutable(pc, "-record", err, errlen))
		return NULL;
	struct replay *r = calloc(1, sizeof(*r));
	if (!r || !(r->f = fopen(path, "w"))) {
		snprintf(err, errlen, "-record: cannot create %s: %s", path, strerror(errno));
		free(r);
		return NULL;
	}
	r->pc = pc;
	r->interval = interval ? interval : REPLAY_INTERVAL_DEFAULT;
	r->next_check = pc->cpu->icount;
	fprintf(r->f, "fugu-record %d\ninterval %" PRIu64 "\n", REPLAY_FORMAT, r->interval);
	for (unsigned k = 0; k < 4; k++) {
		pc->com[k].input_hook = on_serial_input;
		pc->com[k].input_opaque = r;
	}
	pc->kbc.kbd_hook = on_kbd_input;
	pc->kbc.mouse_hook = on_mouse_input;
	pc->kbc.hook_opaque = r;
	return r;
}

static int
parse_error(struct replay *r)
{
	fprintf(stderr, "fugu: -replay: line %ld is malformed\n", r->lineno);
	return -1;
}

/* Read the next event of the recording (they are in run order, so the next
 * line is the earliest), unless one is pending. */
static int
read_ahead(struct replay *r)
{
	if (r->have_input || r->have_check || r->have_end)
		return 0;
	ssize_t n = getline(&r->line, &r->cap, r->f);
	if (n < 0) {
		fprintf(stderr, "fugu: -replay: the recording has no end line (truncated)\n");
		return -1;
	}
	r->lineno++;
	if (n && r->line[n - 1] == '\n')
		r->line[--n] = '\0';
	char hex[2 * sizeof(r->in_bytes) + 1];
	char kind[8];
	if (!strncmp(r->line, "input ", 6)) {
		int at = 0;
		if (sscanf(r->line, "input %7s %" SCNu64 " %" SCNu64 " %n", kind, &r->in_icount,
			   &r->in_ns, &at) != 3 ||
		    !at)
			return parse_error(r);
		const char *rest = r->line + at;
		if (!strcmp(kind, "mouse")) {
			r->in_kind = IN_MOUSE;
			if (sscanf(rest, "%d %d %d %d", &r->in_mouse[0], &r->in_mouse[1],
				   &r->in_mouse[2], &r->in_mouse[3]) != 4)
				return parse_error(r);
			r->have_input = true;
			return 0;
		}
		if (!strcmp(kind, "kbd"))
			r->in_kind = IN_KBD;
		else if (sscanf(kind, "com%u", &r->in_port) == 1 && r->in_port <= 3)
			r->in_kind = IN_COM;
		else
			return parse_error(r);
		if (sscanf(rest, "%512s", hex) != 1 || strlen(hex) % 2)
			return parse_error(r);
		r->in_len = strlen(hex) / 2;
		for (size_t k = 0; k < r->in_len; k++) {
			unsigned v;
			if (sscanf(hex + 2 * k, "%2x", &v) != 1)
				return parse_error(r);
			r->in_bytes[k] = (uint8_t)v;
		}
		r->have_input = true;
	} else if (!strncmp(r->line, "check ", 6) || !strncmp(r->line, "final ", 6)) {
		if (sscanf(r->line + 6, "%" SCNu64 " %" SCNu64, &r->ck_icount, &r->ck_ns) != 2)
			return parse_error(r);
		r->ck_final = r->line[0] == 'f';
		memcpy(r->line, "check ", 6); /* compared with check_line's text */
		free(r->ck_text);
		r->ck_text = strdup(r->line);
		if (!r->ck_text)
			return -1;
		r->have_check = true;
	} else if (!strncmp(r->line, "end ", 4)) {
		if (sscanf(r->line, "end %" SCNu64 " %" SCNu64 " %d", &r->end_icount, &r->end_ns,
			   &r->end_status) != 3)
			return parse_error(r);
		r->have_end = true;
	} else {
		return parse_error(r);
	}
	return 0;
}

struct replay *
replay_replay(struct pc *pc, const char *path, char *err, size_t errlen)
{
	if (pc->clock.mode != VCLOCK_DETERMINISTIC) {
		snprintf(err, errlen, "-replay needs -clock deterministic");
		return NULL;
	}
	if (!disks_immutable(pc, "-replay", err, errlen))
		return NULL;
	struct replay *r = calloc(1, sizeof(*r));
	if (!r || !(r->f = fopen(path, "r"))) {
		snprintf(err, errlen, "-replay: cannot open %s: %s", path, strerror(errno));
		free(r);
		return NULL;
	}
	r->pc = pc;
	r->replaying = true;
	int version = 0;
	if (fscanf(r->f, "fugu-record %d\ninterval %" SCNu64 "\n", &version, &r->interval) != 2 ||
	    version != REPLAY_FORMAT) {
		snprintf(err, errlen, "-replay: %s is not a fugu recording of format %d", path,
			 REPLAY_FORMAT);
		fclose(r->f);
		free(r);
		return NULL;
	}
	r->lineno = 2;
	for (unsigned k = 0; k < 4; k++)
		pc->com[k].input_ignored = true; /* the recording is the only input */
	pc->kbc.input_ignored = true;
	if (read_ahead(r) < 0) {
		snprintf(err, errlen, "-replay: %s: unreadable recording", path);
		fclose(r->f);
		free(r->line);
		free(r->ck_text);
		free(r);
		return NULL;
	}
	return r;
}

uint64_t
replay_next_stop(const struct replay *r)
{
	if (!r->replaying)
		return r->next_check;
	uint64_t stop = UINT64_MAX;
	if (r->have_check)
		stop = r->ck_icount;
	if (r->have_input && r->in_icount < stop)
		stop = r->in_icount;
	if (r->have_end)
		stop = r->end_icount;
	return stop;
}

/* The first difference between a recorded and a replayed check line, named. */
static void
report(struct replay *r, const char *want, const char *got)
{
	const char *ws = strstr(want, " ram="), *gs = strstr(got, " ram=");
	char wcopy[65536], gcopy[65536];
	snprintf(wcopy, sizeof(wcopy), "%s", ws ? ws : "");
	snprintf(gcopy, sizeof(gcopy), "%s", gs ? gs : "");
	char *wp, *gp;
	char *w = strtok_r(wcopy, " ", &wp), *g = strtok_r(gcopy, " ", &gp);
	const char *first = NULL;
	char detail[256] = "";
	bool in_regs = false;
	for (; w && g; w = strtok_r(NULL, " ", &wp), g = strtok_r(NULL, " ", &gp)) {
		if (!strcmp(w, "regs")) {
			in_regs = true;
			continue;
		}
		if (!strcmp(w, g))
			continue;
		char *we = strchr(w, '='), *ge = strchr(g, '=');
		if (!we || !ge)
			break;
		*we = *ge = '\0';
		if (in_regs) { /* the register: the most precise answer */
			snprintf(detail, sizeof(detail), "register %s: recorded %s, replayed %s", w,
				 we + 1, ge + 1);
			break;
		}
		if (!first) {
			static char name[64];
			snprintf(name, sizeof(name), "%s", w);
			first = name;
		}
	}
	if (!detail[0]) {
		if (first && !strcmp(first, "ram"))
			snprintf(detail, sizeof(detail), "RAM differs");
		else if (first && !strcmp(first, "cpu"))
			snprintf(detail, sizeof(detail),
				 "CPU state outside the register table differs (x87/SSE, MSRs, "
				 "events)");
		else if (first)
			snprintf(detail, sizeof(detail), "device %s differs", first);
		else
			snprintf(detail, sizeof(detail), "the virtual time differs");
	} else if (first) {
		size_t n = strlen(detail);
		snprintf(detail + n, sizeof(detail) - n, " (first section: %s)", first);
	}
	fprintf(stderr, "fugu: replay diverged at instruction %" PRIu64 ": %s\n", r->ck_icount,
		detail);
}

int
replay_checkpoint(struct replay *r)
{
	uint64_t icount = r->pc->cpu->icount;
	if (!r->replaying) {
		if (icount < r->next_check)
			return 0;
		char *s = check_line(r);
		if (s) {
			fprintf(r->f, "%s\n", s);
			free(s);
		}
		r->next_check = (icount / r->interval + 1) * r->interval;
		return 0;
	}
	if (!r->have_check || r->ck_final || icount < r->ck_icount)
		return 0;
	int rc = 0;
	char *s = check_line(r);
	if (!s)
		return -1;
	if (icount != r->ck_icount) {
		fprintf(stderr,
			"fugu: replay diverged: the run passed instruction %" PRIu64
			" without stopping there\n",
			r->ck_icount);
		rc = -1;
	} else if (strcmp(s, r->ck_text)) {
		report(r, r->ck_text, s);
		rc = -1;
	}
	free(s);
	r->have_check = false;
	if (rc == 0 && read_ahead(r) < 0)
		rc = -1;
	return rc;
}

int
replay_inputs(struct replay *r)
{
	if (!r->replaying)
		return 0;
	uint64_t icount = r->pc->cpu->icount, now = now_ns(r);
	int fed = 0;
	while (r->have_input && r->in_icount == icount && r->in_ns == now) {
		if (r->in_kind == IN_COM)
			uart_input(&r->pc->com[r->in_port], r->in_bytes, r->in_len);
		else if (r->in_kind == IN_KBD)
			kbc_kbd_inject(&r->pc->kbc, r->in_bytes, r->in_len);
		else
			kbc_mouse_inject(&r->pc->kbc, r->in_mouse[0], r->in_mouse[1],
					 r->in_mouse[2], (unsigned)r->in_mouse[3]);
		r->have_input = false;
		fed = 1;
		if (read_ahead(r) < 0)
			return -1;
	}
	if (r->have_input &&
	    (r->in_icount < icount || (r->in_icount == icount && r->in_ns < now))) {
		fprintf(stderr,
			"fugu: replay diverged at instruction %" PRIu64
			": the run passed the recorded input's moment (time %" PRIu64
			" ns, now %" PRIu64 ")\n",
			r->in_icount, r->in_ns, now);
		return -1;
	}
	return fed;
}

bool
replay_ended(const struct replay *r, int *status)
{
	if (!r->replaying || !r->have_end || r->end_status != FUGU_EXIT_TIMEOUT ||
	    r->pc->cpu->icount != r->end_icount || now_ns(r) != r->end_ns)
		return false;
	*status = r->end_status;
	return true;
}

int
replay_finish(struct replay *r, int status)
{
	if (!r)
		return 0;
	int rc = 0;
	uint64_t icount = r->pc->cpu->icount, now = now_ns(r);
	if (status == FUGU_EXIT_DIVERGED) {
		/* already reported */
	} else if (!r->replaying) {
		char *s = check_line(r);
		if (s)
			fprintf(r->f, "final %s\n", s + 6);
		free(s);
		fprintf(r->f, "end %" PRIu64 " %" PRIu64 " %d\n", icount, now, status);
	} else {
		if (r->have_check && r->ck_final && r->ck_icount == icount) {
			char *s = check_line(r);
			if (!s || strcmp(s, r->ck_text)) {
				report(r, r->ck_text, s ? s : "");
				rc = -1;
			}
			free(s);
			r->have_check = false;
			if (rc == 0)
				read_ahead(r);
		}
		if (rc < 0) {
			/* reported */
		} else if (r->have_input || r->have_check || !r->have_end) {
			fprintf(stderr,
				"fugu: replay diverged: the run ended at instruction %" PRIu64
				" before the recording's %s at %" PRIu64 "\n",
				icount, r->have_input ? "input" : "checkpoint",
				r->have_input ? r->in_icount : r->ck_icount);
			rc = -1;
		} else if (r->end_icount != icount || r->end_status != status) {
			fprintf(stderr,
				"fugu: replay diverged: the run ended at instruction %" PRIu64
				" with status %d, the recording at %" PRIu64 " with status %d\n",
				icount, status, r->end_icount, r->end_status);
			rc = -1;
		}
	}
	if (fclose(r->f) != 0)
		rc = -1;
	free(r->line);
	free(r->ck_text);
	free(r);
	return rc;
}

/* A copy of the reader: the file position after the events read ahead. */
struct replay_mark {
	struct replay r;
	long offset;
};

struct replay_mark *
replay_mark(const struct replay *r)
{
	if (!r->replaying)
		return NULL;
	struct replay_mark *m = malloc(sizeof(*m));
	if (!m)
		return NULL;
	m->r = *r;
	m->r.line = NULL;
	m->r.cap = 0;
	m->r.ck_text = r->ck_text ? strdup(r->ck_text) : NULL;
	m->offset = ftell(r->f);
	if (m->offset < 0 || (r->ck_text && !m->r.ck_text)) {
		replay_mark_free(m);
		return NULL;
	}
	return m;
}

int
replay_rewind(struct replay *r, const struct replay_mark *m)
{
	char *ck = m->r.ck_text ? strdup(m->r.ck_text) : NULL;
	if ((m->r.ck_text && !ck) || fseek(r->f, m->offset, SEEK_SET) != 0) {
		free(ck);
		return -1;
	}
	FILE *f = r->f;
	char *line = r->line;
	size_t cap = r->cap;
	free(r->ck_text);
	*r = m->r;
	r->f = f;
	r->line = line;
	r->cap = cap;
	r->ck_text = ck;
	return 0;
}

void
replay_mark_free(struct replay_mark *m)
{
	if (m)
		free(m->r.ck_text);
	free(m);
}
