/*
 * fugu — locating and mapping the system BIOS image.
 */
#ifndef FUGU_BIOS_H
#define FUGU_BIOS_H

#include <stddef.h>

struct physmem;

#define BIOS_DEFAULT_PATH "/usr/share/seabios/bios-256k.bin"

/*
 * Map the BIOS image at `path` at the top of the 4 GiB space, with its last
 * 128 KiB (or all of it, if smaller) aliased just below 1 MiB. Returns 0, or -1
 * with a one-line message in err.
 */
int bios_load(struct physmem *pm, const char *path, char *err, size_t errlen);

#endif
