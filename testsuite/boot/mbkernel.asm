; fugu boot tests — a Multiboot (version 1) test kernel, booted by SeaBIOS
; through fugu's option ROM with
;   -m MEM_MB -kernel KERNEL -append "hello world" -initrd "MODULE modarg=1"
; It checks the machine state and the boot information against the Multiboot
; Specification 0.6.96 (3.2 "Machine state", 3.3 "Boot information format")
; and QEMU's conventions (command line "<kernel path> <append>", boot loader
; name), prints "multiboot: PASS" or "multiboot: FAIL <n>" on port 0xE9 and
; exits through isa-debug-exit (status 1 on success, 3 on failure).
;
; Built twice: -DAOUT gives a flat image with the a.out kludge (header flag
; 16); otherwise the file is an ELF32 executable (ELF header written here by
; hand) whose segment has a virtual address 0xC0000000 above its physical one,
; so the loader must translate the entry point. MEM_MB is the -m of the test.

	bits 32
	cpu 486
%ifndef ORG
%define ORG 0x100000	; -DORG=0x8000: linked below 1 MiB (a real-mode-linked test)
%endif
	org ORG

MB_MAGIC	equ 0x1badb002
MB_BOOT_MAGIC	equ 0x2badb002
%ifdef AOUT
MB_FLAGS	equ 0x00010003	; page-aligned modules, memory info, a.out kludge
%ifndef KERNEL_NAME
%define KERNEL_NAME "mb_aout.bin"
%endif
%else
MB_FLAGS	equ 0x00000003
%define KERNEL_NAME "mb_elf.bin"
VIRT		equ 0xc0000000
%endif
MODULE_SIZE	equ 3000	; module.asm
MIB		equ 0x100000

image_start:
%ifndef AOUT
ehdr:
	db 0x7f, 'ELF', 1, 1, 1, 0	; ELF32, little-endian, version 1
	times 8 db 0
	dw 2			; e_type: executable
	dw 3			; e_machine: i386
	dd 1			; e_version
	dd entry + VIRT		; e_entry (virtual)
	dd phdr - ehdr		; e_phoff
	dd 0			; e_shoff
	dd 0			; e_flags
	dw 52			; e_ehsize
	dw 32			; e_phentsize
	dw 1			; e_phnum
	dw 0, 0, 0		; no sections
phdr:
	dd 1			; PT_LOAD
	dd 0			; p_offset
	dd image_start + VIRT	; p_vaddr
	dd image_start		; p_paddr
	dd file_end - image_start	; p_filesz
	dd bss_end - image_start	; p_memsz
	dd 7			; p_flags: RWX
	dd 0x1000		; p_align
%endif

	align 4
mbheader:
	dd MB_MAGIC
	dd MB_FLAGS
	dd -(MB_MAGIC + MB_FLAGS)
%ifdef AOUT
	dd mbheader		; header_addr
	dd image_start		; load_addr
	dd file_end		; load_end_addr
	dd bss_end		; bss_end_addr
	dd entry		; entry_addr
%endif

entry:
	mov esp, stack_top
	mov ebp, 1
	cmp eax, MB_BOOT_MAGIC
	jne fail
	mov [mbi], ebx
	pushfd
	pop eax
	mov ebp, 2
	test eax, 0x200		; IF must be clear
	jnz fail
	mov ebx, [mbi]
	mov eax, [ebx]		; flags: mem, cmdline, mods, mmap, boot_loader_name
	and eax, 0x24d
	mov ebp, 3
	cmp eax, 0x24d
	jne fail
	mov ebx, [mbi]
	mov ebp, 4
	cmp dword [ebx + 4], 640 ; mem_lower
	jne fail
	mov ebx, [mbi]
	cmp dword [ebx + 8], (MEM_MB - 1) * 1024 ; mem_upper: KiB from 1 MiB
	mov ebp, 5
	jne fail

	; The command line: "<path of the kernel> hello world".
	mov ebx, [mbi]
	mov esi, [ebx + 16]
	mov edi, exp_cmdline
	mov ecx, exp_cmdline_len
	call check_suffix
	mov ebp, 6
	jne fail
	mov ebx, [mbi]
	mov esi, [ebx + 64]	; boot_loader_name
	mov edi, exp_name
	mov ecx, exp_name_len
	call check_suffix
	mov ebp, 7
	jne fail
	mov ebx, [mbi]
	mov esi, [ebx + 64]
	call strlen
	mov ebp, 8
	cmp ecx, 4		; exactly "fugu"
	jne fail

	; One module, page-aligned above the kernel, with the file's bytes.
	mov ebx, [mbi]
	mov ebp, 9
	cmp dword [ebx + 20], 1
	jne fail
	mov ebx, [mbi]
	mov edx, [ebx + 24]	; mods_addr
	mov esi, [edx]		; mod_start
	mov ebp, 10
	test esi, 0xfff
	jnz fail
	cmp esi, bss_end
	jb fail
	mov ecx, [edx + 4]
	sub ecx, esi
	mov ebp, 11
	cmp ecx, MODULE_SIZE
	jne fail
	xor ecx, ecx
