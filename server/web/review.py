"""The review queue: which laptops need a human, and why.

One condition per reason, each a query on ``DeviceStatus`` (indexed, see
migration 0004), so the queue, the dashboard's problem counts and the device
list's problem filter all say the same. A laptop may need a human for several
reasons; it is listed under each, oldest report first.

A disk recorded as physically destroyed (``DiskDestruction``) no longer needs a
human: it leaves "wipe failed" and "failing disk" once every such disk of the
laptop is destroyed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import BooleanField, Exists, Expression, F, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from server.ingest.models import Disk, ErasureRecord
from server.web import conflicts
from server.web.models import DeviceStatus, DiskDestruction, SpotCheck
from server.web.reason_words import reason_text

#: rows shown per reason; the count says how many there are in all
LIMIT = 25
_BAD_RESULTS = ["failed", "erased_with_exceptions"]


def _destroyed() -> QuerySet[DiskDestruction, Any]:
    """Serials of the (outer query's) laptop recorded as physically destroyed."""
    return DiskDestruction.objects.filter(device_id=OuterRef(OuterRef("device_id"))).values(
        "disk_serial"
    )


class _InConstants(Expression):
    """``column IN ('a', 'b')`` with the (fixed, code-defined) values written into the SQL.

    SQLite plans a bound ``IN (?, ?)`` by the column's average selectivity (half the
    laptops for a two-valued column at 100,000 laptops) and scans the table; the literal
    values let it search the column's index for the rare failed wipes.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str, values: tuple[str, ...]) -> None:
        super().__init__()
        if not all(re.fullmatch(r"[a-z_]+", v) for v in values):
            raise ValueError(f"not a plain code: {values}")
        self.column: Any = F(column)
        self.values = values

    def get_source_expressions(self) -> list[Any]:
        return [self.column]

    def set_source_expressions(self, exprs: Any) -> None:
        (self.column,) = exprs

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.column)
        return f"{sql} IN ({', '.join(repr(v) for v in self.values)})", list(params)


def wipe_failed_q() -> Q:
    """A wipe failed or has exceptions on a disk that was not destroyed since."""
    bad = ErasureRecord.objects.filter(
        run_id=OuterRef("last_run_id"), result__in=_BAD_RESULTS
    ).exclude(disk_serial__in=_destroyed())
    return Q(_InConstants("erasure", ("failed", "exceptions"))) & Q(Exists(bad))


def failing_disk_q() -> Q:
    """A disk judged failing that was not destroyed since."""
    failing = Disk.objects.filter(run_id=OuterRef("last_run_id"), verdict="failing").exclude(
        serial__in=_destroyed()
    )
    return Q(disk_failing=True) & Q(Exists(failing))


def four_eyes_q() -> Q:
    """An open batch's four-eyes check of this laptop's current erasure is open or failed."""
    # Uncorrelated: the few due checks are found once, not once per laptop.
    due = (
        SpotCheck.objects.filter(batch__closed_at__isnull=True)
        .filter(Q(checked_at__isnull=True) | Q(passed=False))
        .values("erasure__run_id")
    )
    return Q(last_run_id__in=due)


def conflict_q() -> Q:
    """The laptops of an open tag conflict, found first (one small query): "in one
    subquery or the other" makes the planner scan every laptop at 100,000 of them."""
    ids: set[int] = set()
    for pair in conflicts.open_queryset().values_list("device_id", "other_id"):
        ids.update(pair)
    return Q(pk__in=sorted(ids))


@dataclass(frozen=True)
class Reason:
    """One reason a laptop needs a human."""

    key: str
    title: Any  # a lazy translation
    #: the device list's ``problem`` filter showing the same laptops, if it has one
    problem: str = ""

    def q(self) -> Q:
        return _CONDITIONS[self.key]()


def _unfinished() -> Q:
    return Q(report_finished=False)


def _overridden() -> Q:
    # "> ''" rather than "<> ''": a range on the (decision, grade_override) index
    return Q(grade_override__gt="", decision="")


def _undecided() -> Q:
    return Q(decision="", grade_override="")


_CONDITIONS: dict[str, Callable[[], Q]] = {
    "conflict": conflict_q,
    "wipe": wipe_failed_q,
    "disk": failing_disk_q,
    "unfinished": _unfinished,
    "foureyes": four_eyes_q,
    "overridden": _overridden,
    "undecided": _undecided,
}

#: in the order the queue shows them: what blocks evidence first, plain decisions last
REASONS = (
    Reason("conflict", _("Asset tag also used by another laptop")),
    Reason("wipe", _("Wipe failed or with exceptions"), "wipe"),
    Reason("disk", _("Failing disk"), "disk"),
    Reason("unfinished", _("Report not finished"), "unfinished"),
    Reason("foureyes", _("Four-eyes check due or failed")),
    Reason("overridden", _("Grade overridden, destination still to decide")),
    Reason("undecided", _("Destination not decided")),
)
BY_KEY = {r.key: r for r in REASONS}


def counts(scope: QuerySet[DeviceStatus]) -> dict[str, int]:
    """How many laptops in ``scope`` need a human for each reason: one count per reason,
    each on its reason's index (one pass testing every condition on every row costs more
    at 100,000 laptops)."""
    return {r.key: scope.filter(r.q()).count() for r in REASONS}


@dataclass
class Group:
    reason: Reason
    count: int
    rows: list[DeviceStatus] = field(default_factory=list)


def queue(limit: int = LIMIT) -> list[Group]:
    """Each reason's count and its oldest laptops with the facts to decide on.

    A constant number of queries: one count, one page per reason, then the
    disks, bad erasures and destroyed disks of all shown laptops at once.
    """
    total = counts(DeviceStatus.objects.all())
    groups = []
    for reason in REASONS:
        rows = (
            list(
                DeviceStatus.objects.filter(reason.q())
                .select_related("last_run__grade", "batch")
                .defer("search", "last_run__raw_body")
                .order_by("last_run_at", "pk")[:limit]
            )
            if total[reason.key]
            else []
        )
        groups.append(Group(reason, total[reason.key], rows))
    _attach_facts([row for g in groups for row in g.rows])
    return groups


def _attach_facts(rows: list[DeviceStatus]) -> None:
    """Give each row ``disks``, ``bad_erasures``, ``destroyed`` and ``top_reasons``."""
    run_ids = {r.last_run_id for r in rows if r.last_run_id}
    disks: dict[int, list[Disk]] = {}
    for disk in Disk.objects.filter(run_id__in=run_ids, internal=True).order_by("id"):
        disks.setdefault(disk.run_id, []).append(disk)
    bad: dict[int, list[ErasureRecord]] = {}
    for rec in ErasureRecord.objects.filter(run_id__in=run_ids).exclude(result="erased"):
        bad.setdefault(rec.run_id, []).append(rec)
    destroyed: dict[int, set[str]] = {}
    for device_id, serial in DiskDestruction.objects.filter(
        device_id__in={r.pk for r in rows}
    ).values_list("device_id", "disk_serial"):
        destroyed.setdefault(device_id, set()).add(serial)
    for row in rows:
        gone = destroyed.get(row.pk, set())
        row.disks = [  # type: ignore[attr-defined]
            (d, d.serial in gone) for d in disks.get(row.last_run_id or 0, [])
        ]
        row.bad_erasures = [  # type: ignore[attr-defined]
            e for e in bad.get(row.last_run_id or 0, []) if e.disk_serial not in gone
        ]
        grade = getattr(row.last_run, "grade", None) if row.last_run_id else None
        reasons = grade.reasons if grade is not None and isinstance(grade.reasons, list) else []
        row.top_reasons = [  # type: ignore[attr-defined]
            reason_text(r) for r in reasons[:3] if isinstance(r, dict)
        ]
