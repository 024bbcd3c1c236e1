/*
 * fugu — record and replay (-record FILE, -replay FILE; docs/SNAPSHOT.md).
 *
 * With -clock deterministic everything the guest sees follows from the
 * instruction count, except input from the host. Recording logs each such
 * input (serial bytes for now) with the instruction count and virtual time at
 * which it reached the machine, and a checkpoint of the machine's state every
 * so many instructions; replaying feeds the inputs back at the same points,
 * ignores the host's input, and compares every checkpoint, reporting the first
 * divergence with the instruction count and the first differing register,
 * device or RAM.
 */
#ifndef FUGU_REPLAY_H
#define FUGU_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pc;
struct replay;

#define REPLAY_INTERVAL_DEFAULT (1ull << 22) /* instructions between checkpoints */

/* Start recording pc's run into path, or replaying it from path; NULL with a
 * one-line message in err. */
struct replay *replay_record(struct pc *pc, const char *path, uint64_t interval, char *err,
			     size_t errlen);
struct replay *replay_replay(struct pc *pc, const char *path, char *err, size_t errlen);
/* The instruction count at which the run loop must next stop: a checkpoint or
 * (replaying) an input; UINT64_MAX when none. */
uint64_t replay_next_stop(const struct replay *r);
/* At the top of the run loop: write or check the checkpoint that is due.
 * -1 when the replay diverged (the report is on stderr). */
int replay_checkpoint(struct replay *r);
/* Where the run loop polls the host: replaying, feed the inputs due now (1
 * when some were: the guest has input, so the loop must not idle). -1 when the
 * run has passed an input's moment (a divergence, reported). */
int replay_inputs(struct replay *r);
/* Replaying: the recording ended here by -timeout (host time, which a replay
 * cannot see): true with its exit status. Other ends happen by themselves. */
bool replay_ended(const struct replay *r, int *status);
/* The run ended with `status`: the recording's end line, or (replaying) a check
 * that the run ended where the recording did, with the same status. Returns -1
 * on a divergence (reported). Frees r; NULL is nothing. */
int replay_finish(struct replay *r, int status);

/* Replaying: where the reader is (with the machine's snapshot, a point a
 * debugger can go back to); NULL when recording or out of memory. Rewinding
 * makes the reader continue from there; 0, or -1 (nothing changed). */
struct replay_mark;
struct replay_mark *replay_mark(const struct replay *r);
int replay_rewind(struct replay *r, const struct replay_mark *m);
void replay_mark_free(struct replay_mark *m);

#endif