.mod:
	imul eax, ecx, 7
	add eax, 3
	cmp [esi + ecx], al
	mov ebp, 12
	jne fail
	inc ecx
	cmp ecx, MODULE_SIZE
	jb .mod
	mov esi, [edx + 8]	; the module's string: "<path> modarg=1"
	mov edi, exp_modstr
	mov ecx, exp_modstr_len
	call check_suffix
	mov ebp, 13
	jne fail

	; The memory map: 20-byte entries; RAM at 0, and RAM at 1 MiB up to the
	; end of -m less what the BIOS keeps at the top (at most 1 MiB).
	mov ebx, [mbi]
	mov esi, [ebx + 48]	; mmap_addr
	mov ecx, [ebx + 44]	; mmap_length
	add ecx, esi
	xor edx, edx		; bit 0: low RAM seen, bit 1: RAM at 1 MiB seen
.map:
	cmp esi, ecx
	jae .map_done
	mov ebp, 14
	cmp dword [esi], 20
	jne fail
	cmp dword [esi + 20], 1	; usable RAM?
	jne .next
	cmp dword [esi + 8], 0	; base below 4 GiB
	jne .next
	mov eax, [esi + 4]
	test eax, eax
	jnz .not_low
	or dl, 1
	jmp .next
.not_low:
	cmp eax, MIB
	jne .next
	mov ebp, 15
	cmp dword [esi + 16], 0
	jne fail
	mov eax, [esi + 12]	; length
	cmp eax, (MEM_MB - 1) * MIB
	ja fail
	cmp eax, (MEM_MB - 2) * MIB
	jb fail
	or dl, 2
.next:
	add esi, [esi]
	add esi, 4
	jmp .map
.map_done:
	mov ebp, 16
	cmp dl, 3
	jne fail

	mov esi, msg_pass
	call puts
	mov al, 0
	out 0xf4, al		; isa-debug-exit: status 1
	hlt

; fail: EBP = the number of the failed check.
fail:
	mov esi, msg_fail
	call puts
	mov eax, ebp
	mov cl, 10
	div cl
	add ax, 0x3030
	out 0xe9, al
	mov al, ah
	out 0xe9, al
	mov al, 10
	out 0xe9, al
	mov al, 1
	out 0xf4, al		; isa-debug-exit: status 3
	hlt

; puts: ESI = NUL-terminated string, to port 0xE9.
puts:
	lodsb
	test al, al
	jz .done
	out 0xe9, al
	jmp puts
.done:
	ret

; strlen: ESI = string; ECX = its length.
strlen:
	xor ecx, ecx
.loop:
	cmp byte [esi + ecx], 0
	je .done
	inc ecx
	jmp .loop
.done:
	ret

; check_suffix: ZF set when the string at ESI ends with the ECX bytes at EDI.
check_suffix:
	push ecx
	call strlen
	mov eax, ecx
	pop ecx
	cmp eax, ecx
	jb .no
	add esi, eax
	sub esi, ecx
	repe cmpsb
	ret
.no:
	or esp, esp		; ZF clear
	ret

exp_cmdline:	db KERNEL_NAME, " hello world"
exp_cmdline_len	equ $ - exp_cmdline
exp_modstr:	db "module.bin modarg=1"
exp_modstr_len	equ $ - exp_modstr
exp_name:	db "fugu"
exp_name_len	equ $ - exp_name
msg_pass:	db "multiboot: PASS", 10, 0
msg_fail:	db "multiboot: FAIL ", 0

	align 4
file_end:

	absolute file_end
mbi:	resd 1
	resb 4096
stack_top:
bss_end:
