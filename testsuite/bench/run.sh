#!/bin/sh
# Runs every benchmark in testsuite/bench (called by `make bench`).
# Benchmarks, not tests: they print figures for docs/PERFORMANCE.md.
#
# usage: sh testsuite/bench/run.sh [BUILD_DIR]
#
# Convention: a *.py benchmark takes the fugu binary as its first argument, a
# *.sh benchmark the build directory. cpu.py (fugu against QEMU TCG and Bochs)
# runs first; the others follow in name order.
set -u
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
fugu=$build/fugu
[ -x "$fugu" ] || { echo "run.sh: $fugu not found (build first)" >&2; exit 2; }
status=0
run() { # benchmark file
	name=$(basename "$1")
	echo "== $name"
	case "$name" in
	*.py) python3 "$1" "$fugu" || { echo "run.sh: $name failed" >&2; status=1; } ;;
	*.sh) sh "$1" "$build" || { echo "run.sh: $name failed" >&2; status=1; } ;;
	esac
	echo
}
run "$here/cpu.py"
for b in "$here"/*.py "$here"/*.sh; do
	case "$(basename "$b")" in
	run.sh | cpu.py) ;;
	*) [ -f "$b" ] && run "$b" ;;
	esac
done
exit $status
