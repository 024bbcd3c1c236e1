; fugu benchmark guest: a CPU-bound integer workload in 64-bit long mode.
; Reset vector -> protected mode -> PAE + 4-level identity map (2 MiB pages) ->
; long mode; then PASSES passes, each of ITERATIONS rounds of a xorshift64
; generator feeding a table of 4096 counters, multiplies and branches. Every
; pass starts afresh (same seed, cleared table) and ends with the table folded
; into the pass result; the checksum is the sum of the pass results mod 2^64.
; Prints "checksum=<16 hex digits>" on port 0xe9 and exits through
; isa-debug-exit at 0xf4 (fugu, QEMU) and the Bochs shutdown port 0x8900.
; testsuite/bench/cpu.py recomputes the checksum natively. PASSES=0 runs only
; the setup and the exit (the start-up baseline); ITERATIONS=0 skips the loop.
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
PML4 equ 0x10000
TABLE equ 0x100000

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
	; page tables: PML4[0] -> PDPT, PDPT[0] -> PD, PD[0..1] = 2 MiB pages
	mov edi, PML4
	xor eax, eax
	mov ecx, 3 * 1024
	rep stosd
	mov dword [PML4], PML4 + 0x1000 + 3
	mov dword [PML4 + 0x1000], PML4 + 0x2000 + 3
	mov dword [PML4 + 0x2000], 0x000083
	mov dword [PML4 + 0x2008], 0x200083
	mov eax, cr4
	or eax, 1 << 5           ; PAE
	mov cr4, eax
	mov eax, PML4
	mov cr3, eax
	mov ecx, 0xc0000080      ; EFER.LME
	rdmsr
	or eax, 1 << 8
	wrmsr
	mov eax, cr0
	or eax, 1 << 31          ; PG: long mode becomes active
	mov cr0, eax
	jmp 0x18:(ROMBASE + lm64)

	bits 64
lm64:
	mov rsp, 0x80000
	xor r10, r10                 ; sum of the pass results
	mov r11, PASSES
	test r11, r11
	jz .done
.pass:
	; clear the table
	mov rdi, TABLE
	xor eax, eax
	mov ecx, 4096
	rep stosq
	mov rax, 0x9e3779b97f4a7c15  ; xorshift state
	xor rdx, rdx                 ; accumulator
	mov rcx, ITERATIONS
	mov rsi, TABLE
	test rcx, rcx
	jz .folds
.loop:
	mov rbx, rax
	shl rbx, 13
	xor rax, rbx
	mov rbx, rax
	shr rbx, 7
	xor rax, rbx
	mov rbx, rax
	shl rbx, 17
	xor rax, rbx
	mov rbx, rax
	and ebx, 4095
	mov r8, [rsi + rbx * 8]
	add r8, rax
	mov [rsi + rbx * 8], r8
	imul r9, r8, 31
	add rdx, r9
	test al, 1
	jz .even
	rol rdx, 3
.even:
	dec rcx
	jnz .loop
.folds:
	; fold the table into the pass result
	mov ecx, 4096
	xor rbx, rbx
.fold:
	add rdx, [rsi + rbx * 8]
	ror rdx, 1
	inc rbx
	dec ecx
	jnz .fold
	add r10, rdx
	dec r11
	jnz .pass
.done:
	mov rdx, r10

	; print "checksum=" and 16 hex digits of rdx
	lea rsi, [rel msg]
.p:	lodsb
	test al, al
	jz .hex
	out 0xe9, al
	jmp .p
.hex:
	mov ecx, 16
.h:	rol rdx, 4
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
	lea rsi, [rel bochs_shutdown]
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
	dq 0x00af9b000000ffff    ; 0x18: 64-bit code
gdt_desc:
	dw gdt_desc - gdt - 1
	dd ROMBASE + gdt

	bits 16
	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
