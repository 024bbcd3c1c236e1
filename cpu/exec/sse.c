/*
 * fugu — MMX, SSE, SSE2, SSE3, SSSE3, SSE4.1, SSE4.2, AES-NI and PCLMULQDQ
 * (SDM vol. 1, chapters 9-12; vol. 2, the instruction pages; vol. 2D, tables
 * ), and FXSAVE/FXRSTOR, LDMXCSR/STMXCSR, EMMS, MOVNTI.
 *
 * As with the x87 (x87.c, docs/FPU.md), the arithmetic runs on the host's own
 * SIMD unit: the guest's instruction is re-encoded with its register operands
 * renamed to fixed host registers (XMM operands to xmm1/xmm2, or xmm0 when the
 * guest names xmm0, which BLENDVPS/PBLENDVB/PCMPxSTRM use implicitly; MMX
 * operands to mm1/mm2; a general register to rax) and its memory operand
 * pointing at [rsi], a host buffer holding the guest's bytes. The encoding is
 * assembled once into a small code cache (one RET-terminated stub per distinct
 * encoding) and called from fugu_sse_host, which loads the guest's MXCSR with
 * every exception masked, the operands, runs the stub, and stores operands,
 * RFLAGS and MXCSR back before restoring the host's MXCSR. Results, flags,
 * NaN selection, DAZ/FTZ and rounding are the hardware's own.
 *
 * fugu does the rest: the #UD/#NM/#MF checks (CR0.EM, CR0.TS, CR4.OSFXSR,
 * pending x87 exceptions for MMX operands), the 16-byte alignment #GP of the
 * legacy aligned forms, memory accesses through the CPU's path (stores probed
 * before anything changes), the MMX aliasing of the x87 registers (TOP = 0,
 * every tag valid, exponent bits of a written MMi all ones: vol. 1, 9.5), and
 * unmasked SIMD exceptions: when a flag the instruction raised is unmasked in
 * the guest's MXCSR, the destination keeps its value and #XM (CR4.OSXMMEXCPT)
 * or #UD is raised (vol. 1, 11.5.1).
 */
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "cpu/cpuid.h"
#include "cpu/exec/exec.h"
#include "cpu/exec/x87.h"
#include "cpu/exec/simd.h"

#define MXCSR_OFF XSAVE_MXCSR_OFFSET
#define MXCSR_MASK_OFF 28
#define XMM_OFF 160

#define SH(r, m, sz, f) ((struct simd_shape){ SIMD_T_##r, SIMD_T_##m, (sz), (f) })

/* The shape of a form (map 1 = 0F, 2 = 0F 38, 3 = 0F 3A; sel: none/66/F3/F2). */
/* Inlined into op_sse: returned through the stack byte by byte, the record is
 * read back whole and stalls on store forwarding. */
static inline __attribute__((always_inline)) struct simd_shape
sse_shape(unsigned map, unsigned op, unsigned sel, bool w)
{
	const uint16_t A = SIMD_S_ALIGN, F = SIMD_S_MXCSR;
	bool mmx = sel == 0; /* for the MMX/SSE2 integer rows */
	if (map == 1) {
		switch (op) {
		case 0x10:
		case 0x11: {
			uint16_t st = op == 0x11 ? SIMD_S_STORE : 0;
			return sel < 2 ? SH(X, X, 16, st) : SH(X, X, sel == 2 ? 4 : 8, st);
		}
		case 0x12:
		case 0x16:
			if (sel == 0)
				return SH(X, X, 8, 0); /* MOVLPS/MOVHLPS, MOVHPS/MOVLHPS */
			if (sel == 1)
				return SH(X, X, 8, SIMD_S_NOREG); /* MOVLPD/MOVHPD */
			if (sel == 2)
				return SH(X, X, 16, A); /* MOVSLDUP/MOVSHDUP */
			return SH(X, X, 8, 0);          /* MOVDDUP */
		case 0x13:
		case 0x17: return SH(X, X, 8, SIMD_S_STORE | SIMD_S_NOREG);
		case 0x14:
		case 0x15: return SH(X, X, 16, A);
		case 0x28: return SH(X, X, 16, A);
		case 0x29: return SH(X, X, 16, A | SIMD_S_STORE);
		case 0x2a:
			if (sel < 2) /* CVTPI2PS, CVTPI2PD */
				return SH(X, M, 8, F);
			return SH(X, G, w ? 8 : 4, F); /* CVTSI2SS/SD */
		case 0x2b: return SH(X, X, 16, A | SIMD_S_STORE | SIMD_S_NOREG);
		case 0x2c:
		case 0x2d:
			if (sel == 0) /* CVT(T)PS2PI */
				return SH(M, X, 8, F);
			if (sel == 1) /* CVT(T)PD2PI */
				return SH(M, X, 16, A | F);
			return SH(G, X, sel == 2 ? 4 : 8, F);
		case 0x2e:
		case 0x2f: return SH(X, X, sel ? 8 : 4, SIMD_S_EFL | F);
		case 0x50: return SH(G, X, 0, SIMD_S_NOMEM);
		case 0x51:
		case 0x58:
		case 0x59:
		case 0x5c:
		case 0x5d:
		case 0x5e:
		case 0x5f:
		case 0x52:
		case 0x53:
		case 0xc2: return sel < 2 ? SH(X, X, 16, A | F) : SH(X, X, sel == 2 ? 4 : 8, F);
		case 0x54:
		case 0x55:
		case 0x56:
		case 0x57: return SH(X, X, 16, A);
		case 0x5a:
			if (sel == 0)
				return SH(X, X, 8, F); /* CVTPS2PD */
			if (sel == 1)
				return SH(X, X, 16, A | F);
			return SH(X, X, sel == 2 ? 4 : 8, F);
		case 0x5b: return SH(X, X, 16, A | F);
		case 0x60:
		case 0x61:
		case 0x62: return mmx ? SH(M, M, 4, 0) : SH(X, X, 16, A);
		case 0x6e:
		case 0x7e:
			if (op == 0x7e && sel == 2)
				return SH(X, X, 8, 0); /* MOVQ xmm, xmm/m64 */
			return mmx ? SH(M, G, w ? 8 : 4, op == 0x7e ? SIMD_S_STORE : 0)
				   : SH(X, G, w ? 8 : 4, op == 0x7e ? SIMD_S_STORE : 0);
		case 0x6f:
		case 0x7f: {
			uint16_t st = op == 0x7f ? SIMD_S_STORE : 0;
			if (mmx)
				return SH(M, M, 8, st);
			return SH(X, X, 16, st | (sel == 1 ? A : 0));
		}
		case 0x70: return mmx ? SH(M, M, 8, 0) : SH(X, X, 16, A);
		case 0x71:
		case 0x72:
		case 0x73: return mmx ? SH(NONE, M, 0, SIMD_S_NOMEM) : SH(NONE, X, 0, SIMD_S_NOMEM);
		case 0x7c:
		case 0x7d:
		case 0xd0: return SH(X, X, 16, A | F);
		case 0xc4: return mmx ? SH(M, G, 2, 0) : SH(X, G, 2, 0);
		case 0xc5: return mmx ? SH(G, M, 0, SIMD_S_NOMEM) : SH(G, X, 0, SIMD_S_NOMEM);
		case 0xc6: return SH(X, X, 16, A);
		case 0xd6:
			if (sel == 1)
				return SH(X, X, 8, SIMD_S_STORE); /* MOVQ xmm/m64, xmm */
			if (sel == 2)
				return SH(X, M, 0, SIMD_S_NOMEM); /* MOVQ2DQ */
			return SH(M, X, 0, SIMD_S_NOMEM);         /* MOVDQ2Q */
		case 0xd7: return mmx ? SH(G, M, 0, SIMD_S_NOMEM) : SH(G, X, 0, SIMD_S_NOMEM);
		case 0xe6:
			if (sel == 2)
				return SH(X, X, 8, F); /* CVTDQ2PD */
			return SH(X, X, 16, A | F);
		case 0xe7:
			return mmx ? SH(M, M, 8, SIMD_S_STORE | SIMD_S_NOREG)
				   : SH(X, X, 16, A | SIMD_S_STORE | SIMD_S_NOREG);
		case 0xf0: return SH(X, X, 16, SIMD_S_NOREG); /* LDDQU */
		case 0xf7:
			return mmx ? SH(M, M, 0, SIMD_S_NOMEM | SIMD_S_MASKMV)
				   : SH(X, X, 0, SIMD_S_NOMEM | SIMD_S_MASKMV);
		default: /* the MMX/SSE2 integer rows, 0F D1-FE */
			return mmx ? SH(M, M, 8, 0) : SH(X, X, 16, A);
		}
	}
	if (map == 2) {
		switch (op) {
		case 0x20:
		case 0x23:
		case 0x25:
		case 0x30:
		case 0x33:
		case 0x35: return SH(X, X, 8, 0); /* PMOVSX/ZX BW, WD, DQ */
		case 0x21:
		case 0x24:
		case 0x31:
		case 0x34: return SH(X, X, 4, 0); /* BD, WQ */
		case 0x22:
		case 0x32: return SH(X, X, 2, 0); /* BQ */
		case 0x17: return SH(X, X, 16, A | SIMD_S_EFL);
		case 0x2a: return SH(X, X, 16, A | SIMD_S_NOREG);
		default: return mmx ? SH(M, M, 8, 0) : SH(X, X, 16, A);
		}
	}
	switch (op) { /* map 3, 0F 3A */
	case 0x08:
	case 0x09: return SH(X, X, 16, A | F);
	case 0x0a: return SH(X, X, 4, F);
	case 0x0b: return SH(X, X, 8, F);
	case 0x14: return SH(X, G, 1, SIMD_S_STORE);
	case 0x15: return SH(X, G, 2, SIMD_S_STORE);
	case 0x16: return SH(X, G, w ? 8 : 4, SIMD_S_STORE);
	case 0x17: return SH(X, G, 4, SIMD_S_STORE);
	case 0x20: return SH(X, G, 1, 0);
	case 0x21: return SH(X, X, 4, 0);
	case 0x22: return SH(X, G, w ? 8 : 4, 0);
	case 0x40:
	case 0x41: return SH(X, X, 16, A | F);
	case 0x60:
	case 0x62: return SH(X, X, 16, SIMD_S_EFL);
	case 0x61:
	case 0x63: return SH(X, X, 16, SIMD_S_EFL | SIMD_S_RCX);
	default: return mmx ? SH(M, M, 8, 0) : SH(X, X, 16, A); /* PALIGNR, blends, ... */
	}
}

