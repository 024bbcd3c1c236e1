/*
 * fugu — the MMC command set of an ATAPI CD/DVD-ROM drive: what a packet
 * (a 12-byte SCSI command block) asks and the data or sense it yields. The
 * ATA PACKET protocol that carries it (the phases, byte counts, interrupts,
 * DMA) is in chipset/ide.c. References: SPC-3 (T10 1416-D) for INQUIRY,
 * REQUEST SENSE, TEST UNIT READY, MODE SENSE(10) and the sense codes; MMC-3
 * (T10 1363-D) for the CD/DVD commands.
 */
#ifndef FUGU_ATAPI_H
#define FUGU_ATAPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct blockdev;

#define ATAPI_SECTOR 2048
#define ATAPI_PACKET 12
#define ATAPI_CD_MAX_SECTORS 359847 /* 80 minutes: more is reported as a DVD */

/* Sense keys (SPC-3, table 27). */
#define SENSE_NONE 0x0
#define SENSE_NOT_READY 0x2
#define SENSE_MEDIUM_ERROR 0x3
#define SENSE_ILLEGAL_REQUEST 0x5
#define SENSE_UNIT_ATTENTION 0x6

/* One drive's command state (plain data: part of the IDE drive's state). */
struct atapi_state {
	uint8_t cdb[ATAPI_PACKET]; /* the packet being executed */
	uint8_t sense_key;         /* the last command's sense, for REQUEST SENSE */
	uint8_t asc, ascq;         /* additional sense code and qualifier */
	bool locked;               /* PREVENT ALLOW MEDIUM REMOVAL */
	bool dma;                  /* PACKET Features bit 0: the data goes by DMA */
	uint16_t limit;            /* PACKET byte count limit (LBA Mid/High) */
	uint32_t lba;              /* READ: the next sector to fetch */
	uint32_t sectors;          /* READ: sectors still to fetch */
	uint32_t buf_len;          /* bytes of data in the drive's buffer */
};

/* The medium's size in 2048-byte sectors. */
uint32_t atapi_capacity(const struct blockdev *bd);
/*
 * Execute the packet in st->cdb. Returns the bytes of data it put into buf
 * (at most bufsize; for READ the first sectors, with st->sectors left to
 * fetch), 0 for a command without data, or -1 for CHECK CONDITION with the
 * sense in st.
 */
int atapi_execute(struct atapi_state *st, struct blockdev *bd, uint8_t *buf, size_t bufsize);
/* READ: fetch the next sectors (as many as fit in bufsize); bytes, or -1 with
 * MEDIUM ERROR in the sense. */
int atapi_fill(struct atapi_state *st, struct blockdev *bd, uint8_t *buf, size_t bufsize);

#endif
