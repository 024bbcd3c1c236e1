/*
 * fugu — VMX (SDM vol. 3C, chapters 23-27): the state of VMX operation, the
 * control bits fugu knows, and the doors the rest of the CPU calls. Outside
 * VMX non-root operation the doors cost one predictable branch on
 * cpu->vmx_nonroot; without the vmx feature cpu->vmx is NULL.
 */
#ifndef FUGU_VMX_H
#define FUGU_VMX_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/cpu.h"
#include "cpu/vmx/vmcs.h"
#include "mmu/paging.h"

struct cpu;
struct insn;

/* Pin-based controls (24.6.1). */
#define PIN_EXT_INTR (1u << 0)
#define PIN_NMI (1u << 3)
#define PIN_VIRTUAL_NMI (1u << 5)
#define PIN_PREEMPT_TIMER (1u << 6)
#define PIN_POSTED_INTR (1u << 7)
/* Primary processor-based controls (24.6.2). */
#define PROC_INTR_WINDOW (1u << 2)
#define PROC_TSC_OFFSET (1u << 3)
#define PROC_HLT (1u << 7)
#define PROC_INVLPG (1u << 9)
#define PROC_MWAIT (1u << 10)
#define PROC_RDPMC (1u << 11)
#define PROC_RDTSC (1u << 12)
#define PROC_CR3_LOAD (1u << 15)
#define PROC_CR3_STORE (1u << 16)
#define PROC_CR8_LOAD (1u << 19)
#define PROC_CR8_STORE (1u << 20)
#define PROC_TPR_SHADOW (1u << 21)
#define PROC_NMI_WINDOW (1u << 22)
#define PROC_MOV_DR (1u << 23)
#define PROC_UNCOND_IO (1u << 24)
#define PROC_IO_BITMAPS (1u << 25)
#define PROC_MTF (1u << 27)
#define PROC_MSR_BITMAPS (1u << 28)
#define PROC_MONITOR (1u << 29)
#define PROC_PAUSE (1u << 30)
#define PROC_SECONDARY (1u << 31)
/* Secondary processor-based controls. */
#define PROC2_APIC_ACCESS (1u << 0)
#define PROC2_EPT (1u << 1)
#define PROC2_DESC_TABLE (1u << 2)
#define PROC2_RDTSCP (1u << 3)
#define PROC2_VIRT_X2APIC (1u << 4)
#define PROC2_VPID (1u << 5)
#define PROC2_WBINVD (1u << 6)
#define PROC2_UNRESTRICTED (1u << 7)
#define PROC2_APIC_REG_VIRT (1u << 8)
#define PROC2_VID (1u << 9)
#define PROC2_PLE (1u << 10)
#define PROC2_VMFUNC (1u << 13)
#define PROC2_SHADOW_VMCS (1u << 14)
#define PROC2_INVPCID (1u << 12)
#define PROC2_PML (1u << 17)
#define PROC2_EPT_VE (1u << 18)
/* VM-exit controls (24.7.1). */
#define EXIT_SAVE_DEBUG (1u << 2)
#define EXIT_HOST_64 (1u << 9)
#define EXIT_ACK_INTR (1u << 15)
#define EXIT_SAVE_PAT (1u << 18)
#define EXIT_LOAD_PAT (1u << 19)
#define EXIT_SAVE_EFER (1u << 20)
#define EXIT_LOAD_EFER (1u << 21)
#define EXIT_SAVE_PREEMPT (1u << 22)
/* VM-entry controls (24.8.1). */
#define ENTRY_LOAD_DEBUG (1u << 2)
#define ENTRY_IA32E (1u << 9)
#define ENTRY_SMM (1u << 10)
#define ENTRY_DEACT_DUAL (1u << 11)
#define ENTRY_LOAD_PAT (1u << 14)
#define ENTRY_LOAD_EFER (1u << 15)

