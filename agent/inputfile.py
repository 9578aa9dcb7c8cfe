"""Bounded reads of the saved files a person hands to a command.

A FIFO would block the command forever and ``/dev/zero`` would fill the memory,
so only regular files are read, and their size is checked before any byte is.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from agent.errors import InputError

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def read_input_file(path: Path, max_bytes: int, what: str) -> bytes:
    """The bytes of the regular file ``path``; InputError for anything else or over ``max_bytes``.

    ``what`` names the expected content in the error ("smartctl output").
    """
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if not stat.S_ISREG(mode):
        raise InputError(f"{path}: {_kind(mode)}, not a saved file of {what}")
    try:
        # O_NONBLOCK: a FIFO swapped in after the check must not block the open
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{path}: {_kind(info.st_mode)}, not a saved file of {what}")
        if info.st_size > max_bytes:
            raise InputError(
                f"{path}: {info.st_size} bytes, too large for {what} (at most {max_bytes})"
            )
        try:
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:  # it grew while we read
        raise InputError(f"{path}: too large for {what} (more than {max_bytes} bytes)")
    return data
