/*
 * fugu — exceptions and interrupts: raising a fault from anywhere inside an
 * instruction, the double-fault rules, and delivery through the real-mode IVT or
 * the protected-mode IDT (SDM vol. 3A, chapter 6; 20.1.4 for real mode).
 * Task gates hand over to task_switch (exec/task.c); interrupts from
 * virtual-8086 mode go to a ring-0 handler with the data segments saved (20.3.1).
 */
#include <stdio.h>

#include "cpu/cpu_internal.h"
#include "cpu/desc.h"
#include "cpu/vmx/vmx.h"
#include "trace/events.h"

enum exc_class { CLASS_BENIGN, CLASS_CONTRIBUTORY, CLASS_PAGE_FAULT, CLASS_DOUBLE_FAULT };

static enum exc_class
exc_class(unsigned vector)
{
	switch (vector) {
	case EXC_DE:
	case EXC_TS:
	case EXC_NP:
	case EXC_SS:
	case EXC_GP: return CLASS_CONTRIBUTORY;
	case EXC_PF:
	case EXC_VE: return CLASS_PAGE_FAULT; /* table 6-4 puts #VE with #PF */
	case EXC_DF: return CLASS_DOUBLE_FAULT;
	default: return CLASS_BENIGN;
	}
}

/* Exceptions that push an error code in protected mode (SDM vol. 3A, table 6-1). */
static bool
has_error_code(unsigned vector)
{
	return vector == EXC_DF || (vector >= EXC_TS && vector <= EXC_PF) || vector == EXC_AC;
}

_Noreturn void
cpu_fault(struct cpu *cpu, unsigned vector, uint32_t error_code)
{
	cpu->pending_vector = (uint8_t)vector;
	cpu->pending_error = error_code;
	longjmp(cpu->fault_jmp, 1);
}

/* ---- real mode ---- */

static void
deliver_real(struct cpu *cpu, unsigned vector, uint64_t return_rip)
{
	if (vector * 4u + 3 > cpu->state.idtr.limit)
		cpu_fault(cpu, EXC_GP, NO_ERRCODE);
	uint64_t entry = cpu_read_linear(cpu, cpu->state.idtr.base + vector * 4u, 4, true);
	uint64_t m = stack_mask(cpu);
	uint64_t sp = cpu->state.gpr[R_SP];
	uint16_t flags = (uint16_t)rflags_read(cpu);
	/* All three stores are checked before the first one and before any register
	 * changes (SDM vol. 2A, INT n, real-address mode: #SS if the 6 bytes do not fit). */
	cpu_probe_write(cpu, S_SS, (sp - 4) & m, 2);
	cpu_probe_write(cpu, S_SS, (sp - 6) & m, 2);
	cpu_write(cpu, S_SS, (sp - 2) & m, flags, 2);
	cpu_write(cpu, S_SS, (sp - 4) & m, cpu->state.seg[S_CS].sel, 2);
	cpu_write(cpu, S_SS, (sp - 6) & m, return_rip & 0xffff, 2);
	cpu_stack_adjust(cpu, -6);
	cpu->state.rflags &= ~(uint64_t)(F_IF | F_TF | F_AC | F_RF);
	seg_load_real(cpu, S_CS, (uint16_t)(entry >> 16));
	cpu->state.rip = entry & 0xffff;
}

/*
 * The code segment a gate names (SDM vol. 3A, 6.12.1.1 and 6.14.1): a non-null
 * selector inside the GDT/LDT, a present code segment with DPL <= CPL; faults
 * carry the selector and the EXT bit. Fills *d with the decoded descriptor.
 */