/* Basic exit reasons (SDM vol. 3C, appendix C). */
/* clang-format off */
#define VMX_EXIT_REASON_LIST(X)                                                                    \
	X(EXCEPTION_NMI, 0, "exception-or-nmi") X(EXTERNAL_INTR, 1, "external-interrupt")         \
	X(TRIPLE_FAULT, 2, "triple-fault") X(INIT, 3, "init-signal") X(SIPI, 4, "sipi")           \
	X(INTR_WINDOW, 7, "interrupt-window")                                                      \
	X(NMI_WINDOW, 8, "nmi-window") X(TASK_SWITCH, 9, "task-switch") X(CPUID, 10, "cpuid")     \
	X(GETSEC, 11, "getsec") X(HLT, 12, "hlt") X(INVD, 13, "invd") X(INVLPG, 14, "invlpg")     \
	X(RDPMC, 15, "rdpmc") X(RDTSC, 16, "rdtsc") X(RSM, 17, "rsm") X(VMCALL, 18, "vmcall")     \
	X(VMCLEAR, 19, "vmclear") X(VMLAUNCH, 20, "vmlaunch") X(VMPTRLD, 21, "vmptrld")           \
	X(VMPTRST, 22, "vmptrst") X(VMREAD, 23, "vmread") X(VMRESUME, 24, "vmresume")             \
	X(VMWRITE, 25, "vmwrite") X(VMXOFF, 26, "vmxoff") X(VMXON, 27, "vmxon")                   \
	X(CR_ACCESS, 28, "cr-access") X(DR_ACCESS, 29, "dr-access") X(IO, 30, "io")               \
	X(RDMSR, 31, "rdmsr") X(WRMSR, 32, "wrmsr") X(BAD_GUEST, 33, "entry-fail-guest-state")    \
	X(BAD_MSR_LOAD, 34, "entry-fail-msr-load") X(MWAIT, 36, "mwait")                          \
	X(MTF, 37, "monitor-trap-flag") X(PREEMPT_TIMER, 52, "preemption-timer")                          \
	X(TPR_BELOW_THRESHOLD, 43, "tpr-below-threshold") X(APIC_ACCESS, 44, "apic-access")      \
	X(EOI_INDUCED, 45, "eoi-induced") X(APIC_WRITE, 56, "apic-write")                          \
	X(EPT_VIOLATION, 48, "ept-violation") X(EPT_MISCONFIG, 49, "ept-misconfig")              \
	X(MONITOR, 39, "monitor") X(PAUSE, 40, "pause") X(GDTR_IDTR, 46, "gdtr-idtr-access")      \
	X(LDTR_TR, 47, "ldtr-tr-access") X(INVEPT, 50, "invept") X(RDTSCP, 51, "rdtscp")          \
	X(INVVPID, 53, "invvpid") X(WBINVD, 54, "wbinvd") X(XSETBV, 55, "xsetbv")                 \
	X(RDRAND, 57, "rdrand") X(INVPCID, 58, "invpcid") X(VMFUNC, 59, "vmfunc")                 \
	X(RDSEED, 61, "rdseed") X(PML_FULL, 62, "pml-full") X(XSAVES, 63, "xsaves") X(XRSTORS, 64, "xrstors")
/* clang-format on */

enum vmx_exit_reason {
#define X(id, n, name) VMX_EXIT_##id = n,
	VMX_EXIT_REASON_LIST(X)
#undef X
};
const char *vmx_exit_reason_name(unsigned reason);

/* VM-instruction error numbers (SDM vol. 3C, 30.4). */
enum vmx_insn_error {
	VMERR_VMCALL_IN_ROOT = 1,
	VMERR_VMCLEAR_BAD_ADDR = 2,
	VMERR_VMCLEAR_VMXON = 3,
	VMERR_VMLAUNCH_NOT_CLEAR = 4,
	VMERR_VMRESUME_NOT_LAUNCHED = 5,
	VMERR_VMRESUME_AFTER_VMXOFF = 6,
	VMERR_BAD_CONTROLS = 7,
	VMERR_BAD_HOST = 8,
	VMERR_VMPTRLD_BAD_ADDR = 9,
	VMERR_VMPTRLD_VMXON = 10,
	VMERR_VMPTRLD_BAD_REVISION = 11,
	VMERR_UNSUPPORTED_FIELD = 12,
	VMERR_VMWRITE_READONLY = 13,
	VMERR_VMXON_IN_ROOT = 15,
	VMERR_ENTRY_BAD_EXEC_VMCS = 16,
	VMERR_ENTRY_MOV_SS = 26,
	VMERR_INVALID_OPERAND = 28,
};

