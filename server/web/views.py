"""The coordinators' pages: dashboard, devices, audit log."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from server.ingest.models import AuditEvent, Disk, Run, Station
from server.web import audit, conflicts, evidence, listing
from server.web.forms import (
    DestinationForm,
    DestructionForm,
    GradeOverrideForm,
    LendingForm,
    NoteForm,
)
from server.web.models import (
    LENDING_NEXT,
    Batch,
    Certificate,
    DeviceStatus,
    DiskDestruction,
    ErasureState,
    Lending,
    Note,
)

VIEW = "web.view_devicestatus"


def viewer(func: Any) -> Any:
    return login_required(permission_required(VIEW, raise_exception=True)(func))


# --------------------------------------------------------------------------- dashboard


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
            return period, Q(batch=batch), batch
    if period == "all":
        return period, Q(), None
    return "today", Q(last_run_at__gte=start), None


def _bars(rows: list[tuple[str, int]]) -> list[dict[str, Any]]:
    top = max((n for _, n in rows), default=0) or 1
    return [{"label": label, "count": n, "pct": round(100 * n / top)} for label, n in rows]


def _counts(qs: Any, field: str) -> list[tuple[str, int]]:
    # Unordered: an ORDER BY would make SQLite walk the column's index over every laptop
    # instead of the period's date range.
    rows = qs.values(field).annotate(n=Count("pk")).order_by()
    return sorted((str(row[field] or "-"), row["n"]) for row in rows)


@viewer
def dashboard(request: HttpRequest) -> HttpResponse:
    period, where, batch = _period(request)
    scope = DeviceStatus.objects.filter(where)
    problems = []
    for kind, title in (
        ("wipe", _("Wipe failed or with exceptions")),
        ("disk", _("Failing disks")),
        ("unfinished", _("Report not finished")),
        ("overridden", _("Grade overridden")),
    ):
        qs = scope.filter(listing.problem_q(kind))
        problems.append({"kind": kind, "title": title, "count": qs.count(), "rows": list(qs[:10])})
    # Tags scanned into a batch whose laptop never reported.
    from server.web.models import BatchItem

    scanned = BatchItem.objects.filter(batch__closed_at__isnull=True).exclude(
        asset_tag__in=DeviceStatus.objects.values("asset_tag")
    )
    if batch is not None:
        scanned = scanned.filter(batch=batch)
    missing = {"count": scanned.count(), "rows": list(scanned.select_related("batch")[:10])}

    now = timezone.now()
    weeks = []
    for i in range(7, -1, -1):
        end = now - timedelta(weeks=i)
        start = end - timedelta(weeks=1)
        weeks.append(
            (
                f"{timezone.localtime(start):%d-%m}",
                DeviceStatus.objects.filter(last_run_at__gte=start, last_run_at__lt=end).count(),
            )
        )
    tenths = scope.filter(battery_health__isnull=False).aggregate(
        **{
            f"b{lo}": Count("pk", filter=Q(battery_health__gte=lo, battery_health__lt=lo + 10))
            for lo in range(0, 90, 10)
        },
        b90=Count("pk", filter=Q(battery_health__gte=90)),
    )
    battery = [(f"{lo}-{lo + 10}%", tenths[f"b{lo}"]) for lo in range(0, 100, 10)]
    verdicts = _counts(Disk.objects.filter(run__in=scope.values("last_run")), "verdict")
    stations = []
    for st in Station.objects.order_by("name"):
        # The newest laptop row of the station (small rows), not a sort over the big runs.
        newest = (
            DeviceStatus.objects.filter(station=st.name, last_run__isnull=False)
            .order_by("-last_run_at")
            .select_related("last_run")
            .first()
        )
        last = newest.last_run if newest else None
        lag = None
        if last is not None:
            done = last.finished_at or last.created_at
            lag = timedelta(seconds=max(0, int((last.received_at - done).total_seconds())))
        stations.append({"station": st, "last": last, "lag": lag})
    context = {
        "period": period,
        "batch": batch,
        "batches": Batch.objects.filter(closed_at__isnull=True)[:20],
        "problems": problems,
        "missing": missing,
        "total": scope.count(),
        "by_grade": _bars(_counts(scope, "grade")),
        "by_destination": _bars(_counts(scope, "destination")),
        "by_erasure": _bars(_counts(scope, "erasure")),
        "by_lending": _bars(_counts(scope, "lending")),
        "weeks": _bars(weeks),
        "battery": _bars(battery),
        "verdicts": _bars(verdicts),
        "stations": stations,
        "conflicts": conflicts.open_conflicts(),
    }
    return render(request, "web/dashboard.html", context)


# --------------------------------------------------------------------------- devices


@viewer
def device_list(request: HttpRequest) -> HttpResponse:
    pg = listing.page(request.GET)
    params = request.GET.copy()
    for key in ("after", "before"):
        params.pop(key, None)
    base = params.urlencode()
    sort_links = {}
    for key in listing.SORTS:
        p = params.copy()
        p.pop("after", None)
        p["sort"] = key
        p["dir"] = (
            "asc" if (pg.sort == key and pg.desc) or (pg.sort != key and key != "date") else "desc"
        )
        sort_links[key] = p.urlencode()
    context = {
        "page": pg,
        "base": base,
        "sort_links": sort_links,
        "params": request.GET,
        "grades": ["A", "B", "C", "parts", "recycle"],
        "destinations": ["lend", "digibank", "digileen", "repair", "parts", "recycle"],
        "erasures": ErasureState.choices,
        "lendings": Lending.choices,
        "batches": Batch.objects.all()[:200],
        "stations": Station.objects.order_by("name").values_list("name", flat=True),
        "problems": listing.PROBLEMS,
    }
    return render(request, "web/device_list.html", context)


#: the largest id a database key column holds; bigger numbers name no laptop
_MAX_PK = 2**63 - 1


class AmbiguousTag(Exception):
    """Several laptops carry the tag: the operator has to pick one."""

    def __init__(self, tag: str, candidates: list[DeviceStatus]) -> None:
        super().__init__(tag)
        self.tag = tag
        self.candidates = candidates


def find_status(pk: int | None = None, key: str | None = None) -> DeviceStatus:
    """The laptop behind a URL: by database id under /laptop/, by asset tag under /devices/."""
    qs = DeviceStatus.objects.select_related("device", "last_run", "batch")
    if pk is not None:
        found = qs.filter(pk=pk).first() if 0 < pk <= _MAX_PK else None
        if found is None:
            raise Http404("no such laptop")
        return found
    rows = list(qs.filter(asset_tag=key).order_by("-last_run_at", "pk")[:50]) if key else []
    if not rows:
        raise Http404("no such laptop")
    if len(rows) > 1:
        raise AmbiguousTag(str(key), rows)
    return rows[0]


def laptop_view(func: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Hand the view its laptop; a tag shared by several laptops lists them instead."""

    @functools.wraps(func)
    def wrapper(
        request: HttpRequest, pk: int | None = None, key: str | None = None
    ) -> HttpResponse:
        try:
            status = find_status(pk=pk, key=key)
        except AmbiguousTag as exc:
            return render(
                request,
                "web/device_choice.html",
                {"tag": exc.tag, "candidates": exc.candidates},
                status=300 if request.method == "GET" else 409,
            )
        return func(request, status)

    return wrapper


