/*
 * fugu — the VEX-encoded instructions: AVX, AVX2, FMA, F16C (SDM vol. 1,
 * chapter 14; vol. 2, the instruction pages) and the VEX general-register
 * instructions of BMI1 and BMI2.
 *
 * As for SSE (sse.c, docs/FPU.md), the host's unit runs the guest's
 * instruction: it is re-encoded as a three-byte VEX instruction with its
 * vector operands renamed to host ymm0-ymm4 (guest ymm0 stays ymm0, since
 * VPCMPxSTRM writes it implicitly; the other guest registers named by
 * ModRM.reg, VEX.vvvv, ModRM.rm and imm8[7:4] get ymm1-4, one host register
 * per distinct guest register), its general registers to rax/rcx/rdx (guest
 * rAX, rCX, rDX, which VPCMPESTRx and MULX use implicitly) or r8-r10, and its
 * memory operand to [rsi], a 32-byte host buffer. The host writes a VEX.128
 * destination's bits 255:128 as zero, and every host register that holds a
 * guest register is copied back whole, so a register the instruction did not
 * write keeps its value. RFLAGS (VPTEST, VCOMISS, BMI) and MXCSR come back
 * from the host too.
 *
 * fugu does the rest: the #UD/#NM rules (decode-time ones in cpu/vex.c, the
 * state ones here), alignment (#GP(0) only for the aligned moves, exception
 * class 1), memory through the CPU's path with loads before any change and
 * stores probed first, unmasked SIMD exceptions (#XM/#UD as for SSE), and the
 * instructions whose memory accesses depend on data: VMASKMOV/VPMASKMOV,
 * the gathers, VMASKMOVDQU, and VZEROUPPER/VZEROALL.
 */
#include "cpu/cpuid.h"
#include "cpu/exec/exec.h"
#include "cpu/exec/simd.h"
#include "cpu/vex.h"

#define XMM_OFF 160

/* What fugu_avx_host loads and stores (offsets are used by the assembly). */
struct avx_ctx {
	uint8_t ymm[5][32];  /* 0: host ymm0-4 */
	uint64_t gpr[6];     /* 160: rax, rcx, rdx, r8, r9, r10 */
	uint64_t rflags;     /* 208: arithmetic flags in and out */
	uint32_t mxcsr_in;   /* 216 */
	uint32_t mxcsr_out;  /* 220 */
	uint32_t mxcsr_host; /* 224 */
	uint32_t pad;
};
_Static_assert(sizeof(struct avx_ctx) == 232, "avx_ctx layout");

/* fugu_avx_host(ctx, stub, mem): run the stub with the operands of ctx, [rsi] =
 * mem; VZEROUPPER at the end (the host's own code then pays no transition). */
void fugu_avx_host(void *ctx, const void *stub, void *mem);
__asm__(".pushsection .text\n"
	".globl fugu_avx_host\n"
	".hidden fugu_avx_host\n"
	".type fugu_avx_host, @function\n"
	".p2align 4\n"
	"fugu_avx_host:\n"
	"	sub $8, %rsp\n"
	"	mov %rsi, %r11\n"
	"	mov %rdx, %rsi\n"
	"	stmxcsr 224(%rdi)\n"
	"	ldmxcsr 216(%rdi)\n"
	"	vmovdqu 0(%rdi), %ymm0\n"
	"	vmovdqu 32(%rdi), %ymm1\n"
	"	vmovdqu 64(%rdi), %ymm2\n"
	"	vmovdqu 96(%rdi), %ymm3\n"
	"	vmovdqu 128(%rdi), %ymm4\n"
	"	mov 160(%rdi), %rax\n"
	"	mov 168(%rdi), %rcx\n"
	"	mov 176(%rdi), %rdx\n"
	"	mov 184(%rdi), %r8\n"
	"	mov 192(%rdi), %r9\n"
	"	mov 200(%rdi), %r10\n"
	"	push 208(%rdi)\n"
	"	popfq\n"
	"	notrack call *%r11\n"
	"	pushfq\n"
	"	pop 208(%rdi)\n"
	"	mov %rax, 160(%rdi)\n"
	"	mov %rcx, 168(%rdi)\n"
	"	mov %rdx, 176(%rdi)\n"
	"	mov %r8, 184(%rdi)\n"
	"	mov %r9, 192(%rdi)\n"
	"	mov %r10, 200(%rdi)\n"
	"	vmovdqu %ymm0, 0(%rdi)\n"
	"	vmovdqu %ymm1, 32(%rdi)\n"
	"	vmovdqu %ymm2, 64(%rdi)\n"
	"	vmovdqu %ymm3, 96(%rdi)\n"
	"	vmovdqu %ymm4, 128(%rdi)\n"
	"	stmxcsr 220(%rdi)\n"
	"	ldmxcsr 224(%rdi)\n"
	"	vzeroupper\n"
	"	add $8, %rsp\n"
	"	ret\n"
	".size fugu_avx_host, . - fugu_avx_host\n"
	".popsection\n");

