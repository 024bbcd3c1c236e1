/*
 * fugu — the 8259A interrupt controller pair, as on the PC/AT: the master at
 * 0x20/0x21 delivers vectors to the CPU, the slave at 0xA0/0xA1 is cascaded on
 * the master's IR2. References are to the Intel 8259A datasheet (order number
 * 231468) and, for the ELCR, the Intel 82371AB PIIX4 datasheet, 4.1.2.
 *
 * Edge-triggered requests are latched in IRR by a rising edge and stay there
 * until acknowledged (as QEMU and most emulators do): the datasheet asks the IR
 * line to stay high until the first INTA, which an emulated CPU running in
 * slices cannot guarantee, so a request is not dropped when its line falls.
 * A request that disappears before INTA (a masked or level-triggered one)
 * still produces the spurious IR7 the datasheet describes.
 */
#include "chipset/pic.h"
#include "chipset/state.h"

#include <string.h>

#include "mmu/ioport.h"

/*
 * The effective IRR of one chip: latched edges plus the current level of the
 * level-triggered inputs (8259A "Level triggered mode"; ELCR or ICW1 LTIM).
 */
static uint8_t
chip_irr(const struct pic_chip *c)
{
	uint8_t level = c->ltim ? 0xff : c->elcr;
	return (uint8_t)((c->irr & ~level) | (c->lines & level));
}

/*
 * The priority of IR `irq` on chip c: 0 is the highest. The highest level is
 * the one after lowest_prio (8259A "Rotation").
 */
static unsigned
prio(const struct pic_chip *c, unsigned irq)
{
	return (irq - c->lowest_prio - 1) & 7;
}

/*
 * The highest-priority set bit of `bits` on chip c; returns 8 when none.
 */
static unsigned
highest(const struct pic_chip *c, uint8_t bits)
{
	for (unsigned p = 0; p < 8; p++) {
		unsigned irq = (c->lowest_prio + 1 + p) & 7;
		if (bits & (1u << irq))
			return irq;
	}
	return 8;
}

/*
 * The IR chip c would interrupt with now, or -1: the highest unmasked request
 * of higher priority than everything in service (8259A "Fully nested mode").
 * In special mask mode a masked in-service level does not block lower ones
 * ("Special mask mode"); in special fully nested mode the master's cascade
 * input is not blocked by its own in-service bit ("Special fully nested mode").
 */
static int
chip_pending(const struct pic_chip *c, bool is_master)
{
	uint8_t req = chip_irr(c) & ~c->imr;
	unsigned r = highest(c, req);
	if (r == 8)
		return -1;
	uint8_t isr = c->isr;
	if (c->special_mask)
		isr &= ~c->imr;
	if (is_master && c->sfnm)
		isr &= ~(1u << 2);
	unsigned s = highest(c, isr);
	if (s != 8 && prio(c, s) <= prio(c, r))
		return -1;
	return (int)r;
}

/*
 * Whether the master routes IR2 to the slave (ICW1 SNGL=0 and ICW3 says so).
 */
static bool
cascaded(const struct pic *pic)
{
	const struct pic_chip *m = &pic->st.chip[0];
	return !m->single && (m->icw3 & (1u << 2));
}

/*
 * Set one input line of a chip, latching a rising edge into IRR.
 */
static void
chip_set_line(struct pic_chip *c, unsigned irq, bool level)
{
	uint8_t bit = (uint8_t)(1u << irq);
	if (level) {
		if (!(c->lines & bit))
			c->irr |= bit;
		c->lines |= bit;
	} else {
		c->lines &= (uint8_t)~bit;
	}
}

/*
 * Propagate the slave's INT output to the master's IR2 and the master's INT
 * output to the board (the CPU's INTR pin). The cascade input follows the
 * slave's INT level, so a second slave request pending at acknowledge time is
 * not lost for want of a new edge.
 */
