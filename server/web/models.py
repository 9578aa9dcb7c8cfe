"""What coordinators add to the stations' reports: decisions, batches, checks, certificates.

``DeviceStatus`` is one row per laptop holding everything the device list shows,
so the list of 100,000 laptops is one indexed table scan, never a join over runs.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from server.ingest.models import Device, ErasureRecord, Run
from server.web import vocabulary
from server.web.vocabulary import Decision

#: the coordinator's decision (the old name, kept for importers)
Destination = Decision


class Lending(models.TextChoices):
    """What the loans say (server/lending sets it): returned means it needs a new intake run.

    A returned laptop may be lent again only on erasure evidence from an intake run
    newer than its return (server/lending/rules.py), so no separate "re-wipe" state.
    """

    IN_STOCK = "in_stock", _("in stock")
    LENT = "lent", _("lent")
    RETURNED = "returned", _("returned")


#: which lending status may follow which
LENDING_NEXT: dict[str, tuple[str, ...]] = {
    Lending.IN_STOCK: (Lending.LENT,),
    Lending.LENT: (Lending.RETURNED,),
    Lending.RETURNED: (Lending.LENT,),
}


class ErasureState(models.TextChoices):
    NONE = "none", _("no erasure")
    VERIFIED = "verified", _("verified")
    UNVERIFIED = "unverified", _("not verified")
    EXCEPTIONS = "exceptions", _("erased with exceptions")
    FAILED = "failed", _("failed")


class Batch(models.Model):
    """A donation: what one donor brought on one day."""

    donor = models.CharField(max_length=200)
    received_on = models.DateField()
    expected_count = models.PositiveIntegerField(default=0)
    #: share of erased disks the server samples for a four-eyes check
    sample_percent = models.DecimalField(max_digits=5, decimal_places=2, default=5)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering: ClassVar[list[str]] = ["-received_on", "-id"]
        permissions: ClassVar[list[tuple[str, Any]]] = [
            ("close_batch", "Can close a donation batch"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.donor} {self.received_on}"


class BatchItem(models.Model):
    """An asset tag scanned into a batch; the laptop's report may come later."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="items")
    asset_tag = models.CharField(max_length=256, unique=True)
    added_at = models.DateTimeField(auto_now_add=True)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering: ClassVar[list[str]] = ["asset_tag"]

    def __str__(self) -> str:
        return self.asset_tag


class DeviceStatus(models.Model):
    """One laptop as the coordinator sees it: the latest report plus decisions."""

    device = models.OneToOneField(
        Device, on_delete=models.CASCADE, primary_key=True, related_name="status"
    )
    asset_tag = models.CharField(max_length=256, blank=True, default="")
    serial = models.CharField(max_length=256, blank=True, default="")
    model = models.CharField(max_length=300, blank=True, default="")
    station = models.CharField(max_length=128, blank=True, default="")
    #: lower-case tag, serials (host and disks) and model: what the search box matches
    search = models.TextField(blank=True, default="")
    last_run = models.ForeignKey(Run, on_delete=models.SET_NULL, null=True, related_name="+")
    last_run_at = models.DateTimeField(null=True)
    report_finished = models.BooleanField(default=False)
    report_grade = models.CharField(max_length=16, blank=True, default="")
    #: the grade shown everywhere: the override if there is one, else the report's
    grade = models.CharField(max_length=16, blank=True, default="")
    grade_override = models.CharField(max_length=16, blank=True, default="")
    grade_override_reason = models.TextField(blank=True, default="")
    #: the station's proposal (lend, repair, parts, recycle) for ``grade``: the report's,
    #: or the one the overridden grade makes
    proposal = models.CharField(max_length=16, blank=True, default="")
    #: the coordinator's decision; "" until decided
    decision = models.CharField(max_length=16, blank=True, default="", choices=Decision.choices)
    lending = models.CharField(max_length=16, choices=Lending.choices, default=Lending.IN_STOCK)
    lending_changed_at = models.DateTimeField(null=True, blank=True)
    erasure = models.CharField(max_length=16, choices=ErasureState.choices, default="none")
    disk_failing = models.BooleanField(default=False)
    battery_health = models.FloatField(null=True)
    #: the latest run's internal disks, summed up at ingest (summary.py) so the dashboard
    #: and batch progress count indexed columns instead of joining runs' disks and erasures
    disk_verdict = models.CharField(max_length=16, blank=True, default="")
    disk_wear = models.IntegerField(null=True)
    erased_disks = models.PositiveIntegerField(default=0)
    batch = models.ForeignKey(
        Batch, on_delete=models.SET_NULL, null=True, blank=True, related_name="devices"
    )

    class Meta:
        # Every sortable column with the key as tie-breaker: keyset pages use these.
        indexes: ClassVar[list[models.Index]] = (
            [
                models.Index(fields=[f, "device"], name=f"status_{f}")
                for f in (
                    "asset_tag",
                    "serial",
                    "model",
                    "station",
                    "last_run_at",
                    "grade",
                    "decision",
                    "batch",
                    "erasure",
                )
            ]
            + [
                # the dashboard's counts: each a scan of one small covering index
                models.Index(fields=[f], name=f"status_count_{f}")
                for f in ("lending", "battery_health", "disk_wear")
            ]
            + [
                # ... or of two columns at once (dashboard._PAIRS): three scans fewer
                models.Index(fields=["grade", "decision"], name="status_count_grade_pair"),
                models.Index(fields=["erasure", "lending"], name="status_count_erasure_pair"),
                models.Index(fields=["disk_verdict", "disk_wear"], name="status_count_disk_pair"),
            ]
            + [
                # the queue's "undecided" rows oldest first, and their count for all laptops
                models.Index(
                    fields=["decision", "grade_override", "last_run_at", "device"],
                    name="status_decided",
                )
            ]
            + [
                # the dashboard's "last contact" per station
                models.Index(fields=["station", "-last_run_at"], name="status_station_recent")
            ]
            + [
                # the review queue: each reason's laptops, oldest first (server/web/review.py)
                models.Index(fields=["last_run_at", "device"], condition=cond, name=name)
                for name, cond in (
                    ("status_undecided_age", models.Q(decision="")),
                    ("status_unfinished_age", models.Q(report_finished=False)),
                    ("status_failing_age", models.Q(disk_failing=True)),
                )
            ]
        )
        permissions: ClassVar[list[tuple[str, Any]]] = [
            ("override_grade", "Can override a laptop's grade"),
            ("decide_destination", "Can decide destination and lending status"),
            ("export_data", "Can export devices and erasure records"),
        ]

    def __str__(self) -> str:
        return self.asset_tag or self.serial or str(self.device_id)

    @property
    def destination(self) -> str:
        """The decision, else the proposal (read-only; the two columns stay apart)."""
        return self.decision or self.proposal

    @property
    def destination_final(self) -> bool:
        return bool(self.decision)

    def get_grade_display(self) -> str:
        return vocabulary.grade_label(self.grade)

    def get_report_grade_display(self) -> str:
        return vocabulary.grade_label(self.report_grade)

    def get_proposal_display(self) -> str:
        return vocabulary.proposal_label(self.proposal)

    @property
    def destination_display(self) -> str:
        """What the lists show: the decision's label, or the proposal's marked as one."""
        if self.decision:
            return str(self.get_decision_display())
        if not self.proposal:
            return "–"
        return gettext("%(proposal)s (proposed)") % {"proposal": self.get_proposal_display()}

    @property
    def key(self) -> int:
        """The URL key: the database id, under /laptop/, never mistaken for a tag."""
        return int(self.device_id)


