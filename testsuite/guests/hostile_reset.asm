; fugu hostile guest: a reset loop. Every time the machine comes out of reset
; the ROM asks for the next reset at once, through the 8042 (command FEh pulses
; the reset line: 8042 datasheet / IBM AT TRM), port 92h bit 0 (PIIX "fast
; reset": a 0->1 transition, 82371AB 4.1.x) and the PIIX reset control
; register CF9h (SRST with RST_CPU: 02h then 06h) in turn; which one is chosen
; by a counter in CMOS RAM byte 38h, which a reset does not clear (MC146818:
; the RAM is battery backed). The host must still end the run at -timeout.
	bits 16
	org 0
start:
	cli
	mov al, 0x38
	out 0x70, al
	in al, 0x71
	inc al
	mov ah, al
	mov al, 0x38
	out 0x70, al
	mov al, ah
	out 0x71, al
	xor ah, ah
	mov bl, 3
	div bl			; AH = count mod 3
	cmp ah, 1
	je .port92
	ja .cf9
	mov al, 0xfe		; 8042: pulse output port bit 0 (reset)
	out 0x64, al
	jmp .wait
.port92:
	in al, 0x92
	and al, 0xfe
	out 0x92, al
	or al, 1		; fast reset on the rising edge
	out 0x92, al
	jmp .wait
.cf9:
	mov dx, 0xcf9
	mov al, 0x02
	out dx, al
	mov al, 0x06		; RST_CPU 0->1 with SRST: hard reset
	out dx, al
.wait:	jmp .wait

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
