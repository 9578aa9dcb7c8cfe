"""`digibench enrol` against the real server process: the admin approves the code in the web
UI (a real login, CSRF and all), the station writes its config and its reports are taken."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from agent.config import load_config
from agent.report.samples import sample_report
from agent.signing import load_or_create_key
from agent.tui.i18n import set_language
from agent.uplink.client import UplinkConfig, Uploader
from agent.uplink.enrol import (
    Cancelled,
    Paired,
    Pairing,
    PairingRefused,
    enrol,
    wait,
    write_config,
)
from agent.uplink.signed import report_json, sign_report
from tests.uplink.server_process import ServerProcess

PASSWORD = "a long pass phrase for ada"


def _admin_session(central: ServerProcess) -> requests.Session:
    subprocess.run(
        [sys.executable, "-m", "django", "webuser", "ada", "--role", "admin"],
        env={**central.env, "DJANGO_SETTINGS_MODULE": "server.settings",
             "DIGIBENCH_PASSWORD": PASSWORD},
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    web = requests.Session()
    web.get(f"{central.url}/accounts/login/", timeout=10)
    answer = web.post(
        f"{central.url}/accounts/login/",
        data={"username": "ada", "password": PASSWORD,
              "csrfmiddlewaretoken": web.cookies["csrftoken"]},
        headers={"Referer": f"{central.url}/accounts/login/"}, timeout=10,
    )  # fmt: skip
    assert answer.ok and "sessionid" in web.cookies, answer.text[:500]
    return web


def _decide(central: ServerProcess, web: requests.Session, code: str, decision: str) -> None:
    form = {"csrfmiddlewaretoken": web.cookies["csrftoken"]}
    where = {"headers": {"Referer": central.url}, "timeout": 10, "allow_redirects": False}
    found = web.post(f"{central.url}/stations/koppelen/", data={**form, "code": code}, **where)
    assert found.status_code == 302, found.text[:800]
    chosen = {**form, "name": "werkbank-noord", "decision": decision}
    done = web.post(central.url + found.headers["Location"], data=chosen, **where)
    assert done.status_code == 302, done.text[:800]


def _enrol_in_background(
    central: ServerProcess, tmp_path: Path
) -> tuple[threading.Thread, io.StringIO, list[object]]:
    out, result = io.StringIO(), []

    def run() -> None:
        try:
            result.append(enrol(central.url, tmp_path / "station.toml", tmp_path / "keys",
                                name_hint="thinkpad", out=out))  # fmt: skip
        except Exception as exc:  # handed to the test
            result.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out, result


def _code(out: io.StringIO) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"\b([B-X2-6]{4}-[B-X2-6]{4})\b", out.getvalue())
        if found:
            return found.group(1)
        time.sleep(0.1)
    raise AssertionError(f"no pairing code shown: {out.getvalue()}")


def test_a_station_pairs_from_the_web_ui_and_reports(
    central: ServerProcess, tmp_path: Path
) -> None:
    (tmp_path / "station.toml").write_text(
        '# the bench by the window\n[station]\nlanguage = "nl"\n\n[wipe]\npattern = "zero"\n'
    )
    web = _admin_session(central)
    thread, out, result = _enrol_in_background(central, tmp_path)
    code = _code(out)
    assert "Vingerafdruk van de sleutel" in out.getvalue()
    _decide(central, web, code, "approve")
    thread.join(120)
    paired = result[0]
    assert isinstance(paired, Paired), paired
    assert paired.station == "werkbank-noord"
    text = (tmp_path / "station.toml").read_text()
    assert text.startswith("# the bench by the window")  # the admin's comments are kept
    config = load_config(tmp_path / "station.toml")
    assert config.server.url == central.url and config.station.name == "werkbank-noord"
    assert config.wipe.pattern == "zero"
    assert (tmp_path / "station.toml").stat().st_mode & 0o077 == 0  # the token is secret
    key = load_or_create_key(tmp_path / "keys")
    body = report_json(sign_report(sample_report(7, station="werkbank-noord"), key))
    uploader = Uploader(UplinkConfig(config.server.url, config.server.token or ""))
    try:
        assert uploader.send(body).status == 201
    finally:
        uploader.close()
    assert "Gekoppeld als station werkbank-noord" in out.getvalue()


def test_a_refused_pairing_says_so_on_the_station(central: ServerProcess, tmp_path: Path) -> None:
    web = _admin_session(central)
    thread, out, result = _enrol_in_background(central, tmp_path)
    _decide(central, web, _code(out), "deny")
    thread.join(120)
    assert isinstance(result[0], PairingRefused)
    assert "De koppeling is geweigerd" in str(result[0])
    assert not (tmp_path / "station.toml").exists()


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="is niet bereikbaar"):
        enrol("http://127.0.0.1:9", tmp_path / "station.toml", tmp_path / "keys",
              out=io.StringIO())  # fmt: skip


def test_a_pairing_whose_key_was_swapped_on_the_way_is_refused(tmp_path: Path) -> None:
    """The station checks the fingerprint the server answers against its own key: someone
    in between who sent the server another key cannot get that key paired unnoticed."""

    class Answer:
        status_code = 201

        def json(self) -> dict[str, object]:
            return {"device_code": "d", "user_code": "BCDF-GHJK", "expires_in": 900,
                    "interval": 5, "verification_uri": "http://x/stations/koppelen/",
                    "key_fingerprint": "0000 0000 0000 0000"}  # fmt: skip

    class Session(requests.Session):
        def post(self, *args: object, **kwargs: object) -> Answer:  # type: ignore[override]
            return Answer()

    with pytest.raises(Exception, match="andere sleutel"):
        enrol("http://127.0.0.1:9", tmp_path / "station.toml", tmp_path / "keys",
              out=io.StringIO(), session=Session())  # fmt: skip
    assert not (tmp_path / "station.toml").exists()


class _Answer:
    def __init__(self, status: int, body: dict[str, object]) -> None:
        self.status_code = status
        self.body = body

    def json(self) -> dict[str, object]:
        return self.body


class _Flaky(requests.Session):
    """The network drops out twice while the station waits, then the admin has approved."""

    def __init__(self, answers: list[object]) -> None:
        super().__init__()
        self.answers = answers

    def post(self, *args: object, **kwargs: object) -> _Answer:  # type: ignore[override]
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, _Answer)
        return answer


def _no_pause(_seconds: float) -> None:
    """The polls' pauses, skipped: what is tested is what is asked, not when."""


