/*
 * Fuzz harness: snapshot files fed to the restore path (machine_load,
 * chipset/snapshot.c, docs/SNAPSHOT.md). A small board (4 MiB of RAM, two
 * CPUs, deterministic clock, a 4 KiB ROM whose code counts in RAM and writes
 * port 0x80 forever) is built once; its PIT and RTC are programmed, it runs a
 * little, and machine_save writes a real snapshot of it: the seed (with
 * FUGU_FUZZ_SNAPSHOT_SEED=DIR it is also written to DIR/seed-smp2, which is
 * how the corpus seed was made). Each input is a snapshot file: its file and
 * section CRC-32s are fixed up first (as fuzz_gdbstub fixes checksums), so
 * mutations reach the section parsers and the devices' restore. The file must
 * be refused with a message, or restored to a machine whose devices answer
 * a read of each of their indexed ports (guest_reads) and that then runs a
 * bounded number of instructions (both CPUs, timers firing, the clock skipped
 * to the next deadline when both are halted, as the run loop does) without a
 * crash, a sanitizer report or a hang.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "chipset/pc.h"
#include "chipset/snapshot.h"
#include "cpu/cpu.h"
#include "mmu/ioport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char bios_path[64], snap_path[64];
static struct pc *pc;

static void
cleanup(void)
{
	unlink(bios_path);
	unlink(snap_path);
}

/* Real mode from the reset vector: DS = 0x1000; again: INC WORD [0x10];
 * OUT 0x80, AL; then CR4.OSFXSR set and one SSE instruction (ADDPS runs on
 * the host with the guest's MXCSR: a restored MXCSR reserved bit faulted the
 * host there); JMP again. The first 12 bytes are the older ROM's, so a saved
 * RIP in the loop of an older seed still lands on an instruction. */
static const uint8_t rom_code[] = {
	0xb8, 0x00, 0x10,       /* mov ax, 0x1000 */
	0x8e, 0xd8,             /* mov ds, ax */
	0xff, 0x06, 0x10, 0x00, /* again: inc word [0x10] */
	0xe6, 0x80,             /* out 0x80, al */
	0xeb, 0x00,             /* jmp sse */
	0x0f, 0x20, 0xe0,       /* sse: mov eax, cr4 */
	0x80, 0xcc, 0x02,       /* or ah, 2 (OSFXSR) */
	0x0f, 0x22, 0xe0,       /* mov cr4, eax */
	0x0f, 0x58, 0xc0,       /* addps xmm0, xmm0 */
	0xeb, 0xea,             /* jmp again */
};

/* Whether no CPU has work: the frontend's run loop then skips the
 * deterministic clock to the next deadline (frontend/main.c, any_runnable). */
static bool
all_idle(void)
{
	if (pc->suspended)
		return true;
	for (unsigned k = 0; k < pc->ncpus; k++)
		if (cpu_runnable(pc->cpus[k]))
			return false;
	return true;
}

static void
run(unsigned slices)
{
	for (unsigned k = 0; k < slices; k++) {
		pc_switch_cpu(pc, k % pc->ncpus);
		(void)cpu_exec(pc_cur_cpu(pc), 1000);
		if (all_idle() && vclock_next_deadline(&pc->clock) != VCLOCK_NEVER)
			vclock_skip_to(&pc->clock, vclock_next_deadline(&pc->clock));
		vclock_run_expired(&pc->clock);
		if (pc->reset_requested)
			pc_reset(pc);
	}
	pc_switch_cpu(pc, 0);
}

/*
 * After a restore, one access to each port that goes through a saved index,
 * queue or position, as a guest's next access would: the RTC's banks, the
 * PIT's counters (latched bytes), the 8259s (IRR/ISR/poll), the 8042's output
 * buffer (the PS/2 queues), the UARTs' receive buffers (the FIFO), PCI
 * configuration data (CONFIG_ADDRESS), the IDE data ports and fw_cfg's data
 * port. A saved value out of the device's range shows here as a sanitizer
 * report (chipset/state.h).
 */
