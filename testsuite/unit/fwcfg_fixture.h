/*
 * The fixture the fw_cfg tests share: a 1 MiB physical map, a port space and
 * the fw_cfg device on it (its DMA interface writes into that map).
 */
#ifndef FUGU_FWCFG_FIXTURE_H
#define FUGU_FWCFG_FIXTURE_H

#include <stdlib.h>

#include "chipset/fwcfg.h"
#include "mmu/ioport.h"
#include "mmu/physmem.h"

struct fixture {
	struct physmem *mem;
	struct ioports *io;
	struct fwcfg fw;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->mem = physmem_create(1u << 20);
	f->io = ioports_create();
	assert_int_equal(fwcfg_init(&f->fw, f->io, f->mem), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	fwcfg_destroy(&f->fw);
	ioports_destroy(f->io);
	physmem_destroy(f->mem);
	free(f);
	return 0;
}

#endif
