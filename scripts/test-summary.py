#!/usr/bin/env python3
"""Sum up meson test results of one or more build directories.

Counts the individual test cases of TAP tests (each `ok`/`not ok` line) and
one case per non-TAP test, from meson-logs/testlog.json and the logs of other
runs in the same build (testlog-*.json, e.g. `--setup jit --logbase
testlog-jit`), and prints the last line `N passed, N failed, N skipped`.
Exits non-zero if anything failed.
"""
import glob
import json
import os
import sys


def count(log):
    """(passed, failed, skipped) of one meson test log."""
    passed = failed = skipped = 0
    with open(log) as f:
        for line in f:
            r = json.loads(line)
            res = r.get("result")
            sub = [l for l in r.get("stdout", "").splitlines()
                   if l.startswith("ok ") or l.startswith("not ok ")]
            is_tap = any(l.startswith("1..") for l in r.get("stdout", "").splitlines())
            if sub and is_tap:
                for l in sub:
                    if l.startswith("not ok"):
                        if "# TODO" in l:
                            continue
                        failed += 1
                    elif "# SKIP" in l or "# skip" in l:
                        skipped += 1
                    else:
                        passed += 1
                # a TAP program that crashed after its last line still fails
                if res not in ("OK", "SKIP") and not any(l.startswith("not ok") for l in sub):
                    failed += 1
            elif res == "OK":
                passed += 1
            elif res == "SKIP":
                skipped += 1
            else:
                failed += 1
    return passed, failed, skipped


def main():
    passed = failed = skipped = 0
    for build in sys.argv[1:]:
        path = os.path.join(build, "meson-logs", "testlog.json")
        if not os.path.exists(path):
            print("test-summary: no results in %s" % build)
            failed += 1
            continue
        others = sorted(glob.glob(os.path.join(build, "meson-logs", "testlog-*.json")))
        for log in [path] + others:
            p, f, s = count(log)
            passed, failed, skipped = passed + p, failed + f, skipped + s
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
