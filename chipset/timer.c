/*
 * fugu — the virtual clock and its deadline queue (a binary min-heap).
 */
#include "chipset/timer.h"

#include <stdlib.h>
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
