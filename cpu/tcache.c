/*
 * fugu — the decoded-instruction cache.
 *
 * One cache serves every CPU of the machine (cpu_config.share_with): traces
 * are keyed by physical address, and the CPUs run one at a time, never in
 * the middle of a trace, so a trace another CPU dropped is never running.
 *
 * Traces live in one arena; when it fills, everything is dropped and rebuilt
 * (a flush only ever happens between traces). Each physical page holding code
 * is flagged PP_CODE in the physical map so that any store there -- from the CPU
 * or a device -- calls back into tcache_invalidate_page before the new bytes can
 * run. Invalidated traces are unlinked at once but their memory stays valid
 * until the next flush, so the trace being executed can finish its current
 * instruction safely.
 */
#include "cpu/tcache.h"

#include <stdlib.h>

#include "cpu/decode.h"
#include "cpu/jit/jit.h"
#include "mmu/physmem.h"

#define HASH_BITS 16
#define PAGE_HASH_BITS 12

struct trace_link {
	struct trace *trace;
	struct trace_link *next;
};

struct code_page {
	uint64_t ppn;
	struct trace_link *traces;
	struct code_page *next;
};

struct tcache {
	uint8_t *arena;
	size_t used;
	struct trace *hash[1u << HASH_BITS];
	struct code_page *pages[1u << PAGE_HASH_BITS];
	struct trace *scratch;       /* one-off trace for code fetched from MMIO */
	uint64_t generation;         /* bumped at every flush */
	uint64_t counts[INSN_COUNT]; /* folded per-id counts (modulo 2^64 until complete) */
	bool keep_bytes;             /* store instruction bytes with the traces */
	uint8_t scratch_bytes[1][TCACHE_BYTES_STRIDE];
};

struct tcache *
tcache_create(bool keep_bytes)
{
	struct tcache *tc = calloc(1, sizeof(*tc));
	if (!tc)
		return NULL;
	tc->keep_bytes = keep_bytes;
	tc->arena = malloc(TCACHE_ARENA_BYTES);
	tc->scratch = malloc(sizeof(struct trace) + sizeof(struct insn));
	if (!tc->arena || !tc->scratch) {
		tcache_destroy(tc);
		return NULL;
	}
	return tc;
}

void
tcache_destroy(struct tcache *tc)
{
	if (!tc)
		return;
	free(tc->arena);
	free(tc->scratch);
	free(tc);
}

static inline unsigned
hash_of(uint64_t pa, unsigned code_size)
{
	uint64_t h = (pa ^ (pa >> HASH_BITS) ^ ((uint64_t)code_size << 13)) * 0x9e3779b97f4a7c15ull;
	return (unsigned)(h >> (64 - HASH_BITS));
}

static inline unsigned
page_hash(uint64_t ppn)
{
	return (unsigned)((ppn * 0x9e3779b97f4a7c15ull) >> (64 - PAGE_HASH_BITS));
}

static void *
arena_alloc(struct tcache *tc, size_t size)
{
	size = (size + 15) & ~(size_t)15;
	if (tc->used + size > TCACHE_ARENA_BYTES)
		return NULL;
	void *p = tc->arena + tc->used;
	tc->used += size;
	return p;
}

/* Add a trace's entries to the per-id totals. */
static void
fold(struct tcache *tc, struct trace *t)
{
	for (unsigned k = 0; k < t->n; k++)
		tc->counts[t->insn[k].id] += t->entries;
	t->entries = 0;
}

static void
fold_all(struct tcache *tc)
{
	for (unsigned h = 0; h < (1u << HASH_BITS); h++)
		for (struct trace *t = tc->hash[h]; t; t = t->hash_next)
			fold(tc, t);
}

/* A run retired only the first `retired` instructions of t: the rest did not
 * run this time. A one-off (uncached) trace is folded at once. */
void
tcache_exit_early(struct cpu *cpu, struct trace *t, unsigned retired)
{
	struct tcache *tc = cpu->tcache;
	for (unsigned k = retired; k < t->n; k++)
		tc->counts[t->insn[k].id]--;
	if (!t->cached)
		fold(tc, t);
}

void
tcache_insn_counts(struct cpu *cpu, uint64_t counts[INSN_COUNT])
{
	struct tcache *tc = cpu->tcache;
	fold_all(tc);
	memcpy(counts, tc->counts, sizeof(tc->counts));
}

