/*
 * fugu — the board.
 */
#include "chipset/pc.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mmu/ioport.h"
#include "cpu/cpu.h"
#include "cpu/cpuid.h"
#include "cpu/vmx/vmx.h"
#include "chipset/lapic.h"
#include "firmware/bios.h"
#include "firmware/loader.h"
#include "trace/events.h"
#include "mmu/physmem.h"

/* CPUID leaf 0x15 reports the TSC rate as the APIC timer's crystal (cpuid.h). */
_Static_assert(LAPIC_BUS_HZ == CPU_TSC_HZ, "CPUID 0x15 names the APIC timer clock");

static uint64_t
clock_now(void *opaque)
{
	return vclock_now(opaque);
}

static void
trace_mmio(void *opaque, const char *region, uint64_t pa, uint64_t value, unsigned size,
	   int is_write)
{
	if (is_write)
		trace_mmio_write(opaque, NULL, region, pa, (uint8_t)size, value);
	else
		trace_mmio_read(opaque, NULL, region, pa, (uint8_t)size, value);
}

static void
trace_port(void *opaque, uint16_t port, uint32_t value, unsigned size, int is_write)
{
	if (is_write)
		trace_io_out(opaque, NULL, port, (uint8_t)size, value);
	else
		trace_io_in(opaque, NULL, port, (uint8_t)size, value);
}

/*
 * The board's inputs. Every device output is a `struct irq_line` set to one
 * of these handlers; `n` says which input it is.
 */

/* Local APIC n's INTR output: CPU n's "interrupt pending" event. */
static void
pc_cpu_intr(void *opaque, int n, int level)
{
	struct pc *pc = opaque;
	if (pc->restoring)
		return;
	if (level)
		cpu_raise_events(pc->cpus[n], EV_INTR);
	else
		cpu_clear_events(pc->cpus[n], EV_INTR);
}

/*
 * The PIC's INTR output: the local APIC's LINT0 (ExtINT in virtual-wire mode,
 * or straight to the CPU while the APIC is disabled) and IOAPIC pin 0.
 */
static void
pc_pic_intr(void *opaque, int n, int level)
{
	struct pc *pc = opaque;
	if (pc->restoring)
		return;
	(void)n;
	for (unsigned k = 0; k < pc->ncpus; k++) /* LINT0 is wired to every processor */
		lapic_set_lint(&pc->lapics[k], 0, level);
	ioapic_set_irq(&pc->ioapic, 0, level);
}

/* The local APIC's ExtINT acknowledge: the 8259's INTA cycle. */
static int
pc_extint_ack(void *opaque)
{
	struct pc *pc = opaque;
	return pic_intr_ack(&pc->pic);
}

/* The local APIC's EOI broadcast for a level-triggered vector. */
static void
pc_apic_eoi(void *opaque, uint8_t vector)
{
	struct pc *pc = opaque;
	ioapic_eoi(&pc->ioapic, vector);
}

/* An IOAPIC message on the APIC bus, to whichever CPUs its destination names. */
static bool
pc_ioapic_deliver(void *opaque, uint8_t vector, unsigned mode, bool level_trig, uint32_t dest,
		  bool logical)
{
	struct pc *pc = opaque;
	if (pc->restoring)
		return false; /* the saved remote IRR stands */
	const struct apic_msg m = { .dest = dest,
				    .vector = vector,
				    .mode = (uint8_t)mode,
				    .logical = logical,
				    .level = true,
				    .level_trig = level_trig };
	return apic_bus_send(&pc->apics, -1, &m);
}

/* A STARTUP IPI reached local APIC `index`: its CPU takes it at its next boundary. */
static void
pc_sipi(void *opaque, unsigned index, uint8_t vector)
{
	struct pc *pc = opaque;
	cpu_sipi(pc->cpus[index], vector);
}

/*
 * The devices driving ISA IRQ lines, one bit each in irq_sources[]: a line
 * is high while any of its sources drives it high (COM1/COM3 and COM2/COM4
 * share IRQ4 and IRQ3; the PIIX drives the lines PCI interrupts are routed
 * to).
 */
enum pc_irq_source {
	PC_SOURCE_PIT,
	PC_SOURCE_RTC,
	PC_SOURCE_COM1, /* .. COM4: 2-5 */
	PC_SOURCE_KBD = PC_SOURCE_COM1 + 4,
	PC_SOURCE_AUX,
	PC_SOURCE_SCI,
	PC_SOURCE_IDE,                      /* and IDE + 1 */
	PC_SOURCE_FERR = PC_SOURCE_IDE + 2, /* the x87 error latch (IRQ13) */
	PC_SOURCE_TESTDEV,                  /* pc-testdev's IRQ-line ports */
	PC_SOURCE_HPET,                     /* HPET timers 0/1 in legacy replacement mode */
	PC_SOURCE_PCI = 15,
};

/*
 * Drive ISA IRQ `irq` to the 8259 and the IOAPIC: the OR of its sources, but
 * for the PIT on IRQ0 and the RTC on IRQ8 while the HPET's legacy replacement
 * route holds them (IA-PC HPET 1.0a, 2.3.5: their interrupts are disabled).
 */
static void
pc_isa_update(struct pc *pc, unsigned irq)
{
	uint16_t src = pc->irq_sources[irq];
	if (pc->hpet_legacy && irq == 0)
		src &= (uint16_t) ~(1u << PC_SOURCE_PIT);
	if (pc->hpet_legacy && irq == 8)
		src &= (uint16_t) ~(1u << PC_SOURCE_RTC);
	pic_set_irq(&pc->pic, irq, src != 0);
	/* The IOAPIC sees every ISA line on the same-numbered pin, except IRQ0 (the
	 * PIT), which is wired to pin 2 as on PC boards (the MP/ACPI override). */
	ioapic_set_irq(&pc->ioapic, irq == 0 ? 2 : irq, src != 0);
}

/* The HPET's LEG_RT_CNF: it takes IRQ0 and IRQ8 from the PIT and the RTC. */
static void
pc_hpet_legacy(void *opaque, int n, int level)
{
	struct pc *pc = opaque;
	(void)n;
	pc->hpet_legacy = level; /* restoring: the board's saved copy is loaded after */
	if (pc->restoring)
		return;
	pc_isa_update(pc, 0);
	pc_isa_update(pc, 8);
}

