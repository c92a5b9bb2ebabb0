#!/usr/bin/env bash
# The server's whole test suite on PostgreSQL through TLS (issue 30): a
# cluster of its own that takes TCP connections only with TLS, a
# certificate for localhost from a CA made here, and the suite's URL with
# sslmode=verify-full and that CA. Run as root, by hand; prints the suite's
# summary. CI runs the shorter check in server/tests/pg_clusters.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=/usr/lib/postgresql/15/bin
dir=$(mktemp -d)
chown postgres "$dir"
as_pg() { runuser -u postgres -- "$@"; }
trap 'as_pg $bin/pg_ctl -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

as_pg $bin/initdb -D "$dir/data" -U root -A trust --no-sync >/dev/null
# A CA, and the database's certificate for localhost signed by it.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=district-ca \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -keyout "$dir/data/server.key" -out "$dir/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost\n' > "$dir/san"
openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" -CAcreateserial -days 2 \
    -extfile "$dir/san" -out "$dir/data/server.crt" 2>/dev/null
printf 'local all all trust\nhostssl all all 127.0.0.1/32 trust\nhostnossl all all 127.0.0.1/32 reject\n' \
    > "$dir/data/pg_hba.conf"
chown -R postgres "$dir/data" && chmod 600 "$dir/data/server.key"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg $bin/pg_ctl -D "$dir/data" -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c ssl=on -c max_connections=300" \
    -l "$dir/pg.log" -w start >/dev/null
as_pg $bin/psql -h "$dir" -p "$port" -U root -d postgres -qc 'CREATE DATABASE shoumen_tls'

export SHOUMEN_TEST_POSTGRES_URL="postgresql://root@localhost:$port/shoumen_tls?sslmode=verify-full&sslrootcert=$dir/ca.pem"
export SHOUMEN_TEST_POSTGRES_ADMIN_URL="postgresql://root@${dir//\//%2F}:$port/shoumen_tls"
started=$(date +%s)
status=0
cargo test --release --locked -p shoumen-server --no-fail-fast > "$dir/suite.log" 2>&1 || status=$?
grep -E '^test result|^error' "$dir/suite.log" || tail -n 30 "$dir/suite.log"
passed=$(awk '/^test result/ {n += $4} END {print n + 0}' "$dir/suite.log")
# Every connection the suite left open was encrypted.
plain=$(as_pg $bin/psql -h "$dir" -p "$port" -U root -d postgres -tAc \
    "SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.client_addr IS NOT NULL AND NOT s.ssl")
echo "suite over TLS (verify-full): $passed tests passed in $(( $(date +%s) - started )) s; cargo's status $status; plain TCP connections: $plain"
exit "$status"
