/*
 * fugu — the plugin loader and the plugin API (include/fugu-plugin.h). A
 * subscription is prepared once: the schema gives the event's fields, each
 * field one or more libffi argument types, and ffi_prep_cif fixes the call. At
 * each event the values are laid out in their C types and ffi_call makes the
 * call, so no glue is written per event.
 */
#include "frontend/plugin.h"

#include <dlfcn.h>
#include <ffi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chipset/pc.h"
#include "chipset/snapshot.h"
#include "cpu/cpu.h"
#include "cpu/insn_ids.h"
#include "cpu/state.h"
#include "cpu/translate.h"
#include "fugu-plugin.h"
#include "mmu/physmem.h"

_Static_assert(sizeof(struct fugu_event_header) == sizeof(struct trace_hdr) &&
		       offsetof(struct fugu_event_header, vmx) == offsetof(struct trace_hdr, vmx) &&
		       offsetof(struct fugu_event_header, vmcs) == offsetof(struct trace_hdr, vmcs),
	       "the plugin header is the trace header");
_Static_assert(sizeof(struct fugu_changes) == sizeof(struct trace_changes) &&
		       offsetof(struct fugu_changes, reg[1].value) ==
			       offsetof(struct trace_changes, reg[1].value),
	       "the plugin's change list is the trace's");

#define MAX_ARGS (1 + 3 * TRACE_MAX_FIELDS)

/* One argument slot, in the C type the callback declares. */
union arg {
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	const void *p;
};

struct subscription {
	struct subscription *next;
	void (*fn)(void);
	bool header;
	ffi_cif cif;
	ffi_type *types[MAX_ARGS];
};

struct plugin {
	void *handle;
	char *spec; /* the -plugin argument, split in place into argv */
};

struct plugins {
	struct plugin *list;
	unsigned n;
	struct subscription *subs[TEV_COUNT];
	unsigned categories;
	void (**exits)(void);
	unsigned nexits;
	struct pc *pc;
	struct fugu_snapshot *snapshots;   /* every live one, newest first */
	struct fugu_snapshot *restore_req; /* to restore at the next boundary */
};

/* A plugin's snapshot: `s` is NULL until the boundary after the request. */
struct fugu_snapshot {
	struct fugu_snapshot *next;
	struct snapshot *s;
	bool want_take;
};

/* The API acts on one machine: the calls carry no context argument. */
static struct plugins *api_owner;

/* Entries aligned for any type, each CPU's on its own cache line. */
#define SB_ALIGN 64
struct fugu_scoreboard {
	size_t entry_size; /* rounded up to SB_ALIGN */
	unsigned ncpus;
	_Alignas(SB_ALIGN) uint8_t data[];
};

/* ---- the API ---- */

static int
api_subscribe(const char *event, void (*fn)(void), unsigned flags)
{
	struct plugins *p = api_owner;
	for (unsigned ev = 0; ev < TEV_COUNT; ev++) {
		const struct trace_schema *s = &trace_schema[ev];
		if (strcmp(s->name, event))
			continue;
		struct subscription *sub = calloc(1, sizeof(*sub));
		if (!sub || !fn)
			return free(sub), -1;
		sub->fn = fn;
		sub->header = flags & FUGU_CB_HEADER;
		unsigned n = 0;
		if (sub->header)
			sub->types[n++] = &ffi_type_pointer;
		for (int k = 0; k < TRACE_MAX_FIELDS && s->fields[k].name; k++) {
			switch (s->fields[k].type) {
			case TF_X8:
			case TF_D8: sub->types[n++] = &ffi_type_uint8; break;
			case TF_BOOL: sub->types[n++] = &ffi_type_uint8; break; /* C bool */
			case TF_X16: sub->types[n++] = &ffi_type_uint16; break;
			case TF_X32:
			case TF_ERRCODE:
			case TF_ENUM: sub->types[n++] = &ffi_type_uint32; break;
			case TF_X64:
			case TF_D64: sub->types[n++] = &ffi_type_uint64; break;
			case TF_CODE:
				sub->types[n++] = &ffi_type_pointer;
				sub->types[n++] = &ffi_type_uint8;
				sub->types[n++] = &ffi_type_uint8;
				break;
			case TF_U64LIST:
				sub->types[n++] = &ffi_type_pointer;
				sub->types[n++] = &ffi_type_uint8;
				break;
			case TF_CHANGES:
			case TF_STR: sub->types[n++] = &ffi_type_pointer; break;
			}
		}
		if (ffi_prep_cif(&sub->cif, FFI_DEFAULT_ABI, n, &ffi_type_void, sub->types) !=
		    FFI_OK)
			return free(sub), -1;
		/* Subscribers are called in the order they subscribed. */
		struct subscription **tail = &p->subs[ev];
		while (*tail)
			tail = &(*tail)->next;
		*tail = sub;
		p->categories |= s->category;
		return 0;
	}
	return -1;
}

