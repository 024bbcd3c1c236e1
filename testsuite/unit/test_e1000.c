/*
 * Unit tests: the 82540EM network controller (chipset/e1000.c) as its driver
 * drives it: PCI header and BARs, the register file, the EEPROM through EERD
 * and Microwire bit banging, the PHY through MDIC, interrupt causes and
 * INTA#, transmit rings (legacy, checksum offload, TCP segmentation) into a
 * captured wire, receive rings with filtering, and a hostile driver's rings
 * outside RAM. Section numbers refer to Intel's 8254x SDM.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "chipset/e1000.h"
#include "chipset/pci.h"
#include "chipset/timer.h"
#include "mmu/ioport.h"
#include "mmu/physmem.h"

#define RAM (1u << 20)
#define MMIO_ADDR 0xfebc0000u
#define IO_ADDR 0xc000u
#define TX_RING 0x10000u
#define RX_RING 0x20000u
#define BUF 0x30000u
#define RX_BUF 0x40000u

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

struct fixture {
	uint64_t icount;
	struct vclock clock;
	struct ioports *io;
	struct physmem *mem;
	struct pci_bus bus;
	struct e1000 e;
	bool intx;        /* INTA# level */
	unsigned nframes; /* frames on the wire */
	uint8_t frames[8][2048];
	size_t lens[8];
	unsigned rx_ready; /* rx_ready calls */
};

static void
set_intx(void *opaque, unsigned devfn, unsigned pin, bool level)
{
	struct fixture *f = opaque;
	(void)devfn, (void)pin;
	f->intx = level;
}

static void
capture(void *opaque, const uint8_t *frame, size_t len)
{
	struct fixture *f = opaque;
	if (f->nframes < 8 && len <= sizeof(f->frames[0])) {
		memcpy(f->frames[f->nframes], frame, len);
		f->lens[f->nframes] = len;
	}
	f->nframes++;
}

