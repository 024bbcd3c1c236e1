#!/usr/bin/env python3
"""Nested VMX benchmark: the cost of one VMX level (issue 12).

usage: vmx.py [FUGU] [--iterations N] [--qemu-iterations N] [--exits N]
              [--repeat R] [--only NAMES] [--check]

Assembles testsuite/bench/vmx.asm (a 64 KiB ROM: a 32-bit host with paging
that runs an integer workload in VMX root operation, "L1", then the same code
as a VMX guest, "L2", under EPT + VPID and without EPT, then EXITS CPUID
VM exits, each a round trip through a 12-instruction handler and VMRESUME, and
the same guest loop without the CPUID) once per phase (PHASES = one bit) and
once with no phase (the base: reset, paging, VMXON, the exit). Each emulator
runs each ROM --repeat times; a phase's host wall time is its ROM's best run
minus the base ROM's best run. Every run's workload result ("sum") must equal
the one this script computes (the same in L1 and L2).

  fugu       FUGU -bios ROM -debugcon stdio -device isa-debug-exit,iobase=0xf4,
             iosize=4 -no-reboot -timeout T -stats  (the interpreter)
  fugu_jit   the same with -jit on, without -stats
  qemu       qemu-system-x86_64 -accel tcg -cpu max,+vmx ... (QEMU's TCG does
             not emulate VMX: CPUID.1:ECX.VMX stays clear, the ROM says
             "novmx", and only the L1 workload is reported)
  bochs      bochs-bin -q -f bochsrc (testsuite/bench/bochsrc.cpu, Sandy Bridge
             model: Debian's Bochs 2.7 is built with VMX, EPT and VPID)

Columns: wall seconds of each phase; L2/L1 = the L2 workload's time over L1's;
round trip ns = (wall(exits) - wall(empty)) / EXITS; "rdtsc" columns are the
guest's own TSC deltas: on fugu the TSC is the virtual clock, host nanoseconds
by default (docs/TIMING.md), on Bochs its instruction clock (ips), on QEMU
host time. Instructions per round trip are fugu's -stats count of the exits
ROM minus the empty-loop ROM, over EXITS (the model: the handler's 12
instructions up to and including VMRESUME; the guest's CPUID causes the exit
instead of retiring, so it is not counted).

--check (a test, cheap): fugu and fugu_jit only, small counts, one run; fails
unless every sum is right, L1 and L2 agree and fugu counts 12 instructions per
round trip. A benchmark otherwise: the figures go to docs/PERFORMANCE.md.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cpu  # noqa: E402  (the emulator runners: cpu.py)

ASM = os.path.join(HERE, "vmx.asm")
INCLUDE = os.path.join(HERE, "..", "guests") + os.sep
LINE = re.compile(r"^(\w+) tsc=([0-9a-f]{16}) sum=([0-9a-f]{8})$", re.M)
PHASES = [("l1", 1), ("l2_ept", 2), ("l2_noept", 4), ("exits_ept", 8),
          ("empty_ept", 16), ("exits_noept", 32)]
WORK = ("l1", "l2_ept", "l2_noept")
ROUND_TRIP_INSNS = 12   # the handler up to VMRESUME (vmx.asm run_guest); the CPUID
                        # that exits does not retire (SDM vol. 3C, 27.1)
M32 = (1 << 32) - 1


def model(iterations):
    """vmx.asm's work: the result in EDX."""
    x, acc = 0x9E3779B9, 0
    table = [0] * 4096
    for _ in range(iterations):
        x ^= (x << 13) & M32
        x ^= x >> 17
        x ^= (x << 5) & M32
        i = x & 4095
        v = (table[i] + x) & M32
        table[i] = v
        acc = (acc + v * 31) & M32
        if x & 1:
            acc = ((acc << 3) | (acc >> 29)) & M32
    for v in table:
        acc = (acc + v) & M32
        acc = (acc >> 1) | ((acc & 1) << 31)
    return acc


class Qemu(cpu.Qemu):
    def command(self, rom):
        cmd, kw = super().command(rom)
        return cmd[:3] + ["-cpu", "max,+vmx"] + cmd[3:], kw


def run(emu, rom, timeout):
    """One run: (phase -> (tsc delta, sum), wall s, fugu -stats count or None, out)."""
    cmd, kw = emu.command(rom)
    t0 = time.monotonic()
    status, out, err, _ = cpu.run_timed(cmd, timeout, **kw)
    wall = time.monotonic() - t0
    if "vmx_bench: done" not in out or not emu.ok(status, out, err):
        tail = "\n".join((out + err).splitlines()[-15:])
        raise RuntimeError("%s: failed (status %d): %s\n%s"
                           % (emu.name, status, " ".join(cmd), tail))
    phases = {m.group(1): (int(m.group(2), 16), int(m.group(3), 16))
              for m in LINE.finditer(out)}
    m = cpu.STATS.search(err)
    return phases, wall, int(m.group(1)) if m else None, out


