"""``POST /api/v1/heartbeats``: a station says where a laptop is, a few times a minute."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from server.bench.models import Attention, Heartbeat
from server.ingest.auth import StationAuth
from server.ingest.models import Station
from server.ingest.schemas import Error

router = Router(tags=["bench"])

STAGES = ("start", "inspect", "tests", "confirm", "wipe", "flash", "grade", "report", "done",
          "cancelled", "failed")  # fmt: skip
#: a run not heard of for this long has left the bench (powered off, stick pulled)
STALE = timedelta(hours=2)


class HeartbeatIn(Schema):
    run_id: uuid.UUID
    asset_tag: Annotated[str, Field(max_length=256)] = ""
    stage: Annotated[str, Field(max_length=32)]
    percent: Annotated[float, Field(ge=0, le=100)] | None = None
    eta_s: Annotated[int, Field(ge=0, le=7 * 24 * 3600)] | None = None
    attention: Annotated[str, Field(max_length=16)] = ""
    message_code: Annotated[str, Field(max_length=64, pattern=r"^[a-z0-9_.]*$")] = ""


class HeartbeatAck(Schema):
    status: str


@router.post(
    "",
    auth=StationAuth(),
    response={200: HeartbeatAck, 400: Error, 401: Error, 403: Error, 422: Error},
    summary="A station's progress on one laptop (the Werkbank page shows it)",
)
def post_heartbeat(request: HttpRequest, beat: HeartbeatIn) -> Status[dict[str, str]]:
    station: Station = request.auth  # type: ignore[attr-defined]
    if beat.stage not in STAGES or beat.attention not in Attention.values:
        return Status(422, {"code": "bad_heartbeat", "detail": "unknown stage or attention"})
    now = timezone.now()
    with transaction.atomic():
        row, created = Heartbeat.objects.select_for_update().get_or_create(
            station=station,
            run_id=beat.run_id,
            defaults={"stage": beat.stage, "updated_at": now},
        )
        if row.attention != beat.attention or created:
            row.waiting_since = now if beat.attention else None
        row.asset_tag = beat.asset_tag
        row.stage = beat.stage
        row.percent = beat.percent
        row.eta_s = beat.eta_s
        row.attention = beat.attention
        row.message_code = beat.message_code
        row.updated_at = now
        row.save()
        Heartbeat.objects.filter(updated_at__lt=now - STALE).delete()
    Station.objects.filter(pk=station.pk).update(last_seen_at=now)
    return Status(200, {"status": "ok"})
