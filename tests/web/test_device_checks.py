"""The device page shows every check of the latest run, and of each run in its history.

A run graded with every check kind (failures that block, repair and note, skips,
absent hardware, firmware locks): a compact table per run, check, outcome,
effect and why, in Dutch from the catalogues, never a raw code; the page's
query count does not grow with its runs.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

from django.test import Client

from agent.report.schema import CheckKind, CheckOutcome, Report
from server.web.models import DeviceStatus
from tests.check_reports import with_every_check
from tests.web.test_query_counts import queries


class _Tables(HTMLParser):
    """The cells of every ``table.checks``, and whether they sit in ``#checks``."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self.latest = -1
        self._depth_section = 0
        self._in_table = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section" and found.get("id") == "checks":
            self.latest = len(self.tables)
        if tag == "table" and "checks" in (found.get("class") or ""):
            self._in_table = True
            self.tables.append([])
        elif self._in_table and tag == "tr":
            self.tables[-1].append([])
        elif self._in_table and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None and data.strip():
            self._cell.append(data.strip())


def _tables(client: Client, status: DeviceStatus) -> _Tables:
    response = client.get(f"/laptop/{status.pk}/", HTTP_ACCEPT_LANGUAGE="nl")
    assert response.status_code == 200
    parser = _Tables()
    parser.feed(response.content.decode())
    return parser


def _rerun(minutes: int) -> Callable[[Report], None]:
    def edit(report: Report) -> None:
        report.created_at += timedelta(minutes=minutes)
        report.finished_at = report.created_at + timedelta(minutes=19)
        with_every_check(report)

    return edit


#: raw codes; "camera" and "touchpad" are Dutch words too
RAW = {k.value for k in CheckKind} - {"camera", "touchpad"} | {o.value for o in CheckOutcome} | {
    "block", "repair", "note", "ignore", "check.", "lock.", "grade.",
}  # fmt: skip


def test_every_check_of_the_latest_run_in_dutch(
    coord_client: Client, store: Callable[..., DeviceStatus], settings: Any
) -> None:
    settings.LANGUAGE_CODE = "nl"
    status = store(10, with_every_check)
    page = _tables(coord_client, status)
    assert page.latest == 0  # the latest run's table comes first, in its own section
    head, *rows = page.tables[0]
    assert head == ["Controle", "Uitkomst", "Gevolg", "Waarom"]
    assert len(rows) == len(CheckKind) and all(len(r) == 4 for r in rows)
    by_check = {r[0]: r[1:] for r in rows}
    assert by_check["geheugentest"] == ["niet in orde", "blokkeert uitlenen",
                                        "De geheugentest vond fouten."]  # fmt: skip
    assert by_check["camera"][:2] == ["niet in orde", "op de reparatielijst"]
    assert by_check["USB-poorten"][2] == "Een USB-poort zag de stick niet."
    assert by_check["Bluetooth"][1] == "alleen een opmerking"
    assert by_check["scherm"][:2] == ["overgeslagen door de vrijwilliger", "alleen een opmerking"]
    assert by_check["opladen"] == ["niet aanwezig", "geen gevolg", "Niet aanwezig op deze laptop."]
    assert by_check["Intel AMT"][2] == "De firmware meldt het niet."
    assert by_check["Secure Boot"][1] == "geen gevolg"
    assert by_check["toetsenbord"] == ["in orde", "geen gevolg", "Werkt."]
    assert "ACME-IT-0042" in by_check["inventarisnummer"][2]
    for row in rows:
        for cell in row:
            assert not any(raw in cell.split() or cell.startswith(raw) for raw in RAW), row


def test_each_run_in_the_history_has_its_checks_and_older_reports_keep_their_tests(
    coord_client: Client, store: Callable[..., DeviceStatus], settings: Any
) -> None:
    settings.LANGUAGE_CODE = "nl"
    status = store(10, with_every_check)
    store(10, _rerun(60), report_id=uuid.uuid4())
    store(10, lambda r: setattr(r, "created_at", r.created_at + timedelta(hours=2)),
          report_id=uuid.uuid4())  # fmt: skip
    page = _tables(coord_client, status)
    # the latest run is an older agent's (no check rows): no latest table; two runs have one
    assert page.latest == -1
    assert len(page.tables) == 2


def test_the_device_page_query_count_does_not_grow_with_checked_runs(
    coord_client: Client, store: Callable[..., DeviceStatus]
) -> None:
    one = store(11, with_every_check)
    many = store(12, with_every_check)
    for i in range(1, 8):
        store(12, _rerun(60 * i), report_id=uuid.uuid4())
    assert len(_tables(coord_client, many).tables) == 1 + 8
    assert queries(coord_client, f"/laptop/{one.pk}/") == queries(
        coord_client, f"/laptop/{many.pk}/"
    )
