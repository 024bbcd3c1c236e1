/*
 * fugu — the JIT compiler: one decoded trace in, one host function out.
 *
 * The compiled function is `void f(struct cpu *cpu, uint64_t limit)`. Host
 * registers: RBP the CPU; RBX, R12-R15, R9, R11 a cache of up to seven guest
 * registers (the trace's most used ones); RSI, RDI, R8 a lazy-flags record
 * not stored yet (struct pending_lf); RAX, RCX, RDX, R10 scratch (and RSI,
 * RDI, R8 once the record is stored). The frame holds the entry RIP, the
 * entry icount and the TLB set of the current CPL (FRAME_*). Guest
 * state lives in struct cpu, in the representation the interpreter uses
 * (lazy flags included); a cached register is written back before anything
 * can look at it (a handler call, a memory slow path, an exit) and reloaded
 * after a handler call. So every instruction can be an inline copy of its
 * handler or a call of the handler with exec_one's contract
 * (docs/ARCHITECTURE.md, "The JIT").
 */
#include "cpu/jit/jit.h"

#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cpu/exec/exec.h"
#include "cpu/tcache.h"
#include "mmu/hostmem.h"

#if defined(__x86_64__)

#include <sys/mman.h>

#include "cpu/jit/emit.h"

struct comp;

struct jit {
	uint8_t *arena;
	size_t used;
	unsigned threshold;
	bool check;     /* -jit check: no chaining (each run is compared alone) */
	bool break_mov; /* FUGU_JIT_CHECK_BREAK=1 with -jit check: MOV r, imm off by one (tests) */
	bool break_sse; /* FUGU_JIT_CHECK_BREAK=sse with -jit check: PSHUFD's imm8 off (tests) */
	uint8_t *scratch; /* the compiler writes here, then copies into the arena */
	/* Compiled traces by physical address (chain_to_pa's fallback when the
	 * successor links miss, e.g. an indirect branch with many targets):
	 * direct-mapped, filled by jit_compile, emptied by jit_flush; an entry
	 * is only a candidate, validated as a link is (jit_chain, code size). */
	struct jit_find {
		uint64_t pa;
		struct trace *t;
	} * find;
	bool find_used;    /* some entry may be set */
	struct comp *comp; /* the compiler's tables */
	struct jit_stats stats;
	/* FUGU_JIT_PROFILE=FILE: handler calls from compiled code counted per
	 * instruction id, register and memory forms apart, written to FILE at
	 * exit (what to inline next: docs/PERFORMANCE.md). NULL: not counted. */
	uint64_t (*fallback)[2];
	char *profile_path;
	/* FUGU_JIT_DUMP=DIR: each compiled trace's host code written to
	 * DIR/<entry RIP in hex>.bin (objdump -b binary -m i386:x86-64). */
	char *dump_dir;
};

#define SCRATCH_BYTES (64u << 10)
#define FIND_ENTRIES 4096u

static unsigned
find_index(uint64_t pa)
{
	return (unsigned)((pa ^ (pa >> 10)) & (FIND_ENTRIES - 1));
}

/* ---- where things are in struct cpu ---- */

#define CPU_OFF(field) ((int32_t)offsetof(struct cpu, field))
#define OFF_GPR(r) (CPU_OFF(state.gpr) + 8 * (int32_t)(r))
#define OFF_RIP CPU_OFF(state.rip)
#define OFF_RFLAGS CPU_OFF(state.rflags)
#define OFF_CPL CPU_OFF(state.cpl)
#define OFF_ICOUNT CPU_OFF(icount)
#define OFF_INSN_RIP CPU_OFF(insn_rip)
#define OFF_STOP CPU_OFF(stop_trace)
#define OFF_LF_RES CPU_OFF(lf.res)
#define OFF_LF_SRC1 CPU_OFF(lf.src1)
#define OFF_LF_SRC2 CPU_OFF(lf.src2)
#define OFF_LF_OP CPU_OFF(lf.op) /* op, size and mask: one 32-bit word */
#define OFF_EVENTS CPU_OFF(events)
#define OFF_BUDGET_END CPU_OFF(budget_end)
#define OFF_CHAIN_PREV CPU_OFF(chain_prev)
#define OFF_DELIVERING CPU_OFF(delivering)
#define TRACE_OFF(field) ((int32_t)offsetof(struct trace, field))
#define OFF_TLB ((int32_t)(offsetof(struct cpu, tlb) + offsetof(struct tlb, e)))
#define TLB_KIND_BYTES ((int32_t)(TLB_SIZE * sizeof(struct tlb_entry)))
#define TLB_SET_BYTES (TLB_NKINDS * TLB_KIND_BYTES)

_Static_assert(offsetof(struct lazy_flags, size) == offsetof(struct lazy_flags, op) + 1 &&
		       offsetof(struct lazy_flags, mask) == offsetof(struct lazy_flags, op) + 2,
	       "lazy flags op/size/mask are one 32-bit word");
_Static_assert(sizeof(struct tlb_entry) == 24 && offsetof(struct tlb_entry, addend) == 8 &&
		       offsetof(struct tlb_entry, pa_page) == 16,
	       "the inline TLB lookup knows the entry layout");

/* The frame below the saved registers. */
#define FRAME_RIP0 0
#define FRAME_ICOUNT0 8
#define FRAME_TLB 16
#define FRAME_HOST 24   /* a paired load's host address, or 0 (pair_store) */
#define FRAME_TARGET 32 /* an indirect CALL's target across its push */
#define FRAME_BYTES 40  /* with six pushes, keeps calls 16-byte aligned */

/* Host registers that cache guest registers: callee-saved ones first (calls
 * keep them), then R9 and R11, which a C call clobbers (reloaded after one). */
static const uint8_t cache_regs[] = { RBX, R12, R13, R14, R15, R9, R11 };
#define HOST_VOLATILE ((1u << R9) | (1u << R11))
#define NCACHE (sizeof(cache_regs) / sizeof(cache_regs[0]))

static int32_t
off_seg_base(unsigned s)
{
	return CPU_OFF(state.seg) +
	       (int32_t)(s * sizeof(struct segment) + offsetof(struct segment, base));
}

/* ---- the compiler's state ---- */

#define LF_NONE_LAZY (-2) /* comp.lf_op: lf.mask is 0, every flag is in RFLAGS */

enum exit_kind { EXIT_INLINE, EXIT_HANDLER }; /* RIP to store, or already stored by a handler */

/*
 * A lazy-flags record an inline instruction made but did not store yet: src1
 * in RSI, src2 in RDI or an immediate, res in R8, the rest known now. It is
 * stored (flush_lf) before anything can read or fault -- a memory access, a
 * handler or C call, an instruction that reads the flags -- and in every exit
 * stub taken while it is pending. An inline instruction that sets a whole new
 * record before any of those makes it dead: its four stores never happen.
 * Between the two only register-only inline forms run, none of which touches
 * RSI, RDI or R8.
 */
struct pending_lf {
	bool on;
	bool imm; /* src2 is `immv`, not RDI */
	uint8_t op, size;
	uint16_t mask;
	int32_t immv;
};

struct fixup {
	uint8_t *at; /* a rel32 to point at the exit */
	uint8_t k;   /* after instruction k */
	uint8_t kind;
	uint16_t dirty;         /* cached guest registers to write back */
	struct pending_lf pend; /* the flags record to store first */
};

/* An out-of-line memory slow path. */
struct slow {
	uint8_t *at;   /* the jne into it */
	uint8_t *back; /* where it returns */
	uint8_t k, size, seg;
	bool store;
	bool pair; /* a paired load (pair_store): FRAME_HOST = 0, no host address */
	bool last; /* the access ends its instruction (a MOV store): the slow path
		      checks stop_trace itself, the fast path does not */
	uint16_t dirty;
	struct pending_lf pend; /* a flags record to store before the call */
};

/* An out-of-line taken conditional branch. */
struct taken {
	uint8_t *at;
	uint8_t k;
	uint16_t dirty;
	bool called;            /* a handler ran before it in the trace */
	struct pending_lf pend; /* the flags record to store first */
	uint8_t join;           /* a later instruction of the trace it goes to, or 0 */
	uint8_t *back;          /* a handler stub: where the trace goes on after the handler
				   (compile_muldiv, rmw_back), or NULL: the trace ends */
	bool rmw;               /* back after a read-modify-write: the record the inline
				   form leaves pending (`back_pend`) is loaded from the one
				   the handler stored, and its host flags recomputed */
	struct pending_lf back_pend;
	int back_lf_op;
	unsigned back_lf_size;
	bool back_hflags;
};

#define MAX_FIX (TRACE_MAX_INSNS * 4)

struct comp {
	struct emit e;
	struct cpu *cpu;
	struct trace *t;
	unsigned code_size;
	uint32_t off[TRACE_MAX_INSNS + 1]; /* byte offset of instruction k from the entry RIP */
	int lf_op; /* the lazy operation the last inline form left, LF_NONE_LAZY, or -1 unknown */
	unsigned lf_size;
	bool lf_cf_lazy;     /* ... and whether its CF is lazy (not after INC/DEC) */
	bool tlb_ok;         /* the frame holds the TLB set of the current CPL */
	bool called;         /* a handler call was emitted (so far, in program order) */
	uint8_t flat_segs;   /* 32-bit code: the segments (1 << S_*) the trace's entry
				checked flat (flat_guard), inline until a handler call */
	bool cs_flat;        /* 32-bit code: the entry checked CS's base 0 and limit
				4 GiB (flat_guard): a branch inside the trace needs no
				limit check (self_loop, join_at) */
	bool rip_stored;     /* the instruction just compiled stored RIP (CALL, RET) */
	bool hflags;         /* the instruction just compiled left the host flags of its
				own operation, the guest's (an ALU or INC/DEC form) */
	unsigned hflags_at;  /* ... so instruction hflags_at finds them, or UINT_MAX */
	bool rec_dead;       /* the record the instruction being compiled makes is never
				read: the next instructions overwrite it first (record_dead) */
	bool zsp;            /* the record of the last flag-setting instruction (a shift)
				gives ZF, SF and PF from its result: lf_op is -1 */
	uint8_t host_of[16]; /* the host register caching guest register r, or HNONE */
	uint16_t cached;     /* guest registers with a host register */
	uint16_t dirty;      /* ... whose host copy is newer than struct cpu's */
	struct pending_lf pend;
	/* cpu/jit/sse.c: the CR0/CR4 checks (and, with sse_mx_ok, the MXCSR
	 * masks check) of the inline SSE form at sse_last - 1 hold until a
	 * handler call (nhandler counts them) or a join. */
	unsigned sse_last;
	unsigned nhandler, sse_nhandler;
	bool sse_mx_ok;
	bool sse_mx_live; /* ... the guest's MXCSR is in the host's (sse_chains) */
	/* Joins: instruction j is the target of a taken branch earlier in the
	 * trace that goes there directly (join_at). */
	bool join[TRACE_MAX_INSNS];
	bool paired[TRACE_MAX_INSNS]; /* a store to what an earlier load's host address names */
	bool stop_checked;            /* the instruction checked stop_trace itself */
	bool join_no_tlb[TRACE_MAX_INSNS];    /* a branch there came without the TLB set */
	uint16_t join_dirty[TRACE_MAX_INSNS]; /* ... with these registers dirty */
	uint8_t *label[TRACE_MAX_INSNS];      /* where instruction j's code starts */
	struct fixup fix[MAX_FIX];
	unsigned nfix;
	struct slow slow[TRACE_MAX_INSNS * 2];
	unsigned nslow;
	struct taken taken[TRACE_MAX_INSNS];
	unsigned ntaken;
	struct taken hstub[TRACE_MAX_INSNS * 4]; /* out-of-line calls of the handler */
	unsigned nhstub;
	uint8_t *to_epilogue[TRACE_MAX_INSNS * 24]; /* jumps to patch to the epilogue */
	unsigned nepi;
	uint8_t *chain_entry;
	uint8_t *loop_head; /* where a taken branch back to the trace's start goes, or NULL */
	bool bad;           /* a table ran out: give up on this trace */
};

static void flush_lf(struct comp *c);
static void to_epilogue(struct comp *c, uint8_t *at);
static void to_handler(struct comp *c, unsigned k, int cc);

static void
add_fix(struct comp *c, uint8_t *at, unsigned k, enum exit_kind kind)
{
	if (c->nfix == MAX_FIX) {
		c->bad = true;
		return;
	}
	c->fix[c->nfix++] = (struct fixup){ at, (uint8_t)k, (uint8_t)kind, c->dirty, c->pend };
}

/* Store the cached guest registers named in `mask` into struct cpu. */
static void
writeback(struct comp *c, uint16_t mask)
{
	for (unsigned r = 0; r < 16; r++)
		if (mask & (1u << r))
			op_rm(&c->e, OP_MOV_ST, 8, c->host_of[r], mem(RBP, OFF_GPR(r)));
}

/* Load the cached guest registers named in `mask` from struct cpu. */
static void
reload_mask(struct comp *c, uint16_t mask)
{
	for (unsigned r = 0; r < 16; r++)
		if (mask & c->cached & (1u << r))
			op_rm(&c->e, OP_MOV_LD, 8, c->host_of[r], mem(RBP, OFF_GPR(r)));
}

/* Every cached register (at entry, after a handler). */
static void
reload(struct comp *c)
{
	reload_mask(c, c->cached);
}

/* The guest registers cached in host registers that a C call clobbers. */
static uint16_t
volatile_cached(const struct comp *c)
{
	uint16_t m = 0;
	for (unsigned r = 0; r < 16; r++)
		if ((c->cached & (1u << r)) && (HOST_VOLATILE & (1u << c->host_of[r])))
			m |= (uint16_t)(1u << r);
	return m;
}

/* Call a C helper `void fn(struct cpu *)` that reads no guest register: the
 * cached registers it would clobber go through struct cpu around it. The
 * dirty set is left alone, so this may sit on a conditional path. */
static void
call_helper(struct comp *c, const void *fn)
{
	uint16_t v = volatile_cached(c);
	writeback(c, c->dirty & v);
	op_rr(&c->e, OP_MOV_ST, 8, RBP, RDI);
	call_abs(&c->e, fn);
	reload_mask(c, v);
}

/* RAX = the RIP `off` bytes after the entry RIP, masked to the code size. */
static void
rip_to_rax(struct comp *c, uint32_t off)
{
	op_rm(&c->e, OP_MOV_LD, 8, RAX, mem(RSP, FRAME_RIP0));
	op_rm(&c->e, OP_LEA, c->code_size == 8 ? 8 : 4, RAX, mem(RAX, (int32_t)off));
	if (c->code_size == 2)
		zext(&c->e, 2, RAX);
}

/* What exec_one has written before instruction k's handler runs: insn_rip,
 * RIP (the next instruction's) and icount. Clobbers RAX only. */
static void
sync_state(struct comp *c, unsigned k)
{
	rip_to_rax(c, c->off[k]);
	op_rm(&c->e, OP_MOV_ST, 8, RAX, mem(RBP, OFF_INSN_RIP));
	rip_to_rax(c, c->off[k + 1]);
	op_rm(&c->e, OP_MOV_ST, 8, RAX, mem(RBP, OFF_RIP));
	op_rm(&c->e, OP_MOV_LD, 8, RAX, mem(RSP, FRAME_ICOUNT0));
	op_rm(&c->e, OP_LEA, 8, RAX, mem(RAX, (int32_t)k));
	op_rm(&c->e, OP_MOV_ST, 8, RAX, mem(RBP, OFF_ICOUNT));
}

/* if (cpu->stop_trace) leave after instruction k */
static void
check_stop(struct comp *c, unsigned k, enum exit_kind kind)
{
	grp1_mi(&c->e, 7, 1, mem(RBP, OFF_STOP), 0);
	add_fix(c, jump_fwd(&c->e, CC_NE), k, kind);
}

/* The frame's TLB set = the one that serves explicit accesses at the current CPL (mem.c cur_set).
 */
static void
load_tlb_set(struct comp *c)
{
	op_rr(&c->e, OP_XOR_RM_R, 4, RAX, RAX);
	grp1_mi(&c->e, 7, 1, mem(RBP, OFF_CPL), 3);
	setcc(&c->e, CC_E, RAX);
	imul_rri(&c->e, 4, RAX, RAX, TLB_SET_BYTES);
	op_rm(&c->e, OP_LEA, 8, RAX, mem_idx(RBP, RAX, 0, OFF_TLB));
	op_rm(&c->e, OP_MOV_ST, 8, RAX, mem(RSP, FRAME_TLB));
	c->tlb_ok = true;
}

/* The host bytes of [lin, lin + len) through the TLB entries of `kind` in
 * the current CPL's set, page by page, or false when a page misses (then the
 * handler's path: a walk, a fault, MMIO, code). */
static bool
tlb_covers(struct cpu *cpu, enum tlb_access kind, uint64_t lin, uint64_t len)
{
	unsigned set = cpu->state.cpl == 3 ? TLB_USER : TLB_SUPER;
	for (uint64_t p = lin & ~0xfffull; p < lin + len; p += 0x1000)
		if (!tlb_lookup(&cpu->tlb, set, kind, p, 1))
			return false;
	return true;
}

/* No element of `size` bytes from `a` on, `len` bytes in all, crosses a page. */
static bool
no_crossing(uint64_t a, uint64_t len, unsigned size)
{
	return (a & (size - 1)) == 0 || (a & 0xfff) + len <= 0x1000;
}

/* One element of `size` bytes from s to d (host memory). */
static void
copy_elem(uint8_t *d, const uint8_t *s, unsigned size)
{
	hostmem_store(d, hostmem_load(s, size), size);
}

static uint8_t *
tlb_host(struct cpu *cpu, enum tlb_access kind, uint64_t lin)
{
	unsigned set = cpu->state.cpl == 3 ? TLB_USER : TLB_SUPER;
	return tlb_lookup(&cpu->tlb, set, kind, lin, 1);
}

/*
 * REP MOVS and REP STOS in 64-bit code with a 64-bit address size and DF
 * clear, the handler's contract (sync_state ran): the handler's whole run
 * up to its end or its yield, done here with host pointers when every byte
 * it would touch -- min(RCX, REP_CHUNK) elements -- lies in pages the TLB
 * maps (source: read entries, destination: write entries, which exist only
 * for RAM that holds no code and no data breakpoint), none of them
 * non-canonical (such pages are never entered) and no element crossing a
 * page; otherwise, and when an event would make the handler yield at once,
 * the handler itself. Elements are copied one by one in order, so an
 * overlapping MOVS gives the handler's bytes; nothing between can raise an
 * event (RAM only), so the handler's per-element check is the first one's.
 */
