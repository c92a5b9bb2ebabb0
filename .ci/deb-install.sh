#!/usr/bin/env bash
# The arm64 .deb as a Pi would take it: a Debian 12 arm64 root made with
# debootstrap (arm64 programs run through qemu-user-static and binfmt_misc),
# `apt-get install` of the package there, then what postinst did (the user,
# its groups, the enabled unit, the config's owner) and a headless run of
# the kiosk on simulated hardware as that user.
#
# Needs (root): debootstrap qemu-user-static binfmt-support, and the .deb in
# target/debian/ (cargo deb --no-build --target aarch64-unknown-linux-gnu).
set -euo pipefail
cd "$(dirname "$0")/.."
deb=$(ls target/debian/shoumen_*_arm64.deb)
root=${DEB_ROOT:-target/deb-root-arm64}

[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
grep -q enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 || { echo "cannot run arm64 programs: binfmt_misc has no qemu-aarch64" >&2; exit 1; }

if [ ! -x "$root/usr/bin/apt-get" ]; then
    rm -rf "$root"
    time debootstrap --arch=arm64 --variant=minbase --include=adduser,init-system-helpers \
        bookworm "$root" http://deb.debian.org/debian >/dev/null
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp "$deb" "$root/tmp/shoumen.deb"
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
trap 'umount "$root/proc" 2>/dev/null || true' EXIT

time chroot "$root" sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq /tmp/shoumen.deb >/dev/null'

echo "user:    $(chroot "$root" id shoumen)"
chroot "$root" getent passwd shoumen >/dev/null || { echo "postinst did not create the shoumen user" >&2; exit 1; }
[ -L "$root/etc/systemd/system/multi-user.target.wants/shoumen.service" ] || { echo "shoumen.service is not enabled" >&2; exit 1; }
echo "unit:    enabled ($(readlink "$root/etc/systemd/system/multi-user.target.wants/shoumen.service"))"
owner=$(chroot "$root" stat -c "%U:%G %a" /etc/shoumen/kiosk.toml)
echo "config:  /etc/shoumen/kiosk.toml $owner"
[ "$owner" = "root:shoumen 640" ] || { echo "the config should be root:shoumen 0640" >&2; exit 1; }

# What systemd's StateDirectory= would make, then the kiosk as its user.
mkdir -p "$root/var/lib/shoumen"
chroot "$root" chown shoumen:shoumen /var/lib/shoumen
chroot --userspec=shoumen:shoumen "$root" env RUST_LOG=info HOME=/var/lib/shoumen \
    /usr/bin/shoumen --sim run --headless --exit-after 20 2> target/deb-run.log || { cat target/deb-run.log; exit 1; }
grep -q "gate locked" target/deb-run.log || { cat target/deb-run.log; echo "no clean stop" >&2; exit 1; }
echo "run:     $(grep -c 'kiosk starting\|gate locked' target/deb-run.log) start/stop lines; store $(chroot "$root" stat -c "%U %a" /var/lib/shoumen/kiosk.db)"
echo "the arm64 .deb installs and runs"
