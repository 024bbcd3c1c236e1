/*
 * fugu — QEMU's pci-testdev, as hw/misc/pci-testdev.c behaves (its only
 * specification). Vendor 1B36h (Red Hat), device 0005h, class FF00h, no
 * interrupt pin. BAR0 is 4 KiB of memory, BAR1 256 ports; both are decoded a
 * byte at a time.
 *
 * Test n (0-5: mmio-no-eventfd, mmio-wildcard-eventfd, mmio-datamatch-eventfd,
 * then the same three "portio-") is selected by writing n mod 3 to offset 0 of
 * the region of its kind (any other value deselects). While a test is
 * selected, its header reads at offset 0 of either region: test (byte),
 * width (byte, 1), offset (dword: 2048 + n in memory, 128 + n in I/O), data
 * (byte: FAh for the datamatch and no-eventfd tests, CEh for wildcard), count
 * (dword at 12), then the NUL-terminated name at 16. A byte write to the
 * test's offset counts, for a data-matching test only when it writes `data`.
 * Eventfds are QEMU's business: here every test just counts.
 */
#include "chipset/pcitestdev.h"

#include <string.h>

#include "chipset/state.h"
#include "mmu/ioport.h"
#include "mmu/physmem.h"

#define MEM_SIZE 4096
#define IO_SIZE 256
#define HDR_NAME 16

static const char *const test_names[PCITESTDEV_TESTS] = {
	"mmio-no-eventfd",   "mmio-wildcard-eventfd",   "mmio-datamatch-eventfd",
	"portio-no-eventfd", "portio-wildcard-eventfd", "portio-datamatch-eventfd",
};

static uint32_t
test_offset(unsigned n)
{
	return (n < 3 ? MEM_SIZE / 2 : IO_SIZE / 2) + n;
}

static bool
test_matches_data(unsigned n)
{
	return n % 3 != 1; /* all but the wildcard tests */
}

static uint8_t
test_data(unsigned n)
{
	return test_matches_data(n) ? 0xfa : 0xce;
}

/* Byte `addr` of the selected test's header, 0 past its name's terminator. */
static uint8_t
header_byte(const struct pcitestdev *t, uint32_t addr)
{
	if (t->st.current < 0)
		return 0;
	unsigned n = (unsigned)t->st.current;
	size_t len = HDR_NAME + strlen(test_names[n]) + 1;
	if (addr + 1 >= len)
		return 0;
	switch (addr) {
	case 0: return (uint8_t)n;
	case 1: return 1; /* width */
	case 4:
	case 5:
	case 6:
	case 7: return (uint8_t)(test_offset(n) >> (8 * (addr - 4)));
	case 8: return test_data(n);
	case 12:
	case 13:
	case 14:
	case 15: return (uint8_t)(t->st.count[n] >> (8 * (addr - 12)));
	}
	return addr >= HDR_NAME ? (uint8_t)test_names[n][addr - HDR_NAME] : 0;
}

/* A byte written at addr of the memory (kind 0) or I/O (kind 1) region. */
static void
region_write(struct pcitestdev *t, unsigned kind, uint32_t addr, uint8_t v)
{
	if (addr == 0) {
		t->st.current = -1;
		if (v < 3) {
			t->st.current = (int8_t)(kind * 3 + v);
			t->st.count[t->st.current] = 0;
		}
		return;
	}
	if (t->st.current < 0)
		return;
	unsigned n = (unsigned)t->st.current;
	if (addr != test_offset(n) || (test_matches_data(n) && v != test_data(n)))
		return;
	t->st.count[n]++;
}

static uint64_t
mmio_read(void *opaque, uint64_t offset, unsigned size)
{
	(void)size;
	return header_byte(opaque, (uint32_t)offset);
}

static void
mmio_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
	(void)size;
	region_write(opaque, 0, (uint32_t)offset, (uint8_t)value);
}

