/*
 * fugu — PCI bus 0 and configuration mechanism #1 (PCI Local Bus
 * Specification 2.1, 3.7.4.1): CONFIG_ADDRESS at 0xCF8 (dword accesses only),
 * CONFIG_DATA at 0xCFC-0xCFF. A function is a `struct pci_function` that a
 * device embeds: its 256-byte configuration space with per-bit write masks,
 * its base address registers, and callbacks for its owner.
 */
#ifndef FUGU_PCI_H
#define FUGU_PCI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ioports;
struct pci_function;

/* Configuration header offsets (PCI 2.1, 6.1, figure 6-1). */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYS_VENDOR 0x2c
#define PCI_ROM_ADDRESS 0x30
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d
#define PCI_HEADER_SIZE 0x40 /* the type 0 header; device-specific registers follow */

#define PCI_COMMAND_IO 0x0001     /* I/O space enable */
#define PCI_COMMAND_MEMORY 0x0002 /* memory space enable */
#define PCI_COMMAND_MASTER 0x0004 /* bus master enable */

#define PCI_HEADER_MULTIFUNCTION 0x80

#define PCI_MAX_BARS 8 /* BAR0-5, the expansion ROM, plus device-specific base registers */

/* What a base register decodes (PCI 2.1, 6.2.5.1). */
enum pci_bar_kind {
	PCI_BAR_IO,           /* I/O space; bit 0 reads 1; bits 31-16 hardwired to 0 */
	PCI_BAR_MEM,          /* 32-bit memory space anywhere below 4 GiB */
	PCI_BAR_MEM_PREFETCH, /* the same, prefetchable (bit 3) */
	PCI_BAR_ROM,          /* expansion ROM base (6.2.5.2): bit 0 is the ROM enable */
};

/* One base register: where it is, what it decodes, and which bit enables it. */
struct pci_bar {
	uint8_t reg;        /* config offset of the 32-bit register; 0: unused slot */
	uint8_t kind;       /* enum pci_bar_kind */
	uint8_t enable_reg; /* config byte holding the decode enable (normally PCI_COMMAND) */
	uint8_t enable_bit; /* bit mask within that byte */
	uint32_t size;      /* power of two: bytes decoded */
	uint32_t addr;      /* last base reported to the owner */
	bool mapped;        /* last enable reported to the owner */
};

/* What the owner of a function is told, and what it may override. */
struct pci_function_ops {
	/*
	 * A guest write of `size` bytes at config offset `reg` (aligned to size).
	 * NULL: pci_function_write_default. An override normally calls that
	 * helper and then looks at the registers it cares about.
	 */
	void (*config_write)(struct pci_function *fn, unsigned reg, uint32_t value, unsigned size);
	/*
	 * Base register `bar` now decodes at `addr` (mapped) or not at all. Called
	 * only on changes, and once for every BAR on reset and restore.
	 */
	void (*bar_update)(struct pci_function *fn, unsigned bar, uint32_t addr, bool mapped);
};

/* The saved state of a function: its configuration space. */
struct pci_function_state {
	uint8_t config[256];
};

struct pci_function {
	struct pci_function_state st;       /* everything save/restore copies */
	uint8_t wmask[256];                 /* bits a write may change */
	uint8_t w1cmask[256];               /* bits a write of 1 clears (status registers) */
	uint8_t reset_config[256];          /* config space at power-on (taken by pci_bus_add) */
	uint8_t reset_wmask[256];           /* write masks at power-on */
	struct pci_bar bar[PCI_MAX_BARS];   /* base registers, by slot */
	const struct pci_function_ops *ops; /* may be NULL */
	void *opaque;                       /* for the owner's callbacks */
	struct pci_bus *bus;                /* set by pci_bus_add */
	uint8_t devfn;                      /* device << 3 | function */
};

