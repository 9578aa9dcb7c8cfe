"""Helpdesk visits (issue #19): a check-mode report is a resident's own laptop, kept apart.

The report goes through the real ingest API; the visit is not a Device or Run,
so no device list, batch, export or dashboard can show it; the one-page summary
is printed from the server in Dutch, French and English.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from agent.grading import grade_report
from agent.helpdesk_consent import visit_upload
from agent.policy import load_policy
from agent.report.samples import sample_report
from agent.report.schema import (
    DiskVerdict,
    Helpdesk,
    HelpdeskConsent,
    Mode,
    RefreshConfirmation,
    Report,
)
from agent.uplink.signed import report_json, sign_report
from server.helpdesk.models import HelpdeskVisit
from server.ingest import models
from tests.server.conftest import RegisteredStation, stored_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> Client:
    return Client()


def resident_laptop(tag: str = "HD-0031", *, agreed: bool = True) -> Report:
    """What a station uploads after a check; ``agreed``: the resident said yes to both."""
    return visit_upload(checked_laptop(tag, agreed=agreed), load_policy())


def checked_laptop(tag: str = "HD-0031", *, agreed: bool = True) -> Report:
    """The station's own full report of a check (the server should never get all of it)."""
    consent = HelpdeskConsent(diagnosis=agreed, label=agreed)
    report = sample_report(7, asset_tag=tag, report_id=uuid.uuid4()).model_copy(
        update={
            "mode": Mode.CHECK,
            "erasures": [],
            "images": [],
            "helpdesk": Helpdesk(consent=consent),
        },
        deep=True,
    )
    assert report.components.cpu is not None
    report.components.cpu.flags.append("lm")
    health = report.components.disks[1].health
    assert health is not None
    health.verdict = DiskVerdict.FAILING
    report.grade = grade_report(report, load_policy())
    return report


def post(api: Client, st: RegisteredStation, report: Report) -> Any:
    body = report_json(sign_report(report, st.key))
    return api.post("/api/v1/reports", body, content_type="application/json", **st.auth)


def test_a_check_report_is_a_helpdesk_visit_not_an_inventory_laptop(
    api: Client, make_station: Any
) -> None:
    st = make_station()
    before = stored_counts()
    full = checked_laptop()
    report = visit_upload(full, load_policy())
    resp = post(api, st, report)
    assert resp.status_code == 201, resp.content
    ack = resp.json()
    assert ack["device_id"] is None and ack["signature_verified"] is True
    assert ack["location"] == f"/api/v1/helpdesk/visits/{report.report_id}"
    assert stored_counts() == before  # no Device, Run, Disk, Grade, audit row
    (visit,) = HelpdeskVisit.objects.all()
    assert visit.label == "HD-0031" and visit.station == st.station
    kept = str(visit.diagnosis)
    for disk in full.components.disks:  # no serial numbers, no grade, no destination
        assert not disk.serial or disk.serial not in kept
    assert full.device.serial and full.device.serial not in kept
    assert "destination" not in kept and "'grade'" not in kept
    assert post(api, st, report).status_code == 200  # a retry stores nothing new
    assert HelpdeskVisit.objects.count() == 1
    status = api.get(ack["location"], **st.auth)
    assert status.status_code == 200 and status.json()["label"] == "HD-0031"
    assert api.get(ack["location"]).status_code == 401
    assert api.get(f"/api/v1/reports/{report.report_id}", **st.auth).status_code == 404
    found = api.get("/api/v1/devices", {"asset_tag": "HD-0031"}, **st.auth).json()
    assert found == {"devices": []}


def test_a_changed_report_under_the_same_uuid_is_a_conflict(api: Client, make_station: Any) -> None:
    st = make_station()
    report = resident_laptop()
    assert post(api, st, report).status_code == 201
    changed = report.model_copy(update={"asset_tag": "HD-9999"})
    assert post(api, st, changed).status_code == 409
    assert HelpdeskVisit.objects.get().label == "HD-0031"


def test_an_intake_report_still_goes_to_the_inventory(api: Client, make_station: Any) -> None:
    st = make_station()
    resp = post(api, st, sample_report(3, report_id=uuid.uuid4()))
    assert resp.status_code == 201 and resp.json()["device_id"] is not None
    assert models.Run.objects.count() == 1 and HelpdeskVisit.objects.count() == 0