/* ---- guest registers: YMMr is XMMr (legacy region) and its upper half at 576 ---- */

static void
ymm_get(const struct cpu *cpu, unsigned r, uint8_t v[32])
{
	memcpy(v, cpu->state.xsave + XMM_OFF + 16 * r, 16);
	memcpy(v + 16, cpu->state.xsave + XSAVE_AVX_OFFSET + 16 * r, 16);
}

static void
ymm_set(struct cpu *cpu, unsigned r, const uint8_t v[32])
{
	memcpy(cpu->state.xsave + XMM_OFF + 16 * r, v, 16);
	memcpy(cpu->state.xsave + XSAVE_AVX_OFFSET + 16 * r, v + 16, 16);
}

/*
 * The checks every AVX instruction makes (vol. 2A, 2.4 and the exception
 * classes of 2.5): VEX is not recognised in real and virtual-8086 mode (C4/C5
 * are LES/LDS there, whose register forms are #UD); #UD unless CR4.OSXSAVE and
 * XCR0 enables both SSE and AVX state (XCR0[2:1] = 11b); #NM when CR0.TS is
 * set. CR0.EM and CR4.OSFXSR do not matter to VEX instructions.
 */
static void
avx_checks(struct cpu *cpu)
{
	if (!(cpu->state.cr0 & CR0_PE) || (cpu->state.rflags & F_VM))
		cpu_ud(cpu);
	if (!(cpu->state.cr4 & CR4_OSXSAVE) ||
	    (cpu->state.xcr0 & (XCR0_SSE | XCR0_AVX)) != (XCR0_SSE | XCR0_AVX))
		cpu_ud(cpu);
	if (cpu->state.cr0 & CR0_TS)
		cpu_fault(cpu, EXC_NM, NO_ERRCODE);
}

/* The memory operand's linear address check for the aligned forms (type 1:
 * 16 bytes for VEX.128, 32 for VEX.256). */
static void
align_check(struct cpu *cpu, const struct insn *i, uint64_t ea, unsigned n)
{
	if ((cpu->state.seg[i->seg].base + ea) & (n - 1))
		cpu_gp0(cpu);
}

/* ---- the operand renaming ---- */

struct rename {
	uint8_t vguest[5]; /* guest register in host ymm k, 0xff: free */
	uint8_t gguest[6]; /* guest GPR in host rax, rcx, rdx, r8, r9, r10 */
};

static const uint8_t gpr_host[6] = { 0, 1, 2, 8, 9, 10 };

/* The host ymm for guest vector register g. */
static unsigned
ren_vec(struct rename *rn, struct avx_ctx *ctx, const struct cpu *cpu, unsigned g)
{
	for (unsigned k = 0; k < 5; k++)
		if (rn->vguest[k] == g)
			return k;
	for (unsigned k = 1; k < 5; k++)
		if (rn->vguest[k] == 0xff) {
			rn->vguest[k] = (uint8_t)g;
			ymm_get(cpu, g, ctx->ymm[k]);
			return k;
		}
	return 0; /* not reached: at most four operands */
}

/* The host GPR number for guest GPR g: rAX, rCX, rDX as themselves, others r8-r10. */
static unsigned
ren_gpr(struct rename *rn, struct avx_ctx *ctx, const struct cpu *cpu, unsigned g)
{
	for (unsigned k = 0; k < 6; k++)
		if (rn->gguest[k] == g)
			return gpr_host[k];
	for (unsigned k = 3; k < 6; k++)
		if (rn->gguest[k] == 0xff) {
			rn->gguest[k] = (uint8_t)g;
			ctx->gpr[k] = cpu->state.gpr[g];
			return gpr_host[k];
		}
	return 0;
}

