/*
 * fugu — EPT, the extended page tables (SDM vol. 3C, 29.3): the second stage
 * of address translation in VMX non-root operation with "enable EPT". Every
 * guest-physical address the guest produces (its paging-structure entries, its
 * PDPTEs loaded by MOV CR3, the final address of each access, every linear
 * address when its paging is off) goes through ept_translate, called by the
 * MMU (mmu/paging.c) through struct mmu_stage2.
 *
 * What the walk does: 4 or 5 levels from the EPT pointer; 1 GiB pages (PDPTE bit 7)
 * and 2 MiB pages (PDE bit 7); read, write and execute (supervisor) rights,
 * the AND of every level; execute-only entries (IA32_VMX_EPT_VPID_CAP bit 0);
 * accessed and dirty flags when EPTP bit 6 is set, with guest paging-structure
 * accesses counted as writes (29.3.5): A on each non-leaf entry as the walk
 * follows it, A (and D) on the leaf only when the access is allowed; PML
 * (29.3.6); misconfigurations (29.3.3.1) found
 * anywhere on the walk take priority over violations (29.3.3.2), which are
 * decided from the whole walk.
 *
 * No EPT translation is cached apart from the combined linear-to-host-physical
 * entries of the TLB, which VM entry, VM exit and every INVEPT flush whole (so
 * no L1 translation serves L2 and none survives INVEPT; 29.4.3.1 permits more
 * invalidation than asked).
 */
#include "cpu/exec/exec.h"
#include "cpu/vmx/vmx_internal.h"
#include "cpu/translate.h"
#include "mmu/physmem.h"
#include "trace/events.h"

#define EPT_R 0x1ull
#define EPT_W 0x2ull
#define EPT_X 0x4ull
#define EPT_PS 0x80ull
#define EPT_A 0x100ull
#define EPT_D 0x200ull
#define EPT_SUPPRESS_VE (1ull << 63)
/* In the qualification ept_translate returns with "EPT-violation #VE" on: the
 * violation is convertible (the deciding entry's bit 63 is clear, 25.5.7.1).
 * Bit 63 is not part of an exit qualification: vmx_ept_exit removes it. */
#define QUAL_CONVERTIBLE (1ull << 63)

/* EPT pointer (24.6.11): memory type 2:0 (UC 0 or WB 6, the types
 * IA32_VMX_EPT_VPID_CAP reports), page-walk length - 1 in 5:3 (3: four levels,
 * 4: five, both reported), A/D enable 6, reserved 11:7 and 63:MAXPHYADDR. */
bool
vmx_eptp_ok(const struct cpu *cpu, uint64_t eptp)
{
	unsigned type = eptp & 7;
	if (type != 0 && type != 6)
		return false;
	unsigned pwl = (eptp >> 3) & 7;
	if (pwl != 3 && pwl != 4)
		return false;
	return !(eptp & 0xf80) && !(eptp >> cpu->maxphyaddr);
}

/* Set A (and D) in an EPT entry: a locked OR of the byte holding bits 15:8, as
 * the processor does (29.3.5). The EPT tables are in host-physical memory. */
static void
set_flags(struct cpu *cpu, uint64_t epa, uint64_t e, uint64_t bits)
{
	if ((e & bits) == bits)
		return;
	uint8_t b = (uint8_t)physmem_read_sized(cpu->mem, epa + 1, 1);
	physmem_write_sized(cpu->mem, epa + 1, b | (uint8_t)(bits >> 8), 1);
}

