/*
 * Fuzz harness: the CPU executing random code from a random state on the
 * bare machine (testsuite/conformance/bare_machine.h: RAM, no devices, every
 * port reads all ones). The first byte picks the mode (modulo 14; 0-2 keep
 * their first meaning, the corpus depends on them):
 *
 *   0  real mode, CS = 1000h, IP 0; no IVT set up
 *   1  32-bit protected mode, flat, CPL 0, empty IDT (a fault triple-faults)
 *   2  64-bit mode on an identity-mapped 2 MiB page, CPL 0, empty IDT
 *   3  virtual-8086 mode, IOPL 3               4  V86, IOPL 0
 *   5  V86, IOPL 0, CR4.VME                    6  V86, IOPL 3, CR4.VME
 *   7  compatibility mode, 32-bit CS, CPL 0    8  compatibility mode, 16-bit CS
 *   9  16-bit protected mode, CPL 0           10  32-bit protected mode, CPL 3
 *  11  64-bit mode, CPL 3                     12  16-bit protected mode, CPL 3
 *  13  compatibility mode, 16-bit CS, CPL 3
 *
 * Modes 3-13 have a GDT, a TSS (ring-0 stack, V86 interrupt redirection
 * bitmap, I/O permission bitmap) and an IDT whose 256 gates (DPL 3, so INT n
 * reaches them from CPL 3) lead to ring-0 handlers that come back one byte
 * past the saved address for vectors 0-31 (a fault does not repeat forever),
 * IRET for 32-255, HLT for #DF and #MC; in IA-32e mode #DF and NMI switch
 * stacks through IST1. A fault thus goes somewhere and comes back.
 *
 * The next 128 bytes are the 16 general registers; the rest is the code, at
 * physical 0x10000 (offset 0 of a 16-bit code segment based there). A budget
 * of instructions bounds each run; nothing may crash, report a sanitizer
 * error or hang.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_internal.h"
#include "cpu/tcache.h"
#include "testsuite/conformance/bare_machine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define CODE 0x10000
#define PML4 0x1000
#define PDPT 0x2000
#define PD 0x3000
#define GDT 0x4000
#define IDT 0x5000
#define TSS 0x6000
#define TSS_IOMAP 0x88               /* interrupt redirection bitmap: the 32 bytes before it */
#define TSS_LIMIT (TSS_IOMAP + 8192) /* the bitmap and its all-ones end byte */
#define STACK0 0x9ff0
#define IST1 0x97f0
#define HANDLERS 0xa000
#define NMODES 14

/* GDT selectors (modes 3-13) */
#define SEL_C32 0x08
#define SEL_D32 0x10
#define SEL_C32U 0x18
#define SEL_D32U 0x20
#define SEL_C16 0x28
#define SEL_D16 0x30
#define SEL_C16U 0x38
#define SEL_D16U 0x40
#define SEL_C64 0x48
#define SEL_C64U 0x50
#define SEL_TSS 0x58 /* 16 bytes: an IA-32e TSS descriptor takes two slots */

static struct machine m;

static void
poke64(uint64_t pa, uint64_t v)
{
	physmem_write(m.mem, pa, &v, 8);
}

static void
poke(uint64_t pa, const void *p, size_t n)
{
	physmem_write(m.mem, pa, p, n);
}

/* The cached form of each GDT slot below SEL_TSS, as a load of its selector
 * (RPL 0) gives it. */
static struct segment gdt_cache[SEL_TSS >> 3];

/* A descriptor (SDM vol. 3A, 3.4.5) for `attr` packed as struct segment has it,
 * written at its selector's slot in the GDT; returns the cached form. */
