/*
 * fugu — snapshots of the whole machine: the file format (docs/SNAPSHOT.md)
 * and the in-memory fast reset.
 *
 * The machine is saved as a list of sections taken from the board's tables:
 * one per row of pc_devices (its name and version), plus the CPU, the board's
 * wiring, the clock, RAM and the disk overlays. Restoring goes in a fixed
 * order: RAM, the board, the devices (each re-drives its IRQ lines into the
 * restored board, so no edge is lost or invented), the CPU (whose latched
 * events are authoritative), the clock (last: the devices' restore may have
 * armed timers; the saved queue replaces them exactly).
 */
#include "chipset/snapshot.h"
#include "chipset/state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include <zstd.h>

#include "chipset/pc.h"
#include "cpu/cpu.h"
#include "mmu/physmem.h"

/* The file header; the format is little-endian (fugu runs on x86-64 hosts). */
struct file_hdr {
	char magic[8];      /* SNAPSHOT_MAGIC */
	uint32_t format;    /* SNAPSHOT_FORMAT_VERSION */
	uint32_t nsections; /* sections that follow */
	uint64_t reserved;  /* 0 */
	uint32_t pad;       /* 0 */
	uint32_t crc;       /* CRC-32 of this header with crc = 0 */
};

/* Each section: this header, then `length` bytes. */
struct sect_hdr {
	char name[16];       /* NUL padded */
	uint32_t version;    /* of the section's layout */
	uint32_t flags;      /* SECT_ZSTD */
	uint64_t length;     /* bytes stored */
	uint64_t raw_length; /* bytes after decompression */
	uint32_t crc;        /* CRC-32 of this header with crc = 0, then of the bytes */
	uint32_t reserved;   /* 0 */
};
#define SECT_ZSTD 0x1u

_Static_assert(sizeof(struct file_hdr) == 32, "file header layout");
_Static_assert(sizeof(struct sect_hdr) == 48, "section header layout");

/* Versions of the sections that are not device-table rows. */
#define V_MACHINE 1
#define V_CPU 2 /* 2: struct cpu_state gained xcr0 (XSAVE) */
#define V_BOARD 1
#define V_CLOCK 1
#define V_RAM 1
#define V_DISK 1
#define V_VMX 1

#define MAX_SECTIONS 64
#define MACHINE_TEXT 2048

/* The device table's row of the IDE controller, whose drives hold the overlays. */
static size_t
ide_row(void)
{
	for (size_t i = 0; i < pc_ndevices; i++)
		if (!strcmp(pc_devices[i].name, "ide"))
			return i;
	return pc_ndevices;
}

/* ---- the machine's configuration, as text lines "what: value" ---- */

