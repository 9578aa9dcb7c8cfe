"""Property: certify, close and lend are allowed exactly when the evidence is there.

The rule is modelled here independently of ``server.web.evidence`` in a few lines,
and random laptops (disks with or without records, results, verification,
signatures, destructions, image, grade) are pushed through the real paths.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from agent.erase.record import sign_record
from agent.report.schema import ErasureResult, Report
from agent.report.vocabulary import Grade
from server.lending import service as lending
from server.lending.models import Borrower
from server.web import batches, certificates
from server.web.models import Batch, BatchItem, DeviceStatus, DiskDestruction, SpotCheck

# Leaning towards good evidence, so that one flaw alone decides often enough.
DISK = st.fixed_dictionaries(
    {
        "record": st.sampled_from([True, True, True, False]),
        "result": st.sampled_from([ErasureResult.ERASED] * 3 + list(ErasureResult)),
        "verified": st.sampled_from([True, True, True, False, None]),
        "signature": st.sampled_from(["valid", "valid", "valid", "invalid", "unsigned"]),
        "destroyed": st.sampled_from([False, False, False, True]),
    }
)
CASE = st.fixed_dictionaries(
    {
        "disks": st.tuples(DISK, DISK),
        "image_verified": st.sampled_from([True, True, False]),
        "grade": st.sampled_from(["A", "B", "C", "parts", "recycle"]),
    }
)


GOOD = {
    "record": True,
    "result": ErasureResult.ERASED,
    "verified": True,
    "signature": "valid",
    "destroyed": False,
}


def _one_flaw(**flaw: Any) -> dict[str, Any]:
    """A laptop whose second disk differs from perfect evidence in ``flaw`` only."""
    disk_flaw = {k: v for k, v in flaw.items() if k in GOOD}
    rest = {k: v for k, v in flaw.items() if k not in GOOD}
    return {
        "disks": (GOOD, {**GOOD, **disk_flaw}),
        "image_verified": True,
        "grade": "B",
        **rest,
    }


def proven(case: dict[str, Any]) -> bool:
    return all(
        d["destroyed"]
        or (
            d["record"]
            and d["result"] == ErasureResult.ERASED
            and d["verified"] is True
            and d["signature"] == "valid"
        )
        for d in case["disks"]
    )


def lendable(case: dict[str, Any]) -> bool:
    return proven(case) and case["image_verified"] and case["grade"] in {"A", "B", "C"}


class _Rollback(Exception):
    pass


@pytest.mark.django_db(transaction=False)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=CASE)
@example(case=_one_flaw())
@example(case=_one_flaw(signature="invalid"))
@example(case=_one_flaw(signature="unsigned"))
@example(case=_one_flaw(verified=None))
@example(case=_one_flaw(verified=False))
@example(case=_one_flaw(result=ErasureResult.ERASED_WITH_EXCEPTIONS))
@example(case=_one_flaw(result=ErasureResult.FAILED))
@example(case=_one_flaw(result=ErasureResult.FAILED, destroyed=True))
@example(case=_one_flaw(record=False))
@example(case=_one_flaw(record=False, destroyed=True))
@example(case=_one_flaw(image_verified=False))
@example(case=_one_flaw(grade="recycle"))
@example(case=_one_flaw(grade="parts"))
def test_certify_close_and_lend_iff_the_evidence_is_there(
    case: dict[str, Any],
    coordinator: User,
    store: Callable[..., DeviceStatus],
    station_key: tuple[Any, Any],
) -> None:
    _station, key = station_key

    def edit(report: Report) -> None:
        records = []
        for rec, d in zip(report.erasures, case["disks"], strict=True):
            if not d["record"]:
                continue
            rec = rec.model_copy(
                update={"result": d["result"], "verification_passed": d["verified"]}
            )
            if d["signature"] != "unsigned":
                rec = sign_record(rec, key)
            if d["signature"] == "invalid":
                rec = rec.model_copy(update={"bytes_written": rec.bytes_written + 1})
            records.append(rec)
        report.erasures = records
        report.images[0].verified = case["image_verified"]
        assert report.grade is not None
        report.grade.grade = Grade(case["grade"])

    try:
        with transaction.atomic():
            status = _laptop(case, edit, store, coordinator)
            _check(case, status, coordinator)
            raise _Rollback
    except _Rollback:
        pass


def _laptop(
    case: dict[str, Any],
    edit: Callable[[Report], None],
    store: Callable[..., DeviceStatus],
    user: User,
) -> DeviceStatus:
    status = store(1, edit, sign_records=False)  # the case decides which records are signed
    for disk, d in zip(status.last_run.disks.order_by("id"), case["disks"], strict=True):
        if d["destroyed"]:
            DiskDestruction.objects.create(
                device=status.device, disk_serial=disk.serial, method="shredded", recorded_by=user
            )
    DeviceStatus.objects.filter(pk=status.pk).update(decision="digibank")
    status.refresh_from_db()
    return status


def _check(case: dict[str, Any], status: DeviceStatus, user: User) -> None:
    # certificate
    try:
        certificates.issue_laptop(status, user)
        issued = True
    except certificates.CertificateError:
        issued = False
    assert issued == proven(case), case

    # batch close, with everything else (destination, four-eyes checks) in order
    batch = Batch.objects.create(donor="d", received_on="2026-11-02", created_by=user)
    BatchItem.objects.create(batch=batch, asset_tag=status.asset_tag, added_by=user)
    DeviceStatus.objects.filter(pk=status.pk).update(batch=batch)
    batches.ensure_sample(batch)
    SpotCheck.objects.filter(batch=batch).update(checked_at="2026-11-03T10:00Z", passed=True)
    try:
        batches.close(batch, user)
        closed = True
    except batches.BatchError:
        closed = False
    assert closed == proven(case), case

    # lend, through the lending programme (the only way a laptop goes out)
    borrower = Borrower.objects.create(reference=f"DB-{status.pk}", name="B", consent=True)
    today = timezone.localdate()
    with contextlib.suppress(lending.LendingError):
        lending.lend(
            status.device,
            user,
            borrower=borrower,
            programme="digibank",
            wave=1,
            start=today,
            due=today + timedelta(days=30),
        )
    status.refresh_from_db()
    assert (status.lending == "lent") == lendable(case), case
