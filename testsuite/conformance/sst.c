/*
 * fugu — SingleStepTests conformance runner.
 *
 * Runs every hardware-captured test of the 80286 real-mode set and the 8086
 * complement set (../shared/testdata, see its README, sections 3 and 4) on a
 * machine built from the library: 16 MiB of RAM, an empty port space (every
 * read returns all ones) and a CPU of the "max" model in real mode. One
 * machine serves every test: the bytes a test touched are zeroed afterwards
 * (all reachable memory after a failure), and after each file the harness
 * checks that no byte outside the expected ones was left changed.
 *
 * The file list and test counts come from MANIFEST.tsv. fugu follows the
 * 386+ architecture; where the 286 differs by design, tests are skipped or
 * their expectation is adjusted (README section 4.1, docs/CONFORMANCE.md).
 *
 * Usage: sst TESTDATA_DIR [-v] [FILTER...]
 *   FILTER  run only the files whose "SET/FORM" name starts with it, e.g.
 *           "80286/F7.6" or "8086/" (the 99.5 % rule still applies)
 *   -v      print every failing test with its state, and every skipped one
 *
 * Output is TAP: one informational line per opcode file with its counts, and a
 * final line that fails unless at least 99.5 % of the tests run passed. A
 * missing or unreadable file is a failure, never a skip.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <zlib.h>

#include "bare_machine.h"
#include "mmu/ioport.h"
#include "cpu/cpu.h"
#include "cpu/cpuid.h"
#include "mmu/physmem.h"

#define RAM_SIZE (16u << 20)
/* Real mode reaches at most FFFF:FFFF = 0x10FFEF; nothing above can change. */
#define REACHABLE_BYTES 0x110000u
#define FLAGS_REAL_MASK 0x0fd5u /* the flags both CPUs hold in real mode */
#define INSN_CAP_286 300        /* instructions before a 286 test that never halts fails */
#define MAX_FAIL_REPORTS 3      /* failing tests described per file without -v */
#define PASS_PERMILLE 995       /* the suite passes at >= 99.5 % */

/* Register order of the MOO "REGS" chunk. */
enum {
	M_AX,
	M_BX,
	M_CX,
	M_DX,
	M_CS,
	M_SS,
	M_DS,
	M_ES,
	M_SP,
	M_BP,
	M_SI,
	M_DI,
	M_IP,
	M_FLAGS,
	M_NREGS
};
static const char *const moo_reg_names[M_NREGS] = { "ax", "bx", "cx", "dx", "cs", "ss", "ds",
						    "es", "sp", "bp", "si", "di", "ip", "flags" };
/* fugu's general-purpose register for each MOO register 0-3 and 8-11. */
static const unsigned moo_gpr[M_NREGS] = {
	[M_AX] = R_AX, [M_BX] = R_BX, [M_CX] = R_CX, [M_DX] = R_DX,
	[M_SP] = R_SP, [M_BP] = R_BP, [M_SI] = R_SI, [M_DI] = R_DI
};
static const unsigned moo_sreg[M_NREGS] = {
	[M_CS] = S_CS, [M_SS] = S_SS, [M_DS] = S_DS, [M_ES] = S_ES
};

/* Why a test was not run (README section 4). */
enum skip_reason {
	SKIP_LOCK,          /* 286: LOCK never faults there, a 386+ raises #UD */
	SKIP_LONG,          /* 286: 11-15 byte instructions raise #GP there only */
	SKIP_SREG_FS_GS,    /* 286: 8C/8E with sreg 4/5 is #UD there, FS/GS on a 386+ */
	SKIP_SALC_UD,       /* 286: D6 when fugu raises #UD for it */
	SKIP_REVOKED,       /* listed in revocation_list.txt */
	SKIP_8086_EXC,      /* 8086: fugu raised an exception the 8086 does not have */
	SKIP_8086_PUSH_SP,  /* 8086: PUSH SP pushes the decremented SP there */
	SKIP_POP_M_FAULT,   /* 286: POP m that faults has already moved SP */
	SKIP_IDIV_OVERFLOW, /* 286: some IDIV overflows give quotient 80h/8000h, no #DE */
	NSKIP
};
static const char *const skip_names[NSKIP] = {
	"lock prefix",    "11-15 byte insn", "8C/8E sreg 4-5", "SALC #UD",         "revoked",
	"386+ exception", "8086 PUSH SP",    "286 POP m #GP",  "286 IDIV overflow"
};

/*
 * Tests run with an adjusted expectation where the 286 differs from a 386+ by
 * design; they count as run (and pass or fail) and are reported separately.
 */
enum special_case {
	SPECIAL_SS_FOR_GP,    /* SS-relative word at offset FFFF: 286 #GP(13), 386+ #SS(12) */
	SPECIAL_STRING_FAULT, /* the 286 advances SI/DI/CX before a string element faults */
	SPECIAL_AAM_ZERO,     /* the 286 sets SF/ZF/PF before AAM 0 raises #DE */
	NSPECIAL
};
static const char *const special_names[NSPECIAL] = { "#SS for 286 #GP", "string fault restartable",
						     "AAM 0: SF/ZF/PF not compared" };

struct set_desc {
	const char *name;       /* "80286", "8086": the MANIFEST path prefix and the report name */
	const char *metadata;   /* flag masks, relative to the testdata dir */
	const char *revocation; /* NULL when the set has none */
	bool run_to_hlt;        /* 286: the test ends with a HLT; 8086: exactly one instruction */
	bool a20;               /* 286: no wrap at 1 MiB; 8086: addresses wrap (A20 off) */
};

