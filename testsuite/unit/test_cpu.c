/*
 * Unit tests: instructions and MSRs whose behaviour depends on the mode, run
 * by the CPU (cpu_exec) on hand-made machine state: protected and 64-bit mode
 * with a GDT, an IDT whose handlers halt (the vector is where the CPU stopped)
 * and a counting #DB handler. Each test names the SDM section it checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cpu/cpu_internal.h"
#include "cpu/msr.h"
#include "mmu/ioport.h"
#include "mmu/physmem.h"

#define IDT 0x1000      /* 256 gates (32-bit: 8 bytes, 64-bit: 16 bytes) */
#define HANDLERS 0x2000 /* vector v's handler is a HLT at HANDLERS + v */
#define DBH 0x2800      /* the counting #DB handler */
#define GDT 0x3000
#define TSS 0x4000
#define PT0 0x5000 /* paging structures */
#define PT1 0x6000
#define DATA 0x8000
#define KSTACK 0x9000
#define CODE 0x10000
#define UCODE 0x11000
/* The #DB handler's record: the count, then per #DB its EIP and DR6. */
#define DB_COUNT 0x500
#define DB_EIP 0x510
#define DB_DR6 0x540

#define SEL_C32 0x08
#define SEL_D32 0x10
#define SEL_C32U 0x1b
#define SEL_D32U 0x23
#define SEL_C64 0x28
#define SEL_C64U 0x33
#define SEL_D16 0x38
#define SEL_LDT 0x40   /* 16 bytes: a non-canonical base */
#define SEL_TSS64 0x50 /* 16 bytes: a non-canonical base */
#define SEL_TSS32 0x60

static struct physmem *pm;
static struct ioports *io;
static struct cpu *cpu;
static uint64_t fake_apic_base; /* the "APIC" behind the bus hooks */

static void
wr(uint64_t pa, uint64_t v, unsigned size)
{
	physmem_write_sized(pm, pa, v, size);
}

static uint64_t
rdm(uint64_t pa, unsigned size)
{
	return physmem_read_sized(pm, pa, size);
}

static void
put(uint64_t pa, const uint8_t *b, size_t n)
{
	for (size_t k = 0; k < n; k++)
		wr(pa + k, b[k], 1);
}

static void
seg(unsigned s, uint16_t sel, uint64_t base, uint32_t limit, uint16_t attr)
{
	cpu->state.seg[s] =
		(struct segment){ .sel = sel, .base = base, .limit = limit, .attr = attr };
}

static int
fake_apic_read(void *apic, uint32_t index, uint64_t *value)
{
	(void)apic;
	if (index != MSR_APIC_BASE)
		return -1;
	*value = fake_apic_base;
	return 0;
}

static int
fake_apic_write(void *apic, uint32_t index, uint64_t value)
{
	(void)apic;
	if (index != MSR_APIC_BASE)
		return -1;
	fake_apic_base = value;
	return 0;
}

/* The counting #DB handler: records EIP and DR6, clears DR6, sets RF in the image. */
static const uint8_t db_handler[] = {
	0x50,                                        /* push eax */
	0x53,                                        /* push ebx */
	0x8b, 0x1d, 0x00, 0x05, 0x00, 0x00,          /* mov ebx, [DB_COUNT] */
	0x8b, 0x44, 0x24, 0x08,                      /* mov eax, [esp + 8] */
	0x89, 0x04, 0x9d, 0x10, 0x05, 0x00, 0x00,    /* mov [DB_EIP + ebx * 4], eax */
	0x0f, 0x21, 0xf0,                            /* mov eax, dr6 */
	0x89, 0x04, 0x9d, 0x40, 0x05, 0x00, 0x00,    /* mov [DB_DR6 + ebx * 4], eax */
	0x31, 0xc0,                                  /* xor eax, eax */
	0x0f, 0x23, 0xf0,                            /* mov dr6, eax */
	0x81, 0x4c, 0x24, 0x10, 0,    0,    1,    0, /* or dword [esp + 16], RF */
	0xff, 0x05, 0x00, 0x05, 0x00, 0x00,          /* inc dword [DB_COUNT] */
	0x5b,                                        /* pop ebx */
	0x58,                                        /* pop eax */
	0xcf,                                        /* iretd */
};

/* A CPU of `model` in flat 32-bit protected mode at CPL 0, paging off, CS:EIP at CODE. */
static void
make32(const char *model)
{
	struct cpu_features f;
	char err[128];
	assert_int_equal(cpu_features_parse(&f, model, err, sizeof(err)), 0);
	pm = physmem_create(16 << 20);
	io = ioports_create();
	fake_apic_base = 0xfee00900;
	cpu = cpu_create(&(struct cpu_config){
		.mem = pm,
		.io = io,
		.features = f,
		.bus = { .apic_msr_read = fake_apic_read, .apic_msr_write = fake_apic_write } });
	assert_non_null(cpu);
	static const uint64_t gdt[] = {
		0,
		[SEL_C32 / 8] = 0x00cf9a000000ffffull,
		[SEL_D32 / 8] = 0x00cf92000000ffffull,
		[SEL_C32U / 8] = 0x00cffa000000ffffull,
		[SEL_D32U / 8] = 0x00cff2000000ffffull,
		[SEL_C64 / 8] = 0x00af9a000000ffffull,
		[SEL_C64U / 8] = 0x00affa000000ffffull,
		[SEL_D16 / 8] = 0x000092000000ffffull,
		[SEL_LDT / 8] = 0x0000820070000fffull, /* LDT at 0x7000, base 63:32 below */
		[SEL_LDT / 8 + 1] = 0x80000000ull,
		[SEL_TSS64 / 8] = 0x0000894000000067ull, /* available TSS at 0x4000 */
		[SEL_TSS64 / 8 + 1] = 0x80000000ull,
		[SEL_TSS32 / 8] = 0x00008b4000000067ull, /* busy 32-bit TSS at 0x4000 */
	};
	for (unsigned k = 0; k < sizeof(gdt) / 8; k++)
		wr(GDT + 8 * k, gdt[k], 8);
	for (unsigned v = 0; v < 256; v++) {
		uint32_t h = v == 1 ? DBH : HANDLERS + v;
		wr(IDT + 8 * v, (uint32_t)SEL_C32 << 16 | (h & 0xffff), 4);
		wr(IDT + 8 * v + 4, (h & 0xffff0000u) | 0x8e00, 4);
		wr(HANDLERS + v, 0xf4, 1);
	}
	put(DBH, db_handler, sizeof(db_handler));
	wr(TSS + 4, KSTACK, 4); /* ESP0, SS0 */
	wr(TSS + 8, SEL_D32, 4);
	cpu->state.cr0 |= CR0_PE;
	cpu->state.gdtr = (struct dtr){ .base = GDT, .limit = 0x7f };
	cpu->state.idtr = (struct dtr){ .base = IDT, .limit = 0x7ff };
	cpu->state.tr =
		(struct segment){ .sel = SEL_TSS32, .base = TSS, .limit = 0x67, .attr = 0x8b };
	for (int s = 0; s < 6; s++)
		seg((unsigned)s, SEL_D32, 0, 0xffffffff, 0x93 | SEG_ATTR_DB | SEG_ATTR_G);
	seg(S_CS, SEL_C32, 0, 0xffffffff, 0x9b | SEG_ATTR_DB | SEG_ATTR_G);
	cpu->state.gpr[R_SP] = 0x8000;
	cpu->state.rip = CODE;
	cpu_mode_update(cpu);
}

/* The same in 64-bit mode: 4-level paging, the first GiB identity-mapped by one
 * user-accessible 1 GiB page, 64-bit gates, the 64-bit TSS's RSP0 at KSTACK. */
static void
make64(const char *model)
{
	make32(model);
	wr(PT0, PT1 | 7, 8);
	wr(PT1, 0x87, 8);
	for (unsigned v = 0; v < 256; v++) {
		uint32_t h = HANDLERS + v;
		wr(IDT + 16 * v, (uint32_t)SEL_C64 << 16 | (h & 0xffff), 4);
		wr(IDT + 16 * v + 4, (h & 0xffff0000u) | 0x8e00, 4);
		wr(IDT + 16 * v + 8, 0, 8);
	}
	wr(TSS + 4, KSTACK, 8);
	cpu->state.idtr.limit = 0xfff;
	cpu->state.cr4 |= CR4_PAE;
	cpu->state.cr3 = PT0;
	cpu->state.efer |= EFER_LME | EFER_LMA;
	cpu->state.cr0 |= CR0_PG;
	cpu->state.tr =
		(struct segment){ .sel = SEL_TSS64, .base = TSS, .limit = 0x67, .attr = 0x8b };
	seg(S_CS, SEL_C64, 0, 0xffffffff, 0x9b | SEG_ATTR_L | SEG_ATTR_G);
	cpu_mode_update(cpu);
}

static void
destroy(void)
{
	cpu_destroy(cpu);
	ioports_destroy(io);
	physmem_destroy(pm);
}

/* Run `code` at CODE until the CPU halts; the vector whose handler halted it, or -1
 * when the code's own HLT did. */
static int
run_code(const uint8_t *code, size_t n)
{
	put(CODE, code, n);
	assert_int_equal(cpu_exec(cpu, 10000), CPU_EXIT_HALT);
	uint64_t at = cpu->state.rip - 1;
	return at >= HANDLERS && at < HANDLERS + 256 ? (int)(at - HANDLERS) : -1;
}

/* The error code the last exception pushed (32- or 64-bit stack). */
static uint64_t
pushed_error(void)
{
	return rdm(cpu->state.gpr[R_SP], 4);
}

/* ---- CLAC/STAC (SDM vol. 2A, CLAC; vol. 2B, STAC) ---- */

static void
clac_stac(void **state)
{
	(void)state;
	static const uint8_t code[] = { 0x0f, 0x01, 0xcb, 0x9c, 0x58, /* stac; pushfd; pop eax */
					0x0f, 0x01, 0xca, 0x9c, 0x5b, /* clac; pushfd; pop ebx */
					0xf4 };
	make32("max");
	assert_int_equal(run_code(code, sizeof(code)), -1);
	assert_true(cpu->state.gpr[R_AX] & F_AC);
	assert_false(cpu->state.gpr[R_BX] & F_AC);
	destroy();
	/* Without SMAP: #UD. */
	make32("max,-smap");
	assert_int_equal(run_code(code, sizeof(code)), EXC_UD);
	destroy();
	/* At CPL 3: #UD. */
	make32("max");
	seg(S_CS, SEL_C32U, 0, 0xffffffff, 0xfb | SEG_ATTR_DB | SEG_ATTR_G);
	seg(S_SS, SEL_D32U, 0, 0xffffffff, 0xf3 | SEG_ATTR_DB | SEG_ATTR_G);
	cpu->state.cpl = 3;
	cpu_mode_update(cpu);
	assert_int_equal(run_code(code, sizeof(code)), EXC_UD);
	destroy();
}

