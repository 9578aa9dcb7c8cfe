"""What coordinators do with loans, in one place for the views and the commands.

Every change is audited with the borrower's database key only, never personal data,
so the audit chain survives a borrower's erasure untouched.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from server.ingest.models import AuditEvent, Device
from server.lending.models import Attendance, Borrower, CheckIn, Loan
from server.lending.rules import lendable
from server.web import audit
from server.web.models import DeviceStatus, Lending


class LendingError(Exception):
    """A loan cannot be made; the messages say why (already translated)."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _set_lending(device: Device, value: str) -> None:
    DeviceStatus.objects.filter(device=device).update(
        lending=value, lending_changed_at=timezone.now()
    )


def lend(device: Device, user: User, **fields: Any) -> Loan:
    """Lend ``device``; refused unless ``lendable`` finds nothing missing."""
    with transaction.atomic():
        # One loan at a time per laptop, even for two coordinators clicking together.
        Device.objects.select_for_update().filter(pk=device.pk).first()
        problems = lendable(device, fields.get("programme"))
        if problems:
            raise LendingError(problems)
        loan = Loan.objects.create(device=device, created_by=user, **fields)
        _set_lending(device, Lending.LENT)
        audit.record(
            user,
            "loan.created",
            "device",
            str(device.pk),
            loan=loan.pk,
            borrower=loan.borrower_id,
            programme=loan.programme,
            wave=loan.wave,
        )
    return loan


def check_in(loan: Loan, user: User, **fields: Any) -> CheckIn:
    with transaction.atomic():
        if CheckIn.objects.filter(loan=loan).exists():
            raise LendingError(["already returned"])
        ci = CheckIn.objects.create(loan=loan, by=user, at=timezone.now(), **fields)
        _set_lending(loan.device, Lending.RETURNED)
        audit.record(
            user,
            "loan.returned",
            "device",
            str(loan.device_id),
            loan=loan.pk,
            borrower=loan.borrower_id,
            condition=ci.condition,
        )
    return ci


def attended(loan: Loan) -> int:
    return Attendance.objects.filter(
        borrower=loan.borrower,
        present=True,
        session__programme=loan.programme,
        session__wave=loan.wave,
    ).count()


# --------------------------------------------------------------------------- personal data


def retention_days() -> int:
    """The retention period after the last loan ends (setting: months, default 12)."""
    months = float(getattr(settings, "DIGIBENCH_LENDING_RETENTION_MONTHS", 12))
    return round(months * 365.25 / 12)


def _pseudonymise(borrower: Borrower, now: datetime) -> None:
    """The borrower's identity and every free text written about their loans go; what the
    numbers per programme and the laptops' history need stays (programme, wave, dates,
    accessories, the return's condition, attendance)."""
    borrower.reference = f"anon-{borrower.pk}"
    borrower.name = ""
    borrower.contact = ""
    borrower.consent_on = None
    borrower.pseudonymised_at = now
    borrower.save()
    # a coordinator's words can name the borrower ("Fatima's son dropped it")
    Loan.objects.filter(borrower=borrower).update(condition="", handover_state="")
    CheckIn.objects.filter(loan__borrower=borrower).update(notes="", damage="")


def due_for_retention(now: datetime) -> list[Borrower]:
    """Borrowers whose last loan ended longer ago than the retention period."""
    cutoff = now - timedelta(days=retention_days())
    candidates = (
        Borrower.objects.filter(pseudonymised_at__isnull=True)
        .exclude(pk__in=Loan.objects.filter(checkin__isnull=True).values("borrower"))
        .annotate(last_end=Max("loans__checkin__at"))
        .filter(Q(last_end__lt=cutoff) | Q(last_end__isnull=True, created_at__lt=cutoff))
    )
    return list(candidates)


def apply_retention(now: datetime | None = None) -> int:
    """Pseudonymise every borrower past retention; loans, returns and counts stay."""
    now = now or timezone.now()
    done = 0
    for borrower in due_for_retention(now):
        with transaction.atomic():
            _pseudonymise(borrower, now)
            AuditEvent.objects.create(
                actor="system:lending_retention",
                action="borrower.pseudonymised",
                object_type="borrower",
                object_id=str(borrower.pk),
                details={"reason": "retention", "days": retention_days()},
            )
        done += 1
    return done


def _day(d: date | datetime | None) -> str | None:
    return d.isoformat() if d else None


def export_borrower(borrower: Borrower) -> dict[str, Any]:
    """Everything held on one borrower (right of access), as plain JSON-able data."""
    loans = []
    for loan in borrower.loans.select_related("device", "checkin").order_by("id"):
        ci = getattr(loan, "checkin", None)
        loans.append(
            {
                "id": loan.pk,
                "programme": loan.programme,
                "wave": loan.wave,
                "laptop": loan.device.asset_tag or loan.device.serial,
                "start": _day(loan.start),
                "due": _day(loan.due),
                "condition": loan.condition,
                "min_attendance": loan.min_attendance,
                "accessories": {"charger": loan.charger, "bag": loan.bag, "mouse": loan.mouse},
                "handover_state": loan.handover_state,
                "returned": None
                if ci is None
                else {
                    "at": _day(ci.at),
                    "condition": ci.condition,
                    "damage": ci.damage,
                    "notes": ci.notes,
                },
            }
        )
    events = AuditEvent.objects.filter(
        Q(object_type="borrower", object_id=str(borrower.pk))
        | Q(action__startswith="loan.", details__borrower=borrower.pk)
    ).order_by("at", "id")
    return {
        "borrower": {
            "id": borrower.pk,
            "reference": borrower.reference,
            "name": borrower.name,
            "contact": borrower.contact,
            "partner": borrower.partner,
            "language": borrower.language,
            "consent": borrower.consent,
            "consent_on": _day(borrower.consent_on),
            "created_at": _day(borrower.created_at),
            "pseudonymised_at": _day(borrower.pseudonymised_at),
        },
        "loans": loans,
        "attendance": [
            {"session": a.session.title, "date": _day(a.session.on), "present": a.present}
            for a in borrower.attendance.select_related("session").order_by("session__on")
        ],
        "audit": [
            {"at": _day(e.at), "actor": e.actor, "action": e.action, "details": e.details}
            for e in events
        ],
    }


def erase_borrower(borrower: Borrower, actor: str) -> None:
    """Right to erasure: personal data and free text go, the laptops' loans stay."""
    now = timezone.now()
    with transaction.atomic():
        _pseudonymise(borrower, now)
        borrower.partner = ""
        borrower.consent = False
        borrower.save()
        AuditEvent.objects.create(
            actor=actor,
            action="borrower.erased",
            object_type="borrower",
            object_id=str(borrower.pk),
            details={"reason": "request"},
        )
