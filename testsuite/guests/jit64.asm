; fugu guest test: what the JIT (cpu/jit) must get exactly right, in 64-bit
; code that runs often enough to be compiled (-jit on compiles a trace after 16
; runs; every loop here runs at least 64 times). It passes on the interpreter
; too: every check is architectural. Checks:
;  1  a store into the trace that is running (the next instruction's
;     immediate): the new bytes run at once (SDM vol. 3A, 11.6)
;  2  a store into code on the next page, then a jump there
;  3  a store through a second mapping of the code's physical page
;  4  flags live across CALL/RET: a CMP before a call decides a Jcc after it
;  5  a page fault in the middle of a compiled trace: RIP, CR2, RFLAGS and
;     every general register as they were before the faulting load
;  6  an INT3 written over an instruction of a running loop (as Linux's
;     text_poke does): #BP once, the handler puts the byte back
;  7  a load and a store that cross a page boundary
;  8  an instruction that crosses a page boundary, run in a loop
;  9  flags live across interrupts: a loop whose every result depends on
;     CF (ADC, SBB) gives the same checksum with the PIT interrupting it
;     (8259 at vector 20h, about 12 kHz) as with interrupts off
; 10  MUL, IMUL, DIV, IDIV (32 and 64 bits, one operand) and conditions on
;     flags the compiler cannot know (after POPF, after XADD, CF after INC):
;     a checksum over 200 rounds equal to t10_sum (testsuite/guests/jit64_model.py)
; 11  #DE from a DIV in a compiled loop (the divisor reaches 0): the fault
;     at the DIV with RAX, RDX and the flags untouched (SDM vol. 2A, DIV)
; 12  indirect CALL through a table in memory and through a register, an
;     indirect JMP, LEAVE, CQO and IDIV: a checksum over 300 rounds (T12_SUM)
; 13  REP STOSB longer than a REP's yield (REP_CHUNK), REP MOVSQ and REP MOVSB
;     onto their own source (forward, overlapping: the first element repeats,
;     SDM vol. 2B, MOVS), RCX/RSI/RDI at the end
; 14  TZCNT, LZCNT, BSF and BSR (64 and 32 bits, register and memory source,
;     zero sources included) after a CMP: the count/index, the destination a
;     zero source leaves alone, and every arithmetic flag (the CMP's where
;     TZCNT/LZCNT leave them; SDM vol. 2A BSF, BSR, LZCNT; vol. 2B TZCNT):
;     a checksum over 300 rounds equal to T14_SUM (jit64_model.py)
; 15  LOCK CMPXCHG and CMPXCHG (64 and 32 bits, equal and not: RAX unchanged
;     when equal, the destination zero-extended into RAX when not), LOCK ADD,
;     LOCK INC and LOCK XADD of memory: values and every arithmetic flag (SDM vol. 2A
;     CMPXCHG, ADD, INC, XADD, LOCK): a checksum over 300 rounds equal to
;     T15_SUM
; The first failure prints "jit64: FAIL n" and exits with n; success prints
; "jit64: PASS" and exits with 0 (fugu status 1).
	bits 16
	org 0
%include "long.inc"

ROMBASE	equ 0xf0000
PML4	equ 0x10000		; PML4, PDPT, PD: 2 MiB pages
IDT	equ 0x14000
STACK	equ 0x80000
RAMCODE	equ 0x21000		; the RAM copy of ram_block (pages 0x21000-0x22fff)
ALIAS	equ 0x400000		; PD entry 2 maps linear 4 MiB onto physical 0
UNMAPPED equ 0x800000		; PD entry 4 is not present
DATA	equ 0x30000		; scratch data; 0x30ffc..0x31003 crosses a page
PF_SEEN	equ DATA + 0x100	; set by the handlers (the ROM is not writable)
BP_SEEN	equ DATA + 0x101
TICKS	equ DATA + 0x108	; timer interrupts taken
DE_SEEN	equ DATA + 0x102
STR13	equ DATA + 0x1000	; test 13's buffer (10000 bytes)
T12_SUM	equ 0x3c4a1	; test 12's checksum (jit64_model.py)
T14_SUM	equ 0x68efa93a9d7a9828	; test 14's checksum (jit64_model.py)
T15_SUM	equ 0x438ade9b3689aa98	; test 15's checksum (jit64_model.py)
T10_SUM	equ 0xe6ae488edea7f391	; test 10's checksum (jit64_model.py)
T9_ITER	equ 500000

