/*
 * fugu — the MMC command set of the ATAPI CD/DVD-ROM: the medium is a
 * read-only image of 2048-byte sectors, always present (the tray never
 * opens), one data track starting at LBA 0. The commands are those SeaBIOS
 * and Linux's sr/cdrom drivers send; any other is ILLEGAL REQUEST, INVALID
 * COMMAND OPERATION CODE (SPC-3, 4.5.6).
 */
#include "chipset/atapi.h"

#include <string.h>

#include "chipset/blockdev.h"

/* Operation codes (SPC-3, MMC-3). */
enum {
	OP_TEST_UNIT_READY = 0x00,
	OP_REQUEST_SENSE = 0x03,
	OP_INQUIRY = 0x12,
	OP_START_STOP_UNIT = 0x1b,
	OP_PREVENT_ALLOW = 0x1e,
	OP_READ_CAPACITY = 0x25,
	OP_READ_10 = 0x28,
	OP_SEEK_10 = 0x2b,
	OP_READ_TOC = 0x43,
	OP_GET_CONFIGURATION = 0x46,
	OP_GET_EVENT_STATUS = 0x4a,
	OP_MODE_SENSE_10 = 0x5a,
	OP_READ_12 = 0xa8,
	OP_SET_CD_SPEED = 0xbb,
};

/* Additional sense codes (SPC-3, table 28). */
#define ASC_INVALID_OPCODE 0x20
#define ASC_LBA_OUT_OF_RANGE 0x21
#define ASC_INVALID_FIELD 0x24
#define ASC_UNRECOVERED_READ 0x11

static uint32_t
be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

/* CHECK CONDITION with this sense. */
static int
check(struct atapi_state *st, uint8_t key, uint8_t asc)
{
	st->sense_key = key;
	st->asc = asc;
	st->ascq = 0;
	return -1;
}

/* A reply of n bytes, cut to the allocation length and the buffer. */
static int
reply(size_t n, uint32_t alloc, size_t bufsize)
{
	if (n > alloc)
		n = alloc;
	if (n > bufsize)
		n = bufsize;
	return (int)n;
}

/* Space-padded ASCII into a fixed-size field (SPC-3, 4.4.1). */
static void
put_ascii(uint8_t *p, size_t n, const char *s)
{
	memset(p, ' ', n);
	memcpy(p, s, strnlen(s, n));
}

uint32_t
atapi_capacity(const struct blockdev *bd)
{
	uint64_t n = bd->sectors / (ATAPI_SECTOR / BLOCKDEV_SECTOR);
	return n > UINT32_MAX ? UINT32_MAX : (uint32_t)n;
}

/* INQUIRY standard data (SPC-3, 6.4.2): a removable CD/DVD device (type 05h). */
static size_t
inquiry(uint8_t *b)
{
	memset(b, 0, 36);
	b[0] = 0x05;
	b[1] = 0x80; /* RMB */
	b[2] = 0x00; /* no claim to a SCSI version, as ATAPI drives report */
	b[3] = 0x21; /* ATAPI transport version 2, response data format 1 */
	b[4] = 36 - 5;
	put_ascii(b + 8, 8, "FUGU");
	put_ascii(b + 16, 16, "FUGU DVD-ROM");
	put_ascii(b + 32, 4, "0.1");
	return 36;
}

/* Fixed-format sense data (SPC-3, 4.5.3). */
static size_t
request_sense(const struct atapi_state *st, uint8_t *b)
{
	memset(b, 0, 18);
	b[0] = 0x70; /* current error, fixed format */
	b[2] = st->sense_key;
	b[7] = 18 - 8;
	b[12] = st->asc;
	b[13] = st->ascq;
	return 18;
}

/* An address in the TOC: an LBA or, with MSF, minutes/seconds/frames from
 * the start of the disc, which lies 150 frames (2 s) before LBA 0 (MMC-3, 6.26). */
static void
put_address(uint8_t *p, uint32_t lba, bool msf)
{
	if (!msf) {
		put32(p, lba);
		return;
	}
	uint32_t f = lba + 150;
	p[0] = 0;
	p[1] = (uint8_t)(f / (75 * 60));
	p[2] = (uint8_t)(f / 75 % 60);
	p[3] = (uint8_t)(f % 75);
}

