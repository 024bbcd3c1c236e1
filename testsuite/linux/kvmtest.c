/*
 * kvmtest — a minimal virtual machine monitor on /dev/kvm, run inside a Linux
 * guest of fugu to prove that the guest's own KVM (kvm.ko + kvm-intel.ko)
 * runs a nested guest on fugu's VMX. Built static (the test initramfs has no
 * libc) by mkinitramfs.sh.
 *
 * Four guests, each in its own VM, each a few instructions that write a string
 * to port 0x10, compute numbers, write them to port 0x11 and halt:
 *   real  — 16-bit real mode (KVM runs it as virtual-8086 without unrestricted
 *           guest), computes 6 * 7 with the 7 from an INT 21h handler in its
 *           interrupt vector table (redirected by CR4.VME in virtual-8086 mode);
 *   boot  — starts in real mode like a boot loader: loads a GDT, enters
 *           protected mode (KVM emulates the switch: the state between is not
 *           valid VMX guest state without unrestricted guest), builds a page
 *           directory and turns on 32-bit paging with a 4 MiB page, loads an IDT,
 *           then STI; HLT: kvmtest injects interrupt 20h (KVM_INTERRUPT), whose
 *           handler writes "!"; then computes 10! (3628800);
 *   long  — 64-bit mode with 4-level paging set up here (one 2 MiB page),
 *           computes 1 + 2 + ... + 100;
 *   work  — 64-bit mode with 4 KiB pages, a GDT and an IDT, exercising what a
 *           hypervisor with shadow paging handles for its guest: CPUID of a
 *           leaf kvmtest sets (KVM_SET_CPUID2), a page fault the guest's own
 *           handler resolves (KVM injects #PF, CR2 kept across VM entry), MMIO
 *           write and read (KVM_EXIT_MMIO, KVM's instruction emulator), REP
 *           OUTSB (string I/O: KVM emulates it), INT 80h through the IDT, WRMSR/RDMSR of
 *           IA32_SYSENTER_CS; the values go to port 0x11 in that order.
 * Output, one line each, checked by kvm_linux.py:
 *   kvmtest: api 12
 *   <name>: mmio write|read <address> <length> <value>   (work only)
 *   <name>: stopped at rip <the guest's RIP after its last exit>
 *   <name>: wrote "<string>"
 *   <name>: result <value written to port 0x11, in hex>...
 *   <name>: exits <exit reason> x<count>, ...
 * then "kvmtest: PASS" or "kvmtest: FAIL" (or "kvmtest: FAIL <call>: <error>"
 * when an ioctl fails); exit status 0 on PASS.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE (2u << 20) /* guest-physical 0 .. 2 MiB */
#define CODE_ADDR 0x1000u   /* where each guest's code is loaded */
#define PML4_ADDR 0x8000u   /* the long-mode guest's page tables */
#define PORT_TEXT 0x10
#define PORT_RESULT 0x11

/*
 * The guests' code, assembled by the host's assembler into .rodata and copied
 * into guest memory at CODE_ADDR (the real-mode one uses absolute offsets
 * computed from that address; the 64-bit one is RIP-relative).
 */
