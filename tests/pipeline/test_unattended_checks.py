"""Unattended device checks (``[headless] checks``): camera, sound and the USB port map
without anybody at the laptop. Recorded uevents replayed into the same port watcher as
the TUI's, the camera's recorded format and synthesized frames, the microphone's
synthesized recordings (no camera or sound card exists on the development machine)."""

from __future__ import annotations

import io
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.checks.audio_loopback import Loopback, loopback
from agent.checks.camera_frame import CameraFrame, grab_frame
from agent.checks.charger import unplugged, wait_unplug
from agent.checks.devices import device_checks
from agent.checks.usb_ports import PortWatch, parse_blocks
from agent.config import HeadlessSection, StationConfig
from agent.pipeline.events import Event, Notice
from agent.pipeline.headless import run_headless
from agent.pipeline.unattended_checks import Checkers, run_unattended_checks
from agent.policy import ChecksPolicy
from agent.probes.peripherals import probe_peripherals
from agent.report.schema import Peripherals, Report, TestOutcome, TestResult
from agent.runner import SystemRunner
from tests.checks.frames import scene, yuyv
from tests.checks.recordings import mic_wav
from tests.checks.test_audio_loopback import _runner as audio_runner
from tests.checks.test_camera_frame import _runner as camera_runner
from tests.checks.test_usb_ports import TUNER, moved
from tests.pipeline.conftest import Bench, needs_root

LAPTOP = Peripherals(cameras=["HP Wide Vision FHD Camera"], sound_cards=["HDA Intel PCH"])


def _digital_silence(seconds: int) -> bytes:
    """A WAV of exact zeros: what a muted input or a VM's emulated card records."""
    data = mic_wav(seconds, tone_db=None)
    header = len(data) - seconds * 48_000 * 2
    return data[:header] + bytes(len(data) - header)


def usb_root(tmp_path: Path) -> Path:
    """A controller whose firmware does not say which sockets are on the case (a VM's)."""
    root = tmp_path / "usbroot"
    for port in ("1", "2", "3", "4"):
        (root / f"sys/bus/usb/devices/usb1/1-0:1.0/usb1-port{port}").mkdir(
            parents=True, exist_ok=True
        )
    return root


def plugged(*ports: str) -> PortWatch:
    """Kernel events: listening, then the stick's insertion in each of ``ports``."""

    def events(stop: threading.Event) -> Iterator[dict[str, str]]:
        yield {}
        for port in ports:
            yield from parse_blocks(moved(TUNER, "1-2", port))
        stop.wait()

    return PortWatch(Path("/nonexistent"), events=events)


def checkers(
    tmp_path: Path,
    ports: PortWatch,
    frame: CameraFrame | None = None,
    sound: Loopback | None = None,
) -> Checkers:
    watch = PortWatch(usb_root(tmp_path), events=ports.events)
    found = frame or grab_frame(camera_runner(yuyv(scene(), noise=4)), "/dev/video0")
    heard = sound or loopback(
        audio_runner(mic_wav(1, tone_db=None), mic_wav(3, tone_db=-30)), lead_in=0
    )
    return Checkers(
        grab=lambda _device: found,
        play=lambda: heard,
        ports=watch,
        cameras=lambda: ["/dev/video0"],
    )


def _run(
    tmp_path: Path, settings: HeadlessSection, found: Checkers, policy: ChecksPolicy | None = None
) -> tuple[dict[str, TestResult], list[str]]:
    events: list[Event] = []
    results = run_unattended_checks(
        settings, policy or ChecksPolicy(), LAPTOP, found, events.append
    )
    said = [e.message for e in events if isinstance(e, Notice)]
    return {r.name: r for r in results}, said


def test_the_usb_map_ticks_off_each_port_and_says_when_to_plug(tmp_path: Path) -> None:
    settings = HeadlessSection(checks=["usb_ports"], usb_port_count=2, usb_timeout_s=30)
    results, said = _run(tmp_path, settings, checkers(tmp_path, plugged("1-2", "1-2", "1-3")))
    usb = results["usb_ports"]
    assert usb.outcome is TestOutcome.PASS
    assert usb.details == "2 ports seen of 2 expected; seen 1-2, 1-3"
    assert said == [
        "USB ports: plug a USB stick into each USB port of the laptop in turn "
        "(2 to go, at most 30 s).",
        "USB port 1-2 seen (1 of 2).",
        "USB port 1-3 seen (2 of 2).",
    ]


def test_a_port_that_never_saw_the_stick_fails_when_the_time_is_up(tmp_path: Path) -> None:
    settings = HeadlessSection(checks=["usb_ports"], usb_port_count=2, usb_timeout_s=0.5)
    results, _said = _run(tmp_path, settings, checkers(tmp_path, plugged("1-4")))
    assert results["usb_ports"].outcome is TestOutcome.FAIL
    assert results["usb_ports"].details == "1 ports seen of 2 expected; seen 1-4"


