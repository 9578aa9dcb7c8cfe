"""The dashboard: what needs a human, and the period's output as charts.

Its numbers come from a handful of aggregate queries (one pass over the
period's laptops for every count, one for the timeline, one for the disks),
so it costs the same number of queries at 40 laptops as at 100,000. Nothing
is cached: every view counts what the database holds now.
"""

from __future__ import annotations

import bisect
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import CharField, Count, Exists, Func, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from agent.report.schema import DiskVerdict
from server.ingest.models import Run, Station
from server.web import charts, conflicts, listing, review, vocabulary
from server.web.models import (
    Batch,
    BatchItem,
    DeviceStatus,
    ErasureState,
    Lending,
)
from server.web.views import viewer

GRADES = tuple(str(g) for g in vocabulary.Grade)
DECISIONS = tuple(str(d) for d in vocabulary.Decision)
VERDICTS = tuple(str(v) for v in DiskVerdict)
DAYS = 30
WEEKS = 12
BATCHES_CHARTED = 8


def word(kind: str, code: str) -> str:
    """A stored code in the reader's language (one vocabulary: server/web/vocabulary.py)."""
    return vocabulary.label(kind, code)


def _period(request: HttpRequest) -> tuple[str, Q, Batch | None]:
    period = request.GET.get("period", "today")
    now = timezone.localtime()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        return period, Q(last_run_at__gte=start - timedelta(days=now.weekday())), None
    batch_id = listing.db_id(period[6:]) if period.startswith("batch-") else None
    if batch_id is not None:
        batch = Batch.objects.filter(pk=batch_id).first()
        if batch is not None:
            return period, in_batch(batch.pk), batch
    if period == "all":
        return period, Q(), None
    return "today", Q(last_run_at__gte=start), None


def _counted(
    values: dict[str, int], prefix: str, keys: tuple[str, ...], total: int, kind: str
) -> list[tuple[str, int]]:
    """(word, count) per known code, plus "other" for codes outside the list."""
    rows = [(word(kind, k), values[f"{prefix}{k}"]) for k in keys]
    rest = total - sum(n for _, n in rows)
    if rest > 0:
        rows.append((_("other or none"), rest))
    return rows


def _one_pass(scope: QuerySet[DeviceStatus], stations: list[str]) -> dict[str, int]:
    """Every count of a bounded period (a day, a week, a batch) in one pass over its rows."""
    agg: dict[str, Any] = {"total": Count("pk")}
    for prefix, column, keys in _COLUMNS:
        for k in keys:
            agg[f"{prefix}{k}"] = Count("pk", filter=Q(**{column: k}))
    for i, name in enumerate(stations):
        agg[f"s_{i}"] = Count("pk", filter=Q(station=name))
    for prefix, column, top in _BUCKETED:
        for lo in range(0, top, 10):
            agg[f"{prefix}{lo}"] = Count(
                "pk", filter=Q(**{f"{column}__gte": lo, f"{column}__lt": lo + 10})
            )
        agg[f"{prefix}{top}"] = Count("pk", filter=Q(**{f"{column}__gte": top}))
        agg[f"{prefix}none"] = Count("pk", filter=Q(**{f"{column}__isnull": True}))
    for reason in review.REASONS:
        agg[f"p_{reason.key}"] = Count("pk", filter=reason.q())
    return scope.aggregate(**agg)


def _grouped(scope: QuerySet[DeviceStatus], column: str) -> dict[Any, int]:
    """Laptops per value of one column: a scan of its small index, not of the table."""
    rows = scope.order_by().values_list(column).annotate(n=Count("*"))
    return dict(rows.values_list(column, "n"))