#define VMCS_NONE (~0ull)        /* the current-VMCS pointer when there is none */
#define VMX_REVISION 0x46554755u /* "FUGU": bit 31 clear (SDM vol. 3C, A.1) */

/* IA32_FEATURE_CONTROL (SDM vol. 3C, 23.7). */
#define MSR_FEATURE_CONTROL 0x0000003a
#define FC_LOCK (1ull << 0)
#define FC_VMX_OUTSIDE_SMX (1ull << 2)
#define MSR_VMX_BASIC 0x00000480
#define MSR_VMX_LAST 0x00000491

struct vmx {
	bool on;             /* in VMX operation (root or non-root) */
	uint64_t vmxon_ptr;  /* physical address of the VMXON region */
	uint64_t current;    /* current-VMCS pointer, VMCS_NONE when none */
	bool launched;       /* launch state of the current VMCS */
	bool current_shadow; /* the current VMCS is a shadow VMCS (revision bit 31) */
	bool injecting;      /* delivering the injected event: no exception-bitmap exit (26.6) */
	bool hlt_wake;       /* woken from HLT only to exit: save activity state HLT */
	/* VM entry put the guest in the shutdown activity state (state.halted is
	 * set too): only NMIs, INIT, SMIs and the preemption timer end it. */
	bool guest_shutdown;
	bool smm_on, smm_nonroot;                           /* VMX operation suspended by an SMI */
	uint32_t vectoring, vectoring_error, vectoring_len; /* the event being delivered */
	/* The event the current instruction raises is a software exception
	 * (6: INT3, INTO) or a privileged software exception (5: INT1), not
	 * what its delivery kind says (24.8.3, 27.2.2, 27.2.4); 0 otherwise. */
	uint8_t soft_type;
	uint64_t feature_control; /* IA32_FEATURE_CONTROL */
	uint64_t pf_lin;          /* the linear address of a #PF that exits (CR2 unwritten) */
	/* The VMX-preemption timer (timer.c): running in non-root operation, the
	 * value VM entry loaded and the TSC (>> VMX_PREEMPT_SHIFT) it started at. */
	bool in_iret; /* executing IRET in non-root: a fault on it may unblock NMIs */
	bool preempt_on;
	/* The monitor trap flag (25.5.2): an MTF VM exit is pending (after event
	 * delivery, or injected as "other event"), or will be once an instruction
	 * retires after mtf_icount. */
	bool mtf_pending;
	uint64_t mtf_icount;
	uint32_t pending_dbg; /* the next exit's pending debug exceptions (27.3.4) */
	/* PAUSE-loop exiting (timer.c): the TSC of the last PAUSE at CPL 0 and of
	 * the first of its loop; ple_seen false after VM entry. */
	bool ple_seen;
	uint64_t ple_last, ple_first;
	uint32_t preempt_value;
	uint64_t preempt_start;
	bool ept_on; /* "enable EPT" in the running guest (set at VM entry) */
	bool pml_on; /* "enable PML" in the running guest (set at VM entry) */
	bool ve_on;  /* "EPT-violation #VE" in the running guest (set at VM entry) */
	bool ept_misconfig, ept_pml_full; /* the pending EPT fault (vmx_ept_fault) */
	bool ept_apic_access; /* ... a paging-structure access to the APIC-access page */
	uint64_t ept_gpa, ept_lin, ept_qual;
	/* The fields VMWRITE set in VMCS written_vmcs since its last VM entry
	 * (the vmentry trace event lists them: vmx_written_fields). */
	uint64_t written[(VMCS_FIELD_COUNT + 63) / 64];
	uint64_t written_vmcs;
	/* APIC virtualization (apicv.c): "virtualize APIC accesses" and the
	 * APIC-access page (set at VM entry); a virtualized write to it whose
	 * APIC-write emulation waits for the boundary; a recognized virtual
	 * interrupt (29.2.1). */
	bool apic_access_on, apic_write_pending, vintr;
	uint16_t apic_write_off, apic_fetch_off;
	uint64_t apic_access_pa;
	uint64_t f[VMCS_FIELD_COUNT]; /* the current VMCS, cached */
};

