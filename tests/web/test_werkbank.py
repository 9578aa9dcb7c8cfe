"""The Werkbank: heartbeats from stations, the laptop that needs a person first."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from server.bench.models import Heartbeat
from tests.server.conftest import RegisteredStation


def beat(station: RegisteredStation, run: uuid.UUID, **fields: Any) -> Any:
    body = {"run_id": str(run), "stage": "wipe", **fields}
    return Client().post("/api/v1/heartbeats", body, content_type="application/json",
                         **station.auth)  # fmt: skip


def _dutch(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="nl")
    client.force_login(user)
    return client


def test_the_laptop_waiting_longest_for_a_person_comes_first(
    make_station: Any, coordinator: User
) -> None:
    bench = make_station("bench-1")
    runs = {tag: uuid.uuid4() for tag in ("DG-1", "DG-2", "DG-3", "DG-4")}
    assert beat(bench, runs["DG-1"], asset_tag="DG-1", percent=40.0, eta_s=600).status_code == 200
    beat(bench, runs["DG-2"], asset_tag="DG-2", stage="confirm", attention="confirm")
    beat(bench, runs["DG-3"], asset_tag="DG-3", stage="flash", percent=90.0, eta_s=30)
    beat(bench, runs["DG-4"], asset_tag="DG-4", stage="tests", attention="tests")
    Heartbeat.objects.filter(asset_tag="DG-4").update(
        waiting_since=timezone.now() - timedelta(minutes=7)
    )
    page = _dutch(coordinator).get("/werkbank/").content.decode()
    order = [page.index(f'data-tag="{t}"') for t in ("DG-2", "DG-4", "DG-3", "DG-1")]
    assert order == sorted(order)  # confirm, then tests (though waiting longer), then ETA
    assert "wissen bevestigen" in page and "wacht op bevestiging om te wissen" in page
    assert "2 laptops hebben iemand nodig." in page
    assert "7:0" in page  # DG-4 has waited seven minutes
    compact = _dutch(coordinator).get("/werkbank/?compact=1").content.decode()
    assert "<progress" not in compact and 'data-tag="DG-2"' in compact


def test_a_heartbeat_updates_its_run_in_place_and_resets_the_wait(make_station: Any) -> None:
    bench = make_station("bench-2")
    run = uuid.uuid4()
    beat(bench, run, asset_tag="DG-9", stage="confirm", attention="confirm")
    first = Heartbeat.objects.get()
    assert first.waiting_since is not None
    beat(bench, run, asset_tag="DG-9", stage="wipe", percent=12.5, eta_s=300)
    row = Heartbeat.objects.get()
    assert (row.stage, row.percent, row.attention, row.waiting_since) == ("wipe", 12.5, "", None)


def test_bad_heartbeats_are_refused(make_station: Any, db: Any) -> None:
    bench = make_station("bench-3")
    run = uuid.uuid4()
    assert beat(bench, run, stage="dancing").status_code == 422
    assert beat(bench, run, attention="panic").status_code == 422
    assert beat(bench, run, percent=101).status_code == 422
    assert beat(bench, run, message_code="<b>").status_code == 422
    anonymous = Client().post("/api/v1/heartbeats", {"run_id": str(run), "stage": "wipe"},
                              content_type="application/json")  # fmt: skip
    assert anonymous.status_code == 401
    assert not Heartbeat.objects.exists()


def test_technicians_see_the_bench_too(make_station: Any, technician: User) -> None:
    assert _dutch(technician).get("/werkbank/").status_code == 200
    assert Client().get("/werkbank/").status_code == 302


def _client(user: User, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def test_a_laptop_in_error_says_which_error_in_the_pages_language(
    make_station: Any, coordinator: User
) -> None:
    bench = make_station("bench-5")
    beat(bench, uuid.uuid4(), asset_tag="DG-51", stage="flash", attention="error",
         message_code="notice.flash_failed")  # fmt: skip
    beat(bench, uuid.uuid4(), asset_tag="DG-52", stage="report", attention="error",
         message_code="notice.stick_gone")  # fmt: skip
    beat(bench, uuid.uuid4(), asset_tag="DG-53", stage="wipe", attention="error",
         message_code="notice.from_a_newer_station")  # fmt: skip
    dutch = _client(coordinator, "nl").get("/werkbank/").content.decode()
    assert "Installeren van het besturingssysteem mislukt</span>" in dutch  # no "{detail}"
    assert "De datapartitie van de stick is weg" in dutch
    assert "een fout waarvoor deze server geen woorden heeft (notice.from_a_newer_station)" in dutch
    assert "notice.flash_failed" not in dutch and "{" not in dutch.split("<table", 1)[1]
    english = _client(coordinator, "en").get("/werkbank/?compact=1").content.decode()
    assert (
        'needs help: an error</strong>: <span class="error-words">Installing the OS failed'
        in english
    )
    french = _client(coordinator, "fr").get("/werkbank/").content.decode()
    assert "L&#x27;installation du système a échoué</span>" in french


def test_the_bench_can_be_narrowed_to_one_station(make_station: Any, coordinator: User) -> None:
    north, south = make_station("bench-north"), make_station("bench-south")
    beat(north, uuid.uuid4(), asset_tag="DG-N1", stage="confirm", attention="confirm")
    beat(south, uuid.uuid4(), asset_tag="DG-S1", stage="wipe", percent=10.0)
    client = _client(coordinator, "nl")
    both = client.get("/werkbank/").content.decode()
    assert 'data-tag="DG-N1"' in both and 'data-tag="DG-S1"' in both
    assert 'href="?station=bench-south"' in both and "alle stations" in both
    south_only = client.get("/werkbank/?station=bench-south").content.decode()
    assert 'data-tag="DG-S1"' in south_only and 'data-tag="DG-N1"' not in south_only
    assert "0 laptops hebben iemand nodig." in south_only
    assert 'href="?compact=1&amp;station=bench-south"' in south_only
    nobody = client.get("/werkbank/?station=bench-west").content.decode()
    assert "Geen laptop op de werkbank." in nobody
