/*
 * apitest — exercises the plugin API on the hello ROM (testsuite/guests/hello.asm,
 * real mode, no paging): typed callbacks with and without the header (the insn
 * event's code field as three arguments), registers by name, memory by virtual
 * and physical address, translation, a scoreboard, the errors. Writes one line
 * per check, "apitest: NAME ok" or "apitest: NAME FAIL", to out=FILE.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fugu-plugin.h"

const unsigned fugu_plugin_version = FUGU_PLUGIN_API_VERSION;

static const struct fugu_api *api;
static FILE *out;
static struct fugu_scoreboard *sb; /* uint64_t: OUT instructions seen */
static int seen_insn, seen_out;

static void
check(const char *name, int ok)
{
	fprintf(out, "apitest: %s %s\n", name, ok ? "ok" : "FAIL");
}

static void
on_insn(uint64_t icount, uint16_t cs, uint64_t rip, const uint8_t *bytes, uint8_t len, uint8_t bits,
	const struct fugu_changes *changed, uint64_t lin, unsigned mnemonic)
{
	if (seen_insn++)
		return;
	/* The reset vector: jmp 0xf000:start (EA ip16 cs16). */
	check("insn-fields", icount == 1 && cs == 0xf000 && rip == 0xfff0 && lin == 0xfffffff0);
	check("insn-code", len == 5 && bytes[0] == 0xea && bits == 16);
	check("insn-mnemonic", !strcmp(api->insn_name(mnemonic), "ljmp"));
	check("insn-changes", changed && changed->n == 0);
}

static void
on_out(const struct fugu_event_header *h, uint16_t port, uint8_t size, uint32_t value)
{
	(*(uint64_t *)api->scoreboard_entry(sb, api->cpu_index()))++;
	if (port != 0xe9 || seen_out++)
		return;
	uint64_t v = 0;
	check("header", h->cpl == 0 && h->mode == 0 && h->vmx == 0 && h->icount > 0);
	check("out-fields", size == 1 && value == 'H');
	check("reg-read-rax", !api->reg_read("rax", &v) && (v & 0xff) == 'H');
	check("reg-read-cs", !api->reg_read("cs.sel", &v) && v == 0xf000);
	check("reg-write-rbx",
	      !api->reg_write("rbx", 0x1234abcd) && !api->reg_read("rbx", &v) && v == 0x1234abcd);
	check("reg-unknown", api->reg_read("nosuch", &v) == -1);
	check("reg-write-rip", api->reg_write("rip", 0) == -1);
	uint8_t b[4] = { 0 };
	check("mem-read-phys", !api->mem_read_phys(0xffff0, b, 1) && b[0] == 0xea);
	check("mem-read-virt", !api->mem_read_virt(0xffff0, b + 1, 1) && b[1] == 0xea);
	uint64_t pa = 0;
	check("translate", !api->translate(0x12345, &pa) && pa == 0x12345);
	check("mem-write-phys", !api->mem_write_phys(0x600, "fugu", 4));
	check("mem-write-virt", !api->mem_write_virt(0x604, "!", 1));
	char text[6] = { 0 };
	check("mem-readback", !api->mem_read_virt(0x600, text, 5) && !strcmp(text, "fugu!"));
	check("mem-mmio-refused", api->mem_read_phys(0xfee00000, b, 4) == -1);
	check("subscribe-unknown", api->subscribe("nosuch", (void (*)(void))on_insn, 0) == -1);
	check("reg-field-name", !strcmp(api->reg_field_name(0), "rax"));
}

static void
report(void)
{
	fprintf(out, "apitest: outs=%llu\n",
		(unsigned long long)*(uint64_t *)api->scoreboard_entry(sb, 0));
	check("scoreboard-bounds", api->scoreboard_entry(sb, 1) == NULL);
	fclose(out);
}

int
fugu_plugin_install(unsigned version, const struct fugu_api *a,
		    const struct fugu_machine_info *info, int argc, char **argv)
{
	api = a;
	out = argc == 2 && !strncmp(argv[1], "out=", 4) ? fopen(argv[1] + 4, "w") : NULL;
	if (!out)
		return 1;
	check("install", version == FUGU_PLUGIN_API_VERSION && info->ncpus == 1 &&
				 info->ram_size == 128ull << 20 &&
				 !strncmp(info->cpu_model, "max", 3));
	sb = api->scoreboard_new(sizeof(uint64_t));
	if (!sb || api->subscribe("insn", (void (*)(void))on_insn, 0) ||
	    api->subscribe("out", (void (*)(void))on_out, FUGU_CB_HEADER))
		return 1;
	api->at_exit(report);
	return 0;
}
