/*
 * Unit tests: the 8042 with its PS/2 keyboard and mouse (chipset/kbc.c),
 * through ports 0x60/0x64. "8042" and "PS/2" refer to the IBM PS/2 Hardware
 * Interface Technical Reference sections cited in kbc.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "mmu/ioport.h"
#include "chipset/kbc.h"

struct fixture {
	struct ioports *io;
	struct kbc kbc;
	bool irq1, irq12, a20;
	int irq1_rises, resets;
};

static void
set_irq1(void *opaque, int n, int level)
{
	(void)n;
	struct fixture *f = opaque;
	if (level && !f->irq1)
		f->irq1_rises++;
	f->irq1 = level;
}

static void
set_irq12(void *opaque, int n, int level)
{
	(void)n;
	((struct fixture *)opaque)->irq12 = level;
}

static void
set_a20(void *opaque, int n, int enabled)
{
	(void)n;
	((struct fixture *)opaque)->a20 = enabled;
}

static void
reset(void *opaque, int n, int level)
{
	(void)n;
	if (level) /* a pulse */
		((struct fixture *)opaque)->resets++;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct kbc_board b = { .irq1 = IRQ_LINE(set_irq1, f, 1),
			       .irq12 = IRQ_LINE(set_irq12, f, 12),
			       .a20 = IRQ_LINE(set_a20, f, 0),
			       .reset = IRQ_LINE(reset, f, 0) };
	f->io = ioports_create();
	assert_int_equal(kbc_init(&f->kbc, f->io, &b), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	ioports_destroy(f->io);
	free(f);
	return 0;
}

static uint8_t
status(struct fixture *f)
{
	return (uint8_t)ioport_read(f->io, 0x64, 1);
}

static void
cmd(struct fixture *f, uint8_t c)
{
	ioport_write(f->io, 0x64, c, 1);
}

static void
data(struct fixture *f, uint8_t v)
{
	ioport_write(f->io, 0x60, v, 1);
}

/* Read the output buffer, asserting it was full and from keyboard or aux. */
static uint8_t
next(struct fixture *f, bool aux)
{
	uint8_t s = status(f);
	assert_true(s & KBC_STS_OBF);
	assert_int_equal(!!(s & KBC_STS_AUXB), aux);
	return (uint8_t)ioport_read(f->io, 0x60, 1);
}

static void
empty(struct fixture *f)
{
	assert_int_equal(status(f) & KBC_STS_OBF, 0);
}

/* 8042 command AAh: self test passes with 55h and sets the system flag;
 * ABh/A9h interface tests answer 00h. */
static void
self_test(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(status(f) & (KBC_STS_SYS | KBC_STS_OBF | KBC_STS_IBF), 0);
	cmd(f, 0xaa);
	assert_true(status(f) & KBC_STS_A2);
	assert_int_equal(next(f, false), 0x55);
	assert_true(status(f) & KBC_STS_SYS);
	cmd(f, 0xab);
	assert_int_equal(next(f, false), 0x00);
	cmd(f, 0xa9);
	assert_int_equal(next(f, false), 0x00);
	empty(f);
}

/* 8042 20h/60h: the command byte reads back; its SYS bit is the status flag;
 * AD/AE and A7/A8 flip the disable bits. */
static void
command_byte(void **state)
{
	struct fixture *f = *state;
	cmd(f, 0x60);
	data(f, 0x45);
	assert_false(status(f) & KBC_STS_A2);
	cmd(f, 0x20);
	assert_int_equal(next(f, false), 0x45);
	assert_true(status(f) & KBC_STS_SYS);
	cmd(f, 0xad);
	cmd(f, 0xa7);
	cmd(f, 0x20);
	assert_int_equal(next(f, false), 0x75);
	cmd(f, 0xae);
	cmd(f, 0xa8);
	cmd(f, 0x20);
	assert_int_equal(next(f, false), 0x45);
}

/* 8042 D0h/D1h: output port bit 1 is the A20 gate, bit 0 low resets the
 * system; FEh pulses the reset line; F0h-FFh with bit 0 set do not. */
