/*
 * fugu — QEMU's pc-testdev (-device pc-testdev), the ISA test device that
 * platform test suites (kvm-unit-tests) drive: a 32-bit scratch register at
 * 0xe0-0xe3 (any access width) and again at 0xe8-0xeb (split into bytes), the
 * flush-page port 0xe4, IRQ-line ports 0x2000-0x2017 and a 64 KiB memory
 * window at 0xff000000 that is MMIO, never RAM.
 */
#ifndef FUGU_TESTDEV_H
#define FUGU_TESTDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chipset/irq.h"

struct ioports;
struct physmem;

#define TESTDEV_IOMEM_BASE 0xff000000u
#define TESTDEV_IOMEM_SIZE 0x10000u
#define TESTDEV_IRQ_PORT 0x2000
#define TESTDEV_NLINES 24 /* ISA IRQ 0-15, then IOAPIC pins 16-23 */

/* The architectural state: plain data, saved and restored by copy. */
struct testdev_state {
	uint32_t scratch;                  /* the register behind 0xe0-0xe3 and 0xe8-0xeb */
	uint32_t lines;                    /* bit n: IRQ line n driven high */
	uint8_t iomem[TESTDEV_IOMEM_SIZE]; /* the bytes behind the MMIO window */
};

struct testdev {
	struct testdev_state st;
	struct irq_line line[TESTDEV_NLINES]; /* what 0x2000 + n drives */
	int region;                           /* the MMIO window's physical-map region */
};

/* Claim the ports and the MMIO window; -1 if a port is taken or the map is full. */
int testdev_init(struct testdev *t, struct ioports *io, struct physmem *mem);
/* A system reset: every line low, the scratch register and the window zeroed. */
void testdev_reset(struct testdev *t);
size_t testdev_save(const struct testdev *t, void *buf, size_t len);
int testdev_restore(struct testdev *t, const void *buf, size_t len);
/* Whether a saved record (a file's) holds only values the device can hold
 * (chipset/state.h): 0, or -1 with the field and its value in err. */
int testdev_check(const struct testdev *t, const void *buf, size_t len, char *err, size_t errlen);

#endif
