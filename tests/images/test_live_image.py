"""The Digibench stick boots under QEMU as a USB stick, with OVMF (UEFI) and with SeaBIOS,
runs from RAM, finds its DIGIBENCH data partition and starts the agent, which inspects
the machine and spools its report to the stick's outbox; without headless, the TUI runs
on tty1 and answers the keyboard."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.images.qemu import (
    BUILD,
    REPO,
    Machine,
    boot,
    changed,
    loop_device,
    mounted,
    ovmf,
    require,
    require_devices,
    run,
    tail,
)

pytestmark = [pytest.mark.images, pytest.mark.root, pytest.mark.slow]

STICK = BUILD / "live" / "digibench-live.img"
TUI_INSPECT_SECONDS = 150
TUI_DRAWN = 0.002  # share of changed pixels: the TUI's text, not just the cursor (~0.01 %)
ASSET_TAG = "DB-LIVE-1"

STATION = f"""[station]
name = "qemu-bench"
mode = "check"
data_dir = "."

[headless]
asset_tag = "{ASSET_TAG}"
consent_label = true
"""
# A check run's upload keeps only what the resident agreed to, and never the device checks
# (a helpdesk visit is not inventory): the checks' proofs run an intake, which wipes the
# VM's own NVMe disk (serial DBLIVE0001; no OS image is configured, so nothing is flashed).
INTAKE = STATION.replace('mode = "check"', 'mode = "intake"').replace(
    "consent_label = true\n", "confirm_wipe = true\n"
)
# Read by the stick's GRUB from the data partition: headless, console on serial, power off.
BOOT_CFG = (
    'set digibench_extra="digibench.headless=1 digibench.poweroff=1 console=ttyS0,115200 '
    'loglevel=6 systemd.mask=serial-getty@ttyS0.service"\n'
)


def _data_partition(dev: str) -> str:
    """The stick's partition labelled DIGIBENCH (probed directly: the host may lack udev)."""
    parts = sorted(Path("/dev").glob(f"{Path(dev).name}p*"))
    for part in parts:
        probe = run("blkid", "-p", "-s", "LABEL", "-o", "value", str(part), check=False)
        if probe.stdout.strip() == "DIGIBENCH":
            return str(part)
    raise AssertionError(f"no DIGIBENCH partition among {[str(p) for p in parts]}")


def _stick(tmp: Path, boot_cfg: str = BOOT_CFG, station: str = STATION) -> Path:
    """A 1 GiB stick made by `make stick` (images/live/stick.sh), plus a test boot.cfg."""
    stick = tmp / "stick.img"
    config = tmp / "station.toml"
    config.write_text(station)
    env = {**os.environ, "STICK_MIB": "1024"}
    subprocess.run(
        ["bash", str(REPO / "images/live/stick.sh"), str(stick), str(config)],
        check=True, env=env, capture_output=True, timeout=300,
    )  # fmt: skip
    with loop_device(stick) as dev, mounted(_data_partition(dev), tmp / "data") as data:
        assert (data / "station.toml").read_text() == station
        free = shutil.disk_usage(data).free
        assert free > 700 << 20, f"data partition was not grown: {free} bytes free"
        (data / "boot.cfg").write_text(boot_cfg)
    return stick


def _usb_and_disk(stick: Path, tmp: Path) -> list[str]:
    internal = tmp / "internal.raw"
    with internal.open("wb") as fh:
        fh.truncate(256 << 20)
    return [
        "-device", "qemu-xhci,id=xhci",
        "-drive", f"if=none,id=stick,format=raw,file={stick}",
        "-device", "usb-storage,bus=xhci.0,drive=stick,removable=on,bootindex=0",
        "-drive", f"if=none,id=nvm,format=raw,file={internal}",
        "-device", "nvme,serial=DBLIVE0001,drive=nvm",
    ]  # fmt: skip


