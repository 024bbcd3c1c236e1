/*
 * fugu — PCI bus 0 and configuration mechanism #1. References are to the PCI
 * Local Bus Specification, revision 2.1: 3.7.4.1 (configuration mechanism
 * #1), 6.1 (configuration space organization), 6.2.2 (command), 6.2.3
 * (status), 6.2.5 (base addresses).
 *
 * A function's configuration space is 256 plain bytes plus two masks per byte:
 * which bits a write may change, and which it clears by writing 1. The base
 * registers are sized the way the specification describes, by the masks
 * alone: writing all ones leaves ~(size - 1) plus the read-only type bits.
 */
#include "chipset/pci.h"
#include "chipset/state.h"

#include <string.h>

#include "mmu/ioport.h"

#define CONFIG_ENABLE 0x80000000u
/* 3.7.4.1: bits 30-24 are reserved and bits 1-0 read as 0. */
#define CONFIG_ADDRESS_MASK 0x80fffffcu

uint32_t
pci_get(const struct pci_function *fn, unsigned reg, unsigned size)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < size && reg + i < 256; i++)
		v |= (uint32_t)fn->st.config[reg + i] << (8 * i);
	return v;
}

void
pci_set(struct pci_function *fn, unsigned reg, uint32_t value, unsigned size)
{
	for (unsigned i = 0; i < size && reg + i < 256; i++)
		fn->st.config[reg + i] = (uint8_t)(value >> (8 * i));
}

void
pci_set_wmask(struct pci_function *fn, unsigned reg, uint32_t mask, unsigned size)
{
	for (unsigned i = 0; i < size && reg + i < 256; i++)
		fn->wmask[reg + i] = (uint8_t)(mask >> (8 * i));
}

void
pci_set_w1cmask(struct pci_function *fn, unsigned reg, uint32_t mask, unsigned size)
{
	for (unsigned i = 0; i < size && reg + i < 256; i++)
		fn->w1cmask[reg + i] = (uint8_t)(mask >> (8 * i));
}

void
pci_function_init(struct pci_function *fn, uint16_t vendor, uint16_t device, uint8_t revision,
		  uint32_t class_code, const struct pci_function_ops *ops, void *opaque)
{
	memset(fn, 0, sizeof(*fn));
	fn->ops = ops;
	fn->opaque = opaque;
	pci_set(fn, PCI_VENDOR_ID, vendor, 2);
	pci_set(fn, PCI_DEVICE_ID, device, 2);
	pci_set(fn, PCI_REVISION, revision, 1);
	pci_set(fn, PCI_CLASS_PROG, class_code, 3);
	/* 6.2.3: detected parity error, signaled system error, received master
	 * abort, received/signaled target abort and data parity reported are
	 * cleared by writing 1. */
	pci_set_w1cmask(fn, PCI_STATUS, 0xf900, 2);
}

void
pci_function_add_bar_enable(struct pci_function *fn, unsigned bar, unsigned reg,
			    enum pci_bar_kind kind, uint32_t size, unsigned enable_reg,
			    uint8_t enable_bit)
{
	struct pci_bar *b = &fn->bar[bar];
	uint32_t mask = ~(size - 1), low = 0;
	*b = (struct pci_bar){ .reg = (uint8_t)reg,
			       .kind = (uint8_t)kind,
			       .enable_reg = (uint8_t)enable_reg,
			       .enable_bit = enable_bit,
			       .size = size };
	switch (kind) {
	case PCI_BAR_IO:
		/* 6.2.5.1: bit 0 = 1 (I/O), bit 1 reserved. In the header's BARs bits
		 * 31-16 stay writable, as on QEMU's devices: firmware (SeaBIOS) sizes a
		 * BAR over 32 bits and would read hardwired zeros as a 4 GiB request.
		 * Device-specific base registers (PIIX4 PMBA...) keep their datasheet's
		 * 16 bits. The decode uses bits 15-2 only (pci_bar_addr). */
		mask &= reg >= PCI_BAR0 && reg < PCI_BAR0 + 24 ? 0xfffffffc : 0xfffc;
		low = 0x1;
		break;
	case PCI_BAR_MEM: /* bits 2-1 = 00 (anywhere in 32-bit space), bit 3 prefetchable */
		mask &= 0xfffffff0;
		break;
	case PCI_BAR_MEM_PREFETCH:
		mask &= 0xfffffff0;
		low = 0x8;
		break;
	case PCI_BAR_ROM: /* 6.2.5.2: address bits 31-11, bit 0 enables the decoder */
		mask = (mask & 0xfffff800) | 1;
		break;
	}
	pci_set(fn, reg, low, 4);
	pci_set_wmask(fn, reg, mask, 4);
}

