"""Checking the stations' signatures on individual erasure records inside a stored report."""

from __future__ import annotations

import json

from pydantic import ValidationError

from agent.report.schema import ErasureRecord
from agent.signing import verify
from server.ingest.models import Run


def erasure_signatures(run: Run) -> dict[str, str]:
    """record_id -> "valid", "invalid", "unsigned" or "no station key"."""
    try:
        records = json.loads(run.raw_body).get("erasures") or []
    except (ValueError, AttributeError):
        return {}
    key = run.station.public_key
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
