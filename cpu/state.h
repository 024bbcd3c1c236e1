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
#define XSAVE_MXCSR_OFFSET 24 /* MXCSR in the legacy region */
/* MXCSR bits fugu's processor implements: flags, DAZ, masks, RC, FTZ (vol. 1,
 * 10.2.3); a 1 elsewhere is #GP for LDMXCSR/FXRSTOR/XRSTOR, on the host too. */
#define MXCSR_MASK 0xffffu

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
	uint64_t xcr0;     /* XCR0, the XSAVE feature mask (vol. 1, 13.3): x87 | SSE here */
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
	/* x87 (cpu/exec/x87.c, docs/FPU.md), SSE/AVX (not executed yet). */
	_Alignas(64) uint8_t xsave[XSAVE_AREA_SIZE];
};

/*
 * The state field table: every register by name, as an integer of its own
 * width at an offset in struct cpu_state. Segment registers and descriptor-table
 * registers appear as their parts (selector, base, limit, attributes), as the
 * VMCS guest-state area and the SMM state-save maps hold them. One X-macro list
 * gives the ids (STATE_RAX, ...) and the table.
 */
enum state_group {
	SG_GPR,     /* rax-r15 */
	SG_IP,      /* rip, rflags */
	SG_SEGMENT, /* es, cs, ss, ds, fs, gs, ldtr, tr: .sel .base .limit .attr */
	SG_DTR,     /* gdtr, idtr: .base .limit */
	SG_CONTROL, /* cr0, cr2, cr3, cr4, cr8, efer, the PDPTEs, xcr0 */
	SG_DEBUG,   /* dr0-dr7 */
	SG_MSR,     /* the MSRs that are plain registers */
	SG_OTHER,   /* pkru, smbase, cpl, SMM/NMI/HLT/shadow state, the TSC offset */
};

