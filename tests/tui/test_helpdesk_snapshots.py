"""Snapshots of the helpdesk screens (issue #19) at 80x25 with the ANSI theme, as on the
bare Linux console; each also checks every glyph is in the console font.

Update after a deliberate change with ``pytest tests/tui --snapshot-update`` and look
at the SVGs under ``__snapshots__`` before committing them.
"""

from __future__ import annotations

from typing import Any

from agent.report.schema import Mode
from agent.tui.screens.consent import ConsentScreen
from agent.tui.screens.refresh import RefreshScreen
from agent.tui.screens.result import ResultScreen
from agent.tui.screens.summary import SummaryScreen

from .conftest import console_safe, make_app, screen_text, wait_for

SIZE = (80, 25)


async def _check_glyphs(pilot: Any) -> None:
    await pilot.pause()
    assert console_safe(screen_text(pilot.app)) == set()


def test_consent_screen_after_one_answer(snap_compare: Any) -> None:
    app, _ = make_app(language="nl")

    async def run_before(pilot: Any) -> None:
        await pilot.app.push_screen(ConsentScreen("HD-0042"))
        await pilot.press("j")
        await _check_glyphs(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_refresh_confirmation_screen(snap_compare: Any) -> None:
    app, _ = make_app(language="nl")

    async def run_before(pilot: Any) -> None:
        await pilot.app.push_screen(RefreshScreen("HD-0042"))
        await _check_glyphs(pilot)
        assert pilot.app.focused.id == "cancel"

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_refresh_refused_without_a_copy(snap_compare: Any) -> None:
    app, _ = make_app(language="nl")

    async def run_before(pilot: Any) -> None:
        await pilot.app.push_screen(RefreshScreen("HD-0042"))
        await pilot.press("tab", "enter")
        await _check_glyphs(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_diagnosis_result_screen(snap_compare: Any) -> None:
    """The end of a helpdesk check in Dutch: a diagnosis for the resident, no grade, no
    destination, nothing about lending."""
    app, _ = make_app(language="nl", mode=Mode.CHECK)

    async def run_before(pilot: Any) -> None:
        await pilot.press(*"HD-0042", "enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SummaryScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConsentScreen))
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, ResultScreen))
        await _check_glyphs(pilot)
        text = screen_text(pilot.app)
        assert "uitlenen" not in text.lower() and "graad" not in text.lower(), text

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
