; fugu guest test: guest-controlled tracing (docs/TRACING.md, "The tracing
; hypercall"). Some untraced work, CPUID 0x4FFF0001 to start every category, a
; five-pass loop, CPUID 0x4FFF0002 to stop them, CPUID 0x4FFF0003 to drop the
; marker 0x1234, more untraced work and port output, then isa-debug-exit 0x21.
; Run with -d insn,io,start=off only the loop (and the instructions around it
; up to the stop call) and the marker appear.
	bits 16
	org 0

start:
	cli
	xor ax, ax
	mov ss, ax
	mov sp, 0x7c00
	mov cx, 3
.pre:	dec cx
	jnz .pre
	mov eax, 0x4fff0001
	mov ecx, 0xffffffff
	cpuid			; start
	mov cx, 5
.loop:	dec cx
	jnz .loop
	mov eax, 0x4fff0002
	mov ecx, 0xffffffff
	cpuid			; stop
	mov eax, 0x4fff0003
	mov ecx, 0x1234
	cpuid			; marker
	mov cx, 3
.post:	dec cx
	jnz .post
	mov al, 'T'
	out 0xe9, al
	mov al, 0x21
	out 0xf4, al
.hang:	hlt
	jmp .hang

	times 0xfff0 - ($ - $$) db 0xff
reset_vector:
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
