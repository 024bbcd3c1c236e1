; fugu guest test: EPT and unrestricted guest (SDM vol. 3C, 29.3 and 26.3.1).
; A 32-bit host with paging enables VMX and runs an unrestricted guest in real
; mode (CR0.PE = PG = 0) under EPT, with EPT accessed/dirty flags. Straight-line:
; each guest step ends in a VM exit the host checks, then the host changes
; something and resumes:
;   1. real-mode arithmetic and the stack, then OUT 80h: an I/O exit;
;   2. a write to a read-only EPT page: violation, qualification 18Ah (write,
;      rights R, linear address valid, a translation), guest-physical and
;      guest-linear addresses; the host makes it writable and runs INVEPT
;      single-context; the same write then succeeds;
;   3. a read of a not-present EPT page: qualification 181h (rights 0);
;   4. a write through a PDE without W to a write-only (misconfigured) PTE:
;      misconfiguration (49) wins over the violation; guest-linear unchanged;
;   5. EPT A/D: a read sets A only, a write A and D, an untouched page neither;
;   6. a 2 MiB EPT page mapping guest-physical 400000h to 600000h;
;   7. a fetch from a page without X: qualification 19Ch;
;   8. an IRET that unblocks NMIs faulting on EPT: qualification bit 12;
;   9. an instruction straddling into a page without X after one that does
;      not: it exits when executed, not when the trace builder looks ahead;
;  10. INVEPT in the guest (protected mode without paging): exit 50;
;  11. PAE paging: the PDPTEs from the VMCS, saved back; guest walks via EPT;
;  12. PML: dirty flags set 0 -> 1 log guest-physical addresses (a 2 MiB page
;      too) and count the index down; then the log is full: exit 62 before
;      the write, nothing set; with room again the write completes;
;  13. VMFUNC EPTP switching: a read through the old EPT pointer, VMFUNC 0 to
;      a second EPT that maps the page elsewhere (the old translation must not
;      survive), exits 59 for an invalid list entry, an index above 511 and a
;      function not enabled, back to the first; #UD with the control clear
;      (an exception-bitmap exit) and in root operation;
;  14. EPT A flags on failing walks (29.3.5): a read through a PDE (A clear)
;      to a not-present PTE sets the PDE's A; a write to a read-only page
;      whose A is clear leaves it clear (the leaf only for allowed accesses);
;  15. EPT-violation #VE: a convertible violation in protected mode is a #VE
;      (here an exception-bitmap exit, vector 20) with the information area
;      filled in; then not again while its semaphore is set, not with the
;      entry's suppress-#VE bit, not with CR0.PE clear: EPT violations;
;  16. a 5-level EPT walk (EPTP page-walk length 5): a PML5 table above the
;      same PML4; its entry gets A;
; then INVEPT's VMfail cases in root operation (type 0, a bad EPT pointer).
%define TEST "vmx_ept"
	org 0xf0000
%include "pm.inc"
%include "vmx.inc"

PD	equ 0x10000		; host page directory: 4 MiB identity pages (PSE)
VMXON_R	equ 0x20000
VMCS_R	equ 0x21000
EPT4	equ 0x40000		; EPT PML4
EPT3	equ 0x41000		; EPT PDPT
EPT2	equ 0x42000		; EPT PD
EPT1	equ 0x43000		; EPT PT: guest-physical 0-1FFFFFh
EPT1B	equ 0x44000		; EPT PT under a PDE without W
EPTP	equ EPT4 | 0x5e		; WB, 4 levels, A/D
HSTACK	equ 0x6800
V_DESC	equ 0x610		; INVEPT descriptor (16 bytes)
MAGIC	equ 0x600010		; host-physical behind guest-physical 400010h
PMLB	equ 0x46000		; the page-modification log
EPT4B	equ 0x47000		; a second EPT (EPTP switching): PML4
EPT3B	equ 0x48000
EPT2B	equ 0x49000
EPT1C	equ 0x4a000		; a copy of EPT1 but page 8 -> 4C000h
EPTPL	equ 0x4b000		; the EPTP list
EPTPB	equ EPT4B | 0x5e
VEI	equ 0x4d000		; the virtualization-exception information area
EPT5	equ 0x4e000		; an EPT PML5 table (5-level walks)

