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
from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from server.ingest.models import ErasureRecord
from server.web import vocabulary
from server.web.models import DeviceStatus

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "|", "%")

#: (key, header) of each column; the header is in the user's language
DEVICE_COLUMNS: list[tuple[str, Promise]] = [
    ("asset_tag", _("Asset tag")),
    ("serial", _("Serial")),
    ("model", _("Model")),
    ("grade", _("Grade")),
    ("report_grade", _("Grade on the report")),
    ("grade_override", _("Grade overridden to")),
    ("proposal", _("Station's proposal")),
    ("decision", _("Decision")),
    ("lending", _("Lending status")),
    ("erasure", _("Erasure")),
    ("disk_failing", _("Failing disk")),
    ("battery_health", _("Battery health (%)")),
    ("batch", _("Batch")),
    ("station", _("Station")),
    ("last_report_at", _("Last report")),
]
ERASURE_COLUMNS: list[tuple[str, Promise]] = [
    ("asset_tag", _("Asset tag")),
    ("laptop_serial", _("Laptop serial")),
    ("disk_model", _("Disk model")),
    ("disk_serial", _("Disk serial")),
    ("disk_size_bytes", _("Disk size (bytes)")),
    ("method", _("Method")),
    ("level", _("Level")),
    ("verification_passed", _("Verification")),
    ("result", _("Result")),
    ("started_at", _("Started")),
    ("finished_at", _("Finished")),
    ("record_id", _("Record id")),
    ("station", _("Station")),
]


def header(columns: list[tuple[str, Promise]]) -> list[str]:
    return [str(label) for _key, label in columns]


def _yes_no(value: bool | None) -> str:
    if value is None:
        return ""
    return str(_("yes") if value else _("no"))


def _when(value: datetime | None) -> str:
    """A moment as the coordinator's clock shows it (Europe/Brussels), to the second."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""


def neutralise(value: Any) -> Any:
    """A cell value no spreadsheet will evaluate: text starting like a formula gets a quote."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _when(value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def device_rows(qs: QuerySet[DeviceStatus]) -> Iterator[list[Any]]:
    for s in qs.order_by("pk").iterator(chunk_size=2000):
        yield [
            s.asset_tag,
            s.serial,
            s.model,
            vocabulary.grade_label(s.grade),
            vocabulary.grade_label(s.report_grade) if s.report_grade else "",
            vocabulary.grade_label(s.grade_override) if s.grade_override else "",
            vocabulary.proposal_label(s.proposal) if s.proposal else "",
            s.get_decision_display() if s.decision else "",
            s.get_lending_display(),
            s.get_erasure_display(),
            _yes_no(s.disk_failing),
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
            vocabulary.label("level", r.level),
            _yes_no(r.verification_passed),
            vocabulary.label("erasure_result", r.result),
            r.started_at,
            r.finished_at,
            str(r.record_id),
            r.run.station.name,
        ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(header: list[str], rows: Iterable[list[Any]]) -> Iterator[str]:
    """CSV as Belgian Excel opens it: ``;``-separated, UTF-8 with a byte order mark.

    The one CSV writer of the server (the lending lists use it too).
    """
    writer = csv.writer(_Echo(), delimiter=";")
    yield "\ufeff"
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([neutralise(v) for v in row])


def csv_response(name: str, header: list[str], rows: Iterable[list[Any]]) -> HttpResponse:
    """A small CSV download in one piece (the big lists stream ``csv_stream``)."""
    body = "".join(csv_stream(header, rows)).encode("utf-8")
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _xlsx_cell(ws: Any, value: Any) -> Any:
    """Text that looks like a formula is stored as text with Excel's own quote-prefix
    style, so the cell shows the text as it is (no apostrophe) and never runs it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _when(value)
    if not isinstance(value, str):
        return value
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if not value.startswith(_FORMULA_START):
        return value
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell


def xlsx_bytes(title: str, header: list[str], rows: Iterable[list[Any]]) -> bytes:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    ws.append(header)
    for row in rows:
        ws.append([_xlsx_cell(ws, value) for value in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