static struct cpu *
api_cpu(void)
{
	return api_owner && api_owner->pc ? api_owner->pc->cpu : NULL;
}

static int
api_reg_read(const char *name, uint64_t *value)
{
	struct cpu *cpu = api_cpu();
	int id = state_field_find(name);
	if (!cpu || id < 0)
		return -1;
	*value = id == STATE_RFLAGS ? cpu_get_rflags(cpu) : state_get(&cpu->state, id);
	return 0;
}

static int
api_reg_write(const char *name, uint64_t value)
{
	struct cpu *cpu = api_cpu();
	int id = state_field_find(name);
	if (!cpu || id < 0 || id == STATE_RIP)
		return -1;
	if (id == STATE_RFLAGS) {
		cpu_set_rflags(cpu, value);
		return 0;
	}
	state_set(&cpu->state, id, value);
	if (state_fields[id].group != SG_GPR)
		cpu_state_changed(cpu); /* the derived mode follows */
	return 0;
}

static const char *
api_reg_field_name(unsigned field)
{
	return field < STATE_FIELD_COUNT ? state_fields[field].name : NULL;
}

static int
api_translate(uint64_t va, uint64_t *pa)
{
	struct cpu *cpu = api_cpu();
	if (!cpu)
		return -1;
	/* Supervisor or user pages alike: a plugin sees what the debugger sees. */
	return cpu_translate_probe(cpu, va, TLB_READ, MMU_SUPER, pa) ||
			       cpu_translate_probe(cpu, va, TLB_READ, MMU_USER, pa)
		       ? 0
		       : -1;
}

/* Copy between guest RAM/ROM and buf page by page; never touches MMIO. */
static int
mem_access(uint64_t addr, void *buf, size_t len, bool virt, bool write)
{
	struct cpu *cpu = api_cpu();
	if (!cpu)
		return -1;
	uint8_t *b = buf;
	while (len) {
		uint64_t pa = addr;
		if (virt && api_translate(addr, &pa) < 0)
			return -1;
		size_t chunk = 0x1000 - (pa & 0xfff);
		if (virt && chunk > 0x1000 - (addr & 0xfff))
			chunk = 0x1000 - (addr & 0xfff);
		if (chunk > len)
			chunk = len;
		phys_page_t pg = physmem_page(cpu->mem, pa);
		if (!(pg & PP_HOST_MASK) || (pg & PP_MMIO))
			return -1;
		if (write)
			physmem_write(cpu->mem, pa, b, chunk);
		else
			physmem_read(cpu->mem, pa, b, chunk);
		addr += chunk, b += chunk, len -= chunk;
	}
	return 0;
}

static int
api_mem_read_virt(uint64_t va, void *buf, size_t len)
{
	return mem_access(va, buf, len, true, false);
}
static int
api_mem_write_virt(uint64_t va, const void *buf, size_t len)
{
	return mem_access(va, (void *)buf, len, true, true);
}
static int
api_mem_read_phys(uint64_t pa, void *buf, size_t len)
{
	return mem_access(pa, buf, len, false, false);
}
static int
api_mem_write_phys(uint64_t pa, const void *buf, size_t len)
{
	return mem_access(pa, (void *)buf, len, false, true);
}

static const char *
api_insn_name(unsigned id)
{
	return id < INSN_COUNT ? insn_mnemonic[id] : "?";
}

static struct fugu_scoreboard *
api_scoreboard_new(size_t entry_size)
{
	const unsigned ncpus = 1; /* fugu models one logical processor */
	entry_size = (entry_size + SB_ALIGN - 1) & ~(size_t)(SB_ALIGN - 1);
	struct fugu_scoreboard *sb = aligned_alloc(SB_ALIGN, sizeof(*sb) + entry_size * ncpus);
	if (sb)
		memset(sb, 0, sizeof(*sb) + entry_size * ncpus);
	if (sb) {
		sb->entry_size = entry_size;
		sb->ncpus = ncpus;
	}
	return sb;
}

static void *
api_scoreboard_entry(struct fugu_scoreboard *sb, unsigned cpu)
{
	return cpu < sb->ncpus ? sb->data + cpu * sb->entry_size : NULL;
}

