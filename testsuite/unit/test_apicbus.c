/*
 * Unit tests: the APIC bus (chipset/lapic.c) with four local APICs, APIC IDs
 * 0-3: which APICs an IPI or an IOAPIC message reaches in every destination
 * mode and shorthand, lowest-priority arbitration, and what INIT, STARTUP,
 * NMI and SMI messages signal to the CPUs. IPIs are sent as a guest sends
 * them, through the ICR of the running CPU's xAPIC page. Section numbers
 * refer to the Intel SDM vol. 3A, chapter 10 (11 in recent editions).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chipset/lapic.h"
#include "cpu/msr.h"
#include "mmu/physmem.h"

#define N 4
#define BASE 0xfee00000u
#define TPR 0x080
#define LDR 0x0d0
#define DFR 0x0e0
#define SVR 0x0f0
#define IRR 0x200
#define ICR_LO 0x300
#define ICR_HI 0x310

/* What each CPU was signalled, by event. */
enum { SIG_INTR, SIG_NMI, SIG_SMI, SIG_INIT, SIG_COUNT };

struct fixture {
	uint64_t icount;
	struct vclock clock;
	struct physmem *mem;
	struct lapic apic[N];
	struct apic_bus bus;
	int sig[N][SIG_COUNT];
	int sipis[N];
	uint8_t sipi_vector[N];
};

/* n = cpu * SIG_COUNT + signal */
static void
on_signal(void *opaque, int n, int level)
{
	struct fixture *f = opaque;
	if (level)
		f->sig[n / SIG_COUNT][n % SIG_COUNT]++;
}

static void
on_sipi(void *opaque, unsigned index, uint8_t vector)
{
	struct fixture *f = opaque;
	f->sipis[index]++;
	f->sipi_vector[index] = vector;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	vclock_init(&f->clock, VCLOCK_DETERMINISTIC, &f->icount);
	f->mem = physmem_create(1u << 20);
	struct lapic_config cfg[N];
	for (int k = 0; k < N; k++)
		cfg[k] = (struct lapic_config){
			.present = true,
			.index = (unsigned)k,
			.id = (uint32_t)k,
			.x2apic = true,
			.intr = IRQ_LINE(on_signal, f, k * SIG_COUNT + SIG_INTR),
			.nmi = IRQ_LINE(on_signal, f, k * SIG_COUNT + SIG_NMI),
			.smi = IRQ_LINE(on_signal, f, k * SIG_COUNT + SIG_SMI),
			.init = IRQ_LINE(on_signal, f, k * SIG_COUNT + SIG_INIT),
			.sipi = on_sipi,
			.opaque = f,
		};
	assert_int_equal(apic_bus_init(&f->bus, f->apic, N, f->mem, &f->clock, cfg), 0);
	memset(f->sig, 0, sizeof(f->sig));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	for (int k = 0; k < N; k++)
		vtimer_disarm(&f->apic[k].timer);
	physmem_destroy(f->mem);
	vclock_destroy(&f->clock);
	free(f);
	return 0;
}

/* CPU k's xAPIC page: the bus answers for the running CPU. */
static uint32_t
rd(struct fixture *f, unsigned k, unsigned reg)
{
	apic_bus_set_current(&f->bus, k);
	return (uint32_t)physmem_read_sized(f->mem, BASE + reg, 4);
}

static void
wr(struct fixture *f, unsigned k, unsigned reg, uint32_t v)
{
	apic_bus_set_current(&f->bus, k);
	physmem_write_sized(f->mem, BASE + reg, v, 4);
}

/* Software-enable every APIC; flat logical IDs 1 << k (10.6.2.2). */
static void
enable_flat(struct fixture *f)
{
	for (unsigned k = 0; k < N; k++) {
		wr(f, k, SVR, 0x1ff);
		wr(f, k, DFR, 0xffffffff);
		wr(f, k, LDR, (1u << k) << 24);
	}
}

/* CPU `from` sends an IPI: ICR high then low (the low write sends, 10.6.1). */
static void
ipi(struct fixture *f, unsigned from, uint32_t hi, uint32_t lo)
{
	wr(f, from, ICR_HI, hi);
	wr(f, from, ICR_LO, lo);
}

/* Which APICs hold `vector` in IRR, bit k for APIC k. */
static unsigned
irr_set(struct fixture *f, unsigned vector)
{
	unsigned set = 0;
	for (unsigned k = 0; k < N; k++)
		if (f->apic[k].st.irr[vector / 32] >> (vector % 32) & 1)
			set |= 1u << k;
	return set;
}

