/*
 * fugu — ATA hard disks on the two legacy IDE channels (chipset/ide.c) and
 * the PIIX3 IDE function 00:01.1 with its bus-master DMA engine
 * (chipset/ide_pci.c). The primary channel is at 0x1F0-0x1F7 and 0x3F6 on
 * IRQ 14, the secondary at 0x170-0x177 and 0x376 on IRQ 15; each has a
 * master (device 0) and a slave (device 1). References: ATA/ATAPI-6 (T13
 * 1410D revision 3b), whose PACKET command carries the MMC commands of
 * an ATAPI CD-ROM (chipset/atapi.c), and the Intel 82371SB (PIIX3) datasheet (function 1
 * configuration registers; bus master IDE I/O registers BMICx/BMISx/BMIDTPx).
 */
#ifndef FUGU_IDE_H
#define FUGU_IDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chipset/irq.h"

#include "chipset/atapi.h"
#include "chipset/blockdev.h"
#include "chipset/pci.h"

struct ioports;
struct physmem;

#define IDE_MAX_MULT 16 /* sectors per DRQ block of READ/WRITE MULTIPLE (word 47) */
#define IDE_BUF_SIZE (IDE_MAX_MULT * BLOCKDEV_SECTOR)
#define IDE_BM_SIZE 16 /* bus-master I/O space (BAR4) */

/* Status register (ATA/ATAPI-6, clause 7). */
#define ATA_STAT_ERR 0x01
#define ATA_STAT_DRQ 0x08
#define ATA_STAT_DSC 0x10 /* device seek complete (command dependent in ATA-6) */
#define ATA_STAT_DF 0x20
#define ATA_STAT_DRDY 0x40
#define ATA_STAT_BSY 0x80
/* Error register (clause 7). */
#define ATA_ERR_ABRT 0x04
#define ATA_ERR_IDNF 0x10
#define ATA_ERR_UNC 0x40
/* Device Control register (clause 7). */
#define ATA_CTL_NIEN 0x02
#define ATA_CTL_SRST 0x04
#define ATA_CTL_HOB 0x80

/* Bus master registers (PIIX3 datasheet: BMICx, BMISx). */
#define BM_CMD_START 0x01   /* BMICx SSBM: start/stop bus master */
#define BM_CMD_READ 0x08    /* BMICx RWCON: 1 = write to memory (device read) */
#define BM_STAT_ACTIVE 0x01 /* BMISx BMIDEA */
#define BM_STAT_ERROR 0x02  /* BMISx DMA error (write 1 to clear) */
#define BM_STAT_INTR 0x04   /* BMISx IDEINTS (write 1 to clear) */
#define BM_STAT_DMA0 0x20   /* drive 0 DMA capable (software flag) */
#define BM_STAT_DMA1 0x40   /* drive 1 DMA capable */

/* What a drive is doing with the data port or the bus master. */
enum ide_xfer {
	IDE_XFER_NONE,
	IDE_XFER_PIO_IN,
	IDE_XFER_PIO_OUT,
	IDE_XFER_DMA_IN,
	IDE_XFER_DMA_OUT
};

/* One drive's registers and transfer state (plain data: saved by copy). */
struct ide_drive_state {
	uint8_t status;            /* Status register */
	uint8_t error;             /* Error register */
	bool irq_pending;          /* device interrupt pending (cleared by a Status read) */
	uint8_t cmd;               /* the command being executed, 0 when idle */
	uint8_t xfer;              /* enum ide_xfer */
	uint8_t addr_mode;         /* how the command addressed: 0 CHS, 1 LBA28, 2 LBA48 */
	uint16_t pos, len;         /* bytes done / in the current buffer (DRQ block, DMA chunk) */
	uint16_t block;            /* sectors per DRQ block of the current PIO command */
	uint64_t lba;              /* the sector at buf[0] */
	uint32_t left;             /* sectors left, including those in buf */
	uint8_t mult;              /* SET MULTIPLE MODE: sectors per block (0: disabled) */
	uint8_t xfer_mode;         /* SET FEATURES 03h value (PIO/MWDMA/UDMA mode) */
	bool wcache;               /* write cache enabled (SET FEATURES 02h/82h) */
	uint16_t cyls, heads, spt; /* current CHS translation (INITIALIZE DEVICE PARAMETERS) */
	struct atapi_state at;     /* ATAPI drive: the packet command and its sense */
	uint8_t buf[IDE_BUF_SIZE]; /* sector data */
};

