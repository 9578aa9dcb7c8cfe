"""``digibench enrol``: pair this station with a server from the web UI, no shell there.

The station asks the server for a pairing (RFC 8628), shows the short code and a QR code
to the admin, and waits; the admin types the code in "Stations → Koppelen" and approves.
The station then collects its token once and writes it, with the server's address and the
name the admin gave, into its station config (comments and other settings kept).

The steps (:func:`begin`, :func:`wait`, :func:`write_config`) are the one code path: the
text command here (headless sticks, boot.cfg) and the enrolment screens
(:mod:`agent.tui.enrol_app`, what a new stick boots into) both take them.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from agent.cli import summary
from agent.errors import DigibenchError
from agent.fsutil import write_atomic
from agent.tui.i18n import _, set_language

if TYPE_CHECKING:  # requests and the keys load when a pairing starts, not for --help
    import requests

EXIT_OK = 0
START = "/api/v1/enrolments"
TOKEN = "/api/v1/enrolments/token"


@dataclass(frozen=True)
class Pairing:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int
    key_fingerprint: str


@dataclass(frozen=True)
class Paired:
    station: str
    token: str
    image_source: str = ""  # the OS image's manifest the server hands out, if it has one


class PairingRefused(DigibenchError):
    """The server said no: ``code`` is denied, expired, used or ended."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class Unreachable(DigibenchError):
    """No answer from the server (network, DNS, TLS): worth trying again later."""


class Cancelled(DigibenchError):
    """The volunteer stopped waiting (the screen's cancel key)."""


def _post(session: requests.Session, url: str, body: dict[str, str]) -> tuple[int, Any]:
    import requests

    try:
        answer = session.post(url, json=body, timeout=30)
    except requests.RequestException as exc:
        raise Unreachable(
            _("The server at {url} cannot be reached: {error}").format(url=url, error=exc),
            hint=_("check the address and the network cable, then try again"),
        ) from None
    try:
        return answer.status_code, answer.json()
    except ValueError:
        raise DigibenchError(
            _("{url} does not answer as a Digibench server (HTTP {status})").format(
                url=url, status=answer.status_code
            )
        ) from None


def start(session: requests.Session, server: str, public_key: str, name_hint: str) -> Pairing:
    status, data = _post(
        session, server.rstrip("/") + START, {"public_key": public_key, "name_hint": name_hint}
    )
    if status != 201 or not isinstance(data, dict):
        error = data.get("error", "") if isinstance(data, dict) else ""
        raise DigibenchError(
            _("The server refused to start a pairing ({error}); try again in a few minutes").format(
                error=error or status
            )
        )
    try:
        return Pairing(
            device_code=str(data["device_code"]),
            user_code=str(data["user_code"]),
            verification_uri=str(data["verification_uri"]),
            verification_uri_complete=str(data.get("verification_uri_complete", "")),
            expires_in=int(data["expires_in"]),
            interval=max(1, int(data.get("interval", 5))),
            key_fingerprint=str(data.get("key_fingerprint", "")),
        )
    except (KeyError, TypeError, ValueError):
        raise DigibenchError(_("The server's answer to a pairing request is incomplete")) from None


#: the longest pause between two polls while the server cannot be reached
MAX_BACKOFF = 60


def poll(session: requests.Session, server: str, pairing: Pairing) -> Paired | str:
    """One poll: the token, or the RFC's ``authorization_pending`` / ``slow_down``.

    A refusal (denied, expired, already used) raises :class:`PairingRefused`."""
    status, data = _post(session, server.rstrip("/") + TOKEN, {"device_code": pairing.device_code})
    error = data.get("error") if isinstance(data, dict) else None
    if status == 200 and isinstance(data, dict) and data.get("token"):
        image = data.get("image_source")
        return Paired(
            station=str(data.get("station", "")),
            token=str(data["token"]),
            image_source=image if isinstance(image, str) else "",
        )
    if error in ("authorization_pending", "slow_down"):
        return str(error)
    if error == "access_denied":
        raise PairingRefused(_("The pairing was refused in the web UI."), code="denied")
    if error == "expired_token":
        raise PairingRefused(
            _("The pairing code expired. Start the pairing again."), code="expired"
        )
    if error == "invalid_grant":
        raise PairingRefused(
            _("This pairing code was already used or is unknown. Start the pairing again."),
            code="used",
        )
    raise PairingRefused(
        _("The server ended the pairing ({error}). Start the pairing again.").format(
            error=error or status
        ),
        code="ended",
    )


def wait(
    session: requests.Session,
    server: str,
    pairing: Pairing,
    *,
    sleep: Callable[[float], object] = time.sleep,
    cancelled: Callable[[], bool] = lambda: False,
    on_retry: Callable[[str], None] | None = None,
) -> Paired:
    """Poll until the admin decides (RFC 8628 section 3.5: wait the interval, slow down).

    A server that does not answer for a while is polled again with a growing pause (up to
    :data:`MAX_BACKOFF`), each failure reported to ``on_retry``; ``cancelled`` is asked
    after every pause, so a screen can stop the wait at once (its ``sleep`` wakes up)."""
    interval = pairing.interval
    delay = interval
    waited = 0.0
    while waited <= pairing.expires_in + interval:
        sleep(delay)
        waited += delay
        if cancelled():
            raise Cancelled(_("Pairing stopped."))
        try:
            answer = poll(session, server, pairing)
        except Unreachable as exc:
            if on_retry is not None:
                on_retry(str(exc))
            delay = min(max(delay * 2, interval), MAX_BACKOFF)
            continue
        if isinstance(answer, Paired):
            return answer
        if answer == "slow_down":
            interval += 5
        delay = interval
    raise PairingRefused(_("The pairing code expired. Start the pairing again."), code="expired")