_PAIRING = Pairing("d", "BCDF-GHJK", "http://x/stations/koppelen/", "", 900, 5, "")


def test_waiting_outlasts_a_network_outage_with_growing_pauses() -> None:
    set_language("nl")
    pending = _Answer(400, {"error": "authorization_pending"})
    outage = requests.ConnectionError("cable out")
    session = _Flaky([pending, outage, outage, outage, pending,
                      _Answer(200, {"station": "werkbank-noord", "token": "dgb_x"})])  # fmt: skip
    pauses: list[float] = []
    retries: list[str] = []
    paired = wait(session, "http://x", _PAIRING, sleep=pauses.append, on_retry=retries.append)
    assert paired == Paired("werkbank-noord", "dgb_x")
    assert pauses == [5, 5, 10, 20, 40, 5]  # back to the interval once it answers
    assert len(retries) == 3 and "niet bereikbaar" in retries[0]


def test_waiting_stops_when_cancelled_and_refusals_are_named() -> None:
    session = _Flaky([_Answer(400, {"error": "authorization_pending"})])
    stop = [False, True]
    with pytest.raises(Cancelled):
        wait(session, "http://x", _PAIRING, sleep=_no_pause, cancelled=lambda: stop.pop(0))
    for error, code in [("access_denied", "denied"), ("expired_token", "expired"),
                        ("invalid_grant", "used"), ("server_error", "ended")]:  # fmt: skip
        with pytest.raises(PairingRefused) as refused:
            wait(
                _Flaky([_Answer(400, {"error": error})]), "http://x", _PAIRING, sleep=lambda s: None
            )
        assert refused.value.code == code
    slow = _Flaky([_Answer(429, {"error": "slow_down"}), _Answer(200, {"token": "t"})])
    pauses: list[float] = []
    wait(slow, "http://x", _PAIRING, sleep=pauses.append)
    assert pauses == [5, 10]  # RFC 8628: five seconds more after slow_down


_IMAGE = "https://digibench.example.org/images/debian.json"


def test_the_os_image_the_server_hands_out_becomes_the_sticks_image(tmp_path: Path) -> None:
    """A released stick's config names no image: the one from the pairing answer is written
    (comments kept), so the first laptop it meets is flashed, not skipped."""
    config = tmp_path / "station.toml"
    example = Path(__file__).parents[2] / "provisioning" / "station.example.toml"
    config.write_text(example.read_text(encoding="utf-8"), encoding="utf-8")
    answer = _Answer(200, {"station": "werkbank-noord", "token": "dgb_x", "image_source": _IMAGE})
    paired = wait(_Flaky([answer]), "http://x", _PAIRING, sleep=_no_pause)
    assert paired.image_source == _IMAGE
    write_config(config, "http://x", paired)
    text = config.read_text()
    assert "# Digibench station configuration." in text and "# source = " in text
    loaded = load_config(config)
    assert loaded.image.source == _IMAGE and loaded.image.target == "auto"
    assert loaded.server.token == "dgb_x" and loaded.station.name == "werkbank-noord"


def test_an_image_already_on_the_stick_is_kept(tmp_path: Path) -> None:
    config = tmp_path / "station.toml"
    config.write_text('[image]\nsource = "https://bench.local/images/own.json"\n')
    write_config(config, "http://x", Paired("werkbank-noord", "dgb_x", _IMAGE))
    assert load_config(config).image.source == "https://bench.local/images/own.json"
    bare = tmp_path / "bare.toml"  # no [image] at all, and a server with no image
    write_config(bare, "http://x", Paired("werkbank-zuid", "dgb_y"))
    assert load_config(bare).image.source is None
    write_config(bare, "http://x", Paired("werkbank-zuid", "dgb_y", "file:///etc/passwd"))
    assert load_config(bare).image.source is None  # only an http(s) address is taken
