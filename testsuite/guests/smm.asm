; fugu guest test: System Management Mode on the i440FX/PIIX4 board (SDM vol. 3C,
; chapter 32; 82441FX SMRAM register; PIIX4 APMC/DEVACTB).
;  1-3  an SMI from a write to the APM control port (0xB2) with APMC_EN enters
;       SMM at SMBASE + 8000h = 38000h; the handler sees CS = 3000h and the
;       revision identifier with SMBASE relocation (bit 17); RSM returns with
;       every register as it was
;  4    the handler relocates SMBASE (at 7EF8h, or 7F00h for the AMD64 layout,
;       as firmware does) to 98000h: the next SMI enters at A0000h, in SMRAM
;  5    with SMRAM closed (G_SMRAME without D_OPEN) code outside SMM does not see
;       the SMRAM contents at A0000h ...
;  6    ... while the handler there runs in SMM and reads them
;  7    no SMI without APMC_EN
;  8-12 x87/SSE state and SMM (vol. 3C, chapter 32: table 32-4, "SMRAM State
;       Save Map", "Saving the x87 FPU State While in SMM": the processor does not
;       save the x87/SSE state in SMRAM): the SMI enters with CR4 = 0
;       (8) and XCR0 as it was (12, with XSAVE: the handler sets CR4.OSXSAVE and
;       reads it back); the handler's FXSAVE sees the interrupted code's FCW,
;       ST0 and (with SSE) XMM0/MXCSR (9); it clobbers them (FNINIT, SSE with its
;       own CR4.OSFXSR) and FXRSTORs: after RSM everything and CR4 are as before
;       (10); a handler that does not FXRSTOR leaves its values behind (11): RSM
;       restores no x87/SSE state
; The first failure prints "smm: FAIL n" and exits with n; success prints
; "smm: PASS" and exits with 0 (fugu status 1).
	bits 16
	org 0

MARK	equ 0x500		; the handlers' marks (linear)
H2_MARK	equ 0x504
H2_CS	equ 0x508
REV	equ 0x50c
FEAT_EDX equ 0x510
FEAT_ECX equ 0x514
CR4_OUT	equ 0x518
H3_MODE	equ 0x51c
H3_CR4	equ 0x520
H3_XCR0	equ 0x524
OUTW	equ 0x528
PI_REF	equ 0x530		; 10 bytes
OUTT	equ 0x540		; 10 bytes
OUTX	equ 0x560		; 16 bytes + a dword
FXBUF	equ 0x1000		; 512 bytes, 16-byte aligned

%macro check 2
	j%2 %%ok
	mov al, %1
	jmp fail
%%ok:
%endmacro

; pci_write32 <bus/dev/fn/reg address>, <value in EAX>
%macro pci_write32 1
	push eax
	mov eax, %1
	mov dx, 0xcf8
	out dx, eax
	pop eax
	mov dx, 0xcfc
	out dx, eax
%endmacro
%macro pci_read32 1
	mov eax, %1
	mov dx, 0xcf8
	out dx, eax
	mov dx, 0xcfc
	in eax, dx
%endmacro
%macro pci_write8 2 ; <address of the dword>, <byte offset 0-3>, value in AL
	push ax
	mov eax, %1
	mov dx, 0xcf8
	out dx, eax
	pop ax
	mov dx, 0xcfc + %2
	out dx, al
%endmacro

PM_DEVACT equ 0x80000000 | (1 << 11) | (3 << 8) | 0x58	; 00:01.3 register 58h
SMRAM_REG equ 0x80000000 | 0x70				; 00:00.0 register 70h-73h (72h: SMRAM)

