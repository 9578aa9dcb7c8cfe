"""POST /api/v1/reports: every documented status, and that refusals store nothing."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.db import connection
from django.test import Client

from agent.report.samples import sample_report
from agent.report.schema import Disk, DiskHealth, DiskVerdict, Report
from agent.uplink.signed import report_json, sign_report
from server.ingest import models, service
from tests.server.conftest import RegisteredStation, stored_counts

URL = "/api/v1/reports"


def post(client: Client, body: bytes | str, auth: dict[str, str]) -> Any:
    return client.post(URL, data=body, content_type="application/json", **auth)


def signed_body(st: RegisteredStation, report: Report | None = None) -> bytes:
    return report_json(sign_report(report or sample_report(1, station=st.station.name), st.key))


@pytest.mark.django_db
def test_new_signed_report_is_stored_with_its_parts(api: Client, station: RegisteredStation):
    body = signed_body(station)
    resp = post(api, body, station.auth)
    assert resp.status_code == 201, resp.content
    ack = resp.json()
    assert ack["status"] == "created"
    assert ack["signature_status"] == "valid"
    run = models.Run.objects.get(report_id=ack["report_id"])
    assert ack["location"] == f"/api/v1/reports/{run.report_id}"
    assert run.raw_body.encode() == body  # verbatim
    assert run.station == station.station
    assert run.device.serial == "PF10000001"
    assert run.device.asset_tag == "DG-000001"
    assert sorted(d.serial for d in run.disks.all()) == ["S3Z2NB0K0000001", "S4EUNX0M0000001"]
    assert {e.method for e in run.erasures.all()} == {"nvme-format-crypto", "ata-security-erase"}
    assert run.images.get().verified is True
    assert (run.grade.grade, run.grade.destination) == ("B", "lend")
    assert run.grade.reasons[0]["code"] == "grade.battery_worn"
    event = models.AuditEvent.objects.get(action="report.stored")
    assert event.object_id == str(run.report_id)


@pytest.mark.django_db
def test_retry_of_the_same_report_is_acknowledged_without_a_duplicate(
    api: Client, station: RegisteredStation
):
    body = signed_body(station)
    assert post(api, body, station.auth).status_code == 201
    before = stored_counts()
    resp = post(api, body, station.auth)
    assert resp.status_code == 200
    assert resp.json()["status"] == "duplicate"
    # Same content, other formatting: still the same report.
    pretty = json.dumps(json.loads(body), indent=2)
    assert post(api, pretty, station.auth).status_code == 200
    assert stored_counts() == before
    assert models.Run.objects.count() == 1


@pytest.mark.django_db
def test_same_uuid_with_other_content_is_a_conflict(api: Client, station: RegisteredStation):
    report = sample_report(1, station="bench-1")
    body = signed_body(station, report)
    assert post(api, body, station.auth).status_code == 201
    before = stored_counts()
    changed = report.model_copy(update={"asset_tag": "DG-999999"})
    resp = post(api, signed_body(station, changed), station.auth)
    assert resp.status_code == 409
    assert resp.json()["location"] == f"/api/v1/reports/{report.report_id}"
    assert stored_counts() == before
    assert models.Run.objects.get().raw_body.encode() == body


@pytest.mark.django_db
def test_same_uuid_from_another_station_is_a_conflict(api: Client, make_station: Any):
    one, two = make_station("bench-1"), make_station("bench-2")
    report = sample_report(1)
    assert post(api, signed_body(one, report), one.auth).status_code == 201
    resp = post(api, signed_body(two, report), two.auth)
    assert resp.status_code == 409
    assert models.Run.objects.get().station == one.station


@pytest.mark.django_db
def test_lost_race_answers_like_a_retry(
    api: Client, station: RegisteredStation, monkeypatch: pytest.MonkeyPatch
):
    """The insert that loses on the unique constraint reads the winner's row."""
    body = signed_body(station)
    assert post(api, body, station.auth).status_code == 201
    monkeypatch.setattr(service, "find_run", lambda report_id: None)
    before = stored_counts()
    assert post(api, body, station.auth).status_code == 200
    other = signed_body(station, sample_report(1).model_copy(update={"asset_tag": "X"}))
    assert post(api, other, station.auth).status_code == 409
    assert stored_counts() == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgresql
def test_concurrent_identical_uploads_store_one_run(station: RegisteredStation):
    body = signed_body(station)
    barrier = threading.Barrier(8)
    codes: list[int] = []

    def upload() -> None:
        try:
            barrier.wait(timeout=30)
            codes.append(post(Client(), body, station.auth).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=upload) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(codes) == [200] * 7 + [201]
    assert models.Run.objects.count() == 1
    assert models.Device.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer nope",
        "Basic dXNlcjpwYXNz",
        "Bearer dgb_aaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    ],
)
def test_unknown_token_is_401(api: Client, station: RegisteredStation, header: str | None):
    auth = {"HTTP_AUTHORIZATION": header} if header else {}
    resp = post(api, signed_body(station), auth)
    assert resp.status_code == 401
    assert stored_counts()["Run"] == 0


@pytest.mark.django_db
def test_token_with_right_prefix_but_wrong_secret_is_401(api: Client, station: RegisteredStation):
    forged = station.token[:13] + "x" * 43
    resp = post(api, signed_body(station), {"HTTP_AUTHORIZATION": f"Bearer {forged}"})
    assert resp.status_code == 401


@pytest.mark.django_db
def test_revoked_token_is_403_and_stores_nothing(api: Client, station: RegisteredStation):
    from django.utils import timezone

    station.station.revoked_at = timezone.now()
    station.station.save()
    before = stored_counts()
    resp = post(api, signed_body(station), station.auth)
    assert resp.status_code == 403
    assert stored_counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"not json", b"[1, 2]", b'"report"', b'{"a": NaN}', b'{"a": 1e999}', b"\xff\xfe{}"],
)
def test_invalid_json_is_400(api: Client, station: RegisteredStation, body: bytes):
    resp = post(api, body, station.auth)
    assert resp.status_code == 400
    assert resp.json()["code"] == "invalid_json"
    assert stored_counts()["Run"] == 0


@pytest.mark.django_db
def test_wrong_types_are_422_with_field_errors(api: Client, station: RegisteredStation):
    data = json.loads(signed_body(station))
    data["mode"] = 42
    data["components"]["disks"][0]["size_bytes"] = "big"
    del data["report_id"]
    resp = post(api, json.dumps(data), station.auth)
    assert resp.status_code == 422
    locs = {tuple(e["loc"]) for e in resp.json()["detail"]}
    assert ("body", "mode") in locs
    assert ("body", "report_id") in locs
    assert ("body", "components", "disks", 0, "size_bytes") in locs
    assert stored_counts()["Run"] == 0


@pytest.mark.django_db
def test_unknown_field_is_422(api: Client, station: RegisteredStation):
    data = json.loads(signed_body(station))
    data["extra"] = True
    resp = post(api, json.dumps(data), station.auth)
    assert resp.status_code == 422
    assert ["body", "extra"] in [e["loc"] for e in resp.json()["detail"]]


@pytest.mark.django_db
def test_ten_megabyte_report_is_413_and_stores_nothing(api: Client, station: RegisteredStation):
    report = sample_report(2)
    big = [
        Disk(
            name=f"sd{c}",
            path=f"/dev/sd{c}",
            size_bytes=1,
            health=DiskHealth(verdict=DiskVerdict.UNKNOWN, raw_smartctl_text="x" * 1_999_000),
        )
        for c in "bcdef"
    ]
    report.components.disks.extend(big)
    body = signed_body(station, report)
    assert len(body) > 10_000_000
    resp = post(api, body, station.auth)
    assert resp.status_code == 413
    assert resp.json()["code"] == "too_large"
    assert stored_counts()["Run"] == 0


@pytest.mark.django_db
def test_forged_signatures_are_422_and_store_nothing(api: Client, station: RegisteredStation):
    report = sample_report(3)
    # 1. signed by another key, claiming the station's public key
    forged = sign_report(report, Ed25519PrivateKey.generate())
    assert forged.signature is not None
    forged = forged.model_copy(
        update={"signature": forged.signature.model_copy(update={"public_key": _pub(station)})}
    )
    # 2. signed by another key, with that key inside
    other_key = sign_report(report, Ed25519PrivateKey.generate())
    # 3. signed by the station, then changed
    tampered = json.loads(signed_body(station, report))
    tampered["grade"]["grade"] = "A"
    before = stored_counts()
    for body, code in (
        (report_json(forged), "signature_invalid"),
        (report_json(other_key), "signature_wrong_key"),
        (json.dumps(tampered), "signature_invalid"),
    ):
        resp = post(api, body, station.auth)
        assert resp.status_code == 422, resp.content
        assert resp.json()["code"] == code
    assert stored_counts() == before


def _pub(st: RegisteredStation) -> str:
    from agent.signing import public_key_b64

    return public_key_b64(st.key)


