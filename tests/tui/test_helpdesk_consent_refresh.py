"""Helpdesk operator steps (issue #19): the resident's consent, and a refresh only after
its own confirmation (files gone, a copy made), then the usual disk confirmation."""

from __future__ import annotations

from textual.widgets import Button

from agent.report.schema import Mode
from agent.tui.screens.confirm import ConfirmScreen
from agent.tui.screens.consent import ConsentScreen
from agent.tui.screens.refresh import RefreshScreen
from agent.tui.screens.result import ResultScreen
from agent.tui.screens.summary import SummaryScreen

from .conftest import CountedKeys, make_app, wait_for
from .conftest import screen_text as _screen_text


def screen_text(app: object) -> str:
    """The screen's words on one line (wrapped lines joined)."""
    return " ".join(_screen_text(app).split())  # type: ignore[arg-type]


async def _to_summary(pilot: object, app: object, tag: str = "HD-7") -> None:
    await pilot.press(*tag, "enter")  # type: ignore[attr-defined]
    await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))  # type: ignore


async def test_consent_takes_one_key_per_answer_and_defaults_to_nothing() -> None:
    app, pipeline = make_app(mode=Mode.CHECK, language="nl")
    async with app.run_test(size=(100, 30)) as pilot:
        await _to_summary(pilot, app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConsentScreen))
        text = screen_text(app)
        assert "Wat mag de helpdesk op haar server bewaren?" in text
        assert "De naam of het nummer getypt voor dit bezoek (HD-7)" in text
        await pilot.press("x", "1")  # other keys answer nothing
        assert isinstance(app.screen, ConsentScreen) and app.screen.answers == []
        await pilot.press("J")
        assert "1. De samenvatting" in screen_text(app) and ": ja" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
    assert pipeline.consent is not None
    assert (pipeline.consent.diagnosis, pipeline.consent.label) == (True, False)


async def test_escape_on_the_consent_screen_keeps_nothing() -> None:
    app, pipeline = make_app(mode=Mode.CHECK)
    async with app.run_test(size=(100, 30)) as pilot:
        await _to_summary(pilot, app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConsentScreen))
        await pilot.press("y", "escape")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
    assert "consent diagnosis=False label=False" in pipeline.calls


async def test_refresh_starts_on_cancel_and_nothing_happens() -> None:
    app, pipeline = make_app(mode=Mode.CHECK, language="nl")
    async with app.run_test(size=(100, 30)) as pilot:
        await _to_summary(pilot, app)
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, RefreshScreen))
        assert app.focused is not None and app.focused.id == "cancel"
        text = screen_text(app)
        assert "ALLE bestanden van de bewoner zijn dan voorgoed weg" in text
        assert "Is er een kopie gemaakt van de bestanden van de bewoner?" in text
        await pilot.press("enter")  # a stray Enter cancels
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, RefreshScreen))
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
    assert pipeline.calls == ["inspect HD-7 check"]
    assert not pipeline.confirmed


async def test_without_a_copy_there_is_no_refresh() -> None:
    app, pipeline = make_app(mode=Mode.CHECK, language="nl")
    async with app.run_test(size=(100, 30)) as pilot:
        await _to_summary(pilot, app)
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, RefreshScreen))
        await pilot.press("tab", "enter")  # "No, no copy"
        await pilot.pause()
        assert isinstance(app.screen, RefreshScreen) and app.screen.refused
        assert "Geen opfrissing zonder kopie: er is niets gewist." in screen_text(app)
        assert not app.screen.query("#copy-made")  # no way on from here
        assert [b.id for b in app.screen.query(Button)] == ["cancel"]
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
    assert pipeline.calls == ["inspect HD-7 check"]


async def test_a_refresh_with_a_copy_goes_through_the_usual_disk_confirmation() -> None:
    app, pipeline = make_app(mode=Mode.CHECK)
    async with app.run_test(size=(100, 30)) as pilot:
        await _to_summary(pilot, app)
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, RefreshScreen))
        await pilot.press("tab", "tab", "enter")  # "Yes, copy made"
        await wait_for(pilot, lambda: isinstance(app.screen, ConsentScreen))
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.focused is not None and app.focused.id == "cancel"  # its own confirm
        assert "NOT be touched" in screen_text(app)  # the boot stick's refusal still shows
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        text = screen_text(app)
        assert "HD-7: diagnosis" in text and "Ready to lend" not in text
    assert pipeline.calls == [
        "inspect HD-7 check",
        "refresh copy_made=True",
        "consent diagnosis=False label=False",
        "confirm",
        "run",
    ]


async def test_cancel_at_the_disk_confirmation_of_a_refresh_wipes_nothing() -> None:
    app, pipeline = make_app(mode=Mode.CHECK)
    async with app.run_test(size=(100, 30)) as pilot:
        await _to_summary(pilot, app)
        await pilot.press("f8")
        await wait_for(pilot, lambda: isinstance(app.screen, RefreshScreen))
        await pilot.press("tab", "tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConsentScreen))
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("enter")  # Cancel has the focus
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
    assert "run" not in pipeline.calls and "confirm" not in pipeline.calls
    assert pipeline.calls[-1] == "cancel"


async def test_the_helpdesk_check_stays_within_the_keystroke_budget() -> None:
    app, _pipeline = make_app(mode=Mode.CHECK)
    async with app.run_test(size=(100, 30)) as pilot:
        press = CountedKeys(pilot, start=2)  # the boot menu: pick the entry, Enter
        await press(*"HD-0042", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        await press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ConsentScreen))
        await press("j", "n")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
    assert press.count <= 15, press.count