static const struct set_desc sets[] = {
	{ "80286", "80286/v1_real_mode/metadata.json", "80286/revocation_list.txt", true, true },
	{ "8086", "8086/v1/metadata.json", NULL, false, false },
};
#define NSETS (sizeof(sets) / sizeof(sets[0]))

struct counts {
	uint64_t passed, failed, skipped[NSKIP], special[NSPECIAL];
};

static uint64_t
skipped_total(const struct counts *c)
{
	uint64_t n = 0;
	for (int k = 0; k < NSKIP; k++)
		n += c->skipped[k];
	return n;
}

static void
counts_add(struct counts *into, const struct counts *c)
{
	into->passed += c->passed;
	into->failed += c->failed;
	for (int k = 0; k < NSKIP; k++)
		into->skipped[k] += c->skipped[k];
	for (int k = 0; k < NSPECIAL; k++)
		into->special[k] += c->special[k];
}

/* ---- TAP ---- */

static unsigned tap_number;

static void
tap_line(bool ok, const char *fmt, ...)
{
	va_list ap;
	printf("%s %u - ", ok ? "ok" : "not ok", ++tap_number);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* ---- reading files ---- */

struct buffer {
	uint8_t *data;
	size_t len;
};

static bool
read_gzip(const char *path, struct buffer *out, char *err, size_t errlen)
{
	gzFile f = gzopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno ? errno : ENOENT));
		return false;
	}
	size_t cap = 1u << 22, len = 0;
	uint8_t *data = malloc(cap);
	for (;;) {
		if (!data) {
			snprintf(err, errlen, "out of memory reading %s", path);
			gzclose(f);
			return false;
		}
		if (cap - len < (1u << 20)) {
			uint8_t *bigger = realloc(data, cap * 2);
			if (!bigger) {
				free(data);
				data = NULL;
				continue;
			}
			data = bigger;
			cap *= 2;
		}
		int n = gzread(f, data + len, (unsigned)(cap - len));
		if (n < 0) {
			int code;
			snprintf(err, errlen, "%s: %s", path, gzerror(f, &code));
			free(data);
			gzclose(f);
			return false;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	gzclose(f);
	out->data = data;
	out->len = len;
	return true;
}

/* ---- the MOO format (testdata/moo-format/moo_format_v1.md) ---- */

struct chunk {
	char id[5];
	const uint8_t *data;
	uint32_t len;
};

static uint16_t
le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Next chunk of [*pos, end); false at the end or when the chunk overruns it. */
static bool
next_chunk(const uint8_t **pos, const uint8_t *end, struct chunk *c, bool *malformed)
{
	*malformed = false;
	if (*pos == end)
		return false;
	if (end - *pos < 8) {
		*malformed = true;
		return false;
	}
	memcpy(c->id, *pos, 4);
	c->id[4] = 0;
	c->len = le32(*pos + 4);
	if ((uint64_t)(end - *pos) - 8 < c->len) {
		*malformed = true;
		return false;
	}
	c->data = *pos + 8;
	*pos += 8 + (size_t)c->len;
	return true;
}

struct ram_list {
	const uint8_t *entries; /* n x {u32 address, u8 value} */
	uint32_t n;
};

static uint32_t
ram_addr(const struct ram_list *r, uint32_t k)
{
	return le32(r->entries + 5 * (size_t)k);
}

static uint8_t
ram_value(const struct ram_list *r, uint32_t k)
{
	return r->entries[5 * (size_t)k + 4];
}

struct moo_test {
	uint32_t index;
	const char *name;
	uint32_t name_len;
	const uint8_t *bytes;
	uint32_t nbytes;
	uint16_t init[M_NREGS];
	uint16_t final_present; /* bitmask of the registers FINA lists */
	uint16_t final[M_NREGS];
	struct ram_list init_ram, final_ram;
	bool has_exception;
	uint8_t exc_vector;
	uint32_t exc_flags_addr;
	bool has_hash;
	uint8_t hash[20];
};

static bool
parse_regs(const struct chunk *c, uint16_t *present, uint16_t regs[M_NREGS])
{
	if (c->len < 2)
		return false;
	uint16_t mask = le16(c->data);
	uint32_t need = 2;
	for (int r = 0; r < M_NREGS; r++)
		need += (mask >> r & 1) * 2;
	if (mask >> M_NREGS || c->len < need)
		return false;
	const uint8_t *p = c->data + 2;
	for (int r = 0; r < M_NREGS; r++) {
		if (mask >> r & 1) {
			regs[r] = le16(p);
			p += 2;
		}
	}
	*present = mask;
	return true;
}

/* INIT or FINA: REGS and RAM; QUEU and anything unknown are skipped. */
static bool
parse_state(const struct chunk *state, uint16_t *present, uint16_t regs[M_NREGS],
	    struct ram_list *ram)
{
	const uint8_t *pos = state->data, *end = state->data + state->len;
	struct chunk c;
	bool malformed, have_regs = false, have_ram = false;
	while (next_chunk(&pos, end, &c, &malformed)) {
		if (!strcmp(c.id, "REGS")) {
			if (!parse_regs(&c, present, regs))
				return false;
			have_regs = true;
		} else if (!strcmp(c.id, "RAM ")) {
			if (c.len < 4 || (c.len - 4) / 5 < le32(c.data))
				return false;
			ram->n = le32(c.data);
			ram->entries = c.data + 4;
			have_ram = true;
		}
	}
	return !malformed && have_regs && have_ram;
}

static bool
parse_test(const struct chunk *tc, struct moo_test *t)
{
	memset(t, 0, sizeof(*t));
	if (tc->len < 4)
		return false;
	t->index = le32(tc->data);
	const uint8_t *pos = tc->data + 4, *end = tc->data + tc->len;
	struct chunk c;
	bool malformed, have_init = false, have_final = false, have_bytes = false;
	while (next_chunk(&pos, end, &c, &malformed)) {
		if (!strcmp(c.id, "NAME") && c.len >= 4 && le32(c.data) <= c.len - 4) {
			t->name_len = le32(c.data);
			t->name = (const char *)c.data + 4;
		} else if (!strcmp(c.id, "BYTS")) {
			if (c.len < 4 || le32(c.data) > c.len - 4)
				return false;
			t->nbytes = le32(c.data);
			t->bytes = c.data + 4;
			have_bytes = true;
		} else if (!strcmp(c.id, "INIT")) {
			uint16_t present = 0;
			if (!parse_state(&c, &present, t->init, &t->init_ram) ||
			    present != (1u << M_NREGS) - 1)
				return false;
			have_init = true;
		} else if (!strcmp(c.id, "FINA")) {
			if (!parse_state(&c, &t->final_present, t->final, &t->final_ram))
				return false;
			have_final = true;
		} else if (!strcmp(c.id, "EXCP")) {
			if (c.len < 5)
				return false;
			t->has_exception = true;
			t->exc_vector = c.data[0];
			t->exc_flags_addr = le32(c.data + 1);
		} else if (!strcmp(c.id, "HASH")) {
			if (c.len < 20)
				return false;
			t->has_hash = true;
			memcpy(t->hash, c.data, 20);
		}
	}
	return !malformed && have_init && have_final && have_bytes;
}

/* ---- flag masks (metadata.json) and the revocation list ---- */

/* "flags-mask" of opcode `op` (e.g. "F6") and ModR/M reg (or -1); 0xFFFF when absent. */
static uint16_t
flags_mask_of(struct json_object *meta, const char *op, int reg)
{
	struct json_object *ops, *entry, *regs, *mask;
	if (!json_object_object_get_ex(meta, "opcodes", &ops) ||
	    !json_object_object_get_ex(ops, op, &entry))
		return 0xffff;
	if (reg >= 0 && json_object_object_get_ex(entry, "reg", &regs)) {
		char key[12];
		snprintf(key, sizeof(key), "%d", reg);
		if (!json_object_object_get_ex(regs, key, &entry))
			return 0xffff;
	}
	if (!json_object_object_get_ex(entry, "flags-mask", &mask))
		return 0xffff;
	return (uint16_t)json_object_get_int(mask);
}

struct revocations {
	char (*hashes)[41];
	size_t n;
};

static bool
load_revocations(const char *path, struct revocations *rev, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[256];
	rev->hashes = NULL;
	rev->n = 0;
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " \t");
		size_t len = strspn(s, "0123456789abcdefABCDEF");
		if (*s == '#' || len != 40)
			continue;
		char(*grown)[41] = realloc(rev->hashes, (rev->n + 1) * sizeof(*grown));
		if (!grown)
			break;
		rev->hashes = grown;
		for (size_t k = 0; k < 40; k++)
			rev->hashes[rev->n][k] = (char)(s[k] | 0x20); /* lower case */
		rev->hashes[rev->n][40] = 0;
		rev->n++;
	}
	fclose(f);
	return true;
}

