; fugu guest test: SSE/SSE2 in compiled 64-bit code (cpu/jit/sse.c). Every
; loop runs at least 64 times, so -jit on compiles it (after 16 runs) and the
; faults below happen in compiled code; it passes on the interpreter too. Checks:
;  1  packed integer and moves (MOVDQA/MOVDQU/MOVAPS loads and stores, PADDD,
;     PSUBQ, PXOR, PAND, PANDN, POR, PSHUFD, PUNPCKLBW, PSRLQ, PSLLD, PCMPEQB,
;     PCMPGTD, PMOVMSKB, MOVD, MOVQ, PEXTRW, PINSRW): a checksum over 100 rounds
;     (T1_SUM, from `fugu -jit off`, whose op_sse runs each form on the host
;     and is compared with the host by conformance-hostdiff)
;  2  scalar double arithmetic (CVTSI2SD, MULSD, DIVSD, ADDSD, SQRTSD,
;     CVTTSD2SI, MINSD, ANDPD): a checksum over 100 rounds (T2_SUM: the same
;     IEEE double operations in Python give it, and `fugu -jit off`), then
;     MXCSR = 1FA0H: PE set by 1/3 (vol. 1, 11.5.2.3), no other flag
;  3  the rounding control (vol. 1, 4.8.4): CVTSD2SI of 2.5 and -2.5 under each
;     RC, 64 rounds, RC from the loop counter: 2/-2, -3/2... (RN, RD, RU, RZ)
;  4  DAZ and FTZ (vol. 1, 10.2.3.3/4): MULSS of the smallest denormal by 2
;     with DAZ is +0 (no flag); MULSS of the smallest normal by 0.5 with FTZ
;     is +0 with UE and PE set; 64 rounds, MXCSR checked each time
;  5  a misaligned MOVAPS load and MOVAPS store in a compiled loop: #GP(0) at
;     the instruction (vol. 1, 11.6.7), the destination register and memory
;     untouched, every general register as before
;  6  CR0.TS set under a compiled loop, between two SSE forms of one trace:
;     #NM at the second (vol. 3A, 2.5), the handler CLTS and it runs again
;  7  ZE unmasked by an LDMXCSR between two SSE forms of one trace: the DIVSD
;     by zero raises #XM (CR4.OSXMMEXCPT, vol. 3A, 6.15 interrupt 19) with the
;     destination untouched and ZE set in MXCSR; the handler masks it and the
;     retried DIVSD gives +infinity
;  8  CR4.OSFXSR cleared under a compiled loop: #UD at the MOVAPS (vol. 3A,
;     13.1.4); the handler sets it again
;  9  UCOMISD and COMISD then Jcc/SETcc (vol. 2A, COMISD, UCOMISD): less,
;     equal, greater and unordered give CF/ZF/PF 100, 010, 000, 111 with
;     OF/SF/AF clear; a QNaN sets IE in MXCSR for COMISD only
; The first failure prints "jit64sse: FAIL n" and exits with n; success prints
; "jit64sse: PASS" and exits with 0 (fugu status 1).
	bits 16
	org 0
%include "long.inc"

ROMBASE	equ 0xf0000
PML4	equ 0x10000
IDT	equ 0x14000
STACK	equ 0x80000
DATA	equ 0x30000		; 16-byte aligned scratch
SEEN	equ DATA + 0x800	; faults taken (the ROM is not writable)
T1_SUM	equ 0x8529a1a8adb9e1cf	; test 1's checksum (fugu -jit off)
T2_SUM	equ 0x19c90c	; sum of int(1000 * sqrt((n / 3)^2 + 1)), n = 1..100

%macro check 2 ; check <number>, <condition code that means success>
	j%2 %%ok
	mov bl, %1
	jmp fail
%%ok:
%endmacro

	long_mode_entry (1 << 9) | (1 << 10), 1 << 1	; OSFXSR, OSXMMEXCPT; MP

