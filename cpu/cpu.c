/*
 * fugu — the processor: creation, RESET state, A20 and memory-map changes,
 * and the state dump. The mode gate is in mode.c, the run loop in run.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chipset/state.h" /* the restore helper: bools normalised */
#include "cpu/vmx/vmx.h"
#include "cpu/cpu_internal.h"
#include "cpu/exec/x87.h"
#include "cpu/jit/jit.h"
#include "cpu/msr.h"
#include "cpu/tcache.h"
#include "cpu/translate.h"
#include "trace/events.h"
#include "mmu/paging.h"
#include "mmu/physmem.h"

_Noreturn void
cpu_unmodelled(struct cpu *cpu, const char *what)
{
	fprintf(stderr,
		"fugu: the guest used %s, which fugu does not model yet (at %04x:%" PRIx64 ")\n",
		what, cpu->state.seg[S_CS].sel, cpu->insn_rip);
	cpu->shutdown = true;
	longjmp(cpu->fault_jmp, 2);
}

/* Code was written (by any CPU or a device): the traces are shared, so dropping
 * them once is enough; whichever CPU runs now ends its trace. */
static void
on_code_written(void *opaque, uint64_t pa, uint64_t len)
{
	struct cpu *cpu = opaque;
	uint64_t end = pa + len;
	for (uint64_t p = pa & ~0xfffull; p < end; p += 0x1000)
		tcache_invalidate_page(cpu, p);
	struct cpu *c = cpu;
	do {
		c->stop_trace = true; /* the running trace may have been among them */
		c = c->sibling;
	} while (c != cpu);
}

/* The physical map changed: every CPU's TLB holds host pointers into it. */
static void
on_map_changed(void *opaque)
{
	struct cpu *cpu = opaque, *c = cpu;
	do {
		cpu_memory_map_changed(c);
		c = c->sibling;
	} while (c != cpu);
}

struct cpu *
cpu_create(const struct cpu_config *cfg)
{
	struct cpu *cpu = calloc(1, sizeof(*cpu));
	if (!cpu)
		return NULL;
	cpu->index = cfg->index;
	cpu->apic_id = cfg->apic_id;
	cpu->sibling = cpu;
	if (cfg->share_with) {
		cpu->tcache = cfg->share_with->tcache;
	} else {
		cpu->tcache = tcache_create(tracer_wants(cfg->tracer, TRACE_CAT_INSN));
		cpu->owns_tcache = true;
		if (!cpu->tcache) {
			free(cpu);
			return NULL;
		}
	}
	cpu->mem = cfg->mem;
	cpu->io = cfg->io;
	cpu->features = cfg->features;
	cpu->bus = cfg->bus;
	cpu->clock_ns = cfg->clock_ns;
	cpu->clock_opaque = cfg->clock_opaque;
	cpu->tracer = cfg->tracer;
	cpu->count_insns = cfg->count_insns;
	cpu->jit = jit_create((enum jit_mode)cfg->jit); /* NULL: off or not available */
	cpu->jit_check = cpu->jit && jit_checking(cpu->jit);
	if (cfg->share_with) { /* join the ring; the first CPU keeps the map's hooks */
		cpu->sibling = cfg->share_with->sibling;
		cfg->share_with->sibling = cpu;
	} else {
		if (cpu->tracer)
			cpu->tracer->cpu =
				cpu; /* heads the events of devices that do not know the CPU */
		cpu->mem->code_written = on_code_written;
		cpu->mem->map_changed = on_map_changed;
		cpu->mem->notify_opaque = cpu;
	}
	vmx_create(cpu);
	cpu_reset(cpu);
	return cpu;
}

void
cpu_destroy(struct cpu *cpu)
{
	if (!cpu)
		return;
	struct cpu *prev = cpu; /* leave the ring */
	while (prev->sibling != cpu)
		prev = prev->sibling;
	prev->sibling = cpu->sibling;
	if (cpu->owns_tcache)
		tcache_destroy(cpu->tcache);
	jit_destroy(cpu->jit);
	vmx_destroy(cpu);
	free(cpu);
}

void
cpu_memory_map_changed(struct cpu *cpu)
{
	tlb_flush_all(&cpu->tlb);
	cpu_trace_tlb_flush(cpu, TRACE_FLUSH_ALL, 0, "physical-map");
	tcache_flush(cpu);
	cpu->stop_trace = true;
	/* A map change is costly work per instruction (a guest can move a BAR in
	 * a loop): leave cpu_exec so the run loop sees the host clock. */
	cpu_raise_events(cpu, EV_STOP);
}

