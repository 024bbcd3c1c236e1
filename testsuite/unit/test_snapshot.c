/*
 * Unit tests: snapshots (chipset/snapshot.c, docs/SNAPSHOT.md). A machine with
 * its devices programmed and its timers armed is saved to a file and loaded
 * into a fresh one: every device section, the CPU, RAM and the timer queue
 * come back equal. Damaged files and other machines are refused with the
 * target left untouched. The in-memory fast reset copies back exactly the
 * pages the guest wrote, and the machine ends equal to the snapshot each time.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>
#include <cmocka.h>

#include "chipset/ide.h"
#include "chipset/pc.h"
#include "chipset/snapshot.h"
#include "cpu/cpu.h"
#include "cpu/vmx/vmx.h"
#include "mmu/ioport.h"
#include "mmu/physmem.h"

/*
 * A 4 KiB real-mode ROM: from the reset vector, increment the byte at offset
 * 0x10 of N pages from 0x10000 on (N read from 0x500), then halt forever.
 */
static const uint8_t dirty_code[] = {
	0xb8, 0x00, 0x10,             /* mov ax, 0x1000 */
	0x8b, 0x0e, 0x00, 0x05,       /* mov cx, [0x500] */
	0xe3, 0x0c,                   /* jcxz done */
	0x8e, 0xc0,                   /* loop: mov es, ax */
	0x26, 0xfe, 0x06, 0x10, 0x00, /* inc byte [es:0x10] */
	0x05, 0x00, 0x01,             /* add ax, 0x100 */
	0xe2, 0xf4,                   /* loop loop */
	0xf4,                         /* done: hlt */
	0xeb, 0xfd,                   /* jmp done */
};

static unsigned test_ncpus = 1; /* -smp of the machines make_pc builds */
static bool test_vga;           /* and whether they have the PCI VGA (-vga std) */

static struct pc *
make_pc(uint64_t ram, bool with_code)
{
	char path[] = "/tmp/fugu-snap-biosXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	static uint8_t rom[4096];
	memset(rom, 0, sizeof(rom));
	if (with_code) {
		memcpy(rom + 0xf00, dirty_code, sizeof(dirty_code));
		/* reset vector (IP 0xfff0): jmp near 0xff00 */
		rom[0xff0] = 0xe9;
		rom[0xff1] = 0x0d;
		rom[0xff2] = 0xff;
	}
	assert_int_equal(write(fd, rom, sizeof(rom)), (ssize_t)sizeof(rom));
	close(fd);
	struct pc_config cfg = { .ram_size = ram,
				 .ncpus = test_ncpus,
				 .vga = test_vga,
				 .bios_path = path,
				 .clock_mode = VCLOCK_DETERMINISTIC };
	char err[256];
	assert_int_equal(cpu_features_parse(&cfg.cpu, "max", err, sizeof(err)), 0);
	struct pc *pc = pc_create(&cfg, err, sizeof(err));
	unlink(path);
	assert_non_null(pc);
	return pc;
}

/* Program devices the way a guest would, so that no section is at reset state
 * and the PIT, RTC and local APIC timers are armed. */
static void
program_devices(struct pc *pc)
{
	struct ioports *io = pc->io;
	static const uint8_t pic_init[][2] = {
		{ 0x20, 0x11 }, { 0x21, 0x08 }, { 0x21, 0x04 }, { 0x21, 0x01 }, { 0x21, 0xfc }
	};
	for (size_t k = 0; k < sizeof(pic_init) / sizeof(pic_init[0]); k++)
		ioport_write(io, pic_init[k][0], pic_init[k][1], 1);
	ioport_write(io, 0x70, 0x0a, 1); /* RTC: 1024 Hz periodic interrupt */
	ioport_write(io, 0x71, 0x26, 1);
	ioport_write(io, 0x70, 0x0b, 1);
	ioport_write(io, 0x71, 0x42, 1);
	ioport_write(io, 0x43, 0x34, 1); /* PIT channel 0, mode 2, lo/hi */
	ioport_write(io, 0x40, 0x9c, 1);
	ioport_write(io, 0x40, 0x2e, 1);
	ioport_write(io, 0x70, 0x40, 1); /* a CMOS byte */
	ioport_write(io, 0x71, 0xab, 1);
	ioport_write(io, 0x3fb, 0x83, 1); /* COM1: 8N1 at divisor 1, scratch byte */
	ioport_write(io, 0x3f8, 0x01, 1);
	ioport_write(io, 0x3fb, 0x03, 1);
	ioport_write(io, 0x3ff, 0x5a, 1);
	/* IOAPIC pin 2 (IRQ0) unmasked, edge, vector 0x30: the PIT's edges are
	 * seen there while the 8259 holds IR0 latched, so its timer stays armed. */
	physmem_write_sized(pc->mem, 0xfec00000, 0x14, 4);
	physmem_write_sized(pc->mem, 0xfec00010, 0x30, 4);
	/* The local APIC: software enabled, periodic timer. */
	physmem_write_sized(pc->mem, LAPIC_DEFAULT_BASE + 0xf0, 0x1ff, 4);
	physmem_write_sized(pc->mem, LAPIC_DEFAULT_BASE + 0x3e0, 0x0b, 4);
	physmem_write_sized(pc->mem, LAPIC_DEFAULT_BASE + 0x320, 0x20040, 4);
	physmem_write_sized(pc->mem, LAPIC_DEFAULT_BASE + 0x380, 100000, 4);
	for (uint64_t pa = 0; pa < pc->mem->ram_size; pa += 0x10000) {
		uint32_t v = (uint32_t)(pa * 2654435761u);
		physmem_write(pc->mem, pa + 0x123, &v, sizeof(v));
	}
	pc->cpu->state.gpr[R_BX] = 0x1122334455667788ull;
	pc->cpu->state.gpr[R_R15] = 0xfeedfacecafebeefull;
	pc->cpu->icount = 12345; /* virtual time moves: deadlines are relative to it */
	pc->clock.idle_ns = 777; /* and time skipped while halted */
	/* Timers armed in another order than the devices' restore arms them, so
	 * the queue's layout is the saved one only if the clock restores it. */
	physmem_write_sized(pc->mem, LAPIC_DEFAULT_BASE + 0x380, 5000, 4);
	ioport_write(io, 0x40, 0x10, 1);
	ioport_write(io, 0x40, 0x00, 1);
}

