#!/usr/bin/env python3
"""The vmx trace category on the EPT and APIC-virtualization exits.

usage: check_vmx_trace_exits.py FUGU APICV_ROM REGRESS_ROM

Runs vmx_apicv.rom and vmx_regress.rom with `-d vmx` in JSON Lines and in
text. Each run must pass; its APIC-access (44), EOI-induced (45), EPT
(48, 49), APIC-write (56) and PML-full (62) exits must come in the ROM's order
with the qualifications and IDT-vectoring information its checks assert
(vmx_apicv.asm, vmx_regress.asm; SDM vol. 3C 27.2.1 tables 27-6 and 27-7).
The text trace must show the same exits, one line each. Prints TAP.
"""
import json
import os
import sys
import tempfile

from check_vmx_trace import run, tap

REASONS = (44, 45, 48, 49, 56, 62)
NAMES = {44: "apic-access", 45: "eoi-induced", 48: "ept-violation", 49: "ept-misconfig",
         56: "apic-write", 62: "pml-full"}

# (reason, qualification, IDT-vectoring information), in order.
APICV = [
    (44, 0x020, 0),   # read of the ID register (type 0, offset 20H)
    (44, 0x1300, 0),  # write of ICR low (type 1, offset 300H)
    (44, 0x2040, 0),  # instruction fetch from the page (type 2)
    (44, 0x000, 0),   # a read reaching the page from below (offset 0)
    (44, 0x1ffe, 0),  # a write leaving it (type 1, offset FFEH)
    (44, 0x390, 0),   # read of the current count
    (56, 0x0d0, 0),   # LDR written: APIC-write exit, offset D0H
    (45, 0x51, 0),    # EOI-induced exit, vector 51H
    (56, 0x300, 0),   # an ICR write that is no self-IPI
]
REGRESS = [
    (48, 0x181, 0),            # R7: read of a page EPT leaves unmapped
    (48, 0x182, 0x80000603),   # R8: INT3's push
    (48, 0x182, 0x80000b0d),   # R8: #GP's push
    (48, 0x182, 0x80000603),   # R10: injected software exception
    (48, 0x182, 0x80000501),   # R10: injected privileged software exception
    (48, 0x182, 0x80000604),   # R11: INTO's push
    (48, 0x182, 0x80000501),   # R11: INT1's push
    (44, 0x030, 0),            # R13: APIC-access read, offset 30H
    (62, 0, 0),                # R14: PML full
    (48, 0x81, 0),             # R15: the PTE not readable (bit 8 clear)
    (48, 0x81, 0),             # R15: the same for a fetch
    (48, 0x8a, 0),             # R15: the A flag update
    (48, 0x8a, 0),             # R15: the D flag update
    (44, 0xf014, 0),           # R16: guest-physical access, type 15
    (44, 0xa014, 0x80000603),  # R16: during INT3's delivery, type 10
]



def check_rom(fugu, rom, name, want, d, checks):
    rc, lines = run(fugu, rom, "json", os.path.join(d, name + ".json"))
    checks.append((name + ": passes with -d vmx (json)", rc == 1))
    ev = [json.loads(line) for line in lines]
    exits = [e for e in ev if e["event"] == "vmexit" and e["reason"] in REASONS]
    got = [(e["reason"], e["qual"], e["idt_vectoring"]) for e in exits]
    checks.append((name + ": exits, qualifications, IDT vectoring", got == want))
    checks.append((name + ": reason names",
                   all(e["name"] == NAMES[e["reason"]] for e in exits)))
    checks.append((name + ": headed non-root", all(e["hdr"]["vmx"] == "non-root" for e in exits)))
    rc, text = run(fugu, rom, "text", os.path.join(d, name + ".txt"))
    checks.append((name + ": passes with -d vmx (text)", rc == 1))
    tx = [l for l in text if l.startswith("vmexit ")]
    shown = []
    for l in tx:
        f = dict(w.split("=", 1) for w in l.split()[1:] if "=" in w)
        r = int(f["reason"], 16)
        if r in REASONS:
            shown.append((r, int(f["qual"], 16), int(f["idt_vectoring"], 16),
                          f["name"] == '"%s"' % NAMES[r]))
    checks.append((name + ": text shows the same exits",
                   shown == [(r, q, i, True) for r, q, i in want]))
    return exits


def main():
    fugu, apicv, regress = sys.argv[1], sys.argv[2], sys.argv[3]
    checks = []
    with tempfile.TemporaryDirectory() as d:
        check_rom(fugu, apicv, "vmx_apicv", APICV, d, checks)
        exits = check_rom(fugu, regress, "vmx_regress", REGRESS, d, checks)
        # R15's and R16's exits happen with the guest's own page directory
        # (11000H): the header shows the guest's CR3, not the host's.
        checks.append(("vmx_regress: R15/R16 exits under the guest's CR3",
                       len(exits) == len(REGRESS) and
                       all(e["hdr"]["cr3"] == 0x11000 for e in exits[9:]) and
                       all(e["hdr"]["cr3"] == 0x10000 for e in exits[:9])))
        checks.append(("vmx_regress: a software event's length on the exit",
                       len(exits) == len(REGRESS) and exits[-1]["len"] == 1 and
                       exits[-2]["len"] == 0))
    return tap(checks)


if __name__ == "__main__":
    sys.exit(main())
