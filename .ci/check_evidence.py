#!/usr/bin/python3
"""An independent reader of Shoumen's evidence log, in a few lines of Python:

- a signed note (C2SP signed-note) checked against a verifier key
  (name+hash+base64 of 0x01 and the Ed25519 public key);
- its text read as a C2SP tlog-checkpoint (origin, size, root);
- a receipt's record hashed (SHA-256 of salt and record, then RFC 6962's
  leaf hash) and its inclusion proof run up to the checkpoint's root
  (RFC 9162, section 2.1.3.2).

- the checkpoint's cosignatures (C2SP tlog-cosignature, Ed25519
  cosignature/v1) against a witness policy: every required witness, and a
  quorum of the others.

Nothing here comes from the Rust code: it is written from the specs.
Usage: check_evidence.py RECEIPT.json [VERIFIER_KEY] [--witness VKEY]...
       [--required VKEY]... [--quorum N]
Without the key, the one the receipt carries is used, and its fingerprint
printed to compare with the poster at the gate; without a policy, the one
the receipt carries (compare the district witness's fingerprint with the
district's page).
"""

import base64
import hashlib
import json
import struct
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def open_note(note, vkey):
    """Checks the note's signature by `vkey`; returns (origin, size, root).

    C2SP signed-note: the text ends at the last blank line (a text may hold
    blank lines of its own); each signature line is an em dash, a space,
    the key name, a space and base64; the note ends with a newline.
    C2SP tlog-checkpoint: the origin, the size in decimal without leading
    zeros, the root in base64 (32 bytes), then extension lines, none empty.
    """
    name, key_hash, key_b64 = vkey.split("+", 2)
    key = base64.b64decode(key_b64, validate=True)
    assert key[0] == 1 and len(key) == 33, "an Ed25519 verifier key is 0x01 and 32 bytes"
    assert hashlib.sha256(name.encode() + b"\n" + key).digest()[:4] == bytes.fromhex(key_hash), "the key's hash"
    assert note.endswith("\n"), "a signed note ends with a newline"
    cut = note.rfind("\n\n")
    assert cut >= 0, "a signed note has a blank line before its signatures"
    text, sigs = note[: cut + 1], note[cut + 2 :]
    verified = False
    for line in sigs[:-1].split("\n"):
        assert line.startswith("\u2014 "), f"a signature line starts with an em dash: {line!r}"
        signer, sig_b64 = line[2:].split(" ")
        sig = base64.b64decode(sig_b64, validate=True)
        assert len(sig) >= 5, f"a signature has a key hash and a signature: {line!r}"
        if signer == name and sig[:4] == bytes.fromhex(key_hash):
            Ed25519PublicKey.from_public_bytes(key[1:]).verify(sig[4:], text.encode())
            verified = True
    assert verified, f"no signature by {name}"
    lines = text[:-1].split("\n")
    assert len(lines) >= 3, "a checkpoint has an origin, a size and a root"
    origin, size_text, root_b64 = lines[:3]
    assert all(lines[3:]), "a checkpoint's extension lines are not empty"
    assert size_text.isascii() and size_text.isdigit(), f"the size is a decimal number: {size_text!r}"
    assert size_text == "0" or not size_text.startswith("0"), f"the size has no leading zeros: {size_text!r}"
    root = base64.b64decode(root_b64, validate=True)
    assert len(root) == 32, "the root is a SHA-256 hash"
    assert origin == name, "the checkpoint names its log"
    return origin, int(size_text), root


def signature_lines(note):
    """The note's text and its signature lines as (name, raw bytes)."""
    cut = note.rfind("\n\n")
    text, sigs = note[: cut + 1], note[cut + 2 :]
    out = []
    for line in sigs[:-1].split("\n"):
        name, b64 = line[2:].split(" ")
        out.append((name, base64.b64decode(b64, validate=True)))
    return text, out


