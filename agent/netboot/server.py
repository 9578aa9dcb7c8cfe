"""The bench server: boots laptops from the network and stands in for the station.

It serves the iPXE script, the live kernel and initramfs and the OS image (each from one
cached copy, byte ranges included: see cache.py), gives each laptop that boots a per-boot
session and its config, signs the laptop's erasure records and reports with the bench
station's key (which never leaves this machine), keeps the reports in the station's outbox
here and delivers them, and passes heartbeats on to the central server.

Plain HTTP on the bench's own network, by design: PXE firmware speaks nothing else, and
what travels is either public (the live system, the OS image) or short-lived (a
session). docs/netboot.md has the threat model.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.config import StationConfig
from agent.errors import InputError
from agent.netboot.cache import CHUNK, FileCache, NotServed, RangeNotSatisfiable, parse_range
from agent.netboot.ipxe import boot_script
from agent.netboot.laptop_config import LaptopSettings, laptop_config, normal_mac
from agent.netboot.sessions import Session, Sessions
from agent.netboot.signer import KEY_PATH, SIGN_PATH, check_signable
from agent.signing import public_key_b64
from agent.uplink.client import ACKNOWLEDGED, REPORTS_PATH, Answer, Uploader, flush
from agent.uplink.heartbeat import PATH as HEARTBEAT_PATH
from agent.uplink.outbox import Outbox

log = logging.getLogger(__name__)

JOIN_PATH = "/netboot/join"
STATS_PATH = "/netboot/stats"
MAX_BODY = 64 << 20  # a report with every raw tool output stays far below this
FLUSH_EVERY_S = 60.0
#: who may join by default: loopback and the private ranges a bench network uses
DEFAULT_ALLOW = ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128",
                 "fc00::/7")  # fmt: skip


@dataclass
class Bench:
    """Everything a request handler needs; one per bench server."""

    config_path: Path
    config: StationConfig
    key: Ed25519PrivateKey
    public_url: str
    live: FileCache
    images: FileCache
    image_manifest: str | None
    ipxe: FileCache | None
    sessions: Sessions
    laptops: dict[str, LaptopSettings]
    outbox: Outbox
    uploader: Uploader
    kernel_args: str = ""
    allow: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)
    forward: Callable[[str, bytes], Answer] | None = None
    _flush_lock: threading.Lock = field(default_factory=threading.Lock)

    def allowed(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return any(ip in net for net in self.allow)

    def deliver(self) -> dict[str, Answer]:
        """Send what waits in the outbox; the central server's answer per report id."""
        answers: dict[str, Answer] = {}
        with self._flush_lock:
            result = flush(
                self.outbox, self.uploader, on_sent=lambda e, a: answers.__setitem__(e.report_id, a)
            )
        if result.error:
            log.warning("netboot: reports wait at the bench server: %s", result.error)
        return answers

    def post_upstream(self, path: str, body: bytes) -> Answer:
        """POST ``body`` to the central server as the bench station."""
        if self.forward is not None:
            return self.forward(path, body)
        url = self.uploader.config.server_url.rstrip("/") + path
        try:
            resp = self.uploader.session.post(
                url, data=body, timeout=self.uploader.config.timeout_s, verify=self.uploader.verify
            )
        except requests.RequestException as exc:
            return Answer(None, None, f"{type(exc).__name__}: {exc}")
        try:
            payload: Any = resp.json()
        except ValueError:
            payload = resp.text[:2000]
        return Answer(resp.status_code, payload)


