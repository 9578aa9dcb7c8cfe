"""Which loans a list shows, and the numbers per programme: shared by pages and CSV."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
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


def _sessions(qs: QuerySet[Any], **outer: str) -> Subquery:
    """How many rows of ``qs`` match the outer loan's fields (``outer``): one number."""
    counted = qs.filter(**{k: OuterRef(v) for k, v in outer.items()}).order_by()
    one = next(iter(outer))
    return Subquery(counted.values(one).annotate(n=Count("pk")).values("n"), IntegerField())


def _reminder_kinds(today: date) -> list[tuple[str, QuerySet[Loan]]]:
    """What a coordinator should follow up, in the order shown: overdue, due back within a
    week, absent from sessions. Each a query, so a page of them costs the same at 10 or
    10,000 loans (sessions held and attended are counted by the database, per loan)."""
    active = Loan.objects.filter(checkin__isnull=True).select_related("borrower", "device")
    held = _sessions(Session.objects.filter(on__lte=today), programme="programme", wave="wave")
    present = Attendance.objects.filter(present=True)
    where = {"borrower": "borrower", "session__programme": "programme", "session__wave": "wave"}
    absent = (
        active.filter(min_attendance__gt=0)
        .annotate(
            held=Coalesce(held, 0),
            came=Coalesce(_sessions(present.filter(session__on__lte=today), **where), 0),
            done=Coalesce(_sessions(present, **where), 0),
        )
        .annotate(absent=F("held") - F("came"))
        .exclude(absent=0)
    )
    return [
        ("overdue", active.filter(due__lt=today)),
        ("due", active.filter(due__gte=today, due__lte=today + timedelta(days=7))),
        ("absent", absent),
    ]


def _reminder_text(kind: str, loan: Loan) -> str:
    if kind == "overdue":
        return _("overdue since %(d)s") % {"d": loan.due}
    if kind == "due":
        return _("due back on %(d)s") % {"d": loan.due}
    return _("absent from %(n)d sessions; attended %(done)d of %(min)d required") % {
        "n": loan.absent,  # type: ignore[attr-defined]
        "done": loan.done,  # type: ignore[attr-defined]
        "min": loan.min_attendance,
    }


def reminders(
    today: date | None = None, start: int = 0, stop: int | None = None
) -> list[dict[str, Any]]:
    """Reminders ``start`` to ``stop`` (all by default) of the list, in its order."""
    out: list[dict[str, Any]] = []
    for kind, qs in _reminder_kinds(today or timezone.localdate()):
        if stop is not None and start >= stop:
            break
        if start > 0:
            skipped = qs.count()
            if start >= skipped:
                start -= skipped
                if stop is not None:
                    stop -= skipped
                continue
        rows = qs[start:stop] if stop is not None else qs[start:]
        got = [{"loan": loan, "kind": kind, "text": _reminder_text(kind, loan)} for loan in rows]
        out += got
        if stop is not None:
            stop -= start + len(got)
        start = 0
    return out
