"""What a coordinator decides about a laptop, as functions: one path for one laptop or many.

The single-laptop views and the bulk actions (server/web/bulk.py) both call
these, so a bulk action can never do what the single action refuses. Each
``check_*`` says why a change is refused (in the operator's language, from the
evidence rules in server/web/evidence.py), and each ``apply`` function checks
again under a row lock, writes the change and audits it for that laptop.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import transaction
from django.utils.translation import gettext as _

from server.web import audit, evidence, vocabulary
from server.web.models import Batch, BatchItem, DeviceStatus, DiskDestruction, Note
from server.web.vocabulary import Decision, Grade

MAX_NOTE = 5000


class Refused(Exception):
    """The change is not allowed; ``reasons`` say why, already translated."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class Change:
    """One field of one laptop before and after, as the preview shows it."""

    field: str
    old: str
    new: str


def _locked(status: DeviceStatus) -> DeviceStatus:
    """The row again, locked, so two coordinators (or a bulk run) never interleave."""
    return DeviceStatus.objects.select_for_update().get(pk=status.pk)


# --------------------------------------------------------------------------- destination


def check_decision(status: DeviceStatus, decision: str) -> list[str]:
    """Why ``decision`` cannot be taken for this laptop; empty when it can."""
    if decision not in Decision.values:
        return [_("Pick a destination.")]
    if decision in vocabulary.LOAN_DECISIONS:
        missing = evidence.lending_missing(status, destination=decision)
        if missing:
            return [m.text() for m in missing]
    return []


def decision_change(status: DeviceStatus, decision: str) -> Change:
    return Change(_("Destination"), status.destination_display, vocabulary.decision_label(decision))


def decide(status: DeviceStatus, decision: str, user: User, reason: str = "") -> DeviceStatus:
    """Decide where the laptop goes; a loan only when the evidence rules allow lending."""
    with transaction.atomic():
        row = _locked(status)
        refused = check_decision(row, decision)
        if refused:
            raise Refused(refused)
        old = row.decision
        row.decision = decision
        row.save(update_fields=["decision"])
        audit.record(
            user,
            "destination.decided",
            "device",
            str(row.pk),
            asset_tag=row.asset_tag,
            old=old,
            new=decision,
            proposal=row.proposal,
            reason=reason,
        )
    return row


# --------------------------------------------------------------------------- grade


def check_grade(status: DeviceStatus, grade: str, reason: str) -> list[str]:
    problems = []
    if grade not in {g.value for g in Grade}:
        problems.append(_("Pick a grade."))
    if len(reason.strip()) < 3:
        problems.append(_("Give a reason for the override."))
    return problems


def override_grade(status: DeviceStatus, grade: str, reason: str, user: User) -> DeviceStatus:
    """Override the grade; the proposal follows the new grade (C -> B: repair becomes lend).

    A decided loan that the new grade no longer allows is withdrawn: the laptop
    must not stay on its way to a borrower with a grade that forbids lending.
    """
    with transaction.atomic():
        row = _locked(status)
        refused = check_grade(row, grade, reason)
        if refused:
            raise Refused(refused)
        old, old_proposal, old_decision = row.grade, row.proposal, row.decision
        row.grade_override = grade
        row.grade_override_reason = reason.strip()
        row.grade = grade
        row.proposal = vocabulary.proposal_for(grade)
        if row.decision in vocabulary.LOAN_DECISIONS and grade not in vocabulary.LENDABLE_GRADES:
            row.decision = ""
        row.save(
            update_fields=[
                "grade_override",
                "grade_override_reason",
                "grade",
                "proposal",
                "decision",
            ]
        )
        audit.record(
            user,
            "grade.overridden",
            "device",
            str(row.pk),
            asset_tag=row.asset_tag,
            old=old,
            new=grade,
            reason=row.grade_override_reason,
            proposal_old=old_proposal,
            proposal_new=row.proposal,
            **({"decision_withdrawn": old_decision} if old_decision != row.decision else {}),
        )
    return row


# --------------------------------------------------------------------------- batch


