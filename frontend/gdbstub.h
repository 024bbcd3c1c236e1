/*
 * fugu — the GDB remote stub (`-gdb tcp::PORT`, `-s`, `-S`), QEMU's syntax.
 *
 * Real gdb attaches over TCP and sees an x86-64 target: the registers of the
 * CPU-state field table, memory by linear address (current paging) or, after
 * `monitor phys on`, by physical address, breakpoints and watchpoints that are
 * fugu's own (the guest's DR0-DR7 never see them), single-step with interrupts
 * held back (QEMU's default; `monitor step-irqs on` lets them in), Ctrl-C, and
 * monitor commands through qRcmd. While the debugger holds the machine the
 * virtual clock stands still.
 */
#ifndef FUGU_GDBSTUB_H
#define FUGU_GDBSTUB_H

#include <stdbool.h>
#include <stddef.h>

#include "cpu/cpu.h"

struct pc;
struct gdbstub;

/* Listen at `spec` ("tcp::PORT" or "tcp:HOST:PORT"); NULL with a message on error.
 * With `wait`, the machine starts stopped until gdb connects and continues (-S). */
struct gdbstub *gdbstub_open(const char *spec, struct pc *pc, bool wait, char *err, size_t errlen);
void gdbstub_close(struct gdbstub *g);

/* Does the debugger hold the machine (connected and stopped, or -S before that)? */
bool gdbstub_stopped(const struct gdbstub *g);
/* The file descriptor to wait on (the listening socket or the connection). */
int gdbstub_fd(const struct gdbstub *g);

enum gdbstub_result { GDBSTUB_OK, GDBSTUB_KILL };
/* Serve the socket. While the guest runs this never blocks (a connection or a
 * Ctrl-C stops the machine); while stopped it waits up to `timeout_ms` for
 * packets and returns when gdb resumes the machine or the time is up. */
enum gdbstub_result gdbstub_serve(struct gdbstub *g, int timeout_ms);
/* cpu_exec returned CPU_EXIT_DEBUG (or halted during a step): tell gdb, stop. */
void gdbstub_cpu_stopped(struct gdbstub *g);
/* Replaying `rp`: reverse-stepi and reverse-continue (frontend/reverse.h). */
struct replay;
void gdbstub_enable_reverse(struct gdbstub *g, struct replay *rp);
/* At the top of the run loop (an instruction boundary): reverse execution's
 * snapshots and moves; a move that arrives stops the machine. */
void gdbstub_boundary(struct gdbstub *g);
/* The slice's budget, cut where reverse execution must look. */
uint64_t gdbstub_budget(const struct gdbstub *g, uint64_t budget);
/* The machine ends with `status`: tell gdb (W packet). */
void gdbstub_exited(struct gdbstub *g, int status);

#endif