static bool
is_revoked(const struct revocations *rev, const struct moo_test *t)
{
	char hex[41];
	if (!t->has_hash || !rev->n)
		return false;
	for (int k = 0; k < 20; k++)
		snprintf(hex + 2 * k, 3, "%02x", t->hash[k]);
	for (size_t k = 0; k < rev->n; k++)
		if (!strcmp(rev->hashes[k], hex))
			return true;
	return false;
}

/* ---- the machine ---- */

static uint8_t zero_page[REACHABLE_BYTES];

/* Zero everything real mode can reach, through the path that drops stale decoded code. */
static void
wipe_memory(struct machine *m)
{
	physmem_write(m->mem, 0, zero_page, REACHABLE_BYTES);
}

/* True if every byte real mode can reach is zero: nothing was left behind. */
static bool
memory_is_clean(struct machine *m)
{
	static uint8_t scan[REACHABLE_BYTES];
	physmem_read(m->mem, 0, scan, REACHABLE_BYTES);
	return !memcmp(scan, zero_page, REACHABLE_BYTES);
}

static void
poke(struct machine *m, uint32_t addr, uint8_t v)
{
	physmem_write(m->mem, addr, &v, 1);
}

static uint8_t
peek(struct machine *m, uint32_t addr)
{
	uint8_t v;
	physmem_read(m->mem, addr, &v, 1);
	return v;
}

/* Real-mode state of README section 4, step 2. */
static void
load_state(struct cpu *cpu, const uint16_t regs[M_NREGS])
{
	memset(cpu->state.gpr, 0, sizeof(cpu->state.gpr));
	for (int r = 0; r < M_NREGS; r++) {
		if (r <= M_DX || (r >= M_SP && r <= M_DI))
			cpu->state.gpr[moo_gpr[r]] = regs[r];
	}
	for (unsigned s = 0; s < 6; s++)
		cpu->state.seg[s] = (struct segment){ .limit = 0xffff, .attr = 0x93 };
	for (int r = M_CS; r <= M_ES; r++) {
		unsigned s = moo_sreg[r];
		cpu->state.seg[s].sel = regs[r];
		cpu->state.seg[s].base = (uint64_t)regs[r] << 4;
	}
	cpu->state.seg[S_CS].attr = 0x9b;
	cpu->state.cr0 &= ~(uint64_t)CR0_PE;
	cpu->state.efer = 0;
	cpu->state.idtr = (struct dtr){ .base = 0, .limit = 0x3ff };
	cpu->state.rip = regs[M_IP];
	cpu->state.halted = false;
	cpu->shutdown = false;
	cpu->delivering = false;
	cpu->state.intr_shadow = 0;
	cpu->events = 0;
	/* Also recomputes the derived mode (code and stack size) from the state above. */
	cpu_set_rflags(cpu, (regs[M_FLAGS] & FLAGS_REAL_MASK) | F_FIXED1);
}

