"""Pilot tests: a volunteer's keystrokes through every screen."""

from __future__ import annotations

import threading

from textual.widgets import Button, Input, Static

from agent.errors import InputError
from agent.pipeline.events import DiskProgress, Notice, Stage, StageChanged
from agent.report.schema import Mode, TestOutcome
from agent.runner import ReplayRunner
from agent.tui.screens.ask import AskScreen
from agent.tui.screens.checks import (
    CosmeticScreen,
    KeyboardScreen,
    ScreenTestScreen,
    TouchpadScreen,
)
from agent.tui.screens.confirm import ConfirmScreen
from agent.tui.screens.progress import ProgressScreen
from agent.tui.screens.result import ResultScreen
from agent.tui.screens.start import StartScreen
from agent.tui.screens.stopped import StoppedScreen
from agent.tui.screens.summary import SummaryScreen
from agent.tui.screens.working import ErrorScreen
from agent.tui.widgets import Badge, DiskBar, KeyboardMap, QRCode

from .conftest import SERVER, CountedKeys, inspected_report, make_app, screen_text, wait_for


def static_text(widget: Static) -> str:
    return str(widget.render())


async def test_start_trims_and_rejects_empty_tag() -> None:
    app, pipeline = make_app()
    async with app.run_test(size=(80, 25)) as pilot:
        assert isinstance(app.screen, StartScreen)
        assert app.focused is app.screen.query_one("#asset-tag", Input)
        await pilot.press("space", "space", "enter")
        await pilot.pause()
        assert isinstance(app.screen, StartScreen)
        assert "Scan or type the asset tag first" in static_text(app.screen.query_one("#error"))
        assert pipeline.calls == []
        await pilot.press(*"DG-0042", "space", "enter")  # a scanner types, then Enter
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        assert pipeline.calls == ["inspect DG-0042 intake"]


async def test_inspection_error_is_shown_and_nothing_is_lost() -> None:
    error = InputError("no disks could be listed", hint="is /sys mounted?")
    app, pipeline = make_app(inspect_error=error)
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.press(*"DG-1", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen) and pipeline.calls)
        await pilot.pause()
        text = static_text(app.screen.query_one("#error"))
        assert "no disks could be listed" in text
        assert "is /sys mounted?" in text


async def test_intake_happy_path_through_every_screen() -> None:
    app, pipeline = make_app(hold_run=True, swappable_disks=True)
    async with app.run_test(size=(80, 25)) as pilot:
        press = CountedKeys(pilot, start=0)
        await pilot.press(*"DG-000042")  # the barcode scanner types the tag...
        await press("enter")  # ...and presses Enter
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        summary = app.screen
        badges = [static_text(b).strip() for b in summary.query(Badge)]
        assert badges == ["HEALTHY", "HEALTHY", "WORN"]
        assert "ThinkPad T480" in screen_text(app)

        await press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyboardScreen))
        await pilot.press("a", "z", "é", "A", "ampersand", "space", "enter", "tab")
        keymap = app.screen.query_one(KeyboardMap)
        labels = {k.label for k in keymap.keymap.all_keys() if k.id in keymap.pressed}
        assert labels == {"a", "z", "é", "&", "spatie", "Ent", "Tab"}  # "A" is the a key
        assert "7 of 52 keys pressed" in static_text(app.screen.query_one("#count"))
        await press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, ScreenTestScreen))
        await press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, TouchpadScreen))
        await press("f4")
        await wait_for(pilot, lambda: isinstance(app.screen, CosmeticScreen))
        await press("4")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))

        assert [t.name for t in pipeline.tests] == ["keyboard", "screen", "touchpad", "cosmetic"]
        outcomes = [t.outcome for t in pipeline.tests]
        assert outcomes == [
            TestOutcome.PASS,
            TestOutcome.PASS,
            TestOutcome.SKIPPED,
            TestOutcome.PASS,
        ]
        assert pipeline.tests[0].details == "be-latin1: 7/52 keys pressed"
        assert pipeline.tests[3].answers == {"code": "C4"}
        assert "confirm" not in pipeline.calls

        await press("tab", "enter")  # deliberate: move to Confirm, then Enter
        await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
        assert pipeline.confirmed == ["nvme0n1", "sda"]
        await wait_for(pilot, lambda: len(app.screen.query(DiskBar)) == 2)
        await pilot.pause()
        assert "25.0%" in screen_text(app)
        assert "1900.0 MB/s" in screen_text(app)
        assert "03:20" in screen_text(app)
        pipeline.release.set()  # nothing waits for a key from here on
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        await pilot.pause()
        result = app.screen
        assert result.grade is not None and result.grade.grade == "B"
        text = screen_text(app)
        assert "Ready to lend" in text
        assert "2 report(s) waiting" in text
        assert result.query_one(QRCode).data == f"{SERVER}/devices/DG-000042/"
        # boot menu (2 keys) + these must stay within the 15-keystroke budget
        assert press.count + 2 <= 15, press.count

        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        assert pipeline.calls == ["inspect DG-000042 intake", "record_tests", "confirm", "run"]