/* The destinations of a message, by apic_bus_targets. */
static unsigned
targets(struct fixture *f, int src, uint32_t dest, bool logical, unsigned shorthand, unsigned mode)
{
	const struct apic_msg m = { .dest = dest,
				    .vector = 0x40,
				    .mode = (uint8_t)mode,
				    .shorthand = (uint8_t)shorthand,
				    .logical = logical,
				    .level = true };
	return apic_bus_targets(&f->bus, src, &m);
}

/* Physical mode (10.6.2.1): the APIC ID, or 0FFh for all. An IPI lands in
 * the target's IRR and raises its INTR; delivery status reads idle. */
static void
physical(void **state)
{
	struct fixture *f = *state;
	enable_flat(f);
	assert_int_equal(targets(f, 0, 2, false, APIC_SH_NONE, APIC_DM_FIXED), 0x4);
	assert_int_equal(targets(f, 0, 0xff, false, APIC_SH_NONE, APIC_DM_FIXED), 0xf);
	assert_int_equal(targets(f, 0, 7, false, APIC_SH_NONE, APIC_DM_FIXED), 0);
	ipi(f, 0, 2u << 24, 0x4041);
	assert_int_equal(irr_set(f, 0x41), 0x4);
	assert_int_equal(f->sig[2][SIG_INTR], 1);
	assert_int_equal(f->sig[1][SIG_INTR], 0);
	assert_int_equal(rd(f, 0, ICR_LO) & (1u << 12), 0);
}

/* Logical flat (10.6.2.2): destination AND LDR[31:24] != 0; cluster
 * (10.6.2.2): the high nibble names the cluster (0Fh: all), the low nibble
 * the members. */
static void
logical(void **state)
{
	struct fixture *f = *state;
	enable_flat(f);
	assert_int_equal(targets(f, 0, 0x0a, true, APIC_SH_NONE, APIC_DM_FIXED), 0xa);
	assert_int_equal(targets(f, 0, 0xff, true, APIC_SH_NONE, APIC_DM_FIXED), 0xf);
	ipi(f, 1, 0x05u << 24, 0x4842);
	assert_int_equal(irr_set(f, 0x42), 0x5);
	/* Cluster model: APIC k in cluster k / 2, member bit k % 2. */
	for (unsigned k = 0; k < N; k++) {
		wr(f, k, DFR, 0x0fffffff);
		wr(f, k, LDR, ((k / 2) << 4 | 1u << (k % 2)) << 24);
	}
	assert_int_equal(targets(f, 0, 0x13, true, APIC_SH_NONE, APIC_DM_FIXED), 0xc);
	assert_int_equal(targets(f, 0, 0x02, true, APIC_SH_NONE, APIC_DM_FIXED), 0x2);
	assert_int_equal(targets(f, 0, 0xf1, true, APIC_SH_NONE, APIC_DM_FIXED), 0x5);
	assert_int_equal(targets(f, 0, 0x21, true, APIC_SH_NONE, APIC_DM_FIXED), 0);
}

/* Shorthands (10.6.1, table 10-3): self, all including self, all excluding
 * self; the destination field is ignored. */
static void
shorthands(void **state)
{
	struct fixture *f = *state;
	enable_flat(f);
	assert_int_equal(targets(f, 1, 3, false, APIC_SH_SELF, APIC_DM_FIXED), 0x2);
	assert_int_equal(targets(f, 1, 3, false, APIC_SH_ALL, APIC_DM_FIXED), 0xf);
	assert_int_equal(targets(f, 1, 3, false, APIC_SH_OTHERS, APIC_DM_FIXED), 0xd);
	ipi(f, 3, 0, 0x000c4043); /* all excluding self */
	assert_int_equal(irr_set(f, 0x43), 0x7);
}

/* Lowest priority (10.6.2.4): the one target with the lowest arbitration
 * priority; equal priorities go to the lowest CPU index. */
static void
lowest_priority(void **state)
{
	struct fixture *f = *state;
	enable_flat(f);
	wr(f, 0, TPR, 0x20);
	wr(f, 1, TPR, 0x30);
	wr(f, 2, TPR, 0x10);
	wr(f, 3, TPR, 0x40);
	assert_int_equal(targets(f, 0, 0x0f, true, APIC_SH_NONE, APIC_DM_LOWEST), 0x4);
	assert_int_equal(targets(f, 0, 0x0b, true, APIC_SH_NONE, APIC_DM_LOWEST), 0x1);
	wr(f, 0, TPR, 0x30);
	assert_int_equal(targets(f, 0, 0x03, true, APIC_SH_NONE, APIC_DM_LOWEST), 0x1);
}

/* A globally disabled APIC (IA32_APIC_BASE.EN = 0) receives nothing (10.4.3);
 * a software-disabled one refuses fixed interrupts but takes NMI (10.4.7.2). */
