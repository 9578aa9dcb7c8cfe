"""``digibench outbox`` and ``digibench upload`` without a server: listing and refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.cli import main as digibench
from agent.report.samples import sample_report
from agent.uplink.outbox import Outbox
from agent.uplink.signed import report_json


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SERVER", "TOKEN", "CA_FILE", "OUTBOX"):
        monkeypatch.delenv(f"DIGIBENCH_{name}", raising=False)
    monkeypatch.setenv("DIGIBENCH_STATION_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")


def test_outbox_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    outbox = Outbox(tmp_path / "ob")
    a = outbox.put(report_json(sample_report(1)))
    b = outbox.put(report_json(sample_report(2)))
    outbox.reject(b, 422, {"code": "invalid_report"})
    assert digibench(["outbox", "list", "--outbox", str(outbox.root)]) == 0
    out = capsys.readouterr().out
    assert f"waiting  {a.report_id}" in out
    assert f"rejected {b.report_id}" in out
    assert "1 waiting, 1 rejected" in out


def test_upload_refuses_everything_when_one_file_is_bad(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    good = tmp_path / "good.json"
    good.write_bytes(report_json(sample_report(1)))
    bad = tmp_path / "bad.json"
    bad.write_text('{"mode": "intake"}')
    args = ["upload", "--outbox", str(tmp_path / "ob"), "--server", "http://127.0.0.1:9"]
    assert digibench([*args, "--token", "dgb_x", str(good), str(bad)]) == 1
    assert "bad.json: the report has no report_id" in capsys.readouterr().err
    assert Outbox(tmp_path / "ob").pending() == []


def test_upload_without_a_server_queues_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    report = tmp_path / "r.json"
    report.write_bytes(report_json(sample_report(1)))
    assert digibench(["upload", "--outbox", str(tmp_path / "ob"), str(report)]) == 1
    assert "no server URL" in capsys.readouterr().err
    assert Outbox(tmp_path / "ob").pending() == []
