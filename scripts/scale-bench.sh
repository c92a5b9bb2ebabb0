#!/usr/bin/env bash
# The scale benchmark of docs/scale.md, both engines in one run: 200
# communities × 5 live kiosks pushing 1 entry/s each, while 20 more kiosks
# push a 60,000-entry backlog each as fast as they can, and a committee
# member exports a 500,000-row history in the middle.
#
#   bash scripts/scale-bench.sh            # needs PostgreSQL (see below)
#   PG_URL=postgresql://user@host/db bash scripts/scale-bench.sh
#
# Without PG_URL it uses the local cluster over its Unix socket as root
# (Debian: pg_ctlcluster 15 main start; su postgres -c "createuser -s root").
# Extra arguments go to shoumen-loadgen (e.g. --backlog 10000 for a quick run).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p shoumen-server -p shoumen-loadgen
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
if [ -z "${PG_URL:-}" ]; then
    dropdb --if-exists shoumen_scale && createdb shoumen_scale
    PG_URL='postgresql://root@%2Fvar%2Frun%2Fpostgresql/shoumen_scale'
fi
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
for db in "$dir/scale.db" "$PG_URL"; do
    echo
    target/release/shoumen-loadgen --db "$db" "$@"
done