void
pci_function_add_bar(struct pci_function *fn, unsigned bar, unsigned reg, enum pci_bar_kind kind,
		     uint32_t size)
{
	uint8_t bit = kind == PCI_BAR_IO ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
	pci_function_add_bar_enable(fn, bar, reg, kind, size, PCI_COMMAND, bit);
}

/*
 * Where base register b decodes now, and whether it decodes at all: its
 * enable bit is set, it is not at 0 and it fits in its space (a BAR still
 * holding the all-ones sizing pattern usually does not).
 */
static bool
bar_decode(const struct pci_function *fn, const struct pci_bar *b, uint32_t *addr)
{
	uint32_t raw = pci_get(fn, b->reg, 4);
	uint64_t limit = b->kind == PCI_BAR_IO ? 0x10000 : 0x100000000ull;
	*addr = raw & ~(b->size - 1) & (b->kind == PCI_BAR_IO ? 0xfffcu : 0xfffffff0u);
	if (b->kind == PCI_BAR_ROM && !(raw & 1))
		return false;
	if (!(fn->st.config[b->enable_reg] & b->enable_bit))
		return false;
	return *addr != 0 && (uint64_t)*addr + b->size <= limit;
}

void
pci_function_update_bars(struct pci_function *fn, bool force)
{
	for (unsigned k = 0; k < PCI_MAX_BARS; k++) {
		struct pci_bar *b = &fn->bar[k];
		uint32_t addr;
		if (!b->reg)
			continue;
		bool mapped = bar_decode(fn, b, &addr);
		if (!force && mapped == b->mapped && (addr == b->addr || !mapped))
			continue;
		b->addr = addr;
		b->mapped = mapped;
		if (fn->ops && fn->ops->bar_update)
			fn->ops->bar_update(fn, k, addr, mapped);
	}
}

void
pci_function_write_default(struct pci_function *fn, unsigned reg, uint32_t value, unsigned size)
{
	for (unsigned i = 0; i < size && reg + i < 256; i++) {
		unsigned r = reg + i;
		uint8_t v = (uint8_t)(value >> (8 * i));
		uint8_t c = (uint8_t)((fn->st.config[r] & ~fn->wmask[r]) | (v & fn->wmask[r]));
		fn->st.config[r] = (uint8_t)(c & ~(v & fn->w1cmask[r]));
	}
	pci_function_update_bars(fn, false);
}

uint32_t
pci_config_read(struct pci_function *fn, unsigned reg, unsigned size)
{
	return pci_get(fn, reg, size);
}

void
pci_config_write(struct pci_function *fn, unsigned reg, uint32_t value, unsigned size)
{
	if (fn->ops && fn->ops->config_write)
		fn->ops->config_write(fn, reg, value, size);
	else
		pci_function_write_default(fn, reg, value, size);
}

void
pci_function_reset(struct pci_function *fn)
{
	memcpy(fn->st.config, fn->reset_config, sizeof(fn->st.config));
	memcpy(fn->wmask, fn->reset_wmask, sizeof(fn->wmask));
	pci_function_update_bars(fn, true);
}

