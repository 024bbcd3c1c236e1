#!/usr/bin/env python3
"""Check that fuzz_snapshot's seed still restores on today's machine. The seed
is a machine_save of the harness's board; when the board or the CPU model
changes (a feature bit, a section's size), every mutation of a stale seed is
refused at the 'machine' section and the harness fuzzes nothing else. Remake
it with FUGU_FUZZ_SNAPSHOT_SEED=DIR (docs/FUZZING.md).

usage: check_seed.py HARNESS SEED
"""
import os
import subprocess
import sys


def main():
    harness, seed = sys.argv[1], sys.argv[2]
    env = dict(os.environ, FUGU_FUZZ_SNAPSHOT_DEBUG="1", ASAN_OPTIONS="detect_leaks=0")
    p = subprocess.run([harness, "-runs=1", seed], capture_output=True, env=env, timeout=120)
    err = p.stderr.decode("utf-8", "replace")
    loads = [l for l in err.splitlines() if l.startswith("load: ")]
    ok = p.returncode == 0 and loads and loads[-1] == "load: restored"
    print("1..1")
    print("%s 1 - %s restores (%s)" % ("ok" if ok else "not ok", os.path.basename(seed),
                                       loads[-1] if loads else "no load"))
    if not ok:
        print("# remake it: FUGU_FUZZ_SNAPSHOT_SEED=testsuite/fuzz/corpus/snapshot %s -runs=0 "
              "AN_EMPTY_DIR" % harness)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