static enum mmu_s2_status
ept_translate(void *opaque, const struct mmu_s2_access *a, uint64_t *pa, uint64_t *qual)
{
	struct cpu *cpu = opaque;
	uint64_t eptp = cpu->vmx->f[VMCS_EPT_POINTER];
	bool ad = (eptp & 0x40) != 0;
	unsigned m = cpu->maxphyaddr;
	uint64_t addr = ((1ull << m) - 1) & ~0xfffull;
	uint64_t rsvd_hi = ((1ull << 52) - 1) & ~((1ull << m) - 1); /* 51:M */
	/* With EPT A/D, guest paging-structure accesses are writes (29.3.5):
	 * a violation then reports both read and write (table 28-7). */
	bool write = a->kind == TLB_WRITE || (ad && a->paging_structure);
	bool read = a->kind == TLB_READ || (ad && a->paging_structure);
	bool fetch = a->kind == TLB_EXEC;
	uint64_t gpa = a->gpa;
	uint64_t table = eptp & addr;
	uint64_t rights = EPT_R | EPT_W | EPT_X;
	bool effects = ad && a->effects == MMU_EFFECTS; /* A/D for the processor's accesses */
	uint64_t leaf = 0, leaf_pa = 0, page_mask = 0;
	uint64_t deciding = 0; /* the not-present entry, or the leaf (#VE, 25.5.7.1) */
	bool present = true;
	/* Four or five levels (the EPTP's page-walk length); with five, the
	 * PML5E's index is bits 56:48 (29.3.2). */
	for (unsigned level = ((eptp >> 3) & 7) + 1;; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		uint64_t epa = table + (((gpa >> shift) & 0x1ff) << 3);
		uint64_t e = physmem_read_sized(cpu->mem, epa, 8);
		if (!(e & 7)) { /* not present: a violation, rights 0 (28.3.3.2) */
			rights = 0;
			present = false;
			deciding = e;
			break;
		}
		/* Misconfigurations (29.3.3.1): write without read; reserved bits;
		 * a leaf's memory type 2, 3 or 7. Execute-only is supported. */
		if ((e & (EPT_R | EPT_W)) == EPT_W || (e & rsvd_hi))
			goto misconfig;
		bool leaf_here = level == 1 || (level <= 3 && (e & EPT_PS));
		if (level >= 4 && (e & 0xf8))
			goto misconfig; /* PML5E and PML4E bits 7:3 */
		if (!leaf_here && (e & 0xf8))
			goto misconfig; /* non-leaf PDPTE/PDE bits 7:3 */
		if (leaf_here) {
			unsigned mt = (e >> 3) & 7;
			if (mt == 2 || mt == 3 || mt == 7)
				goto misconfig;
			page_mask = (1ull << shift) - 1;
			if (e & addr & page_mask)
				goto misconfig; /* 29:12 of a 1 GiB page, 20:12 of a 2 MiB page */
		}
		rights &= e & 7;
		if (leaf_here) {
			leaf = deciding = e;
			leaf_pa = epa;
			break;
		}
		/* A non-leaf entry is used once the walk follows it: its accessed
		 * flag is set then, whatever the walk finds below (29.3.5; stage 1
		 * does the same, 4.8), after the PML index is checked (29.3.6). */
		if (effects && !(e & EPT_A)) {
			if (cpu->vmx->pml_on && cpu->vmx->f[VMCS_GUEST_PML_INDEX] > 511)
				goto pml_full;
			set_flags(cpu, epa, e, EPT_A);
		}
		table = e & addr;
	}
	if (!present || (read && !(rights & EPT_R)) || (write && !(rights & EPT_W)) ||
	    (fetch && !(rights & EPT_X))) {
		/* Exit qualification (table 28-7): the access, the rights of the
		 * translation, whether a linear address is known and whether this was
		 * its translation or a paging-structure access. */
		uint64_t q = (read ? 1u : 0) | (write ? 2u : 0) | (fetch ? 4u : 0) | rights << 3;
		if (a->lin_valid)
			q |= 0x80 | (a->paging_structure ? 0 : 0x100);
		if (cpu->vmx->ve_on && !(deciding & EPT_SUPPRESS_VE))
			q |= QUAL_CONVERTIBLE;
		*qual = q;
		return MMU_S2_VIOLATION;
	}
	/* The leaf's accessed flag, and its dirty flag for a write (29.3.5),
	 * only for an access that is allowed; not for probes. */
	if (effects) {
		/* PML (29.3.6): when an accessed or dirty flag must be set, the PML
		 * index is examined first: outside 0-511 it is a log-full event,
		 * no flag is set and the access does not happen. A dirty flag going
		 * from 0 to 1 then logs the 4 KiB aligned guest-physical address at
		 * PML address + 8 * index, and the index is decremented. */
		bool dirty = write && !(leaf & EPT_D);
		if ((dirty || !(leaf & EPT_A)) && cpu->vmx->pml_on) {
			uint64_t *idx = &cpu->vmx->f[VMCS_GUEST_PML_INDEX];
			if (*idx > 511)
				goto pml_full;
			if (dirty) {
				physmem_write_sized(cpu->mem, cpu->vmx->f[VMCS_PML_ADDR] + 8 * *idx,
						    gpa & ~0xfffull, 8);
				*idx = (*idx - 1) & 0xffff;
			}
		}
		set_flags(cpu, leaf_pa, leaf, EPT_A | (write ? EPT_D : 0));
	}
	*pa = (leaf & addr & ~page_mask) | (gpa & page_mask);
	/* A guest-physical access (29.4.6.1): with EPT, the processor's accesses
	 * to guest paging structures (and PDPTE loads) whose address translates
	 * to the APIC-access page are APIC-access VM exits, never virtualized;
	 * the page's memory is not read or written. The translation itself is
	 * done (its EPT A/D flags set) before the access is seen to hit it. */
	if (a->paging_structure && vmx_apic_page(cpu->vmx, *pa)) {
		*qual = 0;
		return MMU_S2_APIC_ACCESS;
	}
	return MMU_S2_OK;
misconfig:
	*qual = 0;
	return MMU_S2_MISCONFIG;
pml_full:
	*qual = 0;
	return MMU_S2_PML_FULL;
}

