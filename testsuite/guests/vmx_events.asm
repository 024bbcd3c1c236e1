; fugu guest test: VMX event features in a mini hypervisor (run with
; -clock deterministic: the timing checks are exact to the instruction).
; SDM vol. 3C:
;   25.5.1 the VMX-preemption timer: counts down by 1 each time TSC bit X
;          (IA32_VMX_MISC[4:0]) changes; exit reason 52 at zero; 26.7.4 a value
;          of 0 exits before the first guest instruction; 25.2 it wakes the
;          guest from HLT and is not blocked by STI/MOV SS blocking; 27.3.1 the
;          "save VMX-preemption timer value" exit control; 26.2.1.2 that control
;          needs "activate VMX-preemption timer".
;   25.5.2 the monitor trap flag: exit reason 37 after each guest instruction,
;          after the delivery of an injected event or of a fault, after HLT
;          (activity state HLT saved), and before any instruction when VM entry
;          injects a pending MTF VM exit (type 7, vector 0) even with the
;          control clear; it comes before a preemption-timer exit (25.2).
;   25.1.3 PAUSE-loop exiting: PAUSEs at CPL 0 at most PLE_Gap TSC ticks apart
;          form a loop; the first more than PLE_Window after the loop's first
;          exits (reason 40); a gap longer than PLE_Gap starts a new loop.
;   25.3   virtual NMIs: blocking by NMI is virtual, set by an injected NMI and
;          removed by IRET; 25.2 NMI-window exiting (reason 8) once it is
;          removed, also from HLT; 27.2.2 "NMI unblocking due to IRET" (bit 12)
;          for a fault on IRET that exits; 26.3.1.5 no NMI injection under
;          virtual-NMI blocking; 26.2.1.1 NMI window only with virtual NMIs.
;   24.10, 25.1.3, 30.3 VMCS shadowing: VMREAD/VMWRITE in the guest access
;          the shadow VMCS (the link pointer) when their bitmap bit is clear,
;          exit when set; VMfailValid of a shadow access goes to the current
;          VMCS; VMPTRLD takes a shadow VMCS (revision bit 31), VMLAUNCH with
;          it is VMfailInvalid; 26.3.1.5 the link pointer's revision must
;          match the control; 26.2.1.1 the bitmap addresses.
;   29.5   virtualize x2APIC mode (with the TPR shadow): RDMSR/WRMSR 808H read
;          and write the virtual-APIC page (offset 80H) even with the real
;          APIC in xAPIC mode; reserved bits #GP; 29.1.2 a write below the TPR
;          threshold is a trap-like exit 43; 26.2.1.1 it needs the TPR shadow.
;   26.6.2 the shutdown activity state (IA32_VMX_MISC bit 7): it blocks
;          external interrupts even with external-interrupt exiting, and MTF
;          exits (27.1); the preemption timer ends it (exit 52, activity state
;          shutdown saved); an injected NMI makes the entry vectoring and the
;          guest active; a pending NMI exits from it (NMI exiting); 26.3.1.5
;          only an NMI or a #MC may be injected into it.
;   25.5.2 MTF above a debug trap: after an instruction run with RFLAGS.TF,
;          the MTF exit comes first and the single step is saved in the
;          pending debug exceptions field (BS, 27.3.4); 26.6.3 the next VM
;          entry delivers it (here an exit by the exception bitmap, qualification
;          BS) before any instruction.
; Host and guest run flat 32-bit with paging (4 MiB identity pages).
; A guest records the TSC of its first instruction in EDI:ESI (VM entry is one
; instruction earlier: deterministic time is one nanosecond per instruction);
; the host's first instruction after an exit reads the TSC of the exit.
%define TEST "vmx_events"
	org 0xf0000
%include "pm.inc"
%include "vmx.inc"

