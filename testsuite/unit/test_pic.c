/*
 * Unit tests: the 8259A pair and ELCR (chipset/pic.c), driven through their
 * ports as a guest would. Section names refer to the Intel 8259A datasheet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "mmu/ioport.h"
#include "chipset/pic.h"

struct fixture {
	struct ioports *io;
	struct pic pic;
	bool intr;
	int edges;
};

static void
set_intr(void *opaque, int n, int level)
{
	(void)n;
	struct fixture *f = opaque;
	if (level && !f->intr)
		f->edges++;
	f->intr = level;
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

/* The PC/AT initialization: master vectors 0x08, slave 0x70, cascade on IR2. */
static void
init_pc(struct fixture *f, uint8_t icw4)
{
	outb(f, 0x20, 0x11);
	outb(f, 0x21, 0x08);
	outb(f, 0x21, 0x04);
	outb(f, 0x21, icw4);
	outb(f, 0xa0, 0x11);
	outb(f, 0xa1, 0x70);
	outb(f, 0xa1, 0x02);
	outb(f, 0xa1, icw4);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->io = ioports_create();
	assert_int_equal(pic_init(&f->pic, f->io, IRQ_LINE(set_intr, f, 0)), 0);
	init_pc(f, 0x01);
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

/* ICW1-ICW4 then OCW1: IMR reads back; a request gives ICW2's base + IR. */
static void
init_and_vectors(void **state)
{
	struct fixture *f = *state;
	outb(f, 0x21, 0xa5);
	assert_int_equal(inb(f, 0x21), 0xa5);
	outb(f, 0x21, 0x00);
	assert_false(f->intr);
	pic_set_irq(&f->pic, 3, true);
	assert_true(f->intr);
	assert_int_equal(pic_intr_ack(&f->pic), 0x0b);
	assert_false(f->intr);
	/* ICW1 clears IMR ("Initialization command words"). */
	outb(f, 0x21, 0xff);
	init_pc(f, 0x01);
	assert_int_equal(inb(f, 0x21), 0x00);
}

/* OCW1: a masked request stays in IRR but does not raise INTR. */
static void
mask_blocks_request(void **state)
{
	struct fixture *f = *state;
	outb(f, 0x21, 0x10);
	pic_set_irq(&f->pic, 4, true);
	assert_false(f->intr);
	assert_int_equal(inb(f, 0x20) & 0x10, 0x10); /* IRR is the default read */
	outb(f, 0x21, 0x00);
	assert_true(f->intr);
	assert_int_equal(pic_intr_ack(&f->pic), 0x0c);
}

/* Fully nested mode: IR3 before IR5; IR5 waits until IR3's EOI; OCW3 reads ISR. */
static void
fully_nested_and_eoi(void **state)
{
	struct fixture *f = *state;
	outb(f, 0x21, 0x00);
	pic_set_irq(&f->pic, 5, true);
	pic_set_irq(&f->pic, 3, true);
	assert_int_equal(pic_intr_ack(&f->pic), 0x0b);
	outb(f, 0x20, 0x0b); /* OCW3: read ISR */
	assert_int_equal(inb(f, 0x20), 0x08);
	assert_false(f->intr); /* IR5 is lower than the in-service IR3 */
	/* A higher level still interrupts ("Fully nested mode"). */
	pic_set_irq(&f->pic, 1, true);
	assert_true(f->intr);
	assert_int_equal(pic_intr_ack(&f->pic), 0x09);
	assert_int_equal(inb(f, 0x20), 0x0a);
	outb(f, 0x20, 0x20); /* non-specific EOI: the highest, IR1 */
	assert_int_equal(inb(f, 0x20), 0x08);
	outb(f, 0x20, 0x63); /* specific EOI for IR3 */
	assert_int_equal(inb(f, 0x20), 0x00);
	assert_true(f->intr);
	assert_int_equal(pic_intr_ack(&f->pic), 0x0d);
	outb(f, 0x20, 0x0a); /* OCW3: back to IRR */
	assert_int_equal(inb(f, 0x20) & 0x28, 0x00);
}

/* Cascade: IRQ10 goes through master IR2; both ISRs are set; both need EOI. */
static void
cascade_slave(void **state)
{
	struct fixture *f = *state;
	outb(f, 0x21, 0x00);
	outb(f, 0xa1, 0x00);
	pic_set_irq(&f->pic, 10, true);
	assert_true(f->intr);
	assert_int_equal(pic_intr_ack(&f->pic), 0x72);
	outb(f, 0x20, 0x0b);
	outb(f, 0xa0, 0x0b);
	assert_int_equal(inb(f, 0x20), 0x04);
	assert_int_equal(inb(f, 0xa0), 0x04);
	pic_set_irq(&f->pic, 9, true); /* a higher slave level: blocked by master IS2 */
	assert_false(f->intr);
	outb(f, 0xa0, 0x20);
	outb(f, 0x20, 0x20);
	assert_true(f->intr);
	assert_int_equal(pic_intr_ack(&f->pic), 0x71);
}

/* Edge mode latches the rising edge; level mode (ELCR) follows the line. */
static void
edge_and_level(void **state)
{
	struct fixture *f = *state;
	outb(f, 0x21, 0x00);
	outb(f, 0xa1, 0x00);
	pic_set_irq(&f->pic, 4, true);
	pic_set_irq(&f->pic, 4, false);
	assert_true(f->intr); /* latched */
	assert_int_equal(pic_intr_ack(&f->pic), 0x0c);
	outb(f, 0x20, 0x20);
	pic_set_irq(&f->pic, 4, true);
	pic_set_irq(&f->pic, 4, true); /* no new edge */
	assert_int_equal(pic_intr_ack(&f->pic), 0x0c);
	outb(f, 0x20, 0x20);
	assert_false(f->intr);
	pic_set_irq(&f->pic, 4, false);
	/* ELCR: IRQ0-2 (master) and IRQ8, IRQ13 (slave) are reserved, read 0 (PIIX4 4.1.2). */
	outb(f, 0x4d0, 0xff);
	outb(f, 0x4d1, 0xff);
	assert_int_equal(inb(f, 0x4d0), 0xf8);
	assert_int_equal(inb(f, 0x4d1), 0xde);
	pic_set_irq(&f->pic, 11, true);
	assert_true(f->intr);
	assert_int_equal(pic_read_irr(&f->pic, 1), 0x08);
	pic_set_irq(&f->pic, 11, false);
	assert_int_equal(pic_read_irr(&f->pic, 1), 0x00);
	assert_false(f->intr);
	/* Level: still requested after the acknowledge while the line is high. */
	pic_set_irq(&f->pic, 11, true);
	assert_int_equal(pic_intr_ack(&f->pic), 0x73);
	assert_int_equal(pic_read_irr(&f->pic, 1), 0x08);
}

/* A request that vanishes before INTA gives the spurious IR7 (master) or IR15. */
static void
spurious_irq(void **state)
{
	struct fixture *f = *state;
	outb(f, 0x21, 0x00);
	outb(f, 0xa1, 0x00);
	outb(f, 0x4d0, 0x20); /* IRQ5 level */
	pic_set_irq(&f->pic, 5, true);
	assert_true(f->intr);
	pic_set_irq(&f->pic, 5, false);
	assert_int_equal(pic_intr_ack(&f->pic), 0x0f);
	outb(f, 0x20, 0x0b);
	assert_int_equal(inb(f, 0x20), 0x00); /* no ISR bit for a spurious IR7 */
	/* Slave: masked after INTR rose; the master acknowledges IR2, the slave IR7. */
	pic_set_irq(&f->pic, 12, true);
	assert_true(f->intr);
	outb(f, 0xa1, 0x10);
	pic_set_irq(&f->pic, 12, false);
	/* The CPU's INTA raced the mask: the master still holds the cascade request. */
	f->pic.st.chip[0].irr |= 4;
	assert_int_equal(pic_intr_ack(&f->pic), 0x77);
	assert_int_equal(inb(f, 0x20), 0x04);
	outb(f, 0xa0, 0x0b);
	assert_int_equal(inb(f, 0xa0), 0x00);
}

/* ICW4 AEOI: the ISR bit is never set ("Automatic end of interrupt mode"). */
static void
automatic_eoi(void **state)
{
	struct fixture *f = *state;
	init_pc(f, 0x03);
	pic_set_irq(&f->pic, 6, true);
	assert_int_equal(pic_intr_ack(&f->pic), 0x0e);
	outb(f, 0x20, 0x0b);
	assert_int_equal(inb(f, 0x20), 0x00);
	pic_set_irq(&f->pic, 7, true); /* lower level not blocked: nothing in service */
	assert_true(f->intr);
	/* Rotate in AEOI mode (OCW2 0x80): the acknowledged level becomes lowest. */
	outb(f, 0x20, 0x80);
	pic_set_irq(&f->pic, 1, true);
	assert_int_equal(pic_intr_ack(&f->pic), 0x09);
	pic_set_irq(&f->pic, 1, false);
	pic_set_irq(&f->pic, 1, true);
	assert_int_equal(pic_intr_ack(&f->pic), 0x0f); /* IR7 now outranks IR1 */
}

/* Rotate on non-specific EOI: the level just served drops to lowest priority. */
static void
rotate_on_eoi(void **state)
{
	struct fixture *f = *state;
	outb(f, 0x21, 0x00);
	pic_set_irq(&f->pic, 3, true);
	assert_int_equal(pic_intr_ack(&f->pic), 0x0b);
	outb(f, 0x20, 0xa0);
	pic_set_irq(&f->pic, 3, false);
	pic_set_irq(&f->pic, 3, true);
	pic_set_irq(&f->pic, 6, true);
	pic_set_irq(&f->pic, 1, true);
	assert_int_equal(pic_intr_ack(&f->pic), 0x0e); /* order now 4,5,6,7,0,1,2,3 */
	outb(f, 0x20, 0x20);
	assert_int_equal(pic_intr_ack(&f->pic), 0x09);
	outb(f, 0x20, 0xe1);                           /* rotate on specific EOI for IR1 */
	assert_int_equal(pic_intr_ack(&f->pic), 0x0b); /* IR2-... then IR3 */
}

/* Set priority (OCW2 0xC0|L): L becomes lowest, L+1 highest. */
static void
set_priority(void **state)
{
	struct fixture *f = *state;
	outb(f, 0x21, 0x00);
	outb(f, 0x20, 0xc5);
	pic_set_irq(&f->pic, 1, true);
	pic_set_irq(&f->pic, 6, true);
	assert_int_equal(pic_intr_ack(&f->pic), 0x0e);
	outb(f, 0x20, 0x20);
	assert_int_equal(pic_intr_ack(&f->pic), 0x09);
}

/* Special mask mode: masking the in-service level lets lower levels in. */
static void
special_mask_mode(void **state)
{
	struct fixture *f = *state;
	outb(f, 0x21, 0x00);
	pic_set_irq(&f->pic, 3, true);
	assert_int_equal(pic_intr_ack(&f->pic), 0x0b);
	pic_set_irq(&f->pic, 5, true);
	assert_false(f->intr);
	outb(f, 0x21, 0x08);   /* mask IR3 ... */
	assert_false(f->intr); /* ... not enough without SMM */
	outb(f, 0x20, 0x68);   /* OCW3: set special mask */
	assert_true(f->intr);
	assert_int_equal(pic_intr_ack(&f->pic), 0x0d);
	outb(f, 0x20, 0x48); /* reset special mask */
	outb(f, 0x20, 0x65);
	outb(f, 0x20, 0x63);
	outb(f, 0x20, 0x0b);
	assert_int_equal(inb(f, 0x20), 0x00);
}

/* Poll command: the read returns I and W2-W0 and acts as INTA. */
static void
poll_mode(void **state)
{
	struct fixture *f = *state;
	outb(f, 0x21, 0x00);
	outb(f, 0x20, 0x0c);
	assert_int_equal(inb(f, 0x20), 0x00); /* nothing requested */
	pic_set_irq(&f->pic, 5, true);
	outb(f, 0x20, 0x0c);
	assert_int_equal(inb(f, 0x20), 0x85);
	outb(f, 0x20, 0x0b);
	assert_int_equal(inb(f, 0x20), 0x20); /* IR5 in service */
	assert_false(f->intr);
}

/* Save, change, restore: the state and the INTR output come back. */
static void
save_restore(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[256];
	outb(f, 0x21, 0x00);
	pic_set_irq(&f->pic, 4, true);
	size_t n = pic_save(&f->pic, buf, sizeof(buf));
	assert_true(n > 0 && n <= sizeof(buf));
	assert_int_equal(pic_intr_ack(&f->pic), 0x0c);
	assert_false(f->intr);
	assert_int_equal(pic_restore(&f->pic, buf, n), 0);
	assert_true(f->intr);
	assert_int_equal(pic_intr_ack(&f->pic), 0x0c);
	assert_int_equal(pic_restore(&f->pic, buf, n - 1), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(init_and_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(mask_blocks_request, setup, teardown),
		cmocka_unit_test_setup_teardown(fully_nested_and_eoi, setup, teardown),
		cmocka_unit_test_setup_teardown(cascade_slave, setup, teardown),
		cmocka_unit_test_setup_teardown(edge_and_level, setup, teardown),
		cmocka_unit_test_setup_teardown(spurious_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(automatic_eoi, setup, teardown),
		cmocka_unit_test_setup_teardown(rotate_on_eoi, setup, teardown),
		cmocka_unit_test_setup_teardown(set_priority, setup, teardown),
		cmocka_unit_test_setup_teardown(special_mask_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(poll_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(save_restore, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
