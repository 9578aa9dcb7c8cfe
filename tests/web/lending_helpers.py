"""Laptops for the lending tests, stored through the signed ingest path like a station."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.erase.record import sign_record
from agent.report.samples import sample_report
from agent.report.schema import Report
from agent.uplink.signed import report_json, sign_report


def intake(
    n: int,
    key: Ed25519PrivateKey,
    station: str,
    *,
    at: datetime | None = None,
    edit: Callable[[Report], None] | None = None,
) -> bytes:
    """The signed body of laptop ``n``'s intake: every erasure record signed by the station.

    ``at`` makes it a later intake of the same laptop (a new report id, made at ``at``).
    """
    report = sample_report(n, station=station, report_id=uuid.uuid4() if at else None)
    if at is not None:
        report.created_at = report.finished_at = at
    if edit is not None:
        edit(report)
    report.erasures = [sign_record(e, key) for e in report.erasures]
    return report_json(sign_report(report, key))