lm64:
	mov rsp, STACK
	mov rdi, IDT
	mov ecx, 256
	mov rax, ROMBASE + unexpected
.idt:	call set_gate
	add rdi, 16
	dec ecx
	jnz .idt
	mov rdi, IDT + 6 * 16
	mov rax, ROMBASE + ud_handler
	call set_gate
	mov rdi, IDT + 7 * 16
	mov rax, ROMBASE + nm_handler
	call set_gate
	mov rdi, IDT + 13 * 16
	mov rax, ROMBASE + gp_handler
	call set_gate
	mov rdi, IDT + 19 * 16
	mov rax, ROMBASE + xm_handler
	call set_gate
	lidt [rel idt_desc]
	; the data: 16 vectors of bytes k * 37 + 11
	mov rdi, DATA
	xor ecx, ecx
.fill:	imul eax, ecx, 37
	add eax, 11
	mov [rdi + rcx], al
	inc ecx
	cmp ecx, 256
	jb .fill
	mov dword [SEEN], 0

	; 1: packed integer
	call t1_round_init
	mov ebx, 100
.t1:	call t1_round
	dec ebx
	jnz .t1
	mov rax, T1_SUM
	cmp rax, r12
	check 1, e

	; 2: scalar double arithmetic
	mov dword [DATA + 0x900], 0x1f80
	ldmxcsr [DATA + 0x900]
	xor r12d, r12d
	mov ebx, 1
.t2:	cvtsi2sd xmm0, ebx
	movsd xmm1, [rel three]
	divsd xmm0, xmm1		; n / 3: inexact
	mulsd xmm0, xmm0
	addsd xmm0, [rel one]
	sqrtsd xmm2, xmm0
	minsd xmm2, [rel big]
	andpd xmm2, [rel absmask]
	mulsd xmm2, [rel thousand]
	cvttsd2si rax, xmm2
	add r12, rax
	inc ebx
	cmp ebx, 100
	jbe .t2
	mov rax, T2_SUM
	cmp rax, r12
	check 2, e
	stmxcsr [DATA + 0x900]
	cmp dword [DATA + 0x900], 0x1fa0
	check 2, e

	; 3: CVTSD2SI under RN, RD, RU, RZ in turn
	movsd xmm3, [rel twohalf]
	movsd xmm4, [rel mtwohalf]
	xor ebx, ebx
.t3:	mov eax, ebx
	and eax, 3
	shl eax, 13
	or eax, 0x1f80
	mov [DATA + 0x900], eax
	ldmxcsr [DATA + 0x900]
	cvtsd2si ecx, xmm3
	cvtsd2si edx, xmm4
	mov eax, ebx
	and eax, 3
	lea rsi, [rel rc_want]
	cmp ecx, [rsi + rax * 8]
	check 3, e
	cmp edx, [rsi + rax * 8 + 4]
	check 3, e
	stmxcsr [DATA + 0x904]
	mov eax, [DATA + 0x900]
	or eax, 0x20			; PE: 2.5 is not an integer
	cmp eax, [DATA + 0x904]
	check 3, e
	inc ebx
	cmp ebx, 64
	jb .t3

	; 4: DAZ, then FTZ
	xor ebx, ebx
.t4:	mov dword [DATA + 0x900], 0x1fc0	; DAZ
	ldmxcsr [DATA + 0x900]
	movss xmm5, [rel denorm]
	mulss xmm5, [rel two]
	movd eax, xmm5
	test eax, eax
	check 4, z
	stmxcsr [DATA + 0x904]
	cmp dword [DATA + 0x904], 0x1fc0	; no flag: a zero operand
	check 4, e
	mov dword [DATA + 0x900], 0x9f80	; FTZ
	ldmxcsr [DATA + 0x900]
	movss xmm5, [rel minnorm]
	mulss xmm5, [rel half]
	movd eax, xmm5
	test eax, eax
	check 4, z
	stmxcsr [DATA + 0x904]
	cmp dword [DATA + 0x904], 0x9fb0	; UE and PE (vol. 1, 10.2.3.3)
	check 4, e
	inc ebx
	cmp ebx, 64
	jb .t4
	mov dword [DATA + 0x900], 0x1f80
	ldmxcsr [DATA + 0x900]

	; 5: MOVAPS load and store, misaligned from round 50 on
	mov r8, 0x1111
	mov r9, 0x2222
	mov r10, 0x3333
	mov r11, 0x4444
	mov r12, 0x5555
	mov r13, 0x6666
	mov r14, 0x7777
	mov r15, 0x8888
	pxor xmm6, xmm6
	xor ebx, ebx
