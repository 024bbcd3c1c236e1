/*
 * fugu — the virtual clock and its deadline queue.
 *
 * One clock in nanoseconds for the whole machine. In realtime mode it follows the
 * host's monotonic clock; in deterministic mode it is derived from the CPU's
 * retired-instruction count, so a run is reproducible byte for byte. Devices never
 * tick: they compute their state from the clock and arm a timer for the next
 * moment that matters.
 */
#ifndef FUGU_TIMER_H
#define FUGU_TIMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VCLOCK_NEVER UINT64_MAX
/* The virtual time a machine may reach (146 years): the devices compute with
 * signed 64-bit nanoseconds, so a restored time at or past this is refused
 * (chipset/snapshot.c) and so is a device's saved instant past it. */
#define VCLOCK_TIME_LIMIT_NS (1ull << 62)

enum vclock_mode { VCLOCK_REALTIME, VCLOCK_DETERMINISTIC };

struct vtimer;

struct vclock {
	enum vclock_mode mode;
	uint64_t host_origin_ns; /* realtime: host monotonic time at virtual 0 */
	const uint64_t *icount;  /* deterministic: the CPU's retired-instruction count */
	uint32_t ns_per_insn;    /* deterministic: virtual time per instruction */
	uint64_t idle_ns;        /* deterministic: time skipped while the guest was halted */
	uint64_t paused_at;      /* realtime: host time the machine was paused at, 0 = running */
	struct vtimer **heap;    /* min-heap on deadline */
	unsigned nheap, capheap;
	struct vtimer **all; /* every timer made on this clock, in creation order (snapshots) */
	unsigned nall, capall;
};

typedef void (*vtimer_cb)(void *opaque);

struct vtimer {
	struct vclock *clock;
	uint64_t deadline; /* virtual ns, or VCLOCK_NEVER when disarmed */
	vtimer_cb cb;
	void *opaque;
	const char *name;
	int heap_index; /* -1 when not queued */
};

void vclock_init(struct vclock *c, enum vclock_mode mode, const uint64_t *icount);
void vclock_destroy(struct vclock *c);
uint64_t vclock_now(const struct vclock *c);
/* Earliest armed deadline, or VCLOCK_NEVER. */
uint64_t vclock_next_deadline(const struct vclock *c);
/* Fire, in deadline order, every timer whose deadline is <= now. Returns how many fired. */
unsigned vclock_run_expired(struct vclock *c);
/* Deterministic mode: count time by another CPU's instructions from now on,
 * continuing from the current time (several CPUs take turns: pc_switch_cpu). */
void vclock_set_icount(struct vclock *c, const uint64_t *icount);
/* Deterministic mode: jump virtual time forward to `ns` (the guest idles until then). */
void vclock_skip_to(struct vclock *c, uint64_t ns);
/* Stop and restart virtual time while the machine is paused (a debugger stop):
 * no time passes for the guest in between. Deterministic time never moves while
 * the CPU does not run, so these only matter in realtime mode. */
void vclock_pause(struct vclock *c);
void vclock_resume(struct vclock *c);
/* Host monotonic nanoseconds. */
uint64_t host_now_ns(void);

/*
 * The clock as a snapshot holds it: virtual time, and for each timer of the
 * clock (creation order, which the machine's configuration fixes) its deadline
 * and its place in the deadline queue, so timers due at the same moment fire in
 * the same order after a restore.
 */
#define VCLOCK_SAVED_TIMERS 32
struct vclock_saved {
	uint32_t mode;        /* enum vclock_mode */
	uint32_t ns_per_insn; /* deterministic */
	uint64_t idle_ns;     /* deterministic */
	uint64_t now_ns;      /* realtime: virtual time at the save */
	uint32_t ntimers;
	uint32_t nheap;
	struct {
		char name[16];
		uint64_t deadline; /* VCLOCK_NEVER: disarmed */
		int32_t heap_index;
		uint32_t pad;
	} timer[VCLOCK_SAVED_TIMERS];
};
/* -1 when the clock has more timers than the record holds. */
int vclock_save(const struct vclock *c, struct vclock_saved *s);
/* Check a record against this clock: 0, or -1 with the difference in err. */
int vclock_check(const struct vclock *c, const struct vclock_saved *s, char *err, size_t errlen);
/* Load a checked record: time, and every timer re-armed at its deadline. Call
 * after the devices' own restore (which may arm their timers). */
void vclock_restore(struct vclock *c, const struct vclock_saved *s);

void vtimer_init(struct vtimer *t, struct vclock *c, const char *name, vtimer_cb cb, void *opaque);
void vtimer_arm(struct vtimer *t, uint64_t deadline_ns);
void vtimer_disarm(struct vtimer *t);
static inline bool
vtimer_armed(const struct vtimer *t)
{
	return t->heap_index >= 0;
}

#endif
