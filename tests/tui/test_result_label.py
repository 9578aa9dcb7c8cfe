"""The result screen says what became of the finished laptop's label: printed on the Brother
QL on USB, saved on the stick because no printer is attached, or not made and why. The
label is made by the real sink (agent.labels.finished.LabelOnFinish), as `digibench run`
wires it, before the result screen asks for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from agent.labels.finished import LabelOnFinish
from agent.pipeline.events import Finished
from agent.report.samples import sample_report
from agent.report.schema import Mode, Report
from agent.tui.app import DigibenchApp
from agent.tui.driver import EventBridge
from agent.tui.screens.result import ResultScreen
from tests.labels.printer import brother_ql_on_usb

from .conftest import ScriptedPipeline, power_runner, screen_text, wait_for


def _app(labels: LabelOnFinish, language: str) -> DigibenchApp:
    bridge = EventBridge()
    pipeline = ScriptedPipeline(bridge, language=language)
    return DigibenchApp(pipeline, bridge, runner=power_runner(), screen_test_interval=None,
                        touchpad_test=False, label_of=labels.outcome)  # fmt: skip


async def _result_line(app: DigibenchApp, report: Report) -> tuple[str, str]:
    """The label's line on the result screen, and the whole screen's text."""
    async with app.run_test(size=(100, 30)) as pilot:
        app.show_result(report, report.grade, True, 0)
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        line = str(app.screen.query_one("#label", Static).render())
        return line, screen_text(app)


@pytest.mark.parametrize(
    ("printer", "language", "words"),
    [
        (
            False,
            "nl",
            "Etiket bewaard als labels/label-DG-000042.png (geen etiketprinter aangesloten)",
        ),
        (True, "nl", "Etiket afgedrukt op de QL-700 (bewaard als labels/label-DG-000042.png)"),
        (False, "en", "Label saved as labels/label-DG-000042.png (no label printer attached)"),
    ],
)
async def test_the_result_screen_says_where_the_label_went(
    tmp_path: Path, printer: bool, language: str, words: str
) -> None:
    root = brother_ql_on_usb(tmp_path / "root") if printer else tmp_path / "empty"
    labels = LabelOnFinish(tmp_path / "data" / "labels", sys_root=root)
    report = sample_report(0, asset_tag="DG-000042")
    labels(Finished(report, report.grade, uploaded=True, outbox_pending=0))
    png = tmp_path / "data" / "labels" / "label-DG-000042.png"
    assert png.is_file()
    line, screen = await _result_line(_app(labels, language), report)
    assert line == words
    assert " ".join(words.split()[:3]) in screen  # on screen, not only in the widget
    if printer:
        assert (root / "dev" / "usb" / "lp0").stat().st_size > 0  # the job went to it


async def test_a_label_that_could_not_be_made_is_said_in_words(tmp_path: Path) -> None:
    blocker = tmp_path / "labels"
    blocker.write_text("a file where the folder should be")
    labels = LabelOnFinish(blocker, sys_root=tmp_path)
    report = sample_report(0, asset_tag="DG-000043")
    labels(Finished(report, report.grade, uploaded=True, outbox_pending=0))
    line, _ = await _result_line(_app(labels, "nl"), report)
    assert line.startswith("Geen etiket: ") and str(blocker) in line


async def test_a_helpdesk_check_has_no_label_line(tmp_path: Path) -> None:
    labels = LabelOnFinish(tmp_path / "labels", sys_root=tmp_path)
    report = sample_report(1).model_copy(update={"mode": Mode.CHECK})
    labels(Finished(report, report.grade, uploaded=True, outbox_pending=0))
    assert labels.outcome(report) is None
    app = _app(labels, "nl")
    async with app.run_test(size=(100, 30)) as pilot:
        app.show_result(report, report.grade, True, 0)
        await wait_for(pilot, lambda: isinstance(app.screen, ResultScreen))
        assert not app.screen.query("#label")
