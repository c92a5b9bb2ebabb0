#!/usr/bin/python3
"""End to end in a real browser (headless Chromium through Selenium):

a committee member logs in, adds a resident and issues a pass; a kiosk
enrolls with a token from the Gates page, scans a screenshot of the pass's
QR code and syncs; a visitor registers on the public form and the kiosk
scans the visitor's QR; the committee sees both entries on the Entries page.

Needs: chromium, chromium-driver, python3-selenium (Debian packages) and
the release binaries (`cargo test --workspace --release` builds them).
Usage: python3 .ci/browser-test.py [--shots DIR]
"""

import os
import re
import subprocess
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

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
    server = subprocess.Popen([SERVER, "--db", db, "--listen", "127.0.0.1:0"],
                              stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline().strip()
        base = line.removeprefix("listening on ")
        assert base.startswith("http://127.0.0.1:"), line
        browse(base, tmp, shots)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print("browser test passed")


def browse(base, tmp, shots):
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
        raise AssertionError(f"{what or text!r} not seen; at {driver.current_url}:\n{driver.page_source[:3000]}")

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
        driver.find_element(By.NAME, "gate").send_keys("North gate")
        driver.find_element(By.CSS_SELECTOR, "form.card button").click()
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
        wait_for("North gate")
        driver.find_element(By.NAME, "unit").send_keys("3-502")
        driver.find_element(By.NAME, "name").send_keys("Zhang")
        driver.find_element(By.CSS_SELECTOR, "form.card button").click()
        wait_for("/p/")
        visitor = os.path.join(tmp, "visitor.png")
        driver.find_element(By.CSS_SELECTOR, ".qr svg").screenshot(visitor)
        shot("visitor-pass")
        out = run(KIOSK, "--config", cfg, "check", "--record", "--temp", "36.4", visitor)
        assert ": allow (ok), unit 3-502" in out, out
        run(KIOSK, "--config", cfg, "sync", "--now")

        # The committee sees both entries.
        driver.get(base + "/login")
        driver.find_element(By.NAME, "user").send_keys("admin")
        driver.find_element(By.NAME, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form.card button").click()
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
        shot("trends-30")

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
        wait_for("li.staff, staff", "the staff member logged in")
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
        assert len(driver.find_elements(By.CSS_SELECTOR, "#summary tr")) == 11, driver.page_source
        shot("summary")
        # Staff do not manage accounts.
        driver.get(base + "/accounts")
        wait_for("Not allowed")
    finally:
        driver.quit()


if __name__ == "__main__":
    t = time.time()
    main()
    print(f"{time.time() - t:.1f} s")