PD	equ 0x10000
VMXON_R	equ 0x20000
VMCS_R	equ 0x21000
GSTACK	equ 0x30000
LAUNCHED equ 0x3000
T1	equ 0x3008		; the TSC at the exit (the host's first instruction)
PIN0	equ 0x3010		; allowed-0 settings of the controls
EXIT0	equ 0x3014
X_SHIFT	equ 0x3018		; IA32_VMX_MISC[4:0]
PROC0	equ 0x301c
STEP	equ 0x3020		; MTF exits seen while stepping
GCOUNT	equ 0x3024		; the stepped guest's counter
GIDT	equ 0x4000		; the guest's own IDT: gates 6 and 40h
RBITMAP	equ 0x22000		; VMREAD bitmap
WBITMAP	equ 0x23000		; VMWRITE bitmap
SHADOW	equ 0x24000		; a shadow VMCS
SAVED	equ 0x3028		; the guest's ESI and EDX at the exit
VAPIC	equ 0x25000		; virtual-APIC page
MSRBM	equ 0x26000		; MSR bitmap: nothing exits

; enter the guest at %1 with the host resuming at %2
%macro enter 2
	vmw 0x681e, %1
	vmw 0x6c16, %2
	cmp byte [LAUNCHED], 0
	jne %%res
	mov byte [LAUNCHED], 1
	vmlaunch
	jmp %%bad
%%res:	vmresume
%%bad:	mov eax, 45
	jmp fail
%endmacro
; the host's first instructions after an exit: the TSC into T1
%macro exit_tsc 0
	rdtsc
	mov [T1], eax
	mov [T1 + 4], edx
%endmacro
; ebx = timer ticks from VM entry (guest TSC EDI:ESI minus one) to T1 - %1
%macro ticks 1
	mov eax, esi
	mov edx, edi
	sub eax, 1
	sbb edx, 0
	mov cl, [X_SHIFT]
	shrd eax, edx, cl
	push eax
	mov ebx, [T1]
	mov edx, [T1 + 4]
	sub ebx, %1
	sbb edx, 0
	shrd ebx, edx, cl
	pop eax
	sub ebx, eax
%endmacro

main:
	mov byte [LAUNCHED], 0
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
	; The capabilities: timer rate X = 5, the two controls allowed (A.3, A.4, A.6).
	mov ecx, 0x485
	rdmsr
	and eax, 31
	mov [X_SHIFT], eax
	cmp eax, 5
	check 1, e
	mov ecx, 0x48d
	rdmsr
	mov [PIN0], eax
	test edx, 1 << 6
	check 2, nz
	mov ecx, 0x48f
	rdmsr
	mov [EXIT0], eax
	test edx, 1 << 22
	check 3, nz

	vmx_on
	vmw 0x4000, [PIN0]
	mov ecx, 0x48e
	rdmsr
	mov [PROC0], eax
	test edx, 1 << 27		; MTF allowed
	check 24, nz
	vmw 0x4002, eax
	vmw 0x400c, [EXIT0]
	mov ecx, 0x490
	rdmsr
	vmw 0x4012, eax
	host_state KSTACK
	guest_flat32 GSTACK

	; 26.2.1.2: "save VMX-preemption timer value" without the timer: VMfailValid 7.
	mov eax, [EXIT0]
	or eax, 1 << 22
	vmw 0x400c, eax
	vmw 0x681e, g_nop
	vmw 0x6c16, fail
	vmlaunch
	check 4, z
	vmr 0x4400
	cmp ebx, 7
	check 5, e

	; The timer on, saved at exit.
	mov eax, [PIN0]
	or eax, 1 << 6
	vmw 0x4000, eax
	; 26.7.4: value 0 exits before the first instruction, after STI blocking
	; had to be kept (25.2: no blocking of the timer).
	vmw 0x482e, 0
	vmw 0x6820, 0x202		; IF set: STI blocking allowed (26.3.1.5)
	vmw 0x4824, 1			; blocking by STI
	enter g_nop, h_zero
h_zero:
	vmr 0x4402
	cmp ebx, 52
	check 6, e
	vmr 0x681e
	cmp ebx, g_nop
	check 7, e
	vmr 0x4824
	cmp ebx, 1
	check 8, e
	vmr 0x482e
	test ebx, ebx
	check 9, z

	; 25.5.1: 100 ticks, running: the exit comes at the first boundary at
	; which TSC bit 5 has changed 100 times since VM entry.
	vmw 0x4824, 0
	vmw 0x6820, 2
	vmw 0x482e, 100
	enter g_count, h_count
h_count:
	exit_tsc
	vmr 0x4402
	cmp ebx, 52
	check 10, e
	ticks 0
	cmp ebx, 100
	check 11, e
	ticks 1			; one instruction earlier it had not expired
	cmp ebx, 99
	check 12, e
	vmr 0x482e
	test ebx, ebx
	check 13, z

	; 25.2: the timer wakes a guest from HLT (IF clear, no HLT exiting) with
	; the exit, which saves activity state HLT; again exactly on time.
	vmw 0x482e, 50
	enter g_hlt, h_hlt
h_hlt:
	exit_tsc
	vmr 0x4402
	cmp ebx, 52
	check 14, e
	vmr 0x4826
	cmp ebx, 1
	check 15, e
	vmr 0x681e
	cmp ebx, g_hlt.after
	check 16, e
	ticks 0
	cmp ebx, 50
	check 17, e
	ticks 1
	cmp ebx, 49
	check 18, e
	vmw 0x4826, 0			; active again

	; 27.3.1: without the save control the field keeps the value VM entry loaded.
	vmw 0x400c, [EXIT0]
	vmw 0x482e, 0x12345
	enter g_cpuid, h_nosave
h_nosave:
	vmr 0x4402
	cmp ebx, 10
	check 19, e
	vmr 0x482e
	cmp ebx, 0x12345
	check 20, e

	; With it, another exit (CPUID) saves what is left: 0x12345 minus the ticks.
	mov eax, [EXIT0]
	or eax, 1 << 22
	vmw 0x400c, eax
	enter g_cpuid, h_save
h_save:
	exit_tsc
	vmr 0x4402
	cmp ebx, 10
	check 21, e
	ticks 0
	mov ecx, 0x12345
	sub ecx, ebx
	vmr 0x482e
	cmp ebx, ecx
	check 22, e
	cmp ebx, 0x12345
	check 23, b

	; ---- the monitor trap flag ----
	vmw 0x4000, [PIN0]		; the timer off
	vmw 0x400c, [EXIT0]
	; The guest's IDT: #UD (6) and vector 40h, 32-bit interrupt gates.
	mov edi, GIDT
	mov ecx, 0x800 / 4
	xor eax, eax
	rep stosd
	mov eax, g_ud
	mov [GIDT + 6 * 8], ax
	mov word [GIDT + 6 * 8 + 2], SEL_C32
	mov word [GIDT + 6 * 8 + 4], 0x8e00
	shr eax, 16
	mov [GIDT + 6 * 8 + 6], ax
	mov eax, g_int40
	mov [GIDT + 0x40 * 8], ax
	mov word [GIDT + 0x40 * 8 + 2], SEL_C32
	mov word [GIDT + 0x40 * 8 + 4], 0x8e00
	shr eax, 16
	mov [GIDT + 0x40 * 8 + 6], ax
	vmw 0x6818, GIDT

	; Stepping: an exit after each of the guest's instructions, at the next one.
	mov eax, [PROC0]
	or eax, 1 << 27
	vmw 0x4002, eax
	mov dword [STEP], 0
	mov dword [GCOUNT], 0
	enter g_step, h_step
h_step:
	vmr 0x4402
	mov ecx, [STEP]
	cmp ecx, 6
	je .cpuid
	cmp ebx, 37
	check 25, e
	vmr 0x6400			; qualification 0
	test ebx, ebx
	check 26, z
	vmr 0x681e
	mov ecx, [STEP]
	cmp ebx, [step_rips + ecx * 4]
	check 27, e
	inc dword [STEP]
	vmresume
	mov eax, 46
	jmp fail
.cpuid:	cmp ebx, 10			; the CPUID exits instead: no MTF exit for it
	check 28, e
	cmp dword [GCOUNT], 3
	check 29, e

	; Injection of an external interrupt (vector 40h): the exit comes on the
	; boundary after its delivery, at the handler's first instruction.
	vmw 0x681c, GSTACK
	vmw 0x6820, 0x202
	vmw 0x4016, 0x80000040
	enter g_nop, h_inject
h_inject:
	vmr 0x4402
	cmp ebx, 37
	check 30, e
	vmr 0x681e
	cmp ebx, g_int40
	check 31, e
	vmr 0x681c			; EFLAGS, CS, EIP pushed
	cmp ebx, GSTACK - 12
	check 32, e
	vmr 0x4408			; nothing was being delivered at the exit
	test ebx, ebx
	check 33, z

	; A fault (#UD) delivered in the guest: the exit at its handler.
	vmw 0x681c, GSTACK
	vmw 0x6820, 2
	enter g_ud2, h_fault
h_fault:
	vmr 0x4402
	cmp ebx, 37
	check 34, e
	vmr 0x681e
	cmp ebx, g_ud
	check 35, e

	; HLT: the exit after it, with activity state HLT.
	vmw 0x681c, GSTACK
	enter g_hlt1, h_mtf_hlt
h_mtf_hlt:
	vmr 0x4402
	cmp ebx, 37
	check 36, e
	vmr 0x4826
	cmp ebx, 1
	check 37, e
	vmr 0x681e
	cmp ebx, g_hlt1.after
	check 38, e
	vmw 0x4826, 0

	; A pending MTF VM exit injected (type 7, vector 0) with the control clear:
	; the exit before any instruction, ahead of an expired preemption timer.
	vmw 0x4002, [PROC0]
	mov eax, [PIN0]
	or eax, 1 << 6
	vmw 0x4000, eax
	vmw 0x482e, 0
	vmw 0x4016, 0x80000700
	enter g_nop, h_pending
h_pending:
	vmr 0x4402
	cmp ebx, 37
	check 39, e
	vmr 0x681e
	cmp ebx, g_nop
	check 52, e
	; Then the timer (value 0 again): exit 52, still before any instruction.
	enter g_nop, h_after
h_after:
	vmr 0x4402
	cmp ebx, 52
	check 53, e
	vmr 0x681e
	cmp ebx, g_nop
	check 54, e

	; ---- PAUSE-loop exiting: gap 128, window 4096 ----
	vmw 0x4000, [PIN0]
	mov eax, [PROC0]
	or eax, 1 << 31
	vmw 0x4002, eax
	mov ecx, 0x48b
	rdmsr
	test edx, 1 << 10
	check 55, nz
	vmw 0x401e, 1 << 10
	vmw 0x4020, 128
	vmw 0x4022, 4096
	; PAUSE every 2 instructions: exits at the first one more than 4096 after
	; the first, the 2050th: 3 + 2 * 2049 instructions after the guest's RDTSC.
	enter g_pause, h_ple
h_ple:
	exit_tsc
	vmr 0x4402
	cmp ebx, 40
	check 56, e
	vmr 0x681e
	cmp ebx, g_pause.p
	check 57, e
	vmr 0x440c			; instruction length: F3 90
	cmp ebx, 2
	check 58, e
	mov eax, [T1]
	sub eax, esi
	cmp eax, 3 + 2 * 2049
	check 59, e
	; PAUSEs more than 128 apart: each starts a new loop, none exits; the
	; guest ends with CPUID (exit 10) after 40 of them (over 8000 ticks).
	enter g_pause_gap, h_gap
h_gap:
	vmr 0x4402
	cmp ebx, 10
	check 60, e

	; ---- virtual NMIs and the NMI window ----
	vmw 0x4002, [PROC0]
	; 26.2.1.1: the NMI window without virtual NMIs: VMfailValid 7.
	mov eax, [PROC0]
	or eax, 1 << 22
	vmw 0x4002, eax
	vmw 0x6c16, fail
	vmresume
	check 61, z
	vmr 0x4400
	cmp ebx, 7
	check 62, e
	mov ecx, 0x48d			; both allowed
	rdmsr
	test edx, 1 << 5
	check 63, nz
	mov ecx, 0x48e
	rdmsr
	test edx, 1 << 22
	check 64, nz
	mov eax, [PIN0]
	or eax, (1 << 3) | (1 << 5)	; NMI exiting, virtual NMIs
	vmw 0x4000, eax
	mov eax, GIDT			; gate 2 (NMI): g_nmi
	mov ecx, g_nmi
	mov [eax + 2 * 8], cx
	mov word [eax + 2 * 8 + 2], SEL_C32
	mov word [eax + 2 * 8 + 4], 0x8e00
	shr ecx, 16
	mov [eax + 2 * 8 + 6], cx
	; Virtual-NMI blocking at entry: the window stays shut until the guest's
	; IRET removes it; the exit comes on the next boundary.
	vmw 0x681c, GSTACK
	vmw 0x6820, 2
	vmw 0x4824, 8
	enter g_iret, h_window
h_window:
	vmr 0x4402
	cmp ebx, 8
	check 65, e
	vmr 0x681e
	cmp ebx, g_iret.after
	check 66, e
	vmr 0x4824
	test ebx, ebx
	check 67, z
	; An injected NMI sets virtual-NMI blocking; its handler's IRET removes
	; it: the window exit at the interrupted instruction.
	vmw 0x681c, GSTACK
	vmw 0x4016, 0x80000202
	enter g_nop, h_vnmi
h_vnmi:
	vmr 0x4402
	cmp ebx, 8
	check 68, e
	vmr 0x681e
	cmp ebx, g_nop
	check 69, e
	vmr 0x681c
	cmp ebx, GSTACK
	check 70, e
	; 26.3.1.5: no NMI injection under virtual-NMI blocking: entry failure.
	vmw 0x4824, 8
	vmw 0x4016, 0x80000202
	enter g_nop, h_badnmi
h_badnmi:
	vmr 0x4402
	cmp ebx, 0x80000021
	check 71, e
	vmw 0x4016, 0
	; The window wakes a guest that VM entry put into HLT.
	vmw 0x4824, 0
	vmw 0x4826, 1
	enter g_nop, h_whlt
h_whlt:
	vmr 0x4402
	cmp ebx, 8
	check 72, e
	vmr 0x4826
	cmp ebx, 1
	check 73, e
	vmw 0x4826, 0
	; A #GP on IRET (a null CS in its frame) that exits by the exception
	; bitmap: bit 12 set, virtual-NMI blocking saved as removed.
	vmw 0x4002, [PROC0]
	vmw 0x4004, 1 << 13
	vmw 0x681c, GSTACK
	vmw 0x4824, 8
	enter g_badiret, h_badiret
h_badiret:
	vmr 0x4402
	test ebx, ebx
	check 74, z
	vmr 0x4404
	cmp ebx, 0x80001b0d		; valid, bit 12, error code, hardware exception, #GP
	check 75, e
	vmr 0x4824
	test ebx, ebx
	check 76, z
	vmr 0x681e
	cmp ebx, g_badiret.iret
	check 77, e
	vmw 0x4004, 0

	; ---- VMCS shadowing ----
	mov ecx, 0x48b
	rdmsr
	test edx, 1 << 14
	check 78, nz
	mov edi, RBITMAP		; bitmaps and the shadow region cleared
	mov ecx, 0x3000 / 4
	xor eax, eax
	rep stosd
	or byte [RBITMAP + 0x4402 / 8], 1 << (0x4402 & 7)	; VMREAD of the exit reason exits
	mov ecx, 0x480
	rdmsr
	or eax, 1 << 31
	mov [SHADOW], eax
	; VMPTRLD takes the shadow VMCS; VMLAUNCH with it is VMfailInvalid (30.3).
	mov dword [V_PTR], SHADOW
	vmptrld [V_PTR]
	check 79, nbe
	vmlaunch
	check 80, c
	vmw 0x681e, 0x1234		; a value for the guest to find
	vmclear [V_PTR]
	check 81, nbe
	mov dword [V_PTR], VMCS_R
	vmptrld [V_PTR]
	check 82, nbe
	vmw 0x4000, [PIN0]
	mov eax, [PROC0]
	or eax, 1 << 31
	vmw 0x4002, eax
	vmw 0x401e, 1 << 14
	; 26.2.1.1: bitmap addresses 4 KiB aligned: VMfailValid 7.
	vmw 0x2026, RBITMAP + 8
	vmw 0x2028, WBITMAP
	vmw 0x6c16, fail
	vmresume
	check 83, z
	vmr 0x4400
	cmp ebx, 7
	check 84, e
	vmw 0x2026, RBITMAP
	; 26.3.1.5: with shadowing the link pointer's region must be a shadow VMCS.
	vmw 0x2800, VMXON_R		; the revision without bit 31: not a shadow VMCS
	vmw 0x2801, 0
	enter g_nop, h_badlink
h_badlink:
	vmr 0x4402
	cmp ebx, 0x80000021
	check 85, e
	vmr 0x6400
	cmp ebx, 4
	check 86, e
	vmw 0x2800, SHADOW
	vmw 0x681c, GSTACK
	enter g_shadow, h_shadow
h_shadow:
	mov [SAVED], esi
	mov [SAVED + 4], edx
	vmr 0x4402			; the VMREAD whose bitmap bit is set
	cmp ebx, 23
	check 87, e
	vmr 0x681e
	cmp ebx, g_shadow.exit
	check 88, e
	cmp dword [SAVED], 0x1234	; the shadow VMCS's guest RIP
	check 89, e
	cmp byte [SAVED + 4], 0		; VMWRITE to the shadow succeeded
	check 90, e
	cmp byte [SAVED + 5], 1		; VMWRITE to a read-only field: VMfailValid
	check 91, e
	vmr 0x4400			; ... its number in the current VMCS
	cmp ebx, 13
	check 92, e
	mov dword [V_PTR], SHADOW	; the write reached the shadow VMCS
	vmptrld [V_PTR]
	check 93, nbe
	vmr 0x4826
	cmp ebx, 0x55
	check 94, e
	vmr 0x681e			; and its RIP was not touched by the exit
	cmp ebx, 0x1234
	check 95, e
	mov dword [V_PTR], VMCS_R
	vmptrld [V_PTR]
	check 96, nbe

	; ---- virtualize x2APIC mode ----
	mov ecx, 0x48b
	rdmsr
	test edx, 1 << 4
	check 97, nz
	mov edi, VAPIC
	mov ecx, 0x2000 / 4
	xor eax, eax
	rep stosd
	mov dword [VAPIC + 0x80], 0x50	; VTPR
	vmw 0x2800, -1
	vmw 0x2801, -1
	vmw 0x401e, 1 << 4
	; 26.2.1.1: without the TPR shadow: VMfailValid 7.
	vmw 0x6c16, fail
	vmresume
	check 98, z
	vmr 0x4400
	cmp ebx, 7
	check 99, e
	mov eax, [PROC0]
	or eax, (1 << 31) | (1 << 21) | (1 << 28)	; secondary, TPR shadow, MSR bitmaps
	vmw 0x4002, eax
	vmw 0x2012, VAPIC
	vmw 0x2004, MSRBM
	vmw 0x401c, 3			; TPR threshold
	vmw 0x681c, GSTACK
	enter g_x2apic, h_x2apic
h_x2apic:
	mov [SAVED], esi
	vmr 0x4402
	cmp ebx, 43
	check 43, e
	vmr 0x681e			; trap-like: after the WRMSR
	cmp ebx, g_x2apic.after
	check 44, e
	cmp dword [SAVED], 0x50		; RDMSR read VTPR
	check 47, e
	cmp dword [VAPIC + 0x80], 0x20	; the last WRMSR's value
	check 48, e
	; Bits 63:8 set: #GP (exits by the exception bitmap). The threshold may
	; not be above VTPR[7:4] = 2 now (26.2.1.1).
	vmw 0x401c, 0
	vmw 0x4004, 1 << 13
	enter g_x2apic_gp, h_x2apic_gp
h_x2apic_gp:
	vmr 0x4402
	test ebx, ebx
	check 49, z
	vmr 0x4404
	and ebx, 0xff
	cmp ebx, 13
	check 49, e
	cmp dword [VAPIC + 0x80], 0x20	; unchanged
	check 48, e

	; ---- the shutdown activity state ----
	mov ecx, 0x485
	rdmsr
	test eax, 1 << 7
	check 100, nz
	vmw 0x401e, 0
	vmw 0x4004, 0
	mov eax, [PROC0]
	or eax, 1 << 27			; MTF: blocked in shutdown
	vmw 0x4002, eax
	mov eax, [PIN0]
	or eax, 1 | (1 << 3) | (1 << 6)	; external-interrupt and NMI exiting, timer
	vmw 0x4000, eax
	mov eax, [EXIT0]
	or eax, 1 << 15			; acknowledge interrupt on exit
	vmw 0x400c, eax
	vmw 0x4824, 0
	vmw 0x681c, GSTACK
	vmw 0x6820, 2
	; An external interrupt pending at entry (a self IPI with RFLAGS.IF clear).
	mov dword [0xfee000f0], 0x1ff
	mov dword [0xfee00310], 0
	mov dword [0xfee00300], 0x40050
	vmw 0x482e, 20
	vmw 0x4826, 2
	enter g_nop, h_down
h_down:
	vmr 0x4402			; neither the interrupt nor MTF: the timer
	cmp ebx, 52
	check 101, e
	vmr 0x4826
	cmp ebx, 2
	check 102, e
	vmr 0x681e
	cmp ebx, g_nop
	check 103, e
	; The same interrupt exits at once from the active state (26.6.2 only
	; blocked it): reason 1, acknowledged (vector 50h).
	vmw 0x4826, 0
	vmw 0x482e, 100000
	enter g_nop, h_down_intr
h_down_intr:
	vmr 0x4402
	cmp ebx, 1
	check 104, e
	vmr 0x4404
	cmp ebx, 0x80000050
	check 104, e
	mov dword [0xfee000b0], 0	; EOI
	; 26.3.1.5: a #UD may not be injected into shutdown: entry failure.
	vmw 0x4826, 2
	vmw 0x4016, 0x80000306
	enter g_nop, h_down_bad
h_down_bad:
	vmr 0x4402
	cmp ebx, 0x80000021
	check 105, e
	; An NMI may: the entry is vectoring, the guest active; its handler's
	; IRET returns to g_nop, whose UD2 exits by the exception bitmap.
	vmw 0x4002, [PROC0]
	vmw 0x4004, 1 << 6
	vmw 0x4826, 2
	vmw 0x4016, 0x80000202
	enter g_nop, h_down_nmi
h_down_nmi:
	vmr 0x4402
	test ebx, ebx
	check 106, z
	vmr 0x4404
	cmp ebx, 0x80000306
	check 106, e
	vmr 0x681e
	cmp ebx, g_nop + 1
	check 107, e
	vmr 0x4826
	test ebx, ebx
	check 107, z
	; A pending NMI exits from shutdown (NMI exiting), activity state saved.
	; NMIs must be blocked in root operation for one to wait for the entry:
	; they are, since the guest's NMI handler ran with NMI exiting and no
	; virtual NMIs (its IRET kept the blocking, 25.3) and a VM exit not
	; caused by an NMI leaves NMI blocking alone. Should a self NMI be taken
	; anyway, its handler does not IRET, which blocks them too.
	vmw 0x4004, 0
	mov eax, 2
	mov ebx, host_nmi
	mov ecx, 0x8e00
	call set_gate
	mov dword [0xfee00300], 0x40400
	nop
	jmp host_nmi.blocked
host_nmi:
	add esp, 12
.blocked:
	mov dword [0xfee00300], 0x40400
	vmw 0x4826, 2
	vmw 0x4824, 0
	vmw 0x681c, GSTACK
	enter g_nop, h_down_nmi_exit
h_down_nmi_exit:
	vmr 0x4402
	test ebx, ebx
	check 108, z
	vmr 0x4404
	cmp ebx, 0x80000202
	check 108, e
	vmr 0x4826
	cmp ebx, 2
	check 109, e

	; ---- MTF and a single-step trap ----
	mov eax, [PROC0]
	or eax, 1 << 27
	vmw 0x4002, eax
	vmw 0x4004, 1 << 1		; #DB exits: a trap delivered early shows
	vmw 0x4826, 0
	vmw 0x4824, 0
	vmw 0x6822, 0
	vmw 0x681c, GSTACK
	vmw 0x6820, 0x102		; TF
	enter g_tf, h_tf
h_tf:
	vmr 0x4402			; MTF first
	cmp ebx, 37
	check 110, e
	vmr 0x681e
	cmp ebx, g_tf.1
	check 111, e
	vmr 0x6822			; the trap pending: BS
	cmp ebx, 1 << 14
	check 112, e
	; The next entry delivers it before any instruction (26.6.3).
	vmw 0x4002, [PROC0]
	xor eax, eax
	mov dr6, eax
	enter g_tf.1, h_tf_db
h_tf_db:
	vmr 0x4402
	test ebx, ebx
	check 113, z
	vmr 0x4404			; hardware exception #DB
	cmp ebx, 0x80000301
	check 114, e
	vmr 0x6400			; the qualification: BS
	cmp ebx, 1 << 14
	check 115, e
	vmr 0x681e
	cmp ebx, g_tf.1
	check 116, e
	vmr 0x6822
	test ebx, ebx
	check 117, z
	mov eax, dr6			; a #DB that exits leaves DR6 alone (27.1)
	test eax, 1 << 14
	check 118, z
	vmw 0x4004, 0

	jmp pass

step_rips:
	dd g_step.1, g_step.2, g_step.3, g_step.4, g_step.5, g_step.6

; The guests.
g_step:
	inc dword [GCOUNT]
.1:	nop
.2:	inc dword [GCOUNT]
.3:	jmp .4
	ud2
.4:	inc dword [GCOUNT]
.5:	lea esi, [esi]
.6:	cpuid
	ud2
g_int40:
	ud2
g_ud:
	ud2
g_ud2:
	ud2
g_hlt1:
	hlt
.after:	ud2
g_pause:
	rdtsc
	mov esi, eax
	mov edi, edx
.p:	pause
	jmp .p
g_pause_gap:
	mov edx, 40
.p:	pause
	mov ecx, 100
.d:	dec ecx
	jnz .d
	dec edx
	jnz .p
	xor eax, eax
	cpuid
	ud2
g_iret:
	pushfd
	push dword SEL_C32
	push dword .after
	iret
.after:	ud2
g_nmi:
	iret
g_badiret:
	pushfd
	push dword 0
	push dword .iret
.iret:	iret
g_shadow:
	mov eax, 0x681e
	vmread esi, eax			; from the shadow VMCS
	mov eax, 0x4826
	mov ecx, 0x55
	vmwrite eax, ecx		; into the shadow VMCS
	setz dl
	mov eax, 0x4400
	vmwrite eax, ecx		; read-only: VMfailValid 13
	setz dh
	mov eax, 0x4402
.exit:	vmread ebx, eax			; exits (its bitmap bit is set)
	ud2
g_x2apic:
	mov ecx, 0x808
	rdmsr
	mov esi, eax
	mov eax, 0x40			; 4 >= threshold 3: no exit
	xor edx, edx
	wrmsr
	mov eax, 0x20			; 2 < 3: exit after the instruction
	wrmsr
.after:	ud2
g_x2apic_gp:
	mov ecx, 0x808
	mov eax, 0x120
	xor edx, edx
	wrmsr
	ud2
g_nop:
	nop
	ud2
g_tf:
	nop
.1:	nop
	ud2
g_count:
	rdtsc
	mov esi, eax
	mov edi, edx
.l:	inc ecx
	jmp .l
g_hlt:
	rdtsc
	mov esi, eax
	mov edi, edx
	hlt
.after:	ud2
g_cpuid:
	rdtsc
	mov esi, eax
	mov edi, edx
	mov ecx, 200
.l:	dec ecx
	jnz .l
	xor eax, eax
	cpuid
	ud2

V_PTR	equ 0x600

%include "pm_end.inc"
