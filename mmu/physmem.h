/*
 * fugu — the physical address space: RAM (below the PCI hole and above 4 GiB),
 * ROM, MMIO regions with handlers, and unassigned space (reads all-ones, writes
 * dropped). Lookups go through a flat page array so the CPU's TLB fill is cheap.
 */
#ifndef FUGU_PHYSMEM_H
#define FUGU_PHYSMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAGE_SIZE 4096ull
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define PHYS_4G 0x100000000ull
#define PHYS_LOWMEM_MAX 0xe0000000ull /* RAM above this moves above 4 GiB (PCI hole) */
#define PHYS_MAX_REGIONS 64
#define PHYS_MAX_CHANGED 8 /* page ranges a batch keeps apart */

/*
 * MMIO handlers: offset is relative to the region base; size is 1, 2, 4 or 8.
 * With MMIO_BYTE_WIDE in flags the handlers see only byte accesses: the map
 * splits a wider one into bytes at consecutive offsets, lowest first (a read
 * assembled little-endian).
 */
#define MMIO_BYTE_WIDE 0x1u

struct mmio_ops {
	uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
	void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
	unsigned flags; /* MMIO_* */
};

enum phys_kind { PHYS_UNASSIGNED, PHYS_RAM, PHYS_ROM, PHYS_MMIO };

struct phys_region {
	const char *name;
	enum phys_kind kind;
	uint64_t base, size;
	uint8_t *host; /* RAM/ROM backing store */
	const struct mmio_ops *ops;
	void *opaque;
	bool enabled;
	uint8_t priority; /* 0, or 1: decoded ahead of every priority-0 region */
};

/*
 * One entry per 4 KiB page: a page-aligned host pointer with flag bits in the low
 * bits, or a region index for MMIO, or 0 for unassigned.
 */
typedef uintptr_t phys_page_t;
#define PP_HOST_MASK (~(uintptr_t)0xfff)
#define PP_WRITABLE 0x1u /* plain stores may go straight to the host page */
#define PP_CODE 0x2u     /* decoded instructions exist for this page: stores must notify */
#define PP_MMIO 0x4u     /* region index in bits 4-11 */
#define PP_TRACK 0x8u    /* a clean RAM page while dirty tracking is on: stores must mark it */
/* Stores to a page with either bit set take the slow path (no TLB write entry). */
#define PP_NOTIFY (PP_CODE | PP_TRACK)
#define PP_REGION(p) (((p) >> 4) & 0xff)

struct physmem {
	uint8_t *ram;
	uint64_t ram_size;
	uint64_t ram_below_4g;
	uint64_t ram_above_4g;
	uint64_t npages; /* pages covered by `pages`: the 4 GiB space plus RAM above it */
	phys_page_t *pages;
	struct phys_region regions[PHYS_MAX_REGIONS];
	int nregions;
	unsigned batch_depth; /* physmem_batch_begin nesting */
	/* Page ranges [lo, hi) changed inside the batch, rebuilt at its end. */
	struct phys_changed {
		uint64_t lo, hi;
	} changed[PHYS_MAX_CHANGED];
	unsigned nchanged;
	/* Notified when a store hits a page flagged PP_CODE, or when the map changes. */
	void (*code_written)(void *opaque, uint64_t pa, uint64_t len);
	void (*map_changed)(void *opaque);
	void *notify_opaque;
	/* Called for every MMIO access and every access to unassigned space or a
	 * ROM write (the `mmio` trace category); NULL when nothing traces. */
	void (*trace)(void *opaque, const char *region, uint64_t pa, uint64_t value, unsigned size,
		      int is_write);
	void *trace_opaque;
	/* Dirty tracking (physmem_track_start): RAM pages written since, by RAM page
	 * number (offset in `ram` >> 12), as a bitmap and as a list in order. */
	bool tracking;
	uint64_t *dirty_map;  /* one bit per RAM page */
	uint32_t *dirty_list; /* the set bits, each once */
	uint64_t ndirty;
	bool ram_moved;          /* some RAM page is mapped away from its own address */
	const void *track_owner; /* who started tracking (a fast snapshot), for its owner */
};

