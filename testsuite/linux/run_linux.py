#!/usr/bin/env python3
"""Boot Debian's Linux to a busybox shell on the serial port and drive it.

usage: run_linux.py [--timeout S] [--cpus N] [--s3] -- EMULATOR ARGS...

The emulator's serial console must be its stdin/stdout (fugu: -serial stdio;
QEMU: -nographic). The script waits for the initramfs's marker and the shell
prompt, runs commands that exercise the CPU (SSE-heavy hashing and gzip) and
checks their output against values computed here, checks dmesg for lines that
show an emulator defect, then powers the guest off (ACPI S5) and expects exit
status 0. With --cpus N it also checks that N CPUs are online and runs one
hashing job per CPU at once; with --s3 it suspends to RAM (ACPI S3), lets the RTC
alarm wake it, and checks that the kernel resumed. TAP output; the serial log goes to run_linux.log
beside the cwd.
"""
import hashlib
import re
import sys
import time

from console import session

args = sys.argv[1:]
timeout = 600.0
if args[:1] == ["--timeout"]:
    timeout = float(args[1])
    args = args[2:]
cpus = 0
if args[:1] == ["--cpus"]:
    cpus = int(args[1])
    args = args[2:]
s3 = args[:1] == ["--s3"]
if s3:
    args = args[1:]
if args[:1] == ["--"]:
    args = args[1:]

BAD = ["XSAVE consistency problem", "unstable", "calibration failed", "Broken PMU", "BUG:",
       "WARNING:", "Oops", "invalid opcode", "general protection", "unchecked MSR access"]
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
if cpus:
    out = run("grep -c ^processor /proc/cpuinfo; cat /sys/devices/system/cpu/online")
    ok(out == "%d\n0-%d" % (cpus, cpus - 1), "%d CPUs online" % cpus, repr(out))
    jobs = " ".join("(seq 1 20000 | sha256sum > /tmp/h%d) &" % k for k in range(cpus))
    out = run(jobs + " wait; cat /tmp/h*", 300)
    want = hashlib.sha256(seq).hexdigest()
    # the shell's echo of the long command wraps: keep the result lines only
    hashes = [l.split()[0] for l in (out or "").split("\n") if re.match(r"[0-9a-f]{64}  -$", l)]
    ok(hashes == [want] * cpus,
       "%d hashing jobs at once, every result right" % cpus, repr(out))
# The HPET (SeaBIOS's ACPI HPET table names it): Linux registers it as a
# clocksource, and time still passes with it as the current one.
CS = "/sys/devices/system/clocksource/clocksource0/"
out = run("cat " + CS + "available_clocksource")
ok(out and "hpet" in out.split(), "the hpet clocksource is available", repr(out))
out = run("echo hpet > " + CS + "current_clocksource; cat " + CS + "current_clocksource; "
          "a=$(cut -d' ' -f1 /proc/uptime); sleep 1; b=$(cut -d' ' -f1 /proc/uptime); "
          "echo $a $b")
words = " ".join((out or "").split("\n")[-2:]).split()  # a long echo may wrap
ok(len(words) == 3 and words[0] == "hpet" and 0.9 < float(words[2]) - float(words[1]) < 5,
   "with hpet as the clocksource, sleep 1 takes a second of uptime", repr(out))
# No general-purpose event fired (SeaBIOS's _E01 would eject PCI devices), and
# the board's PCI functions are all there (00:00.0, 01.0, 01.1, 01.3 at least).
out = run("cat /sys/firmware/acpi/interrupts/gpe_all; ls /sys/bus/pci/devices | wc -l")
words = (out or "").split()
ok(len(words) >= 2 and words[0] == "0" and words[-1].isdigit() and int(words[-1]) >= 4,
   "no ACPI GPE fired, every PCI function present", repr(out))
# The ATAPI CD-ROM (when the command line has one): libata's ata_piix finds
# it, sr_mod drives it with MMC commands, isofs reads the file on it.
if "-cdrom" in args and "-kernel" in args:
    out = run("for m in scsi_common scsi_mod libata ata_piix cdrom sr_mod isofs; do "
              "insmod /lib/fugu-modules/$m.ko; done; i=0; "
              "while [ ! -e /sys/block/sr0 ] && [ $i -lt 30 ]; do sleep 1; i=$((i+1)); done; "
              "[ -b /dev/sr0 ] || mknod /dev/sr0 b 11 0; "
              "mkdir -p /mnt; mount -t iso9660 -o ro /dev/sr0 /mnt && cat /mnt/README.TXT",
              180)
    ok(out and "fugu CD-ROM test file" in out.replace("\n", " ").split("README.TXT")[-1],
       "Linux mounts the CD-ROM (ata_piix, sr_mod, isofs) and reads a file", repr(out))
if s3:
    # ACPI S3 (deep): the RTC alarm wakes the board, SeaBIOS resumes through
    # the FACS waking vector, the kernel carries on where it slept.
    out = run("echo deep > /sys/power/mem_sleep; echo +2 > /sys/class/rtc/rtc0/wakealarm; "
              "echo mem > /sys/power/state && echo resumed-ok", 300)
    ok(out and "resumed-ok" in out.split("\n")[-1], "suspend to RAM, woken by the RTC alarm",
       repr(out))
    out = run("dmesg | grep -c 'Waking up from system sleep state S3'")
    ok(out == "1", "the kernel woke from S3 (not a reboot)", repr(out))
    out = run("seq 1 20000 | sha256sum")
    ok(out and out.split()[0] == hashlib.sha256(seq).hexdigest(), "sha256sum after resume",
       repr(out))
out = run("dmesg | tr '[' '{'")  # Console.run drops lines starting with "["
bad = [l for l in (out or "").split("\n") if any(b in l for b in BAD)]
ok(out is not None and not bad, "dmesg shows no emulator defect", repr(bad[:5]))
status = con.poweroff()
ok(status == 0, "poweroff -f ends the emulator with status 0", repr(status))
sys.stderr.write("run_linux: shell after %.1f s, total %.1f s\n" % (boot_s, time.monotonic() - start))
finish()