/* ISA IRQ (n & 15) driven by source (n >> 4). */
static void
pc_isa_irq(void *opaque, int n, int level)
{
	struct pc *pc = opaque;
	if (pc->restoring)
		return;
	unsigned irq = (unsigned)n & 15, source = (unsigned)n >> 4;
	uint16_t *src = &pc->irq_sources[irq];
	if (level)
		*src |= (uint16_t)(1u << source);
	else
		*src &= (uint16_t) ~(1u << source);
	pc_isa_update(pc, irq);
	/* The PIIX4's RTC_STS follows the RTC's IRQ8 (82371AB, PMSTS): an alarm
	 * wakes a suspended board when PM1_EN.RTC_EN allows it (ACPI 4.8.2.1). */
	if (irq == 8 && source == PC_SOURCE_RTC && level && pc->suspended &&
	    piix_rtc_wake_enabled(&pc->piix))
		pc->wake = PC_WAKE_RTC;
}

/*
 * IOAPIC pin 16 + (n & 7) driven by source (n >> 3): the pins no ISA line
 * reaches (pc-testdev's lines 16-23, the HPET's routes), each the wired OR of
 * its sources.
 */
enum pc_gsi_source { PC_GSI_TESTDEV, PC_GSI_HPET };

static void
pc_gsi(void *opaque, int n, int level)
{
	struct pc *pc = opaque;
	if (pc->restoring)
		return;
	unsigned k = (unsigned)n & 7, source = (unsigned)n >> 3;
	if (level)
		pc->gsi_sources[k] |= (uint8_t)(1u << source);
	else
		pc->gsi_sources[k] &= (uint8_t) ~(1u << source);
	ioapic_set_irq(&pc->ioapic, 16 + k, pc->gsi_sources[k] != 0);
}

/* The line of source `source` on ISA IRQ `irq`. */
static struct irq_line
pc_isa_line(struct pc *pc, unsigned source, unsigned irq)
{
	return IRQ_LINE(pc_isa_irq, pc, (int)(source * 16 + irq));
}

/*
 * A20 is enabled while the 8042's output port or port 0x92 enables it (the
 * two gates are ORed on PIIX boards); n is the source's PC_A20_* bit.
 */
static void
pc_a20(void *opaque, int n, int level)
{
	struct pc *pc = opaque;
	if (pc->restoring)
		return;
	if (level)
		pc->a20_sources |= (uint8_t)n;
	else
		pc->a20_sources &= (uint8_t)~n;
	for (unsigned k = 0; k < pc->ncpus; k++)
		cpu_set_a20(pc->cpus[k], pc->a20_sources != 0);
}

/*
 * A guest asked for a reset (8042 output port, port 0x92, 0xCF9) or for soft
 * off (ACPI SLP_EN), a pulse on the line: the CPU stops after this
 * instruction and the run loop acts on the flag (pc_reset, or exit).
 */
static void
pc_request_reset(void *opaque, int n, int level)
{
	struct pc *pc = opaque;
	if (pc->restoring)
		return;
	(void)n;
	if (!level)
		return;
	pc->reset_requested = true;
	cpu_raise_events(pc_cur_cpu(pc), EV_STOP);
}

static void
pc_request_suspend(void *opaque, int n, int level)
{
	struct pc *pc = opaque;
	(void)n;
	if (pc->restoring || !level)
		return;
	pc->suspend_requested = true;
	cpu_raise_events(pc_cur_cpu(pc), EV_STOP);
}

static void
pc_request_poweroff(void *opaque, int n, int level)
{
	struct pc *pc = opaque;
	if (pc->restoring)
		return;
	(void)n;
	if (!level)
		return;
	pc->poweroff_requested = true;
	cpu_raise_events(pc_cur_cpu(pc), EV_STOP);
}

/*
 * An event for a CPU, a pulse taken at its next instruction boundary: NMI,
 * SMI and INIT from its local APIC (n = PC_CPU_EVENT(k, EV_...)), SMI# from
 * the PIIX (APMC write) and the devices' EV_STOP (n = the event bit alone),
 * which go to the CPU executing now -- the one that wrote the port, as on
 * QEMU's PIIX4.
 */
#define PC_CPU_EVENT(k, ev) ((int)(((k) + 1) << 8 | (ev)))
static void
pc_cpu_event(void *opaque, int n, int level)
{
	struct pc *pc = opaque;
	if (pc->restoring)
		return;
	unsigned k = (unsigned)n >> 8;
	if (level)
		cpu_raise_events(k ? pc->cpus[k - 1] : pc_cur_cpu(pc), (uint32_t)n & 0xff);
}

/* SMIACT#: the CPU entered or left SMM, and the host bridge maps SMRAM for it. */
static void
pc_smm_changed(void *opaque, bool in_smm)
{
	struct pc *pc = opaque;
	i440fx_set_smm(&pc->i440fx, in_smm);
}

/*
 * A PCI INTx# line changed: recompute PIRQA-D, each the wired OR of the
 * INTx# lines swizzled onto it, INT(A+pin)# of slot s on PIRQ (s - 1 + pin)
 * mod 4 (the wiring SeaBIOS and the ACPI tables of this board assume).
 * XXX: the IOAPIC should also see PIRQA-D on its pins 16-19.
 */
static void
pc_pci_intx(void *opaque, unsigned devfn, unsigned pin, bool level)
{
	struct pc *pc = opaque;
	if (pc->restoring)
		return;
	uint8_t pirq = 0;
	(void)devfn;
	(void)pin;
	(void)level;
	for (unsigned d = 0; d < 256; d++)
		for (unsigned p = 0; p < 4; p++)
			if (pc->pci.st.intx[d] >> p & 1)
				pirq |= (uint8_t)(1u << (((d >> 3) + 3 + p) & 3));
	for (unsigned n = 0; n < 4; n++)
		piix_set_pirq(&pc->piix, n, pirq >> n & 1);
}

/*
 * The CMOS bytes a PC BIOS reads for the machine's configuration: the
 * equipment byte, base, extended and high memory sizes, and the AT checksum
 * over 0x10-0x2d.
 */
