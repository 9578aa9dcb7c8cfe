"""End to end: a stick with no station token pairs itself with the server from the web UI.

1. The stick (the released live image, written with a config that has no server token)
   boots a virtual laptop; the launcher runs ``digibench enrol``, whose pairing code shows
   on the serial console. The test logs into the web UI as an admin, types the code in
   "Stations → Koppelen" and names the station; the stick collects its token, writes it to
   its config and goes on with a headless intake (wipe, grade, upload) that reaches the
   server under the new name. The same code then finds no open pairing.
2. The admin revokes the station in the web UI; the next boot's upload is refused, the
   station says why in its log, and the report waits in the stick's outbox.

Runs after test_station_vm.py (file order: that module clears build/e2e/ first).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
import time
import tomllib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import ARTIFACTS, failed
from tests.e2e.laptop import MiB, count_marker, donor_disk, new_marker, run
from tests.images.qemu import BUILD, QEMU, REPO, loop_device, mounted, ovmf, require, tail
from tests.uplink.server_process import ServerProcess
from tests.uplink.test_enrol import PASSWORD, _admin_session

pytestmark = [pytest.mark.e2e, pytest.mark.root, pytest.mark.slow]

LIVE = BUILD / "live" / "digibench-live.img"
GUEST_SERVER = "10.0.2.100"
DISK_SERIAL = "PAIRDISK0001"
TAG, TAG_AFTER_REVOKE = "DB-PAIR-0001", "DB-PAIR-0002"
NAME = "werkbank-noord"  # what the admin calls the station in the web UI (_decide)
CODE = re.compile(r"\b([B-X2-6]{4}-[B-X2-6]{4})\b")
BOOT_CFG = (
    f'set digibench_extra="digibench.headless=1 digibench.poweroff=1 '
    f"digibench.server=http://{GUEST_SERVER} console=ttyS0,115200 loglevel=6 "
    'systemd.mask=serial-getty@ttyS0.service"\n'
)
POLICY = """\
[grading]
ram_lend_gib = 1.5
ram_a_gib = 1.6
ram_recycle_gib = 0.5
storage_lend_gb = 0.01
storage_a_gb = 0.02