/* Is this physical address on the APIC-access page of the running guest? */
static inline bool
vmx_apic_page(const struct vmx *v, uint64_t pa)
{
	return v->apic_access_on && (pa & ~0xfffull) == v->apic_access_pa;
}

/* ---- EPT (ept.c; SDM vol. 3C, 29.3) ---- */
/* Would VM entry accept this EPT pointer (26.2.1.1)? Also INVEPT's check. */
bool vmx_eptp_ok(const struct cpu *cpu, uint64_t eptp);
/* The second stage of the running guest (in non-root operation): NULL
 * without "enable EPT". */
static inline const struct mmu_stage2 *
vmx_stage2(const struct cpu *cpu)
{
	return cpu->vmx->ept_on ? &cpu->vmx_ept : NULL;
}
/* Set up the EPT walk at VM entry (ept_on from the controls). */
void vmx_ept_enter(struct cpu *cpu);
/* Bind cpu->vmx_ept to the EPT walk of this CPU (vmx_create). */
void vmx_ept_init(struct cpu *cpu);
/* "name=value ..." of the fields VMWRITE set in the current VMCS since its last
 * VM entry (built only when the vmx trace category is on; "" when none), and
 * forget them: the entry about to be traced is that next entry. */
const char *vmx_written_fields(struct cpu *cpu);
/* A second-stage fault of a guest access: recorded, then raised as a fault
 * with the pseudo-vector VMX_FAULT_EPT, so that a speculative fetch (the
 * trace builder decoding ahead) can drop it like any fault; only when the
 * fault is taken (cpu_handle_fault) does vmx_ept_exit exit: EPT violation
 * (48) or misconfiguration (49) with the guest-physical (and linear) address,
 * PML full (62); it returns only when the violation is a virtualization
 * exception instead (#VE, 25.5.7), which the caller then delivers. */
#define VMX_FAULT_EPT 0xfe
_Noreturn void vmx_ept_fault(struct cpu *cpu, const struct mmu_fault *f);
void vmx_ept_exit(struct cpu *cpu);

/* ---- the capability MSRs (caps.c) ---- */
/* 0 and the value, or -1 when the index is no VMX capability MSR of this model. */
int vmx_cap_msr(const struct cpu *cpu, uint32_t index, uint64_t *value);

/* The first of VM entry's guest-state checks (26.3.1) that a saved state
 * fails among those that hold for any processor state (entry.c), or NULL. */
const char *vmx_check_state(const struct cpu *cpu, const struct cpu_state *s);

/* Does a CR0 (cr 0) or CR4 (cr 4) value keep the fixed bits (A.7, A.8)? */
bool vmx_cr_fixed_ok(const struct cpu *cpu, unsigned cr, uint64_t value);

/* The state of the level that is not running (the debugger's L1/L2 view,
 * cpu/debug.c): L2's from the current VMCS's guest-state area while L1 runs
 * in root operation, or L1's from its host-state area while L2 runs. Fields
 * the area holds are copied into *out (which starts as the live state) and
 * marked in avail; false when that level does not exist (no VMX operation, no
 * current VMCS). */
bool vmx_level_state(const struct cpu *cpu, bool l2, struct cpu_state *out,
		     bool avail[STATE_FIELD_COUNT]);

/* `info vmcs` (the monitor, the GDB stub): VMX operation, the VMXON and
 * current-VMCS pointers, and every field of the current VMCS by name. */
void vmx_dump(const struct cpu *cpu, FILE *f);

/* In non-root operation: an INIT (sipi false) or, for a guest in the
 * wait-for-SIPI activity state, a SIPI (qualification: its vector) exits
 * (25.2, 27.2.1). Called at an instruction boundary; unwinds. */
_Noreturn void vmx_signal_exit(struct cpu *cpu, bool sipi);

/* cpu->fault_jmp's value after a VMX abort shut the CPU down (27.7, exit.c). */
#define VMX_LONGJMP_ABORT 4

/* ---- the VMX-preemption timer (timer.c; SDM vol. 3C, 25.5.1) ---- */
/* The timer counts down by 1 each time bit VMX_PREEMPT_SHIFT of the TSC changes
 * (IA32_VMX_MISC[4:0]). */