def _report(run: Run) -> dict[str, Any]:
    try:
        data = json.loads(run.raw_body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _raw_smartctl(disks: list[Any]) -> None:
    """Each disk's raw smartctl JSON as indented text: json.dumps, not the template's pprint
    filter, which took most of a page with several runs."""
    for disk in disks:
        health = disk.get("health") if isinstance(disk, dict) else None
        raw = health.get("raw_smartctl_json") if isinstance(health, dict) else None
        if raw is not None:
            disk["raw_smartctl_json"] = json.dumps(raw, indent=1, ensure_ascii=False)


@viewer
@laptop_view
def device_detail(request: HttpRequest, status: DeviceStatus) -> HttpResponse:
    device = status.device
    runs = []
    # One query per kind of row, whatever the number of runs; the record signatures were
    # checked when the report arrived (ErasureRecord.signature_status).
    run_objs = list(
        Run.objects.filter(device=device)
        .select_related("station", "grade")
        .prefetch_related("erasures", "images")
    )
    for run in run_objs:
        report = _report(run)
        comps = report.get("components") or {}
        _raw_smartctl(comps.get("disks") or [])
        runs.append(
            {
                "run": run,
                "report": report,
                "disks": comps.get("disks") or [],
                "batteries": comps.get("batteries") or [],
                "cpu": comps.get("cpu") or {},
                "memory": comps.get("memory") or {},
                "erasures": [(e, e.signature_status) for e in run.erasures.all()],
                "images": list(run.images.all()),
                "grade": getattr(run, "grade", None),
                "report_grade": report.get("grade") or {},
            }
        )
    events = AuditEvent.objects.filter(
        Q(object_type="device", object_id=str(device.pk))
        | Q(object_type="run", object_id__in=[str(run.report_id) for run in run_objs])
    )[:200]
    allowed_lending = LENDING_NEXT.get(status.lending, ())
    context = {
        "status": status,
        "device": device,
        "runs": runs,
        "notes": Note.objects.filter(device=device).select_related("author"),
        "destructions": DiskDestruction.objects.filter(device=device),
        "events": events,
        "grade_form": GradeOverrideForm(),
        "destination_form": DestinationForm(),
        "lending_choices": [(v, label) for v, label in Lending.choices if v in allowed_lending],
        "note_form": NoteForm(),
        "destruction_form": DestructionForm(),
        "erasure_missing": evidence.erasure_missing(status),
        "lending_missing": evidence.lending_missing(status),
        "conflicts": conflicts.for_device(status.pk),
        "certificates": Certificate.objects.filter(device=device).order_by("-issued_at"),
    }
    return render(request, "web/device_detail.html", context)


def _back(status: DeviceStatus) -> HttpResponse:
    return redirect("web:device", pk=status.pk)


@require_POST
@login_required
@permission_required("web.override_grade", raise_exception=True)
@laptop_view
def override_grade(request: HttpRequest, status: DeviceStatus) -> HttpResponse:
    form = GradeOverrideForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return _back(status)
    with transaction.atomic():
        old = status.grade
        status.grade_override = form.cleaned_data["grade"]
        status.grade_override_reason = form.cleaned_data["reason"]
        status.grade = status.grade_override
        status.save(update_fields=["grade_override", "grade_override_reason", "grade"])
        audit.record(
            request.user,
            "grade.overridden",
            "device",
            str(status.pk),
            asset_tag=status.asset_tag,
            old=old,
            new=status.grade,
            reason=status.grade_override_reason,
        )
    messages.success(request, _("Grade changed."))
    return _back(status)


@require_POST
@login_required
@permission_required("web.decide_destination", raise_exception=True)
@laptop_view
def set_destination(request: HttpRequest, status: DeviceStatus) -> HttpResponse:
    form = DestinationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Pick a destination."))
        return _back(status)
    destination = form.cleaned_data["destination"]
    if destination in evidence.LENDING_DESTINATIONS:
        missing = evidence.lending_missing(status, destination=destination)
        if missing:
            messages.error(
                request, _("Not lendable: %(missing)s.") % {"missing": evidence.say(missing)}
            )
            return _back(status)
    with transaction.atomic():
        old = status.destination
        status.destination = form.cleaned_data["destination"]
        status.destination_final = True
        status.save(update_fields=["destination", "destination_final"])
        audit.record(
            request.user,
            "destination.decided",
            "device",
            str(status.pk),
            asset_tag=status.asset_tag,
            old=old,
            new=status.destination,
            reason=form.cleaned_data["reason"],
        )
    messages.success(request, _("Destination decided."))
    return _back(status)


@require_POST
@login_required
@permission_required("web.decide_destination", raise_exception=True)
@laptop_view
def set_lending(request: HttpRequest, status: DeviceStatus) -> HttpResponse:
    form = LendingForm(request.POST)
    new = form.cleaned_data["lending"] if form.is_valid() else ""
    if new not in LENDING_NEXT.get(status.lending, ()):
        messages.error(request, _("That lending status cannot follow the current one."))
        return _back(status)
    missing: list[evidence.Missing] = []
    if new == Lending.LENT:
        # A returned laptop goes out again only after a new proven wipe.
        since = status.lending_changed_at if status.lending == Lending.RETURNED else None
        missing = evidence.lending_missing(status, since=since)
    elif new == Lending.IN_STOCK:
        missing = evidence.erasure_missing(status)
        if status.lending_changed_at is not None:
            run = evidence.latest_intake(status)
            if run is None or run.received_at <= status.lending_changed_at:
                missing.append(evidence.Missing("not_rewiped"))
    if missing:
        messages.error(
            request,
            _("That lending status needs proof first: %(missing)s.")
            % {"missing": evidence.say(missing)},
        )
        return _back(status)
    with transaction.atomic():
        old = status.lending
        status.lending = new
        status.lending_changed_at = timezone.now()
        status.save(update_fields=["lending", "lending_changed_at"])
        audit.record(
            request.user,
            "lending.changed",
            "device",
            str(status.pk),
            asset_tag=status.asset_tag,
            old=old,
            new=new,
        )
    return _back(status)


@require_POST
@login_required
@permission_required("web.add_note", raise_exception=True)
@laptop_view
def add_note(request: HttpRequest, status: DeviceStatus) -> HttpResponse:
    form = NoteForm(request.POST)
    if form.is_valid():
        with transaction.atomic():
            note = Note.objects.create(
                device=status.device, author=audit.staff(request), text=form.cleaned_data["text"]
            )
            audit.record(
                request.user,
                "note.added",
                "device",
                str(status.pk),
                asset_tag=status.asset_tag,
                note=note.text,
            )
    else:
        messages.error(request, _("A note cannot be empty."))
    return _back(status)


@require_POST
@login_required
@permission_required("web.add_diskdestruction", raise_exception=True)
@laptop_view
def record_destruction(request: HttpRequest, status: DeviceStatus) -> HttpResponse:
    form = DestructionForm(request.POST)
    if form.is_valid():
        with transaction.atomic():
            DiskDestruction.objects.create(
                device=status.device, recorded_by=audit.staff(request), **form.cleaned_data
            )
            audit.record(
                request.user,
                "disk.destroyed",
                "device",
                str(status.pk),
                asset_tag=status.asset_tag,
                **form.cleaned_data,
            )
    else:
        messages.error(request, _("Give the disk serial and how it was destroyed."))
    return _back(status)


@viewer
@laptop_view
def device_json(request: HttpRequest, status: DeviceStatus) -> HttpResponse:
    runs = Run.objects.filter(device=status.device)
    body = {
        "asset_tag": status.asset_tag,
        "serial": status.serial,
        "model": status.model,
        "grade": status.grade,
        "report_grade": status.report_grade,
        "grade_override": status.grade_override,
        "grade_override_reason": status.grade_override_reason,
        "destination": status.destination,
        "destination_final": status.destination_final,
        "lending": status.lending,
        "erasure": status.erasure,
        "erasure_missing": [{"code": m.code, **m.params} for m in evidence.erasure_missing(status)],
        "lending_missing": [{"code": m.code, **m.params} for m in evidence.lending_missing(status)],
        "batch": status.batch_id,
        "notes": [
            {"at": n.at.isoformat(), "author": n.author.get_username(), "text": n.text}
            for n in Note.objects.filter(device=status.device).select_related("author")
        ],
        "runs": [
            {
                "report_id": str(r.report_id),
                "signature_status": r.signature_status,
                "received_at": r.received_at.isoformat(),
                "report": _report(r),
            }
            for r in runs
        ],
    }
    response = JsonResponse(body, json_dumps_params={"indent": 1})
    response["Content-Disposition"] = f'attachment; filename="device-{status.pk}.json"'
    return response


# --------------------------------------------------------------------------- audit


@login_required
@permission_required("ingest.view_auditevent", raise_exception=True)
def audit_log(request: HttpRequest) -> HttpResponse:
    events = AuditEvent.objects.all()
    action = request.GET.get("action", "")
    if action:
        events = events.filter(action=action)
    who = request.GET.get("actor", "")
    if who:
        events = events.filter(actor=who)
    before = request.GET.get("before", "")
    before_id = listing.db_id(before)
    if before_id is not None:
        events = events.filter(pk__lt=before_id)
    rows = list(events.order_by("-pk")[:100])
    return render(
        request,
        "web/audit.html",
        {"events": rows, "next": rows[-1].pk if len(rows) == 100 else None, "params": request.GET},
    )
