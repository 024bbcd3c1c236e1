; fugu hostile guest: a triple-fault loop. An IDT limit of 0 makes INT 3 in
; real mode fault beyond the IDT (#GP, then #DF, then shutdown: SDM vol. 3A,
; 20.1.4 and 6.15 "Interrupt 8"); without -no-reboot the board resets and the
; ROM does it again. The register dump on stderr must not grow without bound.
	bits 16
	org 0
start:
	cli
	lidt [cs:idtr]
	int3
	jmp start
idtr:	dw 0
	dd 0

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
