/*
 * fugu — reverse execution for the GDB stub (docs/SNAPSHOT.md, "Reverse
 * debugging"). While a recording is replayed (-replay, deterministic clock),
 * every run is the same run, so going back means loading an in-memory snapshot
 * taken earlier on the way and running forward again to the point wanted:
 * reverse-stepi to the instruction count before this one, reverse-continue to
 * the last breakpoint or watchpoint hit before here (found by a forward scan
 * from each snapshot, newest first), or to the start of the history.
 */
#ifndef FUGU_REVERSE_H
#define FUGU_REVERSE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct pc;
struct replay;
struct reverse;

/* NULL when out of memory. The first snapshot is taken at the first boundary. */
struct reverse *reverse_create(struct pc *pc, struct replay *rp);
void reverse_destroy(struct reverse *rv);

/* At the top of the run loop, at an instruction boundary: take the snapshot
 * that is due; in a backward move, go on to its next stage. True when the move
 * has arrived (the debugger reports the stop: reverse_report). */
bool reverse_boundary(struct reverse *rv);
/* The slice's instruction budget, cut to stop where a move must look. */
uint64_t reverse_budget(const struct reverse *rv, uint64_t budget);
/* Start a backward move. False when the machine is at the start of the
 * history already: nothing moves, the stop is "replaylog:begin". */
bool reverse_step(struct reverse *rv);
bool reverse_continue(struct reverse *rv);
/* Is a backward move running (the machine runs forward for it)? */
bool reverse_moving(const struct reverse *rv);
/* cpu_exec stopped on a debugger point during a move's scan: noted, and the
 * CPU told to go on. False when no scan is running (an ordinary stop). */
bool reverse_debug_stop(struct reverse *rv);
/* The move was interrupted (Ctrl-C): the machine stays where it is. */
void reverse_abort(struct reverse *rv);
/* After arriving: did the move end at the start of the history? (The CPU's
 * debugger stop fields hold the breakpoint or step stop to report otherwise.) */
bool reverse_at_begin(const struct reverse *rv);

/* The debugger's `monitor reverse ...`: "info" lists the points, "interval N"
 * sets the instructions between them. Writes the answer to f. */
void reverse_describe(struct reverse *rv, const char *args, FILE *f);

#endif
