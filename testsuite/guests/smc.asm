; fugu guest test: self-modifying code must always execute the bytes in memory
; (SDM vol. 3A, 11.6: a write to a code byte is seen by the instructions fetched
; after it; fugu checks it after every store, the strictest reading). Forms:
;  1  a store into the next instruction
;  2  a store into a later instruction of the same straight-line run
;  3  an instruction that modifies its own immediate, executed repeatedly
;  4  a store into an earlier instruction of a loop that runs it again
;  5  REP MOVSB overwriting the rest of its own loop
;  6  REP STOSB writing code across a page boundary, then running it
;  7  two linear aliases of one physical page (32-bit paging): write through
;     one, execute through the other, both ways
;  11 a device's DMA: fw_cfg's DMA interface writes the ID item (03 00 00 00:
;     "add ax, [bx+si]; add [bx+si], al") over code that already ran
;  12 code in MMIO (the VGA text window at B8000h, odd/even mode reads back
;     what was written): it runs, and runs again after it is rewritten
; The first failure prints "smc: FAIL n" and exits with n; success prints
; "smc: PASS" and exits with 0 (fugu status 1).
%include "report.mac"
	bits 16
	org 0

BASE	equ 0xf0000		; linear address of this ROM
RAMSEG	equ 0x0200		; real-mode code copies run at 0200:0000 (linear 0x2000)
PD	equ 0x10000		; 32-bit paging structures
PT0	equ 0x11000
ALIAS_A	equ 0x400000		; both map physical page ALIAS_PA
ALIAS_B	equ 0x401000
ALIAS_PA equ 0x30000

%macro check 2 ; check <number>, <condition code that means success>
	j%2 %%ok
	mov al, %1
	jmp FAIL
%%ok:
%endmacro
%define FAIL fail16

%define R(label) ((label) - ram_block)	; offset of a label inside the RAM copy

start:
	cli
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, 0x7000
	cld
	; copy the RAM block to 0200:0000
	mov ax, RAMSEG
	mov es, ax
	xor di, di
	mov si, ram_block
	mov cx, ram_block_end - ram_block
	cs rep movsb

	; 1: next instruction
	call RAMSEG:R(t1)
	cmp al, 0x42
	check 1, e
	; 2: later instruction of the same run
	call RAMSEG:R(t2)
	cmp al, 0x17
	check 2, e
	; 3: an instruction modifying its own immediate, three times: 1 -> 2 -> 4 -> 8
	call RAMSEG:R(t3)
	mov ax, RAMSEG
	mov es, ax
	cmp byte [es:R(t3_self) + 5], 8
	check 3, e
	; 4: an earlier instruction of a loop: add al, 1 then add al, 5
	call RAMSEG:R(t4)
	cmp al, 6
	check 4, e
	; 5: REP MOVSB replacing the rest of its own loop with "mov al, 0x77; retf"
	call RAMSEG:R(t5)
	cmp al, 0x77
	check 5, e
	; 6: REP STOSB filling NOPs across the page boundary at linear 0x3000, then
	;    running code on both pages: run once (cached), rewrite, run again
	call RAMSEG:R(t6)
	cmp al, 0x66
	check 6, e

	; 11: DMA from a device over code that already ran (fw_cfg DMA, QEMU's
	;     docs/specs/fw_cfg: big-endian control/length/address, address written
	;     to 0x514 (high) and 0x518 (low, starts the transfer))
	mov dword [0x2f00], 0x90909090	; nop x4
	mov byte [0x2f04], 0xcb		; retf
	mov word [0xc00], 0x1234
	xor ax, ax
	mov bx, 0x600
	mov si, 0x600
	call 0x0000:0x2f00		; runs the NOPs (and caches them)
	test ax, ax
	check 11, z
	mov dword [0x2e00], 0x0a000100	; control: select key 1 (ID), read (BE 0x0001000a)
	mov dword [0x2e04], 0x04000000	; length 4 (BE)
	mov dword [0x2e08], 0		; address high (BE)
	mov dword [0x2e0c], 0x002f0000	; address 0x2f00 (BE)
	xor eax, eax
	mov dx, 0x514
	out dx, eax
	mov eax, 0x002e0000		; 0x2e00, big-endian
	mov dx, 0x518
	out dx, eax
	xor ax, ax
	call 0x0000:0x2f00		; must run "add ax, [bx+si]; add [bx+si], al; retf"
	cmp ax, 0x1234
	check 11, e

	; 12: code executed from MMIO is never cached: write, run, rewrite, run
	push es
	mov ax, 0xb800
	mov es, ax
	mov word [es:0], 0x11b0		; mov al, 0x11
	mov byte [es:2], 0xcb		; retf
	call 0xb800:0x0000
	cmp al, 0x11
	jne .mmio_bad
	mov byte [es:1], 0x22		; mov al, 0x22
	call 0xb800:0x0000
	cmp al, 0x22
.mmio_bad:
	pop es
	check 12, e

	; 7: protected mode with 32-bit paging and two aliases of one page
	lgdt [cs:gdtr]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp dword 0x08:(BASE + pm32)

	bits 32
