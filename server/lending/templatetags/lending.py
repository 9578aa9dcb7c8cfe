"""The device page's "life of this laptop": donation, intakes, loans and returns in order."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import template
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from server.ingest.models import Run
from server.lending import rules
from server.lending.models import Loan
from server.web.models import DeviceStatus
from server.web.vocabulary import label

register = template.Library()


def _when(d: Any) -> datetime:
    if isinstance(d, datetime):
        return d
    return timezone.make_aware(datetime.combine(d, time.min))


@register.inclusion_tag("lending/_device_life.html", takes_context=True)
def device_life(context: dict[str, Any], status: DeviceStatus) -> dict[str, Any]:
    user = context["request"].user
    see_borrower = user.has_perm("lending.view_borrower")
    events: list[dict[str, Any]] = []
    if status.batch is not None:
        events.append(
            {
                "at": _when(status.batch.received_on),
                "kind": "donation",
                "text": _("Donated by %(donor)s") % {"donor": status.batch.donor},
            }
        )
    for run in Run.objects.filter(device_id=status.pk).order_by("created_at"):
        # by the run's mode, in the words every page uses: a helpdesk check is no intake
        events.append(
            {"at": run.created_at, "kind": run.mode, "text": capfirst(label("mode", run.mode))}
        )
    for loan in Loan.objects.filter(device_id=status.pk).select_related("borrower", "checkin"):
        who = loan.borrower.reference if see_borrower else f"#{loan.borrower_id}"
        events.append(
            {
                "at": _when(loan.start),
                "kind": "loan",
                "loan": loan,
                "text": _("Lent under %(programme)s wave %(wave)d to %(who)s")
                % {"programme": loan.get_programme_display(), "wave": loan.wave, "who": who},
            }
        )
        if not loan.is_active:
            events.append(
                {
                    "at": loan.checkin.at,
                    "kind": "return",
                    "loan": loan,
                    "text": _("Returned (%(condition)s)")
                    % {"condition": loan.checkin.get_condition_display()},
                }
            )
    events.sort(key=lambda e: e["at"])
    # offered only when the lending rule finds nothing missing (the page's own answer when
    # it has one): not for a laptop out on loan or not re-wiped since its return
    can_lend = user.has_perm("lending.add_loan")
    if can_lend:
        missing = context.get("lending_missing")
        can_lend = not (rules.missing(status) if missing is None else missing)
    return {
        "events": events,
        "key": status.asset_tag,
        "can_lend": can_lend,
        "can_view_loans": user.has_perm("lending.view_loan"),
    }
