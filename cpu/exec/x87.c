/*
 * fugu — the x87 FPU: D8-DF and WAIT (SDM vol. 1, chapter 8; vol. 2, the
 * instruction pages; opcode maps in vol. 2D, A.4, tables ).
 *
 * Arithmetic runs on the host's own x87 (fugu runs on x86-64 hosts only):
 * the guest's registers, tags, TOP, condition codes and control word are
 * loaded into the host FPU with FRSTOR, the very instruction the guest
 * executes runs there (its register form, or its memory form with the operand
 * copied into a host buffer), and FNSAVE stores everything back. Rounding,
 * precision control, denormals, NaN propagation, masked responses, biased
 * results of unmasked overflow/underflow, stack overflow/underflow, C0-C3 and
 * the transcendental results are the hardware's own. fugu does the rest:
 * decoding, the memory accesses, FIP/FDP/FOP, the control instructions
 * (FLDCW, FNSTCW, FNSTSW, FNCLEX, FNINIT, FLDENV, FNSTENV, FRSTOR, FNSAVE),
 * ES/B, and #NM, #MF and FERR#. See docs/FPU.md.
 */
#include "cpu/exec/x87.h"

#include "cpu/cpuid.h"
#include "cpu/exec/exec.h"

/*
 * The host side: fugu_x87_host(img, idx, mem, rflags). A table of 576 stubs,
 * 8 bytes apart, each one x87 instruction then a jump to the common tail. The
 * memory forms address [rdx] (ModRM mod 00, rm 010). The guest's arithmetic
 * flags are loaded for FCMOVcc and read back for FCOMI; DF and TF stay the
 * host's. FNSAVE leaves the host FPU initialised, so no unmasked exception is
 * ever pending on the host when the function returns.
 */
__asm__(".pushsection .text\n"
	".globl fugu_x87_host\n"
	".hidden fugu_x87_host\n"
	".type fugu_x87_host, @function\n"
	".p2align 4\n"
	"fugu_x87_host:\n"
	"	sub $8, %rsp\n"
	"	fnstcw (%rsp)\n"
	"	mov (%rcx), %rax\n"
	"	and $0x8d5, %eax\n"
	"	pushfq\n"
	"	pop %r8\n"
	"	and $~0x8d5, %r8\n"
	"	or %rax, %r8\n"
	"	push %r8\n"
	"	popfq\n"
	"	frstor (%rdi)\n"
	"	lea .Lx87_stubs(%rip), %rax\n"
	"	mov %esi, %esi\n"
	"	lea (%rax,%rsi,8), %rax\n"
	"	notrack jmp *%rax\n"
	"	.p2align 3\n"
	".Lx87_stubs:\n"
	"	.set .Lx87_n, 0\n"
	"	.rept 512\n"
	"	.p2align 3\n"
	"	.byte 0xd8 + (.Lx87_n >> 6), 0xc0 + (.Lx87_n & 63)\n"
	"	jmp .Lx87_tail\n"
	"	.set .Lx87_n, .Lx87_n + 1\n"
	"	.endr\n"
	"	.set .Lx87_n, 0\n"
	"	.rept 64\n"
	"	.p2align 3\n"
	"	.byte 0xd8 + (.Lx87_n >> 3), ((.Lx87_n & 7) << 3) | 2\n"
	"	jmp .Lx87_tail\n"
	"	.set .Lx87_n, .Lx87_n + 1\n"
	"	.endr\n"
	".Lx87_tail:\n"
	"	pushfq\n"
	"	pop %rax\n"
	"	mov %rax, (%rcx)\n"
	"	fnsave (%rdi)\n"
	"	fldcw (%rsp)\n"
	"	add $8, %rsp\n"
	"	ret\n"
	".size fugu_x87_host, . - fugu_x87_host\n"
	".popsection\n");

/* The 108-byte FSAVE image of 32-bit protected mode (SDM vol. 1, figures 8-9, 8-11). */
struct fsave32 {
	uint16_t fcw, r0, fsw, r1, ftw, r2;
	uint32_t fip;
	uint16_t fcs, fop;
	uint32_t fdp;
	uint16_t fds, r3;
	uint8_t st[8][10];
};
_Static_assert(sizeof(struct fsave32) == 108, "FSAVE image");