static struct segment
gdt_seg(uint16_t sel, uint32_t base, uint32_t raw_limit, uint16_t attr)
{
	uint64_t d = (raw_limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 |
		     (uint64_t)(attr & 0xff) << 40 | (uint64_t)((raw_limit >> 16) & 0xf) << 48 |
		     (uint64_t)((attr >> 8) & 0xf) << 52 | (uint64_t)(base >> 24) << 56;
	poke64(GDT + (sel & ~7u), d);
	uint32_t limit = (attr & SEG_ATTR_G) ? raw_limit << 12 | 0xfff : raw_limit;
	struct segment seg = { .sel = sel, .base = base, .limit = limit, .attr = attr };
	if ((sel >> 3) < SEL_TSS >> 3)
		gdt_cache[sel >> 3] = seg;
	return seg;
}

/* The GDT, TSS, IDT and handlers of modes 3-13 (`ia32e`: 16-byte gates to
 * 64-bit handlers, a 64-bit TSS). */
static void
set_tables(struct cpu *cpu, bool ia32e)
{
	const uint16_t g32 = SEG_ATTR_DB | SEG_ATTR_G;
	gdt_seg(SEL_C32, 0, 0xfffff, 0x9b | g32);
	gdt_seg(SEL_D32, 0, 0xfffff, 0x93 | g32);
	gdt_seg(SEL_C32U, 0, 0xfffff, 0xfb | g32);
	gdt_seg(SEL_D32U, 0, 0xfffff, 0xf3 | g32);
	gdt_seg(SEL_C16, CODE, 0xffff, 0x9b);
	gdt_seg(SEL_D16, CODE, 0xffff, 0x93);
	gdt_seg(SEL_C16U, CODE, 0xffff, 0xfb);
	gdt_seg(SEL_D16U, CODE, 0xffff, 0xf3);
	gdt_seg(SEL_C64, 0, 0xfffff, 0x9b | SEG_ATTR_L | SEG_ATTR_G);
	gdt_seg(SEL_C64U, 0, 0xfffff, 0xfb | SEG_ATTR_L | SEG_ATTR_G);
	/* A busy TSS (type 11: 32-bit, or 64-bit in IA-32e mode; vol. 3A, 7.2.2, 7.7) */
	cpu->state.tr = gdt_seg(SEL_TSS, TSS, TSS_LIMIT, 0x8b);
	poke64(GDT + SEL_TSS + 8, 0);
	cpu->state.gdtr.base = GDT;
	cpu->state.gdtr.limit = SEL_TSS + 15;

	/* The TSS: ring-0 stack (vol. 3A, 7.2.1, 7.7), the V86 interrupt redirection
	 * bitmap (20.3.3: a clear bit sends INT n to the V86 IVT under CR4.VME) and
	 * the I/O permission bitmap (19.5.2), half of each allowing. */
	uint8_t tss[TSS_LIMIT + 1];
	memset(tss, 0, sizeof(tss));
	if (ia32e) {
		uint64_t rsp0 = STACK0, ist1 = IST1;
		memcpy(tss + 4, &rsp0, 8);
		memcpy(tss + 0x24, &ist1, 8);
	} else {
		uint32_t esp0 = STACK0, ss0 = SEL_D32;
		memcpy(tss + 4, &esp0, 4);
		memcpy(tss + 8, &ss0, 4);
	}
	tss[0x66] = TSS_IOMAP;
	memset(tss + TSS_IOMAP - 32, 0x5a, 32);
	for (unsigned k = 0; k < 8192; k += 64)
		memset(tss + TSS_IOMAP + k, (k / 64) & 1 ? 0xff : 0x00, 64);
	tss[TSS_LIMIT] = 0xff;
	poke(TSS, tss, sizeof(tss));

	/* Handlers. A fault pushes the address of the faulting instruction, so
	 * returning there repeats it until the budget ends the run: the handler
	 * of vectors 0-31 returns one byte further on (the code goes on from the
	 * next byte, in step or not), dropping the error code of the vectors that
	 * push one; vectors 32-255 (INT n only, on this machine) IRET; #DF and
	 * #MC halt. */
	static const uint8_t h32[] = { 0xff, 0x04, 0x24, 0xcf }; /* inc dword [esp]; iretd */
	static const uint8_t h32e[] = { 0x83, 0xc4, 0x04, 0xff, 0x04, 0x24, 0xcf }; /* add esp, 4 */
	static const uint8_t h64[] = {
		0x48, 0xff, 0x04, 0x24, 0x48, 0xcf
	}; /* inc qword [rsp]; iretq */
	static const uint8_t h64e[] = {
		0x48, 0x83, 0xc4, 0x08, 0x48, 0xff, 0x04, 0x24, 0x48, 0xcf
	};
	static const uint8_t hlt[] = { 0xf4, 0xeb, 0xfd };
	static const uint8_t iret32[] = { 0xcf }, iret64[] = { 0x48, 0xcf };
	poke(HANDLERS, ia32e ? h64 : h32, ia32e ? sizeof(h64) : sizeof(h32));
	poke(HANDLERS + 0x10, ia32e ? h64e : h32e, ia32e ? sizeof(h64e) : sizeof(h32e));
	poke(HANDLERS + 0x20, hlt, sizeof(hlt));
	poke(HANDLERS + 0x30, ia32e ? iret64 : iret32, ia32e ? sizeof(iret64) : sizeof(iret32));
	/* 32-bit (or IA-32e) interrupt gates, DPL 3 (vol. 3A, 6.11, 6.14.1) */
	for (unsigned v = 0; v < 256; v++) {
		bool err =
			v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
		uint32_t off = v == 8 || v == 18 ? HANDLERS + 0x20
			       : v >= 32         ? HANDLERS + 0x30
			       : err             ? HANDLERS + 0x10
						 : HANDLERS;
		uint16_t sel = ia32e ? SEL_C64 : SEL_C32;
		uint64_t gate = (off & 0xffff) | (uint64_t)sel << 16 | (uint64_t)0xee << 40 |
				(uint64_t)(off >> 16) << 48;
		if (ia32e) {
			if (v == 8 || v == 2)
				gate |= 1ull << 32; /* IST1 */
			poke64(IDT + v * 16, gate);
			poke64(IDT + v * 16 + 8, 0);
		} else {
			poke64(IDT + v * 8, gate);
		}
	}
	cpu->state.idtr.base = IDT;
	cpu->state.idtr.limit = ia32e ? 256 * 16 - 1 : 256 * 8 - 1;
}

/* Paging for IA-32e mode: an identity-mapped 2 MiB page, user pages when `user`. */
static void
set_long(struct cpu *cpu, bool user)
{
	uint64_t u = user ? 4 : 0;
	poke64(PML4, PDPT | 0x23 | u);
	poke64(PDPT, PD | 0x23 | u);
	poke64(PD, 0x000000e3 | u); /* 2 MiB page at 0: P RW (US) A D PS */
	cpu->state.cr0 |= CR0_PG;
	cpu->state.cr4 = CR4_PAE;
	cpu->state.cr3 = PML4;
	cpu->state.efer = EFER_LME | EFER_LMA;
}

/* Modes 7-13: code and data selectors (RPL = CPL) and whether in IA-32e mode. */
static const struct {
	uint16_t cs, ds;
	uint8_t cpl;
	bool ia32e;
} pmodes[NMODES] = {
	[7] = { SEL_C32, SEL_D32, 0, true },    [8] = { SEL_C16, SEL_D16, 0, true },
	[9] = { SEL_C16, SEL_D16, 0, false },   [10] = { SEL_C32U, SEL_D32U, 3, false },
	[11] = { SEL_C64U, SEL_D32U, 3, true }, [12] = { SEL_C16U, SEL_D16U, 3, false },
	[13] = { SEL_C16U, SEL_D16U, 3, true },
};

static void
set_new_mode(struct cpu *cpu, unsigned mode)
{
	bool v86 = mode <= 6;
	bool ia32e = pmodes[mode].ia32e;
	cpu->state.cr0 = CR0_PE | CR0_ET | CR0_NE;
	if (ia32e)
		set_long(cpu, pmodes[mode].cpl == 3);
	set_tables(cpu, ia32e);
	if (v86) { /* V86 (vol. 3A, 20.2): segments as real mode's, CPL 3 */
		for (int s = 0; s < 6; s++)
			cpu->state.seg[s] = (struct segment){
				.sel = CODE >> 4, .base = CODE, .limit = 0xffff, .attr = 0xf3
			};
		cpu->state.rip = 0;
		cpu->state.cpl = 3;
		if (mode == 5 || mode == 6)
			cpu->state.cr4 |= CR4_VME;
		cpu_set_rflags(cpu, F_FIXED1 | F_IF | F_VM | (mode == 3 || mode == 6 ? F_IOPL : 0));
		return;
	}
	unsigned cpl = pmodes[mode].cpl;
	struct segment cs = gdt_cache[pmodes[mode].cs >> 3], ds = gdt_cache[pmodes[mode].ds >> 3];
	cs.sel |= (uint16_t)cpl;
	ds.sel |= (uint16_t)cpl;
	for (int s = 0; s < 6; s++)
		cpu->state.seg[s] = ds;
	cpu->state.seg[S_CS] = cs;
	cpu->state.rip = cs.base == CODE ? 0 : CODE;
	cpu->state.cpl = (uint8_t)cpl;
	cpu_set_rflags(cpu, F_FIXED1 | F_IF);
}

static void
set_mode(struct cpu *cpu, unsigned mode)
{
	if (mode >= 3) {
		set_new_mode(cpu, mode);
		tlb_flush_all(&cpu->tlb);
		cpu_mode_update(cpu);
		return;
	}
	struct segment data = { .sel = 0x10,
				.attr = 0x93 | SEG_ATTR_DB | SEG_ATTR_G,
				.limit = 0xffffffff };
	struct segment code = { .sel = 0x08,
				.attr = 0x9b | SEG_ATTR_DB | SEG_ATTR_G,
				.limit = 0xffffffff };
	if (mode == 0) { /* real mode: CS = 0x1000, IP = 0 */
		for (int s = 0; s < 6; s++)
			cpu->state.seg[s] = (struct segment){
				.sel = 0x1000, .base = 0x10000, .limit = 0xffff, .attr = 0x93
			};
		cpu->state.seg[S_CS].attr = 0x9b;
		cpu->state.rip = 0;
		cpu_set_rflags(cpu, F_FIXED1);
		return;
	}
	cpu->state.cr0 = CR0_PE | CR0_ET | CR0_NE;
	if (mode == 2) {
		poke64(PML4, PDPT | 0x23);
		poke64(PDPT, PD | 0x23);
		poke64(PD, 0x000000e3); /* 2 MiB page at 0: P RW A D PS */
		cpu->state.cr0 |= CR0_PG;
		cpu->state.cr4 = CR4_PAE;
		cpu->state.cr3 = PML4;
		cpu->state.efer = EFER_LME | EFER_LMA;
		code.attr = 0x9b | SEG_ATTR_L | SEG_ATTR_G;
	}
	for (int s = 0; s < 6; s++)
		cpu->state.seg[s] = data;
	cpu->state.seg[S_CS] = code;
	cpu->state.rip = CODE;
	cpu->state.cpl = 0;
	tlb_flush_all(&cpu->tlb);
	cpu_set_rflags(cpu, F_FIXED1);
}

/* The machine is made once, before the first input (made lazily, the first
 * input of each AFL++ persistent-mode process ran code the others did not). */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char err[128];
	if (!bare_machine_create(&m, "max", 2u << 20, err, sizeof(err)))
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 + 128)
		return 0;
	struct cpu *cpu = m.cpu;
	cpu_reset(cpu);
	/* The same machine for every input: all of RAM (code may write anywhere
	 * in it, and the next input's code read it), and the instruction count
	 * that time and the TSC come from (a reset keeps it). */
	memset(m.mem->ram, 0, m.mem->ram_size);
	cpu->icount = 0;
	set_mode(cpu, data[0] % NMODES);
	memcpy(cpu->state.gpr, data + 1, 128);
	size_t n = size - 129;
	if (n > 0x8000)
		n = 0x8000;
	physmem_write(m.mem, CODE, data + 129, n);
	tcache_flush(cpu);
	for (int k = 0; k < 2; k++) {
		enum cpu_exit r = cpu_exec(cpu, 500);
		if (r == CPU_EXIT_TRIPLE_FAULT || r == CPU_EXIT_UNMODELLED || r == CPU_EXIT_HALT)
			break;
	}
	return 0;
}
