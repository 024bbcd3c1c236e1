/*
 * fugu — the Intel 82441FX PCI and memory controller (PMC), host bridge
 * 00:00.0 (8086:1237): PAM shadow RAM control for 0xC0000-0xFFFFF and the
 * SMRAM control of the 0xA0000-0xBFFFF window.
 */
#ifndef FUGU_I440FX_H
#define FUGU_I440FX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chipset/pci.h"

struct physmem;
struct mmio_ops;

#define I440FX_PAM0 0x59
#define I440FX_SMRAM 0x72
#define I440FX_NSEG 13 /* 0xC0000-0xEFFFF in 16 KiB segments, then 0xF0000-0xFFFFF */

/* SMRAM register bits (82441FX datasheet, "SMRAM—System Management RAM Control", 72h). */
#define SMRAM_D_OPEN 0x40
#define SMRAM_D_CLS 0x20
#define SMRAM_D_LCK 0x10
#define SMRAM_G_SMRAME 0x08
#define SMRAM_C_BASE_SEG 0x02 /* hardwired: 0xA0000-0xBFFFF */

struct i440fx;

/* One PAM segment: the physical-map regions that realize its four states. */
struct i440fx_seg {
	struct i440fx *host; /* back pointer for the MMIO callbacks */
	uint32_t base, size;
	int ro;       /* RAM, read-only (RE=1 WE=0) */
	int wo;       /* MMIO: reads from the PCI side, writes to RAM if WE (RE=0) */
	int rw;       /* RAM over the BIOS alias (RE=WE=1); -1: base RAM shows */
	bool pci_rom; /* the PCI side here is the BIOS alias (else: nothing) */
};

struct i440fx {
	struct pci_function fn; /* 00:00.0; fn.st is the saved state */
	struct physmem *mem;
	struct i440fx_seg seg[I440FX_NSEG];
	uint8_t *pci_side[64]; /* ROM per 4 KiB page of 0xC0000-0xFFFFF, or NULL */
	int vga_hole;          /* MMIO 0xA0000-0xBFFFF: the PCI/VGA side */
	int smram;             /* RAM 0xA0000-0xBFFFF, shown while SMRAM is open */
	bool in_smm;           /* the CPU is in SMM (SMIACT#): SMRAM shows for it */
};

/*
 * Create the host bridge on `bus` at 00:00.0 and its regions. Call after the
 * BIOS is mapped: what the map shows at 0xC0000-0xFFFFF now (the BIOS alias)
 * is the PCI side the PAM registers switch away from. Returns -1 on failure.
 */
int i440fx_init(struct i440fx *h, struct pci_bus *bus, struct physmem *mem);
void i440fx_reset(struct i440fx *h);
/* The legacy VGA memory window 0xA0000-0xBFFFF goes to these handlers
 * (offsets from 0xA0000) while SMRAM is closed. */
void i440fx_set_vga_window(struct i440fx *h, const struct mmio_ops *ops, void *opaque);
size_t i440fx_save(const struct i440fx *h, void *buf, size_t len);
int i440fx_restore(struct i440fx *h, const void *buf, size_t len);
/* Whether a saved record (a file's) holds only values the device can hold
 * (chipset/state.h): 0, or -1 with the field and its value in err. */
int i440fx_check(const struct i440fx *h, const void *buf, size_t len, char *err, size_t errlen);

/* The CPU entered or left SMM (SMIACT#): remap the SMRAM window. */
void i440fx_set_smm(struct i440fx *h, bool in_smm);
/* The seven PAM registers (59h-5Fh), read and loaded as a whole (the board
 * keeps them across an ACPI S3 wake, as QEMU does across every reset). */
#define I440FX_NPAM 7
void i440fx_get_pam(const struct i440fx *h, uint8_t pam[I440FX_NPAM]);
void i440fx_set_pam(struct i440fx *h, const uint8_t pam[I440FX_NPAM]);

#endif
