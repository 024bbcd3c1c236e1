/*
 * fugu — direct kernel boot: parsing Linux bzImages and Multiboot kernels,
 * laying their pieces out in guest RAM and publishing them in fw_cfg for
 * fugu's option ROMs (firmware/linuxboot.asm, firmware/multiboot.asm). See
 * loader.h for the fw_cfg layout. References: the Linux x86 boot protocol
 * (Documentation/arch/x86/boot.rst, "THE REAL-MODE KERNEL HEADER", "LOADING
 * THE REST OF THE KERNEL", "SAMPLE BOOT CONFIGURATION"), the Multiboot
 * Specification version 0.6.96 (sections 3.1 "OS image format", 3.2 "Machine
 * state", 3.3 "Boot information format"), and QEMU's conventions for where
 * things go (hw/i386/x86.c, hw/i386/multiboot.c), which this follows so that
 * test suites written for QEMU work unchanged.
 */
#include "firmware/loader.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chipset/fwcfg.h"

#define MIB (1u << 20)
#define PAGE 4096u
/* A Multiboot kernel below 1 MiB: above the interrupt table and BIOS data
 * area, below the VGA/ROM hole. */
#define LOW_KERNEL_MIN 0x500u
#define LOW_KERNEL_MAX 0xa0000u

/* Offsets in the Linux real-mode kernel header (boot.rst, "THE REAL-MODE KERNEL HEADER"). */
#define LH_SETUP_SECTS 0x1f1
#define LH_VID_MODE 0x1fa
#define LH_BOOT_FLAG 0x1fe
#define LH_HEADER 0x202
#define LH_VERSION 0x206
#define LH_TYPE_OF_LOADER 0x210
#define LH_LOADFLAGS 0x211
#define LH_CODE32_START 0x214
#define LH_RAMDISK_IMAGE 0x218
#define LH_RAMDISK_SIZE 0x21c
#define LH_HEAP_END_PTR 0x224
#define LH_CMD_LINE_PTR 0x228
#define LH_INITRD_ADDR_MAX 0x22c
#define LH_KERNEL_ALIGNMENT 0x230
#define LH_CMDLINE_SIZE 0x238
#define LH_INIT_SIZE 0x260
#define LH_END 0x26c /* the end of the header as of protocol 2.15 */

#define LF_LOADED_HIGH 0x01
#define LF_CAN_USE_HEAP 0x80
#define LOADER_TYPE_QEMU 0xb0 /* "type_of_loader": 0xB = QEMU, version 0 */

/* Old command-line protocol (boot.rst, "THE KERNEL COMMAND LINE"), before 2.02. */
#define LH_OLD_CL_MAGIC 0x020
#define LH_OLD_CL_OFFSET 0x022
#define OLD_CL_MAGIC 0xa33f

/* Multiboot information structure offsets (spec 3.3). */
#define MBI_FLAGS 0
#define MBI_MEM_LOWER 4
#define MBI_MEM_UPPER 8
#define MBI_CMDLINE_PTR 16
#define MBI_MODS_COUNT 20
#define MBI_MODS_ADDR 24
#define MBI_MMAP_LENGTH 44
#define MBI_MMAP_ADDR 48
#define MBI_LOADER_NAME_PTR 64
#define MBI_SIZE 0x80 /* room reserved for the structure (it is 88 bytes with VBE fields) */

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (unsigned k = 0; k < 4; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	put32(p, __builtin_bswap32(v));
}

static uint64_t
align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/*
 * The highest address (exclusive) the loader may use: RAM below 4 GiB minus
 * what SeaBIOS keeps at its top.
 */
static uint64_t
ram_top(uint64_t ram_below_4g)
{
	return ram_below_4g > LOADER_HIGH_RESERVE ? ram_below_4g - LOADER_HIGH_RESERVE : 0;
}