struct ide_drive {
	struct ide_drive_state st;
	bool present;
	bool atapi; /* an ATAPI CD/DVD-ROM (-cdrom), not an ATA disk */
	struct blockdev bd;
	uint16_t def_cyls, def_heads, def_spt; /* default translation (IDENTIFY words 1, 3, 6) */
	uint8_t unit;                          /* 0-3: primary master ... secondary slave */
};

/* The command block registers a channel latches (both devices see every write). */
struct ide_channel_state {
	uint8_t feature, nsect, lbal, lbam, lbah;                     /* most recently written */
	uint8_t hob_feature, hob_nsect, hob_lbal, hob_lbam, hob_lbah; /* previous content */
	uint8_t select;                                               /* Device register */
	uint8_t ctl;                                                  /* Device Control register */
};

struct ide_channel {
	struct ide_channel_state st;
	struct ide_drive drive[2];
	struct ide *ide;
	uint8_t index; /* 0 primary, 1 secondary */
	bool irq;      /* current INTRQ level */
};

/* One channel's bus master registers and PRD walk (plain data). */
struct ide_bm_state {
	uint8_t cmd;    /* BMICx */
	uint8_t status; /* BMISx */
	uint32_t prdt;  /* BMIDTPx: the PRD table */
	uint32_t next;  /* address of the next PRD entry */
	uint32_t addr;  /* current region: next byte */
	uint32_t left;  /* bytes left in the current region (0: fetch the next) */
	bool eot;       /* the current region is the last one (EOT) */
};

/* What the board connects. */
struct ide_board {
	struct irq_line irq[2]; /* INTRQ of channel 0 (IRQ 14) and 1 (IRQ 15) */
	/* Pulsed after each burst of DMA (up to 32 MiB in one OUT): the board
	 * ends the CPU's slice so the run loop sees the host clock. */
	struct irq_line dma_done;
};

struct ide {
	struct ide_channel ch[2];
	struct ide_bm_state bm[2];
	struct pci_function fn; /* 00:01.1 */
	struct ioports *io;
	struct physmem *mem; /* bus-master DMA goes through physmem_read/write */
	struct ide_board board;
	uint16_t bm_base; /* where BAR4 is mapped */
	bool bm_mapped;
};

/* Claim the legacy ports and add 00:01.1 to `bus`; -1 on a conflict. */
int ide_init(struct ide *ide, struct pci_bus *bus, struct ioports *io, struct physmem *mem,
	     const struct ide_board *board);
/*
 * Attach the raw image `path` as drive `unit` (0-3: primary master/slave,
 * secondary master/slave); -1 with a one-line message in err.
 */
int ide_attach(struct ide *ide, unsigned unit, const char *path, bool readonly, bool snapshot,
	       char *err, size_t errlen);
/* Attach the image `path` (2048-byte sectors, read-only) as an ATAPI CD-ROM. */
int ide_attach_cdrom(struct ide *ide, unsigned unit, const char *path, char *err, size_t errlen);
void ide_destroy(struct ide *ide);
/* Power-on / hardware reset of the drives, the channels and the PCI function. */
void ide_reset(struct ide *ide);
size_t ide_save(const struct ide *ide, void *buf, size_t len);
int ide_restore(struct ide *ide, const void *buf, size_t len);
/* Whether a saved record (a file's) holds only values the device can hold
 * (chipset/state.h): 0, or -1 with the field and its value in err. */
int ide_check(const struct ide *ide, const void *buf, size_t len, char *err, size_t errlen);

/* Between ide.c and ide_pci.c: the bus master moved `len` bytes between buf and
 * the PRD regions (returns how many before the table ran out); the device
 * finished its transfer; the bus master was started. */
size_t ide_bm_transfer(struct ide *ide, unsigned ch, uint8_t *buf, size_t len, bool to_memory);
void ide_bm_done(struct ide *ide, unsigned ch);
void ide_dma_kick(struct ide *ide, unsigned ch);
/* INTRQ of channel ch rose: the bus master's interrupt bit (PIIX3 BMISx bit 2). */
void ide_bm_irq(struct ide *ide, unsigned ch);
/* Set up 00:01.1 and add it to the bus (ide_pci.c). */
int ide_pci_init(struct ide *ide, struct pci_bus *bus);
void ide_pci_reset(struct ide *ide);

#endif