; enter <vmlaunch|vmresume>, number: enter the guest; its exit continues here
%macro enter 2
	mov eax, 0x6c16
	mov ebx, %%back
	vmwrite eax, ebx
	%1
	mov eax, %2
	jmp fail
%%back:
%endmacro
%macro guest_at 1 ; the guest continues at a label (CS base F0000h)
	vmw 0x681e, %1 - 0xf0000
%endmacro
%macro pte 2 ; guest-physical page number, EPT entry
	mov dword [EPT1 + (%1) * 8], %2
%endmacro

main:
	mov eax, 1
	cpuid
	test ecx, 1 << 5
	check 1, nz
	mov ecx, 0x48b			; EPT and unrestricted guest allowed-1
	rdmsr
	and edx, (1 << 1) | (1 << 7)
	cmp edx, (1 << 1) | (1 << 7)
	check 2, e
	mov ecx, 0x48c			; 4 levels, WB, 2 MiB, INVEPT single/all, A/D
	rdmsr
	and eax, 0x06314040
	cmp eax, 0x06314040
	check 3, e
	mov dword [PD], 0x83
	mov dword [PD + 4], 0x400083
	mov eax, PD
	mov cr3, eax
	mov eax, cr4
	or eax, 1 << 4			; PSE
	mov cr4, eax
	mov eax, cr0
	or eax, 1 << 31
	mov cr0, eax
	cld
	mov edi, EPT4
	mov ecx, 0x5000 / 4
	xor eax, eax
	rep stosd
	vmx_on

	; ---- EPT: identity for 0-1FFFFFh in 4 KiB pages, RWX, WB ----
	mov dword [EPT4], EPT3 | 7
	mov dword [EPT3], EPT2 | 7
	mov dword [EPT2], EPT1 | 7
	mov dword [EPT2 + 8], EPT1B | 5		; 200000h: R and X, no W
	mov dword [EPT2 + 16], 0x600000 | 0xb7	; 400000h: 2 MiB page at 600000h
	mov dword [EPT1B], 0x300002		; write-only: misconfigured
	mov edi, EPT1
	mov eax, 0x37
	mov ecx, 512
.pt:	mov [edi], eax
	add eax, 0x1000
	add edi, 8
	loop .pt
	pte 5, 0x5031			; read-only
	pte 6, 0x6033			; no X
	pte 0xb, 0			; not present
	pte 0xc, 0			; not present
	mov dword [MAGIC], 0x12345678

	; ---- the VMCS ----
	ctl 0x48d, 0, 0x4000
	ctl 0x48e, (1 << 7) | (1 << 24) | (1 << 31), 0x4002	; HLT, unconditional I/O
	ctl 0x48b, (1 << 1) | (1 << 7), 0x401e			; EPT, unrestricted guest
	ctl 0x48f, 0, 0x400c
	ctl 0x490, 0, 0x4012
	vmw 0x201a, EPTP
	vmw 0x201b, 0
	vmw 0x2800, 0xffffffff
	vmw 0x2801, 0xffffffff
	host_state HSTACK
	; The guest: real mode (CR0.PE = PG = 0), CS F000h, data segments at 0, FS
	; and GS with bases beyond 1 MiB (26.3.1.2 allows any base for them).
	vmw 0x6800, (1 << 5) | (1 << 4)	; NE, ET
	vmw 0x6802, 0
	vmw 0x6804, 1 << 13
