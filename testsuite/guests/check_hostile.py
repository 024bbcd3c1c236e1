#!/usr/bin/env python3
"""Hostile-guest checks that need more than output and status: host time,
host CPU, stderr volume, a serial consumer that stops reading.

usage: check_hostile.py CASE FUGU [ROM]
Prints a TAP report (one test) so meson counts it. Each case runs fugu with a
-timeout and asserts the exit status, the wall-clock time it took (the host
deadline is honoured however costly the guest's work), and where it matters
the CPU time fugu used and the bytes it wrote to stderr.
"""
import os
import resource
import socket
import subprocess
import sys
import time


def run(cmd, stdout=subprocess.DEVNULL, wall_limit=30):
    """Run cmd; return (status, wall seconds, child CPU seconds, stderr bytes)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    try:
        _, err = p.communicate(timeout=wall_limit)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        return None, time.monotonic() - t0, 0.0, err
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return p.returncode, wall, cpu, err


def base(fugu, rom, *extra):
    return [fugu, "-bios", rom, "-display", "none", "-debugcon", "none"] + list(extra)


def main():
    case, fugu = sys.argv[1], sys.argv[2]
    rom = sys.argv[3] if len(sys.argv) > 3 else None
    problems = []

    def expect(cond, what):
        if not cond:
            problems.append(what)

    if case in ("reset", "fwcfg", "bar", "vbe"):
        extra = ["-m", "64G"] if case == "bar" else []
        st, wall, cpu, err = run(base(fugu, rom, "-timeout", "1", *extra))
        expect(st == 124, "status %r, expected 124 (timeout)" % st)
        expect(wall < 4, "took %.1f s for -timeout 1" % wall)
    elif case == "ide":
        # a 64 MiB sparse disk; the guest's PRD checks print a line, then it floods
        import tempfile
        fd, disk = tempfile.mkstemp(prefix="fugu-hostile-ide-")
        os.ftruncate(fd, 64 << 20)
        os.close(fd)
        r, w = os.pipe()
        cmd = base(fugu, rom, "-timeout", "1", "-hda", disk, "-snapshot")
        cmd[cmd.index("-debugcon") + 1] = "stdio"
        st, wall, cpu, err = run(cmd, stdout=w)
        os.close(w)
        out = os.read(r, 4096)
        os.close(r)
        os.unlink(disk)
        expect(out == b"hostile-ide: PRDs past RAM, into MMIO and across 4 GiB done\n",
               "output %r" % out)
        expect(st == 124, "status %r, expected 124" % st)
        expect(wall < 4, "took %.1f s for -timeout 1" % wall)
    elif case == "triple":
        st, wall, cpu, err = run(base(fugu, rom, "-timeout", "1"))
        expect(st == 124, "status %r, expected 124" % st)
        expect(wall < 4, "took %.1f s for -timeout 1" % wall)
        # three full dumps (~1 KB each) and a count a second, not one per reset
        expect(len(err) < 16384, "%d bytes on stderr" % len(err))
        expect(b"triple faults so far" in err or err.count(b"triple fault") >= 1,
               "no triple fault reported")
    elif case == "serial-stalled":
        # stdout is a pipe nobody reads: fugu must not block on it
        r, w = os.pipe()
        st, wall, cpu, err = run(base(fugu, rom, "-serial", "stdio", "-timeout", "1"),
                                 stdout=w)
        os.close(w)
        os.close(r)
        expect(st == 124, "status %r, expected 124" % st)
        expect(wall < 5, "took %.1f s for -timeout 1" % wall)
    elif case == "serial-closed":
        # the reader is gone: a write fails with EPIPE, not death by SIGPIPE (141/-13)
        r, w = os.pipe()
        os.close(r)
        st, wall, cpu, err = run(base(fugu, rom, "-serial", "stdio", "-timeout", "1"),
                                 stdout=w)
        os.close(w)
        expect(st == 124, "status %r, expected 124 (not SIGPIPE)" % st)
    elif case == "serial-tcp-wait":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        st, wall, cpu, err = run(base(fugu, rom, "-serial",
                                      "tcp:127.0.0.1:%d,server" % port, "-timeout", "1"))
        expect(st == 124, "status %r, expected 124" % st)
        expect(wall < 4, "took %.1f s for -timeout 1" % wall)
    elif case in ("idle", "pit"):
        st, wall, cpu, err = run(base(fugu, rom, "-timeout", "2"))
        expect(st == 124, "status %r, expected 124" % st)
        # a halted guest whose only timer is masked: the host sleeps
        expect(cpu < 0.1 * wall, "%.2f s CPU in %.2f s" % (cpu, wall))
    else:
        problems.append("unknown case " + case)
        err = b""
    print("1..1")
    print(("ok" if not problems else "not ok") + " 1 - hostile " + case)
    for p in problems:
        print("# " + p)
    if problems:
        for line in err.decode("utf-8", "replace").splitlines()[-10:]:
            print("# stderr: " + line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