static void
jit_rep_string(struct cpu *cpu, const struct insn *i)
{
	bool movs = i->fn == op_movs;
	unsigned size = i->opsize;
	uint64_t c = cpu->state.gpr[R_CX], si = cpu->state.gpr[R_SI], di = cpu->state.gpr[R_DI];
	uint64_t n = c < REP_CHUNK ? c : REP_CHUNK, len = n * size;
	if (c == 0 || (cpu->state.rflags & F_DF) || cpu->jcheck || cpu_event_deliverable(cpu) ||
	    di + len < di || si + len < si || !no_crossing(di, len, size) ||
	    (movs && !no_crossing(si, len, size)) || !tlb_covers(cpu, TLB_WRITE, di, len) ||
	    (movs && !tlb_covers(cpu, TLB_READ, si, len))) {
		i->fn(cpu, i);
		return;
	}
	uint64_t v = cpu->state.gpr[R_AX];
	for (uint64_t done = 0; done < len;) {
		/* A run inside one destination (and source) page. */
		uint64_t run = 0x1000 - ((di + done) & 0xfff);
		if (movs && 0x1000 - ((si + done) & 0xfff) < run)
			run = 0x1000 - ((si + done) & 0xfff);
		if (run > len - done)
			run = len - done;
		uint8_t *d = tlb_host(cpu, TLB_WRITE, di + done);
		if (movs) {
			const uint8_t *sp = tlb_host(cpu, TLB_READ, si + done);
			if (d + run <= sp || sp + run <= d)
				memcpy(d, sp, run);
			else /* overlapping: element by element, in order, as the handler */
				for (uint64_t b = 0; b < run; b += size)
					copy_elem(d + b, sp + b, size);
		} else if (size == 1) {
			memset(d, (int)(v & 0xff), run);
		} else {
			for (uint64_t b = 0; b < run; b += size) /* little-endian: the low bytes */
				copy_elem(d + b, (const uint8_t *)&v, size);
		}
		done += run;
	}
	cpu->state.gpr[R_SI] = movs ? si + len : si;
	cpu->state.gpr[R_DI] = di + len;
	cpu->state.gpr[R_CX] = c - n;
	if (c - n != 0) { /* the handler's yield after REP_CHUNK elements */
		cpu->state.rip = cpu->insn_rip;
		cpu->stop_trace = true;
	}
}

/* Call the interpreter's handler for instruction k (or `fn`, a C function
 * with the handler's contract that does what it does). */
static void
call_handler_fn(struct comp *c, unsigned k, insn_fn fn)
{
	const struct insn *i = &c->t->insn[k];
	struct jit *j = c->cpu->jit;
	if (j->fallback && i->id < INSN_COUNT) { /* inc qword [counter]: flags are not live here */
		mov_ri(&c->e, RAX,
		       (uint64_t)(uintptr_t)&j->fallback[i->id][(i->flags & I_MEM) != 0]);
		e8(&c->e, 0x48);
		e8(&c->e, 0xff);
		e8(&c->e, 0x00);
	}
	flush_lf(c);
	writeback(c, c->dirty);
	c->dirty = 0;
	sync_state(c, k);
	op_rr(&c->e, OP_MOV_ST, 8, RBP, RDI);
	mov_ri(&c->e, RSI, (uint64_t)(uintptr_t)i);
	call_abs(&c->e, (const void *)fn);
	c->nhandler++; /* it may have changed CR0, CR4, MXCSR (cpu/jit/sse.c) */
	check_stop(c, k, EXIT_HANDLER);
	reload(c); /* the handler may have changed any register */
	c->called = true;
	c->lf_op = -1;
	c->zsp = false;
	c->tlb_ok = false;
}

static void
call_handler(struct comp *c, unsigned k)
{
	const struct insn *i = &c->t->insn[k];
	/* REP MOVS/STOS in 64-bit code with 64-bit addresses: jit_rep_string first. */
	if ((i->fn == op_movs || i->fn == op_stos) && (i->flags & (I_REP | I_REPNE)) &&
	    c->code_size == 8 && i->adsize == 8 && (i->fn == op_stos || i->seg < S_FS))
		call_handler_fn(c, k, jit_rep_string);
	else
		call_handler_fn(c, k, i->fn);
}

/* ---- guest registers ---- */

/* The guest register r as an operand of `size` bytes (AH..BH without REX). */
/* AH, CH, DH or BH: byte register 4-7 without REX. */
static bool
high_byte(const struct insn *i, unsigned r, unsigned size)
{
	return size == 1 && r >= 4 && r < 8 && !(i->flags & I_REX);
}

static struct mref
greg(const struct insn *i, unsigned r, unsigned size)
{
	if (high_byte(i, r, size))
		return mem(RBP, OFF_GPR(r - 4) + 1);
	return mem(RBP, OFF_GPR(r));
}

/* Is the operand in a host register? AH..BH of a cached register never are:
 * pick_cached leaves such registers in memory. */
static bool
is_cached(struct comp *c, const struct insn *i, unsigned r, unsigned size)
{
	if (high_byte(i, r, size)) {
		if (c->cached & (1u << (r - 4)))
			c->bad = true;
		return false;
	}
	return (c->cached & (1u << r)) != 0;
}

static void
load_greg(struct comp *c, const struct insn *i, unsigned r, unsigned size, unsigned h)
{
	if (!is_cached(c, i, r, size))
		load_zx(&c->e, size, h, greg(i, r, size));
	else if (size >= 4)
		op_rr(&c->e, OP_MOV_ST, size, c->host_of[r], h);
	else
		movzx_rr(&c->e, size, h, c->host_of[r]);
}

/* reg_write: a 32-bit write zero-extends into bits 63:32 (SDM vol. 1, 3.4.1.1);
 * 8- and 16-bit writes keep the rest (the host's partial writes do the same). */
static void
store_greg(struct comp *c, const struct insn *i, unsigned r, unsigned size, unsigned h)
{
	if (is_cached(c, i, r, size)) {
		op_rr(&c->e, OP_MOV_ST, size, h, c->host_of[r]);
		c->dirty |= (uint16_t)(1u << r);
		return;
	}
	if (size == 4)
		zext(&c->e, 4, h);
	op_rm(&c->e, OP_MOV_ST, size == 4 ? 8 : size, h, greg(i, r, size));
}

/* Add imm to the 64-bit guest register r (the stack pointer of PUSH/POP). */
static void
add_greg(struct comp *c, unsigned r, int32_t imm)
{
	if (c->cached & (1u << r)) {
		grp1_ri(&c->e, 0, 8, c->host_of[r], imm);
		c->dirty |= (uint16_t)(1u << r);
	} else {
		grp1_mi(&c->e, 0, 8, mem(RBP, OFF_GPR(r)), imm);
	}
}

/* A 64-bit guest register into host register h (addresses). */
static void
load_greg64(struct comp *c, unsigned r, unsigned h)
{
	if (c->cached & (1u << r))
		op_rr(&c->e, OP_MOV_ST, 8, c->host_of[r], h);
	else
		op_rm(&c->e, OP_MOV_LD, 8, h, mem(RBP, OFF_GPR(r)));
}

/* The host register caching guest register r for an operation of 4 or 8
 * bytes on the whole of it, or HNONE (then the operand goes through RAX). */
static unsigned
host_reg(const struct comp *c, unsigned r, unsigned size)
{
	if ((size != 4 && size != 8) || r >= 16 || !(c->cached & (1u << r)))
		return HNONE;
	return c->host_of[r];
}

/* ---- lazy flags ---- */

static void
lf_word(struct comp *c, unsigned op, unsigned size, unsigned mask)
{
	mov_mi(&c->e, 4, mem(RBP, OFF_LF_OP), (int32_t)(op | (size << 8) | (mask << 16)));
}

/* Store a pending record, as lf_set does. A logic operation's flags come
 * from its result alone (lf_compute): its src1 and src2 are never read, so
 * the inline forms neither compute nor store them (memory keeps the last
 * record's, guest values). */
static void
store_lf(struct comp *c, const struct pending_lf *p)
{
	if (p->op != LF_LOGIC) {
		op_rm(&c->e, OP_MOV_ST, 8, RSI, mem(RBP, OFF_LF_SRC1));
		if (p->imm)
			mov_mi(&c->e, 8, mem(RBP, OFF_LF_SRC2), p->immv);
		else
			op_rm(&c->e, OP_MOV_ST, 8, RDI, mem(RBP, OFF_LF_SRC2));
	}
	op_rm(&c->e, OP_MOV_ST, 8, R8, mem(RBP, OFF_LF_RES));
	lf_word(c, p->op, p->size, p->mask);
}

static void
flush_lf(struct comp *c)
{
	if (c->pend.on)
		store_lf(c, &c->pend);
	c->pend.on = false;
}

/* A copy into the record's registers (src1 RSI, src2 RDI), left out when
 * the record is dead (record_dead). */
static void
rec_mov(struct comp *c, unsigned size, unsigned from, unsigned to)
{
	if (!c->rec_dead)
		op_rr(&c->e, OP_MOV_ST, size, from, to);
}

/* The record of an inline operation whose host result is in RAX, src1 in RSI
 * and src2 in RDI (or `imm`): pending from here. */
static void
set_lf_from(struct comp *c, unsigned res, unsigned op, unsigned size, unsigned mask, bool imm,
	    int32_t immv)
{
	if (c->rec_dead) { /* never read: nothing to keep, nothing to store */
		c->pend.on = false;
		return;
	}
	if (res != R8)
		op_rr(&c->e, OP_MOV_ST, 8, res, R8);
	c->pend =
		(struct pending_lf){ true, imm, (uint8_t)op, (uint8_t)size, (uint16_t)mask, immv };
}

static void
set_lf(struct comp *c, unsigned op, unsigned size, unsigned mask, bool imm, int32_t immv)
{
	set_lf_from(c, RAX, op, size, mask, imm, immv);
}

/* The host instruction that recomputes the flags of the known lazy operation
 * (same operation, same size: the host's flags are the guest's). */
static void
recompute_flags(struct comp *c)
{
	struct emit *e = &c->e;
	unsigned s = c->lf_size;
	if (c->pend.on) { /* the record is still in RSI, RDI or the immediate, R8 */
		if (c->lf_op == LF_LOGIC) {
			op_rr(e, OP_TEST, s, R8, R8);
			return;
		}
		op_rr(e, OP_MOV_ST, 8, RSI, RAX);
		if (c->pend.imm)
			grp1_ri(e, c->lf_op == LF_ADD ? 0 : 7, s, RAX, c->pend.immv);
		else
			op_rr(e, c->lf_op == LF_ADD ? OP_ADD_RM_R : OP_CMP_RM_R, s, RDI, RAX);
		return;
	}
	if (c->lf_op == LF_LOGIC) {
		load_zx(&c->e, s, RAX, mem(RBP, OFF_LF_RES));
		op_rr(&c->e, OP_TEST, s, RAX, RAX);
		return;
	}
	load_zx(&c->e, s, RAX, mem(RBP, OFF_LF_SRC1));
	op_rm(&c->e, c->lf_op == LF_ADD ? OP_ADD_R_RM : OP_CMP_R_RM, s, RAX, mem(RBP, OFF_LF_SRC2));
}

/* lf_set_keep_cf's first half: fold a lazy CF into RFLAGS. */
static void
jit_fold_cf(struct cpu *cpu)
{
	cpu->state.rflags =
		(cpu->state.rflags & ~(uint64_t)F_CF) | (lf_compute_cf(&cpu->lf) ? F_CF : 0);
}

static void
fold_cf(struct comp *c)
{
	struct emit *e = &c->e;
	/* Only INC and DEC fold CF, and their record replaces every other flag:
	 * a pending record is not stored when its CF is computed here. */
	if (c->lf_op >= 0 && !c->lf_cf_lazy)
		return; /* CF already in RFLAGS */
	if (c->lf_op < 0)
		flush_lf(c);
	if (c->lf_op == LF_LOGIC) {
		grp1_mi(e, 4, 8, mem(RBP, OFF_RFLAGS), ~(int32_t)F_CF);
		return;
	}
	if (c->lf_op == LF_ADD || c->lf_op == LF_SUB) {
		recompute_flags(c);
		setcc(e, CC_B, RAX);
		zext(e, 1, RAX);
		grp1_mi(e, 4, 8, mem(RBP, OFF_RFLAGS), ~(int32_t)F_CF);
		op_rm(e, OP_OR_RM_R, 8, RAX, mem(RBP, OFF_RFLAGS));
		return;
	}
	if (c->lf_op == LF_NONE_LAZY)
		return;
	/* Unknown: test lf.mask's CF bit at run time; after a logic operation CF
	 * is 0, else fold through C. */
	test_mi8(e, mem(RBP, OFF_LF_OP + 2), F_CF);
	uint8_t *skip = jump_fwd(e, CC_E);
	grp1_mi(e, 7, 1, mem(RBP, OFF_LF_OP), LF_LOGIC);
	uint8_t *other = jump_fwd(e, CC_NE);
	grp1_mi(e, 4, 8, mem(RBP, OFF_RFLAGS), ~(int32_t)F_CF);
	uint8_t *done = jump_fwd(e, -1);
	patch(e, other, e->p);
	call_helper(c, (const void *)jit_fold_cf);
	patch(e, skip, e->p);
	patch(e, done, e->p);
}

/* ---- memory ---- */

/* RDX = the effective address of i's memory operand (insn_ea), for instruction k. */
static void
emit_ea(struct comp *c, const struct insn *i, unsigned k)
{
	struct emit *e = &c->e;
	int32_t disp = i->disp;
	if (i->base < 16 && (c->cached & (1u << i->base)) &&
	    (i->index == REG_NONE || (i->index < 16 && (c->cached & (1u << i->index))))) {
		/* base and index in host registers: one LEA */
		unsigned hb = c->host_of[i->base];
		if (i->index != REG_NONE)
			op_rm(e, OP_LEA, 8, RDX, mem_idx(hb, c->host_of[i->index], i->scale, disp));
		else
			op_rm(e, OP_LEA, 8, RDX, mem(hb, disp));
		if (i->adsize != 8)
			zext(e, i->adsize, RDX);
		return;
	}
	if (i->base == REG_RIP) {
		op_rm(e, OP_MOV_LD, 8, RDX, mem(RSP, FRAME_RIP0));
		int64_t d = (int64_t)disp + c->off[k + 1];
		if (d != (int32_t)d)
			c->bad = true; /* not representable as one displacement */
		disp = (int32_t)d;
	} else if (i->base != REG_NONE) {
		load_greg64(c, i->base, RDX);
	} else {
		op_rr(e, OP_XOR_RM_R, 4, RDX, RDX);
	}
	if (i->index != REG_NONE) {
		load_greg64(c, i->index, RCX);
		op_rm(e, OP_LEA, 8, RDX, mem_idx(RDX, RCX, i->scale, disp));
	} else if (disp) {
		op_rm(e, OP_LEA, 8, RDX, mem(RDX, disp));
	}
	if (i->adsize != 8)
		zext(e, i->adsize, RDX);
}

/* The access at offset RDX in segment `seg` (64-bit code): a load into RAX
 * (zero-extended) or a store of R10, through the TLB when it hits (RAX the
 * entry, RDX the linear then the host address). The hit path uses RAX, RCX
 * and RDX only, so a pending lazy-flags record stays in
 * RSI, RDI and R8; the slow path stores it first (a fault reads the flags). */
static void
mem_access_kind(struct comp *c, unsigned k, unsigned seg, unsigned size, bool store, bool pair)
{
	struct emit *e = &c->e;
	if (!c->tlb_ok)
		load_tlb_set(c);
	if (seg == S_FS || seg == S_GS) /* RDX = the linear address */
		op_rm(e, OP_ADD_R_RM, 8, RDX, mem(RBP, off_seg_base(seg)));
	op_rr(e, OP_MOV_ST, 8, RDX, RAX);
	shift_ri(e, 5, 8, RAX, 12);
	grp1_ri(e, 4, 4, RAX, TLB_SIZE - 1);
	imul_rri(e, 4, RAX, RAX, (int32_t)sizeof(struct tlb_entry));
	op_rm(e, OP_ADD_R_RM, 8, RAX, mem(RSP, FRAME_TLB)); /* RAX = the entry */
	/* The tag must equal the page of the last byte: a page-crossing access misses. */
	if (size > 1)
		op_rm(e, OP_LEA, 8, RCX, mem(RDX, (int32_t)size - 1));
	else
		op_rr(e, OP_MOV_ST, 8, RDX, RCX);
	grp1_ri(e, 4, 8, RCX, -4096);
	int32_t kind = (store || pair ? TLB_WRITE : TLB_READ) * TLB_KIND_BYTES;
	op_rm(e, OP_CMP_R_RM, 8, RCX, mem(RAX, kind));
	uint8_t *at = jump_fwd(e, CC_NE);
	op_rm(e, OP_ADD_R_RM, 8, RDX, mem(RAX, kind + 8));
	if (pair)
		op_rm(e, OP_MOV_ST, 8, RDX, mem(RSP, FRAME_HOST));
	if (store)
		op_rm(e, OP_MOV_ST, size, R10, mem(RDX, 0));
	else
		load_zx(e, size, RAX, mem(RDX, 0));
	if (c->nslow == sizeof(c->slow) / sizeof(c->slow[0])) {
		c->bad = true;
		return;
	}
	c->slow[c->nslow++] = (struct slow){ at,    e->p, (uint8_t)k, (uint8_t)size, (uint8_t)seg,
					     store, pair, false,      c->dirty,      c->pend };
}

static void
mem_access(struct comp *c, unsigned k, unsigned seg, unsigned size, bool store)
{
	mem_access_kind(c, k, seg, size, store, false);
}

/* The access just emitted ends its instruction (a MOV store): its slow path
 * checks stop_trace and leaves after the instruction itself, so the fast
 * path needs no check (compile_insn's is skipped). */
static void
mark_last_access(struct comp *c)
{
	if (c->nslow && !c->bad) {
		c->slow[c->nslow - 1].last = true;
		c->stop_checked = true;
	}
}

/* A read-modify-write operand of `size` bytes at offset RDX in segment `seg`
 * (64-bit code): RDX = its host address through the TLB's write entry, which
 * exists only where the page may be read and written (rm_read_for_write's
 * read and write check cannot fault then). A miss runs the whole instruction
 * in its handler, out of line, and the trace ends there. */
