/*
 * fugu — the processor: architectural state and the public surface the board and
 * the frontend use. Everything inside cpu/ includes cpu_internal.h instead.
 */
#ifndef FUGU_CPU_H
#define FUGU_CPU_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpuid.h"
#include "cpu/msr.h"
#include "cpu/state.h"
#include "mmu/paging.h"
#include "mmu/tlb.h"

struct physmem;
struct ioports;
struct tcache;
struct trace;
struct tracer;
struct vmx;

/* General-purpose register numbers (ModRM encoding order). */
enum {
	R_AX,
	R_CX,
	R_DX,
	R_BX,
	R_SP,
	R_BP,
	R_SI,
	R_DI,
	R_R8,
	R_R9,
	R_R10,
	R_R11,
	R_R12,
	R_R13,
	R_R14,
	R_R15
};

/* Segment register numbers (ModRM sreg encoding order). */
enum { S_ES, S_CS, S_SS, S_DS, S_FS, S_GS, S_NONE = 7 };

/* EFLAGS bits (SDM vol. 1, 3.4.3). */
#define F_CF 0x0001u
#define F_FIXED1 0x0002u /* reads as 1 */
#define F_PF 0x0004u
#define F_AF 0x0010u
#define F_ZF 0x0040u
#define F_SF 0x0080u
#define F_TF 0x0100u
#define F_IF 0x0200u
#define F_DF 0x0400u
#define F_OF 0x0800u
#define F_IOPL 0x3000u
#define F_NT 0x4000u
#define F_RF 0x10000u
#define F_VM 0x20000u
#define F_AC 0x40000u
#define F_VIF 0x80000u
#define F_VIP 0x100000u
#define F_ID 0x200000u
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

/* Control register bits (SDM vol. 3A, 2.5). */
#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_AM (1u << 18)
#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR0_PG (1u << 31)

#define CR4_VME (1u << 0)
#define CR4_PVI (1u << 1)
#define CR4_TSD (1u << 2)
#define CR4_DE (1u << 3)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_MCE (1u << 6)
#define CR4_PGE (1u << 7)
#define CR4_PCE (1u << 8)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_VMXE (1u << 13)
#define CR4_FSGSBASE (1u << 16)
#define CR4_PCIDE (1u << 17)
#define CR4_OSXSAVE (1u << 18)
#define CR4_SMEP (1u << 20)
#define CR4_SMAP (1u << 21)
#define CR4_PKE (1u << 22)

/* Exception vectors (SDM vol. 3A, 6.3.1). */
enum {
	EXC_DE = 0,
	EXC_DB = 1,
	EXC_NMI = 2,
	EXC_BP = 3,
	EXC_OF = 4,
	EXC_BR = 5,
	EXC_UD = 6,
	EXC_NM = 7,
	EXC_DF = 8,
	EXC_TS = 10,
	EXC_NP = 11,
	EXC_SS = 12,
	EXC_GP = 13,
	EXC_PF = 14,
	EXC_MF = 16,
	EXC_AC = 17,
	EXC_MC = 18,
	EXC_XM = 19,
	EXC_VE = 20 /* virtualization exception: only in VMX non-root operation */
};

/* Bits of cpu->events: asynchronous work checked at trace boundaries. */
#define EV_INTR 0x1u  /* the interrupt controller has a maskable interrupt */
#define EV_NMI 0x2u   /* an NMI is latched */
#define EV_STOP 0x4u  /* the run loop asked the CPU to return (timer, I/O, exit) */
#define EV_RESET 0x8u /* the board requested a reset */
#define EV_SMI 0x10u  /* an SMI is latched (SDM vol. 3C, 32.2) */
#define EV_VMX 0x20u  /* VMX non-root: a window exit is armed, look at every boundary */
#define EV_INIT 0x40u /* an INIT is latched: reset, then (APs) wait for SIPI (vol. 3A, 8.4) */
#define EV_SIPI 0x80u /* a STARTUP IPI is latched (vector in cpu->sipi_vector) */
#define EV_VMX_MTF                                                                                 \
	0x200u /* VMX non-root: monitor trap flag, look after each instruction (25.5.2) */
#define EV_VMX_TIMER                                                                               \
	0x100u /* VMX non-root: the preemption timer may have expired (vol. 3C, 25.5.1) */
