/*
 * fugu — what the files inside cpu/ share: the decoded-instruction record, the
 * handler signature, operand and memory accessors, and the fault mechanism.
 */
#ifndef FUGU_CPU_INTERNAL_H
#define FUGU_CPU_INTERNAL_H

#include <string.h>

#include "cpu/cpu.h"
#include "cpu/flags.h"
#include "cpu/insn_ids.h"

struct insn;
typedef void (*insn_fn)(struct cpu *cpu, const struct insn *i);

/* insn.flags */
#define I_MEM 0x01    /* ModRM names memory (mod != 3) */
#define I_REX 0x02    /* a REX prefix was present (SPL/BPL/SIL/DIL instead of AH..BH) */
#define I_REP 0x04    /* F3 */
#define I_REPNE 0x08  /* F2 */
#define I_LOCK 0x10   /* F0 */
#define I_SEGOVR 0x20 /* an explicit segment override */
#define I_END 0x40    /* ends the trace: control transfer or a change of mode/state */

#define REG_NONE 0xff
#define REG_RIP 0x10

/* One decoded instruction: everything the handler needs, found once at decode time. */
struct insn {
	insn_fn fn;
	uint64_t imm;    /* immediate (sign- or zero-extended as the form says); far offset */
	int32_t disp;    /* displacement */
	uint16_t imm2;   /* far selector; ENTER nesting level */
	uint16_t opcode; /* 0x000-0x0ff one-byte map, 0x100-0x1ff 0F map (tracing, groups) */
	uint8_t len;
	uint8_t opsize; /* 1, 2, 4 or 8 bytes */
	uint8_t adsize; /* 2, 4 or 8 bytes */
	uint8_t seg;    /* segment of the memory operand (default or override) */
	uint8_t reg;    /* ModRM.reg with REX.R */
	uint8_t rm;     /* ModRM.rm with REX.B: the register when !(flags & I_MEM) */
	uint8_t base;   /* memory operand: base register, REG_RIP or REG_NONE */
	uint8_t index;  /* index register or REG_NONE */
	uint8_t scale;  /* index shift 0-3 */
	uint8_t flags;  /* I_* */
	uint8_t icls;   /* enum insn_class: what a VM exit check asks about (insn_ids.h) */
	uint16_t id;    /* enum insn_id: the instruction, for statistics and tracing */
	uint8_t modrm;  /* the ModRM byte as encoded (x87 FOP) */
};
/* id and icls live in what was padding: the record must not grow. */
_Static_assert(sizeof(struct insn) == 40, "struct insn grew");

/* ---- faults ---- */

/* Raise an exception: unwinds to the instruction boundary; never returns. */
_Noreturn void cpu_fault(struct cpu *cpu, unsigned vector, uint32_t error_code);
#define NO_ERRCODE 0xffffffffu
/* Stop the CPU because the guest needs something not modelled yet (XXX paths only). */
_Noreturn void cpu_unmodelled(struct cpu *cpu, const char *what);
#define cpu_ud(cpu) cpu_fault((cpu), EXC_UD, NO_ERRCODE)
#define cpu_gp0(cpu) cpu_fault((cpu), EXC_GP, 0)

/* Deliver an interrupt or exception through the IVT/IDT (except.c). */
enum event_kind { EVENT_EXCEPTION, EVENT_SOFTWARE_INT, EVENT_EXTERNAL, EVENT_NMI };
void cpu_deliver_event(struct cpu *cpu, unsigned vector, enum event_kind kind, uint32_t error_code,
		       uint64_t return_rip);

/* Is an event pending that the CPU would take now (and so should stop for)? A
 * maskable interrupt counts only while IF is set: a long REP with interrupts off
 * must keep going. */
static inline bool
cpu_event_deliverable(const struct cpu *cpu)
{
	uint32_t ev = cpu->events;
	return (ev & ~(uint32_t)(EV_INTR | EV_SMI | EV_NMI | EV_VMX | EV_VMX_MTF | EV_VMX_VINTR)) ||
	       ((ev & (EV_INTR | EV_VMX | EV_VMX_VINTR)) && (cpu->state.rflags & F_IF)) ||
	       ((ev & EV_SMI) && !cpu->state.in_smm) ||
	       ((ev & EV_NMI) && !cpu->state.nmi_blocked && !cpu->state.in_smm);
}

/* ---- registers ---- */

static inline uint64_t
reg_read(const struct cpu *cpu, unsigned r, unsigned size)
{
	switch (size) {
	case 1: return cpu->state.gpr[r] & 0xff;
	case 2: return cpu->state.gpr[r] & 0xffff;
	case 4: return cpu->state.gpr[r] & 0xffffffff;
	default: return cpu->state.gpr[r];
	}
}

