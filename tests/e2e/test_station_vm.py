"""End to end, in virtual machines: a donated laptop goes through the real stick, gets wiped,
flashed, graded and reported, and then boots; a worn disk and a server that is down are
handled without losing anything.

The tests run in file order and build on each other (one stick, one server, one laptop):

1. intake: the stick (``make live-image``, written by ``make stick`` with the minimal OS
   image) boots under OVMF on a "laptop" with a NVMe and a SATA disk full of a donor's data;
   the agent runs headless, wipes both, flashes the NVMe, grades, uploads and powers off.
   Checked from the host with grep, cmp, e2fsck, diff and the server's API.
2. the flashed NVMe disk boots by itself, grows its root and takes the asset tag as hostname.
3. a second laptop whose disk has a medium-error range (the guest kernel's scsi_debug,
   loaded through the station config) while the server is down: wiped with exceptions,
   not lendable, and the report waits in the stick's outbox.
4. the next boot with the server up delivers that report exactly once.

Only files this test creates are attached to the VMs or to loop devices. Needs root, QEMU
(software emulation), OVMF and both images (``make e2e`` builds them first).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.e2e.conftest import ARTIFACTS, failed, figure
from tests.e2e.laptop import MiB, count_marker, donor_disk, new_marker, partitions, run, same_bytes
from tests.images.qemu import BUILD, REPO, boot, loop_device, mounted, ovmf, require, tail
from tests.uplink.server_process import ServerProcess, Station

pytestmark = [pytest.mark.e2e, pytest.mark.root, pytest.mark.slow]

LIVE = BUILD / "live" / "digibench-live.img"
OS_MANIFEST = BUILD / "os" / "digibench-debian-minimal.img.manifest.json"
GUEST_SERVER = "10.0.2.100"  # the only address the guest can reach: the host's server
NVME_SERIAL, SATA_SERIAL = "E2ENVME0001", "E2ESATA0001"
TAG, TAG_WORN, TAG_NEXT = "DB-E2E-0001", "DB-E2E-0002", "DB-E2E-0003"
VENDOR, PRODUCT = "Digibench E2E", "Virtual Laptop 14"
HOSTNAME = "db-e2e-0001"
# headless, console on serial, power off when done (read by the stick's GRUB)
BOOT_CFG = (
    'set digibench_extra="digibench.headless=1 digibench.poweroff=1 console=ttyS0,115200 '
    'loglevel=6 systemd.mask=serial-getty@ttyS0.service"\n'
)
# A virtual machine has no battery and 2 GiB of RAM, and these disks are small: judge
# the rest (wipe, image, disks) as for a real laptop.
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
# scsi_debug: a 64 MiB disk whose sectors 20000-20063 fail reads with MEDIUM ERROR
SCSI_DEBUG = ["scsi_debug", "dev_size_mb=64", "opts=2", "medium_error_start=20000",
              "medium_error_count=64"]  # fmt: skip


@dataclass
class World:
    work: Path
    server: ServerProcess
    station: Station
    stick: Path
    nvme: Path
    sata: Path
    markers: dict[str, bytes] = field(default_factory=dict)
    planted: dict[str, int] = field(default_factory=dict)
    report_ids: dict[str, str] = field(default_factory=dict)
    done: set[str] = field(default_factory=set)


def _station_toml(world: World, **over: Any) -> str:
    cfg: dict[str, Any] = {
        "tag": TAG, "mode": "intake", "image": f"images/{OS_MANIFEST.name}",
        "allowed": [f"serial:{NVME_SERIAL}", f"serial:{SATA_SERIAL}"], "modprobe": [],
    }  # fmt: skip
    cfg.update(over)
    image = f'source = "{cfg["image"]}"\n' if cfg["image"] else ""
    return textwrap.dedent(
        f"""\
        policy = "policy.toml"

        [station]
        name = "{world.station.name}"
        language = "nl"
        mode = "{cfg["mode"]}"
        data_dir = "."

        [server]
        url = "http://{GUEST_SERVER}"
        token = "{world.station.token}"
        timeout_s = 20

        [image]
        {image}
        [wipe]
        pattern = "zero"
        verify_percent = 100

        [headless]
        asset_tag = "{cfg["tag"]}"
        confirm_wipe = true
        cosmetic = "C4"
        # a helpdesk check: the resident agreed to keep the visit's label on the server
        consent_label = true

        [testing]
        allowed_devices = {json.dumps(cfg["allowed"])}
        modprobe = {json.dumps(cfg["modprobe"])}
        """
    )


@contextmanager
def _stick_data(world: World, name: str) -> Iterator[Path]:
    """The stick's DIGIBENCH partition, mounted on the host between boots."""
    with loop_device(world.stick) as dev:
        part = f"{dev}p4"
        label = run("blkid", "-p", "-s", "LABEL", "-o", "value", part).stdout.strip()
        assert label == "DIGIBENCH", f"{part} is labelled {label!r}"
        with mounted(part, world.work / f"mnt-{name}") as data:
            yield data