static inline uint16_t
x_get16(const struct cpu *cpu, unsigned off)
{
	uint16_t v;
	memcpy(&v, cpu->state.xsave + off, 2);
	return v;
}

static inline void
x_set16(struct cpu *cpu, unsigned off, uint16_t v)
{
	memcpy(cpu->state.xsave + off, &v, 2);
}

static inline uint32_t
x_get32(const struct cpu *cpu, unsigned off)
{
	uint32_t v;
	memcpy(&v, cpu->state.xsave + off, 4);
	return v;
}

static inline void
x_set32(struct cpu *cpu, unsigned off, uint32_t v)
{
	memcpy(cpu->state.xsave + off, &v, 4);
}

static inline unsigned
x87_top(const struct cpu *cpu)
{
	return (x_get16(cpu, X87_FSW) >> 11) & 7;
}

static inline uint8_t *
x87_st(struct cpu *cpu, unsigned i)
{
	return cpu->state.xsave + X87_ST + 16 * i;
}

/* The full 2-bit tag of a register's contents (SDM vol. 1, 8.1.7): valid 0,
 * zero 1, special 2 (NaN, infinity, denormal, unsupported). */
static unsigned
tag_of(const uint8_t *r)
{
	uint64_t m;
	uint16_t se;
	memcpy(&m, r, 8);
	memcpy(&se, r + 8, 2);
	unsigned e = se & 0x7fff;
	if (e == 0x7fff)
		return 2;
	if (e == 0)
		return m ? 2 : 1;
	return (m >> 63) ? 0 : 2;
}

/* The full tag word (physical registers) from the abridged tags and the contents. */
static uint16_t
x87_full_tags(struct cpu *cpu)
{
	unsigned top = x87_top(cpu);
	uint8_t ab = cpu->state.xsave[X87_FTW];
	uint16_t ftw = 0;
	for (unsigned p = 0; p < 8; p++) {
		unsigned t = (ab >> p) & 1 ? tag_of(x87_st(cpu, (p - top) & 7)) : 3;
		ftw |= (uint16_t)(t << (2 * p));
	}
	return ftw;
}

static uint8_t
abridge(uint16_t ftw)
{
	uint8_t ab = 0;
	for (unsigned p = 0; p < 8; p++)
		if (((ftw >> (2 * p)) & 3) != 3)
			ab |= (uint8_t)(1u << p);
	return ab;
}

/* FERR# follows ES; the board latches it into IRQ13 (PC/AT). Returns IGNNE#. */
static bool
x87_ferr(struct cpu *cpu, bool level)
{
	if (!cpu->bus.ferr)
		return true; /* no board wiring: behave as if IGNNE# were asserted */
	return cpu->bus.ferr(cpu->bus.ferr_opaque, level);
}

/* Set FSW and recompute ES and B from the flags and the masks (vol. 1, 8.1.3.1). */
static void
x87_set_fsw(struct cpu *cpu, uint16_t fsw)
{
	uint16_t fcw = x_get16(cpu, X87_FCW);
	fsw &= (uint16_t) ~(FSW_ES | FSW_B);
	if (fsw & ~fcw & 0x3f)
		fsw |= FSW_ES | FSW_B;
	bool was = x_get16(cpu, X87_FSW) & FSW_ES;
	x_set16(cpu, X87_FSW, fsw);
	if (was && !(fsw & FSW_ES))
		x87_ferr(cpu, false);
}

void
x87_reset(struct cpu *cpu)
{
	memset(cpu->state.xsave, 0, XSAVE_LEGACY_SIZE);
	x_set16(cpu, X87_FCW, 0x0040);
	cpu->state.xsave[X87_FTW] = 0xff; /* FTW 5555H: every register tagged zero */
	x_set32(cpu, 24, 0x1f80);         /* MXCSR */
}

