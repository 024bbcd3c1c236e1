/*
 * Fuzz harness: the command-line value parsers that take free text: the CPU
 * model and feature list (-cpu MODEL,+f,-f,f=on) and the trace categories
 * (-d a,b,c). A NUL-terminated copy of the input goes to each; they must
 * accept or refuse it with a message, never crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpuid.h"
#include "frontend/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	char err[256];
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	struct cpu_features f;
	if (cpu_features_parse(&f, s, err, sizeof(err)) != 0 && !memchr(err, 0, sizeof(err)))
		abort();
	unsigned mask = 0;
	(void)trace_parse_categories(s, &mask, err, sizeof(err));
	free(s);
	return 0;
}
