/*
 * fugu — raw disk images with an optional in-memory copy-on-write overlay
 * (-snapshot). See blockdev.h for the never-write rule.
 */
#define _GNU_SOURCE /* fdatasync, pread/pwrite with O_CLOEXEC */
#include "chipset/blockdev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	for (size_t k = 0; k < bd->ov_cap; k++)
		free(bd->ov_data[k]);
	free(bd->ov_key);
	free(bd->ov_data);
	bd->ov_key = NULL;
	bd->ov_data = NULL;
	bd->ov_cap = bd->ov_used = 0;
}

/* The overlay slot for `lba`: the one holding it, or the empty one where it would go. */
static size_t
ov_slot(const struct blockdev *bd, uint64_t lba)
{
	uint64_t h = (lba + 1) * 0x9e3779b97f4a7c15ull;
	size_t k = (size_t)(h >> 20) & (bd->ov_cap - 1);
	while (bd->ov_key[k] && bd->ov_key[k] != lba + 1)
		k = (k + 1) & (bd->ov_cap - 1);
	return k;
}

/* The overlay's copy of sector lba, or NULL. */
static uint8_t *
ov_find(const struct blockdev *bd, uint64_t lba)
{
	if (!bd->ov_cap)
		return NULL;
	size_t k = ov_slot(bd, lba);
	return bd->ov_key[k] ? bd->ov_data[k] : NULL;
}

/* Double the overlay table (or create it); -1 when out of memory. */
static int
ov_grow(struct blockdev *bd)
{
	size_t cap = bd->ov_cap ? bd->ov_cap * 2 : 1024;
	uint64_t *key = calloc(cap, sizeof(*key));
	uint8_t **data = calloc(cap, sizeof(*data));
	if (!key || !data) {
		free(key);
		free(data);
		return -1;
	}
	struct blockdev old = *bd;
	bd->ov_key = key;
	bd->ov_data = data;
	bd->ov_cap = cap;
	for (size_t k = 0; k < old.ov_cap; k++) {
		if (!old.ov_key[k])
			continue;
		size_t s = ov_slot(bd, old.ov_key[k] - 1);
		bd->ov_key[s] = old.ov_key[k];
		bd->ov_data[s] = old.ov_data[k];
	}
	free(old.ov_key);
	free(old.ov_data);
	return 0;
}

/* Store one sector in the overlay; -1 when out of memory. */
static int
ov_store(struct blockdev *bd, uint64_t lba, const uint8_t *buf)
{
	uint8_t *p = ov_find(bd, lba);
	if (!p) {
		if ((bd->ov_used + 1) * 2 > bd->ov_cap && ov_grow(bd) < 0)
			return -1;
		p = malloc(BLOCKDEV_SECTOR);
		if (!p)
			return -1;
		size_t k = ov_slot(bd, lba);
		bd->ov_key[k] = lba + 1;
		bd->ov_data[k] = p;
		bd->ov_used++;
	}
	memcpy(p, buf, BLOCKDEV_SECTOR);
	return 0;
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
	for (unsigned k = 0; bd->ov_used && k < count; k++) {
		const uint8_t *o = ov_find(bd, lba + k);
		if (o)
			memcpy(p + (size_t)k * BLOCKDEV_SECTOR, o, BLOCKDEV_SECTOR);
	}
	return 0;
}

int
blockdev_write(struct blockdev *bd, uint64_t lba, unsigned count, const void *buf)
{
	const uint8_t *p = buf;
	if (bd->readonly || !in_range(bd, lba, count))
		return -1;
	if (!bd->snapshot)
		return file_io(bd->fd, lba * BLOCKDEV_SECTOR, (void *)(uintptr_t)p,
			       (size_t)count * BLOCKDEV_SECTOR, true);
	for (unsigned k = 0; k < count; k++)
		if (ov_store(bd, lba + k, p + (size_t)k * BLOCKDEV_SECTOR) < 0)
			return -1;
	return 0;
}

int
blockdev_flush(struct blockdev *bd)
{
	if (bd->readonly || bd->snapshot)
		return 0;
	return fdatasync(bd->fd) < 0 && errno != EINVAL ? -1 : 0;
}
