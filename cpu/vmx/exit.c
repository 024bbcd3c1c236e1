/*
 * fugu — VM exits (SDM vol. 3C, chapter 27) and the intercept doors (chapter
 * 26.1, 25.1-25.3): which instruction, exception or event exits in non-root
 * operation, with which reason, qualification and information; the guest
 * state saved through the field table, the host state loaded through the
 * mode gate.
 */
#include "cpu/vmx/vmx_internal.h"
#include "mmu/physmem.h"
#include "trace/events.h"

#define F(id) (cpu->vmx->f[VMCS_##id])

const char *
vmx_exit_reason_name(unsigned reason)
{
	switch (reason) {
#define X(id, n, name)                                                                             \
	case n: return name;
		VMX_EXIT_REASON_LIST(X)
#undef X
	default: return "unknown";
	}
}

/* 27.2.5: scaling 1:0, address size 9:7 (0 16-bit, 1 32-bit, 2 64-bit), 10 register
 * operand, segment 17:15, index 21:18 + invalid 22, base 26:23 + invalid 27. */
uint32_t
vmx_insn_info(const struct insn *i, unsigned reg1, unsigned reg2)
{
	uint32_t info = (uint32_t)(reg1 & 15) << 3 | (uint32_t)(reg2 & 15) << 28;
	if (!(i->flags & I_MEM))
		return info | 1u << 10 | (uint32_t)(i->rm & 15) << 3;
	info |= i->scale | (i->adsize == 2 ? 0u : i->adsize == 4 ? 1u : 2u) << 7;
	info |= (uint32_t)(i->seg & 7) << 15;
	info |= i->index == REG_NONE ? 1u << 22 : (uint32_t)(i->index & 15) << 18;
	info |= i->base == REG_NONE || i->base == REG_RIP ? 1u << 27
							  : (uint32_t)(i->base & 15) << 23;
	return info;
}

/* Save the guest state (27.3) through the field table. */
static void
save_guest(struct cpu *cpu)
{
	struct cpu_state *s = &cpu->state;
	uint64_t *f = cpu->vmx->f;
	flags_materialize(cpu);
	vmcs_guest_from_state(s, f);
	f[VMCS_GUEST_CR0] = s->cr0;
	f[VMCS_GUEST_CR3] = s->cr3;
	f[VMCS_GUEST_CR4] = s->cr4;
	f[VMCS_GUEST_RIP] = cpu->insn_rip;
	f[VMCS_GUEST_RFLAGS] = s->rflags;
	if (f[VMCS_EXIT_CTLS] & EXIT_SAVE_DEBUG) {
		f[VMCS_GUEST_DR7] = s->dr[7];
		f[VMCS_GUEST_DEBUGCTL] = 0; /* IA32_DEBUGCTL reads 0 (msr.c) */
	}
	if (f[VMCS_EXIT_CTLS] & EXIT_SAVE_PAT)
		f[VMCS_GUEST_PAT] = s->msr.pat;
	if (f[VMCS_EXIT_CTLS] & EXIT_SAVE_EFER)
		f[VMCS_GUEST_EFER] = s->efer;
	/* With EPT and PAE paging the PDPTE registers are saved (27.3.4). */
	if (cpu->vmx->ept_on && mmu_legacy_pae(s->cr0, s->cr4, s->efer))
		for (unsigned k = 0; k < 4; k++)
			f[VMCS_GUEST_PDPTE0 + k] = s->pdpte[k];
	/* "IA-32e mode guest" records EFER.LMA (IA32_VMX_MISC bit 5). */
	f[VMCS_ENTRY_CTLS] = (f[VMCS_ENTRY_CTLS] & ~(uint64_t)ENTRY_IA32E) |
			     ((s->efer & EFER_LMA) ? ENTRY_IA32E : 0);
	/* An exit while an NMI was being delivered: its blocking had not begun (27.3.4). */
	bool nmi_delivery = (f[VMCS_IDT_VECTORING_INFO] & 0x80000700u) == 0x80000200u;
	f[VMCS_GUEST_INTERRUPTIBILITY] = (s->intr_shadow == 1 ? 1u : 0) |
					 (s->intr_shadow == 2 ? 2u : 0) |
					 (s->nmi_blocked && !nmi_delivery ? 8u : 0);
	f[VMCS_GUEST_ACTIVITY] = cpu->wait_sipi                    ? 3
				 : cpu->vmx->guest_shutdown        ? 2
				 : s->halted || cpu->vmx->hlt_wake ? 1
								   : 0;
	cpu->vmx->hlt_wake = false;
	/* Saved as 0 but after an MTF exit above a debug trap (27.3.4). */
	f[VMCS_GUEST_PENDING_DBG] = cpu->vmx->pending_dbg;
	cpu->vmx->pending_dbg = 0;
}

/* VMX-abort indicators (27.7). */
enum {
	ABORT_SAVE_GUEST_MSRS = 1, /* the VM-exit MSR-store area */
	ABORT_HOST_PDPTE = 2,      /* the host's PDPTEs */
	ABORT_LOAD_HOST_MSRS = 4,  /* the VM-exit MSR-load area */
};

/*
 * A VMX abort (27.7): the indicator goes into bytes 4-7 of the current VMCS's
 * region and the processor enters the shutdown state; the board treats that as
 * it treats a triple fault (a reset, or the end of the run with -no-reboot).
 */
