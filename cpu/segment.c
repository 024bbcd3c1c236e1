/*
 * fugu — segment registers and far transfers as the instructions, interrupt
 * delivery and task switches share them: descriptor loading with the
 * protected-mode checks (SDM vol. 3A, 3.4-3.5, 5.4-5.8, and vol. 2
 * MOV/JMP/CALL/RET/IRET), call gates, the inner-stack switch, and the far
 * JMP/CALL/RET/IRET paths of protected mode. The instructions themselves are in
 * exec/segment.c; task switches in task.c.
 */
#include "cpu/desc.h"
#include "cpu/exec/exec.h"

/* ---- descriptors ---- */

void
desc_decode(struct descriptor *d, uint64_t raw)
{
	d->raw = raw;
	d->base = ((raw >> 16) & 0xffffff) | (((raw >> 56) & 0xff) << 24);
	uint32_t lim = (uint32_t)((raw & 0xffff) | (((raw >> 48) & 0xf) << 16));
	d->attr = (uint16_t)(((raw >> 40) & 0xff) | (((raw >> 52) & 0xf) << 8));
	d->limit = (d->attr & SEG_ATTR_G) ? (lim << 12) | 0xfff : lim;
}

/* Read the descriptor for `sel` from the GDT or LDT; #GP(sel) (or `vec`) if outside the table. */
uint64_t
desc_addr(struct cpu *cpu, uint16_t sel, unsigned vec)
{
	uint64_t base;
	uint32_t limit;
	if (sel & 4) {
		if (!(cpu->state.ldtr.attr & SEG_ATTR_P))
			cpu_fault(cpu, vec, sel & 0xfffc);
		base = cpu->state.ldtr.base;
		limit = cpu->state.ldtr.limit;
	} else {
		base = cpu->state.gdtr.base;
		limit = cpu->state.gdtr.limit;
	}
	if ((uint32_t)(sel & ~7u) + 7 > limit)
		cpu_fault(cpu, vec, sel & 0xfffc);
	return base + (sel & ~7u);
}

void
desc_fetch(struct cpu *cpu, uint16_t sel, struct descriptor *d, unsigned vec)
{
	desc_decode(d, cpu_read_linear(cpu, desc_addr(cpu, sel, vec), 8, true));
}

/* Set the accessed bit in the descriptor in memory (SDM vol. 3A, 3.4.5.1). */
void
desc_set_accessed(struct cpu *cpu, uint16_t sel, struct descriptor *d)
{
	if (d->attr & 1)
		return;
	d->attr |= 1;
	uint64_t a = desc_addr(cpu, sel, EXC_GP) + 5;
	cpu_write_linear(cpu, a, (uint8_t)(d->attr & 0xff), 1, true);
}

void
seg_set(struct cpu *cpu, unsigned s, uint16_t sel, const struct descriptor *d)
{
	cpu->state.seg[s].sel = sel;
	cpu->state.seg[s].base = d->base;
	cpu->state.seg[s].limit = d->limit;
	cpu->state.seg[s].attr = d->attr;
	if (s == S_CS || s == S_SS)
		cpu_mode_update(cpu);
}

/* Real and V86 mode: base = selector * 16. V86 also resets limit and attributes. */
void
seg_load_real(struct cpu *cpu, unsigned s, uint16_t sel)
{
	cpu->state.seg[s].sel = sel;
	cpu->state.seg[s].base = (uint64_t)sel << 4;
	if (cpu_v86(cpu)) {
		cpu->state.seg[s].limit = 0xffff;
		cpu->state.seg[s].attr = 0xf3; /* CS too: SDM vol. 3C, 26.3.1.2 */
	}
	if (s == S_CS || s == S_SS)
		cpu_mode_update(cpu);
}

/*
 * Check a data or stack segment load of `sel` at privilege `cpl` (SDM vol. 2B,
 * MOV: protected-mode checks) without changing anything; fills *d. Returns false
 * for a null selector, which is legal (the register becomes unusable) except
 * for SS outside 64-bit mode at CPL < 3 (null_ss_ok says whether it is).
 */
