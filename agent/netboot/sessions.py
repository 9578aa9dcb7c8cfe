"""Per-boot sessions: the short-lived credential a network-booted laptop works with.

A laptop that joins gets a fresh random token, valid for one working day; the bench
server keeps only its hash (on disk, so a restarted bench server still knows the laptops
at work). The token lets a laptop do what a run needs (have its records signed, send
heartbeats and reports through the bench server) and nothing else: it is not the
station's token and never leaves the bench's network.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from agent.fsutil import write_atomic

LIFETIME_S = 12 * 3600.0


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Session:
    laptop: str  # the MAC address the laptop gave when it joined
    expires: float  # wall-clock seconds (sessions outlive a bench server restart)


class Sessions:
    def __init__(
        self, path: Path, *, lifetime_s: float = LIFETIME_S, clock: Callable[[], float] = time.time
    ) -> None:
        self._path = path
        self._lifetime = lifetime_s
        self._clock = clock
        self._lock = threading.Lock()
        self._known: dict[str, Session] = {}
        if path.exists():
            raw = json.loads(path.read_text(encoding="utf-8"))
            self._known = {h: Session(**s) for h, s in raw.items()}

    def _save(self) -> None:
        now = self._clock()
        self._known = {h: s for h, s in self._known.items() if s.expires > now}
        data = {h: asdict(s) for h, s in self._known.items()}
        write_atomic(self._path, json.dumps(data, sort_keys=True).encode("utf-8"))

    def open(self, laptop: str) -> str:
        """A new token for the laptop ``laptop`` (shown to it once)."""
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._known[_hash(token)] = Session(laptop, self._clock() + self._lifetime)
            self._save()
        return token

    def check(self, token: str | None) -> Session | None:
        """The live session of ``token``; None when unknown or expired."""
        if not token:
            return None
        with self._lock:
            found = self._known.get(_hash(token))
        if found is None or found.expires <= self._clock():
            return None
        return found
