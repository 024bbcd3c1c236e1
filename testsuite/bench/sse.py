#!/usr/bin/env python3
"""SSE benchmark: fugu against QEMU (TCG) and Bochs on an SSE/SSE2 guest loop.

usage: sse.py [FUGU] [--iterations N] [--fugu-passes P] [--fugu-jit-passes P]
              [--qemu-passes P] [--bochs-passes P] [--repeat R] [--only NAMES]

Assembles testsuite/bench/sse64.asm (cpu64.asm's mode switch and exit around
a loop of packed integer and float SSE/SSE2 instructions, loads and stores)
and runs it under each installed emulator exactly as cpu.py does (the same
command lines, host CPU time of the child, workload ROM minus a PASSES=0 ROM,
best of --repeat runs). The guest's values are all exact IEEE results, so the
checksum must be the same everywhere: fugu's interpreter, fugu -jit on, QEMU
and Bochs are checked against each other (no Python model: the float work is
the host's). The instruction count is fugu's -stats count of the workload per
pass (run minus PASSES=0 run, divided by PASSES), scaled to each emulator's
passes; the loop has no data-dependent branch, so every pass is the same.

A benchmark, not a test: the figures go to docs/PERFORMANCE.md by hand.
"""
import argparse
import os
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import cpu as bench  # noqa: E402  (the emulator runners of cpu.py)

bench.ASM = os.path.join(HERE, "sse64.asm")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fugu", nargs="?", default="build/fugu")
    ap.add_argument("--iterations", type=int, default=200_000, help="rounds per pass")
    ap.add_argument("--fugu-passes", type=int, default=5)
    ap.add_argument("--fugu-jit-passes", type=int, default=100)
    ap.add_argument("--qemu-passes", type=int, default=50)
    ap.add_argument("--bochs-passes", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each ROM; best taken")
    ap.add_argument("--only", default="fugu,fugu_jit,qemu,bochs")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--nasm", default="nasm")
    a = ap.parse_args()
    if not shutil.which(a.nasm):
        sys.exit("sse.py: %s not found (apt-get install nasm)" % a.nasm)
    wanted = [n.strip() for n in a.only.split(",") if n.strip()]
    print("SSE benchmark: sse64.asm, long mode, %d rounds per pass" % a.iterations)
    rows, failed = [], False
    with tempfile.TemporaryDirectory(prefix="fugu-sse-") as tmp:
        base_rom = bench.build_rom(a.nasm, tmp, a.iterations, 0)
        # fugu's interpreter with -stats, one pass: the reference checksum of a
        # pass count and the instructions of one pass
        ref = bench.Fugu(a, tmp)
        if ref.missing:
            sys.exit("sse.py: " + ref.missing)
        one = bench.build_rom(a.nasm, tmp, a.iterations, 1)
        _, _, _, err1 = ref.run(one)
        _, _, _, err0 = ref.run(base_rom)
        per_pass = (int(bench.STATS.search(err1).group(1)) -
                    int(bench.STATS.search(err0).group(1)))
        sums = {}
        for cls in (bench.Fugu, bench.FuguJit, bench.Qemu, bench.Bochs):
            if cls.name not in wanted:
                continue
            emu = cls(a, tmp)
            if emu.missing:
                print("%s: skipped: %s" % (cls.name, emu.missing))
                continue
            passes = getattr(a, cls.name + "_passes")
            rom = bench.build_rom(a.nasm, tmp, a.iterations, passes)
            if passes not in sums:
                sums[passes] = ref.run(rom)[0]
            try:
                base, work = [], []
                for _ in range(a.repeat):
                    base.append(emu.run(base_rom))
                    work.append(emu.run(rom))
            except RuntimeError as e:
                print(e)
                failed = True
                continue
            got = {w[0] for w in work}
            if got != {sums[passes]} or any(b[0] != "0" * 16 for b in base):
                print("%s: WRONG checksum %s (fugu: %s)" % (cls.name, sorted(got), sums[passes]))
                failed = True
                continue
            tb = min(b[1] for b in base)
            tw = min(w[1] for w in work)
            rows.append((cls.name, passes, per_pass * passes, tw, tb, tw - tb))
        print()
        print("%-8s %7s %14s %9s %9s %9s %8s %9s" % (
            "", "passes", "instructions", "run s", "base s", "work s", "MIPS", "fugu/x"))
        fugu_mips = None
        for name, passes, count, tw, tb, t in rows:
            mips = count / t / 1e6 if t >= 0.05 else None
            if name == "fugu":
                fugu_mips = mips
            ratio = "%.3f" % (fugu_mips / mips) if fugu_mips and mips else "-"
            print("%-8s %7d %14d %9.3f %9.3f %9.3f %8s %9s" % (
                name, passes, count, tw, tb, t, "%.1f" % mips if mips else "n/a", ratio))
        print("(%d instructions a pass, fugu -stats; CPU seconds = user + system, best of "
              "%d;\n work = run - base; fugu/x = fugu's MIPS / that emulator's, >1 = fugu "
              "faster)" % (per_pass, a.repeat))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