void
cpu_state_changed(struct cpu *cpu)
{
	cpu_mode_update(cpu);
	cpu->stop_trace = true;
}

void
cpu_save(struct cpu *cpu, struct cpu_saved *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(&s->state, &cpu->state, sizeof(s->state)); /* padding too: files compare */
	s->state.rflags = rflags_read(cpu);
	s->icount = cpu->icount;
	s->a20_mask = cpu->a20_mask;
	s->faults = cpu->faults;
	s->events = cpu->events & ~(uint32_t)EV_STOP;
	s->dbg_deferred = cpu->dbg_deferred;
	s->shutdown = cpu->shutdown;
}

size_t
cpu_save_vmx(const struct cpu *cpu, void *buf, size_t len)
{
	if (!cpu->vmx)
		return 0;
	/* struct vmx is plain data (the EPT walk's pointers are in the CPU). */
	size_t need = sizeof(*cpu->vmx) + 1;
	if (len >= need) {
		memcpy(buf, cpu->vmx, sizeof(*cpu->vmx));
		((uint8_t *)buf)[sizeof(*cpu->vmx)] = cpu->vmx_nonroot;
	}
	return need;
}

/* The bools of struct vmx, normalised on restore as the devices' (chipset/state.h). */
static const size_t STATE_KEEP vmx_bools[] = {
	offsetof(struct vmx, on),
	offsetof(struct vmx, launched),
	offsetof(struct vmx, current_shadow),
	offsetof(struct vmx, injecting),
	offsetof(struct vmx, hlt_wake),
	offsetof(struct vmx, guest_shutdown),
	offsetof(struct vmx, smm_on),
	offsetof(struct vmx, smm_nonroot),
	offsetof(struct vmx, in_iret),
	offsetof(struct vmx, preempt_on),
	offsetof(struct vmx, mtf_pending),
	offsetof(struct vmx, ple_seen),
	offsetof(struct vmx, ept_on),
	offsetof(struct vmx, pml_on),
	offsetof(struct vmx, ve_on),
	offsetof(struct vmx, ept_misconfig),
	offsetof(struct vmx, ept_pml_full),
	offsetof(struct vmx, ept_apic_access),
	offsetof(struct vmx, apic_access_on),
	offsetof(struct vmx, apic_write_pending),
	offsetof(struct vmx, vintr),
};

/* The limits of struct vmx (chipset/state.h): the offsets into the
 * APIC-access page that APIC-write emulation and an APIC-access exit's
 * qualification use (a 16-byte aligned register; any byte of the page). */
static const struct state_limit vmx_limits[] = {
	STATE_MASK(struct vmx, apic_write_off, 0xff0),
	STATE_MASK(struct vmx, apic_fetch_off, 0xfff),
};

int
cpu_restore_vmx(struct cpu *cpu, const void *buf, size_t len)
{
	if (!cpu->vmx || len != sizeof(*cpu->vmx) + 1)
		return -1;
	state_restore(cpu->vmx, sizeof(*cpu->vmx), buf, sizeof(*cpu->vmx), STATE_BOOLS(vmx_bools),
		      STATE_LIMITS(vmx_limits));
	/* The cached VMCS holds each field at its width, as VMWRITE stores it
	 * (SDM vol. 3C, 24.11.2): a wider value in a file (an MSR-area count of
	 * 2^40) would reach what no guest can. */
	for (size_t k = 0; k < VMCS_FIELD_COUNT; k++)
		cpu->vmx->f[k] &= vmcs_width_mask(vmcs_enc_width(vmcs_fields[k].enc));
	cpu->vmx_nonroot = ((const uint8_t *)buf)[sizeof(*cpu->vmx)] != 0;
	cpu->stop_trace = true;
	return 0;
}

/*
 * A saved CPU is one this model can be in (docs/FUZZING.md, "CPU state
 * consistency"): what MOV to CR0/CR4, XSETBV, LDMXCSR and the CPL's definition
 * allow, then VM entry's guest-state checks that hold for any processor state
 * (vmx_check_state, SDM vol. 3C, 26.3.1). fugu's code assumes these (an MXCSR
 * reserved bit faulted the host in fugu_sse_host's LDMXCSR: SIGSEGV).
 */
