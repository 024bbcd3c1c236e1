/*
 * Fuzz harness: every device of the board through its ports and MMIO, with
 * random access sequences: PIC, PIT, RTC, UARTs, 8042, PCI configuration,
 * i440FX, PIIX (ISA bridge, PM), IDE with bus-master DMA (a 1 MiB image,
 * -snapshot, and a 256 KiB ATAPI CD-ROM), VGA with VBE, fw_cfg with DMA, the
 * local APIC and IOAPIC, the HPET, the debug ports, pc-testdev and
 * pci-testdev, two CPUs (IPIs through the APIC bus), the e1000 at 00:03.0 (unconnected: its frames
 * go nowhere, its descriptor rings are DMA targets in RAM). The board (16 MiB of RAM, deterministic
 * clock, a BIOS of HLTs that never runs) is built once and reset before each input, as the guest's
 * reset would (building it per input costs 40 ms under ASan). The input is a list of 8-byte
 * operations: op, a target, a size and a value; targets lean to the devices' own ports and windows,
 * and some go anywhere.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chipset/pc.h"
#include "cpu/cpu_internal.h"
#include "mmu/ioport.h"
#include "mmu/physmem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char bios_path[64], disk_path[64], cd_path[64];

/* A file of `size` bytes of `fill` in /tmp, removed at exit. */
static void
temp_file(char *path, const char *name, size_t size, int fill)
{
	snprintf(path, 64, "/tmp/fugu-fuzz-%s-XXXXXX", name);
	int fd = mkstemp(path);
	if (fd < 0)
		abort();
	uint8_t *b = malloc(size);
	memset(b, fill, size);
	if (write(fd, b, size) != (ssize_t)size)
		abort();
	free(b);
	close(fd);
}

static void
cleanup(void)
{
	unlink(bios_path);
	unlink(disk_path);
	unlink(cd_path);
}

static struct pc *pc;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	temp_file(bios_path, "bios", 65536, 0xf4);
	temp_file(disk_path, "disk", 1u << 20, 0x5a);
	temp_file(cd_path, "cd", 256u << 10, 0xa5);
	atexit(cleanup);
	/* The board is made here, once (made lazily, the first input of each
	 * AFL++ persistent-mode process ran code the others did not). */
	struct pc_config cfg = { .ram_size = 16u << 20,
				 .bios_path = bios_path,
				 .clock_mode = VCLOCK_DETERMINISTIC,
				 .vga = true,
				 .snapshot = true,
				 .testdev = true,
				 .pci_testdev = true,
				 .ncpus = 2 }; /* IPIs cross the APIC bus to a second CPU */
	cfg.drive[0].path = disk_path;
	cfg.drive[2].path = cd_path; /* an ATAPI CD-ROM on the secondary channel */
	cfg.drive[2].cdrom = true;
	cfg.drive[2].readonly = true;
	net_config_init(&cfg.net);
	cfg.net.nic = true;
	char err[256];
	if (!(pc = pc_create(&cfg, err, sizeof(err)))) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	return 0;
}

/*
 * The same board for every input (AFL++ counts an edge that the same input
 * reaches one time and not the next as unstable): virtual time back to 0
 * and no timer armed before the reset arms its own (a reset keeps time, so
 * each input saw a later clock, the PIT's and RTC's counts with it), the
 * low 1 MiB of RAM the inputs' descriptor writes go to zeroed, the disk's
 * overlay emptied.
 */
static void
fresh_board(void)
{
	for (unsigned k = 0; k < pc->clock.nall; k++)
		vtimer_disarm(pc->clock.all[k]);
	for (unsigned k = 0; k < pc->ncpus; k++)
		pc->cpus[k]->icount = 0;
	pc->clock.idle_ns = 0;
	memset(pc->mem->ram, 0, 1u << 20);
	/* the disk's -snapshot overlay emptied: sectors read as the image's again */
	struct blockdev *bd = &pc->ide.ch[0].drive[0].bd;
	if (bd->ov_sectors) {
		static const uint64_t none = 0;
		if (blockdev_overlay_restore(bd, &none, sizeof(none)) < 0)
			abort();
	}
	pc_reset(pc);
}

