/*
 * fugu — the segment-register instructions: MOV/POP sreg, LDS/LES/LSS/LFS/LGS,
 * ARPL, the group-6 system instructions (SLDT/STR/LLDT/LTR/VERR/VERW), LAR and
 * LSL. The loading services they use are in cpu/segment.c.
 */
#include "cpu/desc.h"
#include "cpu/exec/exec.h"

/* ---- instructions ---- */

void
op_mov_rm_sreg(struct cpu *cpu, const struct insn *i)
{
	unsigned s = i->reg & 7;
	if (s > S_GS)
		cpu_ud(cpu);
	uint16_t sel = cpu->state.seg[s].sel;
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
		cpu->state.intr_shadow =
			2; /* SDM vol. 2B, MOV: interrupts and #DB traps inhibited */
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

/* 0F 00 (group 6): SLDT STR LLDT LTR VERR VERW, one handler each; all #UD in
 * real and V86 mode. */
static void
grp6_check(struct cpu *cpu)
{
	if (cpu_real_mode(cpu) || cpu_v86(cpu))
		cpu_ud(cpu);
}

/* SLDT/STR: a selector to memory (16 bits) or to a register (operand size). */
static void
store_sel(struct cpu *cpu, const struct insn *i, uint16_t sel)
{
	grp6_check(cpu);
	VMX_DOOR(cpu, i); /* descriptor-table exiting */
	if (i->flags & I_MEM)
		cpu_write(cpu, i->seg, insn_ea(cpu, i), sel, 2);
	else
		reg_write(cpu, i->rm, i->opsize, sel);
}

void
op_sldt(struct cpu *cpu, const struct insn *i)
{
	store_sel(cpu, i, cpu->state.ldtr.sel);
}

void
op_str(struct cpu *cpu, const struct insn *i)
{
	store_sel(cpu, i, cpu->state.tr.sel);
}

/*
 * In IA-32e mode LDT and TSS descriptors are 16 bytes, bits 63:32 of the base in
 * the upper half (SDM vol. 3A, 7.2.3, 3.5); LLDT and LTR raise #GP(selector)
 * when the whole base is not canonical (vol. 2A, LLDT; vol. 2B, LTR: 64-bit
 * mode exceptions), before anything is loaded or marked busy.
 */
static uint64_t
system_desc_base64(struct cpu *cpu, uint16_t sel, const struct descriptor *d)
{
	uint64_t base = d->base | cpu_read_linear(cpu, desc_addr(cpu, sel, EXC_GP) + 8, 4, true)
					  << 32;
	if (!is_canonical(base))
		cpu_fault(cpu, EXC_GP, sel & 0xfffc);
	return base;
}

void
op_lldt(struct cpu *cpu, const struct insn *i)
{
	struct descriptor d;
	grp6_check(cpu);
	if (cpu->state.cpl)
		cpu_gp0(cpu);
	VMX_DOOR(cpu, i);
	uint16_t sel = (uint16_t)rm_read(cpu, i, 2);
	if ((sel & ~3u) == 0) {
		cpu->state.ldtr = (struct segment){ .sel = sel };
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
		d.base = system_desc_base64(cpu, sel, &d);
	cpu->state.ldtr =
		(struct segment){ .sel = sel, .base = d.base, .limit = d.limit, .attr = d.attr };
}

void
op_ltr(struct cpu *cpu, const struct insn *i)
{
	struct descriptor d;
	grp6_check(cpu);
	if (cpu->state.cpl)
		cpu_gp0(cpu);
	VMX_DOOR(cpu, i);
	uint16_t sel = (uint16_t)rm_read(cpu, i, 2);
	if ((sel & ~3u) == 0 || (sel & 4))
		cpu_fault(cpu, EXC_GP, sel & 0xfffc);
	desc_fetch(cpu, sel, &d, EXC_GP);
	if ((d.attr & 0x1f) != 9 && (d.attr & 0x1f) != 1)
		cpu_fault(cpu, EXC_GP, sel & 0xfffc);
	if (!(d.attr & SEG_ATTR_P))
		cpu_fault(cpu, EXC_NP, sel & 0xfffc);
	if (cpu->long_mode)
		d.base = system_desc_base64(cpu, sel, &d);
	d.attr |= 2; /* mark busy, in the GDT too */
	cpu_write_linear(cpu, desc_addr(cpu, sel, EXC_GP) + 5, (uint8_t)d.attr, 1, true);
	cpu->state.tr =
		(struct segment){ .sel = sel, .base = d.base, .limit = d.limit, .attr = d.attr };
}

/* VERR/VERW: ZF = the segment is readable (writable) at this CPL and RPL. */
static void
verify_seg(struct cpu *cpu, const struct insn *i, bool write)
{
	struct descriptor d;
	grp6_check(cpu);
	uint16_t sel = (uint16_t)rm_read(cpu, i, 2);
	bool ok = false;
	if ((sel & ~3u) != 0) {
		uint64_t a = 0;
		uint32_t lim = (sel & 4) ? cpu->state.ldtr.limit : cpu->state.gdtr.limit;
		if ((uint32_t)(sel | 7) <= lim &&
		    (!(sel & 4) || (cpu->state.ldtr.attr & SEG_ATTR_P))) {
			a = ((sel & 4) ? cpu->state.ldtr.base : cpu->state.gdtr.base) + (sel & ~7u);
			desc_decode(&d, cpu_read_linear(cpu, a, 8, true));
			unsigned dpl = desc_dpl(&d);
			bool code = d.attr & 8, conforming = code && (d.attr & 4);
			bool priv = conforming || (dpl >= cpu->state.cpl && dpl >= (sel & 3u));
			if ((d.attr & SEG_ATTR_S) && priv) {
				if (!write)
					ok = !code || (d.attr & 2);
				else
					ok = !code && (d.attr & 2);
			}
		}
	}
	flags_set(cpu, F_ZF, ok ? F_ZF : 0);
}

void
op_verr(struct cpu *cpu, const struct insn *i)
{
	verify_seg(cpu, i, false);
}

void
op_verw(struct cpu *cpu, const struct insn *i)
{
	verify_seg(cpu, i, true);
}

/*
 * The descriptor LAR/LSL look at (SDM vol. 2A, LAR and LSL): false (ZF = 0)
 * for a null selector, one outside its table, a type the instruction does not
 * accept, or one the current privilege may not see (DPL < CPL or < RPL, except
 * conforming code). In IA-32e mode only LDT, 64-bit TSS and (LAR) call gates
 * are valid system types.
 */
static bool
lar_lsl_desc(struct cpu *cpu, uint16_t sel, bool lar, struct descriptor *d)
{
	if ((sel & ~3u) == 0)
		return false;
	uint32_t lim = (sel & 4) ? cpu->state.ldtr.limit : cpu->state.gdtr.limit;
	if ((sel & 4) && !(cpu->state.ldtr.attr & SEG_ATTR_P))
		return false;
	if ((uint32_t)(sel | 7) > lim)
		return false;
	uint64_t a = ((sel & 4) ? cpu->state.ldtr.base : cpu->state.gdtr.base) + (sel & ~7u);
	desc_decode(d, cpu_read_linear(cpu, a, 8, true));
	unsigned type = d->attr & 0xf, dpl = desc_dpl(d);
	if (d->attr & SEG_ATTR_S) {
		if ((type & 0xc) == 0xc) /* conforming code: no privilege check */
			return true;
	} else {
		static const uint16_t lar_legacy = 0x1a3e, lsl_legacy = 0x0a0e; /* bit = type */
		static const uint16_t lar_long = 0x1a04, lsl_long = 0x0a04;
		uint16_t ok = cpu->long_mode ? (lar ? lar_long : lsl_long)
					     : (lar ? lar_legacy : lsl_legacy);
		if (!((ok >> type) & 1))
			return false;
	}
	return dpl >= cpu->state.cpl && dpl >= (sel & 3u);
}

/* 0F 02 LAR r, r/m16: the access-rights bytes of the descriptor (raw[63:32] & 00FFFF00H). */
void
op_lar(struct cpu *cpu, const struct insn *i)
{
	if (cpu_real_mode(cpu) || cpu_v86(cpu))
		cpu_ud(cpu);
	struct descriptor d;
	if (!lar_lsl_desc(cpu, (uint16_t)rm_read(cpu, i, 2), true, &d)) {
		flags_set(cpu, F_ZF, 0);
		return;
	}
	uint32_t ar = (uint32_t)(d.raw >> 32) & (i->opsize == 2 ? 0xff00u : 0x00ffff00u);
	reg_write(cpu, i->reg, i->opsize == 2 ? 2 : 4, ar);
	flags_set(cpu, F_ZF, F_ZF);
}

/* 0F 03 LSL r, r/m16: the byte-granular segment limit. */
void
op_lsl(struct cpu *cpu, const struct insn *i)
{
	if (cpu_real_mode(cpu) || cpu_v86(cpu))
		cpu_ud(cpu);
	struct descriptor d;
	if (!lar_lsl_desc(cpu, (uint16_t)rm_read(cpu, i, 2), false, &d)) {
		flags_set(cpu, F_ZF, 0);
		return;
	}
	reg_write(cpu, i->reg, i->opsize == 2 ? 2 : 4, d.limit);
	flags_set(cpu, F_ZF, F_ZF);
}
