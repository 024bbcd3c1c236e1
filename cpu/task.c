/*
 * fugu — hardware task switching (SDM vol. 3A, chapter 7): JMP/CALL to a TSS
 * descriptor or through a task gate, interrupts and exceptions through a task
 * gate in the IDT, and IRET with NT set. 32-bit and 16-bit TSSes. IA-32e mode
 * has no task switches: its callers raise #GP before getting here.
 */
#include "cpu/desc.h"
#include "cpu/exec/exec.h"
#include "mmu/paging.h"

/* Offsets in a 32-bit and a 16-bit TSS (SDM vol. 3A, figures 7-2 and 7-11). */
struct tss_layout {
	unsigned ip, flags, regs, seg, ldt, size; /* regs: AX..DI; seg: ES CS SS DS (FS GS) */
	unsigned nseg, limit;
};
static const struct tss_layout tss32 = { 32, 36, 40, 72, 96, 4, 6, 0x67 };
static const struct tss_layout tss16 = { 14, 16, 18, 34, 42, 2, 4, 0x2b };

static uint64_t
rd(struct cpu *cpu, uint64_t base, unsigned off, unsigned size)
{
	return cpu_read_linear(cpu, base + off, size, true);
}

static void
wr(struct cpu *cpu, uint64_t base, unsigned off, uint64_t v, unsigned size)
{
	cpu_write_linear(cpu, base + off, v, size, true);
}

/* Set or clear the busy bit of a TSS descriptor in the GDT (type bit 1). */
static void
set_busy(struct cpu *cpu, uint16_t sel, bool busy)
{
	uint64_t a = cpu->state.gdtr.base + (sel & ~7u) + 5;
	uint8_t b = (uint8_t)cpu_read_linear(cpu, a, 1, true);
	b = busy ? (uint8_t)(b | 2) : (uint8_t)(b & ~2u);
	cpu_write_linear(cpu, a, b, 1, true);
}

/*
 * Load a segment register of the new task with the checks of SDM vol. 3A,
 * 7.3 step 13 and table 7-1 (errors are #TS(sel), not present #NP(sel) or, for
 * SS, #SS(sel)), in the context of the new task.
 */
static void
task_load_seg(struct cpu *cpu, unsigned s, uint16_t sel, unsigned ext)
{
	struct descriptor d;
	uint32_t err = (sel & 0xfffc) + ext;
	unsigned rpl = sel & 3, cpl = cpu->state.cpl;
	if ((sel & ~3u) == 0) {
		if (s == S_CS || s == S_SS)
			cpu_fault(cpu, EXC_TS, err);
		cpu->state.seg[s] = (struct segment){ .sel = sel };
		return;
	}
	desc_fetch(cpu, sel, &d, EXC_TS);
	unsigned type = d.attr & 0xf, dpl = desc_dpl(&d);
	bool code = type & 8;
	if (!(d.attr & SEG_ATTR_S))
		cpu_fault(cpu, EXC_TS, err);
	if (s == S_CS) {
		if (!code || ((type & 4) ? dpl > rpl : dpl != rpl))
			cpu_fault(cpu, EXC_TS, err);
	} else if (s == S_SS) {
		if (code || !(type & 2) || rpl != cpl || dpl != cpl)
			cpu_fault(cpu, EXC_TS, err);
	} else {
		if (code && !(type & 2))
			cpu_fault(cpu, EXC_TS, err);
		if ((!code || !(type & 4)) && (dpl < cpl || dpl < rpl))
			cpu_fault(cpu, EXC_TS, err);
	}
	if (!(d.attr & SEG_ATTR_P))
		cpu_fault(cpu, s == S_SS ? EXC_SS : EXC_NP, err);
	desc_set_accessed(cpu, sel, &d);
	seg_set(cpu, s, sel, &d);
}

/*
 * The task switch proper (SDM vol. 3A, 7.3, steps 1-14). Everything that can
 * fault in the old task's context -- the new TSS descriptor, its limit, reading
 * the new TSS -- happens before the old state is saved; faults after the
 * commit point (LDT, segments, CR3) are raised in the new task.
 */
