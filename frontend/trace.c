/*
 * fugu — the trace sinks: text (with Capstone disassembly of instruction bytes)
 * and JSON Lines, both driven by the schema table (trace/schema.c). Linked into
 * the fugu executable only: the core library knows no Capstone.
 */
#include "frontend/trace.h"

#include "cpu/state.h"
#include "frontend/plugin.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	unsigned id;
	const char *name, *help;
} categories[] = {
#define X(id, nm, hlp) { id, nm, hlp },
	TRACE_CATEGORY_LIST(X)
#undef X
};

#define REPEAT_WINDOW 64 /* the longest cycle recognised, in events */
#define REPEAT_SHOWN 2   /* a cycle is written this many times before it is counted */

struct sink {
	struct tracer base; /* first: the producers see only this */
	enum trace_format format;
	FILE *out;
	unsigned out_categories; /* what the output sink shows */
	unsigned keep;           /* raised for plugins and the hypercall, whatever the output */
	bool hypercall;
	int8_t addr_field[TEV_COUNT]; /* the field holding the event's address, or -1 */
	struct plugins *plugins;
	csh cs[3]; /* capstone handles for 16-, 32- and 64-bit code */
	bool cs_ok[3];
	/* Repeats (docs/TRACING.md): the hashes of the last events written, the
	 * cycle the stream is in, and what was left out of it. */
	bool all_repeats;
	uint64_t hist[REPEAT_WINDOW];
	uint64_t nhist;
	unsigned period;
	uint64_t run, suppressed;
	struct trace_hdr last;
};

/* "0x1f", "31": a number in C syntax; false unless the whole of s[0..n) is one. */
static bool
parse_u64(const char *s, size_t n, uint64_t *v)
{
	char buf[32];
	if (n == 0 || n >= sizeof(buf) || *s == '-')
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	char *end;
	errno = 0;
	*v = strtoull(buf, &end, 0);
	return !errno && *end == 0;
}

/* "LO-HI", "LO-", "-HI" or "N" (inclusive); false on bad syntax or LO > HI. */
static bool
parse_range(const char *s, size_t n, uint64_t *lo, uint64_t *hi)
{
	const char *dash = memchr(s, '-', n);
	if (!dash)
		return parse_u64(s, n, lo) && (*hi = *lo, true);
	size_t nl = (size_t)(dash - s), nh = n - nl - 1;
	*lo = 0;
	*hi = UINT64_MAX;
	if (nl && !parse_u64(s, nl, lo))
		return false;
	if (nh && !parse_u64(dash + 1, nh, hi))
		return false;
	return (nl || nh) && *lo <= *hi;
}

