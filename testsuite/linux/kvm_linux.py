#!/usr/bin/env python3
"""Debian's own KVM inside fugu: boot Debian's kernel with the kvm initramfs
(mkinitramfs.sh OUT kvm), load irqbypass.ko, kvm.ko and kvm-intel.ko, and run
kvmtest (kvmtest.c), a small VMM on /dev/kvm whose four nested guests (real
mode; real to protected mode with paging and an injected interrupt; long mode
with paging; long mode with a guest-handled #PF, MMIO, CPUID, string I/O, INT
and MSRs) write strings and results through port I/O.

With --qemu (the initramfs of mkinitramfs.sh OUT kvm-qemu) it then runs
Debian's qemu-system-x86_64 -accel kvm in the guest, twice: SeaBIOS alone,
nested, POSTs and finds no boot device (its debug console, port 0x402, is
checked); then the same Debian kernel with the small initramfs boots, nested,
to its busybox shell on its own serial line (a pair of FIFOs in the guest),
which runs a workload and powers the nested guest off.

usage: kvm_linux.py [--timeout S] [--qemu] -- EMULATOR ARGS...

TAP output; the serial log goes to kvm_linux.log in the cwd.
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
qemu = args[:1] == ["--qemu"]
if qemu:
    args = args[1:]
if args[:1] == ["--"]:
    args = args[1:]

# dmesg lines that mean kvm_intel or the emulator did not cope (kvm_intel's own
# complaints from setup_vmcs_config and hardware_enable, and kernel defects).
BAD = ["Inconsistent", "should not exist", "disabled by bios", "VMX not supported",
       "unchecked MSR access", "Call Trace",
       "no hardware support", "kvm: ", "vmwrite error", "vmread error", "vmclear fail",
       "vmptrld fail", "BUG:", "WARNING:", "Oops", "invalid opcode", "general protection"]
# Lines that match BAD but are no defect: kvm_intel's workaround for an erratum
# of real Nehalem parts, keyed on the model number (-cpu nehalem is model 26).
BENIGN = ["VM_EXIT_LOAD_IA32_PERF_GLOBAL_CTRL does not work properly"]
# kvmtest's output, exactly, when the four nested guests ran to their HLT.
EXPECTED = """kvmtest: api 12
real: stopped at rip 0x101a
real: wrote "hello from real mode"
real: result 0x2a
real: exits IO x21, HLT x1
boot: stopped at rip 0x107d
boot: wrote "hello from protected mode!"
boot: result 0x375f00
boot: exits IO x25, HLT x1, IO x2, HLT x1
long: stopped at rip 0x1026
long: wrote "hello from long mode"
long: result 0x13ba
long: exits IO x21, HLT x1
work: mmio write 0xd0000010 4 0x12345678
work: mmio read 0xd0000020 4 0xcafe0020
work: stopped at rip 0x1069
work: wrote "hello from the work guest"
work: result 0x75677566 0x2d6e692d 0x214d564b 0x100000 0x5a5a 0xcafe0020 0x80 0x1234
work: exits IO x5, MMIO x2, IO x28, HLT x1
kvmtest: PASS"""

start = time.monotonic()
con, checks = session(args, "kvm_linux.log", timeout)
run, ok, finish = con.run, checks.ok, checks.finish

kernel_release = run("uname -r") or "?"
out = run("grep -c '^flags.* vmx' /proc/cpuinfo")
ok(out is not None and out.isdigit() and int(out) >= 1, "/proc/cpuinfo reports vmx", repr(out))
for mod in ["irqbypass", "kvm", "kvm-intel"]:
    out = run("insmod /lib/kvm/%s.ko && echo loaded" % mod, 300)
    ok(out is not None and out.endswith("loaded"), "insmod %s.ko" % mod, repr(out))
out = run("ls /dev/kvm")
ok(out == "/dev/kvm", "/dev/kvm exists", repr(out))


def kvm_params():
    return {p: run("cat /sys/module/kvm_intel/parameters/" + p)
            for p in ["ept", "unrestricted_guest", "vpid", "enable_apicv"]}


params = kvm_params()
ok(params["ept"] == "Y" and params["unrestricted_guest"] == "Y" and params["vpid"] == "Y",
   "kvm_intel: EPT, unrestricted guest and VPID", repr(params))
# APIC virtualization (docs/VMX.md): APIC-register virtualization, virtual-
# interrupt delivery and posted interrupts are reported on models with x2APIC
# (the last -cpu option wins); Nehalem has only the APIC-access page.
cpus = [args[k + 1] for k in range(len(args) - 1) if args[k] == "-cpu"]
apicv = "N" if cpus and cpus[-1].split(",")[0] == "nehalem" else "Y"
ok(params["enable_apicv"] == apicv, "kvm_intel: enable_apicv=" + apicv, repr(params))
# The VMX event features fugu reports (docs/VMX.md): kvm_intel takes them up.
events = {}
for p in ["preemption_timer", "vnmi", "ple_gap", "pml"]:
    events[p] = run("cat /sys/module/kvm_intel/parameters/" + p)
ok(events["preemption_timer"] == "Y" and events["vnmi"] == "Y" and events["ple_gap"] not in
   (None, "", "0"), "kvm_intel: the preemption timer, virtual NMIs and PAUSE-loop exiting",
   repr(events))
# PML (with EPT A/D): kvm_intel turns enable_pml (parameter "pml") on when the
# control is allowed.
ok(events["pml"] == "Y", "kvm_intel: PML", repr(events))
out = run("kvmtest", 600)
sys.stderr.write("kvmtest output (ept=1):\n%s\n" % out)
ok(out == EXPECTED, "kvmtest with EPT: the four nested guests ran, output exactly as expected",
   repr(out))
# The same guests with shadow paging: kvm_intel reloaded with ept=0 (which
# also turns unrestricted guest off: real mode runs as virtual-8086 mode).
out = run("rmmod kvm_intel && insmod /lib/kvm/kvm-intel.ko ept=0 && echo reloaded", 300)
ok(out is not None and out.endswith("reloaded"), "kvm_intel reloaded with ept=0", repr(out))
params = kvm_params()
ok(params["ept"] == "N" and params["unrestricted_guest"] == "N" and params["vpid"] == "Y",
   "kvm_intel ept=0: shadow paging, no unrestricted guest, VPID", repr(params))
out = run("kvmtest", 600)
sys.stderr.write("kvmtest output (ept=0):\n%s\n" % out)
ok(out == EXPECTED, "kvmtest with shadow paging: output exactly as expected", repr(out))
if qemu:  # QEMU below runs with EPT again
    out = run("rmmod kvm_intel && insmod /lib/kvm/kvm-intel.ko && echo reloaded", 300)
    ok(out is not None and out.endswith("reloaded"), "kvm_intel reloaded with EPT",
       repr(out))


def wait_for(what, log, count, limit):
    """Poll the guest's file `log` until `what` occurs on `count` lines; seconds."""
    begin = time.monotonic()
    while time.monotonic() - begin < limit:
        out = run("grep -c '%s' %s" % (what, log))
        if out and out.isdigit() and int(out) >= count:
            break
        time.sleep(5)
    return time.monotonic() - begin