class _Refused(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Handler(BaseHTTPRequestHandler):
    bench: Bench  # set on the subclass make_server() builds
    server_version = "digibench-bench"

    # ---------------------------------------------------------------- plumbing

    def log_message(self, format: str, *args: Any) -> None:
        log.info("netboot: %s %s", self.address_string(), format % args)

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _text(self, status: int, text: str, content_type: str = "text/plain") -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise _Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too large")
        return self.rfile.read(length)

    def _session(self) -> Session:
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else None
        session = self.bench.sessions.check(token)
        if session is None:
            raise _Refused(HTTPStatus.UNAUTHORIZED, "no valid session: boot the laptop again")
        return session

    def _handle(
        self, routes: dict[str, Callable[[], None]], prefixes: dict[str, Callable[[str], None]]
    ) -> None:
        path = self.path.split("?", 1)[0]
        try:
            if path in routes:
                routes[path]()
                return
            for prefix, route in prefixes.items():
                if path.startswith(prefix):
                    route(path.removeprefix(prefix))
                    return
            raise _Refused(HTTPStatus.NOT_FOUND, f"{path} is not served here")
        except _Refused as exc:
            self._json(exc.status, {"detail": exc.message})
        except NotServed as exc:
            self._json(HTTPStatus.NOT_FOUND, {"detail": exc.message})
        except (BrokenPipeError, ConnectionResetError):
            log.info("netboot: %s went away", self.address_string())

    # ---------------------------------------------------------------- routes

    def do_GET(self) -> None:
        self._handle(
            {"/boot.ipxe": self._boot_script, KEY_PATH: self._key, STATS_PATH: self._stats},
            {"/live/": self._live, "/images/": self._image, "/ipxe/": self._ipxe},
        )

    do_HEAD = do_GET

    def do_POST(self) -> None:
        self._handle(
            {
                JOIN_PATH: self._join,
                SIGN_PATH: self._sign,
                HEARTBEAT_PATH: self._heartbeat,
                REPORTS_PATH: self._report,
            },
            {},
        )

    def _boot_script(self) -> None:
        self._text(200, boot_script(self.bench.public_url, self.bench.kernel_args))

    def _key(self) -> None:
        self._json(200, {"public_key": public_key_b64(self.bench.key),
                         "station": self.bench.config.station.name})  # fmt: skip

    def _stats(self) -> None:
        self._json(200, {"live": self.bench.live.fills, "images": self.bench.images.fills})

    def _live(self, name: str) -> None:
        self._send_file(self.bench.live.path(name))

    def _ipxe(self, name: str) -> None:
        if self.bench.ipxe is None:
            raise _Refused(HTTPStatus.NOT_FOUND, "no iPXE binaries here (apt install ipxe)")
        self._send_file(self.bench.ipxe.path(name))

    def _image(self, name: str) -> None:
        self._send_file(self.bench.images.path(name))

    def _send_file(self, path: Path) -> None:
        st = path.stat()
        size = st.st_size
        etag = f'"{size:x}-{st.st_mtime_ns:x}"'
        wanted = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if if_range and if_range != etag:
            wanted = None  # the file changed since: the whole file
        try:
            rng = parse_range(wanted, size)
        except RangeNotSatisfiable:
            self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, length = (0, size) if rng is None else (rng.start, rng.length)
        self.send_response(HTTPStatus.OK if rng is None else HTTPStatus.PARTIAL_CONTENT)
        if rng is not None:
            self.send_header("Content-Range", f"bytes {rng.start}-{rng.end}/{size}")
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", formatdate(st.st_mtime, usegmt=True))
        self.end_headers()
        if self.command == "HEAD":
            return
        with path.open("rb") as fh:
            fh.seek(start)
            left = length
            while left > 0:
                chunk = fh.read(min(CHUNK, left))
                if not chunk:
                    break
                self.wfile.write(chunk)
                left -= len(chunk)

    def _join(self) -> None:
        if not self.bench.allowed(self.client_address[0]):
            raise _Refused(HTTPStatus.FORBIDDEN, "this address may not boot from this bench")
        try:
            asked = json.loads(self._body() or b"{}")
            mac = normal_mac(str(asked.get("mac", "")))
        except (ValueError, AttributeError, InputError) as exc:
            raise _Refused(HTTPStatus.BAD_REQUEST, f'join with {{"mac": ...}}: {exc}') from None
        token = self.bench.sessions.open(mac)
        made = laptop_config(
            self.bench.config_path,
            bench_url=self.bench.public_url,
            token=token,
            image_manifest=self.bench.image_manifest,
            settings=self.bench.laptops.get(mac),
        )
        log.info("netboot: laptop %s joined (%s)", mac, "headless" if made.headless else "TUI")
        self._json(201, {"station_toml": made.station_toml, "policy_toml": made.policy_toml,
                         "headless": made.headless})  # fmt: skip

    def _sign(self) -> None:
        session = self._session()
        data = self._body()
        try:
            kind, ident = check_signable(
                data, self.bench.config.station.name, self.bench.key.public_key()
            )
        except InputError as exc:
            log.warning("netboot: refused to sign for %s: %s", session.laptop, exc.message)
            raise _Refused(HTTPStatus.UNPROCESSABLE_ENTITY, exc.message) from None
        signature = self.bench.key.sign(data)
        kept = self.bench.config.record_dir / "netboot" / f"{kind}-{ident}.json"
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_bytes(data)  # what was signed, for the bench's own records
        log.info("netboot: signed %s %s for laptop %s", kind, ident, session.laptop)
        self._json(200, {"signature": base64.b64encode(signature).decode("ascii")})

    def _heartbeat(self) -> None:
        self._session()
        answer = self.bench.post_upstream(HEARTBEAT_PATH, self._body())
        if answer.status is None:
            raise _Refused(HTTPStatus.BAD_GATEWAY, answer.error or "the server is unreachable")
        self._json(answer.status, answer.body)

    def _report(self) -> None:
        session = self._session()
        try:
            entry = self.bench.outbox.put(self._body(), source=f"netboot laptop {session.laptop}")
        except InputError as exc:
            raise _Refused(HTTPStatus.UNPROCESSABLE_ENTITY, exc.message) from None
        answer = self.bench.deliver().get(entry.report_id)
        refused = answer is not None and answer.status not in (None, *ACKNOWLEDGED)
        if refused and not any(e.report_id == entry.report_id for e in self.bench.outbox.pending()):
            assert answer is not None and answer.status is not None
            self._json(answer.status, answer.body)  # the server refused it: say why
            return
        delivered = answer is not None and answer.status in ACKNOWLEDGED
        # kept in this bench's outbox either way: the laptop's RAM may go now
        self._json(201, {"report_id": entry.report_id, "delivered": delivered})


def make_server(bench: Bench, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("BenchHandler", (Handler,), {"bench": bench})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def keep_delivering(bench: Bench, stop: threading.Event, every_s: float = FLUSH_EVERY_S) -> None:
    """Retry what waits in the outbox now and then (the central server was down)."""
    while not stop.wait(every_s):
        if bench.outbox.pending():
            bench.deliver()
