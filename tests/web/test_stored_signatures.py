"""Erasure record signatures are checked once, when the report arrives, and stored.

The evidence rules trust only a stored "valid"; a database edited behind the server's back
is found by ``digibench-server verify-signatures``, which checks every stored signature again.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import connection

from agent.erase.record import sign_record
from agent.report.schema import ErasureResult, Report
from server import cli
from server.ingest import models
from server.web import evidence
from server.web.models import DeviceStatus


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DIGIBENCH_DATA_DIR", str(tmp_path / "var"))
    return tmp_path / "var"


def _records(status: DeviceStatus) -> dict[str, str]:
    rows = models.ErasureRecord.objects.filter(run__device_id=status.pk)
    return dict(rows.values_list("method", "signature_status"))


def test_ingest_stores_each_records_signature_status(
    store: Callable[..., DeviceStatus], station_key: tuple[Any, Any]
) -> None:
    _station, key = station_key

    def forged(report: Report) -> None:
        good = sign_record(report.erasures[0], key)
        bad = sign_record(report.erasures[1], key).model_copy(update={"method": "zero-fill"})
        report.erasures = [good, bad]

    assert _records(store(6, forged)) == {"nvme-format-crypto": "valid", "zero-fill": "invalid"}
    unsigned = store(7, sign_records=False)
    assert set(_records(unsigned).values()) == {"unsigned"}
    assert [m.code for m in evidence.erasure_missing(unsigned)] == ["disk_signature"] * 2


def test_evidence_refuses_a_record_whose_stored_status_is_not_valid(
    store: Callable[..., DeviceStatus],
) -> None:
    status = store(8)
    assert evidence.erasure_proven(status)
    models.ErasureRecord.objects.filter(
        run__device_id=status.pk, method="nvme-format-crypto"
    ).update(signature_status="invalid")
    missing = evidence.erasure_missing(status)
    assert [(m.code, m.params["status"]) for m in missing] == [("disk_signature", "invalid")]


def test_the_migration_back_fills_stored_reports(
    store: Callable[..., DeviceStatus], station_key: tuple[Any, Any]
) -> None:
    _station, key = station_key

    def forged(report: Report) -> None:
        report.erasures = [
            sign_record(report.erasures[0], key),
            sign_record(report.erasures[1], key).model_copy(update={"method": "zero-fill"}),
        ]

    good, tampered = store(9), store(10, forged)
    # as a database made before the column existed: every record at the column's default
    models.ErasureRecord.objects.update(signature_status="unsigned")
    migration = importlib.import_module(
        "server.ingest.migrations.0005_h16c_erasure_signature_status"
    )
    migration.backfill(apps, connection.schema_editor())
    assert set(_records(good).values()) == {"valid"}
    assert sorted(_records(tampered).values()) == ["invalid", "valid"]


def test_verify_signatures_finds_a_database_edited_after_ingest(
    store: Callable[..., DeviceStatus], capsys: pytest.CaptureFixture[str]
) -> None:
    status = store(11)
    assert cli.main(["verify-signatures"]) == 0
    assert "signatures intact: 1 reports, 2 records" in capsys.readouterr().out

    def failed(report: Report) -> None:
        report.erasures[1].result = ErasureResult.FAILED
        report.erasures[1].verification_passed = False

    bad = store(12, failed)
    assert not evidence.erasure_proven(bad)
    # someone with database access turns the failed wipe into a proven one
    row = models.ErasureRecord.objects.get(run__device_id=bad.pk, result="failed")
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE ingest_erasurerecord SET result = %s, verification_passed = %s WHERE id = %s",
            ["erased", True, row.pk],
        )
    assert evidence.erasure_proven(bad)  # the stored row is what the pages read...
    assert cli.main(["verify-signatures"]) == 1  # ...and the re-check finds the edit
    err = capsys.readouterr().err
    assert f"record {row.record_id}: result is 'erased', signed 'failed'" in err
    assert "1 stored signature problem" not in err and "problem(s) in 2 reports" in err

    # a raw report body edited, and a forged record marked valid
    run = models.Run.objects.get(device_id=status.pk)
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE ingest_run SET raw_body = REPLACE(raw_body, %s, %s) WHERE id = %s",
            ["nvme-format-crypto", "zero-fill", run.pk],
        )
    assert cli.main(["verify-signatures"]) == 1
    err = capsys.readouterr().err
    assert f"run {run.report_id}: the stored report does not match its hash" in err
    assert f"run {run.report_id}: the report signature no longer verifies" in err
    assert "stored as valid, the signature is invalid" in err
