#!/usr/bin/env bash
# The aarch64 Pi binary under qemu-user: starts headless on simulated
# hardware (`--sim`: the same binary drives the real devices without it) with
# a demo community, decides on the demo passes, stops cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
sysroot="${PI_SYSROOT:-$PWD/target/pi-sysroot-arm64}"
bin=target/aarch64-unknown-linux-gnu/release/shoumen
file "$bin" | grep -q "ARM aarch64" || { echo "$bin is not an aarch64 binary" >&2; exit 1; }
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
printf '[kiosk]\ndata_dir = "."\ndemo = true\n' > "$dir/kiosk.toml"
start=$(date +%s)
RUST_LOG=info qemu-aarch64 -L "$sysroot" "$bin" --config "$dir/kiosk.toml" --sim run --headless --exit-after 40 2> "$dir/log" || {
    cat "$dir/log"; echo "the aarch64 kiosk failed under qemu" >&2; exit 1; }
grep -E ' result ' "$dir/log" | head -20
allowed=$(grep -c 'decision="allow"' "$dir/log" || true)
refused=$(grep -Ec 'decision="(deny|guard)"' "$dir/log" || true)
grep -q "gate locked" "$dir/log" || { echo "no clean stop" >&2; exit 1; }
verify=$(qemu-aarch64 -L "$sysroot" "$bin" log verify --db "$dir/kiosk.db")
echo "$verify"
echo "aarch64 under qemu: $allowed allowed, $refused refused in $(( $(date +%s) - start )) s"
[ "$allowed" -ge 1 ] && [ "$refused" -ge 1 ] || { cat "$dir/log"; echo "expected both allowed and refused demo passes" >&2; exit 1; }
