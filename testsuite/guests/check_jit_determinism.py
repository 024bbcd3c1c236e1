#!/usr/bin/env python3
"""The JIT changes nothing a deterministic run shows (docs/ARCHITECTURE.md, "The JIT").

usage: check_jit_determinism.py [--categories CATS] FUGU ROM...
Each ROM runs with -clock deterministic three times, -jit off, on and always,
with the trace of CATS (default int,io: every event headed by its instruction
count; with insn, every instruction, which always runs interpreted) and
-run-summary; the traces must be byte-identical and the retired instruction
counts equal. Prints a TAP report, one test per ROM.
"""
import json
import os
import subprocess
import sys
import tempfile


def run(fugu, rom, mode, tmp, cats):
    trace = os.path.join(tmp, "trace-" + mode)
    summary = os.path.join(tmp, "summary-" + mode)
    cmd = [fugu, "-bios", rom, "-debugcon", "stdio", "-device", "isa-debug-exit",
           "-no-reboot", "-display", "none", "-timeout", "60", "-clock", "deterministic",
           "-d", cats, "-trace-format", "json", "-D", trace, "-run-summary", summary,
           "-jit", mode]
    p = subprocess.run(cmd, capture_output=True, timeout=120)
    with open(trace, "rb") as f:
        events = f.read()
    with open(summary) as f:
        insns = json.load(f)["instructions"]
    return p.returncode, p.stdout, events, insns


def main():
    args = sys.argv[1:]
    cats = "int,io"
    if args[:1] == ["--categories"]:
        cats, args = args[1], args[2:]
    fugu, roms = args[0], args[1:]
    print("1..%d" % len(roms))
    failed = 0
    for n, rom in enumerate(roms, 1):
        with tempfile.TemporaryDirectory(prefix="fugu-jitdet-") as tmp:
            runs = {m: run(fugu, rom, m, tmp, cats) for m in ("off", "on", "always")}
        ref = runs["off"]
        bad = [m for m, r in runs.items() if r != ref]
        name = os.path.basename(rom)
        if bad:
            failed += 1
            print("not ok %d - %s" % (n, name))
            for m in bad:
                r = runs[m]
                print("# -jit %s: status %d vs %d, %d vs %d instructions, %d vs %d trace bytes"
                      % (m, r[0], ref[0], r[3], ref[3], len(r[2]), len(ref[2])))
        else:
            print("ok %d - %s: %d instructions, %d trace bytes, identical" %
                  (n, name, ref[3], len(ref[2])))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
