; fugu guest test: NMI delivery (SDM vol. 3A, 6.7 and 6.7.1; 10.6.1 for the
; local APIC's NMI IPI). In 32-bit protected mode with interrupts disabled:
;  1  a self-NMI through the ICR reaches vector 2 although IF = 0
;  2  an NMI sent by the NMI handler does not nest: it waits until the handler's
;     IRET, then runs (count 2, depth never above 1)
;  3  IF is still clear afterwards
; PASS/FAIL on port 0xe9, exit through isa-debug-exit (0 on success: status 1).
	bits 16
	org 0

BASE	equ 0xf0000
APIC	equ 0xfee00000
COUNT	equ 0x600
DEPTH	equ 0x604
MAXD	equ 0x608

start:
	cli
	xor ax, ax
	mov ds, ax
	mov ss, ax
	mov sp, 0x7000
	o32 lgdt [cs:gdtr]
	o32 lidt [cs:idtr]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp dword 0x08:(BASE + pm32)

	bits 32
pm32:	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov esp, 0x7000
	mov dword [COUNT], 0
	mov dword [DEPTH], 0
	mov dword [MAXD], 0
	mov dword [APIC + 0xf0], 0x1ff		; SVR: software enable
	mov dword [APIC + 0x310], 0		; ICR high
	mov dword [APIC + 0x300], 0x00040400	; ICR low: self, NMI delivery mode
	mov ecx, 1000000			; delivery is not instantaneous on every CPU
.wait:	cmp dword [COUNT], 2
	jae .done
	loop .wait
.done:	cmp dword [COUNT], 2
	mov al, 1
	jb fail
	mov al, 2
	cmp dword [MAXD], 1
	jne fail
	pushfd
	pop eax
	test eax, 0x200
	mov al, 3
	jnz fail
	mov esi, BASE + pass_msg
	call puts
	mov al, 0
	out 0xf4, al
	hlt

nmi_handler:
	push eax
	inc dword [DEPTH]
	mov eax, [DEPTH]
	cmp eax, [MAXD]
	jbe .d
	mov [MAXD], eax
.d:	inc dword [COUNT]
	cmp dword [COUNT], 1
	jne .out
	mov dword [APIC + 0x300], 0x00040400	; a second NMI while this one runs ...
	push ecx
	mov ecx, 100000				; ... must not be taken before the IRET
.spin:	loop .spin
	pop ecx
.out:	dec dword [DEPTH]
	pop eax
	iretd

fail:	mov bl, al
	mov esi, BASE + fail_msg
	call puts
	mov al, bl
	add al, '0'
	out 0xe9, al
	mov al, 10
	out 0xe9, al
	mov al, bl
	out 0xf4, al
	hlt

puts:	lodsb
	test al, al
	jz .d
	out 0xe9, al
	jmp puts
.d:	ret

pass_msg: db "nmi: PASS", 10, 0
fail_msg: db "nmi: FAIL ", 0

	align 8
gdt:	dq 0
	dq 0x00cf9b000000ffff
	dq 0x00cf93000000ffff
gdtr:	dw gdtr - gdt - 1
	dd BASE + gdt
	align 8
idt:	dq 0, 0				; vectors 0, 1
	dw (BASE + nmi_handler - $$) & 0xffff, 0x08, 0x8e00, (BASE + nmi_handler - $$) >> 16
idtr:	dw 3 * 8 - 1
	dd BASE + idt

	times 0xfff0 - ($ - $$) db 0xff
	bits 16
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
