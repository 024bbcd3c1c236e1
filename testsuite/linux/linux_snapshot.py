#!/usr/bin/env python3
"""Linux at the shell, saved and resumed (docs/SNAPSHOT.md).

usage: linux_snapshot.py [--timeout S] -- FUGU ARGS...

Boots the guest (FUGU ARGS, serial console on stdio) with a TCP monitor, leaves
a file in the initramfs's tmpfs at the shell, saves the machine with the
monitor's `savevm` and quits. A second fugu with the same ARGS and -loadvm of
that file must be at the same shell: the file is there, the CPU still computes
(sha256sum), the kernel's clock still runs (sleep 1 returns), and poweroff
ends it with status 0. TAP; the consoles go to linux_snapshot.{1,2}.log.
"""
import hashlib
import os
import socket
import sys
import tempfile
import time

from console import Console, session, tap

args = sys.argv[1:]
timeout = 600.0
if args[:1] == ["--timeout"]:
    timeout = float(args[1])
    args = args[2:]
if args[:1] == ["--"]:
    args = args[1:]


def monitor(port, commands):
    """Send commands to the TCP monitor; everything it answered until it closed."""
    for _ in range(100):
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=30)
            break
        except OSError:
            time.sleep(0.1)
    else:
        return ""
    c.sendall(commands.encode())
    text = b""
    try:
        while True:
            d = c.recv(4096)
            if not d:
                break
            text += d
    except OSError:
        pass
    c.close()
    return text.decode(errors="replace")


tmp = tempfile.mkdtemp(prefix="fugu-linux-snap-")
snap = os.path.join(tmp, "linux.snap")
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
first, checks = session(args + ["-monitor", "tcp:127.0.0.1:%d,server" % port],
                        "linux_snapshot.1.log", timeout)
ok, results = checks.ok, checks.results
out = first.run("echo fugu-was-here > /tmp/mark && cat /tmp/mark")
ok(out == "fugu-was-here", "first run: a file in the tmpfs", repr(out))
answer = monitor(port, "savevm %s\nquit\n" % snap)
ok("saved at instruction" in answer and os.path.exists(snap), "savevm at the shell",
   repr(answer[-200:]))
try:
    status = first.proc.wait(timeout=30)
except Exception:
    status = "still running"
ok(status == 0, "the monitor's quit ends the first run with status 0", repr(status))
first.kill()

if os.path.exists(snap):
    second = Console(args + ["-loadvm", snap], "linux_snapshot.2.log")
    out = second.run("cat /tmp/mark", 60)
    ok(out == "fugu-was-here", "loaded run: the same shell and its file", repr(out))
    seq = "".join("%d\n" % k for k in range(1, 20001)).encode()
    out = second.run("seq 1 20000 | sha256sum")
    ok(out and out.split()[0] == hashlib.sha256(seq).hexdigest(),
       "loaded run: sha256sum of seq 1 20000", repr(out))
    out = second.run("sleep 1 && echo slept", 60)
    ok(out == "slept", "loaded run: the kernel's timers still fire", repr(out))
    status = second.poweroff()
    ok(status == 0, "loaded run: poweroff -f ends it with status 0", repr(status))
    second.kill()
    os.unlink(snap)
os.rmdir(tmp)
sys.exit(tap(results))
