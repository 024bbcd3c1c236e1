; fugu guest test: INIT and SIPI against VMX operation (run with -smp 2).
; SDM vol. 3C: 25.2 (INIT and SIPI cause VM exits in non-root operation),
; 26.6.5 and 27.2.1 (the wait-for-SIPI activity state, the SIPI's vector as
; the exit qualification), 23.8 (INIT is blocked in VMX root operation).
; The BSP (32-bit protected mode with paging) starts the AP, enters VMX
; operation and launches a guest that sets FLAG = 1 and spins. The AP, in
; real mode with its local APIC in x2APIC mode (ICR MSR 830H), then:
;   FLAG 1: sends INIT to the BSP: exit reason 3 (checks 1-2). The hypervisor
;           puts its guest into wait-for-SIPI (activity state 3) and resumes.
;   FLAG 2: sends a STARTUP IPI with vector 12h: exit reason 4, qualification
;           12h, saved activity state 3 (checks 3-5).
;   FLAG 3: sends INIT again while the BSP runs in root operation: blocked,
;           the BSP goes on; then VM entry with the INIT still pending: it
;           exits (reason 3) before the guest's first instruction (checks
;           8-10: 25.2, the INIT is no longer blocked once in non-root).
;   FLAG 5: sends INIT a third time while the BSP runs in root operation:
;           blocked, the BSP goes on (check 6), sets a marker in RAM and
;           executes VMXOFF; outside VMX operation the INIT resets the BSP,
;           whose second start finds the marker and passes.
%define TEST "vmxsmp"
	org 0xf0000
%include "pm.inc"

PD	equ 0x10000		; page directory: 4 MiB identity pages (PSE)
VMXON_R	equ 0x20000
VMCS_R	equ 0x21000
GSTACK	equ 0x30000
TRAMP	equ 0x8000		; the STARTUP vector's page (vector 08h)
LAPIC	equ 0xfee00000
FLAG	equ 0x3000		; the hand-over between the BSP's guest/hypervisor and the AP
MARK	equ 0x3004		; 'INIT' just before VMXOFF
SPINS	equ 0x3008		; the BSP's loop count while the INIT is held back

%macro vmw 2
	mov ebx, %2
	mov eax, %1
	vmwrite eax, ebx
	check 50, nbe
%endmacro
%macro vmr 1
	mov eax, %1
	vmread ebx, eax
	check 51, nbe
%endmacro
; wait for FLAG to reach %1 (check 60 + %1 when it never does)
%macro wait_flag 1
	mov ecx, 20000000
%%w:	cmp dword [FLAG], %1
	je %%ok
	pause
	dec ecx
	jnz %%w
	mov eax, 60 + %1
	jmp fail
%%ok:
%endmacro

main:
	cmp dword [MARK], 'INIT'	; the second start: reset by the INIT
	jne .first
	mov dword [MARK], 0
	cmp dword [SPINS], 200000	; the BSP ran on in root with the INITs pending
	check 6, e
	jmp pass
.first:
	mov dword [FLAG], 0
	mov dword [SPINS], 0
	; The AP's trampoline into RAM, then INIT, STARTUP (all excluding self).
	mov esi, ap_code
	mov edi, TRAMP
	mov ecx, ap_end - ap_code
	rep movsb
	mov dword [LAPIC + 0x310], 0
	mov dword [LAPIC + 0x300], 0xc4500
	mov dword [LAPIC + 0x300], 0xc4608
	; Paging: 4 MiB identity pages for the first 4 MiB and the local APIC.
	mov dword [PD], 0x83
	mov dword [PD + 0x3fb * 4], 0xfec00093
	mov eax, PD
	mov cr3, eax
	mov eax, cr4
	or eax, (1 << 4) | (1 << 13)	; PSE, VMXE
	mov cr4, eax
	mov eax, cr0
	or eax, (1 << 31) | (1 << 5)	; PG, NE
	mov cr0, eax
	mov ecx, 0x3a			; IA32_FEATURE_CONTROL: lock, VMX outside SMX
	rdmsr
	test eax, 1
	jnz .locked
	mov eax, 5
	xor edx, edx
	wrmsr
.locked:
	mov edi, VMXON_R
	mov ecx, 0x2000 / 4
	xor eax, eax
	rep stosd
	mov ecx, 0x480			; the revision identifier into both regions
	rdmsr
	mov [VMXON_R], eax
	mov [VMCS_R], eax
	mov dword [V_PTR], VMXON_R
	mov dword [V_PTR + 4], 0
	vmxon [V_PTR]
	check 40, nbe
	mov dword [V_PTR], VMCS_R
	vmclear [V_PTR]
	check 41, nbe
	vmptrld [V_PTR]
	check 42, nbe
	; Controls: each the allowed-0 settings of its TRUE capability MSR.
	mov ecx, 0x48d
	rdmsr
	vmw 0x4000, eax			; pin-based
	mov ecx, 0x48e
	rdmsr
	vmw 0x4002, eax			; primary processor-based
	mov ecx, 0x48f
	rdmsr
	vmw 0x400c, eax			; exit controls (32-bit host)
	mov ecx, 0x490
	rdmsr
	vmw 0x4012, eax			; entry controls
	; Host state: this code, its segments and tables (27.5).
	mov eax, cr0
	vmw 0x6c00, eax
	mov eax, cr3
	vmw 0x6c02, eax
	mov eax, cr4
	vmw 0x6c04, eax
	vmw 0x0c02, SEL_C32
	vmw 0x0c04, SEL_D32
	vmw 0x0c06, SEL_D32
	vmw 0x0c00, SEL_D32
	vmw 0x0c0c, SEL_TSS0
	vmw 0x6c0a, TSS0
	vmw 0x6c0c, GDT
	vmw 0x6c0e, IDT
	vmw 0x6c14, KSTACK
	vmw 0x6c16, exit_init
	; Guest state: the same flat 32-bit world, at `guest`.
	mov eax, cr0
	vmw 0x6800, eax
	mov eax, cr3
	vmw 0x6802, eax
	mov eax, cr4
	vmw 0x6804, eax