/* ---- the host side ---- */

/* What fugu_sse_host loads and stores (offsets are used by the assembly). */
struct sse_ctx {
	uint8_t xmm[3][16];  /* 0: host xmm0-2 */
	uint64_t mm[2];      /* 48: host mm1, mm2 */
	uint64_t gpr[3];     /* 64: rax, rcx, rdx */
	uint32_t mxcsr_in;   /* 88 */
	uint32_t mxcsr_out;  /* 92 */
	uint64_t rflags;     /* 96 */
	uint32_t mxcsr_host; /* 104 */
	uint32_t pad;
};
_Static_assert(sizeof(struct sse_ctx) == 112, "sse_ctx layout");

/* fugu_sse_host(ctx, stub, mem): run the stub (one instruction and RET) with
 * the operands of ctx, [rsi] = mem. EMMS at the end leaves the host's x87
 * stack empty, as the ABI wants it. */
void fugu_sse_host(void *ctx, const void *stub, void *mem);
__asm__(".pushsection .text\n"
	".globl fugu_sse_host\n"
	".hidden fugu_sse_host\n"
	".type fugu_sse_host, @function\n"
	".p2align 4\n"
	"fugu_sse_host:\n"
	"	sub $8, %rsp\n"
	"	mov %rsi, %r11\n"
	"	mov %rdx, %rsi\n"
	"	stmxcsr 104(%rdi)\n"
	"	ldmxcsr 88(%rdi)\n"
	"	movdqu 0(%rdi), %xmm0\n"
	"	movdqu 16(%rdi), %xmm1\n"
	"	movdqu 32(%rdi), %xmm2\n"
	"	movq 48(%rdi), %mm1\n"
	"	movq 56(%rdi), %mm2\n"
	"	mov 64(%rdi), %rax\n"
	"	mov 72(%rdi), %rcx\n"
	"	mov 80(%rdi), %rdx\n"
	"	notrack call *%r11\n"
	"	pushfq\n"
	"	pop 96(%rdi)\n"
	"	mov %rax, 64(%rdi)\n"
	"	mov %rcx, 72(%rdi)\n"
	"	mov %rdx, 80(%rdi)\n"
	"	movdqu %xmm0, 0(%rdi)\n"
	"	movdqu %xmm1, 16(%rdi)\n"
	"	movdqu %xmm2, 32(%rdi)\n"
	"	movq %mm1, 48(%rdi)\n"
	"	movq %mm2, 56(%rdi)\n"
	"	emms\n"
	"	stmxcsr 92(%rdi)\n"
	"	ldmxcsr 104(%rdi)\n"
	"	add $8, %rsp\n"
	"	ret\n"
	".size fugu_sse_host, . - fugu_sse_host\n"
	".popsection\n");

/* fugu_sse_host_x and fugu_sse_host_xf: the same for a form with no MMX
 * operand and no result in RFLAGS, RCX or RDX (the common case, op_sse's
 * `plain`): xmm0-2 and rax only, no EMMS; _xf also runs the stub under
 * mxcsr_in (a floating-point form), _x under the host's MXCSR (a form that
 * neither reads nor writes it: it raises no flag). */