#define VMX_PREEMPT_SHIFT 5
/* VM entry with "activate VMX-preemption timer": start it (26.7.4). */
void vmx_preempt_start(struct cpu *cpu);
/* VM exit: stop it; with "save VMX-preemption timer value", store what is left (27.3.1). */
void vmx_preempt_stop(struct cpu *cpu, bool expired);
/* The board's timer reached the deadline (cpu_bus.vmx_timer_arm): wake a
 * halted guest and look at the next boundary. */
void vmx_preempt_fire(struct cpu *cpu);
/* At a boundary with EV_VMX_TIMER: true when the timer has expired (then the caller exits). */
bool vmx_preempt_expired(struct cpu *cpu);

/* PAUSE at CPL 0 with "PAUSE-loop exiting" (25.1.3): true when it exits. */
bool vmx_ple_exits(struct cpu *cpu);

/* ---- life cycle (vmx.c) ---- */
void vmx_create(struct cpu *cpu);
void vmx_destroy(struct cpu *cpu);
void vmx_reset(struct cpu *cpu);
/* SMI entry (enter) and RSM: with the default treatment of SMIs, VMX operation
 * is suspended in SMM and resumes, root or non-root, after RSM (32.14.1). */
void vmx_smm(struct cpu *cpu, bool enter);
/* IA32_FEATURE_CONTROL: 0, or -1 for #GP (locked, reserved bits). */
int vmx_feature_control_write(struct cpu *cpu, uint64_t value);

/* ---- the instruction handlers (insn.c), named by the decoder ---- */

/* ---- the doors (exit.c), only called in VMX non-root operation ---- */
/* An instruction with an intercept class: returns when it runs, exits otherwise. */
void vmx_intercept(struct cpu *cpu, const struct insn *i);
/* An exception about to be delivered (cpu_deliver_event / INT3 / INTO): exits
 * when the exception bitmap says so. type: 3 hardware, 6 software exception
 * (INT1 becomes 5 through vmx_soft_exception). */
void vmx_exception(struct cpu *cpu, unsigned vector, uint32_t error, unsigned type);
/* INT3/INTO (type 6) or INT1 (type 5) is about to be delivered in non-root
 * operation: its exit or IDT-vectoring information names that type. */
void vmx_soft_exception(struct cpu *cpu, unsigned type);
/* An event is being delivered in non-root operation (kind: enum event_kind):
 * an exit before vmx_vectoring_done reports it as IDT-vectoring information. */
void vmx_vectoring(struct cpu *cpu, unsigned vector, unsigned kind, uint32_t error,
		   uint64_t return_rip);
void vmx_vectoring_done(struct cpu *cpu);
/* IRET in non-root operation: begin (true) and end (false). IRET removes
 * (virtual-)NMI blocking unless NMI exiting is on without virtual NMIs; an
 * exit for a fault on it reports "NMI unblocking due to IRET" (25.3, 27.2.2). */
void vmx_iret(struct cpu *cpu, bool begin);
/* VMREAD (write false) or VMWRITE in non-root operation: true when VMCS
 * shadowing lets it access the shadow VMCS rather than exit (25.1.3, 24.10). */
bool vmx_shadow_access(struct cpu *cpu, const struct insn *i, bool write);
/* Does a #PF with this error code exit (so CR2 stays unwritten)? */
bool vmx_pf_exits(const struct cpu *cpu, uint32_t error);
/* At an instruction boundary with events pending: true when a VM exit happened
 * (external interrupt, NMI, interrupt window). */
bool vmx_boundary(struct cpu *cpu);
/* Does an external interrupt exit (so it wakes the guest from HLT regardless of IF)? */
bool vmx_intr_exits(const struct cpu *cpu);
/* A halted guest woken only to exit (external-interrupt exiting with IF
 * clear): the run loop runs again, the exit saves activity state HLT (27.3.4). */
void vmx_wake_for_exit(struct cpu *cpu);
/* A #DB with these DR6 bits about to be delivered in non-root operation:
 * when the exception bitmap makes it exit, exit now, with the bits (B3:0, BD,
 * BS) as the qualification and DR6 unwritten (27.1, 27.2.1). */
