; fugu guest test: privilege changes in 32-bit protected mode (SDM vol. 3A,
; chapters 5-6; vol. 2 CALL, RET, INT, SYSENTER): a call gate from ring 3 to
; ring 0 with the TSS stack switch and parameter copying, RETF n back; gate
; privilege and presence errors; an inner stack with a bad SS (#TS); INT n from
; ring 3 with a stack switch; INT to a DPL 0 gate (#GP); #NP/#SS/#GP for
; segment loads; SYSENTER/SYSEXIT; RDPMC at ring 3; LAR/LSL; JMP through a
; call gate; a 16-bit call gate; CMPXCHG8B; RDMSR of an unknown MSR.
	org 0xf0000
%define TEST "gates"

%define LOW(x) ((x) - $$)		; low 16 bits of a ROM address (the ROM is at 0xf0000)
%macro GDT_EXTRA 0
	dw LOW(gate_target), SEL_C32, 0xec02, 0x000f	; 0x50 call gate, DPL 3, 2 params
	dw LOW(gate_target), SEL_C32, 0x8c00, 0x000f	; 0x58 call gate, DPL 0
	dw LOW(gate_target), SEL_C32, 0x6c00, 0x000f	; 0x60 call gate, DPL 3, not present
	dw 0xffff, 0x0000, 0x7200, 0x00cf		; 0x68 data, DPL 3, not present
	dw LOW(gate16_target), SEL_C16, 0x8400, 0	; 0x70 16-bit call gate, DPL 0
	dw 0xffff, 0x0000, 0x1200, 0x00cf		; 0x78 data, DPL 0, not present
	dw 0xffff, 0x0000, 0x9000, 0x00cf		; 0x80 data, DPL 0, read-only
	dw 0xffff, 0x0000, 0xba00, 0x00cf		; 0x88 ring-1 code, 32-bit flat
	dw LOW(gate_target), 0x88, 0xec00, 0x000f	; 0x90 call gate to ring 1, DPL 3
%endmacro

%include "pm.inc"

V_GESP	equ 0x600		; ESP in the gate target
V_GCS	equ 0x604
V_GSS	equ 0x608
V_GP1	equ 0x60c		; copied parameters
V_GP2	equ 0x610
V_GOCS	equ 0x614		; the caller's CS, ESP, SS as pushed
V_GOESP	equ 0x618
V_GOSS	equ 0x61c
V_IESP	equ 0x620		; INT 0x40 from ring 3: ESP, pushed ESP/SS
V_IOESP	equ 0x624
V_IOSS	equ 0x628
V_SCS	equ 0x630		; SYSENTER: CS, SS
V_SSS	equ 0x634
V_RET	equ 0x640		; results of the ring-3 part
V_16	equ 0x680
V_MEM	equ 0x688

main:
	mov eax, 0x40
	mov ebx, int40_target
	mov ecx, 0xee00			; DPL 3 interrupt gate
	call set_gate
	mov eax, 0x41
	mov ebx, int40_target
	mov ecx, 0x8e00			; DPL 0
	call set_gate
	mov eax, 0x42
	mov ebx, back_to_ring0
	mov ecx, 0xee00
	call set_gate
	; SYSENTER MSRs: CS = 0x08 (SS 0x10, ring-3 CS 0x1b, SS 0x23), ESP, EIP.
	mov ecx, 0x174
	mov eax, SEL_C32
	xor edx, edx
	wrmsr
	mov ecx, 0x175
	mov eax, KSTACK - 0x100
	wrmsr
	mov ecx, 0x176
	mov eax, sysenter_target
	wrmsr

	; To ring 3 with IOPL 3 (so the ring-3 part may report on port 0xe9).
	push dword SEL_D32U
	push dword USTACK
	push dword 0x3002
	push dword SEL_C32U
	push dword ring3
	iretd

ring3:
	mov ax, SEL_D32U
	mov ds, ax
	mov es, ax
	; 1-6: CALL through the DPL 3 gate: ring 0 on the TSS stack, 2 parameters.
	mov ebp, esp
	push dword 0x2222
	push dword 0x1111
	call 0x53:0
	cmp esp, ebp			; RETF 8 removed the parameters from the outer stack
	check 1, e
	mov ax, cs
	cmp ax, SEL_C32U
	check 2, e
	cmp dword [V_GCS], SEL_C32
	check 3, e
	cmp dword [V_GSS], SEL_D32
	check 3, e
	cmp dword [V_GESP], KSTACK - 24
	check 4, e
	cmp dword [V_GP1], 0x1111
	check 5, e
	cmp dword [V_GP2], 0x2222
	check 5, e
	cmp dword [V_GOCS], SEL_C32U
	check 6, e
	lea eax, [ebp - 8]
	cmp dword [V_GOESP], eax
	check 6, e
	cmp dword [V_GOSS], SEL_D32U
	check 6, e

	; 7-9: gate errors from ring 3.
	faulting call 0x5b:0		; gate DPL 0 < CPL 3
	expect 7, 13, 0x58
	faulting call 0x63:0		; not present
	expect 8, 11, 0x60
	mov dword [TSS0 + 16], SEL_D32U	; SS1 must have DPL 1 (no paging: ring 3 may write)
	faulting call 0x93:0
	expect 9, 10, 0x20
	cmp esp, ebp
	check 9, e

	; 10-12: INT 0x40 from ring 3: the ring-0 stack from the TSS, SS:ESP pushed.
	int 0x40
	cmp dword [V_IESP], KSTACK - 20
	check 10, e
	cmp dword [V_IOESP], ebp
	check 11, e
	cmp dword [V_IOSS], SEL_D32U
	check 12, e
	faulting int 0x41		; DPL 0 gate: #GP(vector * 8 + 2)
	expect 13, 13, 0x41 * 8 + 2

	; 14: a not-present data segment: #NP(sel).
	mov ax, 0x6b
	faulting mov ds, ax
	expect 14, 11, 0x68
	mov ax, SEL_D32U
	mov ds, ax

	; 15-16: SYSENTER to ring 0 and SYSEXIT back.
	mov ecx, esp
	mov edx, .sysexit_back
	sysenter
.sysexit_back:
	cmp dword [V_SCS], SEL_C32
	check 15, e
	cmp dword [V_SSS], SEL_D32
	check 15, e
	mov ax, cs
	cmp ax, SEL_C32U
	check 16, e
	mov ax, ss
	cmp ax, SEL_D32U
	check 16, e
	cmp esp, ebp
	check 16, e

	; 17: RDPMC at ring 3 without CR4.PCE.
	xor ecx, ecx
	faulting rdpmc
	expect 17, 13, 0

	; 18-21: LAR/LSL see what CPL 3 may see.
	mov ax, SEL_C32			; DPL 0: ZF = 0
	mov ebx, 0x1234
	lar ebx, ax
	check 18, nz
	cmp ebx, 0x1234
	check 18, e
	mov ax, SEL_C32U
	lar ebx, ax
	check 19, z
	cmp ebx, 0x00cffb00		; accessed: CS was loaded
	check 19, e
	mov ax, SEL_D32U
	lsl ebx, ax
	check 20, z
	cmp ebx, 0xffffffff
	check 20, e
	mov ax, 0x53			; a call gate: LAR yes, LSL no
	lar ebx, ax
	check 21, z
	lsl ebx, ax
	check 21, nz

	int 0x42			; back to ring 0

back_to_ring0:
	mov ax, SEL_D32
	mov ds, ax
	mov es, ax
	mov esp, KSTACK

	; 22: JMP through a call gate at the same privilege.
	jmp 0x58:0
.jmp_back:
	; 23: CALL through a 16-bit gate into 16-bit code: 2-byte CS and IP pushed.
	mov ebp, esp
	mov dword [V_16], 0
	call 0x70:0
after16:
	mov eax, 23
	jmp fail
back16:
	lea eax, [ebp - 4]
	cmp [V_16], eax
	check 23, e
	cmp word [ebp - 2], SEL_C32
	check 23, e
	cmp word [ebp - 4], after16 - $$
	check 23, e
	mov esp, ebp

	; 24-26: SS loads: null (#GP(0)), read-only (#GP(sel)), not present (#SS(sel)).
	xor eax, eax
	faulting mov ss, ax
	expect 24, 13, 0
	mov ax, 0x80
	faulting mov ss, ax
	expect 25, 13, 0x80
	mov ax, 0x78
	faulting mov ss, ax
	expect 26, 12, 0x78

	; 27-30: CMPXCHG8B, equal and not equal; the 16-byte form needs cx16 and alignment.
	mov dword [V_MEM], 0x11111111
	mov dword [V_MEM + 4], 0x22222222
	mov eax, 0x11111111
	mov edx, 0x22222222
	mov ebx, 0x33333333
	mov ecx, 0x44444444
	lock cmpxchg8b [V_MEM]
	check 27, z
	cmp dword [V_MEM + 4], 0x44444444
	check 27, e
	xor eax, eax
	xor edx, edx
	cmpxchg8b [V_MEM]
	check 28, nz
	cmp eax, 0x33333333
	check 28, e
	cmp edx, 0x44444444
	check 28, e
	faulting db 0x0f, 0xc7, 0xc8	; the register form (cmpxchg8b eax): #UD
	expect 29, 6, 0xffffffff

	; 30: RDMSR of an MSR the model does not have.
	mov ecx, 0x12345678
	faulting rdmsr
	expect 30, 13, 0

	jmp pass

; The call-gate target: record the frame on the inner stack, return with RETF 8.
gate_target:
	mov ax, cs
	cmp ax, SEL_C32			; a JMP through gate 0x58 at ring 0 lands here too
	jne .from_ring3
	mov ax, ss
	cmp ax, SEL_D32
	jne .from_ring3
	cmp esp, KSTACK
	jne .from_ring3
	jmp back_to_ring0.jmp_back
.from_ring3:
	mov [V_GESP], esp
	xor eax, eax
	mov ax, cs
	mov [V_GCS], eax
	mov ax, ss
	mov [V_GSS], eax
	mov eax, [esp + 8]
	mov [V_GP1], eax
	mov eax, [esp + 12]
	mov [V_GP2], eax
	mov eax, [esp + 4]
	mov [V_GOCS], eax
	mov eax, [esp + 16]
	mov [V_GOESP], eax
	mov eax, [esp + 20]
	mov [V_GOSS], eax
	retf 8

int40_target:
	mov [V_IESP], esp
	mov eax, [esp + 12]
	mov [V_IOESP], eax
	mov eax, [esp + 16]
	mov [V_IOSS], eax
	iretd

sysenter_target:
	xor eax, eax
	mov ax, cs
	mov [V_SCS], eax
	mov ax, ss
	mov [V_SSS], eax
	sysexit

	bits 16
gate16_target:			; 16-bit code at base 0xf0000
	o32 mov [V_16], esp
	jmp dword SEL_C32:back16
	bits 32

%include "pm_end.inc"
