/*
 * fugu — the I/O address space, beside the physical map: one flat 64K-entry
 * port dispatch table, filled by the board, so "who owns port 0x61?" is one
 * array index. Unclaimed ports read as all ones and drop writes, like an ISA
 * bus with nothing driving it.
 */
#ifndef FUGU_IOPORT_H
#define FUGU_IOPORT_H

#include <stdbool.h>
#include <stdint.h>

/* size is 1, 2 or 4; port is the absolute port number. */
typedef uint32_t (*ioport_read_fn)(void *opaque, uint16_t port, unsigned size);
typedef void (*ioport_write_fn)(void *opaque, uint16_t port, uint32_t value, unsigned size);

/* Flags of a port's handler. */
#define IOPORT_BYTE_WIDE 0x1u /* takes byte accesses only: the table splits wider ones */

struct ioport {
	ioport_read_fn read;
	ioport_write_fn write;
	void *opaque;
	const char *owner;
	unsigned flags; /* IOPORT_* */
};

struct ioports {
	struct ioport port[65536];
	/* Called for every access when set (the `io` trace category). */
	void (*trace)(void *opaque, uint16_t port, uint32_t value, unsigned size, int is_write);
	void *trace_opaque;
	/* The last refused ioports_register: the port and who holds it. */
	uint16_t conflict_port;
	const char *conflict_owner;
};

struct ioports *ioports_create(void);
void ioports_destroy(struct ioports *io);
/*
 * Claim [base, base+count) for a device; returns -1 if any port is already owned.
 * With IOPORT_BYTE_WIDE in flags, a 2- or 4-byte access reaches the handlers as
 * byte accesses to consecutive ports, lowest first (a read assembled
 * little-endian), each dispatched through the table.
 */
int ioports_register(struct ioports *io, uint16_t base, unsigned count, const char *owner,
		     ioport_read_fn rd, ioport_write_fn wr, void *opaque, unsigned flags);
/*
 * Relocatable owners (PCI I/O BARs): claim [base, base+count) for the owner
 * named `owner` with `opaque`, skipping ports another owner holds; release
 * only what that owner (name and opaque both) holds.
 */
void ioports_map(struct ioports *io, uint16_t base, unsigned count, const char *owner,
		 ioport_read_fn rd, ioport_write_fn wr, void *opaque, unsigned flags);
void ioports_unmap(struct ioports *io, uint16_t base, unsigned count, const char *owner,
		   void *opaque);
uint32_t ioport_read(struct ioports *io, uint16_t port, unsigned size);
void ioport_write(struct ioports *io, uint16_t port, uint32_t value, unsigned size);

#endif