bool
seg_check(struct cpu *cpu, unsigned s, uint16_t sel, unsigned cpl, bool null_ss_ok,
	  struct descriptor *d)
{
	unsigned rpl = sel & 3;
	if ((sel & ~3u) == 0) {
		if (s == S_SS && !(null_ss_ok && rpl == cpl))
			cpu_gp0(cpu);
		return false;
	}
	desc_fetch(cpu, sel, d, EXC_GP);
	unsigned type = d->attr & 0xf, dpl = desc_dpl(d);
	bool code = d->attr & 8, readable = type & 2;
	if (!(d->attr & SEG_ATTR_S))
		cpu_fault(cpu, EXC_GP, sel & 0xfffc);
	if (s == S_SS) {
		if (rpl != cpl || dpl != cpl || code || !(type & 2))
			cpu_fault(cpu, EXC_GP, sel & 0xfffc);
		if (!(d->attr & SEG_ATTR_P))
			cpu_fault(cpu, EXC_SS, sel & 0xfffc);
	} else {
		if (code && !readable)
			cpu_fault(cpu, EXC_GP, sel & 0xfffc);
		/* Data and non-conforming code: DPL >= max(CPL, RPL). */
		if ((!code || !(type & 4)) && (rpl > dpl || cpl > dpl))
			cpu_fault(cpu, EXC_GP, sel & 0xfffc);
		if (!(d->attr & SEG_ATTR_P))
			cpu_fault(cpu, EXC_NP, sel & 0xfffc);
	}
	return true;
}

/* Commit a checked load; d == NULL loads a null (unusable) selector. */
void
seg_commit(struct cpu *cpu, unsigned s, uint16_t sel, struct descriptor *d)
{
	if (!d) {
		cpu->state.seg[s] = (struct segment){ .sel = sel };
		if (s == S_SS)
			cpu_mode_update(cpu);
		return;
	}
	desc_set_accessed(cpu, sel, d);
	seg_set(cpu, s, sel, d);
}

/* MOV/POP/LxS to a data or stack segment register. */
void
seg_load(struct cpu *cpu, unsigned s, uint16_t sel)
{
	if (cpu_real_mode(cpu) || cpu_v86(cpu)) {
		seg_load_real(cpu, s, sel);
		return;
	}
	struct descriptor d;
	bool present = seg_check(cpu, s, sel, cpu->state.cpl,
				 cpu->code_size == 8 && cpu->state.cpl < 3, &d);
	seg_commit(cpu, s, sel, present ? &d : NULL);
}

/*
 * Check a code-segment target of a far JMP/CALL, directly or through a call
 * gate (SDM vol. 2A, JMP and CALL, protected mode): conforming needs DPL <= CPL,
 * non-conforming DPL == CPL (a direct transfer also needs RPL <= CPL; a gate
 * leaves the inner-privilege case to the caller, `gate_call`). In IA-32e mode a
 * gate must lead to 64-bit code.
 */
static void
code_target_check(struct cpu *cpu, uint16_t sel, const struct descriptor *d, bool via_gate,
		  bool gate_call)
{
	unsigned dpl = desc_dpl(d), rpl = sel & 3, cpl = cpu->state.cpl;
	if (!(d->attr & SEG_ATTR_S) || !(d->attr & 8))
		cpu_fault(cpu, EXC_GP, sel & 0xfffc);
	if (d->attr & 4) { /* conforming */
		if (dpl > cpl)
			cpu_fault(cpu, EXC_GP, sel & 0xfffc);
	} else if (via_gate) {
		if (gate_call ? dpl > cpl : dpl != cpl)
			cpu_fault(cpu, EXC_GP, sel & 0xfffc);
	} else if (rpl > cpl || dpl != cpl) {
		cpu_fault(cpu, EXC_GP, sel & 0xfffc);
	}
	if (via_gate && cpu->long_mode && (!(d->attr & SEG_ATTR_L) || (d->attr & SEG_ATTR_DB)))
		cpu_fault(cpu, EXC_GP, sel & 0xfffc);
	if (!(d->attr & SEG_ATTR_P))
		cpu_fault(cpu, EXC_NP, sel & 0xfffc);
}

/* The new RIP must lie in the code segment (#GP(0)); in 64-bit code it must be canonical. */
static void
code_offset_check(struct cpu *cpu, const struct descriptor *d, uint64_t offset)
{
	if (cpu->long_mode && (d->attr & SEG_ATTR_L)) {
		if (!is_canonical(offset))
			cpu_gp0(cpu);
	} else if (offset > d->limit) {
		cpu_gp0(cpu);
	}
}

