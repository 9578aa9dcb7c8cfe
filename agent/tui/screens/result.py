"""Result: the grade in large type, where the laptop goes, what to fix, a QR code."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import quote

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import ContentSwitcher, Footer, Static

from agent.pipeline.events import Notice
from agent.report.schema import Destination, Grade, Mode, Report
from agent.tui.check_table import CheckTable
from agent.tui.i18n import N_, _
from agent.tui.reasons import advice_texts, fix_texts, notice_text, reason_text
from agent.tui.screens.base import StationScreen
from agent.tui.widgets import BigText, QRCode

if TYPE_CHECKING:
    from agent.labels.finished import LabelFailed, LabelOutcome


def destination_text(destination: Destination) -> str:
    return {
        Destination.LEND: _("Ready to lend (Digibank / Digi-leen)"),
        Destination.REPAIR: _("Repair first"),
        Destination.PARTS: _("Parts: harvest what is healthy"),
        Destination.RECYCLE: _("Recycle"),
    }[destination]


def device_url(server_url: str | None, asset_tag: str | None) -> str | None:
    if not server_url or not asset_tag:
        return None
    return f"{server_url.rstrip('/')}/devices/{quote(asset_tag, safe='/')}/"


class ResultScreen(StationScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "power_off", N_("Switch off"), id="power-off"),
        Binding("enter", "next", N_("Next laptop"), id="next-laptop"),
        Binding("c", "checks", N_("All checks"), id="checks"),
    ]

    class Next(Message):
        """Back to the start screen for the next laptop."""

    class PowerOff(Message):
        """Done with this laptop: switch it off (the stick boots the next one)."""

    def __init__(
        self,
        report: Report,
        grade: Grade | None,
        *,
        server_url: str | None,
        outbox_pending: int,
        uploaded: bool,
        swappable_disks: bool = False,
        summary_pdf: Path | None = None,
        station_refused: Notice | None = None,
        label: LabelOutcome | LabelFailed | None = None,
    ) -> None:
        super().__init__()
        #: the finished laptop's label: printed, saved on the stick, or why there is none
        self.label = label
        self.station_refused = station_refused
        self.swappable_disks = swappable_disks
        self.summary_pdf = summary_pdf
        self.report = report
        self.grade = grade
        self.url = device_url(server_url, report.asset_tag)
        self.outbox_pending = outbox_pending
        self.uploaded = uploaded

    def compose(self) -> ComposeResult:
        if self.report.mode is Mode.CHECK:
            yield from self._diagnosis()
            return
        grade = self.grade
        with ContentSwitcher(initial="result-box", id="result-views"):
            yield from self._grade_view(grade)
            if grade is not None and grade.checks:
                yield CheckTable(grade.checks, id="result-checks")
        yield Footer()

    def _grade_view(self, grade: Grade | None) -> ComposeResult:
        with Horizontal(id="result-box"):
            with Vertical(id="result-left"):
                yield Static(
                    _("{tag}: grade").format(tag=self.report.asset_tag or "?"),
                    classes="title",
                    markup=False,
                )
                yield from self._refused()  # first: nothing this station does gets through
                if grade is None or grade.grade is None or grade.destination is None:
                    yield Static(_("No grade"), classes="warning")
                else:
                    yield BigText(
                        grade.grade, id="grade", classes=f"grade-{grade.destination.value}"
                    )
                    yield Static(destination_text(grade.destination), id="destination")
                    shown = sorted(
                        (r for r in grade.reasons if r.severity != "info"),
                        key=lambda r: r.severity != "error",
                    )
                    if shown:
                        yield Static(
                            "\n".join(f"- {reason_text(r)}" for r in shown[:6]),
                            markup=False,
                            classes="result-reasons",
                        )
                    if grade.to_fix:
                        yield Static(_("To fix:"), classes="heading")
                        yield Static(
                            "\n".join(f"- {fix}" for fix in fix_texts(grade)[:5]),
                            markup=False,
                            classes="result-reasons",
                        )
                yield Static(self._outbox_text(), id="outbox", markup=False)
                if self.label is not None:
                    yield Static(self._label_text(), id="label", markup=False)
            if self.url:
                with Vertical(id="result-right"):
                    yield QRCode(self.url, id="qr")
                    yield Static(self.url, id="qr-url", markup=False)

    def _diagnosis(self) -> ComposeResult:
        """Helpdesk: the resident's own laptop goes home; findings and advice, no grade."""
        with Vertical(id="result-box"):
            yield Static(
                _("{tag}: diagnosis").format(tag=self.report.asset_tag or "?"),
                classes="title",
                markup=False,
            )
            yield Static(
                _("A resident's own laptop: it goes back to its owner, it is not lent."),
                id="destination",
                markup=False,
            )
            findings = self.grade.reasons if self.grade else []
            shown = sorted(
                (r for r in findings if r.severity != "info"),
                key=lambda r: r.severity != "error",
            )
            if shown:
                yield Static(
                    "\n".join(f"- {reason_text(r)}" for r in shown[:8]),
                    markup=False,
                    classes="result-reasons",
                )
            else:
                yield Static(_("Nothing wrong found."), markup=False)
            advice = advice_texts(findings)
            if advice:
                yield Static(_("Advice:"), classes="heading")
                yield Static(
                    "\n".join(f"- {line}" for line in advice[:5]),
                    markup=False,
                    classes="result-reasons",
                )
            if self.summary_pdf is not None:
                yield Static(
                    _("Summary for the resident: {path}").format(path=self.summary_pdf),
                    id="summary-pdf",
                    markup=False,
                )
            yield Static(self._outbox_text(), id="outbox", markup=False)
            yield from self._refused()
        yield Footer()

    def _refused(self) -> ComposeResult:
        """Revoked or suspended on the server: in words, on screen, not only in a log."""
        if self.station_refused is not None:
            yield Static(
                notice_text(self.station_refused), id="station-refused", classes="error",
                markup=False,
            )  # fmt: skip

    def _label_text(self) -> str:
        from agent.labels.finished import LabelFailed

        label = self.label
        if isinstance(label, LabelFailed):
            return _("No label: {error}").format(error=label.error)
        if label is None:
            return ""
        # where it is on the data partition (the labels folder), short enough for the column
        path = Path(label.png.parent.name) / label.png.name
        if label.printed_on is not None:
            return _("Label printed on the {printer} (saved as {path})").format(
                printer=label.printed_on.product or "Brother QL", path=path
            )
        return _("Label saved as {path} (no label printer attached)").format(path=path)

    def _outbox_text(self) -> str:
        sent = _("Report sent.") if self.uploaded else _("Report saved; it will be sent later.")
        if self.outbox_pending:
            sent += "\n" + _("{n} report(s) waiting to be sent.").format(n=self.outbox_pending)
        return sent

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # one end step: the next laptop only where disks are swapped, else switch off
        if action == "next":
            return self.swappable_disks
        if action == "power_off":
            return not self.swappable_disks
        if action == "checks":
            return self.report.mode is Mode.INTAKE and bool(self.grade and self.grade.checks)
        return True

    def action_checks(self) -> None:
        """Between the grade and the table of every check (the same key back)."""
        views = self.query_one("#result-views", ContentSwitcher)
        views.current = "result-checks" if views.current == "result-box" else "result-box"

    def action_next(self) -> None:
        self.post_message(self.Next())

    def action_power_off(self) -> None:
        self.post_message(self.PowerOff())
