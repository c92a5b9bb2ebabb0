"""Every committee page, as each role, in both languages, on a phone and a
desktop (issue 28): what a committee worker would notice.

For each page it measures, in the browser:

- sideways scrolling: the page is wider than the window, or a box in it
  (a table's) scrolls sideways;
- small chart labels: a chart's words drawn under 11 px;
- small tap targets: a button, field, list, menu entry or link shorter or
  narrower than 44 CSS px. Exempt: a link inside a sentence (its block has
  other words: WCAG 2.5.8's inline exception), and a radio or checkbox
  whose label is the 44 px target;
- English on a Chinese page: a run of three or more English words, or an
  engineer's identifier (`resident.add`, `quarantine_no_exit`), in the
  visible text or a placeholder. Exempt, because they are what people
  typed or what a machine reads: the English the test itself typed as
  data (TYPED: people's, gates' and documents' names, a resident's note),
  text inside code, kbd, samp, pre, and elements marked translate="no"
  (ids, addresses) or lang="en" (a document's English version, shown on
  purpose), and the language switch's own "English".

Used by browser-test.py after it has filled every page with data; run
alone against a running server to print the findings without failing:
  python3 .ci/phone_sweep.py BASE USER PASSWORD
"""

import sys

# Pages a logged-in committee account opens from the menu or its links.
# (path, what must be on the page: a sign that it rendered with data)
PAGES = [
    "/", "/residents", "/residents/import", "/passes", "/print", "/quarantine", "/entries", "/outside",
    "/alerts", "/checkins", "/tasks", "/sensors", "/gates", "/returnees", "/returnees/rules",
    "/returnees/poster", "/trends", "/summary", "/audit", "/accounts", "/keys", "/totp", "/account", "/fleet",
    "/roster", "/roster/print", "/roster/volunteers", "/roster/hours", "/gates/enroll",
]

# The district's account.
DISTRICT_PAGES = ["/district", "/fleet", "/updates", "/totp", "/account"]

# Pages without a login (more are added by the test: a receipt, a phone
# pass, a visitor's form, a check-in link).
PUBLIC_PAGES = ["/login", "/verify", "/r/lotus-gdn"]

SIZES = [(360, 740), (1280, 900)]

# Page views measured so far (each page at each size and language).
MEASURED = [0]

# The English the browser test types as data: names are not translated.
TYPED = ["North gate", "South gate", "Hubei notice", "Wang Fang", "Chen Jie", "rice and eggs", "li.staff",
         "sweep.staff", "sweep.volunteer", "sweep.property", "sweep.police", "street-office",
         "Stay at home for {days} days from your arrival."]

MEASURE = r"""
const problems = [];
const doc = document.documentElement;
if (doc.scrollWidth > window.innerWidth + 1) {
  let widest = null;
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right > window.innerWidth + 1 && (!widest || r.width < widest.getBoundingClientRect().width)) widest = el;
  }
  problems.push(['sideways', doc.scrollWidth + ' px wide: ' + (widest ? widest.outerHTML.slice(0, 120) : '')]);
}
// A box that scrolls sideways inside the page is sideways scrolling too.
for (const el of document.body.querySelectorAll('*')) {
  const o = getComputedStyle(el).overflowX;
  if ((o === 'auto' || o === 'scroll') && el.scrollWidth > el.clientWidth + 1) {
    problems.push(['sideways', 'a box ' + el.scrollWidth + ' px wide in ' + el.clientWidth + ': ' + el.outerHTML.slice(0, 80)]);
  }
}
const visible = el => { const s = getComputedStyle(el); const r = el.getBoundingClientRect();
  return s.visibility !== 'hidden' && s.display !== 'none' && r.width > 0 && r.height > 0; };
const inSentence = a => {
  const block = a.closest('p, li, td, dd, span, label, small') || a.parentElement;
  return block && block.textContent.trim().length > a.textContent.trim().length + 1;
};
for (const el of document.querySelectorAll('a[href], button, input, select, textarea, summary')) {
  if (!visible(el)) continue;
  if (el.type === 'hidden') continue;
  if (el.tagName === 'A' && inSentence(el)) continue;
  let r = el.getBoundingClientRect();
  if ((el.type === 'radio' || el.type === 'checkbox') && el.closest('label')) r = el.closest('label').getBoundingClientRect();
  if (r.height < 43.5 || r.width < 43.5) {
    problems.push(['tap', Math.round(r.width) + 'x' + Math.round(r.height) + ' ' + el.outerHTML.slice(0, 100)]);
  }
}
// Words on a chart are text too: at least 11 px as drawn.
for (const el of document.querySelectorAll('svg text')) {
  if (!visible(el)) continue;
  const px = parseFloat(getComputedStyle(el).fontSize) * el.getScreenCTM().a;
  if (px < 10.95) problems.push(['small', Math.round(px * 10) / 10 + ' px chart label "' + el.textContent + '"']);
}
if (document.documentElement.lang === 'zh-CN') {
  const typed = arguments[0];
  const skip = 'code, kbd, samp, pre, script, style, [translate="no"], [lang="en"], .lang';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const run = /[A-Za-z][A-Za-z'’-]*(?:[ ,]+[A-Za-z][A-Za-z'’-]*){2,}|\b[a-z]+[._][a-z][a-z_.]*\b/;
  const strip = t => typed.reduce((t, s) => t.split(s).join(' '), t);
  while (walker.nextNode()) {
    const n = walker.currentNode;
    const el = n.parentElement;
    if (!el || el.closest(skip) || !visible(el)) continue;
    const m = strip(n.textContent).match(run);
    if (m) problems.push(['english', m[0].slice(0, 60) + '  in <' + el.tagName.toLowerCase() + '>']);
  }
  for (const el of document.querySelectorAll('input[placeholder], textarea[placeholder]')) {
    const m = strip(el.placeholder).match(run);
    if (m && visible(el) && !el.closest(skip)) problems.push(['english', 'placeholder: ' + m[0].slice(0, 60)]);
  }
}
return problems;
"""


