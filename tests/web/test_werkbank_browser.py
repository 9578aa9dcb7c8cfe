"""The Werkbank in a real browser (Debian's chromium) against the real server process:
three laptops in progress, the one waiting for its wipe confirmation on top, and the page
following the stations' heartbeats by itself."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.uplink.server_process import ServerProcess, Station
from tests.web.browser import chromium, live_server, needs_chromium

pytest.importorskip("playwright.sync_api")
PASSWORD = "werkbank-test-password"
pytestmark = needs_chromium


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Station]]:
    with live_server(tmp_path_factory.mktemp("werkbank"), {"vera": "technician"}, PASSWORD) as srv:
        yield srv, srv.add_station("bench-wall")


def _beat(srv: ServerProcess, station: Station, run: uuid.UUID, **fields: Any) -> None:
    auth = {"Authorization": f"Bearer {station.token}"}
    body = {"run_id": str(run), **fields}
    answer = requests.post(f"{srv.url}/api/v1/heartbeats", json=body, headers=auth, timeout=10)
    assert answer.status_code == 200, answer.text


def test_the_bench_view_puts_the_waiting_laptop_first_and_follows_progress(
    bench: tuple[ServerProcess, Station], tmp_path: Path
) -> None:
    srv, station = bench
    runs = {tag: uuid.uuid4() for tag in ("DG-0101", "DG-0102", "DG-0103")}
    _beat(srv, station, runs["DG-0101"], asset_tag="DG-0101", stage="wipe", percent=20, eta_s=900)
    _beat(srv, station, runs["DG-0102"], asset_tag="DG-0102", stage="flash", percent=70, eta_s=60)
    _beat(srv, station, runs["DG-0103"], asset_tag="DG-0103", stage="confirm", attention="confirm")
    with chromium() as browser:
        page = browser.new_context(
            locale="nl-BE", viewport={"width": 390, "height": 800}
        ).new_page()
        page.goto(f"{srv.url}/werkbank/?compact=1")
        page.fill("input[name=username]", "vera")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/werkbank/**")
        tags = page.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.tag)")
        assert tags == ["DG-0103", "DG-0102", "DG-0101"]
        assert "wissen bevestigen" in page.locator("tbody tr").first.inner_text()
        assert "70 %" in page.locator("tbody tr").nth(1).inner_text()
        page.screenshot(path=str(tmp_path / "werkbank-390.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no side-scroll
        # the volunteer confirms DG-0103; its station says so; the page follows by itself
        _beat(srv, station, runs["DG-0103"], asset_tag="DG-0103", stage="wipe", percent=1,
              eta_s=1200)  # fmt: skip
        page.wait_for_function(
            "() => !document.querySelector('tbody tr.attention')", timeout=30_000
        )
        assert "0 laptops hebben iemand nodig." in page.content()
