"""Which loans a list shows, and the numbers per programme: shared by pages and CSV."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from server.lending.models import Attendance, Loan, Programme, Session
from server.web.models import DeviceStatus
from server.web.vocabulary import Decision, Grade

VIEWS = {
    "active": gettext_lazy("Active loans"),
    "week": gettext_lazy("Due this week"),
    "overdue": gettext_lazy("Overdue"),
    "all": gettext_lazy("All loans"),
}


def week_end(today: date) -> date:
    return today + timedelta(days=6 - today.weekday())


def loans(params: QueryDict, today: date | None = None) -> tuple[str, QuerySet[Loan]]:
    today = today or timezone.localdate()
    view = params.get("view", "active")
    view = view if view in VIEWS else "active"
    qs = Loan.objects.select_related("borrower", "device", "checkin")
    active = Q(checkin__isnull=True)
    if view == "active":
        qs = qs.filter(active)
    elif view == "week":
        qs = qs.filter(active, due__gte=today, due__lte=week_end(today))
    elif view == "overdue":
        qs = qs.filter(active, due__lt=today)
    if params.get("programme") in Programme.values:
        qs = qs.filter(programme=params["programme"])
    wave = str(params.get("wave") or "")
    if wave.isdigit():
        qs = qs.filter(wave=int(wave))
    if params.get("partner"):
        qs = qs.filter(borrower__partner=params["partner"])
    return view, qs.order_by("due", "id")


def numbers() -> list[dict[str, Any]]:
    """Per programme: laptops lent, returned, in repair, recycled; borrowers served."""
    rows = []
    for code, label in Programme.choices:
        lent = Loan.objects.filter(programme=code)
        devices = DeviceStatus.objects.filter(device__in=lent.values("device"))
        agg = lent.aggregate(
            loans=Count("id"),
            active=Count("id", filter=Q(checkin__isnull=True)),
            returned=Count("id", filter=Q(checkin__isnull=False)),
            borrowers=Count("borrower", distinct=True),
        )
        rows.append(
            {
                "programme": label,
                "lent": agg["loans"],
                "active": agg["active"],
                "returned": agg["returned"],
                "in_repair": devices.filter(decision=Decision.REPAIR).count(),
                "recycled": devices.filter(
                    Q(decision=Decision.RECYCLE) | Q(grade=Grade.RECYCLE)
                ).count(),
                "borrowers": agg["borrowers"],
            }
        )
    return rows


NUMBER_COLUMNS = [
    ("programme", gettext_lazy("Programme")),
    ("lent", gettext_lazy("Laptops lent")),
    ("active", gettext_lazy("Out now")),
    ("returned", gettext_lazy("Returned")),
    ("in_repair", gettext_lazy("In repair")),
    ("recycled", gettext_lazy("Recycled")),
    ("borrowers", gettext_lazy("Borrowers served")),
]


def reminders(today: date | None = None) -> list[dict[str, Any]]:
    """What a coordinator should follow up: overdue, due back soon, absent from sessions."""
    today = today or timezone.localdate()
    out: list[dict[str, Any]] = []
    active = Loan.objects.filter(checkin__isnull=True).select_related("borrower", "device")
    for loan in active.filter(due__lt=today):
        out.append(
            {"loan": loan, "kind": "overdue", "text": _("overdue since %(d)s") % {"d": loan.due}}
        )
    for loan in active.filter(due__gte=today, due__lte=today + timedelta(days=7)):
        out.append({"loan": loan, "kind": "due", "text": _("due back on %(d)s") % {"d": loan.due}})
    # Sessions held and sessions attended, counted once per programme/wave and per borrower
    # (three queries for the whole list, not two per loan).
    followed = active.filter(min_attendance__gt=0)
    held: dict[tuple[str, int], int] = {
        (r["programme"], r["wave"]): r["n"]
        for r in Session.objects.filter(on__lte=today)
        .values("programme", "wave")
        .annotate(n=Count("pk"))
        .order_by()
    }
    present = Attendance.objects.filter(present=True, borrower__in=followed.values("borrower"))
    keys = ("borrower", "session__programme", "session__wave")
    came = _per_borrower(present.filter(session__on__lte=today), keys)
    done = _per_borrower(present, keys)
    for loan in followed:
        key = (loan.borrower_id, loan.programme, loan.wave)
        absent = held.get(key[1:], 0) - came.get(key, 0)
        if absent:
            out.append(
                {
                    "loan": loan,
                    "kind": "absent",
                    "text": _("absent from %(n)d sessions; attended %(done)d of %(min)d required")
                    % {"n": absent, "done": done.get(key, 0), "min": loan.min_attendance},
                }
            )
    return out


def _per_borrower(qs: QuerySet[Attendance], keys: tuple[str, ...]) -> dict[tuple[Any, ...], int]:
    rows = qs.values(*keys).annotate(n=Count("pk")).order_by()
    return {tuple(r[k] for k in keys): r["n"] for r in rows}
