"""What keeps the pages fast at 100,000 laptops: summaries stored at ingest (and backfilled
by the migration), the same numbers from the dashboard's per-index counts as from one pass,
and paged lending, helpdesk and batch lists whose exports stay complete.

Timings are never asserted here (bench/webui.py measures them); rows, pages and query
counts are.
"""

from __future__ import annotations

import csv
import importlib
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from agent.report.schema import DiskVerdict, ErasureResult, Report
from server.lending import lists
from server.lending.models import Attendance, Borrower, Loan, Session
from server.web import dashboard
from server.web.models import Batch, DeviceStatus
from tests.web.test_query_counts import queries

backfill = importlib.import_module("server.web.migrations.0006_h16p_status_summary").backfill


def _failing_nvme_worn_sata(report: Report) -> None:
    report.components.disks[0].health.verdict = DiskVerdict.FAILING
    report.components.disks[1].health.verdict = DiskVerdict.WORN


def _one_wipe_failed(report: Report) -> None:
    report.erasures[1].result = ErasureResult.FAILED


def _summary(status: DeviceStatus) -> tuple[str, int | None, int]:
    status.refresh_from_db()
    return status.disk_verdict, status.disk_wear, status.erased_disks


def test_ingest_stores_the_disk_summary_and_the_migration_backfills_it(
    store: Callable[..., DeviceStatus],
) -> None:
    plain, failing, failed = store(1), store(2, _failing_nvme_worn_sata), store(3, _one_wipe_failed)
    # sample n: NVMe wear 3 + n % 20; both disks wiped unless one failed
    assert _summary(plain) == ("healthy", 4, 2)
    assert _summary(failing) == ("failing", 5, 2)
    assert _summary(failed) == ("healthy", 6, 1)
    stored = {s.pk: _summary(s) for s in (plain, failing, failed)}
    DeviceStatus.objects.update(disk_verdict="", disk_wear=None, erased_disks=0)
    backfill(apps, None)
    assert {s.pk: _summary(s) for s in (plain, failing, failed)} == stored


def test_dashboard_counts_all_laptops_per_index_as_one_pass_would(
    coord_client: Client, store: Callable[..., DeviceStatus]
) -> None:
    store(1)
    store(2, _failing_nvme_worn_sata)
    store(3, _one_wipe_failed)
    for n in range(4, 12):
        store(n)
    DeviceStatus.objects.filter(pk=store(12).pk).update(battery_health=None, lending="lent")
    DeviceStatus.objects.filter(pk=store(13).pk).update(grade_override="B", decision="")
    scope = DeviceStatus.objects.all()
    names = ["bench-1", "elsewhere"]
    per_index, one_pass = dashboard._per_index(scope, names), dashboard._one_pass(scope, names)
    assert per_index == one_pass
    assert per_index["total"] == 13 and per_index["p_wipe"] == 1 and per_index["v_failing"] == 1
    page = coord_client.get("/?period=all", HTTP_ACCEPT_LANGUAGE="nl")
    assert page.status_code == 200
    assert "Schijfoordeel per laptop" in page.content.decode()


def _loans(coordinator: User, store: Callable[..., DeviceStatus], count: int) -> list[Loan]:
    """``count`` laptops out on loan: overdue, due this week and followed (absent) by turns."""
    today = timezone.localdate()
    Session.objects.create(programme="digileen", wave=1, title="module 1", on=today)
    made = []
    for n in range(1, count + 1):
        borrower = Borrower.objects.create(reference=f"DL-{n:03d}", partner=f"p{n % 3}")
        made.append(
            Loan.objects.create(
                device=store(n).device,
                borrower=borrower,
                programme="digileen",
                wave=1,
                start=today - timedelta(days=60 + n),
                due=today + timedelta(days=(-5, 3, 30)[n % 3]),
                min_attendance=2 if n % 2 else 0,
                created_by=coordinator,
            )
        )
    return made


def _rows(html: str, table: str) -> int:
    return html.split(f'id="{table}"')[1].split("</table>")[0].count("<tr") - 1


