; fugu guest test: a test-case loop for a fast-reset plugin
; (testsuite/plugins/fastreset.c, docs/SNAPSHOT.md). Real mode, no paging.
; Marker 1 (the tracing hypercall, docs/TRACING.md) asks the plugin to take a
; snapshot; the test case then counts in a RAM word (its value printed to the
; debug console: always "1" when RAM was restored), writes one byte into each
; of 8 more pages (9 pages dirtied in all), counts in ESI and drops marker 2, where
; the plugin restores the snapshot, going back to just after marker 1, until it
; has done so often enough; then the guest exits through isa-debug-exit with
; the low byte of ESI: 0x21 only if the registers were restored each time too
; (CPUID, the hypercall, writes EAX-EDX).
	bits 16
	org 0

COUNTER	equ 0x5000

start:
	cli
	xor ax, ax
	mov ss, ax
	mov ds, ax
	mov sp, 0x7c00
	mov esi, 0x20
	mov eax, 0x4fff0003	; marker 1: take
	mov ecx, 1
	cpuid
	inc esi			; 0x21 in every test case
	inc word [COUNTER]
	mov al, [COUNTER]
	add al, '0'
	out 0xe9, al
	mov cx, 8
	mov dx, 0x1000		; pages 0x10000-0x17000
.dirty:	mov es, dx
	mov [es:0], al
	add dx, 0x100
	loop .dirty
	mov eax, 0x4fff0003	; marker 2: restore
	mov ecx, 2
	cpuid
	mov al, 10
	out 0xe9, al
	mov ax, si
	out 0xf4, al
.hang:	hlt
	jmp .hang

	times 0xfff0 - ($ - $$) db 0xff
reset_vector:
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
