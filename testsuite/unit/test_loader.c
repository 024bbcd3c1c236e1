/*
 * Unit tests: direct boot (firmware/loader.c). Detection of Linux bzImages
 * (Documentation/arch/x86/boot.rst) and Multiboot kernels (Multiboot
 * Specification 0.6.96, 3.1), the initrd placement (QEMU's convention: as high
 * as initrd_addr_max and the RAM top allow, page-aligned), the fw_cfg items
 * published for both kinds, and the embedded option ROMs' headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chipset/fwcfg.h"
#include "mmu/ioport.h"
#include "firmware/loader.h"
#include "mmu/physmem.h"

#define MIB (1u << 20)

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void
put32(uint8_t *p, uint32_t v)
{
	for (unsigned k = 0; k < 4; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

/* A Multiboot header with the a.out kludge at `off`. */
static void
put_mb_header(uint8_t *img, size_t off, uint32_t flags, uint32_t load_addr)
{
	put32(img + off, MB_HEADER_MAGIC);
	put32(img + off + 4, flags);
	put32(img + off + 8, (uint32_t) - (MB_HEADER_MAGIC + flags));
	put32(img + off + 12, load_addr + (uint32_t)off); /* header_addr */
	put32(img + off + 16, load_addr);                 /* load_addr */
	put32(img + off + 20, 0);                         /* load_end_addr: the whole file */
	put32(img + off + 24, 0);                         /* bss_end_addr: none */
	put32(img + off + 28, load_addr + 0x40);          /* entry_addr */
}

/* A minimal bzImage: 4 setup sectors + 1 boot sector, then `kernel` bytes. */
static uint8_t *
make_bzimage(size_t kernel, uint16_t version, size_t *len)
{
	*len = 5 * 512 + kernel;
	uint8_t *img = calloc(1, *len);
	img[0x1f1] = 4;
	img[0x1fe] = 0x55;
	img[0x1ff] = 0xaa;
	memcpy(img + 0x202, "HdrS", 4);
	img[0x206] = (uint8_t)version;
	img[0x207] = (uint8_t)(version >> 8);
	img[0x211] = 0x01;              /* LOADED_HIGH */
	put32(img + 0x22c, 0x37ffffff); /* initrd_addr_max */
	put32(img + 0x238, 2048);       /* cmdline_size */
	return img;
}

static const struct fwcfg_item *
item(const struct fwcfg *fw, uint16_t key)
{
	for (unsigned k = 0; k < fw->nitems; k++)
		if (fw->items[k].key == key)
			return &fw->items[k];
	return NULL;
}

static uint32_t
item32(const struct fwcfg *fw, uint16_t key)
{
	const struct fwcfg_item *it = item(fw, key);
	assert_non_null(it);
	assert_int_equal(it->len, 4);
	return get32(it->data);
}

static const struct fwcfg_item *
file_item(const struct fwcfg *fw, const char *name)
{
	for (unsigned k = 0; k < fw->nitems; k++)
		if (!strcmp(fw->items[k].name, name))
			return &fw->items[k];
	return NULL;
}

#include "fwcfg_fixture.h"

/* Zeros, random bytes, an old zImage header and a half-made Multiboot header are refused. */
static void
test_rejects_garbage(void **state)
{
	(void)state;
	uint8_t buf[16384] = { 0 };
	struct mb_header h;
	assert_int_equal(loader_detect(buf, sizeof(buf)), LOADER_UNKNOWN);
	srand(1);
	for (size_t k = 0; k < sizeof(buf); k++)
		buf[k] = (uint8_t)rand();
	assert_int_equal(loader_detect(buf, sizeof(buf)), LOADER_UNKNOWN);
	assert_int_equal(loader_detect(buf, 3), LOADER_UNKNOWN);

	size_t len;
	uint8_t *img = make_bzimage(4096, 0x0201, &len);
	assert_int_equal(loader_detect(img, len), LOADER_LINUX);
	img[0x211] = 0; /* zImage: not loaded high */
	assert_int_equal(loader_detect(img, len), LOADER_UNKNOWN);
	img[0x211] = 1;
	img[0x207] = 0x01; /* protocol 1.xx */
	assert_int_equal(loader_detect(img, len), LOADER_UNKNOWN);
	free(img);

	memset(buf, 0, sizeof(buf));
	put_mb_header(buf, 64, MB_FLAG_AOUT_KLUDGE, MIB);
	buf[64 + 8] ^= 1; /* checksum off by one */
	assert_int_equal(loader_find_multiboot(buf, sizeof(buf), &h), -1);
	assert_int_equal(loader_detect(buf, sizeof(buf)), LOADER_UNKNOWN);
}