void
tcache_flush(struct cpu *cpu)
{
	struct tcache *tc = cpu->tcache;
	fold_all(tc);
	for (unsigned b = 0; b < (1u << PAGE_HASH_BITS); b++)
		for (struct code_page *p = tc->pages[b]; p; p = p->next)
			physmem_set_code(cpu->mem, p->ppn << 12, false);
	memset(tc->hash, 0, sizeof(tc->hash));
	memset(tc->pages, 0, sizeof(tc->pages));
	tc->used = 0;
	tc->generation++;
	jit_flush(cpu->jit); /* every compiled trace belonged to a trace dropped here */
}

uint64_t
tcache_generation(const struct tcache *tc)
{
	return tc->generation;
}

static void
unlink_trace(struct tcache *tc, struct trace *t)
{
	struct trace **pp = &tc->hash[hash_of(t->pa, t->code_size)];
	while (*pp && *pp != t)
		pp = &(*pp)->hash_next;
	if (*pp)
		*pp = t->hash_next;
	t->valid = false;
	t->jit_chain = NULL; /* compiled traces chain only into valid ones */
}

bool
tcache_invalidate_page(struct cpu *cpu, uint64_t pa)
{
	struct tcache *tc = cpu->tcache;
	uint64_t ppn = pa >> 12;
	struct code_page **pp = &tc->pages[page_hash(ppn)];
	while (*pp && (*pp)->ppn != ppn)
		pp = &(*pp)->next;
	if (cpu->jcheck) /* -jit check: a second run would find the page no longer code */
		jit_check_io(cpu);
	physmem_set_code(cpu->mem, pa, false);
	if (!*pp)
		return false;
	for (struct trace_link *l = (*pp)->traces; l; l = l->next)
		if (l->trace->valid) {
			unlink_trace(tc, l->trace);
			fold(tc, l->trace);
		}
	*pp = (*pp)->next; /* the page record itself is reclaimed at the next flush */
	return true;
}

/* Record that trace t has code on physical page pa; false if the arena is full. */
static bool
page_add(struct cpu *cpu, uint64_t pa, struct trace *t)
{
	struct tcache *tc = cpu->tcache;
	uint64_t ppn = pa >> 12;
	struct code_page **head = &tc->pages[page_hash(ppn)], *p = *head;
	while (p && p->ppn != ppn)
		p = p->next;
	if (!p) {
		p = arena_alloc(tc, sizeof(*p));
		if (!p)
			return false;
		p->ppn = ppn;
		p->traces = NULL;
		p->next = *head;
		*head = p;
		physmem_set_code(cpu->mem, pa, true);
		/* Stores to this page must now take the slow path and notify us, from
		 * every CPU: the traces are shared (cross-modifying code). */
		struct cpu *c = cpu;
		do {
			tlb_drop_writes_to(&c->tlb, pa & ~0xfffull);
			c = c->sibling;
		} while (c != cpu);
	}
	struct trace_link *l = arena_alloc(tc, sizeof(*l));
	if (!l)
		return false;
	l->trace = t;
	l->next = p->traces;
	p->traces = l;
	return true;
}

/* Copy up to `len` code bytes at physical pa; false if the page is not RAM/ROM. */
static bool
code_bytes(struct cpu *cpu, uint64_t pa, uint8_t *buf, unsigned len)
{
	phys_page_t p = physmem_page(cpu->mem, pa);
	if (!(p & PP_HOST_MASK))
		return false;
	memcpy(buf, (uint8_t *)(p & PP_HOST_MASK) + (pa & 0xfff), len);
	return true;
}

static inline uint64_t
cs_linear(struct cpu *cpu, uint64_t rip)
{
	uint64_t lin = cpu->state.seg[S_CS].base + rip;
	return cpu->code_size == 8 ? lin : lin & 0xffffffffull;
}

/*
 * Decode one instruction at rip (physical pa) into *out. Returns 0, or a fault
 * vector to raise (the caller decides whether that ends the trace or faults).
 */
