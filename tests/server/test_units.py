"""Tokens, device identity and settings: the small pieces the API rests on."""

from __future__ import annotations

import uuid

import pytest

from agent.report.samples import sample_report
from server.ingest import identity, tokens


def test_tokens_are_random_prefixed_and_checked_by_hash():
    a, b = tokens.new_token(), tokens.new_token()
    assert a.token != b.token and a.prefix != b.prefix
    assert a.token.startswith(f"dgb_{a.prefix}_")
    assert tokens.split_prefix(a.token) == a.prefix
    assert tokens.matches(a.token, a.hash)
    assert not tokens.matches(b.token, a.hash)
    for bad in ("", "dgb_", "dgb_short_x", "xyz_abcdefgh_" + "a" * 40, "dgb_ABCDEFGH_" + "a" * 40):
        assert tokens.split_prefix(bad) is None


@pytest.mark.parametrize(
    ("serial", "dmi_uuid", "tag", "key"),
    [
        ("PF1ABCDE", None, None, "serial:lenovo:PF1ABCDE"),
        ("  PF1ABCDE ", None, None, "serial:lenovo:PF1ABCDE"),
        (
            "To Be Filled By O.E.M.",
            "4C4C4544-0042-3510-8051-B7C04F4E4E32",
            None,
            "uuid:4c4c4544-0042-3510-8051-b7c04f4e4e32",
        ),
        ("0000000000", "00000000-0000-0000-0000-000000000000", "DG-1", "asset:DG-1"),
        (None, "not-a-uuid", " DG-2 ", "asset:DG-2"),
    ],
)
def test_identity_key(serial: str | None, dmi_uuid: str | None, tag: str | None, key: str):
    report = sample_report(1, asset_tag=tag or "")
    report.asset_tag = tag
    report.device.serial = serial
    report.device.uuid = dmi_uuid
    assert identity.identity_key(report) == key


def test_unidentifiable_laptop_is_its_own_device():
    report = sample_report(1, report_id=uuid.uuid4())
    report.asset_tag = report.device.serial = report.device.uuid = None
    assert identity.identity_key(report) == f"report:{report.report_id}"


def test_database_url_selects_postgresql(monkeypatch: pytest.MonkeyPatch):
    from server import settings

    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@127.0.0.1:5433/dbx")
    db = settings._database()
    assert (db["ENGINE"], db["NAME"], db["PORT"]) == ("django.db.backends.postgresql", "dbx", 5433)
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("DIGIBENCH_DATA_DIR", "/srv/digi")
    db = settings._database()
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == "/srv/digi/digibench.sqlite3"
