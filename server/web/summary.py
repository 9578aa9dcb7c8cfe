"""Keeping ``DeviceStatus`` in step with the reports.

The ingest service sends ``run_stored`` inside the report's transaction, once
every row of the run is stored: the refresh sees them all and commits or rolls
back with the report. It locks the laptop's row before the report's audit event
takes the chain's head, as a coordinator's action does (rows first, the audit
chain last: server/ingest/audit_chain.py), so the two wait for each other in turn
and never in a circle.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.db import transaction

from server.ingest.models import Device, Run
from server.web import vocabulary
from server.web.models import BatchItem, DeviceStatus, ErasureState, TagConflict

log = logging.getLogger("server.web")


def on_run_stored(sender: type, run: Run, **kwargs: Any) -> None:
    try:
        refresh(run.device)  # its own savepoint: a failure here never loses the report
    except Exception:
        # The report is what matters; `refresh_device_status` rebuilds the list row later.
        log.exception("could not update the device list for report %s", run.report_id)


def erasure_state(run: Run) -> str:
    records = list(run.erasures.all())
    if not records:
        return ErasureState.NONE
    results = {r.result for r in records}
    if "failed" in results:
        return ErasureState.FAILED
    if "erased_with_exceptions" in results:
        return ErasureState.EXCEPTIONS
    if all(r.verification_passed for r in records):
        return ErasureState.VERIFIED
    return ErasureState.UNVERIFIED


#: disk verdicts, worst first: a laptop counts under its worst internal disk
VERDICT_RANK = ("failing", "worn", "unknown", "healthy")
#: erasure results that wiped the disk (with exceptions too): the four-eyes sample's base
ERASED_RESULTS = ("erased", "erased_with_exceptions")


def worst_verdict(verdicts: list[str]) -> str:
    ranked = [v for v in VERDICT_RANK if v in verdicts]
    return ranked[0] if ranked else ""


def _disk_summary(run: Run) -> tuple[str, int | None, int]:
    """The latest run's worst disk verdict, highest wear and number of wiped disks."""
    internal = [d for d in run.disks.all() if d.internal]
    wear = [d.percentage_used for d in internal if d.percentage_used is not None]
    erased = sum(1 for e in run.erasures.all() if e.result in ERASED_RESULTS)
    return worst_verdict([d.verdict for d in internal]), max(wear, default=None), erased


def _battery_health(raw: str) -> float | None:
    try:
        data = json.loads(raw)
        value = data["components"]["batteries"][0]["health_percent"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return float(value) if isinstance(value, int | float) else None


def _model(raw: str, device: Device) -> str:
    try:
        dev = json.loads(raw).get("device", {})
        version = dev.get("product_version") or ""
    except (ValueError, AttributeError):
        version = ""
    name = (version or device.product_name).strip()
    vendor = device.vendor.strip()
    # HP and others repeat the vendor in the product name ("HP EliteBook 840 G3").
    if vendor and name.lower().startswith(vendor.lower()):
        vendor = ""
    return " ".join(p for p in (vendor, name) if p)[:300]


#: what ``refresh`` computes from the reports and writes back; never the coordinator's
#: columns (grade override, decision, lending), which a loan, a return or a decision may
#: change between this refresh reading the row and writing it
REPORT_COLUMNS = (
    "asset_tag",
    "serial",
    "model",
    "station",
    "search",
    "last_run",
    "last_run_at",
    "report_finished",
    "report_grade",
    "grade",
    "proposal",
    "erasure",
    "disk_failing",
    "battery_health",
    "disk_verdict",
    "disk_wear",
    "erased_disks",
    "batch",
)


@transaction.atomic
def refresh(device: Device) -> DeviceStatus:
    """Recompute the report-derived columns; the coordinator's decisions stay."""
    # Locked from here to the commit: a coordinator's override or decision waits, or is
    # waited for, and the columns computed from it below are never computed from a stale read.
    status, _ = DeviceStatus.objects.select_for_update().get_or_create(device=device)
    run = Run.objects.filter(device=device).select_related("station").first()
    status.asset_tag = device.asset_tag
    status.serial = device.serial
    status.model = _model(run.raw_body if run else "{}", device)
    if run is not None:
        grade = getattr(run, "grade", None)
        disk_serials = [d.serial for d in run.disks.all()]
        status.last_run = run
        status.last_run_at = run.created_at
        status.station = run.station.name
        status.report_finished = run.finished_at is not None
        status.report_grade = grade.grade if grade else ""
        report_proposal = grade.destination if grade else ""
        status.erasure = erasure_state(run)
        status.disk_failing = run.disks.filter(verdict="failing").exists()
        status.battery_health = _battery_health(run.raw_body)
        status.disk_verdict, status.disk_wear, status.erased_disks = _disk_summary(run)
    else:
        disk_serials = []
        report_proposal = ""
        status.disk_verdict, status.disk_wear, status.erased_disks = "", None, 0
    status.grade = status.grade_override or status.report_grade
    # An overridden grade makes its own proposal (C -> B: repair becomes lend).
    status.proposal = (
        vocabulary.proposal_for(status.grade_override) if status.grade_override else report_proposal
    )
    status.search = " ".join([device.asset_tag, device.serial, status.model, *disk_serials]).lower()
    item = (
        BatchItem.objects.filter(asset_tag=device.asset_tag).first() if device.asset_tag else None
    )
    status.batch_id = item.batch_id if item else None
    # only these columns: a report upload racing with a loan or a return must not write
    # back the lending status it read before the coordinator changed it
    status.save(update_fields=REPORT_COLUMNS)
    note_conflicts(device)
    return status


def note_conflicts(device: Device) -> None:
    """Store a conflict for every other device (other hardware) already under this tag.

    Keyed by the ordered pair, so a repeated upload or rebuild stores nothing new.
    """
    if not device.asset_tag:
        return
    for other in Device.objects.filter(asset_tag=device.asset_tag).exclude(pk=device.pk):
        low, high = sorted((device.pk, other.pk))
        TagConflict.objects.get_or_create(asset_tag=device.asset_tag, device_id=low, other_id=high)