__asm__(".pushsection .rodata\n"
	".globl guest16, guest16_end, g16_int\n"
	"guest16:\n"
	".code16\n"
	"	mov $(g16_msg - guest16 + 0x1000), %si\n"
	"	mov $0x10, %dx\n"
	"1:	lodsb\n"
	"	test %al, %al\n"
	"	jz 2f\n"
	"	out %al, %dx\n"
	"	jmp 1b\n"
	"2:	mov $6, %ax\n"
	"	int $0x21\n" /* IVT[0x21] = g16_int: BX = 7 */
	"	mul %bx\n"
	"	mov $0x11, %dx\n"
	"	out %ax, %dx\n"
	"	hlt\n"
	"g16_int: mov $7, %bx\n"
	"	iret\n"
	"g16_msg: .asciz \"hello from real mode\"\n"
	"guest16_end:\n"
	".code64\n"
	".globl guest64, guest64_end\n"
	"guest64:\n"
	"	lea g64_msg(%rip), %rsi\n"
	"	mov $0x10, %edx\n"
	"1:	lodsb\n"
	"	test %al, %al\n"
	"	jz 2f\n"
	"	out %al, %dx\n"
	"	jmp 1b\n"
	"2:	xor %eax, %eax\n"
	"	mov $100, %ecx\n"
	"3:	add %ecx, %eax\n"
	"	loop 3b\n"
	"	mov $0x11, %edx\n"
	"	out %eax, %dx\n"
	"	hlt\n"
	"g64_msg: .asciz \"hello from long mode\"\n"
	"guest64_end:\n"
	".code16\n"
	".globl guestpm, guestpm_end\n"
	"guestpm:\n"
	"	cli\n"
	"	lgdtl gpm_gdtr - guestpm + 0x1000\n"
	"	mov %cr0, %eax\n"
	"	or $1, %eax\n"
	"	mov %eax, %cr0\n"
	"	ljmpl $8, $(gpm_32 - guestpm + 0x1000)\n"
	".code32\n"
	"gpm_32:\n"
	"	mov $0x10, %eax\n"
	"	mov %eax, %ds\n"
	"	mov %eax, %es\n"
	"	mov %eax, %ss\n"
	"	mov $0x7000, %esp\n"
	"	mov $0x9000, %eax\n"
	"	movl $0x83, (%eax)\n" /* PDE 0: a 4 MiB page at 0, present, writable */
	"	mov %eax, %cr3\n"
	"	mov %cr4, %eax\n"
	"	or $0x10, %eax\n" /* PSE */
	"	mov %eax, %cr4\n"
	"	mov %cr0, %eax\n"
	"	or $0x80000000, %eax\n" /* PG */
	"	mov %eax, %cr0\n"
	"	lidtl gpm_idtr - guestpm + 0x1000\n"
	"	mov $(gpm_msg - guestpm + 0x1000), %esi\n"
	"	mov $0x10, %edx\n"
	"1:	lodsb\n"
	"	test %al, %al\n"
	"	jz 2f\n"
	"	out %al, %dx\n"
	"	jmp 1b\n"
	"2:	sti\n"
	"	hlt\n" /* woken by the interrupt kvmtest injects */
	"	cli\n"
	"	mov $1, %eax\n"
	"	mov $10, %ecx\n"
	"3:	imul %ecx, %eax\n"
	"	loop 3b\n"
	"	mov $0x11, %edx\n"
	"	out %eax, %dx\n"
	"	hlt\n"
	"gpm_int:\n" /* interrupt 20h */
	"	push %eax\n"
	"	mov $'!', %al\n"
	"	out %al, $0x10\n"
	"	pop %eax\n"
	"	iret\n"
	"	.p2align 3\n"
	"gpm_gdt: .quad 0, 0x00cf9a000000ffff, 0x00cf92000000ffff\n"
	"gpm_gate:\n" /* the IDT's entry 20h: its base is 20h entries below */
	"	.word gpm_int - guestpm + 0x1000, 8\n"
	"	.byte 0, 0x8e\n" /* present 32-bit interrupt gate */
	"	.word 0\n"
	"gpm_gdtr: .word 23\n"
	"	.long gpm_gdt - guestpm + 0x1000\n"
	"gpm_idtr: .word 0x20 * 8 + 7\n"
	"	.long gpm_gate - guestpm + 0x1000 - 0x20 * 8\n"
	"gpm_msg: .asciz \"hello from protected mode\"\n"
	"guestpm_end:\n"
	".code64\n"
	".globl guestw, guestw_end, gw_pf, gw_int80\n"
	"guestw:\n"
	"	mov $0x40000000, %eax\n"
	"	cpuid\n"
	"	mov %edx, %r8d\n"
	"	mov %ebx, %eax\n"
	"	out %eax, $0x11\n"
	"	mov %ecx, %eax\n"
	"	out %eax, $0x11\n"
	"	mov %r8d, %eax\n"
	"	out %eax, $0x11\n"
	"	movl $0x5a5a, 0x100000\n" /* not present: the guest's #PF handler maps it */
	"	mov 0x100000, %eax\n"
	"	out %eax, $0x11\n"
	"	movl $0x12345678, 0x200010\n" /* MMIO (physical 0xd0000010) */
	"	mov 0x200020, %eax\n"
	"	out %eax, $0x11\n"
	"	lea gw_msg(%rip), %rsi\n"
	"	mov $(gw_msg_end - gw_msg), %ecx\n"
	"	mov $0x10, %edx\n"
	"	rep outsb\n"
	"	int $0x80\n"
	"	mov $0x174, %ecx\n" /* IA32_SYSENTER_CS */
	"	mov $0x1234, %eax\n"
	"	xor %edx, %edx\n"
	"	wrmsr\n"
	"	xor %eax, %eax\n"
	"	rdmsr\n"
	"	out %eax, $0x11\n"
	"	hlt\n"
	"gw_pf:\n" /* #PF: report CR2, map the page (page table at 0xb000), retry */
	"	push %rax\n"
	"	mov %cr2, %rax\n"
	"	out %eax, $0x11\n"
	"	movq $0x100003, 0xb000 + 0x100 * 8\n"
	"	pop %rax\n"
	"	add $8, %rsp\n" /* the error code */
	"	iretq\n"
	"gw_int80:\n"
	"	mov $0x80, %eax\n"
	"	out %eax, $0x11\n"
	"	iretq\n"
	"gw_msg: .ascii \"hello from the work guest\"\n"
	"gw_msg_end:\n"
	"guestw_end:\n"
	".popsection\n");
