/*
 * fugu — the system BIOS image: read from a file, mapped as ROM under 4 GiB and
 * aliased below 1 MiB, where the reset vector's first far jump lands.
 */
#include "firmware/bios.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mmu/physmem.h"

#define BIOS_MAX_SIZE (16u << 20)
#define BIOS_LOW_ALIAS (128u << 10)

int
bios_load(struct physmem *pm, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (errno == ENOENT && !strcmp(path, BIOS_DEFAULT_PATH))
			snprintf(err, errlen,
				 "BIOS image %s not found (install the Debian package 'seabios' or "
				 "use -bios FILE)",
				 path);
		else
			snprintf(err, errlen, "cannot open BIOS image %s: %s", path,
				 strerror(errno));
		return -1;
	}
	uint8_t *data = malloc(BIOS_MAX_SIZE + 1);
	if (!data) {
		fclose(f);
		snprintf(err, errlen, "out of memory loading BIOS image %s", path);
		return -1;
	}
	size_t size = fread(data, 1, BIOS_MAX_SIZE + 1, f);
	int read_error = ferror(f);
	fclose(f);
	if (read_error) {
		snprintf(err, errlen, "cannot read BIOS image %s", path);
		free(data);
		return -1;
	}
	if (size == 0 || size > BIOS_MAX_SIZE || size % 4096) {
		struct stat st; /* the file's real size: only BIOS_MAX_SIZE + 1 bytes were read */
		unsigned long long real = size;
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			real = (unsigned long long)st.st_size;
		snprintf(
			err, errlen,
			"BIOS image %s has a bad size (%llu bytes): it must be a non-zero multiple "
			"of 4 KiB, at most 16 MiB",
			path, real);
		free(data);
		return -1;
	}
	int rom = physmem_add_rom(pm, "bios", PHYS_4G - size, data, size);
	free(data);
	if (rom < 0) {
		snprintf(err, errlen, "cannot map BIOS image %s", path);
		return -1;
	}
	uint64_t alias = size < BIOS_LOW_ALIAS ? size : BIOS_LOW_ALIAS;
	uint8_t *host = pm->regions[rom].host + (size - alias);
	if (physmem_add_alias(pm, "bios-low", 0x100000 - alias, host, alias, false) < 0) {
		snprintf(err, errlen, "cannot map the low alias of BIOS image %s", path);
		return -1;
	}
	return 0;
}
