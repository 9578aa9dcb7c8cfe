"""Django for the server tests only: the agent's tests never import it.

``DATABASE_URL`` picks the database (the Makefile runs this suite a second
time against PostgreSQL); pytest-django makes a throwaway test database.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")

import django

django.setup()

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from django.test import Client  # noqa: E402

from agent.signing import public_key_b64  # noqa: E402
from server.ingest import models, tokens  # noqa: E402


@dataclass
class RegisteredStation:
    station: models.Station
    token: str
    key: Ed25519PrivateKey

    @property
    def auth(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}


@pytest.fixture
def make_station(db: Any) -> Callable[..., RegisteredStation]:
    def make(name: str = "bench-1", *, with_key: bool = True) -> RegisteredStation:
        key = Ed25519PrivateKey.generate()
        new = tokens.new_token()
        station = models.Station.objects.create(
            name=name,
            public_key=public_key_b64(key) if with_key else "",
            token_prefix=new.prefix,
            token_hash=new.hash,
        )
        return RegisteredStation(station, new.token, key)

    return make


@pytest.fixture
def station(make_station: Callable[..., RegisteredStation]) -> RegisteredStation:
    return make_station()


@pytest.fixture
def api() -> Client:
    return Client()


def stored_counts() -> dict[str, int]:
    """How many rows each table holds: 'changes nothing stored' is checked with this."""
    return {
        m.__name__: m.objects.count()
        for m in (
            models.Run,
            models.Device,
            models.Disk,
            models.ErasureRecord,
            models.ImageRecord,
            models.Grade,
            models.AuditEvent,
        )
    }
