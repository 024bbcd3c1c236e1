; fugu guest test: APIC virtualization in a mini hypervisor (SDM vol. 3C,
; chapter 29). Host and guest run flat 32-bit with paging (4 MiB identity
; pages); the APIC-access page is at APICPG, which the guest reaches at the
; same linear address (no EPT: the physical address is compared, 29.4).
;   29.4.1 an APIC-access VM exit (44): qualification offset (11:0) and access
;          type (15:12: 0 linear read, 1 linear write, 2 instruction fetch),
;          fault-like (the RIP of the accessing instruction); accesses that
;          cross into or out of the page are not virtualized;
;   29.4.2 with the TPR shadow a read of the TPR is virtualized (VTPR); with
;          APIC-register virtualization other registers too (SVR), but not the
;          current count (390H), which still exits;
;   29.4.3 a virtualized write to another register (LDR) lands in the
;          virtual-APIC page and is followed by a trap-like APIC-write VM exit
;          (56, qualification the offset); an ICR write that is no self-IPI too;
;   29.2   virtual-interrupt delivery: RVI delivered through the guest IDT at
;          VM entry when RVI[7:4] > VPPR[7:4] with RFLAGS.IF set; VISR, SVI,
;          VPPR, VIRR and RVI updated (29.2.2); held back by VTPR, then
;          delivered after a TPR write (TPR virtualization, 29.1.2);
;   29.1.4 EOI virtualization: VISR and SVI cleared, the EOI-induced VM exit
;          (45, trap-like, qualification the vector) when the EOI-exit bitmap
;          bit is set;
;   29.1.5 self-IPI virtualization by an ICR write (shorthand self, fixed);
;   29.5   virtualize x2APIC mode with APIC-register virtualization: RDMSR
;          of SVR (80FH) from the virtual-APIC page, WRMSR SELF IPI (83FH);
;          a virtual interrupt through a trap gate with an external
;          interrupt pending: delivered first, then the external-interrupt
;          exit at the handler's first instruction;
;   29.6   posted interrupts: a self-IPI the host sent with the notification
;          vector is recognized once the guest runs: ON and PIR cleared, the
;          local APIC's ISR bit retired (EOI), the posted vector delivered to
;          the guest without a VM exit; another vector exits (reason 1);
;   26.2.1.1 entry checks: VID needs external-interrupt exiting, posted
;          interrupts need acknowledge interrupt on exit, "virtualize x2APIC
;          mode" excludes "virtualize APIC accesses".
%define TEST "vmx_apicv"
	org 0xf0000
%include "pm.inc"
%include "vmx.inc"

PD	equ 0x10000
VMXON_R	equ 0x20000
VMCS_R	equ 0x21000
VAPIC	equ 0x25000		; virtual-APIC page
MSRBM	equ 0x26000		; MSR bitmap: nothing exits
APICPG	equ 0x27000		; APIC-access page
PIDESC	equ 0x28000		; posted-interrupt descriptor
GSTACK	equ 0x30000
GIDT	equ 0x4000
LAUNCHED equ 0x3000
PIN0	equ 0x3010
EXIT0	equ 0x3014
PROC0	equ 0x3018
SAVED	equ 0x3020
LAPIC	equ 0xfee00000

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
; gate vector, handler: a 32-bit interrupt gate in the guest's IDT
%macro gate 2
	mov eax, %2
	mov [GIDT + %1 * 8], ax
	mov word [GIDT + %1 * 8 + 2], SEL_C32
	mov word [GIDT + %1 * 8 + 4], 0x8e00
	shr eax, 16
	mov [GIDT + %1 * 8 + 6], ax
%endmacro
; fresh: the guest's stack pointer reset, RFLAGS with IF set
%macro fresh 0
	vmw 0x681c, GSTACK
	vmw 0x6820, 0x202
%endmacro
; reason_rip number, exit reason, guest RIP
%macro reason_rip 3
	field_is %1, 0x4402, %2
	field_is %1, 0x681e, %3
