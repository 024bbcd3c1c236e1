; fugu hostile guest: the 8254 at its extremes (Intel 82C54 datasheet, "Mode
; definitions": a count of 0 is the maximum, 2^16; in modes 2 and 3 a count
; of 1 is illegal). Counter 0 is programmed in every mode 0-5 with counts 1
; and 0, and latched and read back each time (the host must not hang or
; spin on any of them). Then mode 2 at count 2 -- an OUT0 edge every 1.7 us
; -- with IRQ0 masked at the 8259 (OCW1) and the IOAPIC (masked at reset),
; and STI; HLT forever: nothing can see those edges, so the host must sleep.
	bits 16
	org 0
start:
	cli
	mov al, 0xff			; OCW1: mask every IR on both 8259s
	out 0x21, al
	out 0xa1, al
	xor bl, bl			; mode in bits 3-1
.mode:	mov al, bl
	shl al, 1
	or al, 0x30			; counter 0, LSB then MSB
	out 0x43, al
	mov al, 1			; count 1
	out 0x40, al
	xor al, al
	out 0x40, al
	call readback
	mov al, bl
	shl al, 1
	or al, 0x30
	out 0x43, al
	xor al, al			; count 0 = 65536
	out 0x40, al
	out 0x40, al
	call readback
	inc bl
	cmp bl, 6
	jb .mode
	mov al, 0x34			; counter 0, mode 2, count 2
	out 0x43, al
	mov al, 2
	out 0x40, al
	xor al, al
	out 0x40, al
	sti
.idle:	hlt
	jmp .idle

readback:
	mov al, 0x00			; counter latch command, counter 0
	out 0x43, al
	in al, 0x40
	in al, 0x40
	mov al, 0xe2			; read-back: status and count of counter 0
	out 0x43, al
	in al, 0x40
	in al, 0x40
	in al, 0x40
	ret

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
