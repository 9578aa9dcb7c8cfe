"""End to end, network boot: laptops with no stick boot the agent from a bench server.

Four virtual laptops start at once, each with only a network card and a disk: SeaBIOS runs
the card's iPXE (Debian's ipxe-qemu), QEMU's built-in DHCP/TFTP hands it a script that
chains to the bench server (``digibench netboot serve``, on loopback; the guests reach it
through a relay as 10.0.2.100 with ``restrict=on``), which serves the live kernel and
initramfs. Each laptop joins the bench (a per-boot session, its config by MAC address):

- three run a headless intake: wipe, flash the OS image streamed from the bench, grade,
  and report through the bench (which signs for the station) to the central server;
- one has no consent to wipe in its config: it stops at the confirmation.

Meanwhile the Werkbank page (Playwright, Debian's chromium) shows the runs with their
stages and ETAs changing, the one waiting for confirmation on top. Afterwards: the reports
at the server (signed as the station), no donor data left, the image on each disk, and
the bench server's log: the OS image was read from its backing store once.

Needs root, QEMU (software emulation), ipxe-qemu and both images (``make e2e``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent.netboot.ipxe import chain_script
from tests.e2e.conftest import ARTIFACTS, failed
from tests.e2e.laptop import MiB, count_marker, donor_disk, new_marker, partitions, same_bytes
from tests.images.qemu import BUILD, QEMU, REPO, require, tail
from tests.netboot.bench_process import BenchProcess
from tests.uplink.server_process import ServerProcess, Station
from tests.web.browser import ARGS, CHROMIUM

pytestmark = [pytest.mark.e2e, pytest.mark.root, pytest.mark.slow]

NETBOOT = BUILD / "live" / "netboot"  # vmlinuz + initrd.img (make live-image)
OS_MANIFEST = BUILD / "os" / "digibench-debian-minimal.img.manifest.json"
GUEST_BENCH = "10.0.2.100"
PASSWORD = "netboot-werkbank-password"
DISK = 1408 * MiB  # the minimal OS image needs 1402 MiB: small disks keep the proof short
KERNEL_ARGS = (
    "console=ttyS0,115200 loglevel=6 systemd.mask=serial-getty@ttyS0.service digibench.poweroff=1 "
    # a starved host (TCG) fails the kernel's IO-APIC timer check: skip it; a panic powers off
    "no_timer_check panic=5"
)
POLICY = """\
[grading]
ram_lend_gib = 1.5
ram_a_gib = 1.6
ram_recycle_gib = 0.5
storage_lend_gb = 1
storage_a_gb = 2

