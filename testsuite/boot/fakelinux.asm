; fugu boot tests — a tiny fake Linux "bzImage" (boot protocol 2.15 header,
; Documentation/arch/x86/boot.rst) whose real-mode "setup" checks what the
; boot loader (fugu's loader.c and linuxboot ROM, through SeaBIOS) did, run as
;   -m 64 -kernel fakelinux.bin -initrd module.bin -append CMDLINE
; with CMDLINE the string exp_cmdline below. It checks the entry state
; ("RUNNING THE KERNEL": CS = DS + 0x20, DS = ES = SS = the setup segment
; 0x1000, interrupts off, SP in the heap/stack area), the header fields a
; loader fills (type_of_loader, loadflags, heap_end_ptr, cmd_line_ptr,
; vid_mode from "vga=", ramdisk_image and ramdisk_size: the initrd page-aligned
; as high as initrd_addr_max allows), the command line, and copies back the
; initrd and the protected-mode kernel from above 1 MiB with INT 15h AH=87h
; to compare them. Prints "linux: PASS" or "linux: FAIL <n>" on port 0xE9 and
; exits through isa-debug-exit (status 1 or 3).

	bits 16
	cpu 486
	org 0

SETUP_SECTS	equ 4
SETUP_SIZE	equ (SETUP_SECTS + 1) * 512
KERNEL_SIZE	equ 4096	; the "protected-mode kernel": byte k = (k * 13 + 5) mod 256
INITRD_SIZE	equ 3000	; module.asm: byte k = (k * 7 + 3) mod 256
INITRD_MAX	equ 0x01ffffff	; initrd_addr_max: 32 MiB, below the 64 MiB of RAM
EXP_INITRD	equ (INITRD_MAX + 1 - INITRD_SIZE) & ~0xfff
SETUP_SEG	equ 0x1000	; QEMU's convention for protocol >= 2.02
CMDLINE_ADDR	equ 0x20000
BUF_SEG		equ 0x3000	; where INT 15h AH=87h copies to

	times 0x1f1 - ($ - $$) db 0
	db SETUP_SECTS		; 0x1f1 setup_sects
	dw 0			; 0x1f2 root_flags
	dd KERNEL_SIZE / 16	; 0x1f4 syssize
	dw 0			; 0x1f8 ram_size
	dw 0xffff		; 0x1fa vid_mode ("normal"; -append vga= changes it)
	dw 0			; 0x1fc root_dev
	dw 0xaa55		; 0x1fe boot_flag
	jmp short start		; 0x200 jump
	db 'HdrS'		; 0x202 header
	dw 0x020f		; 0x206 version
	dd 0			; 0x208 realmode_swtch
	dw 0			; 0x20c start_sys_seg
	dw 0			; 0x20e kernel_version
	db 0			; 0x210 type_of_loader
	db 0x01			; 0x211 loadflags: LOADED_HIGH
	dw 0			; 0x212 setup_move_size
	dd 0x100000		; 0x214 code32_start
	dd 0			; 0x218 ramdisk_image
	dd 0			; 0x21c ramdisk_size
	dd 0			; 0x220 bootsect_kludge
	dw 0			; 0x224 heap_end_ptr
	db 0			; 0x226 ext_loader_ver
	db 0			; 0x227 ext_loader_type
	dd 0			; 0x228 cmd_line_ptr
	dd INITRD_MAX		; 0x22c initrd_addr_max
	dd 0x200000		; 0x230 kernel_alignment
	db 0			; 0x234 relocatable_kernel
	db 0			; 0x235 min_alignment
	dw 0			; 0x236 xloadflags
	dd 255			; 0x238 cmdline_size
	dd 0			; 0x23c hardware_subarch
	dq 0			; 0x240 hardware_subarch_data
	dd 0			; 0x248 payload_offset
	dd 0			; 0x24c payload_length
	dq 0			; 0x250 setup_data
	dq 0x100000		; 0x258 pref_address
	dd 0x10000		; 0x260 init_size
	dd 0			; 0x264 handover_offset
	dd 0			; 0x268 kernel_info_offset

; Entered at CS:0 = SETUP_SEG + 0x20 : 0, i.e. the jump at 0x200: labels are
; DS offsets; code only uses relative jumps and calls.
start:
	mov bp, sp
	mov ax, cs
	mov bx, ds
	mov cx, es
	mov dx, ss
	pushf
	pop si
	mov di, 1
	cmp ax, SETUP_SEG + 0x20
	jne fail
	mov di, 2
	cmp bx, SETUP_SEG
	jne fail
	cmp cx, SETUP_SEG
	jne fail
	cmp dx, SETUP_SEG
	jne fail
	mov di, 3
	cmp bp, [0x224]		; SP above heap_end_ptr: in the stack area
	jbe fail
	mov di, 4
	test si, 0x200		; IF clear
	jnz fail

	mov di, 5
	cmp byte [0x210], 0xb0	; type_of_loader: QEMU's
	jne fail
	mov di, 6
	mov al, [0x211]
	and al, 0x81
	cmp al, 0x81		; LOADED_HIGH kept, CAN_USE_HEAP set
	jne fail
	mov di, 7
	cmp word [0x224], CMDLINE_ADDR - (SETUP_SEG << 4) - 0x200
	jne fail
	mov di, 8
	cmp dword [0x228], CMDLINE_ADDR
	jne fail
	mov di, 9		; the command line, NUL included
	push ds
	mov ax, CMDLINE_ADDR >> 4
	mov ds, ax
	xor si, si
	mov bx, exp_cmdline
.cmd:
	lodsb
	cmp al, [es:bx]
	jne .cmd_bad
	inc bx
	test al, al
	jnz .cmd
	pop ds
	jmp .cmd_ok
.cmd_bad:
	pop ds
	jmp fail
.cmd_ok:
	mov di, 10
	cmp word [0x1fa], 0x317	; vid_mode from "vga=0x317"
	jne fail
	mov di, 11
	cmp dword [0x21c], INITRD_SIZE
	jne fail
	mov di, 12
	cmp dword [0x218], EXP_INITRD
	jne fail

	mov di, 13		; the initrd's bytes
	mov eax, [0x218]
	mov cx, INITRD_SIZE / 2
	call copy_down
	jc fail
	mov bx, 7
	mov cx, INITRD_SIZE
	call check_pattern
	jne fail
	mov di, 14		; the kernel's bytes at 1 MiB
	mov eax, 0x100000
	mov cx, KERNEL_SIZE / 2
	call copy_down
	jc fail
	mov bx, 13
	mov cx, KERNEL_SIZE
	call check_pattern
	jne fail

	mov si, msg_pass
	call puts
	mov al, 0
	out 0xf4, al		; isa-debug-exit: status 1
	cli
	hlt

; fail: DI = the number of the failed check.
fail:
	mov ax, SETUP_SEG
	mov ds, ax
	mov si, msg_fail
	call puts
	mov ax, di
	mov cl, 10
	div cl
	add ax, 0x3030
	out 0xe9, al
	mov al, ah
	out 0xe9, al
	mov al, 10
	out 0xe9, al
	mov al, 1
	out 0xf4, al		; isa-debug-exit: status 3
	cli
	hlt

; puts: DS:SI = NUL-terminated string, to port 0xE9.
puts:
	lodsb
	test al, al
	jz .done
	out 0xe9, al
	jmp puts
.done:
	ret

; copy_down: copy CX words from physical EAX to BUF_SEG:0 with INT 15h
; AH=87h ("move extended memory block"); CF on error.
copy_down:
	mov [gdt + 0x12], ax	; source descriptor: base 15:0
	shr eax, 16
	mov [gdt + 0x14], al	; base 23:16
	mov [gdt + 0x17], ah	; base 31:24
	push es
	mov ax, ds
	mov es, ax
	mov si, gdt
	mov ah, 0x87
	int 0x15
	pop es
	ret

; check_pattern: ZF set when the CX bytes at BUF_SEG:0 are (k * BX + base)
; mod 256 with base 3 for BX = 7, 5 for BX = 13.
check_pattern:
	push es
	mov ax, BUF_SEG
	mov es, ax
	xor si, si
	mov dl, 3
	cmp bx, 7
	je .loop
	mov dl, 5
.loop:
	mov ax, si
	mul bl			; AL = k * BX mod 256
	add al, dl
	cmp [es:si], al
	jne .out
	inc si
	cmp si, cx
	jb .loop
	xor ax, ax		; ZF
.out:
	pop es
	ret

	align 8
gdt:	; INT 15h AH=87h: dummy, GDT, source, destination, code, stack
	dq 0
	dq 0
	dw 0xffff, 0		; source: limit, base 15:0
	db 0, 0x93, 0, 0	; base 23:16, access, -, base 31:24
	dw 0xffff, BUF_SEG << 4 & 0xffff ; destination 0x30000
	db BUF_SEG >> 12, 0x93, 0, 0
	dq 0
	dq 0

exp_cmdline:	db "console=ttyS0 vga=0x317 fugu-bzimage-test", 0
msg_pass:	db "linux: PASS", 10, 0
msg_fail:	db "linux: FAIL ", 0

	times SETUP_SIZE - ($ - $$) db 0
; The protected-mode kernel.
%assign k 0
%rep KERNEL_SIZE
	db (k * 13 + 5) & 0xff
%assign k k + 1
%endrep
