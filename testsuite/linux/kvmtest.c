/*
 * kvmtest — a minimal virtual machine monitor on /dev/kvm, run inside a Linux
 * guest of fugu to prove that the guest's own KVM (kvm.ko + kvm-intel.ko)
 * runs a nested guest on fugu's VMX. Built static (the test initramfs has no
 * libc) by mkinitramfs.sh.
 *
 * Two guests, each a few instructions that write a string byte by byte to port
 * 0x10, compute a number, write it to port 0x11 and halt:
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
 *           computes 1 + 2 + ... + 100.
 * Output, one line each, checked by kvm_linux.py:
 *   kvmtest: api 12
 *   <name>: wrote "<string>"
 *   <name>: result <decimal>
 *   <name>: exits <exit reason> x<count>, ...
 * then "kvmtest: PASS" or "kvmtest: FAIL <why>"; exit status 0 on PASS.
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
	".popsection\n");
extern const uint8_t guest16[], guest16_end[], g16_int[], guest64[], guest64_end[], guestpm[],
	guestpm_end[];

enum guest_mode { REAL, BOOT, LONG };

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
static int failed;

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
 * Run one guest to its HLT: its code at CODE_ADDR, real mode or long mode.
 * Prints what it wrote, its result and the exits; returns the result or -1.
 */
static long
run_guest(int vm, const char *name, const uint8_t *code, size_t len, enum guest_mode mode)
{
	uint8_t *mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		fail("mmap guest memory");
	memcpy(mem + CODE_ADDR, code, len);
	static int slot;
	struct kvm_userspace_memory_region region = {
		.slot = (uint32_t)slot++,
		.guest_phys_addr = 0,
		.memory_size = MEM_SIZE,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		fail("KVM_SET_USER_MEMORY_REGION");

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, (unsigned long)(slot - 1));
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
	if (mode == LONG) {
		setup_long(mem, &sregs);
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
	long result = -1;
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
				if (ntext < sizeof(text) - 1)
					text[ntext++] = (char)data[0];
			} else if (run->io.direction == KVM_EXIT_IO_OUT &&
				   run->io.port == PORT_RESULT) {
				uint32_t v = 0;
				memcpy(&v, data, run->io.size <= 4 ? run->io.size : 4);
				result = (long)v;
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
	printf("%s: result %ld\n", name, result);
	printf("%s: exits", name);
	for (size_t k = 0; k < nexits; k++)
		printf("%s %s x%u", k ? "," : "", exit_name(exits[k].reason), exits[k].count);
	printf("\n");
	fflush(stdout);
	int halted = nexits && exits[nexits - 1].reason == KVM_EXIT_HLT;
	if (!halted)
		failed = 1;
	close(vcpu);
	return halted ? result : -1;
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

	/* Each guest in its own VM. Without unrestricted guest KVM runs real mode
	 * as virtual-8086 and needs three pages for its TSS (KVM_SET_TSS_ADDR). */
	int vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm < 0)
		fail("KVM_CREATE_VM");
	if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0)
		fail("KVM_SET_TSS_ADDR");
	long r16 = run_guest(vm, "real", guest16, (size_t)(guest16_end - guest16), REAL);
	close(vm);

	vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm < 0)
		fail("KVM_CREATE_VM");
	if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0)
		fail("KVM_SET_TSS_ADDR");
	long rpm = run_guest(vm, "boot", guestpm, (size_t)(guestpm_end - guestpm), BOOT);
	close(vm);

	vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm < 0)
		fail("KVM_CREATE_VM");
	if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul) < 0)
		fail("KVM_SET_TSS_ADDR");
	long r64 = run_guest(vm, "long", guest64, (size_t)(guest64_end - guest64), LONG);
	close(vm);

	if (failed || r16 != 42 || rpm != 3628800 || r64 != 5050) {
		printf("kvmtest: FAIL real %ld boot %ld long %ld\n", r16, rpm, r64);
		return 1;
	}
	printf("kvmtest: PASS\n");
	return 0;
}