/* Commit CS at privilege `cpl` and the new RIP. */
static void
code_commit(struct cpu *cpu, uint16_t sel, struct descriptor *d, unsigned cpl, uint64_t offset)
{
	desc_set_accessed(cpu, sel, d);
	cpu->state.cpl = (uint8_t)cpl;
	seg_set(cpu, S_CS, (uint16_t)((sel & ~3u) | cpl), d);
	cpu->state.rip = offset;
}

/* Push on a stack that is not loaded yet; #SS(sel) past its limit (SDM vol. 2A, CALL). */
void
ns_push(struct cpu *cpu, struct new_stack *ns, uint64_t v, unsigned size)
{
	uint64_t off = (ns->sp - size) & ns->mask;
	uint64_t lin;
	if (ns->flat64) {
		lin = off;
		if (!is_canonical(lin))
			cpu_fault(cpu, EXC_SS, 0);
	} else {
		bool down = !(ns->attr & 8) && (ns->attr & 4);
		uint64_t upper = (ns->attr & SEG_ATTR_DB) ? 0xffffffffull : 0xffffull;
		if (down ? off <= ns->limit || off + size - 1 > upper : off + size - 1 > ns->limit)
			cpu_fault(cpu, EXC_SS, ns->sel & 0xfffc);
		lin = (ns->base + off) & 0xffffffffull;
	}
	cpu_write_linear(cpu, lin, v, size, cpu->state.cpl < 3);
	ns->sp = off;
}

/*
 * The inner stack for privilege `dpl` from the current TSS (SDM vol. 3A, 7.2.1,
 * 7.7 and 5.8.5): SS:ESP of a 32-bit TSS, SS:SP of a 16-bit one, RSP of a 64-bit
 * one (SS becomes null with RPL = dpl). The SS checks raise #TS(SS), a
 * not-present stack #SS(SS). `ext` is the EXT bit of the error codes.
 */
void
tss_inner_stack(struct cpu *cpu, unsigned dpl, unsigned ext, struct new_stack *ns,
		struct descriptor *ssd)
{
	uint16_t trsel = cpu->state.tr.sel & 0xfffc;
	memset(ns, 0, sizeof(*ns));
	if (cpu->long_mode) {
		uint32_t slot = 4 + dpl * 8;
		if (slot + 7 > cpu->state.tr.limit)
			cpu_fault(cpu, EXC_TS, trsel + ext);
		ns->sp = cpu_read_linear(cpu, cpu->state.tr.base + slot, 8, true);
		ns->sel = (uint16_t)dpl;
		ns->mask = ~0ull;
		ns->flat64 = true;
		return;
	}
	bool tss32 = (cpu->state.tr.attr & 0xf) == 9 || (cpu->state.tr.attr & 0xf) == 11;
	uint32_t slot = tss32 ? 4 + dpl * 8 : 2 + dpl * 4;
	if (slot + (tss32 ? 5 : 3) > cpu->state.tr.limit)
		cpu_fault(cpu, EXC_TS, trsel + ext);
	ns->sp = cpu_read_linear(cpu, cpu->state.tr.base + slot, tss32 ? 4 : 2, true);
	ns->sel = (uint16_t)cpu_read_linear(cpu, cpu->state.tr.base + slot + (tss32 ? 4 : 2), 2,
					    true);
	uint16_t err = (uint16_t)((ns->sel & 0xfffc) + ext);
	if ((ns->sel & ~3u) == 0)
		cpu_fault(cpu, EXC_TS, ext);
	desc_fetch(cpu, ns->sel, ssd, EXC_TS);
	unsigned type = ssd->attr & 0xf;
	if ((ns->sel & 3) != dpl || desc_dpl(ssd) != dpl || !(ssd->attr & SEG_ATTR_S) ||
	    (type & 8) || !(type & 2))
		cpu_fault(cpu, EXC_TS, err);
	if (!(ssd->attr & SEG_ATTR_P))
		cpu_fault(cpu, EXC_SS, err);
	ns->base = ssd->base;
	ns->limit = ssd->limit;
	ns->attr = ssd->attr;
	ns->mask = (ssd->attr & SEG_ATTR_DB) ? 0xffffffffull : 0xffffull;
	if (!tss32)
		ns->sp &= 0xffff;
}