%define R(label) (RAMCODE + (label) - ram_block)

%macro xorshift64 1 ; <reg>: one xorshift64 step (13, 7, 17) of the register, RAX clobbered
	mov rax, %1
	shl rax, 13
	xor %1, rax
	mov rax, %1
	shr rax, 7
	xor %1, rax
	mov rax, %1
	shl rax, 17
	xor %1, rax
%endmacro

%macro check 2 ; check <number>, <condition code that means success>
	j%2 %%ok
	mov bl, %1
	jmp fail
%%ok:
%endmacro

	long_mode_entry 0, 0

lm64:
	mov rsp, STACK
	mov dword [PML4 + 0x2010], 0x000083	; PD entry 2: the alias of the first 2 MiB
	; IDT: every vector to `unexpected`, #BP and #PF to their handlers
	mov rdi, IDT
	mov ecx, 256
	mov rax, ROMBASE + unexpected
.idt:	call set_gate
	add rdi, 16
	dec ecx
	jnz .idt
	mov rdi, IDT + 3 * 16
	mov rax, ROMBASE + bp_handler
	call set_gate
	mov rdi, IDT + 14 * 16
	mov rax, ROMBASE + pf_handler
	call set_gate
	mov rdi, IDT + 0x20 * 16
	mov rax, ROMBASE + timer_handler
	call set_gate
	mov rdi, IDT
	mov rax, ROMBASE + de_handler
	call set_gate
	lidt [rel idt_desc]
	; the RAM copy of the code the tests patch
	mov rsi, ROMBASE + ram_block
	mov rdi, RAMCODE
	mov ecx, ram_end - ram_block
	rep movsb

	; 1: the running trace patches its next instruction's immediate
	xor ebx, ebx
.t1:	mov rax, R(t1_code)
	call rax
	call expected
	check 1, e
	inc ebx
	cmp ebx, 64
	jb .t1

	; 2: code on the next page, patched from this page, then run
	xor ebx, ebx
.t2:	mov rax, R(t2_code)
	call rax
	call expected
	check 2, e
	inc ebx
	cmp ebx, 64
	jb .t2

	; 3: a store through the alias mapping, then run through the first
	xor ebx, ebx
.t3:	mov rax, R(t3_code)
	call rax
	call expected
	check 3, e
	inc ebx
	cmp ebx, 64
	jb .t3

	; 4: flags across CALL/RET
	xor ebx, ebx
	xor r12d, r12d
.t4:	mov rax, rbx
	and eax, 1
	cmp eax, 1		; CF = 1 exactly when the counter is even
	call flag_keeper
	jb .t4even
	inc r12d
.t4even:
	inc ebx
	cmp ebx, 64
	jb .t4
	cmp r12d, 32
	check 4, e

	; 5: a #PF in the middle of a compiled trace
	mov rax, R(t5_code)
	mov rdi, DATA
	mov ecx, 100
.t5:	push rcx
	call rax
	pop rcx
	dec ecx
	jnz .t5
	mov byte [PF_SEEN], 0
	mov rdi, UNMAPPED
	mov ecx, 0x55
	call rax		; faults; pf_handler checks and resumes after the load
	cmp byte [PF_SEEN], 1
	check 5, e

	; 6: INT3 written over the first byte of an instruction in a hot loop
	mov byte [BP_SEEN], 0
	xor ebx, ebx
	mov rax, R(t6_code)
