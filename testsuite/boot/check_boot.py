#!/usr/bin/env python3
"""Boot a disk through SeaBIOS in fugu and check what a user would see.

usage: check_boot.py FUGU DISK [--smp N]

Runs fugu with Debian's SeaBIOS, the disk as -hda (with -snapshot), COM1 and
the 0x402/0xe9 debug console to files and a text screen dump, then checks:
the exit status (the boot sector's isa-debug-exit value 0x10 -> 33), SeaBIOS's
log lines for RAM, the CPU, the VGA BIOS, the drive and the boot, the boot
sector's line on COM1, its protected-mode line on the debug console, and its
INT 10h line on the VGA text screen. With --smp N the machine has N CPUs and
SeaBIOS must count them all (its INIT-SIPI-SIPI and AP counter, fw_cfg's CPU
count) and build its MP table and ACPI tables. Prints TAP, one line per check.
"""
import os
import subprocess
import sys
import tempfile

CHECKS_LOG = [
    ("RAM size from fw_cfg e820", "qemu/e820: addr 0x0000000000000000 len 0x0000000008000000 [RAM]"),
    ("one CPU", "Found 1 cpu(s)"),
    ("VGA BIOS runs", "Start SeaVGABIOS"),
    ("IDE drive found", "ata0-0: FUGU HARDDISK ATA-6 Hard-Disk (1 MiBytes)"),
    ("boots the hard disk", "Booting from Hard Disk..."),
    ("jumps to the boot sector", "Booting from 0000:7c00"),
]


def main():
    fugu, disk = sys.argv[1], sys.argv[2]
    ncpus = int(sys.argv[sys.argv.index("--smp") + 1]) if "--smp" in sys.argv else 1
    checks = [("%d CPU(s)" % ncpus, "Found %d cpu(s) max supported %d cpu(s)" % (ncpus, ncpus))
              if needle == "Found 1 cpu(s)" else (name, needle) for name, needle in CHECKS_LOG]
    if ncpus > 1:
        checks += [("AP %d ran SeaBIOS's handle_smp" % k, "handle_smp: apic_id=0x%x" % k)
                   for k in range(1, ncpus)]
        checks.append(("MP table built", "Copying MPTABLE"))
        checks.append(("ACPI tables built (the MADT lists the CPUs found)", "Copying ACPI RSDP"))
    tmp = tempfile.mkdtemp(prefix="fugu-boot-")
    log, serial, screen = (os.path.join(tmp, n) for n in ("debug.log", "serial.txt", "screen.txt"))
    cmd = [fugu, "-m", "128", "-hda", disk, "-snapshot", "-debugcon", "file:" + log,
           "-serial", "file:" + serial, "-screendump", screen, "-device", "isa-debug-exit",
           "-no-reboot", "-timeout", "60", "-smp", str(ncpus)]
    p = subprocess.run(cmd, capture_output=True, timeout=120)

    def read(path):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    log_text, serial_text, screen_text = read(log), read(serial), read(screen)
    results = [("exit status 33 (isa-debug-exit 0x10)", p.returncode == 33)]
    for name, needle in checks:
        results.append(("SeaBIOS log: " + name, needle in log_text))
    results.append(("COM1 line from INT 14h", "fugu boot sector: hello from COM1" in serial_text))
    results.append(("protected mode reached",
                    "fugu boot sector: protected mode OK" in log_text))
    results.append(("VGA text screen shows the SeaBIOS banner", "SeaBIOS (version" in screen_text))
    results.append(("VGA text screen shows the INT 10h line",
                    "fugu boot sector: hello from INT 10h" in screen_text))
    print("1..%d" % len(results))
    for k, (name, ok) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", k, name))
    if not all(ok for _, ok in results):
        print("# status %d; stderr: %s" % (p.returncode, p.stderr.decode(errors="replace")[-400:]))
        print("# screen:\n# " + "\n# ".join(screen_text.splitlines()[:25]))
        print("# serial: %r" % serial_text[-200:])
        print("# log tail:\n# " + "\n# ".join(log_text.splitlines()[-15:]))
    return 0 if all(ok for _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
