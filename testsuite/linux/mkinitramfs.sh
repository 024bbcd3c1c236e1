#!/bin/sh
# Build the test initramfs from Debian's busybox-static: /init mounts the
# pseudo-filesystems, prints a marker and runs a shell on the serial console.
# usage: mkinitramfs.sh OUTPUT.cpio.gz
set -eu
out=$1
bb=/bin/busybox
[ -x "$bb" ] || { echo "mkinitramfs: $bb missing (apt-get install busybox-static)" >&2; exit 1; }
file -L "$bb" 2>/dev/null | grep -q "statically linked" || [ ! -x /usr/bin/file ] || {
	echo "mkinitramfs: $bb is not the static busybox (busybox-static)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/sbin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/etc"
cp "$bb" "$root/bin/busybox"
for app in sh mount umount echo cat ls md5sum sha256sum gzip gunzip dd poweroff uname dmesg \
	head tail wc grep sleep seq true false sync mkdir rm cut tr od hexdump free \
	insmod ip ifconfig route udhcpc nc wget httpd sed; do
	ln -s busybox "$root/bin/$app"
done
# The e1000 driver of the kernel the tests boot (the newest Debian kernel),
# for the network test; udhcpc's script configures what slirp's DHCP offers.
kver=$(ls /boot/vmlinuz-*-amd64 2>/dev/null | sort -V | tail -1 | sed 's|.*/vmlinuz-||')
ko=/lib/modules/$kver/kernel/drivers/net/ethernet/intel/e1000/e1000.ko
if [ -n "$kver" ] && [ -f "$ko" ]; then
	mkdir -p "$root/lib/modules"
	cp "$ko" "$root/lib/modules/e1000.ko"
fi
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
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) > "$out"
