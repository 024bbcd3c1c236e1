/*
 * fugu — the JIT against the interpreter: random 64-bit programs run from the
 * same state on two machines, one interpreting and one compiling every trace
 * at its first run (-jit always), for a random budget of instructions; the
 * registers, RIP, RFLAGS, the instruction and fault counts, CR2 and the code
 * and data pages must come out identical (docs/ARCHITECTURE.md, "The JIT").
 *
 * The programs mix the instruction forms the JIT copies inline (MOV, LEA, the
 * ALU, INC/DEC, shifts and rotates, IMUL, PUSH/POP, Jcc, JMP, TZCNT/LZCNT/
 * BSF/BSR, CMPXCHG, LOCK'd read-modify-write forms) with forms it
 * hands to the interpreter (ADC/SBB, MUL/DIV, CMOVcc, SETcc, BT*, XADD,
 * CMPXCHG, PUSHF/POPF, CALL/RET ...), with random prefixes (66, REX) and
 * ModRM/SIB bytes: memory operands mostly near the data page (so loads and
 * stores hit the inline TLB path), some RIP-relative into the code page (so
 * programs modify themselves), and branches of either direction (so traces
 * loop, chain and stop mid-way at the budget). A fault ends a run in the
 * exception handler's HLT (long_machine.h).
 *
 * usage: jitdiff [-32] [PROGRAMS [SEED [INDEX]]] (default 20000 programs); TAP,
 * one test. With INDEX only that program runs (from a fresh start), to look at
 * one difference again. With -32 the same programs run in 32-bit protected
 * mode (pm32_mode: flat segments, 2-level paging with 4 KiB pages, the same
 * linear area): REX bytes are INC/DEC there, RIP-relative operands absolute
 * disp32 ones, and addresses and operands 32 bits (the JIT's 32-bit forms).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bare_machine.h"
#include "long_machine.h"

#define DEFAULT_PROGRAMS 20000u
#define DEFAULT_SEED 0x6a69746469666621ull
#define MAX_INSNS 48
#define MAX_BUDGET 400
#define DATA_MID (DATA_LIN + 0x800u) /* where the base registers point */
#define REPORTS 5

static uint64_t rng_state;
static bool mode32; /* -32: the programs run in 32-bit protected mode */

/* 32-bit protected mode (-32): a 2-level page directory and page table
 * (SDM vol. 3A, 4.3) mapping the same linear area onto the same pages, a
 * 32-bit code descriptor at GDT selector 0x20, and an IDT of 8-byte
 * interrupt gates (vol. 3A, 6.11) to the same HLTs. Exceptions push their
 * frame on the current stack (CPL 0: no stack switch). */
#define PD32_PHYS 0x5000u
#define PT32_PHYS 0x6000u
#define IDT32_LIN (IDT_LIN + 0x400u)

static void
poke32(struct machine *m, uint64_t pa, uint32_t v)
{
	physmem_write(m->mem, pa, &v, 4);
}

static void
pm32_memory(struct machine *m)
{
	poke32(m, PD32_PHYS + 4 * (AREA_LIN >> 22), PT32_PHYS | 0x23);
	for (unsigned k = 0; k < AREA_PAGES; k++)
		poke32(m, PT32_PHYS + 4 * (((AREA_LIN >> 12) & 0x3ff) + k),
		       (AREA_PHYS + PAGE_SIZE * k) | 0x63);
	poke64(m, PHYS_OF(GDT_LIN) + 32, 0x00cf9b000000ffffull); /* 0x20: 32-bit code */
	for (unsigned v = 0; v < 32; v++) {
		uint32_t off = HANDLER_LIN + v;
		poke64(m, PHYS_OF(IDT32_LIN) + 8 * v,
		       (off & 0xffff) | 0x20ull << 16 | 0x8eull << 40 |
			       (uint64_t)(off >> 16) << 48);
	}
}

static void
pm32_mode(struct cpu *cpu)
{
	long_machine_mode(cpu);
	cpu->state.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	cpu->state.cr4 = 0;
	cpu->state.cr3 = PD32_PHYS;
	cpu->state.efer = 0;
	cpu->state.seg[S_CS] = (struct segment){
		.sel = 0x20, .attr = 0x9b | SEG_ATTR_DB | SEG_ATTR_G, .limit = 0xffffffff, .base = 0
	};
	cpu->state.gdtr = (struct dtr){ .base = GDT_LIN, .limit = 39 };
	cpu->state.idtr = (struct dtr){ .base = IDT32_LIN, .limit = 32 * 8 - 1 };
	tlb_flush_all(&cpu->tlb);
	cpu_set_rflags(cpu, F_FIXED1); /* recomputes the mode */
}

static uint64_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* A number below n. */
static unsigned
below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

