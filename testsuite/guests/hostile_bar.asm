; fugu hostile guest: PCI BAR writes in a loop. The VGA's 16 MiB BAR0 (00:02.0,
; config offset 10h; PCI Local Bus 3.0, 6.2.5.1) is moved onto RAM and back
; to the PCI hole with memory decoding on, forever. Each move changes the
; physical map; at -m 64G the host must stay bounded and -timeout must end it.
	bits 16
	org 0
start:
	cli
	mov dx, 0xcf8
	mov eax, 0x80001004		; 00:02.0 command: memory space on
	out dx, eax
	mov dx, 0xcfc
	mov ax, 0x0003
	out dx, ax
.loop:	mov dx, 0xcf8
	mov eax, 0x80001010		; BAR0
	out dx, eax
	mov dx, 0xcfc
	mov eax, 0x10000000		; onto RAM at 256 MiB
	out dx, eax
	mov eax, 0xfd000000		; back into the hole
	out dx, eax
	jmp .loop

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
