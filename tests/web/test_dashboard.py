"""The dashboard: problems first, counts per period, stations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from django.test import Client

from agent.report.schema import DiskVerdict, ErasureResult, Report
from server.web.models import DeviceStatus


def today(edit: Callable[[Report], None] | None = None) -> Callable[[Report], None]:
    def apply(report: Report) -> None:
        report.created_at = datetime.now(UTC)
        report.finished_at = report.created_at
        if edit:
            edit(report)

    return apply


def test_problems_come_first(coord_client: Client, store: Callable[..., DeviceStatus]):
    store(1, today())
    store(
        2, today(lambda r: setattr(r.erasures[0], "result", ErasureResult.ERASED_WITH_EXCEPTIONS))
    )
    store(3, today(lambda r: setattr(r.components.disks[0].health, "verdict", DiskVerdict.FAILING)))
    store(4, today(lambda r: setattr(r, "finished_at", None)))
    store(5)  # an older day: not in today's counts
    coord_client.post("/devices/DG-000001/grade", {"grade": "A", "reason": "like new"})
    page = coord_client.get("/")
    body = page.content.decode()
    queue = coord_client.get("/queue/").content.decode()
    assert body.index('id="problems"') < body.index("Counts")
    for kind, tag in (
        ("wipe", "DG-000002"),
        ("disk", "DG-000003"),
        ("unfinished", "DG-000004"),
        ("overridden", "DG-000001"),
    ):
        block = body.split(f'data-problem="{kind}"')[1].split("</div>")[0]
        assert '<span class="count">1</span>' in block, kind
        # the review queue lists the laptop under the same reason
        section = queue.split(f'data-reason="{kind}"')[1].split("</section>")[0]
        assert tag in section, kind
    assert page.context["total"] == 4
    assert dict(page.context["counts"]["grade"])["A"] == 1
    assert dict(page.context["counts"]["grade"])["B"] == 3
    assert sum(n for _, n in page.context["counts"]["battery"]) == 4
    assert coord_client.get("/?period=all").context["total"] == 5
    assert "bench-1" in body  # the station's last contact
    assert coord_client.get("/devices/?problem=disk").context["page"].total == 1


def test_technician_cannot_manage_batches(tech_client: Client):
    data = {"donor": "x", "received_on": "2026-11-02", "expected_count": 1, "sample_percent": 5}
    assert tech_client.post("/batches/", data).status_code == 403
    assert tech_client.get("/batches/").status_code == 200
    assert tech_client.post("/batches/1/tags", {"tags": "DG-1"}).status_code == 403
    assert tech_client.post("/batches/1/certificate").status_code == 403
