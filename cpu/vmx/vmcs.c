/*
 * fugu — the VMCS field table as data (cpu/vmx/vmcs.h) and the helpers that
 * read it: lookup by encoding, widths, the VMCS_ENUM index, access rights.
 */
#include "cpu/vmx/vmcs.h"

#include <stddef.h>

const struct vmcs_field vmcs_fields[VMCS_FIELD_COUNT] = {
#define X(id, e, n, c, m, sf) [VMCS_##id] = { n, e, c, m, sf },
	VMCS_FIELD_LIST(X)
#undef X
};

int
vmcs_field_lookup(uint32_t enc, bool *high)
{
	/* Bits 31:15 and bit 12 are reserved; a "high" access exists only for
	 * 64-bit fields (SDM vol. 3C, 24.11.2). */
	if (enc & 0xffff9000u)
		return -1;
	*high = (enc & 1) != 0;
	if (*high && vmcs_enc_width(enc) != VMCS_W64)
		return -1;
	uint32_t full = enc & ~1u;
	for (unsigned k = 0; k < VMCS_FIELD_COUNT; k++)
		if (vmcs_fields[k].enc == full)
			return vmcs_fields[k].cap == VC_ALL ? (int)k : -1;
	return -1;
}

uint64_t
vmcs_width_mask(enum vmcs_width w)
{
	switch (w) {
	case VMCS_W16: return 0xffff;
	case VMCS_W32: return 0xffffffff;
	default: return ~0ull;
	}
}

unsigned
vmcs_max_index(void)
{
	unsigned max = 0;
	for (unsigned k = 0; k < VMCS_FIELD_COUNT; k++)
		if (vmcs_fields[k].cap == VC_ALL && ((vmcs_fields[k].enc >> 1) & 0x1ff) > max)
			max = (vmcs_fields[k].enc >> 1) & 0x1ff;
	return max;
}

/* VMCS access rights (SDM vol. 3C, 24.4.1, table 24-2): type, S, DPL, P in
 * bits 7:0, AVL, L, D/B, G in bits 15:12, unusable in bit 16. struct segment
 * keeps the first byte as is and the second nibble in bits 11:8. */
uint32_t
vmcs_ar_from_attr(uint16_t attr, bool usable)
{
	return (attr & 0xffu) | ((uint32_t)(attr & 0xf00u) << 4) | (usable ? 0 : VMCS_AR_UNUSABLE);
}

uint16_t
vmcs_attr_from_ar(uint32_t ar)
{
	return (uint16_t)((ar & 0xffu) | ((ar >> 4) & 0xf00u));
}