static void
rx_ready(void *opaque)
{
	struct fixture *f = opaque;
	f->rx_ready++;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	vclock_init(&f->clock, VCLOCK_DETERMINISTIC, &f->icount);
	f->io = ioports_create();
	f->mem = physmem_create(RAM);
	assert_non_null(f->io);
	assert_non_null(f->mem);
	assert_int_equal(pci_bus_init(&f->bus, f->io, set_intx, f), 0);
	struct e1000_board b = { .send = capture, .rx_ready = rx_ready, .opaque = f };
	memcpy(b.mac, MAC, 6);
	assert_int_equal(e1000_init(&f->e, &f->bus, 3, f->io, f->mem, &f->clock, &b), 0);
	/* the BIOS's work: BARs placed, memory, I/O and bus mastering on */
	pci_config_write(&f->e.fn, PCI_BAR0, MMIO_ADDR, 4);
	pci_config_write(&f->e.fn, PCI_BAR0 + 4, IO_ADDR, 4);
	pci_config_write(&f->e.fn, PCI_COMMAND,
			 PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	e1000_destroy(&f->e);
	physmem_destroy(f->mem);
	ioports_destroy(f->io);
	vclock_destroy(&f->clock);
	free(f);
	return 0;
}

static uint32_t
rd(struct fixture *f, uint32_t off)
{
	return (uint32_t)physmem_read_sized(f->mem, MMIO_ADDR + off, 4);
}

static void
wr(struct fixture *f, uint32_t off, uint32_t v)
{
	physmem_write_sized(f->mem, MMIO_ADDR + off, v, 4);
}

/* PCI header (SDM 4.1): IDs, class, INTA#, BAR0 128 KiB memory, BAR1 64 bytes I/O. */
static void
test_pci_header(void **state)
{
	struct fixture *f = *state;
	struct pci_function *fn = &f->e.fn;
	assert_int_equal(pci_config_read(fn, PCI_VENDOR_ID, 4), 0x100e8086);
	assert_int_equal(pci_config_read(fn, PCI_REVISION, 4) >> 8, 0x020000);
	assert_int_equal(pci_config_read(fn, PCI_INTERRUPT_PIN, 1), 1);
	assert_int_equal(pci_config_read(fn, PCI_SUBSYS_VENDOR, 4), 0x001e8086);
	pci_config_write(fn, PCI_BAR0, 0xffffffff, 4);
	assert_int_equal(pci_config_read(fn, PCI_BAR0, 4), (uint32_t) ~(E1000_MMIO_SIZE - 1));
	pci_config_write(fn, PCI_BAR0 + 4, 0xffffffff, 4);
	assert_int_equal(pci_config_read(fn, PCI_BAR0 + 4, 4) & 0xffff,
			 (0x10000 - E1000_IO_SIZE) | 1);
}

/* STATUS: link up, full duplex, 1000 Mb/s (13.4.2); through MMIO and IOADDR/IODATA. */
static void
test_status_and_io_window(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(rd(f, E1000_STATUS) & 0xc3, 0x83);
	ioport_write(f->io, IO_ADDR, E1000_STATUS, 4);
	assert_int_equal(ioport_read(f->io, IO_ADDR, 4), E1000_STATUS);
	assert_int_equal(ioport_read(f->io, IO_ADDR + 4, 4) & 0xc3, 0x83);
	ioport_write(f->io, IO_ADDR, E1000_TIPG, 4);
	ioport_write(f->io, IO_ADDR + 4, 0x00602008, 4);
	assert_int_equal(rd(f, E1000_TIPG), 0x00602008);
	assert_int_equal(rd(f, 0x1234 * 4), 0); /* no register there */
}

/* EERD (13.4.4): 64 words, MAC in 0-2, device ID in 0Dh, sum BABAh (5.6.x). */
static void
test_eeprom_eerd_checksum(void **state)
{
	struct fixture *f = *state;
	uint16_t sum = 0, w[64];
	for (unsigned a = 0; a < 64; a++) {
		wr(f, E1000_EERD, a << 8 | 1);
		uint32_t v = rd(f, E1000_EERD);
		assert_true(v & 0x10); /* DONE */
		w[a] = (uint16_t)(v >> 16);
		sum = (uint16_t)(sum + w[a]);
	}
	assert_int_equal(sum, 0xbaba);
	assert_int_equal(w[0], 0x5452);
	assert_int_equal(w[1], 0x1200);
	assert_int_equal(w[2], 0x5634);
	assert_int_equal(w[0x0d], 0x100e);
	assert_int_equal(w[0x0e], 0x8086);
}

/* Microwire READ through EECD as Linux's e1000_read_eeprom does it (5.3.1). */
static uint16_t
microwire_read(struct fixture *f, unsigned addr)
{
	uint32_t eecd = rd(f, E1000_EECD);
	eecd |= 0x40; /* REQ */
	wr(f, E1000_EECD, eecd);
	assert_true(rd(f, E1000_EECD) & 0x80); /* GNT */
	eecd = (eecd & ~0xfu) | 0x2;           /* CS */
	wr(f, E1000_EECD, eecd);
	uint32_t bits = 0x6u << 6 | addr; /* start + READ (110b), 6 address bits */
	for (int b = 8; b >= 0; b--) {
		uint32_t di = bits >> b & 1 ? 0x4 : 0;
		wr(f, E1000_EECD, (eecd & ~0x4u) | di);
		wr(f, E1000_EECD, (eecd & ~0x4u) | di | 1);
		wr(f, E1000_EECD, (eecd & ~0x4u) | di);
	}
	uint16_t v = 0;
	for (int b = 0; b < 16; b++) {
		wr(f, E1000_EECD, eecd | 1);
		v = (uint16_t)(v << 1 | ((rd(f, E1000_EECD) & 0x8) != 0));
		wr(f, E1000_EECD, eecd);
	}
	wr(f, E1000_EECD, eecd & ~0x42u); /* CS low, release */
	return v;
}

static void
test_eeprom_microwire(void **state)
{
	struct fixture *f = *state;
	assert_true(rd(f, E1000_EECD) & 0x100);  /* present */
	assert_false(rd(f, E1000_EECD) & 0x200); /* 64-word part */
	assert_int_equal(microwire_read(f, 0x0d), 0x100e);
	assert_int_equal(microwire_read(f, 0x00), 0x5452);
	assert_int_equal(microwire_read(f, 0x0e), 0x8086);
}

static uint32_t
mdic(struct fixture *f, unsigned op, unsigned phy, unsigned reg, uint16_t data)
{
	wr(f, E1000_MDIC, (uint32_t)op << 26 | phy << 21 | reg << 16 | data);
	return rd(f, E1000_MDIC);
}

/* MDIC (13.4.7) and the PHY: M88E1011 ID, link and auto-negotiation complete. */
static void
test_phy(void **state)
{
	struct fixture *f = *state;
	uint32_t v = mdic(f, 2, 1, 2, 0);
	assert_true(v & 0x10000000); /* ready */
	assert_int_equal(v & 0xffff, 0x0141);
	assert_int_equal(mdic(f, 2, 1, 3, 0) & 0xffff, 0x0c20);
	v = mdic(f, 2, 1, 1, 0);
	assert_true(v & 0x0004);                       /* link status */
	assert_true(v & 0x0020);                       /* auto-negotiation complete */
	assert_true(mdic(f, 2, 2, 1, 0) & 0x40000000); /* no PHY at address 2 */
	mdic(f, 1, 1, 4, 0x01e1);
	assert_int_equal(mdic(f, 2, 1, 4, 0) & 0xffff, 0x01e1);
	mdic(f, 1, 1, 0, 0x8000); /* PHY reset: self-clearing, defaults back */
	assert_int_equal(mdic(f, 2, 1, 0, 0) & 0xffff, 0x1140);
	assert_int_equal(mdic(f, 2, 1, 4, 0) & 0xffff, 0x0de1);
}

/* ICS/IMS/IMC/ICR (13.4.17-21): INTA# follows ICR & IMS; reading ICR clears it. */
static void
test_interrupts(void **state)
{
	struct fixture *f = *state;
	wr(f, E1000_ICS, 0x4); /* LSC, masked */
	assert_false(f->intx);
	wr(f, E1000_IMS, 0x9d);
	assert_int_equal(rd(f, E1000_IMS), 0x9d);
	assert_true(f->intx);
	assert_int_equal(rd(f, E1000_ICR), 0x4);
	assert_false(f->intx);
	assert_int_equal(rd(f, E1000_ICR), 0);
	wr(f, E1000_ICS, 0x80);
	assert_true(f->intx);
	wr(f, E1000_IMC, 0xffffffff);
	assert_false(f->intx);
	wr(f, E1000_IMS, 0x80);
	assert_true(f->intx);
	pci_config_write(&f->e.fn, PCI_COMMAND, 0x0407, 2); /* interrupt disable */
	assert_false(f->intx);
	pci_config_write(&f->e.fn, PCI_COMMAND, 0x0007, 2);
	assert_true(f->intx);
	wr(f, E1000_ICR, 0x80); /* write 1 to clear */
	assert_false(f->intx);
	wr(f, E1000_ITR, 500); /* throttling: stored, not applied */
	assert_int_equal(rd(f, E1000_ITR), 500);
}

/* CTRL.RST (13.4.1): registers to their defaults, RAL0/RAH0 from the EEPROM. */
static void
test_ctrl_reset(void **state)
{
	struct fixture *f = *state;
	wr(f, E1000_RCTL, 0x8002);
	wr(f, E1000_RAL0, 0x11223344);
	wr(f, E1000_IMS, 0x80);
	wr(f, E1000_CTRL, rd(f, E1000_CTRL) | 0x04000000);
	assert_false(rd(f, E1000_CTRL) & 0x04000000);
	assert_int_equal(rd(f, E1000_RCTL), 0);
	assert_int_equal(rd(f, E1000_IMS), 0);
	assert_int_equal(rd(f, E1000_RAL0), 0x12005452);
	assert_int_equal(rd(f, E1000_RAH0), 0x80005634);
}

static void
put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		p[k] = (uint8_t)(v >> (8 * k));
}

