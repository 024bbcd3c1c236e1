/*
 * fugu — sized loads and stores of host memory: an unsigned value of 1, 2, 4 or
 * 8 bytes in the host's (little-endian) order at any alignment. Each width is
 * one fixed-size memcpy, which the compiler turns into a single move; the
 * guest-memory fast paths, the state field table and the snapshot limits all
 * read and write their fields through these.
 */
#ifndef FUGU_MMU_HOSTMEM_H
#define FUGU_MMU_HOSTMEM_H

#include <stdint.h>
#include <string.h>

static inline uint64_t
hostmem_load(const void *p, unsigned size)
{
	switch (size) {
	case 1: return *(const uint8_t *)p;
	case 2: {
		uint16_t v;
		memcpy(&v, p, 2);
		return v;
	}
	case 4: {
		uint32_t v;
		memcpy(&v, p, 4);
		return v;
	}
	default: {
		uint64_t v;
		memcpy(&v, p, 8);
		return v;
	}
	}
}

/* The low `size` bytes of v. */
static inline void
hostmem_store(void *p, uint64_t v, unsigned size)
{
	switch (size) {
	case 1: *(uint8_t *)p = (uint8_t)v; break;
	case 2: {
		uint16_t w = (uint16_t)v;
		memcpy(p, &w, 2);
		break;
	}
	case 4: {
		uint32_t w = (uint32_t)v;
		memcpy(p, &w, 4);
		break;
	}
	default: memcpy(p, &v, 8); break;
	}
}

#endif