.t6:	call rax
	inc ebx
	cmp ebx, 64
	jb .t6
	cmp byte [BP_SEEN], 1
	check 6, e
	cmp edx, 64		; the patched instruction ran every time, once after #BP
	check 6, e

	; 7: page-crossing data: 8 bytes at 0x30ffc
	mov rdi, DATA + 0xffc
	mov rax, 0x1122334455667788
	xor ebx, ebx
.t7:	mov [rdi], rax
	mov rdx, [rdi]
	cmp rdx, rax
	check 7, e
	mov edx, [DATA + 0x1000]
	mov rcx, rax
	shr rcx, 32
	cmp edx, ecx
	check 7, e
	rol rax, 8
	inc ebx
	cmp ebx, 64
	jb .t7

	; 8: an instruction across a page boundary (ends at R(t8_cross_end))
	xor ebx, ebx
.t8:	mov rax, R(t8_code)
	call rax
	mov rcx, 0x0102030405060708
	cmp rax, rcx
	check 8, e
	inc ebx
	cmp ebx, 64
	jb .t8

	; 9: the same CF-driven loop with and without the PIT interrupting it
	call t9_loop
	mov r12, rax
	mov al, 0x11		; 8259: ICW1-4, IRQ0-7 at vector 20h, only IRQ0 unmasked
	out 0x20, al
	mov al, 0x20
	out 0x21, al
	mov al, 0x04
	out 0x21, al
	mov al, 0x01
	out 0x21, al
	mov al, 0xfe
	out 0x21, al
	mov al, 0x34		; PIT channel 0, rate generator, divisor 100
	out 0x43, al
	mov al, 100
	out 0x40, al
	xor eax, eax
	out 0x40, al
	mov qword [TICKS], 0
	sti
	call t9_loop
	cli
	cmp rax, r12
	check 9, e
	cmp qword [TICKS], 0
	check 9, ne

	; 10: multiply and divide, conditions decided at run time
	call t10_loop
	mov rcx, T10_SUM
	cmp rax, rcx
	check 10, e

	; 11: a DIV faults on the 100th run, once the trace is compiled
	mov byte [DE_SEEN], 0
	mov ecx, 100
	mov r8d, 1000
.t11:	lea r9d, [rcx - 1]
	mov eax, r8d
	xor edx, edx
	cmp eax, ecx		; CF clear, ZF clear: the flags the handler checks
.t11_div:
	div r9d
	add r8d, eax
	dec ecx
	jnz .t11
	cmp byte [DE_SEEN], 1
	check 11, e

	; 12: calls and jumps through tables and registers
	call t12_loop
	mov rcx, T12_SUM
	cmp rax, rcx
	check 12, e

	; 13: string instructions, 64 rounds
	xor ebx, ebx
.t13:	mov edi, STR13
	mov ecx, 10000
	mov eax, ebx
	rep stosb
	test rcx, rcx
	check 13, z
	cmp rdi, STR13 + 10000
	check 13, e
	cmp [STR13 + 9999], bl
	check 13, e
	mov rax, 0x0102030405060708
	add rax, rbx
	mov [STR13], rax
	mov esi, STR13
	lea rdi, [rsi + 8]
	mov ecx, 600
	rep movsq
	cmp rsi, STR13 + 8 * 600
	check 13, e
	cmp [STR13 + 8 * 600], rax
	check 13, e
	mov dword [STR13], 0x030201
	mov esi, STR13
	lea rdi, [rsi + 3]
	mov ecx, 3000
	rep movsb
	cmp byte [STR13 + 3002], 3
	check 13, e
	cmp byte [STR13 + 2997], 1
	check 13, e
	inc ebx
	cmp ebx, 64
	jb .t13

	; 14: bit scans and counts with their flags
	call t14_loop
	mov rcx, T14_SUM
	cmp rax, rcx
	check 14, e

	; 15: CMPXCHG and LOCK'd read-modify-write forms with their flags
	call t15_loop
	mov rcx, T15_SUM
	cmp rax, rcx
	check 15, e

	lea rsi, [rel pass_msg]
	call print
	xor eax, eax
	out 0xf4, al
