; fugu benchmark guest: idle in HLT with a 100 Hz PIT interrupt, forever.
; A reset-vector ROM; the IRQ0 handler only counts and acknowledges.
	bits 16
	org 0

start:
	cli
	xor ax, ax
	mov ss, ax
	mov sp, 0x7c00
	mov ds, ax
	mov word [0x08 * 4], irq0
	mov [0x08 * 4 + 2], cs
	mov al, 0x11		; 8259A: ICW1-ICW4, master at vector 0x08
	out 0x20, al
	mov al, 0x08
	out 0x21, al
	mov al, 0x04
	out 0x21, al
	mov al, 0x01
	out 0x21, al
	mov al, 0xfe		; IRQ0 only
	out 0x21, al
	mov al, 0x34		; 8254 counter 0, mode 2, 100 Hz
	out 0x43, al
	mov ax, 11932
	out 0x40, al
	mov al, ah
	out 0x40, al
	sti
.idle:	hlt
	jmp .idle

irq0:
	push ax
	inc word [0x500]
	mov al, 0x20
	out 0x20, al
	pop ax
	iret

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
