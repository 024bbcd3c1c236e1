; fugu benchmark guest for fast reset (fastreset.c): from the reset vector,
; enable A20, enter 32-bit protected mode with flat segments, then increment
; the first dword of N consecutive pages from 1 MiB (N read from physical
; 0x500, which the benchmark writes before it takes the snapshot) and halt.
; A 4 KiB ROM: it sits at 0xFFFFF000, where the CPU starts.
	bits 16
	org 0xf000
ROMLIN equ 0xffff0000		; CS base at reset: label + ROMLIN is linear

start:
	cli
	in al, 0x92		; fast A20
	or al, 2
	out 0x92, al
	o32 lgdt [cs:gdt_desc]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp dword 0x08:(ROMLIN + pm)

	bits 32
pm:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov ecx, [0x500]
	mov edi, 0x100000
.next:
	test ecx, ecx
	jz .done
	inc dword [edi]
	add edi, 4096
	dec ecx
	jmp .next
.done:
	hlt
	jmp .done

	align 8
gdt:
	dq 0
	dq 0x00cf9b000000ffff	; 0x08: flat 32-bit code
	dq 0x00cf93000000ffff	; 0x10: flat data
gdt_desc:
	dw 23
	dd ROMLIN + gdt

	times 0xff0 - ($ - $$) db 0
	bits 16
	jmp start		; the reset vector, F000:FFF0
	times 0x1000 - ($ - $$) db 0
