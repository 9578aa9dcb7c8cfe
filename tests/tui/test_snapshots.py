"""Snapshots of every screen at 80x25 with the ANSI (16-colour) theme, as on the
bare Linux console; each also checks every glyph on screen is in the console font.

Update after a deliberate change with ``pytest tests/tui --snapshot-update`` and
look at the SVGs under ``__snapshots__`` before committing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.grading import grade_report
from agent.labels.finished import LabelOutcome
from agent.pipeline.events import DiskProgress, Notice, Stage, StageChanged
from agent.policy import load_policy
from agent.report.reasons import reason
from agent.report.samples import sample_report
from agent.report.schema import Mode, TestOutcome, TestResult
from agent.tui.screens.checks import CosmeticScreen, KeyboardScreen
from agent.tui.screens.confirm import ConfirmScreen
from agent.tui.screens.progress import ProgressScreen
from agent.tui.screens.result import ResultScreen
from agent.tui.screens.summary import SummaryScreen

from .conftest import SERVER, console_safe, inspected_report, make_app, screen_text

SIZE = (80, 25)


async def _check_glyphs(pilot: Any) -> None:
    await pilot.pause()
    assert console_safe(screen_text(pilot.app)) == set()


def test_start_screen(snap_compare: Any) -> None:
    app, _ = make_app(language="nl")

    async def run_before(pilot: Any) -> None:
        await pilot.press(*"DG-00")
        await _check_glyphs(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_start_screen_english_helpdesk_with_error(snap_compare: Any) -> None:
    app, _ = make_app(language="en")

    async def run_before(pilot: Any) -> None:
        await pilot.press("f2", "enter")
        await _check_glyphs(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_summary_screen(snap_compare: Any) -> None:
    app, _ = make_app(language="nl")

    async def run_before(pilot: Any) -> None:
        await pilot.app.switch_screen(SummaryScreen(inspected_report("DG-000042")))
        await _check_glyphs(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_helpdesk_summary_in_plain_words(snap_compare: Any) -> None:
    app, _ = make_app(language="nl")
    report = inspected_report("HD-7", Mode.CHECK)
    report.components.disks = report.components.disks[:1] + report.components.disks[2:]

    async def run_before(pilot: Any) -> None:
        await pilot.app.switch_screen(SummaryScreen(report))
        await _check_glyphs(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_keyboard_screen(snap_compare: Any) -> None:
    app, _ = make_app(language="nl")

    async def run_before(pilot: Any) -> None:
        await pilot.app.push_screen(KeyboardScreen())
        await pilot.press("a", "z", "e", "r", "t", "y", "é", "space")
        await _check_glyphs(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_cosmetic_screen(snap_compare: Any) -> None:
    app, _ = make_app(language="nl")

    async def run_before(pilot: Any) -> None:
        await pilot.app.push_screen(CosmeticScreen())
        await _check_glyphs(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_confirm_screen(snap_compare: Any) -> None:
    app, _ = make_app(language="nl")
    report = inspected_report("DG-000042")
    disks = report.components.disks

    async def run_before(pilot: Any) -> None:
        screen = ConfirmScreen(
            "DG-000042",
            disks[:2],
            [(disks[2], reason("refuse.boot_medium", "error", detail="sdb1: DIGIBENCH"))],
        )
        await pilot.app.push_screen(screen)
        await _check_glyphs(pilot)
        assert pilot.app.focused.id == "cancel"

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_progress_screen(snap_compare: Any) -> None:
    app, pipeline = make_app(language="nl")

    async def run_before(pilot: Any) -> None:
        await pilot.app.switch_screen(ProgressScreen("DG-000042", []))
        pipeline.emit(StageChanged(Stage.WIPE))
        nvme = "SAMSUNG MZVLB512HAJQ-000L7 (S4EUNX0M0000007)"
        sata = "Samsung SSD 860 EVO 500GB (S3Z2NB0K0000007)"
        pipeline.emit(DiskProgress(nvme, "verify", 384 * 10**9, 512 * 10**9, 2.1e9, 61.0))
        pipeline.emit(DiskProgress(sata, "wipe", 125 * 10**9, 500 * 10**9, 5.2e8, 721.0))
        pipeline.emit(Notice("info", "HPA: geen verborgen gebied gevonden"))
        await _check_glyphs(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_result_screen(snap_compare: Any) -> None:
    app, _ = make_app(language="nl")
    report = sample_report(3, asset_tag="DG-000042")
    assert report.components.cpu is not None
    report.components.cpu.flags.append("lm")  # x86-64 (the sample lacks the flag)
    report.tests.append(
        TestResult(name="cosmetic", outcome=TestOutcome.PASS, answers={"code": "C3"})
    )
    report.grade = grade_report(report, load_policy(None))

    async def run_before(pilot: Any) -> None:
        label = LabelOutcome(Path("/run/digibench/data/labels/label-DG-000042.png"), None)
        screen = ResultScreen(
            report, report.grade, server_url=SERVER, outbox_pending=1, uploaded=False,
            label=label,
        )  # fmt: skip
        await pilot.app.switch_screen(screen)
        await _check_glyphs(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