/* ---- one test ---- */

enum outcome { PASS, FAIL, SKIP };

struct test_context {
	struct machine *m;
	const struct set_desc *set;
	const char *form;    /* "F6.4" */
	unsigned opcode;     /* 0xF6 */
	uint16_t flags_mask; /* metadata mask & FLAGS_REAL_MASK */
	const struct revocations *rev;
	bool verbose;
};

/*
 * What the harness needs to know about the instruction under test, read from
 * BYTS by a few lines of 8086 decoding (not by fugu's decoder, which is under test).
 */
struct insn_shape {
	bool lock, rep;
	uint8_t seg_prefix; /* 26/2E/36/3E, or 0 */
	int opcode;         /* -1 when BYTS holds only prefixes */
	int modrm;          /* -1 when the opcode has none */
};

static void
insn_shape(const struct moo_test *t, struct insn_shape *sh)
{
	uint32_t k = 0;
	memset(sh, 0, sizeof(*sh));
	sh->opcode = sh->modrm = -1;
	for (; k < t->nbytes; k++) {
		uint8_t b = t->bytes[k];
		if (b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e)
			sh->seg_prefix = b;
		else if (b == 0xf0)
			sh->lock = true;
		else if (b == 0xf2 || b == 0xf3)
			sh->rep = true;
		else
			break;
	}
	if (k == t->nbytes)
		return;
	uint8_t op = t->bytes[k];
	sh->opcode = op;
	/* One-byte opcodes with a ModR/M byte (SDM vol. 2D, table A-2). */
	bool modrm = (op < 0x40 && (op & 7) < 4) || op == 0x62 || op == 0x63 || op == 0x69 ||
		     op == 0x6b || (op >= 0x80 && op <= 0x8f) || op == 0xc0 || op == 0xc1 ||
		     (op >= 0xc4 && op <= 0xc7) || (op >= 0xd0 && op <= 0xd3) ||
		     (op >= 0xd8 && op <= 0xdf) || op == 0xf6 || op == 0xf7 || op == 0xfe ||
		     op == 0xff;
	if (modrm && k + 1 < t->nbytes)
		sh->modrm = t->bytes[k + 1];
}

/* Can the instruction access memory through SS (a stack operation, SS: or a BP base)? */
static bool
may_access_ss(const struct insn_shape *sh)
{
	int op = sh->opcode, reg = sh->modrm >> 3 & 7;
	if (sh->seg_prefix == 0x36)
		return true;
	switch (op) {
	case 0x06:
	case 0x07:
	case 0x0e:
	case 0x16:
	case 0x17:
	case 0x1e:
	case 0x1f:
	case 0x50 ... 0x61:
	case 0x68:
	case 0x6a:
	case 0x8f:
	case 0x9a:
	case 0x9c:
	case 0x9d:
	case 0xc2:
	case 0xc3:
	case 0xc8 ... 0xcf:
	case 0xe8: return true;
	case 0xff:
		if (reg == 2 || reg == 3 || reg == 6)
			return true;
		break;
	}
	if (sh->modrm < 0 || sh->seg_prefix || sh->modrm >> 6 == 3)
		return false;
	int mod = sh->modrm >> 6, rm = sh->modrm & 7;
	return rm == 2 || rm == 3 || (rm == 6 && mod != 0); /* [BP+SI], [BP+DI], [BP+disp] */
}

/* Immediate bytes after the ModR/M operand of the 286 set's ModR/M opcodes. */
static unsigned
modrm_imm_size(int op, int reg)
{
	switch (op) {
	case 0x69:
	case 0x81:
	case 0xc7: return 2;
	case 0x6b:
	case 0x80:
	case 0x83:
	case 0xc0:
	case 0xc1:
	case 0xc6: return 1;
	case 0xf6: return reg < 2 ? 1 : 0;
	case 0xf7: return reg < 2 ? 2 : 0;
	default: return 0;
	}
}

/* Length of the whole instruction (prefixes included) for ModR/M forms; 0 for others.
 * BYTS stops early for forms the generator thought invalid (C7 /7, ...). */
static unsigned
modrm_insn_length(const struct moo_test *t, const struct insn_shape *sh)
{
	if (sh->modrm < 0)
		return 0;
	unsigned prefixes = 0;
	while (t->bytes[prefixes] != sh->opcode)
		prefixes++;
	int mod = sh->modrm >> 6, rm = sh->modrm & 7;
	unsigned disp = mod == 1 ? 1 : mod == 2 ? 2 : (mod == 0 && rm == 6) ? 2 : 0;
	return prefixes + 2 + disp + modrm_imm_size(sh->opcode, sh->modrm >> 3 & 7);
}

/* The 286-only behaviours of README section 4.1 to skip; NSKIP when none applies. */
static enum skip_reason
skip_before_run(const struct test_context *tc, const struct moo_test *t,
		const struct insn_shape *sh)
{
	if (is_revoked(tc->rev, t))
		return SKIP_REVOKED;
	if (!tc->set->run_to_hlt) {
		/* FF /6 with rm = SP: the 8086 pushes SP after the decrement, a 286+ before. */
		if (sh->opcode == 0xff && sh->modrm == 0xf4)
			return SKIP_8086_PUSH_SP;
		return NSKIP;
	}
	if (sh->lock)
		return SKIP_LOCK;
	/* Over 10 bytes is #GP on the 286 only (a 386+ allows 15). */
	if (t->nbytes - 1 >= 11 || modrm_insn_length(t, sh) >= 11) /* BYTS ends with HLT */
		return SKIP_LONG;
	if ((sh->opcode == 0x8c || sh->opcode == 0x8e) && sh->modrm >= 0) {
		unsigned sreg = (unsigned)sh->modrm >> 3 & 7;
		if (sreg == S_FS || sreg == S_GS)
			return SKIP_SREG_FS_GS;
	}
	/* POP m whose store faults: the 286 has already popped (SP + 2, the frame 2 bytes
	 * higher); a 386+ leaves SP unchanged so the POP restarts (SDM vol. 2B, POP). */
	if (sh->opcode == 0x8f && t->has_exception && t->exc_vector == EXC_GP)
		return SKIP_POP_M_FAULT;
	return NSKIP;
}