.halt:	hlt
	jmp .halt

; Tests 1-3 patch from iteration 40 on (the trace has long been compiled by
; then): EAX must be the iteration number from there, the old immediate before.
expected:
	mov ecx, -1
	cmp ebx, 40
	jb .old
	mov ecx, ebx
.old:	cmp eax, ecx
	ret

fail:	lea rsi, [rel fail_msg]
	call print
	movzx eax, bl			; report.mac's ending, without AAM (not in 64-bit mode)
	mov cl, 10
	div cl				; AL = tens, AH = units
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

	long_mode_routines

; RAX = a checksum in which every step depends on the carry flag.
t9_loop:
	xor eax, eax
	mov edx, 0x9e3779b9
	xor r8d, r8d
	mov ecx, T9_ITER
.l:	add eax, edx
	adc edx, eax
	rol edx, 5
	cmp eax, edx
	sbb r8d, r8d
	xor eax, r8d
	inc r8d
	adc eax, 0
	dec ecx
	jnz .l
	ret

; RAX = a checksum of 200 rounds of multiplies, divides and conditions on
; flags from POPF and XADD (jit64_model.py computes the same).
t10_loop:
	xor r8d, r8d		; the checksum
	mov r9, 0x9e3779b97f4a7c15
	mov ecx, 200
.l:	xorshift64 r9
	mov rax, r9		; 64-bit MUL
	mov r10, 0xfedcba9876543211
	mul r10
	add r8, rax
	xor r8, rdx
	mov eax, r9d		; 32-bit IMUL of a negative number, OF by SETO
	mov r11d, ecx
	neg r11d
	imul r11d
	seto r10b
	movzx r10d, r10b
	add r8, r10
	add r8, rax
	add r8, rdx
	mov r10, r9		; 64-bit DIV, RDX below the divisor
	shr r10, 16
	or r10, 1
	mov rax, r9
	mov edx, ecx
	div r10
	add r8, rax
	xor r8, rdx
	mov rax, r9		; 64-bit IDIV after CQO, a negative divisor
	cqo
	mov r10d, ecx
	neg r10
	sub r10, 3
	idiv r10
	add r8, rax
	add r8, rdx
	mov eax, r9d		; 32-bit DIV
	xor edx, edx
	lea r10d, [rcx + 5]
	div r10d
	add r8, rax
	add r8, rdx
	mov eax, r9d		; 32-bit IDIV after CDQ
	cdq
	lea r10d, [rcx + 2]
	idiv r10d
	add r8, rax
	add r8, rdx
	mov rax, r9		; RFLAGS from POPF: every condition
	and eax, 0x8d5
	push rax
	popfq
	seto al
	setb dl
	sete r10b
	setbe r11b
	sets r12b
	setp r13b
	setl r14b
	setle r15b
	cmovg r8, r9		; G: CMOV of the whole checksum
	jle .le
	add r8, 77
.le:	movzx eax, al		; the eight conditions as bits 0-7
	movzx edx, dl
	lea rax, [rax + rdx * 2]
	movzx edx, r10b
	lea rax, [rax + rdx * 4]
	movzx edx, r11b
	lea rax, [rax + rdx * 8]
	movzx edx, r12b
	shl edx, 4
	add eax, edx
	movzx edx, r13b
	shl edx, 5
	add eax, edx
	movzx edx, r14b
	shl edx, 6
	add eax, edx
	movzx edx, r15b
	shl edx, 7
	add eax, edx
	add r8, rax
	mov r10, r9		; lazy flags from XADD, a signed condition
	mov r11, r8
	xadd r10, r11
	jl .lt
	xor r8, 0x55
.lt:	cmovo r8, r10
	setge al
	add r8b, al
	xadd r10, r11
	seta al
	add r8b, al
	cmp r9d, ecx		; CF from a CMP, then INC: BE reads both
	inc r11d
	jbe .be
	add r8, 3
