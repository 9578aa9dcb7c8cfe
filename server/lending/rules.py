"""May this laptop be lent? The lending app asks the evidence rules (server/web/evidence.py),
the one place that says what "proven" means, and adds what only loans know: the laptop is
not out on a loan, and after a return the proof must come from a newer intake run.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from server.ingest.models import Device
from server.web import evidence
from server.web.models import DeviceStatus


def lendable(device: Device) -> list[str]:
    """Why this laptop cannot be lent now, in the operator's language; empty: it may be."""
    from server.lending.models import CheckIn, Loan

    if Loan.objects.filter(device=device, checkin__isnull=True).exists():
        return [_("This laptop is already lent.")]
    status = DeviceStatus.objects.filter(device=device).first()
    if status is None:
        return [_("This laptop has no intake run.")]
    last_return = CheckIn.objects.filter(loan__device=device).order_by("-at").first()
    since = last_return.at if last_return is not None else None
    return [m.text() for m in evidence.lending_missing(status, since=since)]
