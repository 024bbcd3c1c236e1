; fugu guest test: the smallest BIOS-sized ROM.
; It starts at the reset vector (F000:FFF0, SDM vol. 3A, 9.1.4), far-jumps into
; the copy of the ROM aliased below 1 MiB, sets up a stack in RAM, prints a line
; to the debug console (port 0xe9) with a subroutine, and exits through
; isa-debug-exit (port 0xf4) with the value 0x21: fugu exits with (0x21 << 1) | 1 = 67.
	bits 16
	org 0

start:
	cli
	xor ax, ax
	mov ss, ax
	mov sp, 0x7c00
	mov ax, cs
	mov ds, ax
	mov si, message
	call puts
	mov al, 0x21
	out 0xf4, al
.hang:	hlt
	jmp .hang

; puts: print the NUL-terminated string at DS:SI to port 0xe9.
puts:
	push ax
.next:	lodsb
	test al, al
	jz .done
	out 0xe9, al
	jmp .next
.done:	pop ax
	ret

message: db "Hello from fugu", 10, 0

	times 0xfff0 - ($ - $$) db 0xff
reset_vector:
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
