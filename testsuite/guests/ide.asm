; fugu guest test: an ATA disk on the primary IDE channel, from the reset
; vector, with no BIOS. The disk (testsuite/guests/mkdisk.py, 256 sectors)
; holds in sector k the word k, the word 0xA55A, then bytes (i + k) & 0xff.
; Checks: IDENTIFY DEVICE (ATA/ATAPI-6 8, words 0, 27, 49, 60-61), READ
; SECTORS by LBA28 with 16- and 32-bit data transfers, WRITE SECTORS and a
; read back, IDNF beyond the end, IRQ 14 through the 8259A pair, and READ
; DMA through the PIIX3 bus master (BMICx/BMISx/BMIDTPx, one PRD with EOT).
; Prints "ide: PASS" or "ide: FAIL n" on port 0xe9 and exits via 0xf4.
	bits 16
	org 0

SECTORS equ 256
BMBASE	equ 0xc000
IDBUF	equ 0x1000
BUF	equ 0x2000
PRD	equ 0x0800
DMABUF	equ 0x4000

%macro check 2 ; check <number>, <condition code that means success>
	j%2 %%ok
	mov al, %1
	jmp fail
%%ok:
%endmacro

%macro outb 2
	mov dx, %1
	mov al, %2
	out dx, al
%endmacro

start:
	cli
	xor ax, ax
	mov ss, ax
	mov sp, 0x8000
	mov ds, ax
	mov es, ax
	cld

	; 1-2: the drive answers: BSY clear, DRDY set after power-on
	call wait_bsy
	outb 0x1f6, 0xa0
	call wait_bsy
	mov dx, 0x1f7
	in al, dx
	and al, 0xc0
	cmp al, 0x40
	check 1, e

	; 3-7: IDENTIFY DEVICE
	outb 0x1f7, 0xec
	call wait_drq
	check 3, z
	mov di, IDBUF
	mov cx, 256
	mov dx, 0x1f0
	rep insw
	test word [IDBUF + 0 * 2], 0x8000	; ATA device
	check 4, z
	cmp word [IDBUF + 27 * 2], 'F' << 8 | 'U' ; model, first character high
	check 5, e
	test word [IDBUF + 49 * 2], 0x0200	; LBA supported
	check 6, nz
	cmp word [IDBUF + 60 * 2], SECTORS
	check 7, e
	mov dx, 0x1f7
	in al, dx
	cmp al, 0x50				; DRQ clear after the last word
	check 8, e

	; 9-12: READ SECTORS, 3 sectors from LBA 1, 16-bit transfers
	mov ax, 1
	mov cl, 3
	call task
	outb 0x1f7, 0x20
	mov di, BUF
	mov bx, 3
.rd:	call wait_drq
	check 9, z
	mov cx, 256
	mov dx, 0x1f0
	rep insw
	dec bx
	jnz .rd
	cmp word [BUF], 1
	check 10, e
	cmp word [BUF + 2 * 512], 3
	check 11, e
	cmp byte [BUF + 512 + 100], 102		; sector 2, byte 100
	check 12, e

	; 13-14: the same with 32-bit transfers, sector 200
	mov ax, 200
	mov cl, 1
	call task
	outb 0x1f7, 0x20
	call wait_drq
	check 13, z
	mov di, BUF
	mov cx, 128
	mov dx, 0x1f0
	rep insd
	cmp dword [BUF], 0xa55a00c8
	check 14, e

	; 15-18: WRITE SECTORS of 2 sectors at LBA 10, then read them back
	mov di, BUF
	mov cx, 512
	mov ax, 0x1234
.fill:	stosw
	add ax, 0x0101
	loop .fill
	mov ax, 10
	mov cl, 2
	call task
	outb 0x1f7, 0x30
	mov si, BUF
	mov bx, 2
.wr:	call wait_drq
	check 15, z
	mov cx, 256
	mov dx, 0x1f0
	rep outsw
	dec bx
	jnz .wr
	call wait_bsy
	mov dx, 0x1f7
	in al, dx
	cmp al, 0x50
	check 16, e
	mov ax, 10
	mov cl, 2
	call task
	outb 0x1f7, 0x20
	mov di, BUF + 0x1000
	mov bx, 2
