/*
 * fugu — the architectural state of one logical processor, as plain data.
 *
 * Everything software can observe or that VM entry/exit, SMM, snapshots and the
 * GDB register file save and load lives here, and nothing else: derived mode,
 * run bookkeeping, caches (TLB, decoded traces) and board wiring stay in
 * struct cpu. The lazy flags (struct cpu.lf) are a cache of RFLAGS' arithmetic
 * bits: call cpu_state_sync() before reading `rflags` from outside the CPU.
 * cpu/state.c holds the one field table (name, offset, size) that the dump,
 * the tracer's register deltas and the SMM state-save maps are derived from.
 */
#ifndef FUGU_CPU_STATE_H
#define FUGU_CPU_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/msr.h"

/* A segment register: the visible selector and its hidden descriptor cache. */
struct segment {
	uint16_t sel;  /* visible selector */
	uint16_t attr; /* descriptor bits 40-47 and 52-55 packed: type|S|DPL|P in 0-7, AVL|L|DB|G in
			  8-11 */
	uint32_t limit; /* byte-granular limit (already scaled by G) */
	uint64_t base;  /* linear base address */
};

#define SEG_ATTR_TYPE 0x000f
#define SEG_ATTR_S 0x0010
#define SEG_ATTR_DPL 0x0060
#define SEG_ATTR_P 0x0080
#define SEG_ATTR_L 0x0200
#define SEG_ATTR_DB 0x0400
#define SEG_ATTR_G 0x0800

/* A descriptor-table register (GDTR/IDTR). */
struct dtr {
	uint64_t base;
	uint32_t limit;
};

/*
 * The x87/SSE/AVX registers, laid out as the XSAVE image in its standard form
 * (SDM vol. 1, 13.4-13.5): the 512-byte legacy region (FXSAVE layout: FCW, FSW,
 * FTW, FOP, FIP, FDP, MXCSR, ST0-7, XMM0-15), the 64-byte XSAVE header, then the
 * AVX component (YMM0-15 upper halves) at offset 576.
 */
#define XSAVE_LEGACY_SIZE 512
#define XSAVE_HEADER_OFFSET 512
#define XSAVE_AVX_OFFSET 576
#define XSAVE_AREA_SIZE 832

/* Activity state (SDM vol. 3C, 25.4.2): what the processor is doing between instructions. */
enum cpu_activity { ACTIVITY_ACTIVE, ACTIVITY_HLT };

struct cpu_state {
	uint64_t gpr[16]; /* R_AX ... R_R15 */
	uint64_t rip;
	uint64_t rflags; /* authoritative except for the bits named in cpu->lf.mask */
	struct segment seg[6];
	struct segment ldtr, tr;
	struct dtr gdtr, idtr;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t pdpte[4]; /* PAE paging: the PDPTE registers (SDM vol. 3A, 4.4.1) */
	uint32_t pkru;     /* protection-key rights for user pages (4.6.2) */
	uint64_t dr[8];
	uint64_t tsc_offset; /* TSC = virtual clock + tsc_offset (WRMSR to IA32_TSC moves it) */
	struct msr_state msr;
	uint8_t cpl;
	uint32_t smbase;  /* SMRAM base (SDM vol. 3C, 32.4; relocatable through RSM) */
	bool in_smm;      /* in System Management Mode */
	bool nmi_blocked; /* an NMI is being handled: the next waits for IRET (vol. 3A, 6.7.1) */
	bool halted;      /* activity state HLT: waiting for an interrupt */
	/* Interruptibility (vol. 3C, 25.4.2): blocked for one instruction, 1 STI, 2 MOV/POP SS. */
	uint8_t intr_shadow;
	/* x87/SSE/AVX (not executed yet: the room the FPU work fills). */
	_Alignas(64) uint8_t xsave[XSAVE_AREA_SIZE];
};

/* One entry of the state field table: a register by name, where it lives, how wide. */
enum state_field_kind {
	SF_U64,     /* an integer register of `size` bytes */
	SF_SEGMENT, /* a struct segment: selector, base, limit, attributes */
	SF_DTR,     /* a struct dtr: base, limit */
};

struct state_field {
	const char *name; /* lower case, as gdb and the trace print it: "rax", "cs", "cr0" */
	uint16_t offset;  /* offsetof(struct cpu_state, ...) */
	uint8_t size;     /* bytes (for SF_U64) */
	uint8_t kind;     /* enum state_field_kind */
	uint8_t group;    /* enum state_group: what a consumer selects by */
};

enum state_group {
	SG_GPR,     /* rax-r15 */
	SG_IP,      /* rip, rflags */
	SG_SEGMENT, /* es, cs, ss, ds, fs, gs, ldtr, tr */
	SG_DTR,     /* gdtr, idtr */
	SG_CONTROL, /* cr0, cr2, cr3, cr4, cr8, efer */
	SG_DEBUG,   /* dr0-dr7 */
	SG_OTHER,   /* the rest: pkru, smbase, ... */
};

extern const struct state_field state_fields[];
extern const unsigned state_field_count;

/* Find a field by name (NULL when there is none). */
const struct state_field *state_field_find(const char *name);

/* The value of an SF_U64 field. */
static inline uint64_t
state_field_u64(const struct cpu_state *s, const struct state_field *f)
{
	const uint8_t *p = (const uint8_t *)s + f->offset;
	switch (f->size) {
	case 1: return *p;
	case 2: return *(const uint16_t *)(const void *)p;
	case 4: return *(const uint32_t *)(const void *)p;
	default: return *(const uint64_t *)(const void *)p;
	}
}

#endif
