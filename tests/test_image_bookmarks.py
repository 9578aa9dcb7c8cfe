"""The desktop image's first-boot bookmark hook, run on a scratch root (no image build):
provisioning's bookmarks become a valid Firefox policies.json (with the Belgian eID
PKCS#11 module) and desktop links, and the contact details join the welcome text once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOOK = REPO / "images/os/overlay-desktop/etc/digibench/firstboot.d/10-bladwijzers"
PROVISIONED = REPO / "provisioning/files/etc/digibench"
WELCOME = REPO / "images/os/overlay/etc/digibench/welkom.txt"


def _run(root: Path) -> None:
    subprocess.run(["sh", str(HOOK)], env=os.environ | {"ROOT": str(root)}, check=True, timeout=60)


def test_bookmarks_eid_module_and_contact(tmp_path: Path) -> None:
    etc = tmp_path / "etc/digibench"
    shutil.copytree(PROVISIONED, etc)
    shutil.copy(WELCOME, etc / "welkom.txt")
    (etc / "bladwijzers.tsv").write_text(
        (etc / "bladwijzers.tsv").read_text() + 'Quote "test"\\x\thttps://example.org/?a=1&b="2"\n'
    )
    _run(tmp_path)
    _run(tmp_path)  # a second run changes nothing twice
    policies = json.loads((tmp_path / "etc/firefox/policies/policies.json").read_text())["policies"]
    assert policies["SecurityDevices"]["Add"] == {
        "Belgische eID": "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so"
    }
    titles = [b["Title"] for b in policies["Bookmarks"]]
    assert titles[:3] == ["Tax-on-web", "MyMinfin", "VDAB"]
    assert "Helpdesk van het programma" in titles and 'Quote "test"\\x' in titles
    assert all(b["URL"].startswith("https://") for b in policies["Bookmarks"])
    links = sorted((tmp_path / "etc/skel/Bureaublad").glob("*.desktop"))
    assert len(links) == len(titles)
    assert "URL=https://taxonweb.be/" in links[0].read_text()
    welcome = (etc / "welkom.txt").read_text()
    assert welcome.count("helpdesk@") == 1 and welcome.startswith("Welkom")
