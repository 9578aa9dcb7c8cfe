"""May this laptop be lent? The lending app's one question to the evidence rules.

``lendable`` must delegate to ``server/web/evidence.py`` once that module lands (the
lead wires it at merge); until then it asks the same questions with a plain query:
the latest intake run is finished and signature-valid, every internal disk has a
verified, signature-valid erasure record with result "erased" (or was recorded
destroyed), the image is verified, the grade allows lending, the laptop is not out on
a loan, and after a return there is a newer such intake run.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from server.ingest.models import Device, Run, SignatureStatus
from server.web.models import DeviceStatus, DiskDestruction
from server.web.record_signatures import erasure_signatures

#: grades a laptop may be lent with (the others go to repair, parts or recycling)
LENDABLE_GRADES = ("A", "B", "C")
NOT_LENDABLE_DESTINATIONS = ("repair", "parts", "recycle")


def _erasure_problems(run: Run, destroyed: set[str]) -> list[str]:
    sigs = erasure_signatures(run)
    by_serial = {e.disk_serial: e for e in run.erasures.all()}
    internal = [d.serial for d in run.disks.filter(internal=True)] or list(by_serial)
    if not internal:
        return [_("The latest intake run records no internal disk.")]
    problems = []
    for serial in internal:
        if serial and serial in destroyed:
            continue
        rec = by_serial.get(serial)
        if rec is None:
            problems.append(_("Disk %(serial)s has no erasure record.") % {"serial": serial})
        elif (
            rec.result != "erased"
            or rec.verification_passed is not True
            or sigs.get(str(rec.record_id)) != "valid"
        ):
            problems.append(
                _("Disk %(serial)s has no verified, signed erasure.") % {"serial": serial}
            )
    return problems


def lendable(device: Device) -> list[str]:
    """Why this laptop cannot be lent now; an empty list means it may be."""
    from server.lending.models import CheckIn, Loan

    if Loan.objects.filter(device=device, checkin__isnull=True).exists():
        return [_("This laptop is already lent.")]
    run = Run.objects.filter(device=device).order_by("-created_at", "-id").first()
    if run is None:
        return [_("This laptop has no intake run.")]
    problems: list[str] = []
    if run.finished_at is None:
        problems.append(_("The latest intake run did not finish."))
    if run.signature_status != SignatureStatus.VALID:
        problems.append(_("The latest intake report has no valid signature."))
    destroyed = set(
        DiskDestruction.objects.filter(device=device).values_list("disk_serial", flat=True)
    )
    problems += _erasure_problems(run, destroyed)
    if not run.images.filter(verified=True).exists():
        problems.append(_("The image on this laptop was not verified."))
    status = DeviceStatus.objects.filter(device=device).first()
    grade = status.grade if status else ""
    if grade not in LENDABLE_GRADES or (
        status is not None and status.destination in NOT_LENDABLE_DESTINATIONS
    ):
        problems.append(_("Its grade or destination does not allow lending."))
    last_return = CheckIn.objects.filter(loan__device=device).order_by("-at").first()
    if last_return is not None and not (
        run.created_at > last_return.at and run.received_at > last_return.at
    ):
        problems.append(_("Returned laptops need a new intake run before they are lent again."))
    return problems