class Note(models.Model):
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    at = models.DateTimeField(auto_now_add=True)
    text = models.TextField()

    class Meta:
        ordering: ClassVar[list[str]] = ["-at", "-id"]

    def __str__(self) -> str:
        return self.text[:40]


class DiskDestruction(models.Model):
    """A disk that was physically destroyed instead of erased."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="destructions")
    disk_serial = models.CharField(max_length=256)
    method = models.CharField(max_length=200)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.disk_serial} {self.method}"


class SpotCheck(models.Model):
    """A four-eyes check of one erasure, by someone other than the operator who wiped."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="spot_checks")
    erasure = models.ForeignKey(ErasureRecord, on_delete=models.CASCADE, related_name="+")
    #: who did the wipe, as the station reported it (operator name and badge)
    wiped_by = models.CharField(max_length=300, blank=True, default="")
    selected_at = models.DateTimeField(auto_now_add=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    passed = models.BooleanField(null=True)
    remark = models.TextField(blank=True, default="")

    class Meta:
        ordering: ClassVar[list[str]] = ["id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["batch", "erasure"], name="spotcheck_once")
        ]
        permissions: ClassVar[list[tuple[str, Any]]] = [
            ("perform_spot_check", "Can record a four-eyes erasure check"),
        ]

    def __str__(self) -> str:
        return f"check of {self.erasure_id}"


class Certificate(models.Model):
    """A signed statement of erasure; the PDF and /verify/ page are views of ``payload``."""

    class Kind(models.TextChoices):
        DONOR = "donor", "donor certificate"
        LAPTOP = "laptop", "laptop certificate"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, null=True, related_name="+")
    device = models.ForeignKey(Device, on_delete=models.PROTECT, null=True, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    payload = models.JSONField()
    signature = models.CharField(max_length=256)
    public_key = models.CharField(max_length=128)
    #: a withdrawn certificate proves nothing any more; the reason says why
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoke_reason = models.TextField(blank=True, default="")
    superseded_by = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


class TagConflict(models.Model):
    """Two devices (by hardware identity) reported under one asset tag.

    Until a coordinator retags one or merges them, neither laptop can be
    certified or lent and their batch cannot close.
    """

    asset_tag = models.CharField(max_length=256, db_index=True)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    other = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    detected_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering: ClassVar[list[str]] = ["-detected_at", "-id"]
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(
                fields=["asset_tag", "device", "other"], name="tagconflict_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.asset_tag}: {self.device_id} / {self.other_id}"


from server.web.login_models import LoginFailure  # noqa: E402, F401  (its own module)