static void
update(struct pic *pic)
{
	struct pic_chip *m = &pic->st.chip[0];
	bool slave_int = chip_pending(&pic->st.chip[1], false) >= 0;
	chip_set_line(m, 2, slave_int);
	if (slave_int)
		m->irr |= 1u << 2;
	else
		m->irr &= (uint8_t) ~(1u << 2);
	bool intr = chip_pending(&pic->st.chip[0], true) >= 0;
	if (intr != pic->intr) {
		pic->intr = intr;
		irq_set(&pic->intr_out, intr);
	}
}

void
pic_set_irq(struct pic *pic, unsigned irq, bool level)
{
	chip_set_line(&pic->st.chip[irq >> 3], irq & 7, level);
	update(pic);
}

/*
 * First INTA on chip c for IR `irq`: set its ISR bit (or, in automatic EOI,
 * leave it clear and rotate if asked) and clear the edge latch (8259A
 * "Interrupt sequence", "Automatic end of interrupt mode").
 */
static void
chip_ack(struct pic_chip *c, unsigned irq)
{
	c->irr &= (uint8_t) ~(1u << irq);
	if (c->auto_eoi) {
		if (c->rotate_on_aeoi)
			c->lowest_prio = (uint8_t)irq;
	} else {
		c->isr |= (uint8_t)(1u << irq);
	}
}

/* Tell the board that edge latches were cleared (struct pic). */
static void
latches_cleared(struct pic *pic)
{
	if (pic->latches_cleared)
		pic->latches_cleared(pic->latches_opaque);
}

bool
pic_edge_latched(const struct pic *pic, unsigned irq)
{
	const struct pic_chip *c = &pic->st.chip[(irq >> 3) & 1];
	uint8_t bit = (uint8_t)(1u << (irq & 7));
	uint8_t level = c->ltim ? 0xff : c->elcr;
	return !(level & bit) && (c->irr & bit);
}

/*
 * Acknowledge on the slave after the master acknowledged its IR2: the slave's
 * vector, or its spurious IR7 when the request vanished.
 */
static int
slave_ack(struct pic *pic)
{
	struct pic_chip *s = &pic->st.chip[1];
	int irq = chip_pending(s, false);
	if (irq < 0)
		return s->vector_base | 7;
	chip_ack(s, (unsigned)irq);
	return s->vector_base | irq;
}

int
pic_intr_ack(void *opaque)
{
	struct pic *pic = opaque;
	struct pic_chip *m = &pic->st.chip[0];
	int vector;
	int irq = chip_pending(m, true);
	if (irq < 0) {
		/* No request left at INTA: the master answers with IR7, ISR untouched. */
		vector = m->vector_base | 7;
	} else {
		chip_ack(m, (unsigned)irq);
		if (irq == 2 && cascaded(pic))
			vector = slave_ack(pic);
		else
			vector = m->vector_base | irq;
	}
	update(pic);
	latches_cleared(pic);
	return vector;
}

/*
 * Poll command (8259A "The poll command"): the read acts as an INTA and
 * returns I (bit 7) and the level W2-W0 of the highest request.
 */
static uint8_t
chip_poll(struct pic *pic, unsigned n)
{
	struct pic_chip *c = &pic->st.chip[n];
	c->poll = false;
	int irq = chip_pending(c, n == 0);
	if (irq < 0)
		return 0;
	chip_ack(c, (unsigned)irq);
	update(pic);
	latches_cleared(pic);
	return (uint8_t)(0x80 | irq);
}

/*
 * ICW1 (8259A "Initialization command words"): starts the sequence, clears the
 * edge latches and IMR, makes IR7 lowest priority, clears special mask mode,
 * selects IRR for reads and, without IC4, zeroes the ICW4 functions.
 */
static void
chip_icw1(struct pic_chip *c, uint8_t v)
{
	c->icw4_needed = v & 0x01;
	c->single = v & 0x02;
	c->ltim = v & 0x08;
	c->irr = 0;
	c->isr = 0;
	c->imr = 0;
	c->lowest_prio = 7;
	c->special_mask = false;
	c->read_isr = false;
	c->poll = false;
	c->rotate_on_aeoi = false;
	if (!c->icw4_needed) {
		c->icw4 = 0;
		c->auto_eoi = false;
		c->sfnm = false;
	}
	c->init_step = 2;
}

