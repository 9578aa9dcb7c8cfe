"""The sound and USB steps with Pilot, snapshots, and the bench time with every step on."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.checks.audio_loopback import loopback
from agent.checks.camera_frame import grab_frame
from agent.checks.usb_ports import PortWatch, parse_blocks
from agent.policy import load_policy
from agent.report.schema import TestOutcome
from agent.tui.screens.audio import AudioScreen
from agent.tui.screens.camera import CameraScreen
from agent.tui.screens.checks import SCREEN_TEST_INTERVAL_S, CosmeticScreen, KeyboardScreen
from agent.tui.screens.confirm import ConfirmScreen
from agent.tui.screens.devices import DevicesScreen
from agent.tui.screens.summary import SummaryScreen
from agent.tui.screens.usb_ports import UsbPortsScreen
from tests.checks.frames import scene, yuyv
from tests.checks.recordings import mic_wav
from tests.checks.test_audio_loopback import _runner as audio_runner
from tests.checks.test_camera_frame import _runner as camera_runner
from tests.checks.test_usb_ports import FT232, TUNER, laptop_ports, moved
from tests.tui.bench_time import BUDGET_S, bench_time

from .conftest import CountedKeys, make_app, screen_text, wait_for
from .test_device_checks import DEVICE_CHECKS, _app, _laptop


class Plugs:
    """Uevents the test hands over one by one, as the kernel would on each insertion."""

    def __init__(self) -> None:
        self.queue: queue.Queue[dict[str, str]] = queue.Queue()

    def plug(self, block: str) -> None:
        for props in parse_blocks(block):
            self.queue.put(props)

    def events(self, stop: threading.Event) -> Iterator[dict[str, str]]:
        while not stop.is_set():
            try:
                yield self.queue.get(timeout=0.05)
            except queue.Empty:
                continue


def _heard() -> Any:
    return lambda: loopback(
        audio_runner(mic_wav(1, tone_db=None), mic_wav(3, tone_db=-30)), lead_in=0
    )


def _silent_mic() -> Any:
    return lambda: loopback(
        audio_runner(mic_wav(1, tone_db=None), mic_wav(3, tone_db=None, seed=9)), lead_in=0
    )


async def test_happy_path_with_every_station_check_stays_within_15_keystrokes(
    tmp_path: Path,
) -> None:
    """Bench time, asset tag to confirm: camera, sound and USB map on, default policy."""
    plugs = Plugs()
    app, pipeline = _app(_laptop())
    app.camera_test = lambda: grab_frame(camera_runner(yuyv(scene(), noise=4)), "/dev/video0")
    app.audio_test = _heard()
    app.usb_ports = PortWatch(laptop_ports(tmp_path), events=plugs.events)
    async with app.run_test(size=(100, 40)) as pilot:
        press = CountedKeys(pilot, start=2)  # the boot menu: pick the entry, Enter
        await pilot.press(*"DG-000071")  # the barcode scanner types the tag...
        await press("enter")  # ...and the Enter is counted
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        await press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyboardScreen))
        await press("f2")
        await wait_for(pilot, lambda: not isinstance(app.screen, KeyboardScreen))
        await press("f2")  # screen test
        await wait_for(pilot, lambda: not isinstance(app.screen, KeyboardScreen))
        await press("f4")  # touchpad: skipped (not offered at all on the bare console)
        await wait_for(pilot, lambda: isinstance(app.screen, CameraScreen))
        camera = app.screen
        await wait_for(pilot, lambda: camera.frame is not None)  # type: ignore[attr-defined]
        await press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, AudioScreen))
        audio = app.screen
        await wait_for(pilot, lambda: audio.found is not None)  # type: ignore[attr-defined]
        await press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, UsbPortsScreen))
        plugs.plug(TUNER)  # the stick in socket 2 (USB 2)...
        plugs.plug(moved(FT232, "3-12", "2-1"))  # ...then socket 1 (seen on the USB 3 hub)
        await wait_for(pilot, lambda: isinstance(app.screen, DevicesScreen))  # no key
        await press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, CosmeticScreen))
        await press("5")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await press("tab", "enter")
        await wait_for(pilot, lambda: "run" in pipeline.calls)
    tests = {t.name: t for t in pipeline.tests}
    assert set(tests) == {"keyboard", "screen", "touchpad", "cosmetic", "usb_ports", *DEVICE_CHECKS}
    for name in ("camera", "audio", "usb_ports"):
        assert tests[name].outcome is TestOutcome.PASS, tests[name]
    assert press.count <= 15, press.count
    # ...and under two minutes of the volunteer's time, computed from the settings
    assert app.device_checks is not None and app.usb_ports is not None
    sockets = len(app.usb_ports.expected())
    assert sockets == 2
    spent = bench_time(
        app.device_checks,
        keystrokes=press.count,
        screen_test_interval=SCREEN_TEST_INTERVAL_S,
        usb_ports=sockets,
    )
    assert spent.total <= BUDGET_S, spent.parts


def test_the_bench_time_budget_holds_for_a_laptop_with_four_sockets() -> None:
    """The default policy and station settings, 15 keys (the most the pilot tests allow)
    and four USB sockets (a generous laptop): still within two minutes."""
    policy = load_policy().checks
    spent = bench_time(
        policy, keystrokes=15, screen_test_interval=SCREEN_TEST_INTERVAL_S, usb_ports=4
    )
    assert set(spent.parts) == {
        "keys",
        "keyboard",
        "screen",
        "camera",
        "audio",
        "usb_ports",
        "charger_unplug",
    }
    assert spent.parts["screen"] == SCREEN_TEST_INTERVAL_S * 5
    assert spent.parts["charger_unplug"] == policy.charger_unplug_s
    assert spent.total <= BUDGET_S, spent.parts
    # a settings change that breaks the promise is caught: a 2-minute unplug wait
    slow = policy.model_copy(update={"charger_unplug_s": 120})
    assert (
        bench_time(
            slow, keystrokes=15, screen_test_interval=SCREEN_TEST_INTERVAL_S, usb_ports=4
        ).total
        > BUDGET_S
    )


async def test_a_silent_microphone_fails_the_sound_test_and_says_so_in_dutch() -> None:
    app, _pipeline = make_app(language="nl")
    results: list[Any] = []
    async with app.run_test(size=(100, 30)) as pilot:
        screen = AudioScreen(_silent_mic())
        app.push_screen(screen, results.append)
        await wait_for(pilot, lambda: screen.found is not None)
        assert "hoorde de tonen niet" in screen_text(app)
        await pilot.press("f2")
        await wait_for(pilot, lambda: bool(results))
    assert results[0].name == "audio" and results[0].outcome is TestOutcome.FAIL


async def test_f5_plays_the_tones_again_and_f3_records_not_heard() -> None:
    calls: list[int] = []
    play = _heard()

    def counted() -> Any:
        calls.append(1)
        return play()

    app, _pipeline = make_app()
    results: list[Any] = []
    async with app.run_test(size=(100, 30)) as pilot:
        screen = AudioScreen(counted)
        app.push_screen(screen, results.append)
        await wait_for(pilot, lambda: screen.found is not None)
        await pilot.press("f5")
        await wait_for(pilot, lambda: len(calls) == 2 and not screen.playing)
        await pilot.press("f3")
        await wait_for(pilot, lambda: bool(results))
    assert results[0].outcome is TestOutcome.FAIL
    assert "operator: not heard" in results[0].details


async def test_one_key_names_the_speaker_that_stayed_silent() -> None:
    """A dead right speaker: F7, still one key; the microphone's own verdict stays."""
    app, _pipeline = make_app(language="nl")
    results: list[Any] = []
    async with app.run_test(size=(100, 30)) as pilot:
        screen = AudioScreen(_heard())
        app.push_screen(screen, results.append)
        await wait_for(pilot, lambda: screen.found is not None)
        text = screen_text(app)
        assert "F6 of F7: de linker of de rechter bleef stil" in " ".join(text.split())
        assert "F10 Afsluit" in text  # the footer keeps room for the screen's own keys
        await pilot.press("f7")
        await wait_for(pilot, lambda: bool(results))
    assert results[0].name == "audio" and results[0].outcome is TestOutcome.FAIL
    assert results[0].details.endswith("(ok); operator: right speaker silent")