/* The header is found 32-bit aligned in the first 8 KiB, and only there. */
static void
test_finds_multiboot_header(void **state)
{
	(void)state;
	static uint8_t buf[16384];
	struct mb_header h;
	memset(buf, 0, sizeof(buf));
	put_mb_header(buf, 8192 - 32, MB_FLAG_AOUT_KLUDGE | MB_FLAG_PAGE_ALIGN, 0x200000);
	assert_int_equal(loader_find_multiboot(buf, sizeof(buf), &h), 0);
	assert_int_equal(h.offset, 8192 - 32);
	assert_int_equal(h.flags, MB_FLAG_AOUT_KLUDGE | MB_FLAG_PAGE_ALIGN);
	assert_int_equal(h.load_addr, 0x200000);
	assert_int_equal(h.header_addr, 0x200000 + 8192 - 32);
	assert_int_equal(h.entry_addr, 0x200040);
	assert_int_equal(loader_detect(buf, sizeof(buf)), LOADER_MULTIBOOT);

	memset(buf, 0, sizeof(buf));
	put_mb_header(buf, 8192, MB_FLAG_AOUT_KLUDGE, MIB); /* just past the 8 KiB */
	assert_int_equal(loader_find_multiboot(buf, sizeof(buf), &h), -1);
	memset(buf, 0, sizeof(buf));
	put_mb_header(buf, 102, MB_FLAG_AOUT_KLUDGE, MIB); /* not 32-bit aligned */
	assert_int_equal(loader_find_multiboot(buf, sizeof(buf), &h), -1);
	/* Truncated before its address fields. */
	memset(buf, 0, sizeof(buf));
	put_mb_header(buf, 100, MB_FLAG_AOUT_KLUDGE, MIB);
	assert_int_equal(loader_find_multiboot(buf, 120, &h), -1);
}

/* initrd: page-aligned, ending at or below initrd_addr_max + 1 and the RAM top. */
static void
test_initrd_address(void **state)
{
	(void)state;
	/* Below initrd_addr_max (32 MiB) in 64 MiB of RAM. */
	assert_int_equal(loader_initrd_addr(64 * MIB, 0x01ffffff, 3000, 0x110000), 0x01fff000);
	/* RAM is the limit: its top less what SeaBIOS keeps. */
	assert_int_equal(loader_initrd_addr(32 * MIB, 0x37ffffff, 4096, 0x110000),
			 32 * MIB - LOADER_HIGH_RESERVE - 4096);
	assert_int_equal(loader_initrd_addr(32 * MIB, 0x37ffffff, 4097, 0x110000),
			 32 * MIB - LOADER_HIGH_RESERVE - 8192);
	/* Too big: it would overlap the kernel, or more than RAM. */
	assert_int_equal(loader_initrd_addr(4 * MIB, 0x37ffffff, 3 * MIB, 0x110000), 0);
	assert_int_equal(loader_initrd_addr(4 * MIB, 0x37ffffff, 8 * MIB, 0x110000), 0);
	assert_int_equal(loader_initrd_addr(4 * MIB, 0x37ffffff, 0, 0x110000), 0);
}