/* Writes of 32 bits zero-extend into bits 63:32 (SDM vol. 1, 3.4.1.1). */
static inline void
reg_write(struct cpu *cpu, unsigned r, unsigned size, uint64_t v)
{
	switch (size) {
	case 1: cpu->state.gpr[r] = (cpu->state.gpr[r] & ~0xffull) | (v & 0xff); break;
	case 2: cpu->state.gpr[r] = (cpu->state.gpr[r] & ~0xffffull) | (v & 0xffff); break;
	case 4: cpu->state.gpr[r] = v & 0xffffffff; break;
	default: cpu->state.gpr[r] = v; break;
	}
}

/* Byte registers: without REX, numbers 4-7 are AH, CH, DH, BH. */
static inline uint64_t
reg8_read(const struct cpu *cpu, const struct insn *i, unsigned r)
{
	if (r >= 4 && r < 8 && !(i->flags & I_REX))
		return (cpu->state.gpr[r - 4] >> 8) & 0xff;
	return cpu->state.gpr[r] & 0xff;
}

static inline void
reg8_write(struct cpu *cpu, const struct insn *i, unsigned r, uint64_t v)
{
	if (r >= 4 && r < 8 && !(i->flags & I_REX))
		cpu->state.gpr[r - 4] = (cpu->state.gpr[r - 4] & ~0xff00ull) | ((v & 0xff) << 8);
	else
		cpu->state.gpr[r] = (cpu->state.gpr[r] & ~0xffull) | (v & 0xff);
}

/* A register operand of the instruction's operand size. */
static inline uint64_t
opreg_read(const struct cpu *cpu, const struct insn *i, unsigned r, unsigned size)
{
	return size == 1 ? reg8_read(cpu, i, r) : reg_read(cpu, r, size);
}

static inline void
opreg_write(struct cpu *cpu, const struct insn *i, unsigned r, unsigned size, uint64_t v)
{
	if (size == 1)
		reg8_write(cpu, i, r, v);
	else
		reg_write(cpu, r, size, v);
}

/* A 48-bit canonical address: bits 63:47 all equal (SDM vol. 1, 3.3.7.1). */
static inline bool
is_canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static inline uint64_t
addr_mask(unsigned adsize)
{
	return adsize == 8 ? ~0ull : adsize == 4 ? 0xffffffffull : 0xffffull;
}

/* ---- execution ---- */

/*
 * One execution step: the contract every loop keeps (plain, traced, debug
 * single-step in run.c and debug.c, and the JIT next).
 * - Before the handler runs, cpu->insn_rip is the instruction's own RIP (where
 *   a fault restarts it) and cpu->state.rip the next instruction's, masked to
 *   the code size (relative branches and pushed return addresses use it).
 *   cpu->icount counts the instructions retired before this one.
 * - When the handler returns, the instruction retired: icount + 1. A fault
 *   longjmps to cpu_exec's instruction boundary before that: the instruction
 *   did not retire, and its architectural effects are as the SDM says.
 * - The caller ends the trace when the handler set cpu->stop_trace (it changed
 *   RIP, the mode or the code, or events wait) or after an I_END instruction;
 *   the caller never runs an instruction past cpu->budget_end (the budget is
 *   exact, so deterministic runs are reproducible).
 * `rip` and `icount` are the caller's register copies of cpu->state.rip and
 * cpu->icount, which stay exact for the handler; a handler that moves RIP
 * ends the trace, so the caller reloads its copies from the CPU.
 */
static inline __attribute__((always_inline)) void
exec_one(struct cpu *cpu, const struct insn *i, uint64_t *rip, uint64_t *icount, uint64_t ip_mask)
{
	cpu->insn_rip = *rip;
	*rip = (*rip + i->len) & ip_mask;
	cpu->state.rip = *rip;
	i->fn(cpu, i);
	cpu->icount = ++*icount;
}

/* The mask of RIP in the current code size. */
static inline uint64_t
cpu_ip_mask(const struct cpu *cpu)
{
	return addr_mask(cpu->code_size);
}

/* ---- memory ---- */

/* Effective address (offset within the segment) of the ModRM memory operand. */
static inline uint64_t
insn_ea(const struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = (uint64_t)(int64_t)i->disp;
	if (i->base != REG_NONE)
		ea += i->base == REG_RIP ? cpu->state.rip : cpu->state.gpr[i->base];
	if (i->index != REG_NONE)
		ea += cpu->state.gpr[i->index] << i->scale;
	return ea & addr_mask(i->adsize);
}

