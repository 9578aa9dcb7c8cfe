"""CSV/XLSX exports with the list's filters, and no formula injection."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from django.test import Client
from openpyxl import load_workbook

from agent.report.schema import Report
from server.ingest.models import AuditEvent
from server.web.exports import neutralise
from server.web.models import DeviceStatus


def formula(report: Report) -> None:
    report.device.vendor = '=HYPERLINK("http://evil","x")'
    report.erasures[0].disk_model = "@SUM(1+1)"


def _csv(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def test_neutralise():
    for bad in ("=1+1", "+1", "-1", "@x", "\t=1", "\r=1"):
        assert neutralise(bad).startswith("'")
    assert neutralise("ThinkPad") == "ThinkPad" and neutralise(3) == 3 and neutralise(None) == ""


def test_csv_and_xlsx_follow_the_filters_and_neutralise_formulas(
    coord_client: Client, store: Callable[..., DeviceStatus]
):
    store(1, formula)
    store(2)
    store(3)
    coord_client.post("/devices/DG-000002/grade", {"grade": "C", "reason": "dent"})
    rows = _csv(b"".join(coord_client.get("/devices/export.csv").streaming_content))
    assert {r["Asset tag"] for r in rows} == {"DG-000001", "DG-000002", "DG-000003"}
    evil = next(r for r in rows if r["Asset tag"] == "DG-000001")
    assert evil["Model"].startswith("'=HYPERLINK")
    only_c = _csv(b"".join(coord_client.get("/devices/export.csv?grade=C").streaming_content))
    assert [(r["Asset tag"], r["Grade"], r["Grade on the report"]) for r in only_c] == [
        ("DG-000002", "C", "B")
    ]
    erasures = _csv(
        b"".join(coord_client.get("/erasures/export.csv?q=dg-000001").streaming_content)
    )
    assert len(erasures) == 2 and erasures[0]["Disk model"] == "'@SUM(1+1)"

    response = coord_client.get("/devices/export.xlsx?q=dg-00000")
    assert response["Content-Type"].startswith("application/vnd.openxml")
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "Asset tag" and len(values) == 4
    cells = [c for row in sheet.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    # the text as it is, kept from running by Excel's quote prefix, not a literal apostrophe
    evil = [c for c in cells if str(c.value).startswith("=HYPERLINK")]
    assert evil and all(c.quotePrefix and c.data_type == "s" for c in evil)
    assert not any(str(c.value).startswith("'") for c in cells)
    xlsx = coord_client.get("/erasures/export.xlsx")
    assert len(list(load_workbook(io.BytesIO(xlsx.content)).active.iter_rows())) == 7


def test_every_export_is_audited_with_its_filter_and_row_count(
    coord_client: Client, store: Callable[..., DeviceStatus]
):
    for n in (1, 2, 3):
        store(n)
    coord_client.post("/devices/DG-000002/grade", {"grade": "C", "reason": "dent"})
    b"".join(coord_client.get("/devices/export.csv?grade=B&sort=tag").streaming_content)
    coord_client.get("/erasures/export.xlsx?q=dg-000001")
    b"".join(coord_client.get("/erasures/export.csv").streaming_content)
    events = list(AuditEvent.objects.filter(action="data.exported").order_by("pk"))
    got = [(e.actor, e.object_type, e.object_id, e.details) for e in events]
    assert got == [
        ("user:carla", "export", "devices.csv", {"filter": {"grade": "B"}, "rows": 2}),
        ("user:carla", "export", "erasures.xlsx", {"filter": {"q": "dg-000001"}, "rows": 2}),
        ("user:carla", "export", "erasures.csv", {"filter": {}, "rows": 6}),
    ]
    assert "erasures.xlsx" in coord_client.get("/audit/?action=data.exported").content.decode()


def test_a_refused_export_is_not_audited(tech_client: Client, store: Callable[..., DeviceStatus]):
    store(1)
    assert tech_client.get("/devices/export.csv").status_code == 403  # technicians may not
    assert not AuditEvent.objects.filter(action="data.exported").exists()


def test_csv_is_for_belgian_excel_in_the_users_language(
    store: Callable[..., DeviceStatus], coordinator: Any
):
    store(1)
    client = Client(HTTP_ACCEPT_LANGUAGE="nl")
    client.force_login(coordinator)
    body = b"".join(client.get("/devices/export.csv").streaming_content)
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8-sig")
    head = text.splitlines()[0]
    assert head.split(";")[:3] == ["Inventarisnummer", "Serienummer", "Model"]
    row = next(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert row["Uitleenstatus"] == "in voorraad" and row["Wissen"] == "geverifieerd"
    assert row["Voorstel van het station"] == "uitlenen"
    erasures = b"".join(client.get("/erasures/export.csv").streaming_content).decode("utf-8-sig")
    first = next(csv.DictReader(io.StringIO(erasures), delimiter=";"))
    assert first["Resultaat"] == "gewist" and first["Verificatie"] == "ja"