/* One filter key ("cpl=3"); false with a message when it is not one. */
static bool
parse_filter_key(const char *item, size_t n, struct trace_config *cfg, char *err, size_t errlen)
{
	const char *eq = memchr(item, '=', n);
	size_t kn = (size_t)(eq - item), vn = n - kn - 1;
	const char *val = eq + 1;
	struct trace_filter *f = &cfg->filter;
	uint64_t lo, hi;
#define KEY(k) (kn == strlen(k) && !strncmp(item, k, kn))
	if (KEY("cpl")) {
		if (!parse_range(val, vn, &lo, &hi) || hi > 3)
			goto bad;
		f->cpl_mask = 0;
		for (uint64_t c = lo; c <= hi; c++)
			f->cpl_mask |= (uint8_t)(1u << c);
	} else if (KEY("vmx")) {
		unsigned k;
		for (k = 0; k < trace_vmx_count_; k++)
			if (strlen(trace_vmx_names[k]) == vn &&
			    !strncmp(trace_vmx_names[k], val, vn))
				break;
		if (k == trace_vmx_count_)
			goto bad;
		f->vmx_mask = (uint8_t)(1u << k);
	} else if (KEY("cr3")) {
		if (!parse_u64(val, vn, &f->cr3))
			goto bad;
		f->cr3_set = true;
	} else if (KEY("addr")) {
		if (!parse_range(val, vn, &f->addr_lo, &f->addr_hi))
			goto bad;
		f->addr_set = true;
	} else if (KEY("icount")) {
		if (!parse_range(val, vn, &f->icount_lo, &f->icount_hi))
			goto bad;
	} else if (KEY("repeats")) {
		if (vn == 3 && !strncmp(val, "all", 3))
			cfg->all_repeats = true;
		else if (vn == 9 && !strncmp(val, "summarise", 9))
			cfg->all_repeats = false;
		else
			goto bad;
		return true;
	} else if (KEY("start")) {
		if (vn == 3 && !strncmp(val, "off", 3))
			cfg->start_off = true;
		else if (vn == 2 && !strncmp(val, "on", 2))
			cfg->start_off = false;
		else
			goto bad;
		return true;
	} else {
		snprintf(err, errlen,
			 "unknown trace filter '%.*s' (cpl, vmx, cr3, addr, icount, start or "
			 "repeats)",
			 (int)kn, item);
		return false;
	}
#undef KEY
	f->any = true;
	return true;
bad:
	snprintf(err, errlen, "bad trace filter value '%.*s' (see docs/TRACING.md)", (int)n, item);
	return false;
}

int
trace_parse_spec(const char *spec, struct trace_config *cfg, char *err, size_t errlen)
{
	*cfg = (struct trace_config){
		.filter = { .cpl_mask = 0xf, .vmx_mask = 0xff, .icount_hi = UINT64_MAX }
	};
	while (*spec) {
		size_t n = strcspn(spec, ",");
		bool found = false;
		if (memchr(spec, '=', n)) {
			if (!parse_filter_key(spec, n, cfg, err, errlen))
				return -1;
			found = true;
		}
		for (size_t k = 0; !found && k < sizeof(categories) / sizeof(categories[0]); k++) {
			if (strlen(categories[k].name) == n &&
			    !strncmp(categories[k].name, spec, n)) {
				cfg->categories |= categories[k].id;
				found = true;
			}
		}
		if (!found) {
			snprintf(err, errlen, "unknown trace category '%.*s' (see -d help)", (int)n,
				 spec);
			return -1;
		}
		spec += n;
		if (*spec == ',')
			spec++;
	}
	return 0;
}

int
trace_parse_categories(const char *spec, unsigned *mask, char *err, size_t errlen)
{
	struct trace_config cfg;
	if (trace_parse_spec(spec, &cfg, err, errlen) < 0)
		return -1;
	if (cfg.filter.any || cfg.start_off) {
		snprintf(err, errlen, "'%s': categories only here (filters go to -d)", spec);
		return -1;
	}
	*mask = cfg.categories;
	return 0;
}

void
tracer_set_categories(struct tracer *base, unsigned mask, bool on)
{
	struct sink *t = (struct sink *)base;
	if (on) {
		base->categories |= mask;
		t->out_categories |= mask;
	} else {
		t->out_categories &= ~mask;
		base->categories &= ~mask | t->keep; /* plugins and the hypercall keep theirs */
	}
}

void
trace_list_categories(FILE *f)
{
	fprintf(f, "Trace categories for -d (comma-separated):\n");
	for (size_t k = 0; k < sizeof(categories) / sizeof(categories[0]); k++)
		fprintf(f, "  %-8s %s\n", categories[k].name, categories[k].help);
	fprintf(f, "Filters (same list, docs/TRACING.md): cpl=N[-M] vmx=none|root|non-root "
		   "cr3=X addr=LO-HI icount=LO-HI start=off repeats=all\n");
}

static void flush_repeats(struct sink *t);
static void sink_event(struct tracer *t, enum trace_event ev, const struct trace_hdr *h,
		       const struct trace_value *v);

/* An event's address for the addr= filter: its field named "lin" (the linear
 * address of an instruction or a page walk) or "addr" (an MMIO physical
 * address, a flushed page). */
