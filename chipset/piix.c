/*
 * fugu — the PIIX south bridge: PCI-to-ISA bridge 00:01.0 and power
 * management 00:01.3. References are to the Intel 82371FB/82371SB (PIIX/PIIX3)
 * datasheet ("PIRQRC[A:D]", "RC—Reset Control Register", "Port 92") and the
 * Intel 82371AB (PIIX4) datasheet, sections 3.x for function 3's configuration
 * registers ("PMBA", "PMREGMISC") and 7.2 for the PM I/O registers ("PMSTS",
 * "PMEN", "PMCNTRL", "PMTMR"), with the ACPI 1.0 specification 4.7.3 for the
 * PM1 semantics (TMR_STS on a bit-23 change, SLP_TYP/SLP_EN).
 *
 * The PM timer is not ticked: its value is the virtual clock in 3.579545 MHz
 * ticks, modulo 2^24. A vtimer is armed for its next bit-23 transition only
 * while that transition would raise SCI.
 */
#include "chipset/piix.h"

#include <string.h>

#include "mmu/ioport.h"

/* PIIX3 "PIRQRC[A:D]": bit 7 IRQROUTEEN (1 = not routed), bits 3-0 the IRQ. */
#define PIRQRC 0x60
#define PIRQ_DISABLE 0x80
/* IRQs a PIRQ cannot be routed to: 0, 1, 2, 8, 13 are reserved encodings. */
#define PIRQ_RESERVED ((1u << 0) | (1u << 1) | (1u << 2) | (1u << 8) | (1u << 13))

#define PMBA 0x40
#define PMREGMISC 0x80
#define PMIOSE 0x01
#define SMBBA 0x90

#define PM1_STS_MASK                                                                               \
	(PM1_TMR_STS | PM1_BM_STS | PM1_GBL_STS | PM1_PWRBTN_STS | PM1_RTC_STS |                   \
	 PM1_PWRBTNOR_STS | PM1_WAK_STS)
#define PM1_EN_MASK (PM1_TMR_STS | PM1_GBL_STS | PM1_PWRBTN_STS | PM1_RTC_STS)
#define PM1_CNT_MASK 0x1c03 /* SCI_EN, BRLD_EN_BM, SUS_TYP; GBL_RLS and SUS_EN read 0 */
#define SLP_TYP_SOFF 0      /* PIIX4 PMCNTRL SUS_TYP 000b: soft off (ACPI S5 on this board) */
#define SLP_TYP_STR 1       /* SUS_TYP 001b: suspend to RAM (ACPI S3; SeaBIOS's \_S3 is 1) */

/* ---- the PCI-to-ISA bridge: PIRQ routing ---- */

/*
 * The ISA IRQ PIRQ n is routed to, or -1 (routing disabled or reserved IRQ).
 */
static int
pirq_route(const struct piix *p, unsigned n)
{
	uint8_t r = p->isa.st.config[PIRQRC + n];
	unsigned irq = r & 0x0f;
	if ((r & PIRQ_DISABLE) || (PIRQ_RESERVED >> irq & 1))
		return -1;
	return (int)irq;
}

/*
 * Drive each ISA IRQ that some asserted PIRQ is routed to; release the rest.
 * Several PIRQs may share an IRQ: the line is the OR of them (PCI interrupts
 * are level-triggered and shareable).
 */
static void
update_pirqs(struct piix *p)
{
	uint16_t want = 0;
	for (unsigned n = 0; n < 4; n++) {
		int irq = pirq_route(p, n);
		if (irq >= 0 && (p->st.pirq_level >> n & 1))
			want |= (uint16_t)(1u << irq);
	}
	uint16_t changed = want ^ p->irq_driven;
	p->irq_driven = want;
	for (unsigned irq = 0; irq < 16; irq++)
		if (changed >> irq & 1)
			irq_set(&p->board.isa_irq[irq], want >> irq & 1);
}

void
piix_set_pirq(struct piix *p, unsigned n, bool level)
{
	if (level)
		p->st.pirq_level |= (uint8_t)(1u << n);
	else
		p->st.pirq_level &= (uint8_t) ~(1u << n);
	update_pirqs(p);
}

