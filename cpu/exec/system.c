/*
 * fugu — system instructions: HLT, PAUSE, CPUID, RDTSC/RDTSCP, group 7 (SGDT
 * SIDT LGDT LIDT SMSW LMSW INVLPG SWAPGS), MOV to/from control and debug
 * registers, CLTS, INVD/WBINVD, RDMSR/WRMSR, RDPMC, INVPCID: the instructions
 * with an intercept class (cpu/insn_ids.h), each its own handler.
 */
#include "cpu/exec/exec.h"
#include "cpu/exec/simd.h"
#include "trace/events.h"
#include "cpu/msr.h"
#include "cpu/translate.h"
#include "mmu/paging.h"
#include "cpu/vmx/vmx.h"

#define CPUID_1_EDX_APIC (1u << 9) /* CPUID.1:EDX.APIC (SDM vol. 2A, CPUID, table 3-11) */

static void
require_cpl0(struct cpu *cpu)
{
	if (!cpu_real_mode(cpu) && (cpu->state.cpl != 0 || cpu_v86(cpu)))
		cpu_gp0(cpu);
}

void
op_hlt(struct cpu *cpu, const struct insn *i)
{
	require_cpl0(cpu);
	VMX_DOOR(cpu, i);
	cpu->state.halted = true;
	cpu->stop_trace = true;
}

void
op_clts(struct cpu *cpu, const struct insn *i)
{
	require_cpl0(cpu);
	VMX_DOOR(cpu, i);
	uint64_t cr0 = cpu->state.cr0 & ~(uint64_t)CR0_TS;
	if (cpu->vmx_nonroot) /* a host-owned TS keeps its value (vol. 3C, 25.3) */
		cr0 = vmx_cr_write(cpu, 0, cr0);
	struct control_regs ctl = { cr0, cpu->state.cr3, cpu->state.cr4, cpu->state.efer };
	cpu_load_control(cpu, &ctl, 0, "clts"); /* TS changes no translation: cannot fail */
}

void
op_invd(struct cpu *cpu, const struct insn *i)
{
	require_cpl0(cpu); /* caches are not modelled: nothing else to do */
	VMX_DOOR(cpu, i);  /* INVD always exits, WBINVD with WBINVD exiting */
}

/* PAUSE (F3 90): a spin-loop hint. With several CPUs interleaved on one host
 * thread, a spinning CPU gives the rest of its slice to the others (the lock
 * holder), deterministically (docs/ARCHITECTURE.md, "Several CPUs"). */
void
op_pause(struct cpu *cpu, const struct insn *i)
{
	VMX_DOOR(cpu, i);
	if (cpu->sibling != cpu)
		cpu_raise_events(cpu, EV_STOP);
}

