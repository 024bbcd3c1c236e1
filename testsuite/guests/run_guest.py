#!/usr/bin/env python3
"""Boot a guest ROM in fugu and check its debug-console output and exit status.

usage: run_guest.py FUGU ROM --expect-output TEXT --expect-status N [--reboot]
                    [--expect-stderr TEXT] [fugu args...]
--reboot leaves out -no-reboot (a shutdown resets the machine); --expect-stderr
asks for TEXT somewhere in fugu's stderr.
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
    ap.add_argument("--reboot", action="store_true")
    ap.add_argument("--expect-stderr", default="")
    ap.add_argument("extra", nargs="*")
    a = ap.parse_args()
    cmd = [a.fugu, "-bios", a.rom, "-debugcon", "stdio", "-device", "isa-debug-exit"] + \
        ([] if a.reboot else ["-no-reboot"]) + ["-timeout", a.timeout] + a.extra
    p = subprocess.run(cmd, capture_output=True, timeout=120)
    out = p.stdout.decode("utf-8", "replace")
    ok = out == a.expect_output and p.returncode == a.expect_status and \
        a.expect_stderr in p.stderr.decode("utf-8", "replace")
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