static int8_t
find_addr_field(const struct trace_schema *s)
{
	for (int k = 0; k < TRACE_MAX_FIELDS && s->fields[k].name; k++)
		if (!strcmp(s->fields[k].name, "lin"))
			return (int8_t)k;
	for (int k = 0; k < TRACE_MAX_FIELDS && s->fields[k].name; k++)
		if (!strcmp(s->fields[k].name, "addr") && s->fields[k].type == TF_X64)
			return (int8_t)k;
	return -1;
}

struct tracer *
tracer_create(const struct trace_config *cfg, FILE *out, enum trace_format format,
	      struct plugins *plugins)
{
	struct sink *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	unsigned cats = cfg->categories;
	t->out_categories = cats;
	t->plugins = plugins;
	if (plugins)
		cats |= plugins_categories(plugins);
	/* The hypercall is a CPUID leaf: its event must reach the sink. */
	t->hypercall = cfg->hypercall;
	if (t->hypercall)
		cats |= TRACE_CAT_CPUID;
	t->keep = cats & ~cfg->categories;
	t->base.categories = cats;
	t->base.sink = sink_event;
	t->base.active = cfg->start_off ? 0 : ~0u;
	t->base.filter = cfg->filter;
	t->format = format;
	t->out = out;
	t->all_repeats = cfg->all_repeats;
	for (unsigned ev = 0; ev < TEV_COUNT; ev++)
		t->addr_field[ev] = find_addr_field(&trace_schema[ev]);
	static const cs_mode modes[3] = { CS_MODE_16, CS_MODE_32, CS_MODE_64 };
	if ((cfg->categories & TRACE_CAT_INSN) && format != TRACE_BINARY)
		for (int k = 0; k < 3; k++)
			t->cs_ok[k] = cs_open(CS_ARCH_X86, modes[k], &t->cs[k]) == CS_ERR_OK;
	if (format == TRACE_BINARY) {
		uint32_t hdr[2] = { TRACE_BIN_VERSION, TEV_COUNT };
		if (fwrite(TRACE_BIN_MAGIC, 8, 1, out) != 1 ||
		    fwrite(hdr, sizeof(hdr), 1, out) != 1) {
			free(t);
			return NULL;
		}
	}
	return &t->base;
}

void
tracer_destroy(struct tracer *base)
{
	if (!base)
		return;
	struct sink *t = (struct sink *)base;
	flush_repeats(t);
	for (int k = 0; k < 3; k++)
		if (t->cs_ok[k])
			cs_close(&t->cs[k]);
	fflush(t->out);
	free(t);
}

/* A JSON string: quotes, backslashes and control characters escaped (RFC 8259, 7). */
static void
json_string(FILE *out, const char *str)
{
	fputc('"', out);
	for (const unsigned char *c = (const unsigned char *)(str ? str : ""); *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(out, "\\%c", *c);
		else if (*c < 0x20)
			fprintf(out, "\\u%04x", *c);
		else
			fputc(*c, out);
	}
	fputc('"', out);
}

static const char *
enum_name(const struct trace_field *f, uint64_t v)
{
	return v < f->nnames && f->names[v] ? f->names[v] : "?";
}

/* Instruction bytes as lowercase hex, and their Capstone disassembly in the
 * code size they were decoded for; "(bad)" when Capstone cannot. */
static void
code_text(struct sink *t, const struct trace_value *v, uint64_t rip, char *hex, size_t hexlen,
	  char *asmtext, size_t asmlen)
{
	unsigned len = v->code.len;
	hex[0] = 0;
	for (unsigned k = 0; k < len && 2 * k + 2 < hexlen; k++)
		snprintf(hex + 2 * k, hexlen - 2 * k, "%02x", v->code.p[k]);
	snprintf(asmtext, asmlen, "(bad)");
	unsigned mode = v->code.bits == 16 ? 0 : v->code.bits == 32 ? 1 : 2;
	cs_insn *ci = NULL;
	if (len && t->cs_ok[mode] && cs_disasm(t->cs[mode], v->code.p, len, rip, 1, &ci) == 1) {
		snprintf(asmtext, asmlen, "%s%s%s", ci->mnemonic, ci->op_str[0] ? " " : "",
			 ci->op_str);
		cs_free(ci, 1);
	}
}

