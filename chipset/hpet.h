/*
 * fugu — the HPET (IA-PC HPET specification 1.0a): a 64-bit main counter at
 * 100 MHz and three comparators in one 1 KiB register block at 0xfed00000,
 * with legacy replacement routing (timer 0 on IRQ0, timer 1 on IRQ8).
 */
#ifndef FUGU_HPET_H
#define FUGU_HPET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chipset/irq.h"
#include "chipset/timer.h"

struct physmem;

#define HPET_BASE 0xfed00000u
#define HPET_TIMERS 3
#define HPET_PERIOD_FS 10000000u /* counter period: 10 ns (100 MHz) */
#define HPET_PERIOD_NS 10u
#define HPET_ROUTE_FIRST 16 /* Tn_INT_ROUTE_CAP: IOAPIC pins 16-23 */
#define HPET_ROUTES 8

/* One comparator. */
struct hpet_timer_state {
	uint64_t config; /* Tn_CONF: the writable bits (capabilities are added on reads) */
	uint64_t cmp;    /* Tn_COMPARATOR */
	uint64_t period; /* the periodic accumulator's increment (last value written) */
	uint64_t fsb;    /* Tn_FSB_INT_ROUTE (stored; FSB delivery is not offered) */
	uint64_t next;   /* the main-counter value of the next match, or UINT64_MAX */
};

/* The architectural state: plain data, saved and restored by copy. */
struct hpet_state {
	uint64_t config;  /* GEN_CONF: ENABLE_CNF, LEG_RT_CNF */
	uint64_t isr;     /* GINTR_STA: Tn_INT_STS of level-triggered timers */
	uint64_t counter; /* MAIN_CNT when halted; its value at base_ns while running */
	uint64_t base_ns; /* the virtual time the running counter had `counter` */
	uint32_t lines;   /* outputs driven high: bit 0 IRQ0, 1 IRQ8, 2 + k pin 16 + k */
	struct hpet_timer_state t[HPET_TIMERS];
};

/* What the board connects. */
struct hpet_board {
	struct irq_line irq0, irq8;       /* legacy replacement routes (8259 and IOAPIC) */
	struct irq_line gsi[HPET_ROUTES]; /* IOAPIC pins 16-23 */
	struct irq_line legacy;           /* high while LEG_RT_CNF takes IRQ0/IRQ8 over */
};

struct hpet {
	struct hpet_state st;
	struct hpet_board board;
	struct vclock *clock;
	struct vtimer timer[HPET_TIMERS]; /* each comparator's next interrupt */
	struct hpet_ref {
		struct hpet *h;
		unsigned n;
	} ref[HPET_TIMERS]; /* the vtimers' opaque pointers: which comparator */
	int region;
};

/* Map the register block; -1 if the physical map is full. */
int hpet_init(struct hpet *h, struct physmem *mem, struct vclock *clock,
	      const struct hpet_board *board);
/* A system reset: the counter halted at 0, every timer off. */
void hpet_reset(struct hpet *h);
size_t hpet_save(const struct hpet *h, void *buf, size_t len);
int hpet_restore(struct hpet *h, const void *buf, size_t len);
/* Whether a saved record (a file's) holds only values the device can hold
 * (chipset/state.h): 0, or -1 with the field and its value in err. */
int hpet_check(const struct hpet *h, const void *buf, size_t len, char *err, size_t errlen);

#endif
