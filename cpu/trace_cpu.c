/*
 * fugu — the CPU side of tracing: the common event header and the instruction
 * event. Values only; the sinks in frontend/ format them.
 */
#include "cpu/trace_cpu.h"

#include <string.h>

#include "cpu/cpu_internal.h"

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
	h->vmx = TRACE_VMX_NONE; /* VMX is not modelled yet */
}

void
trace_insn_begin(struct cpu *cpu, struct trace_insn_pre *pre)
{
	trace_hdr_fill(&pre->hdr, cpu);
	memcpy(pre->gpr, cpu->state.gpr, sizeof(pre->gpr));
	pre->rip = cpu->state.rip;
	pre->rflags = rflags_read(cpu);
	for (int k = 0; k < 6; k++)
		pre->sel[k] = cpu->state.seg[k].sel;
}

void
trace_insn_end(struct tracer *t, struct cpu *cpu, const struct trace_insn_pre *pre,
	       const struct insn *i, const uint8_t *bytes, unsigned code_size)
{
	struct trace_changes chg;
	chg.mask = 0;
	for (int k = 0; k < 16; k++)
		if (cpu->state.gpr[k] != pre->gpr[k]) {
			chg.mask |= 1u << k;
			chg.val[k] = cpu->state.gpr[k];
		}
	for (int k = 0; k < 6; k++)
		if (cpu->state.seg[k].sel != pre->sel[k]) {
			chg.mask |= 1u << (TRACE_CHG_SEG + k);
			chg.val[TRACE_CHG_SEG + k] = cpu->state.seg[k].sel;
		}
	uint64_t fl = rflags_read(cpu);
	if (fl != pre->rflags) {
		chg.mask |= 1u << TRACE_CHG_RFLAGS;
		chg.val[TRACE_CHG_RFLAGS] = fl;
	}
	trace_insn_hdr(t, &pre->hdr, cpu->icount, pre->sel[S_CS], pre->rip, bytes,
		       bytes ? i->len : 0, (uint8_t)(code_size * 8), &chg);
}
