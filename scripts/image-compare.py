#!/usr/bin/env python3
"""Compares two image builds (the OUT directories of scripts/image-build.sh):
their package lists, their root file listings (path, mode, owner, size)
and the files' SHA-256, and says what differs, grouped by directory.

Reproducibility check: build the same commit twice, then
  scripts/image-compare.py target/image-a target/image-b
Exit status 0 when package lists and file listings are the same (contents
may still differ: they are listed).
"""

import collections
import os
import sys


def table(path, key_fields):
    rows = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            if key_fields == "sums":
                digest, name = line.split(None, 1)
                rows[name.strip()] = digest
            elif key_fields == "files":
                # "PATH MODE UID:GID SIZE": the path may hold spaces.
                name, rest = line.rsplit(" ", 3)[0], line.rsplit(" ", 3)[1:]
                rows[name] = " ".join(rest)
            else:
                name, rest = line.split("\t", 1)
                rows[name] = rest
    return rows


def where(path):
    parts = path.lstrip("./").split("/")
    return "/" + "/".join(parts[:3]) if len(parts) > 3 else "/" + "/".join(parts[:-1])


def compare(a_dir, b_dir, name, kind):
    a = table(os.path.join(a_dir, name), kind)
    b = table(os.path.join(b_dir, name), kind)
    only_a = sorted(set(a) - set(b))
    only_b = sorted(set(b) - set(a))
    changed = sorted(k for k in set(a) & set(b) if a[k] != b[k])
    print(f"{name}: {len(a)} and {len(b)} entries; {len(only_a)} only in the first, "
          f"{len(only_b)} only in the second, {len(changed)} differ")
    for label, keys in (("only in the first", only_a), ("only in the second", only_b), ("differ", changed)):
        groups = collections.Counter(where(k) for k in keys)
        for place, n in groups.most_common(12):
            example = next(k for k in keys if where(k) == place)
            print(f"  {label}: {n:5d} under {place}  (e.g. {example})")
    return not (only_a or only_b or changed)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = sys.argv[1], sys.argv[2]
    same_packages = compare(a, b, "packages.txt", "packages")
    same_files = compare(a, b, "files.txt", "files")
    compare(a, b, "sums.txt", "sums")
    sys.exit(0 if same_packages and same_files else 1)


if __name__ == "__main__":
    main()