def nested_qemu(qemu_args, log, marker, limit):
    """Start QEMU with -accel kvm in the background in the guest, wait until its
    log (a file in the guest) has `marker` or `limit` seconds passed, kill it;
    the log. Also checks that QEMU said nothing on stdout and stderr."""
    run("qemu-system-x86_64 -accel kvm -nodefaults -display none -vga none -no-reboot %s "
        ">/tmp/qemu.out 2>&1 & echo $! >/tmp/qemu.pid" % qemu_args)
    took = wait_for(marker, log, 1, limit)
    run("kill $(cat /tmp/qemu.pid); sleep 1")
    # Console.run drops lines starting with "[": a nested kernel's own log lines.
    text = run("tr '[' '{' <%s" % log) or ""
    sys.stderr.write("%s after %.0f s:\n%s\n" % (log, took, text))
    out = run("grep -v 'terminating on signal 15' /tmp/qemu.out")  # the kill above
    ok(out == "", "qemu-system-x86_64 -accel kvm: no warning or error from QEMU", repr(out))
    return text


# The timed workload (issue 12: the cost of one VMX level): the same command in
# this Linux (L1) and in the nested one (L2), timed by busybox's own `time -p`
# in each (both read fugu's virtual clock: host time by default).
TIMED_N = 200000
TIMED = "seq 1 %d | md5sum" % TIMED_N
TIMED_SUM = hashlib.md5("".join("%d\n" % k for k in range(1, TIMED_N + 1)).encode()).hexdigest()
TIMED_REAL = re.compile(r"^real ([0-9.]+)$", re.M)


def timed_seconds(text):
    """The "real" seconds of a `time -p` run of TIMED in text, if its result is right."""
    m = TIMED_REAL.search(text or "")
    return float(m.group(1)) if m and TIMED_SUM + "  -" in text else None


