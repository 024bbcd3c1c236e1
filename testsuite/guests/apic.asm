; fugu guest test: fw_cfg, the local APIC and the IOAPIC from the reset vector.
; Real mode: the fw_cfg signature and RAM size (QEMU docs/specs/fw_cfg.rst).
; 32-bit protected mode with an IDT, the 8259s masked: the local APIC's
; version, a self IPI and its TPR masking (SDM vol. 3A, 10.6.1, 10.8.3.1); the
; PIT at 100 Hz routed through IOAPIC pin 2 (the IRQ0 override; 82093AA 3.2.4);
; the APIC timer calibrated against the PIT in one-shot mode, then in periodic
; mode at one interrupt per PIT tick, counted against the PIT (10.5.4). The
; first failure prints "apic: FAIL n" and exits with n; success prints
; "apic: PASS" and exits with 0 (fugu status 1).
%include "report.mac"
	bits 16
	org 0

BASE	equ 0xf0000		; linear address of this ROM; CS base points here
IDT	equ 0x1000
STACK	equ 0x9000
LAPIC	equ 0xfee00000
IOAPIC	equ 0xfec00000
RAM_SIZE equ 128 << 20		; fugu's default -m
PIT_100HZ equ 11932		; 1193182 Hz / 100

; LAPIC registers
L_VER	equ 0x030
L_TPR	equ 0x080
L_EOI	equ 0x0b0
L_SVR	equ 0x0f0
L_ICR	equ 0x300
L_TIMER	equ 0x320
L_LINT0	equ 0x350
L_INIT	equ 0x380
L_CUR	equ 0x390
L_DIV	equ 0x3e0

V_PIT	equ 0x500		; PIT interrupts (IOAPIC pin 2)
V_TMR	equ 0x504		; APIC timer interrupts
V_IPI	equ 0x508		; self IPIs

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

start:
	cli
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7000

	; 1: fw_cfg key 0x0000 reads "QEMU".
	mov dx, 0x510
	xor ax, ax
	out dx, ax
	inc dx
	xor ebx, ebx
	mov cx, 4
.sig:	in al, dx
	shl ebx, 8
	mov bl, al
	loop .sig
	cmp ebx, 'UMEQ'		; "QEMU" read first-to-last into the low byte
	check 1, e
	; 2: key 0x0003, the RAM size, 64-bit little-endian.
	dec dx
	mov ax, 3
	out dx, ax
	inc dx
	xor ebx, ebx
	mov cx, 4
.ram:	in al, dx
	ror ebx, 8
	or bl, al
	loop .ram
	ror ebx, 8
	cmp ebx, RAM_SIZE
	check 2, e
	in al, dx
	mov ah, al
	in al, dx
	or ah, al
	check 2, z

	lgdt [cs:gdtr]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp dword 0x08:pm32

	bits 32
pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov esp, STACK
	xor eax, eax
	mov [V_PIT], eax
	mov [V_TMR], eax
	mov [V_IPI], eax

	; IDT: every vector to `unexpected`, then the three interrupt handlers.
	mov ecx, 0
