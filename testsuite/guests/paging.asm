; fugu guest test: paging from the reset vector (SDM vol. 3A, chapter 4).
; Real mode -> protected mode -> 32-bit paging: translation, accessed/dirty
; flags, #PF error codes and CR2 at ring 0 and ring 3 (through a TSS stack
; switch), CR0.WP, INVLPG against a stale translation, global pages across
; MOV CR3; then PAE paging: PDPTE #GP, 2 MiB pages, NX with EFER.NXE, reserved
; bits. The first failure prints "paging: FAIL n" and exits with n; success
; prints "paging: PASS" and exits with 0 (fugu status 1).
%include "report.mac"
	bits 16
	org 0

BASE	equ 0xf0000		; linear address of this ROM; CS bases point here
GDT	equ 0x0800		; RAM copies of the tables
IDT	equ 0x1000
TSS	equ 0x2000
KSTACK	equ 0x9000
USTACK	equ 0x8000		; top of the user stack page 0x7000
PD	equ 0x10000		; 32-bit paging: page directory
PT0	equ 0x11000		; identity map of 0-4 MiB
PT1	equ 0x12000		; lin 0x400000..
PDPT	equ 0x14000		; PAE paging
PAE_PD	equ 0x15000
PAE_PT	equ 0x16000
BADPDPT	equ 0x17000

; Variables in page 0, which the ring-3 part may read and write.
V_VEC	equ 0x600		; vector of the last fault (0xff: none)
V_ERR	equ 0x604
V_CR2	equ 0x608
V_RESUME equ 0x60c		; where the fault handler resumes
R_BASE	equ 0x640		; results recorded by ring-3 code

%macro check 2 ; check <number>, <condition code that means success>
	j%2 %%ok
	mov al, %1
	jmp fail
%%ok:
%endmacro

; faulting <instruction>: run it with the handler set to resume after it.
%macro faulting 1+
	mov dword [V_VEC], 0xff
	mov dword [V_RESUME], %%after
	%1
%%after:
%endmacro

; expect_fault <number>, <vector>, <error code>, <cr2>
%macro expect_fault 4
	cmp dword [V_VEC], %2
	check %1, e
	cmp dword [V_ERR], %3
	check %1, e
	cmp dword [V_CR2], %4
	check %1, e
%endmacro

%macro expect_no_fault 1
	cmp dword [V_VEC], 0xff
	check %1, e
%endmacro

start:
	cli
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, 0x7000
	mov si, gdt
	mov di, GDT
	mov cx, gdt_end - gdt
	cld
	cs rep movsb
	lgdt [cs:gdtr]
	mov eax, cr0
	or al, 1
	mov cr0, eax
	jmp dword 0x08:pm32

	bits 32
pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov fs, ax
	mov gs, ax
	mov esp, KSTACK

	; IDT: #GP, #PF (ring 0 interrupt gates), INT 0x30 callable from ring 3.
	mov edi, IDT
	xor eax, eax
	mov ecx, 0x800 / 4
	rep stosd
	mov eax, 13
	mov ebx, gp_handler
	mov ecx, 0x8e00
	call set_gate
	mov eax, 14
	mov ebx, pf_handler
	call set_gate
	mov eax, 0x30
	mov ebx, back_to_ring0
	mov ecx, 0xee00
	call set_gate
	lidt [cs:idtr]
	; TSS: ring-0 stack for interrupts from ring 3.
	mov dword [TSS + 4], KSTACK
	mov dword [TSS + 8], 0x10
	mov ax, 0x28
	ltr ax

	; Page tables. PT0: identity, supervisor RW, except user pages for page 0
	; (variables), the user stack and this ROM.
	mov edi, PT0
	mov eax, 0x003
	mov ecx, 1024
.id:	mov [edi], eax
	add eax, 0x1000
	add edi, 4
	loop .id
	or dword [PT0 + 0 * 4], 4
	or dword [PT0 + 7 * 4], 4
	mov ecx, 0xf0
