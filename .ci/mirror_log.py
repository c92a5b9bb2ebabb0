#!/usr/bin/python3
"""Copies a Shoumen evidence log from its tiles alone and checks it
(C2SP tlog-tiles), sharing no code with the server:

- the checkpoint, checked against the log's key by check_evidence.py;
- every level-0 hash tile (the leaf hashes), full ones and the last
  partial one, each exactly as long as its width says;
- the tree's root recomputed from the leaves (RFC 9162's MTH), which must
  be the checkpoint's;
- every level-1 tile, each hash of which must be the root of its 256
  leaves: a server cannot serve tiles that disagree with one another;
- every entry bundle (tile/entries/N), each entry a big-endian u16 length
  and the entry, whose RFC 9162 leaf hash must be the level-0 tile's: the
  entries are the records' salted commitments, which a returnee's receipt
  opens.

Usage: mirror_log.py BASE_URL COMMUNITY VERIFIER_KEY [DIR]
With DIR, the tiles are written there under their paths, as a mirror.
"""

import hashlib
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_evidence  # noqa: E402

WIDTH = 256  # C2SP tlog-tiles: tiles of height 8


def tile_path(level, n, width):
    """A tile's path: N in groups of three digits, all but the last x-prefixed;
    level "entries" for an entry bundle."""
    s = "%03d" % (n % 1000)
    n //= 1000
    while n > 0:
        s = "x%03d/%s" % (n % 1000, s)
        n //= 1000
    return "tile/%s/%s%s" % (level, s, "" if width == WIDTH else ".p/%d" % width)


def entries_of(bundle, width, path):
    """An entry bundle's entries: each a big-endian u16 length, then the entry."""
    entries, at = [], 0
    while at < len(bundle):
        assert at + 2 <= len(bundle), "%s: cut inside a length" % path
        length = int.from_bytes(bundle[at : at + 2], "big")
        assert at + 2 + length <= len(bundle), "%s: cut inside an entry" % path
        entries.append(bundle[at + 2 : at + 2 + length])
        at += 2 + length
    assert len(entries) == width, "%s: %d entries, not %d" % (path, len(entries), width)
    return entries


def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return r.read()


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(hashes):
    """RFC 9162's MTH over leaf hashes: the largest power of two to the left."""
    if len(hashes) == 1:
        return hashes[0]
    k = 1
    while k * 2 < len(hashes):
        k *= 2
    return node(mth(hashes[:k]), mth(hashes[k:]))


def mirror(base, community, vkey, into=None):
    """Returns (size, tiles fetched); raises AssertionError if anything disagrees."""
    prefix = "%s/log/%s/" % (base.rstrip("/"), community)
    note = get(prefix + "checkpoint").decode()
    _, size, root = check_evidence.open_note(note, vkey)
    fetched = 0

    def fetch(level, n, width):
        nonlocal fetched
        path = tile_path(level, n, width)
        data = get(prefix + path)
        fetched += 1
        if into:
            os.makedirs(os.path.dirname(os.path.join(into, path)), exist_ok=True)
            with open(os.path.join(into, path), "wb") as f:
                f.write(data)
        return path, data

    def tile(level, n, width):
        path, data = fetch(level, n, width)
        assert len(data) == 32 * width, "%s: %d bytes, not %d" % (path, len(data), 32 * width)
        return [data[i : i + 32] for i in range(0, len(data), 32)]

    leaves = []
    for n in range((size + WIDTH - 1) // WIDTH):
        leaves += tile(0, n, min(WIDTH, size - n * WIDTH))
    assert len(leaves) == size
    for n in range((size + WIDTH - 1) // WIDTH):
        width = min(WIDTH, size - n * WIDTH)
        path, bundle = fetch("entries", n, width)
        for k, entry in enumerate(entries_of(bundle, width, path)):
            leaf = hashlib.sha256(b"\x00" + entry).digest()
            assert leaf == leaves[n * WIDTH + k], "%s: entry %d is not its leaf's" % (path, k)
    if size == 0:
        assert root == hashlib.sha256(b"").digest(), "the empty tree's root"
    else:
        assert mth(leaves) == root, "the leaves' root is not the checkpoint's"
    full = size // WIDTH  # level-0 tiles that are full: one level-1 hash each
    for n in range((full + WIDTH - 1) // WIDTH):
        width = min(WIDTH, full - n * WIDTH)
        for k, h in enumerate(tile(1, n, width)):
            first = ((n * WIDTH) + k) * WIDTH
            assert h == mth(leaves[first : first + WIDTH]), "level-1 tile %d, hash %d" % (n, k)
    with open(os.path.join(into, "checkpoint"), "w", encoding="utf-8") if into else open(os.devnull, "w") as f:
        f.write(note)
    return size, fetched


if __name__ == "__main__":
    started = time.monotonic()
    size, fetched = mirror(*sys.argv[1:5])
    print("mirrored %d records from %d tiles in %.2f s; the root is the checkpoint's" % (size, fetched, time.monotonic() - started))
