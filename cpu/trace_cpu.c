/*
 * fugu — the CPU side of tracing: the common event header and the instruction
 * event. Values only; the sinks in frontend/ format them.
 */
#include "cpu/trace_cpu.h"

#include <string.h>

#include "cpu/cpu_internal.h"
#include "cpu/jit/jit.h"
#include "cpu/vmx/vmx.h"

_Static_assert(NO_ERRCODE == TRACE_NO_ERRCODE, "one \"no error code\" value");
_Static_assert((int)EVENT_EXCEPTION == TRACE_INT_EXCEPTION && (int)EVENT_NMI == TRACE_INT_NMI,
	       "enum event_kind and enum trace_int_kind agree");

void
trace_hdr_fill(struct trace_hdr *h, const struct cpu *cpu)
{
	if (!cpu) { /* a device event before the CPU exists */
		memset(h, 0, sizeof(*h));
		return;
	}
	if (__builtin_expect(cpu->jcheck != NULL, 0))
		jit_check_note_event(cpu->jcheck); /* -jit check: the sink saw it: no second run */
	enum trace_mode mode;
	if (cpu_real_mode(cpu))
		mode = TRACE_MODE_REAL;
	else if (cpu->long_mode)
		mode = (cpu->state.seg[S_CS].attr & SEG_ATTR_L) ? TRACE_MODE_LONG64
								: TRACE_MODE_COMPAT;
	else if (cpu_v86(cpu))
		mode = TRACE_MODE_V86;
	else
		mode = cpu->code_size == 4 ? TRACE_MODE_PROT32 : TRACE_MODE_PROT16;
	h->icount = cpu->icount;
	h->cr3 = cpu->state.cr3;
	h->cpl = cpu->state.cpl;
	h->mode = (uint8_t)mode;
	h->vmx = cpu->vmx_nonroot           ? TRACE_VMX_NONROOT
		 : cpu->vmx && cpu->vmx->on ? TRACE_VMX_ROOT
					    : TRACE_VMX_NONE;
	h->vmcs = h->vmx != TRACE_VMX_NONE && cpu->vmx->current != VMCS_NONE ? cpu->vmx->current
									     : TRACE_NO_VMCS;
}

/* In the order the event lists them: RAX..R15, ES..GS selectors, RFLAGS. */
static const uint16_t delta_fields[TRACE_DELTA_FIELDS] = {
	STATE_RAX,    STATE_RCX,    STATE_RDX,    STATE_RBX,    STATE_RSP,    STATE_RBP,
	STATE_RSI,    STATE_RDI,    STATE_R8,     STATE_R9,     STATE_R10,    STATE_R11,
	STATE_R12,    STATE_R13,    STATE_R14,    STATE_R15,    STATE_ES_SEL, STATE_CS_SEL,
	STATE_SS_SEL, STATE_DS_SEL, STATE_FS_SEL, STATE_GS_SEL, STATE_RFLAGS,
};

/* The delta fields' values, read straight from the state (the generic
 * state_get per field was most of the cost of an instruction event). */
static inline void
snapshot(const struct cpu *cpu, uint64_t out[TRACE_DELTA_FIELDS])
{
	memcpy(out, cpu->state.gpr, 16 * sizeof(uint64_t));
	for (unsigned s = 0; s < 6; s++)
		out[16 + s] = cpu->state.seg[s].sel;
	out[22] = cpu->state.rflags;
}
_Static_assert(STATE_R15 - STATE_RAX == 15 && STATE_GS_SEL - STATE_ES_SEL == 5 * 4 &&
		       TRACE_DELTA_FIELDS == 23,
	       "snapshot() reads the delta fields in delta_fields[] order");

bool
trace_insn_begin(struct cpu *cpu, struct trace_insn_pre *pre)
{
	const struct tracer *t = cpu->tracer;
	if (!(t->active & TRACE_CAT_INSN))
		return false;
	trace_hdr_fill(&pre->hdr, cpu);
	pre->rip = cpu->state.rip;
	pre->cs = cpu->state.seg[S_CS].sel;
	/* The linear address; outside 64-bit mode linear addresses are 32 bits. */
	pre->lin = cpu->state.seg[S_CS].base + pre->rip;
	if (!cpu->long_mode || !(cpu->state.seg[S_CS].attr & SEG_ATTR_L))
		pre->lin = (uint32_t)pre->lin;
	if (t->filter.any &&
	    (!trace_filter_hdr(&t->filter, &pre->hdr) || !trace_filter_addr(&t->filter, pre->lin)))
		return false;
	flags_materialize(cpu); /* RFLAGS in the state is exact from here */
	snapshot(cpu, pre->before);
	return true;
}

void
trace_insn_end(struct tracer *t, struct cpu *cpu, const struct trace_insn_pre *pre,
	       const struct insn *i, const uint8_t *bytes, unsigned code_size)
{
	struct trace_changes chg;
	chg.n = 0;
	flags_materialize(cpu);
	uint64_t after[TRACE_DELTA_FIELDS];
	snapshot(cpu, after);
	for (unsigned k = 0; k < TRACE_DELTA_FIELDS; k++) {
		if (after[k] != pre->before[k]) {
			chg.reg[chg.n].field = delta_fields[k];
			chg.reg[chg.n++].value = after[k];
		}
	}
	trace_insn_hdr(t, &pre->hdr, cpu->icount, pre->cs, pre->rip, bytes, bytes ? i->len : 0,
		       (uint8_t)(code_size * 8), &chg, pre->lin, (enum insn_id)i->id);
}
