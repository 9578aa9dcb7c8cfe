"""Stations renamed, suspended and taken back into use from the web UI: a suspended
station's uploads and heartbeats are refused with a code the station words on screen,
every change is audited, and only people allowed to manage stations may do it."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from agent.report.samples import sample_report
from server.ingest.models import AuditEvent, Station
from server.web import roles
from tests.server.conftest import RegisteredStation
from tests.server.test_post_reports import post, signed_body
from tests.web.conftest import make_user
from tests.web.test_werkbank import beat


def _dutch(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="nl")
    client.force_login(user)
    return client


def _body(bench: RegisteredStation, n: int) -> bytes:
    """A new report each time (the same one again would be a duplicate, not an upload)."""
    return signed_body(bench, sample_report(n, station=bench.station.name))


def _suspend(client: Client, station: Station, on: bool) -> Any:
    return client.post(f"/stations/{station.pk}/suspend", {"suspend": "1" if on else "0"})


def test_a_suspended_station_is_refused_until_resumed(make_station: Any) -> None:
    admin = _dutch(make_user("ada", "admin"))
    bench: RegisteredStation = make_station("bench-5")
    assert post(Client(), _body(bench, 11), bench.auth).status_code == 201

    assert _suspend(admin, bench.station, True).status_code == 302
    bench.station.refresh_from_db()
    assert bench.station.suspended_at is not None
    refused = post(Client(), _body(bench, 12), bench.auth)
    assert refused.status_code == 403
    assert refused.json()["code"] == "station_suspended"
    heartbeat = beat(bench, uuid.uuid4())
    assert heartbeat.status_code == 403 and heartbeat.json()["code"] == "station_suspended"
    page = admin.get("/stations/").content.decode()
    assert "geschorst" in page and "Hervatten" in page
    assert AuditEvent.objects.filter(action="station.suspended", object_id="bench-5").exists()

    assert _suspend(admin, bench.station, False).status_code == 302
    assert post(Client(), _body(bench, 13), bench.auth).status_code == 201
    assert beat(bench, uuid.uuid4()).status_code in (200, 201, 202)
    assert AuditEvent.objects.filter(action="station.resumed", object_id="bench-5").exists()
    assert "Schorsen" in admin.get("/stations/").content.decode()


def test_a_second_click_changes_and_audits_nothing(make_station: Any) -> None:
    admin = _dutch(make_user("ada", "admin"))
    bench = make_station("bench-6")
    _suspend(admin, bench.station, True)
    _suspend(admin, bench.station, True)
    assert AuditEvent.objects.filter(action="station.suspended").count() == 1


def test_a_revoked_station_is_told_by_code(make_station: Any) -> None:
    admin = _dutch(make_user("ada", "admin"))
    bench = make_station("bench-7")
    admin.post(f"/stations/{bench.station.pk}/revoke")
    refused = post(Client(), _body(bench, 14), bench.auth)
    assert refused.status_code == 403 and refused.json()["code"] == "station_revoked"
    assert beat(bench, uuid.uuid4()).json()["code"] == "station_revoked"
    # a revoked station cannot be taken back into use by resuming it
    _suspend(admin, bench.station, False)
    assert post(Client(), _body(bench, 15), bench.auth).status_code == 403


def test_rename_keeps_the_token_and_is_audited(make_station: Any) -> None:
    admin = _dutch(make_user("ada", "admin"))
    bench = make_station("bench-8")
    make_station("bench-taken")
    answer = admin.post(f"/stations/{bench.station.pk}/rename", {"name": "werkbank-zuid"})
    assert answer.status_code == 302
    bench.station.refresh_from_db()
    assert bench.station.name == "werkbank-zuid"
    event = AuditEvent.objects.get(action="station.renamed")
    assert event.object_id == "werkbank-zuid" and event.details["old_name"] == "bench-8"
    assert post(Client(), _body(bench, 16), bench.auth).status_code == 201
    clash = admin.post(f"/stations/{bench.station.pk}/rename", {"name": "bench-taken"},
                       follow=True)  # fmt: skip
    assert "die geen ander station heeft" in clash.content.decode()
    bench.station.refresh_from_db()
    assert bench.station.name == "werkbank-zuid"


def test_only_station_managers_suspend(make_station: Any) -> None:
    bench = make_station("bench-9")
    carla = _dutch(make_user("carla", roles.COORDINATOR))
    assert _suspend(carla, bench.station, True).status_code == 403
    bench.station.refresh_from_db()
    assert bench.station.suspended_at is None
