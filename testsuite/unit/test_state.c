/*
 * Unit tests of the CPU state field table (cpu/state.h) and the mode gate
 * (cpu/mode.c): the table that the state dump, the SMM save maps, and later the
 * VMCS areas, the GDB register file and snapshots are derived from.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cpu/cpu_internal.h"
#include "mmu/physmem.h"
#include "testsuite/conformance/bare_machine.h"
#include "mmu/ioport.h"

/* Names are unique; every field lies inside struct cpu_state; no two overlap. */
static void
fields_are_distinct_and_inside_the_state(void **unused)
{
	(void)unused;
	static uint8_t owner[sizeof(struct cpu_state)];
	memset(owner, 0, sizeof(owner));
	for (unsigned k = 0; k < STATE_FIELD_COUNT; k++) {
		const struct state_field *f = &state_fields[k];
		assert_non_null(f->name);
		assert_true(f->size == 1 || f->size == 2 || f->size == 4 || f->size == 8);
		assert_true(f->offset + f->size <= offsetof(struct cpu_state, xsave));
		for (unsigned b = 0; b < f->size; b++) {
			assert_int_equal(owner[f->offset + b], 0);
			owner[f->offset + b] = 1;
		}
		for (unsigned j = 0; j < k; j++)
			assert_string_not_equal(state_fields[j].name, f->name);
		assert_int_equal(state_field_find(f->name), (int)k);
	}
	assert_int_equal(state_field_find("no-such-register"), -1);
}

/* The table reaches the very members it names. */
static void
fields_name_their_members(void **unused)
{
	(void)unused;
	struct cpu_state s;
	memset(&s, 0, sizeof(s));
	s.gpr[R_R13] = 0x1122334455667788ull;
	s.seg[S_SS].limit = 0xfffff;
	s.tr.attr = 0x8b;
	s.idtr.base = 0xfffff000;
	s.cr4 = CR4_PAE;
	s.msr.lstar = 0xffffffff81000000ull;
	s.halted = true;
	assert_int_equal(state_get(&s, STATE_R13), 0x1122334455667788ull);
	assert_int_equal(state_get(&s, STATE_SS_LIMIT), 0xfffff);
	assert_int_equal(state_get(&s, STATE_TR_ATTR), 0x8b);
	assert_int_equal(state_get(&s, STATE_IDTR_BASE), 0xfffff000);
	assert_int_equal(state_get(&s, STATE_CR4), CR4_PAE);
	assert_int_equal(state_get(&s, STATE_LSTAR), 0xffffffff81000000ull);
	assert_int_equal(state_get(&s, STATE_HALTED), 1);
	assert_string_equal(state_fields[STATE_CS_SEL].name, "cs.sel");
	assert_int_equal(state_fields[STATE_RIP].offset, offsetof(struct cpu_state, rip));
}

/* A store is truncated to the field's width and leaves its neighbours alone. */
static void
set_truncates_to_the_field(void **unused)
{
	(void)unused;
	struct cpu_state s;
	memset(&s, 0xa5, sizeof(s));
	state_set(&s, STATE_DS_SEL, 0x12345678);
	assert_int_equal(s.seg[S_DS].sel, 0x5678);
	assert_int_equal(s.seg[S_DS].attr, 0xa5a5);
	state_set(&s, STATE_GDTR_LIMIT, 0x1ffffffffull);
	assert_int_equal(s.gdtr.limit, 0xffffffffu);
	state_set(&s, STATE_NMI_BLOCKED, 2);
	assert_true(s.nmi_blocked == true);
}

static struct cpu *
make_cpu(const char *model)
{
	struct cpu *cpu = bare_cpu_create(model, 4 << 20);
	assert_non_null(cpu);
	return cpu;
}

/* The writable-bit table follows the model: a 64-bit part may set LME/NXE/SCE
 * and PAE/PGE, a P6 part has no EFER bits (SDM vol. 3A, 2.2.1, 2.5). */
static void
writable_bits_follow_the_model(void **unused)
{
	(void)unused;
	struct cpu *cpu = make_cpu("nehalem");
	assert_int_equal(cpu_efer_writable(cpu), EFER_SCE | EFER_LME | EFER_NXE);
	assert_true(cpu_cr4_writable(cpu) & CR4_PAE);
	assert_false(cpu_cr4_writable(cpu) & CR4_PKE);
	bare_cpu_destroy(cpu);
	cpu = make_cpu("pentiumpro");
	assert_int_equal(cpu_efer_writable(cpu), 0);
	assert_int_equal(cpu_write_efer(cpu, EFER_LME), -1);
	bare_cpu_destroy(cpu);
}

/* The unchecked load: LMA follows from the caller, PDPTEs load for PAE paging
 * (an invalid one refuses the load and changes nothing), the mode is derived. */
static void
unchecked_load_applies_side_effects(void **unused)
{
	(void)unused;
	struct cpu *cpu = make_cpu("nehalem");
	/* PDPT at 0x1000: entry 0 present, entry 1 present with reserved bit 5 set. */
	physmem_write_sized(cpu->mem, 0x1000, 0x2001, 8);
	physmem_write_sized(cpu->mem, 0x1008, 0x3021, 8);
	struct control_regs bad = { CR0_PE | CR0_PG | CR0_ET, 0x1000, CR4_PAE, 0 };
	uint64_t cr0 = cpu->state.cr0;
	assert_false(cpu_load_control(cpu, &bad, 0, "test"));
	assert_int_equal(cpu->state.cr0, cr0);
	physmem_write_sized(cpu->mem, 0x1008, 0x3001, 8);
	assert_true(cpu_load_control(cpu, &bad, 0, "test"));
	assert_int_equal(cpu->state.pdpte[0], 0x2001);
	assert_int_equal(cpu->state.pdpte[1], 0x3001);
	assert_true(cpu->paging);
	assert_false(cpu->long_mode);
	struct control_regs lm = { CR0_PE | CR0_PG | CR0_ET, 0x1000, CR4_PAE, EFER_LME | EFER_LMA };
	assert_true(cpu_load_control(cpu, &lm, 0, "test"));
	assert_true(cpu->long_mode);
	bare_cpu_destroy(cpu);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fields_are_distinct_and_inside_the_state),
		cmocka_unit_test(fields_name_their_members),
		cmocka_unit_test(set_truncates_to_the_field),
		cmocka_unit_test(writable_bits_follow_the_model),
		cmocka_unit_test(unchecked_load_applies_side_effects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
