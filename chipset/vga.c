/*
 * fugu — the PCI VGA adapter (QEMU "stdvga" compatible).
 *
 * References: IBM VGA Technical Reference (Personal System/2 Hardware
 * Interface Technical Reference, "Video Subsystem"), cited as "IBM VGA" with
 * the register's name; R. Ferraro, Programmer's Guide to the EGA, VGA and
 * Super VGA Cards, for the same registers; the Bochs VBE "DISPI" interface
 * (Bochs iodev/vga.cc and vbe.h, as SeaVGABIOS vgasrc/bochsvga.c uses it);
 * QEMU hw/display/vga.c and vga-pci.c for what "stdvga" looks like on PCI.
 *
 * Memory model: four 64 KiB planes interleaved at the start of VRAM (byte a
 * of plane p is vram[4 * a + p]). A CPU access through the legacy window goes
 * through the sequencer's memory mode: chain-4 (the byte goes to plane a & 3
 * at plane address a >> 2, i.e. vram[a], as in QEMU, so mode 13h, the banked
 * VBE window and the linear framebuffer all see the same linear bytes),
 * odd/even (A0 selects plane 0/1 or 2/3, plane address a & ~1: text mode's
 * characters and attributes) or planar (all four planes at plane address a,
 * through the latches, the write modes and the bit mask).
 */
#include "chipset/vga.h"
#include "chipset/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "chipset/cp437.h"
#include "mmu/ioport.h"
#include "chipset/timer.h"
#include "mmu/physmem.h"

#define BAR_LFB 0
#define BAR_MMIO 2
#define BAR_ROM 6

#define PLANE_LIMIT (VGA_VRAM_SIZE / 4) /* plane addresses the VRAM can hold */

/* Sequencer, graphics controller and CRTC register numbers used below (IBM VGA). */
#define SR_MAP_MASK 0x02
#define SR_MEM_MODE 0x04
#define SR4_ODD_EVEN_OFF 0x04 /* "Odd/Even": 1 = sequential addressing for CPU writes */
#define SR4_CHAIN4 0x08
#define GR_SET_RESET 0x00
#define GR_ENABLE_SR 0x01
#define GR_COLOR_CMP 0x02
#define GR_ROTATE 0x03
#define GR_READ_MAP 0x04
#define GR_MODE 0x05
#define GR_MISC 0x06
#define GR_DONT_CARE 0x07
#define GR_BIT_MASK 0x08
#define GR5_READ_MODE1 0x08
#define GR5_ODD_EVEN 0x10
#define GR5_SHIFT_256 0x40
#define GR6_GRAPHICS 0x01
#define AR_MODE 0x10
#define AR_PLANE_ENABLE 0x12
#define AR_COLOR_SELECT 0x14

/* Writable bits of each sequencer / graphics controller / attribute register (IBM VGA). */
static const uint8_t seq_mask[8] = { 0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0, 0, 0 };
static const uint8_t gc_mask[16] = { 0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f, 0xff };
#define NCRTC 0x19
#define NATTR 0x15

/*
 * BIOS mode 3 (80x25 text, 720x400, 16 colors): the register values of the
 * IBM VGA BIOS parameter table, which the VGA BIOS also programs. The
 * adapter comes up in this mode so a guest that never runs the VGA BIOS still
 * has a text screen at 0xB8000.
 */
static const uint8_t mode3_seq[5] = { 0x03, 0x00, 0x03, 0x00, 0x02 };
static const uint8_t mode3_crtc[NCRTC] = { 0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00,
					   0x4f, 0x0d, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x9c, 0x8e,
					   0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff };
static const uint8_t mode3_gc[9] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff };
static const uint8_t mode3_attr[NATTR] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14,
					   0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d,
					   0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00 };
#define MODE3_MISC 0x67

/*
 * Display timing for the retrace bits of input status 1: 720x400 at 70 Hz
 * (28.322 MHz dot clock, 900 dots and 449 lines per frame, vertical retrace
 * on lines 412-413; IBM VGA mode 3 CRTC values).
 */
#define LINE_NS 31778u
#define LINE_ACTIVE_NS 25422u /* 720 of the 900 dots */
#define FRAME_LINES 449u
#define ACTIVE_LINES 400u
#define VRETRACE_FIRST 412u
#define VRETRACE_LINES 2u

/* ---- helpers ---- */

/* A 4-bit value with each bit p widened to byte p of a word (0x0 or 0xff). */
static uint32_t
expand4(unsigned bits)
{
	uint32_t r = 0;
	for (unsigned p = 0; p < 4; p++)
		if (bits >> p & 1)
			r |= 0xffu << (8 * p);
	return r;
}

static bool
vbe_enabled(const struct vga *v)
{
	return v->st.vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED;
}

/* Whether the 0x3Dx (color) or the 0x3Bx (mono) CRTC ports are live (misc output bit 0, I/OAS). */
static bool
port_inactive(const struct vga *v, uint16_t port)
{
	if (port >= 0x3b0 && port <= 0x3bf)
		return v->st.misc & 1;
	if (port >= 0x3d0 && port <= 0x3df)
		return !(v->st.misc & 1);
	return false;
}

/*
 * Input status 1 (IBM VGA "Input Status Register 1"): bit 3 vertical
 * retrace, bit 0 "display enable" (1 while the display is in a horizontal or
 * vertical blanking interval). Computed from the virtual clock, so a loop
 * waiting for either edge ends after the time a real frame would take.
 * Without a clock both bits toggle on every read (as QEMU does).
 */
static uint8_t
input_status1(struct vga *v)
{
	if (!v->clock) {
		v->status_toggle ^= 0x09;
		return v->status_toggle;
	}
	uint64_t t = vclock_now(v->clock) % ((uint64_t)LINE_NS * FRAME_LINES);
	unsigned line = (unsigned)(t / LINE_NS), dot = (unsigned)(t % LINE_NS);
	uint8_t s = 0;
	if (line >= ACTIVE_LINES || dot >= LINE_ACTIVE_NS)
		s |= 0x01;
	if (line >= VRETRACE_FIRST && line < VRETRACE_FIRST + VRETRACE_LINES)
		s |= 0x08;
	return s;
}

/* ---- the DAC (IBM VGA "Video DAC"): 0x3C6-0x3C9 ---- */

static uint8_t
dac_component_mask(const struct vga *v)
{
	return (v->st.vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC) ? 0xff : 0x3f;
}

/* PEL data (0x3C9) write: three components, then the entry is written and the index advances. */
static void
dac_write(struct vga *v, uint8_t val)
{
	struct vga_state *s = &v->st;
	s->dac_cache[s->dac_sub++] = val & dac_component_mask(v);
	if (s->dac_sub == 3) {
		memcpy(s->dac[s->dac_write_index], s->dac_cache, 3);
		s->dac_write_index++;
		s->dac_sub = 0;
	}
}

/* PEL data (0x3C9) read: one component of the read index; after blue the index advances. */
static uint8_t
dac_read(struct vga *v)
{
	struct vga_state *s = &v->st;
	uint8_t val = s->dac[s->dac_read_index][s->dac_sub++];
	if (s->dac_sub == 3) {
		s->dac_read_index++;
		s->dac_sub = 0;
	}
	return val;
}

/* ---- the Bochs VBE DISPI registers ---- */