void
task_switch(struct cpu *cpu, uint16_t sel, enum task_reason why, uint64_t return_rip,
	    uint32_t error_code, unsigned ext)
{
	uint32_t err = (sel & 0xfffc) + ext;
	unsigned badvec = why == TASK_IRET ? EXC_TS : EXC_GP;
	if (sel & 4)
		cpu_fault(cpu, badvec, err); /* TSS descriptors live in the GDT */
	struct descriptor nd;
	if ((sel & ~3u) == 0)
		cpu_fault(cpu, badvec, err);
	desc_fetch(cpu, sel, &nd, badvec);
	unsigned type = nd.attr & 0x1f;
	if (why == TASK_IRET ? type != 3 && type != 11 : type != 1 && type != 9)
		cpu_fault(cpu, badvec, err);
	if (!(nd.attr & SEG_ATTR_P))
		cpu_fault(cpu, EXC_NP, err);
	const struct tss_layout *nl = (type & 8) ? &tss32 : &tss16;
	if (nd.limit < nl->limit)
		cpu_fault(cpu, EXC_TS, err);
	const struct tss_layout *ol = (cpu->state.tr.attr & 8) ? &tss32 : &tss16;
	if (cpu->state.tr.limit < ol->limit)
		cpu_fault(cpu, EXC_TS, (cpu->state.tr.sel & 0xfffc) + ext);

	/* Read the new task's state. */
	unsigned sz = nl->size;
	uint64_t nip = rd(cpu, nd.base, nl->ip, sz);
	uint64_t nfl = rd(cpu, nd.base, nl->flags, sz);
	uint64_t nregs[8];
	uint16_t nsel[6] = { 0 };
	for (unsigned k = 0; k < 8; k++)
		nregs[k] = rd(cpu, nd.base, nl->regs + k * sz, sz);
	for (unsigned k = 0; k < nl->nseg; k++)
		nsel[k] = (uint16_t)rd(cpu, nd.base, nl->seg + k * sz, 2);
	uint16_t nldt = (uint16_t)rd(cpu, nd.base, nl->ldt, 2);
	uint64_t ncr3 = sz == 4 ? rd(cpu, nd.base, 28, 4) : 0;
	bool tbit = sz == 4 && (rd(cpu, nd.base, 100, 2) & 1);

	/* Save the old task (step 8): EFLAGS with NT cleared for IRET. */
	uint64_t ofl = rflags_read(cpu);
	if (why == TASK_IRET)
		ofl &= ~(uint64_t)F_NT;
	uint64_t ob = cpu->state.tr.base;
	unsigned osz = ol->size;
	wr(cpu, ob, ol->ip, return_rip, osz);
	wr(cpu, ob, ol->flags, ofl, osz);
	for (unsigned k = 0; k < 8; k++)
		wr(cpu, ob, ol->regs + k * osz, cpu->state.gpr[k], osz);
	for (unsigned k = 0; k < ol->nseg; k++)
		wr(cpu, ob, ol->seg + k * osz, cpu->state.seg[k].sel, 2);
	/* Busy flags and the back link (steps 4, 9, 10; 7.4). */
	if (why == TASK_JMP || why == TASK_IRET)
		set_busy(cpu, cpu->state.tr.sel, false);
	if (why == TASK_CALL || why == TASK_INT) {
		wr(cpu, nd.base, 0, cpu->state.tr.sel, 2);
		nfl |= F_NT;
	}
	if (why != TASK_IRET)
		set_busy(cpu, sel, true);
	nd.attr |= 2;

	/* Commit point: the new task's state (steps 11-13). */
	cpu->state.tr =
		(struct segment){ .sel = sel, .base = nd.base, .limit = nd.limit, .attr = nd.attr };
	struct control_regs ctl = { cpu->state.cr0 | CR0_TS, cpu->state.cr3, cpu->state.cr4,
				    cpu->state.efer };
	unsigned ctl_flags = 0;
	if (sz == 4 && (ctl.cr0 & CR0_PG)) {
		ctl.cr3 = ncr3; /* a 32-bit TSS's CR3, loaded with paging on (7.3, step 12) */
		ctl_flags = CTL_LOAD_PDPTES | CTL_CR3_WRITTEN;
	}
	if (!cpu_load_control(cpu, &ctl, ctl_flags, "task-switch"))
		cpu_gp0(cpu); /* an invalid PDPTE in PAE paging */
	cpu->lf.mask = 0;
	if (sz == 2)
		nfl = (cpu->state.rflags & ~0xffffull) | (nfl & 0xffff);
	cpu->state.rflags = (nfl & 0x3f7fd5) | F_FIXED1;
	cpu->state.rip = sz == 2 ? nip & 0xffff : nip;
	for (unsigned k = 0; k < 8; k++)
		reg_write(cpu, k, sz, nregs[k]);
	for (unsigned k = 0; k < nl->nseg; k++)
		cpu->state.seg[k].sel = nsel[k];
	cpu->state.dr[7] &= ~(uint64_t)0x55; /* local breakpoint enables (17.2.4) */
	cpu_debug_update(cpu);

	/* LDTR: null is allowed; else an LDT descriptor in the GDT, present. */
	if ((nldt & ~3u) == 0) {
		cpu->state.ldtr = (struct segment){ .sel = nldt };
	} else {
		struct descriptor ld;
		if (nldt & 4)
			cpu_fault(cpu, EXC_TS, (nldt & 0xfffc) + ext);
		desc_fetch(cpu, nldt, &ld, EXC_TS);
		if ((ld.attr & 0x1f) != 2 || !(ld.attr & SEG_ATTR_P))
			cpu_fault(cpu, EXC_TS, (nldt & 0xfffc) + ext);
		cpu->state.ldtr = (struct segment){
			.sel = nldt, .base = ld.base, .limit = ld.limit, .attr = ld.attr
		};
	}
	if (cpu->state.rflags & F_VM) {
		/* Virtual-8086 task: real-mode style segments, CPL 3 (SDM vol. 3A, 20.2.5). */
		for (unsigned k = 0; k < 6; k++)
			seg_load_real(cpu, k, nsel[k]);
		cpu_mode_update(cpu);
	} else {
		cpu->state.cpl = nsel[S_CS] & 3;
		task_load_seg(cpu, S_CS, nsel[S_CS], ext);
		task_load_seg(cpu, S_SS, nsel[S_SS], ext);
		static const unsigned data[4] = { S_ES, S_DS, S_FS, S_GS };
		for (unsigned k = 0; k < 4; k++)
			if (data[k] < nl->nseg)
				task_load_seg(cpu, data[k], nsel[data[k]], ext);
		cpu_mode_update(cpu);
	}
	if (cpu->code_size != 8 && cpu->state.rip > cpu->state.seg[S_CS].limit)
		cpu_fault(cpu, EXC_GP, ext);
	/* An exception's error code goes on the new task's stack (7.3 step 14, 6.12.2). */
	if (error_code != NO_ERRCODE)
		cpu_push(cpu, error_code, sz);
	/* The T bit: #DB with DR6.BT before the new task's first instruction (17.3.1.5). */
	if (tbit)
		cpu->dbg_deferred |= DR6_BT;
	cpu->stop_trace = true;
}
