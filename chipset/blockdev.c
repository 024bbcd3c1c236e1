/*
 * fugu — raw disk images with an optional copy-on-write overlay (-snapshot)
 * in an unlinked temporary file, as QEMU keeps its snapshot overlay on disk.
 * See blockdev.h for the never-write rule.
 */
#define _GNU_SOURCE /* fdatasync, pread/pwrite with O_CLOEXEC */
#include "chipset/blockdev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Container formats fugu does not read, by their signatures: taken as raw,
 * a guest would see (and, writable, corrupt) the container's metadata.
 */
static const struct {
	const char *name;
	unsigned offset;
	const char *magic;
	unsigned len;
} foreign_formats[] = {
	{ "qcow2 (or qcow)", 0, "QFI\xfb", 4 },
	{ "QED", 0, "QED\0", 4 },
	{ "VDI (VirtualBox)", 0x40, "\x7f\x10\xda\xbe", 4 },
	{ "VMDK (sparse extent)", 0, "KDMV", 4 },
	{ "VMDK (descriptor)", 0, "# Disk DescriptorFile", 21 },
	{ "VHDX", 0, "vhdxfile", 8 },
	{ "VHD (dynamic)", 0, "conectix", 8 },
	{ "Parallels", 0, "WithoutFreeSpace", 16 },
	{ "Parallels", 0, "WithouFreSpacExt", 16 },
	{ "Bochs", 0, "Bochs Virtual HD Image", 22 },
	{ "LUKS", 0, "LUKS\xba\xbe", 6 },
};

/* The name of the container format the image's first sector shows, or NULL. */
static const char *
probe_format(int fd)
{
	uint8_t head[BLOCKDEV_SECTOR];
	ssize_t n = pread(fd, head, sizeof(head), 0);
	for (size_t k = 0; n > 0 && k < sizeof(foreign_formats) / sizeof(foreign_formats[0]); k++)
		if (foreign_formats[k].offset + foreign_formats[k].len <= (size_t)n &&
		    !memcmp(head + foreign_formats[k].offset, foreign_formats[k].magic,
			    foreign_formats[k].len))
			return foreign_formats[k].name;
	return NULL;
}

/* The snapshot overlay's file: unlinked at once, in $TMPDIR or /var/tmp (as QEMU). */
static int
overlay_file(char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof(path), "%s/fugu-snapshot-XXXXXX", dir && *dir ? dir : "/var/tmp");
	int fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "-snapshot: cannot create the overlay file %s: %s", path,
			 strerror(errno));
		return -1;
	}
	unlink(path);
	return fd;
}

/*
 * Which sectors the overlay holds: a bitmap in chunks of BLOCKDEV_OV_CHUNK
 * sectors, each allocated on its first write, so the host memory is at most
 * one bit per sector written (and a chunk pointer per 32 MiB of image).
 */
static uint64_t
ov_chunks(const struct blockdev *bd)
{
	return (bd->sectors + BLOCKDEV_OV_CHUNK - 1) / BLOCKDEV_OV_CHUNK;
}

static bool
ov_has(const struct blockdev *bd, uint64_t lba)
{
	const uint64_t *c = bd->ov_map ? bd->ov_map[lba / BLOCKDEV_OV_CHUNK] : NULL;
	uint64_t i = lba % BLOCKDEV_OV_CHUNK;
	return c && (c[i / 64] >> (i % 64) & 1);
}

/* Mark sector lba as held by the overlay; -1 when out of memory. */
static int
ov_mark(struct blockdev *bd, uint64_t lba)
{
	if (!bd->ov_map && !(bd->ov_map = calloc(ov_chunks(bd), sizeof(*bd->ov_map))))
		return -1;
	uint64_t **c = &bd->ov_map[lba / BLOCKDEV_OV_CHUNK];
	if (!*c && !(*c = calloc(BLOCKDEV_OV_CHUNK / 64, sizeof(**c))))
		return -1;
	uint64_t i = lba % BLOCKDEV_OV_CHUNK;
	if (!((*c)[i / 64] >> (i % 64) & 1))
		bd->ov_sectors++;
	(*c)[i / 64] |= 1ull << (i % 64);
	return 0;
}

/*
 * Open the image and check that it is a non-empty regular file (or block
 * device) made of whole sectors. The file is opened for writing only when
 * writes are meant to reach it.
 */
