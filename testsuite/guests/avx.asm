; fugu guest test: AVX state management and the VEX exception rules in 32-bit
; protected mode. CPUID (AVX, AVX2, OSXSAVE following CR4, leaf 0DH component 2);
; #UD while CR4.OSXSAVE = 0 or XCR0[2:1] != 11b (SDM vol. 2A, 2.4, table 2-18 and
; the exception classes of 2.5); XSETBV #GP(0) for AVX without SSE (vol. 1,
; 13.3); the decode-time #UD rules (vol. 2A, 2.3.2-2.3.6: 66/F2/F3/LOCK before
; VEX, VEX.vvvv != 1111b where unused, VEX.L = 1 on a VEX.128-only form, VEX.W
; on a W0 form); #NM on CR0.TS; #GP(0) on a misaligned VMOVAPS (class 1) and
; none on other VEX memory operands (class 2/4); VEX.128 zeroing bits 255:128 of
; the destination while a legacy SSE write keeps them (vol. 1, 14.1.4); XSAVE
; and XRSTOR of component 2 (YMM_Hi128 at offset 576, XSTATE_BV[2]; vol. 1,
; 13.5.3 and 13.6-13.8); 36-48 the compacted form (vol. 1, 13.4.3, 13.8.2,
; 13.10-13.12; vol. 2C): CPUID 0DH.1, an XSAVEC image against its hand-computed
; layout (XSTATE_BV without the initial x87, XCOMP_BV = 8000000000000007H, AVX at
; 576, untouched bytes), XSAVES writing the same, XRSTOR and XRSTORS of it,
; XGETBV ECX = 1, the #GP(0)s (XRSTORS of the standard form, an XCOMP_BV bit
; outside XCR0, a misaligned area, a nonzero IA32_XSS, XSAVES at CPL 3).
	org 0xf0000
%define TEST "avx"
%include "pm.inc"

DATA	equ 0x900			; 64 bytes of operands
AREA	equ 0x3000			; 64-byte aligned XSAVE area (832 bytes)
AREA2	equ 0x3400			; another (1 KiB)

%macro xsetbv_eax 1
	mov eax, %1
	xor edx, edx
	xor ecx, ecx
	xsetbv
%endmacro

