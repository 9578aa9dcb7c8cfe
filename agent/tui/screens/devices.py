"""Device checks on one screen: what the station found, confirmed with one key.

Camera, sound, Wi-Fi, Bluetooth, charging and temperature are proposed from
the probes; the operator looks (camera light, a sound, the charge LED), presses
a number to mark a device that does not work, and F2 to record. F4 skips all.
Dismisses with the list of :class:`TestResult` (one per check).
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Static

from agent.checks.devices import DeviceCheck
from agent.report.schema import SkipCause, TestOutcome, TestResult
from agent.tui.i18n import N_, _, facts
from agent.tui.reasons import TEST_NAMES
from agent.tui.screens.base import StationScreen

#: what ``DeviceCheck.words`` can say, marked for the catalog
SHOWN_WORDS = (
    N_("none found"),
    N_("{names}: driver/firmware not loaded"),
    N_("{names}, {count} networks seen"),
    N_("not reported"),
    N_("adapter plugged in, battery charging"),
    N_("adapter unplugged or battery not charging"),
    N_("no sensors"),
    N_("hottest {temp:.0f} C, limit {limit:.0f} C"),
)
STATE_WORDS = {
    "ok": N_("OK"),
    "fail": N_("NOT OK"),
    "unknown": N_("not measured"),
}


class DevicesScreen(StationScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "record", N_("Record")),
        Binding("f4", "skip", N_("Skip")),
    ]

    def __init__(self, checks: list[DeviceCheck]) -> None:
        super().__init__()
        self.checks = checks
        self.broken: set[str] = set()

    def compose(self) -> ComposeResult:
        with Vertical(id="check-box"):
            yield Static(_("Devices"), classes="title")
            yield Static(
                _("Check each device; press its number if it does not work, then F2."),
                markup=False,
            )
            yield Static(self._lines(), id="device-lines", markup=False)
        yield Footer()

    def _lines(self) -> str:
        rows = []
        for index, check in enumerate(self.checks, start=1):
            name = _(TEST_NAMES.get(check.name, check.name))
            if check.name in self.broken:
                state = _("broken (operator)")
            else:
                state = _(STATE_WORDS[check.state])
            mark = "x" if check.name in self.broken or check.state == "fail" else " "
            try:
                shown = _(check.words).format(**facts(dict(check.facts)))
            except (KeyError, IndexError, ValueError):
                shown = check.detail
            rows.append(f"{index} [{mark}] {name}: {state}  {shown}")
        return "\n".join(rows)

    def on_key(self, event: events.Key) -> None:
        if not (event.character or "").isdigit():
            return
        index = int(event.character or "0") - 1
        if not 0 <= index < len(self.checks):
            return
        event.stop()
        name = self.checks[index].name
        self.broken.symmetric_difference_update({name})
        self.query_one("#device-lines", Static).update(self._lines())

    def action_record(self) -> None:
        self.dismiss([c.result(broken=c.name in self.broken) for c in self.checks])

    def action_skip(self) -> None:
        self.dismiss(
            [
                TestResult(
                    name=c.name,
                    outcome=TestOutcome.SKIPPED,
                    details=c.detail,
                    skipped_by=SkipCause.OPERATOR,
                )
                for c in self.checks
            ]
        )
