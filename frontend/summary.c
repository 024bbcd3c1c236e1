/*
 * fugu — the batch run summary: one JSON object, written at exit.
 */
#include "frontend/summary.h"

#include <inttypes.h>

void
run_summary_write(FILE *f, const struct run_summary *s)
{
	double mips = s->cpu_seconds > 0 ? (double)s->instructions / s->cpu_seconds / 1e6 : 0.0;
	/* The reason is one of fugu's own constant words: nothing to escape. */
	fprintf(f,
		"{\"status\": %d, \"reason\": \"%s\", \"instructions\": %" PRIu64
		", \"cpu_seconds\": %.6f, \"wall_seconds\": %.6f, \"mips\": %.3f"
		", \"serial_bytes\": %" PRIu64 ", \"triple_fault\": ",
		s->status, s->reason, s->instructions, s->cpu_seconds, s->wall_seconds, mips,
		s->serial_bytes);
	if (!s->triple_faults) {
		fputs("null}\n", f);
		return;
	}
	fprintf(f, "{\"count\": %u, \"registers\": {", s->triple_faults);
	for (unsigned k = 0; k < STATE_FIELD_COUNT; k++)
		fprintf(f, "%s\"%s\": \"0x%" PRIx64 "\"", k ? ", " : "", state_fields[k].name,
			state_get(&s->triple, (enum state_field_id)k));
	fputs("}}}\n", f);
}