def build(nasm, tmp, iterations, exits, phases):
    rom = os.path.join(tmp, "vmx-%d-%d.rom" % (iterations, phases))
    subprocess.run([nasm, "-f", "bin", "-I", INCLUDE, "-DITERATIONS=%d" % iterations,
                    "-DEXITS=%d" % exits, "-DPHASES=%d" % phases, "-o", rom, ASM],
                   check=True)
    return rom


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fugu", nargs="?", default="build/fugu")
    ap.add_argument("--iterations", type=int, default=2_000_000)
    ap.add_argument("--qemu-iterations", type=int, default=20_000_000,
                    help="QEMU's rounds (its L1 run is short: it translates)")
    ap.add_argument("--exits", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each ROM; best taken")
    ap.add_argument("--only", default="fugu,fugu_jit,qemu,bochs")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--nasm", default="nasm")
    ap.add_argument("--check", action="store_true",
                    help="a quick correctness run of fugu (interpreter and JIT)")
    a = ap.parse_args()
    if not shutil.which(a.nasm):
        sys.exit("vmx.py: %s not found (apt-get install nasm)" % a.nasm)
    if a.check:
        a.iterations = a.qemu_iterations = 20_000
        a.exits, a.repeat, a.only = 2_000, 1, "fugu,fugu_jit"
    wanted = [n.strip() for n in a.only.split(",") if n.strip()]
    print("Nested VMX benchmark: vmx.asm, %d workload rounds (QEMU %d), %d CPUID exits"
          % (a.iterations, a.qemu_iterations, a.exits))

    failed = False
    results = []
    with tempfile.TemporaryDirectory(prefix="fugu-bench-") as tmp:
        for cls in (cpu.Fugu, cpu.FuguJit, Qemu, cpu.Bochs):
            if cls.name not in wanted:
                continue
            iterations = a.qemu_iterations if cls is Qemu else a.iterations
            want_sum = model(iterations)
            roms = {"base": build(a.nasm, tmp, iterations, a.exits, 0)}
            for name, bit in PHASES:
                roms[name] = build(a.nasm, tmp, iterations, a.exits, bit)
            emu = cls(a, tmp)
            if emu.missing:
                print("%s: skipped: %s" % (cls.name, emu.missing))
                continue
            best, tsc, icount = {}, {}, {}
            novmx = False
            try:
                for _ in range(a.repeat):
                    for key, rom in roms.items():
                        if novmx and key not in ("base", "l1"):
                            continue
                        phases, wall, count, out = run(emu, rom, a.timeout + 30)
                        if key == "base" and "novmx" in out:
                            novmx = True
                        if key != "base":
                            if key not in phases and not novmx:
                                raise RuntimeError("%s: no %s line" % (cls.name, key))
                            t, s = phases[key]
                            if key in WORK and s != want_sum:
                                raise RuntimeError("%s: %s: WRONG sum %08x (expected %08x)"
                                                   % (cls.name, key, s, want_sum))
                            tsc[key] = min(tsc.get(key, t), t)
                        best[key] = min(best.get(key, wall), wall)
                        icount[key] = count
            except RuntimeError as e:
                print(e)
                failed = True
                continue
            if novmx:
                print("%s: no VMX (CPUID.1:ECX.VMX clear): the L1 workload only" % cls.name)
            results.append((cls.name, best, tsc, icount))
            print("%s: every workload sum %08x, as the model's for %d rounds"
                  % (cls.name, want_sum, iterations))

        print()
        print("Workload: host wall s (phase ROM - base ROM, best of %d); "
              "guest RDTSC delta in units of 1e6" % a.repeat)
        print("%-9s %7s %8s %8s %9s %6s %8s %9s %9s %9s" % (
            "", "base s", "L1 s", "L2ept s", "L2noept s", "ept/L1", "noept/L1",
            "rdtsc L1", "rdtsc ept", "rdtsc no"))
        for name, best, tsc, _ in results:
            w = {k: best[k] - best["base"] for k in best if k != "base"}

            def f(k, fmt="%8.3f"):
                return fmt % w[k] if k in w else "-"

            def r(k):
                return "%.3f" % (w[k] / w["l1"]) if k in w and w.get("l1", 0) > 0 else "-"

            def t(k):
                return "%.2f" % (tsc[k] / 1e6) if k in tsc else "-"
            print("%-9s %7.3f %8s %8s %9s %6s %8s %9s %9s %9s" % (
                name, best["base"], f("l1"), f("l2_ept"), f("l2_noept"),
                r("l2_ept"), r("l2_noept"), t("l1"), t("l2_ept"), t("l2_noept")))
        print()
        print("VM-exit round trip (%d CPUID exits): ns = (wall(exits) - wall(empty)) / "
              "exits; rdtsc = (guest TSC delta of exits - empty) / exits" % a.exits)
        print("%-9s %9s %9s %9s %10s %10s %10s %11s" % (
            "", "exits s", "empty s", "noept s", "ns ept", "ns noept", "rdtsc ept",
            "insns/trip"))
        for name, best, tsc, icount in results:
            if "exits_ept" not in best:
                print("%-9s (no VMX)" % name)
                continue
            w = {k: best[k] - best["base"] for k in best if k != "base"}
            ns = (w["exits_ept"] - w["empty_ept"]) / a.exits * 1e9
            ns_no = (w["exits_noept"] - w["empty_ept"]) / a.exits * 1e9
            rt = (tsc["exits_ept"] - tsc["empty_ept"]) / a.exits
            insns = "-"
            if icount.get("exits_ept") is not None:
                # the printed TSC deltas' hex letters change the count slightly
                per = (icount["exits_ept"] - icount["empty_ept"]) / a.exits
                insns = "%.2f" % per
                if abs(per - ROUND_TRIP_INSNS) * a.exits > 64:
                    print("%s: %.2f instructions per round trip, the model %d"
                          % (name, per, ROUND_TRIP_INSNS))
                    failed = True
            print("%-9s %9.3f %9.3f %9.3f %10.0f %10.0f %10.1f %11s" % (
                name, w["exits_ept"], w["empty_ept"], w["exits_noept"], ns, ns_no, rt,
                insns))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
