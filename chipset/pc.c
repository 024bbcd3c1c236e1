/*
 * fugu — the board.
 */
#include "chipset/pc.h"

#include <stdlib.h>
#include <time.h>

#include "chipset/ioport.h"
#include "cpu/cpu.h"
#include "firmware/bios.h"
#include "frontend/trace.h"
#include "mmu/physmem.h"

static uint64_t
clock_now(void *opaque)
{
	return vclock_now(opaque);
}

static void
trace_port(void *opaque, uint16_t port, uint32_t value, unsigned size, int is_write)
{
	union trace_value v[3] = { { .u = port }, { .u = size }, { .u = value } };
	trace_emit(opaque, is_write ? TEV_IO_OUT : TEV_IO_IN, v);
}

/*
 * The PIC's INTR output: the CPU's "interrupt pending" event.
 */
static void
pc_set_intr(void *opaque, bool level)
{
	struct pc *pc = opaque;
	if (level)
		cpu_raise_events(pc->cpu, EV_INTR);
	else
		cpu_clear_events(pc->cpu, EV_INTR);
}

/*
 * A device drives its ISA IRQ line: the line is high while any device on it
 * drives it high (COM1/COM3 and COM2/COM4 share IRQ4 and IRQ3).
 */
static void
pc_set_irq(void *opaque, bool level)
{
	struct pc_irq_pin *pin = opaque;
	struct pc *pc = pin->pc;
	uint16_t *src = &pc->irq_sources[pin->irq];
	if (level)
		*src |= (uint16_t)(1u << pin->source);
	else
		*src &= (uint16_t)~(1u << pin->source);
	pic_set_irq(&pc->pic, pin->irq, *src != 0);
}

static struct pc_irq_pin *
pc_pin(struct pc *pc, unsigned source, unsigned irq)
{
	pc->pins[source] = (struct pc_irq_pin){ .pc = pc, .irq = (uint8_t)irq,
						.source = (uint8_t)source };
	return &pc->pins[source];
}

/*
 * The CMOS bytes a PC BIOS reads for the machine's configuration: the
 * equipment byte, base, extended and high memory sizes, and the AT checksum
 * over 0x10-0x2d.
 */
static void
pc_fill_cmos(struct pc *pc, uint64_t below_4g, uint64_t above_4g)
{
	struct rtc *rtc = &pc->rtc;
	uint64_t ext_kb = below_4g > (1u << 20) ? (below_4g - (1u << 20)) >> 10 : 0;
	uint64_t high = below_4g > (16u << 20) ? (below_4g - (16u << 20)) >> 16 : 0;
	uint64_t over4g = above_4g >> 16;
	if (ext_kb > 0xffff)
		ext_kb = 0xffff;
	if (high > 0xffff)
		high = 0xffff;
	rtc_cmos_set(rtc, 0x14, 0x06); /* FPU present, PS/2 mouse; display EGA/VGA (00) */
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
	unsigned sum = 0;
	for (unsigned k = 0x10; k <= 0x2d; k++)
		sum += rtc_cmos_get(rtc, k);
	rtc_cmos_set(rtc, 0x2e, (uint8_t)(sum >> 8));
	rtc_cmos_set(rtc, 0x2f, (uint8_t)sum);
}

/*
 * The chipset devices: PIC, PIT (IRQ0), RTC (IRQ8), COM1-COM4 (IRQ 4, 3, 4, 3).
 */
