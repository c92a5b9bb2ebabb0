#!/usr/bin/python3
"""End to end in a real browser (headless Chromium through Selenium):

a committee member logs in, adds a resident and issues a pass; a kiosk
enrolls with a token from the Gates page, scans a screenshot of the pass's
QR code and syncs; a visitor registers on the public form and the kiosk
scans the visitor's QR; the committee sees both entries on the Entries page;
staff invite, import and print; a returnee opens the poster's link on a
phone, picks a district with a notice rule, signs with a finger and gets a
receipt that an independent reader checks; the unit shows under home
quarantine and, after one sync, the kiosk keeps the resident in; two phone
passes are set up on the phone (Ed25519, and P-256 as on a browser without
Ed25519), and the kiosk opens to their live codes and refuses a photo of
each taken 40 s earlier.

Needs: chromium, chromium-driver, python3-selenium (Debian packages) and
the release binaries (`cargo test --workspace --release` builds them).
Usage: python3 .ci/browser-test.py [--shots DIR]
"""

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select
from selenium.webdriver.support.ui import WebDriverWait
from selenium.webdriver.support import expected_conditions as EC

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_evidence  # noqa: E402  (the independent reader of the log)
import phone_sweep  # noqa: E402  (every page on a phone and a desktop)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(ROOT, "target", "release", "shoumen-server")
KIOSK = os.path.join(ROOT, "target", "release", "shoumen")
PASSWORD = "browser-test-pw-1"


def run(*args, **kw):
    print("$", " ".join(args), flush=True)
    out = subprocess.run(args, check=True, capture_output=True, text=True, **kw)
    sys.stdout.write(out.stdout)
    return out.stdout