def test_visits_are_not_in_the_device_list_but_on_the_helpdesk_page(
    api: Client, make_station: Any, coord_client: Client
) -> None:
    st = make_station()
    assert post(api, st, resident_laptop("HD-4711")).status_code == 201
    devices = coord_client.get("/").content.decode()
    assert "HD-4711" not in devices
    page = coord_client.get("/helpdesk/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "HD-4711" in page and "LENOVO ThinkPad T480" in page
    assert Client().get("/helpdesk/").status_code == 302  # login first


def _pdf_text(pdf: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-singlefile", str(path), str(tmp_path / name)],
        check=True,
    )
    with Image.open(tmp_path / f"{name}.png") as image:
        assert image.size == (414, 585)  # one A4 page
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return " ".join(out.stdout.decode().split())


def test_the_summary_prints_from_the_server_in_dutch_french_and_english(
    api: Client, make_station: Any, coord_client: Client, tmp_path: Path
) -> None:
    st = make_station()
    report = resident_laptop()
    assert post(api, st, report).status_code == 201
    url = f"/helpdesk/{report.report_id}/samenvatting.pdf"
    texts = {}
    for lang in ("nl", "fr", "en"):
        resp = coord_client.get(url, {"lang": lang})
        assert resp.status_code == 200 and resp["Content-Type"] == "application/pdf"
        texts[lang] = _pdf_text(resp.content, tmp_path, lang)
    assert "De batterij is versleten: de capaciteit is 79 %" in texts["nl"]
    assert "De schijf (500 GB) gaat stuk" in texts["nl"]
    assert "La batterie est usée : sa capacité est de 79 %" in texts["fr"]
    assert "Le disque (500 Go) est en train de lâcher" in texts["fr"]
    assert "remplacer le disque" in texts["fr"]
    assert "The battery is worn: its capacity is 79 %" in texts["en"]
    assert coord_client.get(url, {"lang": "xx"}).status_code == 200  # unknown: Dutch
    assert Client().get(url).status_code == 302


# ---------------------------------------------------------------- consent (issue #19)


def _stripped_events() -> list[models.AuditEvent]:
    return list(models.AuditEvent.objects.filter(action="helpdesk.consent_stripped"))


def test_without_the_residents_yes_only_the_anonymous_minimum_is_kept(
    api: Client, make_station: Any, coord_client: Client
) -> None:
    st = make_station()
    report = resident_laptop("Marie Dupont", agreed=False)
    before = stored_counts()
    assert post(api, st, report).status_code == 201
    assert stored_counts() == before  # nothing to strip, so nothing audited either
    visit = HelpdeskVisit.objects.get()
    assert visit.label == "" and visit.diagnosis is None and visit.erasures == []
    assert visit.consent == {"diagnosis": False, "label": False}
    page = coord_client.get("/helpdesk/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "Marie" not in page and "niet bewaard (de bewoner gaf geen toestemming)" in page
    pdf = coord_client.get(f"/helpdesk/{report.report_id}/samenvatting.pdf")
    assert pdf.status_code == 404  # printed at the helpdesk only


def test_a_hostile_upload_beyond_the_consent_is_stripped_and_audited(
    api: Client, make_station: Any
) -> None:
    """A station that sends the whole report (tag, inventory, grade, serials) and a
    diagnosis while the resident said no: the server keeps none of it and says so."""
    st = make_station()
    full = checked_laptop("Marie 06-12345678", agreed=False)
    agreed = visit_upload(checked_laptop("x", agreed=True), load_policy())
    assert agreed.helpdesk is not None
    hostile = full.model_copy(
        update={"helpdesk": Helpdesk(diagnosis=agreed.helpdesk.diagnosis)}, deep=True
    )
    assert post(api, st, hostile).status_code == 201
    visit = HelpdeskVisit.objects.get()
    assert visit.label == "" and visit.diagnosis is None
    assert visit.consent == {"diagnosis": False, "label": False}
    kept = repr(visit.__dict__)
    assert "Marie" not in kept and "06-12345678" not in kept
    assert full.device.serial and full.device.serial not in kept
    (event,) = _stripped_events()
    assert event.object_id == str(hostile.report_id) and event.actor == f"station:{st.station.name}"
    stripped = event.details["stripped"]
    for name in ("asset_tag", "helpdesk.diagnosis", "device", "components", "grade"):
        assert name in stripped, stripped
    assert "Marie" not in repr(event.details)  # the audit names fields, never their values


def test_a_label_kept_without_consent_inside_the_diagnosis_is_stripped(
    api: Client, make_station: Any
) -> None:
    st = make_station()
    report = resident_laptop("Marie", agreed=True)
    assert report.helpdesk is not None and report.helpdesk.diagnosis is not None
    sneaky = report.model_copy(
        update={
            "asset_tag": None,
            "helpdesk": report.helpdesk.model_copy(
                update={"consent": HelpdeskConsent(diagnosis=True, label=False)}
            ),
        },
        deep=True,
    )
    assert post(api, st, sneaky).status_code == 201
    visit = HelpdeskVisit.objects.get()
    assert visit.label == "" and visit.diagnosis is not None
    assert visit.diagnosis["visit"] == str(sneaky.report_id)[:8] and "Marie" not in str(
        visit.diagnosis
    )
    (event,) = _stripped_events()
    assert event.details["stripped"] == ["helpdesk.diagnosis.visit"]


def test_erasures_without_the_residents_refresh_confirmation_are_not_kept(
    api: Client, make_station: Any
) -> None:
    st = make_station()
    done = sample_report(7)
    report = resident_laptop(agreed=False).model_copy(update={"erasures": done.erasures}, deep=True)
    assert post(api, st, report).status_code == 201
    assert HelpdeskVisit.objects.get().erasures == []
    assert models.ErasureRecord.objects.count() == 0 and models.Run.objects.count() == 0
    (event,) = _stripped_events()
    assert "erasures" in event.details["stripped"]


def test_a_refresh_stays_a_visit_with_the_erasure_evidence(
    api: Client, make_station: Any, coord_client: Client, tmp_path: Path
) -> None:
    st = make_station()
    done = sample_report(7)
    full = checked_laptop("HD-0032", agreed=True)
    assert full.helpdesk is not None
    full = full.model_copy(
        update={
            "erasures": done.erasures,
            "images": done.images,
            "helpdesk": full.helpdesk.model_copy(
                update={
                    "refresh": RefreshConfirmation(
                        files_gone_understood=True, copy_made=True, confirmed_at=done.created_at
                    )
                }
            ),
        },
        deep=True,
    )
    report = visit_upload(full, load_policy())
    before = stored_counts()
    assert post(api, st, report).status_code == 201
    assert stored_counts() == before  # no Device, Run, erasure record or certificate
    visit = HelpdeskVisit.objects.get()
    assert len(visit.erasures) == len(done.erasures) >= 1
    assert all(e["verified"] and e["result"] == "erased" for e in visit.erasures)
    kept = repr(visit.__dict__)
    assert all(e.disk_serial not in kept for e in done.erasures if e.disk_serial)
    page = coord_client.get("/helpdesk/", HTTP_ACCEPT_LANGUAGE="nl").content.decode()
    assert "gewist en gecontroleerd" in page
    resp = coord_client.get(f"/helpdesk/{report.report_id}/samenvatting.pdf", {"lang": "nl"})
    text = _pdf_text(resp.content, tmp_path, "refresh")
    assert "Opfrissing" in text and "is gewist op" in text and "voorgoed weg" in text
    found = api.get("/api/v1/devices", {"asset_tag": "HD-0032"}, **st.auth).json()
    assert found == {"devices": []}


def test_the_dutch_summary_from_the_server_says_battery_time_and_cost(
    api: Client, make_station: Any, coord_client: Client, tmp_path: Path
) -> None:
    st = make_station()
    report = resident_laptop()
    assert post(api, st, report).status_code == 201
    resp = coord_client.get(f"/helpdesk/{report.report_id}/samenvatting.pdf", {"lang": "nl"})
    text = _pdf_text(resp.content, tmp_path, "battery")
    assert "Een nieuwe batterij kost ongeveer 40-90 euro" in text
    assert "ongeveer 5 werkdagen" in text
    assert "met een nieuwe batterij ongeveer" in text and "(een schatting" in text
    assert "Wat we aanraden" in text and "Vervang de schijf" in text
