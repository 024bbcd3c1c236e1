; fugu guest test: several processors (run with -smp 4). The BSP starts at the
; reset vector; the APs wait for SIPI (SDM vol. 3A, 8.4.1). In 32-bit protected
; mode the BSP checks:
;   1  IA32_APIC_BASE.BSP is set on the BSP and its APIC ID is 0 (10.4.4, 8.4.1)
;   2  an INIT IPI (all excluding self) leaves the APs waiting: none runs (8.4.1)
;   3  after STARTUP (vector 08h: CS = 0800h, IP = 0, 8.4.3) all three APs run
;      the trampoline; a second STARTUP is ignored by running APs (count exact)
;   4  the APs report APIC IDs 1, 2 and 3 (each reads its own APIC page)
;   5  a spinlock (LOCK BTS) around a read-PAUSE-increment-write of a shared
;      word, and LOCK INC of another, on 4 CPUs: both counts exact
;   6  a fixed IPI in physical destination mode reaches only APIC ID 2 (10.6.2.1)
;   7  a fixed IPI in logical flat mode (destination 0Ah) reaches APIC IDs 1
;      and 3 (10.6.2.2, LDR = 1 << (ID + 24))
;   8  logical cluster mode on the BSP (DFR 0FFFFFFFh, LDR 21h): cluster 3
;      misses it, cluster 2 member 1 and the all-clusters form F1h hit it
;   9  the all-excluding-self shorthand reaches the three APs only (10.6.1)
;  10  all-including-self reaches all four, self only the BSP
;  11  the ICR's delivery status reads idle after each send (10.6.1)
;  12  the IOAPIC routes the PIT (pin 2) to APIC ID 3 only (82093AA 3.2.4)
;  13  lowest priority, logical destination 06h: only APIC IDs 1 and 2 get
;      interrupts (10.6.2.4)
;  14  an NMI IPI reaches APIC ID 1 (its NMI handler runs, vector 2)
;  15  INIT to a running AP (ID 2) puts it back into wait-for-SIPI: a fixed
;      IPI is not taken; a STARTUP restarts it at the trampoline
; It prints "smp: cpus 0 1 2 3" and "smp: PASS" and exits with 0 (fugu status
; 1); the first failure prints "smp: FAIL n" and exits with n.
%include "report.mac"
	bits 16
	org 0

BASE	equ 0xf0000		; linear address of this ROM; CS base points here
IDT	equ 0x1000
STACK	equ 0x7000		; the BSP's; AP n's ends at AP_STACKS + (n + 1) * 4 KiB
AP_STACKS equ 0x10000
TRAMP	equ 0x8000		; the STARTUP vector's page (vector 08h)
LAPIC	equ 0xfee00000
IOAPIC	equ 0xfec00000
PIT_1KHZ equ 1193
ITER	equ 500			; spinlock rounds per CPU
POLLS	equ 4000000		; polls before a wait gives up

L_ID	equ 0x020
L_TPR	equ 0x080
L_EOI	equ 0x0b0
L_LDR	equ 0x0d0
L_DFR	equ 0x0e0
L_SVR	equ 0x0f0
L_ICR	equ 0x300
L_ICRHI	equ 0x310

; Shared data in RAM
COUNT	equ 0x3000		; APs that ran the trampoline
IDMASK	equ 0x3004		; bit n: APIC ID n reported
SHARED	equ 0x3008		; LOCK INC counter
LOCKW	equ 0x300c		; the spinlock
DONE	equ 0x3010		; APs done with the spinlock rounds
PHASE	equ 0x3014		; 0 while the first start-up runs the spinlock rounds
XCOUNT	equ 0x3018		; incremented under the spinlock only
IPI_CNT	equ 0x3100		; per APIC ID: fixed IPIs (vector 50h)
IOA_CNT	equ 0x3200		; per APIC ID: IOAPIC interrupts (vector 60h)
NMI_CNT	equ 0x3300		; per APIC ID: NMIs

%macro check 2 ; check <number>, <condition code that means success>
	j%2 %%ok
	mov al, %1
	jmp fail
%%ok:
%endmacro

%macro outb 2
	mov al, %2
	out %1, al
%endmacro

; send <ICR high>, <ICR low>: an IPI; check 11 that delivery status is idle.
%macro send 2
	mov dword [LAPIC + L_ICRHI], %1
	mov dword [LAPIC + L_ICR], %2
	test dword [LAPIC + L_ICR], 1 << 12
	check 11, z
