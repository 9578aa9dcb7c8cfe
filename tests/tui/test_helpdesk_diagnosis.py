"""Helpdesk (check) mode: a resident's own laptop gets a diagnosis, never a grade or destination."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.helpdesk_summary import write_summary_pdf
from agent.policy import load_policy
from agent.report.schema import Mode, Report
from agent.tui.screens.consent import ConsentScreen
from agent.tui.screens.result import ResultScreen
from agent.tui.screens.summary import SummaryScreen
from agent.tui.widgets import BigText

from .conftest import make_app, screen_text, wait_for


async def test_residents_laptop_gets_a_diagnosis_not_a_lending_grade() -> None:
    app, pipeline = make_app(mode=Mode.CHECK)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"HD-7", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConsentScreen))
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        await pilot.pause()
        text = screen_text(app)
        assert "Ready to lend" not in text
        assert "Digibank" not in text
        assert "grade" not in text.lower()
        assert not app.screen.query(BigText)
        assert "HD-7: diagnosis" in text
        assert "goes back to its owner" in text
        assert pipeline.calls == [
            "inspect HD-7 check",
            "consent diagnosis=False label=False",
            "finish",
        ]


async def test_helpdesk_result_names_the_residents_summary_pdf(tmp_path: Path) -> None:
    written: list[Path] = []

    def summary(report: Report) -> Path:
        path = write_summary_pdf(report, load_policy(), tmp_path / f"{report.asset_tag}.pdf")
        written.append(path)
        return path

    app, _pipeline = make_app(mode=Mode.CHECK)
    app.helpdesk_summary = summary
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press(*"HD-8", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConsentScreen))
        await pilot.press("enter", "enter")  # Enter is "no": the default keeps nothing
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        await pilot.pause()
        assert written == [tmp_path / "HD-8.pdf"] and written[0].stat().st_size > 1000
        assert f"Summary for the resident: {tmp_path / 'HD-8.pdf'}" in screen_text(app)


async def test_intake_never_writes_a_residents_summary(tmp_path: Path) -> None:
    app, _pipeline = make_app()
    app.helpdesk_summary = lambda report: pytest.fail("intake wrote a helpdesk summary")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"DG-5", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        await pilot.press("enter", "f2", "f2", "f4", "4", "tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        assert "Ready to lend" in screen_text(app) or "Repair" in screen_text(app)
