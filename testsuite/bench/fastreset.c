/*
 * fugu benchmark: fast reset (chipset/snapshot.c, docs/PERFORMANCE.md).
 *
 * usage: fastreset ROM [RAM_MIB [RESTORES]]
 *
 * ROM is dirty.asm: it writes N pages and halts. For N = 10, 100 and 1000 the
 * machine (no VGA) takes an in-memory snapshot with N at 0x500, then RESTORES
 * times runs the guest to its HLT and restores; only the restores are timed.
 * For comparison, the same machine restored in full: two snapshots restored
 * alternately (each then copies all of RAM), and machine_load from a file.
 * Prints restores per second and the pages each restore copied.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chipset/pc.h"
#include "chipset/snapshot.h"
#include "cpu/cpu.h"
#include "mmu/physmem.h"

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct pc *
make_pc(const char *rom, uint64_t ram)
{
	struct pc_config cfg = { .ram_size = ram,
				 .bios_path = rom,
				 .clock_mode = VCLOCK_DETERMINISTIC };
	char err[256];
	if (cpu_features_parse(&cfg.cpu, "max", err, sizeof(err)) < 0) {
		fprintf(stderr, "fastreset: %s\n", err);
		exit(1);
	}
	struct pc *pc = pc_create(&cfg, err, sizeof(err));
	if (!pc) {
		fprintf(stderr, "fastreset: %s\n", err);
		exit(1);
	}
	return pc;
}

static void
run_to_halt(struct pc *pc)
{
	for (int k = 0; k < 1000; k++)
		if (cpu_exec(pc->cpu, 1000000) == CPU_EXIT_HALT)
			return;
	fprintf(stderr, "fastreset: the guest did not halt\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fastreset ROM [RAM_MIB [RESTORES]]\n");
		return 2;
	}
	uint64_t ram = (argc > 2 ? strtoull(argv[2], NULL, 0) : 128) << 20;
	int restores = argc > 3 ? atoi(argv[3]) : 2000;
	char err[256];
	printf("RAM %" PRIu64 " MiB, %d restores each\n", ram >> 20, restores);
	printf("%-28s %14s %14s\n", "restore", "restores/s", "pages copied");
	static const uint32_t counts[] = { 10, 100, 1000 };
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		struct pc *pc = make_pc(argv[1], ram);
		uint32_t n = counts[c];
		physmem_write(pc->mem, 0x500, &n, sizeof(n));
		struct snapshot *s = snapshot_take(pc, err, sizeof(err));
		if (!s) {
			fprintf(stderr, "fastreset: %s\n", err);
			return 1;
		}
		double t = 0;
		for (int m = 0; m < restores; m++) {
			run_to_halt(pc);
			double t0 = now();
			snapshot_restore(s);
			t += now() - t0;
		}
		char what[64];
		snprintf(what, sizeof(what), "fast, guest writes %u pages", n);
		printf("%-28s %14.0f %14" PRIu64 "\n", what, restores / t, snapshot_last_pages(s));
		snapshot_free(s);
		pc_destroy(pc);
	}

	/* Full restores: two snapshots alternately, each copies all of RAM. */
	struct pc *pc = make_pc(argv[1], ram);
	uint32_t n = 10;
	physmem_write(pc->mem, 0x500, &n, sizeof(n));
	struct snapshot *a = snapshot_take(pc, err, sizeof(err));
	struct snapshot *b = snapshot_take(pc, err, sizeof(err));
	if (!a || !b) {
		fprintf(stderr, "fastreset: %s\n", err);
		return 1;
	}
	int full = restores / 20 + 1;
	double t = 0;
	for (int m = 0; m < full; m++) {
		run_to_halt(pc);
		double t0 = now();
		snapshot_restore(m & 1 ? b : a);
		t += now() - t0;
	}
	printf("%-28s %14.0f %14" PRIu64 "\n", "full (all of RAM)", full / t,
	       snapshot_last_pages(a));
	snapshot_free(a);
	snapshot_free(b);

	/* From a file: decompress and check everything, then load. */
	char path[] = "/tmp/fugu-fastresetXXXXXX";
	int fd = mkstemp(path);
	close(fd);
	if (machine_save(pc, path, err, sizeof(err)) < 0) {
		fprintf(stderr, "fastreset: %s\n", err);
		return 1;
	}
	int loads = restores / 200 + 1;
	t = 0;
	for (int m = 0; m < loads; m++) {
		run_to_halt(pc);
		double t0 = now();
		if (machine_load(pc, path, err, sizeof(err)) < 0) {
			fprintf(stderr, "fastreset: %s\n", err);
			return 1;
		}
		t += now() - t0;
	}
	printf("%-28s %14.1f %14" PRIu64 "\n", "file (machine_load)", loads / t, ram >> 12);
	unlink(path);
	pc_destroy(pc);
	return 0;
}
