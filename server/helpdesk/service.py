"""Storing a helpdesk (check-mode) report as a visit, apart from the donated inventory.

Called by the ingest API for every report whose mode is ``check``: such a
report never becomes a Device or a Run (server/ingest/service.py says so where
it branches). The visit keeps only the diagnosis (:class:`Diagnosis`); the
same report UUID with the same content is a retry, with other content a conflict.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from agent.helpdesk_summary import Diagnosis, diagnose
from agent.policy import load_policy
from agent.report.schema import Report
from server.helpdesk.models import HelpdeskVisit
from server.ingest.models import Station

log = logging.getLogger("server.helpdesk")


class VisitConflict(Exception):
    """The UUID is stored with other content, or came from another station."""


@dataclass(frozen=True)
class StoredVisit:
    visit: HelpdeskVisit
    created: bool


def _serials(report: Report) -> list[str]:
    """Every serial number in the report: none of them is kept for a resident's laptop."""
    d = report.device
    found = [d.serial, d.chassis_serial, d.board_serial]
    found += [disk.serial for disk in report.components.disks]
    found += [bat.serial for bat in report.components.batteries]
    found += [
        m.serial for m in (report.components.memory.modules if report.components.memory else [])
    ]
    return sorted({s for s in found if s and len(s) >= 4}, key=len, reverse=True)


def _scrub(text: str, serials: list[str]) -> str:
    for serial in serials:
        text = text.replace(f" ({serial})", "").replace(serial, "")
    return text


def diagnosis_of(report: Report) -> Diagnosis:
    """What the summary says (OS fit judged with the shipped policy), without serial numbers."""
    serials = _serials(report)
    d = diagnose(report, load_policy())
    findings = [
        r.model_copy(
            update={
                "message": _scrub(r.message, serials),
                "params": {
                    k: _scrub(v, serials) if isinstance(v, str) else v for k, v in r.params.items()
                },
            }
        )
        for r in d.findings
    ]
    return d.model_copy(update={"findings": findings})


def store_visit(station: Station, report: Report, digest: str) -> StoredVisit:
    existing = HelpdeskVisit.objects.filter(report_id=report.report_id).first()
    if existing is None:
        try:
            with transaction.atomic():
                visit = HelpdeskVisit.objects.create(
                    report_id=report.report_id,
                    station=station,
                    label=(report.asset_tag or "?")[:256],
                    visited_at=report.finished_at or report.created_at,
                    content_sha256=digest,
                    diagnosis=diagnosis_of(report).model_dump(mode="json"),
                )
        except IntegrityError:
            existing = HelpdeskVisit.objects.filter(report_id=report.report_id).first()
            if existing is None:
                raise
        else:
            log.info("stored helpdesk visit %s from %s", visit.report_id, station.name)
            return StoredVisit(visit, True)
    if existing.station_id != station.pk or existing.content_sha256 != digest:
        raise VisitConflict(str(existing.report_id))
    return StoredVisit(existing, False)


def visit_diagnosis(visit: HelpdeskVisit) -> Diagnosis:
    return Diagnosis.model_validate(visit.diagnosis)
