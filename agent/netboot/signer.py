"""Signing for a laptop that booted from the network: the bench server signs, the laptop
never holds the station's private key.

Laptop side: :class:`RemoteStationKey` stands in for the station key in the pipeline and
sends each document's canonical bytes to the bench server (with its per-boot session
token), then checks the signature it gets back against the station's public key.

Bench side: :func:`check_signable` signs only what a station signs (an erasure record or
a report of this station, in canonical form), so a session token is no general-purpose
signing oracle; the bench server keeps a copy of everything it signed (docs/netboot.md).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Literal, NoReturn

import requests
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import ValidationError

from agent.errors import DigibenchError, InputError
from agent.report.schema import ErasureRecord, Report
from agent.signing import canonical_json, load_public_key

SIGN_PATH = "/netboot/sign"
KEY_PATH = "/netboot/key"
TIMEOUT_S = 30.0
Kind = Literal["erasure", "report"]


class RemoteSigningError(DigibenchError):
    """The bench server did not sign (down, session expired, or it refused the document)."""


class RemoteStationKey(Ed25519PrivateKey):
    """The station key of a network-booted laptop: signatures come from the bench server."""

    def __init__(self, bench_url: str, token: str, *, timeout: float = TIMEOUT_S) -> None:
        self._url = bench_url.rstrip("/")
        self._session = requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"
        self._timeout = timeout
        answer = self._call("GET", KEY_PATH)
        try:
            self._public = load_public_key(str(answer["public_key"]))
        except (KeyError, TypeError, InputError) as exc:
            raise RemoteSigningError(f"the bench server sent no usable key: {exc}") from None

    def _call(self, method: str, path: str, data: bytes | None = None) -> dict[str, Any]:
        try:
            resp = self._session.request(method, self._url + path, data=data, timeout=self._timeout)
            body = resp.json()
        except (requests.RequestException, ValueError) as exc:
            raise RemoteSigningError(
                f"the bench server {self._url} did not answer: {exc}",
                hint="is the bench server running and reachable from this laptop?",
            ) from None
        if resp.status_code != 200 or not isinstance(body, dict):
            raise RemoteSigningError(f"the bench server refused to sign: {body}")
        return body

    def sign(self, data: bytes | bytearray | memoryview) -> bytes:
        data = bytes(data)
        body = self._call("POST", SIGN_PATH, data)
        try:
            signature = base64.b64decode(str(body["signature"]), validate=True)
            self._public.verify(signature, data)
        except (KeyError, binascii.Error, InvalidSignature):
            raise RemoteSigningError("the bench server's signature does not verify") from None
        return signature

    def public_key(self) -> Ed25519PublicKey:
        return self._public

    def _no_private(self, *args: object) -> NoReturn:
        raise RemoteSigningError("a network-booted laptop holds no private key")

    def private_bytes(self, *args: Any, **kwargs: Any) -> bytes:
        self._no_private()

    def private_bytes_raw(self) -> bytes:
        self._no_private()

    def __copy__(self) -> RemoteStationKey:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> RemoteStationKey:
        return self


def check_signable(data: bytes, station: str, public_key: Ed25519PublicKey) -> tuple[Kind, str]:
    """What ``data`` is (kind, its id) if the bench may sign it for ``station``; else InputError.

    It must be the canonical JSON of an erasure record or report (signature left out) that
    names this station, and a report must carry this station's public key."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise InputError("not JSON") from None
    if not isinstance(doc, dict) or canonical_json(doc) != data:
        raise InputError("not a document in canonical form")
    if "signature" in doc:
        raise InputError("the signature field is not signed")
    try:
        if "record_id" in doc:
            record = ErasureRecord.model_validate(doc)
            if record.station != station:
                raise InputError(f"an erasure record of station {record.station!r}")
            return "erasure", str(record.record_id)
        report = Report.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors()[0]["msg"]
        raise InputError(f"neither an erasure record nor a report: {first}") from None
    mine = base64.b64encode(
        public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    ).decode("ascii")
    if report.station.name != station:
        raise InputError("a report of another station")
    if (report.station.public_key or "").strip() != mine:
        raise InputError("a report that names another station key")
    return "report", str(report.report_id)