def _check(stick: Path, tmp: Path, serial0: Path) -> None:
    console = serial0.read_text(errors="replace") if serial0.exists() else ""
    assert "digibench-live: data partition" in console, f"console:\n{tail(serial0)}"
    assert "starting the agent headless" in console, f"console:\n{tail(serial0)}"
    assert "agent exited with status 0" in console, f"console:\n{tail(serial0, 120)}"
    with loop_device(stick) as dev, mounted(_data_partition(dev), tmp / "after") as data:
        logs = sorted((data / "logs").glob("station-*.log"))
        assert logs, "the agent wrote no log to the data partition"
        reports = sorted((data / "outbox").rglob("*.json"))
        assert reports, f"no report in the stick's outbox; log:\n{logs[-1].read_text()}"
        report = json.loads(reports[-1].read_text())
        assert ASSET_TAG in json.dumps(report)


@pytest.mark.parametrize("firmware", ["uefi", "bios"])
def test_live_stick_boots_and_runs_the_agent(tmp_path: Path, firmware: str) -> None:
    require(STICK, "live-image")
    stick = _stick(tmp_path)
    args = _usb_and_disk(stick, tmp_path)
    firmware_args = ovmf(tmp_path) if firmware == "uefi" else ["-machine", "pc"]  # SeaBIOS
    args = [*firmware_args, *args]
    serial0 = tmp_path / "ttyS0.log"
    boot(args, serial0, None, timeout=1200)
    _check(stick, tmp_path, serial0)


def test_stick_refuses_a_mounted_disk(tmp_path: Path) -> None:
    require(STICK, "live-image")
    backing = tmp_path / "busy.raw"
    with backing.open("wb") as fh:
        fh.truncate(1 << 30)
    run("mkfs.ext4", "-q", "-F", str(backing))
    config = tmp_path / "station.toml"
    config.write_text(STATION)
    before = backing.read_bytes()[:1024]  # where the stick image's MBR and GPT would go
    with loop_device(backing) as dev, mounted(dev, tmp_path / "mnt"):
        proc = subprocess.run(
            ["bash", str(REPO / "images/live/stick.sh"), dev, str(config)],
            capture_output=True, text=True, env={**os.environ, "YES": "1"}, timeout=60,
        )  # fmt: skip
    assert proc.returncode != 0
    assert "mounted filesystem" in proc.stderr
    assert backing.read_bytes()[:1024] == before
    assert run("blkid", "-p", "-s", "TYPE", "-o", "value", str(backing)).stdout.strip() == "ext4"


# The TUI path: no digibench.headless, the console on serial 0 only for the launcher's lines.
# digibench.pair=0: this stick (no token, no server) stays offline, straight to the TUI
BOOT_CFG_TUI = (
    'set digibench_extra="digibench.pair=0 console=ttyS0,115200 loglevel=6 '
    'systemd.mask=serial-getty@ttyS0.service"\n'
)
TUI_TAG_KEYS = ["t", "u", "i", "q"]  # on the Belgian (AZERTY) keymap the q key types "a"
TUI_TAG = "tuia"
ARTIFACTS = BUILD / "test-artifacts"


