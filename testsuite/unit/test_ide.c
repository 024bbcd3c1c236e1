/*
 * Unit tests: ATA disks (chipset/ide.c), the PIIX3 IDE function with its
 * bus-master DMA (chipset/ide_pci.c) and the image layer (chipset/blockdev.c),
 * driven through the ports as a guest would, on temporary image files.
 * Register and command names are ATA/ATAPI-6's; BMICx/BMISx/BMIDTPx and the
 * PRD format are the PIIX3 datasheet's.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "chipset/ide.h"
#include "mmu/ioport.h"
#include "mmu/physmem.h"

#define SECTORS 4096 /* 2 MiB: default translation 4 cylinders, 16 heads, 63 sectors */
#define BMBASE 0xc000
#define CMD 0x1f0
#define CTL 0x3f6

struct fixture {
	struct ioports *io;
	struct physmem *mem;
	struct pci_bus bus;
	struct ide ide;
	bool irq[2];
	int edges[2];
	char path[64];
};

static void
set_irq(void *opaque, int ch, int level)
{
	struct fixture *f = opaque;
	if (level && !f->irq[ch])
		f->edges[ch]++;
	f->irq[ch] = level;
}

/* The byte at offset i of sector s in a fresh image. */
static uint8_t
pattern(uint64_t s, unsigned i)
{
	return (uint8_t)(s * 7 + i * 13 + (s >> 8));
}

/* A temporary image of `sectors` sectors holding pattern(); sparse beyond `fill`. */
static void
make_image(char *path, uint64_t sectors, uint64_t fill)
{
	strcpy(path, "/tmp/fugu-ide-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	uint8_t buf[512];
	for (uint64_t s = 0; s < fill; s++) {
		for (unsigned i = 0; i < 512; i++)
			buf[i] = pattern(s, i);
		assert_int_equal(pwrite(fd, buf, 512, (off_t)(s * 512)), 512);
	}
	assert_int_equal(ftruncate(fd, (off_t)(sectors * 512)), 0);
	close(fd);
}

/* FNV-1a over the whole file. */
static uint64_t
file_hash(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint64_t h = 0xcbf29ce484222325ull;
	int c;
	assert_non_null(fp);
	while ((c = fgetc(fp)) != EOF)
		h = (h ^ (uint8_t)c) * 0x100000001b3ull;
	fclose(fp);
	return h;
}

static void
file_sector(const char *path, uint64_t s, uint8_t *buf)
{
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fseeko(fp, (off_t)(s * 512), SEEK_SET), 0);
	assert_int_equal(fread(buf, 1, 512, fp), 512);
	fclose(fp);
}

static struct fixture *
make_fixture(uint64_t sectors, uint64_t fill, bool readonly, bool snapshot)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ide_board b = { .irq = { IRQ_LINE(set_irq, f, 0), IRQ_LINE(set_irq, f, 1) } };
	char err[256];
	f->io = ioports_create();
	f->mem = physmem_create(16u << 20);
	assert_non_null(f->io);
	assert_non_null(f->mem);
	assert_int_equal(pci_bus_init(&f->bus, f->io, NULL, NULL), 0);
	assert_int_equal(ide_init(&f->ide, &f->bus, f->io, f->mem, &b), 0);
	make_image(f->path, sectors, fill);
	assert_int_equal(ide_attach(&f->ide, 0, f->path, readonly, snapshot, err, sizeof(err)), 0);
	return f;
}

static int
setup(void **state)
{
	*state = make_fixture(SECTORS, SECTORS, false, false);
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	ide_destroy(&f->ide);
	unlink(f->path);
	physmem_destroy(f->mem);
	ioports_destroy(f->io);
	free(f);
	return 0;
}

static uint8_t
inb(struct fixture *f, uint16_t port)
{
	return (uint8_t)ioport_read(f->io, port, 1);
}

static void
outb(struct fixture *f, uint16_t port, uint8_t v)
{
	ioport_write(f->io, port, v, 1);
}

/* LBA28 task file: count, LBA, LBA bit, device 0. */
static void
task28(struct fixture *f, uint8_t count, uint32_t lba)
{
	outb(f, CMD + 6, (uint8_t)(0xe0 | (lba >> 24 & 0x0f)));
	outb(f, CMD + 2, count);
	outb(f, CMD + 3, (uint8_t)lba);
	outb(f, CMD + 4, (uint8_t)(lba >> 8));
	outb(f, CMD + 5, (uint8_t)(lba >> 16));
}

/* LBA48 task file: each register written twice, high byte first. */
static void
task48(struct fixture *f, uint16_t count, uint64_t lba)
{
	outb(f, CMD + 6, 0x40);
	outb(f, CMD + 2, (uint8_t)(count >> 8));
	outb(f, CMD + 3, (uint8_t)(lba >> 24));
	outb(f, CMD + 4, (uint8_t)(lba >> 32));
	outb(f, CMD + 5, (uint8_t)(lba >> 40));
	outb(f, CMD + 2, (uint8_t)count);
	outb(f, CMD + 3, (uint8_t)lba);
	outb(f, CMD + 4, (uint8_t)(lba >> 8));
	outb(f, CMD + 5, (uint8_t)(lba >> 16));
}

/* Read `n` bytes of PIO data with 16-bit accesses. */
static void
read_data(struct fixture *f, uint8_t *buf, unsigned n)
{
	for (unsigned k = 0; k < n; k += 2) {
		uint16_t w = (uint16_t)ioport_read(f->io, CMD, 2);
		buf[k] = (uint8_t)w;
		buf[k + 1] = (uint8_t)(w >> 8);
	}
}

static void
write_data(struct fixture *f, const uint8_t *buf, unsigned n)
{
	for (unsigned k = 0; k < n; k += 4)
		ioport_write(f->io, CMD,
			     (uint32_t)(buf[k] | buf[k + 1] << 8 | buf[k + 2] << 16) |
				     (uint32_t)buf[k + 3] << 24,
			     4);
}

static void
expect_sector(const uint8_t *buf, uint64_t s)
{
	for (unsigned i = 0; i < 512; i++)
		if (buf[i] != pattern(s, i))
			fail_msg("sector %llu byte %u: %02x, expected %02x", (unsigned long long)s,
				 i, buf[i], pattern(s, i));
}

static uint16_t
word(const uint8_t *id, unsigned w)
{
	return (uint16_t)(id[2 * w] | id[2 * w + 1] << 8);
}