.rb:	call wait_drq
	check 17, z
	mov cx, 256
	mov dx, 0x1f0
	rep insw
	dec bx
	jnz .rb
	mov si, BUF
	mov di, BUF + 0x1000
	mov cx, 512
	repe cmpsw
	check 18, e

	; 19-20: an LBA beyond the end: ERR with IDNF
	mov ax, SECTORS
	mov cl, 1
	call task
	outb 0x1f7, 0x20
	call wait_bsy
	mov dx, 0x1f7
	in al, dx
	cmp al, 0x51
	check 19, e
	mov dx, 0x1f1
	in al, dx
	cmp al, 0x10
	check 20, e

	; 21: IRQ 14 (slave 8259A IR6, vector 0x76) for a non-data command
	mov word [0x76 * 4], irq14
	mov [0x76 * 4 + 2], cs
	outb 0x20, 0x11
	outb 0x21, 0x08
	outb 0x21, 0x04
	outb 0x21, 0x01
	outb 0xa0, 0x11
	outb 0xa1, 0x70
	outb 0xa1, 0x02
	outb 0xa1, 0x01
	outb 0x21, 0xfb		; the cascade only
	outb 0xa1, 0xbf		; IRQ14
	mov byte [0x500], 0
	outb 0x3f6, 0x00	; nIEN clear
	mov ax, 0
	mov cl, 1
	call task
	outb 0x1f7, 0x40	; READ VERIFY SECTORS
	sti
	mov cx, 1000
.wait:	cmp byte [0x500], 0
	jne .got
	hlt
	loop .wait
.got:	cli
	cmp byte [0x500], 1
	check 21, e

	; 22-25: READ DMA of sector 5 through the bus master at BMBASE
	mov eax, 0x80000000 | (1 << 11) | (1 << 8) | 0x20	; 00:01.1 BMIBA
	mov dx, 0xcf8
	out dx, eax
	mov eax, BMBASE
	mov dx, 0xcfc
	out dx, eax
	mov eax, 0x80000000 | (1 << 11) | (1 << 8) | 0x04	; PCICMD: IOSE, BME
	mov dx, 0xcf8
	out dx, eax
	mov ax, 0x0005
	mov dx, 0xcfc
	out dx, ax
	mov dword [PRD], DMABUF
	mov dword [PRD + 4], 0x80000000 | 512
	mov dx, BMBASE + 4
	mov eax, PRD
	out dx, eax
	outb BMBASE, 0x08	; direction: to memory
	mov ax, 5
	mov cl, 1
	call task
	outb 0x1f7, 0xc8	; READ DMA
	outb BMBASE, 0x09	; start
	mov cx, 0xffff
.bm:	mov dx, BMBASE + 2
	in al, dx
	test al, 0x04
	jnz .bmdone
	loop .bm
.bmdone:
	and al, 0x07
	cmp al, 0x04		; interrupt set, active clear, no error
	check 22, e
	outb BMBASE, 0x08	; stop
	mov dx, 0x1f7
	in al, dx
	cmp al, 0x50
	check 23, e
	cmp word [DMABUF], 5
	check 24, e
	cmp byte [DMABUF + 511], (511 + 5) & 0xff
	check 25, e

	mov si, pass_msg
	call puts
	mov al, 0
	out 0xf4, al
	hlt

; task: LBA28 task file for device 0, LBA AX (< 65536), count CL.
task:
	push ax
	call wait_bsy
	mov dx, 0x1f6
	mov al, 0xe0
	out dx, al
	mov dx, 0x1f2
	mov al, cl
	out dx, al
	pop ax
	mov dx, 0x1f3
	out dx, al
	mov dx, 0x1f4
	mov al, ah
	out dx, al
	mov dx, 0x1f5
	xor al, al
	out dx, al
	ret

; wait_bsy: poll the alternate status until BSY clears.
wait_bsy:
	push cx
	mov cx, 0xffff
	mov dx, 0x3f6
.l:	in al, dx
	test al, 0x80
	jz .d
	loop .l
.d:	pop cx
	ret

; wait_drq: wait for BSY clear; ZF set when DRQ is set and ERR clear.
wait_drq:
	call wait_bsy
	mov dx, 0x1f7
	in al, dx
	and al, 0x09
	cmp al, 0x08
	ret

irq14:
	push ax
	push dx
	inc byte [0x500]
	mov dx, 0x1f7		; reading Status acknowledges the device
	in al, dx
	mov al, 0x20
	out 0xa0, al
	out 0x20, al
	pop dx
	pop ax
	iret



%include "report16.inc"

pass_msg: db "ide: PASS", 10, 0
fail_msg: db "ide: FAIL ", 0

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
