#!/bin/sh
# An ISO 9660 image that boots Linux through SeaBIOS's El Torito support and
# Debian's ISOLINUX (no emulation, 4 virtual sectors loaded, boot info table
# patched in by xorriso): the kernel, the initramfs and an isolinux.cfg with
# the serial console, as a live CD has them.
# usage: mkiso.sh OUT.iso KERNEL INITRD
set -eu
out=$1 kernel=$2 initrd=$3
isolinux=/usr/lib/ISOLINUX/isolinux.bin
ldlinux=/usr/lib/syslinux/modules/bios/ldlinux.c32
command -v xorriso >/dev/null || { echo "mkiso: xorriso missing (scripts/deps.sh installs it)" >&2; exit 1; }
[ -f $isolinux ] || { echo "mkiso: $isolinux missing (apt-get install isolinux)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/isolinux"
cp $isolinux $ldlinux "$tmp/isolinux/"
cp "$kernel" "$tmp/vmlinuz"
cp "$initrd" "$tmp/initrd.gz"
printf 'SERIAL 0 115200\nDEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL /vmlinuz\n  APPEND initrd=/initrd.gz console=ttyS0 quiet\n' \
	>"$tmp/isolinux/isolinux.cfg"
xorriso -as mkisofs -quiet -R -V FUGULIVE -o "$out" -b isolinux/isolinux.bin \
	-c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table "$tmp" 2>/dev/null
