; fugu hostile guest: every register offset of the interrupt controllers and
; the CMOS and VBE indices a guest can name, with values no driver writes.
; Each check states the documented behaviour it asserts:
;  1. CMOS: port 70h bit 7 is the NMI mask, the index is bits 6-0 (PIIX4
;     4.1.x "RTC index", MC146818 has 7 address bits), so index 8Eh names
;     register 0Eh; the extended bank 72h/73h takes 7-bit indices for bytes
;     128-255.
;  2. Local APIC: every offset 000h-FF0h is read and written with all ones;
;     the version register is read-only (SDM vol. 3A, 10.4.8: version 14h,
;     max LVT entry 5 in bits 23-16 for fugu's six-entry LVT).
;  3. IOAPIC: every IOREGSEL index 00h-FFh is written with all ones through
;     IOWIN and read back; the version register (01h) is read-only: 0011h
;     with 17h (24 pins - 1) in bits 23-16, and the ID keeps only bits 27-24
;     (82093AA datasheet 3.2.1, 3.2.2).
;  5. PCI BARs (the VGA's 16 MiB BAR0 and its MMIO BAR2) over the IOAPIC
;     and local APIC pages, onto each other, and at the top of the 4 GiB
;     space: the APIC page is decoded in the processor before any bus cycle
;     (SDM vol. 3A, 10.4.1) and the IOAPIC by the chipset ahead of PCI (as in
;     QEMU), so both still answer.
;  4. Bochs VBE (QEMU's vga.c, vbe_ioport_write_data): XRES above the
;     maximum or not a multiple of 8 and an unknown BPP are ignored; BANK is
;     masked to the 16 MiB of VRAM (255); a 32 bpp mode with virtual width,
;     X and Y offsets at 0FFFFh and writes through bank 255 stay in VRAM.
	bits 16
	org 0
LAPIC	equ 0xfee00000
IOAPIC	equ 0xfec00000
start:
	cli
	xor ax, ax
	mov ss, ax
	mov sp, 0x7000
	lgdt [cs:gdtr]			; unreal mode: FS with a 4 GiB limit
	mov eax, cr0
	or al, 1
	mov cr0, eax
	mov bx, 0x08
	mov fs, bx
	and al, 0xfe
	mov cr0, eax
	xor ax, ax
	mov fs, ax

	; 1. CMOS
	mov al, 0x8e			; NMI masked, index 0Eh
	out 0x70, al
	mov al, 0x5a
	out 0x71, al
	mov al, 0x0e
	out 0x70, al
	in al, 0x71
	cmp al, 0x5a
	mov al, 1
	jne fail
	mov al, 0xff			; extended bank: index 7Fh = byte 255
	out 0x72, al
	mov al, 0xa5
	out 0x73, al
	mov al, 0x7f
	out 0x72, al
	in al, 0x73
	cmp al, 0xa5
	mov al, 2
	jne fail

	; 2. Local APIC: read and write every offset
	mov ebx, LAPIC
	mov eax, [fs:ebx + 0x30]
	mov [ver], eax
	xor esi, esi
.lapic:	mov eax, [fs:ebx + esi]
	mov dword [fs:ebx + esi], 0xffffffff
	add esi, 0x10
	cmp esi, 0x1000
	jb .lapic
	mov eax, [fs:ebx + 0x30]
	cmp eax, [ver]
	mov al, 3
	jne fail
	mov eax, [ver]
	and eax, 0x00ff00ff
	cmp eax, 0x00050014
	mov al, 4
	jne fail

	; 3. IOAPIC: every index
	mov ebx, IOAPIC
	xor ecx, ecx
.ioapic: mov [fs:ebx], ecx
	mov eax, [fs:ebx + 0x10]
	mov dword [fs:ebx + 0x10], 0xffffffff
	inc ecx
	cmp ecx, 0x100
	jb .ioapic
	mov dword [fs:ebx], 1
	cmp dword [fs:ebx + 0x10], 0x00170011
	mov al, 5
	jne fail
	mov dword [fs:ebx], 0
	cmp dword [fs:ebx + 0x10], 0x0f000000
	mov al, 6
	jne fail

	; 5. PCI BARs onto the APIC pages, onto each other and to the top
	mov ebx, 0x80001004		; 00:02.0 command: memory space on
	mov eax, 3
	call pci_write
	mov ebx, 0x80001010		; BAR0 (16 MiB) over FE000000-FEFFFFFF
	mov eax, 0xfe000000
	call pci_write
	mov ebx, 0x80001018		; BAR2 (MMIO) onto the same addresses
	call pci_write
	mov ebx, LAPIC
	mov eax, [fs:ebx + 0x30]
	cmp eax, [ver]
	mov al, 10
	jne fail
	mov ebx, IOAPIC
	mov dword [fs:ebx], 1
	cmp dword [fs:ebx + 0x10], 0x00170011
	mov al, 11
	jne fail
	mov ebx, 0x80001010		; BAR0 at the top of the 4 GiB space
	mov eax, 0xffffffff
	call pci_write
	mov eax, 0xfd000000
	call pci_write
	mov ebx, 0x80001018
	mov eax, 0xfebf0000
	call pci_write

	; 4. VBE
	mov ax, 1			; XRES = 640, then FFFFh (ignored)
	mov dx, 640
	call vbe_set
	mov dx, 0xffff
	call vbe_set
	call vbe_get
	cmp dx, 640
	mov al, 7
	jne fail
	mov ax, 3			; BPP = 32, then 7 (ignored)
	mov dx, 32
	call vbe_set
	mov dx, 7
	call vbe_set
	call vbe_get
	cmp dx, 32
	mov al, 8
	jne fail
	mov ax, 2			; YRES = 480
	mov dx, 480
	call vbe_set
	mov ax, 4			; ENABLE
	mov dx, 0x01
	call vbe_set
	mov ax, 5			; BANK = FFFFh reads as 255
	mov dx, 0xffff
	call vbe_set
	call vbe_get
	cmp dx, 0xff
	mov al, 9
	jne fail
	mov ax, 6			; VIRT_WIDTH, X/Y offsets at FFFFh
	mov dx, 0xffff
	call vbe_set
	mov ax, 8
	call vbe_set
	mov ax, 9
	call vbe_set
	mov ax, 0xa000			; fill bank 255 through the window
	mov es, ax
	xor di, di
	mov eax, 0x11223344
	mov cx, 0x4000
	rep stosd
	mov si, pass_msg
	call puts
	mov al, 0
	out 0xf4, al
.halt:	hlt
	jmp .halt

; PCI configuration: the dword at address EBX (CF8h) := EAX
pci_write:
	push eax
	mov dx, 0xcf8
	mov eax, ebx
	out dx, eax
	pop eax
	mov dx, 0xcfc
	out dx, eax
	ret

; VBE register AX := DX (ports 1CEh index, 1CFh data)
vbe_set:
	push ax
	push dx
	mov bx, dx
	mov dx, 0x1ce
	out dx, ax
	inc dx
	mov ax, bx
	out dx, ax
	pop dx
	pop ax
	ret
; DX := VBE register AX
vbe_get:
	push ax
	mov dx, 0x1ce
	out dx, ax
	inc dx
	in ax, dx
	mov dx, ax
	pop ax
	ret

%include "report16.inc"
pass_msg: db "hostile-regs: PASS", 10, 0
fail_msg: db "hostile-regs: FAIL ", 0
ver	equ 0x600

gdt:	dq 0
	dw 0xffff, 0x0000, 0x9200, 0x00cf	; 0x08 data, flat, 4 GiB
gdt_end:
gdtr:	dw gdt_end - gdt - 1
	dd 0xf0000 + gdt

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
