"""The outbox on its own: atomic, byte-exact, and it never drops a report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.errors import InputError
from agent.report.samples import sample_report
from agent.uplink.outbox import Outbox, parse_report
from agent.uplink.signed import report_json


def test_put_keeps_the_bytes_and_lists_in_order(tmp_path: Path):
    outbox = Outbox(tmp_path / "ob")
    bodies = [report_json(sample_report(n)) for n in range(3)]
    entries = [outbox.put(b) for b in bodies]
    assert [e.report_id for e in outbox.pending()] == [e.report_id for e in entries]
    assert entries[0].path.read_bytes() == bodies[0]
    assert entries[0].path.stat().st_mode & 0o077 == 0
    assert outbox.put(bodies[0]) == outbox.pending()[0]  # same report again: no-op
    status = outbox.status()
    assert (status.pending, status.rejected) == (3, 0)
    assert status.pending_bytes == sum(len(b) for b in bodies)


def test_same_uuid_with_other_bytes_is_refused(tmp_path: Path):
    outbox = Outbox(tmp_path)
    report = sample_report(1)
    outbox.put(report_json(report))
    with pytest.raises(InputError, match="already waits"):
        outbox.put(report_json(report.model_copy(update={"asset_tag": "other"})))
    assert len(outbox.pending()) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "JSON object"),
        (b'{"mode": "intake"}', "no report_id"),
        (b"\xff", "not JSON"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(tmp_path: Path, body: bytes, message: str):
    outbox = Outbox(tmp_path / "ob")
    with pytest.raises(InputError, match=message):
        outbox.put(body, source="x.json")
    assert not (tmp_path / "ob").exists()


def test_invalid_report_names_the_field(tmp_path: Path):
    data = json.loads(report_json(sample_report(1)))
    data["mode"] = "party"
    with pytest.raises(InputError, match="mode"):
        parse_report(json.dumps(data).encode())


def test_half_written_files_are_not_reports(tmp_path: Path):
    outbox = Outbox(tmp_path)
    outbox.put(report_json(sample_report(1)))
    (tmp_path / ".abc.json.123.tmp").write_bytes(b"{")
    (tmp_path / "notes.txt").write_text("x")
    assert len(outbox.pending()) == 1


def test_reject_moves_the_report_aside_with_the_answer(tmp_path: Path):
    outbox = Outbox(tmp_path)
    entry = outbox.put(report_json(sample_report(1)))
    body = entry.path.read_bytes()
    target = outbox.reject(entry, 409, {"code": "conflict", "detail": "other content"})
    assert outbox.pending() == []
    assert target.read_bytes() == body
    note = json.loads((tmp_path / "rejected" / f"{entry.report_id}.answer.json").read_text())
    assert (note["status"], note["answer"]["code"]) == (409, "conflict")
    assert [e.report_id for e in outbox.rejected()] == [entry.report_id]
    assert outbox.status().rejected == 1


def test_acknowledge_removes_only_that_report(tmp_path: Path):
    outbox = Outbox(tmp_path)
    a = outbox.put(report_json(sample_report(1)))
    b = outbox.put(report_json(sample_report(2)))
    outbox.acknowledge(a)
    outbox.acknowledge(a)  # a second flush acknowledging it too is harmless
    assert [e.report_id for e in outbox.pending()] == [b.report_id]


def test_unwritable_outbox_says_so(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot create the outbox"):
        Outbox(blocker / "ob").put(report_json(sample_report(1)))
