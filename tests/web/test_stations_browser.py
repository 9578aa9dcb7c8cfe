"""Stations in a real browser (Debian's chromium) against the real server process: an
admin renames a station, suspends it (its uploads are then refused with a code the
station words) and resumes it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
import requests

from agent.report.samples import sample_report
from agent.uplink.signed import report_json, sign_report
from tests.uplink.server_process import ServerProcess, Station
from tests.web.browser import ARGS, CHROMIUM

playwright = pytest.importorskip("playwright.sync_api")
PASSWORD = "stations-test-password"
pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Station]]:
    srv = ServerProcess(tmp_path_factory.mktemp("stations"))
    srv.start()
    try:
        env = srv.env | {"DJANGO_SETTINGS_MODULE": "server.settings",
                         "DIGIBENCH_PASSWORD": PASSWORD}  # fmt: skip
        subprocess.run([sys.executable, "-m", "django", "webuser", "ada", "--role", "admin"],
                       env=env, check=True, capture_output=True, timeout=120)  # fmt: skip
        yield srv, srv.add_station("bench-raam")
    finally:
        srv.drop()


def _upload(srv: ServerProcess, station: Station, n: int, name: str) -> requests.Response:
    body = report_json(sign_report(sample_report(n, station=name), station.key))
    return requests.post(f"{srv.url}/api/v1/reports", data=body, timeout=10,
                         headers={"Authorization": f"Bearer {station.token}",
                                  "Content-Type": "application/json"})  # fmt: skip


def test_rename_suspend_and_resume_in_the_browser(server: tuple[ServerProcess, Station]) -> None:
    srv, station = server
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_context(locale="nl-BE").new_page()
            page.goto(f"{srv.url}/stations/")
            page.fill("input[name=username]", "ada")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/stations/")
            row = page.locator("tbody tr", has_text="bench-raam")
            row.locator("input[name=name]").fill("werkbank-raam")
            with page.expect_navigation():
                row.get_by_role("button", name="Hernoemen").click()
            assert "werkbank-raam" in page.content()
            row = page.locator("tbody tr", has_text="werkbank-raam")
            with page.expect_navigation():
                row.get_by_role("button", name="Schorsen").click()
            row = page.locator("tbody tr", has_text="werkbank-raam")
            assert "geschorst" in row.inner_text()
            refused = _upload(srv, station, 8001, "werkbank-raam")
            assert refused.status_code == 403 and refused.json()["code"] == "station_suspended"
            with page.expect_navigation():
                row.get_by_role("button", name="Hervatten").click()
            assert "actief" in page.locator("tbody tr", has_text="werkbank-raam").inner_text()
            assert _upload(srv, station, 8002, "werkbank-raam").status_code == 201
        finally:
            browser.close()