@pytest.mark.django_db
def test_a_station_with_a_key_must_sign_with_it(api: Client, make_station: Any):
    keyed = make_station("bench-1")
    before = stored_counts()
    resp = post(api, report_json(sample_report(4)), keyed.auth)
    assert resp.status_code == 422
    assert resp.json()["code"] == "signature_required"
    assert stored_counts() == before


@pytest.mark.django_db
def test_a_keyless_station_is_refused_unless_allowed(api: Client, make_station: Any):
    keyed = make_station("bench-1")
    keyless = make_station("bench-2", with_key=False)
    before = stored_counts()
    # signed with another station's key: was 201 "unverified"
    resp = post(api, signed_body(keyed, sample_report(5)), keyless.auth)
    assert resp.status_code == 403
    assert resp.json()["code"] == "station_key_missing"
    assert "add-station" in resp.json()["hint"]
    resp = post(api, report_json(sample_report(6)), keyless.auth)
    assert (resp.status_code, resp.json()["code"]) == (403, "station_key_missing")
    assert stored_counts() == before


@pytest.mark.django_db
def test_an_allowed_unsigned_station_is_flagged_and_cannot_borrow_a_key(
    api: Client, make_station: Any
):
    keyed = make_station("bench-1")
    loose = make_station("bench-2", with_key=False)
    models.Station.objects.filter(pk=loose.station.pk).update(allow_unsigned=True)
    resp = post(api, signed_body(keyed, sample_report(5)), loose.auth)
    assert (resp.status_code, resp.json()["code"]) == (422, "signature_wrong_key")
    resp = post(api, report_json(sample_report(6)), loose.auth)
    assert resp.status_code == 201
    assert resp.json()["signature_status"] == "unsigned"
    assert resp.json()["signature_verified"] is False
    resp = post(api, signed_body(loose, sample_report(7)), loose.auth)
    assert (resp.status_code, resp.json()["signature_status"]) == (201, "unverified")
    assert resp.json()["signature_verified"] is False
    good = post(api, signed_body(keyed, sample_report(8)), keyed.auth).json()
    assert (good["signature_status"], good["signature_verified"]) == ("valid", True)


@pytest.mark.django_db
def test_later_runs_attach_to_the_same_device(api: Client, station: RegisteredStation):
    first = sample_report(6, report_id=uuid.uuid4())
    second = sample_report(6, report_id=uuid.uuid4(), asset_tag="DG-NEW")
    a = post(api, signed_body(station, first), station.auth).json()
    b = post(api, signed_body(station, second), station.auth).json()
    assert a["device_id"] == b["device_id"]
    device = models.Device.objects.get()
    assert device.asset_tag == "DG-NEW"
    assert device.runs.count() == 2


@pytest.mark.django_db
def test_placeholder_serials_do_not_merge_laptops(api: Client, station: RegisteredStation):
    ids = set()
    for n in (7, 8):
        report = sample_report(n, serial="To Be Filled By O.E.M.")
        report.device.uuid = "03000200-0400-0500-0006-000700080009"
        ids.add(post(api, signed_body(station, report), station.auth).json()["device_id"])
    assert len(ids) == 2


@pytest.mark.django_db
def test_values_a_database_cannot_hold_are_handled(api: Client, station: RegisteredStation):
    # Edited bodies cannot be re-signed here: a key-less station an admin allowed unsigned.
    models.Station.objects.filter(pk=station.station.pk).update(public_key="", allow_unsigned=True)
    data = json.loads(report_json(sample_report(9)))
    data["components"]["disks"][0]["size_bytes"] = 2**64
    resp = post(api, json.dumps(data), station.auth)
    assert resp.status_code == 422
    data = json.loads(report_json(sample_report(9)))
    data["created_at"] = "9999-12-31T23:59:59-05:00"
    assert post(api, json.dumps(data), station.auth).status_code == 422
    assert stored_counts()["Run"] == 0
    data = json.loads(report_json(sample_report(9)))
    data["device"]["vendor"] = "LENOVO\ud800"
    assert post(api, json.dumps(data), station.auth).status_code == 422
    assert stored_counts()["Run"] == 0
    # NUL is kept verbatim in the raw body and left out of the extracted fields.
    data = json.loads(report_json(sample_report(9)))
    data["device"]["vendor"] = "LEN\u0000OVO"
    resp = post(api, json.dumps(data), station.auth)
    assert resp.status_code == 201, resp.content
    run = models.Run.objects.get()
    assert run.device.vendor == "LENOVO"
    assert "\\u0000" in run.raw_body
