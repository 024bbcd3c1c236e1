; fugu benchmark guest: the cost of one VMX level (issue 12). A 32-bit host
; with paging (pm.inc, vmx.inc) runs the same integer workload in VMX root
; operation (L1) and as a VMX guest (L2), and times VM-exit round trips:
;   PHASES bit 0  "l1"         the workload in root operation
;          bit 1  "l2_ept"     the workload in a guest under EPT (identity,
;                              2 MiB pages, WB) with VPID 1
;          bit 2  "l2_noept"   the workload in a guest without EPT or VPID:
;                              its CR3 names the host's own page directory,
;                              so the guest's paging is the only translation
;          bit 3  "exits_ept"  EXITS CPUIDs in a guest under EPT and VPID, each
;                              exiting (CPUID always exits, SDM vol. 3C, 25.1.2)
;                              to a handler that adds the VM-exit instruction
;                              length to the guest RIP and runs VMRESUME
;          bit 4  "empty_ept"  the same guest loop without the CPUID (the
;                              baseline of bit 3)
;          bit 5  "exits_noept" bit 3 without EPT or VPID
; The workload is cpu64.asm's round in 32 bits: ITERATIONS rounds of xorshift32
; feeding a table of 4096 counters, a multiply and a data-dependent ROL, then
; the table folded into the result; testsuite/bench/vmx.py recomputes it.
; Each phase reads the TSC before and after its work (in the guest for the L2
; phases: no RDTSC exiting, no TSC offset) and prints
;   <phase> tsc=<16 hex digits> sum=<8 hex digits>
; on port 0xe9 ("sum" is the workload's result, 0 for the loops). Without VMX
; (CPUID.1:ECX.VMX clear, as QEMU TCG reports) it prints "novmx" and runs only
; the l1 phase. It ends with "vmx_bench: done", isa-debug-exit at 0xf4 (status
; 1 in fugu and QEMU) and Bochs' shutdown port 0x8900. A failed check prints
; "vmx_bench: FAIL <n>" (pm.inc, vmx.inc numbers; 60-69 this file's).
;
; Instructions retired per round trip (bit 3 minus bit 4): the handler's 12
; up to and including VMRESUME; the CPUID causes the exit instead of retiring.
%ifndef ITERATIONS
%define ITERATIONS 1000000
%endif
%ifndef EXITS
%define EXITS 100000
%endif
%ifndef PHASES
%define PHASES 0x3f
%endif
%define TEST "vmx_bench"
	org 0xf0000
%include "pm.inc"
%include "vmx.inc"

PD	equ 0x10000		; host page directory: 4 MiB identity pages (PSE)
VMXON_R	equ 0x20000
VMCS_R	equ 0x21000
GSTACK	equ 0x30000		; the guest's stack top
EPT4	equ 0x40000		; EPT PML4, PDPT, PD (512 x 2 MiB: 0-1 GiB identity)
EPT3	equ 0x41000
EPT2	equ 0x42000
EPTP	equ EPT4 | 0x1e		; WB, 4 levels, no A/D
HSTACK	equ 0x6800		; rewritten with ESP by run_guest
TABLE	equ 0x100000		; the workload's 4096 dwords
T0	equ 0x700		; TSC at the start of a phase (64 bits)
T1	equ 0x708		; TSC at its end
SUM	equ 0x710		; the workload's result

main:
	; Paging with two 4 MiB identity pages (a guest without unrestricted
	; guest needs CR0.PG, and the guest state copies the host's).
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

%if PHASES & 1
	call timed_work
	mov esi, n_l1
	call report
%endif
	mov eax, 1
	cpuid
	test ecx, 1 << 5
	jnz .vmx
	mov esi, n_novmx
	call puts
	jmp done
.vmx:
%if PHASES & ~1
	cld
	mov edi, EPT4
	mov ecx, 0x3000 / 4
	xor eax, eax
	rep stosd
	mov dword [EPT4], EPT3 | 7
	mov dword [EPT3], EPT2 | 7
	mov edi, EPT2
	mov eax, 0xb7			; 2 MiB page, WB, RWX
	mov ecx, 512
.ept:	mov [edi], eax
	add eax, 0x200000
	add edi, 8
	loop .ept
	vmx_on
%endif
%if PHASES & 2
	mov ebp, 1
	call vmcs_init
	vmw 0x681e, g_work
	call run_guest
	mov esi, n_l2ept
	call report
%endif
%if PHASES & 4
	xor ebp, ebp
	call vmcs_init
	vmw 0x681e, g_work
	call run_guest
	mov esi, n_l2noept
	call report
%endif
%if PHASES & 8
	mov ebp, 1
	call vmcs_init
	vmw 0x681e, g_exits
	call run_guest
	mov dword [SUM], 0
	mov esi, n_exitsept
	call report
%endif
%if PHASES & 16
	mov ebp, 1
	call vmcs_init
	vmw 0x681e, g_empty
	call run_guest
	mov dword [SUM], 0
	mov esi, n_emptyept
	call report
%endif
%if PHASES & 32
	xor ebp, ebp
	call vmcs_init
	vmw 0x681e, g_exits
	call run_guest
	mov dword [SUM], 0
	mov esi, n_exitsnoept
	call report
%endif
done:
	mov esi, n_done
	call puts
	xor eax, eax
	out 0xf4, al			; isa-debug-exit: status 1
	mov esi, n_shutdown
	mov dx, 0x8900
.s:	lodsb
	test al, al
	jz .h
	out dx, al
	jmp .s
.h:	hlt
	jmp .h

; vmcs_init: a fresh VMCS for a guest that copies the host's flat 32-bit
; protected mode with paging; EBP = 1: EPT (EPTP above) and VPID 1, EBP = 0:
; neither. Every control adjusted by its capability MSR (vmx.inc's ctl).
vmcs_init:
	mov dword [V_PTR], VMCS_R
	mov dword [V_PTR + 4], 0
	vmclear [V_PTR]
	check 60, nbe
	vmptrld [V_PTR]
	check 61, nbe
	ctl 0x48d, 0, 0x4000
	ctl 0x48e, 1 << 31, 0x4002		; secondary controls
	test ebp, ebp
	jz .noept
	ctl 0x48b, (1 << 1) | (1 << 5), 0x401e	; EPT, VPID
	vmw 0x201a, EPTP
	vmw 0x201b, 0
	vmw 0x0000, 1
	jmp .common
.noept:	ctl 0x48b, 0, 0x401e
.common:
	ctl 0x48f, 0, 0x400c
	ctl 0x490, 0, 0x4012
	host_state HSTACK
	guest_flat32 GSTACK
	ret

; run_guest: VMLAUNCH the current VMCS (guest RIP set) with the host resuming
; here on this stack; a CPUID exit advances the guest RIP by the instruction
; length (27.2.5) and resumes it; a VMCALL exit returns.
run_guest:
	mov eax, 0x6c14
	vmwrite eax, esp
	check 62, nbe
	mov eax, 0x6c16
	mov ebx, .exit
	vmwrite eax, ebx
	check 62, nbe
	vmlaunch
	mov eax, 63
	jmp fail
.exit:	mov eax, 0x4402			; exit reason
	vmread ebx, eax
	cmp ebx, 10			; CPUID
	jne .other
	mov eax, 0x681e
	vmread ebx, eax
	mov eax, 0x440c			; VM-exit instruction length
	vmread ecx, eax
	add ebx, ecx
	mov eax, 0x681e
	vmwrite eax, ebx
	vmresume
	mov eax, 64
	jmp fail
.other:	cmp ebx, 18			; VMCALL: the guest is done
	je .ret
	mov eax, 65
	jmp fail
.ret:	ret

; The guests (flat 32-bit, this ROM's code).
g_work:
	call timed_work
	vmcall
g_exits:
	rdtsc
	mov [T0], eax
	mov [T0 + 4], edx
	mov esi, EXITS
.l:	cpuid
	dec esi
	jnz .l
	rdtsc
	mov [T1], eax
	mov [T1 + 4], edx
	vmcall
g_empty:
	rdtsc
	mov [T0], eax
	mov [T0 + 4], edx
	mov esi, EXITS
.l:	dec esi
	jnz .l
	rdtsc
	mov [T1], eax
	mov [T1 + 4], edx
	vmcall

; timed_work: TSC, the workload, TSC; results in T0, T1, SUM.
timed_work:
	rdtsc
	mov [T0], eax
	mov [T0 + 4], edx
	mov ecx, ITERATIONS
	call work
	mov [SUM], edx
	rdtsc
	mov [T1], eax
	mov [T1 + 4], edx
	ret

; work: ECX rounds; EDX = the result. Clobbers EAX, EBX, ECX, ESI, EDI.
work:
	push ecx
	cld
	mov edi, TABLE
	xor eax, eax
	mov ecx, 4096
	rep stosd
	pop ecx
	mov eax, 0x9e3779b9		; xorshift32 state
	xor edx, edx
	mov esi, TABLE
	test ecx, ecx
	jz .folds
.loop:	mov ebx, eax
	shl ebx, 13
	xor eax, ebx
	mov ebx, eax
	shr ebx, 17
	xor eax, ebx
	mov ebx, eax
	shl ebx, 5
	xor eax, ebx
	mov ebx, eax
	and ebx, 4095
	mov edi, [esi + ebx * 4]
	add edi, eax
	mov [esi + ebx * 4], edi
	imul edi, edi, 31
	add edx, edi
	test al, 1
	jz .even
	rol edx, 3
.even:	dec ecx
	jnz .loop
.folds:	mov ecx, 4096
	xor ebx, ebx
.fold:	add edx, [esi + ebx * 4]
	ror edx, 1
	inc ebx
	dec ecx
	jnz .fold
	ret

; report: print "<name at ESI> tsc=<T1 - T0> sum=<SUM>".
report:
	call puts
	mov esi, n_tsc
	call puts
	mov eax, [T1]
	mov edx, [T1 + 4]
	sub eax, [T0]
	sbb edx, [T0 + 4]
	push eax
	mov eax, edx
	call hex32
	pop eax
	call hex32
	mov esi, n_sum
	call puts
	mov eax, [SUM]
	call hex32
	mov al, 10
	out 0xe9, al
	ret

; hex32: print EAX as 8 hex digits. Clobbers EAX, ECX, EDX.
hex32:
	mov edx, eax
	mov ecx, 8
.d:	rol edx, 4
	mov eax, edx
	and eax, 15
	cmp eax, 10
	jb .digit
	add eax, 'a' - 10 - '0'
.digit:	add eax, '0'
	out 0xe9, al
	dec ecx
	jnz .d
	ret

n_l1:		db "l1", 0
n_l2ept:	db "l2_ept", 0
n_l2noept:	db "l2_noept", 0
n_exitsept:	db "exits_ept", 0
n_emptyept:	db "empty_ept", 0
n_exitsnoept:	db "exits_noept", 0
n_tsc:		db " tsc=", 0
n_sum:		db " sum=", 0
n_novmx:	db "novmx", 10, 0
n_done:		db "vmx_bench: done", 10, 0
n_shutdown:	db "Shutdown", 0

%include "pm_end.inc"
