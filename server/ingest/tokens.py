"""Station tokens: ``dgb_<prefix>_<secret>``, shown once, stored only as a hash.

The prefix is a public lookup key (one indexed query, no scan); the secret is
high-entropy random, so a plain sha256 is enough and a leaked database holds no
usable token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass

#: what a station may be called: on reports, certificates and in URLs
STATION_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
SCHEME = "dgb"
PREFIX_LENGTH = 8
_PREFIX_ALPHABET = string.ascii_lowercase + string.digits


@dataclass(frozen=True)
class NewToken:
    token: str  # the only time the full token exists
    prefix: str
    hash: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> NewToken:
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
    token = f"{SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewToken(token=token, prefix=prefix, hash=hash_token(token))


def split_prefix(token: str) -> str | None:
    """The lookup prefix of a well-formed token, else None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != SCHEME or len(parts[1]) != PREFIX_LENGTH:
        return None
    if not all(c in _PREFIX_ALPHABET for c in parts[1]) or len(parts[2]) < 16:
        return None
    return parts[1]


def matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token), stored_hash)
