#!/bin/sh
# Idle CPU benchmark (not a test): a guest idling in HLT with a 100 Hz timer
# for SECONDS (default 10) of host time, run by fugu and, when installed, by
# qemu-system-x86_64 -accel tcg on the same ROM. Prints the host CPU time
# (user + system) each used and the share of one core.
#
# usage: testsuite/bench/idle.sh [BUILD_DIR [SECONDS]]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
secs=${2:-10}
fugu=$build/fugu
[ -x "$fugu" ] || { echo "idle.sh: $fugu not found (build first)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nasm -f bin -o "$tmp/idle.rom" "$here/idle.asm"

# cpu_of CMD...: run CMD, print "user+sys seconds" from the kernel's rusage.
cpu_of() {
	python3 - "$@" <<'PY'
import os, resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.3f" % (r.ru_utime + r.ru_stime))
PY
}

report() { # name cpu_seconds
	awk -v n="$1" -v c="$2" -v s="$secs" \
		'BEGIN { printf "%-28s %7.3f s CPU in %s s  (%.2f%% of a core)\n", n, c, s, 100 * c / s }'
}

echo "idle guest: HLT loop, PIT at 100 Hz, $secs s"
report "fugu (realtime clock)" "$(cpu_of "$fugu" -bios "$tmp/idle.rom" -timeout "$secs")"
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
	report "qemu-system-x86_64 -accel tcg" "$(cpu_of timeout "$secs" qemu-system-x86_64 \
		-accel tcg -bios "$tmp/idle.rom" -display none -nodefaults -m 128)"
else
	echo "qemu-system-x86_64: not installed, skipped"
fi
