#!/usr/bin/env python3
"""Boot benchmark: time from reset to the first boot-sector instruction.

usage: boot.py [FUGU] [--repeat R]

Builds a 1 MiB disk whose boot sector writes to isa-debug-exit (port 0xf4) as
its first instruction, and boots it through Debian's SeaBIOS
(/usr/share/seabios/bios-256k.bin) in fugu and, when installed, in
qemu-system-x86_64 with TCG -- the same BIOS, the same disk, in the same run.
The whole run ends at the boot sector, so its wall-clock and CPU time are the
time SeaBIOS takes to get there (plus process start-up, which a -bios ROM that
exits at the reset vector measures and the script subtracts).

A benchmark, not a test: the figures go to docs/PERFORMANCE.md by hand.
Host packages (Debian): nasm, seabios; qemu-system-x86 for the peer.
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SEABIOS = "/usr/share/seabios/bios-256k.bin"


def timed(cmd):
    """Run cmd; return (exit status, wall seconds, CPU seconds of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return p.returncode, wall, cpu


def best(cmd, repeat, expect):
    runs = []
    for _ in range(repeat):
        status, wall, cpu = timed(cmd)
        if status != expect:
            sys.exit("boot.py: %s exited with %d, expected %d" % (cmd[0], status, expect))
        runs.append((wall, cpu))
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fugu", nargs="?", default="build/fugu")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    if not os.path.exists(SEABIOS):
        sys.exit("boot.py: %s missing (apt-get install seabios)" % SEABIOS)
    tmp = tempfile.mkdtemp(prefix="fugu-boot-")
    try:
        disk = os.path.join(tmp, "disk.img")
        subprocess.run(["nasm", "-f", "bin", "-o", disk, os.path.join(HERE, "bootsector.asm")],
                       check=True)
        # A ROM that exits at the reset vector: the process start-up cost alone.
        rom = os.path.join(tmp, "exit.rom")
        with open(rom, "wb") as f:
            image = bytearray(b"\xff" * 65536)
            image[0xfff0:0xfff4] = b"\xb0\x00\xe6\xf4"  # mov al, 0; out 0xf4, al
            f.write(image)
        peers = [("fugu", [a.fugu, "-display", "none", "-device", "isa-debug-exit",
                           "-no-reboot", "-timeout", "120"])]
        qemu = shutil.which("qemu-system-x86_64")
        if qemu:
            peers.append(("qemu-tcg", [qemu, "-accel", "tcg", "-display", "none", "-device",
                                       "isa-debug-exit,iobase=0xf4,iosize=4", "-no-reboot"]))
        else:
            print("qemu-system-x86_64 not installed (apt-get install qemu-system-x86): skipped")
        print("%-9s %10s %10s %10s %10s" % ("", "wall s", "CPU s", "base wall", "base CPU"))
        results = {}
        for name, base_cmd in peers:
            boot = base_cmd + ["-bios", SEABIOS, "-drive", "file=%s,format=raw,if=ide" % disk,
                               "-snapshot"]
            start = base_cmd + ["-bios", rom]
            wall, cpu = best(boot, a.repeat, 1)
            bwall, bcpu = best(start, a.repeat, 1)
            results[name] = (wall - bwall, cpu - bcpu)
            print("%-9s %10.3f %10.3f %10.3f %10.3f" % (name, wall, cpu, bwall, bcpu))
        print()
        for name, (wall, cpu) in results.items():
            print("%-9s reset -> boot sector: %.3f s wall, %.3f s CPU" % (name, wall, cpu))
        if "qemu-tcg" in results and results["qemu-tcg"][0] > 0:
            print("fugu/qemu wall-time ratio: %.2f" % (results["fugu"][0] / results["qemu-tcg"][0]))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