start:
	cli
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, 0x7000
	cld
	mov dword [MARK], 0
	mov dword [H2_MARK], 0

	; 7 first: without APMC_EN a write to 0xB2 raises nothing
	mov si, handler1
	mov di, 0x8000
	mov ax, 0x3000
	mov es, ax
	mov cx, handler1_end - handler1
	cs rep movsb
	xor ax, ax
	mov es, ax
	mov al, 0x11
	out 0xb2, al
	cmp dword [MARK], 0
	check 7, e

	; enable SMI on APMC writes
	pci_read32 PM_DEVACT
	or eax, 1 << 25
	pci_write32 PM_DEVACT

	; 1-3: the first SMI
	mov eax, 0x11111111
	mov ebx, 0x22222222
	mov ecx, 0x33333333
	mov esi, 0x55555555
	mov edi, 0x66666666
	mov ebp, 0x77777777
	mov al, 0x42
	out 0xb2, al
	cmp ebx, 0x22222222
	check 3, e
	cmp ecx, 0x33333333
	check 3, e
	cmp esi, 0x55555555
	check 3, e
	cmp edi, 0x66666666
	check 3, e
	cmp ebp, 0x77777777
	check 3, e
	cmp sp, 0x7000
	check 3, e
	cmp dword [MARK], 0x3000	; the handler stored its CS
	check 1, e
	test dword [REV], 1 << 17	; SMBASE relocation supported
	check 2, nz

	; 4-6: a handler in SMRAM at A0000h, then close SMRAM
	mov al, 0x4a			; D_OPEN | G_SMRAME | C_BASE_SEG: SMRAM visible to all
	pci_write8 SMRAM_REG, 2
	mov ax, 0xa000
	mov es, ax
	xor di, di
	mov si, handler2
	mov cx, handler2_end - handler2
	cs rep movsb
	xor ax, ax
	mov es, ax
	mov al, 0x0a			; G_SMRAME | C_BASE_SEG: closed, SMM only
	pci_write8 SMRAM_REG, 2
	push ds
	mov ax, 0xa000
	mov ds, ax
	mov al, [0]			; outside SMM A0000h is the VGA window, not SMRAM
	pop ds
	cmp al, [cs:handler2]
	check 5, ne
	mov al, 0x43
	out 0xb2, al
	cmp dword [H2_MARK], 0x600d
	check 6, e
	cmp dword [H2_CS], 0x9800	; SMBASE 98000h: CS = 9800h, entry at A0000h
	check 4, e

	; 8-12: x87/SSE state across SMI and RSM, handler3 at A0000h
	mov al, 0x4a
	pci_write8 SMRAM_REG, 2
	mov ax, 0xa000
	mov es, ax
	xor di, di
	mov si, handler3
	mov cx, handler3_end - handler3
	cs rep movsb
	xor ax, ax
	mov es, ax
	mov al, 0x0a
	pci_write8 SMRAM_REG, 2
	mov eax, 1
	cpuid
	mov [FEAT_EDX], edx
	mov [FEAT_ECX], ecx
	mov eax, cr0
	and eax, ~0x0c			; CR0.EM/TS clear: the x87 runs here
	mov cr0, eax
	test dword [FEAT_EDX], 1 << 25	; SSE: CR4.OSFXSR
	jz .nosse
	mov eax, cr4
	or eax, 1 << 9
	mov cr4, eax
.nosse:
	test dword [FEAT_ECX], 1 << 26	; XSAVE: CR4.OSXSAVE, XCR0 = 3
	jz .noxsave
	mov eax, cr4
	or eax, 1 << 18
	mov cr4, eax
	mov eax, 3
	xor edx, edx
	xor ecx, ecx
	xsetbv
.noxsave:
	mov eax, cr4
	mov [CR4_OUT], eax
	fninit
	fldcw [cs:fcw_val]
	fldpi
	fld st0
	fstp tword [PI_REF]		; the reference 80-bit pi; ST0 keeps pi
	test dword [FEAT_EDX], 1 << 25
	jz .nosse2
	movups xmm0, [cs:xmm_pat]
	ldmxcsr [cs:mxcsr_val]
.nosse2:
	mov dword [H3_MODE], 0		; restore with FXRSTOR
	mov dword [H3_CR4], 0xffffffff
	mov al, 0x44
	out 0xb2, al
	cmp dword [H3_CR4], 0		; 8: CR4 = 0 in SMM
	check 8, e
	cmp word [FXBUF], 0x027f	; 9: the handler's FXSAVE saw the FCW ...
	check 9, e
	mov eax, [PI_REF]
	cmp eax, [FXBUF + 32]		; ... and ST0 = pi
	check 9, e
	mov eax, [PI_REF + 4]
	cmp eax, [FXBUF + 36]
	check 9, e
	mov ax, [PI_REF + 8]
	cmp ax, [FXBUF + 40]
	check 9, e
	mov eax, cr4			; 10: CR4 as before the SMI (RSM restores it)
	cmp eax, [CR4_OUT]
	check 10, e
	fnstcw [OUTW]
	cmp word [OUTW], 0x027f
	check 10, e
	fld st0
	fstp tword [OUTT]
	mov eax, [OUTT]
	cmp eax, [PI_REF]
	check 10, e
	mov ax, [OUTT + 8]
	cmp ax, [PI_REF + 8]
	check 10, e
	test dword [FEAT_EDX], 1 << 25
	jz .nosse3
	cmp dword [FXBUF + 24], 0x9f80	; 9: MXCSR and XMM0 in the handler's image
	check 9, e
	mov eax, [cs:xmm_pat + 12]
	cmp eax, [FXBUF + 160 + 12]
	check 9, e
	movups [OUTX], xmm0		; 10: XMM0 and MXCSR restored by the handler
	mov eax, [cs:xmm_pat]
	cmp eax, [OUTX]
	check 10, e
	mov eax, [cs:xmm_pat + 12]
	cmp eax, [OUTX + 12]
	check 10, e
	stmxcsr [OUTX]
	cmp dword [OUTX], 0x9f80
	check 10, e