%define FAIL fail32
pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov esp, 0x7000
	; identity-map 0-4 MiB with 4 KiB pages, and map ALIAS_A/ALIAS_B to ALIAS_PA
	mov edi, PD
	xor eax, eax
	mov ecx, 2048
	rep stosd
	mov dword [PD], PT0 + 3
	mov dword [PD + 4], PT0 + 0x1000 + 3
	mov edi, PT0
	mov eax, 3
	mov ecx, 1024
.map:	stosd
	add eax, 0x1000
	loop .map
	mov dword [PT0 + 0x1000], ALIAS_PA + 3	; ALIAS_A
	mov dword [PT0 + 0x1004], ALIAS_PA + 3	; ALIAS_B
	mov eax, PD
	mov cr3, eax
	mov eax, cr0
	or eax, 0x80000000
	mov cr0, eax
	jmp .paged
.paged:
	; the page holds "mov eax, imm32; ret"
	mov byte [ALIAS_A], 0xb8
	mov dword [ALIAS_A + 1], 0x11111111
	mov byte [ALIAS_A + 5], 0xc3
	mov eax, ALIAS_A
	call eax
	cmp eax, 0x11111111
	check 7, e
	mov dword [ALIAS_B + 1], 0x22222222	; write through B ...
	mov eax, ALIAS_A
	call eax				; ... execute through A
	cmp eax, 0x22222222
	check 8, e
	mov eax, ALIAS_B			; execute through B (now cached) ...
	call eax
	cmp eax, 0x22222222
	check 9, e
	mov dword [ALIAS_A + 1], 0x33333333	; ... write through A
	mov eax, ALIAS_B
	call eax
	cmp eax, 0x33333333
	check 10, e

	mov esi, BASE + pass_msg
	call puts32
	mov al, 0
	out 0xf4, al
	hlt

fail32:
	mov bl, al
	mov esi, BASE + fail_msg
	call puts32
	report_number_and_exit
	hlt

; puts32: print the NUL-terminated string at ESI (32-bit code, flat DS).
puts32:
	lodsb
	test al, al
	jz .done
	out 0xe9, al
	jmp puts32
.done:	ret

	bits 16
; fail16: report check AL from real mode.
fail16:
	mov bl, al
	mov si, fail_msg
.p:	cs lodsb
	test al, al
	jz .n
	out 0xe9, al
	jmp .p
.n:	report_number_and_exit
	hlt

; ---- code copied to 0200:0000; every routine returns with RETF ----
ram_block:
t1:	mov byte [cs:R(t1_target) + 1], 0x42
t1_target:
	mov al, 0x00
	retf

t2:	mov byte [cs:R(t2_target) + 1], 0x17
	nop
	xor bx, bx
	inc bx
t2_target:
	mov al, 0x00
	retf

t3:	mov cx, 3
t3_self:
	add byte [cs:R(t3_self) + 5], 1	; 2E 80 06 lo hi ib: adds its own immediate to itself
	loop t3_self
	retf

t4:	xor ax, ax
	mov cx, 2
t4_add:	add al, 1
	mov byte [cs:R(t4_add) + 1], 5
	loop t4_add
	retf

t5:	push ds
	push cs
	pop ds
	push cs
	pop es
	mov bx, 3
t5_loop:
	mov si, R(t5_new)
	mov di, R(t5_tail)
	mov cx, t5_new_end - t5_new
	rep movsb
t5_tail:				; replaced by "mov al, 0x77; retf" (then pop ds is lost: see below)
	dec bx
	jnz t5_loop
	mov al, 0x00
	pop ds
	retf
t5_new:	pop ds				; the new tail keeps the stack balanced
	mov al, 0x77
	retf
t5_new_end:

; t6 runs code at linear 0x2ffc..0x3003 (0000:2ffc), straddling the page boundary.
t6:	push ds
	xor ax, ax
	mov es, ax
	mov ds, ax
	; first version: "mov al, 0x11; nop * 5; retf" at 0x2ffc
	mov di, 0x2ffc
	mov al, 0x90
	mov cx, 8
	rep stosb
	mov byte [0x2ffc], 0xb0
	mov byte [0x2ffd], 0x11
	mov byte [0x3003], 0xcb
	call 0x0000:0x2ffc
	cmp al, 0x11
	jne .bad
	; rewrite both pages with one REP STOSB: 0x66 everywhere, then patch the code
	mov di, 0x2ff0
	mov al, 0x66
	mov cx, 0x20
	rep stosb
	mov byte [0x2ffc], 0xb0			; mov al, 0x66 (imm already 0x66)
	mov word [0x2ffe], 0x9090
	mov word [0x3000], 0x9090
	mov byte [0x3002], 0x90
	mov byte [0x3003], 0xcb
	call 0x0000:0x2ffc
	pop ds
	retf
.bad:	mov al, 0
	pop ds
	retf
ram_block_end:

pass_msg: db "smc: PASS", 10, 0
fail_msg: db "smc: FAIL ", 0

	align 8
gdt:	dq 0
	dq 0x00cf9b000000ffff		; 0x08: 32-bit code, flat
	dq 0x00cf93000000ffff		; 0x10: data, flat
gdtr:	dw gdtr - gdt - 1
	dd BASE + gdt

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