static void
isa_config_write(struct pci_function *fn, unsigned reg, uint32_t value, unsigned size)
{
	pci_function_write_default(fn, reg, value, size);
	if (reg < PIRQRC + 4 && reg + size > PIRQRC)
		update_pirqs(fn->opaque);
}

static const struct pci_function_ops isa_ops = { isa_config_write, NULL };

/*
 * Function 0's registers at their PIIX3 defaults. Those software programs but
 * fugu does not act on (ISA clocks, top of memory, SMI, motherboard DMA and
 * IRQ routing) are plain storage.
 */
static void
setup_isa_config(struct pci_function *fn)
{
	static const struct {
		uint8_t reg, size;
		uint32_t dflt;
	} regs[] = {
		{ 0x4c, 1, 0x4d },       /* IORT: ISA I/O recovery timer */
		{ 0x4e, 2, 0x0003 },     /* XBCS: X-bus chip select */
		{ 0x69, 1, 0x02 },       /* TOM: top of memory */
		{ 0x6a, 2, 0x0000 },     /* MSTAT: miscellaneous status */
		{ 0x70, 1, 0x80 },       /* MBIRQ0: motherboard device IRQ route */
		{ 0x76, 2, 0x0404 },     /* MBDMA0-1 */
		{ 0x78, 2, 0x0002 },     /* PCSC: programmable chip select */
		{ 0xa0, 1, 0x08 },       /* SMICNTL */
		{ 0xa2, 2, 0x0000 },     /* SMIEN */
		{ 0xa4, 4, 0x00000000 }, /* SEE: system event enable */
		{ 0xa8, 1, 0x0f },       /* FTMR: fast off timer */
		{ 0xaa, 2, 0x0000 },     /* SMIREQ */
		{ 0xac, 1, 0x00 },       /* CTLTMR */
		{ 0xae, 1, 0x00 },       /* CTHTMR */
	};
	pci_set(fn, PCI_COMMAND, 0x0007, 2); /* IOSE, MSE, BME hardwired */
	pci_set(fn, PCI_STATUS, 0x0200, 2);  /* DEVSEL medium */
	for (size_t k = 0; k < sizeof(regs) / sizeof(regs[0]); k++) {
		pci_set(fn, regs[k].reg, regs[k].dflt, regs[k].size);
		pci_set_wmask(fn, regs[k].reg, 0xffffffffu, regs[k].size);
	}
	for (unsigned n = 0; n < 4; n++) {
		pci_set(fn, PIRQRC + n, PIRQ_DISABLE, 1);
		pci_set_wmask(fn, PIRQRC + n, 0x8f, 1);
	}
}

/* ---- port 0x92 and the reset control register ---- */

/*
 * Port 92h: bit 1 FAST_A20 gates A20 (ORed with the 8042's A20 by the
 * board), bit 0 FAST_INIT resets the processor on a 0-to-1 transition; the
 * other bits are reserved and read 0.
 */
static uint32_t
port92_read(void *opaque, uint16_t port, unsigned size)
{
	struct piix *p = opaque;
	(void)port;
	(void)size;
	return p->st.port92;
}

/*
 * APM control (0xB2) and status (0xB3) (PIIX4 datasheet, 7.4 "APMC/APMS"): both
 * read back what was written; a write to APMC raises SMI# when DEVACTB bit 25
 * (APMC_EN) of the power-management function is set.
 */
static uint32_t
apm_read(void *opaque, uint16_t port, unsigned size)
{
	struct piix *p = opaque;
	uint32_t v = port == 0xb2 ? p->st.apmc | (uint32_t)p->st.apms << 8 : p->st.apms;
	return size == 1 ? v & 0xff : v;
}

static void update_sci(struct piix *p);

static void
apm_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct piix *p = opaque;
	if (port == 0xb3) {
		p->st.apms = (uint8_t)value;
		return;
	}
	p->st.apmc = (uint8_t)value;
	if (size >= 2)
		p->st.apms = (uint8_t)(value >> 8);
	/* The FADT's SMI_CMD is this port, with ACPI_ENABLE F1h and ACPI_DISABLE F0h
	 * (the values SeaBIOS's tables give). On a real board the firmware's SMI
	 * handler sets or clears PM1_CNT.SCI_EN (ACPI 6.x, 4.8.2.5 / 16.3.1); the
	 * SeaBIOS that boots here has no such handler and relies on the board doing
	 * it, as QEMU's PIIX4 does: so the board does it and raises no SMI. */
	if ((uint8_t)value == 0xf1 || (uint8_t)value == 0xf0) {
		if ((uint8_t)value == 0xf1)
			p->st.pm1_cnt |= PM1_SCI_EN;
		else
			p->st.pm1_cnt &= (uint16_t)~PM1_SCI_EN;
		update_sci(p);
		return;
	}
	if (p->pm.st.config[0x5b] & 0x02)
		irq_pulse(&p->board.smi);
}

static void
port92_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct piix *p = opaque;
	uint8_t old = p->st.port92;
	(void)port;
	(void)size;
	p->st.port92 = (uint8_t)value & 0x03;
	irq_set(&p->board.a20, value & 2);
	if ((value & 1) && !(old & 1))
		irq_pulse(&p->board.reset);
}

/*
 * RC (0xCF9, byte access only): bit 1 SRST chooses a hard (1) or soft (0)
 * reset, bit 2 RCPU starts it. fugu resets the whole machine either way.
 * Only SRST reads back.
 */
static uint32_t
rc_read(void *opaque, uint16_t port, unsigned size)
{
	struct piix *p = opaque;
	(void)port;
	return size == 1 ? p->st.rc : 0xffffffffu >> (32 - 8 * size);
}

static void
rc_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct piix *p = opaque;
	(void)port;
	if (size != 1)
		return;
	p->st.rc = (uint8_t)value & 0x02;
	if (value & 0x04)
		irq_pulse(&p->board.reset);
}

/* ---- power management: PM1 registers, PM timer, SCI ---- */

static uint64_t
pm_ticks(const struct piix *p)
{
	return (uint64_t)((unsigned __int128)vclock_now(p->clock) * PIIX_PM_HZ / 1000000000u);
}

uint32_t
piix_pm_timer(const struct piix *p)
{
	return (uint32_t)(pm_ticks(p) & 0xffffff);
}

/* PMSTS as read: TMR_STS is set once bit 23 of the timer has changed since it was cleared. */
static uint16_t
pm1_sts(const struct piix *p)
{
	uint16_t sts = p->st.pm1_sts;
	if (pm_ticks(p) >> 23 != p->st.tmr_base >> 23)
		sts |= PM1_TMR_STS;
	return sts;
}

/*
 * SCI (level, IRQ 9): an enabled PM1 event while SCI_EN routes events to SCI
 * rather than SMI (SMI is not modelled, XXX). Arm the timer for the next
 * TMR_STS if that is what would raise SCI next.
 */
static void
update_sci(struct piix *p)
{
	uint16_t sts = pm1_sts(p);
	bool sci_en = p->st.pm1_cnt & PM1_SCI_EN;
	bool level = sci_en && (sts & p->st.pm1_en & PM1_EN_MASK);
	if (level != p->sci) {
		p->sci = level;
		irq_set(&p->board.sci, level);
	}
	if (sci_en && (p->st.pm1_en & PM1_TMR_STS) && !(sts & PM1_TMR_STS)) {
		uint64_t edge = ((p->st.tmr_base >> 23) + 1) << 23;
		vtimer_arm(&p->tmr_timer,
			   (uint64_t)(((unsigned __int128)edge * 1000000000u + PIIX_PM_HZ - 1) /
				      PIIX_PM_HZ));
	} else {
		vtimer_disarm(&p->tmr_timer);
	}
}

/* The power button was pressed (QEMU's system_powerdown): PM1_STS.PWRBTN_STS,
 * an SCI when PM1_EN.PWRBTN_EN and SCI_EN allow it (ACPI 6.x, 4.8.2.2.1.1). */
void
piix_power_button(struct piix *p)
{
	p->st.pm1_sts |= PM1_PWRBTN_STS;
	update_sci(p);
}

/*
 * The GPE0 block SeaBIOS's FADT names (QEMU's, at 0xAFE0, 4 bytes): GPE0_STS
 * (2 bytes, write 1 to clear) then GPE0_EN (ACPI 1.0, 4.7.1.1, 4.7.1.6). No
 * event sets a status bit here (no PCI hotplug, no other GPE source), so the
 * status reads 0 and no GPE raises SCI; the enables are kept. Without the
 * block the ports read all ones, and an OS finding every status bit set runs
 * the GPE handlers: SeaBIOS's _E01 (PCI hotplug) then ejects the devices.
 */
static uint32_t
gpe_read(void *opaque, uint16_t port, unsigned size)
{
	struct piix *p = opaque;
	unsigned off = (unsigned)(port - PIIX_GPE0_BLK);
	(void)size;
	return off >= 2 ? (uint8_t)(p->st.gpe0_en >> (8 * (off - 2))) : 0;
}

static void
gpe_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct piix *p = opaque;
	unsigned off = (unsigned)(port - PIIX_GPE0_BLK);
	(void)size;
	if (off < 2)
		return; /* write 1 to clear: nothing is ever set */
	unsigned shift = 8 * (off - 2);
	p->st.gpe0_en = (uint16_t)((p->st.gpe0_en & ~(0xffu << shift)) | (value & 0xff) << shift);
}

static void
tmr_timer_fired(void *opaque)
{
	update_sci(opaque);
}

/* One byte of the PM I/O space as read. */
static uint8_t
pm_byte(const struct piix *p, unsigned off, uint32_t timer)
{
	switch (off) {
	case 0x00:
	case 0x01: return (uint8_t)(pm1_sts(p) >> (8 * (off & 1)));
	case 0x02:
	case 0x03: return (uint8_t)(p->st.pm1_en >> (8 * (off & 1)));
	case 0x04:
	case 0x05: return (uint8_t)(p->st.pm1_cnt >> (8 * (off & 1)));
	case 0x08:
	case 0x09:
	case 0x0a:
	case 0x0b: /* PMTMR: 24 bits, the rest read 0 */ return (uint8_t)(timer >> (8 * (off & 3)));
	default: return p->st.pm_regs[off];
	}
}

static uint32_t
pm_read(void *opaque, uint16_t port, unsigned size)
{
	struct piix *p = opaque;
	unsigned off = (uint16_t)(port - p->pm_base);
	uint32_t timer = piix_pm_timer(p), v = 0;
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)(off + i < PIIX_PM_IO_SIZE ? pm_byte(p, off + i, timer) : 0xff)
		     << (8 * i);
	return v;
}

/*
 * PMCNTRL written: keep SCI_EN, BRLD_EN_BM, SUS_TYP; SUS_EN (SLP_EN) starts
 * the sleep state in SUS_TYP: soft off powers the machine off, suspend to RAM
 * suspends the board until a wake event. The other states (POS, POSCL, the
 * clock-control working state) are ignored: XXX.
 */
static void
pm1_cnt_write(struct piix *p, uint16_t v)
{
	p->st.pm1_cnt = v & PM1_CNT_MASK;
	if (!(v & PM1_SLP_EN))
		return;
	unsigned typ = v >> PM1_SLP_TYP_SHIFT & 7;
	if (typ == SLP_TYP_SOFF)
		irq_pulse(&p->board.poweroff);
	else if (typ == SLP_TYP_STR)
		irq_pulse(&p->board.suspend);
}

bool
piix_rtc_wake_enabled(const struct piix *p)
{
	return (p->st.pm1_en & PM1_RTC_STS) != 0;
}

void
piix_woke(struct piix *p, bool by_rtc)
{
	p->st.pm1_sts |= PM1_WAK_STS | (by_rtc ? PM1_RTC_STS : PM1_PWRBTN_STS);
	update_sci(p);
}