int
cpu_check_saved(const struct cpu *cpu, const struct cpu_saved *saved, char *why, size_t n)
{
	const struct cpu_state *s = &saved->state;
	uint32_t mxcsr;
	memcpy(&mxcsr, s->xsave + XSAVE_MXCSR_OFFSET, sizeof(mxcsr));
	const char *bad = NULL;
	/* MOV to CR0/CR4 (vol. 2B; vol. 3A, 2.5): CR0[63:32] zero, PG only with
	 * PE, NW only with CD; CR4 only the bits of the model's features. */
	if (s->cr0 >> 32)
		bad = "CR0 bits 63:32 set";
	else if ((s->cr0 & CR0_PG) && !(s->cr0 & CR0_PE))
		bad = "CR0.PG without CR0.PE";
	else if ((s->cr0 & CR0_NW) && !(s->cr0 & CR0_CD))
		bad = "CR0.NW without CR0.CD";
	else if (s->cr4 & ~cpu_cr4_writable(cpu))
		bad = "CR4 bits the model lacks";
	else if (mxcsr & ~MXCSR_MASK) /* LDMXCSR/FXRSTOR #GP (vol. 1, 10.2.3) */
		bad = "MXCSR reserved bits";
	else if (!cpu_xcr0_valid(&cpu->features, s->xcr0)) /* XSETBV's rule */
		bad = "XCR0";
	else if (s->intr_shadow > 2)
		bad = "interrupt shadow";
	if (bad) {
		snprintf(why, n, "%s", bad);
		return -1;
	}
	/* The CPL: 0 in real mode, 3 in virtual-8086 mode, SS.DPL otherwise
	 * (vol. 3A, 5.5; VM entry loads it from SS.DPL, 26.3.2.2). */
	unsigned cpl = !(s->cr0 & CR0_PE)   ? 0
		       : (s->rflags & F_VM) ? 3
					    : (s->seg[S_SS].attr & SEG_ATTR_DPL) >> 5;
	if (s->cpl != cpl) {
		snprintf(why, n, "CPL %u, the mode and SS.DPL say %u", s->cpl, cpl);
		return -1;
	}
	const char *check = vmx_check_state(cpu, s);
	if (check) {
		if (!strncmp(check, "guest ", 6))
			check += 6;
		snprintf(why, n, "%s, SDM 26.3.1", check);
		return -1;
	}
	return 0;
}

/*
 * The VMX section against the CPU's: in VMX operation CR4.VMXE is set (23.8)
 * and the VMXON pointer is 4 KiB aligned within MAXPHYADDR (30.3, VMXON); the
 * current-VMCS pointer is none or aligned the same way (VMPTRLD); non-root
 * operation needs VMX operation and a current VMCS; in root operation outside
 * SMM CR0 and CR4 keep the fixed bits (23.8).
 */
int
cpu_check_vmx(const struct cpu *cpu, const void *buf, size_t len, const struct cpu_saved *saved,
	      char *why, size_t n)
{
	if (!cpu->vmx || len != sizeof(*cpu->vmx) + 1)
		return 0; /* the caller refuses the length */
	const uint8_t *b = buf;
	bool on = b[offsetof(struct vmx, on)] != 0, nonroot = b[sizeof(*cpu->vmx)] != 0;
	uint64_t vmxon, current;
	memcpy(&vmxon, b + offsetof(struct vmx, vmxon_ptr), sizeof(vmxon));
	memcpy(&current, b + offsetof(struct vmx, current), sizeof(current));
	uint64_t align = 0xfff | ~((1ull << cpu->maxphyaddr) - 1);
	const struct cpu_state *s = &saved->state;
	const char *bad = NULL;
	if (nonroot && (!on || current == VMCS_NONE))
		bad = "non-root operation without VMXON and a current VMCS";
	else if (!on)
		return 0;
	else if (!(s->cr4 & CR4_VMXE) && !s->in_smm)
		bad = "VMX operation with CR4.VMXE clear";
	else if (vmxon & align)
		bad = "VMXON pointer";
	else if (current != VMCS_NONE && (current & align))
		bad = "current-VMCS pointer";
	else if (!nonroot && !s->in_smm &&
		 (!vmx_cr_fixed_ok(cpu, 0, s->cr0) || !vmx_cr_fixed_ok(cpu, 4, s->cr4)))
		bad = "CR0/CR4 fixed bits in VMX root operation";
	if (bad) {
		snprintf(why, n, "%s", bad);
		return -1;
	}
	return 0;
}

void
cpu_restore(struct cpu *cpu, const struct cpu_saved *s)
{
	memcpy(&cpu->state, &s->state, sizeof(cpu->state));
	cpu->lf.mask = 0;
	cpu->icount = s->icount;
	cpu->a20_mask = s->a20_mask;
	cpu->faults = s->faults;
	cpu->events = s->events;
	cpu->dbg_deferred = s->dbg_deferred;
	cpu->dbg_hits = 0;
	cpu->shutdown = s->shutdown;
	cpu->delivering = false;
	tlb_flush_all(&cpu->tlb);
	cpu_trace_tlb_flush(cpu, TRACE_FLUSH_ALL, 0, "restore");
	cpu->chain_prev = NULL;
	cpu_mode_update(cpu);
	cpu_debug_update(cpu);
	if (cpu->bus.smm_changed)
		cpu->bus.smm_changed(cpu->bus.smm_opaque, cpu->state.in_smm);
	cpu->stop_trace = true;
}

