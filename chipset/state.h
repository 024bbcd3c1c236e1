/*
 * fugu — save/restore of a device's state. Every device keeps its architectural
 * state in one plain-data struct (`st`), so saving is a copy out and restoring a
 * size-checked copy in; these two helpers are that copy for all of them.
 */
#ifndef FUGU_STATE_H
#define FUGU_STATE_H

#include <stddef.h>
#include <string.h>

/* Copy `size` bytes of state into buf if it holds them; returns the size needed. */
static inline size_t
state_save(const void *st, size_t size, void *buf, size_t len)
{
	if (len >= size)
		memcpy(buf, st, size);
	return size;
}

/* Copy the state back from buf; -1 (and nothing changed) unless len is exactly size. */
static inline int
state_restore(void *st, size_t size, const void *buf, size_t len)
{
	if (len != size)
		return -1;
	memcpy(st, buf, size);
	return 0;
}

#endif