static void
lookup_or_handler(struct comp *c, unsigned k, unsigned seg, unsigned size, unsigned tkind)
{
	struct emit *e = &c->e;
	if (!c->tlb_ok)
		load_tlb_set(c);
	if (seg == S_FS || seg == S_GS)
		op_rm(e, OP_ADD_R_RM, 8, RDX, mem(RBP, off_seg_base(seg)));
	op_rr(e, OP_MOV_ST, 8, RDX, RAX);
	shift_ri(e, 5, 8, RAX, 12);
	grp1_ri(e, 4, 4, RAX, TLB_SIZE - 1);
	imul_rri(e, 4, RAX, RAX, (int32_t)sizeof(struct tlb_entry));
	op_rm(e, OP_ADD_R_RM, 8, RAX, mem(RSP, FRAME_TLB));
	if (size > 1)
		op_rm(e, OP_LEA, 8, RCX, mem(RDX, (int32_t)size - 1));
	else
		op_rr(e, OP_MOV_ST, 8, RDX, RCX);
	grp1_ri(e, 4, 8, RCX, -4096);
	int32_t kind = (int32_t)tkind * TLB_KIND_BYTES;
	op_rm(e, OP_CMP_R_RM, 8, RCX, mem(RAX, kind));
	to_handler(c, k, CC_NE);
	op_rm(e, OP_ADD_R_RM, 8, RDX, mem(RAX, kind + 8));
}

static void
rmw_lookup(struct comp *c, unsigned k, unsigned seg, unsigned size)
{
	lookup_or_handler(c, k, seg, size, TLB_WRITE);
}

/* The end of a read-modify-write compiled after rmw_lookup: the handler that
 * ran instead (a write-entry miss: a page walk, MMIO, code) leaves the same
 * state but for the record the inline form keeps pending in RSI, RDI and R8
 * (it stored it in struct cpu, same operation and sources: flags.h lf_set),
 * so the trace goes on here after it (emit_hstub) instead of ending. */
static void
rmw_back(struct comp *c)
{
	if (c->bad || !c->nhstub)
		return;
	struct taken *h = &c->hstub[c->nhstub - 1];
	h->back = c->e.p;
	h->rmw = true;
	h->back_pend = c->pend;
	h->back_lf_op = c->lf_op;
	h->back_lf_size = c->lf_size;
	h->back_hflags = c->hflags;
}

static void
emit_slow(struct comp *c, const struct slow *s)
{
	struct emit *e = &c->e;
	patch(e, s->at, e->p);
	/* RDX = the offset again: it is the linear address, the offset plus the
	 * segment's base. */
	if (s->seg == S_FS || s->seg == S_GS)
		op_rm(e, OP_SUB_R_RM, 8, RDX, mem(RBP, off_seg_base(s->seg)));
	writeback(c, s->dirty); /* a fault must find every register in struct cpu */
	sync_state(c, s->k);
	if (s->pend.on) { /* stored for a fault, kept in its registers across the call */
		store_lf(c, &s->pend);
		push_r(e, RSI);
		push_r(e, RDI);
		push_r(e, R8);
		grp1_ri(e, 5, 8, RSP, 8); /* calls stay 16-byte aligned */
	}
	if (s->store)
		op_rr(e, OP_MOV_ST, 8, R10, RCX);
	op_rr(e, OP_MOV_ST, 8, RBP, RDI);
	mov_ri(e, RSI, s->seg);
	if (s->store) {
		mov_ri(e, R8, s->size);
		call_abs(e, (const void *)cpu_write);
	} else {
		mov_ri(e, RCX, s->size);
		call_abs(e, (const void *)cpu_read);
	}
	if (s->pend.on) {
		grp1_ri(e, 0, 8, RSP, 8);
		pop_r(e, R8);
		pop_r(e, RDI);
		pop_r(e, RSI);
	}
	reload_mask(c, volatile_cached(c)); /* RAX, the loaded value, is not among them */
	if (s->pair)
		mov_mi(e, 8, mem(RSP, FRAME_HOST), 0);
	if (s->last) { /* the instruction is done: leave after it if asked to */
		uint16_t dirty = c->dirty;
		struct pending_lf pend = c->pend;
		c->dirty = s->dirty;
		c->pend.on = false; /* stored above, as compile_insn's check assumes */
		check_stop(c, s->k, EXIT_INLINE);
		c->dirty = dirty;
		c->pend = pend;
	}
	uint8_t *j = jump_fwd(e, -1);
	patch(e, j, s->back);
}

/* ---- instructions ---- */

/* The ALU handlers the JIT copies inline: per operation its host group-1
 * extension (the host opcode of "op r/m, r" is ext * 8 + 1), its lazy
 * operation and whether it writes its destination (not CMP). */
struct alu_row {
	insn_fn rm_r, r_rm, acc_imm, rm_imm;
	uint8_t ext, lf;
	bool wb;
};

static const struct alu_row alu_rows[] = {
	{ op_add_rm_r, op_add_r_rm, op_add_acc_imm, op_add_rm_imm, 0, LF_ADD, true },
	{ op_or_rm_r, op_or_r_rm, op_or_acc_imm, op_or_rm_imm, 1, LF_LOGIC, true },
	{ op_and_rm_r, op_and_r_rm, op_and_acc_imm, op_and_rm_imm, 4, LF_LOGIC, true },
	{ op_sub_rm_r, op_sub_r_rm, op_sub_acc_imm, op_sub_rm_imm, 5, LF_SUB, true },
	{ op_xor_rm_r, op_xor_r_rm, op_xor_acc_imm, op_xor_rm_imm, 6, LF_LOGIC, true },
	{ op_cmp_rm_r, op_cmp_r_rm, op_cmp_acc_imm, op_cmp_rm_imm, 5, LF_SUB, false },
	{ op_test_rm_r, NULL, op_test_acc_imm, NULL, 4, LF_LOGIC, false },
};

/* An immediate usable as a host imm32 for an operation of `size` bytes. */
static bool
imm_ok(const struct insn *i, unsigned size)
{
	return size != 8 || (int64_t)i->imm == (int32_t)i->imm;
}

/* The memory forms are inline in 64-bit code (no segmentation but FS and GS
 * bases) and, in 32-bit code, for ES, SS and DS when the trace's entry found
 * them flat (flat_guard) and no handler ran since (only a handler loads a
 * segment register: MOV/POP Sreg, far transfers, task switches, interrupts
 * leave the trace). With a 16- or 32-bit address size the effective address
 * is the linear address then; one past 4 GiB misses the TLB (its last byte's
 * page is not a 32-bit tag) and the slow path wraps it (mem.c seg_linear). */
static bool
mem_ok(const struct comp *c, const struct insn *i)
{
	if (c->code_size == 8)
		return i->seg <= S_GS;
	return c->code_size == 4 && i->adsize != 8 && i->seg <= S_GS && !c->called &&
	       (c->flat_segs & (1u << i->seg));
}

/* The segment checks of mem.c seg_linear hold for every access when a data
 * segment is flat: base 0, limit 4 GiB (an access past it wraps, as the slow
 * path does), present, writable, expand-up data (SDM vol. 3A, 3.4.5.1, 5.3). */
#define FLAT_ATTR_MASK (SEG_ATTR_P | 0x10 | 0x8 | 0x4 | 0x2)
#define FLAT_ATTR (SEG_ATTR_P | 0x10 | 0x2)

static bool
seg_flat_now(const struct cpu *cpu, unsigned s)
{
	const struct segment *g = &cpu->state.seg[s];
	return g->base == 0 && g->limit == 0xffffffffu && (g->attr & FLAT_ATTR_MASK) == FLAT_ATTR;
}

/* 32-bit code: the segments among ES, SS and DS that the trace's memory
 * operands name and that are flat now (at compile time) are checked flat at
 * every entry; when one is not any more (a segment register loaded since),
 * the whole trace runs in the interpreter (cpu_run_trace_interp), as a run
 * of fewer than all its instructions does. A segment not flat at compile time
 * is not checked and its accesses call the handler. */
static void
flat_guard(struct comp *c)
{
	struct emit *e = &c->e;
	const struct trace *t = c->t;
	c->flat_segs = 0;
	c->cs_flat = false;
	if (c->code_size != 4)
		return;
	const struct segment *cs = &c->cpu->state.seg[S_CS];
	c->cs_flat = cs->base == 0 && cs->limit == 0xffffffffu;
	for (unsigned k = 0; k < t->n; k++) {
		const struct insn *i = &t->insn[k];
		if ((i->flags & I_MEM) && (i->seg == S_ES || i->seg == S_SS || i->seg == S_DS) &&
		    seg_flat_now(c->cpu, i->seg))
			c->flat_segs |= (uint8_t)(1u << i->seg);
	}
	if (!c->flat_segs && !c->cs_flat)
		return;
	uint8_t *fail[4 * 3];
	unsigned nfail = 0;
	for (unsigned s = 0; s < 6; s++) {
		if (!(c->flat_segs & (1u << s)) && !(s == S_CS && c->cs_flat))
			continue;
		int32_t seg = CPU_OFF(state.seg) + (int32_t)(s * sizeof(struct segment));
		grp1_mi(e, 7, 8, mem(RBP, seg + (int32_t)offsetof(struct segment, base)), 0);
		fail[nfail++] = jump_fwd(e, CC_NE);
		grp1_mi(e, 7, 4, mem(RBP, seg + (int32_t)offsetof(struct segment, limit)), -1);
		fail[nfail++] = jump_fwd(e, CC_NE);
		if (s == S_CS)
			continue;
		load_zx(e, 2, RAX, mem(RBP, seg + (int32_t)offsetof(struct segment, attr)));
		grp1_ri(e, 4, 4, RAX, FLAT_ATTR_MASK);
		grp1_ri(e, 7, 4, RAX, FLAT_ATTR);
		fail[nfail++] = jump_fwd(e, CC_NE);
	}
	uint8_t *ok = jump_fwd(e, -1);
	for (unsigned n = 0; n < nfail; n++)
		patch(e, fail[n], e->p);
	op_rr(e, OP_MOV_ST, 8, RBP, RDI);
	mov_ri(e, RSI, (uint64_t)(uintptr_t)t);
	mov_ri(e, RDX, t->n);
	call_abs(e, (const void *)cpu_run_trace_interp);
	to_epilogue(c, jump_fwd(e, -1));
	patch(e, ok, e->p);
}

/* Load the memory operand of instruction k into RAX. */
static void
load_operand(struct comp *c, const struct insn *i, unsigned k, unsigned size)
{
	emit_ea(c, i, k);
	mem_access(c, k, i->seg, size, false);
}

/* RAX = a (zero-extended), RCX = b or the immediate: record, operate, store. */
static void
alu_tail(struct comp *c, const struct insn *i, const struct alu_row *row, bool imm, unsigned dst)
{
	struct emit *e = &c->e;
	unsigned s = i->opsize;
	bool logic = row->lf == LF_LOGIC; /* no src1/src2 (store_lf) */
	if (!logic)
		rec_mov(c, 8, RAX, RSI);
	if (imm) {
		grp1_ri(e, row->ext, s, RAX, (int32_t)i->imm);
	} else {
		if (!logic)
			rec_mov(c, 8, RCX, RDI);
		op_rr(e, row->ext * 8u + 1, s, RCX, RAX);
	}
	set_lf(c, row->lf, s, F_ARITH, imm, (int32_t)i->imm);
	if (row->wb)
		store_greg(c, i, dst, s, RAX); /* MOVs: the host flags stay */
	c->hflags = true;
	c->lf_op = row->lf;
	c->lf_size = s;
	c->lf_cf_lazy = true;
}

/* alu_tail for 32- and 64-bit operands already in host registers: the
 * operation runs on the destination's host register itself (on R8, the
 * record's result, when nothing is written back), no copy through RAX. hs is
 * HNONE for the immediate. A 32-bit operation zero-extends its destination,
 * as reg_write does (SDM vol. 1, 3.4.1.1); src1 and src2 are recorded
 * zero-extended, as the interpreter records them. */
static bool
alu_cached(struct comp *c, const struct insn *i, const struct alu_row *row, unsigned dst,
	   unsigned src)
{
	struct emit *e = &c->e;
	unsigned s = i->opsize, hd = host_reg(c, dst, s), hs = HNONE;
	bool imm = src == REG_NONE;
	if (!imm)
		hs = host_reg(c, src, s);
	if (hd == HNONE || (!imm && hs == HNONE))
		return false;
	if (!row->wb && c->rec_dead) { /* CMP or TEST whose flags nothing reads */
		c->pend.on = false;
		c->lf_op = row->lf;
		c->lf_size = s;
		c->lf_cf_lazy = true;
		return true;
	}
	bool logic = row->lf == LF_LOGIC; /* no src1/src2 (store_lf) */
	if (!logic) {
		rec_mov(c, s, hd, RSI);
		if (!imm)
			rec_mov(c, s, hs, RDI);
	}
	unsigned t = row->wb ? hd : R8;
	if (!row->wb)
		op_rr(e, OP_MOV_ST, s, hd, R8);
	if (imm)
		grp1_ri(e, row->ext, s, t, (int32_t)i->imm);
	else
		op_rr(e, row->ext * 8u + 1, s, hs, t);
	if (row->wb)
		c->dirty |= (uint16_t)(1u << dst);
	set_lf_from(c, t, row->lf, s, F_ARITH, imm, (int32_t)i->imm);
	c->hflags = true;
	c->lf_op = row->lf;
	c->lf_size = s;
	c->lf_cf_lazy = true;
	return true;
}

/* ADD OR AND SUB XOR CMP TEST in register forms, and with a memory source. */
static bool
compile_alu(struct comp *c, const struct insn *i, unsigned k)
{
	unsigned s = i->opsize;
	bool m = i->flags & I_MEM;
	for (unsigned n = 0; n < sizeof(alu_rows) / sizeof(alu_rows[0]); n++) {
		const struct alu_row *row = &alu_rows[n];
		bool test_imm =
			i->fn == op_grp3 && (i->reg & 7) < 2 && row->lf == LF_LOGIC && !row->wb;
		if (!m &&
		    (i->fn == row->rm_r || (row->r_rm && i->fn == row->r_rm) ||
		     i->fn == row->acc_imm || (row->rm_imm && i->fn == row->rm_imm) || test_imm)) {
			bool imm = i->fn == row->acc_imm || i->fn == row->rm_imm || test_imm;
			unsigned dst = i->fn == row->r_rm      ? i->reg
				       : i->fn == row->acc_imm ? R_AX
							       : i->rm;
			unsigned src = imm ? REG_NONE : i->fn == row->r_rm ? i->rm : i->reg;
			if ((!imm || imm_ok(i, s)) && alu_cached(c, i, row, dst, src))
				return true;
		}
		bool rmw_imm = row->rm_imm && i->fn == row->rm_imm && imm_ok(i, s);
		if (m && row->wb && (i->fn == row->rm_r || rmw_imm)) {
			/* memory op= reg or imm, LOCK'd or not: one CPU runs at a
			 * time, so a locked RMW is the plain one (the decoder
			 * has made a LOCK where it is not allowed #UD) */
			if (!mem_ok(c, i))
				return false;
			struct emit *e = &c->e;
			emit_ea(c, i, k);
			rmw_lookup(c, k, i->seg, s);
			load_zx(e, s, RAX, mem(RDX, 0));
			if (row->lf != LF_LOGIC)
				rec_mov(c, 8, RAX, RSI);
			if (rmw_imm) {
				grp1_ri(e, row->ext, s, RAX, (int32_t)i->imm);
			} else {
				load_greg(c, i, i->reg, s, RCX);
				if (row->lf != LF_LOGIC)
					rec_mov(c, 8, RCX, RDI);
				op_rr(e, row->ext * 8u + 1, s, RCX, RAX);
			}
			set_lf(c, row->lf, s, F_ARITH, rmw_imm, (int32_t)i->imm);
			op_rm(e, OP_MOV_ST, s, RAX, mem(RDX, 0));
			c->hflags = true;
			c->lf_op = row->lf;
			c->lf_size = s;
			c->lf_cf_lazy = true;
			rmw_back(c);
			return true;
		}
		if (i->fn == row->rm_r) { /* r/m op= reg */
			if (m && (row->wb || !mem_ok(c, i)))
				return false;
			if (m)
				load_operand(c, i, k, s);
			else
				load_greg(c, i, i->rm, s, RAX);
			load_greg(c, i, i->reg, s, RCX);
			alu_tail(c, i, row, false, i->rm);
			return true;
		}
		if (row->r_rm && i->fn == row->r_rm) { /* reg op= r/m */
			if (m && !mem_ok(c, i))
				return false;
			if (m) {
				load_operand(c, i, k, s);
				op_rr(&c->e, OP_MOV_ST, 8, RAX, RCX);
			} else {
				load_greg(c, i, i->rm, s, RCX);
			}
			load_greg(c, i, i->reg, s, RAX);
			alu_tail(c, i, row, false, i->reg);
			return true;
		}
		if (i->fn == row->acc_imm) {
			if (!imm_ok(i, s))
				return false;
			load_greg(c, i, R_AX, s, RAX);
			alu_tail(c, i, row, true, R_AX);
			return true;
		}
		if ((row->rm_imm && i->fn == row->rm_imm) || test_imm) {
			if (!imm_ok(i, s) || (m && ((row->wb && !test_imm) || !mem_ok(c, i))))
				return false;
			if (m)
				load_operand(c, i, k, s);
			else
				load_greg(c, i, i->rm, s, RAX);
			alu_tail(c, i, row, true, i->rm);
			return true;
		}
	}
	return false;
}

/* INC/DEC of a register: every arithmetic flag but CF (lf_set_keep_cf). */
static bool
compile_inc_dec(struct comp *c, const struct insn *i, unsigned k)
{
	bool dec;
	unsigned r;
	if (i->fn == op_inc_r || i->fn == op_dec_r) {
		dec = i->fn == op_dec_r;
		r = i->opcode & 7;
	} else if ((i->fn == op_inc_rm || i->fn == op_dec_rm) && !(i->flags & I_MEM)) {
		dec = i->fn == op_dec_rm;
		r = i->rm;
	} else if ((i->fn == op_inc_rm || i->fn == op_dec_rm) &&
		   mem_ok(c, i)) { /* read-modify-write (rmw_lookup), LOCK'd or not */
		struct emit *e = &c->e;
		unsigned s = i->opsize;
		dec = i->fn == op_dec_rm;
		fold_cf(c);
		emit_ea(c, i, k);
		rmw_lookup(c, k, i->seg, s);
		load_zx(e, s, RAX, mem(RDX, 0));
		rec_mov(c, 8, RAX, RSI);
		grp1_ri(e, dec ? 5 : 0, s, RAX, 1);
		set_lf(c, dec ? LF_SUB : LF_ADD, s, F_ARITH & ~F_CF, true, 1);
		op_rm(e, OP_MOV_ST, s, RAX, mem(RDX, 0));
		c->hflags = true; /* all but CF, which cond_known keeps from them */
		c->lf_op = dec ? LF_SUB : LF_ADD;
		c->lf_size = s;
		c->lf_cf_lazy = false;
		rmw_back(c);
		return true;
	} else {
		return false;
	}
	struct emit *e = &c->e;
	unsigned s = i->opsize, h = host_reg(c, r, s);
	fold_cf(c);
	if (h != HNONE) { /* in its host register (as alu_cached) */
		rec_mov(c, s, h, RSI);
		grp1_ri(e, dec ? 5 : 0, s, h, 1);
		set_lf_from(c, h, dec ? LF_SUB : LF_ADD, s, F_ARITH & ~F_CF, true, 1);
		c->dirty |= (uint16_t)(1u << r);
	} else {
		load_greg(c, i, r, s, RAX);
		rec_mov(c, 8, RAX, RSI);
		grp1_ri(e, dec ? 5 : 0, s, RAX, 1);
		set_lf(c, dec ? LF_SUB : LF_ADD, s, F_ARITH & ~F_CF, true, 1);
		store_greg(c, i, r, s, RAX);
	}
	c->hflags = true;
	c->lf_op = dec ? LF_SUB : LF_ADD;
	c->lf_size = s;
	c->lf_cf_lazy = false;
	return true;
}

