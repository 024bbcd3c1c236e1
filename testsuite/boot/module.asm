; fugu boot tests — a data file used as a Multiboot module and as a Linux
; initrd: MODULE_SIZE bytes, byte k = (k * 7 + 3) mod 256.
MODULE_SIZE	equ 3000
%assign k 0
%rep MODULE_SIZE
	db (k * 7 + 3) & 0xff
%assign k k + 1
%endrep
