; fugu demo disk: what `make run` boots through SeaBIOS.
;
; A boot sector that loads the rest of the program with INT 13h extensions, and
; a real-mode program that shows what the machine is — CPUID vendor, brand,
; family/model/stepping and features, the E820 memory map and RAM size — on
; the VGA text screen (INT 10h) and on COM1, then runs a clock from the PIT
; (the BIOS's INT 1Ch tick) and the RTC (INT 1Ah), idling in HLT between ticks.
; Every scan code the keyboard sends is echoed on COM1 ("scancode 1e"), caught
; through the BIOS's keyboard intercept (INT 15h AH=4Fh, called by the IRQ 1
; handler with the set-1 code in AL). Esc on the keyboard, a byte on COM1, or
; 30 seconds power the machine off through ACPI (fugu exits with status 0).
;
; Assembled with nasm into a raw disk image of DISK_SECTORS sectors.
	bits 16
	org 0x7c00

DISK_SECTORS equ 2048		; a 1 MiB disk
PROG_SECTORS equ (prog_end - prog_start + 511) / 512
COM1	equ 0x3f8
CLOCK_ROW equ 22
AUTO_OFF_SECONDS equ 30

; ---------------------------------------------------------------- boot sector
boot:
	cli
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, 0x7c00
	sti
	cld
	mov [boot_drive], dl
	; INT 13h AH=42h: read the program right after the boot sector
	mov si, dap
	mov ah, 0x42
	int 0x13
	jc .fail
	jmp prog_start
.fail:	mov si, load_error
.p:	lodsb
	test al, al
	jz .h
	mov ah, 0x0e
	int 0x10
	jmp .p
.h:	hlt
	jmp .h

dap:	db 0x10, 0			; disk address packet (EDD 3.0)
	dw PROG_SECTORS
	dw prog_start, 0		; buffer 0000:prog_start
	dq 1				; from LBA 1
boot_drive: db 0x80
load_error: db "demo: cannot read the disk", 13, 10, 0

	times 510 - ($ - $$) db 0
	dw 0xaa55

; ---------------------------------------------------------------- the program
prog_start:
	call serial_init
	mov ax, 0x0003			; 80x25 text mode, clears the screen
	int 0x10
	mov si, banner
	call puts

	; CPUID (SDM vol. 2A): vendor, signature, features, brand string
	mov si, s_cpu
	call puts
	xor eax, eax
	cpuid
	mov [vendor], ebx
	mov [vendor + 4], edx
	mov [vendor + 8], ecx
	mov si, vendor
	call puts
	mov eax, 1
	cpuid
	mov [sig], eax
	mov [feat_edx], edx
	mov [feat_ecx], ecx
	mov si, s_family
	call puts
	mov eax, [sig]			; family: base, plus extended when base is 0Fh
	mov ebx, eax
	shr eax, 8
	and eax, 0x0f
	cmp eax, 0x0f
	jne .fam
	shr ebx, 20
	and ebx, 0xff
	add eax, ebx
.fam:	call putdec
	mov si, s_model
	call puts
	mov eax, [sig]
	mov ebx, eax
	shr eax, 4
	and eax, 0x0f
	shr ebx, 12
	and ebx, 0xf0
	or eax, ebx
	call putdec
	mov si, s_stepping
	call puts
	mov eax, [sig]
	and eax, 0x0f
	call putdec
	call newline
	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000004
	jb .nobrand
	mov di, brand
	mov esi, 0x80000002
.brand:	mov eax, esi
	cpuid
	mov [di], eax
	mov [di + 4], ebx
	mov [di + 8], ecx
	mov [di + 12], edx
	add di, 16
	inc esi
	cmp esi, 0x80000004
	jbe .brand
	mov si, s_brand
	call puts
	mov si, brand
	call puts
	call newline
	mov eax, 0x80000001
	cpuid
	mov [feat_ext], edx
.nobrand:
	; feature names whose bits are set
	mov si, s_features
	call puts
	mov bx, features
.feat:	mov al, [bx]			; register: 0 = 1:EDX, 1 = 1:ECX, 2 = 80000001h:EDX
	cmp al, 0xff
	je .featdone
	mov cl, [bx + 1]		; bit
	mov edx, [feat_edx]
	cmp al, 1
	jne .n1
	mov edx, [feat_ecx]
.n1:	cmp al, 2
	jne .n2
	mov edx, [feat_ext]
.n2:	bt edx, ecx
	jnc .skip
	lea si, [bx + 2]
	call puts
	mov al, ' '
	call putc
.skip:	add bx, 2
.name:	cmp byte [bx], 0		; step over the name
	je .next
	inc bx
	jmp .name
.next:	inc bx
	jmp .feat
.featdone:
	call newline

	; E820 (ACPI spec, INT 15h AX=E820h): the map and the usable RAM
	mov si, s_e820
	call puts
	xor ebx, ebx
	mov dword [ram_kib], 0
