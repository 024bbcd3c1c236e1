/*
 * Unit tests of VMX (cpu/vmx/): the VMCS field table, the capability MSRs'
 * consistency (SDM vol. 3C, appendix A), and the VM-entry checks (chapter 26)
 * row by row: each row is a field, a bad value and the outcome the SDM gives
 * (VMfailValid 7 or 8, or a VM-entry failure with its qualification), run
 * against a VMCS that passes every check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cpu/vmx/vmx_internal.h"
#include "mmu/ioport.h"
#include "mmu/physmem.h"
#include "testsuite/conformance/bare_machine.h"

static struct cpu *
make_cpu(const char *model)
{
	struct cpu *cpu = bare_cpu_create(model, 4 << 20);
	assert_non_null(cpu);
	return cpu;
}

/* Encodings are unique; names say the type the encoding says; a 64-bit field
 * has a high access, others none; reserved encoding bits find nothing. */
static void
field_table(void **unused)
{
	(void)unused;
	for (unsigned a = 0; a < VMCS_FIELD_COUNT; a++) {
		const struct vmcs_field *f = &vmcs_fields[a];
		for (unsigned b = a + 1; b < VMCS_FIELD_COUNT; b++)
			assert_int_not_equal(f->enc, vmcs_fields[b].enc);
		enum vmcs_type t = vmcs_enc_type(f->enc);
		if (t == VMCS_T_GUEST) /* the link pointer is guest state too (24.4.2) */
			assert_true(!strncmp(f->name, "guest_", 6) ||
				    !strcmp(f->name, "vmcs_link_ptr"));
		assert_int_equal(t == VMCS_T_HOST, !strncmp(f->name, "host_", 5));
		/* The state field fits the VMCS width (IA32_SYSENTER_CS is a 64-bit MSR
		 * whose VMCS field has 32 bits, SDM vol. 3C, 24.4.1: saving truncates). */
		if (f->map != VM_NONE && f->state != STATE_SYSENTER_CS)
			assert_true(state_fields[f->state].size <=
				    (vmcs_enc_width(f->enc) == VMCS_W16   ? 2
				     : vmcs_enc_width(f->enc) == VMCS_W32 ? 4
									  : 8));
		bool high;
		if (f->cap != VC_ALL) {
			assert_int_equal(vmcs_field_lookup(f->enc, &high), -1);
			continue;
		}
		assert_int_equal(vmcs_field_lookup(f->enc, &high), (int)a);
		assert_false(high);
		int h = vmcs_field_lookup(f->enc | 1, &high);
		if (vmcs_enc_width(f->enc) == VMCS_W64) {
			assert_int_equal(h, (int)a);
			assert_true(high);
		} else {
			assert_int_equal(h, -1);
		}
		assert_int_equal(vmcs_field_lookup(f->enc | 0x1000, &high), -1);
		assert_int_equal(vmcs_field_lookup(f->enc | 0x10000, &high), -1);
	}
	/* The region layout fits the 4 KiB IA32_VMX_BASIC reports. */
	assert_true(VMCS_REGION_FIELDS + 8 * VMCS_FIELD_COUNT <= 4096);
	/* Access rights round-trip; bit 16 is "unusable". */
	assert_int_equal(vmcs_ar_from_attr(0xc9b, true), 0xc09b);
	assert_int_equal(vmcs_attr_from_ar(0xc09b), 0xc9b);
	assert_int_equal(vmcs_ar_from_attr(0x93, false), 0x10093);
}

static uint64_t
rd(struct cpu *cpu, uint32_t index)
{
	uint64_t v = 0;
	assert_int_equal(msr_read(cpu, index, &v), 0);
	return v;
}

/* Appendix A: default-1 bits, allowed-0 within allowed-1, TRUE_* equal to the
 * plain MSRs except the default-1 bits they may clear, the fixed bits, VMCS_ENUM,
 * and the MSRs that do not exist. */
