"""The camera step: a grabbed frame drawn in half blocks, confirmed with one key."""

from __future__ import annotations

import threading
from typing import Any

from agent.checks.camera_frame import CameraFrame, grab_frame
from agent.report.schema import TestOutcome
from agent.tui.screens.camera import CameraScreen
from agent.tui.screens.checks import CosmeticScreen, KeyboardScreen
from agent.tui.screens.devices import DevicesScreen
from agent.tui.screens.summary import SummaryScreen
from tests.checks.frames import covered, scene, yuyv
from tests.checks.test_camera_frame import _runner

from .conftest import make_app, screen_text, wait_for
from .test_device_checks import _app, _laptop


def _grab(frame: bytes) -> Any:
    return lambda: grab_frame(_runner(frame), "/dev/video0")


async def _to_camera(pilot: Any, app: Any) -> None:
    await pilot.press(*"DG-61", "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
    await pilot.press("enter", "f2")
    await wait_for(pilot, lambda: not isinstance(app.screen, KeyboardScreen))
    await pilot.press("f2")
    await wait_for(pilot, lambda: isinstance(app.screen, CameraScreen))


async def test_the_picture_is_shown_and_one_key_confirms_it() -> None:
    app, pipeline = _app(_laptop(), touchpad_test=False)
    app.camera_test = _grab(yuyv(scene(), noise=4))
    async with app.run_test(size=(100, 40)) as pilot:
        await _to_camera(pilot, app)
        screen = app.screen
        assert isinstance(screen, CameraScreen)
        await wait_for(pilot, lambda: screen.frame is not None)
        assert "▀" in screen_text(app) and "Brightness" in screen_text(app)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, DevicesScreen))
        assert "Integrated Camera" not in screen_text(app)  # judged already, not listed again
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, CosmeticScreen))
        await pilot.press("5")
        await wait_for(pilot, lambda: "record_tests" in pipeline.calls)
    camera = next(t for t in pipeline.tests if t.name == "camera")
    assert camera.outcome is TestOutcome.PASS and "640x480" in (camera.details or "")
    assert [t.name for t in pipeline.tests].count("camera") == 1


async def test_a_covered_lens_says_so_and_the_operator_marks_it_broken() -> None:
    app, pipeline = _app(_laptop(), touchpad_test=False, language="nl")
    app.camera_test = _grab(covered())
    async with app.run_test(size=(100, 40)) as pilot:
        await _to_camera(pilot, app)
        screen = app.screen
        assert isinstance(screen, CameraScreen)
        await wait_for(pilot, lambda: screen.frame is not None)
        assert "lens afgedekt" in screen_text(app)
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, DevicesScreen))
        await pilot.press("f2", "5")
        await wait_for(pilot, lambda: "record_tests" in pipeline.calls)
    camera = next(t for t in pipeline.tests if t.name == "camera")
    assert camera.outcome is TestOutcome.FAIL and "operator: broken" in (camera.details or "")


async def test_keys_before_the_picture_arrives_judge_nothing() -> None:
    app, _pipeline = make_app(touchpad_test=False)
    release = threading.Event()

    def slow() -> CameraFrame:  # a camera that takes its time
        release.wait(10)
        return CameraFrame("/dev/video0", error="slow")

    screen = CameraScreen(slow)
    async with app.run_test(size=(100, 40)) as pilot:
        app.push_screen(screen)
        await wait_for(pilot, lambda: app.screen is screen)
        await pilot.press("f2", "f3")
        assert app.screen is screen  # no picture yet: F2 and F3 judge nothing
        assert "Taking a picture" in screen_text(app)
        release.set()
        await wait_for(pilot, lambda: screen.frame is not None)
        assert "Geen beeld" not in screen_text(app) and "slow" in screen_text(app)
        await pilot.press("f2")
        await wait_for(pilot, lambda: app.screen is not screen)


def test_camera_screen_snapshot(snap_compare: Any) -> None:
    app, _ = make_app(language="nl")
    frame = grab_frame(_runner(yuyv(scene(), noise=4)), "/dev/video0")

    async def run_before(pilot: Any) -> None:
        screen = CameraScreen(lambda: frame)
        screen.frame = frame
        await pilot.app.push_screen(screen)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 30), run_before=run_before)
