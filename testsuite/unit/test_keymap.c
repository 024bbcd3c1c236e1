/*
 * Unit tests: the host key table (frontend/keymap.c), HID usage to PS/2 set 2,
 * and through the 8042's translation (chipset/kbc.c) to the set 1 codes of
 * Microsoft's "Keyboard Scan Code Specification".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "chipset/kbc.h"
#include "frontend/keymap.h"

static size_t
codes(unsigned usage, bool down, uint8_t *out)
{
	return keymap_set2(usage, down, out);
}

/* What the guest reads with translation on: set 2 bytes, F0 folded into bit 7. */
static size_t
set1(const uint8_t *in, size_t n, uint8_t *out)
{
	size_t m = 0;
	bool brk = false;
	for (size_t i = 0; i < n; i++) {
		if (in[i] == 0xf0) {
			brk = true;
			continue;
		}
		out[m++] = (uint8_t)(kbc_translate(in[i]) | (brk ? 0x80 : 0));
		brk = false;
	}
	return m;
}

static void
expect(unsigned usage, bool down, const uint8_t *want2, size_t n2, const uint8_t *want1, size_t n1)
{
	uint8_t c[KEYMAP_MAX_CODES], s[KEYMAP_MAX_CODES];
	size_t n = codes(usage, down, c);
	assert_int_equal(n, n2);
	assert_memory_equal(c, want2, n2);
	assert_int_equal(set1(c, n, s), n1);
	assert_memory_equal(s, want1, n1);
}

#define B(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static void
known_keys(void **state)
{
	(void)state;
	expect(0x04, true, B(0x1c), B(0x1e));                                     /* A */
	expect(0x04, false, B(0xf0, 0x1c), B(0x9e));                              /* A up */
	expect(0x29, true, B(0x76), B(0x01));                                     /* Esc */
	expect(0x4f, true, B(0xe0, 0x74), B(0xe0, 0x4d));                         /* Right */
	expect(0x4f, false, B(0xe0, 0xf0, 0x74), B(0xe0, 0xcd));                  /* Right up */
	expect(0x58, true, B(0xe0, 0x5a), B(0xe0, 0x1c));                         /* keypad Enter */
	expect(0x40, true, B(0x83), B(0x41));                                     /* F7 */
	expect(0xe3, true, B(0xe0, 0x1f), B(0xe0, 0x5b));                         /* left GUI */
	expect(0xe6, false, B(0xe0, 0xf0, 0x11), B(0xe0, 0xb8));                  /* AltGr up */
	expect(0x65, true, B(0xe0, 0x2f), B(0xe0, 0x5d));                         /* Application */
	expect(0x46, true, B(0xe0, 0x12, 0xe0, 0x7c), B(0xe0, 0x2a, 0xe0, 0x37)); /* PrtSc */
	expect(0x46, false, B(0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12), B(0xe0, 0xb7, 0xe0, 0xaa));
	expect(0x48, true, B(0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77),
	       B(0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5)); /* Pause: make and break at once */
	uint8_t c[KEYMAP_MAX_CODES];
	assert_int_equal(codes(0x48, false, c), 0); /* nothing on release */
	assert_int_equal(codes(0x00, true, c), 0);
	assert_int_equal(codes(0x300, true, c), 0);
}

/* No two keys of the table send the same code, in set 2 or after translation. */
static void
codes_distinct(void **state)
{
	(void)state;
	static uint16_t seen2[512], seen1[512];
	for (unsigned u = 0; u < 256; u++) {
		uint8_t c[KEYMAP_MAX_CODES], s[KEYMAP_MAX_CODES];
		size_t n = codes(u, true, c);
		if (n == 0 || u == 0x46 || u == 0x48 || u == 0x32) /* specials; non-US # = \ */
			continue;
		unsigned k2 = n == 2 ? 0x100u | c[1] : c[0];
		assert_int_equal(seen2[k2], 0);
		seen2[k2] = (uint16_t)u;
		size_t m = set1(c, n, s);
		unsigned k1 = m == 2 ? 0x100u | s[1] : s[0];
		assert_true(s[m - 1] < 0x80); /* a make code */
		assert_int_equal(seen1[k1], 0);
		seen1[k1] = (uint16_t)u;
	}
}

static void
ascii(void **state)
{
	(void)state;
	unsigned u;
	bool shift;
	assert_true(keymap_ascii('a', &u, &shift) && u == 0x04 && !shift);
	assert_true(keymap_ascii('Z', &u, &shift) && u == 0x1d && shift);
	assert_true(keymap_ascii('0', &u, &shift) && u == 0x27 && !shift);
	assert_true(keymap_ascii(')', &u, &shift) && u == 0x27 && shift);
	assert_true(keymap_ascii('\n', &u, &shift) && u == 0x28 && !shift);
	assert_true(keymap_ascii(' ', &u, &shift) && u == 0x2c);
	assert_true(keymap_ascii('"', &u, &shift) && u == 0x34 && shift);
	assert_true(keymap_ascii('~', &u, &shift) && u == 0x35 && shift);
	assert_true(keymap_ascii('/', &u, &shift) && u == 0x38 && !shift);
	assert_true(keymap_ascii('|', &u, &shift) && u == 0x31 && shift);
	assert_false(keymap_ascii('\x01', &u, &shift));
	assert_false(keymap_ascii((char)0xe9, &u, &shift));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_keys),
		cmocka_unit_test(codes_distinct),
		cmocka_unit_test(ascii),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