def _keep_stick_files(world: World, data: Path, name: str) -> None:
    """The station's logs, outbox and records: artifacts of this phase."""
    dest = ARTIFACTS / "stick" / name
    shutil.rmtree(dest, ignore_errors=True)
    for sub in ("logs", "outbox", "records", "state"):
        if (data / sub).exists():
            shutil.copytree(data / sub, dest / sub)
    shutil.copyfile(data / "station.toml", dest.parent / f"{name}-station.toml")


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    phase: Callable[[str], AbstractContextManager[None]],
) -> Iterator[World]:
    require(LIVE, "live-image")
    require(OS_MANIFEST, "os-image")
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    work = tmp_path_factory.mktemp("e2e")
    server = ServerProcess(work / "server", postgres_url=None)
    server.env["DIGIBENCH_ALLOWED_HOSTS"] = f"127.0.0.1,{GUEST_SERVER}"
    try:
        with phase("server: fresh database, station registered"):
            server.start()
            station = server.add_station("e2e-bench")
        world = World(
            work, server, station, work / "stick.img", work / "nvme.raw", work / "sata.raw"
        )
        with phase("stick: make stick with the minimal OS image"):
            config = work / "station.toml"
            config.write_text(_station_toml(world))
            (work / "policy.toml").write_text(POLICY)
            run(
                "bash", str(REPO / "images/live/stick.sh"), str(world.stick), str(config),
                str(OS_MANIFEST), timeout=600,
            )  # fmt: skip
            with _stick_data(world, "prepare") as data:
                assert (data / "policy.toml").read_text() == POLICY
                assert (data / "images" / OS_MANIFEST.name).exists()
                shutil.copytree(station.key_dir, data / "keys", dirs_exist_ok=True)
                (data / "boot.cfg").write_text(BOOT_CFG)
        with phase("laptop: NVMe 2 GiB + SATA 1 GiB with a donor's data"):
            sizes = (("nvme", world.nvme, 2048 * MiB), ("sata", world.sata, 1024 * MiB))
            for name, disk, size in sizes:
                world.markers[name] = new_marker(name)
                world.planted[name] = donor_disk(disk, size, world.markers[name], work)
        yield world
    finally:
        server.stop()
        if server.log.exists():
            shutil.copyfile(server.log, ARTIFACTS / "server.log")
        for big in work.glob("*.raw"):
            big.unlink()
        (work / "stick.img").unlink(missing_ok=True)
        if not failed(request.config):
            shutil.rmtree(work, ignore_errors=True)


def _net(world: World) -> list[str]:
    relay = f"{sys.executable} {REPO / 'tests/e2e/relay.py'} 127.0.0.1 {world.server.port}"
    return [
        "-netdev", f"user,id=net0,restrict=on,guestfwd=tcp:{GUEST_SERVER}:80-cmd:{relay}",
        "-device", "virtio-net-pci,netdev=net0",
    ]  # fmt: skip


