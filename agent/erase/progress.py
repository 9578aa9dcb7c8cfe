"""Progress events a UI can show while disks are wiped (no UI code here)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Phase = Literal["firmware", "wipe", "verify", "done"]


@dataclass(frozen=True)
class WipeProgress:
    """One step of one disk's wipe; ``disk`` is its stable identity, not ``sdX``."""

    disk: str
    phase: Phase
    done_bytes: int
    total_bytes: int
    rate_bytes_s: float
    eta_s: float | None
    pass_no: int = 1
    message: str = ""

    @property
    def percent(self) -> float:
        return 100.0 * self.done_bytes / self.total_bytes if self.total_bytes else 100.0


ProgressCallback = Callable[[WipeProgress], None]


def ignore_progress(_: WipeProgress) -> None:
    """The default callback: nobody is watching."""


class Meter:
    """Turns byte counts into rate-limited :class:`WipeProgress` events."""

    def __init__(
        self,
        callback: ProgressCallback,
        disk: str,
        phase: Phase,
        total: int,
        *,
        start_done: int = 0,
        pass_no: int = 1,
        interval_s: float = 0.5,
    ) -> None:
        self._cb = callback
        self._disk = disk
        self._phase: Phase = phase
        self._total = total
        self._pass = pass_no
        self._interval = interval_s
        self._t0 = time.monotonic()
        self._base = start_done  # bytes done before this run (resume): not part of the rate
        self.done = start_done
        self._last = float("-inf")  # the first update always goes out

    def rate(self) -> float:
        elapsed = time.monotonic() - self._t0
        return (self.done - self._base) / elapsed if elapsed > 0 else 0.0

    def update(self, done: int, *, force: bool = False) -> None:
        self.done = done
        now = time.monotonic()
        if not force and now - self._last < self._interval:
            return
        self._last = now
        rate = self.rate()
        eta = (self._total - done) / rate if rate > 0 else None
        self._cb(WipeProgress(self._disk, self._phase, done, self._total, rate, eta, self._pass))
