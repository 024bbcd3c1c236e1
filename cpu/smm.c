/*
 * fugu — System Management Mode (SDM vol. 3C, chapter 32): SMI delivery, the
 * SMRAM state-save map, RSM, and SMBASE relocation.
 *
 * The state-save area: for models without long mode, the SDM's IA-32 map
 * (table 32-1), with the hidden parts of the segment registers in the area the
 * SDM marks reserved, in fugu's own layout; for models with long mode, the
 * AMD64 layout (AMD APM vol. 2, 10.2.3, table 10-2) with revision 0x00020064,
 * as QEMU and KVM use, because the firmware of this board (SeaBIOS, OVMF)
 * relocates SMBASE and trampolines into 32-bit code through exactly these
 * offsets. XXX the Intel 64 map of SDM table 32-3 as a model option. Both keep
 * the revision identifier at 7EFCh.
 *
 * The board decides what SMRAM is: the CPU tells it when it enters and leaves
 * SMM (bus.smm_changed) and the board maps the SMRAM window accordingly, before
 * the state is saved and after it is restored.
 */
#include "cpu/cpu_internal.h"
#include "cpu/exec/exec.h"
#include "cpu/msr.h"
#include "mmu/paging.h"
#include "mmu/physmem.h"

/* SMM revision identifiers: bit 17 = SMBASE relocation supported (32.5.2); the
 * low byte 64h names the AMD64 layout. */
#define SMM_REVISION_IA32 0x00020000u
#define SMM_REVISION_AMD64 0x00020064u
#define SMBASE_RESET 0x30000u

/* A field of the state-save area: offset from SMBASE + 8000h, width in bytes. */
enum smm_field {
	SF_CR0,
	SF_CR3,
	SF_CR4,
	SF_EFER,
	SF_RFLAGS,
	SF_RIP,
	SF_DR6,
	SF_DR7,
	SF_TR_SEL,
	SF_LDTR_SEL,
	SF_SEL_ES,              /* ES..GS selectors follow in S_* order */
	SF_GPR = SF_SEL_ES + 6, /* 16 GPRs in R_* order */
	SF_SMBASE = SF_GPR + 16,
	SF_REVISION,
	SF_AUTO_HALT,
	SF_HIDDEN, /* start of fugu's descriptor caches (reserved area) */
	SF_COUNT
};

struct smm_map {
	uint16_t off[SF_COUNT];
	uint8_t width[SF_COUNT];
	unsigned ngprs;
};

/* SDM vol. 3C, table 32-1: the IA-32 state-save map. */
static const struct smm_map map32 = {
	.off = { [SF_CR0] = 0x7ffc,           [SF_CR3] = 0x7ff8,
		 [SF_RFLAGS] = 0x7ff4,        [SF_RIP] = 0x7ff0,
		 [SF_DR6] = 0x7fcc,           [SF_DR7] = 0x7fc8,
		 [SF_TR_SEL] = 0x7fc4,        [SF_LDTR_SEL] = 0x7fc0,
		 [SF_SEL_ES + S_ES] = 0x7fa8, [SF_SEL_ES + S_CS] = 0x7fac,
		 [SF_SEL_ES + S_SS] = 0x7fb0, [SF_SEL_ES + S_DS] = 0x7fb4,
		 [SF_SEL_ES + S_FS] = 0x7fb8, [SF_SEL_ES + S_GS] = 0x7fbc,
		 [SF_GPR + R_AX] = 0x7fd0,    [SF_GPR + R_CX] = 0x7fd4,
		 [SF_GPR + R_DX] = 0x7fd8,    [SF_GPR + R_BX] = 0x7fdc,
		 [SF_GPR + R_SP] = 0x7fe0,    [SF_GPR + R_BP] = 0x7fe4,
		 [SF_GPR + R_SI] = 0x7fe8,    [SF_GPR + R_DI] = 0x7fec,
		 [SF_SMBASE] = 0x7ef8,        [SF_REVISION] = 0x7efc,
		 [SF_AUTO_HALT] = 0x7f02,     [SF_CR4] = 0x7f14,
		 [SF_HIDDEN] = 0x7e00 },
	.width = { [SF_CR0] = 4,
		   [SF_CR3] = 4,
		   [SF_RFLAGS] = 4,
		   [SF_RIP] = 4,
		   [SF_DR6] = 4,
		   [SF_DR7] = 4,
		   [SF_TR_SEL] = 4,
		   [SF_LDTR_SEL] = 4,
		   [SF_SEL_ES... SF_SEL_ES + 5] = 4,
		   [SF_GPR... SF_GPR + 7] = 4,
		   [SF_SMBASE] = 4,
		   [SF_REVISION] = 4,
		   [SF_AUTO_HALT] = 2,
		   [SF_CR4] = 4 },
	.ngprs = 8,
};

