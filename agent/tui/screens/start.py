"""Start: choose intake or helpdesk and scan the asset tag (typing + Enter)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Footer, Input, Static

from agent.report.schema import Mode
from agent.tui.i18n import N_, _
from agent.tui.screens.base import StationScreen

MAX_TAG = 64


def mode_text(mode: Mode) -> str:
    if mode is Mode.INTAKE:
        return _("Intake: inspect, wipe, install, grade")
    return _("Helpdesk check: inspect only, nothing is erased")


def check_tag(raw: str) -> tuple[str, str | None]:
    """The trimmed tag and an error in words, if it cannot be an asset tag."""
    tag = raw.strip()
    if not tag:
        return tag, _("Scan or type the asset tag first.")
    if len(tag) > MAX_TAG:
        return tag, _("That is too long for an asset tag ({n} characters).").format(n=len(tag))
    if not tag.isprintable():
        return tag, _("The asset tag contains characters that cannot be printed.")
    return tag, None


class StartScreen(StationScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "toggle_mode", N_("Intake/helpdesk"), id="start-mode")
    ]

    class Submitted(Message):
        def __init__(self, asset_tag: str, mode: Mode) -> None:
            super().__init__()
            self.asset_tag = asset_tag
            self.mode = mode

    def __init__(self, mode: Mode, *, outbox_pending: int = 0, error: str = "") -> None:
        super().__init__()
        self.mode = mode
        self.outbox_pending = outbox_pending
        self.error = error
        self.tag = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="start-box"):
            yield Static("Digibench", classes="title")
            yield Static(mode_text(self.mode), id="mode", classes=f"mode-{self.mode.value}")
            yield Static(_("Scan or type the asset tag, then press Enter:"))
            with Vertical(id="tag-frame"):
                yield Input(value=self.tag, id="asset-tag", max_length=256, compact=True)
            yield Static(self.error, id="error", classes="error", markup=False)
            if self.outbox_pending:
                yield Static(
                    _("{n} report(s) waiting to be sent.").format(n=self.outbox_pending),
                    classes="dim",
                )
        yield Footer()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.tag = event.value

    def on_input_submitted(self, event: Input.Submitted) -> None:
        tag, error = check_tag(event.value)
        if error:
            self.error = error
            self.query_one("#error", Static).update(error)
            return
        self.post_message(self.Submitted(tag, self.mode))

    def focus_tag(self) -> None:
        """The tag field has the focus, so a scanned tag and its Enter land there."""
        self.query_one("#asset-tag", Input).focus()

    async def relabel(self) -> None:
        await super().relabel()  # recomposed: the new tag field has no focus yet
        self.focus_tag()

    def action_toggle_mode(self) -> None:
        self.mode = Mode.CHECK if self.mode is Mode.INTAKE else Mode.INTAKE
        label = self.query_one("#mode", Static)
        label.update(mode_text(self.mode))
        label.set_classes(f"mode-{self.mode.value}")
        self.focus_tag()
