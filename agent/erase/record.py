"""Signed erasure records: one JSON file per disk, checkable offline.

The file is the :class:`~agent.report.schema.ErasureRecord` itself (the same
object the report carries), with ``signature`` = Ed25519 over the canonical
JSON of every other field. The public key is deliberately *not* embedded: a
key inside the file would only prove the file agrees with itself. Whoever
checks a record uses the station's published public key (``station.pub``,
also in every report's ``station.public_key``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from agent.errors import InputError
from agent.fsutil import write_atomic
from agent.report.schema import ErasureRecord, ErasureResult, ErrorRange
from agent.signing import sign, verify

MAX_RECORD_BYTES = 4 * 1024 * 1024


def sign_record(record: ErasureRecord, key: Ed25519PrivateKey) -> ErasureRecord:
    body = record.model_copy(update={"signature": None}).model_dump(mode="json")
    return record.model_copy(update={"signature": sign(body, key)})


def record_file_name(record: ErasureRecord) -> str:
    who = record.disk_serial or "noserial"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in who)[:64]
    return f"erasure-{safe}-{record.record_id}.json"


def write_record(record: ErasureRecord, record_dir: Path) -> Path:
    """Write a signed record atomically; returns its path."""
    if record.signature is None:
        raise ValueError("refusing to write an unsigned erasure record")
    try:
        record_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{record_dir}: cannot create record directory: {exc.strerror}") from exc
    path = record_dir / record_file_name(record)
    write_atomic(path, record_bytes(record))
    return path


def record_bytes(record: ErasureRecord) -> bytes:
    """A record file's content: sorted, indented JSON."""
    return (json.dumps(record.model_dump(mode="json"), indent=2, sort_keys=True) + "\n").encode()


def load_record_data(path: Path) -> dict[str, Any]:
    """The JSON object in a record file; clear errors for anything else."""
    try:
        if path.stat().st_size > MAX_RECORD_BYTES:
            raise InputError(f"{path}: too large to be an erasure record")
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: not an erasure record (a JSON object is expected)")
    return data


def check_record(path: Path, public_key: str) -> ErasureRecord:
    """The record in ``path`` if its signature by ``public_key`` is intact, else InputError.

    The signature is checked over the JSON exactly as stored, so any change to
    any field (or an added field) breaks it.
    """
    data = load_record_data(path)
    signature = data.get("signature")
    if not isinstance(signature, str) or not signature:
        raise InputError(f"{path}: the record is not signed")
    if not verify(data, signature, public_key):
        raise InputError(
            f"{path}: SIGNATURE INVALID: the record was changed or signed by another key"
        )
    try:
        return ErasureRecord.model_validate(data)
    except ValidationError as exc:
        raise InputError(f"{path}: signed, but not a valid erasure record: {exc}") from exc


def decide_result(
    *,
    failure: str | None,
    write_errors: list[ErrorRange],
    verify_problems: list[ErrorRange],
    verified: bool,
) -> tuple[ErasureResult, list[str]]:
    """``erased`` only with no error at all; exceptions only where writes already failed."""
    notes: list[str] = []
    if failure:
        return ErasureResult.FAILED, [failure]
    if not verified:
        return ErasureResult.FAILED, ["verification did not complete"]
    unexplained = [p for p in verify_problems if not _inside(p, write_errors)]
    if unexplained:
        first = unexplained[0]
        notes.append(
            f"verification found {len(unexplained)} range(s) not holding the pattern,"
            f" first at byte {first.start_byte}: {first.message}"
        )
        return ErasureResult.FAILED, notes
    if write_errors:
        bad = sum(e.length_bytes for e in write_errors)
        notes.append(
            f"{bad} bytes in {len(write_errors)} range(s) refused every write;"
            " they may still hold old data"
        )
        return ErasureResult.ERASED_WITH_EXCEPTIONS, notes
    return ErasureResult.ERASED, notes


def _inside(problem: ErrorRange, ranges: list[ErrorRange]) -> bool:
    start, end = problem.start_byte, problem.start_byte + problem.length_bytes
    return any(r.start_byte <= start and end <= r.start_byte + r.length_bytes for r in ranges)
