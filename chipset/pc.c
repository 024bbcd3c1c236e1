/*
 * fugu — the board.
 */
#include "chipset/pc.h"

#include <stdlib.h>

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
	pc->debug.tracer = cfg->tracer;
	if (debugport_init(&pc->debug, pc->io) < 0) {
		snprintf(err, errlen, "isa-debug-exit: port 0x%x is already in use", cfg->exit_iobase);
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
}
