/*
 * Fuzz harness: VMCS contents fed to VM entry (cpu/vmx/, SDM vol. 3C chapters
 * 24-27). The CPU (model `max`, on the bare machine: 4 MiB of RAM, no
 * devices) starts in 32-bit protected mode with 4 MiB pages and CR4.VMXE, and
 * runs real code: VMXON, VMCLEAR, VMPTRLD, a VMWRITE of every entry of a
 * table in RAM, VMLAUNCH. The table is the VMCS of testsuite/unit/test_vmx.c
 * that passes every entry check (a 32-bit host and guest with paging: host
 * RIP 0xf1000, guest RIP 0xf2000), then the input's changes:
 *
 *   byte 0   flags: bit 0 the host code at 0xf1000 is VMRESUME (the guest runs
 *            again after each exit) instead of HLT; bits 1-7 scale the budget
 *   byte 1   n, the number of field changes that follow
 *   n x 10   a field (2 bytes, a row of the VMCS field table, modulo its size)
 *            and its new value (8 bytes; a 64-bit field takes its high half
 *            through the high access)
 *   rest     the guest's code at 0xf2000
 *
 * A budget of instructions bounds each run; nothing may crash, report a
 * sanitizer error or hang, whatever the entry checks say (VMfail, a VM-entry
 * failure, a guest that exits or faults).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpu_internal.h"
#include "cpu/tcache.h"
#include "cpu/vmx/vmx_internal.h"
#include "testsuite/conformance/bare_machine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CODE 0x1000   /* the setup code */
#define PTRS 0x3000   /* the VMXON and VMCS pointers, 8 bytes each */
#define VMXON 0x4000  /* the VMXON region */
#define VMCS 0x6000   /* the VMCS region */
#define PD 0x10000    /* the page directory (host and guest CR3) */
#define TABLE 0x20000 /* (encoding, value) pairs, 4 bytes each, for VMWRITE */
#define HOST_RIP 0xf1000
#define GUEST_RIP 0xf2000
#define MAX_GUEST_CODE 0x4000

static struct machine m;

static void
poke32(uint64_t pa, uint32_t v)
{
	physmem_write(m.mem, pa, &v, 4);
}

/* The VMCS that passes every check (test_vmx.c's valid_vmcs). */
static const struct {
	uint16_t enc;
	uint32_t value;
} base[] = {
	{ 0x4000, 0x16 },       { 0x4002, 0x0401e172 }, { 0x400c, 0x36dff },
	{ 0x4012, 0x11ff },     { 0x6c00, 0x80000031 }, { 0x6c02, PD },
	{ 0x6c04, 0x2010 },     { 0x0c02, 0x08 },       { 0x0c04, 0x10 },
	{ 0x0c0c, 0x28 },       { 0x6c16, HOST_RIP },   { 0x6800, 0x80000031 },
	{ 0x6802, PD },         { 0x6804, 0x2010 },     { 0x0800, 0x10 },
	{ 0x0802, 0x08 },       { 0x0804, 0x10 },       { 0x0806, 0x10 },
	{ 0x0808, 0x10 },       { 0x080a, 0x10 },       { 0x4800, 0xffffffff },
	{ 0x4802, 0xffffffff }, { 0x4804, 0xffffffff }, { 0x4806, 0xffffffff },
	{ 0x4808, 0xffffffff }, { 0x480a, 0xffffffff }, { 0x4814, 0xc093 },
	{ 0x4816, 0xc09b },     { 0x4818, 0xc093 },     { 0x481a, 0xc093 },
	{ 0x481c, 0xc093 },     { 0x481e, 0xc093 },     { 0x080e, 0x28 },
	{ 0x480e, 0x67 },       { 0x4822, 0x8b },       { 0x4820, 0x10000 },
	{ 0x4810, 0x7ff },      { 0x4812, 0x7ff },      { 0x681e, GUEST_RIP },
	{ 0x6820, 2 },          { 0x2800, 0xffffffff }, { 0x2801, 0xffffffff },
};
#define NBASE (sizeof(base) / sizeof(base[0]))

/* 32-bit code: VMXON [PTRS]; VMCLEAR [PTRS+8]; VMPTRLD [PTRS+8];
 * ESI = TABLE; ECX = count (patched at COUNT_AT);
 * again: MOV EAX,[ESI]; MOV EDX,[ESI+4]; VMWRITE EAX,EDX; ADD ESI,8; LOOP again;
 * VMLAUNCH; HLT. */
static const uint8_t setup[] = {
	0xf3, 0x0f, 0xc7, 0x35, 0x00, 0x30, 0x00, 0x00, /* vmxon [0x3000] */
	0x66, 0x0f, 0xc7, 0x35, 0x08, 0x30, 0x00, 0x00, /* vmclear [0x3008] */
	0x0f, 0xc7, 0x35, 0x08, 0x30, 0x00, 0x00,       /* vmptrld [0x3008] */
	0xbe, 0x00, 0x00, 0x02, 0x00,                   /* mov esi, 0x20000 */
	0xb9, 0x00, 0x00, 0x00, 0x00,                   /* mov ecx, count */
	0x8b, 0x06,                                     /* again: mov eax, [esi] */
	0x8b, 0x56, 0x04,                               /* mov edx, [esi+4] */
	0x0f, 0x79, 0xc2,                               /* vmwrite eax, edx */
	0x83, 0xc6, 0x08,                               /* add esi, 8 */
	0xe2, 0xf3,                                     /* loop again */
	0x0f, 0x01, 0xc2,                               /* vmlaunch */
	0xf4,                                           /* hlt */
};
#define COUNT_AT 29

