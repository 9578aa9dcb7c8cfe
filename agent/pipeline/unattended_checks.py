"""The device checks an unattended run does by itself: camera, sound, USB port map,
Wi-Fi, Bluetooth, charging (with the charger's unplug) and temperature.

The same checks as the TUI's screens (agent/checks), chosen by ``[headless]
checks`` and left out where the policy skips them. Wi-Fi, Bluetooth, charging and
temperature are the very verdicts the TUI's devices screen proposes
(:func:`agent.checks.devices.device_checks`), recorded without an operator's
"broken"; the charger's unplug is waited for at most ``[checks] charger_unplug_s``.
Nobody looks or listens, so a check passes only on what the station measured itself,
and what needs a person's eye or ear is recorded as not judged (skipped) with the
measurement: a camera that gives no frame, a laptop without a sound card or whose
tones cannot be played, and a USB socket that saw no stick fail. The USB port map
says on the progress stream when to plug the stick in and each socket it saw
(a bench, or a test driving a virtual machine, follows those lines).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent.checks.audio_loopback import Loopback, loopback
from agent.checks.camera_frame import CameraFrame, grab_frame
from agent.checks.charger import unplugged, wait_unplug, with_unplug
from agent.checks.devices import device_checks
from agent.checks.usb_ports import Port, PortWatch, result
from agent.config import HeadlessSection
from agent.pipeline.events import EventSink, notice
from agent.policy import ChecksPolicy
from agent.probes.camera import camera_nodes
from agent.report.schema import Peripherals, TestOutcome, TestResult
from agent.runner import Runner


@dataclass(frozen=True)
class Checkers:
    """How each check reaches the machine (tests put recorded or fake ones here)."""

    grab: Callable[[str], CameraFrame]
    play: Callable[[], Loopback]
    ports: PortWatch
    cameras: Callable[[], list[str]]
    #: whether the laptop runs without its charger now (None: no power supply reported)
    power: Callable[[], bool | None] = field(default=lambda: None)
    #: how the unplug wait pauses between two readings
    sleep: Callable[[float], None] = field(default=time.sleep)

    @classmethod
    def on(cls, runner: Runner, root: Path, sysfs: Path) -> Checkers:
        """The real ones: v4l2-ctl, aplay/arecord and the kernel's uevents."""
        return cls(
            grab=lambda device: grab_frame(runner, device),
            play=lambda: loopback(runner),
            ports=PortWatch(root),
            cameras=lambda: [node for node, _name in camera_nodes(sysfs)],
            power=lambda: unplugged(sysfs),
        )


def _usb_ports(settings: HeadlessSection, ports: PortWatch, emit: EventSink) -> TestResult:
    if not ports.available():
        emit(notice("warning", "notice.usb_ports_none"))
        return TestResult(
            name="usb_ports", outcome=TestOutcome.SKIPPED, details="no USB controller found"
        )
    count = settings.usb_port_count
    seconds = round(settings.usb_timeout_s)
    wanted: list[int] = [count]
    done: list[Port] = []

    def ready(expected: list[Port]) -> None:
        wanted[0] = len(expected) or count
        any_ = {} if wanted[0] else {"variant": "any"}
        emit(notice("info", "notice.usb_ports_plug", count=wanted[0], seconds=seconds, **any_))

    def seen(port: Port) -> None:
        done.append(port)
        any_ = {} if wanted[0] else {"variant": "any"}
        emit(
            notice(
                "info", "notice.usb_port_seen", port=port, done=len(done), count=wanted[0], **any_
            )
        )

    try:
        expected, found = ports.follow(count, settings.usb_timeout_s, seen, ready)
    except OSError as exc:
        error = str(exc.strerror or exc)
        emit(notice("warning", "notice.usb_ports_unreadable", error=error))
        return TestResult(
            name="usb_ports",
            outcome=TestOutcome.SKIPPED,
            details=f"USB events could not be read: {error}",
        )
    return result(expected, found, count=count)


#: what ``[headless] checks`` can name, in the TUI's order (screens first, then the list)
UNATTENDED = ("camera", "audio", "usb_ports", "wifi", "bluetooth", "charging", "thermal")


def _charging(
    proposed: TestResult, policy: ChecksPolicy, checkers: Checkers, emit: EventSink
) -> TestResult:
    """The adapter's reading, then (if it charges) the unplug, waited for within bounds."""
    seconds = policy.charger_unplug_s
    if proposed.outcome is not TestOutcome.PASS or seconds == 0:
        return proposed
    emit(notice("info", "notice.charger_unplug", seconds=seconds))
    unplug = wait_unplug(checkers.power, seconds, sleep=checkers.sleep)
    if unplug == "seen":
        emit(notice("info", "notice.charger_unplugged"))
    return with_unplug(proposed, unplug, seconds)


def run_unattended_checks(
    settings: HeadlessSection,
    policy: ChecksPolicy,
    peripherals: Peripherals,
    checkers: Checkers,
    emit: EventSink,
) -> list[TestResult]:
    """The checks ``settings`` asks for and the policy does not skip, in the TUI's order."""
    wanted = [c for c in UNATTENDED if c in settings.checks]
    wanted = [c for c in wanted if c not in policy.skip]
    proposed = {c.name: c for c in device_checks(peripherals, policy)}
    results: list[TestResult] = []
    if "camera" in wanted:
        if peripherals.cameras:
            nodes = checkers.cameras()
            results.append(checkers.grab(nodes[0] if nodes else "/dev/video0").unattended())
        else:
            results.append(proposed["camera"].result())  # no camera: fails
    if "audio" in wanted:
        if peripherals.sound_cards:
            results.append(checkers.play().unattended())
        else:
            results.append(proposed["audio"].result())  # no sound card: fails
    if "usb_ports" in wanted:
        results.append(_usb_ports(settings, checkers.ports, emit))
    for name in ("wifi", "bluetooth", "charging", "thermal"):
        if name in wanted and name in proposed:
            found = proposed[name].result()  # what the devices screen proposes, unjudged
            if name == "charging":
                found = _charging(found, policy, checkers, emit)
            results.append(found)
    return results
