/*
 * fugu — host keys to PS/2 scan codes. Keys are named by their USB HID
 * usage (keyboard page 0x07), which is also SDL's SDL_Scancode numbering, so
 * the one table here serves the SDL window, the clipboard paste and tests.
 */
#ifndef FUGU_KEYMAP_H
#define FUGU_KEYMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEYMAP_MAX_CODES 8 /* the longest sequence: Pause's make code */

/* HID usages the frontend names. */
enum {
	HID_A = 0x04,
	HID_ENTER = 0x28,
	HID_ESCAPE = 0x29,
	HID_BACKSPACE = 0x2a,
	HID_TAB = 0x2b,
	HID_SPACE = 0x2c,
	HID_DELETE = 0x4c,
	HID_PRINTSCREEN = 0x46,
	HID_PAUSE = 0x48,
	HID_LCTRL = 0xe0,
	HID_LSHIFT = 0xe1,
	HID_LALT = 0xe2,
	HID_RCTRL = 0xe4,
};

/*
 * The set-2 scan code sequence of HID usage `usage` going down (make) or up
 * (break), with E0/E1 prefixes; the 8042 translates it to set 1 when its
 * command byte asks. Returns the number of bytes (0: no such key; Pause has
 * no break code).
 */
size_t keymap_set2(unsigned usage, bool down, uint8_t out[KEYMAP_MAX_CODES]);

/* The key (and whether Shift is needed) that types ASCII `c` on a US layout; false if none. */
bool keymap_ascii(char c, unsigned *usage, bool *shift);

#endif
