/*
 * Fuzz harness: the instruction decoder (cpu/decode.c). The first byte picks
 * the code size (16, 32 or 64 bit), the rest are the instruction bytes, given
 * in a buffer of exactly their length so ASan sees any read past them. The
 * decoder must agree with itself: a decoded length is at most 15 and at most
 * what was given; the same bytes cut to that length decode to the same
 * length; one byte fewer needs more; 15 bytes or more never "need more".
 * libFuzzer entry point (clang -fsanitize=fuzzer); AFL++ drives it the same
 * way through afl-clang-fast's libFuzzer compatibility.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/cpuid.h"
#include "cpu/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned code_sizes[3] = { 2, 4, 8 };
	static struct cpu_features all;
	static int ready;
	char err[128];
	if (!ready) {
		if (cpu_features_parse(&all, "all", err, sizeof(err)) != 0)
			abort();
		ready = 1;
	}
	if (size < 1)
		return 0;
	unsigned cs = code_sizes[data[0] % 3];
	size_t n = size - 1 > 24 ? 24 : size - 1;
	uint8_t *bytes = malloc(n ? n : 1);
	if (!bytes)
		return 0;
	memcpy(bytes, data + 1, n);
	struct insn a, b;
	int len = decode_insn(bytes, (unsigned)n, cs, &all, &a);
	if (len > 0) {
		if ((size_t)len > n || len > INSN_MAX_LEN)
			abort();
		if (decode_insn(bytes, (unsigned)len, cs, &all, &b) != len)
			abort(); /* the same bytes, just enough of them */
		if (len > 1 &&
		    decode_insn(bytes, (unsigned)len - 1, cs, &all, &b) != DECODE_NEED_MORE)
			abort(); /* a prefix of an instruction is not a whole one */
	} else if (len == DECODE_NEED_MORE) {
		if (n >= INSN_MAX_LEN)
			abort(); /* 15 bytes decide: an instruction, or too long */
	} else if (len != DECODE_TOO_LONG) {
		abort();
	}
	free(bytes);
	return 0;
}
