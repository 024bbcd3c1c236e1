/*
 * fugu — the Intel 82093AA I/O APIC at 0xFEC00000: 24 interrupt input pins,
 * each with a redirection table entry that turns the pin into an interrupt
 * message for the local APIC(s).
 */
#ifndef FUGU_IOAPIC_H
#define FUGU_IOAPIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct physmem;

#define IOAPIC_DEFAULT_BASE 0xfec00000u
#define IOAPIC_PINS 24

/* The architectural state (plain data, saved and restored by copy). */
struct ioapic_state {
	uint8_t regsel;              /* IOREGSEL: the register IOWIN accesses */
	uint32_t id;                 /* IOAPICID: ID in bits 27-24 */
	uint32_t arb;                /* IOAPICARB: arbitration ID in bits 27-24 */
	uint64_t redir[IOAPIC_PINS]; /* IOREDTBL0-23 */
	uint32_t lines;              /* input level of each pin (bit n = pin n asserted) */
};

struct ioapic {
	struct ioapic_state st; /* everything save/restore copies */
	/* The message to the local APIC(s); returns whether it was accepted. */
	bool (*deliver)(void *opaque, uint8_t vector, unsigned mode, bool level_trig, uint32_t dest,
			bool logical);
	void *opaque;
	int region; /* the MMIO region */
	/* The board: a redirection entry changed (a masked pin's edges are lost,
	 * so its source may stop timing them: chipset/pit.c). NULL: nobody. */
	void (*redir_changed)(void *opaque);
};
/* Whether input `pin` is masked (its edges are ignored: 82093AA 3.2.4). */
bool ioapic_pin_masked(const struct ioapic *io, unsigned pin);

/* Map the registers at IOAPIC_DEFAULT_BASE and reset; -1 if the map is full. */
int ioapic_init(struct ioapic *io, struct physmem *mem,
		bool (*deliver)(void *, uint8_t, unsigned, bool, uint32_t, bool), void *opaque);
void ioapic_reset(struct ioapic *io);
/* Drive input pin `pin` (asserted = true). */
void ioapic_set_irq(struct ioapic *io, unsigned pin, bool level);
/* The local APIC's EOI broadcast for a level-triggered vector. */
void ioapic_eoi(struct ioapic *io, uint8_t vector);
size_t ioapic_save(const struct ioapic *io, void *buf, size_t len);
int ioapic_restore(struct ioapic *io, const void *buf, size_t len);
/* Whether a saved record (a file's) holds only values the device can hold
 * (chipset/state.h): 0, or -1 with the field and its value in err. */
int ioapic_check(const struct ioapic *io, const void *buf, size_t len, char *err, size_t errlen);

#endif
