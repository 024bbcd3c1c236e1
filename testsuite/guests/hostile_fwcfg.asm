; fugu hostile guest: fw_cfg DMA against the host boundary (QEMU
; docs/specs/fw_cfg.rst, "DMA interface": a big-endian descriptor {control,
; length, address}; its address is written to 0x514 (high) and 0x518 (low,
; starts the transfer); the control word is written back, 0 or the error bit).
; 1. A read of 4 GiB - 1 bytes with no item selected, to 0x1000 in RAM: the
;    bytes past an item are zeros, and the transfer stops with the error bit at
;    the end of RAM (the bus refuses the rest); the zeros reach RAM.
; 2. Then, forever, a DMA start whose descriptor lies in unassigned space (it
;    reads as all ones: a 4 GiB transfer to the top of the address space):
;    each must cost the host nothing, and -timeout must end the run.
	bits 16
	org 0
DESC	equ 0x500
start:
	cli
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7000
	mov dword [0x2000], 0xaaaaaaaa
	mov dword [DESC], 0x02000000	; control: READ (bit 1), big-endian
	mov dword [DESC + 4], 0xffffffff ; length
	mov dword [DESC + 8], 0		; address high (big-endian)
	mov dword [DESC + 12], 0x00100000 ; address low: 0x1000, big-endian
	mov dx, 0x514
	xor eax, eax
	out dx, eax
	mov dx, 0x518
	mov eax, 0x00050000		; bswap(0x500)
	out dx, eax
	mov al, 1
	cmp dword [DESC], 0x01000000	; control = error bit (big-endian 1)
	jne fail
	mov al, 2
	cmp dword [0x2000], 0
	jne fail
	mov si, ok_msg
	call puts
	mov dx, 0x514
	xor eax, eax
	out dx, eax
.flood:	mov dx, 0x518
	mov eax, 0x000000f0		; bswap(0xf0000000): unassigned
	out dx, eax
	jmp .flood

%include "report16.inc"
ok_msg:	db "hostile-fwcfg: dma stopped at the end of RAM", 10, 0
fail_msg: db "hostile-fwcfg: FAIL ", 0

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