.nosse3:
	test dword [FEAT_ECX], 1 << 26	; 12: XCR0 seen in SMM, and kept
	jz .noxsave2
	cmp dword [H3_XCR0], 3
	check 12, e
	xor ecx, ecx
	xgetbv
	cmp eax, 3
	check 12, e
.noxsave2:
	; 11: the handler does not restore: its FNINIT and zeroed XMM0 stay
	mov dword [H3_MODE], 1
	mov al, 0x45
	out 0xb2, al
	fnstcw [OUTW]
	cmp word [OUTW], 0x037f		; FNINIT's FCW
	check 11, e
	test dword [FEAT_EDX], 1 << 25
	jz .nosse4
	movups [OUTX], xmm0
	cmp dword [OUTX], 0
	check 11, e
	stmxcsr [OUTX]
	cmp dword [OUTX], 0x1f80
	check 11, e
.nosse4:

	mov si, pass_msg
	call puts
	mov al, 0
	out 0xf4, al
	hlt



; handler1: copied to 3000:8000 (SMBASE 30000h). In SMM the data segments have
; base 0 and a 4 GiB limit (table 32-4), so addr32 reaches anything.
handler1:
	mov ax, cs
	movzx eax, ax
	mov [MARK], eax
	mov eax, [cs:0xfefc]		; revision identifier (7EFCh)
	mov [REV], eax
	; relocate SMBASE to 98000h where the layout keeps it
	mov ebx, 0xfef8
	cmp al, 0x64
	jne .ia32
	mov ebx, 0xff00
.ia32:	mov dword [cs:bx], 0x98000
	rsm
handler1_end:

; handler2: runs from SMRAM at A0000h = SMBASE 98000h + 8000h.
handler2:
	mov ax, cs
	movzx eax, ax
	mov [H2_CS], eax
	mov dword [H2_MARK], 0x600d
	rsm
handler2_end:

; handler3: at A0000h (SMBASE 98000h). Saves the x87/SSE state with FXSAVE
; (which needs no CR4 bit), clobbers it, and restores it unless H3_MODE = 1.
handler3:
	mov eax, cr4
	mov [H3_CR4], eax
	fxsave [FXBUF]
	test dword [FEAT_ECX], 1 << 26
	jz .h3_noxsave
	mov eax, cr4
	or eax, 1 << 18			; the handler's own CR4.OSXSAVE
	mov cr4, eax
	xor ecx, ecx
	xgetbv
	mov [H3_XCR0], eax
.h3_noxsave:
	fninit
	fldz
	test dword [FEAT_EDX], 1 << 25
	jz .h3_nosse
	mov eax, cr4
	or eax, 1 << 9			; the handler's own CR4.OSFXSR
	mov cr4, eax
	xorps xmm0, xmm0
	mov dword [OUTX + 16], 0x1f80
	ldmxcsr [OUTX + 16]
.h3_nosse:
	cmp dword [H3_MODE], 1
	je .h3_out
	fxrstor [FXBUF]
.h3_out:
	rsm
handler3_end:

	align 16
xmm_pat: dd 0x11223344, 0x55667788, 0x99aabbcc, 0xddeeff00
mxcsr_val: dd 0x9f80			; FZ, all masked
fcw_val: dw 0x027f			; 53-bit precision

%include "report16.inc"

pass_msg: db "smm: PASS", 10, 0
fail_msg: db "smm: FAIL ", 0

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