/* ---- virtual-8086 segment loads, protected-mode virtual interrupts ---- */

/* In V86 mode a segment load, CS's included, gives base = selector * 16, limit
 * FFFFh and access rights F3h: what a VM exit saves from a V86 guest must pass
 * the V86 guest-state checks on the next VM entry (SDM vol. 3C, 26.3.1.2). */
static void
v86_segment_loads(void **state)
{
	(void)state;
	/* At CS = 1000h, IP 0 (linear CODE): jmp far 1000h:0005h; mov ax, 20h; mov ds, ax */
	static const uint8_t code[] = {
		0xea, 0x05, 0x00, 0x00, 0x10, 0xb8, 0x20, 0x00, 0x8e, 0xd8
	};
	make32("max");
	put(CODE, code, sizeof(code));
	for (int s = 0; s < 6; s++)
		seg((unsigned)s, 0, 0, 0xffff, 0xf3);
	seg(S_CS, CODE >> 4, CODE, 0xffff, 0xf3);
	cpu->state.rip = 0;
	cpu->state.rflags |= F_VM | F_IOPL;
	cpu_mode_update(cpu);
	cpu_exec(cpu, 3);
	assert_int_equal(cpu->state.rip, 10);
	assert_int_equal(cpu->state.seg[S_CS].sel, 0x1000);
	assert_int_equal(cpu->state.seg[S_CS].attr, 0xf3);
	assert_int_equal(cpu->state.seg[S_DS].base, 0x200);
	assert_int_equal(cpu->state.seg[S_DS].attr, 0xf3);
	destroy();
}

/* CLI/STI at CPL 3 with IOPL 0 (SDM vol. 2A, CLI; vol. 2B, STI; vol. 3A, 20.4):
 * with CR4.PVI they clear and set VIF and leave IF alone; STI with VIP set, and
 * either without PVI, is #GP(0). */
static void
pvi_cli_sti(void **state)
{
	(void)state;
	/* cli; pushfd; pop eax; sti; pushfd; pop ebx; hlt (#GP at CPL 3) */
	static const uint8_t code[] = { 0xfa, 0x9c, 0x58, 0xfb, 0x9c, 0x5b, 0xf4 };
	for (int k = 0; k < 3; k++) {
		make32("max");
		seg(S_CS, SEL_C32U, 0, 0xffffffff, 0xfb | SEG_ATTR_DB | SEG_ATTR_G);
		seg(S_SS, SEL_D32U, 0, 0xffffffff, 0xf3 | SEG_ATTR_DB | SEG_ATTR_G);
		cpu->state.cpl = 3;
		cpu->state.rflags |= F_IF | F_VIF | (k == 2 ? F_VIP : 0);
		if (k > 0)
			cpu->state.cr4 |= CR4_PVI;
		cpu_mode_update(cpu);
		assert_int_equal(run_code(code, sizeof(code)), EXC_GP);
		uint32_t eip =
			(uint32_t)rdm(cpu->state.gpr[R_SP] + 4, 4); /* after the error code */
		if (k == 0) {
			assert_int_equal(eip, CODE); /* CLI */
		} else if (k == 2) {
			assert_int_equal(eip, CODE + 3); /* STI with VIP */
		} else {
			assert_int_equal(eip, CODE + 6); /* the HLT */
			assert_int_equal(cpu->state.gpr[R_AX] & (F_IF | F_VIF), F_IF);
			assert_int_equal(cpu->state.gpr[R_BX] & (F_IF | F_VIF), F_IF | F_VIF);
		}
		destroy();
	}
}

/* ---- interrupt delivery in IA-32e mode ---- */

/* The handler's CS is loaded like any CS load: the descriptor's accessed bit is
 * set in memory and in the register (SDM vol. 3A, 3.4.5.1), which a VM exit
 * saves and the next VM entry requires (vol. 3C, 26.3.1.2: CS type 9, 11, 13
 * or 15); the limit is the descriptor's. */
static void
long_mode_int_cs_accessed(void **state)
{
	(void)state;
	static const uint8_t code[] = { 0xcd, 0x30 }; /* int 30h */
	make64("max");
	assert_int_equal(rdm(GDT + SEL_C64 + 5, 1) & 1, 0);
	assert_int_equal(run_code(code, sizeof(code)), 0x30);
	assert_int_equal(cpu->state.seg[S_CS].sel, SEL_C64);
	assert_int_equal(cpu->state.seg[S_CS].attr & 0xff, 0x9b);
	assert_int_equal(cpu->state.seg[S_CS].limit, 0xffffffff);
	assert_int_equal(rdm(GDT + SEL_C64 + 5, 1), 0x9b);
	destroy();
}

/* ---- descriptor-table bases in 64-bit mode ---- */

static void
lgdt_lidt_lldt_ltr_canonical(void **state)
{
	(void)state;
	static const uint8_t lgdt[] = { 0x0f, 0x01, 0x14, 0x25, 0x00, 0x80, 0x00, 0x00, 0xf4 };
	static const uint8_t lidt[] = { 0x0f, 0x01, 0x1c, 0x25, 0x00, 0x80, 0x00, 0x00, 0xf4 };
	static const uint8_t lldt[] = { 0xb8, SEL_LDT, 0, 0, 0, 0x0f, 0x00, 0xd0, 0xf4 };
	static const uint8_t ltr[] = { 0xb8, SEL_TSS64, 0, 0, 0, 0x0f, 0x00, 0xd8, 0xf4 };
	const uint8_t *codes[] = { lgdt, lidt };
	for (unsigned k = 0; k < 2; k++) {
		make64("max");
		wr(DATA, 0x7f, 2);
		wr(DATA + 2, 0x8000000000001000ull, 8);
		assert_int_equal(run_code(codes[k], 9), EXC_GP);
		assert_int_equal(pushed_error(), 0);
		assert_int_equal(cpu->state.gdtr.base, GDT);
		assert_int_equal(cpu->state.idtr.base, IDT);
		destroy();
	}
	/* A canonical base above 4 GiB loads. */
	make64("max");
	wr(DATA, 0x7f, 2);
	wr(DATA + 2, 0xffff800000001000ull, 8);
	assert_int_equal(run_code(lgdt, sizeof(lgdt)), -1);
	assert_int_equal(cpu->state.gdtr.base, 0xffff800000001000ull);
	destroy();
	/* LLDT, LTR: base 63:32 from the descriptor's upper half; #GP(selector). */
	make64("max");
	assert_int_equal(run_code(lldt, sizeof(lldt)), EXC_GP);
	assert_int_equal(pushed_error(), SEL_LDT);
	assert_int_equal(cpu->state.ldtr.sel, 0);
	destroy();
	make64("max");
	assert_int_equal(run_code(ltr, sizeof(ltr)), EXC_GP);
	assert_int_equal(pushed_error(), SEL_TSS64);
	assert_int_equal(cpu->state.tr.base, TSS);
	assert_int_equal(rdm(GDT + SEL_TSS64 + 5, 1), 0x89); /* not marked busy */
	destroy();
}

/* ---- far returns to an outer privilege (SDM vol. 2A, IRET; vol. 2B, RET) ---- */

static void
iretq_to_cpl3_nulls_only_the_selector(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0x6a, SEL_D32U,                   /* push SS */
		0x68, 0x00,     0x70, 0x00, 0x00, /* push RSP 0x7000 */
		0x6a, 0x02,                       /* push RFLAGS */
		0x6a, SEL_C64U,                   /* push CS */
		0x68, 0x00,     0x10, 0x01, 0x00, /* push RIP UCODE */
		0x48, 0xcf,                       /* iretq */
	};
	static const uint8_t user[] = { 0x65, 0x8b, 0x04, 0x25, 0, 0, 0, 0, /* mov eax, [gs:0] */
					0xf4 };                             /* hlt: #GP at CPL 3 */
	make64("max");
	seg(S_GS, SEL_D32, DATA, 0xffffffff, 0x93 | SEG_ATTR_DB | SEG_ATTR_G);
	wr(DATA, 0xdeadbeef, 4);
	put(UCODE, user, sizeof(user));
	assert_int_equal(run_code(code, sizeof(code)), EXC_GP);
	assert_int_equal(rdm(cpu->state.gpr[R_SP] + 8, 8), UCODE + 8); /* the HLT */
	assert_int_equal(cpu->state.gpr[R_AX], 0xdeadbeef);            /* through GS.base */
	assert_int_equal(cpu->state.seg[S_GS].sel, 0);
	assert_int_equal(cpu->state.seg[S_GS].base, DATA);
	assert_int_equal(cpu->state.seg[S_DS].sel, 0);
	destroy();
}

static void
retf_to_cpl3_nulls_only_the_selector(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0x6a, SEL_D32U,                   /* push SS */
		0x68, 0x00,     0x70, 0x00, 0x00, /* push ESP */
		0x6a, SEL_C32U,                   /* push CS */
		0x68, 0x00,     0x10, 0x01, 0x00, /* push EIP UCODE */
		0xcb,                             /* retf */
	};
	static const uint8_t user[] = { 0x8b, 0x05, 0, 0, 0, 0 }; /* mov eax, [ds:0] */
	make32("max");
	seg(S_DS, SEL_D32, 0x1234, 0xffffffff, 0x93 | SEG_ATTR_DB | SEG_ATTR_G);
	put(UCODE, user, sizeof(user));
	assert_int_equal(run_code(code, sizeof(code)), EXC_GP);
	assert_int_equal(pushed_error(), 0);
	assert_int_equal(rdm(cpu->state.gpr[R_SP] + 4, 4), UCODE); /* DS is unusable */
	assert_int_equal(cpu->state.seg[S_DS].sel, 0);
	assert_int_equal(cpu->state.seg[S_DS].base, 0x1234);
	assert_int_equal(cpu->state.seg[S_DS].limit, 0xffffffff);
	assert_int_equal(cpu->state.seg[S_ES].sel, 0);
	destroy();
}

/* ---- stack arithmetic ---- */

/* POP SS: eSP moves by the old stack's size (SDM vol. 2B, POP). */
static void
pop_ss_uses_the_old_stack_size(void **state)
{
	(void)state;
	static const uint8_t pop32[] = { 0x17, 0x90, 0xf4 };       /* pop ss; nop; hlt */
	static const uint8_t pop16[] = { 0x66, 0x17, 0x90, 0xf4 }; /* o16 pop ss */
	make32("max");
	cpu->state.gpr[R_SP] = 0x1fffc;
	wr(0x1fffc, SEL_D16, 4);
	assert_int_equal(run_code(pop32, sizeof(pop32)), -1);
	assert_int_equal(cpu->state.seg[S_SS].sel, SEL_D16);
	assert_int_equal(cpu->state.gpr[R_SP], 0x20000);
	destroy();
	make32("max");
	seg(S_SS, SEL_D16, 0, 0xffff, 0x93);
	cpu_mode_update(cpu);
	cpu->state.gpr[R_SP] = 0x1fffe;
	wr(0xfffe, SEL_D32, 2);
	assert_int_equal(run_code(pop16, sizeof(pop16)), -1);
	assert_int_equal(cpu->state.seg[S_SS].sel, SEL_D32);
	assert_int_equal(cpu->state.gpr[R_SP], 0x10000);
	destroy();
}