static void
pc_fill_cmos(struct pc *pc, uint64_t below_4g, uint64_t above_4g, const char *boot_order)
{
	struct rtc *rtc = &pc->rtc;
	uint64_t ext_kb = below_4g > (1u << 20) ? (below_4g - (1u << 20)) >> 10 : 0;
	uint64_t high = below_4g > (16u << 20) ? (below_4g - (16u << 20)) >> 16 : 0;
	uint64_t over4g = above_4g >> 16;
	if (ext_kb > 0xffff)
		ext_kb = 0xffff;
	if (high > 0xffff)
		high = 0xffff;
	rtc_cmos_set(rtc, 0x14, 0x06);       /* FPU present, PS/2 mouse; display EGA/VGA (00) */
	rtc_cmos_set(rtc, 0x15, 640 & 0xff); /* base memory: 640 KiB */
	rtc_cmos_set(rtc, 0x16, 640 >> 8);
	rtc_cmos_set(rtc, 0x17, (uint8_t)ext_kb); /* extended memory above 1 MiB, KiB */
	rtc_cmos_set(rtc, 0x18, (uint8_t)(ext_kb >> 8));
	rtc_cmos_set(rtc, 0x30, (uint8_t)ext_kb);
	rtc_cmos_set(rtc, 0x31, (uint8_t)(ext_kb >> 8));
	rtc_cmos_set(rtc, 0x34, (uint8_t)high); /* memory above 16 MiB, 64 KiB units */
	rtc_cmos_set(rtc, 0x35, (uint8_t)(high >> 8));
	rtc_cmos_set(rtc, 0x5b, (uint8_t)over4g); /* memory above 4 GiB, 64 KiB units */
	rtc_cmos_set(rtc, 0x5c, (uint8_t)(over4g >> 8));
	rtc_cmos_set(rtc, 0x5d, (uint8_t)(over4g >> 16));
	rtc_cmos_set(rtc, 0x5f,
		     (uint8_t)(pc->ncpus - 1)); /* CPUs - 1, as QEMU (SeaBIOS reads it) */
	/* The boot order SeaBIOS reads on QEMU boards (src/boot.c): up to three
	 * devices, 1 floppy, 2 disk, 3 CD-ROM, 4 network; the first in 3Dh bits
	 * 3-0, the second in 3Dh bits 7-4, the third in 38h bits 7-4. */
	if (boot_order) {
		static const char letters[] = "acdn";
		uint32_t order = 0;
		for (unsigned k = 0, n = 0; boot_order[k] && n < 3; k++) {
			const char *l = strchr(letters, boot_order[k]);
			if (l && *l) /* a, c, d, n: 1, 2, 3, 4 */
				order |= (uint32_t)(l - letters + 1) << (4 * n++);
		}
		rtc_cmos_set(rtc, 0x3d, (uint8_t)order);
		rtc_cmos_set(rtc, 0x38, (uint8_t)((order >> 4) & 0xf0));
	}
	unsigned sum = 0;
	for (unsigned k = 0x10; k <= 0x2d; k++)
		sum += rtc_cmos_get(rtc, k);
	rtc_cmos_set(rtc, 0x2e, (uint8_t)(sum >> 8));
	rtc_cmos_set(rtc, 0x2f, (uint8_t)sum);
}

/* Append one e820 entry {u64 base, u64 length, u32 type}, little-endian. */
static size_t
e820_put(uint8_t *p, size_t n, uint64_t base, uint64_t len, uint32_t type)
{
	uint8_t *e = p + n * 20;
	for (unsigned k = 0; k < 8; k++) {
		e[k] = (uint8_t)(base >> (8 * k));
		e[8 + k] = (uint8_t)(len >> (8 * k));
	}
	for (unsigned k = 0; k < 4; k++)
		e[16 + k] = (uint8_t)(type >> (8 * k));
	return n + 1;
}

/* Make the running CPU leave cpu_exec at the next instruction boundary. */
static void
stop_cpu(void *opaque)
{
	cpu_raise_events(pc_cur_cpu(opaque), EV_STOP);
}

/*
 * A device could not claim its ports: name the port and its holder, and the
 * option that put the holder there when it was one (-device isa-debug-exit,
 * the only device whose ports the command line moves).
 */
static int
port_conflict_msg(struct pc *pc, const char *what, char *err, size_t errlen)
{
	const char *holder = pc->io->conflict_owner ? pc->io->conflict_owner : "?";
	snprintf(err, errlen, "%s: port 0x%x is already taken by %s%s", what, pc->io->conflict_port,
		 holder,
		 !strcmp(holder, "isa-debug-exit") ? " (-device isa-debug-exit,iobase=...)" : "");
	return -1;
}
#define port_conflict(what, err, errlen) port_conflict_msg(pc, what, err, errlen)

/*
 * The devices, one create function each (the rows of pc_devices below).
 * Each returns 0 when the device exists, 1 when the configuration leaves it
 * out, -1 with a message in err; a failed create undoes itself.
 */
static int
create_debugport(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	struct debugport *d = dev;
	d->console = cfg->debugcon;
	d->no_e9 = cfg->testdev;
	d->exit_enabled = cfg->exit_device;
	d->exit_iobase = cfg->exit_iobase;
	d->exit_iosize = cfg->exit_iosize;
	d->exit_also_qemu_default = cfg->exit_also_qemu_default;
	d->tracer = cfg->tracer;
	d->stop_cpu = stop_cpu;
	d->stop_opaque = pc;
	if (debugport_init(d, pc->io) < 0) {
		return port_conflict_msg(pc, "-device isa-debug-exit", err, errlen);
	}
	return 0;
}

/* The local APICs, one per CPU with APIC ID = CPU index, on one bus: each
 * takes its CPU's interrupt acknowledge, APIC MSRs and CR8. */
static int
create_lapic(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	struct lapic_config lc[PC_MAX_CPUS];
	for (unsigned k = 0; k < pc->ncpus; k++)
		lc[k] = (struct lapic_config){
			.present = cpu_has(&cfg->cpu, FEAT_APIC),
			.index = k,
			.id = k,
			.x2apic = cpu_has(&cfg->cpu, FEAT_X2APIC),
			.tsc_deadline = cpu_has(&cfg->cpu, FEAT_TSC_DEADLINE),
			.tsc_offset = &pc->cpus[k]->state.tsc_offset,
			.intr = IRQ_LINE(pc_cpu_intr, pc, (int)k),
			.nmi = IRQ_LINE(pc_cpu_event, pc, PC_CPU_EVENT(k, EV_NMI)),
			.smi = IRQ_LINE(pc_cpu_event, pc, PC_CPU_EVENT(k, EV_SMI)),
			.init = IRQ_LINE(pc_cpu_event, pc, PC_CPU_EVENT(k, EV_INIT)),
			.sipi = pc_sipi,
			.extint_ack = pc_extint_ack,
			.eoi = pc_apic_eoi,
			.opaque = pc,
		};
	if (apic_bus_init(dev, pc->lapics, pc->ncpus, pc->mem, &pc->clock, lc) < 0) {
		snprintf(err, errlen, "APIC: the physical map is full");
		return -1;
	}
	/* The processor's APIC page is decoded in the CPU, before any bus cycle
	 * (SDM vol. 3A, 10.4.1): a PCI BAR over it never hides it. */
	physmem_region_set_priority(pc->mem, pc->apics.region, 1);
	return 0;
}

static int
create_ioapic(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	if (ioapic_init(dev, pc->mem, pc_ioapic_deliver, pc) < 0) {
		snprintf(err, errlen, "IOAPIC: the physical map is full");
		return -1;
	}
	/* The chipset decodes the IOAPIC ahead of the PCI bus: a BAR placed over
	 * it does not hide it (QEMU maps PCI space below the board's devices). */
	physmem_region_set_priority(pc->mem, pc->ioapic.region, 1);
	return 0;
}

