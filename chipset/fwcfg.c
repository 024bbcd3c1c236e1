/*
 * fugu — QEMU's fw_cfg device, as the I/O-port variant on x86. References are
 * to QEMU's specification, docs/specs/fw_cfg.rst ("Selector (Control)
 * Register", "Data Register", "DMA Address Register", "Firmware Configuration
 * Items"), and to how SeaBIOS uses it (src/fw/paravirt.c, qemu_cfg_*).
 *
 * An item is a byte string under a 16-bit key. Writing a key to the selector
 * port selects it and rewinds its offset; each data-port read returns the next
 * byte, and reads past the end (or of an unknown key) return 0. Named items
 * ("files") get keys from FWCFG_FILE_FIRST up and are listed in the directory
 * at FWCFG_FILE_DIR: a big-endian count, then 64-byte entries {be32 size,
 * be16 select, be16 reserved, char name[56]}. The DMA interface reads a
 * descriptor {be32 control, be32 length, be64 address} from guest memory,
 * performs select/read/skip/write, and writes the control word back (0, or
 * the error bit). Items are configuration built by the board, not state: only
 * the selector, offset and DMA address are saved.
 */
#include "chipset/fwcfg.h"
#include "chipset/state.h"

#include <stdlib.h>
#include <string.h>

#include "mmu/ioport.h"
#include "mmu/physmem.h"

#define DIR_ENTRY_SIZE 64

static void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t
get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static uint32_t
bswap32(uint32_t v)
{
	return v >> 24 | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | v << 24;
}

/*
 * The index of the item with key `key`, or -1.
 */
static int
find_item(const struct fwcfg *fw, uint16_t key)
{
	for (unsigned k = 0; k < fw->nitems; k++)
		if (fw->items[k].key == key)
			return (int)k;
	return -1;
}

/*
 * Select key `key` and rewind ("Selector (Control) Register"). Bit 14 (the
 * legacy write flag) and bit 15 (architecture-local) are part of the key
 * compared against the items; the write flag matches nothing, so a selector
 * with it set reads as zeros, as QEMU's does since write support was removed.
 */
static void
select_key(struct fwcfg *fw, uint16_t key)
{
	fw->st.selector = key;
	fw->st.offset = 0;
	fw->cur = find_item(fw, key);
}

/*
 * The next byte of the selected item; 0 past its end or when no item exists
 * ("Data Register": "reads beyond the end return 0").
 */
static uint8_t
read_byte(struct fwcfg *fw)
{
	if (fw->cur < 0)
		return 0;
	const struct fwcfg_item *it = &fw->items[fw->cur];
	if (fw->st.offset >= it->len)
		return 0;
	return it->data[fw->st.offset++];
}

/*
 * Rebuild the file directory item from the file items.
 */
static int
rebuild_dir(struct fwcfg *fw)
{
	uint32_t len = 4 + fw->nfiles * DIR_ENTRY_SIZE;
	uint8_t *dir = calloc(1, len);
	if (!dir)
		return -1;
	put_be32(dir, fw->nfiles);
	uint8_t *e = dir + 4;
	for (unsigned k = 0; k < fw->nitems; k++) {
		const struct fwcfg_item *it = &fw->items[k];
		if (!it->name[0])
			continue;
		put_be32(e, it->len);
		put_be16(e + 4, it->key);
		memcpy(e + 8, it->name, FWCFG_NAME_LEN);
		e += DIR_ENTRY_SIZE;
	}
	int r = fwcfg_add_bytes(fw, FWCFG_FILE_DIR, dir, len);
	free(dir);
	return r;
}

int
fwcfg_add_bytes(struct fwcfg *fw, uint16_t key, const void *data, uint32_t len)
{
	int k = find_item(fw, key);
	if (k < 0) {
		if (fw->nitems >= FWCFG_MAX_ITEMS)
			return -1;
		k = (int)fw->nitems++;
		fw->items[k] = (struct fwcfg_item){ .key = key };
	}
	uint8_t *copy = NULL;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return -1;
		memcpy(copy, data, len);
	}
	struct fwcfg_item *it = &fw->items[k];
	free(it->data);
	it->data = copy;
	it->len = len;
	if (key == fw->st.selector)
		fw->cur = k;
	return 0;
}

