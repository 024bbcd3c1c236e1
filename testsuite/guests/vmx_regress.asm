; fugu guest test: the VMX regression table (issue 12): VMX bug classes other
; emulators have had to fix, the rows no other guest asserts. Each row is a set
; of numbered checks (the number is reported on failure); the whole table, with
; the rows other guests hold, is docs/VMX.md "VMX regression table".
; SDM vol. 3C:
;   R1 (checks 1-3)   25.1.2, appendix C: XSETBV exits unconditionally, exit
;                     reason 55, 27.2.5 instruction length 3, 27.3.3 RIP of
;                     the XSETBV.
;   R2 (checks 4-6)   25.3: RDTSCP with "RDTSC exiting" and "enable RDTSCP"
;                     exits with reason 51 (not RDTSC's 16), length 3.
;   R3 (checks 7-9)   27.2.5: the VM-exit instruction length counts the
;                     prefixes: CPUID (2 bytes) with 3 prefixes is 5, with 13
;                     it is 15 (the architectural maximum); the next plain
;                     CPUID is 2 again (written by every instruction exit).
;   R4 (checks 10-12) 27.3.3: RFLAGS.RF saved for an exit by the exception
;                     bitmap is what the fault's delivery would push: 1 for a
;                     #UD (vol. 3A, 17.3.1.1: faults other than instruction
;                     breakpoints set RF in the pushed image), with RF clear
;                     in the guest.
;   R5 (checks 13-14) 27.3.3: RF saved for an instruction that exits (CPUID)
;                     is 0, even when the guest was entered with RF set.
;   R6 (checks 15-21) 26.3.2.2: the bases of an unusable FS and GS are loaded
;                     anyway (the guest reads them through IA32_FS_BASE and
;                     IA32_GS_BASE); 27.3.2: they are saved, with the new value
;                     the guest wrote, and bit 16 set (the rest of the access
;                     rights of an unusable segment are undefined, bits 31:17
;                     always 0).
;   R7 (checks 22-26) 27.3.3: an EPT violation that is not during event
;                     delivery saves RF = 1 (the instruction restarts); here a
;                     read of a guest-physical address EPT leaves unmapped
;                     (reason 48, qualification 181h: read, linear address
;                     valid, a translation's access, 27.2.1).
;   R8 (checks 27-32) 27.3.3: an EPT violation while an event is delivered
;                     (the push to a stack EPT leaves unmapped) saves RF as
;                     that delivery would push it: 0 for INT3 (a trap), 1 for
;                     a #GP (a fault); the IDT-vectoring information (27.2.4)
;                     names the event, with INT3's type 6 (software
;                     exception, not 4) and its length 1 (27.2.5, check 33).
;   R9 (checks 34-36) 27.2.2: INT1 (F1) intercepted by the exception bitmap is
;                     a privileged software exception: information 80000501H
;                     (type 5), instruction length 1.
;   R10 (checks 37-42) 27.2.4: an EPT violation while VM entry delivers an
;                     injected software exception (type 6, vector 3, length
;                     1) or privileged software exception (type 5, vector 1)
;                     reports that type in the IDT-vectoring information and
;                     the injected length (27.2.5).
;   R11 (checks 53-55, 99-101) 27.2.4: INTO (OF set) whose delivery exits
;                     (its push to the unmapped stack) is type 6 (software
;                     exception) in the IDT-vectoring information, INT1 type 5
;                     (privileged software exception), each length 1 (27.2.5).
;   R12 (checks 56-61) 27.1, 27.2.1: MOV from DR0 with DR7.GD (loaded by the
;                     "load debug controls" entry control) and #DB exiting:
;                     exit 0, information 80000301H, qualification BD (2000H),
;                     RIP of the MOV; DR6 not written (BD clear), DR7.GD not
;                     cleared (the saved DR7 is 2400H), RF saved 1 (27.3.3;
;                     vol. 3A 17.3.1.1: a fault that is no instruction
;                     breakpoint).
;   R13 (checks 62-64) 27.3.3: an APIC-access exit (a read at offset 30H,
;                     nothing virtualized: qualification 030H, 27.2.1) saves
;                     RF = 1.
;   R14 (checks 65-68) 27.3.3, 29.3.6: with EPT A/D and PML, a write that needs
;                     a D flag with the PML index FFFFH is a PML-full exit
;                     (62, qualification 0), the flag not set; RF saved 1.
;   R15 (checks 69-81, 95-98) 29.3.3.2, 27.2.1 (table 27-7): EPT violations
;                     on the guest's own paging-structure accesses: the walk's
;                     read of a PTE EPT does not map, for a data read and for
;                     an instruction fetch (81H both: data read, bit 7 set,
;                     bit 8 clear), the A flag update to a read-only page
;                     table and the D flag update (8AH: data writes, rights
;                     R); guest-physical address the PTE's, guest-linear the
;                     access's, the PTE unchanged.
;   R16 (checks 82-89) 29.4.6.1, 27.2.1 (table 27-6): the guest's page table
;                     on the APIC-access page: its walk's read is a
;                     guest-physical access, exit 44 with access type 15
;                     (bits 15:12), or 10 while INT3 is delivered (with the
;                     IDT-vectoring information); RF saved 1.
; Check 90: CPUID.1:ECX.XSAVE missing; 91: no 1 GiB EPT pages (A.10); 92: no
; EPT A/D flags; 93: no INVEPT all-context; 94: INVEPT failed;
; 45: VMLAUNCH/VMRESUME failed.
; Host and guest run flat 32-bit protected mode with paging (4 MiB pages).
%define TEST "vmx_regress"
	org 0xf0000