static void
capability_msrs(void **unused)
{
	(void)unused;
	struct cpu *cpu = make_cpu("max");
	uint64_t basic = rd(cpu, 0x480);
	assert_int_equal(basic & 0x80000000u, 0);      /* revision bit 31 clear */
	assert_true(((basic >> 32) & 0x1fff) <= 4096); /* VMCS size */
	assert_int_equal((basic >> 48) & 1, 0);        /* full physical width */
	assert_int_equal((basic >> 50) & 0xf, 6);      /* write-back */
	assert_true((basic >> 54) & 1);                /* INS/OUTS information */
	assert_true((basic >> 55) & 1);                /* TRUE controls */
	static const struct {
		uint32_t plain, true_msr, default1;
	} ctl[] = { { 0x481, 0x48d, 0x16 },
		    { 0x482, 0x48e, 0x0401e172 },
		    { 0x483, 0x48f, 0x00036dff },
		    { 0x484, 0x490, 0x000011ff } };
	for (unsigned k = 0; k < 4; k++) {
		uint64_t p = rd(cpu, ctl[k].plain), t = rd(cpu, ctl[k].true_msr);
		uint32_t lo = (uint32_t)p, hi = (uint32_t)(p >> 32);
		assert_int_equal(lo, ctl[k].default1);  /* default-1 bits must be 1 */
		assert_int_equal(lo & ~hi, 0);          /* allowed-0 within allowed-1 */
		assert_int_equal(t >> 32, p >> 32);     /* same allowed-1 */
		assert_int_equal((uint32_t)t & ~lo, 0); /* TRUE clears, never adds */
		assert_int_equal((uint32_t)t & ~(uint32_t)(t >> 32), 0);
	}
	/* The TRUE MSRs let CR3-load/store exiting and the debug controls be 0. */
	assert_int_equal((uint32_t)rd(cpu, 0x48e) & (PROC_CR3_LOAD | PROC_CR3_STORE), 0);
	assert_int_equal((uint32_t)rd(cpu, 0x48f) & EXIT_SAVE_DEBUG, 0);
	assert_int_equal((uint32_t)rd(cpu, 0x490) & ENTRY_LOAD_DEBUG, 0);
	/* What kvm_intel requires is allowed-1. */
	uint32_t pin1 = rd(cpu, 0x481) >> 32, proc1 = rd(cpu, 0x482) >> 32;
	assert_int_equal(pin1 & (PIN_EXT_INTR | PIN_NMI), PIN_EXT_INTR | PIN_NMI);
	uint32_t kvm = PROC_HLT | PROC_CR3_LOAD | PROC_CR3_STORE | PROC_UNCOND_IO | PROC_MOV_DR |
		       PROC_TSC_OFFSET | PROC_MWAIT | PROC_MONITOR | PROC_INVLPG | PROC_RDPMC |
		       PROC_INTR_WINDOW | PROC_CR8_LOAD | PROC_CR8_STORE;
	assert_int_equal(proc1 & kvm, kvm);
	uint32_t exit1 = rd(cpu, 0x483) >> 32, entry1 = rd(cpu, 0x484) >> 32;
	assert_true(exit1 & EXIT_SAVE_DEBUG && exit1 & EXIT_ACK_INTR && exit1 & EXIT_HOST_64);
	assert_true(entry1 & ENTRY_LOAD_DEBUG && entry1 & ENTRY_IA32E);
	/* Virtual NMIs and the NMI window (25.3, 25.2). TPR shadow, VPID, EPT and unrestricted
	 * guest. */
	assert_int_equal(pin1 & PIN_VIRTUAL_NMI, PIN_VIRTUAL_NMI);
	assert_int_equal(proc1 & PROC_NMI_WINDOW, PROC_NMI_WINDOW);
	assert_int_equal(proc1 & PROC_TPR_SHADOW, PROC_TPR_SHADOW);
	uint32_t p2 = PROC2_VPID | PROC2_EPT | PROC2_UNRESTRICTED;
	assert_int_equal((rd(cpu, 0x48b) >> 32) & p2, p2);
	/* Fixed bits (A.7, A.8). */
	uint64_t f0 = rd(cpu, 0x486), f1 = rd(cpu, 0x487);
	assert_int_equal(f0, CR0_PE | CR0_NE | CR0_PG);
	assert_int_equal(f0 & ~f1, 0);
	f0 = rd(cpu, 0x488);
	f1 = rd(cpu, 0x489);
	assert_int_equal(f0, CR4_VMXE);
	assert_int_equal(f0 & ~f1, 0);
	assert_int_equal(f1, cpu_cr4_writable(cpu));
	/* VMCS_ENUM: the highest index of any supported field. */
	unsigned max = (unsigned)(rd(cpu, 0x48a) >> 1) & 0x1ff;
	for (unsigned k = 0; k < VMCS_FIELD_COUNT; k++)
		if (vmcs_fields[k].cap == VC_ALL)
			assert_true(((vmcs_fields[k].enc >> 1) & 0x1ff) <= max);
	/* MISC: LMA store, HLT, shutdown and wait-for-SIPI, 4 CR3 targets. */
	uint64_t misc = rd(cpu, 0x485);
	assert_true(misc & (1u << 5) && misc & (1u << 6) && misc & (1u << 7) && misc & (1u << 8));
	assert_int_equal((misc >> 16) & 0x1ff, 4);
	/* The preemption timer: rate TSC >> 5 (MISC[4:0]), its controls allowed (A.3, A.4, A.6). */
	assert_int_equal(misc & 31, VMX_PREEMPT_SHIFT);
	assert_int_equal(pin1 & PIN_PREEMPT_TIMER, PIN_PREEMPT_TIMER);
	assert_int_equal(exit1 & EXIT_SAVE_PREEMPT, EXIT_SAVE_PREEMPT);
	assert_int_equal(proc1 & PROC_MTF, PROC_MTF);                    /* 25.5.2 */
	assert_int_equal((rd(cpu, 0x48b) >> 32) & PROC2_PLE, PROC2_PLE); /* 25.1.3 */
	assert_int_equal((rd(cpu, 0x48b) >> 32) & PROC2_SHADOW_VMCS, PROC2_SHADOW_VMCS); /* 24.10 */
	assert_int_equal((rd(cpu, 0x48b) >> 32) & PROC2_VIRT_X2APIC, PROC2_VIRT_X2APIC); /* 29.5 */
	assert_int_equal((rd(cpu, 0x48b) >> 32) & PROC2_PML, PROC2_PML);       /* 29.3.6 */
	assert_int_equal((rd(cpu, 0x48b) >> 32) & PROC2_EPT_VE, PROC2_EPT_VE); /* 25.5.7 */
	/* APIC virtualization (29): the APIC-access page (bit 0), APIC-register
	 * virtualization (8), virtual-interrupt delivery (9), posted interrupts
	 * (pin bit 7): what kvm_intel's enable_apicv needs. */
	assert_int_equal((rd(cpu, 0x48b) >> 32) & (1u | 1u << 8 | 1u << 9), 1u | 1u << 8 | 1u << 9);
	assert_int_equal(pin1 & (1u << 7), 1u << 7);
	/* Nehalem (no x2APIC) has FlexPriority but not the APICv generation. */
	struct cpu *neh = make_cpu("nehalem");
	assert_int_equal((rd(neh, 0x48b) >> 32) & (1u | 1u << 8 | 1u << 9), 1u);
	assert_int_equal((rd(neh, 0x481) >> 32) & (1u << 7), 0);
	bare_cpu_destroy(neh);
	/* EPT_VPID_CAP (A.10): execute-only, 4-level walks, UC and WB, 2 MiB and
	 * 1 GiB pages, INVEPT with its single-context and all-context types, EPT
	 * A/D; INVVPID of the four types. IA32_VMX_VMFUNC: EPTP switching only
	 * (A.11); the capability MSRs are read-only. */
	uint64_t v;
	assert_int_equal(rd(cpu, 0x48c), 0x063341c1ull | (1ull << 32) | (0xfull << 40));
	assert_int_equal((rd(cpu, 0x48b) >> 32) & PROC2_VMFUNC, PROC2_VMFUNC);
	assert_int_equal(rd(cpu, 0x491), 1);
	(void)v;
	assert_int_equal(msr_write(cpu, 0x480, 0), -1);
	/* IA32_FEATURE_CONTROL: unlocked at reset, then locked until reset. */
	assert_int_equal(rd(cpu, 0x3a), 0);
	assert_int_equal(msr_write(cpu, 0x3a, 2), -1); /* no SMX */
	assert_int_equal(msr_write(cpu, 0x3a, 5), 0);
	assert_int_equal(msr_write(cpu, 0x3a, 4), -1);
	assert_int_equal(rd(cpu, 0x3a), 5);
	cpu_reset(cpu);
	assert_int_equal(rd(cpu, 0x3a), 0);
	bare_cpu_destroy(cpu);
	/* vmx-locked=on: locked with VMX enabled out of reset, as UEFI leaves it. */
	cpu = make_cpu("max,vmx-locked=on");
	assert_int_equal(rd(cpu, 0x3a), FC_LOCK | FC_VMX_OUTSIDE_SMX);
	assert_int_equal(msr_write(cpu, 0x3a, 0), -1);
	cpu_reset(cpu);
	assert_int_equal(rd(cpu, 0x3a), FC_LOCK | FC_VMX_OUTSIDE_SMX);
	bare_cpu_destroy(cpu);
	/* A model without VMX: no MSRs, no CR4.VMXE, no state. */
	cpu = make_cpu("max,-vmx");
	assert_null(cpu->vmx);
	assert_int_equal(msr_read(cpu, 0x480, &v), -1);
	assert_int_equal(msr_read(cpu, 0x3a, &v), -1);
	assert_int_equal(cpu_cr4_writable(cpu) & CR4_VMXE, 0);
	bare_cpu_destroy(cpu);
}

/* ---- VM-entry checks ---- */

static void
put(struct cpu *cpu, uint32_t enc, uint64_t value)
{
	bool high;
	int id = vmcs_field_lookup(enc, &high);
	assert_true(id >= 0);
	cpu->vmx->f[id] = value;
}

static uint64_t
get(struct cpu *cpu, uint32_t enc)
{
	bool high;
	int id = vmcs_field_lookup(enc, &high);
	assert_true(id >= 0);
	return cpu->vmx->f[id];
}

/* A VMCS that passes every check: a 32-bit host and guest with paging (the
 * mini hypervisor's, testsuite/guests/vmx.asm). */
