"""The audit log is append-only and hash-chained; ``verify-audit`` finds any edit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from server import cli
from server.ingest import audit_chain, models


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DIGIBENCH_DATA_DIR", str(tmp_path / "var"))
    return tmp_path / "var"


def _events(n: int) -> list[models.AuditEvent]:
    return [
        models.AuditEvent.objects.create(
            actor="user:ann",
            action="note.added",
            object_type="device",
            object_id=str(i),
            details={"text": f"note {i}", "n": i, "nested": {"b": 1, "a": [1.5, None]}},
        )
        for i in range(n)
    ]


@pytest.mark.django_db
def test_every_event_links_to_the_one_before(capsys: pytest.CaptureFixture[str]):
    events = _events(3)
    assert events[0].prev_hash == audit_chain.GENESIS
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    assert list(audit_chain.find_breaks(models.AuditEvent.objects.order_by("id"))) == []
    assert cli.main(["verify-audit"]) == 0
    assert "intact: 3 events" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_application_cannot_change_or_delete_an_event():
    event = _events(1)[0]
    event.action = "nothing.happened"
    with pytest.raises(models.AppendOnly):
        event.save()
    with pytest.raises(models.AppendOnly):
        event.delete()
    with pytest.raises(models.AppendOnly):
        models.AuditEvent.objects.filter(pk=event.pk).update(actor="someone else")
    with pytest.raises(models.AppendOnly):
        models.AuditEvent.objects.all().delete()
    assert models.AuditEvent.objects.get().action == "note.added"


@pytest.mark.django_db
def test_a_row_edited_in_the_database_is_found(capsys: pytest.CaptureFixture[str]):
    events = _events(4)
    with connection.cursor() as cur:  # what someone with database access could do
        cur.execute(
            "UPDATE ingest_auditevent SET actor = %s WHERE id = %s", ["user:mallory", events[2].pk]
        )
    assert cli.main(["verify-audit"]) == 1
    err = capsys.readouterr().err
    assert f"audit event #{events[2].pk} " in err and "changed after it was written" in err
    assert f"first at event #{events[2].pk}" in err


@pytest.mark.django_db
def test_a_deleted_row_is_found(capsys: pytest.CaptureFixture[str]):
    events = _events(4)
    with connection.cursor() as cur:
        cur.execute("DELETE FROM ingest_auditevent WHERE id = %s", [events[1].pk])
    assert cli.main(["verify-audit"]) == 1
    assert f"audit event #{events[2].pk} " in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_upgrade_from_the_first_release_chains_the_existing_log():
    """A database made by migrations 0001 only, with events in it, verifies after migrate."""
    executor = MigrationExecutor(connection)
    first = [("ingest", "0001_initial"), ("web", "0001_initial")]
    executor.migrate(first)
    try:
        with connection.cursor() as cur:
            for i in range(3):
                cur.execute(
                    "INSERT INTO ingest_auditevent (at, actor, action, object_type, object_id,"
                    " details) VALUES (%s, %s, %s, %s, %s, %s)",
                    [
                        f"2026-01-0{i + 1}T10:00:00+00:00",
                        "cli",
                        "station.added",
                        "station",
                        f"bench-{i}",
                        '{"public_key": "", "token_prefix": "abcdefgh"}',
                    ],
                )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    events = list(models.AuditEvent.objects.order_by("id"))
    assert len(events) == 3 and all(e.hash for e in events)
    assert list(audit_chain.find_breaks(events)) == []
    new = models.AuditEvent.objects.create(actor="cli", action="station.revoked")
    assert new.prev_hash == events[-1].hash
    models.Station.objects.create(name="old", token_prefix="abcdefgh", token_hash="x")
    assert models.Station.objects.get(name="old").allow_unsigned is False


def test_hash_covers_every_field() -> None:
    from datetime import UTC, datetime

    base: dict[str, Any] = {
        "at": datetime(2026, 1, 1, tzinfo=UTC),
        "actor": "a",
        "action": "b",
        "object_type": "c",
        "object_id": "d",
        "details": {"x": 1},
        "prev_hash": audit_chain.GENESIS,
    }
    digest = audit_chain.event_hash(**base)
    for key, other in (
        ("at", datetime(2026, 1, 1, 0, 0, 0, 1000, tzinfo=UTC)),
        ("actor", "A"),
        ("action", "B"),
        ("object_type", "C"),
        ("object_id", "D"),
        ("details", {"x": 2}),
        ("prev_hash", "1" * 64),
    ):
        assert audit_chain.event_hash(**{**base, key: other}) != digest, key