/*
 * The PC/AT coprocessor error wiring: FERR# sets a latch that drives IRQ13; a
 * write to port F0 clears the latch and asserts IGNNE#, which stays asserted
 * until FERR# goes inactive (SDM vol. 1, appendix D.2.1). The CPU asks for
 * IGNNE# each time it asserts FERR#.
 */
static bool
pc_ferr(void *opaque, bool level)
{
	struct pc *pc = opaque;
	if (pc->restoring)
		return pc->ignne;
	pc->ferr = level;
	if (!level) {
		pc->ignne = false;
		return false;
	}
	struct irq_line irq13 = pc_isa_line(pc, PC_SOURCE_FERR, 13);
	if (!pc->ignne)
		irq_raise(&irq13);
	return pc->ignne;
}

static void
pc_port_f0_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct pc *pc = opaque;
	(void)port, (void)value, (void)size;
	struct irq_line irq13 = pc_isa_line(pc, PC_SOURCE_FERR, 13);
	irq_lower(&irq13);
	pc->ignne = pc->ferr;
}

static int
create_pic(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	if (pic_init(dev, pc->io, IRQ_LINE(pc_pic_intr, pc, 0)) < 0 ||
	    ioports_register(pc->io, 0xf0, 1, "ferr", NULL, pc_port_f0_write, pc, 0) < 0)
		return port_conflict("PIC", err, errlen);
	return 0;
}

/*
 * Could a new rising edge of the PIT's OUT0 change anything? IRQ0 reaches the
 * 8259 (IR0, always edge-triggered on the PIIX: its ELCR bit is reserved) and
 * the IOAPIC's pin 2. Not while the 8259 has the edge latched already (IRR
 * holds it until INTA; further edges merge) and the IOAPIC pin is masked (a
 * masked edge is dropped): then the PIT arms no timer, however fast it runs.
 */
static bool
pc_pit_edges_unseen(void *opaque)
{
	struct pc *pc = opaque;
	return pic_edge_latched(&pc->pic, 0) && ioapic_pin_masked(&pc->ioapic, 2);
}

static void
pc_pit_recheck(void *opaque)
{
	struct pc *pc = opaque;
	if (pc->restoring)
		return;
	pit_recheck(&pc->pit); /* the hooks are set once the PIT exists */
}

static int
create_pit(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	if (pit_init(dev, pc->io, &pc->clock, pc_isa_line(pc, PC_SOURCE_PIT, 0)) < 0)
		return port_conflict("PIT", err, errlen);
	pc->pit.edges_unseen = pc_pit_edges_unseen;
	pc->pit.unseen_opaque = pc;
	pc->pic.latches_cleared = pc_pit_recheck;
	pc->pic.latches_opaque = pc;
	pc->ioapic.redir_changed = pc_pit_recheck;
	return 0;
}

/* The RTC starts at the host's time in realtime mode, at 2000-01-01 otherwise. */
static int
create_rtc(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	int64_t epoch = 946684800; /* deterministic: 2000-01-01 00:00:00 UTC */
	uint64_t phase = 0;
	if (cfg->clock_mode == VCLOCK_REALTIME) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		epoch = ts.tv_sec;
		phase = 1000000000u - (uint64_t)ts.tv_nsec;
	}
	if (rtc_init(dev, pc->io, &pc->clock, epoch, phase, pc_isa_line(pc, PC_SOURCE_RTC, 8)) < 0)
		return port_conflict("RTC", err, errlen);
	return 0;
}

/* COM1-COM4 at IRQ 4, 3, 4, 3; COM1 gets the -serial backend. */
static int
create_uart(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	static const uint16_t com_base[4] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
	static const uint8_t com_irq[4] = { 4, 3, 4, 3 };
	struct uart *u = dev;
	unsigned k = (unsigned)(u - pc->com);
	if (uart_init(u, pc->io, com_base[k], &pc->clock,
		      pc_isa_line(pc, PC_SOURCE_COM1 + k, com_irq[k])) < 0) {
		char what[8];
		snprintf(what, sizeof(what), "COM%u", k + 1);
		return port_conflict(what, err, errlen);
	}
	if (k == 0 && cfg->serial && uart_open_backend(u, cfg->serial, err, errlen) < 0) {
		uart_destroy(u);
		return -1;
	}
	return 0;
}

/* The PCI bus: PIRQA-D are the wired OR of the slots' INTx# (pc_pci_intx). */
static int
create_pci(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	if (pci_bus_init(dev, pc->io, pc_pci_intx, pc) < 0)
		return port_conflict("PCI", err, errlen);
	return 0;
}

/* 00:01.0 ISA bridge and 00:01.3 PM. */
static int
create_piix(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	struct piix_board pb = { .sci = pc_isa_line(pc, PC_SOURCE_SCI, PIIX_SCI_IRQ),
				 .a20 = IRQ_LINE(pc_a20, pc, PC_A20_PORT92),
				 .reset = IRQ_LINE(pc_request_reset, pc, 0),
				 .poweroff = IRQ_LINE(pc_request_poweroff, pc, 0),
				 .suspend = IRQ_LINE(pc_request_suspend, pc, 0),
				 .smi = IRQ_LINE(pc_cpu_event, pc, EV_SMI) };
	(void)cfg;
	for (unsigned irq = 0; irq < 16; irq++)
		pb.isa_irq[irq] = pc_isa_line(pc, PC_SOURCE_PCI, irq);
	if (piix_init(dev, &pc->pci, pc->io, &pc->clock, &pb) < 0)
		return port_conflict("PIIX", err, errlen);
	return 0;
}

static int
create_kbc(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	const struct kbc_board kb = { .irq1 = pc_isa_line(pc, PC_SOURCE_KBD, 1),
				      .irq12 = pc_isa_line(pc, PC_SOURCE_AUX, 12),
				      .a20 = IRQ_LINE(pc_a20, pc, PC_A20_KBC),
				      .reset = IRQ_LINE(pc_request_reset, pc, 0) };
	(void)cfg;
	if (kbc_init(dev, pc->io, &kb) < 0)
		return port_conflict("8042", err, errlen);
	return 0;
}

/* 00:00.0: after the BIOS is mapped, whose alias below 1 MiB it takes as the
 * PCI side of its PAM segments. */
static int
create_i440fx(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	(void)cfg;
	if (i440fx_init(dev, &pc->pci, pc->mem) < 0) {
		snprintf(err, errlen, "i440fx: cannot map the PAM/SMRAM regions");
		return -1;
	}
	return 0;
}

/*
 * The PIIX3 IDE function 00:01.1 and the disks of -hda..-hdd / -drive: a bad
 * image fails here, before any guest code runs.
 */