%assign f 0
%rep 6
	vmw 0x0800 + f * 2, 0
	vmw 0x4800 + f * 2, 0xffff
	vmw 0x4814 + f * 2, 0x93
	vmw 0x6806 + f * 2, 0
%assign f f + 1
%endrep
	vmw 0x0802, 0xf000
	vmw 0x6808, 0xf0000
	vmw 0x4816, 0x9b
	vmw 0x680e, 0x200000		; FS base
	vmw 0x6810, 0x400000		; GS base
	vmw 0x4822, 0x8b		; TR: busy, base 0
	vmw 0x480e, 0xffff
	vmw 0x4820, 0x10000		; LDTR unusable
	vmw 0x4810, 0xffff
	vmw 0x4812, 0x3ff
	vmw 0x681c, 0x7c00
	vmw 0x6820, 2
	guest_at g1

	; 1: real mode runs; OUT 80h exits (I/O, port 80h, 1 byte, immediate).
	enter vmlaunch, 10
	cmp al, 42
	check 11, e
	exit_is 12, 30, 0x800040
	field_is 13, 0x6800, 0x30	; CR0: still PE = PG = 0
	guest_at g2

	; 2: a write to the read-only page (29.3.3.2, table 28-7).
	enter vmresume, 20
	exit_is 21, 48, 0x18a
	field_is 22, 0x2400, 0x5000
	field_is 23, 0x640a, 0x5000
	pte 5, 0x5033
	mov dword [V_DESC], EPTP
	mov dword [V_DESC + 4], 0
	mov eax, 1
	invept eax, [V_DESC]		; single-context
	check 24, nbe

	; 3: the write now succeeds; a read of a not-present page.
	enter vmresume, 30
	exit_is 31, 48, 0x181
	field_is 32, 0x2400, 0xb000
	field_is 33, 0x640a, 0xb000
	cmp word [0x5000], 0x4321	; the write of step 2 happened
	check 34, e
	pte 0xb, 0xb031

	; 4: misconfiguration below a level without W: exit 49, no
	; qualification, guest-linear still the previous exit's (27.2.1).
	enter vmresume, 40
	exit_is 41, 49, 0
	field_is 42, 0x2400, 0x200000
	field_is 43, 0x640a, 0xb000
	guest_at g5
	pte 9, 0x9037			; A and D clear
	pte 0xa, 0xa037

	; 5: EPT A/D (29.3.5).
	enter vmresume, 50
	exit_is 51, 18, 0		; VMCALL after a read
	mov eax, [EPT1 + 9 * 8]
	and eax, 0x300
	cmp eax, 0x100
	check 52, e
	guest_at g5b
	enter vmresume, 53
	exit_is 54, 18, 0		; VMCALL after a write
	mov eax, [EPT1 + 9 * 8]
	and eax, 0x300
	cmp eax, 0x300
	check 55, e
	test dword [EPT1 + 0xa * 8], 0x300
	check 56, z
	test dword [EPT1 + ((g5 - $$ + 0xf0000) >> 12) * 8], 0x100 ; the code page was fetched
	check 57, nz
	test dword [EPT2], 0x100		; so was the PDE
	check 58, nz
	guest_at g6

	; 6: the 2 MiB page.
	enter vmresume, 60
	cmp eax, 0x12345678		; the guest's EAX, before anything uses it
	check 62, e
	exit_is 61, 18, 0
	guest_at g7

	; 7: a fetch from a page without X.
	enter vmresume, 70
	exit_is 71, 48, 0x19c
	field_is 72, 0x2400, 0x6000
	field_is 73, 0x640a, 0x6000
	field_is 74, 0x4824, 0		; no NMI blocking

	; 8: IRET with NMIs blocked popping from a not-present page: bit 12
	; (NMI unblocking due to IRET), and the saved state shows NMIs unblocked
	; (28.2.3).
	vmw 0x0802, 0xf000		; CS back to F000h (step 7 left it 0)
	vmw 0x6808, 0xf0000
	guest_at g8
	vmw 0x4824, 8			; blocking by NMI
	enter vmresume, 75
	exit_is 76, 48, 0x1181
	field_is 77, 0x2400, 0xcffa
	field_is 78, 0x4824, 0

	; 9: an instruction that straddles into a page without X, right after
	; one that does not: the trace builder's look-ahead fetch of the second
	; must not exit (it drops the fault); executing it does, at its own RIP.
	mov dword [EPT1 + ((g9_next - $$ + 0xf0000) >> 12) * 8], ((g9_next - $$ + 0xf0000) & ~0xfff) | 0x33
	guest_at g9
	vmw 0x4824, 0
	enter vmresume, 85
	exit_is 86, 48, 0x19c
	field_is 87, 0x2400, (g9_next - $$ + 0xf0000) & ~0xfff
	field_is 88, 0x681e, g9_mov - 0xf0000

	; 10: INVEPT in non-root operation (16-bit protected mode, paging off:
	; PE alone, as unrestricted guest allows) exits, reason 50, with the
	; displacement as qualification (27.2.1).
	vmw 0x6800, 0x31		; PE, NE, ET
	guest_at g10
	enter vmresume, 89
	exit_is 90, 50, 0x700

	; 11: PAE paging under EPT: the PDPTEs come from the VMCS guest-PDPTE
	; fields (26.3.2.4), not from the table CR3 names (all not present here),
	; and are saved back on exit (27.3.4); the guest's PDE read goes through
	; EPT as a write (EPT A/D: A and D set, 29.3.5).
	mov dword [0xd000], 0		; the PDPT in memory: not present
	mov dword [0xd004], 0
	mov dword [0xe000], 0x83	; PD: a 2 MiB identity page
	mov dword [0xe004], 0
	pte 0xd, 0xd037
	pte 0xe, 0xe037
	vmw 0x280a, 0xe001		; guest PDPTE0
	vmw 0x280b, 0
	vmw 0x6800, 0x80000031		; PG, PE, NE, ET
	vmw 0x6802, 0xd000
	vmw 0x6804, (1 << 13) | (1 << 5)	; VMXE, PAE
	guest_at g11
	enter vmresume, 91
	exit_is 92, 18, 0
	field_is 93, 0x280a, 0xe001
	mov eax, [EPT1 + 0xe * 8]
	and eax, 0x300
	cmp eax, 0x300
	check 94, e
	test dword [EPT1 + 0xd * 8], 0x100
	check 95, z

	; 12: PML (29.3.6): with EPT A/D, each EPT dirty flag the processor sets
	; from 0 to 1 first logs the guest-physical address (bits 11:0 clear) at
	; PML address + 8 * index and decrements the index; with the index
	; outside 0-511 a page-modification log-full exit (62, qualification 0:
	; no IRET here, 27.2.1) happens instead, before the write, and no EPT
	; flag is set.
	mov ecx, 0x48b
	rdmsr
	test edx, 1 << 17		; "enable PML" allowed
	check 100, nz
	ctl 0x48b, (1 << 1) | (1 << 7) | (1 << 17), 0x401e
	vmw 0x200e, PMLB
	vmw 0x200f, 0
	vmw 0x0812, 2			; three entries: 2, 1, 0
	mov edi, PMLB
	mov ecx, 0x1000 / 4
	xor eax, eax
	rep stosd
	pte 7, 0x7037			; A and D clear (the stack of step 1 set them)
	pte 9, 0x9037
	pte 0xa, 0xa037
	mov word [0x7000], 0x5555
	vmw 0x6800, 0x30		; back to real mode
	vmw 0x6802, 0
	vmw 0x6804, 1 << 13
	vmw 0x6810, 0x400000		; GS base: the 2 MiB page
	guest_at g12
	enter vmresume, 101
	exit_is 102, 62, 0
	field_is 103, 0x681e, g12_full - 0xf0000	; fault-like: at the write
	field_is 104, 0x0812, 0xffff
	cmp dword [PMLB + 16], 0x9000
	check 105, e
	cmp dword [PMLB + 8], 0x401000
	check 106, e
	cmp dword [PMLB], 0xa000
	check 107, e
	cmp dword [PMLB + 24], 0	; nothing above the first index
	check 108, e
	test dword [EPT1 + 7 * 8], 0x300	; neither A nor D on the full event
	check 109, z
	cmp word [0x7000], 0x5555	; the write did not happen
	check 110, e
	test dword [EPT1 + 0xa * 8], 0x200	; D on the pages logged
	check 111, nz
	; An accessed flag to set is enough for the log-full exit (29.3.6): a
	; read of page 8 (A clear) exits too, and leaves it clear.
	pte 8, 0x8037
	guest_at g12_read
	enter vmresume, 96
	exit_is 97, 62, 0
	test dword [EPT1 + 8 * 8], 0x100
	check 98, z
	guest_at g12_full
	vmw 0x0812, 5
	enter vmresume, 112
	exit_is 113, 18, 0
	cmp dword [PMLB + 40], 0x7000
	check 114, e
	field_is 115, 0x0812, 4
	cmp word [0x7000], 5
	check 116, e

	; 13: VM functions, EPTP switching (25.5.6.3, 30.3 VMFUNC). The list:
	; 0 the first EPT, 1 the second, 2 memory type 7 (VM entry would reject
	; it). The guest reads 8000h through the first (1111h), switches, reads
	; it through the second (2222h, at 4C000h), then an invalid entry exits.
	mov ecx, 0x48b
	rdmsr
	test edx, 1 << 13		; "enable VM functions" allowed
	check 117, nz
	mov ecx, 0x491			; IA32_VMX_VMFUNC: EPTP switching (A.11)
	rdmsr
	test eax, 1
	check 117, nz
	cld
	mov edi, EPT4B
	mov ecx, 0x5000 / 4
	xor eax, eax
	rep stosd
	mov esi, EPT2
	mov edi, EPT2B
	mov ecx, 0x1000 / 4
	rep movsd
	mov esi, EPT1
	mov edi, EPT1C
	mov ecx, 0x1000 / 4
	rep movsd
	mov dword [EPT4B], EPT3B | 7
	mov dword [EPT3B], EPT2B | 7
	mov dword [EPT2B], EPT1C | 7
	mov dword [EPT1C + 8 * 8], 0x4c037
	mov dword [EPTPL], EPTP
	mov dword [EPTPL + 8], EPTPB
	mov dword [EPTPL + 16], EPT4 | 0x1f
	mov word [0x8000], 0x1111
	mov word [0x4c000], 0x2222
	ctl 0x48b, (1 << 1) | (1 << 7) | (1 << 13) | (1 << 17), 0x401e
	vmw 0x2018, 1			; VM-function controls: EPTP switching
	vmw 0x2019, 0
	vmw 0x2024, EPTPL
	vmw 0x2025, 0
	guest_at g13
	enter vmresume, 118
	cmp bx, 0x1111			; the guest's registers: before the first
	check 119, e
	cmp dx, 0x2222			; and after the switch
	check 119, e
	exit_is 120, 59, 0
	field_is 120, 0x681e, g13_bad - 0xf0000	; at the VMFUNC
	field_is 120, 0x440c, 3
	field_is 121, 0x201a, EPTPB	; the EPT pointer field was written
	field_is 121, 0x0004, 1		; and the EPTP index (#VE is supported)
	guest_at g13b			; ECX = 512
	enter vmresume, 122
	exit_is 122, 59, 0
	field_is 122, 0x681e, g13b_vmfunc - 0xf0000
	guest_at g13c			; EAX = 1: not enabled
	enter vmresume, 123
	exit_is 123, 59, 0
	field_is 123, 0x681e, g13c_vmfunc - 0xf0000
	guest_at g13d			; back to entry 0
	enter vmresume, 124
	cmp dx, 0x1111
	check 125, e
	exit_is 125, 18, 0
	field_is 125, 0x201a, EPTP
	; "enable VM functions" clear: #UD (exits through the exception bitmap).
	ctl 0x48b, (1 << 1) | (1 << 7) | (1 << 17), 0x401e
	vmw 0x4004, 1 << 6
	guest_at g13d
	enter vmresume, 126
	exit_is 126, 0, 0
	field_is 126, 0x4404, 0x80000306
	vmw 0x4004, 0
	; Outside non-root operation: #UD (30.3).
	faulting vmfunc
	expect 127, 6, 0xffffffff

	; 14: EPT accessed flags on a walk that ends in a violation (29.3.5):
	; every non-leaf entry the walk followed was used, so its A is set; the
	; leaf's A (and D) only for an access that is allowed. The PDE for
	; 200000h (FS base) is used by nothing else, its PTE 1 is not present.
	mov dword [EPT2 + 8], EPT1B | 5	; A clear
	pte 0xf, 0xf031			; read-only, A clear
	guest_at g14
	enter vmresume, 4
	exit_is 5, 48, 0x181
	field_is 6, 0x2400, 0x201000
	test dword [EPT2 + 8], 0x100	; the PDE was used
	check 7, nz
	guest_at g14b
	enter vmresume, 8
	exit_is 9, 48, 0x18a
	test dword [EPT1 + 0xf * 8], 0x300	; the leaf: neither A nor D
	check 14, z

	; 15: EPT-violation #VE (25.5.7). A convertible EPT violation (bit 63 of
	; the not-present entry clear) with CR0.PE set, outside event delivery
	; and with the semaphore at offset 4 clear is a #VE (vector 20, a
	; fault), which exits here by the exception bitmap; the information
	; area gets reason, semaphore, qualification, addresses, EPTP index.
	mov ecx, 0x48b
	rdmsr
	test edx, 1 << 18
	check 15, nz
	ctl 0x48b, (1 << 1) | (1 << 7) | (1 << 17) | (1 << 18), 0x401e
	mov edi, VEI
	mov ecx, 0x1000 / 4
	xor eax, eax
	rep stosd
	vmw 0x202a, VEI
	vmw 0x202b, 0
	vmw 0x0004, 7			; EPTP index
	vmw 0x4004, 1 << 20
	vmw 0x6800, 0x31		; PE, NE, ET (paging off)
	pte 0xc, 0			; not present, bit 63 clear
	guest_at g15
	enter vmresume, 16
	exit_is 17, 0, 0
	field_is 18, 0x4404, 0x80000314	; hardware exception 20, no error code
	field_is 19, 0x681e, g15 - 0xf0000	; a fault: at the instruction
	cmp dword [VEI], 48
	check 25, e
	cmp dword [VEI + 4], 0xffffffff
	check 26, e
	cmp dword [VEI + 8], 0x181
	check 27, e
	cmp dword [VEI + 16], 0xc000
	check 28, e
	cmp dword [VEI + 24], 0xc000
	check 29, e
	cmp word [VEI + 32], 7
	check 35, e
	; The semaphore is set: the same access is an EPT violation.
	enter vmresume, 36
	exit_is 37, 48, 0x181
	; Suppress #VE (bit 63 of the not-present entry): a violation.
	mov dword [VEI + 4], 0
	mov dword [EPT1 + 0xc * 8 + 4], 0x80000000
	enter vmresume, 38
	exit_is 39, 48, 0x181
	; CR0.PE clear (real mode): a violation.
	mov dword [EPT1 + 0xc * 8 + 4], 0
	vmw 0x6800, 0x30
	enter vmresume, 44
	exit_is 45, 48, 0x181
	cmp dword [VEI + 4], 0		; untouched by the violations
	check 46, e
	vmw 0x4004, 0

	; 16: a 5-level EPT walk (IA32_VMX_EPT_VPID_CAP bit 7; EPTP bits 5:3 = 4,
	; 24.6.11): the PML5E (index bits 56:48, so 0 here) points to the PML4.
	mov ecx, 0x48c
	rdmsr
	test eax, 1 << 7
	check 47, nz
	mov edi, EPT5
	mov ecx, 0x1000 / 4
	xor eax, eax
	rep stosd
	mov dword [EPT5], EPT4 | 7
	vmw 0x201a, EPT5 | 0x66		; WB, 5 levels, A/D
	guest_at g16
	enter vmresume, 48
	exit_is 49, 18, 0
	cmp dx, 0x1111			; read through the five levels
	check 59, e
	test dword [EPT5], 0x100	; the PML5E was used
	check 63, nz
	vmw 0x201a, EPTP

	; INVEPT in root operation: type 0 and a bad EPT pointer fail (28).
	xor eax, eax
	invept eax, [V_DESC]
	check 80, z
	field_is 81, 0x4400, 28
	mov dword [V_DESC], EPT4 | 0x1f	; memory type 7
	mov eax, 1
	invept eax, [V_DESC]
	check 82, z
	field_is 83, 0x4400, 28
	mov eax, 2
	invept eax, [V_DESC]		; all-context ignores the descriptor
	check 84, nbe
	jmp pass

