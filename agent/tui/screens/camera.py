"""The camera test: one frame from the webcam, drawn coarsely, confirmed with one key.

The frame is grabbed in a worker thread (``v4l2-ctl`` through the runner) and
drawn with half blocks, two grey pixels per character cell, which the bare
console shows too. The station measures the brightness; the volunteer says
whether the picture shows what is in front of the laptop (F2) or not (F3).
Dismisses with one :class:`TestResult` named ``camera``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Static

from agent.checks.camera_frame import CameraFrame
from agent.report.schema import TestOutcome, TestResult
from agent.tui.i18n import N_, _, facts
from agent.tui.screens.base import StationScreen

PREVIEW_COLUMNS, PREVIEW_ROWS = 48, 18
VERDICT_WORDS = {
    "ok": N_("Brightness {brightness:.0f} of 255."),
    "dark": N_("The picture is dark ({brightness:.0f} of 255): is the lens covered?"),
    "flat": N_("The picture is one flat colour: the camera sends no image."),
    "no_frame": N_("No picture from the camera: {error}"),
}


def half_blocks(frame: CameraFrame, columns: int, rows: int) -> Text:
    """The frame as ``rows`` lines of upper half blocks: top pixel fore, bottom pixel back."""
    text = Text()
    for line in frame.preview(columns, rows):
        for top, bottom in line:
            style = Style(
                color=Color.from_rgb(top, top, top), bgcolor=Color.from_rgb(bottom, bottom, bottom)
            )
            text.append("▀", style)
        text.append("\n")
    return text


class CameraScreen(StationScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "answer('pass')", N_("Works"), id="camera-works"),
        Binding("f3", "answer('fail')", N_("Broken"), id="camera-broken"),
        Binding("f4", "answer('skipped')", N_("Skip"), id="camera-skip"),
    ]

    def __init__(self, grab: Callable[[], CameraFrame]) -> None:
        super().__init__()
        self.grab = grab
        self.frame: CameraFrame | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="check-box"):
            yield Static(_("Camera test"), classes="title")
            yield Static(
                _("Does the picture show what is in front of the laptop? F2: yes, F3: no."),
                markup=False,
            )
            yield Static(self._preview(), id="camera-preview")
            yield Static(self._status(), id="camera-status", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        if self.frame is None:
            self.run_worker(self._grab, thread=True, group="camera")

    def _grab(self) -> None:
        frame = self.grab()
        self.app.call_from_thread(self._show, frame)

    def _show(self, frame: CameraFrame) -> None:
        self.frame = frame
        self.query_one("#camera-preview", Static).update(self._preview())
        self.query_one("#camera-status", Static).update(self._status())

    def _preview(self) -> Text:
        if self.frame is None or not self.frame.luma:
            return Text("")
        return half_blocks(self.frame, PREVIEW_COLUMNS, PREVIEW_ROWS)

    def _status(self) -> str:
        frame = self.frame
        if frame is None:
            return _("Taking a picture...")
        seen = {"brightness": frame.brightness or 0.0, "error": frame.error or ""}
        return _(VERDICT_WORDS[frame.verdict]).format(**facts(seen))

    def action_answer(self, outcome: str) -> None:
        frame = self.frame
        if frame is None:
            if outcome != "skipped":
                return  # no picture yet: the answer would judge nothing
            self.dismiss(
                TestResult(name="camera", outcome=TestOutcome.SKIPPED, details="not waited for")
            )
            return
        works = None if outcome == "skipped" else outcome == "pass"
        self.dismiss(frame.result(works))