%include "pm.inc"
%include "vmx.inc"

PD	equ 0x10000		; page directory: 4 MiB identity page (PSE)
VMXON_R	equ 0x20000
VMCS_R	equ 0x21000
GSTACK	equ 0x30000
MSRBM	equ 0x22000		; MSR bitmap: nothing exits
EPT4	equ 0x40000		; EPT PML4
EPT3	equ 0x41000		; EPT PDPT: a 1 GiB identity page at 0
EPTP	equ EPT4 | 0x1e		; WB, 4 levels
LAUNCHED equ 0x3000
EPT2	equ 0x42000		; R13-R16: EPT PD (2 MiB pages but the first)
EPT1	equ 0x43000		; EPT PT: the first 2 MiB in 4 KiB pages
GPD	equ 0x11000		; R15-R16: the guest's own page directory
GPT	equ 0x12000		; and page table (for 40000000h)
APICACC	equ 0x50000		; R13: the APIC-access page
PMLB	equ 0x51000		; R14: the page-modification log
V_DESC	equ 0x610		; INVEPT descriptor (all-context: unused)

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

main:
	mov byte [LAUNCHED], 0
	; VMXON needs CR0.PG (IA32_VMX_CR0_FIXED0 has PE, NE and PG: 23.8).
	mov dword [PD], 0x83
	mov eax, PD
	mov cr3, eax
	mov eax, cr4
	or eax, 1 << 4			; PSE
	mov cr4, eax
	mov eax, cr0
	or eax, 1 << 31
	mov cr0, eax
	; XSETBV in the guest needs CR4.OSXSAVE, else it is #UD before any exit.
	mov eax, 1
	cpuid
	test ecx, 1 << 26
	check 90, nz
	mov eax, cr4
	or eax, 1 << 18
	mov cr4, eax
	vmx_on
	ctl 0x48d, 0, 0x4000
	ctl 0x48e, (1 << 12) | (1 << 28) | (1 << 31), 0x4002 ; RDTSC exiting, MSR bitmaps, secondary
	ctl 0x48b, 1 << 3, 0x401e			; enable RDTSCP
	ctl 0x48f, 0, 0x400c
	ctl 0x490, 0, 0x4012
	vmw 0x4004, 1 << 6				; #UD exits
	mov edi, MSRBM
	mov ecx, 0x1000 / 4
	xor eax, eax
	rep stosd
	vmw 0x2004, MSRBM
	vmw 0x2005, 0
	host_state KSTACK
	guest_flat32 GSTACK

	; R1: XSETBV, reason 55, length 3, RIP of the instruction.
	enter g_xsetbv, h_xsetbv