void
op_cpuid(struct cpu *cpu, const struct insn *i)
{
	VMX_DOOR(cpu, i); /* CPUID always exits in non-root operation (vol. 3C, 25.1.2) */
	uint32_t r[4], leaf = (uint32_t)cpu->state.gpr[R_AX],
		       subleaf = (uint32_t)cpu->state.gpr[R_CX];
	/* IA32_MISC_ENABLE.LCMV (bit 22): the basic leaves stop at 2 (SDM vol. 4,
	 * table 2-2: "Limit CPUID Maxval"); a leaf above it reads as leaf 2. */
	bool lcmv = (cpu->state.msr.misc_enable & (1ull << 22)) && cpu->features.max_leaf > 2;
	uint32_t q = lcmv && leaf > 2 && leaf < 0x80000000u ? 2 : leaf;
	cpu_features_cpuid(&cpu->features, q, subleaf, r);
	if (lcmv && q == 0)
		r[0] = 2;
	if (q == 1) {
		msr_cpuid_signature(cpu);
		r[1] |= cpu->apic_id << 24; /* EBX[31:24]: initial APIC ID (vol. 2A, CPUID) */
	}
	/* CPUID.01H:ECX.OSXSAVE[bit 27] reflects CR4.OSXSAVE (vol. 2A, CPUID). */
	if (q == 1 && (cpu->state.cr4 & CR4_OSXSAVE))
		r[2] |= 1u << 27;
	/* CPUID.0DH.0:EBX is the size of the XSAVE area for the features XCR0
	 * enables now (vol. 2A, CPUID, leaf 0DH). */
	if (q == 0xd && subleaf == 0 && cpu_has(&cpu->features, FEAT_XSAVE))
		r[1] = cpu->state.xcr0 & XCR0_AVX ? XSAVE_AVX_OFFSET + 256 : XSAVE_AVX_OFFSET;
	/* CPUID.(EAX=0DH,ECX=1):EBX, with XSAVEC or XSAVES: the compacted size for
	 * XCR0 | IA32_XSS (IA32_XSS is always 0: msr.c). */
	if (q == 0xd && subleaf == 1 &&
	    (cpu_has(&cpu->features, FEAT_XSAVEC) || cpu_has(&cpu->features, FEAT_XSAVES)))
		r[1] = cpu_xsave_compacted_size(cpu->state.xcr0);
	/* While IA32_APIC_BASE.EN is 0 "the processor is functionally equivalent to
	 * an IA-32 processor without an on-chip APIC. The CPUID feature flag for the
	 * APIC ... is also set to 0" (SDM vol. 3A, 10.4.3). */
	if (q == 1 && (r[3] & CPUID_1_EDX_APIC) && cpu->bus.apic_msr_read) {
		uint64_t base;
		if (cpu->bus.apic_msr_read(cpu->bus.apic, MSR_APIC_BASE, &base) == 0 &&
		    !(base & (1u << 11)))
			r[3] &= ~CPUID_1_EDX_APIC;
	}
	trace_cpuid(cpu->tracer, cpu, leaf, subleaf, r[0], r[1], r[2], r[3]);
	reg_write(cpu, R_AX, 4, r[0]);
	reg_write(cpu, R_BX, 4, r[1]);
	reg_write(cpu, R_CX, 4, r[2]);
	reg_write(cpu, R_DX, 4, r[3]);
}

/* RDTSC: #GP(0) when CR4.TSD and CPL > 0 (SDM vol. 2B, RDTSC). */
void
op_rdtsc(struct cpu *cpu, const struct insn *i)
{
	if ((cpu->state.cr4 & (1u << 2)) && cpu->state.cpl > 0 && !cpu_real_mode(cpu))
		cpu_gp0(cpu);
	VMX_DOOR(cpu, i);
	uint64_t t = cpu_tsc(cpu);
	if (cpu->vmx_nonroot)
		t += vmx_tsc_offset(cpu); /* TSC offsetting (vol. 3C, 25.3) */
	reg_write(cpu, R_AX, 4, (uint32_t)t);
	reg_write(cpu, R_DX, 4, t >> 32);
}

/* RDTSCP (0F 01 F9): RDTSC, then ECX = IA32_TSC_AUX (SDM vol. 2B, RDTSCP). */
void
op_rdtscp(struct cpu *cpu, const struct insn *i)
{
	op_rdtsc(cpu, i);
	reg_write(cpu, R_CX, 4, cpu->state.msr.tsc_aux);
}

/*
 * 0F 01 (group 7), one handler per instruction. The register forms the table
 * does not name (or whose feature is missing) decode to #UD.
 */

/* SGDT/SIDT: with a 16-bit operand the 386+ stores 24 bits of base and a zero top byte. */
static void
store_dtr(struct cpu *cpu, const struct insn *i, const struct dtr *t)
{
	uint64_t ea = insn_ea(cpu, i);
	unsigned base_size = cpu->code_size == 8 ? 8 : 4;
	VMX_DOOR(cpu, i); /* descriptor-table exiting */
	uint64_t base = t->base;
	if (base_size == 4 && i->opsize == 2)
		base &= 0xffffff;
	cpu_probe_write(cpu, i->seg, ea, 2 + base_size);
	cpu_write(cpu, i->seg, ea, t->limit, 2);
	cpu_write(cpu, i->seg, (ea + 2) & addr_mask(i->adsize), base, base_size);
}

