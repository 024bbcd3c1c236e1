#!/bin/sh
# make test's Linux boots: Debian's stock kernel (linux-image-amd64) with a
# busybox-static initramfs, either handed to SeaBIOS by -kernel/-initrd
# ("direct") or booted from a raw disk through SeaBIOS and SYSLINUX ("disk").
# run_linux.py drives the shell on COM1 and prints TAP.
# "snapshot": the direct boot saved at the shell and resumed (linux_snapshot.py).
# "kvm": the direct boot with Debian's KVM modules and kvmtest in the initramfs,
# running nested guests on fugu's VMX (kvm_linux.py); "kvm-qemu" that and then
# Debian's qemu-system-x86_64 -accel kvm in the guest: SeaBIOS, then Linux, nested.
# usage: test_linux.sh FUGU direct|disk|snapshot|kvm|kvm-qemu
set -u
fugu=$1 mode=$2
here=$(cd "$(dirname "$0")" && pwd)
kernel=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1)
if [ -z "$kernel" ]; then
	echo "1..1"
	echo "not ok 1 - Debian's linux-image-amd64 is installed (scripts/deps.sh installs it)"
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
initrd_kind=
case $mode in kvm | kvm-qemu) initrd_kind=$mode ;; esac
sh "$here/mkinitramfs.sh" "$tmp/initrd.gz" $initrd_kind || exit 1
cd "$tmp" || exit 1
mem=256
[ "$mode" = kvm ] && mem=512      # the kernel, KVM and nested guests of 2 MiB
[ "$mode" = kvm-qemu ] && mem=1024 # and QEMU (60 MB in the initramfs), its guests
common="-m $mem -serial stdio -display none -timeout 1500"
case $mode in
direct)
	python3 "$here/run_linux.py" --timeout 1200 -- "$fugu" $common -kernel "$kernel" \
		-initrd "$tmp/initrd.gz" -append "console=ttyS0 quiet"
	;;
snapshot)
	python3 "$here/linux_snapshot.py" --timeout 1200 -- "$fugu" $common -kernel "$kernel" \
		-initrd "$tmp/initrd.gz" -append "console=ttyS0 quiet"
	;;
kvm | kvm-qemu)
	qemu_opt=
	[ "$mode" = kvm-qemu ] && qemu_opt=--qemu
	python3 "$here/kvm_linux.py" --timeout 1200 $qemu_opt -- "$fugu" $common -cpu max \
		-kernel "$kernel" -initrd "$tmp/initrd.gz" -append "console=ttyS0 quiet"
	;;
disk)
	sh "$here/mkdisk.sh" "$tmp/disk.img" "$kernel" "$tmp/initrd.gz" || exit 1
	python3 "$here/run_linux.py" --timeout 1200 -- "$fugu" $common -hda "$tmp/disk.img" \
		-snapshot
	;;
*) echo "test_linux.sh: mode is direct, disk, snapshot, kvm or kvm-qemu" >&2; exit 2 ;;
esac
status=$?
for f in run_linux.log linux_snapshot.1.log linux_snapshot.2.log kvm_linux.log; do
	[ -f $f ] && tail -c 3000 $f | sed 's/^/# /'
done
exit $status