/* Machine a and b hold the same state: devices, CPU, RAM, clock and timers. */
static void
assert_same_machine(struct pc *a, struct pc *b)
{
	for (size_t i = 0; i < pc_ndevices; i++) {
		void *da = pc_device(a, i), *db = pc_device(b, i);
		assert_true(!da == !db);
		if (!da || !pc_devices[i].save)
			continue;
		size_t n = pc_devices[i].save(da, NULL, 0);
		assert_int_equal(pc_devices[i].save(db, NULL, 0), n);
		uint8_t *x = malloc(n), *y = malloc(n);
		pc_devices[i].save(da, x, n);
		pc_devices[i].save(db, y, n);
		if (memcmp(x, y, n))
			fail_msg("section '%s' differs after the restore", pc_devices[i].name);
		free(x);
		free(y);
	}
	static struct cpu_saved ca, cb;
	assert_int_equal(a->ncpus, b->ncpus);
	assert_int_equal(a->cur, b->cur);
	for (unsigned k = 0; k < a->ncpus; k++) {
		cpu_save(a->cpus[k], &ca);
		cpu_save(b->cpus[k], &cb);
		assert_memory_equal(&ca, &cb, sizeof(ca));
	}
	assert_int_equal(a->mem->ram_size, b->mem->ram_size);
	assert_memory_equal(a->mem->ram, b->mem->ram, a->mem->ram_size);
	assert_int_equal(vclock_now(&a->clock), vclock_now(&b->clock));
	assert_int_equal(a->clock.nall, b->clock.nall);
	assert_int_equal(a->clock.nheap, b->clock.nheap);
	for (unsigned k = 0; k < a->clock.nall; k++) {
		const struct vtimer *ta = a->clock.all[k], *tb = b->clock.all[k];
		assert_string_equal(ta->name, tb->name);
		assert_int_equal(vtimer_armed(ta), vtimer_armed(tb));
		assert_int_equal(ta->heap_index, tb->heap_index);
		if (vtimer_armed(ta))
			assert_int_equal(ta->deadline, tb->deadline);
	}
}

static char snap_path[64];

static void
save_programmed(struct pc **out)
{
	struct pc *pc = make_pc(16u << 20, false);
	program_devices(pc);
	char err[256];
	strcpy(snap_path, "/tmp/fugu-snapXXXXXX");
	int fd = mkstemp(snap_path);
	assert_true(fd >= 0);
	close(fd);
	if (machine_save(pc, snap_path, err, sizeof(err)) < 0)
		fail_msg("save: %s", err);
	*out = pc;
}

/* Armed timers of the three devices that keep one running here. */
static unsigned
armed_timers(struct pc *pc)
{
	unsigned n = 0;
	for (unsigned k = 0; k < pc->clock.nall; k++)
		n += vtimer_armed(pc->clock.all[k]);
	return n;
}

static void
file_round_trip(void **state)
{
	(void)state;
	struct pc *a;
	save_programmed(&a);
	assert_true(armed_timers(a) >= 3); /* PIT, RTC, local APIC */
	struct pc *b = make_pc(16u << 20, false);
	char err[256];
	if (machine_load(b, snap_path, err, sizeof(err)) < 0)
		fail_msg("load: %s", err);
	assert_same_machine(a, b);
	/* Saving the loaded machine gives the same file, byte for byte. */
	char again[] = "/tmp/fugu-snap2XXXXXX";
	int fd = mkstemp(again);
	close(fd);
	assert_int_equal(machine_save(b, again, err, sizeof(err)), 0);
	FILE *f1 = fopen(snap_path, "rb"), *f2 = fopen(again, "rb");
	int c1, c2;
	do {
		c1 = fgetc(f1);
		c2 = fgetc(f2);
		assert_int_equal(c1, c2);
	} while (c1 != EOF);
	fclose(f1);
	fclose(f2);
	unlink(again);
	unlink(snap_path);
	pc_destroy(a);
	pc_destroy(b);
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	uint8_t *d = malloc(*len);
	assert_int_equal(fread(d, 1, *len, f), *len);
	fclose(f);
	return d;
}

static void
spit(const char *path, const uint8_t *d, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(d, 1, len, f), len);
	fclose(f);
}

/* The load must fail with a message containing `what`, and leave b as it was. */
static void
assert_refused(struct pc *b, struct pc *ref, const char *path, const char *what)
{
	char err[256] = "";
	assert_int_equal(machine_load(b, path, err, sizeof(err)), -1);
	/* `what`: alternatives separated by '|' */
	bool found = false;
	char alts[128];
	snprintf(alts, sizeof(alts), "%s", what);
	for (char *sp, *w = strtok_r(alts, "|", &sp); w; w = strtok_r(NULL, "|", &sp))
		found |= strstr(err, w) != NULL;
	if (!found)
		fail_msg("expected '%s' in: %s", what, err);
	assert_same_machine(b, ref);
}

/* The file `good` with section `name`'s payload stored uncompressed and the
 * byte at `at` of it set to `value`, its checksum made valid again: a file
 * whose framing is sound but whose content is not. NULL when no such section. */
static uint8_t *
with_section_byte(const uint8_t *good, size_t len, const char *name, size_t at, uint8_t value,
		  size_t *out_len)
{
	uint8_t *d = malloc(len + (24u << 20)); /* room for the VGA's record (16 MiB VRAM) */
	memcpy(d, good, 32);
	size_t off = 32, o = 32;
	bool found = false;
	while (off + 48 <= len) {
		uint64_t slen, raw;
		uint32_t flags;
		memcpy(&slen, good + off + 24, 8);
		memcpy(&raw, good + off + 32, 8);
		memcpy(&flags, good + off + 20, 4);
		memcpy(d + o, good + off, 48);
		if (!strcmp((const char *)good + off, name) && raw < (24u << 20)) {
			uint8_t *h = d + o;
			if (flags & 1) {
				assert_int_equal(
					ZSTD_decompress(h + 48, raw, good + off + 48, slen), raw);
			} else {
				memcpy(h + 48, good + off + 48, slen);
			}
			flags = 0;
			memcpy(h + 20, &flags, 4);
			memcpy(h + 24, &raw, 8);
			h[48 + at] = value;
			memset(h + 40, 0, 4);
			uLong c = crc32(0, h, 48);
			c = crc32(c, h + 48, (uInt)raw);
			uint32_t c32 = (uint32_t)c;
			memcpy(h + 40, &c32, 4);
			o += 48 + raw;
			found = true;
		} else {
			memcpy(d + o + 48, good + off + 48, slen);
			o += 48 + slen;
		}
		off += 48 + slen;
	}
	if (!found) {
		free(d);
		return NULL;
	}
	*out_len = o;
	return d;
}

