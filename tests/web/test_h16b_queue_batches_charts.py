"""Review queue, batch progress, charts: grouping, the destroyed-disk fix, no writes on a
GET, no preselected check outcome, and query counts that do not grow with the data."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from agent.report.schema import DiskVerdict, ErasureResult, Report
from server.ingest.models import AuditEvent
from server.web import charts
from server.web.models import Batch, DeviceStatus, SpotCheck

SVG = "{http://www.w3.org/2000/svg}"


def _now(report: Report) -> None:
    report.created_at = datetime.now(UTC)
    report.finished_at = report.created_at


def _section(body: str, reason: str) -> str:
    return body.split(f'data-reason="{reason}"')[1].split("</section>")[0]


def _batch(c: Client, tags: str, expected: int = 1) -> Batch:
    data = {"donor": "Gemeente", "received_on": "2026-11-02", "expected_count": expected}
    assert c.post("/batches/", data | {"sample_percent": "5"}).status_code == 302
    batch = Batch.objects.latest("id")
    c.post(f"/batches/{batch.pk}/tags", {"tags": tags})
    return batch


def test_queue_groups_by_reason_and_destroyed_disks_leave_it(
    coord_client: Client, store: Callable[..., DeviceStatus]
):
    store(1)
    store(2, lambda r: setattr(r.erasures[1], "result", ErasureResult.FAILED))
    store(3, lambda r: setattr(r.components.disks[1].health, "verdict", DiskVerdict.FAILING))
    store(4, lambda r: setattr(r, "finished_at", None))
    coord_client.post("/devices/DG-000001/grade", {"grade": "B", "reason": "scratches"})
    body = coord_client.get("/queue/").content.decode()
    assert "DG-000002" in _section(body, "wipe")
    assert "DG-000003" in _section(body, "disk")
    assert "DG-000004" in _section(body, "unfinished")
    assert "DG-000001" in _section(body, "overridden")
    assert "DG-000001" not in _section(body, "undecided")
    assert "DG-000002" in _section(body, "undecided")
    # the dashboard counts the same reasons
    dash = coord_client.get("/?period=all").context["problems"]
    assert {p["kind"]: p["count"] for p in dash}["wipe"] == 1

    # the failed and the failing disk are physically destroyed: both leave the queue
    for tag, serial in (("DG-000002", "S3Z2NB0K0000002"), ("DG-000003", "S3Z2NB0K0000003")):
        coord_client.post(
            f"/devices/{tag}/destruction", {"disk_serial": serial, "method": "shredded"}
        )
    body = coord_client.get("/queue/").content.decode()
    assert "DG-000002" not in _section(body, "wipe")
    assert "DG-000003" not in _section(body, "disk")
    assert "destroyed" in _section(body, "undecided")
    assert coord_client.get("/devices/?problem=wipe").context["page"].total == 0
    dash = coord_client.get("/?period=all").context["problems"]
    assert {p["kind"]: p["count"] for p in dash}["wipe"] == 0


def test_queue_decision_goes_back_to_the_next_row(
    coord_client: Client, store: Callable[..., DeviceStatus]
):
    first, second = store(1), store(2)
    page = coord_client.get("/queue/")
    rows = page.context["groups"][-1].rows
    assert [r.pk for r in rows] == sorted([first.pk, second.pk], key=lambda pk: rows[0].pk != pk)
    response = coord_client.post(
        f"/laptop/{rows[0].pk}/destination",
        {"destination": "repair", "next": rows[0].next_url},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/queue/?focus=undecided-{rows[1].pk}#q-undecided-{rows[1].pk}"
    body = coord_client.get(response["Location"]).content.decode()
    row = body.split(f'id="q-undecided-{rows[1].pk}"')[1].split("</tr>")[0]
    assert "autofocus" in row
    # an outside address is never followed
    response = coord_client.post(
        f"/laptop/{rows[1].pk}/destination", {"destination": "repair", "next": "//evil.example/"}
    )
    assert response["Location"] == f"/laptop/{rows[1].pk}/"


def test_batch_page_get_creates_nothing_and_sample_is_an_audited_post(
    coord_client: Client, store: Callable[..., DeviceStatus]
):
    store(1)
    batch = _batch(coord_client, "DG-000001")
    events = AuditEvent.objects.count()
    page = coord_client.get(f"/batches/{batch.pk}/")
    assert not SpotCheck.objects.exists()
    assert AuditEvent.objects.count() == events
    problems = [b.problem for b in page.context["blockers"]]
    assert any("sample not drawn" in p for p in problems)
    assert all(b.next_step for b in page.context["blockers"])
    coord_client.post(f"/batches/{batch.pk}/sample")
    assert SpotCheck.objects.filter(batch=batch).count() == 1
    assert AuditEvent.objects.filter(action="spotcheck.sampled").count() == 1
    steps = {
        s.key: (s.done, s.total) for s in coord_client.get(f"/batches/{batch.pk}/").context["steps"]
    }
    assert steps == {
        "received": (1, 1),
        "reported": (1, 1),
        "decided": (0, 1),
        "checked": (0, 1),
        "certified": (0, 1),
    }
    listed = coord_client.get("/batches/").context["batches"]
    assert {s.key: (s.done, s.total) for s in listed[0][1]} == steps


def test_four_eyes_outcome_has_no_default_and_a_failure_says_what_to_do(
    coord_client: Client, store: Callable[..., DeviceStatus], technician: Any
):
    from tests.web.conftest import client_for

    store(1)
    batch = _batch(coord_client, "DG-000001")
    coord_client.post(f"/batches/{batch.pk}/sample")
    check = SpotCheck.objects.get(batch=batch)
    body = coord_client.get(f"/batches/{batch.pk}/").content.decode()
    form = body.split(f"/checks/{check.pk}")[1].split("</form>")[0]
    assert 'type="radio"' in form and "checked" not in form and "selected" not in form
    assert "required" in form
    tech = client_for(technician)
    tech.post(f"/batches/{batch.pk}/checks/{check.pk}", {"remark": "forgot"})
    check.refresh_from_db()
    assert check.checked_at is None  # no outcome, nothing recorded
    tech.post(f"/batches/{batch.pk}/checks/{check.pk}", {"passed": "0", "remark": "data left"})
    page = coord_client.get(f"/batches/{batch.pk}/")
    failed = [b for b in page.context["blockers"] if "failed" in b.problem]
    assert failed and "Wipe the laptop again" in failed[0].next_step
    assert "Wipe the laptop again" in page.content.decode()


def _count_queries(c: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert c.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_batch_page_queries_do_not_grow_with_the_batch(
    coord_client: Client, store: Callable[..., DeviceStatus]
):
    store(1)
    small = _batch(coord_client, "DG-000001")
    for n in range(2, 51):
        store(n)
    big = _batch(coord_client, "DG-000002..DG-000050", expected=49)
    coord_client.post(f"/batches/{small.pk}/sample")
    coord_client.post(f"/batches/{big.pk}/sample")
    coord_client.get(f"/batches/{small.pk}/")  # warm the session
    one = _count_queries(coord_client, f"/batches/{small.pk}/")
    fifty = _count_queries(coord_client, f"/batches/{big.pk}/")
    assert one == fifty, (one, fifty)
    assert fifty <= 20
    assert _count_queries(coord_client, "/batches/") <= 12


def test_dashboard_and_queue_queries_do_not_grow(
    coord_client: Client, store: Callable[..., DeviceStatus]
):
    store(1, _now)
    store(2, lambda r: setattr(r.erasures[1], "result", ErasureResult.FAILED))
    _batch(coord_client, "DG-000001", expected=1)
    coord_client.get("/")
    counts = [_count_queries(coord_client, u) for u in ("/", "/?period=all", "/queue/")]
    for n in range(3, 40):
        store(n, _now)
    store(40, lambda r: setattr(r.erasures[1], "result", ErasureResult.FAILED))
    _batch(coord_client, "DG-000002..DG-000030", expected=29)
    again = [_count_queries(coord_client, u) for u in ("/", "/?period=all", "/queue/")]
    assert counts == again
    # "everything" counts all laptops one small index at a time (about 30 cheap queries)
    assert max(again) <= 32


def test_svg_charts_are_xml_with_the_bars_of_the_data():
    chart = charts.bars("c1", "Grade <&>", [("A", 3), ("B", 0), ("C & D", 7)], "Grade")
    svg = ET.fromstring(
        str(chart.html).split("<details")[0].removeprefix('<figure class="chart-box">')
    )
    assert svg.tag == f"{SVG}svg" and svg.get("role") == "img"
    assert svg.find(f"{SVG}title").text == "Grade <&>"
    bars = {g.get("data-label"): int(g.get("data-value")) for g in svg.iter(f"{SVG}g")}
    assert bars == {"A": 3, "B": 0, "C & D": 7}
    widths = {
        g.get("data-label"): float(g.find(f"{SVG}rect").get("width")) for g in svg.iter(f"{SVG}g")
    }
    assert widths["C & D"] > widths["A"] > widths["B"] == 0
    # every bar says its number in text, not only by length or colour
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "7" in texts and "3" in texts
    assert "<table>" in str(chart.html) and "<td>C &amp; D</td><td>7</td>" in str(chart.html)

    cols = charts.columns("c2", "per day", [("01/12", 2), ("02/12", 5)], "Day")
    svg = ET.fromstring(
        str(cols.html).split("<details")[0].removeprefix('<figure class="chart-box">')
    )
    assert [int(g.get("data-value")) for g in svg.iter(f"{SVG}g")] == [2, 5]

    st = charts.stacked("c3", "per batch", [("#1", [2, 1]), ("#2", [0, 4])], ["A", "B"], "Batch")
    svg = ET.fromstring(
        str(st.html).split("<details")[0].removeprefix('<figure class="chart-box">')
    )
    segs = [
        (g.get("data-label"), g.get("data-key"), int(g.get("data-value")))
        for g in svg.iter(f"{SVG}g")
        if g.get("class") == "bar"
    ]
    assert segs == [("#1", "A", 2), ("#1", "B", 1), ("#2", "B", 4)]


def test_dashboard_draws_svg_charts(coord_client: Client, store: Callable[..., DeviceStatus]):
    for n in (1, 2, 3):
        store(n, _now)
    body = coord_client.get("/").content.decode()
    assert body.count("<svg") >= 10
    assert 'id="chart-grade"' in body and 'id="chart-battery"' in body
    assert 'class="bar" data-label="B" data-value="3"' in body
    # today's three laptops stand in the last column of the days and of the weeks
    days = body.split('id="chart-days"')[1].split("</svg>")[0]
    assert days.count('data-value="3"') == 1 and days.rindex('data-value="3"') > days.rindex(
        'data-value="0"'
    )
    weeks = body.split('id="chart-weeks"')[1].split("</svg>")[0]
    assert weeks.rindex('data-value="3"') > weeks.rindex('data-value="0"')