h_xsetbv:
	exit_is 1, 55, 0
	field_is 2, 0x440c, 3
	field_is 3, 0x681e, g_xsetbv.x

	; R2: RDTSCP, reason 51 (RDTSC would be 16), length 3.
	enter g_rdtscp, h_rdtscp
h_rdtscp:
	exit_is 4, 51, 0
	field_is 5, 0x440c, 3
	field_is 6, 0x681e, g_rdtscp

	; R3: prefixed CPUIDs: 5, 15, then a plain one 2.
	enter g_cpuid5, h_cpuid5
h_cpuid5:
	field_is 7, 0x4402, 10
	field_is 7, 0x440c, 5
	field_is 7, 0x681e, g_cpuid5
	enter g_cpuid5.p15, h_cpuid15
h_cpuid15:
	field_is 8, 0x4402, 10
	field_is 8, 0x440c, 15
	field_is 8, 0x681e, g_cpuid5.p15
	enter g_cpuid5.p2, h_cpuid2
h_cpuid2:
	field_is 9, 0x4402, 10
	field_is 9, 0x440c, 2
	field_is 9, 0x681e, g_cpuid5.p2

	; R4: #UD through the exception bitmap: reason 0, information 80000306h,
	; RFLAGS.RF saved 1 (the guest ran with RF clear).
	vmw 0x6820, 2
	enter g_ud, h_ud
h_ud:
	exit_is 10, 0, 0
	field_is 11, 0x4404, 0x80000306
	vmr 0x6820
	test ebx, 1 << 16
	check 12, nz

	; R5: entered with RF set, CPUID exits: RF saved 0.
	vmw 0x6820, 0x10002
	enter g_cpuid5.p2, h_rf
h_rf:
	exit_is 13, 10, 0
	vmr 0x6820
	test ebx, 1 << 16
	check 14, z
	vmw 0x6820, 2

	; R6: FS and GS unusable (selector 0, bit 16) with bases the guest sees
	; through the MSRs; it writes a new FS base and exits by CPUID.
	vmw 0x0808, 0
	vmw 0x481c, 0x10000
	vmw 0x680e, 0x12345000
	vmw 0x080a, 0
	vmw 0x481e, 0x10000
	vmw 0x6810, 0xabcd0000
	enter g_fsgs, h_fsgs
h_fsgs:
	mov [0x3010], esi		; the guest's FS base (ESI) and GS base (EDI)
	mov [0x3014], edi
	exit_is 15, 10, 0
	cmp dword [0x3010], 0x12345000
	check 16, e
	cmp dword [0x3014], 0xabcd0000
	check 17, e
	field_is 18, 0x680e, 0x55aa1000	; the base the guest wrote
	field_is 19, 0x6810, 0xabcd0000
	vmr 0x481c
	and ebx, 0xfffe0000 | (1 << 16)	; bits 31:17 zero, bit 16 set
	cmp ebx, 1 << 16
	check 20, e
	vmr 0x481e
	and ebx, 0xfffe0000 | (1 << 16)
	cmp ebx, 1 << 16
	check 21, e

	; R7: EPT maps the first GiB; the guest reads 40000000h (a 4 MiB page
	; in its paging, not in EPT): an EPT violation, RF saved 1.
	mov ecx, 0x48c
	rdmsr
	test eax, 1 << 17
	check 91, nz
	mov edi, EPT4
	mov ecx, 0x2000 / 4
	xor eax, eax
	rep stosd
	mov dword [EPT4], EPT3 | 7
	mov dword [EPT3], 0xb7		; 1 GiB page, WB, RWX
	mov dword [PD + 0x100 * 4], 0x40000083
	ctl 0x48b, (1 << 3) | (1 << 1), 0x401e	; enable RDTSCP, enable EPT
	vmw 0x201a, EPTP
	vmw 0x201b, 0
	vmw 0x6820, 2
	enter g_ept, h_ept
