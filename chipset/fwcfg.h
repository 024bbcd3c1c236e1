/*
 * fugu — QEMU's firmware configuration interface (fw_cfg) on the PC's I/O
 * ports: selector 0x510, data 0x511, DMA address 0x514-0x51b. This is how
 * SeaBIOS learns the memory map, the CPU count, the boot order and, later,
 * the kernel/initrd/command line of a direct boot.
 */
#ifndef FUGU_FWCFG_H
#define FUGU_FWCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chipset/irq.h"

struct ioports;
struct physmem;

#define FWCFG_PORT_SEL 0x510
#define FWCFG_PORT_DATA 0x511
#define FWCFG_PORT_DMA 0x514

/* Keys (QEMU docs/specs/fw_cfg.rst, "Selector Register"; include/standard-headers). */
#define FWCFG_SIGNATURE 0x0000
#define FWCFG_ID 0x0001
#define FWCFG_UUID 0x0002
#define FWCFG_RAM_SIZE 0x0003
#define FWCFG_NOGRAPHIC 0x0004
#define FWCFG_NB_CPUS 0x0005
#define FWCFG_KERNEL_ADDR 0x0007
#define FWCFG_KERNEL_SIZE 0x0008
#define FWCFG_KERNEL_CMDLINE 0x0009
#define FWCFG_INITRD_ADDR 0x000a
#define FWCFG_INITRD_SIZE 0x000b
#define FWCFG_BOOT_DEVICE 0x000c
#define FWCFG_NUMA 0x000d
#define FWCFG_BOOT_MENU 0x000e
#define FWCFG_MAX_CPUS 0x000f
#define FWCFG_KERNEL_ENTRY 0x0010
#define FWCFG_KERNEL_DATA 0x0011
#define FWCFG_INITRD_DATA 0x0012
#define FWCFG_CMDLINE_ADDR 0x0013
#define FWCFG_CMDLINE_SIZE 0x0014
#define FWCFG_CMDLINE_DATA 0x0015
#define FWCFG_SETUP_ADDR 0x0016
#define FWCFG_SETUP_SIZE 0x0017
#define FWCFG_SETUP_DATA 0x0018
#define FWCFG_FILE_DIR 0x0019
#define FWCFG_FILE_FIRST 0x0020
#define FWCFG_ARCH_LOCAL 0x8000
#define FWCFG_IRQ0_OVERRIDE 0x8002 /* x86: ISA IRQ0 reaches IOAPIC pin 2 */

#define FWCFG_ID_TRADITIONAL 0x1u /* the port interface */
#define FWCFG_ID_DMA 0x2u         /* the DMA interface */

/* DMA control word bits ("FWCfgDmaAccess"). */
#define FWCFG_DMA_ERROR 0x01u
#define FWCFG_DMA_READ 0x02u
#define FWCFG_DMA_SKIP 0x04u
#define FWCFG_DMA_SELECT 0x08u
#define FWCFG_DMA_WRITE 0x10u

#define FWCFG_NAME_LEN 56
#define FWCFG_MAX_ITEMS 96

/* One item: configuration, built by the board before the guest runs (not saved). */
struct fwcfg_item {
	uint16_t key;              /* selector value */
	uint32_t len;              /* bytes in data */
	uint8_t *data;             /* owned copy (NULL when len is 0) */
	char name[FWCFG_NAME_LEN]; /* file items: the directory name; "" otherwise */
};

/* The guest-visible state (plain data, saved and restored by copy). */
struct fwcfg_state {
	uint16_t selector; /* last key selected (port 0x510 or a DMA select) */
	uint32_t offset;   /* read position in the selected item */
	uint64_t dma_addr; /* DMA address register: the high half written so far */
};

struct fwcfg {
	struct fwcfg_state st; /* everything save/restore copies */
	struct physmem *mem;   /* guest memory, for DMA */
	struct fwcfg_item items[FWCFG_MAX_ITEMS];
	unsigned nitems;      /* items in use */
	unsigned nfiles;      /* file items (keys FWCFG_FILE_FIRST...) */
	int cur;              /* index of the selected item, -1 when none (from st) */
	struct irq_line done; /* pulsed after each DMA request (the board ends the CPU's slice) */
};

/*
 * Claim ports 0x510-0x511 and 0x514-0x51b and create the fixed items
 * (signature, ID, file directory); -1 if a port is taken.
 */
int fwcfg_init(struct fwcfg *fw, struct ioports *io, struct physmem *mem);
void fwcfg_destroy(struct fwcfg *fw);
void fwcfg_reset(struct fwcfg *fw);
/* Set item `key` to a copy of data[0..len) (replacing it); -1 when out of room. */
int fwcfg_add_bytes(struct fwcfg *fw, uint16_t key, const void *data, uint32_t len);
/* Little-endian integers, as the legacy keys hold them. */
int fwcfg_add_u16(struct fwcfg *fw, uint16_t key, uint16_t v);
int fwcfg_add_u32(struct fwcfg *fw, uint16_t key, uint32_t v);
int fwcfg_add_u64(struct fwcfg *fw, uint16_t key, uint64_t v);
/* Add (or replace) a named file; returns its key, or -1. */
int fwcfg_add_file(struct fwcfg *fw, const char *name, const void *data, uint32_t len);
size_t fwcfg_save(const struct fwcfg *fw, void *buf, size_t len);
int fwcfg_restore(struct fwcfg *fw, const void *buf, size_t len);
/* Whether a saved record (a file's) holds only values the device can hold
 * (chipset/state.h): 0, or -1 with the field and its value in err. */
int fwcfg_check(const struct fwcfg *fw, const void *buf, size_t len, char *err, size_t errlen);

#endif
