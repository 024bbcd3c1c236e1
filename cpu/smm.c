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
#include "cpu/vmx/vmx.h"
#include "cpu/exec/exec.h"
#include "cpu/msr.h"
#include "mmu/paging.h"
#include "mmu/physmem.h"

/* SMM revision identifiers: bit 17 = SMBASE relocation supported (32.5.2); the
 * low byte 64h names the AMD64 layout. */
#define SMM_REVISION_IA32 0x00020000u
#define SMM_REVISION_AMD64 0x00020064u
#define SMBASE_RESET 0x30000u

/*
 * A state-save map is a list of rows: a field of the state table (cpu/state.h)
 * at an offset from SMBASE + 8000h, stored in `width` bytes. A few rows are not
 * registers: the revision identifier, the auto-HALT restart flag, and reserved
 * bytes written as zero.
 */
enum { SMM_REVISION = STATE_FIELD_COUNT, SMM_AUTO_HALT, SMM_ZERO };
#define SMM_SAVE_ONLY 0x1 /* written on SMI, not read back by RSM */

struct smm_row {
	uint16_t field; /* enum state_field_id, or SMM_* */
	uint16_t off;
	uint8_t width;
	uint8_t flags;
};

/* A descriptor cache as a 16-byte block: selector, attributes, limit, base. */
#define SEG_BLOCK(ID, at)                                                                          \
	{ STATE_##ID##_SEL, (at), 2, 0 }, { STATE_##ID##_ATTR, (at) + 2, 2, 0 },                   \
		{ STATE_##ID##_LIMIT, (at) + 4, 4, 0 },                                            \
	{                                                                                          \
		STATE_##ID##_BASE, (at) + 8, 8, 0                                                  \
	}
#define DTR_BLOCK(ID, at)                                                                          \
	{ SMM_ZERO, (at), 4, SMM_SAVE_ONLY }, { STATE_##ID##_LIMIT, (at) + 4, 4, 0 },              \
	{                                                                                          \
		STATE_##ID##_BASE, (at) + 8, 8, 0                                                  \
	}
#define ROW(ID, at, w)                                                                             \
	{                                                                                          \
		STATE_##ID, (at), (w), 0                                                           \
	}
#define SAVED(ID, at, w)                                                                           \
	{                                                                                          \
		STATE_##ID, (at), (w), SMM_SAVE_ONLY                                               \
	}

/* SDM vol. 3C, table 32-1: the IA-32 state-save map. The descriptor caches go in
 * fugu's own layout in the reserved area from 7E00h: ES..GS, LDTR, TR, GDTR, IDTR. */
static const struct smm_row map32[] = {
	ROW(CR0, 0x7ffc, 4),
	ROW(CR3, 0x7ff8, 4),
	ROW(RFLAGS, 0x7ff4, 4),
	ROW(RIP, 0x7ff0, 4),
	ROW(RDI, 0x7fec, 4),
	ROW(RSI, 0x7fe8, 4),
	ROW(RBP, 0x7fe4, 4),
	ROW(RSP, 0x7fe0, 4),
	ROW(RBX, 0x7fdc, 4),
	ROW(RDX, 0x7fd8, 4),
	ROW(RCX, 0x7fd4, 4),
	ROW(RAX, 0x7fd0, 4),
	ROW(DR6, 0x7fcc, 4),
	ROW(DR7, 0x7fc8, 4),
	/* The visible selectors (the caches below hold them too, and RSM reads those). */
	SAVED(TR_SEL, 0x7fc4, 4),
	SAVED(LDTR_SEL, 0x7fc0, 4),
	SAVED(GS_SEL, 0x7fbc, 4),
	SAVED(FS_SEL, 0x7fb8, 4),
	SAVED(DS_SEL, 0x7fb4, 4),
	SAVED(SS_SEL, 0x7fb0, 4),
	SAVED(CS_SEL, 0x7fac, 4),
	SAVED(ES_SEL, 0x7fa8, 4),
	ROW(CR4, 0x7f14, 4),
	{ SMM_AUTO_HALT, 0x7f02, 2, 0 },
	{ SMM_REVISION, 0x7efc, 4, 0 },
	ROW(SMBASE, 0x7ef8, 4),
	SEG_BLOCK(ES, 0x7e00),
	SEG_BLOCK(CS, 0x7e10),
	SEG_BLOCK(SS, 0x7e20),
	SEG_BLOCK(DS, 0x7e30),
	SEG_BLOCK(FS, 0x7e40),
	SEG_BLOCK(GS, 0x7e50),
	SEG_BLOCK(LDTR, 0x7e60),
	SEG_BLOCK(TR, 0x7e70),
	DTR_BLOCK(GDTR, 0x7e80),
	DTR_BLOCK(IDTR, 0x7e90),
};

/* AMD APM vol. 2, table 10-2: the AMD64 layout. Segments, GDTR, LDTR, IDTR and TR
 * are 16-byte blocks from 7E00h. */
static const struct smm_row map64[] = {
	ROW(RAX, 0x7ff8, 8),
	ROW(RCX, 0x7ff0, 8),
	ROW(RDX, 0x7fe8, 8),
	ROW(RBX, 0x7fe0, 8),
	ROW(RSP, 0x7fd8, 8),
	ROW(RBP, 0x7fd0, 8),
	ROW(RSI, 0x7fc8, 8),
	ROW(RDI, 0x7fc0, 8),
	ROW(R8, 0x7fb8, 8),
	ROW(R9, 0x7fb0, 8),
	ROW(R10, 0x7fa8, 8),
	ROW(R11, 0x7fa0, 8),
	ROW(R12, 0x7f98, 8),
	ROW(R13, 0x7f90, 8),
	ROW(R14, 0x7f88, 8),
	ROW(R15, 0x7f80, 8),
	ROW(RIP, 0x7f78, 8),
	ROW(RFLAGS, 0x7f70, 8),
	ROW(DR6, 0x7f68, 8),
	ROW(DR7, 0x7f60, 8),
	ROW(CR0, 0x7f58, 8),
	ROW(CR3, 0x7f50, 8),
	ROW(CR4, 0x7f48, 8),
	ROW(SMBASE, 0x7f00, 4),
	{ SMM_REVISION, 0x7efc, 4, 0 },
	ROW(EFER, 0x7ed0, 8),
	{ SMM_AUTO_HALT, 0x7ec9, 1, 0 },
	SEG_BLOCK(ES, 0x7e00),
	SEG_BLOCK(CS, 0x7e10),
	SEG_BLOCK(SS, 0x7e20),
	SEG_BLOCK(DS, 0x7e30),
	SEG_BLOCK(FS, 0x7e40),
	SEG_BLOCK(GS, 0x7e50),
	DTR_BLOCK(GDTR, 0x7e60),
	SEG_BLOCK(LDTR, 0x7e70),
	DTR_BLOCK(IDTR, 0x7e80),
	SEG_BLOCK(TR, 0x7e90),
};

struct smm_map {
	const struct smm_row *rows;
	unsigned nrows;
	uint32_t revision;
};

static const struct smm_map smm_maps[2] = {
	{ map32, sizeof(map32) / sizeof(map32[0]), SMM_REVISION_IA32 },
	{ map64, sizeof(map64) / sizeof(map64[0]), SMM_REVISION_AMD64 },
};

static const struct smm_map *
smm_map(const struct cpu *cpu)
{
	return &smm_maps[cpu_has(&cpu->features, FEAT_LM) ? 1 : 0];
}

/* SMRAM is accessed physically, without paging or A20 (32.4.1). */
static void
save_state(struct cpu *cpu, const struct smm_map *m)
{
	flags_materialize(cpu);
	for (unsigned k = 0; k < m->nrows; k++) {
		const struct smm_row *r = &m->rows[k];
		uint64_t v = r->field == SMM_REVISION    ? m->revision
			     : r->field == SMM_AUTO_HALT ? cpu->state.halted
			     : r->field == SMM_ZERO      ? 0
							 : state_get(&cpu->state, r->field);
		physmem_write_sized(cpu->mem, cpu->state.smbase + 0x8000u + r->off, v, r->width);
	}
}

/* Read the saved state into `next` (a copy of the current state); returns the
 * auto-HALT flag. */
static bool
read_saved_state(struct cpu *cpu, const struct smm_map *m, struct cpu_state *next)
{
	bool auto_halt = false;
	for (unsigned k = 0; k < m->nrows; k++) {
		const struct smm_row *r = &m->rows[k];
		if ((r->flags & SMM_SAVE_ONLY) || r->field == SMM_REVISION)
			continue;
		uint64_t v = physmem_read_sized(cpu->mem, cpu->state.smbase + 0x8000u + r->off,
						r->width);
		if (r->field == SMM_AUTO_HALT)
			auto_halt = v & 1;
		else
			state_set(next, r->field, v);
	}
	return auto_halt;
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
	smm_notify(cpu, true); /* SMRAM becomes visible before the save */
	save_state(cpu, smm_map(cpu));
	if (cpu->vmx)
		vmx_smm(cpu, true); /* VMX operation is suspended in SMM (vol. 3C, 32.14.1) */

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
	struct cpu_state next = cpu->state;
	bool auto_halt = read_saved_state(cpu, smm_map(cpu), &next);
	if (!cpu_has(&cpu->features, FEAT_LM))
		next.efer = 0; /* the IA-32 map has no EFER */
	uint64_t cr0 = next.cr0, cr4 = next.cr4, efer = next.efer;
	if (((cr0 & CR0_PG) && !(cr0 & CR0_PE)) || ((cr0 & CR0_NW) && !(cr0 & CR0_CD)) ||
	    ((efer & EFER_LMA) && !(cr4 & CR4_PAE))) {
		cpu->shutdown = true; /* 32.10: an invalid state in SMRAM shuts the CPU down */
		longjmp(cpu->fault_jmp, 1);
	}
	/* Everything but the control registers as saved; those through the mode gate. */
	struct control_regs ctl = { cr0, next.cr3, cr4, efer };
	next.cr0 = cpu->state.cr0, next.cr3 = cpu->state.cr3;
	next.cr4 = cpu->state.cr4, next.efer = cpu->state.efer;
	next.rflags = (next.rflags & 0x3f7fd7) | F_FIXED1;
	next.cpl = (uint8_t)((next.seg[S_SS].attr >> 5) & 3);
	/* A new SMBASE from the save area takes effect for the next SMI (32.11). */
	cpu->state = next;
	cpu->lf.mask = 0;
	if (!cpu_load_control(cpu, &ctl, CTL_LOAD_PDPTES | CTL_CR3_WRITTEN, "rsm")) {
		cpu->shutdown = true; /* an invalid PDPTE: as an invalid saved state (32.10) */
		longjmp(cpu->fault_jmp, 1);
	}
	cpu_mode_update(cpu);
	smm_notify(cpu, false);
	if (cpu->vmx)
		vmx_smm(cpu, false); /* back to VMX root or non-root operation */
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