static void
valid_vmcs(struct cpu *cpu)
{
	memset(cpu->vmx->f, 0, sizeof(cpu->vmx->f));
	put(cpu, 0x4000, 0x16);
	put(cpu, 0x4002, 0x0401e172);
	put(cpu, 0x400c, 0x36dff);
	put(cpu, 0x4012, 0x11ff);
	put(cpu, 0x6c00, 0x80000031);
	put(cpu, 0x6c02, 0x10000);
	put(cpu, 0x6c04, 0x2010);
	put(cpu, 0x0c02, 0x08);
	put(cpu, 0x0c04, 0x10);
	put(cpu, 0x0c0c, 0x28);
	put(cpu, 0x6c16, 0xf1000);
	put(cpu, 0x6800, 0x80000031);
	put(cpu, 0x6802, 0x10000);
	put(cpu, 0x6804, 0x2010);
	for (unsigned s = 0; s < 6; s++) {
		put(cpu, 0x0800 + 2 * s, 0x10);
		put(cpu, 0x4800 + 2 * s, 0xffffffff);
		put(cpu, 0x4814 + 2 * s, 0xc093);
	}
	put(cpu, 0x0802, 0x08);
	put(cpu, 0x4816, 0xc09b);
	put(cpu, 0x080e, 0x28);
	put(cpu, 0x480e, 0x67);
	put(cpu, 0x4822, 0x8b);
	put(cpu, 0x4820, 0x10000);
	put(cpu, 0x4810, 0x7ff);
	put(cpu, 0x4812, 0x7ff);
	put(cpu, 0x681e, 0xf2000);
	put(cpu, 0x6820, 2);
	put(cpu, 0x2800, ~0ull);
}

enum area { CTL, HOST, GUEST };
/* clang-format off */
static const struct entry_row {
	uint32_t enc;
	uint64_t value;
	uint32_t enc2; /* a second field for the same row (0: none) */
	uint64_t value2;
	uint8_t area;
	uint32_t error; /* VMfailValid number, or the entry-failure qualification */
	const char *check;
} entry_rows[] = {
	/* 26.2.1.1-26.2.1.2: controls against the capability MSRs. */
	{ 0x4000, 0, 0, 0, CTL, 7, "pin-based controls" },
	{ 0x4000, 0x16 | PIN_VIRTUAL_NMI, 0, 0, CTL, 7, "pin-based controls" },
	{ 0x4002, 0, 0, 0, CTL, 7, "primary processor-based controls" },
	/* The NMI window only with virtual NMIs, virtual NMIs only with NMI exiting (26.2.1.1). */
	{ 0x4002, 0x0401e172 | PROC_NMI_WINDOW, 0, 0, CTL, 7, "primary processor-based controls" },
	{ 0x4002, 0x0401e172 | 1u << 0, 0, 0, CTL, 7, "primary processor-based controls" }, /* reserved */
	{ 0x4002, 0x0401e172 | PROC_SECONDARY, 0x401e, 1u << 20, CTL, 7, "secondary processor-based controls" }, /* XSAVES */
	{ 0x4002, 0x0401e172 | PROC_SECONDARY, 0x401e, PROC2_EPT, CTL, 7, "EPT pointer" }, /* EPTP 0 */
	{ 0x4002, 0x0401e172 | PROC_SECONDARY, 0x401e, PROC2_UNRESTRICTED, CTL, 7, "unrestricted guest without EPT" },
	{ 0x4002, 0x0401e172 | PROC_SECONDARY, 0x401e, PROC2_PML, CTL, 7, "PML without EPT or PML address" },
	{ 0x400a, 5, 0, 0, CTL, 7, "CR3-target count" },
	{ 0x4002, 0x0401e172 | PROC_IO_BITMAPS, 0x2000, 0x1001, CTL, 7, "I/O-bitmap addresses" },
	{ 0x4002, 0x0401e172 | PROC_MSR_BITMAPS, 0x2004, 1ull << 40, CTL, 7, "MSR-bitmap address" },
	{ 0x400c, 0, 0, 0, CTL, 7, "VM-exit controls" },
	/* "save VMX-preemption timer value" needs "activate VMX-preemption timer" (26.2.1.2). */
	{ 0x400c, 0x36dff | EXIT_SAVE_PREEMPT, 0, 0, CTL, 7, "VM-exit controls" },
	{ 0x400e, 1, 0x2006, 0x1008, CTL, 7, "VM-exit MSR-store/load addresses" },
	{ 0x4010, 1, 0x2008, 0x1004, CTL, 7, "VM-exit MSR-store/load addresses" },
	{ 0x4012, 0, 0, 0, CTL, 7, "VM-entry controls" },
	{ 0x4012, 0x11ff | ENTRY_SMM, 0, 0, CTL, 7, "VM-entry controls" },
	{ 0x4014, 1, 0x200a, 0x100f, CTL, 7, "VM-entry MSR-load address" },
	/* 26.2.1.3: event injection. */
	{ 0x4016, 0x80000102, 0, 0, CTL, 7, "event injection: type and vector" },
	{ 0x4016, 0x80000203, 0, 0, CTL, 7, "event injection: type and vector" },
	{ 0x4016, 0x80000320, 0, 0, CTL, 7, "event injection: type and vector" },
	{ 0x4016, 0x80000701, 0, 0, CTL, 7, "event injection: type and vector" }, /* other event: vector 0 only */
	{ 0x4016, 0x80000100, 0, 0, CTL, 7, "event injection: type and vector" }, /* type 1 reserved */
	{ 0x4016, 0x80010300, 0, 0, CTL, 7, "event injection: type and vector" },
	{ 0x4016, 0x8000030d, 0, 0, CTL, 7, "event injection: error code" },
	{ 0x4016, 0x80000b06, 0, 0, CTL, 7, "event injection: error code" },
	{ 0x4016, 0x80000b0d, 0x4018, 0x10000, CTL, 7, "event injection: error code" },
	{ 0x4016, 0x80000403, 0x401a, 0, CTL, 7, "event injection: instruction length" },
	{ 0x4016, 0x80000603, 0x401a, 16, CTL, 7, "event injection: instruction length" },
	/* 26.2.2-26.2.4: host state. */
	{ 0x6c00, 0x00000031, 0, 0, HOST, 8, "host CR0/CR4 fixed bits" },
	{ 0x6c04, 0x10, 0, 0, HOST, 8, "host CR0/CR4 fixed bits" },
	{ 0x6c04, 0x2010 | (1u << 12), 0, 0, HOST, 8, "host CR0/CR4 fixed bits" },
	{ 0x6c02, 1ull << 40, 0, 0, HOST, 8, "host CR3 width" },
	{ 0x6c10, 1ull << 47, 0, 0, HOST, 8, "host SYSENTER_ESP/EIP canonical" },
	{ 0x400c, 0x36dff | EXIT_LOAD_PAT, 0x2c00, 2, HOST, 8, "host PAT" },
	{ 0x400c, 0x36dff | EXIT_LOAD_EFER, 0x2c02, EFER_LMA | EFER_LME, HOST, 8, "host EFER" },
	{ 0x0c02, 0, 0, 0, HOST, 8, "host selectors" },
	{ 0x0c04, 0x13, 0, 0, HOST, 8, "host selectors" },
	{ 0x0c08, 0x14, 0, 0, HOST, 8, "host selectors" },
	{ 0x0c0c, 0, 0, 0, HOST, 8, "host selectors" },
	{ 0x0c04, 0, 0, 0, HOST, 8, "host selectors" },
	{ 0x6c06, 1ull << 47, 0, 0, HOST, 8, "host bases canonical" },
	{ 0x6c0c, 1ull << 47, 0, 0, HOST, 8, "host bases canonical" },
	{ 0x400c, 0x36dff | EXIT_HOST_64, 0, 0, HOST, 8, "host address-space size" },
	{ 0x4012, 0x11ff | ENTRY_IA32E, 0, 0, HOST, 8, "host address-space size" },
	{ 0x6c16, 1ull << 32, 0, 0, HOST, 8, "host RIP and CR4 for the address-space size" },
	/* 26.3.1: guest state (VM-entry failure, exit reason 33). */
	{ 0x6800, 0x80000011, 0, 0, GUEST, 0, "guest CR0/CR4 fixed bits" },
	{ 0x6804, 0x10, 0, 0, GUEST, 0, "guest CR0/CR4 fixed bits" },
	{ 0x4012, 0x11ff | ENTRY_LOAD_DEBUG, 0x681a, 1ull << 32, GUEST, 0, "guest DR7 (load debug controls)" },
	{ 0x6804, 0x2010 | CR4_PCIDE, 0, 0, GUEST, 0, "IA-32e mode guest needs CR0.PG and CR4.PAE" },
	{ 0x6802, 1ull << 40, 0, 0, GUEST, 0, "guest CR3 width" },
	{ 0x4012, 0x11ff | ENTRY_LOAD_EFER, 0x2806, EFER_LMA, GUEST, 0, "guest EFER (load EFER)" },
	{ 0x080e, 0x2c, 0, 0, GUEST, 0, "guest TR/LDTR TI flag" },
	{ 0x0804, 0x13, 0, 0, GUEST, 0, "guest SS.RPL = CS.RPL" },
	{ 0x4816, 0xc093, 0, 0, GUEST, 0, "guest CS access rights" },
	{ 0x4816, 0xc01b, 0, 0, GUEST, 0, "guest CS access rights" },
	{ 0x4816, 0xc0ff, 0, 0, GUEST, 0, "guest CS access rights" }, /* conforming, DPL > SS.DPL */
	{ 0x4818, 0xc09b, 0, 0, GUEST, 0, "guest SS/DS/ES/FS/GS access rights and limits" },
	{ 0x4818, 0xc0f3, 0, 0, GUEST, 0, "guest CS access rights" }, /* CS.DPL != SS.DPL */
	{ 0x4818, 0xc099, 0, 0, GUEST, 0, "guest SS/DS/ES/FS/GS access rights and limits" },
	{ 0x481a, 0xc092, 0, 0, GUEST, 0, "guest SS/DS/ES/FS/GS access rights and limits" },
	{ 0x481a, 0xc199, 0, 0, GUEST, 0, "guest SS/DS/ES/FS/GS access rights and limits" },
	{ 0x4806, 0xfffff000, 0, 0, GUEST, 0, "guest SS/DS/ES/FS/GS access rights and limits" },
	{ 0x4818, 0xc0b3, 0, 0, GUEST, 0, "guest CS access rights" }, /* SS.DPL != CS.DPL first */
	{ 0x0806, 0x13, 0, 0, GUEST, 0, "guest SS/DS/ES/FS/GS access rights and limits" },
	{ 0x6820, 0x20002, 0, 0, GUEST, 0, "guest CS access rights" }, /* V86: CS must be F3h */
	{ 0x6820, 0x20002, 0x4816, 0xf3, GUEST, 0, "guest virtual-8086 segments" },
	{ 0x4822, 0x89, 0, 0, GUEST, 0, "guest TR access rights" },
	{ 0x4822, 0x1008b, 0, 0, GUEST, 0, "guest TR access rights" },
	{ 0x4820, 0x83, 0, 0, GUEST, 0, "guest LDTR access rights" },
	{ 0x680c, 1ull << 32, 0, 0, GUEST, 0, "guest segment bases" },
	{ 0x6810, 1ull << 47, 0, 0, GUEST, 0, "guest segment bases" },
	{ 0x4810, 0x10000, 0, 0, GUEST, 0, "guest GDTR/IDTR" },
	{ 0x681e, 1ull << 32, 0, 0, GUEST, 0, "guest RIP" },
	{ 0x6820, 0, 0, 0, GUEST, 0, "guest RFLAGS" },
	{ 0x6820, 0x8002, 0, 0, GUEST, 0, "guest RFLAGS" },
	{ 0x4016, 0x80000020, 0, 0, GUEST, 0, "guest RFLAGS" }, /* IF clear */
	{ 0x4826, 4, 0, 0, GUEST, 0, "guest activity state" },
	/* Shutdown (26.3.1.5): only an NMI or a #MC may be injected; no STI or
	 * MOV SS blocking in an inactive state. */
	{ 0x4826, 2, 0x4016, 0x80000306, GUEST, 0, "guest activity state" }, /* #UD */
	{ 0x4826, 2, 0x4016, 0x80000301, GUEST, 0, "guest activity state" },
	{ 0x4826, 2, 0x4824, 2, GUEST, 0, "guest activity state" },
	{ 0x4826, 3, 0x4824, 2, GUEST, 0, "guest activity state" },
	{ 0x4826, 1, 0x4016, 0x80000b0d, GUEST, 0, "guest activity state" }, /* #GP into HLT */
	{ 0x4826, 1, 0x4818, 0xc0f3, GUEST, 0, "guest CS access rights" },
	{ 0x4824, 3, 0, 0, GUEST, 0, "guest interruptibility state" },
	{ 0x4824, 1, 0, 0, GUEST, 0, "guest interruptibility state" }, /* STI with IF clear */
	{ 0x4824, 4, 0, 0, GUEST, 0, "guest interruptibility state" }, /* SMI outside SMM */
	{ 0x4824, 0x10, 0, 0, GUEST, 0, "guest interruptibility state" },
	{ 0x4824, 2, 0x4016, 0x80000320, CTL, 7, "event injection: type and vector" },
	/* 26.3.1.5: no NMI injection with MOV SS blocking, nor with virtual-NMI blocking. */
	{ 0x4824, 2, 0x4016, 0x80000202, GUEST, 0, "guest interruptibility state" },
	{ 0x6822, 1ull << 20, 0, 0, GUEST, 0, "guest pending debug exceptions" },
	{ 0x4826, 1, 0x6822, 1u << 14, GUEST, 0, "guest pending debug exceptions" }, /* BS, TF 0 */
	{ 0x2800, 0, 0, 0, GUEST, 4, "VMCS link pointer" },
	{ 0x2800, 0x1008, 0, 0, GUEST, 4, "VMCS link pointer" }, /* not 4 KiB aligned */
	{ 0x4002, 0x0401e172 | PROC_SECONDARY, 0x401e, PROC2_VPID, CTL, 7, "VPID" }, /* VPID 0 */
	{ 0x4002, 0x0401e172 | PROC_TPR_SHADOW, 0x2012, 0x1080, CTL, 7, "virtual-APIC address" },
	{ 0x4002, 0x0401e172 | PROC_TPR_SHADOW, 0x401c, 0x10, CTL, 7, "TPR threshold" },
	{ 0x4002, 0x0401e172 | PROC_TPR_SHADOW, 0x401c, 1, CTL, 7, "TPR threshold" }, /* > VTPR 0 */
	{ 0x4002, 0x0401e172 | PROC_SECONDARY, 0x401e, PROC2_VIRT_X2APIC, CTL, 7, "virtualize x2APIC mode needs the TPR shadow" },
};
/* clang-format on */

