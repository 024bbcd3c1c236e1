/*
 * Fuzz harness: the loaders. The first byte picks one: odd, the BIOS image
 * loader (firmware/bios.c, through a memfd); 2, the VGA's expansion ROM
 * image (chipset/vga.c, `vga_init` with the image as its VGA BIOS file, the
 * board's `vga_rom_path`, by default SeaBIOS's vgabios-stdvga.bin), which, when accepted, must
 * answer through its ROM BAR (PCI 2.1, 6.2.5.2) with a power-of-two size and the image's bytes,
 * zero padded; any other even byte, the direct-boot loader (firmware/loader.c: a Linux bzImage or a
 * Multiboot ELF / a.out kernel, with an initrd or modules, laid out into fw_cfg), the next two
 * bytes splitting the rest into kernel and initrd.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chipset/fwcfg.h"
#include "chipset/pci.h"
#include "chipset/timer.h"
#include "chipset/vga.h"
#include "firmware/bios.h"
#include "firmware/loader.h"
#include "mmu/ioport.h"
#include "mmu/physmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct physmem *mem;
static struct ioports *io;

/* Made once, before the first input: made lazily, the first input of each
 * AFL++ persistent-mode process ran code the others did not (unstable edges). */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mem = physmem_create(64u << 20);
	io = ioports_create();
	if (!mem || !io)
		abort();
	return 0;
}

/* A memfd holding `len` bytes, by path as an option gives a file; the fd in *fd. */
static void
memfd_path(const uint8_t *p, size_t len, int *fd, char *path, size_t pathlen)
{
	*fd = memfd_create("image", 0);
	if (*fd < 0 || write(*fd, p, len) != (ssize_t)len)
		abort();
	snprintf(path, pathlen, "/proc/self/fd/%d", *fd);
}

#define ROM_ADDR 0xe0000000u

/* The VGA with `rom` (len bytes) as its expansion ROM file. */
static void
vga_rom(const uint8_t *rom, size_t len)
{
	static struct vga v;
	static struct pci_bus bus;
	static uint64_t icount;
	struct vclock clock;
	char err[256] = "", path[64];
	int fd;
	memfd_path(rom, len, &fd, path, sizeof(path));
	struct ioports *vio = ioports_create();
	struct physmem *pm = physmem_create(1u << 20);
	if (!vio || !pm || pci_bus_init(&bus, vio, NULL, NULL) < 0)
		abort();
	vclock_init(&clock, VCLOCK_DETERMINISTIC, &icount);
	int r = vga_init(&v, &bus, 2, vio, pm, &clock, path, err, sizeof(err));
	close(fd);
	if (r < 0 && strncmp(err, "VGA", 3) != 0)
		abort(); /* refused without a message */
	if (r == 0) {
		/* Accepted: 55 AA, at least 512 bytes, at most 1 MiB; the BAR a power
		 * of two of at least 2 KiB holding the whole image. */
		uint32_t size = v.rom_size;
		if (len < 512 || len > VGA_ROM_MAX || rom[0] != 0x55 || rom[1] != 0xaa ||
		    size < 2048 || (size & (size - 1)) || size < len || size > VGA_ROM_MAX)
			abort();
		struct pci_function *fn = &v.fn;
		pci_config_write(fn, PCI_ROM_ADDRESS, 0xffffffff, 4);
		if ((pci_config_read(fn, PCI_ROM_ADDRESS, 4) & ~0x7ffu) != (~(size - 1) & ~0x7ffu))
			abort();
		pci_config_write(fn, PCI_ROM_ADDRESS, ROM_ADDR | 1, 4);
		pci_config_write(fn, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
		uint8_t *back = malloc(size);
		if (!back)
			abort();
		physmem_read(pm, ROM_ADDR, back, size);
		if (memcmp(back, rom, len) != 0)
			abort();
		for (size_t k = len; k < size; k++)
			if (back[k] != 0)
				abort();
		free(back);
	}
	vga_destroy(&v);
	vclock_destroy(&clock);
	physmem_destroy(pm);
	ioports_destroy(vio);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fwcfg fw;
	char err[256];
	if (size < 3)
		return 0;
	if (data[0] == 2) {
		vga_rom(data + 1, size - 1);
		return 0;
	}
	if (data[0] & 1) { /* a BIOS image, by path as -bios gives it */
		struct physmem *pm = physmem_create(1u << 20);
		int fd = memfd_create("bios", 0);
		if (!pm || fd < 0 || write(fd, data + 1, size - 1) != (ssize_t)(size - 1))
			abort();
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		(void)bios_load(pm, path, err, sizeof(err));
		close(fd);
		physmem_destroy(pm);
		return 0;
	}
	if (fwcfg_init(&fw, io, mem) < 0)
		abort();
	size_t klen = (size_t)(data[1] | data[2] << 8) * 16;
	const uint8_t *rest = data + 3;
	size_t n = size - 3;
	if (klen > n)
		klen = n;
	struct loader_file initrd = { "module arg=1", rest + klen, n - klen };
	(void)loader_setup(&fw, mem->ram_below_4g, "kernel", rest, klen, &initrd, n > klen ? 1 : 0,
			   "console=ttyS0 vga=0x317", err, sizeof(err));
	fwcfg_destroy(&fw);
	/* the next fwcfg_init claims the ports again */
	for (unsigned p = 0x510; p < 0x51c; p++)
		io->port[p] = (struct ioport){ 0 };
	return 0;
}
