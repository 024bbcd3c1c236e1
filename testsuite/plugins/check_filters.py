#!/usr/bin/env python3
"""Trace filters, the binary sink and the tracing hypercall (docs/TRACING.md).

usage: check_filters.py FUGU TRACEDUMP PAGING_ROM TRACECTL_ROM

The paging ROM (CPL 0 and 3, three CR3 values, page walks) is traced once
without a filter; then each filter in turn: the filtered trace must be exactly
the events of the full trace that match. The binary sink decoded by
fugu-tracedump must equal the JSON sink, filtered or not. The tracectl ROM
starts tracing around one loop with the hypercall: only that stretch and the
marker appear. Prints TAP.
"""
import json
import os
import subprocess
import sys
import tempfile

CATS = "insn,io,int,pagewalk"
EVENT_CAT = {"insn": "insn", "in": "io", "out": "io", "post": "io", "interrupt": "int",
             "pagewalk": "pagewalk"}


def run(fugu, rom, spec, log, fmt="json"):
    cmd = [fugu, "-bios", rom, "-device", "isa-debug-exit", "-no-reboot", "-timeout", "30",
           "-display", "none", "-clock", "deterministic", "-cpu", "max,-popcnt",
           "-d", spec, "-D", log, "-trace-format", fmt]
    p = subprocess.run(cmd, capture_output=True, timeout=120)
    return p.returncode


def load(path):
    with open(path) as f:
        return f.read().splitlines()


def addr_of(e):
    return e.get("lin", e.get("addr"))


def main():
    fugu, dump, paging, tractl = sys.argv[1:5]
    tmp = tempfile.mkdtemp(prefix="fugu-filters-")
    full_path = os.path.join(tmp, "full.jsonl")
    results = [("full trace", run(fugu, paging, CATS, full_path) == 1)]
    full = load(full_path)
    ev = [json.loads(l) for l in full]
    cr3s = sorted(set(e["hdr"]["cr3"] for e in ev))
    lins = sorted(e["lin"] for e in ev if e["event"] == "insn")
    lo, hi = lins[len(lins) // 4], lins[len(lins) // 2]
    n = len(ev)
    filters = [
        ("category insn", "insn", lambda e: EVENT_CAT[e["event"]] == "insn"),
        ("category io,int", "io,int", lambda e: EVENT_CAT[e["event"]] in ("io", "int")),
        ("cpl=3", CATS + ",cpl=3", lambda e: e["hdr"]["cpl"] == 3),
        ("cpl=0-2", CATS + ",cpl=0-2", lambda e: e["hdr"]["cpl"] <= 2),
        ("cr3=%#x" % cr3s[-1], CATS + ",cr3=%#x" % cr3s[-1],
         lambda e: e["hdr"]["cr3"] == cr3s[-1]),
        ("vmx=none", CATS + ",vmx=none", lambda e: e["hdr"]["vmx"] == "none"),
        ("vmx=root", CATS + ",vmx=root", lambda e: e["hdr"]["vmx"] == "root"),
        ("addr=%#x-%#x" % (lo, hi), CATS + ",addr=%#x-%#x" % (lo, hi),
         lambda e: addr_of(e) is None or lo <= addr_of(e) <= hi),
        ("icount=100-2000", CATS + ",icount=100-2000",
         lambda e: 100 <= e["hdr"]["icount"] + 1 <= 2000),
        ("icount=3000-", CATS + ",icount=3000-", lambda e: e["hdr"]["icount"] + 1 >= 3000),
        ("cpl=0,icount=-1000,addr", CATS + ",cpl=0,icount=-1000,addr=%#x-%#x" % (lo, hi),
         lambda e: e["hdr"]["cpl"] == 0 and e["hdr"]["icount"] + 1 <= 1000 and
         (addr_of(e) is None or lo <= addr_of(e) <= hi)),
    ]
    results.append(("the full trace has CPL 0 and 3, 3 CR3s, page walks",
                    len(cr3s) == 3 and {0, 3} <= set(e["hdr"]["cpl"] for e in ev) and
                    any(e["event"] == "pagewalk" for e in ev)))
    for name, spec, match in filters:
        path = os.path.join(tmp, "f.jsonl")
        rc = run(fugu, paging, spec, path)
        want = [l for l, e in zip(full, ev) if match(e)]
        got = load(path)
        proper = 0 < len(want) < n or name == "vmx=none" or name == "vmx=root"
        results.append(("filter %s: exactly the matching %d of %d events" % (name, len(want), n),
                        rc == 1 and got == want and proper))

    # Binary sink: decoded to JSON equals the JSON sink, without and with a filter.
    for spec in (CATS, CATS + ",cpl=3"):
        bpath, jpath = os.path.join(tmp, "t.bin"), os.path.join(tmp, "t.jsonl")
        rc = run(fugu, paging, spec, bpath, "binary") + run(fugu, paging, spec, jpath)
        dec = subprocess.run([dump, "-json", bpath], capture_output=True, timeout=60)
        results.append(("binary sink (%s) decoded equals the JSON sink" % spec,
                        rc == 2 and dec.returncode == 0 and
                        dec.stdout.decode().splitlines() == load(jpath)))
        tpath = os.path.join(tmp, "t.txt")
        run(fugu, paging, spec, tpath, "text")
        dec = subprocess.run([dump, bpath], capture_output=True, timeout=60)
        results.append(("binary sink (%s) decoded as text equals the text sink" % spec,
                        dec.stdout.decode().splitlines() == load(tpath)))

    # The hypercall: with start=off only the loop between the start and stop
    # calls, and the marker.
    hpath = os.path.join(tmp, "h.jsonl")
    rc = run(fugu, tractl, "insn,io,start=off", hpath)
    got = [json.loads(l) for l in load(hpath)]
    asm = [e.get("asm", "marker %#x" % e.get("value", 0)) for e in got]
    want = (["mov cx, 5"] + ["dec cx", "jne 0x%x" % got[1]["rip"]] * 5 +
            ["mov eax, 0x4fff0002", "mov ecx, 0xffffffff", "marker 0x1234"]) if len(got) > 1 else []
    results.append(("hypercall: only the loop and the marker are traced",
                    rc == 67 and asm == want))
    if asm != want:
        print("# got %r" % asm)
    full_path = os.path.join(tmp, "h2.jsonl")
    run(fugu, tractl, "insn,io", full_path)
    got2 = [json.loads(l) for l in load(full_path)]
    results.append(("hypercall: tracing on from the start stops at the stop call",
                    got2[0]["rip"] == 0xfff0 and got2[-1]["event"] == "marker" and
                    got2[-2]["asm"] == "mov ecx, 0xffffffff" and
                    not any(e["event"] == "out" for e in got2)))

    print("1..%d" % len(results))
    for k, (name, ok) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", k, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
