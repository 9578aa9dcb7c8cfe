"""Storing one report exactly once, whatever the network does.

The report UUID is the idempotency key: the same UUID with the same content is
acknowledged again without storing anything; with other content it is a
conflict. A unique constraint plus one transaction makes that hold for
concurrent identical uploads too: the loser of the race gets IntegrityError,
rolls back and answers like a retry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from pydantic import ValidationError

from agent.report.schema import DiskFigures, Mode, Report
from agent.signing import canonical_json, verify
from server.helpdesk.models import HelpdeskVisit
from server.helpdesk.service import VisitConflict, store_visit
from server.ingest import models, record_signatures
from server.ingest.identity import identity_key, usable_serial, usable_uuid
from server.ingest.schemas import IncomingReport
from server.ingest.signals import run_stored

log = logging.getLogger("server.ingest")

_BIGINT_MAX = 2**63 - 1


class Outcome(StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"


@dataclass(frozen=True)
class IngestResult:
    outcome: Outcome
    #: None for a helpdesk visit (a check-mode report), which is no Run
    run: models.Run | None
    visit: HelpdeskVisit | None = None
    #: the visit's signature status (a Run keeps its own)
    signature: str = ""


class IngestRejected(Exception):
    """The report is refused; ``status`` and ``body`` are the HTTP answer."""

    def __init__(self, status: int, code: str, detail: Any, **extra: Any) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.body: dict[str, Any] = {"code": code, "detail": detail, **extra}


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} is out of range")
    return value


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON object in ``body``, or IngestRejected (413, 400, 422)."""
    if len(body) > settings.DIGIBENCH_MAX_REPORT_BYTES:
        raise too_large()
    try:
        data = json.loads(
            body.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise IngestRejected(400, "invalid_json", f"the body is not UTF-8 JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise IngestRejected(400, "invalid_json", "the body must be a JSON object (a report)")
    return data


def too_large() -> IngestRejected:
    limit = settings.DIGIBENCH_MAX_REPORT_BYTES
    return IngestRejected(413, "too_large", f"a report may be at most {limit} bytes")


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """Pydantic errors without the (possibly huge) offending input."""
    return [
        {"loc": ["body", *err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


def validate(data: Mapping[str, Any]) -> Report:
    try:
        return IncomingReport.model_validate(data)
    except ValidationError as exc:
        raise IngestRejected(422, "invalid_report", field_errors(exc)) from exc
    except RecursionError as exc:
        raise IngestRejected(422, "invalid_report", "the report is nested too deeply") from exc


def check_station_trusted(station: models.Station) -> None:
    """A station without a registered key is refused unless an admin allowed it."""
    if not station.public_key and not station.allow_unsigned:
        raise IngestRejected(
            403,
            "station_key_missing",
            "this station has no registered public key, so its reports cannot be verified",
            hint="register station.pub: digibench-server add-station NAME --public-key FILE",
        )


def signature_status(
    station: models.Station, data: Mapping[str, Any], report: Report
) -> models.SignatureStatus:
    """Check the signature against the station's registered key; refuse anything unproven.

    A station with a key must sign with exactly that key. Only a key-less station an
    admin marked ``allow_unsigned`` gets through unproven, and its runs say so.
    """
    sig = report.signature
    if station.public_key:
        if sig is None:
            raise IngestRejected(
                422,
                "signature_required",
                "this station has a registered key: its reports must be signed with it",
            )
        if sig.public_key.strip() != station.public_key.strip():
            raise IngestRejected(
                422,
                "signature_wrong_key",
                "the report is signed with a key that is not this station's",
            )
        if not verify(data, sig.value, station.public_key):
            raise IngestRejected(422, "signature_invalid", "the report signature does not verify")
        return models.SignatureStatus.VALID
    check_station_trusted(station)
    if sig is None:
        return models.SignatureStatus.UNSIGNED
    others = models.Station.objects.exclude(pk=station.pk).filter(public_key=sig.public_key.strip())
    if sig.public_key.strip() and others.exists():
        raise IngestRejected(
            422,
            "signature_wrong_key",
            "the report is signed with another station's key",
        )
    # No registered key: the signature can only be self-consistent.
    if not verify(data, sig.value, sig.public_key):
        raise IngestRejected(422, "signature_invalid", "the report signature does not verify")
    return models.SignatureStatus.UNVERIFIED


def content_hash(data: Mapping[str, Any]) -> str:
    try:
        return hashlib.sha256(canonical_json(data)).hexdigest()
    except RecursionError as exc:
        raise IngestRejected(422, "invalid_report", "the report is nested too deeply") from exc


def ingest(station: models.Station, body: bytes) -> IngestResult:
    """Validate, verify and store one report body from ``station``."""
    check_station_trusted(station)
    data = parse_body(body)
    report = validate(data)
    status = signature_status(station, data, report)
    digest = content_hash(data)

    # Issue #19: a check-mode (helpdesk) report is a resident's own laptop. It is kept as a
    # helpdesk visit (server.helpdesk), never as a Device or Run of the donated inventory,
    # so it cannot reach device lists, batches, exports or dashboards.
    if report.mode is Mode.CHECK:
        try:
            stored = store_visit(station, report, digest)
        except VisitConflict as exc:
            raise IngestRejected(
                409,
                "conflict",
                "a different report with this UUID is stored",
                report_id=str(exc),
                location=f"/api/v1/helpdesk/visits/{exc}",
            ) from exc
        outcome = Outcome.CREATED if stored.created else Outcome.DUPLICATE
        return IngestResult(outcome, None, stored.visit, status.value)

    existing = find_run(report.report_id)
    if existing is not None:
        return _repeat(existing, station, digest)
    try:
        with transaction.atomic():
            run = _store(
                station, report, body.decode("utf-8"), digest, status, _record_sigs(station, data)
            )
    except IntegrityError:
        # A concurrent upload of the same UUID won the race.
        existing = models.Run.objects.filter(report_id=report.report_id).first()
        if existing is None:
            raise
        return _repeat(existing, station, digest)
    log.info("stored report %s from %s (%s)", run.report_id, station.name, status)
    return IngestResult(Outcome.CREATED, run)


def _record_sigs(station: models.Station, data: Mapping[str, Any]) -> list[str]:
    """Each erasure record's signature status, in the report's order (checked once, here)."""
    found = []
    for raw in data.get("erasures") or []:
        checked = record_signatures.record_status(raw, station.public_key)
        found.append(checked[1] if checked else record_signatures.UNSIGNED)
    return found


def find_run(report_id: uuid.UUID) -> models.Run | None:
    return models.Run.objects.filter(report_id=report_id).first()


def _repeat(existing: models.Run, station: models.Station, digest: str) -> IngestResult:
    location = f"/api/v1/reports/{existing.report_id}"
    if existing.station_id != station.pk:
        raise IngestRejected(
            409,
            "conflict",
            "a report with this UUID came from another station",
            report_id=str(existing.report_id),
            location=location,
        )
    if existing.content_sha256 != digest:
        raise IngestRejected(
            409,
            "conflict",
            "a different report with this UUID is already stored",
            report_id=str(existing.report_id),
            location=location,
        )
    return IngestResult(Outcome.DUPLICATE, existing)


# --------------------------------------------------------------------------- storing


def _text(value: str | None) -> str:
    """A string any database accepts: no NUL, no lone surrogates."""
    if not value:
        return ""
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {_text(str(k)): _clean(v) for k, v in value.items()}
    return value


def _bigint(value: int, where: str) -> int:
    if value > _BIGINT_MAX:
        raise IngestRejected(
            422, "invalid_report", [{"loc": ["body", *where.split(".")], "msg": "number too large"}]
        )
    return value


def _opt_bigint(value: int | None, where: str) -> int | None:
    return None if value is None else _bigint(value, where)


def _when(value: datetime, where: str) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise IngestRejected(
            422,
            "invalid_report",
            [{"loc": ["body", *where.split(".")], "msg": "date out of range"}],
        ) from exc


def _opt_when(value: datetime | None, where: str) -> datetime | None:
    return None if value is None else _when(value, where)


def _device(report: Report) -> models.Device:
    dev = report.device
    device, _ = models.Device.objects.get_or_create(
        identity_key=_text(identity_key(report)),
        defaults={
            "serial": _text(usable_serial(dev.serial)),
            "dmi_uuid": _text(usable_uuid(dev.uuid)),
            "asset_tag": _text(report.asset_tag),
            "vendor": _text(dev.vendor),
            "product_name": _text(dev.product_name),
        },
    )
    if report.asset_tag and device.asset_tag != _text(report.asset_tag):
        device.asset_tag = _text(report.asset_tag)
    device.save()  # bumps last_seen_at
    return device


def _store(
    station: models.Station,
    report: Report,
    raw: str,
    digest: str,
    status: models.SignatureStatus,
    record_sigs: list[str],
) -> models.Run:
    created_at = _when(report.created_at, "created_at")
    finished_at = _opt_when(report.finished_at, "finished_at")
    run = models.Run.objects.create(
        report_id=report.report_id,
        station=station,
        device=_device(report),
        schema_version=report.schema_version,
        mode=report.mode.value,
        asset_tag=_text(report.asset_tag),
        agent_version=_text(report.station.agent_version),
        created_at=created_at,
        finished_at=finished_at,
        content_sha256=digest,
        raw_body=raw,
        signature_status=status.value,
    )
    disks = []
    for i, disk in enumerate(report.components.disks):
        figures = disk.health.figures if disk.health else DiskFigures()
        where = f"components.disks.{i}"
        disks.append(
            models.Disk(
                run=run,
                name=_text(disk.name),
                model=_text(disk.model),
                serial=_text(disk.serial),
                size_bytes=_bigint(disk.size_bytes, f"{where}.size_bytes"),
                media_type=disk.media_type.value,
                transport=_text(disk.transport),
                internal=disk.internal,
                verdict=disk.health.verdict.value if disk.health else "",
                power_on_hours=_opt_bigint(figures.power_on_hours, where),
                reallocated_sectors=_opt_bigint(figures.reallocated_sectors, where),
                pending_sectors=_opt_bigint(figures.pending_sectors, where),
                percentage_used=_opt_bigint(figures.percentage_used, where),
            )
        )
    models.Disk.objects.bulk_create(disks)
    erasures = []
    for i, rec in enumerate(report.erasures):
        where = f"erasures.{i}"
        erasures.append(
            models.ErasureRecord(
                run=run,
                record_id=rec.record_id,
                disk_serial=_text(rec.disk_serial),
                disk_model=_text(rec.disk_model),
                disk_size_bytes=_bigint(rec.disk_size_bytes, f"{where}.disk_size_bytes"),
                method=_text(rec.method),
                level=rec.level.value,
                result=rec.result.value,
                started_at=_when(rec.started_at, f"{where}.started_at"),
                finished_at=_opt_when(rec.finished_at, f"{where}.finished_at"),
                verification_passed=rec.verification_passed,
                bytes_written=_bigint(rec.bytes_written, f"{where}.bytes_written"),
                signature_status=record_sigs[i],
            )
        )
    models.ErasureRecord.objects.bulk_create(erasures)
    models.ImageRecord.objects.bulk_create(
        models.ImageRecord(
            run=run,
            name=_text(img.name),
            version=_text(img.version),
            sha256=img.sha256,
            target_disk_serial=_text(img.target_disk_serial),
            verified=img.verified,
            bytes_written=_bigint(img.bytes_written, f"images.{i}.bytes_written"),
        )
        for i, img in enumerate(report.images)
    )
    grade = report.grade
    # a lending grade only: the schema lets no inventory report go without one
    if grade is not None and grade.grade is not None and grade.destination is not None:
        models.Grade.objects.create(
            run=run,
            grade=_text(grade.grade),
            destination=grade.destination.value,
            r2_function=_text(grade.r2_function),
            r2_cosmetic=_text(grade.r2_cosmetic),
            policy_version=_text(grade.policy_version),
            reasons=_clean([r.model_dump(mode="json") for r in grade.reasons]),
        )
    models.Station.objects.filter(pk=station.pk).update(last_seen_at=timezone.now())
    run_stored.send(sender=models.Run, run=run)
    # last: the audit chain's head is the last lock a transaction takes (audit_chain.py)
    models.AuditEvent.objects.create(
        actor=f"station:{station.name}",
        action="report.stored",
        object_type="run",
        object_id=str(run.report_id),
        details={"signature": status.value, "sha256": digest, "bytes": len(raw)},
    )
    return run