/* clang-format off */
/* APIC virtualization's control checks (26.2.1.1): up to five fields each. */
static const struct {
	const char *check;
	struct {
		uint32_t enc;
		uint64_t value;
	} f[5];
} apicv_rows[] = {
	/* APIC virtualization (26.2.1.1). */
	{ "APIC-register virtualization/virtual-interrupt delivery need the TPR shadow", { { 0x4002, 0x0401e172 | PROC_SECONDARY }, { 0x401e, PROC2_APIC_REG_VIRT } } },
	{ "APIC-register virtualization/virtual-interrupt delivery need the TPR shadow", { { 0x4002, 0x0401e172 | PROC_SECONDARY }, { 0x401e, PROC2_VID } } },
	{ "virtualize x2APIC mode with virtualize APIC accesses", { { 0x4002, 0x0401e172 | PROC_TPR_SHADOW | PROC_SECONDARY }, { 0x401e, PROC2_VIRT_X2APIC | PROC2_APIC_ACCESS } } },
	{ "APIC-access address", { { 0x4002, 0x0401e172 | PROC_SECONDARY }, { 0x401e, PROC2_APIC_ACCESS }, { 0x2014, 0x1001 } } },
	{ "APIC-access address", { { 0x4002, 0x0401e172 | PROC_SECONDARY }, { 0x401e, PROC2_APIC_ACCESS }, { 0x2014, 1ull << 40 } } },
	/* Without VID, TPR threshold bits 31:4 must be 0 even with the APIC-access page. */
	{ "TPR threshold", { { 0x4002, 0x0401e172 | PROC_TPR_SHADOW | PROC_SECONDARY }, { 0x401e, PROC2_APIC_ACCESS }, { 0x401c, 0x10 } } },
	{ "virtual-interrupt delivery needs external-interrupt exiting", { { 0x4002, 0x0401e172 | PROC_TPR_SHADOW | PROC_SECONDARY }, { 0x401e, PROC2_VID } } },
	{ "posted interrupts", { { 0x4000, 0x16 | PIN_EXT_INTR | PIN_POSTED_INTR }, { 0x400c, 0x36dff | EXIT_ACK_INTR } } }, /* no VID */
	{ "posted interrupts", { { 0x4000, 0x16 | PIN_EXT_INTR | PIN_POSTED_INTR }, { 0x4002, 0x0401e172 | PROC_TPR_SHADOW | PROC_SECONDARY }, { 0x401e, PROC2_VID } } }, /* no acknowledge */
	{ "posted interrupts", { { 0x4000, 0x16 | PIN_EXT_INTR | PIN_POSTED_INTR }, { 0x4002, 0x0401e172 | PROC_TPR_SHADOW | PROC_SECONDARY }, { 0x401e, PROC2_VID }, { 0x400c, 0x36dff | EXIT_ACK_INTR }, { 0x0002, 0x100 } } }, /* vector bits 15:8 */
	{ "posted interrupts", { { 0x4000, 0x16 | PIN_EXT_INTR | PIN_POSTED_INTR }, { 0x4002, 0x0401e172 | PROC_TPR_SHADOW | PROC_SECONDARY }, { 0x401e, PROC2_VID }, { 0x400c, 0x36dff | EXIT_ACK_INTR }, { 0x2016, 0x1020 } } }, /* alignment */
};
/* clang-format on */

