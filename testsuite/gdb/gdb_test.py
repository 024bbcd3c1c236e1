#!/usr/bin/env python3
"""GDB stub test: Debian's gdb in batch mode against fugu (-S -gdb tcp::PORT).

usage: gdb_test.py FUGU ROM

Each case starts fugu stopped, runs one gdb batch script, and checks gdb's
output, the guest's debug-console output and fugu's exit status. TAP output.
The ROM (gdbtarget.asm) runs its routine at 0000:7000 and prints "AX BX" after
AX = 0x1234 + 0x5678 and BX = 0x5678 unless the debugger changed them.
"""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

FUGU, ROM = sys.argv[1], sys.argv[2]
results = []


def ok(cond, name, detail=""):
    results.append((bool(cond), name, detail))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session(commands, extra=()):
    """Run fugu under gdb; returns (gdb output, debug console, fugu status)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        con = os.path.join(tmp, "con.txt")
        fugu = subprocess.Popen(
            [FUGU, "-bios", ROM, "-display", "none", "-device", "isa-debug-exit",
             "-debugcon", "file:" + con, "-timeout", "60", "-S",
             "-gdb", "tcp:127.0.0.1:%d" % port] + list(extra),
            stderr=subprocess.PIPE, text=True)
        args = ["gdb", "-batch", "-nx", "-ex", "set architecture i386:x86-64",
                "-ex", "set confirm off",
                "-ex", "target remote 127.0.0.1:%d" % port]
        for c in commands:
            args += ["-ex", c]
        try:
            out = subprocess.run(args, capture_output=True, text=True, timeout=60)
            text = out.stdout + out.stderr
        except subprocess.TimeoutExpired as e:
            text = "gdb timed out: %s" % e
        try:
            status = fugu.wait(timeout=30)
        except subprocess.TimeoutExpired:
            fugu.kill()
            status = "hung"
        with open(con) as f:
            console = f.read()
    return text, console, status


def plain_run():
    with tempfile.TemporaryDirectory() as tmp:
        con = os.path.join(tmp, "con.txt")
        r = subprocess.run([FUGU, "-bios", ROM, "-display", "none", "-device",
                            "isa-debug-exit", "-debugcon", "file:" + con, "-timeout", "30"])
        with open(con) as f:
            return f.read(), r.returncode


def values(text):
    """The $N = VALUE lines gdb printed, in order."""
    return re.findall(r"^\$\d+ = (.*)$", text, re.M)


if not shutil.which("gdb"):
    print("1..1\nnot ok 1 - gdb is installed (scripts/deps.sh installs it)")
    sys.exit(1)

reference, ref_status = plain_run()
ok(reference == "68ac 5678 \n" and ref_status == 67, "the target runs alone",
   repr((reference, ref_status)))

# 1. A session that only looks: the reset state, a breakpoint, a step, memory,
# a watchpoint, the monitor; the guest's output must be exactly as without gdb.
text, console, status = session([
    "p/x $rip", "p/x $cs", "p/x $eflags",
    "break *0x7000", "continue", "p/x $rip",
    "stepi", "p/x $rip", "x/2xb 0x500",
    "watch *(short*)0x600", "continue", "p/x $rip", "p/x $rbx",
    "delete", "monitor info registers", "continue"])
v = values(text)
ok(v[:3] == ["0xfff0", "0xf000", "0x2"], "reset state: rip=fff0 cs=f000 eflags=2 (SDM 9.1.1)",
   repr(v[:3]))
ok("Breakpoint 1, 0x0000000000007000" in text and v[3:4] == ["0x7000"],
   "a breakpoint stops before the instruction", repr(v[3:4]))
ok(v[4:5] == ["0x7004"], "stepi runs one instruction (inc word [0x500], 4 bytes)", repr(v[4:5]))
ok(re.search(r"0x500:\s+0x01\s+0x00", text), "memory read shows the counter after the step")
ok("Old value = 0" in text and "New value = 22136" in text,
   "a write watchpoint reports the old and new values")
ok(v[5:7] == ["0x700f", "0x5678"], "the watchpoint stops after the storing instruction",
   repr(v[5:7]))
ok("rax=" in text and "cr0=" in text, "monitor info registers prints the state table")
ok("exited with code 0103" in text, "gdb sees the guest exit (status 67)")
ok(console == reference and status == 67, "looking changes nothing the guest sees",
   repr((console, status)))

# 2. A session that writes: registers and memory reach the guest.
text, console, status = session([
    "break *0x700a", "continue", "set $rbx = 0x1111", "set $rax = 0x1000",
    "set *(unsigned short*)0x600 = 0x4242", "x/1xh 0x600", "delete", "continue"])
ok(console == "2111 1111 \n", "register writes reach the guest", repr(console))
ok(re.search(r"0x600:\s+0x4242", text), "memory writes reach the guest")
ok(status == 67, "the guest still exits normally", repr(status))

# 3. Single-step holds interrupts back and a kill ends fugu; detach lets it run on.
text, console, status = session(["stepi", "p/x $rip", "detach"])
ok(values(text)[:1] == ["0x0"], "stepi from the reset vector runs the far jump to f000:0000",
   repr(values(text)[:1]))
ok(console == reference and status == 67, "after detach the guest runs to its end",
   repr((console, status)))
text, console, status = session(["kill"])
ok(status == 0 and console == "", "kill ends fugu at once", repr((console, status)))

# 4. Reverse execution while replaying a recording (docs/SNAPSHOT.md): a
# snapshot every 3 instructions (the list of 8 thins out to every 6th), back
# over the watched store and the counter's increment, to the start of the
# history, and forward again to the same end.
with tempfile.TemporaryDirectory() as tmp:
    rec = os.path.join(tmp, "rec.txt")
    det = ["-clock", "deterministic"]
    subprocess.run([FUGU, "-bios", ROM, "-display", "none", "-device", "isa-debug-exit",
                    "-debugcon", "none", "-timeout", "30", "-record", rec] + det)
    text, console, status = session([
        "monitor reverse interval 3", "break *0x700f", "continue", "monitor reverse info",
        "reverse-stepi", "p/x $rip", "p/x *(short*)0x600", "reverse-stepi", "p/x $rip",
        "break *0x7000", "reverse-continue", "p/x $rip", "p *(short*)0x500",
        "reverse-continue", "p/x $rip", "p/x $cs", "stepi", "p/x $rip",
        "continue", "continue", "p/x $rip", "p *(short*)0x500", "delete", "continue"],
        det + ["-replay", rec])
    v = values(text)
    ok(v[0:3] == ["0x700b", "0x0", "0x700a"],
       "reverse-stepi undoes the watched store, then goes back one more", repr(v[0:3]))
    ok(v[3:5] == ["0x7000", "0"] and "Breakpoint 2, 0x0000000000007000" in text,
       "reverse-continue stops at the last breakpoint before, the increment undone",
       repr(v[3:5]))
    ok(v[5:7] == ["0xfff0", "0xf000"] and "No more reverse-execution history" in text,
       "reverse-continue with no earlier hit ends at the start of the history", repr(v[5:7]))
    ok(v[7:10] == ["0x0", "0x700f", "1"],
       "forward again: stepi, the breakpoints in order, the counter incremented once",
       repr(v[7:10]))
    ok(re.search(r"\d+ of 8 snapshots, one every 6 instructions: 0 6 12", text),
       "monitor reverse info: the history thinned to every 6th instruction")
    ok(console == reference and status == 67, "the replay ends as the recording did",
       repr((console, status)))
# Without a recording, gdb is told reverse execution is not there.
text, console, status = session(["reverse-stepi", "continue"])
ok("not support" in text and status == 67, "no reverse execution without -replay",
   repr(text[-200:]))

print("1..%d" % len(results))
for n, (good, name, detail) in enumerate(results, 1):
    print("%s %d - %s%s" % ("ok" if good else "not ok", n, name,
                            "" if good else "  # got " + detail))
sys.exit(0 if all(r[0] for r in results) else 1)