/* A bzImage: the setup header as a loader fills it, the fw_cfg keys, the ROM. */
static void
test_linux_setup(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	size_t len;
	uint8_t *img = make_bzimage(8192, 0x020f, &len);
	static uint8_t rd[5000];
	struct loader_file initrd = { .name = "rd", .data = rd, .len = sizeof(rd) };
	rd[4999] = 0x5a;
	put32(img + 0x22c, 0x00ffffff); /* initrd_addr_max: 16 MiB */
	assert_int_equal(loader_setup(&f->fw, 64 * MIB, "bz", img, len, &initrd, 1,
				      "root=/dev/sda vga=ext", err, sizeof(err)),
			 0);
	assert_int_equal(item32(&f->fw, FWCFG_SETUP_ADDR), 0x10000);
	assert_int_equal(item32(&f->fw, FWCFG_SETUP_SIZE), 5 * 512);
	assert_int_equal(item32(&f->fw, FWCFG_KERNEL_ADDR), MIB);
	assert_int_equal(item32(&f->fw, FWCFG_KERNEL_SIZE), 8192);
	assert_int_equal(item32(&f->fw, FWCFG_CMDLINE_ADDR), 0x20000);
	assert_int_equal(item32(&f->fw, FWCFG_CMDLINE_SIZE), strlen("root=/dev/sda vga=ext") + 1);
	assert_string_equal((const char *)item(&f->fw, FWCFG_CMDLINE_DATA)->data,
			    "root=/dev/sda vga=ext");
	uint32_t rd_addr = item32(&f->fw, FWCFG_INITRD_ADDR);
	assert_int_equal(rd_addr, (16 * MIB - 5000) & ~4095u);
	assert_int_equal(item32(&f->fw, FWCFG_INITRD_SIZE), 5000);
	assert_int_equal(item(&f->fw, FWCFG_INITRD_DATA)->data[4999], 0x5a);
	const uint8_t *s = item(&f->fw, FWCFG_SETUP_DATA)->data;
	assert_int_equal(s[0x210], 0xb0);                   /* type_of_loader */
	assert_int_equal(s[0x211], 0x81);                   /* LOADED_HIGH | CAN_USE_HEAP */
	assert_int_equal(s[0x224] | s[0x225] << 8, 0xfe00); /* heap_end_ptr */
	assert_int_equal(get32(s + 0x228), 0x20000);        /* cmd_line_ptr */
	assert_int_equal(get32(s + 0x218), rd_addr);        /* ramdisk_image */
	assert_int_equal(get32(s + 0x21c), 5000);           /* ramdisk_size */
	assert_int_equal(s[0x1fa] | s[0x1fb] << 8, 0xfffe); /* vid_mode: vga=ext */
	assert_memory_equal(item(&f->fw, FWCFG_KERNEL_DATA)->data, img + 5 * 512, 8192);
	assert_non_null(file_item(&f->fw, "genroms/linuxboot.bin"));
	const struct fwcfg_item *order = file_item(&f->fw, "bootorder");
	assert_non_null(order);
	assert_memory_equal(order->data, "/rom@genroms/linuxboot.bin\n", order->len);

	/* A command line longer than cmdline_size is refused. */
	put32(img + 0x238, 8);
	assert_int_equal(loader_setup(&f->fw, 64 * MIB, "bz", img, len, NULL, 0, "123456789", err,
				      sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "command line"));
	/* init_size larger than RAM: the kernel does not fit. */
	put32(img + 0x238, 2048);
	put32(img + 0x260, 64 * MIB);
	assert_int_equal(
		loader_setup(&f->fw, 64 * MIB, "bz", img, len, NULL, 0, "", err, sizeof(err)), -1);
	free(img);
}