struct prog {
	uint8_t code[PAGE_SIZE];
	unsigned len;
};

static void
put(struct prog *p, unsigned byte)
{
	if (p->len < sizeof(p->code) - 64)
		p->code[p->len++] = (uint8_t)byte;
}

static void
put32(struct prog *p, uint32_t v)
{
	for (unsigned k = 0; k < 4; k++)
		put(p, (v >> (8 * k)) & 0xff);
}

/* A small signed number, mostly near zero. */
static int32_t
small(void)
{
	return (int32_t)below(256) - 128;
}

/* A base register pointing into the data page: RBX, RBP, RSI or RDI. */
static unsigned
base_reg(void)
{
	static const uint8_t regs[] = { 3, 5, 6, 7 };
	return regs[below(4)];
}

/* ModRM (+ SIB, displacement) with `reg` in the reg field; mem: a memory form. */
static void
modrm(struct prog *p, unsigned reg, bool mem)
{
	unsigned r = below(100);
	if (!mem && r < 50) {
		put(p, 0xc0 | (reg & 7) << 3 | below(8));
		return;
	}
	if (r < 60) { /* RIP-relative into the code page: programs modify themselves */
		put(p, (reg & 7) << 3 | 5);
		put32(p, below(256)); /* ahead of the instruction, on the code page */
		return;
	}
	if (r < 72) { /* SIB: a base, maybe an index */
		unsigned mod = below(2) + 1;
		put(p, mod << 6 | (reg & 7) << 3 | 4);
		unsigned index = below(3) ? 4 : below(8);
		put(p, below(4) << 6 | index << 3 | base_reg());
		if (mod == 1)
			put(p, (uint8_t)small());
		else
			put32(p, (uint32_t)small());
		return;
	}
	put(p, 1 << 6 | (reg & 7) << 3 | base_reg()); /* [base + disp8] */
	put(p, (uint8_t)small());
}

static void
imm(struct prog *p, unsigned bytes)
{
	uint32_t v = below(3) ? (uint32_t)small() : (uint32_t)rnd();
	for (unsigned k = 0; k < bytes; k++)
		put(p, (v >> (8 * k)) & 0xff);
}

/*
 * SSE/SSE2 (and a few SSSE3/SSE4.1) forms, the ones cpu/jit/sse.c compiles and
 * some it leaves to the handler (COMISS, PBLENDVB, MMX): mandatory prefix,
 * then REX (xmm8-15, REX.W), the opcode, ModRM and imm8. A row: prefix (0,
 * 66, F3, F2), map (1 = 0F, 2 = 0F 38, 3 = 0F 3A), opcode, imm8 follows,
 * ModRM.reg fixed (the shift groups' extension) or -1.
 */
struct sse_row {
	uint8_t pfx, map, op, imm;
	int8_t ext;
};

