#!/usr/bin/env bash
# Cross-builds the Pi kiosk with Debian's cross gcc and the sysroot from
# scripts/pi-sysroot.sh (no Docker needed; cross-rs users see cross.toml).
#
#   scripts/pi-build.sh [cargo args…]
#     e.g. scripts/pi-build.sh build --release --features pi
#          scripts/pi-build.sh test --release --lib
#
# Needs: rustup target add aarch64-unknown-linux-gnu; apt install
# gcc-aarch64-linux-gnu libc6-dev-arm64-cross linux-libc-dev-arm64-cross
# libclang1-14 (nokhwa's bindgen) and, to run tests, qemu-user.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
sysroot="${PI_SYSROOT:-$root/target/pi-sysroot-arm64}"
[ -d "$sysroot/usr/lib/aarch64-linux-gnu" ] || bash "$root/scripts/pi-sysroot.sh" arm64 "$sysroot"
lib="$sysroot/usr/lib/aarch64-linux-gnu"

export PKG_CONFIG_ALLOW_CROSS=1
export PKG_CONFIG_SYSROOT_DIR="$sysroot"
export PKG_CONFIG_LIBDIR="$lib/pkgconfig:$sysroot/usr/share/pkgconfig"
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
# The linker resolves libinput's own dependencies (libwacom, glib…) in the sysroot.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-L $lib -C link-arg=-Wl,-rpath-link,$lib -C link-arg=-Wl,-rpath-link,$sysroot/lib/aarch64-linux-gnu"
# bindgen (nokhwa → v4l2) parses the arm64 kernel headers.
export BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu="-isystem /usr/aarch64-linux-gnu/include"
# Tests run under qemu, finding libc and the Pi libraries in the sysroot.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="qemu-aarch64 -L $sysroot"

cd "$root"
cmd="$1"
shift
exec cargo "$cmd" --target aarch64-unknown-linux-gnu "$@"