/* What the final state must be: values and which bits of each register count. */
struct expectation {
	uint16_t regs[M_NREGS];
	uint16_t care[M_NREGS]; /* care[M_FLAGS] also masks the pushed FLAGS image */
};

/*
 * A 286 that faults on a word string element (offset FFFF) has already moved
 * SI/DI and, under REP, CX by an amount that depends on the element; a 386+
 * raises the fault with them at the faulting element so the instruction
 * restarts (SDM vol. 3A, 6.5). The expected SI/DI/CX are recomputed from the
 * initial state: the elements before the first one at offset FFFF complete.
 * True when it adjusted the expectation.
 */
static bool
restartable_string_fault(const struct insn_shape *sh, const struct moo_test *t,
			 struct expectation *exp)
{
	bool uses_si, uses_di;
	switch (sh->opcode) {
	case 0x6d:
	case 0xab:
	case 0xaf: uses_si = false, uses_di = true; break; /* INS STOS SCAS */
	case 0x6f:
	case 0xad: uses_si = true, uses_di = false; break; /* OUTS LODS */
	case 0xa5:
	case 0xa7: uses_si = uses_di = true; break; /* MOVS CMPS */
	default: return false;
	}
	uint16_t step = (t->init[M_FLAGS] & F_DF) ? (uint16_t)-2 : 2;
	uint16_t si = t->init[M_SI], di = t->init[M_DI];
	uint32_t count = sh->rep ? t->init[M_CX] : 1, done = 0;
	while (done < count && !(uses_si && si == 0xffff) && !(uses_di && di == 0xffff)) {
		si = (uint16_t)(si + step);
		di = (uint16_t)(di + step);
		done++;
	}
	if (done == count)
		return false; /* no element at FFFF: the 286 state stands as captured */
	exp->regs[M_SI] = uses_si ? si : t->init[M_SI];
	exp->regs[M_DI] = uses_di ? di : t->init[M_DI];
	exp->regs[M_CX] = (uint16_t)(t->init[M_CX] - (sh->rep ? done : 0));
	return true;
}

/* Does INIT/RAM give a value for any byte of [addr, addr+len)? */
static bool
init_ram_covers(const struct moo_test *t, uint32_t addr, uint32_t len)
{
	for (uint32_t k = 0; k < t->init_ram.n; k++)
		if (ram_addr(&t->init_ram, k) - addr < len)
			return true;
	return false;
}

/* Append a formatted note to a bounded report buffer. */
static void
note(char *buf, size_t cap, const char *fmt, ...)
{
	size_t used = strlen(buf);
	if (used + 1 >= cap)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + used, cap - used, fmt, ap);
	va_end(ap);
}

static uint16_t
cpu_reg16(struct cpu *cpu, int r)
{
	switch (r) {
	case M_CS:
	case M_SS:
	case M_DS:
	case M_ES: return cpu->state.seg[moo_sreg[r]].sel;
	case M_IP: return (uint16_t)cpu->state.rip;
	case M_FLAGS: return (uint16_t)cpu_get_rflags(cpu);
	default: return (uint16_t)cpu->state.gpr[moo_gpr[r]];
	}
}

/* Compare the CPU and memory with the expected final state; describe mismatches in `why`. */
static bool
check_final(const struct test_context *tc, const struct moo_test *t, const struct expectation *exp,
	    char *why, size_t cap)
{
	struct cpu *cpu = tc->m->cpu;
	const uint16_t *want = exp->regs;
	bool ok = true;
	for (int r = 0; r < M_NREGS; r++) {
		uint16_t got = cpu_reg16(cpu, r);
		if ((want[r] ^ got) & exp->care[r]) {
			note(why, cap, " %s=%04x(want %04x)", moo_reg_names[r], got, want[r]);
			ok = false;
		}
	}
	/* 16-bit code leaves the upper halves of the registers alone; the tests load zeros. */
	for (int r = 0; r < 8; r++) {
		if (cpu->state.gpr[r] >> 16) {
			note(why, cap, " gpr%d=%" PRIx64 "(upper bits set)", r, cpu->state.gpr[r]);
			ok = false;
		}
	}
	if (cpu->state.rip >> 16) {
		note(why, cap, " rip=%" PRIx64 "(upper bits set)", cpu->state.rip);
		ok = false;
	}
	/*
	 * The FLAGS image an interrupt pushed holds the same undefined bits as the
	 * register. It sits 4 bytes above the final SP (the handler is a lone HLT);
	 * EXCP's flags address is rounded down to even when SP is odd, so the
	 * frame is located from the registers instead.
	 */
	uint32_t flags_lo = UINT32_MAX, flags_hi = UINT32_MAX;
	if (t->has_exception) {
		uint32_t ss_base = (uint32_t)want[M_SS] << 4;
		flags_lo = ss_base + (uint16_t)(want[M_SP] + 4);
		flags_hi = ss_base + (uint16_t)(want[M_SP] + 5);
	}
	const struct ram_list *ram = &t->final_ram;
	for (uint32_t k = 0; k < ram->n; k++) {
		uint32_t a = ram_addr(ram, k);
		uint8_t want_byte = ram_value(ram, k), got = peek(tc->m, a), care = 0xff;
		if (a == flags_lo)
			care = (uint8_t)exp->care[M_FLAGS];
		else if (a == flags_hi)
			care = (uint8_t)(exp->care[M_FLAGS] >> 8);
		if ((want_byte ^ got) & care) {
			note(why, cap, " [%06" PRIx32 "]=%02x(want %02x)", a, got, want_byte);
			ok = false;
		}
	}
	return ok;
}

