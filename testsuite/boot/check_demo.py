#!/usr/bin/env python3
"""Boot the demo disk of `make run` through SeaBIOS and check what it shows.

usage: check_demo.py FUGU DISK

Deterministic clock, so the demo's 30-second clock runs in virtual time: the
machine description (CPUID vendor and brand, features, the E820 map and the RAM
size) must appear on COM1 and on the VGA text screen, the PIT/RTC clock must
count to 30 seconds, and the demo must power the machine off through ACPI
(fugu status 0). Prints TAP.
"""
import os
import subprocess
import sys
import tempfile


def main():
    fugu, disk = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="fugu-demo-")
    serial, screen = os.path.join(tmp, "serial.txt"), os.path.join(tmp, "screen.txt")
    cmd = [fugu, "-m", "128", "-hda", disk, "-snapshot", "-serial", "file:" + serial,
           "-screendump", screen, "-clock", "deterministic", "-no-reboot", "-timeout", "100"]
    p = subprocess.run(cmd, capture_output=True, timeout=150)
    out = open(serial, encoding="utf-8", errors="replace").read() if os.path.exists(serial) else ""
    out = out.replace("\r", "\n")
    scr = open(screen, encoding="utf-8", errors="replace").read() if os.path.exists(screen) else ""
    results = [
        ("powered off through ACPI (status 0)", p.returncode == 0),
        ("banner on COM1", "fugu demo disk -- booted through SeaBIOS" in out),
        ("CPUID vendor", "CPU: GenuineIntel" in out),
        ("CPUID brand string", "fugu max CPU" in out),
        ("feature list", "Features:" in out and " lm" in out),
        ("E820 map", "Memory map (E820):" in out and "type 1" in out),
        ("RAM size from E820", "Usable RAM: 127 MiB" in out),
        ("the clock ran 30 s", "uptime 30 s (PIT)" in out),
        ("power-off message", "Powering off." in out),
        ("VGA text screen", "fugu demo disk -- booted through SeaBIOS" in scr
         and "Usable RAM: 127 MiB" in scr),
    ]
    print("1..%d" % len(results))
    for k, (name, ok) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", k, name))
    if not all(ok for _, ok in results):
        print("# status %d; stderr: %s" % (p.returncode, p.stderr.decode(errors="replace")[-300:]))
        print("# serial tail: %r" % out[-400:])
    return 0 if all(ok for _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
