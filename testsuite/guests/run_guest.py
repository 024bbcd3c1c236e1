#!/usr/bin/env python3
"""Boot a guest ROM in fugu and check its debug-console output and exit status.

usage: run_guest.py FUGU ROM --expect-output TEXT --expect-status N [fugu args...]
Prints a TAP report (one test) so meson counts it.
"""
import argparse
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fugu")
    ap.add_argument("rom")
    ap.add_argument("--expect-output", required=True)
    ap.add_argument("--expect-status", type=int, required=True)
    ap.add_argument("--timeout", default="20")
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    cmd = [a.fugu, "-bios", a.rom, "-debugcon", "stdio", "-device", "isa-debug-exit",
           "-no-reboot", "-timeout", a.timeout] + a.extra
    p = subprocess.run(cmd, capture_output=True, timeout=120)
    out = p.stdout.decode("utf-8", "replace")
    ok = out == a.expect_output and p.returncode == a.expect_status
    print("1..1")
    print(("ok" if ok else "not ok") + " 1 - " + " ".join(cmd[1:3]))
    if not ok:
        print("# expected status %d, got %d" % (a.expect_status, p.returncode))
        print("# expected output %r" % a.expect_output)
        print("# got output      %r" % out)
        for line in p.stderr.decode("utf-8", "replace").splitlines()[-20:]:
            print("# stderr: " + line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
