/*
 * fugu — IBM PC code page 437 (the VGA ROM font) to Unicode, including the
 * glyphs of the control range 0x01-0x1F and 0x7F as the font draws them.
 */
#ifndef FUGU_CP437_H
#define FUGU_CP437_H

#include <stddef.h>
#include <stdint.h>

/* The code point the font shows for byte c (0x00 is a blank: U+0020). */
extern const uint16_t cp437_unicode[256];

/* Encode byte c as UTF-8 into out (at most 3 bytes); returns the length. */
size_t cp437_utf8(uint8_t c, char out[3]);

#endif
