; fugu guest test: debug exceptions (SDM vol. 3A, chapter 17) in 32-bit
; protected mode: TF single-step (counted, with DR6.BS, none after the POPF
; that sets TF, held back by the MOV SS shadow), INT1/ICEBP, an instruction
; breakpoint (a fault; RF lets the instruction run), data breakpoints (traps;
; write-only vs read/write, the length range), DR7.GD general detect and an I/O
; breakpoint with CR4.DE.
	org 0xf0000
%define TEST "debug"
%include "pm.inc"

V_STEPS	equ 0x600		; #DB count
V_DR6	equ 0x604		; DR6 at the last #DB
V_TRAPS	equ 0x610		; EIP of each #DB (16 entries)
V_DATA	equ 0x680		; watched variable
V_X	equ 0x690

; The #DB handler for this test: count, record EIP and DR6, clear DR6, set RF
; in the image (harmless for traps, needed to get past an instruction breakpoint).
db_handler:
	push eax
	push ebx
	mov ebx, [V_STEPS]
	and ebx, 15
	mov eax, [esp + 8]
	mov [V_TRAPS + ebx * 4], eax
	inc dword [V_STEPS]
	mov eax, dr6
	mov [V_DR6], eax
	xor eax, eax
	mov dr6, eax
	or dword [esp + 16], 0x10000
	pop ebx
	pop eax
	iretd

; Clear the #DB record.
db_reset:
	mov dword [V_STEPS], 0
	mov dword [V_DR6], 0
	push eax
	xor eax, eax
	mov dr6, eax
	pop eax
	ret

main:
	mov eax, 1
	mov ebx, db_handler
	mov ecx, 0x8e00
	call set_gate

	; 1-4: single-step: no trap after the POPF that sets TF; one after each
	; instruction then, including the POPF that clears it. 6 traps.
	call db_reset
	pushfd
	or dword [esp], 0x100
	popfd
ss1:	nop
ss2:	nop
	mov eax, 1
	pushfd
	and dword [esp], ~0x100
	popfd
ss_end:
	cmp dword [V_STEPS], 6
	check 1, e
	cmp dword [V_TRAPS], ss2		; the first trap reports the next instruction
	check 2, e
	cmp dword [V_TRAPS + 20], ss_end
	check 3, e
	test dword [V_DR6], 0x4000		; BS
	check 4, nz

	; 5-7: MOV SS holds the single-step trap back until after the next instruction.
	call db_reset
	pushfd
	or dword [esp], 0x100
	popfd
	mov ax, ss
ms1:	mov ss, ax
	nop
ms2:	pushfd
	and dword [esp], ~0x100
	popfd
	cmp dword [V_STEPS], 5			; mov ax,ss / (mov ss + nop) / pushfd / and / popfd
	check 5, e
	cmp dword [V_TRAPS], ms1
	check 6, e
	cmp dword [V_TRAPS + 4], ms2
	check 7, e

	; 8-9: INT1 (ICEBP): a #DB trap reporting the next instruction, no BS.
	call db_reset
	db 0xf1
ice_after:
	cmp dword [V_STEPS], 1
	check 8, e
	cmp dword [V_TRAPS], ice_after
	check 8, e
	test dword [V_DR6], 0x4000
	check 9, z

	; 10-13: an instruction breakpoint on bp_target (DR0, L0, R/W 00, LEN 00): a
	; fault before it runs, B0 in DR6; the handler's RF lets it run once. Twice.
	call db_reset
	mov dword [V_X], 0
	mov eax, bp_target
	mov dr0, eax
	mov eax, 0x401
	mov dr7, eax
	call bp_func
	call bp_func
	mov eax, 0x400
	mov dr7, eax
	cmp dword [V_STEPS], 2
	check 10, e
	cmp dword [V_X], 2
	check 11, e
	cmp dword [V_TRAPS], bp_target
	check 12, e
	test dword [V_DR6], 1
	check 13, nz

	; 14-19: a data breakpoint (DR1, L1, R/W 01 write, LEN 11 = 4 bytes) on V_DATA.
	call db_reset
	mov eax, V_DATA
	mov dr1, eax
	mov eax, 0x00d00404			; LEN1 = 11, R/W1 = 01, L1
	mov dr7, eax
	mov eax, [V_DATA]			; a read: no trap
	cmp dword [V_STEPS], 0
	check 14, e
	mov dword [V_DATA], 5
dw1:	cmp dword [V_STEPS], 1
	check 15, e
	cmp dword [V_TRAPS], dw1		; a trap: after the write
	check 16, e
	test dword [V_DR6], 2			; B1
	check 17, nz
	mov byte [V_DATA + 3], 1		; inside the 4 bytes
	mov byte [V_DATA + 4], 1		; outside
	cmp dword [V_STEPS], 2
	check 18, e
	mov eax, 0x00f00404			; R/W1 = 11: reads too
	mov dr7, eax
	mov eax, [V_DATA + 2]
	cmp dword [V_STEPS], 3
	check 19, e
	mov eax, 0x400
	mov dr7, eax

	; 20-22: DR7.GD: a MOV DR faults with BD; GD is cleared for the handler.
	call db_reset
	mov eax, 0x2400
	mov dr7, eax
gd_insn: mov eax, dr0
	cmp dword [V_STEPS], 1
	check 20, e
	cmp dword [V_TRAPS], gd_insn		; a fault: the MOV itself
	check 21, e
	test dword [V_DR6], 0x2000		; BD
	check 22, nz
	mov eax, dr7				; ran again with GD clear
	test eax, 0x2000
	check 22, z

	; 23-24: an I/O breakpoint (CR4.DE, DR2 = port 0x80, R/W 10).
	call db_reset
	mov eax, cr4
	or eax, 8
	mov cr4, eax
	mov eax, 0x80
	mov dr2, eax
	mov eax, 0x02000410			; R/W2 = 10, L2
	mov dr7, eax
	mov al, 0x55
	out 0x81, al
	cmp dword [V_STEPS], 0
	check 23, e
	out 0x80, al
io_after:
	cmp dword [V_STEPS], 1
	check 24, e
	cmp dword [V_TRAPS], io_after
	check 24, e
	mov eax, 0x400
	mov dr7, eax

	jmp pass

bp_func:
	nop
bp_target:
	inc dword [V_X]
	ret

%include "pm_end.inc"