/* o32 ENTER on a 16-bit stack: EBP from the whole ESP (SDM vol. 2A, ENTER). */
static void
enter_o32_on_a_16bit_stack(void **state)
{
	(void)state;
	static const uint8_t enter0[] = { 0xc8, 0x00, 0x00, 0x00, 0xf4 };
	static const uint8_t enter1[] = { 0xc8, 0x08, 0x00, 0x01, 0xf4 };
	for (unsigned k = 0; k < 2; k++) {
		make32("max");
		seg(S_SS, SEL_D16, 0, 0xffff, 0x93);
		cpu_mode_update(cpu);
		cpu->state.gpr[R_SP] = 0x20000;
		cpu->state.gpr[R_BP] = 0x1234;
		assert_int_equal(run_code(k ? enter1 : enter0, 5), -1);
		assert_int_equal(cpu->state.gpr[R_BP], 0x1fffc);
		assert_int_equal(rdm(0xfffc, 4), 0x1234);
		if (k) {
			assert_int_equal(rdm(0xfff8, 4), 0x1fffc); /* FrameTemp pushed */
			assert_int_equal(cpu->state.gpr[R_SP], 0x2fff0);
		} else {
			assert_int_equal(cpu->state.gpr[R_SP], 0x2fffc);
		}
		destroy();
	}
}

/* ---- a 4 GiB segment wraps at 4 GiB (SDM vol. 3A, 5.3; 3.3.1) ---- */

static int
access(unsigned s, uint64_t off, uint64_t *v, bool write)
{
	if (setjmp(cpu->fault_jmp))
		return cpu->pending_vector;
	if (write)
		cpu_write(cpu, s, off, *v, 4);
	else
		*v = cpu_read(cpu, s, off, 4);
	return -1;
}

static void
flat_segment_wraps_at_4g(void **state)
{
	(void)state;
	uint64_t v = 0;
	make32("max");
	/* Base 0x1000: offset 0xffffffff is linear 0xfff. */
	seg(S_DS, SEL_D32, 0x1000, 0xffffffff, 0x93 | SEG_ATTR_DB | SEG_ATTR_G);
	wr(0xfff, 0x44332211, 4);
	assert_int_equal(access(S_DS, 0xffffffff, &v, false), -1);
	assert_int_equal(v, 0x44332211);
	/* A smaller limit still faults. */
	seg(S_ES, SEL_D32, 0, 0xffffe, 0x93 | SEG_ATTR_DB);
	assert_int_equal(access(S_ES, 0xffffd, &v, false), EXC_GP);
	/* Paging: linear 0xfffff000 -> 0x7000; the access continues at linear 0. */
	seg(S_DS, SEL_D32, 0, 0xffffffff, 0x93 | SEG_ATTR_DB | SEG_ATTR_G);
	wr(PT0, 0x83, 4);               /* PDE 0: a 4 MiB identity page */
	wr(PT0 + 4 * 1023, PT1 | 3, 4); /* PDE 1023 -> page table */
	wr(PT1 + 4 * 1023, 0x7003, 4);
	cpu->state.cr4 |= CR4_PSE;
	cpu->state.cr3 = PT0;
	cpu->state.cr0 |= CR0_PG;
	cpu_mode_update(cpu);
	tlb_flush_all(&cpu->tlb);
	wr(0x7ffe, 0x2211, 2);
	wr(0, 0x4433, 2);
	assert_int_equal(access(S_DS, 0xfffffffe, &v, false), -1);
	assert_int_equal(v, 0x44332211);
	v = 0xa1b2c3d4;
	assert_int_equal(access(S_DS, 0xfffffffd, &v, true), -1);
	assert_int_equal(rdm(0x7ffd, 2), 0xc3d4);
	assert_int_equal(rdm(0x7fff, 1), 0xb2);
	assert_int_equal(rdm(0, 1), 0xa1);
	destroy();
}

/* ---- debug exceptions (SDM vol. 3A, 17.2.4, 17.3.1, 6.8.3) ---- */

#define SET_TF 0x9c, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d
#define CLEAR_TF 0x9c, 0x81, 0x24, 0x24, 0xff, 0xfe, 0xff, 0xff, 0x9d

/* ICEBP with TF set (and DR7.GD): one #DB for INT1, which clears GD on entry; no
 * second single-step #DB; stepping resumes after the handler's IRET. */
static void
icebp_single_step_once(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0xb8,     0x00, 0x20, 0x00, 0x00, /* mov eax, DR7.GD */
		0x0f,     0x23, 0xf8,             /* mov dr7, eax */
		SET_TF,                           /* CODE + 8 */
		0xf1,                             /* CODE + 17: icebp */
		CLEAR_TF,                         /* CODE + 18 */
		0xf4,
	};
	make32("max");
	assert_int_equal(run_code(code, sizeof(code)), -1);
	assert_int_equal(rdm(DB_COUNT, 4), 4); /* icebp, pushfd, and, popfd */
	assert_int_equal(rdm(DB_EIP, 4), CODE + 18);
	assert_int_equal(rdm(DB_DR6, 4) & DR6_BS, 0);
	assert_int_equal(rdm(DB_EIP + 4, 4), CODE + 19);
	assert_true(rdm(DB_DR6 + 4, 4) & DR6_BS);
	assert_int_equal(cpu->state.dr[7] & DR7_GD, 0);
	destroy();
}

/* MOV SS holds a single-step trap back; the next instruction's DR7.GD fault
 * delivers its own #DB, and the held-back trap is not delivered afterwards. */
static void
gd_fault_after_mov_ss_single_step_once(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0xb8,     0x00, 0x20, 0x00, 0x00, /* mov eax, DR7.GD */
		0x0f,     0x23, 0xf8,             /* mov dr7, eax */
		0x8c,     0xd0,                   /* mov ax, ss */
		SET_TF,                           /* CODE + 10 */
		0x8e,     0xd0,                   /* CODE + 19: mov ss, ax */
		0x0f,     0x21, 0xf8,             /* CODE + 21: mov eax, dr7 */
		CLEAR_TF,                         /* CODE + 24 */
		0xf4,
	};
	make32("max");
	assert_int_equal(run_code(code, sizeof(code)), -1);
	assert_int_equal(rdm(DB_COUNT, 4), 5);
	assert_int_equal(rdm(DB_EIP, 4), CODE + 21); /* the fault */
	assert_true(rdm(DB_DR6, 4) & DR6_BD);
	assert_int_equal(rdm(DB_EIP + 4, 4), CODE + 24); /* then single steps */
	assert_int_equal(rdm(DB_EIP + 8, 4), CODE + 25);
	destroy();
}

/* An instruction breakpoint on the instruction after MOV SS is not taken; the
 * same breakpoint elsewhere is. */
static void
code_breakpoint_after_mov_ss(void **state)
{
	(void)state;
	for (unsigned k = 0; k < 2; k++) {
		uint8_t code[] = {
			0xb8, 0x00, 0x00, 0x00, 0x00, /* mov eax, target */
			0x0f, 0x23, 0xc0,             /* mov dr0, eax */
			0xb8, 0x01, 0x04, 0x00, 0x00, /* mov eax, L0 (R/W 00, LEN 00) */
			0x0f, 0x23, 0xf8,             /* mov dr7, eax */
			0x8c, 0xd0,                   /* mov ax, ss */
			0x8e, 0xd0,                   /* CODE + 18: mov ss, ax (k = 1: nop nop) */
			0x90,                         /* CODE + 20: the target */
			0x90, 0xf4,
		};
		code[1] = (uint8_t)(CODE + 20);
		code[2] = (uint8_t)((CODE + 20) >> 8);
		code[3] = (uint8_t)((CODE + 20) >> 16);
		if (k)
			code[18] = code[19] = 0x90;
		make32("max");
		assert_int_equal(run_code(code, sizeof(code)), -1);
		assert_int_equal(rdm(DB_COUNT, 4), k);
		if (k) {
			assert_int_equal(rdm(DB_EIP, 4), CODE + 20);
			assert_true(rdm(DB_DR6, 4) & 1); /* B0 */
		}
		destroy();
	}
}

/* An instruction breakpoint on the #DB handler's first instruction: the #DB
 * is a fault, its pushed image keeps RF clear and delivery clears RF (SDM vol.
 * 3A, 17.3.1.1; 6.12.1.2), so the handler's first instruction raises #DB again,
 * forever, without retiring anything -- no double fault, no shutdown. cpu_exec
 * must still return at its budget (cpu/run.c: stalls), and go on looping in the
 * next call. (fuzz_cpu found this hang in real mode: corpus/cpu/timeout-db-loop.) */
static void
db_loop_on_handler_breakpoint_ends_at_budget(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0xb8, 0x00, 0x28, 0x00, 0x00, /* mov eax, DBH (0x2800) */
		0x0f, 0x23, 0xc0,             /* mov dr0, eax */
		0xb8, 0x01, 0x04, 0x00, 0x00, /* mov eax, L0, R/W 00 */
		0x0f, 0x23, 0xf8,             /* mov dr7, eax */
		0xf1,                         /* CODE + 16: icebp */
		0xf4,
	};
	make32("max");
	put(CODE, code, sizeof(code));
	cpu->state.gpr[R_SP] = 0x800000;
	assert_int_equal(cpu_exec(cpu, 100), CPU_EXIT_BUDGET);
	uint64_t icount = cpu->icount, sp = cpu->state.gpr[R_SP];
	assert_true(icount <= 5); /* the four moves and ICEBP at most */
	assert_int_equal(cpu->state.rip, DBH);
	assert_false(cpu->shutdown);
	assert_true(cpu->state.dr[6] & 1); /* B0 */
	/* Each #DB pushes EFLAGS, CS, EIP (12 bytes); the latest one's EIP is the
	 * handler's, RF clear in its EFLAGS image. ICEBP's #DB (delivered by the
	 * instruction), then the breakpoint's: the first after progress is free,
	 * 100 stalls (the budget), and the one after which the call yields. */
	assert_int_equal((0x800000 - sp) % 12, 0);
	assert_int_equal((0x800000 - sp) / 12, 1 + 1 + 100 + 1);
	assert_int_equal(rdm(sp, 4), DBH);
	assert_int_equal(rdm(sp + 4, 4), SEL_C32);
	assert_int_equal(rdm(sp + 8, 4) & F_RF, 0);
	assert_int_equal(rdm(DB_COUNT, 4), 0); /* the handler never ran */
	/* The next call goes on with the same loop. */
	assert_int_equal(cpu_exec(cpu, 100), CPU_EXIT_BUDGET);
	assert_int_equal(cpu->icount, icount);
	assert_true(cpu->state.gpr[R_SP] < sp);
	assert_int_equal(cpu->state.rip, DBH);
	destroy();
}