void
op_sgdt(struct cpu *cpu, const struct insn *i)
{
	store_dtr(cpu, i, &cpu->state.gdtr);
}

void
op_sidt(struct cpu *cpu, const struct insn *i)
{
	store_dtr(cpu, i, &cpu->state.idtr);
}

/* LGDT/LIDT: CPL 0; the 16-bit operand form loads 24 bits of base. In 64-bit
 * mode a non-canonical base is #GP(0) (SDM vol. 2A, LGDT/LIDT, 64-bit mode
 * exceptions: "the memory address is in a non-canonical form"), as on hardware;
 * nothing is loaded. */
static void
load_dtr(struct cpu *cpu, const struct insn *i, struct dtr *t)
{
	uint64_t ea = insn_ea(cpu, i);
	unsigned base_size = cpu->code_size == 8 ? 8 : 4;
	require_cpl0(cpu);
	VMX_DOOR(cpu, i);
	uint16_t limit = (uint16_t)cpu_read(cpu, i->seg, ea, 2);
	uint64_t base = cpu_read(cpu, i->seg, (ea + 2) & addr_mask(i->adsize), base_size);
	if (base_size == 4 && i->opsize == 2)
		base &= 0xffffff;
	if (base_size == 8 && !is_canonical(base))
		cpu_gp0(cpu);
	t->base = base;
	t->limit = limit;
}

void
op_lgdt(struct cpu *cpu, const struct insn *i)
{
	load_dtr(cpu, i, &cpu->state.gdtr);
}

void
op_lidt(struct cpu *cpu, const struct insn *i)
{
	load_dtr(cpu, i, &cpu->state.idtr);
}

/* SMSW: to a register the operand size applies; to memory 16 bits. */
void
op_smsw(struct cpu *cpu, const struct insn *i)
{
	uint64_t cr0 = cpu->state.cr0;
	if (cpu->vmx_nonroot) /* host-owned bits read from the CR0 read shadow (vol. 3C, 25.3) */
		cr0 = vmx_cr_read(cpu, 0, cr0);
	if (i->flags & I_MEM)
		cpu_write(cpu, i->seg, insn_ea(cpu, i), cr0 & 0xffff, 2);
	else
		reg_write(cpu, i->rm, i->opsize, cr0);
}

/* LMSW: loads PE MP EM TS; cannot clear PE (SDM vol. 2A, LMSW). */
void
op_lmsw(struct cpu *cpu, const struct insn *i)
{
	require_cpl0(cpu);
	VMX_DOOR(cpu, i);
	uint64_t v = rm_read(cpu, i, 2) & 0xf;
	uint64_t cr0 = (cpu->state.cr0 & ~0xeull) | v | (cpu->state.cr0 & CR0_PE);
	if (cpu->vmx_nonroot)
		cr0 = vmx_cr_write(cpu, 0, cr0);
	cpu_write_cr0(cpu, cr0);
}

/* INVLPG: no segment checks; a non-canonical address is a no-op (vol. 2A). */
void
op_invlpg(struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = insn_ea(cpu, i);
	require_cpl0(cpu);
	VMX_DOOR(cpu, i);
	if (cpu->code_size == 8)
		cpu_invlpg(cpu, ea + (i->seg >= S_FS ? cpu->state.seg[i->seg].base : 0));
	else
		cpu_invlpg(cpu, (cpu->state.seg[i->seg].base + ea) & 0xffffffffull);
}

/* SWAPGS (0F 01 F8): 64-bit mode only, CPL 0 (SDM vol. 2B, SWAPGS). */
void
op_swapgs(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	if (cpu->code_size != 8)
		cpu_ud(cpu);
	require_cpl0(cpu);
	uint64_t t = cpu->state.seg[S_GS].base;
	cpu->state.seg[S_GS].base = cpu->state.msr.kernel_gs_base;
	cpu->state.msr.kernel_gs_base = t;
}

