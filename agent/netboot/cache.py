"""One cached copy of every file the bench server hands out (kernel, initramfs, OS images).

The backing store (a folder: a USB disk, an NFS share, the image build's output) is read
once per file into the cache; every laptop, however many boot or flash at once, is then
served from that copy, byte ranges included. A fill is counted and logged, so a test (or
an admin) can see that ten laptops flashing meant one read of the image, not ten.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from agent.errors import InputError

log = logging.getLogger(__name__)
CHUNK = 1 << 20


class NotServed(InputError):
    """A name the bench server does not serve (unknown, or outside its folder)."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in the HTTP header

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class RangeNotSatisfiable(InputError):
    """A Range header that asks for bytes the file does not have."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range of ``bytes=A-B``, ``bytes=A-`` or ``bytes=-N``; None for the whole file.

    Several ranges in one request are answered with the whole file (RFC 9110 allows it;
    no client of ours asks for them)."""
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if not first:  # the last N bytes
            n = int(last)
            if n <= 0:
                raise RangeNotSatisfiable(f"empty suffix range {header!r}")
            return ByteRange(max(0, size - n), size - 1)
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        raise RangeNotSatisfiable(f"range {header!r} is outside the file's {size} bytes")
    return ByteRange(start, min(end, size - 1))


class FileCache:
    """Files of ``backing`` served from copies in ``cache``, each read from ``backing`` once."""

    def __init__(self, backing: Path, cache: Path) -> None:
        self.backing = backing
        self.cache = cache
        self.cache.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        #: name -> how many times it was read from the backing store
        self.fills: dict[str, int] = {}

    def _source(self, name: str) -> Path:
        parts = Path(name).parts
        if not parts or any(p in ("..", "/") or p.startswith(".") for p in parts):
            raise NotServed(f"{name!r} is not served here")
        path = self.backing / name
        if not path.is_file():
            raise NotServed(f"{name!r} is not in {self.backing}")
        return path

    def _lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())

    def path(self, name: str) -> Path:
        """The cached copy of ``name``, read from the backing store first if needed.

        Concurrent callers wait for the one fill. A backing file that changed (size or
        modification time) is read again, so a rebuilt image is never served stale."""
        source = self._source(name)
        cached = self.cache / name
        with self._lock(name):
            st = source.stat()
            if cached.is_file():
                have = cached.stat()
                if have.st_size == st.st_size and int(have.st_mtime) == int(st.st_mtime):
                    return cached
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f".{cached.name}.part")
            digest = hashlib.sha256()
            with source.open("rb") as src, tmp.open("wb") as dst:
                while chunk := src.read(CHUNK):
                    digest.update(chunk)
                    dst.write(chunk)
                dst.flush()
                os.fsync(dst.fileno())
            shutil.copystat(source, tmp)
            tmp.replace(cached)
            self.fills[name] = self.fills.get(name, 0) + 1
            log.info(
                "netboot: %s read from the backing store (%d bytes, sha256 %s)",
                name,
                st.st_size,
                digest.hexdigest(),
            )
            return cached
