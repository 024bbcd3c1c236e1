/*
 * fugu — a PCI VGA adapter as QEMU's "stdvga" (PCI 1234:1111, class 0x030000):
 * the standard VGA registers at 0x3B0-0x3DF, planar video memory behind the
 * legacy window 0xA0000-0xBFFFF, the Bochs VBE "DISPI" registers at
 * 0x1CE/0x1CF, a 16 MiB linear framebuffer (BAR0), a 4 KiB MMIO BAR (BAR2:
 * the VGA ports at 0x400, the DISPI registers at 0x500) and an expansion ROM
 * BAR serving the VGA BIOS image. One VRAM buffer backs everything: the four
 * 64 KiB planes are its first 256 KiB, interleaved (byte a of plane p is
 * vram[4 * a + p]), as in QEMU.
 */
#ifndef FUGU_VGA_H
#define FUGU_VGA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "chipset/irq.h"
#include "chipset/pci.h"

struct ioports;
struct physmem;
struct vclock;
struct mmio_ops;

#define VGA_ROM_DEFAULT_PATH "/usr/share/seabios/vgabios-stdvga.bin"
#define VGA_VRAM_SIZE (16u << 20) /* BAR0 and VBE_DISPI_INDEX_VIDEO_MEMORY_64K */
#define VGA_MMIO_SIZE 0x1000u     /* BAR2 */
#define VGA_ROM_MAX (1u << 20)    /* the largest expansion ROM image accepted */

/* Bochs VBE DISPI register indexes (Bochs vbe.h, QEMU include/hw/display/bochs-vbe.h). */
enum {
	VBE_DISPI_INDEX_ID,
	VBE_DISPI_INDEX_XRES,
	VBE_DISPI_INDEX_YRES,
	VBE_DISPI_INDEX_BPP,
	VBE_DISPI_INDEX_ENABLE,
	VBE_DISPI_INDEX_BANK,
	VBE_DISPI_INDEX_VIRT_WIDTH,
	VBE_DISPI_INDEX_VIRT_HEIGHT,
	VBE_DISPI_INDEX_X_OFFSET,
	VBE_DISPI_INDEX_Y_OFFSET,
	VBE_DISPI_INDEX_VIDEO_MEMORY_64K,
	VBE_DISPI_NREGS
};

#define VBE_DISPI_ID0 0xb0c0
#define VBE_DISPI_ID5 0xb0c5
#define VBE_DISPI_ENABLED 0x01
#define VBE_DISPI_GETCAPS 0x02
#define VBE_DISPI_8BIT_DAC 0x20
#define VBE_DISPI_LFB_ENABLED 0x40
#define VBE_DISPI_NOCLEARMEM 0x80
#define VBE_DISPI_MAX_XRES 2560 /* what GETCAPS reports (QEMU: 16000x12000, 32 bpp) */
#define VBE_DISPI_MAX_YRES 1600
#define VBE_DISPI_MAX_BPP 32

/*
 * A picture of the screen: width x height XRGB8888 pixels (0x00RRGGBB),
 * `stride` bytes apart; `generation` changes whenever the picture does.
 */
struct vga_frame {
	unsigned width, height;
	size_t stride;
	const uint32_t *pixels;
	uint64_t generation;
};

/* The registers: plain data, saved and restored by copy. */
struct vga_state {
	uint8_t misc;            /* miscellaneous output (write 0x3C2, read 0x3CC) */
	uint8_t fcr;             /* feature control (write 0x3BA/0x3DA, read 0x3CA) */
	uint8_t seq_index;       /* 0x3C4 */
	uint8_t seq[8];          /* sequencer registers 0-4 (5-7 read 0) */
	uint8_t gc_index;        /* 0x3CE */
	uint8_t gc[16];          /* graphics controller registers 0-8 */
	uint8_t crtc_index;      /* 0x3B4/0x3D4 */
	uint8_t crtc[32];        /* CRT controller registers 0-0x18 */
	uint8_t attr_index;      /* 0x3C0 index: bits 4-0 register, bit 5 PAS */
	bool attr_flipflop;      /* true: the next 0x3C0 write is data, not the index */
	uint8_t attr[32];        /* attribute controller registers 0-0x14 */
	uint8_t dac_mask;        /* pel mask (0x3C6) */
	uint8_t dac_read_index;  /* 0x3C7 write */
	uint8_t dac_write_index; /* 0x3C8 */
	uint8_t dac_sub;         /* component (0 red, 1 green, 2 blue) of the next 0x3C9 access */
	uint8_t dac_state;       /* 0x3C7 read: 0x00 after a 0x3C8 write, 0x03 after 0x3C7 */
	uint8_t dac_cache[3];    /* components written so far for dac_write_index */
	uint8_t dac[256][3];     /* the palette: 6-bit components (8-bit with VBE 8BIT_DAC) */
	uint32_t latch;          /* the four plane latches: plane p in bits 8p+7..8p */
	uint16_t vbe_index;      /* 0x1CE */
	uint16_t vbe[VBE_DISPI_NREGS]; /* DISPI registers (VIDEO_MEMORY_64K is computed) */
};