static unsigned
ren(struct rename *rn, struct avx_ctx *ctx, const struct cpu *cpu, unsigned kind, unsigned g)
{
	return kind == VO_G ? ren_gpr(rn, ctx, cpu, g) : ren_vec(rn, ctx, cpu, g);
}

/* The effective VEX.W: WIG forms run as W0; a W that selects a 64-bit general
 * register counts only in 64-bit mode ("VEX.W1 in non-64-bit is ignored"). */
static unsigned
eff_w(const struct cpu *cpu, const struct vexrow *r, unsigned w)
{
	if (r->flags & (VF_W0 | VF_W1 | VF_WK))
		return w;
	if (r->flags & VF_WG)
		return cpu->code_size == 8 ? w : 0;
	return 0;
}

/* Run a stub on the host: with the guest's MXCSR when all exceptions are masked,
 * else under the SIGFPE trap (sse.c); an unmasked exception leaves everything
 * but MXCSR's flags untouched and raises #XM/#UD. */
static void
run_host(struct cpu *cpu, struct avx_ctx *ctx, const void *stub, uint8_t *buf, bool fp)
{
	uint32_t mx = simd_mxcsr_get(cpu);
	if (fp && (mx & 0x1f80) != 0x1f80) {
		uint32_t at_trap, host;
		__asm__ volatile("stmxcsr %0" : "=m"(host));
		ctx->mxcsr_in = mx & ~0x3fu;
		if (simd_run_trapping(fugu_avx_host, ctx, stub, buf, host, &at_trap)) {
			__asm__ volatile("vzeroupper");
			simd_mxcsr_set(cpu, mx | (at_trap & 0x3f));
			simd_fault(cpu);
		}
	} else {
		ctx->mxcsr_in = (mx & ~0x3fu) | 0x1f80u;
		fugu_avx_host(ctx, stub, buf);
	}
	if (fp)
		simd_mxcsr_set(cpu, mx | (ctx->mxcsr_out & 0x3f));
}

/* VK_HOST and VK_GPR: re-encode, run, write back. */
static void
exec_host(struct cpu *cpu, const struct insn *i, const struct vexrow *r)
{
	unsigned map = i->opcode >> 8, op = i->opcode & 0xff, pp = VEX_PP(i->imm2);
	unsigned l = (r->flags & VF_LIG) ? 0 : VEX_L(i->imm2);
	unsigned w = eff_w(cpu, r, VEX_W(i->imm2));
	bool mem = i->flags & I_MEM;
	unsigned msize = (r->flags & VF_WSZ) ? (w ? 8 : 4) : l ? r->m256 : r->m128;

	_Alignas(32) uint8_t buf[32] = { 0 };
	uint64_t ea = 0;
	if (mem) {
		ea = insn_ea(cpu, i);
		if (r->flags & VF_ALIGN)
			align_check(cpu, i, ea, l ? 32 : 16);
		if (r->flags & VF_STORE)
			simd_mem_probe(cpu, i, ea, msize);
		else
			simd_mem_read(cpu, i, ea, buf, msize);
	}

	struct avx_ctx ctx;
	struct rename rn;
	memset(&ctx, 0, sizeof(ctx));
	memset(&rn, 0xff, sizeof(rn));
	rn.vguest[0] = 0;
	ymm_get(cpu, 0, ctx.ymm[0]);
	for (unsigned k = 0; k < 3; k++) {
		rn.gguest[k] = (uint8_t)k;
		ctx.gpr[k] = cpu->state.gpr[k];
	}
	ctx.rflags = (cpu_get_rflags(cpu) & F_ARITH) | 2;

	unsigned hreg = (i->modrm >> 3) & 7; /* an opcode extension stays as it is */
	if (r->reg != VO_N)
		hreg = ren(&rn, &ctx, cpu, r->reg, i->reg);
	unsigned hv = 0;
	if (r->vvvv != VO_N && !((r->flags & VF_VSR) && mem))
		hv = ren(&rn, &ctx, cpu, r->vvvv, VEX_VVVV(i->imm2));
	unsigned hrm = 6; /* [rsi] */
	if (!mem)
		hrm = ren(&rn, &ctx, cpu, r->rm, i->rm);
	uint8_t imm = (uint8_t)i->imm;
	if (r->flags & VF_IS4) {
		unsigned g = (imm >> 4) & (cpu->code_size == 8 ? 15 : 7);
		imm = (uint8_t)(ren_vec(&rn, &ctx, cpu, g) << 4 | (imm & 15));
	}

	/* C4 RXB.mmmmm W.vvvv.L.pp opcode ModRM [imm8] */
	uint8_t code[8];
	unsigned n = 0;
	code[n++] = 0xc4;
	code[n++] = (uint8_t)((~hreg & 8) << 4 | 0x40 | (~hrm & 8) << 2 | map);
	code[n++] = (uint8_t)(w << 7 | (~hv & 15) << 3 | l << 2 | pp);
	code[n++] = (uint8_t)op;
	code[n++] = (uint8_t)((mem ? 0x00 : 0xc0) | (hreg & 7) << 3 | (hrm & 7));
	if (r->flags & VF_IMM)
		code[n++] = imm;
	const void *stub = simd_stub(code, n);
	if (!stub)
		cpu_unmodelled(cpu, "AVX: no executable memory for host stubs");

	run_host(cpu, &ctx, stub, buf, r->flags & VF_MX);

	if (mem && (r->flags & VF_STORE))
		simd_mem_write(cpu, i, ea, buf, msize);
	for (unsigned k = 0; k < 5; k++)
		if (rn.vguest[k] != 0xff)
			ymm_set(cpu, rn.vguest[k], ctx.ymm[k]);
	for (unsigned k = 0; k < 6; k++)
		if (rn.gguest[k] != 0xff)
			cpu->state.gpr[rn.gguest[k]] = ctx.gpr[k];
	flags_set(cpu, F_ARITH, (uint32_t)ctx.rflags & F_ARITH);
}

