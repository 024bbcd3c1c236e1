/*
 * fugu — an interrupt (or other level) output of a device: the board sets it
 * to the input it drives, and the device only raises and lowers it. `n` tells
 * one handler which of its inputs this line is (an ISA IRQ number, an A20
 * source bit), so the board needs no per-device adapter.
 */
#ifndef FUGU_IRQ_H
#define FUGU_IRQ_H

#include <stddef.h>

typedef void (*irq_handler)(void *opaque, int n, int level);

struct irq_line {
	irq_handler set; /* NULL: not connected, changes go nowhere */
	void *opaque;
	int n;
};

#define IRQ_LINE(fn, op, num) ((struct irq_line){ .set = (fn), .opaque = (op), .n = (num) })

/* Drive the line to `level` (0 or non-zero). */
static inline void
irq_set(const struct irq_line *l, int level)
{
	if (l->set)
		l->set(l->opaque, l->n, level != 0);
}

static inline void
irq_raise(const struct irq_line *l)
{
	irq_set(l, 1);
}

static inline void
irq_lower(const struct irq_line *l)
{
	irq_set(l, 0);
}

/* A rising edge followed by the return to low. */
static inline void
irq_pulse(const struct irq_line *l)
{
	irq_set(l, 1);
	irq_set(l, 0);
}

#endif
