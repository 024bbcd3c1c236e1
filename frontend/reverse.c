/*
 * fugu — reverse execution for the GDB stub (frontend/reverse.h).
 *
 * History is a list of points, each an in-memory snapshot of the machine
 * (chipset/snapshot.c) with the replay reader's position at the same moment,
 * taken at run-loop boundaries every `interval` instructions. When the list is
 * full every other point goes and the interval doubles, so the list covers
 * the whole run with a bounded number of RAM copies.
 *
 * A backward move restores a point and runs forward again through the
 * ordinary run loop: to a fixed instruction count with the debugger's points
 * lifted (GOTO), or up to where the move started with them in place, noting
 * the last hit (SCAN; a point without a hit moves the scan to the point
 * before it). Replaying makes each forward run the run that was recorded.
 */
#include "frontend/reverse.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "chipset/pc.h"
#include "chipset/snapshot.h"
#include "cpu/cpu.h"
#include "frontend/replay.h"
#include "mmu/physmem.h"

#define MAX_POINTS 32
#define HISTORY_RAM (1ull << 30) /* RAM copies kept, at most (at least 2) */

struct point {
	struct snapshot *snap;
	struct replay_mark *mark;
	uint64_t icount;
};

enum phase { IDLE, SCAN, GOTO };

struct reverse {
	struct pc *pc;
	struct replay *rp;
	struct point pt[MAX_POINTS];
	unsigned n, max;
	uint64_t interval;
	enum phase phase;
	uint64_t target; /* GOTO: stop at this count; SCAN: look up to it */
	unsigned from;   /* the point the move restored */
	bool hit, begin;
	uint64_t hit_icount, hit_addr;
	uint8_t hit_stop, hit_kind;
	struct cpu_debugger lifted; /* GOTO: the debugger's points, put back on arrival */
};

struct reverse *
reverse_create(struct pc *pc, struct replay *rp)
{
	struct reverse *rv = calloc(1, sizeof(*rv));
	if (!rv)
		return NULL;
	rv->pc = pc;
	rv->rp = rp;
	uint64_t ram = pc->mem->ram_size ? pc->mem->ram_size : 1;
	rv->max = HISTORY_RAM / ram < 2            ? 2
		  : HISTORY_RAM / ram > MAX_POINTS ? MAX_POINTS
						   : (unsigned)(HISTORY_RAM / ram);
	/* about a RAM copy per 64 instructions per byte copied: 1M for 16 MiB */
	rv->interval = ram / 16 > (1u << 20) ? ram / 16 : (1u << 20);
	return rv;
}

static void
drop(struct point *p)
{
	snapshot_free(p->snap);
	replay_mark_free(p->mark);
	*p = (struct point){ 0 };
}

void
reverse_destroy(struct reverse *rv)
{
	if (!rv)
		return;
	for (unsigned k = 0; k < rv->n; k++)
		drop(&rv->pt[k]);
	free(rv);
}

static void
take(struct reverse *rv)
{
	if (rv->n == rv->max) { /* keep points 0, 2, 4...: the history thins out */
		unsigned kept = 0;
		for (unsigned k = 0; k < rv->n; k++) {
			if (k % 2)
				drop(&rv->pt[k]);
			else
				rv->pt[kept++] = rv->pt[k];
		}
		rv->n = kept;
		rv->interval *= 2;
	}
	char err[128];
	struct point p = { .snap = snapshot_take(rv->pc, err, sizeof(err)),
			   .mark = replay_mark(rv->rp),
			   .icount = rv->pc->cpu->icount };
	if (!p.snap || !p.mark) {
		drop(&p); /* out of memory: the history just has a gap */
		return;
	}
	rv->pt[rv->n++] = p;
}

static void
restore(struct reverse *rv, unsigned k)
{
	rv->from = k;
	snapshot_restore(rv->pt[k].snap);
	replay_rewind(rv->rp,
		      rv->pt[k].mark); /* a copy of what it was: cannot fail but by ENOMEM */
}

static void
lift_points(struct reverse *rv)
{
	struct cpu *cpu = rv->pc->cpu;
	rv->lifted = cpu->dbg;
	for (unsigned k = cpu->dbg.npoints; k-- > 0;)
		cpu_debugger_remove(cpu, cpu->dbg.point[k].kind, cpu->dbg.point[k].lin,
				    cpu->dbg.point[k].len);
}

static void
put_points_back(struct reverse *rv)
{
	for (unsigned k = 0; k < rv->lifted.npoints; k++)
		cpu_debugger_insert(rv->pc->cpu, rv->lifted.point[k].kind, rv->lifted.point[k].lin,
				    rv->lifted.point[k].len);
	rv->lifted.npoints = 0;
}

