#!/usr/bin/env python3
"""TLB benchmark: the same loop in 32-bit paged mode, TLB-missing and TLB-hitting.

usage: tlb.py FUGU [--passes N] [--timeout S] [--nasm NASM]

Assembles testsuite/bench/tlb.asm twice (MASK=4095: every access misses the
TLB and walks the page tables; MASK=7: every access hits), checks both
checksums against a model of the loop on a short run, then runs each with
-stats and reports guest MIPS (retired instructions / host CPU seconds). A
benchmark, not a test: the figures go to docs/PERFORMANCE.md by hand.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
STATS = re.compile(r"fugu: (\d+) instructions, ([\d.]+) s CPU, ([\d.]+) MIPS")


def model(passes, mask):
    """The checksum the guest prints (the loop in tlb.asm, in Python)."""
    mem = [0] * 64
    ebx = 0
    for _ in range(passes):
        for ecx in range(4096, 0, -1):
            phys = (ecx & mask) & 63
            eax = mem[phys]
            ebx = (ebx + eax) & 0xFFFFFFFF
            mem[phys] = (eax + ecx) & 0xFFFFFFFF
    return "%08x" % ebx


def build(nasm, tmp, mask, passes):
    rom = os.path.join(tmp, "tlb-%d-%d.rom" % (mask, passes))
    subprocess.run([nasm, "-f", "bin", "-DMASK=%d" % mask, "-DPASSES=%d" % passes,
                    "-o", rom, os.path.join(HERE, "tlb.asm")], check=True)
    return rom


def run(fugu, rom, timeout):
    cmd = [fugu, "-bios", rom, "-debugcon", "stdio", "-device", "isa-debug-exit",
           "-no-reboot", "-stats", "-timeout", str(timeout)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 30)
    m = re.search(r"checksum=([0-9a-f]{8})", p.stdout)
    s = STATS.search(p.stderr)
    if p.returncode != 1 or not m or not s:
        sys.exit("fugu failed (status %d):\n%s%s" % (p.returncode, p.stdout, p.stderr))
    return m.group(1), int(s.group(1)), float(s.group(2)), float(s.group(3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fugu")
    ap.add_argument("--passes", type=int, default=2000)
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--nasm", default="nasm")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for mask in (4095, 7):
            got = run(a.fugu, build(a.nasm, tmp, mask, 16), a.timeout)[0]
            if got != model(16, mask):
                sys.exit("checksum mismatch for MASK=%d: %s != %s" % (mask, got, model(16, mask)))
        print("%-10s %12s %8s %8s %10s  %s" % ("loop", "insns", "cpu s", "MIPS", "ns/iter",
                                               "checksum"))
        for name, mask in (("tlb-miss", 4095), ("tlb-hit", 7)):
            csum, insns, secs, mips = run(a.fugu, build(a.nasm, tmp, mask, a.passes), a.timeout)
            iters = a.passes * 4096
            print("%-10s %12d %8.3f %8.1f %10.1f  %s" % (name, insns, secs, mips,
                                                       secs * 1e9 / iters, csum))


if __name__ == "__main__":
    main()
