; fugu hostile guest: VBE modes enabled and disabled in a loop at 2560x1600x32
; (Bochs VBE ENABLE without NOCLEARMEM clears the mode's video memory, up to
; 16 MiB per OUT, QEMU vbe_ioport_write_data). -timeout must still end it.
	bits 16
	org 0
start:
	cli
	mov dx, 0x1ce
	mov ax, 1
	out dx, ax
	inc dx
	mov ax, 2560
	out dx, ax
	dec dx
	mov ax, 2
	out dx, ax
	inc dx
	mov ax, 1600
	out dx, ax
	dec dx
	mov ax, 3
	out dx, ax
	inc dx
	mov ax, 32
	out dx, ax
.loop:	mov dx, 0x1ce
	mov ax, 4
	out dx, ax
	inc dx
	mov ax, 1
	out dx, ax
	xor ax, ax
	out dx, ax
	jmp .loop
	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
