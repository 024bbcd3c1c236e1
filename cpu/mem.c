/*
 * fugu — the CPU's view of memory: segmentation, then the software TLB, then (on
 * a miss) the page walk in mmu/ and the physical map. Every guest data access
 * and every instruction fetch comes through here.
 */
#include "cpu/cpu_internal.h"
#include "cpu/jit/jit.h"
#include "cpu/translate.h"
#include "cpu/vmx/vmx.h"
#include "mmu/hostmem.h"
#include "mmu/paging.h"
#include "mmu/physmem.h"

/* ---- segmentation ---- */

static _Noreturn void
seg_fault(struct cpu *cpu, unsigned seg)
{
	cpu_fault(cpu, seg == S_SS ? EXC_SS : EXC_GP, 0);
}

/*
 * Linear address of a `size`-byte access at seg:off (SDM vol. 3A, 5.3 limit
 * checking, 5.5 type checking; 3.3.7.1 canonical addresses in 64-bit mode).
 */
static inline uint64_t
seg_linear(struct cpu *cpu, unsigned seg, uint64_t off, unsigned size, bool write)
{
	const struct segment *s = &cpu->state.seg[seg];
	if (cpu->code_size == 8) {
		uint64_t lin = off + (seg >= S_FS ? s->base : 0);
		if (!is_canonical(lin) || !is_canonical(lin + size - 1))
			seg_fault(cpu, seg);
		return lin;
	}
	if (!cpu_real_mode(cpu) && !cpu_v86(cpu)) {
		uint16_t a = s->attr;
		if (!(a & SEG_ATTR_P))
			seg_fault(cpu, seg); /* null or unusable selector */
		if ((a & 0x8) ? (write || !(a & 0x2)) : (write && !(a & 0x2)))
			seg_fault(cpu, seg);   /* code: never writable, readable if R; data: W */
		if (!(a & 0x8) && (a & 0x4)) { /* expand-down data segment */
			uint64_t upper = (a & SEG_ATTR_DB) ? 0xffffffffull : 0xffffull;
			if (off <= s->limit || off + size - 1 > upper)
				seg_fault(cpu, seg);
			return (s->base + off) & 0xffffffffull;
		}
	}
	/* An access reaching past a 4 GiB limit (flat segments) is let through and
	 * wraps at 4 GiB: the SDM leaves the limit check of such an access
	 * implementation-specific ("When the effective limit is FFFFFFFFH (4
	 * GBytes), these accesses may or may not cause the indicated exceptions",
	 * vol. 3A, 5.3), and linear addresses are 32 bits outside IA-32e mode
	 * (vol. 3A, 3.3.1), so the bytes past FFFFFFFFH are at linear 0, 1, ...
	 * as on the processors real programs were tested on (and QEMU, Bochs). */
	if (off + size - 1 > s->limit && s->limit != 0xffffffffu)
		seg_fault(cpu, seg);
	return (s->base + off) & 0xffffffffull;
}

/* The linear page after `lin`'s, for an access that crosses a page boundary:
 * outside 64-bit mode the 32-bit linear address space wraps (see seg_linear). */
static inline uint64_t
next_page(const struct cpu *cpu, uint64_t lin)
{
	uint64_t next = (lin | 0xfff) + 1;
	return cpu->code_size == 8 || lin > 0xffffffffull ? next : next & 0xffffffffull;
}

/* ---- translation and the TLB ---- */

/* The TLB set that serves explicit accesses at the current privilege (mmu/tlb.h). */
static inline unsigned
cur_set(const struct cpu *cpu)
{
	return cpu->state.cpl == 3 ? TLB_USER : TLB_SUPER;
}

static inline enum mmu_priv
cur_priv(const struct cpu *cpu)
{
	return cpu->state.cpl == 3 ? MMU_USER : MMU_SUPER;
}

/*
 * Fill a TLB entry for the page of `lin` if it is plain RAM/ROM. A write entry
 * needs a page the host may store to, without decoded code, whose translation
 * allows the write with the dirty flag already set.
 */
static void
tlb_fill(struct cpu *cpu, enum tlb_access kind, enum mmu_priv priv, uint64_t lin, uint64_t pa,
	 const struct mmu_result *r)
{
	if (r->no_tlb)
		return;
	/* A watched page stays out of the TLB so debug.c sees every access. */
	if (__builtin_expect(cpu->dbg_data != 0, 0) && kind != TLB_EXEC &&
	    cpu_debug_page_watched(cpu, lin))
		return;
	/* The APIC-access page stays out so that vmx_apic_read/write see every access. */
	if (__builtin_expect(cpu->vmx_nonroot, 0) && vmx_apic_page(cpu->vmx, pa))
		return;
	phys_page_t p = physmem_page(cpu->mem, pa);
	if (!(p & PP_HOST_MASK))
		return;
	if (kind == TLB_WRITE && (!(p & PP_WRITABLE) || (p & PP_NOTIFY) || !r->store_ok))
		return;
	if (__builtin_expect(cpu->jcheck != NULL, 0)) /* -jit check: undone before the 2nd run */
		jit_check_log_tlb(cpu, priv == MMU_USER ? TLB_USER : TLB_SUPER, kind, lin);
	tlb_insert(&cpu->tlb, priv == MMU_USER ? TLB_USER : TLB_SUPER, kind, lin,
		   (uintptr_t)(p & PP_HOST_MASK), pa & ~0xfffull, r->global, r->page_mask);
}

