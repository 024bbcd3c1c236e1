#!/usr/bin/env python3
"""The vmx trace category on the mini hypervisor (vmx.asm).

usage: check_vmx_trace.py FUGU ROM

Runs the ROM with `-d vmx` in JSON Lines and in text. JSON: every line
parses; the VM exits come in the order the ROM's expectation table lists them,
each with its reason name, qualification, guest RIP, instruction length and
information; the exits are headed as non-root, the VMX instructions as root;
the VMfailValid errors appear with their numbers in the ROM's order; the
failing VM entries name their checks. Text: the same events, one per line.
Prints TAP.
"""
import json
import os
import subprocess
import sys
import tempfile

EXITS = [10, 30, 30, 30, 30, 31, 32, 31, 28, 28, 46, 0, 0, 18, 12, 18, 18, 18, 7, 18,
         29, 14, 15, 40, 54, 13, 28, 28, 16, 0, 28, 28, 0, 1, 0, 0, 53, 18, 0, 18, 0x80000021, 2,
         18, 0x80000022, 10, 28, 28, 22, 23, 18, 43, 18]
ERRORS = [15, 10, 3, 13, 12, 5, 1, 28, 28, 28, 4, 7, 8]
FAILED_CHECKS = ["guest RFLAGS", "VM-entry MSR-load area", "pin-based controls",
                 "host CR0/CR4 fixed bits"]


def run(fugu, rom, fmt, log):
    cmd = [fugu, "-bios", rom, "-device", "isa-debug-exit", "-debugcon", "none",
           "-timeout", "20", "-d", "vmx", "-D", log, "-trace-format", fmt]
    p = subprocess.run(cmd, capture_output=True, timeout=60)
    with open(log, encoding="utf-8") as f:
        return p.returncode, f.read().splitlines()


def tap(checks):
    """Print the (name, ok) checks as TAP; the exit status."""
    print("1..%d" % len(checks))
    for n, (name, ok) in enumerate(checks, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", n, name))
    return 0 if all(ok for _, ok in checks) else 1


def main():
    fugu, rom = sys.argv[1], sys.argv[2]
    checks = []
    with tempfile.TemporaryDirectory() as d:
        rc, lines = run(fugu, rom, "json", os.path.join(d, "t.json"))
        checks.append(("the ROM passes with -d vmx (json)", rc == 1))
        ev = [json.loads(line) for line in lines]
        exits = [e for e in ev if e["event"] == "vmexit"]
        checks.append(("exit reasons in order", [e["reason"] for e in exits] == EXITS))
        checks.append(("cpuid exit: name, length", exits[0]["name"] == "cpuid" and
                       exits[0]["len"] == 2 and exits[0]["qual"] == 0))
        checks.append(("I/O exit qualification", exits[1]["qual"] == 0x00800048))
        checks.append(("SGDT instruction information", exits[10]["info"] == 0x08418880))
        checks.append(("INT3 interruption information", exits[11]["intr_info"] == 0x80000603))
        checks.append(("IDT-vectoring information",
                       [e["idt_vectoring"] for e in exits if e["idt_vectoring"]] ==
                       [0x80000440, 0x80000040]))
        checks.append(("exits headed non-root",
                       all(e["hdr"]["vmx"] == "non-root" for e in exits if e["reason"] < 0x80000000)))
        insns = [e for e in ev if e["event"] == "vmx-insn"]
        # The header's current VMCS (docs/TRACE.md): each exit names the VMCS
        # the last successful VMPTRLD made current (the ROM uses two); null
        # outside VMX operation.
        current, named = None, []
        for e in ev:
            if e["event"] == "vmx-insn" and e["insn"] == "vmptrld" and e["outcome"] == "ok":
                current = e["operand"]
            elif e["event"] == "vmexit" and e["hdr"]["vmx"] == "non-root":
                named.append(e["hdr"]["vmcs"] == current)
        checks.append(("exits carry the current VMCS",
                       named and all(named) and
                       len(set(e["hdr"]["vmcs"] for e in exits if e["hdr"]["vmx"] == "non-root")) == 2))
        checks.append(("no VMCS outside VMX operation",
                       all(e["hdr"]["vmcs"] is None for e in ev if e["hdr"]["vmx"] == "none")))
        checks.append(("VMX instructions headed root",
                       all(e["hdr"]["vmx"] in ("root", "none") for e in insns)))
        errors = [e["error"] for e in insns if e["outcome"] == "VMfailValid"]
        checks.append(("VMfailValid numbers in order", errors == ERRORS))
        checks.append(("VMfailInvalid seen",
                       sum(e["outcome"] == "VMfailInvalid" for e in insns) == 4))
        failed = [e["check"] for e in ev if e["event"] == "vmentry" and not e["ok"]]
        checks.append(("failing entries name their checks", failed == FAILED_CHECKS))
        entered = [e for e in ev if e["event"] == "vmentry" and e["ok"]]
        checks.append(("successful entries", len(entered) == len(EXITS) - 2))
        # Each entry lists the fields VMWRITE set since the VMCS's last entry:
        # the whole setup before the first, then the hypervisor's RIP advance.
        first = dict(w.split("=") for w in entered[0]["written"].split())
        checks.append(("first entry lists the VMCS setup",
                       first.get("pin_ctls") == "16" and "guest_rip" in first and
                       "host_rip" in first))
        checks.append(("a resume lists just the new guest RIP",
                       entered[1]["written"] == "guest_rip=%x" % entered[1]["rip"]))
        checks.append(("triple fault", exits[-11]["name"] == "triple-fault"))
        checks.append(("MSR-load failure", exits[-9]["qual"] == 1))
        checks.append(("IA-32e mode guest exits in 64-bit mode",
                       all(e["hdr"]["mode"] == "long64" for e in exits[-6:])))
        rc, text = run(fugu, rom, "text", os.path.join(d, "t.txt"))
        checks.append(("the ROM passes with -d vmx (text)", rc == 1))
        checks.append(("text: same number of events", len(text) == len(lines)))
        checks.append(("text: the cpuid exit",
                       any(l.startswith("vmexit reason=0000000a name=\"cpuid\"") for l in text)))
    return tap(checks)


if __name__ == "__main__":
    sys.exit(main())