#define EV_VMX_APIC                                                                                \
	0x400u /* VMX non-root: APIC-write emulation waits for the boundary (vol. 3C, 29.4.3) */
#define EV_VMX_VINTR 0x800u /* VMX non-root: a virtual interrupt is recognized (29.2.1) */

/* Why cpu_exec returned. */
enum cpu_exit {
	CPU_EXIT_BUDGET,       /* ran the requested number of instructions */
	CPU_EXIT_HALT,         /* executed HLT; waiting for an interrupt */
	CPU_EXIT_STOP,         /* EV_STOP was raised (device or frontend wants attention) */
	CPU_EXIT_TRIPLE_FAULT, /* shutdown: the CPU could not deliver a double fault */
	CPU_EXIT_UNMODELLED,   /* the guest used something fugu does not model yet */
	CPU_EXIT_DEBUG,        /* the external debugger's breakpoint, watchpoint or step */
};

/* The board's side of the CPU: how it reaches ports and acknowledges interrupts. */
struct cpu_bus {
	void *opaque;
	int (*intr_ack)(void *opaque); /* returns the vector of the highest pending interrupt */
	/* The CPU entered (true) or left SMM: the board maps SMRAM for it (NULL: none). */
	void (*smm_changed)(void *smm_opaque, bool in_smm);
	void *smm_opaque;
	/* FERR# of the x87 (NULL: none). The CPU drives it high when a waiting x87
	 * instruction meets a pending unmasked exception with CR0.NE=0, low when the
	 * exception is cleared; the result is IGNNE# (true: proceed regardless). */
	bool (*ferr)(void *ferr_opaque, bool level);
	void *ferr_opaque;
	/* The local APIC (NULL hooks: none): the MSRs it implements (-1 means #GP) and the
	 * TPR that CR8 maps to (SDM vol. 3A, 10.8.6.1). */
	void *apic;
	int (*apic_msr_read)(void *apic, uint32_t index, uint64_t *value);
	int (*apic_msr_write)(void *apic, uint32_t index, uint64_t value);
	uint8_t (*apic_get_cr8)(void *apic);
	void (*apic_set_cr8)(void *apic, uint8_t value);
	/* An EOI to the local APIC (posted-interrupt processing, SDM vol. 3C, 29.6). */
	void (*apic_eoi)(void *apic);
	/* VMX: a timer on the virtual clock for the VMX-preemption timer (NULL:
	 * none; the timer then expires only when the CPU next looks). The board
	 * calls vmx_preempt_fire at deadline_ns; UINT64_MAX disarms it. */
	void (*vmx_timer_arm)(void *vmx_timer_opaque, uint64_t deadline_ns);
	void *vmx_timer_opaque;
};

/*
 * The external debugger's view of the CPU (the GDB stub): breakpoints and
 * watchpoints of its own on linear addresses, separate from DR0-DR7 and
 * invisible to the guest, and single-stepping. While any is set the run loop
 * takes the careful one-instruction path (debug.c).
 */
enum dbg_point { DBG_BREAK, DBG_WATCH_WRITE, DBG_WATCH_READ, DBG_WATCH_ACCESS };
enum dbg_stop { DBG_STOP_NONE, DBG_STOP_BREAK, DBG_STOP_WATCH, DBG_STOP_STEP };
/* Where a point counts: anywhere, or only outside / only in VMX non-root
 * operation (the hypervisor L1, or its nested guest L2). */
enum dbg_in { DBG_IN_ANY, DBG_IN_ROOT, DBG_IN_NONROOT };
/* Which level the debugger looks at: the running one, or L1 / L2 by name. */
enum dbg_view { DBG_VIEW_LIVE, DBG_VIEW_L1, DBG_VIEW_L2 };
#define DBG_MAX_POINTS 64

struct cpu_debugger {
	struct {
		uint64_t lin, len;
		uint8_t kind; /* enum dbg_point */
		uint8_t in;   /* enum dbg_in */
	} point[DBG_MAX_POINTS];
	unsigned npoints;
	bool step;       /* stop after one instruction */
	bool step_irqs;  /* take interrupts while stepping (off by default, as QEMU) */
	bool skip_break; /* resuming at a breakpoint: the next instruction runs anyway */
	uint64_t skip_lin;
	uint8_t stop;      /* enum dbg_stop: why cpu_exec returned CPU_EXIT_DEBUG */
	uint8_t stop_kind; /* the watchpoint's enum dbg_point */
	uint64_t stop_addr;
};

