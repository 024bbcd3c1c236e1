/*
 * fugu — segment registers and far transfers: MOV/POP sreg, LDS/LES/LSS/LFS/LGS,
 * ARPL, descriptor loading with the protected-mode checks (SDM vol. 3A, 5.4-5.8,
 * and vol. 2 MOV/JMP/CALL/RET/IRET), and the far JMP/CALL/RET/IRET paths of
 * protected mode.
 *
 * XXX not yet modelled (milestone 1, part 2): call gates, task gates and task
 * switches, IRET to V86 mode and NT task returns. Gates raise #GP(sel) today;
 * the IRET cases stop the CPU with a message.
 */
#include "cpu/exec/exec.h"

/* ---- descriptors ---- */

struct descriptor {
	uint64_t raw;
	uint64_t base;
	uint32_t limit;
	uint16_t attr;
};

static void
desc_decode(struct descriptor *d, uint64_t raw)
{
	d->raw = raw;
	d->base = ((raw >> 16) & 0xffffff) | (((raw >> 56) & 0xff) << 24);
	uint32_t lim = (uint32_t)((raw & 0xffff) | (((raw >> 48) & 0xf) << 16));
	d->attr = (uint16_t)(((raw >> 40) & 0xff) | (((raw >> 52) & 0xf) << 8));
	d->limit = (d->attr & SEG_ATTR_G) ? (lim << 12) | 0xfff : lim;
}

static inline unsigned
desc_dpl(const struct descriptor *d)
{
	return (d->attr >> 5) & 3;
}

/* Read the descriptor for `sel` from the GDT or LDT; #GP(sel) (or `vec`) if outside the table. */
static uint64_t
desc_addr(struct cpu *cpu, uint16_t sel, unsigned vec)
{
	uint64_t base;
	uint32_t limit;
	if (sel & 4) {
		if (!(cpu->ldtr.attr & SEG_ATTR_P))
			cpu_fault(cpu, vec, sel & 0xfffc);
		base = cpu->ldtr.base;
		limit = cpu->ldtr.limit;
	} else {
		base = cpu->gdtr.base;
		limit = cpu->gdtr.limit;
	}
	if ((uint32_t)(sel & ~7u) + 7 > limit)
		cpu_fault(cpu, vec, sel & 0xfffc);
	return base + (sel & ~7u);
}

static void
desc_fetch(struct cpu *cpu, uint16_t sel, struct descriptor *d, unsigned vec)
{
	desc_decode(d, cpu_read_linear(cpu, desc_addr(cpu, sel, vec), 8, true));
}

/* Set the accessed bit in the descriptor in memory (SDM vol. 3A, 3.4.5.1). */
static void
desc_set_accessed(struct cpu *cpu, uint16_t sel, struct descriptor *d)
{
	if (d->attr & 1)
		return;
	d->attr |= 1;
	uint64_t a = desc_addr(cpu, sel, EXC_GP) + 5;
	cpu_write_linear(cpu, a, (uint8_t)(d->attr & 0xff), 1, true);
}

static void
seg_set(struct cpu *cpu, unsigned s, uint16_t sel, const struct descriptor *d)
{
	cpu->seg[s].sel = sel;
	cpu->seg[s].base = d->base;
	cpu->seg[s].limit = d->limit;
	cpu->seg[s].attr = d->attr;
	if (s == S_CS || s == S_SS)
		cpu_mode_update(cpu);
}

