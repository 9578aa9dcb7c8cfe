"""What the server keeps: the raw report verbatim, next to the fields worth querying."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from server.ingest import audit_chain


class Station(models.Model):
    """A bench station; it authenticates with a token and signs with its Ed25519 key."""

    name = models.CharField(max_length=128, unique=True)
    #: base64 of the raw 32-byte Ed25519 public key (what station.pub holds); "" = none yet
    public_key = models.CharField(max_length=128, blank=True, default="")
    #: the token's public lookup part; the secret part is only stored hashed
    token_prefix = models.CharField(max_length=16, unique=True)
    token_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    #: set from the web UI: uploads and heartbeats are refused until it is cleared
    suspended_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    #: set by an admin: this station has no key and may post unsigned reports, which are
    #: then flagged wherever they appear. A station with a key must always sign.
    allow_unsigned = models.BooleanField(
        _("accept unsigned reports"),
        default=False,
        help_text=_(
            "Accept reports without a verified signature from this key-less station "
            "(they are flagged as unproven)."
        ),
    )

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Device(models.Model):
    """One physical laptop; every later run of the same machine attaches here."""

    #: how runs find this device again, e.g. "serial:lenovo:PF0XXXXX" (see identity.py)
    identity_key = models.CharField(max_length=600, unique=True)
    serial = models.CharField(max_length=256, blank=True, default="", db_index=True)
    dmi_uuid = models.CharField(max_length=256, blank=True, default="")
    asset_tag = models.CharField(max_length=256, blank=True, default="", db_index=True)
    vendor = models.CharField(max_length=256, blank=True, default="")
    product_name = models.CharField(max_length=256, blank=True, default="")
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.asset_tag or self.serial or self.identity_key


class SignatureStatus(models.TextChoices):
    VALID = "valid", "valid"
    UNSIGNED = "unsigned", "unsigned"
    #: signed, but the station has no registered key to check it against
    UNVERIFIED = "unverified", "unverified (station has no key)"


class Run(models.Model):
    """One station run on one laptop: one report."""

    report_id = models.UUIDField(unique=True)
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="runs")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, related_name="runs")
    schema_version = models.CharField(max_length=16)
    mode = models.CharField(max_length=16)
    asset_tag = models.CharField(max_length=256, blank=True, default="")
    agent_version = models.CharField(max_length=256, blank=True, default="")
    created_at = models.DateTimeField(help_text="when the station made the report")
    finished_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    #: sha256 of the report's canonical JSON: same UUID + same hash = the same report
    content_sha256 = models.CharField(max_length=64)
    #: the request body exactly as received
    raw_body = models.TextField()
    signature_status = models.CharField(max_length=16, choices=SignatureStatus.choices)

    class Meta:
        ordering: ClassVar[list[str]] = ["-created_at", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["device", "-created_at"], name="run_device_created")
        ]

    def __str__(self) -> str:
        return str(self.report_id)

    @property
    def signature_verified(self) -> bool:
        """Signed with the station's registered key; anything else is flagged as unproven."""
        return self.signature_status == SignatureStatus.VALID


class Disk(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="disks")
    name = models.CharField(max_length=256)
    model = models.CharField(max_length=256, blank=True, default="")
    serial = models.CharField(max_length=256, blank=True, default="", db_index=True)
    size_bytes = models.BigIntegerField()
    media_type = models.CharField(max_length=16, blank=True, default="")
    transport = models.CharField(max_length=256, blank=True, default="")
    internal = models.BooleanField(default=True)
    verdict = models.CharField(max_length=16, blank=True, default="")
    power_on_hours = models.BigIntegerField(null=True, blank=True)
    reallocated_sectors = models.BigIntegerField(null=True, blank=True)
    pending_sectors = models.BigIntegerField(null=True, blank=True)
    percentage_used = models.BigIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} {self.serial}".strip()


class ErasureRecord(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="erasures")
    record_id = models.UUIDField()
    disk_serial = models.CharField(max_length=256, blank=True, default="", db_index=True)
    disk_model = models.CharField(max_length=256, blank=True, default="")
    disk_size_bytes = models.BigIntegerField()
    method = models.CharField(max_length=64)
    level = models.CharField(max_length=16)
    result = models.CharField(max_length=32)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    verification_passed = models.BooleanField(null=True, blank=True)
    bytes_written = models.BigIntegerField(default=0)
    #: the station's signature on this record, checked once when the report arrived
    #: (record_signatures: "valid", "invalid", "unsigned" or "no station key")
    signature_status = models.CharField(max_length=16, default="unsigned")

    def __str__(self) -> str:
        return f"{self.disk_serial} {self.method} {self.result}"


class ImageRecord(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="images")
    name = models.CharField(max_length=256)
    version = models.CharField(max_length=256)
    sha256 = models.CharField(max_length=64)
    target_disk_serial = models.CharField(max_length=256, blank=True, default="")
    verified = models.BooleanField(default=False)
    bytes_written = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


class Grade(models.Model):
    run = models.OneToOneField(Run, on_delete=models.CASCADE, related_name="grade")
    grade = models.CharField(max_length=16)
    destination = models.CharField(max_length=16)
    r2_function = models.CharField(max_length=8, blank=True, default="")
    r2_cosmetic = models.CharField(max_length=8, blank=True, default="")
    policy_version = models.CharField(max_length=256, blank=True, default="")
    reasons = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{self.grade} -> {self.destination}"


class AppendOnly(Exception):
    """An audit event was about to be changed or deleted: the log only grows."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnly("audit events cannot be changed")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnly("audit events cannot be deleted")

    def bulk_create(self, *args: Any, **kwargs: Any) -> list[AuditEvent]:
        raise AppendOnly("audit events are written one by one, each linked to the last")

    def bulk_update(self, *args: Any, **kwargs: Any) -> int:
        raise AppendOnly("audit events cannot be changed")


class AuditEvent(models.Model):
    """Who did what, when: station changes and every stored report; append-only, chained."""

    at = models.DateTimeField(default=timezone.now, editable=False)
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    details = models.JSONField(default=dict)
    #: the hash of the event before this one (audit_chain.GENESIS for the first)
    prev_hash = models.CharField(max_length=64, default="", editable=False)
    #: sha256 over this event's fields and prev_hash
    hash = models.CharField(max_length=64, default="", editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering: ClassVar[list[str]] = ["-at", "-id"]
        default_permissions = ("add", "view")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Append once, linked to the chain head; never rewrite."""
        if self.pk is not None or not self._state.adding:
            raise AppendOnly("audit events cannot be changed")
        # Round-trip the details so the hash covers exactly what the database returns.
        self.details = json.loads(json.dumps(self.details))
        with transaction.atomic():
            audit_chain.lock_head()
            head = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
            self.prev_hash = head or audit_chain.GENESIS
            self.at = audit_chain.now()
            self.hash = audit_chain.hash_of(self, self.prev_hash)
            super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnly("audit events cannot be deleted")