void fugu_sse_host_x(void *ctx, const void *stub, void *mem);
void fugu_sse_host_xf(void *ctx, const void *stub, void *mem);
__asm__(".pushsection .text\n"
	".globl fugu_sse_host_x\n"
	".hidden fugu_sse_host_x\n"
	".type fugu_sse_host_x, @function\n"
	".p2align 4\n"
	"fugu_sse_host_x:\n"
	"	sub $8, %rsp\n"
	"	mov %rsi, %r11\n"
	"	mov %rdx, %rsi\n"
	"	movdqu 0(%rdi), %xmm0\n"
	"	movdqu 16(%rdi), %xmm1\n"
	"	movdqu 32(%rdi), %xmm2\n"
	"	mov 64(%rdi), %rax\n"
	"	notrack call *%r11\n"
	"	mov %rax, 64(%rdi)\n"
	"	movdqu %xmm0, 0(%rdi)\n"
	"	movdqu %xmm1, 16(%rdi)\n"
	"	movdqu %xmm2, 32(%rdi)\n"
	"	add $8, %rsp\n"
	"	ret\n"
	".size fugu_sse_host_x, . - fugu_sse_host_x\n"
	".globl fugu_sse_host_xf\n"
	".hidden fugu_sse_host_xf\n"
	".type fugu_sse_host_xf, @function\n"
	".p2align 4\n"
	"fugu_sse_host_xf:\n"
	"	sub $8, %rsp\n"
	"	mov %rsi, %r11\n"
	"	mov %rdx, %rsi\n"
	"	stmxcsr 104(%rdi)\n"
	"	ldmxcsr 88(%rdi)\n"
	"	movdqu 0(%rdi), %xmm0\n"
	"	movdqu 16(%rdi), %xmm1\n"
	"	movdqu 32(%rdi), %xmm2\n"
	"	mov 64(%rdi), %rax\n"
	"	notrack call *%r11\n"
	"	mov %rax, 64(%rdi)\n"
	"	movdqu %xmm0, 0(%rdi)\n"
	"	movdqu %xmm1, 16(%rdi)\n"
	"	movdqu %xmm2, 32(%rdi)\n"
	"	stmxcsr 92(%rdi)\n"
	"	ldmxcsr 104(%rdi)\n"
	"	add $8, %rsp\n"
	"	ret\n"
	".size fugu_sse_host_xf, . - fugu_sse_host_xf\n"
	".popsection\n");

/*
 * The stub cache: one 16-byte slot per distinct host encoding (at most 7
 * bytes: mandatory prefix, REX.W, 0F, 38/3A, opcode, ModRM, imm8, then RET),
 * found by open addressing on the encoding. When it fills up it is emptied.
 * The page is mapped once, readable, writable and executable.
 */
#define STUB_SLOTS 4096u
static uint8_t *stub_page;
static uint64_t stub_keys[STUB_SLOTS];
static unsigned stub_used;

const void *
simd_stub(const uint8_t *code, unsigned n)
{
	/* The bytes and the length as one word (n <= 7), assembled in registers:
	 * a memcpy of n bytes over a word the CPU reads whole stalls on store
	 * forwarding. */
	uint64_t key = (uint64_t)n << 56;
	for (unsigned k = 0; k < n; k++)
		key |= (uint64_t)code[k] << (8 * k);
	if (!stub_page) {
		void *p = mmap(NULL, STUB_SLOTS * 16, PROT_READ | PROT_WRITE | PROT_EXEC,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		stub_page = p;
	}
	unsigned h = (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 52) & (STUB_SLOTS - 1);
	for (;;) {
		if (stub_keys[h] == key)
			return stub_page + 16 * h;
		if (!stub_keys[h])
			break;
		h = (h + 1) & (STUB_SLOTS - 1);
	}
	if (stub_used >= STUB_SLOTS / 2) { /* full: start again */
		memset(stub_keys, 0, sizeof(stub_keys));
		stub_used = 0;
		h = (unsigned)((key * 0x9e3779b97f4a7c15ull) >> 52) & (STUB_SLOTS - 1);
	}
	uint8_t *s = stub_page + 16 * h;
	memcpy(s, code, n);
	s[n] = 0xc3; /* RET */
	stub_keys[h] = key;
	stub_used++;
	return s;
}

/* ---- guest register access ---- */

static uint8_t *
xmm(struct cpu *cpu, unsigned r)
{
	return cpu->state.xsave + XMM_OFF + 16 * r;
}

uint32_t
simd_mxcsr_get(const struct cpu *cpu)
{
	uint32_t v;
	memcpy(&v, cpu->state.xsave + MXCSR_OFF, 4);
	return v;
}

void
simd_mxcsr_set(struct cpu *cpu, uint32_t v)
{
	memcpy(cpu->state.xsave + MXCSR_OFF, &v, 4);
}

/* MMi is the mantissa of physical register i; with TOP = 0 that is slot i. */
static uint64_t
mm_get(struct cpu *cpu, unsigned r)
{
	uint64_t v;
	memcpy(&v, cpu->state.xsave + X87_ST + 16 * (r & 7), 8);
	return v;
}

/* A write of MMi sets its exponent and sign bits (79:64) to ones (vol. 1, 9.5.1). */
static void
mm_set(struct cpu *cpu, unsigned r, uint64_t v)
{
	uint8_t *p = cpu->state.xsave + X87_ST + 16 * (r & 7);
	memcpy(p, &v, 8);
	p[8] = p[9] = 0xff;
}

/* The checks every SSE/MMX instruction makes first (vol. 3A, 2.5 and 13.1;
 * vol. 2, the exception class tables): CR0.EM #UD; CR4.OSFXSR clear #UD for
 * the XMM/MXCSR forms; CR0.TS #NM; an MMX register operand sees pending x87
 * exceptions (#MF). */
static bool
simd_checks(struct cpu *cpu, bool xmm_form, bool mmx_form)
{
	if (cpu->state.cr0 & CR0_EM)
		cpu_ud(cpu);
	if (xmm_form && !(cpu->state.cr4 & CR4_OSFXSR))
		cpu_ud(cpu);
	if (cpu->state.cr0 & CR0_TS)
		cpu_fault(cpu, EXC_NM, NO_ERRCODE);
	return !mmx_form || x87_mmx_pending_ok(cpu);
}

/* FXSAVE64/FXRSTOR64: REX.W in 64-bit mode. */
static inline bool
w64_form(const struct insn *i)
{
	return i->opsize == 8;
}

/* An unmasked SIMD floating-point exception: #XM, or #UD when the OS has not
 * set CR4.OSXMMEXCPT (vol. 3A, 6.15, interrupt 19). */
_Noreturn void
simd_fault(struct cpu *cpu)
{
	if (cpu->state.cr4 & CR4_OSXMMEXCPT)
		cpu_fault(cpu, EXC_XM, NO_ERRCODE);
	cpu_ud(cpu);
}

/* Read n bytes of the memory operand (all before anything changes). */
void
simd_mem_read(struct cpu *cpu, const struct insn *i, uint64_t ea, uint8_t *buf, unsigned n)
{
	uint64_t m = addr_mask(i->adsize);
	unsigned k = 0;
	for (; k + 8 <= n; k += 8) {
		uint64_t v = cpu_read(cpu, i->seg, (ea + k) & m, 8);
		memcpy(buf + k, &v, 8);
	}
	for (; k < n; k++)
		buf[k] = (uint8_t)cpu_read(cpu, i->seg, (ea + k) & m, 1);
}

void
simd_mem_probe(struct cpu *cpu, const struct insn *i, uint64_t ea, unsigned n)
{
	uint64_t m = addr_mask(i->adsize);
	unsigned k = 0;
	for (; k + 8 <= n; k += 8)
		cpu_probe_write(cpu, i->seg, (ea + k) & m, 8);
	for (; k < n; k++)
		cpu_probe_write(cpu, i->seg, (ea + k) & m, 1);
}

void
simd_mem_write(struct cpu *cpu, const struct insn *i, uint64_t ea, const uint8_t *buf, unsigned n)
{
	uint64_t m = addr_mask(i->adsize);
	unsigned k = 0;
	simd_mem_probe(cpu, i, ea, n);
	for (; k + 8 <= n; k += 8) {
		uint64_t v;
		memcpy(&v, buf + k, 8);
		cpu_write(cpu, i->seg, (ea + k) & m, v, 8);
	}
	for (; k < n; k++)
		cpu_write(cpu, i->seg, (ea + k) & m, buf[k], 1);
}

/* MASKMOVQ/MASKMOVDQU: the bytes of the source whose mask byte has bit 7 set go
 * to DS:rDI (or the override), nothing else is touched (vol. 2B, MASKMOVDQU). */
void
simd_maskmov(struct cpu *cpu, const struct insn *i, const uint8_t *src, const uint8_t *mask,
	     unsigned n)
{
	uint64_t m = addr_mask(i->adsize), di = cpu->state.gpr[R_DI] & m;
	unsigned seg = (i->flags & I_SEGOVR) ? i->seg : S_DS;
	for (unsigned k = 0; k < n; k++)
		if (mask[k] & 0x80)
			cpu_probe_write(cpu, seg, (di + k) & m, 1);
	for (unsigned k = 0; k < n; k++)
		if (mask[k] & 0x80)
			cpu_write(cpu, seg, (di + k) & m, src[k], 1);
}

/*
 * With an exception unmasked in the guest's MXCSR the instruction runs with
 * the guest's own masks, so that the hardware decides what traps and which
 * flags it sets (an unmasked underflow is signalled on tininess alone, and the
 * flags of the other lanes follow rules no masked run shows: vol. 1, 11.5.2).
 * The host's #XM arrives as SIGFPE inside the stub; the handler takes MXCSR
 * from the signal frame and jumps back. Only guests that unmask SIMD
 * exceptions pay for the handler's installation.
 */
static sigjmp_buf trap_jmp;
static volatile uint32_t trap_mxcsr;

static void
trap_on_sigfpe(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	trap_mxcsr = uc->uc_mcontext.fpregs ? uc->uc_mcontext.fpregs->mxcsr : 0x3f;
	siglongjmp(trap_jmp, 1);
}

/* Run the stub through run(ctx, stub, mem) with unmasked exceptions: returns
 * true when it trapped, with the host's MXCSR at the trap in *mxcsr (the
 * destination is not written); host_mxcsr is what run() restores on return. */
bool
simd_run_trapping(simd_host_fn run, void *ctx, const void *stub, void *mem, uint32_t host_mxcsr,
		  uint32_t *mxcsr)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = trap_on_sigfpe;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGFPE, &sa, &old);
	bool trapped = false;
	if (sigsetjmp(trap_jmp, 0)) {
		trapped = true;
		*mxcsr = trap_mxcsr;
		__asm__ volatile("emms\n\tldmxcsr %0" : : "m"(host_mxcsr));
	} else {
		run(ctx, stub, mem);
	}
	sigaction(SIGFPE, &old, NULL);
	return trapped;
}