/* Lazy arithmetic flags: the last flag-setting operation, evaluated on demand. */
struct lazy_flags {
	uint64_t res;  /* result */
	uint64_t src1; /* first operand */
	uint64_t src2; /* second operand */
	uint8_t op;    /* enum lf_op (flags.h) */
	uint8_t size;  /* operand size in bytes */
	uint16_t mask; /* which of F_ARITH are lazy; the rest are in cpu->state.rflags */
};

struct cpu {
	/* Architectural state (cpu/state.h): plain data, one field table describes it. */
	struct cpu_state state;
	struct lazy_flags lf; /* RFLAGS' arithmetic bits, evaluated on demand (flags.h) */
	uint8_t maxphyaddr;   /* physical-address width of the model (cpu_paging_reset) */
	uint8_t mmu_model;    /* MMU_MODEL_* of the features: paging reads them on every TLB miss */

	/* Debug-register bookkeeping derived from DR0-DR7 (debug.c). */
	uint8_t dbg_data;      /* data breakpoints armed: bit n for DRn, DBG_DATA_DEBUGGER */
	uint32_t dbg_hits;     /* DR6 B0-B3 of data/I/O breakpoints hit by this instruction */
	uint32_t dbg_deferred; /* a #DB trap held back by the MOV SS/POP SS shadow */
	bool dbg_single_step;  /* TF at the careful step's start; an event clears it */
	bool debugger_armed;   /* the external debugger has points set or is stepping */

	/* Derived mode, recomputed by cpu_mode_update() whenever CR0/EFER/CS change. */
	uint8_t code_size;  /* 2, 4 or 8: default operand/address size of the code segment */
	uint8_t stack_size; /* 2, 4 or 8: SS.B / long mode */
	bool long_mode;     /* EFER.LMA */
	bool paging;

	/* Execution. */
	uint64_t a20_mask; /* physical-address mask: bit 20 cleared while A20 is disabled */
	uint64_t icount;   /* retired instructions */
	uint64_t faults;   /* exceptions raised by instructions and delivered (statistics, tests) */
	uint64_t insn_rip; /* RIP of the instruction being executed (fault restart point) */
	uint32_t events;   /* EV_* */
	bool stop_trace;   /* set by a handler to end the current trace after this instruction */
	bool delivering; /* an event is being delivered: a fault now follows the double-fault rules
			  */
	uint8_t delivering_class; /* class of the event being delivered (except.c) */
	bool shutdown;            /* triple fault or an unmodelled path: the CPU stopped */
	const char *shutdown_why; /* a shutdown other than a triple fault (a VMX abort), or NULL */
	uint8_t pending_vector;   /* the fault being raised (cpu_fault -> cpu_exec) */
	uint32_t pending_error;
	uint64_t budget_end;   /* icount at which cpu_exec must return */
	uint64_t stall_icount; /* icount at cpu_exec's last step that retired nothing */
	uint64_t stalls_left;  /* such steps with none retired between before it yields */
	jmp_buf fault_jmp;     /* where a fault unwinds to: the instruction boundary in cpu_exec */

	/* The machine around the CPU. */
	struct physmem *mem;
	struct ioports *io;
	struct cpu_bus bus;
	struct tlb tlb;
	struct tcache *tcache;
	struct jit *jit;          /* the JIT (cpu/jit), NULL when off */
	struct jit_check *jcheck; /* -jit check: the store log, set only while it records */
	bool jit_check;           /* -jit check: compiled runs are checked (cpu/jit/check.c) */
	struct trace *chain_prev; /* the trace that ran last, for successor links */
	uint64_t chain_gen;       /* tcache generation chain_prev belongs to */
	bool count_insns;         /* cpu_config.count_insns */
	struct trace *cur_trace;  /* the trace running now (tcache_enter/leave), or NULL */
	uint64_t cur_start;       /* icount when it was entered */
	struct cpu_features features;
	struct tracer *tracer;              /* NULL when nothing traces the CPU */
	uint64_t (*clock_ns)(void *opaque); /* virtual clock, for the TSC */
	void *clock_opaque;