int
loader_find_multiboot(const uint8_t *img, size_t len, struct mb_header *h)
{
	size_t end = len < MB_SEARCH_LEN ? len : MB_SEARCH_LEN;
	for (size_t off = 0; off + 12 <= end; off += 4) {
		uint32_t magic = get32(img + off), flags = get32(img + off + 4);
		if (magic != MB_HEADER_MAGIC || (uint32_t)(magic + flags + get32(img + off + 8)))
			continue;
		memset(h, 0, sizeof(*h));
		h->offset = (uint32_t)off;
		h->flags = flags;
		if (flags & MB_FLAG_AOUT_KLUDGE) {
			/* The address fields follow the checksum (3.1.3). */
			if (off + 32 > len)
				return -1;
			h->header_addr = get32(img + off + 12);
			h->load_addr = get32(img + off + 16);
			h->load_end_addr = get32(img + off + 20);
			h->bss_end_addr = get32(img + off + 24);
			h->entry_addr = get32(img + off + 28);
		}
		return 0;
	}
	return -1;
}

/*
 * A bzImage: the boot sector's 0xAA55, "HdrS" at 0x202, protocol 2.00 or
 * later, and LOADED_HIGH (boot.rst: zImage kernels load at 0x10000 and are
 * not supported).
 */
static bool
is_bzimage(const uint8_t *img, size_t len)
{
	return len >= LH_END && get16(img + LH_BOOT_FLAG) == 0xaa55 &&
	       !memcmp(img + LH_HEADER, "HdrS", 4) && get16(img + LH_VERSION) >= 0x200 &&
	       (img[LH_LOADFLAGS] & LF_LOADED_HIGH);
}

enum loader_kind
loader_detect(const uint8_t *img, size_t len)
{
	struct mb_header h;
	if (is_bzimage(img, len))
		return LOADER_LINUX;
	if (loader_find_multiboot(img, len, &h) == 0)
		return LOADER_MULTIBOOT;
	return LOADER_UNKNOWN;
}

uint32_t
loader_initrd_addr(uint64_t ram_below_4g, uint32_t initrd_max, uint32_t size, uint32_t low)
{
	uint64_t top = (uint64_t)initrd_max + 1; /* initrd_addr_max is the last usable byte */
	if (top > ram_top(ram_below_4g))
		top = ram_top(ram_below_4g);
	if (size == 0 || size > top)
		return 0;
	uint64_t addr = (top - size) & ~(uint64_t)(PAGE - 1);
	if (addr < low || addr < MIB)
		return 0;
	return (uint32_t)addr;
}

/*
 * Publish the option ROM `name` ("genroms/NAME") and a "bootorder" that makes
 * SeaBIOS boot it first (its BEV; SeaBIOS's bootprio_find_named_rom names it
 * "/rom@genroms/NAME").
 */
static int
publish_rom(struct fwcfg *fw, const char *name, const unsigned char *rom, unsigned len)
{
	char path[64], order[80];
	snprintf(path, sizeof(path), "genroms/%s", name);
	snprintf(order, sizeof(order), "/rom@%s\n", path);
	if (fwcfg_add_file(fw, path, rom, len) < 0 ||
	    fwcfg_add_file(fw, "bootorder", order, (uint32_t)strlen(order)) < 0)
		return -1;
	return 0;
}

/*
 * The vid_mode a "vga=" command-line option asks for (boot.rst, "SPECIAL
 * COMMAND LINE OPTIONS": normal, ext, ask or a number), or -1 when absent.
 */
static int
vga_mode(const char *cmdline)
{
	const char *p = cmdline;
	while ((p = strstr(p, "vga=")) != NULL) {
		if (p == cmdline || p[-1] == ' ')
			break;
		p += 4;
	}
	if (!p)
		return -1;
	p += 4;
	if (!strncmp(p, "normal", 6))
		return 0xffff;
	if (!strncmp(p, "ext", 3))
		return 0xfffe;
	if (!strncmp(p, "ask", 3))
		return 0xfffd;
	char *end;
	unsigned long v = strtoul(p, &end, 0);
	if (end == p || v > 0xffff)
		return -1;
	return (int)v;
}

/*
 * Linux: lay out the real-mode setup, the protected-mode kernel, the command
 * line and the initrd as QEMU does (x86_load_linux), fill in the setup header
 * as a boot loader must ("LOADING THE REST OF THE KERNEL"), publish them.
 */
