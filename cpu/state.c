/*
 * fugu — the state field table (cpu/state.h), derived from the one X-macro list.
 */
#include "cpu/state.h"
#include "mmu/hostmem.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "state_get reads the low bytes");

#define FIELD_SIZE(member) sizeof(((struct cpu_state *)0)->member)

const struct state_field state_fields[STATE_FIELD_COUNT] = {
#define STATE_FIELD_ROW(id, fname, member, grp)                                                    \
	[STATE_##id] = { .name = fname,                                                            \
			 .offset = offsetof(struct cpu_state, member),                             \
			 .size = FIELD_SIZE(member),                                               \
			 .group = grp,                                                             \
			 .is_bool = _Generic(((struct cpu_state *)0)->member, bool                 \
					     : true, default                                       \
					     : false) },
	CPU_STATE_FIELDS(STATE_FIELD_ROW)
#undef STATE_FIELD_ROW
};

/* Every field is an integer of 1, 2, 4 or 8 bytes (bool is one byte). */
#define STATE_FIELD_CHECK(id, fname, member, grp)                                                  \
	_Static_assert(FIELD_SIZE(member) == 1 || FIELD_SIZE(member) == 2 ||                       \
			       FIELD_SIZE(member) == 4 || FIELD_SIZE(member) == 8,                 \
		       "state field " fname " is not a plain integer");
CPU_STATE_FIELDS(STATE_FIELD_CHECK)
#undef STATE_FIELD_CHECK

int
state_field_find(const char *name)
{
	for (unsigned k = 0; k < STATE_FIELD_COUNT; k++)
		if (strcmp(state_fields[k].name, name) == 0)
			return (int)k;
	return -1;
}

uint64_t
state_get(const struct cpu_state *s, enum state_field_id id)
{
	const struct state_field *f = &state_fields[id];
	const uint8_t *p = (const uint8_t *)s + f->offset;
	/* One fixed-size load (the VMCS transfers at VM entry and exit run this
	 * for every guest-state field). */
	return hostmem_load(p, f->size);
}

void
state_set(struct cpu_state *s, enum state_field_id id, uint64_t value)
{
	const struct state_field *f = &state_fields[id];
	uint8_t *p = (uint8_t *)s + f->offset;
	if (f->is_bool)
		value = value != 0; /* a bool holds 0 or 1 only */
	hostmem_store(p, value, f->size);
}
