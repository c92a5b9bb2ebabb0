"""The test rig the reliability scripts share: a server on 127.0.0.1 and a
kiosk on simulated hardware enrolled with it, its demo script holding up
passes the server issued.

Binaries come from target/release, or from $SHOUMEN_BIN_DIR (a copy, so a
long run is not disturbed by a rebuild).
"""

import json
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("SHOUMEN_BIN_DIR", os.path.join(ROOT, "target", "release"))
KIOSK = os.path.join(BIN, "shoumen")
SERVER = os.path.join(BIN, "shoumen-server")


def run(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def start_server(tmp):
    """Creates a community and serves it; returns (db, process, url)."""
    db = os.path.join(tmp, "server.db")
    run(SERVER, "--db", db, "init", "--community", "lotus-gdn", "--password-env", "PW", env={**os.environ, "PW": "rig-pw-1"})
    server = subprocess.Popen([SERVER, "--db", db, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = server.stdout.readline().strip().removeprefix("listening on ")
    return db, server, url


def set_up_kiosk(tmp, db, url, gate):
    """Enrolls a demo-mode kiosk with the server at `url` and gives its demo
    script the server's passes; returns (data dir, config file)."""
    kdir = os.path.join(tmp, "kiosk")
    os.makedirs(kdir)
    config = os.path.join(kdir, "kiosk.toml")
    with open(config, "w") as f:
        f.write(f'[kiosk]\ndata_dir = "."\nsimulated = true\ndemo = true\ngate_name = "{gate}"\n')
    token = run(SERVER, "--db", db, "enroll-token", "--gate", gate).strip()
    run(KIOSK, "--config", config, "enroll", url, token)
    passes = []
    for name, role, unit in [("resident", "resident", "3-502"), ("visitor", "visitor", "3-502"), ("staff", "staff", ""), ("delivery", "delivery", "")]:
        text = run(SERVER, "--db", db, "pass", "issue", "--role", role, "--unit", unit, "--days", "30").strip()
        passes.append({"name": name, "text": text})
    with open(os.path.join(kdir, "passes.json"), "w") as f:
        json.dump(passes, f)
    return kdir, config