static void
guest_reads(void)
{
	static const uint16_t ports[] = { 0x71, 0x73,  0x40,  0x41,  0x42,  0x20,  0xa0, 0x60,
					  0x64, 0x3f8, 0x2f8, 0x3e8, 0x2e8, 0xcfc, 0x511 };
	for (size_t k = 0; k < sizeof(ports) / sizeof(ports[0]); k++)
		(void)ioport_read(pc->io, ports[k], 1);
	(void)ioport_read(pc->io, 0x1f0, 2);
	(void)ioport_read(pc->io, 0x170, 2);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	strcpy(bios_path, "/tmp/fugu-fuzz-snapbios-XXXXXX");
	strcpy(snap_path, "/tmp/fugu-fuzz-snap-XXXXXX");
	int fd = mkstemp(bios_path), sfd = mkstemp(snap_path);
	if (fd < 0 || sfd < 0)
		abort();
	close(sfd);
	atexit(cleanup);
	static uint8_t rom[4096];
	memcpy(rom + 0xf00, rom_code, sizeof(rom_code));
	rom[0xff0] = 0xe9; /* reset vector: JMP NEAR 0xff00 */
	rom[0xff1] = 0x0d;
	rom[0xff2] = 0xff;
	if (write(fd, rom, sizeof(rom)) != (ssize_t)sizeof(rom))
		abort();
	close(fd);
	struct pc_config cfg = { .ram_size = 4u << 20,
				 .ncpus = 2,
				 .bios_path = bios_path,
				 .clock_mode = VCLOCK_DETERMINISTIC };
	char err[256];
	if (cpu_features_parse(&cfg.cpu, "max", err, sizeof(err)) ||
	    !(pc = pc_create(&cfg, err, sizeof(err)))) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	/* PIT channel 0 in mode 2, the RTC's periodic interrupt, the PIC set up:
	 * timers armed in the saved state. */
	static const uint16_t prog[][2] = {
		{ 0x20, 0x11 }, { 0x21, 0x08 }, { 0x21, 0x04 }, { 0x21, 0x01 }, { 0x21, 0xfe },
		{ 0x43, 0x34 }, { 0x40, 0x00 }, { 0x40, 0x10 }, { 0x70, 0x0b }, { 0x71, 0x42 },
	};
	for (size_t k = 0; k < sizeof(prog) / sizeof(prog[0]); k++)
		ioport_write(pc->io, prog[k][0], prog[k][1], 1);
	run(8);
	if (machine_save(pc, snap_path, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	const char *dir = getenv("FUGU_FUZZ_SNAPSHOT_SEED");
	if (dir) {
		char cmd[512];
		snprintf(cmd, sizeof(cmd), "cp %s %s/seed-smp2", snap_path, dir);
		if (system(cmd) != 0)
			abort();
	}
	return 0;
}

static uint32_t
crc(const uint8_t *p, size_t n)
{
	return (uint32_t)crc32(0, p, (uInt)n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *f = malloc(size ? size : 1);
	memcpy(f, data, size);
	/* Fix the CRCs up: the file header's (offset 28), then each section's
	 * (offset 40 of its 48-byte header, over the header and its payload). */
	if (size >= 32) {
		memset(f + 28, 0, 4);
		uint32_t c = crc(f, 32);
		memcpy(f + 28, &c, 4);
		size_t off = 32;
		while (size - off >= 48) {
			uint8_t *h = f + off;
			uint64_t len;
			memcpy(&len, h + 24, 8);
			if (len > size - off - 48)
				break;
			memset(h + 40, 0, 4);
			uLong s = crc32(0, h, 48);
			s = crc32(s, h + 48, (uInt)len);
			c = (uint32_t)s;
			memcpy(h + 40, &c, 4);
			off += 48 + len;
		}
	}
	FILE *o = fopen(snap_path, "wb");
	if (!o || fwrite(f, 1, size, o) != size || fclose(o))
		abort();
	free(f);
	pc_reset(pc);
	char err[512];
	int r = machine_load(pc, snap_path, err, sizeof(err));
	if (getenv("FUGU_FUZZ_SNAPSHOT_DEBUG"))
		fprintf(stderr, "load: %s\n", r == 0 ? "restored" : err);
	if (r == 0) {
		guest_reads();
		run(8);
	}
	return 0;
}