static void
pm_write(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	struct piix *p = opaque;
	unsigned off = (uint16_t)(port - p->pm_base);
	uint8_t bytes[PIIX_PM_IO_SIZE + 4] = { 0 }, written[PIIX_PM_IO_SIZE + 4] = { 0 };
	for (unsigned i = 0; i < size && off + i < PIIX_PM_IO_SIZE; i++) {
		bytes[off + i] = (uint8_t)(value >> (8 * i));
		written[off + i] = 1;
	}
	/* Each register sees the bytes written to it, merged with its old value. */
	if (written[0] || written[1]) { /* PMSTS: write 1 to clear */
		uint16_t clr =
			(uint16_t)((written[0] ? bytes[0] : 0) | (written[1] ? bytes[1] : 0) << 8);
		if (clr & PM1_TMR_STS)
			p->st.tmr_base = pm_ticks(p);
		p->st.pm1_sts &= (uint16_t) ~(clr & PM1_STS_MASK);
	}
	if (written[2] || written[3]) {
		uint16_t v = p->st.pm1_en;
		v = written[2] ? (uint16_t)((v & 0xff00) | bytes[2]) : v;
		v = written[3] ? (uint16_t)((v & 0x00ff) | bytes[3] << 8) : v;
		p->st.pm1_en = v & PM1_EN_MASK;
	}
	if (written[4] || written[5]) {
		uint16_t v = p->st.pm1_cnt;
		v = written[4] ? (uint16_t)((v & 0xff00) | bytes[4]) : v;
		v = written[5] ? (uint16_t)((v & 0x00ff) | bytes[5] << 8) : v;
		pm1_cnt_write(p, v);
	}
	for (unsigned r = 0x06; r < PIIX_PM_IO_SIZE; r++)
		if (written[r] && (r < 0x08 || r > 0x0b)) /* PMTMR is read-only */
			p->st.pm_regs[r] = bytes[r];
	update_sci(p);
}

/*
 * PMBA moved or PMIOSE changed: move the 64-byte PM I/O space.
 */
static void
pm_bar_update(struct pci_function *fn, unsigned bar, uint32_t addr, bool mapped)
{
	struct piix *p = fn->opaque;
	(void)bar;
	if (p->pm_mapped)
		ioports_unmap(p->io, p->pm_base, PIIX_PM_IO_SIZE, "piix4-pm", p);
	p->pm_mapped = mapped;
	p->pm_base = (uint16_t)addr;
	if (mapped)
		ioports_map(p->io, p->pm_base, PIIX_PM_IO_SIZE, "piix4-pm", pm_read, pm_write, p,
			    0);
}

static const struct pci_function_ops pm_ops = { NULL, pm_bar_update };

/*
 * Function 3's registers at their PIIX4 defaults: PMBA (I/O, 64 bytes,
 * enabled by PMREGMISC.PMIOSE rather than the command register), the SCI on
 * INTA# in the header (the board wires it to IRQ 9), SMBus base and host
 * configuration as storage (no SMBus controller yet, XXX), the device
 * monitoring registers as storage.
 */
static void
setup_pm_config(struct pci_function *fn)
{
	pci_set(fn, PCI_STATUS, 0x0280, 2);
	pci_set_wmask(fn, PCI_COMMAND, PCI_COMMAND_IO, 2); /* IOSE: the SMBus space */
	pci_set_wmask(fn, PCI_INTERRUPT_LINE, 0xff, 1);
	pci_set(fn, PCI_INTERRUPT_PIN, 0x01, 1);
	pci_function_add_bar_enable(fn, 0, PMBA, PCI_BAR_IO, PIIX_PM_IO_SIZE, PMREGMISC, PMIOSE);
	for (unsigned r = 0x44; r < 0x80; r++)
		pci_set_wmask(fn, r, 0xff, 1); /* CNTA, CNTB, GPICTL, DEVRESx, DEVACTx */
	/* DEVACTB (58h) bit 25, APMC_EN: SMI on a write to the APM control port
	 * 0xB2 (PIIX4 datasheet, 7.2.x DEVACTB); clear at power-on. */
	pci_set_wmask(fn, PMREGMISC, PMIOSE, 1);
	pci_set(fn, SMBBA, 0x00000001, 4);
	pci_set_wmask(fn, SMBBA, 0x0000fff0, 4);
	for (unsigned r = 0xd2; r <= 0xd6; r++)
		pci_set_wmask(fn, r, 0xff, 1); /* SMBHSTCFG, SMBSLVC, SMBSHDW1-2, SMBREV */
}

