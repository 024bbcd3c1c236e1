; fugu boot test: a disk booted by SeaBIOS.
; The boot sector prints a line through INT 10h (the VGA text screen) and one
; through INT 14h (COM1), loads the next two sectors with INT 13h extensions
; (AH=42h, EDD), and jumps there; that code switches to protected mode, checks
; a 32-bit store above 1 MiB reads back, prints on the debug console, and exits
; through isa-debug-exit with 0x10 (fugu status 33). Any failure exits with
; the step number instead.
	bits 16
	org 0x7c00

start:
	cli
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, 0x7c00
	sti
	cld
	mov [drive], dl
	mov si, msg_screen		; INT 10h AH=0Eh teletype
.v:	lodsb
	test al, al
	jz .vd
	mov ah, 0x0e
	xor bx, bx
	int 0x10
	jmp .v
.vd:	mov ah, 0x00			; INT 14h AH=00h: COM1 9600 8N1
	mov al, 0xe3
	xor dx, dx
	int 0x14
	mov si, msg_serial
.s:	lodsb
	test al, al
	jz .sd
	mov ah, 0x01			; INT 14h AH=01h: send AL
	xor dx, dx
	int 0x14
	test ah, 0x80
	jnz fail1
	jmp .s
.sd:	mov ah, 0x41			; INT 13h AH=41h: extensions present?
	mov bx, 0x55aa
	mov dl, [drive]
	int 0x13
	jc fail2
	cmp bx, 0xaa55
	jne fail2
	mov si, dap			; INT 13h AH=42h: extended read
	mov ah, 0x42
	mov dl, [drive]
	int 0x13
	jc fail3
	cmp dword [stage2_magic + 2], 0x32656761	; "age2"
	jne fail3
	jmp stage2

fail1:	mov al, 1
	jmp failx
fail2:	mov al, 2
	jmp failx
fail3:	mov al, 3
failx:	out 0xf4, al
	hlt

dap:	db 0x10, 0
	dw 2				; two sectors
	dw stage2, 0			; to 0000:7e00
	dq 1				; from LBA 1
drive:	db 0
msg_screen: db "fugu boot sector: hello from INT 10h", 13, 10, 0
msg_serial: db "fugu boot sector: hello from COM1", 13, 10, 0

	times 510 - ($ - $$) db 0
	dw 0xaa55

; ---- sectors 1-2: protected mode ----
stage2:
	jmp stage2_go
stage2_magic: db "stage2"
stage2_go:
	cli
	lgdt [gdtr]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp dword 0x08:pm32

	bits 32
pm32:	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov esp, 0x7c00
	mov dword [0x200000], 0x600dc0de	; above 1 MiB: A20 must be on
	cmp dword [0x200000], 0x600dc0de
	jne .fail
	cmp dword [0x000000], 0x600dc0de	; and not aliased at 0
	je .fail
	mov esi, msg_pm
.p:	lodsb
	test al, al
	jz .done
	out 0xe9, al
	jmp .p
.done:	mov al, 0x10
	out 0xf4, al
	hlt
.fail:	mov al, 4
	out 0xf4, al
	hlt

msg_pm:	db "fugu boot sector: protected mode OK", 10, 0
	align 8
gdt:	dq 0
	dq 0x00cf9b000000ffff
	dq 0x00cf93000000ffff
gdtr:	dw gdtr - gdt - 1
	dd gdt

	times 3 * 512 - ($ - $$) db 0
	times 1024 * 1024 - ($ - $$) db 0	; a 1 MiB disk
