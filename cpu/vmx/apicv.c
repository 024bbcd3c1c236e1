/*
 * fugu — APIC virtualization (SDM vol. 3C, chapter 29).
 *
 * The state lives where the SDM puts it: the virtual-APIC page (VTPR 80H,
 * VPPR A0H, VEOI B0H, VISR 100H-170H, VIRR 200H-270H, VICR 300H/310H, the
 * x2APIC SELF IPI 3F0H) and the guest interrupt status field (RVI bits 7:0,
 * SVI bits 15:8), which stays the live copy during non-root operation (so VM
 * exit has nothing to save, 27.3.3). struct vmx keeps only what speeds the
 * hooks up or waits for the next instruction boundary:
 *  - apic_access_on/pa: "virtualize APIC accesses" and its page (set at VM
 *    entry). The page never enters the TLB (cpu/mem.c), so every access to
 *    it reaches vmx_apic_read/vmx_apic_write (29.4).
 *  - apic_write_pending/off: a virtualized write to the APIC-access page
 *    whose APIC-write emulation (29.4.3.2: TPR, EOI, self-IPI
 *    virtualization or an APIC-write VM exit) runs at the boundary after the
 *    instruction, as the SDM's trap-like behaviour requires; EV_VMX_APIC
 *    makes the run loop look.
 *  - vintr: a virtual interrupt is recognized (29.2.1); EV_VMX_VINTR mirrors
 *    it and makes the run loop look while RFLAGS.IF is set.
 */
#include "cpu/vmx/vmx_internal.h"
#include "mmu/physmem.h"

#define F(id) (cpu->vmx->f[VMCS_##id])

#define VTPR 0x80
#define VPPR 0xa0
#define VEOI 0xb0
#define VISR 0x100
#define VIRR 0x200
#define VICR_LO 0x300
#define VSELF_IPI 0x3f0

/* ---- the virtual-APIC page ---- */

static uint32_t
vapic_rd(const struct cpu *cpu, unsigned off)
{
	uint32_t v = 0;
	physmem_read(cpu->mem, F(VIRTUAL_APIC_ADDR) + off, &v, 4);
	return v;
}

static void
vapic_wr(struct cpu *cpu, unsigned off, uint32_t v)
{
	physmem_write(cpu->mem, F(VIRTUAL_APIC_ADDR) + off, &v, 4);
}

/* VISR/VIRR: 256 bits, 32 in each 16-byte row (29.1.1). */
static void
vbit_set(struct cpu *cpu, unsigned base, unsigned vec, bool on)
{
	unsigned off = base + (vec / 32) * 0x10;
	uint32_t v = vapic_rd(cpu, off);
	v = on ? v | 1u << (vec % 32) : v & ~(1u << (vec % 32));
	vapic_wr(cpu, off, v);
}

static int
vbit_highest(const struct cpu *cpu, unsigned base)
{
	for (int k = 7; k >= 0; k--) {
		uint32_t v = vapic_rd(cpu, base + (unsigned)k * 0x10);
		if (v)
			return k * 32 + 31 - __builtin_clz(v);
	}
	return -1;
}

static unsigned
rvi(const struct cpu *cpu)
{
	return F(GUEST_INTR_STATUS) & 0xff;
}

static unsigned
svi(const struct cpu *cpu)
{
	return (F(GUEST_INTR_STATUS) >> 8) & 0xff;
}

static void
set_rvi(struct cpu *cpu, unsigned v)
{
	F(GUEST_INTR_STATUS) = (F(GUEST_INTR_STATUS) & 0xff00) | (v & 0xff);
}

static void
set_svi(struct cpu *cpu, unsigned v)
{
	F(GUEST_INTR_STATUS) = (F(GUEST_INTR_STATUS) & 0x00ff) | (v & 0xff) << 8;
}

static uint32_t
proc2(const struct cpu *cpu)
{
	return (F(PROC_CTLS) & PROC_SECONDARY) ? (uint32_t)F(PROC_CTLS2) : 0;
}

static bool
vid(const struct cpu *cpu)
{
	return (proc2(cpu) & PROC2_VID) != 0;
}