void
vmx_ept_enter(struct cpu *cpu)
{
	struct vmx *v = cpu->vmx;
	v->ept_on = (v->f[VMCS_PROC_CTLS] & PROC_SECONDARY) && (v->f[VMCS_PROC_CTLS2] & PROC2_EPT);
	v->pml_on = v->ept_on && (v->f[VMCS_PROC_CTLS2] & PROC2_PML);
	v->ve_on = v->ept_on && (v->f[VMCS_PROC_CTLS2] & PROC2_EPT_VE);
}

void
vmx_ept_init(struct cpu *cpu)
{
	cpu->vmx_ept = (struct mmu_stage2){ .translate = ept_translate, .opaque = cpu };
}

_Noreturn void
vmx_ept_fault(struct cpu *cpu, const struct mmu_fault *f)
{
	struct vmx *v = cpu->vmx;
	v->ept_gpa = f->gpa;
	v->ept_lin = f->lin;
	v->ept_qual = f->qualification;
	v->ept_misconfig = f->misconfig;
	v->ept_pml_full = f->pml_full;
	v->ept_apic_access = f->apic_access;
	cpu_fault(cpu, VMX_FAULT_EPT, 0);
}

/*
 * A convertible EPT violation is a virtualization exception instead of a VM
 * exit when CR0.PE is 1, no event is being delivered through the IDT and the
 * 32 bits at offset 4 of the virtualization-exception information area are 0
 * (25.5.7.1). The area then gets (table 25-1): the exit reason 48 (bytes
 * 0-3), FFFFFFFFH (4-7: no other #VE until software clears it), the exit
 * qualification (8-15), the guest-linear address (16-23; 0 when the
 * qualification has no linear address), the guest-physical address (24-31)
 * and the EPTP index (32-33).
 */
static bool
ept_ve(struct cpu *cpu)
{
	struct vmx *v = cpu->vmx;
	if (v->ept_misconfig || v->ept_pml_full || v->ept_apic_access ||
	    !(v->ept_qual & QUAL_CONVERTIBLE) || !(cpu->state.cr0 & CR0_PE) || v->vectoring)
		return false;
	uint64_t area = v->f[VMCS_VE_INFO_ADDR];
	if (physmem_read_sized(cpu->mem, area + 4, 4) != 0)
		return false;
	uint64_t qual = v->ept_qual & ~QUAL_CONVERTIBLE;
	physmem_write_sized(cpu->mem, area, VMX_EXIT_EPT_VIOLATION, 4);
	physmem_write_sized(cpu->mem, area + 4, 0xffffffffu, 4);
	physmem_write_sized(cpu->mem, area + 8, qual, 8);
	physmem_write_sized(cpu->mem, area + 16, (qual & 0x80) ? v->ept_lin : 0, 8);
	physmem_write_sized(cpu->mem, area + 24, v->ept_gpa, 8);
	physmem_write_sized(cpu->mem, area + 32, v->f[VMCS_EPTP_INDEX] & 0xffff, 2);
	return true;
}

