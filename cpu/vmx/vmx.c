/*
 * fugu — VMX operation (SDM vol. 3C, chapter 23) and the VMX instructions
 * (chapter 30): VMXON, VMXOFF, VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE,
 * VMLAUNCH, VMRESUME, VMCALL; IA32_FEATURE_CONTROL; the VMCS cache.
 *
 * Each instruction follows its pseudocode in chapter 30: #UD outside VMX
 * operation or in real, virtual-8086 and compatibility mode; a VM exit in
 * non-root operation; #GP(0) above CPL 0; then VMfailInvalid (no current VMCS)
 * or VMfailValid with the error number of 30.4.
 */
#include <inttypes.h>
#include <stdlib.h>

#include "cpu/exec/exec.h"
#include "cpu/translate.h"
#include "cpu/vmx/vmx_internal.h"
#include "mmu/physmem.h"
#include "trace/events.h"

void
vmx_create(struct cpu *cpu)
{
	cpu->vmx = NULL;
	if (!cpu_has(&cpu->features, FEAT_VMX))
		return;
	cpu->vmx = calloc(1, sizeof(*cpu->vmx));
	if (!cpu->vmx)
		abort();
	vmx_ept_init(cpu);
}

void
vmx_destroy(struct cpu *cpu)
{
	free(cpu->vmx);
	cpu->vmx = NULL;
}

/* RESET leaves VMX operation and unlocks IA32_FEATURE_CONTROL (23.7), as
 * SeaBIOS expects: the guest's firmware or OS locks it; with -cpu ...,vmx-locked=on
 * it comes out locked with VMX enabled, as UEFI firmware leaves it. */
void
vmx_reset(struct cpu *cpu)
{
	cpu->vmx_nonroot = false;
	if (!cpu->vmx)
		return;
	cpu->vmx->on = false;
	cpu->vmx->current = VMCS_NONE;
	cpu->vmx->launched = false;
	cpu->vmx->feature_control = cpu->features.vmx_locked ? FC_LOCK | FC_VMX_OUTSIDE_SMX : 0;
	cpu->vmx->injecting = cpu->vmx->hlt_wake = cpu->vmx->guest_shutdown = false;
	cpu->vmx->smm_on = cpu->vmx->smm_nonroot = false;
	cpu->vmx->vectoring = 0;
	cpu->vmx->preempt_on = false;
}

void
vmx_smm(struct cpu *cpu, bool enter)
{
	struct vmx *v = cpu->vmx;
	if (enter) {
		v->smm_on = v->on;
		v->smm_nonroot = cpu->vmx_nonroot;
		v->on = false;
		cpu->vmx_nonroot = false;
	} else {
		v->on = v->smm_on;
		cpu->vmx_nonroot = v->smm_nonroot;
		v->smm_on = v->smm_nonroot = false;
	}
}

/* IA32_FEATURE_CONTROL (SDM vol. 3C, 23.7; vol. 4, table 2-2): bit 0 lock,
 * bit 1 VMX inside SMX (no SMX here: reserved), bit 2 VMX outside SMX. Once
 * locked, every write is #GP until RESET. */
int
vmx_feature_control_write(struct cpu *cpu, uint64_t value)
{
	if (!cpu->vmx || (cpu->vmx->feature_control & FC_LOCK))
		return -1;
	if (value & ~(FC_LOCK | FC_VMX_OUTSIDE_SMX))
		return -1;
	cpu->vmx->feature_control = value;
	return 0;
}

/* ---- the VMCS cache ---- */

static void
vmcs_load(struct cpu *cpu, uint64_t pa)
{
	struct vmx *v = cpu->vmx;
	uint32_t launch = 0;
	physmem_read(cpu->mem, pa + 8, &launch, 4);
	physmem_read(cpu->mem, pa + VMCS_REGION_FIELDS, v->f, sizeof(v->f));
	v->current = pa;
	v->launched = launch == 1;
}

void
vmcs_writeback(struct cpu *cpu)
{
	struct vmx *v = cpu->vmx;
	if (v->current == VMCS_NONE)
		return;
	uint32_t launch = v->launched;
	physmem_write(cpu->mem, v->current + 8, &launch, 4);
	physmem_write(cpu->mem, v->current + VMCS_REGION_FIELDS, v->f, sizeof(v->f));
}