/* Load SS:SP from a stack built with ns_push. */
void
ns_commit(struct cpu *cpu, struct new_stack *ns, struct descriptor *ssd)
{
	if (ns->flat64) {
		cpu->state.seg[S_SS] = (struct segment){ .sel = ns->sel, .attr = 0 };
		cpu_mode_update(cpu);
		cpu->state.gpr[R_SP] = ns->sp;
		return;
	}
	seg_commit(cpu, S_SS, ns->sel, ssd);
	uint64_t m = stack_mask(cpu);
	cpu->state.gpr[R_SP] = (cpu->state.gpr[R_SP] & ~m) | (ns->sp & m);
	if (m == 0xffffffffull)
		cpu->state.gpr[R_SP] &= 0xffffffffull;
}

/*
 * JMP or CALL through a call gate (SDM vol. 2A, CALL "CALL-GATE"; vol. 3A,
 * 5.8.3-5.8.6): DPL >= max(CPL, RPL) of the gate, present; its code segment.
 * A CALL to a more privileged non-conforming segment switches to the inner
 * stack from the TSS, pushes the caller's SS:ESP, copies the gate's parameter
 * count of words/dwords, then CS:EIP, all of the gate's size. In IA-32e mode
 * gates are 16 bytes, lead to 64-bit code, copy no parameters and push 8-byte
 * entries.
 */
static void
call_gate(struct cpu *cpu, uint16_t gsel, const struct descriptor *g, bool call)
{
	unsigned gdpl = desc_dpl(g), cpl = cpu->state.cpl;
	uint64_t hi = 0;
	if (gdpl < cpl || gdpl < (gsel & 3u))
		cpu_fault(cpu, EXC_GP, gsel & 0xfffc);
	if (!(g->attr & SEG_ATTR_P))
		cpu_fault(cpu, EXC_NP, gsel & 0xfffc);
	if (cpu->long_mode) {
		uint32_t limit = (gsel & 4) ? cpu->state.ldtr.limit : cpu->state.gdtr.limit;
		if ((uint32_t)(gsel & ~7u) + 15 > limit)
			cpu_fault(cpu, EXC_GP, gsel & 0xfffc); /* the 16-byte gate must fit */
		hi = cpu_read_linear(cpu, desc_addr(cpu, gsel, EXC_GP) + 8, 8, true);
		if ((hi >> 40) & 0x1f)
			cpu_fault(cpu, EXC_GP, gsel & 0xfffc); /* upper type field must be 0 */
	}
	uint16_t csel = (uint16_t)(g->raw >> 16);
	uint64_t offset = (g->raw & 0xffff) | ((g->raw >> 32) & 0xffff0000ull) | (hi << 32);
	unsigned gsize = cpu->long_mode ? 8 : (g->attr & 8) ? 4 : 2;
	if (gsize == 2)
		offset &= 0xffff;
	if ((csel & ~3u) == 0)
		cpu_gp0(cpu);
	struct descriptor cd;
	desc_fetch(cpu, csel, &cd, EXC_GP);
	code_target_check(cpu, csel, &cd, true, call);
	unsigned dpl = desc_dpl(&cd);
	code_offset_check(cpu, &cd, offset);
	if (!call) {
		code_commit(cpu, csel, &cd, cpl, offset);
		return;
	}
	uint16_t old_cs = cpu->state.seg[S_CS].sel, old_ss = cpu->state.seg[S_SS].sel;
	uint64_t old_rip = cpu->state.rip, old_sp = cpu->state.gpr[R_SP];
	if (!(cd.attr & 4) && dpl < cpl) {
		/* More privilege: the inner stack, then the frame on it. */
		struct new_stack ns;
		struct descriptor ssd;
		tss_inner_stack(cpu, dpl, 0, &ns, &ssd);
		unsigned count = gsize == 8 ? 0 : (unsigned)(g->raw >> 32) & 0x1f;
		uint64_t params[32];
		for (unsigned k = 0; k < count; k++)
			params[k] =
				cpu_read(cpu, S_SS, (old_sp + k * gsize) & stack_mask(cpu), gsize);
		unsigned saved_cpl = cpu->state.cpl;
		cpu->state.cpl = (uint8_t)dpl; /* the pushes are accesses at the new privilege */
		ns_push(cpu, &ns, old_ss, gsize);
		ns_push(cpu, &ns, old_sp & (gsize == 2 ? 0xffff : ~0ull), gsize);
		for (unsigned k = count; k-- > 0;)
			ns_push(cpu, &ns, params[k], gsize);
		ns_push(cpu, &ns, old_cs, gsize);
		ns_push(cpu, &ns, old_rip, gsize);
		cpu->state.cpl = (uint8_t)saved_cpl;
		code_commit(cpu, csel, &cd, dpl, offset);
		ns_commit(cpu, &ns, &ssd);
		return;
	}
	/* Same privilege: CS:EIP of the gate's size on the current stack. */
	uint64_t m = stack_mask(cpu), sp = cpu->state.gpr[R_SP];
	cpu_probe_write(cpu, S_SS, (sp - 2 * gsize) & m, 2 * gsize);
	code_commit(cpu, csel, &cd, cpl, offset);
	cpu_write(cpu, S_SS, (sp - gsize) & m, old_cs, gsize);
	cpu_write(cpu, S_SS, (sp - 2 * gsize) & m, old_rip, gsize);
	cpu_stack_adjust(cpu, -2 * (int64_t)gsize);
}

