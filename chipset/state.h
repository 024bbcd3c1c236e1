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
 *
 * An integer that later indexes or sizes something (a register selector, a
 * FIFO's head and count, a state machine's state, a buffer position) has its
 * limit next to the bools (`struct state_limits`): before anything is loaded,
 * machine_load asks each device's check, which refuses a value the device
 * could never hold (STATE_MAX, STATE_ONE_OF) with a message naming the field;
 * restoring keeps only the bits a register has (STATE_MASK, as the hardware
 * would) and, for a caller that did not check (the in-memory snapshots, which
 * fugu made itself), clamps the other limits too, so that no value out of
 * range ever reaches the device.
 */
#ifndef FUGU_STATE_H
#define FUGU_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mmu/hostmem.h"

/* The bool fields of a saved record: byte offsets into it. */
struct state_bools {
	const size_t *off;
	size_t n;
};
/* A record's list, from a static array of offsetof()s; or none. The array is
 * declared STATE_KEEP: kept in the binary even where every use is inlined, so
 * that testsuite/unit/check_state_bools.py can read it from the debug
 * information and compare it with the record's type. */
#define STATE_KEEP __attribute__((used))
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

/* What an integer field of a saved record may hold. */
enum state_rule {
	STATE_RULE_MAX,    /* at most arg: refused above */
	STATE_RULE_ONE_OF, /* a value v below 64 with bit v of arg set: refused otherwise */
	STATE_RULE_MASK,   /* only the bits of arg exist: the others are dropped */
	STATE_RULE_ABS,    /* a signed field: at most arg from 0 either way, refused otherwise */
};
struct state_limit {
	const char *name; /* the field, for the message */
	size_t off;       /* its byte offset in the record */
	uint8_t size;     /* 1, 2, 4 or 8 bytes, unsigned */
	uint8_t rule;     /* enum state_rule */
	uint64_t arg;
};
struct state_limits {
	const struct state_limit *l;
	size_t n;
};
#define STATE_FIELD_(type, field) #field, offsetof(type, field), sizeof(((type *)0)->field)
#define STATE_MAX(type, field, max)                                                                \
	{                                                                                          \
		STATE_FIELD_(type, field), STATE_RULE_MAX, (max)                                   \
	}
#define STATE_ONE_OF(type, field, set)                                                             \
	{                                                                                          \
		STATE_FIELD_(type, field), STATE_RULE_ONE_OF, (set)                                \
	}
#define STATE_MASK(type, field, mask)                                                              \
	{                                                                                          \
		STATE_FIELD_(type, field), STATE_RULE_MASK, (mask)                                 \
	}
#define STATE_ABS_MAX(type, field, max)                                                            \
	{                                                                                          \
		STATE_FIELD_(type, field), STATE_RULE_ABS, (max)                                   \
	}
#define STATE_LIMITS(array) ((struct state_limits){ (array), sizeof(array) / sizeof((array)[0]) })
#define STATE_NO_LIMITS ((struct state_limits){ NULL, 0 })

static inline uint64_t
state_field_get(const void *rec, const struct state_limit *l)
{
	return hostmem_load((const unsigned char *)rec + l->off, l->size);
}

static inline void
state_field_set(void *rec, const struct state_limit *l, uint64_t v)
{
	hostmem_store((unsigned char *)rec + l->off, v, l->size);
}

/* The value of a signed field of `size` bytes whose bits are v. */
static inline long long
state_signed(uint64_t v, unsigned size)
{
	if (size == 8) {
		int64_t s;
		memcpy(&s, &v, 8);
		return s;
	}
	uint64_t sign = 1ull << (8u * size - 1);
	return (long long)(v ^ sign) - (long long)sign;
}

/* Whether v is a value the limit allows (a mask allows everything: restore drops the rest). */
static inline int
state_limit_ok(const struct state_limit *l, uint64_t v)
{
	switch (l->rule) {
	case STATE_RULE_MAX: return v <= l->arg;
	case STATE_RULE_ONE_OF: return v < 64 && (l->arg >> v & 1);
	case STATE_RULE_ABS: {
		/* v holds the field's two's complement bits: its magnitude */
		uint64_t sign = 1ull << (8u * l->size - 1);
		uint64_t mag = (v & sign) ? (~v & (sign | (sign - 1))) + 1 : v;
		return mag <= l->arg;
	}
	default: return 1;
	}
}

/*
 * Check the record at `rec`, `len` bytes (a file's, not yet loaded), against its
 * limits: 0, or -1 with "FIELD is V (...)" in err for the first field out of
 * range. `prefix` names the sub-record ("drive 1: "), or is "".
 */
static inline int
state_check(const void *rec, size_t len, struct state_limits lim, const char *prefix, char *err,
	    size_t errlen)
{
	for (size_t k = 0; k < lim.n; k++) {
		const struct state_limit *l = &lim.l[k];
		if (l->off > len || l->size > len - l->off) {
			snprintf(err, errlen, "%s%s: record too short", prefix, l->name);
			return -1;
		}
		uint64_t v = state_field_get(rec, l);
		if (state_limit_ok(l, v))
			continue;
		if (l->rule == STATE_RULE_MAX)
			snprintf(err, errlen, "%s%s is %llu, at most %llu", prefix, l->name,
				 (unsigned long long)v, (unsigned long long)l->arg);
		else if (l->rule == STATE_RULE_ABS)
			snprintf(err, errlen, "%s%s is %lld, at most %llu either way", prefix,
				 l->name, state_signed(v, l->size), (unsigned long long)l->arg);
		else
			snprintf(err, errlen, "%s%s is %llu, not a value it can hold", prefix,
				 l->name, (unsigned long long)v);
		return -1;
	}
	return 0;
}

/* Apply the limits to a loaded record: masks drop the bits a register does not
 * have; a value state_check would refuse becomes the limit (the maximum, the
 * lowest allowed value, or 0 for a signed range), for callers that load
 * without checking. */
static inline void
state_limits_apply(void *rec, struct state_limits lim)
{
	for (size_t k = 0; k < lim.n; k++) {
		const struct state_limit *l = &lim.l[k];
		uint64_t v = state_field_get(rec, l);
		if (l->rule == STATE_RULE_MASK)
			state_field_set(rec, l, v & l->arg);
		else if (l->rule == STATE_RULE_MAX && v > l->arg)
			state_field_set(rec, l, l->arg);
		else if (l->rule == STATE_RULE_ONE_OF && !state_limit_ok(l, v))
			state_field_set(rec, l, (uint64_t)__builtin_ctzll(l->arg));
		else if (l->rule == STATE_RULE_ABS && !state_limit_ok(l, v))
			state_field_set(rec, l, 0);
	}
}

/* Copy `size` bytes of state into buf if it holds them; returns the size needed. */
static inline size_t
state_save(const void *st, size_t size, void *buf, size_t len)
{
	if (len >= size)
		memcpy(buf, st, size);
	return size;
}

/* Copy the state back from buf, its bools normalised and its limits applied;
 * -1 (and nothing changed) unless len is exactly size. */
static inline int
state_restore(void *st, size_t size, const void *buf, size_t len, struct state_bools bools,
	      struct state_limits limits)
{
	if (len != size)
		return -1;
	memcpy(st, buf, size);
	state_bools_normalise(st, bools);
	state_limits_apply(st, limits);
	return 0;
}

#endif
