/*
 * fugu — the board: creates the address space, the port space, the clock, the
 * CPU and the devices, and wires them (ports, IRQ lines, A20, reset).
 */
#ifndef FUGU_PC_H
#define FUGU_PC_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "chipset/debugport.h"
#include "chipset/e1000.h"
#include "chipset/fwcfg.h"
#include "chipset/hpet.h"
#include "chipset/i440fx.h"
#include "chipset/ide.h"
#include "chipset/ioapic.h"
#include "chipset/kbc.h"
#include "chipset/lapic.h"
#include "chipset/netdev.h"
#include "chipset/pci.h"
#include "chipset/pcitestdev.h"
#include "chipset/pic.h"
#include "chipset/piix.h"
#include "chipset/pit.h"
#include "chipset/rtc.h"
#include "chipset/testdev.h"
#include "chipset/timer.h"
#include "chipset/uart.h"
#include "chipset/vga.h"
#include "cpu/cpuid.h"

struct cpu;
struct physmem;
struct ioports;
struct tracer;

#define PC_MAX_CPUS APIC_BUS_MAX

struct pc_config {
	uint64_t ram_size;
	unsigned ncpus;    /* -smp: CPUs present (0: 1) */
	unsigned max_cpus; /* -smp maxcpus: what fw_cfg reports as possible (0: ncpus) */
	const char *bios_path;
	struct cpu_features cpu;
	FILE *debugcon;     /* NULL: none */
	const char *serial; /* COM1 backend: stdio, file:PATH, none (NULL: none) */
	bool exit_device;
	uint16_t exit_iobase;
	uint8_t exit_iosize;
	bool exit_also_qemu_default; /* also claim 0x501-0x502, QEMU's default iobase */
	enum vclock_mode clock_mode;
	struct tracer *tracer; /* NULL: tracing off */
	bool count_insns;      /* -stats: count retired instructions by id (cpu/tcache.h) */
	int jit;               /* -jit: enum jit_mode (cpu/jit/jit.h) */
	const char *kernel;    /* -kernel: direct boot through fw_cfg (NULL: none) */
	const char *initrd;    /* -initrd: QEMU's "FILE[ ARGS][,FILE...]" (NULL: none) */
	const char *append;    /* -append: the kernel command line (NULL: empty) */
	struct pc_drive {
		const char *path; /* raw image; NULL: no drive */
		bool readonly;    /* readonly=on: the drive refuses writes */
		bool cdrom;       /* an ATAPI CD-ROM (-cdrom, media=cdrom) */
	} drive[4];               /* IDE primary master/slave, secondary master/slave */
	bool snapshot;            /* -snapshot: disk writes stay in memory */
	bool vga;                 /* -vga std: the PCI VGA at 00:02.0 */
	const char *vga_rom_path; /* its option ROM; NULL: VGA_ROM_DEFAULT_PATH */
	bool testdev;             /* -device pc-testdev: QEMU's ISA test device */
	bool pci_testdev;         /* -device pci-testdev: QEMU's PCI test device */
	bool no_hpet;             /* -no-hpet / -machine hpet=off: leave the HPET out */
	const char *boot_order;   /* -boot: QEMU's drive letters (a, c, d, n); NULL: none */
	struct net_config net;    /* -nic/-netdev/-device e1000: the e1000 at 00:03.0 */
};

struct pc {
	struct physmem *mem;
	struct ioports *io;
	struct vclock clock;
	struct cpu *cpu;               /* the bootstrap processor, cpus[0] */
	struct cpu *cpus[PC_MAX_CPUS]; /* every CPU; cpus[k] has APIC ID k */
	unsigned ncpus, max_cpus;
	unsigned cur;                          /* the CPU executing now (pc_switch_cpu) */
	struct lapic lapics[PC_MAX_CPUS];      /* each CPU's local APIC, on the bus below */
	struct vtimer vmx_timers[PC_MAX_CPUS]; /* each CPU's VMX-preemption timer (vmx only) */
	struct debugport debug;
	struct pic pic;               /* 8259A pair + ELCR */
	struct pit pit;               /* 8254 + port 0x61 */
	struct rtc rtc;               /* MC146818 + CMOS */
	struct uart com[4];           /* 16550A COM1-COM4 */
	struct apic_bus apics;        /* the APIC bus joining lapics[] (the "lapic" row) */
	struct ioapic ioapic;         /* 82093AA at 0xFEC00000 */
	struct fwcfg fwcfg;           /* QEMU fw_cfg at 0x510 */
	struct pci_bus pci;           /* bus 0, configuration mechanism #1 */
	struct i440fx i440fx;         /* 00:00.0 host bridge: PAM, SMRAM */
	struct piix piix;             /* 00:01.0 ISA bridge, 0x92, 0xCF9; 00:01.3 PM */
	struct kbc kbc;               /* 8042 + PS/2 keyboard and mouse */
	struct ide ide;               /* 00:01.1 PIIX3 IDE: ATA disks on IRQ 14 and 15 */
	struct vga vga;               /* 00:02.0 stdvga, when vga_enabled */
	struct testdev testdev;       /* QEMU's pc-testdev, with -device pc-testdev */
	struct pcitestdev pcitestdev; /* QEMU's pci-testdev, with -device pci-testdev */
	struct hpet hpet;             /* HPET at 0xfed00000 (unless -no-hpet) */
	bool hpet_legacy;             /* HPET legacy replacement: the PIT and RTC lose IRQ0/IRQ8 */
	bool vga_enabled;
	struct e1000 e1000;       /* 00:03.0 82540EM, when cfg->net.nic */
	struct netdev *net;       /* its libslirp network (NULL: unconnected) */
	uint8_t a20_sources;      /* PC_A20_*: A20 is enabled while any is set */
	bool reset_requested;     /* a guest reset (8042, 0x92, 0xCF9): the run loop resets */
	bool poweroff_requested;  /* ACPI soft off: the run loop exits with status 0 */
	uint16_t irq_sources[16]; /* ISA IRQ lines: one bit per device driving each high */
	uint8_t gsi_sources[8];   /* IOAPIC pins 16-23: one bit per device driving each high */
	uint32_t live;            /* bit i: row i of pc_devices was created */
	bool ferr, ignne;         /* the x87's FERR#, and IGNNE# from a write to port F0 (pc.c) */
	bool restoring;           /* between pc_restore_begin and pc_restore_end */
	bool suspend_requested;   /* SLP_EN with suspend to RAM: the run loop suspends */
	bool suspended;           /* in ACPI S3: no CPU runs; RAM, CMOS and timers go on */
	uint8_t wake;             /* enum pc_wake: what asked to wake the suspended board */
	struct tracer *tracer;
};