size_t
pci_function_save(const struct pci_function *fn, void *buf, size_t len)
{
	return state_save(&fn->st, sizeof(fn->st), buf, len);
}

/*
 * The read-only bits of the header (PCI Local Bus 3.0, 6.1-6.2.5: vendor and
 * device ID, revision, class code, header type, the BARs' type and size bits,
 * the subsystem IDs, the capabilities pointer, the interrupt pin, MIN_GNT,
 * MAX_LAT, hardwired command bits) come back as the device defines them
 * (its power-on value under ~wmask), whatever a snapshot file holds: they
 * are the device's identity and decoding, not state. The status register is
 * left as saved: its bits are the device's state (interrupt status, errors).
 * The device-specific registers above 0x40 are each device's (their limits:
 * chipset/state.h).
 */
static void
header_read_only(struct pci_function *fn)
{
	for (unsigned r = 0; r < PCI_HEADER_SIZE; r++)
		if (r != PCI_STATUS && r != PCI_STATUS + 1)
			fn->st.config[r] = (uint8_t)((fn->reset_config[r] & ~fn->wmask[r]) |
						     (fn->st.config[r] & fn->wmask[r]));
}

int
pci_function_restore(struct pci_function *fn, const void *buf, size_t len)
{
	if (state_restore(&fn->st, sizeof(fn->st), buf, len, STATE_NO_BOOLS, STATE_NO_LIMITS) < 0)
		return -1;
	header_read_only(fn);
	pci_function_update_bars(fn, true);
	return 0;
}

void
pci_set_irq(struct pci_function *fn, bool level)
{
	unsigned pin = fn->st.config[PCI_INTERRUPT_PIN];
	struct pci_bus *bus = fn->bus;
	if (pin < 1 || pin > 4 || !bus)
		return;
	uint8_t bit = (uint8_t)(1u << (pin - 1)), old = bus->st.intx[fn->devfn];
	bus->st.intx[fn->devfn] = level ? old | bit : old & ~bit;
	if (bus->st.intx[fn->devfn] != old && bus->set_intx)
		bus->set_intx(bus->opaque, fn->devfn, pin - 1, level);
}

/*
 * The function a configuration cycle addresses, or NULL: mechanism #1
 * disabled (the access is ordinary I/O, and nothing else is there), a bus
 * other than 0 (no bridges: master abort), or no function at that devfn.
 */
static struct pci_function *
addressed(struct pci_bus *bus)
{
	uint32_t ca = bus->st.config_address;
	if (!(ca & CONFIG_ENABLE) || (ca >> 16 & 0xff) != 0)
		return NULL;
	return bus->fn[ca >> 8 & 0xff];
}

/*
 * CONFIG_DATA: byte n of the dword selected by CONFIG_ADDRESS is port
 * 0xCFC + n. A master-aborted read returns all ones (3.7.4.1), which is how
 * software sees vendor ID 0xFFFF for an absent function.
 */
static uint32_t
data_read(void *opaque, uint16_t port, unsigned size)
{
	struct pci_bus *bus = opaque;
	struct pci_function *fn = addressed(bus);
	unsigned off = port & 3;
	uint32_t ones = 0xffffffffu >> (32 - 8 * size);
	if (!fn)
		return ones;
	if (off + size > 4) /* the part beyond 0xCFF is not CONFIG_DATA */
		return ones & (pci_config_read(fn, (bus->st.config_address & 0xfc) + off, 4 - off) |
			       0xffffffffu << (8 * (4 - off)));
	return pci_config_read(fn, (bus->st.config_address & 0xfc) + off, size);
}

static void
data_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct pci_bus *bus = opaque;
	struct pci_function *fn = addressed(bus);
	unsigned off = port & 3;
	if (!fn)
		return;
	if (off + size > 4)
		size = 4 - off;
	pci_config_write(fn, (bus->st.config_address & 0xfc) + off, value, size);
}

