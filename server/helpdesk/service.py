"""Storing a helpdesk (check-mode) report as a visit, apart from the donated inventory.

Called by the ingest API for every report whose mode is ``check``: such a
report never becomes a Device or a Run (server/ingest/service.py says so where
it branches). The visit keeps only what the resident agreed to
(:mod:`agent.helpdesk_consent`, the station's own rule): whatever an upload
carries beyond its consent is left out, and an audit event names what. The
same report UUID with the same content is a retry, with other content a conflict.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from agent.helpdesk_consent import anonymous_label, uncovered
from agent.report.schema import Diagnosis, ErasureRecord, Helpdesk, Report
from server.helpdesk.models import HelpdeskVisit
from server.ingest.models import AuditEvent, Station

log = logging.getLogger("server.helpdesk")


class VisitConflict(Exception):
    """The UUID is stored with other content, or came from another station."""


@dataclass(frozen=True)
class StoredVisit:
    visit: HelpdeskVisit
    created: bool


def _evidence(record: ErasureRecord) -> dict[str, Any]:
    """A refresh's erasure as the resident's proof: no serial, no tag, no volunteer."""
    return {
        "disk": " ".join(x for x in (record.disk_vendor, record.disk_model) if x)[:256],
        "size_bytes": record.disk_size_bytes,
        "method": record.method,
        "level": record.level.value,
        "result": record.result.value,
        "verified": record.verification_passed is True,
        "coverage_percent": record.verification_coverage_percent,
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
    }


def consented(report: Report) -> dict[str, Any]:
    """The visit's fields: only what the report's consent covers."""
    helpdesk = report.helpdesk or Helpdesk()
    consent = helpdesk.consent
    diagnosis = helpdesk.diagnosis if consent.diagnosis else None
    if diagnosis is not None and not consent.label:
        diagnosis = diagnosis.model_copy(update={"visit": anonymous_label(report)})
    refreshed = helpdesk.refresh is not None
    return {
        "label": (report.asset_tag or "")[:256] if consent.label else "",
        "diagnosis": diagnosis.model_dump(mode="json") if diagnosis is not None else None,
        "consent": consent.model_dump(mode="json"),
        "erasures": [_evidence(r) for r in report.erasures] if refreshed else [],
    }


def store_visit(station: Station, report: Report, digest: str) -> StoredVisit:
    existing = HelpdeskVisit.objects.filter(report_id=report.report_id).first()
    if existing is None:
        stripped = uncovered(report)
        try:
            with transaction.atomic():
                visit = HelpdeskVisit.objects.create(
                    report_id=report.report_id,
                    station=station,
                    visited_at=report.finished_at or report.created_at,
                    content_sha256=digest,
                    **consented(report),
                )
                if stripped:
                    AuditEvent.objects.create(
                        actor=f"station:{station.name}",
                        action="helpdesk.consent_stripped",
                        object_type="helpdesk_visit",
                        object_id=str(report.report_id),
                        details={"stripped": stripped},
                    )
        except IntegrityError:
            existing = HelpdeskVisit.objects.filter(report_id=report.report_id).first()
            if existing is None:
                raise
        else:
            if stripped:
                log.warning(
                    "helpdesk visit %s from %s carried what the resident did not agree to: %s",
                    visit.report_id,
                    station.name,
                    ", ".join(stripped),
                )
            log.info("stored helpdesk visit %s from %s", visit.report_id, station.name)
            return StoredVisit(visit, True)
    if existing.station_id != station.pk or existing.content_sha256 != digest:
        raise VisitConflict(str(existing.report_id))
    return StoredVisit(existing, False)


def visit_diagnosis(visit: HelpdeskVisit) -> Diagnosis | None:
    """The stored summary, or None when the resident did not agree to keep it."""
    return Diagnosis.model_validate(visit.diagnosis) if visit.diagnosis is not None else None