#define IVT_SS (EXC_SS * 4u)
#define IVT_GP (EXC_GP * 4u)

static enum outcome
run_test(const struct test_context *tc, const struct moo_test *t, enum skip_reason *skip,
	 enum special_case *special, char *why, size_t cap)
{
	struct machine *m = tc->m;
	struct cpu *cpu = m->cpu;
	struct insn_shape sh;
	enum outcome result;
	why[0] = 0;
	*special = NSPECIAL;
	insn_shape(t, &sh);
	*skip = skip_before_run(tc, t, &sh);
	if (*skip != NSKIP)
		return SKIP;

	for (uint32_t k = 0; k < t->init_ram.n; k++)
		poke(m, ram_addr(&t->init_ram, k), ram_value(&t->init_ram, k));
	/* Where the 286 raised #GP a 386+ raises #SS for an SS-relative access: give
	 * vector 12 the same handler so the rest of the outcome can be compared. */
	bool gp_expected = tc->set->run_to_hlt && t->has_exception && t->exc_vector == EXC_GP;
	bool alias_ss = gp_expected && !init_ram_covers(t, IVT_SS, 4);
	if (alias_ss) {
		for (uint32_t k = 0; k < 4; k++)
			poke(m, IVT_SS + k, peek(m, IVT_GP + k));
	}
	load_state(cpu, t->init);
	uint64_t faults = cpu->faults;
	enum cpu_exit ex = cpu_exec(cpu, tc->set->run_to_hlt ? INSN_CAP_286 : 1);
	bool faulted = cpu->faults != faults;

	struct expectation exp;
	for (int r = 0; r < M_NREGS; r++) {
		exp.regs[r] = (t->final_present >> r & 1) ? t->final[r] : t->init[r];
		exp.care[r] = r == M_FLAGS ? tc->flags_mask : 0xffff;
	}
	if (gp_expected && restartable_string_fault(&sh, t, &exp))
		*special = SPECIAL_STRING_FAULT;
	bool de_expected = t->has_exception && t->exc_vector == EXC_DE;
	if (sh.opcode == 0xd4 && de_expected) {
		exp.care[M_FLAGS] &= (uint16_t) ~(F_SF | F_ZF | F_PF);
		*special = SPECIAL_AAM_ZERO;
	}
	/* The 286 turns some IDIV overflows into quotient 80h/8000h (the most negative
	 * value) without #DE; a 386+ raises #DE for any quotient out of range. */
	bool idiv_overflow_286 =
		tc->set->run_to_hlt && (tc->opcode == 0xf6 || tc->opcode == 0xf7) &&
		sh.modrm >= 0 && (sh.modrm >> 3 & 7) == 7 && !t->has_exception && faulted &&
		cpu->pending_vector == EXC_DE &&
		(tc->opcode == 0xf6 ? (exp.regs[M_AX] & 0xff) == 0x80 : exp.regs[M_AX] == 0x8000);

	if (tc->set->run_to_hlt && faulted && tc->opcode == 0xd6 && cpu->pending_vector == EXC_UD) {
		*skip = SKIP_SALC_UD;
		result = SKIP;
	} else if (idiv_overflow_286) {
		*skip = SKIP_IDIV_OVERFLOW;
		result = SKIP;
	} else if (!tc->set->run_to_hlt && faulted) {
		*skip = SKIP_8086_EXC;
		result = SKIP;
	} else if (ex == CPU_EXIT_TRIPLE_FAULT || ex == CPU_EXIT_UNMODELLED) {
		note(why, cap, " cpu stopped (%s)",
		     ex == CPU_EXIT_TRIPLE_FAULT ? "triple fault" : "unmodelled");
		result = FAIL;
	} else if (tc->set->run_to_hlt && !cpu->state.halted) {
		note(why, cap, " no HLT within %d instructions", INSN_CAP_286);
		result = FAIL;
	} else if (gp_expected && faulted && cpu->pending_vector == EXC_SS && !may_access_ss(&sh)) {
		note(why, cap, " #SS raised for an access that is not SS-relative");
		result = FAIL;
	} else {
		if (gp_expected && faulted && cpu->pending_vector == EXC_SS && *special == NSPECIAL)
			*special = SPECIAL_SS_FOR_GP;
		result = check_final(tc, t, &exp, why, cap) ? PASS : FAIL;
	}

	if (result == PASS) {
		/* Only the listed bytes can differ from zero: put them back. */
		for (uint32_t k = 0; k < t->init_ram.n; k++)
			poke(m, ram_addr(&t->init_ram, k), 0);
		for (uint32_t k = 0; k < t->final_ram.n; k++)
			poke(m, ram_addr(&t->final_ram, k), 0);
		for (uint32_t k = 0; alias_ss && k < 4; k++)
			poke(m, IVT_SS + k, 0);
	} else {
		wipe_memory(m); /* the CPU may have written anywhere */
	}
	return result;
}