%assign s 0
%rep 6
	vmw 0x0800 + s * 2, SEL_D32
	vmw 0x4800 + s * 2, 0xffffffff
	vmw 0x4814 + s * 2, 0xc093
%assign s s + 1
%endrep
	vmw 0x0802, SEL_C32
	vmw 0x4816, 0xc09b
	vmw 0x480c, 0			; LDTR unusable
	vmw 0x4820, 0x10000
	vmw 0x080e, SEL_TSS0
	vmw 0x6814, TSS0
	vmw 0x480e, 0x67
	vmw 0x4822, 0x8b
	vmw 0x6816, GDT
	vmw 0x4810, 0x7ff
	vmw 0x6818, IDT
	vmw 0x4812, 0x7ff
	vmw 0x681c, GSTACK
	vmw 0x681e, guest
	vmw 0x6820, 2			; RFLAGS: IF clear
	vmw 0x2800, -1			; VMCS link pointer
	vmw 0x2801, -1
	vmlaunch
	mov eax, 43
	jmp fail

; The guest: tell the AP it runs, then spin.
guest:
	mov dword [FLAG], 1
.spin:	pause
	jmp .spin
; The guest the pending INIT must not let run.
guest2:
	mov dword [FLAG], 9
.spin:	pause
	jmp .spin

; Exit 1: the INIT.
exit_init:
	vmr 0x4402			; exit reason
	cmp ebx, 3
	check 1, e
	vmr 0x6400			; qualification: 0
	test ebx, ebx
	check 2, z
	vmw 0x4826, 3			; guest activity: wait-for-SIPI
	vmw 0x6c16, exit_sipi
	mov dword [FLAG], 2
	vmresume
	mov eax, 44
	jmp fail

; Exit 2: the SIPI.
exit_sipi:
	vmr 0x4402
	cmp ebx, 4
	check 3, e
	vmr 0x6400			; qualification: the vector
	cmp ebx, 0x12
	check 4, e
	vmr 0x4826			; the guest still waits for SIPI
	cmp ebx, 3
	check 5, e
	; INIT in root operation: blocked. Run on, then enter the guest with it
	; pending: it exits before any guest instruction.
	mov dword [FLAG], 3
	wait_flag 4
	mov ecx, 100000
.root:	inc dword [SPINS]
	dec ecx
	jnz .root
	vmw 0x4826, 0			; guest activity: active
	vmw 0x681e, guest2
	vmw 0x6c16, exit_init2
	vmresume
	mov eax, 45
	jmp fail

; Exit 3: the INIT that waited in root operation.
exit_init2:
	vmr 0x4402
	cmp ebx, 3
	check 8, e
	vmr 0x681e			; no guest instruction ran
	cmp ebx, guest2
	check 9, e
	cmp dword [FLAG], 4
	check 10, e
	; INIT in root operation again: run on, then leave VMX operation.
	mov dword [FLAG], 5
	wait_flag 6
	mov ecx, 100000
.root2:	inc dword [SPINS]
	dec ecx
	jnz .root2
	mov dword [MARK], 'INIT'
	vmxoff
	; The INIT is taken at the next boundary: this never runs.
	mov dword [MARK], 0
	mov eax, 7
	jmp fail

; The AP (real mode, CS = 0800h, copied to TRAMP): x2APIC on, then the IPIs.
	bits 16
ap_code:
	cli
	xor ax, ax
	mov ds, ax
	mov ecx, 0x1b			; IA32_APIC_BASE: EN and EXTD (x2APIC)
	rdmsr
	or eax, (1 << 11) | (1 << 10)
	wrmsr
.w1:	cmp dword [FLAG], 1
	jne .w1
	mov ecx, 0x830			; ICR: INIT, assert, to x2APIC ID 0
	xor edx, edx
	mov eax, 0x4500
	wrmsr
.w2:	cmp dword [FLAG], 2
	jne .w2
	mov ecx, 0x830			; STARTUP, vector 12h
	xor edx, edx
	mov eax, 0x4612
	wrmsr
.w3:	cmp dword [FLAG], 3
	jne .w3
	mov ecx, 0x830			; INIT while the BSP is in root operation
	xor edx, edx
	mov eax, 0x4500
	wrmsr
	mov dword [FLAG], 4
.w5:	cmp dword [FLAG], 5
	jne .w5
	mov ecx, 0x830			; INIT while the BSP is in root operation
	xor edx, edx
	mov eax, 0x4500
	wrmsr
	mov dword [FLAG], 6
.hlt:	hlt
	jmp .hlt
ap_end:
	bits 32

V_PTR	equ 0x600

%include "pm_end.inc"