/* A Multiboot a.out-kludge kernel: image, entry, and the information structure. */
static void
test_multiboot_setup(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";
	static uint8_t img[0x3000];
	memset(img, 0, sizeof(img));
	put_mb_header(img, 0x100, MB_FLAG_AOUT_KLUDGE | MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMORY_INFO,
		      2 * MIB);
	put32(img + 0x100 + 24, 2 * MIB + 0x5000); /* bss_end_addr */
	img[sizeof(img) - 1] = 0xc3;
	static const uint8_t mod0[3] = { 1, 2, 3 };
	struct loader_file mods[2] = { { .name = "m0 a=1", .data = mod0, .len = 3 },
				       { .name = "m1", .data = NULL, .len = 0 } };
	assert_int_equal(loader_setup(&f->fw, 32 * MIB, "kern", img, sizeof(img), mods, 2, "hello",
				      err, sizeof(err)),
			 0);
	assert_int_equal(item32(&f->fw, FWCFG_KERNEL_ENTRY), 2 * MIB + 0x40);
	assert_int_equal(item32(&f->fw, FWCFG_KERNEL_ADDR), 2 * MIB);
	assert_int_equal(item32(&f->fw, FWCFG_KERNEL_SIZE), 0x5000);
	const uint8_t *k = item(&f->fw, FWCFG_KERNEL_DATA)->data;
	assert_int_equal(k[sizeof(img) - 1], 0xc3);
	assert_int_equal(k[0x4fff], 0); /* bss */
	uint32_t mbi = item32(&f->fw, FWCFG_INITRD_ADDR);
	assert_int_equal(mbi, 2 * MIB + 0x5000);
	const uint8_t *b = item(&f->fw, FWCFG_INITRD_DATA)->data;
	assert_int_equal(item32(&f->fw, FWCFG_INITRD_SIZE), item(&f->fw, FWCFG_INITRD_DATA)->len);
	assert_int_equal(get32(b), MBI_MEMORY | MBI_CMDLINE | MBI_MODS | MBI_LOADER_NAME);
	assert_int_equal(get32(b + 4), 640);
	assert_int_equal(get32(b + 8), 31 * 1024);
	assert_string_equal((const char *)b + (get32(b + 16) - mbi), "kern hello");
	assert_string_equal((const char *)b + (get32(b + 64) - mbi), "fugu");
	assert_int_equal(get32(b + 20), 2);
	const uint8_t *m = b + (get32(b + 24) - mbi);
	assert_int_equal(get32(m) & 4095, 0);
	assert_int_equal(get32(m + 4) - get32(m), 3);
	assert_memory_equal(b + (get32(m) - mbi), mod0, 3);
	assert_string_equal((const char *)b + (get32(m + 8) - mbi), "m0 a=1");
	assert_int_equal(get32(m + 16) & 4095, 0);
	assert_true(get32(m + 16) > get32(m));
	assert_string_equal((const char *)b + (get32(m + 24) - mbi), "m1");
	/* The memory map buffer the ROM fills: room for MB_MMAP_MAX entries. */
	assert_true(get32(b + 48) - mbi + MB_MMAP_MAX * MB_MMAP_ENTRY <= get32(b + 16) - mbi);
	assert_non_null(file_item(&f->fw, "genroms/multiboot.bin"));

	/* The kernel's DMA descriptor, for the ROM to load it last (big-endian
	 * control: KERNEL_DATA selected, read; length; address). */
	assert_int_equal(get32(b + MB_DMA_OFF), __builtin_bswap32(0x11u << 16 | 0x0a));
	assert_int_equal(get32(b + MB_DMA_OFF + 4), __builtin_bswap32(0x5000));
	assert_int_equal(get32(b + MB_DMA_OFF + 12), __builtin_bswap32(2 * MIB));

	/* Linked below 1 MiB (as QEMU loads it): the boot information still goes
	 * to 1 MiB or above, never under the kernel or the ROM's scratch. */
	fwcfg_destroy(&f->fw); /* a fresh fw_cfg (and port table) for the next kernel */
	ioports_destroy(f->io);
	f->io = ioports_create();
	assert_int_equal(fwcfg_init(&f->fw, f->io, f->mem), 0);
	put_mb_header(img, 0x100, MB_FLAG_AOUT_KLUDGE, 0x8000);
	assert_int_equal(loader_setup(&f->fw, 32 * MIB, "kern", img, sizeof(img), NULL, 0, "", err,
				      sizeof(err)),
			 0);
	assert_int_equal(item32(&f->fw, FWCFG_KERNEL_ADDR), 0x8000);
	assert_int_equal(item32(&f->fw, FWCFG_INITRD_ADDR), MIB);
	/* Into the interrupt table and BIOS data area, into the VGA/ROM hole, or
	 * beyond RAM: refused. */
	put_mb_header(img, 0x100, MB_FLAG_AOUT_KLUDGE, 0x100);
	assert_int_equal(loader_setup(&f->fw, 32 * MIB, "kern", img, sizeof(img), NULL, 0, "", err,
				      sizeof(err)),
			 -1);
	put_mb_header(img, 0x100, MB_FLAG_AOUT_KLUDGE, 0x9f000);
	assert_int_equal(loader_setup(&f->fw, 32 * MIB, "kern", img, sizeof(img), NULL, 0, "", err,
				      sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "0xa0000"));
	put_mb_header(img, 0x100, MB_FLAG_AOUT_KLUDGE, 40 * MIB);
	assert_int_equal(loader_setup(&f->fw, 32 * MIB, "kern", img, sizeof(img), NULL, 0, "", err,
				      sizeof(err)),
			 -1);
	/* A required feature fugu lacks (flag bit 3). */
	put_mb_header(img, 0x100, MB_FLAG_AOUT_KLUDGE | 0x8, 2 * MIB);
	assert_int_equal(loader_setup(&f->fw, 32 * MIB, "kern", img, sizeof(img), NULL, 0, "", err,
				      sizeof(err)),
			 -1);
	/* Neither ELF nor a.out kludge. */
	put_mb_header(img, 0x100, 0, 2 * MIB);
	assert_int_equal(loader_setup(&f->fw, 32 * MIB, "kern", img, sizeof(img), NULL, 0, "", err,
				      sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "ELF"));
}

