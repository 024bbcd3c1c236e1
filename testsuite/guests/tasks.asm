; fugu guest test: hardware task switching (SDM vol. 3A, chapter 7): JMP to a
; TSS and back (busy bits, saved EIP, registers from the TSS, CR0.TS); CALL
; through a task gate and IRET back (NT, back link); INT n through a task gate
; in the IDT; an exception through a task gate with its error code on the new
; task's stack; a bad LDT in the new TSS (#TS(LDT) in the new task); the T bit
; (#DB with DR6.BT); a busy TSS (#GP); IRET with NT to an available TSS (#TS);
; a 16-bit TSS.
	org 0xf0000
%define TEST "tasks"

%define LOW(x) ((x) - $$)
%macro GDT_EXTRA 0
	dw 0x0067, 0x2100, 0x8900, 0x0000	; 0x50 TSS1
	dw 0x0067, 0x2200, 0x8900, 0x0000	; 0x58 TSS2
	dw 0x0000, 0x0058, 0x8500, 0x0000	; 0x60 task gate -> TSS2
	dw 0x0067, 0x2300, 0x8900, 0x0000	; 0x68 TSS3 (IDT 0x50, #NP)
	dw 0x0067, 0x2400, 0x8900, 0x0000	; 0x70 TSS4: bad LDT
	dw 0x0067, 0x2500, 0x8900, 0x0000	; 0x78 TSS5: T bit
	dw 0xffff, 0x0000, 0x9200, 0x00cf	; 0x80 data (not an LDT)
	dw 0x002b, 0x2600, 0x8100, 0x0000	; 0x88 16-bit TSS
	dw 0xffff, 0x0000, 0x1200, 0x00cf	; 0x90 data, not present
%endmacro

%include "pm.inc"

TSS1	equ 0x2100
TSS2	equ 0x2200
TSS3	equ 0x2300
TSS4	equ 0x2400
TSS5	equ 0x2500
TSS16	equ 0x2600

V_T1EAX	equ 0x600
V_T1TR	equ 0x604
V_T1FL	equ 0x608
V_T2FL	equ 0x60c
V_T2LINK equ 0x610
V_T3ERR	equ 0x614
V_T3RUN	equ 0x618
V_PHASE	equ 0x61c
V_T16	equ 0x620
V_T2BUSY0 equ 0x624

; make_tss: a 32-bit TSS at edi: EIP ebx, ESP edx, EAX ecx, flat ring-0 segments.
make_tss:
	push eax
	push edi
	push ecx
	xor eax, eax
	mov ecx, 0x68 / 4
	rep stosd
	pop ecx
	pop edi
	mov [edi + 32], ebx
	mov dword [edi + 36], 2
	mov [edi + 40], ecx
	mov [edi + 56], edx
	mov dword [edi + 72], SEL_D32
	mov dword [edi + 76], SEL_C32
	mov dword [edi + 80], SEL_D32
	mov dword [edi + 84], SEL_D32
	mov dword [edi + 88], SEL_D32
	mov dword [edi + 92], SEL_D32
	mov word [edi + 0x66], 0x68
	pop eax
	ret

main:
	mov edi, TSS1
	mov ebx, task1
	mov edx, 0x5000
	mov ecx, 0x1111
	call make_tss
	mov edi, TSS2
	mov ebx, task2
	mov edx, 0x4e00
	call make_tss
	mov edi, TSS3
	mov ebx, task3
	mov edx, 0x4c00
	call make_tss
	mov edi, TSS4
	mov ebx, task1
	mov edx, 0x4a00
	call make_tss
	mov dword [TSS4 + 96], 0x80	; LDT selector naming a data segment
	mov edi, TSS5
	mov ebx, task5
	mov edx, 0x4800
	call make_tss
	mov word [TSS5 + 100], 1	; T
	; 16-bit TSS: IP, FLAGS, AX..DI, ES CS SS DS, LDT.
	mov word [TSS16 + 14], LOW(task16)
	mov word [TSS16 + 16], 2
	mov word [TSS16 + 18 + 4 * 2], 0x4600	; SP
	mov word [TSS16 + 34], SEL_D16
	mov word [TSS16 + 36], SEL_C16
	mov word [TSS16 + 38], SEL_D16
	mov word [TSS16 + 40], SEL_D16
	mov word [TSS16 + 42], 0
	; IDT 0x50: task gate to TSS3.
	mov dword [IDT + 0x50 * 8], 0x00680000
	mov dword [IDT + 0x50 * 8 + 4], 0x0000e500

	; 1-6: JMP to TSS1; task1 JMPs back to TSS0.
	clts
	mov eax, 0x5555
	jmp 0x50:0
t1_back:
	cmp eax, 0x5555			; our registers came back from TSS0
	check 1, e
	cmp dword [V_T1EAX], 0x1111	; task1 got its EAX from TSS1
	check 2, e
	cmp dword [V_T1TR], 0x50
	check 3, e
	test dword [V_T1FL], 0x4000	; JMP: no NT
	check 4, z
	cmp dword [TSS0 + 32], t1_back	; the EIP saved in TSS0
	check 5, e
	test byte [GDT + 0x50 + 5], 2	; TSS1 no longer busy
	check 6, z
	mov eax, cr0
	test eax, 8			; CR0.TS
	check 6, nz
	clts

	; 7-10: CALL through a task gate: NT and the back link; IRET returns.
	call 0x60:0
	test dword [V_T2FL], 0x4000
	check 7, nz
	cmp dword [V_T2LINK], 0x28
	check 8, e
	cmp dword [V_T2BUSY0], 1	; TSS0 stayed busy during the nested task
	check 9, e
	test byte [GDT + 0x58 + 5], 2	; TSS2 free again after its IRET
	check 10, z
	pushfd
	pop eax
	test eax, 0x4000
	check 10, z

	; 11: INT 0x50 through the task gate in the IDT.
	mov dword [V_T3RUN], 0
	int 0x50
	cmp dword [V_T3RUN], 1
	check 11, e

	; 12-13: #NP through a task gate: its error code on the new task's stack.
	mov dword [IDT + 11 * 8], 0x00680000
	mov dword [IDT + 11 * 8 + 4], 0x0000e500
	mov dword [V_T3ERR], 0
	mov ax, 0x90
	mov ds, ax			; #NP(0x90) -> task3, which resumes us after it
np_back:
	mov ax, SEL_D32
	mov ds, ax
	cmp dword [V_T3RUN], 2
	check 12, e
	cmp dword [V_T3ERR], 0x90
	check 13, e
	mov eax, 11
	mov ebx, exc_stub_11
	mov ecx, 0x8e00
	call set_gate

	; 14-15: a TSS with a bad LDT selector: #TS(0x80) in the new task.
	mov dword [V_PHASE], 0
	faulting jmp 0x70:0
	cmp dword [V_PHASE], 0
	jne .back4
	mov dword [V_PHASE], 1
	expect 14, 10, 0x80
	str ax
	cmp ax, 0x70
	check 15, e
	jmp 0x28:0			; back to TSS0: resumes after the JMP above
.back4:
	str ax
	cmp ax, SEL_TSS0
	check 15, e

	; 16-17: the T bit: #DB with DR6.BT before the new task's first instruction.
	xor eax, eax
	mov dr6, eax
	mov dword [V_VEC], 0xff
	jmp 0x78:0
	cmp dword [V_VEC], 1
	check 16, e
	mov eax, dr6
	test eax, 0x8000
	check 17, nz

	; 18: JMP to the busy current TSS: #GP(sel).
	faulting jmp 0x28:0
	expect 18, 13, 0x28

	; 19: IRET with NT whose back link names an available TSS: #TS(link).
	mov word [TSS0], 0x50
	pushfd
	or dword [esp], 0x4000
	popfd
	faulting iretd
	expect 19, 10, 0x50
	pushfd
	and dword [esp], ~0x4000
	popfd

	; 20: a 16-bit TSS.
	mov dword [V_T16], 0
	jmp 0x88:0
	cmp dword [V_T16], 0x1616
	check 20, e
	clts
	jmp pass

task1:
	mov [V_T1EAX], eax
	str ax
	movzx eax, ax
	mov [V_T1TR], eax
	pushfd
	pop eax
	mov [V_T1FL], eax
	jmp 0x28:0

task2:
	pushfd
	pop eax
	mov [V_T2FL], eax
	movzx eax, word [TSS2]
	mov [V_T2LINK], eax
	movzx eax, byte [GDT + 0x28 + 5]
	shr eax, 1
	and eax, 1
	mov [V_T2BUSY0], eax
	iretd
	jmp task2

task3:					; INT 0x50, then #NP with an error code
	inc dword [V_T3RUN]
	cmp dword [V_T3RUN], 2
	jne .ret
	pop eax
	mov [V_T3ERR], eax
	mov dword [TSS0 + 32], np_back	; resume after the faulting MOV
.ret:	iretd
	jmp task3			; the next switch to TSS3 resumes here

task5:
	jmp 0x28:0

	bits 16
task16:
	mov dword [V_T16], 0x1616
	jmp 0x28:0
	bits 32

%include "pm_end.inc"
