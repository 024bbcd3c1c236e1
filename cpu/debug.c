/*
 * fugu — debug exceptions (SDM vol. 3A, chapter 17): single-step (EFLAGS.TF),
 * the resume flag (RF), and the breakpoint registers DR0-DR3 with DR7
 * (instruction breakpoints are faults, data and I/O breakpoints are traps).
 *
 * None of this costs anything while it is off: the run loop asks
 * cpu_debug_armed() once per trace and only then comes here, to run one
 * instruction at a time with the checks around it. Data breakpoints are found
 * on the slow memory path: mem.c never caches a translation for a page holding
 * an armed data breakpoint, so every access there reaches cpu_debug_data().
 */
#include "cpu/cpu_internal.h"
#include "cpu/tcache.h"
#include "cpu/translate.h"
#include "cpu/vmx/vmx.h"
#include "mmu/physmem.h"
#include "cpu/trace_cpu.h"

/* The length of breakpoint n from DR7.LENn (SDM vol. 3A, 17.2.5): 1, 2, 8 or 4 bytes. */
static unsigned
bp_len(uint64_t dr7, unsigned n)
{
	static const unsigned len[4] = { 1, 2, 8, 4 };
	return len[(dr7 >> (18 + 4 * n)) & 3];
}

static unsigned
bp_rw(uint64_t dr7, unsigned n)
{
	return (dr7 >> (16 + 4 * n)) & 3;
}

static bool
bp_enabled(uint64_t dr7, unsigned n)
{
	return (dr7 >> (2 * n)) & 3;
}

/*
 * Recompute which data breakpoints are armed after a write to DR0-DR3 or DR7
 * (or a task switch, which clears the local enables). The TLB is flushed so
 * that no cached translation lets an access to a watched page bypass the check.
 */
void
cpu_debug_update(struct cpu *cpu)
{
	uint64_t dr7 = cpu->state.dr[7];
	uint8_t data = 0;
	for (unsigned n = 0; n < 4; n++)
		if (bp_enabled(dr7, n) && (bp_rw(dr7, n) & 1))
			data |= (uint8_t)(1u << n);
	data |= cpu->dbg_data & DBG_DATA_DEBUGGER;
	if (data || cpu->dbg_data)
		tlb_flush_all(&cpu->tlb);
	cpu->dbg_data = data;
	cpu->stop_trace = true;
}

/* The external debugger's watchpoint k covers [lin, lin + len)? */
static bool
dbg_point_overlaps(const struct cpu *cpu, unsigned k, uint64_t lin, uint64_t len)
{
	uint64_t a = cpu->dbg.point[k].lin, n = cpu->dbg.point[k].len;
	return lin < a + n && a < lin + len;
}

/* Does the debugger's point k count in the CPU's VMX operation now
 * (`monitor break-in`: only in root or only in non-root operation)? */
static bool
point_counts_now(const struct cpu *cpu, unsigned k)
{
	uint8_t in = cpu->dbg.point[k].in;
	return in == DBG_IN_ANY || (in == DBG_IN_NONROOT) == cpu->vmx_nonroot;
}

/* Is the linear page of `lin` watched by an armed data breakpoint? (mem.c: no TLB fill) */
bool
cpu_debug_page_watched(const struct cpu *cpu, uint64_t lin)
{
	if (cpu->dbg_data & DBG_DATA_DEBUGGER)
		for (unsigned k = 0; k < cpu->dbg.npoints; k++)
			if (cpu->dbg.point[k].kind != DBG_BREAK &&
			    dbg_point_overlaps(cpu, k, lin & ~0xfffull, 0x1000))
				return true;
	for (unsigned n = 0; n < 4; n++) {
		if (!(cpu->dbg_data & (1u << n)))
			continue;
		uint64_t a = cpu->state.dr[n] & ~(uint64_t)(bp_len(cpu->state.dr[7], n) - 1);
		if ((a >> 12) == (lin >> 12))
			return true;
	}
	return false;
}

/*
 * A data access of `size` bytes at `lin` (SDM vol. 3A, 17.2.5, 17.3.1.2): a
 * breakpoint matches when any byte of the access falls in its aligned range;
 * R/W 01 matches writes, 11 reads and writes. The hit is a trap, reported in
 * DR6 after the instruction completes (cpu_debug_step).
 */