static int
setup_linux(struct fwcfg *fw, uint64_t ram_below_4g, const uint8_t *img, size_t len,
	    const struct loader_file *initrds, unsigned ninitrd, const char *append, char *err,
	    size_t errlen)
{
	uint16_t protocol = get16(img + LH_VERSION);
	unsigned sects = img[LH_SETUP_SECTS] ? img[LH_SETUP_SECTS] : 4; /* 0 means 4 */
	size_t setup_size = (size_t)(sects + 1) * 512;
	if (setup_size > len) {
		snprintf(err, errlen, "bad bzImage: %zu bytes of setup code in a %zu-byte file",
			 setup_size, len);
		return -1;
	}
	/* Protocol 2.02+ lets the setup live anywhere: QEMU's 0x10000 with the command
	 * line at 0x20000; older ones want 0x90000 with the line just below 0x9a000. */
	size_t cmdlen = strlen(append);
	uint32_t real_addr = 0x10000, cmdline_addr = 0x20000;
	if (protocol < 0x202) {
		real_addr = 0x90000;
		cmdline_addr = 0x9a000 - (uint32_t)align_up(cmdlen + 1, 16);
	}
	uint32_t cmdline_max = protocol >= 0x206 ? get32(img + LH_CMDLINE_SIZE) : 255;
	if (cmdlen > cmdline_max || cmdline_addr + cmdlen + 1 > 0x9f000) {
		snprintf(err, errlen,
			 "-append: the command line (%zu bytes) is longer than this kernel accepts "
			 "(%u)",
			 cmdlen, cmdline_max);
		return -1;
	}
	if (setup_size + 0x200 > cmdline_addr - real_addr) {
		snprintf(err, errlen, "bad bzImage: setup code too large (%zu bytes)", setup_size);
		return -1;
	}
	uint8_t *setup = malloc(setup_size);
	uint8_t *rd = NULL;
	if (!setup)
		goto oom;
	memcpy(setup, img, setup_size);

	const uint8_t *kernel = img + setup_size;
	uint32_t kernel_size = (uint32_t)(len - setup_size);
	uint64_t need = kernel_size;
	if (protocol >= 0x20a && get32(img + LH_INIT_SIZE) > need)
		need = get32(img + LH_INIT_SIZE); /* the kernel's footprint while it decompresses */
	uint64_t kernel_end = MIB + need;
	if (kernel_end > ram_top(ram_below_4g)) {
		snprintf(err, errlen,
			 "-kernel: the kernel needs %llu KiB from 1 MiB; RAM is too small (-m)",
			 (unsigned long long)(need >> 10));
		goto fail;
	}

	/* "type_of_loader", "loadflags", "heap_end_ptr", "cmd_line_ptr". */
	setup[LH_TYPE_OF_LOADER] = LOADER_TYPE_QEMU;
	if (protocol >= 0x201) {
		setup[LH_LOADFLAGS] |= LF_CAN_USE_HEAP;
		put16(setup + LH_HEAP_END_PTR, (uint16_t)(cmdline_addr - real_addr - 0x200));
	}
	if (protocol >= 0x202) {
		put32(setup + LH_CMD_LINE_PTR, cmdline_addr);
	} else {
		put16(setup + LH_OLD_CL_MAGIC, OLD_CL_MAGIC);
		put16(setup + LH_OLD_CL_OFFSET, (uint16_t)(cmdline_addr - real_addr));
	}
	int vid = vga_mode(append);
	if (vid >= 0)
		put16(setup + LH_VID_MODE, (uint16_t)vid);

	/* The initrd: the files concatenated, each padded to 4 bytes (a list of cpio
	 * archives), as high as the kernel allows ("ramdisk_image", "ramdisk_size"). */
	uint64_t rd_size = 0;
	for (unsigned k = 0; k < ninitrd; k++)
		rd_size += align_up(initrds[k].len, 4);
	if (ninitrd) {
		uint32_t initrd_max =
			protocol >= 0x203 ? get32(img + LH_INITRD_ADDR_MAX) : 0x37ffffff;
		uint32_t addr = rd_size <= UINT32_MAX ? loader_initrd_addr(ram_below_4g, initrd_max,
									   (uint32_t)rd_size,
									   (uint32_t)kernel_end)
						      : 0;
		if (!addr) {
			snprintf(err, errlen,
				 "-initrd: %llu bytes do not fit in RAM between the kernel and "
				 "min(initrd_addr_max 0x%x, RAM top)",
				 (unsigned long long)rd_size, initrd_max);
			goto fail;
		}
		rd = calloc(1, (size_t)rd_size);
		if (!rd)
			goto oom;
		size_t pos = 0;
		for (unsigned k = 0; k < ninitrd; k++) {
			if (initrds[k].len)
				memcpy(rd + pos, initrds[k].data, initrds[k].len);
			pos += (size_t)align_up(initrds[k].len, 4);
		}
		put32(setup + LH_RAMDISK_IMAGE, addr);
		put32(setup + LH_RAMDISK_SIZE, (uint32_t)rd_size);
		if (fwcfg_add_u32(fw, FWCFG_INITRD_ADDR, addr) < 0 ||
		    fwcfg_add_u32(fw, FWCFG_INITRD_SIZE, (uint32_t)rd_size) < 0 ||
		    fwcfg_add_bytes(fw, FWCFG_INITRD_DATA, rd, (uint32_t)rd_size) < 0)
			goto oom;
	}

	if (fwcfg_add_u32(fw, FWCFG_SETUP_ADDR, real_addr) < 0 ||
	    fwcfg_add_u32(fw, FWCFG_SETUP_SIZE, (uint32_t)setup_size) < 0 ||
	    fwcfg_add_bytes(fw, FWCFG_SETUP_DATA, setup, (uint32_t)setup_size) < 0 ||
	    fwcfg_add_u32(fw, FWCFG_KERNEL_ADDR, MIB) < 0 ||
	    fwcfg_add_u32(fw, FWCFG_KERNEL_SIZE, kernel_size) < 0 ||
	    fwcfg_add_bytes(fw, FWCFG_KERNEL_DATA, kernel, kernel_size) < 0 ||
	    fwcfg_add_u32(fw, FWCFG_CMDLINE_ADDR, cmdline_addr) < 0 ||
	    fwcfg_add_u32(fw, FWCFG_CMDLINE_SIZE, (uint32_t)cmdlen + 1) < 0 ||
	    fwcfg_add_bytes(fw, FWCFG_CMDLINE_DATA, append, (uint32_t)cmdlen + 1) < 0 ||
	    publish_rom(fw, "linuxboot.bin", fugu_linuxboot_rom, fugu_linuxboot_rom_len) < 0)
		goto oom;
	free(setup);
	free(rd);
	return 0;
oom:
	snprintf(err, errlen, "-kernel: out of memory or fw_cfg full");
fail:
	free(setup);
	free(rd);
	return -1;
}

