#!/usr/bin/env python3
"""The SD-card image's bill of materials as SPDX 2.3 JSON, from the image's
dpkg status file: every installed package with its version, architecture,
source package and a purl (pkg:deb/debian/...), for a vulnerability scanner
or a district's asset list. Deterministic: the same status file and commit
give the same document.

Usage: image-sbom.py ROOT/var/lib/dpkg/status COMMIT > sbom.spdx.json
"""

import datetime
import json
import os
import sys
import uuid


def packages(status_path):
    """Installed packages from a dpkg status file, as dicts of its fields."""
    with open(status_path, encoding="utf-8") as f:
        text = f.read()
    for stanza in text.split("\n\n"):
        fields = {}
        key = None
        for line in stanza.splitlines():
            if line.startswith((" ", "\t")) and key:
                continue  # a continuation (descriptions, conffiles)
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        if fields.get("Status", "").endswith(" installed"):
            yield fields


def spdx_id(name, arch):
    safe = "".join(c if c.isalnum() or c in ".-" else "-" for c in f"{name}-{arch}")
    return f"SPDXRef-Package-{safe}"


def document(status_path, commit):
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    created = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    pkgs = sorted(packages(status_path), key=lambda p: (p["Package"], p.get("Architecture", "")))
    out = []
    for p in pkgs:
        name, version, arch = p["Package"], p["Version"], p.get("Architecture", "all")
        source = p.get("Source", name).split(" ")[0]
        ours = name == "shoumen"
        out.append({
            "SPDXID": spdx_id(name, arch),
            "name": name,
            "versionInfo": version,
            "supplier": "Organization: Shoumen developers" if ours else "Organization: Debian",
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "licenseConcluded": "GPL-3.0-only" if ours else "NOASSERTION",
            "licenseDeclared": "GPL-3.0-only" if ours else "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "sourceInfo": f"built from the Debian source package {source}",
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": f"pkg:deb/debian/{name}@{version}?arch={arch}&distro=debian-12",
            }],
        })
    # A stable namespace: the same commit and packages name the same document.
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, commit + "".join(p["versionInfo"] for p in out))
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"shoumen-kiosk-arm64-image ({commit[:12]})",
        "documentNamespace": f"https://shoumen.invalid/spdx/image/{namespace}",
        "creationInfo": {"created": created, "creators": ["Tool: shoumen scripts/image-sbom.py"]},
        "packages": out,
        "relationships": [
            {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": p["SPDXID"]}
            for p in out
        ],
    }


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    json.dump(document(sys.argv[1], sys.argv[2]), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
