/*
 * fugu — the 82093AA I/O APIC. References are to the Intel 82093AA I/O
 * Advanced Programmable Interrupt Controller datasheet (order number 290566):
 * 3.0 "Register description" (3.1 IOREGSEL/IOWIN, 3.2 IOAPICID, IOAPICVER,
 * IOAPICARB, IOREDTBL) and 2.4 "Interrupt signals".
 *
 * Each pin's redirection entry says how an asserted input becomes a message
 * to the local APIC: edge-triggered pins send one message per rising edge
 * while unmasked (an edge on a masked pin is lost); level-triggered pins send
 * one message while the input is asserted and Remote IRR is clear, set Remote
 * IRR when the local APIC accepts it, and clear it on the local APIC's EOI
 * for that vector, after which a still-asserted input sends again.
 *
 * The inputs are modelled as logical "asserted" levels, so the polarity bit
 * is stored but not applied (as QEMU does): the board drives a line true when
 * its device requests an interrupt, whatever the wire's electrical polarity.
 * Messages are delivered at once, so Delivery Status always reads idle.
 */
#include "chipset/ioapic.h"
#include "chipset/state.h"

#include <string.h>

#include "mmu/physmem.h"

#define IOAPIC_VERSION 0x11u

#define RTE_DELIVERY_MODE(e) (((e) >> 8) & 7)
#define RTE_LOGICAL (1ull << 11)
#define RTE_REMOTE_IRR (1ull << 14)
#define RTE_LEVEL (1ull << 15)
#define RTE_MASKED (1ull << 16)
/* Writable bits: vector, delivery mode, destination mode, polarity, trigger, mask, destination. */
#define RTE_WRITABLE 0xff0000000001afffull

/*
 * Send pin `pin`'s message; a level-triggered fixed or lowest-priority
 * message that the local APIC accepts sets Remote IRR (3.2.4, bit 14).
 */
static void
send(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->st.redir[pin];
	unsigned mode = RTE_DELIVERY_MODE(e);
	bool level = e & RTE_LEVEL;
	bool ok = io->deliver && io->deliver(io->opaque, (uint8_t)e, mode, level,
					     (uint32_t)(e >> 56), e & RTE_LOGICAL);
	if (ok && level && mode <= 1)
		io->st.redir[pin] |= RTE_REMOTE_IRR;
}

/*
 * A level-triggered pin that is asserted, unmasked and not waiting for an
 * EOI sends its message.
 */
static void
service_level(struct ioapic *io, unsigned pin)
{
	uint64_t e = io->st.redir[pin];
	if ((e & RTE_LEVEL) && !(e & (RTE_MASKED | RTE_REMOTE_IRR)) && (io->st.lines & (1u << pin)))
		send(io, pin);
}

void
ioapic_set_irq(struct ioapic *io, unsigned pin, bool level)
{
	if (pin >= IOAPIC_PINS)
		return;
	uint32_t bit = 1u << pin;
	bool rising = level && !(io->st.lines & bit);
	if (level)
		io->st.lines |= bit;
	else
		io->st.lines &= ~bit;
	uint64_t e = io->st.redir[pin];
	if (e & RTE_LEVEL)
		service_level(io, pin);
	else if (rising && !(e & RTE_MASKED))
		send(io, pin);
}

void
ioapic_eoi(struct ioapic *io, uint8_t vector)
{
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
		uint64_t e = io->st.redir[pin];
		if ((e & RTE_REMOTE_IRR) && (uint8_t)e == vector) {
			io->st.redir[pin] &= ~RTE_REMOTE_IRR;
			service_level(io, pin);
		}
	}
}

/*
 * The register IOWIN selects (3.2): 0x00 ID, 0x01 version (0x11, 23 as the
 * maximum redirection entry), 0x02 arbitration ID, 0x10-0x3F the redirection
 * table as pairs of dwords (low, high). Anything else reads 0.
 */
static uint32_t
reg_read(const struct ioapic *io, uint8_t reg)
{
	switch (reg) {
	case 0x00: return io->st.id;
	case 0x01: return IOAPIC_VERSION | (IOAPIC_PINS - 1) << 16;
	case 0x02: return io->st.arb;
	default:
		if (reg >= 0x10 && reg < 0x10 + 2 * IOAPIC_PINS) {
			uint64_t e = io->st.redir[(reg - 0x10) / 2];
			return reg & 1 ? (uint32_t)(e >> 32) : (uint32_t)e;
		}
		return 0;
	}
}

