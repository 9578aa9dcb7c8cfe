"""The stations' signatures on individual erasure records inside a report.

Checked once, when the report arrives, and stored on each ``ErasureRecord``: the pages
and the evidence rules read the stored status instead of re-checking Ed25519 on every
view. ``digibench-server verify-signatures`` checks every stored report again (for a
database that may have been edited behind the server's back).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from agent.report.schema import ErasureRecord
from agent.signing import canonical_json, verify

VALID = "valid"
INVALID = "invalid"
UNSIGNED = "unsigned"
NO_KEY = "no station key"


def record_status(raw: Any, key: str) -> tuple[str, str] | None:
    """(record_id, "valid" / "invalid" / "unsigned" / "no station key"); None if unreadable."""
    try:
        record = ErasureRecord.model_validate(raw)
    except ValidationError:
        return None
    rid = str(record.record_id)
    if not record.signature:
        return rid, UNSIGNED
    if not key:
        return rid, NO_KEY
    body = record.model_copy(update={"signature": None}).model_dump(mode="json")
    return rid, VALID if verify(body, record.signature, key) else INVALID


def statuses(raw_body: str, key: str) -> dict[str, str]:
    """record_id -> status for every erasure record in a stored report body."""
    try:
        records = json.loads(raw_body).get("erasures") or []
    except (ValueError, AttributeError):
        return {}
    found: dict[str, str] = {}
    for raw in records:
        checked = record_status(raw, key)
        if checked is not None:
            found[checked[0]] = checked[1]
    return found


#: the stored columns of an erasure record that must say what the signed record says
_FIELDS = ("disk_serial", "method", "result", "verification_passed")


def _stored_text(value: str | None) -> str:
    """As ingest stores a string (service._text): no NUL, no lone surrogates."""
    return (value or "").replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def recheck(run: Any) -> list[str]:
    """What no longer holds for one stored run: its report signature and content hash, each
    record's stored signature status and the stored columns the evidence rules read.

    For a database edited behind the server's back; empty when everything still holds.
    """
    problems: list[str] = []
    key = run.station.public_key
    try:
        data = json.loads(run.raw_body)
    except ValueError:
        return [f"run {run.report_id}: the stored report is not JSON"]
    if not isinstance(data, dict):
        return [f"run {run.report_id}: the stored report is not a JSON object"]
    if hashlib.sha256(canonical_json(data)).hexdigest() != run.content_sha256:
        problems.append(f"run {run.report_id}: the stored report does not match its hash")
    if run.signature_status == VALID:
        sig = data.get("signature") or {}
        value = sig.get("value", "") if isinstance(sig, dict) else ""
        if not key or not verify(data, str(value), key):
            problems.append(f"run {run.report_id}: the report signature no longer verifies")
    signed = {}
    for raw in data.get("erasures") or []:
        checked = record_status(raw, key)
        if checked is not None:
            signed[checked[0]] = (checked[1], ErasureRecord.model_validate(raw))
    for row in run.erasures.all():
        rid = str(row.record_id)
        status, record = signed.get(rid, (UNSIGNED, None))
        if row.signature_status == VALID and status != VALID:
            problems.append(f"record {rid}: stored as valid, the signature is {status}")
        if record is not None:
            stored = {f: getattr(row, f) for f in _FIELDS}
            said = {
                "disk_serial": _stored_text(record.disk_serial),
                "method": _stored_text(record.method),
                "result": record.result.value,
                "verification_passed": record.verification_passed,
            }
            for name in _FIELDS:
                if stored[name] != said[name]:
                    problems.append(
                        f"record {rid}: {name} is {stored[name]!r}, signed {said[name]!r}"
                    )
        elif row.signature_status == VALID:
            problems.append(f"record {rid}: stored as valid, not in the signed report")
    return problems


def recheck_all() -> Iterator[str]:
    """Every stored report checked again (``digibench-server verify-signatures``)."""
    from server.ingest.models import Run

    runs = Run.objects.select_related("station").prefetch_related("erasures").order_by("pk")
    for run in runs.iterator(chunk_size=500):
        yield from recheck(run)
