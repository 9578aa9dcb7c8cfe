"""What the server keeps: the raw report verbatim, next to the fields worth querying."""

from __future__ import annotations

from typing import ClassVar

from django.db import models


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
    last_seen_at = models.DateTimeField(null=True, blank=True)

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


class AuditEvent(models.Model):
    """Who did what, when: station changes and every stored report."""

    at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    details = models.JSONField(default=dict)

    class Meta:
        ordering: ClassVar[list[str]] = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action}"
