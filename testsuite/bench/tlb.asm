; fugu benchmark guest: the software TLB under 32-bit paging.
; Reset vector -> protected mode -> 32-bit paging; then PASSES passes of a loop
; that reads, adds to and writes back one dword per iteration in the page
; (ecx & MASK) of a 16 MiB window mapped 4 KiB page by 4 KiB page. With
; MASK=4095 every access is to a different page than the last 1023, so every
; access misses the (1024-entry, direct-mapped) TLB and walks; with MASK=7 the
; same instructions stay on 8 pages and always hit. The 4096 linear pages alias
; 64 physical pages. Prints "checksum=<8 hex digits>" on port 0xe9 and exits
; through isa-debug-exit. testsuite/bench/tlb.py runs and checks it.
; -DNOPAGING leaves paging off (with MASK=7 the checksum is the same): the TLB
; hit path without page walks, for comparing builds.
%ifndef PASSES
%define PASSES 1000
%endif
%ifndef MASK
%define MASK 4095
%endif
	bits 16
	org 0

BASE	equ 0xf0000
PD	equ 0x10000
PT0	equ 0x11000		; identity map of 0-4 MiB
PTW	equ 0x20000		; four tables for the window at 0x1000000
WINDOW	equ 0x1000000
PHYS	equ 0x200000		; 64 physical pages behind the window

start:
	cli
	lgdt [cs:gdtr]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp dword 0x08:pm32

	bits 32
pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov esp, 0x9000
	cld
	mov edi, PT0
	mov eax, 0x003
	mov ecx, 1024
.id:	stosd
	add eax, 0x1000
	loop .id
	mov edi, PTW
	xor edx, edx
.win:	mov eax, edx
	and eax, 63
	shl eax, 12
	add eax, PHYS | 3
	stosd
	inc edx
	cmp edx, 4096
	jb .win
	mov dword [PD + 0 * 4], PT0 | 3
	mov dword [PD + 4 * 4], PTW + 0x0000 | 3
	mov dword [PD + 5 * 4], PTW + 0x1000 | 3
	mov dword [PD + 6 * 4], PTW + 0x2000 | 3
	mov dword [PD + 7 * 4], PTW + 0x3000 | 3
	mov edi, PHYS		; the dwords the loop touches start as zero
	xor eax, eax
	mov ecx, 64 * 1024
	rep stosd
%ifndef NOPAGING
	mov eax, PD
	mov cr3, eax
	mov eax, cr0
	or eax, 0x80000000
	mov cr0, eax
%endif

	xor ebx, ebx		; checksum
	mov ebp, PASSES
outer:	mov ecx, 4096
inner:	mov esi, ecx
	and esi, MASK
	shl esi, 12
	mov eax, [esi + WINDOW]
	add ebx, eax
	add eax, ecx
	mov [esi + WINDOW], eax
	dec ecx
	jnz inner
	dec ebp
	jnz outer

	mov esi, msg
	call puts
	mov ecx, 8
.hex:	rol ebx, 4
	mov eax, ebx
	and eax, 15
	mov al, [cs:hexdigits + eax]
	out 0xe9, al
	loop .hex
	mov al, 10
	out 0xe9, al
	mov al, 0
	out 0xf4, al
	hlt

puts:
.next:	cs lodsb
	test al, al
	jz .done
	out 0xe9, al
	jmp .next
.done:	ret

hexdigits: db "0123456789abcdef"
msg:	db "checksum=", 0

	align 8
gdt:	dq 0
	dw 0xffff, 0x0000, 0x9a0f, 0x00cf	; 0x08 code, base BASE
	dw 0xffff, 0x0000, 0x9200, 0x00cf	; 0x10 data, flat
gdt_end:
gdtr:	dw gdt_end - gdt - 1
	dd BASE + gdt

	times 0xfff0 - ($ - $$) db 0xff
	bits 16
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