/* `ordinal` counts from 0 in the file (the 8086 files leave the TEST index at 0). */
static void
describe_failure(const struct test_context *tc, const struct moo_test *t, uint32_t ordinal,
		 const char *why)
{
	printf("# FAIL %s %s #%" PRIu32 " \"%.*s\" bytes", tc->set->name, tc->form, ordinal,
	       (int)(t->name_len > 60 ? 60 : t->name_len), t->name ? t->name : "");
	for (uint32_t k = 0; k < t->nbytes && k < 16; k++)
		printf(" %02x", t->bytes[k]);
	printf(":%s\n", why);
	if (!tc->verbose)
		return;
	printf("#   init:");
	for (int r = 0; r < M_NREGS; r++)
		printf(" %s=%04x", moo_reg_names[r], t->init[r]);
	printf("\n#   final:");
	for (int r = 0; r < M_NREGS; r++)
		if (t->final_present >> r & 1)
			printf(" %s=%04x", moo_reg_names[r], t->final[r]);
	printf("\n#   init ram:");
	for (uint32_t k = 0; k < t->init_ram.n; k++)
		printf(" %06" PRIx32 "=%02x", ram_addr(&t->init_ram, k),
		       ram_value(&t->init_ram, k));
	printf("\n#   final ram:");
	for (uint32_t k = 0; k < t->final_ram.n; k++)
		printf(" %06" PRIx32 "=%02x", ram_addr(&t->final_ram, k),
		       ram_value(&t->final_ram, k));
	if (t->has_exception)
		printf("\n#   exception %u, flags at %06" PRIx32, t->exc_vector, t->exc_flags_addr);
	printf("\n");
}

/* ---- one file ---- */

struct manifest_entry {
	char path[128]; /* relative to the testdata dir */
	char form[16];  /* "F6.4" */
	unsigned tests;
};

/* Runs one MOO file; false when it cannot be read or is malformed (err says why). */
static bool
run_file(struct test_context *tc, const char *dir, const struct manifest_entry *e, struct counts *c,
	 char *err, size_t errlen)
{
	char path[1024];
	struct buffer buf;
	snprintf(path, sizeof(path), "%s/%s", dir, e->path);
	if (!read_gzip(path, &buf, err, errlen))
		return false;

	bool ok = false;
	const uint8_t *pos = buf.data, *end = buf.data + buf.len;
	struct chunk ch;
	bool malformed;
	if (!next_chunk(&pos, end, &ch, &malformed) || strcmp(ch.id, "MOO ") || ch.len < 12) {
		snprintf(err, errlen, "%s: no MOO header", e->path);
		goto out;
	}
	uint32_t declared = le32(ch.data + 4), seen = 0;
	unsigned reports = 0;
	char why[1024];
	while (next_chunk(&pos, end, &ch, &malformed)) {
		if (strcmp(ch.id, "TEST"))
			continue; /* META and anything newer */
		struct moo_test t;
		if (!parse_test(&ch, &t)) {
			snprintf(err, errlen, "%s: malformed test #%" PRIu32, e->path, seen);
			goto out;
		}
		seen++;
		enum skip_reason skip;
		enum special_case special;
		enum outcome result = run_test(tc, &t, &skip, &special, why, sizeof(why));
		if (special != NSPECIAL && result != SKIP)
			c->special[special]++;
		switch (result) {
		case PASS: c->passed++; break;
		case SKIP:
			c->skipped[skip]++;
			if (tc->verbose && skip != SKIP_LOCK)
				printf("# SKIP %s %s #%" PRIu32 " \"%.*s\": %s (last fault %u)\n",
				       tc->set->name, tc->form, seen - 1, (int)t.name_len,
				       t.name ? t.name : "", skip_names[skip],
				       tc->m->cpu->pending_vector);
			break;
		case FAIL:
			c->failed++;
			if (tc->verbose || reports++ < MAX_FAIL_REPORTS)
				describe_failure(tc, &t, seen - 1, why);
			break;
		}
	}
	if (malformed) {
		snprintf(err, errlen, "%s: truncated chunk after test %" PRIu32, e->path, seen);
		goto out;
	}
	if (seen != declared || seen != e->tests) {
		snprintf(err, errlen, "%s: %" PRIu32 " tests, header says %" PRIu32 ", MANIFEST %u",
			 e->path, seen, declared, e->tests);
		goto out;
	}
	ok = true;
out:
	free(buf.data);
	return ok;
}

/* The group opcode file "F6.4" has opcode F6 and reg 4; "27" has reg -1. */
static void
split_form(const char *form, unsigned *opcode, int *reg)
{
	char *dot;
	*opcode = (unsigned)strtoul(form, &dot, 16);
	*reg = *dot == '.' ? atoi(dot + 1) : -1;
}

/* MANIFEST.tsv: path, opcode_form, mnemonic, tests, bytes_gz, sha256. */
static struct manifest_entry *
load_manifest(const char *dir, size_t *count, char *err, size_t errlen)
{
	char path[1024], line[1024];
	snprintf(path, sizeof(path), "%s/MANIFEST.tsv", dir);
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	struct manifest_entry *list = NULL;
	size_t n = 0;
	while (fgets(line, sizeof(line), f)) {
		struct manifest_entry e;
		char mnemonic[64];
		if (line[0] == '#')
			continue;
		if (sscanf(line, "%127s %15s %63s %u", e.path, e.form, mnemonic, &e.tests) != 4)
			continue;
		struct manifest_entry *grown = realloc(list, (n + 1) * sizeof(*list));
		if (!grown)
			break;
		list = grown;
		list[n++] = e;
	}
	fclose(f);
	if (!n) {
		snprintf(err, errlen, "%s lists no test files", path);
		free(list);
		return NULL;
	}
	*count = n;
	return list;
}

