#!/usr/bin/env bash
# A small load on each engine: every push and the export must succeed. The
# full benchmark (docs/scale.md) is scripts/scale-bench.sh, run by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x target/release/shoumen-loadgen ] || { echo "target/release/shoumen-loadgen is not built: cargo test --workspace --release builds it (loadgen/tests)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"; dropdb --if-exists shoumen_loadgen_ci' EXIT
dropdb --if-exists shoumen_loadgen_ci && createdb shoumen_loadgen_ci
for db in "$dir/load.db" 'postgresql://root@%2Fvar%2Frun%2Fpostgresql/shoumen_loadgen_ci'; do
    out=$(target/release/shoumen-loadgen --db "$db" --communities 5 --live 2 --backlog-kiosks 2 --backlog 3000 \
        --export-rows 5000 --warmup-s 2 --export-after-s 0 --heartbeat-s 1)
    echo "$out"
    echo "$out" | grep -q '^errors  *0$' || { echo "the load generator met errors on $db" >&2; exit 1; }
    echo "$out" | grep -q '^backlog  *6000 entries' || { echo "the backlog was not stored whole on $db" >&2; exit 1; }
    rows=$(echo "$out" | awk '/^export /{print $2}')
    [ "${rows:-0}" -ge 5000 ] || { echo "the export is short on $db: ${rows:-none} rows" >&2; exit 1; }
done