/* The image of a Multiboot kernel: bytes from `lo` to `hi`, bss as zeros. */
struct mb_image {
	uint32_t lo, hi, entry;
	uint8_t *data;
};

/*
 * The a.out kludge (spec 3.1.3): the header's addresses say where the file,
 * from header_addr - (header_addr - load_addr) on, goes.
 */
static int
mb_load_aout(const uint8_t *img, size_t len, const struct mb_header *h, struct mb_image *m,
	     uint64_t top, char *err, size_t errlen)
{
	if (h->load_addr > h->header_addr || h->header_addr - h->load_addr > h->offset) {
		snprintf(err, errlen,
			 "-kernel: Multiboot header addresses are inconsistent (load_addr 0x%x, "
			 "header_addr 0x%x)",
			 h->load_addr, h->header_addr);
		return -1;
	}
	size_t file_off = h->offset - (h->header_addr - h->load_addr);
	uint64_t load_size = h->load_end_addr ? (uint64_t)h->load_end_addr - h->load_addr
					      : (uint64_t)(len - file_off);
	if (h->load_end_addr && h->load_end_addr < h->load_addr)
		load_size = UINT64_MAX;
	if (load_size > len - file_off) {
		snprintf(err, errlen,
			 "-kernel: Multiboot load_end_addr 0x%x lies beyond the end of the file",
			 h->load_end_addr);
		return -1;
	}
	uint64_t end = (uint64_t)h->load_addr + load_size;
	if (h->bss_end_addr) {
		if (h->bss_end_addr < end) {
			snprintf(err, errlen,
				 "-kernel: Multiboot bss_end_addr 0x%x is below load_end_addr",
				 h->bss_end_addr);
			return -1;
		}
		end = h->bss_end_addr;
	}
	if (end > UINT32_MAX) {
		snprintf(err, errlen, "-kernel: Multiboot image extends beyond 4 GiB");
		return -1;
	}
	/* Refused before the copy is allocated: the header's addresses alone
	 * must not make fugu allocate up to 4 GiB (found by fuzz_loader). */
	if (end > top) {
		snprintf(err, errlen,
			 "-kernel: the Multiboot kernel (up to 0x%llx) does not fit in RAM (-m)",
			 (unsigned long long)end);
		return -1;
	}
	m->lo = h->load_addr;
	m->hi = (uint32_t)end;
	m->entry = h->entry_addr;
	m->data = calloc(1, (size_t)(end - m->lo) + 1);
	if (!m->data) {
		snprintf(err, errlen, "-kernel: out of memory");
		return -1;
	}
	memcpy(m->data, img + file_off, (size_t)load_size);
	return 0;
}