def main():
    shots = sys.argv[sys.argv.index("--shots") + 1] if "--shots" in sys.argv else None
    tmp = tempfile.mkdtemp(prefix="shoumen-browser-")
    db = os.path.join(tmp, "server.db")
    run(SERVER, "--db", db, "init", "--community", "lotus-gdn", "--password-env", "PW",
        env={**os.environ, "PW": PASSWORD})
    broker = start_broker(tmp)
    mqtt = ["--mqtt", f"mqtt://127.0.0.1:{broker[1]}"] if broker else []
    server = subprocess.Popen([SERVER, "--db", db, "--listen", "127.0.0.1:0", *mqtt],
                              stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline().strip()
        base = line.removeprefix("listening on ")
        assert base.startswith("http://127.0.0.1:"), line
        browse(base, tmp, db, shots, broker[1] if broker else None)
    finally:
        server.terminate()
        server.wait(timeout=10)
        if broker:
            broker[0].terminate()
            broker[0].wait(timeout=10)
    print("browser test passed")


def start_broker(tmp):
    """A Mosquitto for the door sensors, if Debian's is installed."""
    if not os.path.exists("/usr/sbin/mosquitto"):
        print("no mosquitto: the Sensors page is shown without a broker")
        return None
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = os.path.join(tmp, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write(f"user {os.environ.get('USER') or 'root'}\nlistener {port} 127.0.0.1\nallow_anonymous true\n")
    broker = subprocess.Popen(["/usr/sbin/mosquitto", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return broker, port
        except OSError:
            time.sleep(0.05)
    raise AssertionError("mosquitto did not start")


def browse(base, tmp, db, shots, mqtt_port):
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    # No background traffic: this machine has no internet, and Chromium's
    # refused connections slow it down.
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--user-data-dir=" + os.path.join(tmp, "chromium"), "--window-size=412,915", "--lang=en-US"]:
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    driver.implicitly_wait(5)

    def wait_for(text, what=None):
        """Form posts navigate asynchronously: poll until the page shows `text`."""
        for _ in range(100):
            if text in driver.page_source or text in driver.current_url:
                return
            time.sleep(0.05)
        page = driver.page_source
        raise AssertionError(f"{what or text!r} not seen; at {driver.current_url}:\n{page[max(page.find('<main>'), 0):][:3000]}")

    def shot(name):
        if shots:
            os.makedirs(shots, exist_ok=True)
            driver.save_screenshot(os.path.join(shots, name + ".png"))

    try:
        # Log in (phone-sized window).
        driver.get(base + "/lang/en")
        driver.get(base + "/login")
        driver.find_element(By.NAME, "user").send_keys("admin")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form.card button").click()
        wait_for("Entries today", "dashboard after login")
        shot("dashboard")

        # A resident and a pass for them.
        driver.get(base + "/residents")
        driver.find_element(By.NAME, "name").send_keys("Wang Fang")
        driver.find_element(By.NAME, "unit").send_keys("3-502")
        driver.find_element(By.CSS_SELECTOR, "form.card button").click()
        wait_for("Wang Fang")
        driver.find_element(By.XPATH, "//tr[td='Wang Fang']//button").click()
        wait_for("/card")
        card = os.path.join(tmp, "card.png")
        driver.find_element(By.CSS_SELECTOR, ".qr svg").screenshot(card)
        shot("pass-card")

        # Enroll a kiosk with a token from the Gates page.
        driver.get(base + "/gates")
        token_form = driver.find_element(By.CSS_SELECTOR, "form[action='/gates/token']")
        token_form.find_element(By.NAME, "gate").send_keys("North gate")
        token_form.find_element(By.TAG_NAME, "button").click()
        wait_for("shoumen enroll")
        command = driver.find_element(By.CSS_SELECTOR, "p.msg code").text
        m = re.fullmatch(r"shoumen enroll (\S+) ([0-9a-f]{32})", command)
        assert m, command
        kiosk_dir = os.path.join(tmp, "kiosk")
        run(KIOSK, "demo", "init", kiosk_dir)
        cfg = os.path.join(kiosk_dir, "kiosk.toml")
        run(KIOSK, "--config", cfg, "enroll", m.group(1), m.group(2))
        run(KIOSK, "--config", cfg, "sync", "--now")
        out = run(KIOSK, "--config", cfg, "check", "--record", "--temp", "36.6", card)
        assert ": allow (ok), unit 3-502" in out, out

        # A visitor registers on the gate's public form, on their phone.
        driver.get(base + "/gates")
        device = driver.find_element(By.CSS_SELECTOR, "td small").text
        driver.delete_all_cookies()
        driver.get(base + "/v/" + device)
        PUBLIC_SEEN.append("/v/" + device)
        wait_for("North gate")
        driver.find_element(By.NAME, "unit").send_keys("3-502")
        driver.find_element(By.NAME, "name").send_keys("Zhang")
        driver.find_element(By.CSS_SELECTOR, "form.card button").click()
        wait_for("/p/")
        PUBLIC_SEEN.append(driver.current_url.removeprefix(base))
        visitor = os.path.join(tmp, "visitor.png")
        driver.find_element(By.CSS_SELECTOR, ".qr svg").screenshot(visitor)
        shot("visitor-pass")
        out = run(KIOSK, "--config", cfg, "check", "--record", "--temp", "36.4", visitor)
        assert ": allow (ok), unit 3-502" in out, out
        run(KIOSK, "--config", cfg, "sync", "--now")

        # The committee sees both entries.
        log_in_admin(driver, base, wait_for)
        wait_for("/logout")
        driver.get(base + "/entries")
        rows = driver.find_elements(By.CSS_SELECTOR, "tr[data-seq]")
        assert len(rows) == 2, driver.page_source
        assert all("3-502" in r.text and "Allowed" in r.text for r in rows), [r.text for r in rows]
        shot("entries")
        # Both came in, so nobody is out now.
        driver.get(base + "/outside")
        total = driver.find_element(By.CSS_SELECTOR, "#outside-total b").text
        assert total == "0", driver.page_source
        shot("outside")
        # The 30-day trends render as SVG, today's two entries in them.
        driver.get(base + "/trends?days=30")
        bars = driver.find_elements(By.CSS_SELECTOR, "#per-day rect")
        assert len(bars) >= 1, driver.page_source

        # Every gate at a glance: the community's admin sees its own, on a
        # phone without sideways scrolling.
        driver.get(base + "/fleet")
        wait_for("North gate", "the gate on the Fleet page")
        gate_card = driver.find_element(By.CSS_SELECTOR, "ul.fleet li").text
        assert "North gate" in gate_card and "up" in gate_card and "Set by the server" in gate_card, gate_card
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"), "sideways scroll"
        shot("server-fleet")
        # The street office's account sees every community's gates.
        run(SERVER, "--db", db, "district-admin", "--name", "street-office", "--password-env", "PW",
            env={**os.environ, "PW": PASSWORD})
        driver.delete_all_cookies()
        driver.get(base + "/login")
        driver.find_element(By.NAME, "user").send_keys("street-office")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form.card button").click()
        wait_for("/district", "the district's overview")
        driver.get(base + "/fleet")
        wait_for("lotus-gdn", "the community on the district's Fleet page")
        gate_card = driver.find_element(By.CSS_SELECTOR, "ul.fleet li").text
        assert "lotus-gdn" in gate_card and "North gate" in gate_card, gate_card
        shot("server-fleet-district")
        driver.delete_all_cookies()
        log_in_admin(driver, base, wait_for)
        wait_for("/logout")

        # The admin invites a staff member with a one-time link.
        driver.get(base + "/accounts")
        driver.find_element(By.CSS_SELECTOR, "form[action='/accounts/invite'] button").click()
        wait_for("invite-link")
        link = driver.find_element(By.ID, "invite-link").text
        assert "/invite/" in link, link
        shot("accounts-invite")
        driver.delete_all_cookies()
        driver.get(base + "/lang/en")
        driver.get(base + link[link.index("/invite/"):])
        driver.find_element(By.NAME, "user").send_keys("li.staff")
        for name in ("password", "password2"):
            driver.find_element(By.NAME, name).send_keys("a long staff password")
        driver.find_element(By.CSS_SELECTOR, "form.card button").click()
        wait_for("li.staff</span>, staff", "the staff member logged in")
        # Staff import residents: a dry run that names the bad row, then the import.
        sheet = os.path.join(tmp, "building7.csv")
        with open(sheet, "w", encoding="utf-8") as f:
            f.write("姓名,房号,电话\n")
            for i in range(1, 6):
                f.write(f"居民{i},7-{100 + i},1380000000{i}\n")
            f.write(",7-999,13900000000\n")
        driver.get(base + "/residents/import")
        driver.find_element(By.NAME, "file").send_keys(sheet)
        driver.find_element(By.CSS_SELECTOR, "button[value=check]").click()
        wait_for("5 rows are ready to import")
        problems = driver.find_elements(By.CSS_SELECTOR, "#problems tr td:first-child")
        assert [p.text for p in problems] == ["7"], driver.page_source
        shot("import-check")
        driver.find_element(By.NAME, "file").send_keys(sheet)
        driver.find_element(By.CSS_SELECTOR, "button[value=import]").click()
        wait_for("5 residents imported")
        # A building's cards on one page.
        driver.get(base + "/print")
        driver.find_element(By.LINK_TEXT, "Building 7").click()
        wait_for("have no valid pass")
        driver.find_element(By.CSS_SELECTOR, "form[action='/print/7/issue'] button").click()
        wait_for("Cards: 5")
        assert len(driver.find_elements(By.CSS_SELECTOR, ".pcard svg")) == 5, driver.page_source
        shot("print-cards")
        # Who is out now, as staff; the yesterday's summary.
        driver.get(base + "/outside")
        assert driver.find_element(By.CSS_SELECTOR, "#outside-total b").text == "0"
        driver.get(base + "/summary")
        assert len(driver.find_elements(By.CSS_SELECTOR, "#summary tr")) == 13, driver.page_source
        shot("summary")
        # Staff do not manage accounts.
        driver.get(base + "/accounts")
        wait_for("Not allowed")

        returnee(driver, base, tmp, cfg, card, wait_for, shot)
        home_care(driver, base, wait_for, shot, mqtt_port)
        phone_passes(driver, base, tmp, cfg, wait_for, shot)
        duty_roster(driver, base, tmp, cfg, wait_for, shot)
        month_of_trends(driver, base, db, wait_for, shot)
        every_page(driver, base, db, wait_for, shots)
    finally:
        driver.quit()


def every_page(driver, base, db, wait_for, shots):
    """Every page, filled by the steps above, as every role, on a phone and
    a desktop, in both languages (phone_sweep.py says what is checked)."""
    if os.environ.get("SHOUMEN_KEEP_DB"):
        import sqlite3
        src = sqlite3.connect(db)
        dst = sqlite3.connect(os.environ["SHOUMEN_KEEP_DB"])
        src.backup(dst)
        dst.close()
        src.close()
    found = []
    driver.delete_all_cookies()
    log_in_admin(driver, base, wait_for)
    wait_for("/logout")
    # The admin names the compound and its city, as the overview's first
    # steps ask: the pages then say 莲花小区 and 返沪.
    driver.get(base + "/")
    wait_for("first-steps")
    form = driver.find_element(By.CSS_SELECTOR, "form[action='/place']")
    form.find_element(By.NAME, "name").send_keys("莲花小区")
    form.find_element(By.NAME, "city").send_keys("沪")
    form.find_element(By.TAG_NAME, "button").click()
    wait_for("<b>莲花小区</b>")
    driver.get(base + "/lang/zh")
    driver.get(base + "/returnees")
    wait_for("<h1>返沪人员</h1>")
    every_kind(db)
    found += every_import_problem(driver, base, wait_for, shots)
    # Pages a list links to, one of each: a home's check-in card, a
    # returnee's record.
    driver.get(base + "/checkins")
    hrefs = lambda css: [a.get_attribute("href").removeprefix(base) for a in driver.find_elements(By.CSS_SELECTOR, css)]
    linked = hrefs("a[href$='/card']")[:1]
    driver.get(base + "/returnees")
    linked += hrefs("#returnees a[href*='/returnees/']")[:1]
    assert len(linked) == 2, linked
    found += phone_sweep.sweep(driver, base, "admin", pages=phone_sweep.PAGES + linked, shots=shots)
    # Each other role, invited by the admin; a property account for one gate.
    for role in ["staff", "volunteer", "property", "police"]:
        driver.delete_all_cookies()
        driver.get(base + "/lang/en")
        log_in_admin(driver, base, wait_for)
        wait_for("/logout")
        driver.get(base + "/accounts")
        form = driver.find_element(By.CSS_SELECTOR, "form[action='/accounts/invite']")
        Select(form.find_element(By.NAME, "role")).select_by_value(role)
        if role == "property":
            form.find_element(By.NAME, "gates").send_keys("North gate")
        form.find_element(By.TAG_NAME, "button").click()
        wait_for("invite-link")
        link = driver.find_element(By.ID, "invite-link").text
        driver.delete_all_cookies()
        driver.get(base + link[link.index("/invite/"):])
        driver.find_element(By.NAME, "user").send_keys("sweep." + role)
        for name in ("password", "password2"):
            driver.find_element(By.NAME, name).send_keys("a long sweep password")
        driver.find_element(By.CSS_SELECTOR, "form.card button").click()
        wait_for("/logout")
        found += phone_sweep.sweep(driver, base, role, skip_refused=True)
    # The street office: its overview and every gate of the district.
    driver.delete_all_cookies()
    driver.get(base + "/login")
    driver.find_element(By.NAME, "user").send_keys("street-office")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.card button").click()
    wait_for("/district")
    found += phone_sweep.sweep(driver, base, "district", pages=phone_sweep.DISTRICT_PAGES)
    # Residents, visitors and returnees: no login.
    driver.delete_all_cookies()
    found += phone_sweep.sweep(driver, base, "public", pages=phone_sweep.PUBLIC_PAGES + PUBLIC_SEEN, shots=shots)
    phone_sweep.report(found)
    assert not found, "pages a committee worker or resident would trip over (above)"


def rust_table(path, start):
    """The (key, zh, en) rows of a words table in the server's source."""
    text = open(os.path.join(os.path.dirname(__file__), "..", path), encoding="utf-8").read()
    block = text[text.index(start):]
    block = block[:block.index("\n];")]
    return re.findall(r'^\s*\("([^"]+)", "((?:[^"\\]|\\.)*)", "((?:[^"\\]|\\.)*)"\)', block, re.M)


def every_kind(db):
    """Data of every kind on the Alerts and Audit pages (issue 28): an open
    alert of every kind, one for every detail the server words, and a row
    of the audit trail for every action, so the sweep reads every one of
    their words on a phone. Alerts are written straight into the table;
    audit rows are chained as the server chains them (the Audit page checks
    the chain, so a mistake here shows there)."""
    import hashlib
    import sqlite3
    kinds = re.findall(r'^\s*\w+ = "(\w+)",', open(os.path.join(os.path.dirname(__file__), "..", "protocol/src/vocab.rs"),
                       encoding="utf-8").read().split("AlertKind {")[1].split("}")[0], re.M)
    details = rust_table("server/src/leaves/words.rs", "const DETAILS")
    actions = rust_table("server/src/leaves/words.rs", "pub const ACTIONS")
    assert len(kinds) > 15 and len(details) > 50 and len(actions) > 30, (len(kinds), len(details), len(actions))
    now = int(time.time() * 1000)
    con = sqlite3.connect(db, timeout=30)
    with con:
        device = con.execute("SELECT id FROM devices WHERE community = 'lotus-gdn' AND revoked = 0 LIMIT 1").fetchone()[0]
        for i, (key, zh, _) in enumerate([(k, "", "") for k in kinds] + details):
            kind = kinds[i % len(kinds)]
            args = "|3-502" * max(zh.count("{}"), 1)
            # A day old, so the flow's own alerts stay first on the page.
            at = now - 86_400_000 - i * 60_000
            con.execute("INSERT INTO alerts (kind, device, seq, detail, first_ms, last_ms, count, acked, community) "
                        "VALUES (?, ?, NULL, ?, ?, ?, 1, 0, 'lotus-gdn')", (kind, device, f"@{key}{args}", at, at))
        seq, prev = con.execute("SELECT seq, hash FROM audit WHERE community = 'lotus-gdn' ORDER BY seq DESC LIMIT 1").fetchone()
        for (action, _, _) in actions:
            seq += 1
            row = [prev, seq, now, "admin", "127.0.0.1", action, ""]
            prev = hashlib.sha256(json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()
            con.execute("INSERT INTO audit (community, seq, at_ms, actor, ip, action, detail, hash) VALUES ('lotus-gdn', ?, ?, ?, ?, ?, ?, ?)",
                        (seq, now, "admin", "127.0.0.1", action, "", prev))
    con.close()
    print(f"every kind: {len(kinds) + len(details)} alerts of {len(kinds)} kinds, {len(actions)} audit actions")


def every_import_problem(driver, base, wait_for, shots):
    """An import check whose file has every kind of problem and units
    written other ways, measured in both languages: the answer to a form,
    which the sweep's visits cannot reach."""
    import sqlite3  # noqa: F401
    tmp = tempfile.mkdtemp(prefix="shoumen-import-")
    sheet = os.path.join(tmp, "every-problem.csv")
    with open(sheet, "w", encoding="utf-8") as f:
        f.write("姓名,房号,电话\n")
        f.write(",7-201,\n")                              # no name
        f.write("王五,,\n")                                # no unit
        f.write("王六,7-202,call me\n")                    # not a phone number
        f.write("长" * 65 + ",7-203,\n")                   # a name too long
        f.write("赵\x07七,7-204,\n")                       # a control character
        f.write("王八,12号楼12单元1201室东侧,\n")           # a unit too long
        f.write("居民1,7-101,\n")                          # already a resident
        f.write("钱九,7-205,\n钱九,7-205,\n")              # twice in the file
        f.write("孙十,7号楼206室,\n")                       # a unit written another way
    found = []
    for lang in ("zh", "en"):
        driver.get(base + "/lang/" + lang)
        driver.get(base + "/residents/import")
        driver.find_element(By.NAME, "file").send_keys(sheet)
        driver.find_element(By.CSS_SELECTOR, "button[value=check]").click()
        wait_for("id=\"problems\"")
        problems = driver.find_elements(By.CSS_SELECTOR, "#problems tr td:first-child")
        assert len(problems) == 8, driver.page_source
        assert "7-206" in driver.find_element(By.ID, "rewritten").text, driver.page_source
        found += phone_sweep.measure_here(driver, "admin", "/residents/import (check)")
        if shots and lang == "zh":
            driver.set_window_size(360, 740)
            phone_sweep.photograph(driver, shots, "phone-import-check-zh-CN")
            driver.set_window_size(412, 915)
    return found


# Public pages the steps above opened (a receipt, a phone pass, a check-in
# link), for the sweep of every page.
PUBLIC_SEEN = []


def month_of_trends(driver, base, db, wait_for, shot):
    """The 30-day trends with a month behind them, for the screenshot: two
    retired gates' history written straight into the entries table (as the
    load generator's history is), with a compound's daily rhythm and its
    refusals. Last in the test: these gates have no hash chain to verify."""
    import random
    import sqlite3
    rng = random.Random(2020)
    now_ms = int(time.time() * 1000)
    local = datetime.timezone(datetime.timedelta(hours=8))
    today = datetime.datetime.now(local).replace(hour=0, minute=0, second=0, microsecond=0)
    # A weekday's entries per hour at a compound gate: the morning and
    # evening rush, a lunchtime bump, quiet nights.
    rhythm = [1, 0, 0, 0, 1, 4, 14, 30, 26, 12, 10, 11, 14, 10, 9, 10, 13, 24, 30, 20, 14, 10, 6, 3]
    refusals = ["fever", "expired", "expired", "revoked", "passback", "passback", "passback",
                "quarantine_no_exit", "code_expired", "code_expired", "not_a_pass", "measure_timeout"]
    rows = []
    for gate, scale in [("North gate", 1.0), ("South gate", 0.55)]:
        device = "history-" + gate.split()[0].lower()
        rows.append(("device", device, gate))
        seq = 0
        for d in range(30, 0, -1):
            day = today - datetime.timedelta(days=d - 1)
            weekend = day.weekday() >= 5
            for hour, weight in enumerate(rhythm):
                n = rng.randint(0, 2) + int(weight * scale * (0.7 if weekend else 1.0) * rng.uniform(0.8, 1.2))
                for _ in range(n):
                    at = day + datetime.timedelta(hours=hour, seconds=rng.randrange(3600))
                    wall = int(at.timestamp() * 1000)
                    if wall > now_ms - 60_000:
                        continue
                    seq += 1
                    deny = rng.random() < 0.03
                    reason = rng.choice(refusals) if deny else "ok"
                    temp = 3790 + rng.randrange(60) if reason == "fever" else 3610 + rng.randrange(50)
                    rows.append(("entry", device, seq, wall, "out" if hour < 12 else "in",
                                 "deny" if deny else "allow", reason, temp))
    con = sqlite3.connect(db, timeout=30)
    with con:
        for r in rows:
            if r[0] == "device":
                con.execute("INSERT INTO devices (id, gate_name, key_hex, secret_sha256, enrolled_ms, head_hash, revoked, community) "
                            "VALUES (?, ?, '', '', 0, '', 1, 'lotus-gdn')", (r[1], r[2]))
            else:
                _, device, seq, wall, direction, decision, reason, temp = r
                con.execute("INSERT INTO entries (device, seq, body, hash, wall_ms, clock_synced, boot_id, mono_ms, received_ms, kind, "
                            "direction, decision, reason, pass_id, role, temp_centi, note, community) "
                            "VALUES (?, ?, '{}', '', ?, 1, 'b', ?, ?, 'scan', ?, ?, ?, NULL, 'resident', ?, NULL, 'lotus-gdn')",
                            (device, seq, wall, seq, wall, direction, decision, reason, temp))
    con.close()
    entries = sum(1 for r in rows if r[0] == "entry")
    driver.set_window_size(900, 1760)
    driver.get(base + "/trends?days=30")
    wait_for("South gate")
    days = {r.get_attribute("textContent").split()[0] for r in driver.find_elements(By.CSS_SELECTOR, "#per-day rect title")}
    assert len(days) == 30, sorted(days)
    legend = driver.find_element(By.CSS_SELECTOR, "p.legend").text
    assert "North gate" in legend and "South gate" in legend, legend
    words = driver.find_element(By.ID, "refusals").get_attribute("textContent")
    assert "Anti-passback: same way twice" in words and "quarantine_no_exit" not in words, words
    shot("trends-30")
    driver.set_window_size(412, 915)
    print(f"trends: {entries} entries of two gates over 30 days")


def log_in_admin(driver, base, wait_for):
    driver.get(base + "/login")
    driver.find_element(By.NAME, "user").send_keys("admin")
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.card button").click()


def returnee(driver, base, tmp, cfg, card, wait_for, shot):
    """Staff set a notice for Hubei; a returnee from Wuchang registers on a
    phone from the poster; once the committee confirms the notice, it
    closes the gate to unit 3-502."""
    driver.get(base + "/returnees/rules")
    form = driver.find_element(By.CSS_SELECTOR, "form[action='/returnees/documents']")
    form.find_element(By.NAME, "name").send_keys("Hubei notice")
    Select(form.find_element(By.NAME, "kind")).select_by_value("notice")
    form.find_element(By.NAME, "body_zh").send_keys("自抵达之日起居家隔离 {days} 天。")
    form.find_element(By.NAME, "body_en").send_keys("Stay at home for {days} days from your arrival.")
    form.find_element(By.TAG_NAME, "button").click()
    wait_for("Hubei notice</b> v1")
    # The rule's region is picked by name, as the returnee picks theirs: a
    # province alone is the whole province.
    form = driver.find_element(By.CSS_SELECTOR, "form[action='/returnees/rules'][method=post]")
    Select(form.find_element(By.ID, "province")).select_by_visible_text("湖北省")
    WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "origin").get_attribute("value") == "42")
    WebDriverWait(driver, 10).until(lambda d: len(Select(d.find_element(By.ID, "city")).options) > 1)
    form.find_element(By.CSS_SELECTOR, "button:not([type=button])").click()
    wait_for("湖北省 <small>42</small>", "the rule for Hubei in the table")
    driver.get(base + "/returnees/poster")
    link = driver.find_element(By.ID, "poster-url").text
    shot("server-returnee-poster")

    # On the returnee's phone: no login, the poster's link.
    driver.delete_all_cookies()
    driver.get(base + link[link.index("/r/"):])
    wait_for("Where you came from")
    driver.find_element(By.NAME, "name").send_keys("Chen Jie")
    driver.find_element(By.NAME, "phone").send_keys("13912345678")
    driver.find_element(By.NAME, "unit").send_keys("3-502")
    for select, place in (("province", "湖北省"), ("city", "武汉市"), ("district", "武昌区")):
        for _ in range(100):
            options = [o.text for o in Select(driver.find_element(By.ID, select)).options]
            if place in options:
                break
            time.sleep(0.05)
        Select(driver.find_element(By.ID, select)).select_by_visible_text(place)
    for _ in range(100):
        if driver.find_element(By.ID, "origin").get_attribute("value") == "420106":
            break
        time.sleep(0.05)
    today = (datetime.datetime.utcnow() + datetime.timedelta(hours=8)).strftime("%m%d%Y")
    driver.find_element(By.NAME, "arrival").send_keys(today)
    driver.find_element(By.NAME, "temperature").send_keys("36.4")
    driver.find_element(By.CSS_SELECTOR, "input[name=symptoms][value=no]").click()
    driver.find_element(By.CSS_SELECTOR, "input[name=contact][value=no]").click()
    shot("server-returnee-form")
    driver.find_element(By.CSS_SELECTOR, "#register button").click()
    wait_for("Stay at home for 14 days from your arrival.", "the notice for Wuchang")
    # A signature: two strokes of a finger on the canvas.
    pad = driver.find_element(By.ID, "pad")
    strokes = ActionChains(driver)
    strokes.move_to_element_with_offset(pad, -100, 10).click_and_hold()
    for dx, dy in ((15, -20), (15, 25), (15, -15), (20, 10)):
        strokes.move_by_offset(dx, dy)
    strokes.release()
    strokes.move_to_element_with_offset(pad, 20, -10).click_and_hold().move_by_offset(40, 30).release()
    strokes.perform()
    driver.find_element(By.NAME, "signed_name").send_keys("Chen Jie")
    driver.find_element(By.NAME, "confirm").click()
    shot("server-returnee-sign")
    driver.find_element(By.ID, "submit").click()
    wait_for("Receipt code", "the receipt")
    assert "Home quarantine until" in driver.page_source and "3-502" in driver.page_source, driver.page_source
    shot("server-returnee-receipt")

    # The receipt file, checked by a reader written from the specs, and by
    # the server's command line with nothing but the file and the key.
    PUBLIC_SEEN.append(driver.current_url.removeprefix(base))
    receipt_url = driver.current_url + "/json"
    with urllib.request.urlopen(receipt_url) as r:
        receipt = json.load(r)
    with urllib.request.urlopen(base + "/log/lotus-gdn/key") as r:
        vkey = r.read().decode().strip()
    origin, size, index = check_evidence.check_receipt(receipt, vkey)
    # Named after the server's address, as C2SP tlog-tiles recommends.
    assert origin.endswith("/log/lotus-gdn") and (size, index) == (1, 0), (origin, size, index)
    assert '"signature":"M' in receipt["record"], receipt["record"]
    path = os.path.join(tmp, "receipt.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(receipt, f)
    out = run(SERVER, "evidence", "verify", path, "--log-key", vkey)
    assert "record #0 is in %s of 1 records" % origin in out, out
    # Without a key: the one the receipt carries, with its fingerprint to
    # compare with the poster's.
    out = run(SERVER, "evidence", "verify", path)
    assert check_evidence.fingerprint(vkey) in out, out
    receipt["record"] = receipt["record"].replace("3-502", "3-503")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(receipt, f)
    bad = subprocess.run([SERVER, "evidence", "verify", path, "--log-key", vkey], capture_output=True, text=True)
    assert bad.returncode != 0 and "inclusion proof fails" in bad.stderr, bad.stderr

    # The public form is anyone's: until someone confirms the notice, the
    # gate lets the household out and tells the guard it is self-declared.
    run(KIOSK, "--config", cfg, "sync", "--now")
    out = run(KIOSK, "--config", cfg, "check", "--direction", "out", card)
    assert "quarantine_unconfirmed" in out and ": allow" in out, out
    # The committee sees the notice waiting, and confirms it.
    log_in_admin(driver, base, wait_for)
    wait_for("/logout")
    driver.get(base + "/quarantine")
    wait_for("Waiting for confirmation")
    assert "3-502" in driver.page_source and "a returnee's notice" in driver.page_source, driver.page_source
    driver.get(base + "/returnees")
    wait_for("Chen Jie")
    wait_for("pending-notices")
    shot("server-returnees")
    # "Chen Jie" is on the page before the post too: wait for the list
    # the post lands on, not for a word the old page already shows.
    before = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, "#pending-notices form[action$='/confirm'] button").click()
    WebDriverWait(driver, 10).until(EC.staleness_of(before))
    wait_for("Chen Jie")
    assert "pending-notices" not in driver.page_source, "the notice is decided"
    # After one sync, the kiosk keeps the resident of 3-502 in.
    run(KIOSK, "--config", cfg, "sync", "--now")
    out = run(KIOSK, "--config", cfg, "check", "--direction", "out", card)
    assert "quarantine_no_exit" in out and ": allow" not in out, out


def home_care(driver, base, wait_for, shot, mqtt_port):
    """Issue 18 in a browser: a unit under home quarantine since yesterday
    is on the call list; its resident checks in with a fever on the phone
    (an alert) and asks for groceries, which a volunteer takes to done."""
    local = datetime.datetime.utcnow() + datetime.timedelta(hours=8)
    day = lambda d: (local + datetime.timedelta(days=d)).strftime("%m%d%Y")
    driver.get(base + "/quarantine")
    form = driver.find_element(By.CSS_SELECTOR, "form[action='/quarantine']")
    form.find_element(By.NAME, "unit").send_keys("7-101")
    form.find_element(By.NAME, "from").send_keys(day(-1))
    form.find_element(By.NAME, "until").send_keys(day(13))
    form.find_element(By.TAG_NAME, "button").click()
    wait_for("7-101")
    # A door sensor on the flat, and the delivery windows.
    driver.get(base + "/sensors")
    form = driver.find_element(By.CSS_SELECTOR, "form[action='/sensors']")
    form.find_element(By.NAME, "name").send_keys("door-7-101")
    form.find_element(By.NAME, "unit").send_keys("7-101")
    form.find_element(By.TAG_NAME, "button").click()
    wait_for("door-7-101")
    form = driver.find_element(By.CSS_SELECTOR, "form[action='/sensors/windows']")
    form.find_element(By.NAME, "windows").send_keys("07:00-09:00, 17:00-19:00")
    form.find_element(By.TAG_NAME, "button").click()
    wait_for("17:00-19:00")
    if mqtt_port:
        # zigbee2mqtt reports the sensor: closed, battery and link quality.
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(mqtt_port), "-q", "1", "-t", "zigbee2mqtt/door-7-101",
                        "-m", '{"contact": true, "battery": 87, "linkquality": 120}'], check=True)
        for _ in range(100):
            driver.get(base + "/sensors")
            if "87%" in driver.page_source:
                break
            time.sleep(0.1)
        assert "87%" in driver.page_source and "Closed" in driver.page_source, driver.page_source
    shot("server-sensors")
    # Quarantined since yesterday and never checked in: on the call list.
    driver.get(base + "/checkins")
    calls = driver.find_element(By.ID, "call-list").text
    assert "居民1" in calls and "13800000001" in calls, calls
    shot("server-checkins")
    row = driver.find_element(By.XPATH, "//table[@id='watched']//tr[td='居民1']")
    link = row.find_element(By.TAG_NAME, "code").text
    # On the resident's phone: the personal link, one tap.
    driver.delete_all_cookies()
    driver.get(base + "/lang/en")
    driver.get(base + link[link.index("/c/"):])
    wait_for("Home quarantine until")
    driver.find_element(By.NAME, "temperature").send_keys("38.4")
    driver.find_element(By.CSS_SELECTOR, "button[name=symptoms][value=no]").click()
    wait_for("The committee has been told", "the fever reported")
    Select(driver.find_element(By.NAME, "kind")).select_by_value("groceries")
    driver.find_element(By.NAME, "note").send_keys("rice and eggs")
    driver.find_element(By.CSS_SELECTOR, "form[action$='/request'] button").click()
    wait_for("Your request is in")
    shot("server-home-checkin")
    home = base + link[link.index("/c/"):]
    PUBLIC_SEEN.append(link[link.index("/c/"):])
    # The committee: the fever is an alert; the task goes to done.
    log_in_admin(driver, base, wait_for)
    wait_for("/logout")
    driver.get(base + "/alerts")
    wait_for("A check-in reports a fever")
    driver.get(base + "/tasks")
    driver.find_element(By.XPATH, "//tr[contains(., 'rice and eggs')]//button").click()
    wait_for("Taken by")
    driver.find_element(By.XPATH, "//tr[contains(., 'rice and eggs')]//button").click()
    # The "Done" button is on the page already: wait for the status cell.
    wait_for(">Done 20", "the volunteer's task done")
    shot("server-tasks")
    driver.delete_all_cookies()
    driver.get(base + "/lang/en")
    driver.get(home)
    wait_for(">Done</td>", "the household sees its request done")



def phone_passes(driver, base, tmp, cfg, wait_for, shot):
    """Phone passes: set up on the phone, photographed at two moments 40 s
    apart; the kiosk allows the current code and refuses the older one."""
    log_in_admin(driver, base, wait_for)
    wait_for("/logout")
    links = []
    for unit in ("5-101", "5-102"):
        driver.get(base + "/passes")
        form = driver.find_element(By.CSS_SELECTOR, "form[action='/passes']")
        form.find_element(By.NAME, "unit").send_keys(unit)
        form.find_element(By.NAME, "phone").click()
        form.find_element(By.TAG_NAME, "button").click()
        wait_for("scans this code with their phone", "the phone pass's set-up card")
        links.append(driver.find_element(By.CSS_SELECTOR, "p.noprint a").get_attribute("href"))
        shot("server-phone-pass-card")
    driver.delete_all_cookies()
    driver.get(base + "/lang/en")

    def photograph(link, name):
        """Opens the pass on the phone and photographs its live code."""
        driver.get(link)
        for _ in range(100):
            t = driver.find_element(By.ID, "live").get_attribute("data-time")
            if t and "Live code" in driver.find_element(By.ID, "live-status").text:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("no live code: " + driver.find_element(By.ID, "live-status").text)
        path = os.path.join(tmp, name + ".png")
        driver.find_element(By.CSS_SELECTOR, "#live svg").screenshot(path)
        return path, int(t)

    # The second phone's browser has no WebCrypto Ed25519: it falls back to P-256.
    no_ed25519 = ("const g = crypto.subtle.generateKey.bind(crypto.subtle);"
                  "crypto.subtle.generateKey = (a, ...r) => a.name === 'Ed25519' ? Promise.reject(new Error('no Ed25519')) : g(a, ...r);")
    first = [photograph(links[0], "phone-ed25519-old")]
    hook = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": no_ed25519})
    first.append(photograph(links[1], "phone-p256-old"))
    driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": hook["identifier"]})
    shot("server-phone-pass")
    time.sleep(40)
    # Opened again 40 s later: the key stayed on the phone, no new set-up.
    later = [photograph(links[0], "phone-ed25519-now"), photograph(links[1], "phone-p256-now")]
    for (old, t0), (now, t1), unit in zip(first, later, ("5-101", "5-102")):
        assert t1 - t0 >= 40, (t0, t1)
        out = run(KIOSK, "--config", cfg, "check", "--record", "--temp", "36.5", now)
        assert f": allow (ok), unit {unit}" in out, out
        out = run(KIOSK, "--config", cfg, "check", old)
        assert ": deny (code_expired)" in out, out
    # The committee sees both passes set up, each on its phone.
    log_in_admin(driver, base, wait_for)
    wait_for("/logout")
    driver.get(base + "/passes")
    assert driver.page_source.count("Phone pass (set up on a phone)") == 2, driver.page_source
    driver.get(base + "/audit")
    assert "P-256 key" in driver.page_source and "Ed25519 key" in driver.page_source, driver.page_source

def duty_roster(driver, base, tmp, cfg, wait_for, shot):
    """The duty roster (issue 32): a volunteer signs up on their phone by the
    public link; the committee confirms them (their duty pass is issued),
    makes a shift at the North gate under way now and puts them on it; the
    volunteer opens their duty pass on their phone and signs in at the
    kiosk with it; after the sync the week shows them signed in, the hours
    page counts the shift, the XLSX opens in openpyxl with the stated
    columns, and the certificate renders."""
    driver.delete_all_cookies()
    driver.get(base + "/lang/en")
    driver.get(base + "/join/lotus-gdn")
    driver.find_element(By.NAME, "name").send_keys("Chen Jie")
    driver.find_element(By.NAME, "phone").send_keys("13700000042")
    driver.find_element(By.CSS_SELECTOR, "form.card button").click()
    wait_for("waiting for the committee to confirm you")
    own = driver.current_url.removeprefix(base)
    assert own.startswith("/duty/"), own
    PUBLIC_SEEN.extend(["/join/lotus-gdn", own])
    shot("server-volunteer-signed-up")

    log_in_admin(driver, base, wait_for)
    wait_for("/logout")
    driver.get(base + "/roster/volunteers")
    driver.find_element(By.XPATH, "//tr[td='Chen Jie']//form[contains(@action, '/confirm')]//button").click()
    wait_for("Confirmed")
    # A shift under way now: from an hour ago for three hours (the server's zone, UTC+8).
    start = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=8))) - datetime.timedelta(hours=1)
    end = start + datetime.timedelta(hours=3)
    driver.get(base + "/roster?week=" + start.strftime("%Y-%m-%d"))
    form = driver.find_element(By.CSS_SELECTOR, "form[action='/roster/shifts']")
    for name, value in (("day", start.strftime("%Y-%m-%d")), ("from", start.strftime("%H:%M")), ("to", end.strftime("%H:%M"))):
        driver.execute_script("arguments[0].value = arguments[1]", form.find_element(By.NAME, name), value)
    form.find_element(By.TAG_NAME, "button").click()
    wait_for("Short by 2")
    put_on = driver.find_element(By.CSS_SELECTOR, "form[action$='/people']")
    Select(put_on.find_element(By.NAME, "volunteer")).select_by_visible_text("Chen Jie")
    put_on.find_element(By.TAG_NAME, "button").click()
    wait_for("Short by 1")

    # On her phone: her page, her duty pass, its live code at the kiosk.
    driver.delete_all_cookies()
    driver.get(base + "/lang/en")
    driver.get(base + own)
    wait_for("Open my duty pass")
    shot("server-volunteer")
    driver.find_element(By.LINK_TEXT, "Open my duty pass").click()
    pass_page = driver.current_url.removeprefix(base)
    for _ in range(200):
        live = driver.find_elements(By.ID, "live-status")
        if live and "Live code" in live[0].text:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("no live code on the duty pass: " + driver.page_source[:2000])
    code = os.path.join(tmp, "duty-code.png")
    driver.find_element(By.CSS_SELECTOR, "#live svg").screenshot(code)
    out = run(KIOSK, "--config", cfg, "check", "--record", code)
    assert ": allow (duty_start)" in out, out
    run(KIOSK, "--config", cfg, "sync", "--now")

    log_in_admin(driver, base, wait_for)
    wait_for("/logout")
    driver.get(base + "/roster?week=" + start.strftime("%Y-%m-%d"))
    wait_for("Signed in", "Chen Jie signed in on the roster")
    shot("server-roster")
    driver.get(base + "/gates")
    wait_for("Duty pass", "who is on duty at the North gate")
    # She signs out an hour and a half later, with her phone's code of the
    # moment; the kiosk's clock moved on with faketime (restarted, it
    # dates the entry by its own clock).
    driver.delete_all_cookies()
    driver.get(base + "/lang/en")
    driver.get(base + pass_page)
    for _ in range(200):
        live = driver.find_elements(By.ID, "live-status")
        if live and "Live code" in live[0].text:
            break
        time.sleep(0.05)
    driver.find_element(By.CSS_SELECTOR, "#live svg").screenshot(code)
    if shutil.which("faketime"):
        later = dict(os.environ, FAKETIME_DONT_FAKE_MONOTONIC="1", SHOUMEN_BOOT_ID="browser-test-later")
        out = run("faketime", "-f", "+90m", KIOSK, "--config", cfg, "check", "--record", code, env=later)
        assert ": allow (duty_end)" in out, out
        run(KIOSK, "--config", cfg, "sync", "--now")
    log_in_admin(driver, base, wait_for)
    wait_for("/logout")
    month = start.strftime("%Y-%m")
    driver.get(base + "/roster/hours?month=" + month)
    wait_for("Chen Jie")
    # The export, as the committee's browser downloads it.
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in driver.get_cookies())
    req = urllib.request.Request(base + "/roster/hours.xlsx?month=" + month, headers={"Cookie": cookies})
    book_path = os.path.join(tmp, "hours.xlsx")
    with urllib.request.urlopen(req) as r, open(book_path, "wb") as f:
        f.write(r.read())
    import openpyxl
    sheet = openpyxl.load_workbook(book_path).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["姓名", "手机号", "服务日期", "开始时间", "结束时间", "服务时长（小时）", "服务岗位", "备注"], rows[0]
    assert any(r[0] == "Chen Jie" and r[1] == "13700000042" and r[6] == "North gate" for r in rows[1:]), rows
    if shutil.which("faketime"):
        assert any(r[0] == "Chen Jie" and r[5] == "1.50" for r in rows[1:]), rows
    print(f"hours export: {len(rows) - 1} rows, columns {rows[0]}")
    driver.find_element(By.LINK_TEXT, "Certificate").click()
    wait_for("id=\"certificate\"")
    shot("server-certificate")


if __name__ == "__main__":
    t = time.time()
    main()
    print(f"{time.time() - t:.1f} s")
