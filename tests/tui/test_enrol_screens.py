"""The enrolment screens against the real server process: found by mDNS on loopback (a
real zeroconf announcement and browse, real sockets), approved or refused in the web UI by
a logged-in admin, stopped, expired; and snapshots of each screen."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from textual.pilot import Pilot

from agent.config import load_config
from agent.grading import grade_report
from agent.pipeline.events import notice
from agent.policy import load_policy
from agent.report.samples import sample_report
from agent.signing import key_fingerprint, load_or_create_key, public_key_b64
from agent.tui.enrol_app import EnrolApp
from agent.tui.screens.enrol import AddressScreen, OutcomeScreen, PairingScreen
from agent.tui.screens.result import ResultScreen
from agent.uplink.discover import Found, discover
from agent.uplink.enrol import Pairing
from server.discovery import announced
from tests.uplink.server_process import ServerProcess
from tests.uplink.test_enrol import _admin_session, _decide

from .conftest import SERVER, console_safe, make_app, screen_text

LOOPBACK = ["127.0.0.1"]
# This run's own instance name: other test runs on the machine announce on loopback too,
# and the screens must see only this run's server (or, when nothing is announced, none).
NAME = f"Digibench test {uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def central(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("server"))
    server.start()
    try:
        yield server
    finally:
        server.drop()


@pytest.fixture
def announcement(central: ServerProcess) -> Iterator[None]:
    """The server announced on loopback (outside the test's event loop: zeroconf's
    blocking calls may not run on a thread whose loop is busy)."""
    with announced(central.url, name=NAME, interfaces=LOOPBACK):
        yield


def _loopback_discovery() -> list[Found]:
    return [f for f in discover(1.5, interfaces=LOOPBACK) if f.name == NAME]


async def _until(pilot: Pilot[Any], condition: Callable[[], bool], what: str) -> None:
    for _ in range(1200):  # a limit, not a timing: the server polls every 5 s
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"never: {what}; screen: {screen_text(pilot.app)}")


def _app(tmp_path: Path, server: str = "", **kwargs: Any) -> EnrolApp:
    kwargs.setdefault("find_servers", None)
    return EnrolApp(tmp_path / "station.toml", tmp_path / "keys", server, name_hint="thinkpad",
                    **kwargs)  # fmt: skip


def _code(app: EnrolApp) -> str:
    screen = app.screen
    assert isinstance(screen, PairingScreen) and screen.pairing is not None
    return screen.pairing.user_code


async def test_found_on_the_network_approved_in_the_web_ui(
    central: ServerProcess, announcement: None, tmp_path: Path
) -> None:
    web = _admin_session(central)
    app = _app(tmp_path, find_servers=_loopback_discovery)
    async with app.run_test(size=(80, 25)) as pilot:
        field = app.screen.query_one("#address")
        await _until(pilot, lambda: getattr(field, "value", "") == central.url, "found")
        await _until(pilot, lambda: "Gevonden op dit netwerk" in screen_text(app), "said")
        await pilot.press("enter")  # the volunteer confirms what was found
        await _until(pilot, lambda: _has_code(app), "a pairing code")
        text = screen_text(app)
        key = load_or_create_key(tmp_path / "keys")
        assert key_fingerprint(public_key_b64(key)) in text  # the station's own key
        assert _code(app) in text and "Wachten op goedkeuring" in text
        assert console_safe(text) == set()
        await asyncio.to_thread(_decide, central, web, _code(app), "approve")
        await _until(pilot, lambda: isinstance(app.screen, OutcomeScreen), "an outcome")
        await _until(pilot, lambda: "Goedgekeurd" in screen_text(app), "approval said")
        config = load_config(tmp_path / "station.toml")
        assert config.server.url == central.url and config.station.name == "werkbank-noord"
        assert config.server.token
        await pilot.press("enter")
    assert app.return_value == 0


def _has_code(app: EnrolApp) -> bool:
    """The code is on the screen, not only known to it: the screen redraws itself with
    the code after the server answered (a later turn of the event loop)."""
    screen = app.screen
    if not isinstance(screen, PairingScreen) or screen.pairing is None:
        return False
    return screen.pairing.user_code in screen_text(app)


async def test_refused_in_the_web_ui_then_pair_again(
    central: ServerProcess, tmp_path: Path
) -> None:
    web = _admin_session(central)
    app = _app(tmp_path, central.url)
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.press("enter")
        await _until(pilot, lambda: _has_code(app), "a pairing code")
        await asyncio.to_thread(_decide, central, web, _code(app), "deny")
        await _until(pilot, lambda: isinstance(app.screen, OutcomeScreen), "an outcome")
        await _until(pilot, lambda: "Geweigerd" in screen_text(app), "refusal said")
        await pilot.press("f9")  # the same outcome in English, from the catalogue
        english = "Refused: the pairing was refused"
        await _until(pilot, lambda: english in screen_text(app), "refusal said in English")
        await pilot.press("enter")
        assert isinstance(app.screen, AddressScreen)
        await pilot.press("f10")
    assert app.return_value == 1
    assert not (tmp_path / "station.toml").exists()


async def test_an_app_that_ends_while_waiting_stops_the_pairing_thread(
    central: ServerProcess, tmp_path: Path
) -> None:
    """An app that ends some other way than the quit key (an error, a test that failed)
    stops the wait at once; the program would otherwise not exit for 15 minutes."""
    returned = threading.Event()

    class Session(requests.Session):
        def close(self) -> None:  # the pairing worker's last step
            super().close()
            returned.set()

    app = _app(tmp_path, central.url, session=Session)
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.press("enter")
        await _until(pilot, lambda: _has_code(app), "a pairing code")
        app.exit(1)  # not the quit key: nothing but the app's end can stop the wait
    try:  # a limit, not a timing: the wait polls every 5 s
        assert await asyncio.to_thread(returned.wait, 120), "the pairing still waits"
    finally:
        app.stop.set()  # a failed run ends here instead of waiting out the code
    assert not (tmp_path / "station.toml").exists()


def _expire(central: ServerProcess, code: str) -> None:
    """The code's 15 minutes pass (in the server's database, as they would)."""
    script = (
        "from datetime import timedelta; from django.utils import timezone;"
        "from server.enrolment.models import Enrolment;"
        f"Enrolment.objects.filter(user_code={code.replace('-', '')!r})"
        ".update(expires_at=timezone.now() - timedelta(minutes=1))"
    )
    subprocess.run([sys.executable, "-m", "django", "shell", "-c", script],
                   env={**central.env, "DJANGO_SETTINGS_MODULE": "server.settings"},
                   check=True, capture_output=True, timeout=120)  # fmt: skip


async def test_an_expired_code_says_so(central: ServerProcess, tmp_path: Path) -> None:
    app = _app(tmp_path, central.url)
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.press("enter")
        await _until(pilot, lambda: _has_code(app), "a pairing code")
        await asyncio.to_thread(_expire, central, _code(app))
        await _until(pilot, lambda: isinstance(app.screen, OutcomeScreen), "an outcome")
        expired = "Verlopen: de koppelcode is niet meer geldig"
        await _until(pilot, lambda: expired in screen_text(app), "expiry said")
    assert not (tmp_path / "station.toml").exists()


async def test_stopping_the_wait_goes_back_to_the_address(
    central: ServerProcess, tmp_path: Path
) -> None:
    app = _app(tmp_path, central.url)
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.press("enter")
        await _until(pilot, lambda: _has_code(app), "a pairing code")
        await pilot.press("escape")
        assert isinstance(app.screen, AddressScreen)
        await _until(pilot, lambda: not app.workers._workers, "the wait stopped")
        assert app.screen.query_one("#address").value == central.url  # type: ignore[attr-defined]
    assert not (tmp_path / "station.toml").exists()


async def test_an_unreachable_or_wrong_address_is_said_in_words(tmp_path: Path) -> None:
    app = _app(tmp_path)
    async with app.run_test(size=(80, 25)) as pilot:
        await pilot.press(*"ftp://x", "enter")
        assert "is geen serveradres" in screen_text(app)
        field = app.screen.query_one("#address")
        field.value = "http://127.0.0.1:9"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await _until(pilot, lambda: isinstance(app.screen, OutcomeScreen), "an outcome")
        await _until(pilot, lambda: "niet bereikbaar" in screen_text(app), "unreachable said")
        text = screen_text(app)
        assert "Het koppelen kon niet starten" in text
        assert "Traceback" not in text
    assert not (tmp_path / "station.toml").exists()


async def test_nothing_found_on_the_network_asks_to_type(tmp_path: Path) -> None:
    app = _app(tmp_path, find_servers=_loopback_discovery)  # nothing announced
    async with app.run_test(size=(80, 25)) as pilot:
        screen = app.screen
        assert isinstance(screen, AddressScreen)
        await _until(pilot, lambda: screen.found is not None, "discovery ended")
        # The screen repaints after the state changes: wait for the words, under any load.
        await _until(
            pilot, lambda: "Geen server gevonden" in screen_text(app), "nothing found said"
        )


# ---------------------------------------------------------------- snapshots

SIZE = (80, 25)
PAIRING = Pairing(
    device_code="d",
    user_code="BCDF-GHJK",
    verification_uri="http://digibench.local:8000/stations/koppelen/",
    verification_uri_complete="http://digibench.local:8000/stations/koppelen/?code=BCDF-GHJK",
    expires_in=900,
    interval=5,
    key_fingerprint="8F3A 21C4 9B0E 77D2",
)


def test_address_screen_with_servers_found(snap_compare: Any, tmp_path: Path) -> None:
    found = [Found("Digibench", "https://digibench.example.org"),
             Found("Werkbank Noord", "http://192.0.2.10:8000")]  # fmt: skip
    app = _app(tmp_path, find_servers=lambda: found)

    async def run_before(pilot: Any) -> None:
        await _until(pilot, lambda: getattr(app.screen, "found", None) is not None, "found")
        assert console_safe(screen_text(app)) == set()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_pairing_screen_code_fingerprint_and_qr(snap_compare: Any, tmp_path: Path) -> None:
    app = _app(tmp_path)

    async def run_before(pilot: Any) -> None:
        screen = PairingScreen("http://digibench.local:8000")
        await pilot.app.switch_screen(screen)
        screen.show_pairing(PAIRING)
        await pilot.pause()
        assert console_safe(screen_text(app)) == set()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_outcome_screen_refused(snap_compare: Any, tmp_path: Path) -> None:
    app = _app(tmp_path)

    async def run_before(pilot: Any) -> None:
        await pilot.app.switch_screen(
            OutcomeScreen("denied", "De koppeling is geweigerd in de webinterface.")
        )
        await pilot.pause()
        assert console_safe(screen_text(app)) == set()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_result_screen_of_a_suspended_station(snap_compare: Any) -> None:
    """The refusal in words under the verdict, where the volunteer looks."""
    app, _pipeline = make_app(language="nl")
    report = sample_report(3, asset_tag="DG-000042")
    report.grade = grade_report(report, load_policy(None))
    refused = notice("error", "notice.station_suspended")

    async def run_before(pilot: Any) -> None:
        screen = ResultScreen(report, report.grade, server_url=SERVER, outbox_pending=1,
                              uploaded=False, station_refused=refused)  # fmt: skip
        await pilot.app.switch_screen(screen)
        await pilot.pause()
        text = " ".join(screen_text(pilot.app).split())
        assert "Dit station is geschorst op de server" in text
        assert console_safe(screen_text(pilot.app)) == set()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