static void
damaged_files_refused(void **state)
{
	(void)state;
	struct pc *a;
	save_programmed(&a);
	size_t len;
	uint8_t *good = slurp(snap_path, &len);
	if (len < 4096)
		abort(); /* a header, sections and compressed RAM at the least */
	/* The target runs a program of its own: any half-load would show. */
	struct pc *b = make_pc(16u << 20, false), *ref = make_pc(16u << 20, false);
	char bad[] = "/tmp/fugu-snapbadXXXXXX";
	close(mkstemp(bad));

	/* Truncated anywhere: in the header, between and inside sections. */
	for (size_t cut = 0; cut < len; cut += len / 97 + 1) {
		spit(bad, good, cut);
		assert_refused(b, ref, bad, "truncated");
	}
	/* Any flipped byte: a checksum (header or section) catches it. */
	for (size_t at = 8; at < len; at += len / 89 + 1) {
		uint8_t *d = malloc(len);
		memcpy(d, good, len);
		d[at] ^= 0x40;
		spit(bad, d, len);
		/* a flipped length reads as a section running past the end */
		assert_refused(b, ref, bad, at < 32 ? "header" : "corrupt|truncated");
		free(d);
	}
	/* A newer format version, with a valid header checksum. */
	uint8_t *d = malloc(len);
	memcpy(d, good, len);
	d[8] = 2;
	memset(d + 28, 0, 4);
	uint32_t crc = (uint32_t)crc32(0, d, 32);
	memcpy(d + 28, &crc, 4);
	spit(bad, d, len);
	assert_refused(b, ref, bad, "format version 2");
	/* A device section of a newer layout, its checksum made valid again. */
	memcpy(d, good, len);
	size_t off = 32;
	bool found_pit = false;
	while (off + 48 <= len) {
		uint64_t slen;
		memcpy(&slen, d + off + 24, 8);
		if (!strcmp((const char *)d + off, "pit")) {
			d[off + 16] = 2; /* version */
			memset(d + off + 40, 0, 4);
			uLong c = crc32(0, d + off, 48);
			c = crc32(c, d + off + 48, (uInt)slen);
			uint32_t c32 = (uint32_t)c;
			memcpy(d + off + 40, &c32, 4);
			found_pit = true;
			break;
		}
		off += 48 + slen;
	}
	assert_true(found_pit);
	spit(bad, d, len);
	assert_refused(b, ref, bad, "section 'pit' has version 2, this fugu reads 1");
	/* Sound framing, a CPU flag or the CPL out of range (bool fields hold 0 or
	 * 1; CPL is 0-3): refused, not loaded (found by fuzz_snapshot). */
	static const struct {
		size_t at;
		uint8_t value;
	} cpu_bad[] = { { offsetof(struct cpu_saved, state.halted), 2 },
			{ offsetof(struct cpu_saved, state.in_smm), 0xff },
			{ offsetof(struct cpu_saved, state.nmi_blocked), 7 },
			{ offsetof(struct cpu_saved, state.cpl), 4 } };
	for (size_t k = 0; k < sizeof(cpu_bad) / sizeof(cpu_bad[0]); k++) {
		size_t blen;
		uint8_t *b2 =
			with_section_byte(good, len, "cpu", cpu_bad[k].at, cpu_bad[k].value, &blen);
		assert_non_null(b2);
		spit(bad, b2, blen);
		assert_refused(b, ref, bad,
			       "section 'cpu' is corrupt (a flag or the CPL out of range)");
		free(b2);
	}
	/* The same rewriting with a valid value loads (so the rows above can fail). */
	{
		size_t blen;
		uint8_t *b2 = with_section_byte(good, len, "cpu",
						offsetof(struct cpu_saved, state.cpl), 0, &blen);
		assert_non_null(b2);
		spit(bad, b2, blen);
		char lerr[256];
		struct pc *c = make_pc(16u << 20, false);
		assert_int_equal(machine_load(c, bad, lerr, sizeof(lerr)), 0);
		pc_destroy(c);
		free(b2);
	}
	/* An instruction count that puts virtual time past 2^62 ns: the devices'
	 * signed nanosecond arithmetic would wrap (fuzz_snapshot: the RTC's timer
	 * fired forever). */
	{
		size_t blen;
		uint8_t *b2 = with_section_byte(
			good, len, "cpu", offsetof(struct cpu_saved, icount) + 7, 0x40, &blen);
		assert_non_null(b2);
		spit(bad, b2, blen);
		assert_refused(b, ref, bad, "section 'clock' is corrupt (time beyond 2^62 ns)");
		free(b2);
	}
	/* Not a snapshot at all. */
	spit(bad, (const uint8_t *)"hello, world, this is not a snapshot file", 41);
	assert_refused(b, ref, bad, "not a fugu snapshot");
	/* Bytes after the last section. */
	memcpy(d, good, len);
	uint8_t *longer = malloc(len + 3);
	memcpy(longer, good, len);
	memset(longer + len, 0, 3);
	spit(bad, longer, len + 3);
	assert_refused(b, ref, bad, "after the last section");
	free(longer);
	free(d);

	/* A different machine: RAM size, then CPU model. */
	struct pc *small = make_pc(8u << 20, false), *small_ref = make_pc(8u << 20, false);
	assert_refused(small, small_ref, snap_path,
		       "RAM size: snapshot 16 MiB, this machine 8 MiB");
	pc_destroy(small);
	pc_destroy(small_ref);

	unlink(bad);
	unlink(snap_path);
	free(good);
	pc_destroy(a);
	pc_destroy(b);
	pc_destroy(ref);
}

/*
 * A CPU section whose state no processor of the model can be in is refused
 * before anything is loaded, naming the field (cpu_check_saved, cpu.c): the
 * rules of MOV to CR0/CR4 (SDM vol. 2B), LDMXCSR (vol. 1, 10.2.3: an MXCSR
 * reserved bit faulted the host's LDMXCSR in fugu_sse_host), XSETBV, the CPL
 * (vol. 3A, 5.5), and VM entry's guest-state checks that hold for any state
 * (vol. 3C, 26.3.1). The saved CPU is at reset: real mode, CR0 = 60000010h.
 */
