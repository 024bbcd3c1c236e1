/*
 * fugu — the trace event schema: the single table every sink is derived from.
 * X(ID, name, category, fields...) with F(name, type) field descriptors.
 */
#ifndef FUGU_TRACE_EVENTS_H
#define FUGU_TRACE_EVENTS_H

#include <stdint.h>

enum trace_category {
	TRACE_CAT_INSN = 1u << 0,
	TRACE_CAT_IO = 1u << 1,
	TRACE_CAT_INT = 1u << 2,
	TRACE_CAT_PAGEWALK = 1u << 3,
	TRACE_CAT_TLB = 1u << 4,
	TRACE_CAT_MMIO = 1u << 5,
	TRACE_CAT_MSR = 1u << 6,
	TRACE_CAT_CPUID = 1u << 7,
};

/* X(id, "name", "help") */
#define TRACE_CATEGORY_LIST(X)                                                                     \
	X(TRACE_CAT_INSN, "insn",                                                                  \
	  "every executed instruction: address, bytes, disassembly, changed registers")            \
	X(TRACE_CAT_IO, "io", "port I/O reads and writes, POST codes on port 0x80")                \
	X(TRACE_CAT_INT, "int", "interrupts and exceptions as they are delivered")                 \
	X(TRACE_CAT_PAGEWALK, "pagewalk",                                                          \
	  "page walks on TLB misses: linear address, each level's entry, outcome")                 \
	X(TRACE_CAT_TLB, "tlb", "TLB flushes: scope, address, cause")                              \
	X(TRACE_CAT_MMIO, "mmio",                                                                  \
	  "MMIO accesses, and accesses to unassigned space or writes to ROM")                      \
	X(TRACE_CAT_MSR, "msr", "RDMSR and WRMSR: index, value, and whether it raised #GP")        \
	X(TRACE_CAT_CPUID, "cpuid", "CPUID: leaf, subleaf and the four registers returned")

enum trace_field_type { TF_HEX8, TF_HEX16, TF_HEX32, TF_HEX64, TF_UINT, TF_STR };

union trace_value {
	uint64_t u;
	const char *s;
};

struct trace_field {
	const char *name;
	enum trace_field_type type;
};

#define TRACE_MAX_FIELDS 8

/* X(ID, "name", category, { fields }) */
#define TRACE_EVENT_LIST(X)                                                                        \
	X(TEV_INSN, "insn", TRACE_CAT_INSN,                                                        \
	  { { "icount", TF_UINT },                                                                 \
	    { "cs", TF_HEX16 },                                                                    \
	    { "rip", TF_HEX64 },                                                                   \
	    { "bytes", TF_STR },                                                                   \
	    { "asm", TF_STR },                                                                     \
	    { "changed", TF_STR } })                                                               \
	X(TEV_IO_IN, "in", TRACE_CAT_IO,                                                           \
	  { { "port", TF_HEX16 }, { "size", TF_UINT }, { "value", TF_HEX32 } })                    \
	X(TEV_IO_OUT, "out", TRACE_CAT_IO,                                                         \
	  { { "port", TF_HEX16 }, { "size", TF_UINT }, { "value", TF_HEX32 } })                    \
	X(TEV_POST, "post", TRACE_CAT_IO, { { "code", TF_HEX8 } })                                 \
	X(TEV_INTERRUPT, "interrupt", TRACE_CAT_INT,                                               \
	  { { "vector", TF_HEX8 },                                                                 \
	    { "kind", TF_STR },                                                                    \
	    { "error", TF_STR },                                                                   \
	    { "cs", TF_HEX16 },                                                                    \
	    { "rip", TF_HEX64 },                                                                   \
	    { "return", TF_HEX64 } })                                                              \
	X(TEV_PAGEWALK, "pagewalk", TRACE_CAT_PAGEWALK,                                            \
	  { { "lin", TF_HEX64 },                                                                   \
	    { "access", TF_STR },                                                                  \
	    { "priv", TF_STR },                                                                    \
	    { "entries", TF_STR },                                                                 \
	    { "outcome", TF_STR } })                                                               \
	X(TEV_TLB_FLUSH, "tlb-flush", TRACE_CAT_TLB,                                               \
	  { { "scope", TF_STR }, { "addr", TF_HEX64 }, { "cause", TF_STR } })                      \
	X(TEV_MMIO_READ, "mmio-read", TRACE_CAT_MMIO,                                              \
	  { { "region", TF_STR },                                                                  \
	    { "addr", TF_HEX64 },                                                                  \
	    { "size", TF_UINT },                                                                   \
	    { "value", TF_HEX64 } })                                                               \
	X(TEV_MMIO_WRITE, "mmio-write", TRACE_CAT_MMIO,                                            \
	  { { "region", TF_STR },                                                                  \
	    { "addr", TF_HEX64 },                                                                  \
	    { "size", TF_UINT },                                                                   \
	    { "value", TF_HEX64 } })                                                               \
	X(TEV_RDMSR, "rdmsr", TRACE_CAT_MSR,                                                       \
	  { { "index", TF_HEX32 }, { "value", TF_HEX64 }, { "outcome", TF_STR } })                 \
	X(TEV_WRMSR, "wrmsr", TRACE_CAT_MSR,                                                       \
	  { { "index", TF_HEX32 }, { "value", TF_HEX64 }, { "outcome", TF_STR } })                 \
	X(TEV_CPUID, "cpuid", TRACE_CAT_CPUID,                                                     \
	  { { "leaf", TF_HEX32 },                                                                  \
	    { "subleaf", TF_HEX32 },                                                               \
	    { "eax", TF_HEX32 },                                                                   \
	    { "ebx", TF_HEX32 },                                                                   \
	    { "ecx", TF_HEX32 },                                                                   \
	    { "edx", TF_HEX32 } })

enum trace_event {
#define X(id, name, cat, ...) id,
	TRACE_EVENT_LIST(X)
#undef X
		TEV_COUNT
};

#endif