void vmx_debug_exception(struct cpu *cpu, uint32_t bits);
/* After an instruction that raised a debug trap (single step, data
 * breakpoint; DR6 bits): an MTF VM exit due at this boundary happens now,
 * above the trap, which it saves as pending debug exceptions (25.5.2). */
void vmx_mtf_before_trap(struct cpu *cpu, uint32_t trap);
/* The guest is in the shutdown activity state (26.6.2): external interrupts
 * neither wake it nor exit, MTF and interrupt-window exits do not happen. */
bool vmx_shutdown_state(const struct cpu *cpu);
/* An NMI delivered through the guest's IDT ends the shutdown state. */
void vmx_leave_shutdown(struct cpu *cpu);
/* A triple fault in non-root operation: exit reason 2. */
void vmx_triple_fault(struct cpu *cpu);
/* The guest's TSC: with "use TSC offsetting", the offset is added. */
uint64_t vmx_tsc_offset(const struct cpu *cpu);
/* MOV from CR0/CR4 and SMSW: the bits the host owns read from the read shadow. */
uint64_t vmx_cr_read(const struct cpu *cpu, unsigned cr, uint64_t value);
/* MOV to CR0/CR4, LMSW, CLTS that did not exit: the host-owned bits keep their value. */
uint64_t vmx_cr_write(const struct cpu *cpu, unsigned cr, uint64_t value);
/* "Use TPR shadow": MOV from CR8 that did not exit reads VTPR[7:4] from the
 * virtual-APIC page; MOV to CR8 writes VTPR and may exit (TPR below threshold). */
bool vmx_tpr_shadow(const struct cpu *cpu);
uint64_t vmx_cr8_read(struct cpu *cpu);
void vmx_cr8_write(struct cpu *cpu, uint64_t value);
/* APIC virtualization (apicv.c). "Virtualize x2APIC mode": RDMSR/WRMSR of
 * x2APIC MSRs that did not exit and that it virtualizes use the virtual-APIC
 * page (29.5); true when handled (a WRMSR may #GP or exit). */
bool vmx_x2apic_rdmsr(struct cpu *cpu, uint32_t index, uint64_t *value);
bool vmx_x2apic_wrmsr(struct cpu *cpu, uint32_t index, uint64_t value);
/* TPR virtualization after a VTPR write (29.1.2): may exit (reason 43). */
void vmx_tpr_virtualize(struct cpu *cpu, uint8_t vtpr);
/* An access to the APIC-access page (vmx_apic_page): virtualized from/to
 * the virtual-APIC page, or an APIC-access VM exit (44) (29.4). */
uint64_t vmx_apic_read(struct cpu *cpu, uint64_t pa, unsigned size);
void vmx_apic_write(struct cpu *cpu, uint64_t pa, uint64_t value, unsigned size);
/* An instruction fetch from the APIC-access page: like an EPT fault, raised
 * as a fault with the pseudo-vector VMX_FAULT_APIC (the trace builder's
 * look-ahead may drop it); when taken, vmx_apic_fetch_exit exits (44, access
 * type 2, 29.4.1). */
#define VMX_FAULT_APIC 0xfd
_Noreturn void vmx_apic_fetch_fault(struct cpu *cpu, uint64_t pa);
_Noreturn void vmx_apic_fetch_exit(struct cpu *cpu);
/* The APIC-access VM exit itself (an access that reaches the page from the
 * page before it is never virtualized). */
_Noreturn void vmx_apic_access_exit(struct cpu *cpu, unsigned off, bool write);
/* VM entry: the APIC-access page, PPR virtualization and evaluation (26.3.2.5). */
void vmx_apicv_enter(struct cpu *cpu);
/* At a boundary with EV_VMX_APIC: APIC-write emulation of the last
 * instruction's write (may exit). */
void vmx_apicv_boundary(struct cpu *cpu);
/* With EV_VMX_VINTR: virtual-interrupt delivery when RFLAGS.IF, no STI/MOV
 * SS blocking and no interrupt-window exiting (29.2.2); true when delivered. */
bool vmx_vintr_deliver(struct cpu *cpu);
/* Posted-interrupt processing of an interrupt with the notification vector (29.6). */
void vmx_posted_intr(struct cpu *cpu);

#endif