int
piix_init(struct piix *p, struct pci_bus *bus, struct ioports *io, struct vclock *clock,
	  const struct piix_board *board)
{
	memset(p, 0, sizeof(*p));
	p->io = io;
	p->clock = clock;
	p->board = *board;
	vtimer_init(&p->tmr_timer, clock, "pm-timer", tmr_timer_fired, p);
	pci_function_init(&p->isa, 0x8086, 0x7000, 0x00, 0x060100, &isa_ops, p);
	setup_isa_config(&p->isa);
	pci_function_init(&p->pm, 0x8086, 0x7113, 0x03, 0x068000, &pm_ops, p);
	setup_pm_config(&p->pm);
	if (ioports_register(io, 0x92, 1, "port92", port92_read, port92_write, p, 0) ||
	    ioports_register(io, 0xb2, 2, "piix-apm", apm_read, apm_write, p, 0) ||
	    ioports_register(io, 0xcf9, 1, "piix-rc", rc_read, rc_write, p, 0) ||
	    ioports_register(io, PIIX_GPE0_BLK, 4, "piix-gpe0", gpe_read, gpe_write, p,
			     IOPORT_BYTE_WIDE) ||
	    pci_bus_add(bus, &p->isa, 1, 0) < 0 || pci_bus_add(bus, &p->pm, 1, 3) < 0)
		return -1;
	/* 00:01.1 (IDE) and 00:01.2 (USB) belong to their own devices. */
	piix_reset(p);
	return 0;
}

/*
 * Power-on: PIRQs unrouted, port 0x92 and RC 0, PM I/O space unmapped, PM1
 * registers 0 (the timer keeps counting: it is the virtual clock).
 */
void
piix_reset(struct piix *p)
{
	uint8_t pirq_level = p->st.pirq_level; /* the PCI devices' lines, not ours */
	memset(&p->st, 0, sizeof(p->st));
	p->st.pirq_level = pirq_level;
	p->st.tmr_base = pm_ticks(p);
	pci_function_reset(&p->isa);
	pci_function_reset(&p->pm);
	update_pirqs(p);
	update_sci(p);
	irq_lower(&p->board.a20);
}

size_t
piix_save(const struct piix *p, void *buf, size_t len)
{
	size_t need = sizeof(p->st) + 2 * sizeof(p->isa.st);
	if (len < need)
		return need;
	uint8_t *b = buf;
	memcpy(b, &p->st, sizeof(p->st));
	memcpy(b + sizeof(p->st), &p->isa.st, sizeof(p->isa.st));
	memcpy(b + sizeof(p->st) + sizeof(p->isa.st), &p->pm.st, sizeof(p->pm.st));
	return need;
}

/* Nothing in struct piix_state indexes: the PM registers are reached by port
 * offset, not by a saved index; the rest are register values the guest can write. */
int
piix_check(const struct piix *p, const void *buf, size_t len, char *err, size_t errlen)
{
	(void)p;
	(void)buf;
	(void)len;
	(void)err;
	(void)errlen;
	return 0;
}

int
piix_restore(struct piix *p, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	size_t fn = sizeof(p->isa.st);
	if (len != sizeof(p->st) + 2 * fn)
		return -1;
	memcpy(&p->st, b, sizeof(p->st));
	if (pci_function_restore(&p->isa, b + sizeof(p->st), fn) < 0 ||
	    pci_function_restore(&p->pm, b + sizeof(p->st) + fn, fn) < 0)
		return -1;
	update_pirqs(p);
	update_sci(p);
	irq_set(&p->board.a20, p->st.port92 & 2);
	return 0;
}
