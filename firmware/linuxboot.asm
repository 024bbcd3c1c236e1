; fugu — the Linux boot option ROM ("genroms/linuxboot.bin"), fugu's own code.
; SeaBIOS runs it as a boot device (its BEV). It copies the pieces the loader
; (firmware/loader.c) published in fw_cfg to their places with fw_cfg DMA,
; which writes anywhere in RAM, so no mode switch is needed:
;   setup (real-mode kernel, header filled in)  SETUP_ADDR/SIZE/DATA
;   protected-mode kernel                        KERNEL_ADDR/SIZE/DATA
;   command line                                 CMDLINE_ADDR/SIZE/DATA
;   initrd (optional)                            INITRD_ADDR/SIZE/DATA
; then enters the setup code as the boot protocol requires (Linux
; Documentation/arch/x86/boot.rst, "RUNNING THE KERNEL" and "SAMPLE BOOT
; CONFIGURATION"): interrupts off, DS = ES = FS = GS = SS = the setup segment,
; SP at the end of the heap/stack area (heap_end_ptr + 0x200), and a far jump
; to segment + 0x20, offset 0 (the code at setup + 0x200).

%define ROM_PRODUCT "fugu Linux direct boot"
%include "optionrom.inc"

LH_LOADFLAGS		equ 0x211
LH_HEAP_END_PTR		equ 0x224
LF_CAN_USE_HEAP		equ 0x80

bev:
	cld
	mov ax, FW_CFG_KERNEL_SIZE
	call cfg_read32
	test eax, eax
	mov si, msg_nokernel
	jz fail
	mov ax, FW_CFG_SETUP_ADDR | FW_CFG_SETUP_SIZE << 8
	mov bl, FW_CFG_SETUP_DATA
	call load_triple
	jc .dma_error
	mov esi, edi		; the setup's address, kept in ESI
	mov ax, FW_CFG_KERNEL_ADDR | FW_CFG_KERNEL_SIZE << 8
	mov bl, FW_CFG_KERNEL_DATA
	call load_triple
	jc .dma_error
	mov ax, FW_CFG_CMDLINE_ADDR | FW_CFG_CMDLINE_SIZE << 8
	mov bl, FW_CFG_CMDLINE_DATA
	call load_triple
	jc .dma_error
	mov ax, FW_CFG_INITRD_ADDR | FW_CFG_INITRD_SIZE << 8
	mov bl, FW_CFG_INITRD_DATA
	call load_triple
	jc .dma_error

	cli
	shr esi, 4		; the setup segment
	mov ds, si
	mov es, si
	mov fs, si
	mov gs, si
	mov ax, 0x9000		; no heap (protocol 2.00): a stack below 0x9000
	test byte [LH_LOADFLAGS], LF_CAN_USE_HEAP
	jz .stack
	mov ax, [LH_HEAP_END_PTR]
	add ax, 0x200		; the end of the heap/stack area
	and al, 0xf0
	jnz .stack
	mov ax, 0xfff0		; 64 KiB exactly: stay inside the segment
.stack:
	mov ss, si
	mov sp, ax
	xor eax, eax
	xor ebx, ebx
	xor ecx, ecx
	xor edx, edx
	xor edi, edi
	xor ebp, ebp
	add si, 0x20
	push si
	push ax
	xor esi, esi
	retf			; to setup segment + 0x20 : 0

.dma_error:
	mov si, msg_dma
	jmp fail

msg_nokernel:
	db "fugu linuxboot: no kernel in fw_cfg", 13, 10, 0
msg_dma:
	db "fugu linuxboot: fw_cfg DMA error", 13, 10, 0