/* Stalls (cpu/run.c) do not depend on where traces end. A #UD handler that is
 * UD2 itself faults forever without retiring anything (the fault is delivered,
 * SDM vol. 3A, 6.15 "Interrupt 6"; a new #UD is a benign fault, not a double
 * fault, table 6-5). Six instructions retire first; with the sixth a JMP (the
 * trace ends there and the first #UD comes in the next trace) or a two-byte
 * NOP (one trace retires six and faults) the call delivers the same number of
 * #UDs: the first after progress is free, then max(budget, 64) + 1 stalls. The
 * JIT ends traces where the interpreter does not (a store's slow path), and
 * jitdiff found "faults: interpreter 42, jit 41" when stalls were loop passes. */
static void
stalls_do_not_depend_on_trace_ends(void **state)
{
	(void)state;
	for (unsigned jmp = 0; jmp < 2; jmp++) {
		uint8_t code[] = {
			0x90, 0x90, 0x90, 0x90, 0x90, /* nop x 5 */
			0x66, 0x90,                   /* xchg ax, ax, or jmp $+2 */
			0x0f, 0x0b,                   /* ud2 */
		};
		if (jmp)
			code[5] = 0xeb, code[6] = 0x00;
		make32("max");
		put(HANDLERS + 6, (const uint8_t[]){ 0x0f, 0x0b }, 2); /* #UD: ud2 */
		put(CODE, code, sizeof(code));
		uint64_t faults = cpu->faults;
		assert_int_equal(cpu_exec(cpu, 100), CPU_EXIT_BUDGET);
		assert_int_equal(cpu->icount, 6);
		assert_int_equal(cpu->state.rip, HANDLERS + 6);
		assert_int_equal(cpu->faults - faults, 1 + 100 + 1);
		assert_int_equal(cpu->state.gpr[R_SP], 0x8000 - 12 * (1 + 100 + 1));
		faults = cpu->faults;
		/* Again: the first #UD free, then 64 + 1 stalls. */
		assert_int_equal(cpu_exec(cpu, 10), CPU_EXIT_BUDGET);
		assert_int_equal(cpu->faults - faults, 1 + 64 + 1);
		destroy();
	}
}

/* ---- MSRs ---- */

static int
rdmsr(uint32_t index, uint64_t *v)
{
	return msr_read(cpu, index, v);
}