static int
decode_at(struct cpu *cpu, uint64_t rip, uint64_t pa, struct insn *out, uint64_t *pa2,
	  uint64_t *lin2, bool *cacheable, uint8_t *raw)
{
	uint8_t buf[INSN_MAX_LEN];
	unsigned first = 0x1000 - (unsigned)(pa & 0xfff);
	unsigned n = first < INSN_MAX_LEN ? first : INSN_MAX_LEN;
	if (!code_bytes(cpu, pa, buf, n)) {
		physmem_read(cpu->mem, pa, buf, n); /* executing from MMIO: do not cache */
		*cacheable = false;
	}
	int len = decode_insn(buf, n, cpu->code_size, &cpu->features, out);
	if (len == DECODE_NEED_MORE) {
		uint64_t lin = (cs_linear(cpu, rip) + first) & ~0xfffull;
		*lin2 = lin;
		*pa2 = cpu_translate_fetch(cpu, lin) & ~0xfffull;
		if (!code_bytes(cpu, *pa2, buf + n, INSN_MAX_LEN - n)) {
			physmem_read(cpu->mem, *pa2, buf + n, INSN_MAX_LEN - n);
			*cacheable = false;
		}
		len = decode_insn(buf, INSN_MAX_LEN, cpu->code_size, &cpu->features, out);
	}
	if (len < 0)
		return EXC_GP; /* longer than 15 bytes */
	if (raw)               /* the bytes as decoded, for the instruction trace event */
		memcpy(raw, buf, (size_t)len);
	/* The whole instruction must lie within CS.limit (SDM vol. 3A, 5.3). */
	if (cpu->code_size != 8 && rip + (unsigned)len - 1 > cpu->state.seg[S_CS].limit)
		return EXC_GP;
	return 0;
}

static struct trace *
build(struct cpu *cpu, uint64_t pa)
{
	struct tcache *tc = cpu->tcache;
	size_t max_size = sizeof(struct trace) + TRACE_MAX_INSNS * sizeof(struct insn);
	/* With the instruction trace on, the raw bytes go just before the trace. */
	size_t bytes_size = tc->keep_bytes ? TRACE_MAX_INSNS * TCACHE_BYTES_STRIDE : 0;
	if (tc->used + bytes_size + max_size + 4 * sizeof(struct trace_link) +
		    2 * sizeof(struct code_page) >
	    TCACHE_ARENA_BYTES)
		tcache_flush(cpu);
	uint8_t(*bytes)[TCACHE_BYTES_STRIDE] =
		bytes_size ? (uint8_t(*)[TCACHE_BYTES_STRIDE])(tc->arena + tc->used) : NULL;
	struct trace *t = (struct trace *)(tc->arena + tc->used + bytes_size);
	t->bytes = bytes;
	t->pa = pa;
	t->pa2 = UINT64_MAX;
	t->lin2 = 0;
	t->code_size = cpu->code_size;
	t->valid = true;
	t->cached = true;
	t->entries = 0;
	t->jit = NULL;
	t->jit_chain = NULL;
	t->hits = 0;
	t->jit_failed = false;
	t->succ[0] = t->succ[1] = NULL;
	t->succ_pa[0] = t->succ_pa[1] = UINT64_MAX;
	uint64_t rip = cpu->state.rip, ip_pa = pa;
	unsigned n = 0;
	while (n < TRACE_MAX_INSNS) {
		uint64_t pa2 = UINT64_MAX, lin2 = 0;
		bool cacheable = true;
		struct insn *in = &t->insn[n];
		int vec;
		if (n == 0) {
			vec = decode_at(cpu, rip, ip_pa, in, &pa2, &lin2, &cacheable,
					bytes ? bytes[n] : NULL);
			if (vec)
				cpu_fault(cpu, (unsigned)vec, 0);
		} else {
			/* A later instruction that cannot be fetched ends the trace instead;
			 * it faults when it is reached. */
			jmp_buf saved;
			uint64_t cr2 = cpu->state.cr2; /* a #PF here is not delivered: keep CR2 */
			memcpy(saved, cpu->fault_jmp, sizeof(saved));
			if (setjmp(cpu->fault_jmp)) {
				memcpy(cpu->fault_jmp, saved, sizeof(saved));
				cpu->state.cr2 = cr2;
				break;
			}
			vec = decode_at(cpu, rip, ip_pa, in, &pa2, &lin2, &cacheable,
					bytes ? bytes[n] : NULL);
			memcpy(cpu->fault_jmp, saved, sizeof(saved));
			if (vec || !cacheable)
				break;
		}
		if (!cacheable) { /* n == 0: run this one instruction uncached */
			tc->scratch->insn[0] = *in;
			tc->scratch->n = 1;
			tc->scratch->entries = 0;
			tc->scratch->cached = false;
			tc->scratch->succ[0] = tc->scratch->succ[1] = NULL;
			tc->scratch->valid = true;
			tc->scratch->jit = NULL;
			tc->scratch->jit_chain = NULL;
			tc->scratch->jit_failed = true; /* never compiled */
			tc->scratch->code_size = cpu->code_size;
			tc->scratch->bytes = bytes ? tc->scratch_bytes : NULL;
			if (bytes)
				memcpy(tc->scratch_bytes[0], bytes[0], TCACHE_BYTES_STRIDE);
			return tc->scratch;
		}
		n++;
		if (pa2 != UINT64_MAX) {
			t->pa2 = pa2;
			t->lin2 = lin2;
			break;
		}
		rip += in->len;
		ip_pa += in->len;
		if ((in->flags & I_END) || (ip_pa & 0xfff) == 0 ||
		    (ip_pa & ~0xfffull) != (pa & ~0xfffull))
			break;
	}
	t->n = (uint8_t)n;
	tc->used +=
		bytes_size + ((sizeof(struct trace) + n * sizeof(struct insn) + 15) & ~(size_t)15);
	if (!page_add(cpu, pa, t) || (t->pa2 != UINT64_MAX && !page_add(cpu, t->pa2, t))) {
		/* Arena full while registering: drop everything; the trace itself is still
		 * intact in the arena until the next build, so run it once uncached. */
		tcache_flush(cpu);
		t->cached = false;
		return t;
	}
	unsigned h = hash_of(pa, t->code_size);
	t->hash_next = tc->hash[h];
	tc->hash[h] = t;
	return t;
}