static void
identify(struct fixture *f, uint8_t *id)
{
	outb(f, CMD + 6, 0xa0);
	outb(f, CMD + 7, 0xec);
	assert_true(f->irq[0]);
	assert_int_equal(inb(f, CMD + 7), 0x58); /* DRDY DSC DRQ; acknowledges */
	assert_false(f->irq[0]);
	read_data(f, id, 512);
	assert_int_equal(inb(f, CMD + 7), 0x50);
}

/* IDENTIFY DEVICE: strings with the first character in the high byte,
 * capabilities, geometry, LBA28 total, 48-bit feature bits and total, the
 * multiple-sector maximum, the integrity word's checksum. */
static void
identify_fields(void **state)
{
	struct fixture *f = *state;
	uint8_t id[512];
	identify(f, id);
	assert_int_equal(word(id, 27), 'F' << 8 | 'U');
	assert_int_equal(word(id, 28), 'G' << 8 | 'U');
	assert_int_equal(word(id, 10), 'F' << 8 | 'U');
	assert_int_equal(word(id, 46), ' ' << 8 | ' ');
	assert_int_equal(word(id, 0) & 0x8000, 0); /* ATA device */
	assert_int_equal(word(id, 49) & 0x0300, 0x0300);
	assert_int_equal(word(id, 1), 4);
	assert_int_equal(word(id, 3), 16);
	assert_int_equal(word(id, 6), 63);
	assert_int_equal(word(id, 60) | word(id, 61) << 16, SECTORS);
	assert_int_equal(word(id, 100), SECTORS);
	assert_int_equal(word(id, 101) | word(id, 102) | word(id, 103), 0);
	assert_int_equal(word(id, 83) & 0x0400, 0x0400);
	assert_int_equal(word(id, 86) & 0x0400, 0x0400);
	assert_int_equal(word(id, 47) & 0xff, IDE_MAX_MULT);
	assert_int_equal(word(id, 88) & 0x3f, 0x3f);
	uint8_t sum = 0;
	for (unsigned k = 0; k < 512; k++)
		sum = (uint8_t)(sum + id[k]);
	assert_int_equal(id[510], 0xa5);
	assert_int_equal(sum, 0);
}

/* A disk above 2^28 sectors: words 60-61 saturate at 0FFFFFFFh, words
 * 100-103 hold the total, the default geometry is 16383/16/63; 48-bit PIO
 * reads and writes beyond the 28-bit range reach the file. */
static void
lba48(void **state)
{
	(void)state;
	uint64_t total = (1ull << 28) + 4096;
	struct fixture *f = make_fixture(total, 16, false, false);
	uint8_t id[512], buf[1024], back[512];
	identify(f, id);
	assert_int_equal(word(id, 60) | (uint32_t)word(id, 61) << 16, 0x0fffffff);
	assert_int_equal(word(id, 100) | (uint64_t)word(id, 101) << 16 |
				 (uint64_t)word(id, 102) << 32,
			 total);
	assert_int_equal(word(id, 1), 16383);
	uint64_t lba = (1ull << 28) + 100;
	for (unsigned i = 0; i < 1024; i++)
		buf[i] = (uint8_t)(i ^ 0x5a);
	task48(f, 2, lba);
	outb(f, CMD + 7, 0x34); /* WRITE SECTORS EXT */
	assert_int_equal(inb(f, CMD + 7) & 0x08, 0x08);
	write_data(f, buf, 1024);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	file_sector(f->path, lba + 1, back);
	assert_memory_equal(back, buf + 512, 512);
	/* the task file reports the last sector; HOB reads the previous content */
	outb(f, CTL, 0x80);
	assert_int_equal(inb(f, CMD + 3), (uint8_t)((lba + 1) >> 24));
	outb(f, CTL, 0x00);
	assert_int_equal(inb(f, CMD + 3), (uint8_t)(lba + 1));
	memset(buf, 0, sizeof(buf));
	task48(f, 2, lba);
	outb(f, CMD + 7, 0x24); /* READ SECTORS EXT */
	assert_int_equal(inb(f, CMD + 7), 0x58);
	read_data(f, buf, 512);
	assert_int_equal(inb(f, CMD + 7), 0x58);
	read_data(f, buf + 512, 512);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	assert_memory_equal(buf + 512, back, 512);
	assert_int_equal(buf[0], 0x5a);
	/* LBA48 READ SECTORS EXT past the end: IDNF */
	task48(f, 1, total);
	outb(f, CMD + 7, 0x24);
	assert_int_equal(inb(f, CMD + 7), 0x51);
	assert_int_equal(inb(f, CMD + 1), ATA_ERR_IDNF);
	teardown((void **)&f);
}

/* READ SECTORS (LBA28) of three sectors: a DRQ block and an interrupt per
 * sector, DRQ clear without an interrupt after the last; WRITE SECTORS
 * writes the file (the drive is writable, no -snapshot). */
static void
lba28_pio(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[512], back[512];
	task28(f, 3, 100);
	outb(f, CMD + 7, 0x20);
	for (unsigned s = 0; s < 3; s++) {
		assert_true(f->irq[0]);
		assert_int_equal(inb(f, CMD + 7), 0x58);
		read_data(f, buf, 512);
		expect_sector(buf, 100 + s);
	}
	assert_false(f->irq[0]);
	assert_int_equal(inb(f, 0x3f6), 0x50);
	assert_int_equal(f->edges[0], 3);
	assert_int_equal(inb(f, CMD + 2), 0);
	assert_int_equal(inb(f, CMD + 3), 102); /* the last sector read */
	for (unsigned i = 0; i < 512; i++)
		buf[i] = (uint8_t)~i;
	task28(f, 1, 7);
	outb(f, CMD + 7, 0x30);
	assert_false(f->irq[0]); /* the first block is requested without an interrupt */
	assert_int_equal(inb(f, 0x3f6), 0x58);
	write_data(f, buf, 512);
	assert_true(f->irq[0]);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	file_sector(f->path, 7, back);
	assert_memory_equal(back, buf, 512);
}

/* SET MULTIPLE MODE 4, READ MULTIPLE of 10 sectors: blocks of 4, 4, 2 with
 * one interrupt each; WRITE MULTIPLE likewise; a count that is not a power
 * of two aborts; READ MULTIPLE with multiple mode disabled aborts. */