/* READ TOC/PMA/ATIP (MMC-3, 6.26) formats 0 (TOC) and 1 (session info). */
static int
read_toc(struct atapi_state *st, uint32_t capacity, uint8_t *b)
{
	const uint8_t *c = st->cdb;
	bool msf = c[1] & 0x02;
	unsigned format = c[2] & 0x0f;
	if (!format)
		format = c[9] >> 6; /* the SFF-8020 place for it */
	size_t n = 4;
	memset(b, 0, 4 + 2 * 8);
	b[2] = b[3] = 1; /* first and last track (or session) */
	if (format == 0) {
		unsigned start = c[6];
		if (start > 1 && start != 0xaa)
			return check(st, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
		if (start <= 1) { /* track 1: data, digital copy permitted */
			b[n + 1] = 0x14;
			b[n + 2] = 1;
			put_address(b + n + 4, 0, msf);
			n += 8;
		}
		b[n + 1] = 0x14; /* the lead-out */
		b[n + 2] = 0xaa;
		put_address(b + n + 4, capacity, msf);
		n += 8;
	} else if (format == 1) {
		b[n + 1] = 0x14; /* the first track of the last session */
		b[n + 2] = 1;
		put_address(b + n + 4, 0, msf);
		n += 8;
	} else {
		return check(st, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
	}
	put16(b, (uint32_t)n - 2);
	return (int)n;
}

/* GET CONFIGURATION (MMC-3, 5.2, 6.6): the profile list (the current profile,
 * DVD-ROM or CD-ROM by size), Core (ATAPI) and Removable Medium features;
 * RT 0 and 1 ask for the features from the starting one on (all of these are
 * current), RT 2 for that one alone. */
static int
get_configuration(struct atapi_state *st, uint32_t capacity, uint8_t *b)
{
	const uint8_t *c = st->cdb;
	unsigned rt = c[1] & 3, first = be16(c + 2);
	uint32_t profile = capacity > ATAPI_CD_MAX_SECTORS ? 0x0010 : 0x0008;
	size_t n = 8;
	memset(b, 0, 8 + 12 + 12 + 8);
	put16(b + 6, profile);
	if (rt == 2 ? first == 0x0000 : first <= 0x0000) {
		b[n + 2] = 0x03; /* profile list: persistent, current */
		b[n + 3] = 8;
		put16(b + n + 4, 0x0010);
		b[n + 6] = profile == 0x0010;
		put16(b + n + 8, 0x0008);
		b[n + 10] = profile == 0x0008;
		n += 12;
	}
	if (rt == 2 ? first == 0x0001 : first <= 0x0001) {
		put16(b + n, 0x0001); /* core: version 1, persistent, current */
		b[n + 2] = 0x07;
		b[n + 3] = 8;
		put32(b + n + 4, 2); /* physical interface standard: ATAPI */
		b[n + 8] = 0x01;     /* DBE */
		n += 12;
	}
	if (rt == 2 ? first == 0x0003 : first <= 0x0003) {
		put16(b + n, 0x0003); /* removable medium: persistent, current */
		b[n + 2] = 0x03;
		b[n + 3] = 4;
		b[n + 4] = 0x29; /* tray loading mechanism, eject, lock */
		n += 8;
	}
	put32(b, (uint32_t)n - 4);
	return (int)n;
}

/* GET EVENT STATUS NOTIFICATION (MMC-3, 6.5), polled only: the media class
 * (a medium is present, nothing changed); asynchronous operation is refused. */
static int
get_event_status(struct atapi_state *st, uint8_t *b)
{
	const uint8_t *c = st->cdb;
	if (!(c[1] & 1))
		return check(st, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
	memset(b, 0, 8);
	b[3] = 0x10; /* supported: media */
	if (!(c[4] & 0x10)) {
		b[2] = 0x80; /* NEA: no event of a requested class */
		put16(b, 2);
		return 4;
	}
	b[2] = 0x04; /* media class */
	b[5] = 0x02; /* media present, tray closed */
	put16(b, 6);
	return 8;
}

/* MODE SENSE(10) (SPC-3, 6.10) of the pages a CD drive has: 01h (read error
 * recovery) and 2Ah (MM capabilities, MMC-3 6.3.11), or all (3Fh). */
static int
mode_sense(struct atapi_state *st, uint8_t *b)
{
	const uint8_t *c = st->cdb;
	unsigned page = c[2] & 0x3f, pc = c[2] >> 6;
	size_t n = 8;
	memset(b, 0, 8 + 8 + 22);
	if (pc == 3)
		return check(st, SENSE_ILLEGAL_REQUEST, 0x39); /* saving not supported */
	if (page != 0x01 && page != 0x2a && page != 0x3f)
		return check(st, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD);
	b[2] = 0x70; /* medium type: door closed, no disc type claimed */
	if (page == 0x01 || page == 0x3f) {
		b[n] = 0x01;
		b[n + 1] = 6;
		if (pc != 1)          /* changeable values are all zero */
			b[n + 3] = 5; /* read retry count */
		n += 8;
	}
	if (page == 0x2a || page == 0x3f) {
		uint8_t *p = b + n;
		p[0] = 0x2a;
		p[1] = 20;
		if (pc != 1) {
			p[2] = 0x3b; /* reads CD-R, CD-RW, method 2, DVD-ROM, DVD-R */
			p[4] = 0x71; /* audio play, multi-session, mode 2 forms 1 and 2 */
			p[5] = 0x03; /* CD-DA commands, accurate stream */
			p[6] = (uint8_t)(0x29 | (st->locked ? 0x02 : 0)); /* tray, eject, lock */
			put16(p + 8, 706);                                /* max speed, kB/s */
			put16(p + 10, 0x100);                             /* volume levels */
			put16(p + 12, 512);                               /* buffer, KiB */
			put16(p + 14, 706);                               /* current speed */
		}
		n += 22;
	}
	put16(b, (uint32_t)n - 2);
	return (int)n;
}

/* READ(10)/READ(12) (MMC-3, 6.15, 6.16): check the range, then fetch the first sectors. */
static int
read_start(struct atapi_state *st, struct blockdev *bd, uint32_t lba, uint32_t count, uint8_t *buf,
	   size_t bufsize)
{
	uint32_t cap = atapi_capacity(bd);
	if (lba > cap || count > cap - lba)
		return check(st, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
	st->lba = lba;
	st->sectors = count;
	return count ? atapi_fill(st, bd, buf, bufsize) : 0;
}

int
atapi_fill(struct atapi_state *st, struct blockdev *bd, uint8_t *buf, size_t bufsize)
{
	const unsigned per = ATAPI_SECTOR / BLOCKDEV_SECTOR;
	uint32_t n = (uint32_t)(bufsize / ATAPI_SECTOR);
	if (n > st->sectors)
		n = st->sectors;
	if (blockdev_read(bd, (uint64_t)st->lba * per, n * per, buf) < 0) {
		st->sectors = 0;
		return check(st, SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ);
	}
	st->lba += n;
	st->sectors -= n;
	return (int)(n * ATAPI_SECTOR);
}

int
atapi_execute(struct atapi_state *st, struct blockdev *bd, uint8_t *buf, size_t bufsize)
{
	const uint8_t *c = st->cdb;
	uint32_t cap = atapi_capacity(bd);
	uint8_t op = c[0];
	st->sectors = 0;
	if (op != OP_REQUEST_SENSE)
		st->sense_key = st->asc = st->ascq = 0; /* a new command, a new status */
	switch (op) {
	case OP_TEST_UNIT_READY:
	case OP_SEEK_10:
	case OP_SET_CD_SPEED: return 0;
	case OP_START_STOP_UNIT: return 0; /* XXX: the tray never opens (LoEj ignored) */
	case OP_PREVENT_ALLOW: st->locked = c[4] & 1; return 0;
	case OP_REQUEST_SENSE: {
		int n = reply(request_sense(st, buf), c[4], bufsize);
		st->sense_key = st->asc = st->ascq = 0;
		return n;
	}
	case OP_INQUIRY: return reply(inquiry(buf), be16(c + 3), bufsize);
	case OP_READ_CAPACITY: /* (MMC-3, 6.19): the last LBA and the block length */
		put32(buf, cap ? cap - 1 : 0);
		put32(buf + 4, ATAPI_SECTOR);
		return 8;
	case OP_READ_10: return read_start(st, bd, be32(c + 2), be16(c + 7), buf, bufsize);
	case OP_READ_12: return read_start(st, bd, be32(c + 2), be32(c + 6), buf, bufsize);
	case OP_READ_TOC: {
		int n = read_toc(st, cap, buf);
		return n < 0 ? n : reply((size_t)n, be16(c + 7), bufsize);
	}
	case OP_GET_CONFIGURATION: {
		int n = get_configuration(st, cap, buf);
		return reply((size_t)n, be16(c + 7), bufsize);
	}
	case OP_GET_EVENT_STATUS: {
		int n = get_event_status(st, buf);
		return n < 0 ? n : reply((size_t)n, be16(c + 7), bufsize);
	}
	case OP_MODE_SENSE_10: {
		int n = mode_sense(st, buf);
		return n < 0 ? n : reply((size_t)n, be16(c + 7), bufsize);
	}
	default: return check(st, SENSE_ILLEGAL_REQUEST, ASC_INVALID_OPCODE);
	}
}
