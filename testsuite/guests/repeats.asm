; fugu guest: a fault loop for the trace's repeat summaries (check_repeats.py).
; 50000 times: UD2 raises #UD (vector 6), whose handler writes 0x42 to the
; POST port 0x80, drops the frame and loops with LOOP; then the guest exits
; through isa-debug-exit with 0x21 (fugu status 67). Under -d int the stream is
; one interrupt event over and over (a cycle of 1), under -d int,io an
; interrupt, an out and a post event (a cycle of 3).
	bits 16
	org 0
start:	cli
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7000
	mov word [6 * 4], handler	; #UD: the handler below
	mov word [6 * 4 + 2], 0xf000
	mov cx, 50000
	mov al, 0x42
.fault:	ud2
handler:
	out 0x80, al
	add sp, 6
	loop start.fault
	mov al, 0x21
	out 0xf4, al
.hang:	hlt
	jmp .hang
	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
