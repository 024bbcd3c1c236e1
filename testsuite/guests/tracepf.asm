; fugu guest test: tracing changes nothing the guest can see (meson runs it
; untraced, with -d insn and with -d insn,pagewalk; the output must be the same).
; 32-bit paging with fresh page tables (no accessed bits), one deliberate #PF,
; then two far JMPs that change the CS base: CS 0x08 (base 0) -> 0x50 (base
; 0x1000) -> 0x08. A trace that read an instruction back from the new CS base
; at the old EIP would walk the page tables at 0xF1xxx (setting the accessed
; bit of a page the guest never touches) and at 0xEFxxx (not present: a #PF the
; guest would take). The ROM prints the PDE, the PTEs of those pages and of its
; own code page, CR2 and the number of exceptions it took, then checks them.
%define TEST "tracepf"
	org 0xf0000
%macro GDT_EXTRA 0
	dw 0xffff, 0x1000, 0x9a00, 0x00cf	; 0x50 ring-0 code, 32-bit, base 0x1000
%endmacro
%include "pm.inc"

PD	equ 0x10000
PT0	equ 0x11000		; identity map of 0-4 MiB
SEL_C1K	equ 0x50

main:
	mov edi, PT0
	mov eax, 0x003
	mov ecx, 1024
.id:	mov [edi], eax
	add eax, 0x1000
	add edi, 4
	loop .id
	mov dword [PT0 + 0xef * 4], 0		; not present
	mov dword [PT0 + 0x300 * 4], 0		; not present: the deliberate #PF
	mov dword [PD], PT0 | 3
	mov eax, PD
	mov cr3, eax
	mov eax, cr0
	or eax, 0x80000000
	mov cr0, eax

	faulting mov eax, [0x300010]		; #PF, CR2 = 0x300010
	jmp SEL_C1K:via_1k - 0x1000		; the next instruction runs at base 0x1000
via_1k:	jmp SEL_C32:back			; and this one at EIP via_1k - 0x1000
back:
	mov esi, msg_pde
	mov eax, [PD]
	call put_hex
	mov esi, msg_ef
	mov eax, [PT0 + 0xef * 4]
	call put_hex
	mov esi, msg_f0
	mov eax, [PT0 + 0xf0 * 4]
	call put_hex
	mov esi, msg_f1
	mov eax, [PT0 + 0xf1 * 4]
	call put_hex
	mov esi, msg_cr2
	mov eax, cr2
	call put_hex
	mov esi, msg_count
	mov eax, [V_COUNT]
	call put_hex
	mov al, 10
	out 0xe9, al
	test dword [PT0 + 0xf1 * 4], 0x20	; never accessed
	check 1, z
	test dword [PT0 + 0xf0 * 4], 0x20	; this code
	check 2, nz
	mov eax, cr2
	cmp eax, 0x300010
	check 3, e
	cmp dword [V_COUNT], 1
	check 4, e
	jmp pass

; put_hex: print the string at ESI, then EAX as 8 hex digits.
put_hex:
	call puts
	mov ecx, 8
.digit:	rol eax, 4
	mov edx, eax
	and edx, 0xf
	mov dl, [hexdigits + edx]
	xchg eax, edx
	out 0xe9, al
	xchg eax, edx
	loop .digit
	ret

hexdigits: db "0123456789abcdef"
msg_pde: db "tracepf: pde=", 0
msg_ef: db " pte_ef=", 0
msg_f0: db " pte_f0=", 0
msg_f1: db " pte_f1=", 0
msg_cr2: db " cr2=", 0
msg_count: db " exceptions=", 0

%include "pm_end.inc"
