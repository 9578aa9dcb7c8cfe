"""Checking the stations' signatures on individual erasure records inside a stored report."""

from __future__ import annotations

import hashlib
import json

from pydantic import ValidationError

from agent.report.schema import ErasureRecord
from agent.signing import verify
from server.ingest.models import Run

#: verdicts by (sha256 of the report body, station key): a pure function of both, so a
#: remembered verdict can never be stale; a batch page re-reads 500 reports per view
_SEEN: dict[tuple[bytes, str], dict[str, str]] = {}
_SEEN_MAX = 20_000


def erasure_signatures(run: Run) -> dict[str, str]:
    """record_id -> "valid", "invalid", "unsigned" or "no station key"."""
    key = run.station.public_key
    seen = (hashlib.sha256(run.raw_body.encode()).digest(), key)
    if seen not in _SEEN:
        if len(_SEEN) >= _SEEN_MAX:
            _SEEN.clear()
        _SEEN[seen] = _check(run.raw_body, key)
    return dict(_SEEN[seen])


def _check(raw_body: str, key: str) -> dict[str, str]:
    try:
        records = json.loads(raw_body).get("erasures") or []
    except (ValueError, AttributeError):
        return {}
    found: dict[str, str] = {}
    for raw in records:
        try:
            record = ErasureRecord.model_validate(raw)
        except ValidationError:
            continue
        rid = str(record.record_id)
        if not record.signature:
            found[rid] = "unsigned"
        elif not key:
            found[rid] = "no station key"
        else:
            body = record.model_copy(update={"signature": None}).model_dump(mode="json")
            found[rid] = "valid" if verify(body, record.signature, key) else "invalid"
    return found