/*
 * CLAC/STAC clear/set EFLAGS.AC. #UD at CPL > 0 and in virtual-8086 mode (where
 * CPL is 3); the decoder gives #UD without SMAP (SDM vol. 2A, CLAC; vol. 2B, STAC).
 */
static void
set_ac(struct cpu *cpu, bool on)
{
	if (cpu_v86(cpu) || cpu->state.cpl != 0)
		cpu_ud(cpu);
	if (on)
		cpu->state.rflags |= F_AC;
	else
		cpu->state.rflags &= ~(uint64_t)F_AC;
}

void
op_clac(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	set_ac(cpu, false);
}

void
op_stac(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	set_ac(cpu, true);
}

/* MOV r, CRn / MOV CRn, r: the register operand is always the r/m field; the
 * operand size is 32 bits outside 64-bit mode (SDM vol. 2B, MOV-Control Registers). */
static unsigned
cr_number(struct cpu *cpu, const struct insn *i)
{
	unsigned n = i->reg;
	if ((i->flags & I_LOCK) && cpu->code_size != 8)
		n |= 8; /* AMD's alternative encoding of CR8 (LOCK MOV CR0) is not a feature here */
	if (n != 0 && n != 2 && n != 3 && n != 4 && n != 8)
		cpu_ud(cpu);
	if (n == 8 && cpu->code_size != 8)
		cpu_ud(cpu);
	return n;
}

void
op_mov_r_cr(struct cpu *cpu, const struct insn *i)
{
	unsigned n = cr_number(cpu, i);
	require_cpl0(cpu);
	VMX_DOOR(cpu, i);
	uint64_t v = n == 0   ? cpu->state.cr0
		     : n == 2 ? cpu->state.cr2
		     : n == 3 ? cpu->state.cr3
		     : n == 4 ? cpu->state.cr4
			      : cpu->state.cr8;
	if (n == 8 && cpu->vmx_nonroot && vmx_tpr_shadow(cpu))
		v = vmx_cr8_read(cpu); /* the TPR shadow (vol. 3C, 29.3) */
	else if (n == 8 && cpu->bus.apic_get_cr8)
		v = cpu->bus.apic_get_cr8(
			cpu->bus.apic); /* CR8 is TPR[7:4] (SDM vol. 3A, 10.8.6.1) */
	if (cpu->vmx_nonroot && (n == 0 || n == 4))
		v = vmx_cr_read(cpu, n, v);
	reg_write(cpu, i->rm, cpu->code_size == 8 ? 8 : 4, v);
}

void
op_mov_cr_r(struct cpu *cpu, const struct insn *i)
{
	unsigned n = cr_number(cpu, i);
	require_cpl0(cpu);
	VMX_DOOR(cpu, i);
	uint64_t v = reg_read(cpu, i->rm, cpu->code_size == 8 ? 8 : 4);
	if (cpu->vmx_nonroot && (n == 0 || n == 4))
		v = vmx_cr_write(cpu, n, v); /* host-owned bits keep their value (vol. 3C, 25.3) */
	switch (n) {
	case 0: cpu_write_cr0(cpu, v); break;
	case 2: cpu->state.cr2 = v; break;
	case 3: cpu_write_cr3(cpu, v); break;
	case 4: cpu_write_cr4(cpu, v); break;
	default:
		if (v & ~0xfull)
			cpu_gp0(cpu);
		if (cpu->vmx_nonroot && vmx_tpr_shadow(cpu)) {
			vmx_cr8_write(cpu, v); /* the TPR shadow (vol. 3C, 29.3) */
			break;
		}
		cpu->state.cr8 = v;
		if (cpu->bus.apic_set_cr8)
			cpu->bus.apic_set_cr8(cpu->bus.apic, (uint8_t)v);
		break;
	}
}

/*
 * DR7.GD: any MOV to or from a debug register raises #DB (a fault) with DR6.BD,
 * and GD is cleared so the handler can use the registers (SDM vol. 3A, 17.2.4).
 * In non-root operation a #DB that exits by the exception bitmap changes
 * neither DR6 nor DR7.GD: BD is in the exit qualification (vol. 3C, 27.1,
 * 27.2.1), and the saved RF is 1 as the fault would push it (27.3.3).
 */
