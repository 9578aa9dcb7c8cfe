"""Nothing is certified, closed or lent without proof: the defects of issue #15, one test each."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from agent.report.schema import ErasureResult, Report
from agent.report.vocabulary import Grade
from server.ingest.models import AuditEvent
from server.lending import service as lending
from server.lending.models import Borrower, Loan
from server.web.models import Batch, Certificate, DeviceStatus, SpotCheck, TagConflict

from .conftest import client_for


def _failed(report: Report) -> None:
    report.erasures[0].result = ErasureResult.FAILED
    report.erasures[0].verification_passed = False


def _exceptions(report: Report) -> None:
    report.erasures[1].result = ErasureResult.ERASED_WITH_EXCEPTIONS


def _messages(response: Any) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def _batch(client: Client, tags: str) -> Batch:
    client.post(
        "/batches/",
        {
            "donor": "Gemeente",
            "received_on": "2026-11-02",
            "expected_count": 1,
            "sample_percent": 5,
        },
    )
    batch = Batch.objects.get()
    client.post(f"/batches/{batch.pk}/tags", {"tags": tags})
    return batch


def _pass_checks(batch: Batch, client: Client) -> None:
    client.get(f"/batches/{batch.pk}/")  # draws the sample
    SpotCheck.objects.filter(batch=batch).update(checked_at="2026-11-03T10:00Z", passed=True)


def test_duplicate_tag_is_a_conflict_that_blocks_the_batch(
    coord_client: Client, store: Callable[..., DeviceStatus]
):
    first = store(1, _failed, asset_tag="DG-DUP")
    second = store(2, asset_tag="DG-DUP")  # other hardware, same sticker
    assert first.pk != second.pk
    conflict = TagConflict.objects.get()
    assert {conflict.device_id, conflict.other_id} == {first.pk, second.pk}
    # a repeated upload stores nothing new
    store(2, asset_tag="DG-DUP")
    assert TagConflict.objects.count() == 1

    batch = _batch(coord_client, "DG-DUP")
    DeviceStatus.objects.filter(batch=batch).update(decision="repair")
    _pass_checks(batch, coord_client)
    blockers = [b.problem for b in coord_client.get(f"/batches/{batch.pk}/").context["blockers"]]
    assert any("wipe failed" in p for p in blockers), blockers
    assert any("also used by another laptop" in p for p in blockers), blockers
    response = coord_client.post(f"/batches/{batch.pk}/close")
    batch.refresh_from_db()
    assert batch.closed_at is None
    assert "wipe failed" in _messages(response)

    # everybody sees it: dashboard, both laptops, and the tag lists both to choose from
    assert 'data-problem="conflict"' in coord_client.get("/?period=all").content.decode()
    for status in (first, second):
        assert 'id="conflict"' in coord_client.get(f"/laptop/{status.pk}/").content.decode()
    choice = coord_client.get("/devices/DG-DUP/")
    assert choice.status_code == 300
    body = choice.content.decode()
    assert f'href="/laptop/{first.pk}/"' in body and f'href="/laptop/{second.pk}/"' in body
    # an action posted to the ambiguous tag hits nobody
    assert coord_client.post(
        "/devices/DG-DUP/grade", {"grade": "C", "reason": "x"}
    ).status_code == (409)
    assert not DeviceStatus.objects.filter(grade_override="C").exists()

    # retagging the failed one resolves the conflict, audited
    coord_client.post(f"/laptop/{first.pk}/retag", {"asset_tag": "DG-DUP-2"})
    conflict.refresh_from_db()
    assert conflict.resolved_at is not None
    assert AuditEvent.objects.filter(action="device.retagged", object_id=str(first.pk)).exists()
    assert coord_client.get("/devices/DG-DUP/").status_code == 200


def test_merge_only_when_same_hardware(coord_client: Client, store: Callable[..., DeviceStatus]):
    first = store(1, asset_tag="DG-M")

    def same_disks_other_board(report: Report) -> None:
        # a mainboard swap: new DMI serial, but the disks of laptop 1
        template = __import__("agent.report.samples", fromlist=["x"]).sample_report(1)
        report.components.disks = template.components.disks
        report.erasures = template.erasures

    second = store(2, same_disks_other_board, asset_tag="DG-M")
    third = store(3, asset_tag="DG-M")
    coord_client.post(f"/laptop/{first.pk}/merge", {"other": str(third.pk)})
    assert DeviceStatus.objects.filter(pk=third.pk).exists()  # different machines: refused
    coord_client.post(f"/laptop/{first.pk}/merge", {"other": str(second.pk)})
    assert not DeviceStatus.objects.filter(pk=second.pk).exists()
    assert AuditEvent.objects.filter(action="device.merged").exists()
    assert TagConflict.objects.filter(resolved_at__isnull=True).count() == 1  # 1 vs 3 remains


def test_no_certificate_for_wipes_with_exceptions_or_failed(
    coord_client: Client, store: Callable[..., DeviceStatus]
):
    for n, edit, words in ((1, _exceptions, "erased with exceptions"), (2, _failed, "wipe failed")):
        status = store(n, edit)
        response = coord_client.post(f"/laptop/{status.pk}/certificate")
        assert response.status_code == 302 and response["Location"] == f"/laptop/{status.pk}/"
        assert words in _messages(response)
        assert not Certificate.objects.exists()
        page = coord_client.get(f"/laptop/{status.pk}/").content.decode()
        assert words in page  # the laptop page says what is missing


def test_batch_certificate_refused_while_a_laptop_lacks_proof(
    coord_client: Client, coordinator: Any, store: Callable[..., DeviceStatus]
):
    store(1)
    store(2, _failed)
    batch = _batch(coord_client, "DG-000001\nDG-000002")
    # even a batch closed behind the rules' back gets no certificate
    Batch.objects.filter(pk=batch.pk).update(closed_at="2026-11-03T10:00Z", closed_by=coordinator)
    response = coord_client.post(f"/batches/{batch.pk}/certificate")
    assert "DG-000002" in _messages(response) and "wipe failed" in _messages(response)
    assert not Certificate.objects.exists()


def _borrower() -> Borrower:
    return Borrower.objects.create(
        reference=f"DB-{Borrower.objects.count() + 1}", name="Test Borrower", consent=True
    )


def _lend(status: DeviceStatus, user: Any) -> list[str]:
    """Lend through server/lending, the only way a laptop goes out; the refusal's words."""
    today = timezone.localdate()
    try:
        lending.lend(
            status.device,
            user,
            borrower=_borrower(),
            programme="digibank",
            wave=1,
            start=today,
            due=today + timedelta(days=30),
        )
    except lending.LendingError as exc:
        return exc.problems
    return []