static void
handler_code_segment(struct cpu *cpu, uint16_t sel, uint32_t ext, struct descriptor *d)
{
	if ((sel & ~3u) == 0)
		cpu_fault(cpu, EXC_GP, ext);
	uint32_t sel_err = (sel & 0xfffc) + ext;
	uint64_t dbase = (sel & 4) ? cpu->state.ldtr.base : cpu->state.gdtr.base;
	uint32_t dlimit = (sel & 4) ? cpu->state.ldtr.limit : cpu->state.gdtr.limit;
	if ((uint32_t)(sel | 7) > dlimit)
		cpu_fault(cpu, EXC_GP, sel_err);
	uint64_t raw = cpu_read_linear(cpu, dbase + (sel & ~7u), 8, true);
	desc_decode(d, raw);
	if (!(d->attr & SEG_ATTR_S) || !(d->attr & 8) || ((d->attr >> 5) & 3) > cpu->state.cpl)
		cpu_fault(cpu, EXC_GP, sel_err);
	if (!(d->attr & SEG_ATTR_P))
		cpu_fault(cpu, EXC_NP, sel_err);
}

/* ---- IA-32e mode (64-bit IDT) ---- */

/*
 * Delivery in IA-32e mode (SDM vol. 3A, 6.14): 16-byte gates, only 64-bit
 * interrupt/trap gates; the target must be 64-bit code; the stack comes from
 * the IST or, on a privilege change, from the 64-bit TSS; SS:RSP is always
 * pushed, the new RSP is aligned to 16 bytes, and every push is 8 bytes.
 */
static void
deliver_long(struct cpu *cpu, unsigned vector, enum event_kind kind, uint32_t error_code,
	     uint64_t return_rip)
{
	uint32_t ext = kind == EVENT_SOFTWARE_INT ? 0 : 1;
	uint32_t idt_err = vector * 8u + 2 + ext;
	if (vector * 16u + 15 > cpu->state.idtr.limit)
		cpu_fault(cpu, EXC_GP, idt_err);
	uint64_t lo = cpu_read_linear(cpu, cpu->state.idtr.base + vector * 16u, 8, true);
	uint64_t hi = cpu_read_linear(cpu, cpu->state.idtr.base + vector * 16u + 8, 8, true);
	unsigned type = (lo >> 40) & 0x1f, dpl = (lo >> 45) & 3, ist = (lo >> 32) & 7;
	if (type != 14 && type != 15)
		cpu_fault(cpu, EXC_GP, idt_err);
	if (kind == EVENT_SOFTWARE_INT && dpl < cpu->state.cpl)
		cpu_fault(cpu, EXC_GP, idt_err);
	if (!((lo >> 47) & 1))
		cpu_fault(cpu, EXC_NP, idt_err);
	uint16_t sel = (uint16_t)(lo >> 16);
	uint64_t offset = (lo & 0xffff) | ((lo >> 32) & 0xffff0000ull) | (hi << 32);
	struct descriptor cs_desc;
	handler_code_segment(cpu, sel, ext, &cs_desc);
	uint16_t attr = cs_desc.attr;
	unsigned cdpl = (attr >> 5) & 3;
	if (!(attr & SEG_ATTR_L) || (attr & SEG_ATTR_DB))
		cpu_fault(cpu, EXC_GP, (sel & 0xfffc) + ext); /* must be 64-bit code (6.14.1) */
	if (!is_canonical(offset))
		cpu_fault(cpu, EXC_GP, ext);

	unsigned new_cpl = (attr & 4) ? cpu->state.cpl : cdpl;
	uint64_t old_rsp = cpu->state.gpr[R_SP], rsp = old_rsp;
	uint16_t old_ss = cpu->state.seg[S_SS].sel;
	bool stack_switch = new_cpl < cpu->state.cpl;
	if (ist || stack_switch) {
		uint32_t slot = ist ? 36 + (ist - 1) * 8 : 4 + new_cpl * 8;
		if (slot + 7 > cpu->state.tr.limit)
			cpu_fault(cpu, EXC_TS, (cpu->state.tr.sel & 0xfffc) + ext);
		rsp = cpu_read_linear(cpu, cpu->state.tr.base + slot, 8, true);
		if (!is_canonical(rsp))
			cpu_fault(cpu, EXC_SS, ext);
	}
	rsp &= ~0xfull;
	uint64_t frame[6];
	unsigned n = 0;
	bool errc = kind == EVENT_EXCEPTION && error_code != NO_ERRCODE;
	if (errc)
		frame[n++] = error_code;
	frame[n++] = return_rip;
	frame[n++] = cpu->state.seg[S_CS].sel;
	frame[n++] = rflags_read(cpu);
	frame[n++] = old_rsp;
	frame[n++] = old_ss;
	/* Write the frame below the new RSP as supervisor accesses (the stack may
	 * fault: the CPU state is untouched until all stores succeeded). */
	for (unsigned k = 0; k < n; k++)
		cpu_write_linear(cpu, rsp - 8 * (n - k), frame[k], 8, true);
	/* Loading CS sets the descriptor's accessed bit (vol. 3A, 3.4.5.1), and the
	 * register caches the descriptor's limit: a VM exit saves both, and the next
	 * VM entry checks them (vol. 3C, 26.3.1.2: CS type 9, 11, 13 or 15). */
	desc_set_accessed(cpu, sel, &cs_desc);
	cpu->state.gpr[R_SP] = rsp - 8 * n;
	if (stack_switch)
		cpu->state.seg[S_SS] = (struct segment){ .sel = (uint16_t)new_cpl, .attr = 0 };
	cpu->state.seg[S_CS] = (struct segment){ .sel = (uint16_t)((sel & ~3u) | new_cpl),
						 .base = 0,
						 .limit = cs_desc.limit,
						 .attr = cs_desc.attr };
	cpu->state.cpl = (uint8_t)new_cpl;
	cpu_mode_update(cpu);
	cpu->state.rip = offset;
	cpu->state.rflags &= ~(uint64_t)(F_TF | F_NT | F_VM | F_RF);
	if (type == 14)
		cpu->state.rflags &= ~(uint64_t)F_IF;
}