/* Real and V86 mode: base = selector * 16. V86 also resets limit and attributes. */
void
seg_load_real(struct cpu *cpu, unsigned s, uint16_t sel)
{
	cpu->seg[s].sel = sel;
	cpu->seg[s].base = (uint64_t)sel << 4;
	if (cpu_v86(cpu)) {
		cpu->seg[s].limit = 0xffff;
		cpu->seg[s].attr = s == S_CS ? 0xfb : 0xf3; /* DPL 3, present, accessed */
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
static bool
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
static void
seg_commit(struct cpu *cpu, unsigned s, uint16_t sel, struct descriptor *d)
{
	if (!d) {
		cpu->seg[s] = (struct segment){ .sel = sel };
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
	bool present = seg_check(cpu, s, sel, cpu->cpl, cpu->code_size == 8 && cpu->cpl < 3, &d);
	seg_commit(cpu, s, sel, present ? &d : NULL);
}

/* Load CS for a far JMP/CALL to a code segment at the current privilege. */
static void
load_code_segment(struct cpu *cpu, uint16_t sel, uint64_t offset)
{
	struct descriptor d;
	if ((sel & ~3u) == 0)
		cpu_gp0(cpu);
	desc_fetch(cpu, sel, &d, EXC_GP);
	unsigned dpl = desc_dpl(&d), rpl = sel & 3, cpl = cpu->cpl;
	if (!(d.attr & SEG_ATTR_S) || !(d.attr & 8))
		cpu_fault(cpu, EXC_GP, sel & 0xfffc); /* XXX gates and TSS descriptors */
	if (d.attr & 4) { /* conforming */
		if (dpl > cpl)
			cpu_fault(cpu, EXC_GP, sel & 0xfffc);
	} else if (rpl > cpl || dpl != cpl) {
		cpu_fault(cpu, EXC_GP, sel & 0xfffc);
	}
	if (!(d.attr & SEG_ATTR_P))
		cpu_fault(cpu, EXC_NP, sel & 0xfffc);
	if (!(cpu->long_mode && (d.attr & SEG_ATTR_L)) && offset > d.limit)
		cpu_gp0(cpu);
	desc_set_accessed(cpu, sel, &d);
	seg_set(cpu, S_CS, (uint16_t)((sel & ~3u) | cpl), &d);
	cpu->rip = offset;
}

void
cpu_far_jump(struct cpu *cpu, uint16_t sel, uint64_t offset, unsigned opsize)
{
	if (opsize == 2)
		offset &= 0xffff;
	else if (opsize == 4)
		offset &= 0xffffffff;
	if (cpu_real_mode(cpu) || cpu_v86(cpu)) {
		if (offset > cpu->seg[S_CS].limit)
			cpu_gp0(cpu);
		seg_load_real(cpu, S_CS, sel);
		cpu->rip = offset;
		return;
	}
	load_code_segment(cpu, sel, offset);
}

void
cpu_far_call_protected(struct cpu *cpu, uint16_t sel, uint64_t offset, unsigned opsize)
{
	if (opsize == 2)
		offset &= 0xffff;
	else if (opsize == 4)
		offset &= 0xffffffff;
	uint16_t old_cs = cpu->seg[S_CS].sel;
	uint64_t old_rip = cpu->rip;
	uint64_t m = stack_mask(cpu), sp = cpu->gpr[R_SP];
	/* Both pushes are checked before CS changes. */
	cpu_probe_write(cpu, S_SS, (sp - 2 * opsize) & m, 2 * opsize);
	load_code_segment(cpu, sel, offset);
	cpu_write(cpu, S_SS, (sp - opsize) & m, old_cs, opsize);
	cpu_write(cpu, S_SS, (sp - 2 * opsize) & m, old_rip, opsize);
	cpu_stack_adjust(cpu, -2 * (int64_t)opsize);
}

/* Return to an outer privilege: the data segments the new CPL may not use become null. */
static void
invalidate_outer_segments(struct cpu *cpu)
{
	static const unsigned segs[4] = { S_ES, S_DS, S_FS, S_GS };
	for (unsigned k = 0; k < 4; k++) {
		struct segment *s = &cpu->seg[segs[k]];
		unsigned dpl = (s->attr >> 5) & 3;
		bool conforming_code = (s->attr & 0xc) == 0xc;
		if ((s->attr & SEG_ATTR_S) && !conforming_code && dpl < cpu->cpl)
			*s = (struct segment){ .sel = 0 };
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
	if (!(d->attr & SEG_ATTR_S) || !(d->attr & 8) || rpl < cpu->cpl)
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
far_return_common(struct cpu *cpu, unsigned opsize, uint64_t depth, uint64_t imm,
		  bool always_stack, bool iret)
{
	uint64_t offset = cpu_stack_peek(cpu, 0, opsize);
	uint16_t sel = (uint16_t)cpu_stack_peek(cpu, opsize, 2);
	uint64_t fl = iret ? cpu_stack_peek(cpu, 2 * opsize, opsize) : 0;
	struct descriptor cs, ss;
	return_cs_check(cpu, sel, &cs);
	unsigned old_cpl = cpu->cpl, rpl = sel & 3;
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
	cpu->cpl = (uint8_t)rpl;
	cpu->rip = offset;
	if (new_stack) {
		seg_commit(cpu, S_SS, new_ss, ss_present ? &ss : NULL);
		uint64_t m = stack_mask(cpu);
		cpu->gpr[R_SP] = (cpu->gpr[R_SP] & ~m) | ((new_sp + imm) & m);
	} else {
		cpu_stack_adjust(cpu, (int64_t)depth + (int64_t)imm);
	}
	if (iret) {
		/* Flags are written with the privilege of the old CPL (SDM vol. 2B, IRET). */
		cpu->cpl = (uint8_t)old_cpl;
		rflags_write_checked(cpu, fl, opsize);
		if (opsize >= 4)
			cpu->rflags = (cpu->rflags & ~(uint64_t)F_RF) | (fl & F_RF);
		cpu->cpl = (uint8_t)rpl;
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
		/* IRET in V86 mode: IOPL-sensitive (SDM vol. 2A, IRET). */
		if ((cpu->rflags & F_IOPL) != F_IOPL)
			cpu_gp0(cpu);
		uint64_t off = cpu_stack_peek(cpu, 0, opsize);
		uint16_t sel = (uint16_t)cpu_stack_peek(cpu, opsize, 2);
		uint64_t fl = cpu_stack_peek(cpu, 2 * opsize, opsize);
		cpu_stack_adjust(cpu, 3 * (int64_t)opsize);
		seg_load_real(cpu, S_CS, sel);
		cpu->rip = opsize == 2 ? off & 0xffff : off;
		rflags_write_checked(cpu, fl, opsize);
		return;
	}
	if (cpu->rflags & F_NT) {
		if (cpu->long_mode)
			cpu_gp0(cpu); /* no task switches in IA-32e mode */
		cpu_unmodelled(cpu, "IRET with NT set (task return)");
	}
	if (!cpu->long_mode && opsize == 4 && (cpu_stack_peek(cpu, 8, 4) & F_VM) && cpu->cpl == 0)
		cpu_unmodelled(cpu, "IRET to virtual-8086 mode");
	/* In 64-bit mode IRET always pops SS:RSP (SDM vol. 2B, IRET, IA-32e mode). */
	far_return_common(cpu, opsize, 3 * opsize, 0, cpu->code_size == 8, true);
}

/* ---- instructions ---- */

void
op_mov_rm_sreg(struct cpu *cpu, const struct insn *i)
{
	unsigned s = i->reg & 7;
	if (s > S_GS)
		cpu_ud(cpu);
	uint16_t sel = cpu->seg[s].sel;
	/* To a register the selector is zero-extended at 32/64 bits; memory gets 16 bits. */
	if (i->flags & I_MEM)
		cpu_write(cpu, i->seg, insn_ea(cpu, i), sel, 2);
	else
		reg_write(cpu, i->rm, i->opsize == 2 ? 2 : i->opsize, sel);
}

void
op_mov_sreg_rm(struct cpu *cpu, const struct insn *i)
{
	unsigned s = i->reg & 7;
	if (s > S_GS || s == S_CS)
		cpu_ud(cpu);
	seg_load(cpu, s, (uint16_t)rm_read(cpu, i, 2));
	if (s == S_SS)
		cpu->intr_shadow = 1; /* SDM vol. 2B, MOV: interrupts inhibited after MOV SS */
}

/* C4 LES, C5 LDS, 0F B2 LSS, 0F B4 LFS, 0F B5 LGS. */
void
op_lxs(struct cpu *cpu, const struct insn *i)
{
	unsigned s;
	switch (i->opcode) {
	case 0xc4: s = S_ES; break;
	case 0xc5: s = S_DS; break;
	case 0x1b2: s = S_SS; break;
	case 0x1b4: s = S_FS; break;
	default: s = S_GS; break;
	}
	uint64_t ea = insn_ea(cpu, i);
	unsigned osz = i->opsize;
	uint64_t off = cpu_read(cpu, i->seg, ea, osz);
	uint16_t sel = (uint16_t)cpu_read(cpu, i->seg, (ea + osz) & addr_mask(i->adsize), 2);
	seg_load(cpu, s, sel);
	reg_write(cpu, i->reg, osz, off);
}

/* ARPL r/m16, r16 (protected mode only; #UD in real and V86 mode). */
void
op_arpl(struct cpu *cpu, const struct insn *i)
{
	if (cpu_real_mode(cpu) || cpu_v86(cpu))
		cpu_ud(cpu);
	uint64_t ea = 0;
	uint16_t dst;
	if (i->flags & I_MEM) {
		ea = insn_ea(cpu, i);
		dst = (uint16_t)cpu_read(cpu, i->seg, ea, 2);
	} else {
		dst = (uint16_t)reg_read(cpu, i->rm, 2);
	}
	uint16_t src = (uint16_t)reg_read(cpu, i->reg, 2);
	if ((dst & 3) < (src & 3)) {
		dst = (uint16_t)((dst & ~3u) | (src & 3));
		if (i->flags & I_MEM)
			cpu_write(cpu, i->seg, ea, dst, 2);
		else
			reg_write(cpu, i->rm, 2, dst);
		flags_set(cpu, F_ZF, F_ZF);
	} else {
		flags_set(cpu, F_ZF, 0);
	}
}

/* 0F 00: SLDT STR LLDT LTR VERR VERW — #UD in real and V86 mode. */
void
op_grp6(struct cpu *cpu, const struct insn *i)
{
	if (cpu_real_mode(cpu) || cpu_v86(cpu))
		cpu_ud(cpu);
	struct descriptor d;
	uint16_t sel;
	switch (i->reg & 7) {
	case 0: /* SLDT */
		if (i->flags & I_MEM)
			cpu_write(cpu, i->seg, insn_ea(cpu, i), cpu->ldtr.sel, 2);
		else
			reg_write(cpu, i->rm, i->opsize, cpu->ldtr.sel);
		return;
	case 1: /* STR */
		if (i->flags & I_MEM)
			cpu_write(cpu, i->seg, insn_ea(cpu, i), cpu->tr.sel, 2);
		else
			reg_write(cpu, i->rm, i->opsize, cpu->tr.sel);
		return;
	case 2: /* LLDT */
		if (cpu->cpl)
			cpu_gp0(cpu);
		sel = (uint16_t)rm_read(cpu, i, 2);
		if ((sel & ~3u) == 0) {
			cpu->ldtr = (struct segment){ .sel = sel };
			return;
		}
		if (sel & 4)
			cpu_fault(cpu, EXC_GP, sel & 0xfffc);
		desc_fetch(cpu, sel, &d, EXC_GP);
		if ((d.attr & 0x1f) != 2)
			cpu_fault(cpu, EXC_GP, sel & 0xfffc);
		if (!(d.attr & SEG_ATTR_P))
			cpu_fault(cpu, EXC_NP, sel & 0xfffc);
		if (cpu->long_mode)
			d.base |= cpu_read_linear(cpu, desc_addr(cpu, sel, EXC_GP) + 8, 4, true) << 32;
		cpu->ldtr = (struct segment){ .sel = sel, .base = d.base, .limit = d.limit,
					      .attr = d.attr };
		return;
	case 3: /* LTR */
		if (cpu->cpl)
			cpu_gp0(cpu);
		sel = (uint16_t)rm_read(cpu, i, 2);
		if ((sel & ~3u) == 0 || (sel & 4))
			cpu_fault(cpu, EXC_GP, sel & 0xfffc);
		desc_fetch(cpu, sel, &d, EXC_GP);
		if ((d.attr & 0x1f) != 9 && (d.attr & 0x1f) != 1)
			cpu_fault(cpu, EXC_GP, sel & 0xfffc);
		if (!(d.attr & SEG_ATTR_P))
			cpu_fault(cpu, EXC_NP, sel & 0xfffc);
		if (cpu->long_mode)
			d.base |= cpu_read_linear(cpu, desc_addr(cpu, sel, EXC_GP) + 8, 4, true) << 32;
		d.attr |= 2; /* mark busy, in the GDT too */
		cpu_write_linear(cpu, desc_addr(cpu, sel, EXC_GP) + 5, (uint8_t)d.attr, 1, true);
		cpu->tr = (struct segment){ .sel = sel, .base = d.base, .limit = d.limit, .attr = d.attr };
		return;
	default: { /* VERR / VERW */
		sel = (uint16_t)rm_read(cpu, i, 2);
		bool ok = false;
		if ((sel & ~3u) != 0) {
			uint64_t a = 0;
			uint32_t lim = (sel & 4) ? cpu->ldtr.limit : cpu->gdtr.limit;
			if ((uint32_t)(sel | 7) <= lim && (!(sel & 4) || (cpu->ldtr.attr & SEG_ATTR_P))) {
				a = ((sel & 4) ? cpu->ldtr.base : cpu->gdtr.base) + (sel & ~7u);
				desc_decode(&d, cpu_read_linear(cpu, a, 8, true));
				unsigned dpl = desc_dpl(&d);
				bool code = d.attr & 8, conforming = code && (d.attr & 4);
				bool priv = conforming || (dpl >= cpu->cpl && dpl >= (sel & 3u));
				if ((d.attr & SEG_ATTR_S) && priv) {
					if ((i->reg & 7) == 4)
						ok = !code || (d.attr & 2);
					else
						ok = !code && (d.attr & 2);
				}
			}
		}
		flags_set(cpu, F_ZF, ok ? F_ZF : 0);
		return;
	}
	}
}