/* ---- the virtualizations of 29.1 and 29.2 ---- */

/* PPR virtualization (29.1.3). */
static void
ppr_virtualize(struct cpu *cpu)
{
	uint32_t vtpr = vapic_rd(cpu, VTPR) & 0xff;
	unsigned s = svi(cpu);
	vapic_wr(cpu, VPPR, (vtpr >> 4) >= (s >> 4) ? vtpr : (s & 0xf0));
}

/* Evaluation of pending virtual interrupts (29.2.1): recognized when
 * RVI[7:4] > VPPR[7:4]. */
static void
evaluate(struct cpu *cpu)
{
	struct vmx *v = cpu->vmx;
	if (!vid(cpu))
		return;
	v->vintr = (rvi(cpu) >> 4) > ((vapic_rd(cpu, VPPR) >> 4) & 15);
	if (v->vintr) {
		cpu->events |= EV_VMX_VINTR;
		cpu->stop_trace = true;
	} else
		cpu->events &= ~(uint32_t)EV_VMX_VINTR;
}

/* TPR virtualization (29.1.2): with virtual-interrupt delivery, PPR
 * virtualization and evaluation; without, VTPR[7:4] below TPR
 * threshold[3:0] exits (reason 43, trap-like: the saved RIP is the next
 * instruction's). */
void
vmx_tpr_virtualize(struct cpu *cpu, uint8_t vtpr)
{
	if (vid(cpu)) {
		ppr_virtualize(cpu);
		evaluate(cpu);
		return;
	}
	if ((unsigned)(vtpr >> 4) < (F(TPR_THRESHOLD) & 15)) {
		cpu->insn_rip = cpu->state.rip;
		vmx_exit(cpu, VMX_EXIT_TPR_BELOW_THRESHOLD, 0, 0, 0);
	}
}

/* EOI virtualization (29.1.4): retire SVI from VISR; an EOI-induced VM exit
 * (45, trap-like, qualification the vector) when its EOI-exit bitmap bit is
 * set, otherwise evaluation. */
static void
eoi_virtualize(struct cpu *cpu)
{
	unsigned vec = svi(cpu);
	vbit_set(cpu, VISR, vec, false);
	int hi = vbit_highest(cpu, VISR);
	set_svi(cpu, hi < 0 ? 0 : (unsigned)hi);
	ppr_virtualize(cpu);
	if ((cpu->vmx->f[VMCS_EOI_EXIT0 + vec / 64] >> (vec % 64)) & 1) {
		cpu->insn_rip = cpu->state.rip;
		vmx_exit(cpu, VMX_EXIT_EOI_INDUCED, vec, 0, 0);
	}
	evaluate(cpu);
}

/* Self-IPI virtualization (29.1.5). */
static void
self_ipi_virtualize(struct cpu *cpu, unsigned vec)
{
	vbit_set(cpu, VIRR, vec, true);
	if (vec > rvi(cpu))
		set_rvi(cpu, vec);
	evaluate(cpu);
}

/* ---- VM entry, the boundary ---- */

void
vmx_apicv_enter(struct cpu *cpu)
{
	struct vmx *v = cpu->vmx;
	v->apic_access_on = (proc2(cpu) & PROC2_APIC_ACCESS) != 0;
	v->apic_access_pa = F(APIC_ACCESS_ADDR) & ~0xfffull;
	v->apic_write_pending = false;
	v->vintr = false;
	/* 26.3.2.5: RVI and SVI come from the guest interrupt status (the field
	 * itself here), then PPR virtualization and evaluation. */
	if (vid(cpu)) {
		ppr_virtualize(cpu);
		evaluate(cpu);
	}
}

/* Virtual-interrupt delivery (29.2.2): RFLAGS.IF set, no blocking by STI or
 * MOV SS, interrupt-window exiting clear. Returns true when delivered. */