/* A DISPI register as the data port reads it (GETCAPS: the maximum resolution and depth). */
static uint16_t
vbe_reg_read(const struct vga *v, unsigned index)
{
	if (index >= VBE_DISPI_NREGS)
		return 0;
	if (index == VBE_DISPI_INDEX_VIDEO_MEMORY_64K)
		return VGA_VRAM_SIZE >> 16;
	if (v->st.vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_GETCAPS) {
		switch (index) {
		case VBE_DISPI_INDEX_XRES: return VBE_DISPI_MAX_XRES;
		case VBE_DISPI_INDEX_YRES: return VBE_DISPI_MAX_YRES;
		case VBE_DISPI_INDEX_BPP: return VBE_DISPI_MAX_BPP;
		}
	}
	return v->st.vbe[index];
}

/* Bytes per scan line of the VBE mode: VIRT_WIDTH pixels (4 bpp is planar: a plane byte per 8). */
static uint32_t
vbe_line_bytes(const struct vga *v)
{
	uint32_t w = v->st.vbe[VBE_DISPI_INDEX_VIRT_WIDTH], bpp = v->st.vbe[VBE_DISPI_INDEX_BPP];
	if (bpp == 4)
		return w / 2;
	return w * ((bpp + 7) / 8);
}

/*
 * ENABLE write. Enabling a mode (Bochs VBE; QEMU vbe_ioport_write_data): the
 * virtual screen becomes the visible one at offset 0, VRAM is cleared unless
 * NOCLEARMEM, and the VGA side is switched to what the mode needs: graphics,
 * the 64 KiB window at 0xA0000 (the bank window), chain-4 with all planes
 * for packed pixels (or planar for 4 bpp).
 */
static void
vbe_enable_write(struct vga *v, uint16_t val)
{
	struct vga_state *s = &v->st;
	if ((val & VBE_DISPI_ENABLED) && !vbe_enabled(v)) {
		s->vbe[VBE_DISPI_INDEX_VIRT_WIDTH] = s->vbe[VBE_DISPI_INDEX_XRES];
		s->vbe[VBE_DISPI_INDEX_VIRT_HEIGHT] = s->vbe[VBE_DISPI_INDEX_YRES];
		s->vbe[VBE_DISPI_INDEX_X_OFFSET] = 0;
		s->vbe[VBE_DISPI_INDEX_Y_OFFSET] = 0;
		if (!(val & VBE_DISPI_NOCLEARMEM)) {
			uint64_t n = (uint64_t)vbe_line_bytes(v) * s->vbe[VBE_DISPI_INDEX_YRES];
			memset(v->vram, 0, n < VGA_VRAM_SIZE ? n : VGA_VRAM_SIZE);
			irq_pulse(&v->work_done); /* a loop of these must meet -timeout */
		}
		s->gc[GR_MISC] = (uint8_t)((s->gc[GR_MISC] & ~0x0c) | 0x04 | GR6_GRAPHICS);
		s->attr[AR_MODE] |= 0x01;
		if (s->vbe[VBE_DISPI_INDEX_BPP] == 4) {
			s->seq[SR_MEM_MODE] =
				(uint8_t)((s->seq[SR_MEM_MODE] & ~SR4_CHAIN4) | SR4_ODD_EVEN_OFF);
			s->gc[GR_MODE] &= (uint8_t)~0x60;
		} else {
			s->seq[SR_MEM_MODE] |= SR4_CHAIN4;
			s->seq[SR_MAP_MASK] = 0x0f;
			s->gc[GR_MODE] = (uint8_t)((s->gc[GR_MODE] & ~0x60) | GR5_SHIFT_256);
		}
	}
	s->vbe[VBE_DISPI_INDEX_ENABLE] = val;
}

/*
 * A DISPI register write. XRES/YRES/BPP keep only values a mode can have
 * (Bochs: X resolution a multiple of 8, depth 4/8/15/16/24/32, 0 meaning 8);
 * BANK is limited to the VRAM's 64 KiB banks.
 */
static void
vbe_reg_write(struct vga *v, unsigned index, uint16_t val)
{
	struct vga_state *s = &v->st;
	v->writes++;
	switch (index) {
	case VBE_DISPI_INDEX_ID:
		if (val >= VBE_DISPI_ID0 && val <= VBE_DISPI_ID5)
			s->vbe[index] = val;
		break;
	case VBE_DISPI_INDEX_XRES:
		if (val <= VBE_DISPI_MAX_XRES && !(val & 7))
			s->vbe[index] = val;
		break;
	case VBE_DISPI_INDEX_YRES:
		if (val <= VBE_DISPI_MAX_YRES)
			s->vbe[index] = val;
		break;
	case VBE_DISPI_INDEX_BPP:
		if (val == 0)
			val = 8;
		if (val == 4 || val == 8 || val == 15 || val == 16 || val == 24 || val == 32)
			s->vbe[index] = val;
		break;
	case VBE_DISPI_INDEX_ENABLE: vbe_enable_write(v, val); break;
	case VBE_DISPI_INDEX_BANK: s->vbe[index] = val & ((VGA_VRAM_SIZE >> 16) - 1); break;
	case VBE_DISPI_INDEX_VIRT_WIDTH:
	case VBE_DISPI_INDEX_VIRT_HEIGHT:
	case VBE_DISPI_INDEX_X_OFFSET:
	case VBE_DISPI_INDEX_Y_OFFSET: s->vbe[index] = val; break;
	default: /* VIDEO_MEMORY_64K is read-only */ break;
	}
}

/* ---- the VGA registers, one byte at a time ---- */

/*
 * CRTC data write. CR11 bit 7 ("Protect R0-R7") write-protects CR0-CR7,
 * except the line compare bit 8 in CR7 bit 4 (IBM VGA "Vertical Retrace End").
 */
static void
crtc_write(struct vga *v, uint8_t val)
{
	struct vga_state *s = &v->st;
	unsigned i = s->crtc_index & 0x1f;
	if (i >= NCRTC)
		return;
	if ((s->crtc[0x11] & 0x80) && i <= 7) {
		if (i == 7)
			s->crtc[7] = (uint8_t)((s->crtc[7] & ~0x10) | (val & 0x10));
		return;
	}
	s->crtc[i] = val;
}

/*
 * Attribute controller port 0x3C0 (IBM VGA "Attribute Address Register"):
 * an internal flip-flop alternates between the index (bits 4-0, and bit 5
 * Palette Address Source) and the data; reading input status 1 sets it back
 * to the index.
 */
static void
attr_write(struct vga *v, uint8_t val)
{
	static const uint8_t mask[NATTR] = { 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f,
					     0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f,
					     0x3f, 0x3f, 0xef, 0xff, 0x3f, 0x0f, 0x0f };
	struct vga_state *s = &v->st;
	if (!s->attr_flipflop) {
		s->attr_index = val & 0x3f;
	} else {
		unsigned i = s->attr_index & 0x1f;
		if (i < NATTR)
			s->attr[i] = val & mask[i];
	}
	s->attr_flipflop = !s->attr_flipflop;
}