async def _to_confirm(pilot, app) -> None:  # type: ignore[no-untyped-def]
    await pilot.press(*"DG-9", "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
    await pilot.press("enter", "f3", "f3", "f4", "1")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))


async def test_confirm_screen_focus_starts_on_cancel() -> None:
    app, pipeline = make_app()
    async with app.run_test(size=(80, 25)) as pilot:
        await _to_confirm(pilot, app)
        await pilot.pause()
        focused = app.focused
        assert isinstance(focused, Button) and focused.id == "cancel"
        text = screen_text(app)
        assert "SAMSUNG MZVLB512HAJQ-000L7 / S4EUNX0M0000007 / 512 GB" in text
        assert "SanDisk Ultra Fit" in text
        assert "it is the Digibench boot medium (DIGIBENCH label)" in text
        # the failed tests went through as failures, the cosmetic answer as C1
        assert [t.outcome for t in pipeline.tests][:2] == [TestOutcome.FAIL, TestOutcome.FAIL]
        assert pipeline.tests[3].answers == {"code": "C1"}


async def test_enter_on_confirm_screen_cancels_and_returns_to_start() -> None:
    app, pipeline = make_app()
    async with app.run_test(size=(80, 25)) as pilot:
        await _to_confirm(pilot, app)
        await pilot.press("enter")  # a stray Enter (or the scanner's) lands on Cancel
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        assert "cancel" in pipeline.calls
        assert "confirm" not in pipeline.calls and "run" not in pipeline.calls


async def test_escape_on_confirm_screen_cancels() -> None:
    app, pipeline = make_app()
    async with app.run_test(size=(80, 25)) as pilot:
        await _to_confirm(pilot, app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        assert pipeline.calls[-1] == "cancel"


async def test_azerty_number_row_answers_cosmetic_question() -> None:
    app, pipeline = make_app()
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.press(*"DG-9", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        await pilot.press("enter", "f2", "f2", "f4")
        await wait_for(pilot, lambda: isinstance(app.screen, CosmeticScreen))
        await pilot.press("x")  # not an answer: nothing happens
        await pilot.pause()
        assert isinstance(app.screen, CosmeticScreen)
        await pilot.press("(")  # unshifted "5" on Belgian AZERTY
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert pipeline.tests[-1].answers == {"code": "C5"}


async def test_keyboard_test_other_layout_and_failure_details() -> None:
    app, _pipeline = make_app()
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.press(*"DG-9", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, KeyboardScreen))
        await pilot.press("f5")  # US QWERTY
        await pilot.pause()
        await pilot.press("q", "1")
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, ScreenTestScreen))
        keyboard = pipeline_tests_so_far(app)
        assert keyboard.startswith("us: 2/")
        assert "not pressed:" in keyboard and " w " in keyboard


def pipeline_tests_so_far(app) -> str:  # type: ignore[no-untyped-def]
    details = app.tests[0].details
    assert isinstance(details, str)
    return details


async def test_screen_test_cycles_colours() -> None:
    app, _pipeline = make_app()
    async with app.run_test(size=(80, 25)) as pilot:
        app.push_screen(ScreenTestScreen(interval=None))
        await pilot.pause()
        fill = app.screen.query_one("#colour-fill")
        assert fill.has_class("fill-white")
        await pilot.press("space")
        assert fill.has_class("fill-red")
        await pilot.press("space", "space", "space", "space")
        assert fill.has_class("fill-white")


async def test_progress_screen_follows_events_from_a_thread() -> None:
    app, pipeline = make_app()
    async with app.run_test(size=(80, 25)) as pilot:
        app.switch_screen(ProgressScreen("DG-5", []))
        await pilot.pause()

        def work() -> None:
            pipeline.emit(StageChanged(Stage.FLASH, "debian-12"))
            for done in (0, 50, 100):
                pipeline.emit(
                    DiskProgress(
                        "WDC PC SN530 (2024ABC)", "flash", done * 10**6, 100 * 10**6, 5e8, 1.0
                    )
                )
            pipeline.emit(Notice("warning", "HPA found and removed"))

        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        await wait_for(pilot, lambda: "HPA found" in screen_text(app))
        bar = app.screen.query_one(DiskBar)
        assert bar.progress is not None and bar.progress.percent == 100.0
        text = screen_text(app)
        assert "Installing the system: debian-12" in text
        assert "100.0%" in text and "500.0 MB/s" in text