/* ---- outcomes (30.2) ---- */

#define VMX_FLAGS (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

static void
set_vmx_flags(struct cpu *cpu, uint64_t set)
{
	flags_materialize(cpu);
	cpu->state.rflags = (cpu->state.rflags & ~(uint64_t)VMX_FLAGS) | set;
}

static void
succeed(struct cpu *cpu, const struct insn *i, uint64_t operand)
{
	set_vmx_flags(cpu, 0);
	trace_vmx_insn(cpu->tracer, cpu, insn_mnemonic[i->id], operand, TRACE_VMXO_OK, 0);
}

/* VMfail: VMfailInvalid without a current VMCS, else VMfailValid(error). */
static void
fail(struct cpu *cpu, const struct insn *i, uint64_t operand, unsigned error)
{
	if (cpu->vmx->current == VMCS_NONE) {
		set_vmx_flags(cpu, F_CF);
		trace_vmx_insn(cpu->tracer, cpu, insn_mnemonic[i->id], operand,
			       TRACE_VMXO_FAIL_INVALID, 0);
		return;
	}
	set_vmx_flags(cpu, F_ZF);
	vmcs_set(cpu, VMCS_VM_INSN_ERROR, error);
	trace_vmx_insn(cpu->tracer, cpu, insn_mnemonic[i->id], operand, TRACE_VMXO_FAIL_VALID,
		       (uint8_t)error);
}

static void
fail_invalid(struct cpu *cpu, const struct insn *i, uint64_t operand)
{
	set_vmx_flags(cpu, F_CF);
	trace_vmx_insn(cpu->tracer, cpu, insn_mnemonic[i->id], operand, TRACE_VMXO_FAIL_INVALID, 0);
}

/* The checks every VMX instruction but VMXON starts with (chapter 30): #UD
 * outside VMX operation, in real or virtual-8086 mode, in compatibility mode;
 * a VM exit in non-root operation; #GP(0) above CPL 0. */
static void
vmx_insn_prologue(struct cpu *cpu, const struct insn *i)
{
	if (!cpu->vmx || !cpu->vmx->on || cpu_real_mode(cpu) || cpu_v86(cpu) ||
	    (cpu->long_mode && cpu->code_size != 8))
		cpu_ud(cpu);
	if (cpu->vmx_nonroot)
		vmx_intercept(cpu, i);
	if (cpu->state.cpl != 0)
		cpu_gp0(cpu);
}

/* A VMCS or VMXON region pointer: 4 KiB aligned, within MAXPHYADDR. */
static bool
region_ok(const struct cpu *cpu, uint64_t pa)
{
	return !(pa & 0xfff) && !(pa >> cpu->maxphyaddr);
}

/* The m64 operand of VMXON, VMCLEAR, VMPTRLD. */
static uint64_t
read_m64(struct cpu *cpu, const struct insn *i)
{
	return cpu_read(cpu, i->seg, insn_ea(cpu, i), 8);
}

static uint32_t
region_revision(struct cpu *cpu, uint64_t pa)
{
	uint32_t rev = 0;
	physmem_read(cpu->mem, pa, &rev, 4);
	return rev;
}

bool
vmx_cr_fixed_ok(const struct cpu *cpu, unsigned cr, uint64_t value)
{
	uint64_t f0, f1;
	vmx_cap_msr(cpu, cr == 0 ? 0x486 : 0x488, &f0);
	vmx_cap_msr(cpu, cr == 0 ? 0x487 : 0x489, &f1);
	if (cr == 0)
		f1 |= ~0xffffffffull; /* bits 63:32 are checked elsewhere */
	return (value & f0) == f0 && !(value & ~f1);
}

static bool
fixed_bits_ok(const struct cpu *cpu)
{
	return vmx_cr_fixed_ok(cpu, 0, cpu->state.cr0) && vmx_cr_fixed_ok(cpu, 4, cpu->state.cr4);
}

