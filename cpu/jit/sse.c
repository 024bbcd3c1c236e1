/*
 * fugu — the JIT's SSE/SSE2 forms (docs/FPU.md, docs/ARCHITECTURE.md "The
 * JIT"). Included by cpu/jit/jit.c, whose compiler state and helpers it uses;
 * not compiled on its own.
 *
 * An op_sse instruction with XMM and general-register operands (no MMX
 * register, no ECX result, no implicit XMM0, no byte-masked store)
 * in 64-bit code becomes the host's own instruction, as op_sse runs it
 * (cpu/exec/sse.c, simd_sse_encode: one encoder for both): the guest's XMM
 * operands are loaded from struct cpu into host xmm1 (ModRM.reg) and xmm2
 * (ModRM.rm, or xmm1 when both name one register), a general register into
 * RAX, and a memory operand is addressed through the JIT's inline TLB lookup
 * ([rdx], the host address of guest RAM), so the host instruction reads or
 * writes the guest's bytes itself. Only the destination is stored back.
 *
 * Whatever the fast path cannot decide goes to op_sse itself, out of line,
 * before anything changed (to_handler, then the trace goes on after the
 * instruction, as compile_muldiv's stubs): CR0.EM or CR0.TS set, CR4.OSFXSR
 * clear (#UD/#NM: vol. 3A, 2.5 and 13.1.4), a floating-point form while any
 * exception is unmasked in the guest's MXCSR (the #XM rules: vol. 1, 11.5),
 * a TLB miss (a walk, a page fault, MMIO, code in the page), and a
 * misaligned operand of an aligned form (#GP(0): vol. 1, 11.6.7). The
 * handler decides and faults exactly as without the JIT.
 *
 * Floating-point forms run with the guest's MXCSR in the host's (its
 * rounding, DAZ, FTZ and sticky flags; every exception masked, as checked),
 * then the host's MXCSR, flags included, is the guest's new one: the sticky
 * flags the instruction raised are ORed in by the hardware, as op_sse does
 * by hand (mx | raised). The host's own MXCSR is kept in the red zone below
 * RSP meanwhile (signal frames skip the red zone). Across a run of register
 * forms that emit no check (sse_chains) the guest's MXCSR stays loaded and
 * its flags are stored once at the run's end.
 */

#include "cpu/exec/simd.h"

#define OFF_XMM(r) (CPU_OFF(state.xsave) + 160 + 16 * (int32_t)(r))
#define OFF_MXCSR (CPU_OFF(state.xsave) + 24)
#define OFF_CR0 CPU_OFF(state.cr0)
#define OFF_CR4 CPU_OFF(state.cr4)
/* The host's MXCSR while the guest's is loaded: in the red zone, below what
 * the PUSHFQ of the flag-setting forms writes. */
#define HOST_MXCSR (-16)

/* movups xmm, [rbp + disp] (load) or [rbp + disp], xmm (store): a plain
 * 16-byte copy of a guest XMM register. */
static void
sse_movups(struct emit *e, bool store, unsigned x, int32_t disp)
{
	e8(e, 0x0f);
	e8(e, store ? 0x11 : 0x10);
	modrm_mem(e, x, mem(RBP, disp));
}

/* ldmxcsr/stmxcsr [base + disp] (0F AE /2, /3). */
static void
sse_mxcsr(struct emit *e, bool store, unsigned base, int32_t disp)
{
	e8(e, 0x0f);
	e8(e, 0xae);
	modrm_mem(e, store ? 3 : 2, mem(base, disp));
}

/* Does op_sse form i write its whole XMM destination (ModRM.reg) without
 * reading it? Then it need not be loaded first (vol. 2, each page: MOVAPS,
 * MOVUPS, MOVDQA, MOVDQU, LDDQU, MOVD/MOVQ, MOVSS/MOVSD from memory, which
 * zero the rest, PSHUFD/PSHUFLW/PSHUFHW, the unary packed SQRT/RSQRT/RCP,
 * the packed conversions, MOVSLDUP/MOVSHDUP/MOVDDUP). */
static bool
sse_overwrites(const struct insn *i)
{
	unsigned op = i->opcode & 0xff, sel = i->imm2 & 3;
	if (i->opcode >> 8 != 1)
		return false;
	switch (op) {
	case 0x10: return sel < 2 || (i->flags & I_MEM);
	case 0x28:
	case 0x5b:
	case 0x70: return true;
	case 0x51:
	case 0x52:
	case 0x53:
	case 0x5a: return sel < 2;
	case 0x6f: return sel == 1 || sel == 2;
	case 0x6e: return sel == 1;
	case 0x7e: return sel == 2;
	case 0xe6: return sel != 0;
	case 0xf0: return sel == 3;
	case 0x12: return sel >= 2;
	case 0x16: return sel == 2;
	default: return false;
	}
}

