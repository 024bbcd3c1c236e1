; fugu — the Multiboot option ROM ("genroms/multiboot.bin"), fugu's own code.
; SeaBIOS runs it as a boot device (its BEV). The loader (firmware/loader.c,
; layout in loader.h) prepared everything: the kernel image
; (KERNEL_ADDR/SIZE/DATA, entry point in KERNEL_ENTRY) and the boot
; information (INITRD_ADDR/SIZE/DATA: the Multiboot information structure at
; its start, then strings, module list, a memory-map buffer and the modules).
; The ROM copies the information with fw_cfg DMA (it is always at 1 MiB or
; above), collects the BIOS memory map with INT 15h E820 into a scratch buffer
; at 0x8000, enables A20, enters 32-bit protected mode with flat segments,
; stores the map at mbi.mmap_addr (setting flag 6, mmap_length), loads the
; kernel last with the DMA descriptor the loader left at MB_DMA_OFF of the
; information (a kernel linked below 1 MiB may cover the scratch buffer and
; the BIOS's stack; nothing of those is used after that), and jumps to the
; entry point in the machine state of
; the Multiboot Specification 0.6.96, 3.2: EAX = 0x2BADB002, EBX = the
; information structure's physical address, CS a 32-bit flat code segment,
; DS/ES/FS/GS/SS flat data segments, A20 on, paging off, IF clear.

%define ROM_PRODUCT "fugu Multiboot direct boot"
%include "optionrom.inc"

MB_MAGIC	equ 0x2badb002
MBI_FLAGS	equ 0
MBI_MMAP_LENGTH	equ 44
MBI_MMAP_ADDR	equ 48
MBI_MMAP	equ 0x40
MMAP_MAX	equ 32		; loader.h MB_MMAP_MAX
MMAP_ENTRY	equ 24		; {u32 size = 20, u64 base, u64 length, u32 type}
MB_DMA_OFF	equ 0x70	; loader.h: the kernel's DMA descriptor in the information
SCRATCH_SEG	equ 0x0800	; 0x8000: the E820 entries before they are copied up
SMAP		equ 0x534d4150	; "SMAP"

bev:
	cld
	mov ax, FW_CFG_KERNEL_SIZE
	call cfg_read32
	test eax, eax
	mov si, msg_nokernel
	jz fail
	mov ax, FW_CFG_INITRD_ADDR | FW_CFG_INITRD_SIZE << 8
	mov bl, FW_CFG_INITRD_DATA
	call load_triple
	jc .dma_error

	; The BIOS memory map (ACPI "Query System Address Map"), each entry
	; preceded by the Multiboot size field.
	mov ax, SCRATCH_SEG
	mov es, ax
	mov di, 4
	xor ebx, ebx
.e820:
	mov eax, 0xe820
	mov edx, SMAP
	mov ecx, 20
	int 0x15
	jc .e820_done
	cmp eax, SMAP
	jne .e820_done
	mov dword [es:di - 4], 20
	add di, MMAP_ENTRY
	cmp di, 4 + MMAP_MAX * MMAP_ENTRY
	jae .e820_done
	test ebx, ebx
	jnz .e820
.e820_done:
	movzx ecx, di
	sub ecx, 4		; bytes of memory map, kept in ECX

	mov ax, FW_CFG_KERNEL_ENTRY
	call cfg_read32
	mov ebp, eax		; the entry point, kept in EBP
	mov ax, FW_CFG_INITRD_ADDR
	call cfg_read32
	mov ebx, eax		; the information structure, kept in EBX

	in al, 0x92		; A20 on (port 0x92 "fast A20"), no reset
	or al, 0x02
	and al, 0xfe
	out 0x92, al

	cli
	xor eax, eax
	mov ax, cs
	shl eax, 4		; the ROM's linear base
	lea edx, [eax + gdt]
	push edx		; GDTR image on the stack: limit, then base
	push word gdt_end - gdt - 1
	mov si, sp
	o32 lgdt [ss:si]
	add sp, 6
	mov edx, cr0
	or dl, 1		; PE
	and edx, 0x7fffffff	; PG off
	mov cr0, edx
	add eax, pm32
	push dword 0x08
	push eax
	o32 retf		; to the flat 32-bit code segment

.dma_error:
	mov si, msg_dma
	jmp fail

	bits 32
pm32:
	mov dx, 0x10
	mov ds, dx
	mov es, dx
	mov fs, dx
	mov gs, dx
	mov ss, dx
	mov esi, SCRATCH_SEG << 4
	mov edi, [ebx + MBI_MMAP_ADDR]
	mov [ebx + MBI_MMAP_LENGTH], ecx
	jecxz .nomap
	or dword [ebx + MBI_FLAGS], MBI_MMAP
	shr ecx, 2
	rep movsd
.nomap:
	; The kernel, last: the descriptor's address, big-endian, high half first;
	; the write of the low half runs the transfer.
	xor eax, eax
	mov dx, FW_CFG_PORT_DMA_HI
	out dx, eax
	lea eax, [ebx + MB_DMA_OFF]
	bswap eax
	mov dx, FW_CFG_PORT_DMA_LO
	out dx, eax
	test byte [ebx + MB_DMA_OFF + 3], FW_CFG_DMA_CTL_ERROR	; control, big-endian
	jnz .kernel_error
	xor ecx, ecx
	xor edx, edx
	xor esi, esi
	xor edi, edi
	mov eax, MB_MAGIC
	jmp ebp
.kernel_error:			; no BIOS to print with any more: stop here
	cli
	hlt
	jmp .kernel_error

	align 8, db 0
gdt:
	dq 0
	dq 0x00cf9a000000ffff	; 0x08: code, base 0, limit 4 GiB, 32-bit
	dq 0x00cf92000000ffff	; 0x10: data, base 0, limit 4 GiB
gdt_end:

msg_nokernel:
	db "fugu multiboot: no kernel in fw_cfg", 13, 10, 0
msg_dma:
	db "fugu multiboot: fw_cfg DMA error", 13, 10, 0