static uint64_t
translate(struct cpu *cpu, uint64_t lin, enum tlb_access kind, enum mmu_priv priv)
{
	struct mmu_result r;
	cpu_page_walk(cpu, lin, kind, priv, &r); /* raises the fault */
	uint64_t pa = r.pa;                      /* A20 mask applied */
	if (__builtin_expect(cpu->vmx_nonroot, 0) && kind == TLB_EXEC &&
	    vmx_apic_page(cpu->vmx, pa))
		vmx_apic_fetch_fault(cpu, pa); /* SDM vol. 3C, 29.4.1 */
	tlb_fill(cpu, kind, priv, lin, pa, &r);
	if (kind == TLB_READ && r.store_ok)
		tlb_fill(cpu, TLB_WRITE, priv, lin, pa, &r);
	return pa;
}

uint64_t
cpu_translate_fetch(struct cpu *cpu, uint64_t lin)
{
	struct tlb_entry *e = tlb_slot(&cpu->tlb, cur_set(cpu), TLB_EXEC, lin);
	if (e->tag == (lin & ~0xfffull))
		return e->pa_page | (lin & 0xfff);
	return translate(cpu, lin, TLB_EXEC, cur_priv(cpu));
}

static uint64_t
read_slow(struct cpu *cpu, uint64_t lin, unsigned size, enum mmu_priv priv)
{
	uint64_t pa = translate(cpu, lin, TLB_READ, priv);
	if (__builtin_expect(cpu->dbg_data != 0, 0))
		cpu_debug_data(cpu, lin, size, false);
	unsigned first = 0x1000 - (unsigned)(lin & 0xfff);
	if (__builtin_expect(cpu->jcheck != NULL, 0)) /* -jit check: MMIO cannot run twice */
		jit_check_log_pa(cpu, pa, first < size ? first : size, false);
	if (__builtin_expect(cpu->vmx_nonroot, 0) && vmx_apic_page(cpu->vmx, pa)) {
		if (__builtin_expect(cpu->jcheck != NULL, 0)) /* -jit check: as a device */
			jit_check_io(cpu);
		return vmx_apic_read(cpu, pa, size); /* SDM vol. 3C, 29.4 */
	}
	if (first >= size)
		return physmem_read_sized(cpu->mem, pa, size);
	/* Crosses a page: translate both pages before touching either. */
	uint64_t pa2 = translate(cpu, next_page(cpu, lin), TLB_READ, priv);
	if (__builtin_expect(cpu->vmx_nonroot, 0) && vmx_apic_page(cpu->vmx, pa2))
		vmx_apic_access_exit(cpu, 0, false); /* SDM vol. 3C, 29.4 */
	if (__builtin_expect(cpu->jcheck != NULL, 0))
		jit_check_log_pa(cpu, pa2, size - first, false);
	uint64_t lo = physmem_read_sized(cpu->mem, pa, first);
	uint64_t hi = physmem_read_sized(cpu->mem, pa2, size - first);
	return lo | (hi << (8 * first));
}

static void
write_slow(struct cpu *cpu, uint64_t lin, uint64_t v, unsigned size, enum mmu_priv priv)
{
	uint64_t pa = translate(cpu, lin, TLB_WRITE, priv);
	if (__builtin_expect(cpu->dbg_data != 0, 0))
		cpu_debug_data(cpu, lin, size, true);
	unsigned first = 0x1000 - (unsigned)(lin & 0xfff);
	if (__builtin_expect(cpu->vmx_nonroot, 0) && vmx_apic_page(cpu->vmx, pa)) {
		if (__builtin_expect(cpu->jcheck != NULL, 0)) /* -jit check: as a device */
			jit_check_io(cpu);
		vmx_apic_write(cpu, pa, v, size); /* SDM vol. 3C, 29.4 */
		return;
	}
	if (first >= size) {
		if (__builtin_expect(cpu->jcheck != NULL, 0)) /* -jit check: log the store */
			jit_check_log_pa(cpu, pa, size, true);
		physmem_write_sized(cpu->mem, pa, v, size);
		return;
	}
	uint64_t pa2 = translate(cpu, next_page(cpu, lin), TLB_WRITE, priv);
	if (__builtin_expect(cpu->vmx_nonroot, 0) && vmx_apic_page(cpu->vmx, pa2))
		vmx_apic_access_exit(cpu, 0, true); /* SDM vol. 3C, 29.4 */
	if (__builtin_expect(cpu->jcheck != NULL, 0)) {
		jit_check_log_pa(cpu, pa, first, true);
		jit_check_log_pa(cpu, pa2, size - first, true);
	}
	physmem_write_sized(cpu->mem, pa, v, first);
	physmem_write_sized(cpu->mem, pa2, v >> (8 * first), size - first);
}