/* Is i a group-2 operation numbered in [lo, hi) (shift.c's SH_* order) on a
 * register, by an immediate or by 1, with a non-zero masked count? A zero
 * count changes no flag: the handler's path. */
static bool
group2_form(const struct insn *i, unsigned lo, unsigned hi, unsigned *op, unsigned *count)
{
	if (i->flags & I_MEM)
		return false;
	for (*op = lo; *op < hi; (*op)++) {
		bool by1 = i->fn == shift_handlers[SHIFT_BY_1][*op];
		if (!by1 && i->fn != shift_handlers[SHIFT_BY_IMM][*op])
			continue;
		*count = (by1 ? 1 : (unsigned)i->imm) & (i->opsize == 8 ? 0x3f : 0x1f);
		return *count != 0;
	}
	return false;
}

/* SHL/SAL/SHR/SAR of a register by an immediate or by 1. */
static bool
compile_shift(struct comp *c, const struct insn *i)
{
	static const uint8_t host_ext[4] = { 4, 5, 4, 7 },
			     lf[4] = { LF_SHL, LF_SHR, LF_SHL, LF_SAR };
	unsigned op, count, s = i->opsize;
	if (group2_form(i, 4, 8, &op, &count)) {
		struct emit *e = &c->e;
		unsigned h = host_reg(c, i->rm, s);
		if (h != HNONE) { /* in its host register (as alu_cached) */
			rec_mov(c, s, h, RSI);
			shift_ri(e, host_ext[op - 4], s, h, count);
			set_lf_from(c, h, lf[op - 4], s, F_ARITH, true, (int32_t)count);
			c->dirty |= (uint16_t)(1u << i->rm);
		} else {
			load_greg(c, i, i->rm, s, RAX);
			rec_mov(c, 8, RAX, RSI);
			shift_ri(e, host_ext[op - 4], s, RAX, count);
			set_lf(c, lf[op - 4], s, F_ARITH, true, (int32_t)count);
			store_greg(c, i, i->rm, s, RAX);
		}
		/* A Jcc on CF or OF after a shift asks the handler; ZF, SF and PF
		 * are the result's (lf_compute, SDM vol. 2B, SAL/SAR/SHL/SHR). */
		c->lf_op = -1;
		c->lf_size = s;
		c->zsp = true;
		return true;
	}
	return false;
}

/* SHL/SAL/SHR/SAR of a register by CL: a masked count of 0 changes no flag
 * (SDM vol. 2B, SAL/SAR/SHL/SHR): the handler's, out of line, and the trace
 * goes on after it. So that both paths meet in one state the inline form
 * stores its record at once (none pending after it) and leaves no host flags
 * for the next instruction (the count-0 path's are not the shift's). */
static bool
compile_shift_cl(struct comp *c, const struct insn *i, unsigned k)
{
	static const uint8_t host_ext[4] = { 4, 5, 4, 7 },
			     lf[4] = { LF_SHL, LF_SHR, LF_SHL, LF_SAR };
	unsigned op, s = i->opsize;
	if (i->flags & I_MEM)
		return false;
	for (op = 4; op < 8 && i->fn != shift_handlers[SHIFT_BY_CL][op]; op++)
		;
	if (op == 8)
		return false;
	struct emit *e = &c->e;
	unsigned h = host_reg(c, i->rm, s);
	if (high_byte(i, i->rm, s) && (c->cached & (1u << (i->rm - 4))))
		return false;
	load_greg(c, i, R_CX, 1, RCX);
	grp1_ri(e, 4, 4, RCX, s == 8 ? 0x3f : 0x1f);
	unsigned stub = c->nhstub;
	to_handler(c, k, CC_E);
	if (h != HNONE) {
		rec_mov(c, s, h, RSI);
		rec_mov(c, 8, RCX, RDI);
		shift_cl(e, host_ext[op - 4], s, h);
		set_lf_from(c, h, lf[op - 4], s, F_ARITH, false, 0);
		c->dirty |= (uint16_t)(1u << i->rm);
	} else {
		load_greg(c, i, i->rm, s, RAX);
		rec_mov(c, 8, RAX, RSI);
		rec_mov(c, 8, RCX, RDI);
		shift_cl(e, host_ext[op - 4], s, RAX);
		set_lf(c, lf[op - 4], s, F_ARITH, false, 0);
		store_greg(c, i, i->rm, s, RAX);
	}
	flush_lf(c);
	c->lf_op = -1;
	c->lf_size = s;
	if (stub < c->nhstub)
		c->hstub[stub].back = e->p;
	return true;
}

/* ADC and SBB in register and immediate forms: the guest CF into the host's,
 * the host's ADC/SBB, then its flags -- all six defined, the guest's (SDM vol.
 * 2A, ADC; vol. 2B, SBB) -- folded into RFLAGS with lf.mask 0 (as
 * materialize), so an ADC chain finds CF in RFLAGS. */
static bool
compile_adc_sbb(struct comp *c, const struct insn *i)
{
	bool sbb = i->fn == op_sbb_rm_r || i->fn == op_sbb_r_rm || i->fn == op_sbb_acc_imm ||
		   i->fn == op_sbb_rm_imm;
	bool adc = i->fn == op_adc_rm_r || i->fn == op_adc_r_rm || i->fn == op_adc_acc_imm ||
		   i->fn == op_adc_rm_imm;
	unsigned s = i->opsize;
	if ((!adc && !sbb) || (i->flags & I_MEM))
		return false;
	bool imm = i->fn == op_adc_acc_imm || i->fn == op_adc_rm_imm || i->fn == op_sbb_acc_imm ||
		   i->fn == op_sbb_rm_imm;
	if (imm && !imm_ok(i, s))
		return false;
	unsigned dst = i->fn == op_adc_r_rm || i->fn == op_sbb_r_rm         ? i->reg
		       : i->fn == op_adc_acc_imm || i->fn == op_sbb_acc_imm ? R_AX
									    : i->rm;
	unsigned src = i->fn == op_adc_r_rm || i->fn == op_sbb_r_rm ? i->rm : i->reg;
	struct emit *e = &c->e;
	/* EDX = the guest's CF */
	if (c->lf_op >= 0 && c->lf_cf_lazy) {
		recompute_flags(c);
		setcc(e, CC_B, RDX);
	} else {
		if (c->lf_op != LF_NONE_LAZY)
			fold_cf(c); /* after INC/DEC: already in RFLAGS; unknown: folded */
		op_rm(e, OP_MOV_LD, 4, RDX, mem(RBP, OFF_RFLAGS));
	}
	/* The record is dead from here: every flag is set below and lf.mask
	 * cleared, whatever record memory holds. */
	c->pend.on = false;
	load_greg(c, i, dst, s, RAX);
	if (!imm)
		load_greg(c, i, src, s, RCX);
	shift_ri(e, 5, 4, RDX, 1); /* CF = bit 0 */
	unsigned ext = sbb ? 3 : 2;
	if (imm)
		grp1_ri(e, ext, s, RAX, (int32_t)i->imm);
	else
		op_rr(e, ext * 8u + 1, s, RCX, RAX);
	setcc(e, CC_O, RCX);
	store_greg(c, i, dst, s, RAX); /* MOVs: the flags stay */
	e8(e, 0x9f);                   /* lahf */
	e8(e, 0x0f);                   /* movzx eax, ah */
	e8(e, 0xb6);
	e8(e, 0xc4);
	zext(e, 1, RCX);
	shift_ri(e, 4, 4, RCX, 11);
	op_rr(e, OP_OR_RM_R, 4, RCX, RAX);
	grp1_ri(e, 4, 4, RAX, (int32_t)F_ARITH);
	grp1_mi(e, 4, 8, mem(RBP, OFF_RFLAGS), ~(int32_t)F_ARITH);
	op_rm(e, OP_OR_RM_R, 8, RAX, mem(RBP, OFF_RFLAGS));
	mov_mi(e, 2, mem(RBP, OFF_LF_OP + 2), 0);
	c->lf_op = LF_NONE_LAZY;
	return true;
}

/* ROL/ROR of a register by an immediate or by 1: CF and OF set eagerly after
 * the lazy flags are folded (flags_set in shift.c), OF = MSB ^ CF for ROL and
 * the top two bits' XOR for ROR, for every count (as the interpreter). */
static bool
compile_rotate(struct comp *c, const struct insn *i)
{
	unsigned op, count, s = i->opsize, bits = 8 * s;
	if (group2_form(i, 0, 2, &op, &count)) {
		struct emit *e = &c->e;
		/* CF and OF leave the lazy record for RFLAGS (as lf_set_keep_cf does
		 * for CF); the other flags stay where they are. */
		if (c->pend.on)
			c->pend.mask &= (uint16_t) ~(F_CF | F_OF);
		else if (c->lf_op != LF_NONE_LAZY)
			grp1_mi(e, 4, 2, mem(RBP, OFF_LF_OP + 2),
				(int32_t)(uint16_t) ~(F_CF | F_OF));
		if (c->lf_op != LF_NONE_LAZY)
			c->lf_op = -1;
		load_greg(c, i, i->rm, s, RAX);
		shift_ri(e, op, s, RAX, count);
		store_greg(c, i, i->rm, s, RAX);
		op_rr(e, OP_MOV_ST, 8, RAX, RCX);
		shift_ri(e, 5, 8, RCX, bits - 1); /* RCX = MSB */
		if (op == 0) {                    /* ROL: CF = bit 0, OF = MSB ^ CF */
			op_rr(e, OP_MOV_ST, 4, RAX, RDX);
			grp1_ri(e, 4, 4, RDX, 1);
			op_rr(e, OP_XOR_RM_R, 4, RDX, RCX);
		} else { /* ROR: CF = MSB, OF = MSB ^ the bit below */
			op_rr(e, OP_MOV_ST, 8, RAX, RDX);
			shift_ri(e, 5, 8, RDX, bits - 2);
			grp1_ri(e, 4, 4, RDX, 1);
			op_rr(e, OP_XOR_RM_R, 4, RDX, RCX); /* RCX = MSB ^ bit = OF */
			op_rr(e, OP_XOR_RM_R, 4, RCX, RDX); /* RDX = bit ^ OF = MSB = CF */
		}
		/* RDX = CF, RCX = OF */
		shift_ri(e, 4, 4, RCX, 11);
		op_rr(e, OP_OR_RM_R, 4, RCX, RDX);
		grp1_mi(e, 4, 8, mem(RBP, OFF_RFLAGS), ~(int32_t)(F_CF | F_OF));
		op_rm(e, OP_OR_RM_R, 8, RDX, mem(RBP, OFF_RFLAGS));
		return true;
	}
	return false;
}

/* TZCNT/LZCNT (op_tzcnt, op_lzcnt) and BSF/BSR (op_bsf, op_bsr), 32/64-bit,
 * register or memory source, on the host's BSF/BSR (no BMI1/ABM needed).
 * TZCNT/LZCNT: the count, the width for a zero source; CF = source zero, ZF =
 * count zero, eagerly; the other four stay lazy (out of the record's mask, as
 * ROL's CF/OF). BSF/BSR: a zero source leaves the destination alone (no
 * zero-extension either) and sets ZF alone; else the index, and PF of it
 * alone (bit.c, flags_set over all six); the record is dead after them. */
static bool
compile_bitscan(struct comp *c, const struct insn *i, unsigned k)
{
	bool tz = i->fn == op_tzcnt, lz = i->fn == op_lzcnt, bsf = i->fn == op_bsf,
	     bsr = i->fn == op_bsr;
	unsigned s = i->opsize;
	if ((!tz && !lz && !bsf && !bsr) || (s != 4 && s != 8))
		return false;
	if ((i->flags & I_MEM) && !mem_ok(c, i))
		return false;
	struct emit *e = &c->e;
	if (i->flags & I_MEM) {
		load_operand(c, i, k, s);
		op_rr(e, OP_MOV_ST, 8, RAX, RCX);
	} else {
		load_greg(c, i, i->rm, s, RCX);
	}
	op_rr(e, tz || bsf ? 0x0fbc : 0x0fbd, s, RDX, RCX); /* ZF = source zero */
	if (tz || lz) {
		if (c->pend.on)
			c->pend.mask &= (uint16_t) ~(F_CF | F_ZF);
		else if (c->lf_op != LF_NONE_LAZY)
			grp1_mi(e, 4, 2, mem(RBP, OFF_LF_OP + 2),
				(int32_t)(uint16_t) ~(F_CF | F_ZF));
		if (c->lf_op != LF_NONE_LAZY)
			c->lf_op = -1;
		if (lz)
			grp1_ri(e, 6, 4, RDX, (int32_t)(8 * s - 1)); /* 63 - index */
		op_rr(e, OP_TEST, s, RCX, RCX);
		mov_ri(e, RAX, 8 * s);
		op_rr(e, 0x0f45, 4, RAX, RDX); /* cmovne eax, edx */
		setcc(e, CC_E, RDX);           /* CF */
		store_greg(c, i, i->reg, s, RAX);
		movzx_rr(e, 1, RDX, RDX);
		op_rr(e, OP_TEST, 4, RAX, RAX);
		setcc(e, CC_E, RCX); /* ZF */
		movzx_rr(e, 1, RCX, RCX);
		shift_ri(e, 4, 4, RCX, 6);
		op_rr(e, OP_OR_RM_R, 4, RCX, RDX);
		grp1_mi(e, 4, 8, mem(RBP, OFF_RFLAGS), ~(int32_t)(F_CF | F_ZF));
		op_rm(e, OP_OR_RM_R, 8, RDX, mem(RBP, OFF_RFLAGS));
		return true;
	}
	c->pend.on = false; /* every flag is set below and lf.mask cleared */
	uint8_t *zero = jump_fwd(e, CC_E);
	store_greg(c, i, i->reg, s, RDX);
	op_rr(e, OP_TEST, 4, RDX, RDX); /* the host's PF: the index's low byte */
	setcc(e, CC_P, RAX);
	movzx_rr(e, 1, RAX, RAX);
	shift_ri(e, 4, 4, RAX, 2);
	uint8_t *done = jump_fwd(e, -1);
	patch(e, zero, e->p);
	mov_ri(e, RAX, F_ZF);
	patch(e, done, e->p);
	grp1_mi(e, 4, 8, mem(RBP, OFF_RFLAGS), ~(int32_t)F_ARITH);
	op_rm(e, OP_OR_RM_R, 8, RAX, mem(RBP, OFF_RFLAGS));
	mov_mi(e, 2, mem(RBP, OFF_LF_OP + 2), 0);
	c->lf_op = LF_NONE_LAZY;
	return true;
}

/* CMPXCHG m, r (op_cmpxchg), 32/64-bit, LOCK'd or not, through the TLB's
 * write entry as the other read-modify-write forms (a miss: the handler, and
 * the trace goes on, rmw_back). The flags of CMP accumulator, destination
 * (SDM vol. 2A, CMPXCHG); equal: the source into the destination; else the
 * destination into the accumulator (zero-extended at 32 bits). The handler's
 * write of the unchanged destination when they differ stores the same bytes
 * to a page the write entry maps: not repeated here. */
static bool
compile_cmpxchg(struct comp *c, const struct insn *i, unsigned k)
{
	unsigned s = i->opsize;
	if (i->fn != op_cmpxchg || !(i->flags & I_MEM) || (s != 4 && s != 8) || !mem_ok(c, i))
		return false;
	struct emit *e = &c->e;
	emit_ea(c, i, k);
	rmw_lookup(c, k, i->seg, s);
	load_zx(e, s, RCX, mem(RDX, 0)); /* the destination */
	load_greg(c, i, R_AX, s, RAX);
	rec_mov(c, 8, RAX, RSI);
	rec_mov(c, 8, RCX, RDI);
	op_rr(e, OP_MOV_ST, 8, RAX, R8);
	op_rr(e, OP_SUB_RM_R, s, RCX, R8);
	set_lf_from(c, R8, LF_SUB, s, F_ARITH, false, 0);
	op_rr(e, OP_CMP_RM_R, s, RCX, RAX); /* the guest's flags in the host's */
	uint8_t *ne = jump_fwd(e, CC_NE);
	load_greg(c, i, i->reg, s, RAX); /* MOVs from here: the flags stay */
	op_rm(e, OP_MOV_ST, s, RAX, mem(RDX, 0));
	uint8_t *done = jump_fwd(e, -1);
	patch(e, ne, e->p);
	store_greg(c, i, R_AX, s, RCX);
	patch(e, done, e->p);
	c->hflags = true;
	c->lf_op = LF_SUB;
	c->lf_size = s;
	c->lf_cf_lazy = true;
	rmw_back(c);
	return true;
}

/* XADD m, r (op_xadd), 32/64-bit, LOCK'd or not, through the TLB's write
 * entry (a miss: the handler, and the trace goes on, rmw_back): the flags of
 * ADD destination, source (SDM vol. 2A, XADD); the sum into the destination,
 * the old destination into the register. */
static bool
compile_xadd(struct comp *c, const struct insn *i, unsigned k)
{
	unsigned s = i->opsize;
	if (i->fn != op_xadd || !(i->flags & I_MEM) || (s != 4 && s != 8) || !mem_ok(c, i))
		return false;
	struct emit *e = &c->e;
	emit_ea(c, i, k);
	rmw_lookup(c, k, i->seg, s);
	load_zx(e, s, RAX, mem(RDX, 0)); /* the destination */
	rec_mov(c, 8, RAX, RSI);
	load_greg(c, i, i->reg, s, RCX);
	rec_mov(c, 8, RCX, RDI);
	op_rr(e, OP_MOV_ST, 8, RAX, R10);
	op_rr(e, OP_ADD_RM_R, s, RCX, RAX);
	set_lf(c, LF_ADD, s, F_ARITH, false, 0);
	op_rm(e, OP_MOV_ST, s, RAX, mem(RDX, 0)); /* MOVs from here: the flags stay */
	store_greg(c, i, i->reg, s, R10);
	c->hflags = true;
	c->lf_op = LF_ADD;
	c->lf_size = s;
	c->lf_cf_lazy = true;
	rmw_back(c);
	return true;
}

