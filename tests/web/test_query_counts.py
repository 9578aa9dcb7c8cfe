"""Pages cost a fixed number of queries, however many rows they show.

Each page is opened with one row and with many; the query counts must be equal. A page
whose count grows with its rows makes one query per row, which is what makes it slow at
100,000 laptops (bench/webui.py measures the time; these tests never do).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from server.bench.models import Heartbeat
from server.ingest import models
from server.lending.models import Attendance, Borrower, Loan, Session
from server.web import roles
from server.web.models import DeviceStatus
from tests.web.conftest import client_for


def queries(client: Client, url: str) -> int:
    """The number of queries one GET of ``url`` makes (after a warm-up GET)."""
    assert client.get(url).status_code == 200, url
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


def later_run(store: Callable[..., DeviceStatus], n: int, minutes: int) -> DeviceStatus:
    """Another intake run of laptop ``n``, ``minutes`` after its first."""

    def later(report: Any) -> None:
        report.created_at += timedelta(minutes=minutes)
        report.finished_at = report.created_at + timedelta(minutes=19)

    return store(n, later, report_id=uuid.uuid4())


def test_device_page_queries_do_not_grow_with_its_runs(
    coord_client: Client, store: Callable[..., DeviceStatus]
) -> None:
    one = store(1)
    many = store(2)
    for i in range(1, 8):
        later_run(store, 2, 60 * i)
    assert models.Run.objects.filter(device_id=many.pk).count() == 8
    assert queries(coord_client, f"/laptop/{one.pk}/") == queries(
        coord_client, f"/laptop/{many.pk}/"
    )


def test_device_page_does_not_check_signatures_again(
    coord_client: Client, store: Callable[..., DeviceStatus], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record signatures were checked when the report arrived; a view only reads them."""
    status = store(3)
    from server.ingest import record_signatures

    def no_check(*args: Any, **kwargs: Any) -> bool:
        raise AssertionError("a page re-checked an Ed25519 signature")

    monkeypatch.setattr(record_signatures, "verify", no_check)
    page = coord_client.get(f"/laptop/{status.pk}/")
    assert page.status_code == 200
    assert {sig for _e, sig in page.context["runs"][0]["erasures"]} == {"valid"}


def _laptops(store: Callable[..., DeviceStatus], count: int, first: int) -> None:
    for n in range(first, first + count):
        store(n)


def test_device_list_and_audit_log_queries_do_not_grow(
    coord_client: Client, store: Callable[..., DeviceStatus]
) -> None:
    _laptops(store, 1, 1)
    pages = ["/devices/", "/devices/?q=dg-0000", "/devices/?sort=model&dir=asc", "/audit/"]
    few = {url: queries(coord_client, url) for url in pages}
    _laptops(store, 11, 2)
    assert DeviceStatus.objects.count() == 12
    assert {url: queries(coord_client, url) for url in pages} == few


def test_stations_and_werkbank_queries_do_not_grow(
    coordinator: User, make_station: Callable[..., Any]
) -> None:
    coordinator.groups.add(Group.objects.get(name=roles.ADMIN))
    client = client_for(User.objects.get(pk=coordinator.pk))

    def beat(station: models.Station, n: int) -> None:
        now = timezone.now()
        Heartbeat.objects.create(
            station=station,
            run_id=uuid.uuid4(),
            asset_tag=f"DG-{n}",
            stage="confirm" if n % 2 else "wipe",
            attention="confirm" if n % 2 else "",
            waiting_since=now if n % 2 else None,
            percent=10.0,
            eta_s=60,
            updated_at=now,
        )

    first = make_station("bench-0").station
    beat(first, 0)
    pages = ["/stations/", "/werkbank/", "/werkbank/?compact=1"]
    few = {url: queries(client, url) for url in pages}
    for i in range(1, 9):
        beat(make_station(f"bench-{i}").station, i)
    assert {url: queries(client, url) for url in pages} == few


def test_lending_lists_queries_do_not_grow(
    coordinator: User, coord_client: Client, store: Callable[..., DeviceStatus]
) -> None:
    today = timezone.localdate()

    def loan(n: int) -> None:
        status = store(n)
        borrower = Borrower.objects.create(reference=f"DL-{n}", partner=f"partner-{n % 3}")
        made = Loan.objects.create(
            device=status.device,
            borrower=borrower,
            programme="digileen",
            wave=1,
            start=today - timedelta(days=30),
            due=today - timedelta(days=n % 2),
            min_attendance=2,
            created_by=coordinator,
        )
        session = Session.objects.create(
            programme="digileen", wave=1, title=f"module {n}", on=today - timedelta(days=n)
        )
        Attendance.objects.create(session=session, borrower=made.borrower, present=n % 2 == 0)

    loan(1)
    pages = [
        "/uitlenen/",
        "/uitlenen/?view=all",
        "/uitlenen/?view=overdue",
        "/uitlenen/ontleners/",
        "/uitlenen/sessies/",
        "/uitlenen/herinneringen/",
        "/uitlenen/cijfers/",
    ]
    few = {url: queries(coord_client, url) for url in pages}
    for n in range(2, 10):
        loan(n)
    assert Loan.objects.count() == 9 and date.today() is not None
    assert {url: queries(coord_client, url) for url in pages} == few
