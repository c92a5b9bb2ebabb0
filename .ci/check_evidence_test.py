#!/usr/bin/python3
"""The independent reader is as strict as the specs (issue 29): notes signed
here with a key of this test's own, each broken one way, each refused.
Run by server/tests/evidence.rs; exits non-zero on the first failure."""

import base64
import hashlib
import os
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_evidence  # noqa: E402

NAME = "example.org/log"
KEY = Ed25519PrivateKey.generate()
PUBLIC = b"\x01" + KEY.public_key().public_bytes_raw()
KEY_HASH = hashlib.sha256(NAME.encode() + b"\n" + PUBLIC).digest()[:4]
VKEY = "%s+%s+%s" % (NAME, KEY_HASH.hex(), base64.b64encode(PUBLIC).decode())
ROOT = base64.b64encode(hashlib.sha256(b"root").digest()).decode()


def signed(text):
    """`text` as a signed note, signed by the test's key."""
    sig = base64.b64encode(KEY_HASH + KEY.sign(text.encode())).decode()
    return text + "\n\u2014 %s %s\n" % (NAME, sig)


def refused(note, why):
    try:
        check_evidence.open_note(note, VKEY)
    except (AssertionError, ValueError, InvalidSignature) as e:
        print("refused, as it must be: %s (%s)" % (why, str(e) or type(e).__name__))
        return
    sys.exit("accepted, but must not be: " + why)


good = signed("%s\n5\n%s\n" % (NAME, ROOT))
assert check_evidence.open_note(good, VKEY)[1] == 5
assert check_evidence.open_note(signed("%s\n0\n%s\nextension\n" % (NAME, ROOT)), VKEY)[1] == 0
refused(signed("%s\n05\n%s\n" % (NAME, ROOT)), "a size with a leading zero")
refused(signed("%s\n+5\n%s\n" % (NAME, ROOT)), "a size with a sign")
refused(signed("%s\n5\n%s\n" % (NAME, ROOT[:-4])), "a root that is not 32 bytes")
refused(signed("%s\n5\n" % NAME), "a checkpoint without a root")
# Signed text with a blank line in it: the note's text runs to the last
# blank line, so this is a checkpoint with an empty extension line.
refused(signed("%s\n5\n%s\n\nsmuggled\n" % (NAME, ROOT)), "an empty extension line")
refused(good.replace("\n5\n", "\n6\n"), "a size changed after signing")
refused(good[:-1], "a note without its final newline")
refused(signed("other.org/log\n5\n%s\n" % ROOT), "a checkpoint of another log")
print("the independent reader refused every broken note")