.rom:	or dword [PT0 + ecx * 4], 4
	inc ecx
	cmp ecx, 0x100
	jb .rom
	mov dword [PD + 0 * 4], PT0 | 7
	mov dword [PD + 1 * 4], PT1 | 7
	mov dword [PT1 + 0 * 4], 0x100000 | 3	; supervisor RW
	mov dword [PT1 + 1 * 4], 0x101000 | 5	; user RO
	mov dword [PT1 + 2 * 4], 0x102000 | 3
	mov dword [PT1 + 3 * 4], 0		; not present
	mov dword [PT1 + 4 * 4], 0x104000 | 1	; supervisor RO
	mov dword [0x100000], 0x11111111
	mov dword [0x101000], 0x22222222
	mov dword [0x102000], 0x33333333
	mov dword [0x103000], 0x44444444
	mov eax, PD
	mov cr3, eax
	mov eax, cr0
	or eax, 0x80000000
	mov cr0, eax

	; 1-6: translation; accessed flag on both levels, dirty on the PTE of a write only.
	mov eax, [0x400000]
	cmp eax, 0x11111111
	check 1, e
	test dword [PT1], 0x20
	check 2, nz
	test dword [PT1], 0x40
	check 3, z
	mov dword [0x400004], 5
	test dword [PT1], 0x40
	check 4, nz
	test dword [PD + 4], 0x20
	check 5, nz
	test dword [PD + 4], 0x40
	check 6, z
	cmp dword [0x100004], 5
	check 6, e

	; 7-9: #PF for a not-present page: error code, CR2, the instruction restarts
	; (nothing changed); a write sets W/R.
	mov ebx, 0x1234
	faulting mov ebx, [0x403010]
	expect_fault 7, 14, 0, 0x403010
	cmp ebx, 0x1234
	check 8, e
	faulting mov dword [0x403ffc], 1
	expect_fault 9, 14, 2, 0x403ffc

	; 10-11: CR0.WP: supervisor writes to read-only pages.
	faulting mov dword [0x404000], 1
	expect_no_fault 10
	mov eax, cr0
	or eax, 1 << 16
	mov cr0, eax
	faulting mov dword [0x404008], 1
	expect_fault 11, 14, 3, 0x404008
	faulting mov dword [0x401000], 1
	expect_fault 11, 14, 3, 0x401000

	; 12-13: INVLPG. The TLB keeps the old translation until it is invalidated
	; (as processors do; the SDM allows either until INVLPG).
	cmp dword [0x400000], 0x11111111	; (re)load the TLB: the WP change flushed it
	check 12, e
	mov dword [PT1], 0x101000 | 3
	cmp dword [0x400000], 0x11111111
	check 12, e
	invlpg [0x400000]
	cmp dword [0x400000], 0x22222222
	check 13, e

	; 14-17: global pages (CR4.PGE) survive MOV CR3; others do not; clearing PGE
	; drops them.
	mov eax, cr4
	or eax, 0x80
	mov cr4, eax
	mov dword [PT1 + 2 * 4], 0x102000 | 0x103
	cmp dword [0x402000], 0x33333333
	check 14, e
	cmp dword [0x400000], 0x22222222
	check 14, e
	mov dword [PT1 + 2 * 4], 0x103000 | 0x103
	mov dword [PT1], 0x100000 | 3
	mov eax, cr3
	mov cr3, eax
	cmp dword [0x402000], 0x33333333
	check 15, e
	cmp dword [0x400000], 0x11111111
	check 16, e
	mov eax, cr4
	and eax, ~0x80
	mov cr4, eax
	cmp dword [0x402000], 0x44444444
	check 17, e

	; 18-21: ring 3. IRET to user code, which records four accesses and comes
	; back through INT 0x30.
	mov dword [V_RESUME], 0
	push dword 0x23
	push dword USTACK
	push dword 0x2
	push dword 0x1b
	push dword ring3
	iretd

back_to_ring0:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov esp, KSTACK
	cmp dword [R_BASE + 0], 5		; user read of a supervisor page: P|U
	check 18, e
	cmp dword [R_BASE + 4], 0x400000
	check 18, e
	cmp dword [R_BASE + 8], 7		; user write of a read-only page: P|W|U
	check 19, e
	cmp dword [R_BASE + 12], 0x401004
	check 19, e
	cmp dword [R_BASE + 16], 0x22222222	; user read of a user page
	check 20, e
	cmp dword [R_BASE + 20], 4		; not present, user read: U
	check 21, e
	cmp dword [R_BASE + 24], 0x403000
	check 21, e

	; 22-: PAE paging. Paging off, new tables, PAE on, paging on.
	mov eax, cr0
	and eax, 0x7fffffff
	mov cr0, eax
	mov dword [PDPT], PAE_PD | 1
	mov dword [PAE_PD + 0 * 8], 0x000083	; 2 MiB identity page: P|RW|PS
	mov dword [PAE_PD + 2 * 8], PAE_PT | 3
	mov dword [PAE_PT + 0 * 8], 0x100000 | 3
	mov dword [PAE_PT + 1 * 8], 0x105000 | 3
	mov dword [PAE_PT + 1 * 8 + 4], 0x80000000	; XD
	mov dword [PAE_PT + 2 * 8], 0x105000 | 3
	mov dword [PAE_PT + 3 * 8], 0x106000 | 3
	mov dword [PAE_PT + 3 * 8 + 4], 0x00100000	; bit 52: reserved (M = 36)
	mov byte [0x105000], 0xc3		; RET
	mov dword [BADPDPT], PAE_PD | 3		; bit 1 is reserved in a PDPTE
	mov eax, cr4
	or eax, 0x20
	mov cr4, eax
	mov eax, PDPT
	mov cr3, eax
	mov eax, cr0
	or eax, 0x80000000
	mov cr0, eax
	cmp dword [0x400000], 0x11111111
	check 22, e
	cmp dword [0x100000], 0x11111111	; through the 2 MiB page
	check 23, e
	test dword [PAE_PD + 2 * 8], 0x20
	check 24, nz
	test dword [PAE_PT], 0x20
	check 24, nz
	test dword [PAE_PD], 0x20
	check 24, nz
	; 25: a reserved bit in a PDPTE: MOV CR3 raises #GP(0) and CR3 is unchanged.
	mov eax, BADPDPT
	faulting mov cr3, eax
	cmp dword [V_VEC], 13
	check 25, e
	cmp dword [V_ERR], 0
	check 25, e
	mov eax, cr3
	cmp eax, PDPT
	check 25, e
	; 26: without EFER.NXE the XD bit is reserved: RSVD, no I/D.
	faulting mov eax, [0x401000]
	expect_fault 26, 14, 9, 0x401000
	; 27-28: with NXE, fetching from an XD page faults with I/D; the same code
	; through a page without XD runs.
	mov ecx, 0xc0000080
	rdmsr
	or eax, 0x800
	wrmsr
	mov eax, 0x401000 - BASE
	faulting jmp eax
	expect_fault 27, 14, 0x11, 0x401000
	mov eax, 0x402000 - BASE
	call eax
	cmp dword [0x401000], 0xc3		; XD pages are readable
	check 28, e
	; 29: bits 62:M are reserved in PAE entries.
	faulting mov eax, [0x403000]
	expect_fault 29, 14, 9, 0x403000

	mov esi, pass_msg
	call puts
	mov al, 0
	out 0xf4, al
	hlt

