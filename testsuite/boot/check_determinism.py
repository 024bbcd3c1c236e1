#!/usr/bin/env python3
"""Deterministic mode (DESIGN: virtual time from the retired-instruction count):
two runs of the same guest produce the same trace, byte for byte.

usage: check_determinism.py FUGU DISK [--smp N]

DISK is the demo disk (it runs a PIT/RTC clock for 30 s and powers off).
Boots DISK through SeaBIOS twice with `-clock deterministic -d io,int` (every
port access and interrupt, timer interrupts included) and `-stats`, and checks
that the traces and the retired-instruction counts are identical, and that the
trace is not trivially small (timer interrupts and device I/O must be in it).
With --smp N the machine has N CPUs, interleaved in slices: the runs must
still match byte for byte (the trace then heads events with the CPU index).
With --realtime, a third run in realtime mode (30 s of host time) must reach the
same end (status 0) too. Prints TAP.
"""
import hashlib
import os
import re
import subprocess
import sys
import tempfile


SMP = sys.argv[sys.argv.index("--smp") + 1] if "--smp" in sys.argv else "1"


def run(fugu, disk, log, clock):
    cmd = [fugu, "-hda", disk, "-snapshot", "-clock", clock, "-no-reboot", "-timeout", "100",
           "-d", "io,int,repeats=all", "-D", log, "-stats", "-smp", SMP]
    p = subprocess.run(cmd, capture_output=True, timeout=120)
    m = re.search(rb"fugu: (\d+) instructions", p.stderr)
    with open(log, "rb") as f:
        data = f.read()
    return p.returncode, int(m.group(1)) if m else -1, data


def main():
    fugu, disk = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="fugu-det-")
    a = run(fugu, disk, os.path.join(tmp, "a.log"), "deterministic")
    b = run(fugu, disk, os.path.join(tmp, "b.log"), "deterministic")
    c = run(fugu, disk, os.path.join(tmp, "c.log"), "realtime") if "--realtime" in sys.argv \
        else (0, 0, b"")
    results = [
        ("deterministic runs power off (status 0)", a[0] == 0 and b[0] == 0),
        ("same retired-instruction count", a[1] == b[1] and a[1] > 1000000),
        ("same io/int trace, byte for byte",
         hashlib.sha256(a[2]).digest() == hashlib.sha256(b[2]).digest()),
        ("the trace holds timer interrupts and port I/O",
         a[2].count(b"interrupt vector=08") > 500 and a[2].count(b"out port=") > 1000),
    ]
    if "--realtime" in sys.argv:
        results.append(("realtime run ends the same way (status 0)", c[0] == 0))
    print("1..%d" % len(results))
    for k, (name, ok) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", k, name))
    if not all(ok for _, ok in results):
        print("# statuses %d %d %d, counts %d %d, sizes %d %d" %
              (a[0], b[0], c[0], a[1], b[1], len(a[2]), len(b[2])))
    for n in ("a.log", "b.log", "c.log"):
        if os.path.exists(os.path.join(tmp, n)):
            os.unlink(os.path.join(tmp, n))
    os.rmdir(tmp)
    return 0 if all(ok for _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
