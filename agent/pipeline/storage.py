"""Saving the run's files when the stick may be full, broken, read-only or pulled.

A write that fails keeps its data in memory (the run goes on; a lost state
only costs a resume, a lost report costs the laptop's evidence), tries the
spare location the station config names (``[storage] fallback_dir``), and is
retried before every later write, so it lands as soon as space returns. The
operator is told what happened and what to do, once per failure.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.fsutil import StorageError, write_atomic
from agent.pipeline.events import EventSink, notice

log = logging.getLogger(__name__)

_TODO = "free space on the stick or re-plug it; the run continues and saves it as soon as it can"


@dataclass
class _Held:
    what: str
    path: Path
    data: bytes
    writer: Callable[[Path, bytes], None]
    fallback_written: bool = False


class Keeper:
    """Writes files, or holds them until they can be written."""

    def __init__(self, emit: EventSink, fallback_dir: Path | None) -> None:
        self.emit = emit
        self.fallback_dir = fallback_dir
        self.held: dict[Path, _Held] = {}
        self.failures: list[tuple[str, str]] = []
        # the run's threads and the disk watcher (stick back) write through one keeper
        self._lock = threading.RLock()

    def write(
        self,
        what: str,
        path: Path,
        data: bytes,
        writer: Callable[[Path, bytes], None] | None = None,
    ) -> bool:
        """Write (via ``writer``, default atomic replace); False when it is held in memory."""
        with self._lock:
            return self._write(what, path, data, writer)

    def _write(
        self,
        what: str,
        path: Path,
        data: bytes,
        writer: Callable[[Path, bytes], None] | None,
    ) -> bool:
        self.retry()
        writer = writer or _atomic
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            writer(path, data)
        except OSError as exc:
            err = exc if isinstance(exc, StorageError) else StorageError(path, exc)
            told = path in self.held  # a run state saved again: the operator knows already
            item = _Held(what, path, data, writer)
            self.held[path] = item
            self.failures.append((what, err.strerror or str(err)))
            log.error("cannot write %s: %s", path, err)
            if told:
                self._to_fallback(item)
                return False
            self.emit(
                notice(
                    "error",
                    "notice.storage_failed",
                    what=what,
                    detail=err.strerror or str(err),
                    todo=err.hint or _TODO,
                )
            )
            self._to_fallback(item)
            return False
        self.held.pop(path, None)
        return True

    def forget(self, path: Path) -> None:
        self.held.pop(path, None)

    def retry(self) -> None:
        """Write what is held, now that there may be space again."""
        with self._lock:
            self._retry()

    def _retry(self) -> None:
        for path, item in list(self.held.items()):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                item.writer(path, item.data)
            except OSError:
                continue
            del self.held[path]
            self.emit(notice("info", "notice.storage_saved", what=item.what))

    def _to_fallback(self, item: _Held) -> None:
        if self.fallback_dir is None or item.fallback_written:
            return
        spare = self.fallback_dir / item.path.name
        try:
            self.fallback_dir.mkdir(parents=True, exist_ok=True)
            write_atomic(spare, item.data)
        except OSError as exc:
            log.error("the spare location %s fails too: %s", spare, exc)
            return
        item.fallback_written = True
        self.emit(notice("warning", "notice.storage_fallback", what=item.what, path=str(spare)))


def _atomic(path: Path, data: bytes) -> None:
    write_atomic(path, data)
