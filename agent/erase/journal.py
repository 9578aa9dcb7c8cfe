"""Per-disk wipe progress that survives a power cut, so a rerun resumes.

One small JSON file per disk in the state directory (the stick's data
partition on a live system), named by the disk's stable identity, never by
its kernel name. Written atomically: temp file, fsync, rename, fsync of the
directory, so after a crash the file is either the old or the new state.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from agent.erase.prng import SEED_LENGTHS
from agent.errors import InputError
from agent.fsutil import write_atomic
from agent.report.schema import ErrorRange

log = logging.getLogger(__name__)

JOURNAL_VERSION = 1


class JournalEntry(BaseModel):
    """Where one disk's wipe stands."""

    model_config = ConfigDict(extra="forbid")

    version: int = JOURNAL_VERSION
    identity: str
    serial: str | None = None
    size_bytes: int
    method: str
    pattern: str
    seed_hex: str | None = None  # the random pass's keystream seed: needed to resume and verify
    passes: int = 1
    pass_no: int = 1
    phase: str = "wipe"  # wipe | verify
    offset: int = 0
    started_at: datetime
    updated_at: datetime
    interruptions: int = 0
    errors: list[ErrorRange] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @field_validator("seed_hex")
    @classmethod
    def _a_key(cls, value: str | None) -> str | None:
        """A seed that is not a whole AES key cannot resume its stream: the journal is
        damaged (kept aside, the wipe starts over), never a crash halfway through."""
        if value is not None and len(bytes.fromhex(value)) not in SEED_LENGTHS:
            raise ValueError(f"seed of {len(value) // 2} bytes is not an AES key")
        return value


class Journal:
    """The state directory's wipe journals."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"{state_dir}: cannot create state directory: {exc.strerror}") from exc

    def path_for(self, identity: str) -> Path:
        digest = hashlib.sha256(identity.encode()).hexdigest()[:20]
        return self.dir / f"wipe-{digest}.json"

    def load(self, identity: str) -> tuple[JournalEntry | None, str | None]:
        """The saved entry for ``identity`` and, when one was unusable, why."""
        path = self.path_for(identity)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            return None, f"journal {path} unreadable ({exc.strerror}); starting over"
        try:
            entry = JournalEntry.model_validate(json.loads(raw))
        except (ValueError, ValidationError):
            bad = path.with_suffix(".bad")
            path.replace(bad)
            return None, f"journal {path.name} was damaged (kept as {bad.name}); starting over"
        if entry.identity != identity:
            return None, f"journal {path.name} belongs to another disk; starting over"
        return entry, None

    def save(self, entry: JournalEntry) -> None:
        data = entry.model_dump_json(indent=1).encode()
        write_atomic(self.path_for(entry.identity), data)

    def remove(self, identity: str) -> None:
        self.path_for(identity).unlink(missing_ok=True)