/* VMXON m64 (SDM vol. 3C, 30.3, VMXON). */
void
op_vmxon(struct cpu *cpu, const struct insn *i)
{
	struct vmx *v = cpu->vmx;
	if (!v || cpu_real_mode(cpu) || !(cpu->state.cr4 & CR4_VMXE) || cpu_v86(cpu) ||
	    (cpu->long_mode && cpu->code_size != 8))
		cpu_ud(cpu);
	if (cpu->vmx_nonroot)
		vmx_intercept(cpu, i);
	if (v->on) {
		if (cpu->state.cpl != 0)
			cpu_gp0(cpu);
		fail(cpu, i, 0, VMERR_VMXON_IN_ROOT);
		return;
	}
	/* CPL, the fixed CR0/CR4 bits, and IA32_FEATURE_CONTROL locked with VMX
	 * enabled outside SMX: #GP(0) (23.7, 23.8). */
	if (cpu->state.cpl != 0 || !fixed_bits_ok(cpu) ||
	    (v->feature_control & (FC_LOCK | FC_VMX_OUTSIDE_SMX)) != (FC_LOCK | FC_VMX_OUTSIDE_SMX))
		cpu_gp0(cpu);
	uint64_t pa = read_m64(cpu, i);
	if (!region_ok(cpu, pa) || (region_revision(cpu, pa) & 0x7fffffffu) != VMX_REVISION) {
		fail_invalid(cpu, i, pa);
		return;
	}
	v->on = true;
	v->vmxon_ptr = pa;
	v->current = VMCS_NONE;
	v->launched = false;
	succeed(cpu, i, pa);
	cpu->stop_trace = true;
}

/* VMXOFF: leave VMX operation; the current VMCS is written back. */
void
op_vmxoff(struct cpu *cpu, const struct insn *i)
{
	vmx_insn_prologue(cpu, i);
	vmcs_writeback(cpu);
	cpu->vmx->current = VMCS_NONE;
	cpu->vmx->on = false;
	succeed(cpu, i, 0);
	cpu->stop_trace = true;
}

/* VMCLEAR m64: write the VMCS back if current, make its launch state clear. */
void
op_vmclear(struct cpu *cpu, const struct insn *i)
{
	vmx_insn_prologue(cpu, i);
	uint64_t pa = read_m64(cpu, i);
	struct vmx *v = cpu->vmx;
	if (!region_ok(cpu, pa)) {
		fail(cpu, i, pa, VMERR_VMCLEAR_BAD_ADDR);
		return;
	}
	if (pa == v->vmxon_ptr) {
		fail(cpu, i, pa, VMERR_VMCLEAR_VMXON);
		return;
	}
	if (pa == v->current) {
		v->launched = false;
		vmcs_writeback(cpu);
		v->current = VMCS_NONE;
	}
	uint32_t clear = 0;
	physmem_write(cpu->mem, pa + 8, &clear, 4);
	succeed(cpu, i, pa);
}

/* VMPTRLD m64: make the VMCS at pa current. */
void
op_vmptrld(struct cpu *cpu, const struct insn *i)
{
	vmx_insn_prologue(cpu, i);
	uint64_t pa = read_m64(cpu, i);
	struct vmx *v = cpu->vmx;
	if (!region_ok(cpu, pa)) {
		fail(cpu, i, pa, VMERR_VMPTRLD_BAD_ADDR);
		return;
	}
	if (pa == v->vmxon_ptr) {
		fail(cpu, i, pa, VMERR_VMPTRLD_VMXON);
		return;
	}
	/* Bits 30:0 the revision; bit 31 a shadow VMCS (VMCS shadowing is supported). */
	uint32_t rev = region_revision(cpu, pa);
	if ((rev & 0x7fffffffu) != VMX_REVISION) {
		fail(cpu, i, pa, VMERR_VMPTRLD_BAD_REVISION);
		return;
	}
	if (v->current != pa) {
		vmcs_writeback(cpu);
		vmcs_load(cpu, pa);
	}
	v->current_shadow = (rev >> 31) != 0;
	succeed(cpu, i, pa);
}

/* VMPTRST m64: store the current-VMCS pointer (all ones when none). */
void
op_vmptrst(struct cpu *cpu, const struct insn *i)
{
	vmx_insn_prologue(cpu, i);
	cpu_write(cpu, i->seg, insn_ea(cpu, i), cpu->vmx->current, 8);
	succeed(cpu, i, cpu->vmx->current);
}