/*
 * Far JMP/CALL in protected or IA-32e mode (SDM vol. 2A, JMP and CALL): to a
 * code segment, through a call gate, or (not in IA-32e mode) to a TSS or
 * through a task gate, which switches tasks.
 */
static void
far_transfer(struct cpu *cpu, uint16_t sel, uint64_t offset, unsigned opsize, bool call)
{
	struct descriptor d;
	if ((sel & ~3u) == 0)
		cpu_gp0(cpu);
	desc_fetch(cpu, sel, &d, EXC_GP);
	if (d.attr & SEG_ATTR_S) {
		code_target_check(cpu, sel, &d, false, false);
		code_offset_check(cpu, &d, offset);
		if (!call) {
			code_commit(cpu, sel, &d, cpu->state.cpl, offset);
			return;
		}
		uint16_t old_cs = cpu->state.seg[S_CS].sel;
		uint64_t old_rip = cpu->state.rip;
		uint64_t m = stack_mask(cpu), sp = cpu->state.gpr[R_SP];
		/* Both pushes are checked before CS changes. */
		cpu_probe_write(cpu, S_SS, (sp - 2 * opsize) & m, 2 * opsize);
		code_commit(cpu, sel, &d, cpu->state.cpl, offset);
		cpu_write(cpu, S_SS, (sp - opsize) & m, old_cs, opsize);
		cpu_write(cpu, S_SS, (sp - 2 * opsize) & m, old_rip, opsize);
		cpu_stack_adjust(cpu, -2 * (int64_t)opsize);
		return;
	}
	unsigned type = d.attr & 0xf;
	if (cpu->long_mode) {
		if (type != 12)
			cpu_fault(cpu, EXC_GP, sel & 0xfffc); /* only 64-bit call gates */
		call_gate(cpu, sel, &d, call);
		return;
	}
	switch (type) {
	case 4:
	case 12: call_gate(cpu, sel, &d, call); return;
	case 1:
	case 9: /* available TSS (SDM vol. 3A, 7.3) */
		if (desc_dpl(&d) < cpu->state.cpl || desc_dpl(&d) < (sel & 3u))
			cpu_fault(cpu, EXC_GP, sel & 0xfffc);
		task_switch(cpu, sel, call ? TASK_CALL : TASK_JMP, cpu->state.rip, NO_ERRCODE, 0);
		return;
	case 5: { /* task gate */
		if (desc_dpl(&d) < cpu->state.cpl || desc_dpl(&d) < (sel & 3u))
			cpu_fault(cpu, EXC_GP, sel & 0xfffc);
		if (!(d.attr & SEG_ATTR_P))
			cpu_fault(cpu, EXC_NP, sel & 0xfffc);
		uint16_t tss = (uint16_t)(d.raw >> 16);
		task_switch(cpu, tss, call ? TASK_CALL : TASK_JMP, cpu->state.rip, NO_ERRCODE, 0);
		return;
	}
	default: cpu_fault(cpu, EXC_GP, sel & 0xfffc);
	}
}

void
cpu_far_jump(struct cpu *cpu, uint16_t sel, uint64_t offset, unsigned opsize)
{
	if (opsize == 2)
		offset &= 0xffff;
	else if (opsize == 4)
		offset &= 0xffffffff;
	if (cpu_real_mode(cpu) || cpu_v86(cpu)) {
		if (offset > cpu->state.seg[S_CS].limit)
			cpu_gp0(cpu);
		seg_load_real(cpu, S_CS, sel);
		cpu->state.rip = offset;
		return;
	}
	far_transfer(cpu, sel, offset, opsize, false);
}