struct vga {
	struct vga_state st;    /* everything save/restore copies besides fn and vram */
	struct pci_function fn; /* 00:02.0 */
	uint8_t *vram;          /* VGA_VRAM_SIZE bytes, page-aligned */
	uint32_t rom_size;      /* expansion ROM BAR size (a power of two), 0 without ROM */
	struct physmem *mem;
	struct vclock *clock;  /* drives the retrace bits of input status 1 */
	int lfb_region;        /* BAR0: RAM alias of vram */
	int mmio_region;       /* BAR2 */
	int rom_region;        /* the expansion ROM BAR, -1 without ROM */
	uint8_t status_toggle; /* input status 1 retrace bits without a clock */
	/* vga_render: two frame buffers (front shown, back drawn), and what was drawn */
	struct vga_frame frame;
	uint32_t *fb[2];
	size_t fb_cap[2];      /* pixels each holds */
	unsigned front;        /* fb[front] is frame.pixels */
	uint64_t writes;       /* register and legacy-window writes so far */
	uint64_t drawn_writes; /* `writes` when the frame was last drawn */
	unsigned drawn_phase;  /* text blink phase of that frame */
	/* Pulsed after costly work in one access (clearing up to 16 MiB of VRAM
	 * on a VBE enable): the board ends the CPU's slice. */
	struct irq_line work_done;
};

/*
 * Create the device: claim 0x3B0-0x3DF and 0x1CE-0x1D0, add PCI function
 * slot:0 to `bus`, add (disabled) regions for the BARs to `mem`, and load the
 * expansion ROM image from rom_path (NULL: no ROM BAR). The legacy window is
 * not mapped here: the board gives vga_window_ops to whoever decodes
 * 0xA0000-0xBFFFF (the host bridge). Returns -1 with a message in err.
 */
int vga_init(struct vga *vga, struct pci_bus *bus, unsigned slot, struct ioports *io,
	     struct physmem *mem, struct vclock *clock, const char *rom_path, char *err,
	     size_t errlen);
void vga_destroy(struct vga *vga);
/* Power-on: the registers of BIOS mode 3 (80x25 text), VBE off; VRAM is kept. */
void vga_reset(struct vga *vga);

/* The legacy memory window: offsets 0-0x1FFFF from 0xA0000 (byte-wide). */
extern const struct mmio_ops vga_window_ops;

/* Whether the adapter shows text (alphanumeric mode, VBE off). */
bool vga_text_mode(const struct vga *vga);
/*
 * Write the text screen as UTF-8 (code page 437 mapped to Unicode), one line
 * per row, trailing spaces trimmed. Size and start address come from the
 * CRTC. Returns -1 if not in a text mode.
 */
int vga_text_dump(const struct vga *vga, FILE *f);
/*
 * The current frame, as the monitor would show it, for every mode: text
 * (font from plane 2, attribute palette and DAC, blink, cursor), 16-color
 * planar, CGA 2 bpp, 256-color chained (13h) and unchained (mode X), Bochs
 * VBE at 4/8/15/16/24/32 bpp; start address, line compare (split screen),
 * pixel panning. Redrawn only when a register or legacy-window write (or, in
 * a VBE mode, anything: the LFB is RAM) may have changed it. The frame
 * belongs to the device and stays valid until the next vga_render.
 */
const struct vga_frame *vga_render(struct vga *vga);
/* Write a frame as a binary PPM (P6). */
int vga_frame_ppm(const struct vga_frame *fr, FILE *f);
/* Write the graphics screen as a binary PPM (P6). Returns -1 if not in a graphics mode. */
int vga_ppm_dump(struct vga *vga, FILE *f);
/* Text or PPM to `path`, whichever the current mode shows; -1 with a message in err. */
int vga_screendump(struct vga *vga, const char *path, char *err, size_t errlen);

size_t vga_save(const struct vga *vga, void *buf, size_t len);
int vga_restore(struct vga *vga, const void *buf, size_t len);
/* Whether a saved record (a file's) holds only values the device can hold
 * (chipset/state.h): 0, or -1 with the field and its value in err. */
int vga_check(const struct vga *vga, const void *buf, size_t len, char *err, size_t errlen);

#endif