async def test_language_switch_relabels_screen_and_footer() -> None:
    app, _pipeline = make_app(language="nl")
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.press(*"DG-7")
        await pilot.pause()
        assert "Scan of typ" in screen_text(app)
        assert "F2 Inname/helpdesk  F9 English" in screen_text(app)
        await pilot.press("f9")
        await pilot.pause()
        text = screen_text(app)
        assert "Scan or type the asset tag" in text
        assert "F2 Intake/helpdesk  F9 Nederlands" in text
        assert app.screen.query_one("#asset-tag", Input).value == "DG-7"  # nothing lost


async def test_helpdesk_mode_shows_plain_words_and_never_wipes() -> None:
    app, pipeline = make_app()
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.press("f2")
        await pilot.press(*"HD-1", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        await pilot.pause()
        assert pipeline.calls == ["inspect HD-1 check"]
        text = screen_text(app)
        assert "In plain words" in text
        assert "F8" in text
        await pilot.press("enter", "n", "n")  # the resident's consent: nothing kept
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        assert pipeline.calls == [
            "inspect HD-1 check",
            "consent diagnosis=False label=False",
            "finish",
        ]


async def test_helpdesk_reinstall_needs_the_confirm_screen() -> None:
    app, pipeline = make_app(mode=Mode.CHECK)
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.press(*"HD-2", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        await pilot.press("f8")  # the refresh's own confirmation first (tests in
        # test_helpdesk_consent_refresh.py), then the resident's consent
        await wait_for(pilot, lambda: not isinstance(app.screen, SummaryScreen))
        await pilot.press("tab", "tab", "enter", "n", "n")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        assert "confirm" not in pipeline.calls and "run" not in pipeline.calls


async def test_interrupted_run_resumes_without_a_keypress() -> None:
    from agent.pipeline.station import ResumeInfo

    app, pipeline = make_app()
    pipeline.report = None
    pipeline.resume_info = ResumeInfo("DG-3", Stage.WIPE, ["nvme-x"])
    pipeline.template = None
    original_resume = pipeline.resume

    def resume():  # type: ignore[no-untyped-def]
        pipeline.inspect(asset_tag="DG-3", mode=Mode.INTAKE)
        return original_resume()

    pipeline.resume = resume  # type: ignore[method-assign]
    async with app.run_test(size=(80, 25)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        assert "resume" in pipeline.calls


async def test_run_failure_is_shown_in_words() -> None:
    app, pipeline = make_app()

    def broken_run():  # type: ignore[no-untyped-def]
        raise InputError("the disk vanished mid-wipe", hint="check the cable")

    pipeline.run = broken_run  # type: ignore[method-assign]
    async with app.run_test(size=(80, 25)) as pilot:
        await _to_confirm(pilot, app)
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen))
        await pilot.pause()
        assert "the disk vanished mid-wipe" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))


async def test_laptop_without_erasable_disk_is_still_graded_and_reported() -> None:
    report = inspected_report("DG-11")
    report.components.disks = report.components.disks[2:]  # only the stick
    app, pipeline = make_app(report=report)
    async with app.run_test(size=(80, 25)) as pilot:
        await _to_confirm(pilot, app)
        assert "There is no disk that may be erased." in screen_text(app)
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        assert "finish" in pipeline.calls
        assert "confirm" not in pipeline.calls and "run" not in pipeline.calls


# ---------------------------------------------------------------------- the way out


async def test_a_tag_scanned_right_after_f2_lands_in_the_tag_field() -> None:
    app, pipeline = make_app()
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.press("f2")
        await pilot.press(*"HD-5", "enter")  # the scanner, straight after the toggle
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        assert pipeline.calls == ["inspect HD-5 check"]


async def test_a_tag_scanned_right_after_f9_lands_in_the_tag_field() -> None:
    app, pipeline = make_app(language="nl")
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.press("f9")
        await pilot.pause()
        await pilot.press(*"DG-6", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SummaryScreen))
        assert pipeline.calls == ["inspect DG-6 intake"]
        await pilot.press("f9")  # on another screen, then back on the start screen
        await wait_for(pilot, lambda: "Verder" in screen_text(app))


async def test_footer_shows_the_quit_key_in_dutch() -> None:
    app, _pipeline = make_app(language="nl")
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.pause()
        assert "F10 Afsluiten" in screen_text(app)
        await pilot.press("f9")
        await pilot.pause()
        assert "F10 Quit" in screen_text(app)