/*
 * Linear accesses to system structures: with `supervisor` they are implicit
 * supervisor accesses (SDM vol. 3A, 4.6) whatever the CPL, served by the
 * supervisor TLB set (which never holds an SMAP-dependent entry).
 */
uint64_t
cpu_read_linear(struct cpu *cpu, uint64_t lin, unsigned size, bool supervisor)
{
	void *h = tlb_lookup(&cpu->tlb, supervisor ? TLB_SUPER : TLB_USER, TLB_READ, lin, size);
	if (h)
		return hostmem_load(h, size);
	return read_slow(cpu, lin, size, supervisor ? MMU_IMPLICIT : MMU_USER);
}

void
cpu_write_linear(struct cpu *cpu, uint64_t lin, uint64_t v, unsigned size, bool supervisor)
{
	void *h = tlb_lookup(&cpu->tlb, supervisor ? TLB_SUPER : TLB_USER, TLB_WRITE, lin, size);
	if (h) {
		if (__builtin_expect(cpu->jcheck != NULL, 0)) /* -jit check: log the store */
			jit_check_log_host(cpu, h, size);
		hostmem_store(h, v, size);
		return;
	}
	write_slow(cpu, lin, v, size, supervisor ? MMU_IMPLICIT : MMU_USER);
}

uint64_t
cpu_read(struct cpu *cpu, unsigned seg, uint64_t off, unsigned size)
{
	uint64_t lin = seg_linear(cpu, seg, off, size, false);
	void *h = tlb_lookup(&cpu->tlb, cur_set(cpu), TLB_READ, lin, size);
	if (h)
		return hostmem_load(h, size);
	return read_slow(cpu, lin, size, cur_priv(cpu));
}

void
cpu_write(struct cpu *cpu, unsigned seg, uint64_t off, uint64_t v, unsigned size)
{
	uint64_t lin = seg_linear(cpu, seg, off, size, true);
	void *h = tlb_lookup(&cpu->tlb, cur_set(cpu), TLB_WRITE, lin, size);
	if (h) {
		if (__builtin_expect(cpu->jcheck != NULL, 0)) /* -jit check: log the store */
			jit_check_log_host(cpu, h, size);
		hostmem_store(h, v, size);
		return;
	}
	write_slow(cpu, lin, v, size, cur_priv(cpu));
}

void
cpu_probe_write(struct cpu *cpu, unsigned seg, uint64_t off, unsigned size)
{
	uint64_t lin = seg_linear(cpu, seg, off, size, true);
	if (tlb_lookup(&cpu->tlb, cur_set(cpu), TLB_WRITE, lin, size))
		return;
	translate(cpu, lin, TLB_WRITE, cur_priv(cpu));
	if ((lin & 0xfff) + size > 0x1000)
		translate(cpu, next_page(cpu, lin), TLB_WRITE, cur_priv(cpu));
}

/* ---- the stack ---- */

void
cpu_push(struct cpu *cpu, uint64_t v, unsigned size)
{
	uint64_t m = stack_mask(cpu);
	uint64_t sp = (cpu->state.gpr[R_SP] - size) & m;
	cpu_write(cpu, S_SS, sp, v, size);
	cpu->state.gpr[R_SP] = (cpu->state.gpr[R_SP] & ~m) | sp;
}

uint64_t
cpu_pop(struct cpu *cpu, unsigned size)
{
	uint64_t m = stack_mask(cpu);
	uint64_t sp = cpu->state.gpr[R_SP] & m;
	uint64_t v = cpu_read(cpu, S_SS, sp, size);
	cpu->state.gpr[R_SP] = (cpu->state.gpr[R_SP] & ~m) | ((sp + size) & m);
	return v;
}

uint64_t
cpu_stack_peek(struct cpu *cpu, uint64_t depth, unsigned size)
{
	uint64_t m = stack_mask(cpu);
	return cpu_read(cpu, S_SS, (cpu->state.gpr[R_SP] + depth) & m, size);
}

void
cpu_stack_adjust(struct cpu *cpu, int64_t delta)
{
	uint64_t m = stack_mask(cpu);
	cpu->state.gpr[R_SP] =
		(cpu->state.gpr[R_SP] & ~m) | ((cpu->state.gpr[R_SP] + (uint64_t)delta) & m);
}
