/*
 * A bare machine in 64-bit mode for the conformance harnesses (hostdiff.c,
 * jitdiff.c): a 64 KiB area of linear memory at AREA_LIN mapped by 4 KiB pages
 * onto AREA_PHYS, a flat GDT, a TSS with an exception stack, and an IDT whose
 * 32 exception vectors each lead to a HLT at HANDLER_LIN + vector, so a fault
 * ends a run in HLT with the vector in RIP.
 */
#ifndef FUGU_LONG_MACHINE_H
#define FUGU_LONG_MACHINE_H

#include "bare_machine.h"
#include "cpu/cpu.h"
#include "mmu/physmem.h"

#define AREA_LIN 0x3f000000u          /* below 2 GiB: absolute disp32 operands reach it */
#define CODE_LIN AREA_LIN             /* the code page (hostdiff: host prologue at +0) */
#define DATA_LIN (AREA_LIN + 0x4000u) /* the data page */
#define GDT_LIN (AREA_LIN + 0x5000u)  /* GDT, TSS at +0x100 */
#define TSS_LIN (GDT_LIN + 0x100u)
#define IDT_LIN (AREA_LIN + 0x6000u)     /* 32 gates */
#define HANDLER_LIN (AREA_LIN + 0x7000u) /* vector v's gate leads to a HLT at +v */
#define IST_TOP (AREA_LIN + 0x9000u)     /* exception stack */
#define AREA_PAGES 16u

/* Guest physical layout: page tables, then the area's pages from AREA_PHYS. */
#define PML4_PHYS 0x1000u
#define PDPT_PHYS 0x2000u
#define PD_PHYS 0x3000u
#define PT_PHYS 0x4000u
#define AREA_PHYS 0x100000u
#define GUEST_RAM (4u << 20)
#define PHYS_OF(lin) (AREA_PHYS + ((lin)-AREA_LIN))

static inline void
poke64(struct machine *m, uint64_t pa, uint64_t v)
{
	physmem_write(m->mem, pa, &v, 8);
}

/* Page tables, GDT, TSS, IDT and exception handlers in guest memory. */
static inline void
long_machine_memory(struct machine *m)
{
	poke64(m, PML4_PHYS, PDPT_PHYS | 0x23); /* P RW A */
	poke64(m, PDPT_PHYS, PD_PHYS | 0x23);
	poke64(m, PD_PHYS + 8 * (AREA_LIN >> 21), PT_PHYS | 0x23);
	for (unsigned k = 0; k < AREA_PAGES; k++)
		poke64(m, PT_PHYS + 8 * (((AREA_LIN >> 12) & 0x1ff) + k),
		       (AREA_PHYS + PAGE_SIZE * k) | 0x63);      /* P RW A D */
	poke64(m, PHYS_OF(GDT_LIN) + 8, 0x00af9b000000ffffull);  /* 8: 64-bit code */
	poke64(m, PHYS_OF(GDT_LIN) + 16, 0x00cf93000000ffffull); /* 16: data */
	poke64(m, PHYS_OF(TSS_LIN) + 0x24, IST_TOP);             /* IST1 */
	for (unsigned v = 0; v < 32; v++) {
		uint64_t off = HANDLER_LIN + v;
		uint64_t lo = (off & 0xffff) | 8ull << 16 | 1ull << 32 /* IST1 */ |
			      0x8eull << 40 /* P, interrupt gate */ | (off >> 16 & 0xffff) << 48;
		poke64(m, PHYS_OF(IDT_LIN) + 16 * v, lo);
		poke64(m, PHYS_OF(IDT_LIN) + 16 * v + 8, off >> 32);
	}
	uint8_t hlt[PAGE_SIZE];
	memset(hlt, 0xf4, sizeof(hlt));
	physmem_write(m->mem, PHYS_OF(HANDLER_LIN), hlt, 64);
	physmem_write(m->mem, PHYS_OF(CODE_LIN), hlt, PAGE_SIZE);
}

/* 64-bit mode at CPL 0 with flat segments (SDM vol. 3A, 9.8.5 describes the way in). */
static inline void
long_machine_mode(struct cpu *cpu)
{
	cpu->state.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	cpu->state.cr4 = CR4_PAE;
	cpu->state.cr3 = PML4_PHYS;
	cpu->state.efer = EFER_LME | EFER_LMA;
	struct segment data = {
		.sel = 16, .attr = 0x93 | SEG_ATTR_DB | SEG_ATTR_G, .limit = 0xffffffff, .base = 0
	};
	for (int s = 0; s < 6; s++)
		cpu->state.seg[s] = data;
	cpu->state.seg[S_CS] = (struct segment){
		.sel = 8, .attr = 0x9b | SEG_ATTR_L | SEG_ATTR_G, .limit = 0xffffffff, .base = 0
	};
	cpu->state.gdtr = (struct dtr){ .base = GDT_LIN, .limit = 23 };
	cpu->state.idtr = (struct dtr){ .base = IDT_LIN, .limit = 32 * 16 - 1 };
	cpu->state.tr =
		(struct segment){ .sel = 0x18, .attr = 0x8b, .limit = 0x67, .base = TSS_LIN };
	cpu->state.ldtr = (struct segment){ .sel = 0, .attr = 0x82, .limit = 0, .base = 0 };
	cpu->state.cpl = 0;
	cpu->state.halted = false;
	cpu->shutdown = false;
	cpu->delivering = false;
	cpu->state.intr_shadow = 0;
	cpu->events = 0;
	tlb_flush_all(&cpu->tlb);
	cpu_set_rflags(cpu, F_FIXED1); /* also recomputes the mode */
}

/* The machine in 64-bit mode with the page tables and IDT ("all": every
 * feature fugu knows, so the host's instructions all decode). */
static inline bool
long_machine_create(struct machine *m, char *err, size_t errlen)
{
	if (!bare_machine_create(m, "all", GUEST_RAM, err, errlen))
		return false;
	long_machine_memory(m);
	long_machine_mode(m->cpu);
	return true;
}

#endif