main:
	; 1-3: CPUID.1:ECX.AVX, OSXSAVE clear while CR4.OSXSAVE is; CPUID.7:EBX.AVX2
	mov eax, 1
	cpuid
	bt ecx, 28
	check 1, c
	bt ecx, 27
	check 2, nc
	mov eax, 7
	xor ecx, ecx
	cpuid
	bt ebx, 5
	check 3, c

	; 4: a VEX instruction with CR4.OSXSAVE = 0: #UD
	faulting vaddps xmm0, xmm1, xmm2
	expect 4, 6, 0xffffffff

	; 5-6: CR4.OSXSAVE | OSFXSR; CPUID.1:ECX.OSXSAVE follows; XCR0 = 3: still #UD
	mov eax, cr4
	or eax, (1 << 18) | (1 << 9)
	mov cr4, eax
	mov eax, 1
	cpuid
	bt ecx, 27
	check 5, c
	xsetbv_eax 3
	faulting vaddps xmm0, xmm1, xmm2
	expect 6, 6, 0xffffffff

	; 7: XCR0 = 101b (AVX without SSE): #GP(0)
	faulting xsetbv_eax 5
	expect 7, 13, 0
	; 8: XCR0 = 111b: VEX instructions run
	xsetbv_eax 7
	faulting vaddps xmm0, xmm1, xmm2
	expect 8, 0xff, 0xffffffff

	; 9-10: CPUID.0DH: subleaf 0 EBX = 832 for XCR0 = 7; subleaf 2 = 256 bytes at 576
	mov eax, 0xd
	xor ecx, ecx
	cpuid
	cmp ebx, 832
	check 9, e
	mov eax, 0xd
	mov ecx, 2
	cpuid
	cmp eax, 256
	check 10, e
	cmp ebx, 576
	check 10, e

	; 11-14: a prefix before VEX (66, F3, F2, LOCK): #UD
	faulting db 0x66, 0xc5, 0xf8, 0x77	; 66 VZEROUPPER
	expect 11, 6, 0xffffffff
	faulting db 0xf3, 0xc5, 0xf8, 0x77
	expect 12, 6, 0xffffffff
	faulting db 0xf2, 0xc5, 0xf8, 0x77
	expect 13, 6, 0xffffffff
	faulting db 0xf0, 0xc5, 0xf8, 0x77
	expect 14, 6, 0xffffffff
	faulting db 0xc5, 0xf8, 0x77		; and without: runs
	expect 15, 0xff, 0xffffffff

	; 16-17: VEX.vvvv must be 1111b when it names no operand
	faulting db 0xc5, 0xf0, 0x10, 0xc1	; VMOVUPS xmm0, xmm1 with vvvv = 0001b
	expect 16, 6, 0xffffffff
	faulting db 0xc5, 0xf8, 0x10, 0xc1	; vvvv = 1111b
	expect 17, 0xff, 0xffffffff

	; 18-20: VEX.L: VMOVD is VEX.128 only; VADDSS ignores L; VINSERTF128 is VEX.256 only
	faulting db 0xc5, 0xfd, 0x6e, 0xc0	; VMOVD with L = 1
	expect 18, 6, 0xffffffff
	faulting db 0xc5, 0xf6, 0x58, 0xc2	; VADDSS with L = 1 (LIG)
	expect 19, 0xff, 0xffffffff
	faulting db 0xc4, 0xe3, 0x79, 0x18, 0xc1, 0 ; VINSERTF128 with L = 0
	expect 20, 6, 0xffffffff
	; 21: VEX.W = 1 on VPERMILPS (a W0 form)
	faulting db 0xc4, 0xe2, 0xf9, 0x0c, 0xc1
	expect 21, 6, 0xffffffff

	; 22: CR0.TS: #NM (after the #UD checks)
	mov eax, cr0
	or al, 8
	mov cr0, eax
	faulting vaddps ymm0, ymm1, ymm2
	expect 22, 7, 0xffffffff
	clts

	; 23-25: alignment: VMOVAPS faults on a misaligned operand, VMOVUPS and
	; arithmetic do not; VEX.256 VMOVAPS needs 32 bytes
	faulting vmovaps xmm0, [DATA + 1]
	expect 23, 13, 0
	faulting vmovups xmm0, [DATA + 1]
	expect 24, 0xff, 0xffffffff
	faulting vaddps xmm0, xmm0, [DATA + 1]
	expect 24, 0xff, 0xffffffff
	faulting vmovaps ymm0, [DATA + 16]
	expect 25, 13, 0

	; 26-27: VEX.128 zeroes bits 255:128 of the destination; legacy SSE keeps them
	vbroadcastss ymm1, [ones]
	vmovaps xmm1, xmm2
	vextractf128 xmm3, ymm1, 1
	vptest xmm3, xmm3
	check 26, z
	vbroadcastss ymm1, [ones]
	movaps xmm1, xmm2
	vextractf128 xmm3, ymm1, 1
	vptest xmm3, xmm3
	check 27, nz

	; 28-30: XSAVE of component 2: XSTATE_BV[2] = 1 and YMM0[255:128] at 576
	mov edi, AREA
	xor eax, eax
	mov ecx, 832 / 4
	rep stosd
	vbroadcastss ymm0, [pattern]
	mov eax, 7
	xor edx, edx
	xsave [AREA]
	test byte [AREA + 512], 4
	check 28, nz
	cmp dword [AREA + 576], 0x12345678
	check 29, e
	cmp dword [AREA + 588], 0x12345678
	check 30, e
	; 31: after VZEROUPPER component 2 is in its initial configuration
	vzeroupper
	mov eax, 7
	xor edx, edx
	xsave [AREA]
	test byte [AREA + 512], 4
	check 31, z
	; 32: XRSTOR with XSTATE_BV[2] = 1 loads the upper halves again
	mov dword [AREA + 576], 0xcafef00d
	or byte [AREA + 512], 4
	mov eax, 7
	xor edx, edx
	xrstor [AREA]
	vextractf128 xmm3, ymm0, 1
	movd eax, xmm3
	cmp eax, 0xcafef00d
	check 32, e
	; 33: XRSTOR with RFBM[2] = 0 leaves them; with XSTATE_BV[2] = 0, initialises
	mov eax, 3
	xor edx, edx
	and byte [AREA + 512], ~4
	xrstor [AREA]
	vextractf128 xmm3, ymm0, 1
	movd eax, xmm3
	cmp eax, 0xcafef00d
	check 33, e
	mov eax, 7
	xor edx, edx
	xrstor [AREA]
	vextractf128 xmm3, ymm0, 1
	vptest xmm3, xmm3
	check 34, z

	; 35: VEX instructions #UD again once XCR0 drops AVX
	xsetbv_eax 3
	faulting vzeroupper
	expect 35, 6, 0xffffffff

	; 36-37: CPUID 0DH.1: XSAVEOPT, XSAVEC, XGETBV1, XSAVES; EBX = the compacted
	; size for XCR0 | IA32_XSS (576 for 3, 832 for 7)
	mov eax, 0xd
	mov ecx, 1
	cpuid
	and eax, 0xf
	cmp eax, 0xf
	check 36, e
	cmp ebx, 576
	check 37, e
	xsetbv_eax 7
	mov eax, 0xd
	mov ecx, 1
	cpuid
	cmp ebx, 832
	check 37, e

	; 38: XSAVEC with the x87 initial (FNINIT), XMM1 and YMM1[255:128] in use
	fninit
	vzeroall
	vbroadcastss ymm1, [pattern]
	mov edi, AREA
	mov eax, 0xcccccccc
	mov ecx, 1024 / 4
	rep stosd
	mov eax, 7
	xor edx, edx
	xsavec [AREA]
	cmp dword [AREA + 512], 6	; XSTATE_BV: SSE | AVX (x87 initial: not saved)
	check 38, e
	cmp dword [AREA + 516], 0
	check 38, e
	cmp dword [AREA + 520], 7	; XCOMP_BV = 8000000000000007H
	check 38, e
	cmp dword [AREA + 524], 0x80000000
	check 38, e
	cmp dword [AREA + 528], 0xcccccccc ; header bytes 16-63 not written
	check 38, e
	cmp dword [AREA], 0xcccccccc	; the x87 bytes not written
	check 38, e
	cmp dword [AREA + 24], 0x1f80	; MXCSR
	check 38, e
	cmp dword [AREA + 160 + 16], 0x12345678 ; XMM1
	check 38, e
	cmp dword [AREA + 160], 0	; XMM0
	check 38, e
	cmp dword [AREA + 576 + 16 + 12], 0x12345678 ; YMM1[255:224], first compacted offset 576
	check 38, e
	cmp dword [AREA + 464], 0xcccccccc ; legacy bytes 464-511 not written
	check 38, e
	; 39: XSAVES at CPL 0 writes the same image (IA32_XSS = 0)
	mov edi, AREA2
	mov eax, 0xcccccccc
	mov ecx, 1024 / 4
	rep stosd
	mov eax, 7
	xor edx, edx
	xsaves [AREA2]
	mov esi, AREA
	mov edi, AREA2
	mov ecx, 832 / 4
	repe cmpsd
	check 39, e
	; 40: XRSTOR of the compacted image: first #GP(0) for the CCh bytes 16-63 of
	; its header (XSAVEC left them; they must be 0), then, with them cleared, loaded
	mov dword [AREA + 576 + 16], 0xcafef00d
	mov eax, 7
	xor edx, edx
	faulting xrstor [AREA]
	expect 40, 13, 0
	mov edi, AREA + 528
	xor eax, eax
	mov ecx, 48 / 4
	rep stosd
	vzeroall
	mov eax, 7
	xor edx, edx
	xrstor [AREA]
	vextractf128 xmm3, ymm1, 1
	movd eax, xmm3
	cmp eax, 0xcafef00d
	check 40, e
	movd eax, xmm1
	cmp eax, 0x12345678
	check 40, e
	; 41: XRSTORS of it
	vzeroall
	mov eax, 7
	xor edx, edx
	xrstors [AREA]
	vextractf128 xmm3, ymm1, 1
	movd eax, xmm3
	cmp eax, 0xcafef00d
	check 41, e
	; 42: XGETBV ECX = 1: XCR0 AND XINUSE = SSE | AVX (XMM3 too now)
	mov ecx, 1
	xgetbv
	cmp eax, 6
	check 42, e
	; 43: XRSTORS of a standard-form image: #GP(0)
	mov byte [AREA + 527], 0
	mov eax, 7
	xor edx, edx
	faulting xrstors [AREA]
	expect 43, 13, 0
	mov byte [AREA + 527], 0x80
	; 44: an XCOMP_BV bit outside XCR0: #GP(0) for XRSTOR
	or byte [AREA + 520], 8
	mov eax, 7
	xor edx, edx
	faulting xrstor [AREA]
	expect 44, 13, 0
	and byte [AREA + 520], ~8
	; 45: header byte 63 nonzero: #GP(0)
	mov byte [AREA + 575], 1
	faulting xrstor [AREA]
	expect 45, 13, 0
	mov byte [AREA + 575], 0
	; 46: a misaligned XSAVEC area: #GP(0)
	faulting xsavec [AREA + 32]
	expect 46, 13, 0
	; 47: IA32_XSS reads 0, only 0 may be written
	mov ecx, 0xda0
	rdmsr
	or eax, edx
	check 47, z
	xor edx, edx
	xor eax, eax
	wrmsr
	inc eax
	faulting wrmsr
	expect 47, 13, 0

	; 48: at CPL 3 XSAVEC runs and XSAVES is #GP(0) (IOPL 3 to report)
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
	mov eax, 7
	xor edx, edx
	faulting xsavec [AREA2]
	expect 48, 0xff, 0xffffffff
	faulting xsaves [AREA2]
	expect 48, 13, 0
	jmp pass

	align 4
ones:	dd 0xffffffff
pattern: dd 0x12345678

%include "pm_end.inc"