def cosigners(note, witnesses):
    """The witnesses (vkeys of type 0x04) whose cosignature/v1 on the note
    checks: {name: time}. C2SP tlog-cosignature: the key ID is
    SHA-256(name, newline, 0x04, key)[:4]; the signature is an 8-byte
    big-endian time and an Ed25519 signature over "cosignature/v1", the
    time line and the checkpoint's text."""
    text, sigs = signature_lines(note)
    found = {}
    for vkey in witnesses:
        name, key_hash, key_b64 = vkey.split("+", 2)
        key = base64.b64decode(key_b64, validate=True)
        assert key[0] == 4 and len(key) == 33, "a cosignature/v1 key is 0x04 and 32 bytes"
        assert hashlib.sha256(name.encode() + b"\n" + key).digest()[:4] == bytes.fromhex(key_hash), "the key's hash"
        for signer, sig in sigs:
            if signer != name or sig[:4] != bytes.fromhex(key_hash):
                continue
            assert len(sig) == 4 + 8 + 64, "a cosignature is a key hash, a time and a signature"
            (t,) = struct.unpack(">Q", sig[4:12])
            message = b"cosignature/v1\ntime %d\n" % t + text.encode()
            Ed25519PublicKey.from_public_bytes(key[1:]).verify(sig[12:], message)
            found[name] = t
    return found


def check_policy(note, witnesses, quorum, required):
    """Every required witness cosigned, and `quorum` of the others."""
    found = cosigners(note, set(witnesses) | set(required))
    required_names = {r.split("+", 1)[0] for r in required}
    for name in required_names:
        assert name in found, f"not cosigned by {name}, whom the policy requires"
    others = [n for n in found if n not in required_names]
    assert len(others) >= quorum, f"cosigned by {len(others)} of the other witnesses, {quorum} needed"
    return found


def node(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def included(leaf, index, size, proof, root):
    """RFC 9162, 2.1.3.2: the inclusion proof of `leaf` at `index`."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def fingerprint(vkey):
    """The key's fingerprint as the poster prints it: SHA-256 of the key's
    text, the first 10 bytes, in five groups of four hex digits."""
    h = hashlib.sha256(vkey.strip().encode()).hexdigest()[:20]
    return " ".join(h[i : i + 4] for i in range(0, 20, 4))


def check_receipt(receipt, vkey=None):
    """Returns (origin, size, index) of a receipt that checks out, with
    `vkey` or else the key the receipt carries (then compare its
    fingerprint with the poster's)."""
    vkey = vkey or receipt["log_key"]
    origin, size, root = open_note(receipt["checkpoint"], vkey)
    commitment = hashlib.sha256(bytes.fromhex(receipt["salt"]) + receipt["record"].encode()).digest()
    leaf = hashlib.sha256(b"\x00" + commitment).digest()
    proof = [base64.b64decode(h) for h in receipt["proof"]]
    assert included(leaf, receipt["index"], size, proof, root), "the inclusion proof does not reach the root"
    return origin, size, receipt["index"]


def main(argv):
    import argparse

    p = argparse.ArgumentParser(description="Check a Shoumen evidence receipt from the specs alone.")
    p.add_argument("receipt")
    p.add_argument("log_key", nargs="?")
    p.add_argument("--witness", action="append", default=None, help="a witness of the policy (vkey)")
    p.add_argument("--required", action="append", default=None, help="a witness that must cosign (vkey)")
    p.add_argument("--quorum", type=int, default=None, help="how many of the other witnesses must cosign")
    a = p.parse_args(argv)
    with open(a.receipt, encoding="utf-8") as f:
        r = json.load(f)
    key = a.log_key or r["log_key"]
    print("receipt %s: record #%d of %s (%d records) checks out" % (r["code"], r["index"], *check_receipt(r, key)[:2]))
    print("log key fingerprint: %s (compare it with the poster at the gate)" % fingerprint(key))
    required = a.required if a.required is not None else r.get("required", [])
    witnesses = a.witness if a.witness is not None else r.get("witnesses", [])
    quorum = a.quorum if a.quorum is not None else r.get("quorum", 0)
    if required or quorum:
        found = check_policy(r["checkpoint"], witnesses, quorum, required)
        for name, t in sorted(found.items()):
            print("cosigned by %s at %d" % (name, t))
        for w in required:
            print("required witness %s: fingerprint %s" % (w.split("+", 1)[0], fingerprint(w)))
    else:
        print("no witness policy: the checkpoint rests on the log's own signature")


if __name__ == "__main__":
    main(sys.argv[1:])