static _Noreturn void
vmx_abort(struct cpu *cpu, uint32_t indicator, const char *why)
{
	physmem_write(cpu->mem, cpu->vmx->current + 4, &indicator, 4);
	cpu->shutdown_why = why;
	cpu->shutdown = true;
	cpu->delivering = false;
	longjmp(cpu->fault_jmp, VMX_LONGJMP_ABORT);
}

/* An MSR-store or MSR-load entry (27.4, 27.6): bits 63:32 of its first
 * quadword reserved; x2APIC MSRs (808H-8FFH), IA32_SMM_MONITOR_CTL and, for a
 * load, IA32_FS_BASE/IA32_GS_BASE are refused. */
static bool
msr_entry_ok(uint32_t index, uint32_t reserved, bool load)
{
	if (reserved || (index >> 8) == 8 || index == 0x9b)
		return false;
	return !(load && (index == 0xc0000100 || index == 0xc0000101));
}

/* The VM-exit MSR-store area (27.4). */
static void
store_msrs(struct cpu *cpu)
{
	for (uint64_t k = 0; k < F(EXIT_MSR_STORE_COUNT); k++) {
		uint64_t a = F(EXIT_MSR_STORE_ADDR) + 16 * k;
		uint32_t e[2] = { 0, 0 };
		uint64_t value = 0;
		physmem_read(cpu->mem, a, e, sizeof(e));
		if (!msr_entry_ok(e[0], e[1], false) || msr_read(cpu, e[0], &value) < 0)
			vmx_abort(cpu, ABORT_SAVE_GUEST_MSRS,
				  "VMX abort 1 (VM-exit MSR-store area)");
		physmem_write(cpu->mem, a + 8, &value, 8);
	}
}

/* Load the host state (27.5) through the mode gate. */
static void
load_host(struct cpu *cpu)
{
	struct cpu_state *s = &cpu->state;
	bool h64 = (F(EXIT_CTLS) & EXIT_HOST_64) != 0;
	/* CR0 bits 28:19, 17, 15:6 and ET, CD, NW keep their value (27.5.1). */
	uint64_t keep0 = 0x1ff80000ull | (1u << 17) | 0xffc0 | CR0_ET | CR0_CD | CR0_NW;
	uint64_t efer = s->efer;
	if (F(EXIT_CTLS) & EXIT_LOAD_EFER) {
		efer = F(HOST_EFER);
	} else {
		efer &= ~(EFER_LMA | EFER_LME);
		if (h64)
			efer |= EFER_LMA | EFER_LME;
	}
	struct control_regs ctl = { (s->cr0 & keep0) | (F(HOST_CR0) & ~keep0), F(HOST_CR3),
				    F(HOST_CR4), efer };
	if (!cpu_load_control(cpu, &ctl, CTL_FLUSH_ALL, "vmexit")) {
		/* The PDPTEs of the host are invalid: a VMX abort (27.7). */
		vmx_abort(cpu, ABORT_HOST_PDPTE, "VMX abort 2 (the host's PDPTEs)");
	}
	s->dr[7] = 0x400;
	cpu_debug_update(cpu);
	s->msr.sysenter_cs = F(HOST_SYSENTER_CS);
	s->msr.sysenter_esp = F(HOST_SYSENTER_ESP);
	s->msr.sysenter_eip = F(HOST_SYSENTER_EIP);
	if (F(EXIT_CTLS) & EXIT_LOAD_PAT)
		s->msr.pat = F(HOST_PAT);
	static const struct {
		uint8_t seg;
		enum vmcs_field_id sel;
	} segs[] = { { S_ES, VMCS_HOST_ES_SEL }, { S_CS, VMCS_HOST_CS_SEL },
		     { S_SS, VMCS_HOST_SS_SEL }, { S_DS, VMCS_HOST_DS_SEL },
		     { S_FS, VMCS_HOST_FS_SEL }, { S_GS, VMCS_HOST_GS_SEL } };
	for (unsigned k = 0; k < 6; k++) {
		struct segment *sg = &s->seg[segs[k].seg];
		sg->sel = (uint16_t)cpu->vmx->f[segs[k].sel];
		sg->base = 0;
		sg->limit = 0xffffffff;
		/* Data: read/write accessed, DPL 0, D/B, G; unusable when null (27.5.2). */
		sg->attr = SEG_ATTR_S | 3 | SEG_ATTR_DB | SEG_ATTR_G |
			   (sg->sel || segs[k].seg == S_SS ? SEG_ATTR_P : 0);
	}
	s->seg[S_CS].attr =
		SEG_ATTR_S | 11 | SEG_ATTR_P | SEG_ATTR_G | (h64 ? SEG_ATTR_L : SEG_ATTR_DB);
	s->seg[S_FS].base = F(HOST_FS_BASE);
	s->seg[S_GS].base = F(HOST_GS_BASE);
	s->tr = (struct segment){ .sel = (uint16_t)F(HOST_TR_SEL),
				  .attr = 11 | SEG_ATTR_P,
				  .limit = 0x67,
				  .base = F(HOST_TR_BASE) };
	s->ldtr = (struct segment){ .sel = 0, .attr = 0 };
	s->gdtr = (struct dtr){ F(HOST_GDTR_BASE), 0xffff };
	s->idtr = (struct dtr){ F(HOST_IDTR_BASE), 0xffff };
	s->gpr[R_SP] = F(HOST_RSP);
	s->rip = F(HOST_RIP);
	cpu->lf.mask = 0;
	s->rflags = F_FIXED1;
	s->cpl = 0;
	s->intr_shadow = 0;
	s->halted = false;
	cpu->wait_sipi = false;
	cpu->vmx->guest_shutdown = false;
	cpu->vmx_nonroot = false;
	cpu->events &= ~(uint32_t)(EV_VMX | EV_VMX_TIMER | EV_VMX_MTF | EV_VMX_APIC | EV_VMX_VINTR);
	cpu->vmx->apic_access_on = cpu->vmx->apic_write_pending = cpu->vmx->vintr = false;
	cpu->vmx->mtf_pending = false;
	cpu_mode_update(cpu);
	/* The VM-exit MSR-load area (27.6). */
	for (uint64_t k = 0; k < F(EXIT_MSR_LOAD_COUNT); k++) {
		uint32_t e[4];
		physmem_read(cpu->mem, F(EXIT_MSR_LOAD_ADDR) + 16 * k, e, sizeof(e));
		if (!msr_entry_ok(e[0], e[1], true) ||
		    msr_write(cpu, e[0], e[2] | (uint64_t)e[3] << 32) < 0)
			vmx_abort(cpu, ABORT_LOAD_HOST_MSRS, "VMX abort 4 (VM-exit MSR-load area)");
	}
}

