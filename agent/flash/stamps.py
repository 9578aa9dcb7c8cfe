"""Remember which compressed files were verified, so repeat flashes skip hashing the image.

A station flashes the same file to many laptops. Once one flash has proved what
compressed file X decompresses to, later flashes hash only the compressed bytes
(a fraction of the size, before the disk is touched) and compare them with X's
digest: same compressed bytes, same decompressed bytes (and zstd checks each
frame's content as it decompresses). A stamp says what was proved:

* the whole raw image has the manifest's sha256 (``bmap_sha256`` None): written
  after a full hash (an image without a vouching bmap, or ``--full-check``);
* every mapped range matches the bmap with ``bmap_sha256`` (our own images, whose
  manifest binds a bmap with a sha256 per range): written after the first flash
  checked them all; it vouches only while the manifest names that same bmap.

For a multi-frame file (our image builds, seekable.py) the stamp also keeps the
sha256 of each frame's compressed bytes as the checked flash read them. A repeat
flash then hashes each frame as it reads it for decompressing, in the
decompression threads, and refuses one that differs before it is used: the
bytes compared are the very bytes decompressed (a whole-file hash before the
write cannot say that of a file changed in between), and nothing waits for a
hash of the whole file before the write starts.

The image's hashes are the largest CPU cost of a flash after decompression (on
two cores, sha256 of 650 mapped MB took a fifth of the flash). A stamp is written
only after a full, matching check; a compressed file that no longer matches its
stamp fails the flash and loses the stamp, so the next run checks in full again.
Every flash still reads every written byte back from the disk and compares it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, replace
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
    #: None: the whole raw image was hashed; else the sha256 of the bmap whose ranges were
    bmap_sha256: str | None = None
    #: a multi-frame file's frames that check decompressed: the sha256 of each one's
    #: compressed bytes, by its start in the raw image (seekable.FramedImage.digests)
    frames: dict[int, str] | None = None

    def vouches(self, bmap_sha256: str | None) -> bool:
        """Whether this stamp stands for checking the image that a bmap (or none) maps."""
        return self.bmap_sha256 is None or self.bmap_sha256 == bmap_sha256


def _path(directory: Path, raw_sha256: str, compressed_sha256: str | None) -> Path:
    """One stamp per raw image, or, when the manifest names its compressed file's sha256,
    per compressed file: two builds of the same image (one frame, many) keep one each."""
    if compressed_sha256 is None:
        return directory / f"{raw_sha256}.json"
    return directory / f"{raw_sha256}-{compressed_sha256}.json"


def load_stamp(
    directory: Path,
    raw_sha256: str,
    raw_size: int,
    compression: str,
    compressed_sha256: str | None = None,
) -> Stamp | None:
    """The stamp for this image (and this compressed file, when the manifest names it)."""
    path = _path(directory, raw_sha256, compressed_sha256)
    try:
        stamp = Stamp(**json.loads(path.read_text()))
        if stamp.frames is not None:  # JSON keeps the keys as text
            stamp = replace(stamp, frames={int(k): str(v) for k, v in stamp.frames.items()})
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        log.warning("ignoring unreadable verification stamp %s: %s", path, exc)
        return None
    if (stamp.raw_sha256, stamp.raw_size, stamp.compression) != (
        raw_sha256,
        raw_size,
        compression,
    ) or compressed_sha256 not in (None, stamp.compressed_sha256):
        return None
    return stamp


def save_stamp(directory: Path, stamp: Stamp, compressed_sha256: str | None = None) -> None:
    """Keep ``stamp`` where :func:`load_stamp` looks for it (``compressed_sha256``: the
    manifest's, when it names one; then it is the stamp's own)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = _path(directory, stamp.raw_sha256, compressed_sha256)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(stamp)))
        tmp.replace(path)
    except OSError as exc:  # a read-only stick: next time the full check runs again
        log.warning("cannot keep a verification stamp in %s: %s", directory, exc)


def drop_stamp(directory: Path, raw_sha256: str, compressed_sha256: str | None = None) -> None:
    try:
        _path(directory, raw_sha256, compressed_sha256).unlink(missing_ok=True)
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
