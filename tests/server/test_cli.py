"""``digibench-server`` station management (serve is exercised by tests/uplink)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agent.signing import public_key_b64
from server import cli
from server.ingest import models, tokens


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DIGIBENCH_DATA_DIR", str(tmp_path / "var"))
    return tmp_path / "var"


@pytest.mark.django_db
def test_add_station_prints_the_token_last_and_stores_only_its_hash(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
):
    key = Ed25519PrivateKey.generate()
    pub = tmp_path / "station.pub"
    pub.write_text(public_key_b64(key) + "\n")
    assert cli.main(["add-station", "bench-7", "--public-key", str(pub)]) == 0
    token = capsys.readouterr().out.splitlines()[-1]
    station = models.Station.objects.get(name="bench-7")
    assert tokens.split_prefix(token) == station.token_prefix
    assert station.token_hash == tokens.hash_token(token) != token
    assert station.public_key == public_key_b64(key)
    assert models.AuditEvent.objects.filter(action="station.added").count() == 1
    assert (data_dir / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.django_db
def test_duplicate_name_and_bad_input_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    assert cli.main(["add-station", "bench-1"]) == 0
    assert cli.main(["add-station", "bench-1"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert cli.main(["add-station", "bad name!"]) == 2
    bad = tmp_path / "bad.pub"
    bad.write_text("not a key")
    assert cli.main(["add-station", "bench-2", "--public-key", str(bad)]) == 2
    assert cli.main(["add-station", "bench-3", "--public-key", str(tmp_path / "missing")]) == 2
    assert list(models.Station.objects.values_list("name", flat=True)) == ["bench-1"]


@pytest.mark.django_db
def test_revoke_station(capsys: pytest.CaptureFixture[str]):
    assert cli.main(["add-station", "bench-1"]) == 0
    assert cli.main(["revoke-station", "bench-1"]) == 0
    assert models.Station.objects.get().revoked_at is not None
    assert cli.main(["revoke-station", "bench-1"]) == 0  # idempotent
    assert cli.main(["revoke-station", "nobody"]) == 2
    capsys.readouterr()
    assert cli.main(["list-stations"]) == 0
    assert "bench-1\trevoked" in capsys.readouterr().out


@pytest.mark.django_db
def test_suspend_station(capsys: pytest.CaptureFixture[str]):
    assert cli.main(["add-station", "bench-1"]) == 0
    assert cli.main(["suspend-station", "bench-1"]) == 0
    assert models.Station.objects.get().suspended_at is not None
    assert cli.main(["suspend-station", "bench-1"]) == 0  # idempotent, audited once
    assert models.AuditEvent.objects.filter(action="station.suspended").count() == 1
    capsys.readouterr()
    assert cli.main(["list-stations"]) == 0
    assert "bench-1\tsuspended" in capsys.readouterr().out
    assert cli.main(["suspend-station", "bench-1", "--resume"]) == 0
    assert models.Station.objects.get().suspended_at is None
    assert models.AuditEvent.objects.filter(action="station.resumed").count() == 1
    assert cli.main(["suspend-station", "nobody"]) == 2
    assert cli.main(["revoke-station", "bench-1"]) == 0
    assert cli.main(["suspend-station", "bench-1", "--resume"]) == 2  # revoked stays revoked


@pytest.mark.django_db
def test_createsuperuser_passes_django_options_through(monkeypatch: pytest.MonkeyPatch):
    from django.contrib.auth.models import User

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "pw-Secret-123")
    args = ["createsuperuser", "--noinput", "--username", "admin", "--email", "a@example.org"]
    assert cli.main(args) == 0
    assert User.objects.get(username="admin").is_superuser
