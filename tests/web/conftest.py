"""Fixtures for the web UI: role users, a station, and reports stored through the ingest path."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")

import django

django.setup()

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.test import Client  # noqa: E402

from agent.erase.record import sign_record  # noqa: E402
from agent.report.samples import sample_report  # noqa: E402
from agent.report.schema import Report  # noqa: E402
from agent.signing import public_key_b64  # noqa: E402
from agent.uplink.signed import report_json, sign_report  # noqa: E402
from server.ingest import models, service, tokens  # noqa: E402
from server.web import roles  # noqa: E402
from server.web.models import DeviceStatus  # noqa: E402
from tests.server.conftest import make_station  # noqa: E402, F401 (a fixture for these tests too)

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def _cert_key(settings: Any, tmp_path: Path) -> None:
    settings.DIGIBENCH_CERT_KEY_DIR = str(tmp_path / "certificate-key")
    settings.LANGUAGE_CODE = "en"


def make_user(name: str, role: str | None, **extra: Any) -> User:
    roles.ensure_groups()
    user = User.objects.create_user(name, password=PASSWORD, **extra)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def coordinator(db: Any) -> User:
    return make_user("carla", roles.COORDINATOR)


@pytest.fixture
def technician(db: Any) -> User:
    return make_user("tom", roles.TECHNICIAN)


def client_for(user: User) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(user)
    return c


@pytest.fixture
def coord_client(coordinator: User) -> Client:
    return client_for(coordinator)


@pytest.fixture
def tech_client(technician: User) -> Client:
    return client_for(technician)


@pytest.fixture
def station_key(db: Any) -> tuple[models.Station, Ed25519PrivateKey]:
    key = Ed25519PrivateKey.generate()
    new = tokens.new_token()
    st = models.Station.objects.create(
        name="bench-1", public_key=public_key_b64(key), token_prefix=new.prefix, token_hash=new.hash
    )
    return st, key


def station_body(report: Report, key: Ed25519PrivateKey, *, sign_records: bool = True) -> bytes:
    """What a station uploads: every erasure record signed (if a test has not), then the report."""
    records = [
        r if r.signature or not sign_records else sign_record(r, key) for r in report.erasures
    ]
    report = report.model_copy(update={"erasures": records})
    return report_json(sign_report(report, key))


@pytest.fixture
def store(
    station_key: tuple[models.Station, Ed25519PrivateKey],
) -> Callable[..., DeviceStatus]:
    """Store the ``n``-th sample report (optionally changed by ``edit``) as a station would."""
    st, key = station_key

    def do(
        n: int,
        edit: Callable[[Report], None] | None = None,
        *,
        sign_records: bool = True,
        **kw: Any,
    ) -> DeviceStatus:
        report = sample_report(n, station=st.name, **kw)
        if edit is not None:
            edit(report)
        result = service.ingest(st, station_body(report, key, sign_records=sign_records))
        return DeviceStatus.objects.get(device=result.run.device)

    return do
