#!/usr/bin/env python3
"""The instruction trace across far transfers and a mode switch (farxfer.asm).

usage: check_farxfer.py FUGU ROM

Runs the ROM with `-d insn,int` in both trace formats. Every far JMP, far CALL,
far RET, INT and IRET that changes the CS base, and the far JMP from 16-bit
protected mode into 32-bit code, must be traced with the bytes and Capstone
disassembly of the instruction as executed (from farxfer.asm's listing), at
its own CS:IP, with the header mode it ran in; never with bytes read back from
the new CS base (the ROM's CC padding: `int3`). Prints TAP.
"""
import json
import os
import subprocess
import sys
import tempfile

# (cs, ip): (bytes, disassembly, mode) -- from the nasm listing of farxfer.asm.
EXPECTED = [
    ((0xf000, 0x2000), ("ea051000f1", "ljmp 0xf100:0x1005", "real")),
    ((0xf100, 0x1005), ("9a001100f2", "lcall 0xf200:0x1100", "real")),
    ((0xf200, 0x1100), ("cb", "retf", "real")),
    ((0xf100, 0x100a), ("cd40", "int 0x40", "real")),
    ((0xf300, 0x1200), ("cf", "iret", "real")),
    ((0xf100, 0x1014), ("66ea00500f000800", "ljmp 8:0xf5000", "prot16")),
    ((0x0008, 0xf5000), ("66b81000", "mov ax, 0x10", "prot32")),
]


def run(fugu, rom, fmt, log):
    cmd = [fugu, "-bios", rom, "-debugcon", "stdio", "-device", "isa-debug-exit",
           "-no-reboot", "-timeout", "20", "-d", "insn,int", "-D", log, "-trace-format", fmt]
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    with open(log, encoding="utf-8") as f:
        return p, f.read().splitlines()


def main():
    fugu, rom = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="fugu-farxfer-")
    p_json, lines = run(fugu, rom, "json", os.path.join(tmp, "t.jsonl"))
    p_text, text = run(fugu, rom, "text", os.path.join(tmp, "t.txt"))
    events = [json.loads(l) for l in lines]
    insns = {}
    for e in events:
        if e["event"] == "insn":
            insns.setdefault((e["cs"], e["rip"]), e)
    results = [("the ROM passes in both runs (status 1)",
                p_json.returncode == 1 and p_text.returncode == 1 and
                p_json.stdout == b"farxfer: PASS\n")]
    for (cs, ip), (hexbytes, asm, mode) in EXPECTED:
        e = insns.get((cs, ip))
        got = (e["bytes"], e["asm"], e["hdr"]["mode"]) if e else None
        results.append(("json: %04x:%x is %s (%s, %s)" % (cs, ip, asm, hexbytes, mode),
                        got == (hexbytes, asm, mode)))
        if got != (hexbytes, asm, mode):
            print("# got %r" % (got,))
        want = 'cs=%04x rip=%x bytes="%s" asm="%s" ' % (cs, ip, hexbytes, asm)
        results.append(("text: %04x:%x is %s" % (cs, ip, asm),
                        any(l.startswith("insn ") and want in l for l in text)))
    results.append(("no instruction traced as int3 (bytes from the new CS base)",
                    not any(e["event"] == "insn" and e["asm"] == "int3" for e in events)))
    ints = [e for e in events if e["event"] == "interrupt"]
    results.append(("INT 0x40 delivered as a software interrupt, no error code",
                    any(e["vector"] == 0x40 and e["kind"] == "software" and e["error"] is None
                        and e["cs"] == 0xf100 and e["return"] == 0x100c for e in ints)))
    # rip is the INT instruction's own address (CD 40 at f100:100a), not the return
    results.append(("the software interrupt's rip is the INT itself",
                    any(e["vector"] == 0x40 and e["rip"] == 0x100a for e in ints)))
    print("1..%d" % len(results))
    for k, (name, ok) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", k, name))
    return 0 if all(ok for _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