#define CPU_AT(field) offsetof(struct cpu_saved, state.field)
static void
cpu_state_consistency(void **state)
{
	(void)state;
	static const struct {
		const char *section;
		size_t at;
		uint8_t value;
		const char *refused;
	} cases[] = {
		{ "cpu", CPU_AT(xsave) + XSAVE_MXCSR_OFFSET + 2, 0x01, "(MXCSR reserved bits)" },
		{ "cpu", CPU_AT(xsave) + XSAVE_MXCSR_OFFSET + 3, 0xff, "(MXCSR reserved bits)" },
		{ "cpu", CPU_AT(cr0) + 4, 0x01, "(CR0 bits 63:32 set)" },
		{ "cpu", CPU_AT(cr0) + 3, 0xe0, "(CR0.PG without CR0.PE)" },
		{ "cpu", CPU_AT(cr0) + 3, 0x20, "(CR0.NW without CR0.CD)" },
		{ "cpu", CPU_AT(cr4) + 3, 0x80, "(CR4 bits the model lacks)" },
		{ "cpu", CPU_AT(xcr0), 0x00, "(XCR0)" },
		{ "cpu", CPU_AT(xcr0), 0x05, "(XCR0)" }, /* AVX without SSE */
		{ "cpu", CPU_AT(intr_shadow), 3, "(interrupt shadow)" },
		{ "cpu", CPU_AT(cpl), 3, "(CPL 3, the mode and SS.DPL say 0)" },
		/* EFER.LMA with paging off (26.3.1.1) */
		{ "cpu", CPU_AT(efer) + 1, 0x04, "(IA-32e mode guest needs CR0.PG and CR4.PAE" },
		{ "cpu", CPU_AT(efer) + 2, 0x10, "(EFER (load EFER)" }, /* a reserved bit */
		{ "cpu", CPU_AT(dr[7]) + 4, 0x01, "(DR7 (load debug controls)" },
		{ "cpu", CPU_AT(seg[1].attr), 0x1b, "(CS access rights" }, /* not present */
		{ "cpu", CPU_AT(seg[2].attr), 0x9b, "(SS/DS/ES/FS/GS access rights" }, /* SS code */
		{ "cpu", CPU_AT(seg[3].attr), 0x92,
		  "(SS/DS/ES/FS/GS access rights" },                       /* DS not accessed */
		{ "cpu", CPU_AT(tr.attr), 0x89, "(TR access rights" },     /* a TSS not busy */
		{ "cpu", CPU_AT(ldtr.attr), 0x83, "(LDTR access rights" }, /* not an LDT */
		{ "cpu", CPU_AT(ldtr.sel), 0x04, "(TR/LDTR TI flag" },
		{ "cpu", CPU_AT(gdtr.limit) + 2, 0x01, "(GDTR/IDTR" },
		{ "cpu", CPU_AT(rip) + 4, 0x01, "(RIP" },   /* not 64-bit code: below 2^32 */
		{ "cpu", CPU_AT(rflags), 0x0a, "(RFLAGS" }, /* reserved bit 3 */
		/* VM in real mode: CS is not the F3h of virtual-8086 mode, checked first */
		{ "cpu", CPU_AT(rflags) + 2, 0x02, "(CS access rights" },
		/* VMX operation without CR4.VMXE; non-root without VMXON (23.8) */
		{ "vmx", offsetof(struct vmx, on), 1,
		  "section 'vmx' is corrupt (VMX operation with CR4.VMXE clear)" },
		{ "vmx", sizeof(struct vmx), 1,
		  "section 'vmx' is corrupt (non-root operation without VMXON" },
	};
	struct pc *a;
	save_programmed(&a);
	size_t len;
	uint8_t *good = slurp(snap_path, &len);
	struct pc *b = make_pc(16u << 20, false), *ref = make_pc(16u << 20, false);
	char bad[] = "/tmp/fugu-snapcpuXXXXXX";
	close(mkstemp(bad));
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		size_t blen;
		uint8_t *d = with_section_byte(good, len, cases[k].section, cases[k].at,
					       cases[k].value, &blen);
		if (!d)
			fail_msg("no section '%s'", cases[k].section);
		spit(bad, d, blen);
		char what[160];
		snprintf(what, sizeof(what), "%s%s",
			 strcmp(cases[k].section, "cpu") ? "" : "section 'cpu' is corrupt ",
			 cases[k].refused);
		assert_refused(b, ref, bad, what);
		free(d);
	}
	/* The rows can fail: consistent values in the same bytes load. */
	static const struct {
		size_t at;
		uint8_t value;
	} fine[] = {
		{ CPU_AT(xsave) + XSAVE_MXCSR_OFFSET + 1, 0xff }, /* RC, FTZ, masks */
		{ CPU_AT(cr0) + 3, 0x40 },                        /* CD alone */
		{ CPU_AT(xcr0), 0x07 },                           /* x87 | SSE | AVX */
		{ CPU_AT(intr_shadow), 2 },
		{ CPU_AT(seg[3].attr), 0x93 },
		{ CPU_AT(rflags), 0x02 },
	};
	for (size_t k = 0; k < sizeof(fine) / sizeof(fine[0]); k++) {
		size_t blen;
		uint8_t *d = with_section_byte(good, len, "cpu", fine[k].at, fine[k].value, &blen);
		spit(bad, d, blen);
		struct pc *c = make_pc(16u << 20, false);
		char err[256];
		if (machine_load(c, bad, err, sizeof(err)) < 0)
			fail_msg("row %zu: %s", k, err);
		pc_destroy(c);
		free(d);
	}

	/* In VMX root operation: 32-bit paging, CR4.VMXE, a VMXON region. */
	struct cpu *cpu = a->cpu;
	cpu->state.cr0 = CR0_PE | CR0_PG | CR0_NE | CR0_ET;
	cpu->state.cr4 = CR4_VMXE;
	cpu->state.cr3 = 0x1000;
	cpu->vmx->on = true;
	cpu->vmx->vmxon_ptr = 0x10000;
	cpu->vmx->current = 0x11000;
	char err[256];
	assert_int_equal(machine_save(a, snap_path, err, sizeof(err)), 0);
	free(good);
	good = slurp(snap_path, &len);
	struct pc *c = make_pc(16u << 20, false);
	if (machine_load(c, snap_path, err, sizeof(err)) < 0)
		fail_msg("VMX root: %s", err);
	pc_destroy(c);
	static const struct {
		const char *section;
		size_t at;
		uint8_t value;
		const char *refused;
	} vmx_cases[] = {
		{ "vmx", offsetof(struct vmx, vmxon_ptr), 0x08, "(VMXON pointer)" },
		{ "vmx", offsetof(struct vmx, vmxon_ptr) + 7, 0x01, "(VMXON pointer)" },
		{ "vmx", offsetof(struct vmx, current) + 1, 0x12, "(current-VMCS pointer)" },
		{ "cpu", CPU_AT(cr0), CR0_NE | CR0_ET, "(CR0.PG without CR0.PE)" },
		{ "cpu", CPU_AT(cr0), CR0_PE | CR0_ET,
		  "(CR0/CR4 fixed bits in VMX root operation)" },
		{ "cpu", CPU_AT(cr4) + 1, 0x00, "(VMX operation with CR4.VMXE clear)" },
	};
	for (size_t k = 0; k < sizeof(vmx_cases) / sizeof(vmx_cases[0]); k++) {
		size_t blen;
		uint8_t *d = with_section_byte(good, len, vmx_cases[k].section, vmx_cases[k].at,
					       vmx_cases[k].value, &blen);
		spit(bad, d, blen);
		assert_refused(b, ref, bad, vmx_cases[k].refused);
		free(d);
	}
	/* In 64-bit mode (IA-32e, CS.L): the rules that only apply there. */
	cpu->vmx->on = false;
	cpu->vmx->current = VMCS_NONE;
	cpu->state.cr4 = CR4_PAE;
	cpu->state.efer = EFER_LME | EFER_LMA;
	cpu->state.seg[S_CS].attr = 0x9b | SEG_ATTR_L;
	cpu->state.rip = 0xffffffff80001000ull;
	assert_int_equal(machine_save(a, snap_path, err, sizeof(err)), 0);
	free(good);
	good = slurp(snap_path, &len);
	c = make_pc(16u << 20, false);
	if (machine_load(c, snap_path, err, sizeof(err)) < 0)
		fail_msg("64-bit: %s", err);
	pc_destroy(c);
	static const struct {
		size_t at;
		uint8_t value;
		const char *refused;
	} long_cases[] = {
		/* CS.L with CS.D (26.3.1.2) */
		{ CPU_AT(seg[1].attr) + 1, (SEG_ATTR_L | SEG_ATTR_DB) >> 8, "(CS access rights" },
		{ CPU_AT(rip) + 6, 0x7f, "(RIP" }, /* not canonical */
		{ CPU_AT(cr4) + 0, 0x00, "(IA-32e mode guest needs CR0.PG and CR4.PAE" },
		{ CPU_AT(efer) + 1, EFER_LMA >> 8, "(EFER (load EFER)" }, /* LMA without LME */
	};
	for (size_t k = 0; k < sizeof(long_cases) / sizeof(long_cases[0]); k++) {
		size_t blen;
		uint8_t *d = with_section_byte(good, len, "cpu", long_cases[k].at,
					       long_cases[k].value, &blen);
		spit(bad, d, blen);
		assert_refused(b, ref, bad, long_cases[k].refused);
		free(d);
	}
	unlink(bad);
	unlink(snap_path);
	free(good);
	pc_destroy(a);
	pc_destroy(b);
	pc_destroy(ref);
}

