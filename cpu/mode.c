/*
 * fugu — the mode gate: every write of CR0, CR3, CR4 and EFER goes through here.
 *
 * Two doors. The checked writes (cpu_write_cr0/cr3/cr4/efer) are MOV to CR and
 * WRMSR: they apply the SDM's #GP rules, then load. The unchecked load
 * (cpu_load_control) is what RSM, task switches, reset, and VM entry/exit use:
 * the caller has checked what the SDM says to check, and the load applies every
 * side effect in one place — PDPTE reload for PAE paging, TLB flushes,
 * EFER.LMA, the derived mode (code/stack size, CPL in real and V86 mode), and
 * ending the current decoded trace.
 */
#include "cpu/cpu_internal.h"
#include "cpu/translate.h"
#include "cpu/vmx/vmx.h"
#include "mmu/paging.h"

void
cpu_mode_update(struct cpu *cpu)
{
	cpu->long_mode = (cpu->state.efer & EFER_LMA) != 0;
	cpu->paging = (cpu->state.cr0 & CR0_PG) != 0;
	if (cpu->long_mode && (cpu->state.seg[S_CS].attr & SEG_ATTR_L))
		cpu->code_size = 8;
	else
		cpu->code_size = (cpu->state.seg[S_CS].attr & SEG_ATTR_DB) ? 4 : 2;
	if (cpu->code_size == 8)
		cpu->stack_size = 8;
	else
		cpu->stack_size = (cpu->state.seg[S_SS].attr & SEG_ATTR_DB) ? 4 : 2;
	if (cpu_v86(cpu))
		cpu->state.cpl = 3;
	else if (cpu_real_mode(cpu))
		cpu->state.cpl = 0;
}

/*
 * The control bits software may set, by register and CPU feature (SDM vol. 3A,
 * 2.5 for CR4, 2.2.1 for IA32_EFER; vol. 2A, CPUID feature flags). A bit whose
 * feature the model lacks is reserved: setting it is #GP(0).
 */
enum control_reg { CTL_REG_CR4, CTL_REG_EFER };

static const struct {
	uint8_t reg; /* enum control_reg */
	uint32_t bits;
	enum cpu_feature feat;
} writable_bits[] = {
	{ CTL_REG_CR4, CR4_VME | CR4_PVI, FEAT_VME },
	{ CTL_REG_CR4, CR4_TSD, FEAT_TSC },
	{ CTL_REG_CR4, CR4_DE, FEAT_DE },
	{ CTL_REG_CR4, CR4_PSE, FEAT_PSE },
	{ CTL_REG_CR4, CR4_PAE, FEAT_PAE },
	{ CTL_REG_CR4, CR4_MCE, FEAT_MCE },
	{ CTL_REG_CR4, CR4_PGE, FEAT_PGE },
	{ CTL_REG_CR4, CR4_PCE, FEAT_NONE },
	{ CTL_REG_CR4, CR4_OSFXSR, FEAT_FXSR },
	{ CTL_REG_CR4, CR4_OSXMMEXCPT, FEAT_SSE },
	{ CTL_REG_CR4, CR4_VMXE, FEAT_VMX },
	{ CTL_REG_CR4, CR4_FSGSBASE, FEAT_FSGSBASE },
	{ CTL_REG_CR4, CR4_PCIDE, FEAT_PCID },
	{ CTL_REG_CR4, CR4_OSXSAVE, FEAT_XSAVE },
	{ CTL_REG_CR4, CR4_SMEP, FEAT_SMEP },
	{ CTL_REG_CR4, CR4_SMAP, FEAT_SMAP },
	{ CTL_REG_CR4, CR4_PKE, FEAT_PKU },
	{ CTL_REG_EFER, EFER_SCE, FEAT_SYSCALL },
	{ CTL_REG_EFER, EFER_LME, FEAT_LM },
	{ CTL_REG_EFER, EFER_NXE, FEAT_NX },
};

static uint64_t
control_writable(const struct cpu *cpu, enum control_reg reg)
{
	uint64_t w = 0;
	for (size_t k = 0; k < sizeof(writable_bits) / sizeof(writable_bits[0]); k++)
		if (writable_bits[k].reg == reg && cpu_has(&cpu->features, writable_bits[k].feat))
			w |= writable_bits[k].bits;
	return w;
}