static int
create_ide(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	const struct ide_board ib = { .irq = { pc_isa_line(pc, PC_SOURCE_IDE, 14),
					       pc_isa_line(pc, PC_SOURCE_IDE + 1, 15) },
				      .dma_done = IRQ_LINE(pc_cpu_event, pc, EV_STOP) };
	if (ide_init(dev, &pc->pci, pc->io, pc->mem, &ib) < 0) {
		ide_destroy(dev);
		snprintf(err, errlen, "IDE: port or PCI slot conflict");
		return -1;
	}
	for (unsigned k = 0; k < 4; k++)
		if (cfg->drive[k].path &&
		    (cfg->drive[k].cdrom
			     ? ide_attach_cdrom(dev, k, cfg->drive[k].path, err, errlen)
			     : ide_attach(dev, k, cfg->drive[k].path, cfg->drive[k].readonly,
					  cfg->snapshot, err, errlen)) < 0) {
			ide_destroy(dev);
			return -1;
		}
	return 0;
}

/*
 * The VGA (-vga std) at 00:02.0, as QEMU places it: its legacy window goes
 * to the host bridge's 0xA0000-0xBFFFF hole. A missing VGA BIOS is an error
 * only here, when the device is wanted.
 */
static int
create_vga(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	if (!cfg->vga)
		return 1;
	const char *rom = cfg->vga_rom_path ? cfg->vga_rom_path : VGA_ROM_DEFAULT_PATH;
	if (vga_init(dev, &pc->pci, 2, pc->io, pc->mem, &pc->clock, rom, err, errlen) < 0) {
		vga_destroy(dev);
		return -1;
	}
	pc->vga_enabled = true;
	pc->vga.work_done = IRQ_LINE(pc_cpu_event, pc, EV_STOP);
	i440fx_set_vga_window(&pc->i440fx, &vga_window_ops, dev);
	return 0;
}

/* The HPET: legacy routes on IRQ0 and IRQ8, its own routes on IOAPIC pins 16-23. */
static int
create_hpet(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	if (cfg->no_hpet)
		return 1;
	struct hpet_board hb = { .irq0 = pc_isa_line(pc, PC_SOURCE_HPET, 0),
				 .irq8 = pc_isa_line(pc, PC_SOURCE_HPET, 8),
				 .legacy = IRQ_LINE(pc_hpet_legacy, pc, 0) };
	for (unsigned k = 0; k < HPET_ROUTES; k++)
		hb.gsi[k] = IRQ_LINE(pc_gsi, pc, (int)(PC_GSI_HPET * 8 + k));
	if (hpet_init(dev, pc->mem, &pc->clock, &hb) < 0) {
		snprintf(err, errlen, "HPET: the physical map is full");
		return -1;
	}
	return 0;
}

/* The e1000's frames to and from its libslirp network. */
static bool
pc_net_deliver(void *opaque, const uint8_t *frame, size_t len)
{
	struct pc *pc = opaque;
	return e1000_receive(&pc->e1000, frame, len);
}

static void
pc_net_send(void *opaque, const uint8_t *frame, size_t len)
{
	struct pc *pc = opaque;
	if (pc->net)
		netdev_send(pc->net, frame, len);
}

static void
pc_net_rx_ready(void *opaque)
{
	struct pc *pc = opaque;
	if (pc->net)
		netdev_rx_ready(pc->net);
}

/*
 * The network card (-nic user, -device e1000) at 00:03.0, where QEMU puts
 * it, with its libslirp network unless it is unconnected.
 */
static int
create_e1000(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	if (!cfg->net.nic)
		return 1;
	struct e1000_board b = { .send = pc_net_send, .rx_ready = pc_net_rx_ready, .opaque = pc };
	memcpy(b.mac, cfg->net.mac, 6);
	if (e1000_init(dev, &pc->pci, 3, pc->io, pc->mem, &pc->clock, &b) < 0) {
		snprintf(err, errlen, "e1000: PCI slot 3 is taken or the physical map is full");
		return -1;
	}
	if (cfg->net.user &&
	    !(pc->net = netdev_create(&cfg->net, pc_net_deliver, pc, err, errlen))) {
		e1000_destroy(dev);
		return -1;
	}
	return 0;
}

static void
e1000_destroy_row(void *dev)
{
	struct pc *pc = (struct pc *)((char *)dev - offsetof(struct pc, e1000));
	e1000_destroy(dev);
	netdev_destroy(pc->net);
	pc->net = NULL;
}

/* -device pc-testdev: lines 0-15 are ISA IRQs, 16-23 IOAPIC pins. */
static int
create_testdev(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	struct testdev *t = dev;
	if (!cfg->testdev)
		return 1;
	for (unsigned n = 0; n < TESTDEV_NLINES; n++)
		t->line[n] = n < 16 ? pc_isa_line(pc, PC_SOURCE_TESTDEV, n)
				    : IRQ_LINE(pc_gsi, pc, (int)(PC_GSI_TESTDEV * 8 + n - 16));
	if (testdev_init(t, pc->io, pc->mem) < 0)
		return port_conflict("pc-testdev", err, errlen);
	return 0;
}

/* -device pci-testdev: the first free slot from 3 on. */
static int
create_pcitestdev(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	if (!cfg->pci_testdev)
		return 1;
	if (pcitestdev_init(dev, &pc->pci, pc->io, pc->mem) < 0) {
		snprintf(err, errlen, "pci-testdev: no free PCI slot or the physical map is full");
		return -1;
	}
	return 0;
}

/*
 * fw_cfg as SeaBIOS reads it (src/fw/paravirt.c): RAM size, one CPU, no NUMA
 * nodes, no boot menu (SeaBIOS's "etc/show-boot-menu" is key 0x0e), the IRQ0
 * override (its MADT/MP table then route the PIT to IOAPIC pin 2), the e820
 * map (RAM below 4 GiB, the IOAPIC and local APIC pages, RAM above 4 GiB), an
 * empty "bootorder" and "etc/boot-fail-wait" -1 (wait, as QEMU's default).
 * Without "etc/table-loader" SeaBIOS builds its own ACPI and MP tables.
 */
