; fugu guest test: a run that ends in a triple fault, for -run-summary. It
; sends "fugu\n" out of COM1 (5 bytes), loads recognisable registers, then
; empties the real-mode IDT (limit 0) and executes INT3: the vector is beyond
; the limit (#GP), so is #GP's (#DF), and so is #DF's: the CPU shuts down
; (SDM vol. 3A, 6.15, interrupt 8; 20.1.4 for the real-mode IDT limit check).
	bits 16
	org 0

COM1 equ 0x3f8

start:
	cli
	xor ax, ax
	mov ss, ax
	mov sp, 0x7c00
	mov ax, cs
	mov ds, ax
	mov si, message
	mov dx, COM1
.next:	lodsb
	test al, al
	jz .done
	out dx, al
	jmp .next
.done:
	mov eax, 0x12345678
	mov ebx, 0x9abcdef0
	lidt [idt0]
	int3
.hang:	hlt
	jmp .hang

message: db "fugu", 10, 0
idt0:	dw 0
	dd 0

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
