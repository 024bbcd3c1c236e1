#!/usr/bin/env python3
"""-run-summary FILE: one JSON object at exit, for batch users.

usage: check_summary.py FUGU HELLO_ROM TRIPLE_ROM FAULTLOOP_ROM

Three runs: a normal exit through isa-debug-exit (HELLO_ROM: status 67, no
triple fault), a triple fault with -no-reboot (TRIPLE_ROM: status 4, 5 bytes
out of COM1, the registers it loaded), and a -timeout (FAULTLOOP_ROM: status
124). Each summary must be one valid JSON object with every field of the
documented type, and agree with fugu's exit status. Prints TAP.
"""
import json
import os
import subprocess
import sys
import tempfile

FIELDS = {"status": int, "reason": str, "instructions": int, "cpu_seconds": float,
          "wall_seconds": float, "mips": float, "serial_bytes": int}


def run(fugu, rom, extra, path):
    cmd = [fugu, "-bios", rom, "-device", "isa-debug-exit", "-display", "none",
           "-run-summary", path] + extra
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return p.returncode, text


def check_common(text, status):
    """The summary parses as one object with typed fields matching the status."""
    errors = []
    lines = text.splitlines()
    if len(lines) != 1:
        errors.append("expected one line, got %d" % len(lines))
    s = json.loads(text)
    for name, kind in FIELDS.items():
        if name not in s:
            errors.append("missing %s" % name)
        elif not isinstance(s[name], kind) or isinstance(s[name], bool):
            # an integral float prints as e.g. 0.000000, still a JSON number
            if not (kind is float and isinstance(s[name], int)):
                errors.append("%s is %r" % (name, s[name]))
    if s.get("status") != status:
        errors.append("status %r, fugu exited with %d" % (s.get("status"), status))
    if "triple_fault" not in s:
        errors.append("missing triple_fault")
    if not s.get("instructions", 0) > 0:
        errors.append("no instructions retired")
    if s.get("cpu_seconds", -1) < 0 or s.get("wall_seconds", -1) <= 0:
        errors.append("bad times")
    return s, errors


def main():
    fugu, hello, triple, faultloop = sys.argv[1:5]
    tmp = tempfile.mkdtemp(prefix="fugu-summary-")
    results = []

    st, text = run(fugu, hello, [], os.path.join(tmp, "hello.json"))
    s, errors = check_common(text, st)
    if st != 67 or s.get("reason") != "debug-exit":
        errors.append("normal exit: status %d reason %r" % (st, s.get("reason")))
    if s.get("triple_fault") is not None or s.get("serial_bytes") != 0:
        errors.append("normal exit: %r" % s)
    results.append(("normal exit (isa-debug-exit)", errors))

    st, text = run(fugu, triple, ["-no-reboot"], os.path.join(tmp, "triple.json"))
    s, errors = check_common(text, st)
    if st != 4 or s.get("reason") != "triple-fault":
        errors.append("triple fault: status %d reason %r" % (st, s.get("reason")))
    tf = s.get("triple_fault") or {}
    regs = tf.get("registers", {})
    if tf.get("count") != 1:
        errors.append("triple fault count %r" % tf.get("count"))
    if regs.get("rax") != "0x12345678" or regs.get("rbx") != "0x9abcdef0":
        errors.append("registers rax %r rbx %r" % (regs.get("rax"), regs.get("rbx")))
    if regs.get("idtr.limit") != "0x0" or "cs.sel" not in regs or "cr0" not in regs:
        errors.append("registers: %r" % sorted(regs)[:8])
    if s.get("serial_bytes") != 5:
        errors.append("serial_bytes %r" % s.get("serial_bytes"))
    results.append(("triple fault with -no-reboot", errors))

    st, text = run(fugu, faultloop, ["-timeout", "1"], os.path.join(tmp, "timeout.json"))
    s, errors = check_common(text, st)
    if st != 124 or s.get("reason") != "timeout" or s.get("triple_fault") is not None:
        errors.append("timeout: status %d reason %r" % (st, s.get("reason")))
    if s.get("wall_seconds", 0) < 1:
        errors.append("timeout: wall_seconds %r" % s.get("wall_seconds"))
    results.append(("timeout", errors))

    print("1..%d" % len(results))
    ok = True
    for n, (name, errors) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if not errors else "not ok", n, name))
        for e in errors:
            print("# " + e)
        ok = ok and not errors
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