/* In non-root operation a VMREAD/VMWRITE that did not exit accesses the
 * shadow VMCS, the VMCS link pointer (all ones: VMfailInvalid) (30.3, VMREAD,
 * VMWRITE). fugu reads and writes the shadow VMCS's region in place: it is
 * never the current VMCS of this CPU while the guest runs (26.3.1.5). */
static uint64_t
shadow_vmcs(const struct cpu *cpu)
{
	return cpu->vmx->f[VMCS_VMCS_LINK_PTR];
}

/* VMREAD r/m, r: the field named by the register operand; 64 bits in 64-bit
 * mode, 32 elsewhere (30.3, VMREAD). */
void
op_vmread(struct cpu *cpu, const struct insn *i)
{
	vmx_insn_prologue(cpu, i);
	unsigned size = cpu->code_size == 8 ? 8 : 4;
	uint32_t enc = (uint32_t)reg_read(cpu, i->reg, size);
	bool sh = cpu->vmx_nonroot;
	if (cpu->vmx->current == VMCS_NONE || (sh && shadow_vmcs(cpu) == VMCS_NONE)) {
		fail_invalid(cpu, i, enc);
		return;
	}
	bool high;
	int id = vmcs_field_lookup(enc, &high);
	if (id < 0 || (size == 8 && (reg_read(cpu, i->reg, 8) >> 32))) {
		fail(cpu, i, enc, VMERR_UNSUPPORTED_FIELD);
		return;
	}
	uint64_t value = cpu->vmx->f[id];
	if (sh) /* non-root operation: the shadow VMCS's region (24.10) */
		physmem_read(cpu->mem, shadow_vmcs(cpu) + VMCS_REGION_FIELDS + 8 * (uint64_t)id,
			     &value, 8);
	if (high)
		value >>= 32;
	if (i->flags & I_MEM)
		cpu_write(cpu, i->seg, insn_ea(cpu, i), value, size);
	else
		reg_write(cpu, i->rm, size, value);
	succeed(cpu, i, enc);
}

/* VMWRITE r, r/m: read-only (exit-information) fields fail with 13. */
void
op_vmwrite(struct cpu *cpu, const struct insn *i)
{
	vmx_insn_prologue(cpu, i);
	unsigned size = cpu->code_size == 8 ? 8 : 4;
	uint64_t value = rm_read(cpu, i, size);
	uint32_t enc = (uint32_t)reg_read(cpu, i->reg, size);
	bool sh = cpu->vmx_nonroot;
	if (cpu->vmx->current == VMCS_NONE || (sh && shadow_vmcs(cpu) == VMCS_NONE)) {
		fail_invalid(cpu, i, enc);
		return;
	}
	bool high;
	int id = vmcs_field_lookup(enc, &high);
	if (id < 0 || (size == 8 && (reg_read(cpu, i->reg, 8) >> 32))) {
		fail(cpu, i, enc, VMERR_UNSUPPORTED_FIELD);
		return;
	}
	if (vmcs_enc_type(enc) == VMCS_T_EXITINFO) {
		fail(cpu, i, enc, VMERR_VMWRITE_READONLY);
		return;
	}
	uint64_t sv = 0, *f = &cpu->vmx->f[id];
	uint64_t sa = shadow_vmcs(cpu) + VMCS_REGION_FIELDS + 8 * (uint64_t)id;
	if (sh) { /* non-root operation: the shadow VMCS's region (24.10) */
		physmem_read(cpu->mem, sa, &sv, 8);
		f = &sv;
	}
	if (high) /* bits 63:32 of a 64-bit field */
		*f = (*f & 0xffffffffull) | (value << 32);
	else
		*f = value & vmcs_width_mask(vmcs_enc_width(enc));
	if (sh) {
		physmem_write(cpu->mem, sa, &sv, 8);
	} else {
		struct vmx *v = cpu->vmx;
		if (v->written_vmcs != v->current) {
			memset(v->written, 0, sizeof(v->written));
			v->written_vmcs = v->current;
		}
		v->written[id / 64] |= 1ull << (id % 64);
	}
	succeed(cpu, i, enc);
}