/* AMD APM vol. 2, table 10-2: the AMD64 layout. Segments, GDTR, LDTR, IDTR and TR
 * are 16-byte blocks (selector, attributes, limit, base) from 7E00h (SF_HIDDEN). */
static const struct smm_map map64 = {
	.off = { [SF_CR0] = 0x7f58,         [SF_CR3] = 0x7f50,         [SF_CR4] = 0x7f48,
		 [SF_RFLAGS] = 0x7f70,      [SF_EFER] = 0x7ed0,        [SF_RIP] = 0x7f78,
		 [SF_DR6] = 0x7f68,         [SF_DR7] = 0x7f60,         [SF_GPR + R_AX] = 0x7ff8,
		 [SF_GPR + R_CX] = 0x7ff0,  [SF_GPR + R_DX] = 0x7fe8,  [SF_GPR + R_BX] = 0x7fe0,
		 [SF_GPR + R_SP] = 0x7fd8,  [SF_GPR + R_BP] = 0x7fd0,  [SF_GPR + R_SI] = 0x7fc8,
		 [SF_GPR + R_DI] = 0x7fc0,  [SF_GPR + R_R8] = 0x7fb8,  [SF_GPR + R_R9] = 0x7fb0,
		 [SF_GPR + R_R10] = 0x7fa8, [SF_GPR + R_R11] = 0x7fa0, [SF_GPR + R_R12] = 0x7f98,
		 [SF_GPR + R_R13] = 0x7f90, [SF_GPR + R_R14] = 0x7f88, [SF_GPR + R_R15] = 0x7f80,
		 [SF_SMBASE] = 0x7f00,      [SF_REVISION] = 0x7efc,    [SF_AUTO_HALT] = 0x7ec9,
		 [SF_HIDDEN] = 0x7e00 },
	.width = { [SF_CR0] = 8,
		   [SF_CR3] = 8,
		   [SF_CR4] = 8,
		   [SF_RFLAGS] = 8,
		   [SF_EFER] = 8,
		   [SF_RIP] = 8,
		   [SF_DR6] = 8,
		   [SF_DR7] = 8,
		   [SF_GPR... SF_GPR + 15] = 8,
		   [SF_SMBASE] = 4,
		   [SF_REVISION] = 4,
		   [SF_AUTO_HALT] = 1 },
	.ngprs = 16,
};

static const struct smm_map *
smm_map(const struct cpu *cpu)
{
	return cpu_has(&cpu->features, FEAT_LM) ? &map64 : &map32;
}

/* SMRAM is accessed physically, without paging or A20 (32.4.1). */
static void
put(struct cpu *cpu, const struct smm_map *m, enum smm_field f, uint64_t v)
{
	physmem_write_sized(cpu->mem, cpu->state.smbase + 0x8000u + m->off[f], v, m->width[f]);
}

static uint64_t
get(struct cpu *cpu, const struct smm_map *m, enum smm_field f)
{
	return physmem_read_sized(cpu->mem, cpu->state.smbase + 0x8000u + m->off[f], m->width[f]);
}

/*
 * The descriptor caches. AMD64 layout: 16-byte blocks ES CS SS DS FS GS GDTR LDTR
 * IDTR TR from 7E00h (selector, attributes, limit, base). IA-32 map: fugu's own
 * layout in the reserved area from 7E00h: ES..GS, LDTR, TR, then GDTR, IDTR.
 */
static const uint8_t amd64_order[10] = { 0, 1, 2, 3, 4, 5, 6 /* GDTR */, 7 /* LDTR */, 8 /* IDTR */,
					 9 /* TR */ };

static void
hidden_slots(struct cpu *cpu, const struct smm_map *m, struct segment *slots[10],
	     struct dtr *dtrs[2], unsigned *gdtr_slot, unsigned *idtr_slot)
{
	for (unsigned k = 0; k < 6; k++)
		slots[k] = &cpu->state.seg[k];
	dtrs[0] = &cpu->state.gdtr;
	dtrs[1] = &cpu->state.idtr;
	if (m == &map64) {
		slots[6] = NULL, slots[7] = &cpu->state.ldtr, slots[8] = NULL,
		slots[9] = &cpu->state.tr;
		*gdtr_slot = amd64_order[6];
		*idtr_slot = amd64_order[8];
	} else {
		slots[6] = &cpu->state.ldtr, slots[7] = &cpu->state.tr, slots[8] = NULL,
		slots[9] = NULL;
		*gdtr_slot = 8;
		*idtr_slot = 9;
	}
}

