/*
 * fugu — the trace facility and its text sink.
 */
#include "frontend/trace.h"

#include <capstone/capstone.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_internal.h"
#include "mmu/physmem.h"

struct trace_schema {
	const char *name;
	enum trace_category category;
	struct trace_field fields[TRACE_MAX_FIELDS];
};

static const struct trace_schema schema[TEV_COUNT] = {
#define X(id, nm, cat, ...) [id] = { .name = nm, .category = cat, .fields = __VA_ARGS__ },
	TRACE_EVENT_LIST(X)
#undef X
};

static const struct {
	unsigned id;
	const char *name, *help;
} categories[] = {
#define X(id, nm, hlp) { id, nm, hlp },
	TRACE_CATEGORY_LIST(X)
#undef X
};

struct tracer {
	unsigned categories;
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

struct tracer *
tracer_create(unsigned cats, FILE *out)
{
	struct tracer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->categories = cats;
	t->out = out;
	static const cs_mode modes[3] = { CS_MODE_16, CS_MODE_32, CS_MODE_64 };
	if (cats & TRACE_CAT_INSN)
		for (int k = 0; k < 3; k++)
			t->cs_ok[k] = cs_open(CS_ARCH_X86, modes[k], &t->cs[k]) == CS_ERR_OK;
	return t;
}

void
tracer_destroy(struct tracer *t)
{
	if (!t)
		return;
	for (int k = 0; k < 3; k++)
		if (t->cs_ok[k])
			cs_close(&t->cs[k]);
	fflush(t->out);
	free(t);
}

bool
tracer_wants(const struct tracer *t, enum trace_category cat)
{
	return t && (t->categories & cat);
}

void
tracer_set_format(struct tracer *t, enum trace_format format)
{
	t->format = format;
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

/* The JSON Lines sink: numbers stay numbers (hex fields too), strings are escaped. */
static void
emit_json(struct tracer *t, const struct trace_schema *s, const union trace_value *v)
{
	fputs("{\"event\":", t->out);
	json_string(t->out, s->name);
	for (int k = 0; k < TRACE_MAX_FIELDS && s->fields[k].name; k++) {
		fprintf(t->out, ",\"%s\":", s->fields[k].name);
		if (s->fields[k].type == TF_STR)
			json_string(t->out, v[k].s);
		else
			fprintf(t->out, "%" PRIu64, v[k].u);
	}
	fputs("}\n", t->out);
}

void
trace_emit(struct tracer *t, enum trace_event ev, const union trace_value *v)
{
	const struct trace_schema *s = &schema[ev];
	if (!(t->categories & s->category))
		return;
	if (t->format == TRACE_JSON) {
		emit_json(t, s, v);
		return;
	}
	fputs(s->name, t->out);
	for (int k = 0; k < TRACE_MAX_FIELDS && s->fields[k].name; k++) {
		const struct trace_field *f = &s->fields[k];
		switch (f->type) {
		case TF_HEX8: fprintf(t->out, " %s=%02" PRIx64, f->name, v[k].u); break;
		case TF_HEX16: fprintf(t->out, " %s=%04" PRIx64, f->name, v[k].u); break;
		case TF_HEX32: fprintf(t->out, " %s=%08" PRIx64, f->name, v[k].u); break;
		case TF_HEX64: fprintf(t->out, " %s=%" PRIx64, f->name, v[k].u); break;
		case TF_UINT: fprintf(t->out, " %s=%" PRIu64, f->name, v[k].u); break;
		case TF_STR: fprintf(t->out, " %s=\"%s\"", f->name, v[k].s ? v[k].s : ""); break;
		}
	}
	fputc('\n', t->out);
}

void
trace_regs_capture(struct cpu *cpu, struct trace_regs *r)
{
	memcpy(r->gpr, cpu->state.gpr, sizeof(r->gpr));
	r->rip = cpu->state.rip;
	r->rflags = rflags_read(cpu);
	for (int k = 0; k < 6; k++)
		r->sel[k] = cpu->state.seg[k].sel;
}

static const char *const gpr_names[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
					   "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15" };
static const char *const seg_names[6] = { "es", "cs", "ss", "ds", "fs", "gs" };

void
trace_insn(struct tracer *t, struct cpu *cpu, const struct insn *i, const struct trace_regs *before)
{
	uint8_t bytes[16];
	char hex[40] = "", asmtext[200] = "(bad)", changed[512] = "";
	uint64_t lin = before->rip + cpu->state.seg[S_CS].base;
	unsigned mode = cpu->code_size == 2 ? 0 : cpu->code_size == 4 ? 1 : 2;
	/* The bytes as decoded: read them back through the physical map. */
	uint64_t pa = cpu_translate_fetch(cpu, cpu->code_size == 8 ? lin : lin & 0xffffffffull);
	physmem_read(cpu->mem, pa, bytes, i->len);
	for (unsigned k = 0; k < i->len; k++)
		snprintf(hex + 2 * k, sizeof(hex) - 2 * k, "%02x", bytes[k]);
	cs_insn *ci = NULL;
	if (t->cs_ok[mode] && cs_disasm(t->cs[mode], bytes, i->len, before->rip, 1, &ci) == 1) {
		snprintf(asmtext, sizeof(asmtext), "%s%s%s", ci->mnemonic, ci->op_str[0] ? " " : "",
			 ci->op_str);
		cs_free(ci, 1);
	}
	size_t n = 0;
	for (int k = 0; k < 16 && n < sizeof(changed) - 40; k++)
		if (cpu->state.gpr[k] != before->gpr[k])
			n += (size_t)snprintf(changed + n, sizeof(changed) - n, "%s%s=%" PRIx64,
					      n ? " " : "", gpr_names[k], cpu->state.gpr[k]);
	for (int k = 0; k < 6 && n < sizeof(changed) - 40; k++)
		if (cpu->state.seg[k].sel != before->sel[k])
			n += (size_t)snprintf(changed + n, sizeof(changed) - n, "%s%s=%04x",
					      n ? " " : "", seg_names[k], cpu->state.seg[k].sel);
	uint64_t fl = rflags_read(cpu);
	if (fl != before->rflags && n < sizeof(changed) - 40)
		n += (size_t)snprintf(changed + n, sizeof(changed) - n, "%srflags=%" PRIx64,
				      n ? " " : "", fl);
	union trace_value v[6] = { { .u = cpu->icount }, { .u = before->sel[S_CS] },
				   { .u = before->rip }, { .s = hex },
				   { .s = asmtext },     { .s = changed } };
	trace_emit(t, TEV_INSN, v);
}

void
trace_interrupt(struct tracer *t, struct cpu *cpu, unsigned vector, int kind, uint32_t error_code,
		uint64_t return_rip)
{
	static const char *const kinds[] = { "exception", "software", "external", "nmi" };
	char err[16] = "none";
	if (error_code != NO_ERRCODE)
		snprintf(err, sizeof(err), "%04x", error_code);
	union trace_value v[6] = { { .u = vector },
				   { .s = kinds[kind & 3] },
				   { .s = err },
				   { .u = cpu->state.seg[S_CS].sel },
				   { .u = cpu->state.rip },
				   { .u = return_rip } };
	trace_emit(t, TEV_INTERRUPT, v);
}