/* Bus 0 and the configuration mechanism. */
struct pci_bus {
	struct {
		uint32_t config_address; /* CONFIG_ADDRESS (0xCF8) */
		uint8_t intx[256];       /* by devfn: bit n set while INT(A+n)# is asserted */
	} st;
	struct pci_function *fn[256]; /* by devfn; NULL: absent */
	/* The board: INTx# `pin` (0 = INTA#) of device `devfn` changed level (the
	 * levels of all functions are in st.intx, for wired-OR sharing). */
	void (*set_intx)(void *opaque, unsigned devfn, unsigned pin, bool level);
	void *opaque;
};

/* Claim 0xCF8 (one port: byte accesses to 0xCF9 belong to the reset control
 * register) and 0xCFC-0xCFF; -1 if taken. */
int pci_bus_init(struct pci_bus *bus, struct ioports *io,
		 void (*set_intx)(void *, unsigned, unsigned, bool), void *opaque);
void pci_bus_reset(struct pci_bus *bus);
/* Add a function at dev:func; its config space now is its power-on state. -1 if taken. */
int pci_bus_add(struct pci_bus *bus, struct pci_function *fn, unsigned dev, unsigned func);
size_t pci_bus_save(const struct pci_bus *bus, void *buf, size_t len);
int pci_bus_restore(struct pci_bus *bus, const void *buf, size_t len);
/* Whether a saved record (a file's) holds only values the device can hold
 * (chipset/state.h): 0, or -1 with the field and its value in err. */
int pci_bus_check(const struct pci_bus *bus, const void *buf, size_t len, char *err, size_t errlen);

/*
 * Prepare a type 0 header: IDs, revision, class code (base << 16 | sub << 8 |
 * programming interface), header type; everything else zero and read-only
 * except the status register's error bits (write 1 to clear).
 */
void pci_function_init(struct pci_function *fn, uint16_t vendor, uint16_t device, uint8_t revision,
		       uint32_t class_code, const struct pci_function_ops *ops, void *opaque);
/* Declare base register `bar` (slot 0-7) at config offset reg; enabled by the
 * command register's I/O or memory bit. */
void pci_function_add_bar(struct pci_function *fn, unsigned bar, unsigned reg,
			  enum pci_bar_kind kind, uint32_t size);
/* The same, with a device-specific enable bit (PIIX4 PMBA/PMIOSE). */
void pci_function_add_bar_enable(struct pci_function *fn, unsigned bar, unsigned reg,
				 enum pci_bar_kind kind, uint32_t size, unsigned enable_reg,
				 uint8_t enable_bit);
/* Make `mask` bits of the `size`-byte register at reg writable (set) or read-only. */
void pci_set_wmask(struct pci_function *fn, unsigned reg, uint32_t mask, unsigned size);
void pci_set_w1cmask(struct pci_function *fn, unsigned reg, uint32_t mask, unsigned size);

/* Little-endian accessors on a function's config space (no masks, no side effects). */
uint32_t pci_get(const struct pci_function *fn, unsigned reg, unsigned size);
void pci_set(struct pci_function *fn, unsigned reg, uint32_t value, unsigned size);

/* A configuration cycle as the bus runs it (also for tests). */
uint32_t pci_config_read(struct pci_function *fn, unsigned reg, unsigned size);
void pci_config_write(struct pci_function *fn, unsigned reg, uint32_t value, unsigned size);
/* The masked write (wmask, w1cmask) followed by a BAR re-evaluation. */
void pci_function_write_default(struct pci_function *fn, unsigned reg, uint32_t value,
				unsigned size);
/* Re-evaluate the BARs and tell the owner what changed (force: tell it everything). */
void pci_function_update_bars(struct pci_function *fn, bool force);
/* Power-on: config space and masks back to what they were at pci_bus_add. */
void pci_function_reset(struct pci_function *fn);
size_t pci_function_save(const struct pci_function *fn, void *buf, size_t len);
int pci_function_restore(struct pci_function *fn, const void *buf, size_t len);

/* Drive the function's INTx# line (the pin in its Interrupt Pin register). */
void pci_set_irq(struct pci_function *fn, bool level);

#endif
