#!/usr/bin/env python3
"""Extracts every @tr("…") string from ui/**/*.slint and merges them into
lang/<locale>/LC_MESSAGES/shoumen.po, keeping existing translations.

Slint's default translation context is the name of the surrounding
component, so each entry gets that as msgctxt. Run after changing UI texts:

    python3 scripts/update-translations.py
"""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
LOCALES = ["zh_CN", "en"]
TR = re.compile(r'@tr\("((?:[^"\\]|\\.)*)"')
# Components and globals both give their name as the context.
COMPONENT = re.compile(r'\b(?:component|global)\s+([A-Za-z_][\w-]*)')


def extract():
    entries = {}
    for path in sorted((ROOT / "ui").rglob("*.slint")):
        text = path.read_text(encoding="utf-8")
        comps = [(m.start(), m.group(1)) for m in COMPONENT.finditer(text)]
        for m in TR.finditer(text):
            ctx = ""
            for pos, name in comps:
                if pos < m.start():
                    ctx = name
            key = (ctx, m.group(1))
            entries.setdefault(key, []).append(f"{path.relative_to(ROOT)}:{text[:m.start()].count(chr(10)) + 1}")
    return entries


def unquote(s):
    return s.encode("utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")


def read_po(path):
    found = {}
    if not path.exists():
        return found
    ctx = msgid = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgctxt "):
            ctx = line[9:-1]
        elif line.startswith("msgid "):
            msgid = line[7:-1]
        elif line.startswith("msgstr ") and msgid is not None:
            found[(ctx or "", msgid)] = line[8:-1]
            ctx = msgid = None
    return found


def write_po(path, locale, entries, old):
    lines = [
        "# Shoumen kiosk UI translations. Update with scripts/update-translations.py.",
        'msgid ""',
        'msgstr ""',
        '"Content-Type: text/plain; charset=UTF-8\\n"',
        f'"Language: {locale}\\n"',
        '"Plural-Forms: nplurals=1; plural=0;\\n"',
        "",
    ]
    missing = 0
    for (ctx, msgid), places in sorted(entries.items()):
        # A string that moved to another component keeps its translation.
        translated = old.get((ctx, msgid)) or next((t for (c, m), t in old.items() if m == msgid and t), "")
        if locale != "en" and not translated:
            missing += 1
        lines += [f"#: {' '.join(places)}", f'msgctxt "{ctx}"', f'msgid "{msgid}"', f'msgstr "{translated}"', ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return missing


if __name__ == "__main__":
    entries = extract()
    for locale in LOCALES:
        po = ROOT / "lang" / locale / "LC_MESSAGES" / "shoumen.po"
        missing = write_po(po, locale, entries, read_po(po))
        print(f"{po.relative_to(ROOT)}: {len(entries)} strings, {missing} untranslated")