static void
dr_general_detect(struct cpu *cpu)
{
	if (cpu->state.dr[7] & DR7_GD) {
		if (__builtin_expect(cpu->vmx_nonroot, 0)) {
			uint64_t rf = cpu->state.rflags & F_RF;
			cpu->state.rflags |= F_RF;
			vmx_debug_exception(cpu, DR6_BD); /* returns when it does not exit */
			cpu->state.rflags = (cpu->state.rflags & ~(uint64_t)F_RF) | rf;
		}
		cpu->state.dr[6] |= DR6_BD;
		cpu->state.dr[7] &= ~(uint64_t)DR7_GD;
		cpu_fault(cpu, EXC_DB, NO_ERRCODE);
	}
}

void
op_mov_r_dr(struct cpu *cpu, const struct insn *i)
{
	require_cpl0(cpu);
	unsigned n = i->reg;
	if (n > 7)
		cpu_ud(cpu);
	if ((n == 4 || n == 5) && (cpu->state.cr4 & (1u << 3)))
		cpu_ud(cpu); /* CR4.DE: DR4/DR5 are reserved */
	VMX_DOOR(cpu, i);
	dr_general_detect(cpu);
	if (n == 4 || n == 5)
		n += 2;
	reg_write(cpu, i->rm, cpu->code_size == 8 ? 8 : 4, cpu->state.dr[n]);
}

void
op_mov_dr_r(struct cpu *cpu, const struct insn *i)
{
	require_cpl0(cpu);
	unsigned n = i->reg;
	if (n > 7)
		cpu_ud(cpu);
	if ((n == 4 || n == 5) && (cpu->state.cr4 & (1u << 3)))
		cpu_ud(cpu);
	VMX_DOOR(cpu, i);
	dr_general_detect(cpu);
	if (n == 4 || n == 5)
		n += 2;
	uint64_t v = reg_read(cpu, i->rm, cpu->code_size == 8 ? 8 : 4);
	if (n >= 6 && (v >> 32))
		cpu_gp0(cpu); /* bits 63:32 of DR6/DR7 must be zero (vol. 2B, MOV DR) */
	if (n == 6)
		v = (v & 0xf00f) | 0xffff0ff0; /* DR6 reserved bits read as 1 */
	else if (n == 7)
		v = (v & ~0xd800ull) | 0x400;
	cpu->state.dr[n] = v;
	if (n != 6)
		cpu_debug_update(cpu); /* breakpoints armed or disarmed */
}

void
op_rdmsr(struct cpu *cpu, const struct insn *i)
{
	require_cpl0(cpu);
	VMX_DOOR(cpu, i); /* the MSR bitmaps */
	uint32_t index = (uint32_t)cpu->state.gpr[R_CX];
	uint64_t v = 0;
	int rc = __builtin_expect(cpu->vmx_nonroot, 0) && vmx_x2apic_rdmsr(cpu, index, &v)
			 ? 0
			 : msr_read(cpu, index, &v);
	trace_rdmsr(cpu->tracer, cpu, index, v, rc ? TRACE_MSR_GP : TRACE_MSR_OK);
	if (rc != 0)
		cpu_gp0(cpu);
	reg_write(cpu, R_AX, 4, (uint32_t)v);
	reg_write(cpu, R_DX, 4, v >> 32);
}

void
op_wrmsr(struct cpu *cpu, const struct insn *i)
{
	require_cpl0(cpu);
	VMX_DOOR(cpu, i); /* the MSR bitmaps */
	uint32_t index = (uint32_t)cpu->state.gpr[R_CX];
	uint64_t v = (cpu->state.gpr[R_DX] << 32) | (uint32_t)cpu->state.gpr[R_AX];
	int rc = __builtin_expect(cpu->vmx_nonroot, 0) && vmx_x2apic_wrmsr(cpu, index, v)
			 ? 0
			 : msr_write(cpu, index, v);
	trace_wrmsr(cpu->tracer, cpu, index, v, rc ? TRACE_MSR_GP : TRACE_MSR_OK);
	if (rc != 0)
		cpu_gp0(cpu);
}