static const struct sse_row sse_rows[] = {
	/* moves */
	{ 0, 1, 0x10, 0, -1 },
	{ 0, 1, 0x11, 0, -1 },
	{ 0x66, 1, 0x10, 0, -1 },
	{ 0xf3, 1, 0x10, 0, -1 },
	{ 0xf3, 1, 0x11, 0, -1 },
	{ 0xf2, 1, 0x10, 0, -1 },
	{ 0xf2, 1, 0x11, 0, -1 },
	{ 0, 1, 0x28, 0, -1 },
	{ 0, 1, 0x29, 0, -1 },
	{ 0x66, 1, 0x28, 0, -1 },
	{ 0x66, 1, 0x29, 0, -1 },
	{ 0x66, 1, 0x6f, 0, -1 },
	{ 0x66, 1, 0x7f, 0, -1 },
	{ 0xf3, 1, 0x6f, 0, -1 },
	{ 0xf3, 1, 0x7f, 0, -1 },
	{ 0x66, 1, 0x6e, 0, -1 },
	{ 0x66, 1, 0x7e, 0, -1 },
	{ 0xf3, 1, 0x7e, 0, -1 },
	{ 0x66, 1, 0xd6, 0, -1 },
	{ 0, 1, 0x12, 0, -1 },
	{ 0, 1, 0x13, 0, -1 },
	{ 0, 1, 0x16, 0, -1 },
	{ 0x66, 1, 0x17, 0, -1 },
	{ 0, 1, 0x2b, 0, -1 },
	{ 0x66, 1, 0xe7, 0, -1 },
	{ 0xf2, 1, 0xf0, 0, -1 },
	{ 0xf2, 1, 0x12, 0, -1 },
	/* packed integer */
	{ 0x66, 1, 0xef, 0, -1 },
	{ 0x66, 1, 0xdb, 0, -1 },
	{ 0x66, 1, 0xeb, 0, -1 },
	{ 0x66, 1, 0xdf, 0, -1 },
	{ 0x66, 1, 0xfe, 0, -1 },
	{ 0x66, 1, 0xd4, 0, -1 },
	{ 0x66, 1, 0xfa, 0, -1 },
	{ 0x66, 1, 0xfc, 0, -1 },
	{ 0x66, 1, 0xf8, 0, -1 },
	{ 0x66, 1, 0xec, 0, -1 },
	{ 0x66, 1, 0xd8, 0, -1 },
	{ 0x66, 1, 0x74, 0, -1 },
	{ 0x66, 1, 0x76, 0, -1 },
	{ 0x66, 1, 0x66, 0, -1 },
	{ 0x66, 1, 0x60, 0, -1 },
	{ 0x66, 1, 0x6a, 0, -1 },
	{ 0x66, 1, 0x6c, 0, -1 },
	{ 0x66, 1, 0x63, 0, -1 },
	{ 0x66, 1, 0x6b, 0, -1 },
	{ 0x66, 1, 0xd5, 0, -1 },
	{ 0x66, 1, 0xe4, 0, -1 },
	{ 0x66, 1, 0xf4, 0, -1 },
	{ 0x66, 1, 0xf6, 0, -1 },
	{ 0x66, 1, 0xda, 0, -1 },
	{ 0x66, 1, 0xe0, 0, -1 },
	{ 0x66, 1, 0xd2, 0, -1 },
	{ 0x66, 1, 0xe2, 0, -1 },
	{ 0x66, 1, 0xf3, 0, -1 },
	{ 0x66, 1, 0x70, 1, -1 },
	{ 0xf2, 1, 0x70, 1, -1 },
	{ 0xf3, 1, 0x70, 1, -1 },
	{ 0x66, 1, 0x71, 1, 2 },
	{ 0x66, 1, 0x72, 1, 4 },
	{ 0x66, 1, 0x73, 1, 6 },
	{ 0x66, 1, 0x73, 1, 3 },
	{ 0x66, 1, 0x73, 1, 7 },
	{ 0x66, 1, 0xd7, 0, -1 },
	{ 0x66, 1, 0xc4, 1, -1 },
	{ 0x66, 1, 0xc5, 1, -1 },
	/* floating point */
	{ 0, 1, 0x58, 0, -1 },
	{ 0x66, 1, 0x59, 0, -1 },
	{ 0xf3, 1, 0x5c, 0, -1 },
	{ 0xf2, 1, 0x5e, 0, -1 },
	{ 0xf2, 1, 0x58, 0, -1 },
	{ 0xf2, 1, 0x59, 0, -1 },
	{ 0, 1, 0x51, 0, -1 },
	{ 0xf2, 1, 0x51, 0, -1 },
	{ 0, 1, 0x5d, 0, -1 },
	{ 0x66, 1, 0x5f, 0, -1 },
	{ 0, 1, 0x54, 0, -1 },
	{ 0x66, 1, 0x57, 0, -1 },
	{ 0, 1, 0x55, 0, -1 },
	{ 0, 1, 0xc2, 1, -1 },
	{ 0xf2, 1, 0xc2, 1, -1 },
	{ 0, 1, 0xc6, 1, -1 },
	{ 0x66, 1, 0x14, 0, -1 },
	{ 0, 1, 0x15, 0, -1 },
	{ 0, 1, 0x5a, 0, -1 },
	{ 0x66, 1, 0x5a, 0, -1 },
	{ 0xf2, 1, 0x5a, 0, -1 },
	{ 0xf3, 1, 0x5a, 0, -1 },
	{ 0, 1, 0x5b, 0, -1 },
	{ 0x66, 1, 0x5b, 0, -1 },
	{ 0xf3, 1, 0x5b, 0, -1 },
	{ 0xf3, 1, 0xe6, 0, -1 },
	{ 0x66, 1, 0xe6, 0, -1 },
	{ 0xf2, 1, 0xe6, 0, -1 },
	{ 0xf2, 1, 0x2a, 0, -1 },
	{ 0xf3, 1, 0x2a, 0, -1 },
	{ 0xf2, 1, 0x2c, 0, -1 },
	{ 0xf3, 1, 0x2d, 0, -1 },
	{ 0, 1, 0x50, 0, -1 },
	{ 0, 1, 0x52, 0, -1 },
	{ 0, 1, 0x53, 0, -1 },
	/* left to the handler: flags, XMM0, MMX */
	{ 0x66, 1, 0x2e, 0, -1 },
	{ 0, 1, 0x2f, 0, -1 },
	{ 0x66, 2, 0x10, 0, -1 },
	{ 0, 1, 0xfe, 0, -1 },
	{ 0, 1, 0x6f, 0, -1 },
	/* SSSE3, SSE4.1 */
	{ 0x66, 2, 0x00, 0, -1 },
	{ 0x66, 2, 0x20, 0, -1 },
	{ 0x66, 2, 0x39, 0, -1 },
	{ 0x66, 3, 0x0f, 1, -1 },
	{ 0x66, 3, 0x0e, 1, -1 },
	{ 0x66, 3, 0x16, 1, -1 },
	{ 0x66, 3, 0x22, 1, -1 },
	{ 0x66, 3, 0x0b, 1, -1 },
};

