/*
 * Unit tests: the PIIX ISA bridge and PM functions (chipset/piix.c) through
 * their ports, on a deterministic clock (1 ns per instruction). Register names
 * refer to the 82371SB (PIIX3) and 82371AB (PIIX4) datasheets; PM1 semantics
 * to ACPI 1.0, 4.7.3.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "mmu/ioport.h"
#include "chipset/piix.h"

#define PMBASE 0xb000

struct fixture {
	uint64_t icount;
	struct vclock clock;
	struct ioports *io;
	struct pci_bus bus;
	struct piix piix;
	bool a20, sci;
	int resets, poweroffs, smis;
	uint16_t pci_irqs; /* ISA IRQs driven by PIRQs */
};

static void
set_pci_irq(void *opaque, int irq, int level)
{
	struct fixture *f = opaque;
	if (level)
		f->pci_irqs |= (uint16_t)(1u << irq);
	else
		f->pci_irqs &= (uint16_t) ~(1u << irq);
}

static void
set_sci(void *opaque, int n, int level)
{
	(void)n;
	((struct fixture *)opaque)->sci = level;
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

static void
poweroff(void *opaque, int n, int level)
{
	(void)n;
	if (level) /* a pulse */
		((struct fixture *)opaque)->poweroffs++;
}

static void
smi(void *opaque, int n, int level)
{
	(void)n;
	if (level) /* a pulse */
		((struct fixture *)opaque)->smis++;
}

static uint32_t
cfg_read(struct fixture *f, unsigned fn, unsigned reg, unsigned size)
{
	ioport_write(f->io, 0xcf8, 0x80000000u | 1u << 11 | fn << 8 | (reg & 0xfc), 4);
	return ioport_read(f->io, (uint16_t)(0xcfc + (reg & 3)), size);
}

static void
cfg_write(struct fixture *f, unsigned fn, unsigned reg, uint32_t v, unsigned size)
{
	ioport_write(f->io, 0xcf8, 0x80000000u | 1u << 11 | fn << 8 | (reg & 0xfc), 4);
	ioport_write(f->io, (uint16_t)(0xcfc + (reg & 3)), v, size);
}

/* Map the PM I/O space at PMBASE (PMBA 40h, PMREGMISC 80h bit 0 PMIOSE). */
static void
map_pm(struct fixture *f)
{
	cfg_write(f, 3, 0x40, PMBASE | 1, 4);
	cfg_write(f, 3, 0x80, 0x01, 1);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct piix_board b = { .sci = IRQ_LINE(set_sci, f, 9),
				.a20 = IRQ_LINE(set_a20, f, 0),
				.reset = IRQ_LINE(reset, f, 0),
				.poweroff = IRQ_LINE(poweroff, f, 0),
				.smi = IRQ_LINE(smi, f, 0) };
	for (int irq = 0; irq < 16; irq++)
		b.isa_irq[irq] = IRQ_LINE(set_pci_irq, f, irq);
	vclock_init(&f->clock, VCLOCK_DETERMINISTIC, &f->icount);
	f->clock.ns_per_insn = 1;
	f->io = ioports_create();
	assert_int_equal(pci_bus_init(&f->bus, f->io, NULL, NULL), 0);
	assert_int_equal(piix_init(&f->piix, &f->bus, f->io, &f->clock, &b), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	vclock_destroy(&f->clock);
	ioports_destroy(f->io);
	free(f);
	return 0;
}

/* IDs: 00:01.0 8086:7000 ISA bridge (class 06 01 00, multi-function header);
 * 00:01.3 8086:7113 (class 06 80 00), INTA#. */
static void
identity(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(cfg_read(f, 0, 0, 4), 0x70008086);
	assert_int_equal(cfg_read(f, 0, 8, 4) >> 8, 0x060100);
	assert_int_equal(cfg_read(f, 0, 0x0e, 1), 0x80);
	assert_int_equal(cfg_read(f, 3, 0, 4), 0x71138086);
	assert_int_equal(cfg_read(f, 3, 8, 4) >> 8, 0x068000);
	assert_int_equal(cfg_read(f, 3, 0x3d, 1), 0x01);
	assert_int_equal(cfg_read(f, 1, 0, 4), 0xffffffff); /* IDE: not here yet */
}

/* Port 92h: bit 1 FAST_A20; bit 0 FAST_INIT resets on a 0-to-1 transition only. */
static void
port92(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(ioport_read(f->io, 0x92, 1), 0x00);
	assert_false(f->a20);
	ioport_write(f->io, 0x92, 0x02, 1);
	assert_true(f->a20);
	assert_int_equal(ioport_read(f->io, 0x92, 1), 0x02);
	assert_int_equal(f->resets, 0);
	ioport_write(f->io, 0x92, 0x03, 1);
	assert_int_equal(f->resets, 1);
	ioport_write(f->io, 0x92, 0x03, 1); /* already 1: no new transition */
	assert_int_equal(f->resets, 1);
	ioport_write(f->io, 0x92, 0x00, 1);
	assert_false(f->a20);
	piix_reset(&f->piix);
	assert_int_equal(ioport_read(f->io, 0x92, 1), 0x00);
}

/* RC (CF9h): SRST reads back, RCPU starts a reset; a dword at 0xCF8 is still
 * CONFIG_ADDRESS. */
static void
reset_control(void **state)
{
	struct fixture *f = *state;
	ioport_write(f->io, 0xcf9, 0x02, 1);
	assert_int_equal(ioport_read(f->io, 0xcf9, 1), 0x02);
	assert_int_equal(f->resets, 0);
	ioport_write(f->io, 0xcf9, 0x06, 1);
	assert_int_equal(f->resets, 1);
	assert_int_equal(ioport_read(f->io, 0xcf9, 1), 0x02);
	ioport_write(f->io, 0xcf8, 0x80000800, 4);
	assert_int_equal(ioport_read(f->io, 0xcf8, 4), 0x80000800);
	assert_int_equal(f->resets, 1);
}

/* PIRQRC[A:D] (60h-63h): default 80h (not routed); bits 3-0 pick the IRQ;
 * reserved IRQs (0, 1, 2, 8, 13) are not routed; PIRQs sharing an IRQ OR. */
static void
pirq_routing(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(cfg_read(f, 0, 0x60, 4), 0x80808080);
	piix_set_pirq(&f->piix, 0, true);
	assert_int_equal(f->pci_irqs, 0);
	cfg_write(f, 0, 0x60, 0x0b, 1);
	assert_int_equal(f->pci_irqs, 1u << 11);
	cfg_write(f, 0, 0x61, 0x0b, 1);
	piix_set_pirq(&f->piix, 1, true);
	piix_set_pirq(&f->piix, 0, false);
	assert_int_equal(f->pci_irqs, 1u << 11); /* PIRQB still holds it */
	piix_set_pirq(&f->piix, 1, false);
	assert_int_equal(f->pci_irqs, 0);
	piix_set_pirq(&f->piix, 2, true);
	cfg_write(f, 0, 0x62, 0x0d, 1); /* IRQ13: reserved */
	assert_int_equal(f->pci_irqs, 0);
	cfg_write(f, 0, 0x62, 0x05, 1);
	assert_int_equal(f->pci_irqs, 1u << 5);
	cfg_write(f, 0, 0x62, 0x85, 1); /* IRQROUTEEN: disabled */
	assert_int_equal(f->pci_irqs, 0);
	assert_int_equal(cfg_read(f, 0, 0x62, 1), 0x85);
	cfg_write(f, 0, 0x63, 0xff, 1);
	assert_int_equal(cfg_read(f, 0, 0x63, 1), 0x8f);
}

/* PMBA: bits 15-6 writable, bit 0 hardwired 1; the space decodes only with PMIOSE. */
static void
pm_base(void **state)
{
	struct fixture *f = *state;
	cfg_write(f, 3, 0x40, 0xffffffff, 4);
	assert_int_equal(cfg_read(f, 3, 0x40, 4), 0x0000ffc1);
	cfg_write(f, 3, 0x40, PMBASE, 4);
	assert_int_equal(ioport_read(f->io, PMBASE + 8, 4), 0xffffffff);
	cfg_write(f, 3, 0x80, 0x01, 1);
	f->icount = 1000000;
	assert_int_equal(ioport_read(f->io, PMBASE + 8, 4), 3579);
	cfg_write(f, 3, 0x40, 0xb100, 4);
	assert_int_equal(ioport_read(f->io, PMBASE + 8, 4), 0xffffffff);
	assert_int_equal(ioport_read(f->io, 0xb108, 4), 3579);
	cfg_write(f, 3, 0x80, 0x00, 1);
	assert_int_equal(ioport_read(f->io, 0xb108, 4), 0xffffffff);
}

/*
 * The PM I/O space moved over the PIIX's own fixed ports (0x80-0xBF covers
 * port 0x92 and the APM ports 0xB2/0xB3; 0xCC0-0xCFF covers 0xCF9) and away:
 * the fixed ports belong to other registers of the same chip and stay put,
 * neither shadowed nor deleted.
 */
static void
pm_base_over_fixed_ports(void **state)
{
	struct fixture *f = *state;
	ioport_write(f->io, 0xb3, 0x5a, 1); /* APMS: a scratch register */
	cfg_write(f, 3, 0x80, 0x01, 1);
	cfg_write(f, 3, 0x40, 0x0080 | 1, 4);
	assert_int_equal(ioport_read(f->io, 0xb3, 1), 0x5a);
	cfg_write(f, 3, 0x40, 0x0cc0 | 1, 4);
	cfg_write(f, 3, 0x40, PMBASE | 1, 4);
	assert_int_equal(ioport_read(f->io, 0xb3, 1), 0x5a);
	assert_int_equal(ioport_read(f->io, 0x92, 1) & 0xfe, 0);
	ioport_write(f->io, 0x92, 0x02, 1); /* fast A20 still answers */
	assert_true(f->a20);
	ioport_write(f->io, 0xcf9, 0x02, 1);
	ioport_write(f->io, 0xcf9, 0x06, 1); /* RC: hard reset still answers */
	assert_int_equal(f->resets, 1);
	assert_int_equal(ioport_read(f->io, PMBASE + 8, 4) >> 24, 0); /* PM moved on */
}

/* PMTMR: 3.579545 MHz from the virtual clock, 24 bits, wrapping to 0. */
static void
pm_timer_rate_and_wrap(void **state)
{
	struct fixture *f = *state;
	map_pm(f);
	f->icount = 1000000000; /* one second */
	assert_int_equal(ioport_read(f->io, PMBASE + 8, 4), PIIX_PM_HZ);
	f->icount = 2000000000;
	assert_int_equal(ioport_read(f->io, PMBASE + 8, 4), 2 * PIIX_PM_HZ);
	/* 2^24 ticks = 4.687 s: the counter wraps to 0. */
	uint64_t wrap_ns = ((1ull << 24) * 1000000000ull + PIIX_PM_HZ - 1) / PIIX_PM_HZ;
	f->icount = wrap_ns - 300;
	assert_int_equal(ioport_read(f->io, PMBASE + 8, 4), 0xfffffe);
	f->icount = wrap_ns;
	assert_int_equal(ioport_read(f->io, PMBASE + 8, 4), 0);
	assert_int_equal(ioport_read(f->io, PMBASE + 0x0b, 1), 0); /* bits 31-24 read 0 */
}

/* TMR_STS is set when bit 23 changes, cleared by writing 1; with TMR_EN and
 * SCI_EN it raises SCI, from a timer armed for that moment. */
static void
pm_timer_overflow_sci(void **state)
{
	struct fixture *f = *state;
	map_pm(f);
	uint64_t bit23_ns = ((1ull << 23) * 1000000000ull + PIIX_PM_HZ - 1) / PIIX_PM_HZ;
	ioport_write(f->io, PMBASE + 2, PM1_TMR_STS, 2); /* TMR_EN */
	ioport_write(f->io, PMBASE + 4, PM1_SCI_EN, 2);
	assert_int_equal(ioport_read(f->io, PMBASE, 2) & PM1_TMR_STS, 0);
	assert_int_equal(vclock_next_deadline(&f->clock), bit23_ns);
	f->icount = bit23_ns;
	assert_int_equal(vclock_run_expired(&f->clock), 1);
	assert_true(f->sci);
	assert_int_equal(ioport_read(f->io, PMBASE, 2) & PM1_TMR_STS, PM1_TMR_STS);
	ioport_write(f->io, PMBASE, PM1_TMR_STS, 2); /* write 1 to clear */
	assert_int_equal(ioport_read(f->io, PMBASE, 2) & PM1_TMR_STS, 0);
	assert_false(f->sci);
	assert_int_equal(vclock_next_deadline(&f->clock),
			 ((2ull << 23) * 1000000000ull + PIIX_PM_HZ - 1) / PIIX_PM_HZ);
	/* Without SCI_EN no SCI (the event would be an SMI) and no timer. */
	ioport_write(f->io, PMBASE + 4, 0, 2);
	assert_int_equal(vclock_next_deadline(&f->clock), VCLOCK_NEVER);
	f->icount = 3 * bit23_ns;
	assert_int_equal(ioport_read(f->io, PMBASE, 2) & PM1_TMR_STS, PM1_TMR_STS);
	assert_false(f->sci);
}

/* PMCNTRL: SUS_EN (SLP_EN) with SUS_TYP 000b (soft off) powers off; another
 * type does not; SUS_EN reads 0 and SCI_EN/SUS_TYP read back. */
static void
pm_soft_off(void **state)
{
	struct fixture *f = *state;
	map_pm(f);
	ioport_write(f->io, PMBASE + 4, PM1_SCI_EN | 5 << PM1_SLP_TYP_SHIFT, 2);
	assert_int_equal(ioport_read(f->io, PMBASE + 4, 2), PM1_SCI_EN | 5 << PM1_SLP_TYP_SHIFT);
	ioport_write(f->io, PMBASE + 4, PM1_SCI_EN | 5 << PM1_SLP_TYP_SHIFT | PM1_SLP_EN, 2);
	assert_int_equal(f->poweroffs, 0);
	assert_int_equal(ioport_read(f->io, PMBASE + 4, 2) & PM1_SLP_EN, 0);
	ioport_write(f->io, PMBASE + 5, PM1_SLP_EN >> 8, 1); /* byte write: SUS_TYP 0 */
	assert_int_equal(f->poweroffs, 1);
}

/* Save/restore: port 0x92, routing and the PM mapping come back. */
static void
save_restore(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[2048];
	map_pm(f);
	ioport_write(f->io, 0x92, 0x02, 1);
	cfg_write(f, 0, 0x60, 0x0a, 1);
	size_t n = piix_save(&f->piix, buf, sizeof(buf));
	assert_true(n <= sizeof(buf));
	piix_reset(&f->piix);
	assert_false(f->a20);
	assert_int_equal(ioport_read(f->io, PMBASE + 8, 4), 0xffffffff);
	assert_int_equal(piix_restore(&f->piix, buf, n), 0);
	assert_true(f->a20);
	assert_int_equal(cfg_read(f, 0, 0x60, 1), 0x0a);
	assert_int_equal(ioport_read(f->io, PMBASE + 8, 4), 0);
}

/*
 * ACPI_ENABLE (F1h) and ACPI_DISABLE (F0h) written to the FADT's SMI_CMD port
 * (B2h) set and clear PM1_CNT.SCI_EN (ACPI 6.x, 4.8.2.5) without an SMI, as the
 * board SeaBIOS's tables describe does; other commands raise an SMI when the
 * APMC enable (PM 5Bh bit 1) is set.
 */
static void
acpi_enable_through_smi_cmd(void **state)
{
	struct fixture *f = *state;
	map_pm(f);
	cfg_write(f, 3, 0x5b, 0x02, 1);
	assert_int_equal(ioport_read(f->io, PMBASE + 4, 2) & PM1_SCI_EN, 0);
	ioport_write(f->io, 0xb2, 0xf1, 1);
	assert_int_equal(ioport_read(f->io, PMBASE + 4, 2) & PM1_SCI_EN, PM1_SCI_EN);
	ioport_write(f->io, 0xb2, 0xf0, 1);
	assert_int_equal(ioport_read(f->io, PMBASE + 4, 2) & PM1_SCI_EN, 0);
	assert_int_equal(f->smis, 0);
	ioport_write(f->io, 0xb2, 0x00, 1);
	assert_int_equal(f->smis, 1);
}

/* The GPE0 block of SeaBIOS's FADT (0xAFE0): GPE0_STS reads 0 and stays 0
 * (no GPE source), GPE0_EN keeps what is written; nothing raises SCI. */
static void
gpe0_block(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(ioport_read(f->io, PIIX_GPE0_BLK, 4), 0);
	ioport_write(f->io, PIIX_GPE0_BLK, 0xffffffff, 4);
	assert_int_equal(ioport_read(f->io, PIIX_GPE0_BLK, 2), 0);
	assert_int_equal(ioport_read(f->io, PIIX_GPE0_BLK + 2, 2), 0xffff);
	ioport_write(f->io, PIIX_GPE0_BLK + 3, 0x12, 1);
	assert_int_equal(ioport_read(f->io, PIIX_GPE0_BLK + 2, 2), 0x12ff);
	assert_false(f->sci);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(acpi_enable_through_smi_cmd, setup, teardown),
		cmocka_unit_test_setup_teardown(identity, setup, teardown),
		cmocka_unit_test_setup_teardown(port92, setup, teardown),
		cmocka_unit_test_setup_teardown(reset_control, setup, teardown),
		cmocka_unit_test_setup_teardown(pirq_routing, setup, teardown),
		cmocka_unit_test_setup_teardown(pm_base, setup, teardown),
		cmocka_unit_test_setup_teardown(pm_base_over_fixed_ports, setup, teardown),
		cmocka_unit_test_setup_teardown(pm_timer_rate_and_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(pm_timer_overflow_sci, setup, teardown),
		cmocka_unit_test_setup_teardown(pm_soft_off, setup, teardown),
		cmocka_unit_test_setup_teardown(save_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(gpe0_block, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