def nested_linux(limit):
    """Boot the kernel nested, its serial line on the FIFOs /tmp/l2.in and
    /tmp/l2.out (QEMU's pipe chardev), drained into /tmp/l2.log; run a workload
    in its shell, and TIMED in it and here, power it off. The log."""
    l1 = run("busybox time -p sh -c '%s' 2>&1" % TIMED, 600)
    run("mkfifo /tmp/l2.in /tmp/l2.out")
    run("qemu-system-x86_64 -accel kvm -nodefaults -display none -vga none -no-reboot "
        "-m 128 -serial pipe:/tmp/l2 -kernel /boot/vmlinuz -initrd /boot/initrd.gz "
        "-append 'console=ttyS0 quiet' >/tmp/qemu.out 2>&1 & echo $! >/tmp/qemu.pid")
    run("cat /tmp/l2.out >/tmp/l2.log & exec 3>/tmp/l2.in")  # the writer stays open
    took = wait_for("built-in shell", "/tmp/l2.log", 1, limit)
    run("echo 'seq 1 20000 | md5sum; echo l2-$((40 + 2))' >&3")
    wait_for("l2-42", "/tmp/l2.log", 1, 300)
    run("""echo 'busybox time -p sh -c "%s" 2>&1; echo l2t-$((1 + 1))' >&3""" % TIMED)
    wait_for("l2t-2", "/tmp/l2.log", 1, 600)
    run("echo 'poweroff -f' >&3")
    for _ in range(60):
        if run("kill -0 $(cat /tmp/qemu.pid) 2>/dev/null || echo gone") == "gone":
            break
        time.sleep(2)
    run("exec 3>&-")
    # The nested shell's prompt is ours too: "#" must not reach our console.
    text = (run("tr '[#' '{%' </tmp/l2.log") or "").replace("\r", "")
    sys.stderr.write("nested Linux's shell after %.0f s:\n%s\n" % (took, text))
    out = run("cat /tmp/qemu.out")
    ok(out == "", "qemu-system-x86_64 -accel kvm: no warning or error from QEMU", repr(out))
    t1, t2 = timed_seconds(l1), timed_seconds(text.split("l2-42")[-1])
    ok(t1 is not None and t2 is not None,
       "'%s' timed in this Linux and in the nested one, its result right" % TIMED,
       repr((l1, text[-300:])))
    if t1 and t2:
        sys.stderr.write("timed '%s': L1 %.2f s, L2 %.2f s, L2/L1 %.2f\n"
                         % (TIMED, t1, t2, t2 / t1))
    return text


if qemu:
    log = nested_qemu("-m 16 -chardev file,id=c,path=/tmp/seabios.log "
                      "-device isa-debugcon,iobase=0x402,chardev=c", "/tmp/seabios.log",
                      "No bootable device", 600)
    ok("Running on KVM" in log and "Booting from Hard Disk..." in log and
       "No bootable device." in log,
       "qemu-system-x86_64 -accel kvm: SeaBIOS runs nested, POSTs, finds no boot device",
       repr(log[-300:]))
    log = nested_linux(900)
    ok("fugu-linux: init started, kernel " + kernel_release in log and "built-in shell" in log,
       "qemu-system-x86_64 -accel kvm: Debian's kernel boots nested to its busybox shell",
       repr(log[-300:]))
    seq = "".join("%d\n" % k for k in range(1, 20001)).encode()
    ok(hashlib.md5(seq).hexdigest() + "  -" in log and "\nl2-42" in log,
       "the nested Linux's shell runs seq | md5sum", repr(log[-300:]))
    ok(run("kill -0 $(cat /tmp/qemu.pid) 2>/dev/null || echo gone") == "gone",
       "poweroff -f in the nested Linux ends its QEMU")
# Console.run drops lines that start with "[" (kernel messages interleaved with
# a command's output): dmesg's own lines must not look like that.
out = run("dmesg | tr '[' '{'")
bad = [l for l in (out or "").split("\n")
       if any(b in l for b in BAD) and not any(b in l for b in BENIGN)]
ok(out is not None and not bad, "dmesg shows no complaint from kvm or the kernel", repr(bad[:8]))
status = con.poweroff()
ok(status == 0, "poweroff -f ends the emulator with status 0", repr(status))
sys.stderr.write("kvm_linux: total %.1f s\n" % (time.monotonic() - start))
finish()