static _Noreturn void
unwind(struct cpu *cpu)
{
	cpu->delivering = false;
	cpu->stop_trace = true;
	longjmp(cpu->fault_jmp, VMX_LONGJMP_EXIT);
}

_Noreturn void
vmx_exit(struct cpu *cpu, uint32_t reason, uint64_t qual, uint32_t len, uint32_t info)
{
	vmx_preempt_stop(cpu, reason == VMX_EXIT_PREEMPT_TIMER);
	F(EXIT_REASON) = reason;
	F(EXIT_QUALIFICATION) = qual;
	F(EXIT_INSN_LEN) = len;
	F(EXIT_INSN_INFO) = info;
	if (reason != VMX_EXIT_EXCEPTION_NMI && reason != VMX_EXIT_EXTERNAL_INTR)
		F(EXIT_INTR_INFO) = 0;
	F(IDT_VECTORING_INFO) = cpu->vmx->vectoring;
	/* RFLAGS.RF (27.3.3): an APIC-access exit, an EPT violation or
	 * misconfiguration and a PML-full exit save RF = 1 (the access's
	 * instruction restarts) unless they happen while an event is delivered;
	 * then RF stands as that delivery would push it. Instruction exits save
	 * 0: the debug step clears RF before any instruction runs (debug.c).
	 * Other exits save what RF was. */
	if (!cpu->vmx->vectoring &&
	    (reason == VMX_EXIT_APIC_ACCESS || reason == VMX_EXIT_EPT_VIOLATION ||
	     reason == VMX_EXIT_EPT_MISCONFIG || reason == VMX_EXIT_PML_FULL))
		cpu->state.rflags |= F_RF;
	if (cpu->vmx->vectoring) {
		F(IDT_VECTORING_ERROR) = cpu->vmx->vectoring_error;
		if (cpu->vmx->vectoring_len) /* a software event: its instruction's length */
			F(EXIT_INSN_LEN) = len = cpu->vmx->vectoring_len;
		cpu->vmx->vectoring = 0;
	}
	cpu->vmx->soft_type = 0;
	save_guest(cpu);
	trace_vmexit(cpu->tracer, cpu, reason, vmx_exit_reason_name(reason), qual, F(GUEST_RIP),
		     (uint8_t)len, info, (uint32_t)F(EXIT_INTR_INFO),
		     (uint32_t)F(IDT_VECTORING_INFO));
	store_msrs(cpu);
	load_host(cpu);
	unwind(cpu);
}

_Noreturn void
vmx_entry_fail(struct cpu *cpu, uint32_t reason, uint64_t qual, const char *check)
{
	trace_vmentry(cpu->tracer, cpu, !cpu->vmx->launched, false, check, F(GUEST_RIP),
		      (uint32_t)F(ENTRY_INTR_INFO), vmx_written_fields(cpu));
	F(EXIT_REASON) = reason | 1u << 31;
	F(EXIT_QUALIFICATION) = qual;
	F(EXIT_INTR_INFO) = 0;
	trace_vmexit(cpu->tracer, cpu, reason | 1u << 31, vmx_exit_reason_name(reason), qual,
		     F(GUEST_RIP), 0, 0, 0, 0);
	load_host(cpu);
	unwind(cpu);
}

/* ---- the doors ---- */

static bool
io_exits(struct cpu *cpu, unsigned port, unsigned size)
{
	if (!(F(PROC_CTLS) & PROC_IO_BITMAPS))
		return (F(PROC_CTLS) & PROC_UNCOND_IO) != 0;
	/* Bitmap A covers 0000-7FFF, B 8000-FFFF; an access that wraps past FFFF
	 * exits; one straddling 7FFF/8000 reads both (25.1.3). */
	if (port + size > 0x10000)
		return true;
	for (unsigned p = port; p < port + size; p++) {
		uint8_t byte;
		uint64_t base = p < 0x8000 ? F(IO_BITMAP_A) : F(IO_BITMAP_B);
		physmem_read(cpu->mem, base + (p & 0x7fff) / 8, &byte, 1);
		if ((byte >> (p & 7)) & 1)
			return true;
	}
	return false;
}