static bool
deliver_virtual(struct cpu *cpu)
{
	struct vmx *v = cpu->vmx;
	if (!v->vintr || !(cpu->state.rflags & F_IF) || cpu->state.intr_shadow ||
	    (F(PROC_CTLS) & PROC_INTR_WINDOW))
		return false;
	unsigned vec = rvi(cpu);
	vbit_set(cpu, VISR, vec, true);
	set_svi(cpu, vec);
	vapic_wr(cpu, VPPR, vec & 0xf0);
	vbit_set(cpu, VIRR, vec, false);
	int hi = vbit_highest(cpu, VIRR);
	set_rvi(cpu, hi < 0 ? 0 : (unsigned)hi);
	v->vintr = false; /* recognition ceases */
	cpu->events &= ~(uint32_t)EV_VMX_VINTR;
	/* It wakes the guest from HLT as an external interrupt would. */
	cpu->state.halted = false;
	v->hlt_wake = false;
	cpu->insn_rip = cpu->state.rip;
	cpu_deliver_event(cpu, vec, EVENT_EXTERNAL, NO_ERRCODE, cpu->state.rip);
	cpu->insn_rip = cpu->state.rip; /* an exit at this boundary is at the handler */
	return true;
}

/* APIC-write emulation (29.4.3.2) of the write that retired before this
 * boundary: trap-like. */
static void
apic_write_emulate(struct cpu *cpu)
{
	struct vmx *v = cpu->vmx;
	unsigned off = v->apic_write_off;
	v->apic_write_pending = false;
	cpu->insn_rip = cpu->state.rip;
	if (off == VTPR) {
		uint32_t t = vapic_rd(cpu, VTPR) & 0xff; /* bytes 81H-83H cleared */
		vapic_wr(cpu, VTPR, t);
		vmx_tpr_virtualize(cpu, (uint8_t)t);
		return;
	}
	if (off == VEOI && vid(cpu)) {
		eoi_virtualize(cpu);
		return;
	}
	if (off == VICR_LO && vid(cpu)) {
		uint32_t icr = vapic_rd(cpu, VICR_LO);
		/* Reserved bits 31:20, 17:16, 13 and delivery status (12) clear,
		 * shorthand self (19:18 = 01), edge (15), fixed (10:8), vector
		 * 7:4 not 0. */
		if (!(icr & 0xfff33000u) && ((icr >> 18) & 3) == 1 && !(icr & 0x8700u) &&
		    (icr & 0xf0)) {
			self_ipi_virtualize(cpu, icr & 0xff);
			return;
		}
	}
	vmx_exit(cpu, VMX_EXIT_APIC_WRITE, off, 0, 0);
}

void
vmx_apicv_boundary(struct cpu *cpu)
{
	cpu->events &= ~(uint32_t)EV_VMX_APIC;
	if (cpu->vmx->apic_write_pending)
		apic_write_emulate(cpu);
}

bool
vmx_vintr_deliver(struct cpu *cpu)
{
	return deliver_virtual(cpu);
}

/* Posted-interrupt processing (29.6) of an acknowledged interrupt with the
 * notification vector: clear ON, EOI to the local APIC, PIR into VIRR, RVI,
 * evaluation, and delivery when it can happen now. */
void
vmx_posted_intr(struct cpu *cpu)
{
	struct vmx *v = cpu->vmx;
	uint64_t d = F(PI_DESC_ADDR);
	bool was_halted = v->hlt_wake; /* woken from HLT only for this interrupt */
	uint8_t on;
	physmem_read(cpu->mem, d + 32, &on, 1);
	on &= (uint8_t)~1u; /* outstanding-notification bit 256 */
	physmem_write(cpu->mem, d + 32, &on, 1);
	if (cpu->bus.apic_eoi)
		cpu->bus.apic_eoi(cpu->bus.apic);
	int hi = -1;
	for (unsigned k = 0; k < 8; k++) {
		uint32_t pir, zero = 0;
		physmem_read(cpu->mem, d + 4 * k, &pir, 4);
		if (!pir)
			continue;
		physmem_write(cpu->mem, d + 4 * k, &zero, 4);
		vapic_wr(cpu, VIRR + k * 0x10, vapic_rd(cpu, VIRR + k * 0x10) | pir);
		hi = (int)(k * 32 + 31 - (unsigned)__builtin_clz(pir));
	}
	if (hi >= 0 && (unsigned)hi > rvi(cpu))
		set_rvi(cpu, (unsigned)hi);
	evaluate(cpu);
	if (!deliver_virtual(cpu) && was_halted) {
		cpu->state.halted = true; /* back to HLT: nothing to deliver yet */
		v->hlt_wake = false;
	}
}

