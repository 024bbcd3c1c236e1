#!/usr/bin/env python3
"""CPU benchmark: fugu against QEMU (TCG) and Bochs on one bare-metal guest.

usage: cpu.py [FUGU] [--iterations N] [--passes P | --fugu-passes P
              --fugu-jit-passes P --qemu-passes P --bochs-passes P] [--repeat R]
              [--only NAMES] [--mode 64|32]

Assembles testsuite/bench/cpu64.asm (a 64 KiB ROM: reset vector -> long mode ->
PASSES passes of ITERATIONS rounds of a xorshift64/table/multiply integer loop;
it prints "checksum=<hex>" on port 0xe9 and exits through isa-debug-exit and
Bochs' shutdown port), or with --mode 32 testsuite/bench/cpu32.asm (the same
loop in 32-bit protected mode, flat segments, 2-level paging, a xorshift32
generator and a table of dwords: 32-bit registers and 32-bit addresses, an
8-digit checksum), recomputes the checksum in Python, and runs the ROM under
each emulator that is installed:

  fugu   FUGU -bios ROM -debugcon stdio -device isa-debug-exit,iobase=0xf4,
         iosize=4 -no-reboot -timeout T -stats
  fugu_jit  the same with -jit on and without -stats (the JIT fast path)
  qemu   qemu-system-x86_64 -accel tcg -bios ROM -display none -debugcon stdio
         -device isa-debug-exit,iobase=0xf4,iosize=4 -no-reboot
  bochs  bochs-bin -q -f bochsrc (testsuite/bench/bochsrc.cpu; "c" fed to the
         built-in debugger on stdin, SDL_VIDEODRIVER=dummy)

Each emulator's host CPU time (user + system of the child, from os.wait4) is
taken for the workload ROM and for a PASSES=0 ROM that only does the mode
switches and the exit; the difference is the time of the workload alone (best
of --repeat runs of each). Each is given enough passes for a few seconds of
work (QEMU, being a JIT, gets more). MIPS = guest instructions of the workload
/ that time. The instruction count is fugu's -stats count for the workload
(its run minus its PASSES=0 run), which the script checks against a count
derived from the model (the guest code is identical, so the same count
applies to all three; every pass is the same, so it scales with PASSES).

A benchmark, not a test: the figures go to docs/PERFORMANCE.md by hand.

Host packages (Debian): nasm (required); for the peers, qemu-system-x86
(qemu-system-x86_64), bochs and bochs-sdl (Bochs' SDL2 display plugin, run with
the dummy SDL video driver: Debian's bochs has no "nogui" display). A missing
peer is skipped with a note saying what to install.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ASM = {64: os.path.join(HERE, "cpu64.asm"), 32: os.path.join(HERE, "cpu32.asm")}
BOCHSRC = os.path.join(HERE, "bochsrc.cpu")
STATS = re.compile(r"fugu: (\d+) instructions, ([\d.]+) s CPU, ([\d.]+) MIPS")
CHECKSUM = re.compile(r"checksum=([0-9a-f]{16}|[0-9a-f]{8}\b)")
# per mode: the seed and the xorshift shifts of the guest's generator
SEED = {64: 0x9E3779B97F4A7C15, 32: 0x9E3779B9}
SHIFTS = {64: (13, 7, 17), 32: (13, 17, 5)}
PASS_OVERHEAD = 20495   # instructions of a pass outside the rounds (both ROMs)


def model(iterations, bits=64):
    """One pass of the guest's loop in Python: (pass result, odd rounds)."""
    mask = (1 << bits) - 1
    a, b, c = SHIFTS[bits]
    x, acc, odd = SEED[bits], 0, 0
    table = [0] * 4096
    for _ in range(iterations):
        x ^= (x << a) & mask
        x ^= x >> b
        x ^= (x << c) & mask
        i = x & 4095
        v = (table[i] + x) & mask
        table[i] = v
        acc = (acc + v * 31) & mask
        if x & 1:
            acc = ((acc << 3) | (acc >> (bits - 3))) & mask
            odd += 1
    for v in table:
        acc = (acc + v) & mask
        acc = (acc >> 1) | ((acc & 1) << (bits - 1))
    return acc, odd


