; fugu guest test: the HPET (IA-PC HPET specification 1.0a) from 32-bit
; protected mode: the capabilities (2.3.4), a halted then running main counter
; checked against the ACPI PM timer (100 MHz: 1,000,000 counts per 35,795 PM
; ticks), a one-shot edge interrupt routed to IOAPIC pin 20 that does not
; repeat, a periodic timer 0 in legacy replacement mode on IRQ0 through the
; 8259 (set up as Linux does, in 32-bit mode) whose comparator advances by
; exactly the period each interrupt while
; the PIT (at 10 kHz) is cut off, the PIT back on IRQ0 without it, timer 1 on
; IRQ8 level-triggered with its status bit (2.3.6), 32-bit mode (2.3.9.2.4), a
; periodic comparator advancing without interrupts, and writes to the halted
; counter. Without an HPET (-no-hpet) it prints "hpet: absent".
; "hpet: PASS" and exit 0 (fugu status 1), or "hpet: FAIL n".
%include "report.mac"
	bits 16
	org 0

BASE	equ 0xf0000
IDT	equ 0x1000
STACK	equ 0x9000
LAPIC	equ 0xfee00000
IOAPIC	equ 0xfec00000
HPET	equ 0xfed00000
PMBASE	equ 0xb000
L_EOI	equ 0x0b0
L_SVR	equ 0x0f0
L_LINT0	equ 0x350

GCAP	equ HPET + 0x000
GCONF	equ HPET + 0x010
GSTA	equ HPET + 0x020
COUNT	equ HPET + 0x0f0
T0CONF	equ HPET + 0x100
T0CMP	equ HPET + 0x108
T1CONF	equ HPET + 0x120
T1CMP	equ HPET + 0x128
T2CONF	equ HPET + 0x140
T2CMP	equ HPET + 0x148

PERIOD	equ 100000		; 1 ms in 10 ns counts

V_IRQ0	equ 0x500		; IRQ0 interrupts (8259)
V_PIN20	equ 0x504		; IOAPIC pin 20 interrupts
V_IRQ8	equ 0x508		; IRQ8 interrupts (8259)
V_CNT	equ 0x50c		; main counter at the last pin-20 interrupt
V_CMPS	equ 0x510		; timer 0's comparator at each IRQ0 (16 dwords)
V_STA	equ 0x560		; GINTR_STA in the IRQ8 handler
V_STA2	equ 0x564		; and after its write-1-to-clear

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
	mov edi, 0x500
	mov ecx, 0x40
	rep stosd

	; No HPET: the block reads all ones.
	cmp dword [GCAP], 0xffffffff
	jne .present
	mov esi, absent_msg
	call puts
	mov al, 0
	out 0xf4, al
	hlt
.present:
	; 1: GCAP_ID: vendor 8086h, LEG_RT_CAP, 64-bit, 3 timers, rev 1; 10 ns.
	cmp dword [GCAP], 0x8086a201
	check 1, e
	cmp dword [GCAP + 4], 10000000
	check 1, e
	; 2: halted at reset: the counter is 0 and stays there.
	cmp dword [COUNT], 0
	check 2, e
	cmp dword [COUNT + 4], 0
	check 2, e
	cmp dword [GCONF], 0
	check 2, e
	; 3: Tn_CONF: periodic- and 64-bit-capable, routes 16-23; comparator all ones.
	cmp dword [T0CONF], 0x30
	check 3, e
	cmp dword [T0CONF + 4], 0x00ff0000
	check 3, e
	cmp dword [T2CMP], 0xffffffff
	check 3, e
	cmp dword [T2CMP + 4], 0xffffffff
	check 3, e

	; IDT, 8259s (vectors 0x20/0x28, all masked), local APIC with LINT0 ExtINT.
	mov ecx, 0
