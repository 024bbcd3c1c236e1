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
; The first failure prints "smm: FAIL n" and exits with n; success prints
; "smm: PASS" and exits with 0 (fugu status 1).
	bits 16
	org 0

MARK	equ 0x500		; the handlers' marks (linear)
H2_MARK	equ 0x504
H2_CS	equ 0x508
REV	equ 0x50c

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

%include "report16.inc"

pass_msg: db "smm: PASS", 10, 0
fail_msg: db "smm: FAIL ", 0

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
