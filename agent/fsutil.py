"""Files that survive a power cut: the stick is pulled or the laptop dies mid-run.

Used for everything the station keeps (journal, run state, outbox, records):
a crash leaves either the old file or the new one, whole, never half. A
storage fault (full, broken or read-only partition) surfaces as
:class:`StorageError`: a DigibenchError with words and a hint, so no caller
shows a traceback, and still an OSError, so callers that handle OS errors
keep working.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Callable
from pathlib import Path

from agent.errors import DigibenchError

#: Test hook: called with every path about to be written; may raise OSError (fault injection).
fault_hook: Callable[[Path], None] | None = None

_HINTS = {
    errno.ENOSPC: "the data partition is full: free space on the stick (old logs, image cache)",
    errno.EDQUOT: "the data partition is full: free space on the stick",
    errno.EROFS: "the data partition is read-only (worn or pulled stick): replace or re-plug it",
    errno.EIO: "the stick reports I/O errors: re-plug it or use another stick",
}


class StorageError(DigibenchError, OSError):
    """Writing to the station's storage failed; ``errno`` says why."""

    def __init__(self, path: Path, exc: OSError, what: str = "writing") -> None:
        why = exc.strerror or str(exc)
        DigibenchError.__init__(
            self, f"{what} {path} failed: {why}", hint=_HINTS.get(exc.errno or 0)
        )
        self.errno = exc.errno
        self.strerror = why
        self.filename = str(path)


def storage_error(path: Path, exc: OSError, what: str = "writing") -> StorageError:
    return exc if isinstance(exc, StorageError) else StorageError(path, exc, what)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_tmp(path: Path, data: bytes, mode: int) -> Path:
    if fault_hook is not None:
        fault_hook(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data``: temporary file, fsync, rename, fsync of the folder.

    The temporary name is unique, so concurrent writers (two uploads, two
    threads) never share one. OS faults raise :class:`StorageError`.
    """
    try:
        tmp = _write_tmp(path, data, mode)
        try:
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(path.parent)
    except OSError as exc:
        raise storage_error(path, exc) from exc


def write_new(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Create ``path`` whole, never replacing a file: FileExistsError when it exists.

    The data goes to a temporary file first and is hard-linked into place,
    which fails instead of overwriting, so two writers never destroy each other's file.
    """
    try:
        tmp = _write_tmp(path, data, mode)
        try:
            os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        fsync_dir(path.parent)
    except FileExistsError:
        raise
    except OSError as exc:
        raise storage_error(path, exc) from exc