static int
pc_init_chipset(struct pc *pc, const struct pc_config *cfg, char *err, size_t errlen)
{
	static const uint16_t com_base[4] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
	static const uint8_t com_irq[4] = { 4, 3, 4, 3 };
	int64_t epoch = 946684800; /* deterministic: 2000-01-01 00:00:00 UTC */
	uint64_t phase = 0;
	if (cfg->clock_mode == VCLOCK_REALTIME) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		epoch = ts.tv_sec;
		phase = 1000000000u - (uint64_t)ts.tv_nsec;
	}
	if (pic_init(&pc->pic, pc->io, pc_set_intr, pc) < 0 ||
	    pit_init(&pc->pit, pc->io, &pc->clock, pc_set_irq, pc_pin(pc, 0, 0)) < 0 ||
	    rtc_init(&pc->rtc, pc->io, &pc->clock, epoch, phase, pc_set_irq, pc_pin(pc, 1, 8)) < 0) {
		snprintf(err, errlen, "chipset: port conflict");
		return -1;
	}
	for (unsigned k = 0; k < 4; k++) {
		if (uart_init(&pc->com[k], pc->io, com_base[k], &pc->clock, pc_set_irq,
			      pc_pin(pc, 2 + k, com_irq[k])) < 0) {
			snprintf(err, errlen, "COM%u: port conflict", k + 1);
			return -1;
		}
	}
	if (cfg->serial && uart_open_backend(&pc->com[0], cfg->serial, err, errlen) < 0)
		return -1;
	pc->cpu->bus.intr_ack = pic_intr_ack;
	pc->cpu->bus.opaque = &pc->pic;
	pc_fill_cmos(pc, pc->mem->ram_below_4g, pc->mem->ram_above_4g);
	return 0;
}

bool
pc_poll_host(struct pc *pc)
{
	bool got = false;
	for (unsigned k = 0; k < 4; k++)
		got |= uart_poll(&pc->com[k]);
	return got;
}

int
pc_wait_fd(const struct pc *pc)
{
	return uart_wait_fd(&pc->com[0]);
}

/* Make the CPU leave cpu_exec at the next instruction boundary. */
static void
stop_cpu(void *opaque)
{
	cpu_raise_events(opaque, EV_STOP);
}

struct pc *
pc_create(const struct pc_config *cfg, char *err, size_t errlen)
{
	struct pc *pc = calloc(1, sizeof(*pc));
	if (!pc) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
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
	pc->cpu = cpu_create(pc->mem, pc->io, &cfg->cpu);
	if (!pc->cpu) {
		snprintf(err, errlen, "out of memory creating the CPU");
		pc_destroy(pc);
		return NULL;
	}
	vclock_init(&pc->clock, cfg->clock_mode, &pc->cpu->icount);
	pc->cpu->clock_ns = clock_now;
	pc->cpu->clock_opaque = &pc->clock;
	if (tracer_wants(cfg->tracer, TRACE_CAT_INT))
		pc->cpu->tracer = cfg->tracer;
	if (tracer_wants(cfg->tracer, TRACE_CAT_INSN))
		pc->cpu->tracer = cfg->tracer;
	if (tracer_wants(cfg->tracer, TRACE_CAT_IO)) {
		pc->io->trace = trace_port;
		pc->io->trace_opaque = cfg->tracer;
	}

	pc->debug.console = cfg->debugcon;
	pc->debug.exit_enabled = cfg->exit_device;
	pc->debug.exit_iobase = cfg->exit_iobase;
	pc->debug.exit_iosize = cfg->exit_iosize;
	pc->debug.exit_also_qemu_default = cfg->exit_also_qemu_default;
	pc->debug.tracer = cfg->tracer;
	pc->debug.stop_cpu = stop_cpu;
	pc->debug.stop_opaque = pc->cpu;
	if (debugport_init(&pc->debug, pc->io) < 0) {
		snprintf(err, errlen, "isa-debug-exit: port 0x%x is already in use", cfg->exit_iobase);
		pc_destroy(pc);
		return NULL;
	}
	pc->chipset_ready = true;
	if (pc_init_chipset(pc, cfg, err, errlen) < 0) {
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
	if (pc->chipset_ready) {
		for (unsigned k = 0; k < 4; k++)
			uart_destroy(&pc->com[k]);
	}
	cpu_destroy(pc->cpu);
	vclock_destroy(&pc->clock);
	ioports_destroy(pc->io);
	physmem_destroy(pc->mem);
	free(pc);
}

void
pc_reset(struct pc *pc)
{
	cpu_reset(pc->cpu);
	debugport_reset(&pc->debug);
	pic_reset(&pc->pic);
	pit_reset(&pc->pit);
	rtc_reset(&pc->rtc);
	for (unsigned k = 0; k < 4; k++)
		uart_reset(&pc->com[k]);
}