/* The embedded ROMs: 55 AA, size in 512-byte blocks, checksum 0, a PnP header with a BEV. */
static void
test_option_roms(void **state)
{
	(void)state;
	const unsigned char *roms[2] = { fugu_linuxboot_rom, fugu_multiboot_rom };
	unsigned lens[2] = { fugu_linuxboot_rom_len, fugu_multiboot_rom_len };
	for (unsigned r = 0; r < 2; r++) {
		const unsigned char *rom = roms[r];
		assert_int_equal(rom[0], 0x55);
		assert_int_equal(rom[1], 0xaa);
		assert_int_equal(rom[2] * 512u, lens[r]);
		uint8_t sum = 0;
		for (unsigned k = 0; k < lens[r]; k++)
			sum = (uint8_t)(sum + rom[k]);
		assert_int_equal(sum, 0);
		unsigned pnp = rom[0x1a] | rom[0x1b] << 8;
		assert_true(pnp + 32 <= lens[r]);
		assert_memory_equal(rom + pnp, "$PnP", 4);
		for (unsigned k = 0; k < 32; k++)
			sum = (uint8_t)(sum + rom[pnp + k]);
		assert_int_equal(sum, 0);
		unsigned bev = rom[pnp + 0x1a] | rom[pnp + 0x1b] << 8;
		assert_true(bev > pnp && bev < lens[r]);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rejects_garbage),
		cmocka_unit_test(test_finds_multiboot_header),
		cmocka_unit_test(test_initrd_address),
		cmocka_unit_test_setup_teardown(test_linux_setup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multiboot_setup, setup, teardown),
		cmocka_unit_test(test_option_roms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