/*
 * OCW2 (8259A table "Operation command word 2"): EOI and rotation commands.
 */
static void
chip_ocw2(struct pic_chip *c, uint8_t v)
{
	unsigned level = v & 7;
	switch (v >> 5) {
	case 0: /* rotate in automatic EOI mode (clear) */ c->rotate_on_aeoi = false; break;
	case 4: /* rotate in automatic EOI mode (set) */ c->rotate_on_aeoi = true; break;
	case 1:   /* non-specific EOI: the highest-priority in-service level */
	case 5: { /* rotate on non-specific EOI: that level becomes lowest */
		unsigned irq = highest(c, c->isr);
		if (irq == 8)
			break;
		c->isr &= (uint8_t) ~(1u << irq);
		if (v >> 5 == 5)
			c->lowest_prio = (uint8_t)irq;
		break;
	}
	case 3: /* specific EOI */ c->isr &= (uint8_t) ~(1u << level); break;
	case 7: /* rotate on specific EOI */
		c->isr &= (uint8_t) ~(1u << level);
		c->lowest_prio = (uint8_t)level;
		break;
	case 6: /* set priority: `level` becomes the lowest */
		c->lowest_prio = (uint8_t)level;
		break;
	default: /* 2: no operation */ break;
	}
}

/*
 * OCW3: special mask mode (ESMM/SMM), poll (P), register read select (RR/RIS).
 */
static void
chip_ocw3(struct pic_chip *c, uint8_t v)
{
	if (v & 0x40)
		c->special_mask = v & 0x20;
	if (v & 0x04)
		c->poll = true;
	if (v & 0x02)
		c->read_isr = v & 0x01;
}

/*
 * A write to A0=1: the next ICW while initializing, OCW1 (IMR) otherwise.
 */
static void
chip_write_data(struct pic_chip *c, uint8_t v)
{
	switch (c->init_step) {
	case 2:
		c->vector_base = v & 0xf8;
		c->init_step = c->single ? (c->icw4_needed ? 4 : 0) : 3;
		break;
	case 3:
		c->icw3 = v;
		c->init_step = c->icw4_needed ? 4 : 0;
		break;
	case 4:
		c->icw4 = v;
		c->auto_eoi = v & 0x02;
		c->sfnm = v & 0x10;
		c->init_step = 0;
		break;
	default: c->imr = v; break;
	}
}

static uint32_t
pic_read(void *opaque, uint16_t port, unsigned size)
{
	struct pic *pic = opaque;
	unsigned n = (port & 0x80) ? 1 : 0;
	struct pic_chip *c = &pic->st.chip[n];
	(void)size;
	if (port & 1)
		return c->imr;
	if (c->poll)
		return chip_poll(pic, n);
	return c->read_isr ? c->isr : chip_irr(c);
}

static void
pic_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct pic *pic = opaque;
	struct pic_chip *c = &pic->st.chip[(port & 0x80) ? 1 : 0];
	uint8_t v = (uint8_t)value;
	(void)size;
	if (port & 1)
		chip_write_data(c, v);
	else if (v & 0x10)
		chip_icw1(c, v);
	else if (v & 0x08)
		chip_ocw3(c, v);
	else
		chip_ocw2(c, v);
	update(pic);
	latches_cleared(pic); /* ICW1 clears them and may change the trigger mode */
}

/*
 * ELCR (PIIX4 4.1.2): one bit per IRQ, 1 = level. IRQ0, 1, 2, 8 and 13 are
 * reserved as edge-triggered and read as 0.
 */
static uint32_t
elcr_read(void *opaque, uint16_t port, unsigned size)
{
	struct pic *pic = opaque;
	(void)size;
	return pic->st.chip[port & 1].elcr;
}