/* IMUL r, r/m and IMUL r, r/m, imm (32 and 64 bits): LF_MUL as mul_flags records it. */
static bool
compile_imul(struct comp *c, const struct insn *i, unsigned k)
{
	bool three = i->fn == op_imul_r_rm_imm;
	unsigned s = i->opsize;
	if ((!three && i->fn != op_imul_r_rm) || s < 4 || (three && !imm_ok(i, s)))
		return false;
	if ((i->flags & I_MEM) && !mem_ok(c, i))
		return false;
	struct emit *e = &c->e;
	if (i->flags & I_MEM) {
		load_operand(c, i, k, s);
		op_rr(e, OP_MOV_ST, 8, RAX, RCX);
	} else {
		load_greg(c, i, i->rm, s, RCX);
	}
	if (three) {
		imul_rri(e, s, RAX, RCX, (int32_t)i->imm);
	} else {
		load_greg(c, i, i->reg, s, RAX);
		op_rr(e, OP_IMUL, s, RAX, RCX);
	}
	/* A whole new record, pending: src1 = OF, src2 = 0, res. */
	if (!c->rec_dead) {
		setcc(e, CC_O, RDX);
		movzx_rr(e, 1, RSI, RDX);
	}
	set_lf(c, LF_MUL, s, F_ARITH, true, 0);
	store_greg(c, i, i->reg, s, RAX);
	c->lf_op = -1;
	return true;
}

/* MUL, IMUL, DIV and IDIV of RDX:RAX / EDX:EAX by a 32- or 64-bit operand
 * (muldiv_acc): the host's own instruction. MUL and IMUL record LF_MUL as
 * mul_flags does (src1 = CF = OF: the upper half significant, SDM vol. 2A,
 * MUL/IMUL). DIV and IDIV change no flag (fugu leaves the six undefined ones
 * unchanged) and run only when the host's cannot fault: DIV when EDX/RDX is
 * below the divisor (so the divisor is not 0 and the quotient fits), IDIV
 * when the dividend is EAX/RAX sign-extended and the divisor neither 0 nor
 * -1 (|quotient| <= |EAX/RAX|); anything else -- #DE included (SDM vol. 2A,
 * DIV/IDIV) -- is the handler's, out of line. A divisor in memory is read
 * only through the TLB's read entry (RAM: the handler may read it again),
 * a miss is the handler's too. */
static bool
compile_muldiv(struct comp *c, const struct insn *i, unsigned k)
{
	unsigned op = i->reg & 7, s = i->opsize;
	bool m = (i->flags & I_MEM) != 0;
	if (i->fn != op_grp3 || op < 4 || (s != 4 && s != 8))
		return false;
	if (m && (!mem_ok(c, i) || (i->flags & I_LOCK)))
		return false;
	struct emit *e = &c->e;
	unsigned first_stub = c->nhstub;
	if (m && op >= 6) {
		emit_ea(c, i, k);
		lookup_or_handler(c, k, i->seg, s, TLB_READ);
		load_zx(e, s, RCX, mem(RDX, 0));
	} else if (m) {
		load_operand(c, i, k, s);
		op_rr(e, OP_MOV_ST, 8, RAX, RCX);
	} else {
		load_greg(c, i, i->rm, s, RCX);
	}
	if (op >= 6)
		flush_lf(c); /* the flags stay: the record leaves RSI, RDI and R8 */
	load_greg(c, i, R_AX, s, RAX);
	load_greg(c, i, R_DX, s, RDX);
	if (op == 6) {
		op_rr(e, OP_CMP_RM_R, s, RCX, RDX);
		to_handler(c, k, CC_AE);
	} else if (op == 7) {
		op_rr(e, OP_TEST, s, RCX, RCX);
		to_handler(c, k, CC_E);
		grp1_ri(e, 7, s, RCX, -1);
		to_handler(c, k, CC_E);
		op_rr(e, OP_MOV_ST, 8, RAX, R10);
		shift_ri(e, 7, s, R10, 8 * s - 1);
		op_rr(e, OP_CMP_RM_R, s, R10, RDX);
		to_handler(c, k, CC_NE);
	}
	grp3_r(e, op, s, RCX);
	if (op < 6) {
		if (!c->rec_dead) {
			setcc(e, CC_O, RCX);
			movzx_rr(e, 1, RSI, RCX);
		}
		set_lf(c, LF_MUL, s, F_ARITH, true, 0);
		c->lf_op = -1;
	}
	store_greg(c, i, R_AX, s, RAX);
	store_greg(c, i, R_DX, s, RDX);
	/* The handler's DIV/IDIV (a fault aside) leaves the state this code
	 * would: no flag changes, no record pending here (flushed above, or
	 * stored by the stub), the same CPL; so the trace goes on after it
	 * instead of ending there (emit_hstub). */
	for (unsigned n = first_stub; n < c->nhstub; n++)
		c->hstub[n].back = e->p;
	return true;
}

/* Does guest register r possibly change in instruction i (a register-only
 * form of those pair_store allows)? Conservatively any register it names. */
static bool
may_write(const struct insn *i, unsigned r)
{
	unsigned opreg = (i->opcode & 7) | (i->rm & 8);
	return i->reg == r || (!(i->flags & I_MEM) && i->rm == r) || r == R_AX || r == R_DX ||
	       (i->fn == op_mov_r_imm && opreg == r);
}

static bool flagless_reg_form(const struct comp *c, const struct insn *i);
static bool full_setter_reg_form(const struct insn *i);

/* A load at k (MOV r, m in 64-bit code) whose operand a later MOV m, r
 * stores to again -- the same memory operand, size and segment, base and
 * index unchanged -- with only register forms between (no exit, no handler,
 * no other memory access, no join: nothing can change the TLB or the page):
 * the load goes through the TLB's write entry and keeps its host address in
 * the frame for the store (paired). Not with byte operands (AH..BH). */
static bool
pair_store(struct comp *c, unsigned k)
{
	const struct insn *ld = &c->t->insn[k];
	if (!mem_ok(c, ld) || ld->opsize == 1 || ld->base == REG_RIP || ld->reg == ld->base ||
	    ld->reg == ld->index)
		return false;
	for (unsigned j = k + 1; j < c->t->n; j++) {
		const struct insn *i = &c->t->insn[j];
		if (c->join[j] || c->called)
			return false;
		if (i->fn == op_mov_rm_r && (i->flags & I_MEM)) {
			if (i->base != ld->base || i->index != ld->index || i->scale != ld->scale ||
			    i->disp != ld->disp || i->seg != ld->seg || i->adsize != ld->adsize ||
			    i->opsize != ld->opsize)
				return false;
			c->paired[j] = true;
			return true;
		}
		if (i->opsize == 1 || (i->flags & I_MEM) ||
		    (!flagless_reg_form(c, i) && !full_setter_reg_form(i)))
			return false;
		if ((ld->base < 16 && may_write(i, ld->base)) ||
		    (ld->index < 16 && may_write(i, ld->index)))
			return false;
	}
	return false;
}

/* MOV in its register, immediate and (64-bit code) memory forms; LEA. */
static bool
compile_mov(struct comp *c, const struct insn *i, unsigned k)
{
	struct emit *e = &c->e;
	unsigned s = i->opsize;
	bool m = i->flags & I_MEM;
	if (i->fn == op_mov_r_imm) {
		unsigned r = (i->opcode & 7) | (i->rm & 8), h = host_reg(c, r, s);
		uint64_t v = c->cpu->jit->break_mov ? i->imm ^ 1 : i->imm;
		if (h != HNONE && (s == 8 || v <= UINT32_MAX)) { /* straight into it */
			mov_ri(e, h, v);
			c->dirty |= (uint16_t)(1u << r);
			return true;
		}
		mov_ri(e, RAX, v);
		store_greg(c, i, r, s, RAX);
		return true;
	}
	if (!m && (i->fn == op_mov_rm_r || i->fn == op_mov_r_rm)) {
		unsigned dst = i->fn == op_mov_rm_r ? i->rm : i->reg;
		unsigned hd = host_reg(c, dst, s),
			 hs = host_reg(c, i->fn == op_mov_rm_r ? i->reg : i->rm, s);
		if (hd != HNONE && hs != HNONE) { /* a 32-bit MOV zero-extends, as the host's */
			op_rr(e, OP_MOV_ST, s, hs, hd);
			c->dirty |= (uint16_t)(1u << dst);
			return true;
		}
	}
	if (i->fn == op_lea && m) {
		emit_ea(c, i, k);
		store_greg(c, i, i->reg, s, RDX);
		return true;
	}
	if (i->fn != op_mov_rm_imm && i->fn != op_mov_rm_r && i->fn != op_mov_r_rm)
		return false;
	if (m && !mem_ok(c, i))
		return false;
	if (i->fn == op_mov_r_rm) {
		if (m && pair_store(c, k)) { /* through the TLB's write entry, kept */
			emit_ea(c, i, k);
			mem_access_kind(c, k, i->seg, s, false, true);
		} else if (m)
			load_operand(c, i, k, s);
		else
			load_greg(c, i, i->rm, s, RAX);
		store_greg(c, i, i->reg, s, RAX);
		return true;
	}
	unsigned v = m ? R10 : RAX; /* a store's value waits in R10 */
	if (i->fn == op_mov_rm_imm)
		mov_ri(e, v, i->imm);
	else
		load_greg(c, i, i->reg, s, v);
	if (!m) {
		store_greg(c, i, i->rm, s, RAX);
		return true;
	}
	if (c->paired[k]) { /* the load's host address, when it has one */
		op_rm(e, OP_MOV_LD, 8, RDX, mem(RSP, FRAME_HOST));
		op_rr(e, OP_TEST, 8, RDX, RDX);
		uint8_t *full = jump_fwd(e, CC_E);
		op_rm(e, OP_MOV_ST, s, R10, mem(RDX, 0));
		uint8_t *done = jump_fwd(e, -1);
		patch(e, full, e->p);
		emit_ea(c, i, k);
		mem_access(c, k, i->seg, s, true);
		mark_last_access(c);
		patch(e, done, e->p);
		return true;
	}
	emit_ea(c, i, k);
	mem_access(c, k, i->seg, s, true);
	mark_last_access(c);
	return true;
}

/* The size of the r/m operand: MOVZX/MOVSX read a byte or a word, SETcc
 * writes a byte. */
static unsigned
rm_size(const struct insn *i)
{
	if (i->fn == op_setcc)
		return 1;
	if (i->fn == op_movzx || i->fn == op_movsx)
		return (i->opcode & 1) ? 2 : 1;
	if (i->fn == op_movsxd && i->opsize == 8)
		return 4;
	return i->opsize;
}

/* MOVZX, MOVSX, MOVSXD from a register or (64-bit code) memory. */
static bool
compile_extend(struct comp *c, const struct insn *i, unsigned k)
{
	if (i->fn != op_movzx && i->fn != op_movsx && i->fn != op_movsxd)
		return false;
	if ((i->flags & I_MEM) && !mem_ok(c, i))
		return false;
	unsigned src = rm_size(i);
	if (i->flags & I_MEM)
		load_operand(c, i, k, src);
	else
		load_greg(c, i, i->rm, src, RAX); /* zero-extended */
	if (i->fn == op_movsx) {                  /* movsx rax, al / ax */
		prefixes(&c->e, 8, RAX, HNONE, RAX);
		e8(&c->e, 0x0f);
		e8(&c->e, src == 1 ? 0xbe : 0xbf);
		e8(&c->e, 0xc0);
	} else if (i->fn == op_movsxd && i->opsize == 8) { /* movsxd rax, eax */
		prefixes(&c->e, 8, RAX, HNONE, RAX);
		e8(&c->e, 0x63);
		e8(&c->e, 0xc0);
	}
	store_greg(c, i, i->reg, i->opsize, RAX);
	return true;
}

/* Can the host flags of the last inline operation decide condition cc? */
static bool
cond_known(const struct comp *c, unsigned cc)
{
	bool uses_cf = (cc >> 1) == 1 || (cc >> 1) == 3;
	bool zsp_only = (cc >> 1) == 2 || (cc >> 1) == 4 || (cc >> 1) == 5; /* E S P */
	if (c->lf_op < 0)
		return c->zsp && zsp_only;
	return c->lf_cf_lazy || !uses_cf;
}

/* The host flags for a condition cond_known accepted: the operation's own
 * (recompute_flags), or after a shift a TEST of its result. */
static void
cond_flags(struct comp *c)
{
	if (c->lf_op >= 0) {
		recompute_flags(c);
		return;
	}
	if (c->pend.on) {
		op_rr(&c->e, OP_TEST, c->lf_size, R8, R8);
		return;
	}
	load_zx(&c->e, c->lf_size, RAX, mem(RBP, OFF_LF_RES));
	op_rr(&c->e, OP_TEST, c->lf_size, RAX, RAX);
}

/* The arithmetic flags with the lazy ones folded in (flags_arith), for a
 * condition cond_runtime cannot read from RFLAGS alone. Changes nothing. */
static uint64_t
jit_flags_arith(struct cpu *cpu)
{
	return flags_arith(cpu);
}

/* The flags condition cc reads (cond_eval). */
static unsigned
cond_needs(unsigned cc)
{
	static const uint16_t need[8] = { F_OF, F_CF, F_ZF,        F_CF | F_ZF,
					  F_SF, F_PF, F_SF | F_OF, F_ZF | F_SF | F_OF };
	return need[cc >> 1];
}

/* Condition cc with flags the compiler does not know, decided at run time:
 * when none of the flags it reads is lazy (lf.mask), from RFLAGS itself, else
 * from jit_flags_arith. Leaves host ZF clear exactly when the condition holds
 * and returns the host condition to branch, CMOV or SET on (CC_NE or CC_E).
 * Clobbers RAX, RCX and RDX (and the C call's registers on the lazy path);
 * the pending record is stored first (the call reads it). */
static unsigned
cond_runtime(struct comp *c, unsigned cc)
{
	struct emit *e = &c->e;
	flush_lf(c);
	unsigned need = cond_needs(cc);
	op_rm(e, OP_MOV_LD, 4, RAX, mem(RBP, OFF_RFLAGS));
	load_zx(e, 2, RCX, mem(RBP, OFF_LF_OP + 2)); /* lf.mask */
	grp1_ri(e, 4, 4, RCX, (int32_t)need);
	uint8_t *eager = jump_fwd(e, CC_E);
	call_helper(c, (const void *)jit_flags_arith);
	patch(e, eager, e->p);
	switch (cc >> 1) {
	case 6: /* L: SF != OF */
	case 7: /* LE: ZF, or SF != OF */
		op_rr(e, OP_MOV_ST, 4, RAX, RCX);
		shift_ri(e, 5, 4, RCX, 4); /* OF (bit 11) onto SF (bit 7) */
		op_rr(e, OP_XOR_RM_R, 4, RAX, RCX);
		if ((cc >> 1) == 6) {
			grp1_ri(e, 4, 4, RCX, (int32_t)F_SF);
		} else {
			grp1_ri(e, 4, 4, RCX, (int32_t)F_SF);
			grp1_ri(e, 4, 4, RAX, (int32_t)F_ZF);
			op_rr(e, OP_OR_RM_R, 4, RCX, RAX);
		}
		break;
	default: grp1_ri(e, 4, 4, RAX, (int32_t)need); break;
	}
	return (cc & 1) ? CC_E : CC_NE;
}

/* CMOVcc (16/32/64-bit) and SETcc of a register, after an inline flag-setting
 * instruction: the host's own CMOVcc/SETcc on the recomputed flags. A 32-bit
 * CMOVcc zero-extends its destination either way, as the host's does. */
static bool
compile_cond_move(struct comp *c, const struct insn *i, unsigned k)
{
	unsigned cc = i->opcode & 15;
	struct emit *e = &c->e;
	if (i->fn == op_cmovcc && cond_known(c, cc)) {
		if ((i->flags & I_MEM) && !mem_ok(c, i))
			return false;
		if (i->flags & I_MEM) {
			load_operand(c, i, k, i->opsize);
			op_rr(e, OP_MOV_ST, 8, RAX, RCX);
		} else {
			load_greg(c, i, i->rm, i->opsize, RCX);
		}
		load_greg(c, i, i->reg, i->opsize, RDX);
		cond_flags(c);
		op_rr(e, 0x0f40 + cc, i->opsize, RDX, RCX);
		store_greg(c, i, i->reg, i->opsize, RDX);
		return true;
	}
	if (i->fn == op_setcc && !(i->flags & I_MEM) && cond_known(c, cc)) {
		cond_flags(c);
		setcc(e, cc, RCX);
		store_greg(c, i, i->rm, 1, RCX);
		return true;
	}
	/* Unknown flags: decided at run time first (cond_runtime clobbers RCX
	 * and RDX), then only MOVs before the host's CMOVcc/SETcc. */
	if (i->fn == op_cmovcc && !(i->flags & I_MEM)) {
		unsigned hcc = cond_runtime(c, cc);
		load_greg(c, i, i->rm, i->opsize, RCX);
		load_greg(c, i, i->reg, i->opsize, RDX);
		op_rr(e, 0x0f40 + hcc, i->opsize, RDX, RCX);
		store_greg(c, i, i->reg, i->opsize, RDX);
		return true;
	}
	if (i->fn == op_setcc && !(i->flags & I_MEM)) {
		unsigned hcc = cond_runtime(c, cc);
		setcc(e, hcc, RCX);
		store_greg(c, i, i->rm, 1, RCX);
		return true;
	}
	return false;
}

/* PUSH r / PUSH imm / POP r with a 64-bit operand in 64-bit code (cpu_push/cpu_pop). */
static bool
compile_stack(struct comp *c, const struct insn *i, unsigned k)
{
	struct emit *e = &c->e;
	if (c->code_size != 8 || i->opsize != 8)
		return false;
	unsigned r = (i->opcode & 7) | (i->rm & 8);
	if (i->fn == op_push_r || i->fn == op_push_imm) {
		if (i->fn == op_push_r)
			load_greg(c, i, r, 8, R10); /* PUSH RSP pushes the old value */
		else
			mov_ri(e, R10, i->imm);
		load_greg64(c, R_SP, RDX);
		op_rm(e, OP_LEA, 8, RDX, mem(RDX, -8));
		mem_access(c, k, S_SS, 8, true);
		add_greg(c, R_SP, -8);
		return true;
	}
	if (i->fn == op_pop_r) {
		load_greg64(c, R_SP, RDX);
		mem_access(c, k, S_SS, 8, false);
		add_greg(c, R_SP, 8);
		store_greg(c, i, r, 8, RAX);
		return true;
	}
	return false;
}