#define STATE_SEGMENT_FIELDS(X, ID, NAME, MEMBER)                                                  \
	X(ID##_SEL, NAME ".sel", MEMBER.sel, SG_SEGMENT)                                           \
	X(ID##_BASE, NAME ".base", MEMBER.base, SG_SEGMENT)                                        \
	X(ID##_LIMIT, NAME ".limit", MEMBER.limit, SG_SEGMENT)                                     \
	X(ID##_ATTR, NAME ".attr", MEMBER.attr, SG_SEGMENT)

/* clang-format off */
#define CPU_STATE_FIELDS(X)                                                                        \
	X(RAX, "rax", gpr[0], SG_GPR) X(RCX, "rcx", gpr[1], SG_GPR)                                 \
	X(RDX, "rdx", gpr[2], SG_GPR) X(RBX, "rbx", gpr[3], SG_GPR)                                 \
	X(RSP, "rsp", gpr[4], SG_GPR) X(RBP, "rbp", gpr[5], SG_GPR)                                 \
	X(RSI, "rsi", gpr[6], SG_GPR) X(RDI, "rdi", gpr[7], SG_GPR)                                 \
	X(R8, "r8", gpr[8], SG_GPR) X(R9, "r9", gpr[9], SG_GPR)                                     \
	X(R10, "r10", gpr[10], SG_GPR) X(R11, "r11", gpr[11], SG_GPR)                               \
	X(R12, "r12", gpr[12], SG_GPR) X(R13, "r13", gpr[13], SG_GPR)                               \
	X(R14, "r14", gpr[14], SG_GPR) X(R15, "r15", gpr[15], SG_GPR)                               \
	X(RIP, "rip", rip, SG_IP) X(RFLAGS, "rflags", rflags, SG_IP)                                \
	STATE_SEGMENT_FIELDS(X, ES, "es", seg[0]) STATE_SEGMENT_FIELDS(X, CS, "cs", seg[1])         \
	STATE_SEGMENT_FIELDS(X, SS, "ss", seg[2]) STATE_SEGMENT_FIELDS(X, DS, "ds", seg[3])         \
	STATE_SEGMENT_FIELDS(X, FS, "fs", seg[4]) STATE_SEGMENT_FIELDS(X, GS, "gs", seg[5])         \
	STATE_SEGMENT_FIELDS(X, LDTR, "ldtr", ldtr) STATE_SEGMENT_FIELDS(X, TR, "tr", tr)           \
	X(GDTR_BASE, "gdtr.base", gdtr.base, SG_DTR) X(GDTR_LIMIT, "gdtr.limit", gdtr.limit, SG_DTR) \
	X(IDTR_BASE, "idtr.base", idtr.base, SG_DTR) X(IDTR_LIMIT, "idtr.limit", idtr.limit, SG_DTR) \
	X(CR0, "cr0", cr0, SG_CONTROL) X(CR2, "cr2", cr2, SG_CONTROL)                               \
	X(CR3, "cr3", cr3, SG_CONTROL) X(CR4, "cr4", cr4, SG_CONTROL)                               \
	X(CR8, "cr8", cr8, SG_CONTROL) X(EFER, "efer", efer, SG_CONTROL)                            \
	X(PDPTE0, "pdpte0", pdpte[0], SG_CONTROL) X(PDPTE1, "pdpte1", pdpte[1], SG_CONTROL)         \
	X(PDPTE2, "pdpte2", pdpte[2], SG_CONTROL) X(PDPTE3, "pdpte3", pdpte[3], SG_CONTROL)         \
	X(XCR0, "xcr0", xcr0, SG_CONTROL)                                                          \
	X(DR0, "dr0", dr[0], SG_DEBUG) X(DR1, "dr1", dr[1], SG_DEBUG)                               \
	X(DR2, "dr2", dr[2], SG_DEBUG) X(DR3, "dr3", dr[3], SG_DEBUG)                               \
	X(DR6, "dr6", dr[6], SG_DEBUG) X(DR7, "dr7", dr[7], SG_DEBUG)                               \
	X(SYSENTER_CS, "sysenter_cs", msr.sysenter_cs, SG_MSR)                                      \
	X(SYSENTER_ESP, "sysenter_esp", msr.sysenter_esp, SG_MSR)                                   \
	X(SYSENTER_EIP, "sysenter_eip", msr.sysenter_eip, SG_MSR)                                   \
	X(STAR, "star", msr.star, SG_MSR) X(LSTAR, "lstar", msr.lstar, SG_MSR)                      \
	X(CSTAR, "cstar", msr.cstar, SG_MSR) X(FMASK, "fmask", msr.fmask, SG_MSR)                   \
	X(KERNEL_GS_BASE, "kernel_gs_base", msr.kernel_gs_base, SG_MSR)                             \
	X(TSC_AUX, "tsc_aux", msr.tsc_aux, SG_MSR) X(PAT, "pat", msr.pat, SG_MSR)                   \
	X(MISC_ENABLE, "misc_enable", msr.misc_enable, SG_MSR)                                      \
	X(MTRR_DEF_TYPE, "mtrr_def_type", msr.mtrr_def_type, SG_MSR)                                \
	X(PKRU, "pkru", pkru, SG_OTHER) X(TSC_OFFSET, "tsc_offset", tsc_offset, SG_OTHER)           \
	X(CPL, "cpl", cpl, SG_OTHER) X(SMBASE, "smbase", smbase, SG_OTHER)                          \
	X(IN_SMM, "in_smm", in_smm, SG_OTHER) X(NMI_BLOCKED, "nmi_blocked", nmi_blocked, SG_OTHER)  \
	X(HALTED, "halted", halted, SG_OTHER) X(INTR_SHADOW, "intr_shadow", intr_shadow, SG_OTHER)
/* clang-format on */

enum state_field_id {
#define STATE_FIELD_ID(id, name, member, group) STATE_##id,
	CPU_STATE_FIELDS(STATE_FIELD_ID)
#undef STATE_FIELD_ID
		STATE_FIELD_COUNT
};

struct state_field {
	const char *name; /* lower case, as gdb and the trace print it: "rax", "cs.sel", "cr0" */
	uint16_t offset;  /* offsetof(struct cpu_state, ...) */
	uint8_t size;     /* 1, 2, 4 or 8 bytes */
	uint8_t group;    /* enum state_group */
	bool is_bool;     /* a bool: stores keep it 0 or 1 */
};

extern const struct state_field state_fields[STATE_FIELD_COUNT];

/* Find a field by name: its id, or -1 when there is none. */
int state_field_find(const char *name);

/* A field's value, zero-extended; and a store, truncated to the field's width. */
uint64_t state_get(const struct cpu_state *s, enum state_field_id id);
void state_set(struct cpu_state *s, enum state_field_id id, uint64_t value);

#endif
