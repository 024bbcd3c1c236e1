#!/usr/bin/env python3
"""Plugins (docs/TRACING.md): the contrib examples and the API test plugin.

usage: check_plugins.py FUGU HELLO_ROM PAGING_ROM INSNCOUNT EXITHIST APITEST BADVERSION
                        FASTRESET_ROM FASTRESET

insncount on the paging ROM: its counts equal -stats' top instructions of the
same run and the mnemonic counts of the JSON trace. exithist: its interrupt
histogram equals the trace's interrupt events. apitest on the hello ROM: every
API check passes. badversion: refused with one line, exit status 2. fastreset: a
fuzzer-style loop of snapshot_take/snapshot_restore from marker callbacks
(docs/SNAPSHOT.md) restores RAM and registers each time, copying the 9 pages
the test case wrote. Prints TAP.
"""
import collections
import json
import os
import subprocess
import sys
import tempfile


def fugu_run(fugu, rom, extra):
    cmd = [fugu, "-bios", rom, "-device", "isa-debug-exit", "-no-reboot", "-timeout", "30",
           "-display", "none", "-clock", "deterministic", "-cpu", "max,-popcnt"] + extra
    return subprocess.run(cmd, capture_output=True, timeout=120)


def main():
    fugu, hello, paging, insncount, exithist, apitest, badversion, fr_rom, fastreset = \
        sys.argv[1:10]
    tmp = tempfile.mkdtemp(prefix="fugu-plugins-")
    counts_path = os.path.join(tmp, "counts.txt")
    hist_path = os.path.join(tmp, "hist.txt")
    trace_path = os.path.join(tmp, "t.jsonl")
    p = fugu_run(fugu, paging, ["-stats", "-plugin", insncount + ",out=" + counts_path,
                                "-plugin", exithist + ",out=" + hist_path,
                                "-d", "insn,int", "-trace-format", "json", "-D", trace_path])
    results = [("paging ROM passes with both plugins and the trace", p.returncode == 1)]
    plugin_counts = {}
    with open(counts_path) as f:
        for line in f:
            _, n, mn = line.rstrip("\n").split(" ", 2)
            plugin_counts[mn] = int(n)
    # -stats: "fugu:        count  pct% mnemonic" after "top instructions:".
    stats = {}
    lines = p.stderr.decode().splitlines()
    top = lines.index("fugu: top instructions:") if "fugu: top instructions:" in lines else len(lines)
    for line in lines[top + 1:]:
        parts = line.split(None, 3)
        if len(parts) == 4 and parts[0] == "fugu:" and parts[2].endswith("%"):
            stats[parts[3]] = int(parts[1])
    events = [json.loads(l) for l in open(trace_path)]
    trace_counts = collections.Counter(e["mnemonic"] for e in events if e["event"] == "insn")
    results += [
        ("insncount: 15 most frequent equal -stats' top instructions",
         len(stats) == 15 and all(plugin_counts.get(m) == n for m, n in stats.items())),
        ("insncount: every count equals the trace's", plugin_counts == dict(trace_counts)),
        ("insncount: the total is the instruction count",
         sum(plugin_counts.values()) == sum(1 for e in events if e["event"] == "insn")),
    ]
    hist = {}
    with open(hist_path) as f:
        for line in f:
            w = line.split()
            hist[(w[2], int(w[3]))] = int(w[4].split("=")[1])
    trace_ints = collections.Counter((e["kind"], e["vector"]) for e in events
                                     if e["event"] == "interrupt")
    results.append(("exithist: the interrupt histogram equals the trace's",
                    len(trace_ints) > 0 and hist == dict(trace_ints)))

    api_path = os.path.join(tmp, "api.txt")
    p = fugu_run(fugu, hello, ["-debugcon", "stdio", "-plugin", apitest + ",out=" + api_path])
    api = open(api_path).read().splitlines() if os.path.exists(api_path) else []
    results += [
        ("apitest: the guest runs unchanged", p.returncode == 67 and
         p.stdout == b"Hello from fugu\n"),
        ("apitest: 22 checks, all ok",
         len([l for l in api if l.endswith(" ok")]) == 22 and
         not any(l.endswith("FAIL") for l in api)),
        ("apitest: the scoreboard counted 17 OUTs", "apitest: outs=17" in api),
    ]
    for l in api:
        if l.endswith("FAIL"):
            print("# " + l)

    p = fugu_run(fugu, hello, ["-plugin", badversion])
    err = p.stderr.decode().splitlines()
    results.append(("a plugin with a wrong API version: one line, exit 2",
                    p.returncode == 2 and len(err) == 1 and "plugin API version 42" in err[0]
                    and "version 1" in err[0]))
    p = fugu_run(fugu, hello, ["-plugin", insncount + ",bogus=1"])
    results.append(("a plugin that refuses to install: exit 2", p.returncode == 2))

    # The counter in RAM reads 1 in every test case (RAM restored), ESI ends at
    # 0x21 (registers restored: exit status 0x21 << 1 | 1), each restore copies
    # the counter's page and the 8 the case wrote, and nothing else.
    fr_path = os.path.join(tmp, "fr.txt")
    p = fugu_run(fugu, fr_rom, ["-debugcon", "stdio", "-plugin",
                                fastreset + ",restores=7,out=" + fr_path])
    fr = open(fr_path).read().splitlines() if os.path.exists(fr_path) else []
    results += [
        ("fastreset: 8 test cases each see a restored RAM and registers",
         p.returncode == 67 and p.stdout == b"11111111\n"),
        ("fastreset: 7 restores, each copying 9 pages",
         fr[:8] == ["restores 7"] + ["pages 9"] * 7),
        ("fastreset: restoring a handle that is no snapshot is refused",
         "bad-restore -1" in fr),
    ]

    print("1..%d" % len(results))
    for k, (name, ok) in enumerate(results, 1):
        print("%s %d - %s" % ("ok" if ok else "not ok", k, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