.be:	dec ecx
	jnz .l
	mov rax, r8
	ret

; RAX = test 14's checksum: per round (ECX = 300..1) a xorshift64 X, the
; sources S64 = X (0 when ECX % 5 == 0) and S32 = X >> 7 (0 when ECX % 7 ==
; 0), and after each of TZCNT r64, LZCNT r32, BSF r64 and BSR r32 from memory
; (those two into R9 = -1) the sum R8 = R8 * 3 + R9 + (RFLAGS & 8D5h).
t14_loop:
	push rbx
	xor r8d, r8d
	mov rbx, 0x2545f4914f6cdd1d
	mov ecx, 300
.l:	xorshift64 rbx
	mov eax, ecx		; S64 in RSI
	xor edx, edx
	mov edi, 5
	div edi
	mov rsi, rbx
	test edx, edx
	jnz .s64
	xor esi, esi
.s64:	mov eax, ecx		; S32 in EDI and at DATA + 0x200
	xor edx, edx
	mov edi, 7
	div edi
	mov rdi, rbx
	shr rdi, 7
	test edx, edx
	jnz .s32
	xor edi, edi
.s32:	mov [DATA + 0x200], edi
	cmp ecx, 150
	tzcnt r9, rsi
	pushfq
	pop r10
	and r10d, 0x8d5
	lea r8, [r8 + r8 * 2]
	add r8, r9
	add r8, r10
	cmp ecx, 150
	lzcnt r9d, edi
	pushfq
	pop r10
	and r10d, 0x8d5
	lea r8, [r8 + r8 * 2]
	add r8, r9
	add r8, r10
	mov r9, -1
	cmp ecx, 150
	bsf r9, rsi
	pushfq
	pop r10
	and r10d, 0x8d5
	lea r8, [r8 + r8 * 2]
	add r8, r9
	add r8, r10
	mov r9, -1
	cmp ecx, 150
	bsr r9d, [DATA + 0x200]
	pushfq
	pop r10
	and r10d, 0x8d5
	lea r8, [r8 + r8 * 2]
	add r8, r9
	add r8, r10
	dec ecx
	jnz .l
	pop rbx
	mov rax, r8
	ret

; RAX = test 15's checksum: per round (ECX = 300..1) a xorshift64 X at
; DATA + 0x210 and its high half at DATA + 0x218; LOCK CMPXCHG [0x210], RCX
; with RAX = X (ECX % 3 == 0) or X ^ 1; CMPXCHG [0x218], ECX with RAX = X
; rotated by 32 (equal, ECX % 4 == 0) or X, then JA (R8 + 1 when taken);
; LOCK ADD [0x220], RBX and LOCK INC dword [0x228] (both 0 at the start);
; LOCK XADD [0x220], RDX = X. After each: R8 = R8 * 3 + RAX (or RDX, the
; memory operand) + (RFLAGS & 8D5h).
t15_loop:
	push rbx
	xor r8d, r8d
	mov qword [DATA + 0x220], 0
	mov dword [DATA + 0x228], 0
	mov rbx, 0x9e3779b97f4a7c15
	mov ecx, 300
.l:	xorshift64 rbx
	mov [DATA + 0x210], rbx
	mov rax, rbx
	shr rax, 32
	mov [DATA + 0x218], eax
	mov eax, ecx		; RDX = ECX % 3, R9 = ECX % 4
	xor edx, edx
	mov edi, 3
	div edi
	mov r9d, ecx
	and r9d, 3
	mov rax, rbx
	test edx, edx
	jz .eq64
	xor rax, 1
.eq64:	lock cmpxchg [DATA + 0x210], rcx
	pushfq
	pop r10
	and r10d, 0x8d5
	lea r8, [r8 + r8 * 2]
	add r8, rax
	add r8, [DATA + 0x210]
	add r8, r10
	mov rax, rbx
	test r9d, r9d
	jnz .ne32
	rol rax, 32
