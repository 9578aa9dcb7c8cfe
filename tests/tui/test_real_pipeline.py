"""The TUI driving the real station pipeline on a loop device (root only).

The loop device is the only allowed device (``[testing] allowed_devices``), so
it plays the laptop's internal disk and every real disk of this machine is
listed as refused. A recorded ThinkPad DMI tree plays the laptop.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot

from agent.config import StationConfig, StationSection, TestingSection, WipeSection
from agent.pipeline.events import DiskProgress, Event
from agent.pipeline.station import Pipeline
from agent.runner import SystemRunner
from agent.tui.app import DigibenchApp
from agent.tui.driver import EventBridge
from agent.tui.screens.ask import AskScreen
from agent.tui.screens.confirm import ConfirmScreen
from agent.tui.screens.progress import ProgressScreen
from agent.tui.screens.result import ResultScreen
from agent.tui.screens.start import StartScreen
from agent.tui.screens.stopped import StoppedScreen
from agent.tui.screens.summary import SummaryScreen

from .conftest import power_runner, screen_text, wait_for

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="loop devices need root"),
]

FIXTURES = Path(__file__).parent.parent / "fixtures"
MiB = 1 << 20
MARKER = b"PLANTED-CHILD-DATA"
run = SystemRunner().run


def _make_loop(tmp_path: Path, name: str) -> tuple[str, Path]:
    image = tmp_path / f"{name}.img"
    with image.open("wb") as fh:
        fh.truncate(16 * MiB)
        fh.seek(5 * MiB)
        fh.write(MARKER)
    dev = run(["losetup", "--find", "--show", str(image)], check=True).text.strip()
    return dev, image


def _drop_loop(dev: str) -> None:
    run(["partx", "-d", dev])
    run(["losetup", "-d", dev])


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[str]:
    dev, _image = _make_loop(tmp_path, "disk")
    try:
        yield dev
    finally:
        _drop_loop(dev)


@pytest.fixture
def loops(tmp_path: Path) -> Iterator[list[str]]:
    made: list[str] = []
    try:
        for name in ("disk-a", "disk-b"):
            made.append(_make_loop(tmp_path, name)[0])
        yield made
    finally:
        for dev in made:
            _drop_loop(dev)


class GatedBridge(EventBridge):
    """Holds the wipe (in the engine's progress call) once it is under way, until released.

    The 16 MiB loop disk is wiped in a blink; this keeps it mid-wipe, after the
    first chunk, so a test can press keys while the real engine is writing.
    """

    def __init__(self) -> None:
        super().__init__()
        self.reached = threading.Event()
        self.gate = threading.Event()
        self.held_at = 0.0

    def __call__(self, event: Event) -> None:
        super().__call__(event)
        if (
            isinstance(event, DiskProgress)
            and event.phase == "wipe"
            and event.done_bytes > 0
            and not self.reached.is_set()
        ):
            self.held_at = event.percent
            self.reached.set()
            self.gate.wait(60)


def _pipeline(tmp_path: Path, dev: str | list[str], bridge: EventBridge) -> Pipeline:
    config = StationConfig(
        station=StationSection(name="tui-test", language="en", data_dir=tmp_path / "data"),
        wipe=WipeSection(verify_percent=100),
        testing=TestingSection(
            allowed_devices=[dev] if isinstance(dev, str) else dev,
            profile_root=FIXTURES / "sysroots" / "dmi-thinkpad-a485",
        ),
    )
    return Pipeline(config, runner=SystemRunner(), emit=bridge)


def _app(pipeline: Pipeline, bridge: EventBridge) -> DigibenchApp:
    return DigibenchApp(
        pipeline, bridge, runner=power_runner(), screen_test_interval=None, touchpad_test=False
    )


async def _to_confirm(pilot: Pilot[None], app: DigibenchApp, tag: str) -> None:
    await pilot.press(*tag, "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen), timeout=60)
    await pilot.press("enter", "f2", "f2", "5")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))


async def test_cancel_on_confirm_screen_leaves_the_disk_untouched(
    tmp_path: Path, loop: str
) -> None:
    bridge = EventBridge()
    pipeline = _pipeline(tmp_path, loop, bridge)
    app = _app(pipeline, bridge)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"TUI-REAL-1", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen), timeout=60)
        assert "ThinkPad A485" in screen_text(app)
        await pilot.press("enter", "f2", "f2", "5")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        screen = app.screen
        assert [d.path for d in screen.targets] == [loop]
        assert all(d.path != loop for d, _why in screen.refused)
        assert app.focused is not None and app.focused.id == "cancel"
        assert [t.name for t in pipeline.report.tests] == ["keyboard", "screen", "cosmetic"]
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
    with open(loop, "rb") as fh:
        fh.seek(5 * MiB)
        assert fh.read(len(MARKER)) == MARKER


async def test_confirm_wipes_and_ends_on_the_result_screen(tmp_path: Path, loop: str) -> None:
    bridge = EventBridge()
    pipeline = _pipeline(tmp_path, loop, bridge)
    app = _app(pipeline, bridge)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"TUI-REAL-2", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen), timeout=60)
        await pilot.press("enter", "f2", "f2", "5")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen), timeout=60)
        report = app.screen.report
        assert report.asset_tag == "TUI-REAL-2"
        assert [e.result.value for e in report.erasures] == ["erased"]
        assert report.grade is not None
        assert "grade" in screen_text(app)
    with open(loop, "rb") as fh:
        assert fh.read() == bytes(16 * MiB)


def _zeroed(dev: str) -> bool:
    with open(dev, "rb") as fh:
        return fh.read() == bytes(16 * MiB)


async def test_cancel_on_one_laptop_then_the_next_is_wiped(
    tmp_path: Path, loops: list[str]
) -> None:
    """A cancel used to leave the pipeline's stop set: every later wipe stopped at 8 MiB."""
    bridge = EventBridge()
    pipeline = _pipeline(tmp_path, loops, bridge)
    app = _app(pipeline, bridge)
    async with app.run_test(size=(100, 30)) as pilot:
        await _to_confirm(pilot, app, "TUI-REAL-3")
        await pilot.press("enter")  # Cancel
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        assert not any(_zeroed(dev) for dev in loops)
        await _to_confirm(pilot, app, "TUI-REAL-4")
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen), timeout=120)
        report = app.screen.report
        assert report.asset_tag == "TUI-REAL-4"
        assert [e.result.value for e in report.erasures] == ["erased", "erased"]
        assert sorted(e.disk_path for e in report.erasures) == sorted(loops)
    assert all(_zeroed(dev) for dev in loops)