/* A transmit descriptor at index i of the ring. */
static void
txd(struct fixture *f, unsigned i, uint64_t addr, uint32_t d2, uint32_t d3)
{
	uint8_t d[16];
	put_le(d, addr, 8);
	put_le(d + 8, d2, 4);
	put_le(d + 12, d3, 4);
	physmem_write(f->mem, TX_RING + 16 * i, d, 16);
}

static void
tx_setup(struct fixture *f, unsigned n)
{
	wr(f, E1000_TDBAL, TX_RING);
	wr(f, E1000_TDBAH, 0);
	wr(f, E1000_TDLEN, n * 16);
	wr(f, E1000_TDH, 0);
	wr(f, E1000_TDT, 0);
	wr(f, E1000_TCTL, 0x2); /* EN */
	wr(f, E1000_IMS, 0x1);  /* TXDW */
}

/* Legacy descriptors (3.3.3): one frame over two buffers, DD written back on RS. */
static void
test_tx_legacy(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[100];
	for (unsigned k = 0; k < sizeof(pkt); k++)
		pkt[k] = (uint8_t)k;
	physmem_write(f->mem, BUF, pkt, sizeof(pkt));
	tx_setup(f, 8);
	txd(f, 0, BUF, 60 | 0x02u << 24, 0);                      /* IFCS */
	txd(f, 1, BUF + 60, 40 | (0x01u | 0x02 | 0x08) << 24, 0); /* EOP IFCS RS */
	wr(f, E1000_TDT, 2);
	assert_int_equal(f->nframes, 1);
	assert_int_equal(f->lens[0], 100);
	assert_memory_equal(f->frames[0], pkt, 100);
	assert_int_equal(rd(f, E1000_TDH), 2);
	uint8_t sta;
	physmem_read(f->mem, TX_RING + 16 + 12, &sta, 1);
	assert_int_equal(sta & 1, 1);
	assert_true(f->intx);
	assert_int_equal(rd(f, E1000_ICR) & 0x3, 0x3); /* TXDW, TXQE */
	assert_int_equal(rd(f, 0x40d4), 1);            /* TPT */
	assert_int_equal(rd(f, 0x40d4), 0);            /* cleared by the read */
	assert_int_equal(rd(f, 0x40c8), 104);          /* TOTL: with the FCS */
	/* the ring wraps */
	for (unsigned i = 2; i < 8; i++)
		txd(f, i, BUF, 60 | (0x01u | 0x08) << 24, 0);
	txd(f, 0, BUF, 60 | (0x01u | 0x08) << 24, 0);
	wr(f, E1000_TDT, 1);
	assert_int_equal(f->nframes, 8);
	assert_int_equal(rd(f, E1000_TDH), 1);
}