/*
 * CONFIG_ADDRESS (3.7.4.1): only a dword access reaches it; anything smaller
 * is ordinary I/O (0xCF9 is the PIIX reset control register), so it reads as
 * an empty bus and its writes go nowhere.
 */
static uint32_t
address_read(void *opaque, uint16_t port, unsigned size)
{
	struct pci_bus *bus = opaque;
	(void)port;
	if (size != 4)
		return 0xffffffffu >> (32 - 8 * size);
	return bus->st.config_address;
}

static void
address_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct pci_bus *bus = opaque;
	(void)port;
	if (size == 4)
		bus->st.config_address = value & CONFIG_ADDRESS_MASK;
}

int
pci_bus_init(struct pci_bus *bus, struct ioports *io,
	     void (*set_intx)(void *, unsigned, unsigned, bool), void *opaque)
{
	memset(bus, 0, sizeof(*bus));
	bus->set_intx = set_intx;
	bus->opaque = opaque;
	if (ioports_register(io, 0xcf8, 1, "pci-config-address", address_read, address_write, bus,
			     0) ||
	    ioports_register(io, 0xcfc, 4, "pci-config-data", data_read, data_write, bus, 0))
		return -1;
	return 0;
}

/*
 * Reset of the bus itself: CONFIG_ADDRESS clears. The functions belong to
 * their devices, which reset them.
 */
void
pci_bus_reset(struct pci_bus *bus)
{
	bus->st.config_address = 0; /* the INTx levels belong to the devices: kept */
}

int
pci_bus_add(struct pci_bus *bus, struct pci_function *fn, unsigned dev, unsigned func)
{
	unsigned devfn = (dev & 31) << 3 | (func & 7);
	if (bus->fn[devfn])
		return -1;
	fn->bus = bus;
	fn->devfn = (uint8_t)devfn;
	bus->fn[devfn] = fn;
	/* 6.2.1: header type bit 7 of function 0 says there are more functions. */
	struct pci_function *f0 = bus->fn[devfn & ~7u];
	if (func != 0 && f0) {
		f0->st.config[PCI_HEADER_TYPE] |= PCI_HEADER_MULTIFUNCTION;
		f0->reset_config[PCI_HEADER_TYPE] |= PCI_HEADER_MULTIFUNCTION;
	}
	for (unsigned f = 1; func == 0 && f < 8; f++)
		if (bus->fn[devfn + f])
			fn->st.config[PCI_HEADER_TYPE] |= PCI_HEADER_MULTIFUNCTION;
	memcpy(fn->reset_config, fn->st.config, sizeof(fn->reset_config));
	memcpy(fn->reset_wmask, fn->wmask, sizeof(fn->reset_wmask));
	return 0;
}

size_t
pci_bus_save(const struct pci_bus *bus, void *buf, size_t len)
{
	return state_save(&bus->st, sizeof(bus->st), buf, len);
}

/* The limits of the bus's record (chipset/state.h): CONFIG_ADDRESS keeps the
 * bits a write to 0xCF8 stores (enable, bus, device, function, register). */
_Static_assert(offsetof(struct pci_bus, st) == 0, "the record is st");
static const struct state_limit pci_bus_limits[] = {
	STATE_MASK(struct pci_bus, st.config_address, CONFIG_ADDRESS_MASK),
};

int
pci_bus_check(const struct pci_bus *bus, const void *buf, size_t len, char *err, size_t errlen)
{
	(void)bus;
	return state_check(buf, len, STATE_LIMITS(pci_bus_limits), "", err, errlen);
}

int
pci_bus_restore(struct pci_bus *bus, const void *buf, size_t len)
{
	if (state_restore(&bus->st, sizeof(bus->st), buf, len, STATE_NO_BOOLS,
			  STATE_LIMITS(pci_bus_limits)) < 0)
		return -1;
	return 0;
}