[grading.repair_cost]
battery = 0
"""


@dataclass(frozen=True)
class Laptop:
    name: str
    mac: str
    tag: str
    serial: str  # the disk's
    consent: bool  # [headless] confirm_wipe: False = it waits for a person


LAPTOPS = [
    Laptop("a", "52:54:00:4e:42:01", "DB-NET-0001", "NETDISK0001", True),
    Laptop("b", "52:54:00:4e:42:02", "DB-NET-0002", "NETDISK0002", True),
    Laptop("c", "52:54:00:4e:42:03", "DB-NET-0003", "NETDISK0003", False),
    Laptop("d", "52:54:00:4e:42:04", "DB-NET-0004", "NETDISK0004", True),
]
WAITING = next(lt for lt in LAPTOPS if not lt.consent)
FLASHING = [lt for lt in LAPTOPS if lt.consent]


@dataclass
class World:
    work: Path
    central: ServerProcess
    station: Station
    bench: BenchProcess
    tftp: Path
    markers: dict[str, bytes] = field(default_factory=dict)


def _bench_config(work: Path, central: ServerProcess, station: Station) -> Path:
    data = work / "bench"
    shutil.copytree(station.key_dir, data / "keys")
    (data / "policy.toml").write_text(POLICY)
    allowed = json.dumps([f"serial:{lt.serial}" for lt in LAPTOPS])
    config = data / "station.toml"
    config.write_text(
        f'policy = "policy.toml"\n\n[station]\nname = "{station.name}"\nlanguage = "nl"\n'
        f'data_dir = "."\n\n[server]\nurl = "{central.url}"\ntoken = "{station.token}"\n'
        f'timeout_s = 20\n\n[image]\nsource = "{OS_MANIFEST}"\n\n'
        '[wipe]\npattern = "zero"\nverify_percent = 10\n\n'
        f"[testing]\nallowed_devices = {allowed}\n"
    )
    laptops = "".join(
        f'["{lt.mac}"]\nheadless = true\n'
        f'run = {{ asset_tag = "{lt.tag}", confirm_wipe = {str(lt.consent).lower()}, '
        'cosmetic = "C4" }\n'
        for lt in LAPTOPS
    )
    (work / "laptops.toml").write_text(laptops)
    return config


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    phase: Callable[[str], AbstractContextManager[None]],
) -> Iterator[World]:
    require(NETBOOT / "initrd.img", "live-image")
    require(OS_MANIFEST, "os-image")
    if not Path("/usr/lib/ipxe/qemu/efi-virtio.rom").exists():
        pytest.skip("QEMU's iPXE ROMs are not installed (ipxe-qemu; scripts/setup-debian.sh)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    work = tmp_path_factory.mktemp("netboot")
    central = ServerProcess(work / "server", postgres_url=None)
    bench: BenchProcess | None = None
    try:
        with phase("netboot: central server, bench station, bench server"):
            central.start()
            station = central.add_station("netboot-bench")
            env = central.env | {"DJANGO_SETTINGS_MODULE": "server.settings",
                                 "DIGIBENCH_PASSWORD": PASSWORD}  # fmt: skip
            subprocess.run([sys.executable, "-m", "django", "webuser", "vera", "--role",
                            "technician"], env=env, check=True, capture_output=True,
                           timeout=120)  # fmt: skip
            config = _bench_config(work, central, station)
            bench = BenchProcess(
                config, NETBOOT, work, public_url=f"http://{GUEST_BENCH}",
                laptops=work / "laptops.toml", kernel_args=KERNEL_ARGS,
            )  # fmt: skip
            bench.start()
            tftp = work / "tftp"
            tftp.mkdir()
            (tftp / "digibench.ipxe").write_text(chain_script(f"http://{GUEST_BENCH}"))
        w = World(work, central, station, bench, tftp)
        with phase("netboot: four laptop disks (1.4 GiB) with a donor's data"):
            for lt in LAPTOPS:
                w.markers[lt.name] = new_marker(lt.name)
                donor_disk(work / f"{lt.name}.raw", DISK, w.markers[lt.name], work)
        yield w
    finally:
        if bench is not None:
            bench.stop()
            if bench.log.exists():
                shutil.copyfile(bench.log, ARTIFACTS / "netboot-bench.log")
        central.stop()
        if central.log.exists():
            shutil.copyfile(central.log, ARTIFACTS / "netboot-server.log")
        for big in work.glob("*.raw"):
            big.unlink()
        if not failed(request.config):
            shutil.rmtree(work, ignore_errors=True)


def _qemu(world: World, lt: Laptop) -> subprocess.Popen[bytes]:
    relay = f"{sys.executable} {REPO / 'tests/e2e/relay.py'} 127.0.0.1 {world.bench.port}"
    net = (
        f"user,id=net0,restrict=on,tftp={world.tftp},bootfile=digibench.ipxe,"
        f"guestfwd=tcp:{GUEST_BENCH}:80-cmd:{relay}"
    )
    cmd = [
        QEMU, "-nodefaults", "-display", "none", "-no-reboot", "-m", "2048", "-smp", "2",
        "-serial", f"file:{ARTIFACTS / f'netboot-{lt.name}.ttyS0.log'}",
        "-smbios", f"type=1,manufacturer=Digibench E2E,product=Netboot Laptop,serial=NB-{lt.tag}",
        "-netdev", net, "-device", f"virtio-net-pci,netdev=net0,mac={lt.mac},bootindex=0",
        "-drive", f"if=none,id=disk,format=raw,file={world.work / f'{lt.name}.raw'}",
        "-device", f"nvme,serial={lt.serial},drive=disk",
    ]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


class Werkbank:
    """The Werkbank page in chromium, logged in; snapshots of its rows."""

    def __init__(self, url: str) -> None:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self._browser = self._pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        self.page = self._browser.new_context(locale="nl-BE").new_page()
        self.page.goto(f"{url}/werkbank/")
        self.page.fill("input[name=username]", "vera")
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url("**/werkbank/**")
        self.snapshots: list[list[tuple[str, str, bool]]] = []

    def snapshot(self) -> list[tuple[str, str, bool]]:
        """The rows now. The page reloads itself (every few seconds): no navigation here,
        and a read that meets a reload is simply tried again next time."""
        from playwright.sync_api import Error

        try:
            self.page.wait_for_load_state()
            rows = self.page.locator("tbody tr").evaluate_all(
                "rows => rows.map(r => [r.dataset.tag || '', r.innerText,"
                " r.classList.contains('attention')])"
            )
        except Error:
            return []
        snap = [(str(tag), " ".join(str(text).split()), bool(att)) for tag, text, att in rows]
        self.snapshots.append(snap)
        return snap

    def close(self, screenshot: Path) -> None:
        try:
            self.page.screenshot(path=str(screenshot), full_page=True)
        finally:
            self._browser.close()
            self._pw.stop()


def _seen_three_at_work_waiting_first(snap: list[tuple[str, str, bool]]) -> bool:
    tags = [tag for tag, _, _ in snap]
    working = [tag for tag, text, att in snap if tag in {lt.tag for lt in FLASHING} and not att]
    return bool(snap) and tags[0] == WAITING.tag and snap[0][2] and len(working) >= 2


def _updates(snapshots: list[list[tuple[str, str, bool]]]) -> dict[str, set[str]]:
    """Per flashing laptop, the different texts its row showed while at work."""
    seen: dict[str, set[str]] = {lt.tag: set() for lt in FLASHING}
    for snap in snapshots:
        for tag, text, att in snap:
            if tag in seen and not att:
                seen[tag].add(text)
    return seen


def test_laptops_boot_from_the_network_and_flash_from_one_read(
    world: World, phase: Callable[[str], AbstractContextManager[None]]
) -> None:
    procs: dict[str, subprocess.Popen[bytes]] = {}
    ended: dict[str, float] = {}
    werkbank = Werkbank(world.central.url)
    t0 = time.monotonic()
    try:
        with phase("netboot: four VMs boot by iPXE; three wipe and flash, one waits"):
            for lt in LAPTOPS:
                procs[lt.name] = _qemu(world, lt)
            deadline = time.monotonic() + 3600
            while len(ended) < len(LAPTOPS) and time.monotonic() < deadline:
                for name, proc in procs.items():
                    if name not in ended and proc.poll() is not None:
                        ended[name] = time.monotonic() - t0
                werkbank.snapshot()
                time.sleep(8)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
                proc.wait(20)
        werkbank.close(ARTIFACTS / "netboot-werkbank.png")
        (ARTIFACTS / "netboot-werkbank.json").write_text(json.dumps(werkbank.snapshots, indent=1))
    for name, took in sorted(ended.items()):
        print(f"netboot: VM {name} powered off after {took:.0f} s", file=sys.__stderr__)
    consoles = {lt.name: ARTIFACTS / f"netboot-{lt.name}.ttyS0.log" for lt in LAPTOPS}
    for lt in LAPTOPS:
        assert lt.name in ended, f"VM {lt.name} did not finish:\n{tail(consoles[lt.name], 80)}"
        text = consoles[lt.name].read_text(errors="replace")
        assert f"network boot from the bench server http://{GUEST_BENCH}" in text, tail(
            consoles[lt.name], 80
        )
        status = 0 if lt.consent else 1  # no consent: it stopped at the confirmation
        assert f"agent exited with status {status}" in text, tail(consoles[lt.name], 120)

    with phase("netboot: the Werkbank followed the runs, the waiting laptop on top"):
        assert any(_seen_three_at_work_waiting_first(s) for s in werkbank.snapshots), (
            werkbank.snapshots[-10:]
        )
        changing = {tag: texts for tag, texts in _updates(werkbank.snapshots).items()}
        assert all(len(texts) >= 3 for texts in changing.values()), changing
        waiting_rows = [s[0] for s in werkbank.snapshots if s and s[0][0] == WAITING.tag]
        assert any("wissen bevestigen" in text for _, text, _ in waiting_rows), waiting_rows

    with phase("netboot: reports at the server, signed as the bench station"):
        for lt in FLASHING:
            _check_report(world, lt)
        devices = _api(world, "devices", asset_tag=WAITING.tag)["devices"]
        assert not devices or not devices[0]["runs"], devices  # nothing wiped, nothing sent
        assert not list((world.work / "bench" / "outbox").glob("*.json")), "reports wait"

    with phase("netboot: the OS image was read from the bench's store once"):
        zst = json.loads(OS_MANIFEST.read_text())["image"]
        assert world.bench.backing_reads(zst) == 1, world.bench.log.read_text()[-3000:]
        assert world.bench.backing_reads("initrd.img") == 1

    with phase("host: no donor data left, the OS image on every flashed disk"):
        image = Path(str(OS_MANIFEST).removesuffix(".manifest.json"))
        esp = partitions(image)[0]
        start, size = int(str(esp["start"])) * 512, int(str(esp["size"])) * 512
        for lt in FLASHING:
            disk = world.work / f"{lt.name}.raw"
            assert count_marker(disk, world.markers[lt.name]) == 0, f"{lt.name}: donor data"
            assert [p["uuid"] for p in partitions(disk)] == [p["uuid"] for p in partitions(image)]
            assert same_bytes(image, disk, start, size), f"{lt.name}: the ESP differs"
        waiting_disk = world.work / f"{WAITING.name}.raw"
        assert count_marker(waiting_disk, world.markers[WAITING.name]) > 0  # untouched


def _api(world: World, path: str, **params: str) -> Any:
    return world.central.api(path, world.station.token, **params)


def _check_report(world: World, lt: Laptop) -> None:
    (device,) = _api(world, "devices", asset_tag=lt.tag)["devices"]
    (run,) = device["runs"]
    assert run["mode"] == "intake", run
    stored = _api(world, f"reports/{run['report_id']}")
    assert stored["signature_status"] == "valid", stored["signature_status"]
    report = stored["report"]
    assert report["station"]["name"] == world.station.name
    (record,) = report["erasures"]
    assert record["disk_serial"] == lt.serial and record["result"] == "erased", record
    (image,) = report["images"]
    assert image["verified"] is True and image["target_disk_serial"] == lt.serial, image