/* VZEROUPPER (VEX.L = 0) zeroes bits 255:128 of every YMM register, VZEROALL
 * (VEX.L = 1) all of them; outside 64-bit mode only YMM0-7 (vol. 2C). */
static void
exec_zero(struct cpu *cpu, const struct insn *i)
{
	unsigned nreg = cpu->code_size == 8 ? 16 : 8;
	memset(cpu->state.xsave + XSAVE_AVX_OFFSET, 0, 16 * nreg);
	if (VEX_L(i->imm2))
		memset(cpu->state.xsave + XMM_OFF, 0, 16 * nreg);
}

/* VLDMXCSR (/2) and VSTMXCSR (/3): as LDMXCSR/STMXCSR, #GP(0) for a reserved bit. */
static void
exec_mxcsr(struct cpu *cpu, const struct insn *i)
{
	uint64_t ea = insn_ea(cpu, i);
	if (((i->modrm >> 3) & 7) == 3) {
		cpu_write(cpu, i->seg, ea, simd_mxcsr_get(cpu), 4);
		return;
	}
	uint32_t v = (uint32_t)cpu_read(cpu, i->seg, ea, 4);
	if (v & ~0xffffu)
		cpu_gp0(cpu);
	simd_mxcsr_set(cpu, v);
}

/* The element size of VMASKMOVPS/PD (2C-2F: PS, PD) and VPMASKMOVD/Q (8C/8E: W). */
static unsigned
mask_esize(const struct insn *i)
{
	unsigned op = i->opcode & 0xff;
	if (op == 0x8c || op == 0x8e)
		return VEX_W(i->imm2) ? 8 : 4;
	return (op & 1) ? 8 : 4;
}

/*
 * VMASKMOVPS/PD and VPMASKMOVD/Q (vol. 2C): the mask is VEX.vvvv, an element
 * is moved when its most significant bit is set. Only those elements are
 * accessed, so a masked-off element neither faults nor touches memory. A load
 * zeroes the other elements (and bits 255:128 with VEX.128); a store leaves
 * their memory alone.
 */
static void
exec_maskmov(struct cpu *cpu, const struct insn *i, bool store)
{
	unsigned es = mask_esize(i), bytes = VEX_L(i->imm2) ? 32 : 16;
	uint64_t ea = insn_ea(cpu, i), am = addr_mask(i->adsize);
	uint8_t mask[32], data[32], out[32] = { 0 };
	ymm_get(cpu, VEX_VVVV(i->imm2), mask);
	ymm_get(cpu, i->reg, data);
	for (unsigned k = 0; k < bytes; k += es) {
		if (!(mask[k + es - 1] & 0x80))
			continue;
		if (store)
			cpu_probe_write(cpu, i->seg, (ea + k) & am, es);
		else {
			uint64_t v = cpu_read(cpu, i->seg, (ea + k) & am, es);
			memcpy(out + k, &v, es);
		}
	}
	if (!store) {
		ymm_set(cpu, i->reg, out);
		return;
	}
	for (unsigned k = 0; k < bytes; k += es)
		if (mask[k + es - 1] & 0x80) {
			uint64_t v = 0;
			memcpy(&v, data + k, es);
			cpu_write(cpu, i->seg, (ea + k) & am, v, es);
		}
}