static void
gen_sse(struct prog *p)
{
	const struct sse_row *r = &sse_rows[below(sizeof(sse_rows) / sizeof(sse_rows[0]))];
	if (r->pfx)
		put(p, r->pfx);
	if (below(2)) /* REX: R, B (xmm8-15), W (MOVQ, CVTSI2SD r64, PEXTRQ) */
		put(p, 0x40 | (below(4) ? 0 : 8) | (below(2) ? 4 : 0) | (below(3) ? 0 : 1));
	put(p, 0x0f);
	if (r->map == 2)
		put(p, 0x38);
	else if (r->map == 3)
		put(p, 0x3a);
	put(p, r->op);
	if (r->ext >= 0)
		put(p, 0xc0 | (unsigned)r->ext << 3 | below(8));
	else
		modrm(p, below(8), false);
	if (r->imm)
		put(p, below(256));
}

/* One random instruction. */
static void
gen_insn(struct prog *p)
{
	if (below(100) < 12) {
		gen_sse(p);
		return;
	}
	unsigned pstart = p->len;
	bool o16 = below(100) < 12;
	if (o16)
		put(p, 0x66);
	if (below(2))
		put(p, 0x40 | (below(100) < 65 ? 8 : 0) | (below(5) ? 0 : 4) | (below(6) ? 0 : 2) |
			       (below(6) ? 0 : 1));
	unsigned izs = o16 ? 2 : 4, reg = below(8), op;
	switch (below(40)) {
	case 0:
	case 1:
	case 2: /* ALU r/m, r and r, r/m */
		put(p, below(8) << 3 | below(4));
		modrm(p, reg, false);
		break;
	case 3: /* ALU acc, imm */
		put(p, below(8) << 3 | 4 | below(2));
		imm(p, (p->code[p->len - 1] & 1) ? izs : 1);
		break;
	case 4:
	case 5: /* group 1 */
		switch (below(3)) {
		case 0:
			put(p, 0x80);
			modrm(p, reg, false);
			imm(p, 1);
			break;
		case 1:
			put(p, 0x81);
			modrm(p, reg, false);
			imm(p, izs);
			break;
		default:
			put(p, 0x83);
			modrm(p, reg, false);
			imm(p, 1);
			break;
		}
		break;
	case 6:
	case 7: /* MOV in its forms, LEA, TEST, XCHG */
		put(p, 0x84 + below(8) + (below(4) ? 0 : 9)); /* 84-8B, or 8D-94 */
		if (p->code[p->len - 1] > 0x8d)
			p->code[p->len - 1] = 0x8d;
		modrm(p, reg, p->code[p->len - 1] == 0x8d);
		break;
	case 8: /* MOV r, imm */
		put(p, 0xb0 + below(16));
		imm(p, p->code[p->len - 1] < 0xb8 ? 1 : izs);
		if (p->code[p->len - 1] >= 0xb8 && izs == 4 && !o16 && below(3) == 0)
			imm(p, 4); /* (REX.W: imm64; otherwise the next instruction's bytes) */
		break;
	case 9: /* MOV r/m, imm */
		op = 0xc6 + below(2);
		put(p, op);
		modrm(p, 0, false);
		imm(p, (op & 1) ? izs : 1);
		break;
	case 10:
	case 11: /* shifts and rotates */
		switch (below(3)) {
		case 0:
			put(p, 0xc0 + below(2));
			modrm(p, reg, false);
			imm(p, 1);
			break;
		case 1:
			put(p, 0xd0 + below(2));
			modrm(p, reg, false);
			break;
		default:
			put(p, 0xd2 + below(2));
			modrm(p, reg, false);
			break;
		}
		break;
	case 12: /* group 3: TEST NOT NEG MUL IMUL DIV IDIV */
		op = 0xf6 + below(2);
		put(p, op);
		modrm(p, reg, false);
		if (reg < 2)
			imm(p, (op & 1) ? izs : 1);
		break;
	case 13:
	case 14: /* INC/DEC */
		put(p, 0xfe + below(2));
		modrm(p, below(2), false);
		break;
	case 15: /* PUSH/POP r, PUSH imm */
		switch (below(4)) {
		case 0: put(p, 0x50 + below(8)); break;
		case 1: put(p, 0x58 + below(8)); break;
		case 2:
			put(p, 0x6a);
			imm(p, 1);
			break;
		default:
			put(p, 0x68);
			imm(p, 4);
			break;
		}
		break;
	case 16: /* IMUL */
		switch (below(3)) {
		case 0:
			put(p, 0x69);
			modrm(p, reg, false);
			imm(p, izs);
			break;
		case 1:
			put(p, 0x6b);
			modrm(p, reg, false);
			imm(p, 1);
			break;
		default:
			put(p, 0x0f);
			put(p, 0xaf);
			modrm(p, reg, false);
			break;
		}
		break;
	case 17:
	case 18:
	case 19: /* Jcc/JMP rel8, either direction */
		put(p, below(5) ? 0x70 + below(16) : 0xeb);
		put(p, (uint8_t)(int8_t)(below(48) - (p->len > 40 ? 32 : 0)));
		break;
	case 20: /* Jcc rel32 */
		put(p, 0x0f);
		put(p, 0x80 + below(16));
		put32(p, (uint32_t)(int32_t)(below(64) - (p->len > 60 ? 40 : 0)));
		break;
	case 21: /* MOVZX/MOVSX, MOVSXD */
		if (below(4)) {
			put(p, 0x0f);
			put(p, (below(2) ? 0xb6 : 0xbe) + below(2));
		} else {
			put(p, 0x63);
		}
		modrm(p, reg, false);
		break;
	case 22: /* CMOVcc, SETcc */
		put(p, 0x0f);
		put(p, (below(2) ? 0x40 : 0x90) + below(16));
		modrm(p, reg, false);
		break;
	case 23: /* flag instructions, CBW/CWD, NOP, PUSHF/POPF */
		put(p, (const uint8_t[]){ 0xf5, 0xf8, 0xf9, 0xfc, 0xfd, 0x98, 0x99, 0x90, 0x9c,
					  0x9d }[below(10)]);
		break;
	case 24: /* BT BTS BTR BTC */
		put(p, 0x0f);
		if (below(2)) {
			put(p, 0xa3 + 8 * below(4));
			modrm(p, reg, false);
		} else {
			put(p, 0xba);
			modrm(p, 4 + below(4), false);
			imm(p, 1);
		}
		break;
	case 25: /* SHLD/SHRD */
		op = 0xa4 + 8 * below(2) + below(2);
		put(p, 0x0f);
		put(p, op);
		modrm(p, reg, false);
		if (!(op & 1))
			imm(p, 1);
		break;
	case 26: /* XADD, CMPXCHG */
		put(p, 0x0f);
		put(p, (below(2) ? 0xc0 : 0xb0) + below(2));
		modrm(p, reg, false);
		break;
	case 27: /* CALL rel32 (near), RET */
		if (below(4)) {
			put(p, 0xe8);
			put32(p, (uint32_t)(int32_t)(below(48) - 24));
		} else {
			put(p, 0xc3);
		}
		break;
	case 28: /* BSWAP */
		put(p, 0x0f);
		put(p, 0xc8 + below(8));
		break;
	case 30:
	case 31: { /* a load, register forms, a store back to the same operand (the
		    JIT pairs them: one TLB lookup, the store through its host address) */
		unsigned at = p->len;
		put(p, 0x8b);
		modrm(p, reg, true);
		uint8_t copy[24];
		unsigned n = p->len - pstart;
		if (n > sizeof(copy))
			break;
		memcpy(copy, p->code + pstart, n);
		copy[at - pstart] = 0x89;
		for (unsigned k = below(3); k > 0; k--) { /* ALU r, r or MOV r, imm */
			if (below(3)) {
				put(p, 0x48 | below(2) * 5);
				put(p, below(8) << 3 | 1 | below(2) * 2);
				put(p, 0xc0 | below(64));
			} else {
				put(p, 0xb8 + below(8));
				imm(p, 4);
			}
		}
		for (unsigned k = 0; k < n; k++)
			put(p, copy[k]);
		break;
	}
	case 32: /* LEAVE, CDQ/CQO after a load (the IDIV idiom) */
		if (below(2)) {
			put(p, 0xc9);
		} else {
			put(p, 0x99);
			put(p, 0x48);
			put(p, 0x63);
			modrm(p, reg, false); /* MOVSXD */
		}
		break;
	case 33: /* JMP/CALL r/m (indirect): mostly a fault, sometimes on the code page */
		if (below(2)) {
			put(p, 0x48);
			put(p, 0x8d);
			put(p, (reg & 7) << 3 | 5); /* LEA r, [RIP + small]: a target ahead */
			put32(p, below(64));
			put(p, 0xff);
			put(p, 0xc0 | (below(2) ? 2 : 4) << 3 | (reg & 7));
		} else {
			put(p, 0xff);
			modrm(p, below(2) ? 2 : 4, false);
		}
		break;
	case 34:
	case 35:                 /* REP MOVS/STOS (and without REP), a small count first */
		p->len = pstart; /* the prefixes go after the MOV */
		put(p, 0xb9);
		put32(p, below(4) ? below(40) : below(5000));
		if (below(5))
			put(p, below(4) ? 0xf3 : 0xf2);
		if (below(2))
			put(p, 0x48);
		put(p, (below(2) ? 0xa4 : 0xaa) + below(2));
		break;
	case 36:
	case 37: { /* TZCNT/LZCNT (F3) or BSF/BSR, 32/64-bit, register or memory
		      source, the register sometimes zeroed first */
		unsigned rm = below(8);
		if (below(4) == 0) {
			put(p, 0x31); /* xor rm, rm */
			put(p, 0xc0 | rm << 3 | rm);
		}
		if (below(2))
			put(p, 0xf3);
		if (below(3))
			put(p, 0x48 | below(2) * 4 | below(2));
		put(p, 0x0f);
		put(p, 0xbc + below(2));
		if (below(2))
			put(p, 0xc0 | (reg & 7) << 3 | rm);
		else
			modrm(p, reg, true);
		break;
	}
	case 38:
	case 39: { /* LOCK'd read-modify-write: ALU, INC/DEC, CMPXCHG, XADD; and
		      CMPXCHG after a load of its operand into RAX (equal, mostly) */
		unsigned w = below(2) ? 0x48 : 0x40, kind = below(5);
		if (kind == 4) {
			put(p, w);
			put(p, 0x8b);
			unsigned at = p->len;
			modrm(p, 0, true); /* mov rax, [m] */
			uint8_t copy[16];
			unsigned n = p->len - at;
			memcpy(copy, p->code + at, n);
			if ((copy[0] & 0xc7) == 5) /* RIP-relative: 4 bytes later */
				break;
			put(p, 0xf0);
			put(p, w | below(2) * 4);
			put(p, 0x0f);
			put(p, 0xb1);
			copy[0] = (uint8_t)((copy[0] & 0xc7) | (reg & 7) << 3);
			for (unsigned k = 0; k < n; k++)
				put(p, copy[k]);
			break;
		}
		put(p, 0xf0);
		if (below(2))
			put(p, w | below(2) * 4);
		if (kind == 0) {
			put(p, 0x01 + 8 * below(7)); /* ADD OR ADC SBB AND SUB XOR m, r */
			modrm(p, reg, true);
		} else if (kind == 1) {
			put(p, 0xff); /* INC/DEC m */
			modrm(p, below(2), true);
		} else {
			put(p, 0x0f);
			put(p, kind == 2 ? 0xb1 : 0xc1); /* CMPXCHG, XADD m, r */
			modrm(p, reg, true);
		}
		break;
	}
	default: /* MOV r, r/m with a load (the commonest memory form) */
		put(p, 0x8b);
		modrm(p, reg, true);
		break;
	}
}