/* The later instruction of this trace a taken Jcc at k goes to, when the
 * branch can go straight there (a forward branch inside the trace, say over
 * one instruction), or 0: as a chain to the trace that starts there would
 * (the interpreter ends the run at the taken branch). The join (generate)
 * then assumes the registers the branch leaves dirty and the flags unknown.
 * Not with -stats, whose per-trace counts assume a run from the trace's
 * start, nor in check mode (each run compared alone); not after a handler
 * ran (the run loop's checks between traces, as chain_or_leave). */
/* The offset from the trace's entry RIP of the relative branch k's target.
 * A 32-bit operand's displacement is held zero-extended (the decoder's imm),
 * and the target wraps at 4 GiB (SDM vol. 2A, Jcc: the target is truncated
 * to the operand size): the offset modulo 2^32, signed. */
static int64_t
rel_off(const struct comp *c, unsigned k)
{
	const struct insn *i = &c->t->insn[k];
	int64_t o = (int64_t)c->off[k + 1] + (int64_t)i->imm;
	if (c->code_size == 4 && i->opsize == 4)
		return (int32_t)(uint32_t)o;
	return o;
}

static unsigned
join_at(struct comp *c, const struct insn *i, unsigned k)
{
	if (!(c->code_size == 8 || c->cs_flat) || i->opsize != c->code_size || c->called ||
	    c->cpu->count_insns || c->cpu->jit->check)
		return 0;
	int64_t toff = rel_off(c, k);
	for (unsigned j = k + 2; j < c->t->n; j++)
		if (c->off[j] == toff) {
			c->join[j] = true;
			c->join_dirty[j] |= c->dirty;
			c->join_no_tlb[j] |= !c->tlb_ok;
			return j;
		}
	return 0;
}

/* Jcc after an inline ADD/SUB/CMP/logic form: the host recomputes those flags
 * and branches on the same condition; taken, the handler itself branches. */
static bool
compile_jcc(struct comp *c, const struct insn *i, unsigned k)
{
	unsigned cc = i->opcode & 15;
	if (i->fn != jcc_handlers[cc] && i->fn != op_jmp_rel)
		return false;
	if (i->fn == op_jmp_rel) { /* the trace's last instruction */
		flush_lf(c);
		if (c->ntaken == TRACE_MAX_INSNS) {
			c->bad = true;
			return true;
		}
		c->taken[c->ntaken++] = (struct taken){ .at = jump_fwd(&c->e, -1),
							.k = (uint8_t)k,
							.dirty = c->dirty,
							.called = c->called,
							.pend = c->pend };
		return true;
	}
	unsigned hcc = cc;
	if (cond_known(c, cc)) {
		if (c->hflags_at != k || c->join[k])
			cond_flags(c);
		/* else the host flags of the operation itself, right before */
	} else /* unknown, or CF in RFLAGS after INC/DEC */
		hcc = cond_runtime(c, cc);
	if (c->ntaken == TRACE_MAX_INSNS) {
		c->bad = true;
		return true;
	}
	unsigned join = join_at(c, i, k);
	c->taken[c->ntaken++] = (struct taken){ .at = jump_fwd(&c->e, (int)hcc),
						.k = (uint8_t)k,
						.dirty = c->dirty,
						.called = c->called,
						.pend = c->pend,
						.join = (uint8_t)join };
	return true;
}

/* compile_jcc and compile_cond_move with the shift's ZF/SF/PF usable as
 * compile_insn found them. */
static bool
compile_jcc_zsp(struct comp *c, const struct insn *i, unsigned k, bool zsp)
{
	c->zsp = zsp;
	bool done = compile_jcc(c, i, k);
	c->zsp = false;
	return done;
}

static bool
compile_cond_move_zsp(struct comp *c, const struct insn *i, unsigned k, bool zsp)
{
	c->zsp = zsp;
	bool done = compile_cond_move(c, i, k);
	c->zsp = false;
	return done;
}

/* BSWAP of a 32- or 64-bit register: no flag; a 32-bit one zero-extends
 * (reg_write), as the host's does. */
static bool
compile_bswap(struct comp *c, const struct insn *i)
{
	unsigned s = i->opsize, r = (i->opcode & 7) | (i->rm & 8);
	if (i->fn != op_bswap || (s != 4 && s != 8))
		return false;
	struct emit *e = &c->e;
	unsigned h = host_reg(c, r, s);
	unsigned t = h != HNONE ? h : RAX;
	if (h == HNONE)
		load_greg(c, i, r, s, RAX);
	prefixes(e, s, HNONE, HNONE, t);
	e8(e, 0x0f);
	e8(e, 0xc8 + (t & 7));
	if (h == HNONE)
		store_greg(c, i, r, s, RAX);
	else
		c->dirty |= (uint16_t)(1u << r);
	return true;
}

/* NOT of a register: no flag (SDM vol. 2B, NOT). */
static bool
compile_not(struct comp *c, const struct insn *i)
{
	if (i->fn != op_grp3 || (i->reg & 7) != 2 || (i->flags & I_MEM))
		return false;
	struct emit *e = &c->e;
	unsigned s = i->opsize, h = host_reg(c, i->rm, s);
	if (h != HNONE) {
		grp3_r(e, 2, s, h);
		c->dirty |= (uint16_t)(1u << i->rm);
		return true;
	}
	load_greg(c, i, i->rm, s, RAX);
	grp3_r(e, 2, s, RAX);
	store_greg(c, i, i->rm, s, RAX);
	return true;
}

/* NEG of a register: the record of 0 - v, as op_grp3 makes it. */
static bool
compile_neg(struct comp *c, const struct insn *i)
{
	if (i->fn != op_grp3 || (i->reg & 7) != 3 || (i->flags & I_MEM))
		return false;
	struct emit *e = &c->e;
	unsigned s = i->opsize, h = host_reg(c, i->rm, s);
	if (!c->rec_dead)
		op_rr(e, OP_XOR_RM_R, 4, RSI, RSI);
	if (h != HNONE) {
		rec_mov(c, s, h, RDI);
		grp3_r(e, 3, s, h);
		set_lf_from(c, h, LF_SUB, s, F_ARITH, false, 0);
		c->dirty |= (uint16_t)(1u << i->rm);
	} else {
		load_greg(c, i, i->rm, s, RAX);
		rec_mov(c, 8, RAX, RDI);
		grp3_r(e, 3, s, RAX);
		set_lf(c, LF_SUB, s, F_ARITH, false, 0);
		store_greg(c, i, i->rm, s, RAX);
	}
	c->lf_op = LF_SUB;
	c->lf_size = s;
	c->lf_cf_lazy = true;
	return true;
}

/* Leave for a call of instruction k's handler, out of line, when `cc` holds
 * (the rare case of an inline form: a non-canonical target). */
static void
to_handler(struct comp *c, unsigned k, int cc)
{
	if (c->nhstub == sizeof(c->hstub) / sizeof(c->hstub[0])) {
		c->bad = true;
		return;
	}
	c->hstub[c->nhstub++] = (struct taken){ .at = jump_fwd(&c->e, cc),
						.k = (uint8_t)k,
						.dirty = c->dirty,
						.called = c->called,
						.pend = c->pend };
}

/* Is the 64-bit address in h canonical (48 bits)? Else the handler: it
 * decides (with 57-bit linear addresses too) and faults. */
static void
check_canonical(struct comp *c, unsigned k, unsigned h)
{
	struct emit *e = &c->e;
	op_rr(e, OP_MOV_ST, 8, h, RCX);
	shift_ri(e, 4, 8, RCX, 16);
	shift_ri(e, 7, 8, RCX, 16);
	op_rr(e, OP_CMP_RM_R, 8, h, RCX);
	to_handler(c, k, CC_NE);
}

/* CALL rel32 and RET with a 64-bit operand in 64-bit code (op_call_rel,
 * op_ret): the target checked canonical before anything is pushed or popped
 * (SDM vol. 2A, CALL, RET: #GP(0)), the return address through the inline
 * store, RSP moved after the access (a fault leaves it), RIP stored. The
 * trace ends here and chains wherever RIP went. */
static bool
compile_call_ret(struct comp *c, const struct insn *i, unsigned k)
{
	struct emit *e = &c->e;
	if (c->code_size != 8 || i->opsize != 8 || (i->fn != op_call_rel && i->fn != op_ret))
		return false;
	if (i->fn == op_call_rel) {
		int64_t toff = (int64_t)c->off[k + 1] + (int64_t)i->imm;
		int64_t in_page = (int64_t)(c->t->pa & 0xfff) + toff;
		if (toff != (int32_t)toff)
			return false;
		if (in_page < 0 || in_page > 0xfff) { /* on this canonical page: no check */
			op_rm(e, OP_MOV_LD, 8, RAX, mem(RSP, FRAME_RIP0));
			op_rm(e, OP_LEA, 8, RAX, mem(RAX, (int32_t)toff));
			check_canonical(c, k, RAX);
		}
		rip_to_rax(c, c->off[k + 1]);
		op_rr(e, OP_MOV_ST, 8, RAX, R10);
		load_greg64(c, R_SP, RDX);
		op_rm(e, OP_LEA, 8, RDX, mem(RDX, -8));
		mem_access(c, k, S_SS, 8, true);
		add_greg(c, R_SP, -8);
		op_rm(e, OP_MOV_LD, 8, RAX, mem(RSP, FRAME_RIP0));
		op_rm(e, OP_LEA, 8, RAX, mem(RAX, (int32_t)toff));
	} else {
		load_greg64(c, R_SP, RDX);
		mem_access(c, k, S_SS, 8, false);
		check_canonical(c, k, RAX);
		add_greg(c, R_SP, 8);
	}
	op_rm(e, OP_MOV_ST, 8, RAX, mem(RBP, OFF_RIP));
	c->rip_stored = true;
	return true;
}

/* JMP r/m64 and CALL r/m64 in 64-bit code (op_jmp_rm, op_call_rm): the
 * target read (register or memory) and checked canonical before anything is
 * pushed (SDM vol. 2A, CALL, JMP: #GP(0)), the return address through the
 * inline store, RSP moved after it, RIP stored; the trace ends and chains
 * wherever RIP went (chain_dynamic). */
static bool
compile_jmp_call_rm(struct comp *c, const struct insn *i, unsigned k)
{
	struct emit *e = &c->e;
	bool call = i->fn == op_call_rm;
	if (c->code_size != 8 || i->opsize != 8 || (!call && i->fn != op_jmp_rm))
		return false;
	if ((i->flags & I_MEM) && !mem_ok(c, i))
		return false;
	if (i->flags & I_MEM)
		load_operand(c, i, k, 8);
	else
		load_greg(c, i, i->rm, 8, RAX);
	check_canonical(c, k, RAX);
	if (call) {
		op_rm(e, OP_MOV_ST, 8, RAX, mem(RSP, FRAME_TARGET));
		rip_to_rax(c, c->off[k + 1]);
		op_rr(e, OP_MOV_ST, 8, RAX, R10);
		load_greg64(c, R_SP, RDX);
		op_rm(e, OP_LEA, 8, RDX, mem(RDX, -8));
		mem_access(c, k, S_SS, 8, true);
		add_greg(c, R_SP, -8);
		op_rm(e, OP_MOV_LD, 8, RAX, mem(RSP, FRAME_TARGET));
	}
	op_rm(e, OP_MOV_ST, 8, RAX, mem(RBP, OFF_RIP));
	c->rip_stored = true;
	return true;
}

/* CBW/CWDE/CDQE and CWD/CDQ/CQO with 32- and 64-bit operands (op_cbw,
 * op_cwd): no flag. */
static bool
compile_cbw_cwd(struct comp *c, const struct insn *i)
{
	struct emit *e = &c->e;
	unsigned s = i->opsize;
	if ((i->fn != op_cbw && i->fn != op_cwd) || (s != 4 && s != 8))
		return false;
	load_greg(c, i, R_AX, 8, RAX);
	if (i->fn == op_cwd) { /* RDX/EDX = the sign of RAX/EAX, everywhere */
		op_rr(e, OP_MOV_ST, s, RAX, RCX);
		shift_ri(e, 7, s, RCX, 8 * s - 1);
		store_greg(c, i, R_DX, s, RCX);
		return true;
	}
	if (s == 4) { /* movsx eax, ax */
		e8(e, 0x0f);
		e8(e, 0xbf);
		e8(e, 0xc0);
	} else { /* movsxd rax, eax */
		prefixes(e, 8, RAX, HNONE, RAX);
		e8(e, 0x63);
		e8(e, 0xc0);
	}
	store_greg(c, i, R_AX, s, RAX);
	return true;
}

/* LEAVE with a 64-bit operand in 64-bit code (op_leave): RBP from [RBP], RSP
 * = the old RBP + 8; nothing changes when the load faults. */
static bool
compile_leave(struct comp *c, const struct insn *i, unsigned k)
{
	struct emit *e = &c->e;
	if (i->fn != op_leave || c->code_size != 8 || i->opsize != 8)
		return false;
	load_greg64(c, R_BP, RDX);
	mem_access(c, k, S_SS, 8, false);
	load_greg64(c, R_BP, RCX);
	op_rm(e, OP_LEA, 8, RCX, mem(RCX, 8));
	store_greg(c, i, R_SP, 8, RCX);
	store_greg(c, i, R_BP, 8, RAX);
	return true;
}

/* The out-of-line handler call to_handler asked for: the instruction runs
 * (and faults) in the interpreter's handler, then the trace ends. */
static void
emit_hstub(struct comp *c, const struct taken *h)
{
	struct emit *e = &c->e;
	const struct insn *i = &c->t->insn[h->k];
	patch(e, h->at, e->p);
	if (h->pend.on)
		store_lf(c, &h->pend);
	writeback(c, h->dirty);
	sync_state(c, h->k);
	op_rr(e, OP_MOV_ST, 8, RBP, RDI);
	mov_ri(e, RSI, (uint64_t)(uintptr_t)i);
	call_abs(e, (const void *)i->fn);
	uint16_t dirty = c->dirty;
	c->dirty = 0; /* written back above */
	struct pending_lf pend = c->pend;
	c->pend.on = false;
	if (h->back) { /* on in the trace, every cached register reloaded */
		check_stop(c, h->k, EXIT_HANDLER);
		reload(c);
		if (h->rmw && h->back_pend.on) { /* the record's registers, as inline */
			if (h->back_pend.op != LF_LOGIC) {
				op_rm(e, OP_MOV_LD, 8, RSI, mem(RBP, OFF_LF_SRC1));
				if (!h->back_pend.imm)
					op_rm(e, OP_MOV_LD, 8, RDI, mem(RBP, OFF_LF_SRC2));
			}
			op_rm(e, OP_MOV_LD, 8, R8, mem(RBP, OFF_LF_RES));
		}
		if (h->rmw && h->back_hflags) { /* check_stop's CMP took the host flags */
			struct pending_lf p = c->pend;
			int op = c->lf_op;
			unsigned size = c->lf_size;
			c->pend = h->back_pend;
			c->lf_op = h->back_lf_op;
			c->lf_size = h->back_lf_size;
			recompute_flags(c);
			c->pend = p;
			c->lf_op = op;
			c->lf_size = size;
		}
		patch(e, jump_fwd(e, -1), h->back);
	} else {
		add_fix(c, jump_fwd(e, -1), h->k, EXIT_HANDLER);
	}
	c->dirty = dirty;
	c->pend = pend;
}

/* Instructions compiled inline, with no exit, that neither read nor write a
 * flag (MOV, LEA, MOVZX/MOVSX/MOVSXD and NOT of registers, NOP). */
static bool
flagless_reg_form(const struct comp *c, const struct insn *i)
{
	if (i->flags & I_MEM)
		return i->fn == op_lea && i->base != REG_RIP;
	if (i->fn == op_mov_rm_r || i->fn == op_mov_r_rm || i->fn == op_movzx ||
	    i->fn == op_movsx || i->fn == op_movsxd || i->fn == op_nop)
		return true;
	if ((i->fn == op_cbw || i->fn == op_cwd || i->fn == op_bswap) &&
	    (i->opsize == 4 || i->opsize == 8))
		return true;
	if (i->fn == op_mov_r_imm)
		return !c->cpu->jit->break_mov;
	return i->fn == op_grp3 && (i->reg & 7) == 2; /* NOT */
}

/* Register forms compiled inline, with no exit, that set all six arithmetic
 * flags as a whole new record without reading any: ADD OR AND SUB XOR CMP
 * TEST, SHL/SHR/SAR by a non-zero immediate, IMUL (two and three operands,
 * 32/64-bit) and NEG. */
static bool
full_setter_reg_form(const struct insn *i)
{
	unsigned s = i->opsize, op, count;
	if (i->flags & I_MEM)
		return false;
	for (unsigned n = 0; n < sizeof(alu_rows) / sizeof(alu_rows[0]); n++) {
		const struct alu_row *row = &alu_rows[n];
		if (i->fn == row->rm_r || (row->r_rm && i->fn == row->r_rm))
			return true;
		if (i->fn == row->acc_imm || (row->rm_imm && i->fn == row->rm_imm))
			return imm_ok(i, s);
	}
	if (i->fn == op_grp3 && (i->reg & 7) < 2)
		return imm_ok(i, s); /* TEST r, imm */
	if (i->fn == op_grp3 && (i->reg & 7) == 3)
		return true; /* NEG */
	if (group2_form(i, 4, 8, &op, &count))
		return true;
	if ((i->fn == op_imul_r_rm || i->fn == op_imul_r_rm_imm) && s >= 4)
		return i->fn == op_imul_r_rm || imm_ok(i, s);
	return false;
}

/* Is the lazy-flags record instruction k makes dead: overwritten by a later
 * instruction of the trace before anything can read it? Only flagless
 * register forms run between (no exit, no handler call, no memory access
 * that could fault and show the flags), no branch joins there (a join
 * stores the pending record), and the next one sets every flag anew. Then
 * the record need not be computed, kept or stored at all. */
static bool
record_dead_from(const struct comp *c, unsigned from)
{
	for (unsigned j = from; j < c->t->n; j++) {
		const struct insn *i = &c->t->insn[j];
		if (c->join[j])
			return false;
		if (full_setter_reg_form(i))
			return true;
		if (!flagless_reg_form(c, i))
			return false;
	}
	return false;
}

static bool
record_dead(const struct comp *c, unsigned k)
{
	return record_dead_from(c, k + 1);
}

/* ---- SSE/SSE2 (cpu/jit/sse.c, a part of this file) ---- */
#include "cpu/jit/sse.c"