h_ept:
	exit_is 22, 48, 0x181
	field_is 23, 0x2400, 0x40000000
	field_is 24, 0x640a, 0x40000000
	field_is 25, 0x681e, g_ept
	vmr 0x6820
	test ebx, 1 << 16
	check 26, nz

	; R8: INT3, then a #GP, each delivered onto a stack at 40000000h.
	vmw 0x681c, 0x40000010
	enter g_int3, h_int3
h_int3:
	field_is 27, 0x4402, 48
	field_is 28, 0x4408, 0x80000603	; software exception 3
	field_is 33, 0x440c, 1
	vmr 0x6820
	test ebx, 1 << 16
	check 29, z
	vmw 0x681c, 0x40000010
	enter g_gp, h_gp
h_gp:
	field_is 30, 0x4402, 48
	field_is 31, 0x4408, 0x80000b0d	; hardware exception 13, error code
	vmr 0x6820
	test ebx, 1 << 16
	check 32, nz

	; R9: INT1 with #DB in the exception bitmap.
	vmw 0x4004, (1 << 6) | (1 << 1)
	vmw 0x681c, GSTACK
	enter g_int1, h_int1
h_int1:
	field_is 34, 0x4402, 0
	field_is 35, 0x4404, 0x80000501
	field_is 36, 0x440c, 1

	; R10: inject INT3's and INT1's events onto the stack at 40000000h.
	vmw 0x4004, 1 << 6
	vmw 0x681c, 0x40000010
	vmw 0x4016, 0x80000603
	vmw 0x401a, 1
	enter g_int1, h_inj6
h_inj6:
	field_is 37, 0x4402, 48
	field_is 38, 0x4408, 0x80000603
	field_is 39, 0x440c, 1
	vmw 0x681c, 0x40000010
	vmw 0x4016, 0x80000501
	vmw 0x401a, 1
	enter g_int1, h_inj5
h_inj5:
	field_is 40, 0x4402, 48
	field_is 41, 0x4408, 0x80000501
	field_is 42, 0x440c, 1

	; R11: INTO (OF set) delivered onto the stack at 40000000h.
	vmw 0x4016, 0
	vmw 0x681c, 0x40000010
	enter g_into, h_into