struct simd_shape
simd_sse_shape(const struct insn *i)
{
	return sse_shape(i->opcode >> 8, i->opcode & 0xff, i->imm2 & 3, i->opsize == 8);
}

unsigned
simd_sse_encode(const struct insn *i, unsigned hreg, unsigned hrm, uint8_t *code)
{
	unsigned map = i->opcode >> 8, op = i->opcode & 0xff, sel = i->imm2 & 3, n = 0;
	static const uint8_t pfx[4] = { 0, 0x66, 0xf3, 0xf2 };
	if (sel)
		code[n++] = pfx[sel];
	if (i->opsize == 8)
		code[n++] = 0x48;
	code[n++] = 0x0f;
	if (map == 2)
		code[n++] = 0x38;
	else if (map == 3)
		code[n++] = 0x3a;
	code[n++] = (uint8_t)op;
	code[n++] = (uint8_t)((i->flags & I_MEM ? 0x00 : 0xc0) | (hreg & 7) << 3 | (hrm & 7));
	bool has_imm =
		map == 3 || (map == 1 && (op == 0x70 || op == 0x71 || op == 0x72 || op == 0x73 ||
					  op == 0xc2 || op == 0xc4 || op == 0xc5 || op == 0xc6));
	if (has_imm)
		code[n++] = (uint8_t)i->imm;
	return n;
}

