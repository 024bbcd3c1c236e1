; fugu guest test: the PIC, PIT, RTC and UART as real-mode firmware uses them.
; From the reset vector it programs the 8259A pair (vectors 0x08 and 0x70) and
; the 8254 at 100 Hz, measures PIT ticks against the RTC's seconds, takes RTC
; periodic interrupts, polls counter 2 through port 0x61, and checks a UART in
; loop mode and its THRE interrupt. The first failed check prints
; "timer: FAIL n" and exits with n; otherwise "timer: PASS" and exit 0 (status 1).
	bits 16
	org 0

PIT_100HZ equ 11932		; 1193182 Hz / 100
COM1 equ 0x3f8

%macro check 2 ; check <number>, <condition code that means success>
	j%2 %%ok
	mov al, %1
	jmp fail
%%ok:
%endmacro

%macro outb 2 ; outb <port>, <value>
	mov al, %2
	out %1, al
%endmacro

%macro cmos_write 2 ; cmos_write <index>, <value>
	outb 0x70, %1
	outb 0x71, %2
%endmacro

ticks equ 0x500			; IRQ0 count
rtc_count equ 0x502		; IRQ8 count
com_count equ 0x504		; IRQ4 count
spurious_count equ 0x506

start:
	cli
	xor ax, ax
	mov ss, ax
	mov sp, 0x7c00
	mov ds, ax
	mov es, ax
	mov word [ticks], 0
	mov word [rtc_count], 0
	mov word [com_count], 0
	mov word [spurious_count], 0
	mov word [0x08 * 4], irq0
	mov [0x08 * 4 + 2], cs
	mov word [0x0c * 4], irq4
	mov [0x0c * 4 + 2], cs
	mov word [0x0f * 4], spurious
	mov [0x0f * 4 + 2], cs
	mov word [0x70 * 4], irq8
	mov [0x70 * 4 + 2], cs
	mov word [0x77 * 4], spurious
	mov [0x77 * 4 + 2], cs

	; 8259A initialization: ICW1 edge/cascade/ICW4, ICW2 base, ICW3, ICW4 8086 mode.
	outb 0x20, 0x11
	outb 0x21, 0x08
	outb 0x21, 0x04
	outb 0x21, 0x01
	outb 0xa0, 0x11
	outb 0xa1, 0x70
	outb 0xa1, 0x02
	outb 0xa1, 0x01
	outb 0x21, 0xfe		; IRQ0 only for now
	outb 0xa1, 0xff
	; 1: OCW1 reads back
	in al, 0x21
	cmp al, 0xfe
	check 1, e

	; RTC in binary, 24-hour mode, no interrupts; clear register C.
	cmos_write 0x0b, 0x06
	outb 0x70, 0x0c
	in al, 0x71

	; 8254 counter 0: LSB/MSB, mode 2, 100 Hz.
	outb 0x43, 0x34
	outb 0x40, PIT_100HZ & 0xff
	outb 0x40, PIT_100HZ >> 8
	; 2: read-back status of counter 0: RW=3, mode 2, binary.
	outb 0x43, 0xe2
	in al, 0x40
	and al, 0x3f
	cmp al, 0x34
	check 2, e
	; 3: a latched count is within the programmed range
	outb 0x43, 0x00
	in al, 0x40
	mov ah, al
	in al, 0x40
	xchg al, ah
	cmp ax, PIT_100HZ
	check 3, be

	; 4-5: 150 ticks from an RTC second boundary are 1.5 s: the seconds
	; advance by exactly one.
	sti
	call read_sec
	mov bl, al
.sync:	hlt
	call read_sec
	cmp al, bl
	je .sync
	mov bl, al
	mov word [ticks], 0
.t150:	hlt
	cmp word [ticks], 150
	jb .t150
	call read_sec
	sub al, bl
	jnc .nowrap
	add al, 60
.nowrap:
	cmp al, 1
	check 4, e

	; 5: port 0x61 bit 4 (refresh) toggles
	in al, 0x61
	and al, 0x10
	mov bl, al
	mov cx, 0xffff
.refr:	in al, 0x61
	and al, 0x10
	cmp al, bl
	jne .refr_ok
	loop .refr
