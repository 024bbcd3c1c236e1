/*
 * fugu — the PIIX south bridge functions on PCI device 1: the PCI-to-ISA
 * bridge 00:01.0 (82371SB PIIX3, 8086:7000) with its PIRQ routing, port 0x92
 * and the reset control register 0xCF9, and the power management function
 * 00:01.3 (82371AB PIIX4, 8086:7113) with the ACPI PM1 registers and the PM
 * timer. The IDE function 00:01.1 is a device of its own (chipset/ide.c, to
 * come); the ELCR is in chipset/pic.c.
 */
#ifndef FUGU_PIIX_H
#define FUGU_PIIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chipset/irq.h"

#include "chipset/pci.h"
#include "chipset/timer.h"

struct ioports;

#define PIIX_PM_HZ 3579545   /* the ACPI PM timer's clock */
#define PIIX_GPE0_BLK 0xafe0 /* QEMU's GPE0 block, named by SeaBIOS's FADT (4 bytes) */
#define PIIX_SCI_IRQ 9
#define PIIX_PM_IO_SIZE 64

/* PM1 register bits (PIIX4 datasheet 7.2, "PMSTS", "PMEN", "PMCNTRL"; ACPI 1.0 4.7.3). */
#define PM1_TMR_STS 0x0001
#define PM1_BM_STS 0x0010
#define PM1_GBL_STS 0x0020
#define PM1_PWRBTN_STS 0x0100
#define PM1_RTC_STS 0x0400
#define PM1_PWRBTNOR_STS 0x0800
#define PM1_WAK_STS 0x8000
#define PM1_SCI_EN 0x0001
#define PM1_GBL_RLS 0x0004
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_EN 0x2000

/* What the board connects to the south bridge's outputs; unset lines go nowhere. */
struct piix_board {
	/* ISA IRQ n as driven by the PCI interrupts routed to it (PIRQRC). */
	struct irq_line isa_irq[16];
	/* The SCI output (IRQ 9). */
	struct irq_line sci;
	/* Port 0x92 FAST_A20 (the board ORs it with the 8042's A20 gate). */
	struct irq_line a20;
	/* Pulsed: a reset of the machine (port 0x92 FAST_INIT, 0xCF9 RCPU). */
	struct irq_line reset;
	/* Pulsed: PM1 control SLP_EN with SLP_TYP soft-off, the machine powers off. */
	struct irq_line poweroff;
	/* Pulsed: SLP_EN with SLP_TYP suspend to RAM (ACPI S3), the board suspends. */
	struct irq_line suspend;
	/* Pulsed: SMI# to the processor (a write to APMC with DEVACTB.APMC_EN set). */
	struct irq_line smi;
};

/* Everything save/restore copies besides the two config spaces. */
struct piix_state {
	uint8_t port92;     /* port 0x92: bit 1 FAST_A20, bit 0 FAST_INIT */
	uint8_t rc;         /* 0xCF9 reset control: bit 1 SRST (RCPU reads 0) */
	uint8_t pirq_level; /* bit n: PIRQ n (A-D) is asserted by some PCI device */
	uint16_t pm1_sts;   /* PMSTS, except TMR_STS which is computed */
	uint16_t pm1_en;    /* PMEN */
	uint16_t pm1_cnt;   /* PMCNTRL (write-only bits kept clear) */
	uint16_t gpe0_en;   /* GPE0_EN at 0xAFE4 (QEMU's GPE0 block; no GPE sources) */
	uint64_t tmr_base;  /* PM timer tick at which TMR_STS was last cleared: it reads 1
			     * once bit 23 has changed since */
	uint8_t pm_regs[PIIX_PM_IO_SIZE]; /* the other PM I/O registers, as plain storage */
	uint8_t apmc; /* APM control port 0xB2: a write raises SMI# when APMC_EN */
	uint8_t apms; /* APM status port 0xB3: scratch for firmware and its SMI handler */
};

struct piix {
	struct piix_state st;
	struct pci_function isa; /* 00:01.0 */
	struct pci_function pm;  /* 00:01.3 */
	struct ioports *io;
	struct vclock *clock;
	struct vtimer tmr_timer; /* next TMR_STS transition, armed while it can raise SCI */
	struct piix_board board;
	uint16_t irq_driven; /* ISA IRQs currently driven high by PIRQs */
	bool sci;            /* current SCI level */
	uint16_t pm_base;    /* where the PM I/O space is mapped */
	bool pm_mapped;
};

/* Claim 0x92 and 0xCF9, add 00:01.0 and 00:01.3 to `bus`; -1 on a conflict. */
int piix_init(struct piix *p, struct pci_bus *bus, struct ioports *io, struct vclock *clock,
	      const struct piix_board *board);
void piix_reset(struct piix *p);
/* PCI interrupt line PIRQ `n` (0-3 for PIRQA-D) changed level. */
void piix_set_pirq(struct piix *p, unsigned n, bool level);
/* The PM timer's 24-bit value now. */
uint32_t piix_pm_timer(const struct piix *p);
size_t piix_save(const struct piix *p, void *buf, size_t len);
int piix_restore(struct piix *p, const void *buf, size_t len);
/* Whether a saved record (a file's) holds only values the device can hold
 * (chipset/state.h): 0, or -1 with the field and its value in err. */
int piix_check(const struct piix *p, const void *buf, size_t len, char *err, size_t errlen);

/* Press the ACPI power button: PWRBTN_STS and an SCI if enabled. */
void piix_power_button(struct piix *p);
/* Suspended to RAM: does PM1_EN.RTC_EN make an RTC alarm a wake event? */
bool piix_rtc_wake_enabled(const struct piix *p);
/* The machine woke from S3 (after the board's reset): PM1_STS.WAK_STS, and
 * RTC_STS or PWRBTN_STS for what woke it (ACPI 4.8.2.1). */
void piix_woke(struct piix *p, bool by_rtc);

#endif
