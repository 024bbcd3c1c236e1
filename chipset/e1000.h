/*
 * fugu — the Intel 82540EM gigabit Ethernet controller (8086:100E, "e1000",
 * QEMU's default NIC) as a PCI function: the 128 KiB register file behind
 * BAR0, IOADDR/IODATA behind the I/O BAR1, the Microwire EEPROM (EECD bit
 * banging and EERD), the M88E1011 PHY behind MDIC, legacy and extended
 * (context/data) transmit descriptors with checksum offload and TCP
 * segmentation, legacy receive descriptors with address filtering, and
 * INTA#. References are to Intel's "PCI/PCI-X Family of Gigabit Ethernet
 * Controllers Software Developer's Manual" (8254x SDM, rev. 4.0) by section.
 *
 * The device never touches the host: frames leave through board.send and
 * arrive through e1000_receive (chipset/netdev.c is the libslirp side).
 */
#ifndef FUGU_E1000_H
#define FUGU_E1000_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chipset/pci.h"
#include "chipset/timer.h"

struct ioports;
struct physmem;

#define E1000_MMIO_SIZE 0x20000  /* BAR0 */
#define E1000_IO_SIZE 0x40       /* BAR1: IOADDR at 0, IODATA at 4 */
#define E1000_NREGS (0x6000 / 4) /* the modelled part of the register file */
#define E1000_EEPROM_WORDS 64    /* 93C46-class Microwire EEPROM, 6 address bits */
#define E1000_PHY_REGS 32
#define E1000_TX_MAX 65536    /* a transmit packet (TSO: header + payload) at most */
#define E1000_FRAME_MAX 16384 /* a frame on the wire at most (jumbo, LPE) */

/* Register offsets (8254x SDM 13, table 13-2). */
enum {
	E1000_CTRL = 0x0000,
	E1000_STATUS = 0x0008,
	E1000_EECD = 0x0010,
	E1000_EERD = 0x0014,
	E1000_CTRL_EXT = 0x0018,
	E1000_MDIC = 0x0020,
	E1000_VET = 0x0038,
	E1000_ICR = 0x00c0,
	E1000_ITR = 0x00c4,
	E1000_ICS = 0x00c8,
	E1000_IMS = 0x00d0,
	E1000_IMC = 0x00d8,
	E1000_RCTL = 0x0100,
	E1000_TCTL = 0x0400,
	E1000_TIPG = 0x0410,
	E1000_LEDCTL = 0x0e00,
	E1000_PBA = 0x1000,
	E1000_RDBAL = 0x2800,
	E1000_RDBAH = 0x2804,
	E1000_RDLEN = 0x2808,
	E1000_RDH = 0x2810,
	E1000_RDT = 0x2818,
	E1000_RDTR = 0x2820,
	E1000_RXDCTL = 0x2828,
	E1000_RADV = 0x282c,
	E1000_TDBAL = 0x3800,
	E1000_TDBAH = 0x3804,
	E1000_TDLEN = 0x3808,
	E1000_TDH = 0x3810,
	E1000_TDT = 0x3818,
	E1000_TIDV = 0x3820,
	E1000_TXDCTL = 0x3828,
	E1000_TADV = 0x382c,
	E1000_STATS = 0x4000, /* statistics, 0x4000-0x40ff, clear on read */
	E1000_STATS_END = 0x4100,
	E1000_RXCSUM = 0x5000,
	E1000_MTA = 0x5200,  /* multicast table array, 128 registers */
	E1000_RAL0 = 0x5400, /* receive addresses: RAL/RAH pairs, 16 of them */
	E1000_RAH0 = 0x5404,
	E1000_VFTA = 0x5600, /* VLAN filter table, 128 registers */
	E1000_WUC = 0x5800,
	E1000_MANC = 0x5820,
};

/* Interrupt causes (ICR, ICS, IMS, IMC: 13.4.17-21). */
#define E1000_INT_TXDW 0x00000001   /* transmit descriptor written back */
#define E1000_INT_TXQE 0x00000002   /* transmit queue empty */
#define E1000_INT_LSC 0x00000004    /* link status change */
#define E1000_INT_RXDMT0 0x00000010 /* receive descriptors below the minimum threshold */
#define E1000_INT_RXO 0x00000040    /* receiver overrun */
#define E1000_INT_RXT0 0x00000080   /* receiver timer (a frame was stored) */

