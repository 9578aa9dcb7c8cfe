"""Disks that come and go while the station works, noticed by polling sysfs.

``/sys/block`` lists every whole disk; comparing it every second finds a disk
plugged in or pulled (udev is not needed, and a live system without udevd, or
a test VM, behaves the same). A new disk is only reported: it is never a
target until it is inspected and confirmed. A vanished target's wipe ends by
itself (the engine sees the device go and records the byte it reached); here
the operator is told. The stick's data partition going away is reported too:
the run keeps its state in memory (:mod:`agent.pipeline.storage`) until it is back.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

from agent.pipeline.events import EventSink, notice


def block_devices(root: Path) -> set[str]:
    """The disks in ``<root>/sys/block`` that hold media (size > 0): an unbound loop or an
    empty card reader is no disk. Empty when sysfs cannot be read."""
    found = set()
    try:
        entries = list(os.scandir(root / "sys" / "block"))
    except OSError:
        return set()
    for entry in entries:
        try:
            size = int((Path(entry.path) / "size").read_text().strip() or 0)
        except (OSError, ValueError):
            continue
        if size > 0:
            found.add(entry.name)
    return found


class DiskWatcher:
    """Polls ``/sys/block`` (and the data partition) in a thread while a run works."""

    def __init__(
        self,
        root: Path,
        emit: EventSink,
        data_dir: Path | None = None,
        *,
        interval_s: float = 1.0,
        on_stick_back: Callable[[], None] | None = None,
    ) -> None:
        self.root = root
        self.emit = emit
        self.data_dir = data_dir
        self.interval_s = interval_s
        self.on_stick_back = on_stick_back
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.known = block_devices(root)
        self.stick_present = self._stick()

    def _stick(self) -> bool:
        return self.data_dir is None or self.data_dir.is_dir()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="disk-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.poll()

    def poll(self) -> tuple[set[str], set[str]]:
        """Compare with the last look; (appeared, vanished), each reported."""
        now = block_devices(self.root)
        appeared, vanished = now - self.known, self.known - now
        self.known = now
        for name in sorted(appeared):
            self.emit(notice("warning", "notice.disk_appeared", disk=name))
        for name in sorted(vanished):
            self.emit(notice("warning", "notice.disk_vanished", disk=name))
        present = self._stick()
        if present != self.stick_present:
            self.stick_present = present
            self.emit(
                notice(
                    "error" if not present else "info",
                    "notice.stick_back" if present else "notice.stick_gone",
                )
            )
            if present and self.on_stick_back is not None:
                self.on_stick_back()  # write what was kept in memory meanwhile
        return appeared, vanished