/* ---- the APIC-access page (29.4) ---- */

/* Is [off, off+size) inside one 4-byte register of the list? */
static bool
in_regs(unsigned off, unsigned size, const uint16_t *regs, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (off >= regs[k] && off + size <= regs[k] + 4u)
			return true;
	return false;
}

/* Reads virtualized with APIC-register virtualization (29.4.2): ID,
 * version, TPR, EOI, LDR, DFR, SVR, ISR, TMR, IRR, ESR, ICR, the LVT, the
 * initial count and the divide configuration; not PPR or the current count. */
static bool
read_virtualized(const struct cpu *cpu, unsigned off, unsigned size)
{
	static const uint16_t tpr[] = { VTPR };
	if (!(F(PROC_CTLS) & PROC_TPR_SHADOW))
		return false;
	if (!(proc2(cpu) & PROC2_APIC_REG_VIRT))
		return in_regs(off, size, tpr, 1);
	static const uint16_t regs[] = { 0x20,  0x30,  0x80,  0xb0,  0xd0,  0xe0,  0xf0,
					 0x280, 0x2f0, 0x300, 0x310, 0x320, 0x330, 0x340,
					 0x350, 0x360, 0x370, 0x380, 0x3e0 };
	if (in_regs(off, size, regs, sizeof(regs) / sizeof(regs[0])))
		return true;
	/* ISR, TMR, IRR: 100H-270H, the first 4 bytes of each 16-byte row. */
	return off >= 0x100 && off < 0x280 && (off & 15) + size <= 4;
}

/* Writes virtualized (29.4.3.1): TPR; with virtual-interrupt delivery EOI
 * and ICR low; with APIC-register virtualization also ID, LDR, DFR, SVR,
 * ESR, ICR high, the LVT, the initial count and the divide configuration. */
static bool
write_virtualized(const struct cpu *cpu, unsigned off, unsigned size)
{
	static const uint16_t tpr[] = { VTPR }, vidr[] = { VTPR, VEOI, VICR_LO },
			      regs[] = { 0x20,  0x80,  0xb0,  0xd0,  0xe0,  0xf0,
					 0x280, 0x2f0, 0x300, 0x310, 0x320, 0x330,
					 0x340, 0x350, 0x360, 0x370, 0x380, 0x3e0 };
	if (!(F(PROC_CTLS) & PROC_TPR_SHADOW))
		return false;
	if (proc2(cpu) & PROC2_APIC_REG_VIRT)
		return in_regs(off, size, regs, sizeof(regs) / sizeof(regs[0]));
	if (vid(cpu))
		return in_regs(off, size, vidr, 3);
	return in_regs(off, size, tpr, 1);
}

/* An APIC-access VM exit (44): qualification offset (11:0) and access type
 * (15:12): 0 linear read, 1 linear write, 3 during event delivery (27.2.1). */
_Noreturn void
vmx_apic_access_exit(struct cpu *cpu, unsigned off, bool write)
{
	unsigned type = cpu->delivering ? 3 : write ? 1 : 0;
	vmx_exit(cpu, VMX_EXIT_APIC_ACCESS, off | type << 12, 0, 0);
}

void
vmx_apic_fetch_fault(struct cpu *cpu, uint64_t pa)
{
	cpu->vmx->apic_fetch_off = (uint16_t)(pa & 0xfff);
	cpu_fault(cpu, VMX_FAULT_APIC, 0);
}

void
vmx_apic_fetch_exit(struct cpu *cpu)
{
	unsigned type = cpu->delivering ? 3 : 2; /* linear instruction fetch */
	vmx_exit(cpu, VMX_EXIT_APIC_ACCESS, cpu->vmx->apic_fetch_off | type << 12, 0, 0);
}

