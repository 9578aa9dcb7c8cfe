"""Engine progress as pipeline events: labelled, rate-limited, and honest about the end.

A phase's last event says 100 % exactly when the phase completed (the engine
moved on to verification, or the disk ended erased), and never before: the
engine's rate limit may swallow the final count of a short phase (a firmware
erase reports fractions), so the relay completes it then.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from agent.erase.progress import WipeProgress
from agent.flash.writer import Progress as FlashProgress
from agent.pipeline.events import DiskProgress, EventSink, ProgressPhase, notice

#: the results after which verification is known to have run to its end
_VERIFIED = {"erased", "erased_with_exceptions"}


class WipeRelay:
    """Turns one run's :class:`WipeProgress` into DiskProgress and notices."""

    def __init__(self, emit: EventSink, labels: dict[str, str]) -> None:
        self.emit = emit
        self.labels = labels
        self._last: dict[str, DiskProgress] = {}

    def __call__(self, p: WipeProgress) -> None:
        label = self.labels.get(p.disk, p.disk)
        last = self._last.get(p.disk)
        if p.phase == "done":
            if last is not None and last.phase == "verify" and p.message in _VERIFIED:
                self._complete(last)
            self.emit(notice("info", "notice.wipe_done", disk=label, result=p.message))
            return
        if last is not None and last.phase in ("wipe", "firmware") and p.phase == "verify":
            self._complete(last)  # verification starts only after the pass completed
        phase: ProgressPhase = p.phase
        event = DiskProgress(
            label, phase, p.done_bytes, p.total_bytes, p.rate_bytes_s, p.eta_s, p.message
        )
        self._last[p.disk] = event
        self.emit(event)

    def _complete(self, last: DiskProgress) -> None:
        if last.done_bytes < last.total_bytes:
            self.emit(
                DiskProgress(
                    last.disk,
                    last.phase,
                    last.total_bytes,
                    last.total_bytes,
                    last.rate_bytes_s,
                    0.0,
                    last.message,
                )
            )


def flash_relay(emit: EventSink, label: str) -> Callable[[FlashProgress], None]:
    """The flash writer's polled counters, as rate-limited progress events."""
    started = {"write": time.monotonic()}
    last = [float("-inf")]

    def on_flash(p: FlashProgress) -> None:
        verifying = p.phase == "verify"
        key = "verify" if verifying else "write"
        now = time.monotonic()
        t0 = started.setdefault(key, now)
        done = p.verified if verifying else p.handled
        if now - last[0] < 0.5 and done < p.to_write:
            return
        last[0] = now
        rate = done / (now - t0) if now > t0 else 0.0
        eta = (p.to_write - done) / rate if rate > 0 else None
        phase: ProgressPhase = "flash-verify" if verifying else "flash"
        emit(DiskProgress(label, phase, done, p.to_write, rate, eta))

    return on_flash
