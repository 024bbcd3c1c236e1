; fugu guest test: a guest that only faults must not hang fugu. The #UD handler
; is itself a UD2, so after the first UD2 the CPU delivers #UD forever without
; retiring an instruction; -timeout must still end the run (status 124).
	bits 16
	org 0
start:
	cli
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7000
	mov word [6 * 4], handler	; IVT entry 6 (#UD) -> F000:handler
	mov word [6 * 4 + 2], 0xf000
	ud2
handler:
	ud2

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
