; fugu guest test: a mini hypervisor (SDM vol. 3C, chapters 23-30). From 32-bit
; protected mode with paging it enables VMX (IA32_FEATURE_CONTROL, CR4.VMXE),
; checks the VMfail outcomes and error numbers of the VMX instructions, builds
; a VMCS from the capability MSRs, launches a guest that shares its page tables
; and descriptor tables, and checks every exit against a table (reason,
; qualification, instruction length, information fields): CPUID with the
; hypervisor changing the guest's view, I/O bitmaps A/B with a straddling
; access and string I/O, the MSR bitmap quarters and an index outside both
; ranges, CR0/CR4 guest/host masks and read shadows, CLTS, descriptor-table
; exiting, the exception bitmap (INT3, UD2), VMCALL, INVVPID, HLT, event injection
; (external interrupt, hardware exception with error code, software
; interrupt; an injected external interrupt whose delivery page-faults exits
; through the exception bitmap with the IDT-vectoring information, as any
; event's delivery does: 27.2.4), the interrupt window, TSC offsetting; then VM-entry failures
; (guest state: exit reason 33) and VMfailValid 4, 7, 8, VMCLEAR, VMXOFF;
; then long mode: a 64-bit host launches an IA-32e mode guest.
; With a model that lacks VMX (-cpu max,-vmx) it checks that CPUID hides VMX,
; CR4.VMXE is reserved and every VMX instruction raises #UD.
; Built with -DABORT (vmx-abort.rom), the 64-bit part ends differently: the
; guest runs again with a VM-exit MSR-load area naming IA32_FS_BASE, so its
; first exit is a VMX abort (27.6, 27.7): indicator 4 in the VMCS region, and
; shutdown; the reset that follows finds the marker it left in RAM and checks
; the indicator.
%define TEST "vmx"
	org 0xf0000
%include "pm.inc"

PD	equ 0x10000		; page directory: 4 MiB identity page (PSE)
VMXON_R	equ 0x20000
VMCS_R	equ 0x21000
IOBM_A	equ 0x23000
IOBM_B	equ 0x24000
MSRBM	equ 0x25000
GSTACK	equ 0x30000
GDATA	equ 0x31000		; a buffer the guest's SGDT/OUTS use
MSRAREA	equ 0x32000		; VM-entry MSR-load and VM-exit MSR-store areas
VAPIC	equ 0x33000		; the virtual-APIC page of the 64-bit guest
HSTACK	equ 0x6800

V_PTR	equ 0x600		; a 64-bit pointer operand
V_EXPECT equ 0x608		; the expectation row of the next exit
V_FRAME	equ 0x60c		; the host's PUSHAD frame at an exit
V_STEP	equ 0x610		; exits seen
V_IRQ40	equ 0x614		; injected interrupts seen by the guest
V_IRQ41	equ 0x618
G_EBX	equ 0x620		; what the guest saw
G_CR0	equ 0x624
G_CR4	equ 0x628
G_TSCHI	equ 0x62c
G_APIC	equ 0x630
V_SMM	equ 0x634		; set by the SMM handler
V_FC	equ 0x638		; IA32_FEATURE_CONTROL at reset
V_ABORT	equ 0x63c		; -DABORT: 'ABRT' once the aborting exit is set up
V_DESC	equ 0x640		; an INVVPID descriptor (16 bytes)

; vmw field, value: VMWRITE, fail 50 on VMfail
%macro vmw 2
	mov ebx, %2
	mov eax, %1
	vmwrite eax, ebx
	check 50, nbe
%endmacro
; vmr field: EBX = VMREAD, fail 51 on VMfail
%macro vmr 1
	mov eax, %1
	vmread ebx, eax
	check 51, nbe
%endmacro
; the VMfail flag tests: CF=1 ZF=0 (invalid), CF=0 ZF=1 (valid)
%macro fail_invalid 1
	check %1, c
	check %1, nz
%endmacro
%macro fail_valid 2 ; number, error
	check %1, z
	check %1, nc
	mov eax, 0x4400
	vmread ebx, eax
	cmp ebx, %2
	check %1, e
%endmacro

main:
%ifdef ABORT
	cmp dword [V_ABORT], 'ABRT'	; after the abort's shutdown and the reset
	jne .first
	mov dword [V_ABORT], 0
	cmp dword [VMCS2 + 4], 4	; the VMX-abort indicator: loading host MSRs
	check 95, e
	jmp pass
.first:
%endif
	mov eax, 1
	cpuid
	test ecx, 1 << 5
	jz novmx

	; IA32_FEATURE_CONTROL is unlocked at reset (SDM vol. 3C, 23.7), or locked
	; with VMX enabled under -cpu ...,vmx-locked=on (as UEFI leaves it).
	mov ecx, 0x3a
	rdmsr
	mov [V_FC], eax
	cmp eax, 5
	je .fc_ok
	test eax, eax
	check 1, z
.fc_ok:
	; VMXON without CR4.VMXE: #UD.
	faulting vmxon [V_PTR]
	expect 2, 6, 0xffffffff
	; Paging with a 4 MiB identity page; CR0.NE (CR0_FIXED0: PE, NE, PG).
	mov dword [PD], 0x83
	mov dword [PD + 0x3fb * 4], 0xfec00093	; the local APIC's 4 MiB, uncached
	mov eax, PD
	mov cr3, eax
	mov eax, cr4
	or eax, (1 << 4) | (1 << 13)	; PSE, VMXE
	mov cr4, eax
	mov eax, cr0
	or eax, (1 << 31) | (1 << 5)
	mov cr0, eax
	; Clear the regions and bitmaps.
	mov edi, VMXON_R
	mov ecx, 0x6000 / 4
	xor eax, eax
	rep stosd
	; Revision identifier (IA32_VMX_BASIC[30:0]) into both regions.
	mov ecx, 0x480
	rdmsr
	test eax, 0x80000000
	check 3, z
	mov [VMXON_R], eax
	mov [VMCS_R], eax
	test edx, 1 << 23		; TRUE controls (bit 55)
	check 4, nz
	mov dword [V_PTR], VMXON_R
	mov dword [V_PTR + 4], 0
	cmp dword [V_FC], 5
	je .locked
	; VMXON with IA32_FEATURE_CONTROL unlocked: #GP(0).
	faulting vmxon [V_PTR]
	expect 5, 13, 0
	; Lock it with VMX enabled outside SMX; a locked MSR refuses writes.
	mov ecx, 0x3a
	mov eax, 5
	xor edx, edx
	wrmsr
.locked:
	mov ecx, 0x3a
	mov eax, 5
	xor edx, edx
	faulting wrmsr
	expect 6, 13, 0
	; A misaligned VMXON region: VMfailInvalid.
	mov dword [V_PTR], VMXON_R + 8
	vmxon [V_PTR]
	fail_invalid 7
	mov dword [V_PTR], VMXON_R
	vmxon [V_PTR]
	check 8, nbe
	; No current VMCS: VMREAD is VMfailInvalid; VMXON again too (no VMCS to hold 15).
	mov eax, 0x4400
	vmread ebx, eax
	fail_invalid 9
	; VMPTRLD of the VMXON region: VMfailInvalid (still no current VMCS).
	vmptrld [V_PTR]
	fail_invalid 10
	mov dword [V_PTR], VMCS_R
	vmclear [V_PTR]
	check 11, nbe
	vmptrld [V_PTR]
	check 12, nbe
	mov dword [V_PTR], 0
	vmptrst [V_PTR]
	cmp dword [V_PTR], VMCS_R
	check 13, e
	; An SMI in VMX root operation: SMM runs outside VMX operation (its MOV CR0
	; without PG is no #GP), RSM returns to VMX root (SDM vol. 3C, 32.14.1).
	mov esi, smm_handler
	mov edi, 0x38000		; the reset SMBASE 30000h + 8000h
	mov ecx, smm_handler_end - smm_handler
	rep movsb
	mov dword [V_SMM], 0
	mov eax, 0x80000000 | (1 << 11) | (3 << 8) | 0x58	; PIIX4 PM DEVACTB: APMC_EN
	mov dx, 0xcf8
	out dx, eax
	mov dx, 0xcfc
	in eax, dx
	or eax, 1 << 25
	out dx, eax
	mov al, 0x42
	out 0xb2, al
	nop
	cmp dword [V_SMM], 1
	check 27, e
	mov dword [V_PTR], 0
	vmptrst [V_PTR]			; still in VMX root operation, same VMCS
	cmp dword [V_PTR], VMCS_R
	check 28, e
	; With a current VMCS the failures are VMfailValid with their numbers.
	vmxon [V_PTR]
	fail_valid 14, 15		; VMXON in VMX root operation
	mov dword [V_PTR], VMXON_R
	vmptrld [V_PTR]
	fail_valid 15, 10		; VMPTRLD with the VMXON pointer
	vmclear [V_PTR]
	fail_valid 16, 3		; VMCLEAR with the VMXON pointer
	mov eax, 0x4402			; exit reason: read-only
	vmwrite eax, ebx
	fail_valid 17, 13
	mov eax, 0x202c			; XSS-exiting bitmap: not supported (no XSAVES control)
	vmread ebx, eax
	fail_valid 18, 12
	vmresume
	fail_valid 19, 5		; VMRESUME of a clear VMCS
	vmcall
	fail_valid 20, 1		; VMCALL in VMX root operation
	; INVVPID (VPID is allowed): all-context (2) succeeds; type 4, VPID 0 for
	; single-context (1) and reserved descriptor bits are VMfailValid 28.
	xor eax, eax
	mov [V_DESC], eax
	mov [V_DESC + 4], eax
	mov [V_DESC + 8], eax
	mov [V_DESC + 12], eax
	mov eax, 2
	invvpid eax, [V_DESC]
	check 6, nbe
	mov eax, 4
	invvpid eax, [V_DESC]
	fail_valid 7, 28
	mov eax, 1
	invvpid eax, [V_DESC]		; VPID 0
	fail_valid 9, 28
	mov dword [V_DESC], 0x10001	; VPID 1, bit 16 reserved
	invvpid eax, [V_DESC]
	fail_valid 10, 28

	; ---- the VMCS ----
	; Controls: the desired bits within the TRUE capability MSRs.
%macro ctl 3 ; msr, desired bits, field
	mov ecx, %1
	rdmsr
	or eax, %2
	and eax, edx
	mov ebx, eax
	mov eax, %3
	vmwrite eax, ebx
	check 21, nbe
	vmr %3
	mov eax, ebx
	and eax, %2
	cmp eax, %2
	check 22, e			; every desired control is allowed
%endmacro
	ctl 0x48d, 0, 0x4000
	ctl 0x48e, (1 << 7) | (1 << 3) | (1 << 25) | (1 << 28) | (1 << 31), 0x4002
	ctl 0x48b, (1 << 2), 0x401e
	ctl 0x48f, 0, 0x400c
	ctl 0x490, 0, 0x4012
	vmw 0x4004, (1 << 3) | (1 << 6)	; exception bitmap: #BP, #UD
	vmw 0x2000, IOBM_A
	vmw 0x2002, IOBM_B
	vmw 0x2004, MSRBM
	vmw 0x2010, 0
	vmw 0x2011, 1			; TSC offset 1 << 32 (the high half)
	vmw 0x6000, 1 << 3		; CR0 mask: TS, shadow TS = 1
	vmw 0x6004, 1 << 3
	vmw 0x6002, 1 << 13		; CR4 mask: VMXE, shadow 0
	vmw 0x6006, 0
	vmw 0x2800, 0xffffffff		; VMCS link pointer
	vmw 0x2801, 0xffffffff
	or byte [IOBM_A + 0x80 / 8], 1		; port 0x80
	or byte [IOBM_B + 0], 1			; port 0x8000
	or byte [IOBM_B + 0x1000 / 8], 1	; port 0x9000
	or byte [MSRBM + 0x10 / 8], 1 << (0x10 & 7)		; read low: TSC
	or byte [MSRBM + 3072 + 0x81 / 8], 1 << (0x81 & 7)	; write high: STAR
	; Host state: this CPU as it is.
	mov eax, cr0
	vmw 0x6c00, eax
	mov eax, cr3
	vmw 0x6c02, eax
	mov eax, cr4
	vmw 0x6c04, eax
	vmw 0x0c00, SEL_D32
	vmw 0x0c02, SEL_C32
	vmw 0x0c04, SEL_D32
	vmw 0x0c06, SEL_D32
	vmw 0x0c08, SEL_D32
	vmw 0x0c0a, SEL_D32
	vmw 0x0c0c, SEL_TSS0
	vmw 0x6c0a, TSS0
	vmw 0x6c0c, GDT
	vmw 0x6c0e, IDT
	vmw 0x6c14, HSTACK
	vmw 0x6c16, exit_handler
	; Guest state: the same flat ring-0 world, its own stack and code.
	mov eax, cr0
	vmw 0x6800, eax
	mov eax, cr3
	vmw 0x6802, eax
	mov eax, cr4
	vmw 0x6804, eax
%assign f 0
%rep 6
	vmw 0x0800 + f * 2, SEL_D32
	vmw 0x4800 + f * 2, 0xffffffff
	vmw 0x4814 + f * 2, 0xc093
	vmw 0x6806 + f * 2, 0
%assign f f + 1
%endrep
	vmw 0x0802, SEL_C32
	vmw 0x4816, 0xc09b
	vmw 0x080e, SEL_TSS0
	vmw 0x480e, 0x67
	vmw 0x4822, 0x8b
	vmw 0x6814, TSS0
	vmw 0x4820, 0x10000		; LDTR unusable
	vmw 0x6816, GDT
	vmw 0x4810, 0x7ff
	vmw 0x6818, IDT
	vmw 0x4812, 0x7ff
	vmw 0x681c, GSTACK
	vmw 0x681e, guest
	vmw 0x6820, 2
	; Guest interrupt handlers for the injected events.
	mov eax, 0x40
	mov ebx, irq40
	mov ecx, 0x8e00
	call set_gate
	mov eax, 0x41
	mov ebx, irq41
	call set_gate
	mov dword [V_EXPECT], expect_table
	mov dword [V_STEP], 0
	vmlaunch
	mov eax, 23			; VMLAUNCH failed
	jmp fail

; ---- the exits ----
; One row per exit: reason, qualification, length (-1: not checked), two
; (field, value) checks (field 0: none), and the action (0: skip the instruction).
%define NOCHK 0xffffffff
expect_table:
	dd 10, 0, 2, 0, 0, 0, 0, act_cpuid				; CPUID
	dd 30, 0x00800048, 2, 0, 0, 0, 0, 0				; IN AL, 80h
	dd 30, 0x7fff0009, 2, 0, 0, 0, 0, 0				; IN AX, DX (7FFF: A and B)
	dd 30, 0x90000000, 1, 0, 0, 0, 0, 0				; OUT DX, AL (9000)
	dd 30, 0x80000030, 2, 0x640a, GDATA, 0x440e, 0x18080, 0	; REP OUTSB (8000)
	dd 31, 0, 2, 0, 0, 0, 0, 0					; RDMSR 10h (read low)
	dd 32, 0, 2, 0, 0, 0, 0, 0					; WRMSR C0000081h (write high)
	dd 31, 0, 2, 0, 0, 0, 0, 0					; RDMSR 40000000h (outside)
	dd 28, 0x00000000, 3, 0, 0, 0, 0, 0				; MOV CR0, EAX (TS != shadow)
	dd 28, 0x00000020, 2, 0, 0, 0, 0, 0				; CLTS
	dd 46, GDATA, 7, 0x440e, 0x08418880, 0, 0, 0			; SGDT [GDATA]
	dd 0, 0, 1, 0x4404, 0x80000603, 0, 0, 0			; INT3
	dd 0, 0, NOCHK, 0x4404, 0x80000306, 0, 0, act_skip2		; UD2
	dd 18, 0, 3, 0, 0, 0, 0, 0					; VMCALL
	dd 12, 0, 1, 0, 0, 0, 0, act_inject_intr			; HLT
	dd 18, 0, 3, 0, 0, 0, 0, act_inject_gp			; VMCALL
	dd 18, 0, 3, 0, 0, 0, 0, act_inject_swint			; VMCALL
	dd 18, 0, 3, 0, 0, 0, 0, act_window				; VMCALL
	dd 7, 0, NOCHK, 0, 0, 0, 0, act_window_off			; interrupt window
	dd 18, 0, 3, 0, 0, 0, 0, act_enable				; VMCALL: more controls
	dd 29, 0x00000017, 3, 0, 0, 0, 0, 0				; MOV EAX, DR7
	dd 14, 0x00123000, 7, 0, 0, 0, 0, 0				; INVLPG [123000h]
	dd 15, 0, 2, 0, 0, 0, 0, 0					; RDPMC
	dd 40, 0, 2, 0, 0, 0, 0, 0					; PAUSE
	dd 54, 0, 2, 0, 0, 0, 0, 0					; WBINVD
	dd 13, 0, 2, 0, 0, 0, 0, 0					; INVD
	dd 28, 0x00000013, 3, 0, 0, 0, 0, 0				; MOV EAX, CR3 (store)
	dd 28, 0x00000303, 3, 0, 0, 0, 0, 0				; MOV CR3, EBX (not a target)
	dd 16, 0, 2, 0, 0, 0, 0, 0					; RDTSC
	dd 0, 0, NOCHK, 0x4404, 0x80000306, 0, 0, act_skip3		; RDTSCP: not enabled, #UD
	dd 28, 0x00000030, 3, 0, 0, 0, 0, 0				; LMSW AX (TS != shadow)
	dd 28, 0x00000004, 3, 0x6804, 0x2010, 0, 0, 0			; MOV CR4, EAX (VMXE != shadow)
	dd 0, 0x00500000, NOCHK, 0x4404, 0x80000b0e, 0x4406, 0, act_pf	; #PF, CR2 untouched
	dd 1, 0, NOCHK, 0x4404, 0x80000050, 0, 0, act_eoi		; the self IPI, acknowledged
	dd 0, 0, NOCHK, 0x4404, 0x80000202, 0, 0, act_hlt_inject	; the self NMI (NMI exiting)
	dd 0, 0x0050000c, 2, 0x4404, 0x80000b0e, 0x4408, 0x80000440, act_stack ; #PF in INT 40h
	dd 53, GDATA, 9, 0x440e, 0x08418080, 0, 0, 0			; INVVPID EAX, [GDATA]
	dd 18, 0, 3, 0, 0, 0, 0, act_inject_nostack			; VMCALL: no stack
	dd 0, 0x0050000c, NOCHK, 0x4404, 0x80000b0e, 0x4408, 0x80000040, act_stack ; injected
	dd 18, 0, 3, 0, 0, 0, 0, act_done				; VMCALL: the end
ROW	equ 32

exit_handler:
	pushad
	mov [V_FRAME], esp
	inc dword [V_STEP]
	mov esi, [V_EXPECT]
	mov eax, 0x4402
	vmread ebx, eax
	cmp ebx, [esi]
	jne .bad
	mov eax, 0x6400
	vmread ebx, eax
	cmp ebx, [esi + 4]
	jne .bad
	cmp dword [esi + 8], NOCHK
	je .len_ok
	mov eax, 0x440c
	vmread ebx, eax
	cmp ebx, [esi + 8]
	jne .bad
.len_ok:
	mov eax, [esi + 12]
	test eax, eax
	jz .f2
	vmread ebx, eax
	cmp ebx, [esi + 16]
	jne .bad
.f2:	mov eax, [esi + 20]
	test eax, eax
	jz .act
	vmread ebx, eax
	cmp ebx, [esi + 24]
	jne .bad
.act:	add dword [V_EXPECT], ROW
	mov eax, [esi + 28]
	test eax, eax
	jz .skip
	call eax
	jmp .resume
.skip:	call skip_insn
.resume:
	popad
	vmresume
	mov eax, 24
	jmp fail
.bad:	mov eax, [V_STEP]		; the failing exit: 60 + its number
	add eax, 60
	jmp fail

skip_insn:	; guest RIP += the exit's instruction length
	mov eax, 0x440c
	vmread ecx, eax
	jmp advance
act_skip3:
	mov ecx, 3
	jmp advance
act_skip2:
	mov ecx, 2
advance:
	mov eax, 0x681e
	vmread ebx, eax
	add ebx, ecx
	vmwrite eax, ebx
	ret

act_cpuid:	; the hypervisor's view of CPUID: EBX = 'gug' for any leaf
	mov eax, [V_FRAME]
	mov dword [eax + 16], 0x00677567
	jmp skip_insn
act_inject_intr:
	vmw 0x4016, 0x80000040		; external interrupt, vector 40h
	vmw 0x6820, 0x202		; which needs RFLAGS.IF (26.3.1.4)
	jmp skip_insn
act_inject_nostack:	; external interrupt 40h into a guest whose stack is not mapped
	vmw 0x4016, 0x80000040
	vmw 0x6820, 0x202
	jmp skip_insn
act_inject_gp:
	vmw 0x4016, 0x80000b0d		; #GP, hardware exception, error code
	vmw 0x4018, 0x1234
	jmp skip_insn
act_inject_swint:
	vmw 0x4016, 0x80000441		; INT 41h, software interrupt, 2 bytes
	vmw 0x401a, 2
	jmp skip_insn
act_window:
	vmr 0x4002
	or ebx, 1 << 2
	vmw 0x4002, ebx
	vmw 0x6820, 0x202
	jmp skip_insn
act_window_off:
	vmr 0x4002
	and ebx, ~(1 << 2)
	vmw 0x4002, ebx
	vmw 0x6820, 2
	ret
act_enable:	; MOV DR, INVLPG, RDPMC, PAUSE, WBINVD, CR3 load/store with one target,
		; RDTSC, #PF exiting, external-interrupt exiting with acknowledge on exit
	vmr 0x4002
	or ebx, (1 << 23) | (1 << 9) | (1 << 11) | (1 << 30) | (1 << 15) | (1 << 16) | (1 << 12)
	vmw 0x4002, ebx
	vmr 0x401e
	or ebx, 1 << 6
	vmw 0x401e, ebx
	mov esi, cr3
	vmw 0x400a, 1			; CR3-target count
	vmw 0x6008, esi			; CR3-target value 0: the current CR3
	vmr 0x4004
	or ebx, 1 << 14
	vmw 0x4004, ebx
	vmr 0x4000
	or ebx, 1 | (1 << 3)		; external-interrupt and NMI exiting
	vmw 0x4000, ebx
	vmr 0x400c
	or ebx, 1 << 15
	vmw 0x400c, ebx
	xor eax, eax
	mov cr2, eax
	mov dword [0xfee000f0], 0x1ff	; the local APIC on, for the self IPI
	jmp skip_insn
act_pf:
	mov eax, cr2			; a #PF that exits leaves CR2 alone (27.1)
	test eax, eax
	jz .ok
	mov eax, 58
	jmp fail
.ok:	mov ecx, 6			; MOV EBX, [disp32]
	jmp advance
act_eoi:
	mov dword [0xfee000b0], 0	; the vector was acknowledged: end it
	ret
act_hlt_inject:	; enter in activity state HLT with an interrupt to inject: it wakes
	vmw 0x4826, 1
	vmw 0x4016, 0x80000040
	vmw 0x6820, 0x202
	ret
act_stack:	; the guest's stack back; INT 40h runs again
	vmw 0x681c, GSTACK
	ret
act_done:
	add esp, 4 + 32			; drop the return address and the frame
	jmp after_guest

irq40:	inc dword [V_IRQ40]
	iretd
irq41:	inc dword [V_IRQ41]
	iretd

; ---- the guest ----
guest:
	xor eax, eax
	cpuid
	mov [G_EBX], ebx
	in al, 0x80
	in al, 0x81			; clear in bitmap A: no exit
	mov dx, 0x7fff
	in ax, dx
	mov dx, 0x9000
	out dx, al
	mov dx, 0x8000
	mov esi, GDATA
	mov ecx, 1
	rep outsb
	mov ecx, 0x10
	rdmsr
	mov ecx, 0x1b			; APIC base: clear in the bitmap
	rdmsr
	mov [G_APIC], eax
	mov ecx, 0xc0000082		; LSTAR: read high clear
	rdmsr
	mov ecx, 0xc0000081
	xor eax, eax
	xor edx, edx
	wrmsr
	mov ecx, 0x40000000
	rdmsr
	mov eax, cr0
	mov [G_CR0], eax		; TS from the read shadow
	mov cr0, eax			; TS equal to the shadow: no exit
	and eax, ~(1 << 3)
	mov ebx, eax
	xor eax, eax
	mov eax, ebx
	mov cr0, eax			; TS differs: exit
	clts
	mov eax, cr4
	mov [G_CR4], eax
	sgdt [GDATA]
	int3
	ud2
	rdtsc
	mov [G_TSCHI], edx
	vmcall
	hlt				; exits; the interrupt is injected on the way back
	vmcall				; then a #GP with an error code
	vmcall				; then INT 41h, which returns past the next two bytes
	jmp $
	vmcall				; arms the interrupt window
	vmcall				; more controls
	mov eax, dr7
	invlpg [0x123000]
	xor ecx, ecx
	rdpmc
	pause
	wbinvd
	invd
	mov eax, cr3			; exits: the host does not emulate it here
	mov eax, PD
	mov cr3, eax			; the target value: no exit
	mov ebx, eax
	or ebx, 0x18			; PWT, PCD: not a target
	mov cr3, ebx
	rdtsc
	rdtscp				; "enable RDTSCP" is clear: #UD (25.3)
	xor eax, eax
	lmsw ax
	mov eax, cr4			; VMXE reads as the shadow's 0
	mov cr4, eax			; equal to the shadow: no exit, VMXE stays set
	or eax, 1 << 13
	mov cr4, eax			; differs from the shadow: exit
	mov ebx, [0x500000]		; not mapped (8B 1D disp32: 6 bytes)
	mov dword [0xfee00300], 0x40050	; a self IPI with RFLAGS.IF clear
	mov dword [0xfee00310], 0
	mov dword [0xfee00300], 0x40400	; a self NMI
	mov esp, 0x500010		; a stack that is not mapped
	int 0x40			; #PF while delivering: IDT-vectoring information
	invvpid eax, [GDATA]		; exits (53) with its instruction information
	mov esp, 0x500010
	vmcall				; an interrupt is injected: #PF delivering it
	vmcall
	jmp $

after_guest:
	cmp dword [G_EBX], 0x00677567
	check 30, e
	test dword [G_CR0], 1 << 3
	check 31, nz
	mov eax, cr0
	test eax, 1 << 3		; the real TS was never set
	check 32, z
	test dword [G_CR4], 1 << 13
	check 33, z
	cmp dword [G_TSCHI], 1
	check 34, ae
	cmp dword [V_IRQ40], 3		; injected twice (into HLT the second time), INT 40h
	check 35, e
	cmp dword [V_IRQ41], 1
	check 36, e
	cmp dword [V_VEC], 13
	check 37, e
	cmp dword [V_ERR], 0x1234
	check 38, e
	mov ecx, 0x1b
	rdmsr
	cmp eax, [G_APIC]
	check 39, e
	; VMLAUNCH of a launched VMCS: VMfailValid 4.
	vmlaunch
	fail_valid 40, 4
	; A bad guest RFLAGS (bit 1 clear): VM-entry failure, reason 33 with bit 31.
	vmw 0x6c16, entry_failed
	vmw 0x6820, 0
	vmresume
	mov eax, 41
	jmp fail
entry_failed:
	vmr 0x4402
	cmp ebx, 0x80000021
	check 42, e
	vmw 0x6820, 2
	; A triple fault in the guest (#DE through an empty IDT: #GP, #DF, shutdown)
	; is a VM exit with reason 2 (SDM vol. 3C, 25.2), not a shutdown.
	vmw 0x4812, 0
	vmw 0x681e, tf_guest
	vmw 0x6c16, triple_faulted
	vmresume
	mov eax, 52
	jmp fail
triple_faulted:
	vmr 0x4402
	cmp ebx, 2
	check 53, e
	vmw 0x4812, 0x7ff
	; The MSR areas (26.4, 27.4, 27.6): entry loads the guest's SYSENTER_CS,
	; exit stores it, the host's comes from its field.
	mov dword [MSRAREA], 0x174
	mov dword [MSRAREA + 8], 0x1234
	mov dword [MSRAREA + 16], 0x174
	mov dword [MSRAREA + 24], 0
	vmw 0x4014, 1
	vmw 0x200a, MSRAREA
	vmw 0x400e, 1
	vmw 0x2006, MSRAREA + 16
	vmw 0x4c00, 0
	vmw 0x681e, vmcall_guest
	vmw 0x6c16, msr_exit
	vmresume
	mov eax, 54
	jmp fail
msr_exit:
	cmp dword [MSRAREA + 24], 0x1234
	check 55, e
	mov ecx, 0x174
	rdmsr
	test eax, eax
	check 56, z
	; An MSR the entry may not load: VM-entry failure 34, the entry's number.
	mov dword [MSRAREA], 0x40000000
	vmw 0x6c16, msr_failed
	vmresume
	mov eax, 57
	jmp fail
msr_failed:
	vmr 0x4402
	cmp ebx, 0x80000022
	check 58, e
	vmr 0x6400
	cmp ebx, 1
	check 59, e
	vmw 0x4014, 0
	vmw 0x400e, 0
	; Bad controls: VMfailValid 7; bad host state: VMfailValid 8.
	vmr 0x4000
	mov esi, ebx
	vmw 0x4000, 0
	vmresume
	fail_valid 43, 7
	vmw 0x4000, esi
	mov eax, cr0
	and eax, 0x7fffffff
	vmw 0x6c00, eax
	vmresume
	fail_valid 44, 8
	; VMCLEAR makes no VMCS current; VMRESUME is then VMfailInvalid.
	mov dword [V_PTR], VMCS_R
	vmclear [V_PTR]
	check 45, nbe
	vmptrst [V_PTR]
	cmp dword [V_PTR], 0xffffffff
	check 46, e
	vmresume
	fail_invalid 47
	; In VMX operation the fixed bits hold: clearing CR0.PG or CR4.VMXE is #GP.
	mov eax, cr0
	and eax, 0x7fffffff
	faulting mov cr0, eax
	expect 25, 13, 0
	mov eax, cr4
	and eax, ~(1 << 13)
	faulting mov cr4, eax
	expect 26, 13, 0
	vmxoff
	check 48, nbe
	faulting vmxoff
	expect 49, 6, 0xffffffff
	jmp long_phase

vmcall_guest:
	vmcall
	jmp $
	bits 16
smm_handler:
	mov byte [V_SMM], 1
	mov eax, cr0
	mov cr0, eax
	rsm
smm_handler_end:
	bits 32
tf_guest:
	xor ecx, ecx
	div ecx
	jmp $

; ---- a 64-bit host and an IA-32e mode guest ----
; Long mode with 2 MiB pages (PML4 40000h, PDPT 41000h, PD 42000h), VMXON
; again, a second VMCS with "host address-space size" and "IA-32e mode guest";
; the guest runs CPUID and VMCALL in 64-bit mode, MOV CR8 with CR8 exiting and
; then with the TPR shadow (VTPR read and written, TPR-below-threshold exit). No exception may happen here:
; the IDT holds 32-bit gates.
PML4	equ 0x40000
VMCS2	equ 0x22000
long_phase:
	mov eax, cr0
	and eax, 0x7fffffff
	mov cr0, eax			; outside VMX operation paging may go
	mov edi, PML4
	mov ecx, 0x3000 / 4
	xor eax, eax
	rep stosd
	mov dword [PML4], PML4 + 0x1003
	mov dword [PML4 + 0x1000], PML4 + 0x2003
	mov dword [PML4 + 0x2000], 0x83
	mov dword [PML4 + 0x2008], 0x200083
	mov eax, cr4
	or eax, 1 << 5			; PAE
	mov cr4, eax
	mov eax, PML4
	mov cr3, eax
	mov ecx, 0xc0000080
	rdmsr
	or eax, 1 << 8			; LME
	wrmsr
	mov eax, cr0
	or eax, 1 << 31
	mov cr0, eax
	jmp SEL_C64:lm64
	bits 64
lm64:
	mov rsp, KSTACK
	mov ecx, 0x480
	rdmsr
	mov [VMCS2], eax
	mov qword [V_PTR], VMXON_R
	vmxon [V_PTR]
	jbe .f70
	mov qword [V_PTR], VMCS2
	vmclear [V_PTR]
	jbe .f70
	vmptrld [V_PTR]
	jbe .f70
%macro vmw64 2
	mov rbx, %2
	mov rax, %1
	vmwrite rax, rbx
	jbe lm_fail
%endmacro
%macro ctl64 3 ; msr, desired bits, field
	mov ecx, %1
	rdmsr
	or eax, %2
	and eax, edx
	mov ebx, eax
	mov eax, %3
	vmwrite rax, rbx
	jbe lm_fail
%endmacro
	ctl64 0x48d, 0, 0x4000
	ctl64 0x48e, (1 << 19) | (1 << 20), 0x4002	; CR8 load and store exiting
	ctl64 0x48f, 1 << 9, 0x400c	; host address-space size
	ctl64 0x490, 1 << 9, 0x4012	; IA-32e mode guest
	mov rdx, cr0
	vmw64 0x6c00, rdx
	vmw64 0x6800, rdx
	mov rdx, cr3
	vmw64 0x6c02, rdx
	vmw64 0x6802, rdx
	mov rdx, cr4
	vmw64 0x6c04, rdx
	vmw64 0x6804, rdx
	vmw64 0x0c02, SEL_C64
	vmw64 0x0c04, SEL_D32
	vmw64 0x0c06, SEL_D32
	vmw64 0x0c00, SEL_D32
	vmw64 0x0c0c, SEL_TSS0
	vmw64 0x6c0a, TSS0
	vmw64 0x6c0c, GDT
	vmw64 0x6c0e, IDT
	vmw64 0x6c14, HSTACK
	vmw64 0x6c16, exit64
%assign f 0
%rep 6
	vmw64 0x0800 + f * 2, SEL_D32
	vmw64 0x4800 + f * 2, 0xffffffff
	vmw64 0x4814 + f * 2, 0xc093
%assign f f + 1
%endrep
	vmw64 0x0802, SEL_C64
	vmw64 0x4816, 0xa09b		; L, not D/B
	vmw64 0x080e, SEL_TSS0
	vmw64 0x480e, 0x67
	vmw64 0x4822, 0x8b
	vmw64 0x6814, TSS0
	vmw64 0x4820, 0x10000
	vmw64 0x6816, GDT
	vmw64 0x4810, 0x7ff
	vmw64 0x6818, IDT
	vmw64 0x4812, 0x7ff
	vmw64 0x681c, GSTACK
	vmw64 0x681e, guest64
	vmw64 0x6820, 2
	vmw64 0x2800, -1
	mov dword [V_STEP], 0
	mov dword [V_EXPECT], expect64
	vmlaunch
.f70:	mov eax, 70
	jmp lm_fail_n
exit64:
	; the exits in order: reason, qualification, length, information (-1: any)
	mov esi, [V_EXPECT]
	inc dword [V_STEP]
	mov eax, 0x4402
	vmread rbx, rax
	cmp ebx, [rsi]
	jne .f71
	mov eax, 0x6400
	vmread rbx, rax
	cmp ebx, [rsi + 4]
	jne .f71
	mov eax, 0x440c
	vmread rbx, rax
	cmp ebx, [rsi + 8]
	jne .f71
	cmp dword [rsi + 12], -1
	je .info_ok
	cmp dword [rsi + 12], -2	; the VMCALL that turns the TPR shadow on
	je .info_ok
	mov eax, 0x440e
	vmread rbx, rax
	cmp ebx, [rsi + 12]
	jne .f71
.info_ok:
	mov eax, 0x4012			; "IA-32e mode guest" stored from EFER.LMA
	vmread rbx, rax
	test ebx, 1 << 9
	jz .f72
	add dword [V_EXPECT], 16
	cmp dword [rsi + 12], -2
	jne .not_tpr
	; "Use TPR shadow" instead of CR8 exiting: VTPR 20h in the virtual-APIC
	; page, TPR threshold 2 (not above VTPR[7:4], 26.2.1.1).
	mov dword [VAPIC + 0x80], 0x20
	mov eax, 0x4002
	vmread rbx, rax
	and ebx, ~((1 << 19) | (1 << 20))
	or ebx, 1 << 21
	vmwrite rax, rbx
	jbe lm_fail
	vmw64 0x2012, VAPIC
	vmw64 0x401c, 2
	jmp .advance
.not_tpr:
	cmp dword [rsi], 43		; TPR below threshold: the threshold must come
	jne .not_43			; down to VTPR[7:4] for the next entry (26.2.1.1)
	vmw64 0x401c, 1
.not_43:
	cmp dword [rsi], 18		; VMCALL: the end
	je .second
.advance:
	mov eax, 0x681e
	vmread rbx, rax
	mov ecx, [rsi + 8]
	add rbx, rcx
	vmwrite rax, rbx
	vmresume
	mov eax, 74
	jmp lm_fail_n
.second:
	mov ecx, 0xc0000080		; the host is back in long mode
	rdmsr
	test eax, 1 << 10
	jz .f76
	cmp qword [GDATA + 0x10], 2	; MOV RAX, CR8 read VTPR[7:4]
	jne .f79
	cmp dword [VAPIC + 0x80], 0x10	; the last MOV CR8 wrote VTPR, then exited
	jne .f79
%ifdef ABORT
	mov dword [MSRAREA + 0x100], 0xc0000100	; IA32_FS_BASE: not in a load area
	mov dword [MSRAREA + 0x104], 0
	mov dword [MSRAREA + 0x108], 0
	mov dword [MSRAREA + 0x10c], 0
	vmw64 0x2008, MSRAREA + 0x100	; VM-exit MSR-load address
	vmw64 0x4010, 1			; VM-exit MSR-load count
	vmw64 0x681e, guest64		; again from its CPUID
	mov dword [V_ABORT], 'ABRT'
	vmresume
	mov eax, 94			; the abort never returns here
	jmp lm_fail_n
%endif
	vmxoff
	jbe .f77
	jmp lm_pass
.f71:	mov eax, [V_STEP]		; the failing exit: 70 + its number
	add eax, 70
	jmp lm_fail_n
.f72:	mov eax, 72
	jmp lm_fail_n
.f76:	mov eax, 76
	jmp lm_fail_n
.f77:	mov eax, 77
	jmp lm_fail_n
.f79:	mov eax, 79
	jmp lm_fail_n
lm_fail:
	mov eax, 78
lm_fail_n:				; the message and status of report.mac, without AAM
	mov ebx, eax
	mov esi, fail_msg
.msg:	lodsb
	test al, al
	jz .num
	out 0xe9, al
	jmp .msg
.num:	mov eax, ebx
	xor edx, edx
	mov ecx, 10
	div ecx
	add al, '0'
	out 0xe9, al
	lea eax, [rdx + '0']
	out 0xe9, al
	mov al, 10
	out 0xe9, al
	mov eax, ebx
	out 0xf4, al
	hlt
lm_pass:
	mov esi, pass_msg
.puts:	lodsb
	test al, al
	jz .done
	out 0xe9, al
	jmp .puts
.done:	mov al, 0
	out 0xf4, al
	hlt
expect64:
	dd 10, 0, 2, -1				; CPUID
	dd 28, 0x18, 4, -1			; MOV RAX, CR8 (CR8-store exiting)
	dd 28, 0x308, 4, -1			; MOV CR8, RBX (CR8-load exiting)
	dd 22, 0x31000, 8, 0x08418100		; VMPTRST [31000h] in non-root
	dd 23, 0, 3, 0x30000400			; VMREAD RAX, RBX in non-root
	dd 18, 0, 3, -2				; VMCALL: TPR shadow on
	dd 43, 0, 0, -1				; MOV CR8 below the threshold (a trap)
	dd 18, 0, 3, -1				; VMCALL
guest64:
	xor eax, eax
	cpuid
	mov rax, cr8
	mov cr8, rbx
	vmptrst [0x31000]
	vmread rax, rbx
	vmcall
	mov rax, cr8			; the TPR shadow: no exit, VTPR[7:4]
	mov [GDATA + 0x10], rax
	mov ebx, 3
	mov cr8, rbx			; VTPR 30h: no exit
	mov ebx, 1
	mov cr8, rbx			; below the threshold: exit 43 after it
	vmcall
	jmp $
	bits 32

; ---- a model without VMX ----
novmx:
	mov eax, cr4
	or eax, 1 << 13
	faulting mov cr4, eax
	expect 80, 13, 0
	mov ecx, 0x3a			; no IA32_FEATURE_CONTROL either
	faulting rdmsr
	expect 81, 13, 0
	mov ecx, 0x480
	faulting rdmsr
	expect 82, 13, 0
	mov dword [V_PTR], VMXON_R
	faulting vmxon [V_PTR]
	expect 83, 6, 0xffffffff
	faulting vmxoff
	expect 84, 6, 0xffffffff
	faulting vmclear [V_PTR]
	expect 85, 6, 0xffffffff
	faulting vmptrld [V_PTR]
	expect 86, 6, 0xffffffff
	faulting vmptrst [V_PTR]
	expect 87, 6, 0xffffffff
	faulting vmread eax, ebx
	expect 88, 6, 0xffffffff
	faulting vmwrite eax, ebx
	expect 89, 6, 0xffffffff
	faulting vmlaunch
	expect 90, 6, 0xffffffff
	faulting vmresume
	expect 91, 6, 0xffffffff
	faulting vmcall
	expect 92, 6, 0xffffffff
	jmp pass

%include "pm_end.inc"