.idt:	mov eax, ecx
	mov ebx, unexpected
	call set_gate
	inc ecx
	cmp ecx, 256
	jb .idt
	mov eax, 0x40
	mov ebx, timer_isr
	call set_gate
	mov eax, 0x50
	mov ebx, ipi_isr
	call set_gate
	mov eax, 0x60
	mov ebx, pit_isr
	call set_gate
	mov eax, 0xff
	mov ebx, spurious_isr
	call set_gate
	lidt [cs:idtr]

	; The 8259s: vectors 0x20/0x28, every input masked.
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

	; 3: the local APIC: version 0x14, max LVT entry 5; software-enable it
	; with spurious vector 0xff, LINT0 masked.
	cmp dword [LAPIC + L_VER], 0x00050014
	check 3, e
	mov dword [LAPIC + L_SVR], 0x1ff
	mov dword [LAPIC + L_LINT0], 0x10700
	sti

	; 4: a self IPI (shorthand self, fixed, vector 0x50) is taken at once.
	mov dword [LAPIC + L_ICR], 0x40050
	nop
	cmp dword [V_IPI], 1
	check 4, e
	; 5: with TPR class 5 it is held; lowering the TPR delivers it.
	mov dword [LAPIC + L_TPR], 0x50
	mov dword [LAPIC + L_ICR], 0x40050
	nop
	cmp dword [V_IPI], 1
	check 5, e
	mov dword [LAPIC + L_TPR], 0
	nop
	cmp dword [V_IPI], 2
	check 5, e

	; 6: the IOAPIC: version 0x11 with 24 entries; pin 2 (ISA IRQ0) to
	; vector 0x60, fixed, physical destination 0, edge, unmasked.
	mov dword [IOAPIC], 0x01
	cmp dword [IOAPIC + 0x10], 0x00170011
	check 6, e
	mov dword [IOAPIC], 0x15
	mov dword [IOAPIC + 0x10], 0
	mov dword [IOAPIC], 0x14
	mov dword [IOAPIC + 0x10], 0x60
	; The PIT at 100 Hz (slow enough that a busy host rarely makes the run loop
	; miss a tick in realtime mode).
	outb 0x43, 0x34
	outb 0x40, PIT_100HZ & 0xff
	outb 0x40, PIT_100HZ >> 8
	; 7: PIT interrupts arrive through the IOAPIC.
	mov ebx, 2
	call wait_ticks
	cmp dword [V_PIT], 2
	check 7, ae

	; 8: calibrate: the APIC timer in one-shot mode, masked, divide by 16,
	; counting down from 0xffffffff for 5 PIT ticks.
	mov dword [LAPIC + L_DIV], 0x3
	mov dword [LAPIC + L_TIMER], 0x10040
	mov ebx, 1
	call wait_ticks
	mov dword [LAPIC + L_INIT], 0xffffffff
	mov ebx, 5
	call wait_ticks
	mov eax, 0xffffffff
	sub eax, [LAPIC + L_CUR]
	xor edx, edx
	mov ecx, 5
	div ecx				; APIC timer ticks per PIT tick
	cmp eax, 100
	check 8, a
	cmp dword [V_TMR], 0		; masked: no interrupt
	check 8, e

	; 9: periodic at that count: as many APIC timer interrupts as PIT ticks
	; (25, within 10: the run loop may be late on a busy host in realtime mode,
	; and each timer then coalesces its missed expiries on its own; a test run
	; of 2 cores shared by several builds was seen 4 apart).
	mov esi, eax
	mov ebx, 1
	call wait_ticks
	mov dword [LAPIC + L_TIMER], 0x20040
	mov [LAPIC + L_INIT], esi
	mov dword [V_TMR], 0
	mov ebx, 25
	call wait_ticks
	mov eax, [V_TMR]
	cmp eax, 15
	check 9, ae
	cmp eax, 35
	check 9, be
	; 10: the current count stays within the period.
	cmp [LAPIC + L_CUR], esi
	check 10, be

	cli
	mov esi, pass_msg
	call puts
	mov al, 0
	out 0xf4, al
	hlt

; wait_ticks: wait until ebx more PIT interrupts have arrived.
wait_ticks:
	add ebx, [V_PIT]
.w:	hlt
	cmp [V_PIT], ebx
	jb .w
	ret

fail:
	cli
	mov bl, al
	mov esi, fail_msg
	call puts
	report_number_and_exit
	hlt

timer_isr:
	inc dword [V_TMR]
	mov dword [LAPIC + L_EOI], 0
	iretd

ipi_isr:
	inc dword [V_IPI]
	mov dword [LAPIC + L_EOI], 0
	iretd

pit_isr:
	inc dword [V_PIT]
	mov dword [LAPIC + L_EOI], 0
	iretd

spurious_isr:				; no EOI for the spurious vector (10.9)
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

pass_msg: db "apic: PASS", 10, 0
fail_msg: db "apic: FAIL ", 0

	times 0xfff0 - ($ - $$) db 0xff
	bits 16
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