static bool
selected(const char *set, const char *form, char **filters, int nfilters)
{
	char name[64];
	if (!nfilters)
		return true;
	snprintf(name, sizeof(name), "%s/%s", set, form);
	for (int k = 0; k < nfilters; k++)
		if (!strncmp(name, filters[k], strlen(filters[k])))
			return true;
	return false;
}

static void
format_skips(const struct counts *c, char *buf, size_t cap)
{
	buf[0] = 0;
	for (int k = 0; k < NSKIP; k++)
		if (c->skipped[k])
			note(buf, cap, "%s%s %" PRIu64, buf[0] ? ", " : " (", skip_names[k],
			     c->skipped[k]);
	if (buf[0])
		note(buf, cap, ")");
	bool any = false;
	for (int k = 0; k < NSPECIAL; k++) {
		if (c->special[k]) {
			note(buf, cap, "%s%s %" PRIu64,
			     any ? ", " : "; special-cased: ", special_names[k], c->special[k]);
			any = true;
		}
	}
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	char *filters[64];
	int nfilters = 0;
	bool verbose = false;
	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "-v"))
			verbose = true;
		else if (!dir)
			dir = argv[k];
		else if (nfilters < 64)
			filters[nfilters++] = argv[k];
	}
	if (!dir) {
		fprintf(stderr, "usage: %s TESTDATA_DIR [-v] [SET/FORM-prefix...]\n", argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	char err[2048];
	bool all_ok = true;
	size_t nfiles = 0;
	struct manifest_entry *manifest = load_manifest(dir, &nfiles, err, sizeof(err));
	struct machine m;
	if (!manifest || !bare_machine_create(&m, "max", RAM_SIZE, err, sizeof(err))) {
		tap_line(false, "setup: %s", err);
		printf("1..%u\n", tap_number);
		return 1;
	}

	struct counts total = { 0 };
	for (size_t s = 0; s < NSETS; s++) {
		const struct set_desc *set = &sets[s];
		char path[1024];
		struct counts set_counts = { 0 };
		struct revocations rev = { 0 };
		snprintf(path, sizeof(path), "%s/%s", dir, set->metadata);
		struct json_object *meta = json_object_from_file(path);
		if (!meta) {
			tap_line(false, "%s: cannot read %s", set->name, path);
			all_ok = false;
			continue;
		}
		if (set->revocation) {
			snprintf(path, sizeof(path), "%s/%s", dir, set->revocation);
			if (!load_revocations(path, &rev, err, sizeof(err))) {
				tap_line(false, "%s: %s", set->name, err);
				all_ok = false;
			}
		}
		cpu_set_a20(m.cpu, set->a20);
		wipe_memory(&m);
		size_t prefix = strlen(set->name);
		for (size_t f = 0; f < nfiles; f++) {
			const struct manifest_entry *e = &manifest[f];
			if (strncmp(e->path, set->name, prefix) || e->path[prefix] != '/' ||
			    !selected(set->name, e->form, filters, nfilters))
				continue;
			unsigned opcode;
			int reg;
			split_form(e->form, &opcode, &reg);
			/* metadata.json leaves OF (and CF for shifts) defined for the
			 * immediate-count C0/C1 forms only: take the D2/D3 masks (README 4.1). */
			bool imm_shift = set->run_to_hlt && (opcode == 0xc0 || opcode == 0xc1);
			char mask_op[8];
			snprintf(mask_op, sizeof(mask_op), "%02X",
				 imm_shift ? opcode + 0x12 : opcode); /* C0->D2, C1->D3 */
			struct test_context tc = {
				.m = &m,
				.set = set,
				.form = e->form,
				.opcode = opcode,
				.flags_mask = flags_mask_of(meta, mask_op, reg) & FLAGS_REAL_MASK,
				.rev = &rev,
				.verbose = verbose,
			};
			struct counts c = { 0 };
			if (!run_file(&tc, dir, e, &c, err, sizeof(err))) {
				tap_line(false, "%s %s: %s", set->name, e->form, err);
				all_ok = false;
				wipe_memory(&m);
			} else {
				char skips[256];
				format_skips(&c, skips, sizeof(skips));
				tap_line(true,
					 "%s %s: %" PRIu64 "/%" PRIu64 " passed, %" PRIu64
					 " skipped%s",
					 set->name, e->form, c.passed, c.passed + c.failed,
					 skipped_total(&c), skips);
			}
			/* Every test puts its bytes back to zero; anything left is a write
			 * the expected state did not list. */
			if (!memory_is_clean(&m)) {
				printf("# %s %s: memory outside the expected bytes was changed\n",
				       set->name, e->form);
				c.failed++;
				wipe_memory(&m);
			}
			counts_add(&set_counts, &c);
		}
		char skips[256];
		format_skips(&set_counts, skips, sizeof(skips));
		printf("# %s: %" PRIu64 " of %" PRIu64 " run passed, %" PRIu64 " failed, %" PRIu64
		       " skipped%s\n",
		       set->name, set_counts.passed, set_counts.passed + set_counts.failed,
		       set_counts.failed, skipped_total(&set_counts), skips);
		counts_add(&total, &set_counts);
		json_object_put(meta);
		free(rev.hashes);
	}

	uint64_t run = total.passed + total.failed;
	bool enough = run > 0 && total.passed * 1000 >= run * PASS_PERMILLE;
	unsigned hundredths = run ? (unsigned)(total.passed * 10000 / run) : 0;
	tap_line(all_ok && enough,
		 "overall %" PRIu64 "/%" PRIu64 " = %u.%02u%% (>= 99.5%% required), %" PRIu64
		 " skipped",
		 total.passed, run, hundredths / 100, hundredths % 100, skipped_total(&total));
	printf("1..%u\n", tap_number);
	bare_machine_destroy(&m);
	free(manifest);
	return all_ok && enough ? 0 : 1;
}