static void
elcr_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct pic *pic = opaque;
	struct pic_chip *c = &pic->st.chip[port & 1];
	(void)size;
	c->elcr = (uint8_t)value & c->elcr_mask;
	update(pic);
}

uint8_t
pic_read_irr(const struct pic *pic, unsigned chip)
{
	return chip_irr(&pic->st.chip[chip & 1]);
}

int
pic_init(struct pic *pic, struct ioports *io, struct irq_line intr)
{
	memset(pic, 0, sizeof(*pic));
	pic->intr_out = intr;
	pic_reset(pic);
	if (ioports_register(io, 0x20, 2, "pic-master", pic_read, pic_write, pic, 0) ||
	    ioports_register(io, 0xa0, 2, "pic-slave", pic_read, pic_write, pic, 0) ||
	    ioports_register(io, 0x4d0, 2, "elcr", elcr_read, elcr_write, pic, 0))
		return -1;
	return 0;
}

/*
 * Power-on state: uninitialized chips, everything masked off by software's
 * ICW1 later; the input lines keep their levels (they belong to the devices).
 */
void
pic_reset(struct pic *pic)
{
	for (unsigned n = 0; n < 2; n++) {
		struct pic_chip *c = &pic->st.chip[n];
		uint8_t lines = c->lines;
		*c = (struct pic_chip){ .lines = lines, .lowest_prio = 7 };
		c->elcr_mask = n ? 0xde : 0xf8;
	}
	update(pic);
	latches_cleared(pic);
}

size_t
pic_save(const struct pic *pic, void *buf, size_t len)
{
	return state_save(&pic->st, sizeof(pic->st), buf, len);
}

/* The bools of struct pic_state (chipset/state.h): nine per 8259. */
#define CHIP_BOOLS(n)                                                                              \
	offsetof(struct pic_state, chip[n].icw4_needed),                                           \
		offsetof(struct pic_state, chip[n].single),                                        \
		offsetof(struct pic_state, chip[n].ltim),                                          \
		offsetof(struct pic_state, chip[n].auto_eoi),                                      \
		offsetof(struct pic_state, chip[n].sfnm),                                          \
		offsetof(struct pic_state, chip[n].rotate_on_aeoi),                                \
		offsetof(struct pic_state, chip[n].read_isr),                                      \
		offsetof(struct pic_state, chip[n].poll),                                          \
		offsetof(struct pic_state, chip[n].special_mask)
static const size_t STATE_KEEP pic_bools[] = { CHIP_BOOLS(0), CHIP_BOOLS(1) };

/* The limits of struct pic_state (chipset/state.h): the initialization
 * sequence's next ICW (operational, or ICW2-ICW4: 8259A "Initialization
 * command words"), the lowest-priority IR of the rotation (0-7), and ICW2's
 * T7-T3 (the low three bits of the vector are the IR). */
#define CHIP_LIMITS(n)                                                                             \
	STATE_ONE_OF(struct pic_state, chip[n].init_step, 1u << 0 | 1u << 2 | 1u << 3 | 1u << 4),  \
		STATE_MAX(struct pic_state, chip[n].lowest_prio, 7),                               \
		STATE_MASK(struct pic_state, chip[n].vector_base, 0xf8)
static const struct state_limit pic_limits[] = { CHIP_LIMITS(0), CHIP_LIMITS(1) };

int
pic_check(const struct pic *pic, const void *buf, size_t len, char *err, size_t errlen)
{
	(void)pic;
	return state_check(buf, len, STATE_LIMITS(pic_limits), "", err, errlen);
}

int
pic_restore(struct pic *pic, const void *buf, size_t len)
{
	if (state_restore(&pic->st, sizeof(pic->st), buf, len, STATE_BOOLS(pic_bools),
			  STATE_LIMITS(pic_limits)) < 0)
		return -1;
	update(pic);
	latches_cleared(pic);
	return 0;
}
