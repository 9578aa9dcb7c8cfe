"""Tolerant readers for sysfs/procfs files under a configurable root.

Probes read a live machine (root ``/``) or a recorded tree in tests. Either way
files go missing, are root-only, or hold odd bytes; every reader here returns
None instead of raising, so one bad attribute never costs a whole report.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from agent.report.vocabulary import INT64_MAX

#: Longest attribute we read; sysfs attributes are at most a page, EDID a few KiB.
MAX_READ = 1 << 20


def under(root: Path, absolute: str) -> Path:
    """``absolute`` (e.g. ``/sys/block``) re-rooted under ``root``."""
    return root / absolute.lstrip("/")


def read_bytes(path: Path) -> bytes | None:
    try:
        with path.open("rb") as fh:
            return fh.read(MAX_READ)
    except (OSError, ValueError):
        return None


def read_text(path: Path) -> str | None:
    """The stripped text of a file; None when missing, unreadable or empty."""
    data = read_bytes(path)
    if data is None:
        return None
    text = data.decode("utf-8", errors="replace").replace("\x00", "").strip()
    return text or None


def read_int(path: Path, base: int = 10) -> int | None:
    text = read_text(path)
    if text is None:
        return None
    try:
        return int(text, base)
    except ValueError:
        return None


def read_uint(path: Path) -> int | None:
    """A non-negative decimal attribute (sizes, counts); None for anything else.

    sysfs numbers are at most 64 bits; larger ones are garbage (a damaged or
    hostile tree) and read as unknown.
    """
    value = read_int(path)
    return value if value is not None and 0 <= value <= INT64_MAX else None


def read_flag(path: Path) -> bool | None:
    """A sysfs 0/1 attribute as a bool; None when missing or not 0/1."""
    value = read_int(path)
    if value is None or value not in (0, 1):
        return None
    return value == 1


def link_target(path: Path) -> str | None:
    """Where a symlink points, as written (recorded trees keep sysfs' relative links)."""
    try:
        return str(path.readlink())
    except OSError:
        return None


def link_name(path: Path) -> str | None:
    """The last component of a symlink's target, e.g. a ``driver`` link's driver name."""
    target = link_target(path)
    if not target:
        return None
    return Path(target).name or None


def list_dir(path: Path) -> list[str]:
    """Sorted entry names of a directory; empty when it is missing or unreadable."""
    try:
        return sorted(entry.name for entry in path.iterdir())
    except OSError:
        return []


def resolve_within(root: Path, absolute: str) -> Path | None:
    """``absolute`` resolved as if ``root`` were ``/``: symlinks followed, never out of root.

    Absolute link targets are re-rooted and ``..`` stops at root, like a chroot,
    so a recorded tree (or a hostile one) cannot lead the probe to the host.
    None when the path does not exist or loops.
    """
    try:
        base = root.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    pending = list(PurePosixPath(absolute).parts)
    if pending and pending[0] == "/":
        pending.pop(0)
    pending.reverse()
    parts: list[str] = []
    hops = 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        candidate = base.joinpath(*parts, part)
        if candidate.is_symlink():
            hops += 1
            try:
                target = PurePosixPath(candidate.readlink())
            except OSError:
                return None
            if hops > 40:
                return None
            if target.is_absolute():
                parts = []
            pending.extend(reversed([p for p in target.parts if p != "/"]))
            continue
        parts.append(part)
    result = base.joinpath(*parts)
    return result if result.exists() else None