; ---- the guest: 16-bit real mode ----
	bits 16
g1:	mov ax, 6
	mov bx, 7
	mul bx
	push ax
	pop cx
	mov al, cl
	out 0x80, al
	hlt
g2:	mov ax, [0x5000]
	mov word [0x5000], 0x4321	; an immediate: the host has the GPRs meanwhile
	mov ax, [0xb000]
	mov byte [fs:0], 1
	hlt
g5:	mov ax, [0x9000]
	vmcall
g5b:	mov [0x9000], ax
	vmcall
g6:	mov eax, [gs:0x10]
	vmcall
g7:	jmp 0:0x6000
g8:	mov sp, 0xcffa
	iret
g10:	invept eax, [0x700]
g11:	mov ax, [0x5000]
	vmcall
g12:	mov word [0x9000], 1		; logged at index 2
	mov word [0x9008], 2		; dirty already: not logged
	mov byte [gs:0x1010], 3		; the 2 MiB page: 401000h at index 1
	mov ax, [0xa000]		; a read: not logged
	mov word [0xa000], 4		; index 0
g12_full:
	mov word [0x7000], 5		; index FFFFh: log full
	vmcall
g12_read:
	mov ax, [0x8000]
	vmcall
g14:	mov al, [fs:0x1000]		; PTE 1 under the PDE: not present
g14b:	mov byte [0xf000], 1		; read-only
g15:	mov al, [0xc000]		; not present
g16:	mov dx, [0x8000]
	vmcall
g13:	mov ax, [0x8000]		; 1111h, through EPTP list entry 0
	mov bx, ax
	mov eax, 0			; function 0: EPTP switching
	mov ecx, 1
	vmfunc
	mov dx, [0x8000]		; 2222h: the TLB entry is gone
	mov ecx, 2
g13_bad:
	vmfunc				; memory type 7: exit 59
g13b:	mov eax, 0
	mov ecx, 512
g13b_vmfunc:
	vmfunc
g13c:	mov eax, 1
	mov ecx, 0
g13c_vmfunc:
	vmfunc
g13d:	mov eax, 0
	mov ecx, 0
	vmfunc
	mov dx, [0x8000]
	vmcall
	times 0xffe - (($ - $$) & 0xfff) nop
g9:	nop				; the last byte but one of a page
g9_mov:	mov ax, 0x1234			; B8 34 12: two bytes on the next page
g9_next:
	bits 32

%include "pm_end.inc"
