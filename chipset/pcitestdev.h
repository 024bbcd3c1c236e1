/*
 * fugu — QEMU's pci-testdev (-device pci-testdev, 1B36:0005), the PCI
 * device kvm-unit-tests uses to check that MMIO and port writes reach a
 * device: BAR0 4 KiB of memory, BAR1 256 ports, six tests selected by a
 * write to offset 0, each counting the writes to its own offset.
 */
#ifndef FUGU_PCITESTDEV_H
#define FUGU_PCITESTDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chipset/pci.h"

struct ioports;
struct physmem;

#define PCITESTDEV_TESTS 6 /* mmio then portio, each: no-eventfd, wildcard, datamatch */

/* The architectural state: plain data, saved and restored by copy. */
struct pcitestdev_state {
	int8_t current;                   /* the selected test, or -1 */
	uint32_t count[PCITESTDEV_TESTS]; /* writes each test has seen */
};

struct pcitestdev {
	struct pcitestdev_state st;
	struct pci_function fn;
	struct ioports *io;
	struct physmem *mem;
	int mmio_region;
	uint16_t io_base; /* where BAR1 is mapped */
	bool io_mapped;
};

/* Add the function at the first free slot from 3 on; -1 if the bus or the map is full. */
int pcitestdev_init(struct pcitestdev *t, struct pci_bus *bus, struct ioports *io,
		    struct physmem *mem);
void pcitestdev_reset(struct pcitestdev *t);
size_t pcitestdev_save(const struct pcitestdev *t, void *buf, size_t len);
int pcitestdev_restore(struct pcitestdev *t, const void *buf, size_t len);
/* Whether a saved record (a file's) holds only values the device can hold
 * (chipset/state.h): 0, or -1 with the field and its value in err. */
int pcitestdev_check(const struct pcitestdev *t, const void *buf, size_t len, char *err,
		     size_t errlen);

#endif