static void
multiple(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[4 * 512];
	task28(f, 4, 0);
	outb(f, CMD + 7, 0xc6);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	f->edges[0] = 0;
	task28(f, 10, 200);
	outb(f, CMD + 7, 0xc4);
	static const unsigned blocks[3] = { 4, 4, 2 };
	unsigned s = 200;
	for (unsigned b = 0; b < 3; b++) {
		assert_true(f->irq[0]);
		assert_int_equal(inb(f, CMD + 7), 0x58);
		read_data(f, buf, blocks[b] * 512);
		for (unsigned k = 0; k < blocks[b]; k++)
			expect_sector(buf + k * 512, s++);
	}
	assert_int_equal(inb(f, CMD + 7), 0x50);
	assert_int_equal(f->edges[0], 3);
	/* WRITE MULTIPLE of 6 sectors: blocks of 4 and 2 */
	f->edges[0] = 0;
	task28(f, 6, 300);
	outb(f, CMD + 7, 0xc5);
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 3);
	write_data(f, buf, 4 * 512);
	assert_int_equal(f->edges[0], 1);
	assert_int_equal(inb(f, CMD + 7), 0x58);
	write_data(f, buf, 2 * 512);
	assert_int_equal(f->edges[0], 2);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	uint8_t back[512];
	file_sector(f->path, 305, back);
	assert_memory_equal(back, buf + 512, 512);
	task28(f, 3, 0);
	outb(f, CMD + 7, 0xc6);
	assert_int_equal(inb(f, CMD + 7), 0x51);
	assert_int_equal(inb(f, CMD + 1), ATA_ERR_ABRT);
	task28(f, 0, 0);
	outb(f, CMD + 7, 0xc6); /* 0: disabled */
	assert_int_equal(inb(f, CMD + 7), 0x50);
	task28(f, 1, 0);
	outb(f, CMD + 7, 0xc4);
	assert_int_equal(inb(f, CMD + 7), 0x51);
	assert_int_equal(inb(f, CMD + 1), ATA_ERR_ABRT);
}

/* CHS: the default translation (16 heads, 63 sectors), then INITIALIZE
 * DEVICE PARAMETERS to 4 heads x 17 sectors: C/H/S 1/2/3 is LBA
 * (1*4+2)*17+2 = 104; IDENTIFY words 54-56 show it; a head beyond the
 * translation is IDNF. */
static void
chs(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[512], id[512];
	outb(f, CMD + 6, 0xa1); /* CHS, head 1 */
	outb(f, CMD + 2, 1);
	outb(f, CMD + 3, 1); /* sector 1 */
	outb(f, CMD + 4, 0);
	outb(f, CMD + 5, 0);
	outb(f, CMD + 7, 0x20);
	assert_int_equal(inb(f, CMD + 7), 0x58);
	read_data(f, buf, 512);
	expect_sector(buf, 63);
	outb(f, CMD + 6, 0xa3); /* 4 heads */
	outb(f, CMD + 2, 17);
	outb(f, CMD + 7, 0x91);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	identify(f, id);
	assert_int_equal(word(id, 54), SECTORS / (4 * 17));
	assert_int_equal(word(id, 55), 4);
	assert_int_equal(word(id, 56), 17);
	assert_int_equal(word(id, 3), 16); /* the default is unchanged */
	outb(f, CMD + 6, 0xa2);
	outb(f, CMD + 2, 1);
	outb(f, CMD + 3, 3);
	outb(f, CMD + 4, 1);
	outb(f, CMD + 5, 0);
	outb(f, CMD + 7, 0x20);
	assert_int_equal(inb(f, CMD + 7), 0x58);
	read_data(f, buf, 512);
	expect_sector(buf, 104);
	assert_int_equal(inb(f, CMD + 3), 3); /* CHS of the last sector read */
	assert_int_equal(inb(f, CMD + 6) & 0x0f, 2);
	outb(f, CMD + 6, 0xa4); /* head 4 of 4 */
	outb(f, CMD + 7, 0x20);
	assert_int_equal(inb(f, CMD + 7), 0x51);
	assert_int_equal(inb(f, CMD + 1), ATA_ERR_IDNF);
}

/* An LBA beyond the medium: ERR with IDNF and an interrupt, no DRQ; a range
 * that starts inside but ends outside too. Unknown commands and NOP: ABRT. */
static void
errors(void **state)
{
	struct fixture *f = *state;
	task28(f, 1, SECTORS);
	outb(f, CMD + 7, 0x20);
	assert_true(f->irq[0]);
	assert_int_equal(inb(f, CMD + 7), 0x51);
	assert_int_equal(inb(f, CMD + 1), ATA_ERR_IDNF);
	task28(f, 2, SECTORS - 1);
	outb(f, CMD + 7, 0xc8); /* READ DMA */
	assert_int_equal(inb(f, CMD + 7), 0x51);
	assert_int_equal(inb(f, CMD + 1), ATA_ERR_IDNF);
	task28(f, 1, 0);
	outb(f, CMD + 7, 0x40); /* READ VERIFY SECTORS: fine */
	assert_int_equal(inb(f, CMD + 7), 0x50);
	static const uint8_t bad[] = { 0x00, 0xa0, 0xa1, 0xf8, 0x27, 0xff };
	for (unsigned k = 0; k < sizeof(bad); k++) {
		outb(f, CMD + 7, bad[k]);
		assert_true(f->irq[0]);
		assert_int_equal(inb(f, CMD + 7), 0x51);
		assert_int_equal(inb(f, CMD + 1), ATA_ERR_ABRT);
	}
	/* SET FEATURES: transfer mode UDMA 5 is accepted and shown in word 88 */
	outb(f, CMD + 1, 0x03);
	outb(f, CMD + 2, 0x45);
	outb(f, CMD + 7, 0xef);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	uint8_t id[512];
	identify(f, id);
	assert_int_equal(word(id, 88), 0x203f);
	outb(f, CMD + 1, 0x03);
	outb(f, CMD + 2, 0x47); /* UDMA 7: not supported */
	outb(f, CMD + 7, 0xef);
	assert_int_equal(inb(f, CMD + 7), 0x51);
}

/* SRST: BSY while held, then the signature (count 1, LBA 01 00 00, device 0,
 * Error 01h diagnostic code) and no interrupt. */
