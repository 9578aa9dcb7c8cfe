"""A coordinator's lending round in a real browser (Debian's chromium), in Dutch, against the
real server process: borrower, loan, agreement, learning path, return, and no second loan
before a new intake run.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests

from tests import ocr
from tests.uplink.server_process import ServerProcess, Station
from tests.web.browser import artifacts_dir, chromium, live_server, needs_chromium
from tests.web.lending_helpers import intake

pytest.importorskip("playwright.sync_api")
PASSWORD = "lending-browser-password"

pytestmark = needs_chromium


def _post(srv: ServerProcess, station: Station, body: bytes) -> None:
    response = requests.post(
        f"{srv.url}/api/v1/reports",
        data=body,
        headers={"Authorization": f"Bearer {station.token}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 201, response.text


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Station]]:
    with live_server(tmp_path_factory.mktemp("lending"), {"carla": "coordinator"}, PASSWORD) as srv:
        station = srv.add_station("bench-lend")
        _post(srv, station, intake(21, station.key, station.name))
        yield srv, station


@pytest.fixture(scope="module")
def artifacts() -> Path:
    return artifacts_dir("digibench-lend-")


def test_lending_round(server: tuple[ServerProcess, Station], artifacts: Path) -> None:
    srv, station = server
    url = srv.url
    # the server's today (Europe/Brussels), not UTC's: between 23:00 and 24:00 UTC they
    # differ, and a loan due "today" in UTC is overdue at the server
    zone = ZoneInfo(srv.env.get("DIGIBENCH_TIME_ZONE") or "Europe/Brussels")
    today = datetime.now(zone).date().isoformat()
    with chromium() as browser:
        page = browser.new_context(locale="nl-BE", accept_downloads=True).new_page()
        page.goto(f"{url}/uitlenen/")
        page.fill("input[name=username]", "carla")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/uitlenen/")
        assert "Lopende leningen" in page.inner_text("main")

        # a borrower with the least personal data the programme needs
        page.click("text=Ontleners")
        page.fill("input[name=reference]", "DL-2026-001")
        page.fill("input[name=name]", "Fatima El Amrani")
        page.fill("input[name=contact]", "0470 12 34 56")
        page.fill("input[name=partner]", "OCMW Gent")
        page.check("input[name=consent]")
        page.fill("input[name=consent_on]", today)
        page.click("#new-borrower button[type=submit]")
        assert "DL-2026-001 · Fatima El Amrani" in page.inner_text("h1")

        # lend the laptop from its own page, under Digi-leen wave 1
        page.goto(f"{url}/devices/DG-000021/")
        page.click("#lend-this")
        assert page.input_value("input[name=laptop]") == "DG-000021"
        page.select_option("select[name=borrower]", label="DL-2026-001")
        page.select_option("select[name=programme]", "digileen")
        page.fill("input[name=wave]", "1")
        page.fill("input[name=start]", today)
        page.fill("input[name=due]", today)
        page.fill("input[name=min_attendance]", "2")
        page.check("input[name=bag]")
        page.fill("input[name=handover_state]", "goed, lichte krassen")
        page.click("#lend-form button[type=submit]")
        assert "Lening geregistreerd." in page.inner_text("main"), page.inner_text("main")
        loan_url = page.url
        assert "0 van 2 sessies gevolgd" in page.inner_text("#attendance")

        # the agreement and the hand-over sheet, printed together
        with page.expect_download() as info:
            page.click("#agreement-nl")
        pdf = artifacts / "agreement.pdf"
        info.value.save_as(pdf)
        text = subprocess.run(
            ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True
        ).stdout.decode()
        for expected in (
            "Uitleenovereenkomst",
            "DG-000021",
            "PF10000021",
            "Handtekening ontlener",
            "Wifi",
        ):
            assert expected in text, expected
        # what is drawn on the pages, read back by OCR: the agreement names the laptop by
        # tag and serial, the hand-over sheet by its tag
        agreement, handover = ocr.pdf_pages(pdf, artifacts / "agreement")
        assert "DG-000021" in agreement and "PF10000021" in agreement, agreement
        assert "DG-000021" in handover, handover

        # two sessions of the learning path, attended
        for title in ("E-mail en itsme", "Tax-on-web"):
            page.goto(f"{url}/uitlenen/sessies/")
            page.select_option("#new-session select[name=programme]", "digileen")
            page.fill("#new-session input[name=wave]", "1")
            page.fill("#new-session input[name=title]", title)
            page.fill("#new-session input[name=on]", today)
            page.click("#new-session button[type=submit]")
            page.check("input[aria-label='DL-2026-001']")
            page.click("#attendance-form button[type=submit]")
            assert "Aanwezigheden bewaard." in page.inner_text("main")
        page.goto(loan_url)
        assert "2 van 2 sessies gevolgd" in page.inner_text("#attendance")

        # due this week
        page.goto(f"{url}/uitlenen/?view=week")
        assert "DG-000021" in page.inner_text("#loans")
        page.screenshot(path=str(artifacts / "due-this-week.png"), full_page=True)

        # back in; not lendable again before a new intake run
        page.goto(loan_url)
        page.check("#check-in input[name=charger_back]")
        page.check("#check-in input[name=bag_back]")
        page.select_option("#check-in select[name=condition]", "worn")
        page.click("#check-in button[type=submit]")
        assert "nieuwe intake" in page.inner_text("#returned")
        page.goto(f"{url}/devices/DG-000021/")
        life = page.inner_text("#device-life")
        assert (
            "Inname" in life
            and "Uitgeleend via Digi-leen golf 1" in life
            and "Teruggebracht" in life
        )

        def lend_again() -> None:
            page.goto(f"{url}/uitlenen/uitlenen/?laptop=DG-000021")
            page.select_option("select[name=borrower]", label="DL-2026-001")
            page.select_option("select[name=programme]", "digileen")
            page.fill("input[name=start]", today)
            page.fill("input[name=due]", today)
            page.click("#lend-form button[type=submit]")

        lend_again()
        assert "sinds het terugbrengen" in page.inner_text("#problems")
        page.screenshot(path=str(artifacts / "refused.png"), full_page=True)

        _post(
            srv,
            station,
            intake(21, station.key, station.name, at=datetime.now(UTC) + timedelta(seconds=1)),
        )
        lend_again()
        assert "Lening geregistreerd." in page.inner_text("main"), page.inner_text("main")