static const struct mmio_ops mmio_ops = { .read = mmio_read,
					  .write = mmio_write,
					  .flags = MMIO_BYTE_WIDE };

static uint32_t
io_read(void *opaque, uint16_t port, unsigned size)
{
	struct pcitestdev *t = opaque;
	(void)size;
	return header_byte(t, (uint16_t)(port - t->io_base));
}

static void
io_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct pcitestdev *t = opaque;
	(void)size;
	region_write(t, 1, (uint16_t)(port - t->io_base), (uint8_t)value);
}

static void
bar_update(struct pci_function *fn, unsigned bar, uint32_t addr, bool mapped)
{
	struct pcitestdev *t = fn->opaque;
	if (bar == 0) {
		physmem_region_place(t->mem, t->mmio_region, addr, mapped);
		return;
	}
	if (t->io_mapped)
		ioports_unmap(t->io, t->io_base, IO_SIZE, "pci-testdev", t);
	t->io_mapped = mapped;
	t->io_base = (uint16_t)addr;
	if (mapped)
		ioports_map(t->io, t->io_base, IO_SIZE, "pci-testdev", io_read, io_write, t,
			    IOPORT_BYTE_WIDE);
}

static const struct pci_function_ops ops = { NULL, bar_update };

int
pcitestdev_init(struct pcitestdev *t, struct pci_bus *bus, struct ioports *io, struct physmem *mem)
{
	memset(t, 0, sizeof(*t));
	t->io = io;
	t->mem = mem;
	t->mmio_region = physmem_add_mmio(mem, "pci-testdev", 0, MEM_SIZE, &mmio_ops, t);
	if (t->mmio_region < 0)
		return -1;
	physmem_region_enable(mem, t->mmio_region, false);
	struct pci_function *fn = &t->fn;
	pci_function_init(fn, 0x1b36, 0x0005, 0x00, 0xff0000, &ops, t);
	pci_set_wmask(fn, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY, 2);
	pci_set_wmask(fn, PCI_INTERRUPT_LINE, 0xff, 1);
	pci_function_add_bar(fn, 0, PCI_BAR0, PCI_BAR_MEM, MEM_SIZE);
	pci_function_add_bar(fn, 1, PCI_BAR0 + 4, PCI_BAR_IO, IO_SIZE);
	for (unsigned slot = 3; slot < 32; slot++)
		if (pci_bus_add(bus, fn, slot, 0) == 0) {
			pcitestdev_reset(t);
			return 0;
		}
	return -1;
}

void
pcitestdev_reset(struct pcitestdev *t)
{
	memset(&t->st, 0, sizeof(t->st));
	t->st.current = -1;
	pci_function_reset(&t->fn);
}

size_t
pcitestdev_save(const struct pcitestdev *t, void *buf, size_t len)
{
	size_t need = sizeof(t->st) + sizeof(t->fn.st);
	if (len >= need) {
		memcpy(buf, &t->st, sizeof(t->st));
		memcpy((uint8_t *)buf + sizeof(t->st), &t->fn.st, sizeof(t->fn.st));
	}
	return need;
}

/* The selected test (`current`) is range-checked where it is used and
 * pcitestdev_restore forgets one past the table, as before. */
int
pcitestdev_check(const struct pcitestdev *t, const void *buf, size_t len, char *err, size_t errlen)
{
	(void)t;
	(void)buf;
	(void)len;
	(void)err;
	(void)errlen;
	return 0;
}

int
pcitestdev_restore(struct pcitestdev *t, const void *buf, size_t len)
{
	if (len != sizeof(t->st) + sizeof(t->fn.st))
		return -1;
	memcpy(&t->st, buf, sizeof(t->st));
	if (t->st.current >= PCITESTDEV_TESTS)
		t->st.current = -1;
	return pci_function_restore(&t->fn, (const uint8_t *)buf + sizeof(t->st), sizeof(t->fn.st));
}
