#!/usr/bin/env bash
# Cross-builds the Pi kiosk with Debian's cross gcc and the sysroot from
# scripts/pi-sysroot.sh (no Docker needed; cross-rs users see cross.toml).
#
#   [PI_ARCH=arm64|armhf] scripts/pi-build.sh [cargo args…]
#     e.g. scripts/pi-build.sh build --release --features pi            (64-bit Pi OS)
#          PI_ARCH=armhf scripts/pi-build.sh build --release --features pi   (32-bit Pi OS)
#          scripts/pi-build.sh test --release --lib                     (under qemu)
#
# Needs: rustup target add aarch64-unknown-linux-gnu (or
# armv7-unknown-linux-gnueabihf); apt install gcc-aarch64-linux-gnu
# libc6-dev-arm64-cross linux-libc-dev-arm64-cross (or the -armhf / arm-linux-
# gnueabihf ones), libclang1-14 (nokhwa's bindgen) and, to run tests, qemu-user.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
arch="${PI_ARCH:-arm64}"
case "$arch" in
    arm64) target=aarch64-unknown-linux-gnu; triple=aarch64-linux-gnu; qemu=qemu-aarch64 ;;
    armhf) target=armv7-unknown-linux-gnueabihf; triple=arm-linux-gnueabihf; qemu=qemu-arm ;;
    *) echo "PI_ARCH=$arch: use arm64 or armhf" >&2; exit 2 ;;
esac
sysroot="${PI_SYSROOT:-$root/target/pi-sysroot-$arch}"
[ -d "$sysroot/usr/lib/$triple" ] || bash "$root/scripts/pi-sysroot.sh" "$arch" "$sysroot"
lib="$sysroot/usr/lib/$triple"
t="${target//-/_}"
T="$(echo "$t" | tr '[:lower:]' '[:upper:]')"

export PKG_CONFIG_ALLOW_CROSS=1
export PKG_CONFIG_SYSROOT_DIR="$sysroot"
export PKG_CONFIG_LIBDIR="$lib/pkgconfig:$sysroot/usr/share/pkgconfig"
export "CC_$t=$triple-gcc"
export "AR_$t=$triple-ar"
export "CARGO_TARGET_${T}_LINKER=$triple-gcc"
# The linker resolves libinput's own dependencies (libwacom, glib…) in the sysroot.
export "CARGO_TARGET_${T}_RUSTFLAGS=-L $lib -C link-arg=-Wl,-rpath-link,$lib -C link-arg=-Wl,-rpath-link,$sysroot/lib/$triple"
# bindgen (nokhwa → v4l2) parses the target's kernel headers.
export "BINDGEN_EXTRA_CLANG_ARGS_$t=-isystem /usr/$triple/include"
# Tests run under qemu, finding libc and the Pi libraries in the sysroot.
export "CARGO_TARGET_${T}_RUNNER=$qemu -L $sysroot"

cd "$root"
cmd="$1"
shift
exec cargo "$cmd" --target "$target" "$@"