.e820:	mov eax, 0xe820
	mov edx, 0x534d4150		; 'SMAP'
	mov ecx, 20
	mov di, e820_entry
	int 0x15
	jc .e820done
	cmp eax, 0x534d4150
	jne .e820done
	push ebx
	mov si, s_indent
	call puts
	mov eax, [e820_entry + 4]
	call puthex32
	mov eax, [e820_entry]
	call puthex32
	mov al, ' '
	call putc
	mov eax, [e820_entry + 12]
	call puthex32
	mov eax, [e820_entry + 8]
	call puthex32
	mov si, s_type
	call puts
	mov eax, [e820_entry + 16]
	call putdec
	call newline
	cmp dword [e820_entry + 16], 1
	jne .notram
	mov eax, [e820_entry + 8]	; length in KiB (below 4 GiB parts suffice here)
	mov edx, [e820_entry + 12]
	shrd eax, edx, 10
	add [ram_kib], eax
.notram:
	pop ebx
	test ebx, ebx
	jnz .e820
.e820done:
	mov si, s_ram
	call puts
	mov eax, [ram_kib]
	shr eax, 10
	call putdec
	mov si, s_mib
	call puts

	; the clock: INT 1Ch is called by the BIOS IRQ 0 handler at 18.2 Hz
	mov si, s_quit
	call puts
	cli
	mov word [0x1c * 4], tick
	mov [0x1c * 4 + 2], cs
	mov eax, [0x15 * 4]		; chain INT 15h behind the keyboard intercept
	mov [old_int15], eax
	mov word [0x15 * 4], int15
	mov [0x15 * 4 + 2], cs
	sti
.idle:	hlt				; sleep until the next interrupt
	call echo_scancodes
	mov ah, 0x01			; a key on the keyboard?
	int 0x16
	jz .nokey
	xor ah, ah			; take it; Esc powers off
	int 0x16
	cmp al, 27
	je poweroff
	jmp .idle
.nokey:
	mov dx, COM1 + 5		; or on COM1?
	in al, dx
	test al, 1
	jnz poweroff
	mov ax, [ticks]
	sub ax, [shown]
	cmp ax, 18
	jb .idle
	add word [shown], 18
	call show_clock
	cmp word [shown], 18 * AUTO_OFF_SECONDS
	jae poweroff			; unattended runs end by themselves
	jmp .idle

; tick: INT 1Ch handler.
tick:	inc word [cs:ticks]
	iret

; int15: AH=4Fh (keyboard intercept): remember the scan code in AL, return
; CF set so the BIOS goes on with it; everything else goes to the BIOS.
int15:	cmp ah, 0x4f
	jne .bios
	push bx
	movzx bx, byte [cs:sc_head]
	mov [cs:sc_ring + bx], al
	inc bl
	and bl, 31
	cmp bl, [cs:sc_tail]
	je .full			; full: the code is lost
	mov [cs:sc_head], bl
.full:	pop bx
	stc
	retf 2
.bios:	jmp far [cs:old_int15]

; echo_scancodes: "scancode XX" on COM1 for each code the intercept caught.
echo_scancodes:
	pusha
.next:	movzx bx, byte [sc_tail]
	cmp bl, [sc_head]
	je .done
	mov si, s_scancode
.s:	lodsb
	test al, al
	jz .hex
	call serial_putc
	jmp .s
.hex:	mov al, [sc_ring + bx]
	shr al, 4
	call serial_hexdigit
	mov al, [sc_ring + bx]
	call serial_hexdigit
	mov al, 13
	call serial_putc
	mov al, 10
	call serial_putc
	inc bl
	and bl, 31
	mov [sc_tail], bl
	jmp .next
.done:	popa
	ret

; serial_hexdigit: the low nibble of AL as a hex digit on COM1.
serial_hexdigit:
	and al, 0x0f
	add al, '0'
	cmp al, '9'
	jbe .d
	add al, 'a' - '9' - 1
.d:	jmp serial_putc

; show_clock: RTC time (INT 1Ah AH=02h, BCD) and PIT uptime on row CLOCK_ROW.
show_clock:
	mov ah, 0x02			; cursor to the clock row
	xor bh, bh
	mov dh, CLOCK_ROW
	xor dl, dl
	int 0x10
	mov al, 13
	call serial_putc
	mov si, s_rtc
	call puts
	mov ah, 0x02
	int 0x1a
	jc .done
	mov al, ch
	call putbcd
	mov al, ':'
	call putc
	mov al, cl
	call putbcd
	mov al, ':'
	call putc
	mov al, dh
	call putbcd
	mov si, s_uptime
	call puts
	movzx eax, word [shown]
	xor edx, edx
	mov ecx, 18
	div ecx
	call putdec
	mov si, s_seconds
	call puts
.done:	ret

