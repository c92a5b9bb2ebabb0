#!/usr/bin/python3
"""The SD-card image, booted: qemu-system-aarch64 -M virt (Debian's generic
arm64 kernel from the image, a virtio disk for the SD card, a virtio GPU for
the screen, user networking) with a committee server on this machine.

What it checks, as a district would see it on the first boot of a gate:
the data partition grows to the card, the kiosk's unit reaches READY, the
enrollment screen shows a code (a screenshot of the guest's screen is
saved), an admin claims that code on the server's Gates page, and the
kiosk enrolls itself and reaches the server. Then it measures what the
kiosk writes to its card (qemu's block statistics: the guest's
/proc/diskstats seen from outside) for SOAK minutes and stops the guest
cleanly.

The server's certificate is from a CA made here, which the image is told
to trust (scripts/image-configure.sh --server-ca), as a district with its
own CA does. `virt` has no Pi GPIO, I2C or camera, so the kiosk runs on
simulated devices (--simulated); the image as built drives the real ones.

Needs: qemu-system-arm qemu-utils e2fsprogs fdisk python3-cryptography,
the image (scripts/image-build.sh) and target/release/shoumen-server.
Usage: python3 .ci/image-boot.py [--image target/image] [--shots DIR]
       [--soak-min N]
"""

import datetime
import http.cookiejar
import ipaddress
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(ROOT, "target", "release", "shoumen-server")
PASSWORD = "image-boot-pw-1"


def arg(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def make_ca(tmp):
    """A CA and a server certificate for 10.0.2.2 (the host as qemu's
    user network shows it) and 127.0.0.1 (this script)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test district CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(1)
          .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.IPAddress(ipaddress.ip_address("10.0.2.2")), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "shoumen test server")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(2)
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    paths = {n: os.path.join(tmp, n) for n in ("ca.pem", "cert.pem", "key.pem")}
    with open(paths["ca.pem"], "wb") as f:
        f.write(ca.public_bytes(serialization.Encoding.PEM))
    with open(paths["cert.pem"], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["key.pem"], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths


class Admin:
    """The committee admin on the server's pages, over HTTPS."""

    def __init__(self, base, ca):
        self.base = base
        ctx = ssl.create_default_context(cafile=ca)
        jar = http.cookiejar.CookieJar()
        self.open = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx),
                                                urllib.request.HTTPCookieProcessor(jar)).open

    def get(self, path):
        with self.open(self.base + path, timeout=20) as r:
            return r.read().decode()

    def post(self, path, form):
        req = urllib.request.Request(self.base + path, data=urllib.parse.urlencode(form).encode(),
                                     headers={"Origin": self.base})
        with self.open(req, timeout=20) as r:
            return r.read().decode()

    def log_in(self):
        page = self.get("/login")
        self.post("/login", {"user": "admin", "password": PASSWORD, "csrf": csrf(page)})

    def claim(self, code, gate):
        page = self.get("/gates/enroll?code=" + urllib.parse.quote(code))
        return self.post("/gates/enroll", {"code": code, "gate": gate, "csrf": csrf(page)})


def csrf(html):
    m = re.search(r'name="?csrf"? value="([^"]+)"', html)
    assert m, "a form with a CSRF token"
    return m.group(1)