static bool sse_form_ok(const struct comp *c, const struct insn *i, const struct simd_shape *s);

/* May the guest's MXCSR stay in the host's from instruction k - 1 (an inline
 * SSE form) into instruction k? When k is an inline register form that emits
 * no check (it follows k - 1, no join): then no C code -- which must not run
 * under the guest's rounding, DAZ/FTZ -- and no fault can come between, and
 * the sticky flags can wait in the host's MXCSR. */
static bool
sse_chains(const struct comp *c, unsigned k)
{
	if (k >= c->t->n || c->join[k])
		return false;
	const struct insn *i = &c->t->insn[k];
	if (i->fn != op_sse || (i->flags & I_MEM))
		return false;
	struct simd_shape s = simd_sse_shape(i);
	return sse_form_ok(c, i, &s);
}

/* Does the JIT compile this op_sse form? (See the comment at the top.) */
static bool
sse_form_ok(const struct comp *c, const struct insn *i, const struct simd_shape *s)
{
	unsigned map = i->opcode >> 8, op = i->opcode & 0xff;
	bool m = (i->flags & I_MEM) != 0;
	if (c->code_size != 8 || s->reg == SIMD_T_M || s->rm == SIMD_T_M)
		return false;
	if (s->flags & (SIMD_S_RCX | SIMD_S_MASKMV))
		return false;
	if ((m && (s->flags & SIMD_S_NOMEM)) || (!m && (s->flags & SIMD_S_NOREG)))
		return false; /* #UD: the handler */
	if (map == 2 && (op == 0x10 || op == 0x14 || op == 0x15))
		return false; /* PBLENDVB, BLENDVPS, BLENDVPD read XMM0 */
	if (m && (!mem_ok(c, i) || s->msize == 0 || (i->flags & I_LOCK)))
		return false;
	return true;
}

