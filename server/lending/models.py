"""The lending programmes: who borrows which laptop, on what terms, and how it came back.

Personal data lives only on ``Borrower`` (reference, name, one contact channel) and is
pseudonymised by ``retention``; loans, returns and attendance keep only the borrower's key,
so a laptop's history and the counts per programme survive an erasure.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from server.ingest.models import Device


class Programme(models.TextChoices):
    DIGIBANK = "digibank", "Digibank"
    DIGILEEN = "digileen", "Digi-leen"


class Language(models.TextChoices):
    NL = "nl", "Nederlands"
    FR = "fr", "Français"
    EN = "en", "English"


class Condition(models.TextChoices):
    GOOD = "good", _("good")
    WORN = "worn", _("signs of use")
    DAMAGED = "damaged", _("damaged")


class Borrower(models.Model):
    """A resident in a programme, with as little personal data as the programme needs."""

    #: issued by the programme (e.g. "DL-2026-014"); the only key staff need to share
    reference = models.CharField(_("reference"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True, default="")
    contact = models.CharField(
        _("contact (phone or e-mail)"), max_length=200, blank=True, default=""
    )
    partner = models.CharField(
        _("referring partner organisation"), max_length=200, blank=True, default=""
    )
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.NL
    )
    consent = models.BooleanField(_("consent to keep these data"), default=False)
    consent_on = models.DateField(_("consent date"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    #: set when the personal data were replaced (retention or a request to erase)
    pseudonymised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering: ClassVar[list[str]] = ["reference"]

    def __str__(self) -> str:
        return self.reference


class Loan(models.Model):
    """One laptop lent to one borrower under a programme and wave."""

    device = models.ForeignKey(
        Device, on_delete=models.PROTECT, related_name="loans", verbose_name=_("laptop")
    )
    borrower = models.ForeignKey(
        Borrower, on_delete=models.PROTECT, related_name="loans", verbose_name=_("borrower")
    )
    programme = models.CharField(_("programme"), max_length=16, choices=Programme.choices)
    wave = models.PositiveSmallIntegerField(_("wave"), default=1)
    start = models.DateField(_("start date"))
    due = models.DateField(_("due back"), null=True, blank=True)
    condition = models.CharField(_("condition of the loan"), max_length=300, blank=True, default="")
    #: Digi-leen: sessions the borrower must attend (0 = no attendance condition)
    min_attendance = models.PositiveSmallIntegerField(_("minimum sessions attended"), default=0)
    charger = models.BooleanField(_("charger"), default=True)
    bag = models.BooleanField(_("bag"), default=False)
    mouse = models.BooleanField(_("mouse"), default=False)
    handover_state = models.CharField(
        _("state at hand-over"), max_length=300, blank=True, default=""
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering: ClassVar[list[str]] = ["-start", "-id"]
        indexes: ClassVar[list[models.Index]] = [
            models.Index(fields=["programme", "wave"], name="loan_programme_wave"),
            models.Index(fields=["due"], name="loan_due"),
        ]
        permissions: ClassVar[list[tuple[str, Any]]] = [
            ("check_in_loan", "Can check a lent laptop back in"),
            ("export_lending", "Can export lending lists and numbers"),
        ]

    def __str__(self) -> str:
        return f"loan #{self.pk}"

    @property
    def is_active(self) -> bool:
        return not hasattr(self, "checkin")


class CheckIn(models.Model):
    """A laptop back from a loan; it needs a new intake run before it is lent again."""

    loan = models.OneToOneField(Loan, on_delete=models.PROTECT, related_name="checkin")
    at = models.DateTimeField()
    charger_back = models.BooleanField(_("charger back"), default=False)
    bag_back = models.BooleanField(_("bag back"), default=False)
    mouse_back = models.BooleanField(_("mouse back"), default=False)
    condition = models.CharField(_("condition"), max_length=16, choices=Condition.choices)
    damage = models.CharField(_("damage"), max_length=300, blank=True, default="")
    notes = models.TextField(_("notes"), blank=True, default="")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"return of loan #{self.loan_id}"


class Session(models.Model):
    """One module/session of a programme wave's learning path."""

    programme = models.CharField(_("programme"), max_length=16, choices=Programme.choices)
    wave = models.PositiveSmallIntegerField(_("wave"), default=1)
    title = models.CharField(_("module"), max_length=200)
    on = models.DateField(_("date"))

    class Meta:
        ordering: ClassVar[list[str]] = ["on", "id"]

    def __str__(self) -> str:
        return f"{self.title} {self.on}"


class Attendance(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="attendance")
    borrower = models.ForeignKey(Borrower, on_delete=models.PROTECT, related_name="attendance")
    present = models.BooleanField(default=False)

    class Meta:
        constraints: ClassVar[list[models.BaseConstraint]] = [
            models.UniqueConstraint(fields=["session", "borrower"], name="attendance_once")
        ]

    def __str__(self) -> str:
        return f"{self.borrower_id}@{self.session_id}"