void
cpu_set_a20(struct cpu *cpu, bool enabled)
{
	uint64_t mask = enabled ? ~0ull : ~(1ull << 20);
	if (mask != cpu->a20_mask) {
		cpu->a20_mask = mask;
		tlb_flush_all(&cpu->tlb);
		cpu_trace_tlb_flush(cpu, TRACE_FLUSH_ALL, enabled, "a20");
		cpu->stop_trace = true;
	}
}

/* Processor state after RESET (SDM vol. 3A, 9.1.1, table 9-1), but for the trace cache. */
static void
reset_state(struct cpu *cpu)
{
	memset(cpu->state.gpr, 0, sizeof(cpu->state.gpr));
	const struct cpu_features *f = &cpu->features;
	uint32_t fam = f->family > 15 ? 15 : f->family;
	cpu->state.gpr[R_DX] = (f->stepping & 0xf) | ((f->model & 0xf) << 4) | (fam << 8) |
			       ((f->model >> 4) << 16) |
			       ((f->family > 15 ? f->family - 15 : 0) << 20);
	cpu->state.rip = 0xfff0;
	cpu->state.rflags = F_FIXED1;
	cpu->lf.mask = 0;
	for (int s = 0; s < 6; s++)
		cpu->state.seg[s] =
			(struct segment){ .sel = 0, .base = 0, .limit = 0xffff, .attr = 0x93 };
	cpu->state.seg[S_CS] = (struct segment){
		.sel = 0xf000, .base = 0xffff0000, .limit = 0xffff, .attr = 0x9b
	};
	cpu->state.ldtr = (struct segment){ .limit = 0xffff, .attr = 0x82 };
	cpu->state.tr = (struct segment){ .limit = 0xffff, .attr = 0x8b };
	cpu->state.gdtr = (struct dtr){ 0, 0xffff };
	cpu->state.idtr = (struct dtr){ 0, 0xffff };
	cpu->state.cr2 = cpu->state.cr8 = 0;
	struct control_regs ctl = { 0x60000010, 0, 0, 0 }; /* CD, NW, ET: caches off */
	cpu_load_control(cpu, &ctl, CTL_FLUSH_ALL, "reset");
	memset(cpu->state.dr, 0, sizeof(cpu->state.dr));
	cpu->state.dr[6] = 0xffff0ff0;
	cpu->state.dr[7] = 0x400;
	cpu->dbg_data = 0;
	cpu->dbg_hits = cpu->dbg_deferred = 0;
	cpu->state.cpl = 0;
	cpu->state.tsc_offset = 0;
	msr_reset(cpu);
	x87_reset(cpu);
	cpu->state.xcr0 = 1; /* XCR0 = 1 at power-up and RESET, not INIT (vol. 3A, table 9-1) */
	vmx_reset(cpu);
	cpu->a20_mask = ~0ull;
	cpu->state.intr_shadow = 0;
	cpu->delivering = false;
	cpu->shutdown = false;
	cpu->shutdown_why = NULL;
	cpu->events &= ~(uint32_t)(EV_RESET | EV_SMI | EV_NMI);
	cpu->state.nmi_blocked = false;
	/* The BSP runs; an AP waits for a STARTUP IPI (vol. 3A, 8.4.1). */
	cpu->wait_sipi = cpu->index != 0;
	cpu->state.halted = cpu->wait_sipi;
	cpu->events &= ~(uint32_t)(EV_INIT | EV_SIPI);
	cpu_smm_reset(cpu);
	cpu_mode_update(cpu);
	cpu_paging_reset(cpu); /* MAXPHYADDR, PDPTEs, PKRU, an empty TLB */
}

/* RESET: every CPU of the machine starts running (an AP waits: the board's
 * INIT after reset, pc_reset). */
void
cpu_reset(struct cpu *cpu)
{
	reset_state(cpu);
	tcache_flush(cpu);
}

/*
 * INIT (SDM vol. 3A, 9.1, table 9-1): as RESET, except that the x87, SSE and
 * XCR0 state, the MSRs (MTRRs, machine check, TSC) and SMBASE are kept. The BSP runs from the reset
 * vector; an AP waits for a STARTUP IPI (8.4.1). The shared trace cache is left alone: INIT changes
 * no code.
 */
