; fugu benchmark guest: a boot sector that ends the run at once, so the time
; from reset to here is the firmware's (SeaBIOS) time to reach the boot sector.
; isa-debug-exit for fugu and QEMU (value 0: status 1).
	bits 16
	org 0x7c00
	mov al, 0
	out 0xf4, al
	cli
.h:	hlt
	jmp .h
	times 510 - ($ - $$) db 0
	dw 0xaa55
	times 1024 * 1024 - ($ - $$) db 0	; a 1 MiB disk
