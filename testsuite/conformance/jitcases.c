/*
 * fugu — hand-made JIT cases that random programs (jitdiff.c) rarely reach:
 * each runs the same 64-bit program from the same state on three machines,
 * interpreting (-jit off), compiling every trace at its first run (-jit
 * always) and checking every compiled run against the interpreter (-jit
 * check, cpu/jit/check.c). The registers, RIP, RFLAGS, the instruction count
 * and the area's memory must come out identical, and the check must report
 * nothing (a compiled trace that ends earlier than the interpreter's run of
 * it is a difference there, docs/PERFORMANCE.md, branch jit6).
 *
 * usage: jitcases; TAP, one test a case.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bare_machine.h"
#include "long_machine.h"

/* Extra pages: PT entry 16 maps the page table itself (its upper half holds
 * code), entry 17 a data page whose PTE has A clear (the walk sets it: a
 * store into the code's page, SDM vol. 3A, 4.8). */
#define SELF_LIN (AREA_LIN + 0x10000u)
#define SELF_CODE (SELF_LIN + 0x800u)
#define FRESH_LIN (AREA_LIN + 0x11000u)
#define FRESH_PHYS 0x120000u

struct outcome {
	uint64_t gpr[16], rip, rflags, icount;
	uint8_t area[AREA_PAGES * PAGE_SIZE];
};

struct jcase {
	const char *name;
	const uint8_t *code;
	unsigned len;
	bool self; /* the code runs from the page table's page (SELF_CODE) */
	uint64_t rax, rbx, rcx, rdx;
	unsigned budget;
};

static unsigned mismatches;

static void
on_mismatch(struct cpu *cpu, uint64_t rip, unsigned n)
{
	(void)cpu;
	printf("# -jit check: the trace at %#" PRIx64 " (%u instructions) differs\n", rip, n);
	mismatches++;
	fflush(stdout);
	exit(1); /* check.c aborts after this: a failure either way */
}

static void
run(struct machine *m, const struct jcase *c, struct outcome *o)
{
	struct cpu *cpu = m->cpu;
	static const uint8_t zero[AREA_PAGES * PAGE_SIZE];
	physmem_write(m->mem, AREA_PHYS, zero, sizeof(zero));
	long_machine_memory(m);
	poke64(m, PT_PHYS + 8 * 16, PT_PHYS | 0x63);    /* P RW A D */
	poke64(m, PT_PHYS + 8 * 17, FRESH_PHYS | 0x03); /* P RW, A and D clear */
	poke64(m, FRESH_PHYS, 0x7ffffffbull);
	uint64_t code_pa = c->self ? PT_PHYS + 0x800u : PHYS_OF(CODE_LIN);
	physmem_write(m->mem, code_pa, c->code, c->len);
	long_machine_mode(cpu);
	memset(cpu->state.gpr, 0, sizeof(cpu->state.gpr));
	cpu->state.gpr[R_AX] = c->rax;
	cpu->state.gpr[R_BX] = c->rbx;
	cpu->state.gpr[R_CX] = c->rcx;
	cpu->state.gpr[R_DX] = c->rdx;
	cpu->state.gpr[R_SP] = DATA_LIN + 0xf00u;
	cpu->state.rip = c->self ? SELF_CODE : CODE_LIN;
	uint64_t icount = cpu->icount;
	cpu_exec(cpu, c->budget);
	memcpy(o->gpr, cpu->state.gpr, sizeof(o->gpr));
	o->rip = cpu->state.rip;
	o->rflags = cpu_get_rflags(cpu);
	o->icount = cpu->icount - icount;
	physmem_read(m->mem, AREA_PHYS, o->area, sizeof(o->area));
}

static bool
differ(const char *what, const struct outcome *a, const struct outcome *b)
{
	bool d = false;
	for (unsigned r = 0; r < 16; r++)
		if (a->gpr[r] != b->gpr[r]) {
			printf("#   %s: r%u: interpreter %" PRIx64 ", jit %" PRIx64 "\n", what, r,
			       a->gpr[r], b->gpr[r]);
			d = true;
		}
	if (a->rip != b->rip || a->rflags != b->rflags || a->icount != b->icount) {
		printf("#   %s: rip %" PRIx64 "/%" PRIx64 ", rflags %" PRIx64 "/%" PRIx64
		       ", icount %" PRIu64 "/%" PRIu64 "\n",
		       what, a->rip, b->rip, a->rflags, b->rflags, a->icount, b->icount);
		d = true;
	}
	if (memcmp(a->area, b->area, sizeof(a->area))) {
		printf("#   %s: memory differs\n", what);
		d = true;
	}
	return d;
}

