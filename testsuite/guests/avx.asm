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
; 13.5.3 and 13.6-13.8).
	org 0xf0000
%define TEST "avx"
%include "pm.inc"

DATA	equ 0x900			; 64 bytes of operands
AREA	equ 0x3000			; 64-byte aligned XSAVE area (832 bytes)

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
	jmp pass

	align 4
ones:	dd 0xffffffff
pattern: dd 0x12345678

%include "pm_end.inc"