def expected(result, odd, iterations, passes, bits=64):
    """(checksum the guest prints, instructions beyond the PASSES=0 run)."""
    checksum = "%0*x" % (bits // 4, result * passes & ((1 << bits) - 1))
    letters = sum(c in "abcdef" for c in checksum)
    return checksum, passes * (PASS_OVERHEAD + 20 * iterations + odd) + letters


def run_timed(cmd, timeout, stdin=None, env=None, cwd=None):
    """Run cmd; return (status, stdout, stderr, user+sys CPU seconds)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                             stdout=out, stderr=err, env=env, cwd=cwd)
        killer = threading.Timer(timeout, p.kill)
        killer.start()
        try:
            if stdin:
                p.stdin.write(stdin)
                p.stdin.close()
            _, status, ru = os.wait4(p.pid, 0)
        finally:
            killer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return (p.returncode, out.read().decode(errors="replace"),
                err.read().decode(errors="replace"), ru.ru_utime + ru.ru_stime)


class Emulator:
    name = ""
    missing = ""

    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp

    def command(self, rom):
        raise NotImplementedError

    def ok(self, status, out, err):
        return True

    def run(self, rom):
        cmd, kw = self.command(rom)
        status, out, err, cpu = run_timed(cmd, self.args.timeout + 30, **kw)
        m = CHECKSUM.search(out)
        if not m or not self.ok(status, out, err):
            tail = "\n".join((out + err).splitlines()[-15:])
            raise RuntimeError("%s: failed (status %d): %s\n%s"
                               % (self.name, status, " ".join(cmd), tail))
        return m.group(1), cpu, out, err


class Fugu(Emulator):
    name = "fugu"

    def __init__(self, args, tmp):
        super().__init__(args, tmp)
        self.path = args.fugu
        if not (os.path.isfile(self.path) and os.access(self.path, os.X_OK)):
            self.missing = "%s not found (build first: make build)" % self.path

    def command(self, rom):
        return [self.path, "-bios", rom, "-debugcon", "stdio", "-device",
                "isa-debug-exit,iobase=0xf4,iosize=4", "-no-reboot",
                "-timeout", "%g" % self.args.timeout, "-stats", "-jit", "off"], {}

    def ok(self, status, out, err):
        return status == 1 and STATS.search(err)


class FuguJit(Fugu):
    """fugu with the JIT fast path (cpu/jit), timed without -stats (whose
    per-trace counting costs the JIT more than the interpreter); the guest code
    and so the instruction count are fugu's."""
    name = "fugu_jit"

    def command(self, rom):
        cmd, kw = super().command(rom)
        return [a for a in cmd if a != "-stats"][:-2] + ["-jit", "on"], kw

    def ok(self, status, out, err):
        return status == 1


class Qemu(Emulator):
    name = "qemu"

    def __init__(self, args, tmp):
        super().__init__(args, tmp)
        self.path = shutil.which("qemu-system-x86_64")
        if not self.path:
            self.missing = ("qemu-system-x86_64 not installed "
                            "(apt-get install qemu-system-x86)")

    def command(self, rom):
        return [self.path, "-accel", "tcg", "-bios", rom, "-display", "none",
                "-debugcon", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
                "-no-reboot"], {}

    def ok(self, status, out, err):
        return status == 1


class Bochs(Emulator):
    name = "bochs"

    def __init__(self, args, tmp):
        super().__init__(args, tmp)
        self.path = shutil.which("bochs-bin") or shutil.which("bochs")
        if not self.path:
            self.missing = "bochs not installed (apt-get install bochs bochs-sdl)"
            return
        # A dummy VGA option ROM (55 aa, 32 KiB, RETF, checksum 0).
        rom = bytearray(32768)
        rom[0:4] = b"\x55\xaa\x40\xcb"
        rom[-1] = -sum(rom) & 0xFF
        self.vgarom = os.path.join(tmp, "vgarom.bin")
        with open(self.vgarom, "wb") as f:
            f.write(rom)
        with open(BOCHSRC) as f:
            self.template = f.read()
        self.env = dict(os.environ, SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy")

    def command(self, rom):
        rc = rom + ".bochsrc"
        with open(rc, "w") as f:
            f.write(self.template.replace("@ROM@", rom).replace("@VGAROM@", self.vgarom))
        return ([self.path, "-q", "-f", rc],
                {"stdin": b"c\n", "env": self.env, "cwd": self.tmp})

    def ok(self, status, out, err):
        if "Shutdown port: shutdown requested" in err:
            return True
        if re.search(r"sdl2|display library", err, re.I):
            sys.stderr.write("bochs: display plugin problem; apt-get install bochs-sdl\n")
        return False


def build_rom(nasm, tmp, iterations, passes, bits=64):
    rom = os.path.join(tmp, "cpu%d-%d-%d.rom" % (bits, iterations, passes))
    if not os.path.exists(rom):
        subprocess.run([nasm, "-f", "bin", "-DITERATIONS=%d" % iterations,
                        "-DPASSES=%d" % passes, "-o", rom, ASM[bits]], check=True)
    return rom


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fugu", nargs="?", default="build/fugu")
    ap.add_argument("--iterations", type=int, default=2_000_000,
                    help="rounds per pass (the Python model runs one pass)")
    ap.add_argument("--passes", type=int, help="passes for every emulator")
    ap.add_argument("--fugu-passes", type=int, default=10)
    ap.add_argument("--fugu-jit-passes", type=int, default=50)
    ap.add_argument("--qemu-passes", type=int, default=100)
    ap.add_argument("--bochs-passes", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each ROM; best taken")
    ap.add_argument("--only", default="fugu,fugu_jit,qemu,bochs")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--nasm", default="nasm")
    ap.add_argument("--mode", type=int, choices=(64, 32), default=64,
                    help="64: cpu64.asm (long mode); 32: cpu32.asm (protected mode)")
    a = ap.parse_args()
    if not shutil.which(a.nasm):
        sys.exit("cpu.py: %s not found (apt-get install nasm)" % a.nasm)
    if a.passes is not None:
        a.fugu_passes = a.fugu_jit_passes = a.qemu_passes = a.bochs_passes = a.passes
    wanted = [n.strip() for n in a.only.split(",") if n.strip()]

    bits = a.mode
    result, odd = model(a.iterations, bits)
    print("CPU benchmark: cpu%d.asm, %s, %d rounds per pass "
          "(model: pass result %0*x, %d odd rounds)"
          % (bits, "long mode" if bits == 64 else "32-bit protected mode", a.iterations,
             bits // 4, result, odd))

    rows = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="fugu-bench-") as tmp:
        base_rom = build_rom(a.nasm, tmp, a.iterations, 0, bits)
        for cls in (Fugu, FuguJit, Qemu, Bochs):
            if cls.name not in wanted:
                continue
            emu = cls(a, tmp)
            if emu.missing:
                print("%s: skipped: %s" % (cls.name, emu.missing))
                continue
            passes = getattr(a, cls.name + "_passes")
            checksum, count = expected(result, odd, a.iterations, passes, bits)
            rom = build_rom(a.nasm, tmp, a.iterations, passes, bits)
            try:
                base = []
                work = []
                for _ in range(a.repeat):
                    base.append(emu.run(base_rom))
                    work.append(emu.run(rom))
            except RuntimeError as e:
                print(e)
                failed = True
                continue
            got = {w[0] for w in work}
            if got != {checksum} or any(b[0] != "0" * (bits // 4) for b in base):
                print("%s: WRONG checksum %s (expected %s)" % (cls.name, sorted(got), checksum))
                failed = True
                continue
            note = ""
            if cls is Fugu:
                n_work = STATS.search(work[0][3]).group(1)
                n_base = STATS.search(base[0][3]).group(1)
                fcount = int(n_work) - int(n_base)
                if fcount != count:
                    note = "fugu -stats says %d instructions, the model %d" % (fcount, count)
                    print("fugu: instruction count mismatch: " + note)
                    count = fcount
            tb = min(b[1] for b in base)
            tw = min(w[1] for w in work)
            rows.append((cls.name, passes, count, tw, tb, tw - tb))
        print()
        print("%-8s %7s %14s %9s %9s %9s %8s %9s" % (
            "", "passes", "instructions", "run s", "base s", "work s", "MIPS", "fugu/x"))
        fugu_mips = None
        for name, passes, count, tw, tb, t in rows:
            if t < 0.05:   # lost in start-up noise: more passes needed
                mips, shown = None, "n/a"
            else:
                mips = count / t / 1e6
                shown = "%.1f" % mips
            if name == "fugu":
                fugu_mips = mips
            ratio = "%.3f" % (fugu_mips / mips) if fugu_mips and mips else "-"
            print("%-8s %7d %14d %9.3f %9.3f %9.3f %8s %9s" % (
                name, passes, count, tw, tb, t, shown, ratio))
        print("(CPU seconds = user + system, best of %d; work = run - base, base = the "
              "PASSES=0 ROM;\n MIPS = instructions / work s; fugu/x = fugu's MIPS / "
              "that emulator's, >1 = fugu faster)" % a.repeat)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