	/* VMX (cpu/vmx/): NULL when the model lacks the vmx feature. vmx_nonroot is
	 * the one byte the intercept doors test: true only in VMX non-root operation. */
	struct vmx *vmx;
	bool vmx_nonroot;
	/* The EPT walk as the MMU's second stage (cpu/vmx/ept.c): pointers into
	 * this process, bound once by vmx_create, so struct vmx stays plain data
	 * that snapshots save as it is. */
	struct mmu_stage2 vmx_ept;

	/* The external debugger (cold: consulted only when debugger_armed). */
	struct cpu_debugger dbg;

	/* Several CPUs (cpu_config.share_with): they share the physical map and the
	 * decoded-trace cache, and run one at a time on the host thread. */
	unsigned index;      /* 0 is the bootstrap processor */
	uint32_t apic_id;    /* initial APIC ID (CPUID.01H:EBX[31:24]) */
	struct cpu *sibling; /* the next CPU of the machine (a ring; itself when alone) */
	bool owns_tcache;    /* this CPU created the shared cache (and frees it) */
	bool wait_sipi;      /* activity state wait-for-SIPI (after INIT on an AP) */
	uint8_t sipi_vector; /* the latched STARTUP IPI's vector */
};

/* Everything the CPU is built from, in one piece: the board fills it, cpu_create copies it. */
struct cpu_config {
	struct physmem *mem;          /* the physical address space */
	struct ioports *io;           /* the I/O address space */
	struct cpu_features features; /* the model and the user's edits (cpuid.h) */
	struct cpu_bus bus;           /* interrupt acknowledge, SMRAM, APIC hooks (NULL: none) */
	uint64_t (*clock_ns)(void *opaque); /* the virtual clock (NULL: the instruction count) */
	void *clock_opaque;
	struct tracer *tracer; /* NULL when nothing traces the CPU: then tracing costs nothing */
	bool count_insns;      /* count retired instructions by id (-stats; off: no cost) */
	unsigned index;        /* CPU index (0: the BSP) */
	uint32_t apic_id;      /* its initial APIC ID */
	struct cpu
		*share_with; /* another CPU of the machine: share its trace cache (NULL: alone) */
	int jit;             /* enum jit_mode (cpu/jit/jit.h): 0 off */
};

struct cpu *cpu_create(const struct cpu_config *cfg);
void cpu_destroy(struct cpu *cpu);
void cpu_reset(struct cpu *cpu);
enum cpu_exit cpu_exec(struct cpu *cpu, uint64_t max_insns);
void cpu_set_a20(struct cpu *cpu, bool enabled);
void cpu_raise_events(struct cpu *cpu, uint32_t ev);
void cpu_clear_events(struct cpu *cpu, uint32_t ev);
/* A STARTUP IPI for this CPU (taken at its next boundary, if it waits for SIPI). */
void cpu_sipi(struct cpu *cpu, uint8_t vector);
/* Whether cpu_exec would do anything: not halted, or an event that ends the halt. */
bool cpu_runnable(const struct cpu *cpu);
uint64_t cpu_get_rflags(struct cpu *cpu);
void cpu_set_rflags(struct cpu *cpu, uint64_t value);
void cpu_dump_state(struct cpu *cpu, void *file);
/* Called when the physical map changed under the CPU (ROM shadowing, MMIO remap). */
void cpu_memory_map_changed(struct cpu *cpu);
/* ---- the mode gate's unchecked door (mode.c), for VM entry/exit, snapshots, debuggers ---- */
struct control_regs {
	uint64_t cr0, cr3, cr4, efer;
};
#define CTL_LOAD_PDPTES 0x1 /* reload the PDPTEs in PAE paging even if nothing changed */
#define CTL_CR3_WRITTEN 0x2 /* CR3 was written: flush non-global entries even if equal */
#define CTL_KEEP_TLB 0x4    /* ... unless PCIDs let the translations stay (CR3 bit 63) */
#define CTL_FLUSH_ALL 0x8   /* flush every translation, global ones too */
#define CTL_NO_PDPTES 0x10  /* never read the PDPTEs (VM entry with EPT sets them itself) */
/*
 * The unchecked load with every side effect (RSM, task switch, reset, VM
 * entry/exit): PDPTEs, TLB flushes, derived mode, end of the decoded trace.
 * `cause` names the event in the tlb trace. Returns false, changing nothing,
 * when PAE paging needs PDPTEs and one of them is invalid.
 */
bool cpu_load_control(struct cpu *cpu, const struct control_regs *next, unsigned flags,
		      const char *cause);
