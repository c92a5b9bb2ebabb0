#!/usr/bin/env bash
# The kiosk's SD-card image, from Debian's own tools: mmdebstrap makes a
# Debian 12 arm64 root with the packages in image/packages and the kiosk's
# .deb, image/overlay/ is laid over it, and the three partitions are made
# from directories without mounting anything (mkfs.vfat + mtools, mke2fs -d):
#
#   1  SHOUMENBOOT   FAT, 256 MiB: the Pi's firmware, kernel, initrd, config.txt
#   2  shoumen-root  ext4: the system, mounted noatime
#   3  shoumen-data  ext4, 256 MiB, grown to the card on first boot:
#                    /var/lib/shoumen (the entry log, the kiosk's keys)
#
# The kiosk's .deb is also kept in /var/lib/shoumen-update/kept: the updater
# rolls back to it if the first update fails its self-test.
#
# No secret is in it: root's password is locked, there is no SSH server, the
# machine id is empty, and the kiosk makes its device key on its first start.
# Reproducible from a commit: SOURCE_DATE_EPOCH is the commit's time, the file
# systems' UUIDs and hash seeds are fixed; scripts/image-compare.py A B says
# what differs between two builds' package lists, file listings and contents.
#
# Usage (root; needs mmdebstrap arch-test qemu-user-static binfmt-support mtools
# dosfstools fdisk e2fsprogs device-tree-compiler):
#   scripts/image-build.sh [--deb target/debian/shoumen_*_arm64.deb]
#                          [--server https://gate.example.org] [--out target/image]
# Writes OUT/shoumen-kiosk-arm64.img, OUT/sbom.spdx.json, OUT/packages.txt,
# OUT/files.txt (path, mode, owner, size, sha256 of the root), OUT/boot/
# (kernel and initrd, for qemu).
set -euo pipefail
cd "$(dirname "$0")/.."

deb=""
server=""
out=target/image
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
while [ $# -gt 0 ]; do
    case "$1" in
        --deb) deb=$2; shift 2 ;;
        --server) server=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "unknown argument $1 (see the comment at the top of $0)" >&2; exit 2 ;;
    esac
done
[ -n "$deb" ] || deb=$(ls target/debian/shoumen_*_arm64.deb 2>/dev/null | head -1)
[ -f "$deb" ] || { echo "no kiosk .deb: build it (README, 'Building the .deb') or pass --deb" >&2; exit 1; }
for tool in mmdebstrap arch-test mcopy mkfs.vfat mke2fs sfdisk fdtput; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install mmdebstrap arch-test mtools dosfstools e2fsprogs fdisk device-tree-compiler qemu-user-static binfmt-support" >&2; exit 1; }
done
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true

export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
root=$out/root
rm -rf "$root" "$out/boot"
mkdir -p "$out"
deb_abs=$(readlink -f "$deb")
packages=$(grep -v '^#' image/packages | grep -v '^$' | paste -sd, -)

# Debian has no i2c or gpio group; the kiosk's postinst joins those that exist.
# The kernel and firmware hooks write to /boot/firmware, the FAT partition.
# The initrd is made once, at the end (each package's trigger would make it
# again, minutes each with arm64 programs emulated); its hook then writes
# config.txt and cmdline.txt with image/overlay's /etc/default/raspi-firmware.
echo "building the root (mmdebstrap, arm64 programs through qemu-user)"
time mmdebstrap --arch=arm64 --variant=apt --mode=root --format=directory \
    --components="main non-free-firmware" \
    --include="$packages" \
    --include="$deb_abs" --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount \
    --setup-hook='mkdir -p "$1/boot/firmware"' \
    --essential-hook='chroot "$1" groupadd --system i2c; chroot "$1" groupadd --system gpio' \
    --essential-hook='chroot "$1" dpkg-divert --quiet --local --rename --add /usr/sbin/update-initramfs && ln -s /bin/true "$1/usr/sbin/update-initramfs"' \
    --customize-hook='mkdir -p "$1/var/lib/shoumen-update/kept"' \
    --customize-hook="copy-in $deb_abs /var/lib/shoumen-update/kept" \
    --customize-hook='sync-in image/overlay /' \
    --customize-hook='chroot "$1" systemctl enable systemd-networkd systemd-resolved shoumen-grow-data.service' \
    --customize-hook='rm "$1/usr/sbin/update-initramfs" && chroot "$1" dpkg-divert --quiet --local --rename --remove /usr/sbin/update-initramfs' \
    --customize-hook='chroot "$1" update-initramfs -c -k all' \
    bookworm "$root" "$mirror"

# What the kiosk package's postinst did: its user in the device groups, its
# units enabled, its configuration readable by it alone.
check() { "$@" >/dev/null 2>&1 || { echo "the image is not right: $*" >&2; exit 1; }; }
check chroot "$root" getent passwd shoumen
for g in video i2c gpio input; do
    chroot "$root" id -nG shoumen | tr ' ' '\n' | grep -qx "$g" || { echo "the shoumen user is not in group $g" >&2; exit 1; }
done
for unit in shoumen.service shoumen-update.service shoumen-update-recover.service shoumen-update.path; do
    check test -L "$root/etc/systemd/system/multi-user.target.wants/$unit"
done
[ "$(chroot "$root" stat -c '%U:%G %a' /etc/shoumen/kiosk.toml)" = "root:shoumen 640" ] ||
    { echo "/etc/shoumen/kiosk.toml should be root:shoumen 0640" >&2; exit 1; }