%endmacro

; wait_for <address>, <value>: poll (with PAUSE) until the dword equals value;
; ZF set on success.
%macro wait_for 2
	mov ecx, POLLS
%%poll:	cmp dword [%1], %2
	je %%done
	pause
	dec ecx
	jnz %%poll
	cmp dword [%1], %2
%%done:
%endmacro

start:
	cli
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, STACK
	lgdt [cs:gdtr]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp dword 0x08:pm32

; The APs' way in: the trampoline at TRAMP jumps here (real mode, CS = F000h).
ap_entry:
	cli
	xor ax, ax
	mov ds, ax
	lgdt [cs:gdtr]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp dword 0x08:ap_pm32

	bits 32
pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov esp, STACK
	mov edi, 0x3000			; clear the shared data
	xor eax, eax
	mov ecx, 0x400 / 4
	rep stosd

	mov ecx, 0
.idt:	mov eax, ecx
	mov ebx, unexpected
	call set_gate
	inc ecx
	cmp ecx, 256
	jb .idt
	mov eax, 2
	mov ebx, nmi_isr
	call set_gate
	mov eax, 0x50
	mov ebx, ipi_isr
	call set_gate
	mov eax, 0x60
	mov ebx, ioa_isr
	call set_gate
	mov eax, 0xff
	mov ebx, spurious_isr
	call set_gate
	lidt [cs:idtr]

	; Both 8259s initialised and masked: only the APICs deliver.
	outb 0x20, 0x11
	outb 0x21, 0x20
	outb 0x21, 0x04
	outb 0x21, 0x01
	outb 0xa0, 0x11
	outb 0xa1, 0x28
	outb 0xa1, 0x02
	outb 0xa1, 0x01
	outb 0x21, 0xff
	outb 0xa1, 0xff

	; 1: the BSP flag and APIC ID 0.
	mov ecx, 0x1b
	rdmsr
	test eax, 1 << 8
	check 1, nz
	mov eax, [LAPIC + L_ID]
	shr eax, 24
	check 1, z
	mov dword [LAPIC + L_SVR], 0x1ff
	mov dword [LAPIC + L_DFR], 0xffffffff
	mov dword [LAPIC + L_LDR], 1 << 24
	sti

	; The trampoline: JMP F000:ap_entry at the STARTUP page.
	mov byte [TRAMP], 0xea
	mov word [TRAMP + 1], ap_entry
	mov word [TRAMP + 3], 0xf000

	; 2: INIT (all excluding self, edge, assert); nobody runs yet.
	send 0, 0x000c4500
	mov ecx, 20000
.idle:	pause
	dec ecx
	jnz .idle
	cmp dword [COUNT], 0
	check 2, e

	; 3: STARTUP twice (vector 08h); exactly three APs run.
	send 0, 0x000c4608
	wait_for COUNT, 3
	check 3, e
	send 0, 0x000c4608
	mov ecx, 20000
