#!/usr/bin/env python3
"""SIGKILLs of the real kiosk while it scans and syncs, then an account.

A server on 127.0.0.1, a kiosk enrolled with it on simulated hardware, the
demo script holding the server's passes up fast. Each round starts
`shoumen run --headless`, kills it with SIGKILL after a random 0.3 to 4 s
(mid-scan, mid-commit, mid-push), and notes every entry the kiosk said it
committed. At the end the kiosk syncs once more and:

- every entry the kiosk reported committed is in its store and on the server;
- the server holds each (kiosk, seq) once and as many as the kiosk made;
- `shoumen log verify` and `shoumen-server verify` pass.

Usage: python3 scripts/kiosk-kills.py [KILLS]      (default 1000; needs the
release binaries: cargo build --release --workspace)
"""

import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

from rig import KIOSK, SERVER, run, set_up_kiosk, start_server

COMMITTED = re.compile(r"entry committed seq=(\d+)")


def main():
    kills = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rng = random.Random(1)
    tmp = tempfile.mkdtemp(prefix="shoumen-kills-")
    db, server, url = start_server(tmp)
    try:
        kdir, config = set_up_kiosk(tmp, db, url, "kills")
        claimed = set()
        started = time.time()
        env = {**os.environ, "RUST_LOG": "shoumen=debug"}
        for n in range(1, kills + 1):
            kiosk = subprocess.Popen([KIOSK, "--config", config, "run", "--headless", "--demo-pace-ms", "300"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            time.sleep(rng.uniform(0.3, 4.0))
            kiosk.send_signal(signal.SIGKILL)
            _, err = kiosk.communicate()
            claimed.update(int(s) for s in COMMITTED.findall(err.decode("utf-8", "replace")))
            if n % 100 == 0:
                print(f"{n} kills, {len(claimed)} entries reported committed, {time.time() - started:.0f} s", flush=True)
        # One clean round pushes what is left.
        run(KIOSK, "--config", config, "sync", "--now")
        kiosk_db = os.path.join(kdir, "kiosk.db")
        k = sqlite3.connect(kiosk_db)
        head = int(k.execute("SELECT value FROM meta WHERE key = 'head_seq'").fetchone()[0])
        device = k.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()[0]
        stored = {row[0] for row in k.execute("SELECT seq FROM entries")}
        s = sqlite3.connect(db)
        on_server = [row[0] for row in s.execute("SELECT seq FROM entries WHERE device = ?", (device,))]
        lost_kiosk = sorted(claimed - stored)
        lost_server = sorted(claimed - set(on_server))
        duplicated = len(on_server) - len(set(on_server))
        verify_kiosk = run(KIOSK, "log", "verify", "--db", kiosk_db).strip()
        verify_server = run(SERVER, "--db", db, "verify").strip()
        print(f"\n{kills} SIGKILLs in {time.time() - started:.0f} s")
        print(f"entries: kiosk head {head}, reported committed {len(claimed)}, on the server {len(on_server)}")
        print(f"lost on the kiosk: {len(lost_kiosk)} {lost_kiosk[:10]}")
        print(f"lost on the server: {len(lost_server)} {lost_server[:10]}")
        print(f"duplicated on the server: {duplicated}; server holds all of 1..{head}: {set(on_server) == set(range(1, head + 1))}")
        print(f"kiosk: {verify_kiosk}")
        print(f"server: {verify_server}")
        ok = not lost_kiosk and not lost_server and duplicated == 0 and set(on_server) == set(range(1, head + 1))
        print("PASS" if ok else "FAIL")
        sys.exit(0 if ok else 1)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
