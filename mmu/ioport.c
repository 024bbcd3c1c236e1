/*
 * fugu — the port I/O dispatch table.
 *
 * A multi-byte access goes to the owner of its first port; a device that owns a
 * wider register decodes the size itself. An access whose first port is unowned,
 * or owned by a byte-wide handler, is split into byte accesses dispatched in
 * turn, so that e.g. a word read spanning two devices still works.
 */
#include "mmu/ioport.h"

#include <stdlib.h>
#include <string.h>

struct ioports *
ioports_create(void)
{
	return calloc(1, sizeof(struct ioports));
}

void
ioports_destroy(struct ioports *io)
{
	free(io);
}

int
ioports_register(struct ioports *io, uint16_t base, unsigned count, const char *owner,
		 ioport_read_fn rd, ioport_write_fn wr, void *opaque, unsigned flags)
{
	if (base + count > 65536u)
		return -1;
	for (unsigned i = 0; i < count; i++)
		if (io->port[base + i].owner) { /* kept for the error message */
			io->conflict_port = (uint16_t)(base + i);
			io->conflict_owner = io->port[base + i].owner;
			return -1;
		}
	for (unsigned i = 0; i < count; i++)
		io->port[base + i] = (struct ioport){ rd, wr, opaque, owner, flags };
	return 0;
}

/*
 * A port belongs to an owner by its name and opaque pointer together: one
 * device may own fixed ports and a relocatable BAR with the same opaque (the
 * PIIX: port 0x92, 0xB2, 0xCF9 and the PM I/O space), and moving the BAR over
 * the fixed ports and away must not take them.
 */
static bool
same_owner(const struct ioport *p, const char *owner, const void *opaque)
{
	return p->opaque == opaque && !strcmp(p->owner, owner);
}

void
ioports_map(struct ioports *io, uint16_t base, unsigned count, const char *owner, ioport_read_fn rd,
	    ioport_write_fn wr, void *opaque, unsigned flags)
{
	for (unsigned i = 0; i < count && base + i < 65536u; i++) {
		struct ioport *p = &io->port[base + i];
		if (p->owner && !same_owner(p, owner, opaque))
			continue; /* another owner's port: the BAR overlaps it */
		*p = (struct ioport){ rd, wr, opaque, owner, flags };
	}
}

void
ioports_unmap(struct ioports *io, uint16_t base, unsigned count, const char *owner, void *opaque)
{
	for (unsigned i = 0; i < count && base + i < 65536u; i++) {
		struct ioport *p = &io->port[base + i];
		if (p->owner && same_owner(p, owner, opaque))
			*p = (struct ioport){ 0 };
	}
}

static uint32_t
dispatch_read(struct ioports *io, uint16_t port, unsigned size)
{
	const struct ioport *p = &io->port[port];
	if (size == 1 || (p->owner && !(p->flags & IOPORT_BYTE_WIDE))) {
		if (p->read)
			return p->read(p->opaque, port, size);
		return 0xffffffffu >> (32 - 8 * size);
	}
	uint32_t v = 0; /* unowned or byte-wide: one byte at a time, little-endian */
	for (unsigned i = 0; i < size; i++)
		v |= dispatch_read(io, (uint16_t)(port + i), 1) << (8 * i);
	return v;
}

static void
dispatch_write(struct ioports *io, uint16_t port, uint32_t value, unsigned size)
{
	const struct ioport *p = &io->port[port];
	if (size == 1 || (p->owner && !(p->flags & IOPORT_BYTE_WIDE))) {
		if (p->write)
			p->write(p->opaque, port, value, size);
		return;
	}
	for (unsigned i = 0; i < size; i++)
		dispatch_write(io, (uint16_t)(port + i), (value >> (8 * i)) & 0xff, 1);
}

uint32_t
ioport_read(struct ioports *io, uint16_t port, unsigned size)
{
	uint32_t v = dispatch_read(io, port, size);
	if (io->trace)
		io->trace(io->trace_opaque, port, v, size, 0);
	return v;
}

void
ioport_write(struct ioports *io, uint16_t port, uint32_t value, unsigned size)
{
	if (io->trace)
		io->trace(io->trace_opaque, port, value, size, 1);
	dispatch_write(io, port, value, size);
}
