"""Helpdesk: what the resident agrees the server may keep, asked through the volunteer.

One key per answer (J or Y = yes; N, Enter or Esc = no), question by question;
every answer starts on "no", so a stray Enter or a scanner's keystrokes keep
nothing beyond the anonymous minimum. The paper summary is printed either way.
Dismisses with the :class:`HelpdeskConsent`.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Footer, Static

from agent.report.schema import HelpdeskConsent
from agent.tui.i18n import N_, _
from agent.tui.screens.base import StationScreen

#: (consent field, question) in the order they are asked
QUESTIONS = (
    ("diagnosis", N_("The summary with the laptop's facts (battery, disk, memory, advice)")),
    ("label", N_("The name or number typed for this visit ({tag})")),
)
YES_KEYS = frozenset({"j", "y"})
NO_KEYS = frozenset({"n", "enter"})


class ConsentScreen(StationScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "none", N_("No to all"), id="consent-none"),
    ]

    def __init__(self, asset_tag: str) -> None:
        super().__init__()
        self.asset_tag = asset_tag
        self.answers: list[bool] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="check-box"):
            yield Static(_("What may the helpdesk keep on its server?"), classes="title")
            yield Static(
                _(
                    "Ask the resident. Without a yes only the date and the station are kept. "
                    "The summary on paper is printed either way."
                ),
                markup=False,
            )
            yield Static(self._lines(), id="consent-lines", markup=False)
            yield Static(_("J or Y = yes, N or Enter = no"), classes="heading", markup=False)
        yield Footer()

    def _lines(self) -> str:
        rows = []
        for index, (_field, question) in enumerate(QUESTIONS):
            if index < len(self.answers):
                answer = _("yes") if self.answers[index] else _("no")
            elif index == len(self.answers):
                answer = "?"
            else:
                answer = ""
            pointer = ">" if index == len(self.answers) else " "
            text = _(question).format(tag=self.asset_tag)
            rows.append(f"{pointer} {index + 1}. {text}: {answer}")
        return "\n".join(rows)

    def on_key(self, event: events.Key) -> None:
        key = event.key.lower() if len(event.key) == 1 else event.key
        if key not in YES_KEYS | NO_KEYS:
            return
        event.stop()
        event.prevent_default()
        self.answer(key in YES_KEYS)

    def answer(self, yes: bool) -> None:
        self.answers.append(yes)
        if len(self.answers) == len(QUESTIONS):
            self.dismiss(self.consent())
            return
        self.query_one("#consent-lines", Static).update(self._lines())

    def consent(self) -> HelpdeskConsent:
        given = dict(zip((f for f, _q in QUESTIONS), self.answers, strict=False))
        return HelpdeskConsent(**given)

    def action_none(self) -> None:
        self.answers = []
        self.dismiss(HelpdeskConsent())
