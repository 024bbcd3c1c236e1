/*
 * fugu — direct kernel boot (-kernel, -initrd, -append) through fw_cfg and
 * fugu's own option ROMs, following QEMU's conventions so that scripts and
 * test suites written for QEMU work unchanged. The board never loads a kernel
 * into RAM itself: it publishes the pieces in fw_cfg, SeaBIOS runs the option
 * ROM ("genroms/linuxboot.bin" or "genroms/multiboot.bin") as a boot device,
 * and the ROM copies the pieces into place and starts the kernel.
 *
 * Two kinds of kernel are recognised:
 *  - Linux bzImage, boot protocol 2.00 or later (Documentation/x86/boot.rst):
 *    "HdrS" at 0x202, loaded high (LOADED_HIGH). Keys 0x07/0x08/0x11 (kernel),
 *    0x0a/0x0b/0x12 (initrd), 0x13/0x14/0x15 (command line), 0x16/0x17/0x18
 *    (real-mode setup, its header filled in as a boot loader does).
 *  - Multiboot version 1 (Multiboot Specification 0.6.96): an ELF32 image
 *    loaded by its program headers, or any image with the a.out kludge
 *    (header flag 16). fugu's fw_cfg layout for its own ROM:
 *      FW_CFG_KERNEL_ENTRY (0x10)  u32 entry point
 *      FW_CFG_KERNEL_ADDR/SIZE/DATA  the image from its lowest to its highest
 *                                    load address, bss included (as zeros)
 *      FW_CFG_INITRD_ADDR/SIZE/DATA  the boot information: the Multiboot
 *                                    information structure at offset 0, its
 *                                    strings, module list and a buffer for the
 *                                    memory map (MB_MMAP_MAX entries), then
 *                                    the modules, each page-aligned
 *    The ROM fills the memory map from INT 15h E820 (SeaBIOS's map, derived
 *    from "etc/e820"), stores it at mbi.mmap_addr and sets flag 6.
 */
#ifndef FUGU_LOADER_H
#define FUGU_LOADER_H

#include <stddef.h>
#include <stdint.h>

struct fwcfg;

/* RAM the loader never uses at the top of memory below 4 GiB: SeaBIOS takes it
 * for its ACPI/SMBIOS tables (BUILD_MAX_HIGHTABLE, 256 KiB). */
#define LOADER_HIGH_RESERVE 0x40000u

#define MB_HEADER_MAGIC 0x1BADB002u     /* Multiboot spec 3.1.2 */
#define MB_BOOTLOADER_MAGIC 0x2BADB002u /* in EAX at entry (3.2) */
#define MB_SEARCH_LEN 8192u             /* the header lies in the first 8 KiB (3.1.1) */
#define MB_MMAP_MAX 32u                 /* memory map entries the ROM stores */
/* Where, in the boot-information blob, the loader leaves the fw_cfg DMA
 * descriptor that loads the kernel image (the spare room after the 88-byte
 * information structure); multiboot.asm's MB_DMA_OFF. */
#define MB_DMA_OFF 0x70u
#define MB_MMAP_ENTRY 24u /* {u32 size = 20, u64 base, u64 len, u32 type} */

/* Multiboot header flags (3.1.2). */
#define MB_FLAG_PAGE_ALIGN 0x00000001u
#define MB_FLAG_MEMORY_INFO 0x00000002u
#define MB_FLAG_VIDEO_MODE 0x00000004u
#define MB_FLAG_AOUT_KLUDGE 0x00010000u

/* Multiboot information flags (3.3). */
#define MBI_MEMORY 0x001u
#define MBI_CMDLINE 0x004u
#define MBI_MODS 0x008u
#define MBI_MMAP 0x040u
#define MBI_LOADER_NAME 0x200u

enum loader_kind {
	LOADER_UNKNOWN,
	LOADER_LINUX,     /* bzImage, protocol >= 2.00, loaded high */
	LOADER_MULTIBOOT, /* Multiboot v1 header in the first 8 KiB */
};

/* A Multiboot header (3.1.2), as found in the image. */
struct mb_header {
	uint32_t offset; /* file offset of the magic */
	uint32_t flags;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/*
 * Find a valid Multiboot header (magic, then flags and a checksum making the
 * three sum to 0, 32-bit aligned, in the first 8 KiB). Returns 0 and fills
 * *h, or -1 when there is none.
 */
int loader_find_multiboot(const uint8_t *img, size_t len, struct mb_header *h);

/* What `img` is: a Linux bzImage first, else a Multiboot kernel, else unknown. */
enum loader_kind loader_detect(const uint8_t *img, size_t len);

/*
 * Where an initrd of `size` bytes goes (QEMU's convention): as high as
 * possible, page-aligned, ending at or below `initrd_max` (the kernel's
 * initrd_addr_max: the highest byte address it can use) and below the RAM
 * top minus LOADER_HIGH_RESERVE. Returns the address, or 0 when it cannot fit
 * above `low` (the end of the kernel).
 */
uint32_t loader_initrd_addr(uint64_t ram_below_4g, uint32_t initrd_max, uint32_t size,
			    uint32_t low);

/*
 * Prepare a direct boot from memory buffers: parse the kernel, lay out its
 * pieces in guest RAM and publish them in fw_cfg together with the option ROM
 * and a "bootorder" putting it first. `initrds` holds `ninitrd` files (their
 * names in `initrd_names`, used as Multiboot module strings with any
 * arguments); `kernel_name` starts the Multiboot command line. Returns 0, or
 * -1 with a one-line message in err.
 */
struct loader_file {
	const char *name; /* the module string: path, then any arguments */
	const uint8_t *data;
	size_t len;
};
int loader_setup(struct fwcfg *fw, uint64_t ram_below_4g, const char *kernel_name,
		 const uint8_t *kernel, size_t kernel_len, const struct loader_file *initrds,
		 unsigned ninitrd, const char *append, char *err, size_t errlen);

/*
 * The same, from files: `kernel` is a path; `initrd` is NULL or QEMU's list
 * "FILE[ ARGS][,FILE[ ARGS]...]" (",," is a literal comma); `append` may be
 * NULL. Errors (unreadable files, an unrecognised kernel, no room in RAM) are
 * reported in err as one line.
 */
int loader_load(struct fwcfg *fw, uint64_t ram_below_4g, const char *kernel, const char *initrd,
		const char *append, char *err, size_t errlen);

/* fugu's option ROMs, generated at build time from firmware/linuxboot.asm and multiboot.asm. */
extern const unsigned char fugu_linuxboot_rom[];
extern const unsigned int fugu_linuxboot_rom_len;
extern const unsigned char fugu_multiboot_rom[];
extern const unsigned int fugu_multiboot_rom_len;

#endif
