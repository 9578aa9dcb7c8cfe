"""What the pipeline tells its driver (TUI or headless) while it works.

Plain frozen dataclasses, no UI types: the TUI turns them into Textual
messages, headless mode into progress lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from agent.report.reasons import ParamValue, words
from agent.report.schema import Grade, Report


class Stage(StrEnum):
    """The pipeline's states, in order; nothing destructive happens before CONFIRM."""

    START = "start"
    INSPECT = "inspect"
    TESTS = "tests"
    CONFIRM = "confirm"
    #: helpdesk only: the resident confirmed a refresh of their own laptop (files gone, copy made)
    REFRESH = "refresh"
    WIPE = "wipe"
    FLASH = "flash"
    GRADE = "grade"
    REPORT = "report"
    DONE = "done"
    CANCELLED = "cancelled"
    FAILED = "failed"


@dataclass(frozen=True)
class StageChanged:
    stage: Stage
    message: str = ""
    #: the laptop the run is about ("" before a tag is known): what a bench view shows
    asset_tag: str = ""


ProgressPhase = Literal["firmware", "wipe", "verify", "flash", "flash-verify", "provision"]


@dataclass(frozen=True)
class DiskProgress:
    """One disk's progress; ``disk`` is its stable label (model + serial), not sdX."""

    disk: str
    phase: ProgressPhase
    done_bytes: int
    total_bytes: int
    rate_bytes_s: float
    eta_s: float | None
    message: str = ""

    @property
    def percent(self) -> float:
        return 100.0 * self.done_bytes / self.total_bytes if self.total_bytes else 100.0


@dataclass(frozen=True)
class Notice:
    """A line for the operator: ``code`` + ``params`` name the catalogue wording
    (:mod:`agent.report.reasons`), so a screen says it in its own language;
    ``message`` is the English sentence (headless output, logs)."""

    level: Literal["info", "warning", "error"]
    message: str
    code: str = ""
    params: Mapping[str, ParamValue] = field(default_factory=dict)


def notice(level: Literal["info", "warning", "error"], code: str, **params: ParamValue) -> Notice:
    """A notice in words from the catalogue; the only way the core forms one."""
    return Notice(level, words(code, **params), code, dict(params))


@dataclass(frozen=True)
class Finished:
    """The run is over; ``report`` is what was (or will be) sent to the server."""

    report: Report
    grade: Grade | None
    uploaded: bool
    outbox_pending: int


Event = StageChanged | DiskProgress | Notice | Finished
EventSink = Callable[[Event], None]


def ignore(_: Event) -> None:
    """The default sink: nobody is watching."""


def tee(first: EventSink, also: EventSink | None) -> EventSink:
    """One sink that feeds ``first`` and then ``also`` (when given)."""
    if also is None:
        return first

    def both(event: Event) -> None:
        first(event)
        also(event)

    return both