void
cpu_debug_data(struct cpu *cpu, uint64_t lin, unsigned size, bool write)
{
	uint64_t dr7 = cpu->state.dr[7];
	for (unsigned n = 0; n < 4; n++) {
		if (!(cpu->dbg_data & (1u << n)))
			continue;
		if (bp_rw(dr7, n) == 1 && !write)
			continue;
		unsigned len = bp_len(dr7, n);
		uint64_t a = cpu->state.dr[n] & ~(uint64_t)(len - 1);
		if (lin < a + len && a < lin + size)
			cpu->dbg_hits |= 1u << n;
	}
	if (!(cpu->dbg_data & DBG_DATA_DEBUGGER) || cpu->dbg.stop)
		return;
	for (unsigned k = 0; k < cpu->dbg.npoints; k++) {
		uint8_t kind = cpu->dbg.point[k].kind;
		if (kind == DBG_BREAK || (kind == DBG_WATCH_WRITE && !write) ||
		    (kind == DBG_WATCH_READ && write) || !dbg_point_overlaps(cpu, k, lin, size) ||
		    !point_counts_now(cpu, k))
			continue;
		/* A trap, as the guest's own: the instruction completes, then the run stops. */
		cpu->dbg.stop = DBG_STOP_WATCH;
		cpu->dbg.stop_kind = kind;
		cpu->dbg.stop_addr = cpu->dbg.point[k].lin;
		return;
	}
}

/*
 * An I/O access (SDM vol. 3A, 17.2.4: with CR4.DE, R/W 10 breakpoints watch
 * ports). A trap, like data breakpoints.
 */
void
cpu_debug_io(struct cpu *cpu, uint16_t port, unsigned size)
{
	uint64_t dr7 = cpu->state.dr[7];
	if (!(cpu->state.cr4 & CR4_DE) || !(dr7 & 0xff))
		return;
	for (unsigned n = 0; n < 4; n++) {
		if (!bp_enabled(dr7, n) || bp_rw(dr7, n) != 2)
			continue;
		unsigned len = bp_len(dr7, n);
		uint64_t a = (cpu->state.dr[n] & 0xffff) & ~(uint64_t)(len - 1);
		if (port < a + len && a < (uint64_t)port + size)
			cpu->dbg_hits |= 1u << n;
	}
}

uint64_t
cpu_pc_linear(const struct cpu *cpu)
{
	uint64_t lin = cpu->state.rip;
	if (cpu->code_size != 8)
		lin = (cpu->state.seg[S_CS].base + lin) & 0xffffffff;
	return lin;
}

/* Instruction breakpoints matching the linear address of the next instruction (17.3.1.1). */
static uint32_t
exec_hits(struct cpu *cpu)
{
	uint64_t dr7 = cpu->state.dr[7];
	uint64_t lin = cpu_pc_linear(cpu);
	uint32_t hits = 0;
	for (unsigned n = 0; n < 4; n++)
		if (bp_enabled(dr7, n) && bp_rw(dr7, n) == 0 && cpu->state.dr[n] == lin)
			hits |= 1u << n;
	return hits;
}

/* Deliver #DB with `bits` (B0-B3, BS) reported in DR6 and `rip` as the return address. */
void
cpu_debug_deliver(struct cpu *cpu, uint32_t bits)
{
	cpu->insn_rip = cpu->state.rip;
	/* In non-root operation a #DB that exits by the exception bitmap reports
	 * the bits in the exit qualification and leaves DR6 alone (vol. 3C,
	 * 27.1, 27.2.1). */
	if (__builtin_expect(cpu->vmx_nonroot, 0))
		vmx_debug_exception(cpu, bits);
	cpu->state.dr[6] = (cpu->state.dr[6] & ~(uint64_t)0xf) | bits;
	cpu->delivering = true;
	cpu->delivering_class = 0; /* benign (except.c): a fault now is delivered normally */
	cpu_deliver_event(cpu, EXC_DB, EVENT_EXCEPTION, NO_ERRCODE, cpu->state.rip);
	cpu->delivering = false;
}

/*
 * Run one instruction with the debug checks around it (SDM vol. 3A, 17.3):
 * before it, instruction breakpoints unless RF is set (a fault: #DB with the
 * instruction's own address, RF not set in the pushed image); RF is then
 * cleared. After it completes, data/I/O breakpoint hits and -- when TF was set
 * when it started -- the single-step trap (DR6.BS) raise one #DB. After
 * MOV SS/POP SS (intr_shadow == 2) the trap waits for the next instruction.
 */