def _laptop(world: World, serial: str, disks: list[str]) -> list[str]:
    return [
        *ovmf(world.work),
        "-smbios", f"type=1,manufacturer={VENDOR},product={PRODUCT},serial={serial}",
        *_net(world),
        "-device", "qemu-xhci,id=xhci",
        "-drive", f"if=none,id=stick,format=raw,file={world.stick}",
        "-device", "usb-storage,bus=xhci.0,drive=stick,removable=on,bootindex=0",
        *disks,
    ]  # fmt: skip


def _boot_stick(world: World, name: str, args: list[str], timeout: float) -> str:
    serial0 = ARTIFACTS / f"{name}.ttyS0.log"
    boot(args, serial0, None, timeout=timeout)
    console = serial0.read_text(errors="replace")
    assert "digibench-live: data partition" in console, tail(serial0)
    assert "agent exited with status" in console, f"the agent did not finish:\n{tail(serial0, 120)}"
    return console


def _api(world: World, path: str, **params: str) -> Any:
    return world.server.api(path, world.station.token, **params)


def _runs(world: World, tag: str) -> list[dict[str, Any]]:
    devices = _api(world, "devices", asset_tag=tag)["devices"]
    assert len(devices) <= 1, devices
    return devices[0]["runs"] if devices else []


def _signature_ok(record: dict[str, Any], public_key: bytes) -> bool:
    """Ed25519 over the canonical JSON of the record without its signature, checked here
    with ``cryptography`` alone rather than with Digibench's own code."""
    body = {k: v for k, v in record.items() if k != "signature"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            base64.b64decode(record["signature"]), canonical.encode()
        )
    except (InvalidSignature, KeyError, ValueError, TypeError):
        return False
    return True


# --------------------------------------------------------------------------- 1. intake


def test_intake_wipes_flashes_grades_and_reports(
    world: World, phase: Callable[[str], AbstractContextManager[None]]
) -> None:
    disks = [
        "-drive", f"if=none,id=nvm,format=raw,file={world.nvme}",
        "-device", f"nvme,serial={NVME_SERIAL},drive=nvm",
        "-drive", f"if=none,id=sata,format=raw,file={world.sata}",
        "-device", f"ide-hd,bus=ide.0,drive=sata,serial={SATA_SERIAL}",
    ]  # fmt: skip
    with phase("VM 1: stick boots, headless intake (inspect, wipe, flash, grade, upload)"):
        console = _boot_stick(world, "1-intake", _laptop(world, "E2E-LAPTOP-0001", disks), 3000)
    with _stick_data(world, "after-intake") as data:
        _keep_stick_files(world, data, "1-intake")
        log = sorted((data / "logs").glob("station-*.log"))[-1].read_text()
        assert "agent exited with status 0" in console, f"station log:\n{log[-4000:]}"
        assert not list((data / "outbox").rglob("*.json")), "a report stayed in the outbox"

    with phase("host: donor data left on both disks (grep every byte)"):
        for name, disk in (("nvme", world.nvme), ("sata", world.sata)):
            assert world.planted[name] > 0
            left = count_marker(disk, world.markers[name])
            assert left == 0, f"{name}: {left} pieces of donor data left"

    with phase("host: the NVMe disk holds the OS image (cmp, e2fsck, diff)"):
        _check_flashed_disk(world)

    with phase("host: the server's record of the run"):
        runs = _runs(world, TAG)
        assert [r["mode"] for r in runs] == ["intake"], runs
        stored = _api(world, f"reports/{runs[0]['report_id']}")
        assert stored["signature_status"] == "valid"
        world.report_ids[TAG] = str(runs[0]["report_id"])
        _check_intake_report(world, stored["report"])
    _stage_figures(stored["report"])
    world.done.add("intake")