# Pages photographed on a phone in Chinese when the test saves screenshots.
PHOTOGRAPHED = {"/alerts": "alerts", "/sensors": "sensors", "/audit": "audit", "/trends": "trends",
                "/returnees": "returnees", "/residents": "residents"}


def photograph(driver, shots, name):
    """The whole page at the window's width, as a phone would scroll it."""
    import os
    w = driver.execute_script("return window.innerWidth")
    h = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(w, min(h, 2400))
    driver.save_screenshot(os.path.join(shots, name + ".png"))
    driver.set_window_size(w, 740)


def sweep(driver, base, label, pages=PAGES, sizes=SIZES, langs=("zh", "en"), skip_refused=False, shots=None):
    """Visits `pages` at each size and language; returns the problems found
    as (label, lang, width, path, kind, what). With `skip_refused`, a page
    the role may not open (its "not allowed" answer) is not measured: it
    is the same answer on every page, measured on the others."""
    found = []
    for lang in langs:
        driver.get(base + "/lang/" + lang)
        for (w, h) in sizes:
            driver.set_window_size(w, h)
            # The window's outer size includes no browser chrome headless,
            # but make sure the layout width is what was asked.
            inner = driver.execute_script("return window.innerWidth")
            if inner != w:
                driver.set_window_size(w + (w - inner), h)
            for path in pages:
                driver.get(base + path)
                title = driver.execute_script("return document.title")
                if skip_refused and (title.startswith("无权操作") or title.startswith("Not allowed")):
                    continue
                MEASURED[0] += 1
                for kind, what in driver.execute_script(MEASURE, TYPED):
                    found.append((label, lang, w, path, kind, what))
                if shots and lang == "zh" and w == 360 and (path in PHOTOGRAPHED or path.startswith("/r/lotus-gdn/receipt")):
                    name = PHOTOGRAPHED.get(path, "receipt")
                    photograph(driver, shots, f"phone-{name}-zh-CN")
    driver.set_window_size(412, 915)
    return found


def measure_here(driver, label, path, sizes=SIZES):
    """Measures the page the browser shows now (a form's answer, which a
    visit cannot reach) at each size; returns the problems as sweep does."""
    found = []
    lang = "zh" if driver.execute_script("return document.documentElement.lang") == "zh-CN" else "en"
    for (w, h) in sizes:
        driver.set_window_size(w, h)
        inner = driver.execute_script("return window.innerWidth")
        if inner != w:
            driver.set_window_size(w + (w - inner), h)
        MEASURED[0] += 1
        for kind, what in driver.execute_script(MEASURE, TYPED):
            found.append((label, lang, w, path, kind, what))
    driver.set_window_size(412, 915)
    return found


def report(found):
    for (label, lang, w, path, kind, what) in found:
        print(f"  {label} {lang} {w}px {path}: {kind}: {what}")
    kinds = {}
    for f in found:
        kinds[f[4]] = kinds.get(f[4], 0) + 1
    print(f"phone sweep: {MEASURED[0]} page views measured, {len(found)} problems {kinds}")


def main():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    base, user, password = sys.argv[1:4]
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=412,915"]:
        opts.add_argument(a)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    try:
        driver.get(base + "/login")
        driver.find_element(By.NAME, "user").send_keys(user)
        driver.find_element(By.NAME, "password").send_keys(password)
        driver.find_element(By.CSS_SELECTOR, "form.card button").click()
        import time
        time.sleep(1)
        report(sweep(driver, base, user))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