/* Everything save/restore copies. */
struct e1000_state {
	uint32_t reg[E1000_NREGS];           /* the register file by offset / 4 */
	uint16_t eeprom[E1000_EEPROM_WORDS]; /* MAC address, IDs, checksum word 0x3F */
	uint16_t phy[E1000_PHY_REGS];        /* the PHY at MDIO address 1 */
	/* Microwire bit banging through EECD (5.3.1): */
	uint16_t ee_bits; /* rising SK edges since CS rose */
	uint16_t ee_cmd;  /* opcode and address shifted in from DI */
	uint8_t ee_do;    /* the DO bit the EEPROM drives */
	uint8_t ee_sk;    /* last SK level */
	uint32_t ioaddr;  /* IOADDR: the register IODATA reaches (13.3.1) */
	/* Transmit: the context of the last context descriptor (3.3.6). */
	struct e1000_tx_ctx {
		uint8_t ipcss, ipcso, tucss, tucso;
		uint16_t ipcse, tucse;
		uint32_t paylen;
		uint8_t tucmd;
		uint8_t hdrlen;
		uint16_t mss;
	} ctx;
	/* The packet being gathered from data descriptors until EOP. */
	uint32_t tx_len;  /* bytes gathered (may exceed E1000_TX_MAX: then dropped) */
	uint8_t tx_popts; /* POPTS of the first data descriptor (IXSM, TXSM) */
	uint8_t tx_cmd;   /* the command bits of the packet's first descriptor */
	uint8_t tx_legacy_cso, tx_legacy_css;
	uint16_t tx_vlan;  /* special field of the EOP descriptor (VLE) */
	uint8_t tx_active; /* a packet is being gathered */
	uint8_t tx_ipv4;   /* context: TUCMD.IP (IPv4) */
	uint8_t pad[2];
	uint8_t tx_buf[E1000_TX_MAX];
};

/* The board's side: where transmitted frames go, and when receive space appeared. */
struct e1000_board {
	void (*send)(void *opaque, const uint8_t *frame, size_t len);
	void (*rx_ready)(void *opaque); /* RDT moved or the receiver was enabled */
	void *opaque;
	uint8_t mac[6];
};

struct e1000 {
	struct e1000_state st;
	struct pci_function fn;
	struct e1000_board board;
	struct physmem *mem;
	struct ioports *io;
	struct vclock *clock;
	struct vtimer tx_timer; /* transmit work left over from a bounded pass */
	int mmio_region;
	bool io_mapped;
	uint16_t io_base;
	uint8_t frame[E1000_FRAME_MAX + 64];    /* scratch: a frame being sent */
	uint8_t rx_frame[E1000_FRAME_MAX + 64]; /* scratch: a frame being received */
};

/* The function at 00:slot.0; -1 if the slot is taken or the map is full. */
int e1000_init(struct e1000 *e, struct pci_bus *bus, unsigned slot, struct ioports *io,
	       struct physmem *mem, struct vclock *clock, const struct e1000_board *board);
void e1000_reset(struct e1000 *e);
void e1000_destroy(struct e1000 *e);
size_t e1000_save(const struct e1000 *e, void *buf, size_t len);
int e1000_restore(struct e1000 *e, const void *buf, size_t len);
/* Whether a saved record (a file's) holds only values the device can hold
 * (chipset/state.h): 0, or -1 with the field and its value in err. */
int e1000_check(const struct e1000 *e, const void *buf, size_t len, char *err, size_t errlen);

/* A frame from the wire (without FCS). Returns true when taken (stored or
 * filtered out), false when the receive ring has no room: the caller keeps it
 * and offers it again after board.rx_ready. */
bool e1000_receive(struct e1000 *e, const uint8_t *frame, size_t len);
/* Whether the receiver is enabled (frames offered now are not lost for it). */
bool e1000_rx_enabled(const struct e1000 *e);

/* The register file as the guest sees it through BAR0 (also for tests). */
uint32_t e1000_reg_read(struct e1000 *e, uint32_t off);
void e1000_reg_write(struct e1000 *e, uint32_t off, uint32_t value);

#endif
