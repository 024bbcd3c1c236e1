#!/usr/bin/env python3
"""Monitor test: fugu's human monitor driven over a pipe and over TCP.

usage: monitor_test.py FUGU ROM

ROM is testsuite/gdb/gdbtarget.asm: it prints "68ac 5678 " and a newline on the
debug console and exits through isa-debug-exit (status 67). With -S the machine
waits for `cont`, so every command before it sees the reset state
(SDM vol. 3A, 9.1.1: CS.base FFFF0000h, RIP FFF0h). TAP output.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

FUGU, ROM = sys.argv[1], sys.argv[2]
DEMO = sys.argv[3] if len(sys.argv) > 3 else None
results = []


def ok(cond, name, detail=""):
    results.append((bool(cond), name, detail))


def fugu(commands, extra=(), timeout=30):
    with tempfile.TemporaryDirectory() as tmp:
        con = os.path.join(tmp, "con.txt")
        r = subprocess.run([FUGU, "-bios", ROM, "-display", "none", "-device", "isa-debug-exit",
                            "-debugcon", "file:" + con, "-timeout", "20", "-monitor", "stdio"]
                           + list(extra), input="".join(c + "\n" for c in commands),
                           capture_output=True, text=True, timeout=timeout)
        with open(con) as f:
            return r.stdout, f.read(), r.returncode, tmp


# 1. Inspection of the reset state, then cont: the guest runs to its end.
out, console, status, _ = fugu(["info cpus", "x/1i $pc", "xp/5xb 0xffff0", "info registers",
                                "info mtree", "info pci", "info pic", "info irq",
                                "info lapic", "help", "bogus", "x/2xw 0x500", "cont"], ["-S"])
ok("* CPU #0: pc=0x00000000fffffff0 (f000:fff0)" in out, "info cpus: the reset vector", out[:300])
ok(re.search(r"0x00000000fffffff0:\s+ljmp 0xf000:0", out), "x/1i $pc disassembles the far jump")
ok("00000000000ffff0: 0xea 0x00 0x00 0x00 0xf0" in out, "xp reads physical memory (the ROM alias)")
ok("cs   sel=f000 base=00000000ffff0000" in out and "cr0=0000000060000010" in out,
   "info registers: the state table at reset")
ok("ram-below-4g" in out and "(prio 0, rom): bios" in out, "info mtree lists the regions")
ok("PCI device 8086:1237" in out and "PCI device 8086:7000" in out,
   "info pci lists the i440FX and the PIIX3")
ok(re.search(r"pic0: irr=\w\w imr=\w\w", out) and "IRQ0" in out and "apic_base=" in out,
   "info pic, info irq and info lapic print device state")
help_lines = [l for l in out.split("\n") if " -- " in l]
ok(len(help_lines) >= 18 and any(l.startswith("system_powerdown") for l in help_lines),
   "help describes every command", str(len(help_lines)))
ok("unknown command: 'bogus'" in out, "an unknown command is named")
ok(re.search(r"0000000000000500: 0x00000000 0x00000000", out), "x reads RAM before the guest ran")
ok(console == "68ac 5678 \n" and status == 67, "cont runs the guest to its end",
   repr((console, status)))

# 2. quit ends fugu at once, status 0; system_reset honours -no-reboot.
out, console, status, _ = fugu(["quit"], ["-S"])
ok(status == 0 and console == "", "quit while paused ends fugu with status 0", repr(status))
out, console, status, _ = fugu(["system_reset"], ["-S", "-no-reboot"])
ok(status == 0 and console == "", "system_reset with -no-reboot ends fugu", repr(status))

# 3. trace-event switches categories at run time (here: io off before the guest runs).
with tempfile.TemporaryDirectory() as tmp:
    log = os.path.join(tmp, "trace.txt")
    fugu(["info trace", "cont"], ["-S", "-d", "io", "-D", log])
    with open(log) as f:
        on = sum(1 for l in f if l.startswith(("in ", "out ")))
    out, _, status, _ = fugu(["trace-event io off", "cont"], ["-S", "-d", "io", "-D", log])
    with open(log) as f:
        off = sum(1 for l in f if l.startswith(("in ", "out ")))
ok(on > 0 and off == 0 and status == 67, "trace-event io off silences the io category",
   repr((on, off)))

# 4. A TCP monitor: connect, ask, quit.
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
p = subprocess.Popen([FUGU, "-bios", ROM, "-display", "none", "-S", "-timeout", "20",
                      "-monitor", "tcp:127.0.0.1:%d,server" % port], stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True)
text = ""
for _ in range(50):
    try:
        c = socket.create_connection(("127.0.0.1", port), timeout=5)
        break
    except OSError:
        time.sleep(0.1)
else:
    c = None
if c:
    c.sendall(b"info cpus\nquit\n")
    c.settimeout(5)
    try:
        while True:
            d = c.recv(4096)
            if not d:
                break
            text += d.decode()
    except socket.timeout:
        pass
    c.close()
try:
    status = p.wait(timeout=10)
except subprocess.TimeoutExpired:
    p.kill()
    status = "hung"
ok("fugu monitor" in text and "pc=0x00000000fffffff0" in text and status == 0,
   "the TCP monitor answers and quits", repr((text[:200], status)))

# 5. sendkey types on the PS/2 keyboard: the demo disk echoes each scan code it
# gets on COM1 (set 1 after the 8042's translation: a = 1e/9e) and powers off on Esc.
if DEMO:
    with tempfile.TemporaryDirectory() as tmp:
        ser = os.path.join(tmp, "com1.txt")
        p = subprocess.Popen([FUGU, "-m", "128", "-hda", DEMO, "-snapshot", "-display", "none",
                              "-serial", "file:" + ser, "-timeout", "60", "-monitor", "stdio"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        text = ""
        for _ in range(300):
            if os.path.exists(ser) and "Esc (or a key on COM1)" in open(ser).read():
                break
            time.sleep(0.1)
        p.stdin.write("sendkey a\n")
        p.stdin.flush()
        for _ in range(100):
            text = open(ser).read()
            if "scancode 9e" in text:
                break
            time.sleep(0.1)
        p.stdin.write("sendkey esc\n")
        p.stdin.flush()
        try:
            status = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            status = "hung"
    ok("scancode 1e" in text and "scancode 9e" in text and status == 0,
       "sendkey a and sendkey esc reach the guest", repr((text[-120:], status)))

# 5b. Snapshots (docs/SNAPSHOT.md): savevm at the reset state, refused loads change
# nothing, the fast reset of a paused machine copies no page; a second fugu
# started from the file runs the guest to the same end.
with tempfile.TemporaryDirectory() as snapdir:
    snap = os.path.join(snapdir, "m.snap")
    junk = os.path.join(snapdir, "junk.snap")
    with open(junk, "wb") as f:
        f.write(b"not a snapshot at all, only some bytes of text")
    out, console, status, _ = fugu(["savevm " + snap, "loadvm " + junk,
                                    "loadvm " + snap, "snapshot_take", "snapshot_restore",
                                    "info cpus", "cont"], ["-S"])
    ok("saved at instruction 0" in out and os.path.getsize(snap) > 32, "savevm writes the file",
       out[-400:])
    ok("loadvm: not a fugu snapshot (bad magic) (nothing changed)" in out,
       "loadvm refuses a file that is not a snapshot")
    ok("loaded; at instruction 0" in out and "restored 0 pages" in out,
       "loadvm of the file, snapshot_take and snapshot_restore")
    ok(console == "68ac 5678 \n" and status == 67, "the guest then runs to its end",
       repr((console, status)))
    out, console, status, _ = fugu(["cont"], ["-S", "-loadvm", snap])
    ok(console == "68ac 5678 \n" and status == 67, "-loadvm of the monitor's file runs the same",
       repr((console, status)))

# 6. Bad uses are refused before the guest runs.
r = subprocess.run([FUGU, "-bios", ROM, "-monitor", "stdio", "-serial", "stdio"],
                   capture_output=True, text=True)
ok(r.returncode == 2 and "both want the terminal" in r.stderr, "-monitor stdio with -serial stdio")
r = subprocess.run([FUGU, "-bios", ROM, "-monitor", "bogus"], capture_output=True, text=True)
ok(r.returncode == 2 and "-monitor" in r.stderr, "a bad -monitor backend")

print("1..%d" % len(results))
for n, (good, name, detail) in enumerate(results, 1):
    print("%s %d - %s%s" % ("ok" if good else "not ok", n, name,
                            "" if good else "  # got " + detail))
sys.exit(0 if all(r[0] for r in results) else 1)
