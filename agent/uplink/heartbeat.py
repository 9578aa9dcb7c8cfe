"""Heartbeats: where this laptop is, for the server's Werkbank page.

A pipeline event sink (tee it next to the TUI or the headless printer). A background
thread posts each change of stage or of the need for a person at once and in order, and
progress within a step at most every :data:`EVERY_S` seconds. Best effort by design: a
server that is down or slow never delays or fails a run, and little is kept (the report,
in the outbox, is what must never be lost; a heartbeat only says "now").
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import requests

from agent.config import StationConfig
from agent.pipeline.events import DiskProgress, Event, Finished, Notice, Stage, StageChanged

log = logging.getLogger(__name__)

PATH = "/api/v1/heartbeats"
EVERY_S = 5.0
TIMEOUT_S = 5.0

#: the stages where the run waits for a person, and what for
ATTENTION = {
    Stage.TESTS: "tests",
    Stage.CONFIRM: "confirm",
    Stage.DONE: "done",
    Stage.FAILED: "error",
}

Post = Callable[[dict[str, Any]], None]
#: steps kept while the server is slow; older ones are dropped (only "now" matters)
MAX_PENDING = 32


def _same_step(a: Beat, b: Beat) -> bool:
    return (a.run_id, a.stage, a.attention) == (b.run_id, b.stage, b.attention)


@dataclass(frozen=True)
class Beat:
    run_id: str
    asset_tag: str
    stage: str
    percent: float | None = None
    eta_s: int | None = None
    attention: str = ""
    message_code: str = ""

    def body(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "asset_tag": self.asset_tag,
            "stage": self.stage,
            "percent": self.percent,
            "eta_s": self.eta_s,
            "attention": self.attention,
            "message_code": self.message_code,
        }


def http_post(server_url: str, token: str, ca_file: str | None = None) -> Post:
    """POST a heartbeat to the server with the station's token; errors are the caller's."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    url = server_url.rstrip("/") + PATH

    def post(body: dict[str, Any]) -> None:
        answer = session.post(url, json=body, timeout=TIMEOUT_S, verify=ca_file or True)
        answer.raise_for_status()

    return post


class HeartbeatSender:
    """Turns pipeline events into heartbeats. The laptop's tag comes with the pipeline's
    stage events; ``asset_tag()`` is asked only when they carry none."""

    def __init__(
        self,
        post: Post,
        asset_tag: Callable[[], str],
        *,
        every_s: float = EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._post = post
        self._asset_tag = asset_tag
        self._every = every_s
        self._clock = clock
        #: beats to send, oldest first; one per stage and need, the newest of each
        self._pending: deque[Beat] = deque(maxlen=MAX_PENDING)
        self._latest: Beat | None = None
        self._sent: Beat | None = None
        self._last_sent = float("-inf")
        self._lock = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def __call__(self, event: Event) -> None:
        with self._lock:
            beat = self._next(event)
            if beat is None:
                return
            self._latest = beat
            if self._pending and _same_step(self._pending[-1], beat):
                self._pending[-1] = beat  # progress within a step: only the newest counts
            else:
                self._pending.append(beat)
            self._lock.notify()

    def _next(self, event: Event) -> Beat | None:
        current = self._latest
        if isinstance(event, StageChanged):
            if event.stage in (Stage.START, Stage.INSPECT) or current is None:
                current = Beat(run_id=str(uuid.uuid4()), asset_tag="", stage=event.stage.value)
            tag = event.asset_tag or current.asset_tag or self._asset_tag()
            return replace(current, asset_tag=tag, stage=event.stage.value,
                           percent=None, eta_s=None, attention=ATTENTION.get(event.stage, ""),
                           message_code="")  # fmt: skip
        if current is None:
            return None
        if isinstance(event, DiskProgress):
            eta = None if event.eta_s is None else max(0, round(event.eta_s))
            return replace(current, percent=max(0.0, min(100.0, event.percent)), eta_s=eta)
        if isinstance(event, Notice) and event.level == "error":
            code = str(getattr(event, "code", "") or "")
            return replace(current, attention="error", message_code=code)
        if isinstance(event, Finished):
            tag = event.report.asset_tag or current.asset_tag
            return replace(current, asset_tag=tag, stage=Stage.DONE.value, percent=100.0,
                           eta_s=0, attention="done")  # fmt: skip
        return None

    def _due(self) -> Beat | None:
        """The beat to send now, if any: a new step at once, progress at most every few
        seconds, and on closing whatever is pending."""
        if not self._pending:
            return None
        beat = self._pending[0]
        new_step = len(self._pending) > 1 or self._sent is None or not _same_step(self._sent, beat)
        if new_step or self._closed or self._clock() - self._last_sent >= self._every:
            return self._pending.popleft()
        return None

    def _run(self) -> None:
        while True:
            with self._lock:
                beat = self._due()
                while beat is None and not (self._closed and not self._pending):
                    self._lock.wait(timeout=max(0.05, self._every / 2))
                    beat = self._due()
                if beat is None:
                    return
                self._sent, self._last_sent = beat, self._clock()
            try:
                self._post(beat.body())
            except Exception as exc:  # a heartbeat never disturbs the run: log and go on
                log.debug("heartbeat not delivered: %s", exc)

    def close(self, timeout: float = TIMEOUT_S + 1) -> None:
        """Send what is pending, then stop the thread."""
        with self._lock:
            self._closed = True
            self._lock.notify()
        self._thread.join(timeout)


def for_station(config: StationConfig, asset_tag: Callable[[], str]) -> HeartbeatSender | None:
    """A sender to the station's server, or None when no server is configured."""
    if not config.server.url or not config.server.token:
        return None
    ca = str(config.server.ca_file) if config.server.ca_file else None
    return HeartbeatSender(http_post(config.server.url, config.server.token, ca), asset_tag)