/* TOP changes without a push or pop (FNINIT, FLDENV): the physical registers
 * stay where they are, so the ST-ordered slots rotate. */
static void
x87_move_top(struct cpu *cpu, unsigned top)
{
	unsigned d = (top - x87_top(cpu)) & 7;
	uint8_t old[128];
	memcpy(old, x87_st(cpu, 0), 128);
	for (unsigned k = 0; k < 8; k++)
		memcpy(x87_st(cpu, k), old + 16 * ((k + d) & 7), 16);
	x_set16(cpu, X87_FSW, (uint16_t)((x_get16(cpu, X87_FSW) & ~FSW_TOP) | top << 11));
}

/* FNINIT (vol. 2A, FINIT/FNINIT): registers keep their contents. */
static void
x87_init(struct cpu *cpu)
{
	x87_move_top(cpu, 0);
	x_set16(cpu, X87_FCW, 0x037f);
	x87_set_fsw(cpu, 0);
	cpu->state.xsave[X87_FTW] = 0;
	x_set16(cpu, X87_FOP, 0);
	memset(cpu->state.xsave + X87_FIP, 0, 16);
}

/*
 * A waiting instruction with an unmasked exception pending (SDM vol. 1, 8.7
 * and appendix D): #MF when CR0.NE=1; else FERR# is asserted and the
 * instruction waits until IGNNE# lets it go (the board's port F0) or the
 * IRQ13 handler clears the exception. Waiting is modelled by restarting the
 * instruction: it returns false and the run loop takes the interrupt.
 */
static bool
x87_wait_ok(struct cpu *cpu)
{
	if (!(x_get16(cpu, X87_FSW) & FSW_ES))
		return true;
	if (cpu->state.cr0 & CR0_NE)
		cpu_fault(cpu, EXC_MF, NO_ERRCODE);
	if (x87_ferr(cpu, true))
		return true;
	cpu->state.rip = cpu->insn_rip;
	cpu->stop_trace = true;
	return false;
}