extern const uint8_t guest16[], guest16_end[], g16_int[], guest64[], guest64_end[], guestpm[],
	guestpm_end[], guestw[], guestw_end[], gw_pf[], gw_int80[];

enum guest_mode { REAL, BOOT, LONG, WORK };

#define GDT_ADDR 0x500
#define IDT_ADDR 0x3000
#define PT_ADDR 0xb000          /* the work guest's page table for 0-2 MiB (gw_pf writes it) */
#define MMIO_ADDR 0xd0000000ull /* the work guest's 2 MiB at linear 2 MiB: no memory */

static const char *const exit_names[] = {
	[KVM_EXIT_UNKNOWN] = "UNKNOWN",
	[KVM_EXIT_EXCEPTION] = "EXCEPTION",
	[KVM_EXIT_IO] = "IO",
	[KVM_EXIT_HYPERCALL] = "HYPERCALL",
	[KVM_EXIT_DEBUG] = "DEBUG",
	[KVM_EXIT_HLT] = "HLT",
	[KVM_EXIT_MMIO] = "MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	[KVM_EXIT_INTR] = "INTR",
	[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
};

static int kvm_fd;

static void
fail(const char *what)
{
	printf("kvmtest: FAIL %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

static const char *
exit_name(uint32_t reason)
{
	static char other[32];
	if (reason < sizeof(exit_names) / sizeof(exit_names[0]) && exit_names[reason])
		return exit_names[reason];
	snprintf(other, sizeof(other), "EXIT_%u", reason);
	return other;
}

/* SIGALRM only interrupts a KVM_RUN that never returns (it then fails EINTR). */
static void
on_alarm(int sig)
{
	(void)sig;
}

/* A 64-bit interrupt gate at IDT_ADDR to `handler` (CS 8). */
static void
set_gate(uint8_t *mem, unsigned vector, uint32_t handler)
{
	uint32_t gate[4] = { 8u << 16 | (handler & 0xffff), (handler & 0xffff0000) | 0x8e00, 0, 0 };
	memcpy(mem + IDT_ADDR + 16 * vector, gate, sizeof(gate));
}

/* The work guest's extras: 4 KiB pages for 0-2 MiB (1 MiB not present), MMIO at
 * linear 2 MiB, a GDT, an IDT with #PF and INT 80h, and CPUID leaf 40000000h. */
static void
setup_work(int vcpu, uint8_t *mem, const uint8_t *code, struct kvm_sregs *s)
{
	uint64_t *pd = (uint64_t *)(mem + PML4_ADDR + 0x2000);
	uint64_t *pt = (uint64_t *)(mem + PT_ADDR);
	pd[0] = PT_ADDR | 3;
	for (unsigned k = 0; k < 512; k++)
		pt[k] = k == 0x100 ? 0 : (uint64_t)k << 12 | 3;
	pd[1] = MMIO_ADDR | 0x83;
	static const uint64_t gdt[] = { 0, 0x00af9a000000ffffull, 0x00cf92000000ffffull };
	memcpy(mem + GDT_ADDR, gdt, sizeof(gdt));
	s->gdt.base = GDT_ADDR;
	s->gdt.limit = sizeof(gdt) - 1;
	set_gate(mem, 14, (uint32_t)(gw_pf - code + CODE_ADDR));
	set_gate(mem, 0x80, (uint32_t)(gw_int80 - code + CODE_ADDR));
	s->idt.base = IDT_ADDR;
	s->idt.limit = 16 * 256 - 1;

	/* What KVM supports, plus the hypervisor leaf 40000000h: "fugu-in-KVM!". */
	static struct {
		struct kvm_cpuid2 head;
		struct kvm_cpuid_entry2 e[100];
	} cpuid = { .head.nent = 99 };
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0)
		fail("KVM_GET_SUPPORTED_CPUID");
	uint32_t n = cpuid.head.nent;
	for (uint32_t k = 0; k < cpuid.head.nent; k++)
		if (cpuid.e[k].function == 0x40000000)
			n = k;
	cpuid.e[n] = (struct kvm_cpuid_entry2){ .function = 0x40000000,
						.eax = 0x40000000,
						.ebx = 0x75677566,   /* fugu */
						.ecx = 0x2d6e692d,   /* -in- */
						.edx = 0x214d564b }; /* KVM! */
	if (n == cpuid.head.nent)
		cpuid.head.nent++;
	if (ioctl(vcpu, KVM_SET_CPUID2, &cpuid) < 0)
		fail("KVM_SET_CPUID2");
}

/* The 64-bit guest's state: one 2 MiB identity page, flat 64-bit code and data. */
static void
setup_long(uint8_t *mem, struct kvm_sregs *s)
{
	uint64_t *pml4 = (uint64_t *)(mem + PML4_ADDR);
	uint64_t *pdpt = (uint64_t *)(mem + PML4_ADDR + 0x1000);
	uint64_t *pd = (uint64_t *)(mem + PML4_ADDR + 0x2000);
	pml4[0] = (PML4_ADDR + 0x1000) | 3; /* present, writable */
	pdpt[0] = (PML4_ADDR + 0x2000) | 3;
	pd[0] = 0x83; /* present, writable, 2 MiB page at 0 */
	s->cr3 = PML4_ADDR;
	s->cr4 = 1u << 5;                           /* PAE */
	s->cr0 = 1u | 1u << 4 | 1u << 5 | 1u << 31; /* PE, ET, NE, PG */
	s->efer = 1u << 8 | 1u << 10;               /* LME, LMA */
	struct kvm_segment code = {
		.base = 0,
		.limit = 0xffffffff,
		.selector = 8,
		.type = 11,
		.present = 1,
		.dpl = 0,
		.db = 0,
		.s = 1,
		.l = 1,
		.g = 1,
	};
	struct kvm_segment data = code;
	data.selector = 16;
	data.type = 3;
	data.l = 0;
	data.db = 1;
	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
}

/*
 * Run one guest to its HLT in a new VM: its code at CODE_ADDR, in `mode`.
 * Prints what it wrote, its results and the exits; returns whether it halted
 * with exactly the `nwant` results `want`.
 */
static int
run_guest(const char *name, const uint8_t *code, const uint8_t *end, enum guest_mode mode,
	  const uint32_t *want, size_t nwant)
{
	size_t len = (size_t)(end - code);
	/* Without unrestricted guest KVM runs real mode as virtual-8086 and needs
	 * three pages for its TSS (KVM_SET_TSS_ADDR), as QEMU places them. */
	int vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm < 0)
		fail("KVM_CREATE_VM");
	if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0)
		fail("KVM_SET_TSS_ADDR");
	uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		fail("mmap guest memory");
	memcpy(mem + CODE_ADDR, code, len);
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = MEM_SIZE,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		fail("KVM_SET_USER_MEMORY_REGION");

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0ul);
	if (vcpu < 0)
		fail("KVM_CREATE_VCPU");
	int run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof(struct kvm_run))
		fail("KVM_GET_VCPU_MMAP_SIZE");
	struct kvm_run *run =
		mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		fail("mmap kvm_run");

	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		fail("KVM_GET_SREGS");
	if (mode == LONG || mode == WORK) {
		setup_long(mem, &sregs);
		if (mode == WORK)
			setup_work(vcpu, mem, code, &sregs);
	} else {
		sregs.cs.base = 0;
		sregs.cs.selector = 0;
		if (mode == REAL) {
			uint16_t ivt21[2] = { (uint16_t)(g16_int - code + CODE_ADDR), 0 };
			memcpy(mem + 0x21 * 4, ivt21, sizeof(ivt21));
		}
	}
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		fail("KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = CODE_ADDR, .rsp = 0x7000, .rflags = 2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		fail("KVM_SET_REGS");

	char text[128];
	size_t ntext = 0;
	uint32_t results[16];
	size_t nresults = 0;
	struct {
		uint32_t reason;
		unsigned count;
	} exits[64];
	size_t nexits = 0;
	int done = 0, injected = 0;
	for (int n = 0; n < 1000 && !done; n++) {
		alarm(20);
		int r = ioctl(vcpu, KVM_RUN, 0);
		alarm(0);
		if (r < 0) {
			printf("%s: KVM_RUN failed: %s\n", name, strerror(errno));
			break;
		}
		uint32_t reason = run->exit_reason;
		if (nexits && exits[nexits - 1].reason == reason)
			exits[nexits - 1].count++;
		else if (nexits < 64)
			exits[nexits].reason = reason, exits[nexits++].count = 1;
		switch (reason) {
		case KVM_EXIT_IO: {
			const uint8_t *data = (const uint8_t *)run + run->io.data_offset;
			if (run->io.direction == KVM_EXIT_IO_OUT && run->io.port == PORT_TEXT &&
			    run->io.size == 1) {
				for (uint32_t k = 0; k < run->io.count;
				     k++) /* REP OUTSB: several */
					if (ntext < sizeof(text) - 1)
						text[ntext++] = (char)data[k];
			} else if (run->io.direction == KVM_EXIT_IO_OUT &&
				   run->io.port == PORT_RESULT) {
				uint32_t v = 0;
				memcpy(&v, data, run->io.size <= 4 ? run->io.size : 4);
				if (nresults < 16)
					results[nresults++] = v;
			} else {
				printf("%s: unexpected I/O %s port %#x size %u\n", name,
				       run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
				       run->io.port, run->io.size);
				done = 1;
			}
			break;
		}
		case KVM_EXIT_HLT:
			/* The boot guest's first HLT waits for interrupt 20h, with IF set. */
			if (mode == BOOT && !injected && run->if_flag) {
				struct kvm_interrupt irq = { .irq = 0x20 };
				if (ioctl(vcpu, KVM_INTERRUPT, &irq) < 0)
					fail("KVM_INTERRUPT");
				injected = 1;
				break;
			}
			done = 1;
			break;
		case KVM_EXIT_MMIO: {
			/* Reads see 0xcafe0000 plus the address's low 16 bits. */
			uint32_t v = 0;
			if (run->mmio.is_write) {
				memcpy(&v, run->mmio.data, run->mmio.len <= 4 ? run->mmio.len : 4);
			} else {
				v = 0xcafe0000u | (uint32_t)(run->mmio.phys_addr & 0xffff);
				memcpy(run->mmio.data, &v, run->mmio.len <= 4 ? run->mmio.len : 4);
			}
			printf("%s: mmio %s %#llx %u %#x\n", name,
			       run->mmio.is_write ? "write" : "read",
			       (unsigned long long)run->mmio.phys_addr, run->mmio.len, v);
			break;
		}
		case KVM_EXIT_FAIL_ENTRY:
			printf("%s: entry failed, hardware reason %#llx\n", name,
			       (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
			done = 1;
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			printf("%s: internal error, suberror %u", name, run->internal.suberror);
			for (uint32_t k = 0; k < run->internal.ndata && k < 16; k++)
				printf(" %#llx", (unsigned long long)run->internal.data[k]);
			printf("\n");
			done = 1;
			break;
		default: done = 1; break;
		}
	}
	text[ntext] = 0;
	if (ioctl(vcpu, KVM_GET_REGS, &regs) == 0)
		printf("%s: stopped at rip %#llx\n", name, (unsigned long long)regs.rip);
	printf("%s: wrote \"%s\"\n", name, text);
	printf("%s: result", name);
	for (size_t k = 0; k < nresults; k++)
		printf(" %#x", results[k]);
	printf("\n");
	printf("%s: exits", name);
	for (size_t k = 0; k < nexits; k++)
		printf("%s %s x%u", k ? "," : "", exit_name(exits[k].reason), exits[k].count);
	printf("\n");
	fflush(stdout);
	int halted = nexits && exits[nexits - 1].reason == KVM_EXIT_HLT;
	close(vcpu);
	close(vm);
	munmap(mem, MEM_SIZE);
	return halted && nresults == nwant && !memcmp(results, want, nwant * sizeof(*want));
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		fail("open /dev/kvm");
	int api = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);
	printf("kvmtest: api %d\n", api);
	if (api != KVM_API_VERSION)
		fail("KVM_GET_API_VERSION");

	static const uint32_t want16[] = { 42 }, wantpm[] = { 3628800 }, want64[] = { 5050 };
	/* CPUID 40000000h's EBX ECX EDX, CR2 in the #PF handler, the value written
	 * through the page it mapped, the MMIO read, INT 80h, IA32_SYSENTER_CS. */
	static const uint32_t wantw[] = { 0x75677566, 0x2d6e692d, 0x214d564b, 0x100000,
					  0x5a5a,     0xcafe0020, 0x80,       0x1234 };
	int ok = run_guest("real", guest16, guest16_end, REAL, want16, 1);
	ok &= run_guest("boot", guestpm, guestpm_end, BOOT, wantpm, 1);
	ok &= run_guest("long", guest64, guest64_end, LONG, want64, 1);
	ok &= run_guest("work", guestw, guestw_end, WORK, wantw, sizeof(wantw) / sizeof(wantw[0]));
	printf("kvmtest: %s\n", ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}
