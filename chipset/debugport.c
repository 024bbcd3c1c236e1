/*
 * fugu — the debug ports.
 *
 * Port 0x80: POST codes, kept and traced (category io). Ports 0xe9 and 0x402:
 * bytes written go to the -debugcon backend; reading returns 0xe9, which is how
 * Bochs and QEMU let firmware detect the console. With pc-testdev, whose
 * scratch alias covers 0xe8-0xeb, the console is at 0x402 alone. isa-debug-exit: a write of v
 * ends the run with exit status (v << 1) | 1.
 */
#include "chipset/debugport.h"

#include "mmu/ioport.h"
#include "trace/events.h"

static uint32_t
post_read(void *opaque, uint16_t port, unsigned size)
{
	struct debugport *d = opaque;
	(void)port;
	(void)size;
	return d->last_post;
}

static void
post_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct debugport *d = opaque;
	(void)port;
	(void)size;
	d->last_post = (uint8_t)value;
	trace_post(d->tracer, NULL, d->last_post);
}

static uint32_t
console_read(void *opaque, uint16_t port, unsigned size)
{
	(void)opaque;
	(void)port;
	(void)size;
	return 0xe9;
}

static void
console_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct debugport *d = opaque;
	(void)port;
	if (!d->console)
		return;
	for (unsigned k = 0; k < size; k++)
		fputc((value >> (8 * k)) & 0xff, d->console);
	if ((value & 0xff) == '\n')
		fflush(d->console);
}

static void
exit_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct debugport *d = opaque;
	(void)port;
	if (size < 4)
		value &= (1u << (8 * size)) - 1;
	if (d->exit_requested)
		return;
	d->exit_requested = true;
	d->exit_status = (int)((value << 1) | 1);
	if (d->stop_cpu)
		d->stop_cpu(d->stop_opaque); /* nothing after the OUT may run, as in QEMU */
}

int
debugport_init(struct debugport *d, struct ioports *io)
{
	if (ioports_register(io, 0x80, 1, "post", post_read, post_write, d, 0) ||
	    (!d->no_e9 &&
	     ioports_register(io, 0xe9, 1, "debugcon", console_read, console_write, d, 0)) ||
	    ioports_register(io, 0x402, 1, "debugcon", console_read, console_write, d, 0))
		return -1;
	if (d->exit_enabled && ioports_register(io, d->exit_iobase, d->exit_iosize,
						"isa-debug-exit", NULL, exit_write, d, 0))
		return -1;
	if (d->exit_enabled && d->exit_also_qemu_default &&
	    ioports_register(io, 0x501, 2, "isa-debug-exit", NULL, exit_write, d, 0))
		return -1;
	return 0;
}

void
debugport_reset(struct debugport *d)
{
	d->last_post = 0;
}
