; fugu boot test: an El Torito no-emulation boot image (El Torito 1.0,
; section 2.1), built into an ISO 9660 image by mkiso.sh with xorriso and
; booted by SeaBIOS from the ATAPI CD-ROM (-cdrom, -boot d). SeaBIOS loads
; its 4 virtual sectors at 0000:7C00 with DL = the CD's drive number. It checks
; the BIOS's CD services, which read the drive through ATAPI packets: DL is a
; CD drive (E0h and up in SeaBIOS), INT 13h extensions are present, AH=48h
; reports 2048-byte sectors, AH=42h reads sector 16, the ISO 9660 primary
; volume descriptor ("\1CD001"). Prints "cdboot: PASS" on the debug console
; and exits through isa-debug-exit with 0 (fugu status 1), or
; "cdboot: FAIL n" and exits with n.
	bits 16
	org 0x7c00

start:
	cli
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, 0x7c00
	mov [drive], dl

	; 1: booted from a CD drive
	mov al, 1
	cmp dl, 0xe0
	jb fail
	; 2: INT 13h extensions (AH=41h): BX comes back as AA55h
	mov ah, 0x41
	mov bx, 0x55aa
	mov dl, [drive]
	int 0x13
	mov al, 2
	jc fail
	cmp bx, 0xaa55
	jne fail
	; 3: drive parameters (AH=48h): 2048 bytes per sector
	mov word [params], 0x1e
	mov ah, 0x48
	mov dl, [drive]
	mov si, params
	int 0x13
	mov al, 3
	jc fail
	cmp word [params + 0x18], 2048
	jne fail
	; 4: extended read (AH=42h) of sector 16 to 0000:8000
	mov ah, 0x42
	mov dl, [drive]
	mov si, dap
	int 0x13
	mov al, 4
	jc fail
	cmp byte [0x8000], 1
	jne fail
	cmp dword [0x8001], 'CD00'
	jne fail
	cmp byte [0x8005], '1'
	jne fail

	mov si, pass_msg
	call puts
	mov al, 0
	out 0xf4, al
	hlt

fail:
	mov bl, al
	mov si, fail_msg
	call puts
	mov al, bl
	aam
	add ax, 0x3030
	xchg al, ah
	out 0xe9, al
	mov al, ah
	out 0xe9, al
	mov al, 10
	out 0xe9, al
	mov al, bl
	out 0xf4, al
	hlt

puts:
	lodsb
	test al, al
	jz .done
	out 0xe9, al
	jmp puts
.done:	ret

	align 4
dap:	db 16, 0
	dw 1			; one 2048-byte sector
	dw 0x8000, 0		; to 0000:8000
	dq 16			; the primary volume descriptor
drive:	db 0
pass_msg: db 10, "cdboot: PASS", 10, 0
fail_msg: db 10, "cdboot: FAIL ", 0
	align 2
params:	times 0x1e db 0

	times 2048 - ($ - $$) db 0
