"""A helpdesk visit: a resident's own laptop, checked, never part of the donated inventory.

Only the diagnosis the resident takes home is kept (catalog codes and facts:
battery, disk, memory, whether the programme's OS runs, the advice), plus the
station and when. No serial numbers, no network addresses, no grade, no
destination, no raw tool output: the laptop is not the programme's, and the
visit is not a Device, a Run, a batch member or an export row.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from server.ingest.models import Station


class HelpdeskVisit(models.Model):
    report_id = models.UUIDField(unique=True)
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="helpdesk_visits")
    #: what the volunteer typed for the visit (a ticket, the resident's first name...)
    label = models.CharField(max_length=256)
    visited_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    #: the signed report's canonical hash: a retry is recognised, a changed report refused
    content_sha256 = models.CharField(max_length=64)
    #: agent.helpdesk_summary.Diagnosis as JSON: what the one-page summary says
    diagnosis = models.JSONField()

    class Meta:
        ordering = ("-visited_at", "-id")

    def __str__(self) -> str:
        return f"{self.label} ({self.visited_at:%Y-%m-%d})"
