#!/usr/bin/env python3
"""Boot fugu with its default BIOS (SeaBIOS) and check a direct-boot test kernel.

usage: run_boot.py FUGU --expect-line TEXT --expect-status N [--timeout S] -- FUGU-ARGS...
       run_boot.py FUGU --expect-usage-error -- FUGU-ARGS...

Unlike testsuite/guests/run_guest.py there is no -bios: the test kernel is
booted by SeaBIOS through fugu's option ROM (-kernel/-initrd/-append in
FUGU-ARGS). SeaBIOS's own log shares the debug console (port 0x402), so the
check is that TEXT appears as a whole line of it and that the exit status is
N. With --expect-usage-error the run must end before any guest code with
status 2, nothing on the debug console and exactly one "fugu: ..." line on
stderr (frontend/main.c's rule for bad input). Prints a TAP report (one test) so meson counts it.
"""
import argparse
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fugu")
    ap.add_argument("--expect-line")
    ap.add_argument("--expect-status", type=int)
    ap.add_argument("--expect-usage-error", action="store_true")
    ap.add_argument("--timeout", default="20")
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    a = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    a.extra = extra
    cmd = [a.fugu, "-debugcon", "stdio", "-device", "isa-debug-exit", "-no-reboot",
           "-timeout", a.timeout] + a.extra
    p = subprocess.run(cmd, capture_output=True, timeout=120)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    if a.expect_usage_error:
        a.expect_status = 2
        a.expect_line = "(nothing; one line on stderr)"
        ok = (p.returncode == 2 and out == "" and len(err.splitlines()) == 1
              and err.startswith("fugu: "))
    else:
        ok = a.expect_line in out.splitlines() and p.returncode == a.expect_status
    print("1..1")
    print(("ok" if ok else "not ok") + " 1 - " + " ".join(a.extra))
    if not ok:
        print("# expected status %d, got %d" % (a.expect_status, p.returncode))
        print("# expected the line %r" % a.expect_line)
        for line in out.splitlines()[-10:]:
            print("# output: " + line)
        for line in err.splitlines()[-20:]:
            print("# stderr: " + line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
