/*
 * fugu — disk images behind the emulated drives: raw files of 512-byte
 * sectors. The never-write rule lives here: the file is opened read-only
 * unless the drive is writable and not in snapshot mode; in snapshot mode
 * writes go to an in-memory copy-on-write overlay of sectors and the file is
 * never touched.
 */
#ifndef FUGU_BLOCKDEV_H
#define FUGU_BLOCKDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLOCKDEV_SECTOR 512

struct blockdev {
	int fd;           /* the image, O_RDONLY unless writes reach it */
	uint64_t sectors; /* size in 512-byte sectors */
	bool readonly;    /* the drive refuses writes (readonly=on) */
	bool snapshot;    /* writes stay in the overlay (-snapshot) */
	/* The snapshot overlay: an open-addressing hash of sector -> 512-byte copy. */
	uint64_t *ov_key;  /* sector number + 1; 0 = empty slot */
	uint8_t **ov_data; /* its contents */
	size_t ov_cap;     /* slots (a power of two, or 0) */
	size_t ov_used;    /* slots in use */
};

/*
 * Open `path` as a raw image. readonly: the drive refuses writes; snapshot:
 * writes are kept in memory. A missing, unreadable, empty or directory image,
 * or one whose size is not a multiple of 512 bytes, fails with a one-line
 * message in err (-1).
 */
int blockdev_open(struct blockdev *bd, const char *path, bool readonly, bool snapshot, char *err,
		  size_t errlen);
void blockdev_close(struct blockdev *bd);
/* Read or write `count` sectors at `lba`; -1 on a host I/O error, a range
 * outside the image, or (write) a read-only drive. */
int blockdev_read(struct blockdev *bd, uint64_t lba, unsigned count, void *buf);
int blockdev_write(struct blockdev *bd, uint64_t lba, unsigned count, const void *buf);
/* Make written sectors durable (fdatasync) when they reach the file; -1 on error. */
int blockdev_flush(struct blockdev *bd);

#endif
