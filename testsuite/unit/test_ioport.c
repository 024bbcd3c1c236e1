/*
 * Unit tests: the I/O address space (mmu/ioport.c), byte-wide handlers in
 * particular.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mmu/ioport.h"

/* Each access a handler saw, in order. */
static struct {
	unsigned n;
	uint16_t port[8];
	uint32_t val[8];
	unsigned size[8];
	void *opaque[8];
} seen;

static uint32_t
rd(void *opaque, uint16_t port, unsigned size)
{
	seen.opaque[seen.n] = opaque;
	seen.port[seen.n] = port;
	seen.size[seen.n++] = size;
	return 0xa0u + (port & 0xf); /* port p reads 0xA0 + its low nibble */
}

static void
wr(void *opaque, uint16_t port, uint32_t value, unsigned size)
{
	seen.opaque[seen.n] = opaque;
	seen.port[seen.n] = port;
	seen.val[seen.n] = value;
	seen.size[seen.n++] = size;
}

/* A 16- and a 32-bit access to a byte-wide handler arrive as byte accesses at
 * consecutive ports, lowest first; reads are assembled little-endian. */
static void
byte_wide_split(void **state)
{
	(void)state;
	struct ioports *io = ioports_create();
	int dev;
	assert_int_equal(ioports_register(io, 0x3c0, 0x10, "bw", rd, wr, &dev, IOPORT_BYTE_WIDE),
			 0);
	seen.n = 0;
	ioport_write(io, 0x3c4, 0x0f02, 2);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.port[0], 0x3c4);
	assert_int_equal(seen.val[0], 0x02);
	assert_int_equal(seen.size[0], 1);
	assert_int_equal(seen.port[1], 0x3c5);
	assert_int_equal(seen.val[1], 0x0f);
	assert_int_equal(seen.size[1], 1);
	seen.n = 0;
	ioport_write(io, 0x3c8, 0x44332211, 4);
	assert_int_equal(seen.n, 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(seen.port[i], 0x3c8 + i);
		assert_int_equal(seen.val[i], 0x11 * (i + 1));
		assert_int_equal(seen.size[i], 1);
		assert_ptr_equal(seen.opaque[i], &dev);
	}
	seen.n = 0;
	assert_int_equal(ioport_read(io, 0x3c4, 2), 0xa5a4);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.port[1], 0x3c5);
	seen.n = 0;
	assert_int_equal(ioport_read(io, 0x3cc, 4), 0xafaeadacu);
	assert_int_equal(seen.n, 4);
	for (unsigned i = 0; i < 4; i++) {
		assert_int_equal(seen.port[i], 0x3cc + i);
		assert_int_equal(seen.size[i], 1);
	}
	/* Past the device's last port the bytes go to whoever owns them: nobody. */
	seen.n = 0;
	assert_int_equal(ioport_read(io, 0x3cf, 2), 0xffaf);
	assert_int_equal(seen.n, 1);
	ioports_destroy(io);
}

/* A handler without the flag sees the access whole; unowned ports split. */
static void
sized_handlers_and_unowned_ports(void **state)
{
	(void)state;
	struct ioports *io = ioports_create();
	int a, b;
	assert_int_equal(ioports_register(io, 0x1f0, 1, "wide", rd, wr, &a, 0), 0);
	assert_int_equal(ioports_register(io, 0x71, 1, "b", rd, wr, &b, 0), 0);
	assert_int_equal(ioports_register(io, 0x1f0, 1, "again", rd, wr, &a, 0), -1);
	seen.n = 0;
	ioport_write(io, 0x1f0, 0x12345678, 4);
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.size[0], 4);
	assert_int_equal(seen.val[0], 0x12345678);
	seen.n = 0;
	assert_int_equal(ioport_read(io, 0x70, 2), 0xa1ff); /* 0x70 unowned, 0x71 owned */
	assert_int_equal(seen.n, 1);
	assert_int_equal(seen.port[0], 0x71);
	ioports_destroy(io);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(byte_wide_split),
		cmocka_unit_test(sized_handlers_and_unowned_ports),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