h_into:
	field_is 53, 0x4402, 48
	field_is 54, 0x4408, 0x80000604	; software exception 4, not type 4
	field_is 55, 0x440c, 1
	; ... and INT1 (F1), executed by the guest (#DB not in the bitmap).
	vmw 0x681c, 0x40000010
	enter g_int1, h_int1d
h_int1d:
	field_is 99, 0x4402, 48
	field_is 100, 0x4408, 0x80000501	; privileged software exception
	field_is 101, 0x440c, 1

	; R12: MOV from DR0 with DR7.GD and #DB exiting: the #DB fault exits
	; with qualification BD, DR6 and DR7.GD untouched.
	vmw 0x4004, (1 << 6) | (1 << 1)
	vmw 0x681c, GSTACK
	ctl 0x48f, 1 << 2, 0x400c	; save debug controls
	ctl 0x490, 1 << 2, 0x4012	; load debug controls
	vmw 0x681a, 0x2400		; guest DR7: GD
	mov eax, 0xffff0ff0
	mov dr6, eax
	enter g_gd, h_gd
h_gd:
	exit_is 56, 0, 0x2000
	field_is 57, 0x4404, 0x80000301
	field_is 58, 0x681e, g_gd
	mov eax, dr6
	cmp eax, 0xffff0ff0
	check 59, e
	field_is 60, 0x681a, 0x2400	; saved DR7 still has GD
	vmr 0x6820
	test ebx, 1 << 16		; a fault other than an instruction
	check 61, nz			; breakpoint pushes RF = 1 (vol. 3A, 17.3.1.1)
	vmw 0x681a, 0x400
	vmw 0x4004, 1 << 6

	; R13: an APIC-access exit (a read, nothing virtualized) saves RF = 1.
	ctl 0x48b, (1 << 3) | (1 << 1) | 1, 0x401e ; + virtualize APIC accesses
	vmw 0x2014, APICACC
	vmw 0x2015, 0
	enter g_apic, h_apic
h_apic:
	exit_is 62, 44, 0x030		; type 0 (linear read), offset 30h
	field_is 63, 0x681e, g_apic
	vmr 0x6820
	test ebx, 1 << 16
	check 64, nz

	; The first GiB of EPT now in 2 MiB pages, the first 2 MiB in 4 KiB pages.
	mov edi, EPT2
	mov ecx, 0x2000 / 4
	xor eax, eax
	rep stosd
	mov dword [EPT4], EPT3 | 0x107	; A set (for R14)
	mov dword [EPT3], EPT2 | 0x107
	mov dword [EPT2], EPT1 | 0x107
	mov edi, EPT2 + 8
	mov eax, 0x200000 | 0x3b7	; 2 MiB, WB, RWX, A and D
	mov ecx, 1
.pd:	mov [edi], eax
	add edi, 8
	add eax, 0x200000
	inc ecx
	cmp ecx, 512
	jb .pd
	mov dword [EPT2 + 8], 0x200000 | 0x1b7	; 2 MiB at 200000h: A, no D
	mov edi, EPT1
	mov eax, 0x337			; 4 KiB, WB, RWX, A and D
	mov ecx, 512
.pt:	mov [edi], eax
	add edi, 8
	add eax, 0x1000
	loop .pt

	; R14: PML with EPT A/D and the index outside 0-511: the guest's write to
	; 200000h needs the D flag: a PML-full exit (62), qualification 0, the
	; D flag still clear, RF = 1.
	mov ecx, 0x48c
	rdmsr
	test eax, 1 << 21
	check 92, nz
	ctl 0x48b, (1 << 3) | (1 << 1) | (1 << 17), 0x401e ; EPT, PML
	vmw 0x201a, EPT4 | 0x5e		; WB, 4 levels, A/D
	vmw 0x200e, PMLB
	vmw 0x200f, 0
	vmw 0x0812, 0xffff		; PML index
	call invept_all
	enter g_pml, h_pml
h_pml:
	exit_is 65, 62, 0
	field_is 66, 0x681e, g_pml
	vmr 0x6820
	test ebx, 1 << 16
	check 67, nz
	test dword [EPT2 + 8], 0x200
	check 68, z

	; R15: EPT violations on the guest's own paging-structure accesses
	; (28.3.3.2: its reads of paging structures are data reads, its A/D
	; updates data writes; table 27-7: bit 7 set, bit 8 clear; the
	; guest-physical address is the entry's). The guest runs on its own
	; page directory GPD whose entry for 40000000h points to the page
	; table GPT; linear 40005000h maps 205000h.
	ctl 0x48b, (1 << 3) | (1 << 1), 0x401e ; EPT alone
	vmw 0x201a, EPTP
	mov edi, GPD
	mov ecx, 0x2000 / 4
	xor eax, eax
	rep stosd
	mov dword [GPD], 0xe3		; 4 MiB at 0, A and D
	mov dword [GPD + 0x100 * 4], GPT | 0x27 ; A set
	mov dword [GPT + 5 * 4], 0x205003	; P, RW, A and D clear
	vmw 0x6802, GPD
	mov dword [EPT1 + (GPT >> 12) * 8], 0	; GPT not present in EPT
	call invept_all
	enter g_pt, h_pt_read
h_pt_read:
	exit_is 69, 48, 0x81		; read, rights 0, linear valid, bit 8 clear
	field_is 70, 0x2400, GPT + 5 * 4
	field_is 71, 0x640a, 0x40005000
	field_is 72, 0x681e, g_pt
	vmr 0x6820
	test ebx, 1 << 16
	check 73, nz
	; An instruction fetch through the same table: the walk's read is a
	; data read all the same (81H, not 84H).
	enter 0x40005000, h_pt_fetch
h_pt_fetch:
	exit_is 95, 48, 0x81
	field_is 96, 0x2400, GPT + 5 * 4
	field_is 97, 0x640a, 0x40005000
	field_is 98, 0x681e, 0x40005000
	; GPT readable only: setting the PTE's A flag is a write.
	mov dword [EPT1 + (GPT >> 12) * 8], GPT | 0x131
	call invept_all
	enter g_pt, h_pt_a
h_pt_a:
	exit_is 74, 48, 0x8a		; write, rights R, linear valid, bit 8 clear
	field_is 75, 0x2400, GPT + 5 * 4
	field_is 76, 0x640a, 0x40005000
	cmp dword [GPT + 5 * 4], 0x205003	; A not set
	check 77, e
	; A set, D clear: the guest's write needs the D flag, a write.
	mov dword [GPT + 5 * 4], 0x205023
	enter g_pt.w, h_pt_d
h_pt_d:
	exit_is 78, 48, 0x8a
	field_is 79, 0x2400, GPT + 5 * 4
	field_is 80, 0x681e, g_pt.w
	cmp dword [GPT + 5 * 4], 0x205023	; D not set
	check 81, e

	; R16: the guest's page table GPT is the APIC-access page (29.4.6.1):
	; its walk's read of the PTE is a guest-physical access, an APIC-access
	; exit with type 15 (instruction execution), or 10 while an event is
	; delivered (then with the IDT-vectoring information, 27.2.1); bits
	; 11:0 are undefined.
	mov dword [EPT1 + (GPT >> 12) * 8], GPT | 0x337
	call invept_all
	ctl 0x48b, (1 << 3) | (1 << 1) | 1, 0x401e
	vmw 0x2014, GPT
	mov dword [GPT + 5 * 4], 0x205063	; A and D set
	enter g_pt, h_gpa15
h_gpa15:
	field_is 82, 0x4402, 44
	vmr 0x6400
	and ebx, 0xfffff000
	cmp ebx, 0xf000
	check 83, e
	field_is 84, 0x681e, g_pt
	field_is 85, 0x4408, 0
	vmr 0x6820
	test ebx, 1 << 16
	check 86, nz
	vmw 0x681c, 0x40005010		; INT3's push walks GPT
	enter g_int3, h_gpa10
h_gpa10:
	field_is 87, 0x4402, 44
	vmr 0x6400
	and ebx, 0xfffff000
	cmp ebx, 0xa000
	check 88, e
	field_is 89, 0x4408, 0x80000603
	jmp pass

; INVEPT all-context (IA32_VMX_EPT_VPID_CAP bits 20 and 26; check 93).
invept_all:
	mov ecx, 0x48c
	rdmsr
	and eax, (1 << 20) | (1 << 26)
	cmp eax, (1 << 20) | (1 << 26)
	check 93, e
	mov eax, 2
	invept eax, [V_DESC]
	check 94, nbe
	ret

g_xsetbv:
	xor ecx, ecx
	xor edx, edx
	mov eax, 1
.x:	xsetbv
	ud2
g_rdtscp:
	rdtscp
	ud2
g_cpuid5:
	db 0x66, 0x2e, 0x3e		; operand size, CS, DS
	cpuid
.p15:	times 13 db 0x3e		; 13 DS prefixes: 15 bytes in all
	cpuid
.p2:	cpuid
	ud2
g_ud:
	ud2
g_fsgs:
	mov ecx, 0xc0000100		; IA32_FS_BASE
	rdmsr
	mov esi, eax
	mov ecx, 0xc0000101		; IA32_GS_BASE
	rdmsr
	mov edi, eax
	mov ecx, 0xc0000100
	mov eax, 0x55aa1000
	xor edx, edx
	wrmsr
	cpuid
	ud2
g_ept:
	mov eax, [0x40000000]
	ud2
g_int3:
	int3
	ud2
g_into:
	mov al, 0x7f
	add al, 1			; OF
	into
	ud2
g_gd:
	mov eax, dr0
	ud2
g_apic:
	mov eax, [APICACC + 0x30]
	ud2
g_pml:
	mov dword [0x200000], 1
	ud2
g_pt:
	mov eax, [0x40005000]
	ud2
.w:	mov dword [0x40005000], 1
	ud2
g_int1:
	db 0xf1				; INT1 (ICEBP)
	ud2
g_gp:
	mov ax, 0x1234			; beyond the GDT limit: #GP(1234h)
	mov ds, ax
	ud2

%include "pm_end.inc"