def check_batch(status: DeviceStatus, batch: Batch | None) -> list[str]:
    """Why the laptop cannot join ``batch`` (or leave its batch for None)."""
    problems = []
    if not status.asset_tag:
        problems.append(_("The laptop has no asset tag, so it cannot be scanned into a batch."))
    if batch is not None and batch.closed_at is not None:
        problems.append(_("Batch #%(batch)s is closed.") % {"batch": batch.pk})
    item = BatchItem.objects.filter(asset_tag=status.asset_tag).select_related("batch").first()
    if (
        item is not None
        and item.batch.closed_at is not None
        and item.batch_id != (batch.pk if batch else None)
    ):
        problems.append(
            _("It belongs to closed batch #%(batch)s, which cannot change.")
            % {"batch": item.batch_id}
        )
    return problems


def batch_change(status: DeviceStatus, batch: Batch | None) -> Change:
    return Change(
        _("Batch"), str(status.batch) if status.batch else "–", str(batch) if batch else "–"
    )


def set_batch(status: DeviceStatus, batch: Batch | None, user: User) -> DeviceStatus:
    """Put the laptop's asset tag into ``batch`` (moving it), or out of every batch."""
    with transaction.atomic():
        # the batch it leaves and the one it joins, before the laptop's row (audit_chain.py):
        # neither closes while it moves, and both are checked as they are now
        leaving = BatchItem.objects.filter(asset_tag=status.asset_tag).values_list(
            "batch_id", flat=True
        )
        ids = {*leaving, *([batch.pk] if batch is not None else [])}
        locked = {
            b.pk: b for b in Batch.objects.select_for_update().filter(pk__in=ids).order_by("pk")
        }
        batch = locked[batch.pk] if batch is not None else None
        row = _locked(status)
        refused = check_batch(row, batch)
        if refused:
            raise Refused(refused)
        old = row.batch_id
        items = BatchItem.objects.filter(asset_tag=row.asset_tag)
        (items.exclude(batch=batch) if batch is not None else items).delete()
        if batch is not None:
            BatchItem.objects.get_or_create(
                asset_tag=row.asset_tag, defaults={"batch": batch, "added_by": user}
            )
        # Every laptop under the tag follows it (a tag conflict keeps both in view).
        DeviceStatus.objects.filter(asset_tag=row.asset_tag).update(batch=batch)
        row.batch = batch
        audit.record(
            user,
            "batch.membership",
            "device",
            str(row.pk),
            asset_tag=row.asset_tag,
            old=old,
            new=batch.pk if batch else None,
        )
    return row


# --------------------------------------------------------------------------- notes, disks


def check_note(status: DeviceStatus, text: str) -> list[str]:
    if not text.strip():
        return [_("A note cannot be empty.")]
    if len(text) > MAX_NOTE:
        return [_("A note has at most %(n)s characters.") % {"n": MAX_NOTE}]
    return []


def add_note(status: DeviceStatus, text: str, user: User) -> Note:
    refused = check_note(status, text)
    if refused:
        raise Refused(refused)
    with transaction.atomic():
        note = Note.objects.create(device_id=status.pk, author=user, text=text.strip())
        audit.record(
            user, "note.added", "device", str(status.pk), asset_tag=status.asset_tag, note=note.text
        )
    return note


def record_destruction(
    status: DeviceStatus, disk_serial: str, method: str, user: User
) -> DiskDestruction:
    """A disk destroyed instead of erased: proof for the evidence rules, so it is audited."""
    if not disk_serial.strip() or not method.strip():
        raise Refused([_("Give the disk serial and how it was destroyed.")])
    with transaction.atomic():
        row = DiskDestruction.objects.create(
            device_id=status.pk,
            recorded_by=user,
            disk_serial=disk_serial.strip(),
            method=method.strip(),
        )
        audit.record(
            user,
            "disk.destroyed",
            "device",
            str(status.pk),
            asset_tag=status.asset_tag,
            disk_serial=row.disk_serial,
            method=row.method,
        )
    return row
