; fugu guest test: the JIT's (cpu/jit) memory forms in 32-bit protected mode
; (flat segments, 2-level paging with 4 MiB pages, CR4.PSE), in loops that run
; often enough to be compiled (-jit on compiles a trace after 16 runs; every
; loop here runs at least 64 times). It passes on the interpreter too: every
; check is architectural. Checks:
;  1  a page fault in the middle of a compiled loop (a load through
;     [base + index * 4] reaching an unmapped page): the fault at the load
;     (EIP, CR2, error code 0: a supervisor read of a not-present page, SDM
;     vol. 3A, 4.7), every general register as before the load, and the
;     flags of the SUB before it (SF set, CF/ZF/OF/AF/PF clear)
;  2  a store and loads at linear FFFFFFFEh: a dword there wraps to linear 0
;     (vol. 3A, 3.3.1: 32-bit linear addresses; mem.c seg_linear), and
;     [EBX + 4] with EBX = FFFFFFFEh is the effective address 2 (the address
;     size is 32 bits: vol. 2A, 2.1.5)
;  3  a segment limit: a loop compiled with DS flat (base 0, 4 GiB), run
;     again after DS is loaded with a 1 MiB limit, faults with #GP(0) at the
;     first load past the limit (vol. 3A, 5.3), its 17th round: the compiled
;     loop is running by then
; The first failure prints "jit32: FAIL n" and exits with n; success prints
; "jit32: PASS" and exits with 0 (fugu status 1).
	bits 16
	org 0

ROMBASE	equ 0xf0000
PD	equ 0x10000		; the page directory: 4 MiB pages
IDT	equ 0x14000
STACK	equ 0x80000
SAVE	equ 0x30000		; the fault handler's copy: PUSHAD, error code, EIP, CS, EFLAGS
SAVE_CR2 equ SAVE + 48
VEC	equ SAVE + 52		; the vector the handler saw
RESUME	equ SAVE + 56		; where the handler returns to

%macro check 2 ; check <number>, <condition code that means success>
	j%2 %%ok
	mov bl, %1
	jmp fail
%%ok:
%endmacro

start:
	cli
	o32 lgdt [cs:gdt_desc]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp dword 0x08:(ROMBASE + pm32)

	bits 32
pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov esp, STACK
	; PD[0] = 0-4 MiB, PD[1] (4-8 MiB) not present, PD[1023] = linear
	; FFC00000h-FFFFFFFFh on physical 4-8 MiB
	mov edi, PD
	xor eax, eax
	mov ecx, 1024
	rep stosd
	mov dword [PD], 0x000083
	mov dword [PD + 1023 * 4], 0x400083
	mov eax, cr4
	or eax, 1 << 4		; PSE
	mov cr4, eax
	mov eax, PD
	mov cr3, eax
	mov eax, cr0
	or eax, 1 << 31
	mov cr0, eax
	; IDT: #GP (13) and #PF (14), 32-bit interrupt gates
	mov edi, IDT
	mov eax, ROMBASE + gp_handler
	mov ebx, 13
	call set_gate
	mov eax, ROMBASE + pf_handler
	mov ebx, 14
	call set_gate
	lidt [ROMBASE + idt_desc]

; ---- 1: #PF in the middle of a compiled loop ----
	mov dword [RESUME], ROMBASE + t1_back
	xor eax, eax
	mov ebx, 0x400000 - 100 * 4
	xor ecx, ecx
	xor edx, edx
	mov esi, 0x1234
	mov edi, 0x5678
	mov ebp, 0x9abc
t1_loop:
	sub edx, ecx		; EDX = -(0 + 1 + ... + ECX)
t1_load:
	mov eax, [ebx + ecx * 4] ; faults at ECX = 100
	add esi, eax
	inc ecx
	cmp ecx, 200
	jb t1_loop
	mov bl, 1
	jmp fail		; no fault
t1_back:
	cmp dword [VEC], 14
	check 1, e
	cmp dword [SAVE + 36], ROMBASE + t1_load	; EIP
	check 1, e
	cmp dword [SAVE + 32], 0			; error code
	check 1, e
	cmp dword [SAVE_CR2], 0x400000
	check 1, e
	cmp dword [SAVE + 28], 0			; EAX: the loads read zeros
	check 1, e
	cmp dword [SAVE + 16], 0x400000 - 100 * 4	; EBX
	check 1, e
	cmp dword [SAVE + 24], 100			; ECX
	check 1, e
	cmp dword [SAVE + 20], -5050			; EDX
	check 1, e
	cmp dword [SAVE + 4], 0x1234			; ESI
	check 1, e
	cmp dword [SAVE], 0x5678			; EDI
	check 1, e
	cmp dword [SAVE + 8], 0x9abc			; EBP
	check 1, e
	mov eax, [SAVE + 44]				; EFLAGS of SUB -4950 - 100
	and eax, 0x8d5					; OF SF ZF AF PF CF
	cmp eax, 0x80
	check 1, e

