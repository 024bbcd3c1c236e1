#!/bin/sh
# make test's Linux boots: Debian's stock kernel (linux-image-amd64) with a
# busybox-static initramfs, either handed to SeaBIOS by -kernel/-initrd
# ("direct"), booted from a raw disk through SeaBIOS and SYSLINUX ("disk"), or
# from an ISO on the ATAPI CD-ROM through SeaBIOS and ISOLINUX ("cdrom").
# run_linux.py drives the shell on COM1 and prints TAP.
# "snapshot": the direct boot saved at the shell and resumed (linux_snapshot.py).
# "skylake": the direct boot on the Skylake client model (-cpu skylake).
# "smp": the direct boot with -smp 4: four CPUs online, four jobs at once.
# "cdrom": an ISO with ISOLINUX on the CD-ROM, booted by SeaBIOS (El Torito).
# "s3": the direct boot suspended to RAM and woken by the RTC alarm.
# "net": the direct boot with -nic user: e1000.ko, DHCP from libslirp, HTTP both
# ways through the gateway and a hostfwd (run_net.py).
# "kvm": the direct boot with Debian's KVM modules and kvmtest in the initramfs,
# running nested guests on fugu's VMX (kvm_linux.py); "kvm-qemu" that and then
# Debian's qemu-system-x86_64 -accel kvm in the guest: SeaBIOS, then Linux, nested.
# usage: test_linux.sh FUGU direct|disk|cdrom|snapshot|skylake|smp|s3|net|kvm|kvm-qemu [FUGU ARGS...]
# (FUGU ARGS: more options for fugu, e.g. -jit on)
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
kver=${kernel#/boot/vmlinuz-}
[ -d "/lib/modules/$kver" ] || kver=
initrd_kind=
case $mode in kvm | kvm-qemu) initrd_kind=$mode ;; esac
sh "$here/mkinitramfs.sh" "$tmp/initrd.gz" "$kver" $initrd_kind || exit 1
cd "$tmp" || exit 1
mem=256
[ "$mode" = kvm ] && mem=512      # the kernel, KVM and nested guests of 2 MiB
[ "$mode" = kvm-qemu ] && mem=1024 # and QEMU (60 MB in the initramfs), its guests
common="-m $mem -serial stdio -display none -timeout 1500 $*"
case $mode in
direct)
	# with a data CD (an ISO 9660 image holding one file) that the shell mounts
	cdrom=
	if [ -n "$kver" ] && command -v xorriso >/dev/null; then
		mkdir "$tmp/cd" && echo "fugu CD-ROM test file" >"$tmp/cd/README.TXT"
		xorriso -as mkisofs -quiet -R -V FUGUCD -o "$tmp/cd.iso" "$tmp/cd" 2>/dev/null &&
			cdrom="-cdrom $tmp/cd.iso"
	fi
	python3 "$here/run_linux.py" --timeout 1200 -- "$fugu" $common -kernel "$kernel" \
		-initrd "$tmp/initrd.gz" -append "console=ttyS0 quiet" $cdrom
	;;
s3)
	python3 "$here/run_linux.py" --timeout 1200 --s3 -- "$fugu" $common -kernel "$kernel" \
		-initrd "$tmp/initrd.gz" -append "console=ttyS0 quiet"
	;;
smp)
	python3 "$here/run_linux.py" --timeout 1200 --cpus 4 -- "$fugu" $common -smp 4 \
		-kernel "$kernel" -initrd "$tmp/initrd.gz" -append "console=ttyS0 quiet"
	;;
skylake)
	python3 "$here/run_linux.py" --timeout 1200 -- "$fugu" $common -cpu skylake \
		-kernel "$kernel" -initrd "$tmp/initrd.gz" -append "console=ttyS0 quiet"
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
net)
	python3 "$here/run_net.py" --timeout 600 -- "$fugu" $common -nic HOSTFWD \
		-kernel "$kernel" -initrd "$tmp/initrd.gz" -append "console=ttyS0 quiet"
	;;
disk)
	sh "$here/mkdisk.sh" "$tmp/disk.img" "$kernel" "$tmp/initrd.gz" || exit 1
	python3 "$here/run_linux.py" --timeout 1200 -- "$fugu" $common -hda "$tmp/disk.img" \
		-snapshot
	;;
cdrom)
	sh "$here/mkiso.sh" "$tmp/live.iso" "$kernel" "$tmp/initrd.gz" || exit 1
	python3 "$here/run_linux.py" --timeout 1200 -- "$fugu" $common -cdrom "$tmp/live.iso" \
		-boot d
	;;
*) echo "test_linux.sh: mode is direct, disk, cdrom, snapshot, skylake, smp, s3, net, kvm or kvm-qemu" >&2; exit 2 ;;
esac
status=$?
for f in run_linux.log run_net.log linux_snapshot.1.log linux_snapshot.2.log kvm_linux.log; do
	[ -f $f ] && tail -c 3000 $f | sed 's/^/# /'
done
exit $status