static uint8_t
port_readb(struct vga *v, uint16_t port)
{
	struct vga_state *s = &v->st;
	if (port_inactive(v, port))
		return 0xff;
	switch (port) {
	case 0x3c0: return s->attr_index;
	case 0x3c1: {
		unsigned i = s->attr_index & 0x1f;
		return i < NATTR ? s->attr[i] : 0;
	}
	case 0x3c2: /* input status 0: no switch sense, no retrace interrupt (as QEMU) */
		return 0x00;
	case 0x3c4: return s->seq_index;
	case 0x3c5: return s->seq[s->seq_index & 7];
	case 0x3c6: return s->dac_mask;
	case 0x3c7: /* DAC state: 00 the DAC is in write mode, 11 in read mode */
		return s->dac_state;
	case 0x3c8: return s->dac_write_index;
	case 0x3c9: return dac_read(v);
	case 0x3ca: return s->fcr;
	case 0x3cc: return s->misc;
	case 0x3ce: return s->gc_index;
	case 0x3cf: return s->gc[s->gc_index & 0x0f];
	case 0x3b4:
	case 0x3d4: return s->crtc_index;
	case 0x3b5:
	case 0x3d5: {
		unsigned i = s->crtc_index & 0x1f;
		return i < NCRTC ? s->crtc[i] : 0xff;
	}
	case 0x3ba:
	case 0x3da: s->attr_flipflop = false; return input_status1(v);
	default: return 0xff;
	}
}

static void
port_writeb(struct vga *v, uint16_t port, uint8_t val)
{
	struct vga_state *s = &v->st;
	v->writes++;
	if (port_inactive(v, port))
		return;
	switch (port) {
	case 0x3c0: attr_write(v, val); break;
	case 0x3c2: s->misc = val; break;
	case 0x3c4: s->seq_index = val & 7; break;
	case 0x3c5: s->seq[s->seq_index & 7] = val & seq_mask[s->seq_index & 7]; break;
	case 0x3c6: s->dac_mask = val; break;
	case 0x3c7:
		s->dac_read_index = val;
		s->dac_sub = 0;
		s->dac_state = 0x03;
		break;
	case 0x3c8:
		s->dac_write_index = val;
		s->dac_sub = 0;
		s->dac_state = 0x00;
		break;
	case 0x3c9: dac_write(v, val); break;
	case 0x3ce: s->gc_index = val & 0x0f; break;
	case 0x3cf: s->gc[s->gc_index & 0x0f] = val & gc_mask[s->gc_index & 0x0f]; break;
	case 0x3b4:
	case 0x3d4: s->crtc_index = val & 0x3f; break;
	case 0x3b5:
	case 0x3d5: crtc_write(v, val); break;
	case 0x3ba:
	case 0x3da: s->fcr = val & 0x03; break;
	default: break;
	}
}

/*
 * The port handlers. A word or dword access to the VGA registers is a
 * sequence of byte accesses (OUT DX, AX to 0x3C4 writes the index and then the
 * data): they are byte-wide and the port table splits wider accesses. 0x1CE
 * is the DISPI index and 0x1CF (and Bochs's old 0x1D0) the data port, 16 bits
 * wide.
 */
static uint32_t
vga_reg_read(void *opaque, uint16_t port, unsigned size)
{
	(void)size;
	return port_readb(opaque, port);
}

static void
vga_reg_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	(void)size;
	port_writeb(opaque, port, (uint8_t)value);
}

static uint32_t
vbe_port_read(void *opaque, uint16_t port, unsigned size)
{
	struct vga *v = opaque;
	(void)size;
	if (port == 0x1ce)
		return v->st.vbe_index;
	return vbe_reg_read(v, v->st.vbe_index);
}

static void
vbe_port_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct vga *v = opaque;
	if (port == 0x1ce) {
		v->st.vbe_index = (uint16_t)value;
		if (size == 4)
			vbe_reg_write(v, v->st.vbe_index, (uint16_t)(value >> 16));
	} else {
		vbe_reg_write(v, v->st.vbe_index, (uint16_t)value);
	}
}

/* ---- video memory through the legacy window ---- */

/*
 * Where window offset `off` (from 0xA0000) lands, before plane selection
 * (IBM VGA "Miscellaneous Register", memory map select, bits 3-2):
 * 0 A0000-BFFFF, 1 A0000-AFFFF (plus the VBE bank), 2 B0000-B7FFF,
 * 3 B8000-BFFFF. False when the window does not decode that offset.
 */
static bool
window_addr(const struct vga *v, uint64_t off, uint32_t *a)
{
	switch (v->st.gc[GR_MISC] >> 2 & 3) {
	case 0: *a = (uint32_t)off; return off < 0x20000;
	case 1:
		if (off >= 0x10000)
			return false;
		*a = (uint32_t)off;
		if (vbe_enabled(v))
			*a += (uint32_t)v->st.vbe[VBE_DISPI_INDEX_BANK] << 16;
		return true;
	case 2: *a = (uint32_t)off - 0x10000; return off >= 0x10000 && off < 0x18000;
	default: *a = (uint32_t)off - 0x18000; return off >= 0x18000 && off < 0x20000;
	}
}

/* Load the four latches from plane address pa. */
static uint32_t
load_latch(struct vga *v, uint32_t pa)
{
	uint32_t l;
	memcpy(&l, v->vram + 4 * (size_t)pa, 4); /* plane p in byte p (x86 hosts: little-endian) */
	v->st.latch = l;
	return l;
}

/*
 * A CPU read (IBM VGA "Graphics Mode Register" read modes, "Read Map
 * Select", "Color Compare", "Color Don't Care"). Every planar read loads the
 * latches. Read mode 0 returns the selected plane's byte; read mode 1 sets a
 * bit where every plane enabled in Color Don't Care matches Color Compare.
 */
static uint8_t
mem_readb(struct vga *v, uint64_t off)
{
	struct vga_state *s = &v->st;
	uint32_t a;
	if (!window_addr(v, off, &a))
		return 0xff;
	if (s->seq[SR_MEM_MODE] & SR4_CHAIN4)
		return a < VGA_VRAM_SIZE ? v->vram[a] : 0xff;
	unsigned plane = s->gc[GR_READ_MAP] & 3;
	if (s->gc[GR_MODE] & GR5_ODD_EVEN) { /* A0 picks the even or odd plane of the pair */
		plane = (plane & 2) | (a & 1);
		a &= ~1u;
	}
	if (a >= PLANE_LIMIT)
		return 0xff;
	uint32_t latch = load_latch(v, a);
	if (s->gc[GR_MODE] & GR5_READ_MODE1) {
		uint32_t care = expand4(s->gc[GR_DONT_CARE]);
		uint32_t diff = (latch ^ expand4(s->gc[GR_COLOR_CMP])) & care;
		diff |= diff >> 16;
		diff |= diff >> 8;
		return (uint8_t)~diff;
	}
	return (uint8_t)(latch >> (8 * plane));
}

/*
 * The four plane bytes a CPU write of `val` produces (IBM VGA "Graphics Mode
 * Register" write modes, "Set/Reset", "Enable Set/Reset", "Data Rotate",
 * "Bit Mask"):
 *   mode 0: the rotated byte, or set/reset for planes with set/reset enabled;
 *   mode 1: the latches unchanged;
 *   mode 2: bit p of the byte, replicated, for plane p;
 *   mode 3: set/reset, with the rotated byte ANDed into the bit mask.
 * Then the logical function with the latches (replace, AND, OR, XOR) and the
 * bit mask (masked-off bits come from the latches).
 */