def test_no_usb_controller_or_no_uevents_is_not_done_never_passed(tmp_path: Path) -> None:
    settings = HeadlessSection(checks=["usb_ports"], usb_port_count=1, usb_timeout_s=1)
    bare = checkers(tmp_path, plugged("1-1"))
    none = Checkers(bare.grab, bare.play, PortWatch(tmp_path / "empty"), bare.cameras)
    results, said = _run(tmp_path, settings, none)
    assert results["usb_ports"].outcome is TestOutcome.SKIPPED
    assert said == ["No USB controller found: the USB port check is not done."]

    def refused(_stop: threading.Event) -> Iterator[dict[str, str]]:
        raise PermissionError(1, "Operation not permitted")
        yield {}

    deaf = Checkers(bare.grab, bare.play, PortWatch(usb_root(tmp_path), refused), bare.cameras)
    results, said = _run(tmp_path, settings, deaf)
    assert results["usb_ports"].outcome is TestOutcome.SKIPPED
    assert said == ["The station cannot follow the USB ports: Operation not permitted"]


def test_a_camera_frame_and_heard_tones_are_measured_but_not_judged(tmp_path: Path) -> None:
    settings = HeadlessSection(checks=["camera", "audio"])
    results, said = _run(tmp_path, settings, checkers(tmp_path, plugged()))
    assert said == []
    camera, audio = results["camera"], results["audio"]
    assert camera.outcome is TestOutcome.SKIPPED  # nobody looked at the picture
    assert "640x480 frame, brightness" in (camera.details or "")
    assert "nobody looked" in (camera.details or "")
    assert audio.outcome is TestOutcome.SKIPPED  # nobody heard left and right
    assert "tones played; microphone: tone" in (audio.details or "")
    assert "(ok)" in (audio.details or "")


def test_no_frame_no_camera_no_sound_card_and_a_deaf_microphone_fail(tmp_path: Path) -> None:
    settings = HeadlessSection(checks=["camera", "audio"])
    broken = CameraFrame("/dev/video0", error="cannot open")
    deaf = loopback(audio_runner(mic_wav(1, tone_db=None), mic_wav(3, tone_db=None)), lead_in=0)
    results, _ = _run(tmp_path, settings, checkers(tmp_path, plugged(), broken, deaf))
    assert results["camera"].outcome is TestOutcome.FAIL
    assert results["audio"].outcome is TestOutcome.FAIL
    assert "(silent)" in (results["audio"].details or "")
    events: list[Event] = []
    found = checkers(tmp_path, plugged())
    bare = run_unattended_checks(settings, ChecksPolicy(), Peripherals(), found, events.append)
    assert [(r.name, r.outcome, r.details) for r in bare] == [
        ("camera", TestOutcome.FAIL, "no camera (V4L2) found"),
        ("audio", TestOutcome.FAIL, "no sound card found"),
    ]


def test_a_recording_of_pure_digital_silence_is_not_measurable_never_a_pass() -> None:
    """A VM's emulated card (QEMU's ``none`` audio backend) or a muted input records exact
    zeros: that measures nothing, so the microphone is neither heard nor deaf."""
    found = loopback(audio_runner(_digital_silence(1), _digital_silence(3)), lead_in=0)
    assert found.played and found.mic == "unmeasurable"
    assert "not measurable" in found.detail()
    assert found.unattended().outcome is TestOutcome.SKIPPED
    assert found.result(heard=True).outcome is TestOutcome.FAIL  # the mic is not confirmed
    # one digital silence is enough: a floor of exact zeros makes any hiss look like a tone
    for floor, during in (
        (_digital_silence(1), mic_wav(3, tone_db=None)),
        (mic_wav(1, tone_db=None), _digital_silence(3)),
    ):
        assert loopback(audio_runner(floor, during), lead_in=0).mic == "unmeasurable"
    assert Loopback(played=False, error="no card").unattended().outcome is TestOutcome.FAIL


def test_skipped_by_policy_or_not_asked_for_is_not_run(tmp_path: Path) -> None:
    settings = HeadlessSection(checks=["camera", "audio", "usb_ports"], usb_timeout_s=0.2)
    policy = ChecksPolicy(skip=("camera", "usb_ports"))
    results, _ = _run(tmp_path, settings, checkers(tmp_path, plugged()), policy)
    assert sorted(results) == ["audio"]
    assert _run(tmp_path, HeadlessSection(), checkers(tmp_path, plugged()))[0] == {}


def test_the_config_names_only_checks_that_can_run_unattended() -> None:
    with pytest.raises(ValidationError):
        StationConfig.model_validate({"headless": {"checks": ["keyboard"]}})
    with pytest.raises(ValidationError):
        StationConfig.model_validate({"headless": {"usb_port_count": -1}})


