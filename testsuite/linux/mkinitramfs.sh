#!/bin/sh
# Build the test initramfs from Debian's busybox-static: /init mounts the
# pseudo-filesystems, prints a marker and runs a shell on the serial console.
# With KVER, the modules for the IDE CD-ROM (ata_piix, sr_mod, isofs and
# what they need) from /lib/modules/KVER go to /lib/fugu-modules, for the
# test to load (nothing loads them at boot).
# usage: mkinitramfs.sh OUTPUT.cpio.gz [KVER]
set -eu
out=$1 kver=${2:-}
bb=/bin/busybox
[ -x "$bb" ] || { echo "mkinitramfs: $bb missing (apt-get install busybox-static)" >&2; exit 1; }
file -L "$bb" 2>/dev/null | grep -q "statically linked" || [ ! -x /usr/bin/file ] || {
	echo "mkinitramfs: $bb is not the static busybox (busybox-static)" >&2; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/sbin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/etc"
cp "$bb" "$root/bin/busybox"
for app in sh mount umount echo cat ls md5sum sha256sum gzip gunzip dd poweroff uname dmesg \
	head tail wc grep sleep seq true false sync mkdir rm cut tr od hexdump free insmod mknod; do
	ln -s busybox "$root/bin/$app"
done
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
fi
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) > "$out"