static uint32_t
write_data(const struct vga *v, uint8_t val)
{
	const struct vga_state *s = &v->st;
	unsigned rot = s->gc[GR_ROTATE] & 7;
	uint8_t rotated = (uint8_t)((val >> rot) | (val << ((8 - rot) & 7)));
	uint32_t latch = s->latch, mask = s->gc[GR_BIT_MASK], data;
	switch (s->gc[GR_MODE] & 3) {
	case 0: {
		uint32_t esr = expand4(s->gc[GR_ENABLE_SR]);
		data = (rotated * 0x01010101u & ~esr) | (expand4(s->gc[GR_SET_RESET]) & esr);
		break;
	}
	case 1: return latch;
	case 2: data = expand4(val & 0x0f); break;
	default:
		mask &= rotated;
		data = expand4(s->gc[GR_SET_RESET]);
		break;
	}
	switch (s->gc[GR_ROTATE] >> 3 & 3) {
	case 1: data &= latch; break;
	case 2: data |= latch; break;
	case 3: data ^= latch; break;
	}
	mask *= 0x01010101u;
	return (data & mask) | (latch & ~mask);
}

/*
 * A CPU write: the planes enabled in Map Mask get their byte. Chain-4
 * selects the plane by A1-A0; odd/even (sequencer memory mode bit 2 clear)
 * limits the write to plane 0/2 for even and 1/3 for odd addresses.
 */
static void
mem_writeb(struct vga *v, uint64_t off, uint8_t val)
{
	struct vga_state *s = &v->st;
	uint32_t a;
	v->writes++; /* the frame may change (vga_render) */
	if (!window_addr(v, off, &a))
		return;
	unsigned planes = s->seq[SR_MAP_MASK] & 0x0f;
	if (s->seq[SR_MEM_MODE] & SR4_CHAIN4) {
		if ((planes >> (a & 3) & 1) && a < VGA_VRAM_SIZE)
			v->vram[a] = val;
		return;
	}
	if (!(s->seq[SR_MEM_MODE] & SR4_ODD_EVEN_OFF)) {
		planes &= (a & 1) ? 0x0a : 0x05;
		a &= ~1u;
	}
	if (a >= PLANE_LIMIT)
		return;
	uint32_t data = write_data(v, val);
	for (unsigned p = 0; p < 4; p++)
		if (planes >> p & 1)
			v->vram[4 * (size_t)a + p] = (uint8_t)(data >> (8 * p));
}

/* The window is byte-wide: the physical map splits wider accesses. */
static uint64_t
window_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)size;
	return mem_readb(opaque, offset);
}

static void
window_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	(void)size;
	mem_writeb(opaque, offset, (uint8_t)value);
}

const struct mmio_ops vga_window_ops = { window_read, window_write, MMIO_BYTE_WIDE };

/* ---- BAR2: QEMU's stdvga MMIO layout ---- */

#define MMIO_VGA 0x400 /* ports 0x3C0-0x3DF */
#define MMIO_VBE 0x500 /* DISPI register n at 0x500 + 2n */

/*
 * One byte of BAR2: the VGA ports at 0x400-0x41F, the DISPI registers at
 * 0x500 (16 bits each, no index register involved); the rest (QEMU's EDID
 * blob and extended registers) reads 0, which tells a driver they are absent.
 */
static uint8_t
mmio_readb(struct vga *v, uint64_t off)
{
	if (off >= MMIO_VGA && off < MMIO_VGA + 0x20)
		return port_readb(v, (uint16_t)(0x3c0 + off - MMIO_VGA));
	if (off >= MMIO_VBE && off < MMIO_VBE + 2 * VBE_DISPI_NREGS)
		return (uint8_t)(vbe_reg_read(v, (unsigned)(off - MMIO_VBE) / 2) >>
				 (8 * (off & 1)));
	return 0;
}

static uint64_t
mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	uint64_t val = 0;
	for (unsigned i = 0; i < size; i++)
		val |= (uint64_t)mmio_readb(opaque, offset + i) << (8 * i);
	return val;
}

static void
mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct vga *v = opaque;
	unsigned i = 0;
	while (i < size) {
		uint64_t off = offset + i;
		uint8_t b = (uint8_t)(value >> (8 * i));
		if (off >= MMIO_VGA && off < MMIO_VGA + 0x20) {
			port_writeb(v, (uint16_t)(0x3c0 + off - MMIO_VGA), b);
		} else if (off >= MMIO_VBE && off < MMIO_VBE + 2 * VBE_DISPI_NREGS) {
			unsigned idx = (unsigned)(off - MMIO_VBE) / 2;
			uint16_t cur = v->st.vbe[idx], nv;
			if (!(off & 1) && i + 1 < size) { /* the whole register in this access */
				nv = (uint16_t)(value >> (8 * i));
				i++;
			} else if (off & 1) {
				nv = (uint16_t)((cur & 0x00ff) | b << 8);
			} else {
				nv = (uint16_t)((cur & 0xff00) | b);
			}
			vbe_reg_write(v, idx, nv);
		}
		i++;
	}
}

static const struct mmio_ops mmio_ops = { mmio_read, mmio_write, 0 };

/* ---- PCI ---- */

static void
vga_bar_update(struct pci_function *fn, unsigned bar, uint32_t addr, bool mapped)
{
	struct vga *v = fn->opaque;
	switch (bar) {
	case BAR_LFB: physmem_region_place(v->mem, v->lfb_region, addr, mapped); break;
	case BAR_MMIO: physmem_region_place(v->mem, v->mmio_region, addr, mapped); break;
	case BAR_ROM: physmem_region_place(v->mem, v->rom_region, addr, mapped); break;
	}
}

static const struct pci_function_ops vga_pci_ops = { NULL, vga_bar_update };

/*
 * Read the expansion ROM image and map it (disabled) as a ROM region the
 * size of the BAR: the image rounded up to a power of two, zero-padded.
 */
static int
load_rom(struct vga *v, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "VGA BIOS %s: %s", path, strerror(errno));
		return -1;
	}
	uint8_t *buf = calloc(1, VGA_ROM_MAX);
	size_t n = buf ? fread(buf, 1, VGA_ROM_MAX, f) : 0;
	bool too_big = buf && n == VGA_ROM_MAX && fgetc(f) != EOF;
	fclose(f);
	if (!buf || n < 512 || too_big || buf[0] != 0x55 || buf[1] != 0xaa) {
		snprintf(err, errlen, "VGA BIOS %s: %s", path,
			 !buf      ? "out of memory"
			 : too_big ? "larger than 1 MiB"
				   : "not an option ROM (no 55 AA signature)");
		free(buf);
		return -1;
	}
	v->rom_size = 2048; /* the smallest ROM BAR (PCI 2.1, 6.2.5.2) */
	while (v->rom_size < n)
		v->rom_size <<= 1;
	v->rom_region = physmem_add_rom(v->mem, "vga-rom", 0, buf, v->rom_size);
	free(buf);
	if (v->rom_region < 0) {
		snprintf(err, errlen, "VGA: the physical map is full");
		return -1;
	}
	physmem_region_enable(v->mem, v->rom_region, false);
	return 0;
}

/*
 * The PCI header QEMU's "VGA" device presents: 1234:1111 revision 2, class
 * 03 00 00 (VGA-compatible), subsystem 1AF4:1100, BAR0 16 MiB prefetchable
 * memory (the framebuffer), BAR2 4 KiB memory (registers), the expansion ROM
 * BAR, no interrupt pin. The legacy ports and window decode regardless of
 * the command register, as on a VGA behind no bridge.
 */
