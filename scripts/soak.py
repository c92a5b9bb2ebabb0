#!/usr/bin/env python3
"""A soak: the headless kiosk with its demo script, the server, and a fault
proxy between them, for an hour (or DURATION seconds). Every minute it
samples both processes' memory (RSS), open file descriptors and threads,
and the kiosk's queue of entries not yet acknowledged. It prints the series,
checks that nothing grows without bound, and plots them.

Usage: python3 scripts/soak.py [DURATION_S] [--plot docs/soak.png]
(needs the release binaries, and matplotlib for the plot: pip install matplotlib)
"""

import json
import os
import random
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

from rig import KIOSK, SERVER, run, set_up_kiosk, start_server


class FaultProxy:
    """Forwards TCP to the server, misbehaving on purpose: drops, delays,
    stalls past the kiosk's timeout, and cuts answers short."""

    def __init__(self, target):
        self.target = target
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.rng = random.Random(7)
        self.counts = {}
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            client, _ = self.sock.accept()
            fault = self.rng.choices(["pass", "drop", "delay", "stall", "cut"], [70, 10, 10, 5, 5])[0]
            self.counts[fault] = self.counts.get(fault, 0) + 1
            threading.Thread(target=self.handle, args=(client, fault), daemon=True).start()

    def handle(self, client, fault):
        try:
            if fault == "drop":
                return
            if fault == "delay":
                time.sleep(0.3)
            if fault == "stall":
                time.sleep(25)
            upstream = socket.create_connection(self.target, timeout=5)
            # Idle connections close after 5 s, so each sync round (every
            # 30 s) meets the proxy afresh and draws its own fault.
            client.settimeout(5)
            upstream.settimeout(5)
            def pump(a, b, limit=None):
                sent = 0
                try:
                    while True:
                        data = a.recv(65536)
                        if not data:
                            break
                        if limit is not None and sent + len(data) > limit:
                            b.sendall(data[: max(0, limit - sent)])
                            break
                        b.sendall(data)
                        sent += len(data)
                except OSError:
                    pass
                finally:
                    try:
                        b.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
            up = threading.Thread(target=pump, args=(client, upstream), daemon=True)
            up.start()
            pump(upstream, client, 40 if fault == "cut" else None)
            up.join(timeout=5)
        finally:
            client.close()


def proc_stats(pid):
    stats = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key == "VmRSS":
                stats["rss_mb"] = int(value.split()[0]) / 1024
            if key == "Threads":
                stats["threads"] = int(value)
    stats["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return stats


def main():
    duration = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 3600
    plot = sys.argv[sys.argv.index("--plot") + 1] if "--plot" in sys.argv else None
    tmp = tempfile.mkdtemp(prefix="shoumen-soak-")
    db, server, url = start_server(tmp)
    host, port = url.removeprefix("http://").split(":")
    proxy = FaultProxy((host, int(port)))
    kdir, config = set_up_kiosk(tmp, db, proxy.url, "soak")
    kiosk = subprocess.Popen([KIOSK, "--config", config, "run", "--headless"], stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(tmp, "kiosk.log"), "w"), env={**os.environ, "RUST_LOG": "warn"})
    rows = []
    started = time.time()
    try:
        for minute in range(duration // 60 + 1):
            time.sleep(max(0, 60 * minute - (time.time() - started)))
            k = sqlite3.connect(os.path.join(kdir, "kiosk.db"))
            meta = dict(k.execute("SELECT key, value FROM meta WHERE key IN ('head_seq', 'acked_seq')").fetchall())
            k.close()
            head, acked = int(meta.get("head_seq", 0)), int(meta.get("acked_seq", 0))
            row = {"minute": len(rows), "entries": head, "queue": head - acked,
                   **{f"kiosk_{k}": v for k, v in proc_stats(kiosk.pid).items()},
                   **{f"server_{k}": v for k, v in proc_stats(server.pid).items()}}
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        kiosk.terminate()
        kiosk.wait(timeout=30)
        server.terminate()
        server.wait(timeout=10)
    print("proxy faults:", proxy.counts)
    report(rows, plot)


def report(rows, plot):
    half = rows[len(rows) // 2:]
    first, last = rows[min(5, len(rows) - 1)], rows[-1]
    print(f"\n{len(rows) - 1} minutes, {last['entries']} entries")
    for key in ["kiosk_rss_mb", "kiosk_fds", "kiosk_threads", "server_rss_mb", "server_fds", "server_threads", "queue"]:
        values = [r[key] for r in half]
        print(f"{key:16} min {min(values):8.1f}  max {max(values):8.1f}  at 5 min {first[key]:8.1f}  at the end {last[key]:8.1f}")
    if plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        minutes = [r["minute"] for r in rows]
        fig, axes = plt.subplots(2, 2, figsize=(11, 6.5), sharex=True)
        for ax, (title, keys) in zip(axes.flat, [
            ("memory (RSS, MB)", ["kiosk_rss_mb", "server_rss_mb"]),
            ("open file descriptors", ["kiosk_fds", "server_fds"]),
            ("threads", ["kiosk_threads", "server_threads"]),
            ("entries waiting for the server", ["queue"]),
        ]):
            for key in keys:
                ax.plot(minutes, [r[key] for r in rows], label=key.replace("_", " "))
            ax.set_title(title)
            ax.legend(loc="upper left", fontsize=8)
            ax.set_ylim(bottom=0)
        for ax in axes[1]:
            ax.set_xlabel("minutes")
        fig.suptitle(f"Soak: headless kiosk + server + fault proxy, {len(rows) - 1} min, {rows[-1]['entries']} entries")
        fig.tight_layout()
        fig.savefig(plot, dpi=90)
        print(f"plot: {plot}")


if __name__ == "__main__":
    main()
