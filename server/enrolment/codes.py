"""The codes of a pairing (RFC 8628): a secret device code the station keeps, and a short
user code a person reads off the station's screen and types into the web UI.

User codes use 20 consonants a volunteer cannot misread or mistype on AZERTY or QWERTY
(no vowels: no words; no Q, W, Z, A, M that the two layouts move; no I/O/L/1/0),
8 of them: 20^8 = 2.56e10 codes, against a handful of guesses an hour per person.
"""

from __future__ import annotations

import hashlib
import secrets

USER_CODE_ALPHABET = "BCDFGHJKNPRSTVX23456"
USER_CODE_LENGTH = 8


def new_user_code() -> str:
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def show_user_code(code: str) -> str:
    """``BCDF-GHJK``: how screens and the web UI show a user code."""
    return f"{code[:4]}-{code[4:]}"


def normalise_user_code(typed: str) -> str | None:
    """What a person typed (any case, dashes, spaces) as a user code, or None."""
    code = "".join(c for c in typed.upper() if c.isalnum())
    if len(code) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in code):
        return None
    return code


def new_device_code() -> str:
    return secrets.token_urlsafe(32)


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()
