; fugu guest: serial and keyboard input for record/replay
; (testsuite/guests/check_replay.py). From the reset vector: COM1 at 115200 8N1
; with FIFOs, "ready" on the debug console, then poll the 8042's status and
; COM1's line status register (a 5000-instruction pause between polls): each
; keyboard byte prints 'k', each received serial byte is echoed, both folded
; into a checksum in EBX, until a 'q' on COM1; then the checksum in hex and
; exit through isa-debug-exit (status 1). A 4 KiB ROM at 0xFFFFF000.
	bits 16
	org 0xf000

start:
	cli
	mov dx, 0x3fb
	mov al, 0x80		; DLAB: divisor 1
	out dx, al
	mov dx, 0x3f8
	mov al, 1
	out dx, al
	inc dx
	xor al, al
	out dx, al
	mov dx, 0x3fb
	mov al, 0x03		; 8N1
	out dx, al
	mov dx, 0x3fa
	mov al, 0x07		; FIFOs on and cleared
	out dx, al
	mov si, ready
.msg:
	cs lodsb
	test al, al
	jz .msg_done
	out 0xe9, al
	jmp .msg
.msg_done:
	xor ebx, ebx
.poll:
	mov cx, 2500		; pause: LOOP twice per count
.pause:
	nop
	loop .pause
	in al, 0x64		; 8042 status: OBF
	test al, 1
	jz .serial
	in al, 0x60
	movzx eax, al
	imul ebx, ebx, 31
	add ebx, eax
	mov al, 'k'
	out 0xe9, al
.serial:
	mov dx, 0x3fd
	in al, dx
	test al, 1		; LSR.DR
	jz .poll
	mov dx, 0x3f8
	in al, dx
	out 0xe9, al
	movzx eax, al
	imul ebx, ebx, 31
	add ebx, eax
	cmp al, 'q'
	jne .poll
	mov al, 10
	out 0xe9, al
	mov cx, 8		; EBX in hex
.hex:
	rol ebx, 4
	mov al, bl
	and al, 0x0f
	add al, '0'
	cmp al, '9'
	jbe .digit
	add al, 'a' - '0' - 10
.digit:
	out 0xe9, al
	loop .hex
	mov al, 10
	out 0xe9, al
	xor al, al
	out 0xf4, al		; isa-debug-exit: status 1
	hlt

ready:	db "ready", 10, 0

	times 0xff0 - ($ - $$) db 0
	jmp start		; the reset vector, F000:FFF0
	times 0x1000 - ($ - $$) db 0
