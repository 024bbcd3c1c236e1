/*
 * fugu — the human monitor (`-monitor stdio`, `-monitor tcp:HOST:PORT,server`),
 * with QEMU's HMP command names where both have the command: info registers /
 * cpus / mtree / pci / irq / pic / lapic / trace, x and xp, stop, cont,
 * system_reset, system_powerdown, screendump, trace-event, quit, help.
 */
#ifndef FUGU_MONITOR_H
#define FUGU_MONITOR_H

#include <stdbool.h>
#include <stddef.h>

struct pc;
struct tracer;
struct monitor;

/* Open the monitor at `spec` ("stdio", "tcp:HOST:PORT,server[,nowait]"; "none" is
 * handled by the caller); NULL with a message on error. `tracer` is the machine's
 * tracer (trace-event changes its categories; NULL: trace-event says so). */
struct monitor *monitor_open(const char *spec, struct pc *pc, struct tracer *tracer, char *err,
			     size_t errlen);
void monitor_close(struct monitor *m);
/* The descriptor to wait on for input (the connection, the listening socket or stdin). */
int monitor_fd(const struct monitor *m);
/* Recording or replaying (`why`): refuse the commands that change the guest
 * other than by host input a recording logs (system_reset, loadvm...). */
void monitor_freeze(struct monitor *m, const char *why);
/* Read and run the commands that arrived; never blocks. */
void monitor_serve(struct monitor *m);
/* Did `stop` pause the machine (until `cont`)? Did `quit` ask fugu to end? */
bool monitor_paused(const struct monitor *m);
/* -S: start paused until `cont`. */
void monitor_pause(struct monitor *m);
bool monitor_quit(const struct monitor *m);

#endif
