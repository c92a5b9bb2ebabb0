#!/usr/bin/env bash
# Sets a built kiosk image's configuration without mounting it (debugfs on
# the root partition): what a district does once to the image it writes to
# all its cards. /etc/shoumen/kiosk.toml in the image:
#
#   --server URL      the committee server the kiosks enroll with (server_url)
#   --server-ca PEM   the district's CA, if the server's certificate is its
#                     own (copied to /etc/shoumen/server-ca.pem, server_ca)
#   --gate NAME       the gate name suggested with the code (gate_name)
#   --simulated       simulated devices (a test machine without the Pi's
#                     GPIO, I2C and camera, such as qemu's "virt")
#   --release-key VK  a release key whose releases the kiosks install
#                     (repeatable; [update] release_keys; docs/updates.md)
#
# Usage: scripts/image-configure.sh IMAGE [--server URL] [--server-ca PEM]
#        [--gate NAME] [--simulated] [--release-key VKEY]...
# Needs: e2fsprogs (debugfs), fdisk (sfdisk), python3.
set -euo pipefail
img=${1:?usage: $0 IMAGE [--server URL] [--server-ca PEM] [--gate NAME] [--simulated]}
shift
server="" ca="" gate="" simulated="" keys=""
while [ $# -gt 0 ]; do
    case "$1" in
        --server) server=$2; shift 2 ;;
        --server-ca) ca=$2; shift 2 ;;
        --gate) gate=$2; shift 2 ;;
        --simulated) simulated=1; shift ;;
        --release-key) keys="$keys${keys:+ }$2"; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
case "$server" in ""|https://*) ;; *) echo "--server must be an https:// address (a kiosk refuses plain HTTP)" >&2; exit 2 ;; esac

# The root partition (the second) as a file of its own for debugfs.
start=$(sfdisk --json "$img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][1]["start"])')
size=$(sfdisk --json "$img" | python3 -c 'import json,sys; print(json.load(sys.stdin)["partitiontable"]["partitions"][1]["size"])')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dd if="$img" of="$work/root.img" bs=512 skip="$start" count="$size" conv=sparse status=none
label=$(/sbin/e2label "$work/root.img" 2>/dev/null || true)
[ "$label" = shoumen-root ] || { echo "$img: partition 2 is not the kiosk's root (label \"$label\")" >&2; exit 1; }

debugfs -R "dump /etc/shoumen/kiosk.toml $work/kiosk.toml" "$work/root.img" 2>/dev/null
# Keep its owner (root:shoumen, 0640: it may hold the guard PIN's hash).
gid=$(debugfs -R 'stat /etc/shoumen/kiosk.toml' "$work/root.img" 2>/dev/null | sed -n 's/.*Group: *\([0-9]*\).*/\1/p' | head -1)
[ -s "$work/kiosk.toml" ] || { echo "$img has no /etc/shoumen/kiosk.toml" >&2; exit 1; }
python3 - "$work/kiosk.toml" "$server" "$gate" "$simulated" "$ca" "$keys" <<'EOF'
import json, re, sys
path, server, gate, simulated, ca, keys = sys.argv[1:]
text = open(path, encoding="utf-8").read()
def put(key, value, section="kiosk"):
    global text
    line = f"{key} = {value}"
    text, n = re.subn(rf"(?m)^#? ?{key} = .*$", line, text, count=1)
    if n == 0:  # not in the file: first in its section
        if f"[{section}]\n" not in text:
            text += f"\n[{section}]\n"
        text = text.replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1)
if server: put("server_url", json.dumps(server))
if gate: put("gate_name", json.dumps(gate, ensure_ascii=False))
if simulated: put("simulated", "true")
if ca: put("server_ca", json.dumps("/etc/shoumen/server-ca.pem"))
if keys: put("release_keys", json.dumps(keys.split()), "update")
open(path, "w", encoding="utf-8").write(text)
EOF
{
    echo "cd /etc/shoumen"
    echo "rm kiosk.toml"
    echo "write $work/kiosk.toml kiosk.toml"
    echo "sif kiosk.toml mode 0100640"
    echo "sif kiosk.toml uid 0"
    echo "sif kiosk.toml gid $gid"
    if [ -n "$ca" ]; then
        echo "rm server-ca.pem"
        echo "write $ca server-ca.pem"
        echo "sif server-ca.pem mode 0100644"
        echo "sif server-ca.pem uid 0"
        echo "sif server-ca.pem gid 0"
    fi
} > "$work/commands"
debugfs -w -f "$work/commands" "$work/root.img" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
e2fsck -fn "$work/root.img" >/dev/null || { echo "the root file system does not check out after the change" >&2; exit 1; }
dd if="$work/root.img" of="$img" bs=512 seek="$start" conv=notrunc,sparse status=none
echo "$img: $(debugfs -R 'cat /etc/shoumen/kiosk.toml' "$work/root.img" 2>/dev/null | grep -E '^(server_url|server_ca|gate_name|simulated|release_keys) =' | paste -sd' ' -)"