uint64_t
vmx_apic_read(struct cpu *cpu, uint64_t pa, unsigned size)
{
	unsigned off = (unsigned)(pa & 0xfff);
	if (cpu->delivering || off + size > 0x1000 || !read_virtualized(cpu, off, size))
		vmx_apic_access_exit(cpu, off, false);
	uint64_t v = 0;
	physmem_read(cpu->mem, F(VIRTUAL_APIC_ADDR) + off, &v, size);
	return v;
}

void
vmx_apic_write(struct cpu *cpu, uint64_t pa, uint64_t value, unsigned size)
{
	struct vmx *v = cpu->vmx;
	unsigned off = (unsigned)(pa & 0xfff);
	if (cpu->delivering || off + size > 0x1000 || !write_virtualized(cpu, off, size))
		vmx_apic_access_exit(cpu, off, true);
	physmem_write(cpu->mem, F(VIRTUAL_APIC_ADDR) + off, &value, size);
	/* APIC-write emulation after the instruction (29.4.3.2). */
	v->apic_write_pending = true;
	v->apic_write_off = (uint16_t)(off & ~15u);
	cpu->events |= EV_VMX_APIC;
	cpu->stop_trace = true;
}

/* ---- virtualize x2APIC mode (29.5) ---- */

static bool
virt_x2apic(const struct cpu *cpu)
{
	return (proc2(cpu) & PROC2_VIRT_X2APIC) != 0;
}

/* The MSRs RDMSR reads from the virtual-APIC page with APIC-register
 * virtualization: ID, version, TPR, PPR, LDR, SVR, ISR, TMR, IRR, ESR, LVT
 * CMCI, ICR, the LVT, the initial count, the divide configuration. */
static bool
x2apic_read_virtualized(const struct cpu *cpu, uint32_t index)
{
	if (index == 0x808)
		return true;
	if (!(proc2(cpu) & PROC2_APIC_REG_VIRT))
		return false;
	switch (index) {
	case 0x802:
	case 0x803:
	case 0x80a:
	case 0x80d:
	case 0x80f:
	case 0x828:
	case 0x82f:
	case 0x830:
	case 0x838:
	case 0x83e: return true;
	default: return (index >= 0x810 && index <= 0x827) || (index >= 0x832 && index <= 0x837);
	}
}

bool
vmx_x2apic_rdmsr(struct cpu *cpu, uint32_t index, uint64_t *value)
{
	if (!virt_x2apic(cpu) || !x2apic_read_virtualized(cpu, index))
		return false;
	/* The quadword at offset (ECX & FFH) << 4 of the virtual-APIC page (29.5). */
	physmem_read(cpu->mem, F(VIRTUAL_APIC_ADDR) + ((index & 0xff) << 4), value, 8);
	return true;
}

bool
vmx_x2apic_wrmsr(struct cpu *cpu, uint32_t index, uint64_t value)
{
	if (!virt_x2apic(cpu))
		return false;
	switch (index) {
	case 0x808: /* TPR: bits 63:8 reserved */
		if (value >> 8)
			cpu_gp0(cpu);
		physmem_write(cpu->mem, F(VIRTUAL_APIC_ADDR) + VTPR, &value, 8);
		vmx_tpr_virtualize(cpu, (uint8_t)value);
		return true;
	case 0x80b: /* EOI, with virtual-interrupt delivery: only 0 may be written */
		if (!vid(cpu))
			return false;
		if (value)
			cpu_gp0(cpu);
		physmem_write(cpu->mem, F(VIRTUAL_APIC_ADDR) + VEOI, &value, 8);
		eoi_virtualize(cpu);
		return true;
	case 0x83f: /* SELF IPI, with virtual-interrupt delivery: bits 63:8 reserved */
		if (!vid(cpu))
			return false;
		if (value >> 8)
			cpu_gp0(cpu);
		physmem_write(cpu->mem, F(VIRTUAL_APIC_ADDR) + VSELF_IPI, &value, 8);
		if (!(value & 0xf0)) { /* vector 0-15: an APIC-write VM exit (29.4.3.2) */
			cpu->insn_rip = cpu->state.rip;
			vmx_exit(cpu, VMX_EXIT_APIC_WRITE, VSELF_IPI, 0, 0);
		}
		self_ipi_virtualize(cpu, (unsigned)value);
		return true;
	default: return false;
	}
}