echo "postinst: user shoumen in $(chroot "$root" id -nG shoumen), units enabled, kiosk.toml root:shoumen 0640"

# The thermometer's bus at 50 kHz (the MLX90614 trips the Pi's I2C clock-
# stretching bug at 100 kHz): Debian's kernel boots the upstream device
# trees, which config.txt's dtparam=i2c_arm_baudrate does not reach, so
# the rate is set in them (I2C1, GPIO 2/3, is enabled there already).
command -v fdtput >/dev/null || { echo "fdtput is missing: apt-get install device-tree-compiler" >&2; exit 1; }
for dtb in "$root"/usr/lib/linux-image-*/broadcom/bcm27*-rpi-*.dtb "$root"/boot/firmware/bcm27*-rpi-*.dtb; do
    fdtput -t u "$dtb" /soc/i2c@7e804000 clock-frequency 50000
done
echo "I2C1 at $(fdtget "$(ls "$root"/boot/firmware/bcm2711-rpi-4-b.dtb)" /soc/i2c@7e804000 clock-frequency) Hz in the Pi device trees"

# The server this district's kiosks enroll with (no secret: an address).
if [ -n "$server" ]; then
    sed -i "s|^server_url = .*|server_url = \"$server\"|" "$root/etc/shoumen/kiosk.toml"
    grep -q "^server_url = \"$server\"" "$root/etc/shoumen/kiosk.toml" || { echo "could not set server_url" >&2; exit 1; }
fi

# Nothing that must differ between kiosks or builds: each machine makes its
# own id on first boot; apt's lists are fetched again before an update.
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id" "$root/var/lib/systemd/random-seed" "$root"/etc/ssh/ssh_host_*
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old "$root"/var/log/*
mkdir -p "$root/var/lib/shoumen"

echo "the package list and the SBOM"
dpkg-query --admindir="$root/var/lib/dpkg" -W -f '${Package}\t${Version}\t${Architecture}\n' | sort > "$out/packages.txt"
python3 scripts/image-sbom.py "$root/var/lib/dpkg/status" "$(git rev-parse HEAD 2>/dev/null || echo unknown)" > "$out/sbom.spdx.json"
echo "$(wc -l < "$out/packages.txt") packages"
(cd "$root" && find . -path ./boot/firmware -prune -o -path ./var/lib/shoumen -prune -o -print0 | sort -z |
    xargs -0 stat -c '%n %f %u:%g %s' ) > "$out/files.txt.tmp"
(cd "$root" && find . \( -path ./boot/firmware -o -path ./var/lib/shoumen \) -prune -o -type f -print0 | sort -z | xargs -0 sha256sum) > "$out/sums.txt"
mv "$out/files.txt.tmp" "$out/files.txt"

mkdir -p "$out/boot"
cp "$root"/boot/vmlinuz-* "$out/boot/vmlinuz"
cp "$root"/boot/initrd.img-* "$out/boot/initrd.img"
ls "$root/boot/firmware" > "$out/boot/firmware-files.txt"
grep -q '^kernel=vmlinuz' "$root/boot/firmware/config.txt" || { echo "raspi-firmware wrote no config.txt" >&2; exit 1; }

echo "the partitions"
boot_mib=256
data_mib=256
root_mib=$(( $(du -sm --exclude=./boot/firmware "$root" | cut -f1) * 5 / 4 + 200 ))
img=$out/shoumen-kiosk-arm64.img
parts=$out/parts
rm -rf "$parts"; mkdir -p "$parts/data"
mkfs.vfat -C "$parts/boot.img" $(( boot_mib * 1024 )) -n SHOUMENBOOT -i 5a0a0001 >/dev/null
mcopy -s -p -m -i "$parts/boot.img" "$root"/boot/firmware/* ::
rm -rf "$root/boot/firmware"/* 
export E2FSPROGS_FAKE_TIME=$SOURCE_DATE_EPOCH
mke2fs -q -t ext4 -b 4096 -L shoumen-root -U 5a0a0002-0000-4000-8000-000000000002 -E hash_seed=5a0a0002-0000-4000-8000-000000000002 \
    -d "$root" "$parts/root.img" "${root_mib}M"
mke2fs -q -t ext4 -b 4096 -L shoumen-data -U 5a0a0003-0000-4000-8000-000000000003 -E hash_seed=5a0a0003-0000-4000-8000-000000000003 \
    -d "$parts/data" "$parts/data.img" "${data_mib}M"
total_mib=$(( 4 + boot_mib + root_mib + data_mib ))
rm -f "$img"; truncate -s "${total_mib}M" "$img"
sfdisk -q "$img" <<EOF
label: dos
label-id: 0x5a0a5a0a
start=4MiB, size=${boot_mib}MiB, type=c, bootable
size=${root_mib}MiB, type=83
size=${data_mib}MiB, type=83
EOF
dd if="$parts/boot.img" of="$img" bs=1M seek=4 conv=notrunc,sparse status=none
dd if="$parts/root.img" of="$img" bs=1M seek=$(( 4 + boot_mib )) conv=notrunc,sparse status=none
dd if="$parts/data.img" of="$img" bs=1M seek=$(( 4 + boot_mib + root_mib )) conv=notrunc,sparse status=none
rm -rf "$parts"
ls -l "$img"
echo "image: $img (${total_mib} MiB; write it with: dd if=$img of=/dev/sdX bs=4M conv=fsync)"