/* Every MMX and SSE form of the 0F, 0F 38 and 0F 3A maps. */
void
op_sse(struct cpu *cpu, const struct insn *i)
{
	unsigned map = i->opcode >> 8, op = i->opcode & 0xff, sel = i->imm2 & 3;
	bool w = i->opsize == 8, mem = i->flags & I_MEM;
	struct simd_shape s = sse_shape(map, op, sel, w);
	bool regx = s.reg == SIMD_T_X, rmx = s.rm == SIMD_T_X && !mem;
	bool regm = s.reg == SIMD_T_M, rmm = s.rm == SIMD_T_M && !mem;
	/* MMX-register forms need no OSFXSR; forms with XMM operands or MXCSR do. */
	if (!simd_checks(cpu, regx || s.rm == SIMD_T_X || (s.flags & SIMD_S_MXCSR), regm || rmm))
		return; /* waiting for FERR# to be handled (x87.c) */
	if ((mem && (s.flags & SIMD_S_NOMEM)) || (!mem && (s.flags & SIMD_S_NOREG)))
		cpu_ud(cpu);

	/* Not cleared as a whole (a REP STOS costs more than the rest): what the
	 * host loads and nothing sets is never stored to the guest. */
	struct sse_ctx ctx;
	ctx.mxcsr_out = 0;
	ctx.gpr[0] = ctx.gpr[2] = 0;
	ctx.mm[0] = ctx.mm[1] = 0;
	_Alignas(16) uint8_t buf[16] = { 0 };
	uint64_t ea = 0;
	if (mem) {
		ea = insn_ea(cpu, i);
		if ((s.flags & SIMD_S_ALIGN) && ((cpu->state.seg[i->seg].base + ea) & 15))
			cpu_gp0(cpu); /* vol. 1, 11.6.7: legacy 128-bit operands are aligned */
		if (s.flags & SIMD_S_STORE)
			simd_mem_probe(cpu, i, ea, s.msize);
		else
			simd_mem_read(cpu, i, ea, buf, s.msize);
	}

	/* Host register numbers: guest xmm0 stays xmm0 (implicit operand of the
	 * blends and PCMPxSTRM); reg and r/m fields otherwise xmm1 and xmm2 (the
	 * same host register when they name the same guest register). */
	if (regm || rmm)
		x87_mmx_enter(cpu); /* TOP = 0, every tag valid (vol. 1, 9.5.1) */
	unsigned hreg = 0, hrm = 6;
	unsigned greg = i->reg, grm = i->rm;
	memcpy(ctx.xmm[0], xmm(cpu, 0), 16);
	switch (s.reg) {
	case SIMD_T_X:
		hreg = greg == 0 ? 0 : 1;
		memcpy(ctx.xmm[hreg], xmm(cpu, greg), 16);
		break;
	case SIMD_T_M:
		hreg = 1;
		ctx.mm[0] = mm_get(cpu, greg);
		break;
	case SIMD_T_G:
		hreg = 0;
		ctx.gpr[0] = cpu->state.gpr[greg];
		break;
	default: hreg = (i->modrm >> 3) & 7; break; /* opcode extension */
	}
	if (!mem) {
		switch (s.rm) {
		case SIMD_T_X:
			hrm = grm == 0 ? 0 : (s.reg == SIMD_T_X && grm == greg) ? hreg : 2;
			memcpy(ctx.xmm[hrm], xmm(cpu, grm), 16);
			break;
		case SIMD_T_M:
			hrm = (s.reg == SIMD_T_M && (grm & 7) == (greg & 7)) ? 1 : 2;
			ctx.mm[hrm - 1] = mm_get(cpu, grm);
			break;
		case SIMD_T_G:
			hrm = 0;
			ctx.gpr[0] = cpu->state.gpr[grm];
			break;
		}
	}
	if (s.flags & SIMD_S_MASKMV) {
		unsigned n = regm ? 8 : 16;
		uint8_t src[16], msk[16];
		if (regm) {
			memcpy(src, &ctx.mm[0], 8);
			uint64_t mv = mm_get(cpu, grm);
			memcpy(msk, &mv, 8);
		} else {
			memcpy(src, xmm(cpu, greg), 16);
			memcpy(msk, xmm(cpu, grm), 16);
		}
		simd_maskmov(cpu, i, src, msk, n);
		return;
	}
	if (map == 3 && (op & 0xfc) == 0x60) { /* PCMPESTRx: lengths in rAX, rDX */
		ctx.gpr[0] = cpu->state.gpr[R_AX];
		ctx.gpr[2] = cpu->state.gpr[R_DX];
	}
	ctx.gpr[1] = cpu->state.gpr[R_CX];

	uint8_t code[8];
	unsigned n = simd_sse_encode(i, hreg, hrm, code);
	const void *stub = simd_stub(code, n);
	if (!stub)
		cpu_unmodelled(cpu, "SSE: no executable memory for host stubs");

	uint32_t mx = simd_mxcsr_get(cpu);
	if ((s.flags & SIMD_S_MXCSR) && (mx & 0x1f80) != 0x1f80) {
		uint32_t at_trap;
		ctx.mxcsr_in = mx & ~0x3fu;
		uint32_t host;
		__asm__ volatile("stmxcsr %0" : "=m"(host));
		if (simd_run_trapping(fugu_sse_host, &ctx, stub, buf, host, &at_trap)) {
			simd_mxcsr_set(cpu, mx | (at_trap & 0x3f));
			simd_fault(cpu);
		}
	} else {
		ctx.mxcsr_in = (mx & ~0x3fu) | 0x1f80u;
		bool plain = !regm && !rmm && !(s.flags & (SIMD_S_EFL | SIMD_S_RCX)) &&
			     !(map == 3 && (op & 0xfc) == 0x60);
		if (!plain)
			fugu_sse_host(&ctx, stub, buf);
		else if (s.flags & SIMD_S_MXCSR)
			fugu_sse_host_xf(&ctx, stub, buf);
		else
			fugu_sse_host_x(&ctx, stub, buf); /* mxcsr_out stays 0: nothing raised */
	}
	uint32_t raised = ctx.mxcsr_out & 0x3f;
	if (mem && (s.flags & SIMD_S_STORE))
		simd_mem_write(cpu, i, ea, buf, s.msize);
	simd_mxcsr_set(cpu, mx | raised);

	/* Write back: every host register that holds a guest register (those the
	 * instruction did not write hold the value they were loaded with). */
	memcpy(xmm(cpu, 0), ctx.xmm[0], 16);
	if (s.reg == SIMD_T_X)
		memcpy(xmm(cpu, greg), ctx.xmm[hreg], 16);
	if (rmx)
		memcpy(xmm(cpu, grm), ctx.xmm[hrm], 16);
	/* the r/m operand is the destination of stores and of the shift groups */
	bool store = (s.flags & SIMD_S_STORE) || s.reg == SIMD_T_NONE;
	if (regm && !store)
		mm_set(cpu, greg, ctx.mm[0]);
	if (rmm && store)
		mm_set(cpu, grm, ctx.mm[hrm - 1]);
	unsigned gsz = cpu->code_size == 8 ? 8 : 4;
	if (s.reg == SIMD_T_G)
		reg_write(cpu, greg, gsz, ctx.gpr[0]);
	if (s.rm == SIMD_T_G && !mem && store)
		reg_write(cpu, grm, gsz, ctx.gpr[0]);
	if (s.flags & SIMD_S_RCX)
		reg_write(cpu, R_CX, gsz, ctx.gpr[1]);
	if (s.flags & SIMD_S_EFL)
		flags_set(cpu, F_ARITH, (uint32_t)ctx.rflags & F_ARITH);
}

/* EMMS: every x87 tag empty (vol. 2A, EMMS); like every MMX instruction it
 * also sets TOP to 0 (vol. 1, 9.5.1; the hardware the harness runs on agrees). */
void
op_emms(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	if (!simd_checks(cpu, false, true))
		return;
	x87_mmx_enter(cpu);
	x87_emms(cpu);
}

/* MOVNTI m32/m64, r: a plain store (the non-temporal hint has no effect here). */
void
op_movnti(struct cpu *cpu, const struct insn *i)
{
	unsigned size = i->opsize == 8 ? 8 : 4;
	cpu_write(cpu, i->seg, insn_ea(cpu, i), reg_read(cpu, i->reg, size), size);
}

/* ---- LDMXCSR, STMXCSR, FXSAVE, FXRSTOR ---- */

static void
mxcsr_checks(struct cpu *cpu)
{
	simd_checks(cpu, true, false);
}

/* LDMXCSR: #GP(0) for a reserved bit (vol. 2A, LDMXCSR). */
void
op_ldmxcsr(struct cpu *cpu, const struct insn *i)
{
	mxcsr_checks(cpu);
	uint32_t v = (uint32_t)cpu_read(cpu, i->seg, insn_ea(cpu, i), 4);
	if (v & ~MXCSR_MASK)
		cpu_gp0(cpu);
	simd_mxcsr_set(cpu, v);
}

void
op_stmxcsr(struct cpu *cpu, const struct insn *i)
{
	mxcsr_checks(cpu);
	cpu_write(cpu, i->seg, insn_ea(cpu, i), simd_mxcsr_get(cpu), 4);
}

/* The FXSAVE checks: EM #UD (vol. 2A, FXSAVE: CR0.EM), TS #NM, a 16-byte
 * aligned operand (#GP(0)). Returns the operand's offset. */