static void
output_port(void **state)
{
	struct fixture *f = *state;
	assert_true(f->a20);
	cmd(f, 0xd0);
	assert_int_equal(next(f, false) & 3, 3);
	cmd(f, 0xd1);
	data(f, 0xdd); /* A20 off, reset inactive */
	assert_false(f->a20);
	assert_int_equal(f->resets, 0);
	cmd(f, 0xd0);
	assert_int_equal(next(f, false) & 3, 1);
	cmd(f, 0xd1);
	data(f, 0xdf);
	assert_true(f->a20);
	cmd(f, 0xff); /* pulse nothing */
	assert_int_equal(f->resets, 0);
	cmd(f, 0xfe);
	assert_int_equal(f->resets, 1);
	cmd(f, 0xd1);
	data(f, 0xde);
	assert_int_equal(f->resets, 2);
}

/* PS/2 keyboard: FFh → FAh AAh; EEh → EEh; F2h → FAh ABh 83h (ABh 41h
 * through translation); EDh takes a parameter, each byte acknowledged. */
static void
keyboard_commands(void **state)
{
	struct fixture *f = *state;
	data(f, 0xff);
	assert_int_equal(next(f, false), 0xfa);
	assert_int_equal(next(f, false), 0xaa);
	data(f, 0xee);
	assert_int_equal(next(f, false), 0xee);
	data(f, 0xf2);
	assert_int_equal(next(f, false), 0xfa);
	assert_int_equal(next(f, false), 0xab);
	assert_int_equal(next(f, false), 0x83);
	cmd(f, 0x60);
	data(f, KBC_CMD_XLAT | KBC_CMD_INT);
	data(f, 0xf2);
	assert_int_equal(next(f, false), 0xfa);
	assert_int_equal(next(f, false), 0xab);
	assert_int_equal(next(f, false), 0x41);
	data(f, 0xed);
	assert_int_equal(next(f, false), 0xfa);
	data(f, 0x07);
	assert_int_equal(next(f, false), 0xfa);
	assert_int_equal(f->kbc.st.kbd.leds, 7);
	data(f, 0xf0); /* scan code set: query */
	assert_int_equal(next(f, false), 0xfa);
	data(f, 0x00);
	assert_int_equal(next(f, false), 0xfa);
	assert_int_equal(next(f, false), 0x41); /* set 2, as translated */
	data(f, 0x12);                          /* not a command */
	assert_int_equal(next(f, false), 0xfe);
	empty(f);
}

/* Scan codes: set 2 as sent without XLAT; with XLAT, a make code is
 * translated and "F0 code" becomes the set-1 break (code | 80h). */
static void
translation(void **state)
{
	struct fixture *f = *state;
	static const uint8_t a_make[] = { 0x1c }, a_break[] = { 0xf0, 0x1c };
	static const uint8_t up_break[] = { 0xe0, 0xf0, 0x75 };
	cmd(f, 0x60);
	data(f, KBC_CMD_INT);
	kbc_kbd_input(&f->kbc, a_make, 1);
	kbc_kbd_input(&f->kbc, a_break, 2);
	assert_int_equal(next(f, false), 0x1c);
	assert_int_equal(next(f, false), 0xf0);
	assert_int_equal(next(f, false), 0x1c);
	cmd(f, 0x60);
	data(f, KBC_CMD_INT | KBC_CMD_XLAT);
	kbc_kbd_input(&f->kbc, a_make, 1);
	kbc_kbd_input(&f->kbc, a_break, 2);
	kbc_kbd_input(&f->kbc, up_break, 3);
	assert_int_equal(next(f, false), 0x1e);
	assert_int_equal(next(f, false), 0x9e);
	assert_int_equal(next(f, false), 0xe0);
	assert_int_equal(next(f, false), 0xc8);
	empty(f);
	assert_int_equal(kbc_translate(0x76), 0x01); /* Esc */
	assert_int_equal(kbc_translate(0x83), 0x41); /* F7 */
}

/* IRQ1 follows OBF for keyboard data only while the command byte's INT bit
 * is set; a disabled keyboard interface holds the data back. */