static void
setup_config(struct vga *v)
{
	struct pci_function *fn = &v->fn;
	pci_function_init(fn, 0x1234, 0x1111, 0x02, 0x030000, &vga_pci_ops, v);
	pci_set(fn, PCI_SUBSYS_VENDOR, 0x11001af4u, 4);
	pci_set_wmask(fn, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
	pci_set_wmask(fn, PCI_INTERRUPT_LINE, 0xff, 1);
	pci_function_add_bar(fn, BAR_LFB, PCI_BAR0, PCI_BAR_MEM_PREFETCH, VGA_VRAM_SIZE);
	pci_function_add_bar(fn, BAR_MMIO, PCI_BAR0 + 8, PCI_BAR_MEM, VGA_MMIO_SIZE);
	if (v->rom_size)
		pci_function_add_bar(fn, BAR_ROM, PCI_ROM_ADDRESS, PCI_BAR_ROM, v->rom_size);
}

int
vga_init(struct vga *v, struct pci_bus *bus, unsigned slot, struct ioports *io, struct physmem *mem,
	 struct vclock *clock, const char *rom_path, char *err, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	v->mem = mem;
	v->clock = clock;
	v->lfb_region = v->mmio_region = v->rom_region = -1;
	void *p = mmap(NULL, VGA_VRAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "VGA: cannot allocate %u MiB of video memory",
			 VGA_VRAM_SIZE >> 20);
		return -1;
	}
	v->vram = p;
	if (rom_path && load_rom(v, rom_path, err, errlen) < 0)
		return -1;
	v->lfb_region = physmem_add_alias(mem, "vga-lfb", 0, v->vram, VGA_VRAM_SIZE, true);
	v->mmio_region = physmem_add_mmio(mem, "vga-mmio", 0, VGA_MMIO_SIZE, &mmio_ops, v);
	if (v->lfb_region < 0 || v->mmio_region < 0) {
		snprintf(err, errlen, "VGA: the physical map is full");
		return -1;
	}
	physmem_region_enable(mem, v->lfb_region, false);
	physmem_region_enable(mem, v->mmio_region, false);
	setup_config(v);
	if (ioports_register(io, 0x3b0, 0x30, "vga", vga_reg_read, vga_reg_write, v,
			     IOPORT_BYTE_WIDE) ||
	    ioports_register(io, 0x1ce, 3, "vga-vbe", vbe_port_read, vbe_port_write, v, 0)) {
		snprintf(err, errlen, "VGA: port conflict");
		return -1;
	}
	if (pci_bus_add(bus, &v->fn, slot, 0) < 0) {
		snprintf(err, errlen, "VGA: PCI slot %u is taken", slot);
		return -1;
	}
	vga_reset(v);
	return 0;
}

void
vga_destroy(struct vga *v)
{
	if (v->vram)
		munmap(v->vram, VGA_VRAM_SIZE);
	v->vram = NULL;
	for (unsigned b = 0; b < 2; b++) {
		free(v->fb[b]);
		v->fb[b] = NULL;
		v->fb_cap[b] = 0;
	}
	v->frame.pixels = NULL;
}

void
vga_reset(struct vga *v)
{
	struct vga_state *s = &v->st;
	memset(s, 0, sizeof(*s));
	s->misc = MODE3_MISC;
	memcpy(s->seq, mode3_seq, sizeof(mode3_seq));
	memcpy(s->crtc, mode3_crtc, sizeof(mode3_crtc));
	memcpy(s->gc, mode3_gc, sizeof(mode3_gc));
	memcpy(s->attr, mode3_attr, sizeof(mode3_attr));
	s->attr_index = 0x20; /* PAS: the display uses the palette */
	s->dac_mask = 0xff;
	s->vbe[VBE_DISPI_INDEX_ID] = VBE_DISPI_ID5;
	v->writes++;
	pci_function_reset(&v->fn);
}

/* ---- rendering and screen dumps ---- */

bool
vga_text_mode(const struct vga *v)
{
	return !vbe_enabled(v) && !(v->st.attr[AR_MODE] & 1);
}

/* Vertical display end + 1: scan lines shown (IBM VGA CR12, overflow CR07 bits 1 and 6). */
static unsigned
display_lines(const struct vga *v)
{
	const uint8_t *c = v->st.crtc;
	unsigned vde = c[0x12] | (c[0x07] & 0x02) << 7 | (c[0x07] & 0x40) << 3;
	return vde + 1;
}

/* Line compare (CR18, CR07 bit 4, CR09 bit 6): the scan line where the address restarts at 0. */
static unsigned
line_compare(const struct vga *v)
{
	const uint8_t *c = v->st.crtc;
	return c[0x18] | (c[0x07] & 0x10) << 4 | (c[0x09] & 0x40) << 3;
}

/* How many address bits the CRTC shifts its memory address left: DW 2, word 1, byte 0. */
static unsigned
crtc_addr_shift(const struct vga *v)
{
	if (v->st.crtc[0x14] & 0x40) /* CR14 DW: doubleword mode */
		return 2;
	return (v->st.crtc[0x17] & 0x40) ? 0 : 1; /* CR17 bit 6: 1 byte, 0 word mode */
}

/* Text geometry: columns, rows, character height (CR01, CR09, CR12). */
static void
text_geometry(const struct vga *v, unsigned *cols, unsigned *rows, unsigned *cheight)
{
	const uint8_t *c = v->st.crtc;
	unsigned lines = display_lines(v);
	if (c[0x09] & 0x80)
		lines /= 2;
	*cols = c[0x01] + 1u;
	*cheight = (c[0x09] & 0x1fu) + 1;
	*rows = lines / *cheight;
}

/*
 * The text screen (IBM VGA CRTC "Horizontal Display Enable End", "Vertical
 * Display Enable End", "Maximum Scan Line", "Start Address", "Offset"):
 * columns = CR01 + 1, rows = displayed lines / character height (halved by
 * double scanning), the address of row r column c is start + r * 2 * CR13 + c
 * shifted per byte/word/doubleword mode, wrapping within the 64 KiB planes;
 * the character is in plane 0.
 */
int
vga_text_dump(const struct vga *v, FILE *f)
{
	if (!vga_text_mode(v))
		return -1;
	const uint8_t *c = v->st.crtc;
	unsigned cols, rows, ch;
	text_geometry(v, &cols, &rows, &ch);
	unsigned start = (unsigned)c[0x0c] << 8 | c[0x0d], stride = 2u * c[0x13];
	unsigned shift = crtc_addr_shift(v);
	char line[256 * 3 + 1];
	for (unsigned r = 0; r < rows; r++) {
		size_t len = 0, keep = 0;
		for (unsigned col = 0; col < cols; col++) {
			unsigned ma = start + r * stride + col;
			uint8_t chr = v->vram[4 * (size_t)((ma << shift) & 0xffff)];
			len += cp437_utf8(chr, line + len);
			if (chr != 0x00 && chr != 0x20)
				keep = len;
		}
		fwrite(line, 1, keep, f);
		fputc('\n', f);
	}
	return ferror(f) ? -1 : 0;
}