/* Restore point k and run forward to instruction `target`, points lifted. */
static void
go_to(struct reverse *rv, unsigned k, uint64_t target)
{
	restore(rv, k);
	lift_points(rv);
	rv->phase = GOTO;
	rv->target = target;
}

/* Restore point k and look for the last hit before `until`. */
static void
scan(struct reverse *rv, unsigned k, uint64_t until)
{
	restore(rv, k);
	rv->phase = SCAN;
	rv->target = until;
	rv->hit = false;
}

bool
reverse_boundary(struct reverse *rv)
{
	struct cpu *cpu = rv->pc->cpu;
	uint64_t ic = cpu->icount;
	switch (rv->phase) {
	case IDLE:
		if (!rv->n || ic >= rv->pt[rv->n - 1].icount + rv->interval)
			take(rv);
		return false;
	case SCAN:
		if (ic < rv->target)
			return false;
		if (rv->hit) {
			go_to(rv, rv->from, rv->hit_icount);
			return reverse_boundary(rv); /* a hit at the point itself: there */
		}
		if (rv->from == 0) { /* no hit in all the history */
			go_to(rv, 0, rv->pt[0].icount);
			rv->begin = true;
			return reverse_boundary(rv);
		}
		scan(rv, rv->from - 1, rv->pt[rv->from].icount);
		cpu->dbg.skip_break = false; /* a breakpoint right at the point counts */
		return false;
	case GOTO:
		if (ic < rv->target)
			return false;
		put_points_back(rv);
		rv->phase = IDLE;
		if (!rv->begin && rv->hit) {
			cpu->dbg.stop = rv->hit_stop;
			cpu->dbg.stop_kind = rv->hit_kind;
			cpu->dbg.stop_addr = rv->hit_addr;
		} else {
			cpu->dbg.stop = DBG_STOP_STEP;
		}
		return true;
	}
	return false;
}

uint64_t
reverse_budget(const struct reverse *rv, uint64_t budget)
{
	uint64_t ic = rv->pc->cpu->icount, stop = UINT64_MAX;
	if (rv->phase != IDLE)
		stop = rv->target;
	else if (rv->n)
		stop = rv->pt[rv->n - 1].icount + rv->interval;
	if (stop > ic && stop - ic < budget)
		budget = stop - ic;
	return budget;
}

/* The newest point at or before instruction `ic` (strictly before: `before`). */
static unsigned
point_before(const struct reverse *rv, uint64_t ic, bool before)
{
	unsigned k = rv->n;
	while (k > 1 && (before ? rv->pt[k - 1].icount >= ic : rv->pt[k - 1].icount > ic))
		k--;
	return k - 1;
}

bool
reverse_step(struct reverse *rv)
{
	uint64_t ic = rv->pc->cpu->icount;
	rv->begin = false;
	rv->hit = false;
	if (!rv->n || ic <= rv->pt[0].icount)
		return false;
	go_to(rv, point_before(rv, ic - 1, false), ic - 1);
	return true;
}

bool
reverse_continue(struct reverse *rv)
{
	uint64_t ic = rv->pc->cpu->icount;
	rv->begin = false;
	if (!rv->n || ic <= rv->pt[0].icount)
		return false;
	scan(rv, point_before(rv, ic, true), ic);
	return true;
}

bool
reverse_moving(const struct reverse *rv)
{
	return rv->phase != IDLE;
}

bool
reverse_debug_stop(struct reverse *rv)
{
	struct cpu *cpu = rv->pc->cpu;
	if (rv->phase != SCAN)
		return false;
	if (cpu->icount < rv->target) { /* the latest hit so far */
		rv->hit = true;
		rv->hit_icount = cpu->icount;
		rv->hit_stop = cpu->dbg.stop;
		rv->hit_kind = cpu->dbg.stop_kind;
		rv->hit_addr = cpu->dbg.stop_addr;
	}
	cpu_debugger_resume(cpu, false);
	return true;
}

void
reverse_abort(struct reverse *rv)
{
	if (rv->phase == GOTO)
		put_points_back(rv);
	rv->phase = IDLE;
}

bool
reverse_at_begin(const struct reverse *rv)
{
	return rv->begin;
}

void
reverse_describe(struct reverse *rv, const char *args, FILE *f)
{
	if (!strncmp(args, "interval ", 9)) {
		char *end;
		unsigned long long v = strtoull(args + 9, &end, 0);
		if (!v || *end) {
			fprintf(f, "reverse interval: a count of instructions (> 0)\n");
			return;
		}
		rv->interval = v;
	} else if (strcmp(args, "info")) {
		fprintf(f, "reverse: info | interval N\n");
		return;
	}
	fprintf(f, "%u of %u snapshots, one every %" PRIu64 " instructions:", rv->n, rv->max,
		rv->interval);
	for (unsigned k = 0; k < rv->n; k++)
		fprintf(f, " %" PRIu64, rv->pt[k].icount);
	fputc('\n', f);
}