static void append(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void
append(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	if (used >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

/*
 * What a snapshot can only be loaded into: RAM size, CPU model and features,
 * the devices present, the drives (size and mode), the firmware (ROM regions
 * by name, size and CRC) and the clock mode. One line each, so a difference
 * is reported as one line.
 */
/* CPU k's section: "cpu", "cpu1", "cpu2"... (the same for "vmx"). */
static const char *
per_cpu(char name[16], const char *base, unsigned k)
{
	if (k)
		snprintf(name, 16, "%s%u", base, k);
	else
		snprintf(name, 16, "%s", base);
	return name;
}

static void
describe(struct pc *pc, char *buf, size_t len)
{
	buf[0] = '\0';
	append(buf, len, "RAM size: %" PRIu64 " MiB\n", pc->mem->ram_size >> 20);
	append(buf, len, "CPUs: %u\n", pc->ncpus);
	const struct cpu_features *f = &pc->cpu->features;
	append(buf, len, "CPU model: %s (%s family %u model %u stepping %u)\n",
	       f->model_name ? f->model_name : "?", f->vendor, f->family, f->model, f->stepping);
	append(buf, len, "CPU features:");
	for (size_t k = 0; k < sizeof(f->bits) / sizeof(f->bits[0]); k++)
		append(buf, len, " %016" PRIx64, f->bits[k]);
	append(buf, len, " leaves %x %x\n", f->max_leaf, f->max_ext_leaf);
	append(buf, len, "devices:");
	for (size_t i = 0; i < pc_ndevices; i++)
		if (pc_device(pc, i))
			append(buf, len, " %s", pc_devices[i].name);
	append(buf, len, "\n");
	for (unsigned d = 0; d < 4; d++) {
		const struct ide_drive *drv = &pc->ide.ch[d / 2].drive[d % 2];
		if (!pc_device(pc, ide_row()) || !drv->present)
			append(buf, len, "drive %u: none\n", d);
		else
			append(buf, len, "drive %u: %" PRIu64 " sectors%s%s\n", d, drv->bd.sectors,
			       drv->bd.readonly ? ", read-only" : "",
			       drv->bd.snapshot ? ", -snapshot" : "");
	}
	for (int r = 0; r < pc->mem->nregions; r++) {
		const struct phys_region *reg = &pc->mem->regions[r];
		if (reg->kind == PHYS_ROM && reg->opaque == pc->mem)
			append(buf, len, "ROM %s: %" PRIu64 " bytes, CRC %08lx\n", reg->name,
			       reg->size, crc32(0, reg->host, (uInt)reg->size));
	}
	append(buf, len, "clock: %s\n",
	       pc->clock.mode == VCLOCK_DETERMINISTIC ? "deterministic" : "realtime");
}

/* The first line that differs between two descriptions, as one message. */
static int
compare_machine(const char *saved, size_t saved_len, const char *mine, char *err, size_t errlen)
{
	const char *a = saved, *a_end = saved + saved_len, *b = mine;
	while (a < a_end || *b) {
		const char *ae = memchr(a, '\n', (size_t)(a_end - a));
		const char *be = strchr(b, '\n');
		size_t al = ae ? (size_t)(ae - a) : (size_t)(a_end - a);
		size_t bl = be ? (size_t)(be - b) : strlen(b);
		if (al != bl || memcmp(a, b, al)) {
			const char *colon = memchr(b, ':', bl);
			size_t key = colon ? (size_t)(colon - b) : 0;
			if (key && al > key && !memcmp(a, b, key + 1))
				snprintf(err, errlen,
					 "machine differs: %.*s: snapshot%.*s, this machine%.*s",
					 (int)key, b, (int)(al - key - 1), a + key + 1,
					 (int)(bl - key - 1), b + key + 1);
			else
				snprintf(err, errlen,
					 "machine differs: snapshot '%.*s', this machine '%.*s'",
					 (int)al, a, (int)bl, b);
			return -1;
		}
		a += al + (ae ? 1 : 0);
		b += bl + (be ? 1 : 0);
	}
	return 0;
}

/* ---- writing ---- */

struct writer {
	FILE *f;
	unsigned nsections;
	bool failed;
};

static void
put_section(struct writer *w, const char *name, uint32_t version, uint32_t flags, const void *data,
	    uint64_t length, uint64_t raw_length)
{
	struct sect_hdr h = {
		.version = version, .flags = flags, .length = length, .raw_length = raw_length
	};
	snprintf(h.name, sizeof(h.name), "%s", name);
	uLong crc = crc32(0, (const Bytef *)&h, sizeof(h));
	/* crc32 takes uInt lengths: feed large payloads in pieces */
	for (uint64_t off = 0; off < length;) {
		uint64_t n = length - off > (1u << 30) ? (1u << 30) : length - off;
		crc = crc32(crc, (const Bytef *)data + off, (uInt)n);
		off += n;
	}
	h.crc = (uint32_t)crc;
	if (fwrite(&h, sizeof(h), 1, w->f) != 1 ||
	    (length && fwrite(data, 1, length, w->f) != length))
		w->failed = true;
	w->nsections++;
}

/* A section, compressed with zstd when that is worth it (RAM, VRAM). */
static void
write_section(struct writer *w, const char *name, uint32_t version, const void *data,
	      uint64_t length)
{
	if (length >= 4096) {
		size_t bound = ZSTD_compressBound(length);
		void *z = malloc(bound);
		size_t n = z ? ZSTD_compress(z, bound, data, length, 1) : 0;
		if (z && !ZSTD_isError(n) && n < length) {
			put_section(w, name, version, SECT_ZSTD, z, n, length);
			free(z);
			return;
		}
		free(z);
	}
	put_section(w, name, version, 0, data, length, length);
}

/* The -snapshot overlay of drive d, or NULL when the drive has none to keep. */
static struct blockdev *
overlay_of(struct pc *pc, unsigned d)
{
	struct ide_drive *drv = &pc->ide.ch[d / 2].drive[d % 2];
	return drv->present && drv->bd.snapshot ? &drv->bd : NULL;
}

int
machine_save(struct pc *pc, const char *path, char *err, size_t errlen)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "snapshot path too long");
		return -1;
	}
	struct writer w = { .f = fopen(tmp, "wb") };
	if (!w.f) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		return -1;
	}
	int rc = -1;
	void *buf = NULL;
	struct file_hdr fh = { .format = SNAPSHOT_FORMAT_VERSION };
	memcpy(fh.magic, SNAPSHOT_MAGIC, 8);
	if (fwrite(&fh, sizeof(fh), 1, w.f) != 1) /* rewritten with the count at the end */
		w.failed = true;

	char text[MACHINE_TEXT];
	describe(pc, text, sizeof(text));
	write_section(&w, "machine", V_MACHINE, text, strlen(text));

	for (unsigned k = 0; k < pc->ncpus; k++) {
		char name[16];
		struct cpu_saved cs;
		cpu_save(pc->cpus[k], &cs);
		write_section(&w, per_cpu(name, "cpu", k), V_CPU, &cs, sizeof(cs));
		size_t vmx_len = cpu_save_vmx(pc->cpus[k], NULL, 0);
		if (vmx_len) {
			void *nb = realloc(buf, vmx_len);
			if (!nb)
				goto oom;
			buf = nb;
			cpu_save_vmx(pc->cpus[k], buf, vmx_len);
			write_section(&w, per_cpu(name, "vmx", k), V_VMX, buf, vmx_len);
		}
	}
	struct pc_board_saved bs;
	pc_board_save(pc, &bs);
	write_section(&w, "board", V_BOARD, &bs, sizeof(bs));

	for (size_t i = 0; i < pc_ndevices; i++) {
		const struct pc_device *row = &pc_devices[i];
		void *dev = pc_device(pc, i);
		if (!dev || !row->version || !row->save)
			continue;
		size_t need = row->save(dev, NULL, 0);
		void *nb = realloc(buf, need ? need : 1);
		if (!nb)
			goto oom;
		buf = nb;
		row->save(dev, buf, need);
		write_section(&w, row->name, row->version, buf, need);
	}

	struct vclock_saved vs;
	if (vclock_save(&pc->clock, &vs) < 0) {
		snprintf(err, errlen, "more timers than a snapshot holds");
		goto out;
	}
	write_section(&w, "clock", V_CLOCK, &vs, sizeof(vs));
	write_section(&w, "ram", V_RAM, pc->mem->ram, pc->mem->ram_size);

	for (unsigned d = 0; d < 4 && pc_device(pc, ide_row()); d++) {
		struct blockdev *bd = overlay_of(pc, d);
		if (!bd)
			continue;
		size_t need = blockdev_overlay_save(bd, NULL, 0);
		void *nb = realloc(buf, need);
		if (!nb || blockdev_overlay_save(bd, nb, need) != need) {
			buf = nb ? nb : buf;
			goto oom;
		}
		buf = nb;
		char name[16];
		snprintf(name, sizeof(name), "disk%u", d);
		write_section(&w, name, V_DISK, buf, need);
	}

	fh.nsections = w.nsections;
	fh.crc = (uint32_t)crc32(0, (const Bytef *)&fh, sizeof(fh));
	if (fseek(w.f, 0, SEEK_SET) != 0 || fwrite(&fh, sizeof(fh), 1, w.f) != 1)
		w.failed = true;
	if (fflush(w.f) != 0 || w.failed) {
		snprintf(err, errlen, "writing %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fclose(w.f) != 0) {
		w.f = NULL;
		snprintf(err, errlen, "writing %s: %s", tmp, strerror(errno));
		goto out;
	}
	w.f = NULL;
	if (rename(tmp, path) < 0) { /* a reader never sees half a file */
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;
oom:
	snprintf(err, errlen, "out of memory saving the machine");
out:
	if (w.f) {
		fclose(w.f);
		remove(tmp);
	} else if (rc < 0) {
		remove(tmp);
	}
	free(buf);
	return rc;
}

/* ---- reading ---- */

struct section {
	char name[17];
	uint32_t version;
	const uint8_t *data; /* decompressed */
	uint64_t length;
	uint8_t *owned; /* the decompressed copy, freed with the reader */
	bool used;
};

struct reader {
	struct section s[MAX_SECTIONS];
	unsigned n;
};

/* The CPU section's bool fields hold 0 or 1 and the CPL is 0-3: loading any
 * other byte into a bool is undefined behaviour (found by fuzz_snapshot). */
static const size_t STATE_KEEP cpu_bools[] = { offsetof(struct cpu_saved, state.in_smm),
					       offsetof(struct cpu_saved, state.nmi_blocked),
					       offsetof(struct cpu_saved, state.halted) };
static bool
cpu_section_valid(const uint8_t *d)
{
	for (size_t k = 0; k < sizeof(cpu_bools) / sizeof(cpu_bools[0]); k++)
		if (d[cpu_bools[k]] > 1)
			return false;
	return d[offsetof(struct cpu_saved, state.cpl)] <= 3;
}

/*
 * The virtual time a restored machine would run at is below 2^62 ns (146
 * years): the devices compute with signed 64-bit nanoseconds, and a corrupt
 * instruction count or idle time near 2^64 made the RTC's next edge come out
 * before "now", so the timer queue fired it again forever (found by
 * fuzz_snapshot: corpus/snapshot/timeout-clock-wrap). In deterministic mode
 * the time is each CPU's instruction count times ns_per_insn plus idle_ns.
 */
#define TIME_LIMIT_NS VCLOCK_TIME_LIMIT_NS
static bool
clock_time_valid(const struct vclock_saved *vs, const struct section *const *cpu_s, unsigned ncpus)
{
	if (vs->mode != VCLOCK_DETERMINISTIC)
		return vs->now_ns < TIME_LIMIT_NS;
	for (unsigned k = 0; k < ncpus; k++) {
		uint64_t icount, t;
		memcpy(&icount, cpu_s[k]->data + offsetof(struct cpu_saved, icount),
		       sizeof(icount));
		if (__builtin_mul_overflow(icount, (uint64_t)vs->ns_per_insn, &t) ||
		    __builtin_add_overflow(t, vs->idle_ns, &t) || t >= TIME_LIMIT_NS)
			return false;
	}
	return true;
}

/* Split the file into sections, checking the header and every CRC. */
static int
parse(struct reader *r, const uint8_t *file, size_t size, char *err, size_t errlen)
{
	struct file_hdr fh;
	if (size < sizeof(fh)) {
		snprintf(err, errlen, "truncated (%zu bytes, no header)", size);
		return -1;
	}
	memcpy(&fh, file, sizeof(fh));
	if (memcmp(fh.magic, SNAPSHOT_MAGIC, 8)) {
		snprintf(err, errlen, "not a fugu snapshot (bad magic)");
		return -1;
	}
	uint32_t crc = fh.crc;
	fh.crc = 0;
	if (crc != (uint32_t)crc32(0, (const Bytef *)&fh, sizeof(fh))) {
		snprintf(err, errlen, "corrupt header (checksum mismatch)");
		return -1;
	}
	if (fh.format != SNAPSHOT_FORMAT_VERSION) {
		snprintf(err, errlen, "format version %u, this fugu reads version %u", fh.format,
			 SNAPSHOT_FORMAT_VERSION);
		return -1;
	}
	if (fh.nsections > MAX_SECTIONS) {
		snprintf(err, errlen, "corrupt header (%u sections)", fh.nsections);
		return -1;
	}
	size_t off = sizeof(fh);
	for (unsigned k = 0; k < fh.nsections; k++) {
		struct sect_hdr h;
		if (size - off < sizeof(h)) {
			snprintf(err, errlen, "truncated (section %u of %u missing)", k + 1,
				 fh.nsections);
			return -1;
		}
		memcpy(&h, file + off, sizeof(h));
		off += sizeof(h);
		struct section *s = &r->s[r->n++];
		memcpy(s->name, h.name, 16);
		s->name[16] = '\0';
		if (h.length > size - off) {
			snprintf(err, errlen, "truncated in section '%s'", s->name);
			return -1;
		}
		uint32_t want = h.crc;
		h.crc = 0;
		uLong c = crc32(0, (const Bytef *)&h, sizeof(h));
		for (uint64_t o = 0; o < h.length;) {
			uint64_t n = h.length - o > (1u << 30) ? (1u << 30) : h.length - o;
			c = crc32(c, file + off + o, (uInt)n);
			o += n;
		}
		if ((uint32_t)c != want) {
			snprintf(err, errlen, "section '%s' is corrupt (checksum mismatch)",
				 s->name);
			return -1;
		}
		s->version = h.version;
		s->data = file + off;
		s->length = h.length;
		if (h.flags & ~SECT_ZSTD) {
			snprintf(err, errlen, "section '%s' has unknown flags %#x", s->name,
				 h.flags);
			return -1;
		}
		if (h.flags & SECT_ZSTD) {
			unsigned long long raw = ZSTD_getFrameContentSize(file + off, h.length);
			if (raw != h.raw_length || raw > (1ull << 40) ||
			    !(s->owned = malloc(raw ? raw : 1))) {
				snprintf(err, errlen, "section '%s' does not decompress", s->name);
				return -1;
			}
			size_t got = ZSTD_decompress(s->owned, raw, file + off, h.length);
			if (ZSTD_isError(got) || got != raw) {
				snprintf(err, errlen, "section '%s' does not decompress", s->name);
				return -1;
			}
			s->data = s->owned;
			s->length = raw;
		} else if (h.raw_length != h.length) {
			snprintf(err, errlen, "section '%s' is corrupt (lengths differ)", s->name);
			return -1;
		}
		off += h.length;
	}
	if (off != size) {
		snprintf(err, errlen, "%zu bytes after the last section", size - off);
		return -1;
	}
	return 0;
}

/* The section `name` at `version`, or NULL with a message. */
static const struct section *
need(struct reader *r, const char *name, uint32_t version, char *err, size_t errlen)
{
	for (unsigned k = 0; k < r->n; k++) {
		struct section *s = &r->s[k];
		if (strcmp(s->name, name))
			continue;
		if (s->used) {
			snprintf(err, errlen, "section '%s' appears twice", name);
			return NULL;
		}
		if (s->version != version) {
			snprintf(err, errlen, "section '%s' has version %u, this fugu reads %u",
				 name, s->version, version);
			return NULL;
		}
		s->used = true;
		return s;
	}
	snprintf(err, errlen, "section '%s' is missing", name);
	return NULL;
}

/* A section holding exactly `size` plain bytes. */
static const struct section *
need_sized(struct reader *r, const char *name, uint32_t version, uint64_t size, char *err,
	   size_t errlen)
{
	const struct section *s = need(r, name, version, err, errlen);
	if (s && s->length != size) {
		snprintf(err, errlen,
			 "section '%s' has %" PRIu64 " bytes, this machine's has %" PRIu64, name,
			 s->length, size);
		return NULL;
	}
	return s;
}

static uint8_t *
read_file(const char *path, size_t *size, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return NULL;
	}
	struct stat sb;
	uint8_t *data = NULL;
	if (fstat(fileno(f), &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		goto out;
	}
	data = malloc(sb.st_size ? (size_t)sb.st_size : 1);
	if (!data) {
		snprintf(err, errlen, "out of memory reading the file");
		goto out;
	}
	if (fread(data, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
		snprintf(err, errlen, "read error");
		free(data);
		data = NULL;
		goto out;
	}
	*size = (size_t)sb.st_size;
out:
	fclose(f);
	return data;
}

int
machine_load(struct pc *pc, const char *path, char *err, size_t errlen)
{
	size_t size = 0;
	uint8_t *file = read_file(path, &size, err, errlen);
	if (!file)
		return -1;
	int rc = -1;
	struct reader *r = calloc(1, sizeof(*r));
	const struct section *dev_sect[64] = { NULL }, *disk_sect[4] = { NULL };
	if (!r) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (parse(r, file, size, err, errlen) < 0)
		goto out;

	/* Everything is checked first; nothing below `commit` can fail. */
	char text[MACHINE_TEXT];
	describe(pc, text, sizeof(text));
	const struct section *m = need(r, "machine", V_MACHINE, err, errlen);
	if (!m || compare_machine((const char *)m->data, m->length, text, err, errlen) < 0)
		goto out;
	const struct section *cpu_s[PC_MAX_CPUS] = { NULL }, *vmx_s[PC_MAX_CPUS] = { NULL };
	for (unsigned k = 0; k < pc->ncpus; k++) {
		char name[16];
		if (!(cpu_s[k] = need_sized(r, per_cpu(name, "cpu", k), V_CPU,
					    sizeof(struct cpu_saved), err, errlen)))
			goto out;
		if (!cpu_section_valid(cpu_s[k]->data)) {
			snprintf(err, errlen,
				 "section '%s' is corrupt (a flag or the CPL out of range)", name);
			goto out;
		}
		struct cpu_saved cs;
		memcpy(&cs, cpu_s[k]->data, sizeof(cs)); /* the file's bytes need not be aligned */
		char why[160];
		if (cpu_check_saved(pc->cpus[k], &cs, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "section '%s' is corrupt (%s)", name, why);
			goto out;
		}
		size_t vmx_len = cpu_save_vmx(pc->cpus[k], NULL, 0);
		if (vmx_len && !(vmx_s[k] = need_sized(r, per_cpu(name, "vmx", k), V_VMX, vmx_len,
						       err, errlen)))
			goto out;
		if (vmx_s[k] && cpu_check_vmx(pc->cpus[k], vmx_s[k]->data, vmx_s[k]->length, &cs,
					      why, sizeof(why)) < 0) {
			snprintf(err, errlen, "section '%s' is corrupt (%s)", name, why);
			goto out;
		}
	}
	const struct section *board_s =
		need_sized(r, "board", V_BOARD, sizeof(struct pc_board_saved), err, errlen);
	if (!board_s)
		goto out;
	uint8_t board_cur = board_s->data[offsetof(struct pc_board_saved, cur)];
	if (board_cur >= pc->ncpus) {
		snprintf(err, errlen, "section 'board' is corrupt (cur is %u, at most %u)",
			 board_cur, pc->ncpus - 1);
		goto out;
	}
	for (size_t i = 0; i < pc_ndevices && i < 64; i++) {
		const struct pc_device *row = &pc_devices[i];
		void *dev = pc_device(pc, i);
		if (!dev || !row->version || !row->save)
			continue;
		dev_sect[i] = need_sized(r, row->name, row->version, row->save(dev, NULL, 0), err,
					 errlen);
		if (!dev_sect[i])
			goto out;
		char why[160];
		if (row->check &&
		    row->check(dev, dev_sect[i]->data, dev_sect[i]->length, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "section '%s' is corrupt (%s)", row->name, why);
			goto out;
		}
	}
	const struct section *clock_s =
		need_sized(r, "clock", V_CLOCK, sizeof(struct vclock_saved), err, errlen);
	if (!clock_s)
		goto out;
	struct vclock_saved vs;
	memcpy(&vs, clock_s->data, sizeof(vs));
	if (vclock_check(&pc->clock, &vs, err, errlen) < 0)
		goto out;
	if (!clock_time_valid(&vs, cpu_s, pc->ncpus)) {
		snprintf(err, errlen, "section 'clock' is corrupt (time beyond 2^62 ns)");
		goto out;
	}
	/* An armed deadline within the clock's range too: an idle deterministic
	 * machine skips its clock to the next deadline (frontend/main.c), and
	 * one near 2^64 ns wrapped the RTC's next edge before "now", firing it
	 * forever. A deadline in the past fires once; the devices re-arm from
	 * their own state and "now" (no catch-up loop). */
	for (unsigned k = 0; k < vs.ntimers && k < VCLOCK_SAVED_TIMERS; k++)
		if (vs.timer[k].heap_index >= 0 && vs.timer[k].deadline >= TIME_LIMIT_NS) {
			snprintf(err, errlen,
				 "section 'clock' is corrupt (timer '%.15s': deadline beyond 2^62 "
				 "ns)",
				 vs.timer[k].name);
			goto out;
		}
	const struct section *ram_s = need_sized(r, "ram", V_RAM, pc->mem->ram_size, err, errlen);
	if (!ram_s)
		goto out;
	for (unsigned d = 0; d < 4 && pc_device(pc, ide_row()); d++) {
		if (!overlay_of(pc, d))
			continue;
		char name[16];
		snprintf(name, sizeof(name), "disk%u", d);
		if (!(disk_sect[d] = need(r, name, V_DISK, err, errlen)))
			goto out;
	}
	for (unsigned k = 0; k < r->n; k++)
		if (!r->s[k].used) {
			snprintf(err, errlen, "unknown section '%s'", r->s[k].name);
			goto out;
		}
	/* The overlays are replaced whole or not at all; they go first because
	 * only they can still fail (a sector past the image, out of memory). */
	for (unsigned d = 0; d < 4; d++)
		if (disk_sect[d] && blockdev_overlay_restore(overlay_of(pc, d), disk_sect[d]->data,
							     disk_sect[d]->length) < 0) {
			snprintf(err, errlen, "section 'disk%u' is malformed", d);
			goto out;
		}

	/* commit */
	if (pc->mem->tracking) {
		physmem_track_stop(pc->mem); /* a fast snapshot's baseline is gone */
		pc->mem->track_owner = NULL;
	}
	memcpy(pc->mem->ram, ram_s->data, pc->mem->ram_size);
	/* The board deaf while everything loads (pc_restore_begin); time and the
	 * CPU before the devices, which read "now" (the instruction count in
	 * deterministic mode) as they restore. */
	struct pc_board_saved bs;
	memcpy(&bs, board_s->data, sizeof(bs)); /* the file's bytes need not be aligned */
	pc_restore_begin(pc, &bs);
	vclock_restore(&pc->clock, &vs);
	for (unsigned k = 0; k < pc->ncpus; k++) {
		struct cpu_saved cs;
		memcpy(&cs, cpu_s[k]->data, sizeof(cs));
		if (vmx_s[k])
			cpu_restore_vmx(pc->cpus[k], vmx_s[k]->data, vmx_s[k]->length);
		cpu_restore(pc->cpus[k], &cs);
	}
	for (size_t i = 0; i < pc_ndevices && i < 64; i++)
		if (dev_sect[i])
			pc_devices[i].restore(pc_device(pc, i), dev_sect[i]->data,
					      dev_sect[i]->length);
	cpu_memory_map_changed(pc->cpu); /* RAM changed under every decoded trace */
	vclock_restore(&pc->clock, &vs); /* the armed timers as saved, not as re-armed */
	pc_restore_end(pc);
	rc = 0;
out:
	for (unsigned k = 0; r && k < r->n; k++)
		free(r->s[k].owned);
	free(r);
	free(file);
	return rc;
}

/* ---- fast reset ---- */

struct snapshot {
	struct pc *pc;
	uint8_t *ram; /* RAM as it was */
	struct cpu_saved cpu[PC_MAX_CPUS];
	struct pc_board_saved board;
	struct vclock_saved clock;
	uint8_t *dev;              /* the devices' records, back to back */
	size_t dev_off[64 + 1];    /* row i's record: dev + dev_off[i], up to dev_off[i + 1] */
	uint8_t *vmx[PC_MAX_CPUS]; /* each CPU's cpu_save_vmx record, NULL without VMX */
	size_t vmx_len;
	uint8_t *disk[4]; /* overlay records (NULL: no overlay) */
	size_t disk_len[4];
	uint64_t disk_writes[4]; /* the overlay's ov_writes when it matched the record */
	uint64_t last_pages;
};

struct snapshot *
snapshot_take(struct pc *pc, char *err, size_t errlen)
{
	struct snapshot *s = calloc(1, sizeof(*s));
	if (!s)
		goto oom;
	s->pc = pc;
	s->ram = malloc(pc->mem->ram_size ? pc->mem->ram_size : 1);
	if (!s->ram)
		goto oom;
	size_t total = 0;
	for (size_t i = 0; i < pc_ndevices && i < 64; i++) {
		s->dev_off[i] = total;
		void *dev = pc_device(pc, i);
		if (dev && pc_devices[i].version && pc_devices[i].save)
			total += pc_devices[i].save(dev, NULL, 0);
	}
	s->dev_off[pc_ndevices < 64 ? pc_ndevices : 64] = total;
	s->dev = malloc(total ? total : 1);
	if (!s->dev)
		goto oom;
	for (size_t i = 0; i < pc_ndevices && i < 64; i++) {
		void *dev = pc_device(pc, i);
		if (dev && pc_devices[i].version && pc_devices[i].save)
			pc_devices[i].save(dev, s->dev + s->dev_off[i],
					   s->dev_off[i + 1] - s->dev_off[i]);
	}
	for (unsigned d = 0; d < 4 && pc_device(pc, ide_row()); d++) {
		struct blockdev *bd = overlay_of(pc, d);
		if (!bd)
			continue;
		s->disk_len[d] = blockdev_overlay_save(bd, NULL, 0);
		s->disk[d] = malloc(s->disk_len[d]);
		if (!s->disk[d] ||
		    blockdev_overlay_save(bd, s->disk[d], s->disk_len[d]) != s->disk_len[d])
			goto oom;
		s->disk_writes[d] = bd->ov_writes;
	}
	s->vmx_len = cpu_save_vmx(pc->cpu, NULL, 0);
	for (unsigned k = 0; k < pc->ncpus && s->vmx_len; k++) {
		if (!(s->vmx[k] = malloc(s->vmx_len)))
			goto oom;
		cpu_save_vmx(pc->cpus[k], s->vmx[k], s->vmx_len);
	}
	if (vclock_save(&pc->clock, &s->clock) < 0) {
		snprintf(err, errlen, "more timers than a snapshot holds");
		snapshot_free(s);
		return NULL;
	}
	if (physmem_track_start(pc->mem) < 0)
		goto oom;
	memcpy(s->ram, pc->mem->ram, pc->mem->ram_size);
	for (unsigned k = 0; k < pc->ncpus; k++)
		cpu_save(pc->cpus[k], &s->cpu[k]);
	pc_board_save(pc, &s->board);
	/* write entries made before tracking would let stores bypass it */
	cpu_memory_map_changed(pc->cpu);
	pc->mem->track_owner = s; /* the newest snapshot of this machine */
	return s;
oom:
	snprintf(err, errlen, "out of memory taking a snapshot");
	snapshot_free(s);
	return NULL;
}

void
snapshot_restore(struct snapshot *s)
{
	struct pc *pc = s->pc;
	struct physmem *pm = pc->mem;
	if (pm->track_owner == s && pm->tracking) {
		/* Only the pages written since: each copied back, and its decoded
		 * code dropped (traces built from what the guest wrote). */
		for (uint64_t k = 0; k < pm->ndirty; k++) {
			uint64_t off = (uint64_t)pm->dirty_list[k] << 12;
			memcpy(pm->ram + off, s->ram + off, PAGE_SIZE);
			uint64_t pa =
				off < pm->ram_below_4g ? off : PHYS_4G + (off - pm->ram_below_4g);
			if ((physmem_page(pm, pa) & PP_CODE) && pm->code_written)
				pm->code_written(pm->notify_opaque, pa, PAGE_SIZE);
		}
		s->last_pages = pm->ndirty;
		physmem_track_clear(pm);
	} else {
		memcpy(pm->ram, s->ram, pm->ram_size);
		s->last_pages = pm->ram_size >> 12;
		/* XXX: without memory for the dirty set, restores stay full */
		if (physmem_track_start(pm) == 0)
			pm->track_owner = s;
		cpu_memory_map_changed(pc->cpu);
	}
	/* In machine_load's order. */
	pc_restore_begin(pc, &s->board);
	vclock_restore(&pc->clock, &s->clock);
	for (unsigned k = 0; k < pc->ncpus; k++) {
		if (s->vmx[k])
			cpu_restore_vmx(pc->cpus[k], s->vmx[k], s->vmx_len);
		cpu_restore(pc->cpus[k], &s->cpu[k]);
	}
	for (size_t i = 0; i < pc_ndevices && i < 64; i++)
		if (s->dev_off[i + 1] > s->dev_off[i])
			pc_devices[i].restore(pc_device(pc, i), s->dev + s->dev_off[i],
					      s->dev_off[i + 1] - s->dev_off[i]);
	for (unsigned d = 0; d < 4; d++) {
		struct blockdev *bd = s->disk[d] ? overlay_of(pc, d) : NULL;
		if (bd && bd->ov_writes != s->disk_writes[d] &&
		    blockdev_overlay_restore(bd, s->disk[d], s->disk_len[d]) == 0)
			s->disk_writes[d] = bd->ov_writes;
	}
	vclock_restore(&pc->clock, &s->clock); /* the armed timers as saved */
	pc_restore_end(pc);
}

uint64_t
snapshot_last_pages(const struct snapshot *s)
{
	return s->last_pages;
}

void
snapshot_free(struct snapshot *s)
{
	if (!s)
		return;
	if (s->pc->mem->track_owner == s) {
		physmem_track_stop(s->pc->mem);
		s->pc->mem->track_owner = NULL;
	}
	free(s->ram);
	free(s->dev);
	for (unsigned k = 0; k < PC_MAX_CPUS; k++)
		free(s->vmx[k]);
	for (unsigned d = 0; d < 4; d++)
		free(s->disk[d]);
	free(s);
}