/*
 * An ELF32 i386 executable (System V gABI): its PT_LOAD segments at their
 * physical addresses, the entry point translated from virtual to physical
 * when it falls in a segment.
 */
static int
mb_load_elf(const uint8_t *img, size_t len, struct mb_image *m, uint64_t top, char *err,
	    size_t errlen)
{
	if (len < 52 || memcmp(img, "\177ELF", 4) || img[4] != 1 || img[5] != 1 ||
	    get16(img + 16) != 2 || get16(img + 18) != 3) {
		snprintf(err, errlen,
			 "-kernel: Multiboot kernel is neither an ELF32 i386 executable nor has "
			 "the a.out kludge flag");
		return -1;
	}
	uint32_t entry = get32(img + 24), phoff = get32(img + 28);
	uint16_t phentsize = get16(img + 42), phnum = get16(img + 44);
	if (phentsize < 32 || phnum == 0 || phoff > len ||
	    (uint64_t)phnum * phentsize > len - phoff) {
		snprintf(err, errlen, "-kernel: bad ELF program headers");
		return -1;
	}
	uint64_t lo = UINT64_MAX, hi = 0;
	bool entry_found = false;
	for (unsigned k = 0; k < phnum; k++) {
		const uint8_t *ph = img + phoff + (size_t)k * phentsize;
		uint32_t offset = get32(ph + 4), vaddr = get32(ph + 8), paddr = get32(ph + 12);
		uint32_t filesz = get32(ph + 16), memsz = get32(ph + 20);
		if (get32(ph) != 1 || memsz == 0) /* PT_LOAD */
			continue;
		if (filesz > memsz || offset > len || filesz > len - offset ||
		    (uint64_t)paddr + memsz > UINT32_MAX) {
			snprintf(err, errlen, "-kernel: bad ELF segment %u", k);
			return -1;
		}
		if (paddr < lo)
			lo = paddr;
		if ((uint64_t)paddr + memsz > hi)
			hi = (uint64_t)paddr + memsz;
		if (!entry_found && entry >= vaddr && entry - vaddr < memsz) {
			entry = entry - vaddr + paddr;
			entry_found = true;
		}
	}
	if (hi == 0) {
		snprintf(err, errlen, "-kernel: the ELF file has nothing to load");
		return -1;
	}
	m->lo = (uint32_t)lo;
	m->hi = (uint32_t)hi;
	m->entry = entry;
	if (m->hi - m->lo > (1u << 30)) {
		snprintf(err, errlen, "-kernel: the ELF segments span more than 1 GiB");
		return -1;
	}
	if (m->hi > top) { /* before allocating the copy */
		snprintf(err, errlen,
			 "-kernel: the Multiboot kernel (up to 0x%x) does not fit in RAM (-m)",
			 m->hi);
		return -1;
	}
	m->data = calloc(1, (size_t)(m->hi - m->lo) + 1);
	if (!m->data) {
		snprintf(err, errlen, "-kernel: out of memory");
		return -1;
	}
	for (unsigned k = 0; k < phnum; k++) {
		const uint8_t *ph = img + phoff + (size_t)k * phentsize;
		if (get32(ph) == 1 && get32(ph + 20) && get32(ph + 16))
			memcpy(m->data + (get32(ph + 12) - m->lo), img + get32(ph + 4),
			       get32(ph + 16));
	}
	return 0;
}

