; fugu guest test: far transfers for the instruction trace (check_farxfer.py).
; Real mode from the reset vector: a far JMP, far CALL, far RET, INT and IRET,
; each changing the CS base (F000 -> F100 -> F200 -> F100 -> F300 -> F100), then
; protected mode through a far JMP from 16-bit code into a flat 32-bit segment.
; Each of them sits at a fixed address so the checker knows what it must see:
; the bytes and disassembly of the instruction as executed, decoded from the
; old CS base in the old mode. The padding is INT3 (CC), what a trace that read
; the bytes back from the new CS base would show. Prints "farxfer: PASS" and
; exits with 0 (fugu status 1).
	bits 16
	org 0

ROM	equ 0xf0000		; linear address of this ROM
GDT	equ 0x0800

start:
	cli
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, 0x7000
	mov word [0x40 * 4], int_handler - 0x3000	; INT 0x40 -> F300:1200
	mov word [0x40 * 4 + 2], 0xf300
	mov si, gdt
	mov di, GDT
	mov cx, gdt_end - gdt
	cld
	cs rep movsb
	lgdt [cs:gdtr]
	jmp t_jmp

	times 0x2000 - ($ - $$) db 0xcc
t_jmp:	jmp 0xf100:t_call - 0x1000	; F000:2000 -> F100:1005
t_call:	call 0xf200:far_fn - 0x2000	; F100:1005 -> F200:1100
t_int:	int 0x40			; F100:100A -> F300:1200
	mov eax, cr0
	or al, 1
	mov cr0, eax
t_pm:	jmp dword 0x08:ROM + pm32	; F100:1014, 16-bit protected mode -> 0008:F5000

	times 0x3100 - ($ - $$) db 0xcc
far_fn:	retf				; F200:1100 -> F100:100A

	times 0x4200 - ($ - $$) db 0xcc
int_handler:
	iret				; F300:1200 -> F100:100C

	times 0x5000 - ($ - $$) db 0xcc
	bits 32
pm32:	mov ax, 0x10			; 0008:F5000, 32-bit code
	mov ds, ax
	mov esi, ROM + pass_msg
.next:	lodsb
	test al, al
	jz .done
	out 0xe9, al
	jmp .next
.done:	mov al, 0
	out 0xf4, al
	hlt

pass_msg: db "farxfer: PASS", 10, 0

	align 8
gdt:	dq 0
	dw 0xffff, 0x0000, 0x9a00, 0x00cf	; 0x08 code, 32-bit flat
	dw 0xffff, 0x0000, 0x9200, 0x00cf	; 0x10 data, flat
gdt_end:
gdtr:	dw gdt_end - gdt - 1
	dd GDT

	times 0xfff0 - ($ - $$) db 0xff
	bits 16
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