/* Byte `at` of section `name`'s payload in the file `d` (decompressed). */
static uint8_t
section_byte(const uint8_t *d, size_t len, const char *name, size_t at)
{
	for (size_t off = 32; off + 48 <= len;) {
		uint64_t slen, raw;
		uint32_t flags;
		memcpy(&slen, d + off + 24, 8);
		memcpy(&raw, d + off + 32, 8);
		memcpy(&flags, d + off + 20, 4);
		if (!strcmp((const char *)d + off, name)) {
			assert_true(at < raw);
			if (!(flags & 1))
				return d[off + 48 + at];
			uint8_t *u = malloc(raw);
			assert_int_equal(ZSTD_decompress(u, raw, d + off + 48, slen), raw);
			uint8_t v = u[at];
			free(u);
			return v;
		}
		off += 48 + slen;
	}
	fail_msg("no section '%s'", name);
	return 0;
}

/* `good` with byte `at` of section `name` set to `value`, loaded into a new
 * machine (which must accept it) and saved again: the machine, and in *back
 * that byte as the restored machine saves it. */
static struct pc *
load_with_byte(const uint8_t *good, size_t len, const char *name, size_t at, uint8_t value,
	       uint8_t *back)
{
	char bad[] = "/tmp/fugu-snapbyteXXXXXX", again[] = "/tmp/fugu-snapbyte2XXXXXX";
	close(mkstemp(bad));
	close(mkstemp(again));
	size_t blen;
	uint8_t *d = with_section_byte(good, len, name, at, value, &blen);
	if (!d)
		fail_msg("no section '%s'", name);
	spit(bad, d, blen);
	struct pc *b = make_pc(16u << 20, false);
	char err[256];
	if (machine_load(b, bad, err, sizeof(err)) < 0)
		fail_msg("%s: %s", name, err);
	assert_int_equal(machine_save(b, again, err, sizeof(err)), 0);
	size_t alen;
	uint8_t *saved = slurp(again, &alen);
	*back = section_byte(saved, alen, name, at);
	free(saved);
	free(d);
	unlink(bad);
	unlink(again);
	return b;
}

/*
 * A bool field whose byte in the file is neither 0 nor 1 restores as true (1):
 * restoring loads the bools of every device record as bytes and normalises
 * them (chipset/state.h), so no bool ever holds another value (C11 6.2.6.1p5:
 * reading one would be undefined; fuzz_snapshot found the PIT, 8259, 8042 and
 * LAPIC ones). Saving the restored machine shows the 1.
 */
static void
device_bools_normalised(void **state)
{
	(void)state;
	static const struct {
		const char *section;
		size_t at;
	} flags[] = {
		{ "pit", offsetof(struct pit_state, c[1].gate) },
		{ "pit", offsetof(struct pit_state, c[2].status_latched) },
		{ "pic", offsetof(struct pic_state, chip[1].special_mask) },
		{ "kbc", offsetof(struct kbc_state, mouse.wrap) },
		{ "kbc", offsetof(struct kbc_state, obf) },
		{ "lapic", offsetof(struct lapic_state, extint_pending) },
		{ "rtc", offsetof(struct rtc_state, nmi_masked) },
		{ "com2", offsetof(struct uart_state, thre_pending) },
		{ "ide",
		  sizeof(struct ide_channel_state) + offsetof(struct ide_drive_state, wcache) },
		{ "vmx", offsetof(struct vmx, launched) },
	};
	struct pc *a;
	save_programmed(&a);
	size_t len;
	uint8_t *good = slurp(snap_path, &len);
	for (size_t k = 0; k < sizeof(flags) / sizeof(flags[0]); k++) {
		uint8_t back;
		pc_destroy(load_with_byte(good, len, flags[k].section, flags[k].at, 0xa5, &back));
		assert_int_equal(back, 1);
	}
	unlink(snap_path);
	free(good);
	pc_destroy(a);
}

/*
 * A PCI function's read-only header bits come back as the device defines them
 * (chipset/pci.c): vendor/device ID, class code, header type, the BARs' type
 * and size bits, the interrupt pin, whatever the file holds (PCI Local Bus
 * 3.0, 6.2); a writable bit keeps the file's value, the status register too.
 */
#define IDE_CONFIG                                                                                 \
	(2 * (sizeof(struct ide_channel_state) + 2 * sizeof(struct ide_drive_state)) +             \
	 2 * sizeof(struct ide_bm_state))
static void
pci_read_only_restored(void **state)
{
	(void)state;
	static const struct {
		const char *section;
		size_t at;
		uint8_t value;
		int kept; /* -1: the saved byte is the device's own; else the byte saved back */
	} cases[] = {
		{ "i440fx", 0x00, 0x00, -1 },             /* vendor ID 8086h */
		{ "i440fx", 0x03, 0x55, -1 },             /* device ID */
		{ "i440fx", 0x0b, 0x12, -1 },             /* base class: bridge */
		{ "i440fx", 0x0e, 0x7f, -1 },             /* header type */
		{ "i440fx", 0x34, 0x40, -1 },             /* capabilities pointer */
		{ "i440fx", 0x0d, 0xff, 0xf8 },           /* latency timer: bits 7:3 writable */
		{ "i440fx", 0x06, 0x55, 0x55 },           /* status: the device's state */
		{ "ide", IDE_CONFIG + 0x00, 0x12, -1 },   /* vendor ID */
		{ "ide", IDE_CONFIG + 0x0a, 0x00, -1 },   /* subclass: IDE */
		{ "ide", IDE_CONFIG + 0x20, 0xff, 0xf1 }, /* BAR4: 16 bytes of I/O space */
		{ "ide", IDE_CONFIG + 0x2c, 0xaa, -1 },   /* subsystem vendor */
	};
	struct pc *a;
	save_programmed(&a);
	size_t len;
	uint8_t *good = slurp(snap_path, &len);
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		uint8_t orig = section_byte(good, len, cases[k].section, cases[k].at);
		if (cases[k].kept < 0 && orig == cases[k].value)
			fail_msg("row %zu changes nothing", k);
		uint8_t got;
		struct pc *b = load_with_byte(good, len, cases[k].section, cases[k].at,
					      cases[k].value, &got);
		if (got != (cases[k].kept < 0 ? orig : cases[k].kept))
			fail_msg("row %zu: %s byte %#zx saved back as %#x (file %#x, device %#x)",
				 k, cases[k].section, cases[k].at, got, cases[k].value, orig);
		/* What the guest reads is the device's, not the file's. */
		if (!strcmp(cases[k].section, "i440fx") && cases[k].kept < 0) {
			ioport_write(b->io, 0xcf8, 0x80000000u | (cases[k].at & 0xfc), 4);
			uint32_t v = ioport_read(b->io, 0xcfc, 4);
			assert_int_equal((v >> (8 * (cases[k].at & 3))) & 0xff, orig);
		}
		pc_destroy(b);
	}
	unlink(snap_path);
	free(good);
	pc_destroy(a);
}

