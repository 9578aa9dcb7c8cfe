"""The pages fit the screen they are read on, and print cleanly (Debian's chromium).

Dashboard, device list, device page (eight runs), batch page and the review queue at
1366 and 390 px wide: no page scrolls sideways; at 390 px the
navigation folds behind a menu button; printed, the device and batch pages show no
navigation and no forms. Screenshots and the printed PDFs are kept as artifacts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.report.samples import sample_report
from tests.check_reports import with_every_check
from tests.uplink.server_process import ServerProcess
from tests.web.browser import (
    artifacts_dir,
    chromium,
    live_server,
    log_in,
    needs_chromium,
    upload,
)

pytest.importorskip("playwright.sync_api")
PASSWORD = "layout-test-password"
WIDTHS = (1366, 390)

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with live_server(tmp_path_factory.mktemp("layout"), {"carla": "coordinator"}, PASSWORD) as srv:
        station = srv.add_station("bench-layout")
        now = datetime.now(UTC).replace(microsecond=0)
        for n in range(1, 6):
            report = sample_report(n, station=station.name)
            report.created_at = report.finished_at = now - timedelta(hours=n)
            if n == 2:  # HP's DMI names the vendor in the product name too
                report.device.vendor = "HP"
                report.device.product_name = "HP EliteBook 840 G5"
                report.device.product_version = ""
            if n == 1:  # its page shows a table of every check, failures of every sort
                with_every_check(report)
            upload(srv, station, report)
        for k in range(1, 8):  # DG-000001 came back seven times
            again = sample_report(1, station=station.name, report_id=uuid.uuid4())
            again.created_at = again.finished_at = now - timedelta(days=k)
            with_every_check(again)
            upload(srv, station, again)
        yield srv


@pytest.fixture(scope="module")
def artifacts() -> Path:
    return artifacts_dir("digibench-layout-")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture(scope="module")
def batch_url(server: ServerProcess, browser: Any) -> str:
    page = browser.new_context(locale="nl-BE").new_page()
    log_in(page, f"{server.url}/batches/", "carla", PASSWORD)
    page.fill("input[name=donor]", "Bibliotheek Gent")
    page.fill("input[name=received_on]", "2026-11-02")
    page.fill("input[name=expected_count]", "5")
    page.click("#new-batch button[type=submit]")
    url: str = page.url
    page.fill("textarea[name=tags]", "DG-000001..DG-000005")
    page.click("form.card button[type=submit]")
    page.context.close()
    return url


def _pages(server: ServerProcess, batch_url: str) -> dict[str, str]:
    pages = {
        "dashboard": f"{server.url}/",
        "devices": f"{server.url}/devices/",
        "device": f"{server.url}/devices/DG-000001/",
        "batch": batch_url,
        "queue": f"{server.url}/queue/",
    }
    return pages


@pytest.mark.parametrize("width", WIDTHS)
def test_no_page_scrolls_sideways(
    server: ServerProcess, browser: Any, batch_url: str, artifacts: Path, width: int
) -> None:
    out = artifacts
    context = browser.new_context(locale="nl-BE", viewport={"width": width, "height": 900})
    page = context.new_page()
    log_in(page, f"{server.url}/devices/", "carla", PASSWORD)
    assert "HP EliteBook 840 G5" in page.inner_text("main")
    assert "HP HP" not in page.inner_text("main")  # the vendor once
    for name, url in _pages(server, batch_url).items():
        page.goto(url)
        page.screenshot(path=str(out / f"{name}-{width}.png"), full_page=True)
        wide = page.evaluate("document.scrollingElement.scrollWidth")
        assert wide <= width, f"{name} is {wide} px wide at {width}"
        for box in page.locator("table.checks").evaluate_all(
            "els => els.map(e => Math.max(e.getBoundingClientRect().right, e.scrollWidth))"
        ):
            assert box <= width, f"{name}: a table of checks reaches {box} px at {width}"
        for box in page.locator("textarea, .card").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().right)"
        ):
            assert box <= width, f"{name}: a card or textarea reaches {box} px at {width}"
    context.close()


def test_the_device_page_shows_every_check_of_each_run(server: ServerProcess, browser: Any) -> None:
    context = browser.new_context(locale="nl-BE", viewport={"width": 390, "height": 900})
    page = context.new_page()
    log_in(page, f"{server.url}/devices/DG-000001/", "carla", PASSWORD)
    assert page.locator("#checks table.checks").count() == 1  # the latest run's, up top
    assert page.locator("section.card table.checks").count() == 8  # and each run's
    rows = page.locator("#checks table.checks tbody tr")
    assert rows.count() == 16
    assert "blokkeert uitlenen" in page.inner_text("#checks")
    context.close()


def test_the_menu_folds_on_a_phone(server: ServerProcess, browser: Any) -> None:
    context = browser.new_context(locale="nl-BE", viewport={"width": 390, "height": 800})
    page = context.new_page()
    log_in(page, f"{server.url}/devices/", "carla", PASSWORD)
    laptops = page.locator("header nav a", has_text="Laptops")
    assert not laptops.is_visible()
    page.click("header label.menu-button")
    assert laptops.is_visible()
    laptops.click()
    page.wait_for_url(f"{server.url}/devices/")
    context.close()

    wide = browser.new_context(locale="nl-BE", viewport={"width": 1366, "height": 800}).new_page()
    log_in(wide, f"{server.url}/devices/", "carla", PASSWORD)
    assert wide.locator("header nav a", has_text="Laptops").is_visible()
    assert not wide.locator("header label.menu-button").is_visible()
    wide.context.close()


def test_device_and_batch_pages_print_without_navigation_or_forms(
    server: ServerProcess, browser: Any, batch_url: str, artifacts: Path
) -> None:
    out = artifacts
    page = browser.new_context(locale="nl-BE").new_page()
    log_in(page, f"{server.url}/devices/DG-000001/", "carla", PASSWORD)
    for name, url in (("device", f"{server.url}/devices/DG-000001/"), ("batch", batch_url)):
        page.goto(url)
        page.emulate_media(media="print")
        assert not page.locator("header").is_visible()
        assert page.locator("form").count() > 0
        visible = page.locator("form, button, textarea, select").evaluate_all(
            "els => els.filter(e => e.getClientRects().length > 0).length"
        )
        assert visible == 0, f"{name}: {visible} form elements on paper"
        assert page.locator("h1").is_visible()
        pdf = page.pdf(path=str(out / f"{name}-print.pdf"), format="A4")
        assert pdf.startswith(b"%PDF")
        page.emulate_media(media="screen")
        assert page.locator("header").is_visible()
    page.context.close()


def test_print_keeps_the_runs_and_tables(server: ServerProcess, browser: Any) -> None:
    page = browser.new_context(locale="nl-BE").new_page()
    log_in(page, f"{server.url}/devices/DG-000001/", "carla", PASSWORD)
    page.emulate_media(media="print")
    assert page.locator("section.card").count() == 8  # every run, on paper too
    main_width = page.evaluate("document.querySelector('main').getBoundingClientRect().width")
    body_width = page.evaluate("document.body.getBoundingClientRect().width")
    assert main_width == pytest.approx(body_width, abs=1)  # full width, no margins of its own
    page.context.close()
