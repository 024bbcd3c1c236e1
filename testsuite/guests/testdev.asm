; fugu guest test: QEMU's pc-testdev (-device pc-testdev), as kvm-unit-tests
; drive it (QEMU hw/misc/pc-testdev.c is the reference):
; the scratch register at 0xe0-0xe3 through 1-, 2- and 4-byte IN/OUT at every
; offset, its byte-decoded alias at 0xe8-0xeb; the 64 KiB MMIO window at
; 0xff000000 (bytes, words, dwords, the last dword, nothing behind it); the
; IRQ-line ports: ISA IRQ 5 through the 8259 (edge, then level with the ELCR),
; ISA IRQ 10 and IOAPIC pin 20 (level, remote IRR) through the IOAPIC and the
; local APIC. With pc-testdev the debug console is at 0x402 only (0xe9 is the
; scratch alias): "testdev: PASS" and exit 0 (fugu status 1), or
; "testdev: FAIL n" and exit n.
	bits 16
	org 0

BASE	equ 0xf0000
IDT	equ 0x1000
STACK	equ 0x9000
LAPIC	equ 0xfee00000
IOAPIC	equ 0xfec00000
IOMEM	equ 0xff000000
L_EOI	equ 0x0b0
L_SVR	equ 0x0f0
L_LINT0	equ 0x350

V_PIC5	equ 0x500		; IRQ5 interrupts (8259)
V_APIC	equ 0x504		; IOAPIC interrupts, vector 0x60
V_PIN20	equ 0x508		; IOAPIC pin 20 interrupts, vector 0x61
V_RIRR	equ 0x50c		; pin 20's RTE low dword as its handler saw it

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

%macro irqline 2 ; irqline <n>, <level>
	mov dx, 0x2000 + %1
	mov al, %2
	out dx, al
%endmacro

start:
	cli
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7000
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
	mov [V_PIC5], eax
	mov [V_APIC], eax
	mov [V_PIN20], eax

	; 1: a dword written at 0xe0 reads back whole and byte by byte.
	mov eax, 0x12345678
	out 0xe0, eax
	xor eax, eax
	in eax, 0xe0
	cmp eax, 0x12345678
	check 1, e
	in al, 0xe0
	cmp al, 0x78
	check 1, e
	in al, 0xe3
	cmp al, 0x12
	check 1, e
	; 2: a word at 0xe1 is bytes 1-2.
	in ax, 0xe1
	cmp ax, 0x3456
	check 2, e
	mov ax, 0xbeef
	out 0xe1, ax
	in eax, 0xe0
	cmp eax, 0x12beef78
	check 2, e
	; 3: a byte at 0xe2 changes only byte 2.
	mov al, 0xab
	out 0xe2, al
	in eax, 0xe0
	cmp eax, 0x12abef78
	check 3, e
	; 4: 0xe8-0xeb is the same register, decoded by bytes.
	in eax, 0xe8
	cmp eax, 0x12abef78
	check 4, e
	mov ax, 0xcdcd
	out 0xe9, ax
	in eax, 0xe0
	cmp eax, 0x12cdcd78
	check 4, e
	in ax, 0xea
	cmp ax, 0x12cd
	check 4, e
	; 5: the flush-page port changes nothing.
	mov eax, 0x100000
	out 0xe4, eax
	in eax, 0xe0
	cmp eax, 0x12cdcd78
	check 5, e

	; 6: the MMIO window keeps what is written, at every width.
	mov dword [IOMEM], 0xa1b2c3d4
	cmp dword [IOMEM], 0xa1b2c3d4
	check 6, e
	cmp byte [IOMEM + 2], 0xb2
	check 6, e
	mov word [IOMEM + 1], 0x5566
	cmp dword [IOMEM], 0xa15566d4
	check 6, e
	; 7: its last dword; the page after the window is not the device.
	mov dword [IOMEM + 0xfffc], 0x0badcafe
	cmp dword [IOMEM + 0xfffc], 0x0badcafe
	check 7, e
	mov dword [IOMEM + 0x10000], 0x11111111
	cmp dword [IOMEM + 0x10000], 0xffffffff
	check 7, e
	; 8: a string copy out of the window (every access a device access).
	mov esi, IOMEM
	mov edi, 0x2000
	mov ecx, 1
	cld
	rep movsd
	cmp dword [0x2000], 0xa15566d4
	check 8, e

	; IDT: every vector to `unexpected`, then the handlers.
	mov ecx, 0