static int
create_fwcfg(struct pc *pc, void *dev, const struct pc_config *cfg, char *err, size_t errlen)
{
	struct fwcfg *fw = dev;
	(void)cfg;
	uint8_t numa[8 + 8 * PC_MAX_CPUS] = { 0 }; /* node count 0, then the CPU-to-node map */
	uint8_t e820[4 * 20];
	/* The sleep states SeaBIOS's ACPI tables advertise, by state: bit 7 on,
	 * bits 6-0 the PM1_CNT.SLP_TYP (piix.c): S3 suspend to RAM (1), S5 soft
	 * off (0); no S1, S2 or S4. */
	static const uint8_t system_states[6] = { 0x80, 0, 0, 0x81, 0, 0x80 };
	size_t n = 0;
	n = e820_put(e820, n, 0, pc->mem->ram_below_4g, 1);
	n = e820_put(e820, n, IOAPIC_DEFAULT_BASE, PAGE_SIZE, 2);
	n = e820_put(e820, n, LAPIC_DEFAULT_BASE, PAGE_SIZE, 2);
	if (pc->mem->ram_above_4g)
		n = e820_put(e820, n, PHYS_4G, pc->mem->ram_above_4g, 1);
	if (fwcfg_init(fw, pc->io, pc->mem) < 0)
		goto fail;
	fw->done = IRQ_LINE(pc_cpu_event, pc, EV_STOP);
	if (fwcfg_add_u64(fw, FWCFG_RAM_SIZE, pc->mem->ram_size) < 0 ||
	    fwcfg_add_u16(fw, FWCFG_NOGRAPHIC, 0) < 0 ||
	    fwcfg_add_u16(fw, FWCFG_NB_CPUS, (uint16_t)pc->ncpus) < 0 ||
	    fwcfg_add_u16(fw, FWCFG_MAX_CPUS, (uint16_t)pc->max_cpus) < 0 ||
	    fwcfg_add_bytes(fw, FWCFG_NUMA, numa, 8 + 8 * pc->max_cpus) < 0 ||
	    fwcfg_add_u16(fw, FWCFG_BOOT_MENU, 0) < 0 ||
	    fwcfg_add_u32(fw, FWCFG_IRQ0_OVERRIDE, 1) < 0 ||
	    fwcfg_add_file(fw, "etc/e820", e820, (uint32_t)(n * 20)) < 0 ||
	    fwcfg_add_file(fw, "bootorder", "", 0) < 0 ||
	    fwcfg_add_file(fw, "etc/boot-fail-wait", "\xff\xff\xff\xff", 4) < 0 ||
	    fwcfg_add_file(fw, "etc/system-states", system_states, sizeof(system_states)) < 0) {
		fwcfg_destroy(fw);
		goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "fw_cfg: port conflict or out of memory");
	return -1;
}

/*
 * The table's calls into the devices: each device's own functions, reached
 * through `void *` (a call through a cast function pointer would be undefined).
 */
#define PC_RESET(dev)                                                                              \
	static void dev##_reset_row(void *d)                                                       \
	{                                                                                          \
		dev##_reset(d);                                                                    \
	}
#define PC_SAVE(dev)                                                                               \
	static size_t dev##_save_row(const void *d, void *buf, size_t len)                         \
	{                                                                                          \
		return dev##_save(d, buf, len);                                                    \
	}                                                                                          \
	static int dev##_restore_row(void *d, const void *buf, size_t len)                         \
	{                                                                                          \
		return dev##_restore(d, buf, len);                                                 \
	}                                                                                          \
	static int dev##_check_row(const void *d, const void *buf, size_t len, char *err,          \
				   size_t errlen)                                                  \
	{                                                                                          \
		return dev##_check(d, buf, len, err, errlen);                                      \
	}
#define PC_DESTROY(dev)                                                                            \
	static void dev##_destroy_row(void *d)                                                     \
	{                                                                                          \
		dev##_destroy(d);                                                                  \
	}

PC_RESET(debugport)
PC_RESET(apic_bus)
PC_SAVE(apic_bus)
PC_RESET(ioapic)
PC_SAVE(ioapic)
PC_RESET(pic)
PC_SAVE(pic)
PC_RESET(pit)
PC_SAVE(pit)
PC_RESET(rtc)
PC_SAVE(rtc)
PC_RESET(uart)
PC_SAVE(uart)
PC_DESTROY(uart)
PC_RESET(pci_bus)
PC_SAVE(pci_bus)
PC_RESET(piix)
PC_SAVE(piix)
PC_RESET(kbc)
PC_SAVE(kbc)
PC_RESET(i440fx)
PC_SAVE(i440fx)
PC_RESET(ide)
PC_SAVE(ide)
PC_DESTROY(ide)
PC_RESET(vga)
PC_SAVE(vga)
PC_DESTROY(vga)
PC_RESET(hpet)
PC_SAVE(hpet)
PC_RESET(testdev)
PC_SAVE(testdev)
PC_RESET(pcitestdev)
PC_SAVE(pcitestdev)
PC_RESET(e1000)
PC_SAVE(e1000)
PC_RESET(fwcfg)
PC_SAVE(fwcfg)
PC_DESTROY(fwcfg)

#define ROW(nm, ver, field, dev, mk, rm)                                                           \
	{                                                                                          \
		.name = nm, .version = ver, .offset = offsetof(struct pc, field), .create = mk,    \
		.reset = dev##_reset_row, .destroy = rm, .save = dev##_save_row,                   \
		.restore = dev##_restore_row, .check = dev##_check_row                             \
	}

/*
 * The board's devices in creation order: the interrupt controllers before
 * the devices that drive lines into them, the PCI bus before its functions,
 * the host bridge before the VGA whose window it decodes, the e1000 before
 * pci-testdev (the e1000 has slot 3, as in QEMU; pci-testdev takes the first
 * free one). Reset walks the same order; teardown the reverse.
 */
const struct pc_device pc_devices[] = {
	{ .name = "debugport",
	  .offset = offsetof(struct pc, debug),
	  .create = create_debugport,
	  .reset = debugport_reset_row },
	ROW("lapic", 1, apics, apic_bus, create_lapic, NULL),
	ROW("ioapic", 1, ioapic, ioapic, create_ioapic, NULL),
	ROW("pic", 1, pic, pic, create_pic, NULL),
	ROW("pit", 1, pit, pit, create_pit, NULL),
	ROW("rtc", 1, rtc, rtc, create_rtc, NULL),
	ROW("com1", 1, com[0], uart, create_uart, uart_destroy_row),
	ROW("com2", 1, com[1], uart, create_uart, uart_destroy_row),
	ROW("com3", 1, com[2], uart, create_uart, uart_destroy_row),
	ROW("com4", 1, com[3], uart, create_uart, uart_destroy_row),
	ROW("pci", 1, pci, pci_bus, create_pci, NULL),
	ROW("piix", 1, piix, piix, create_piix, NULL),
	ROW("kbc", 1, kbc, kbc, create_kbc, NULL),
	ROW("i440fx", 1, i440fx, i440fx, create_i440fx, NULL),
	ROW("ide", 1, ide, ide, create_ide, ide_destroy_row),
	ROW("vga", 1, vga, vga, create_vga, vga_destroy_row),
	ROW("e1000", 1, e1000, e1000, create_e1000, e1000_destroy_row),
	ROW("hpet", 1, hpet, hpet, create_hpet, NULL),
	ROW("pc-testdev", 1, testdev, testdev, create_testdev, NULL),
	ROW("pci-testdev", 1, pcitestdev, pcitestdev, create_pcitestdev, NULL),
	ROW("fw_cfg", 1, fwcfg, fwcfg, create_fwcfg, fwcfg_destroy_row),
};
const size_t pc_ndevices = sizeof(pc_devices) / sizeof(pc_devices[0]);