static void
put_hidden(struct cpu *cpu, const struct smm_map *m)
{
	uint64_t a = cpu->state.smbase + 0x8000u + m->off[SF_HIDDEN];
	struct segment *slots[10];
	struct dtr *dtrs[2];
	unsigned gs, is;
	hidden_slots(cpu, m, slots, dtrs, &gs, &is);
	for (unsigned k = 0; k < 10; k++) {
		uint64_t b = a + 16 * k;
		if (slots[k]) {
			physmem_write_sized(cpu->mem, b, slots[k]->sel, 2);
			physmem_write_sized(cpu->mem, b + 2, slots[k]->attr, 2);
			physmem_write_sized(cpu->mem, b + 4, slots[k]->limit, 4);
			physmem_write_sized(cpu->mem, b + 8, slots[k]->base, 8);
		} else if (k == gs || k == is) {
			const struct dtr *d = dtrs[k == is];
			physmem_write_sized(cpu->mem, b, 0, 4);
			physmem_write_sized(cpu->mem, b + 4, d->limit, 4);
			physmem_write_sized(cpu->mem, b + 8, d->base, 8);
		}
	}
}

static void
get_hidden(struct cpu *cpu, const struct smm_map *m)
{
	uint64_t a = cpu->state.smbase + 0x8000u + m->off[SF_HIDDEN];
	struct segment *slots[10];
	struct dtr *dtrs[2];
	unsigned gs, is;
	hidden_slots(cpu, m, slots, dtrs, &gs, &is);
	for (unsigned k = 0; k < 10; k++) {
		uint64_t b = a + 16 * k;
		if (slots[k]) {
			slots[k]->sel = (uint16_t)physmem_read_sized(cpu->mem, b, 2);
			slots[k]->attr = (uint16_t)physmem_read_sized(cpu->mem, b + 2, 2);
			slots[k]->limit = (uint32_t)physmem_read_sized(cpu->mem, b + 4, 4);
			slots[k]->base = physmem_read_sized(cpu->mem, b + 8, 8);
		} else if (k == gs || k == is) {
			struct dtr *d = dtrs[k == is];
			d->limit = (uint32_t)physmem_read_sized(cpu->mem, b + 4, 4);
			d->base = physmem_read_sized(cpu->mem, b + 8, 8);
		}
	}
}

static void
smm_notify(struct cpu *cpu, bool in_smm)
{
	cpu->state.in_smm = in_smm;
	if (cpu->bus.smm_changed)
		cpu->bus.smm_changed(cpu->bus.smm_opaque, in_smm);
	tlb_flush_all(&cpu->tlb);
	cpu->stop_trace = true;
}

/*
 * Enter SMM (32.5): save the state, then load the SMM execution environment of
 * table 32-4 — CS = SMBASE, EIP = 8000h, flat 4 GiB segments, CR0.PE/EM/TS/PG
 * clear, CR4 and EFER clear, DR7 = 400h, RFLAGS = 2 (interrupts off).
 */