async def _quit_question(pilot, app, key: str) -> AskScreen:  # type: ignore[no-untyped-def]
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, AskScreen))
    assert app.focused is not None and app.focused.id == "no"
    return app.screen


async def test_quit_asks_and_the_default_answer_is_to_stay() -> None:
    app, pipeline = make_app(language="nl")
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.press(*"DG-1")
        await _quit_question(pilot, app, "f10")
        assert "Digibench afsluiten?" in screen_text(app)
        await pilot.press("enter")  # the default: do not quit
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        assert app.is_running
        assert app.screen.query_one("#asset-tag", Input).value == "DG-1"
        await _quit_question(pilot, app, "f10")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        await _quit_question(pilot, app, "ctrl+q")
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: not app.is_running)
    assert pipeline.calls == []


async def test_ctrl_c_asks_the_same_question_even_in_the_tag_field() -> None:
    app, _pipeline = make_app(language="nl")
    async with app.run_test(size=(80, 25)) as pilot:
        assert isinstance(app.focused, Input)
        await _quit_question(pilot, app, "ctrl+c")
        assert "Digibench afsluiten?" in screen_text(app)
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: not app.is_running)


async def _to_progress(pilot, app) -> None:  # type: ignore[no-untyped-def]
    await _to_confirm(pilot, app)
    await pilot.press("tab", "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
    await wait_for(pilot, lambda: len(app.screen.query(DiskBar)) == 2)


async def test_stop_on_the_progress_screen_asks_then_cancels_and_says_so() -> None:
    app, pipeline = make_app(hold_run=True, language="nl")
    async with app.run_test(size=(80, 25)) as pilot:
        await _to_progress(pilot, app)
        assert "Esc Stoppen" in screen_text(app)
        await _quit_question(pilot, app, "escape")
        await pilot.press("enter")  # default: go on
        await wait_for(pilot, lambda: isinstance(app.screen, ProgressScreen))
        assert "cancel" not in pipeline.calls
        await _quit_question(pilot, app, "escape")
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: "cancel" in pipeline.calls)
        assert isinstance(app.screen, ProgressScreen)
        assert "Bezig met stoppen" in screen_text(app)
        pipeline.release.set()  # the run's step returns: the disks are in a recorded state
        await wait_for(pilot, lambda: isinstance(app.screen, StoppedScreen))
        text = screen_text(app)
        assert "DG-9: gestopt" in text
        assert "NIET gewist" in text
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        assert app.is_running


async def test_quit_during_a_run_cancels_first_and_waits() -> None:
    app, pipeline = make_app(hold_run=True, language="nl")
    async with app.run_test(size=(80, 25)) as pilot:
        await _to_progress(pilot, app)
        await _quit_question(pilot, app, "f10")
        assert "Deze laptop stoppen en Digibench afsluiten?" in screen_text(app)
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: "cancel" in pipeline.calls)
        assert app.is_running  # not before the run's step returned
        await pilot.press("f10")  # while stopping: no second question
        await pilot.pause()
        assert not isinstance(app.screen, AskScreen)
        pipeline.release.set()
        await wait_for(pilot, lambda: isinstance(app.screen, StoppedScreen))
        assert "Enter Afsluiten" in screen_text(app)
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.is_running)


async def test_the_end_step_on_a_stick_is_switching_off() -> None:
    app, _pipeline = make_app(language="nl")
    async with app.run_test(size=(80, 25)) as pilot:
        await _to_confirm(pilot, app)
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        text = screen_text(app)
        assert "Enter Uitschakelen" in text and "Volgende laptop" not in text
        assert app.runner.calls == []
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.runner.calls != [])
        assert app.runner.calls == [("systemctl", "poweroff")]
        await wait_for(pilot, lambda: "De laptop schakelt zo dadelijk uit." in screen_text(app))


async def test_a_failed_switch_off_is_shown_in_words() -> None:
    app, _pipeline = make_app(language="en")
    app.runner = ReplayRunner(installed=set())  # no systemctl on this system
    async with app.run_test(size=(80, 25)) as pilot:
        await _to_confirm(pilot, app)
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ErrorScreen))
        assert "systemctl" in screen_text(app)


async def test_a_bench_with_swappable_disks_offers_the_next_laptop() -> None:
    app, _pipeline = make_app(language="nl", swappable_disks=True)
    async with app.run_test(size=(80, 25)) as pilot:
        await _to_confirm(pilot, app)
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        text = screen_text(app)
        assert "Enter Volgende laptop" in text and "Uitschakelen" not in text
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, StartScreen))
        assert app.runner.calls == []