static unsigned
api_cpu_index(void)
{
	return 0;
}

static void
api_at_exit(void (*fn)(void))
{
	struct plugins *p = api_owner;
	void (**e)(void) = realloc(p->exits, (p->nexits + 1) * sizeof(*e));
	if (!e)
		return;
	p->exits = e;
	p->exits[p->nexits++] = fn;
}

/* The CPU leaves its slice after this instruction; the run loop then calls
 * plugins_boundary. */
static void
stop_after_insn(void)
{
	struct cpu *cpu = api_cpu();
	if (cpu)
		cpu_raise_events(cpu, EV_STOP);
}

static struct fugu_snapshot *
api_snapshot_take(void)
{
	struct plugins *p = api_owner;
	struct fugu_snapshot *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return NULL;
	fs->want_take = true;
	fs->next = p->snapshots;
	p->snapshots = fs;
	stop_after_insn();
	return fs;
}

static bool
is_live(const struct plugins *p, const struct fugu_snapshot *fs)
{
	for (const struct fugu_snapshot *k = p->snapshots; k; k = k->next)
		if (k == fs)
			return true;
	return false;
}

static int
api_snapshot_restore(struct fugu_snapshot *fs)
{
	struct plugins *p = api_owner;
	if (!fs || !is_live(p, fs))
		return -1;
	p->restore_req = fs;
	stop_after_insn();
	return 0;
}

static uint64_t
api_snapshot_pages(const struct fugu_snapshot *fs)
{
	return fs && fs->s ? snapshot_last_pages(fs->s) : 0;
}

static void
api_snapshot_free(struct fugu_snapshot *fs)
{
	struct plugins *p = api_owner;
	for (struct fugu_snapshot **k = &p->snapshots; *k; k = &(*k)->next)
		if (*k == fs) {
			*k = fs->next;
			if (p->restore_req == fs)
				p->restore_req = NULL;
			snapshot_free(fs->s);
			free(fs);
			return;
		}
}

static const struct fugu_api api = {
	.version = FUGU_PLUGIN_API_VERSION,
	.subscribe = api_subscribe,
	.reg_read = api_reg_read,
	.reg_write = api_reg_write,
	.reg_field_name = api_reg_field_name,
	.mem_read_virt = api_mem_read_virt,
	.mem_write_virt = api_mem_write_virt,
	.mem_read_phys = api_mem_read_phys,
	.mem_write_phys = api_mem_write_phys,
	.translate = api_translate,
	.insn_name = api_insn_name,
	.scoreboard_new = api_scoreboard_new,
	.scoreboard_entry = api_scoreboard_entry,
	.cpu_index = api_cpu_index,
	.at_exit = api_at_exit,
	.snapshot_take = api_snapshot_take,
	.snapshot_restore = api_snapshot_restore,
	.snapshot_pages = api_snapshot_pages,
	.snapshot_free = api_snapshot_free,
};

/* ---- loading ---- */

typedef int (*install_fn)(unsigned version, const struct fugu_api *api,
			  const struct fugu_machine_info *info, int argc, char **argv);

static int
load_one(struct plugins *p, struct plugin *pl, const char *spec, const struct plugin_machine *m,
	 char *err, size_t errlen)
{
	pl->spec = strdup(spec);
	if (!pl->spec)
		return snprintf(err, errlen, "out of memory"), -1;
	/* FILE,key=value,...: argv[0] is the file, then each option as written. */
	char *argv[64];
	int argc = 0;
	for (char *tok = strtok(pl->spec, ","); tok && argc < 63; tok = strtok(NULL, ","))
		argv[argc++] = tok;
	argv[argc] = NULL;
	if (!argc)
		return snprintf(err, errlen, "-plugin: no file named"), -1;
	/* A name without a slash would be searched for in the library path. */
	char path[4096];
	snprintf(path, sizeof(path), "%s%s", strchr(argv[0], '/') ? "" : "./", argv[0]);
	pl->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!pl->handle)
		return snprintf(err, errlen, "-plugin: %s", dlerror()), -1;
	const unsigned *version = dlsym(pl->handle, "fugu_plugin_version");
	install_fn install = (install_fn)(uintptr_t)dlsym(pl->handle, "fugu_plugin_install");
	if (!version || !install)
		return snprintf(err, errlen,
				"-plugin %s: not a fugu plugin (no fugu_plugin_version or "
				"fugu_plugin_install)",
				argv[0]),
		       -1;
	if (*version != FUGU_PLUGIN_API_VERSION)
		return snprintf(err, errlen,
				"-plugin %s: built for plugin API version %u, this fugu "
				"provides version %u",
				argv[0], *version, FUGU_PLUGIN_API_VERSION),
		       -1;
	const struct fugu_machine_info info = { FUGU_VERSION, m->cpu_model, 1, m->ram_size };
	api_owner = p;
	if (install(FUGU_PLUGIN_API_VERSION, &api, &info, argc, argv))
		return snprintf(err, errlen, "-plugin %s: the plugin refused to install", argv[0]),
		       -1;
	return 0;
}