static uint64_t
fx_checks(struct cpu *cpu, const struct insn *i)
{
	if (cpu->state.cr0 & CR0_EM)
		cpu_ud(cpu);
	if (cpu->state.cr0 & CR0_TS)
		cpu_fault(cpu, EXC_NM, NO_ERRCODE);
	uint64_t ea = insn_ea(cpu, i);
	if ((cpu->state.seg[i->seg].base + ea) & 15)
		cpu_gp0(cpu);
	return ea;
}

/* How many XMM registers FXSAVE/FXRSTOR move: 16 in 64-bit mode, else 8. The
 * SDM leaves saving MXCSR and XMM with CR4.OSFXSR clear to the implementation;
 * fugu always moves them (vol. 2A, FXSAVE, "Operation"). */
static unsigned
fx_nxmm(const struct cpu *cpu)
{
	return cpu->code_size == 8 ? 16 : 8;
}

/* FXSAVE / FXSAVE64 (vol. 1, 10.5.1, tables 10-2 and 10-3): the image is kept
 * in this layout; the 64-bit form has 64-bit FIP/FDP in place of the
 * selectors (fugu keeps the low 32 bits of both, docs/FPU.md). */
static void
fx_image(struct cpu *cpu, const struct insn *i, uint8_t img[512])
{
	memcpy(img, cpu->state.xsave, XMM_OFF + 256);
	img[5] = 0;
	uint32_t mask = MXCSR_MASK;
	memcpy(img + MXCSR_MASK_OFF, &mask, 4);
	for (unsigned k = 0; k < 8; k++) /* the reserved bytes of the ST slots read as zero */
		memset(img + X87_ST + 16 * k + 10, 0, 6);
	if (w64_form(i)) {
		memset(img + 12, 0, 4); /* FIP 63:32 */
		memset(img + 20, 0, 4); /* FDP 63:32 */
	} else {
		memset(img + 14, 0, 2);
		memset(img + 22, 0, 2);
	}
}

void
op_fxsave(struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = fx_checks(cpu, i);
	_Alignas(16) uint8_t img[512];
	fx_image(cpu, i, img);
	simd_mem_write(cpu, i, ea, img, XMM_OFF + 16 * fx_nxmm(cpu));
}

/* Load the x87 part (x87) and MXCSR and XMM0-nx (sse) of a legacy image whose
 * MXCSR has been checked (FXRSTOR and XRSTOR). */
static void
fx_load(struct cpu *cpu, const struct insn *i, uint8_t img[512], bool x87, bool sse)
{
	if (w64_form(i)) { /* 64-bit FIP/FDP: fugu keeps 32 bits, selectors zero */
		memset(img + 12, 0, 4);
		memset(img + 20, 0, 4);
	}
	if (x87)
		x87_fxrstor(cpu, img);
	if (sse) {
		uint32_t mx;
		memcpy(&mx, img + MXCSR_OFF, 4);
		simd_mxcsr_set(cpu, mx);
		memcpy(xmm(cpu, 0), img + XMM_OFF, 16 * fx_nxmm(cpu));
	}
}

static bool
mxcsr_bad(const uint8_t *img)
{
	uint32_t mx;
	memcpy(&mx, img + MXCSR_OFF, 4);
	return mx & ~MXCSR_MASK;
}

void
op_fxrstor(struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = fx_checks(cpu, i);
	_Alignas(16) uint8_t img[512];
	simd_mem_read(cpu, i, ea, img, XMM_OFF + 16 * fx_nxmm(cpu));
	if (mxcsr_bad(img))
		cpu_gp0(cpu);
	fx_load(cpu, i, img, true, true);
}

/* ---- XSAVE, XSAVEOPT, XRSTOR (standard form; vol. 1, 13.7-13.9; vol. 2C) ---- */

#define XHDR XSAVE_HEADER_OFFSET

/* The checks of XSAVE/XRSTOR: #UD unless CR4.OSXSAVE, #NM on CR0.TS, #GP(0)
 * unless the area is 64-byte aligned. Returns the operand's offset. */
static uint64_t
xsave_checks(struct cpu *cpu, const struct insn *i)
{
	if (!(cpu->state.cr4 & CR4_OSXSAVE))
		cpu_ud(cpu);
	if (cpu->state.cr0 & CR0_TS)
		cpu_fault(cpu, EXC_NM, NO_ERRCODE);
	uint64_t ea = insn_ea(cpu, i);
	if ((cpu->state.seg[i->seg].base + ea) & 63)
		cpu_gp0(cpu);
	return ea;
}

/* The requested-feature bitmap: EDX:EAX AND XCR0 (vol. 1, 13.7). */
static uint64_t
xsave_rfbm(const struct cpu *cpu)
{
	return ((uint32_t)cpu->state.gpr[R_AX] | cpu->state.gpr[R_DX] << 32) & cpu->state.xcr0;
}

/* XINUSE (vol. 1, 13.6): fugu reports a component in use unless it is in its
 * initial configuration (which the SDM allows: XINUSE[i] = 0 only guarantees
 * the initial configuration). x87: FCW 037FH, FSW 0, all tags empty, FOP,
 * FIP, FDP and the selectors 0, ST0-7 0; SSE: XMM0-15 all 0. */
static uint64_t
xinuse(const struct cpu *cpu)
{
	static const uint8_t zero[256];
	const uint8_t *x = cpu->state.xsave;
	uint64_t in = 0;
	uint16_t fcw, fsw, fop;
	memcpy(&fcw, x + X87_FCW, 2);
	memcpy(&fsw, x + X87_FSW, 2);
	memcpy(&fop, x + X87_FOP, 2);
	bool st0 = true;
	for (unsigned k = 0; k < 8; k++)
		st0 = st0 && !memcmp(x + X87_ST + 16 * k, zero, 10);
	if (fcw != 0x037f || fsw || x[X87_FTW] || fop || memcmp(x + X87_FIP, zero, 16) || !st0)
		in |= XCR0_X87;
	if (memcmp(x + XMM_OFF, zero, 256))
		in |= XCR0_SSE;
	if (memcmp(x + XSAVE_AVX_OFFSET, zero, 256)) /* AVX: the upper halves of YMM0-15 */
		in |= XCR0_AVX;
	return in;
}

/* XSAVE / XSAVE64 and XSAVEOPT (vol. 2C, XSAVE, XSAVEOPT). The x87 part
 * (bytes 0-23 and 32-159) is written when RFBM[0], MXCSR and MXCSR_MASK (24-31)
 * when RFBM[1] or RFBM[2], XMM0-7/0-15 when RFBM[1], all as FXSAVE writes
 * them; XSTATE_BV[i] becomes XINUSE[i] for i in RFBM, its other bits and the
 * rest of the header are left as they are. XSAVEOPT is XSAVE without the init
 * and modified optimisations, which it "may" use (vol. 1, 13.9). Every written
 * byte is probed first. */
