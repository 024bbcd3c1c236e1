; fugu hostile guest: IDE bus-master DMA against the host boundary (PIIX3
; datasheet, "Bus Master IDE": a PRD is a 32-bit base with bit 0 zero and a
; byte count in bits 15-1, 0 meaning 64 KiB, EOT in bit 31 of the second
; dword). The disk is a 64 MiB image given with -snapshot.
; 1. One-sector READ DMAs whose only PRD points past RAM (unassigned), into
;    MMIO (the local APIC page) and at the top of the 4 GiB space (the region
;    runs past 0xFFFFFFFF): each command completes (BMIS interrupt set, the
;    drive not busy) and nothing but RAM, MMIO handlers and dropped bytes is
;    touched.
; 2. Then, forever, READ DMA EXT of 65536 sectors (32 MiB) through a table of
;    512 PRDs of 64 KiB each onto the same 64 KiB of RAM: the host must stay
;    bounded and end the run at -timeout.
	bits 16
	org 0
PRDT	equ 0x1000
BM	equ 0xc000
start:
	cli
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7000
	mov dx, 0xcf8			; 00:01.1 BAR4 = BM, command: I/O + bus master
	mov eax, 0x80000920
	out dx, eax
	mov dx, 0xcfc
	mov eax, BM | 1
	out dx, eax
	mov dx, 0xcf8
	mov eax, 0x80000904
	out dx, eax
	mov dx, 0xcfc
	mov ax, 0x0005
	out dx, ax

	mov ebx, 0xf0000000		; unassigned
	call dma_one
	mov al, 1
	jc fail
	mov ebx, 0xfee00000		; the local APIC page (MMIO)
	call dma_one
	mov al, 2
	jc fail
	mov ebx, 0xffffff00		; 256 bytes below 4 GiB, then the wrap
	call dma_one
	mov al, 3
	jc fail
	mov si, ok_msg
	call puts

	mov di, PRDT			; 512 PRDs of 64 KiB at 1 MiB
	mov cx, 512
.fill:	mov dword [di], 0x100000
	mov dword [di + 4], 0
	add di, 8
	loop .fill
	mov dword [di - 4], 0x80000000	; EOT
.flood:	mov dx, 0x1f6
	mov al, 0x40			; LBA, master
	out dx, al
	mov dx, 0x1f2
	xor al, al
	out dx, al			; count 15:8
	out dx, al			; count 7:0: 0 = 65536 sectors
	mov dx, 0x1f3
	out dx, al
	out dx, al
	inc dx
	out dx, al
	out dx, al
	inc dx
	out dx, al
	out dx, al
	mov al, 0x25			; READ DMA EXT
	call start_dma
	jmp .flood

; One sector by READ DMA with a single PRD of 512 bytes at EBX. CF set if
; the command did not complete.
dma_one:
	mov [PRDT], ebx
	mov dword [PRDT + 4], 0x80000200
	mov dx, 0x1f6
	mov al, 0xe0			; LBA 0, master
	out dx, al
	mov dx, 0x1f2
	mov al, 1
	out dx, al
	xor al, al
	inc dx
	out dx, al
	inc dx
	out dx, al
	inc dx
	out dx, al
	mov al, 0xc8			; READ DMA
	call start_dma
	mov dx, 0x1f7
	in al, dx
	test al, 0x88			; BSY or DRQ still set?
	jnz .bad
	clc
	ret
.bad:	stc
	ret

; Issue command AL, start the bus master (PRD table at PRDT, to memory) and
; wait for its interrupt bit.
start_dma:
	mov dx, 0x1f7
	out dx, al
	mov dx, BM + 4
	mov eax, PRDT
	out dx, eax
	mov dx, BM + 2
	mov al, 0x06			; clear interrupt and error
	out dx, al
	mov dx, BM
	mov al, 0x09			; start, direction: to memory
	out dx, al
	mov dx, BM + 2
	mov cx, 0xffff
.wait:	in al, dx
	test al, 0x04
	jnz .done
	loop .wait
.done:	mov dx, BM
	xor al, al
	out dx, al			; stop
	ret

%include "report16.inc"
ok_msg:	db "hostile-ide: PRDs past RAM, into MMIO and across 4 GiB done", 10, 0
fail_msg: db "hostile-ide: FAIL ", 0

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