/* Segmented access: seg is S_*, off the effective address. Fault on any violation. */
uint64_t cpu_read(struct cpu *cpu, unsigned seg, uint64_t off, unsigned size);
void cpu_write(struct cpu *cpu, unsigned seg, uint64_t off, uint64_t v, unsigned size);
/* Run t's first `limit` instructions in the interpreter (run.c; -jit check). */
struct trace;
void cpu_run_trace_interp(struct cpu *cpu, const struct trace *t, unsigned limit);
/* Check a write would succeed (segment limit, paging) without writing. */
void cpu_probe_write(struct cpu *cpu, unsigned seg, uint64_t off, unsigned size);
/* Linear (no segmentation) accesses: descriptor tables, TSS, IDT. */
uint64_t cpu_read_linear(struct cpu *cpu, uint64_t lin, unsigned size, bool supervisor);
void cpu_write_linear(struct cpu *cpu, uint64_t lin, uint64_t v, unsigned size, bool supervisor);
/* Translate linear->physical for an instruction fetch (faults as a fetch would). */
uint64_t cpu_translate_fetch(struct cpu *cpu, uint64_t lin);

/* The r/m operand, register or memory. */
static inline uint64_t
rm_read(struct cpu *cpu, const struct insn *i, unsigned size)
{
	if (!(i->flags & I_MEM))
		return opreg_read(cpu, i, i->rm, size);
	return cpu_read(cpu, i->seg, insn_ea(cpu, i), size);
}

static inline void
rm_write(struct cpu *cpu, const struct insn *i, unsigned size, uint64_t v)
{
	if (!(i->flags & I_MEM))
		opreg_write(cpu, i, i->rm, size, v);
	else
		cpu_write(cpu, i->seg, insn_ea(cpu, i), v, size);
}

/* ---- stack ---- */

static inline uint64_t
stack_mask(const struct cpu *cpu)
{
	return addr_mask(cpu->stack_size);
}

void cpu_push(struct cpu *cpu, uint64_t v, unsigned size);
uint64_t cpu_pop(struct cpu *cpu, unsigned size);
/* Read the stack `depth` bytes above SP without popping (for multi-pop instructions). */
uint64_t cpu_stack_peek(struct cpu *cpu, uint64_t depth, unsigned size);
void cpu_stack_adjust(struct cpu *cpu, int64_t delta);

/* ---- segments and modes (mode.c, segment.c) ---- */

void cpu_mode_update(struct cpu *cpu);
/* INIT (cpu.c): RESET keeping what table 9-1 keeps; an AP then waits for SIPI. */
void cpu_init(struct cpu *cpu);
void seg_load_real(struct cpu *cpu, unsigned s, uint16_t sel);
/* Load a segment register as MOV/POP/LxS do, with every protected-mode check. */
void seg_load(struct cpu *cpu, unsigned s, uint16_t sel);
/* Far transfer target CS:IP (JMP/CALL far); handles real and protected mode. */
void cpu_far_jump(struct cpu *cpu, uint16_t sel, uint64_t offset, unsigned opsize);
void cpu_far_call_protected(struct cpu *cpu, uint16_t sel, uint64_t offset, unsigned opsize);
void cpu_far_return_protected(struct cpu *cpu, unsigned opsize, uint64_t imm);
void cpu_iret_protected(struct cpu *cpu, unsigned opsize);

/* ---- the mode gate (mode.c): every write of CR0, CR3, CR4 and EFER ---- */

/* Checked writes, as MOV to CR0/CR3/CR4 and LMSW do them: #GP(0) on a bad value. */
void cpu_write_cr0(struct cpu *cpu, uint64_t v);
void cpu_write_cr3(struct cpu *cpu, uint64_t v);
void cpu_write_cr4(struct cpu *cpu, uint64_t v);
/* WRMSR IA32_EFER: 0, or -1 when the value is invalid (the caller raises #GP). */
int cpu_write_efer(struct cpu *cpu, uint64_t v);
/* The CR4 and EFER bits the CPU model lets software set. */
uint64_t cpu_cr4_writable(const struct cpu *cpu);
uint64_t cpu_efer_writable(const struct cpu *cpu);

static inline bool
cpu_real_mode(const struct cpu *cpu)
{
	return !(cpu->state.cr0 & CR0_PE);
}

static inline bool
cpu_v86(const struct cpu *cpu)
{
	return (cpu->state.rflags & F_VM) != 0;
}

/* A near branch target truncated to the operand size and checked (CS.limit, or
 * canonical form in 64-bit mode) before anything is pushed (SDM vol. 2A, CALL/JMP). */
static inline uint64_t
near_target(struct cpu *cpu, uint64_t target, unsigned opsize)
{
	if (opsize == 2)
		target &= 0xffff;
	else if (opsize == 4)
		target &= 0xffffffff;
	if (cpu->code_size == 8) {
		if (!is_canonical(target))
			cpu_gp0(cpu);
	} else if (target > cpu->state.seg[S_CS].limit) {
		cpu_gp0(cpu);
	}
	return target;
}