static void
entry_checks(void **unused)
{
	(void)unused;
	struct cpu *cpu = make_cpu("max");
	valid_vmcs(cpu);
	assert_null(vmx_check_controls(cpu).check);
	assert_null(vmx_check_host(cpu).check);
	assert_null(vmx_check_guest(cpu).check);
	/* The valid extras: I/O bitmaps, injection of each valid type, HLT. */
	put(cpu, 0x4002, 0x0401e172 | PROC_IO_BITMAPS | PROC_SECONDARY);
	put(cpu, 0x401e, PROC2_DESC_TABLE);
	put(cpu, 0x4016, 0x80000b0e); /* #PF with its error code */
	assert_null(vmx_check_controls(cpu).check);
	assert_null(vmx_check_guest(cpu).check);
	put(cpu, 0x4016, 0x80000312); /* #MC into HLT */
	put(cpu, 0x4826, 1);
	assert_null(vmx_check_controls(cpu).check);
	assert_null(vmx_check_guest(cpu).check);
	put(cpu, 0x4826, 2); /* #MC and NMI into shutdown */
	assert_null(vmx_check_guest(cpu).check);
	put(cpu, 0x4016, 0x80000202);
	assert_null(vmx_check_guest(cpu).check);
	put(cpu, 0x4826, 1);
	put(cpu, 0x4016, 0x80000700); /* a pending MTF VM exit into HLT (26.3.1.5), with MTF */
	put(cpu, 0x4002, 0x0401e172 | PROC_MTF);
	assert_null(vmx_check_controls(cpu).check);
	assert_null(vmx_check_guest(cpu).check);
	for (size_t k = 0; k < sizeof(entry_rows) / sizeof(entry_rows[0]); k++) {
		const struct entry_row *r = &entry_rows[k];
		valid_vmcs(cpu);
		put(cpu, r->enc, r->value);
		if (r->enc2)
			put(cpu, r->enc2, r->value2);
		struct vmx_check_result c = vmx_check_controls(cpu), h = vmx_check_host(cpu),
					g = vmx_check_guest(cpu);
		struct vmx_check_result got = c.check ? c : h.check ? h : g;
		uint8_t area = c.check ? CTL : h.check ? HOST : GUEST;
		if (!got.check || strcmp(got.check, r->check) || area != r->area ||
		    got.error != r->error)
			fail_msg("row %zu (field %04x = %llx): got \"%s\" %u, want \"%s\" %u", k,
				 r->enc, (unsigned long long)r->value,
				 got.check ? got.check : "(passed)", got.error, r->check, r->error);
	}
	for (size_t k = 0; k < sizeof(apicv_rows) / sizeof(apicv_rows[0]); k++) {
		valid_vmcs(cpu);
		for (unsigned m = 0; m < 5 && apicv_rows[k].f[m].enc; m++)
			put(cpu, apicv_rows[k].f[m].enc, apicv_rows[k].f[m].value);
		struct vmx_check_result c = vmx_check_controls(cpu);
		if (!c.check || strcmp(c.check, apicv_rows[k].check) || c.error != 7)
			fail_msg("apicv row %zu: got \"%s\" %u, want \"%s\"", k,
				 c.check ? c.check : "(passed)", c.error, apicv_rows[k].check);
	}
	/* The full APICv set is valid: posted interrupts with VID, external-
	 * interrupt exiting and acknowledge on exit, the APIC-access page; with
	 * VID the TPR threshold is not checked (26.2.1.1). */
	valid_vmcs(cpu);
	put(cpu, 0x4000, 0x16 | PIN_EXT_INTR | PIN_POSTED_INTR);
	put(cpu, 0x4002, 0x0401e172 | PROC_TPR_SHADOW | PROC_SECONDARY);
	put(cpu, 0x401e, PROC2_APIC_ACCESS | PROC2_APIC_REG_VIRT | PROC2_VID);
	put(cpu, 0x400c, 0x36dff | EXIT_ACK_INTR);
	put(cpu, 0x2014, 0x9000);
	put(cpu, 0x2016, 0xa040);
	put(cpu, 0x0002, 0xf2);
	put(cpu, 0x401c, 0xff);
	assert_null(vmx_check_controls(cpu).check);
	/* Injecting an NMI under blocking by NMI: refused with virtual NMIs,
	 * accepted without them (26.3.1.5). */
	valid_vmcs(cpu);
	put(cpu, 0x4000, 0x16 | PIN_NMI | PIN_VIRTUAL_NMI);
	put(cpu, 0x4824, 8);
	put(cpu, 0x4016, 0x80000202);
	assert_null(vmx_check_controls(cpu).check);
	assert_string_equal(vmx_check_guest(cpu).check, "guest interruptibility state");
	put(cpu, 0x4000, 0x16 | PIN_NMI);
	assert_null(vmx_check_guest(cpu).check);
	/* VMCS shadowing: the bitmaps 4 KiB aligned (26.2.1.1); the link pointer's
	 * region has the revision with bit 31 exactly when shadowing is on (26.3.1.5). */
	valid_vmcs(cpu);
	put(cpu, 0x4002, 0x0401e172 | PROC_SECONDARY);
	put(cpu, 0x401e, PROC2_SHADOW_VMCS);
	put(cpu, 0x2026, 0x5000);
	put(cpu, 0x2028, 0x6008);
	assert_string_equal(vmx_check_controls(cpu).check, "VMREAD/VMWRITE-bitmap addresses");
	put(cpu, 0x2028, 0x6000);
	assert_null(vmx_check_controls(cpu).check);
	uint32_t rev = VMX_REVISION | 1u << 31;
	physmem_write(cpu->mem, 0x8000, &rev, 4);
	put(cpu, 0x2800, 0x8000);
	assert_null(vmx_check_guest(cpu).check);
	put(cpu, 0x401e, 0); /* an ordinary VMCS is needed without shadowing */
	assert_int_equal(vmx_check_guest(cpu).error, 4);
	rev = VMX_REVISION;
	physmem_write(cpu->mem, 0x8000, &rev, 4);
	assert_null(vmx_check_guest(cpu).check);
	/* PML (26.2.1.1): the PML address 4 KiB aligned within MAXPHYADDR. */
	valid_vmcs(cpu);
	put(cpu, 0x4002, 0x0401e172 | PROC_SECONDARY);
	put(cpu, 0x401e, PROC2_EPT | PROC2_PML);
	put(cpu, 0x201a, 0x100000 | 0x5e);
	put(cpu, 0x200e, 0x5008);
	assert_string_equal(vmx_check_controls(cpu).check, "PML without EPT or PML address");
	put(cpu, 0x200e, 1ull << 52);
	assert_string_equal(vmx_check_controls(cpu).check, "PML without EPT or PML address");
	put(cpu, 0x200e, 0x5000);
	assert_null(vmx_check_controls(cpu).check);
	/* EPT-violation #VE (26.2.1.1): the information address 4 KiB aligned. */
	put(cpu, 0x401e, PROC2_EPT | PROC2_EPT_VE);
	put(cpu, 0x202a, 0x7004);
	assert_string_equal(vmx_check_controls(cpu).check,
			    "virtualization-exception information address");
	put(cpu, 0x202a, 0x7000);
	assert_null(vmx_check_controls(cpu).check);
	/* VM functions (26.2.1.1): only the functions IA32_VMX_VMFUNC allows;
	 * EPTP switching needs EPT and an EPTP-list address 4 KiB aligned within
	 * MAXPHYADDR. */
	put(cpu, 0x401e, PROC2_VMFUNC);
	put(cpu, 0x2018, 2);
	assert_string_equal(vmx_check_controls(cpu).check,
			    "VM-function controls or EPTP-list address");
	put(cpu, 0x2018, 1);
	assert_string_equal(vmx_check_controls(cpu).check,
			    "VM-function controls or EPTP-list address");
	put(cpu, 0x401e, PROC2_VMFUNC | PROC2_EPT);
	put(cpu, 0x2024, 0x6800);
	assert_string_equal(vmx_check_controls(cpu).check,
			    "VM-function controls or EPTP-list address");
	put(cpu, 0x2024, 0x6000);
	assert_null(vmx_check_controls(cpu).check);
	put(cpu, 0x2018, 0);
	put(cpu, 0x2024, 0x6800); /* no EPTP switching: the address is not looked at */
	assert_null(vmx_check_controls(cpu).check);
	/* Virtual NMIs and the NMI window together are valid. */
	put(cpu, 0x4000, 0x16 | PIN_NMI | PIN_VIRTUAL_NMI);
	put(cpu, 0x4002, 0x0401e172 | PROC_NMI_WINDOW);
	put(cpu, 0x4016, 0);
	assert_null(vmx_check_controls(cpu).check);
	(void)get;
	bare_cpu_destroy(cpu);
}

