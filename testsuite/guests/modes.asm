; fugu guest test: operating modes (SDM vol. 3A, chapters 2, 5, 6, 9). Real
; mode -> 32-bit protected mode (CPUID masking: run with -cpu max,-popcnt) ->
; IA-32e mode: a 64-bit TSS, IRETQ to ring 3, INT n from ring 3 with the RSP0
; stack switch and with an IST stack, a 64-bit call gate and RETFQ back,
; SYSCALL/SYSRET, CMPXCHG16B (and its alignment #GP), INVPCID, RDPMC, #PF/#SS
; error codes,
; IRETQ at the same privilege -> compatibility mode -> paging off (IA-32e mode
; off) -> 16-bit protected mode -> real mode, where an IVT interrupt still works.
%include "report.mac"
	org 0xf0000
%define TEST "modes"

%define LOW(x) ((x) - $$)
%macro GDT_EXTRA 0
	dw 0x0067, TSS64, 0x8900, 0x0000, 0, 0, 0, 0	; 0x50 64-bit TSS (16 bytes)
	dw 0xffff, 0x0000, 0xfa00, 0x00cf		; 0x60 ring-3 code, 32-bit (SYSRET base)
	dw 0xffff, 0x0000, 0xf200, 0x00cf		; 0x68 ring-3 data
	dw 0x0000, 0x0000, 0xfa00, 0x0020		; 0x70 ring-3 code, 64-bit
	dw 0x0000, 0x0000, 0x9a00, 0x0020		; 0x78 ring-0 code, 64-bit (SYSCALL)
	dw 0xffff, 0x0000, 0x9200, 0x00cf		; 0x80 ring-0 data
	dw LOW(cg64), SEL_C64, 0xec00, 0x000f, 0, 0, 0, 0 ; 0x88 64-bit call gate, DPL 3
%endmacro

%include "pm.inc"

IDT64	equ 0x3000
TSS64	equ 0x2200
ISTACK	equ 0x5000
PML4	equ 0x10000
PDPT	equ 0x11000
PD	equ 0x12000

V_RSP	equ 0x600		; RSP in a handler
V_PSS	equ 0x608		; SS, RSP, CS pushed
V_PRSP	equ 0x610
V_PCS	equ 0x618
V_ISTRSP equ 0x620
V_SCCS	equ 0x628		; SYSCALL: CS, SS, RCX, R11
V_SCSS	equ 0x630
V_SCRCX	equ 0x638
V_SCR11	equ 0x640
V_CGRSP	equ 0x648
V_CGCS	equ 0x650
V_CGRSP3 equ 0x658
V_CGSS	equ 0x660
V_REAL	equ 0x668
V_CR2	equ 0x670
V_16B	equ 0x700		; 16-byte aligned

%macro check64 2
	j%2 %%ok
	mov eax, %1
	jmp fail64
%%ok:
%endmacro

%macro expect64 3
	cmp dword [V_VEC], %2
	check64 %1, e
	cmp dword [V_ERR], %3
	check64 %1, e
%endmacro

main:
	; 1-2: CPUID masking: -popcnt clears CPUID.1:ECX[23] and POPCNT is #UD.
	mov eax, 1
	cpuid
	test ecx, 1 << 23
	check 1, z
	faulting popcnt eax, ebx
	expect 2, 6, 0xffffffff

	; Identity-map the first 2 MiB with one large page; nothing above 1 GiB.
	mov edi, PML4
	xor eax, eax
	mov ecx, 0x3000 / 4
	rep stosd
	mov dword [PML4], PDPT | 7
	mov dword [PDPT], PD | 7
	mov dword [PD], 0x87		; 2 MiB, user, writable
	; 64-bit TSS: RSP0 and IST1.
	mov edi, TSS64
	mov ecx, 0x68 / 4
	xor eax, eax
	rep stosd
	mov dword [TSS64 + 4], KSTACK
	mov dword [TSS64 + 0x24], ISTACK
	mov word [TSS64 + 0x66], 0x68
	; IA-32e mode: PAE, CR3, EFER.LME (+SCE), paging; then a 64-bit code segment.
	mov eax, cr4
	or eax, 0x20
	mov cr4, eax
	mov eax, PML4
	mov cr3, eax
	mov ecx, 0xc0000080
	rdmsr
	or eax, 0x101
	wrmsr
	mov eax, cr0
	or eax, 0x80000000
	mov cr0, eax
	jmp SEL_C64:long64

	bits 64
long64:
	mov ecx, 0xc0000080
	rdmsr
	test eax, 0x400			; LMA
	check64 3, nz
	mov ax, SEL_D32
	mov ss, ax
	; IDT64: #UD, #SS, #GP, #PF recording stubs; 0x40 (DPL 3), 0x41 (DPL 3, IST1),
	; 0x42 (DPL 3: back to ring 0).
	mov edi, IDT64
	xor eax, eax
	mov ecx, 0x1000 / 4
	rep stosd
	mov eax, 6
	mov ebx, stub64_6
	mov ecx, 0x8e00
	call set_gate64
	mov eax, 12
	mov ebx, stub64_12
	call set_gate64
	mov eax, 13
	mov ebx, stub64_13
	call set_gate64
	mov eax, 14
	mov ebx, stub64_14
	call set_gate64
	mov eax, 0x40
	mov ebx, int40_64
	mov ecx, 0xee00
	call set_gate64
	mov eax, 0x41
	mov ebx, int41_64
	mov ecx, 0xee01			; IST 1
	call set_gate64
	mov eax, 0x42
	mov ebx, back_to_ring0_64
	mov ecx, 0xee00
	call set_gate64
	lidt [idtr64]
	mov ax, 0x50
	ltr ax
	; SYSCALL: STAR CS 0x78 (SS 0x80), SYSRET base 0x60; LSTAR.
	mov ecx, 0xc0000081
	xor eax, eax
	mov edx, 0x00600078
	wrmsr
	mov ecx, 0xc0000082
	mov eax, syscall_target
	xor edx, edx
	wrmsr
	mov ecx, 0xc0000084		; FMASK: nothing
	xor eax, eax
	wrmsr

	; 4-5: #PF for an address above the mapped 1 GiB; #SS for a non-canonical
	; stack reference.
	faulting mov rax, [0x40000000]
	expect64 4, 14, 0
	cmp dword [V_CR2], 0x40000000
	check64 4, e
	mov rbp, 0x0000800000000000
	faulting mov rax, [rbp]
	expect64 5, 12, 0

	; 6: IRETQ to ring 3 (IOPL 3).
	push SEL_D32U
	push USTACK
	push 0x3002
	push SEL_C64U
	push ring3_64
	iretq

ring3_64:
	mov ax, cs
	cmp ax, SEL_C64U
	check64 6, e
	; 7-9: INT 0x40: RSP0 from the TSS (16-byte aligned), SS:RSP pushed.
	int 0x40
	cmp qword [V_RSP], KSTACK - 40
	check64 7, e
	cmp qword [V_PRSP], USTACK
	check64 8, e
	cmp qword [V_PSS], SEL_D32U
	check64 8, e
	cmp qword [V_PCS], SEL_C64U
	check64 9, e
	; 10: INT 0x41 runs on the IST1 stack.
	int 0x41
	cmp qword [V_ISTRSP], ISTACK - 40
	check64 10, e
	; 11-13: a 64-bit call gate to ring 0: 8-byte SS, RSP, CS, RIP on the RSP0 stack.
	call far [cg_ptr]
	cmp rsp, USTACK
	check64 11, e
	cmp qword [V_CGRSP], KSTACK - 32
	check64 12, e
	cmp qword [V_CGCS], SEL_C64U
	check64 13, e
	cmp qword [V_CGRSP3], USTACK
	check64 13, e
	cmp qword [V_CGSS], SEL_D32U
	check64 13, e
	mov ax, cs
	cmp ax, SEL_C64U
	check64 13, e
	; 14-17: SYSCALL and SYSRET.
	mov r11, 0
	syscall
.sc_back:
	cmp qword [V_SCCS], 0x78
	check64 14, e
	cmp qword [V_SCSS], 0x80
	check64 14, e
	lea rax, [rel .sc_back]
	cmp [V_SCRCX], rax
	check64 15, e
	test qword [V_SCR11], 0x3000		; R11 = RFLAGS (IOPL 3)
	check64 15, nz
	mov ax, cs
	cmp ax, 0x73
	check64 16, e
	mov ax, ss
	cmp ax, 0x6b
	check64 17, e
	int 0x42

back_to_ring0_64:
	mov ax, SEL_D32
	mov ss, ax
	mov rsp, KSTACK
	; 18-20: CMPXCHG16B: equal (stores RCX:RBX), unaligned #GP(0).
	mov qword [V_16B], 1
	mov qword [V_16B + 8], 2
	mov eax, 1
	mov edx, 2
	mov ebx, 3
	mov ecx, 4
	lock cmpxchg16b [V_16B]
	check64 18, z
	cmp qword [V_16B + 8], 4
	check64 18, e
	cmpxchg16b [V_16B]
	check64 19, nz
	cmp rax, 3
	check64 19, e
	faulting cmpxchg16b [V_16B + 8]
	expect64 20, 13, 0

	; 25-27: INVPCID (type 2 runs; type 4 is #GP(0)); RDPMC at CPL 0 reads counter 0
	; as 0 and #GP(0) for a counter the model lacks.
	mov qword [V_16B], 0
	mov qword [V_16B + 8], 0
	mov eax, 2
	faulting invpcid rax, [V_16B]
	cmp dword [V_VEC], 0xff
	check64 25, e
	mov eax, 4
	faulting invpcid rax, [V_16B]
	expect64 26, 13, 0
	xor ecx, ecx
	mov eax, -1
	mov edx, -1
	rdpmc
	or eax, edx
	check64 27, z
	mov ecx, 5
	faulting rdpmc
	expect64 27, 13, 0

	; 40-42: RDFSBASE/WRFSBASE/RDGSBASE/WRGSBASE (SDM vol. 2B): #UD while CR4.FSGSBASE
	; is clear; with it set they read and write the bases (a 64-bit write, a
	; 32-bit read that zero-extends); a non-canonical base is #GP(0).
	faulting rdfsbase rax
	expect64 40, 6, 0xffffffff
	mov rax, cr4
	or rax, 1 << 16
	mov cr4, rax
	mov rax, 0x123456789abc
	wrgsbase rax
	rdgsbase rbx
	cmp rbx, rax
	check64 41, e
	mov rcx, -1
	rdgsbase ecx
	cmp rcx, 0x56789abc
	check64 41, e
	mov rax, 0x0000800000000000
	faulting wrfsbase rax
	expect64 42, 13, 0
	mov rax, cr4
	and rax, ~(1 << 16)
	mov cr4, rax

	; 21: IRETQ at the same privilege pops SS:RSP too.
	mov rax, rsp
	push SEL_D32
	push rax
	pushfq
	push SEL_C64
	push .iq_back
	iretq
.iq_back:
	cmp rsp, rax
	check64 21, e

	; Leave: compatibility mode, paging off (IA-32e mode off), LME off.
	push SEL_C32
	push compat32
	o64 retf

	bits 32
compat32:
	mov ax, SEL_D32			; the return to ring 3 nulled DS/ES (DPL 0)
	mov ds, ax
	mov es, ax
	mov eax, cr0
	and eax, 0x7fffffff
	mov cr0, eax
	mov ecx, 0xc0000080
	rdmsr
	test eax, 0x400			; LMA went with PG
	check 22, z
	and eax, ~0x100
	wrmsr
	mov eax, cr4
	and eax, ~0x20
	mov cr4, eax
	lidt [idtr]
	; 23: still a working protected mode: an exception through the 32-bit IDT.
	faulting ud2
	expect 23, 6, 0xffffffff
	jmp SEL_C16:LOW(pm16)

	bits 16
pm16:
	mov ax, SEL_D16
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov eax, cr0
	and al, ~1
	mov cr0, eax
	jmp 0xf000:LOW(real16)
real16:
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7000
	lidt [cs:LOW(ivtr)]
	mov word [0x60 * 4], LOW(int60)
	mov word [0x60 * 4 + 2], 0xf000
	mov byte [V_REAL], 0
	int 0x60
	cmp byte [V_REAL], 1
	je .ok
	mov al, 24
	jmp fail16
.ok:	mov si, LOW(pass_msg)
	call puts16
	mov al, 0
	out 0xf4, al
	hlt

int60:
	mov byte [V_REAL], 1
	iret

fail16:
	mov bl, al
	mov si, LOW(fail_msg)
	call puts16
	report_number_and_exit
	hlt

puts16:
	cs lodsb
	test al, al
	jz .done
	out 0xe9, al
	jmp puts16
.done:	ret

ivtr:	dw 0x3ff
	dd 0

	bits 64
; set_gate64: IDT64[eax] = gate to SEL_C64:ebx, type/DPL/IST bits in ecx.
set_gate64:
	push rdi
	push rdx
	mov edi, eax
	shl edi, 4
	add edi, IDT64
	mov edx, ebx
	and edx, 0xffff
	or edx, SEL_C64 << 16
	mov [rdi], edx
	mov edx, ebx
	and edx, 0xffff0000
	or edx, ecx
	mov [rdi + 4], edx
	mov qword [rdi + 8], 0
	pop rdx
	pop rdi
	ret

; 64-bit recording stubs (see pm.inc's 32-bit ones).
stub64_6:
	push -1
	push 6
	jmp exc64
stub64_12:
	push 12
	jmp exc64
stub64_13:
	push 13
	jmp exc64
stub64_14:
	push 14
	jmp exc64
exc64:
	push rax
	mov rax, [rsp + 8]
	mov [V_VEC], eax
	mov rax, [rsp + 16]
	mov [V_ERR], eax
	mov rax, [rsp + 24]
	mov [V_EIP], eax
	mov rax, cr2
	mov [V_CR2], eax
	mov eax, [V_RESUME]
	test eax, eax
	jz .ret
	mov [rsp + 24], rax
.ret:	pop rax
	add rsp, 16
	iretq

int40_64:
	mov [V_RSP], rsp
	push rax
	mov rax, [rsp + 8 + 8]
	mov [V_PCS], rax
	mov rax, [rsp + 8 + 24]
	mov [V_PRSP], rax
	mov rax, [rsp + 8 + 32]
	mov [V_PSS], rax
	pop rax
	iretq

int41_64:
	mov [V_ISTRSP], rsp
	iretq

cg64:
	mov [V_CGRSP], rsp
	mov rax, [rsp + 8]
	mov [V_CGCS], rax
	mov rax, [rsp + 16]
	mov [V_CGRSP3], rax
	mov rax, [rsp + 24]
	mov [V_CGSS], rax
	o64 retf

syscall_target:
	xor eax, eax
	mov ax, cs
	mov [V_SCCS], rax
	mov ax, ss
	mov [V_SCSS], rax
	mov [V_SCRCX], rcx
	mov [V_SCR11], r11
	o64 sysret

fail64:
	mov ebx, eax
	mov rsi, fail_msg
.next:	lodsb
	test al, al
	jz .num
	out 0xe9, al
	jmp .next
.num:	mov eax, ebx
	xor edx, edx
	mov ecx, 10
	div ecx
	add al, '0'
	out 0xe9, al
	mov al, dl
	add al, '0'
	out 0xe9, al
	mov al, 10
	out 0xe9, al
	mov eax, ebx
	out 0xf4, al
	hlt

cg_ptr:	dq 0			; m16:64 (nasm adds REX.W to CALL FAR in 64-bit code)
	dw 0x8b

idtr64:	dw 0xfff
	dq IDT64

	bits 32
%include "pm_end.inc"