void
cpu_smm_enter(struct cpu *cpu)
{
	const struct smm_map *m = smm_map(cpu);
	smm_notify(cpu, true); /* SMRAM becomes visible before the save */
	for (unsigned k = 0; k < m->ngprs; k++)
		put(cpu, m, SF_GPR + k, cpu->state.gpr[k]);
	put(cpu, m, SF_RIP, cpu->state.rip);
	put(cpu, m, SF_RFLAGS, rflags_read(cpu));
	put(cpu, m, SF_CR0, cpu->state.cr0);
	put(cpu, m, SF_CR3, cpu->state.cr3);
	put(cpu, m, SF_CR4, cpu->state.cr4);
	if (m == &map64)
		put(cpu, m, SF_EFER, cpu->state.efer);
	put(cpu, m, SF_DR6, cpu->state.dr[6]);
	put(cpu, m, SF_DR7, cpu->state.dr[7]);
	if (m == &map32) { /* AMD64 keeps the selectors in the segment blocks */
		put(cpu, m, SF_TR_SEL, cpu->state.tr.sel);
		put(cpu, m, SF_LDTR_SEL, cpu->state.ldtr.sel);
		for (unsigned s = 0; s < 6; s++)
			put(cpu, m, SF_SEL_ES + s, cpu->state.seg[s].sel);
	}
	put(cpu, m, SF_SMBASE, cpu->state.smbase);
	put(cpu, m, SF_REVISION, m == &map64 ? SMM_REVISION_AMD64 : SMM_REVISION_IA32);
	put(cpu, m, SF_AUTO_HALT, cpu->state.halted ? 1 : 0);
	put_hidden(cpu, m);

	cpu->state.halted = false;
	cpu->lf.mask = 0;
	cpu->state.rflags = F_FIXED1;
	cpu->state.rip = 0x8000;
	/* SMM's initial state (table 32-4): CR0.PE/EM/TS/PG clear, CR4 and EFER zero. */
	struct control_regs ctl = { cpu->state.cr0 & ~(uint64_t)(CR0_PE | CR0_EM | CR0_TS | CR0_PG),
				    cpu->state.cr3, 0, 0 };
	cpu_load_control(cpu, &ctl, 0, "smi"); /* paging off: no PDPTEs, cannot fail */
	cpu->state.dr[7] = 0x400;
	for (unsigned s = 0; s < 6; s++)
		cpu->state.seg[s] =
			(struct segment){ .sel = 0, .base = 0, .limit = 0xffffffff, .attr = 0x93 };
	cpu->state.seg[S_CS] = (struct segment){ .sel = (uint16_t)(cpu->state.smbase >> 4),
						 .base = cpu->state.smbase,
						 .limit = 0xffffffff,
						 .attr = 0x9b };
	cpu->state.cpl = 0;
	cpu->state.intr_shadow = 0;
	cpu_mode_update(cpu);
	cpu->events &= ~(uint32_t)EV_SMI;
}

/*
 * RSM (0F AA; 32.10): #UD outside SMM. Restores the saved state (a new SMBASE
 * from the save area takes effect for the next SMI, 32.11) and leaves SMM.
 * Inconsistent saved control registers shut the processor down (32.10).
 */
void
op_rsm(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	if (!cpu->state.in_smm)
		cpu_ud(cpu);
	const struct smm_map *m = smm_map(cpu);
	uint64_t cr0 = get(cpu, m, SF_CR0), cr4 = get(cpu, m, SF_CR4);
	uint64_t efer = m == &map64 ? get(cpu, m, SF_EFER) : 0;
	if (((cr0 & CR0_PG) && !(cr0 & CR0_PE)) || ((cr0 & CR0_NW) && !(cr0 & CR0_CD)) ||
	    ((efer & EFER_LMA) && !(cr4 & (1u << 5)))) {
		cpu->shutdown = true; /* 32.10: an invalid state in SMRAM shuts the CPU down */
		longjmp(cpu->fault_jmp, 1);
	}
	for (unsigned k = 0; k < m->ngprs; k++)
		cpu->state.gpr[k] = get(cpu, m, SF_GPR + k);
	get_hidden(cpu, m);
	struct control_regs ctl = { cr0, get(cpu, m, SF_CR3), cr4, efer };
	if (!cpu_load_control(cpu, &ctl, CTL_LOAD_PDPTES | CTL_CR3_WRITTEN, "rsm")) {
		cpu->shutdown = true; /* an invalid PDPTE: as an invalid saved state (32.10) */
		longjmp(cpu->fault_jmp, 1);
	}
	cpu->state.dr[6] = get(cpu, m, SF_DR6);
	cpu->state.dr[7] = get(cpu, m, SF_DR7);
	cpu->lf.mask = 0;
	cpu->state.rflags = (get(cpu, m, SF_RFLAGS) & 0x3f7fd7) | F_FIXED1;
	cpu->state.rip = get(cpu, m, SF_RIP);
	cpu->state.cpl = (uint8_t)((cpu->state.seg[S_SS].attr >> 5) & 3);
	bool auto_halt = get(cpu, m, SF_AUTO_HALT) & 1;
	cpu->state.smbase = (uint32_t)get(cpu, m, SF_SMBASE); /* SMBASE relocation (32.11) */
	cpu_mode_update(cpu);
	smm_notify(cpu, false);
	/* Auto HALT restart: return to the HLT state the SMI interrupted (32.12). */
	cpu->state.halted = auto_halt;
}

void
cpu_smm_reset(struct cpu *cpu)
{
	cpu->state.smbase = SMBASE_RESET;
	if (cpu->state.in_smm)
		smm_notify(cpu, false);
}
