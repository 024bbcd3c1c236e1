; fugu benchmark guest: cpu64.asm's integer workload in 32-bit protected mode.
; Reset vector -> protected mode (flat 4 GiB segments) -> 2-level paging with a
; 4 MiB page (CR4.PSE) identity-mapping the first 4 MiB; then PASSES passes,
; each of ITERATIONS rounds of a xorshift32 generator (13, 17, 5) feeding a
; table of 4096 dword counters, multiplies and branches: the same 20-instruction
; round as cpu64.asm with 32-bit registers and 32-bit addresses. Every pass
; starts afresh (same seed, cleared table) and ends with the table folded into
; the pass result; the checksum is the sum of the pass results mod 2^32.
; Prints "checksum=<8 hex digits>" on port 0xe9 and exits through
; isa-debug-exit at 0xf4 (fugu, QEMU) and the Bochs shutdown port 0x8900.
; testsuite/bench/cpu.py --mode 32 recomputes the checksum natively. PASSES=0
; runs only the setup and the exit (the start-up baseline).
;
; Instructions retired, beyond the PASSES=0 baseline (REP STOS counted once):
; PASSES * (20495 + 20 * ITERATIONS + odd) + the number of hex letters a-f in
; the checksum printed, where odd = rounds whose xorshift output is odd (they
; run the ROL). cpu.py checks fugu's -stats count against this.
%ifndef ITERATIONS
%define ITERATIONS 20000000
%endif
%ifndef PASSES
%define PASSES 1
%endif
	bits 16
	org 0
ROMBASE equ 0xf0000
PD equ 0x10000
TABLE equ 0x100000
SUM equ 0x90000                  ; the sum of the pass results
LEFT equ 0x90004                 ; passes left

start:
	cli
	o32 lgdt [cs:gdt_desc]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp dword 0x08:(ROMBASE + pm32)

	bits 32
pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov esp, 0x80000
	; page directory: PD[0] = a 4 MiB page at 0
	mov edi, PD
	xor eax, eax
	mov ecx, 1024
	rep stosd
	mov dword [PD], 0x000083
	mov eax, cr4
	or eax, 1 << 4           ; PSE
	mov cr4, eax
	mov eax, PD
	mov cr3, eax
	mov eax, cr0
	or eax, 1 << 31          ; PG
	mov cr0, eax
	mov dword [SUM], 0
	mov dword [LEFT], PASSES
	cmp dword [LEFT], 0
	je .done
.pass:
	; clear the table
	mov edi, TABLE
	xor eax, eax
	mov ecx, 4096
	rep stosd
	mov eax, 0x9e3779b9          ; xorshift state
	xor edx, edx                 ; accumulator
	mov ecx, ITERATIONS
	mov esi, TABLE
	test ecx, ecx
	jz .folds
.loop:
	mov ebx, eax
	shl ebx, 13
	xor eax, ebx
	mov ebx, eax
	shr ebx, 17
	xor eax, ebx
	mov ebx, eax
	shl ebx, 5
	xor eax, ebx
	mov ebx, eax
	and ebx, 4095
	mov edi, [esi + ebx * 4]
	add edi, eax
	mov [esi + ebx * 4], edi
	imul ebp, edi, 31
	add edx, ebp
	test al, 1
	jz .even
	rol edx, 3
.even:
	dec ecx
	jnz .loop
.folds:
	; fold the table into the pass result
	mov ecx, 4096
	xor ebx, ebx
.fold:
	add edx, [esi + ebx * 4]
	ror edx, 1
	inc ebx
	dec ecx
	jnz .fold
	add [SUM], edx
	dec dword [LEFT]
	jnz .pass
.done:
	mov edx, [SUM]

	; print "checksum=" and 8 hex digits of edx
	mov esi, ROMBASE + msg
.p:	lodsb
	test al, al
	jz .hex
	out 0xe9, al
	jmp .p
.hex:
	mov ecx, 8
.h:	rol edx, 4
	mov eax, edx
	and eax, 15
	cmp eax, 10
	jb .digit
	add eax, 'a' - 10 - '0'
.digit:	add eax, '0'
	out 0xe9, al
	dec ecx
	jnz .h
	mov al, 10
	out 0xe9, al
	xor eax, eax
	out 0xf4, al             ; isa-debug-exit: status 1
	mov esi, ROMBASE + bochs_shutdown
	mov dx, 0x8900
.s:	lodsb
	test al, al
	jz .halt
	out dx, al
	jmp .s
.halt:	hlt
	jmp .halt

msg: db "checksum=", 0
bochs_shutdown: db "Shutdown", 0

	align 8
gdt:	dq 0
	dq 0x00cf9b000000ffff    ; 0x08: 32-bit code, flat
	dq 0x00cf93000000ffff    ; 0x10: data, flat
gdt_desc:
	dw gdt_desc - gdt - 1
	dd ROMBASE + gdt

	bits 16
	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
