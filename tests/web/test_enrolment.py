"""Pairing a station from the web UI (RFC 8628): codes are short-lived, single-use, bounded
in how fast they can be guessed, approved only by someone allowed to, and audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from agent.signing import public_key_b64
from server.enrolment import service
from server.enrolment.models import Enrolment
from server.ingest.models import AuditEvent, Station
from tests.server.conftest import RegisteredStation
from tests.server.test_post_reports import post, signed_body
from tests.web.conftest import make_user


def _dutch(user: User) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="nl")
    client.force_login(user)
    return client


@pytest.fixture
def admin(db: Any) -> Client:
    return _dutch(make_user("ada", "admin"))


def _start(key: Ed25519PrivateKey, hint: str = "bench-a") -> dict[str, Any]:
    answer = Client().post(
        "/api/v1/enrolments",
        {"public_key": public_key_b64(key), "name_hint": hint},
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    data: dict[str, Any] = answer.json()
    return data


def _poll(device_code: str) -> Any:
    return Client().post(
        "/api/v1/enrolments/token", {"device_code": device_code}, content_type="application/json"
    )


def _approve(admin: Client, user_code: str, name: str) -> Any:
    looked_up = admin.post("/stations/koppelen/", {"code": user_code.lower().replace("-", " ")})
    assert looked_up.status_code == 302, looked_up.content.decode()
    return admin.post(looked_up["Location"], {"name": name, "decision": "approve"})


def test_a_station_is_paired_by_code_and_uploads_signed_reports(admin: Client) -> None:
    key = Ed25519PrivateKey.generate()
    started = _start(key)
    assert started["verification_uri"].endswith("/stations/koppelen/")
    assert len(started["user_code"]) == 9 and started["interval"] == 5
    first = _poll(started["device_code"])
    assert first.status_code == 400 and first.json()["error"] == "authorization_pending"
    page = admin.get(_approve_page(admin, started["user_code"])).content.decode()
    assert started["key_fingerprint"] in page and "Vingerafdruk" in page
    assert _approve(admin, started["user_code"], "bank-werkbank-2").status_code == 302
    Enrolment.objects.update(last_poll_at=None)  # the station waited its interval
    got = _poll(started["device_code"])
    assert got.status_code == 200, got.content
    assert got.json()["station"] == "bank-werkbank-2"
    station = Station.objects.get(name="bank-werkbank-2")
    assert station.public_key == public_key_b64(key)
    registered = RegisteredStation(station, got.json()["token"], key)
    assert post(Client(), signed_body(registered), registered.auth).status_code == 201
    again = _poll(started["device_code"])  # the code is spent
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "station.pairing_approved" in actions and "station.enrolled" in actions


def _paired_answer(admin: Client) -> dict[str, Any]:
    started = _start(Ed25519PrivateKey.generate())
    assert _approve(admin, started["user_code"], "bank-met-image").status_code == 302
    got = _poll(started["device_code"])
    assert got.status_code == 200, got.content
    answer: dict[str, Any] = got.json()
    return answer


def test_the_token_comes_with_the_os_image_when_the_server_has_one(
    admin: Client, settings: Any
) -> None:
    settings.DIGIBENCH_OS_IMAGE_URL = "https://digibench.example.org/images/debian.json"
    answer = _paired_answer(admin)
    assert answer["image_source"] == "https://digibench.example.org/images/debian.json"
    assert answer["token"].startswith("dgb_")


def test_no_os_image_is_handed_out_when_none_is_set(admin: Client, settings: Any) -> None:
    settings.DIGIBENCH_OS_IMAGE_URL = ""
    assert "image_source" not in _paired_answer(admin)


def test_an_os_image_that_is_no_url_stops_the_server_at_start_up(settings: Any) -> None:
    from server.enrolment.apps import os_image_url

    settings.DIGIBENCH_OS_IMAGE_URL = "images/debian.json"
    [error] = os_image_url()
    assert error.id == "digibench.E001" and "http(s) URL" in error.msg
    settings.DIGIBENCH_OS_IMAGE_URL = "http://10.0.0.5/debian.json"
    assert os_image_url() == []


def _approve_page(admin: Client, user_code: str) -> str:
    looked_up = admin.post("/stations/koppelen/", {"code": user_code})
    return str(looked_up["Location"])


def test_a_revoked_station_can_no_longer_upload(admin: Client, make_station: Any) -> None:
    registered = make_station("bench-9")
    assert admin.post(f"/stations/{registered.station.pk}/revoke").status_code == 302
    refused = post(Client(), signed_body(registered), registered.auth)
    assert refused.status_code == 403 and "revoked" in refused.content.decode()
    assert AuditEvent.objects.filter(action="station.revoked", object_id="bench-9").exists()


def test_refused_expired_and_fast_polls(admin: Client) -> None:
    refused = _start(Ed25519PrivateKey.generate())
    location = _approve_page(admin, refused["user_code"])
    admin.post(location, {"decision": "deny"})
    assert _poll(refused["device_code"]).json()["error"] == "access_denied"

    late = _start(Ed25519PrivateKey.generate())
    Enrolment.objects.filter(user_code=late["user_code"].replace("-", "")).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert _poll(late["device_code"]).json()["error"] == "expired_token"
    gone = admin.post("/stations/koppelen/", {"code": late["user_code"]}).content.decode()
    assert "Geen open koppeling heeft die code" in gone

    eager = _start(Ed25519PrivateKey.generate())
    assert _poll(eager["device_code"]).json()["error"] == "authorization_pending"
    fast = _poll(eager["device_code"])
    assert fast.status_code == 429 and fast.json()["error"] == "slow_down"


def test_guessing_codes_is_bounded_per_person(admin: Client) -> None:
    real = _start(Ed25519PrivateKey.generate())
    for _ in range(service.MAX_GUESSES):
        admin.post("/stations/koppelen/", {"code": "BBBB-BBBB"})
    page = admin.post("/stations/koppelen/", {"code": real["user_code"]}).content.decode()
    assert "Te veel foute codes" in page  # even the right code waits now


def test_one_address_cannot_flood_the_server_with_requests(db: Any) -> None:
    for _ in range(service.MAX_OPEN_PER_ADDRESS):
        _start(Ed25519PrivateKey.generate())
    answer = Client().post(
        "/api/v1/enrolments",
        {"public_key": public_key_b64(Ed25519PrivateKey.generate())},
        content_type="application/json",
    )
    assert answer.status_code == 429 and answer.json()["error"] == "slow_down"


@pytest.mark.parametrize(
    "body", [b"not json", b"[]", b'{"public_key": "AAAA"}', b'{"public_key": 5}']
)
def test_bad_requests_get_an_rfc_error(db: Any, body: bytes) -> None:
    answer = Client().post("/api/v1/enrolments", body, content_type="application/json")
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def test_only_admins_pair_and_manage_stations(db: Any, make_station: Any) -> None:
    registered = make_station("bench-3")
    tech = _dutch(make_user("tim", "technician"))
    coord = _dutch(make_user("carla", "coordinator"))
    for client in (tech, coord):
        assert client.get("/stations/koppelen/").status_code == 403
        assert client.post(f"/stations/{registered.station.pk}/revoke").status_code == 403
    assert Station.objects.get(pk=registered.station.pk).revoked_at is None


def test_a_taken_name_is_refused_in_dutch(admin: Client, make_station: Any) -> None:
    make_station("bench-1")
    started = _start(Ed25519PrivateKey.generate())
    page = _approve(admin, started["user_code"], "bench-1").content.decode()
    assert "die geen ander station heeft" in page
    renamed = admin.post(f"/stations/{Station.objects.get(name='bench-1').pk}/rename",
                         {"name": "bench-één"}, follow=True).content.decode()  # fmt: skip
    assert "die geen ander station heeft" in renamed