def _per_index(scope: QuerySet[DeviceStatus], stations: list[str]) -> dict[str, int]:
    """Every count of all laptops: one grouped scan of a small covering index per pair of
    columns (or column), and one count per reason (each on its index). One pass testing
    fifty conditions on each of 100,000 rows costs more; on a bounded period the planner
    would scan the whole index instead."""
    values: dict[str, dict[Any, int]] = {}
    for pair in _PAIRS:
        rows = scope.order_by().values_list(*pair).annotate(n=Count("*")).values_list(*pair, "n")
        for first, second, n in rows:
            for column, value in zip(pair, (first, second), strict=True):
                counted = values.setdefault(column, {})
                counted[value] = counted.get(value, 0) + n
    for column in ("station", "battery_health"):
        values[column] = _grouped(scope, column)
    # every laptop has one value (or NULL) per column
    got: dict[str, int] = {"total": sum(values.get("grade", {}).values())}
    for prefix, column, keys in _COLUMNS:
        got |= {f"{prefix}{k}": values.get(column, {}).get(k, 0) for k in keys}
    per_station = values["station"]
    got |= {f"s_{i}": per_station.get(name, 0) for i, name in enumerate(stations)}
    for prefix, column, top in _BUCKETED:
        got |= {f"{prefix}{lo}": 0 for lo in range(0, top + 10, 10)} | {f"{prefix}none": 0}
        for value, n in values.get(column, {}).items():
            bucket = "none" if value is None else str(min(top, max(0, int(value // 10) * 10)))
            got[f"{prefix}{bucket}"] += n
    got |= {f"p_{k}": n for k, n in review.counts(scope).items()}
    return got


#: columns counted together from one scan of their two-column index (models.DeviceStatus)
_PAIRS = (("grade", "decision"), ("erasure", "lending"), ("disk_verdict", "disk_wear"))
#: columns counted per value: (key prefix, column, values)
_COLUMNS = (
    ("g_", "grade", GRADES),
    ("d_", "decision", DECISIONS),
    ("e_", "erasure", tuple(ErasureState.values)),
    ("l_", "lending", tuple(Lending.values)),
    ("v_", "disk_verdict", VERDICTS),
)
#: columns counted in tens: (key prefix, column, the open-ended top bucket)
_BUCKETED = (("b_", "battery_health", 90), ("w_", "disk_wear", 100))


class _UtcHour(Func):
    """A timestamp's UTC hour as text ("2026-12-04 15"), computed by the database itself.

    Django's own truncation calls back into Python for every row on SQLite; this is
    plain SQL on both, and whole UTC hours map exactly onto Brussels days.
    """

    output_field = CharField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="substr(%(expressions)s, 1, 13)")

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # grouped as timestamps, spelled in Python: grouping by to_char's text costs 4x
        return self.as_sql(
            compiler, connection, template="date_trunc('hour', %(expressions)s AT TIME ZONE 'UTC')"
        )

    def get_db_converters(self, connection: Any) -> list[Any]:
        return [_spell_hour, *super().get_db_converters(connection)]


def _spell_hour(value: Any, expression: Any, connection: Any) -> Any:
    """PostgreSQL's hour (a timestamp) spelled as SQLite's ("2026-12-04 15")."""
    return value.strftime("%Y-%m-%d %H") if isinstance(value, datetime) else value


def _timeline(now: datetime) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """Laptops whose latest report is from each of the last days and weeks: one query."""
    today = now.date()
    monday = today - timedelta(days=today.weekday())
    days = [today - timedelta(days=i) for i in range(DAYS - 1, -1, -1)]
    weeks = [monday - timedelta(weeks=i) for i in range(WEEKS - 1, -1, -1)]
    first = min(days[0], weeks[0])
    since = timezone.make_aware(datetime.combine(first, time()))
    # Each local day's first UTC hour, as the database spells it: an hour belongs to the
    # last day starting at or before it (no time zone conversion per row).
    local_days = [first + timedelta(days=i) for i in range((today - first).days + 1)]
    starts = [
        timezone.make_aware(datetime.combine(d, time())).astimezone(UTC).strftime("%Y-%m-%d %H")
        for d in local_days
    ]
    per_day: dict[date, int] = {}
    for hour, n in (
        DeviceStatus.objects.filter(last_run_at__gte=since)
        .annotate(hour=_UtcHour("last_run_at"))
        .values("hour")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("hour", "n")
    ):
        at = bisect.bisect_right(starts, hour) - 1
        if at >= 0:
            day = local_days[at]
            per_day[day] = per_day.get(day, 0) + n
    return (
        [(date_format(d, "d/m"), per_day.get(d, 0)) for d in days],
        [
            (date_format(w, "d/m"), sum(per_day.get(w + timedelta(days=i), 0) for i in range(7)))
            for w in weeks
        ],
    )


def in_batch(*batch_ids: int) -> Q:
    """The laptops of these batches, found through their (selective) asset tags.

    ``batch_id`` alone is a poor index for SQLite's planner: most laptops have none,
    so its statistics make a 500-laptop batch look like half the table.
    """
    tags = BatchItem.objects.filter(batch_id__in=batch_ids).values("asset_tag")
    return Q(asset_tag__in=tags, batch_id__in=batch_ids)


def _per_batch(batch: Batch | None) -> tuple[list[Batch], dict[tuple[int, str, str], int]]:
    """Grades and destinations of the charted batches: one query."""
    if batch is not None:
        shown = [batch]
    else:
        shown = list(Batch.objects.filter(closed_at__isnull=True)[:BATCHES_CHARTED])
    rows = (
        DeviceStatus.objects.filter(in_batch(*[b.pk for b in shown]))
        .order_by()
        .values_list("batch_id", "grade", "decision")
        .annotate(n=Count("*"))
    )
    return shown, {(b, g, d): n for b, g, d, n in rows}


def _stations() -> list[dict[str, Any]]:
    """Each station's last contact and the outbox lag of its newest report: two queries."""
    newest = (
        DeviceStatus.objects.filter(station=OuterRef("name"), last_run__isnull=False)
        .order_by("-last_run_at")
        .values("last_run_id")[:1]
    )
    stations = list(Station.objects.annotate(newest_run=Subquery(newest)).order_by("name"))
    runs = {
        r.pk: r
        for r in Run.objects.filter(pk__in=[s.newest_run for s in stations if s.newest_run]).only(
            "received_at", "finished_at", "created_at"
        )
    }
    found = []
    for st in stations:
        last = runs.get(st.newest_run)
        lag = None
        if last is not None:
            done = last.finished_at or last.created_at
            lag = timedelta(seconds=max(0, int((last.received_at - done).total_seconds())))
        found.append({"station": st, "last": last, "lag": lag})
    return found


def _short_batches(batch: Batch | None) -> list[int]:
    """The open batches (or ``batch``) with fewer reported laptops than scanned tags: two
    index counts, so the search for unreported tags skips every complete batch."""
    if batch is not None:
        ids = [batch.pk] if batch.closed_at is None else []
    else:
        ids = list(Batch.objects.filter(closed_at__isnull=True).values_list("pk", flat=True))
    scanned = dict(
        BatchItem.objects.filter(batch_id__in=ids)
        .order_by()
        .values_list("batch_id")
        .annotate(n=Count("*"))
        .values_list("batch_id", "n")
    )
    reported = _grouped(DeviceStatus.objects.filter(batch_id__in=ids), "batch_id")
    return [pk for pk, n in scanned.items() if reported.get(pk, 0) < n]


@viewer
def dashboard(request: HttpRequest) -> HttpResponse:
    period, where, batch = _period(request)
    scope = DeviceStatus.objects.filter(where)
    stations = _stations()
    names = [s["station"].name for s in stations]
    got = (_per_index if period == "all" else _one_pass)(scope, names)
    total = got["total"]
    problems = [
        {"reason": r, "kind": r.key, "title": r.title, "count": got[f"p_{r.key}"]}
        for r in review.REASONS
        if r.key != "conflict"  # listed pair by pair above the problems
    ]
    # Tags scanned into a batch whose laptop never reported.
    scanned = BatchItem.objects.filter(batch__in=_short_batches(batch)).exclude(
        Exists(DeviceStatus.objects.filter(asset_tag=OuterRef("asset_tag")))
    )
    missing_rows = list(scanned.select_related("batch")[:11])
    missing = {
        "count": len(missing_rows) if len(missing_rows) <= 10 else scanned.count(),
        "rows": missing_rows[:10],
    }

    days, weeks = _timeline(timezone.localtime())
    shown, per_batch = _per_batch(batch)
    battery = [(f"{lo}–{lo + 10} %", got[f"b_{lo}"]) for lo in range(0, 90, 10)]
    battery.append(("90–100 %", got["b_90"]))
    wear = [(f"{lo}–{lo + 10} %", got[f"w_{lo}"]) for lo in range(0, 100, 10)]
    wear += [("≥ 100 %", got["w_100"]), (_("unknown"), got["w_none"])]
    batch_label = {b.pk: f"#{b.pk} {b.donor}"[:40] for b in shown}

    def by_batch(keys: tuple[str, ...], column: int) -> list[tuple[str, list[int]]]:
        rows = []
        for b in shown:
            values = [
                sum(n for k, n in per_batch.items() if k[0] == b.pk and k[column] == key)
                for key in keys
            ]
            rows.append((batch_label[b.pk], values))
        return rows

    grades = _counted(got, "g_", GRADES, total, "grade")
    destinations = _counted(got, "d_", DECISIONS, total, "decision")
    erasure = [(str(label), got[f"e_{v}"]) for v, label in ErasureState.choices]
    lending = [(str(label), got[f"l_{v}"]) for v, label in Lending.choices]
    verdicts = [(word("disk_verdict", v), got[f"v_{v}"]) for v in VERDICTS]
    per_station = [(n, got[f"s_{i}"]) for i, n in enumerate(names)]
    context = {
        "period": period,
        "batch": batch,
        "batches": Batch.objects.filter(closed_at__isnull=True)[:20],
        "problems": problems,
        "missing": missing,
        "total": total,
        "counts": {"grade": grades, "destination": destinations, "battery": battery},
        "charts": [
            charts.columns("chart-days", _("Laptops per day (last 30 days)"), days, _("Day")),
            charts.columns("chart-weeks", _("Laptops per week (last 12 weeks)"), weeks, _("Week")),
            charts.bars("chart-grade", _("Grade"), grades, _("Grade")),
            charts.bars("chart-destination", _("Destination"), destinations, _("Destination")),
            charts.bars("chart-erasure", _("Erasure"), erasure, _("Erasure")),
            charts.bars("chart-lending", _("Lending status"), lending, _("Lending status")),
            charts.bars("chart-battery", _("Battery health"), battery, _("Battery health")),
            charts.bars(
                "chart-wear",
                _("Disk wear per laptop (most worn disk, NVMe percentage used)"),
                wear,
                _("Wear"),
            ),
            charts.bars(
                "chart-verdicts", _("Disk verdicts per laptop (worst disk)"), verdicts, _("Verdict")
            ),
            charts.bars("chart-stations", _("Laptops per station"), per_station, _("Station")),
            charts.stacked(
                "chart-batch-grades",
                _("Grades per batch"),
                by_batch(GRADES, 1),
                [word("grade", g) for g in GRADES],
                _("Batch"),
            ),
            charts.stacked(
                "chart-batch-destinations",
                _("Destinations per batch"),
                by_batch(DECISIONS, 2),
                [word("decision", d) for d in DECISIONS],
                _("Batch"),
            ),
        ],
        "stations": stations,
        "conflicts": conflicts.open_conflicts(),
    }
    return render(request, "web/dashboard.html", context)