.idle2:	pause
	dec ecx
	jnz .idle2
	cmp dword [COUNT], 3
	check 3, e

	; 4: APIC IDs 1, 2, 3.
	cmp dword [IDMASK], 0x0e
	check 4, e

	; 5: the spinlock rounds on the BSP too, then every AP's.
	call spin_rounds
	wait_for DONE, 3
	check 5, e
	cmp dword [XCOUNT], 4 * ITER
	check 5, e
	cmp dword [SHARED], 4 * ITER
	check 5, e

	; 6: physical destination 2.
	send 2 << 24, 0x00004050
	wait_for IPI_CNT + 2 * 4, 1
	check 6, e
	mov eax, [IPI_CNT + 0 * 4]
	or eax, [IPI_CNT + 1 * 4]
	or eax, [IPI_CNT + 3 * 4]
	check 6, z

	; 7: logical flat destination 0Ah = APIC IDs 1 and 3.
	send 0x0a << 24, 0x00004850
	wait_for IPI_CNT + 1 * 4, 1
	check 7, e
	wait_for IPI_CNT + 3 * 4, 1
	check 7, e
	cmp dword [IPI_CNT + 2 * 4], 1
	check 7, e
	cmp dword [IPI_CNT + 0 * 4], 0
	check 7, e

	; 8: the BSP in the cluster model, cluster 2, member bit 0.
	mov dword [LAPIC + L_DFR], 0x0fffffff
	mov dword [LAPIC + L_LDR], 0x21 << 24
	send 0x31 << 24, 0x00004850	; cluster 3: nobody (the APs are flat: 31h & LDR = 0)
	send 0x21 << 24, 0x00004850	; cluster 2, member 1: the BSP
	send 0xf1 << 24, 0x00004850	; every cluster, member 1: the BSP
	wait_for IPI_CNT + 0 * 4, 2
	check 8, e
	mov dword [LAPIC + L_DFR], 0xffffffff
	mov dword [LAPIC + L_LDR], 1 << 24
	mov eax, [IPI_CNT + 1 * 4]
	add eax, [IPI_CNT + 2 * 4]
	add eax, [IPI_CNT + 3 * 4]
	cmp eax, 3
	check 8, e

	; 9: all excluding self.
	send 0, 0x000c4050
	wait_for IPI_CNT + 1 * 4, 2
	check 9, e
	wait_for IPI_CNT + 2 * 4, 2
	check 9, e
	wait_for IPI_CNT + 3 * 4, 2
	check 9, e
	cmp dword [IPI_CNT + 0 * 4], 2
	check 9, e

	; 10: all including self, then self.
	send 0, 0x00084050
	wait_for IPI_CNT + 0 * 4, 3
	check 10, e
	wait_for IPI_CNT + 1 * 4, 3
	check 10, e
	wait_for IPI_CNT + 2 * 4, 3
	check 10, e
	wait_for IPI_CNT + 3 * 4, 3
	check 10, e
	send 0, 0x00044050
	wait_for IPI_CNT + 0 * 4, 4
	check 10, e
	mov eax, [IPI_CNT + 1 * 4]
	add eax, [IPI_CNT + 2 * 4]
	add eax, [IPI_CNT + 3 * 4]
	cmp eax, 9
	check 10, e

	; 12: IOAPIC pin 2 (the PIT) -> APIC ID 3, fixed, physical, vector 60h.
	mov dword [IOAPIC], 0x15
	mov dword [IOAPIC + 0x10], 3 << 24
	mov dword [IOAPIC], 0x14
	mov dword [IOAPIC + 0x10], 0x60
	outb 0x43, 0x34
	outb 0x40, PIT_1KHZ & 0xff
	outb 0x40, PIT_1KHZ >> 8
	wait_for IOA_CNT + 3 * 4, 3
	check 12, e
	mov eax, [IOA_CNT + 0 * 4]
	or eax, [IOA_CNT + 1 * 4]
	or eax, [IOA_CNT + 2 * 4]
	check 12, z

	; 13: lowest priority to logical 06h (APIC IDs 1 and 2).
	mov dword [IOAPIC], 0x15
	mov dword [IOAPIC + 0x10], 0x06 << 24
	mov dword [IOAPIC], 0x14
	mov dword [IOAPIC + 0x10], 0x60 | (1 << 8) | (1 << 11)
	mov esi, [IOA_CNT + 3 * 4]
	mov ecx, POLLS
.lp:	mov eax, [IOA_CNT + 1 * 4]
	add eax, [IOA_CNT + 2 * 4]
	cmp eax, 3
	jae .lp_ok
	pause
	dec ecx
	jnz .lp
	mov al, 13
	jmp fail
.lp_ok:	mov dword [IOAPIC], 0x14
	mov dword [IOAPIC + 0x10], 0x10000	; masked
	mov eax, [IOA_CNT + 3 * 4]
	sub eax, esi
	cmp eax, 1			; one in flight when the entry changed, at most
	check 13, be
	cmp dword [IOA_CNT + 0 * 4], 0
	check 13, e

	; 14: NMI to APIC ID 1.
	send 1 << 24, 0x00004400
	wait_for NMI_CNT + 1 * 4, 1
	check 14, e
	mov eax, [NMI_CNT + 0 * 4]
	or eax, [NMI_CNT + 2 * 4]
	or eax, [NMI_CNT + 3 * 4]
	check 14, z

	; 15: INIT to APIC ID 2: it waits for SIPI and takes no fixed IPI.
	mov dword [PHASE], 1
	send 2 << 24, 0x00004500
	send 2 << 24, 0x00004050
	mov ecx, 20000
.idle3:	pause
	dec ecx
	jnz .idle3
	cmp dword [IPI_CNT + 2 * 4], 3
	check 15, e
	send 2 << 24, 0x00004608
	wait_for COUNT, 4
	check 15, e
	send 2 << 24, 0x00004050	; running again, its APIC enabled again
	wait_for IPI_CNT + 2 * 4, 4
	check 15, e

	; Report the CPUs by APIC ID.
	cli
	mov esi, cpus_msg
	call puts
	or dword [IDMASK], 1
	xor ecx, ecx
