; fugu guest test: the x87 FPU in real mode (SDM vol. 1, chapter 8): arithmetic,
; the 16- and 32-bit real-mode FNSTENV layouts (figures 8-10 and 8-12: linear
; instruction and data pointers), FNSAVE/FRSTOR, #NM from CR0.TS, CR0.EM and
; WAIT with CR0.MP, and the PC/AT error path with CR0.NE=0: an unmasked
; exception pending at FWAIT asserts FERR#, the board raises IRQ13 through the
; slave 8259, the handler writes port F0 and clears the exception, and FWAIT
; then completes; with IGNNE# (port F0 written, exception left pending) it
; completes at once.
	bits 16
	org 0

%macro check 2 ; check <number>, <condition code that means success>
	j%2 %%ok
	mov al, %1
	jmp fail
%%ok:
%endmacro

V_NM	equ 0x500		; #NM count
V_IRQ13	equ 0x502		; IRQ13 count
V_KEEP	equ 0x504		; nonzero: the IRQ13 handler leaves the exception pending
ENV	equ 0x600		; FNSTENV / FNSAVE area
DATA	equ 0x1234		; a memory operand at a known offset

start:
	cli
	xor ax, ax
	mov ss, ax
	mov sp, 0x8000
	mov ds, ax
	mov es, ax
	mov word [7 * 4], nm_handler
	mov word [7 * 4 + 2], cs
	mov word [0x75 * 4], irq13
	mov word [0x75 * 4 + 2], cs
	mov word [V_NM], 0
	mov word [V_IRQ13], 0
	mov word [V_KEEP], 0

	; 1-3: FNINIT state, and 1 + 1 = 2 through FIST
	fninit
	fnstcw [ENV]
	cmp word [ENV], 0x037f
	check 1, e
	fnstsw ax
	test ax, ax
	check 2, z
	fld1
	fld1
	faddp st1, st0
	fistp word [ENV]
	cmp word [ENV], 2
	check 3, e

	; 4-12: FNSTENV, 16-bit real-mode layout (14 bytes, figure 8-10 upper half)
	fninit
	mov dword [DATA], 0		; +0.0
	fld1				; physical 7: valid
