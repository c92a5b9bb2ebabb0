#!/usr/bin/env bash
# Builds a private arm64 (or armhf) sysroot with the libraries the Pi build
# links against (libinput, libudev, libxkbcommon, ALSA and what they need at run
# time), without adding a foreign architecture to the host's apt, which
# would upgrade host packages.
#
#   scripts/pi-sysroot.sh [arm64|armhf] [DIR]      (default: arm64 target/pi-sysroot-arm64)
#
# It keeps its own apt state under DIR/apt, downloads the .debs with
# `apt-get download` and unpacks them with `dpkg-deb -x`. Then build with
# scripts/pi-build.sh, or by hand as docs/install-pi.md shows.
set -euo pipefail

arch="${1:-arm64}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${2:-$root/target/pi-sysroot-$arch}"
case "$arch" in
    arm64) triple=aarch64-linux-gnu ;;
    armhf) triple=arm-linux-gnueabihf ;;
    *) echo "unknown architecture $arch: use arm64 or armhf" >&2; exit 2 ;;
esac

# Link-time: the -dev packages (headers, .so links, .pc files). Run-time
# closure, so the binary also starts under qemu: libc and the libraries
# libinput and libxkbcommon pull in; ALSA for the spoken prompts.
packages=(
    libinput-dev libinput10 libudev-dev libudev1 libxkbcommon-dev libxkbcommon0 libasound2-dev libasound2
    libevdev2 libmtdev1 libwacom9 libgudev-1.0-0 libglib2.0-0 libffi8 libpcre2-8-0
    libselinux1 libmount1 libblkid1 zlib1g libgcc-s1 libc6
)

mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/debs"
touch "$dir/apt/status"
apt_opts=(
    -o "APT::Architecture=$arch" -o "APT::Architectures=$arch"
    -o "Dir::State=$dir/apt" -o "Dir::State::Lists=$dir/apt/lists" -o "Dir::State::status=$dir/apt/status"
    -o "Dir::Cache=$dir/apt/cache" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root"
)
if [ ! -s "$dir/apt/.updated" ]; then
    # A mirror in the middle of a sync fails an index now and then: retry,
    # then go on with what arrived (the packages come from the main suite).
    for try in 1 2 3 4; do
        if apt-get "${apt_opts[@]}" update -qq; then
            date > "$dir/apt/.updated"
            break
        fi
        echo "apt-get update failed (try $try of 4); retrying in 20 s" >&2
        sleep 20
    done
fi
cd "$dir/debs"
for p in "${packages[@]}"; do
    ls "${p}"_*.deb >/dev/null 2>&1 || apt-get "${apt_opts[@]}" download -qq "$p:$arch"
done
for deb in *.deb; do
    dpkg-deb -x "$deb" "$dir"
done

# Absolute symlinks inside the sysroot (e.g. libudev.so -> /lib/…) would
# point into the host; make them relative to the sysroot.
find "$dir/usr/lib/$triple" "$dir/lib/$triple" -maxdepth 1 -type l 2>/dev/null | while read -r link; do
    target="$(readlink "$link")"
    case "$target" in
        /*) ln -sf "$dir$target" "$link" ;;
    esac
done
echo "sysroot ready: $dir ($(ls "$dir/debs" | wc -l) packages)"