def test_live_stick_runs_the_tui_on_tty1(tmp_path: Path) -> None:
    """The station's normal mode: the TUI on tty1 without login. It must start, be drawn on
    the screen (not into a log), stay up (a crash shows as "agent exited" and a restart),
    take an asset tag typed on the keyboard (Belgian layout) and inspect the machine, which
    leaves the run's state on the stick. Screen dumps are kept in build/test-artifacts/."""
    require(STICK, "live-image")
    stick = _stick(tmp_path, BOOT_CFG_TUI)
    args = [*ovmf(tmp_path), "-device", "VGA", *_usb_and_disk(stick, tmp_path)]
    started = r"digibench-live: starting the agent \(digibench run\) on /dev/tty1"
    with Machine(args, tmp_path, serial1=False) as vm:
        vm.console_expect(started, timeout=900)
        # Until the TUI draws, tty1 shows the launcher's two lines (and a blinking cursor).
        before = vm.screen(ARTIFACTS / "live-tui-launcher.ppm")
        deadline = time.monotonic() + 600
        while (diff := changed(before, vm.screen(ARTIFACTS / "live-tui-start.ppm"))) < TUI_DRAWN:
            assert "agent exited" not in vm.serial0.read_text(errors="replace"), tail(vm.serial0)
            assert time.monotonic() < deadline, f"nothing drawn on tty1 ({diff:.2%} changed)"
            time.sleep(10)
        time.sleep(20)  # a TUI that crashes right after its first frame has done so by now
        console = vm.serial0.read_text(errors="replace")
        assert "agent exited" not in console, f"the TUI stopped:\n{tail(vm.serial0, 80)}"
        assert len(re.findall(started, console)) == 1, f"the TUI was restarted:\n{tail(vm.serial0)}"
        vm.keys(*TUI_TAG_KEYS, "ret")
        time.sleep(TUI_INSPECT_SECONDS)  # the inspection runs (no progress leaves the guest)
        vm.screendump(ARTIFACTS / "live-tui-inspected.ppm")
        console = vm.serial0.read_text(errors="replace")
        assert "agent exited" not in console, f"the TUI stopped:\n{tail(vm.serial0, 80)}"
        vm.power_off(timeout=300)
    with loop_device(stick) as dev, mounted(_data_partition(dev), tmp_path / "after") as data:
        logs = sorted((data / "logs").glob("station-*.log"))
        assert logs, "the launcher wrote no session log to the data partition"
        log = logs[-1].read_text(errors="replace")
        assert "Digibench" in log, "the session log does not hold the TUI's screen"
        assert "Traceback" not in log, log
        state = data / "state" / "run.json"
        assert state.exists(), f"no run state: the typed tag was not inspected; log:\n{log[-3000:]}"
        run_state = json.loads(state.read_text())
        assert run_state["report"]["asset_tag"] == TUI_TAG, run_state["report"]["asset_tag"]
        assert run_state["stage"] == "tests", run_state["stage"]


def _checked(stick: Path, tmp: Path, name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The run ended well; its tests by name and its report (console and report are kept
    in build/test-artifacts/)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp / "ttyS0.log", ARTIFACTS / f"{name}-console.log")
    console = (tmp / "ttyS0.log").read_text(errors="replace")
    assert "agent exited with status 0" in console, tail(tmp / "ttyS0.log", 120)
    with loop_device(stick) as dev, mounted(_data_partition(dev), tmp / "after") as data:
        (path,) = sorted((data / "outbox").rglob("*.json"))
        shutil.copyfile(path, ARTIFACTS / f"{name}-report.json")
        report: dict[str, Any] = json.loads(path.read_text())
    return {t["name"]: t for t in report["tests"]}, report


# The device checks a VM can do, unattended: the same checks as the TUI's screens.
STATION_CHECKS = (
    INTAKE
    + """checks = ["camera", "audio", "usb_ports"]
usb_port_count = 2
usb_timeout_s = 900

[testing]
allowed_devices = ["serial:DBLIVE0001"]
"""
)
# printk.devkmsg=on: every line the launcher copies to the kernel log reaches the console
BOOT_CFG_CHECKS = BOOT_CFG.replace("loglevel=6", "loglevel=6 printk.devkmsg=on")
# QEMU's HD Audio (line out and line in) on the `none` backend: the guest has a real sound
# card to play on and record from, but nothing joins the output to the input, so the
# microphone records digital silence. No emulated USB video device exists in QEMU 7.2
# (Debian 12): the laptop has no webcam.
SOUND = ["-audiodev", "none,id=snd0", "-device", "intel-hda,id=hda",
         "-device", "hda-duplex,bus=hda.0,audiodev=snd0"]  # fmt: skip
# QEMU's USB port N of the xHCI is port N of the guest's USB 2 root hub (bus 1) for a
# USB 2 stick; the boot stick took port 1.
PLUGS = [(2, "1-2"), (3, "1-3")]