static void
disabled(void **state)
{
	struct fixture *f = *state;
	enable_flat(f);
	assert_int_equal(lapic_msr_write(&f->apic[1], MSR_APIC_BASE, BASE), 0);
	assert_int_equal(targets(f, 0, 1, false, APIC_SH_NONE, APIC_DM_FIXED), 0);
	wr(f, 2, SVR, 0xff);
	ipi(f, 0, 2u << 24, 0x4044);
	assert_int_equal(irr_set(f, 0x44), 0);
	ipi(f, 0, 2u << 24, 0x4400); /* NMI */
	assert_int_equal(f->sig[2][SIG_NMI], 1);
}

/* NMI and SMI IPIs signal the target CPU; INIT (assert) resets the target's
 * APIC and signals INIT, INIT level de-assert does nothing (10.6.1); STARTUP
 * passes its vector (8.4.3). */
static void
init_sipi_nmi_smi(void **state)
{
	struct fixture *f = *state;
	enable_flat(f);
	ipi(f, 0, 3u << 24, 0x4400);
	assert_int_equal(f->sig[3][SIG_NMI], 1);
	ipi(f, 0, 1u << 24, 0x4200);
	assert_int_equal(f->sig[1][SIG_SMI], 1);
	ipi(f, 0, 2u << 24, 0x8500); /* INIT level de-assert */
	assert_int_equal(f->sig[2][SIG_INIT], 0);
	ipi(f, 0, 2u << 24, 0x4500); /* INIT assert */
	assert_int_equal(f->sig[2][SIG_INIT], 1);
	assert_int_equal(rd(f, 2, SVR), 0xff);       /* reset: software-disabled */
	assert_int_equal(rd(f, 2, 0x020), 2u << 24); /* the ID survives INIT (10.4.7.3) */
	ipi(f, 0, 0, 0x000c4608);                    /* STARTUP, all excluding self */
	assert_int_equal(f->sipis[0], 0);
	for (int k = 1; k < N; k++) {
		assert_int_equal(f->sipis[k], 1);
		assert_int_equal(f->sipi_vector[k], 0x08);
	}
}

/* x2APIC (10.12.10): 32-bit physical IDs, broadcast FFFFFFFFh, and logical
 * destinations by cluster (bits 31:16) and member bitmap (bits 15:0) of the
 * LDR derived from the ID. */
static void
x2apic(void **state)
{
	struct fixture *f = *state;
	for (unsigned k = 0; k < N; k++) {
		wr(f, k, SVR, 0x1ff);
		assert_int_equal(lapic_msr_write(&f->apic[k], MSR_APIC_BASE,
						 BASE | APIC_BASE_EN | APIC_BASE_EXTD),
				 0);
	}
	assert_int_equal(targets(f, 0, 3, false, APIC_SH_NONE, APIC_DM_FIXED), 0x8);
	assert_int_equal(targets(f, 0, 0xffffffffu, false, APIC_SH_NONE, APIC_DM_FIXED), 0xf);
	assert_int_equal(targets(f, 0, 0x0000000a, true, APIC_SH_NONE, APIC_DM_FIXED), 0xa);
	assert_int_equal(targets(f, 0, 0x00010001, true, APIC_SH_NONE, APIC_DM_FIXED), 0);
	/* The 64-bit ICR MSR: destination in bits 63:32. */
	assert_int_equal(lapic_msr_write(&f->apic[0], MSR_X2APIC_FIRST + 0x30, 2ull << 32 | 0x4045),
			 0);
	assert_int_equal(irr_set(f, 0x45), 0x4);
}

/* An IOAPIC-style message (src -1) follows the same destination rules. */
static void
ioapic_message(void **state)
{
	struct fixture *f = *state;
	enable_flat(f);
	const struct apic_msg m = {
		.dest = 3, .vector = 0x61, .mode = APIC_DM_FIXED, .level = true
	};
	assert_true(apic_bus_send(&f->bus, -1, &m));
	assert_int_equal(irr_set(f, 0x61), 0x8);
	const struct apic_msg none = { .dest = 9, .vector = 0x62, .mode = APIC_DM_FIXED };
	assert_false(apic_bus_send(&f->bus, -1, &none));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(physical, setup, teardown),
		cmocka_unit_test_setup_teardown(logical, setup, teardown),
		cmocka_unit_test_setup_teardown(shorthands, setup, teardown),
		cmocka_unit_test_setup_teardown(lowest_priority, setup, teardown),
		cmocka_unit_test_setup_teardown(disabled, setup, teardown),
		cmocka_unit_test_setup_teardown(init_sipi_nmi_smi, setup, teardown),
		cmocka_unit_test_setup_teardown(x2apic, setup, teardown),
		cmocka_unit_test_setup_teardown(ioapic_message, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