struct outcome {
	uint64_t gpr[16], rip, rflags, icount, faults, cr2;
	uint8_t fx[416]; /* the legacy XSAVE region: x87/MMX, MXCSR, XMM0-15 */
	bool halted;
	enum cpu_exit exit;
	uint8_t area[AREA_PAGES * PAGE_SIZE]; /* code, data, GDT, IDT, stacks */
};

struct start {
	uint64_t gpr[16], rflags;
	uint64_t xmm[32]; /* XMM0-15, two halves each */
	uint32_t mxcsr;
	uint64_t cr0_or, cr4_clear; /* CR0.TS/EM set, CR4.OSFXSR/OSXMMEXCPT cleared */
	unsigned budget;
};

/* fresh: rewrite the whole area first. Otherwise what earlier programs wrote
 * outside the code and data pages stays (identical on both machines, since
 * every run compares the whole area), and so do the traces and compiled code
 * of earlier programs, whose history (cache and code-arena flushes) a fresh
 * start would not reach. */
static void
run(struct machine *m, const struct prog *p, const uint8_t *data, const struct start *st,
    bool fresh, struct outcome *o)
{
	struct cpu *cpu = m->cpu;
	uint8_t code[PAGE_SIZE];
	memset(code, 0xf4, sizeof(code)); /* past the program: HLT */
	memcpy(code, p->code, p->len);
	static const uint8_t zero[AREA_PAGES * PAGE_SIZE];
	if (fresh) {
		physmem_write(m->mem, AREA_PHYS, zero, sizeof(zero));
		long_machine_memory(m);
		if (mode32)
			pm32_memory(m);
	}
	physmem_write(m->mem, PHYS_OF(CODE_LIN), code, PAGE_SIZE);
	physmem_write(m->mem, PHYS_OF(DATA_LIN), data, PAGE_SIZE);
	if (mode32)
		pm32_mode(cpu);
	else
		long_machine_mode(cpu);
	memcpy(cpu->state.gpr, st->gpr, sizeof(st->gpr));
	cpu->state.cr0 |= st->cr0_or;
	cpu->state.cr4 = (cpu->state.cr4 | CR4_OSFXSR | CR4_OSXMMEXCPT) & ~st->cr4_clear;
	memcpy(cpu->state.xsave + 24, &st->mxcsr, 4);
	memcpy(cpu->state.xsave + 160, st->xmm, sizeof(st->xmm));
	cpu->state.rip = CODE_LIN;
	cpu->state.cr2 = 0;
	cpu_set_rflags(cpu, st->rflags);
	uint64_t icount = cpu->icount, faults = cpu->faults;
	o->exit = cpu_exec(cpu, st->budget);
	memcpy(o->gpr, cpu->state.gpr, sizeof(o->gpr));
	o->rip = cpu->state.rip;
	o->rflags = cpu_get_rflags(cpu);
	o->icount = cpu->icount - icount;
	o->faults = cpu->faults - faults;
	o->cr2 = cpu->state.cr2;
	o->halted = cpu->state.halted;
	memcpy(o->fx, cpu->state.xsave, sizeof(o->fx));
	physmem_read(m->mem, AREA_PHYS, o->area, sizeof(o->area));
}

