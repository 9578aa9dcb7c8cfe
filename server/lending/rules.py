"""May this laptop be lent? The lending app asks the evidence rules (server/web/evidence.py),
the one place that says what "proven" means, and adds what only loans know: the laptop is
not out on a loan, and after a return the proof must come from a newer intake run.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from server.ingest.models import Device
from server.web import evidence, vocabulary
from server.web.models import DeviceStatus


def missing(status: DeviceStatus) -> list[evidence.Missing]:
    """What stands between this laptop and a loan, as the evidence rules' codes: out on a
    loan now, else the evidence, proven by an intake newer than the last return. The
    lending form, the laptop's page and its JSON all ask this, so they cannot disagree."""
    from server.lending.models import CheckIn, Loan

    if Loan.objects.filter(device_id=status.pk, checkin__isnull=True).exists():
        return [evidence.Missing("on_loan")]
    last_return = CheckIn.objects.filter(loan__device_id=status.pk).order_by("-at").first()
    since = last_return.at if last_return is not None else None
    return evidence.lending_missing(status, since=since)


def lendable(device: Device, programme: str | None = None) -> list[str]:
    """Why this laptop cannot be lent now (under ``programme``), in the operator's
    language; empty: it may be."""
    status = DeviceStatus.objects.filter(device=device).first()
    if status is None:
        return [_("This laptop has no intake run.")]
    problems = [m.text() for m in missing(status)]
    # a coordinator's loan decision names the programme; the station's proposal does not
    if programme and status.decision in vocabulary.LOAN_DECISIONS and programme != status.decision:
        problems.append(
            _("This laptop is meant for a %(decision)s, not for this programme.")
            % {"decision": vocabulary.label("decision", status.decision)}
        )
    return problems
