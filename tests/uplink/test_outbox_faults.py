"""The outbox when the stick misbehaves: odd entries, refused versions, a full partition."""

from __future__ import annotations

import errno
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from agent import fsutil
from agent.cli import main as digibench
from agent.report.samples import sample_report
from agent.uplink.client import Answer, Uploader, flush
from agent.uplink.outbox import Outbox
from agent.uplink.signed import report_json


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("SERVER", "TOKEN", "CA_FILE", "OUTBOX"):
        monkeypatch.delenv(f"DIGIBENCH_{name}", raising=False)
    monkeypatch.setenv("DIGIBENCH_STATION_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")


class _Acknowledging:
    """The server's side of a flush reduced to its answer: every report taken (201)."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, body: bytes) -> Answer:
        self.sent.append(body)
        return Answer(201, {})


def test_a_folder_named_like_a_report_blocks_nothing(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "ob")
    (outbox.root / "rejected").mkdir(parents=True)
    (outbox.root / "0-x.json").mkdir()  # sorts first
    a = outbox.put(report_json(sample_report(1)))
    server = _Acknowledging()
    result = flush(outbox, cast(Uploader, server))
    assert result.acknowledged == [a.report_id] and len(server.sent) == 1
    assert outbox.root / "0-x.json" in outbox.unreadable()


def test_a_symlink_loop_is_listed_as_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outbox = Outbox(tmp_path / "ob")
    a = outbox.put(report_json(sample_report(1)))
    (outbox.root / "loop.json").symlink_to(outbox.root / "loop.json")
    assert digibench(["outbox", "list", "--outbox", str(outbox.root)]) == 0
    out = capsys.readouterr().out
    assert f"waiting  {a.report_id}" in out and "skipped" in out and "loop.json" in out


def test_every_refused_version_keeps_its_own_file(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "ob")
    report = sample_report(1)
    first = report_json(report)
    entry = outbox.put(first)
    kept1 = outbox.reject(entry, 409, {"code": "conflict"})
    report.asset_tag = "DB-OTHER"
    second = report_json(report)
    entry = outbox.put(second)
    kept2 = outbox.reject(entry, 422, {"code": "invalid_report"})
    assert kept1 != kept2
    assert kept1.read_bytes() == first and kept2.read_bytes() == second
    answers = sorted(p.name for p in outbox.rejected_dir.glob("*.answer.json"))
    assert len(answers) == 2
    assert [e.report_id for e in outbox.rejected()] == [str(report.report_id)] * 2


@pytest.fixture
def full_partition(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs, filled up: the stick's data partition with no space left."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a tmpfs")
    mnt = tmp_path / "full"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], check=True)
    try:
        (mnt / "ob" / "rejected").mkdir(parents=True)
        with (mnt / "filler").open("wb") as fh, pytest.raises(OSError):
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def test_upload_into_a_full_outbox_is_a_clear_error(
    tmp_path: Path, full_partition: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "r.json"
    report.write_bytes(report_json(sample_report(1)))
    args = ["upload", "--outbox", str(full_partition / "ob"), "--server", "http://127.0.0.1:9"]
    assert digibench([*args, "--token", "dgb_x", str(report)]) == 1
    err = capsys.readouterr().err
    assert "No space left on device" in err and "Traceback" not in err
    assert "hint: the data partition is full" in err
    assert Outbox(full_partition / "ob").pending() == []


def test_injected_io_error_on_put_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(path: Path) -> Any:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(fsutil, "fault_hook", broken)
    report = tmp_path / "r.json"
    report.write_bytes(report_json(sample_report(1)))
    args = ["upload", "--outbox", str(tmp_path / "ob"), "--server", "http://127.0.0.1:9"]
    assert digibench([*args, "--token", "dgb_x", str(report)]) == 1
    err = capsys.readouterr().err
    assert "Input/output error" in err and "re-plug" in err


def test_an_unexpected_error_names_the_log_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import agent.cli

    def boom(args: object) -> int:
        raise RuntimeError("wiring bug")

    monkeypatch.setattr(agent.cli, "_cmd_schema", boom)
    monkeypatch.setattr(logging.getLogger(), "handlers", [])  # no station log file yet
    assert digibench(["schema"]) == 1
    err = capsys.readouterr().err
    assert "unexpected error (RuntimeError: wiring bug)" in err
    log_file = Path(err.split("the details are in ")[1].split(";")[0])
    assert "Traceback" in log_file.read_text() and "wiring bug" in log_file.read_text()
    log_file.unlink()
