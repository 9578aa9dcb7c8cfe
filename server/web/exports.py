"""CSV and XLSX of the device list and its erasure records, with the list's filters.

Report strings come from laptops, so a cell may start with ``=`` or ``@``:
spreadsheet programs would run that as a formula, hence ``neutralise``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from server.ingest.models import ErasureRecord
from server.web.models import DeviceStatus

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|", "%")

DEVICE_COLUMNS = [
    "asset_tag",
    "serial",
    "model",
    "grade",
    "report_grade",
    "grade_override",
    "destination",
    "destination_final",
    "lending",
    "erasure",
    "disk_failing",
    "battery_health",
    "batch",
    "station",
    "last_report_at",
]
ERASURE_COLUMNS = [
    "asset_tag",
    "laptop_serial",
    "disk_model",
    "disk_serial",
    "disk_size_bytes",
    "method",
    "level",
    "verification_passed",
    "result",
    "started_at",
    "finished_at",
    "record_id",
    "station",
]


def neutralise(value: Any) -> Any:
    """A cell value no spreadsheet will evaluate: text starting like a formula gets a quote."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def device_rows(qs: QuerySet[DeviceStatus]) -> Iterator[list[Any]]:
    for s in qs.order_by("pk").iterator(chunk_size=2000):
        yield [
            s.asset_tag,
            s.serial,
            s.model,
            s.grade,
            s.report_grade,
            s.grade_override,
            s.destination,
            s.destination_final,
            s.lending,
            s.erasure,
            s.disk_failing,
            s.battery_health,
            s.batch_id,
            s.station,
            s.last_run_at,
        ]


def erasure_records(qs: QuerySet[DeviceStatus]) -> QuerySet[ErasureRecord]:
    """The erasure records of the listed laptops' latest runs."""
    return ErasureRecord.objects.filter(run__in=qs.values("last_run"))


def erasure_rows(qs: QuerySet[DeviceStatus]) -> Iterator[list[Any]]:
    records = erasure_records(qs).select_related("run__device", "run__station").order_by("id")
    for r in records.iterator(chunk_size=2000):
        yield [
            r.run.device.asset_tag,
            r.run.device.serial,
            r.disk_model,
            r.disk_serial,
            r.disk_size_bytes,
            r.method,
            r.level,
            r.verification_passed,
            r.result,
            r.started_at,
            r.finished_at,
            str(r.record_id),
            r.run.station.name,
        ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so spreadsheet programs read UTF-8
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([neutralise(v) for v in row])


def xlsx_bytes(title: str, header: list[str], rows: Iterable[list[Any]]) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    ws.append(header)
    for row in rows:
        cells = []
        for value in row:
            value = neutralise(value)
            if isinstance(value, str):
                value = ILLEGAL_CHARACTERS_RE.sub("", value)
            cells.append(value)
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