void
op_xsave(struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = xsave_checks(cpu, i);
	uint64_t rfbm = xsave_rfbm(cpu), m = addr_mask(i->adsize);
	_Alignas(64) uint8_t img[XHDR + 8];
	uint64_t bv;
	simd_mem_read(cpu, i, (ea + XHDR) & m, img + XHDR, 8);
	memcpy(&bv, img + XHDR, 8);
	bv = (bv & ~rfbm) | (xinuse(cpu) & rfbm);
	memcpy(img + XHDR, &bv, 8);
	fx_image(cpu, i, img);
	struct part {
		unsigned off, n;
	} part[5];
	unsigned np = 0;
	if (rfbm & XCR0_X87) {
		part[np++] = (struct part){ 0, 24 };
		part[np++] = (struct part){ X87_ST, 128 };
	}
	/* MXCSR and MXCSR_MASK with RFBM[1] or RFBM[2] (vol. 1, 13.7; the AMD EPYC
	 * host does the same), the XMM registers with RFBM[1] */
	if (rfbm & (XCR0_SSE | XCR0_AVX))
		part[np++] = (struct part){ MXCSR_OFF, 8 };
	if (rfbm & XCR0_SSE)
		part[np++] = (struct part){ XMM_OFF, 16 * fx_nxmm(cpu) };
	if (rfbm & XCR0_AVX) /* YMM_Hi128 of YMM0-15 (0-7 outside 64-bit mode), vol. 1, 13.5.3 */
		part[np++] = (struct part){ XSAVE_AVX_OFFSET, 16 * fx_nxmm(cpu) };
	simd_mem_probe(cpu, i, (ea + XHDR) & m, 8);
	for (unsigned k = 0; k < np; k++)
		simd_mem_probe(cpu, i, (ea + part[k].off) & m, part[k].n);
	for (unsigned k = 0; k < np; k++)
		simd_mem_write(cpu, i, (ea + part[k].off) & m,
			       (part[k].off == XSAVE_AVX_OFFSET ? cpu->state.xsave : img) +
				       part[k].off,
			       part[k].n);
	simd_mem_write(cpu, i, (ea + XHDR) & m, img + XHDR, 8);
}

/* The x87 initial configuration in a legacy image: FCW 037FH, everything else
 * 0, every tag empty (vol. 1, 13.6). */
static void
x87_init_image(uint8_t *img)
{
	memset(img, 0, 24);
	memset(img + X87_ST, 0, 128);
	img[X87_FCW] = 0x7f;
	img[X87_FCW + 1] = 0x03;
}

/* XRSTOR / XRSTOR64 in the standard form (vol. 2C, XRSTOR; vol. 1, 13.8.1):
 * #GP(0) when XSTATE_BV has a bit XCR0 does not, when header bytes 8-23 are
 * not 0, or when MXCSR is loaded with a reserved bit. For i in RFBM,
 * component i is loaded from the image when XSTATE_BV[i] = 1 and set to its
 * initial configuration when it is 0; MXCSR is loaded from the image whenever
 * RFBM[1] or RFBM[2] is 1, whatever XSTATE_BV says. Everything is read and
 * checked before anything changes. */
static void
xrstor_standard(struct cpu *cpu, const struct insn *i, uint64_t ea, uint64_t rfbm,
		uint8_t img[XHDR + 64])
{
	uint64_t m = addr_mask(i->adsize);
	uint64_t bv, h1, h2;
	memcpy(&bv, img + XHDR, 8);
	memcpy(&h1, img + XHDR + 8, 8);
	memcpy(&h2, img + XHDR + 16, 8);
	if ((bv & ~cpu->state.xcr0) || h1 || h2)
		cpu_gp0(cpu);
	if (!(rfbm & (XCR0_X87 | XCR0_SSE | XCR0_AVX)))
		return;
	uint8_t hi[256];
	unsigned nhi = 16 * fx_nxmm(cpu);
	memset(hi, 0, sizeof(hi)); /* the AVX initial configuration: upper halves 0 */
	if ((rfbm & XCR0_AVX) && (bv & XCR0_AVX))
		simd_mem_read(cpu, i, (ea + XSAVE_AVX_OFFSET) & m, hi, nhi);
	simd_mem_read(cpu, i, ea, img, rfbm & XCR0_SSE ? XMM_OFF + 16 * fx_nxmm(cpu) : XMM_OFF);
	bool mx = rfbm & (XCR0_SSE | XCR0_AVX); /* MXCSR: RFBM[1] or RFBM[2] (13.8.1) */
	if (mx && mxcsr_bad(img))
		cpu_gp0(cpu);
	if ((rfbm & XCR0_X87) && !(bv & XCR0_X87))
		x87_init_image(img);
	if ((rfbm & XCR0_SSE) && !(bv & XCR0_SSE))
		memset(img + XMM_OFF, 0, 256);
	fx_load(cpu, i, img, rfbm & XCR0_X87, rfbm & XCR0_SSE);
	if (mx && !(rfbm & XCR0_SSE)) {
		uint32_t v;
		memcpy(&v, img + MXCSR_OFF, 4);
		simd_mxcsr_set(cpu, v);
	}
	if (rfbm & XCR0_AVX)
		memcpy(cpu->state.xsave + XSAVE_AVX_OFFSET, hi, nhi);
}

/* XRSTOR and XRSTORS in the compacted form (vol. 1, 13.8.2 and 13.12; vol.
 * 2C, XRSTOR, XRSTORS). #GP(0) when XCOMP_BV[62:0] has a bit outside
 * `allowed' (XCR0 for XRSTOR, XCR0 | IA32_XSS for XRSTORS), when XSTATE_BV has
 * a bit XCOMP_BV[62:0] does not (bit 63 included), when header bytes 16-63 are
 * not all 0, or when MXCSR would be loaded with a reserved bit. For i in
 * RFBM: XSTATE_BV[i] = 1 loads component i from its compacted offset (given by
 * XCOMP_BV), XSTATE_BV[i] = 0 initialises it, and for SSE that includes MXCSR
 * = 1F80H (MXCSR is part of component 1 here, unlike the standard form). */
static void
xrstor_compacted(struct cpu *cpu, const struct insn *i, uint64_t ea, uint64_t rfbm,
		 uint64_t allowed, uint8_t img[XHDR + 64])
{
	static const uint8_t zero[48];
	uint64_t m = addr_mask(i->adsize);
	uint64_t bv, comp;
	memcpy(&bv, img + XHDR, 8);
	memcpy(&comp, img + XHDR + 8, 8);
	uint64_t fmt = comp & ~(1ull << 63);
	if ((fmt & ~allowed) || (bv & ~fmt) || memcmp(img + XHDR + 16, zero, 48))
		cpu_gp0(cpu);
	uint64_t load = rfbm & bv;
	uint8_t hi[256];
	unsigned nhi = 16 * fx_nxmm(cpu);
	memset(hi, 0, sizeof(hi));
	if (load & XCR0_AVX)
		simd_mem_read(cpu, i, (ea + cpu_xsave_comp_offset(fmt, 2)) & m, hi, nhi);
	if (load & (XCR0_X87 | XCR0_SSE))
		simd_mem_read(cpu, i, ea, img,
			      load & XCR0_SSE ? XMM_OFF + 16 * fx_nxmm(cpu) : XMM_OFF);
	if ((load & XCR0_SSE) && mxcsr_bad(img))
		cpu_gp0(cpu);
	if ((rfbm & XCR0_X87) && !(bv & XCR0_X87))
		x87_init_image(img);
	if ((rfbm & XCR0_SSE) && !(bv & XCR0_SSE)) {
		uint32_t mx = 0x1f80;
		memcpy(img + MXCSR_OFF, &mx, 4);
		memset(img + XMM_OFF, 0, 256);
	}
	fx_load(cpu, i, img, rfbm & XCR0_X87, rfbm & XCR0_SSE);
	if (rfbm & XCR0_AVX)
		memcpy(cpu->state.xsave + XSAVE_AVX_OFFSET, hi, nhi);
}

