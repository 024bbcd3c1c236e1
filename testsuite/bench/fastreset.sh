#!/bin/sh
# Fast reset (docs/PERFORMANCE.md): restores per second for a guest dirtying
# 10, 100 and 1000 pages, against a full in-memory restore and a file load.
# usage: sh testsuite/bench/fastreset.sh [BUILD_DIR [RAM_MIB [RESTORES]]]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
rom=$(mktemp /tmp/fugu-dirty-XXXXXX)
trap 'rm -f "$rom"' EXIT
nasm -f bin -o "$rom" "$here/dirty.asm"
"$build/testsuite/bench/fastreset" "$rom" "${2:-128}" "${3:-2000}"
