/*
 * Unit tests: the board's device table (chipset/pc.c): one row per device,
 * walked by create, reset and teardown, with a save section for each device
 * that has state.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "chipset/pc.h"

/* Names are unique section names; a device with state saves and restores it
 * under a version >= 1, and one without has nothing to version. */
static void
rows_are_well_formed(void **state)
{
	(void)state;
	assert_true(pc_ndevices > 0 && pc_ndevices <= 32); /* pc->live is 32 bits */
	for (size_t i = 0; i < pc_ndevices; i++) {
		const struct pc_device *d = &pc_devices[i];
		assert_non_null(d->name);
		assert_true(d->name[0] != '\0');
		assert_non_null(d->create);
		assert_non_null(d->reset);
		assert_true(!d->save == !d->restore);
		if (d->save)
			assert_true(d->version >= 1);
		else
			assert_int_equal(d->version, 0);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(d->name, pc_devices[j].name);
	}
}

static struct pc *
make_pc(void)
{
	char path[] = "/tmp/fugu-board-biosXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	static uint8_t rom[4096];
	assert_int_equal(write(fd, rom, sizeof(rom)), (ssize_t)sizeof(rom));
	close(fd);
	struct pc_config cfg = { .ram_size = 16u << 20,
				 .bios_path = path,
				 .clock_mode = VCLOCK_DETERMINISTIC,
				 .testdev = true,
				 .pci_testdev = true };
	char err[256];
	assert_int_equal(cpu_features_parse(&cfg.cpu, "max", err, sizeof(err)), 0);
	net_config_init(&cfg.net);
	cfg.net.nic = true; /* the e1000, unconnected: its row is checked too */
	struct pc *pc = pc_create(&cfg, err, sizeof(err));
	unlink(path);
	assert_non_null(pc);
	return pc;
}

/* Every device with state: save, restore, save again gives the same bytes;
 * a restore of the wrong size is refused. */
static void
save_restore_round_trips(void **state)
{
	(void)state;
	struct pc *pc = make_pc();
	unsigned saved = 0;
	for (size_t i = 0; i < pc_ndevices; i++) {
		const struct pc_device *d = &pc_devices[i];
		void *dev = pc_device(pc, i);
		if (strcmp(d->name, "vga") == 0) {
			assert_null(dev); /* not configured */
			continue;
		}
		assert_non_null(dev);
		if (!d->save)
			continue;
		size_t n = d->save(dev, NULL, 0);
		assert_true(n > 0);
		uint8_t *a = malloc(n), *b = malloc(n);
		assert_int_equal(d->save(dev, a, n), n);
		assert_int_equal(d->restore(dev, a, n - 1), -1);
		assert_int_equal(d->restore(dev, a, n), 0);
		memset(b, 0x5a, n);
		assert_int_equal(d->save(dev, b, n), n);
		assert_memory_equal(a, b, n);
		free(a);
		free(b);
		saved++;
	}
	assert_true(saved >= 10);
	pc_reset(pc); /* the table's reset loop */
	pc_destroy(pc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rows_are_well_formed),
		cmocka_unit_test(save_restore_round_trips),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