/* The state was written from outside the CPU (debugger, snapshot): recompute the
 * derived mode (code/stack size, CPL) and end the current decoded trace. */
void cpu_state_changed(struct cpu *cpu);

/*
 * The CPU in a snapshot (docs/SNAPSHOT.md, section "cpu"): the architectural
 * state with the lazy flags materialised, and what of struct cpu outlives an
 * instruction boundary: retired instructions (the deterministic clock), the A20
 * mask, latched events (NMI, SMI, INTR; EV_STOP is the host's and not saved), a
 * #DB trap held back by the MOV SS shadow, shutdown. Plain data; its section
 * version changes whenever this layout does.
 */
struct cpu_saved {
	struct cpu_state state;
	uint64_t icount;
	uint64_t a20_mask;
	uint64_t faults;
	uint32_t events;
	uint32_t dbg_deferred;
	uint8_t shutdown;
	uint8_t pad[7];
};
void cpu_save(struct cpu *cpu, struct cpu_saved *s);
/* VMX operation (cpu/vmx/: VMXON region, current VMCS and its cached fields,
 * root or non-root), a snapshot section of its own: the size needed (0 when
 * the model has no VMX), copied when len allows; restore returns -1 and
 * changes nothing unless len is that size. */
size_t cpu_save_vmx(const struct cpu *cpu, void *buf, size_t len);
int cpu_restore_vmx(struct cpu *cpu, const void *buf, size_t len);
/* Whether a saved CPU (and its VMX section) is a state this model can be in:
 * 0, or -1 with `why` naming the field (cpu.c). machine_load asks before
 * loading anything. */
int cpu_check_saved(const struct cpu *cpu, const struct cpu_saved *s, char *why, size_t n);
int cpu_check_vmx(const struct cpu *cpu, const void *buf, size_t len, const struct cpu_saved *s,
		  char *why, size_t n);
/* Load a saved CPU: the TLB is flushed, the derived mode and debug-register
 * bookkeeping recomputed; the board maps SMRAM to match. The decoded traces are
 * the caller's: cpu_memory_map_changed drops them all when RAM changed. */
void cpu_restore(struct cpu *cpu, const struct cpu_saved *s);

/* The external debugger (debug.c): 0, or -1 when the table is full / no such point. */
int cpu_debugger_insert(struct cpu *cpu, enum dbg_point kind, uint64_t lin, uint64_t len);
int cpu_debugger_remove(struct cpu *cpu, enum dbg_point kind, uint64_t lin, uint64_t len);
/* A point that counts only in root or only in non-root operation. */
int cpu_debugger_insert_in(struct cpu *cpu, enum dbg_point kind, uint64_t lin, uint64_t len,
			   enum dbg_in in);
/* The state of a level (the running one, or L1/L2 of a nested hypervisor:
 * vmx_level_state): *out, with avail[k] telling which state fields that level's
 * VMCS area keeps; false when the level does not exist now. */
bool cpu_view_state(const struct cpu *cpu, enum dbg_view view, struct cpu_state *out,
		    bool avail[STATE_FIELD_COUNT]);
/* Read memory by linear address through a view's paging (no A/D updates). */
bool cpu_view_peek(struct cpu *cpu, const struct cpu_state *view, uint64_t addr, void *buf,
		   size_t len);
/* Before running again after a stop: clears the stop, sets or clears single-step, and
 * lets the instruction at the current CS:RIP run even if a breakpoint is on it. */
void cpu_debugger_resume(struct cpu *cpu, bool step);
/*
 * A debugger's look at guest memory, without side effects: `addr` is linear
 * (translated with the current paging, no A/D updates, user and supervisor
 * pages alike) or, with `physical`, physical. RAM and ROM only: MMIO and
 * unassigned space are never touched (false). A poke stores as a device would
 * (decoded code on the page is dropped; ROM ignores it).
 */
bool cpu_peek(struct cpu *cpu, uint64_t addr, bool physical, void *buf, size_t len);
bool cpu_poke(struct cpu *cpu, uint64_t addr, bool physical, const void *buf, size_t len);
/* The linear address of CS:RIP. */
uint64_t cpu_pc_linear(const struct cpu *cpu);
/* SMM (cpu/smm.c): enter on a latched SMI; back to the reset SMBASE. */
void cpu_smm_enter(struct cpu *cpu);
void cpu_smm_reset(struct cpu *cpu);

#endif