def _stage_figures(report: dict[str, Any]) -> None:
    """The station's own stage times inside VM 1, from its report (the issue asks for the
    VM run's phases next to bench/laptop.py's figure; the VM's disks are files on the host,
    so these measure QEMU's emulation as much as the engine)."""

    def span(rec: dict[str, Any], begin: str = "started_at") -> float:
        start, end = rec.get(begin), rec.get("finished_at")
        if not (start and end):
            return 0.0
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()

    for rec in report["erasures"]:
        figure(
            f"VM 1 wipe {rec['disk_serial']} ({rec['method']}, full verify): {span(rec):.0f} s,"
            f" {rec.get('throughput_mb_s') or 0:.0f} MB/s"
        )
    for img in report["images"]:
        figure(
            f"VM 1 flash {img['name']} + read-back: {img.get('duration_s') or 0:.0f} s,"
            f" {img.get('throughput_mb_s') or 0:.0f} MB/s of image"
        )
    figure(f"VM 1 station run, inspect to signed report: {span(report, 'created_at'):.0f} s")


def _check_flashed_disk(world: World) -> None:
    image = Path(str(OS_MANIFEST).removesuffix(".manifest.json"))
    image_parts, disk_parts = partitions(image), partitions(world.nvme)
    assert [(p["type"], p["uuid"], p["start"]) for p in disk_parts] == [
        (p["type"], p["uuid"], p["start"]) for p in image_parts
    ], (disk_parts, image_parts)
    esp = image_parts[0]
    start, size = int(str(esp["start"])) * 512, int(str(esp["size"])) * 512
    assert same_bytes(image, world.nvme, start, size), "the ESP differs from the image's"
    # the root partition reaches the end of the disk (the flasher fits it)
    root = disk_parts[1]
    root_end = (int(str(root["start"])) + int(str(root["size"]))) * 512
    assert world.nvme.stat().st_size - root_end < 2 * MiB, disk_parts
    with loop_device(world.nvme) as dev, loop_device(image) as img:
        fsck = run("e2fsck", "-fn", f"{dev}p2", check=False)
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr
        with (
            mounted(f"{dev}p2", world.work / "flashed") as flashed,
            mounted(f"{img}p2", world.work / "image") as original,
        ):
            # the image's files, except what provisioning writes for this laptop
            diff = run("diff", "-rq", "--no-dereference", str(original), str(flashed), check=False)
            changed = _diff_paths(diff.stdout, original, flashed)
            assert changed, "provisioning changed nothing?"
            assert changed <= _provisioned_paths(), diff.stdout
            assert (flashed / "etc/hostname").read_text().strip() == HOSTNAME
            assert "nl_BE.UTF-8" in (flashed / "etc/default/locale").read_text()


def _diff_paths(out: str, a: Path, b: Path) -> set[str]:
    """The paths ``diff -rq`` names, relative to the two trees."""
    paths = set()
    for line in out.splitlines():
        if m := re.fullmatch(r"(?:Files|Symbolic links) (\S+) and \S+ differ", line):
            paths.add(str(Path(m[1]).relative_to(a)))
        elif m := re.fullmatch(r"Only in (\S+): (.+)", line):
            where = Path(m[1])
            paths.add(str((where / m[2]).relative_to(b if where.is_relative_to(b) else a)))
        else:
            paths.add(line)  # anything else ("File X is a directory while...") fails the check
    return paths


def _provisioned_paths() -> set[str]:
    """What the flasher may change in the flashed root: the provisioning templates
    (``provisioning/files``, ``.in`` dropped), the time zone link and the locale list."""
    files = REPO / "provisioning" / "files"
    return {
        str(p.relative_to(files)).removesuffix(".in") for p in files.rglob("*") if p.is_file()
    } | {"etc/localtime", "etc/locale.gen"}


