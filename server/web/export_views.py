"""Downloads of the device list and its erasure records, filtered like the list; all audited."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from server.web import audit, exports, listing
from server.web.models import DeviceStatus

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _name(kind: str, ext: str) -> str:
    return f"digibench-{kind}-{timezone.now():%Y%m%d-%H%M}.{ext}"


def _audit(request: HttpRequest, kind: str, ext: str, qs: QuerySet[DeviceStatus]) -> None:
    """Who took which data out of the system: the filter and the row count, before sending."""
    count = qs.count() if kind == "devices" else exports.erasure_records(qs).count()
    used = {k: request.GET[k] for k in (*listing.FILTERS, "from", "to") if request.GET.get(k)}
    audit.record(
        audit.staff(request), "data.exported", "export", f"{kind}.{ext}", filter=used, rows=count
    )


def _export(request: HttpRequest, kind: str, ext: str) -> HttpResponse | StreamingHttpResponse:
    qs = listing.filtered(request.GET)
    _audit(request, kind, ext, qs)
    if kind == "devices":
        header, rows = exports.header(exports.DEVICE_COLUMNS), exports.device_rows(qs)
    else:
        header, rows = exports.header(exports.ERASURE_COLUMNS), exports.erasure_rows(qs)
    disposition = f'attachment; filename="{_name(kind, ext)}"'
    if ext == "csv":
        response: HttpResponse | StreamingHttpResponse = StreamingHttpResponse(
            exports.csv_stream(header, rows), content_type="text/csv; charset=utf-8"
        )
    else:
        response = HttpResponse(exports.xlsx_bytes(kind, header, rows), content_type=XLSX)
    response["Content-Disposition"] = disposition
    return response


def _view(kind: str, ext: str):  # type: ignore[no-untyped-def]
    @login_required
    @permission_required("web.export_data", raise_exception=True)
    def view(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
        return _export(request, kind, ext)

    return view


devices_csv = _view("devices", "csv")
devices_xlsx = _view("devices", "xlsx")
erasures_csv = _view("erasures", "csv")
erasures_xlsx = _view("erasures", "xlsx")
