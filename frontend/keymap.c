/*
 * fugu — the one table from HID usages (SDL scancodes) to PS/2 scan code
 * set 2 (IBM PS/2 Keyboard Technical Reference; Microsoft "Keyboard Scan Code
 * Specification" 1.3a, which lists the USB usage of each key beside its
 * set 1 and set 2 codes).
 */
#include "frontend/keymap.h"

#include <string.h>

#define E0 0x100 /* the code follows an E0 prefix */

static const uint16_t set2[256] = {
	[0x04] = 0x1c,      [0x05] = 0x32,      [0x06] = 0x21,
	[0x07] = 0x23, /* A-D */
	[0x08] = 0x24,      [0x09] = 0x2b,      [0x0a] = 0x34,
	[0x0b] = 0x33, /* E-H */
	[0x0c] = 0x43,      [0x0d] = 0x3b,      [0x0e] = 0x42,
	[0x0f] = 0x4b, /* I-L */
	[0x10] = 0x3a,      [0x11] = 0x31,      [0x12] = 0x44,
	[0x13] = 0x4d, /* M-P */
	[0x14] = 0x15,      [0x15] = 0x2d,      [0x16] = 0x1b,
	[0x17] = 0x2c, /* Q-T */
	[0x18] = 0x3c,      [0x19] = 0x2a,      [0x1a] = 0x1d,
	[0x1b] = 0x22,                     /* U-X */
	[0x1c] = 0x35,      [0x1d] = 0x1a, /* Y, Z */
	[0x1e] = 0x16,      [0x1f] = 0x1e,      [0x20] = 0x26,
	[0x21] = 0x25, /* 1-4 */
	[0x22] = 0x2e,      [0x23] = 0x36,      [0x24] = 0x3d,
	[0x25] = 0x3e,                     /* 5-8 */
	[0x26] = 0x46,      [0x27] = 0x45, /* 9, 0 */
	[0x28] = 0x5a,      [0x29] = 0x76,      [0x2a] = 0x66,
	[0x2b] = 0x0d, /* Enter Esc BS Tab */
	[0x2c] = 0x29,      [0x2d] = 0x4e,      [0x2e] = 0x55,
	[0x2f] = 0x54, /* Space - = [ */
	[0x30] = 0x5b,      [0x31] = 0x5d,      [0x32] = 0x5d,
	[0x33] = 0x4c, /* ] \ (non-US #) ; */
	[0x34] = 0x52,      [0x35] = 0x0e,      [0x36] = 0x41,
	[0x37] = 0x49,                     /* ' ` , . */
	[0x38] = 0x4a,      [0x39] = 0x58, /* / CapsLock */
	[0x3a] = 0x05,      [0x3b] = 0x06,      [0x3c] = 0x04,
	[0x3d] = 0x0c, /* F1-F4 */
	[0x3e] = 0x03,      [0x3f] = 0x0b,      [0x40] = 0x83,
	[0x41] = 0x0a, /* F5-F8 */
	[0x42] = 0x01,      [0x43] = 0x09,      [0x44] = 0x78,
	[0x45] = 0x07,                                              /* F9-F12 */
	[0x47] = 0x7e,                                              /* ScrollLock */
	[0x49] = E0 | 0x70, [0x4a] = E0 | 0x6c, [0x4b] = E0 | 0x7d, /* Ins Home PgUp */
	[0x4c] = E0 | 0x71, [0x4d] = E0 | 0x69, [0x4e] = E0 | 0x7a, /* Del End PgDn */
	[0x4f] = E0 | 0x74, [0x50] = E0 | 0x6b, [0x51] = E0 | 0x72, /* Right Left Down */
	[0x52] = E0 | 0x75, [0x53] = 0x77,      [0x54] = E0 | 0x4a, /* Up NumLock KP/ */
	[0x55] = 0x7c,      [0x56] = 0x7b,      [0x57] = 0x79,
	[0x58] = E0 | 0x5a, /* KP* KP- KP+ KPEnter */
	[0x59] = 0x69,      [0x5a] = 0x72,      [0x5b] = 0x7a,
	[0x5c] = 0x6b, /* KP1-KP4 */
	[0x5d] = 0x73,      [0x5e] = 0x74,      [0x5f] = 0x6c,
	[0x60] = 0x75,                                              /* KP5-KP8 */
	[0x61] = 0x7d,      [0x62] = 0x70,      [0x63] = 0x71,      /* KP9 KP0 KP. */
	[0x64] = 0x61,      [0x65] = E0 | 0x2f, [0x66] = E0 | 0x37, /* non-US \ App Power */
	[0x87] = 0x51,      [0x88] = 0x13,      [0x89] = 0x6a,      /* Ro Katakana Yen */
	[0x8a] = 0x64,      [0x8b] = 0x67,                          /* Henkan Muhenkan */
	[0xe0] = 0x14,      [0xe1] = 0x12,      [0xe2] = 0x11,
	[0xe3] = E0 | 0x1f,                                         /* LCtrl LShift LAlt LGUI */
	[0xe4] = E0 | 0x14, [0xe5] = 0x59,      [0xe6] = E0 | 0x11, /* RCtrl RShift RAlt */
	[0xe7] = E0 | 0x27,                                         /* RGUI */
};

size_t
keymap_set2(unsigned usage, bool down, uint8_t out[KEYMAP_MAX_CODES])
{
	static const uint8_t prtsc_make[] = { 0xe0, 0x12, 0xe0, 0x7c };
	static const uint8_t prtsc_break[] = { 0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12 };
	static const uint8_t pause_make[] = { 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 };
	if (usage == HID_PRINTSCREEN) { /* E0-prefixed fake Shift around the key */
		memcpy(out, down ? prtsc_make : prtsc_break,
		       down ? sizeof(prtsc_make) : sizeof(prtsc_break));
		return down ? sizeof(prtsc_make) : sizeof(prtsc_break);
	}
	if (usage == HID_PAUSE) { /* make and break together on the way down; nothing up */
		if (!down)
			return 0;
		memcpy(out, pause_make, sizeof(pause_make));
		return sizeof(pause_make);
	}
	if (usage >= 256 || !set2[usage])
		return 0;
	size_t n = 0;
	if (set2[usage] & E0)
		out[n++] = 0xe0;
	if (!down)
		out[n++] = 0xf0;
	out[n++] = (uint8_t)set2[usage];
	return n;
}

bool
keymap_ascii(char c, unsigned *usage, bool *shift)
{
	static const char plain[] = "1234567890\n\x1b\b\t -=[]\\#;'`,./";
	static const char shifted[] = "!@#$%^&*()\n\x1b\b\t _+{}|~:\"~<>?";
	*shift = false;
	if (c >= 'a' && c <= 'z') {
		*usage = HID_A + (unsigned)(c - 'a');
		return true;
	}
	if (c >= 'A' && c <= 'Z') {
		*usage = HID_A + (unsigned)(c - 'A');
		*shift = true;
		return true;
	}
	for (unsigned i = 0; plain[i]; i++) {
		if (i == 20) /* the non-US # key: not on a US layout */
			continue;
		if (c == plain[i]) {
			*usage = 0x1e + i;
			return true;
		}
		if (c == shifted[i]) {
			*usage = 0x1e + i;
			*shift = true;
			return true;
		}
	}
	return false;
}
