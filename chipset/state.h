/*
 * fugu — save/restore of a device's state. Every device keeps its architectural
 * state in one plain-data struct (`st`), so saving is a copy out and restoring a
 * size-checked copy in; these helpers are that copy for all of them.
 *
 * A restored record comes from a file: any byte may be there. For integers that
 * is only a value to check where it is used, but a bool holding a byte other
 * than 0 or 1 is undefined behaviour the moment it is read (C11 6.2.6.1p5;
 * fuzz_snapshot found it in the PIT, the 8259s, the 8042 and the LAPIC). So
 * each record names its bool fields (`struct state_bools`, byte offsets in the
 * record) and restoring loads them as bytes and normalises them to 0 or 1, as
 * converting the byte to bool would (6.3.1.2): restoring never fails on them.
 */
#ifndef FUGU_STATE_H
#define FUGU_STATE_H

#include <stddef.h>
#include <string.h>

/* The bool fields of a saved record: byte offsets into it. */
struct state_bools {
	const size_t *off;
	size_t n;
};
/* A record's list, from a static array of offsetof()s; or none. */
#define STATE_BOOLS(array) ((struct state_bools){ (array), sizeof(array) / sizeof((array)[0]) })
#define STATE_NO_BOOLS ((struct state_bools){ NULL, 0 })

/* Make every bool of the record at `rec` hold 0 or 1 (any nonzero byte is true). */
static inline void
state_bools_normalise(void *rec, struct state_bools b)
{
	unsigned char *p = rec;
	for (size_t k = 0; k < b.n; k++)
		p[b.off[k]] = p[b.off[k]] != 0;
}

/* Copy `size` bytes of state into buf if it holds them; returns the size needed. */
static inline size_t
state_save(const void *st, size_t size, void *buf, size_t len)
{
	if (len >= size)
		memcpy(buf, st, size);
	return size;
}

/* Copy the state back from buf, its bools normalised; -1 (and nothing changed)
 * unless len is exactly size. */
static inline int
state_restore(void *st, size_t size, const void *buf, size_t len, struct state_bools bools)
{
	if (len != size)
		return -1;
	memcpy(st, buf, size);
	state_bools_normalise(st, bools);
	return 0;
}

#endif