/* Print what differs; returns true if anything does. */
static bool
compare(const struct outcome *a, const struct outcome *b, bool report)
{
	bool diff = false;
#define FIELD(name, x, y)                                                                          \
	do {                                                                                       \
		if ((x) != (y)) {                                                                  \
			diff = true;                                                               \
			if (report)                                                                \
				printf("#   %s: interpreter %" PRIx64 ", jit %" PRIx64 "\n", name, \
				       (uint64_t)(x), (uint64_t)(y));                              \
		}                                                                                  \
	} while (0)
	for (unsigned r = 0; r < 16; r++) {
		char name[8];
		snprintf(name, sizeof(name), "r%u", r);
		FIELD(name, a->gpr[r], b->gpr[r]);
	}
	FIELD("rip", a->rip, b->rip);
	FIELD("rflags", a->rflags, b->rflags);
	FIELD("icount", a->icount, b->icount);
	FIELD("faults", a->faults, b->faults);
	FIELD("cr2", a->cr2, b->cr2);
	FIELD("halted", a->halted, b->halted);
	FIELD("exit", a->exit, b->exit);
#undef FIELD
	for (unsigned k = 0; k < sizeof(a->fx); k++) {
		if (a->fx[k] != b->fx[k]) {
			diff = true;
			if (report)
				printf("#   XSAVE-area byte %u (%s) differs: %02x, jit %02x\n", k,
				       k >= 160            ? "XMM"
				       : k >= 24 && k < 28 ? "MXCSR"
							   : "x87",
				       a->fx[k], b->fx[k]);
			break;
		}
	}
	for (unsigned k = 0; k < sizeof(a->area); k++) {
		if (a->area[k] != b->area[k]) {
			diff = true;
			if (report)
				printf("#   memory differs at %#x: %02x, jit %02x\n", AREA_LIN + k,
				       a->area[k], b->area[k]);
			break;
		}
	}
	return diff;
}