/* The VMX-preemption timer (25.5.1, 26.7.4, 27.3.1) on the instruction-count
 * clock of a bare CPU: it expires when TSC bit 5 has changed `value` times. */
static void
preemption_timer(void **unused)
{
	(void)unused;
	struct cpu *cpu = make_cpu("max");
	valid_vmcs(cpu);
	put(cpu, 0x4000, 0x16 | PIN_PREEMPT_TIMER);
	put(cpu, 0x400c, 0x36dff | EXIT_SAVE_PREEMPT);
	assert_null(vmx_check_controls(cpu).check);
	cpu->state.tsc_offset = 0;
	cpu->icount = 1000; /* TSC 1000: bit 5 changes next at 1024 */
	put(cpu, 0x482e, 10);
	vmx_preempt_start(cpu);
	assert_int_equal(cpu->events & EV_VMX_TIMER, 0);
	cpu->icount = (1000 / 32 + 10) * 32 - 1; /* nine changes */
	assert_false(vmx_preempt_expired(cpu));
	cpu->icount = 1024 + 64; /* three ticks: 7 left are saved */
	vmx_preempt_stop(cpu, false);
	assert_int_equal(get(cpu, 0x482e), 7);
	assert_false(cpu->vmx->preempt_on);
	put(cpu, 0x482e, 10);
	cpu->icount = 1000;
	vmx_preempt_start(cpu);
	cpu->icount = (1000 / 32 + 10) * 32; /* the tenth */
	assert_true(vmx_preempt_expired(cpu));
	vmx_preempt_stop(cpu, true);
	assert_int_equal(get(cpu, 0x482e), 0);
	/* Without the save control the field keeps the value VM entry loaded. */
	put(cpu, 0x400c, 0x36dff);
	put(cpu, 0x482e, 10);
	vmx_preempt_start(cpu);
	cpu->icount += 5 * 32;
	vmx_preempt_stop(cpu, false);
	assert_int_equal(get(cpu, 0x482e), 10);
	/* Value 0: expired at VM entry, looked at on the first boundary. */
	put(cpu, 0x482e, 0);
	vmx_preempt_start(cpu);
	assert_true(vmx_preempt_expired(cpu));
	assert_int_equal(cpu->events & EV_VMX_TIMER, EV_VMX_TIMER);
	bare_cpu_destroy(cpu);
}

/* The EPT pointer check (26.2.1.1): memory type UC or WB, a 4-level walk,
 * bits 11:7 and 63:MAXPHYADDR reserved; A/D (bit 6) allowed. */