/* DAC entry `i` as XRGB8888 (6-bit components widened by replicating the top bits). */
static uint32_t
dac_xrgb(const struct vga *v, uint8_t i)
{
	bool wide = v->st.vbe[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC;
	i &= v->st.dac_mask;
	uint32_t px = 0;
	for (unsigned k = 0; k < 3; k++) {
		uint8_t c = v->st.dac[i][k];
		px = px << 8 | (wide ? c : (uint8_t)((c & 0x3f) << 2 | (c & 0x3f) >> 4));
	}
	return px;
}

/*
 * A 16-color index through the attribute controller's palette to a DAC
 * index (IBM VGA "Color Plane Enable", "Palette Registers", "Attribute Mode
 * Control" bit 7 P5/P4 select, "Color Select").
 */
static uint8_t
attr_palette(const struct vga *v, unsigned idx)
{
	const uint8_t *a = v->st.attr;
	uint8_t pal = a[idx & a[AR_PLANE_ENABLE] & 0x0f];
	uint8_t hi = (uint8_t)((a[AR_COLOR_SELECT] & 0x0c) << 4);
	if (a[AR_MODE] & 0x80)
		return (uint8_t)(hi | (a[AR_COLOR_SELECT] & 3) << 4 | (pal & 0x0f));
	return (uint8_t)(hi | (pal & 0x3f));
}

/* Frame buffer `b` big enough for w x h pixels; false when out of memory. */
static bool
frame_alloc(struct vga *v, unsigned b, unsigned w, unsigned h)
{
	size_t need = (size_t)w * h;
	if (need <= v->fb_cap[b])
		return true;
	uint32_t *p = realloc(v->fb[b], need * 4);
	if (!p)
		return false;
	v->fb[b] = p;
	v->fb_cap[b] = need;
	return true;
}

/* One packed VBE pixel as XRGB: 15 and 16 bpp widened by shifting (as the PPM dump always did). */
static inline uint32_t
vbe_px(const uint8_t *p, unsigned bpp, const uint32_t *pal)
{
	uint32_t wd = (uint32_t)p[0] | (uint32_t)p[1] << 8;
	switch (bpp) {
	case 8: return pal[p[0]];
	case 15: return (wd >> 10 & 0x1f) << 19 | (wd >> 5 & 0x1f) << 11 | (wd & 0x1f) << 3;
	case 16: return (wd >> 11 & 0x1f) << 19 | (wd >> 5 & 0x3f) << 10 | (wd & 0x1f) << 3;
	default: return (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0]; /* B, G, R (, X) */
	}
}

/* A VBE (DISPI) frame: packed pixels at 8/15/16/24/32 bpp, or planar at 4 bpp. */
static void
render_vbe(const struct vga *v, uint32_t *fb, unsigned w, unsigned h)
{
	const uint16_t *r = v->st.vbe;
	unsigned bpp = r[VBE_DISPI_INDEX_BPP], bytes = (bpp + 7) / 8;
	uint64_t line = vbe_line_bytes(v);
	uint32_t pal[256];
	for (unsigned i = 0; i < 256; i++)
		pal[i] = dac_xrgb(v, (uint8_t)(bpp == 4 ? attr_palette(v, i & 15) : i));
	for (unsigned y = 0; y < h; y++, fb += w) {
		uint64_t off = (y + (uint64_t)r[VBE_DISPI_INDEX_Y_OFFSET]) * line;
		uint64_t px0 = r[VBE_DISPI_INDEX_X_OFFSET];
		if (bpp == 4) { /* bit 7 - x%8 of the four planes at plane address off + x/8 */
			for (unsigned x = 0; x < w; x++) {
				uint64_t px = px0 + x, pa = (off + px / 8) % PLANE_LIMIT;
				unsigned idx = 0;
				for (unsigned p = 0; p < 4; p++)
					idx |= (v->vram[4 * pa + p] >> (7 - px % 8) & 1u) << p;
				fb[x] = pal[idx];
			}
			continue;
		}
		uint64_t a = off + px0 * bytes;
		if (a + (uint64_t)w * bytes > VGA_VRAM_SIZE - 3) { /* wraps: pixel by pixel */
			for (unsigned x = 0; x < w; x++)
				fb[x] = vbe_px(v->vram + (off + (px0 + x) * bytes) %
								 (VGA_VRAM_SIZE - 3),
					       bpp, pal);
			continue;
		}
		const uint8_t *p = v->vram + a;
		switch (bpp) { /* one loop per depth: the compiler vectorises these */
		case 8:
			for (unsigned x = 0; x < w; x++)
				fb[x] = pal[p[x]];
			break;
		case 32:
			memcpy(fb, p, (size_t)w * 4);
			for (unsigned x = 0; x < w; x++)
				fb[x] &= 0xffffff;
			break;
		case 16:
			for (unsigned x = 0; x < w; x++)
				fb[x] = vbe_px(p + (size_t)x * 2, 16, pal);
			break;
		case 15:
			for (unsigned x = 0; x < w; x++)
				fb[x] = vbe_px(p + (size_t)x * 2, 15, pal);
			break;
		default:
			for (unsigned x = 0; x < w; x++)
				fb[x] = vbe_px(p + (size_t)x * 3, 24, pal);
			break;
		}
	}
}

/*
 * The CRTC's address for output line `y` of a frame whose lines are `vdiv`
 * scan lines apart (after double scanning): the start address (CR0C/CR0D)
 * above the line compare scan line, 0 from it on (IBM VGA "Line Compare":
 * the split screen); then row * Offset (CR13, in words); the row scan
 * counter in *rs. *top tells whether the line is above the split.
 */
static unsigned
crtc_line_addr(const struct vga *v, unsigned y, unsigned vdiv, unsigned cheight, unsigned *rs,
	       bool *top)
{
	const uint8_t *c = v->st.crtc;
	unsigned dbl = (c[0x09] & 0x80) ? 2 : 1;
	unsigned hs = y * vdiv * dbl, lc = line_compare(v), base, sl;
	*top = hs < lc;
	if (*top) {
		base = (unsigned)c[0x0c] << 8 | c[0x0d];
		sl = hs / dbl + (c[0x08] & 0x1f); /* preset row scan */
	} else {
		base = 0;
		sl = (hs - lc) / dbl;
	}
	*rs = sl % cheight;
	return base + sl / cheight * 2u * c[0x13];
}

/*
 * A VGA graphics frame (IBM VGA "Graphics Mode Register" shift register
 * modes): 256-color (bit 6: a byte per pixel, the four planes' bytes side by
 * side as chain-4 writes them; mode 13h and the unchained mode X alike),
 * CGA-compatible 2 bits per pixel (bit 5, shift register interleave: plane
 * 0's byte then plane 1's, planes 2/3 the high bits; modes 4/5), or 16-color
 * planar (a bit from each plane; also mode 6's one plane). With CR17 bits 0/1
 * clear, the row scan counter's bits 0/1 replace address bits 13/14 (the CGA
 * interleaved banks), and every scan line is a frame line. Horizontal pixel
 * panning (AR13) applies above the split, and below it unless AR10 bit 5.
 */
static void
render_graphics(const struct vga *v, uint32_t *fb, unsigned w, unsigned h, unsigned vdiv,
		unsigned cheight)
{
	const uint8_t *c = v->st.crtc;
	unsigned shift = crtc_addr_shift(v), mode = v->st.gc[GR_MODE];
	uint32_t pal[256];
	for (unsigned i = 0; i < 256; i++)
		pal[i] = (mode & GR5_SHIFT_256) ? dac_xrgb(v, (uint8_t)i)
						: dac_xrgb(v, attr_palette(v, i & 15));
	for (unsigned y = 0; y < h; y++, fb += w) {
		unsigned rs;
		bool top;
		uint32_t pa = crtc_line_addr(v, y, vdiv, cheight, &rs, &top);
		unsigned pan = (top || !(v->st.attr[AR_MODE] & 0x20)) ? v->st.attr[0x13] & 7 : 0;
		if (mode & GR5_SHIFT_256) {
			pan /= 2;
			for (unsigned x = 0; x < w; x++)
				fb[x] = pal[v->vram[(pa * 4 + x + pan) % (PLANE_LIMIT * 4)]];
			continue;
		}
		if (!pan && !(mode & 0x20) && !(w & 7) && (c[0x17] & 3) == 3) {
			/* the common case, 8 pixels (one byte of each plane) at a time */
			for (unsigned x = 0; x < w; x += 8) {
				const uint8_t *p = v->vram + 4 * (size_t)(((pa + x / 8) << shift) %
									  PLANE_LIMIT);
				for (unsigned k = 0; k < 8; k++) {
					unsigned s = 7 - k;
					fb[x + k] =
						pal[(p[0] >> s & 1) | (p[1] >> s & 1) << 1 |
						    (p[2] >> s & 1) << 2 | (p[3] >> s & 1) << 3];
				}
			}
			continue;
		}
		for (unsigned x = 0; x < w; x++) {
			unsigned px = x + pan, idx = 0;
			uint32_t a = (pa + px / 8) << shift; /* a character clock per 8 pixels */
			if (!(c[0x17] & 1))
				a = (a & ~0x2000u) | (rs & 1) << 13;
			if (!(c[0x17] & 2))
				a = (a & ~0x4000u) | (rs & 2) << 13;
			const uint8_t *p = v->vram + 4 * (size_t)(a % PLANE_LIMIT);
			if (mode & 0x20) { /* CGA: pixels 0-3 from planes 0/2, 4-7 from 1/3 */
				unsigned s = 6 - 2 * (px % 4), hi = px % 8 >= 4;
				idx = (p[hi] >> s & 3) | (p[2 + hi] >> s & 3) << 2;
			} else {
				for (unsigned k = 0; k < 4; k++)
					idx |= (p[k] >> (7 - px % 8) & 1u) << k;
			}
			fb[x] = pal[idx];
		}
	}
}

/* Plane 2 offsets of the eight character maps (IBM VGA "Character Map Select"). */
static const uint16_t font_base[8] = { 0x0000, 0x4000, 0x8000, 0xc000,
				       0x2000, 0x6000, 0xa000, 0xe000 };

/*
 * A text frame: characters (plane 0) and attributes (plane 1) rasterised from
 * the font in plane 2 (32 bytes per glyph; SR03 picks map A for attribute bit
 * 3 set, map B otherwise), 9 or 8 dots wide (SR01 bit 0; the 9th column
 * repeats the 8th for C0-DF when AR10 bit 2 asks for line graphics), doubled
 * with the halved dot clock (SR01 bit 3). AR10 bit 3 turns attribute bit 7
 * into blink; the cursor (CR0A-CR0F) blinks every 8 frames, characters every
 * 16 (IBM VGA "Cursor Start", "Cursor Location"). `phase` is the frame count.
 */
static void
render_text(const struct vga *v, uint32_t *fb, unsigned w, unsigned h, unsigned phase)
{
	const uint8_t *c = v->st.crtc, *a = v->st.attr;
	unsigned cols, rows, cheight, cw = (v->st.seq[1] & 1) ? 8 : 9;
	unsigned wide = (v->st.seq[1] & 0x08) ? 2 : 1, shift = crtc_addr_shift(v);
	text_geometry(v, &cols, &rows, &cheight);
	uint8_t sr3 = v->st.seq[3];
	unsigned map_a = font_base[(sr3 >> 3 & 4) | (sr3 >> 2 & 3)];
	unsigned map_b = font_base[(sr3 >> 2 & 4) | (sr3 & 3)];
	unsigned cursor = (unsigned)c[0x0e] << 8 | c[0x0f];
	unsigned cur_start = c[0x0a] & 0x1f, cur_end = c[0x0b] & 0x1f;
	bool cursor_on = !(c[0x0a] & 0x20) && !(phase & 8), blink = a[AR_MODE] & 0x08;
	uint32_t pal[16];
	for (unsigned i = 0; i < 16; i++)
		pal[i] = dac_xrgb(v, attr_palette(v, i));
	for (unsigned y = 0; y < h; y++, fb += w) {
		unsigned rs;
		bool top;
		unsigned ma = crtc_line_addr(v, y, 1, cheight, &rs, &top);
		uint32_t *out = fb;
		for (unsigned col = 0; col < cols && (unsigned)(out - fb) + cw * wide <= w; col++) {
			unsigned addr = ((ma + col) << shift) & 0xffff;
			uint8_t ch = v->vram[4 * (size_t)addr], at = v->vram[4 * (size_t)addr + 1];
			unsigned font = (at & 8) ? map_a : map_b;
			uint8_t bits = v->vram[4 * (size_t)((font + ch * 32u + rs) & 0xffff) + 2];
			unsigned fg = at & 15, bg = at >> 4;
			if (blink) {
				bg &= 7;
				if ((at & 0x80) && (phase & 16))
					bits = 0;
			}
			if (cursor_on && ma + col == cursor && rs >= cur_start && rs <= cur_end)
				bits = 0xff;
			unsigned ninth =
				(cw == 9 && (a[AR_MODE] & 4) && ch >= 0xc0 && ch <= 0xdf)
					? bits & 1
					: (bits == 0xff && cursor_on && ma + col == cursor);
			for (unsigned x = 0; x < cw; x++) {
				bool on = x < 8 ? bits >> (7 - x) & 1 : ninth;
				for (unsigned k = 0; k < wide; k++)
					*out++ = pal[on ? fg : bg];
			}
		}
		while (out < fb + w)
			*out++ = 0;
	}
}

/* Frame size of the current mode, and for VGA graphics the lines per frame line. */
static void
frame_size(const struct vga *v, unsigned *w, unsigned *h, unsigned *vdiv, unsigned *cheight)
{
	const uint8_t *c = v->st.crtc;
	unsigned dbl = (c[0x09] & 0x80) ? 2 : 1;
	*vdiv = 1;
	*cheight = (c[0x09] & 0x1fu) + 1;
	if (vbe_enabled(v)) {
		*w = v->st.vbe[VBE_DISPI_INDEX_XRES];
		*h = v->st.vbe[VBE_DISPI_INDEX_YRES];
	} else if (vga_text_mode(v)) {
		unsigned cols, rows, ch;
		text_geometry(v, &cols, &rows, &ch);
		*w = cols * ((v->st.seq[1] & 1) ? 8 : 9) * ((v->st.seq[1] & 0x08) ? 2 : 1);
		*h = display_lines(v) / dbl;
	} else {
		bool p256 = v->st.gc[GR_MODE] & GR5_SHIFT_256;
		*w = (c[0x01] + 1u) * (p256 ? 4 : 8);
		/* The row scan counter shows in the address (CGA banks): every scan line. */
		*vdiv = (c[0x17] & 3) != 3 ? 1 : *cheight;
		*h = display_lines(v) / *vdiv / dbl;
	}
}

/*
 * Only a mode whose memory the CPU writes through the legacy window (or the
 * registers) is known unchanged from the write counter; the VBE linear
 * framebuffer is plain RAM to the CPU, so VBE frames are always drawn.
 */
const struct vga_frame *
vga_render(struct vga *v)
{
	unsigned w, h, vdiv, cheight, phase = 0;
	frame_size(v, &w, &h, &vdiv, &cheight);
	bool text = vga_text_mode(v);
	if (text && v->clock) /* blink phase: frames of the 70 Hz text timing */
		phase = (unsigned)(vclock_now(v->clock) / ((uint64_t)LINE_NS * FRAME_LINES));
	unsigned key = text ? (phase & 24) : 0;
	if (v->frame.pixels && !vbe_enabled(v) && v->writes == v->drawn_writes &&
	    key == v->drawn_phase && w == v->frame.width && h == v->frame.height)
		return &v->frame;
	unsigned back = v->front ^ 1;
	if (w == 0 || h == 0 || w > 4096 || h > 4096 || !frame_alloc(v, back, w, h)) {
		w = h = 1; /* nothing to show (or no memory): one black pixel */
		if (!frame_alloc(v, back, 1, 1))
			return &v->frame;
	}
	uint32_t *fb = v->fb[back];
	if (w == 1 && h == 1)
		fb[0] = 0;
	else if (vbe_enabled(v))
		render_vbe(v, fb, w, h);
	else if (text)
		render_text(v, fb, w, h, phase);
	else
		render_graphics(v, fb, w, h, vdiv, cheight);
	v->drawn_writes = v->writes;
	v->drawn_phase = key;
	if (v->frame.pixels && w == v->frame.width && h == v->frame.height &&
	    !memcmp(fb, v->frame.pixels, (size_t)w * h * 4))
		return &v->frame; /* the same picture: the generation stays */
	v->front = back;
	v->frame.width = w;
	v->frame.height = h;
	v->frame.stride = (size_t)w * 4;
	v->frame.pixels = fb;
	v->frame.generation++;
	return &v->frame;
}

/*
 * Write the graphics screen as a binary PPM: the frame of vga_render, 8 bits
 * per component. In a text mode the text dump is the screendump instead.
 */
int
vga_ppm_dump(struct vga *v, FILE *f)
{
	if (vga_text_mode(v))
		return -1;
	return vga_frame_ppm(vga_render(v), f);
}

int
vga_frame_ppm(const struct vga_frame *fr, FILE *f)
{
	fprintf(f, "P6\n%u %u\n255\n", fr->width, fr->height);
	uint8_t *row = malloc((size_t)fr->width * 3 + 1);
	if (!row)
		return -1;
	for (unsigned y = 0; y < fr->height; y++) {
		const uint32_t *p =
			(const uint32_t *)((const uint8_t *)fr->pixels + y * fr->stride);
		for (unsigned x = 0; x < fr->width; x++) {
			row[3 * x] = (uint8_t)(p[x] >> 16);
			row[3 * x + 1] = (uint8_t)(p[x] >> 8);
			row[3 * x + 2] = (uint8_t)p[x];
		}
		fwrite(row, 3, fr->width, f);
	}
	free(row);
	return ferror(f) ? -1 : 0;
}

int
vga_screendump(struct vga *v, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "wb");
	if (!f) {
		snprintf(err, errlen, "-screendump: cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	int r = vga_text_mode(v) ? vga_text_dump(v, f) : vga_ppm_dump(v, f);
	if (fclose(f) != 0 || r < 0) {
		snprintf(err, errlen, "-screendump: cannot write %s", path);
		return -1;
	}
	return 0;
}

/* ---- save/restore: the registers, the PCI function, VRAM ---- */

size_t
vga_save(const struct vga *v, void *buf, size_t len)
{
	size_t need = sizeof(v->st) + sizeof(v->fn.st) + VGA_VRAM_SIZE;
	if (len < need)
		return need;
	uint8_t *b = buf;
	memcpy(b, &v->st, sizeof(v->st));
	memcpy(b + sizeof(v->st), &v->fn.st, sizeof(v->fn.st));
	memcpy(b + sizeof(v->st) + sizeof(v->fn.st), v->vram, VGA_VRAM_SIZE);
	return need;
}

/*
 * The limits of struct vga_state (chipset/state.h). The index registers keep
 * the bits a port write stores (sequencer 3, graphics controller 4, CRTC 6,
 * attribute 6 with PAS); the DAC's component counter is 0-2 and its state
 * 0x00 or 0x03 (IBM VGA "Video DAC"); the DISPI registers hold only what
 * vbe_reg_write accepts: XRES and YRES up to the maximum, a depth of 4, 8, 15,
 * 16, 24 or 32 bpp (0 before the first write), BANK within the VRAM.
 */
static const struct state_limit vga_limits[] = {
	STATE_MASK(struct vga_state, seq_index, 7),
	STATE_MASK(struct vga_state, gc_index, 0x0f),
	STATE_MASK(struct vga_state, crtc_index, 0x3f),
	STATE_MASK(struct vga_state, attr_index, 0x3f),
	STATE_MAX(struct vga_state, dac_sub, 2),
	STATE_ONE_OF(struct vga_state, dac_state, 1u << 0 | 1u << 3),
	STATE_MAX(struct vga_state, vbe[VBE_DISPI_INDEX_XRES], VBE_DISPI_MAX_XRES),
	STATE_MAX(struct vga_state, vbe[VBE_DISPI_INDEX_YRES], VBE_DISPI_MAX_YRES),
	STATE_ONE_OF(struct vga_state, vbe[VBE_DISPI_INDEX_BPP],
		     1ull << 0 | 1ull << 4 | 1ull << 8 | 1ull << 15 | 1ull << 16 | 1ull << 24 |
			     1ull << 32),
	STATE_MASK(struct vga_state, vbe[VBE_DISPI_INDEX_BANK], (VGA_VRAM_SIZE >> 16) - 1),
};

int
vga_check(const struct vga *v, const void *buf, size_t len, char *err, size_t errlen)
{
	if (len != sizeof(v->st) + sizeof(v->fn.st) + VGA_VRAM_SIZE) {
		snprintf(err, errlen, "%zu bytes", len);
		return -1;
	}
	if (state_check(buf, sizeof(v->st), STATE_LIMITS(vga_limits), "", err, errlen) < 0)
		return -1;
	uint16_t xres;
	memcpy(&xres, (const uint8_t *)buf + offsetof(struct vga_state, vbe[VBE_DISPI_INDEX_XRES]),
	       sizeof(xres));
	if (xres & 7) { /* Bochs VBE: a multiple of 8 */
		snprintf(err, errlen, "vbe[VBE_DISPI_INDEX_XRES] is %u, not a multiple of 8", xres);
		return -1;
	}
	return 0;
}

int
vga_restore(struct vga *v, const void *buf, size_t len)
{
	if (len != sizeof(v->st) + sizeof(v->fn.st) + VGA_VRAM_SIZE)
		return -1;
	static const size_t STATE_KEEP bools[] = { offsetof(struct vga_state, attr_flipflop) };
	const uint8_t *b = buf;
	state_restore(&v->st, sizeof(v->st), b, sizeof(v->st), STATE_BOOLS(bools),
		      STATE_LIMITS(vga_limits));
	v->st.vbe[VBE_DISPI_INDEX_XRES] &= (uint16_t)~7u; /* vga_check refuses the rest */
	v->writes++;
	memcpy(v->vram, b + sizeof(v->st) + sizeof(v->fn.st), VGA_VRAM_SIZE);
	return pci_function_restore(&v->fn, b + sizeof(v->st), sizeof(v->fn.st));
}