.idt:	mov eax, ecx
	mov ebx, unexpected
	call set_gate
	inc ecx
	cmp ecx, 256
	jb .idt
	mov eax, 0x20
	mov ebx, irq0_isr
	call set_gate
	mov eax, 0x28
	mov ebx, irq8_isr
	call set_gate
	mov eax, 0x27
	mov ebx, spurious_isr
	call set_gate
	mov eax, 0x2f
	mov ebx, spurious_isr
	call set_gate
	mov eax, 0x62
	mov ebx, pin20_isr
	call set_gate
	mov eax, 0xff
	mov ebx, spurious_isr
	call set_gate
	lidt [cs:idtr]
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
	mov dword [LAPIC + L_SVR], 0x1ff
	mov dword [LAPIC + L_LINT0], 0x700
	; The PM timer (PIIX4 PMBA, 00:01.3).
	mov eax, 0x80000b40
	mov ecx, PMBASE | 1
	call pci_write
	mov eax, 0x80000b80
	mov ecx, 1
	call pci_write

	; 4: running, it counts 1,000,000 per 35,795 PM timer ticks (10 ms), +-1000.
	mov dword [GCONF], 1
	mov dx, PMBASE + 8
	in eax, dx
	mov ebx, eax
	mov esi, [COUNT]
.pm:	in eax, dx
	sub eax, ebx
	and eax, 0xffffff
	cmp eax, 35795
	jb .pm
	mov eax, [COUNT]
	sub eax, esi
	cmp eax, 1000000 - 1000
	check 4, a
	cmp eax, 1000000 + 1000
	check 4, b
	sti

	; 5: timer 2 one-shot, edge, to IOAPIC pin 20 (vector 0x62), 1 ms ahead:
	; one interrupt, not before the comparator, and no second one.
	mov dword [IOAPIC], 0x10 + 2 * 20 + 1
	mov dword [IOAPIC + 0x10], 0
	mov dword [IOAPIC], 0x10 + 2 * 20
	mov dword [IOAPIC + 0x10], 0x62
	mov esi, [COUNT]
	add esi, PERIOD
	mov [T2CMP], esi
	mov dword [T2CMP + 4], 0
	mov dword [T2CONF], (20 << 9) | 0x4
.w5:	hlt
	cmp dword [V_PIN20], 0
	je .w5
	mov eax, [V_CNT]
	sub eax, esi
	cmp eax, PERIOD
	check 5, b			; at or just after the comparator
	mov ebx, 3
	call wait_ms
	cmp dword [V_PIN20], 1
	check 5, e
	mov dword [T2CONF], 0

	; The PIT at 10 kHz on IRQ0 (it must not be seen in legacy mode).
	outb 0x43, 0x34
	outb 0x40, 119
	outb 0x40, 0
	; 6: legacy replacement: timer 0 periodic every 1 ms on IRQ0 (8259):
	; Tn_VAL_SET_CNF, the comparator, then the period (as Linux writes them).
	mov dword [GCONF], 3
	mov dword [T0CONF], 0x14c	; 32-bit, periodic, enabled, VAL_SET
	mov eax, [COUNT]
	add eax, PERIOD
	mov [T0CMP], eax
	mov dword [T0CMP], PERIOD	; the period alone
	mov dword [V_IRQ0], 0
	outb 0x21, 0xfe			; IRQ0 only
.w6:	hlt
	cmp dword [V_IRQ0], 11
	jb .w6
	outb 0x21, 0xff
	; every interrupt found the comparator one period further
	mov ecx, 1
.cmps:	mov eax, [V_CMPS + ecx * 4]
	sub eax, [V_CMPS + ecx * 4 - 4]
	cmp eax, PERIOD
	check 6, e
	inc ecx
	cmp ecx, 11
	jb .cmps
	; 7: 10 ms of legacy IRQ0 gives 10 interrupts, never the PIT's 100.
	mov dword [V_IRQ0], 0
	outb 0x21, 0xfe
	mov ebx, 10
	call wait_ms
	outb 0x21, 0xff
	mov eax, [V_IRQ0]
	cmp eax, 9
	check 7, ae
	cmp eax, 11
	check 7, be
	; 8: without LEG_RT_CNF timer 0 (route 0, not capable) is silent and the
	; PIT has IRQ0 again (10 interrupts per ms; deterministic mode sees all).
	mov dword [GCONF], 1
	mov dword [V_IRQ0], 0
	outb 0x21, 0xfe
	mov ebx, 2
	call wait_ms
	outb 0x21, 0xff
	cmp dword [V_IRQ0], 0
	check 8, a
	mov dword [T0CONF], 0
	outb 0x43, 0x30			; PIT channel 0: one-shot, never reloaded
	outb 0x40, 0
	outb 0x40, 0

	; 9: legacy timer 1 on IRQ8, level-triggered: GINTR_STA bit 1 is set in
	; the handler, and its write-1-to-clear clears it.
	mov dword [GCONF], 3
	mov eax, [COUNT]
	add eax, PERIOD
	mov [T1CMP], eax
	mov dword [T1CMP + 4], 0
	mov dword [T1CONF], 0x6		; level, enabled, one-shot
	outb 0x21, 0xfb			; the cascade
	outb 0xa1, 0xfe			; IRQ8