/*
 * The gathers (vol. 2C, VGATHERDPS/DPD/QPS/QPD, VPGATHERDD/DQ/QD/QQ): element j
 * is loaded from base + disp + index[j] * scale (index elements signed, dword
 * or qword) when bit 31/63 of mask element j is set. Elements complete in
 * order, each clearing its mask element as it lands, so a fault leaves the
 * earlier elements loaded and their mask bits cleared, and the instruction
 * can be restarted (the SDM allows exactly this partial progress). At the end
 * the whole mask register is zero; with VEX.128 (and the 256-bit qword-index
 * dword forms, whose destination is an XMM register) the bits above the
 * elements written are zeroed.
 */
static void
exec_gather(struct cpu *cpu, const struct insn *i)
{
	unsigned op = i->opcode & 0xff, l = VEX_L(i->imm2), w = VEX_W(i->imm2);
	bool qidx = op & 1;
	unsigned es = w ? 8 : 4, is = qidx ? 8 : 4;
	unsigned vbytes = l ? 32 : 16;
	unsigned count = vbytes / (es > is ? es : is);
	unsigned dbytes = count * es; /* bytes of destination and mask the gather uses */
	unsigned dst = i->reg, msk = VEX_VVVV(i->imm2);
	uint64_t am = addr_mask(i->adsize);
	uint8_t idx[32];
	ymm_get(cpu, i->index, idx);
	uint64_t base = i->base == REG_NONE ? 0 : cpu->state.gpr[i->base];
	for (unsigned j = 0; j < count; j++) {
		uint8_t m[32], d[32];
		ymm_get(cpu, msk, m);
		if (!(m[j * es + es - 1] & 0x80))
			continue;
		int64_t x;
		if (qidx) {
			memcpy(&x, idx + 8 * j, 8);
		} else {
			int32_t x32;
			memcpy(&x32, idx + 4 * j, 4);
			x = x32;
		}
		uint64_t a = (base + (uint64_t)i->disp + ((uint64_t)x << i->scale)) & am;
		uint64_t v = cpu_read(cpu, i->seg, a, es);
		ymm_get(cpu, dst, d);
		memcpy(d + j * es, &v, es);
		ymm_set(cpu, dst, d);
		memset(m + j * es, 0, es);
		ymm_set(cpu, msk, m);
	}
	uint8_t z[32];
	ymm_get(cpu, msk, z);
	memset(z, 0, 32);
	ymm_set(cpu, msk, z);
	uint8_t d[32];
	ymm_get(cpu, dst, d);
	memset(d + dbytes, 0, 32 - dbytes);
	ymm_set(cpu, dst, d);
}

/* Every VEX instruction the decoder accepted (cpu/vex.c). */
void
op_avx(struct cpu *cpu, const struct insn *i)
{
	const struct vexrow *r = vex_row(i->opcode >> 8, VEX_PP(i->imm2), i->opcode & 0xff);
	if (r->kind == VK_GPR) { /* BMI: general-register instructions, no AVX state */
		if (!(cpu->state.cr0 & CR0_PE) || (cpu->state.rflags & F_VM))
			cpu_ud(cpu);
		exec_host(cpu, i, r);
		return;
	}
	avx_checks(cpu);
	switch (r->kind) {
	case VK_ZERO: exec_zero(cpu, i); return;
	case VK_MXCSR: exec_mxcsr(cpu, i); return;
	case VK_MASKDQU: {
		uint8_t src[32], msk[32];
		ymm_get(cpu, i->reg, src);
		ymm_get(cpu, i->rm, msk);
		simd_maskmov(cpu, i, src, msk, 16);
		return;
	}
	case VK_MASKLD: exec_maskmov(cpu, i, false); return;
	case VK_MASKST: exec_maskmov(cpu, i, true); return;
	case VK_GATHER: exec_gather(cpu, i); return;
	default: exec_host(cpu, i, r); return;
	}
}
