"""A busy screen while the pipeline inspects: what it is doing, what it noticed."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Footer, Static

from agent.pipeline.events import Event, Notice, StageChanged
from agent.tui.i18n import N_
from agent.tui.reasons import notice_text
from agent.tui.screens.base import StationScreen


class WorkingScreen(StationScreen):
    def __init__(self, title: str, subtitle: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.subtitle = subtitle
        self.stage_message = ""
        self.notices: list[Notice] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="working-box"):
            yield Static(self.title_text, classes="title")
            yield Static(self.subtitle, classes="dim", markup=False)
            yield Static(self.stage_message, id="stage", markup=False)
            yield Static(self._notice_text(), id="notices", markup=False)
        yield Footer()

    def _notice_text(self) -> str:
        return "\n".join(f"[{n.level}] {notice_text(n)}" for n in self.notices[-8:])

    def pipeline_event(self, event: Event) -> None:
        if isinstance(event, StageChanged):
            self.stage_message = event.message or event.stage.value
            self.query_one("#stage", Static).update(self.stage_message)
        elif isinstance(event, Notice):
            self.notices.append(event)
            self.query_one("#notices", Static).update(self._notice_text())


class ErrorScreen(WorkingScreen):
    """Something went wrong: say what in words; Enter goes back to the start."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "next", N_("Back to start"), id="error-back")
    ]

    class Next(Message):
        pass

    def action_next(self) -> None:
        self.post_message(self.Next())
