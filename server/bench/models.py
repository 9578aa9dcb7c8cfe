"""The live state of every laptop on a bench, from the stations' heartbeats.

One row per run in progress, overwritten by each heartbeat: small, and a bench view
needs the latest word of each laptop, not their history (the report keeps that).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models

from server.ingest.models import Station


class Attention(models.TextChoices):
    """Why a laptop needs a person, if it does; most urgent first in :data:`URGENCY`."""

    NONE = "", "none"
    ERROR = "error", "error"
    CONFIRM = "confirm", "confirm"  # the wipe waits for a volunteer's confirmation
    TESTS = "tests", "tests"  # keyboard, screen... tests wait for the volunteer
    DONE = "done", "done"  # finished: take the laptop off the bench


URGENCY = {Attention.ERROR: 0, Attention.CONFIRM: 1, Attention.TESTS: 2, Attention.DONE: 3}


class Heartbeat(models.Model):
    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="+")
    run_id = models.UUIDField()
    asset_tag = models.CharField(max_length=256, blank=True, default="")
    stage = models.CharField(max_length=32)
    percent = models.FloatField(null=True, blank=True)
    eta_s = models.PositiveIntegerField(null=True, blank=True)
    attention = models.CharField(max_length=16, choices=Attention.choices, blank=True, default="")
    #: a short code of the station's notice catalogue (agent/report/reasons.py), not prose
    message_code = models.CharField(max_length=64, blank=True, default="")
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField()
    #: since when the laptop waits for a person (None: it does not)
    waiting_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["station", "run_id"], name="one_heartbeat_per_run")
        ]
        indexes: ClassVar[list[models.Index]] = [models.Index(fields=["updated_at"])]

    def __str__(self) -> str:
        return f"{self.station}:{self.asset_tag or self.run_id} {self.stage}"