%endmacro
; vbit number, offset base (100H VISR, 200H VIRR), vector, 0/1: the bit's value
%macro vbit 4
	mov eax, [VAPIC + %2 + (%3 / 32) * 0x10]
	shr eax, %3 % 32
	and eax, 1
	cmp eax, %4
	check %1, e
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
	; The capabilities (A.3.1, A.3.3): posted interrupts (pin bit 7); APIC
	; accesses (0), APIC-register virtualization (8), VID (9).
	mov ecx, 0x48d
	rdmsr
	mov [PIN0], eax
	test edx, 1 << 7
	check 1, nz
	mov ecx, 0x48b
	rdmsr
	and edx, (1 << 0) | (1 << 8) | (1 << 9)
	cmp edx, (1 << 0) | (1 << 8) | (1 << 9)
	check 2, e
	mov ecx, 0x48f
	rdmsr
	mov [EXIT0], eax
	mov ecx, 0x48e
	rdmsr
	or eax, (1 << 31) | (1 << 21)	; secondary controls, TPR shadow
	mov [PROC0], eax
	; The host's local APIC on (SVR bit 8), TPR 0.
	or dword [LAPIC + 0xf0], 0x100
	mov dword [LAPIC + 0x80], 0

	vmx_on
	vmw 0x4000, [PIN0]
	vmw 0x4002, [PROC0]
	vmw 0x400c, [EXIT0]
	mov ecx, 0x490
	rdmsr
	vmw 0x4012, eax
	host_state KSTACK
	guest_flat32 GSTACK
	vmw 0x4004, 0xffffffff		; every exception exits
	vmw 0x2012, VAPIC
	vmw 0x2014, APICPG
	vmw 0x2004, MSRBM
	vmw 0x4826, 0
	mov edi, GIDT
	mov ecx, 0x800 / 4
	xor eax, eax
	rep stosd
	gate 0x51, g_v51
	gate 0x61, g_v61
	gate 0x71, g_v71
	gate 0x52, g_v52
	mov word [GIDT + 0x52 * 8 + 4], 0x8f00	; a trap gate: IF stays set
	vmw 0x6818, GIDT
	call clear_pages
	mov edi, MSRBM
	mov ecx, 0x1000 / 4
	xor eax, eax
	rep stosd

	; ---- 29.4: virtualize APIC accesses with the TPR shadow only ----
	vmw 0x401e, 1			; virtualize APIC accesses
	mov dword [VAPIC + 0x80], 0x50
	enter g_rd_id, h_rd_id
h_rd_id:				; a read of the ID (20H): not virtualized
	reason_rip 3, 44, g_rd_id
	field_is 4, 0x6400, 0x020
	enter g_wr_icr, h_wr_icr
h_wr_icr:				; a write of ICR low (300H): type 1
	reason_rip 5, 44, g_wr_icr
	field_is 6, 0x6400, 0x1300
	enter g_fetch, h_fetch
h_fetch:				; an instruction fetch: type 2, fault-like
	reason_rip 62, 44, APICPG + 0x40
	field_is 63, 0x6400, 0x2040
	enter g_rd_tpr, h_rd_tpr
h_rd_tpr:				; the TPR read is virtualized: VTPR
	reason_rip 7, 10, g_rd_tpr.cpuid
	cmp esi, 0x50
	check 8, e
	enter g_cross, h_cross
h_cross:				; a read that reaches the page from below
	reason_rip 58, 44, g_cross
	field_is 59, 0x6400, 0
	enter g_cross2, h_cross2
h_cross2:				; a write that leaves it: not virtualized
	reason_rip 60, 44, g_cross2
	field_is 61, 0x6400, 0x1ffe

	; ---- 29.4.2, 29.4.3: APIC-register virtualization ----
	vmw 0x401e, (1 << 0) | (1 << 8)
	mov dword [VAPIC + 0xf0], 0x1ff
	enter g_rd_svr, h_rd_svr
h_rd_svr:
	reason_rip 9, 10, g_rd_svr.cpuid
	cmp esi, 0x1ff
	check 10, e
	enter g_rd_ccr, h_rd_ccr
h_rd_ccr:				; the current count (390H) is never virtualized
	reason_rip 11, 44, g_rd_ccr
	field_is 12, 0x6400, 0x390
	enter g_wr_ldr, h_wr_ldr
h_wr_ldr:				; LDR: written, then a trap-like APIC-write exit
	reason_rip 13, 56, g_wr_ldr.after
	field_is 14, 0x6400, 0xd0
	cmp dword [VAPIC + 0xd0], 0x01000000
	check 15, e

	; ---- 26.2.1.1: VID without external-interrupt exiting ----
	vmw 0x401e, (1 << 0) | (1 << 8) | (1 << 9)
	vmw 0x6c16, fail
	vmresume
	check 16, z
	field_is 17, 0x4400, 7
	mov eax, [PIN0]
	or eax, 1			; external-interrupt exiting
	vmw 0x4000, eax

	; ---- 29.2: virtual-interrupt delivery of RVI at VM entry ----
	call clear_pages
	or dword [VAPIC + 0x200 + (0x51 / 32) * 0x10], 1 << (0x51 % 32)	; VIRR
	vmw 0x0810, 0x0051		; RVI 51H, SVI 0
	fresh
	enter g_nop, h_vid