/* Ports the devices own (and a few around them). */
static const uint16_t ports[] = {
	0x20,   0x21,  0xa0,  0xa1,  0x4d0,  0x4d1,  0x40,   0x41,   0x42,   0x43,   0x61,   0x70,
	0x71,   0x72,  0x73,  0x3f8, 0x3f9,  0x3fa,  0x3fb,  0x3fc,  0x3fd,  0x2f8,  0x2fd,  0x60,
	0x64,   0xcf8, 0xcfc, 0xcfd, 0xcfe,  0xcff,  0x1f0,  0x1f1,  0x1f2,  0x1f3,  0x1f4,  0x1f5,
	0x1f6,  0x1f7, 0x3f6, 0x170, 0x177,  0x376,  0x3c0,  0x3c1,  0x3c4,  0x3c5,  0x3ce,  0x3cf,
	0x3d4,  0x3d5, 0x3da, 0x3c7, 0x3c8,  0x3c9,  0x1ce,  0x1cf,  0x510,  0x511,  0x514,  0x518,
	0x92,   0xb2,  0xb3,  0xcf9, 0x80,   0xe9,   0x402,  0xf0,   0xc000, 0xc004, 0xb000, 0xb004,
	0xb008, 0xe0,  0xe4,  0xe8,  0x2000, 0x2004, 0x2010, 0x2014, 0xafe0, 0xc040, 0xc044,
};

/* MMIO windows: the local APIC, the IOAPIC, the legacy VGA window, the VGA BARs
 * where the sequences below tend to put them, the BIOS, RAM (DMA targets), and
 * pc-testdev's window, the HPET, and the e1000's registers (BAR0 at
 * 0xe2000000: its transmit tail, receive tail, interrupt and EEPROM registers). */
static const uint64_t windows[] = { 0xfee00000, 0xfec00000, 0xa0000,   0xb8000,    0xe0000000,
				    0xe1000000, 0xfffe0000, 0x1000,    0xff000000, 0xe2003800,
				    0xe2002800, 0xe2000000, 0xe2000010 };
#define NWINDOWS (sizeof(windows) / sizeof(windows[0]))

static uint64_t
get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	for (unsigned k = 0; k < n; k++)
		v |= (uint64_t)p[k] << (8 * k);
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fresh_board();
	/* the e1000 as a BIOS leaves it: BARs placed, memory, I/O and bus mastering on */
	pci_config_write(&pc->e1000.fn, PCI_BAR0, 0xe2000000, 4);
	pci_config_write(&pc->e1000.fn, PCI_BAR0 + 4, 0xc040, 4);
	pci_config_write(&pc->e1000.fn, PCI_COMMAND, 7, 2);
	static const unsigned sizes[4] = { 1, 2, 4, 8 };
	for (size_t at = 0; at + 8 <= size && at < 8 * 4096; at += 8) {
		const uint8_t *op = data + at;
		unsigned sz = sizes[op[1] & 3];
		uint32_t v32 = (uint32_t)get(op + 4, 4);
		uint16_t port =
			(op[1] & 0x80)
				? (uint16_t)get(op + 2, 2)
				: (uint16_t)(ports[op[2] % (sizeof(ports) / 2)] + (op[3] & 3));
		uint64_t addr = windows[op[2] % NWINDOWS] + (get(op + 2, 2) & 0xfff8);
		if (sz == 8 && (op[0] & 7) < 2)
			sz = 4;
		switch (op[0] & 7) {
		case 0: ioport_write(pc->io, port, v32, sz); break;
		case 1: (void)ioport_read(pc->io, port, sz); break;
		case 2: physmem_write_sized(pc->mem, addr, v32 | (uint64_t)v32 << 32, sz); break;
		case 3: (void)physmem_read_sized(pc->mem, addr, sz); break;
		case 4: /* time passes: timers fire */
			vclock_skip_to(&pc->clock, vclock_now(&pc->clock) + (v32 & 0xffffff));
			vclock_run_expired(&pc->clock);
			break;
		case 5: /* a PCI configuration write (bus 0, devices 0-4: the e1000 at 3,
			 * pci-testdev at 4) */
			ioport_write(pc->io, 0xcf8,
				     0x80000000u | (unsigned)(op[2] % 40) << 8 | (op[3] & 0xfc), 4);
			ioport_write(pc->io, (uint16_t)(0xcfc + (op[3] & 3)), v32, sz > 4 ? 4 : sz);
			break;
		case 6: /* RAM the devices' DMA reads: descriptors, PRD tables */
			physmem_write(pc->mem, get(op + 1, 3) & 0xffff8, op + 4, 4);
			break;
		case 7:
			if (op[1] == 0x5a)
				pc_reset(pc);
			else
				(void)ioport_read(pc->io, port, 1);
			break;
		}
	}
	return 0;
}
