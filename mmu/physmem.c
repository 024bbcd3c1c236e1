/*
 * fugu — the physical address space.
 *
 * Regions are kept in the order they were added; a later region shadows an
 * earlier one where they overlap (MMIO over RAM, the BIOS alias over low RAM).
 * The pages of the flat array that a change touches are rebuilt from the
 * region list, so
 * the lookups on the CPU's slow path are one array index.
 */
#include "mmu/physmem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static void *
alloc_pages(uint64_t size)
{
	void *p = mmap(NULL, size ? size : PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* The RAM page number of a host pointer into RAM, or -1 for other backing stores. */
static int64_t
ram_page(const struct physmem *pm, const uint8_t *host)
{
	if (host < pm->ram || host >= pm->ram + pm->ram_size)
		return -1;
	return (host - pm->ram) >> 12;
}

/* Where RAM page r sits in the map when nothing moved it (RAM and its PAM/SMRAM aliases). */
static uint64_t
ram_page_pa(const struct physmem *pm, uint64_t r)
{
	uint64_t off = r << 12;
	return off < pm->ram_below_4g ? off : PHYS_4G + (off - pm->ram_below_4g);
}

static bool
is_dirty(const struct physmem *pm, uint64_t r)
{
	return pm->dirty_map[r / 64] >> (r % 64) & 1;
}

/*
 * Recompute pages [lo, hi) of the flat array from the region list (a later
 * region shadows an earlier one). Only the pages a change touched are
 * rebuilt, so moving a BAR costs its own size, not the size of guest RAM
 * (the whole array is 128 MiB at -m 64G).
 */
static void
rebuild_range(struct physmem *pm, uint64_t lo, uint64_t hi)
{
	if (hi > pm->npages)
		hi = pm->npages;
	if (lo == 0 && hi == pm->npages)
		pm->ram_moved = false; /* a partial rebuild only ever sets it */
	if (lo < hi) {
		memset(pm->pages + lo, 0, (hi - lo) * sizeof(pm->pages[0]));
		for (int k = 0; k < 2 * pm->nregions; k++) { /* priority 0, then 1 */
			int r = k % pm->nregions;
			struct phys_region *reg = &pm->regions[r];
			if (!reg->enabled || reg->priority != k / pm->nregions)
				continue;
			uint64_t first = reg->base >> 12;
			uint64_t end = first + ((reg->size + PAGE_SIZE - 1) >> 12);
			uint64_t a = first > lo ? first : lo, b = end < hi ? end : hi;
			for (uint64_t pn = a; pn < b; pn++) {
				uint64_t i = pn - first;
				phys_page_t e;
				switch (reg->kind) {
				case PHYS_RAM: {
					uint8_t *h = reg->host + (i << 12);
					int64_t rp = pm->tracking ? ram_page(pm, h) : -1;
					e = (uintptr_t)h | PP_WRITABLE;
					if (rp >= 0 && !is_dirty(pm, (uint64_t)rp))
						e |= PP_TRACK;
					if (rp >= 0 && ram_page_pa(pm, (uint64_t)rp) != pn << 12)
						pm->ram_moved = true;
					break;
				}
				case PHYS_ROM: e = (uintptr_t)(reg->host + (i << 12)); break;
				case PHYS_MMIO: e = PP_MMIO | ((phys_page_t)r << 4); break;
				default: e = 0;
				}
				pm->pages[pn] = e;
			}
		}
	}
	if (pm->map_changed)
		pm->map_changed(pm->notify_opaque);
}

/* The pages region `reg` covers: [*lo, *hi). */
static void
region_pages(const struct phys_region *reg, uint64_t *lo, uint64_t *hi)
{
	*lo = reg->base >> 12;
	*hi = *lo + ((reg->size + PAGE_SIZE - 1) >> 12);
}

/*
 * Pages [lo, hi) changed: rebuild them now, or at the end of the current
 * batch (a few separate ranges are kept apart, so a BAR moved from low memory
 * to the top does not rebuild everything between).
 */
static void
pages_changed(struct physmem *pm, uint64_t lo, uint64_t hi)
{
	if (!pm->batch_depth) {
		rebuild_range(pm, lo, hi);
		return;
	}
	for (unsigned k = 0; k < pm->nchanged; k++) {
		struct phys_changed *d = &pm->changed[k];
		if (lo <= d->hi && d->lo <= hi) { /* overlapping or adjacent: merge */
			d->lo = lo < d->lo ? lo : d->lo;
			d->hi = hi > d->hi ? hi : d->hi;
			return;
		}
	}
	if (pm->nchanged == PHYS_MAX_CHANGED) { /* out of slots: widen the last one */
		struct phys_changed *d = &pm->changed[PHYS_MAX_CHANGED - 1];
		d->lo = lo < d->lo ? lo : d->lo;
		d->hi = hi > d->hi ? hi : d->hi;
		return;
	}
	pm->changed[pm->nchanged++] = (struct phys_changed){ lo, hi };
}

static int
add_region(struct physmem *pm, const struct phys_region *tmpl)
{
	if (pm->nregions >= PHYS_MAX_REGIONS || (tmpl->base & ~PAGE_MASK))
		return -1;
	int idx = pm->nregions++;
	pm->regions[idx] = *tmpl;
	pm->regions[idx].enabled = true;
	uint64_t lo, hi;
	region_pages(&pm->regions[idx], &lo, &hi);
	pages_changed(pm, lo, hi);
	return idx;
}

struct physmem *
physmem_create(uint64_t ram_size)
{
	struct physmem *pm = calloc(1, sizeof(*pm));
	if (!pm)
		return NULL;
	ram_size = (ram_size + PAGE_SIZE - 1) & PAGE_MASK;
	pm->ram_size = ram_size;
	pm->ram_below_4g = ram_size < PHYS_LOWMEM_MAX ? ram_size : PHYS_LOWMEM_MAX;
	pm->ram_above_4g = ram_size - pm->ram_below_4g;
	pm->npages = (PHYS_4G + pm->ram_above_4g) >> 12;
	pm->ram = alloc_pages(ram_size);
	pm->pages = calloc(pm->npages, sizeof(pm->pages[0]));
	if (!pm->ram || !pm->pages) {
		physmem_destroy(pm);
		errno = ENOMEM;
		return NULL;
	}
	add_region(pm, &(struct phys_region){ .name = "ram-below-4g",
					      .kind = PHYS_RAM,
					      .base = 0,
					      .size = pm->ram_below_4g,
					      .host = pm->ram });
	if (pm->ram_above_4g)
		add_region(pm, &(struct phys_region){ .name = "ram-above-4g",
						      .kind = PHYS_RAM,
						      .base = PHYS_4G,
						      .size = pm->ram_above_4g,
						      .host = pm->ram + pm->ram_below_4g });
	return pm;
}

void
physmem_destroy(struct physmem *pm)
{
	if (!pm)
		return;
	for (int r = 0; r < pm->nregions; r++)
		if (pm->regions[r].kind == PHYS_ROM && pm->regions[r].opaque == pm)
			munmap(pm->regions[r].host, pm->regions[r].size);
	if (pm->ram)
		munmap(pm->ram, pm->ram_size ? pm->ram_size : PAGE_SIZE);
	free(pm->pages);
	free(pm->dirty_map);
	free(pm->dirty_list);
	free(pm);
}

void
physmem_region_set_priority(struct physmem *pm, int region, uint8_t priority)
{
	if (region < 0 || region >= pm->nregions || pm->regions[region].priority == priority)
		return;
	pm->regions[region].priority = priority ? 1 : 0;
	uint64_t lo, hi;
	region_pages(&pm->regions[region], &lo, &hi);
	pages_changed(pm, lo, hi);
}

bool
physmem_is_ram(const struct physmem *pm, uint64_t pa, uint64_t len)
{
	if (len == 0)
		return true;
	if (pa + len < pa)
		return false;
	for (uint64_t pn = pa >> 12; pn <= (pa + len - 1) >> 12; pn++)
		if (pn >= pm->npages || !(pm->pages[pn] & PP_WRITABLE))
			return false;
	return true;
}

int
physmem_add_rom(struct physmem *pm, const char *name, uint64_t base, const void *data,
		uint64_t size)
{
	uint64_t alloc = (size + PAGE_SIZE - 1) & PAGE_MASK;
	uint8_t *host = alloc_pages(alloc);
	if (!host)
		return -1;
	memcpy(host, data, size);
	/* opaque == pm marks a backing store this module owns and must unmap. */
	return add_region(pm, &(struct phys_region){ .name = name,
						     .kind = PHYS_ROM,
						     .base = base,
						     .size = size,
						     .host = host,
						     .opaque = pm });
}

int
physmem_add_alias(struct physmem *pm, const char *name, uint64_t base, uint8_t *host, uint64_t size,
		  bool writable)
{
	return add_region(pm, &(struct phys_region){ .name = name,
						     .kind = writable ? PHYS_RAM : PHYS_ROM,
						     .base = base,
						     .size = size,
						     .host = host });
}

int
physmem_add_mmio(struct physmem *pm, const char *name, uint64_t base, uint64_t size,
		 const struct mmio_ops *ops, void *opaque)
{
	return add_region(pm, &(struct phys_region){ .name = name,
						     .kind = PHYS_MMIO,
						     .base = base,
						     .size = size,
						     .ops = ops,
						     .opaque = opaque });
}

void
physmem_region_enable(struct physmem *pm, int region, bool enabled)
{
	if (region < 0 || region >= pm->nregions || pm->regions[region].enabled == enabled)
		return;
	pm->regions[region].enabled = enabled;
	uint64_t lo, hi;
	region_pages(&pm->regions[region], &lo, &hi);
	pages_changed(pm, lo, hi);
}

void
physmem_region_place(struct physmem *pm, int region, uint64_t base, bool enabled)
{
	if (region < 0 || region >= pm->nregions)
		return;
	if (base & ~PAGE_MASK) { /* cannot be mapped there: it decodes nothing */
		physmem_region_enable(pm, region, false);
		return;
	}
	struct phys_region *r = &pm->regions[region];
	if (r->base == base && r->enabled == enabled)
		return;
	uint64_t lo, hi, lo2, hi2;
	region_pages(r, &lo, &hi); /* where it was ... */
	r->base = base;
	r->enabled = enabled;
	region_pages(r, &lo2, &hi2); /* ... and where it is: both change */
	physmem_batch_begin(pm);     /* old and new place, one notification */
	pages_changed(pm, lo, hi);
	pages_changed(pm, lo2, hi2);
	physmem_batch_end(pm);
}

void
physmem_region_set_ops(struct physmem *pm, int region, const struct mmio_ops *ops, void *opaque)
{
	if (region < 0 || region >= pm->nregions || pm->regions[region].kind != PHYS_MMIO)
		return;
	pm->regions[region].ops = ops;
	pm->regions[region].opaque = opaque;
}

void
physmem_batch_begin(struct physmem *pm)
{
	pm->batch_depth++;
}

void
physmem_batch_end(struct physmem *pm)
{
	if (pm->batch_depth && --pm->batch_depth == 0 && pm->nchanged) {
		void (*notify)(void *) = pm->map_changed;
		pm->map_changed = NULL; /* once, after the last range */
		for (unsigned k = 0; k < pm->nchanged; k++)
			rebuild_range(pm, pm->changed[k].lo, pm->changed[k].hi);
		pm->nchanged = 0;
		pm->map_changed = notify;
		if (notify)
			notify(pm->notify_opaque);
	}
}

void
physmem_set_code(struct physmem *pm, uint64_t pa, bool code)
{
	uint64_t pn = pa >> 12;
	if (pn >= pm->npages || !(pm->pages[pn] & PP_HOST_MASK))
		return;
	if (code)
		pm->pages[pn] |= PP_CODE;
	else
		pm->pages[pn] &= ~(phys_page_t)PP_CODE;
}

/* Record RAM page r as written (once) while tracking. */
static void
mark_dirty(struct physmem *pm, uint64_t r)
{
	if (!pm->tracking || is_dirty(pm, r))
		return;
	pm->dirty_map[r / 64] |= 1ull << (r % 64);
	pm->dirty_list[pm->ndirty++] = (uint32_t)r;
}

void
physmem_mark_ram_dirty(struct physmem *pm, uint64_t off)
{
	if (off >= pm->ram_size)
		return;
	mark_dirty(pm, off >> 12);
	uint64_t pn = ram_page_pa(pm, off >> 12) >> 12;
	if (pn < pm->npages)
		pm->pages[pn] &= ~(phys_page_t)PP_TRACK;
}

/* A store reached a flagged page: mark it dirty, drop decoded code on it. */
static void
notify_store(struct physmem *pm, phys_page_t p, uint64_t pa, uint64_t len)
{
	if (p & PP_TRACK) {
		int64_t r = ram_page(pm, (const uint8_t *)(p & PP_HOST_MASK));
		pm->pages[pa >> 12] &= ~(phys_page_t)PP_TRACK;
		if (r >= 0)
			mark_dirty(pm, (uint64_t)r);
	}
	if ((p & PP_CODE) && pm->code_written)
		pm->code_written(pm->notify_opaque, pa, len);
}

int
physmem_track_start(struct physmem *pm)
{
	uint64_t n = pm->ram_size >> 12;
	if (!pm->dirty_map) {
		pm->dirty_map = calloc((n + 63) / 64 + 1, sizeof(uint64_t));
		pm->dirty_list = malloc((n + 1) * sizeof(uint32_t));
		if (!pm->dirty_map || !pm->dirty_list) {
			free(pm->dirty_map);
			free(pm->dirty_list);
			pm->dirty_map = NULL;
			pm->dirty_list = NULL;
			return -1;
		}
	}
	memset(pm->dirty_map, 0, ((n + 63) / 64 + 1) * sizeof(uint64_t));
	pm->ndirty = 0;
	pm->tracking = true;
	for (uint64_t pn = 0; pn < pm->npages; pn++) {
		phys_page_t p = pm->pages[pn];
		if ((p & PP_WRITABLE) && ram_page(pm, (const uint8_t *)(p & PP_HOST_MASK)) >= 0)
			pm->pages[pn] = p | PP_TRACK;
	}
	return 0;
}

void
physmem_track_stop(struct physmem *pm)
{
	pm->tracking = false;
	for (uint64_t pn = 0; pn < pm->npages; pn++)
		pm->pages[pn] &= ~(phys_page_t)PP_TRACK;
	pm->ndirty = 0;
}

void
physmem_track_clear(struct physmem *pm)
{
	for (uint64_t k = 0; k < pm->ndirty; k++) {
		uint64_t r = pm->dirty_list[k];
		pm->dirty_map[r / 64] &= ~(1ull << (r % 64));
		uint64_t pn = ram_page_pa(pm, r) >> 12;
		phys_page_t p = pn < pm->npages ? pm->pages[pn] : 0;
		if ((p & PP_WRITABLE) && (p & PP_HOST_MASK) == (uintptr_t)(pm->ram + (r << 12)))
			pm->pages[pn] = p | PP_TRACK;
	}
	pm->ndirty = 0;
	/* A RAM page mapped somewhere else too: flag every mapping again. */
	if (pm->ram_moved)
		rebuild_range(pm, 0, pm->npages);
}

static inline void
trace_access(struct physmem *pm, const char *region, uint64_t pa, uint64_t v, unsigned size,
	     int is_write)
{
	if (pm->trace)
		pm->trace(pm->trace_opaque, region, pa, v, size, is_write);
}

/* An MMIO access within one page; offsets past the region's end are unassigned. */
static uint64_t
mmio_read(struct physmem *pm, phys_page_t p, uint64_t pa, unsigned size)
{
	struct phys_region *reg = &pm->regions[PP_REGION(p)];
	uint64_t off = pa - reg->base;
	uint64_t v = ~0ull >> (64 - 8 * size);
	if (off + size <= reg->size && reg->ops->read) {
		if (size > 1 && (reg->ops->flags & MMIO_BYTE_WIDE)) {
			v = 0;
			for (unsigned i = 0; i < size; i++)
				v |= (reg->ops->read(reg->opaque, off + i, 1) & 0xff) << (8 * i);
		} else {
			v = reg->ops->read(reg->opaque, off, size);
		}
	}
	trace_access(pm, reg->name, pa, v, size, 0);
	return v;
}

static void
mmio_write(struct physmem *pm, phys_page_t p, uint64_t pa, uint64_t v, unsigned size)
{
	struct phys_region *reg = &pm->regions[PP_REGION(p)];
	uint64_t off = pa - reg->base;
	trace_access(pm, reg->name, pa, v, size, 1);
	if (off + size > reg->size || !reg->ops->write)
		return;
	if (size > 1 && (reg->ops->flags & MMIO_BYTE_WIDE)) {
		for (unsigned i = 0; i < size; i++)
			reg->ops->write(reg->opaque, off + i, (v >> (8 * i)) & 0xff, 1);
		return;
	}
	reg->ops->write(reg->opaque, off, v, size);
}

uint64_t
physmem_read_sized(struct physmem *pm, uint64_t pa, unsigned size)
{
	phys_page_t p = physmem_page(pm, pa);
	if ((pa & 0xfff) + size > 0x1000 || !(p & (PP_HOST_MASK | PP_MMIO))) {
		if (!(p & (PP_HOST_MASK | PP_MMIO)) && (pa & 0xfff) + size <= 0x1000) {
			uint64_t v = ~0ull >> (64 - 8 * size); /* unassigned: all ones */
			trace_access(pm, "unassigned", pa, v, size, 0);
			return v;
		}
		uint64_t v = 0;
		physmem_read(pm, pa, &v, size);
		return v;
	}
	if (p & PP_MMIO)
		return mmio_read(pm, p, pa, size);
	uint64_t v = 0;
	memcpy(&v, (uint8_t *)(p & PP_HOST_MASK) + (pa & 0xfff), size);
	return v;
}

void
physmem_write_sized(struct physmem *pm, uint64_t pa, uint64_t value, unsigned size)
{
	phys_page_t p = physmem_page(pm, pa);
	if ((pa & 0xfff) + size > 0x1000) {
		physmem_write(pm, pa, &value, size);
		return;
	}
	if (p & PP_MMIO) {
		mmio_write(pm, p, pa, value, size);
		return;
	}
	if (!(p & PP_WRITABLE)) { /* ROM or unassigned: dropped */
		trace_access(pm, (p & PP_HOST_MASK) ? "rom" : "unassigned", pa, value, size, 1);
		return;
	}
	memcpy((uint8_t *)(p & PP_HOST_MASK) + (pa & 0xfff), &value, size);
	if (p & PP_NOTIFY)
		notify_store(pm, p, pa, size);
}

void
physmem_read(struct physmem *pm, uint64_t pa, void *buf, uint64_t len)
{
	uint8_t *out = buf;
	while (len) {
		uint64_t chunk = PAGE_SIZE - (pa & 0xfff);
		if (chunk > len)
			chunk = len;
		phys_page_t p = physmem_page(pm, pa);
		if (p & PP_MMIO) {
			for (uint64_t i = 0; i < chunk; i++)
				out[i] = (uint8_t)mmio_read(pm, p, pa + i, 1);
		} else if (p & PP_HOST_MASK) {
			memcpy(out, (uint8_t *)(p & PP_HOST_MASK) + (pa & 0xfff), chunk);
		} else {
			memset(out, 0xff, chunk);
			trace_access(pm, "unassigned", pa, ~0ull, (unsigned)chunk, 0);
		}
		out += chunk;
		pa += chunk;
		len -= chunk;
	}
}

void
physmem_write(struct physmem *pm, uint64_t pa, const void *buf, uint64_t len)
{
	const uint8_t *in = buf;
	while (len) {
		uint64_t chunk = PAGE_SIZE - (pa & 0xfff);
		if (chunk > len)
			chunk = len;
		phys_page_t p = physmem_page(pm, pa);
		if (p & PP_MMIO) {
			for (uint64_t i = 0; i < chunk; i++)
				mmio_write(pm, p, pa + i, in[i], 1);
		} else if (p & PP_WRITABLE) {
			memcpy((uint8_t *)(p & PP_HOST_MASK) + (pa & 0xfff), in, chunk);
			if (p & PP_NOTIFY)
				notify_store(pm, p, pa, chunk);
		} else {
			trace_access(pm, (p & PP_HOST_MASK) ? "rom" : "unassigned", pa, 0,
				     (unsigned)chunk, 1);
		}
		in += chunk;
		pa += chunk;
		len -= chunk;
	}
}