.w9:	hlt
	cmp dword [V_IRQ8], 0
	je .w9
	outb 0x21, 0xff
	outb 0xa1, 0xff
	cmp dword [V_STA], 2
	check 9, e
	cmp dword [V_STA2], 0
	check 9, e
	cmp dword [V_IRQ8], 1
	check 9, e
	mov dword [T1CONF], 0
	mov dword [GCONF], 1

	; 10: 32-bit mode: the comparator keeps 32 bits.
	mov dword [T2CONF], 0x100
	mov dword [T2CMP], 0x1234
	mov dword [T2CMP + 4], 0x5678
	cmp dword [T2CMP], 0x1234
	check 10, e
	cmp dword [T2CMP + 4], 0
	check 10, e
	; 11: periodic without interrupts: the comparator still advances by the
	; period, staying ahead of the counter.
	mov dword [T2CONF], 0x48	; periodic, VAL_SET, 64-bit
	mov esi, [COUNT]
	add esi, 1000
	mov [T2CMP], esi
	mov dword [T2CMP + 4], 0
	mov dword [T2CMP], 1000
	mov ebx, 1
	call wait_ms
	mov eax, [T2CMP]
	mov ecx, [COUNT]
	cmp eax, ecx
	check 11, a
	sub eax, esi
	xor edx, edx
	mov ebx, 1000
	div ebx
	test edx, edx			; still a whole number of periods on
	check 11, z
	cmp eax, 99			; 1 ms = 100 periods
	check 11, ae
	mov dword [T2CONF], 0

	; 12: halted, the counter stands still and takes a 64-bit value.
	mov dword [GCONF], 0
	mov eax, [COUNT]
	nop
	cmp eax, [COUNT]
	check 12, e
	mov dword [COUNT], 0x9abcdef0
	mov dword [COUNT + 4], 0x12345678
	cmp dword [COUNT], 0x9abcdef0
	check 12, e
	cmp dword [COUNT + 4], 0x12345678
	check 12, e

	cli
	mov esi, pass_msg
	call puts
	mov al, 0
	out 0xf4, al
	hlt

; wait_ms: busy-wait ebx milliseconds on the PM timer (3579.545 ticks each).
wait_ms:
	push edx
	imul ebx, ebx, 3580
	mov dx, PMBASE + 8
	in eax, dx
	mov ecx, eax
.w:	in eax, dx
	sub eax, ecx
	and eax, 0xffffff
	cmp eax, ebx
	jb .w
	pop edx
	ret

; PCI configuration mechanism #1: address EAX, value ECX.
pci_write:
	mov dx, 0xcf8
	out dx, eax
	mov dx, 0xcfc
	mov eax, ecx
	out dx, eax
	ret

fail:
	cli
	mov bl, al
	mov esi, fail_msg
	call puts
	report_number_and_exit
	hlt

irq0_isr:
	push eax
	push ecx
	mov ecx, [V_IRQ0]
	cmp ecx, 16
	jae .skip
	mov eax, [T0CMP]
	mov [V_CMPS + ecx * 4], eax
.skip:	inc dword [V_IRQ0]
	mov al, 0x20
	out 0x20, al
	pop ecx
	pop eax
	iretd

irq8_isr:
	push eax
	inc dword [V_IRQ8]
	mov eax, [GSTA]
	mov [V_STA], eax
	mov dword [GSTA], 2
	mov eax, [GSTA]
	mov [V_STA2], eax
	mov al, 0x20
	out 0xa0, al
	out 0x20, al
	pop eax
	iretd

pin20_isr:
	push eax
	inc dword [V_PIN20]
	mov eax, [COUNT]
	mov [V_CNT], eax
	mov dword [LAPIC + L_EOI], 0
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

pass_msg: db "hpet: PASS", 10, 0
absent_msg: db "hpet: absent", 10, 0
fail_msg: db "hpet: FAIL ", 0

	times 0xfff0 - ($ - $$) db 0xff
	bits 16
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
