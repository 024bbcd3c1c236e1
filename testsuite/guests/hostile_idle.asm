; fugu hostile guest: an idle machine with a masked timer that would expire
; all the time: the local APIC timer periodic at initial count 1, divide by 1,
; its LVT entry masked (SDM vol. 3A, 10.5.4 and 10.5.1: a masked entry
; delivers nothing), then CLI; HLT forever. Nothing can wake the CPU, so the
; host must sleep (~0 % CPU) until -timeout.
	bits 16
	org 0
LAPIC	equ 0xfee00000
start:
	cli
	xor ax, ax
	mov ss, ax
	mov sp, 0x7000
	lgdt [cs:gdtr]			; unreal mode: FS with a 4 GiB limit
	mov eax, cr0
	or al, 1
	mov cr0, eax
	mov bx, 0x08
	mov fs, bx
	and al, 0xfe
	mov cr0, eax
	xor ax, ax
	mov fs, ax
	mov ebx, LAPIC
	mov dword [fs:ebx + 0xf0], 0x1ff	; SVR: software enable
	mov dword [fs:ebx + 0x3e0], 0x0b	; divide by 1
	mov dword [fs:ebx + 0x320], 0x30040	; LVT timer: periodic, masked
	mov dword [fs:ebx + 0x380], 1		; initial count 1
.idle:	hlt
	jmp .idle

gdt:	dq 0
	dw 0xffff, 0x0000, 0x9200, 0x00cf	; 0x08 data, flat, 4 GiB
gdt_end:
gdtr:	dw gdt_end - gdt - 1
	dd 0xf0000 + gdt

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
