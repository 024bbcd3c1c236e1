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
	/* By a table from encoding to row, made from vmcs_fields on the first
	 * call (VMREAD and VMWRITE look up on every execution; a scan of the
	 * table was a tenth of a CPUID exit round trip). fugu runs its CPUs on
	 * one thread. Slot: encoding bits 14:1 (bit 12 is 0 here); row + 1, 0
	 * for none. */
	static uint8_t row_of[1u << 14];
	static bool built;
	_Static_assert(VMCS_FIELD_COUNT < 255, "rows fit uint8_t");
	if (!built) {
		for (unsigned k = VMCS_FIELD_COUNT; k-- > 0;) /* the first row wins */
			row_of[(vmcs_fields[k].enc >> 1) & 0x3fff] = (uint8_t)(k + 1);
		built = true;
	}
	unsigned r = row_of[(enc >> 1) & 0x3fff];
	if (!r || vmcs_fields[r - 1].enc != (enc & ~1u))
		return -1;
	return vmcs_fields[r - 1].cap == VC_ALL ? (int)(r - 1) : -1;
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

void
vmcs_guest_from_state(const struct cpu_state *s, uint64_t *f)
{
	for (unsigned k = 0; k < VMCS_FIELD_COUNT; k++) {
		const struct vmcs_field *vf = &vmcs_fields[k];
		if (vmcs_enc_type(vf->enc) != VMCS_T_GUEST)
			continue;
		if (vf->map == VM_PLAIN) {
			f[k] = state_get(s, vf->state) & vmcs_width_mask(vmcs_enc_width(vf->enc));
		} else if (vf->map == VM_AR) {
			uint16_t attr = (uint16_t)state_get(s, vf->state);
			bool usable = (attr & SEG_ATTR_P) || k == VMCS_GUEST_CS_AR ||
				      k == VMCS_GUEST_TR_AR;
			f[k] = vmcs_ar_from_attr(attr, usable);
		}
	}
}
