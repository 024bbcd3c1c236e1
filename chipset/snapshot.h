/*
 * fugu — snapshots of the whole machine (docs/SNAPSHOT.md).
 *
 * A file snapshot holds the machine's configuration, the CPU, the board, one
 * named and versioned section per device of the device table, the virtual
 * clock with its armed timers, RAM (zstd) and the -snapshot disk overlays,
 * each section with its own CRC-32. Loading checks everything before it
 * changes anything.
 *
 * A fast snapshot lives in memory: taking it copies RAM once and turns on
 * dirty tracking in the physical map; restoring copies back only the pages
 * written since (or since the last restore), so a fuzzer can reset per test
 * case in time proportional to what the guest touched.
 */
#ifndef FUGU_SNAPSHOT_H
#define FUGU_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

struct pc;

#define SNAPSHOT_MAGIC "FUGUSNAP"
#define SNAPSHOT_FORMAT_VERSION 1

/* Save the machine to `path` at an instruction boundary; 0, or -1 with a
 * one-line message in err. The running machine is not changed. */
int machine_save(struct pc *pc, const char *path, char *err, size_t errlen);
/*
 * Load `path` into pc, a machine built with the same configuration. A file
 * that is truncated, corrupt (a CRC), of another format or section version,
 * or from a machine that differs (RAM size, CPU model or features, devices,
 * drives, firmware, clock mode) is refused with one line naming the
 * difference, and pc is left as it was: -1. 0 when loaded.
 */
int machine_load(struct pc *pc, const char *path, char *err, size_t errlen);

/* ---- fast reset ---- */
struct snapshot;
/* Take an in-memory snapshot of pc (RAM copied once; dirty tracking starts).
 * NULL with a message in err when out of memory. The newest snapshot of a
 * machine is the one whose restores cost O(pages dirtied). */
struct snapshot *snapshot_take(struct pc *pc, char *err, size_t errlen);
/* Put the machine back to the snapshot: the pages written since the snapshot
 * or the last restore, the CPU, the board, every device, the clock and the
 * disk overlays. A snapshot that is not the newest restores all of RAM. */
void snapshot_restore(struct snapshot *s);
/* Pages copied back by the last restore (benchmarks, tests). */
uint64_t snapshot_last_pages(const struct snapshot *s);
/* Free the snapshot; dirty tracking stops when it was the newest. */
void snapshot_free(struct snapshot *s);

#endif