.ne32:	cmpxchg [DATA + 0x218], ecx
	ja .a32			; right after: a branch on the CMPXCHG's flags
	pushfq
	jmp .f32
.a32:	pushfq
	inc r8
.f32:	pop r10
	and r10d, 0x8d5
	lea r8, [r8 + r8 * 2]
	add r8, rax
	mov eax, [DATA + 0x218]
	add r8, rax
	add r8, r10
	lock add [DATA + 0x220], rbx
	pushfq
	lock inc dword [DATA + 0x228]	; CF stays the ADD's
	pushfq
	pop r11
	pop r10
	and r10d, 0x8d5
	lea r8, [r8 + r8 * 2]
	add r8, [DATA + 0x220]
	add r8, r10
	mov r10, r11
	and r10d, 0x8d5
	lea r8, [r8 + r8 * 2]
	mov eax, [DATA + 0x228]
	add r8, rax
	add r8, r10
	mov rdx, rbx		; LOCK XADD [0x220], RDX (X): RDX = the old sum
	lock xadd [DATA + 0x220], rdx
	pushfq
	pop r10
	and r10d, 0x8d5
	lea r8, [r8 + r8 * 2]
	add r8, rdx
	add r8, [DATA + 0x220]
	add r8, r10
	dec ecx
	jnz .l
	pop rbx
	mov rax, r8
	ret

; RAX = the sum over ECX = 300..1 of t12_table[ECX & 3](ECX).
t12_loop:
	push rbx
	xor r8d, r8d
	mov ecx, 300
	lea rbx, [rel t12_table]
.l:	mov eax, ecx
	and eax, 3
	mov rdi, rcx
	call [rbx + rax * 8]
	add r8, rax
	lea rdx, [rel .back]
	jmp rdx
	mov bl, 12		; not reached
	jmp fail
.back:	dec ecx
	jnz .l
	pop rbx
	mov rax, r8
	ret
t12_f0:	push rbp		; RDI * 7, through a frame
	mov rbp, rsp
	push rdi
	mov rax, [rbp - 8]
	imul rax, rax, 7
	leave
	ret
t12_f1:	push rbp		; -RDI / 5, truncated
	mov rbp, rsp
	mov rax, rdi
	neg rax
	cqo
	mov r9d, 5
	idiv r9
	leave
	ret
t12_f2:	mov rax, rdi		; RDI * 8
	shl rax, 3
	ret
t12_f3:	lea rax, [rel t12_f0]	; RDI * 7 + 1
	call rax
	add rax, 1
	ret
	align 8
t12_table:
	dq ROMBASE + t12_f0, ROMBASE + t12_f1, ROMBASE + t12_f2, ROMBASE + t12_f3

; #DE from test 11's DIV by 0: RIP at the DIV, RAX and RDX as before it,
; the CMP's flags; resume after the DIV (3 bytes) with EAX = 0.
de_handler:
	mov r10, ROMBASE + lm64.t11_div
	cmp [rsp], r10
	jne .bad
	cmp ecx, 1
	jne .bad
	cmp r9d, 0
	jne .bad
	test edx, edx
	jne .bad
	cmp eax, r8d
	jne .bad
	mov r10, [rsp + 16]	; RFLAGS of `cmp eax, ecx` with EAX > ECX: CF, ZF clear
	test r10d, 0x41
	jne .bad
	add qword [rsp], 3
	xor eax, eax
	inc byte [DE_SEEN]
	iretq
.bad:	mov bl, 11
	jmp fail

timer_handler:
	push rax
	inc qword [TICKS]
	mov al, 0x20		; EOI
	out 0x20, al
	pop rax
	iretq

; Moves, LEA and the stack only: the flags of the caller's CMP survive.
flag_keeper:
	mov rdx, rsp
	lea rdx, [rdx + 8]
	push rdx
	pop rdx
	mov rdx, 12345
	ret

unexpected:
	mov bl, 99
	jmp fail

