"""Signing a report the way the server checks it."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.report.schema import Report, Signature
from agent.signing import public_key_b64, sign


def sign_report(report: Report, key: Ed25519PrivateKey) -> Report:
    """A copy of ``report`` carrying a signature over its JSON form.

    The server verifies over the JSON object it receives, so the report must
    travel as ``report_json(...)`` of the returned model.
    """
    unsigned = report.model_copy(update={"signature": None})
    value = sign(unsigned.model_dump(mode="json"), key)
    return report.model_copy(
        update={"signature": Signature(public_key=public_key_b64(key), value=value)}
    )


def report_json(report: Report) -> bytes:
    """The bytes that go into the outbox and over the wire."""
    return report.model_dump_json().encode("utf-8")
