#!/usr/bin/env python3
"""Run one libFuzzer harness for a bounded time on its seed corpus plus fresh
inputs (new ones go to a temporary directory; the repository's corpus is
only read), with testsuite/fuzz/NAME.dict as the dictionary of fuzz_NAME if
it exists. Prints a TAP report with the executions reached; a crash, a
sanitizer report, a timeout or a leak fails it and names the input.

usage: run_fuzz.py HARNESS CORPUS_DIR SECONDS [extra libFuzzer args]
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile


def main():
    harness, corpus, seconds = sys.argv[1], sys.argv[2], sys.argv[3]
    work = tempfile.mkdtemp(prefix="fugu-fuzz-")
    fresh = os.path.join(work, "new")
    os.mkdir(fresh)
    cmd = [harness, "-max_total_time=" + seconds, "-timeout=10", "-rss_limit_mb=3072",
           "-print_final_stats=1", "-artifact_prefix=" + work + "/", fresh, corpus] + sys.argv[4:]
    # A harness's dictionary, if it has one: testsuite/fuzz/NAME.dict for fuzz_NAME.
    dict_path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             os.path.basename(harness).replace("fuzz_", "", 1) + ".dict")
    if os.path.exists(dict_path):
        cmd.insert(1, "-dict=" + dict_path)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1",
               UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    p = subprocess.run(cmd, capture_output=True, env=env, timeout=int(seconds) * 4 + 120)
    err = p.stderr.decode("utf-8", "replace")
    m = re.search(r"stat::number_of_executed_units:\s*(\d+)", err)
    execs = int(m.group(1)) if m else 0
    name = os.path.basename(harness)
    ok = p.returncode == 0 and execs > 0
    print("1..1")
    print("%s 1 - %s: %d executions in %s s" % ("ok" if ok else "not ok", name, execs, seconds))
    if not ok:
        for line in err.splitlines()[-40:]:
            print("# " + line)
        for f in os.listdir(work):
            if f.startswith(("crash-", "timeout-", "leak-", "oom-")):
                print("# input kept: " + os.path.join(work, f))
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