static uint16_t
sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* A TCP/IPv4 frame: Ethernet 14, IP 20, TCP 20, payload; checksums zero. */
static size_t
make_tcp(uint8_t *p, size_t payload)
{
	memset(p, 0, 54);
	memset(p, 0xaa, 6);
	memcpy(p + 6, MAC, 6);
	p[12] = 0x08;
	p[14] = 0x45;
	size_t iplen = 20 + 20 + payload;
	p[16] = (uint8_t)(iplen >> 8);
	p[17] = (uint8_t)iplen;
	p[18] = 0x12; /* identification 0x1234 */
	p[19] = 0x34;
	p[22] = 64;
	p[23] = 6;
	uint8_t src[4] = { 10, 0, 2, 15 }, dst[4] = { 10, 0, 2, 2 };
	memcpy(p + 26, src, 4);
	memcpy(p + 30, dst, 4);
	p[34] = 0x80; /* ports */
	p[37] = 80;
	p[38] = 0x01; /* sequence 0x01000000 */
	p[46] = 0x50; /* data offset 5 */
	p[47] = 0x19; /* FIN PSH ACK */
	p[48] = 0xff;
	for (size_t k = 0; k < payload; k++)
		p[54 + k] = (uint8_t)(k * 13);
	return 54 + payload;
}

/* Whether a TCP/IPv4 frame's IP and TCP checksums verify. */
static void
check_tcp_sums(const uint8_t *p, size_t len)
{
	assert_int_equal(sum16(p + 14, 20, 0), 0xffff);
	size_t l4 = len - 34;
	uint32_t pseudo = (uint32_t)(p[26] << 8 | p[27]) + (uint32_t)(p[28] << 8 | p[29]) +
			  (uint32_t)(p[30] << 8 | p[31]) + (uint32_t)(p[32] << 8 | p[33]) + 6 +
			  (uint32_t)l4;
	assert_int_equal(sum16(p + 34, l4, pseudo), 0xffff);
}

