"""Progress: one bar per disk (phase, MB/s, time left); no key needed here."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Footer, Static

from agent.pipeline.events import DiskProgress, Event, Notice, StageChanged
from agent.tui.i18n import _
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
    def __init__(self, asset_tag: str, labels: list[str]) -> None:
        super().__init__()
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
        elif isinstance(event, StageChanged):
            self.stage_message = stage_text(event.stage.value) + (
                f": {event.message}" if event.message else ""
            )
            self.query_one("#stage", Static).update(self.stage_message)
        elif isinstance(event, Notice):
            self.notices.append(event)
            self.query_one("#notices", Static).update(self._notice_text())