; ---- 2: an access at FFFFFFFEh wraps to linear 0 ----
	mov dword [0], 0
	mov dword [4], 0xaabbccdd
	mov ebx, 0xfffffffe
	mov ecx, 64
	mov eax, 0x11223344
t2_loop:
	mov [ebx], eax
	mov edx, [ebx]
	mov edi, [ebx + 4]	; effective address 2
	add eax, 0
	dec ecx
	jnz t2_loop
	cmp edx, 0x11223344
	check 2, e
	cmp edi, 0xccdd0000
	check 2, e
	cmp word [0], 0x1122
	check 2, e
	mov eax, [0xfffffffc]
	shr eax, 16
	cmp eax, 0x3344
	check 2, e

; ---- 3: a segment limit after the loop was compiled with DS flat ----
	call t3_probe		; DS flat: no fault
	mov dword [RESUME], ROMBASE + t3_back
	mov dword [VEC], 0
	mov ax, 0x18		; data, limit 1 MiB - 1, byte granular
	mov ds, ax
	call t3_probe		; DS.limit < 0x200000: #GP(0)
	mov bl, 3
	jmp fail
t3_back:
	mov ax, 0x10
	mov ds, ax
	cmp dword [VEC], 13
	check 3, e
	cmp dword [SAVE + 36], ROMBASE + t3_load
	check 3, e
	cmp dword [SAVE + 4], 0x100000			; ESI: the first byte past the limit
	check 3, e
	cmp dword [SAVE + 32], 0
	check 3, e

	mov esi, ROMBASE + pass_msg
	call print
	xor eax, eax
	out 0xf4, al
.halt:	hlt
	jmp .halt

t3_probe:
	mov ecx, 64
	mov esi, 0x100000 - 16 * 0x1000
t3_loop:
t3_load:
	mov eax, [esi]
	add edx, eax
	add esi, 0x1000
	dec ecx
	jnz t3_loop
	ret

fail:	mov ax, 0x10
	mov ds, ax
	mov esi, ROMBASE + fail_msg
	call print
	movzx eax, bl
	mov cl, 10
	div cl			; AL = tens, AH = units
	add ax, 0x3030
	out 0xe9, al
	mov al, ah
	out 0xe9, al
	mov al, 10
	out 0xe9, al
	mov al, bl
	out 0xf4, al
.halt:	hlt
	jmp .halt

print:	lodsb
	test al, al
	jz .done
	out 0xe9, al
	jmp print
.done:	ret

; EAX = the handler, EBX = the vector: a 32-bit interrupt gate, selector 0x08.
set_gate:
	mov [IDT + ebx * 8], ax
	mov word [IDT + ebx * 8 + 2], 0x08
	mov word [IDT + ebx * 8 + 4], 0x8e00
	shr eax, 16
	mov [IDT + ebx * 8 + 6], ax
	ret

gp_handler:
	mov dword [ss:VEC], 13
	jmp fault
pf_handler:
	mov dword [ss:VEC], 14
fault:	; copy PUSHAD, the error code and the frame to SAVE; return to [RESUME]
	pushad
	push ds
	push es
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	lea esi, [esp + 8]
	mov edi, SAVE
	mov ecx, 12
	cld
	rep movsd
	mov eax, cr2
	mov [SAVE_CR2], eax
	mov eax, [RESUME]
	mov [esp + 8 + 36], eax
	pop es
	pop ds
	popad
	add esp, 4		; the error code
	iret

	align 8
gdt:	dq 0
	dq 0x00cf9b000000ffff	; 0x08: 32-bit code, flat
	dq 0x00cf93000000ffff	; 0x10: data, flat
	dq 0x004f93000000ffff	; 0x18: data, base 0, limit FFFFFh byte-granular
gdt_desc:
	dw gdt_desc - gdt - 1
	dd ROMBASE + gdt
idt_desc:
	dw 256 * 8 - 1
	dd IDT
pass_msg: db "jit32: PASS", 10, 0
fail_msg: db "jit32: FAIL ", 0

	bits 16
	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