static bool
msr_exits(struct cpu *cpu, uint32_t index, bool write)
{
	if (!(F(PROC_CTLS) & PROC_MSR_BITMAPS))
		return true;
	/* Read low, read high, write low, write high: 1 KiB each (24.6.9). */
	uint64_t off;
	if (index <= 0x1fff)
		off = 0;
	else if (index >= 0xc0000000u && index <= 0xc0001fffu)
		off = 1024;
	else
		return true;
	off += write ? 2048 : 0;
	uint8_t byte;
	physmem_read(cpu->mem, F(MSR_BITMAP) + off + (index & 0x1fff) / 8, &byte, 1);
	return (byte >> (index & 7)) & 1;
}

static _Noreturn void
exit_insn(struct cpu *cpu, const struct insn *i, uint32_t reason, uint64_t qual, uint32_t info)
{
	vmx_exit(cpu, reason, qual, i->len, info);
}

static void
io_door(struct cpu *cpu, const struct insn *i)
{
	unsigned op = i->opcode & 0xff;
	bool str = i->icls == ICLS_IO_STRING, imm = op >= 0xe4 && op <= 0xe7;
	bool in = str ? op <= 0x6d : !(op & 2);
	unsigned size = insn_io_size(i);
	unsigned port = imm ? (unsigned)(i->imm & 0xff) : (unsigned)(cpu->state.gpr[R_DX] & 0xffff);
	if (!io_exits(cpu, port, size))
		return;
	uint64_t qual = (size - 1) | (in ? 8u : 0) | (str ? 16u : 0) |
			(str && (i->flags & (I_REP | I_REPNE)) ? 32u : 0) | (imm ? 64u : 0) |
			(uint64_t)port << 16;
	uint32_t info = 0;
	if (str) {
		uint64_t am = addr_mask(i->adsize);
		unsigned seg = in ? S_ES : i->seg;
		F(GUEST_LINEAR_ADDR) =
			cpu->state.seg[seg].base + (cpu->state.gpr[in ? R_DI : R_SI] & am);
		info = (i->adsize == 2 ? 0u : i->adsize == 4 ? 1u : 2u) << 7 | (uint32_t)seg << 15;
	}
	exit_insn(cpu, i, VMX_EXIT_IO, qual, info);
}

static void
cr_door(struct cpu *cpu, const struct insn *i)
{
	uint64_t proc = F(PROC_CTLS);
	if (i->id == INSN_CLTS) {
		if ((F(CR0_MASK) & CR0_TS) && (F(CR0_SHADOW) & CR0_TS))
			exit_insn(cpu, i, VMX_EXIT_CR_ACCESS, 2u << 4, 0);
		return;
	}
	if (i->id == INSN_LMSW) {
		uint64_t src = rm_read(cpu, i, 2), m = F(CR0_MASK), sh = F(CR0_SHADOW);
		if ((m & 0xe & (src ^ sh)) || ((m & 1) && !(sh & 1) && (src & 1)))
			exit_insn(cpu, i, VMX_EXIT_CR_ACCESS,
				  3u << 4 | ((i->flags & I_MEM) ? 64u : (uint64_t)i->rm << 8) |
					  (src & 0xffff) << 16,
				  0);
		return;
	}
	unsigned n = i->reg, gpr = i->rm;
	bool to_cr = (i->opcode & 0xff) == 0x22;
	uint64_t qual = n | (to_cr ? 0u : 1u << 4) | (uint64_t)gpr << 8;
	bool exits = false;
	if (to_cr) {
		uint64_t v = reg_read(cpu, gpr, cpu->code_size == 8 ? 8 : 4);
		if (n == 0)
			exits = (v ^ F(CR0_SHADOW)) & F(CR0_MASK);
		else if (n == 4)
			exits = (v ^ F(CR4_SHADOW)) & F(CR4_MASK);
		else if (n == 3 && (proc & PROC_CR3_LOAD)) {
			/* No exit for a value in the CR3-target list (25.1.3). */
			exits = true;
			for (unsigned k = 0; k < F(CR3_TARGET_COUNT) && k < 4; k++)
				if (cpu->vmx->f[VMCS_CR3_TARGET0 + k] == v)
					exits = false;
		} else if (n == 8)
			exits = (proc & PROC_CR8_LOAD) != 0;
	} else {
		exits = (n == 3 && (proc & PROC_CR3_STORE)) || (n == 8 && (proc & PROC_CR8_STORE));
	}
	if (exits)
		exit_insn(cpu, i, VMX_EXIT_CR_ACCESS, qual, 0);
}

static void
desc_door(struct cpu *cpu, const struct insn *i)
{
	if (!(F(PROC_CTLS) & PROC_SECONDARY) || !(F(PROC_CTLS2) & PROC2_DESC_TABLE))
		return;
	static const struct {
		uint16_t id;
		uint8_t reason, ident;
	} rows[] = { { INSN_SGDT, VMX_EXIT_GDTR_IDTR, 0 }, { INSN_SIDT, VMX_EXIT_GDTR_IDTR, 1 },
		     { INSN_LGDT, VMX_EXIT_GDTR_IDTR, 2 }, { INSN_LIDT, VMX_EXIT_GDTR_IDTR, 3 },
		     { INSN_SLDT, VMX_EXIT_LDTR_TR, 0 },   { INSN_STR, VMX_EXIT_LDTR_TR, 1 },
		     { INSN_LLDT, VMX_EXIT_LDTR_TR, 2 },   { INSN_LTR, VMX_EXIT_LDTR_TR, 3 } };
	for (unsigned k = 0; k < 8; k++) {
		if (rows[k].id != i->id)
			continue;
		/* Tables 27-10/27-11: the identity in 29:28, operand size in bit 11. */
		uint32_t info = (vmx_insn_info(i, 0, 0) & 0x0fffffffu) | (uint32_t)rows[k].ident
										 << 28;
		if (rows[k].reason == VMX_EXIT_GDTR_IDTR && i->opsize != 2)
			info |= 1u << 11;
		exit_insn(cpu, i, rows[k].reason, (uint64_t)(int64_t)i->disp, info);
	}
}

