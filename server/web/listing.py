"""The device list: filters, sorting and keyset pages over ``DeviceStatus``.

Keyset pages (``after``/``before`` a (value, key) cursor) cost the same on
page 2,000 as on page 1, where OFFSET would scan every row it skips.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import BadRequest
from django.db.models import F, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext

from server.ingest.models import Run, SignatureStatus
from server.web.models import DeviceStatus
from server.web.vocabulary import PROPOSAL_LABELS, Decision

PAGE_SIZE = 50
#: the largest id any database column here holds (a 64-bit signed integer)
MAX_ID = 2**63 - 1

#: sort key in the URL -> column
SORTS = {
    "tag": "asset_tag",
    "serial": "serial",
    "model": "model",
    "grade": "grade",
    "destination": "decision",
    "batch": "batch_id",
    "date": "last_run_at",
    "station": "station",
}
FILTERS = ("q", "grade", "destination", "batch", "station", "erasure", "lending", "problem")
PROBLEMS = ("wipe", "disk", "unfinished", "overridden")


@dataclass
class Page:
    rows: list[DeviceStatus]
    #: matching laptops, or -1 when not counted (a search with more than one page)
    total: int
    next_cursor: str | None
    prev_cursor: str | None
    sort: str
    desc: bool


def db_id(text: str) -> int | None:
    """``text`` as a row id, or None when it is not one (letters, or too big for any row)."""
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def _parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def filtered(params: QueryDict) -> QuerySet[DeviceStatus]:
    """``DeviceStatus`` rows matching the list's query parameters (unknown values match none)."""
    qs = DeviceStatus.objects.all()
    q = params.get("q", "").strip().lower()
    if q:
        qs = qs.filter(search__contains=q)
    for name, column in (
        ("grade", "grade"),
        ("station", "station"),
        ("erasure", "erasure"),
        ("lending", "lending"),
    ):
        value = params.get(name, "")
        if value:
            qs = qs.filter(**{column: value})
    qs = _destination(qs, params.get("destination", ""))
    batch = params.get("batch", "")
    if batch == "none":
        qs = qs.filter(batch__isnull=True)
    elif batch.isascii() and batch.isdigit():
        batch_id = db_id(batch)
        if batch_id is None:
            raise BadRequest("no batch can have that number")
        qs = qs.filter(batch_id=batch_id)
    elif batch:
        qs = qs.none()
    problem = params.get("problem", "")
    if problem:
        qs = qs.filter(problem_q(problem)) if problem in PROBLEMS else qs.none()
    tz = timezone.get_current_timezone()
    since = _parse_day(params.get("from", ""))
    if since:
        qs = qs.filter(last_run_at__gte=datetime.combine(since, time(), tz))
    until = _parse_day(params.get("to", ""))
    if until:
        qs = qs.filter(last_run_at__lt=datetime.combine(until + timedelta(days=1), time(), tz))
    return qs


#: the destination filter's "proposed, not decided yet" values: ``proposed-lend`` etc.
PROPOSED = "proposed-"


def destination_choices() -> list[tuple[str, str]]:
    """The destination filter: every decision, and every proposal not decided yet."""
    decided = [(str(v), str(label)) for v, label in Decision.choices]
    proposed = [
        (PROPOSED + p, gettext("%(proposal)s (proposed)") % {"proposal": label})
        for p, label in PROPOSAL_LABELS.items()
    ]
    return [("undecided", gettext("not decided yet")), *decided, *proposed]


def _destination(qs: QuerySet[DeviceStatus], value: str) -> QuerySet[DeviceStatus]:
    """Decision and proposal are two columns; the filter names either (unknown: none)."""
    if not value:
        return qs
    if value == "undecided":
        return qs.filter(decision="")
    if value.startswith(PROPOSED):
        return qs.filter(decision="", proposal=value[len(PROPOSED) :])
    if value in Decision.values:
        return qs.filter(decision=value)
    return qs.none()


def problem_labels() -> dict[str, str]:
    return {
        "wipe": gettext("wipe failed or with exceptions"),
        "disk": gettext("failing disk"),
        "unfinished": gettext("report not finished"),
        "overridden": gettext("grade overridden"),
    }


