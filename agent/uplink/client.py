"""Sending the outbox to the server: retries with backoff, TLS verified, bounded.

POST is retried too: the report UUID makes a repeated upload harmless (the
server answers 200 for a report it already has), so a lost answer costs one
more request and never a duplicate.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from agent import __version__
from agent.errors import InputError
from agent.uplink.outbox import Outbox, OutboxEntry

log = logging.getLogger(__name__)

REPORTS_PATH = "/api/v1/reports"
ACKNOWLEDGED = frozenset({200, 201})
#: the server will never take this report as it is: set it aside for a person
REFUSED = frozenset({400, 409, 413, 422})
#: the station's credentials are wrong: nothing else will get through either
AUTH_FAILED = frozenset({401, 403})


@dataclass(frozen=True)
class UplinkConfig:
    server_url: str
    token: str
    ca_file: Path | None = None
    timeout_s: float = 30.0
    retries: int = 5
    backoff_s: float = 0.5

    def __post_init__(self) -> None:
        if not self.server_url.startswith(("https://", "http://")):
            raise InputError(
                f"server URL {self.server_url!r} is not http(s)",
                hint="e.g. --server https://digibench.example.org",
            )
        if not self.token:
            raise InputError(
                "no station token", hint="give --token, DIGIBENCH_TOKEN or the station config"
            )
        if self.ca_file is not None and not self.ca_file.is_file():
            raise InputError(f"{self.ca_file}: CA file not found")


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no answer at all (network down, TLS refused)
    body: Any
    error: str | None = None


def describe(answer: Answer) -> str:
    """The server's answer for a person: its status, code, reason and what to do."""
    body = answer.body
    if not isinstance(body, dict):
        return f"{answer.status} {body}".strip()
    text = f"{answer.status}"
    if body.get("code"):
        text += f" {body['code']}"
    if body.get("detail"):
        text += f": {body['detail']}"
    if body.get("hint"):
        text += f" (hint: {body['hint']})"
    return text


#: why the server refuses a station, as its 403 answer names it
STATION_REFUSALS = ("station_revoked", "station_suspended")


def refusal(answer: Answer) -> str:
    """Which refusal a 401/403 answer is: revoked, suspended, or an unknown token."""
    code = answer.body.get("code") if isinstance(answer.body, dict) else None
    if code in STATION_REFUSALS:
        return str(code)
    detail = answer.body.get("detail", "") if isinstance(answer.body, dict) else ""
    if answer.status == 403 and "revoked" in str(detail):  # a server from before the codes
        return "station_revoked"
    return "station_unknown"


class Uploader:
    def __init__(self, config: UplinkConfig) -> None:
        self.config = config
        self.url = config.server_url.rstrip("/") + REPORTS_PATH
        retry = Retry(
            total=config.retries,
            connect=config.retries,
            read=config.retries,
            status=config.retries,
            backoff_factor=config.backoff_s,
            backoff_max=30,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET", "POST"}),
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        # Passed with every request: a session default would lose to REQUESTS_CA_BUNDLE.
        self.verify: str | bool = str(config.ca_file) if config.ca_file else True
        self.session.headers.update(
            {
                "Authorization": f"Bearer {config.token}",
                "Content-Type": "application/json",
                "User-Agent": f"digibench/{__version__}",
            }
        )

    def send(self, body: bytes) -> Answer:
        try:
            resp = self.session.post(
                self.url, data=body, timeout=self.config.timeout_s, verify=self.verify
            )
        except requests.RequestException as exc:
            return Answer(None, None, f"{type(exc).__name__}: {exc}")
        try:
            payload: Any = resp.json()
        except ValueError:
            payload = resp.text[:2000]
        return Answer(resp.status_code, payload)

    def close(self) -> None:
        self.session.close()


@dataclass
class FlushResult:
    acknowledged: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    remaining: int = 0
    error: str | None = None
    #: the server refused this station itself: station_revoked, station_suspended or
    #: station_unknown (a token it does not know); nothing gets through until a person acts
    refused: str | None = None

    @property
    def ok(self) -> bool:
        return not self.rejected and self.remaining == 0 and self.error is None


def flush(
    outbox: Outbox,
    uploader: Uploader,
    *,
    on_sent: Callable[[OutboxEntry, Answer], None] | None = None,
) -> FlushResult:
    """Send every waiting report once (with the uploader's retries); stop at the first outage."""
    result = FlushResult()
    for entry in outbox.pending():
        try:
            body = entry.path.read_bytes()
        except FileNotFoundError:  # a concurrent flush got it acknowledged
            continue
        except OSError as exc:  # unreadable: skip it, never block the reports behind it
            log.warning("cannot read %s (%s); skipped", entry.path, exc.strerror or exc)
            continue
        answer = uploader.send(body)
        if on_sent is not None:
            on_sent(entry, answer)
        if answer.status in ACKNOWLEDGED:
            outbox.acknowledge(entry)
            result.acknowledged.append(entry.report_id)
        elif answer.status in REFUSED:
            target = outbox.reject(entry, answer.status, answer.body)
            log.warning(
                "server refused %s (%s); kept in %s", entry.report_id, answer.status, target
            )
            result.rejected.append(entry.report_id)
        elif answer.status in AUTH_FAILED:
            result.error = f"the server refused this station: {describe(answer)}"
            result.refused = refusal(answer)
            break
        else:
            result.error = answer.error or f"server answered {answer.status}: {answer.body}"
            break
    result.remaining = len(outbox.pending())
    return result
