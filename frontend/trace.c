/*
 * fugu — the trace sinks: text (with Capstone disassembly of instruction bytes)
 * and JSON Lines, both driven by the schema table (trace/schema.c). Linked into
 * the fugu executable only: the core library knows no Capstone.
 */
#include "frontend/trace.h"

#include "cpu/state.h"

#include <capstone/capstone.h>
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

struct sink {
	struct tracer base; /* first: the producers see only this */
	enum trace_format format;
	FILE *out;
	csh cs[3]; /* capstone handles for 16-, 32- and 64-bit code */
	bool cs_ok[3];
};

int
trace_parse_categories(const char *spec, unsigned *mask, char *err, size_t errlen)
{
	*mask = 0;
	while (*spec) {
		size_t n = strcspn(spec, ",");
		bool found = false;
		for (size_t k = 0; k < sizeof(categories) / sizeof(categories[0]); k++) {
			if (strlen(categories[k].name) == n &&
			    !strncmp(categories[k].name, spec, n)) {
				*mask |= categories[k].id;
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

void
trace_list_categories(FILE *f)
{
	fprintf(f, "Trace categories for -d (comma-separated):\n");
	for (size_t k = 0; k < sizeof(categories) / sizeof(categories[0]); k++)
		fprintf(f, "  %-6s %s\n", categories[k].name, categories[k].help);
}

static void sink_event(struct tracer *t, enum trace_event ev, const struct trace_hdr *h,
		       const struct trace_value *v);

struct tracer *
tracer_create(unsigned cats, FILE *out)
{
	struct sink *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->base.categories = cats;
	t->base.sink = sink_event;
	t->out = out;
	static const cs_mode modes[3] = { CS_MODE_16, CS_MODE_32, CS_MODE_64 };
	if (cats & TRACE_CAT_INSN)
		for (int k = 0; k < 3; k++)
			t->cs_ok[k] = cs_open(CS_ARCH_X86, modes[k], &t->cs[k]) == CS_ERR_OK;
	return &t->base;
}

void
tracer_destroy(struct tracer *base)
{
	if (!base)
		return;
	struct sink *t = (struct sink *)base;
	for (int k = 0; k < 3; k++)
		if (t->cs_ok[k])
			cs_close(&t->cs[k]);
	fflush(t->out);
	free(t);
}

void
tracer_set_format(struct tracer *base, enum trace_format format)
{
	((struct sink *)base)->format = format;
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
		",\"mode\":\"%s\",\"vmx\":\"%s\"}",
		h->icount, h->cpl, h->cr3,
		h->mode < trace_mode_count_ ? trace_mode_names[h->mode] : "?",
		h->vmx < trace_vmx_count_ ? trace_vmx_names[h->vmx] : "?");
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

static void
sink_event(struct tracer *base, enum trace_event ev, const struct trace_hdr *h,
	   const struct trace_value *v)
{
	struct sink *t = (struct sink *)base;
	const struct trace_schema *s = &trace_schema[ev];
	if (!(t->base.categories & s->category))
		return;
	if (t->format == TRACE_JSON)
		emit_json(t, s, h, v);
	else
		emit_text(t, s, v);
}
