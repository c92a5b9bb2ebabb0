#!/usr/bin/env bash
# Checks both units: `systemd-analyze verify` (with ExecStart pointed at the
# binaries just built, since /usr/bin has none here) and the kiosk's
# exposure score from `systemd-analyze security --offline=yes` (≤ 2.0).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
for unit in shoumen shoumen-server; do
    sed "s|/usr/bin/$unit |$PWD/target/release/$unit |" "systemd/$unit.service" > "$tmp/$unit.service"
    systemd-analyze verify "$tmp/$unit.service"
    score=$(systemd-analyze security --offline=yes "systemd/$unit.service" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
    echo "$unit.service: verify ok, exposure $score"
    if [ "$unit" = shoumen ] && awk "BEGIN { exit !($score > 2.0) }"; then
        echo "shoumen.service exposure $score is above 2.0" >&2
        exit 1
    fi
done
# The updater's units (ExecStart is a shell line picking the kept updater).
cp systemd/shoumen-update.service systemd/shoumen-update.path systemd/shoumen-update-recover.service "$tmp/"
for unit in shoumen-update.service shoumen-update.path shoumen-update-recover.service; do
    said=$(cd "$tmp" && systemd-analyze verify --man=no "$unit" 2>&1) || { echo "$said"; exit 1; }
    [ -z "$said" ] || { echo "$unit: $said" >&2; exit 1; }
    echo "$unit: verify ok"
done
