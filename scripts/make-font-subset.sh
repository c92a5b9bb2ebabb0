#!/usr/bin/env bash
# Makes ui/fonts/shoumen-sans.ttf: WenQuanYi Micro Hei cut down to the
# characters the UI can show (every .slint and .po text, ASCII, and common
# characters of gate names and unit labels). Run after changing UI texts.
#
# Needs: apt-get install fonts-wqy-microhei; pip install fonttools
set -euo pipefail
cd "$(dirname "$0")/.."
src=/usr/share/fonts/truetype/wqy/wqy-microhei.ttc
[ -f "$src" ] || { echo "missing $src: apt-get install fonts-wqy-microhei" >&2; exit 1; }
command -v pyftsubset >/dev/null || { echo "missing pyftsubset: pip install fonttools" >&2; exit 1; }

chars=$(mktemp)
# Every character of the UI and its translations.
cat ui/*.slint ui/*/*.slint lang/*/LC_MESSAGES/*.po > "$chars"
# Printable ASCII, and symbols the Rust side formats (°C, dashes, dots).
python3 -c 'print("".join(chr(c) for c in range(32, 127)) + "°—–·●…×→←↑↓✓✕！，。：；（）、“”《》")' >> "$chars"
# Common characters of gate names and unit labels ("东门", "3栋2单元502室").
cat >> "$chars" <<'CHARS'
东南西北中前后左右正侧大小新老门口岗亭入出通道号楼栋幢座单元室层区期院苑园里村社街路巷弄组
一二三四五六七八九十百甲乙丙丁花园小区公寓大厦广场商铺车库地下
CHARS
mkdir -p ui/fonts
pyftsubset "$src" --font-number=0 --text-file="$chars" --output-file=ui/fonts/shoumen-sans.ttf \
    --layout-features='*' --name-IDs='*' --no-hinting --desubroutinize
cp /usr/share/doc/fonts-wqy-microhei/copyright ui/fonts/LICENSE-wqy-microhei.txt
rm -f "$chars"
ls -l ui/fonts/shoumen-sans.ttf
