; fugu benchmark guest: an SSE/SSE2 workload in 64-bit long mode (the mode
; switch and the exit are cpu64.asm's; CR4.OSFXSR is set on the way). PASSES
; passes, each of ITERATIONS rounds over a 4 KiB buffer of 256 XMM vectors:
; every round loads a 64-byte block with MOVAPS/MOVDQU, runs packed integer
; (PADDD, PADDQ, PXOR, PMULLW, PSRLD, PSLLQ, PUNPCKLBW, PSHUFD, PCMPGTD, PAND)
; and packed float arithmetic (CVTDQ2PS, MULPS, ADDPS, ANDPS, SQRTPS, MINPS,
; SHUFPS, UNPCKLPS, CVTTPS2DQ, MULPD, ADDPD) and stores three vectors back.
; Each pass starts afresh (the buffer refilled, the accumulators cleared) and
; folds its accumulators and the buffer into a 64-bit pass result; the checksum
; is the sum of the pass results mod 2^64, printed as "checksum=<hex>" on port
; 0xe9. Every value is an exact IEEE result, so every emulator must print the
; same checksum (testsuite/bench/sse.py checks them against each other);
; PASSES=0 runs only the setup and the exit.
%ifndef ITERATIONS
%define ITERATIONS 20000000
%endif
%ifndef PASSES
%define PASSES 1
%endif
	bits 16
	org 0
ROMBASE equ 0xf0000
PML4 equ 0x10000
TABLE equ 0x100000

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
	mov esp, 0x80000
	; page tables: PML4[0] -> PDPT, PDPT[0] -> PD, PD[0..1] = 2 MiB pages
	mov edi, PML4
	xor eax, eax
	mov ecx, 3 * 1024
	rep stosd
	mov dword [PML4], PML4 + 0x1000 + 3
	mov dword [PML4 + 0x1000], PML4 + 0x2000 + 3
	mov dword [PML4 + 0x2000], 0x000083
	mov dword [PML4 + 0x2008], 0x200083
	mov eax, cr4
	or eax, (1 << 5) | (1 << 9) | (1 << 10) ; PAE, OSFXSR, OSXMMEXCPT
	mov cr4, eax
	mov eax, PML4
	mov cr3, eax
	mov ecx, 0xc0000080      ; EFER.LME
	rdmsr
	or eax, 1 << 8
	wrmsr
	mov eax, cr0
	or eax, 1 << 31          ; PG: long mode becomes active
	mov cr0, eax
	jmp 0x18:(ROMBASE + lm64)

	bits 64
lm64:
	mov rsp, 0x80000
	xor r10, r10                 ; sum of the pass results
	mov r11, PASSES
	test r11, r11
	jz .done
.pass:
	; fill the buffer: dword k = k * 9E3779B9H + pass (as integers)
	mov rdi, TABLE
	xor ecx, ecx
.fill:	mov eax, ecx
	imul eax, eax, 0x9e3779b9
	add eax, r11d
	mov [rdi + rcx * 4], eax
	inc ecx
	cmp ecx, 1024
	jne .fill
	movaps xmm7, [rel half]      ; 0.5 x 4
	movaps xmm8, [rel absmask]   ; 7FFFFFFFH x 4
	movapd xmm12, [rel dscale]   ; 0.25, 2.0
	pxor xmm9, xmm9              ; integer accumulators
	pxor xmm10, xmm10
	xorpd xmm11, xmm11           ; double accumulator
	mov rcx, ITERATIONS
	mov rsi, TABLE
	test rcx, rcx
	jz .folds
.loop:
	mov ebx, ecx
	and ebx, 63
	shl ebx, 6
	movaps xmm0, [rsi + rbx]
	movaps xmm1, [rsi + rbx + 16]
	movdqu xmm2, [rsi + rbx + 32]
	movaps xmm3, [rsi + rbx + 48]
	paddd xmm0, xmm1
	pxor xmm1, xmm2
	pshufd xmm4, xmm0, 0x1b
	pmullw xmm4, xmm3
	psrld xmm2, 3
	paddq xmm2, xmm4
	movdqa xmm5, xmm1
	punpcklbw xmm5, xmm3
	psllq xmm5, 5
	pcmpgtd xmm5, xmm0
	pand xmm5, xmm4
	paddd xmm9, xmm5
	cvtdq2ps xmm6, xmm0          ; |int| < 2^31: exact float conversions
	mulps xmm6, xmm7
	andps xmm6, xmm8
	sqrtps xmm13, xmm6
	addps xmm6, xmm13
	minps xmm6, xmm3             ; xmm3 as floats: any pattern, NaN rules fixed
	andps xmm6, xmm8
	minps xmm6, [rel big]        ; below 2^30: the conversion never overflows
	shufps xmm6, xmm6, 0x4e
	unpcklps xmm6, xmm13
	cvttps2dq xmm6, xmm6
	pxor xmm10, xmm6
	cvtdq2pd xmm14, xmm6
	mulpd xmm14, xmm12
	addpd xmm11, xmm14
	movaps [rsi + rbx], xmm2
	movdqu [rsi + rbx + 16], xmm4
	movaps [rsi + rbx + 32], xmm6
	dec rcx
	jnz .loop
.folds:
	; fold the buffer and the accumulators into the pass result
	xor ebx, ebx
.fold:	paddq xmm9, [rsi + rbx]
	pxor xmm10, xmm9
	add ebx, 16
	cmp ebx, 4096
	jne .fold
	cvttpd2dq xmm11, xmm11
	paddq xmm9, xmm10
	paddq xmm9, xmm11
	movq rdx, xmm9
	psrldq xmm9, 8
	movq rax, xmm9
	add rdx, rax
	rol rdx, 7
	add r10, rdx
	dec r11
	jnz .pass
.done:
	mov rdx, r10

	; print "checksum=" and 16 hex digits of rdx
	lea rsi, [rel msg]
.p:	lodsb
	test al, al
	jz .hex
	out 0xe9, al
	jmp .p
.hex:
	mov ecx, 16
.h:	rol rdx, 4
	mov eax, edx
	and eax, 15
	cmp eax, 10
	jb .digit
	add eax, 'a' - 10 - '0'
.digit:	add eax, '0'
	out 0xe9, al
	dec ecx
	jnz .h
	mov al, 10
	out 0xe9, al
	xor eax, eax
	out 0xf4, al             ; isa-debug-exit: status 1
	lea rsi, [rel bochs_shutdown]
	mov dx, 0x8900
.s:	lodsb
	test al, al
	jz .halt
	out dx, al
	jmp .s
.halt:	hlt
	jmp .halt


	align 16
half:	dd 0.5, 0.5, 0.5, 0.5
absmask: dd 0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff
big:	dd 1.0e9, 1.0e9, 1.0e9, 1.0e9
dscale:	dq 0.25, 2.0
msg: db "checksum=", 0
bochs_shutdown: db "Shutdown", 0

	align 8
gdt:	dq 0
	dq 0x00cf9b000000ffff    ; 0x08: 32-bit code, flat
	dq 0x00cf93000000ffff    ; 0x10: data, flat
	dq 0x00af9b000000ffff    ; 0x18: 64-bit code
gdt_desc:
	dw gdt_desc - gdt - 1
	dd ROMBASE + gdt

	bits 16
	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
