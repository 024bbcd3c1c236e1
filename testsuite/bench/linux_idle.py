#!/usr/bin/env python3
"""Linux idle at the shell: boot Debian's kernel with the test initramfs
(testsuite/linux) to the busybox prompt in fugu and in qemu-system-x86_64
(TCG), then measure each emulator's CPU use (user + system, from
/proc/PID/stat) over 30 s of doing nothing. Also prints the time to the
prompt. A benchmark for docs/PERFORMANCE.md, not a test.

usage: linux_idle.py FUGU [SECONDS] [CPUS]   (CPUS: -smp for both, default 1)
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "linux"))
from console import PROMPT, Console  # noqa: E402

fugu = sys.argv[1]
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
smp = sys.argv[3] if len(sys.argv) > 3 else "1"
kernels = sorted(glob.glob("/boot/vmlinuz-*-amd64"))
if not kernels:
    print("linux_idle: no /boot/vmlinuz-*-amd64 (scripts/deps.sh installs linux-image-amd64)")
    sys.exit(0)
kernel = kernels[-1]
tmp = tempfile.mkdtemp(prefix="fugu-idle-")
initrd = os.path.join(tmp, "initrd.gz")
here = os.path.dirname(os.path.abspath(__file__))
subprocess.run(["sh", os.path.join(here, "..", "linux", "mkinitramfs.sh"), initrd], check=True)
append = "console=ttyS0 quiet"
emulators = [("fugu", [fugu, "-m", "256", "-smp", smp, "-serial", "stdio", "-display", "none"])]
if shutil.which("qemu-system-x86_64"):
    emulators.append(("qemu-tcg", ["qemu-system-x86_64", "-accel", "tcg", "-m", "256", "-smp", smp,
                                   "-nographic", "-no-reboot"]))


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick  # utime, stime


print("-smp %s, %g s idle" % (smp, seconds))
print("%-9s %12s %12s %10s" % ("emulator", "to prompt s", "idle CPU s", "% of core"))
for name, cmd in emulators:
    log = os.path.join(tmp, name + ".log")
    con = Console(cmd + ["-kernel", kernel, "-initrd", initrd, "-append", append], log)
    start = time.monotonic()
    ok = con.read_until(b"fugu-linux: init started", 900) is not None and \
        con.read_until(PROMPT, 120) is not None
    boot = time.monotonic() - start
    if not ok:
        print("%-9s did not reach the prompt" % name)
        con.kill()
        continue
    time.sleep(2)  # let the boot's last work (deferred probes) settle
    c0, t0 = cpu_seconds(con.proc.pid), time.monotonic()
    time.sleep(seconds)
    c1, t1 = cpu_seconds(con.proc.pid), time.monotonic()
    con.kill()
    print("%-9s %12.1f %12.2f %9.2f%%" % (name, boot, c1 - c0, 100 * (c1 - c0) / (t1 - t0)))
shutil.rmtree(tmp)