fld_at:	fld dword [DATA]		; physical 6: zero; FOP 106H, FDP 0:1234H
	fnstenv [ENV]
	cmp word [ENV], 0x037f
	check 4, e
	cmp word [ENV + 2], 0x3000	; TOP = 6
	check 5, e
	cmp word [ENV + 4], 0x1fff	; tags: 7 valid, 6 zero, the rest empty
	check 6, e
	cmp word [ENV + 6], fld_at	; FIP[15:0] of the linear address F0000H + fld_at
	check 7, e
	cmp word [ENV + 8], 0xf106	; FIP[19:16] << 12 | FOP
	check 8, e
	cmp word [ENV + 10], DATA	; FDP[15:0]
	check 9, e
	cmp word [ENV + 12], 0		; FDP[19:16] << 12
	check 10, e
	fnstcw [ENV]			; FNSTENV masked every exception
	cmp word [ENV], 0x037f
	check 11, e

	; 12-16: the 32-bit real-mode layout (28 bytes, figure 8-12 upper half)
	o32 fnstenv [ENV]
	mov eax, [ENV + 12]
	cmp ax, fld_at
	check 12, e
	mov eax, [ENV + 16]
	and eax, 0x0fffffff
	cmp eax, 0x0000f106		; FIP[31:16] << 12 | FOP
	check 13, e
	cmp word [ENV + 20], DATA
	check 14, e
	mov eax, [ENV + 24]
	and eax, 0x0ffff000
	check 15, z
	cmp word [ENV + 8], 0x1fff
	check 16, e

	; 17-24: FNSAVE (94 bytes) and FRSTOR
	fninit
	fild word [cs:five]
	fild word [cs:seven]
	fnsave [ENV]
	cmp word [ENV + 2], 0x3000
	check 17, e
	cmp word [ENV + 4], 0x0fff
	check 18, e
	cmp word [ENV + 14 + 8], 0x4001	; ST0 = 7.0: exponent 4001H
	check 19, e
	cmp word [ENV + 14 + 6], 0xe000	; significand 1.11b
	check 20, e
	cmp word [ENV + 24 + 8], 0x4001	; ST1 = 5.0
	check 21, e
	fnstsw ax			; FNSAVE reinitialised the FPU
	test ax, ax
	check 22, z
	frstor [ENV]
	fistp word [ENV + 100]
	fistp word [ENV + 102]
	cmp word [ENV + 100], 7
	check 23, e
	cmp word [ENV + 102], 5
	check 24, e

	; 25-29: #NM: CR0.TS, CR0.EM, WAIT with MP and TS, WAIT with TS alone
	mov eax, cr0
	or al, 8			; TS
	mov cr0, eax
	fld1				; #NM; the handler clears TS, FLD1 runs again
	cmp word [V_NM], 1
	check 25, e
	mov eax, cr0
	or al, 4			; EM
	mov cr0, eax
	fstp st0
	cmp word [V_NM], 2
	check 26, e
	mov eax, cr0
	or al, 8 | 2			; TS, MP
	mov cr0, eax
	fwait
	cmp word [V_NM], 3
	check 27, e
	mov eax, cr0
	and al, ~2
	or al, 8			; TS without MP: WAIT does not fault
	mov cr0, eax
	fwait
	cmp word [V_NM], 3
	check 28, e
	clts
	fnstsw ax
	test ax, 0x3800			; FLD1 then FSTP: TOP back at 0
	check 29, z

	; 30-33: CR0.NE=0: a pending unmasked #Z reaches FWAIT, FERR# -> IRQ13
	mov al, 0x11			; the 8259s: IRQ0-7 at 08H, IRQ8-15 at 70H
	out 0x20, al
	out 0xa0, al
	mov al, 0x08
	out 0x21, al
	mov al, 0x70
	out 0xa1, al
	mov al, 4
	out 0x21, al
	mov al, 2
	out 0xa1, al
	mov al, 1
	out 0x21, al
	out 0xa1, al
	mov al, 0xfb			; the cascade only
	out 0x21, al
	mov al, 0xdf			; IRQ13 only
	out 0xa1, al
	mov eax, cr0
	test al, 0x20
	check 30, z			; NE is clear after RESET
	fninit
	fldcw [cs:cw_zm]			; divide-by-zero unmasked
	fld1
	fldz
	fdivp st1, st0			; 1 / 0: #Z pending
	fnstsw ax
	test ax, 0x0080			; ES
	check 31, nz
	sti
	fwait				; FERR#: IRQ13, then the FWAIT completes
	cli
	cmp word [V_IRQ13], 1
	check 32, e
	fnstsw ax
	test ax, 0x0084			; the handler's FNCLEX cleared ZE and ES
	check 33, z

	; 34-37: IGNNE#: the handler only writes port F0; the FWAIT then completes
	; with the exception still pending. FNCLEX drops FERR# (and IGNNE#), so the
	; next pending exception interrupts again.
	mov word [V_KEEP], 1
	fld1
	fldz
	fdivp st1, st0
	sti
	fwait
	cli
	cmp word [V_IRQ13], 2
	check 34, e
	fnstsw ax
	test ax, 0x0080			; still pending
	check 35, nz
	fnclex
	mov word [V_KEEP], 0
	fld1
	fldz
	fdivp st1, st0
	sti
	fwait
	cli
	cmp word [V_IRQ13], 3
	check 36, e
	fnstsw ax
	test ax, 0x0080
	check 37, z

	mov si, pass_msg
	call puts
	mov al, 0
	out 0xf4, al
	hlt

nm_handler:
	push eax
	mov eax, cr0
	and al, ~0x0c			; EM, TS
	mov cr0, eax
	pop eax
	inc word [V_NM]
	iret

irq13:
	push ax
	out 0xf0, al			; clear the IRQ13 latch (asserts IGNNE#)
	cmp word [V_KEEP], 0
	jne .keep
	fnclex
.keep:
	inc word [V_IRQ13]
	mov al, 0x20
	out 0xa0, al
	out 0x20, al
	pop ax
	iret

five:	dw 5
seven:	dw 7
cw_zm:	dw 0x037b

%include "report16.inc"

pass_msg: db "x87rm: PASS", 10, 0
fail_msg: db "x87rm: FAIL ", 0

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
