#!/bin/sh
# Build the test initramfs from Debian's busybox-static: /init mounts the
# pseudo-filesystems, prints a marker and runs a shell on the serial console.
# With KVER, the modules for the IDE CD-ROM (ata_piix, sr_mod, isofs and
# what they need) and the e1000 network driver from /lib/modules/KVER go to
# /lib/fugu-modules, for the tests to load (nothing loads them at boot).
# With "kvm" it also holds the installed kernel's KVM modules (irqbypass.ko,
# kvm.ko, kvm-intel.ko in /lib/kvm) and kvmtest (kvmtest.c built static) in
# /bin: the nested-KVM test's initramfs; the other tests keep the small one.
# "kvm-qemu" adds Debian's qemu-system-x86_64 with its shared libraries and
# SeaBIOS (about 50 MB unpacked), to run it with -accel kvm inside the guest,
# and the kernel with the small initramfs in /boot for a nested Linux.
# usage: mkinitramfs.sh OUTPUT.cpio.gz [KVER] [kvm|kvm-qemu]
#        mkinitramfs.sh OUTPUT.cpio.gz kvm|kvm-qemu   (no KVER: no CD/NIC modules)
set -eu
[ $# -ge 1 ] && [ $# -le 3 ] || { echo "usage: mkinitramfs.sh OUTPUT.cpio.gz [KVER] [kvm|kvm-qemu]" >&2; exit 2; }
out=$1 kver=${2:-}
extra=${3:-}
case $kver in kvm | kvm-qemu) [ -z "$extra" ] || { echo "mkinitramfs: KVER must come before $extra" >&2; exit 2; }
	extra=$kver kver= ;; esac
case $extra in '' | kvm | kvm-qemu) ;; *) echo "mkinitramfs: unknown kind '$extra' (kvm or kvm-qemu)" >&2; exit 2 ;; esac
[ -z "$kver" ] || [ -d "/lib/modules/$kver" ] || {
	echo "mkinitramfs: no modules for kernel '$kver' in /lib/modules" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
bb=/bin/busybox
[ -x "$bb" ] || { echo "mkinitramfs: $bb missing (apt-get install busybox-static)" >&2; exit 1; }
file -L "$bb" 2>/dev/null | grep -q "statically linked" || [ ! -x /usr/bin/file ] || {
	echo "mkinitramfs: $bb is not the static busybox (busybox-static)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/sbin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/etc"
cp "$bb" "$root/bin/busybox"
for app in sh mount umount echo cat ls md5sum sha256sum gzip gunzip dd poweroff uname dmesg \
	head tail wc grep sleep seq true false sync mkdir rm cut tr od hexdump free insmod mknod \
	ip ifconfig route udhcpc nc wget httpd sed; do
	ln -s busybox "$root/bin/$app"
done
# For the network test: udhcpc's script configures what slirp's DHCP offers.
mkdir -p "$root/etc/udhcpc"
cat > "$root/etc/udhcpc/default.script" <<'DHCP'
#!/bin/sh
case $1 in
bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/${mask:-24}" dev "$interface"
	[ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
	echo "udhcpc: $interface $ip/${mask:-24} router $router"
	;;
esac
exit 0
DHCP
chmod 755 "$root/etc/udhcpc/default.script"
if [ "$extra" = kvm ] || [ "$extra" = kvm-qemu ]; then
	kernel=$(ls /boot/vmlinuz-*-amd64 | sort -V | tail -1)
	mods=/lib/modules/${kernel#/boot/vmlinuz-}/kernel
	mkdir -p "$root/lib/kvm"
	for m in virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko arch/x86/kvm/kvm-intel.ko; do
		[ -f "$mods/$m" ] || { echo "mkinitramfs: $mods/$m missing" >&2; exit 1; }
		cp "$mods/$m" "$root/lib/kvm/"
	done
	${CC:-cc} -static -O2 -Wall -Wextra -o "$root/bin/kvmtest" "$here/kvmtest.c"
	for app in insmod rmmod lsmod kill mkfifo; do
		[ -e "$root/bin/$app" ] || ln -s busybox "$root/bin/$app"
	done
fi
if [ "$extra" = kvm-qemu ]; then
	qemu=/usr/bin/qemu-system-x86_64
	[ -x $qemu ] || { echo "mkinitramfs: $qemu missing (qemu-system-x86)" >&2; exit 1; }
	mkdir -p "$root/usr/bin" "$root/usr/share/seabios" "$root/usr/share/qemu"
	cp $qemu "$root/usr/bin/"
	for lib in $(ldd $qemu | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	cp -L /usr/share/seabios/bios-256k.bin "$root/usr/share/seabios/"
	cp -L /usr/share/qemu/kvmvapic.bin /usr/share/qemu/linuxboot_dma.bin "$root/usr/share/qemu/"
	mkdir -p "$root/boot"
	cp "$kernel" "$root/boot/vmlinuz"
	sh "$0" "$root/boot/initrd.gz"
fi
cat > "$root/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "fugu-linux: init started, kernel $(uname -r)"
PS1='fugu# '
export PS1
exec /bin/sh </dev/console >/dev/console 2>&1
INIT
chmod 755 "$root/init"
if [ -n "$kver" ]; then
	mkdir -p "$root/lib/fugu-modules"
	for m in scsi/scsi_common scsi/scsi_mod ata/libata ata/ata_piix cdrom/cdrom scsi/sr_mod; do
		cp "/lib/modules/$kver/kernel/drivers/$m.ko" "$root/lib/fugu-modules/"
	done
	cp "/lib/modules/$kver/kernel/fs/isofs/isofs.ko" "$root/lib/fugu-modules/"
	# the network card's driver (the e1000 has no dependencies)
	e1000=/lib/modules/$kver/kernel/drivers/net/ethernet/intel/e1000/e1000.ko
	[ -f "$e1000" ] && cp "$e1000" "$root/lib/fugu-modules/"
fi
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) > "$out"
