"""A yes/no question over the current screen; the focus (and Enter) starts on "no".

Used before quitting and before stopping a run: a stray Enter, or a barcode
scanner's, leaves everything as it was.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Static

from agent.tui.i18n import N_
from agent.tui.screens.base import StationModal


class AskScreen(StationModal):
    """Dismisses with True (``yes`` pressed) or False (``no``, Esc)."""

    AUTO_FOCUS = "#no"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "no", N_("Cancel"), id="ask-no"),
        Binding("tab", "app.focus_next", N_("Next button"), id="ask-next-button"),
    ]

    def __init__(self, question: str, detail: str, *, yes: str, no: str) -> None:
        super().__init__()
        self.question = question
        self.detail = detail
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(id="ask-box"):
            yield Static(self.question, classes="title", markup=False)
            if self.detail:
                yield Static(self.detail, classes="warning", markup=False)
            with Horizontal(id="ask-buttons"):
                yield Button(self.no, id="no", compact=True)
                yield Button(self.yes, id="yes", variant="error", compact=True)
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_no(self) -> None:
        self.dismiss(False)
