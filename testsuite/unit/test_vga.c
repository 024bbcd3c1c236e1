/*
 * Unit tests: the PCI VGA adapter (chipset/vga.c) through its ports, its
 * legacy window handlers and PCI configuration space, as a guest drives it.
 * Register names refer to the IBM VGA Technical Reference; the DISPI
 * registers to the Bochs VBE interface; PCI layout to QEMU's stdvga.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "mmu/ioport.h"
#include "chipset/pci.h"
#include "chipset/timer.h"
#include "chipset/vga.h"
#include "mmu/physmem.h"

#define LFB_ADDR 0xe0000000u
#define MMIO_ADDR 0xe1000000u
#define ROM_ADDR 0xe2000000u

struct fixture {
	uint64_t icount;
	struct vclock clock;
	struct ioports *io;
	struct physmem *mem;
	struct pci_bus bus;
	struct vga vga;
	char rom_path[64];
};

/* A 5000-byte option ROM image (55 AA, then a pattern): an 8 KiB ROM BAR. */
static void
make_rom(struct fixture *f)
{
	strcpy(f->rom_path, "/tmp/fugu-test-vga-rom-XXXXXX");
	int fd = mkstemp(f->rom_path);
	assert_true(fd >= 0);
	uint8_t rom[5000];
	for (unsigned i = 0; i < sizeof(rom); i++)
		rom[i] = (uint8_t)(i * 7);
	rom[0] = 0x55;
	rom[1] = 0xaa;
	assert_int_equal(write(fd, rom, sizeof(rom)), sizeof(rom));
	close(fd);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[200];
	vclock_init(&f->clock, VCLOCK_DETERMINISTIC, &f->icount);
	f->io = ioports_create();
	f->mem = physmem_create(1 << 20);
	assert_non_null(f->io);
	assert_non_null(f->mem);
	assert_int_equal(pci_bus_init(&f->bus, f->io, NULL, NULL), 0);
	make_rom(f);
	assert_int_equal(vga_init(&f->vga, &f->bus, 2, f->io, f->mem, &f->clock, f->rom_path, err,
				  sizeof(err)),
			 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	vga_destroy(&f->vga);
	unlink(f->rom_path);
	physmem_destroy(f->mem);
	ioports_destroy(f->io);
	vclock_destroy(&f->clock);
	free(f);
	return 0;
}

static void
outb(struct fixture *f, uint16_t port, uint8_t v)
{
	ioport_write(f->io, port, v, 1);
}

static uint8_t
inb(struct fixture *f, uint16_t port)
{
	return (uint8_t)ioport_read(f->io, port, 1);
}

static void
outw(struct fixture *f, uint16_t port, uint16_t v)
{
	ioport_write(f->io, port, v, 2);
}

static uint16_t
inw(struct fixture *f, uint16_t port)
{
	return (uint16_t)ioport_read(f->io, port, 2);
}

static void
seq(struct fixture *f, uint8_t i, uint8_t v)
{
	outw(f, 0x3c4, (uint16_t)(v << 8 | i));
}

static void
gc(struct fixture *f, uint8_t i, uint8_t v)
{
	outw(f, 0x3ce, (uint16_t)(v << 8 | i));
}

/* Window offsets are from 0xA0000. */
static void
wr(struct fixture *f, uint32_t off, uint8_t v)
{
	vga_window_ops.write(&f->vga, off, v, 1);
}

static uint8_t
rd(struct fixture *f, uint32_t off)
{
	return (uint8_t)vga_window_ops.read(&f->vga, off, 1);
}

static void
vbe_write(struct fixture *f, uint16_t index, uint16_t v)
{
	outw(f, 0x1ce, index);
	outw(f, 0x1cf, v);
}

static uint16_t
vbe_read(struct fixture *f, uint16_t index)
{
	outw(f, 0x1ce, index);
	return inw(f, 0x1cf);
}

/* Planar graphics access: sequential addressing, A0000 64 KiB, all planes, given write mode. */
static void
planar(struct fixture *f, uint8_t mode)
{
	seq(f, 0x04, 0x06);
	seq(f, 0x02, 0x0f);
	gc(f, 0x05, mode);
	gc(f, 0x06, 0x05);
	gc(f, 0x00, 0x00);
	gc(f, 0x01, 0x00);
	gc(f, 0x03, 0x00);
	gc(f, 0x08, 0xff);
}

static uint8_t *
plane_byte(struct fixture *f, uint32_t addr, unsigned plane)
{
	return &f->vga.vram[4 * addr + plane];
}

/* Sequencer, graphics controller, CRTC, misc and feature control read back through the ports. */
static void
register_read_back(void **state)
{
	struct fixture *f = *state;
	outw(f, 0x3c4, 0xff02); /* index 2 (Map Mask), data 0xff: 4 bits exist */
	assert_int_equal(inb(f, 0x3c4), 0x02);
	assert_int_equal(inb(f, 0x3c5), 0x0f);
	outb(f, 0x3c4, 0x03);
	outb(f, 0x3c5, 0x2d);
	assert_int_equal(inb(f, 0x3c5), 0x2d);
	outw(f, 0x3ce, 0x5a05); /* Graphics Mode: bits 7 and 2 do not exist */
	assert_int_equal(inb(f, 0x3cf), 0x5a & 0x7b);
	outb(f, 0x3ce, 0x08);
	outb(f, 0x3cf, 0xa5);
	assert_int_equal(inb(f, 0x3cf), 0xa5);

	/* Misc output bit 0 (I/OAS) set: the CRTC is at 0x3D4/5, 0x3B4/5 float. */
	assert_int_equal(inb(f, 0x3cc), 0x67);
	outw(f, 0x3d4, 0x3c0c); /* start address high: not protected */
	assert_int_equal(inb(f, 0x3d5), 0x3c);
	assert_int_equal(inb(f, 0x3b5), 0xff);
	/* CR11 bit 7 protects CR0-CR7 except CR7 bit 4 (line compare bit 8). */
	outw(f, 0x3d4, 0x1001);
	outb(f, 0x3d4, 0x01);
	assert_int_equal(inb(f, 0x3d5), 0x4f);
	outw(f, 0x3d4, 0x0007);
	assert_int_equal(inb(f, 0x3d5), 0x1f & ~0x10);
	outw(f, 0x3d4, 0x0e11); /* clear the protection */
	outw(f, 0x3d4, 0x2701);
	outb(f, 0x3d4, 0x01);
	assert_int_equal(inb(f, 0x3d5), 0x27);

	/* Mono addressing: the CRTC moves to 0x3B4/5, input status 1 to 0x3BA. */
	outb(f, 0x3c2, 0x66);
	assert_int_equal(inb(f, 0x3cc), 0x66);
	assert_int_equal(inb(f, 0x3d5), 0xff);
	outb(f, 0x3b4, 0x0c);
	assert_int_equal(inb(f, 0x3b5), 0x3c);
	outb(f, 0x3ba, 0x03); /* feature control, read back at 0x3CA */
	assert_int_equal(inb(f, 0x3ca), 0x03);
	outb(f, 0x3da, 0x00); /* not decoded in mono mode */
	assert_int_equal(inb(f, 0x3ca), 0x03);
}

/* The attribute controller's index/data flip-flop and its reset by input status 1. */
static void
attribute_flip_flop(void **state)
{
	struct fixture *f = *state;
	inb(f, 0x3da);
	outb(f, 0x3c0, 0x01); /* index 1 */
	outb(f, 0x3c0, 0xea); /* data: palette registers have 6 bits */
	outb(f, 0x3c0, 0x33); /* index 0x13 with PAS */
	assert_int_equal(inb(f, 0x3c0), 0x33);
	outb(f, 0x3c0, 0x05); /* data for 0x13 (4 bits) */
	outb(f, 0x3c0, 0x01);
	assert_int_equal(inb(f, 0x3c1), 0x2a);
	assert_int_equal(inb(f, 0x3c1), 0x2a); /* reading the data port does not toggle */
	outb(f, 0x3c0, 0x11);                  /* still data for index 1 */
	assert_int_equal(inb(f, 0x3c1), 0x11);
	outb(f, 0x3c0, 0x02); /* index 2 ... */
	inb(f, 0x3da);        /* ... but the flip-flop goes back to index */
	outb(f, 0x3c0, 0x33);
	assert_int_equal(inb(f, 0x3c0), 0x33);
	assert_int_equal(inb(f, 0x3c1), 0x05);
	assert_int_equal(f->vga.st.attr[2], 0x02); /* mode 3 value, unchanged */
}

/* DAC: write index, three 6-bit components per entry, auto-increment; read index likewise. */
static void
dac_auto_increment(void **state)
{
	struct fixture *f = *state;
	static const uint8_t rgb[6] = { 0x3f, 0x40 | 0x12, 0x01, 0x20, 0x21, 0xff };
	outb(f, 0x3c8, 0xff);
	for (unsigned i = 0; i < 6; i++)
		outb(f, 0x3c9, rgb[i]);
	assert_int_equal(inb(f, 0x3c8), 0x01); /* 0xff, then 0x00: wraps */
	assert_int_equal(inb(f, 0x3c7), 0x00); /* DAC state: write mode */
	outb(f, 0x3c7, 0xff);
	assert_int_equal(inb(f, 0x3c7), 0x03);
	for (unsigned i = 0; i < 6; i++)
		assert_int_equal(inb(f, 0x3c9), rgb[i] & 0x3f);
	assert_int_equal(inb(f, 0x3c9), f->vga.st.dac[1][0]); /* read index advanced to 1 */
	/* A partial entry is not written: two components, then a new write index. */
	outb(f, 0x3c8, 0x10);
	outb(f, 0x3c9, 0x11);
	outb(f, 0x3c9, 0x12);
	outb(f, 0x3c8, 0x20);
	assert_int_equal(f->vga.st.dac[0x10][0], 0);
	outb(f, 0x3c6, 0x0f);
	assert_int_equal(inb(f, 0x3c6), 0x0f);
}

/* Write mode 0: set/reset, enable set/reset, rotate, logical function and bit mask. */
static void
write_mode0(void **state)
{
	struct fixture *f = *state;
	planar(f, 0x00);
	gc(f, 0x00, 0x05); /* set/reset planes 0 and 2 */
	gc(f, 0x01, 0x0f); /* enabled for all planes: the CPU byte is ignored */
	wr(f, 0, 0x00);
	assert_int_equal(*plane_byte(f, 0, 0), 0xff);
	assert_int_equal(*plane_byte(f, 0, 1), 0x00);
	assert_int_equal(*plane_byte(f, 0, 2), 0xff);
	assert_int_equal(*plane_byte(f, 0, 3), 0x00);
	gc(f, 0x01, 0x01); /* only plane 0 from set/reset */
	wr(f, 1, 0x3c);
	assert_int_equal(*plane_byte(f, 1, 0), 0xff);
	assert_int_equal(*plane_byte(f, 1, 1), 0x3c);
	gc(f, 0x01, 0x00);
	gc(f, 0x03, 0x03); /* rotate right by 3 */
	wr(f, 2, 0x09);
	assert_int_equal(*plane_byte(f, 2, 3), 0x21);
	/* Bit mask: masked-off bits come from the latches. */
	for (unsigned p = 0; p < 4; p++)
		*plane_byte(f, 3, p) = 0xa5;
	gc(f, 0x03, 0x00);
	rd(f, 3);
	gc(f, 0x08, 0x0f);
	wr(f, 3, 0xff);
	assert_int_equal(*plane_byte(f, 3, 2), 0xaf);
	/* The functions combine the data with the latches. */
	gc(f, 0x08, 0xff);
	gc(f, 0x03, 0x08); /* AND */
	wr(f, 4, 0x3c);
	assert_int_equal(*plane_byte(f, 4, 1), 0x3c & 0xa5);
	gc(f, 0x03, 0x10); /* OR */
	wr(f, 4, 0x3c);
	assert_int_equal(*plane_byte(f, 4, 1), 0x3c | 0xa5);
	gc(f, 0x03, 0x18); /* XOR */
	wr(f, 4, 0x3c);
	assert_int_equal(*plane_byte(f, 4, 1), 0x3c ^ 0xa5);
	/* Map mask: only plane 1. */
	gc(f, 0x03, 0x00);
	seq(f, 0x02, 0x02);
	wr(f, 5, 0x77);
	assert_int_equal(*plane_byte(f, 5, 0), 0x00);
	assert_int_equal(*plane_byte(f, 5, 1), 0x77);
}

/* Write mode 1 copies the latches; mode 2 spreads the low nibble; mode 3 masks with the data. */
static void
write_modes123(void **state)
{
	struct fixture *f = *state;
	static const uint8_t src[4] = { 0x11, 0x22, 0x33, 0x44 };
	planar(f, 0x01);
	for (unsigned p = 0; p < 4; p++)
		*plane_byte(f, 0x100, p) = src[p];
	rd(f, 0x100);
	wr(f, 0x200, 0x00);
	for (unsigned p = 0; p < 4; p++)
		assert_int_equal(*plane_byte(f, 0x200, p), src[p]);

	planar(f, 0x02);
	gc(f, 0x08, 0xf0); /* latches still 11 22 33 44 */
	wr(f, 0x201, 0x05);
	assert_int_equal(*plane_byte(f, 0x201, 0), 0xf1);
	assert_int_equal(*plane_byte(f, 0x201, 1), 0x02);
	assert_int_equal(*plane_byte(f, 0x201, 2), 0xf3);
	assert_int_equal(*plane_byte(f, 0x201, 3), 0x04);

	planar(f, 0x03);
	gc(f, 0x00, 0x0a); /* set/reset: planes 1 and 3 */
	gc(f, 0x08, 0xf0);
	gc(f, 0x03, 0x02); /* rotate 0x3c right by 2: 0x0f; AND bit mask 0xf0: nothing */
	wr(f, 0x202, 0x3c);
	for (unsigned p = 0; p < 4; p++)
		assert_int_equal(*plane_byte(f, 0x202, p), src[p]);
	gc(f, 0x03, 0x00); /* 0x3c AND 0xf0 = 0x30 */
	wr(f, 0x203, 0x3c);
	assert_int_equal(*plane_byte(f, 0x203, 0), 0x11 & ~0x30);
	assert_int_equal(*plane_byte(f, 0x203, 1), 0x22 | 0x30);
	assert_int_equal(*plane_byte(f, 0x203, 3), 0x44 | 0x30);
}

/* Read mode 0 with read map select; read mode 1 color compare with color don't care. */
static void
read_modes(void **state)
{
	struct fixture *f = *state;
	planar(f, 0x00);
	*plane_byte(f, 4, 0) = 0xf0;
	*plane_byte(f, 4, 1) = 0xcc;
	*plane_byte(f, 4, 2) = 0xaa;
	*plane_byte(f, 4, 3) = 0x00;
	gc(f, 0x04, 0x02);
	assert_int_equal(rd(f, 4), 0xaa);
	gc(f, 0x05, 0x08);
	gc(f, 0x02, 0x03); /* planes 0 and 1 set, 2 and 3 clear */
	gc(f, 0x07, 0x0f);
	assert_int_equal(rd(f, 4), 0xf0 & 0xcc & ~0xaa & 0xff);
	gc(f, 0x07, 0x03); /* planes 2 and 3: don't care */
	assert_int_equal(rd(f, 4), 0xf0 & 0xcc);
	gc(f, 0x07, 0x00);
	assert_int_equal(rd(f, 4), 0xff);
}

/* Mode 3 text: characters in plane 0, attributes in plane 1 (odd/even); the font in plane 2. */
static void
odd_even_text(void **state)
{
	struct fixture *f = *state;
	wr(f, 0x18000, 'A');
	wr(f, 0x18001, 0x1f);
	wr(f, 0x18002, 'B');
	wr(f, 0x18003, 0x4e);
	assert_int_equal(*plane_byte(f, 0, 0), 'A');
	assert_int_equal(*plane_byte(f, 0, 1), 0x1f);
	assert_int_equal(*plane_byte(f, 2, 0), 'B');
	assert_int_equal(*plane_byte(f, 2, 1), 0x4e);
	assert_int_equal(*plane_byte(f, 1, 0), 0);
	assert_int_equal(rd(f, 0x18001), 0x1f);
	assert_int_equal(rd(f, 0x18002), 'B');
	assert_int_equal(rd(f, 0x10000), 0xff); /* B0000: not decoded in the B8000 map */

	/* Font loading as a VGA BIOS does it: plane 2 alone, sequential, A0000. */
	seq(f, 0x02, 0x04);
	seq(f, 0x04, 0x07);
	gc(f, 0x04, 0x02);
	gc(f, 0x05, 0x00);
	gc(f, 0x06, 0x04);
	wr(f, 'A' * 32 + 3, 0x7e);
	assert_int_equal(*plane_byte(f, 'A' * 32 + 3, 2), 0x7e);
	assert_int_equal(rd(f, 'A' * 32 + 3), 0x7e);
	assert_int_equal(*plane_byte(f, 0, 0), 'A'); /* plane 0 untouched */
}

/* Chain-4: A1-A0 pick the plane, the byte lands at VRAM offset a. */
static void
chain4(void **state)
{
	struct fixture *f = *state;
	seq(f, 0x04, 0x0e);
	seq(f, 0x02, 0x0f);
	gc(f, 0x05, 0x40);
	gc(f, 0x06, 0x05);
	wr(f, 0, 0x12);
	wr(f, 1, 0x34);
	wr(f, 0xfffe, 0x56);
	assert_int_equal(f->vga.vram[0], 0x12);
	assert_int_equal(f->vga.vram[1], 0x34);
	assert_int_equal(f->vga.vram[0xfffe], 0x56);
	assert_int_equal(rd(f, 1), 0x34);
	seq(f, 0x02, 0x01); /* plane 0 only: addresses 4k */
	wr(f, 6, 0x99);
	wr(f, 8, 0x77);
	assert_int_equal(f->vga.vram[6], 0x00);
	assert_int_equal(f->vga.vram[8], 0x77);
}

/* Memory map select (GC06 bits 3-2) picks which part of A0000-BFFFF decodes. */
static void
window_mapping(void **state)
{
	struct fixture *f = *state;
	planar(f, 0x00);
	gc(f, 0x06, 0x01); /* A0000-BFFFF */
	wr(f, 0x10003, 0x42);
	assert_int_equal(*plane_byte(f, 0x10003, 0), 0x42);
	gc(f, 0x06, 0x05); /* A0000-AFFFF */
	assert_int_equal(rd(f, 0x10003), 0xff);
	wr(f, 0x10004, 0x11);
	assert_int_equal(*plane_byte(f, 0x10004, 0), 0x00);
	wr(f, 0x00004, 0x22);
	assert_int_equal(*plane_byte(f, 4, 0), 0x22);
	gc(f, 0x06, 0x09); /* B0000-B7FFF */
	wr(f, 0x10005, 0x33);
	assert_int_equal(*plane_byte(f, 5, 0), 0x33);
	assert_int_equal(rd(f, 0x00005), 0xff);
	assert_int_equal(rd(f, 0x18005), 0xff);
	gc(f, 0x06, 0x0d); /* B8000-BFFFF */
	wr(f, 0x18006, 0x44);
	assert_int_equal(*plane_byte(f, 6, 0), 0x44);
	assert_int_equal(rd(f, 0x10006), 0xff);
	assert_int_equal(rd(f, 0x18005), 0x33);
}

/* Map the BARs: LFB, MMIO and ROM, with memory decoding on. */
static void
map_bars(struct fixture *f)
{
	struct pci_function *fn = &f->vga.fn;
	pci_config_write(fn, PCI_BAR0, LFB_ADDR, 4);
	pci_config_write(fn, PCI_BAR0 + 8, MMIO_ADDR, 4);
	pci_config_write(fn, PCI_ROM_ADDRESS, ROM_ADDR | 1, 4);
	pci_config_write(fn, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
}

/* DISPI: ID handshake, capabilities, a 32 bpp mode with the LFB, the bank window. */
static void
vbe_dispi(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(vbe_read(f, VBE_DISPI_INDEX_ID), VBE_DISPI_ID5);
	vbe_write(f, VBE_DISPI_INDEX_ID, VBE_DISPI_ID0);
	assert_int_equal(vbe_read(f, VBE_DISPI_INDEX_ID), VBE_DISPI_ID0);
	vbe_write(f, VBE_DISPI_INDEX_ID, 0x1234);
	assert_int_equal(vbe_read(f, VBE_DISPI_INDEX_ID), VBE_DISPI_ID0);
	assert_int_equal(vbe_read(f, VBE_DISPI_INDEX_VIDEO_MEMORY_64K), 256);
	vbe_write(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_GETCAPS);
	assert_int_equal(vbe_read(f, VBE_DISPI_INDEX_XRES), VBE_DISPI_MAX_XRES);
	assert_int_equal(vbe_read(f, VBE_DISPI_INDEX_BPP), VBE_DISPI_MAX_BPP);
	vbe_write(f, VBE_DISPI_INDEX_ENABLE, 0);

	f->vga.vram[100] = 0x55;
	vbe_write(f, VBE_DISPI_INDEX_XRES, 640);
	vbe_write(f, VBE_DISPI_INDEX_YRES, 480);
	vbe_write(f, VBE_DISPI_INDEX_BPP, 32);
	vbe_write(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
	assert_int_equal(f->vga.vram[100], 0); /* cleared: no NOCLEARMEM */
	assert_int_equal(vbe_read(f, VBE_DISPI_INDEX_VIRT_WIDTH), 640);
	assert_false(vga_text_mode(&f->vga));

	map_bars(f);
	physmem_write_sized(f->mem, LFB_ADDR + 0x123458, 0xdeadbeef, 4);
	assert_int_equal(f->vga.vram[0x123458], 0xef);
	assert_int_equal(f->vga.vram[0x12345b], 0xde);
	/* The bank window: bank 3 puts 0xA0000 at VRAM 0x30000. */
	vbe_write(f, VBE_DISPI_INDEX_BANK, 3);
	assert_int_equal(vbe_read(f, VBE_DISPI_INDEX_BANK), 3);
	wr(f, 0x10, 0x5a);
	assert_int_equal(f->vga.vram[0x30010], 0x5a);
	assert_int_equal(physmem_read_sized(f->mem, LFB_ADDR + 0x30010, 1), 0x5a);
	assert_int_equal(rd(f, 0x10000), 0xff); /* the 64 KiB window only */

	/* Memory decoding off: the framebuffer leaves the map. */
	pci_config_write(&f->vga.fn, PCI_COMMAND, 0, 2);
	assert_int_equal(physmem_read_sized(f->mem, LFB_ADDR, 4), 0xffffffffu);

	/* Re-enabling with NOCLEARMEM keeps VRAM. */
	vbe_write(f, VBE_DISPI_INDEX_ENABLE, 0);
	vbe_write(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_NOCLEARMEM);
	assert_int_equal(f->vga.vram[0x30010], 0x5a);
	/* Invalid depths and resolutions are ignored. */
	vbe_write(f, VBE_DISPI_INDEX_BPP, 12);
	assert_int_equal(vbe_read(f, VBE_DISPI_INDEX_BPP), 32);
	vbe_write(f, VBE_DISPI_INDEX_XRES, 641);
	assert_int_equal(vbe_read(f, VBE_DISPI_INDEX_XRES), 640);
}

/* BAR2: the VGA ports at 0x400 and the DISPI registers at 0x500. */
static void
mmio_bar(void **state)
{
	struct fixture *f = *state;
	map_bars(f);
	assert_int_equal(physmem_read_sized(f->mem, MMIO_ADDR + 0x40c, 1), 0x67); /* 0x3CC */
	physmem_write_sized(f->mem, MMIO_ADDR + 0x500 + 2 * VBE_DISPI_INDEX_XRES, 800, 2);
	assert_int_equal(vbe_read(f, VBE_DISPI_INDEX_XRES), 800);
	assert_int_equal(physmem_read_sized(f->mem, MMIO_ADDR + 0x500, 2), VBE_DISPI_ID5);
	assert_int_equal(physmem_read_sized(f->mem, MMIO_ADDR + 0x514, 2), 256);
	assert_int_equal(physmem_read_sized(f->mem, MMIO_ADDR + 0x600, 4), 0);
}

/* PCI identity and BAR sizing through configuration space. */
static void
pci_config(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = &f->vga.fn;
	assert_ptr_equal(f->bus.fn[2 << 3], fn);
	assert_int_equal(pci_config_read(fn, PCI_VENDOR_ID, 4), 0x11111234);
	assert_int_equal(pci_config_read(fn, PCI_CLASS_PROG, 1), 0x00);
	assert_int_equal(pci_config_read(fn, 0x0a, 2), 0x0300);
	assert_int_equal(pci_config_read(fn, PCI_BAR0, 4), 0x00000008); /* prefetchable */
	pci_config_write(fn, PCI_BAR0, 0xffffffff, 4);
	assert_int_equal(pci_config_read(fn, PCI_BAR0, 4), 0xff000008);
	pci_config_write(fn, PCI_BAR0 + 4, 0xffffffff, 4);
	assert_int_equal(pci_config_read(fn, PCI_BAR0 + 4, 4), 0);
	pci_config_write(fn, PCI_BAR0 + 8, 0xffffffff, 4);
	assert_int_equal(pci_config_read(fn, PCI_BAR0 + 8, 4), 0xfffff000);
	pci_config_write(fn, PCI_ROM_ADDRESS, 0xfffffffe, 4);
	assert_int_equal(pci_config_read(fn, PCI_ROM_ADDRESS, 4), 0xffffe000);
	pci_config_write(fn, PCI_COMMAND, 0xffff, 2);
	assert_int_equal(pci_config_read(fn, PCI_COMMAND, 2), 0x0003);
	/* The ROM decodes once its enable bit and memory decoding are on. */
	map_bars(f);
	assert_int_equal(physmem_read_sized(f->mem, ROM_ADDR, 2), 0xaa55);
	assert_int_equal(physmem_read_sized(f->mem, ROM_ADDR + 4999, 1), (uint8_t)(4999 * 7));
	assert_int_equal(physmem_read_sized(f->mem, ROM_ADDR + 5000, 1), 0);
	pci_config_write(fn, PCI_ROM_ADDRESS, ROM_ADDR, 4);
	assert_int_equal(physmem_read_sized(f->mem, ROM_ADDR, 2), 0xffff);
}

/* A missing ROM file is an error naming the file. */
static void
missing_rom(void **state)
{
	struct fixture *f = *state;
	struct vga *v = calloc(1, sizeof(*v));
	struct pci_bus bus;
	struct ioports *io = ioports_create();
	char err[200] = "";
	pci_bus_init(&bus, io, NULL, NULL);
	assert_int_equal(vga_init(v, &bus, 2, io, f->mem, &f->clock, "/nonexistent/vga.bin", err,
				  sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "/nonexistent/vga.bin"));
	vga_destroy(v);
	ioports_destroy(io);
	free(v);
}

/* Put string s at row r column c of the 80x25 text screen (odd/even, through the window). */
static void
put_text(struct fixture *f, unsigned r, unsigned c, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		wr(f, 0x18000 + 2 * (r * 80 + c + (unsigned)i), (uint8_t)s[i]);
		wr(f, 0x18000 + 2 * (r * 80 + c + (unsigned)i) + 1, 0x07);
	}
}

static char *
dump(struct fixture *f)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	assert_int_equal(vga_text_dump(&f->vga, m), 0);
	fclose(m);
	return buf;
}

/* The text dump: CP437 mapped to Unicode, trailing blanks trimmed, the start address honoured. */
static void
text_dump(void **state)
{
	struct fixture *f = *state;
	put_text(f, 0, 0, "\xc9\xcd\xbb", 3);
	put_text(f, 1, 0, "\x01Hi \xb0  ", 7);
	put_text(f, 24, 77, "end", 3);
	char *s = dump(f);
	char expect[400] = "\u2554\u2550\u2557\n\u263aHi \u2591\n";
	for (unsigned r = 2; r < 24; r++)
		strcat(expect, "\n");
	size_t n = strlen(expect);
	memset(expect + n, ' ', 77); /* the blank cells (0x00) before "end" */
	strcpy(expect + n + 77, "end\n");
	assert_string_equal(s, expect);
	free(s);

	/* Start address 80 (CR0C/CR0D): the screen begins with row 1. */
	outw(f, 0x3d4, 0x000c);
	outw(f, 0x3d4, 0x500d);
	s = dump(f);
	assert_memory_equal(s, "\u263aHi \u2591\n\n", strlen("\u263aHi \u2591\n\n"));
	free(s);

	/* 40 columns (CR01 = 39, CR13 = 20) after lifting the CRTC protection. */
	outw(f, 0x3d4, 0x000d);
	outw(f, 0x3d4, 0x0e11);
	outw(f, 0x3d4, 0x2701);
	outw(f, 0x3d4, 0x1413);
	put_text(f, 0, 40, "\xfe", 1); /* row 1 of a 40-column screen */
	s = dump(f);
	assert_memory_equal(s, "\u2554\u2550\u2557\n\u25a0\n",
			    strlen("\u2554\u2550\u2557\n\u25a0\n"));
	free(s);

	/* Graphics: no text dump, a PPM instead. */
	inb(f, 0x3da);
	outb(f, 0x3c0, 0x10);
	outb(f, 0x3c0, 0x01);
	assert_false(vga_text_mode(&f->vga));
	assert_int_equal(vga_text_dump(&f->vga, stderr), -1);
}

/* A graphics-mode dump: a VBE 8 bpp mode through the DAC, written as a P6 PPM. */
static void
ppm_dump(void **state)
{
	struct fixture *f = *state;
	vbe_write(f, VBE_DISPI_INDEX_XRES, 16);
	vbe_write(f, VBE_DISPI_INDEX_YRES, 2);
	vbe_write(f, VBE_DISPI_INDEX_BPP, 8);
	vbe_write(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED);
	outb(f, 0x3c8, 7);
	outb(f, 0x3c9, 0x3f);
	outb(f, 0x3c9, 0x00);
	outb(f, 0x3c9, 0x10);
	f->vga.vram[16 + 3] = 7; /* (3, 1) */
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	assert_int_equal(vga_ppm_dump(&f->vga, m), 0);
	fclose(m);
	const char *hdr = "P6\n16 2\n255\n";
	assert_int_equal(len, strlen(hdr) + 16 * 2 * 3);
	assert_memory_equal(buf, hdr, strlen(hdr));
	const uint8_t *px = (const uint8_t *)buf + strlen(hdr) + (16 + 3) * 3;
	assert_int_equal(px[0], 0xff);
	assert_int_equal(px[1], 0x00);
	assert_int_equal(px[2], 0x41);
	free(buf);
}

/* ---- vga_render: each mode family against a frame computed here ---- */

/* DAC entry i: a distinct 6-bit triple; XRGB of it as the DAC widens it (c << 2 | c >> 4). */
static void
fill_dac(struct fixture *f)
{
	for (unsigned i = 0; i < 256; i++) {
		f->vga.st.dac[i][0] = (uint8_t)(i & 0x3f);
		f->vga.st.dac[i][1] = (uint8_t)((i * 7 + 3) & 0x3f);
		f->vga.st.dac[i][2] = (uint8_t)((i * 13 + 5) & 0x3f);
	}
	f->vga.writes++;
}

static uint32_t
dac_px(struct fixture *f, unsigned i)
{
	uint32_t px = 0;
	for (unsigned k = 0; k < 3; k++) {
		unsigned c = f->vga.st.dac[i & 0xff][k];
		px = px << 8 | (c << 2 | c >> 4);
	}
	return px;
}

static uint32_t
frame_px(const struct vga_frame *fr, unsigned x, unsigned y)
{
	return fr->pixels[y * fr->stride / 4 + x];
}

/* Mode 3: a known glyph in plane 2, fore/background through the attribute palette and DAC. */
static void
render_text_glyph(void **state)
{
	struct fixture *f = *state;
	struct vga *v = &f->vga;
	fill_dac(f);
	static const uint8_t glyph[16] = { 0x00, 0x18, 0x3c, 0x66, 0xc3, 0xc3, 0xff, 0xc3,
					   0xc3, 0xc3, 0x81, 0x80, 0x01, 0xaa, 0x55, 0x00 };
	for (unsigned r = 0; r < 16; r++) {
		v->vram[4 * (0x41 * 32 + r) + 2] = glyph[r];
		v->vram[4 * (0xc4 * 32 + r) + 2] = glyph[r]; /* a line-graphics character */
	}
	put_text(f, 1, 2, "A", 1);
	wr(f, 0x18000 + 2 * (80 + 2) + 1, 0x1e); /* yellow on blue */
	put_text(f, 1, 3, "\xc4", 1);
	wr(f, 0x18000 + 2 * (80 + 3) + 1, 0x1e);
	outw(f, 0x3d4, 0x200a); /* cursor off */
	const struct vga_frame *fr = vga_render(v);
	assert_int_equal(fr->width, 720);
	assert_int_equal(fr->height, 400);
	assert_int_equal(fr->stride, 720 * 4);
	uint32_t fg = dac_px(f, v->st.attr[0x0e]), bg = dac_px(f, v->st.attr[0x01]);
	for (unsigned r = 0; r < 16; r++)
		for (unsigned x = 0; x < 9; x++) {
			bool on = x < 8 && (glyph[r] >> (7 - x) & 1);
			assert_int_equal(frame_px(fr, 2 * 9 + x, 16 + r), on ? fg : bg);
			/* C4 with line graphics (AR10 bit 2, set in mode 3): the 9th dot repeats
			 * the 8th */
			bool on2 = x < 8 ? (glyph[r] >> (7 - x) & 1) : (glyph[r] & 1);
			assert_int_equal(frame_px(fr, 3 * 9 + x, 16 + r), on2 ? fg : bg);
		}
	/* an untouched cell: attribute 0, background DAC[attr[0]] */
	assert_int_equal(frame_px(fr, 700, 300), dac_px(f, v->st.attr[0]));
	/* 8-dot characters (SR01 bit 0): 640 wide */
	seq(f, 0x01, 0x01);
	fr = vga_render(v);
	assert_int_equal(fr->width, 640);
	assert_int_equal(frame_px(fr, 2 * 8 + 3, 16 + 2), fg); /* 0x3c: dots 2-5 */
}

/* The cursor (CR0A/CR0B shape, CR0E/CR0F location) blinks every 8 frames; blink attributes
 * every 16. */
static void
render_text_cursor_blink(void **state)
{
	struct fixture *f = *state;
	struct vga *v = &f->vga;
	fill_dac(f);
	put_text(f, 0, 5, " ", 1);
	wr(f, 0x18000 + 2 * 5 + 1, 0x07);
	put_text(f, 0, 6, "A", 1);
	wr(f, 0x18000 + 2 * 6 + 1, 0x87); /* blinking */
	for (unsigned r = 0; r < 16; r++)
		v->vram[4 * (0x41 * 32 + r) + 2] = 0xff;
	outw(f, 0x3d4, 0x0e0a); /* cursor scan lines 14-15 */
	outw(f, 0x3d4, 0x0f0b);
	outw(f, 0x3d4, 0x000e);
	outw(f, 0x3d4, 0x050f); /* at column 5 */
	uint32_t fg = dac_px(f, v->st.attr[7]), bg = dac_px(f, v->st.attr[0]);
	f->icount = 0;
	const struct vga_frame *fr = vga_render(v);
	uint64_t gen = fr->generation;
	assert_int_equal(frame_px(fr, 5 * 9 + 4, 13), bg);
	assert_int_equal(frame_px(fr, 5 * 9 + 4, 14), fg);
	assert_int_equal(frame_px(fr, 5 * 9 + 8, 15), fg);
	assert_int_equal(frame_px(fr, 6 * 9 + 1, 3), fg); /* blink phase: shown */
	f->icount = 8ull * 449 * 31778;                   /* 8 frames later: the cursor is off */
	fr = vga_render(v);
	assert_true(fr->generation != gen);
	assert_int_equal(frame_px(fr, 5 * 9 + 4, 14), bg);
	assert_int_equal(frame_px(fr, 6 * 9 + 1, 3), fg);
	f->icount = 16ull * 449 * 31778; /* 16 frames: blinking characters hidden */
	fr = vga_render(v);
	assert_int_equal(frame_px(fr, 6 * 9 + 1, 3), bg);
	assert_int_equal(frame_px(fr, 5 * 9 + 4, 14), fg);
}

/* Mode 12h registers (IBM VGA BIOS table): 640x480, 16 colors, planar. */
static void
set_mode12(struct fixture *f)
{
	static const uint8_t crtc[25] = { 0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0x0b, 0x3e, 0x00,
					  0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xea, 0x8c,
					  0xdf, 0x28, 0x00, 0xe7, 0x04, 0xe3, 0xff };
	struct vga *v = &f->vga;
	memcpy(v->st.crtc, crtc, sizeof(crtc));
	memcpy(v->st.seq, (const uint8_t[]){ 0x03, 0x01, 0x0f, 0x00, 0x06 }, 5);
	v->st.gc[5] = 0x00;
	v->st.gc[6] = 0x05;
	v->st.attr[0x10] = 0x01;
	for (unsigned i = 0; i < 16; i++)
		v->st.attr[i] = (uint8_t)(i * 3 + 1);
	v->writes++;
}

/* Planar 16 colors: bit 7 - x%8 of plane p is bit p of the color index. */
static void
render_planar(void **state)
{
	struct fixture *f = *state;
	struct vga *v = &f->vga;
	fill_dac(f);
	set_mode12(f);
	static const uint8_t planes[4] = { 0xf0, 0xcc, 0xaa, 0x01 };
	unsigned a = 10 * 80 + 3; /* line 10, pixels 24-31 */
	for (unsigned p = 0; p < 4; p++)
		v->vram[4 * a + p] = planes[p];
	const struct vga_frame *fr = vga_render(v);
	assert_int_equal(fr->width, 640);
	assert_int_equal(fr->height, 480);
	for (unsigned x = 0; x < 8; x++) {
		unsigned idx = 0;
		for (unsigned p = 0; p < 4; p++)
			idx |= (planes[p] >> (7 - x) & 1u) << p;
		assert_int_equal(frame_px(fr, 24 + x, 10), dac_px(f, v->st.attr[idx]));
	}
	assert_int_equal(frame_px(fr, 24, 11), dac_px(f, v->st.attr[0]));
	/* Split screen: start address 0x1000 above line compare 100, address 0 from it on. */
	v->vram[4 * (0x1000 + 99 * 80)] = 0x80;
	v->vram[4 * 0] = 0x40;
	outw(f, 0x3d4, 0x100c);
	outw(f, 0x3d4, 0x000d);
	outw(f, 0x3d4, 0x6418); /* CR18 = 100 */
	outw(f, 0x3d4, 0x2e07); /* CR07 bit 4: line compare bit 8 clear (writable despite CR11) */
	outw(f, 0x3d4, 0x0009); /* CR09 bit 6: line compare bit 9 clear */
	fr = vga_render(v);
	assert_int_equal(frame_px(fr, 0, 99), dac_px(f, v->st.attr[1]));
	assert_int_equal(frame_px(fr, 1, 100), dac_px(f, v->st.attr[1]));
	assert_int_equal(frame_px(fr, 0, 100), dac_px(f, v->st.attr[0]));
	/* Pixel panning (AR13) shifts the top part left; AR10 bit 5 keeps the split part still. */
	inb(f, 0x3da);
	outb(f, 0x3c0, 0x33); /* index 0x13, PAS set */
	outb(f, 0x3c0, 0x01);
	outb(f, 0x3c0, 0x30);
	outb(f, 0x3c0, 0x21);
	fr = vga_render(v);
	assert_int_equal(frame_px(fr, 0, 99), dac_px(f, v->st.attr[0]));
	assert_int_equal(frame_px(fr, 1, 100), dac_px(f, v->st.attr[1]));
}

/* Mode 13h registers: 320x200, 256 colors, chain-4, doubleword CRTC addressing. */
static void
set_mode13(struct fixture *f)
{
	static const uint8_t crtc[25] = { 0x5f, 0x4f, 0x50, 0x82, 0x54, 0x80, 0xbf, 0x1f, 0x00,
					  0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e,
					  0x8f, 0x28, 0x40, 0x96, 0xb9, 0xa3, 0xff };
	struct vga *v = &f->vga;
	memcpy(v->st.crtc, crtc, sizeof(crtc));
	memcpy(v->st.seq, (const uint8_t[]){ 0x03, 0x01, 0x0f, 0x00, 0x0e }, 5);
	v->st.gc[5] = 0x40;
	v->st.gc[6] = 0x05;
	v->st.attr[0x10] = 0x41;
	v->writes++;
}

/* Mode 13h through the window (chain-4), and mode X (unchained, byte addressing, a start address).
 */
static void
render_256(void **state)
{
	struct fixture *f = *state;
	struct vga *v = &f->vga;
	fill_dac(f);
	set_mode13(f);
	for (unsigned i = 0; i < 320 * 200; i += 97)
		wr(f, i, (uint8_t)(i * 3 / 97));
	const struct vga_frame *fr = vga_render(v);
	assert_int_equal(fr->width, 320);
	assert_int_equal(fr->height, 200);
	for (unsigned i = 0; i < 320 * 200; i += 97)
		assert_int_equal(frame_px(fr, i % 320, i / 320), dac_px(f, (uint8_t)(i * 3 / 97)));
	/* Mode X: chain-4 off, CR14 DW off, CR17 byte mode; pixel x of line y is plane x % 4 at
	 * plane address start + y * 80 + x / 4. */
	seq(f, 0x04, 0x06);
	outw(f, 0x3d4, 0x0014);
	outw(f, 0x3d4, 0xe317);
	outw(f, 0x3d4, 0x0c0c); /* start 0x0c00 (page 2) */
	outw(f, 0x3d4, 0x000d);
	unsigned pa = 0x0c00 + 7 * 80 + 5; /* line 7, pixels 20-23 */
	for (unsigned p = 0; p < 4; p++) {
		seq(f, 0x02, (uint8_t)(1 << p));
		wr(f, pa, (uint8_t)(0x80 + p));
	}
	fr = vga_render(v);
	for (unsigned p = 0; p < 4; p++)
		assert_int_equal(frame_px(fr, 20 + p, 7), dac_px(f, 0x80 + p));
}

/* CGA mode 4 (320x200, 2 bpp): even lines from 0xB8000, odd lines 8 KiB up (CR17 bit 0). */
static void
render_cga(void **state)
{
	struct fixture *f = *state;
	struct vga *v = &f->vga;
	fill_dac(f);
	static const uint8_t crtc[25] = { 0x2d, 0x27, 0x28, 0x90, 0x2b, 0x80, 0xbf, 0x1f, 0x00,
					  0xc1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e,
					  0x8f, 0x14, 0x00, 0x96, 0xb9, 0xa2, 0xff };
	memcpy(v->st.crtc, crtc, sizeof(crtc));
	memcpy(v->st.seq, (const uint8_t[]){ 0x03, 0x09, 0x03, 0x00, 0x02 }, 5);
	v->st.gc[5] = 0x30;
	v->st.gc[6] = 0x0f;
	v->st.attr[0x10] = 0x01;
	v->st.attr[0x12] = 0x03;
	for (unsigned i = 0; i < 4; i++)
		v->st.attr[i] = (uint8_t)(0x10 + i * 5);
	v->writes++;
	/* The CPU's CGA bytes at B8000 (odd/even: even bytes plane 0, odd bytes plane 1). */
	for (unsigned y = 0; y < 200; y += 7)
		for (unsigned xb = 0; xb < 80; xb += 3)
			wr(f, 0x18000 + (y & 1) * 0x2000 + (y >> 1) * 80 + xb,
			   (uint8_t)(y * 31 + xb * 17));
	const struct vga_frame *fr = vga_render(v);
	assert_int_equal(fr->width, 320);
	assert_int_equal(fr->height, 200);
	for (unsigned y = 0; y < 200; y += 7)
		for (unsigned x = 0; x < 320; x++) {
			unsigned xb = x / 4, b = (uint8_t)(y * 31 + xb * 17);
			unsigned idx = xb % 3 ? 0 : b >> (6 - 2 * (x % 4)) & 3;
			assert_int_equal(frame_px(fr, x, y), dac_px(f, v->st.attr[idx]));
		}
}

/* Bochs VBE modes: packed pixels at 8/15/16/24/32 bpp with a virtual width and offsets. */
static void
render_vbe(void **state)
{
	struct fixture *f = *state;
	struct vga *v = &f->vga;
	fill_dac(f);
	static const unsigned depths[] = { 8, 15, 16, 24, 32 };
	for (unsigned d = 0; d < 5; d++) {
		unsigned bpp = depths[d], bytes = (bpp + 7) / 8;
		vbe_write(f, VBE_DISPI_INDEX_ENABLE, 0);
		vbe_write(f, VBE_DISPI_INDEX_XRES, 64);
		vbe_write(f, VBE_DISPI_INDEX_YRES, 48);
		vbe_write(f, VBE_DISPI_INDEX_BPP, (uint16_t)bpp);
		vbe_write(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED);
		vbe_write(f, VBE_DISPI_INDEX_VIRT_WIDTH, 80);
		vbe_write(f, VBE_DISPI_INDEX_X_OFFSET, 3);
		vbe_write(f, VBE_DISPI_INDEX_Y_OFFSET, 2);
		for (unsigned i = 0; i < 80 * 50 * bytes; i++)
			v->vram[i] = (uint8_t)(i * 11 + d); /* straight into the LFB */
		const struct vga_frame *fr = vga_render(v);
		assert_int_equal(fr->width, 64);
		assert_int_equal(fr->height, 48);
		for (unsigned y = 0; y < 48; y++)
			for (unsigned x = 0; x < 64; x++) {
				const uint8_t *p = v->vram + ((y + 2) * 80 + x + 3) * bytes;
				unsigned w = p[0] | p[1] << 8, r, g, b;
				uint32_t want;
				switch (bpp) {
				case 8: want = dac_px(f, p[0]); break;
				case 15:
					r = (w >> 10 & 31) << 3, g = (w >> 5 & 31) << 3,
					b = (w & 31) << 3;
					want = r << 16 | g << 8 | b;
					break;
				case 16:
					r = (w >> 11 & 31) << 3, g = (w >> 5 & 63) << 2,
					b = (w & 31) << 3;
					want = r << 16 | g << 8 | b;
					break;
				default: want = (uint32_t)p[2] << 16 | p[1] << 8 | p[0]; break;
				}
				assert_int_equal(frame_px(fr, x, y), want);
			}
	}
}

/* The generation changes when the picture does, and only then. */
static void
render_generation(void **state)
{
	struct fixture *f = *state;
	fill_dac(f);
	outw(f, 0x3d4, 0x200a); /* no cursor: nothing blinks */
	const struct vga_frame *fr = vga_render(&f->vga);
	uint64_t g = fr->generation;
	assert_int_equal(vga_render(&f->vga)->generation, g);
	put_text(f, 0, 0, " ", 1); /* a write that changes no pixel */
	assert_int_equal(vga_render(&f->vga)->generation, g);
	wr(f, 0x18001, 0x70); /* attribute: white background */
	assert_int_equal(vga_render(&f->vga)->generation, g + 1);
	vbe_write(f, VBE_DISPI_INDEX_XRES, 32);
	vbe_write(f, VBE_DISPI_INDEX_YRES, 8);
	vbe_write(f, VBE_DISPI_INDEX_BPP, 32);
	vbe_write(f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED);
	fr = vga_render(&f->vga);
	g = fr->generation;
	assert_int_equal(fr->width, 32);
	f->vga.vram[4 * 9] = 0xff; /* an LFB write: no hook, still seen */
	fr = vga_render(&f->vga);
	assert_int_equal(fr->generation, g + 1);
	assert_int_equal(frame_px(fr, 9, 0), 0x0000ff);
}

/* Input status 1 follows the virtual clock: vertical retrace on lines 412-413 of 449. */
static void
retrace_from_clock(void **state)
{
	struct fixture *f = *state;
	f->icount = 0; /* 1 ns per instruction: icount is the time in ns */
	assert_int_equal(inb(f, 0x3da) & 0x09, 0x00);
	f->icount = 412ull * 31778 + 100;
	assert_int_equal(inb(f, 0x3da) & 0x09, 0x09);
	f->icount = 100ull * 31778 + 30000; /* horizontal blanking */
	assert_int_equal(inb(f, 0x3da) & 0x09, 0x01);
	f->icount += 449ull * 31778; /* one frame later: the same */
	assert_int_equal(inb(f, 0x3da) & 0x09, 0x01);
	/* A guest loop waiting for retrace ends. */
	unsigned n = 0;
	f->icount = 0;
	while (!(inb(f, 0x3da) & 0x08) && n < 1000000) {
		f->icount += 50;
		n++;
	}
	assert_true(n > 1000 && n < 1000000);
}

/* Save, disturb, restore: registers and VRAM come back. */
static void
save_restore(void **state)
{
	struct fixture *f = *state;
	size_t need = vga_save(&f->vga, NULL, 0);
	uint8_t *buf = malloc(need);
	wr(f, 0x18000, 'Q');
	seq(f, 0x02, 0x05);
	assert_int_equal(vga_save(&f->vga, buf, need), need);
	wr(f, 0x18000, 'R');
	vga_reset(&f->vga);
	assert_int_equal(vga_restore(&f->vga, buf, need), 0);
	assert_int_equal(f->vga.vram[0], 'Q');
	outb(f, 0x3c4, 0x02);
	assert_int_equal(inb(f, 0x3c5), 0x05);
	assert_int_equal(vga_restore(&f->vga, buf, need - 1), -1);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(register_read_back, setup, teardown),
		cmocka_unit_test_setup_teardown(attribute_flip_flop, setup, teardown),
		cmocka_unit_test_setup_teardown(dac_auto_increment, setup, teardown),
		cmocka_unit_test_setup_teardown(write_mode0, setup, teardown),
		cmocka_unit_test_setup_teardown(write_modes123, setup, teardown),
		cmocka_unit_test_setup_teardown(read_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(odd_even_text, setup, teardown),
		cmocka_unit_test_setup_teardown(chain4, setup, teardown),
		cmocka_unit_test_setup_teardown(window_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(vbe_dispi, setup, teardown),
		cmocka_unit_test_setup_teardown(mmio_bar, setup, teardown),
		cmocka_unit_test_setup_teardown(pci_config, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_rom, setup, teardown),
		cmocka_unit_test_setup_teardown(text_dump, setup, teardown),
		cmocka_unit_test_setup_teardown(ppm_dump, setup, teardown),
		cmocka_unit_test_setup_teardown(render_text_glyph, setup, teardown),
		cmocka_unit_test_setup_teardown(render_text_cursor_blink, setup, teardown),
		cmocka_unit_test_setup_teardown(render_planar, setup, teardown),
		cmocka_unit_test_setup_teardown(render_256, setup, teardown),
		cmocka_unit_test_setup_teardown(render_cga, setup, teardown),
		cmocka_unit_test_setup_teardown(render_vbe, setup, teardown),
		cmocka_unit_test_setup_teardown(render_generation, setup, teardown),
		cmocka_unit_test_setup_teardown(retrace_from_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(save_restore, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