static bool
compile_sse(struct comp *c, const struct insn *i, unsigned k)
{
	if (i->fn != op_sse)
		return false;
	struct simd_shape s = simd_sse_shape(i);
	if (!sse_form_ok(c, i, &s))
		return false;
	struct emit *e = &c->e;
	bool m = (i->flags & I_MEM) != 0, fp = (s.flags & SIMD_S_MXCSR) != 0;
	bool store = (s.flags & SIMD_S_STORE) || s.reg == SIMD_T_NONE;
	unsigned first_stub = c->nhstub;
	/* The handler may run out of line (and clobber RSI, RDI, R8): no record
	 * may stay pending across it. The flags are not touched here. */
	flush_lf(c);

	/* simd_checks: CR0.EM #UD, CR4.OSFXSR clear #UD, CR0.TS #NM. After
	 * another inline SSE form with no handler call and no join between
	 * they hold: only a handler changes CR0, CR4 or MXCSR's masks; what
	 * may run out of line meanwhile is op_sse for an inline SSE form
	 * (which changes none, and faults when one of these checks failed
	 * there: every form here has an XMM operand), DIV/IDIV, the C memory
	 * path, or a stub that ends the trace. */
	bool follows = c->sse_last > 0 && c->sse_nhandler == c->nhandler;
	for (unsigned j = c->sse_last; follows && j <= k; j++)
		follows = !c->join[j];
	if (!follows) {
		test_mi8(e, mem(RBP, OFF_CR0), CR0_EM | CR0_TS);
		to_handler(c, k, CC_NE);
		test_mi8(e, mem(RBP, OFF_CR4 + 1), CR4_OSFXSR >> 8);
		to_handler(c, k, CC_E);
		c->sse_mx_ok = false;
	}
	/* Every exception masked, else the #XM rules: the handler, and the
	 * trace ends after it (an unmasked exception need not fault: the next
	 * forms may not assume the masks then). */
	unsigned mx_stub = UINT_MAX;
	if (fp && !c->sse_mx_ok) {
		op_rm(e, OP_MOV_LD, 4, RAX, mem(RBP, OFF_MXCSR));
		grp1_ri(e, 4, 4, RAX, 0x1f80);
		grp1_ri(e, 7, 4, RAX, 0x1f80);
		mx_stub = c->nhstub;
		to_handler(c, k, CC_NE);
		c->sse_mx_ok = true;
	}
	if (m) {
		emit_ea(c, i, k);
		lookup_or_handler(c, k, i->seg, s.msize, store ? TLB_WRITE : TLB_READ);
		if (s.flags & SIMD_S_ALIGN) { /* host and guest agree below 4 KiB */
			e8(e, 0xf6);          /* test dl, 15 */
			e8(e, 0xc2);
			e8(e, 0x0f);
			to_handler(c, k, CC_NE);
		}
	}

	/* The operands, into host registers. */
	unsigned hreg = 0, hrm = RDX;
	bool same = !m && s.reg == SIMD_T_X && s.rm == SIMD_T_X && i->rm == i->reg;
	if (s.reg == SIMD_T_X) {
		hreg = 1;
		if (!sse_overwrites(i) || same)
			sse_movups(e, false, hreg, OFF_XMM(i->reg));
	} else if (s.reg == SIMD_T_G) {
		hreg = RAX;
	} else {
		hreg = (i->modrm >> 3) & 7; /* opcode extension */
	}
	if (!m && s.rm == SIMD_T_X) {
		hrm = same ? hreg : 2; /* one host register for both */
		if (!same)
			sse_movups(e, false, hrm, OFF_XMM(i->rm));
	} else if (!m && s.rm == SIMD_T_G) {
		hrm = RAX;
	}
	if (s.reg == SIMD_T_G)
		load_greg(c, i, i->reg, 8, RAX); /* as op_sse: loaded, then written */
	if (!m && s.rm == SIMD_T_G)
		load_greg(c, i, i->rm, 8, RAX);

	if (fp && !c->sse_mx_live) {
		sse_mxcsr(e, true, RSP, HOST_MXCSR);
		sse_mxcsr(e, false, RBP, OFF_MXCSR);
		c->sse_mx_live = true;
	}
	uint8_t code[8];
	unsigned n = simd_sse_encode(i, hreg, hrm, code);
	if (c->cpu->jit->break_sse && (i->opcode & 0xff) == 0x70)
		code[n - 1] ^= 1; /* FUGU_JIT_CHECK_BREAK=sse: PSHUFD's imm8 off (tests) */
	for (unsigned b = 0; b < n; b++)
		e8(e, code[b]);
	if (c->sse_mx_live && !sse_chains(c, k + 1)) {
		sse_mxcsr(e, true, RBP, OFF_MXCSR);
		sse_mxcsr(e, false, RSP, HOST_MXCSR);
		c->sse_mx_live = false;
	}

	/* COMISS/UCOMISS/COMISD/UCOMISD, PTEST: the six arithmetic flags are the
	 * host's (all defined: vol. 2A, COMISD; vol. 2B, PTEST), into RFLAGS with
	 * lf.mask 0, as op_sse's flags_set. */
	if (s.flags & SIMD_S_EFL) {
		e8(e, 0x9c); /* pushfq */
		pop_r(e, RAX);
		grp1_ri(e, 4, 4, RAX, (int32_t)F_ARITH);
		grp1_mi(e, 4, 8, mem(RBP, OFF_RFLAGS), ~(int32_t)F_ARITH);
		op_rm(e, OP_OR_RM_R, 8, RAX, mem(RBP, OFF_RFLAGS));
		mov_mi(e, 2, mem(RBP, OFF_LF_OP + 2), 0);
		c->lf_op = LF_NONE_LAZY;
	}

	/* The destination back: an XMM register (a memory destination was
	 * written by the host instruction), or the general register, all 64
	 * bits in 64-bit code as op_sse's reg_write. */
	if (store && !m && s.rm == SIMD_T_X)
		sse_movups(e, true, hrm, OFF_XMM(i->rm));
	if (!store && s.reg == SIMD_T_X)
		sse_movups(e, true, hreg, OFF_XMM(i->reg));
	if (s.reg == SIMD_T_G)
		store_greg(c, i, i->reg, 8, RAX);
	if (store && !m && s.rm == SIMD_T_G)
		store_greg(c, i, i->rm, 8, RAX);

	/* The handler leaves what this code would (a fault aside, which ends
	 * the trace in emit_hstub's check): the trace goes on after it. */
	for (unsigned h = first_stub; h < c->nhstub; h++)
		if (h != mx_stub && !c->sse_mx_live)
			c->hstub[h].back = e->p;
	/* (With the guest's MXCSR left loaded for the next form, the code
	 * after this one expects it there: a stub that ran the handler, which
	 * never loaded it, ends the trace instead. Only the first form of such
	 * a run has stubs.) */
	c->sse_last = k + 1;
	c->sse_nhandler = c->nhandler;
	return true;
}