/* 1: ADD ECX, [FRESH_LIN] misses the TLB; the walk sets the PTE's A bit in
 * the page the code runs from, so the load's slow path sets stop_trace (the
 * code may have changed) without faulting. The compiled trace leaves after
 * the ADD: its own flags (5 + 7ffffffb = 80000000: SF, OF; SDM vol. 2A, ADD)
 * must be in RFLAGS, not the XOR's before it (ZF, PF). */
static const uint8_t load_stop[] = {
	0x31, 0xc0,                               /* xor eax, eax */
	0xb9, 0x05, 0x00, 0x00, 0x00,             /* mov ecx, 5 */
	0x03, 0x0c, 0x25, 0x00, 0x10, 0x01, 0x3f, /* add ecx, [FRESH_LIN] */
	0x9c,                                     /* pushfq */
	0x5a,                                     /* pop rdx */
	0xf4,                                     /* hlt */
};

/* 2: ADD [RBX], EAX into the data page with an empty TLB (the compiled
 * read-modify-write's write entry misses: the handler runs out of line),
 * then ADC and PUSHF in the same trace: the flags of the ADD decide the
 * ADC, and the compiled run must go on to the JMP as the interpreter does. */
static const uint8_t rmw_miss[] = {
	0x01, 0x03, /* add [rbx], eax */
	0x11, 0xd1, /* adc ecx, edx */
	0x9c,       /* pushfq */
	0x5e,       /* pop rsi */
	0x8b, 0x3b, /* mov edi, [rbx] */
	0xeb, 0x00, /* jmp $+2 */
	0xf4,       /* hlt */
};

/* 3: SHL EAX, CL with CL = 0 (no flag changes, SDM vol. 2B, SAL/SAR/SHL/SHR:
 * "If the count is 0, the flags are not affected") after a CMP, then ADC and
 * SETcc in the same trace: the CMP's flags, and the compiled run goes on. */
static const uint8_t shift_cl0[] = {
	0x39, 0xd3,       /* cmp ebx, edx */
	0xd3, 0xe0,       /* shl eax, cl */
	0x11, 0xd1,       /* adc ecx, edx */
	0x0f, 0x9f, 0xc2, /* setg dl */
	0x9c,             /* pushfq */
	0x5e,             /* pop rsi */
	0xeb, 0x00,       /* jmp $+2 */
	0xf4,             /* hlt */
};

int
main(void)
{
	static const struct jcase cases[] = {
		{ "a load whose slow path sets stop_trace keeps its own flags", load_stop,
		  sizeof(load_stop), true, 0, 0, 0, 0, 100 },
		{ "a read-modify-write whose TLB write entry misses", rmw_miss, sizeof(rmw_miss),
		  false, 0x80000001u, DATA_LIN + 0x40u, 7, 9, 100 },
		{ "a shift by a CL of 0 keeps the CMP's flags", shift_cl0, sizeof(shift_cl0), false,
		  0x1234, 3, 0x100, 5, 100 },
	};
	const unsigned n = sizeof(cases) / sizeof(cases[0]);
	struct machine interp, jit, check;
	char err[256];
	printf("1..%u\n", n);
	setenv("FUGU_JIT", "off", 1);
	bool ok = long_machine_create(&interp, err, sizeof(err));
	setenv("FUGU_JIT", "always", 1);
	ok = ok && long_machine_create(&jit, err, sizeof(err));
	setenv("FUGU_JIT", "check", 1);
	ok = ok && long_machine_create(&check, err, sizeof(err));
	if (!ok || !jit.cpu->jit || !check.cpu->jit_check) {
		printf("Bail out! %s\n", ok ? "no JIT on this host" : err);
		return 1;
	}
	jit_set_mismatch_handler(on_mismatch);
	static struct outcome a, b, c;
	unsigned failed = 0;
	for (unsigned k = 0; k < n; k++) {
		run(&interp, &cases[k], &a);
		run(&jit, &cases[k], &b);
		printf("# %s: checking\n", cases[k].name);
		fflush(stdout);
		run(&check, &cases[k], &c);
		bool bad = differ("-jit always", &a, &b) | differ("-jit check", &a, &c);
		failed += bad;
		printf("%s %u - %s\n", bad ? "not ok" : "ok", k + 1, cases[k].name);
	}
	return failed ? 1 : 0;
}
