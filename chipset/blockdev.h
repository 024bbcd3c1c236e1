/*
 * fugu — disk images behind the emulated drives: raw files of 512-byte
 * sectors. The never-write rule lives here: the file is opened read-only
 * unless the drive is writable and not in snapshot mode; in snapshot mode
 * writes go to a copy-on-write overlay (an unlinked temporary file, sparse,
 * with a bitmap of the sectors it holds) and the image is never touched.
 * Images in container formats (qcow2, VDI, VMDK, ...) are refused by name;
 * an image is locked (flock: one writer or many readers).
 */
#ifndef FUGU_BLOCKDEV_H
#define FUGU_BLOCKDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLOCKDEV_SECTOR 512
#define BLOCKDEV_OV_CHUNK 65536 /* sectors per overlay bitmap chunk (32 MiB) */

struct blockdev {
	int fd;           /* the image, O_RDONLY unless writes reach it */
	uint64_t sectors; /* size in 512-byte sectors */
	bool readonly;    /* the drive refuses writes (readonly=on) */
	bool snapshot;    /* writes stay in the overlay (-snapshot) */
	/* The snapshot overlay: sector n at offset n * 512 of ov_fd, ov_map's bit n set. */
	int ov_fd;           /* the overlay file, or -1 */
	uint64_t **ov_map;   /* per BLOCKDEV_OV_CHUNK sectors: a bitmap, NULL until written */
	uint64_t ov_sectors; /* sectors the overlay holds */
	uint64_t ov_writes;  /* sectors stored into the overlay so far (snapshots skip an
				unchanged one) */
};

/*
 * Open `path` as a raw image. readonly: the drive refuses writes; snapshot:
 * writes are kept in the overlay. A missing, unreadable, empty or directory
 * image, one whose size is not a multiple of 512 bytes, one in a container
 * format, a read-only file (no write permission bit) as a writable drive, or
 * one another drive or process holds locked, fails with a one-line message in
 * err (-1).
 */
int blockdev_open(struct blockdev *bd, const char *path, bool readonly, bool snapshot, char *err,
		  size_t errlen);
void blockdev_close(struct blockdev *bd);
/* Read or write `count` sectors at `lba`; -1 on a host I/O error, a range
 * outside the image, or (write) a read-only drive. */
int blockdev_read(struct blockdev *bd, uint64_t lba, unsigned count, void *buf);
int blockdev_write(struct blockdev *bd, uint64_t lba, unsigned count, const void *buf);
/*
 * The -snapshot overlay as a snapshot section (docs/SNAPSHOT.md): a count, then
 * (LBA, 512 bytes) per sector, little-endian, in LBA order. save returns the
 * size needed and copies when len allows; restore replaces the overlay with the
 * record's, or returns -1 changing nothing (malformed record, a sector past the
 * image's end, out of memory).
 */
size_t blockdev_overlay_save(const struct blockdev *bd, void *buf, size_t len);
int blockdev_overlay_restore(struct blockdev *bd, const void *buf, size_t len);

/* Make written sectors durable (fdatasync) when they reach the file; -1 on error. */
int blockdev_flush(struct blockdev *bd);

#endif
