/*
 * fugu — the local APIC of each processor: xAPIC registers in a 4 KiB MMIO
 * page at the IA32_APIC_BASE address, x2APIC registers as MSRs 0x800-0x8FF,
 * the APIC timer (one-shot, periodic, TSC-deadline), LINT0/LINT1, the
 * interrupt acceptance and priority logic between the interrupt sources (8259
 * through LINT0, IOAPIC messages, IPIs, the timer) and the CPU; and the APIC
 * bus joining the local APICs of the machine (IPIs, IOAPIC messages).
 */
#ifndef FUGU_LAPIC_H
#define FUGU_LAPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chipset/irq.h"

#include "chipset/timer.h"

struct physmem;

#define LAPIC_DEFAULT_BASE 0xfee00000u
#define LAPIC_BUS_HZ 1000000000u /* the timer's input clock before the divider */

/* IA32_APIC_BASE bits (SDM vol. 3A, 10.4.4, figure 10-5; 10.12.1). */
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN (1ull << 11)
#define APIC_BASE_ADDR 0x000ffffffffff000ull

/* Local vector table entries, in register order from 0x320 (10.5.1). */
enum { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

/* Delivery modes of LVT entries, the ICR and IOAPIC messages (10.5.1, 10.6.1). */
enum {
	APIC_DM_FIXED = 0,
	APIC_DM_LOWEST = 1,
	APIC_DM_SMI = 2,
	APIC_DM_NMI = 4,
	APIC_DM_INIT = 5,
	APIC_DM_STARTUP = 6,
	APIC_DM_EXTINT = 7
};

/* ICR destination shorthands (10.6.1, figure 10-12). */
enum { APIC_SH_NONE, APIC_SH_SELF, APIC_SH_ALL, APIC_SH_OTHERS };

#define APIC_BUS_MAX 16 /* local APICs on one bus: -smp's limit */

struct lapic;

/*
 * A message on the APIC bus (10.6.1): an IPI from a local APIC's ICR, or an
 * IOAPIC redirection entry's interrupt.
 */
struct apic_msg {
	uint32_t dest;     /* destination: bits 7-0 in xAPIC mode, 31-0 in x2APIC mode */
	uint8_t vector;    /* vector (SIPI: the start page) */
	uint8_t mode;      /* APIC_DM_* */
	uint8_t shorthand; /* APIC_SH_* (IOAPIC messages: APIC_SH_NONE) */
	bool logical;      /* destination mode: logical (LDR/DFR) or physical (APIC ID) */
	bool level;        /* the ICR's level bit: INIT with level 0 is the de-assert */
	bool level_trig;   /* trigger mode */
};

/*
 * The APIC bus: every local APIC of the machine, indexed by CPU. The xAPIC
 * page is one MMIO region whose accesses go to the APIC of the CPU running
 * now (`current`), as each processor sees its own APIC at the same address.
 */
struct apic_bus {
	struct lapic *apic[APIC_BUS_MAX];
	unsigned n;
	unsigned current; /* index of the CPU executing now */
	struct physmem *mem;
	int region; /* the xAPIC page, -1 when none */
};

/* The architectural state (plain data, saved and restored by copy). */
struct lapic_state {
	uint64_t apic_base;              /* IA32_APIC_BASE: address, EN, EXTD, BSP */
	uint32_t id;                     /* APIC ID (xAPIC: register bits 31-24; x2APIC: 32 bits) */
	uint8_t tpr;                     /* task priority (10.8.3.1) */
	uint32_t ldr;                    /* logical destination (xAPIC: bits 31-24) */
	uint32_t dfr;                    /* destination format: bits 31-28 model, 27-0 all ones */
	uint32_t svr;                    /* spurious vector, APIC software enable (bit 8), focus */
	uint32_t irr[8], isr[8], tmr[8]; /* 256-bit request, in-service, trigger mode */
	uint32_t esr;                    /* error status as latched by the last ESR write */
	uint32_t esr_pending;            /* errors detected since that write */
	uint32_t lvt[LVT_COUNT];         /* local vector table */
	uint32_t icr_lo, icr_hi;         /* interrupt command register */
	uint32_t timer_initial;          /* initial count register */
	uint32_t timer_divide;           /* divide configuration register (bits 0, 1, 3) */
	uint32_t timer_count0; /* count at timer_start (initial, or kept over a divide change) */
	uint64_t timer_start;  /* ns at which the counter held timer_count0 */
	uint64_t timer_next;   /* ns of the next expiry, or VCLOCK_NEVER */
	uint64_t tsc_deadline; /* IA32_TSC_DEADLINE (0: disarmed) */
	bool lint[2];          /* LINT0, LINT1 input levels */
	bool extint_pending;   /* an ExtINT message (IOAPIC) waits for the 8259's INTA */
};

/* What the board connects: the model's features and the callbacks. */
struct lapic_config {
	bool present;               /* the model has an APIC (CPUID.1:EDX.APIC) */
	unsigned index;             /* the CPU's index; 0 is the BSP */
	uint32_t id;                /* initial APIC ID */
	struct apic_bus *bus;       /* NULL: alone (IPIs reach only itself) */
	bool x2apic;                /* CPUID.1:ECX.x2APIC */
	bool tsc_deadline;          /* CPUID.1:ECX.TSC_Deadline */
	const uint64_t *tsc_offset; /* TSC = virtual ns + *tsc_offset (NULL: 0) */
	struct irq_line intr;       /* the CPU's "interrupt pending" */
	struct irq_line nmi;        /* pulsed: an NMI (NMI delivery mode) */
	struct irq_line smi;        /* pulsed: an SMI (SMI delivery mode) */
	struct irq_line init;       /* pulsed: INIT (the CPU waits for SIPI) */
	void (*sipi)(void *opaque, unsigned index, uint8_t vector); /* STARTUP IPI */
	int (*extint_ack)(void *opaque);           /* the 8259's INTA: returns its vector */
	void (*eoi)(void *opaque, uint8_t vector); /* EOI broadcast to the IOAPIC */
	void *opaque;                              /* of extint_ack and eoi */
};

struct lapic {
	struct lapic_state st; /* everything save/restore copies */
	struct lapic_config cfg;
	struct vclock *clock;
	struct vtimer timer; /* the APIC timer's next expiry */
	struct physmem *mem;
	int region; /* the xAPIC MMIO region, -1 when none */
	bool intr;  /* current level of cfg.intr */
};

/* Map the xAPIC page (when present and alone on no bus) and reset; -1 if the map is full. */
int lapic_init(struct lapic *apic, struct physmem *mem, struct vclock *clock,
	       const struct lapic_config *cfg);
void lapic_reset(struct lapic *apic);
/* The CPU's interrupt acknowledge: the vector to deliver now, or -1 if none. */
int lapic_intr_ack(void *apic);
/* Drive LINT0 (the 8259's INTR on a PC) or LINT1 (NMI). */
void lapic_set_lint(struct lapic *apic, unsigned n, bool level);
/* An interrupt message (IOAPIC redirection entry); returns whether it was accepted. */
bool lapic_deliver(struct lapic *apic, uint8_t vector, unsigned mode, bool level_trig,
		   uint32_t dest, bool logical);
/* The MSRs the APIC implements (APIC_BASE, TSC_DEADLINE, x2APIC); -1 means #GP. */
int lapic_msr_read(void *apic, uint32_t index, uint64_t *value);
int lapic_msr_write(void *apic, uint32_t index, uint64_t value);
/* An EOI, as a write of the EOI register (the CPU's posted-interrupt processing). */
void lapic_eoi(void *apic);
/* CR8 <-> TPR[7:4] (SDM vol. 3A, 10.8.6.1). */
uint8_t lapic_get_cr8(void *apic);
void lapic_set_cr8(void *apic, uint8_t value);
size_t lapic_save(const struct lapic *apic, void *buf, size_t len);
int lapic_restore(struct lapic *apic, const void *buf, size_t len);

/*
 * The bus of `n` APICs (apics[k] with cfg[k], whose `bus` is set to this
 * one): the shared xAPIC page is mapped when the model has an APIC. -1 if
 * the map is full.
 */
int apic_bus_init(struct apic_bus *bus, struct lapic *apics, unsigned n, struct physmem *mem,
		  struct vclock *clock, const struct lapic_config *cfg);
/* The CPU running now: its APIC answers the xAPIC page (moved if its base differs). */
void apic_bus_set_current(struct apic_bus *bus, unsigned index);
/* Which APICs receive a message from APIC `src` (-1: the IOAPIC): bit k for
 * bus->apic[k] (10.6.2, the lowest-priority arbitration of 10.6.2.4). */
uint32_t apic_bus_targets(const struct apic_bus *bus, int src, const struct apic_msg *m);
/* Deliver a message; returns whether an APIC accepted it. */
bool apic_bus_send(struct apic_bus *bus, int src, const struct apic_msg *m);
void apic_bus_reset(struct apic_bus *bus);
size_t apic_bus_save(const struct apic_bus *bus, void *buf, size_t len);
int apic_bus_restore(struct apic_bus *bus, const void *buf, size_t len);
/* Whether a saved record (a file's) holds only values the device can hold
 * (chipset/state.h): 0, or -1 with the field and its value in err. */
int apic_bus_check(const struct apic_bus *bus, const void *buf, size_t len, char *err,
		   size_t errlen);

#endif
