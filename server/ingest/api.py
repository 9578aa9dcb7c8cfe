"""The ingest API, ``/api/v1/``: stations post reports; scripts and the TUI read them back."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import RequestDataTooBig
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import NinjaAPI, Query, Schema, Status, Swagger
from ninja.openapi.schema import OpenAPISchema

from server.ingest import models
from server.ingest.auth import StaffSession, StationAuth, StationRefused
from server.ingest.schemas import (
    Conflict,
    DeviceList,
    Error,
    IncomingReport,
    IngestAck,
    StoredReport,
)
from server.ingest.service import IngestRejected, Outcome, ingest, too_large

MAX_DEVICES = 50
MAX_RUNS_PER_DEVICE = 100


class DigibenchAPI(NinjaAPI):
    """Adds the report schema (validated by hand, to keep the body verbatim) to OpenAPI."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        report = IncomingReport.model_json_schema(ref_template="#/components/schemas/{model}")
        defs = report.pop("$defs", {})
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(defs)
        components["Report"] = report
        return schema


class LoggedInSwagger(Swagger):
    """The interactive docs, from ninja's bundled files (no CDN), for logged-in users only."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return super().render_page(request, api, **kwargs)


api = DigibenchAPI(
    title="Digibench ingest API",
    version="1.0",
    description="Stations upload reports; one report per laptop run, stored exactly once.",
    urls_namespace="api-v1",
    docs=LoggedInSwagger(),
)
station_auth = StationAuth()


@api.exception_handler(StationRefused)
def _station_refused(request: HttpRequest, exc: StationRefused) -> HttpResponse:
    """Revoked or suspended: a code the station words for the volunteer, and why."""
    return api.create_response(request, {"code": exc.code, "detail": exc.message}, status=403)


readers = [station_auth, StaffSession()]

_REPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Report"}}},
    }
}


@api.post(
    "/reports",
    auth=station_auth,
    response={
        200: IngestAck,
        201: IngestAck,
        400: Error,
        401: Error,
        403: Error,
        409: Conflict,
        413: Error,
        422: Error,
    },
    openapi_extra=_REPORT_BODY,
    summary="Upload a report",
    description=(
        "201: stored. 200: this report (same UUID, same content) was already stored; nothing "
        "changed. 409: another report with this UUID is stored. 400: not a JSON object. "
        "413: too large. 422: invalid report or signature (`code`: invalid_report, "
        "signature_required, signature_wrong_key, signature_invalid). 401: unknown token. "
        "403: revoked token, or a station without a registered key (`station_key_missing`)."
    ),
)
def post_report(request: HttpRequest) -> Status[dict[str, Any]]:
    station: models.Station = request.auth  # type: ignore[attr-defined]
    try:
        body = request.body
    except RequestDataTooBig:
        return Status(413, too_large().body)
    try:
        result = ingest(station, body)
    except IngestRejected as exc:
        return Status(exc.status, exc.body)
    run = result.run
    if run is None:  # a helpdesk visit (check mode): stored apart from the inventory
        visit = result.visit
        assert visit is not None
        visit_ack: dict[str, Any] = {
            "status": result.outcome.value,
            "report_id": visit.report_id,
            "location": f"/api/v1/helpdesk/visits/{visit.report_id}",
            "device_id": None,
            "signature_status": result.signature,
            "signature_verified": result.signature == "valid",
        }
        return Status(201 if result.outcome is Outcome.CREATED else 200, visit_ack)
    ack = {
        "status": result.outcome.value,
        "report_id": run.report_id,
        "location": f"/api/v1/reports/{run.report_id}",
        "device_id": run.device_id,
        "signature_status": run.signature_status,
        "signature_verified": run.signature_verified,
    }
    return Status(201 if result.outcome is Outcome.CREATED else 200, ack)


@api.get(
    "/reports/{report_id}",
    auth=readers,
    response={200: StoredReport, 401: Error, 403: Error, 404: Error, 422: Error},
    summary="A stored report and its signature status",
)
def get_report(request: HttpRequest, report_id: uuid.UUID) -> Status[dict[str, Any]]:
    run = get_object_or_404(models.Run.objects.select_related("station"), report_id=report_id)
    return Status(
        200,
        {
            "report_id": run.report_id,
            "station": run.station.name,
            "device_id": run.device_id,
            "received_at": run.received_at,
            "signature_status": run.signature_status,
            "signature_verified": run.signature_verified,
            "content_sha256": run.content_sha256,
            "report": json.loads(run.raw_body),
        },
    )


class DeviceQuery(Schema):
    serial: str | None = None
    asset_tag: str | None = None


@api.get(
    "/devices",
    auth=readers,
    response={200: DeviceList, 400: Error, 401: Error, 403: Error, 422: Error},
    summary="Devices by DMI serial or asset tag, with their latest grade and history",
)
def get_devices(request: HttpRequest, q: Query[DeviceQuery]) -> Status[dict[str, Any]]:
    serial = (q.serial or "").strip()
    asset_tag = (q.asset_tag or "").strip()
    if not serial and not asset_tag:
        return Status(400, {"code": "missing_query", "detail": "give serial=... or asset_tag=..."})
    devices = models.Device.objects.all()
    if serial:
        devices = devices.filter(serial__iexact=serial)
    if asset_tag:
        devices = devices.filter(asset_tag__iexact=asset_tag)
    runs = models.Run.objects.select_related("station", "grade").order_by("-created_at", "-id")
    devices = devices.order_by("-last_seen_at").prefetch_related(Prefetch("runs", queryset=runs))
    return Status(200, {"devices": [_device_out(d) for d in devices[:MAX_DEVICES]]})


def _device_out(device: models.Device) -> dict[str, Any]:
    runs = list(device.runs.all())[:MAX_RUNS_PER_DEVICE]
    latest = next((r for r in runs if hasattr(r, "grade")), None)
    return {
        "id": device.pk,
        "serial": device.serial,
        "dmi_uuid": device.dmi_uuid,
        "asset_tag": device.asset_tag,
        "vendor": device.vendor,
        "product_name": device.product_name,
        "first_seen_at": device.first_seen_at,
        "last_seen_at": device.last_seen_at,
        "latest_grade": None
        if latest is None
        else {
            "report_id": latest.report_id,
            "grade": latest.grade.grade,
            "destination": latest.grade.destination,
            "graded_at": latest.created_at,
        },
        "runs": [
            {
                "report_id": r.report_id,
                "created_at": r.created_at,
                "received_at": r.received_at,
                "mode": r.mode,
                "station": r.station.name,
                "signature_status": r.signature_status,
                "signature_verified": r.signature_verified,
                "grade": r.grade.grade if hasattr(r, "grade") else None,
                "destination": r.grade.destination if hasattr(r, "grade") else None,
            }
            for r in runs
        ],
    }


def _add_routers() -> None:
    """Other apps' endpoints under /api/v1/ (imported late: they use this module's auth)."""
    from server.bench.api import router as heartbeats

    api.add_router("/heartbeats", heartbeats)


_add_routers()