def test_lending_needs_proof(
    coord_client: Client, coordinator: Any, store: Callable[..., DeviceStatus]
):
    failed = store(1, _failed)
    recycle = store(2, lambda r: setattr(r.grade, "grade", Grade.RECYCLE))
    for status, words in ((failed, "wipe failed"), (recycle, "does not allow lending")):
        assert any(words in p for p in _lend(status, coordinator))
        status.refresh_from_db()
        assert status.lending == "in_stock" and not Loan.objects.filter(device_id=status.pk)
        # nor can a lending destination be decided for it
        response = coord_client.post(
            f"/laptop/{status.pk}/destination", {"destination": "digibank"}
        )
        status.refresh_from_db()
        assert not status.destination_final
        assert words in _messages(response)


def test_returned_laptop_is_lent_again_only_after_a_new_wipe(
    coordinator: Any, store: Callable[..., DeviceStatus]
):
    status = store(3)
    assert _lend(status, coordinator) == []
    lending.check_in(Loan.objects.get(device_id=status.pk), coordinator, condition="good")
    problems = _lend(status, coordinator)
    status.refresh_from_db()
    assert status.lending == "returned"
    assert any("since the return" in p for p in problems)
    # a report made before the return (say, one that waited in a station's outbox) and
    # delivered only now proves nothing about the returned laptop
    store(3, report_id=uuid.uuid4())
    assert _lend(status, coordinator) != []
    status.refresh_from_db()
    assert status.lending == "returned"

    def rewiped_now(report: Report) -> None:
        report.created_at = report.finished_at = datetime.now(UTC)

    store(3, rewiped_now, report_id=uuid.uuid4())  # re-wiped on the bench after the return
    assert _lend(status, coordinator) == []
    status.refresh_from_db()
    assert status.lending == "lent"


