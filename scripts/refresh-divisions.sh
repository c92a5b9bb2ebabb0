#!/usr/bin/env bash
# Refreshes server/data/divisions/ from the newest release of the npm
# package china-division (GB/T 2260 codes, National Bureau of Statistics).
#   bash scripts/refresh-divisions.sh [VERSION]
set -euo pipefail
cd "$(dirname "$0")/.."
version=${1:-latest}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "china-division@$version" >/dev/null && tar xzf china-division-*.tgz)
cp "$tmp/package/dist/pca-code.json" server/data/divisions/pca-code.json
cp "$tmp/package/LICENSE" server/data/divisions/LICENSE
got=$(python3 -c "import json,sys; print(json.load(open('$tmp/package/package.json'))['version'])")
sed -i "s/\`china-division\`](https:\/\/www.npmjs.com\/package\/china-division) [0-9.]*/\`china-division\`](https:\/\/www.npmjs.com\/package\/china-division) $got/" server/data/divisions/README.md
echo "server/data/divisions/ now holds china-division $got; check the source year in its README and run: cargo test -p shoumen-server divisions"