struct plugins *
plugins_load(const char *const *specs, unsigned n, const struct plugin_machine *m, char *err,
	     size_t errlen)
{
	struct plugins *p = calloc(1, sizeof(*p));
	if (!p || !(p->list = calloc(n ? n : 1, sizeof(*p->list)))) {
		free(p);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (unsigned k = 0; k < n; k++) {
		p->n = k + 1;
		if (load_one(p, &p->list[k], specs[k], m, err, errlen) < 0) {
			p->nexits = 0; /* nothing ran: no reports */
			plugins_destroy(p);
			return NULL;
		}
	}
	return p;
}

unsigned
plugins_categories(const struct plugins *p)
{
	return p->categories;
}

void
plugins_attach(struct plugins *p, struct pc *pc)
{
	p->pc = pc;
	api_owner = p;
}

void
plugins_dispatch(struct plugins *p, enum trace_event ev, const struct trace_hdr *h,
		 const struct trace_value *v)
{
	const struct subscription *sub = p->subs[ev];
	if (!sub)
		return;
	const struct trace_schema *s = &trace_schema[ev];
	union arg args[MAX_ARGS];
	void *ptrs[MAX_ARGS];
	unsigned n = 0;
	args[n++].p = h;
	for (int k = 0; k < TRACE_MAX_FIELDS && s->fields[k].name; k++) {
		switch (s->fields[k].type) {
		case TF_X8:
		case TF_D8:
		case TF_BOOL: args[n++].u8 = (uint8_t)v[k].u; break;
		case TF_X16: args[n++].u16 = (uint16_t)v[k].u; break;
		case TF_X32:
		case TF_ERRCODE:
		case TF_ENUM: args[n++].u32 = (uint32_t)v[k].u; break;
		case TF_X64:
		case TF_D64: args[n++].u64 = v[k].u; break;
		case TF_CODE:
			args[n++].p = v[k].code.p;
			args[n++].u8 = v[k].code.len;
			args[n++].u8 = v[k].code.bits;
			break;
		case TF_U64LIST:
			args[n++].p = v[k].list.p;
			args[n++].u8 = v[k].list.n;
			break;
		case TF_CHANGES: args[n++].p = v[k].chg; break;
		case TF_STR: args[n++].p = v[k].s; break;
		}
	}
	for (unsigned k = 0; k < n; k++)
		ptrs[k] = &args[k];
	for (; sub; sub = sub->next)
		ffi_call((ffi_cif *)&sub->cif, sub->fn, NULL, sub->header ? ptrs : ptrs + 1);
}

void
plugins_boundary(struct plugins *p)
{
	if (!p || !p->pc)
		return;
	char err[256];
	for (struct fugu_snapshot *fs = p->snapshots; fs; fs = fs->next) {
		if (!fs->want_take)
			continue;
		fs->want_take = false;
		if (!(fs->s = snapshot_take(p->pc, err, sizeof(err))))
			fprintf(stderr, "fugu: plugin snapshot_take: %s\n", err);
	}
	struct fugu_snapshot *r = p->restore_req;
	p->restore_req = NULL;
	if (r && r->s)
		snapshot_restore(r->s);
}

void
plugins_destroy(struct plugins *p)
{
	if (!p)
		return;
	api_owner = p;
	for (unsigned k = 0; k < p->nexits; k++)
		p->exits[k]();
	while (p->snapshots)
		api_snapshot_free(p->snapshots);
	for (unsigned ev = 0; ev < TEV_COUNT; ev++)
		for (struct subscription *s = p->subs[ev], *next; s; s = next) {
			next = s->next;
			free(s);
		}
	for (unsigned k = 0; k < p->n; k++) {
		if (p->list[k].handle)
			dlclose(p->list[k].handle);
		free(p->list[k].spec);
	}
	free(p->list);
	free(p->exits);
	free(p);
	api_owner = NULL;
}