/* The pseudo-header sum software leaves in the TCP checksum field; with the
 * length for plain offload, without it for segmentation (3.5.x). */
static void
seed_pseudo(uint8_t *p, size_t l4len)
{
	uint32_t s = (uint32_t)(p[26] << 8 | p[27]) + (uint32_t)(p[28] << 8 | p[29]) +
		     (uint32_t)(p[30] << 8 | p[31]) + (uint32_t)(p[32] << 8 | p[33]) + 6 +
		     (uint32_t)l4len;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	p[50] = (uint8_t)(s >> 8);
	p[51] = (uint8_t)s;
}

/* Context + data descriptors (3.3.6-7): IP and TCP checksums inserted. */
static void
test_tx_checksum_offload(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[200];
	size_t len = make_tcp(pkt, 146);
	seed_pseudo(pkt, len - 34);
	physmem_write(f->mem, BUF, pkt, len);
	tx_setup(f, 8);
	/* context: IPCSS 14, IPCSO 24, IPCSE 33; TUCSS 34, TUCSO 50, TUCSE 0; TUCMD IP|TCP|DEXT */
	uint8_t c[16];
	put_le(c, 14u | 24u << 8 | 33u << 16, 4);
	put_le(c + 4, 34u | 50u << 8, 4);
	put_le(c + 8, (0x20u | 0x02 | 0x01) << 24, 4);
	put_le(c + 12, 0, 4);
	physmem_write(f->mem, TX_RING, c, 16);
	/* data: DTYP 1, DEXT EOP IFCS RS, POPTS IXSM|TXSM */
	txd(f, 1, BUF, (uint32_t)len | 1u << 20 | (0x20u | 0x01 | 0x02 | 0x08) << 24, 0x03u << 8);
	wr(f, E1000_TDT, 2);
	assert_int_equal(f->nframes, 1);
	assert_int_equal(f->lens[0], len);
	check_tcp_sums(f->frames[0], len);
}

/* TCP segmentation (3.5): 2500 bytes at MSS 1000 make three frames. */
static void
test_tx_tso(void **state)
{
	struct fixture *f = *state;
	static uint8_t pkt[3000];
	size_t len = make_tcp(pkt, 2500);
	pkt[16] = pkt[17] = 0; /* Linux zeroes the IP length; the pseudo sum has no length */
	seed_pseudo(pkt, 0);
	physmem_write(f->mem, BUF, pkt, len);
	tx_setup(f, 8);
	uint8_t c[16];
	put_le(c, 14u | 24u << 8 | 33u << 16, 4);
	put_le(c + 4, 34u | 50u << 8, 4);
	put_le(c + 8, 2500u | (0x20u | 0x04 | 0x02 | 0x01) << 24, 4); /* TSE IP TCP */
	put_le(c + 12, 54u << 8 | 1000u << 16, 4);                    /* HDRLEN, MSS */
	physmem_write(f->mem, TX_RING, c, 16);
	/* header and payload in separate buffers, as Linux maps them */
	txd(f, 1, BUF, 54u | 1u << 20 | (0x20u | 0x04 | 0x02) << 24, 0x03u << 8);
	txd(f, 2, BUF + 54, 2500u | 1u << 20 | (0x20u | 0x04 | 0x02 | 0x01 | 0x08) << 24,
	    0x03u << 8);
	wr(f, E1000_TDT, 3);
	assert_int_equal(f->nframes, 3);
	const size_t want[3] = { 1054, 1054, 554 };
	for (unsigned s = 0; s < 3; s++) {
		const uint8_t *p = f->frames[s];
		assert_int_equal(f->lens[s], want[s]);
		assert_int_equal(p[16] << 8 | p[17], want[s] - 14); /* IP total length */
		assert_int_equal(p[18] << 8 | p[19], 0x1234 + s);   /* identification */
		assert_int_equal(p[40] << 8 | p[41], 1000 * s);     /* sequence, low half */
		assert_int_equal(p[47], s == 2 ? 0x19 : 0x10);      /* FIN/PSH on the last */
		assert_memory_equal(p + 54, pkt + 54 + 1000 * s, want[s] - 54);
		check_tcp_sums(p, want[s]);
	}
	assert_int_equal(rd(f, 0x40f8), 1); /* TSCTC */
}

