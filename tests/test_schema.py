from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from agent.report.schema import SCHEMA_VERSION, Disk, Report, Station, json_schema

SCHEMA_FILE = Path(__file__).parent.parent / "agent" / "report" / "report-v1.schema.json"


def _minimal() -> Report:
    return Report(mode="check", station=Station(name="bench-1", agent_version="0.1.0"))


def test_minimal_report_roundtrips_through_json() -> None:
    report = _minimal()
    again = Report.model_validate_json(report.model_dump_json())
    assert again == report
    assert again.schema_version == SCHEMA_VERSION
    assert isinstance(again.report_id, uuid.UUID)


def test_unknown_fields_are_refused() -> None:
    data = json.loads(_minimal().model_dump_json())
    data["station"]["evil"] = "x"
    with pytest.raises(ValidationError):
        Report.model_validate(data)


def test_negative_sizes_and_huge_strings_are_refused() -> None:
    with pytest.raises(ValidationError):
        Disk(name="sda", path="/dev/sda", size_bytes=-1)
    with pytest.raises(ValidationError):
        Disk(name="x" * 10_000, path="/dev/sda", size_bytes=1)


def test_wrong_schema_version_is_refused() -> None:
    data = json.loads(_minimal().model_dump_json())
    data["schema_version"] = "2.0"
    with pytest.raises(ValidationError):
        Report.model_validate(data)


def test_published_schema_file_is_up_to_date() -> None:
    """agent/report/report-v1.schema.json is what `make schema` writes."""
    assert json.loads(SCHEMA_FILE.read_text()) == json.loads(
        json.dumps(json_schema(), sort_keys=True)
    ), "run `make schema` and commit the result"
