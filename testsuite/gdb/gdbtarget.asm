; fugu GDB stub test target: a real-mode ROM that copies its work routine to RAM
; at 0000:7000 and runs it there, so RIP equals the linear address (gdb's
; breakpoints are linear, its PC is RIP: they agree when CS base is 0). The
; routine counts in memory, stores BX to a watched word, prints AX and BX in hex
; on the debug console (port 0xe9) and exits through isa-debug-exit with 0x21.
	bits 16
	org 0

start:
	cli
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7c00
	mov word [0x500], 0
	mov word [0x600], 0
	mov es, ax
	mov ax, cs
	mov ds, ax
	mov si, work
	mov di, 0x7000
	mov cx, work_end - work
	cld
	rep movsb
	xor ax, ax
	mov ds, ax
	jmp 0:0x7000

work:					; 7000h: the test's breakpoint
	inc word [0x500]		; 7000h, 4 bytes
	mov ax, 0x1234			; 7004h
	mov bx, 0x5678			; 7007h
	nop				; 700Ah
	mov [0x600], bx			; 700Bh: the watched store
	add ax, bx			; 700Fh
	call print_hex			; AX
	mov ax, bx
	call print_hex			; BX
	mov al, 10
	out 0xe9, al
	mov al, 0x21
	out 0xf4, al
.hang:	hlt
	jmp .hang

; print_hex: AX as four hex digits on port 0xe9.
print_hex:
	push cx
	mov cx, 4
.digit:	rol ax, 4
	push ax
	and al, 0x0f
	add al, '0'
	cmp al, '9'
	jbe .out
	add al, 'a' - '0' - 10
.out:	out 0xe9, al
	pop ax
	loop .digit
	mov al, ' '
	out 0xe9, al
	pop cx
	ret
work_end:

	times 0xfff0 - ($ - $$) db 0xff
reset_vector:
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