static int
add_le(struct fwcfg *fw, uint16_t key, uint64_t v, unsigned size)
{
	uint8_t b[8];
	for (unsigned k = 0; k < size; k++)
		b[k] = (uint8_t)(v >> (8 * k));
	return fwcfg_add_bytes(fw, key, b, size);
}

int
fwcfg_add_u16(struct fwcfg *fw, uint16_t key, uint16_t v)
{
	return add_le(fw, key, v, 2);
}

int
fwcfg_add_u32(struct fwcfg *fw, uint16_t key, uint32_t v)
{
	return add_le(fw, key, v, 4);
}

int
fwcfg_add_u64(struct fwcfg *fw, uint16_t key, uint64_t v)
{
	return add_le(fw, key, v, 8);
}

int
fwcfg_add_file(struct fwcfg *fw, const char *name, const void *data, uint32_t len)
{
	size_t n = strlen(name);
	if (n == 0 || n >= FWCFG_NAME_LEN)
		return -1;
	int key = -1;
	for (unsigned k = 0; k < fw->nitems; k++)
		if (fw->items[k].name[0] && !strcmp(fw->items[k].name, name))
			key = fw->items[k].key;
	if (key < 0) {
		/* Check room for the file and a directory that may grow. */
		if (fw->nitems + 1 >= FWCFG_MAX_ITEMS)
			return -1;
		key = FWCFG_FILE_FIRST + (int)fw->nfiles;
		if (fwcfg_add_bytes(fw, (uint16_t)key, data, len) < 0)
			return -1;
		struct fwcfg_item *it = &fw->items[find_item(fw, (uint16_t)key)];
		memset(it->name, 0, sizeof(it->name));
		memcpy(it->name, name, n);
		fw->nfiles++;
	} else if (fwcfg_add_bytes(fw, (uint16_t)key, data, len) < 0) {
		return -1;
	}
	return rebuild_dir(fw) < 0 ? -1 : key;
}

/*
 * One DMA request ("DMA interface"): the descriptor at `addr` is read, the
 * operation performed, and the control word written back as 0 on success or
 * with the error bit set. Reads past the end of the item (or of no item) fill
 * guest memory with zeros; writes are refused (no item is writable).
 *
 * The descriptor and every byte moved must be RAM: a transfer stops with the
 * error bit at the first page that is not (unassigned, ROM, MMIO), as QEMU's
 * DMA API fails a transaction the bus does not accept. So a stray write to
 * 0x518 (a descriptor in unassigned space reads as all ones: a 4 GiB read to
 * the top of the address space) costs nothing, and no request moves more
 * than the guest's RAM. Each request ends the CPU's slice (`done`), so the run
 * loop sees the host clock between two of them.
 */
static void
dma_transfer(struct fwcfg *fw, uint64_t addr)
{
	uint8_t desc[16];
	uint32_t status = 0;
	irq_pulse(&fw->done);
	if (!physmem_is_ram(fw->mem, addr, sizeof(desc)))
		return; /* nowhere to read the request or report on it */
	physmem_read(fw->mem, addr, desc, sizeof(desc));
	uint32_t control = get_be32(desc), length = get_be32(desc + 4);
	uint64_t dst = get_be64(desc + 8);
	if (control & FWCFG_DMA_SELECT)
		select_key(fw, (uint16_t)(control >> 16));
	if (control & FWCFG_DMA_READ) {
		uint8_t buf[PAGE_SIZE];
		while (length) {
			/* up to the end of the destination page */
			uint64_t room = PAGE_SIZE - (dst & (PAGE_SIZE - 1));
			uint32_t chunk = length < room ? length : (uint32_t)room;
			if (dst + chunk < dst || !physmem_is_ram(fw->mem, dst, chunk)) {
				status = FWCFG_DMA_ERROR;
				break;
			}
			for (uint32_t k = 0; k < chunk; k++)
				buf[k] = read_byte(fw);
			physmem_write(fw->mem, dst, buf, chunk);
			dst += chunk;
			length -= chunk;
		}
	} else if (control & FWCFG_DMA_WRITE) {
		status = FWCFG_DMA_ERROR;
	} else if (control & FWCFG_DMA_SKIP) {
		uint32_t left = 0;
		if (fw->cur >= 0 && fw->items[fw->cur].len > fw->st.offset)
			left = fw->items[fw->cur].len - fw->st.offset;
		fw->st.offset += length < left ? length : left;
	}
	uint8_t out[4];
	put_be32(out, status);
	physmem_write(fw->mem, addr, out, sizeof(out));
}

