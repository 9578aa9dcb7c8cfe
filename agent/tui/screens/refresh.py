"""Helpdesk: the separate, explicit confirmation before a resident's own laptop is refreshed.

A refresh erases the laptop and installs the programme's system: the
resident's files will be gone. The screen says so and asks whether a copy of
the files was made. The focus starts on Cancel; without a copy the refresh is
refused (nothing erased). Only "yes, copy made" goes on, to the usual disk
confirmation. Dismisses with True (go on) or False (no refresh).
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Static

from agent.tui.i18n import N_, _
from agent.tui.screens.base import StationScreen


class RefreshScreen(StationScreen):
    AUTO_FOCUS = "#cancel"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", N_("Cancel"), id="refresh-cancel"),
        Binding("tab", "app.focus_next", N_("Next button"), id="refresh-next-button"),
    ]

    def __init__(self, asset_tag: str) -> None:
        super().__init__()
        self.asset_tag = asset_tag
        #: the volunteer answered that no copy was made: the refresh is refused
        self.refused = False

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(
                _("Refresh the resident's own laptop {tag}?").format(tag=self.asset_tag),
                classes="title",
                markup=False,
            )
            yield Static(
                _(
                    "A refresh erases this laptop and installs the programme's system. "
                    "ALL the resident's files will be gone for good: documents, photos, "
                    "e-mail, passwords."
                ),
                classes="warning",
                markup=False,
            )
            if self.refused:
                yield Static(
                    _(
                        "No refresh without a copy: nothing was erased. Make a copy of the "
                        "files first, or finish the check without a refresh."
                    ),
                    id="refused",
                    classes="heading",
                    markup=False,
                )
                with Horizontal(id="confirm-buttons"):
                    yield Button(_("Back"), id="cancel", compact=True)
                return
            yield Static(
                _("Has a copy of the resident's files been made?"),
                classes="heading",
                markup=False,
            )
            with Horizontal(id="confirm-buttons"):
                yield Button(_("Cancel"), id="cancel", compact=True)
                yield Button(_("No, no copy"), id="no-copy", compact=True)
                yield Button(_("Yes, copy made"), id="copy-made", variant="error", compact=True)
        yield Footer()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "no-copy":
            self.refused = True
            await self.recompose()
            self.query_one("#cancel", Button).focus()
            return
        self.dismiss(event.button.id == "copy-made")

    def action_cancel(self) -> None:
        self.dismiss(False)
