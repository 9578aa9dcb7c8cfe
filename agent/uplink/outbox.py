"""The outbox: reports wait on the stick until the server has acknowledged them.

A report is written atomically (temporary file, fsync, rename, fsync of the
directory), so a power cut leaves either the whole report or none of it. It is
deleted only after the server's 200/201; a report the server refuses for good
(409 other content, 422 invalid) moves to ``rejected/`` with the server's
answer next to it, for a person to look at; every refused version keeps its
own file. Nothing is ever dropped silently or overwritten: an entry that cannot
be read (a folder named like a report, a symlink loop) is skipped and listed in
:meth:`Outbox.unreadable`, so it never blocks the reports behind it.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from agent.errors import InputError
from agent.fsutil import fsync_dir, storage_error, write_new
from agent.report.schema import Report

REJECTED = "rejected"
_SUFFIX = ".json"
_ANSWER_SUFFIX = ".answer.json"
#: separates a report id from the number of a further refused version in rejected/
_VERSION = "~"


@dataclass(frozen=True)
class OutboxEntry:
    report_id: str
    path: Path
    size: int
    queued_at: datetime


@dataclass(frozen=True)
class OutboxStatus:
    """What the TUI shows: how much waits, and since when."""

    pending: int
    rejected: int
    pending_bytes: int
    oldest: datetime | None


def parse_report(body: bytes, *, source: str = "report") -> Report:
    """The report in ``body``; InputError when it is not one the server could take."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{source}: not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{source}: not a report (a JSON object is expected)")
    for field in ("report_id", "created_at"):
        if field not in data:
            raise InputError(
                f"{source}: the report has no {field}",
                hint="save reports with 'digibench inspect --json' or the pipeline",
            )
    try:
        return Report.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(
            f"{source}: not a valid report ({exc.error_count()} errors, first at {where}: "
            f"{first['msg']})"
        ) from exc


class Outbox:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.rejected_dir = root / REJECTED
        self._unreadable: dict[Path, str] = {}

    def _ensure(self) -> None:
        try:
            self.rejected_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(
                f"{self.root}: cannot create the outbox: {exc.strerror}",
                hint="choose a writable directory with --outbox or DIGIBENCH_OUTBOX",
            ) from exc

    def put(self, body: bytes, *, source: str = "report") -> OutboxEntry:
        """Queue a report, byte for byte (a signature covers exactly these bytes' JSON)."""
        report = parse_report(body, source=source)
        self._ensure()
        path = self.root / f"{report.report_id}{_SUFFIX}"
        if path.exists() or path.is_symlink():
            try:
                same = path.is_file() and path.read_bytes() == body
            except OSError:
                same = False
            if same:
                return self._entry(path)
            raise InputError(
                f"{source}: another report with UUID {report.report_id} already waits in "
                f"the outbox ({path})"
            )
        try:
            write_new(path, body)
        except FileExistsError:  # a concurrent put of the same report
            return self.put(body, source=source)
        return self._entry(path)

    def _entry(self, path: Path) -> OutboxEntry:
        st = path.stat()
        return OutboxEntry(
            report_id=path.name.removesuffix(_SUFFIX).split(_VERSION)[0],
            path=path,
            size=st.st_size,
            queued_at=datetime.fromtimestamp(st.st_mtime, UTC),
        )

    def _list(self, directory: Path) -> list[OutboxEntry]:
        if not directory.is_dir():
            return []
        entries = []
        for path in directory.iterdir():
            name = path.name
            if name.startswith(".") or not name.endswith(_SUFFIX) or name.endswith(_ANSWER_SUFFIX):
                continue
            try:
                path.stat()
            except FileNotFoundError:  # acknowledged by a concurrent flush
                continue
            except OSError as exc:  # a symlink loop, a broken stick
                self._unreadable[path] = exc.strerror or str(exc)
                continue
            if not path.is_file() or not os.access(path, os.R_OK):
                self._unreadable[path] = "not a readable file"
                continue
            try:
                entries.append(self._entry(path))
            except FileNotFoundError:
                continue
            except OSError as exc:
                self._unreadable[path] = exc.strerror or str(exc)
        return sorted(entries, key=lambda e: (e.queued_at, e.report_id))

    def unreadable(self) -> dict[Path, str]:
        """Entries skipped by the last listing (path -> why): for a person to look at."""
        return dict(self._unreadable)

    def pending(self) -> list[OutboxEntry]:
        return self._list(self.root)

    def rejected(self) -> list[OutboxEntry]:
        return self._list(self.rejected_dir)

    def acknowledge(self, entry: OutboxEntry) -> None:
        """The server has the report: only now may it leave the stick."""
        entry.path.unlink(missing_ok=True)
        fsync_dir(entry.path.parent)

    def reject(self, entry: OutboxEntry, status: int, answer: Any) -> Path:
        """Move a refused report aside, with the server's answer next to it.

        A report id refused before keeps its file: this version gets the next
        free ``<id>~N.json`` name (never an overwrite).
        """
        self._ensure()
        note = {
            "report_id": entry.report_id,
            "status": status,
            "answer": answer,
            "rejected_at": datetime.now(UTC).isoformat(),
        }
        data = json.dumps(note, indent=2, ensure_ascii=False).encode("utf-8")
        for n in range(1, 10_000):
            stem = entry.report_id if n == 1 else f"{entry.report_id}{_VERSION}{n}"
            target = self.rejected_dir / f"{stem}{_SUFFIX}"
            try:
                os.link(entry.path, target)
            except FileExistsError:
                continue
            except OSError as exc:
                raise storage_error(target, exc, "moving aside") from exc
            break
        else:
            raise InputError(f"{self.rejected_dir}: too many refused versions of {entry.report_id}")
        with contextlib.suppress(FileExistsError):  # left by a crash between the two steps
            write_new(self.rejected_dir / f"{stem}{_ANSWER_SUFFIX}", data)
        entry.path.unlink(missing_ok=True)
        fsync_dir(self.rejected_dir)
        fsync_dir(self.root)
        return target

    def status(self) -> OutboxStatus:
        pending = self.pending()
        return OutboxStatus(
            pending=len(pending),
            rejected=len(self.rejected()),
            pending_bytes=sum(e.size for e in pending),
            oldest=pending[0].queued_at if pending else None,
        )