/* XRSTOR / XRSTOR64 (vol. 2C, XRSTOR): XCOMP_BV[63] selects the form; the
 * compacted form exists only with XSAVEC (CPUID.(EAX=0DH,ECX=1):EAX[1]),
 * without it XCOMP_BV[63] = 1 is a nonzero byte 8-23: #GP(0). */
void
op_xrstor(struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = xsave_checks(cpu, i);
	uint64_t rfbm = xsave_rfbm(cpu), m = addr_mask(i->adsize);
	_Alignas(64) uint8_t img[XHDR + 64];
	simd_mem_read(cpu, i, (ea + XHDR) & m, img + XHDR, 64);
	if ((img[XHDR + 15] & 0x80) && cpu_has(&cpu->features, FEAT_XSAVEC))
		xrstor_compacted(cpu, i, ea, rfbm, cpu->state.xcr0, img);
	else
		xrstor_standard(cpu, i, ea, rfbm, img);
}

/* IA32_XSS (MSR DA0H): fugu has no supervisor state component, so the MSR
 * reads 0 and only 0 may be written (msr.c); XSAVES/XRSTORS therefore manage
 * exactly the user components XCR0 enables. */
#define IA32_XSS_VALUE 0ull

/* The checks of XSAVES/XRSTORS (vol. 2C, XSAVES, XRSTORS; vol. 1, 13.11):
 * #UD unless CR4.OSXSAVE; in VMX non-root operation #UD, since fugu does not
 * allow the "enable XSAVES/XRSTORS" control (vol. 3C, 25.3; cpu/vmx/caps.c);
 * #GP(0) unless CPL = 0; then #NM and alignment as XSAVE. */
static uint64_t
xsaves_checks(struct cpu *cpu, const struct insn *i)
{
	if (!(cpu->state.cr4 & CR4_OSXSAVE) || cpu->vmx_nonroot)
		cpu_ud(cpu);
	if (!cpu_real_mode(cpu) && (cpu->state.cpl != 0 || cpu_v86(cpu)))
		cpu_gp0(cpu);
	return xsave_checks(cpu, i);
}

/* XRSTORS / XRSTORS64 (vol. 2C, XRSTORS; vol. 1, 13.12): the compacted form
 * only (#GP(0) when XCOMP_BV[63] = 0), RFBM = (XCR0 | IA32_XSS) AND EDX:EAX. */
void
op_xrstors(struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = xsaves_checks(cpu, i);
	uint64_t allowed = cpu->state.xcr0 | IA32_XSS_VALUE;
	uint64_t rfbm = ((uint32_t)cpu->state.gpr[R_AX] | cpu->state.gpr[R_DX] << 32) & allowed;
	_Alignas(64) uint8_t img[XHDR + 64];
	simd_mem_read(cpu, i, (ea + XHDR) & addr_mask(i->adsize), img + XHDR, 64);
	if (!(img[XHDR + 15] & 0x80))
		cpu_gp0(cpu);
	xrstor_compacted(cpu, i, ea, rfbm, allowed, img);
}

/* XSAVEC and XSAVES (vol. 1, 13.10-13.11; vol. 2C): the compacted form.
 * TO_BE_SAVED = RFBM AND XINUSE, plus component 1 when RFBM[1] = 1 and MXCSR
 * is not 1F80H (the init optimisation; MXCSR is not covered by XINUSE[1]).
 * x87 writes bytes 0-23 and 32-159, SSE MXCSR/MXCSR_MASK (24-31) and XMM0-7/15;
 * component i >= 2 goes to its compacted offset for XCOMP_BV = RFBM. The header
 * gets XSTATE_BV = TO_BE_SAVED and XCOMP_BV = RFBM | bit 63; its bytes 16-63
 * and bytes 464-511 of the legacy region are not written. XSAVES "may" use the
 * modified optimisation (13.11); fugu always saves, as the SDM permits. Every
 * written byte is probed first. */
static void
xsave_compacted(struct cpu *cpu, const struct insn *i, uint64_t ea, uint64_t rfbm)
{
	uint64_t m = addr_mask(i->adsize);
	uint64_t save = rfbm & xinuse(cpu);
	if ((rfbm & XCR0_SSE) && simd_mxcsr_get(cpu) != 0x1f80)
		save |= XCR0_SSE;
	_Alignas(64) uint8_t img[XHDR + 16];
	fx_image(cpu, i, img);
	uint64_t comp = rfbm | 1ull << 63;
	memcpy(img + XHDR, &save, 8);
	memcpy(img + XHDR + 8, &comp, 8);
	struct part {
		unsigned off, n;
		const uint8_t *src;
	} part[5];
	unsigned np = 0;
	if (save & XCR0_X87) {
		part[np++] = (struct part){ 0, 24, img };
		part[np++] = (struct part){ X87_ST, 128, img + X87_ST };
	}
	if (save & XCR0_SSE) {
		part[np++] = (struct part){ MXCSR_OFF, 8, img + MXCSR_OFF };
		part[np++] = (struct part){ XMM_OFF, 16 * fx_nxmm(cpu), img + XMM_OFF };
	}
	if (save & XCR0_AVX)
		part[np++] = (struct part){ cpu_xsave_comp_offset(rfbm, 2), 16 * fx_nxmm(cpu),
					    cpu->state.xsave + XSAVE_AVX_OFFSET };
	simd_mem_probe(cpu, i, (ea + XHDR) & m, 16);
	for (unsigned k = 0; k < np; k++)
		simd_mem_probe(cpu, i, (ea + part[k].off) & m, part[k].n);
	for (unsigned k = 0; k < np; k++)
		simd_mem_write(cpu, i, (ea + part[k].off) & m, part[k].src, part[k].n);
	simd_mem_write(cpu, i, (ea + XHDR) & m, img + XHDR, 16);
}

/* XSAVEC / XSAVEC64 (vol. 2C, XSAVEC): RFBM = XCR0 AND EDX:EAX; any CPL. */
void
op_xsavec(struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = xsave_checks(cpu, i);
	xsave_compacted(cpu, i, ea, xsave_rfbm(cpu));
}

/* XSAVES / XSAVES64 (vol. 2C, XSAVES): CPL 0, RFBM = (XCR0 | IA32_XSS) AND
 * EDX:EAX. */
void
op_xsaves(struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = xsaves_checks(cpu, i);
	uint64_t rfbm = ((uint32_t)cpu->state.gpr[R_AX] | cpu->state.gpr[R_DX] << 32) &
			(cpu->state.xcr0 | IA32_XSS_VALUE);
	xsave_compacted(cpu, i, ea, rfbm);
}

/* XINUSE for XGETBV with ECX = 1 (system.c). */
uint64_t
simd_xinuse(const struct cpu *cpu)
{
	return xinuse(cpu);
}