def _check_intake_report(world: World, report: dict[str, Any]) -> None:
    assert report["asset_tag"] == TAG and report["mode"] == "intake"
    system = report["device"]
    assert (system["vendor"], system["product_name"], system["serial"]) == (
        VENDOR, PRODUCT, "E2E-LAPTOP-0001",
    ), system  # fmt: skip
    by_serial = {d["serial"]: d for d in report["components"]["disks"]}
    assert {NVME_SERIAL, SATA_SERIAL} <= set(by_serial), list(by_serial)
    assert by_serial[NVME_SERIAL]["size_bytes"] == 2048 * MiB
    assert by_serial[SATA_SERIAL]["size_bytes"] == 1024 * MiB
    public_key = base64.b64decode((world.station.key_dir / "station.pub").read_text())
    erasures = report["erasures"]
    assert sorted(e["disk_serial"] for e in erasures) == [NVME_SERIAL, SATA_SERIAL], erasures
    for record in erasures:
        assert record["result"] == "erased" and record["verification_passed"] is True, record
        assert _signature_ok(record, public_key), f"erasure record signature: {record}"
    (image,) = report["images"]
    assert image["verified"] is True and image["target_disk_serial"] == NVME_SERIAL, image
    manifest = json.loads(OS_MANIFEST.read_text())
    assert (image["name"], image["sha256"]) == (manifest["name"], manifest["sha256"]), image
    grade = report["grade"]
    assert grade["reasons"], grade
    codes = {r["code"] for r in grade["reasons"]}
    assert "grade.wiped" in codes, codes
    assert grade["destination"] == "lend", grade


# --------------------------------------------------------------------------- 2. first boot

REPORT_UNIT = """[Unit]
Description=e2e: report on ttyS1, then power off
After=multi-user.target digibench-firstboot.service digibench-growroot.service
[Service]
Type=oneshot
ExecStart=/bin/sh -c '{ echo "E2E hostname=$(hostname)"; \
echo "E2E rootfs-bytes=$(df -B1 --output=size / | tail -n1 | tr -d " ")"; \
echo "E2E disk-bytes=$(blockdev --getsize64 /dev/nvme0n1)"; \
echo "E2E growroot=$(systemctl is-active digibench-growroot.service)"; \
echo "E2E firstboot=$(systemctl is-active digibench-firstboot.service)"; \
echo "E2E end"; } >/dev/ttyS1 2>&1; systemctl poweroff'
[Install]
WantedBy=multi-user.target
"""


def test_flashed_disk_boots_grows_and_has_the_tag_as_hostname(
    world: World, phase: Callable[[str], AbstractContextManager[None]]
) -> None:
    if "intake" not in world.done:
        pytest.skip("the intake run failed")
    with phase("host: console on serial + a report unit on the flashed disk"):
        _instrument(world)
    serial0, serial1 = ARTIFACTS / "2-firstboot.ttyS0.log", ARTIFACTS / "2-firstboot.ttyS1.log"
    args = [
        *ovmf(world.work),
        "-drive", f"if=none,id=nvm,format=raw,file={world.nvme}",
        "-device", f"nvme,serial={NVME_SERIAL},drive=nvm",
    ]  # fmt: skip
    with phase("VM 2: the flashed NVMe disk boots (first boot)"):
        out = boot(args, serial0, serial1, timeout=1200)
    assert "E2E end" in out, f"no report on ttyS1; console:\n{tail(serial0)}"
    facts = dict(re.findall(r"^E2E ([a-z-]+)=(\S*)", out, re.M))
    assert facts["hostname"] == HOSTNAME, out
    assert facts["growroot"] == "active" and facts["firstboot"] == "active", out
    disk_bytes = int(facts["disk-bytes"])
    assert disk_bytes == 2048 * MiB
    esp_and_gpt = 256 * MiB + 4 * MiB
    assert int(facts["rootfs-bytes"]) > (disk_bytes - esp_and_gpt) * 0.95, out


def _instrument(world: World) -> None:
    """Test-only changes to the flashed disk, made after its checks: kernel console on ttyS0
    (the ESP's boot entry, via mtools) and a unit that reports on ttyS1 and powers off."""
    esp = f"{world.nvme}@@{int(str(partitions(world.nvme)[0]['start'])) * 512}"
    entry = "::/loader/entries/debian.conf"
    text = run("mtype", "-i", esp, entry).stdout
    assert "root=PARTUUID=" in text, text
    local = world.work / "debian.conf"
    local.write_text(text.replace(" quiet", "").rstrip("\n") + " console=ttyS0,115200\n")
    run("mcopy", "-o", "-i", esp, str(local), entry)
    with loop_device(world.nvme) as dev, mounted(f"{dev}p2", world.work / "root") as root:
        unit = root / "etc/systemd/system/e2e-report.service"
        unit.write_text(REPORT_UNIT)
        wants = root / "etc/systemd/system/multi-user.target.wants"
        wants.mkdir(parents=True, exist_ok=True)
        (wants / unit.name).symlink_to(f"/etc/systemd/system/{unit.name}")
        (root / "etc/systemd/system/serial-getty@ttyS0.service").symlink_to("/dev/null")


