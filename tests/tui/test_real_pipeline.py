"""The TUI driving the real station pipeline on a loop device (root only).

The loop device is the only allowed device (``[testing] allowed_devices``), so
it plays the laptop's internal disk and every real disk of this machine is
listed as refused. A recorded ThinkPad DMI tree plays the laptop.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.config import StationConfig, StationSection, TestingSection, WipeSection
from agent.pipeline.station import Pipeline
from agent.runner import SystemRunner
from agent.tui.app import DigibenchApp
from agent.tui.driver import EventBridge
from agent.tui.screens.confirm import ConfirmScreen
from agent.tui.screens.result import ResultScreen
from agent.tui.screens.start import StartScreen
from agent.tui.screens.summary import SummaryScreen

from .conftest import screen_text, wait_for

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="loop devices need root"),
]

FIXTURES = Path(__file__).parent.parent / "fixtures"
MiB = 1 << 20
MARKER = b"PLANTED-CHILD-DATA"
run = SystemRunner().run


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[str]:
    image = tmp_path / "disk.img"
    with image.open("wb") as fh:
        fh.truncate(16 * MiB)
        fh.seek(5 * MiB)
        fh.write(MARKER)
    dev = run(["losetup", "--find", "--show", str(image)], check=True).text.strip()
    try:
        yield dev
    finally:
        run(["partx", "-d", dev])
        run(["losetup", "-d", dev])


def _pipeline(tmp_path: Path, dev: str, bridge: EventBridge) -> Pipeline:
    config = StationConfig(
        station=StationSection(name="tui-test", language="en", data_dir=tmp_path / "data"),
        wipe=WipeSection(verify_percent=100),
        testing=TestingSection(
            allowed_devices=[dev], profile_root=FIXTURES / "sysroots" / "dmi-thinkpad-a485"
        ),
    )
    return Pipeline(config, runner=SystemRunner(), emit=bridge)


async def test_cancel_on_confirm_screen_leaves_the_disk_untouched(
    tmp_path: Path, loop: str
) -> None:
    bridge = EventBridge()
    pipeline = _pipeline(tmp_path, loop, bridge)
    app = DigibenchApp(pipeline, bridge, screen_test_interval=None, touchpad_test=False)
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
    app = DigibenchApp(pipeline, bridge, screen_test_interval=None, touchpad_test=False)
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