const char *
vmx_written_fields(struct cpu *cpu)
{
	static char buf[8192];
	struct vmx *v = cpu->vmx;
	size_t at = 0;
	buf[0] = 0;
	if (v->written_vmcs == v->current && tracer_wants(cpu->tracer, TRACE_CAT_VMX)) {
		for (unsigned id = 0; id < VMCS_FIELD_COUNT; id++) {
			if (!((v->written[id / 64] >> (id % 64)) & 1) || at >= sizeof(buf) - 64)
				continue;
			at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%s=%" PRIx64,
					       at ? " " : "", vmcs_fields[id].name, v->f[id]);
		}
	}
	memset(v->written, 0, sizeof(v->written));
	return buf;
}

/* VMLAUNCH/VMRESUME (30.3): the launch state, MOV SS blocking, then VM entry. */
static void
launch_or_resume(struct cpu *cpu, const struct insn *i, bool launch)
{
	vmx_insn_prologue(cpu, i);
	struct vmx *v = cpu->vmx;
	if (v->current == VMCS_NONE || v->current_shadow) { /* no entry with a shadow VMCS */
		fail_invalid(cpu, i, 0);
		return;
	}
	if (cpu->state.intr_shadow == 2) {
		fail(cpu, i, v->current, VMERR_ENTRY_MOV_SS);
		return;
	}
	if (launch && v->launched) {
		fail(cpu, i, v->current, VMERR_VMLAUNCH_NOT_CLEAR);
		return;
	}
	if (!launch && !v->launched) {
		fail(cpu, i, v->current, VMERR_VMRESUME_NOT_LAUNCHED);
		return;
	}
	struct vmx_check_result r = vmx_check_controls(cpu);
	if (!r.check)
		r = vmx_check_host(cpu);
	if (r.check) {
		trace_vmentry(cpu->tracer, cpu, launch, false, r.check, 0, 0,
			      vmx_written_fields(cpu));
		fail(cpu, i, v->current, r.error);
		return;
	}
	trace_vmx_insn(cpu->tracer, cpu, insn_mnemonic[i->id], v->current, TRACE_VMXO_ENTRY, 0);
	vmx_enter(cpu, launch);
}

void
op_vmlaunch(struct cpu *cpu, const struct insn *i)
{
	launch_or_resume(cpu, i, true);
}

void
op_vmresume(struct cpu *cpu, const struct insn *i)
{
	launch_or_resume(cpu, i, false);
}

/*
 * INVVPID r, m128 (30.3, INVVPID): the type in the register (64 bits in 64-bit
 * mode, 32 elsewhere), the descriptor in memory: the VPID in bits 15:0, bits
 * 63:16 reserved, a linear address in 127:64. An unsupported type, reserved
 * bits, VPID 0 for every type but all-context (2), or a non-canonical address
 * for individual-address (0) is VMfail(28). fugu keeps no translation across
 * VM entry and exit, so every type flushes the whole TLB (caps.c).
 */
void
op_invvpid(struct cpu *cpu, const struct insn *i)
{
	vmx_insn_prologue(cpu, i);
	uint64_t type = reg_read(cpu, i->reg, cpu->code_size == 8 ? 8 : 4);
	uint64_t ea = insn_ea(cpu, i);
	uint64_t lo = cpu_read(cpu, i->seg, ea, 8);
	uint64_t hi = cpu_read(cpu, i->seg, (ea + 8) & addr_mask(i->adsize), 8);
	if (type > 3 || (lo >> 16) || (type != 2 && (lo & 0xffff) == 0) ||
	    (type == 0 && !is_canonical(hi))) {
		fail(cpu, i, type, VMERR_INVALID_OPERAND);
		return;
	}
	tlb_flush_all(&cpu->tlb);
	cpu_trace_tlb_flush(cpu, TRACE_FLUSH_ALL, lo & 0xffff, "invvpid");
	succeed(cpu, i, type);
}

/*
 * INVEPT r, m128 (30.3, INVEPT): the type in the register, the EPT pointer in
 * bits 63:0 of the descriptor. Types 1 (single-context; its EPT pointer must
 * pass VM entry's check) and 2 (global) are supported (IA32_VMX_EPT_VPID_CAP
 * bits 25, 26); anything else is VMfail(28). fugu caches EPT translations
 * only in the TLB, whole: both types flush it all (ept.c).
 */