void
vmx_intercept(struct cpu *cpu, const struct insn *i)
{
	uint64_t proc = F(PROC_CTLS);
	uint64_t proc2 = (proc & PROC_SECONDARY) ? F(PROC_CTLS2) : 0;
	switch (i->icls) {
	case ICLS_CPUID: exit_insn(cpu, i, VMX_EXIT_CPUID, 0, 0);
	case ICLS_INVD: exit_insn(cpu, i, VMX_EXIT_INVD, 0, 0);
	case ICLS_XSETBV: exit_insn(cpu, i, VMX_EXIT_XSETBV, 0, 0); /* unconditional (25.1.2) */
	case ICLS_HLT:
		if (proc & PROC_HLT)
			exit_insn(cpu, i, VMX_EXIT_HLT, 0, 0);
		return;
	case ICLS_INVLPG:
		if (proc & PROC_INVLPG) {
			uint64_t ea = insn_ea(cpu, i);
			uint64_t lin =
				cpu->code_size == 8
					? ea + (i->seg >= S_FS ? cpu->state.seg[i->seg].base : 0)
					: (cpu->state.seg[i->seg].base + ea) & 0xffffffffull;
			exit_insn(cpu, i, VMX_EXIT_INVLPG, lin, 0);
		}
		return;
	case ICLS_RDPMC:
		if (proc & PROC_RDPMC)
			exit_insn(cpu, i, VMX_EXIT_RDPMC, 0, 0);
		return;
	case ICLS_RDTSC:
		if (proc & PROC_RDTSC)
			exit_insn(cpu, i, VMX_EXIT_RDTSC, 0, 0);
		return;
	case ICLS_RDTSCP:
		if (!(proc2 & PROC2_RDTSCP))
			cpu_ud(cpu); /* "enable RDTSCP" clear (25.3) */
		if (proc & PROC_RDTSC)
			exit_insn(cpu, i, VMX_EXIT_RDTSCP, 0, 0);
		return;
	case ICLS_INVPCID:
		if (!(proc2 & PROC2_INVPCID))
			cpu_ud(cpu);
		if (proc & PROC_INVLPG)
			exit_insn(cpu, i, VMX_EXIT_INVPCID, (uint64_t)(int64_t)i->disp,
				  vmx_insn_info(i, 0, i->reg));
		return;
	case ICLS_PAUSE:
		if ((proc & PROC_PAUSE) || ((proc2 & PROC2_PLE) && vmx_ple_exits(cpu)))
			exit_insn(cpu, i, VMX_EXIT_PAUSE, 0, 0);
		return;
	case ICLS_WBINVD:
		if (proc2 & PROC2_WBINVD)
			exit_insn(cpu, i, VMX_EXIT_WBINVD, 0, 0);
		return;
	case ICLS_RDMSR:
	case ICLS_WRMSR:
		if (msr_exits(cpu, (uint32_t)cpu->state.gpr[R_CX], i->icls == ICLS_WRMSR))
			exit_insn(cpu, i, i->icls == ICLS_WRMSR ? VMX_EXIT_WRMSR : VMX_EXIT_RDMSR,
				  0, 0);
		return;
	case ICLS_IO:
	case ICLS_IO_STRING: io_door(cpu, i); return;
	case ICLS_MOV_CR: cr_door(cpu, i); return;
	case ICLS_MOV_DR:
		if (proc & PROC_MOV_DR)
			exit_insn(cpu, i, VMX_EXIT_DR_ACCESS,
				  (i->reg & 7) | ((i->opcode & 0xff) == 0x21 ? 16u : 0) |
					  (uint64_t)i->rm << 8,
				  0);
		return;
	case ICLS_DESC_TABLE: desc_door(cpu, i); return;
	case ICLS_VMX: {
		if ((i->id == INSN_VMREAD || i->id == INSN_VMWRITE) &&
		    vmx_shadow_access(cpu, i, i->id == INSN_VMWRITE))
			return; /* to the shadow VMCS (vmx.c) */
		static const struct {
			uint16_t id;
			uint8_t reason;
		} rows[] = {
			{ INSN_VMCALL, VMX_EXIT_VMCALL },     { INSN_VMCLEAR, VMX_EXIT_VMCLEAR },
			{ INSN_VMLAUNCH, VMX_EXIT_VMLAUNCH }, { INSN_VMPTRLD, VMX_EXIT_VMPTRLD },
			{ INSN_VMPTRST, VMX_EXIT_VMPTRST },   { INSN_VMREAD, VMX_EXIT_VMREAD },
			{ INSN_VMRESUME, VMX_EXIT_VMRESUME }, { INSN_VMWRITE, VMX_EXIT_VMWRITE },
			{ INSN_VMXOFF, VMX_EXIT_VMXOFF },     { INSN_VMXON, VMX_EXIT_VMXON },
			{ INSN_INVVPID, VMX_EXIT_INVVPID },   { INSN_INVEPT, VMX_EXIT_INVEPT }
		};
		for (unsigned k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
			if (rows[k].id != i->id)
				continue;
			bool operand = i->id != INSN_VMCALL && i->id != INSN_VMLAUNCH &&
				       i->id != INSN_VMRESUME && i->id != INSN_VMXOFF;
			/* VMREAD, VMWRITE, INVEPT and INVVPID name a register in bits
			 * 31:28 (27.2.5). */
			bool rw = i->id == INSN_VMREAD || i->id == INSN_VMWRITE ||
				  i->id == INSN_INVVPID || i->id == INSN_INVEPT;
			uint32_t info = operand ? vmx_insn_info(i, 0, rw ? i->reg : 0) : 0;
			uint64_t qual =
				operand && (i->flags & I_MEM) ? (uint64_t)(int64_t)i->disp : 0;
			exit_insn(cpu, i, rows[k].reason, qual, info);
		}
		return;
	}
	default: return;
	}
}

