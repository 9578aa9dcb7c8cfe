"""GET /api/v1/reports/{uuid}: the stored report, verbatim, with its signature status."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from agent.report.samples import sample_report
from agent.uplink.signed import report_json, sign_report
from tests.server.conftest import RegisteredStation


@pytest.fixture
def stored(api: Client, station: RegisteredStation) -> dict[str, Any]:
    body = report_json(sign_report(sample_report(1), station.key))
    resp = api.post("/api/v1/reports", body, content_type="application/json", **station.auth)
    assert resp.status_code == 201
    return {"id": resp.json()["report_id"], "body": body}


@pytest.mark.django_db
def test_station_reads_back_the_report(api: Client, station: RegisteredStation, stored: Any):
    resp = api.get(f"/api/v1/reports/{stored['id']}", **station.auth)
    assert resp.status_code == 200
    out = resp.json()
    assert out["signature_status"] == "valid"
    assert out["station"] == "bench-1"
    assert out["report"] == json.loads(stored["body"])


@pytest.mark.django_db
def test_staff_session_reads_it_too(api: Client, stored: Any):
    user = User.objects.create_user("coord", password="pw-coord-1", is_staff=True)
    api.force_login(user)
    assert api.get(f"/api/v1/reports/{stored['id']}").status_code == 200


@pytest.mark.django_db
def test_non_staff_and_anonymous_are_401(api: Client, stored: Any):
    assert api.get(f"/api/v1/reports/{stored['id']}").status_code == 401
    api.force_login(User.objects.create_user("someone", password="pw-x-12345"))
    assert api.get(f"/api/v1/reports/{stored['id']}").status_code == 401


@pytest.mark.django_db
def test_revoked_station_is_403(api: Client, station: RegisteredStation, stored: Any):
    station.station.revoked_at = timezone.now()
    station.station.save()
    assert api.get(f"/api/v1/reports/{stored['id']}", **station.auth).status_code == 403


@pytest.mark.django_db
def test_unknown_and_malformed_ids(api: Client, station: RegisteredStation):
    assert api.get(f"/api/v1/reports/{uuid.uuid4()}", **station.auth).status_code == 404
    assert api.get("/api/v1/reports/not-a-uuid", **station.auth).status_code == 422