/*
 * Saved timer deadlines against the saved time (chipset/snapshot.c,
 * chipset/timer.c). One at or beyond 2^62 ns is refused: an idle
 * deterministic machine skips its clock to the next deadline
 * (frontend/main.c), and a clock moved near 2^64 ns made the RTC's next edge
 * wrap before "now" and fire forever (a hang, before the check). The queue is
 * restored as saved, so it must be in deadline order (a timer due below a
 * later one would never fire). One in the past fires once at the next check
 * and its device re-arms from its own state and "now" (the PIT, RTC, local
 * APIC and HPET compute their next edge, with no catch-up loop).
 */
static size_t
deadline_at(const struct vclock_saved *vs, unsigned k)
{
	return offsetof(struct vclock_saved, timer) + k * sizeof(vs->timer[0]) +
	       offsetof(struct vclock_saved, timer[0].deadline) -
	       offsetof(struct vclock_saved, timer[0]);
}

/* good with the 8 bytes at `at` of section `name` set to v (a new file) */
static uint8_t *
with_section_u64(const uint8_t *good, size_t len, const char *name, size_t at, uint64_t v,
		 size_t *out_len)
{
	uint8_t *d = (uint8_t *)good;
	size_t dlen = len;
	for (unsigned byte = 0; byte < 8; byte++) {
		size_t nlen;
		uint8_t *n = with_section_byte(d, dlen, name, at + byte, (uint8_t)(v >> (8 * byte)),
					       &nlen);
		assert_non_null(n);
		if (d != good)
			free(d);
		d = n;
		dlen = nlen;
	}
	*out_len = dlen;
	return d;
}

static void
timer_deadlines_checked(void **state)
{
	(void)state;
	struct pc *a;
	save_programmed(&a);
	size_t len;
	uint8_t *good = slurp(snap_path, &len);
	struct vclock_saved vs;
	for (size_t k = 0; k < sizeof(vs); k++)
		((uint8_t *)&vs)[k] = section_byte(good, len, "clock", k);
	unsigned root = vs.ntimers, child = vs.ntimers;
	for (unsigned k = 0; k < vs.ntimers; k++) {
		if (vs.timer[k].heap_index == 0)
			root = k;
		if (vs.timer[k].heap_index == 1)
			child = k;
	}
	assert_true(root < vs.ntimers && child < vs.ntimers); /* PIT, RTC, LAPIC armed */
	struct pc *b = make_pc(16u << 20, false), *ref = make_pc(16u << 20, false);
	char bad[] = "/tmp/fugu-snaptimeXXXXXX", what[128];
	close(mkstemp(bad));
	static const uint64_t far[] = { 1ull << 62, UINT64_MAX - 1 };
	for (size_t k = 0; k < sizeof(far) / sizeof(far[0]); k++) {
		size_t blen;
		uint8_t *d = with_section_u64(good, len, "clock", deadline_at(&vs, child), far[k],
					      &blen);
		spit(bad, d, blen);
		snprintf(what, sizeof(what),
			 "section 'clock' is corrupt (timer '%s': deadline beyond 2^62 ns)",
			 vs.timer[child].name);
		assert_refused(b, ref, bad, what);
		free(d);
	}
	/* Below its parent in the queue but due first. */
	size_t blen;
	uint8_t *d = with_section_u64(good, len, "clock", deadline_at(&vs, child), 0, &blen);
	spit(bad, d, blen);
	free(d);
	snprintf(what, sizeof(what),
		 "section 'clock' is corrupt (timer '%s' out of deadline order)",
		 vs.timer[child].name);
	assert_refused(b, ref, bad, what);
	/* In the past, at the head of the queue: loads, fires once, re-armed ahead. */
	d = with_section_u64(good, len, "clock", deadline_at(&vs, root), 0, &blen);
	spit(bad, d, blen);
	free(d);
	char err[256];
	struct pc *c = make_pc(16u << 20, false);
	if (machine_load(c, bad, err, sizeof(err)) < 0)
		fail_msg("past deadline: %s", err);
	uint64_t now = vclock_now(&c->clock);
	assert_true(vclock_run_expired(&c->clock) >= 1);
	assert_int_equal(vclock_run_expired(&c->clock), 0);
	assert_true(vclock_next_deadline(&c->clock) > now);
	pc_destroy(c);
	unlink(bad);
	unlink(snap_path);
	free(good);
	pc_destroy(a);
	pc_destroy(b);
	pc_destroy(ref);
}

/*
 * Integers that index or size something in a device (chipset/state.h): a file
 * whose value is one the device could never hold is refused before anything
 * is loaded, with the section and the field named; a register index is kept
 * to the bits the register has, as a port write would store it. Then the
 * guest's next access through the index stays inside the device (before, an
 * RTC bank-1 index of 0xff read cmos[383], a VGA DAC component counter of 200
 * wrote past dac_cache[3], an IDE position past the buffer read past it).
 */