def test_lending_lists_are_paged_and_the_export_stays_complete(
    coordinator: User, coord_client: Client, store: Callable[..., DeviceStatus]
) -> None:
    loans = _loans(coordinator, store, 57)
    first = coord_client.get("/uitlenen/?view=all").content.decode()
    assert _rows(first, "loans") == 50 and 'rel="next" href="?view=all&amp;page=2"' in first
    second = coord_client.get("/uitlenen/?view=all&page=2").content.decode()
    assert _rows(second, "loans") == 7 and 'rel="prev"' in second and 'rel="next"' not in second
    shown = {f"#{loan.pk}<" for loan in loans}
    assert {k for k in shown if k in first + second} == shown
    exported = coord_client.get("/uitlenen/export.csv?view=all").content.decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(exported), delimiter=";"))) == 1 + 57
    borrowers = coord_client.get("/uitlenen/ontleners/?page=2").content.decode()
    assert _rows(borrowers, "borrowers") == 7
    assert coord_client.get("/uitlenen/?page=x").status_code == 200  # not a page: the first


def test_reminder_pages_are_the_full_list_in_order(
    coordinator: User, coord_client: Client, store: Callable[..., DeviceStatus]
) -> None:
    _loans(coordinator, store, 40)
    today = timezone.localdate()
    full = [(r["loan"].pk, r["kind"], r["text"]) for r in lists.reminders(today)]
    assert {k for _pk, k, _t in full} == {"overdue", "due", "absent"}
    for size in (1, 4, 13, 50):
        paged = []
        for start in range(0, len(full) + size, size):
            paged += [
                (r["loan"].pk, r["kind"], r["text"])
                for r in lists.reminders(today, start, start + size)
            ]
        assert paged == full, size
    page = coord_client.get("/uitlenen/herinneringen/").content.decode()
    assert _rows(page, "reminders") == min(50, len(full))
    assert ('rel="next"' in page) == (len(full) > 50)


def test_absence_counts_sessions_of_the_loans_wave_only(
    coordinator: User, store: Callable[..., DeviceStatus]
) -> None:
    """The database's per-loan counts say what the Python loop said: held minus attended."""
    (loan,) = _loans(coordinator, store, 1)  # min_attendance 2, one session held today
    other = Session.objects.create(programme="digileen", wave=2, title="other wave", on=loan.start)
    Attendance.objects.create(session=other, borrower=loan.borrower, present=True)
    today = timezone.localdate()
    absent = [r["text"] for r in lists.reminders(today) if r["kind"] == "absent"]
    assert absent == ["absent from 1 sessions; attended 0 of 2 required"]
    Attendance.objects.create(
        session=Session.objects.get(wave=1), borrower=loan.borrower, present=True
    )
    assert [r for r in lists.reminders(today) if r["kind"] == "absent"] == []


def test_batch_list_is_paged_and_its_queries_do_not_grow(
    coord_client: Client, coordinator: User, store: Callable[..., DeviceStatus]
) -> None:
    def batch(n: int, tags: str) -> Any:
        made = Batch.objects.create(
            donor=f"Donor {n}", received_on="2026-11-02", expected_count=3, created_by=coordinator
        )
        coord_client.post(f"/batches/{made.pk}/tags", {"tags": tags})
        return made

    store(1)
    batch(1, "DG-000001")
    few = queries(coord_client, "/batches/")
    for n in range(2, 8):
        store(n)
    batch(2, "DG-000002..DG-000007")
    for n in range(3, 55):
        batch(n, f"X-{n}")
    assert queries(coord_client, "/batches/") == few
    page = coord_client.get("/batches/").content.decode()
    assert 'rel="next" href="?page=2"' in page
    assert "Donor 1<" in coord_client.get("/batches/?page=2").content.decode()


def test_helpdesk_visits_are_paged_and_their_queries_do_not_grow(
    make_station: Any, coord_client: Client
) -> None:
    from tests.web.test_helpdesk_visits import post, resident_laptop

    st, api = make_station(), Client()
    assert post(api, st, resident_laptop("HD-0001")).status_code == 201
    few = queries(coord_client, "/helpdesk/")
    for n in range(2, 53):
        assert post(api, st, resident_laptop(f"HD-{n:04d}")).status_code == 201
    assert queries(coord_client, "/helpdesk/") == few
    first = coord_client.get("/helpdesk/").content.decode()
    assert _rows(first, "helpdesk-visits") == 50 and 'rel="next" href="?page=2"' in first
    assert _rows(coord_client.get("/helpdesk/?page=2").content.decode(), "helpdesk-visits") == 2


def test_the_partner_filter_lists_each_partner_once(
    coordinator: User, coord_client: Client, store: Callable[..., DeviceStatus]
) -> None:
    _loans(coordinator, store, 9)  # partners p0, p1, p2, three borrowers each
    page = coord_client.get("/uitlenen/").content.decode()
    options = page.split('name="partner"')[1].split("</select>")[0]
    assert options.count("<option>") == 3
