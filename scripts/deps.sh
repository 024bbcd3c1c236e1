#!/bin/sh
# The one list of Debian 12 packages fugu needs to build, test and run.
# Installs what is missing with apt-get when run as root; otherwise prints the
# exact command to run and fails.
set -e

PACKAGES="meson ninja-build gcc pkg-config nasm python3 \
libcapstone-dev libffi-dev libsdl2-dev zlib1g-dev libzstd-dev zstd libjson-c-dev libcmocka-dev \
seabios clang-format gdb groff-base \
linux-image-amd64 busybox-static cpio syslinux syslinux-common isolinux mtools dosfstools libc6-dev \
qemu-system-x86 libpng-dev libslirp-dev xorriso xvfb xdotool imagemagick clang-14 libclang-rt-14-dev libfuzzer-14-dev"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "fugu: missing Debian packages; run as root:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "fugu: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