void
cpu_far_call_protected(struct cpu *cpu, uint16_t sel, uint64_t offset, unsigned opsize)
{
	if (opsize == 2)
		offset &= 0xffff;
	else if (opsize == 4)
		offset &= 0xffffffff;
	far_transfer(cpu, sel, offset, opsize, true);
}

/*
 * Return to an outer privilege: a data segment register the new CPL may not use
 * is invalidated. The SDM's pseudocode (vol. 2A, IRET, RETURN-TO-OUTER-
 * PRIVILEGE-LEVEL; vol. 2B, RET, the same loop) does exactly "SegmentSelector
 * <- 0; (* NULL segment selector *)" for "data or non-conforming code segment
 * and CPL > segment descriptor DPL (* Stored in hidden part of segment
 * register *)": the selector is nulled and nothing else is written, so the
 * base, limit and attributes stay as they were (in 64-bit mode the FS and GS
 * bases still apply). Only the present bit, fugu's "usable" marker, is cleared:
 * a null selector makes the register unusable outside 64-bit mode (vol. 3A,
 * 3.4.2: a memory access through it is #GP).
 */
static void
invalidate_outer_segments(struct cpu *cpu)
{
	static const unsigned segs[4] = { S_ES, S_DS, S_FS, S_GS };
	for (unsigned k = 0; k < 4; k++) {
		struct segment *s = &cpu->state.seg[segs[k]];
		unsigned dpl = (s->attr >> 5) & 3;
		bool conforming_code = (s->attr & 0xc) == 0xc;
		if ((s->attr & SEG_ATTR_S) && !conforming_code && dpl < cpu->state.cpl) {
			s->sel = 0;
			s->attr &= (uint16_t)~SEG_ATTR_P;
		}
	}
}

/* Check the CS selector of a far return or IRET (SDM vol. 2B, RET and IRET). */
static void
return_cs_check(struct cpu *cpu, uint16_t sel, struct descriptor *d)
{
	unsigned rpl = sel & 3;
	if ((sel & ~3u) == 0)
		cpu_gp0(cpu);
	desc_fetch(cpu, sel, d, EXC_GP);
	unsigned dpl = desc_dpl(d);
	if (!(d->attr & SEG_ATTR_S) || !(d->attr & 8) || rpl < cpu->state.cpl)
		cpu_fault(cpu, EXC_GP, sel & 0xfffc);
	if ((d->attr & 4) ? dpl > rpl : dpl != rpl)
		cpu_fault(cpu, EXC_GP, sel & 0xfffc);
	if (!(d->attr & SEG_ATTR_P))
		cpu_fault(cpu, EXC_NP, sel & 0xfffc);
}

/*
 * The common part of RETF and IRET in protected and IA-32e mode: the frame
 * holds offset, CS (and, for IRET, flags) at `depth` bytes; SS:SP follow after
 * `imm` more bytes when the return goes outward -- or always, in 64-bit mode for
 * IRET (always_stack). Every check happens before anything is committed.
 */