.t5:	mov rsi, DATA
	xor edi, edi
	cmp ebx, 50
	setae dil
	add rsi, rdi			; DATA + 1 from round 50 on
	mov rdx, rbx
	mov rcx, DATA + 0x400
	add rcx, rdi
.t5_load:
	movaps xmm6, [rsi]
	paddd xmm6, xmm6
.t5_store:
	movaps [rcx], xmm6
.t5_next:
	inc ebx
	cmp ebx, 64
	jb .t5
	cmp dword [SEEN], 2 * 14	; both faulted in each of rounds 50-63
	check 5, e

	; 6: CR0.TS set under a compiled loop, #NM once
	mov dword [SEEN], 0
	xor ebx, ebx
	movdqa xmm7, [rel ones32]
	pxor xmm8, xmm8
.t6:	movd eax, xmm7			; an SSE form before the CR0 write, no branch between
	mov rax, cr0			; CR0 written every round, TS set in round 40
	mov ecx, eax
	or ecx, 1 << 3
	cmp ebx, 40
	cmove eax, ecx
	mov cr0, rax
.t6_insn:
	paddd xmm8, xmm7
	inc ebx
	cmp ebx, 64
	jb .t6
	cmp dword [SEEN], 1
	check 6, e
	movd eax, xmm8
	cmp eax, 64			; every PADDD ran once
	check 6, e

	; 7: #XM from an unmasked zero divide; an SSE form, LDMXCSR and the
	; DIVSD in one trace, MXCSR and the divisor chosen without a branch
	mov dword [SEEN], 0
	xor ebx, ebx
.t7:	movsd xmm9, [rel one]
	mulsd xmm9, xmm9		; exact: no flag
	mov eax, 0x1f80
	mov ecx, 0x1d80			; ZM clear in round 40
	cmp ebx, 40
	cmove eax, ecx
	mov [DATA + 0x900], eax
	ldmxcsr [DATA + 0x900]
	mov rax, 0x4000000000000000	; 2.0
	mov ecx, 0			; 0.0 in round 40
	cmove rax, rcx
	movq xmm10, rax
.t7_div:
	movsd xmm9, [rel one]
.t7_insn:
	divsd xmm9, xmm10
	inc ebx
	cmp ebx, 64
	jb .t7
	cmp dword [SEEN], 1
	check 7, e
	movq rax, xmm9			; the last round's 1 / 2
	mov rcx, 0x3fe0000000000000
	cmp rax, rcx
	check 7, e
	mov rax, [DATA + 0x910]		; the retried round 40's 1 / 0 = +infinity
	mov rcx, 0x7ff0000000000000
	cmp rax, rcx
	check 7, e

	; 8: CR4.OSFXSR clear under a compiled loop: #UD once
	mov dword [SEEN], 0
	xor ebx, ebx
.t8:	cmp ebx, 40
	jne .t8_go
	mov rax, cr4
	and eax, ~(1 << 9)
	mov cr4, rax
.t8_go:
.t8_insn:
	movaps xmm11, [rel ones32]
	inc ebx
	cmp ebx, 64
	jb .t8
	cmp dword [SEEN], 1
	check 8, e

	; 9: the compares, 64 rounds of four
	xor ebx, ebx
	movsd xmm12, [rel one]
