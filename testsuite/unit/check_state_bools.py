#!/usr/bin/env python3
"""Every bool of a saved record is in its record's bool list (chipset/state.h).

Restoring a snapshot loads each record's bytes as they are in the file, then
normalises the bytes its bool list names to 0 or 1: a bool missing from the
list would hold whatever the file says, and reading a bool that is not 0 or 1
is undefined behaviour (C11 6.2.6.1p5; fuzz_snapshot found it in five
devices). The lists are offsetof()s written by hand next to each restore;
this test reads the types from the debug information of a binary that links
every device (gdb's Python API), walks each saved record's type down to
every bool (nested structs and arrays included) and compares the offsets with
the list's. A record with no list must have no bool.

usage: check_state_bools.py GDB BINARY
"""
import subprocess
import sys

# (the record's type, how many of it the record holds, its bool list as a gdb
# expression, or None when the restore has no list). Every type copied by a
# restore from a snapshot section appears here; a new one is added here too.
RECORDS = [
    ("struct pit_state", 1, "'pit.c'::pit_bools"),
    ("struct pic_state", 1, "'pic.c'::pic_bools"),
    ("struct rtc_state", 1, "'rtc.c'::rtc_bools"),
    ("struct kbc_state", 1, "'kbc.c'::kbc_bools"),
    ("struct lapic_state", 1, "'lapic.c'::lapic_bools"),
    ("struct uart_state", 1, "uart_restore::bools"),
    ("struct vga_state", 1, "vga_restore::bools"),
    ("struct ide_drive_state", 1, "ide_restore::drive_bools"),
    ("struct ide_bm_state", 2, "ide_restore::bm_bools"),
    ("struct vmx", 1, "'cpu.c'::vmx_bools"),
    ("struct cpu_saved", 1, "'snapshot.c'::cpu_bools"),  # refused, not normalised
    ("struct ide_channel_state", 1, None),
    ("struct e1000_state", 1, None),
    ("struct fwcfg_state", 1, None),
    ("struct hpet_state", 1, None),
    ("struct ioapic_state", 1, None),
    ("struct pci_function_state", 1, None),
    ("struct pcitestdev_state", 1, None),
    ("struct piix_state", 1, None),
    ("struct testdev_state", 1, None),
    ("struct pc_board_saved", 1, None),
    ("struct vclock_saved", 1, None),
]

GDB_SCRIPT = r'''
import gdb

def bools(t, base, out, path):
    t = t.strip_typedefs()
    if t.code == gdb.TYPE_CODE_BOOL:
        out.append((base, path))
    elif t.code == gdb.TYPE_CODE_ARRAY:
        lo, hi = t.range()
        el = t.target()
        for i in range(lo, hi + 1):
            bools(el, base + (i - lo) * el.strip_typedefs().sizeof, out, "%s[%d]" % (path, i))
    elif t.code in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
        for f in t.fields():
            if f.bitpos is None or not hasattr(f, "type"):
                continue
            bools(f.type, base + f.bitpos // 8, out, path + "." + (f.name or "?"))

RECORDS = @RECORDS@
bad = 0
for tname, count, listexpr in RECORDS:
    t = gdb.parse_and_eval("(%s *)0" % tname).type.target()
    want = []
    for k in range(count):
        bools(t, k * t.sizeof, want, "%s[%d]" % (tname, k) if count > 1 else tname)
    have = set()
    if listexpr:
        v = gdb.parse_and_eval(listexpr)
        lo, hi = v.type.range()
        have = {int(v[i]) for i in range(lo, hi + 1)}
    missing = [(o, p) for o, p in want if o not in have]
    extra = sorted(have - {o for o, _ in want})
    for o, p in missing:
        print("not ok - %s: bool %s at offset %d is not in %s" % (tname, p, o, listexpr or "a list (there is none)"))
        bad += 1
    for o in extra:
        print("not ok - %s: %s names offset %d, which is no bool" % (tname, listexpr, o))
        bad += 1
    if not missing and not extra:
        print("ok - %s: %d bool(s), all in %s" % (tname, len(want), listexpr or "(no list, no bool)"))
print("RESULT %d" % bad)
'''


def main():
    gdb, binary = sys.argv[1], sys.argv[2]
    script = GDB_SCRIPT.replace("@RECORDS@", repr(RECORDS))
    p = subprocess.run([gdb, "-nx", "-batch", "-ex", "python\n" + script + "\nend", binary],
                       capture_output=True, timeout=300, text=True)
    lines = [l for l in p.stdout.splitlines() if l.startswith(("ok", "not ok", "RESULT"))]
    results = [l for l in lines if not l.startswith("RESULT")]
    print("1..%d" % len(results))
    for k, l in enumerate(results, 1):
        print(l.replace(" - ", " %d - " % k, 1))
    if len(results) != len(RECORDS) or not any(l.startswith("RESULT") for l in lines):
        print("# gdb did not finish: %s" % p.stderr[-2000:].replace("\n", "\n# "))
        return 1
    return 0 if all(l.startswith("ok") for l in results) else 1


if __name__ == "__main__":
    sys.exit(main())
