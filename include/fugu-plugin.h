/*
 * fugu — the plugin API (docs/TRACING.md, "Plugins"). Self-contained: a plugin
 * includes only this header and is built as a shared object, loaded with
 * `-plugin FILE.so[,key=value,...]`.
 *
 * A plugin exports two symbols:
 *
 *   const unsigned fugu_plugin_version = FUGU_PLUGIN_API_VERSION;
 *   int fugu_plugin_install(unsigned version, const struct fugu_api *api,
 *                           const struct fugu_machine_info *info, int argc, char **argv);
 *
 * fugu refuses a plugin whose fugu_plugin_version differs from its own
 * (one line on stderr, exit status 2) before calling anything in it. The
 * install function receives the key=value options as argv (argv[0] is the
 * file name), subscribes to events and returns 0, or nonzero to refuse (exit 2).
 *
 * Callbacks receive an event's fields as ordinary typed C arguments, in the
 * order of the event schema (docs/TRACING.md lists each event): fugu builds the
 * call with libffi from the schema, so `void on_out(uint16_t port, uint8_t size,
 * uint32_t value)` is a valid callback for the "out" event. With
 * FUGU_CB_HEADER the first argument is `const struct fugu_event_header *`.
 * Field types map to C types as:
 *   x8, d8 -> uint8_t;  x16 -> uint16_t;  x32, errcode -> uint32_t;
 *   x64, d64 -> uint64_t;  bool -> bool;  enum -> unsigned (the value; names in
 *   docs/TRACING.md; the insn event's mnemonic: api->insn_name());
 *   code -> three arguments (const uint8_t *bytes, uint8_t len, uint8_t bits);
 *   u64 list -> two (const uint64_t *entries, uint8_t n);
 *   changes -> const struct fugu_changes *;  label -> const char *.
 * Everything a callback receives by pointer is valid during the call only.
 */
#ifndef FUGU_PLUGIN_H
#define FUGU_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FUGU_PLUGIN_API_VERSION 1

/* The header every event carries (trace/events.h: struct trace_hdr). */
struct fugu_event_header {
	uint64_t icount; /* instructions retired before the event */
	uint64_t cr3;
	uint8_t cpl;
	uint8_t mode;  /* 0 real, 1 v86, 2 prot16, 3 prot32, 4 compat, 5 long64 */
	uint8_t vmx;   /* 0 none, 1 root, 2 non-root */
	uint64_t vmcs; /* the current-VMCS pointer in VMX operation, else all ones */
};

/* The registers an instruction changed; api->reg_field_name() names them. */
struct fugu_changes {
	uint8_t n;
	struct {
		uint16_t field;
		uint64_t value;
	} reg[24];
};

struct fugu_machine_info {
	const char *fugu_version;
	const char *cpu_model; /* the -cpu name */
	unsigned ncpus;
	uint64_t ram_size; /* bytes */
};

/* subscribe() flags */
#define FUGU_CB_HEADER 1u /* the callback's first argument is the event header */

/* A per-CPU scoreboard: one zeroed entry of a fixed size for each CPU. */
struct fugu_scoreboard;

/* An in-memory snapshot of the machine for fast reset (docs/SNAPSHOT.md). */
struct fugu_snapshot;

struct fugu_api {
	unsigned version; /* FUGU_PLUGIN_API_VERSION */

	/* Call `fn` for every `event` ("insn", "out", "interrupt"... the schema's
	 * names); 0, or -1 for an unknown event. Interrupts and exceptions (and VM
	 * exits, when VMX is modelled) are the discontinuity events: subscribe to
	 * "interrupt". A plugin-only subscription does not show in -d output. */
	int (*subscribe)(const char *event, void (*fn)(void), unsigned flags);

	/* Registers by name, as the CPU-state table names them ("rax", "cs.sel",
	 * "cr3", "efer"...): 0, or -1 for an unknown name (or a write to rip, which
	 * the run loop holds in a host register during a callback). */
	int (*reg_read)(const char *name, uint64_t *value);
	int (*reg_write)(const char *name, uint64_t value);
	const char *(*reg_field_name)(unsigned field); /* a struct fugu_changes field */

	/* Guest memory, RAM and ROM only, never MMIO: by virtual address through
	 * the current paging (no accessed/dirty bits set, no fault) or by physical
	 * address. 0, or -1 when some byte has no translation or no memory. */
	int (*mem_read_virt)(uint64_t va, void *buf, size_t len);
	int (*mem_write_virt)(uint64_t va, const void *buf, size_t len);
	int (*mem_read_phys)(uint64_t pa, void *buf, size_t len);
	int (*mem_write_phys)(uint64_t pa, const void *buf, size_t len);
	/* Virtual to physical through the current paging; 0 or -1 when unmapped. */
	int (*translate)(uint64_t va, uint64_t *pa);

	/* The insn event's mnemonic value as text ("mov", "jcc"...). */
	const char *(*insn_name)(unsigned id);

	/* Per-CPU scoreboards: entries of entry_size bytes, zeroed; the entry of
	 * CPU `cpu` (api->cpu_index() inside a callback). */
	struct fugu_scoreboard *(*scoreboard_new)(size_t entry_size);
	void *(*scoreboard_entry)(struct fugu_scoreboard *sb, unsigned cpu);
	unsigned (*cpu_index)(void);

	/* Call fn when the machine stops, before fugu exits (reports go here). */
	void (*at_exit)(void (*fn)(void));

	/* Fast reset, for fuzzing plugins (docs/SNAPSHOT.md). A callback runs
	 * inside an instruction, so both act at the next instruction boundary:
	 * snapshot_take returns at once a handle that holds the machine as it is
	 * after the current instruction (NULL: out of memory); snapshot_restore
	 * asks to go back to it there (-1: not a snapshot of this machine), copying
	 * only the RAM pages written since (the whole RAM when another snapshot was
	 * taken or restored since). Takes happen before a restore asked for at the
	 * same boundary. snapshot_pages: the pages the last restore copied;
	 * snapshot_free drops one (a restore still pending with it is cancelled). */
	struct fugu_snapshot *(*snapshot_take)(void);
	int (*snapshot_restore)(struct fugu_snapshot *s);
	uint64_t (*snapshot_pages)(const struct fugu_snapshot *s);
	void (*snapshot_free)(struct fugu_snapshot *s);
};

#endif