/* WAIT/FWAIT: #NM if CR0.MP and CR0.TS are both set; then pending exceptions. */
void
op_fwait(struct cpu *cpu, const struct insn *i)
{
	(void)i;
	if ((cpu->state.cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
		cpu_fault(cpu, EXC_NM, NO_ERRCODE);
	if (cpu_has(&cpu->features, FEAT_FPU))
		x87_wait_ok(cpu);
}

/* ---- memory ---- */

static uint64_t
ea_at(const struct insn *i, uint64_t ea, unsigned k)
{
	return (ea + k) & addr_mask(i->adsize);
}

/* Read n bytes (n even) at the operand; every read happens before any state changes. */
static void
mem_read_bytes(struct cpu *cpu, const struct insn *i, uint64_t ea, uint8_t *buf, unsigned n)
{
	unsigned k = 0;
	for (; k + 4 <= n; k += 4) {
		uint32_t v = (uint32_t)cpu_read(cpu, i->seg, ea_at(i, ea, k), 4);
		memcpy(buf + k, &v, 4);
	}
	for (; k < n; k += 2) {
		uint16_t v = (uint16_t)cpu_read(cpu, i->seg, ea_at(i, ea, k), 2);
		memcpy(buf + k, &v, 2);
	}
}

/* Write n bytes (n even): all probed first, so a fault leaves memory unchanged. */
static void
mem_write_bytes(struct cpu *cpu, const struct insn *i, uint64_t ea, const uint8_t *buf, unsigned n)
{
	unsigned k;
	for (k = 0; k + 4 <= n; k += 4)
		cpu_probe_write(cpu, i->seg, ea_at(i, ea, k), 4);
	for (; k < n; k += 2)
		cpu_probe_write(cpu, i->seg, ea_at(i, ea, k), 2);
	for (k = 0; k + 4 <= n; k += 4) {
		uint32_t v;
		memcpy(&v, buf + k, 4);
		cpu_write(cpu, i->seg, ea_at(i, ea, k), v, 4);
	}
	for (; k < n; k += 2) {
		uint16_t v;
		memcpy(&v, buf + k, 2);
		cpu_write(cpu, i->seg, ea_at(i, ea, k), v, 2);
	}
}

/* ---- instruction pointer, data pointer, opcode (vol. 1, 8.1.8-8.1.9) ---- */

static bool
x87_real_format(const struct cpu *cpu)
{
	return cpu_real_mode(cpu) || cpu_v86(cpu);
}

/* Non-control instructions record their address and opcode; memory forms their
 * operand. In real and V86 mode the pointers are linear addresses. */
static void
x87_record(struct cpu *cpu, const struct insn *i, unsigned modrm, uint64_t ea)
{
	uint64_t ip = cpu->insn_rip;
	if (x87_real_format(cpu))
		ip += cpu->state.seg[S_CS].base;
	x_set32(cpu, X87_FIP, (uint32_t)ip);
	x_set16(cpu, X87_FCS, cpu->state.seg[S_CS].sel);
	x_set16(cpu, X87_FOP, (uint16_t)(((i->opcode & 7) << 8) | modrm));
	if (i->flags & I_MEM) {
		uint64_t dp = ea;
		if (x87_real_format(cpu))
			dp += cpu->state.seg[i->seg].base;
		x_set32(cpu, X87_FDP, (uint32_t)dp);
		x_set16(cpu, X87_FDS, cpu->state.seg[i->seg].sel);
	}
}

/* ---- the environment: FLDENV, FNSTENV, FRSTOR, FNSAVE (vol. 1, figures 8-9 to 8-12) ---- */

/* The environment image in the current mode and operand size; returns its length. */
static unsigned
env_store(struct cpu *cpu, const struct insn *i, uint8_t *b)
{
	uint16_t fcw = x_get16(cpu, X87_FCW), fsw = x_get16(cpu, X87_FSW);
	uint16_t ftw = x87_full_tags(cpu), fop = x_get16(cpu, X87_FOP) & 0x7ff;
	uint32_t fip = x_get32(cpu, X87_FIP), fdp = x_get32(cpu, X87_FDP);
	uint16_t fcs = x_get16(cpu, X87_FCS), fds = x_get16(cpu, X87_FDS);
	bool real = x87_real_format(cpu);
	uint32_t w[7];
	if (i->opsize == 2) {
		uint16_t h[7] = { fcw, fsw, ftw, (uint16_t)fip, fcs, (uint16_t)fdp, fds };
		if (real) {
			h[4] = (uint16_t)(((fip >> 4) & 0xf000) | fop);
			h[5] = (uint16_t)fdp;
			h[6] = (uint16_t)((fdp >> 4) & 0xf000);
		}
		memcpy(b, h, 14);
		return 14;
	}
	/* 32-bit formats; the reserved upper halves read as ones, as the hardware stores them. */
	w[0] = 0xffff0000u | fcw;
	w[1] = 0xffff0000u | fsw;
	w[2] = 0xffff0000u | ftw;
	if (real) {
		w[3] = 0xffff0000u | (fip & 0xffff);
		w[4] = ((fip >> 4) & 0x0ffff000u) | fop;
		w[5] = 0xffff0000u | (fdp & 0xffff);
		w[6] = (fdp >> 4) & 0x0ffff000u;
	} else {
		w[3] = fip;
		w[4] = fcs | ((uint32_t)fop << 16);
		w[5] = fdp;
		w[6] = 0xffff0000u | fds;
	}
	memcpy(b, w, 28);
	return 28;
}

static unsigned
env_load(struct cpu *cpu, const struct insn *i, const uint8_t *b, uint16_t *fsw)
{
	uint16_t h[14];
	uint32_t fip, fdp;
	uint16_t fcs = 0, fds = 0, fop, fcw, ftw;
	unsigned len;
	if (i->opsize == 2) {
		memcpy(h, b, 14);
		fcw = h[0], *fsw = h[1], ftw = h[2];
		if (x87_real_format(cpu)) {
			fip = h[3] | ((uint32_t)(h[4] & 0xf000) << 4);
			fop = h[4] & 0x7ff;
			fdp = h[5] | ((uint32_t)(h[6] & 0xf000) << 4);
		} else {
			fip = h[3], fcs = h[4], fdp = h[5], fds = h[6], fop = 0;
		}
		len = 14;
	} else {
		uint32_t w[7];
		memcpy(w, b, 28);
		fcw = (uint16_t)w[0], *fsw = (uint16_t)w[1], ftw = (uint16_t)w[2];
		if (x87_real_format(cpu)) {
			fip = (w[3] & 0xffff) | ((w[4] & 0x0ffff000u) << 4);
			fop = w[4] & 0x7ff;
			fdp = (w[5] & 0xffff) | ((w[6] & 0x0ffff000u) << 4);
		} else {
			fip = w[3], fcs = (uint16_t)w[4], fop = (w[4] >> 16) & 0x7ff;
			fdp = w[5], fds = (uint16_t)w[6];
		}
		len = 28;
	}
	x_set16(cpu, X87_FCW, (uint16_t)((fcw & 0x1f3f) | 0x40));
	cpu->state.xsave[X87_FTW] = abridge(ftw);
	x_set32(cpu, X87_FIP, fip);
	x_set16(cpu, X87_FCS, fcs);
	x_set16(cpu, X87_FOP, fop);
	x_set32(cpu, X87_FDP, fdp);
	x_set16(cpu, X87_FDS, fds);
	return len;
}

static void
x87_control_mem(struct cpu *cpu, const struct insn *i, unsigned esc, unsigned reg, uint64_t ea)
{
	uint8_t b[108];
	uint16_t fsw;
	if (esc == 1 && reg == 4) { /* FLDENV */
		mem_read_bytes(cpu, i, ea, b, i->opsize == 2 ? 14 : 28);
		env_load(cpu, i, b, &fsw);
		x87_move_top(cpu, (fsw >> 11) & 7);
		x87_set_fsw(cpu, fsw);
	} else if (esc == 1 && reg == 5) { /* FLDCW: bit 6 reads as one, 13-15 as zero */
		uint16_t v = (uint16_t)cpu_read(cpu, i->seg, ea, 2);
		x_set16(cpu, X87_FCW, (uint16_t)((v & 0x1f3f) | 0x40));
		x87_set_fsw(cpu, x_get16(cpu, X87_FSW)); /* unmasking a set flag makes it pending */
	} else if (esc == 1 && reg == 6) {               /* FNSTENV, then mask every exception */
		unsigned n = env_store(cpu, i, b);
		mem_write_bytes(cpu, i, ea, b, n);
		x_set16(cpu, X87_FCW, x_get16(cpu, X87_FCW) | 0x3f);
		x87_set_fsw(cpu, x_get16(cpu, X87_FSW));
	} else if (esc == 1 && reg == 7) { /* FNSTCW */
		cpu_write(cpu, i->seg, ea, x_get16(cpu, X87_FCW), 2);
	} else if (esc == 5 && reg == 4) { /* FRSTOR */
		unsigned n = i->opsize == 2 ? 14 : 28;
		mem_read_bytes(cpu, i, ea, b, n + 80);
		env_load(cpu, i, b, &fsw);
		for (unsigned k = 0; k < 8; k++) {
			memcpy(x87_st(cpu, k), b + n + 10 * k, 10);
			memset(x87_st(cpu, k) + 10, 0, 6);
		}
		x87_set_fsw(cpu, fsw);
	} else if (esc == 5 && reg == 6) { /* FNSAVE, then FNINIT */
		unsigned n = env_store(cpu, i, b);
		for (unsigned k = 0; k < 8; k++)
			memcpy(b + n + 10 * k, x87_st(cpu, k), 10);
		mem_write_bytes(cpu, i, ea, b, n + 80);
		x87_init(cpu);
	} else { /* DD /7 FNSTSW m16 */
		cpu_write(cpu, i->seg, ea, x_get16(cpu, X87_FSW), 2);
	}
}

/* ---- classification ---- */

enum x87_kind {
	K_UD,
	K_HOST,    /* executed on the host; memory operand read before */
	K_STORE,   /* executed on the host; memory operand written after */
	K_CTRL,    /* control instruction with a memory operand */
	K_FCOMI,   /* host; sets ZF PF CF (and clears OF SF AF) */
	K_FCMOV,   /* host; reads the flags (CMOV feature) */
	K_FNCLEX,  /* DB E2 */
	K_FNINIT,  /* DB E3 */
	K_NOP287,  /* DB E0 FENI, E1 FDISI, E4 FSETPM: no-ops since the 80287/387 */
	K_FNSTSWAX /* DF E0 */
};

/* Memory operand size by escape and ModRM.reg (0: not a host memory form). */
static const uint8_t mem_size[8][8] = {
	{ 4, 4, 4, 4, 4, 4, 4, 4 },   /* D8: m32fp arithmetic */
	{ 4, 0, 4, 4, 0, 0, 0, 0 },   /* D9: FLD, -, FST, FSTP m32fp; FLDENV FLDCW FNSTENV FNSTCW */
	{ 4, 4, 4, 4, 4, 4, 4, 4 },   /* DA: m32int arithmetic */
	{ 4, 4, 4, 4, 0, 10, 0, 10 }, /* DB: FILD FISTTP FIST FISTP m32int, FLD/FSTP m80fp */
	{ 8, 8, 8, 8, 8, 8, 8, 8 },   /* DC: m64fp arithmetic */
	{ 8, 8, 8, 8, 0, 0, 0, 0 },   /* DD: FLD FISTTP FST FSTP m64; FRSTOR - FNSAVE FNSTSW */
	{ 2, 2, 2, 2, 2, 2, 2, 2 },   /* DE: m16int arithmetic */
	{ 2, 2, 2, 2, 10, 8, 10,
	  8 }, /* DF: FILD FISTTP FIST FISTP m16, FBLD FILD m64 FBSTP FISTP */
};

static enum x87_kind
classify_mem(struct cpu *cpu, unsigned esc, unsigned reg)
{
	if ((esc == 1 && reg >= 4) || (esc == 5 && (reg == 4 || reg >= 6)))
		return K_CTRL;
	if (!mem_size[esc][reg])
		return K_UD;
	if ((esc & 1) && reg == 1 && !cpu_has(&cpu->features, FEAT_SSE3))
		return K_UD; /* FISTTP (SSE3) */
	if ((esc & 1) && (reg == 1 || reg == 2 || reg == 3 || reg >= 6))
		return K_STORE; /* FST(P), FIST(P), FISTTP, FSTP m80, FBSTP */
	return K_HOST;
}

/* Register forms (mod 3) by escape and ModRM byte; the undocumented aliases the
 * hardware executes (FSTP1, FCOM2, FCOMP3, FXCH4, FCOMP5, FFREEP, FXCH7, FSTP8,
 * FSTP9) run as the hardware runs them. */
static enum x87_kind
classify_reg(struct cpu *cpu, unsigned esc, unsigned modrm)
{
	unsigned reg = (modrm >> 3) & 7;
	bool cmov = cpu_has(&cpu->features, FEAT_CMOV);
	switch (esc) {
	case 1:
		if (modrm >= 0xd1 && modrm <= 0xd7)
			return K_UD;
		if (modrm == 0xe2 || modrm == 0xe3 || modrm == 0xe6 || modrm == 0xe7 ||
		    modrm == 0xef)
			return K_UD;
		return K_HOST;
	case 2:
		if (reg < 4)
			return cmov ? K_FCMOV : K_UD;
		return modrm == 0xe9 ? K_HOST : K_UD;
	case 3:
		if (reg < 4)
			return cmov ? K_FCMOV : K_UD;
		if (reg == 4) {
			switch (modrm) {
			case 0xe2: return K_FNCLEX;
			case 0xe3: return K_FNINIT;
			case 0xe0:
			case 0xe1:
			case 0xe4: return K_NOP287;
			default: return K_UD;
			}
		}
		if (reg == 5 || reg == 6)
			return cmov ? K_FCOMI : K_UD;
		return K_UD;
	case 5: return reg == 6 || reg == 7 ? K_UD : K_HOST;
	case 6: return reg == 3 && modrm != 0xd9 ? K_UD : K_HOST;
	case 7:
		if (reg == 4)
			return modrm == 0xe0 ? K_FNSTSWAX : K_UD;
		if (reg == 5 || reg == 6)
			return cmov ? K_FCOMI : K_UD;
		return reg == 7 ? K_UD : K_HOST;
	default: return K_HOST; /* D8, DC */
	}
}

/* ---- the host run ---- */

static void
img_from_guest(struct cpu *cpu, struct fsave32 *img)
{
	memset(img, 0, sizeof(*img));
	img->fcw = x_get16(cpu, X87_FCW);
	/* Exception flags, ES and B start clear on the host: only the new ones come back. */
	img->fsw = x_get16(cpu, X87_FSW) & (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3 | FSW_TOP);
	uint8_t ab = cpu->state.xsave[X87_FTW];
	uint16_t ftw = 0;
	for (unsigned p = 0; p < 8; p++)
		ftw |= (uint16_t)(((ab >> p) & 1 ? 0 : 3) << (2 * p));
	img->ftw = ftw;
	for (unsigned k = 0; k < 8; k++)
		memcpy(img->st[k], x87_st(cpu, k), 10);
}

static void
img_to_guest(struct cpu *cpu, const struct fsave32 *img, uint16_t old_fsw)
{
	for (unsigned k = 0; k < 8; k++) {
		memcpy(x87_st(cpu, k), img->st[k], 10);
		memset(x87_st(cpu, k) + 10, 0, 6);
	}
	cpu->state.xsave[X87_FTW] = abridge(img->ftw);
	x87_set_fsw(cpu, (uint16_t)((img->fsw & 0x7fff & ~FSW_ES) | (old_fsw & 0x7f & ~FSW_ES)));
}

static void
x87_host_op(struct cpu *cpu, const struct insn *i, enum x87_kind kind, unsigned idx, uint64_t ea,
	    unsigned size)
{
	struct fsave32 img, in;
	_Alignas(16) uint8_t buf[16] = { 0 };
	uint16_t old_fsw = x_get16(cpu, X87_FSW);
	uint64_t fl = kind == K_FCMOV ? flags_arith(cpu) : 0;
	img_from_guest(cpu, &in);
	if (kind == K_HOST && size)
		mem_read_bytes(cpu, i, ea, buf, size);
	img = in;
	if (kind == K_STORE) {
		memset(buf, 0x5a, sizeof(buf));
		fugu_x87_host(&img, idx, buf, &fl);
		/* An unmasked exception may suppress the store: run again with another
		 * canary to tell a stored value from an untouched buffer. */
		bool written = true;
		if (img.fsw & ~in.fcw & 0x3f) {
			struct fsave32 img2 = in;
			_Alignas(16) uint8_t buf2[16];
			memset(buf2, 0xa5, sizeof(buf2));
			uint64_t fl2 = 0;
			fugu_x87_host(&img2, idx, buf2, &fl2);
			written = memcmp(buf, buf2, size) == 0;
		}
		if (written)
			mem_write_bytes(cpu, i, ea, buf, size);
	} else {
		fugu_x87_host(&img, idx, buf, &fl);
	}
	img_to_guest(cpu, &img, old_fsw);
	if (kind == K_FCOMI)
		flags_set(cpu, F_ARITH, (uint32_t)fl & F_ARITH);
}

/* D8-DF: the x87 escape. */
void
op_x87(struct cpu *cpu, const struct insn *i)
{
	if (!cpu_has(&cpu->features, FEAT_FPU)) {
		/* No FPU: the escapes trap for an emulator (CR0.EM) or are undefined. */
		if (cpu->state.cr0 & (CR0_EM | CR0_TS))
			cpu_fault(cpu, EXC_NM, NO_ERRCODE);
		cpu_ud(cpu);
	}
	unsigned esc = i->opcode & 7, reg = i->reg & 7;
	bool mem = i->flags & I_MEM;
	unsigned modrm = 0xc0 | (reg << 3) | (i->rm & 7);
	/* CR0.EM or CR0.TS: #NM for every escape (vol. 3A, 2.5 and table 2-2), reserved
	 * encodings included, so that an emulator sees them all. */
	if (cpu->state.cr0 & (CR0_EM | CR0_TS))
		cpu_fault(cpu, EXC_NM, NO_ERRCODE);
	enum x87_kind kind = mem ? classify_mem(cpu, esc, reg) : classify_reg(cpu, esc, modrm);
	if (kind == K_UD)
		cpu_ud(cpu);
	/* The no-wait control forms do not look at pending exceptions. */
	bool nowait =
		kind == K_FNCLEX || kind == K_FNINIT || kind == K_NOP287 || kind == K_FNSTSWAX ||
		(kind == K_CTRL &&
		 ((esc == 1 && (reg == 6 || reg == 7)) || (esc == 5 && (reg == 6 || reg == 7))));
	if (!nowait && !x87_wait_ok(cpu))
		return;
	uint64_t ea = mem ? insn_ea(cpu, i) : 0;
	if (mem)
		modrm = i->modrm;
	switch (kind) {
	case K_FNCLEX:
		x87_set_fsw(cpu, x_get16(cpu, X87_FSW) & (uint16_t) ~(0x7f | FSW_ES | FSW_B));
		return;
	case K_FNINIT: x87_init(cpu); return;
	case K_NOP287: return;
	case K_FNSTSWAX: reg_write(cpu, R_AX, 2, x_get16(cpu, X87_FSW)); return;
	case K_CTRL: x87_control_mem(cpu, i, esc, reg, ea); return;
	default: break;
	}
	unsigned idx = mem ? 512 + esc * 8 + reg : esc * 64 + (modrm & 63);
	x87_host_op(cpu, i, kind, idx, ea, mem ? mem_size[esc][reg] : 0);
	x87_record(cpu, i, modrm, ea);
}

/* ---- MMX aliasing and FXRSTOR (sse.c) ---- */

/* An MMX instruction first takes a pending x87 exception (#MF or FERR#, as a
 * waiting x87 instruction does; vol. 1, 12.5.3). */
bool
x87_mmx_pending_ok(struct cpu *cpu)
{
	return x87_wait_ok(cpu);
}

/* An MMX instruction sets TOP to 0 and tags every register valid (vol. 1,
 * 9.5.1); the physical registers, and so MM0-MM7, keep their contents. */
void
x87_mmx_enter(struct cpu *cpu)
{
	x87_move_top(cpu, 0);
	cpu->state.xsave[X87_FTW] = 0xff;
}

/* EMMS: every tag empty. */
void
x87_emms(struct cpu *cpu)
{
	cpu->state.xsave[X87_FTW] = 0;
}

/* FXRSTOR's x87 part from the 512-byte image `img` (vol. 1, table 10-2): the
 * abridged tags, FCW/FSW (ES and B recomputed), FOP, the pointers, ST0-7. */
void
x87_fxrstor(struct cpu *cpu, const uint8_t *img)
{
	uint16_t fcw, fsw, fop;
	memcpy(&fcw, img + X87_FCW, 2);
	memcpy(&fsw, img + X87_FSW, 2);
	memcpy(&fop, img + X87_FOP, 2);
	x_set16(cpu, X87_FCW, fcw);
	cpu->state.xsave[X87_FTW] = img[X87_FTW];
	x_set16(cpu, X87_FOP, fop & 0x7ff);
	memcpy(cpu->state.xsave + X87_FIP, img + X87_FIP, 16);
	for (unsigned k = 0; k < 8; k++) {
		memcpy(x87_st(cpu, k), img + X87_ST + 16 * k, 10);
		memset(x87_st(cpu, k) + 10, 0, 6);
	}
	x87_set_fsw(cpu, fsw);
}
