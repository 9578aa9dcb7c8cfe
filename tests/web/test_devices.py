"""Device list and device page: filters, keyset pages, overrides, escaping, permissions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from agent.report.schema import ErasureResult, Report
from server.ingest.models import AuditEvent
from server.web import listing
from server.web.models import DeviceStatus

XSS = '<script>alert("x")</script>'


def evil(report: Report) -> None:
    report.device.product_version = XSS
    report.components.disks[0].model = '=HYPERLINK("http://evil")' + XSS


def test_list_filters_sorts_and_pages_with_keyset_cursors(
    coord_client: Client, store: Callable[..., DeviceStatus], settings: Any
):
    for n in range(1, 8):
        store(n)
    failed = store(8, lambda r: setattr(r.erasures[0], "result", ErasureResult.FAILED))
    page = coord_client.get("/devices/", {"sort": "tag", "dir": "asc"})
    assert page.status_code == 200
    body = page.content.decode()
    assert body.index("DG-000001") < body.index("DG-000002")
    assert coord_client.get("/devices/", {"erasure": "failed"}).context["page"].rows == [failed]
    assert [
        s.asset_tag for s in coord_client.get("/devices/", {"q": "pf10000003"}).context["page"].rows
    ] == ["DG-000003"]
    # disk serials are searchable too
    assert coord_client.get("/devices/", {"q": "s3z2nb0k0000005"}).context["page"].total == 1
    assert coord_client.get("/devices/", {"grade": "nonsense"}).context["page"].total == 0
    assert coord_client.get("/devices/", {"batch": "x"}).context["page"].total == 0

    listing.PAGE_SIZE, old = 3, listing.PAGE_SIZE
    try:
        seen: list[str] = []
        params: dict[str, str] = {"sort": "tag", "dir": "desc"}
        cursors = []
        while True:
            pg = coord_client.get("/devices/", params).context["page"]
            seen += [s.asset_tag for s in pg.rows]
            cursors.append(pg.prev_cursor)
            if not pg.next_cursor:
                break
            params = {"sort": "tag", "dir": "desc", "after": pg.next_cursor}
        assert seen == [f"DG-{n:06d}" for n in range(8, 0, -1)]
        back = coord_client.get("/devices/", {"sort": "tag", "dir": "desc", "before": cursors[-1]})
        assert [s.asset_tag for s in back.context["page"].rows] == [
            "DG-000005",
            "DG-000004",
            "DG-000003",
        ]
        # a forged cursor is ignored, not a 500
        assert coord_client.get("/devices/", {"after": "!!!", "sort": "batch"}).status_code == 200
    finally:
        listing.PAGE_SIZE = old


def test_device_page_shows_history_and_escapes_report_strings(
    coord_client: Client, store: Callable[..., DeviceStatus]
):
    status = store(1, evil)
    store(1, evil, report_id=None)  # same laptop, same report id: a duplicate, not a new run
    page = coord_client.get(f"/devices/{status.asset_tag}/")
    body = page.content.decode()
    assert page.status_code == 200
    assert XSS not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert "S4EUNX0M0000001" in body and "nvme-format-crypto" in body
    assert "Power_On_Hours" in body  # raw SMART output
    for url in ("/devices/", "/", f"/devices/{status.asset_tag}/record.json"):
        assert XSS not in coord_client.get(url).content.decode()
    assert coord_client.get("/devices/nope/").status_code == 404


def test_grade_override_needs_a_reason_and_is_audited(
    coord_client: Client, store: Callable[..., DeviceStatus]
):
    status = store(2)
    url = f"/devices/{status.asset_tag}/grade"
    coord_client.post(url, {"grade": "C", "reason": " "})
    status.refresh_from_db()
    assert status.grade == "B" and status.grade_override == ""
    coord_client.post(url, {"grade": "C", "reason": "cracked hinge"})
    status.refresh_from_db()
    assert (status.grade, status.report_grade, status.grade_override_reason) == (
        "C",
        "B",
        "cracked hinge",
    )
    event = AuditEvent.objects.get(action="grade.overridden")
    assert event.actor == "user:carla" and event.details["reason"] == "cracked hinge"
    assert event.details["old"] == "B" and event.details["new"] == "C"
    assert "cracked hinge" in coord_client.get("/audit/").content.decode()
    # a later report keeps the coordinator's decision
    store(2, report_id=None)
    status.refresh_from_db()
    assert status.grade == "C"


def test_destination_and_notes_and_no_lending_without_a_loan(
    coord_client: Client, store: Callable[..., DeviceStatus]
):
    status = store(3)
    key = status.asset_tag
    assert not status.destination_final and status.decision == ""
    coord_client.post(f"/devices/{key}/destination", {"destination": "digileen", "reason": ""})
    status.refresh_from_db()
    assert (status.decision, status.destination_final) == ("digileen", True)
    # The old web path that marked a laptop lent without a Loan is gone: lending goes only
    # through server/lending, so the status is what the loans say.
    for value in ("lent", "returned", "needs_rewipe", "in_stock"):
        response = coord_client.post(f"/devices/{key}/lending", {"lending": value})
        assert response.status_code in (301, 404, 405)  # APPEND_SLASH: a GET page at most
        response = coord_client.post(f"/laptop/{status.pk}/lending", {"lending": value})
        assert response.status_code in (404, 405)
    status.refresh_from_db()
    assert status.lending == "in_stock"
    coord_client.post(f"/devices/{key}/note", {"text": "charger missing <b>"})
    body = coord_client.get(f"/devices/{key}/").content.decode()
    assert "charger missing &lt;b&gt;" in body
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"destination.decided", "note.added"} <= actions
    assert "lending.changed" not in actions


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/devices/DG-000004/grade", {"grade": "C", "reason": "because"}),
        ("/devices/DG-000004/destination", {"destination": "parts"}),
        ("/devices/DG-000004/certificate", {}),
    ],
)
def test_technician_cannot_decide(
    tech_client: Client, store: Callable[..., DeviceStatus], url: str, data: dict[str, str]
):
    status = store(4)
    assert tech_client.get(f"/devices/{status.asset_tag}/").status_code == 200
    assert tech_client.post(url, data).status_code == 403
    status.refresh_from_db()
    assert status.grade == "B" and not status.destination_final
    assert tech_client.get("/devices/export.csv").status_code == 403
    assert tech_client.get("/audit/").status_code == 403


def test_anonymous_sees_only_the_login(client: Client, store: Callable[..., DeviceStatus]):
    store(5)
    for url in (
        "/",
        "/devices/",
        "/devices/DG-000005/",
        "/devices/export.csv",
        "/devices/DG-000005/record.json",
        "/batches/",
        "/audit/",
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/")
    assert client.post("/devices/DG-000005/grade", {"grade": "C", "reason": "x"}).status_code == 302
    assert DeviceStatus.objects.get(asset_tag="DG-000005").grade == "B"


def test_erasure_record_signatures_are_checked(
    coord_client: Client, store: Callable[..., DeviceStatus], station_key: tuple[Any, Any]
):
    from agent.erase.record import sign_record

    _station, key = station_key

    def signed(report: Report) -> None:
        good = sign_record(report.erasures[0], key)
        forged = sign_record(report.erasures[1], key).model_copy(update={"method": "zero-fill"})
        report.erasures = [good, forged]

    status = store(6, signed)
    page = coord_client.get(f"/devices/{status.asset_tag}/")
    rows = {e.method: sig for e, sig in page.context["runs"][0]["erasures"]}
    assert rows == {"nvme-format-crypto": "valid", "zero-fill": "invalid"}


def test_asset_tags_with_slashes_open_and_act(
    coord_client: Client, store: Callable[..., DeviceStatus]
):
    status = store(4, asset_tag="DB/2024/001")
    store(5, asset_tag="DB/2024")  # a tag that is a prefix of the other must not catch it
    listing_body = coord_client.get("/devices/?q=db/2024").content.decode()
    assert f'href="/laptop/{status.device_id}/"' in listing_body
    page = coord_client.get("/devices/DB/2024/001/")
    assert page.status_code == 200 and "DB/2024/001" in page.content.decode()
    assert "PF10000004" in page.content.decode() and "PF10000005" not in page.content.decode()
    assert coord_client.get("/devices/DB%2F2024%2F001/").status_code == 200  # quoted slashes
    assert coord_client.get("/devices/DB/2024/001/record.json").json()["asset_tag"] == (
        "DB/2024/001"
    )
    response = coord_client.post("/devices/DB/2024/001/grade", {"grade": "C", "reason": "dent"})
    assert response.status_code == 302
    assert response["Location"] == f"/laptop/{status.device_id}/"
    status.refresh_from_db()
    assert status.grade == "C"
    assert DeviceStatus.objects.get(asset_tag="DB/2024").grade_override == ""
    # a tag only ever names a tag; the database id lives under /laptop/
    assert coord_client.get(f"/devices/id-{status.device_id}/").status_code == 404
    assert coord_client.get(f"/laptop/{status.device_id}/").status_code == 200
    assert coord_client.get("/devices/DB/2024/").status_code == 200
    assert coord_client.get("/devices/DB/2024/999/").status_code == 404