void
cpu_init(struct cpu *cpu)
{
	struct msr_state msr = cpu->state.msr;
	uint64_t xcr0 = cpu->state.xcr0, tsc_offset = cpu->state.tsc_offset;
	uint32_t smbase = cpu->state.smbase;
	uint8_t xsave[XSAVE_AREA_SIZE];
	uint32_t sipi = cpu->events & EV_SIPI; /* latched after the INIT: taken next */
	memcpy(xsave, cpu->state.xsave, sizeof(xsave));
	reset_state(cpu);
	cpu->events |= sipi;
	cpu->state.msr = msr;
	cpu->state.xcr0 = xcr0;
	cpu->state.tsc_offset = tsc_offset;
	cpu->state.smbase = smbase;
	memcpy(cpu->state.xsave, xsave, sizeof(xsave));
	cpu->stop_trace = true;
}

uint64_t
cpu_get_rflags(struct cpu *cpu)
{
	return rflags_read(cpu);
}

void
cpu_set_rflags(struct cpu *cpu, uint64_t v)
{
	cpu->lf.mask = 0;
	cpu->state.rflags = (v & ~(uint64_t)0x8028) | F_FIXED1;
	cpu_mode_update(cpu);
}

/*
 * Flags written by POPF and IRET (SDM vol. 2B, POPF, table "Effect of POPF on
 * EFLAGS"): IOPL only at CPL 0, IF only when CPL <= IOPL; VM, VIP, VIF and RF
 * never; a 16-bit operand leaves bits 16 and up alone.
 */
void
rflags_write_checked(struct cpu *cpu, uint64_t v, unsigned opsize)
{
	uint64_t writable = F_ARITH | F_TF | F_DF | F_NT | F_AC | F_ID | F_IF | F_IOPL;
	unsigned iopl = (cpu->state.rflags & F_IOPL) >> 12;
	if (!cpu_real_mode(cpu)) {
		if (cpu->state.cpl > 0)
			writable &= ~(uint64_t)F_IOPL;
		if (cpu->state.cpl > iopl)
			writable &= ~(uint64_t)F_IF;
	}
	if (opsize == 2)
		writable &= 0xffff;
	flags_materialize(cpu);
	cpu->state.rflags = (cpu->state.rflags & ~writable) | (v & writable) | F_FIXED1;
	cpu->stop_trace = true; /* IF or TF may have changed */
}

uint64_t
cpu_tsc(struct cpu *cpu)
{
	if (__builtin_expect(cpu->jcheck != NULL, 0) && cpu->clock_ns)
		jit_check_io(cpu); /* -jit check: a clock read cannot be repeated */
	uint64_t ns = cpu->clock_ns ? cpu->clock_ns(cpu->clock_opaque) : cpu->icount;
	/* One tick per virtual nanosecond: CPU_TSC_HZ, the rate CPUID reports. */
	_Static_assert(CPU_TSC_HZ == 1000000000u, "the TSC counts nanoseconds");
	return ns + cpu->state.tsc_offset;
}

/* The architectural state, every field of the state table, for a triple fault or a
 * timeout: segments one per line, the other registers four per line. */
void
cpu_dump_state(struct cpu *cpu, void *file)
{
	FILE *f = file;
	flags_materialize(cpu);
	fprintf(f, "icount=%" PRIu64 "\n", cpu->icount);
	unsigned col = 0;
	for (unsigned k = 0; k < STATE_FIELD_COUNT; k++) {
		const struct state_field *sf = &state_fields[k];
		if (sf->group == SG_SEGMENT &&
		    k + 3 < STATE_FIELD_COUNT) { /* sel base limit attr */
			const char *dot = strchr(sf->name, '.');
			fprintf(f,
				"%s%-4.*s sel=%04" PRIx64 " base=%016" PRIx64 " limit=%08" PRIx64
				" attr=%04" PRIx64 "\n",
				col ? "\n" : "", (int)(dot - sf->name), sf->name,
				state_get(&cpu->state, k), state_get(&cpu->state, k + 1),
				state_get(&cpu->state, k + 2), state_get(&cpu->state, k + 3));
			col = 0;
			k += 3;
			continue;
		}
		fprintf(f, "%s%s=%0*" PRIx64, col ? " " : "", sf->name, 2 * sf->size,
			state_get(&cpu->state, k));
		if (++col == 4 || k + 1 == STATE_FIELD_COUNT ||
		    state_fields[k + 1].group != sf->group) {
			fputc('\n', f);
			col = 0;
		}
	}
}