/*
 * Multiboot: load the image (3.1), build the boot information (3.3) after
 * it: the structure, module list, memory map buffer, strings, and the
 * modules page-aligned; publish them for the option ROM (loader.h).
 */
static int
setup_multiboot(struct fwcfg *fw, uint64_t ram_below_4g, const char *kernel_name,
		const uint8_t *img, size_t len, const struct loader_file *mods, unsigned nmods,
		const char *append, char *err, size_t errlen)
{
	struct mb_header h;
	struct mb_image m = { 0 };
	uint8_t *blob = NULL;
	if (loader_find_multiboot(img, len, &h) < 0) {
		snprintf(err, errlen, "-kernel: bad Multiboot header");
		return -1;
	}
	uint32_t unsupported = h.flags & 0xffffu &
			       ~(MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO | MB_FLAG_VIDEO_MODE);
	if (unsupported) {
		snprintf(err, errlen,
			 "-kernel: the Multiboot kernel requires features fugu lacks (flags 0x%x)",
			 unsupported);
		return -1;
	}
	uint64_t top = ram_top(ram_below_4g);
	if ((h.flags & MB_FLAG_AOUT_KLUDGE) ? mb_load_aout(img, len, &h, &m, top, err, errlen)
					    : mb_load_elf(img, len, &m, top, err, errlen))
		return -1;
	/* Below 1 MiB (real-mode-linked kernels, as QEMU loads them) the image
	 * may use conventional memory, but not the interrupt table and BIOS data
	 * area nor the hole at 0xA0000-0xFFFFF (VGA memory, the ROMs). */
	if (m.lo < LOW_KERNEL_MIN || (m.lo < MIB && m.hi > LOW_KERNEL_MAX)) {
		snprintf(err, errlen,
			 "-kernel: the Multiboot kernel (0x%x-0x%x) overlaps the BIOS data area or "
			 "the hole at 0xa0000-0xfffff",
			 m.lo, m.hi);
		goto fail;
	}
	if (m.hi > top) {
		snprintf(err, errlen,
			 "-kernel: the Multiboot kernel (up to 0x%x) does not fit in RAM (-m)",
			 m.hi);
		goto fail;
	}

	/* Boot information layout, from a page boundary after the image. */
	char name_buf[] = "fugu";
	size_t cmd_len = strlen(kernel_name) + (*append ? 1 + strlen(append) : 0) + 1;
	size_t strings = cmd_len + sizeof(name_buf);
	for (unsigned k = 0; k < nmods; k++)
		strings += strlen(mods[k].name) + 1;
	/* from 1 MiB on always: never under a low kernel or the ROM's scratch */
	uint64_t base = align_up(m.hi > MIB ? m.hi : MIB, PAGE);
	size_t mods_off = MBI_SIZE, mmap_off = mods_off + (size_t)nmods * 16;
	size_t str_off = mmap_off + MB_MMAP_MAX * MB_MMAP_ENTRY;
	uint64_t size = align_up(str_off + strings, PAGE);
	for (unsigned k = 0; k < nmods; k++)
		size = align_up(size + mods[k].len, PAGE);
	if (base + size > top) {
		snprintf(err, errlen,
			 "-initrd: the Multiboot modules (%llu KiB) do not fit in RAM after the "
			 "kernel (-m)",
			 (unsigned long long)(size >> 10));
		goto fail;
	}
	blob = calloc(1, (size_t)size);
	if (!blob) {
		snprintf(err, errlen, "-kernel: out of memory");
		goto fail;
	}
	uint32_t b = (uint32_t)base;
	uint32_t mbi_flags = MBI_MEMORY | MBI_CMDLINE | MBI_MODS | MBI_LOADER_NAME;
	uint64_t upper = ram_below_4g > MIB ? (ram_below_4g - MIB) >> 10 : 0;
	put32(blob + MBI_MEM_LOWER, 640);
	put32(blob + MBI_MEM_UPPER, (uint32_t)upper);
	put32(blob + MBI_MMAP_ADDR, b + (uint32_t)mmap_off);
	put32(blob + MBI_MMAP_LENGTH, 0); /* the ROM fills the map from INT 15h E820 */
	char *s = (char *)blob + str_off;
	put32(blob + MBI_CMDLINE_PTR, b + (uint32_t)((uint8_t *)s - blob));
	s += sprintf(s, "%s%s%s", kernel_name, *append ? " " : "", append) + 1;
	put32(blob + MBI_LOADER_NAME_PTR, b + (uint32_t)((uint8_t *)s - blob));
	memcpy(s, name_buf, sizeof(name_buf));
	s += sizeof(name_buf);
	put32(blob + MBI_MODS_COUNT, nmods);
	put32(blob + MBI_MODS_ADDR, b + (uint32_t)mods_off);
	size_t pos = (size_t)align_up(str_off + strings, PAGE);
	for (unsigned k = 0; k < nmods; k++) {
		uint8_t *e = blob + mods_off + (size_t)k * 16;
		put32(e, b + (uint32_t)pos);                       /* mod_start */
		put32(e + 4, b + (uint32_t)(pos + mods[k].len));   /* mod_end */
		put32(e + 8, b + (uint32_t)((uint8_t *)s - blob)); /* string */
		s += sprintf(s, "%s", mods[k].name) + 1;
		if (mods[k].len)
			memcpy(blob + pos, mods[k].data, mods[k].len);
		pos = (size_t)align_up(pos + mods[k].len, PAGE);
	}
	put32(blob + MBI_FLAGS, mbi_flags);
	/* The ROM loads the kernel with this fw_cfg DMA descriptor (big-endian
	 * control, length, address), last: a low kernel may cover the BIOS's
	 * memory the ROM uses before. */
	put_be32(blob + MB_DMA_OFF, FWCFG_KERNEL_DATA << 16 | FWCFG_DMA_SELECT | FWCFG_DMA_READ);
	put_be32(blob + MB_DMA_OFF + 4, m.hi - m.lo);
	put_be32(blob + MB_DMA_OFF + 8, 0);
	put_be32(blob + MB_DMA_OFF + 12, m.lo);

	if (fwcfg_add_u32(fw, FWCFG_KERNEL_ENTRY, m.entry) < 0 ||
	    fwcfg_add_u32(fw, FWCFG_KERNEL_ADDR, m.lo) < 0 ||
	    fwcfg_add_u32(fw, FWCFG_KERNEL_SIZE, m.hi - m.lo) < 0 ||
	    fwcfg_add_bytes(fw, FWCFG_KERNEL_DATA, m.data, m.hi - m.lo) < 0 ||
	    fwcfg_add_u32(fw, FWCFG_INITRD_ADDR, b) < 0 ||
	    fwcfg_add_u32(fw, FWCFG_INITRD_SIZE, (uint32_t)size) < 0 ||
	    fwcfg_add_bytes(fw, FWCFG_INITRD_DATA, blob, (uint32_t)size) < 0 ||
	    publish_rom(fw, "multiboot.bin", fugu_multiboot_rom, fugu_multiboot_rom_len) < 0) {
		snprintf(err, errlen, "-kernel: out of memory or fw_cfg full");
		goto fail;
	}
	free(m.data);
	free(blob);
	return 0;
fail:
	free(m.data);
	free(blob);
	return -1;
}