static void
eptp_checks(void **unused)
{
	(void)unused;
	struct cpu *cpu = make_cpu("max");
	assert_true(vmx_eptp_ok(cpu, 0x10001e));  /* WB, length 4 */
	assert_true(vmx_eptp_ok(cpu, 0x100018));  /* UC */
	assert_true(vmx_eptp_ok(cpu, 0x10005e));  /* A/D */
	assert_false(vmx_eptp_ok(cpu, 0x100019)); /* WC: not reported */
	assert_false(vmx_eptp_ok(cpu, 0x100016)); /* 3 levels */
	assert_true(vmx_eptp_ok(cpu, 0x100026));  /* 5 levels (EPT_VPID_CAP bit 7) */
	assert_false(vmx_eptp_ok(cpu, 0x10002e)); /* 6 levels */
	assert_false(vmx_eptp_ok(cpu, 0x10009e)); /* bit 7 */
	assert_false(vmx_eptp_ok(cpu, 0x10081e)); /* bit 11 */
	assert_false(vmx_eptp_ok(cpu, (1ull << cpu->maxphyaddr) | 0x1e));
	/* Unrestricted guest (26.3.1.1, 26.3.1.2): CR0.PE and PG may be 0, CS
	 * may be a data segment (type 3, DPL 0), SS.DPL need not equal its RPL
	 * but is 0 with PE clear; PG without PE stays invalid. */
	valid_vmcs(cpu);
	put(cpu, 0x4002, 0x0401e172 | PROC_SECONDARY);
	put(cpu, 0x401e, PROC2_EPT | PROC2_UNRESTRICTED);
	put(cpu, 0x201a, 0x10001e);
	assert_null(vmx_check_controls(cpu).check);
	assert_null(vmx_check_guest(cpu).check);
	put(cpu, 0x6800, 0x30); /* real mode: NE, ET */
	assert_null(vmx_check_guest(cpu).check);
	put(cpu, 0x4816, 0xc093); /* CS type 3 */
	assert_null(vmx_check_guest(cpu).check);
	put(cpu, 0x4816, 0xc0f3); /* ... with DPL 3 */
	assert_string_equal(vmx_check_guest(cpu).check, "guest CS access rights");
	put(cpu, 0x4816, 0xc093);
	put(cpu, 0x4818, 0xc0f3); /* SS.DPL 3 with PE clear */
	assert_string_equal(vmx_check_guest(cpu).check,
			    "guest SS/DS/ES/FS/GS access rights and limits");
	put(cpu, 0x4818, 0xc093);
	put(cpu, 0x6800, 0x80000030); /* PG without PE */
	assert_string_equal(vmx_check_guest(cpu).check, "guest CR0/CR4 fixed bits");
	put(cpu, 0x6800, 0x30);
	put(cpu, 0x401e, PROC2_EPT); /* the same guest, restricted */
	assert_string_equal(vmx_check_guest(cpu).check, "guest CR0/CR4 fixed bits");
	put(cpu, 0x6800, 0x80000031);
	assert_string_equal(vmx_check_guest(cpu).check, "guest CS access rights");
	bare_cpu_destroy(cpu);
}

/* The EPT walk (29.3): tables at 100000h..., each case an access and the
 * outcome with its exit qualification (table 28-7). */
