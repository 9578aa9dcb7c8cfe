"""A station's request to be paired with this server, and what became of it."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models

from server.ingest.models import Station


class EnrolmentState(models.TextChoices):
    PENDING = "pending", "pending"
    APPROVED = "approved", "approved"  # a person said yes; the station has not collected yet
    DENIED = "denied", "denied"
    CLAIMED = "claimed", "claimed"  # the station collected its token: the code is spent


class Enrolment(models.Model):
    """One pairing request (RFC 8628 device authorisation), single-use, short-lived."""

    device_code_hash = models.CharField(max_length=64, unique=True)
    user_code = models.CharField(max_length=16, db_index=True)
    #: base64 of the station's raw Ed25519 public key, as in Station.public_key
    public_key = models.CharField(max_length=128)
    name_hint = models.CharField(max_length=128, blank=True, default="")
    remote_addr = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_poll_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(
        max_length=16, choices=EnrolmentState.choices, default=EnrolmentState.PENDING
    )
    #: the name the approving person gave the station
    station_name = models.CharField(max_length=128, blank=True, default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    station = models.ForeignKey(
        Station, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at"]
        permissions: ClassVar[list[tuple[str, Any]]] = [
            ("approve_enrolment", "Can pair a new station with the server"),
        ]

    def __str__(self) -> str:
        return f"{self.user_code} ({self.state})"


class PairingAttempt(models.Model):
    """A user code typed into the web UI: bounds how fast one person can guess codes."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    found = models.BooleanField(default=False)