int
loader_setup(struct fwcfg *fw, uint64_t ram_below_4g, const char *kernel_name,
	     const uint8_t *kernel, size_t kernel_len, const struct loader_file *initrds,
	     unsigned ninitrd, const char *append, char *err, size_t errlen)
{
	if (!append)
		append = "";
	switch (loader_detect(kernel, kernel_len)) {
	case LOADER_LINUX:
		return setup_linux(fw, ram_below_4g, kernel, kernel_len, initrds, ninitrd, append,
				   err, errlen);
	case LOADER_MULTIBOOT:
		return setup_multiboot(fw, ram_below_4g, kernel_name, kernel, kernel_len, initrds,
				       ninitrd, append, err, errlen);
	default:
		snprintf(err, errlen,
			 "-kernel %s: neither a Linux bzImage (boot protocol 2.00+) nor a "
			 "Multiboot kernel",
			 kernel_name);
		return -1;
	}
}

/*
 * Read all of `path` (at most `max` bytes) into a new buffer; -1 with a
 * message naming `opt` on failure.
 */
static int
read_file(const char *opt, const char *path, uint64_t max, uint8_t **data, size_t *len, char *err,
	  size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f || fstat(fileno(f), &st) < 0) {
		snprintf(err, errlen, "%s: cannot open %s: %s", opt, path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		snprintf(err, errlen,
			 S_ISREG(st.st_mode) ? "%s: %s is too big for RAM (-m)"
					     : "%s: %s is not a regular file",
			 opt, path);
		fclose(f);
		return -1;
	}
	*len = (size_t)st.st_size;
	*data = malloc(*len + 1);
	if (!*data || fread(*data, 1, *len, f) != *len) {
		snprintf(err, errlen, "%s: cannot read %s", opt, path);
		free(*data);
		*data = NULL;
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

#define LOADER_MAX_INITRD 64

int
loader_load(struct fwcfg *fw, uint64_t ram_below_4g, const char *kernel, const char *initrd,
	    const char *append, char *err, size_t errlen)
{
	uint8_t *img = NULL;
	size_t img_len = 0;
	struct loader_file files[LOADER_MAX_INITRD];
	char *names[LOADER_MAX_INITRD];
	unsigned n = 0;
	int r = -1;
	if (read_file("-kernel", kernel, ram_below_4g, &img, &img_len, err, errlen) < 0)
		return -1;
	enum loader_kind kind = loader_detect(img, img_len);
	if (kind == LOADER_UNKNOWN) {
		snprintf(err, errlen,
			 "-kernel %s: neither a Linux bzImage (boot protocol 2.00+) nor a "
			 "Multiboot kernel",
			 kernel);
		goto out;
	}
	/* -initrd "FILE[ ARGS],FILE..." (",," is a comma in a name): for Multiboot the
	 * file name ends at the first space and the whole entry is the module string
	 * (as QEMU's hw/i386/multiboot.c); for Linux the entry is the file name. */
	for (const char *p = initrd; p && *p;) {
		if (n == LOADER_MAX_INITRD) {
			snprintf(err, errlen, "-initrd: more than %u files", LOADER_MAX_INITRD);
			goto out;
		}
		char *entry = malloc(strlen(p) + 1), *q = entry;
		if (!entry) {
			snprintf(err, errlen, "-initrd: out of memory");
			goto out;
		}
		for (; *p; p++) {
			if (*p == ',' && p[1] != ',')
				break;
			if (*p == ',')
				p++;
			*q++ = *p;
		}
		*q = 0;
		if (*p == ',')
			p++;
		names[n] = entry;
		files[n] = (struct loader_file){ .name = entry };
		n++;
		char path[4096];
		size_t plen = kind == LOADER_MULTIBOOT ? strcspn(entry, " ") : strlen(entry);
		if (plen == 0 || plen >= sizeof(path)) {
			snprintf(err, errlen, "-initrd: bad file name '%s'", entry);
			goto out;
		}
		memcpy(path, entry, plen);
		path[plen] = 0;
		uint8_t *data;
		if (read_file("-initrd", path, ram_below_4g, &data, &files[n - 1].len, err,
			      errlen) < 0)
			goto out;
		files[n - 1].data = data;
	}
	r = loader_setup(fw, ram_below_4g, kernel, img, img_len, files, n, append, err, errlen);
out:
	for (unsigned k = 0; k < n; k++) {
		free((void *)files[k].data);
		free(names[k]);
	}
	free(img);
	return r;
}