uint64_t
cpu_cr4_writable(const struct cpu *cpu)
{
	return control_writable(cpu, CTL_REG_CR4);
}

uint64_t
cpu_efer_writable(const struct cpu *cpu)
{
	return control_writable(cpu, CTL_REG_EFER);
}

/* Bits whose change invalidates every cached translation (SDM vol. 3A, 4.10.4.1;
 * the TLB also caches access decisions, so WP, SMAP and PKE count: mmu/tlb.h). */
#define CR0_FLUSH (CR0_PG | CR0_WP | CR0_PE)
#define CR4_FLUSH (CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCIDE | CR4_SMEP | CR4_SMAP | CR4_PKE)
#define EFER_FLUSH EFER_NXE /* XD becomes meaningful or reserved */
/* Bits whose change reloads the PDPTEs in PAE paging (4.4.1). */
#define CR0_PDPTE (CR0_PG | CR0_CD | CR0_NW)
#define CR4_PDPTE (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP)

bool
cpu_load_control(struct cpu *cpu, const struct control_regs *next, unsigned flags,
		 const char *cause)
{
	struct cpu_state *s = &cpu->state;
	uint64_t d0 = next->cr0 ^ s->cr0, d4 = next->cr4 ^ s->cr4, de = next->efer ^ s->efer;
	bool cr3_changed = next->cr3 != s->cr3;
	uint64_t pdpte[4];
	bool load = !(flags & CTL_NO_PDPTES) && mmu_legacy_pae(next->cr0, next->cr4, next->efer) &&
		    ((flags & CTL_LOAD_PDPTES) || cr3_changed || (d0 & CR0_PDPTE) ||
		     (d4 & CR4_PDPTE) || (de & EFER_LMA));
	if (load && !cpu_read_pdptes(cpu, next->cr3, pdpte))
		return false;
	s->cr0 = next->cr0;
	s->cr3 = next->cr3;
	s->cr4 = next->cr4;
	s->efer = next->efer;
	if (load)
		memcpy(s->pdpte, pdpte, sizeof(pdpte));
	if ((d0 & CR0_FLUSH) || (d4 & CR4_FLUSH) || (de & EFER_FLUSH) || (flags & CTL_FLUSH_ALL)) {
		tlb_flush_all(&cpu->tlb);
		uint64_t why = (d4 & CR4_FLUSH) ? s->cr4 : (de & EFER_FLUSH) ? s->efer : s->cr0;
		cpu_trace_tlb_flush(cpu, TRACE_FLUSH_ALL, why, cause);
	} else if ((cr3_changed || (flags & CTL_CR3_WRITTEN)) && !(flags & CTL_KEEP_TLB)) {
		tlb_flush_nonglobal(&cpu->tlb);
		cpu_trace_tlb_flush(cpu, TRACE_FLUSH_NONGLOBAL, s->cr3, cause);
	}
	cpu_mode_update(cpu);
	cpu->stop_trace = true;
	return true;
}

static struct control_regs
current_control(const struct cpu *cpu)
{
	return (struct control_regs){ cpu->state.cr0, cpu->state.cr3, cpu->state.cr4,
				      cpu->state.efer };
}

/*
 * MOV CR0 / LMSW (SDM vol. 3A, 2.5; vol. 2B, MOV-Control Registers, #GP
 * conditions). Setting PG with EFER.LME activates IA-32e mode (needs CR4.PAE);
 * clearing PG leaves it (#GP in 64-bit mode or with CR4.PCIDE) (vol. 3A, 9.8.5,
 * 4.10.1). Entering PAE paging, or changing CD/NW/PG in it, loads the PDPTEs
 * (4.4.1): an invalid one is #GP.
 */