.ids:	bt dword [IDMASK], ecx
	jnc .next
	mov al, ' '
	out 0xe9, al
	mov al, cl
	add al, '0'
	out 0xe9, al
.next:	inc ecx
	cmp ecx, 8
	jb .ids
	mov al, 10
	out 0xe9, al
	mov esi, pass_msg
	call puts
	mov al, 0
	out 0xf4, al
	hlt

; An AP in protected mode: its stack by APIC ID, report, then (first start-up
; only) the spinlock rounds, then halt with interrupts on.
ap_pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov ebx, [LAPIC + L_ID]
	shr ebx, 24
	mov esp, ebx
	shl esp, 12
	add esp, AP_STACKS + 0x1000
	lidt [cs:idtr]
	lock inc dword [COUNT]
	lock bts dword [IDMASK], ebx
	mov ecx, ebx			; flat logical ID: bit (APIC ID) of LDR[31:24]
	mov eax, 1 << 24
	shl eax, cl
	mov dword [LAPIC + L_DFR], 0xffffffff
	mov [LAPIC + L_LDR], eax
	mov dword [LAPIC + L_TPR], 0
	mov dword [LAPIC + L_SVR], 0x1ff
	cmp dword [PHASE], 0
	jne .halt
	call spin_rounds
	lock inc dword [DONE]
.halt:	sti
.h:	hlt
	jmp .h

; ITER rounds: under the spinlock, read XCOUNT, PAUSE (fugu lets the other
; CPUs run then), write it back incremented; then LOCK INC SHARED.
spin_rounds:
	mov ecx, ITER
.round:
.try:	lock bts dword [LOCKW], 0
	jnc .got
.spin:	pause
	test dword [LOCKW], 1
	jnz .spin
	jmp .try
.got:	mov eax, [XCOUNT]
	pause
	inc eax
	mov [XCOUNT], eax
	mov dword [LOCKW], 0		; a store releases (x86 ordering)
	lock inc dword [SHARED]
	dec ecx
	jnz .round
	ret

fail:
	cli
	mov bl, al
	mov esi, fail_msg
	call puts
	report_number_and_exit
	hlt

; Each handler counts per APIC ID (read from the CPU's own APIC page).
ipi_isr:
	push ebx
	mov ebx, [LAPIC + L_ID]
	shr ebx, 24
	lock inc dword [IPI_CNT + ebx * 4]
	mov dword [LAPIC + L_EOI], 0
	pop ebx
	iretd

ioa_isr:
	push ebx
	mov ebx, [LAPIC + L_ID]
	shr ebx, 24
	lock inc dword [IOA_CNT + ebx * 4]
	mov dword [LAPIC + L_EOI], 0
	pop ebx
	iretd

nmi_isr:				; no EOI for an NMI (10.8.5)
	push ebx
	mov ebx, [LAPIC + L_ID]
	shr ebx, 24
	lock inc dword [NMI_CNT + ebx * 4]
	pop ebx
	iretd

spurious_isr:
	iretd

unexpected:
	mov al, 99
	jmp fail

; set_gate: IDT[eax] = 32-bit interrupt gate to 0x08:ebx.
set_gate:
	lea edi, [IDT + eax * 8]
	mov edx, ebx
	and edx, 0xffff
	or edx, 0x08 << 16
	mov [edi], edx
	mov edx, ebx
	and edx, 0xffff0000
	or edx, 0x8e00
	mov [edi + 4], edx
	ret

; puts: print the NUL-terminated string at CS:ESI to port 0xe9.
puts:
.next:	cs lodsb
	test al, al
	jz .done
	out 0xe9, al
	jmp .next
.done:	ret

	align 8
gdt:	dq 0
	dw 0xffff, 0x0000, 0x9a0f, 0x00cf	; 0x08 code, base BASE
	dw 0xffff, 0x0000, 0x9200, 0x00cf	; 0x10 data, flat
gdt_end:
gdtr:	dw gdt_end - gdt - 1
	dd BASE + gdt
idtr:	dw 0x7ff
	dd IDT

cpus_msg: db "smp: cpus", 0
pass_msg: db "smp: PASS", 10, 0
fail_msg: db "smp: FAIL ", 0

	times 0xfff0 - ($ - $$) db 0xff
	bits 16
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