/* One instruction inline, or false for a handler call. */
static bool
compile_insn(struct comp *c, unsigned k)
{
	const struct insn *i = &c->t->insn[k];
	c->rip_stored = false;
	c->stop_checked = false;
	c->rec_dead = record_dead(c, k);
	c->hflags = false;
	if (i->fn == op_nop)
		return true;
	unsigned before = c->nslow;
	bool zsp = c->zsp;
	c->zsp = false;
	/* Forms that write no flag keep a shift's ZF/SF/PF usable. */
	bool keep = compile_mov(c, i, k) || compile_extend(c, i, k) || compile_stack(c, i, k) ||
		    compile_jcc_zsp(c, i, k, zsp) || compile_cond_move_zsp(c, i, k, zsp) ||
		    compile_not(c, i) || compile_bswap(c, i) || compile_cbw_cwd(c, i) ||
		    compile_leave(c, i, k) || compile_jmp_call_rm(c, i, k);
	if (keep)
		c->zsp = zsp;
	bool done = keep || compile_alu(c, i, k) || compile_inc_dec(c, i, k) ||
		    compile_shift(c, i) || compile_rotate(c, i) || compile_imul(c, i, k) ||
		    compile_neg(c, i) || compile_call_ret(c, i, k) || compile_shift_cl(c, i, k) ||
		    compile_adc_sbb(c, i) || compile_muldiv(c, i, k) || compile_bitscan(c, i, k) ||
		    compile_cmpxchg(c, i, k) || compile_xadd(c, i, k);
	done = done || compile_sse(c, i, k); /* cpu/jit/sse.c */
	c->rec_dead = false;
	/* Host flags usable by the next instruction: not after a check_stop's CMP. */
	c->hflags_at = done && c->hflags && c->nslow == before ? k + 1 : UINT_MAX;
	if (done && c->nslow != before && !c->stop_checked) {
		/* A slow path may have run and set stop_trace without faulting
		 * (MMIO, a walk setting an A bit in a page of code: jitcases.c);
		 * a fault never comes back here. The exit stores the record
		 * pending after the instruction -- its own, or the one before it,
		 * which the slow path stored and kept in RSI, RDI, R8 across its
		 * call (emit_slow): storing that again changes nothing. */
		check_stop(c, k, c->rip_stored ? EXIT_HANDLER : EXIT_INLINE);
	}
	return done;
}

/* ---- a trace ---- */

static void chain_checks(struct comp *c);
static void chain_to_pa(struct comp *c, bool called);

/* Chaining with -stats: leave the trace that ran, enter the next (run.c). */
static void
jit_chain_count(struct cpu *cpu)
{
	tcache_leave(cpu);
	tcache_enter(cpu, cpu->chain_prev);
}

static void
to_epilogue(struct comp *c, uint8_t *at)
{
	if (c->nepi == sizeof(c->to_epilogue) / sizeof(c->to_epilogue[0])) {
		c->bad = true;
		return;
	}
	c->to_epilogue[c->nepi++] = at;
}

/* Leave for the next trace, at `target_off` bytes from the entry RIP, with RIP
 * and icount exact in struct cpu and nothing dirty. When the run loop would
 * do nothing between the two traces -- no event waiting, no debug condition,
 * no interrupt shadow, the whole successor within the budget, no per-trace
 * counting -- and the successor is compiled, jump straight into its code
 * (chaining, docs/ARCHITECTURE.md). The successor is found through this
 * trace's successor links, validated by physical address as tcache_get does:
 * the target is on this trace's page, so its physical address is known now.
 * Only a handler can set a debug condition, an interrupt shadow or HLT, so
 * those are tested only when one ran (`called`); the run loop found them
 * clear before the first trace, and every chain since checked or kept them. */
static void
chain_or_leave(struct comp *c, int64_t target_off, bool called)
{
	struct emit *e = &c->e;
	const struct trace *t = c->t;
	int64_t in_page = (int64_t)(t->pa & 0xfff) + target_off;
	if (in_page < 0 || in_page > 0xfff) {
		to_epilogue(c, jump_fwd(e, -1));
		return;
	}
	grp1_mi(e, 7, 4, mem(RBP, OFF_EVENTS), 0);
	to_epilogue(c, jump_fwd(e, CC_NE));
	if (called)
		chain_checks(c);
	mov_ri(e, RAX, (t->pa & ~0xfffull) + (uint64_t)in_page);
	chain_to_pa(c, called);
}

/* The last instruction retired and RIP is wherever it went (CALL, RET, an
 * indirect jump, the fall-through): in 64-bit code, find the physical address
 * of RIP through the TLB's execute entry as cpu_translate_fetch does (a miss
 * leaves for the run loop, which walks) and chain there like chain_or_leave,
 * every check included. */
static void
chain_dynamic(struct comp *c)
{
	struct emit *e = &c->e;
	grp1_mi(e, 7, 4, mem(RBP, OFF_EVENTS), 0);
	to_epilogue(c, jump_fwd(e, CC_NE));
	/* Only a handler can set a debug condition, an interrupt shadow or HLT,
	 * or change the code size (as chain_or_leave): when none ran in the
	 * trace, the trace's own code size (8) and the checks made before it
	 * hold. */
	if (c->called) {
		chain_checks(c);
		grp1_mi(e, 7, 1, mem(RBP, CPU_OFF(code_size)), 8); /* CS base 0: linear = RIP */
		to_epilogue(c, jump_fwd(e, CC_NE));
	}
	op_rm(e, OP_MOV_LD, 8, RAX, mem(RBP, OFF_RIP));
	op_rr(e, OP_XOR_RM_R, 4, RCX, RCX);
	grp1_mi(e, 7, 1, mem(RBP, OFF_CPL), 3);
	setcc(e, CC_E, RCX);
	imul_rri(e, 4, RCX, RCX, TLB_SET_BYTES);
	op_rm(e, OP_LEA, 8, RDI, mem_idx(RBP, RCX, 0, OFF_TLB));
	op_rr(e, OP_MOV_ST, 8, RAX, RSI);
	shift_ri(e, 5, 8, RSI, 12);
	grp1_ri(e, 4, 4, RSI, TLB_SIZE - 1);
	op_rm(e, OP_LEA, 8, RSI, mem_idx(RSI, RSI, 1, 0));
	op_rr(e, OP_MOV_ST, 8, RAX, RCX);
	grp1_ri(e, 4, 8, RCX, -4096);
	int32_t exec = TLB_EXEC * TLB_KIND_BYTES;
	op_rm(e, OP_CMP_R_RM, 8, RCX, mem_idx(RDI, RSI, 3, exec));
	to_epilogue(c, jump_fwd(e, CC_NE));
	grp1_ri(e, 4, 4, RAX, 0xfff);
	op_rm(e, OP_OR_RM_R + 2, 8, RAX, mem_idx(RDI, RSI, 3, exec + 16)); /* pa_page */
	chain_to_pa(c, c->called);
}

/* Chain to the successor at physical address RAX: the successor link for it
 * (a trace that cannot be entered this way -- invalidated, on two pages --
 * has no jit_chain), the budget for all of it, then the run loop's work. */
static void
chain_to_pa(struct comp *c, bool called)
{
	struct emit *e = &c->e;
	const struct trace *t = c->t;
	mov_ri(e, RDI, (uint64_t)(uintptr_t)t);
	op_rm(e, OP_CMP_R_RM, 8, RAX, mem(RDI, TRACE_OFF(succ_pa[0])));
	uint8_t *try1 = jump_fwd(e, CC_NE);
	op_rm(e, OP_MOV_LD, 8, RSI, mem(RDI, TRACE_OFF(succ[0])));
	uint8_t *found = jump_fwd(e, -1);
	patch(e, try1, e->p);
	op_rm(e, OP_CMP_R_RM, 8, RAX, mem(RDI, TRACE_OFF(succ_pa[1])));
	uint8_t *miss = jump_fwd(e, CC_NE);
	op_rm(e, OP_MOV_LD, 8, RSI, mem(RDI, TRACE_OFF(succ[1])));
	uint8_t *found2 = jump_fwd(e, -1);
	/* Neither link: the JIT's own table (struct jit_find), by pa. */
	patch(e, miss, e->p);
	op_rr(e, OP_MOV_ST, 8, RAX, RCX);
	shift_ri(e, 5, 8, RCX, 10);
	op_rr(e, OP_XOR_RM_R, 8, RAX, RCX);
	grp1_ri(e, 4, 4, RCX, (int32_t)(FIND_ENTRIES - 1));
	shift_ri(e, 4, 4, RCX, 4); /* 16-byte entries */
	mov_ri(e, RDX, (uint64_t)(uintptr_t)c->cpu->jit->find);
	op_rm(e, OP_CMP_R_RM, 8, RAX, mem_idx(RDX, RCX, 0, 0));
	to_epilogue(c, jump_fwd(e, CC_NE));
	op_rm(e, OP_MOV_LD, 8, RSI, mem_idx(RDX, RCX, 0, 8));
	patch(e, found, e->p);
	patch(e, found2, e->p);
	op_rm(e, OP_MOV_LD, 8, RCX, mem(RSI, TRACE_OFF(jit_chain)));
	op_rr(e, OP_TEST, 8, RCX, RCX);
	to_epilogue(c, jump_fwd(e, CC_E));
	grp1_mi(e, 7, 1, mem(RSI, TRACE_OFF(code_size)), (int32_t)t->code_size);
	to_epilogue(c, jump_fwd(e, CC_NE));
	load_zx(e, 1, RAX, mem(RSI, TRACE_OFF(n)));
	op_rm(e, OP_ADD_R_RM, 8, RAX, mem(RBP, OFF_ICOUNT));
	op_rm(e, OP_CMP_R_RM, 8, RAX, mem(RBP, OFF_BUDGET_END));
	to_epilogue(c, jump_fwd(e, CC_A));
	/* What the run loop does between traces, then into the successor. */
	op_rm(e, OP_MOV_ST, 8, RSI, mem(RBP, OFF_CHAIN_PREV));
	if (c->cpu->count_insns) { /* -stats: the per-trace counts as the run loop keeps them */
		op_rr(e, OP_MOV_ST, 8, RBP, RDI);
		call_abs(e, (const void *)jit_chain_count);
		op_rm(e, OP_MOV_LD, 8, RSI, mem(RBP, OFF_CHAIN_PREV));
		op_rm(e, OP_MOV_LD, 8, RCX, mem(RSI, TRACE_OFF(jit_chain)));
	}
	if (called) { /* a handler may have changed the CPL: the successor's TLB set */
		bool ok = c->tlb_ok;
		mov_mi(e, 1, mem(RBP, OFF_DELIVERING), 0);
		load_tlb_set(c);
		c->tlb_ok = ok;
	}
	e8(e, 0xff); /* jmp rcx */
	e8(e, 0xe1);
}

/* cpu_debug_armed, the interrupt shadow and HLT, all clear, or leave. */
static void
chain_checks(struct comp *c)
{
	struct emit *e = &c->e;
	op_rm(e, OP_MOV_LD, 4, RAX, mem(RBP, OFF_RFLAGS));
	grp1_ri(e, 4, 4, RAX, (int32_t)(F_TF | F_RF));
	to_epilogue(c, jump_fwd(e, CC_NE));
	test_mi8(e, mem(RBP, CPU_OFF(state.dr[7])), 0xff);
	to_epilogue(c, jump_fwd(e, CC_NE));
	grp1_mi(e, 7, 4, mem(RBP, CPU_OFF(dbg_deferred)), 0);
	to_epilogue(c, jump_fwd(e, CC_NE));
	grp1_mi(e, 7, 1, mem(RBP, CPU_OFF(debugger_armed)), 0);
	to_epilogue(c, jump_fwd(e, CC_NE));
	grp1_mi(e, 7, 1, mem(RBP, CPU_OFF(state.intr_shadow)), 0);
	to_epilogue(c, jump_fwd(e, CC_NE));
	grp1_mi(e, 7, 1, mem(RBP, CPU_OFF(state.halted)), 0);
	to_epilogue(c, jump_fwd(e, CC_NE));
}

/* Does the trace branch back to its own start (a loop in one trace) where
 * self_loop can take the branch? Not in check mode (every run is compared
 * alone), with -stats (the run loop counts each run) or for a trace on two
 * pages (never chained). */
static bool
has_self_loop(const struct comp *c)
{
	const struct trace *t = c->t;
	if (!(c->code_size == 8 || c->cs_flat) || t->pa2 != UINT64_MAX || c->cpu->jit->check ||
	    c->cpu->count_insns)
		return false;
	for (unsigned k = 0; k < t->n; k++) {
		const struct insn *i = &t->insn[k];
		bool jcc = i->fn == jcc_handlers[i->opcode & 15] || i->fn == op_jmp_rel;
		if (jcc && i->opsize == c->code_size && rel_off(c, k) == 0)
			return true;
	}
	return false;
}

/* The taken branch after instruction k goes back to the trace's start: when
 * the run loop would do nothing before running the trace again (as a chain to
 * itself: no event, the whole trace within the budget, the trace still
 * valid; no handler ran before the branch, so no debug condition, interrupt
 * shadow or HLT), jump to the loop head with the guest registers still in
 * their host registers, the frame's entry icount moved on and RIP unchanged.
 * The loop head assumes every cached register dirty. Otherwise fall through
 * to the ordinary taken path. */
static void
self_loop(struct comp *c, unsigned k)
{
	struct emit *e = &c->e;
	op_rm(e, OP_MOV_LD, 8, RAX, mem(RSP, FRAME_ICOUNT0));
	op_rm(e, OP_LEA, 8, RAX, mem(RAX, (int32_t)k + 1));
	op_rm(e, OP_LEA, 8, RCX, mem(RAX, (int32_t)c->t->n));
	op_rm(e, OP_CMP_R_RM, 8, RCX, mem(RBP, OFF_BUDGET_END));
	uint8_t *over = jump_fwd(e, CC_A);
	grp1_mi(e, 7, 4, mem(RBP, OFF_EVENTS), 0);
	uint8_t *ev = jump_fwd(e, CC_NE);
	mov_ri(e, RCX, (uint64_t)(uintptr_t)c->t);
	grp1_mi(e, 7, 8, mem(RCX, TRACE_OFF(jit_chain)), 0);
	uint8_t *gone = jump_fwd(e, CC_E);
	op_rm(e, OP_MOV_ST, 8, RAX, mem(RSP, FRAME_ICOUNT0));
	patch(e, jump_fwd(e, -1), c->loop_head);
	patch(e, over, e->p);
	patch(e, ev, e->p);
	patch(e, gone, e->p);
}

/* A taken branch (Jcc taken, JMP rel): in 64-bit code with a 64-bit operand,
 * the target is the entry RIP plus a constant, checked canonical inline, and
 * the trace chains or leaves; otherwise (and for a non-canonical target, which
 * faults) the handler itself branches. */
static void
emit_taken(struct comp *c, const struct taken *tk)
{
	struct emit *e = &c->e;
	const struct insn *i = &c->t->insn[tk->k];
	patch(e, tk->at, e->p);
	int64_t toff = rel_off(c, tk->k);
	bool self = toff == 0 && c->loop_head && !tk->called && i->opsize == c->code_size;
	/* Back to the loop head, whose code overwrites the record before
	 * anything reads it: not stored on that way (record_dead). */
	bool late = tk->pend.on && self && !tk->join && record_dead_from(c, 0);
	if (tk->pend.on && !late)
		store_lf(c, &tk->pend);
	if (tk->join) { /* no event waiting: on at instruction `join`, icount kept exact */
		grp1_mi(e, 7, 4, mem(RBP, OFF_EVENTS), 0);
		uint8_t *ev = jump_fwd(e, CC_NE);
		unsigned skip = tk->join - tk->k - 1;
		grp1_mi(e, 5, 8, mem(RSP, FRAME_ICOUNT0), (int32_t)skip);
		patch(e, jump_fwd(e, -1), c->label[tk->join]);
		patch(e, ev, e->p);
	}
	if (self)
		self_loop(c, tk->k);
	if (late)
		store_lf(c, &tk->pend);
	writeback(c, tk->dirty);
	int64_t in_page = (int64_t)(c->t->pa & 0xfff) + toff;
	if (c->code_size == 8 && i->opsize == 8 && toff == (int32_t)toff) {
		op_rm(e, OP_MOV_LD, 8, RAX, mem(RSP, FRAME_RIP0));
		op_rm(e, OP_LEA, 8, RAX, mem(RAX, (int32_t)toff));
		uint8_t *slow = NULL;
		if (in_page < 0 || in_page > 0xfff) { /* on this canonical page: no check */
			op_rr(e, OP_MOV_ST, 8, RAX, RCX);
			shift_ri(e, 4, 8, RCX, 16);
			shift_ri(e, 7, 8, RCX, 16);
			op_rr(e, OP_CMP_RM_R, 8, RAX, RCX);
			slow = jump_fwd(e, CC_NE);
		}
		op_rm(e, OP_MOV_ST, 8, RAX, mem(RBP, OFF_RIP));
		op_rm(e, OP_MOV_LD, 8, RAX, mem(RSP, FRAME_ICOUNT0));
		op_rm(e, OP_LEA, 8, RAX, mem(RAX, tk->k + 1));
		op_rm(e, OP_MOV_ST, 8, RAX, mem(RBP, OFF_ICOUNT));
		chain_or_leave(c, toff, tk->called);
		if (!slow)
			return;
		patch(e, slow, e->p);
	} else if (c->cs_flat && i->opsize == 4 && in_page >= 0 && in_page <= 0xfff) {
		/* 32-bit code, CS flat (checked at the entry; a handler that loads
		 * CS ends the trace): a target on this page is below CS.limit and
		 * its linear address is RIP, which wraps at 4 GiB (rel_off). */
		op_rm(e, OP_MOV_LD, 8, RAX, mem(RSP, FRAME_RIP0));
		op_rm(e, OP_LEA, 4, RAX, mem(RAX, (int32_t)toff));
		op_rm(e, OP_MOV_ST, 8, RAX, mem(RBP, OFF_RIP));
		op_rm(e, OP_MOV_LD, 8, RAX, mem(RSP, FRAME_ICOUNT0));
		op_rm(e, OP_LEA, 8, RAX, mem(RAX, tk->k + 1));
		op_rm(e, OP_MOV_ST, 8, RAX, mem(RBP, OFF_ICOUNT));
		chain_or_leave(c, toff, tk->called);
		return;
	}
	sync_state(c, tk->k);
	op_rr(e, OP_MOV_ST, 8, RBP, RDI);
	mov_ri(e, RSI, (uint64_t)(uintptr_t)&c->t->insn[tk->k]);
	call_abs(e, (const void *)c->t->insn[tk->k].fn);
	uint16_t dirty = c->dirty;
	c->dirty = 0; /* written back above */
	add_fix(c, jump_fwd(e, -1), tk->k, EXIT_HANDLER);
	c->dirty = dirty;
}

