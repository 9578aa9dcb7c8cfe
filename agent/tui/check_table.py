"""Every graded check as a row: what was checked, how it went, what it does, why.

The rows are the grade's own (:attr:`Grade.checks`), so the volunteer reads
exactly what the grading decided under the station's policy.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from agent.report.schema import CheckRow
from agent.tui.i18n import N_, _
from agent.tui.reasons import TEST_NAMES, reason_text

OUTCOME_WORDS = {
    "pass": N_("OK"),
    "fail": N_("not OK"),
    "not_available": N_("not available"),
    "operator_skipped": N_("skipped"),
    "policy_skipped": N_("not done (policy)"),
}
EFFECT_WORDS = {
    "block": N_("blocks lending"),
    "repair": N_("repair list"),
    "note": N_("note"),
    "ignore": "-",  # the console font has no dash
}


def check_name(row: CheckRow) -> str:
    return _(TEST_NAMES.get(row.kind.value, row.kind.value))


def row_words(row: CheckRow) -> tuple[str, str, str, str]:
    """(check, outcome, effect, reason) of one row in the current language."""
    effect = EFFECT_WORDS[row.effect]
    return (
        check_name(row),
        _(OUTCOME_WORDS[row.outcome.value]),
        _(effect) if effect != "-" else effect,
        reason_text(row.reason),
    )


class CheckTable(VerticalScroll):
    """The checks as a table that scrolls (arrows, Page Down) when it is longer than the screen."""

    def __init__(self, rows: list[CheckRow], *, id: str | None = None) -> None:
        super().__init__(id=id, classes="check-table")
        self.rows = rows

    def compose(self) -> ComposeResult:
        head = (_("Check"), _("Outcome"), _("Effect"), _("Why"))
        yield from self._row(head, "check-head")
        for row in self.rows:
            yield from self._row(row_words(row), f"check-row effect-{row.effect}")

    @staticmethod
    def _row(cells: tuple[str, str, str, str], classes: str) -> ComposeResult:
        with Horizontal(classes=classes):
            for i, text in enumerate(cells):
                yield Static(text, classes=f"check-cell check-col{i}", markup=False)