.refr_ok:
	cmp al, bl
	check 5, ne

	; 6-7: counter 2 in mode 0, gated by port 0x61 bit 0: OUT2 (bit 5) is low
	; after the count is written and goes high at terminal count (about 1 ms).
	outb 0x61, 0x00
	outb 0x43, 0xb0
	outb 0x42, 1193 & 0xff
	outb 0x42, 1193 >> 8
	outb 0x61, 0x01
	in al, 0x61
	test al, 0x20
	check 6, z
	mov bx, [ticks]
	add bx, 5
.out2:	in al, 0x61
	test al, 0x20
	jnz .out2_ok
	cmp [ticks], bx
	jb .out2
.out2_ok:
	test al, 0x20
	check 7, nz
	outb 0x61, 0x00

	; 8: RTC periodic interrupt at 1024 Hz: 128 of them take 125 ms, about
	; 12.5 PIT ticks.
	outb 0x21, 0xfa		; IRQ0 and the cascade
	outb 0xa1, 0xfe		; IRQ8
	cmos_write 0x0a, 0x26
	cmos_write 0x0b, 0x46	; PIE, binary, 24-hour
	mov bx, [ticks]
.per:	hlt
	cmp word [rtc_count], 128
	jb .per
	mov ax, [ticks]
	sub ax, bx
	cmp ax, 8
	check 8, ae
	cmp ax, 20
	check 9, be
	cmos_write 0x0b, 0x06
	outb 0x70, 0x0c
	in al, 0x71

	; 10-13: COM1 in loop mode with FIFOs: bytes written come back in order.
	mov dx, COM1 + 3
	outb dx, 0x03		; 8N1, DLAB off
	mov dx, COM1 + 4
	outb dx, 0x13		; LOOP, RTS, DTR
	mov dx, COM1 + 2
	outb dx, 0x07		; enable and clear the FIFOs
	in al, dx
	and al, 0xc0
	cmp al, 0xc0
	check 10, e
	mov dx, COM1
	mov al, 'f'
	out dx, al
	mov al, 'u'
	out dx, al
	mov dx, COM1 + 5
	in al, dx
	test al, 0x01
	check 11, nz
	mov dx, COM1
	in al, dx
	cmp al, 'f'
	check 12, e
	in al, dx
	cmp al, 'u'
	check 13, e
	mov dx, COM1 + 5
	in al, dx
	test al, 0x01
	check 14, z
	; 15: in loop mode DTR and RTS appear as DSR and CTS
	mov dx, COM1 + 6
	in al, dx
	and al, 0xf0
	cmp al, 0x30
	check 15, e

	; 16: THRE interrupt on IRQ4 once ETBEI is set (OUT2 on, loop off).
	mov dx, COM1 + 4
	outb dx, 0x08
	outb 0x21, 0xea		; IRQ0, cascade, IRQ4
	mov dx, COM1 + 1
	outb dx, 0x02
	mov bx, [ticks]
	add bx, 5
.thre:	hlt
	cmp word [com_count], 0
	jne .thre_done
	cmp [ticks], bx
	jb .thre
.thre_done:
	mov dx, COM1 + 1
	outb dx, 0x00
	cmp word [com_count], 1
	check 16, e
	cmp word [spurious_count], 0
	check 17, e

	cli
	mov si, pass_msg
	call puts
	mov al, 0
	out 0xf4, al
	hlt


; read_sec: AL = RTC seconds, read outside the update-in-progress window.
read_sec:
.uip:	outb 0x70, 0x0a
	in al, 0x71
	test al, 0x80
	jnz .uip
	outb 0x70, 0x00
	in al, 0x71
	ret

irq0:
	push ax
	inc word [ticks]
	outb 0x20, 0x20
	pop ax
	iret

irq8:
	push ax
	outb 0x70, 0x0c		; reading register C acknowledges the RTC
	in al, 0x71
	inc word [rtc_count]
	outb 0xa0, 0x20
	outb 0x20, 0x20
	pop ax
	iret

irq4:
	push ax
	push dx
	mov dx, COM1 + 2
	in al, dx		; reading IIR clears THRE
	inc word [com_count]
	outb 0x20, 0x20
	pop dx
	pop ax
	iret

spurious:
	inc word [spurious_count]
	iret


%include "report16.inc"

pass_msg: db "timer: PASS", 10, 0
fail_msg: db "timer: FAIL ", 0

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