async def test_a_dead_socket_is_named_when_the_volunteer_ends_the_map(tmp_path: Path) -> None:
    plugs = Plugs()
    app, _pipeline = make_app(language="nl")
    results: list[Any] = []
    async with app.run_test(size=(100, 30)) as pilot:
        screen = UsbPortsScreen(PortWatch(laptop_ports(tmp_path), events=plugs.events))
        app.push_screen(screen, results.append)
        await wait_for(pilot, lambda: app.screen is screen)
        assert "0 van 2 USB-poorten gezien" in screen_text(app)
        plugs.plug(TUNER)
        await wait_for(pilot, lambda: screen.seen == {"1-2"})
        assert "1 van 2 USB-poorten gezien" in screen_text(app)
        await pilot.press("f2")
        await wait_for(pilot, lambda: bool(results))
    assert results[0].outcome is TestOutcome.FAIL
    assert "no insertion in 1-1" in results[0].details


async def test_no_uevents_is_said_in_words_and_f4_skips(tmp_path: Path) -> None:
    def broken(_stop: threading.Event) -> Iterator[dict[str, str]]:
        raise PermissionError(1, "Operation not permitted")

    app, _pipeline = make_app()
    results: list[Any] = []
    async with app.run_test(size=(100, 30)) as pilot:
        screen = UsbPortsScreen(PortWatch(tmp_path, events=broken))
        app.push_screen(screen, results.append)
        await wait_for(pilot, lambda: screen.error is not None)
        assert "cannot follow the USB ports: Operation not permitted" in screen_text(app)
        await pilot.press("f4")
        await wait_for(pilot, lambda: bool(results))
    assert results[0].outcome is TestOutcome.SKIPPED


def test_usb_map_snapshot(snap_compare: Any, tmp_path: Path) -> None:
    app, _ = make_app(language="nl")
    plugs = Plugs()

    async def run_before(pilot: Any) -> None:
        screen = UsbPortsScreen(PortWatch(laptop_ports(tmp_path), events=plugs.events))
        await pilot.app.push_screen(screen)
        plugs.plug(TUNER)
        await wait_for(pilot, lambda: screen.seen == {"1-2"})

    assert snap_compare(app, terminal_size=(80, 20), run_before=run_before)


def test_sound_screen_snapshot(snap_compare: Any) -> None:
    app, _ = make_app(language="nl")

    async def run_before(pilot: Any) -> None:
        screen = AudioScreen(_heard())
        await pilot.app.push_screen(screen)
        await wait_for(pilot, lambda: screen.found is not None)

    assert snap_compare(app, terminal_size=(80, 20), run_before=run_before)
