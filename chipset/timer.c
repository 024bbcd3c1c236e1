/*
 * fugu — the virtual clock and its deadline queue (a binary min-heap).
 */
#include "chipset/timer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t
host_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void
vclock_init(struct vclock *c, enum vclock_mode mode, const uint64_t *icount)
{
	*c = (struct vclock){ .mode = mode, .icount = icount, .ns_per_insn = 1 };
	c->host_origin_ns = host_now_ns();
}

void
vclock_destroy(struct vclock *c)
{
	free(c->heap);
	c->heap = NULL;
	c->nheap = c->capheap = 0;
	free(c->all);
	c->all = NULL;
	c->nall = c->capall = 0;
}

uint64_t
vclock_now(const struct vclock *c)
{
	if (c->mode == VCLOCK_DETERMINISTIC)
		return (c->icount ? *c->icount : 0) * c->ns_per_insn + c->idle_ns;
	return (c->paused_at ? c->paused_at : host_now_ns()) - c->host_origin_ns;
}

void
vclock_pause(struct vclock *c)
{
	if (!c->paused_at)
		c->paused_at = host_now_ns();
}

void
vclock_resume(struct vclock *c)
{
	if (c->paused_at)
		c->host_origin_ns += host_now_ns() - c->paused_at;
	c->paused_at = 0;
}

void
vclock_set_icount(struct vclock *c, const uint64_t *icount)
{
	uint64_t now = vclock_now(c);
	c->icount = icount;
	if (c->mode == VCLOCK_DETERMINISTIC) /* unsigned wrap-around keeps it exact */
		c->idle_ns = now - (icount ? *icount : 0) * c->ns_per_insn;
}

void
vclock_skip_to(struct vclock *c, uint64_t ns)
{
	uint64_t now = vclock_now(c);
	if (c->mode == VCLOCK_DETERMINISTIC && ns > now && ns != VCLOCK_NEVER)
		c->idle_ns += ns - now;
}

uint64_t
vclock_next_deadline(const struct vclock *c)
{
	return c->nheap ? c->heap[0]->deadline : VCLOCK_NEVER;
}

static void
heap_set(struct vclock *c, unsigned i, struct vtimer *t)
{
	c->heap[i] = t;
	t->heap_index = (int)i;
}

static void
sift_up(struct vclock *c, unsigned i)
{
	struct vtimer *t = c->heap[i];
	while (i > 0) {
		unsigned parent = (i - 1) / 2;
		if (c->heap[parent]->deadline <= t->deadline)
			break;
		heap_set(c, i, c->heap[parent]);
		i = parent;
	}
	heap_set(c, i, t);
}

static void
sift_down(struct vclock *c, unsigned i)
{
	struct vtimer *t = c->heap[i];
	for (;;) {
		unsigned child = 2 * i + 1;
		if (child >= c->nheap)
			break;
		if (child + 1 < c->nheap && c->heap[child + 1]->deadline < c->heap[child]->deadline)
			child++;
		if (t->deadline <= c->heap[child]->deadline)
			break;
		heap_set(c, i, c->heap[child]);
		i = child;
	}
	heap_set(c, i, t);
}

static void
heap_remove(struct vclock *c, struct vtimer *t)
{
	unsigned i = (unsigned)t->heap_index;
	struct vtimer *last = c->heap[--c->nheap];
	t->heap_index = -1;
	if (last == t)
		return;
	heap_set(c, i, last);
	if (i > 0 && c->heap[(i - 1) / 2]->deadline > last->deadline)
		sift_up(c, i);
	else
		sift_down(c, i);
}

void
vtimer_init(struct vtimer *t, struct vclock *c, const char *name, vtimer_cb cb, void *opaque)
{
	*t = (struct vtimer){ .clock = c,
			      .deadline = VCLOCK_NEVER,
			      .cb = cb,
			      .opaque = opaque,
			      .name = name,
			      .heap_index = -1 };
	for (unsigned k = 0; k < c->nall; k++)
		if (c->all[k] == t)
			return; /* made again (a device re-initialised): keeps its place */
	if (c->nall == c->capall) {
		unsigned cap = c->capall ? c->capall * 2 : 16;
		struct vtimer **a = realloc(c->all, cap * sizeof(*a));
		if (!a)
			abort(); /* as vtimer_arm: a handful per device */
		c->all = a;
		c->capall = cap;
	}
	c->all[c->nall++] = t;
}

void
vtimer_disarm(struct vtimer *t)
{
	if (t->heap_index >= 0)
		heap_remove(t->clock, t);
	t->deadline = VCLOCK_NEVER;
}

void
vtimer_arm(struct vtimer *t, uint64_t deadline_ns)
{
	struct vclock *c = t->clock;
	if (deadline_ns == VCLOCK_NEVER) {
		vtimer_disarm(t);
		return;
	}
	if (t->heap_index >= 0) {
		uint64_t old = t->deadline;
		t->deadline = deadline_ns;
		if (deadline_ns < old)
			sift_up(c, (unsigned)t->heap_index);
		else
			sift_down(c, (unsigned)t->heap_index);
		return;
	}
	if (c->nheap == c->capheap) {
		unsigned cap = c->capheap ? c->capheap * 2 : 16;
		struct vtimer **h = realloc(c->heap, cap * sizeof(*h));
		if (!h)
			abort(); /* a handful of timers per device: cannot fail in practice */
		c->heap = h;
		c->capheap = cap;
	}
	t->deadline = deadline_ns;
	heap_set(c, c->nheap++, t);
	sift_up(c, (unsigned)t->heap_index);
}