static void
far_return_common(struct cpu *cpu, unsigned opsize, uint64_t depth, uint64_t imm, bool always_stack,
		  bool iret)
{
	uint64_t offset = cpu_stack_peek(cpu, 0, opsize);
	uint16_t sel = (uint16_t)cpu_stack_peek(cpu, opsize, 2);
	uint64_t fl = iret ? cpu_stack_peek(cpu, 2 * opsize, opsize) : 0;
	struct descriptor cs, ss;
	return_cs_check(cpu, sel, &cs);
	unsigned old_cpl = cpu->state.cpl, rpl = sel & 3;
	bool to64 = cpu->long_mode && (cs.attr & SEG_ATTR_L);
	if (opsize == 2)
		offset &= 0xffff;
	else if (opsize == 4)
		offset &= 0xffffffff;
	if (to64 ? !is_canonical(offset) : offset > cs.limit)
		cpu_gp0(cpu);
	bool new_stack = rpl != old_cpl || always_stack;
	uint64_t new_sp = 0;
	uint16_t new_ss = 0;
	bool ss_present = false;
	if (new_stack) {
		new_sp = cpu_stack_peek(cpu, depth + imm, opsize);
		new_ss = (uint16_t)cpu_stack_peek(cpu, depth + imm + opsize, 2);
		ss_present = seg_check(cpu, S_SS, new_ss, rpl, to64 && rpl < 3, &ss);
	}
	/* Commit. */
	desc_set_accessed(cpu, sel, &cs);
	seg_set(cpu, S_CS, sel, &cs);
	cpu->state.cpl = (uint8_t)rpl;
	cpu->state.rip = offset;
	if (new_stack) {
		seg_commit(cpu, S_SS, new_ss, ss_present ? &ss : NULL);
		uint64_t m = stack_mask(cpu);
		cpu->state.gpr[R_SP] = (cpu->state.gpr[R_SP] & ~m) | ((new_sp + imm) & m);
	} else {
		cpu_stack_adjust(cpu, (int64_t)depth + (int64_t)imm);
	}
	if (iret) {
		/* Flags are written with the privilege of the old CPL (SDM vol. 2B, IRET). */
		cpu->state.cpl = (uint8_t)old_cpl;
		rflags_write_checked(cpu, fl, opsize);
		if (opsize >= 4)
			cpu->state.rflags = (cpu->state.rflags & ~(uint64_t)F_RF) | (fl & F_RF);
		cpu->state.cpl = (uint8_t)rpl;
	}
	if (rpl > old_cpl)
		invalidate_outer_segments(cpu);
}

void
cpu_far_return_protected(struct cpu *cpu, unsigned opsize, uint64_t imm)
{
	far_return_common(cpu, opsize, 2 * opsize, imm, false, false);
}

void
cpu_iret_protected(struct cpu *cpu, unsigned opsize)
{
	if (cpu_v86(cpu)) {
		/* IRET in V86 mode: IOPL-sensitive (SDM vol. 2A, IRET), below IOPL 3
		 * the VME form or #GP (vme.c). */
		if (cpu_vme_iret(cpu, opsize))
			return;
		uint64_t off = cpu_stack_peek(cpu, 0, opsize);
		uint16_t sel = (uint16_t)cpu_stack_peek(cpu, opsize, 2);
		uint64_t fl = cpu_stack_peek(cpu, 2 * opsize, opsize);
		cpu_stack_adjust(cpu, 3 * (int64_t)opsize);
		seg_load_real(cpu, S_CS, sel);
		cpu->state.rip = opsize == 2 ? off & 0xffff : off;
		rflags_write_checked(cpu, fl, opsize);
		return;
	}
	if (cpu->state.rflags & F_NT) {
		/* Return to the previous task through the TSS back link (SDM vol. 3A, 7.4). */
		if (cpu->long_mode)
			cpu_gp0(cpu); /* no task switches in IA-32e mode */
		uint16_t link = (uint16_t)cpu_read_linear(cpu, cpu->state.tr.base, 2, true);
		task_switch(cpu, link, TASK_IRET, cpu->state.rip, NO_ERRCODE, 0);
		return;
	}
	if (!cpu->long_mode && opsize == 4 && (cpu_stack_peek(cpu, 8, 4) & F_VM) &&
	    cpu->state.cpl == 0) {
		/* Return to virtual-8086 mode (SDM vol. 2A, IRET, RETURN-TO-VIRTUAL-8086-MODE):
		 * EIP CS EFLAGS ESP SS ES DS FS GS, all read before anything changes. */
		uint64_t v[9];
		for (unsigned k = 0; k < 9; k++)
			v[k] = cpu_stack_peek(cpu, 4 * k, 4);
		cpu->lf.mask = 0;
		cpu->state.rflags = (v[2] & 0x3f7fd5) | F_FIXED1;
		cpu->state.cpl = 3;
		static const unsigned order[6] = { S_CS, S_SS, S_ES, S_DS, S_FS, S_GS };
		static const unsigned slot[6] = { 1, 4, 5, 6, 7, 8 };
		for (unsigned k = 0; k < 6; k++)
			seg_load_real(cpu, order[k], (uint16_t)v[slot[k]]);
		cpu->state.gpr[R_SP] = v[3] & 0xffffffff;
		cpu->state.rip = v[0] & 0xffff;
		cpu_mode_update(cpu);
		cpu->stop_trace = true;
		return;
	}
	/* In 64-bit mode IRET always pops SS:RSP (SDM vol. 2B, IRET, IA-32e mode). */
	far_return_common(cpu, opsize, 3 * opsize, 0, cpu->code_size == 8, true);
}
