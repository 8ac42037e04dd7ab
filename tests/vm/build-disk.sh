#!/bin/bash
# Build (once, cached) a Debian 12 VM: a raw ext4 disk made with mmdebstrap
# with two kernels installed, Debian 12's own 6.1 and bookworm-backports'
# 6.12 (each with its modules in /lib/modules and its initrd), both taken
# out for QEMU's direct kernel boot: the lane picks the kernel at boot, the
# rest of the disk is the same for both.
#
#   tests/vm/build-disk.sh CACHE_DIR
#
# Writes CACHE_DIR/bookworm/{disk.raw,vmlinuz-6.1,initrd.img-6.1,
# vmlinuz-6.12,initrd.img-6.12,kernels,id_ed25519,id_ed25519.pub,stamp}.
# The stamp holds a hash of this script: a changed script rebuilds, an
# unchanged one reuses the cache. Needs root (mmdebstrap in root mode,
# mkfs.ext4 -d keeps owners), network to the Debian mirror.
set -euo pipefail

CACHE=${1:?usage: build-disk.sh CACHE_DIR}
SUITE=bookworm
OUT=$CACHE/$SUITE
HASH=$(sha256sum "$0" | cut -d' ' -f1)
SIZE=${JSB_VM_DISK_SIZE:-8G}

if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$HASH" ] &&
	[ -f "$OUT/disk.raw" ] && [ -f "$OUT/vmlinuz-6.1" ] && [ -f "$OUT/vmlinuz-6.12" ]; then
	echo "vm disk: cached at $OUT"
	exit 0
fi

[ "$(id -u)" = 0 ] || {
	echo "build-disk.sh: needs root" >&2
	exit 1
}
for t in mmdebstrap mkfs.ext4 ssh-keygen; do
	command -v "$t" >/dev/null || {
		echo "build-disk.sh: $t is not installed" >&2
		exit 1
	}
done

TMP=$(mktemp -d "$CACHE/.build.XXXXXX")
trap 'rm -rf --one-file-system "$TMP"' EXIT
mkdir -p "$TMP/out"
ssh-keygen -q -t ed25519 -N '' -C jsandbox-vm-lane -f "$TMP/out/id_ed25519"

# The packages an admin's stock Debian 12 server has that matter here:
# systemd as PID 1 (pure cgroup v2), logind via libpam-systemd, Debian's own
# sshd and PAM stack, the distribution kernel; plus the run-time libraries
# of jsandbox's binaries (built on the host, which is Debian 12 too).
PKGS=systemd,systemd-sysv,libpam-systemd,dbus,udev,openssh-server,sudo,
PKGS+=linux-image-amd64,initramfs-tools,kmod,iproute2,ifupdown,isc-dhcp-client,
PKGS+=libpam-modules,libcap2,libseccomp2,libiniparser1,libyaml-0-2,libarchive13,procps,psmisc,
PKGS+=ca-certificates,netbase,less,zstd,e2fsprogs,xfsprogs,
# what the end-to-end harness needs to run inside (tests/vm/suites.sh;
# .ci/packages' test tools): ctest, python3 (its syslog collector), rsync,
# btrfs-progs, mmdebstrap (setup.sh asks for it; the image comes cached),
# gcc and libc6-dev (the security suite builds its static attack tool)
PKGS+=cmake,python3,rsync,btrfs-progs,mmdebstrap,openssh-client,gcc,libc6-dev

# The second kernel: bookworm-backports' linux-image-amd64 (6.12), installed
# over the first one's metapackage; the 6.1 image package stays installed.
BPO_KERNEL='chroot "$1" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t bookworm-backports linux-image-amd64'
# Each kernel and initrd under a name that says its series (6.1, 6.12),
# and the list of the exact releases.
TAKE_KERNELS='for v in "$1"/boot/vmlinuz-*; do r=${v#*/vmlinuz-}; s=$(echo "$r" | cut -d. -f1,2);
	cp "$v" "'"$TMP/out"'/vmlinuz-$s"; cp "$1/boot/initrd.img-$r" "'"$TMP/out"'/initrd.img-$s";
	echo "$s $r" >>"'"$TMP/out"'/kernels"; done'

PUB=$(cat "$TMP/out/id_ed25519.pub")
mmdebstrap --variant=minbase --include="$PKGS" \
	--customize-hook='echo jsbvm > "$1/etc/hostname"' \
	--customize-hook='echo "127.0.1.1 jsbvm" >> "$1/etc/hosts"' \
	--customize-hook='printf "/dev/vda / ext4 rw,relatime 0 1\n" > "$1/etc/fstab"' \
	--customize-hook='printf "auto lo\niface lo inet loopback\nallow-hotplug ens3\niface ens3 inet dhcp\nallow-hotplug eth0\niface eth0 inet dhcp\n" > "$1/etc/network/interfaces"' \
	--customize-hook='mkdir -p -m 0700 "$1/root/.ssh"' \
	--customize-hook="echo '$PUB' > \"\$1/root/.ssh/authorized_keys\"" \
	--customize-hook='chmod 0600 "$1/root/.ssh/authorized_keys"' \
	--customize-hook='printf "PermitRootLogin prohibit-password\n" > "$1/etc/ssh/sshd_config.d/10-vm-lane.conf"' \
	--customize-hook='chroot "$1" systemctl enable ssh.service networking.service' \
	--customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer man-db.timer' \
	--customize-hook='sed -i "s/^MODULES=.*/MODULES=most/" "$1/etc/initramfs-tools/initramfs.conf"' \
	--customize-hook="$BPO_KERNEL" \
	--customize-hook='chroot "$1" update-initramfs -u -k all' \
	--customize-hook="$TAKE_KERNELS" \
	"$SUITE" "$TMP/root" "deb http://deb.debian.org/debian $SUITE main" \
	"deb http://deb.debian.org/debian $SUITE-backports main"
for s in 6.1 6.12; do
	if [ ! -s "$TMP/out/vmlinuz-$s" ] || [ ! -s "$TMP/out/initrd.img-$s" ]; then
		echo "build-disk.sh: no $s kernel in the disk (kernels: $(cat "$TMP/out/kernels" 2>/dev/null))" >&2
		exit 1
	fi
done

# The host keys made at install stay: every boot of this throwaway disk
# shows the same keys (the lane does not check them anyway).
truncate -s "$SIZE" "$TMP/out/disk.raw"
mkfs.ext4 -q -L jsbvm -d "$TMP/root" "$TMP/out/disk.raw"
echo "$HASH" >"$TMP/out/stamp"
rm -rf --one-file-system "$OUT"
mkdir -p "$CACHE"
mv "$TMP/out" "$OUT"
echo "vm disk: built at $OUT ($(du -sh --apparent-size "$OUT/disk.raw" | cut -f1) raw)"