/* ---- protected mode (32-bit IDT) ---- */

static void
deliver_protected(struct cpu *cpu, unsigned vector, enum event_kind kind, uint32_t error_code,
		  uint64_t return_rip)
{
	uint32_t ext = kind == EVENT_SOFTWARE_INT ? 0 : 1; /* EXT bit of error codes */
	uint32_t idt_err = vector * 8u + 2 + ext;
	bool v86 = cpu_v86(cpu);
	if (vector * 8u + 7 > cpu->state.idtr.limit)
		cpu_fault(cpu, EXC_GP, idt_err);
	uint64_t gate = cpu_read_linear(cpu, cpu->state.idtr.base + vector * 8u, 8, true);
	unsigned type = (gate >> 40) & 0x1f, dpl = (gate >> 45) & 3;
	bool present = (gate >> 47) & 1;
	if (type != 6 && type != 7 && type != 14 && type != 15) {
		if (type == 5) {
			/* A task gate: switch tasks (SDM vol. 3A, 6.12.2); the TSS's DPL is
			 * not checked, the gate's is for INT n. */
			if (kind == EVENT_SOFTWARE_INT && dpl < cpu->state.cpl)
				cpu_fault(cpu, EXC_GP, idt_err);
			if (!present)
				cpu_fault(cpu, EXC_NP, idt_err);
			task_switch(cpu, (uint16_t)(gate >> 16), TASK_INT, return_rip, error_code,
				    ext);
			return;
		}
		cpu_fault(cpu, EXC_GP, idt_err);
	}
	if (kind == EVENT_SOFTWARE_INT && dpl < cpu->state.cpl)
		cpu_fault(cpu, EXC_GP, idt_err);
	if (!present)
		cpu_fault(cpu, EXC_NP, idt_err);
	bool gate32 = type & 8, trap = type & 1;
	uint16_t sel = (uint16_t)(gate >> 16);
	uint64_t offset = (gate & 0xffff) | ((gate >> 32) & 0xffff0000ull);
	if (!gate32)
		offset &= 0xffff;
	struct descriptor cd;
	handler_code_segment(cpu, sel, ext, &cd);
	uint32_t sel_err = (sel & 0xfffc) + ext;
	uint16_t attr = cd.attr;
	unsigned cdpl = (attr >> 5) & 3;
	uint64_t cbase = cd.base;
	uint32_t climit = cd.limit;
	if (offset > climit)
		cpu_fault(cpu, EXC_GP, ext);

	unsigned psize = gate32 ? 4 : 2;
	uint64_t flags = rflags_read(cpu);
	uint16_t old_cs = cpu->state.seg[S_CS].sel, old_ss = cpu->state.seg[S_SS].sel;
	uint64_t old_sp = cpu->state.gpr[R_SP];
	bool conforming = attr & 4;
	bool errc = kind == EVENT_EXCEPTION && error_code != NO_ERRCODE;
	/* From virtual-8086 mode only a ring-0 non-conforming handler will do (20.3.1.1). */
	if (v86 && (conforming || cdpl != 0))
		cpu_fault(cpu, EXC_GP, sel_err);
	if (!conforming && cdpl < cpu->state.cpl) {
		/* Inter-privilege: the new stack comes from the TSS (SDM vol. 3A, 6.12.1);
		 * every push is checked before any register changes. */
		struct new_stack ns;
		struct descriptor ssd;
		tss_inner_stack(cpu, cdpl, ext, &ns, &ssd);
		unsigned old_cpl = cpu->state.cpl;
		cpu->state.cpl = (uint8_t)cdpl;
		if (v86) {
			ns_push(cpu, &ns, cpu->state.seg[S_GS].sel, psize);
			ns_push(cpu, &ns, cpu->state.seg[S_FS].sel, psize);
			ns_push(cpu, &ns, cpu->state.seg[S_DS].sel, psize);
			ns_push(cpu, &ns, cpu->state.seg[S_ES].sel, psize);
		}
		ns_push(cpu, &ns, old_ss, psize);
		ns_push(cpu, &ns, old_sp, psize);
		ns_push(cpu, &ns, flags, psize);
		ns_push(cpu, &ns, old_cs, psize);
		ns_push(cpu, &ns, return_rip, psize);
		if (errc)
			ns_push(cpu, &ns, error_code, psize);
		cpu->state.cpl = (uint8_t)old_cpl;
		if (v86) {
			cpu->state.rflags &= ~(uint64_t)F_VM;
			for (unsigned s = S_ES; s <= S_GS; s++)
				if (s != S_CS && s != S_SS)
					cpu->state.seg[s] = (struct segment){ .sel = 0 };
		}
		cpu->state.cpl = (uint8_t)cdpl;
		cpu->state.seg[S_CS] = (struct segment){ .sel = (uint16_t)((sel & ~3u) | cdpl),
							 .base = cbase,
							 .limit = climit,
							 .attr = attr };
		ns_commit(cpu, &ns, &ssd);
	} else {
		cpu_push(cpu, flags, psize);
		cpu_push(cpu, old_cs, psize);
		cpu_push(cpu, return_rip, psize);
		if (errc)
			cpu_push(cpu, error_code, psize);
		cpu->state.seg[S_CS] =
			(struct segment){ .sel = (uint16_t)((sel & ~3u) | cpu->state.cpl),
					  .base = cbase,
					  .limit = climit,
					  .attr = attr };
	}
	desc_set_accessed(cpu, sel, &cd);
	cpu->state.seg[S_CS].attr |= 1;
	cpu_mode_update(cpu);
	cpu->state.rip = offset;
	cpu->state.rflags &= ~(uint64_t)(F_TF | F_NT | F_VM | F_RF);
	if (!trap)
		cpu->state.rflags &= ~(uint64_t)F_IF;
}

