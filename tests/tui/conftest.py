"""A scripted pipeline for driving the screens, and pilot helpers.

The scripted pipeline keeps the real contract (``agent.tui.driver.StationPipeline``)
and real data: inspection returns a realistic sample report, grading uses the
real grading policy. ``run()`` emits the events a wipe and flash emit, and can be
held mid-run so a test can look at the progress screen.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from textual.app import App
from textual.pilot import Pilot

from agent.grading import grade_report
from agent.pipeline.events import (
    DiskProgress,
    EventSink,
    Finished,
    Notice,
    Stage,
    StageChanged,
    ignore,
)
from agent.pipeline.station import disk_label
from agent.policy import load_policy
from agent.report.reasons import reason
from agent.report.samples import sample_report
from agent.report.schema import (
    Disk,
    ErasureResult,
    HelpdeskConsent,
    Mode,
    Reason,
    Report,
    TestResult,
)
from agent.runner import ReplayRunner
from agent.tui import i18n
from agent.tui.app import DigibenchApp
from agent.tui.driver import EventBridge

SERVER = "http://digibench.local:8000"


def inspected_report(asset_tag: str = "DG-000007", mode: Mode = Mode.INTAKE) -> Report:
    """What an inspection finds: the sample laptop before tests, wipe, flash and grade."""
    report = sample_report(7, asset_tag=asset_tag)
    stick = Disk(
        name="sdb",
        path="/dev/sdb",
        model="SanDisk Ultra Fit",
        serial="4C530001230418116264",
        size_bytes=32_017_047_552,
        transport="usb",
        internal=False,
        removable=True,
        is_boot_medium=True,
    )
    report.components.disks.append(stick)
    assert report.components.cpu is not None
    report.components.cpu.flags.append("lm")
    return report.model_copy(
        update={"mode": mode, "tests": [], "erasures": [], "images": [], "grade": None}
    )


class ScriptedPipeline:
    def __init__(
        self,
        emit: EventSink = ignore,
        *,
        language: str = "en",
        mode: Mode = Mode.INTAKE,
        report: Report | None = None,
        inspect_error: Exception | None = None,
        hold_run: bool = False,
    ) -> None:
        self.emit = emit
        self.stage = Stage.START
        self.mode = mode
        self.language = language
        self.server_url: str | None = SERVER
        self.template = report
        self.inspect_error = inspect_error
        self.release = threading.Event()
        if not hold_run:
            self.release.set()
        self.calls: list[str] = []
        self.report: Report | None = None
        self.tests: list[TestResult] = []
        self.confirmed: list[str] = []
        self.resume_info: Any = None
        self.consent: HelpdeskConsent | None = None

    def inspect(self, *, asset_tag: str, mode: Mode, operator: str | None = None) -> Report:
        self.calls.append(f"inspect {asset_tag} {mode.value}")
        self.emit(StageChanged(Stage.INSPECT, "reading SMART"))
        if self.inspect_error is not None:
            raise self.inspect_error
        base = self.template or inspected_report(asset_tag, mode)
        self.report = base.model_copy(update={"asset_tag": asset_tag, "mode": mode}, deep=True)
        self.stage = Stage.TESTS
        return self.report

    def record_tests(self, tests: list[TestResult]) -> None:
        self.calls.append("record_tests")
        self.tests = list(tests)

    def targets(self) -> list[Disk]:
        assert self.report is not None
        return [d for d in self.report.components.disks if d.internal]

    def refusals(self) -> list[tuple[Disk, Reason]]:
        assert self.report is not None
        return [
            (d, reason("refuse.boot_medium", "error", detail="DIGIBENCH label"))
            for d in self.report.components.disks
            if not d.internal
        ]

    def confirm(self, disk_names: Sequence[str]) -> None:
        self.calls.append("confirm")
        self.confirmed = list(disk_names)

    def record_consent(self, consent: HelpdeskConsent) -> None:
        self.calls.append(f"consent diagnosis={consent.diagnosis} label={consent.label}")
        self.consent = consent

    def confirm_refresh(self, *, copy_made: bool) -> None:
        self.calls.append(f"refresh copy_made={copy_made}")
        assert copy_made, "a refresh without a copy of the files"

    def cancel(self) -> None:
        self.calls.append("cancel")
        self.stage = Stage.CANCELLED

    def _grade_and_finish(self) -> Report:
        assert self.report is not None
        self.report.tests = list(self.tests)
        self.report.grade = grade_report(self.report, load_policy(None))
        self.emit(StageChanged(Stage.DONE))
        self.emit(Finished(self.report, self.report.grade, False, self.outbox_pending()))
        return self.report

    def run(self) -> Report:
        self.calls.append("run")
        assert self.confirmed, "run() without confirm()"
        self.emit(StageChanged(Stage.WIPE))
        for disk in self.targets():
            label = disk_label(disk)
            total = disk.size_bytes
            self.emit(DiskProgress(label, "wipe", total // 4, total, 1.9e9, 200.0))
        self.emit(Notice("info", "Confirmed disks are being erased"))
        self.release.wait(10)
        assert self.report is not None
        done = sample_report(7, asset_tag=self.report.asset_tag)  # verified records
        if self.stage is Stage.CANCELLED:  # as the engine records a stopped wipe
            self.report.erasures = [
                e.model_copy(update={"result": ErasureResult.FAILED, "verification_passed": None})
                for e in done.erasures
            ]
            return self.report
        self.report.erasures = done.erasures
        self.report.images = done.images
        return self._grade_and_finish()

    def finish(self) -> Report:
        self.calls.append("finish")
        return self._grade_and_finish()

    def outbox_pending(self) -> int:
        return 2

    def pending_resume(self) -> Any:
        return self.resume_info

    def resume(self) -> Report:
        self.calls.append("resume")
        self.confirmed = ["nvme0n1"]
        return self.run()


PILOT_DEADLINE_S = 480


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` pilot tests in a fresh event loop (no plugin needed), under a
    deadline: a test whose app never reaches what it waits for fails, it does not hang
    the suite (a limit, far above any run, not a timing)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    test = pyfuncitem.obj(**{n: pyfuncitem.funcargs[n] for n in names})
    try:
        asyncio.run(asyncio.wait_for(test, PILOT_DEADLINE_S))
    except TimeoutError:
        pytest.fail(f"the pilot test did not end within {PILOT_DEADLINE_S} s", pytrace=False)
    return True


@pytest.fixture(autouse=True)
def _language_reset() -> Any:
    yield
    i18n.set_language("nl")


def power_runner() -> ReplayRunner:
    """Replays ``systemctl poweroff`` (and keeps the call): a test never switches off."""
    runner = ReplayRunner()
    runner.add(["systemctl", "poweroff"])
    return runner


def make_app(
    touchpad_test: bool | None = True, *, swappable_disks: bool = False, **kwargs: Any
) -> tuple[DigibenchApp, ScriptedPipeline]:
    bridge = EventBridge()
    pipeline = ScriptedPipeline(bridge, **kwargs)
    app = DigibenchApp(
        pipeline,
        bridge,
        runner=power_runner(),
        swappable_disks=swappable_disks,
        screen_test_interval=None,
        touchpad_test=touchpad_test,
    )
    return app, pipeline


async def wait_for(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 10) -> None:
    """Let the app work (worker threads, messages) until ``condition`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; screen is {pilot.app.screen!r}")
        await pilot.pause(0.02)
    await pilot.pause()  # let the new screen compose and render


def screen_text(app: App[Any]) -> str:
    """The screen as plain text, the way the terminal would receive it."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        force_terminal=True,
        color_system="standard",
        record=True,
        legacy_windows=False,
    )
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


def console_safe(text: str) -> set[str]:
    """The characters in ``text`` that the Linux console font cannot show."""
    from agent.tui.glyphs import CONSOLE_GLYPHS

    return {
        ch
        for ch in text
        if ch != "\n"
        and ch not in CONSOLE_GLYPHS
        and not (" " <= ch <= "~" or "\xa0" <= ch <= "\xff")
    }


class CountedKeys:
    """Presses keys through ``pilot`` and counts them: the bench-time tests' volunteer.

    What the barcode scanner types is pressed with ``pilot.press`` directly, uncounted;
    ``start`` counts keys pressed before the app runs (the boot menu's entry and Enter).
    """

    def __init__(self, pilot: Pilot[Any], *, start: int = 0) -> None:
        self.pilot = pilot
        self.count = start

    async def __call__(self, *names: str) -> None:
        self.count += len(names)
        await self.pilot.press(*names)