/*
 * RDPMC (SDM vol. 2B, RDPMC): #GP(0) unless CPL 0, real mode or CR4.PCE, and
 * for a counter the model does not have. The model has the two general
 * counters of the P6 family and no architectural performance monitoring
 * (no CPUID leaf 0AH); they count nothing and read 0.
 */
void
op_rdpmc(struct cpu *cpu, const struct insn *i)
{
	if (!cpu_real_mode(cpu) && !(cpu->state.cr4 & CR4_PCE) &&
	    (cpu->state.cpl != 0 || cpu_v86(cpu)))
		cpu_gp0(cpu);
	VMX_DOOR(cpu, i); /* before the counter check (vol. 3C, 25.1.3) */
	if ((uint32_t)cpu->state.gpr[R_CX] > 1)
		cpu_gp0(cpu);
	reg_write(cpu, R_AX, 4, 0);
	reg_write(cpu, R_DX, 4, 0);
}

/*
 * INVPCID r, m128 (66 0F 38 82; SDM vol. 2A, INVPCID): the register is 64 bits
 * in 64-bit mode, 32 elsewhere; #UD in virtual-8086 mode, #GP(0) above CPL 0.
 * The descriptor read can fault like any operand; cpu_invpcid checks the rest.
 */
void
op_invpcid(struct cpu *cpu, const struct insn *i)
{
	if (cpu_v86(cpu))
		cpu_ud(cpu);
	require_cpl0(cpu);
	VMX_DOOR(cpu, i);
	uint64_t type = reg_read(cpu, i->reg, cpu->code_size == 8 ? 8 : 4);
	uint64_t ea = insn_ea(cpu, i);
	uint64_t lo = cpu_read(cpu, i->seg, ea, 8);
	uint64_t hi = cpu_read(cpu, i->seg, (ea + 8) & addr_mask(i->adsize), 8);
	cpu_invpcid(cpu, type, lo, hi);
}

/* XGETBV (vol. 2C, XGETBV): #UD unless CR4.OSXSAVE; ECX = 0 reads XCR0; ECX
 * = 1 reads XCR0 AND XINUSE when CPUID.(EAX=0DH,ECX=1):EAX[2] (xgetbv1) is
 * reported; any other ECX is #GP(0). Any CPL. */
void
op_xgetbv(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	if (!(cpu->state.cr4 & CR4_OSXSAVE))
		cpu_ud(cpu);
	uint32_t ecx = (uint32_t)cpu->state.gpr[R_CX];
	uint64_t v = cpu->state.xcr0;
	if (ecx == 1 && cpu_has(&cpu->features, FEAT_XGETBV1))
		v &= simd_xinuse(cpu);
	else if (ecx != 0)
		cpu_gp0(cpu);
	reg_write(cpu, R_AX, 4, (uint32_t)v);
	reg_write(cpu, R_DX, 4, (uint32_t)(v >> 32));
}

/* XSETBV (vol. 2C, XSETBV; vol. 1, 13.3): #UD unless CR4.OSXSAVE, #GP(0) at
 * CPL > 0; in VMX non-root operation it then exits unconditionally (vol. 3C,
 * 25.1.2). #GP(0) for ECX != 0, XCR0[0] = 0, a bit the CPU does not support
 * (AVX only with the avx feature), or XCR0[2] set with XCR0[1] clear. */
void
op_xsetbv(struct cpu *cpu, const struct insn *i)
{
	if (!(cpu->state.cr4 & CR4_OSXSAVE))
		cpu_ud(cpu);
	require_cpl0(cpu);
	VMX_DOOR(cpu, i);
	uint64_t v = (uint32_t)cpu->state.gpr[R_AX] | cpu->state.gpr[R_DX] << 32;
	if ((uint32_t)cpu->state.gpr[R_CX] != 0 || !cpu_xcr0_valid(&cpu->features, v))
		cpu_gp0(cpu);
	cpu->state.xcr0 = v;
}
