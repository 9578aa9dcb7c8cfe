"""``digibench-server backup DEST`` / ``restore SRC``: database, keys and certificates.

The database goes out as Django's own serialization (``dumpdata``) read in one
transaction with a consistent snapshot (REPEATABLE READ on PostgreSQL; SQLite's
WAL reader snapshot), so a backup taken while stations post is never half a
report. The same format restores into SQLite or PostgreSQL, and the audit chain's
hashes travel verbatim, so ``verify-audit`` holds after a restore. The secret key
and the certificate signing key are copied next to it (mode 0600); a manifest
with sha256 sums lets restore refuse a damaged backup before touching anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.db import connection, transaction

from server.paths import secret_key_file

FORMAT = "digibench-backup-1"
DATABASE_FILE = "database.json"
MANIFEST = "manifest.json"
#: tables that migrate fills by itself (restoring them would clash)
_EXCLUDE = ["contenttypes", "auth.permission", "sessions", "admin.logentry", "web.loginfailure"]


class BackupError(Exception):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def _key_files() -> dict[str, Path]:
    from server.web.certificates import key_dir

    return {
        "secret_key": secret_key_file(),
        "certificate-key/station.key": key_dir() / "station.key",
        "certificate-key/station.pub": key_dir() / "station.pub",
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _private_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out, src.open("rb") as inp:
        shutil.copyfileobj(inp, out)


def _dump(target: Path) -> None:
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out, _snapshot():
        call_command(
            "dumpdata",
            exclude=_EXCLUDE,
            natural_foreign=True,
            natural_primary=True,
            stdout=out,
            verbosity=0,
        )


@contextmanager
def _snapshot() -> Iterator[None]:
    """One read snapshot for the whole dump, without stopping the server's writers."""
    if connection.vendor != "sqlite":
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield
        return
    # The settings open Django's transactions with BEGIN IMMEDIATE (the writer lock), which
    # would hold off every upload for as long as the dump takes. A plain deferred read
    # transaction on the same connection sees one WAL snapshot and blocks nobody.
    connection.ensure_connection()
    raw = connection.connection
    raw.execute("BEGIN DEFERRED")
    try:
        yield
    finally:
        raw.execute("COMMIT")


def backup(dest: Path) -> dict[str, Any]:
    """Write a backup into the new or empty folder ``dest``; returns its manifest."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest}: exists and is not an empty folder", "give a new folder")
    dest.mkdir(mode=0o700, parents=True, exist_ok=True)
    _dump(dest / DATABASE_FILE)
    files = {DATABASE_FILE: _sha256(dest / DATABASE_FILE)}
    for name, src in _key_files().items():
        if src.is_file():
            _private_copy(src, dest / name)
            files[name] = _sha256(dest / name)
    manifest = {
        "format": FORMAT,
        "made_at": datetime.now(UTC).isoformat(),
        "database_vendor": connection.vendor,
        "files": files,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _check(src: Path) -> dict[str, Any]:
    try:
        manifest: dict[str, Any] = json.loads((src / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{src}: no readable {MANIFEST}: not a Digibench backup") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{src}: unknown backup format {manifest.get('format')!r}")
    for name, digest in manifest.get("files", {}).items():
        path = src / name
        if not path.is_file() or _sha256(path) != digest:
            raise BackupError(f"{src}: {name} is missing or damaged (sha256 differs)")
    return manifest


def _has_data() -> bool:
    from server.ingest.models import AuditEvent, Run, Station

    return Station.objects.exists() or Run.objects.exists() or AuditEvent.objects.exists()


def restore(src: Path) -> dict[str, Any]:
    """Load a backup into an empty database and data folder (after ``migrate``)."""
    manifest = _check(src)
    if _has_data():
        raise BackupError(
            "the database already holds stations, reports or audit events",
            "restore into a fresh data folder / an empty database",
        )
    for name, dst in _key_files().items():
        if name in manifest["files"]:
            if dst.exists() and _sha256(dst) != manifest["files"][name]:
                if name == "secret_key":
                    dst.unlink()  # the fresh one migrate made; the backup's wins
                else:
                    raise BackupError(f"{dst}: exists and differs from the backup's key")
            _private_copy(src / name, dst)
    with transaction.atomic():
        call_command("loaddata", str(src / DATABASE_FILE), verbosity=0)
    return manifest
