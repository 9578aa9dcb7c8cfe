"""A helpdesk visit: a resident's own laptop, checked, never part of the donated inventory.

Kept is what the resident agreed to (``consent``): by default only the anonymous
minimum (the station, when, and a refresh's erasure evidence); with their yes
the diagnosis they take home (catalog codes and facts: battery, disk, memory,
whether the programme's OS runs, the advice) and the visit's label. Never
serial numbers, network addresses, a grade, a destination or raw tool output:
the laptop is not the programme's, and the visit is not a Device, a Run, a
batch member or an export row.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from server.ingest.models import Station


class HelpdeskVisit(models.Model):
    report_id = models.UUIDField(unique=True)
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="helpdesk_visits")
    #: what the volunteer typed for the visit (a ticket, the resident's first name...);
    #: empty unless the resident agreed to keep it
    label = models.CharField(max_length=256, blank=True, default="")
    visited_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    #: the signed report's canonical hash: a retry is recognised, a changed report refused
    content_sha256 = models.CharField(max_length=64)
    #: agent.report.schema.Diagnosis as JSON: what the one-page summary says; None unless
    #: the resident agreed to keep it
    diagnosis = models.JSONField(null=True, blank=True)
    #: agent.report.schema.HelpdeskConsent as JSON: what the resident agreed to
    consent = models.JSONField(default=dict)
    #: a refresh (wipe and reinstall) the resident confirmed: each disk's erasure evidence,
    #: without serial numbers (size, method, result, verified, when)
    erasures = models.JSONField(default=list)

    class Meta:
        ordering = ("-visited_at", "-id")

    def __str__(self) -> str:
        return f"{self.shown_label} ({self.visited_at:%Y-%m-%d})"

    @property
    def shown_label(self) -> str:
        """The label, or the report id's start when the resident did not agree to keep it."""
        return self.label or str(self.report_id)[:8]