/* The SSE state a program starts from: lanes of special values (zeros,
 * denormals, infinities, NaNs, integers), any rounding mode, DAZ/FTZ and
 * sticky flags, now and then an unmasked exception (#XM), CR0.TS (#NM),
 * CR0.EM or no CR4.OSFXSR (#UD), no CR4.OSXMMEXCPT (#UD for #XM). */
static void
sse_start(struct start *st)
{
	static const uint32_t lanes[] = { 0,          0x80000000, 0x3f800000, 0xbf800000,
					  0x00000001, 0x807fffff, 0x7f800000, 0xff800000,
					  0x7fc00000, 0x7f800001, 0x4f000000, 0xcf000000,
					  0x5f000000, 0x7f7fffff, 0x00800000, 0xffffffff };
	for (unsigned k = 0; k < 32; k++) {
		uint64_t v = rnd();
		for (unsigned h = 0; h < 2; h++) {
			if (!below(3)) { /* a special float lane */
				v &= ~(0xffffffffull << (32 * h));
				v |= (uint64_t)lanes[below(16)] << (32 * h);
			}
		}
		if (!below(6)) /* a double: 1.0, -0.0, a denormal, infinity, NaN */
			v = (const uint64_t[]){
				0x3ff0000000000000ull, 0x8000000000000000ull, 1,
				0x7ff0000000000000ull, 0x7ff8000000000000ull, 0x43e0000000000000ull
			}[below(6)];
		st->xmm[k] = v;
	}
	st->mxcsr = 0x1f80 | (uint32_t)below(4) << 13 | (below(4) ? 0 : 0x40) |
		    (below(4) ? 0 : 0x8000) | (below(3) ? 0 : (uint32_t)below(64));
	if (!below(8))
		st->mxcsr &= ~((uint32_t)1 << (7 + below(6))); /* one exception unmasked */
	unsigned r = below(100);
	st->cr0_or = r < 3 ? CR0_TS : r < 5 ? CR0_EM : 0;
	r = below(100);
	st->cr4_clear = r < 3 ? CR4_OSFXSR : r < 8 ? CR4_OSXMMEXCPT : 0;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "-32")) {
		mode32 = true;
		argv++;
		argc--;
	}
	unsigned programs = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : DEFAULT_PROGRAMS;
	rng_state = argc > 2 ? strtoull(argv[2], NULL, 0) : DEFAULT_SEED;
	long only = argc > 3 ? strtol(argv[3], NULL, 0) : -1;
	if (!rng_state)
		rng_state = DEFAULT_SEED;
	struct machine interp, jit;
	char err[256];
	printf("1..1\n");
	setenv("FUGU_JIT", "off", 1);
	bool ok = long_machine_create(&interp, err, sizeof(err));
	setenv("FUGU_JIT", "always", 1);
	ok = ok && long_machine_create(&jit, err, sizeof(err));
	if (!ok || !jit.cpu->jit) {
		printf("not ok 1 - %s\n", ok ? "no JIT on this host" : err);
		return 1;
	}
	static struct prog p;
	static uint8_t data[PAGE_SIZE];
	static struct outcome a, b;
	unsigned differ = 0;
	uint64_t insns = 0;
	for (unsigned n = 0; n < programs; n++) {
		p.len = 0;
		unsigned count = 1 + below(MAX_INSNS);
		for (unsigned k = 0; k < count; k++)
			gen_insn(&p);
		for (unsigned k = 0; k < PAGE_SIZE; k += 8) {
			uint64_t v = rnd();
			memcpy(data + k, &v, 8);
		}
		struct start st;
		/* Every register an address in the data page, so that most memory
		 * operands (whatever the base, with REX.B) are, until overwritten. */
		for (unsigned r = 0; r < 16; r++)
			st.gpr[r] = below(8) ? DATA_MID + (uint64_t)(int64_t)small() : rnd();
		for (unsigned r = 0; r < 16; r++) /* half of them 16-byte aligned (MOVAPS) */
			if (below(2) && (st.gpr[r] >> 12) == (DATA_MID >> 12))
				st.gpr[r] &= ~15ull;
		st.gpr[4] = DATA_LIN + 0xf00u; /* RSP: a stack in the data page */
		sse_start(&st);
		st.rflags = F_FIXED1 | (rnd() & (F_ARITH | F_DF));
		st.budget = 1 + below(MAX_BUDGET);
		bool fresh = n % 16 == 0;
		if (only >= 0 && n != (unsigned)only)
			continue;
		fresh = fresh || only >= 0;
		run(&interp, &p, data, &st, fresh, &a);
		run(&jit, &p, data, &st, fresh, &b);
		insns += a.icount;
		if (compare(&a, &b, false) && ++differ <= REPORTS) {
			/* The smallest budget that shows it from a fresh start (when
			 * it needs the history, none does: "after BUDGET+1"). */
			struct start one = st;
			uint64_t at = CODE_LIN;
			for (one.budget = 1; one.budget <= st.budget; one.budget++) {
				run(&interp, &p, data, &one, true, &a);
				run(&jit, &p, data, &one, true, &b);
				if (compare(&a, &b, false))
					break;
				at = a.rip;
			}
			printf("# program %u (%u bytes) differs after %u instructions, the last at "
			       "+%#" PRIx64 ":\n#  ",
			       n, p.len, one.budget, at - CODE_LIN);
			for (unsigned k = 0; k < p.len; k++)
				printf(" %02x", p.code[k]);
			printf("\n#   there now:");
			for (unsigned k = 0; k < 16 && at - AREA_LIN + k < sizeof(a.area); k++)
				printf(" %02x", a.area[at - AREA_LIN + k]);
			printf("\n");
			compare(&a, &b, true);
		}
	}
	printf("%s 1 - %u programs, %" PRIu64 " instructions, %u differences\n",
	       differ ? "not ok" : "ok", programs, insns, differ);
	return differ ? 1 : 0;
}