async def _stop_mid_wipe(
    pilot: Pilot[None], app: DigibenchApp, bridge: GatedBridge, key: str
) -> None:
    await _to_confirm(pilot, app, "TUI-REAL-5")
    await pilot.press("tab", "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
    await wait_for(pilot, bridge.reached.is_set, timeout=60)  # the engine is writing
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, AskScreen))
    await pilot.press("tab", "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
    assert "Stopping" in screen_text(app)
    bridge.gate.set()  # the engine goes on, sees the stop, records the disk
    await wait_for(pilot, lambda: isinstance(app.screen, StoppedScreen), timeout=60)


def _one_stopped_record(pipeline: Pipeline, loop: str) -> None:
    records = [json.loads(p.read_text()) for p in pipeline.config.record_dir.glob("*.json")]
    assert [(r["disk_path"], r["result"]) for r in records] == [(loop, "failed")]
    assert any("wipe interrupted at byte" in note for note in records[0]["notes"])
    assert records[0]["signature"]
    assert 0 < records[0]["bytes_written"] < 16 * MiB  # stopped part-way


async def test_quit_during_a_wipe_cancels_records_and_says_so(tmp_path: Path, loop: str) -> None:
    bridge = GatedBridge()
    pipeline = _pipeline(tmp_path, loop, bridge)
    app = _app(pipeline, bridge)
    async with app.run_test(size=(100, 30)) as pilot:
        await _stop_mid_wipe(pilot, app, bridge, "f10")
        _one_stopped_record(pipeline, loop)
        text = screen_text(app)
        assert "TUI-REAL-5: stopped" in text
        # the screen shows where the engine was held: after its first chunk
        assert f"stopped during wipe at {bridge.held_at:.0f}%" in text
        assert "NOT erased" in text
        assert app.is_running
        await pilot.press("enter")  # Quit, as asked
        await wait_for(pilot, lambda: not app.is_running)
    assert pipeline.pending_resume() is None


async def test_stop_on_the_progress_screen_then_the_laptop_is_wiped_again(
    tmp_path: Path, loop: str
) -> None:
    bridge = GatedBridge()
    pipeline = _pipeline(tmp_path, loop, bridge)
    app = _app(pipeline, bridge)
    async with app.run_test(size=(100, 30)) as pilot:
        await _stop_mid_wipe(pilot, app, bridge, "escape")
        _one_stopped_record(pipeline, loop)
        await pilot.press("enter")  # Back to start
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        await _to_confirm(pilot, app, "TUI-REAL-5")
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen), timeout=120)
        assert [e.result.value for e in app.screen.report.erasures] == ["erased"]
    assert _zeroed(loop)
