"""Stopped: a run ended early on the volunteer's word; what state the disks are in."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Footer, Static

from agent.pipeline.events import DiskProgress
from agent.report.schema import ErasureResult, Report
from agent.tui.i18n import N_, _
from agent.tui.widgets import phase_text

from .base import StationScreen


def erasure_text(result: ErasureResult) -> str:
    return {
        ErasureResult.ERASED: _("erased and verified"),
        ErasureResult.ERASED_WITH_EXCEPTIONS: _("erased, but some sectors refused the wipe"),
        ErasureResult.FAILED: _("NOT erased"),
    }[result]


class StoppedScreen(StationScreen):
    """Shown once the stopped run's worker has returned: every disk's state is recorded."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "next", N_("Back to start"), id="stopped-back"),
        Binding("enter", "quit_now", N_("Quit"), id="stopped-quit"),
    ]

    class Next(Message):
        """Back to the start screen."""

    def __init__(
        self,
        asset_tag: str,
        report: Report | None,
        progress: dict[str, DiskProgress],
        *,
        quitting: bool,
    ) -> None:
        super().__init__()
        self.asset_tag = asset_tag
        self.report = report
        self.progress = progress
        self.quitting = quitting

    def disk_lines(self) -> list[str]:
        if self.report is not None and self.report.erasures:
            return [
                f"{' '.join(x for x in (e.disk_model, e.disk_serial) if x) or e.disk_path}:"
                f" {erasure_text(e.result)}"
                for e in self.report.erasures
            ]
        return [
            _("{disk}: stopped during {phase} at {percent:.0f}%").format(
                disk=label, phase=phase_text(p.phase), percent=p.percent
            )
            for label, p in self.progress.items()
        ]

    def compose(self) -> ComposeResult:
        with Vertical(id="stopped-box"):
            yield Static(
                _("{tag}: stopped").format(tag=self.asset_tag), classes="title", markup=False
            )
            yield Static(
                _("The run was stopped. Disks that were not finished are NOT erased."),
                classes="warning",
            )
            yield Static("\n".join(f"  {line}" for line in self.disk_lines()), markup=False)
            yield Static(
                _(
                    "Each disk's state is recorded on the stick. Erase this laptop again"
                    " before it leaves the bench."
                ),
                classes="heading",
            )
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next":
            return not self.quitting
        if action == "quit_now":
            return self.quitting
        return True

    def action_next(self) -> None:
        self.post_message(self.Next())

    def action_quit_now(self) -> None:
        self.app.exit()