/* Create the address space with `ram_size` bytes of RAM; NULL with errno on failure. */
struct physmem *physmem_create(uint64_t ram_size);
void physmem_destroy(struct physmem *pm);
/*
 * Give a region priority 1: it shadows every priority-0 region where they
 * overlap, whatever their order (the APIC pages over PCI BARs).
 */
void physmem_region_set_priority(struct physmem *pm, int region, uint8_t priority);
/* Whether [pa, pa+len) is all RAM (what a device's DMA may read and write). */
bool physmem_is_ram(const struct physmem *pm, uint64_t pa, uint64_t len);

/* Map a read-only copy of `data` at [base, base+size); returns the region index or -1. */
int physmem_add_rom(struct physmem *pm, const char *name, uint64_t base, const void *data,
		    uint64_t size);
/* Map RAM/ROM bytes owned elsewhere (aliases, shadow RAM); writable selects RAM vs ROM. */
int physmem_add_alias(struct physmem *pm, const char *name, uint64_t base, uint8_t *host,
		      uint64_t size, bool writable);
int physmem_add_mmio(struct physmem *pm, const char *name, uint64_t base, uint64_t size,
		     const struct mmio_ops *ops, void *opaque);
void physmem_region_enable(struct physmem *pm, int region, bool enabled);
/* Give an MMIO region other handlers (a window whose decoder changes owner). */
void physmem_region_set_ops(struct physmem *pm, int region, const struct mmio_ops *ops,
			    void *opaque);
/* Move a region to `base` (page aligned) and enable or disable it, in one change. */
void physmem_region_place(struct physmem *pm, int region, uint64_t base, bool enabled);
/* Group changes: between begin and end the map is rebuilt (and the CPU told) once. */
void physmem_batch_begin(struct physmem *pm);
void physmem_batch_end(struct physmem *pm);

static inline phys_page_t
physmem_page(const struct physmem *pm, uint64_t pa)
{
	uint64_t pn = pa >> 12;
	return pn < pm->npages ? pm->pages[pn] : 0;
}

/* Slow-path accessors: any address, any length, crossing regions; used by DMA and the CPU. */
void physmem_read(struct physmem *pm, uint64_t pa, void *buf, uint64_t len);
void physmem_write(struct physmem *pm, uint64_t pa, const void *buf, uint64_t len);
uint64_t physmem_read_sized(struct physmem *pm, uint64_t pa, unsigned size);
void physmem_write_sized(struct physmem *pm, uint64_t pa, uint64_t value, unsigned size);

/* Mark or unmark a page as holding decoded code. */
void physmem_set_code(struct physmem *pm, uint64_t pa, bool code);

/*
 * Dirty tracking (fast reset, docs/SNAPSHOT.md). While it is on, every RAM page
 * not yet written is flagged PP_TRACK, so no TLB write entry exists for it and
 * the first store -- CPU slow path, page-walk A/D update, device or DMA through
 * physmem_write -- records it in dirty_list and clears the flag: later stores
 * to the page run at full speed. The caller must flush the CPU's TLB when it
 * starts tracking (write entries made before stay valid otherwise).
 * physmem_track_start returns -1 when out of memory.
 */
int physmem_track_start(struct physmem *pm);
void physmem_track_stop(struct physmem *pm);
/* Forget the dirty set and flag the listed pages clean again (after the caller
 * copied them back): O(pages dirtied). */
void physmem_track_clear(struct physmem *pm);
/* Record a store to RAM at byte offset `off` that bypassed the map (a device
 * writing its shadow RAM directly). */
void physmem_mark_ram_dirty(struct physmem *pm, uint64_t off);

#endif