/*
 * A write through IOWIN. The ID's bits 27-24 are writable and also load the
 * arbitration ID (3.2.3). A redirection entry keeps its read-only Delivery
 * Status and Remote IRR; an edge-triggered entry has no Remote IRR; unmasking
 * a level-triggered entry whose input is asserted sends its message.
 */
static void
reg_write(struct ioapic *io, uint8_t reg, uint32_t v)
{
	if (reg == 0x00) {
		io->st.id = v & 0x0f000000u;
		io->st.arb = io->st.id;
		return;
	}
	if (reg < 0x10 || reg >= 0x10 + 2 * IOAPIC_PINS)
		return;
	unsigned pin = (reg - 0x10) / 2;
	uint64_t e = io->st.redir[pin];
	uint64_t nv =
		reg & 1 ? (e & 0xffffffffull) | (uint64_t)v << 32 : (e & 0xffffffff00000000ull) | v;
	nv = (e & ~RTE_WRITABLE) | (nv & RTE_WRITABLE);
	if (!(nv & RTE_LEVEL))
		nv &= ~RTE_REMOTE_IRR;
	io->st.redir[pin] = nv;
	service_level(io, pin);
	if (io->redir_changed)
		io->redir_changed(io->opaque);
}

bool
ioapic_pin_masked(const struct ioapic *io, unsigned pin)
{
	return pin >= IOAPIC_PINS || (io->st.redir[pin] & RTE_MASKED);
}

/*
 * The memory-mapped registers (3.1): IOREGSEL at offset 0x00 (bits 7-0),
 * IOWIN at 0x10 (32 bits). Other offsets read 0 and ignore writes.
 */
static uint64_t
mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	struct ioapic *io = opaque;
	unsigned off = (unsigned)offset & 0xff;
	uint32_t v;
	if (off < 4)
		v = io->st.regsel;
	else if (off >= 0x10 && off < 0x14)
		v = reg_read(io, io->st.regsel);
	else
		return 0;
	v >>= 8 * (off & 3);
	return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void
mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	struct ioapic *io = opaque;
	unsigned off = (unsigned)offset & 0xff;
	if (off == 0x00)
		io->st.regsel = (uint8_t)value;
	else if (off == 0x10 && size >= 4)
		reg_write(io, io->st.regsel, (uint32_t)value);
}

static const struct mmio_ops ioapic_mmio = { mmio_read, mmio_write, 0 };

int
ioapic_init(struct ioapic *io, struct physmem *mem,
	    bool (*deliver)(void *, uint8_t, unsigned, bool, uint32_t, bool), void *opaque)
{
	memset(io, 0, sizeof(*io));
	io->deliver = deliver;
	io->opaque = opaque;
	io->region =
		physmem_add_mmio(mem, "ioapic", IOAPIC_DEFAULT_BASE, PAGE_SIZE, &ioapic_mmio, io);
	if (io->region < 0)
		return -1;
	ioapic_reset(io);
	return 0;
}

/*
 * RESET: ID 0, every redirection entry masked (3.2.4: "the mask bit is set
 * after RESET"); the input levels belong to the devices and are kept.
 */
void
ioapic_reset(struct ioapic *io)
{
	uint32_t lines = io->st.lines;
	memset(&io->st, 0, sizeof(io->st));
	io->st.lines = lines;
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		io->st.redir[pin] = RTE_MASKED;
}

size_t
ioapic_save(const struct ioapic *io, void *buf, size_t len)
{
	return state_save(&io->st, sizeof(io->st), buf, len);
}

/* Any IOREGSEL value selects a register or nothing (reg_read and reg_write
 * check the redirection table's range), so struct ioapic_state has no limits. */
int
ioapic_check(const struct ioapic *io, const void *buf, size_t len, char *err, size_t errlen)
{
	(void)io;
	(void)buf;
	(void)len;
	(void)err;
	(void)errlen;
	return 0;
}

int
ioapic_restore(struct ioapic *io, const void *buf, size_t len)
{
	if (state_restore(&io->st, sizeof(io->st), buf, len, STATE_NO_BOOLS, STATE_NO_LIMITS) < 0)
		return -1;
	for (unsigned pin = 0; pin < IOAPIC_PINS; pin++)
		service_level(io, pin);
	return 0;
}
