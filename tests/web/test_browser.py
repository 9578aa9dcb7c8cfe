"""The coordinator's day in a real browser (Debian's chromium) against the real server process.

Screenshots of the dashboard, a device page and the certificate are kept as test
artifacts; their directory is printed.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from openpyxl import load_workbook

from agent.report.samples import sample_report
from agent.report.schema import ErasureResult
from agent.signing import verify
from tests.uplink.server_process import ServerProcess, Station
from tests.web.browser import artifacts_dir, chromium, live_server, needs_chromium, upload

pytest.importorskip("playwright.sync_api")
PASSWORD = "browser-test-password"
XSS = "<script>window.pwned=1</script>"

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Station]]:
    users = {"carla": "coordinator", "tom": "technician"}
    with live_server(tmp_path_factory.mktemp("webui"), users, PASSWORD) as srv:
        station = srv.add_station("bench-web")
        now = datetime.now(UTC).replace(microsecond=0)
        for n in range(1, 6):
            report = sample_report(n, station=station.name)
            report.created_at = report.finished_at = now
            if n == 4:
                report.erasures[0].result = ErasureResult.FAILED
                report.erasures[0].verification_passed = False
            if n == 5:
                report.device.product_version = XSS
            upload(srv, station, report)
        yield srv, station


@pytest.fixture(scope="module")
def artifacts() -> Path:
    return artifacts_dir("digibench-web-")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as b:
        yield b


def login(browser: object, url: str, user: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(locale="en-US", accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.on("dialog", lambda d: d.dismiss())
    page.goto(f"{url}/devices/")
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/devices/")
    return page


def test_coordinator_day(server: tuple[ServerProcess, Station], browser: object, artifacts: Path):
    srv, _station = server
    url = srv.url
    page = login(browser, url, "carla")
    assert page.evaluate("window.pwned") is None
    assert XSS in page.inner_text("#devices")  # shown as text, not run

    # problems first on today's dashboard
    page.goto(f"{url}/")
    html = page.content()
    assert html.index('id="problems"') < html.index("Counts")
    assert page.locator('[data-problem="wipe"] .count').inner_text() == "1"
    assert page.locator("svg#chart-grade").count() == 1  # charts drawn as SVG
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)
    # the review queue names the laptop under its reason
    page.click("#nav-queue")
    assert "DG-000004" in page.locator('[data-reason="wipe"]').inner_text()
    page.screenshot(path=str(artifacts / "queue.png"), full_page=True)

    # override a grade with a reason; it lands in the audit log
    page.goto(f"{url}/devices/DG-000002/")
    page.select_option("#override select[name=grade]", "C")
    page.fill("#override textarea[name=reason]", "keyboard sticks")
    page.click("#override button[type=submit]")
    assert "keyboard sticks" in page.inner_text("#grade")
    page.screenshot(path=str(artifacts / "device.png"), full_page=True)
    page.goto(f"{url}/audit/?action=grade.overridden")
    assert "keyboard sticks" in page.inner_text("#audit") and "user:carla" in page.inner_text(
        "#audit"
    )

    # a batch: refused while open, closed once everything is resolved
    page.goto(f"{url}/batches/")
    page.fill("input[name=donor]", "Bibliotheek <i>Gent</i>")
    page.fill("input[name=received_on]", "2026-11-02")
    page.fill("input[name=expected_count]", "3")
    page.click("#new-batch button[type=submit]")
    batch_url = page.url
    page.fill("textarea[name=tags]", "DG-000001..DG-000003")
    page.click("text=Add")
    page.click("#close-batch")
    assert "cannot close" in page.inner_text("main")
    assert page.inner_text("#batch-state").strip() == "Open"
    for n in (1, 2, 3):
        page.goto(f"{url}/devices/DG-{n:06d}/")
        page.select_option("select[name=destination]", "digibank")
        page.click("#destination-form button[type=submit]")
        assert "(decided)" in page.inner_text("#destination")
    page.goto(batch_url)
    page.click("#draw-sample")  # only this POST draws the four-eyes sample
    tech = login(browser, url, "tom")
    tech.goto(batch_url)
    forms = tech.locator("#checks form")
    assert forms.count() == 1
    forms.first.locator("input[name=passed][value='1']").check()
    forms.first.locator("button").click()
    assert tech.locator("#close-batch").count() == 0  # technicians cannot close
    page.goto(batch_url)
    page.click("#close-batch")
    assert "Closed" in page.inner_text("#batch-state"), page.inner_text("main")

    # the donor certificate: its text and its signature
    page.check("input[name=print_donor]")  # the donor is a library: its name goes on paper
    with page.expect_download() as info:
        page.click("#donor-certificate")
    pdf = artifacts / "certificate.pdf"
    info.value.save_as(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True
    ).stdout.decode()
    assert "Bibliotheek <i>Gent</i>" in text and "3 laptops, 6 disks" in text
    for n in (1, 2, 3):
        assert f"S4EUNX0M{n:07d}" in text
    cert_id = re.search(r"Certificate ([0-9a-f-]{36})", text)
    assert cert_id is not None
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-singlefile", str(pdf), str(artifacts / "certificate")],
        check=True,
    )
    public = browser.new_context(locale="en-US").new_page()  # type: ignore[attr-defined]
    public.goto(f"{url}/verify/{cert_id.group(1)}/")
    assert "Genuine" in public.inner_text("#verdict")
    assert "3 of 3 valid" in public.inner_text("main")
    # the signed data, checked here with the same code a donor's auditor could use
    signed = requests.get(f"{url}/verify/{cert_id.group(1)}.json", timeout=30).json()
    assert signed["signature"]["value"] in "".join(text.split())
    assert signed["certificate"]["donor"] == "Bibliotheek <i>Gent</i>"
    assert verify(
        signed["certificate"], signed["signature"]["value"], signed["signature"]["public_key"]
    )
    public.screenshot(path=str(artifacts / "verify.png"), full_page=True)
    public.goto(f"{url}/devices/")
    assert "/accounts/login/" in public.url

    # exports, read back
    page.goto(f"{url}/devices/?grade=C")
    with page.expect_download() as info:
        page.click("text=laptops CSV")
    text = Path(info.value.path()).read_text("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert [r["Asset tag"] for r in rows] == ["DG-000002"]
    page.goto(f"{url}/devices/")
    with page.expect_download() as info:
        page.click("text=laptops XLSX")
    sheet = load_workbook(io.BytesIO(Path(info.value.path()).read_bytes())).active
    assert sheet.max_row == 6


def test_failed_wipe_keeps_the_batch_open_until_rewiped(
    server: tuple[ServerProcess, Station], browser: object, artifacts: Path
):
    """In Dutch: the failed disk is named, a re-wipe closes the batch, a withdrawal shows."""
    srv, station = server
    url = srv.url
    context = browser.new_context(locale="nl-NL", accept_downloads=True)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{url}/batches/")
    page.fill("input[name=username]", "carla")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{url}/batches/")
    page.fill("input[name=donor]", "Particulier")
    page.fill("input[name=received_on]", "2026-11-03")
    page.fill("input[name=expected_count]", "1")
    page.click("#new-batch button[type=submit]")
    batch_url = page.url
    page.fill("textarea[name=tags]", "DG-000004")
    page.click("form.card button[type=submit]")
    page.goto(f"{url}/devices/DG-000004/")
    # lending is out of the question, and the page says why
    page.select_option("select[name=destination]", "digibank")
    page.click("#destination-form button[type=submit]")
    assert "Niet uitleenbaar" in page.inner_text("main")
    assert "Schijf S4EUNX0M0000004: wissen mislukt" in page.inner_text("#erasure-missing")
    page.select_option("select[name=destination]", "repair")
    page.click("#destination-form button[type=submit]")
    page.goto(batch_url)
    assert "wissen mislukt: DG-000004 (S4EUNX0M0000004)" in page.inner_text("#blockers")
    page.click("#close-batch")
    assert "De partij kan niet sluiten" in page.inner_text("main")
    assert "wissen mislukt" in page.inner_text("main")
    assert page.inner_text("#batch-state").strip() == "Open"
    page.screenshot(path=str(artifacts / "batch-failed-wipe.png"), full_page=True)

    # the laptop goes back on the bench: a new signed report with a verified erasure
    rewipe = sample_report(4, station=station.name, report_id=uuid.uuid4())
    rewipe.created_at = rewipe.finished_at = datetime.now(UTC).replace(microsecond=0)
    upload(srv, station, rewipe)
    page.goto(batch_url)
    page.click("#draw-sample")
    tech = login(browser, url, "tom")
    tech.goto(batch_url)
    forms = tech.locator("#checks form")
    for _ in range(forms.count()):
        forms.first.locator("input[name=passed][value='1']").check()
        forms.first.locator("button").click()
    page.goto(batch_url)
    assert page.locator("#blockers .ok").count() == 1, page.inner_text("#blockers")
    page.click("#close-batch")
    assert "Afgesloten" in page.inner_text("#batch-state"), page.inner_text("main")

    with page.expect_download():
        page.click("#donor-certificate")
    page.goto(batch_url)
    verify_link = page.locator("#certificates a", has_text="verificatiepagina")
    verify_url = f"{url}{verify_link.first.get_attribute('href')}"
    public = browser.new_context(locale="nl-NL").new_page()  # type: ignore[attr-defined]
    public.goto(verify_url)
    assert "Echt" in public.inner_text("#verdict")
    assert "Particulier" not in public.inner_text("main")  # a private donor stays unnamed
    assert "Digibench" in public.inner_text("#organisation")

    page.fill("#certificates input[name=reason]", "verkeerde partij")
    page.click("#certificates button.revoke")
    assert "ingetrokken" in page.inner_text("#certificates")
    public.goto(verify_url)
    assert "ingetrokken" in public.inner_text("#verdict")
    assert "Echt" not in public.inner_text("#verdict")
    public.screenshot(path=str(artifacts / "verify-withdrawn.png"), full_page=True)