.t9:	mov dword [DATA + 0x900], 0x1f80
	ldmxcsr [DATA + 0x900]
	xor r12d, r12d
	movsd xmm13, [rel dtwo]		; 1 < 2: CF
	ucomisd xmm12, xmm13
	pushfq
	pop rax
	and eax, 0x8d5
	cmp eax, 0x01
	check 9, e
	ucomisd xmm12, xmm12		; equal: ZF
	sete r12b
	movsd xmm13, [rel dtwo]
	ucomisd xmm13, xmm12		; 2 > 1: none
	seta al
	add r12b, al
	movsd xmm13, [rel qnan]
	ucomisd xmm12, xmm13		; unordered: ZF, PF, CF
	setp al
	jnz .t9_bad			; ZF is set
	jnc .t9_bad			; CF too
	add r12b, al
	stmxcsr [DATA + 0x904]
	cmp dword [DATA + 0x904], 0x1f80 ; UCOMISD: no IE for a QNaN
	jne .t9_bad
	comisd xmm12, [rel qnan]
	pushfq
	pop rax
	and eax, 0x8d5
	cmp eax, 0x45
	jne .t9_bad
	stmxcsr [DATA + 0x904]
	cmp dword [DATA + 0x904], 0x1f81 ; COMISD: IE
	jne .t9_bad
	cmp r12d, 3
	jne .t9_bad
	inc ebx
	cmp ebx, 64
	jb .t9
	jmp .t9_done
.t9_bad:
	mov bl, 9
	jmp fail
.t9_done:

	lea rsi, [rel pass_msg]
	call print
	xor eax, eax
	out 0xf4, al
.halt:	hlt
	jmp .halt

; Test 1's state: xmm0-3 from the data, r12 = 0.
t1_round_init:
	movdqa xmm0, [DATA]
	movdqu xmm1, [DATA + 0x11]
	movaps xmm2, [DATA + 0x20]
	movdqa xmm3, [DATA + 0x30]
	xor r12d, r12d
	ret

; One round: every form once, folded into r12.
t1_round:
	paddd xmm0, xmm1
	psubq xmm1, xmm2
	pxor xmm2, xmm0
	pshufd xmm3, xmm0, 0x4e
	punpcklbw xmm3, xmm1
	psrlq xmm1, 3
	pslld xmm2, 5
	pand xmm2, xmm3
	pandn xmm1, xmm0
	por xmm0, xmm2
	movdqa xmm4, xmm0
	pcmpeqb xmm4, xmm3
	pcmpgtd xmm4, xmm1
	pmovmskb eax, xmm4
	movd ecx, xmm0
	movq rdx, xmm3
	pextrw esi, xmm2, 5
	pinsrw xmm1, esi, 2
	movdqu [DATA + 0x101], xmm1
	movaps [DATA + 0x120], xmm2
	add r12, [DATA + 0x105]
	xor r12, [DATA + 0x128]
	rol r12, 7
	add r12, rax
	add r12, rcx
	xor r12, rdx
	ret

; #GP(0) from test 5's MOVAPS: every general register as the loop set it,
; the destination untouched; resume after the instruction.
gp_handler:
	cmp qword [rsp], 0		; error code 0
	jne .bad
	cmp rbx, 50
	jb .bad
	cmp rdx, rbx
	jne .bad
	mov rax, DATA + 1
	cmp rsi, rax
	jne .bad
	mov rax, DATA + 0x401
	cmp rcx, rax
	jne .bad
	cmp edi, 1
	jne .bad
	cmp r8, 0x1111
	jne .bad
	cmp r9, 0x2222
	jne .bad
	cmp r10, 0x3333
	jne .bad
	cmp r11, 0x4444
	jne .bad
	cmp r12, 0x5555
	jne .bad
	cmp r13, 0x6666
	jne .bad
	cmp r14, 0x7777
	jne .bad
	cmp r15, 0x8888
	jne .bad
	mov rax, [rsp + 8]		; RIP: the MOVAPS
	lea rdi, [rel lm64.t5_load]
	cmp rax, rdi
	je .load
	lea rdi, [rel lm64.t5_store]
	cmp rax, rdi
	jne .bad
	; the store did not happen: its last byte was never written
	cmp byte [DATA + 0x410], 0
	jne .bad
	lea rax, [rel lm64.t5_next]
	jmp .resume
