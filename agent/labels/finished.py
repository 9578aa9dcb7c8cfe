"""A finished laptop's label: tag, grade, RAM/disk/battery in one line each, date, QR to its
page on the server. Printed on a Brother QL when one is on USB, always saved as PNG."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from agent.fsutil import write_atomic
from agent.labels.brother import UsbPrinter, find_printers, raster, send, tape_label
from agent.labels.draw import Label
from agent.pipeline.events import Event, Finished
from agent.report.schema import Mode, Report

log = logging.getLogger(__name__)

Translate = Callable[[str], str]


def _identity(text: str) -> str:
    return text


def _gb(n: int) -> str:
    return f"{n / 1e9:.0f}"


def finished_label(
    report: Report, *, server_url: str = "", organisation: str = "", _: Translate = _identity
) -> Label:
    """The label of the laptop ``report`` describes, worded through ``_`` (the TUI's gettext)."""
    tag = report.asset_tag or str(report.report_id)[:8]
    parts: list[str] = []
    if report.grade is not None and report.grade.grade is not None:
        parts.append(_("Grade {grade}").format(grade=report.grade.grade))
    memory = report.components.memory
    if memory is not None:
        parts.append(_("{gb} GB RAM").format(gb=_gb(memory.total_bytes)))
    internal = [d for d in report.components.disks if d.internal and not d.removable]
    if internal:
        parts.append(_("{gb} GB disk").format(gb=_gb(sum(d.size_bytes for d in internal))))
    facts: list[str] = []
    healths = [b.health_percent for b in report.components.batteries if b.health_percent]
    if healths:
        facts.append(_("Battery {percent} %").format(percent=f"{min(healths):.0f}"))
    when = report.finished_at or report.created_at
    facts.append(when.date().isoformat())
    url = f"{server_url.rstrip('/')}/devices/{quote(tag, safe='')}/" if server_url else ""
    return Label(tag=tag, organisation=organisation, url=url,
                 lines=(" · ".join(parts), " · ".join(facts)))  # fmt: skip


@dataclass(frozen=True)
class LabelOutcome:
    png: Path
    printed_on: UsbPrinter | None


def save_and_print(label: Label, folder: Path, *, sys_root: Path = Path("/")) -> LabelOutcome:
    """Save the label as PNG in ``folder``; print it on the first Brother QL on USB."""
    image = tape_label(label)
    png = folder / f"label-{label.tag.replace('/', '_')}.png"
    png.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    write_atomic(png, buf.getvalue())
    printers = find_printers(sys_root)
    if not printers:
        return LabelOutcome(png, None)
    send(printers[0], raster(image))
    return LabelOutcome(png, printers[0])


@dataclass(frozen=True)
class LabelFailed:
    """No label for this laptop, and why (shown on the result screen, in the log)."""

    error: str


class LabelOnFinish:
    """A pipeline event sink: when a laptop's run is over, its label is saved (and printed).

    A label that cannot be made (no space, a printer that refuses) is logged, never raised:
    the run and its report matter more than the sticker. What became of each laptop's label
    is kept for the result screen (:meth:`outcome`): the sink runs before the screen hears
    the run is over."""

    def __init__(
        self,
        folder: Path,
        *,
        server_url: str = "",
        organisation: str = "",
        sys_root: Path = Path("/"),
    ) -> None:
        self.folder = folder
        self.server_url = server_url
        self.organisation = organisation
        self.sys_root = sys_root
        self.made: list[LabelOutcome] = []
        self._outcomes: dict[str, LabelOutcome | LabelFailed] = {}

    def __call__(self, event: Event) -> None:
        if not isinstance(event, Finished) or event.report.mode is not Mode.INTAKE:
            return
        from agent.tui import i18n

        key = str(event.report.report_id)
        try:
            label = finished_label(event.report, server_url=self.server_url,
                                   organisation=self.organisation, _=i18n._)  # fmt: skip
            made = save_and_print(label, self.folder, sys_root=self.sys_root)
        except (OSError, ValueError) as exc:
            log.warning("no label for %s: %s", event.report.asset_tag, exc)
            self._outcomes[key] = LabelFailed(str(exc))
            return
        self.made.append(made)
        self._outcomes[key] = made

    def outcome(self, report: Report) -> LabelOutcome | LabelFailed | None:
        """What became of ``report``'s label; None when none was due (a helpdesk check)."""
        return self._outcomes.get(str(report.report_id))
