/*
 * fugu — QEMU's pc-testdev, as hw/misc/pc-testdev.c behaves (its only
 * specification):
 *
 * - 0xe0-0xe3: one 32-bit scratch register. An access of width w at port
 *   0xe0 + k reads or writes bytes k .. k+w-1 of it, so test suites check
 *   that 1-, 2- and 4-byte IN/OUT move the right bytes.
 * - 0xe8-0xeb: the same register, decoded a byte at a time (a wide access is
 *   split into bytes at consecutive ports, as the port table does for
 *   IOPORT_BYTE_WIDE owners).
 * - 0xe4: flush page, 4-byte writes of a guest-physical address. QEMU makes
 *   the host page behind it briefly inaccessible to exercise KVM's MMU
 *   notifiers; the guest sees no change, and neither does it here.
 * - 0x2000 + n (n < 24), byte writes: drive IRQ line n to (value != 0). Lines
 *   0-15 are ISA IRQs (8259 and IOAPIC), 16-23 IOAPIC pins only.
 * - 0xff000000, 64 KiB: memory that is MMIO, so every access to it is a
 *   device access (tests use it to force instruction emulation).
 */
#include "chipset/testdev.h"

#include <string.h>

#include "chipset/state.h"
#include "mmu/ioport.h"
#include "mmu/physmem.h"

/* Bytes [k, k + size) of the scratch register, k = port & 3; a wide access
 * that runs past byte 3 keeps only the bytes inside the register. */
static uint32_t
scratch_mask(uint16_t port, unsigned size)
{
	unsigned shift = 8 * (port & 3u);
	uint64_t m = (size >= 4 ? 0xffffffffull : (1ull << (8 * size)) - 1) << shift;
	return (uint32_t)m;
}

static uint32_t
scratch_read(void *opaque, uint16_t port, unsigned size)
{
	struct testdev *t = opaque;
	return (t->st.scratch & scratch_mask(port, size)) >> (8 * (port & 3u));
}

static void
scratch_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct testdev *t = opaque;
	uint32_t m = scratch_mask(port, size);
	t->st.scratch =
		(t->st.scratch & ~m) | ((uint32_t)((uint64_t)value << (8 * (port & 3u))) & m);
}

/* XXX: nothing to flush; fugu keeps guest RAM in one host mapping. */
static void
flush_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	(void)opaque, (void)port, (void)value, (void)size;
}

static void
irq_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct testdev *t = opaque;
	unsigned n = (unsigned)(port - TESTDEV_IRQ_PORT);
	bool level = (value & 0xff) != 0;
	if (size != 1 || n >= TESTDEV_NLINES) /* byte writes only, as QEMU's */
		return;
	if (level)
		t->st.lines |= 1u << n;
	else
		t->st.lines &= ~(1u << n);
	irq_set(&t->line[n], level);
}

static uint64_t
iomem_read(void *opaque, uint64_t offset, unsigned size)
{
	struct testdev *t = opaque;
	uint64_t v = 0;
	if (offset < TESTDEV_IOMEM_SIZE && size <= TESTDEV_IOMEM_SIZE - offset)
		memcpy(&v, &t->st.iomem[offset], size); /* little-endian host */
	return v;
}

static void
iomem_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct testdev *t = opaque;
	if (offset < TESTDEV_IOMEM_SIZE && size <= TESTDEV_IOMEM_SIZE - offset)
		memcpy(&t->st.iomem[offset], &value, size);
}

static const struct mmio_ops iomem_ops = { .read = iomem_read, .write = iomem_write };

int
testdev_init(struct testdev *t, struct ioports *io, struct physmem *mem)
{
	memset(&t->st, 0, sizeof(t->st));
	if (ioports_register(io, 0xe0, 4, "pc-testdev", scratch_read, scratch_write, t, 0) ||
	    ioports_register(io, 0xe4, 4, "pc-testdev", NULL, flush_write, t, 0) ||
	    ioports_register(io, 0xe8, 4, "pc-testdev", scratch_read, scratch_write, t,
			     IOPORT_BYTE_WIDE) ||
	    ioports_register(io, TESTDEV_IRQ_PORT, TESTDEV_NLINES, "pc-testdev", NULL, irq_write, t,
			     0))
		return -1;
	t->region = physmem_add_mmio(mem, "pc-testdev", TESTDEV_IOMEM_BASE, TESTDEV_IOMEM_SIZE,
				     &iomem_ops, t);
	return t->region < 0 ? -1 : 0;
}

void
testdev_reset(struct testdev *t)
{
	for (unsigned n = 0; n < TESTDEV_NLINES; n++)
		if (t->st.lines >> n & 1)
			irq_lower(&t->line[n]);
	memset(&t->st, 0, sizeof(t->st));
}

size_t
testdev_save(const struct testdev *t, void *buf, size_t len)
{
	return state_save(&t->st, sizeof(t->st), buf, len);
}

/* struct testdev_state holds register values and the MMIO window's bytes: no limits. */
int
testdev_check(const struct testdev *t, const void *buf, size_t len, char *err, size_t errlen)
{
	(void)t;
	(void)buf;
	(void)len;
	(void)err;
	(void)errlen;
	return 0;
}

int
testdev_restore(struct testdev *t, const void *buf, size_t len)
{
	uint32_t before = t->st.lines;
	if (state_restore(&t->st, sizeof(t->st), buf, len, STATE_NO_BOOLS, STATE_NO_LIMITS) < 0)
		return -1;
	for (unsigned n = 0; n < TESTDEV_NLINES; n++)
		if ((before ^ t->st.lines) >> n & 1)
			irq_set(&t->line[n], t->st.lines >> n & 1);
	return 0;
}
