#!/usr/bin/env bash
# The real window: starts `shoumen run` (touchscreen UI, simulated hardware,
# demo community) under Xvfb, measures how long until the window is mapped,
# checks it stays up, then that SIGTERM shuts it down cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/shoumen
work=$(mktemp -d)
printf '[kiosk]\ndata_dir = "."\nsimulated = true\ndemo = true\n' > "$work/kiosk.toml"

Xvfb :77 -screen 0 800x480x24 >"$work/xvfb.log" 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true; rm -rf "$work"' EXIT
sleep 1

start=$(date +%s%N)
DISPLAY=:77 RUST_LOG=info "$bin" --config "$work/kiosk.toml" run --demo-script >"$work/kiosk.log" 2>&1 &
kiosk=$!
mapped=""
for _ in $(seq 1 100); do
    if DISPLAY=:77 xwininfo -root -tree 2>/dev/null | grep -q 'Shoumen'; then
        mapped=$(( ($(date +%s%N) - start) / 1000000 ))
        break
    fi
    sleep 0.1
done
[ -n "$mapped" ] || { echo "ui-smoke: the kiosk window did not appear within 10 s"; cat "$work/kiosk.log"; exit 1; }
echo "ui-smoke: window mapped after ${mapped} ms"
sleep 8
kill -0 $kiosk 2>/dev/null || { echo "ui-smoke: the kiosk exited on its own"; cat "$work/kiosk.log"; exit 1; }
kill -TERM $kiosk
for _ in $(seq 1 50); do
    kill -0 $kiosk 2>/dev/null || break
    sleep 0.1
done
if kill -0 $kiosk 2>/dev/null; then
    echo "ui-smoke: the kiosk ignored SIGTERM"; kill -9 $kiosk; exit 1
fi
wait $kiosk || { echo "ui-smoke: the kiosk exited with an error"; cat "$work/kiosk.log"; exit 1; }
grep -q "gate locked" "$work/kiosk.log" || { echo "ui-smoke: no clean shutdown in the log"; cat "$work/kiosk.log"; exit 1; }
entries=$("$bin" log verify --db "$work/kiosk.db")
echo "ui-smoke: SIGTERM shut the kiosk down cleanly; $entries"
