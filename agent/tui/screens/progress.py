"""Progress: one bar per disk (phase, MB/s, time left); no key needed, Esc stops."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Static

from agent.pipeline.events import DiskProgress, Event, Notice, StageChanged
from agent.tui.i18n import N_, _
from agent.tui.reasons import notice_text
from agent.tui.screens.base import StationScreen
from agent.tui.widgets import DiskBar


def stage_text(stage: str) -> str:
    return {
        "wipe": _("Erasing the disks"),
        "flash": _("Installing the system"),
        "grade": _("Grading"),
        "report": _("Writing the report"),
        "done": _("Done"),
        "failed": _("Failed"),
    }.get(stage, stage)


class ProgressScreen(StationScreen):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "stop", N_("Stop"), id="stop")]

    class Stop(Message):
        """The volunteer asks to stop the run (a question follows)."""

    def __init__(self, asset_tag: str, labels: list[str]) -> None:
        super().__init__()
        self.is_stopping = False
        self.asset_tag = asset_tag
        self.labels = list(labels)
        self.latest: dict[str, DiskProgress] = {}
        self.stage_message = ""
        self.notices: list[Notice] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="progress-box"):
            yield Static(
                _("{tag}: working, you can walk away").format(tag=self.asset_tag),
                classes="title",
                markup=False,
            )
            yield Static(self.stage_message, id="stage", markup=False)
            with VerticalScroll(id="bars"):
                for label in self.labels:
                    bar = DiskBar(label, classes="disk-bar")
                    if label in self.latest:
                        bar.progress = self.latest[label]
                    yield bar
            yield Static(self._notice_text(), id="notices", markup=False)
        yield Footer()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return not self.is_stopping
        return True

    def action_stop(self) -> None:
        self.post_message(self.Stop())

    def stopping(self) -> None:
        """The run is being stopped: say so until the disks are left in a recorded state."""
        self.is_stopping = True
        self.stage_message = _("Stopping: the disks are left in a recorded state, please wait")
        self.query_one("#stage", Static).update(self.stage_message)
        self.refresh_bindings()

    def _notice_text(self) -> str:
        return "\n".join(f"{n.level}: {notice_text(n)}" for n in self.notices[-5:])

    def bar(self, label: str) -> DiskBar | None:
        for bar in self.query(DiskBar):
            if bar.label == label:
                return bar
        return None

    def pipeline_event(self, event: Event) -> None:
        if isinstance(event, DiskProgress):
            self.latest[event.disk] = event
            bar = self.bar(event.disk)
            if bar is None:
                self.labels.append(event.disk)
                bar = DiskBar(event.disk, classes="disk-bar")
                self.query_one("#bars", VerticalScroll).mount(bar)
            bar.update_progress(event)
        elif isinstance(event, StageChanged) and not self.is_stopping:
            self.stage_message = stage_text(event.stage.value) + (
                f": {event.message}" if event.message else ""
            )
            self.query_one("#stage", Static).update(self.stage_message)
        elif isinstance(event, Notice):
            self.notices.append(event)
            self.query_one("#notices", Static).update(self._notice_text())
