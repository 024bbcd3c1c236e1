; fugu guest test: the timing policy (docs/TIMING.md). The TSC runs at 1 GHz
; off the virtual clock; `max` says so in CPUID leaves 0x15 (crystal 1 GHz,
; ratio 1/1: the local APIC timer's input) and 0x16 (1000 MHz); and the two
; calibration paths Linux uses without them agree with it: the TSC over a PIT
; counter 2 one-shot gated and polled through port 0x61 (Linux's
; pit_calibrate_tsc, with 2386 PIT ticks, 2 ms), and over 7159 ACPI PM timer
; ticks (2 ms). Each measurement keeps the best of two tries and must be
; within 0.2 %. Run with -clock deterministic (in realtime mode the same holds
; unless the host deschedules fugu as the PIT expires), with -cpu max; a second
; run with -cpu nehalem checks the leaves are absent (maximum leaf 11) and
; calibration still agrees.
	bits 16
	org 0

PMBASE equ 0xb000
LATCH equ 2386			; 1193182 Hz / 500: 2 ms
PIT_NS equ 1999695		; LATCH * 10^9 / 1193182
PM_TICKS equ 7159		; 3579545 Hz / 500
PM_NS equ 1999975		; PM_TICKS * 10^9 / 3579545
SLACK equ 4000			; 0.2 %

%macro check 2 ; check <number>, <condition code that means success>
	j%2 %%ok
	mov al, %1
	jmp fail
%%ok:
%endmacro

best equ 0x500			; the shortest measurement (ns)
tries equ 0x504

start:
	cli
	xor ax, ax
	mov ss, ax
	mov sp, 0x7c00
	mov ds, ax

	; ---- CPUID ----
	xor eax, eax
	cpuid
	cmp eax, 0x16
	jb .no_leaves
	mov eax, 0x15
	cpuid
	cmp eax, 1			; denominator
	check 1, e
	cmp ebx, 1			; numerator: TSC = crystal * 1 / 1
	check 2, e
	cmp ecx, 1000000000		; crystal (the APIC timer input), Hz
	check 3, e
	mov eax, 0x16
	cpuid
	cmp eax, 1000			; base MHz
	check 4, e
	cmp ebx, 1000			; maximum MHz
	check 5, e
	cmp ecx, 1000			; bus (reference) MHz
	check 6, e
	jmp .pit
.no_leaves:
	cmp eax, 11			; nehalem: leaves up to 0xB only
	check 7, e

	; ---- TSC against PIT counter 2 through port 0x61 ----
.pit:
	mov dword [best], 0xffffffff
	mov byte [tries], 2
.pit_try:
	in al, 0x61
	and al, 0xfc
	or al, 1			; GATE2 on, speaker off
	out 0x61, al
	mov al, 0xb0			; counter 2, lobyte/hibyte, mode 0, binary
	out 0x43, al
	mov al, LATCH & 0xff
	out 0x42, al
	mov al, LATCH >> 8
	out 0x42, al
	rdtsc
	mov esi, eax
	mov edi, edx
.pit_wait:
	in al, 0x61
	test al, 0x20			; OUT2
	jz .pit_wait
	rdtsc
	call keep_best
	dec byte [tries]
	jnz .pit_try
	mov eax, [best]
	cmp eax, PIT_NS - SLACK
	check 10, a
	cmp eax, PIT_NS + SLACK
	check 11, b

	; ---- TSC against the ACPI PM timer (PIIX4 PMBA, 00:01.3) ----
	mov eax, 0x80000b40		; PMBA
	mov ecx, PMBASE | 1
	call pci_write
	mov eax, 0x80000b80		; PMREGMISC: PMIOSE
	mov ecx, 1
	call pci_write
	mov dword [best], 0xffffffff
	mov byte [tries], 2
.pm_try:
	mov dx, PMBASE + 8
	in eax, dx
	mov ebx, eax
.pm_edge:				; start on a tick edge
	in eax, dx
	cmp eax, ebx
	je .pm_edge
	mov ebx, eax
	rdtsc
	mov esi, eax
	mov edi, edx
	mov dx, PMBASE + 8		; RDTSC took EDX
.pm_wait:
	in eax, dx
	sub eax, ebx
	and eax, 0xffffff		; 24-bit counter
	cmp eax, PM_TICKS
	jb .pm_wait
	rdtsc
	call keep_best
	dec byte [tries]
	jnz .pm_try
	mov eax, [best]
	cmp eax, PM_NS - SLACK
	check 20, a
	cmp eax, PM_NS + SLACK
	check 21, b

	mov si, pass_msg
	call puts
	mov al, 0
	out 0xf4, al
	hlt

; EDX:EAX - EDI:ESI: keep it in [best] when shorter.
keep_best:
	sub eax, esi
	sbb edx, edi
	test edx, edx
	jnz .done
	cmp eax, [best]
	jae .done
	mov [best], eax
.done:	ret

; PCI configuration mechanism #1: address EAX, value ECX.
pci_write:
	push dx
	mov dx, 0xcf8
	out dx, eax
	mov dx, 0xcfc
	xchg eax, ecx
	out dx, eax
	xchg eax, ecx
	pop dx
	ret

%include "report16.inc"

pass_msg: db "tsc: PASS", 10, 0
fail_msg: db "tsc: FAIL ", 0

	times 0xfff0 - ($ - $$) db 0xff
	jmp 0xf000:start
	times 0x10000 - ($ - $$) db 0xff