unsigned
vclock_run_expired(struct vclock *c)
{
	unsigned fired = 0;
	uint64_t now = vclock_now(c);
	while (c->nheap && c->heap[0]->deadline <= now) {
		struct vtimer *t = c->heap[0];
		heap_remove(c, t);
		t->deadline = VCLOCK_NEVER;
		t->cb(t->opaque); /* may re-arm t or others */
		fired++;
	}
	return fired;
}

int
vclock_save(const struct vclock *c, struct vclock_saved *s)
{
	memset(s, 0, sizeof(*s));
	if (c->nall > VCLOCK_SAVED_TIMERS)
		return -1;
	s->mode = c->mode;
	s->ns_per_insn = c->ns_per_insn;
	s->idle_ns = c->idle_ns;
	s->now_ns = vclock_now(c);
	s->ntimers = c->nall;
	s->nheap = c->nheap;
	for (unsigned k = 0; k < c->nall; k++) {
		const struct vtimer *t = c->all[k];
		snprintf(s->timer[k].name, sizeof(s->timer[k].name), "%s", t->name ? t->name : "");
		s->timer[k].deadline = t->heap_index >= 0 ? t->deadline : VCLOCK_NEVER;
		s->timer[k].heap_index = t->heap_index;
	}
	return 0;
}

int
vclock_check(const struct vclock *c, const struct vclock_saved *s, char *err, size_t errlen)
{
	static const char *const modes[] = { "realtime", "deterministic" };
	if (s->mode != (uint32_t)c->mode) {
		snprintf(err, errlen, "clock mode: snapshot %s, this machine %s",
			 s->mode < 2 ? modes[s->mode] : "unknown", modes[c->mode]);
		return -1;
	}
	if (s->ntimers != c->nall || s->nheap > s->ntimers || s->ns_per_insn == 0) {
		snprintf(err, errlen, "timers: snapshot has %u, this machine %u", s->ntimers,
			 c->nall);
		return -1;
	}
	bool used[VCLOCK_SAVED_TIMERS] = { false };
	unsigned armed = 0;
	for (unsigned k = 0; k < s->ntimers; k++) {
		const char *name = c->all[k]->name ? c->all[k]->name : "";
		if (strncmp(s->timer[k].name, name, sizeof(s->timer[k].name) - 1)) {
			snprintf(err, errlen, "timer %u: snapshot '%.15s', this machine '%s'", k,
				 s->timer[k].name, name);
			return -1;
		}
		int32_t h = s->timer[k].heap_index;
		if (h < 0)
			continue;
		if ((uint32_t)h >= s->nheap || used[h] || s->timer[k].deadline == VCLOCK_NEVER) {
			snprintf(err, errlen, "timer %u: bad queue position", k);
			return -1;
		}
		used[h] = true;
		armed++;
	}
	if (armed != s->nheap) {
		snprintf(err, errlen, "timer queue: %u armed, %u queued", armed, s->nheap);
		return -1;
	}
	/* vclock_restore takes the queue as it is: a parent's deadline is at most
	 * its children's, or an expired timer below a later one would not fire. */
	uint64_t at[VCLOCK_SAVED_TIMERS];
	for (unsigned k = 0; k < s->ntimers; k++)
		if (s->timer[k].heap_index >= 0)
			at[s->timer[k].heap_index] = s->timer[k].deadline;
	for (unsigned k = 0; k < s->ntimers; k++) {
		int32_t h = s->timer[k].heap_index;
		if (h > 0 && at[(h - 1) / 2] > at[h]) {
			snprintf(err, errlen,
				 "section 'clock' is corrupt (timer '%.15s' out of deadline order)",
				 s->timer[k].name);
			return -1;
		}
	}
	return 0;
}

void
vclock_restore(struct vclock *c, const struct vclock_saved *s)
{
	c->ns_per_insn = s->ns_per_insn;
	c->idle_ns = s->idle_ns;
	if (c->mode == VCLOCK_REALTIME) {
		/* virtual time continues from the saved moment */
		uint64_t host = c->paused_at ? c->paused_at : host_now_ns();
		c->host_origin_ns = host - s->now_ns;
	}
	for (unsigned k = 0; k < c->nall; k++)
		vtimer_disarm(c->all[k]);
	if (s->nheap > c->capheap) {
		struct vtimer **h = realloc(c->heap, s->nheap * sizeof(*h));
		if (!h)
			abort();
		c->heap = h;
		c->capheap = s->nheap;
	}
	/* The queue exactly as saved (a valid heap, so no sifting). */
	for (unsigned k = 0; k < c->nall; k++) {
		if (s->timer[k].heap_index < 0)
			continue;
		c->all[k]->deadline = s->timer[k].deadline;
		heap_set(c, (unsigned)s->timer[k].heap_index, c->all[k]);
	}
	c->nheap = s->nheap;
}