static unsigned
put(unsigned n, uint32_t enc, uint32_t value)
{
	poke32(TABLE + 8 * n, enc);
	poke32(TABLE + 8 * n + 4, value);
	return n + 1;
}

static uint64_t
get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned k = 0; k < n; k++)
		v |= (uint64_t)p[k] << (8 * k);
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[128];
	if (!m.cpu && !bare_machine_create(&m, "max", 4u << 20, err, sizeof(err)))
		abort();
	if (size < 2)
		return 0;
	struct cpu *cpu = m.cpu;
	cpu_reset(cpu);
	memset(m.mem->ram, 0, 0x30000); /* the same memory for every input */
	memset(m.mem->ram + HOST_RIP, 0, 0x8000);

	/* The table: the valid VMCS, then the input's changes. */
	unsigned n = 0;
	for (size_t k = 0; k < NBASE; k++)
		n = put(n, base[k].enc, base[k].value);
	size_t at = 2;
	for (unsigned c = 0; c < data[1] && at + 10 <= size; c++, at += 10) {
		uint32_t enc = vmcs_fields[get(data + at, 2) % VMCS_FIELD_COUNT].enc;
		uint64_t v = get(data + at + 2, 8);
		n = put(n, enc, (uint32_t)v);
		if (vmcs_enc_width(enc) == VMCS_W64)
			n = put(n, enc | 1, (uint32_t)(v >> 32));
	}
	physmem_write(m.mem, CODE, setup, sizeof(setup));
	poke32(CODE + COUNT_AT, n);
	poke32(PTRS, VMXON);
	poke32(PTRS + 8, VMCS);
	poke32(VMXON, VMX_REVISION);
	poke32(VMCS, VMX_REVISION);
	poke32(PD, 0xe3); /* a 4 MiB page at 0: P RW A D PS */
	static const uint8_t vmresume[] = { 0x0f, 0x01, 0xc3, 0xf4 }, hlt = 0xf4;
	if (data[0] & 1)
		physmem_write(m.mem, HOST_RIP, vmresume, sizeof(vmresume));
	else
		physmem_write(m.mem, HOST_RIP, &hlt, 1);
	size_t code = size - at;
	if (code > MAX_GUEST_CODE)
		code = MAX_GUEST_CODE;
	physmem_write(m.mem, GUEST_RIP, data + at, code);

	/* 32-bit protected mode, flat, paging with 4 MiB pages, CR4.VMXE; VMX
	 * allowed by IA32_FEATURE_CONTROL (as firmware leaves it). */
	struct segment dseg = { .sel = 0x10,
				.attr = 0x93 | SEG_ATTR_DB | SEG_ATTR_G,
				.limit = 0xffffffff };
	struct segment cseg = { .sel = 0x08,
				.attr = 0x9b | SEG_ATTR_DB | SEG_ATTR_G,
				.limit = 0xffffffff };
	for (int s = 0; s < 6; s++)
		cpu->state.seg[s] = dseg;
	cpu->state.seg[S_CS] = cseg;
	cpu->state.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	cpu->state.cr3 = PD;
	cpu->state.cr4 = CR4_PSE | CR4_VMXE;
	cpu->state.rip = CODE;
	cpu->state.cpl = 0;
	(void)vmx_feature_control_write(cpu, FC_LOCK | FC_VMX_OUTSIDE_SMX);
	tlb_flush_all(&cpu->tlb);
	cpu_set_rflags(cpu, F_FIXED1);
	tcache_flush(cpu);

	unsigned rounds = 2 + (data[0] >> 1) % 8;
	for (unsigned k = 0; k < rounds; k++) {
		enum cpu_exit r = cpu_exec(cpu, 1000);
		if (r == CPU_EXIT_TRIPLE_FAULT || r == CPU_EXIT_UNMODELLED || r == CPU_EXIT_HALT)
			break;
	}
	if (getenv("FUGU_FUZZ_VMENTRY_DEBUG")) { /* where a seed ends: for writing seeds */
		bool high;
		fprintf(stderr,
			"rip %#llx nonroot %d vmx on %d exit reason %#llx insn error %llu icount "
			"%llu\n",
			(unsigned long long)cpu->state.rip, (int)cpu->vmx_nonroot,
			(int)cpu->vmx->on,
			(unsigned long long)cpu->vmx->f[vmcs_field_lookup(0x4402, &high)],
			(unsigned long long)cpu->vmx->f[vmcs_field_lookup(0x4400, &high)],
			(unsigned long long)cpu->icount);
	}
	return 0;
}
