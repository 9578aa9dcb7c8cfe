"""Signed erasure records: intact ones verify, any changed byte does not."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.erase.record import check_record, sign_record, write_record
from agent.errors import InputError
from agent.report.schema import ErasureRecord, ErasureResult, ErrorRange, SanitizeLevel
from agent.signing import load_or_create_key, public_key_b64


def _record() -> ErasureRecord:
    return ErasureRecord(
        record_id=uuid.uuid4(),
        disk_model="ST500LM021-1KJ152",
        disk_serial="W62ABCDE",
        disk_size_bytes=500107862016,
        method="overwrite-zero",
        tool="digibench",
        level=SanitizeLevel.CLEAR,
        passes=1,
        started_at=datetime(2026, 11, 27, 9, 0, tzinfo=UTC),
        finished_at=datetime(2026, 11, 27, 10, 30, 15, 123456, tzinfo=UTC),
        throughput_mb_s=92.7,
        errors=[ErrorRange(start_byte=4096, length_bytes=512, message="write failed")],
        result=ErasureResult.ERASED_WITH_EXCEPTIONS,
        station="bench-1",
    )


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, str]:
    key = load_or_create_key(tmp_path / "keys")
    path = write_record(sign_record(_record(), key), tmp_path / "records")
    return path, public_key_b64(key)


def test_intact_record_verifies(signed: tuple[Path, str]) -> None:
    path, pub = signed
    rec = check_record(path, pub)
    assert rec.disk_serial == "W62ABCDE"
    assert rec.throughput_mb_s == 92.7
    assert path.name.startswith("erasure-W62ABCDE-")


def test_every_single_changed_byte_in_a_value_breaks_it(signed: tuple[Path, str]) -> None:
    path, pub = signed
    original = path.read_bytes()
    # Flip one character in each string value of interest, one at a time.
    for needle in (b"W62ABCDE", b"erased_with_exceptions", b"500107862016", b"bench-1"):
        at = original.index(needle) + 1
        changed = bytearray(original)
        changed[at] = ord("X") if changed[at] != ord("X") else ord("Y")
        path.write_bytes(bytes(changed))
        with pytest.raises(InputError):
            check_record(path, pub)
    path.write_bytes(original)
    check_record(path, pub)


def test_added_field_or_other_key_breaks_it(signed: tuple[Path, str], tmp_path: Path) -> None:
    path, pub = signed
    data = json.loads(path.read_text())
    data["notes"] = ["all fine, trust me"]
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="SIGNATURE INVALID"):
        check_record(path, pub)
    other = public_key_b64(load_or_create_key(tmp_path / "other"))
    path.write_text(json.dumps({**data, "notes": []}))
    check_record(path, pub)
    with pytest.raises(InputError, match="SIGNATURE INVALID"):
        check_record(path, other)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"result": "erased"}', "not signed"),
    ],
)
def test_bad_files_get_clear_errors(
    tmp_path: Path, signed: tuple[Path, str], content: bytes, match: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    with pytest.raises(InputError, match=match):
        check_record(bad, signed[1])
    with pytest.raises(InputError, match="cannot read"):
        check_record(tmp_path / "missing.json", signed[1])


def test_unsigned_record_is_never_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsigned"):
        write_record(_record(), tmp_path)
    assert not list(tmp_path.iterdir())