def write_config(path: Path, server: str, paired: Paired) -> None:
    """Put the server, token and name into the station config, keeping everything else.

    The OS image the server hands out becomes ``[image] source`` only when the stick names
    none: an image chosen on the stick (a local copy, a bench server's) stays."""
    import tomlkit

    text = path.read_text(encoding="utf-8") if path.exists() else ""
    doc = tomlkit.parse(text)
    station = doc.setdefault("station", tomlkit.table())
    station["name"] = paired.station
    section = doc.setdefault("server", tomlkit.table())
    section["url"] = server
    section["token"] = paired.token
    if paired.image_source.startswith(("https://", "http://")):
        image = doc.setdefault("image", tomlkit.table())
        if not str(image.get("source") or "").strip():
            image["source"] = paired.image_source
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, tomlkit.dumps(doc).encode("utf-8"), mode=0o600)


def show(pairing: Pairing, out: TextIO) -> None:
    """What the admin needs on the station's screen: the code, a QR code, where to type it."""
    import segno

    print(_("Pair this station with the server"), file=out)
    print(_("Open {uri} and type this code:").format(uri=pairing.verification_uri), file=out)
    print(f"\n        {pairing.user_code}\n", file=out)
    # the station's own key, computed here: what the admin must find in the web UI
    print(_("Key fingerprint: {fp}").format(fp=pairing.key_fingerprint), file=out)
    qr = segno.make_qr(pairing.verification_uri_complete or pairing.verification_uri)
    qr.terminal(out=out, compact=True)
    print(_("Waiting for approval (the code is valid for {minutes} minutes)...").format(
        minutes=pairing.expires_in // 60), file=out, flush=True)  # fmt: skip


def begin(session: requests.Session, server: str, key_dir: Path, *, name_hint: str = "") -> Pairing:
    """Make (or load) the station's key and ask ``server`` for a pairing for it.

    Refuses a pairing whose fingerprint (computed by the server) is not this key's: the
    admin compares the fingerprint the station shows with the one in the web UI."""
    if not server.startswith(("https://", "http://")):
        raise DigibenchError(
            _("{server} is not a server address").format(server=server),
            hint="https://digibench.example.org",
        )
    from agent.signing import key_fingerprint, load_or_create_key, public_key_b64

    key = load_or_create_key(key_dir)
    public_key = public_key_b64(key)
    pairing = start(session, server, public_key, name_hint or socket.gethostname())
    if pairing.key_fingerprint != key_fingerprint(public_key):
        raise DigibenchError(
            _("The server received another key than this station's: not paired"),
            hint=_("something between this station and the server changes what it sends"),
        )
    return pairing


def enrol(
    server: str,
    config: Path,
    key_dir: Path,
    *,
    name_hint: str = "",
    out: TextIO = sys.stdout,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Paired:
    """The text command's whole pairing: the same steps the enrolment screen takes."""
    if session is None:
        import requests

        session = requests.Session()
    pairing = begin(session, server, key_dir, name_hint=name_hint)
    show(pairing, out)

    def retrying(error: str) -> None:
        print(_("No answer from the server ({error}); trying again.").format(error=error),
              file=out, flush=True)  # fmt: skip

    paired = wait(session, server, pairing, sleep=sleep, on_retry=retrying)
    write_config(config, server, paired)
    print(_("Paired as station {name}. The settings are in {path}.").format(
        name=paired.station, path=config), file=out)  # fmt: skip
    return paired


def _cmd_enrol(args: argparse.Namespace) -> int:
    from agent.config import config_path, load_config

    set_language(args.language)
    path, _named = config_path(args.config)
    current = load_config(path) if path.exists() else None
    server = args.server or (current.server.url if current else None) or ""
    # the key the station will sign its reports with (the config's data folder)
    key_dir = args.key_dir or (current.key_dir if current else path.parent / "keys")
    if args.screen:  # the enrolment screens: the address may be found or typed there
        from agent.tui.enrol_app import run_screen

        return run_screen(path, key_dir, server, name_hint=args.name_hint, language=args.language)
    if not server:
        raise DigibenchError(
            _("No server address to pair with"),
            hint=_("give it: digibench enrol https://digibench.example.org"),
        )
    enrol(server, path, key_dir, name_hint=args.name_hint)
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("enrol", help=summary("enrol"))
    p.add_argument(
        "server", nargs="?", help="the server's address (default: [server] url of the config)"
    )
    p.add_argument("--config", type=Path, help="station config to write (default: the usual)")
    p.add_argument(
        "--key-dir", type=Path, help="the station key's folder (default: keys/ next to the config)"
    )
    p.add_argument("--name-hint", default="", help="a name to suggest (default: the host name)")
    p.add_argument("--language", default="nl", choices=["nl", "en"])
    p.add_argument(
        "--screen",
        action="store_true",
        help="pair on the enrolment screens (finds the server on the network); exit 1 if not",
    )
    p.set_defaults(func=_cmd_enrol)