/* A taken conditional branch: jump and end the trace (the decoded code after a
 * conditional branch is its fall-through path). */
static inline void
branch_taken(struct cpu *cpu, const struct insn *i)
{
	cpu->state.rip = near_target(cpu, cpu->state.rip + i->imm, i->opsize);
	cpu->stop_trace = true;
}

/* RFLAGS with the lazy bits folded in. */
static inline uint64_t
rflags_read(struct cpu *cpu)
{
	flags_materialize(cpu);
	return cpu->state.rflags;
}

/* Write the flags an instruction may change, as POPF/IRET do in the current mode. */
void rflags_write_checked(struct cpu *cpu, uint64_t v, unsigned opsize);

/* Virtual-8086 mode extensions and protected-mode virtual interrupts (vme.c): the
 * flag CLI/STI change (IF or VIF, or #GP), and the IOPL < 3 forms of PUSHF, POPF,
 * IRET and INT n's redirection (each true when it did the instruction). */
uint64_t cpu_cli_sti_flag(struct cpu *cpu, bool sti);
bool cpu_vme_pushf(struct cpu *cpu, unsigned opsize);
bool cpu_vme_popf(struct cpu *cpu, unsigned opsize);
bool cpu_vme_iret(struct cpu *cpu, unsigned opsize);
bool cpu_vme_int(struct cpu *cpu, unsigned vector);

/* Port I/O permission (IOPL, TSS bitmap) and access. */

/* The port width of IN, OUT, INS and OUTS: 1, 2 or 4 bytes; REX.W does not
 * make a 64-bit port access (SDM vol. 2A/2B, IN/INS/OUT/OUTS: m8, m16, m32). */
static inline unsigned
insn_io_size(const struct insn *i)
{
	return i->opsize == 1 ? 1 : i->opsize == 2 ? 2 : 4;
}
uint32_t cpu_io_in(struct cpu *cpu, uint16_t port, unsigned size);
void cpu_io_check(struct cpu *cpu, uint16_t port, unsigned size); /* #GP(0) when not allowed */
void cpu_io_out(struct cpu *cpu, uint16_t port, uint32_t v, unsigned size);

/* ---- debug (debug.c; SDM vol. 3A, chapter 17) ---- */

#define DR6_BD (1u << 13) /* debug-register access detected (DR7.GD) */
#define DR6_BS (1u << 14) /* single step */
#define DR6_BT (1u << 15) /* task switch with the T bit */
#define DR7_GD (1u << 13)

/* True when the next instruction needs the careful path: TF, RF, an enabled
 * breakpoint or a pending #DB trap. The run loop checks this once per trace. */
static inline bool
cpu_debug_armed(const struct cpu *cpu)
{
	return ((cpu->state.rflags & (F_TF | F_RF)) | (cpu->state.dr[7] & 0xff) |
		cpu->dbg_deferred | cpu->debugger_armed) != 0;
}

#define DBG_DATA_DEBUGGER 0x10 /* cpu->dbg_data: the external debugger has watchpoints */

/* Run one instruction with breakpoint/single-step checks around it. */
void cpu_debug_step(struct cpu *cpu);
/* Deliver a debug-trap #DB with these DR6 bits (B3:0, BS, BT). */
void cpu_debug_deliver(struct cpu *cpu, uint32_t bits);
/* DR0-DR3/DR7 changed: recompute the armed data breakpoints, flush the TLB. */
void cpu_debug_update(struct cpu *cpu);
bool cpu_debug_page_watched(const struct cpu *cpu, uint64_t lin);
void cpu_debug_data(struct cpu *cpu, uint64_t lin, unsigned size, bool write);
void cpu_debug_io(struct cpu *cpu, uint16_t port, unsigned size);

/* ---- VMX (cpu/vmx/vmx.h) ---- */

/* The intercept door of an instruction with an intercept class: in VMX
 * non-root operation it asks the VMX module, which returns or exits; outside
 * it, one predictable branch (SDM vol. 3C, 26.1). Placed after the checks whose
 * faults have priority over VM exits (#UD, CPL, I/O permission: 26.1.1). */
void vmx_intercept(struct cpu *cpu, const struct insn *i);
#define VMX_DOOR(cpu, i)                                                                           \
	do {                                                                                       \
		if (__builtin_expect((cpu)->vmx_nonroot, 0))                                       \
			vmx_intercept((cpu), (i));                                                 \
	} while (0)

/* Instruction-count clock for RDTSC and the tracer. */
uint64_t cpu_tsc(struct cpu *cpu);

#endif
