"""What the TUI needs from the station pipeline, and the bridge for its events.

The pipeline runs in worker threads and reports through a plain ``emit(event)``
callback; :class:`EventBridge` is that callback. It turns each event into a
Textual message posted to the app (``post_message`` is thread-safe and does not
block the wipe), and holds events that arrive before the app is running.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from textual.app import App
from textual.message import Message

from agent.pipeline.events import Event, Stage
from agent.report.schema import Disk, HelpdeskConsent, Mode, Reason, Report, TestResult

if TYPE_CHECKING:
    from agent.pipeline.station import Pipeline, ResumeInfo


class PipelineEvent(Message):
    """A pipeline event, delivered on the app's thread."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class StationPipeline(Protocol):
    """The contract of ``agent.pipeline.station.Pipeline`` as the TUI uses it."""

    @property
    def stage(self) -> Stage: ...
    @property
    def mode(self) -> Mode: ...
    @property
    def language(self) -> str: ...
    @property
    def server_url(self) -> str | None: ...

    def inspect(self, *, asset_tag: str, mode: Mode, operator: str | None = None) -> Report: ...
    def record_tests(self, tests: list[TestResult]) -> None: ...
    def targets(self) -> list[Disk]: ...
    def refusals(self) -> list[tuple[Disk, Reason]]:
        """Disks that will not be touched, each with its coded reason."""
        ...

    def confirm(self, disk_names: Sequence[str]) -> None: ...
    def cancel(self) -> None: ...
    def run(self) -> Report: ...
    def outbox_pending(self) -> int: ...
    def finish(self) -> Report:
        """Grade and report without wiping (helpdesk mode)."""
        ...

    def record_consent(self, consent: HelpdeskConsent) -> None:
        """Helpdesk: what the resident agreed the server may keep."""
        ...

    def confirm_refresh(self, *, copy_made: bool) -> None:
        """Helpdesk: the resident's separate yes to a refresh (files gone, copy made)."""
        ...

    def pending_resume(self) -> ResumeInfo | None:
        """A confirmed run cut short (power loss), which must continue by itself."""
        ...

    def resume(self) -> Report: ...


class EventBridge:
    """The pipeline's ``emit`` callback; delivers events to the app as messages."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._app: App[Any] | None = None
        self._pending: list[Event] = []

    def attach(self, app: App[Any]) -> None:
        """Start delivering to ``app``, first the events that came before it ran."""
        with self._lock:
            self._app = app
            pending, self._pending = self._pending, []
        for event in pending:
            app.post_message(PipelineEvent(event))

    def detach(self) -> None:
        with self._lock:
            self._app = None

    def __call__(self, event: Event) -> None:
        with self._lock:
            app = self._app
            if app is None:
                self._pending.append(event)
                return
        app.post_message(PipelineEvent(event))


if TYPE_CHECKING:

    def _conforms(pipeline: Pipeline) -> StationPipeline:
        """mypy checks here that the real pipeline keeps the contract the TUI uses."""
        return pipeline
