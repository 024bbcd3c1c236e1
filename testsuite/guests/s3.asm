; fugu guest test: ACPI S3, suspend to RAM and wake by an RTC alarm (ACPI 6.x,
; 4.8.2.1 and 16.1; PIIX4 82371AB PMCNTRL SUS_TYP 001b; MC146818 alarm). No
; firmware: the ROM is its own resume path. First start: mark RAM, map the
; PIIX4 PM I/O space at 0B000h, enable the RTC wake (PM1_EN.RTC_EN), the RTC
; alarm every second (all three alarm bytes "don't care", REG_B.AIE), then
; PM1_CNT = SLP_TYP 1 | SLP_EN. The board suspends: nothing runs until the
; alarm, which wakes it with a reset that keeps RAM and CMOS. Second start:
;   1  CMOS 0Fh (shutdown status) is 0FEh, as the board sets it for a resume
;   2  the RAM marker survived
;   3  PM1_STS.WAK_STS (bit 15) is set
;   4  PM1_STS.RTC_STS (bit 10) is set: the alarm woke it
;   5  the instruction after the SLP_EN write never ran
; Then "s3: PASS" and exit 0 through isa-debug-exit (fugu status 1); a failure
; prints "s3: FAIL n" and exits n.
	bits 16
	org 0

PMBASE	equ 0xb000
MARK	equ 0x600		; 'S3S3' before suspending
RAN	equ 0x604		; set if the code after SLP_EN ran

%macro fail_n 1
	mov al, %1
	jmp fail
%endmacro

start:
	cli
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7000
	call map_pm
	cmp dword [MARK], 'S3S3'
	je resumed
	mov dword [MARK], 'S3S3'
	mov dword [RAN], 0
	mov al, 0x0f			; shutdown status: normal
	call cmos_read
	mov dx, PMBASE + 2		; PM1_EN: RTC_EN
	mov ax, 1 << 10
	out dx, ax
	mov dx, PMBASE			; clear PM1_STS
	mov ax, 0xffff
	out dx, ax
	mov al, 1			; alarm seconds, minutes, hours: don't care
	mov ah, 0xff
	call cmos_write
	mov al, 3
	call cmos_write
	mov al, 5
	call cmos_write
	mov al, 0x0c			; clear REG_C
	call cmos_read
	mov al, 0x0b			; REG_B: AIE, 24-hour, BCD
	mov ah, 0x22
	call cmos_write
	mov dx, PMBASE + 4		; PM1_CNT: SLP_TYP 1 (S3), SLP_EN
	mov ax, (1 << 10) | (1 << 13)
	out dx, ax
	mov dword [RAN], 1		; never: the board is asleep
	mov ecx, 10000000
.spin:	dec ecx
	jnz .spin
	fail_n 5

resumed:
	mov al, 0x0f
	call cmos_read
	cmp al, 0xfe
	jne .f1
	mov dx, PMBASE
	in ax, dx
	test ax, 1 << 15
	jz .f3
	test ax, 1 << 10
	jz .f4
	cmp dword [RAN], 0
	jne .f5
	mov dword [MARK], 0
	mov al, 0x0f			; back to a normal start
	xor ah, ah
	call cmos_write
	mov si, pass_msg
	call puts
	mov al, 0
	out 0xf4, al
	hlt
.f1:	fail_n 1
.f3:	fail_n 3
.f4:	fail_n 4
.f5:	fail_n 5

; map_pm: PIIX4 function 3 (00:01.3): PMBA = PMBASE, PMREGMISC.PMIOSE = 1.
map_pm:
	mov dx, 0xcf8
	mov eax, 0x80000b40
	out dx, eax
	mov dx, 0xcfc
	mov eax, PMBASE | 1
	out dx, eax
	mov dx, 0xcf8
	mov eax, 0x80000b80
	out dx, eax
	mov dx, 0xcfc
	mov al, 1
	out dx, al
	ret

; cmos_read: AL = CMOS[AL]; cmos_write: CMOS[AL] = AH (NMI stays enabled).
cmos_read:
	out 0x70, al
	in al, 0x71
	ret
cmos_write:
	out 0x70, al
	mov al, ah
	out 0x71, al
	ret

%include "report16.inc"
pass_msg: db "s3: PASS", 10, 0
fail_msg: db "s3: FAIL ", 0

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