void
cpu_write_cr0(struct cpu *cpu, uint64_t v)
{
	if (v >> 32)
		cpu_gp0(cpu);
	if ((v & CR0_PG) && !(v & CR0_PE))
		cpu_gp0(cpu);
	if ((v & CR0_NW) && !(v & CR0_CD))
		cpu_gp0(cpu);
	if (__builtin_expect(cpu->vmx != NULL, 0) && cpu->vmx->on && !vmx_cr_fixed_ok(cpu, 0, v))
		cpu_gp0(cpu); /* the fixed bits hold in VMX operation (SDM vol. 3C, 23.8) */
	v |= CR0_ET;          /* hardwired to 1 on P6 and later */
	struct control_regs next = current_control(cpu);
	uint64_t changed = v ^ next.cr0;
	if ((changed & CR0_PG) && (v & CR0_PG) && (next.efer & EFER_LME)) {
		if (!(next.cr4 & CR4_PAE))
			cpu_gp0(cpu);
		next.efer |= EFER_LMA;
	} else if ((changed & CR0_PG) && !(v & CR0_PG)) {
		if (cpu->code_size == 8 || (next.cr4 & CR4_PCIDE))
			cpu_gp0(cpu);
		next.efer &= ~EFER_LMA;
	}
	next.cr0 = v;
	if (!cpu_load_control(cpu, &next, 0, "mov-cr0"))
		cpu_gp0(cpu);
}

/*
 * MOV CR3 (SDM vol. 2B, MOV-Control Registers; vol. 3A, 4.10.4.1): bits above
 * MAXPHYADDR are #GP in IA-32e mode; outside it only the low 32 bits exist. In
 * PAE paging the PDPTEs load (an invalid one is #GP). With CR4.PCIDE, bit 63
 * asks to keep the new PCID's translations and is not stored; the TLB holds the
 * current PCID's entries only, so a switch to another PCID drops them anyway
 * (dropping is always allowed).
 */
void
cpu_write_cr3(struct cpu *cpu, uint64_t v)
{
	struct control_regs next = current_control(cpu);
	bool pcide = (next.cr4 & CR4_PCIDE) != 0;
	bool keep = false;
	if (next.efer & EFER_LMA) {
		if (pcide) {
			keep = v >> 63;
			v &= ~(1ull << 63);
		}
		if (v >> cpu->maxphyaddr)
			cpu_gp0(cpu);
	} else {
		v &= 0xffffffffull;
	}
	unsigned flags = CTL_LOAD_PDPTES | CTL_CR3_WRITTEN;
	if (pcide && keep && (next.cr3 & 0xfff) == (v & 0xfff))
		flags |= CTL_KEEP_TLB;
	next.cr3 = v;
	if (!cpu_load_control(cpu, &next, flags, "mov-cr3"))
		cpu_gp0(cpu);
}

/*
 * MOV CR4 (SDM vol. 2B, MOV-Control Registers): #GP(0) for bits the model lacks,
 * for clearing PAE in IA-32e mode, for setting PCIDE outside IA-32e mode or with
 * CR3[11:0] nonzero (vol. 3A, 4.10.1). Changing PAE/PGE/PSE/SMEP in PAE paging
 * reloads the PDPTEs (4.4.1).
 */
void
cpu_write_cr4(struct cpu *cpu, uint64_t v)
{
	if (v & ~cpu_cr4_writable(cpu))
		cpu_gp0(cpu);
	if (__builtin_expect(cpu->vmx != NULL, 0) && cpu->vmx->on && !vmx_cr_fixed_ok(cpu, 4, v))
		cpu_gp0(cpu); /* CR4.VMXE cannot be cleared in VMX operation (23.8) */
	struct control_regs next = current_control(cpu);
	bool lma = (next.efer & EFER_LMA) != 0;
	if (lma && !(v & CR4_PAE))
		cpu_gp0(cpu);
	if (((v ^ next.cr4) & v & CR4_PCIDE) && (!lma || (next.cr3 & 0xfff)))
		cpu_gp0(cpu);
	next.cr4 = v;
	if (!cpu_load_control(cpu, &next, 0, "mov-cr4"))
		cpu_gp0(cpu);
}

/*
 * WRMSR IA32_EFER (SDM vol. 3A, 2.2.1, 9.8.5): reserved bits and the bits of
 * absent features are #GP; LME cannot change while paging is on; LMA is
 * read-only (the written value's LMA is ignored). Returns -1 for #GP.
 */
int
cpu_write_efer(struct cpu *cpu, uint64_t v)
{
	struct control_regs next = current_control(cpu);
	if (v & ~(cpu_efer_writable(cpu) | EFER_LMA))
		return -1;
	if ((next.cr0 & CR0_PG) && ((v ^ next.efer) & EFER_LME))
		return -1;
	next.efer = (v & ~EFER_LMA) | (next.efer & EFER_LMA);
	return cpu_load_control(cpu, &next, 0, "wrmsr-efer") ? 0 : -1;
}