static void
rxd(struct fixture *f, unsigned i, uint64_t addr)
{
	uint8_t d[16] = { 0 };
	put_le(d, addr, 8);
	physmem_write(f->mem, RX_RING + 16 * i, d, 16);
}

static void
rx_setup(struct fixture *f, unsigned n, uint32_t rctl)
{
	for (unsigned i = 0; i < n; i++)
		rxd(f, i, RX_BUF + 4096 * i);
	wr(f, E1000_RDBAL, RX_RING);
	wr(f, E1000_RDLEN, n * 16);
	wr(f, E1000_RDH, 0);
	wr(f, E1000_RDT, n - 1);
	wr(f, E1000_IMS, 0x90); /* RXT0, RXDMT0 */
	wr(f, E1000_RCTL, rctl);
}

static size_t
make_frame(uint8_t *p, const uint8_t *dest, size_t len)
{
	memcpy(p, dest, 6);
	memset(p + 6, 0x02, 6);
	for (size_t k = 12; k < len; k++)
		p[k] = (uint8_t)(k ^ 0x5a);
	return len;
}

/* Legacy receive (3.2): FCS appended unless SECRC, short frames padded, DD/EOP. */
static void
test_rx_basic(void **state)
{
	struct fixture *f = *state;
	rx_setup(f, 8, 0x2 | 0x8000); /* EN, BAM, 2048-byte buffers, FCS kept */
	uint8_t fr[1600], d[16], got[1600];
	make_frame(fr, MAC, 100);
	assert_true(e1000_receive(&f->e, fr, 100));
	physmem_read(f->mem, RX_RING, d, 16);
	assert_int_equal(d[8] | d[9] << 8, 104); /* length with the FCS */
	assert_int_equal(d[12] & 0x03, 0x03);    /* DD EOP */
	physmem_read(f->mem, RX_BUF, got, 100);
	assert_memory_equal(got, fr, 100);
	assert_int_equal(rd(f, E1000_RDH), 1);
	assert_true(f->intx);
	assert_true(rd(f, E1000_ICR) & 0x80);
	/* a short broadcast: padded to 60 bytes, FCS stripped with SECRC */
	wr(f, E1000_RCTL, 0x2 | 0x8000 | 0x04000000);
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	make_frame(fr, bcast, 42);
	assert_true(e1000_receive(&f->e, fr, 42));
	physmem_read(f->mem, RX_RING + 16, d, 16);
	assert_int_equal(d[8] | d[9] << 8, 60);
	assert_int_equal(rd(f, 0x4078), 1); /* BPRC */
	assert_int_equal(rd(f, 0x40d0), 2); /* TPR */
}

/* Destination filtering: other stations' unicast only with UPE; multicast by the MTA. */
static void
test_rx_filter(void **state)
{
	struct fixture *f = *state;
	rx_setup(f, 8, 0x2);
	uint8_t fr[100];
	static const uint8_t other[6] = { 0x52, 0x54, 0, 0, 0, 1 };
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	make_frame(fr, other, 80);
	assert_true(e1000_receive(&f->e, fr, 80));
	make_frame(fr, bcast, 80);
	assert_true(e1000_receive(&f->e, fr, 80));
	make_frame(fr, mcast, 80);
	assert_true(e1000_receive(&f->e, fr, 80));
	assert_int_equal(rd(f, E1000_RDH), 0); /* none stored */
	/* MO = 00: hash = bits 47:36 of the address */
	unsigned hash = (mcast[4] >> 4 | mcast[5] << 4) & 0xfff;
	wr(f, E1000_MTA + 4 * (hash >> 5), 1u << (hash & 31));
	assert_true(e1000_receive(&f->e, fr, 80));
	assert_int_equal(rd(f, E1000_RDH), 1);
	wr(f, E1000_RCTL, 0x2 | 0x8);
	make_frame(fr, other, 80);
	assert_true(e1000_receive(&f->e, fr, 80));
	assert_int_equal(rd(f, E1000_RDH), 2);
	wr(f, E1000_RCTL, 0x0); /* receiver off: taken and dropped */
	assert_true(e1000_receive(&f->e, fr, 80));
	assert_int_equal(rd(f, E1000_RDH), 2);
}