static void
srst(void **state)
{
	struct fixture *f = *state;
	task28(f, 0x55, 0x00aabbcc);
	outb(f, CTL, ATA_CTL_SRST);
	assert_int_equal(inb(f, 0x3f6) & ATA_STAT_BSY, ATA_STAT_BSY);
	outb(f, CTL, 0);
	assert_false(f->irq[0]);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	assert_int_equal(inb(f, CMD + 1), 0x01);
	assert_int_equal(inb(f, CMD + 2), 0x01);
	assert_int_equal(inb(f, CMD + 3), 0x01);
	assert_int_equal(inb(f, CMD + 4), 0x00);
	assert_int_equal(inb(f, CMD + 5), 0x00);
	assert_int_equal(inb(f, CMD + 6), 0x00);
}

/* nIEN keeps INTRQ released; clearing it with the interrupt still pending
 * asserts it; the Status read acknowledges, Alternate Status does not. */
static void
nien(void **state)
{
	struct fixture *f = *state;
	outb(f, CTL, ATA_CTL_NIEN);
	outb(f, CMD + 7, 0xe7); /* FLUSH CACHE */
	assert_false(f->irq[0]);
	outb(f, CTL, 0);
	assert_true(f->irq[0]);
	assert_int_equal(inb(f, 0x3f6), 0x50);
	assert_true(f->irq[0]);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	assert_false(f->irq[0]);
}

/* Device 0 only: selecting device 1 reads Status 00h, a command to it is
 * ignored; an empty channel floats (7Fh). */
static void
absent(void **state)
{
	struct fixture *f = *state;
	outb(f, CMD + 6, 0xb0);
	assert_int_equal(inb(f, CMD + 7), 0x00);
	assert_int_equal(inb(f, 0x3f6), 0x00);
	outb(f, CMD + 7, 0xec);
	assert_false(f->irq[0]);
	assert_int_equal(inb(f, CMD + 7), 0x00);
	outb(f, CMD + 2, 0x55);
	assert_int_equal(inb(f, CMD + 2), 0x55);
	outb(f, CMD + 6, 0xa0);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	assert_int_equal(inb(f, 0x177), 0x7f);
	assert_int_equal(inb(f, 0x376), 0x7f);
}

static void
cfg_write(struct fixture *f, unsigned reg, uint32_t v, unsigned size)
{
	ioport_write(f->io, 0xcf8, 0x80000000u | 1u << 11 | 1u << 8 | (reg & 0xfc), 4);
	ioport_write(f->io, (uint16_t)(0xcfc + (reg & 3)), v, size);
}

static uint32_t
cfg_read(struct fixture *f, unsigned reg, unsigned size)
{
	ioport_write(f->io, 0xcf8, 0x80000000u | 1u << 11 | 1u << 8 | (reg & 0xfc), 4);
	return ioport_read(f->io, (uint16_t)(0xcfc + (reg & 3)), size);
}

static void
put_prd(struct fixture *f, uint32_t at, uint32_t addr, uint32_t count, bool eot)
{
	physmem_write_sized(f->mem, at, addr, 4);
	physmem_write_sized(f->mem, at + 4, (count & 0xffff) | (eot ? 0x80000000u : 0), 4);
}

/* 00:01.1: 8086:7010, class 01 01 80, BAR4 sized 16 bytes of I/O. */
static void
pci_function(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(cfg_read(f, 0, 4), 0x70108086);
	assert_int_equal(cfg_read(f, 8, 4) >> 8, 0x010180);
	cfg_write(f, 0x20, 0xffffffff, 4);
	assert_int_equal(cfg_read(f, 0x20, 4) & 0xffff, 0xfff1); /* 16 bytes of I/O */
	cfg_write(f, 0x20, BMBASE, 4);
	cfg_write(f, 0x04, PCI_COMMAND_IO, 2);
	assert_int_equal(inb(f, BMBASE + 2), 0); /* decoded: BMISx reads 0, not the floating bus */
	cfg_write(f, 0x04, 0, 2);
	assert_int_equal(inb(f, BMBASE + 2), 0xff);
	cfg_write(f, 0x40, 0x8000, 2);
	assert_int_equal(cfg_read(f, 0x40, 2), 0x8000);
	assert_int_equal(cfg_read(f, 0x3d, 1), 0);
}

