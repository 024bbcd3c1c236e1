#!/bin/sh
# Build an ISO 9660 image whose El Torito catalogue boots BOOTIMG with no
# emulation (4 virtual sectors at 0000:7C00), with Debian's xorriso.
# usage: mkiso.sh OUT.iso BOOTIMG
set -eu
out=$1 boot=$2
if ! command -v xorriso >/dev/null; then
	echo "mkiso.sh: xorriso is missing (scripts/deps.sh installs it)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$boot" "$tmp/boot.bin"
echo "fugu CD-ROM test" >"$tmp/README.TXT"
xorriso -as mkisofs -quiet -V FUGUCD -o "$out" -b boot.bin -no-emul-boot \
	-boot-load-size 4 "$tmp" 2>/dev/null