/* Buffers of 256 bytes (BSIZE 11b): a frame spans descriptors; a full ring refuses. */
static void
test_rx_multi_and_full(void **state)
{
	struct fixture *f = *state;
	rx_setup(f, 8, 0x2 | 0x30000 | 0x04000000); /* EN, BSIZE 256, SECRC */
	uint8_t fr[600], d[16];
	make_frame(fr, MAC, 600);
	assert_true(e1000_receive(&f->e, fr, 600));
	for (unsigned i = 0; i < 3; i++) {
		physmem_read(f->mem, RX_RING + 16 * i, d, 16);
		assert_int_equal(d[8] | d[9] << 8, i < 2 ? 256 : 88);
		assert_int_equal(d[12] & 0x3, i < 2 ? 0x1 : 0x3);
	}
	assert_true(rd(f, E1000_ICR) & 0x10); /* RXDMT0: 4 of 8 left, RDMTS 1/2 */
	assert_false(rd(f, E1000_ICR) & 0x10);
	assert_true(e1000_receive(&f->e, fr, 600));
	assert_true(rd(f, E1000_ICR) & 0x10);        /* RXDMT0: 1 left */
	assert_false(e1000_receive(&f->e, fr, 600)); /* 1 left, 3 needed: no room */
	unsigned before = f->rx_ready;
	wr(f, E1000_RDT, 1); /* software gives descriptors back */
	assert_int_equal(f->rx_ready, before + 1);
	assert_true(e1000_receive(&f->e, fr, 100));
	/* without LPE a frame over 1522 bytes is dropped */
	static uint8_t big[2000];
	make_frame(big, MAC, 2000);
	assert_true(e1000_receive(&f->e, big, 2000));
	assert_int_equal(rd(f, 0x40ac), 1); /* ROC */
}

/* A hostile driver: rings and buffers outside RAM, huge lengths, indices past
 * the ring; nothing outside guest RAM is touched and nothing is sent. */