[grading.repair_cost]
battery = 0
"""


def _config(tag: str) -> str:
    """A station config as an admin fills it in before pairing: no [server] token."""
    return textwrap.dedent(
        f"""\
        # written before pairing; `digibench enrol` adds the server and token below
        policy = "policy.toml"

        [station]
        name = "not-paired-yet"
        language = "nl"
        mode = "intake"
        data_dir = "."

        [wipe]
        pattern = "zero"
        verify_percent = 100

        [headless]
        asset_tag = "{tag}"
        confirm_wipe = true
        cosmetic = "C4"

        [testing]
        allowed_devices = ["serial:{DISK_SERIAL}"]
        """
    )


@dataclass
class Bench:
    work: Path
    server: ServerProcess
    web: requests.Session
    stick: Path
    disk: Path
    marker: bytes
    planted: int
    token: str = ""  # the station's, once paired (read from the stick's config)


@contextmanager
def _stick_data(bench: Bench, name: str) -> Iterator[Path]:
    with loop_device(bench.stick) as dev, mounted(f"{dev}p4", bench.work / f"mnt-{name}") as data:
        yield data


@pytest.fixture(scope="module")
def bench(
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    phase: Callable[[str], AbstractContextManager[None]],
) -> Iterator[Bench]:
    require(LIVE, "live-image")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    work = tmp_path_factory.mktemp("pairing")
    server = ServerProcess(work / "server", postgres_url=None)
    server.env["DIGIBENCH_ALLOWED_HOSTS"] = f"127.0.0.1,{GUEST_SERVER}"
    try:
        with phase("pairing: server with an admin login, no station yet"):
            server.start()
            web = _admin_session(server)
        stick, disk = work / "stick.img", work / "disk.raw"
        with phase("pairing: stick written with a config that has no token"):
            (work / "station.toml").write_text(_config(TAG))
            (work / "policy.toml").write_text(POLICY)
            run("bash", str(REPO / "images/live/stick.sh"), str(stick), str(work / "station.toml"),
                timeout=600)  # fmt: skip
            marker = new_marker("pairing")
            planted = donor_disk(disk, 64 * MiB, marker, work)
            bench = Bench(work, server, web, stick, disk, marker, planted)
            with _stick_data(bench, "prepare") as data:
                (data / "boot.cfg").write_text(BOOT_CFG)
                assert "token =" not in (data / "station.toml").read_text()
        yield bench
    finally:
        server.stop()
        if server.log.exists():
            shutil.copyfile(server.log, ARTIFACTS / "pairing-server.log")
        for big in work.glob("*.raw"):
            big.unlink()
        (work / "stick.img").unlink(missing_ok=True)
        if not failed(request.config):
            shutil.rmtree(work, ignore_errors=True)


def _boot(bench: Bench, name: str, *, on_console: Callable[[str], bool] | None = None,
          timeout: float = 1800) -> str:  # fmt: skip
    """Boot the laptop from the stick until it powers off; ``on_console`` sees the serial
    console as it grows (it returns True once it has done its part)."""
    serial0 = ARTIFACTS / f"pairing-{name}.ttyS0.log"
    serial0.unlink(missing_ok=True)  # an earlier run's console holds an old, spent code
    relay = f"{sys.executable} {REPO / 'tests/e2e/relay.py'} 127.0.0.1 {bench.server.port}"
    args = [
        QEMU, "-nodefaults", "-display", "none", "-no-reboot", "-m", "2048", "-smp", "2",
        "-serial", f"file:{serial0}",
        *ovmf(bench.work),
        "-smbios", "type=1,manufacturer=Digibench E2E,product=Pairing Laptop,serial=PAIR-1",
        "-netdev", f"user,id=net0,restrict=on,guestfwd=tcp:{GUEST_SERVER}:80-cmd:{relay}",
        "-device", "virtio-net-pci,netdev=net0",
        "-device", "qemu-xhci,id=xhci",
        "-drive", f"if=none,id=stick,format=raw,file={bench.stick}",
        "-device", "usb-storage,bus=xhci.0,drive=stick,removable=on,bootindex=0",
        "-drive", f"if=none,id=d0,format=raw,file={bench.disk}",
        "-device", f"ide-hd,bus=ide.0,drive=d0,serial={DISK_SERIAL}",
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline, done = time.monotonic() + timeout, on_console is None
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if not done and serial0.exists():
                done = on_console(serial0.read_text(errors="replace"))  # type: ignore[misc]
            time.sleep(2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    console = serial0.read_text(errors="replace") if serial0.exists() else ""
    assert proc.returncode == 0, f"the VM did not power off by itself:\n{tail(serial0, 80)}"
    assert "agent exited with status" in console, tail(serial0, 120)
    return console


def _approve_in_browser(bench: Bench, code: str) -> None:
    """The admin, in Debian's chromium: log in, Stations → Koppelen, type the code, check the
    key fingerprint is shown, name the station, approve."""
    from playwright.sync_api import sync_playwright

    from tests.web.browser import ARGS, CHROMIUM

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_context(locale="nl-BE").new_page()
            page.goto(f"{bench.server.url}/stations/koppelen/")
            page.fill("input[name=username]", "ada")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("input[name=code]")
            page.fill("input[name=code]", code)
            page.click("text=Opzoeken")
            page.wait_for_selector("text=Vingerafdruk van de sleutel")
            page.screenshot(path=str(ARTIFACTS / "pairing-approve.png"), full_page=True)
            page.fill("input[name=name]", NAME)
            page.click("button[value=approve]")
            page.wait_for_selector(f"text=Station {NAME} is gekoppeld")
        finally:
            browser.close()


def _keep_logs(data: Path, name: str) -> str:
    dest = ARTIFACTS / "stick" / f"pairing-{name}"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(data / "logs", dest / "logs")
    return sorted((data / "logs").glob("station-*.log"))[-1].read_text(errors="replace")


def _runs(bench: Bench, tag: str, token: str) -> list[dict[str, Any]]:
    answer = requests.get(f"{bench.server.url}/api/v1/devices", params={"asset_tag": tag},
                          headers={"Authorization": f"Bearer {token}"}, timeout=20)  # fmt: skip
    assert answer.status_code == 200, answer.text
    devices = answer.json()["devices"]
    return devices[0]["runs"] if devices else []


def test_a_new_stick_pairs_from_the_web_ui_and_reports_under_its_new_name(
    bench: Bench, phase: Callable[[str], AbstractContextManager[None]]
) -> None:
    seen: list[str] = []

    def approve_when_shown(console: str) -> bool:
        found = CODE.search(console)
        if found is None:
            return False
        seen.append(found.group(1))
        _approve_in_browser(bench, found.group(1))
        return True

    with phase("pairing VM 1: code on the console, approved in the web UI, headless intake"):
        console = _boot(bench, "1-pair", on_console=approve_when_shown)
    assert seen, f"no pairing code on the console:\n{console[-3000:]}"
    with _stick_data(bench, "after-pairing") as data:
        log = _keep_logs(data, "1-pair")
        config = (data / "station.toml").read_text()
        assert "agent exited with status 0" in console, log[-4000:]
        assert f'name = "{NAME}"' in config and "token = " in config, config
        bench.token = tomllib.loads(config)["server"]["token"]
        assert config.startswith("# written before pairing")  # the admin's comment is kept
        assert not list((data / "outbox").rglob("*.json")), "the report stayed on the stick"
    with phase("pairing host: the wipe and the server's record"):
        assert count_marker(bench.disk, bench.marker) == 0
        runs = _runs(bench, TAG, bench.token)
        assert len(runs) == 1 and runs[0]["station"] == NAME, runs
    # the code is spent: typing it again finds no open pairing
    again = bench.web.post(
        f"{bench.server.url}/stations/koppelen/",
        data={"code": seen[0], "csrfmiddlewaretoken": bench.web.cookies["csrftoken"]},
        headers={"Referer": bench.server.url}, timeout=10, allow_redirects=False,
    )  # fmt: skip
    assert again.status_code == 200 and "Geen open koppeling" in again.text


def test_a_revoked_station_is_told_and_keeps_its_report(
    bench: Bench, phase: Callable[[str], AbstractContextManager[None]]
) -> None:
    stations = bench.web.get(f"{bench.server.url}/stations/", timeout=10).text
    revoke = re.search(r'action="(/stations/\d+/revoke)"', stations)
    assert revoke is not None, stations
    answer = bench.web.post(
        bench.server.url + revoke.group(1),
        data={"csrfmiddlewaretoken": bench.web.cookies["csrftoken"]},
        headers={"Referer": bench.server.url}, timeout=10, allow_redirects=False,
    )  # fmt: skip
    assert answer.status_code == 302
    with _stick_data(bench, "next-laptop") as data:
        config = data / "station.toml"
        config.write_text(config.read_text().replace(TAG, TAG_AFTER_REVOKE))
    with phase("pairing VM 2: the station was revoked; its upload is refused"):
        _boot(bench, "2-revoked")
    with _stick_data(bench, "after-revoke") as data:
        log = _keep_logs(data, "2-revoked")
        assert "token has been revoked" in log, log[-4000:]
        assert len(list((data / "outbox").glob("*.json"))) == 1, "the report must wait"
    assert (
        "revoked"
        in requests.get(
            f"{bench.server.url}/api/v1/devices",
            timeout=20,
            headers={"Authorization": f"Bearer {bench.token}"},
        ).text
    )
