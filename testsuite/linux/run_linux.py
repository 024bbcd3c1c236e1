#!/usr/bin/env python3
"""Boot Debian's Linux to a busybox shell on the serial port and drive it.

usage: run_linux.py [--timeout S] -- EMULATOR ARGS...

The emulator's serial console must be its stdin/stdout (fugu: -serial stdio;
QEMU: -nographic). The script waits for the initramfs's marker and the shell
prompt, runs commands that exercise the CPU (SSE-heavy hashing and gzip) and
checks their output against values computed here, checks dmesg for lines that
show an emulator defect, then powers the guest off (ACPI S5) and expects exit
status 0. TAP output; the serial log goes to run_linux.log beside the cwd.
"""
import hashlib
import sys
import time

from console import session

args = sys.argv[1:]
timeout = 600.0
if args[:1] == ["--timeout"]:
    timeout = float(args[1])
    args = args[2:]
if args[:1] == ["--"]:
    args = args[1:]

BAD = ["XSAVE consistency problem", "unstable", "calibration failed", "Broken PMU", "BUG:",
       "WARNING:", "Oops", "invalid opcode", "general protection"]
start = time.monotonic()
con, checks = session(args, "run_linux.log", timeout)
run, ok, finish = con.run, checks.ok, checks.finish
boot_s = time.monotonic() - start

zeros = hashlib.md5(b"\0" * (2 << 20)).hexdigest()
out = run("dd if=/dev/zero bs=1024 count=2048 2>/dev/null | md5sum")
ok(out and out.split()[0] == zeros, "md5sum of 2 MiB of zeros", repr(out))
seq = "".join("%d\n" % k for k in range(1, 20001)).encode()
out = run("seq 1 20000 | sha256sum")
ok(out and out.split()[0] == hashlib.sha256(seq).hexdigest(), "sha256sum of seq 1 20000", repr(out))
out = run("seq 1 20000 | gzip -9 | gunzip | md5sum")
ok(out and out.split()[0] == hashlib.md5(seq).hexdigest(), "gzip -9 | gunzip round trip",
   repr(out))
out = run("seq 1 20000 | gzip -9 | wc -c")
ok(out and out.strip().isdigit() and 0 < int(out) < len(seq) // 2, "gzip -9 compresses",
   repr(out))
out = run("dmesg | tr '[' '{'")  # Console.run drops lines starting with "["
bad = [l for l in (out or "").split("\n") if any(b in l for b in BAD)]
ok(out is not None and not bad, "dmesg shows no emulator defect", repr(bad[:5]))
status = con.poweroff()
ok(status == 0, "poweroff -f ends the emulator with status 0", repr(status))
sys.stderr.write("run_linux: shell after %.1f s, total %.1f s\n" % (boot_s, time.monotonic() - start))
finish()
