#!/usr/bin/env python3
"""A tlog witness written from c2sp.org/tlog-witness, tlog-cosignature
(Ed25519 cosignature/v1), tlog-checkpoint and signed-note alone, sharing
no code with shoumen-server: the tests point a log at it to show that any
standard witness will do.

    test_witness.py --log-key VKEY [--log-key VKEY ...] [--port 0]

Prints "vkey <witness vkey>" and "listening <port>" on stdout, then serves
POST /add-checkpoint until killed. State is in memory. Needs python3 and
python3-cryptography (Debian).
"""

import argparse
import base64
import hashlib
import http.server
import struct
import sys
import threading
import time

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.exceptions import InvalidSignature

NAME = "witness.test/python"


def key_id(name, key_bytes):
    return hashlib.sha256(name.encode() + b"\n" + key_bytes).digest()[:4]


class Log:
    def __init__(self, vkey):
        name, kid, b64 = vkey.split("+", 2)
        raw = base64.b64decode(b64)
        if raw[0] != 0x01 or key_id(name, raw) != bytes.fromhex(kid):
            raise ValueError("not an Ed25519 signed-note key: " + vkey)
        self.origin, self.kid, self.key = name, bytes.fromhex(kid), Ed25519PublicKey.from_public_bytes(raw[1:])
        self.size, self.root = 0, None


def leaf_node(a, b):
    return hashlib.sha256(b"\x01" + a + b).digest()


def verify_consistency(old, new, old_root, new_root, proof):
    """RFC 9162, section 2.1.4.2."""
    if old == new:
        return not proof and old_root == new_root
    if not proof:
        return False
    if old & (old - 1) == 0:  # old is a power of two: its root starts the path
        proof = [old_root] + proof
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = leaf_node(c, fr)
            sr = leaf_node(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = leaf_node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def decimal(s):
    if not s or not s.isdigit() or (s != "0" and s.startswith("0")):
        raise ValueError("not a decimal: " + s)
    return int(s)


class Witness:
    def __init__(self, logs):
        self.logs = {l.origin: l for l in logs}
        self.key = Ed25519PrivateKey.generate()
        pub = self.key.public_key().public_bytes_raw()
        self.kid = key_id(NAME, b"\x04" + pub)
        self.vkey = "%s+%s+%s" % (NAME, self.kid.hex(), base64.b64encode(b"\x04" + pub).decode())
        self.lock = threading.Lock()

    def add_checkpoint(self, body):
        """Returns (status, content type, body)."""
        try:
            text = body.decode("utf-8")
            head, note = text.split("\n\n", 1)
            lines = head.split("\n")
            if not lines[0].startswith("old "):
                raise ValueError("no old line")
            old = decimal(lines[0][4:])
            proof = [base64.b64decode(l, validate=True) for l in lines[1:]]
            if len(proof) > 63 or any(len(p) != 32 for p in proof):
                raise ValueError("bad proof")
            # The note: text, then the signature lines after its last blank line.
            body_text, sigs = note.rsplit("\n\n", 1)
            body_text += "\n"
            if not sigs.endswith("\n"):
                raise ValueError("no final newline")
            cp = body_text.split("\n")
            origin, size, root = cp[0], decimal(cp[1]), base64.b64decode(cp[2], validate=True)
            if len(root) != 32:
                raise ValueError("bad root")
        except (ValueError, IndexError, UnicodeDecodeError) as e:
            return 400, "text/plain", str(e)
        log = self.logs.get(origin)
        if log is None:
            return 404, "text/plain", "unknown log"
        signed = False
        for line in sigs[:-1].split("\n"):
            if not line.startswith("\u2014 "):
                return 400, "text/plain", "not a signature line"
            name, b64 = line[2:].split(" ", 1)
            raw = base64.b64decode(b64)
            if name != log.origin or raw[:4] != log.kid:
                continue  # unknown keys are ignored
            try:
                log.key.verify(raw[4:], body_text.encode())
                signed = True
            except InvalidSignature:
                return 403, "text/plain", "bad signature"
        if not signed:
            return 403, "text/plain", "not signed by the log's key"
        if old > size:
            return 400, "text/plain", "old size past the checkpoint"
        with self.lock:
            if old != log.size:
                return 409, "text/x.tlog.size", "%d\n" % log.size
            if size == 0 and root != hashlib.sha256(b"").digest():
                return 422, "text/plain", "empty tree with another hash"
            if old == 0:
                if proof:
                    return 422, "text/plain", "proof from the empty tree"
            elif not verify_consistency(old, size, log.root, root, proof):
                return 422, "text/plain", "not consistent"
            log.size, log.root = size, root
            now = int(time.time())
            msg = b"cosignature/v1\ntime %d\n" % now + body_text.encode()
            sig = self.kid + struct.pack(">Q", now) + self.key.sign(msg)
            return 200, "text/plain", "\u2014 %s %s\n" % (NAME, base64.b64encode(sig).decode())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--log-key", action="append", required=True)
    p.add_argument("--port", type=int, default=0)
    a = p.parse_args()
    witness = Witness([Log(k) for k in a.log_key])

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            if self.path.rstrip("/").split("/")[-1] != "add-checkpoint":
                self.send_error(404)
                return
            n = int(self.headers.get("Content-Length", "0"))
            if n > 16384:
                self.send_error(413)
                return
            status, kind, out = witness.add_checkpoint(self.rfile.read(n))
            data = out.encode()
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print("vkey", witness.vkey, flush=True)
    print("listening", server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
