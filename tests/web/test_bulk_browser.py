"""A bulk decision in a real browser (Debian's chromium) against the real server process:
50 laptops through the whole filter, 3 refused, shown in the preview and the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from agent.report.samples import sample_report
from agent.report.schema import ErasureResult
from tests.uplink.server_process import ServerProcess, Station
from tests.web.browser import artifacts_dir, chromium, live_server, needs_chromium, upload
from tests.web.test_browser import PASSWORD, login

pytestmark = needs_chromium

REFUSED = (7, 23, 41)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, Station]]:
    with live_server(tmp_path_factory.mktemp("bulkui"), {"carla": "coordinator"}, PASSWORD) as srv:
        station = srv.add_station("bench-bulk")
        now = datetime.now(UTC).replace(microsecond=0)
        for n in range(1, 51):
            report = sample_report(n, station=station.name)
            report.created_at = report.finished_at = now
            if n in REFUSED:
                report.erasures[0].result = ErasureResult.FAILED
                report.erasures[0].verification_passed = False
            upload(srv, station, report)
        yield srv, station


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as b:
        yield b


def test_bulk_decision_of_50_with_3_refused(
    server: tuple[ServerProcess, Station], browser: object
) -> None:
    srv, station = server
    artifacts = artifacts_dir("bulk-")
    page = login(browser, srv.url, "carla")
    page.goto(f"{srv.url}/devices/?station={station.name}")
    page.check("#bulk input[name=scope][value=filter]")
    page.select_option("#bulk select[name=action]", "decide")
    page.select_option("#bulk select[name=decision]", "digibank")
    page.fill("#bulk input[name=reason]", "first wave")
    page.click("#bulk button[type=submit]")
    refused = page.locator("#bulk-refused tr").all_inner_texts()[1:]
    assert sorted(r.split("\t")[0].strip() for r in refused) == [f"DG-{n:06d}" for n in REFUSED]
    assert all("wipe failed" in r for r in refused), refused
    assert page.locator("#bulk-changes tr").count() == 1 + 47
    page.screenshot(path=str(artifacts / "bulk-preview.png"), full_page=True)

    page.click("#bulk-confirm button[type=submit]")
    assert "47" in page.inner_text("#bulk-result")
    page.goto(f"{srv.url}/audit/?action=destination.decided")
    audit = page.inner_text("#audit")
    for n in range(1, 51):
        assert (f"DG-{n:06d}" in audit) == (n not in REFUSED), n
    assert audit.count("user:carla") == 47

    # ticked laptops: a note on two of them
    page.goto(f"{srv.url}/devices/?station={station.name}&sort=tag&dir=asc")
    page.check("#devices input[name=pk] >> nth=0")
    page.check("#devices input[name=pk] >> nth=1")
    page.select_option("#bulk select[name=action]", "note")
    page.fill("#bulk input[name=note]", "charger in box 3")
    page.click("#bulk button[type=submit]")
    assert page.locator("#bulk-changes tr").count() == 1 + 2
    page.click("#bulk-confirm button[type=submit]")
    page.goto(f"{srv.url}/devices/DG-000001/")
    assert "charger in box 3" in page.inner_text("main")
