"""Ed25519 signatures over canonical JSON, for reports and erasure records.

Each station has its own key pair. A signed document is a JSON object; the
signature covers its canonical form (sorted keys, no whitespace, UTF-8) with
the signature field itself left out, so anyone holding the public key can
check a report or a certificate offline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agent.errors import InputError

PRIVATE_KEY_NAME = "station.key"
PUBLIC_KEY_NAME = "station.pub"


def canonical_json(data: Mapping[str, Any]) -> bytes:
    """The exact bytes a signature covers."""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def key_fingerprint(public_key: str) -> str:
    """A short, readable fingerprint of a public key (base64, as station.pub holds it):
    the station shows its own, the web UI the one it received; a person compares them."""
    digest = hashlib.sha256(public_key.strip().encode("ascii")).hexdigest()[:16].upper()
    return " ".join(digest[i : i + 4] for i in range(0, 16, 4))


def load_public_key(value: str) -> Ed25519PublicKey:
    """A public key from base64 of its 32 raw bytes (what station.pub holds)."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise InputError("not an Ed25519 public key (base64 of 32 bytes expected)") from exc


def sign(data: Mapping[str, Any], key: Ed25519PrivateKey, *, field: str = "signature") -> str:
    """Base64 signature of ``data`` without its ``field``."""
    body = {k: v for k, v in data.items() if k != field}
    return base64.b64encode(key.sign(canonical_json(body))).decode("ascii")


def verify(
    data: Mapping[str, Any], signature: str, public_key: str, *, field: str = "signature"
) -> bool:
    """True only for an intact signature by ``public_key`` over ``data`` less ``field``."""
    body = {k: v for k, v in data.items() if k != field}
    try:
        sig = base64.b64decode(signature, validate=True)
        load_public_key(public_key).verify(sig, canonical_json(body))
    except (InvalidSignature, binascii.Error, ValueError, InputError):
        return False
    return True


def load_or_create_key(key_dir: Path) -> Ed25519PrivateKey:
    """The station's private key from ``key_dir``, made (mode 0600) if missing."""
    key_path = key_dir / PRIVATE_KEY_NAME
    if key_path.exists():
        return load_private_key(key_path)
    key_dir.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    (key_dir / PUBLIC_KEY_NAME).write_text(public_key_b64(key) + "\n")
    return key


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise InputError(f"{path}: cannot read key: {exc.strerror}") from exc
    except ValueError as exc:
        raise InputError(f"{path}: not a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path}: not an Ed25519 key")
    return key