h_vid:					; delivered before g_nop's first instruction
	reason_rip 18, 10, g_v51.cpuid
	field_is 19, 0x0810, 0x5100	; SVI 51H, RVI 0
	vbit 20, 0x100, 0x51, 1		; VISR
	vbit 21, 0x200, 0x51, 0		; VIRR
	cmp dword [VAPIC + 0xa0], 0x50	; VPPR = vector & F0H
	check 22, e
	cmp dword [GSTACK - 12], g_nop	; the EIP it pushed
	check 23, e

	; ---- 29.1.4: EOI virtualization with the EOI-exit bitmap bit set ----
	vmw 0x201e, 1 << (0x51 - 64)	; EOI-exit bitmap 1: vectors 64-127
	fresh
	enter g_eoi, h_eoi
h_eoi:
	reason_rip 24, 45, g_eoi.after	; trap-like
	field_is 25, 0x6400, 0x51
	field_is 26, 0x0810, 0		; SVI 0
	vbit 27, 0x100, 0x51, 0
	cmp dword [VAPIC + 0xa0], 0	; VPPR
	check 28, e
	vmw 0x201e, 0

	; ---- 29.1.2: held back by VTPR, delivered after the guest lowers it ----
	or dword [VAPIC + 0x200 + (0x51 / 32) * 0x10], 1 << (0x51 % 32)
	vmw 0x0810, 0x0051
	mov dword [VAPIC + 0x80], 0x60
	fresh
	enter g_tpr, h_tpr
h_tpr:
	reason_rip 29, 10, g_v51.cpuid
	cmp dword [GSTACK - 12], g_tpr.after	; after the TPR write
	check 30, e
	cmp esi, 0x51			; the guest ran while it was held back
	check 31, e
	field_is 32, 0x0810, 0x5100

	; ---- 29.1.4 without the exit, then 29.1.5: a self-IPI by the ICR ----
	fresh
	enter g_selfipi, h_selfipi
h_selfipi:
	reason_rip 33, 10, g_v61.cpuid
	cmp dword [GSTACK - 12], g_selfipi.after
	check 34, e
	field_is 35, 0x0810, 0x6100	; the EOI retired 51H, then 61H delivered
	vbit 36, 0x100, 0x51, 0
	vbit 37, 0x100, 0x61, 1
	; An ICR write to another destination: an APIC-write exit (56).
	fresh
	enter g_ipi, h_ipi
h_ipi:
	reason_rip 38, 56, g_ipi.after
	field_is 39, 0x6400, 0x300
	cmp dword [VAPIC + 0x300], 0x4061
	check 40, e

	; ---- 26.2.1.1: posted interrupts need acknowledge interrupt on exit ----
	mov eax, [PIN0]
	or eax, 1 | (1 << 7)
	vmw 0x4000, eax
	vmw 0x0002, 0xf2		; notification vector
	vmw 0x2016, PIDESC
	vmw 0x6c16, fail
	vmresume
	check 41, z
	field_is 42, 0x4400, 7
	mov eax, [EXIT0]
	or eax, 1 << 15
	vmw 0x400c, eax

	; ---- 29.6: the notification vector, sent by the host before VM entry ----
	call clear_pages
	vmw 0x0810, 0
	or dword [PIDESC + (0x71 / 32) * 4], 1 << (0x71 % 32)	; PIR
	mov byte [PIDESC + 32], 1	; ON
	mov dword [LAPIC + 0x310], 0
	mov dword [LAPIC + 0x300], 0x440f2	; self, fixed, vector F2H
	fresh
	enter g_nop, h_posted
h_posted:				; no external-interrupt exit
	reason_rip 43, 10, g_v71.cpuid
	field_is 44, 0x0810, 0x7100
	vbit 45, 0x100, 0x71, 1
	cmp dword [PIDESC + (0x71 / 32) * 4], 0
	check 46, e
	test byte [PIDESC + 32], 1
	check 47, z
	test dword [LAPIC + 0x170], 1 << (0xf2 % 32)	; ISR: the EOI retired it
	check 48, z
	test dword [LAPIC + 0x270], 1 << (0xf2 % 32)	; IRR
	check 49, z
	; Another vector: an external-interrupt exit, acknowledged.
	mov dword [LAPIC + 0x300], 0x440f3
	fresh
	enter g_nop, h_ext