static void
test_hostile_rings(void **state)
{
	struct fixture *f = *state;
	uint8_t before[64], after[64];
	physmem_read(f->mem, RAM - 64, before, 64);
	/* receive ring at the top of RAM with the largest RDLEN */
	wr(f, E1000_RDBAL, RAM - 16);
	wr(f, E1000_RDBAH, 0);
	wr(f, E1000_RDLEN, 0xfffff);
	assert_int_equal(rd(f, E1000_RDLEN), 0xfff80);
	wr(f, E1000_RDH, 0);
	wr(f, E1000_RDT, 0xffff); /* past the ring: no room at all */
	wr(f, E1000_RCTL, 0x2);
	uint8_t fr[100];
	make_frame(fr, MAC, 100);
	assert_false(e1000_receive(&f->e, fr, 100));
	wr(f, E1000_RDT, 100);
	uint8_t d0[8];
	put_le(d0, RAM - 50, 8); /* buffer 0 runs past the end of RAM */
	physmem_write(f->mem, RAM - 16, d0, 8);
	physmem_read(f->mem, RAM - 64, before, 64);
	assert_true(e1000_receive(&f->e, fr, 100)); /* buffer 0 is not RAM: RXE */
	uint8_t st[2];
	physmem_read(f->mem, RAM - 4, st, 2);
	assert_int_equal(st[0] & 3, 3); /* DD EOP */
	assert_int_equal(st[1], 0x80);  /* RXE */
	before[60] = st[0];
	before[61] = st[1];
	before[56] = 104;                           /* the write-back's length */
	assert_true(e1000_receive(&f->e, fr, 100)); /* descriptor 1 is past RAM: lost */
	wr(f, E1000_RDBAH, 0xffffffff);
	assert_true(e1000_receive(&f->e, fr, 100));
	/* transmit: ring beyond RAM, indices beyond the ring, buffers beyond RAM */
	wr(f, E1000_TDBAL, 0xfff00000);
	wr(f, E1000_TDBAH, 0x12345678);
	wr(f, E1000_TDLEN, 0xfff80);
	wr(f, E1000_TCTL, 0x2);
	wr(f, E1000_TDT, 0xffff);
	assert_int_equal(f->nframes, 0);
	wr(f, E1000_TDBAL, TX_RING);
	wr(f, E1000_TDBAH, 0);
	wr(f, E1000_TDLEN, 128);
	wr(f, E1000_TDH, 500); /* past the 8-descriptor ring */
	wr(f, E1000_TDT, 3);
	assert_int_equal(f->nframes, 0);
	wr(f, E1000_TDH, 0);
	txd(f, 0, RAM - 10, 100 | (0x01u | 0x08) << 24, 0);                 /* crosses the end */
	txd(f, 1, 0xffffffffffffff00ull, 0xffff | (0x01u | 0x08) << 24, 0); /* wraps */
	txd(f, 2, BUF, 0xfffff | 1u << 20 | (0x20u | 0x01) << 24, 0);       /* 1 MiB - 1 */
	wr(f, E1000_TDT, 3);
	assert_int_equal(f->nframes, 0);
	assert_int_equal(rd(f, E1000_TDH), 3);
	/* many huge descriptors: each pass is bounded, a timer finishes the work */
	for (unsigned i = 0; i < 8; i++)
		txd(f, i, 0, 0xfffff | 1u << 20 | (0x20u | 0x01) << 24, 0);
	wr(f, E1000_TDT, 2);
	assert_true(vtimer_armed(&f->e.tx_timer));
	assert_int_equal(rd(f, E1000_TDH), 4); /* one 1 MiB descriptor per pass */
	for (unsigned k = 0; k < 10; k++) {
		f->icount += 1000000;
		vclock_run_expired(&f->clock);
	}
	assert_int_equal(rd(f, E1000_TDH), 2);
	physmem_read(f->mem, RAM - 64, after, 64);
	assert_memory_equal(before, after, 64);
	/* bus mastering off: no DMA at all */
	pci_config_write(&f->e.fn, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
	txd(f, 2, BUF, 60 | (0x01u | 0x08) << 24, 0);
	wr(f, E1000_TDT, 3);
	assert_int_equal(f->nframes, 0);
}

/* Save and restore: the register file, EEPROM and PHY come back. */
static void
test_save_restore(void **state)
{
	struct fixture *f = *state;
	wr(f, E1000_RCTL, 0x8002);
	wr(f, E1000_IMS, 0x80);
	mdic(f, 1, 1, 4, 0x0101);
	size_t n = e1000_save(&f->e, NULL, 0);
	uint8_t *buf = malloc(n);
	assert_int_equal(e1000_save(&f->e, buf, n), n);
	e1000_reset(&f->e);
	assert_int_equal(e1000_reg_read(&f->e, E1000_RCTL), 0);
	assert_int_equal(pci_config_read(&f->e.fn, PCI_BAR0, 4), 0); /* unplaced */
	assert_int_equal(e1000_restore(&f->e, buf, n - 1), -1);
	assert_int_equal(e1000_restore(&f->e, buf, n), 0);
	assert_int_equal(rd(f, E1000_RCTL), 0x8002);
	assert_int_equal(rd(f, E1000_IMS), 0x80);
	assert_int_equal(mdic(f, 2, 1, 4, 0) & 0xffff, 0x0101);
	assert_int_equal(rd(f, E1000_STATUS) & 3, 3);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_pci_header),
		T(test_status_and_io_window),
		T(test_eeprom_eerd_checksum),
		T(test_eeprom_microwire),
		T(test_phy),
		T(test_interrupts),
		T(test_ctrl_reset),
		T(test_tx_legacy),
		T(test_tx_checksum_offload),
		T(test_tx_tso),
		T(test_rx_basic),
		T(test_rx_filter),
		T(test_rx_multi_and_full),
		T(test_hostile_rings),
		T(test_save_restore),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