/* A changed register's name: its state-table name, a selector as its register's
 * ("cs" for "cs.sel"). */
static int
chg_name(const struct trace_changes *c, unsigned k, char *buf, size_t len)
{
	const struct state_field *f = &state_fields[c->reg[k].field];
	const char *dot = strchr(f->name, '.');
	snprintf(buf, len, "%.*s", dot ? (int)(dot - f->name) : (int)strlen(f->name), f->name);
	return f->size; /* selectors print as four hex digits */
}

/* The changed registers as text: "rax=1 cs=0008 rflags=2". */
static void
changes_text(FILE *out, const struct trace_changes *c)
{
	for (unsigned k = 0; k < c->n; k++) {
		char name[24];
		if (chg_name(c, k, name, sizeof(name)) == 2)
			fprintf(out, "%s%s=%04" PRIx64, k ? " " : "", name, c->reg[k].value);
		else
			fprintf(out, "%s%s=%" PRIx64, k ? " " : "", name, c->reg[k].value);
	}
}

/* The JSON Lines sink: numbers stay numbers (hex fields too), enums are their
 * names, lists are arrays, the header is the "hdr" object. */
static void
emit_json(struct sink *t, const struct trace_schema *s, const struct trace_hdr *h,
	  const struct trace_value *v)
{
	FILE *out = t->out;
	fputs("{\"event\":", out);
	json_string(out, s->name);
	fprintf(out,
		",\"hdr\":{\"icount\":%" PRIu64 ",\"cpl\":%u,\"cr3\":%" PRIu64
		",\"mode\":\"%s\",\"vmx\":\"%s\"",
		h->icount, h->cpl, h->cr3,
		h->mode < trace_mode_count_ ? trace_mode_names[h->mode] : "?",
		h->vmx < trace_vmx_count_ ? trace_vmx_names[h->vmx] : "?");
	if (h->vmcs == TRACE_NO_VMCS)
		fputs(",\"vmcs\":null}", out);
	else
		fprintf(out, ",\"vmcs\":%" PRIu64 "}", h->vmcs);
	uint64_t rip = 0;
	for (int k = 0; k < TRACE_MAX_FIELDS && s->fields[k].name; k++) {
		const struct trace_field *f = &s->fields[k];
		fprintf(out, ",\"%s\":", f->name);
		switch (f->type) {
		case TF_X8:
		case TF_X16:
		case TF_X32:
		case TF_X64:
		case TF_D8:
		case TF_D64: fprintf(out, "%" PRIu64, v[k].u); break;
		case TF_BOOL: fputs(v[k].u ? "true" : "false", out); break;
		case TF_ENUM: json_string(out, enum_name(f, v[k].u)); break;
		case TF_STR: json_string(out, v[k].s); break;
		case TF_ERRCODE:
			if (v[k].u == TRACE_NO_ERRCODE)
				fputs("null", out);
			else
				fprintf(out, "%" PRIu64, v[k].u);
			break;
		case TF_CODE: {
			char hex[2 * 16 + 1], asmtext[200];
			code_text(t, &v[k], rip, hex, sizeof(hex), asmtext, sizeof(asmtext));
			json_string(out, hex);
			fputs(",\"asm\":", out);
			json_string(out, asmtext);
			break;
		}
		case TF_U64LIST:
			fputc('[', out);
			for (unsigned j = 0; j < v[k].list.n; j++)
				fprintf(out, "%s%" PRIu64, j ? "," : "", v[k].list.p[j]);
			fputc(']', out);
			break;
		case TF_CHANGES: {
			const struct trace_changes *c = v[k].chg;
			fputc('{', out);
			for (unsigned j = 0; j < c->n; j++) {
				char name[24];
				chg_name(c, j, name, sizeof(name));
				fprintf(out, "%s\"%s\":%" PRIu64, j ? "," : "", name,
					c->reg[j].value);
			}
			fputc('}', out);
			break;
		}
		}
		if (!strcmp(f->name, "rip"))
			rip = v[k].u; /* the disassembly's address */
	}
	fputs("}\n", out);
}