def test_live_stick_checks_usb_ports_sound_and_camera_unattended(tmp_path: Path) -> None:
    """Headless with [headless] checks: the station says when to plug a stick in; a virtual
    stick hot-plugged into port 2, pulled out, and plugged into port 3 ticks off both
    ports by name; the sound check plays its tones on the emulated card and says the
    microphone cannot be measured (digital silence), the camera check finds no camera."""
    require(STICK, "live-image")
    require_devices("qemu-xhci", "usb-storage", "intel-hda", "hda-duplex", audio="none")
    stick = _stick(tmp_path, BOOT_CFG_CHECKS, STATION_CHECKS)
    args = [*ovmf(tmp_path), *_usb_and_disk(stick, tmp_path), *SOUND]
    virtual = tmp_path / "virtual-stick.raw"
    with virtual.open("wb") as fh:
        fh.truncate(16 << 20)
    agent = r"digibench-live: agent: +info: "
    try:
        with Machine(args, tmp_path, serial1=False) as vm:
            vm.console_expect(
                agent + r"USB ports: plug a USB stick .*\(2 to go, at most 900 s\)", timeout=1500
            )
            for n, (port, name) in enumerate(PLUGS, start=1):
                vm.plug_usb_stick(f"vstick{n}", virtual, "xhci.0", port)
                vm.console_expect(agent + rf"USB port {name} seen \({n} of 2\)\.", timeout=300)
                vm.unplug_usb_stick(f"vstick{n}")
            try:
                vm.proc.wait(900)  # the run ends, the stick powers the VM off
            except subprocess.TimeoutExpired:
                raise AssertionError(f"the run did not end:\n{tail(vm.serial0, 120)}") from None
    finally:
        virtual.unlink(missing_ok=True)
    tests, report = _checked(stick, tmp_path, "live-checks")
    assert tests["usb_ports"]["outcome"] == "pass", tests["usb_ports"]
    assert tests["usb_ports"]["details"] == "2 ports seen of 2 expected; seen 1-2, 1-3"
    cards = report["components"]["peripherals"]["sound_cards"]
    assert cards and all("HDA" in c for c in cards), cards
    audio = tests["audio"]
    assert audio["outcome"] == "skipped", audio  # nobody listened, the mic measured nothing
    assert audio["details"].startswith("tones played; microphone: not measurable"), audio
    assert report["components"]["peripherals"]["cameras"] == []
    camera = tests["camera"]
    assert (camera["outcome"], camera["details"]) == ("fail", "no camera (V4L2) found"), camera


# vivid, the kernel's virtual video driver, as one webcam (a capture node only): the
# nearest thing to a webcam a VM has, since QEMU emulates none.
STATION_VIVID = (
    INTAKE
    + """checks = ["camera"]

[testing]
allowed_devices = ["serial:DBLIVE0001"]
modprobe = [["vivid", "n_devs=1", "node_types=0x1"]]
"""
)


def test_live_stick_grabs_a_frame_from_a_virtual_camera(tmp_path: Path) -> None:
    """The camera check on the stick itself (v4l2-ctl, the V4L2 modules kept in the image):
    with vivid loaded, a 640x480 frame is grabbed and measured; nobody looked at it, so
    the check is recorded as not judged, with the frame's brightness."""
    require(STICK, "live-image")
    stick = _stick(tmp_path, BOOT_CFG, STATION_VIVID)
    args = [*ovmf(tmp_path), *_usb_and_disk(stick, tmp_path)]
    boot(args, tmp_path / "ttyS0.log", None, timeout=1500)
    tests, report = _checked(stick, tmp_path, "live-vivid")
    cameras = report["components"]["peripherals"]["cameras"]
    assert len(cameras) == 1 and "vivid" in cameras[0], cameras
    camera = tests["camera"]
    assert camera["outcome"] == "skipped", camera
    details = camera["details"]
    assert re.match(r"/dev/video0: 640x480 frame, brightness \d+/255, ok; ", details), details
    assert details.endswith("unattended run: nobody looked"), details
