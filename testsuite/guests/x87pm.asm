; fugu guest test: the x87 FPU in 32-bit protected mode (SDM vol. 1, chapter 8;
; vol. 3A, 2.5 and 6.15): CPUID reports the FPU; #NM from CR0.TS and CR0.EM and
; WAIT with CR0.MP; #MF with CR0.NE=1 at the next waiting instruction (FWAIT or
; an x87 instruction) while the no-wait forms go through; the 32- and 16-bit
; protected-mode FNSTENV layouts (figures 8-9 and 8-11: offsets and
; selectors); FNSAVE/FRSTOR in stack order; FCOMI; FSQRT.
	org 0xf0000
%define TEST "x87pm"
%include "pm.inc"

ENV	equ 0x800
DATA	equ 0x900

main:
	; 1: CPUID.1:EDX.FPU
	mov eax, 1
	cpuid
	test dl, 1
	check 1, nz
	mov eax, cr0
	or al, 0x20			; NE: native x87 error reporting
	and al, ~0x0e			; MP, EM, TS clear
	mov cr0, eax

	; 2-5: #NM (vector 7)
	or al, 8			; TS
	mov cr0, eax
	faulting fld1
	expect 2, 7, 0xffffffff
	or al, 4			; EM
	and al, ~8
	mov cr0, eax
	faulting fninit
	expect 3, 7, 0xffffffff
	and al, ~4
	or al, 0x0a			; MP and TS: WAIT faults
	mov cr0, eax
	faulting fwait
	expect 4, 7, 0xffffffff
	and al, ~2			; TS alone: WAIT does not
	mov cr0, eax
	faulting fwait
	expect 5, 0xff, 0xffffffff
	clts

	; 6-11: #MF (vector 16) at the next waiting instruction
	fninit
	fldcw [cw_zm]
	fld1
	fldz
	fdivp st1, st0			; #Z pending, no fault yet
	fnstsw ax			; no-wait forms do not fault
	test al, 0x84
	check 6, nz
	fnstenv [ENV]			; masks everything: nothing pending any more
	faulting fld1
	expect 7, 0xff, 0xffffffff
	fldcw [cw_zm]			; unmasking the set ZE makes it pending again
	faulting fwait
	expect 32, 16, 0xffffffff
	fninit
	fldcw [cw_zm]
	fld1
	fldz
	fdivp st1, st0
	faulting fwait
	expect 8, 16, 0xffffffff
	faulting fadd st0, st0
	expect 9, 16, 0xffffffff
	fnclex
	faulting fwait
	expect 10, 0xff, 0xffffffff
	fnstsw ax
	test al, 0xff
	check 11, z

	; 12-19: FNSTENV, 32-bit protected-mode layout (28 bytes)
	fninit
	mov dword [DATA], 0x3f800000	; 1.0f
	fldz
fld_at:	fld dword [DATA]
	fnstenv [ENV]
	cmp word [ENV], 0x037f
	check 12, e
	cmp word [ENV + 4], 0x3000
	check 13, e
	cmp word [ENV + 8], 0x4fff	; physical 7 zero, 6 valid
	check 14, e
	cmp dword [ENV + 12], fld_at	; FIP: the offset
	check 15, e
	mov eax, [ENV + 16]
	and eax, 0x07ffffff
	cmp eax, 0x0105 << 16 | SEL_C32	; FOP D9 05H (disp32), FCS
	check 16, e
	cmp dword [ENV + 20], DATA
	check 17, e
	cmp word [ENV + 24], SEL_D32
	check 18, e
	; the 16-bit protected-mode layout (14 bytes)
	o16 fnstenv [ENV]
	mov eax, fld_at
	cmp [ENV + 6], ax
	check 19, e
	cmp word [ENV + 8], SEL_C32
	check 20, e
	cmp word [ENV + 10], DATA
	check 21, e
	cmp word [ENV + 12], SEL_D32
	check 22, e

	; 23-28: FNSAVE (108 bytes) stores ST0 first; FRSTOR
	fninit
	fild word [three]
	fild word [four]
	fnsave [ENV]
	cmp word [ENV + 28 + 8], 0x4001	; ST0 = 4.0
	check 23, e
	cmp word [ENV + 38 + 8], 0x4000	; ST1 = 3.0
	check 24, e
	cmp dword [ENV + 38 + 4], 0xc0000000
	check 25, e
	fnstcw [ENV + 200]
	cmp word [ENV + 200], 0x037f
	check 26, e
	frstor [ENV]
	fnstsw ax
	and ax, 0x3800
	cmp ax, 0x3000
	check 27, e
	; FCOMI: 4 > 3 clears CF and ZF
	fcomi st0, st1
	check 28, a
	fcomip st0, st1			; pops
	fsqrt				; sqrt(3)...
	fmul st0, st0			; ... squared, rounded to 3
	fistp dword [ENV]
	cmp dword [ENV], 3
	check 29, e
	fnstsw ax
	and ax, 0x3800			; empty again: TOP = 0
	check 30, z
	fild word [sixteen]
	fsqrt
	fistp dword [ENV]
	cmp dword [ENV], 4
	check 31, e
	jmp pass

cw_zm:	dw 0x037b
three:	dw 3
four:	dw 4
sixteen: dw 16

%include "pm_end.inc"
