; fugu guest test: the PC chipset from real mode, as firmware uses it.
; A 128 KiB ROM (the upper 64 KiB is the code at F000, the lower holds a
; signature that appears at 0xE0000 through the BIOS alias). It checks:
;   A20 gated by the 8042 output port (D1h) and by port 92h bit 1, ORed
;     (PIIX3 "Port 92"; 8042 "Write Output Port"): a write at 0x100600 wraps to
;     0x000600 only while both are off;
;   PCI configuration mechanism #1 (PCI 2.1, 3.7.4.1): 00:00.0 8086:1237,
;     00:01.0 8086:7000 (ISA bridge), 00:01.3 8086:7113, 00:02.0 absent;
;   PAM5 low (82441FX 5Eh, 0xE0000-0xE3FFF): write-only copies the ROM into
;     DRAM in place, read/write shows the copy, read-only drops writes, 0
;     shows the ROM again;
;   the ACPI PM timer (PIIX4 PMTMR at PMBA+8) runs 3x as fast as the 8254;
; then prints "chipset: PASS" and powers off through PM1 control SLP_EN with
; SLP_TYP 0 (exit status 0). A failed check prints "chipset: FAIL n" and
; exits through isa-debug-exit with n.
	bits 16

PMBASE equ 0xb000
tries equ 0x500			; measurement attempts left

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

%macro kbc_cmd 1 ; write a command to the 8042, waiting for its input buffer
	call kbc_wait
	outb 0x64, %1
%endmacro

%macro kbc_data 1
	call kbc_wait
	outb 0x60, %1
%endmacro

	section sig start=0 vstart=0
	db "SHADOW16"			; at 0xE0000 through the BIOS alias

	section code start=0x10000 vstart=0
start:
	cli
	xor ax, ax
	mov ss, ax
	mov sp, 0x7c00
	mov ds, ax
	cld
	; Initialize the 8259A pair and mask everything: the 8042 raises IRQ1
	; below (its output buffer fills), and nothing here takes interrupts.
	outb 0x20, 0x11
	outb 0x21, 0x08
	outb 0x21, 0x04
	outb 0x21, 0x01
	outb 0xa0, 0x11
	outb 0xa1, 0x70
	outb 0xa1, 0x02
	outb 0xa1, 0x01
	outb 0x21, 0xff
	outb 0xa1, 0xff

	; ---- A20 ----
	mov ax, 0xffff
	mov es, ax			; ES:0x610 = 0x100600
	mov byte [0x600], 0x11
	mov byte [es:0x610], 0x22
	cmp byte [0x600], 0x11
	check 1, e			; A20 is enabled at reset (8042 output port)
	kbc_cmd 0xd1
	kbc_data 0xdd			; output port: A20 off, reset inactive
	call kbc_wait
	mov byte [es:0x610], 0x33
	cmp byte [0x600], 0x33
	check 2, e			; wraps at 1 MiB
	kbc_cmd 0xd0			; read the output port back
	call kbc_read
	test al, 2
	check 3, z
	in al, 0x92
	or al, 2			; FAST_A20 (bit 0 stays 0: no reset)
	out 0x92, al
	mov byte [es:0x610], 0x44
	cmp byte [0x600], 0x33
	check 4, e			; port 92h alone enables A20
	in al, 0x92
	test al, 2
	check 5, nz
	and al, 0xfd
	out 0x92, al
	mov byte [es:0x610], 0x55
	cmp byte [0x600], 0x55
	check 6, e			; both off: wraps again
	kbc_cmd 0xd1
	kbc_data 0xdf			; A20 on through the 8042
	call kbc_wait
	mov byte [es:0x610], 0x66
	cmp byte [0x600], 0x55
	check 7, e

	; ---- PCI enumeration ----
	mov eax, 0x80000000		; 00:00.0 vendor/device
	call pci_read
	cmp eax, 0x12378086
	check 10, e
	mov eax, 0x80000800		; 00:01.0
	call pci_read
	cmp eax, 0x70008086
	check 11, e
	mov eax, 0x80000808		; class code: ISA bridge 06 01
	call pci_read
	shr eax, 16
	cmp ax, 0x0601
	check 12, e
	mov eax, 0x80000b00		; 00:01.3
	call pci_read
	cmp eax, 0x71138086
	check 13, e
	mov eax, 0x8000f800		; 00:1f.0: nothing there
	call pci_read
	cmp eax, 0xffffffff
	check 14, e
	mov eax, 0x8000000c		; 00:00.0 header type 00, 00:01.0 header type 80
	call pci_read
	shr eax, 16
	cmp al, 0x00
	check 15, e
	mov eax, 0x8000080c
	call pci_read
	shr eax, 16
	cmp al, 0x80
	check 16, e

	; ---- PAM shadowing of 0xE0000-0xE3FFF ----
	mov ax, 0xe000
	mov es, ax
	cmp dword [es:0], 'SHAD'
	check 20, e			; PAM5 = 0: the ROM
	mov al, 0x02			; write only
	call pam5_write
	push ds
	mov ax, 0xe000
	mov ds, ax
	xor si, si
	xor di, di
	mov cx, 0x2000
	rep movsw			; reads from the ROM, writes into DRAM
	pop ds
	mov byte [es:0x100], 0x77	; DRAM
	cmp byte [es:0x100], 0x00
	check 21, e			; reads still come from the ROM
	mov al, 0x03			; read/write
	call pam5_write
	cmp dword [es:0], 'SHAD'
	check 22, e			; the copy
	cmp byte [es:0x100], 0x77
	check 23, e			; the write made while write-only
	mov dword [es:0], 'RAM!'
	cmp dword [es:0], 'RAM!'
	check 24, e
	mov al, 0x01			; read only
	call pam5_write
	mov byte [es:0], 'X'
	cmp dword [es:0], 'RAM!'
	check 25, e			; write dropped
	mov al, 0x00
	call pam5_write
	cmp dword [es:0], 'SHAD'
	check 26, e			; the ROM again

	; ---- PM timer against the PIT ----
	mov eax, 0x80000b40		; PMBA
	mov ecx, PMBASE | 1
	call pci_write
	mov eax, 0x80000b80		; PMREGMISC: PMIOSE
	mov ecx, 1
	call pci_write
	mov eax, 0x80000b40
	call pci_read
	cmp eax, PMBASE | 1
	check 30, e
	mov dx, PMBASE + 8
	in eax, dx
	mov ebx, eax
	test eax, 0xff000000
	check 31, z			; 24 bits
	; Counter 2 free-running in mode 0 from 0xFFFF; compare elapsed PIT
	; ticks with elapsed PM ticks (3579545 / 1193182 = 3.000). Each sample
	; reads the PM timer, latches the PIT, reads the PM timer again and is
	; retaken if the host preempted us in between (realtime clock).
	mov byte [tries], 3
