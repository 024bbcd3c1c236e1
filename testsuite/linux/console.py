"""A Linux guest's serial console on an emulator's stdin/stdout, for the
testsuite/linux scripts: read until a marker, run a shell command, and TAP."""
import os
import select
import subprocess
import sys
import time

PROMPT = b"fugu# "


class Console:
    def __init__(self, args, logname):
        self.log = open(logname, "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.buf = b""

    def read_until(self, marker, limit):
        """Read the console until `marker` appears; the text before it, or None."""
        deadline = time.monotonic() + limit
        while marker not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None or b"end Kernel panic" in self.buf:
                return None
            r, _, _ = select.select([self.proc.stdout], [], [], min(left, 1.0))
            if r:
                data = os.read(self.proc.stdout.fileno(), 65536)
                if not data:
                    return None
                self.log.write(data)
                self.log.flush()
                self.buf += data
        before, _, self.buf = self.buf.partition(marker)
        return before

    def type(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def run(self, cmd, limit=120):
        """Run a shell command; its output without the echo and kernel lines."""
        self.type(cmd + "\n")
        out = self.read_until(PROMPT, limit)
        if out is None:
            return None
        text = out.decode(errors="replace").replace("\r", "")
        lines = text.split("\n")[1:]  # drop the echoed command
        # Kernel messages may interleave on the console: they start with "[".
        return "\n".join(l for l in lines if not l.startswith("[")).strip()

    def poweroff(self):
        """`poweroff -f`: the emulator's exit status, or "still running"."""
        self.type("poweroff -f\n")
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            return "still running"

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Checks:
    """A script's TAP checks: ok() records one, finish() ends the emulator and
    exits with the TAP status."""

    def __init__(self, con):
        self.con = con
        self.results = []

    def ok(self, cond, name, detail=""):
        self.results.append((bool(cond), name, detail))

    def finish(self):
        self.con.kill()
        sys.exit(tap(self.results))


def boot_to_shell(con, timeout, ok):
    """Wait for the initramfs's marker, then the prompt, recording both checks
    with ok(cond, name, detail); whether the shell is there."""
    start = time.monotonic()
    booted = con.read_until(b"fugu-linux: init started", timeout)
    ok(booted is not None, "the kernel boots and runs /init from the initramfs",
       "no marker after %.0f s" % (time.monotonic() - start))
    if booted is None:
        return False
    prompt = con.read_until(PROMPT, 60) is not None
    ok(prompt, "a shell prompt on the serial console")
    return prompt


def session(args, logname, timeout):
    """Start the emulator on a Console and boot to the shell (boot_to_shell);
    the console and its Checks. Ends the script (finish) when no shell came."""
    con = Console(args, logname)
    checks = Checks(con)
    if not boot_to_shell(con, timeout, checks.ok):
        checks.finish()
    return con, checks


def tap(results):
    """Print (good, name, detail) results as TAP; the exit status."""
    print("1..%d" % len(results))
    for n, (good, name, detail) in enumerate(results, 1):
        print("%s %d - %s%s" % ("ok" if good else "not ok", n, name,
                                "" if good else "  # " + detail))
    return 0 if results and all(r[0] for r in results) else 1
