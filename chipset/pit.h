/*
 * fugu — the 8254 programmable interval timer (ports 0x40-0x43) and the PC's
 * system control port B (0x61: counter 2 gate, speaker, refresh toggle, OUT2).
 */
#ifndef FUGU_PIT_H
#define FUGU_PIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chipset/irq.h"

#include "chipset/timer.h"

struct ioports;

#define PIT_HZ 1193182u /* the 8254's CLK input on a PC: 14.31818 MHz / 12 */

/* One counter's architectural state; times are in PIT clock ticks since virtual 0. */
struct pit_counter {
	uint8_t mode;        /* control word M2-M0 as written (6 and 7 act as 2 and 3) */
	uint8_t rw;          /* RW1-RW0: 1 LSB only, 2 MSB only, 3 LSB then MSB */
	bool bcd;            /* count in BCD (4 decades) instead of binary */
	bool gate;           /* GATE input level */
	uint32_t count;      /* the count register (1-65536, or 1-10000 in BCD; 0 means max) */
	bool armed;          /* a count has been written since the control word */
	bool running;        /* the counting element is loaded and counting */
	uint64_t start;      /* tick at which the CE was loaded with `count` */
	bool held;           /* modes 0, 2, 3, 4: loaded but stopped by GATE low */
	uint64_t frozen;     /* while held: clocks counted before GATE fell */
	bool pending;        /* modes 2, 3: a new count waits for the end of the cycle */
	uint32_t next_count; /* that count */
	uint64_t switch_at;  /* tick at which it takes over */
	uint64_t next_start; /* the `start` it takes over with */
	uint64_t null_until; /* NULL COUNT reads 1 before this tick */
	bool write_msb;      /* two-byte access: the next write is the MSB */
	uint8_t write_lsb;   /* the LSB written first */
	bool read_msb;       /* two-byte access: the next live read returns the MSB */
	uint16_t latch;      /* latched count (counter latch or read-back) */
	uint8_t latch_bytes; /* bytes of the latched count still to read (0-2) */
	bool latch_msb_next; /* reading the latched count: MSB comes next */
	bool status_latched; /* a read-back latched the status byte */
	uint8_t status;      /* that status byte */
};

/* The architectural state of the whole device. */
struct pit_state {
	struct pit_counter c[3];
	uint8_t port61; /* port 0x61 bits 0-3 as written (gate 2, speaker, parity/IOCHK) */
};

struct pit {
	struct pit_state st;  /* everything save/restore copies */
	struct vclock *clock; /* the virtual clock the counters run on */
	struct vtimer timer;  /* counter 0's next rising OUT edge */
	struct irq_line irq;  /* OUT0: IRQ0 */
	/* The board: true while a new edge of OUT0 could change nothing anyone
	 * sees (the 8259 already latched IRQ0, the IOAPIC pin is masked), so no
	 * timer is armed for it -- a masked fast PIT costs the host nothing. The
	 * board calls pit_recheck when that may have changed. NULL: always seen. */
	bool (*edges_unseen)(void *opaque);
	void *unseen_opaque;
};

/* Claim ports 0x40-0x43 and 0x61; -1 if one is taken. */
int pit_init(struct pit *pit, struct ioports *io, struct vclock *clock, struct irq_line irq);
void pit_reset(struct pit *pit);
/* Drive counter n's GATE input (counters 0 and 1 are tied high on a PC). */
void pit_set_gate(struct pit *pit, unsigned n, bool level);
/* Re-evaluate edges_unseen: arm or disarm counter 0's timer. */
void pit_recheck(struct pit *pit);
/* Counter n's OUT level now. */
bool pit_out(struct pit *pit, unsigned n);
size_t pit_save(const struct pit *pit, void *buf, size_t len);
int pit_restore(struct pit *pit, const void *buf, size_t len);
/* Whether a saved record (a file's) holds only values the device can hold
 * (chipset/state.h): 0, or -1 with the field and its value in err. */
int pit_check(const struct pit *pit, const void *buf, size_t len, char *err, size_t errlen);

#endif