static void
map_bm(struct fixture *f)
{
	cfg_write(f, 0x20, BMBASE, 4);
	cfg_write(f, 0x04, PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
}

/*
 * READ DMA of 4 sectors through a three-entry PRD table (512, 1024 split
 * across a sector boundary in memory, 512 with EOT): the data lands in
 * guest memory, the bus master ends with interrupt set and active clear,
 * the device with DRDY and an interrupt. Then WRITE DMA back to the file,
 * and a table too short for the transfer (active and interrupt clear, the
 * device still waiting with DRQ).
 */
static void
bus_master_dma(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[1024];
	map_bm(f);
	put_prd(f, 0x1000, 0x10000, 512, false);
	put_prd(f, 0x1008, 0x20000, 1024, false);
	put_prd(f, 0x1010, 0x30000, 512, true);
	ioport_write(f->io, BMBASE + 4, 0x1000, 4);
	outb(f, BMBASE, BM_CMD_READ);
	task28(f, 4, 40);
	outb(f, CMD + 7, 0xc8);
	assert_false(f->irq[0]); /* nothing moves before the bus master starts */
	assert_int_equal(inb(f, 0x3f6) & ATA_STAT_DRQ, ATA_STAT_DRQ);
	outb(f, BMBASE, BM_CMD_READ | BM_CMD_START);
	assert_true(f->irq[0]);
	assert_int_equal(inb(f, BMBASE + 2) & 7, BM_STAT_INTR);
	outb(f, BMBASE, BM_CMD_READ);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	physmem_read(f->mem, 0x10000, buf, 512);
	expect_sector(buf, 40);
	physmem_read(f->mem, 0x20000, buf, 1024);
	expect_sector(buf, 41);
	expect_sector(buf + 512, 42);
	physmem_read(f->mem, 0x30000, buf, 512);
	expect_sector(buf, 43);
	outb(f, BMBASE + 2, BM_STAT_INTR); /* write 1 to clear */
	assert_int_equal(inb(f, BMBASE + 2), 0);

	/* WRITE DMA of 2 sectors from 0x20000 to LBA 500 */
	put_prd(f, 0x1000, 0x20000, 1024, true);
	task28(f, 2, 500);
	outb(f, CMD + 7, 0xca);
	outb(f, BMBASE, BM_CMD_START);
	assert_int_equal(inb(f, BMBASE + 2) & 7, BM_STAT_INTR);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	uint8_t back[512];
	file_sector(f->path, 501, back);
	expect_sector(back, 42);
	outb(f, BMBASE, 0);
	outb(f, BMBASE + 2, BM_STAT_INTR);

	/* a table of 512 bytes for a 2-sector read: the bus master stops */
	put_prd(f, 0x1000, 0x40000, 512, true);
	task28(f, 2, 60);
	outb(f, CMD + 7, 0xc8);
	outb(f, BMBASE, BM_CMD_READ | BM_CMD_START);
	assert_int_equal(inb(f, BMBASE + 2) & 7, 0);
	assert_false(f->irq[0]);
	assert_int_equal(inb(f, 0x3f6), 0x58);
	/* a table larger than the transfer: interrupt set, active still set */
	outb(f, BMBASE, 0);
	put_prd(f, 0x1000, 0x40000, 0, true); /* 64 KiB */
	task28(f, 1, 61);
	outb(f, CMD + 7, 0xc8);
	outb(f, BMBASE, BM_CMD_READ | BM_CMD_START);
	assert_int_equal(inb(f, BMBASE + 2) & 7, BM_STAT_INTR | BM_STAT_ACTIVE);
	physmem_read(f->mem, 0x40000, buf, 512);
	expect_sector(buf, 61);
}

/* Bus master enable off in PCICMD: the transfer waits until it is set. */
static void
dma_needs_bme(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[512];
	map_bm(f);
	cfg_write(f, 0x04, PCI_COMMAND_IO, 2);
	put_prd(f, 0x1000, 0x50000, 512, true);
	ioport_write(f->io, BMBASE + 4, 0x1000, 4);
	task28(f, 1, 9);
	outb(f, CMD + 7, 0xc8);
	outb(f, BMBASE, BM_CMD_READ | BM_CMD_START);
	assert_false(f->irq[0]);
	cfg_write(f, 0x04, PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
	assert_true(f->irq[0]);
	physmem_read(f->mem, 0x50000, buf, 512);
	expect_sector(buf, 9);
}

/* readonly=on: WRITE SECTORS and WRITE DMA abort, the file is unchanged. */
static void
readonly(void **state)
{
	(void)state;
	struct fixture *f = make_fixture(SECTORS, SECTORS, true, false);
	uint64_t h = file_hash(f->path);
	task28(f, 1, 3);
	outb(f, CMD + 7, 0x30);
	assert_true(f->irq[0]);
	assert_int_equal(inb(f, CMD + 7), 0x51);
	assert_int_equal(inb(f, CMD + 1), ATA_ERR_ABRT);
	map_bm(f);
	put_prd(f, 0x1000, 0x10000, 512, true);
	ioport_write(f->io, BMBASE + 4, 0x1000, 4);
	task28(f, 1, 3);
	outb(f, CMD + 7, 0xca);
	outb(f, BMBASE, BM_CMD_START);
	assert_int_equal(inb(f, CMD + 7), 0x51);
	assert_int_equal(inb(f, CMD + 1), ATA_ERR_ABRT);
	uint8_t buf[512];
	task28(f, 1, 3);
	outb(f, CMD + 7, 0x20); /* reads still work */
	assert_int_equal(inb(f, CMD + 7), 0x58);
	read_data(f, buf, 512);
	expect_sector(buf, 3);
	assert_true(file_hash(f->path) == h);
	teardown((void **)&f);
}

/* -snapshot: writes are read back through the drive, the file is unchanged. */
static void
snapshot(void **state)
{
	(void)state;
	struct fixture *f = make_fixture(SECTORS, SECTORS, false, true);
	uint64_t h = file_hash(f->path);
	uint8_t buf[1024], back[1024];
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 5 + 1);
	task28(f, 2, 1000);
	outb(f, CMD + 7, 0x30);
	write_data(f, buf, 512);
	write_data(f, buf + 512, 512);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	task28(f, 3, 999);
	outb(f, CMD + 7, 0x20);
	read_data(f, back, 512);
	expect_sector(back, 999);
	read_data(f, back, 1024);
	assert_memory_equal(back, buf, 1024);
	outb(f, CMD + 7, 0xe7);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	assert_true(file_hash(f->path) == h);
	teardown((void **)&f);
}

/* Images that must be refused: missing, empty, a directory, a size that is
 * not a multiple of 512; and a read-only file opened for writing. */
static void
bad_images(void **state)
{
	(void)state;
	struct blockdev bd;
	char err[256], path[64];
	assert_int_equal(
		blockdev_open(&bd, "/nonexistent/fugu.img", false, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(blockdev_open(&bd, "/tmp", true, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a regular file"));
	strcpy(path, "/tmp/fugu-ide-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(blockdev_open(&bd, path, false, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(write(fd, "x", 1), 1);
	assert_int_equal(blockdev_open(&bd, path, false, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "multiple of 512"));
	assert_int_equal(ftruncate(fd, 1024), 0);
	close(fd);
	assert_int_equal(blockdev_open(&bd, path, false, false, err, sizeof(err)), 0);
	assert_int_equal(bd.sectors, 2);
	blockdev_close(&bd);
	/* chmod 444: refused as a writable drive by its mode, root included
	 * (root's open for writing would succeed); fine read-only or -snapshot. */
	chmod(path, 0444);
	assert_int_equal(blockdev_open(&bd, path, false, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "read-only"));
	assert_int_equal(blockdev_open(&bd, path, false, true, err, sizeof(err)), 0);
	blockdev_close(&bd);
	assert_int_equal(blockdev_open(&bd, path, true, false, err, sizeof(err)), 0);
	blockdev_close(&bd);
	unlink(path);
}

/*
 * Container formats are refused by name (taken as raw, the guest would see and
 * could overwrite their metadata): qcow2 ("QFI\xfb" at 0), VDI (0xBEDA107F at
 * 0x40), VMDK ("KDMV" at 0).
 */
static void
foreign_formats(void **state)
{
	(void)state;
	static const struct {
		unsigned off;
		const char *magic, *name;
	} f[] = { { 0, "QFI\xfb", "qcow2" },
		  { 0x40, "\x7f\x10\xda\xbe", "VDI" },
		  { 0, "KDMV", "VMDK" } };
	for (unsigned k = 0; k < 3; k++) {
		struct blockdev bd;
		char err[256], path[64];
		strcpy(path, "/tmp/fugu-ide-XXXXXX");
		int fd = mkstemp(path);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, 4096), 0);
		assert_int_equal(pwrite(fd, f[k].magic, 4, f[k].off), 4);
		close(fd);
		assert_int_equal(blockdev_open(&bd, path, false, true, err, sizeof(err)), -1);
		assert_non_null(strstr(err, f[k].name));
		unlink(path);
	}
}

/*
 * Locks (flock, as QEMU locks images): one file as two writable drives is
 * refused, and so is a writer while another process holds the file; readers
 * share it.
 */
static void
image_locks(void **state)
{
	(void)state;
	struct blockdev a, b;
	char err[256], path[64];
	strcpy(path, "/tmp/fugu-ide-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 4096), 0);
	close(fd);
	assert_int_equal(blockdev_open(&a, path, false, false, err, sizeof(err)), 0);
	assert_int_equal(blockdev_open(&b, path, false, false, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "in use"));
	assert_int_equal(blockdev_open(&b, path, true, false, err, sizeof(err)), -1);
	blockdev_close(&a);
	assert_int_equal(blockdev_open(&a, path, true, false, err, sizeof(err)), 0);
	assert_int_equal(blockdev_open(&b, path, false, true, err, sizeof(err)), 0);
	blockdev_close(&b);
	blockdev_close(&a);
	pid_t child = fork(); /* another process writing the image */
	if (child == 0) {
		int cfd = open(path, O_RDWR);
		flock(cfd, LOCK_EX);
		pause();
		_exit(0);
	}
	int tries = 0;
	while (blockdev_open(&a, path, true, false, err, sizeof(err)) == 0 && tries++ < 1000) {
		blockdev_close(&a);
		usleep(1000);
	}
	assert_non_null(strstr(err, "in use"));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	unlink(path);
}

/*
 * The -snapshot overlay lives in a file, not in host memory: sectors written
 * all over a 1 TiB sparse image cost a bit each in memory, read back as
 * written, and the image stays untouched.
 */
static void
snapshot_overlay_bounded(void **state)
{
	(void)state;
	struct blockdev bd;
	char err[256], path[64];
	strcpy(path, "/tmp/fugu-ide-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 1ll << 40), 0);
	close(fd);
	assert_int_equal(blockdev_open(&bd, path, false, true, err, sizeof(err)), 0);
	uint8_t buf[4096], back[4096];
	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	uint64_t last = bd.sectors - 8;
	for (uint64_t lba = 0; lba <= last; lba += bd.sectors / 64)
		assert_int_equal(blockdev_write(&bd, lba, 8, buf), 0);
	assert_int_equal(blockdev_write(&bd, last, 8, buf), 0);
	assert_true(bd.ov_fd >= 0);              /* the overlay is a file ... */
	assert_int_equal(bd.ov_sectors, 65 * 8); /* ... and memory holds a bitmap */
	assert_int_equal(blockdev_read(&bd, last - 4, 8, back), 0);
	for (unsigned i = 0; i < 2048; i++)
		assert_int_equal(back[i], 0); /* 4 sectors from the image: zeros */
	assert_memory_equal(back + 2048, buf, 2048);
	assert_int_equal(blockdev_read(&bd, bd.sectors / 64, 8, back), 0);
	assert_memory_equal(back, buf, 4096);
	blockdev_close(&bd);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_blocks, 0); /* not one byte written to the image */
	unlink(path);
}

/* A reset of the machine: drives back to their signature, bus master idle. */
static void
save_restore(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[512];
	task28(f, 2, 20);
	outb(f, CMD + 7, 0x20);
	read_data(f, buf, 512);
	size_t n = ide_save(&f->ide, NULL, 0);
	uint8_t *snap = malloc(n);
	assert_int_equal(ide_save(&f->ide, snap, n), n);
	ide_reset(&f->ide);
	assert_int_equal(inb(f, CMD + 2), 1);
	assert_int_equal(ide_restore(&f->ide, snap, n), 0);
	assert_int_equal(inb(f, CMD + 7), 0x58);
	read_data(f, buf, 512);
	expect_sector(buf, 21);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	free(snap);
}

/* ---- an ATAPI CD-ROM as the primary master (ATA/ATAPI-6 9.8; MMC-3) ---- */

#define CD_SECTORS 64 /* 2048-byte sectors of the test image */

static int
setup_cd(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ide_board b = { .irq = { IRQ_LINE(set_irq, f, 0), IRQ_LINE(set_irq, f, 1) } };
	char err[256];
	f->io = ioports_create();
	f->mem = physmem_create(16u << 20);
	assert_int_equal(pci_bus_init(&f->bus, f->io, NULL, NULL), 0);
	assert_int_equal(ide_init(&f->ide, &f->bus, f->io, f->mem, &b), 0);
	make_image(f->path, CD_SECTORS * 4, CD_SECTORS * 4);
	assert_int_equal(ide_attach_cdrom(&f->ide, 0, f->path, err, sizeof(err)), 0);
	*state = f;
	return 0;
}

/* Send a 12-byte packet with PACKET (A0h): DRQ with interrupt reason C/D,
 * no interrupt before the packet (DRQ type "microprocessor", word 0). */
static void
packet(struct fixture *f, const uint8_t *cdb, uint16_t limit, bool dma)
{
	outb(f, CMD + 6, 0xa0);
	outb(f, CMD + 1, dma);
	outb(f, CMD + 4, (uint8_t)limit);
	outb(f, CMD + 5, (uint8_t)(limit >> 8));
	outb(f, CMD + 7, 0xa0);
	assert_int_equal(inb(f, CTL) & (ATA_STAT_BSY | ATA_STAT_DRQ), ATA_STAT_DRQ);
	assert_int_equal(inb(f, CMD + 2) & 3, 1); /* C/D = 1, I/O = 0 */
	assert_false(f->irq[0]);
	for (unsigned k = 0; k < 12; k += 2)
		ioport_write(f->io, CMD, (uint32_t)(cdb[k] | cdb[k + 1] << 8), 2);
}

/* The data-in phase by PIO: each DRQ block announced with I/O = 1 and its
 * byte count, up to `max` bytes; the chunk sizes go to chunks[] (0-ended).
 * Returns the bytes read; the command has then ended (I/O and C/D set). */
static unsigned
pio_in(struct fixture *f, uint8_t *buf, unsigned max, unsigned *chunks)
{
	unsigned n = 0, k = 0;
	while (inb(f, CMD + 7) & ATA_STAT_DRQ) {
		assert_int_equal(inb(f, CMD + 2) & 3, 2);
		unsigned c = inb(f, CMD + 4) | inb(f, CMD + 5) << 8;
		assert_true(c > 0 && n + c <= max);
		if (chunks)
			chunks[k++] = c;
		for (unsigned i = 0; i < c; i += 2) {
			uint16_t w = (uint16_t)ioport_read(f->io, CMD, 2);
			buf[n + i] = (uint8_t)w;
			if (i + 1 < c)
				buf[n + i + 1] = (uint8_t)(w >> 8);
		}
		n += c;
	}
	if (chunks)
		chunks[k] = 0;
	assert_int_equal(inb(f, CMD + 2) & 3, 3);
	return n;
}

/* A whole command: packet, data by PIO with limit 2048; the status at the end. */
static uint8_t
atapi(struct fixture *f, const uint8_t *cdb, uint8_t *buf, unsigned max, unsigned *len)
{
	packet(f, cdb, 2048, false);
	unsigned n = pio_in(f, buf, max, NULL);
	if (len)
		*len = n;
	return inb(f, CMD + 7);
}

static void
expect_cd_sector(const uint8_t *buf, unsigned c)
{
	for (unsigned k = 0; k < 4; k++)
		expect_sector(buf + 512 * k, 4u * c + k);
}

/* The packet signature after reset; IDENTIFY DEVICE aborts and leaves it;
 * IDENTIFY PACKET DEVICE: ATAPI CD-ROM, removable, 12-byte packets. */
static void
atapi_identify(void **state)
{
	struct fixture *f = *state;
	uint8_t id[512];
	assert_int_equal(inb(f, CMD + 4), 0x14);
	assert_int_equal(inb(f, CMD + 5), 0xeb);
	outb(f, CMD + 4, 0);
	outb(f, CMD + 7, 0xec);
	assert_int_equal(inb(f, CMD + 7), 0x51);
	assert_int_equal(inb(f, CMD + 1), ATA_ERR_ABRT);
	assert_int_equal(inb(f, CMD + 4), 0x14);
	assert_int_equal(inb(f, CMD + 5), 0xeb);
	outb(f, CMD + 7, 0xa1);
	assert_true(f->irq[0]);
	assert_int_equal(inb(f, CMD + 7), 0x58);
	read_data(f, id, 512);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	assert_int_equal(word(id, 0), 0x85c0);
	assert_int_equal(word(id, 27), ('F' << 8) | 'U');
	assert_int_equal(word(id, 49) & 0x0300, 0x0300);
	/* READ SECTORS is not for packet devices */
	outb(f, CMD + 7, 0x20);
	assert_int_equal(inb(f, CMD + 7), 0x51);
}

/* INQUIRY (cut to the allocation length), TEST UNIT READY, READ CAPACITY,
 * an unknown opcode (CHECK CONDITION: ERR, sense key in Error bits 7-4) and
 * REQUEST SENSE, which reports it once. */
static void
atapi_basic_commands(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[64];
	unsigned n;
	uint8_t inq[12] = { 0x12, 0, 0, 0, 36 };
	assert_int_equal(atapi(f, inq, buf, sizeof(buf), &n), 0x50);
	assert_int_equal(n, 36);
	assert_int_equal(buf[0], 0x05);
	assert_int_equal(buf[1], 0x80);
	assert_memory_equal(buf + 16, "FUGU DVD-ROM    ", 16);
	inq[4] = 5;
	atapi(f, inq, buf, sizeof(buf), &n);
	assert_int_equal(n, 5);
	uint8_t tur[12] = { 0 };
	f->edges[0] = 0;
	assert_int_equal(atapi(f, tur, buf, sizeof(buf), &n), 0x50);
	assert_int_equal(n, 0);
	assert_int_equal(f->edges[0], 1);
	uint8_t cap[12] = { 0x25 };
	atapi(f, cap, buf, sizeof(buf), &n);
	assert_int_equal(n, 8);
	assert_int_equal(buf[3], CD_SECTORS - 1);
	assert_int_equal(buf[6] << 8 | buf[7], 2048);
	uint8_t bad[12] = { 0xff };
	assert_int_equal(atapi(f, bad, buf, sizeof(buf), &n), 0x51);
	assert_int_equal(inb(f, CMD + 1), 0x54); /* ILLEGAL REQUEST, ABRT */
	uint8_t sense[12] = { 0x03, 0, 0, 0, 18 };
	assert_int_equal(atapi(f, sense, buf, sizeof(buf), &n), 0x50);
	assert_int_equal(n, 18);
	assert_int_equal(buf[0], 0x70);
	assert_int_equal(buf[2], 5);
	assert_int_equal(buf[12], 0x20); /* INVALID COMMAND OPERATION CODE */
	atapi(f, sense, buf, sizeof(buf), &n);
	assert_int_equal(buf[2], 0);
}

/* READ(10) by PIO: DRQ blocks of at most the byte count limit (even), the
 * image's sectors in order; a range past the end is ILLEGAL REQUEST, LBA OUT
 * OF RANGE, and a count of 0 moves nothing. */
static void
atapi_read_pio(void **state)
{
	struct fixture *f = *state;
	static uint8_t buf[8 * 2048];
	unsigned chunks[16];
	uint8_t rd[12] = { 0x28, 0, 0, 0, 0, 3, 0, 0, 5 };
	packet(f, rd, 2048, false);
	assert_int_equal(pio_in(f, buf, sizeof(buf), chunks), 5 * 2048);
	for (unsigned k = 0; k < 5; k++) {
		assert_int_equal(chunks[k], 2048);
		expect_cd_sector(buf + 2048 * k, 3 + k);
	}
	assert_int_equal(chunks[5], 0);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	rd[8] = 6; /* 12 KiB in blocks of up to 5000 bytes (the limit made even: 5000) */
	packet(f, rd, 5001, false);
	assert_int_equal(pio_in(f, buf, sizeof(buf), chunks), 6 * 2048);
	assert_int_equal(chunks[0], 5000);
	for (unsigned k = 0; k < 6; k++)
		expect_cd_sector(buf + 2048 * k, 3 + k);
	uint8_t past[12] = { 0x28, 0, 0, 0, 0, CD_SECTORS - 1, 0, 0, 2 };
	unsigned n;
	assert_int_equal(atapi(f, past, buf, sizeof(buf), &n), 0x51);
	assert_int_equal(n, 0);
	uint8_t sense[12] = { 0x03, 0, 0, 0, 18 };
	atapi(f, sense, buf, sizeof(buf), &n);
	assert_int_equal(buf[2], 5);
	assert_int_equal(buf[12], 0x21);
	uint8_t none[12] = { 0x28, 0, 0, 0, 0, CD_SECTORS, 0, 0, 0 };
	assert_int_equal(atapi(f, none, buf, sizeof(buf), &n), 0x50);
	assert_int_equal(n, 0);
}

/* READ(12) of 7 sectors (more than one buffer) by the bus master, through
 * two PRD regions; the command ends with the interrupt and I/O, C/D set. */
static void
atapi_read_dma(void **state)
{
	struct fixture *f = *state;
	static uint8_t buf[7 * 2048];
	map_bm(f);
	put_prd(f, 0x1000, 0x10000, 3 * 2048, false);
	put_prd(f, 0x1008, 0x20000, 4 * 2048, true);
	ioport_write(f->io, BMBASE + 4, 0x1000, 4);
	uint8_t rd[12] = { 0xa8, 0, 0, 0, 0, 10, 0, 0, 0, 7 };
	packet(f, rd, 0, true);
	assert_false(f->irq[0]);
	outb(f, BMBASE, BM_CMD_READ | BM_CMD_START);
	assert_true(f->irq[0]);
	assert_int_equal(inb(f, BMBASE + 2) & 7, BM_STAT_INTR);
	assert_int_equal(inb(f, CMD + 2) & 3, 3);
	assert_int_equal(inb(f, CMD + 7), 0x50);
	physmem_read(f->mem, 0x10000, buf, 3 * 2048);
	physmem_read(f->mem, 0x20000, buf + 3 * 2048, 4 * 2048);
	for (unsigned k = 0; k < 7; k++)
		expect_cd_sector(buf + 2048 * k, 10 + k);
}

/* READ TOC (LBA and MSF), GET CONFIGURATION (CD-ROM profile current), GET
 * EVENT STATUS NOTIFICATION (media present; polled only), MODE SENSE(10) of
 * the capabilities page, PREVENT ALLOW MEDIUM REMOVAL shown in it. */
static void
atapi_disc_commands(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[256];
	unsigned n;
	uint8_t toc[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0, 255 };
	atapi(f, toc, buf, sizeof(buf), &n);
	assert_int_equal(n, 20);
	assert_int_equal(buf[1], 18);
	assert_int_equal(buf[6], 1);           /* track 1 */
	assert_int_equal(buf[14], 0xaa);       /* lead-out */
	assert_int_equal(buf[19], CD_SECTORS); /* at the capacity */
	toc[1] = 0x02;                         /* MSF */
	atapi(f, toc, buf, sizeof(buf), &n);
	assert_int_equal(buf[10], 2);               /* track 1 at 00:02:00 */
	assert_int_equal(buf[19], CD_SECTORS % 75); /* lead-out frames */
	uint8_t conf[12] = { 0x46, 0, 0, 0, 0, 0, 0, 0, 255 };
	atapi(f, conf, buf, sizeof(buf), &n);
	assert_true(n >= 8 + 12);
	assert_int_equal(buf[6] << 8 | buf[7], 0x0008);
	assert_int_equal((unsigned)(buf[0] << 24 | buf[1] << 16 | buf[2] << 8 | buf[3]), n - 4);
	uint8_t ev[12] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 };
	atapi(f, ev, buf, sizeof(buf), &n);
	assert_int_equal(n, 8);
	assert_int_equal(buf[2], 0x04);
	assert_int_equal(buf[5], 0x02);
	ev[1] = 0; /* asynchronous: refused */
	assert_int_equal(atapi(f, ev, buf, sizeof(buf), &n), 0x51);
	uint8_t lock[12] = { 0x1e, 0, 0, 0, 1 };
	assert_int_equal(atapi(f, lock, buf, sizeof(buf), &n), 0x50);
	uint8_t ms[12] = { 0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 255 };
	atapi(f, ms, buf, sizeof(buf), &n);
	assert_int_equal(n, 8 + 22);
	assert_int_equal(buf[8], 0x2a);
	assert_int_equal(buf[8 + 6] & 0x02, 0x02); /* locked */
	ms[2] = 0x05;                              /* a page the drive lacks */
	assert_int_equal(atapi(f, ms, buf, sizeof(buf), &n), 0x51);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(identify_fields, setup, teardown),
		cmocka_unit_test(lba48),
		cmocka_unit_test_setup_teardown(lba28_pio, setup, teardown),
		cmocka_unit_test_setup_teardown(multiple, setup, teardown),
		cmocka_unit_test_setup_teardown(chs, setup, teardown),
		cmocka_unit_test_setup_teardown(errors, setup, teardown),
		cmocka_unit_test_setup_teardown(srst, setup, teardown),
		cmocka_unit_test_setup_teardown(nien, setup, teardown),
		cmocka_unit_test_setup_teardown(absent, setup, teardown),
		cmocka_unit_test_setup_teardown(pci_function, setup, teardown),
		cmocka_unit_test_setup_teardown(bus_master_dma, setup, teardown),
		cmocka_unit_test_setup_teardown(dma_needs_bme, setup, teardown),
		cmocka_unit_test(readonly),
		cmocka_unit_test(snapshot),
		cmocka_unit_test(foreign_formats),
		cmocka_unit_test(image_locks),
		cmocka_unit_test(snapshot_overlay_bounded),
		cmocka_unit_test(bad_images),
		cmocka_unit_test_setup_teardown(save_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(atapi_identify, setup_cd, teardown),
		cmocka_unit_test_setup_teardown(atapi_basic_commands, setup_cd, teardown),
		cmocka_unit_test_setup_teardown(atapi_read_pio, setup_cd, teardown),
		cmocka_unit_test_setup_teardown(atapi_read_dma, setup_cd, teardown),
		cmocka_unit_test_setup_teardown(atapi_disc_commands, setup_cd, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