h_ext:
	reason_rip 50, 1, g_nop
	field_is 51, 0x4404, 0x800000f3
	mov dword [LAPIC + 0xb0], 0	; the host's EOI
	; A virtual interrupt through a trap gate with an external interrupt
	; pending: delivered (29.2.2 puts it above external interrupts), then the
	; external interrupt exits at the handler's first instruction.
	call clear_pages
	or dword [VAPIC + 0x200 + (0x52 / 32) * 0x10], 1 << (0x52 % 32)
	vmw 0x0810, 0x0052
	mov dword [LAPIC + 0x300], 0x440f3
	fresh
	enter g_nop, h_both
h_both:
	reason_rip 64, 1, g_v52
	field_is 65, 0x4404, 0x800000f3
	field_is 66, 0x0810, 0x5200
	field_is 67, 0x4408, 0		; the delivery had completed
	mov dword [LAPIC + 0xb0], 0

	; ---- 29.5: virtualize x2APIC mode with APIC-register virtualization ----
	vmw 0x401e, (1 << 0) | (1 << 4) | (1 << 8) | (1 << 9)
	vmw 0x6c16, fail
	vmresume			; 26.2.1.1: not with APIC accesses
	check 52, z
	field_is 53, 0x4400, 7
	vmw 0x401e, (1 << 4) | (1 << 8) | (1 << 9)
	mov eax, [PROC0]
	or eax, 1 << 28			; MSR bitmaps
	vmw 0x4002, eax
	call clear_pages
	vmw 0x0810, 0
	mov dword [VAPIC + 0xf0], 0x1ab
	fresh
	enter g_x2apic, h_x2apic
h_x2apic:
	reason_rip 54, 10, g_v61.cpuid
	cmp esi, 0x1ab			; RDMSR 80FH read the virtual SVR
	check 55, e
	cmp dword [GSTACK - 12], g_x2apic.after
	check 56, e
	field_is 57, 0x0810, 0x6100
	jmp pass

; clear_pages: the virtual-APIC page and the posted-interrupt descriptor zeroed
clear_pages:
	mov edi, VAPIC
	mov ecx, 0x1000 / 4
	xor eax, eax
	rep stosd
	mov edi, PIDESC
	mov ecx, 64 / 4
	rep stosd
	ret

; The guests.
g_rd_id:
	mov eax, [APICPG + 0x20]
	ud2
g_wr_icr:
	mov [APICPG + 0x300], eax
	ud2
g_fetch:
	mov eax, APICPG + 0x40
	jmp eax
g_rd_tpr:
	mov esi, [APICPG + 0x80]
.cpuid:	cpuid
	ud2
g_cross:
	mov eax, [APICPG - 2]
	ud2
g_cross2:
	mov [APICPG + 0xffe], eax
	ud2
g_rd_svr:
	mov esi, [APICPG + 0xf0]
.cpuid:	cpuid
	ud2
g_rd_ccr:
	mov esi, [APICPG + 0x390]
	ud2
g_wr_ldr:
	mov dword [APICPG + 0xd0], 0x01000000
.after:	ud2
g_nop:
	nop
	ud2
g_eoi:
	mov dword [APICPG + 0xb0], 0
.after:	ud2
g_tpr:
	mov esi, [APICPG + 0x200 + (0x51 / 32) * 0x10]	; VIRR: still pending
	shr esi, 0x51 % 32
	and esi, 1
	imul esi, esi, 0x51
	mov dword [APICPG + 0x80], 0
.after:	ud2
g_selfipi:
	mov dword [APICPG + 0xb0], 0	; EOI of 51H: no exit now
	mov dword [APICPG + 0x300], 0x40061
.after:	ud2
g_ipi:
	mov dword [APICPG + 0x300], 0x4061	; fixed, no shorthand
.after:	ud2
g_x2apic:
	mov ecx, 0x80f
	rdmsr
	mov esi, eax
	mov ecx, 0x83f
	mov eax, 0x61
	xor edx, edx
	wrmsr
.after:	ud2
g_v51:
.cpuid:	cpuid
	ud2
g_v61:
.cpuid:	cpuid
	ud2
g_v52:
	cpuid
	ud2
g_v71:
.cpuid:	cpuid
	ud2

%include "pm_end.inc"
