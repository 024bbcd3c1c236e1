#!/usr/bin/env python3
"""Record and replay (docs/SNAPSHOT.md): a run of the echo guest
(testsuite/guests/echo.asm) with keys typed on COM1 by this script is recorded
with `-record`, then replayed with `-replay` and no input at all: the io/int
trace, the debug-console output and the exit status are the recorded run's,
byte for byte. A recording whose first input byte was altered is reported as a
divergence (status 8) at the first checkpoint after that input, naming the
register that differs; a truncated recording is refused. Keys typed with the
monitor's sendkey reach the 8042 and are recorded as keyboard input: replayed
without the monitor, the run is the same; while recording, system_reset is
refused.

usage: check_replay.py FUGU ROM
Prints TAP.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time


def main():
    fugu, rom = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="fugu-replay-")
    rec = os.path.join(tmp, "rec.txt")
    base = [fugu, "-bios", rom, "-m", "16", "-vga", "none", "-device", "isa-debug-exit",
            "-clock", "deterministic", "-no-reboot", "-timeout", "60", "-d", "io,int,repeats=all",
            "-serial", "stdio", "-record-interval", "200000"]

    # Record: type the keys once the guest is ready, in two pieces.
    log1, con1 = os.path.join(tmp, "r1.log"), os.path.join(tmp, "r1.con")
    p = subprocess.Popen(base + ["-D", log1, "-debugcon", "file:" + con1, "-record", rec],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    for _ in range(500):
        if os.path.exists(con1) and b"ready" in open(con1, "rb").read():
            break
        time.sleep(0.01)
    for piece in (b"hel", b"lo q"):
        time.sleep(0.05)
        p.stdin.write(piece)
        p.stdin.flush()
    p.stdin.close()
    status1 = p.wait(timeout=60)
    with open(rec) as f:
        lines = f.read().splitlines()
    inputs = [l for l in lines if l.startswith("input ")]
    checks = [int(l.split()[1]) for l in lines if l.startswith(("check ", "final "))]

    # Replay without input.
    log2, con2 = os.path.join(tmp, "r2.log"), os.path.join(tmp, "r2.con")
    r = subprocess.run(base + ["-D", log2, "-debugcon", "file:" + con2, "-replay", rec],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    with open(log1, "rb") as f1, open(log2, "rb") as f2:
        same_trace = f1.read() == f2.read()
    with open(con1, "rb") as f1, open(con2, "rb") as f2:
        out1, out2 = f1.read(), f2.read()

    results = [
        ("the guest echoed the typed keys (status %d)" % status1,
         out1.startswith(b"ready\nhello q\n") and status1 == 1),
        ("the recording holds the typed keys and checkpoints",
         len(inputs) >= 1 and len(checks) >= 2 and lines[-2].startswith("final ") and
         lines[-1].startswith("end ")),
        ("replay: same io/int trace, byte for byte", same_trace),
        ("replay: same debug-console output and status", out1 == out2 and
         r.returncode == status1),
    ]
    if r.returncode != status1:
        for l in r.stderr.decode("utf-8", "replace").splitlines()[-20:]:
            print("# replay stderr: " + l)

    # An altered input byte: a divergence at the first checkpoint after it.
    if inputs:
        # the first checkpoint written after the input (same count possible:
        # a check at the loop's top follows the input polled just before)
        k = lines.index(inputs[0])
        after = next((int(l.split()[1]) for l in lines[k:]
                      if l.startswith(("check ", "final "))), 0)
        bad = os.path.join(tmp, "bad.txt")
        with open(bad, "w") as f:
            for l in lines:
                if l == inputs[0]:
                    parts = l.split()
                    parts[4] = "%02x" % (int(parts[4][:2], 16) ^ 0x20) + parts[4][2:]
                    l = " ".join(parts)
                f.write(l + "\n")
        d = subprocess.run(base + ["-D", os.devnull, "-replay", bad],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        err = d.stderr.decode("utf-8", "replace").strip()
        m = re.search(r"replay diverged at instruction (\d+): (.+)", err)
        # the guest has read the byte (a register) or it waits in COM1's FIFO
        results.append(("an altered input: status 8, divergence at instruction %d, named"
                        % after, d.returncode == 8 and m is not None and
                        int(m.group(1)) == after and
                        ("register" in m.group(2) or "device com1" in m.group(2))))
        if not (m and int(m.group(1)) == after):
            print("# status %d" % d.returncode)
            for l in err.splitlines()[-20:]:
                print("# stderr: " + l)
        else:
            print("# reported: " + m.group(2))
        # A truncated recording (no end line) is refused as such.
        with open(bad, "w") as f:
            f.write("\n".join(lines[:len(lines) // 2]) + "\n")
        d = subprocess.run(base + ["-D", os.devnull, "-replay", bad],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
        err = d.stderr.decode("utf-8", "replace")
        results.append(("a truncated recording is reported",
                        d.returncode == 8 and "truncated" in err))
        os.unlink(bad)
    results += keyboard(base, tmp)
    # A disk written through to its image cannot be replayed: refused.
    img = os.path.join(tmp, "w.img")
    with open(img, "wb") as f:
        f.write(b"\0" * 512 * 64)
    r = subprocess.run([fugu, "-bios", rom, "-vga", "none", "-hda", img, "-clock",
                        "deterministic", "-record", os.path.join(tmp, "w.rec"), "-timeout", "5"],
                       capture_output=True, text=True, timeout=60)
    results.append(("-record refuses a drive written through to its image (status 2)",
                    r.returncode == 2 and "written through" in r.stderr and
                    len(r.stderr.strip().splitlines()) == 1))
    os.unlink(img)
    for n in (rec, log1, log2, con1, con2):
        os.unlink(n)
    os.rmdir(tmp)
    print("1..%d" % len(results))
    for k, (name, ok) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", k, name))
    return 0 if all(ok for _, ok in results) else 1


def keyboard(base, tmp):
    """sendkey on a TCP monitor while recording; the replay has no monitor."""
    rec = os.path.join(tmp, "kbd.txt")
    log1, con1 = os.path.join(tmp, "k1.log"), os.path.join(tmp, "k1.con")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = subprocess.Popen(base + ["-D", log1, "-debugcon", "file:" + con1, "-record", rec,
                                 "-monitor", "tcp:127.0.0.1:%d,server" % port],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    for _ in range(500):
        if os.path.exists(con1) and b"ready" in open(con1, "rb").read():
            break
        time.sleep(0.01)
    answer = b""
    c = None
    for _ in range(100):
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=10)
            break
        except OSError:
            time.sleep(0.05)
    if c:
        for cmd in (b"sendkey a\n", b"sendkey shift-b\n", b"system_reset\n"):
            c.sendall(cmd)
            time.sleep(0.1)
        c.settimeout(0.5)
        try:
            while True:
                d = c.recv(4096)
                if not d:
                    break
                answer += d
        except OSError:
            pass
        c.close()
    p.stdin.write(b"q")
    p.stdin.close()
    status1 = p.wait(timeout=60)
    lines = open(rec).read().splitlines() if os.path.exists(rec) else []
    kbd = [l for l in lines if l.startswith("input kbd ")]
    log2, con2 = os.path.join(tmp, "k2.log"), os.path.join(tmp, "k2.con")
    r = subprocess.run(base + ["-D", log2, "-debugcon", "file:" + con2, "-replay", rec],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    same_trace = open(log1, "rb").read() == open(log2, "rb").read()
    out1, out2 = open(con1, "rb").read(), open(con2, "rb").read()
    for n in (rec, log1, log2, con1, con2):
        os.unlink(n)
    # a: make, break; shift-b: shift make, b make, b break, shift break: six
    # inputs, one set-1 byte each (the 8042 translates set 2's F0 xx breaks)
    return [
        ("sendkey while recording: the guest read 6 keyboard bytes (status %d)" % status1,
         out1.startswith(b"ready\nkkkkkk") and status1 == 1),
        ("the recording holds the keys as keyboard input (%d lines)" % len(kbd),
         len(kbd) == 6),
        ("system_reset is refused while recording",
         b"system_reset: not while recording" in answer),
        ("replay without a monitor: same trace, output and status",
         same_trace and out1 == out2 and r.returncode == status1),
    ]


if __name__ == "__main__":
    sys.exit(main())
