"""The result screen lists every graded check: name, outcome, effect and why (pilot, snapshot)."""

from __future__ import annotations

from typing import Any

from textual.widgets import ContentSwitcher

from agent.grading import grade_report
from agent.policy import load_policy
from agent.report.schema import CheckKind, Grade, Report
from agent.tui import i18n
from agent.tui.check_table import CheckTable
from agent.tui.screens.result import ResultScreen
from tests.check_reports import EVERY_KIND_OF_ROW, checked_report

from .conftest import SERVER, console_safe, make_app, screen_text

SIZE = (80, 25)


def _graded() -> tuple[Report, Grade]:
    report = checked_report(EVERY_KIND_OF_ROW, asset_tag="DG-000042")
    grade = grade_report(report, load_policy())
    report.grade = grade
    return report, grade


def _rows(screen: ResultScreen) -> list[list[str]]:
    table = screen.query_one(CheckTable)
    return [
        [str(cell.render()) for cell in row.query(".check-cell")]
        for row in table.query(".check-row")
    ]


async def test_one_key_shows_every_check_in_dutch_and_the_same_key_goes_back() -> None:
    app, _ = make_app(language="nl")
    report, grade = _graded()
    async with app.run_test(size=SIZE) as pilot:
        screen = ResultScreen(report, grade, server_url=SERVER, outbox_pending=0, uploaded=True)
        await app.switch_screen(screen)
        await pilot.pause()
        views = screen.query_one("#result-views", ContentSwitcher)
        assert views.current == "result-box"
        assert "Alle controles" in screen_text(app)  # offered in the footer
        await pilot.press("c")
        await pilot.pause()
        assert views.current == "result-checks"
        rows = _rows(screen)
        assert len(rows) == len(CheckKind) and all(len(r) == 4 for r in rows)
        by_name = {r[0]: r[1:] for r in rows}
        assert by_name["geheugen"] == ["niet in orde", "blokkeert uitlenen",
                                       "De geheugentest vond fouten."]  # fmt: skip
        assert by_name["camera"][:2] == ["niet in orde", "reparatielijst"]
        assert by_name["Bluetooth"][1] == "opmerking"
        assert by_name["scherm"] == ["overgeslagen", "opmerking",
                                     "Overgeslagen door de vrijwilliger."]  # fmt: skip
        assert by_name["opladen"] == ["niet aanwezig", "-", "Niet aanwezig op deze laptop."]
        assert by_name["toetsenbord"] == ["in orde", "-", "Werkt."]
        assert "ACME-IT-0042" in by_name["inventarisnummer"][2]
        text = screen_text(app)
        assert "Controle" in text and "Gevolg" in text and console_safe(text) == set()
        await pilot.press("c")
        await pilot.pause()
        assert views.current == "result-box"


async def test_the_rows_follow_the_language() -> None:
    app, _ = make_app(language="en")
    report, grade = _graded()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = ResultScreen(report, grade, server_url=None, outbox_pending=0, uploaded=True)
        await app.switch_screen(screen)
        await pilot.press("c")
        await pilot.pause()
        by_name = {r[0]: r[1:] for r in _rows(screen)}
        assert by_name["memory"] == ["not OK", "blocks lending", "The memory test found errors."]
        assert by_name["USB ports"][1:] == ["repair list", "A USB port did not see the stick."]
    i18n.set_language("nl")


async def test_a_report_without_check_rows_offers_no_checks_key() -> None:
    app, _ = make_app(language="nl")
    report, grade = _graded()
    older = grade.model_copy(update={"checks": []})
    async with app.run_test(size=SIZE) as pilot:
        screen = ResultScreen(report, older, server_url=None, outbox_pending=0, uploaded=True)
        await app.switch_screen(screen)
        await pilot.pause()
        assert "Alle controles" not in screen_text(app)
        await pilot.press("c")
        await pilot.pause()
        assert not screen.query(CheckTable)


def test_result_screen_checks_snapshot(snap_compare: Any) -> None:
    app, _ = make_app(language="nl")
    report, grade = _graded()

    async def run_before(pilot: Any) -> None:
        screen = ResultScreen(report, grade, server_url=SERVER, outbox_pending=0, uploaded=True)
        await pilot.app.switch_screen(screen)
        await pilot.press("c")
        await pilot.pause()
        assert console_safe(screen_text(pilot.app)) == set()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


async def test_checks_the_policy_skips_are_not_asked_and_skips_say_who_skipped() -> None:
    from agent.report.schema import SkipCause
    from agent.tui.screens.checks import CosmeticScreen, KeyboardScreen, ScreenTestScreen
    from agent.tui.screens.confirm import ConfirmScreen
    from agent.tui.screens.devices import DevicesScreen
    from agent.tui.screens.summary import SummaryScreen

    from .conftest import wait_for
    from .test_device_checks import _laptop

    app, pipeline = make_app(report=_laptop())
    skip = (CheckKind.SCREEN, CheckKind.TOUCHPAD, CheckKind.CAMERA)
    app.device_checks = load_policy().checks.model_copy(update={"skip": skip})
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press(*"DG-54", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyboardScreen))
        await pilot.press("f4")  # the volunteer skips the keyboard test
        await wait_for(pilot, lambda: not isinstance(app.screen, KeyboardScreen))
        assert not isinstance(app.screen, ScreenTestScreen)
        await wait_for(pilot, lambda: isinstance(app.screen, DevicesScreen))
        assert "Integrated Camera" not in screen_text(app)
        await pilot.press("f4")  # ...and the device list
        await wait_for(pilot, lambda: isinstance(app.screen, CosmeticScreen))
        await pilot.press("5")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    tests = {t.name: t for t in pipeline.tests}
    assert not {"screen", "touchpad", "camera"} & set(tests)
    assert tests["keyboard"].skipped_by is SkipCause.OPERATOR
    assert tests["wifi"].skipped_by is SkipCause.OPERATOR
    report = checked_report()
    report.tests = list(pipeline.tests)
    policy = load_policy().model_copy(update={"checks": app.device_checks})
    rows = {r.kind: r for r in grade_report(report, policy).checks}
    assert rows[CheckKind.SCREEN].outcome.value == "policy_skipped"
    assert rows[CheckKind.KEYBOARD].outcome.value == "operator_skipped"
    assert rows[CheckKind.CAMERA].outcome.value == "policy_skipped"