static struct trace *tcache_lookup(struct cpu *cpu, struct tcache *tc, uint64_t lin, uint64_t pa);

/* Remember `next` as a successor of `prev` (two slots; the newer replaces the older). */
static void
link_successor(struct trace *prev, uint64_t pa, struct trace *next)
{
	if (!prev || !prev->cached || !next->cached)
		return;
	unsigned slot = prev->succ[0] && prev->succ_pa[0] != pa ? 1 : 0;
	if (slot == 1) {
		prev->succ[1] = prev->succ[0];
		prev->succ_pa[1] = prev->succ_pa[0];
		slot = 0;
	}
	prev->succ[slot] = next;
	prev->succ_pa[slot] = pa;
}

struct trace *
tcache_get(struct cpu *cpu, struct trace *prev)
{
	if (cpu->code_size != 8 && cpu->state.rip > cpu->state.seg[S_CS].limit)
		cpu_gp0(cpu);
	uint64_t lin = cs_linear(cpu, cpu->state.rip);
	uint64_t pa = cpu_translate_fetch(cpu, lin);
	struct tcache *tc = cpu->tcache;
	if (prev && prev->cached) {
		/* The successor must still be valid and decoded for this code size; a trace
		 * that runs into a second page takes the full lookup below. */
		for (unsigned k = 0; k < 2; k++) {
			struct trace *n = prev->succ[k];
			if (n && prev->succ_pa[k] == pa && n->valid &&
			    n->code_size == cpu->code_size && n->pa2 == UINT64_MAX)
				return n;
		}
	}
	uint64_t gen = tc->generation;
	struct trace *t = tcache_lookup(cpu, tc, lin, pa);
	if (!t)
		t = build(cpu, pa);
	if (tc->generation == gen) /* a flush while building freed prev */
		link_successor(prev, pa, t);
	return t;
}

static struct trace *
tcache_lookup(struct cpu *cpu, struct tcache *tc, uint64_t lin, uint64_t pa)
{
	for (struct trace *t = tc->hash[hash_of(pa, cpu->code_size)]; t; t = t->hash_next) {
		if (t->pa != pa || t->code_size != cpu->code_size)
			continue;
		/* A trace whose last instruction runs into the next page is valid only
		 * while that linear page still maps the same physical page. */
		if (t->pa2 != UINT64_MAX &&
		    (t->lin2 != ((lin + 0x1000) & ~0xfffull) ||
		     (cpu_translate_fetch(cpu, t->lin2) & ~0xfffull) != t->pa2))
			continue;
		return t;
	}
	return NULL;
}