void
cpu_deliver_event(struct cpu *cpu, unsigned vector, enum event_kind kind, uint32_t error_code,
		  uint64_t return_rip)
{
	/* The exception bitmap (SDM vol. 3C, 25.2): a hardware exception in
	 * non-root operation may exit instead of being delivered. */
	if (__builtin_expect(cpu->vmx_nonroot, 0)) {
		uint32_t err =
			kind == EVENT_EXCEPTION && has_error_code(vector) ? error_code : NO_ERRCODE;
		if (kind == EVENT_EXCEPTION)
			vmx_exception(cpu, vector, err, 3);
		/* An exit while this event is delivered reports it (IDT vectoring, 27.2.4). */
		vmx_vectoring(cpu, vector, (unsigned)kind, err, return_rip);
	}
	/* Delivering an event ends the instruction that raised it: a single-step
	 * trap pending for it, or held back by a MOV SS shadow, is discarded, not
	 * delivered after the handler's first instruction (SDM vol. 3A, 17.3.1.4:
	 * the processor clears TF before calling the handler; an INT1/ICEBP or a
	 * DR7.GD fault reports its own #DB, and only once). A task switch through
	 * a gate re-arms its T-bit trap below. */
	cpu->dbg_single_step = false;
	cpu->dbg_deferred = 0;
	/* "The processor clears the GD flag upon entering to the debug exception
	 * handler, to allow the handler access to the debug registers" (vol. 3A,
	 * 17.2.4), whatever raised the #DB. */
	if (vector == EXC_DB && kind != EVENT_EXTERNAL)
		cpu->state.dr[7] &= ~(uint64_t)DR7_GD;
	/* `rip` locates the event: for a software interrupt the INT instruction
	 * itself (RIP has moved past it; `return` says where the handler goes back),
	 * otherwise the instruction interrupted or faulting. */
	if (cpu->tracer)
		trace_interrupt(cpu->tracer, cpu, (uint8_t)vector, (enum trace_int_kind)kind,
				error_code, cpu->state.seg[S_CS].sel,
				kind == EVENT_SOFTWARE_INT ? cpu->insn_rip : cpu->state.rip,
				return_rip);
	if (kind != EVENT_EXCEPTION) {
		cpu->delivering = true;
		cpu->delivering_class = CLASS_BENIGN;
	}
	if (cpu_real_mode(cpu))
		deliver_real(cpu, vector, return_rip);
	else if (cpu->long_mode)
		deliver_long(cpu, vector, kind,
			     kind == EVENT_EXCEPTION && has_error_code(vector) ? error_code
									       : NO_ERRCODE,
			     return_rip);
	else
		deliver_protected(cpu, vector, kind,
				  kind == EVENT_EXCEPTION && has_error_code(vector) ? error_code
										    : NO_ERRCODE,
				  return_rip);
	cpu->delivering = false;
	cpu->stop_trace = true;
	if (__builtin_expect(cpu->vmx_nonroot, 0))
		vmx_vectoring_done(cpu);
}