/* Does the instruction's ModRM.reg name a register (not an opcode extension
 * of a group, nor an instruction without ModRM)? Only for the count below:
 * a wrong answer costs speed, not exactness. */
static bool
reg_names_register(const struct insn *i)
{
	unsigned op = i->opcode;
	if ((op >= 0x80 && op <= 0x83) || op == 0x8f || op == 0xc0 || op == 0xc1 || op == 0xc6 ||
	    op == 0xc7 || (op >= 0xd0 && op <= 0xdf) || op == 0xf6 || op == 0xf7 || op == 0xfe ||
	    op == 0xff || op == 0x100 || op == 0x101 || op == 0x1ba || op == 0x1c7 ||
	    (op >= 0x171 && op <= 0x173) || op == 0x1ae || (op >= 0x118 && op <= 0x11f))
		return false; /* groups */
	if ((op < 0x40 && (op & 7) >= 4) || (op >= 0x50 && op <= 0x5f) || op == 0x68 ||
	    op == 0x6a || (op >= 0x70 && op <= 0x7f) || (op >= 0x90 && op <= 0xbf) || op == 0xc2 ||
	    op == 0xc3 || (op >= 0xe8 && op <= 0xeb) || (op >= 0x180 && op <= 0x18f) ||
	    (op >= 0x1c8 && op <= 0x1cf))
		return false; /* no ModRM (A0-A3 and 90-BF included) */
	return true;
}

/* Does the instruction have a ModRM whose rm field is a register or memory
 * operand (not the no-ModRM forms above)? */
static bool
has_rm_operand(const struct insn *i)
{
	unsigned op = i->opcode;
	return !((op < 0x40 && (op & 7) >= 4) || (op >= 0x50 && op <= 0x5f) || op == 0x68 ||
		 op == 0x6a || (op >= 0x70 && op <= 0x7f) || (op >= 0x90 && op <= 0xbf) ||
		 op == 0xc2 || op == 0xc3 || (op >= 0xe8 && op <= 0xeb) ||
		 (op >= 0x180 && op <= 0x18f) || (op >= 0x1c8 && op <= 0x1cf));
}

/* Choose the guest registers to cache: the most referenced ones whose second
 * byte no instruction of the trace names as AH, CH, DH or BH. */
static void
pick_cached(struct comp *c)
{
	unsigned uses[16] = { 0 };
	uint16_t narrow = 0;
	for (unsigned k = 0; k < c->t->n; k++) {
		const struct insn *i = &c->t->insn[k];
		/* The register in the opcode's low bits, for the forms that have one. */
		bool opreg = i->fn == op_push_r || i->fn == op_pop_r || i->fn == op_mov_r_imm ||
			     i->fn == op_inc_r || i->fn == op_dec_r || i->fn == op_bswap;
		bool named = reg_names_register(i), rm_op = has_rm_operand(i);
		unsigned regs[6] = { named ? i->reg : REG_NONE,
				     opreg ? (i->opcode & 7) | (i->rm & 8) : REG_NONE,
				     R_AX,
				     R_SP,
				     REG_NONE,
				     REG_NONE };
		unsigned nregs = 4;
		if (!(i->flags & I_MEM) && high_byte(i, i->rm, rm_size(i)))
			narrow |= (uint16_t)(1u << (i->rm - 4)); /* MOVZX/MOVSX from AH..BH */
		if (!(i->flags & I_MEM)) {
			if (rm_op)
				regs[nregs++] = i->rm;
		} else if (i->base < 16) {
			uses[i->base]++;
		}
		if (i->fn == op_grp3 && (i->reg & 7) >= 4) /* MUL/DIV: RAX and RDX */
			uses[R_DX] += 2;
		if ((i->flags & I_MEM) && i->index < 16)
			uses[i->index]++;
		for (unsigned n = 0; n < nregs; n++) {
			unsigned r = regs[n] & 15;
			if ((n >= 2 && n < 4) || regs[n] == REG_NONE)
				continue; /* RAX and RSP: implicit operands, never AH..BH */
			uses[r]++;
			if (high_byte(i, r, i->opsize))
				narrow |= (uint16_t)(1u << (r - 4));
		}
		if (i->fn == op_push_r || i->fn == op_pop_r || i->fn == op_push_imm)
			uses[R_SP] += 2;
	}
	for (unsigned n = 0; n < NCACHE; n++) {
		unsigned best = 16;
		for (unsigned r = 0; r < 16; r++)
			if (!(narrow & (1u << r)) && !(c->cached & (1u << r)) && uses[r] >= 2 &&
			    (best == 16 || uses[r] > uses[best]))
				best = r;
		if (best == 16)
			break;
		c->cached |= (uint16_t)(1u << best);
		c->host_of[best] = cache_regs[n];
	}
}

/* Generate the host code of c->t into c->e; false if it cannot be done. */
static bool
generate(struct comp *c)
{
	struct emit *e = &c->e;
	const struct trace *t = c->t;
	c->off[0] = 0;
	for (unsigned k = 0; k < t->n; k++)
		c->off[k + 1] = c->off[k] + t->insn[k].len;
	uint8_t *entry = e->p;
	pick_cached(c);
	/* The budget: a run of fewer than all n instructions (the run loop's
	 * `limit`: the budget's end, an interrupt shadow) is the interpreter's,
	 * a tail call of cpu_run_trace_interp(cpu, t, limit). So the compiled
	 * code runs whole traces only and checks no budget between instructions;
	 * a chain checks that the whole successor fits (chain_to_pa). */
	grp1_ri(e, 7, 8, RSI, (int32_t)t->n);
	uint8_t *whole = jump_fwd(e, CC_AE);
	op_rr(e, OP_MOV_ST, 8, RSI, RDX);
	mov_ri(e, RSI, (uint64_t)(uintptr_t)t);
	mov_ri(e, RAX, (uint64_t)(uintptr_t)cpu_run_trace_interp);
	e8(e, 0xff); /* jmp rax */
	e8(e, 0xe0);
	patch(e, whole, e->p);
	push_r(e, RBX);
	push_r(e, RBP);
	push_r(e, R12);
	push_r(e, R13);
	push_r(e, R14);
	push_r(e, R15);
	grp1_ri(e, 5, 8, RSP, FRAME_BYTES);
	op_rr(e, OP_MOV_ST, 8, RDI, RBP);
	load_tlb_set(c);
	/* A chaining predecessor jumps here with the frame set up, its TLB set
	 * that of the current CPL (chain_to_pa recomputes it after a handler). */
	c->chain_entry = e->p;
	op_rm(e, OP_MOV_LD, 8, RAX, mem(RBP, OFF_RIP));
	op_rm(e, OP_MOV_ST, 8, RAX, mem(RSP, FRAME_RIP0));
	op_rm(e, OP_MOV_LD, 8, RAX, mem(RBP, OFF_ICOUNT));
	op_rm(e, OP_MOV_ST, 8, RAX, mem(RSP, FRAME_ICOUNT0));
	flat_guard(c);
	reload(c);
	if (has_self_loop(c)) {
		c->dirty = c->cached; /* self_loop comes back with them unsaved */
		c->loop_head = e->p;
	}
	enum exit_kind last = EXIT_INLINE;
	bool last_call = false; /* the last instruction is an inline CALL rel32 */
	for (unsigned k = 0; k < t->n; k++) {
		if (c->join[k]) { /* a branch comes here too: what both paths agree on */
			flush_lf(c);
			c->dirty |= c->join_dirty[k];
			c->tlb_ok = c->tlb_ok && !c->join_no_tlb[k];
			c->lf_op = -1;
			c->zsp = false;
		}
		c->label[k] = e->p;
		bool inl = compile_insn(c, k);
		if (!inl)
			call_handler(c, k);
		last = inl && !c->rip_stored ? EXIT_INLINE : EXIT_HANDLER;
		last_call = inl && t->insn[k].fn == op_call_rel;
	}
	/* The end: in 64-bit code, chain wherever RIP went. */
	flush_lf(c);
	writeback(c, c->dirty);
	if (last == EXIT_INLINE) {
		rip_to_rax(c, c->off[t->n]);
		op_rm(e, OP_MOV_ST, 8, RAX, mem(RBP, OFF_RIP));
	}
	op_rm(e, OP_MOV_LD, 8, RAX, mem(RSP, FRAME_ICOUNT0));
	op_rm(e, OP_LEA, 8, RAX, mem(RAX, t->n));
	op_rm(e, OP_MOV_ST, 8, RAX, mem(RBP, OFF_ICOUNT));
	/* Where RIP went is known now after a fall-through or an inline CALL
	 * rel32: on this page, chain as a taken branch does (no TLB lookup). */
	int64_t end_off = (int64_t)c->off[t->n] + (last_call ? (int64_t)t->insn[t->n - 1].imm : 0);
	int64_t end_in_page = (int64_t)(t->pa & 0xfff) + end_off;
	bool known = (last == EXIT_INLINE || last_call) && end_in_page >= 0 && end_in_page <= 0xfff;
	if ((c->code_size == 8 || c->cs_flat) && known)
		chain_or_leave(c, end_off, c->called); /* 32-bit: CS flat, RIP = linear */
	else if (c->code_size == 8)
		chain_dynamic(c);
	else
		to_epilogue(c, jump_fwd(e, -1));
	c->dirty = 0; /* the out-of-line paths below start from a flush */
	for (unsigned n = 0; n < c->nslow; n++)
		emit_slow(c, &c->slow[n]);
	for (unsigned n = 0; n < c->ntaken; n++)
		emit_taken(c, &c->taken[n]);
	for (unsigned n = 0; n < c->nhstub; n++)
		emit_hstub(c, &c->hstub[n]);
	uint8_t *epilogue = e->p;
	for (unsigned n = 0; n < c->nepi; n++)
		patch(e, c->to_epilogue[n], epilogue);
	grp1_ri(e, 0, 8, RSP, FRAME_BYTES);
	pop_r(e, R15);
	pop_r(e, R14);
	pop_r(e, R13);
	pop_r(e, R12);
	pop_r(e, RBP);
	pop_r(e, RBX);
	e8(e, 0xc3);
	/* The exits: write back what is dirty there, then RIP and icount. */
	for (unsigned n = 0; n < c->nfix; n++) {
		const struct fixup *f = &c->fix[n];
		patch(e, f->at, e->p);
		if (f->pend.on)
			store_lf(c, &f->pend);
		writeback(c, f->dirty);
		if (f->kind == EXIT_INLINE) {
			rip_to_rax(c, c->off[f->k + 1]);
			op_rm(e, OP_MOV_ST, 8, RAX, mem(RBP, OFF_RIP));
		}
		op_rm(e, OP_MOV_LD, 8, RAX, mem(RSP, FRAME_ICOUNT0));
		op_rm(e, OP_LEA, 8, RAX, mem(RAX, f->k + 1));
		op_rm(e, OP_MOV_ST, 8, RAX, mem(RBP, OFF_ICOUNT));
		patch(e, jump_fwd(e, -1), epilogue);
	}
	return !e->overflow && !c->bad && e->p > entry;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Copy code into the arena: pages writable only while it is copied (W^X). */
static void *
arena_put(struct jit *j, const uint8_t *code, size_t len)
{
	uint8_t *dst = j->arena + j->used;
	uintptr_t lo = (uintptr_t)dst & ~(uintptr_t)4095;
	uintptr_t hi = ((uintptr_t)dst + len + 4095) & ~(uintptr_t)4095;
	if (mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE))
		return NULL;
	memcpy(dst, code, len);
	if (mprotect((void *)lo, hi - lo, PROT_READ | PROT_EXEC))
		return NULL;
	j->used = (j->used + len + 15) & ~(size_t)15;
	return dst;
}

bool
jit_compile(struct cpu *cpu, struct trace *t)
{
	struct jit *j = cpu->jit;
	uint64_t start = now_ns();
	struct comp *c = j->comp;
	memset(c, 0, offsetof(struct comp, fix));
	memset(c->host_of, HNONE, sizeof(c->host_of));
	c->nfix = c->nslow = c->ntaken = c->nhstub = c->nepi = 0;
	c->chain_entry = NULL;
	c->loop_head = NULL;
	c->bad = false; /* after fix[]: the memset above does not reach it */
	c->e = (struct emit){ j->scratch, j->scratch + SCRATCH_BYTES, false };
	c->cpu = cpu;
	c->t = t;
	c->code_size = t->code_size;
	c->lf_op = -1;
	c->hflags_at = UINT_MAX;
	if (t->n == 0 || !generate(c)) {
		t->jit_failed = true;
		j->stats.failed++;
		return true;
	}
	size_t len = (size_t)(c->e.p - j->scratch);
	if (j->used + len > JIT_ARENA_BYTES) {
		j->stats.flushes++;
		tcache_flush(cpu); /* resets the arena too */
		return false;
	}
	void *code = arena_put(j, j->scratch, len);
	if (!code) {
		/* The host refused mprotect: pages of compiled code may have been
		 * left unexecutable. Drop all of it and compile nothing more. */
		j->threshold = UINT_MAX;
		j->stats.failed++;
		tcache_flush(cpu);
		return false;
	}
	t->jit = (trace_code_fn)code;
	if (j->dump_dir) { /* FUGU_JIT_DUMP: the host code, for objdump (docs/PERFORMANCE.md) */
		char fn[4096];
		snprintf(fn, sizeof(fn), "%s/%" PRIx64 ".bin", j->dump_dir, cpu->state.rip);
		FILE *f = fopen(fn, "wb");
		if (f) {
			fwrite(code, 1, len, f);
			fclose(f);
		}
	}
	/* A trace on two pages needs tcache_lookup's check of the second: never
	 * entered by chaining. */
	if (t->pa2 == UINT64_MAX && !j->check) {
		t->jit_chain = (uint8_t *)code + (c->chain_entry - j->scratch);
		j->find[find_index(t->pa)] = (struct jit_find){ t->pa, t };
		j->find_used = true;
	}
	j->stats.compiled++;
	j->stats.bytes += len;
	j->stats.compile_ns += now_ns() - start;
	return true;
}

/* FUGU_JIT_PROFILE: "count id form" lines, most frequent first. */
static void
write_profile(const struct jit *j)
{
	if (!j->fallback || !j->profile_path)
		return;
	FILE *f = fopen(j->profile_path, "w");
	if (!f)
		return;
	for (;;) {
		uint64_t best = 0;
		unsigned bi = 0, bm = 0;
		for (unsigned i = 0; i < INSN_COUNT; i++)
			for (unsigned m = 0; m < 2; m++)
				if (j->fallback[i][m] > best) {
					best = j->fallback[i][m];
					bi = i;
					bm = m;
				}
		if (!best)
			break;
		fprintf(f, "%12llu %s %s\n", (unsigned long long)best, insn_mnemonic[bi],
			bm ? "mem" : "reg");
		j->fallback[bi][bm] = 0;
	}
	fclose(f);
}

struct jit *
jit_create(enum jit_mode mode)
{
	if (mode == JIT_OFF)
		return NULL;
	struct jit *j = calloc(1, sizeof(*j));
	if (!j)
		return NULL;
	j->threshold = mode == JIT_ALWAYS || mode == JIT_CHECK ? 0 : JIT_THRESHOLD;
	j->check = mode == JIT_CHECK;
	/* Only for the test that check mode finds a difference: a knob that breaks
	 * one inline form on purpose, honoured only when every run is checked. */
	const char *brk = getenv("FUGU_JIT_CHECK_BREAK");
	j->break_mov = j->check && brk && !strcmp(brk, "1");
	j->break_sse = j->check && brk && !strcmp(brk, "sse");
	const char *prof = getenv("FUGU_JIT_PROFILE");
	if (prof && *prof) {
		j->fallback = calloc(INSN_COUNT, sizeof(*j->fallback));
		j->profile_path = strdup(prof);
	}
	const char *dump = getenv("FUGU_JIT_DUMP");
	if (dump && *dump)
		j->dump_dir = strdup(dump);
	j->scratch = malloc(SCRATCH_BYTES);
	j->comp = malloc(sizeof(struct comp));
	j->find = malloc(FIND_ENTRIES * sizeof(*j->find));
	void *a = mmap(NULL, JIT_ARENA_BYTES, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (!j->scratch || !j->comp || !j->find || a == MAP_FAILED) {
		if (a != MAP_FAILED)
			munmap(a, JIT_ARENA_BYTES);
		free(j->find);
		free(j->fallback);
		free(j->profile_path);
		free(j->dump_dir);
		free(j->comp);
		free(j->scratch);
		free(j);
		return NULL;
	}
	j->arena = a;
	j->find_used = true;
	jit_flush(j); /* the find table empty */
	return j;
}

void
jit_destroy(struct jit *j)
{
	if (!j)
		return;
	write_profile(j);
	free(j->fallback);
	free(j->profile_path);
	free(j->dump_dir);
	free(j->find);
	munmap(j->arena, JIT_ARENA_BYTES);
	free(j->comp);
	free(j->scratch);
	free(j);
}

void
jit_flush(struct jit *j)
{
	if (j) {
		j->used = 0;
		if (j->find_used)
			for (unsigned n = 0; n < FIND_ENTRIES; n++)
				j->find[n] = (struct jit_find){ UINT64_MAX, NULL };
		j->find_used = false;
	}
}

unsigned
jit_threshold(const struct jit *j)
{
	return j->threshold;
}

void
jit_get_stats(const struct jit *j, struct jit_stats *out)
{
	*out = j ? j->stats : (struct jit_stats){ 0 };
}

bool
jit_checking(const struct jit *j)
{
	return j && j->check;
}

#else /* not an x86-64 host: the interpreter only */

struct jit *
jit_create(enum jit_mode mode)
{
	(void)mode;
	return NULL;
}

void
jit_destroy(struct jit *j)
{
	(void)j;
}

bool
jit_compile(struct cpu *cpu, struct trace *t)
{
	(void)cpu;
	t->jit_failed = true;
	return true;
}

void
jit_flush(struct jit *j)
{
	(void)j;
}

unsigned
jit_threshold(const struct jit *j)
{
	(void)j;
	return 0;
}

void
jit_get_stats(const struct jit *j, struct jit_stats *out)
{
	(void)j;
	*out = (struct jit_stats){ 0 };
}

bool
jit_checking(const struct jit *j)
{
	(void)j;
	return false;
}

#endif /* __x86_64__ */

int
jit_mode_parse(const char *s)
{
	if (!s)
		return -1;
	if (!strcmp(s, "on"))
		return JIT_ON;
	if (!strcmp(s, "off"))
		return JIT_OFF;
	if (!strcmp(s, "always"))
		return JIT_ALWAYS;
	if (!strcmp(s, "check"))
		return JIT_CHECK;
	return -1;
}
