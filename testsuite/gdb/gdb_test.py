#!/usr/bin/env python3
"""GDB stub test: Debian's gdb in batch mode against fugu (-S -gdb tcp::PORT).

usage: gdb_test.py FUGU ROM VMX_ROM VMX_ASM

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

FUGU, ROM, VMX_ROM, VMX_ASM = sys.argv[1:5]
results = []


def ok(cond, name, detail=""):
    results.append((bool(cond), name, detail))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session(commands, extra=(), rom=None):
    """Run fugu under gdb; returns (gdb output, debug console, fugu status)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        con = os.path.join(tmp, "con.txt")
        fugu = subprocess.Popen(
            [FUGU, "-bios", rom or ROM, "-display", "none", "-device", "isa-debug-exit",
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

# 5. A hypervisor and its nested guest (testsuite/guests/vmx.asm, flat 32-bit
# code at its org 0xF0000): breakpoints limited to non-root or root operation,
# the L1 view from the VMCS host-state area while L2 runs, the L2 view from the
# guest-state area while L1 handles an exit, and `monitor info vmcs`.
def labels(asm):
    """Label -> address, from nasm's listing of the ROM (org 0xF0000)."""
    with tempfile.TemporaryDirectory() as tmp:
        lst = os.path.join(tmp, "l.lst")
        subprocess.run(["nasm", "-f", "bin", "-o", os.devnull, "-l", lst,
                        "-I", os.path.dirname(asm) + "/", asm], check=True)
        out, pending = {}, []
        for line in open(lst):
            m = re.match(r"\s*\d+\s+([0-9A-F]{8})\s+[0-9A-F]", line)
            lab = re.match(r"\s*\d+\s+([A-Za-z_][A-Za-z0-9_]*):\s*$", line)
            if lab:
                pending.append(lab.group(1))
            elif m and pending:
                for name in pending:
                    out[name] = 0xf0000 + int(m.group(1), 16)
                pending = []
        return out


FLUSH = "maintenance flush register-cache"  # gdb caches registers: a new view needs it
lab = labels(VMX_ASM)
guest, handler = lab["guest"], lab["exit_handler"]
text, console, status = session([
    "monitor break-in non-root", "break *%#x" % handler, "break *%#x" % guest, "continue",
    "p/x $pc", "monitor view", "monitor view l1", FLUSH, "p/x $pc", "p/x $rsp", "p $rax",
    "x/2xb %#x" % guest, "monitor view live", FLUSH, "delete", "monitor break-in any",
    "break *%#x" % handler, "continue", "p/x $pc", "monitor view l2", FLUSH, "p/x $pc",
    "p $rbx", "monitor info vmcs", "monitor view live", FLUSH, "delete", "continue"],
    rom=VMX_ROM)
v = values(text)
ok(v[0:1] == ["%#x" % guest] and "L2 runs (VMX non-root operation)" in text,
   "a non-root breakpoint stops in L2 (monitor view: L2 runs)", repr(v[0:1]))
ok(v[1:3] == ["%#x" % handler, "0x6800"] and v[3:4] == ["<unavailable>"],
   "view l1 while L2 runs: RIP/RSP from the host-state area, RAX unavailable", repr(v[1:4]))
ok(re.search(r"%#x:\s+0x31\s+0xc0" % guest, text),
   "view l1 reads memory through L1's paging (the guest's xor eax, eax)")
ok(v[4:5] == ["%#x" % handler] and v[5:6] == ["%#x" % (guest + 2)] and
   v[6:7] == ["<unavailable>"],
   "view l2 while L1 handles the CPUID exit: RIP from the guest-state area",
   repr(v[4:7]))
ok("guest_rip" in text and "host_rip" in text and "current VMCS" in text,
   "monitor info vmcs lists the current VMCS's fields")
ok(console == "vmx: PASS\n" and status == 1, "the hypervisor test still passes",
   repr((console, status)))
text, console, status = session(["monitor break-in root", "break *%#x" % guest, "continue"],
                                rom=VMX_ROM)
ok("Breakpoint 1," not in text and console == "vmx: PASS\n",
   "a root-only breakpoint on the guest's code never stops it", repr(text[-300:]))
text, console, status = session(["monitor break-in non-root", "break *%#x" % handler,
                                 "continue"], rom=VMX_ROM)
ok("Breakpoint 1," not in text and console == "vmx: PASS\n",
   "a non-root breakpoint on the host's exit handler never stops it", repr(text[-300:]))

print("1..%d" % len(results))
for n, (good, name, detail) in enumerate(results, 1):
    print("%s %d - %s%s" % ("ok" if good else "not ok", n, name,
                            "" if good else "  # got " + detail))
sys.exit(0 if all(r[0] for r in results) else 1)
