#!/usr/bin/env python3
"""Repeat summaries (docs/TRACING.md, "Repeats"): the fault loop of
testsuite/guests/repeats.asm (50000 #UD, each with an OUT to port 0x80) traced
with -d int and -d int,io. The sinks write each cycle twice, then one "repeat"
event with the cycle's length and how many events it left out: the events
written plus those counted are every event of the run (the same run with
repeats=all has them all), and the log stays small. Prints TAP.

usage: check_repeats.py FUGU ROM
"""
import json
import os
import re
import subprocess
import sys
import tempfile

fugu, rom = sys.argv[1], sys.argv[2]
tmp = tempfile.mkdtemp(prefix="fugu-repeats-")
results = []


def trace(spec, fmt="text"):
    log = os.path.join(tmp, "t.log")
    p = subprocess.run([fugu, "-bios", rom, "-device", "isa-debug-exit", "-display", "none",
                        "-clock", "deterministic", "-timeout", "60", "-d", spec,
                        "-trace-format", fmt, "-D", log], capture_output=True, timeout=120)
    data = open(log).read()
    os.unlink(log)
    return p.returncode, data


# -d int,io: the interrupt, the OUT and the POST code it shows: a cycle of 3.
for spec, period, per_cycle in (("int", 1, 1), ("int,io", 3, 3)):
    status, text = trace(spec)
    lines = text.splitlines()
    rep = [re.match(r"repeat period=(\d+) suppressed=(\d+)", l) for l in lines]
    rep = [m for m in rep if m]
    ints = sum(1 for l in lines if l.startswith("interrupt "))
    outs = sum(1 for l in lines if l.startswith(("out port=0080", "post code=42")))
    suppressed = sum(int(m.group(2)) for m in rep)
    results.append(("-d %s: the guest runs the same (status %d)" % (spec, status),
                    status == 67))
    results.append(("-d %s: one repeat event, a cycle of %d, %d lines in all" %
                    (spec, period, len(lines)),
                    len(rep) == 1 and int(rep[0].group(1)) == period and len(lines) < 20))
    results.append(("-d %s: written + counted = every event (50000 per cycle member)" % spec,
                    ints + outs + suppressed == 50000 * per_cycle))
status, text = trace("int,repeats=all")
results.append(("repeats=all writes every event",
                sum(1 for l in text.splitlines() if l.startswith("interrupt ")) == 50000
                and "repeat" not in text))
status, text = trace("int", "json")
events = [json.loads(l) for l in text.splitlines()]
rep = [e for e in events if e["event"] == "repeat"]
results.append(("JSON: the repeat event with its header and fields",
                len(rep) == 1 and rep[0]["period"] == 1 and
                rep[0]["suppressed"] + len(events) - 1 == 50000 and "icount" in rep[0]["hdr"]))
os.rmdir(tmp)
print("1..%d" % len(results))
for k, (name, ok) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", k, name))
sys.exit(0 if all(ok for _, ok in results) else 1)
