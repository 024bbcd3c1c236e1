; fugu guest test: real-mode instruction checks from the reset vector.
; Each check compares a result with the value the SDM defines; the first
; failure prints "realmode: FAIL n" and exits with n; all passing prints
; "realmode: PASS" and exits with 0 (fugu status 1).
	bits 16
	org 0

%macro check 2 ; check <number>, <condition code that means success>
	j%2 %%ok
	mov al, %1
	jmp fail
%%ok:
%endmacro

start:
	cli
	xor ax, ax
	mov ss, ax
	mov sp, 0x8000
	mov ds, ax
	mov es, ax

	; 1: ADD sets CF and ZF on wrap-around (SDM vol. 2A, ADD)
	mov al, 0xff
	add al, 1
	check 1, c
	check 2, z
	; 3: SUB borrow; SF
	mov ax, 5
	sub ax, 6
	check 3, s
	cmp ax, 0xffff
	check 4, e
	; 5: INC keeps CF
	stc
	mov bx, 0x7fff
	inc bx
	check 5, c
	check 6, o            ; 0x7fff + 1 overflows
	; 7: MUL 16-bit into DX:AX
	mov ax, 0x1234
	mov cx, 0x100
	mul cx
	cmp dx, 0x12
	check 7, e
	cmp ax, 0x3400
	check 8, e
	; 9: DIV
	mov dx, 0
	mov ax, 1000
	mov cx, 7
	div cx
	cmp ax, 142
	check 9, e
	cmp dx, 6
	check 10, e
	; 11: IDIV with negative dividend
	mov ax, -100
	cwd
	mov cx, 7
	idiv cx
	cmp ax, -14
	check 11, e
	cmp dx, -2
	check 12, e
	; 13: shifts and rotates
	mov al, 0x81
	rol al, 1
	check 13, c
	cmp al, 0x03
	check 14, e
	mov ax, 0x8000
	sar ax, 15
	cmp ax, 0xffff
	check 15, e
	; 16: string ops: REP STOSB then REPE CMPSB
	mov di, 0x1000
	mov al, 0x5a
	mov cx, 16
	cld
	rep stosb
	mov si, 0x1000
	mov di, 0x1001
	mov cx, 15
	repe cmpsb
	check 16, e
	cmp cx, 0
	check 17, e
	; 18: LOOP counts CX down
	mov cx, 10
	xor bx, bx
.l:	add bx, cx
	loop .l
	cmp bx, 55
	check 18, e
	; 19: DAA
	mov al, 0x19
	add al, 0x28
	daa
	cmp al, 0x47
	check 19, e
	; 20: software interrupt through the IVT (SDM vol. 3A, 20.1.4)
	mov word [0x80 * 4], int80
	mov [0x80 * 4 + 2], cs
	mov dx, 0
	int 0x80
	cmp dx, 0xbeef
	check 20, e
	; 21: #DE from DIV by zero pushes the faulting instruction's address
	mov word [0 * 4], divide_error
	mov [0 * 4 + 2], cs
	mov byte [0x500], 0
	xor cx, cx
	mov ax, 1
	div cl                ; 2 bytes: F6 F1
	cmp byte [0x500], 1
	check 21, e
	; 22: PUSHA/POPA round trip
	mov ax, 1
	mov bx, 2
	mov cx, 3
	mov dx, 4
	pusha
	xor ax, ax
	xor bx, bx
	popa
	cmp bx, 2
	check 22, e
	; 23: XCHG, LEA, XLAT
	mov bx, table
	mov al, 2
	push ds
	push cs
	pop ds
	xlatb
	pop ds
	cmp al, 30
	check 23, e
	; 24: BT/BSF from the 386 set
	mov eax, 0x00010000
	bsf ecx, eax
	cmp ecx, 16
	check 24, e
	bt eax, 16
	check 25, c
	; 26: 32-bit arithmetic with an operand-size prefix
	mov eax, 0xffffffff
	add eax, 1
	check 26, c
	; 27: MOVZX/MOVSX
	mov bl, 0x80
	movsx cx, bl
	cmp cx, 0xff80
	check 27, e
	movzx cx, bl
	cmp cx, 0x80
	check 28, e

	mov si, pass_msg
	call puts
	mov al, 0
	out 0xf4, al
	hlt


int80:
	mov dx, 0xbeef
	iret

divide_error:
	push bp
	mov bp, sp
	add word [bp + 2], 2  ; skip the faulting 2-byte DIV
	inc byte [0x500]
	pop bp
	iret


table:	db 10, 20, 30, 40
%include "report16.inc"

pass_msg: db "realmode: PASS", 10, 0
fail_msg: db "realmode: FAIL ", 0

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