.measure:
	in al, 0x61
	and al, 0xfc
	or al, 1			; counter 2 GATE on, speaker off
	out 0x61, al
	outb 0x43, 0xb0			; counter 2, LSB/MSB, mode 0
	outb 0x42, 0xff
	outb 0x42, 0xff
	call sample
	mov edi, esi			; PM at the start
	mov bp, cx			; PIT count at the start
.wait:	call sample
	mov eax, esi
	sub eax, edi
	and eax, 0xffffff
	cmp eax, 120000			; about 33.5 ms
	jb .wait
	movzx ecx, cx
	movzx ebp, bp
	sub ebp, ecx			; PIT ticks elapsed (counting down)
	jb .retry			; wrapped: preempted for too long
	lea ebp, [ebp * 3]
	sub eax, ebp			; PM - 3 * PIT
	jns .abs
	neg eax
.abs:	cmp eax, 1200			; 1% of 120000
	jbe .pm_ok
.retry:	dec byte [tries]
	jnz .measure
	mov al, 32
	jmp fail
.pm_ok:

	; ---- done: power off through ACPI ----
	mov si, pass_msg
	call puts
	mov dx, PMBASE + 4		; PM1 control: SLP_TYP 0 (soft off), SLP_EN
	mov ax, 0x2000
	out dx, ax
	mov al, 40			; still running: the power-off did not happen
	jmp fail


; ESI = PM timer, CX = PIT counter 2, read together (retaken until the two
; PM reads around the latch are within 64 ticks).
sample:
	mov dx, PMBASE + 8
	in eax, dx
	mov esi, eax
	outb 0x43, 0x80			; counter latch, counter 2
	in al, 0x42
	mov cl, al
	in al, 0x42
	mov ch, al
	in eax, dx
	sub eax, esi
	and eax, 0xffffff
	cmp eax, 64
	ja sample
	ret

; Wait until the 8042's input buffer is empty.
kbc_wait:
	in al, 0x64
	test al, 2
	jnz kbc_wait
	ret

; AL = the next byte of the 8042's output buffer.
kbc_read:
	in al, 0x64
	test al, 1
	jz kbc_read
	in al, 0x60
	ret

; EAX = configuration dword at CONFIG_ADDRESS EAX.
pci_read:
	mov dx, 0xcf8
	out dx, eax
	mov dx, 0xcfc
	in eax, dx
	ret

; Write ECX at CONFIG_ADDRESS EAX.
pci_write:
	mov dx, 0xcf8
	out dx, eax
	mov dx, 0xcfc
	mov eax, ecx
	out dx, eax
	ret

; PAM5 (00:00.0 register 5Eh) = AL.
pam5_write:
	push ax
	mov eax, 0x8000005c
	mov dx, 0xcf8
	out dx, eax
	pop ax
	mov dx, 0xcfe
	out dx, al
	ret


%include "report16.inc"

pass_msg: db "chipset: PASS", 10, 0
fail_msg: db "chipset: FAIL ", 0

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