/* Does IRET remove NMI blocking here (25.3)? Not with NMI exiting and no
 * virtual NMIs; with virtual NMIs the blocking it removes is virtual. */
bool
vmx_iret_unblocks(const struct cpu *cpu)
{
	return (F(PIN_CTLS) & (PIN_NMI | PIN_VIRTUAL_NMI)) != PIN_NMI;
}

void
vmx_iret(struct cpu *cpu, bool begin)
{
	cpu->vmx->in_iret = begin;
	if (!begin && vmx_iret_unblocks(cpu))
		cpu->state.nmi_blocked = false;
}

/* VMCS shadowing (25.1.3): with the control, a VMREAD/VMWRITE whose field
 * encoding (the register operand) has bits 63:15 clear and its bit clear in
 * the VMREAD/VMWRITE bitmap runs against the shadow VMCS instead of exiting. */
bool
vmx_shadow_access(struct cpu *cpu, const struct insn *i, bool write)
{
	if (!(F(PROC_CTLS) & PROC_SECONDARY) || !(F(PROC_CTLS2) & PROC2_SHADOW_VMCS))
		return false;
	uint64_t enc = reg_read(cpu, i->reg, cpu->code_size == 8 ? 8 : 4);
	if (enc >> 15)
		return false;
	uint8_t byte;
	physmem_read(cpu->mem, (write ? F(VMWRITE_BITMAP) : F(VMREAD_BITMAP)) + (enc >> 3), &byte,
		     1);
	return !((byte >> (enc & 7)) & 1);
}

/* Exception bitmap, with the #PF error-code mask/match (25.2). */
static bool
exception_exits(const struct cpu *cpu, unsigned vector, uint32_t error)
{
	bool bit = (F(EXCEPTION_BITMAP) >> vector) & 1;
	if (vector != EXC_PF)
		return bit;
	bool match = (error & F(PF_ERR_MASK)) == F(PF_ERR_MATCH);
	return match ? bit : !bit;
}

void
vmx_debug_exception(struct cpu *cpu, uint32_t bits)
{
	if (cpu->vmx->injecting || !exception_exits(cpu, EXC_DB, NO_ERRCODE))
		return;
	F(EXIT_INTR_INFO) = EXC_DB | 3u << 8 | 1u << 31;
	F(EXIT_INTR_ERROR) = 0;
	vmx_exit(cpu, VMX_EXIT_EXCEPTION_NMI, bits & 0x600fu, 0, 0);
}

bool
vmx_pf_exits(const struct cpu *cpu, uint32_t error)
{
	return exception_exits(cpu, EXC_PF, error);
}

void
vmx_soft_exception(struct cpu *cpu, unsigned type)
{
	cpu->vmx->soft_type = (uint8_t)type;
}

void
vmx_exception(struct cpu *cpu, unsigned vector, uint32_t error, unsigned type)
{
	if (type == 3 && cpu->vmx->soft_type)
		type = cpu->vmx->soft_type; /* INT1: a privileged software exception */
	if (cpu->vmx->injecting) { /* the injected event itself; a fault delivering it is checked */
		cpu->vmx->injecting = false;
		return;
	}
	if (!exception_exits(cpu, vector, error))
		return;
	bool errc = error != NO_ERRCODE;
	F(EXIT_INTR_INFO) = vector | type << 8 | (errc ? 1u << 11 : 0) | 1u << 31;
	/* A fault on IRET that had removed (virtual-)NMI blocking: bit 12, and the
	 * blocking is saved as removed (27.2.2, 27.3.4); not for #DF. */
	if (cpu->vmx->in_iret && vector != EXC_DF && vmx_iret_unblocks(cpu) &&
	    cpu->state.nmi_blocked) {
		F(EXIT_INTR_INFO) |= 1u << 12;
		cpu->state.nmi_blocked = false;
	}
	F(EXIT_INTR_ERROR) = errc ? error : 0;
	uint64_t qual = 0;
	if (vector == EXC_PF)
		qual = cpu->vmx->pf_lin; /* CR2 is not written (27.1) */
	else if (vector == EXC_DB)
		qual = cpu->state.dr[6] & 0x600f;
	/* Software exceptions (INT3, INTO) and INT1 report their length. */
	vmx_exit(cpu, VMX_EXIT_EXCEPTION_NMI, qual,
		 type >= 5 ? (uint32_t)(cpu->state.rip - cpu->insn_rip) : 0, 0);
}

bool
vmx_intr_exits(const struct cpu *cpu)
{
	return (F(PIN_CTLS) & PIN_EXT_INTR) != 0 && !cpu->vmx->guest_shutdown;
}