void
op_invept(struct cpu *cpu, const struct insn *i)
{
	vmx_insn_prologue(cpu, i);
	uint64_t type = reg_read(cpu, i->reg, cpu->code_size == 8 ? 8 : 4);
	uint64_t ea = insn_ea(cpu, i);
	uint64_t eptp = cpu_read(cpu, i->seg, ea, 8);
	(void)cpu_read(cpu, i->seg, (ea + 8) & addr_mask(i->adsize), 8); /* the 16-byte operand */
	if ((type != 1 && type != 2) || (type == 1 && !vmx_eptp_ok(cpu, eptp))) {
		fail(cpu, i, type, VMERR_INVALID_OPERAND);
		return;
	}
	tlb_flush_all(&cpu->tlb);
	cpu_trace_tlb_flush(cpu, TRACE_FLUSH_ALL, type == 1 ? eptp : 0, "invept");
	succeed(cpu, i, type);
}

/* VMCALL: outside VMX operation #UD; in non-root operation a VM exit, even
 * from real mode (an unrestricted guest: VMCALL alone does not check CR0.PE,
 * 30.3); then #UD in virtual-8086 and compatibility mode, #GP(0) above CPL 0;
 * in root operation VMfail(1), since there is no dual-monitor treatment of
 * SMIs. */
void
op_vmcall(struct cpu *cpu, const struct insn *i)
{
	if (!cpu->vmx || !cpu->vmx->on)
		cpu_ud(cpu);
	if (cpu->vmx_nonroot)
		vmx_intercept(cpu, i);
	vmx_insn_prologue(cpu, i);
	fail(cpu, i, 0, VMERR_VMCALL_IN_ROOT);
}

bool
vmx_level_state(const struct cpu *cpu, bool l2, struct cpu_state *out,
		bool avail[STATE_FIELD_COUNT])
{
	const struct vmx *v = cpu->vmx;
	if (!v || !v->on || v->current == VMCS_NONE || l2 == cpu->vmx_nonroot)
		return false;
	const uint64_t *f = v->f;
	enum vmcs_type want = l2 ? VMCS_T_GUEST : VMCS_T_HOST;
	for (unsigned k = 0; k < VMCS_FIELD_COUNT; k++) {
		const struct vmcs_field *vf = &vmcs_fields[k];
		/* a VM_NONE row with a state field stands for that register (CRs,
		 * RIP, RSP, RFLAGS, DR7, EFER, PAT); 0 marks rows with no register */
		if (vmcs_enc_type(vf->enc) != want || !vf->state)
			continue;
		uint64_t value = f[k];
		if (vf->map == VM_AR) {
			uint16_t attr = vmcs_attr_from_ar((uint32_t)value);
			if (value & VMCS_AR_UNUSABLE)
				attr &= ~SEG_ATTR_P;
			value = attr;
		}
		state_set(out, vf->state, value);
		avail[vf->state] = true;
	}
	if (l2)
		out->cpl = (uint8_t)((f[VMCS_GUEST_SS_AR] >> 5) & 3);
	else
		out->cpl = 0; /* a VM exit returns to CPL 0 (27.5.2) */
	return true;
}

void
vmx_dump(const struct cpu *cpu, FILE *f)
{
	const struct vmx *v = cpu->vmx;
	if (!v) {
		fprintf(f, "VMX: not in this CPU model\n");
		return;
	}
	fprintf(f, "VMX operation: %s\n", !v->on ? "off" : cpu->vmx_nonroot ? "non-root" : "root");
	if (!v->on)
		return;
	fprintf(f, "VMXON region: %#" PRIx64 "\n", v->vmxon_ptr);
	if (v->current == VMCS_NONE) {
		fprintf(f, "current VMCS: none\n");
		return;
	}
	fprintf(f, "current VMCS: %#" PRIx64 " (%s)\n", v->current,
		v->launched ? "launched" : "clear");
	for (unsigned k = 0; k < VMCS_FIELD_COUNT; k++)
		if (vmcs_fields[k].cap == VC_ALL)
			fprintf(f, "  %-26s %#" PRIx64 "\n", vmcs_fields[k].name, v->f[k]);
}
