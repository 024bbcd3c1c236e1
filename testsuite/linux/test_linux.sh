#!/bin/sh
# make test's Linux boots: Debian's stock kernel (linux-image-amd64) with a
# busybox-static initramfs, either handed to SeaBIOS by -kernel/-initrd
# ("direct") or booted from a raw disk through SeaBIOS and SYSLINUX ("disk").
# run_linux.py drives the shell on COM1 and prints TAP.
# usage: test_linux.sh FUGU direct|disk [FUGU ARGS...] (e.g. -jit on)
set -u
fugu=$1 mode=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
kernel=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1)
if [ -z "$kernel" ]; then
	echo "1..1"
	echo "not ok 1 - Debian's linux-image-amd64 is installed (scripts/deps.sh installs it)"
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh "$here/mkinitramfs.sh" "$tmp/initrd.gz" || exit 1
cd "$tmp" || exit 1
common="-m 256 -serial stdio -display none -timeout 1500 $*"
case $mode in
direct)
	python3 "$here/run_linux.py" --timeout 1200 -- "$fugu" $common -kernel "$kernel" \
		-initrd "$tmp/initrd.gz" -append "console=ttyS0 quiet"
	;;
disk)
	sh "$here/mkdisk.sh" "$tmp/disk.img" "$kernel" "$tmp/initrd.gz" || exit 1
	python3 "$here/run_linux.py" --timeout 1200 -- "$fugu" $common -hda "$tmp/disk.img" \
		-snapshot
	;;
*) echo "test_linux.sh: mode is direct or disk" >&2; exit 2 ;;
esac
status=$?
[ -f run_linux.log ] && tail -c 3000 run_linux.log | sed 's/^/# /'
exit $status
