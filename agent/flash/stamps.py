"""Remember which compressed files were verified in full, so repeat flashes skip the raw hash.

Only for images whose bmap does not vouch for them (engine.bmap_vouches): our own
images' manifests bind a bmap with a sha256 per range, which makes the raw hash
unnecessary from the first flash on.

The manifest's sha256 covers every byte of the raw image, holes included: on a
2 GiB image that is the largest CPU cost of a flash. A station flashes the same
file to many laptops, so after one flash has proved that compressed file X
decompresses to the raw image with the manifest's sha256, later flashes hash
only the compressed bytes (a fraction of the size) and compare them with X's
digest: same compressed bytes, same decompressed bytes. A stamp is written only
after a full, matching check; a compressed file that no longer matches its stamp
fails the flash and loses the stamp, so the next run checks in full again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_DIR = Path("/var/cache/digibench/verified")


@dataclass(frozen=True)
class Stamp:
    raw_sha256: str
    raw_size: int
    compressed_sha256: str
    compressed_size: int
    compression: str


def _path(directory: Path, raw_sha256: str) -> Path:
    return directory / f"{raw_sha256}.json"


def load_stamp(directory: Path, raw_sha256: str, raw_size: int, compression: str) -> Stamp | None:
    path = _path(directory, raw_sha256)
    try:
        stamp = Stamp(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        log.warning("ignoring unreadable verification stamp %s: %s", path, exc)
        return None
    if (stamp.raw_sha256, stamp.raw_size, stamp.compression) != (
        raw_sha256,
        raw_size,
        compression,
    ):
        return None
    return stamp


def save_stamp(directory: Path, stamp: Stamp) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = _path(directory, stamp.raw_sha256)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(stamp)))
        tmp.replace(path)
    except OSError as exc:  # a read-only stick: next time the full check runs again
        log.warning("cannot keep a verification stamp in %s: %s", directory, exc)


def drop_stamp(directory: Path, raw_sha256: str) -> None:
    try:
        _path(directory, raw_sha256).unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot remove verification stamp: %s", exc)


class HashingReader:
    """Passes reads through and hashes (and counts) the bytes, e.g. a compressed file's."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.hash = hashlib.sha256()
        self.count = 0

    def read(self, size: int = -1, /) -> bytes:
        data: bytes = self._inner.read(size)
        self.hash.update(data)
        self.count += len(data)
        return data

    def readinto(self, buf: memoryview | bytearray) -> int:
        n: int = self._inner.readinto(buf)
        if n:
            self.hash.update(memoryview(buf)[:n])
            self.count += n
        return n

    def drain(self) -> None:
        """Hash what is left (trailing bytes after the last frame count too)."""
        while self.read(1 << 20):
            pass

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()
