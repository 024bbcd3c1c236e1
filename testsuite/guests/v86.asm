; fugu guest test: virtual-8086 mode (SDM vol. 3A, chapter 20): IRET from
; ring 0 into V86 mode; INT n from V86 (IOPL 3) to a ring-0 handler on the TSS
; stack with GS/FS/DS/ES pushed and zeroed, IRET back to V86; IRET, CLI/STI and
; PUSHF/POPF inside V86 at IOPL 3; at IOPL 0 CLI, PUSHF, POPF, INT n raise
; #GP(0) (INT3 does not) and port I/O goes by the TSS I/O bitmap; an exception
; leaves V86 mode; a task switch to a TSS with EFLAGS.VM starts a V86 task.
; With CR4.VME at IOPL 0 (20.4): CLI/STI/PUSHF/POPF/IRET use VIF, the images
; carry IOPL 3 and IF = VIF, TF (or IF while VIP) in a popped image and 32-bit
; PUSHF are #GP(0), INT n goes by the TSS's redirection bitmap: to the V86 IVT
; (VIF cleared, IRET restores it) or, bit set, #GP(0); STI with VIP is #GP(0).
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
V_IVTFL	equ 0x64c		; FLAGS image pushed by a redirected INT n (IOPL, IF bits)

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
	cmp dword [V_STAGE], 3
	jne part4_done
	cmp word [0x544], 0xf000	; CS, stored by the V86 task through DS = 0x50
	check 15, e
	str ax
	cmp ax, 0x50
	check 16, e
	; Part 4, IOPL 0 with CR4.VME, VIF set. The redirection bitmap is the 32
	; bytes below the I/O map base (0x68) of the current TSS (0x50).
	mov dword [V_STAGE], 4
	mov dword [V_MARK], 0
	mov byte [VTSS + 0x48 + 0x60 / 8], 0x02	; INT 0x61 by the IDT, 0x60 redirected
	mov word [0x60 * 4], LOW(v86_ivt60)
	mov word [0x60 * 4 + 2], 0xf000
	mov eax, cr4
	or eax, 1			; CR4.VME
	mov cr4, eax
	enter_v86 v86_part4, 0xa0002	; VM, VIF, IOPL 0
part4_done:
	cmp dword [V_STAGE], 4
	jne part5_done
	cmp dword [V_MARK], 0x4e
	check 17, e
	; Part 5: VIP set, VIF clear.
	mov dword [V_STAGE], 5
	enter_v86 v86_part5, 0x120002	; VM, VIP, IOPL 0
part5_done:
	cmp dword [V_MARK], 0x5e
	check 18, e
	mov eax, cr4
	and eax, ~1
	mov cr4, eax
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

v86_part4:
	cli				; VIF = 0
	pushf
	pop ax
	and ax, 0x3200
	cmp ax, 0x3000			; the image: IOPL 3, IF = VIF = 0
	check16 20, e
	sti				; VIF = 1
	pushf
	pop ax
	and ax, 0x3200
	cmp ax, 0x3200
	check16 21, e
	push word 0
	popf				; VIF from the image's IF
	pushf
	pop ax
	test ax, 0x200
	check16 22, z
	push word 0x0100
	faulting16 popf			; TF in the image: #GP(0)
	cmp dword [V_VEC], 13
	check16 23, e
	pop ax
	faulting16 pushfd		; 32-bit operand size: #GP(0)
	cmp dword [V_VEC], 13
	check16 24, e
	faulting16 int 0x61		; bit set in the redirection bitmap, IOPL 0: #GP(0)
	cmp dword [V_VEC], 13
	check16 25, e
	cmp dword [V_ERR], 0
	check16 25, e
	sti
	int 0x60			; redirected to IVT[0x60], in V86 mode
	cmp dword [V_MARK], 0x60
	check16 26, e
	cmp word [V_IVTFL], 0x3200	; the pushed image: IOPL 3, IF = VIF = 1
	check16 27, e
	pushf
	pop ax
	test ax, 0x200			; VIF restored by the handler's IRET
	check16 28, nz
	push word 0x0100		; IRET to an image with TF: #GP(0)
	push cs
	push word LOW(.bad)
	faulting16 iret
	cmp dword [V_VEC], 13
	check16 29, e
	add sp, 6
	mov dword [V_MARK], 0x4e
	mov al, 0
	ud2
.bad:	mov al, 30
	ud2

; IVT[0x60] of part 4: VIF clear on entry, the pushed frame recorded.
v86_ivt60:
	pushf
	pop ax
	test ax, 0x200
	check16 31, z
	mov bp, sp
	cmp word [bp + 2], 0xf000	; CS
	check16 32, e
	mov ax, [bp + 4]		; FLAGS image
	and ax, 0x3200
	mov [V_IVTFL], ax
	mov dword [V_MARK], 0x60
	iret

v86_part5:
	faulting16 sti			; VIP set: #GP(0)
	cmp dword [V_VEC], 13
	check16 40, e
	push word 0x0200
	faulting16 popf			; IF in the image while VIP: #GP(0)
	cmp dword [V_VEC], 13
	check16 41, e
	pop ax
	cli
	mov dword [V_MARK], 0x5e
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
