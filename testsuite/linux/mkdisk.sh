#!/bin/sh
# A raw disk that boots Linux through SeaBIOS and Debian's SYSLINUX: a FAT
# filesystem on the whole disk (no partition table; its boot sector is the
# first sector the BIOS loads), SYSLINUX installed into it with its mtools
# installer (no mount, no root needed), the kernel, the initramfs and a
# syslinux.cfg with the serial console.
# usage: mkdisk.sh OUT.img KERNEL INITRD
set -eu
out=$1 kernel=$2 initrd=$3
for t in mkfs.fat syslinux mcopy; do
	command -v $t >/dev/null || { echo "mkdisk: $t missing (scripts/deps.sh installs it)" >&2; exit 1; }
done
rm -f "$out"
dd if=/dev/zero of="$out" bs=1M count=64 status=none
mkfs.fat -n FUGU "$out" >/dev/null
syslinux --install "$out"
cfg=$(mktemp)
trap 'rm -f "$cfg"' EXIT
printf 'SERIAL 0 115200\nDEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL vmlinuz\n  APPEND initrd=initrd.gz console=ttyS0 quiet\n' >"$cfg"
mcopy -i "$out" "$kernel" ::vmlinuz
mcopy -i "$out" "$initrd" ::initrd.gz
mcopy -i "$out" "$cfg" ::syslinux.cfg