.idt:	mov eax, ecx
	mov ebx, unexpected
	call set_gate
	inc ecx
	cmp ecx, 256
	jb .idt
	mov eax, 0x25
	mov ebx, pic5_isr
	call set_gate
	mov eax, 0x27			; 8259 spurious IRQ7
	mov ebx, spurious_isr
	call set_gate
	mov eax, 0x60
	mov ebx, apic_isr
	call set_gate
	mov eax, 0x61
	mov ebx, pin20_isr
	call set_gate
	mov eax, 0xff
	mov ebx, spurious_isr
	call set_gate
	lidt [cs:idtr]

	; The 8259s: vectors 0x20/0x28, only IRQ5 unmasked. The local APIC
	; software-enabled with LINT0 as ExtINT (virtual wire: the 8259's path).
	outb 0x20, 0x11
	outb 0x21, 0x20
	outb 0x21, 0x04
	outb 0x21, 0x01
	outb 0xa0, 0x11
	outb 0xa1, 0x28
	outb 0xa1, 0x02
	outb 0xa1, 0x01
	outb 0x21, 0xdf
	outb 0xa1, 0xff
	mov dword [LAPIC + L_SVR], 0x1ff
	mov dword [LAPIC + L_LINT0], 0x700
	sti

	; 9: raising line 5 interrupts once (edge); holding it high does not
	; interrupt again; lowering and raising it does.
	irqline 5, 1
	nop
	cmp dword [V_PIC5], 1
	check 9, e
	nop
	nop
	cmp dword [V_PIC5], 1
	check 9, e
	irqline 5, 0
	irqline 5, 0x80			; any non-zero value raises it
	nop
	cmp dword [V_PIC5], 2
	check 9, e
	irqline 5, 0
	; 10: a word write to an IRQ-line port is ignored (byte writes only).
	mov dx, 0x2005
	mov ax, 1
	out dx, ax
	nop
	cmp dword [V_PIC5], 2
	check 10, e
	; 11: level-triggered (ELCR bit 5): the handler lowers the line, and one
	; interrupt is taken per raise.
	mov dx, 0x4d0
	mov al, 0x20
	out dx, al
	irqline 5, 1
	nop
	cmp dword [V_PIC5], 3
	check 11, e
	mov dx, 0x4d0
	mov al, 0
	out dx, al
	outb 0x21, 0xff			; all 8259 inputs masked

	; 12: ISA IRQ 10 through IOAPIC pin 10: vector 0x60, edge, to APIC 0.
	mov dword [IOAPIC], 0x10 + 2 * 10 + 1
	mov dword [IOAPIC + 0x10], 0
	mov dword [IOAPIC], 0x10 + 2 * 10
	mov dword [IOAPIC + 0x10], 0x60
	irqline 10, 1
	nop
	cmp dword [V_APIC], 1
	check 12, e
	irqline 10, 0
	irqline 10, 1
	nop
	cmp dword [V_APIC], 2
	check 12, e
	irqline 10, 0
	; 13: line 20 reaches IOAPIC pin 20 (no 8259 input): level-triggered,
	; remote IRR set while the handler runs (82093AA 3.2.4).
	mov dword [IOAPIC], 0x10 + 2 * 20 + 1
	mov dword [IOAPIC + 0x10], 0
	mov dword [IOAPIC], 0x10 + 2 * 20
	mov dword [IOAPIC + 0x10], 0x8061
	irqline 20, 1
	nop
	cmp dword [V_PIN20], 1
	check 13, e
	test dword [V_RIRR], 0x4000
	check 13, nz
	mov dword [IOAPIC], 0x10 + 2 * 20
	test dword [IOAPIC + 0x10], 0x4000	; EOI cleared it
	check 13, z
	; 14: lines 16-23 do not reach the 8259 (IRQ0-7 masked except none; the
	; 8259's IRR stays clear for them: read IRR after raising line 16).
	irqline 16, 1
	outb 0x20, 0x0a
	in al, 0x20
	test al, al
	check 14, z
	irqline 16, 0

	cli
	mov esi, pass_msg
	call puts
	mov al, 0
	out 0xf4, al
	hlt

fail:
	cli
	mov bl, al
	mov esi, fail_msg
	call puts
	mov al, bl
	aam				; AH = tens, AL = units
	add ax, 0x3030
	mov dx, 0x402
	xchg al, ah
	out dx, al
	mov al, ah
	out dx, al
	mov al, 10
	out dx, al
	mov al, bl
	out 0xf4, al
	hlt

pic5_isr:
	push eax
	push edx
	inc dword [V_PIC5]
	mov dx, 0x4d0
	in al, dx
	test al, 0x20
	jz .eoi
	irqline 5, 0			; level: drop the line before the EOI
.eoi:	outb 0x20, 0x20
	pop edx
	pop eax
	iretd

apic_isr:
	inc dword [V_APIC]
	mov dword [LAPIC + L_EOI], 0
	iretd

pin20_isr:
	push eax
	push edx
	inc dword [V_PIN20]
	mov dword [IOAPIC], 0x10 + 2 * 20
	mov eax, [IOAPIC + 0x10]
	mov [V_RIRR], eax
	irqline 20, 0
	mov dword [LAPIC + L_EOI], 0
	pop edx
	pop eax
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

; puts: print the NUL-terminated string at CS:ESI to port 0x402.
puts:
	mov dx, 0x402
.next:	cs lodsb
	test al, al
	jz .done
	out dx, al
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

pass_msg: db "testdev: PASS", 10, 0
fail_msg: db "testdev: FAIL ", 0

	times 0xfff0 - ($ - $$) db 0xff
	bits 16
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
