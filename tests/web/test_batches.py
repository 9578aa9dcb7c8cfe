"""Donation batches: joining by scan or range, the four-eyes sample, closing rules, certificate."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from agent.signing import verify
from server.web import batches, roles
from server.web.models import Batch, Certificate, DeviceStatus, SpotCheck
from tests.web.conftest import client_for, make_user

XSS = '<script>alert("x")</script>'


def test_expand_tags():
    assert batches.expand_tags("DG-000009..DG-000011\nX1\nX1\n") == [
        "DG-000009",
        "DG-000010",
        "DG-000011",
        "X1",
    ]
    for bad in ("DG-1..EE-3", "DG-5..DG-1", "DG-0..DG-99999"):
        with pytest.raises(batches.BatchError):
            batches.expand_tags(bad)


def _new_batch(c: Client, **kw: Any) -> Batch:
    data = {
        "donor": "Gemeente <b>Gent</b>",
        "received_on": "2026-11-02",
        "expected_count": 3,
        "sample_percent": "5",
    } | kw
    response = c.post("/batches/", data)
    assert response.status_code == 302, response.content
    return Batch.objects.latest("id")


def test_batch_closes_only_when_everything_is_resolved(
    coord_client: Client, store: Callable[..., DeviceStatus], technician: User
):
    for n in (1, 2):
        store(n)
    batch = _new_batch(coord_client)
    coord_client.post(f"/batches/{batch.pk}/tags", {"tags": "DG-000001..DG-000002\nDG-000003"})
    assert DeviceStatus.objects.filter(batch=batch).count() == 2
    page = coord_client.get(f"/batches/{batch.pk}/").content.decode()
    assert "Gemeente &lt;b&gt;Gent&lt;/b&gt;" in page
    assert "scanned, but no report has arrived</strong>: DG-000003" in page
    assert "no final destination decided" in page
    # the dashboard shows the scanned tag without a report among the problems
    assert 'data-problem="missing"' in coord_client.get("/?period=all").content.decode()

    # refused while open
    coord_client.post(f"/batches/{batch.pk}/close")
    batch.refresh_from_db()
    assert batch.closed_at is None

    store(3, lambda r: setattr(r.erasures[1], "disk_model", XSS))
    for n in (1, 2, 3):
        coord_client.post(f"/devices/DG-{n:06d}/destination", {"destination": "digibank"})
    assert not SpotCheck.objects.exists()  # looking at the batch drew nothing
    coord_client.post(f"/batches/{batch.pk}/sample")
    checks = list(SpotCheck.objects.filter(batch=batch))
    assert len(checks) == 1  # 5 % of 6 erased disks, at least one
    # the wiping operator cannot check their own wipe
    operator = make_user("volunteer", roles.TECHNICIAN, first_name="Volunteer")
    client_for(operator).post(f"/batches/{batch.pk}/checks/{checks[0].pk}", {"passed": "1"})
    checks[0].refresh_from_db()
    assert checks[0].checked_at is None
    coord_client.post(f"/batches/{batch.pk}/close")
    batch.refresh_from_db()
    assert batch.closed_at is None
    # a technician records the check, but may not close the batch
    tech = client_for(technician)
    tech.post(f"/batches/{batch.pk}/checks/{checks[0].pk}", {"passed": "1", "remark": "ok"})
    checks[0].refresh_from_db()
    assert checks[0].passed and checks[0].checked_by == technician
    assert tech.post(f"/batches/{batch.pk}/close").status_code == 403
    assert coord_client.get(f"/batches/{batch.pk}/").context["blockers"] == []
    coord_client.post(f"/batches/{batch.pk}/close")
    batch.refresh_from_db()
    assert batch.closed_at is not None

    # the coordinator chose to print the donor's name
    response = coord_client.post(f"/batches/{batch.pk}/certificate", {"print_donor": "1"})
    assert response.status_code == 302
    pdf = coord_client.get(response["Location"])
    assert pdf["Content-Type"] == "application/pdf"
    cert = Certificate.objects.get(batch=batch)
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf.content, capture_output=True, check=True
    ).stdout.decode()
    assert "Gemeente <b>Gent</b>" in text  # drawn literally, not interpreted
    assert XSS in "".join(text.split())  # a table cell may wrap it
    for n in (1, 2, 3):
        assert f"S4EUNX0M{n:07d}" in text and f"S3Z2NB0K{n:07d}" in text
    assert "nvme-format-crypto" in text and "Purge" in text
    assert "3 laptops, 6 disks (6 Purge, 0 Clear): 6 erased, 6 verified" in text
    assert str(cert.id) in text and cert.signature in text.replace("\n", "")
    assert verify(cert.payload, cert.signature, cert.public_key)

    # the public page needs no login, checks the signatures, escapes the strings
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="en")
    page = anonymous.get(f"/verify/{cert.id}/")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'id="verdict" class="ok"' in body and "3 of 3 valid" in body
    assert XSS not in body and "&lt;script&gt;" in body
    assert "Laptops" not in body.split("<main>")[0]  # no staff navigation
    assert "cracked" not in body and "Volunteer" not in body
    # a tampered certificate is flagged
    payload = dict(cert.payload)
    payload["donor"] = "Someone else"
    Certificate.objects.filter(pk=cert.pk).update(payload=payload)
    assert 'class="bad"' in anonymous.get(f"/verify/{cert.id}/").content.decode()
    assert anonymous.get("/verify/00000000-0000-0000-0000-000000000000/").status_code == 404


def test_destroyed_disk_counts_instead_of_an_erasure(
    coord_client: Client, store: Callable[..., DeviceStatus]
):
    from agent.report.schema import ErasureResult

    store(7, lambda r: setattr(r.erasures[1], "result", ErasureResult.FAILED))
    batch = _new_batch(coord_client, expected_count=1)
    coord_client.post(f"/batches/{batch.pk}/tags", {"tags": "DG-000007"})
    coord_client.post("/devices/DG-000007/destination", {"destination": "parts"})
    failed = [(b.laptop, b.problem) for b in batches.blockers(batch) if b.disk]
    # the disk is named with its laptop, the problem in words shared by every such disk
    assert failed == [("DG-000007 (S3Z2NB0K0000007)", "wipe failed")]
    coord_client.post(
        "/devices/DG-000007/destruction", {"disk_serial": "S3Z2NB0K0000007", "method": "shredded"}
    )
    tech = make_user("tina", roles.TECHNICIAN)
    for check in batches.ensure_sample(batch):
        batches.record_check(check, tech, True, "")
    assert batches.blockers(batch) == []


def test_laptop_certificate_and_json(coord_client: Client, store: Callable[..., DeviceStatus]):
    store(9)
    response = coord_client.post("/devices/DG-000009/certificate")
    pdf = coord_client.get(response["Location"]).content
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True).stdout.decode()
    assert "S4EUNX0M0000009" in text and "1 laptops, 2 disks" in text
    record = json.loads(coord_client.get("/devices/DG-000009/record.json").content)
    assert record["asset_tag"] == "DG-000009"
    assert record["runs"][0]["report"]["device"]["serial"] == "PF10000009"


def test_sample_is_at_least_the_configured_share(coord_client: Client):
    five, half = Batch(sample_percent=5), Batch(sample_percent=50)
    assert [batches.sample_size(five, n) for n in (0, 1, 20, 21, 100)] == [0, 1, 1, 2, 5]
    assert batches.sample_size(half, 7) == 4
    data = {"donor": "d", "received_on": "2026-11-02", "expected_count": 1, "sample_percent": "2"}
    assert coord_client.post("/batches/", data).status_code == 200  # form error, no batch
    assert not Batch.objects.exists()
