/*
 * fugu — the trace event schema: the single table every producer and sink is
 * derived from. Producers (cpu/, chipset/) call the typed emitters generated
 * below, so the compiler checks every field; sinks (frontend/trace.c: text and
 * JSON Lines) format events from the same table. No formatting happens here.
 *
 * The table: X(fn, ID, "name", category, FIELDS) where FIELDS is a macro taking
 * (F, E): F(TYPE, cname, "name") for a plain field, E(enumtype, cname, "name")
 * for a small integer printed through the enum's name table (trace/schema.c).
 * docs/TRACE.md documents every event's fields and their JSON types.
 */
#ifndef FUGU_TRACE_EVENTS_H
#define FUGU_TRACE_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/insn_ids.h" /* enum insn_id: the insn event's mnemonic */

struct cpu;

enum trace_category {
	TRACE_CAT_INSN = 1u << 0,
	TRACE_CAT_IO = 1u << 1,
	TRACE_CAT_INT = 1u << 2,
	TRACE_CAT_PAGEWALK = 1u << 3,
	TRACE_CAT_TLB = 1u << 4,
	TRACE_CAT_MMIO = 1u << 5,
	TRACE_CAT_MSR = 1u << 6,
	TRACE_CAT_CPUID = 1u << 7,
	TRACE_CAT_VMX = 1u << 8,
	TRACE_CAT_MARKER = 1u << 9,
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
	X(TRACE_CAT_CPUID, "cpuid", "CPUID: leaf, subleaf and the four registers returned")        \
	X(TRACE_CAT_VMX, "vmx",                                                                    \
	  "VMX instructions (operand, outcome, error number), VM entries (the failing check) and " \
	  "VM exits (reason, qualification, guest RIP, instruction length and information)")       \
	X(TRACE_CAT_MARKER, "marker",                                                              \
	  "markers the guest drops with the tracing hypercall; repeat summaries")

/* ---- enumerations printed by name: V(CONSTANT, "name") ---- */

#define TRACE_MODE_VALUES(V)                                                                       \
	V(TRACE_MODE_REAL, "real")                                                                 \
	V(TRACE_MODE_V86, "v86")                                                                   \
	V(TRACE_MODE_PROT16, "prot16")                                                             \
	V(TRACE_MODE_PROT32, "prot32")                                                             \
	V(TRACE_MODE_COMPAT, "compat")                                                             \
	V(TRACE_MODE_LONG64, "long64")
/* The VMX slot of the header: outside VMX operation, root or non-root. */
#define TRACE_VMX_VALUES(V)                                                                        \
	V(TRACE_VMX_NONE, "none")                                                                  \
	V(TRACE_VMX_ROOT, "root")                                                                  \
	V(TRACE_VMX_NONROOT, "non-root")
/* In the order of enum event_kind (cpu/cpu_internal.h). */
#define TRACE_INT_KIND_VALUES(V)                                                                   \
	V(TRACE_INT_EXCEPTION, "exception")                                                        \
	V(TRACE_INT_SOFTWARE, "software")                                                          \
	V(TRACE_INT_EXTERNAL, "external")                                                          \
	V(TRACE_INT_NMI, "nmi")
#define TRACE_ACCESS_VALUES(V)                                                                     \
	V(TRACE_ACCESS_READ, "read")                                                               \
	V(TRACE_ACCESS_WRITE, "write")                                                             \
	V(TRACE_ACCESS_EXEC, "exec")
#define TRACE_PRIV_VALUES(V)                                                                       \
	V(TRACE_PRIV_SUPERVISOR, "supervisor")                                                     \
	V(TRACE_PRIV_USER, "user")
#define TRACE_WALK_VALUES(V)                                                                       \
	V(TRACE_WALK_OK, "ok")                                                                     \
	V(TRACE_WALK_PF, "#PF")                                                                    \
	V(TRACE_WALK_STAGE2, "stage2")
#define TRACE_FLUSH_VALUES(V)                                                                      \
	V(TRACE_FLUSH_ALL, "all")                                                                  \
	V(TRACE_FLUSH_NONGLOBAL, "non-global")                                                     \
	V(TRACE_FLUSH_PAGE, "page")                                                                \
	V(TRACE_FLUSH_PCID, "pcid")
#define TRACE_MSR_VALUES(V)                                                                        \
	V(TRACE_MSR_OK, "ok")                                                                      \
	V(TRACE_MSR_GP, "#GP")

/* The outcome of a VMX instruction (SDM vol. 3C, 30.2). */
#define TRACE_VMX_OUTCOME_VALUES(V)                                                                \
	V(TRACE_VMXO_OK, "ok")                                                                     \
	V(TRACE_VMXO_FAIL_INVALID, "VMfailInvalid")                                                \
	V(TRACE_VMXO_FAIL_VALID, "VMfailValid")                                                    \
	V(TRACE_VMXO_ENTRY, "entered")                                                             \
	V(TRACE_VMXO_ENTRY_FAIL, "entry-failed")

/* E(type, VALUES): every enumeration, for generating the C enums and name tables. */
#define TRACE_ENUM_LIST(E)                                                                         \
	E(trace_mode, TRACE_MODE_VALUES)                                                           \
	E(trace_vmx, TRACE_VMX_VALUES)                                                             \
	E(trace_int_kind, TRACE_INT_KIND_VALUES)                                                   \
	E(trace_access, TRACE_ACCESS_VALUES)                                                       \
	E(trace_priv, TRACE_PRIV_VALUES)                                                           \
	E(trace_walk, TRACE_WALK_VALUES)                                                           \
	E(trace_flush, TRACE_FLUSH_VALUES)                                                         \
	E(trace_msr, TRACE_MSR_VALUES)                                                             \
	E(trace_vmx_outcome, TRACE_VMX_OUTCOME_VALUES)

#define TRACE_ENUM_CONST_(c, s) c,
#define TRACE_ENUM_DECL_(type, values)                                                             \
	enum type { values(TRACE_ENUM_CONST_) type##_count_ };                                     \
	extern const char *const type##_names[];
TRACE_ENUM_LIST(TRACE_ENUM_DECL_)

/* ---- field types ---- */

enum trace_field_type {
	TF_X8,      /* uint8_t; text: 2 hex digits; JSON: number */
	TF_X16,     /* uint16_t; text: 4 hex digits */
	TF_X32,     /* uint32_t; text: 8 hex digits */
	TF_X64,     /* uint64_t; text: hex, no padding */
	TF_D8,      /* uint8_t; text: decimal */
	TF_D64,     /* uint64_t; text: decimal */
	TF_BOOL,    /* bool; text and JSON: true/false */
	TF_ENUM,    /* a small integer; text: "name"; JSON: the name as a string */
	TF_ERRCODE, /* uint32_t, TRACE_NO_ERRCODE for none; text: 4 hex digits or none */
	TF_CODE,    /* instruction bytes, their length and code size (16/32/64): the sinks
		     * print them as hex and add "asm", their disassembly */
	TF_U64LIST, /* up to 8 uint64_t; text: "hex hex ..."; JSON: array of numbers */
	TF_CHANGES, /* registers an instruction changed (struct trace_changes) */
	TF_STR,     /* a static label (an MMIO region's name, a flush's cause) */
};

#define TRACE_NO_ERRCODE 0xffffffffu
#define TRACE_MAX_FIELDS 8

/* The registers an instruction changed, each named by its field of the CPU-state
 * table (cpu/state.h: enum state_field_id; the sinks print state_fields[].name). */
#define TRACE_MAX_CHANGES 24
struct trace_changes {
	uint8_t n;
	struct {
		uint16_t field; /* enum state_field_id */
		uint64_t value;
	} reg[TRACE_MAX_CHANGES];
};

/* One field value as the sinks receive it. */
struct trace_value {
	union {
		uint64_t u;
		const char *s;
		const struct trace_changes *chg;
		struct {
			const uint8_t *p;
			uint8_t len, bits;
		} code;
		struct {
			const uint64_t *p;
			uint8_t n;
		} list;
	};
};

/* The common header of every event, taken when the event happens (for an
 * instruction: before it executes). */
struct trace_hdr {
	uint64_t icount; /* instructions retired before the event */
	uint64_t cr3;
	uint8_t cpl;
	uint8_t mode; /* enum trace_mode */
	uint8_t vmx;  /* enum trace_vmx */
	/* The current-VMCS pointer in VMX operation (the VMCS that VMREAD,
	 * VM entry and, in non-root operation, the running guest use), else
	 * TRACE_NO_VMCS: which L2 an event of a nested setup belongs to. */
	uint64_t vmcs;
};
#define TRACE_NO_VMCS UINT64_MAX

/* ---- the events ---- */

#define TEVF_INSN(F, E)                                                                            \
	F(D64, icount, "icount")                                                                   \
	F(X16, cs, "cs")                                                                           \
	F(X64, rip, "rip")                                                                         \
	F(CODE, bytes, "bytes")                                                                    \
	F(CHANGES, changed, "changed")                                                             \
	F(X64, lin, "lin")                                                                         \
	E(insn_id, mnemonic, "mnemonic")
#define TEVF_IO(F, E) F(X16, port, "port") F(D8, size, "size") F(X32, value, "value")
#define TEVF_POST(F, E) F(X8, code, "code")
#define TEVF_INTERRUPT(F, E)                                                                       \
	F(X8, vector, "vector")                                                                    \
	E(trace_int_kind, kind, "kind")                                                            \
	F(ERRCODE, error, "error")                                                                 \
	F(X16, cs, "cs")                                                                           \
	F(X64, rip, "rip")                                                                         \
	F(X64, ret, "return")
#define TEVF_PAGEWALK(F, E)                                                                        \
	F(X64, lin, "lin")                                                                         \
	E(trace_access, access, "access")                                                          \
	E(trace_priv, priv, "priv")                                                                \
	F(U64LIST, entries, "entries")                                                             \
	E(trace_walk, outcome, "outcome")                                                          \
	F(X64, pa, "pa")                                                                           \
	F(X32, error, "error")
#define TEVF_TLB_FLUSH(F, E)                                                                       \
	E(trace_flush, scope, "scope") F(X64, addr, "addr") F(STR, cause, "cause")
#define TEVF_MMIO(F, E)                                                                            \
	F(STR, region, "region") F(X64, addr, "addr") F(D8, size, "size") F(X64, value, "value")
#define TEVF_MSR(F, E)                                                                             \
	F(X32, index, "index") F(X64, value, "value") E(trace_msr, outcome, "outcome")
#define TEVF_CPUID(F, E)                                                                           \
	F(X32, leaf, "leaf")                                                                       \
	F(X32, subleaf, "subleaf")                                                                 \
	F(X32, eax, "eax")                                                                         \
	F(X32, ebx, "ebx")                                                                         \
	F(X32, ecx, "ecx")                                                                         \
	F(X32, edx, "edx")

#define TEVF_VMX_INSN(F, E)                                                                        \
	F(STR, insn, "insn")                                                                       \
	F(X64, operand, "operand")                                                                 \
	E(trace_vmx_outcome, outcome, "outcome")                                                   \
	F(D8, error, "error")
#define TEVF_VMENTRY(F, E)                                                                         \
	F(BOOL, launch, "launch")                                                                  \
	F(BOOL, ok, "ok")                                                                          \
	F(STR, check, "check")                                                                     \
	F(X64, rip, "rip")                                                                         \
	F(X32, intr_info, "inject")                                                                \
	F(STR, written, "written")
#define TEVF_VMEXIT(F, E)                                                                          \
	F(X32, reason, "reason")                                                                   \
	F(STR, name, "name")                                                                       \
	F(X64, qual, "qual")                                                                       \
	F(X64, rip, "rip")                                                                         \
	F(D8, len, "len")                                                                          \
	F(X32, info, "info")                                                                       \
	F(X32, intr_info, "intr_info")                                                             \
	F(X32, idt_vectoring, "idt_vectoring")
/* A guest's marker (docs/TRACING.md, the tracing hypercall). */
#define TEVF_MARKER(F, E) F(X32, value, "value")

/* A sink's summary of events it left out because they repeated a cycle of
 * `period` events (docs/TRACING.md, "Repeats"); written by the sinks only. */
#define TEVF_REPEAT(F, E) F(D64, period, "period") F(D64, suppressed, "suppressed")

/* X(emitter, ID, "name", category, FIELDS) */
#define TRACE_EVENT_LIST(X)                                                                        \
	X(insn, TEV_INSN, "insn", TRACE_CAT_INSN, TEVF_INSN)                                       \
	X(io_in, TEV_IO_IN, "in", TRACE_CAT_IO, TEVF_IO)                                           \
	X(io_out, TEV_IO_OUT, "out", TRACE_CAT_IO, TEVF_IO)                                        \
	X(post, TEV_POST, "post", TRACE_CAT_IO, TEVF_POST)                                         \
	X(interrupt, TEV_INTERRUPT, "interrupt", TRACE_CAT_INT, TEVF_INTERRUPT)                    \
	X(pagewalk, TEV_PAGEWALK, "pagewalk", TRACE_CAT_PAGEWALK, TEVF_PAGEWALK)                   \
	X(tlb_flush, TEV_TLB_FLUSH, "tlb-flush", TRACE_CAT_TLB, TEVF_TLB_FLUSH)                    \
	X(mmio_read, TEV_MMIO_READ, "mmio-read", TRACE_CAT_MMIO, TEVF_MMIO)                        \
	X(mmio_write, TEV_MMIO_WRITE, "mmio-write", TRACE_CAT_MMIO, TEVF_MMIO)                     \
	X(rdmsr, TEV_RDMSR, "rdmsr", TRACE_CAT_MSR, TEVF_MSR)                                      \
	X(wrmsr, TEV_WRMSR, "wrmsr", TRACE_CAT_MSR, TEVF_MSR)                                      \
	X(cpuid, TEV_CPUID, "cpuid", TRACE_CAT_CPUID, TEVF_CPUID)                                  \
	X(vmx_insn, TEV_VMX_INSN, "vmx-insn", TRACE_CAT_VMX, TEVF_VMX_INSN)                        \
	X(vmentry, TEV_VMENTRY, "vmentry", TRACE_CAT_VMX, TEVF_VMENTRY)                            \
	X(vmexit, TEV_VMEXIT, "vmexit", TRACE_CAT_VMX, TEVF_VMEXIT)                                \
	X(marker, TEV_MARKER, "marker", TRACE_CAT_MARKER, TEVF_MARKER)                             \
	X(repeat, TEV_REPEAT, "repeat", TRACE_CAT_MARKER, TEVF_REPEAT)

enum trace_event {
#define X(fn, id, ...) id,
	TRACE_EVENT_LIST(X)
#undef X
		TEV_COUNT
};

/* The schema as data, for the sinks (trace/schema.c). */
struct trace_field {
	const char *name;
	enum trace_field_type type;
	const char *const *names; /* TF_ENUM: the name table */
	unsigned nnames;
};
struct trace_schema {
	const char *name;
	enum trace_category category;
	struct trace_field fields[TRACE_MAX_FIELDS];
};
extern const struct trace_schema trace_schema[TEV_COUNT];

/* ---- the tracer as producers see it ---- */

struct tracer;
typedef void (*trace_sink_fn)(struct tracer *t, enum trace_event ev, const struct trace_hdr *h,
			      const struct trace_value *values);

/* Which events reach the sinks: every condition set must hold
 * (docs/TRACING.md, "Filters"). */
struct trace_filter {
	bool any;         /* false: no condition below is set (the fast path) */
	uint8_t cpl_mask; /* bit n: CPL n passes */
	uint8_t vmx_mask; /* bit n: enum trace_vmx n passes */
	bool cr3_set;     /* only events with this CR3 in their header */
	bool addr_set;    /* only events whose address is in [addr_lo, addr_hi] */
	uint64_t cr3;     /* compared with the header's CR3 as is */
	uint64_t addr_lo; /* inclusive; events without an address field pass */
	uint64_t addr_hi;
	uint64_t icount_lo; /* the ordinal of the instruction the event belongs to */
	uint64_t icount_hi; /* (the header's icount + 1), inclusive */
};

/* A sink embeds this first. `cpu` is the CPU whose state heads events raised by
 * devices that do not know it (set by cpu_create). `active` and `filter` are
 * the sink's, visible here so that a producer with work to do before emitting
 * (the instruction event's register snapshot) skips it for an event that
 * would be dropped. */
struct tracer {
	unsigned categories; /* the events producers raise (fixed at creation) */
	unsigned active;     /* of those, the ones switched on now (the guest's hypercall) */
	trace_sink_fn sink;
	const struct cpu *cpu;
	struct trace_filter filter;
};

static inline bool
tracer_wants(const struct tracer *t, enum trace_category cat)
{
	return t && (t->categories & cat);
}

/* Does a header pass the filter's header conditions? */
static inline bool
trace_filter_hdr(const struct trace_filter *f, const struct trace_hdr *h)
{
	return (f->cpl_mask & (1u << (h->cpl & 3))) && (f->vmx_mask & (1u << h->vmx)) &&
	       (!f->cr3_set || h->cr3 == f->cr3) && h->icount + 1 >= f->icount_lo &&
	       h->icount + 1 <= f->icount_hi;
}

/* Does an address pass the filter's range? */
static inline bool
trace_filter_addr(const struct trace_filter *f, uint64_t addr)
{
	return !f->addr_set || (addr >= f->addr_lo && addr <= f->addr_hi);
}

/* Fill the header from the CPU's state now (cpu/trace_cpu.c). */
void trace_hdr_fill(struct trace_hdr *h, const struct cpu *cpu);

/* ---- typed emitters: trace_<emitter>(t, cpu, fields...) checks the category
 * and takes the header from cpu (or the tracer's CPU when NULL);
 * trace_<emitter>_hdr(t, h, fields...) takes a header captured earlier. ---- */

#define TRACE_PARAM_X8(n) , uint8_t n
#define TRACE_PARAM_X16(n) , uint16_t n
#define TRACE_PARAM_X32(n) , uint32_t n
#define TRACE_PARAM_X64(n) , uint64_t n
#define TRACE_PARAM_D8(n) , uint8_t n
#define TRACE_PARAM_D64(n) , uint64_t n
#define TRACE_PARAM_BOOL(n) , bool n
#define TRACE_PARAM_ERRCODE(n) , uint32_t n
#define TRACE_PARAM_CODE(n) , const uint8_t *n, uint8_t n##_len, uint8_t n##_bits
#define TRACE_PARAM_U64LIST(n) , const uint64_t *n, uint8_t n##_n
#define TRACE_PARAM_CHANGES(n) , const struct trace_changes *n
#define TRACE_PARAM_STR(n) , const char *n
#define TRACE_PARAM_F_(ty, n, s) TRACE_PARAM_##ty(n)
#define TRACE_PARAM_E_(et, n, s) , enum et n

#define TRACE_ARG_X8(n) , n
#define TRACE_ARG_X16(n) , n
#define TRACE_ARG_X32(n) , n
#define TRACE_ARG_X64(n) , n
#define TRACE_ARG_D8(n) , n
#define TRACE_ARG_D64(n) , n
#define TRACE_ARG_BOOL(n) , n
#define TRACE_ARG_ERRCODE(n) , n
#define TRACE_ARG_CODE(n) , n, n##_len, n##_bits
#define TRACE_ARG_U64LIST(n) , n, n##_n
#define TRACE_ARG_CHANGES(n) , n
#define TRACE_ARG_STR(n) , n
#define TRACE_ARG_F_(ty, n, s) TRACE_ARG_##ty(n)
#define TRACE_ARG_E_(et, n, s) , n

#define TRACE_VAL_X8(n) { .u = n },
#define TRACE_VAL_X16(n) { .u = n },
#define TRACE_VAL_X32(n) { .u = n },
#define TRACE_VAL_X64(n) { .u = n },
#define TRACE_VAL_D8(n) { .u = n },
#define TRACE_VAL_D64(n) { .u = n },
#define TRACE_VAL_BOOL(n) { .u = n },
#define TRACE_VAL_ERRCODE(n) { .u = n },
#define TRACE_VAL_CODE(n) { .code = { n, n##_len, n##_bits } },
#define TRACE_VAL_U64LIST(n) { .list = { n, n##_n } },
#define TRACE_VAL_CHANGES(n) { .chg = n },
#define TRACE_VAL_STR(n) { .s = n },
#define TRACE_VAL_F_(ty, n, s) TRACE_VAL_##ty(n)
#define TRACE_VAL_E_(et, n, s) { .u = (uint64_t)n },

#define TRACE_EMITTER_(fn, id, nm, cat, fields)                                                    \
	static inline void trace_##fn##_hdr(                                                       \
		struct tracer *t,                                                                  \
		const struct trace_hdr *h fields(TRACE_PARAM_F_, TRACE_PARAM_E_))                  \
	{                                                                                          \
		const struct trace_value v[] = { fields(TRACE_VAL_F_, TRACE_VAL_E_) };             \
		t->sink(t, id, h, v);                                                              \
	}                                                                                          \
	static inline void trace_##fn(                                                             \
		struct tracer *t, const struct cpu *cpu fields(TRACE_PARAM_F_, TRACE_PARAM_E_))    \
	{                                                                                          \
		if (__builtin_expect(!tracer_wants(t, cat), 1))                                    \
			return;                                                                    \
		struct trace_hdr h;                                                                \
		trace_hdr_fill(&h, cpu ? cpu : t->cpu);                                            \
		trace_##fn##_hdr(t, &h fields(TRACE_ARG_F_, TRACE_ARG_E_));                        \
	}
TRACE_EVENT_LIST(TRACE_EMITTER_)

#endif