/*
 * One row per device of the board: pc_create, pc_reset and pc_destroy walk
 * this table, and save/restore will (a section per row, by name and version).
 */
struct pc_device {
	const char *name; /* the device's section name, unique */
	unsigned version; /* of its saved state; 0: nothing to save */
	size_t offset;    /* where the device lives in struct pc */
	int (*create)(struct pc *pc, void *dev, const struct pc_config *cfg, char *err,
		      size_t errlen); /* 0 made, 1 left out by cfg, -1 error (in err) */
	void (*reset)(void *dev);
	void (*destroy)(void *dev); /* NULL: nothing to free */
	/* The device's state: the size needed (copied when len allows); restore
	 * returns -1 and changes nothing unless len is that size. NULL: none. */
	size_t (*save)(const void *dev, void *buf, size_t len);
	int (*restore)(void *dev, const void *buf, size_t len);
	/* Whether a saved record (a file's bytes, len the size save gives) holds
	 * only values the device can hold (chipset/state.h): 0, or -1 with the
	 * field and its value in err. machine_load asks before loading anything. */
	int (*check)(const void *dev, const void *buf, size_t len, char *err, size_t errlen);
};
extern const struct pc_device pc_devices[];
extern const size_t pc_ndevices;
/* Row i's device in pc, or NULL when it was not created. */
void *pc_device(struct pc *pc, size_t i);

/* The board's own wiring state in a snapshot (section "board"): the wired-OR
 * lines and gates whose sources are devices. */
struct pc_board_saved {
	uint16_t irq_sources[16];
	uint8_t a20_sources;
	uint8_t reset_requested, poweroff_requested;
	uint8_t ferr, ignne;
	uint8_t cur; /* the CPU executing (pc_switch_cpu) */
	uint8_t suspended;
	uint8_t hpet_legacy;
	uint8_t gsi_sources[8];
};
void pc_board_save(const struct pc *pc, struct pc_board_saved *s);
/* Restoring: pc_restore_begin, every device's restore, pc_restore_end (pc.c). */
void pc_restore_begin(struct pc *pc, const struct pc_board_saved *s);
void pc_restore_end(struct pc *pc);

/* Build the machine; returns NULL with a one-line message in err. */
struct pc *pc_create(const struct pc_config *cfg, char *err, size_t errlen);
void pc_destroy(struct pc *pc);
/* Who holds A20 enabled (pc->a20_sources). */
#define PC_A20_KBC 0x01    /* 8042 output port bit 1 */
#define PC_A20_PORT92 0x02 /* port 0x92 bit 1 */

/* A system reset: the CPU and every device return to their power-on state. */
/* ACPI S3 (docs/ARCHITECTURE.md, "Sleep states"): what wakes the board. */
enum pc_wake { PC_WAKE_NONE, PC_WAKE_RTC, PC_WAKE_BUTTON };
/* The run loop: suspend the board (pc->suspend_requested), and wake it (a
 * reset that keeps RAM and CMOS; the firmware's resume path follows). */
void pc_suspend(struct pc *pc);
void pc_wakeup(struct pc *pc);
/* The power button (the monitor's system_powerdown): an ACPI event, or the
 * wake event of a suspended board. */
void pc_power_button(struct pc *pc);
void pc_reset(struct pc *pc);
/* CPU k runs next: the xAPIC page, SMRAM visibility, the deterministic clock
 * and the tracer's CPU follow it. */
void pc_switch_cpu(struct pc *pc, unsigned k);
/* The CPU executing now. */
static inline struct cpu *
pc_cur_cpu(const struct pc *pc)
{
	return pc->cpus[pc->cur];
}
/* Host I/O (serial input, output flush); called by the run loop at a bounded rate. */
bool pc_poll_host(struct pc *pc);
/* The host descriptors whose input should wake an idle guest (up to max, in
 * pfd), and the host time in ns from now by which pc_poll_host wants to run
 * again, lowered in *within_ns. */
unsigned pc_wait_fds(struct pc *pc, struct pollfd *pfd, unsigned max, uint64_t *within_ns);

#endif