/* The text sink: `name field=value ...`; the header is not shown (the insn
 * event carries its own icount, cs and rip). */
static void
emit_text(struct sink *t, const struct trace_schema *s, const struct trace_value *v)
{
	FILE *out = t->out;
	fputs(s->name, out);
	uint64_t rip = 0;
	for (int k = 0; k < TRACE_MAX_FIELDS && s->fields[k].name; k++) {
		const struct trace_field *f = &s->fields[k];
		const char *n = f->name;
		switch (f->type) {
		case TF_X8: fprintf(out, " %s=%02" PRIx64, n, v[k].u); break;
		case TF_X16: fprintf(out, " %s=%04" PRIx64, n, v[k].u); break;
		case TF_X32: fprintf(out, " %s=%08" PRIx64, n, v[k].u); break;
		case TF_X64: fprintf(out, " %s=%" PRIx64, n, v[k].u); break;
		case TF_D8:
		case TF_D64: fprintf(out, " %s=%" PRIu64, n, v[k].u); break;
		case TF_BOOL: fprintf(out, " %s=%s", n, v[k].u ? "true" : "false"); break;
		case TF_ENUM: fprintf(out, " %s=\"%s\"", n, enum_name(f, v[k].u)); break;
		case TF_STR: fprintf(out, " %s=\"%s\"", n, v[k].s ? v[k].s : ""); break;
		case TF_ERRCODE:
			if (v[k].u == TRACE_NO_ERRCODE)
				fprintf(out, " %s=none", n);
			else
				fprintf(out, " %s=%04" PRIx64, n, v[k].u);
			break;
		case TF_CODE: {
			char hex[2 * 16 + 1], asmtext[200];
			code_text(t, &v[k], rip, hex, sizeof(hex), asmtext, sizeof(asmtext));
			fprintf(out, " %s=\"%s\" asm=\"%s\"", n, hex, asmtext);
			break;
		}
		case TF_U64LIST:
			fprintf(out, " %s=\"", n);
			for (unsigned j = 0; j < v[k].list.n; j++)
				fprintf(out, "%s%" PRIx64, j ? " " : "", v[k].list.p[j]);
			fputc('"', out);
			break;
		case TF_CHANGES:
			fprintf(out, " %s=\"", n);
			changes_text(out, v[k].chg);
			fputc('"', out);
			break;
		}
		if (!strcmp(n, "rip"))
			rip = v[k].u;
	}
	fputc('\n', out);
}

/* ---- binary records (docs/TRACING.md) ---- */

/* Bytes a field takes in a record (the changes list: its fixed count part). */
static size_t
bin_field_size(enum trace_field_type type)
{
	switch (type) {
	case TF_CODE: return 24;    /* len, bits, 6 pad, 16 bytes */
	case TF_U64LIST: return 72; /* n, 7 pad, 8 entries */
	case TF_STR: return TRACE_BIN_STR;
	case TF_CHANGES: return 8; /* n, 7 pad; n * (u16 field, u64 value) follow the record */
	default: return 8;
	}
}

#define BIN_HDR 32 /* ev, cpl, mode, vmx, 4 pad, icount, cr3, vmcs */
#define BIN_MAX (BIN_HDR + TRACE_MAX_FIELDS * 72 + TRACE_MAX_CHANGES * 10)

