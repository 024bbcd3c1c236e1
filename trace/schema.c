/*
 * fugu — the trace schema as data: every event's name, category and typed
 * fields, and the name tables of the enumerations, all from trace/events.h.
 * Part of the core library; the sinks that format it live in frontend/.
 */
#include "trace/events.h"

#include <stddef.h>

#define TRACE_ENUM_NAME_(c, s) [c] = s,
#define TRACE_ENUM_TABLE_(type, values)                                                            \
	const char *const type##_names[] = { values(TRACE_ENUM_NAME_) };
TRACE_ENUM_LIST(TRACE_ENUM_TABLE_)

/* The insn event's mnemonic is an enumeration named by the decoder's table. */
#define insn_id_names insn_mnemonic
#define insn_id_count_ INSN_COUNT

#define TRACE_DESC_F_(ty, n, s) { s, TF_##ty, NULL, 0 },
#define TRACE_DESC_E_(et, n, s) { s, TF_ENUM, et##_names, et##_count_ },

const struct trace_schema trace_schema[TEV_COUNT] = {
#define X(fn, id, nm, cat, flds)                                                                   \
	[id] = { .name = nm, .category = cat, .fields = { flds(TRACE_DESC_F_, TRACE_DESC_E_) } },
	TRACE_EVENT_LIST(X)
#undef X
};