static void
e8(struct cpu *cpu, uint64_t pa, uint64_t v)
{
	physmem_write_sized(cpu->mem, pa, v, 8);
}
static enum mmu_s2_status
ept(struct cpu *cpu, uint64_t gpa, enum tlb_access kind, bool lin_valid, bool ps,
    enum mmu_effects eff, uint64_t *pa, uint64_t *qual)
{
	struct mmu_s2_access a = { .gpa = gpa,
				   .lin = 0x1234,
				   .kind = kind,
				   .lin_valid = lin_valid,
				   .paging_structure = ps,
				   .effects = eff };
	*pa = *qual = ~0ull;
	return cpu->vmx_ept.translate(cpu->vmx_ept.opaque, &a, pa, qual);
}
static void
ept_walk(void **unused)
{
	(void)unused;
	struct cpu *cpu = make_cpu("max");
	memset(cpu->vmx->f, 0, sizeof(cpu->vmx->f));
	put(cpu, 0x4002, PROC_SECONDARY);
	put(cpu, 0x401e, PROC2_EPT);
	put(cpu, 0x201a, 0x10001e);
	vmx_ept_enter(cpu);
	assert_non_null(vmx_stage2(cpu));
	e8(cpu, 0x100000, 0x101007);          /* PML4E 0 */
	e8(cpu, 0x101000, 0x102007);          /* PDPTE 0 */
	e8(cpu, 0x101008, 0x400000b7ull);     /* PDPTE 1: 1 GiB, WB, RWX */
	e8(cpu, 0x102000, 0x103007);          /* PDE 0 */
	e8(cpu, 0x102008, 0x2000b3);          /* PDE 1: 2 MiB, WB, RW */
	e8(cpu, 0x102010, 0x4020b7);          /* PDE 2: 2 MiB with bit 13 set */
	e8(cpu, 0x102018, 0x104001);          /* PDE 3: read-only table */
	e8(cpu, 0x104000, 0x300032);          /* ... whose PTE 0 is write-only */
	e8(cpu, 0x103000 + 8 * 5, 0x205037);  /* RWX, WB */
	e8(cpu, 0x103000 + 8 * 6, 0x206031);  /* R */
	e8(cpu, 0x103000 + 8 * 7, 0x207034);  /* X only */
	e8(cpu, 0x103000 + 8 * 8, 0x208032);  /* W only: misconfiguration */
	e8(cpu, 0x103000 + 8 * 10, 0x20a017); /* memory type 2 */
	uint64_t pa, q;
	assert_int_equal(ept(cpu, 0x5123, TLB_READ, true, false, MMU_EFFECTS, &pa, &q), MMU_S2_OK);
	assert_int_equal(pa, 0x205123);
	assert_int_equal(ept(cpu, 0x5123, TLB_WRITE, true, false, MMU_EFFECTS, &pa, &q), MMU_S2_OK);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x103028, 8), 0x205037); /* no A/D */
	/* Violations: the access (2:0), the rights (5:3), linear valid (7), a
	 * translation rather than a paging-structure access (8). */
	assert_int_equal(ept(cpu, 0x6000, TLB_WRITE, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_VIOLATION);
	assert_int_equal(q, 0x18a);
	assert_int_equal(ept(cpu, 0x6000, TLB_EXEC, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_VIOLATION);
	assert_int_equal(q, 0x18c);
	assert_int_equal(ept(cpu, 0x6000, TLB_READ, true, false, MMU_EFFECTS, &pa, &q), MMU_S2_OK);
	assert_int_equal(ept(cpu, 0x7000, TLB_READ, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_VIOLATION);
	assert_int_equal(q, 0x1a1);
	assert_int_equal(ept(cpu, 0x7000, TLB_EXEC, true, false, MMU_EFFECTS, &pa, &q), MMU_S2_OK);
	assert_int_equal(pa, 0x207000);
	/* Not present: rights 0; a paging-structure access; no linear address. */
	assert_int_equal(ept(cpu, 0x9000, TLB_READ, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_VIOLATION);
	assert_int_equal(q, 0x181);
	assert_int_equal(ept(cpu, 0x9000, TLB_READ, true, true, MMU_EFFECTS, &pa, &q),
			 MMU_S2_VIOLATION);
	assert_int_equal(q, 0x81);
	assert_int_equal(ept(cpu, 0x9000, TLB_READ, false, true, MMU_EFFECTS, &pa, &q),
			 MMU_S2_VIOLATION);
	assert_int_equal(q, 0x1);
	assert_int_equal(ept(cpu, 0x80000000ull, TLB_READ, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_VIOLATION); /* PDPTE 2 not present */
	/* Misconfigurations: write without read, memory type 2, a reserved bit
	 * of a 2 MiB page; one below a read-only level wins over the violation
	 * the write would be (29.3.3). */
	assert_int_equal(ept(cpu, 0x8000, TLB_READ, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_MISCONFIG);
	assert_int_equal(q, 0);
	assert_int_equal(ept(cpu, 0xa000, TLB_READ, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_MISCONFIG);
	assert_int_equal(ept(cpu, 0x400000, TLB_READ, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_MISCONFIG);
	assert_int_equal(ept(cpu, 0x600000, TLB_WRITE, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_MISCONFIG);
	/* Large pages. */
	assert_int_equal(ept(cpu, 0x2abcde, TLB_WRITE, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_OK);
	assert_int_equal(pa, 0x2abcde);
	assert_int_equal(ept(cpu, 0x2abcde, TLB_EXEC, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_VIOLATION);
	assert_int_equal(q, 0x19c);
	assert_int_equal(ept(cpu, 0x7fff1234, TLB_EXEC, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_OK);
	assert_int_equal(pa, 0x7fff1234);
	/* Accessed and dirty flags (EPTP bit 6; 29.3.5): A on every entry used,
	 * D on the leaf of a write; a guest paging-structure access is a write
	 * (a violation then reports read and write); a probe changes nothing. */
	put(cpu, 0x201a, 0x10005e);
	assert_int_equal(ept(cpu, 0x6000, TLB_READ, true, false, MMU_PROBE, &pa, &q), MMU_S2_OK);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x103030, 8), 0x206031);
	assert_int_equal(ept(cpu, 0x6000, TLB_READ, true, false, MMU_EFFECTS, &pa, &q), MMU_S2_OK);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x103030, 8), 0x206131);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x102000, 8), 0x103107);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x101000, 8), 0x102107);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x100000, 8), 0x101107);
	assert_int_equal(ept(cpu, 0x5000, TLB_WRITE, true, false, MMU_EFFECTS, &pa, &q), MMU_S2_OK);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x103028, 8), 0x205337);
	assert_int_equal(ept(cpu, 0x6000, TLB_READ, true, true, MMU_EFFECTS, &pa, &q),
			 MMU_S2_VIOLATION);
	assert_int_equal(q, 0x8b);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x103030, 8), 0x206131);
	/* A walk that ends in a misconfiguration or a violation has set A on
	 * the non-leaf entries it followed, not on the leaf (29.3.5). */
	assert_int_equal(ept(cpu, 0x600000, TLB_READ, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_MISCONFIG);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x102018, 8), 0x104101);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x104000, 8), 0x300032);
	e8(cpu, 0x102020, 0x105001); /* PDE 4: a read-only table */
	e8(cpu, 0x105000, 0x400037); /* ... whose PTE 0 is RWX */
	assert_int_equal(ept(cpu, 0x800000, TLB_WRITE, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_VIOLATION);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x102020, 8), 0x105101);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x105000, 8), 0x400037);
	assert_int_equal(ept(cpu, 0x801000, TLB_READ, true, false, MMU_PROBE, &pa, &q),
			 MMU_S2_VIOLATION); /* PTE 1 not present */
	/* PML (29.3.6): a dirty flag set 0 -> 1 logs the 4 KiB-aligned
	 * guest-physical address at PML address + 8 * index, then the index
	 * goes down; a write to a dirty page or a read logs nothing; with the
	 * index outside 0-511 a log-full event, and no flag is set. */
	put(cpu, 0x401e, PROC2_EPT | PROC2_PML);
	put(cpu, 0x200e, 0x110000);
	put(cpu, 0x0812, 1);
	vmx_ept_enter(cpu);
	assert_int_equal(ept(cpu, 0x5abc, TLB_WRITE, true, false, MMU_EFFECTS, &pa, &q), MMU_S2_OK);
	assert_int_equal(get(cpu, 0x0812), 1); /* 5000h was dirty already */
	assert_int_equal(ept(cpu, 0x7000, TLB_EXEC, true, false, MMU_EFFECTS, &pa, &q), MMU_S2_OK);
	assert_int_equal(ept(cpu, 0x2abcde, TLB_WRITE, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_OK);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x110008, 8), 0x2ab000);
	assert_int_equal(get(cpu, 0x0812), 0);
	assert_int_equal(ept(cpu, 0x6000, TLB_READ, true, true, MMU_EFFECTS, &pa, &q),
			 MMU_S2_VIOLATION); /* no write right: nothing logged */
	e8(cpu, 0x103000 + 8 * 6, 0x206033);
	assert_int_equal(ept(cpu, 0x6008, TLB_READ, true, true, MMU_EFFECTS, &pa, &q), MMU_S2_OK);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x110000, 8), 0x6000);
	assert_int_equal(get(cpu, 0x0812), 0xffff);
	e8(cpu, 0x103000 + 8 * 7, 0x207037);
	assert_int_equal(ept(cpu, 0x7000, TLB_WRITE, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_PML_FULL);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x103038, 8), 0x207037);
	assert_int_equal(ept(cpu, 0x7000, TLB_WRITE, true, false, MMU_PROBE, &pa, &q), MMU_S2_OK);
	/* Log full: an accessed flag to set is enough; a page with A set is not. */
	e8(cpu, 0x103000 + 8 * 11, 0x20b037);
	assert_int_equal(ept(cpu, 0xb000, TLB_READ, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_PML_FULL);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x103058, 8), 0x20b037);
	assert_int_equal(ept(cpu, 0x5000, TLB_READ, true, false, MMU_EFFECTS, &pa, &q), MMU_S2_OK);
	put(cpu, 0x0812, 0);
	assert_int_equal(ept(cpu, 0x7000, TLB_WRITE, true, false, MMU_EFFECTS, &pa, &q), MMU_S2_OK);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x110000, 8), 0x7000);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x103038, 8), 0x207337);
	/* A 5-level walk (EPTP bits 5:3 = 4): a PML5 table above the same PML4;
	 * its entry gets A, its bits 7:3 are reserved (29.3.2, 29.3.3.1). */
	put(cpu, 0x401e, PROC2_EPT);
	put(cpu, 0x201a, 0x10f066);
	vmx_ept_enter(cpu);
	e8(cpu, 0x10f000, 0x100007);
	assert_int_equal(ept(cpu, 0x5123, TLB_READ, true, false, MMU_EFFECTS, &pa, &q), MMU_S2_OK);
	assert_int_equal(pa, 0x205123);
	assert_int_equal(physmem_read_sized(cpu->mem, 0x10f000, 8), 0x100107);
	e8(cpu, 0x10f000, 0x100087);
	assert_int_equal(ept(cpu, 0x5123, TLB_READ, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_MISCONFIG);
	e8(cpu, 0x10f000, 0);
	assert_int_equal(ept(cpu, 0x5123, TLB_READ, true, false, MMU_EFFECTS, &pa, &q),
			 MMU_S2_VIOLATION);
	assert_int_equal(q, 0x181);
	/* A guest paging-structure access (or PDPTE load) whose address
	 * translates to the APIC-access page is an APIC access (29.4.6.1); the
	 * final access of a translation is not (the TLB path judges it). */
	e8(cpu, 0x10f000, 0x100007);
	cpu->vmx->apic_access_on = true;
	cpu->vmx->apic_access_pa = 0x205000;
	assert_int_equal(ept(cpu, 0x5018, TLB_READ, true, true, MMU_EFFECTS, &pa, &q),
			 MMU_S2_APIC_ACCESS);
	assert_int_equal(ept(cpu, 0x5018, TLB_READ, false, true, MMU_EFFECTS, &pa, &q),
			 MMU_S2_APIC_ACCESS);
	assert_int_equal(ept(cpu, 0x5018, TLB_WRITE, true, true, MMU_PROBE, &pa, &q),
			 MMU_S2_APIC_ACCESS);
	assert_int_equal(ept(cpu, 0x5018, TLB_READ, true, false, MMU_EFFECTS, &pa, &q), MMU_S2_OK);
	assert_int_equal(pa, 0x205018);
	assert_int_equal(ept(cpu, 0x6018, TLB_READ, true, true, MMU_EFFECTS, &pa, &q), MMU_S2_OK);
	cpu->vmx->apic_access_on = false;
	assert_int_equal(ept(cpu, 0x5018, TLB_READ, true, true, MMU_EFFECTS, &pa, &q), MMU_S2_OK);
	/* Without "enable EPT" there is no second stage. */
	put(cpu, 0x401e, 0);
	vmx_ept_enter(cpu);
	assert_null(vmx_stage2(cpu));
	bare_cpu_destroy(cpu);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(field_table),  cmocka_unit_test(capability_msrs),
		cmocka_unit_test(entry_checks), cmocka_unit_test(preemption_timer),
		cmocka_unit_test(eptp_checks),  cmocka_unit_test(ept_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