static void
emit_binary(struct sink *t, enum trace_event ev, const struct trace_hdr *h,
	    const struct trace_value *v)
{
	const struct trace_schema *s = &trace_schema[ev];
	uint8_t rec[BIN_MAX];
	memset(rec, 0, BIN_HDR);
	rec[0] = (uint8_t)ev, rec[1] = h->cpl, rec[2] = h->mode, rec[3] = h->vmx;
	memcpy(rec + 8, &h->icount, 8);
	memcpy(rec + 16, &h->cr3, 8);
	memcpy(rec + 24, &h->vmcs, 8);
	size_t at = BIN_HDR;
	const struct trace_changes *chg = NULL;
	for (int k = 0; k < TRACE_MAX_FIELDS && s->fields[k].name; k++) {
		enum trace_field_type ty = s->fields[k].type;
		size_t n = bin_field_size(ty);
		memset(rec + at, 0, n);
		switch (ty) {
		case TF_CODE:
			rec[at] = v[k].code.len > 16 ? 16 : v[k].code.len;
			rec[at + 1] = v[k].code.bits;
			if (v[k].code.p)
				memcpy(rec + at + 8, v[k].code.p, rec[at]);
			break;
		case TF_U64LIST:
			rec[at] = v[k].list.n > 8 ? 8 : v[k].list.n;
			memcpy(rec + at + 8, v[k].list.p, 8u * rec[at]);
			break;
		case TF_STR:
			if (v[k].s)
				strncpy((char *)rec + at, v[k].s, TRACE_BIN_STR - 1);
			break;
		case TF_CHANGES:
			chg = v[k].chg;
			rec[at] = chg->n;
			break;
		default: memcpy(rec + at, &v[k].u, 8); break;
		}
		at += n;
	}
	for (unsigned j = 0; chg && j < chg->n; j++, at += 10) {
		memcpy(rec + at, &chg->reg[j].field, 2);
		memcpy(rec + at + 2, &chg->reg[j].value, 8);
	}
	fwrite(rec, at, 1, t->out);
}

int
trace_bin_decode(FILE *in, struct tracer *base, char *err, size_t errlen)
{
	char magic[8];
	uint32_t hdr[2];
	if (fread(magic, 8, 1, in) != 1 || memcmp(magic, TRACE_BIN_MAGIC, 8) ||
	    fread(hdr, sizeof(hdr), 1, in) != 1) {
		snprintf(err, errlen, "not a fugu binary trace");
		return -1;
	}
	if (hdr[0] != TRACE_BIN_VERSION || hdr[1] != TEV_COUNT) {
		snprintf(err, errlen,
			 "binary trace version %u with %u events; this decoder reads version %u "
			 "with %u",
			 hdr[0], hdr[1], TRACE_BIN_VERSION, TEV_COUNT);
		return -1;
	}
	uint8_t rec[BIN_MAX];
	static struct trace_changes chg;
	char strs[TRACE_MAX_FIELDS][TRACE_BIN_STR];
	while (fread(rec, BIN_HDR, 1, in) == 1) {
		if (rec[0] >= TEV_COUNT) {
			snprintf(err, errlen, "bad event id %u in binary trace", rec[0]);
			return -1;
		}
		enum trace_event ev = rec[0];
		const struct trace_schema *s = &trace_schema[ev];
		struct trace_hdr h = { .cpl = rec[1], .mode = rec[2], .vmx = rec[3] };
		memcpy(&h.icount, rec + 8, 8);
		memcpy(&h.cr3, rec + 16, 8);
		memcpy(&h.vmcs, rec + 24, 8);
		struct trace_value v[TRACE_MAX_FIELDS];
		memset(v, 0, sizeof(v));
		chg.n = 0;
		for (int k = 0; k < TRACE_MAX_FIELDS && s->fields[k].name; k++) {
			enum trace_field_type ty = s->fields[k].type;
			size_t n = bin_field_size(ty);
			uint8_t *f = rec + BIN_HDR;
			if (fread(f, n, 1, in) != 1)
				goto truncated;
			switch (ty) {
			case TF_CODE:
				v[k].code.len = f[0] > 16 ? 16 : f[0];
				v[k].code.bits = f[1];
				memmove(strs[k], f + 8, 16);
				v[k].code.p = (const uint8_t *)strs[k];
				break;
			case TF_U64LIST: {
				static uint64_t lists[TRACE_MAX_FIELDS][8];
				v[k].list.n = f[0] > 8 ? 8 : f[0];
				memcpy(lists[k], f + 8, 64);
				v[k].list.p = lists[k];
				break;
			}
			case TF_STR:
				memcpy(strs[k], f, TRACE_BIN_STR);
				strs[k][TRACE_BIN_STR - 1] = 0;
				v[k].s = strs[k];
				break;
			case TF_CHANGES:
				chg.n = f[0] > TRACE_MAX_CHANGES ? TRACE_MAX_CHANGES : f[0];
				v[k].chg = &chg;
				break;
			default: memcpy(&v[k].u, f, 8); break;
			}
		}
		for (unsigned j = 0; j < chg.n; j++) {
			uint8_t e[10];
			if (fread(e, 10, 1, in) != 1)
				goto truncated;
			memcpy(&chg.reg[j].field, e, 2);
			memcpy(&chg.reg[j].value, e + 2, 8);
			if (chg.reg[j].field >= STATE_FIELD_COUNT) {
				snprintf(err, errlen, "bad register id in binary trace");
				return -1;
			}
		}
		base->sink(base, ev, &h, v);
	}
	return 0;
truncated:
	snprintf(err, errlen, "binary trace truncated");
	return -1;
}