/* Machine-check MSRs of a model that reports MCA (SDM vol. 3B, 15.3). */
static void
mca_msrs(void **state)
{
	(void)state;
	uint64_t v;
	uint32_t r[4];
	make32("nehalem");
	cpu_features_cpuid(&cpu->features, 1, 0, r);
	assert_true(r[3] & (1u << 7));  /* MCE */
	assert_true(r[3] & (1u << 14)); /* MCA */
	assert_int_equal(rdmsr(MSR_MCG_CAP, &v), 0);
	assert_int_equal(v, 0x109);                           /* 9 banks, MCG_CTL_P */
	assert_int_equal(msr_write(cpu, MSR_MCG_CAP, 0), -1); /* read-only */
	assert_int_equal(msr_write(cpu, MSR_MTRRCAP, 0), -1);
	assert_int_equal(rdmsr(MSR_MCG_STATUS, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(msr_write(cpu, MSR_MCG_STATUS, 0), 0);
	assert_int_equal(msr_write(cpu, MSR_MCG_STATUS, 1u << 3), -1);
	assert_int_equal(msr_write(cpu, MSR_MCG_CTL, ~0ull), 0);
	assert_int_equal(rdmsr(MSR_MCG_CTL, &v), 0);
	assert_true(v == ~0ull);
	for (uint32_t bank = 0; bank < 9; bank++) {
		uint32_t m = MSR_MC0_CTL + 4 * bank;
		assert_int_equal(msr_write(cpu, m, ~0ull), 0);
		assert_int_equal(rdmsr(m + 1, &v), 0);
		assert_int_equal(v, 0);
		assert_int_equal(msr_write(cpu, m + 1, 0), 0);
		assert_int_equal(msr_write(cpu, m + 1, 1), -1); /* only 0s (15.3.2.2) */
		assert_int_equal(rdmsr(m + 2, &v), 0);
		assert_int_equal(rdmsr(m + 3, &v), 0);
	}
	assert_int_equal(rdmsr(MSR_MC0_CTL + 4 * 9, &v), -1); /* no tenth bank */
	destroy();
	make32("max");
	assert_int_equal(rdmsr(MSR_MCG_CAP, &v), 0);
	assert_int_equal(v & 0xff, 10);
	destroy();
	/* A model without MCA has none of them. */
	make32("max,-mca");
	assert_int_equal(rdmsr(MSR_MCG_STATUS, &v), -1);
	assert_int_equal(rdmsr(MSR_MC0_CTL + 1, &v), -1);
	destroy();
}

/* The Skylake client model: the i7-6700K's signature (family 6, model 5EH,
 * stepping 3: CPUID.1:EAX 000506E3H), its leaf 1/7/80000001H features that
 * fugu executes, and none that it does not (RDRAND, RDSEED, ADX, XSAVEC). */
static void
skylake_model(void **state)
{
	(void)state;
	uint32_t r[4];
	make32("skylake");
	cpu_features_cpuid(&cpu->features, 1, 0, r);
	assert_int_equal(r[0], 0x000506e3);
	assert_true(r[2] & (1u << 28));  /* AVX */
	assert_true(r[2] & (1u << 12));  /* FMA */
	assert_true(r[2] & (1u << 5));   /* VMX */
	assert_false(r[2] & (1u << 30)); /* RDRAND: not executed */
	assert_false(r[2] & (1u << 31)); /* no hypervisor bit on the real part */
	cpu_features_cpuid(&cpu->features, 7, 0, r);
	assert_true(r[1] & (1u << 5));   /* AVX2 */
	assert_true(r[1] & (1u << 8));   /* BMI2 */
	assert_false(r[1] & (1u << 18)); /* RDSEED */
	assert_false(r[1] & (1u << 19)); /* ADX */
	cpu_features_cpuid(&cpu->features, 0xd, 1, r);
	assert_int_equal(r[0], 0xf); /* XSAVEOPT, XSAVEC, XGETBV1, XSAVES (i7-6700K) */
	cpu_features_cpuid(&cpu->features, 0x80000001, 0, r);
	assert_true(r[3] & (1u << 29)); /* LM */
	assert_true(r[3] & (1u << 26)); /* 1 GiB pages */
	destroy();
}

/* IA32_BIOS_SIGN_ID on every Intel model: write 0, CPUID leaf 1, read the
 * revision in bits 63:32 (SDM vol. 3A, 9.11.7.1). */
static void
bios_sign_id(void **state)
{
	(void)state;
	static const uint8_t code[] = { 0x31, 0xc0, 0x40, 0x0f, 0xa2, 0xf4 }; /* cpuid 1 */
	const char *models[] = { "pentiumpro", "pentium2", "nehalem", "skylake", "max" };
	for (unsigned k = 0; k < 5; k++) {
		uint64_t v;
		make32(models[k]);
		assert_int_equal(msr_write(cpu, MSR_BIOS_SIGN_ID, 0), 0);
		assert_int_equal(rdmsr(MSR_BIOS_SIGN_ID, &v), 0);
		assert_int_equal(v, 0);
		assert_int_equal(run_code(code, sizeof(code)), -1);
		assert_int_equal(rdmsr(MSR_BIOS_SIGN_ID, &v), 0);
		assert_int_equal(v, (uint64_t)MICROCODE_REVISION << 32);
		/* IA32_PLATFORM_ID: platform 0 (bits 52:50), read-only */
		assert_int_equal(rdmsr(MSR_PLATFORM_ID, &v), 0);
		assert_int_equal(v, 0);
		assert_int_equal(msr_write(cpu, MSR_PLATFORM_ID, 1ull << 50), -1);
		destroy();
	}
}

/* IA32_MISC_ENABLE (SDM vol. 4, table 2-2): the read-only bits stay, reserved
 * bits #GP, Limit CPUID Maxval caps CPUID leaf 0. */
static void
misc_enable(void **state)
{
	(void)state;
	static const uint8_t code[] = { 0x31, 0xc0, 0x0f, 0xa2, 0xf4 }; /* cpuid 0 */
	uint64_t v;
	make32("max");
	assert_int_equal(rdmsr(MSR_MISC_ENABLE, &v), 0);
	assert_int_equal(v, 0x1801);
	assert_int_equal(msr_write(cpu, MSR_MISC_ENABLE, 1ull << 34), -1);
	assert_int_equal(msr_write(cpu, MSR_MISC_ENABLE, 1ull << 22), 0);
	assert_int_equal(rdmsr(MSR_MISC_ENABLE, &v), 0);
	assert_int_equal(v, 0x401800); /* fast strings cleared, BTS/PEBS unavailable kept */
	assert_int_equal(run_code(code, sizeof(code)), -1);
	assert_int_equal(cpu->state.gpr[R_AX], 2);
	destroy();
}

/* IA32_DEBUGCTL (SDM vol. 3B, 17.4.1) exists on every model (Linux's KVM reads it
 * unchecked on each vCPU run): it reads 0; 0 may be written, any feature bit is
 * #GP, as fugu has none. */
static void
debugctl(void **state)
{
	(void)state;
	const char *models[] = { "pentiumpro", "nehalem", "max" };
	for (unsigned k = 0; k < 3; k++) {
		uint64_t v = 1;
		make32(models[k]);
		assert_int_equal(rdmsr(MSR_DEBUGCTL, &v), 0);
		assert_int_equal(v, 0);
		assert_int_equal(msr_write(cpu, MSR_DEBUGCTL, 0), 0);
		assert_int_equal(msr_write(cpu, MSR_DEBUGCTL, 2), -1); /* BTF */
		destroy();
	}
}

/* IA32_SPEC_CTRL and IA32_PRED_CMD (SDM vol. 4, table 2-2): SPEC_CTRL exists
 * when CPUID.7.0:EDX enumerates IBRS (26), STIBP (27) or SSBD (31) and takes
 * only those bits; PRED_CMD (IBPB, with bit 26) is write-only. The Skylake model
 * reports all three, as the i7-6700K does with its current microcode; Linux
 * then mitigates RETBleed with IBRS instead of warning. */
static void
spec_ctrl(void **state)
{
	(void)state;
	uint64_t v = 1;
	make32("skylake");
	uint32_t regs[4];
	struct cpu_features f;
	char err[128];
	assert_int_equal(cpu_features_parse(&f, "skylake", err, sizeof(err)), 0);
	cpu_features_cpuid(&f, 7, 0, regs);
	assert_int_equal(regs[3] & 0x8c000000u, 0x8c000000u);
	assert_int_equal(rdmsr(MSR_SPEC_CTRL, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(msr_write(cpu, MSR_SPEC_CTRL, 7), 0);
	assert_int_equal(rdmsr(MSR_SPEC_CTRL, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(msr_write(cpu, MSR_SPEC_CTRL, 8), -1);
	assert_int_equal(msr_write(cpu, MSR_PRED_CMD, 1), 0);
	assert_int_equal(msr_write(cpu, MSR_PRED_CMD, 2), -1);
	assert_int_equal(rdmsr(MSR_PRED_CMD, &v), -1);
	destroy();
	make32("skylake,-spec-ctrl,-ssbd"); /* STIBP alone: the MSR holds bit 1 only */
	assert_int_equal(msr_write(cpu, MSR_SPEC_CTRL, 2), 0);
	assert_int_equal(msr_write(cpu, MSR_SPEC_CTRL, 1), -1);
	assert_int_equal(msr_write(cpu, MSR_PRED_CMD, 1), -1);
	destroy();
	make32("nehalem");
	assert_int_equal(rdmsr(MSR_SPEC_CTRL, &v), -1);
	assert_int_equal(msr_write(cpu, MSR_PRED_CMD, 1), -1);
	destroy();
}

/* PAT and MTRR type fields: reserved memory types #GP (SDM vol. 3A, 12.12.2, 12.11). */
static void
memory_type_fields(void **state)
{
	(void)state;
	make32("max");
	assert_int_equal(msr_write(cpu, MSR_PAT, 0x0007040600070406ull), 0);
	assert_int_equal(msr_write(cpu, MSR_PAT, 0x0007040600070402ull), -1);
	assert_int_equal(msr_write(cpu, MSR_PAT, 0x0007040600070307ull), -1);
	assert_int_equal(msr_write(cpu, MSR_MTRR_DEF_TYPE, 0xc06), 0);
	assert_int_equal(msr_write(cpu, MSR_MTRR_DEF_TYPE, 0xc07), -1);
	assert_int_equal(msr_write(cpu, MSR_MTRR_PHYSBASE0, 0x80000002), -1);
	assert_int_equal(msr_write(cpu, 0x250, 0x0606060606060606ull), 0);
	assert_int_equal(msr_write(cpu, 0x250, 0x0606060606060603ull), -1);
	destroy();
}

/* IA32_APIC_BASE: bits from MAXPHYADDR up are reserved (SDM vol. 3A, 10.4.4);
 * CPUID.1:EDX.APIC reads 0 while the APIC is globally disabled (10.4.3). */
static void
apic_base_and_cpuid(void **state)
{
	(void)state;
	static const uint8_t code[] = { 0x31, 0xc0, 0x40, 0x0f, 0xa2, 0xf4 }; /* cpuid 1 */
	make32("max");
	assert_int_equal(msr_write(cpu, MSR_APIC_BASE, 0xfee00800 | 1ull << 36), -1);
	assert_int_equal(msr_write(cpu, MSR_APIC_BASE, 0xfee00800 | 1ull << 40), -1);
	assert_int_equal(msr_write(cpu, MSR_APIC_BASE, 0xfee00800), 0);
	assert_int_equal(run_code(code, sizeof(code)), -1);
	assert_true(cpu->state.gpr[R_DX] & (1u << 9));
	assert_int_equal(msr_write(cpu, MSR_APIC_BASE, 0xfee00000), 0);
	cpu->state.rip = CODE;
	cpu->state.halted = false;
	assert_int_equal(run_code(code, sizeof(code)), -1);
	assert_false(cpu->state.gpr[R_DX] & (1u << 9));
	destroy();
}

/* ---- XCR0, XGETBV/XSETBV, CPUID 0DH, XSAVE/XRSTOR (SDM vol. 1, ch. 13; vol. 2C) ---- */

/* run_code at a new address each time (64-byte slots in the CODE page), so no
 * decoded trace of an earlier run is found there. */
static unsigned x_slot;

static int
run_x(const uint8_t *code, size_t n)
{
	uint64_t at = CODE + 64 * (x_slot++ % 64);
	put(at, code, n);
	cpu->state.rip = at;
	cpu->state.halted = false;
	assert_int_equal(cpu_exec(cpu, 10000), CPU_EXIT_HALT);
	uint64_t h = cpu->state.rip - 1;
	return h >= HANDLERS && h < HANDLERS + 256 ? (int)(h - HANDLERS) : -1;
}

#define XGETBV 0x0f, 0x01, 0xd0
#define XSETBV 0x0f, 0x01, 0xd1
#define MOVI(op, v) op, (v)&0xff, ((v) >> 8) & 0xff, ((v) >> 16) & 0xff, (uint8_t)((v) >> 24)
#define ABS(v) 0x25, (v)&0xff, ((v) >> 8) & 0xff, ((v) >> 16) & 0xff, 0 /* SIB: [disp32] */

static void
xgetbv_xsetbv(void **state)
{
	(void)state;
	static const uint8_t get[] = { 0x31, 0xc9, XGETBV, 0xf4 };
	make64("max");
	cpu->state.gpr[R_AX] = cpu->state.gpr[R_DX] = ~0ull;
	assert_int_equal(run_x(get, sizeof(get)), EXC_UD); /* CR4.OSXSAVE = 0 */
	static const uint8_t cpuid1[] = { 0xb8, 1, 0, 0, 0, 0x0f, 0xa2, 0xf4 };
	assert_int_equal(run_x(cpuid1, sizeof(cpuid1)), -1);
	assert_true(cpu->state.gpr[R_CX] & (1u << 26));             /* XSAVE */
	assert_false(cpu->state.gpr[R_CX] & (1u << 27));            /* OSXSAVE follows CR4 */
	static const uint8_t setcr4[] = { 0x0f, 0x20, 0xe0,         /* mov rax, cr4 */
					  0x0d, 0,    0,    4,   0, /* or eax, 1 << 18 */
					  0x0f, 0x22, 0xe0, 0xf4 };
	assert_int_equal(run_x(setcr4, sizeof(setcr4)), -1);
	assert_true(cpu->state.cr4 & CR4_OSXSAVE);
	assert_int_equal(run_x(cpuid1, sizeof(cpuid1)), -1);
	assert_true(cpu->state.gpr[R_CX] & (1u << 27));
	assert_int_equal(run_x(get, sizeof(get)), -1);
	assert_int_equal(cpu->state.gpr[R_AX], 1); /* XCR0 = 1 after RESET */
	assert_int_equal(cpu->state.gpr[R_DX], 0);
	/* XSETBV 3, then read it back. */
	static const uint8_t set3[] = {
		MOVI(0xb8, 3), 0x31, 0xd2, 0x31, 0xc9, XSETBV, XGETBV, 0xf4
	};
	assert_int_equal(run_x(set3, sizeof(set3)), -1);
	assert_int_equal(cpu->state.xcr0, 3);
	assert_int_equal(cpu->state.gpr[R_AX], 3);
	/* #GP(0): XCR0[0] = 0, AVX without SSE (vol. 1, 13.3), bit 3 (unsupported),
	 * bit 32, ECX = 1; XGETBV ECX = 2. */
	static const uint8_t bad[][16] = {
		{ MOVI(0xb8, 2), 0x31, 0xd2, 0x31, 0xc9, XSETBV, 0xf4 },
		{ MOVI(0xb8, 5), 0x31, 0xd2, 0x31, 0xc9, XSETBV, 0xf4 },
		{ MOVI(0xb8, 0xb), 0x31, 0xd2, 0x31, 0xc9, XSETBV, 0xf4 },
		{ MOVI(0xb8, 3), MOVI(0xba, 1), 0x31, 0xc9, XSETBV, 0xf4 },
		{ MOVI(0xb8, 3), 0x31, 0xd2, MOVI(0xb9, 1), XSETBV, 0xf4 },
		{ MOVI(0xb9, 2), XGETBV, 0xf4 },
	};
	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		assert_int_equal(run_x(bad[k], sizeof(bad[k])), EXC_GP);
		assert_int_equal(cpu->state.xcr0, 3);
	}
	/* XCR0 = 7 (x87 | SSE | AVX) when the CPU has AVX; CPUID.0DH.0:EBX follows it. */
	static const uint8_t set7[] = { MOVI(0xb8, 7),   0x31, 0xd2, 0x31, 0xc9, XSETBV,
					MOVI(0xb8, 0xd), 0x31, 0xc9, 0x0f, 0xa2, 0xf4 };
	if (cpu_has(&cpu->features, FEAT_AVX)) {
		assert_int_equal(run_x(set7, sizeof(set7)), -1);
		assert_int_equal(cpu->state.xcr0, 7);
		assert_int_equal(cpu->state.gpr[R_BX], 832);
		assert_int_equal(run_x(set3, sizeof(set3)), -1);
	}
	/* XSETBV at CPL 3: #GP(0); XGETBV runs at any CPL. */
	cpu->state.xcr0 = 1;
	seg(S_CS, SEL_C64U, 0, 0xffffffff, 0xfb | SEG_ATTR_L | SEG_ATTR_G);
	cpu->state.cpl = 3;
	cpu_mode_update(cpu);
	cpu->state.gpr[R_SP] = 0x7000;
	assert_int_equal(run_x(set3, sizeof(set3)), EXC_GP);
	assert_int_equal(cpu->state.xcr0, 1);
	seg(S_CS, SEL_C64U, 0, 0xffffffff, 0xfb | SEG_ATTR_L | SEG_ATTR_G);
	cpu->state.cpl = 3;
	cpu_mode_update(cpu);
	cpu->state.gpr[R_AX] = 0;
	assert_int_equal(run_x(get, sizeof(get)), EXC_GP); /* the HLT at CPL 3 */
	assert_int_equal(cpu->state.gpr[R_AX], 1);
	destroy();
	/* Without the feature: #UD, and CR4.OSXSAVE is reserved (#GP). */
	make64("max,-xsave");
	assert_int_equal(run_x(setcr4, sizeof(setcr4)), EXC_GP);
	destroy();
}

static void
cpuid_leaf_d(void **state)
{
	(void)state;
	struct cpu_features f;
	char err[128];
	uint32_t r[4];
	assert_int_equal(cpu_features_parse(&f, "max,-avx", err, sizeof(err)), 0);
	cpu_features_cpuid(&f, 0xd, 0, r);
	assert_int_equal(r[0], 3); /* x87 | SSE */
	assert_int_equal(r[1], 576);
	assert_int_equal(r[2], 576);
	assert_int_equal(r[3], 0);
	cpu_features_cpuid(&f, 0xd, 1, r);
	assert_int_equal(r[0], 0xf);      /* XSAVEOPT, XSAVEC, XGETBV1, XSAVES */
	assert_int_equal(r[1], 576);      /* compacted size for XCR0 | IA32_XSS = 1 */
	assert_int_equal(r[2] | r[3], 0); /* no IA32_XSS bit supported */
	/* XSAVEC without XSAVES still reports the compacted size (Linux 6.1 sizes
	 * its XSAVEC buffers from it, "XSAVE consistency problem" otherwise). */
	assert_int_equal(cpu_features_parse(&f, "max,-xsaves", err, sizeof(err)), 0);
	cpu_features_cpuid(&f, 0xd, 1, r);
	assert_int_equal(r[0], 0x7);
	assert_int_equal(r[1], 576);
	assert_int_equal(cpu_features_parse(&f, "max,-xsavec,-xgetbv1,-xsaves", err, sizeof(err)),
			 0);
	cpu_features_cpuid(&f, 0xd, 1, r);
	assert_int_equal(r[0], 1); /* XSAVEOPT only */
	assert_int_equal(r[1] | r[2] | r[3], 0);
	assert_int_equal(cpu_features_parse(&f, "max,-avx", err, sizeof(err)), 0);
	for (uint32_t sub = 2; sub < 64; sub++) {
		cpu_features_cpuid(&f, 0xd, sub, r);
		assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
	}
	/* With AVX (vol. 1, 13.2, table 13-1): XCR0 may hold 7, the largest area is
	 * 832 bytes, component 2 (YMM_Hi128) is 256 bytes at offset 576. */
	assert_int_equal(cpu_features_parse(&f, "all", err, sizeof(err)), 0);
	cpu_features_cpuid(&f, 0xd, 0, r);
	assert_int_equal(r[0], cpu_has(&f, FEAT_AVX) ? 7 : 3);
	assert_int_equal(r[2], cpu_has(&f, FEAT_AVX) ? 832 : 576);
	cpu_features_cpuid(&f, 0xd, 2, r);
	assert_int_equal(r[0], cpu_has(&f, FEAT_AVX) ? 256 : 0);
	assert_int_equal(r[1], cpu_has(&f, FEAT_AVX) ? 576 : 0);
	assert_int_equal(r[2] | r[3], 0);
	for (uint32_t sub = 3; sub < 64; sub++) {
		cpu_features_cpuid(&f, 0xd, sub, r);
		assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
	}
	assert_int_equal(cpu_features_parse(&f, "max,-xsaveopt", err, sizeof(err)), 0);
	cpu_features_cpuid(&f, 0xd, 1, r);
	assert_int_equal(r[0], 0xe);
	assert_int_equal(cpu_features_parse(&f, "max,-xsave", err, sizeof(err)), 0);
	cpu_features_cpuid(&f, 0xd, 0, r);
	assert_int_equal(r[0] | r[1] | r[2] | r[3], 0);
}

/* A known x87/SSE state: FCW 027FH, FSW with TOP 7 and C1, ST0 = 1.0 (tag bit
 * 7), FOP 1D9H, FIP/FCS/FDP/FDS, MXCSR 1F81H, XMM0 and XMM15 patterns. */
static void
xsave_known_state(void)
{
	uint8_t *x = cpu->state.xsave;
	memset(x, 0, 512);
	x[0] = 0x7f, x[1] = 0x02;                               /* FCW */
	x[2] = 0x00, x[3] = 0x3a;                               /* FSW: TOP 7, C1 */
	x[4] = 0x80;                                            /* physical register 7 valid */
	x[6] = 0xd9, x[7] = 0x01;                               /* FOP */
	x[8] = 0x44, x[9] = 0x33, x[10] = 0x22, x[11] = 0x11;   /* FIP */
	x[12] = 0x08;                                           /* FCS */
	x[16] = 0x88, x[17] = 0x77, x[18] = 0x66, x[19] = 0x55; /* FDP */
	x[20] = 0x10;                                           /* FDS */
	x[24] = 0x81, x[25] = 0x1f;                             /* MXCSR */
	x[32 + 7] = 0x80, x[32 + 8] = 0xff, x[32 + 9] = 0x3f;   /* ST0 = 1.0 */
	for (unsigned k = 0; k < 16; k++) {
		x[160 + k] = (uint8_t)(0xa0 + k);
		x[160 + 15 * 16 + k] = (uint8_t)(0x50 + k);
	}
}

static void
fill_data(uint8_t v, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		wr(DATA + k, v, 1);
}

static void
xsave_image(void **state)
{
	(void)state;
	/* xsave [DATA] with EDX:EAX = all ones; rex.w xsave; xsave with EAX = 1. */
	static const uint8_t all[] = { 0x83, 0xc8, 0xff, 0x83,      0xca, 0xff, /* or eax/edx, -1 */
				       0x0f, 0xae, 0x24, ABS(DATA), 0xf4 };
	static const uint8_t all64[] = { 0x83, 0xc8, 0xff, 0x83, 0xca,      0xff,
					 0x48, 0x0f, 0xae, 0x24, ABS(DATA), 0xf4 };
	static const uint8_t x87only[] = { MOVI(0xb8, 1), 0x31, 0xd2,      0x0f,
					   0xae,          0x24, ABS(DATA), 0xf4 };
	static const uint8_t misaligned[] = { MOVI(0xb8, 3), 0x31, 0xd2,           0x0f,
					      0xae,          0x24, ABS(DATA + 16), 0xf4 };
	make64("max");
	cpu->state.cr4 |= CR4_OSXSAVE | CR4_OSFXSR;
	cpu->state.xcr0 = 3;
	xsave_known_state();
	fill_data(0xcc, 640);
	assert_int_equal(run_x(all, sizeof(all)), -1);
	/* The hand-computed legacy region (vol. 1, table 10-2; 13.4.1). */
	assert_int_equal(rdm(DATA + 0, 8), 0x01d900803a00027full);  /* FCW FSW FTW 0 FOP */
	assert_int_equal(rdm(DATA + 8, 8), 0x0000000811223344ull);  /* FIP, FCS */
	assert_int_equal(rdm(DATA + 16, 8), 0x0000001055667788ull); /* FDP, FDS */
	assert_int_equal(rdm(DATA + 24, 8), 0x0000ffff00001f81ull); /* MXCSR, MXCSR_MASK */
	assert_int_equal(rdm(DATA + 32, 8), 0x8000000000000000ull); /* ST0 */
	assert_int_equal(rdm(DATA + 40, 8), 0x3fff);
	assert_int_equal(rdm(DATA + 160, 8), 0xa7a6a5a4a3a2a1a0ull);               /* XMM0 */
	assert_int_equal(rdm(DATA + 160 + 15 * 16 + 8, 8), 0x5f5e5d5c5b5a5958ull); /* XMM15 */
	assert_int_equal(rdm(DATA + 416, 8), 0xccccccccccccccccull);               /* not written */
	assert_int_equal(rdm(DATA + 504, 8), 0xccccccccccccccccull);
	/* XSTATE_BV: both components in use, bits 63:2 kept; the rest of the header kept. */
	assert_int_equal(rdm(DATA + 512, 8), 0xcccccccccccccccfull);
	assert_int_equal(rdm(DATA + 520, 8), 0xccccccccccccccccull);
	assert_int_equal(rdm(DATA + 568, 8), 0xccccccccccccccccull);
	/* REX.W: 64-bit FIP/FDP (fugu keeps their low 32 bits), no selectors. */
	fill_data(0xcc, 640);
	assert_int_equal(run_x(all64, sizeof(all64)), -1);
	assert_int_equal(rdm(DATA + 8, 8), 0x11223344ull);
	assert_int_equal(rdm(DATA + 16, 8), 0x55667788ull);
	/* RFBM = 1: only the x87 part and XSTATE_BV[0]. */
	fill_data(0xcc, 640);
	wr(DATA + 512, 0, 8);
	assert_int_equal(run_x(x87only, sizeof(x87only)), -1);
	assert_int_equal(rdm(DATA + 0, 8), 0x01d900803a00027full);
	assert_int_equal(rdm(DATA + 24, 8), 0xccccccccccccccccull);
	assert_int_equal(rdm(DATA + 160, 8), 0xccccccccccccccccull);
	assert_int_equal(rdm(DATA + 512, 8), 1);
	/* The initial configuration is not in use: XSTATE_BV = 0. */
	memset(cpu->state.xsave, 0, 512);
	cpu->state.xsave[0] = 0x7f, cpu->state.xsave[1] = 0x03;
	cpu->state.xsave[24] = 0x80, cpu->state.xsave[25] = 0x1f;
	wr(DATA + 512, ~0ull, 8);
	assert_int_equal(run_x(all, sizeof(all)), -1);
	assert_int_equal(rdm(DATA + 512, 8), ~3ull);
	/* Misaligned: #GP(0), nothing written. */
	fill_data(0xcc, 640);
	assert_int_equal(run_x(misaligned, sizeof(misaligned)), EXC_GP);
	assert_int_equal(rdm(DATA + 16, 8), 0xccccccccccccccccull);
	/* CR4.OSXSAVE = 0: #UD; CR0.TS: #NM. */
	cpu->state.cr4 &= ~(uint64_t)CR4_OSXSAVE;
	assert_int_equal(run_x(all, sizeof(all)), EXC_UD);
	cpu->state.cr4 |= CR4_OSXSAVE;
	cpu->state.cr0 |= CR0_TS;
	assert_int_equal(run_x(all, sizeof(all)), EXC_NM);
	destroy();
}

static void
xrstor_init_and_checks(void **state)
{
	(void)state;
	static const uint8_t rst[] = {
		MOVI(0xb8, 3), 0x31, 0xd2, 0x0f, 0xae, 0x2c, ABS(DATA), 0xf4
	};
	make64("max");
	cpu->state.cr4 |= CR4_OSXSAVE | CR4_OSFXSR;
	cpu->state.xcr0 = 3;
	/* XSTATE_BV = 0: both components take their initial configuration, whatever
	 * the legacy region holds; MXCSR is still loaded (vol. 1, 13.8.1). */
	fill_data(0x5a, 512);
	wr(DATA + 24, 0x1f81, 4);
	for (unsigned k = 512; k < 576; k += 8)
		wr(DATA + k, 0, 8);
	xsave_known_state();
	assert_int_equal(run_x(rst, sizeof(rst)), -1);
	const uint8_t *x = cpu->state.xsave;
	static const uint8_t zero[256];
	assert_int_equal(x[0] | x[1] << 8, 0x037f); /* FCW */
	assert_int_equal(x[2] | x[3] << 8, 0);      /* FSW */
	assert_int_equal(x[4], 0);                  /* all empty */
	assert_memory_equal(x + 6, zero, 18);       /* FOP, FIP, FCS, FDP, FDS */
	assert_memory_equal(x + 32, zero, 128);     /* ST0-7 */
	assert_memory_equal(x + 160, zero, 256);    /* XMM0-15 */
	assert_int_equal(x[24] | x[25] << 8, 0x1f81);
	/* XSTATE_BV = 3: loaded from the image. */
	xsave_known_state();
	uint8_t want[512];
	memcpy(want, cpu->state.xsave, 512);
	memset(cpu->state.xsave, 0, 512);
	put(DATA, want, 512);
	wr(DATA + 512, 3, 8);
	assert_int_equal(run_x(rst, sizeof(rst)), -1);
	assert_memory_equal(cpu->state.xsave, want, 416);
	/* #GP(0), state unchanged: XSTATE_BV bit not in XCR0, XCOMP_BV != 0, header
	 * bytes 16-23 != 0, MXCSR reserved bit, misaligned. */
	uint64_t bad[][2] = { { 512, 4 }, { 520, 1ull << 63 }, { 528, 1 }, { 24, 0x10000 } };
	for (unsigned k = 0; k < 4; k++) {
		put(DATA, want, 512);
		wr(DATA + 512, 3, 8);
		wr(DATA + 520, 0, 8);
		wr(DATA + 528, 0, 8);
		wr(DATA + bad[k][0], bad[k][1] | (bad[k][0] == 512 ? 3 : 0), 8);
		memset(cpu->state.xsave, 0, 512);
		assert_int_equal(run_x(rst, sizeof(rst)), EXC_GP);
		assert_memory_equal(cpu->state.xsave, zero, 256);
	}
	/* RFBM = 2 with XSTATE_BV = 0: XMM initialised, the x87 left alone. */
	static const uint8_t rst2[] = {
		MOVI(0xb8, 2), 0x31, 0xd2, 0x0f, 0xae, 0x2c, ABS(DATA), 0xf4
	};
	put(DATA, want, 512);
	wr(DATA + 512, 0, 8);
	memcpy(cpu->state.xsave, want, 512);
	assert_int_equal(run_x(rst2, sizeof(rst2)), -1);
	assert_memory_equal(cpu->state.xsave, want, 24);
	assert_memory_equal(cpu->state.xsave + 160, zero, 256);
	destroy();
}

/* XSAVEC, XSAVES, XRSTOR's compacted form, XRSTORS, XGETBV ECX = 1 and
 * IA32_XSS (SDM vol. 1, 13.4.3, 13.8.2, 13.10-13.12; vol. 2C). Images are
 * checked against hand-computed layouts: the legacy region as XSAVE writes it,
 * XSTATE_BV = RFBM AND XINUSE (plus SSE for MXCSR != 1F80H), XCOMP_BV = RFBM |
 * bit 63, component 2 at 576 (the first compacted offset; no 64-byte
 * alignment), header bytes 16-63 untouched. */
#define XSAVEC_DATA 0x0f, 0xc7, 0x24, ABS(DATA)
#define XSAVES_DATA 0x0f, 0xc7, 0x2c, ABS(DATA)
#define XRSTORS_DATA 0x0f, 0xc7, 0x1c, ABS(DATA)
#define XRSTOR_DATA 0x0f, 0xae, 0x2c, ABS(DATA)
static void
xsavec_xsaves_compacted(void **state)
{
	(void)state;
	static const uint8_t all_c[] = { 0x83, 0xc8, 0xff, 0x83, 0xca, 0xff, XSAVEC_DATA, 0xf4 };
	static const uint8_t all_s[] = { 0x83, 0xc8, 0xff, 0x83, 0xca, 0xff, XSAVES_DATA, 0xf4 };
	static const uint8_t rfbm5_c[] = { MOVI(0xb8, 5), 0x31, 0xd2, XSAVEC_DATA, 0xf4 };
	static const uint8_t all_r[] = { 0x83, 0xc8, 0xff, 0x83, 0xca, 0xff, XRSTOR_DATA, 0xf4 };
	static const uint8_t all_rs[] = { 0x83, 0xc8, 0xff, 0x83, 0xca, 0xff, XRSTORS_DATA, 0xf4 };
	static const uint8_t mis_c[] = { 0x83, 0xc8, 0xff, 0x83,           0xca, 0xff,
					 0x0f, 0xc7, 0x24, ABS(DATA + 32), 0xf4 };
	static const uint8_t get1[] = { MOVI(0xb9, 1), XGETBV, 0xf4 };
	static const uint8_t zero[256];
	make64("max");
	bool avx = cpu_has(&cpu->features, FEAT_AVX);
	uint64_t x0 = avx ? 7 : 3;
	cpu->state.cr4 |= CR4_OSXSAVE | CR4_OSFXSR;
	cpu->state.xcr0 = x0;
	xsave_known_state();
	for (unsigned k = 0; k < 16; k++)
		cpu->state.xsave[576 + 3 * 16 + k] = (uint8_t)(0x30 + k); /* YMM3[255:128] */
	fill_data(0xcc, 1024);
	assert_int_equal(run_x(all_c, sizeof(all_c)), -1);
	assert_int_equal(rdm(DATA + 0, 8), 0x01d900803a00027full);   /* FCW FSW FTW 0 FOP */
	assert_int_equal(rdm(DATA + 24, 8), 0x0000ffff00001f81ull);  /* MXCSR, MXCSR_MASK */
	assert_int_equal(rdm(DATA + 160, 8), 0xa7a6a5a4a3a2a1a0ull); /* XMM0 */
	assert_int_equal(rdm(DATA + 464, 8), 0xccccccccccccccccull); /* 511:464 not written */
	assert_int_equal(rdm(DATA + 512, 8), x0);                    /* XSTATE_BV */
	assert_int_equal(rdm(DATA + 520, 8), x0 | 1ull << 63);       /* XCOMP_BV */
	assert_int_equal(rdm(DATA + 528, 8), 0xccccccccccccccccull); /* bytes 16-63 kept */
	assert_int_equal(rdm(DATA + 568, 8), 0xccccccccccccccccull);
	if (avx) {
		assert_int_equal(rdm(DATA + 576 + 48, 8), 0x3736353433323130ull);
		assert_int_equal(rdm(DATA + 576, 8), 0);
	}
	/* XSAVES at CPL 0 writes the same image (IA32_XSS = 0). */
	uint8_t img_c[832], img_s[832];
	for (unsigned k = 0; k < 832; k++)
		img_c[k] = (uint8_t)rdm(DATA + k, 1);
	fill_data(0xcc, 1024);
	assert_int_equal(run_x(all_s, sizeof(all_s)), -1);
	for (unsigned k = 0; k < 832; k++)
		img_s[k] = (uint8_t)rdm(DATA + k, 1);
	assert_memory_equal(img_c, img_s, 832);
	/* XGETBV ECX = 1: XCR0 AND XINUSE. */
	assert_int_equal(run_x(get1, sizeof(get1)), -1);
	assert_int_equal(cpu->state.gpr[R_AX], x0);
	/* The init optimisation: x87 and AVX initial, XMM zero but MXCSR 1F81H:
	 * only SSE saved (XSTATE_BV = 2), the x87 bytes and component 2 untouched. */
	memset(cpu->state.xsave, 0, 832);
	cpu->state.xsave[0] = 0x7f, cpu->state.xsave[1] = 0x03;
	cpu->state.xsave[24] = 0x81, cpu->state.xsave[25] = 0x1f;
	fill_data(0xcc, 1024);
	assert_int_equal(run_x(all_c, sizeof(all_c)), -1);
	assert_int_equal(rdm(DATA + 0, 8), 0xccccccccccccccccull);
	assert_int_equal(rdm(DATA + 24, 8), 0x0000ffff00001f81ull);
	assert_int_equal(rdm(DATA + 160, 8), 0);
	assert_int_equal(rdm(DATA + 576, 8), 0xccccccccccccccccull);
	assert_int_equal(rdm(DATA + 512, 8), 2);
	assert_int_equal(rdm(DATA + 520, 8), x0 | 1ull << 63);
	assert_int_equal(run_x(get1, sizeof(get1)), -1);
	assert_int_equal(cpu->state.gpr[R_AX], 0); /* XINUSE[1] ignores MXCSR */
	/* ... and with MXCSR = 1F80H nothing is saved: XSTATE_BV = 0. */
	cpu->state.xsave[24] = 0x80;
	fill_data(0xcc, 1024);
	assert_int_equal(run_x(all_c, sizeof(all_c)), -1);
	assert_int_equal(rdm(DATA + 24, 8), 0xccccccccccccccccull);
	assert_int_equal(rdm(DATA + 512, 8), 0);
	/* The standard form with RFBM = 4 moves MXCSR too (vol. 1, 13.7, 13.8.1),
	 * the compacted one does not (it belongs to component 1 there). */
	if (avx) {
		static const uint8_t s4[] = { MOVI(0xb8, 4), 0x31, 0xd2,      0x0f,
					      0xae,          0x24, ABS(DATA), 0xf4 };
		static const uint8_t r4[] = { MOVI(0xb8, 4), 0x31, 0xd2, XRSTOR_DATA, 0xf4 };
		cpu->state.xsave[24] = 0x81;
		fill_data(0xcc, 1024);
		assert_int_equal(run_x(s4, sizeof(s4)), -1);
		assert_int_equal(rdm(DATA + 24, 8), 0x0000ffff00001f81ull);
		assert_int_equal(rdm(DATA + 160, 8), 0xccccccccccccccccull);
		wr(DATA + 24, 0x1f82, 4);
		for (unsigned b = 512; b < 576; b += 8)
			wr(DATA + b, 0, 8);
		assert_int_equal(run_x(r4, sizeof(r4)), -1); /* XSTATE_BV = 0: still loaded */
		assert_int_equal(cpu->state.xsave[24], 0x82);
		wr(DATA + 520, 4 | 1ull << 63, 8);
		assert_int_equal(run_x(r4, sizeof(r4)), -1); /* compacted: MXCSR untouched */
		assert_int_equal(cpu->state.xsave[24], 0x82);
		wr(DATA + 24, 0x10000, 4);
		wr(DATA + 520, 0, 8);
		assert_int_equal(run_x(r4, sizeof(r4)), EXC_GP); /* a reserved MXCSR bit */
		cpu->state.xsave[24] = 0x80;
	}
	/* RFBM = 5 (x87 | AVX): XCOMP_BV = 8000000000000005H, AVX still at 576. */
	if (avx) {
		cpu->state.xsave[576 + 16 + 2] = 0x77; /* YMM1[255:128] byte 2 */
		fill_data(0xcc, 1024);
		assert_int_equal(run_x(rfbm5_c, sizeof(rfbm5_c)), -1);
		assert_int_equal(rdm(DATA + 512, 8), 4);
		assert_int_equal(rdm(DATA + 520, 8), 5 | 1ull << 63);
		assert_int_equal(rdm(DATA + 576 + 16, 8), 0x770000);
		assert_int_equal(rdm(DATA + 24, 8), 0xccccccccccccccccull); /* RFBM[1] = 0 */
	}
	/* XRSTOR of a compacted image: XSTATE_BV = XCOMP_BV[62:0] = x0 loads all;
	 * then XSTATE_BV = 0 initialises all, MXCSR to 1F80H (13.8.2). */
	for (unsigned k = 0; k < 832; k++)
		wr(DATA + k, img_c[k], 1);
	for (unsigned k = 528; k < 576; k += 8)
		wr(DATA + k, 0, 8);
	memset(cpu->state.xsave, 0, 832);
	assert_int_equal(run_x(all_r, sizeof(all_r)), -1);
	xsave_known_state();
	uint8_t want[512];
	memcpy(want, cpu->state.xsave, 512);
	assert_int_equal(run_x(all_r, sizeof(all_r)), -1);
	assert_memory_equal(cpu->state.xsave, want, 24);
	assert_memory_equal(cpu->state.xsave + 24, want + 24, 4); /* MXCSR 1F81H */
	assert_memory_equal(cpu->state.xsave + 160, want + 160, 256);
	if (avx)
		assert_int_equal(cpu->state.xsave[576 + 48 + 5], 0x35);
	wr(DATA + 512, 0, 8);
	assert_int_equal(run_x(all_r, sizeof(all_r)), -1);
	assert_int_equal(cpu->state.xsave[0] | cpu->state.xsave[1] << 8, 0x037f);
	assert_int_equal(cpu->state.xsave[24] | cpu->state.xsave[25] << 8, 0x1f80);
	assert_memory_equal(cpu->state.xsave + 160, zero, 256);
	assert_memory_equal(cpu->state.xsave + 576, zero, 256);
	/* #GP(0), state unchanged: XCOMP_BV bit 3 (not in XCR0), XSTATE_BV bit not
	 * in XCOMP_BV, XSTATE_BV bit 63, header bytes 16 and 63 nonzero, MXCSR
	 * reserved bit. */
	const uint64_t bad[][3] = {
		{ 3, 3 | 8 | 1ull << 63, 0 },
		{ 3, 1 | 1ull << 63, 0 },
		{ 3 | 1ull << 63, 3 | 1ull << 63, 0 },
		{ 3, 3 | 1ull << 63, 528 },
		{ 3, 3 | 1ull << 63, 575 },
		{ 3, 3 | 1ull << 63, 24 },
	};
	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		put(DATA, want, 512);
		for (unsigned b = 528; b < 576; b += 8)
			wr(DATA + b, 0, 8);
		wr(DATA + 512, bad[k][0], 8);
		wr(DATA + 520, bad[k][1], 8);
		if (bad[k][2] == 24)
			wr(DATA + 24, 0x10000, 4);
		else if (bad[k][2])
			wr(DATA + bad[k][2], 1, 1);
		memset(cpu->state.xsave, 0, 512);
		assert_int_equal(run_x(all_r, sizeof(all_r)), EXC_GP);
		assert_memory_equal(cpu->state.xsave, zero, 256);
		assert_int_equal(run_x(all_rs, sizeof(all_rs)), EXC_GP);
		assert_memory_equal(cpu->state.xsave, zero, 256);
	}
	/* XRSTORS: the compacted image loads; the standard form is #GP(0). */
	put(DATA, want, 512);
	for (unsigned b = 528; b < 576; b += 8)
		wr(DATA + b, 0, 8);
	wr(DATA + 512, 3, 8);
	wr(DATA + 520, 3 | 1ull << 63, 8);
	memset(cpu->state.xsave, 0, 512);
	assert_int_equal(run_x(all_rs, sizeof(all_rs)), -1);
	assert_memory_equal(cpu->state.xsave + 160, want + 160, 256);
	wr(DATA + 520, 0, 8);
	memset(cpu->state.xsave, 0, 512);
	assert_int_equal(run_x(all_rs, sizeof(all_rs)), EXC_GP);
	assert_memory_equal(cpu->state.xsave, zero, 256);
	/* Misaligned XSAVEC: #GP(0), nothing written. */
	fill_data(0xcc, 1024);
	assert_int_equal(run_x(mis_c, sizeof(mis_c)), EXC_GP);
	assert_int_equal(rdm(DATA + 32, 8), 0xccccccccccccccccull);
	/* IA32_XSS: reads 0, only 0 may be written (no supervisor component). */
	uint64_t v = 1;
	assert_int_equal(msr_read(cpu, MSR_XSS, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(msr_write(cpu, MSR_XSS, 0), 0);
	assert_int_equal(msr_write(cpu, MSR_XSS, 1), -1);
	assert_int_equal(msr_write(cpu, MSR_XSS, 1ull << 8), -1);
	/* XSAVES/XRSTORS at CPL 3: #GP(0) before anything is read or written. */
	fill_data(0xcc, 1024);
	seg(S_CS, SEL_C64U, 0, 0xffffffff, 0xfb | SEG_ATTR_L | SEG_ATTR_G);
	cpu->state.cpl = 3;
	cpu_mode_update(cpu);
	cpu->state.gpr[R_SP] = 0x7000;
	assert_int_equal(run_x(all_s, sizeof(all_s)), EXC_GP);
	assert_int_equal(rdm(DATA + 512, 8), 0xccccccccccccccccull);
	destroy();
	/* Without the features: XSAVEC/XSAVES #UD, IA32_XSS absent, XGETBV ECX = 1
	 * #GP, and XCOMP_BV[63] = 1 is a reserved header bit for XRSTOR. */
	make64("max,-xsavec,-xgetbv1,-xsaves");
	cpu->state.cr4 |= CR4_OSXSAVE | CR4_OSFXSR;
	cpu->state.xcr0 = 3;
	assert_int_equal(run_x(all_c, sizeof(all_c)), EXC_UD);
	assert_int_equal(run_x(all_s, sizeof(all_s)), EXC_UD);
	assert_int_equal(run_x(all_rs, sizeof(all_rs)), EXC_UD);
	assert_int_equal(run_x(get1, sizeof(get1)), EXC_GP);
	assert_int_equal(msr_read(cpu, MSR_XSS, &v), -1);
	put(DATA, want, 512);
	for (unsigned b = 528; b < 576; b += 8)
		wr(DATA + b, 0, 8);
	wr(DATA + 512, 3, 8);
	wr(DATA + 520, 3 | 1ull << 63, 8);
	assert_int_equal(run_x(all_r, sizeof(all_r)), EXC_GP);
	destroy();
}

/* ---- INS/OUTS with REX.W (SDM vol. 2A INS, vol. 2B OUTS: m8, m16, m32 only) ---- */

static unsigned io_width[4], io_count;
static uint32_t io_value;

static uint32_t
port_read(void *opaque, uint16_t port, unsigned size)
{
	(void)opaque, (void)port;
	io_width[io_count++ & 3] = size;
	return 0x44332211u;
}

static void
port_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	(void)opaque, (void)port;
	io_width[io_count++ & 3] = size;
	io_value = value;
}

/* REX.W does not make INS or OUTS 64-bit: one 4-byte port access, the index
 * registers step by 4, and INS writes four bytes of memory. */
static void
string_io_rex_w_is_32_bit(void **state)
{
	(void)state;
	static const uint8_t code[] = {
		0x66, 0xba, 0x00, 0x03,       /* mov dx, 300h */
		0xbe, 0x00, 0x80, 0x00, 0x00, /* mov esi, DATA */
		0xbf, 0x10, 0x80, 0x00, 0x00, /* mov edi, DATA + 10h */
		0x48, 0x6f,                   /* rex.w outsd */
		0x48, 0x6d,                   /* rex.w insd */
		0xf4,
	};
	make64("max");
	io_count = 0;
	assert_int_equal(ioports_register(io, 0x300, 8, "test", port_read, port_write, NULL, 0), 0);
	wr(DATA, 0x8877665544332211ull, 8);
	wr(DATA + 0x10, 0xffffffffffffffffull, 8);
	assert_int_equal(run_code(code, sizeof(code)), -1);
	assert_int_equal(io_count, 2);
	assert_int_equal(io_width[0], 4);
	assert_int_equal(io_width[1], 4);
	assert_int_equal(io_value, 0x44332211u);
	assert_int_equal(cpu->state.gpr[R_SI], DATA + 4);
	assert_int_equal(cpu->state.gpr[R_DI], DATA + 0x14);
	assert_int_equal(rdm(DATA + 0x10, 8), 0xffffffff44332211ull);
	destroy();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clac_stac),
		cmocka_unit_test(v86_segment_loads),
		cmocka_unit_test(pvi_cli_sti),
		cmocka_unit_test(long_mode_int_cs_accessed),
		cmocka_unit_test(lgdt_lidt_lldt_ltr_canonical),
		cmocka_unit_test(iretq_to_cpl3_nulls_only_the_selector),
		cmocka_unit_test(retf_to_cpl3_nulls_only_the_selector),
		cmocka_unit_test(pop_ss_uses_the_old_stack_size),
		cmocka_unit_test(enter_o32_on_a_16bit_stack),
		cmocka_unit_test(flat_segment_wraps_at_4g),
		cmocka_unit_test(icebp_single_step_once),
		cmocka_unit_test(gd_fault_after_mov_ss_single_step_once),
		cmocka_unit_test(code_breakpoint_after_mov_ss),
		cmocka_unit_test(db_loop_on_handler_breakpoint_ends_at_budget),
		cmocka_unit_test(stalls_do_not_depend_on_trace_ends),
		cmocka_unit_test(mca_msrs),
		cmocka_unit_test(skylake_model),
		cmocka_unit_test(bios_sign_id),
		cmocka_unit_test(misc_enable),
		cmocka_unit_test(debugctl),
		cmocka_unit_test(spec_ctrl),
		cmocka_unit_test(memory_type_fields),
		cmocka_unit_test(apic_base_and_cpuid),
		cmocka_unit_test(xgetbv_xsetbv),
		cmocka_unit_test(cpuid_leaf_d),
		cmocka_unit_test(xsave_image),
		cmocka_unit_test(xrstor_init_and_checks),
		cmocka_unit_test(xsavec_xsaves_compacted),
		cmocka_unit_test(string_io_rex_w_is_32_bit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
