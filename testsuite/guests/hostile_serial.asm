; fugu hostile guest: COM1 transmits forever, as a polling driver does (wait
; for LSR bit 5 THRE, then write THR: PC16550D 8.8). Whoever reads fugu's
; serial output may stop reading; fugu must go on, and end at -timeout.
	bits 16
	org 0
start:
	cli
.next:	mov dx, 0x3fd
.busy:	in al, dx
	test al, 0x20
	jz .busy
	mov dx, 0x3f8
	mov al, 'x'
	out dx, al
	jmp .next

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