def test_tag_urls_never_reach_a_laptop_by_database_id(
    coord_client: Client, store: Callable[..., DeviceStatus]
):
    victim = store(1)
    tagged = store(2, asset_tag=f"id-{victim.pk}")
    page = coord_client.get(f"/devices/id-{victim.pk}/")
    assert page.status_code == 200 and page.context["status"].pk == tagged.pk
    coord_client.post(f"/devices/id-{victim.pk}/grade", {"grade": "C", "reason": "dent"})
    victim.refresh_from_db()
    tagged.refresh_from_db()
    assert (victim.grade, tagged.grade) == ("B", "C")
    assert coord_client.get(f"/laptop/{victim.pk}/").context["status"].pk == victim.pk


def test_huge_ids_are_404(coord_client: Client, store: Callable[..., DeviceStatus]):
    store(1)
    for url in (
        "/devices/id-99999999999999999999/",
        "/laptop/99999999999999999999/",
        "/laptop/0/",
        "/devices/id-99999999999999999999/record.json",
    ):
        assert coord_client.get(url).status_code == 404, url


def test_verify_page_says_result_organisation_and_withdrawal(
    coord_client: Client, coordinator: Any, store: Callable[..., DeviceStatus], settings: Any
):
    settings.DIGIBENCH_ORGANISATION = "Stichting Digi"
    status = store(1)
    coord_client.post(f"/laptop/{status.pk}/certificate")
    cert = Certificate.objects.get()
    public = Client(HTTP_ACCEPT_LANGUAGE="nl")
    page = public.get(f"/verify/{cert.id}/").content.decode()
    assert "Stichting Digi" in page and "S4EUNX0M0000001" in page
    assert 'class="ok"' in page
    # replaced: the old page names the new certificate
    coord_client.post(f"/certificates/{cert.id}/revoke", {"reason": "typo", "reissue": "1"})
    new = Certificate.objects.exclude(pk=cert.pk).get()
    old_page = public.get(f"/verify/{cert.id}/").content.decode()
    assert "vervangen door" in old_page and str(new.id) in old_page
    # withdrawn without replacement
    coord_client.post(f"/certificates/{new.id}/revoke", {"reason": "laptop stolen"})
    page = public.get(f"/verify/{new.id}/").content.decode()
    assert "ingetrokken" in page and "Echt" not in page
    assert AuditEvent.objects.filter(action="certificate.revoked").count() == 2
    # a reason is required
    third = client_for(coordinator).post(f"/laptop/{status.pk}/certificate")
    assert third.status_code == 302
    latest = Certificate.objects.order_by("-issued_at").first()
    assert latest is not None
    coord_client.post(f"/certificates/{latest.id}/revoke", {"reason": " "})
    latest.refresh_from_db()
    assert latest.revoked_at is None


def test_donor_name_only_when_chosen(
    coord_client: Client, coordinator: Any, store: Callable[..., DeviceStatus]
):
    store(1)
    coord_client.post(
        "/batches/",
        {
            "donor": "Jan Jansen",
            "received_on": "2026-11-02",
            "expected_count": 1,
            "sample_percent": 5,
        },
    )
    batch = Batch.objects.get()
    coord_client.post(f"/batches/{batch.pk}/tags", {"tags": "DG-000001"})
    Batch.objects.filter(pk=batch.pk).update(closed_at="2026-11-03T10:00Z", closed_by=coordinator)
    coord_client.post(f"/batches/{batch.pk}/certificate")
    cert = Certificate.objects.get()
    page = Client().get(f"/verify/{cert.id}/").content.decode()
    assert "Jan Jansen" not in page and "Jansen" not in str(cert.payload)


def test_a_later_report_with_its_own_tag_ends_the_conflict(
    coord_client: Client, store: Callable[..., DeviceStatus]
):
    first = store(1, asset_tag="DG-X")
    store(2, asset_tag="DG-X")
    assert coord_client.get(f"/laptop/{first.pk}/").context["conflicts"]
    store(1, asset_tag="DG-000001", report_id=uuid.uuid4())  # relabelled on the bench
    assert not coord_client.get(f"/laptop/{first.pk}/").context["conflicts"]
    assert coord_client.get("/devices/DG-X/").status_code == 200