; #PF from t5_code's load: every register as the test set it.
pf_handler:
	mov rax, cr2
	mov rbx, UNMAPPED
	cmp rax, rbx
	jne .bad
	mov rax, [rsp + 8]	; the faulting RIP
	mov rbx, R(t5_load)
	cmp rax, rbx
	jne .bad
	mov rax, [rsp + 24]	; RFLAGS: CF and SF from `cmp r8, r9` (n+1 < n+2), ZF clear
	and eax, 0x8c1
	cmp eax, 0x81
	jne .bad
	cmp rcx, 0x55		; the load did not happen
	jne .bad
	cmp r10, 0x55 * 3
	jne .bad
	cmp r8, 0x56
	jne .bad
	cmp r9, 0x57
	jne .bad
	cmp r11, 0x55 ^ 0x31
	jne .bad
	cmp r13, 0x550
	jne .bad
	cmp r14, 13 << 8
	jne .bad
	cmp r15, -1
	jne .bad
	cmp rsi, 0x55 + 7
	jne .bad
	cmp rdx, 0x55 + 1000
	jne .bad
	cmp rbp, 0x55 + 0x77
	jne .bad
	mov rax, UNMAPPED
	cmp rdi, rax
	jne .bad
	mov byte [PF_SEEN], 1
	mov rax, R(t5_after)
	mov [rsp + 8], rax	; resume after the load
	add rsp, 8		; the error code
	iretq
.bad:	mov bl, 5
	jmp fail

; #BP from the INT3 t6_code's loop wrote: put the byte back, rerun it.
bp_handler:
	push rax
	mov rax, R(t6_target)
	mov byte [rax], 0x81	; the first byte of `add edx, strict dword 1`
	mov [rsp + 8], rax	; RIP pointed after the INT3: back to the instruction
	inc byte [BP_SEEN]
	pop rax
	iretq

	long_mode_tables
pass_msg: db "jit64: PASS", 10, 0
fail_msg: db "jit64: FAIL ", 0

; ---- copied to RAMCODE: position-independent code the tests patch ----
	align 16
ram_block:
t1_code:
	cmp ebx, 40
	jb t1_patch
	mov [rel t1_patch + 1], ebx	; the next instruction's imm32
t1_patch:
	mov eax, -1
	ret

t2_code:
	cmp ebx, 40
	jb t2_far
	mov [rel t2_far + 1], ebx
	jmp t2_far

t3_code:
	cmp ebx, 40
	jb t3_patch
	mov rax, ALIAS + R(t3_patch) + 1
	mov [rax], ebx			; through the alias
t3_patch:
	mov eax, -1
	ret

t5_code:				; every register from RCX, different each call
	mov r10, rcx
	imul r10, r10, 3
	lea r8, [rcx + 1]
	lea r9, [rcx + 2]
	mov r11, rcx
	xor r11, 0x31
	mov r13, rcx
	shl r13, 4
	mov r14, 13
	shl r14, 8
	mov r15, -1
	lea rsi, [rcx + 7]
	lea rdx, [rcx + 1000]
	lea rbp, [rcx + 0x77]
	cmp r8, r9
t5_load:
	mov rcx, [rdi]
t5_after:
	ret

t6_code:
	xor edx, edx
	mov ecx, 64
t6_loop:
	cmp ebx, 10
	jne t6_target
	cmp ecx, 30
	jne t6_target
	lea rsi, [rel t6_target]
	mov byte [rsi], 0xcc		; INT3 over `add edx, imm32` (81 c2 ...)
t6_target:
	add edx, strict dword 1
	dec ecx
	jnz t6_loop
	ret

	times 0x1000 - ($ - ram_block) db 0x90
t2_far:				; the next page
	mov eax, -1
	ret

t8_code:
	times 0x2000 - 5 - ($ - ram_block) db 0x90
	mov rax, 0x0102030405060708	; 10 bytes: 5 on each page
t8_cross_end:
	ret
ram_end:

	bits 16
	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