class Guest:
    """qemu-system-aarch64 with the image; its serial console in a file,
    its monitor (QMP) on a socket."""

    def __init__(self, image_dir, disk, tmp):
        self.serial = os.path.join(tmp, "serial.log")
        self.qmp_path = os.path.join(tmp, "qmp.sock")
        boot = os.path.join(image_dir, "boot")
        cmdline = ("root=LABEL=shoumen-root ro rootwait fsck.repair=yes console=ttyAMA0 "
                   "systemd.journald.forward_to_console=1 systemd.show_status=1")
        self.proc = subprocess.Popen([
            "qemu-system-aarch64", "-M", "virt", "-cpu", "cortex-a72", "-smp", "2", "-m", "1024",
            "-accel", "tcg,thread=multi",
            "-kernel", os.path.join(boot, "vmlinuz"), "-initrd", os.path.join(boot, "initrd.img"),
            "-append", cmdline,
            "-drive", f"file={disk},if=none,id=sd,format=raw,cache=unsafe", "-device", "virtio-blk-pci,drive=sd",
            "-device", "virtio-gpu-pci,xres=800,yres=480",
            "-netdev", "user,id=net", "-device", "virtio-net-pci,netdev=net,romfile=",
            "-display", "none", "-serial", f"file:{self.serial}",
            "-qmp", f"unix:{self.qmp_path},server=on,wait=off", "-no-reboot",
        ])
        self.qmp = None

    def log(self):
        try:
            with open(self.serial, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_for(self, pattern, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(pattern, self.log())
            if m:
                return m
            if self.proc.poll() is not None:
                break
            time.sleep(1)
        sys.stdout.write(self.log()[-6000:])
        raise SystemExit(f"image boot: {what} did not happen within {timeout} s")

    def command(self, name, **args):
        if self.qmp is None:
            self.qmp = socket.socket(socket.AF_UNIX)
            self.qmp.connect(self.qmp_path)
            self.qmp_file = self.qmp.makefile("rw")
            self.qmp_file.readline()
            self.command("qmp_capabilities")
        self.qmp_file.write(json.dumps({"execute": name, "arguments": args}) + "\n")
        self.qmp_file.flush()
        while True:
            answer = json.loads(self.qmp_file.readline())
            if "return" in answer or "error" in answer:
                if "error" in answer:
                    raise RuntimeError(f"qmp {name}: {answer['error']}")
                return answer["return"]

    def written(self):
        """Bytes and write requests the guest sent to its card."""
        for dev in self.command("query-blockstats"):
            if dev.get("qdev", "").endswith("virtio-backend") or dev.get("device") == "sd":
                return dev["stats"]["wr_bytes"], dev["stats"]["wr_operations"]
        raise RuntimeError("no block statistics for the card")

    def screenshot(self, path):
        self.command("screendump", filename=path, format="png")

    def power_off(self):
        self.command("system_powerdown")
        try:
            self.proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise SystemExit("image boot: the guest did not power off within 180 s")


def main():
    image_dir = arg("--image", os.path.join(ROOT, "target", "image"))
    shots = arg("--shots", None)
    soak_min = float(arg("--soak-min", os.environ.get("SHOUMEN_IMAGE_SOAK_MIN", "2")))
    image = os.path.join(image_dir, "shoumen-kiosk-arm64.img")
    for need in (image, SERVER):
        if not os.path.exists(need):
            raise SystemExit(f"{need} is missing (scripts/image-build.sh; cargo build --release)")
    tmp = tempfile.mkdtemp(prefix="shoumen-image-")
    tls = make_ca(tmp)
    db = os.path.join(tmp, "server.db")
    subprocess.run([SERVER, "--db", db, "init", "--community", "lotus-gdn", "--password-env", "PW"],
                   env={**os.environ, "PW": PASSWORD}, check=True, capture_output=True)
    server = subprocess.Popen([SERVER, "--db", db, "--listen", "0.0.0.0:0", "--cert", tls["cert.pem"],
                               "--key", tls["key.pem"]], stdout=subprocess.PIPE, text=True)
    guest = None
    try:
        port = int(server.stdout.readline().strip().rsplit(":", 1)[1])
        # The card: a copy of the image on a bigger disk (a 2 GB card here).
        disk = os.path.join(tmp, "sd.img")
        subprocess.run(["cp", "--sparse=always", image, disk], check=True)
        os.truncate(disk, 2 * 1024 ** 3)
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "image-configure.sh"), disk,
                        "--server", f"https://10.0.2.2:{port}", "--server-ca", tls["ca.pem"], "--simulated",
                        "--gate", "North gate"], check=True)
        started = time.time()
        guest = Guest(image_dir, disk, tmp)
        guest.wait_for(r"Started shoumen\.service", 900, "the kiosk's unit reaching READY")
        ready_s = time.time() - started
        grown = guest.wait_for(r"grow-data\[\d+\]: (CHANGED[^\r\n]*)|Finished shoumen-grow-data", 60,
                               "the data partition's growth")
        m = guest.wait_for(r'not enrolled: showing a code code="([0-9A-Z-]+)" fingerprint="([^"]+)"',
                           300, "the enrollment code on the screen")
        code, fingerprint = m.group(1), m.group(2)
        code_s = time.time() - started
        time.sleep(3)  # the screen draws at its next frame
        shot = os.path.join(tmp, "image-boot-enroll.png")
        guest.screenshot(shot)
        for d in filter(None, [shots, os.path.join(ROOT, "target", "image")]):
            os.makedirs(d, exist_ok=True)
            shutil.copy(shot, os.path.join(d, "image-boot-enroll.png"))
        admin = Admin(f"https://127.0.0.1:{port}", tls["ca.pem"])
        admin.log_in()
        page = admin.claim(code, "North gate")
        if not re.search(r"enrolled from the screen", guest.log()):
            time.sleep(20)
        if not re.search(r"enrolled from the screen", guest.log()):
            main_text = re.sub(r"<[^>]+>", " ", page.split("<main", 1)[-1])
            print("the Gates page answered the claim with:", re.sub(r"\s+", " ", main_text)[:1500])
        guest.wait_for(r"enrolled from the screen", 120, "the kiosk enrolling once its code was claimed")
        guest.wait_for(r"entries synced", 120, "the kiosk's first sync with the server")
        enrolled_s = time.time() - started
        gates = admin.get("/gates")
        assert "North gate" in gates, gates[:2000]
        print(f"image boot: READY after {ready_s:.0f} s, code {code} (fingerprint {fingerprint}) on the screen "
              f"after {code_s:.0f} s, enrolled and synced after {enrolled_s:.0f} s")
        print(f"image boot: data partition: {grown.group(1) or 'grown (no change reported)'}")
        print(f"image boot: screenshot {shot} ({os.path.getsize(shot)} bytes)")

        # What the running kiosk writes to its card.
        b0, n0 = guest.written()
        t0 = time.time()
        time.sleep(soak_min * 60)
        b1, n1 = guest.written()
        span = time.time() - t0
        per_day = (b1 - b0) * 86400 / span
        print(f"image boot: card writes over {span / 60:.1f} min: {(b1 - b0) / 1024:.0f} KiB in {n1 - n0} requests, "
              f"{per_day / 1024 ** 2:.1f} MiB/day at this rate")
        guest.power_off()
        log = guest.log()
        assert "gate locked" in log or "Stopped shoumen.service" in log, "the kiosk did not stop cleanly"
        print("image boot: powered off cleanly")
    finally:
        if guest and guest.proc.poll() is None:
            guest.proc.kill()
        server.terminate()
        server.wait(timeout=10)
        if guest:
            shutil.copy(guest.serial, os.path.join(ROOT, "target", "image-boot-serial.log"))
    print("image boot passed")


if __name__ == "__main__":
    main()
