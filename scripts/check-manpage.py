#!/usr/bin/env python3
"""The man page (docs/fugu.1) documents every option `fugu -h` lists, and groff
formats it without a warning.

usage: check-manpage.py FUGU MANPAGE
Prints TAP.
"""
import re
import shutil
import subprocess
import sys

fugu, page = sys.argv[1], sys.argv[2]
usage = subprocess.run([fugu, "-h"], capture_output=True, text=True).stdout
options = set()
for line in usage.splitlines():
    m = re.match(r"\s{2}(-[-\w/, ]+?)(\s{2,}|\s[A-Z\[\w:]|$)", line)
    if m:
        for part in re.split(r"[/,]\s*", m.group(1)):
            part = part.strip()
            if part.startswith("-"):
                options.add(part.split()[0])
# options named in the running text ("-machine pc and -accel tcg", "-record-interval N")
options |= set(re.findall(r"(?<![\w-])(-(?:machine|accel|record-interval|s|nodefaults|vnc|global))\b", usage))
text = re.sub(r"\\f[BIRP]", " ", open(page).read().replace("\\-", "-"))
missing = sorted(o for o in options if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o),
                                                      text))
results = [("fugu -h lists options (%d)" % len(options), len(options) > 30),
           ("the man page documents every option", not missing)]
if missing:
    print("# missing: " + " ".join(missing))
if shutil.which("groff"):
    g = subprocess.run(["groff", "-man", "-ww", "-z", page], capture_output=True, text=True)
    results.append(("groff formats it without warnings", g.returncode == 0 and not g.stderr))
    for l in g.stderr.splitlines()[:10]:
        print("# groff: " + l)
else:
    results.append(("groff is installed (scripts/deps.sh installs groff-base)", False))
print("1..%d" % len(results))
for k, (name, ok) in enumerate(results, 1):
    print("%s %d - %s" % ("ok" if ok else "not ok", k, name))
sys.exit(0 if all(ok for _, ok in results) else 1)