/*
 * Handle a fault raised during an instruction (or during the delivery of an
 * earlier event): apply the double-fault rules (SDM vol. 3A, table 6-5) and
 * deliver. Returns false when the CPU must shut down (triple fault).
 */
bool
cpu_handle_fault(struct cpu *cpu)
{
	unsigned vector = cpu->pending_vector;
	uint32_t error = cpu->pending_error;
	if (__builtin_expect(vector == VMX_FAULT_EPT, 0)) {
		/* An EPT violation or misconfiguration: a VM exit, unless the
		 * violation becomes a virtualization exception (returns). */
		vmx_ept_exit(cpu);
		vector = EXC_VE;
		error = NO_ERRCODE;
	}
	if (__builtin_expect(vector == VMX_FAULT_APIC, 0))
		vmx_apic_fetch_exit(cpu); /* a fetch from the APIC-access page: exit 44 */
	if (cpu->delivering) {
		enum exc_class first = (enum exc_class)cpu->delivering_class,
			       second = exc_class(vector);
		if (first == CLASS_DOUBLE_FAULT && second != CLASS_BENIGN)
			return false; /* triple fault: shutdown */
		if ((first == CLASS_CONTRIBUTORY && second == CLASS_CONTRIBUTORY) ||
		    (first == CLASS_PAGE_FAULT && second != CLASS_BENIGN)) {
			vector = EXC_DF;
			error = 0;
		}
		if (cpu_real_mode(cpu) && first == CLASS_DOUBLE_FAULT)
			return false;
	}
	cpu->faults++;
	cpu->delivering = true;
	cpu->delivering_class = (uint8_t)exc_class(vector);
	cpu->state.rip = cpu->insn_rip;
	/* A fault pushes RF = 1 so the restarted instruction does not hit its own
	 * instruction breakpoint again (SDM vol. 3A, 17.3.1.1). */
	cpu->state.rflags |= F_RF;
	/* Faults that report the next instruction would be traps; none are raised this way. */
	cpu_deliver_event(cpu, vector, EVENT_EXCEPTION, error, cpu->insn_rip);
	return true;
}