void *
pc_device(struct pc *pc, size_t i)
{
	if (i >= pc_ndevices || !(pc->live >> i & 1))
		return NULL;
	return (char *)pc + pc_devices[i].offset;
}

bool
pc_poll_host(struct pc *pc)
{
	bool got = false;
	for (unsigned k = 0; k < 4; k++)
		got |= uart_poll(&pc->com[k]);
	if (pc->net)
		got |= netdev_poll(pc->net);
	return got;
}

unsigned
pc_wait_fds(struct pc *pc, struct pollfd *pfd, unsigned max, uint64_t *within_ns)
{
	unsigned n = 0;
	if (max == 0)
		return 0;
	pfd[n++] = (struct pollfd){ .fd = uart_wait_fd(&pc->com[0]), .events = POLLIN };
	if (pc->net)
		n += netdev_wait_fds(pc->net, pfd + n, max - n, within_ns);
	return n;
}

/* The VMX-preemption timer of a CPU (cpu_bus.vmx_timer_arm, cpu/vmx/timer.c). */
static void
pc_vmx_timer_arm(void *timer, uint64_t deadline_ns)
{
	if (deadline_ns == VCLOCK_NEVER)
		vtimer_disarm(timer);
	else
		vtimer_arm(timer, deadline_ns);
}

static void
pc_vmx_timer_cb(void *cpu)
{
	vmx_preempt_fire(cpu);
}

struct pc *
pc_create(const struct pc_config *cfg, char *err, size_t errlen)
{
	struct pc *pc = calloc(1, sizeof(*pc));
	if (!pc) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* A backend whose reader went away (a closed pipe, a peer) makes a write
	 * fail with EPIPE, which the backends handle; it must not kill fugu. */
	signal(SIGPIPE, SIG_IGN);
	pc->tracer = cfg->tracer;
	pc->mem = physmem_create(cfg->ram_size);
	pc->io = ioports_create();
	if (!pc->mem || !pc->io) {
		snprintf(err, errlen, "cannot allocate %llu MiB of guest RAM",
			 (unsigned long long)(cfg->ram_size >> 20));
		pc_destroy(pc);
		return NULL;
	}
	if (bios_load(pc->mem, cfg->bios_path, err, errlen) < 0) {
		pc_destroy(pc);
		return NULL;
	}
	pc->ncpus = cfg->ncpus ? cfg->ncpus : 1;
	pc->max_cpus = cfg->max_cpus > pc->ncpus ? cfg->max_cpus : pc->ncpus;
	if (pc->max_cpus > PC_MAX_CPUS) {
		snprintf(err, errlen, "-smp: at most %u CPUs", PC_MAX_CPUS);
		pc_destroy(pc);
		return NULL;
	}
	/* Each CPU reaches the board through its bus: interrupts are acknowledged by
	 * its local APIC (which passes ExtINT on to the PIC), SMRAM is the i440FX's.
	 * The CPUs share the BSP's decoded-trace cache. */
	for (unsigned k = 0; k < pc->ncpus; k++) {
		struct cpu_config cc = {
			.mem = pc->mem,
			.io = pc->io,
			.features = cfg->cpu,
			.bus = { .intr_ack = lapic_intr_ack,
				 .opaque = &pc->lapics[k],
				 .smm_changed = pc_smm_changed,
				 .smm_opaque = pc,
				 .apic = &pc->lapics[k],
				 .apic_msr_read = lapic_msr_read,
				 .apic_msr_write = lapic_msr_write,
				 .apic_get_cr8 = lapic_get_cr8,
				 .apic_set_cr8 = lapic_set_cr8,
				 .apic_eoi = lapic_eoi,
				 .ferr = pc_ferr,
				 .ferr_opaque = pc,
				 .vmx_timer_arm = pc_vmx_timer_arm,
				 .vmx_timer_opaque = &pc->vmx_timers[k] },
			.clock_ns = clock_now,
			.clock_opaque = &pc->clock,
			.tracer = cfg->tracer,
			.count_insns = cfg->count_insns,
			.jit = cfg->jit,
			.index = k,
			.apic_id = k,
			.share_with = k ? pc->cpus[0] : NULL,
		};
		pc->cpus[k] = cpu_create(&cc);
		if (!pc->cpus[k]) {
			snprintf(err, errlen, "out of memory creating the CPU");
			pc_destroy(pc);
			return NULL;
		}
	}
	pc->cpu = pc->cpus[0];
	vclock_init(&pc->clock, cfg->clock_mode, &pc->cpu->icount);
	if (tracer_wants(cfg->tracer, TRACE_CAT_MMIO)) {
		pc->mem->trace = trace_mmio;
		pc->mem->trace_opaque = cfg->tracer;
	}
	if (tracer_wants(cfg->tracer, TRACE_CAT_IO)) {
		pc->io->trace = trace_port;
		pc->io->trace_opaque = cfg->tracer;
	}

	for (size_t i = 0; i < pc_ndevices; i++) {
		int r = pc_devices[i].create(pc, (char *)pc + pc_devices[i].offset, cfg, err,
					     errlen);
		if (r < 0) {
			pc_destroy(pc);
			return NULL;
		}
		if (r == 0)
			pc->live |= 1u << i;
	}
	/* After the devices' timers, so that their order on the clock (snapshots) stays. */
	if (cpu_has(&cfg->cpu, FEAT_VMX))
		for (unsigned k = 0; k < pc->ncpus; k++)
			vtimer_init(&pc->vmx_timers[k], &pc->clock, "vmx-preempt", pc_vmx_timer_cb,
				    pc->cpus[k]);
	pc_fill_cmos(pc, pc->mem->ram_below_4g, pc->mem->ram_above_4g, cfg->boot_order);
	/* Direct boot: the kernel's pieces and fugu's option ROM go into fw_cfg;
	 * SeaBIOS boots the ROM, which loads and starts the kernel. */
	if (cfg->kernel && loader_load(&pc->fwcfg, pc->mem->ram_below_4g, cfg->kernel, cfg->initrd,
				       cfg->append, err, errlen) < 0) {
		pc_destroy(pc);
		return NULL;
	}
	return pc;
}