/*
 * Ports 0x510 (selector, 16-bit) and 0x511 (data, byte-wide; a wider read
 * returns consecutive bytes, the first in the low byte).
 */
static uint32_t
port_read(void *opaque, uint16_t port, unsigned size)
{
	struct fwcfg *fw = opaque;
	if (port == FWCFG_PORT_SEL)
		return 0;
	uint32_t v = 0;
	for (unsigned k = 0; k < size; k++)
		v |= (uint32_t)read_byte(fw) << (8 * k);
	return v;
}

static void
port_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct fwcfg *fw = opaque;
	(void)size;
	if (port == FWCFG_PORT_SEL)
		select_key(fw, (uint16_t)value);
	/* Data port writes are ignored ("Data Register": no longer supported). */
}

/*
 * The DMA address register, 0x514-0x51b: a big-endian 64-bit address. A
 * 32-bit write at 0x514 sets the high half; one at 0x518 sets the low half
 * and starts the transfer, after which the register is clear again. Reads
 * return the signature "QEMU CFG" ("DMA Address Register").
 */
static uint32_t
dma_read(void *opaque, uint16_t port, unsigned size)
{
	static const char sig[8] = { 'Q', 'E', 'M', 'U', ' ', 'C', 'F', 'G' };
	unsigned off = port - FWCFG_PORT_DMA;
	uint32_t v = 0;
	(void)opaque;
	for (unsigned k = 0; k < size && off + k < 8; k++)
		v |= (uint32_t)(uint8_t)sig[off + k] << (8 * k);
	return v;
}

static void
dma_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct fwcfg *fw = opaque;
	if (size != 4)
		return;
	if (port == FWCFG_PORT_DMA) {
		fw->st.dma_addr = (uint64_t)bswap32(value) << 32;
	} else if (port == FWCFG_PORT_DMA + 4) {
		uint64_t addr = fw->st.dma_addr | bswap32(value);
		fw->st.dma_addr = 0;
		dma_transfer(fw, addr);
	}
}

int
fwcfg_init(struct fwcfg *fw, struct ioports *io, struct physmem *mem)
{
	static const uint8_t sig[4] = { 'Q', 'E', 'M', 'U' };
	memset(fw, 0, sizeof(*fw));
	fw->mem = mem;
	fw->cur = -1;
	if (fwcfg_add_bytes(fw, FWCFG_SIGNATURE, sig, sizeof(sig)) < 0 ||
	    fwcfg_add_u32(fw, FWCFG_ID, FWCFG_ID_TRADITIONAL | FWCFG_ID_DMA) < 0 ||
	    rebuild_dir(fw) < 0)
		return -1;
	fwcfg_reset(fw);
	if (ioports_register(io, FWCFG_PORT_SEL, 2, "fw_cfg", port_read, port_write, fw, 0) ||
	    ioports_register(io, FWCFG_PORT_DMA, 8, "fw_cfg-dma", dma_read, dma_write, fw, 0))
		return -1;
	return 0;
}

void
fwcfg_destroy(struct fwcfg *fw)
{
	for (unsigned k = 0; k < fw->nitems; k++)
		free(fw->items[k].data);
	fw->nitems = 0;
	fw->nfiles = 0;
	fw->cur = -1;
}

/*
 * Power-on: the signature is selected, the DMA address register is clear.
 */
void
fwcfg_reset(struct fwcfg *fw)
{
	memset(&fw->st, 0, sizeof(fw->st));
	select_key(fw, FWCFG_SIGNATURE);
}

size_t
fwcfg_save(const struct fwcfg *fw, void *buf, size_t len)
{
	return state_save(&fw->st, sizeof(fw->st), buf, len);
}

/* Nothing in struct fwcfg_state indexes without a check: the selector is looked up
 * (an unknown key selects nothing) and the offset is compared with the item's length. */
int
fwcfg_check(const struct fwcfg *fw, const void *buf, size_t len, char *err, size_t errlen)
{
	(void)fw;
	(void)buf;
	(void)len;
	(void)err;
	(void)errlen;
	return 0;
}

int
fwcfg_restore(struct fwcfg *fw, const void *buf, size_t len)
{
	if (state_restore(&fw->st, sizeof(fw->st), buf, len, STATE_NO_BOOLS, STATE_NO_LIMITS) < 0)
		return -1;
	fw->cur = find_item(fw, fw->st.selector);
	return 0;
}
