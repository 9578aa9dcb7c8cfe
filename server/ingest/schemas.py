"""API shapes: the incoming report (stricter than the agent's) and the answers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from ninja import Schema
from pydantic import Field

from agent.report.schema import Report


class IncomingReport(Report):
    """A report as uploaded: the UUID and the creation time must come from the station.

    The agent's model invents both when missing; a server that did the same
    would turn every retry into a new report.
    """

    report_id: uuid.UUID
    created_at: datetime


class Error(Schema):
    code: str = Field("", description="machine-readable reason, e.g. signature_required")
    detail: Any
    hint: str = Field("", description="what to do about it, when there is something to do")


class IngestAck(Schema):
    status: str = Field(description="created, or duplicate for a retry of a stored report")
    report_id: uuid.UUID
    location: str
    device_id: int | None = Field(description="None for a helpdesk visit (check mode): no device")
    signature_status: str
    signature_verified: bool = Field(
        description="false: not signed with the station's registered key (unproven)"
    )


class Conflict(Schema):
    code: str
    detail: str
    report_id: uuid.UUID
    location: str


class StoredReport(Schema):
    report_id: uuid.UUID
    station: str
    device_id: int
    received_at: datetime
    signature_status: str
    signature_verified: bool = Field(
        description="false: not signed with the station's registered key (unproven)"
    )
    content_sha256: str
    report: dict[str, Any] = Field(description="the report exactly as received")


class RunSummary(Schema):
    report_id: uuid.UUID
    created_at: datetime
    received_at: datetime
    mode: str
    station: str
    signature_status: str
    signature_verified: bool = Field(
        description="false: not signed with the station's registered key (unproven)"
    )
    grade: str | None
    destination: str | None


class LatestGrade(Schema):
    report_id: uuid.UUID
    grade: str
    destination: str
    graded_at: datetime


class DeviceOut(Schema):
    id: int
    serial: str
    dmi_uuid: str
    asset_tag: str
    vendor: str
    product_name: str
    first_seen_at: datetime
    last_seen_at: datetime
    latest_grade: LatestGrade | None
    runs: list[RunSummary]


class DeviceList(Schema):
    devices: list[DeviceOut]