@needs_root
def test_a_headless_run_records_the_checks_in_its_report(bench: Bench, tmp_path: Path) -> None:
    bench.config.headless.checks = ["camera", "audio", "usb_ports"]
    bench.config.headless.usb_port_count = 1
    out = io.StringIO()
    found = checkers(tmp_path, plugged("1-3"))
    assert run_headless(bench.config, runner=SystemRunner(), out=out, checkers=found) == 0
    (path,) = sorted(bench.config.outbox_dir.glob("*.json"))
    report = Report.model_validate_json(path.read_text())
    tests = {t.name: t for t in report.tests}
    assert tests["usb_ports"].outcome == "pass"
    assert tests["usb_ports"].details == "1 ports seen of 1 expected; seen 1-3"
    # the recorded laptop profile has neither a webcam nor a sound card
    assert (tests["camera"].outcome, tests["camera"].details) == ("fail", "no camera (V4L2) found")
    assert (tests["audio"].outcome, tests["audio"].details) == ("fail", "no sound card found")
    assert tests["keyboard"].outcome == "skipped"
    log = out.getvalue()
    assert "   info: USB port 1-3 seen (1 of 1)." in log


SYSROOTS = Path(__file__).parent.parent / "fixtures" / "sysroots"
AUTOMATIC = ["wifi", "bluetooth", "charging", "thermal"]


def _laptop_root(tmp_path: Path) -> Path:
    root = tmp_path / "laptop"
    shutil.copytree(SYSROOTS / "laptop-peripherals", root)
    return root


def _automatic(
    root: Path, policy: ChecksPolicy, sleep: Callable[[float], None] = time.sleep
) -> tuple[list[TestResult], list[str]]:
    events: list[Event] = []
    peripherals = probe_peripherals(root)
    bare = Checkers(
        grab=lambda _d: CameraFrame("/dev/video0", error="unused"),
        play=lambda: Loopback(played=False, error="unused"),
        ports=PortWatch(root / "none"),
        cameras=list,
        power=lambda: unplugged(root),
        sleep=sleep,
    )
    settings = HeadlessSection(checks=AUTOMATIC)  # type: ignore[arg-type]
    results = run_unattended_checks(settings, policy, peripherals, bare, events.append)
    return results, [e.message for e in events if isinstance(e, Notice)]


def test_wifi_bluetooth_charging_and_thermal_are_the_devices_screens_verdicts(
    tmp_path: Path,
) -> None:
    """One path: a headless run records what the TUI's devices screen proposes."""
    root = _laptop_root(tmp_path)
    policy = ChecksPolicy(charger_unplug_s=0)
    results, said = _automatic(root, policy)
    proposed = [c.result() for c in device_checks(probe_peripherals(root), policy)]
    assert results == [r for r in proposed if r.name in AUTOMATIC]
    assert [r.name for r in results] == AUTOMATIC
    assert all(r.outcome is TestOutcome.PASS for r in results)
    assert said == []
    # skipped by policy: not run, as on the screen
    skipping = ChecksPolicy(charger_unplug_s=0, skip=("bluetooth", "thermal"))  # type: ignore[arg-type]
    assert [r.name for r in _automatic(root, skipping)[0]] == ["wifi", "charging"]


def test_the_charger_unplug_is_waited_for_and_noticed(tmp_path: Path) -> None:
    root = _laptop_root(tmp_path)
    polls: list[float] = []

    def volunteer_pulls_the_charger(seconds: float) -> None:
        polls.append(seconds)
        (root / "sys/class/power_supply/AC/online").write_text("0\n")
        (root / "sys/class/power_supply/BAT0/status").write_text("Discharging\n")

    results, said = _automatic(root, ChecksPolicy(charger_unplug_s=30), volunteer_pulls_the_charger)
    charging = next(r for r in results if r.name == "charging")
    assert charging.outcome is TestOutcome.PASS
    assert charging.details == "AC online, battery Charging; unplug noticed"
    assert len(polls) == 1  # read, unplugged while waiting, read again
    assert said == [
        "Charging: pull the charger out of the laptop now (at most 30 s), then plug it back in.",
        "Charger unplug noticed: plug the charger back in.",
    ]


def test_a_charger_unplug_never_noticed_fails_when_the_time_is_up(tmp_path: Path) -> None:
    root = _laptop_root(tmp_path)
    results, said = _automatic(root, ChecksPolicy(charger_unplug_s=1))
    charging = next(r for r in results if r.name == "charging")
    assert charging.outcome is TestOutcome.FAIL
    assert charging.details == "AC online, battery Charging; unplug not noticed within 1 s"
    assert len(said) == 1


def test_no_adapter_charging_is_not_waited_for(tmp_path: Path) -> None:
    root = _laptop_root(tmp_path)
    (root / "sys/class/power_supply/AC/online").write_text("0\n")
    (root / "sys/class/power_supply/BAT0/status").write_text("Discharging\n")
    results, said = _automatic(root, ChecksPolicy(charger_unplug_s=600))
    charging = next(r for r in results if r.name == "charging")
    assert charging.outcome is TestOutcome.FAIL and said == []
    assert wait_unplug(lambda: None, 600) == "not_tried"  # no power supply at all