.load:	; the load did not happen: xmm6 is round 49's (2 * DATA's first dwords)
	movd eax, xmm6
	mov edi, [DATA]
	add edi, edi
	cmp eax, edi
	jne .bad
	lea rax, [rel lm64.t5_store]
.resume:
	mov [rsp + 8], rax
	mov edi, 1
	inc dword [SEEN]
	add rsp, 8
	iretq
.bad:	mov bl, 5
	jmp fail

; #NM from test 6's PADDD: CLTS, run it again.
nm_handler:
	clts				; before any SSE instruction of its own
	lea rax, [rel lm64.t6_insn]
	cmp [rsp], rax
	jne .bad
	cmp ebx, 40
	jne .bad
	movd eax, xmm8			; not yet added in round 40
	cmp eax, 40
	jne .bad
	inc dword [SEEN]
	iretq
.bad:	mov bl, 6
	jmp fail

; #XM from test 7's DIVSD: the destination untouched, ZE set; mask, retry.
xm_handler:
	lea rax, [rel lm64.t7_insn]
	cmp [rsp], rax
	jne .bad
	movq rax, xmm9
	mov rcx, 0x3ff0000000000000	; still 1.0
	cmp rax, rcx
	jne .bad
	stmxcsr [DATA + 0x904]
	cmp dword [DATA + 0x904], 0x1d84 ; ZE
	jne .bad
	mov dword [DATA + 0x900], 0x1f80
	ldmxcsr [DATA + 0x900]
	inc dword [SEEN]
	lea rax, [rel .retry]
	mov [rsp], rax
	iretq
.retry:	divsd xmm9, xmm10		; masked now: +infinity
	movq [DATA + 0x910], xmm9
	jmp lm64.t7_div
.bad:	mov bl, 7
	jmp fail

; #UD from test 8's MOVAPS: OSFXSR back on, retry.
ud_handler:
	lea rax, [rel lm64.t8_insn]
	cmp [rsp], rax
	jne .bad
	cmp ebx, 40
	jne .bad
	mov rax, cr4
	or eax, 1 << 9
	mov cr4, rax
	inc dword [SEEN]
	iretq
.bad:	mov bl, 8
	jmp fail

fail:	lea rsi, [rel fail_msg]
	call print
	cmp bl, 2			; tests 1 and 2: the checksum they got, in hex
	ja .num
	mov ecx, 16
.hex:	rol r12, 4
	mov eax, r12d
	and eax, 15
	add eax, '0'
	cmp eax, '9'
	jbe .digit
	add eax, 'a' - '0' - 10
.digit:	out 0xe9, al
	dec ecx
	jnz .hex
	mov al, ' '
	out 0xe9, al
.num:	movzx eax, bl
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

unexpected:
	mov bl, 99
	jmp fail

	align 16
ones32:	dd 1, 1, 1, 1
absmask: dq 0x7fffffffffffffff, 0x7fffffffffffffff
one:	dq 1.0
three:	dq 3.0
big:	dq 40.0
thousand: dq 1000.0
twohalf: dq 2.5
dtwo:	dq 2.0
qnan:	dq 0x7ff8000000000000
mtwohalf: dq -2.5
; CVTSD2SI of 2.5 and -2.5 under RC = 0 (nearest even), 1 (down), 2 (up), 3 (toward 0)
rc_want: dd 2, -2, 2, -3, 3, -2, 2, -2
denorm:	dd 0x00000001
minnorm: dd 0x00800000
two:	dd 2.0
half:	dd 0.5

	long_mode_tables
pass_msg: db "jit64sse: PASS", 10, 0
fail_msg: db "jit64sse: FAIL ", 0

	bits 16
	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
