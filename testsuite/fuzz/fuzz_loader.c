/*
 * Fuzz harness: the loaders. The first byte picks one: the direct-boot
 * loader (firmware/loader.c: a Linux bzImage or a Multiboot ELF / a.out
 * kernel, with an initrd or modules, laid out into fw_cfg), or the BIOS image
 * loader (firmware/bios.c, through a memfd). For the kernel, the next two
 * bytes split the rest into kernel and initrd.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "chipset/fwcfg.h"
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fwcfg fw;
	char err[256];
	if (size < 3)
		return 0;
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