void
vmx_mtf_before_trap(struct cpu *cpu, uint32_t trap)
{
	struct vmx *v = cpu->vmx;
	if (!(cpu->events & EV_VMX_MTF) || v->guest_shutdown)
		return;
	if (!v->mtf_pending && !((F(PROC_CTLS) & PROC_MTF) && cpu->icount != v->mtf_icount))
		return;
	/* B3:0, "enabled breakpoint" (12) with any of them, BS (14). */
	v->pending_dbg = (trap & 0x400fu) | ((trap & 0xfu) ? 1u << 12 : 0);
	cpu->insn_rip = cpu->state.rip; /* at the boundary, after the instruction */
	vmx_exit(cpu, VMX_EXIT_MTF, 0, 0, 0);
}

bool
vmx_shutdown_state(const struct cpu *cpu)
{
	return cpu->vmx->guest_shutdown;
}

void
vmx_leave_shutdown(struct cpu *cpu)
{
	cpu->vmx->guest_shutdown = false;
}

bool
vmx_boundary(struct cpu *cpu)
{
	cpu->insn_rip = cpu->state.rip;
	bool shadow = cpu->state.intr_shadow != 0;
	/* The shutdown activity state blocks MTF exits (27.1), external
	 * interrupts whatever the pin-based controls (26.6.2) and so the
	 * interrupt window (26.7.5); NMIs, the NMI window, INIT, SMIs and the
	 * preemption timer still end it. */
	bool down = cpu->vmx->guest_shutdown;
	/* APIC-write emulation of the last instruction's write: trap-like (an
	 * APIC-write, EOI-induced or TPR-below-threshold exit comes first). */
	if (cpu->events & EV_VMX_APIC)
		vmx_apicv_boundary(cpu);
	/* The monitor trap flag: below SMI and INIT, above debug traps and every
	 * other exit here; not blocked by STI or MOV SS (25.5.2). */
	if ((cpu->events & EV_VMX_MTF) && !down) {
		struct vmx *v = cpu->vmx;
		if (v->mtf_pending || ((F(PROC_CTLS) & PROC_MTF) && cpu->icount != v->mtf_icount)) {
			if (cpu->state.halted) /* HLT retired: the exit saves activity state HLT */
				vmx_wake_for_exit(cpu);
			vmx_exit(cpu, VMX_EXIT_MTF, 0, 0, 0);
		}
		/* One instruction, then back here: the budget ends after it (the
		 * board runs the CPU again at once), which costs the run loop
		 * nothing while MTF is off. */
		if (cpu->budget_end > cpu->icount + 1)
			cpu->budget_end = cpu->icount + 1;
	}
	/* The VMX-preemption timer: below SMI, INIT and debug traps, above the
	 * NMI window, NMIs and interrupts; not blocked by STI or MOV SS (25.2). */
	if (cpu->events & EV_VMX_TIMER) {
		cpu->events &= ~(uint32_t)EV_VMX_TIMER;
		if (vmx_preempt_expired(cpu))
			vmx_exit(cpu, VMX_EXIT_PREEMPT_TIMER, 0, 0, 0);
	}
	/* NMI window (virtual NMIs): no virtual-NMI blocking, no STI/MOV SS
	 * blocking; below the timer, above NMIs (25.2); it wakes a guest that
	 * VM entry put into HLT. */
	if ((F(PROC_CTLS) & PROC_NMI_WINDOW) && !cpu->state.nmi_blocked && !shadow) {
		if (cpu->state.halted)
			vmx_wake_for_exit(cpu);
		vmx_exit(cpu, VMX_EXIT_NMI_WINDOW, 0, 0, 0);
	}
	/* An NMI exits unless blocked: by "blocking by NMI" only without virtual
	 * NMIs (with them that blocking is virtual). */
	if ((cpu->events & EV_NMI) && (F(PIN_CTLS) & PIN_NMI) && !shadow &&
	    ((F(PIN_CTLS) & PIN_VIRTUAL_NMI) || !cpu->state.nmi_blocked)) {
		cpu->events &= ~(uint32_t)EV_NMI;
		F(EXIT_INTR_INFO) = 2 | 2u << 8 | 1u << 31;
		vmx_exit(cpu, VMX_EXIT_EXCEPTION_NMI, 0, 0, 0);
	}
	/* A virtual interrupt: the priority of the interrupt window, below NMIs,
	 * above external interrupts (29.2.2); not in the shutdown state. The boundary
	 * after its delivery is this one: an MTF exit, else an external interrupt, is
	 * looked at now (the handler may run with IF set: nothing may reach
	 * take_interrupts). */
	if ((cpu->events & EV_VMX_VINTR) && !down && vmx_vintr_deliver(cpu) &&
	    cpu->vmx->mtf_pending)
		vmx_exit(cpu, VMX_EXIT_MTF, 0, 0, 0);
	while ((cpu->events & EV_INTR) && (F(PIN_CTLS) & PIN_EXT_INTR) && !shadow && !down) {
		/* External-interrupt exiting takes the interrupt whatever RFLAGS.IF says
		 * (25.2); with "acknowledge interrupt on exit" the vector is read now. */
		F(EXIT_INTR_INFO) = 0;
		if (F(EXIT_CTLS) & EXIT_ACK_INTR) {
			int vector = cpu->bus.intr_ack ? cpu->bus.intr_ack(cpu->bus.opaque) : -1;
			if (vector < 0) {
				cpu->events &= ~(uint32_t)EV_INTR;
				return false;
			}
			/* Posted-interrupt processing instead of the exit (29.6); then
			 * the next interrupt, if any. */
			if ((F(PIN_CTLS) & PIN_POSTED_INTR) &&
			    (unsigned)vector == (F(POSTED_INT_NV) & 0xff)) {
				vmx_posted_intr(cpu);
				if (cpu->vmx->mtf_pending)
					vmx_exit(cpu, VMX_EXIT_MTF, 0, 0, 0);
				continue;
			}
			F(EXIT_INTR_INFO) = (uint32_t)vector | 1u << 31;
		}
		vmx_exit(cpu, VMX_EXIT_EXTERNAL_INTR, 0, 0, 0);
	}
	if ((F(PROC_CTLS) & PROC_INTR_WINDOW) && (cpu->state.rflags & F_IF) && !shadow && !down)
		vmx_exit(cpu, VMX_EXIT_INTR_WINDOW, 0, 0, 0);
	return false;
}