/* ---- repeats ---- */

static void
emit(struct sink *t, enum trace_event ev, const struct trace_hdr *h, const struct trace_value *v)
{
	const struct trace_schema *s = &trace_schema[ev];
	if (t->format == TRACE_JSON)
		emit_json(t, s, h, v);
	else if (t->format == TRACE_BINARY)
		emit_binary(t, ev, h, v);
	else
		emit_text(t, s, v);
}

static uint64_t
fnv(uint64_t x, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t k = 0; k < n; k++)
		x = (x ^ b[k]) * 0x100000001b3ull;
	return x;
}

/* An event as the output shows it, minus the instruction count (the header's
 * and the insn event's own field). */
static uint64_t
event_hash(enum trace_event ev, const struct trace_hdr *h, const struct trace_value *v)
{
	uint64_t x = fnv(0xcbf29ce484222325ull, &ev, sizeof(ev));
	uint64_t hdr[5] = { h->cr3, h->cpl, h->mode, h->vmx, h->vmcs };
	x = fnv(x, hdr, sizeof(hdr));
	const struct trace_schema *s = &trace_schema[ev];
	for (unsigned k = 0; k < TRACE_MAX_FIELDS && s->fields[k].name; k++) {
		const struct trace_value *f = &v[k];
		if (!strcmp(s->fields[k].name, "icount"))
			continue; /* time moves on in a loop */
		switch (s->fields[k].type) {
		case TF_CODE:
			x = fnv(x, f->code.p, f->code.len);
			x = fnv(x, &f->code.bits, 1);
			break;
		case TF_U64LIST: x = fnv(x, f->list.p, f->list.n * sizeof(uint64_t)); break;
		case TF_CHANGES: x = fnv(x, f->chg->reg, f->chg->n * sizeof(f->chg->reg[0])); break;
		case TF_STR: x = fnv(x, f->s, strlen(f->s)); break;
		default: x = fnv(x, &f->u, sizeof(f->u)); break;
		}
	}
	return x;
}