static void
guest_debug_step(struct cpu *cpu)
{
	cpu->insn_rip = cpu->state.rip;
	if ((cpu->dbg_deferred & DR6_BT) && cpu->state.intr_shadow != 2) {
		uint32_t bits = cpu->dbg_deferred; /* a task switch to a task with the T bit */
		cpu->dbg_deferred = 0;
		cpu_debug_deliver(cpu, bits);
		return;
	}
	/* The instruction after MOV SS/POP SS: "debug exceptions" are inhibited
	 * until the boundary after it (SDM vol. 3A, 6.8.3), instruction
	 * breakpoints on it included; such a breakpoint is not reported. */
	if (!(cpu->state.rflags & F_RF) && (cpu->state.dr[7] & 0xff) &&
	    cpu->state.intr_shadow != 2) {
		uint32_t hits = exec_hits(cpu);
		if (hits) {
			cpu_debug_deliver(cpu, hits);
			return;
		}
	}
	cpu->state.rflags &= ~(uint64_t)F_RF;
	cpu->dbg_single_step = (cpu->state.rflags & F_TF) != 0;
	cpu->dbg_hits = 0;
	struct trace *t = tcache_get(cpu, NULL);
	cpu->chain_prev = NULL;
	cpu->state.intr_shadow = 0;
	const struct insn *i = &t->insn[0];
	struct trace_insn_pre pre;
	bool traced = tracer_wants(cpu->tracer, TRACE_CAT_INSN) && trace_insn_begin(cpu, &pre);
	uint64_t rip = cpu->state.rip, icount = cpu->icount;
	if (cpu->count_insns)
		tcache_enter(cpu, t); /* one instruction of the trace: the rest is an early exit */
	exec_one(cpu, i, &rip, &icount, cpu_ip_mask(cpu));
	if (cpu->cur_trace)
		tcache_leave(cpu);
	if (traced)
		trace_insn_end(cpu->tracer, cpu, &pre, i, t->bytes ? t->bytes[0] : NULL,
			       t->code_size);
	uint32_t trap = cpu->dbg_hits | cpu->dbg_deferred | (cpu->dbg_single_step ? DR6_BS : 0);
	cpu->dbg_single_step = false;
	cpu->dbg_hits = 0;
	cpu->dbg_deferred = 0;
	if (!trap || cpu->state.halted)
		return;
	/* An MTF VM exit due at this boundary comes first; the trap is left in
	 * the pending debug exceptions field (vol. 3C, 25.5.2, 27.3.4). */
	if (__builtin_expect(cpu->vmx_nonroot, 0))
		vmx_mtf_before_trap(cpu, trap);
	if (cpu->state.intr_shadow == 2) {
		cpu->dbg_deferred = trap; /* MOV SS / POP SS: after the next instruction */
		return;
	}
	cpu_debug_deliver(cpu, trap);
}

/* ---- the external debugger (the GDB stub) ---- */

static void
debugger_rearm(struct cpu *cpu)
{
	bool watch = false;
	for (unsigned k = 0; k < cpu->dbg.npoints; k++)
		watch |= cpu->dbg.point[k].kind != DBG_BREAK;
	uint8_t data =
		(uint8_t)((cpu->dbg_data & ~DBG_DATA_DEBUGGER) | (watch ? DBG_DATA_DEBUGGER : 0));
	if (data != cpu->dbg_data || watch)
		tlb_flush_all(&cpu->tlb); /* no cached translation may bypass a watched page */
	cpu->dbg_data = data;
	cpu->debugger_armed = cpu->dbg.npoints || cpu->dbg.step;
	cpu->stop_trace = true;
}

int
cpu_debugger_insert(struct cpu *cpu, enum dbg_point kind, uint64_t lin, uint64_t len)
{
	return cpu_debugger_insert_in(cpu, kind, lin, len, DBG_IN_ANY);
}

int
cpu_debugger_insert_in(struct cpu *cpu, enum dbg_point kind, uint64_t lin, uint64_t len,
		       enum dbg_in in)
{
	if (cpu->dbg.npoints == DBG_MAX_POINTS || len == 0)
		return -1;
	unsigned k = cpu->dbg.npoints++;
	cpu->dbg.point[k].lin = lin;
	cpu->dbg.point[k].len = len;
	cpu->dbg.point[k].kind = (uint8_t)kind;
	cpu->dbg.point[k].in = (uint8_t)in;
	debugger_rearm(cpu);
	return 0;
}

int
cpu_debugger_remove(struct cpu *cpu, enum dbg_point kind, uint64_t lin, uint64_t len)
{
	for (unsigned k = 0; k < cpu->dbg.npoints; k++) {
		if (cpu->dbg.point[k].kind != kind || cpu->dbg.point[k].lin != lin ||
		    (kind != DBG_BREAK && cpu->dbg.point[k].len != len))
			continue;
		cpu->dbg.point[k] = cpu->dbg.point[--cpu->dbg.npoints];
		debugger_rearm(cpu);
		return 0;
	}
	return -1;
}

