; fugu guest test: virtual-8086 mode (SDM vol. 3A, chapter 20): IRET from
; ring 0 into V86 mode; INT n from V86 (IOPL 3) to a ring-0 handler on the TSS
; stack with GS/FS/DS/ES pushed and zeroed, IRET back to V86; IRET, CLI/STI and
; PUSHF/POPF inside V86 at IOPL 3; at IOPL 0 CLI, PUSHF, POPF, INT n raise
; #GP(0) (INT3 does not) and port I/O goes by the TSS I/O bitmap; an exception
; leaves V86 mode; a task switch to a TSS with EFLAGS.VM starts a V86 task.
; VME is not modelled.
	org 0xf0000
%define TEST "v86"
%define LOW(x) ((x) - $$)
%macro GDT_EXTRA 0
	dw 0x0067, 0x2100, 0x8900, 0x0000	; 0x50 TSS of a V86 task
%endmacro
%include "pm.inc"

VTSS	equ 0x2100

V_HESP	equ 0x600		; handler: ESP, DS, pushed frame
V_HDS	equ 0x604
V_FRAME	equ 0x610		; 9 dwords
V_MARK	equ 0x640
V_V86CS	equ 0x644
V_STAGE	equ 0x648

; faulting16: `faulting` for V86 code (V_RESUME holds a 16-bit offset in CS 0xf000).
%macro faulting16 1+
	mov dword [V_VEC], 0xff
	mov dword [V_ERR], 0xffffffff
	mov dword [V_RESUME], LOW(%%after)
	%1
%%after:
	mov dword [V_RESUME], 0
%endmacro

; check16: in V86 code, report a failure by leaving V86 mode with the number in AL.
%macro check16 2
	j%2 %%ok
	mov al, %1
	ud2
%%ok:
%endmacro

; Enter V86 mode at CS 0xf000:ip with EFLAGS fl: IRET with the 9-dword frame.
%macro enter_v86 2
	push dword 0x0000		; GS
	push dword 0x0000		; FS
	push dword 0x0000		; DS
	push dword 0x0000		; ES
	push dword 0x0000		; SS
	push dword 0x5800		; ESP
	push dword %2			; EFLAGS
	push dword 0xf000		; CS
	push dword LOW(%1)		; EIP
	iretd
%endmacro

main:
	mov eax, 0x60
	mov ebx, v86_int
	mov ecx, 0xee00			; DPL 3 interrupt gate
	call set_gate
	mov eax, 3			; INT3 reaches a DPL 3 gate whatever IOPL is
	mov ebx, v86_int
	mov ecx, 0xee00
	call set_gate
	mov eax, 6
	mov ebx, v86_exit		; #UD leaves V86 mode (failures, and the end of a part)
	mov ecx, 0x8e00
	call set_gate

	; Part 1, IOPL 3.
	mov dword [V_STAGE], 1
	mov dword [V_MARK], 0
	enter_v86 v86_part1, 0x23002

v86_exit:
	movzx ebx, al			; AL: 0 = part done, else the failure number
	mov ax, SEL_D32			; V86 left DS..GS null
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov esp, KSTACK
	test ebx, ebx
	jz .done
	mov eax, ebx
	jmp fail
.done:
	cmp dword [V_STAGE], 1
	jne part2_done
	; 4-8: the handler's view of INT 0x60 from V86 mode.
	cmp dword [V_HESP], KSTACK - 36
	check 4, e
	cmp dword [V_HDS], 0		; data segments zeroed
	check 5, e
	cmp dword [V_FRAME + 4], 0xf000	; CS
	check 6, e
	test dword [V_FRAME + 8], 0x20000	; VM in the pushed EFLAGS
	check 7, nz
	cmp dword [V_FRAME + 24], 0x0040	; DS pushed as it was in V86 mode
	check 8, e
	cmp dword [V_MARK], 0x86
	check 9, e
	cmp dword [V_V86CS], 0xf000
	check 9, e

	; Part 2, IOPL 0: IOPL-sensitive instructions fault.
	mov dword [V_STAGE], 2
	enter_v86 v86_part2, 0x20002

part2_done:
	cmp dword [V_STAGE], 2
	jne part3_done
	; Part 3: a task switch into a TSS with EFLAGS.VM set starts a V86 task.
	mov dword [V_STAGE], 3
	mov word [0x544], 0
	mov edi, VTSS
	xor eax, eax
	mov ecx, 0x68 / 4
	rep stosd
	mov dword [VTSS + 4], KSTACK - 0x400	; ESP0, SS0 for leaving V86 mode
	mov dword [VTSS + 8], SEL_D32
	mov dword [VTSS + 32], LOW(v86_part3)	; EIP
	mov dword [VTSS + 36], 0x23002		; EFLAGS: VM, IOPL 3
	mov dword [VTSS + 56], 0x5000		; ESP
	mov dword [VTSS + 76], 0xf000		; CS
	mov dword [VTSS + 84], 0x0050		; DS
	mov word [VTSS + 0x66], 0x68
	jmp 0x50:0
part3_done:
	cmp word [0x544], 0xf000	; CS, stored by the V86 task through DS = 0x50
	check 15, e
	str ax
	cmp ax, 0x50
	check 16, e
	jmp pass

	bits 16
v86_part1:
	mov ax, cs
	mov [V_V86CS], ax
	mov ax, 0x40
	mov ds, ax
	stc
	int 0x60			; IOPL 3: to the ring-0 handler and back
	check16 1, nc			; the handler returned CF clear
	xor ax, ax
	mov ds, ax
	cli
	sti
	pushf
	pop ax
	test ax, 0x200
	check16 2, nz
	; IRET inside V86 mode at IOPL 3.
	pushf
	push cs
	push word LOW(.iret_back)
	iret
.iret_back:
	mov dword [V_MARK], 0x86
	mov al, 0
	ud2

v86_part2:
	faulting16 cli
	cmp dword [V_VEC], 13
	check16 10, e
	cmp dword [V_ERR], 0
	check16 10, e
	faulting16 pushf
	cmp dword [V_VEC], 13
	check16 11, e
	push ax
	faulting16 popf
	pop ax
	cmp dword [V_VEC], 13
	check16 11, e
	faulting16 int 0x60
	cmp dword [V_VEC], 13
	check16 12, e
	cmp dword [V_ERR], 0
	check16 12, e
	faulting16 out 0xe9, al		; no I/O bitmap in TSS0: #GP(0)
	cmp dword [V_VEC], 13
	check16 13, e
	mov dword [V_HESP], 0		; INT3 is not IOPL-sensitive
	int3
	cmp dword [V_HESP], KSTACK - 36
	check16 14, e
	mov al, 0
	ud2

v86_part3:
	mov ax, cs
	mov [0x44], ax			; DS = 0x50: linear 0x544
	mov al, 0
	ud2

	bits 32
; INT 0x60 from V86 mode: record the ring-0 view, return with CF clear.
v86_int:
	mov [ss:V_HESP], esp
	push eax
	xor eax, eax
	mov ax, ds
	mov [ss:V_HDS], eax
	push ecx
	xor ecx, ecx
.copy:	mov eax, [esp + 8 + ecx * 4]
	mov [ss:V_FRAME + ecx * 4], eax
	inc ecx
	cmp ecx, 9
	jb .copy
	pop ecx
	pop eax
	and dword [esp + 8], ~1
	iretd

%include "pm_end.inc"