void
vmx_ept_exit(struct cpu *cpu)
{
	struct vmx *v = cpu->vmx;
	if (ept_ve(cpu))
		return; /* the caller delivers #VE, a fault at the instruction */
	v->ept_qual &= ~QUAL_CONVERTIBLE;
	/* An APIC-access exit for a guest-physical access (27.2.1, table 27-6):
	 * access type 10 during event delivery (the IDT-vectoring information
	 * then valid), else 15; bits 11:0 are undefined: fugu reports the offset
	 * of the entry in the page. No guest-physical or guest-linear address. */
	if (v->ept_apic_access)
		vmx_exit(cpu, VMX_EXIT_APIC_ACCESS,
			 (v->vectoring ? 10u : 15u) << 12 | (v->ept_gpa & 0xfff), 0, 0);
	/* During an IRET that unblocked NMIs: bit 12 of an EPT violation's or a
	 * PML-full exit's qualification, and the saved state shows them
	 * unblocked, as the IRET left them (28.2.3); not while delivering an
	 * event (the IDT-vectoring information covers that). */
	uint64_t nmi_unblock = 0;
	if (!v->ept_misconfig && v->in_iret && !v->vectoring && vmx_iret_unblocks(cpu) &&
	    cpu->state.nmi_blocked) {
		nmi_unblock = 1u << 12;
		cpu->state.nmi_blocked = false;
	}
	/* Page-modification log full (27.2.1): the qualification is bit 12
	 * alone; no guest-physical or guest-linear address. */
	if (v->ept_pml_full)
		vmx_exit(cpu, VMX_EXIT_PML_FULL, nmi_unblock, 0, 0);
	v->f[VMCS_GUEST_PHYS_ADDR] = v->ept_gpa;
	/* A misconfiguration has no qualification and leaves the guest-linear
	 * address alone (27.2.1). */
	if (v->ept_misconfig)
		vmx_exit(cpu, VMX_EXIT_EPT_MISCONFIG, 0, 0, 0);
	if (v->ept_qual & 0x80)
		v->f[VMCS_GUEST_LINEAR_ADDR] = v->ept_lin;
	vmx_exit(cpu, VMX_EXIT_EPT_VIOLATION, v->ept_qual | nmi_unblock, 0, 0);
}

/*
 * VMFUNC (30.3, VMFUNC; 25.5.6): #UD outside non-root operation and without
 * "enable VM functions"; a function number (EAX) above 63 or whose bit in the
 * VM-function controls is clear exits (59). Function 0, EPTP switching
 * (25.5.6.3): ECX above 511, or an entry of the EPTP list VM entry would not
 * accept, exits; otherwise it becomes the EPT pointer. The TLB holds combined
 * translations untagged by EPTP, so it is flushed whole: none made under the
 * old EPT pointer serves the new one (28.4.1 tags them with the EPTRTA).
 */
void
op_vmfunc(struct cpu *cpu, const struct insn *i)
{
	struct vmx *v = cpu->vmx;
	if (!cpu->vmx_nonroot || !(v->f[VMCS_PROC_CTLS] & PROC_SECONDARY) ||
	    !(v->f[VMCS_PROC_CTLS2] & PROC2_VMFUNC))
		cpu_ud(cpu);
	uint32_t fn = (uint32_t)cpu->state.gpr[R_AX];
	if (fn > 63 || !((v->f[VMCS_VMFUNC_CTLS] >> fn) & 1))
		vmx_exit(cpu, VMX_EXIT_VMFUNC, 0, i->len, 0);
	/* fn 0: IA32_VMX_VMFUNC allows no other, and VM entry checked the controls. */
	uint32_t index = (uint32_t)cpu->state.gpr[R_CX];
	if (index > 511)
		vmx_exit(cpu, VMX_EXIT_VMFUNC, 0, i->len, 0);
	uint64_t eptp = physmem_read_sized(cpu->mem, v->f[VMCS_EPTP_LIST_ADDR] + 8ull * index, 8);
	if (!vmx_eptp_ok(cpu, eptp))
		vmx_exit(cpu, VMX_EXIT_VMFUNC, 0, i->len, 0);
	v->f[VMCS_EPT_POINTER] = eptp;
	v->f[VMCS_EPTP_INDEX] = index & 0xffff; /* #VE is supported (25.5.6.3) */
	tlb_flush_all(&cpu->tlb);
	cpu_trace_tlb_flush(cpu, TRACE_FLUSH_ALL, eptp, "vmfunc");
	cpu->stop_trace = true;
}