void
cpu_debugger_resume(struct cpu *cpu, bool step)
{
	cpu->dbg.stop = DBG_STOP_NONE;
	cpu->dbg.step = step;
	cpu->dbg.skip_break = true;
	cpu->dbg.skip_lin = cpu_pc_linear(cpu);
	debugger_rearm(cpu);
}

static bool
debugger_break_at(const struct cpu *cpu, uint64_t lin)
{
	for (unsigned k = 0; k < cpu->dbg.npoints; k++)
		if (cpu->dbg.point[k].kind == DBG_BREAK && cpu->dbg.point[k].lin == lin &&
		    point_counts_now(cpu, k))
			return true;
	return false;
}

/*
 * One careful instruction: the external debugger's breakpoint check comes
 * first (before anything the guest can see, so the guest's own breakpoints and
 * traps behave as without a debugger), then the guest's debug semantics, then
 * the debugger's single-step stop.
 */
void
cpu_debug_step(struct cpu *cpu)
{
	if (cpu->debugger_armed) {
		uint64_t lin = cpu_pc_linear(cpu);
		bool skip = cpu->dbg.skip_break && cpu->dbg.skip_lin == lin;
		cpu->dbg.skip_break = false;
		if (!skip && debugger_break_at(cpu, lin)) {
			cpu->dbg.stop = DBG_STOP_BREAK;
			cpu->dbg.stop_addr = lin;
			return;
		}
	}
	guest_debug_step(cpu);
	if (cpu->dbg.step && !cpu->dbg.stop)
		cpu->dbg.stop = DBG_STOP_STEP;
}

/* ---- a debugger's memory access (cpu_peek/cpu_poke) ---- */

/* The physical address of a debugger address, or false when it has no translation. */
static bool
debugger_translate(struct cpu *cpu, const struct cpu_state *st, uint64_t addr, bool physical,
		   bool write, uint64_t *pa)
{
	if (physical) {
		*pa = addr;
		return true;
	}
	enum tlb_access kind = write ? TLB_WRITE : TLB_READ;
	return cpu_translate_probe_state(cpu, st, addr, kind, MMU_SUPER, pa) ||
	       cpu_translate_probe_state(cpu, st, addr, kind, MMU_USER, pa) ||
	       (write && (cpu_translate_probe_state(cpu, st, addr, TLB_READ, MMU_SUPER, pa) ||
			  cpu_translate_probe_state(cpu, st, addr, TLB_READ, MMU_USER, pa)));
}

static bool
debugger_access(struct cpu *cpu, const struct cpu_state *st, uint64_t addr, bool physical,
		uint8_t *buf, size_t len, bool write)
{
	while (len) {
		uint64_t pa;
		size_t chunk = 0x1000 - (addr & 0xfff);
		if (chunk > len)
			chunk = len;
		if (!debugger_translate(cpu, st, addr, physical, write, &pa))
			return false;
		phys_page_t p = physmem_page(cpu->mem, pa);
		if (!(p & PP_HOST_MASK) || (p & PP_MMIO))
			return false;
		if ((pa & 0xfff) + chunk > 0x1000)
			chunk = 0x1000 - (pa & 0xfff);
		if (write)
			physmem_write(cpu->mem, pa, buf, chunk);
		else
			physmem_read(cpu->mem, pa, buf, chunk);
		addr += chunk, buf += chunk, len -= chunk;
	}
	return true;
}

bool
cpu_peek(struct cpu *cpu, uint64_t addr, bool physical, void *buf, size_t len)
{
	return debugger_access(cpu, &cpu->state, addr, physical, buf, len, false);
}

bool
cpu_poke(struct cpu *cpu, uint64_t addr, bool physical, const void *buf, size_t len)
{
	return debugger_access(cpu, &cpu->state, addr, physical, (uint8_t *)(uintptr_t)buf, len,
			       true);
}

bool
cpu_view_peek(struct cpu *cpu, const struct cpu_state *view, uint64_t addr, void *buf, size_t len)
{
	return debugger_access(cpu, view, addr, false, buf, len, false);
}

bool
cpu_view_state(const struct cpu *cpu, enum dbg_view view, struct cpu_state *out,
	       bool avail[STATE_FIELD_COUNT])
{
	*out = cpu->state;
	bool live = view == DBG_VIEW_LIVE || (view == DBG_VIEW_L2) == cpu->vmx_nonroot;
	for (unsigned k = 0; k < STATE_FIELD_COUNT; k++)
		avail[k] = live;
	return live || vmx_level_state(cpu, view == DBG_VIEW_L2, out, avail);
}
