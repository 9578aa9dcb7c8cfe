"""What the browser tests share: the real server process with its users, and Debian's chromium.

The tests drive ``digibench-server serve`` (SQLite, or PostgreSQL under $DATABASE_URL)
through Playwright with /usr/bin/chromium, never a downloaded browser.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from agent.report.schema import Report
from tests.uplink.server_process import ServerProcess, Station
from tests.web.conftest import station_body

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: mark a browser test module: slow, and only where Debian's chromium is installed
needs_chromium = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make setup)"),
]


@contextmanager
def live_server(data_dir: Path, users: dict[str, str], password: str) -> Iterator[ServerProcess]:
    """The server running on ``data_dir`` with a login per ``users`` (name -> role)."""
    srv = ServerProcess(data_dir)
    srv.start()
    try:
        env = srv.env | {
            "DJANGO_SETTINGS_MODULE": "server.settings",
            "DIGIBENCH_PASSWORD": password,
        }
        for name, role in users.items():
            subprocess.run(
                [sys.executable, "-m", "django", "webuser", name, "--role", role],
                env=env,
                check=True,
                capture_output=True,
                timeout=120,
            )
        yield srv
    finally:
        srv.drop()


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless, through Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(page: Any, url: str, user: str, password: str) -> None:
    """Open ``url`` (a page behind the login), log in, and land back on it."""
    page.goto(url)
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(url)


def artifacts_dir(prefix: str) -> Path:
    """Where screenshots go: $DIGIBENCH_ARTIFACTS, else a new temporary directory (printed)."""
    path = Path(os.environ.get("DIGIBENCH_ARTIFACTS") or tempfile.mkdtemp(prefix=prefix))
    path.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {path}", file=sys.stderr)
    return path


def upload(srv: ServerProcess, station: Station, report: Report) -> None:
    """Post a report as a station does: erasure records and report signed."""
    response = requests.post(
        f"{srv.url}/api/v1/reports",
        data=station_body(report, station.key),
        headers={"Authorization": f"Bearer {station.token}", "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