/* IDT-vectoring information (27.2.4): vector, type (0 external, 2 NMI, 3 hardware
 * exception, 4 software interrupt, 5 privileged software exception, 6 software
 * exception), error code valid, valid. */
void
vmx_vectoring(struct cpu *cpu, unsigned vector, unsigned kind, uint32_t error, uint64_t return_rip)
{
	static const uint8_t type[] = { [EVENT_EXCEPTION] = 3,
					[EVENT_SOFTWARE_INT] = 4,
					[EVENT_EXTERNAL] = 0,
					[EVENT_NMI] = 2 };
	struct vmx *v = cpu->vmx;
	uint32_t t = v->soft_type ? v->soft_type : type[kind];
	v->soft_type = 0;
	v->in_iret = false; /* the IRET's fault is being delivered in the guest */
	v->vectoring = vector | t << 8 | (error != NO_ERRCODE ? 1u << 11 : 0) | 1u << 31;
	v->vectoring_error = error != NO_ERRCODE ? error : 0;
	v->vectoring_len = t >= 4 ? (uint32_t)(return_rip - cpu->insn_rip) : 0;
}

void
vmx_vectoring_done(struct cpu *cpu)
{
	cpu->vmx->vectoring = 0;
	/* MTF: the exit is pending on the boundary after the delivery (25.5.2). */
	if (F(PROC_CTLS) & PROC_MTF)
		cpu->vmx->mtf_pending = true;
}

void
vmx_wake_for_exit(struct cpu *cpu)
{
	cpu->state.halted = false;
	cpu->vmx->hlt_wake = true;
}

void
vmx_triple_fault(struct cpu *cpu)
{
	cpu->shutdown = false;
	cpu->vmx->vectoring = 0; /* the exit is the shutdown, not an exception during delivery */
	vmx_exit(cpu, VMX_EXIT_TRIPLE_FAULT, 0, 0, 0);
}

uint64_t
vmx_tsc_offset(const struct cpu *cpu)
{
	return (F(PROC_CTLS) & PROC_TSC_OFFSET) ? F(TSC_OFFSET) : 0;
}

uint64_t
vmx_cr_read(const struct cpu *cpu, unsigned cr, uint64_t value)
{
	uint64_t mask = cr == 0 ? F(CR0_MASK) : F(CR4_MASK);
	uint64_t shadow = cr == 0 ? F(CR0_SHADOW) : F(CR4_SHADOW);
	return (value & ~mask) | (shadow & mask);
}

bool
vmx_tpr_shadow(const struct cpu *cpu)
{
	return (F(PROC_CTLS) & PROC_TPR_SHADOW) != 0;
}

/* VTPR is the 32 bits at offset 80H of the virtual-APIC page (29.1.1). */
uint64_t
vmx_cr8_read(struct cpu *cpu)
{
	uint32_t vtpr = 0;
	physmem_read(cpu->mem, F(VIRTUAL_APIC_ADDR) + 0x80, &vtpr, 4);
	return (vtpr >> 4) & 15; /* 29.3: MOV from CR8 */
}

/* MOV to CR8 (29.3): VTPR[7:4] = the value, the rest of VTPR 0; then TPR
 * virtualization (29.1.2, without virtual-interrupt delivery): VTPR[7:4] below
 * TPR threshold[3:0] is a trap-like VM exit, after the instruction. */
void
vmx_cr8_write(struct cpu *cpu, uint64_t value)
{
	uint32_t vtpr = (uint32_t)(value & 15) << 4;
	physmem_write(cpu->mem, F(VIRTUAL_APIC_ADDR) + 0x80, &vtpr, 4);
	vmx_tpr_virtualize(cpu, (uint8_t)vtpr);
}

uint64_t
vmx_cr_write(const struct cpu *cpu, unsigned cr, uint64_t value)
{
	uint64_t mask = cr == 0 ? F(CR0_MASK) : F(CR4_MASK);
	uint64_t cur = cr == 0 ? cpu->state.cr0 : cpu->state.cr4;
	return (value & ~mask) | (cur & mask);
}

_Noreturn void
vmx_signal_exit(struct cpu *cpu, bool sipi)
{
	cpu->insn_rip = cpu->state.rip; /* at a boundary: the next instruction */
	vmx_exit(cpu, sipi ? VMX_EXIT_SIPI : VMX_EXIT_INIT, sipi ? cpu->sipi_vector : 0, 0, 0);
}
