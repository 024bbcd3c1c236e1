/*
 * fugu — the 8259A programmable interrupt controller pair (master at 0x20/0x21,
 * slave at 0xA0/0xA1 cascaded on the master's IR2) and the PIIX edge/level
 * control registers (ELCR) at 0x4D0/0x4D1.
 */
#ifndef FUGU_PIC_H
#define FUGU_PIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chipset/irq.h"

struct ioports;

/* One 8259A: its architectural state (plain data, saved and restored by copy). */
struct pic_chip {
	uint8_t irr;         /* edge-triggered requests latched by a rising edge */
	uint8_t isr;         /* in-service register */
	uint8_t imr;         /* interrupt mask register (OCW1) */
	uint8_t lines;       /* current level of the eight IR inputs */
	uint8_t elcr;        /* ELCR: 1 = level-triggered input (PIIX 0x4D0/0x4D1) */
	uint8_t elcr_mask;   /* ELCR bits that are writable (the rest are reserved, 0) */
	uint8_t vector_base; /* ICW2 bits 7-3: T7-T3 of the vector */
	uint8_t icw3;        /* ICW3: master: IRs with a slave; slave: its ID */
	uint8_t init_step;   /* 0: operational; 2, 3, 4: the next ICW expected */
	uint8_t lowest_prio; /* IR with the lowest priority (rotation; 7 after ICW1) */
	bool icw4_needed;    /* ICW1 IC4 */
	bool single;         /* ICW1 SNGL: no ICW3, no cascade */
	bool ltim;           /* ICW1 LTIM: every input level-triggered */
	bool auto_eoi;       /* ICW4 AEOI */
	bool sfnm;           /* ICW4 SFNM: special fully nested mode */
	bool rotate_on_aeoi; /* OCW2 R=1 SL=0 EOI=0: rotate in automatic EOI mode */
	bool read_isr;       /* OCW3 RR/RIS: a read at A0=0 returns ISR (else IRR) */
	bool poll;           /* OCW3 P: the next read at A0=0 is a poll */
	bool special_mask;   /* OCW3 ESMM/SMM: special mask mode */
	uint8_t icw4;        /* ICW4 as written (uPM, BUF, M/S kept for completeness) */
};

/* Architectural state of the pair. */
struct pic_state {
	struct pic_chip chip[2]; /* [0] master, [1] slave */
};

struct pic {
	struct pic_state st;      /* everything save/restore copies */
	bool intr;                /* current INTR output level */
	struct irq_line intr_out; /* the board: INTR to the CPU */
	/* The board: edge latches were cleared (INTA, ICW1, restore), so an input
	 * that had nothing new to report may matter again (chipset/pit.c). */
	void (*latches_cleared)(void *opaque);
	void *latches_opaque;
};

/* Claim ports 0x20-0x21, 0xA0-0xA1, 0x4D0-0x4D1; -1 if one is taken. */
int pic_init(struct pic *pic, struct ioports *io, struct irq_line intr);
void pic_reset(struct pic *pic);
/* Drive IRQ line `irq` (0-15) to `level`. */
void pic_set_irq(struct pic *pic, unsigned irq, bool level);
/* The CPU's interrupt acknowledge cycle: returns the vector to deliver. */
int pic_intr_ack(void *pic);
/* Whether IR `irq` (0-15) is edge-triggered and its edge latch is set: a
 * further rising edge changes nothing until the latch clears. */
bool pic_edge_latched(const struct pic *pic, unsigned irq);
/* Read the requested register (for tests and the monitor). */
uint8_t pic_read_irr(const struct pic *pic, unsigned chip);
/* Save into buf (returns bytes written, or the size needed when len is too small). */
size_t pic_save(const struct pic *pic, void *buf, size_t len);
/* Restore from buf; -1 if len is wrong. Re-evaluates the INTR output. */
int pic_restore(struct pic *pic, const void *buf, size_t len);
/* Whether a saved record (a file's) holds only values the device can hold
 * (chipset/state.h): 0, or -1 with the field and its value in err. */
int pic_check(const struct pic *pic, const void *buf, size_t len, char *err, size_t errlen);

#endif