/* What a cycle's repeats left out, as one "repeat" event. */
static void
flush_repeats(struct sink *t)
{
	if (!t->suppressed)
		return;
	const struct trace_value v[2] = { { .u = t->period }, { .u = t->suppressed } };
	emit(t, TEV_REPEAT, &t->last, v);
	t->suppressed = 0;
}

/*
 * Should this event be left out? A guest in a loop (a fault handler that
 * faults again, `jmp $` under -d insn) makes the same events over and over:
 * once the stream has run through a cycle of up to REPEAT_WINDOW events
 * REPEAT_SHOWN times, the rest of that cycle is counted, and written as one
 * "repeat" event when the stream leaves it.
 */
static bool
repeats(struct sink *t, enum trace_event ev, const struct trace_hdr *h, const struct trace_value *v)
{
	uint64_t x = event_hash(ev, h, v);
	unsigned n = t->nhist < REPEAT_WINDOW ? (unsigned)t->nhist : REPEAT_WINDOW;
#define BACK(p) t->hist[(t->nhist - (p)) % REPEAT_WINDOW]
	if (t->period && BACK(t->period) == x) {
		t->run++;
	} else {
		flush_repeats(t);
		t->period = 0;
		t->run = 0;
		for (unsigned p = 1; p <= n; p++)
			if (BACK(p) == x) {
				t->period = p;
				t->run = 1;
				break;
			}
	}
#undef BACK
	t->hist[t->nhist++ % REPEAT_WINDOW] = x;
	if (!t->period || t->run <= (uint64_t)REPEAT_SHOWN * t->period)
		return false;
	t->suppressed++;
	t->last = *h;
	return true;
}

/* ---- the filter and the dispatch ---- */

static bool
filter_pass(const struct sink *t, enum trace_event ev, const struct trace_hdr *h,
	    const struct trace_value *v)
{
	const struct trace_filter *f = &t->base.filter;
	int a = t->addr_field[ev];
	return trace_filter_hdr(f, h) && (a < 0 || trace_filter_addr(f, v[a].u));
}

/* The guest's tracing hypercall: CPUID with EAX = 0x4FFF0001 (start the
 * categories whose bits ECX holds), 0x4FFF0002 (stop them), 0x4FFF0003 (drop a
 * marker event with the value ECX). Intel reserves leaves 0x40000000-0x4FFFFFFF:
 * no processor returns information there (SDM vol. 2A, CPUID), and hypervisors
 * use the bottom of the range, so the top never names a real feature. */
#define HC_START 0x4FFF0001u
#define HC_STOP 0x4FFF0002u
#define HC_MARKER 0x4FFF0003u

static void
hypercall(struct sink *t, const struct trace_hdr *h, uint32_t leaf, uint32_t ecx)
{
	if (leaf == HC_START)
		t->base.active |= ecx;
	else if (leaf == HC_STOP)
		t->base.active &= ~ecx;
	else if (leaf == HC_MARKER)
		trace_marker_hdr(&t->base, h, ecx);
}

static void
sink_event(struct tracer *base, enum trace_event ev, const struct trace_hdr *h,
	   const struct trace_value *v)
{
	struct sink *t = (struct sink *)base;
	const struct trace_schema *s = &trace_schema[ev];
	if (__builtin_expect(ev == TEV_CPUID, 0) && t->hypercall &&
	    (v[0].u & 0xFFFF0000u) == 0x4FFF0000u)
		hypercall(t, h, (uint32_t)v[0].u, (uint32_t)v[1].u);
	/* Markers show whenever tracing is on; everything else while its category is. */
	if (!(t->base.active & s->category) && ev != TEV_MARKER)
		return;
	if (t->base.filter.any && !filter_pass(t, ev, h, v))
		return; /* before any formatting */
	if ((t->out_categories & (ev == TEV_MARKER ? ~0u : s->category)) &&
	    (t->all_repeats || !repeats(t, ev, h, v)))
		emit(t, ev, h, v);
	if (t->plugins)
		plugins_dispatch(t->plugins, ev, h, v);
}