fail:
	mov bl, al
	mov esi, fail_msg
	call puts
	report_number_and_exit
	hlt

; Ring-3 part: each fault is recorded in R_BASE by copying V_ERR/V_CR2.
ring3:
	mov ax, 0x23			; IRET to ring 3 nulled DS/ES (DPL 0)
	mov ds, ax
	mov es, ax
	faulting mov eax, [0x400000]
	mov eax, [V_ERR]
	mov [R_BASE + 0], eax
	mov eax, [V_CR2]
	mov [R_BASE + 4], eax
	faulting mov dword [0x401004], 1
	mov eax, [V_ERR]
	mov [R_BASE + 8], eax
	mov eax, [V_CR2]
	mov [R_BASE + 12], eax
	mov eax, [0x401000]
	mov [R_BASE + 16], eax
	faulting mov eax, [0x403000]
	mov eax, [V_ERR]
	mov [R_BASE + 20], eax
	mov eax, [V_CR2]
	mov [R_BASE + 24], eax
	int 0x30

; set_gate: IDT[eax] = 32-bit gate to CS 0x08:ebx with type/DPL bits in ecx.
set_gate:
	lea edi, [IDT + eax * 8]
	mov edx, ebx
	and edx, 0xffff
	or edx, 0x08 << 16
	mov [edi], edx
	mov edx, ebx
	and edx, 0xffff0000
	or edx, ecx
	mov [edi + 4], edx
	ret

; Fault handlers: record vector, error code and CR2; resume at V_RESUME.
pf_handler:
	push eax
	mov dword [V_VEC], 14
	mov eax, cr2
	mov [V_CR2], eax
	jmp handler_common
gp_handler:
	push eax
	mov dword [V_VEC], 13
	mov dword [V_CR2], -1
handler_common:
	mov eax, [esp + 4]
	mov [V_ERR], eax
	mov eax, [V_RESUME]
	mov [esp + 8], eax
	pop eax
	add esp, 4
	iretd

; puts: print the NUL-terminated string at CS:ESI to port 0xe9.
puts:
	push eax
.next:	cs lodsb
	test al, al
	jz .done
	out 0xe9, al
	jmp .next
.done:	pop eax
	ret

	align 8
gdt:	dq 0
	dw 0xffff, 0x0000, 0x9a0f, 0x00cf	; 0x08 ring-0 code, base BASE
	dw 0xffff, 0x0000, 0x9200, 0x00cf	; 0x10 ring-0 data, flat
	dw 0xffff, 0x0000, 0xfa0f, 0x00cf	; 0x18 ring-3 code, base BASE
	dw 0xffff, 0x0000, 0xf200, 0x00cf	; 0x20 ring-3 data, flat
	dw 0x0067, TSS, 0x8900, 0x0000		; 0x28 32-bit TSS
gdt_end:
gdtr:	dw gdt_end - gdt - 1
	dd GDT
idtr:	dw 0x7ff
	dd IDT

pass_msg: db "paging: PASS", 10, 0
fail_msg: db "paging: FAIL ", 0

	times 0xfff0 - ($ - $$) db 0xff
	bits 16
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