int
blockdev_open(struct blockdev *bd, const char *path, bool readonly, bool snapshot, char *err,
	      size_t errlen)
{
	memset(bd, 0, sizeof(*bd));
	bd->fd = -1;
	bd->ov_fd = -1;
	bd->readonly = readonly;
	bd->snapshot = snapshot;
	bool write_file = !readonly && !snapshot;
	int fd = open(path, (write_file ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		if (write_file && (errno == EACCES || errno == EROFS))
			snprintf(err, errlen,
				 "cannot open disk image %s for writing: %s "
				 "(use readonly=on or -snapshot)",
				 path, strerror(errno));
		else
			snprintf(err, errlen, "cannot open disk image %s: %s", path,
				 strerror(errno));
		return -1;
	}
	struct stat sb;
	if (fstat(fd, &sb) < 0) {
		snprintf(err, errlen, "cannot stat disk image %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(sb.st_mode) && !S_ISBLK(sb.st_mode)) {
		snprintf(err, errlen, "disk image %s is not a regular file", path);
		close(fd);
		return -1;
	}
	off_t size = lseek(fd, 0, SEEK_END);
	if (size < 0) {
		snprintf(err, errlen, "cannot size disk image %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (size == 0) {
		snprintf(err, errlen, "disk image %s is empty", path);
		close(fd);
		return -1;
	}
	if (size % BLOCKDEV_SECTOR) {
		snprintf(err, errlen, "disk image %s: size %lld is not a multiple of 512 bytes",
			 path, (long long)size);
		close(fd);
		return -1;
	}
	const char *format = probe_format(fd);
	if (format) {
		snprintf(err, errlen,
			 "disk image %s is a %s image; fugu reads raw images only "
			 "(qemu-img convert -O raw)",
			 path, format);
		close(fd);
		return -1;
	}
	/* A file nobody may write is refused as a writable drive even when the
	 * open succeeded (root ignores the permission bits): the README's rule. */
	if (write_file && S_ISREG(sb.st_mode) && !(sb.st_mode & 0222)) {
		snprintf(err, errlen,
			 "disk image %s is read-only (mode %03o): use readonly=on or -snapshot",
			 path, (unsigned)(sb.st_mode & 0777));
		close(fd);
		return -1;
	}
	/* One writer or any number of readers, across drives and processes: an
	 * flock lock belongs to the open file description, so a second drive on
	 * the same file in this fugu conflicts as a second fugu does (QEMU locks
	 * its images alike). */
	if (flock(fd, (write_file ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen,
				 "disk image %s is in use (another drive or process %s it)", path,
				 write_file ? "uses" : "writes");
		else
			snprintf(err, errlen, "cannot lock disk image %s: %s", path,
				 strerror(errno));
		close(fd);
		return -1;
	}
	if (snapshot && (bd->ov_fd = overlay_file(err, errlen)) < 0) {
		close(fd);
		return -1;
	}
	bd->fd = fd;
	bd->sectors = (uint64_t)size / BLOCKDEV_SECTOR;
	return 0;
}

void
blockdev_close(struct blockdev *bd)
{
	if (bd->fd >= 0)
		close(bd->fd);
	bd->fd = -1;
	if (bd->ov_fd >= 0)
		close(bd->ov_fd);
	bd->ov_fd = -1;
	if (bd->ov_map) {
		for (uint64_t k = 0; k < ov_chunks(bd); k++)
			free(bd->ov_map[k]);
		free(bd->ov_map);
	}
	bd->ov_map = NULL;
	bd->ov_sectors = 0;
}

/* pread/pwrite the whole range, retrying short transfers; -1 on error or EOF. */
static int
file_io(int fd, uint64_t off, void *buf, size_t len, bool write)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = write ? pwrite(fd, p, len, (off_t)off) : pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static bool
in_range(const struct blockdev *bd, uint64_t lba, unsigned count)
{
	return lba <= bd->sectors && count <= bd->sectors - lba;
}

int
blockdev_read(struct blockdev *bd, uint64_t lba, unsigned count, void *buf)
{
	uint8_t *p = buf;
	if (!in_range(bd, lba, count))
		return -1;
	if (file_io(bd->fd, lba * BLOCKDEV_SECTOR, p, (size_t)count * BLOCKDEV_SECTOR, false) < 0)
		return -1;
	/* Sectors the overlay holds, a run at a time, from the same offset there. */
	for (unsigned k = 0; bd->ov_sectors && k < count;) {
		if (!ov_has(bd, lba + k)) {
			k++;
			continue;
		}
		unsigned n = 1;
		while (k + n < count && ov_has(bd, lba + k + n))
			n++;
		if (file_io(bd->ov_fd, (lba + k) * BLOCKDEV_SECTOR, p + (size_t)k * BLOCKDEV_SECTOR,
			    (size_t)n * BLOCKDEV_SECTOR, false) < 0)
			return -1;
		k += n;
	}
	return 0;
}

int
blockdev_write(struct blockdev *bd, uint64_t lba, unsigned count, const void *buf)
{
	const uint8_t *p = buf;
	if (bd->readonly || !in_range(bd, lba, count))
		return -1;
	int fd = bd->snapshot ? bd->ov_fd : bd->fd;
	if (file_io(fd, lba * BLOCKDEV_SECTOR, (void *)(uintptr_t)p,
		    (size_t)count * BLOCKDEV_SECTOR, true) < 0)
		return -1;
	for (unsigned k = 0; bd->snapshot && k < count; k++)
		if (ov_mark(bd, lba + k) < 0)
			return -1;
	if (bd->snapshot)
		bd->ov_writes += count;
	return 0;
}

int
blockdev_flush(struct blockdev *bd)
{
	if (bd->readonly || bd->snapshot)
		return 0;
	return fdatasync(bd->fd) < 0 && errno != EINVAL ? -1 : 0;
}

/* Free an overlay bitmap of bd's size. */
static void
ov_map_free(const struct blockdev *bd, uint64_t **map)
{
	if (!map)
		return;
	for (uint64_t k = 0; k < ov_chunks(bd); k++)
		free(map[k]);
	free(map);
}

size_t
blockdev_overlay_save(const struct blockdev *bd, void *buf, size_t len)
{
	size_t need = 8 + (size_t)bd->ov_sectors * (8 + BLOCKDEV_SECTOR);
	if (len < need)
		return need;
	uint8_t *out = buf;
	uint64_t n = bd->ov_sectors;
	memcpy(out, &n, 8);
	out += 8;
	/* The bitmap in LBA order: the same overlay always makes the same bytes;
	 * each sector read back from the overlay file. */
	for (uint64_t c = 0; bd->ov_map && c < ov_chunks(bd); c++) {
		const uint64_t *map = bd->ov_map[c];
		for (uint64_t w = 0; map && w < BLOCKDEV_OV_CHUNK / 64; w++) {
			for (uint64_t bits = map[w]; bits; bits &= bits - 1) {
				uint64_t lba = c * BLOCKDEV_OV_CHUNK + w * 64 +
					       (uint64_t)__builtin_ctzll(bits);
				if (n-- == 0)
					return 0;
				memcpy(out, &lba, 8);
				if (file_io(bd->ov_fd, lba * BLOCKDEV_SECTOR, out + 8,
					    BLOCKDEV_SECTOR, false) < 0)
					return 0;
				out += 8 + BLOCKDEV_SECTOR;
			}
		}
	}
	return n == 0 ? need : 0;
}

int
blockdev_overlay_restore(struct blockdev *bd, const void *buf, size_t len)
{
	const uint8_t *in = buf;
	uint64_t n;
	if (len < 8)
		return -1;
	memcpy(&n, in, 8);
	if (n > (len - 8) / (8 + BLOCKDEV_SECTOR) || len != 8 + n * (8 + BLOCKDEV_SECTOR))
		return -1;
	if (n && bd->ov_fd < 0)
		return -1;
	/* The new bitmap first, every LBA checked, before the file is touched. */
	struct blockdev fresh = { .fd = -1, .ov_fd = -1, .sectors = bd->sectors };
	for (uint64_t k = 0; k < n; k++) {
		uint64_t lba;
		memcpy(&lba, in + 8 + k * (8 + BLOCKDEV_SECTOR), 8);
		if (lba >= bd->sectors || ov_mark(&fresh, lba) < 0) {
			ov_map_free(&fresh, fresh.ov_map);
			return -1;
		}
	}
	for (uint64_t k = 0; k < n; k++) {
		const uint8_t *rec = in + 8 + k * (8 + BLOCKDEV_SECTOR);
		uint64_t lba;
		memcpy(&lba, rec, 8);
		if (file_io(bd->ov_fd, lba * BLOCKDEV_SECTOR, (void *)(uintptr_t)(rec + 8),
			    BLOCKDEV_SECTOR, true) < 0) {
			ov_map_free(&fresh, fresh.ov_map);
			return -1;
		}
	}
	/* Commit: the old bitmap goes, the new one takes its place (sectors of
	 * the file no longer marked are read from the image again). */
	ov_map_free(bd, bd->ov_map);
	bd->ov_map = fresh.ov_map;
	bd->ov_sectors = fresh.ov_sectors;
	bd->ov_writes++;
	return 0;
}