static void
irq1_and_disable(void **state)
{
	struct fixture *f = *state;
	static const uint8_t key[] = { 0x1c };
	cmd(f, 0x60);
	data(f, 0x00);
	kbc_kbd_input(&f->kbc, key, 1);
	assert_false(f->irq1);
	assert_int_equal(next(f, false), 0x1c);
	cmd(f, 0x60);
	data(f, KBC_CMD_INT | KBC_CMD_DKBD);
	kbc_kbd_input(&f->kbc, key, 1);
	empty(f);
	assert_false(f->irq1);
	cmd(f, 0xae);
	assert_true(f->irq1);
	assert_int_equal(next(f, false), 0x1c);
	assert_false(f->irq1);
	data(f, 0xf5); /* disable scanning: keys are not reported */
	assert_int_equal(next(f, false), 0xfa);
	kbc_kbd_input(&f->kbc, key, 1);
	empty(f);
}

/* PS/2 mouse through D4h: reset answers FAh AAh 00h on the aux side with
 * AUXB and IRQ12; F4h enables stream reports of three bytes; E9h status. */
static void
mouse(void **state)
{
	struct fixture *f = *state;
	cmd(f, 0xd4);
	data(f, 0xff);
	assert_true(f->irq12);
	assert_int_equal(next(f, true), 0xfa);
	assert_int_equal(next(f, true), 0xaa);
	assert_int_equal(next(f, true), 0x00);
	assert_false(f->irq12);
	kbc_mouse_input(&f->kbc, 5, 5, 0, 1); /* reporting off: nothing */
	empty(f);
	cmd(f, 0xd4);
	data(f, 0xf3);
	assert_int_equal(next(f, true), 0xfa);
	cmd(f, 0xd4);
	data(f, 40);
	assert_int_equal(next(f, true), 0xfa);
	cmd(f, 0xd4);
	data(f, 0xf4);
	assert_int_equal(next(f, true), 0xfa);
	kbc_mouse_input(&f->kbc, 10, -3, 0, 1);
	assert_int_equal(next(f, true), 0x29); /* bit 3, left button, Y negative */
	assert_int_equal(next(f, true), 10);
	assert_int_equal(next(f, true), 0xfd);
	kbc_mouse_input(&f->kbc, 300, 0, 0, 0);
	assert_int_equal(next(f, true), 0x48); /* X overflow */
	assert_int_equal(next(f, true), 0xff);
	assert_int_equal(next(f, true), 0x00);
	cmd(f, 0xd4);
	data(f, 0xe9);
	assert_int_equal(next(f, true), 0xfa);
	assert_int_equal(next(f, true), 0x20); /* stream, enabled, 1:1, no buttons */
	assert_int_equal(next(f, true), 2);
	assert_int_equal(next(f, true), 40);
	cmd(f, 0xd4);
	data(f, 0xf2);
	assert_int_equal(next(f, true), 0xfa);
	assert_int_equal(next(f, true), 0x00);
	/* IRQ12 only with the command byte's INT2 bit. */
	cmd(f, 0x60);
	data(f, 0x00);
	kbc_mouse_input(&f->kbc, 1, 1, 0, 0);
	assert_false(f->irq12);
	assert_int_equal(next(f, true), 0x08);
	next(f, true);
	next(f, true);
	empty(f);
}

/* Save/restore round trip: the command byte and queued bytes come back. */
static void
save_restore(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[512];
	data(f, 0xff);
	size_t n = kbc_save(&f->kbc, buf, sizeof(buf));
	assert_true(n <= sizeof(buf));
	kbc_reset(&f->kbc);
	empty(f);
	assert_int_equal(kbc_restore(&f->kbc, buf, n), 0);
	assert_int_equal(next(f, false), 0xfa);
	assert_int_equal(next(f, false), 0xaa);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(self_test, setup, teardown),
		cmocka_unit_test_setup_teardown(command_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(output_port, setup, teardown),
		cmocka_unit_test_setup_teardown(keyboard_commands, setup, teardown),
		cmocka_unit_test_setup_teardown(translation, setup, teardown),
		cmocka_unit_test_setup_teardown(irq1_and_disable, setup, teardown),
		cmocka_unit_test_setup_teardown(mouse, setup, teardown),
		cmocka_unit_test_setup_teardown(save_restore, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