void
pc_destroy(struct pc *pc)
{
	if (!pc)
		return;
	for (size_t i = pc_ndevices; i-- > 0;) {
		void *dev = pc_device(pc, i);
		if (dev && pc_devices[i].destroy)
			pc_devices[i].destroy(dev);
	}
	for (unsigned k = pc->ncpus; k-- > 0;)
		cpu_destroy(pc->cpus[k]);
	vclock_destroy(&pc->clock);
	ioports_destroy(pc->io);
	physmem_destroy(pc->mem);
	free(pc);
}

/*
 * The run loop switches CPUs between slices. The xAPIC page answers for the
 * new CPU; the host bridge shows SMRAM only while the running CPU is in SMM;
 * deterministic time goes on from where the last CPU left it, counted by the
 * new CPU's instructions; the tracer heads device events with it.
 */
void
pc_switch_cpu(struct pc *pc, unsigned k)
{
	struct cpu *old = pc_cur_cpu(pc), *cpu = pc->cpus[k];
	if (k == pc->cur)
		return;
	pc->cur = k;
	apic_bus_set_current(&pc->apics, k);
	if (old->state.in_smm != cpu->state.in_smm)
		i440fx_set_smm(&pc->i440fx, cpu->state.in_smm);
	vclock_set_icount(&pc->clock, &cpu->icount);
	if (pc->tracer)
		pc->tracer->cpu = cpu;
	/* EV_STOP asks for the run loop, which is here: the SMRAM switch above
	 * (a map change) must not end the new CPU's slice before it starts. */
	cpu_clear_events(cpu, EV_STOP);
}

/*
 * ACPI S3, as QEMU's PC does it: the CPUs stop, RAM and the devices keep their
 * state and the clock runs, CMOS 0Fh (the shutdown status byte) says 0FEh so
 * that the firmware resumes instead of booting (SeaBIOS: the FACS waking
 * vector), and a wake event resets the machine.
 */
void
pc_suspend(struct pc *pc)
{
	pc->suspend_requested = false;
	pc->suspended = true;
	pc->wake = PC_WAKE_NONE;
	rtc_cmos_set(&pc->rtc, 0x0f, 0xfe);
}

void
pc_wakeup(struct pc *pc)
{
	bool rtc = pc->wake == PC_WAKE_RTC;
	pc->suspended = false;
	pc->wake = PC_WAKE_NONE;
	/* The shadow RAM mapping survives, as on QEMU's i440FX (whose PAM no
	 * reset clears): SeaBIOS resumes only when its F-segment copy, which
	 * says POST has run, is still mapped (then CMOS 0Fh = 0FEh: the FACS
	 * waking vector). A firmware that re-POSTs from flash is unaffected. */
	uint8_t pam[I440FX_NPAM];
	i440fx_get_pam(&pc->i440fx, pam);
	pc_reset(pc);
	i440fx_set_pam(&pc->i440fx, pam);
	piix_woke(&pc->piix, rtc);
}

void
pc_power_button(struct pc *pc)
{
	if (pc->suspended)
		pc->wake = PC_WAKE_BUTTON;
	else
		piix_power_button(&pc->piix); /* the guest's ACPI code decides what to do */
}

void
pc_reset(struct pc *pc)
{
	pc_switch_cpu(pc, 0);
	for (unsigned k = 0; k < pc->ncpus; k++)
		cpu_reset(pc->cpus[k]);
	for (size_t i = 0; i < pc_ndevices; i++) {
		void *dev = pc_device(pc, i);
		if (dev)
			pc_devices[i].reset(dev);
	}
	pc->reset_requested = false;
	pc->ferr = pc->ignne = false;
	struct irq_line irq13 = pc_isa_line(pc, PC_SOURCE_FERR, 13);
	irq_lower(&irq13);
}

void
pc_board_save(const struct pc *pc, struct pc_board_saved *s)
{
	memset(s, 0, sizeof(*s));
	memcpy(s->irq_sources, pc->irq_sources, sizeof(s->irq_sources));
	s->a20_sources = pc->a20_sources;
	s->reset_requested = pc->reset_requested;
	s->poweroff_requested = pc->poweroff_requested;
	s->ferr = pc->ferr;
	s->ignne = pc->ignne;
	s->cur = (uint8_t)pc->cur;
	s->suspended = pc->suspended;
	s->hpet_legacy = pc->hpet_legacy;
	memcpy(s->gsi_sources, pc->gsi_sources, sizeof(s->gsi_sources));
}

/*
 * Restoring a snapshot: the board's own state, then (pc_devices' restore
 * functions) the devices', then pc_restore_end. In between the board's inputs
 * are deaf: each end of every line holds its own saved view of it (the PIC's
 * input levels, the IOAPIC's pins and remote IRR, irq_sources here), and a
 * half-restored device re-driving a line would latch an edge the saved run
 * never saw.
 */
void
pc_restore_begin(struct pc *pc, const struct pc_board_saved *s)
{
	memcpy(pc->irq_sources, s->irq_sources, sizeof(pc->irq_sources));
	pc->a20_sources = s->a20_sources;
	pc->reset_requested = s->reset_requested;
	pc->poweroff_requested = s->poweroff_requested;
	pc->ferr = s->ferr;
	pc->ignne = s->ignne;
	pc->suspended = s->suspended;
	pc->hpet_legacy = s->hpet_legacy;
	memcpy(pc->gsi_sources, s->gsi_sources, sizeof(pc->gsi_sources));
	pc->suspend_requested = false;
	pc->wake = PC_WAKE_NONE;
	pc->restoring = true;
	/* The executing CPU as saved, without pc_switch_cpu's side effects: the
	 * clock's time and the SMRAM mapping are restored as they were. */
	pc->cur = s->cur < pc->ncpus ? s->cur : 0;
	apic_bus_set_current(&pc->apics, pc->cur);
	vclock_set_icount(&pc->clock, &pc->cpus[pc->cur]->icount);
	if (pc->tracer)
		pc->tracer->cpu = pc->cpus[pc->cur];
}

/* The CPUs' inputs from the restored board: INTR is each local APIC's output,
 * A20 the gates' OR (a CPU's own events, NMI/SMI latches, are its state). */
void
pc_restore_end(struct pc *pc)
{
	pc->restoring = false;
	for (unsigned k = 0; k < pc->ncpus; k++) {
		if (pc->lapics[k].intr)
			cpu_raise_events(pc->cpus[k], EV_INTR);
		else
			cpu_clear_events(pc->cpus[k], EV_INTR);
		cpu_set_a20(pc->cpus[k], pc->a20_sources != 0);
	}
	if (pc->reset_requested || pc->poweroff_requested)
		cpu_raise_events(pc_cur_cpu(pc), EV_STOP);
}