#define DRIVE0(field) (sizeof(struct ide_channel_state) + offsetof(struct ide_drive_state, field))
static void
device_limits_enforced(void **state)
{
	(void)state;
	static const struct {
		const char *section;
		size_t at;
		uint8_t value;
		const char *refused; /* the message, or NULL: loads, the byte saves as `kept` */
		uint8_t kept;
	} cases[] = {
		/* 16550A: a 16-byte receive FIFO */
		{ "com1", offsetof(struct uart_state, rx_head), 200,
		  "section 'com1' is corrupt (rx_head is 200, at most 15)", 0 },
		{ "com2", offsetof(struct uart_state, rx_count), 17,
		  "section 'com2' is corrupt (rx_count is 17, at most 16)", 0 },
		/* 8042: the PS/2 devices' queues, the scan code set (1-3) */
		{ "kbc", offsetof(struct kbc_state, kbd.q.head), 16,
		  "section 'kbc' is corrupt (kbd.q.head is 16, at most 15)", 0 },
		{ "kbc", offsetof(struct kbc_state, mouse.q.count), 255,
		  "section 'kbc' is corrupt (mouse.q.count is 255, at most 16)", 0 },
		{ "kbc", offsetof(struct kbc_state, kbd.set), 0, "kbd.set is 0, not a value", 0 },
		{ "kbc", offsetof(struct kbc_state, mouse.resolution), 0xfe, NULL, 2 },
		/* 8259A: ICW2-ICW4 follow ICW1; eight IRs */
		{ "pic", offsetof(struct pic_state, chip[0].init_step), 1,
		  "section 'pic' is corrupt (chip[0].init_step is 1, not a value", 0 },
		{ "pic", offsetof(struct pic_state, chip[1].lowest_prio), 8,
		  "chip[1].lowest_prio is 8, at most 7", 0 },
		{ "pic", offsetof(struct pic_state, chip[1].vector_base), 0x77, NULL, 0x70 },
		/* 8254: a latched count is two bytes; 16-bit counts; M2-M0, RW1-RW0 */
		{ "pit", offsetof(struct pit_state, c[0].latch_bytes), 3,
		  "section 'pit' is corrupt (c[0].latch_bytes is 3, at most 2)", 0 },
		{ "pit", offsetof(struct pit_state, c[2].count) + 2, 1, "c[2].count is 6", 0 },
		{ "pit", offsetof(struct pit_state, c[1].mode), 0xfb, NULL, 3 },
		{ "pit", offsetof(struct pit_state, c[1].rw), 0xfe, NULL, 2 },
		{ "pit", offsetof(struct pit_state, port61), 0xf5, NULL, 5 },
		/* MC146818: 7-bit index registers at 0x70 and 0x72 */
		{ "rtc", offsetof(struct rtc_state, index[0]), 0xce, NULL, 0x4e },
		{ "rtc", offsetof(struct rtc_state, index[1]), 0xff, NULL, 0x7f },
		/* VGA: index registers, the DAC's component counter and state, DISPI */
		{ "vga", offsetof(struct vga_state, seq_index), 0xff, NULL, 7 },
		{ "vga", offsetof(struct vga_state, crtc_index), 0xc9, NULL, 0x09 },
		{ "vga", offsetof(struct vga_state, dac_sub), 200,
		  "section 'vga' is corrupt (dac_sub is 200, at most 2)", 0 },
		{ "vga", offsetof(struct vga_state, dac_state), 1, "dac_state is 1, not a value",
		  0 },
		{ "vga", offsetof(struct vga_state, vbe[VBE_DISPI_INDEX_BPP]), 7,
		  "vbe[VBE_DISPI_INDEX_BPP] is 7, not a value", 0 },
		{ "vga", offsetof(struct vga_state, vbe[VBE_DISPI_INDEX_XRES]), 0x21,
		  "vbe[VBE_DISPI_INDEX_XRES] is 33, not a multiple of 8", 0 },
		{ "vga", offsetof(struct vga_state, vbe[VBE_DISPI_INDEX_YRES]) + 1, 0xff,
		  "vbe[VBE_DISPI_INDEX_YRES] is 65280, at most", 0 },
		{ "vga", offsetof(struct vga_state, vbe[VBE_DISPI_INDEX_BANK]) + 1, 0x12, NULL, 0 },
		/* IDE: the transfer state within the sector buffer */
		{ "ide", DRIVE0(pos) + 1, IDE_BUF_SIZE >> 8,
		  "section 'ide' is corrupt (drive 0: pos is 8192, at most 8191)", 0 },
		{ "ide", DRIVE0(pos), 6, "drive 0: pos is 6, past the data (len 0)", 0 },
		{ "ide", DRIVE0(xfer), 5, "drive 0: xfer is 5, at most 4", 0 },
		{ "ide", DRIVE0(block), 17, "drive 0: block is 17, at most 16", 0 },
		{ "ide", DRIVE0(at.buf_len) + 2, 1, "drive 0: at.buf_len is 65536, at most 8192",
		  0 },
		/* PCI: CONFIG_ADDRESS bits 1-0 and 30-24 are not stored */
		{ "pci", 0, 0xff, NULL, 0xfc },
		{ "pci", 3, 0xff, NULL, 0x80 },
		/* VMX: the cached VMCS at each field's width (SDM vol. 3C, 24.11.2) */
		{ "vmx", offsetof(struct vmx, f[VMCS_EXIT_MSR_STORE_COUNT]) + 5, 1, NULL, 0 },
		{ "vmx", offsetof(struct vmx, f[VMCS_GUEST_CS_SEL]) + 2, 0xff, NULL, 0 },
		{ "vmx", offsetof(struct vmx, apic_write_off), 0x3f, NULL, 0x30 },
		/* instants within the clock's range (2^62 ns, chipset/timer.h) */
		{ "pit", offsetof(struct pit_state, c[0].start) + 7, 0x01, "c[0].start is 72057",
		  0 },
		{ "lapic", offsetof(struct lapic_state, timer_start) + 7, 0x41,
		  "section 'lapic' is corrupt (cpu 0: timer_start is 46837436124653", 0 },
		{ "rtc", offsetof(struct rtc_state, origin_ns) + 7, 0x80,
		  "section 'rtc' is corrupt (origin_ns is -91513144", 0 },
		{ "hpet", offsetof(struct hpet_state, base_ns) + 7, 0x50, "base_ns is", 0 },
		{ "com1", offsetof(struct uart_state, rx_activity) + 7, 0xff, "rx_activity is", 0 },
		/* the executing CPU */
		{ "board", offsetof(struct pc_board_saved, cur), 1,
		  "section 'board' is corrupt (cur is 1, at most 0)", 0 },
	};
	test_vga = true;
	struct pc *a;
	save_programmed(&a);
	size_t len;
	uint8_t *good = slurp(snap_path, &len);
	struct pc *ref = make_pc(16u << 20, false);
	char bad[] = "/tmp/fugu-snaplimXXXXXX", again[] = "/tmp/fugu-snaplim2XXXXXX";
	close(mkstemp(bad));
	close(mkstemp(again));
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		size_t blen;
		uint8_t *d = with_section_byte(good, len, cases[k].section, cases[k].at,
					       cases[k].value, &blen);
		if (!d)
			fail_msg("no section '%s'", cases[k].section);
		spit(bad, d, blen);
		struct pc *b = make_pc(16u << 20, false);
		if (cases[k].refused) {
			assert_refused(b, ref, bad, cases[k].refused);
		} else {
			char err[256];
			if (machine_load(b, bad, err, sizeof(err)) < 0)
				fail_msg("%s +%zu: %s", cases[k].section, cases[k].at, err);
			assert_int_equal(machine_save(b, again, err, sizeof(err)), 0);
			size_t alen;
			uint8_t *saved = slurp(again, &alen);
			assert_int_equal(section_byte(saved, alen, cases[k].section, cases[k].at),
					 cases[k].kept);
			free(saved);
			/* Through the kept index, as a guest would: bank 1 of the RTC
			 * (0x73), the selected sequencer and CRTC registers. */
			ioport_read(b->io, 0x73, 1);
			ioport_write(b->io, 0x73, 0x5a, 1);
			ioport_read(b->io, 0x3c5, 1);
			ioport_read(b->io, 0x3d5, 1);
		}
		free(d);
		pc_destroy(b);
	}
	unlink(bad);
	unlink(again);
	unlink(snap_path);
	free(good);
	pc_destroy(ref);
	pc_destroy(a);
	test_vga = false;
}

static uint8_t
ram_byte(struct pc *pc, uint64_t pa)
{
	return pc->mem->ram[pa];
}

