"""Confirm: the one deliberate step before anything is erased.

The focus starts on Cancel, so a stray Enter (or a barcode scanner's) cancels;
confirming takes Tab to the Confirm button and Enter.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Footer, Static

from agent.report.schema import Disk, Reason
from agent.tui.i18n import N_, _
from agent.tui.reasons import reason_text
from agent.tui.screens.base import StationScreen
from agent.tui.text import disk_label


class ConfirmScreen(StationScreen):
    """Dismisses with True (erase the listed disks; with none listed, report
    without erasing) or False (cancel)."""

    AUTO_FOCUS = "#cancel"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", N_("Cancel"), id="confirm-cancel"),
        Binding("tab", "app.focus_next", N_("Next button"), id="confirm-next-button"),
    ]

    def __init__(
        self,
        asset_tag: str,
        targets: list[Disk],
        refused: list[tuple[Disk, Reason]],
        locks: list[Reason] | None = None,
    ):
        super().__init__()
        #: firmware locks to clear while the donor can still be asked (issue #19)
        self.locks = locks or []
        self.asset_tag = asset_tag
        self.targets = targets
        self.refused = refused

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(
                _("Erase and reinstall {tag}?").format(tag=self.asset_tag),
                classes="title",
                markup=False,
            )
            if self.targets:
                yield Static(
                    _("Everything on these disks will be erased for good:"), classes="warning"
                )
                for disk in self.targets:
                    yield Static(f"  {disk_label(disk)}", markup=False, classes="target")
            else:
                yield Static(_("There is no disk that may be erased."), classes="warning")
            if self.refused:
                yield Static(_("These will NOT be touched:"), classes="heading")
                for disk, why in self.refused:
                    yield Static(
                        f"  {disk_label(disk)}\n    {reason_text(why)}",
                        markup=False,
                        classes="refused",
                    )
            if self.locks:
                yield Static(_("Firmware locks (clear them before lending):"), classes="heading")
                yield Static(
                    "\n".join(f"  {reason_text(why)}" for why in self.locks[:4]),
                    markup=False,
                    id="locks",
                )
            with Horizontal(id="confirm-buttons"):
                yield Button(_("Cancel"), id="cancel", compact=True)
                if self.targets:
                    label = _("Erase {n} disk(s)").format(n=len(self.targets))
                else:  # still grade and report the laptop (parts, recycle...)
                    label = _("Report without erasing")
                yield Button(label, id="confirm", variant="error", compact=True)
        yield Footer()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm")

    def action_cancel(self) -> None:
        self.dismiss(False)