def problem_q(kind: str) -> Q:
    from server.web import review  # the review queue's conditions: one definition

    return {
        "wipe": review.wipe_failed_q(),
        "disk": review.failing_disk_q(),
        "unfinished": Q(report_finished=False),
        "overridden": ~Q(grade_override=""),
    }[kind]


def _encode(value: Any, pk: int) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    return base64.urlsafe_b64encode(json.dumps([value, pk]).encode()).decode().rstrip("=")


def _decode(cursor: str, column: str) -> tuple[Any, int] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
        if not isinstance(pk, int) or isinstance(pk, bool) or not 0 <= pk <= MAX_ID:
            raise BadRequest("invalid page cursor")
        if column == "last_run_at" and value is not None:
            value = datetime.fromisoformat(value)
        elif column == "batch_id":
            if value is not None and (not isinstance(value, int) or not 0 <= value <= MAX_ID):
                raise BadRequest("invalid page cursor")
        elif not isinstance(value, str):
            return None
    except (binascii.Error, ValueError, TypeError):
        return None
    return value, pk


def _beyond(column: str, desc: bool, value: Any, pk: int) -> Q:
    """Rows after (value, pk) in the order: ascending nulls first, descending nulls last."""
    if not desc:
        if value is None:
            return Q(**{f"{column}__isnull": True, "pk__gt": pk}) | Q(
                **{f"{column}__isnull": False}
            )
        return Q(**{f"{column}__gt": value}) | Q(**{column: value, "pk__gt": pk})
    if value is None:
        return Q(**{f"{column}__isnull": True, "pk__lt": pk})
    return (
        Q(**{f"{column}__lt": value})
        | Q(**{f"{column}__isnull": True})
        | Q(**{column: value, "pk__lt": pk})
    )


def _ordered(qs: QuerySet[DeviceStatus], column: str, desc: bool) -> QuerySet[DeviceStatus]:
    if desc:
        return qs.order_by(F(column).desc(nulls_last=True), "-pk")
    return qs.order_by(F(column).asc(nulls_first=True), "pk")


def _mark_unproven(rows: list[DeviceStatus]) -> None:
    """Set ``row.unproven`` where the latest report is not signed with the station's key."""
    run_ids = [r.last_run_id for r in rows if r.last_run_id is not None]
    unproven = set(
        Run.objects.filter(pk__in=run_ids)
        .exclude(signature_status=SignatureStatus.VALID)
        .values_list("pk", flat=True)
    )
    for row in rows:
        row.unproven = row.last_run_id in unproven  # type: ignore[attr-defined]


def page(params: QueryDict, *, count: bool = True) -> Page:
    sort = params.get("sort", "date")
    if sort not in SORTS:
        sort = "date"
    column = SORTS[sort]
    desc = params.get("dir", "desc" if sort == "date" else "asc") == "desc"
    qs = filtered(params)
    # A substring search scans the table; counting would scan it a second time.
    searching = bool(params.get("q", "").strip())
    total = qs.count() if count and not searching else -1
    after = _decode(params.get("after", ""), column) if params.get("after") else None
    before = _decode(params.get("before", ""), column) if params.get("before") else None
    if before is not None:
        rows = list(
            _ordered(qs.filter(_beyond(column, not desc, *before)), column, not desc)[
                : PAGE_SIZE + 1
            ]
        )
        has_more_back = len(rows) > PAGE_SIZE
        rows = list(reversed(rows[:PAGE_SIZE]))
        has_next = True
        has_prev = has_more_back
    else:
        if after is not None:
            qs = qs.filter(_beyond(column, desc, *after))
        rows = list(_ordered(qs, column, desc)[: PAGE_SIZE + 1])
        has_next = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        has_prev = after is not None

    _mark_unproven(rows)

    def cursor(row: DeviceStatus) -> str:
        return _encode(getattr(row, column), row.pk)

    if total == -1 and after is None and before is None and not has_next:
        total = len(rows)  # the whole result is on this page
    return Page(
        rows=rows,
        total=total,
        next_cursor=cursor(rows[-1]) if rows and has_next else None,
        prev_cursor=cursor(rows[0]) if rows and has_prev else None,
        sort=sort,
        desc=desc,
    )