/* Run the guest until it halts. */
static void
run_to_halt(struct pc *pc)
{
	for (int k = 0; k < 100; k++)
		if (cpu_exec(pc->cpu, 1000000) == CPU_EXIT_HALT)
			return;
	fail_msg("the guest did not halt");
}

/*
 * A guest writes N pages (the CPU's own stores, through the TLB); M restores
 * each bring back exactly those N pages, and the machine equals a second one
 * that never ran. Each run after a restore sees the snapshot's RAM (the byte
 * it increments is 1 afterwards, never 2).
 */
static void
fast_reset_copies_dirty_pages(void **state)
{
	(void)state;
	static const uint16_t counts[] = { 1, 10, 100 };
	for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
		uint16_t n = counts[c];
		struct pc *pc = make_pc(4u << 20, true), *ref = make_pc(4u << 20, true);
		physmem_write(pc->mem, 0x500, &n, 2);
		physmem_write(ref->mem, 0x500, &n, 2);
		char err[256];
		struct snapshot *s = snapshot_take(pc, err, sizeof(err));
		assert_non_null(s);
		for (int m = 0; m < 5; m++) {
			run_to_halt(pc);
			assert_int_equal(pc->mem->ndirty, n);
			for (uint16_t p = 0; p < n; p++)
				assert_int_equal(ram_byte(pc, 0x10000 + 0x1000u * p + 0x10), 1);
			assert_int_equal(ram_byte(pc, 0x10000 + 0x1000u * n + 0x10), 0);
			snapshot_restore(s);
			assert_int_equal(snapshot_last_pages(s), n);
			assert_same_machine(pc, ref);
		}
		snapshot_free(s);
		assert_false(pc->mem->tracking);
		pc_destroy(pc);
		pc_destroy(ref);
	}
}

/* Device DMA (physmem_write) and a second snapshot: the newest restores what
 * was dirtied, an older one restores all of RAM. */
static void
fast_reset_dma_and_older_snapshots(void **state)
{
	(void)state;
	struct pc *pc = make_pc(4u << 20, false);
	program_devices(pc);
	char err[256];
	struct snapshot *s1 = snapshot_take(pc, err, sizeof(err));
	assert_non_null(s1);
	uint32_t v = 0xdeadbeef;
	physmem_write(pc->mem, 0x200000, &v, 4);
	physmem_write(pc->mem, 0x200ffe, &v, 4); /* crosses into the next page */
	assert_int_equal(pc->mem->ndirty, 2);
	pc->cpu->state.gpr[R_AX] = 42;
	struct snapshot *s2 = snapshot_take(pc, err, sizeof(err));
	assert_non_null(s2);
	assert_int_equal(pc->mem->ndirty, 0);
	snapshot_restore(s1); /* not the newest: all of RAM */
	assert_int_equal(snapshot_last_pages(s1), pc->mem->ram_size >> 12);
	assert_int_equal(ram_byte(pc, 0x200000), 0);
	assert_int_not_equal(pc->cpu->state.gpr[R_AX], 42);
	physmem_write(pc->mem, 0x300000, &v, 4);
	snapshot_restore(s1); /* now the newest again: one page */
	assert_int_equal(snapshot_last_pages(s1), 1);
	assert_int_equal(ram_byte(pc, 0x300000), 0);
	snapshot_restore(s2);
	assert_int_equal(ram_byte(pc, 0x200000), 0xef);
	assert_int_equal(pc->cpu->state.gpr[R_AX], 42);
	assert_true(armed_timers(pc) >= 3);
	snapshot_free(s1);
	snapshot_free(s2);
	pc_destroy(pc);
}

/* Each machine tracks its own newest snapshot: two machines reset fast side by side. */
static void
fast_reset_per_machine(void **state)
{
	(void)state;
	struct pc *a = make_pc(4u << 20, false), *b = make_pc(4u << 20, false);
	char err[256];
	struct snapshot *sa = snapshot_take(a, err, sizeof(err));
	struct snapshot *sb = snapshot_take(b, err, sizeof(err));
	assert_non_null(sa);
	assert_non_null(sb);
	uint32_t v = 1;
	for (int m = 0; m < 3; m++) {
		physmem_write(a->mem, 0x100000, &v, 4);
		physmem_write(b->mem, 0x180000, &v, 4);
		physmem_write(b->mem, 0x280000, &v, 4);
		snapshot_restore(sa);
		snapshot_restore(sb);
		assert_int_equal(snapshot_last_pages(sa), 1);
		assert_int_equal(snapshot_last_pages(sb), 2);
		assert_int_equal(ram_byte(a, 0x100000), 0);
		assert_int_equal(ram_byte(b, 0x280000), 0);
	}
	snapshot_free(sa);
	snapshot_free(sb);
	pc_destroy(a);
	pc_destroy(b);
}

/* Three CPUs, the third executing: every CPU's section, the executing CPU
 * (the clock counts its instructions), file and fast reset; a machine with
 * another CPU count is refused by name. */
static void
smp_round_trip(void **state)
{
	(void)state;
	test_ncpus = 3;
	struct pc *a = make_pc(16u << 20, false);
	program_devices(a);
	for (unsigned k = 1; k < 3; k++) {
		a->cpus[k]->state.gpr[R_CX] = 0x1000 + k;
		a->cpus[k]->icount = 100 * k;
	}
	pc_switch_cpu(a, 2);
	char err[256], path[] = "/tmp/fugu-snap-smpXXXXXX";
	close(mkstemp(path));
	assert_int_equal(machine_save(a, path, err, sizeof(err)), 0);
	struct pc *b = make_pc(16u << 20, false);
	if (machine_load(b, path, err, sizeof(err)) < 0)
		fail_msg("load: %s", err);
	assert_same_machine(a, b);
	assert_int_equal(b->cpus[2]->state.gpr[R_CX], 0x1002);
	/* Fast reset: the other CPUs' changes are undone too. */
	struct snapshot *s = snapshot_take(b, err, sizeof(err));
	assert_non_null(s);
	b->cpus[1]->state.gpr[R_CX] = 0xdead;
	b->cpus[2]->icount += 5;
	pc_switch_cpu(b, 0);
	snapshot_restore(s);
	assert_same_machine(a, b);
	snapshot_free(s);
	pc_destroy(b);
	test_ncpus = 1;
	struct pc *one = make_pc(16u << 20, false);
	assert_int_equal(machine_load(one, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CPUs"));
	pc_destroy(one);
	pc_destroy(a);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(file_round_trip),
		cmocka_unit_test(smp_round_trip),
		cmocka_unit_test(damaged_files_refused),
		cmocka_unit_test(device_bools_normalised),
		cmocka_unit_test(device_limits_enforced),
		cmocka_unit_test(cpu_state_consistency),
		cmocka_unit_test(pci_read_only_restored),
		cmocka_unit_test(timer_deadlines_checked),
		cmocka_unit_test(fast_reset_copies_dirty_pages),
		cmocka_unit_test(fast_reset_dma_and_older_snapshots),
		cmocka_unit_test(fast_reset_per_machine),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
