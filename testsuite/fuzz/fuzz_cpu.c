/*
 * Fuzz harness: the CPU executing random code from a random state on the
 * bare machine (testsuite/conformance/bare_machine.h: RAM, no devices, every
 * port reads all ones). The first byte picks the mode: real mode, 32-bit
 * protected mode with flat segments, or 64-bit mode on identity-mapped 2 MiB
 * pages; the next 128 bytes are the 16 general registers; the rest is the
 * code, at physical 0x10000. The IDT is empty, so a fault ends in a triple
 * fault. A budget of instructions bounds each run; nothing may crash, report
 * a sanitizer error or hang.
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

static struct machine m;

static void
poke64(uint64_t pa, uint64_t v)
{
	physmem_write(m.mem, pa, &v, 8);
}

static void
set_mode(struct cpu *cpu, unsigned mode)
{
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
	set_mode(cpu, data[0] % 3);
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
