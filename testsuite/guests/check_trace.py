#!/usr/bin/env python3
"""The trace sinks: `-d insn,io,int` in both formats on the hello ROM.

usage: check_trace.py FUGU ROM DISK

Text: every executed instruction appears with its address, bytes and Capstone
disassembly (the ROM's `out 0xe9, al`), and the port writes appear as `out`
events. JSON Lines: every line parses, the same events carry the schema's
fields as numbers and strings, and the two formats list the same number of
events. Then DISK (the demo disk) boots through SeaBIOS with `-d cpuid,msr`:
CPUID leaf 0 must return the vendor string, and SeaBIOS's RDMSR of MTRRCAP
(0xFE) the model's value 0x508. Prints TAP.
"""
import json
import os
import subprocess
import sys
import tempfile


def run(fugu, rom, fmt, log):
    cmd = [fugu, "-bios", rom, "-device", "isa-debug-exit", "-no-reboot", "-timeout", "20",
           "-d", "insn,io,int", "-D", log, "-trace-format", fmt]
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    with open(log, encoding="utf-8") as f:
        return p.returncode, f.read().splitlines()


def main():
    fugu, rom = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="fugu-trace-")
    st_text, text = run(fugu, rom, "text", os.path.join(tmp, "t.txt"))
    st_json, lines = run(fugu, rom, "json", os.path.join(tmp, "t.jsonl"))
    events = []
    parsed = True
    for line in lines:
        try:
            events.append(json.loads(line))
        except ValueError:
            parsed = False
    insns = [e for e in events if e.get("event") == "insn"]
    outs = [e for e in events if e.get("event") == "out"]
    results = [
        ("both runs exit through isa-debug-exit (67)", st_text == 67 and st_json == 67),
        ("text: Capstone disassembly of the ROM's OUT",
         any('asm="out 0xe9, al"' in l and l.startswith("insn ") for l in text)),
        ("text: the reset vector's far jump at f000:fff0",
         any(l.startswith("insn ") and "cs=f000 rip=fff0" in l and "ljmp" in l for l in text)),
        ("text: port writes to 0xe9 traced", any(l.startswith("out port=00e9") for l in text)),
        ("json: every line parses", parsed and len(lines) > 0),
        ("json: insn events carry numbers and strings",
         bool(insns) and all(isinstance(e["rip"], int) and isinstance(e["asm"], str)
                             for e in insns)),
        ("json: 'Hello' written to port 0xe9",
         "".join(chr(e["value"]) for e in outs if e["port"] == 0xe9).startswith("Hello")),
        ("same number of events in both formats", len(lines) == len(text)),
    ]
    disk_log = os.path.join(tmp, "cm.jsonl")
    p = subprocess.run([fugu, "-hda", sys.argv[3], "-snapshot", "-clock", "deterministic",
                        "-no-reboot", "-timeout", "60", "-d", "cpuid,msr", "-D", disk_log,
                        "-trace-format", "json"], capture_output=True, timeout=120)
    with open(disk_log, encoding="utf-8") as f:
        cm = [json.loads(l) for l in f]
    leaf0 = [e for e in cm if e["event"] == "cpuid" and e["leaf"] == 0]
    vendor = b"".join(leaf0[0][r].to_bytes(4, "little") for r in ("ebx", "edx", "ecx")) \
        if leaf0 else b""
    results += [
        ("demo disk boots and powers off (status 0)", p.returncode == 0),
        ("cpuid: leaf 0 returns GenuineIntel", vendor == b"GenuineIntel"),
        ("msr: SeaBIOS reads MTRRCAP = 0x508",
         any(e["event"] == "rdmsr" and e["index"] == 0xfe and e["value"] == 0x508 and
             e["outcome"] == "ok" for e in cm)),
    ]
    print("1..%d" % len(results))
    for k, (name, ok) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", k, name))
    return 0 if all(ok for _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
