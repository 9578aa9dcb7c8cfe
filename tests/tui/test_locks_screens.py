"""Firmware locks on the confirm and result screens (pilot and snapshot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agent.policy import load_policy
from agent.probes.firmware_locks import probe_locks
from agent.report.schema import Report
from agent.tui.screens.confirm import ConfirmScreen
from agent.tui.screens.result import ResultScreen
from agent.tui.screens.summary import SummaryScreen

from .conftest import inspected_report, make_app, screen_text, wait_for

SYSROOTS = Path(__file__).parent.parent / "fixtures" / "sysroots"


def _locked() -> Report:
    report = inspected_report("DG-000061")
    report.components.locks = probe_locks(SYSROOTS / "locks-thinkpad-lmi")
    return report


async def test_locks_are_named_before_erasing_and_block_lending() -> None:
    app, pipeline = make_app(report=_locked(), touchpad_test=False)
    app.locks_policy = load_policy().effects
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"DG-61", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        await pilot.press("enter", "f2")
        await wait_for(pilot, lambda: not isinstance(app.screen, SummaryScreen))
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("5")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = screen_text(app)
        assert "Firmware locks (clear them before lending):" in text
        assert "A firmware password (Admin) is set" in text
        assert "ComputraceModuleActivation is Enable" in text
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        await pilot.pause()
        result = screen_text(app)
        assert "Ready to lend" not in result
        assert "Repair first" in result
        assert "remove the firmware Admin password" in result
    assert "run" in pipeline.calls


async def test_without_locks_the_confirm_screen_has_no_locks_line() -> None:
    app, _pipeline = make_app(touchpad_test=False)
    app.locks_policy = load_policy().effects
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(*"DG-62", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        await pilot.press("enter", "f2")
        await wait_for(pilot, lambda: not isinstance(app.screen, SummaryScreen))
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("5")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "Firmware locks" not in screen_text(app)


def test_confirm_screen_with_locks_snapshot(snap_compare: Any) -> None:
    from agent.checks.locks import lock_warnings

    app, _ = make_app(language="nl")
    report = _locked()
    locks = lock_warnings(report.components.locks, load_policy().effects)
    targets = [d for d in report.components.disks if d.internal]

    async def run_before(pilot: Any) -> None:
        await pilot.app.push_screen(ConfirmScreen("DG-000061", targets, [], locks))
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 25), run_before=run_before)