# --------------------------------------------------------------------------- 3. worn disk, offline


def test_worn_disk_with_the_server_down_stays_in_the_outbox(
    world: World, phase: Callable[[str], AbstractContextManager[None]]
) -> None:
    world.server.stop()
    with _stick_data(world, "worn-config") as data:
        (data / "station.toml").write_text(
            _station_toml(world, tag=TAG_WORN, image=None, allowed=["model:scsi_debug"],
                          modprobe=[SCSI_DEBUG])
        )  # fmt: skip
    with phase("VM 3: worn disk (scsi_debug medium errors), server down"):
        console = _boot_stick(world, "3-worn-offline", _laptop(world, "E2E-LAPTOP-0002", []), 1800)
    # no OS to install and a disk with exceptions: the run is not a success
    assert "agent exited with status 1" in console, tail(ARTIFACTS / "3-worn-offline.ttyS0.log")
    with _stick_data(world, "after-worn") as data:
        _keep_stick_files(world, data, "3-worn-offline")
        waiting = sorted((data / "outbox").rglob("*.json"))
        assert len(waiting) == 1, waiting
        report = json.loads(waiting[0].read_text())
    assert report["asset_tag"] == TAG_WORN
    (record,) = report["erasures"]
    assert record["result"] in ("erased_with_exceptions", "failed"), record
    assert record["errors"], "no unreadable area recorded"
    bad = (20000 * 512, (20000 + 64) * 512)
    hits = [
        e
        for e in record["errors"]
        if e["start_byte"] < bad[1] and e["start_byte"] + e["length_bytes"] > bad[0]
    ]
    assert hits, f"no error recorded in the medium-error range: {record['errors']}"
    grade = report["grade"]
    assert grade["destination"] != "lend", grade
    assert {"grade.wipe_exceptions", "grade.wipe_failed"} & {r["code"] for r in grade["reasons"]}
    world.report_ids[TAG_WORN] = report["report_id"]
    world.done.add("worn")


def test_next_boot_delivers_the_waiting_report_once(
    world: World, phase: Callable[[str], AbstractContextManager[None]]
) -> None:
    if "worn" not in world.done:
        pytest.skip("the offline run failed")
    world.server.start()
    assert _runs(world, TAG_WORN) == []
    with _stick_data(world, "next-config") as data:
        (data / "station.toml").write_text(
            _station_toml(world, tag=TAG_NEXT, mode="check", image=None, allowed=[])
        )
    with phase("VM 4: next boot with the server up (helpdesk check of another laptop)"):
        console = _boot_stick(world, "4-redeliver", _laptop(world, "E2E-LAPTOP-0003", []), 1200)
    assert "agent exited with status 0" in console
    with _stick_data(world, "after-redeliver") as data:
        _keep_stick_files(world, data, "4-redeliver")
        assert not list((data / "outbox").rglob("*.json")), "reports still wait on the stick"
    runs = _runs(world, TAG_WORN)
    assert [str(r["report_id"]) for r in runs] == [world.report_ids[TAG_WORN]], runs
    report_id = world.report_ids[TAG_WORN].replace("-", "")
    assert world.server.count("ingest_run", "WHERE report_id = ?", report_id) == 1
    # a helpdesk check is a helpdesk visit on the server, never a laptop of the inventory
    assert _runs(world, TAG_NEXT) == []
    assert world.server.count("helpdesk_helpdeskvisit", "WHERE label = ?", TAG_NEXT) == 1
    assert len(_runs(world, TAG)) == 1  # the first laptop's run was not sent again