; poweroff: ACPI S5 through PM1a control: the PIIX4 power-management function
; (00:01.3) has its I/O base in PMBA (config 40h, bits 15:6) and PM1 control at
; base + 4; SLP_TYP 0 is S5 in SeaBIOS's DSDT for this board. Then halt.
poweroff:
	call newline
	mov si, s_bye
	call puts
	mov eax, 0x80000b40		; CONFIG_ADDRESS: bus 0, device 1, function 3, 40h
	mov dx, 0xcf8
	out dx, eax
	mov dx, 0xcfc
	in eax, dx
	and ax, 0xffc0
	add ax, 4
	mov dx, ax
	mov ax, 0x2000			; SLP_EN, SLP_TYP = 0
	out dx, ax
	cli
.h:	hlt
	jmp .h

; ---------------------------------------------------------------- output
serial_init:
	mov dx, COM1 + 1		; no interrupts
	xor al, al
	out dx, al
	mov dx, COM1 + 3		; DLAB
	mov al, 0x80
	out dx, al
	mov dx, COM1			; divisor 1: 115200 baud
	mov al, 1
	out dx, al
	inc dx
	xor al, al
	out dx, al
	mov dx, COM1 + 3		; 8N1
	mov al, 0x03
	out dx, al
	mov dx, COM1 + 2		; FIFOs on
	mov al, 0x07
	out dx, al
	ret

serial_putc:
	push dx
	push ax
	mov dx, COM1 + 5
.wait:	in al, dx
	test al, 0x20			; THR empty
	jz .wait
	pop ax
	mov dx, COM1
	out dx, al
	pop dx
	ret

; putc: AL to the screen (teletype) and to COM1 (LF becomes CR LF).
putc:	pusha
	cmp al, 10
	jne .c
	mov al, 13
	call serial_putc
	mov ah, 0x0e
	xor bx, bx
	int 0x10
	mov al, 10
.c:	call serial_putc
	mov ah, 0x0e
	xor bx, bx
	int 0x10
	popa
	ret

puts:	lodsb
	test al, al
	jz .d
	call putc
	jmp puts
.d:	ret

newline:
	mov al, 10
	jmp putc

; putdec: EAX in decimal.
putdec:	pushad
	mov ecx, 10
	xor bx, bx
.div:	xor edx, edx
	div ecx
	push dx
	inc bx
	test eax, eax
	jnz .div
.out:	pop ax
	add al, '0'
	call putc
	dec bx
	jnz .out
	popad
	ret

; puthex32: EAX as 8 hex digits.
puthex32:
	pushad
	mov cx, 8
.h:	rol eax, 4
	push eax
	and al, 0x0f
	add al, '0'
	cmp al, '9'
	jbe .d
	add al, 'a' - '9' - 1
.d:	call putc
	pop eax
	loop .h
	popad
	ret

; putbcd: AL as two BCD digits.
putbcd:	push ax
	shr al, 4
	add al, '0'
	call putc
	pop ax
	and al, 0x0f
	add al, '0'
	jmp putc

; ---------------------------------------------------------------- data
banner:	db "fugu demo disk -- booted through SeaBIOS", 10, 10, 0
s_cpu:	db "CPU: ", 0
s_family: db "  family ", 0
s_model: db " model ", 0
s_stepping: db " stepping ", 0
s_brand: db "     ", 0
s_features: db "Features: ", 0
s_e820:	db 10, "Memory map (E820):", 10, 0
s_indent: db "  ", 0
s_type:	db "  type ", 0
s_ram:	db "Usable RAM: ", 0
s_mib:	db " MiB", 10, 0
s_quit:	db 10, "Keys are echoed as scan codes on COM1. Esc (or a key on COM1) powers off;", 10
	db "it powers off by itself after 30 s.", 10, 0
s_scancode: db "scancode ", 0
s_rtc:	db "RTC ", 0
s_uptime: db "   uptime ", 0
s_seconds: db " s (PIT)  ", 0
s_bye:	db "Powering off.", 10, 0

; register (0: CPUID.1:EDX, 1: CPUID.1:ECX, 2: CPUID.80000001h:EDX), bit, name
features:
	db 0, 0, "fpu", 0
	db 0, 4, "tsc", 0
	db 0, 5, "msr", 0
	db 0, 6, "pae", 0
	db 0, 9, "apic", 0
	db 0, 11, "sep", 0
	db 0, 13, "pge", 0
	db 0, 15, "cmov", 0
	db 0, 23, "mmx", 0
	db 0, 25, "sse", 0
	db 0, 26, "sse2", 0
	db 1, 0, "sse3", 0
	db 1, 5, "vmx", 0
	db 1, 23, "popcnt", 0
	db 1, 21, "x2apic", 0
	db 2, 11, "syscall", 0
	db 2, 20, "nx", 0
	db 2, 29, "lm", 0
	db 0xff

vendor:	times 13 db 0
brand:	times 49 db 0
	align 4
sig:	dd 0
feat_edx: dd 0
feat_ecx: dd 0
feat_ext: dd 0
ram_kib: dd 0
ticks:	dw 0
old_int15: dd 0
sc_ring: times 32 db 0
sc_head: db 0
sc_tail: db 0
shown:	dw 0
e820_entry: times 24 db 0
prog_end:

	times DISK_SECTORS * 512 - ($ - $$) db 0
