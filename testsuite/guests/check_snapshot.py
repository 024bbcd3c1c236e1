#!/usr/bin/env python3
"""Snapshots (docs/SNAPSHOT.md): save at a point of a deterministic run, load in
a fresh process, continue; the rest of the run is the uninterrupted run's.

usage: check_snapshot.py FUGU resume --at N[,N...] [fugu args...]
       check_snapshot.py FUGU badfiles [fugu args...]

resume: runs the guest (the fugu args) once uninterrupted with
`-clock deterministic -d io,int -trace-format json`, the debug console and
COM1 to files; then for each N a run that saves at instruction N with
-savevm-at (its trace and output must equal the uninterrupted run's: saving
changes nothing) and a run that starts from that file with -loadvm, whose trace
must be the uninterrupted trace from instruction N on, byte for byte, whose
debug-console and serial output must be the uninterrupted output's tail, and
whose exit status must be the same.

badfiles: saves once, then loads damaged copies (truncated, a flipped byte, a
newer format version with a valid header checksum, a UART FIFO head out of
range with valid checksums) and the file into another
machine (-m 64): each is refused with exit status 2 and one line on stderr
naming the problem. Prints TAP.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import zlib


def run(fugu, args, tmp, tag, extra):
    log = os.path.join(tmp, tag + ".log")
    con = os.path.join(tmp, tag + ".con")
    ser = os.path.join(tmp, tag + ".ser")
    cmd = [fugu] + args + ["-clock", "deterministic", "-no-reboot", "-timeout", "100",
                           "-d", "io,int,repeats=all", "-trace-format", "json", "-D", log,
                           "-debugcon", "file:" + con, "-serial", "file:" + ser] + extra
    p = subprocess.run(cmd, capture_output=True, timeout=300)
    out = {}
    for k, path in (("log", log), ("con", con), ("ser", ser)):
        with open(path, "rb") as f:
            out[k] = f.read()
        os.unlink(path)
    out["status"] = p.returncode
    out["stderr"] = p.stderr.decode("utf-8", "replace")
    return out


def since(trace, n):
    """The trace lines whose icount is >= n."""
    lines = trace.splitlines(keepends=True)
    return b"".join(l for l in lines if json.loads(l)["hdr"]["icount"] >= n)


def resume(fugu, points, args, tmp):
    full = run(fugu, args, tmp, "full", [])
    results = [("uninterrupted run has a trace (%d bytes)" % len(full["log"]),
                full["log"].count(b"\n") > 10)]
    snap = os.path.join(tmp, "m.snap")
    for n in points:
        saver = run(fugu, args, tmp, "save", ["-savevm-at", str(n), snap])
        results.append(("save at %d: the saving run is the uninterrupted run" % n,
                        saver["log"] == full["log"] and saver["con"] == full["con"] and
                        saver["ser"] == full["ser"] and saver["status"] == full["status"]
                        and os.path.exists(snap)))
        if not os.path.exists(snap):
            continue
        loader = run(fugu, args, tmp, "load", ["-loadvm", snap])
        tail = since(full["log"], n)
        ok = loader["log"] == tail and len(tail) > 0
        results.append(("load at %d: trace from there is identical (%d lines)" %
                        (n, tail.count(b"\n")), ok))
        if not ok:
            a, b = tail.splitlines(), loader["log"].splitlines()
            for k, (x, y) in enumerate(zip(a, b)):
                if x != y:
                    print("# line %d differs:\n#  want %s\n#  got  %s" % (k, x, y))
                    break
            print("# lines: want %d, got %d" % (len(a), len(b)))
            for l in loader["stderr"].splitlines()[-20:]:
                print("# stderr: " + l)
        results.append(("load at %d: output is the run's tail, same status %d" %
                        (n, full["status"]),
                        full["con"].endswith(loader["con"]) and
                        full["ser"].endswith(loader["ser"]) and
                        loader["status"] == full["status"]))
        os.unlink(snap)
    return results


def refused(fugu, args, path, what, extra=()):
    cmd = [fugu] + args + ["-clock", "deterministic", "-no-reboot", "-timeout", "20"] + \
        list(extra) + ["-loadvm", path]
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    err = p.stderr.decode("utf-8", "replace").strip()
    ok = p.returncode == 2 and len(err.splitlines()) == 1 and what in err
    if not ok:
        print("# status %d, stderr %r" % (p.returncode, err))
    return ("%s: status 2, one line naming it" % what, ok)


def with_section_byte(good, name, at, value):
    """The file with byte `at` of section `name`'s payload set to `value`, the
    section stored uncompressed (a zstd payload goes through the zstd command)
    and its CRC-32 made valid again, or None when there is no such section."""
    out = bytearray(good[:32])
    off, found = 32, False
    while off + 48 <= len(good):
        h = bytearray(good[off:off + 48])
        flags, = struct.unpack_from("<I", h, 20)
        slen, raw = struct.unpack_from("<QQ", h, 24)
        payload = good[off + 48:off + 48 + slen]
        if bytes(h[:20]).split(b"\0")[0] == name.encode():
            if flags & 1:
                payload = subprocess.run(["zstd", "-dc"], input=payload, check=True,
                                         stdout=subprocess.PIPE).stdout
            payload = bytearray(payload)
            payload[at] = value
            struct.pack_into("<I", h, 20, 0)
            struct.pack_into("<Q", h, 24, raw)
            struct.pack_into("<I", h, 40, 0)
            struct.pack_into("<I", h, 40, zlib.crc32(bytes(payload), zlib.crc32(bytes(h))))
            found = True
        out += h + payload
        off += 48 + slen
    return bytes(out) if found else None


def badfiles(fugu, args, tmp):
    snap = os.path.join(tmp, "good.snap")
    bad = os.path.join(tmp, "bad.snap")
    saver = run(fugu, args, tmp, "save", ["-savevm-at", "1000", snap])
    with open(snap, "rb") as f:
        good = f.read()
    results = [("saved", saver["status"] != 2 and len(good) > 32)]
    cases = []
    cases.append(("truncated", good[:len(good) // 2], ()))
    flipped = bytearray(good)
    flipped[len(good) // 3] ^= 0x01
    cases.append(("corrupt", bytes(flipped), ()))
    newer = bytearray(good)
    struct.pack_into("<I", newer, 8, 2)
    struct.pack_into("<I", newer, 28, 0)
    struct.pack_into("<I", newer, 28, zlib.crc32(bytes(newer[:32])))
    cases.append(("format version 2", bytes(newer), ()))
    cases.append(("RAM size: snapshot 128 MiB, this machine 64 MiB", good, ("-m", "64")))
    # A valid file whose COM1 receive FIFO head is past the 16-byte FIFO
    # (struct uart_state: rx[16], then rx_head): refused before loading.
    fifo = with_section_byte(good, "com1", 16, 200)
    results.append(("com1 section found", fifo is not None))
    if fifo is not None:
        cases.append(("section 'com1' is corrupt (rx_head is 200, at most 15)", fifo, ()))
    for what, data, extra in cases:
        with open(bad, "wb") as f:
            f.write(data)
        results.append(refused(fugu, args, bad, what, extra))
    os.unlink(bad)
    os.unlink(snap)
    return results


def main():
    fugu, mode = sys.argv[1], sys.argv[2]
    rest = sys.argv[3:]
    tmp = tempfile.mkdtemp(prefix="fugu-snap-")
    if mode == "resume":
        assert rest[0] == "--at"
        points = [int(x) for x in rest[1].split(",")]
        results = resume(fugu, points, rest[2:], tmp)
    else:
        results = badfiles(fugu, rest, tmp)
    os.rmdir(tmp)
    print("1..%d" % len(results))
    for k, (name, ok) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", k, name))
    return 0 if all(ok for _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
