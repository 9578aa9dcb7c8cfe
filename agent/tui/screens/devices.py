"""Device checks on one screen: what the station found, confirmed with one key.

Camera, sound, Wi-Fi, Bluetooth, charging and temperature are proposed from
the probes; the operator looks (camera light, a sound, the charge LED), presses
a number to mark a device that does not work, and F2 to record. F4 skips all.
When the adapter charges, the screen also asks to pull the charger out and
watches the power supply (``unplug``, polled): the unplug is noticed without a
key, and the charging result says whether it was (agent.checks.charger).
Dismisses with the list of :class:`TestResult` (one per check).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Static

from agent.checks.charger import POLL_S, Unplug, with_unplug
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
    N_("{names}: the Wi-Fi scan failed, not measured"),
    N_("{names}: no networks seen (is there Wi-Fi here?)"),
    N_("{names}: switched off by its radio switch, not measured"),
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

    def __init__(
        self,
        checks: list[DeviceCheck],
        unplug: Callable[[], bool | None] | None = None,
        unplug_s: float = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.clock = clock
        self.checks = checks
        self.broken: set[str] = set()
        #: reads whether the charger is out; asked only when the adapter charges
        charging = any(c.name == "charging" and c.state == "ok" for c in checks)
        self.unplug = unplug if charging and unplug_s > 0 else None
        self.unplug_s = unplug_s
        self.unplug_seen = False
        #: when the volunteer was asked (the screen is built before the earlier steps run)
        self.opened = clock()

    def on_mount(self) -> None:
        self.opened = self.clock()
        if self.unplug is not None:
            self.set_interval(POLL_S, self._watch_charger, name="charger")

    def _watch_charger(self) -> None:
        if self.unplug is None or self.unplug_seen:
            return
        if self.unplug():
            self.unplug_seen = True
            self.query_one("#charger-line", Static).update(self._charger_line())

    def _charger_line(self) -> str:
        if self.unplug is None:
            return ""
        if self.unplug_seen:
            return _("Charger unplug noticed: plug the charger back in.")
        return _("Pull the charger out of the laptop for a moment: the station watches.")

    def _unplug(self) -> Unplug:
        if self.unplug_seen:
            return "seen"
        waited = self.clock() - self.opened
        return "not_seen" if waited >= self.unplug_s else "not_tried"

    def compose(self) -> ComposeResult:
        with Vertical(id="check-box"):
            yield Static(_("Devices"), classes="title")
            yield Static(
                _("Check each device; press its number if it does not work, then F2."),
                markup=False,
            )
            yield Static(self._lines(), id="device-lines", markup=False)
            if self.unplug is not None:
                yield Static(self._charger_line(), id="charger-line", markup=False)
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
        self._watch_charger()  # one last reading: pulled out just before the key
        results = []
        for check in self.checks:
            result = check.result(broken=check.name in self.broken)
            if check.name == "charging" and self.unplug is not None:
                result = with_unplug(result, self._unplug(), self.unplug_s)
            results.append(result)
        self.dismiss(results)

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
