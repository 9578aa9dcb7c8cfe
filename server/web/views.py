"""The coordinators' pages: dashboard, devices, audit log."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from server.ingest.models import AuditEvent, Run, Station
from server.lending import rules as lending_rules
from server.web import audit, bulk_views, conflicts, decisions, evidence, listing, vocabulary
from server.web.check_rows import check_rows
from server.web.forms import (
    DestinationForm,
    DestructionForm,
    GradeOverrideForm,
    NoteForm,
)
from server.web.models import (
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
# The dashboard lives in server/web/dashboard.py.


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
        "grades": list(vocabulary.GRADE_LABELS.items()),
        "destinations": listing.destination_choices(),
        "erasures": ErasureState.choices,
        "lendings": Lending.choices,
        "batches": Batch.objects.all()[:200],
        "stations": Station.objects.order_by("name").values_list("name", flat=True),
        "problems": list(listing.problem_labels().items()),
        **bulk_views.form_context(),
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
                "checks": check_rows(report.get("grade")),
            }
        )
    events = AuditEvent.objects.filter(
        Q(object_type="device", object_id=str(device.pk))
        | Q(object_type="run", object_id__in=[str(run.report_id) for run in run_objs])
    )[:200]
    context = {
        "status": status,
        "device": device,
        "runs": runs,
        "latest_checks": runs[0]["checks"] if runs else [],
        "notes": Note.objects.filter(device=device).select_related("author"),
        "destructions": DiskDestruction.objects.filter(device=device),
        "events": events,
        "grade_form": GradeOverrideForm(),
        "destination_form": DestinationForm(
            initial={"destination": next(iter(vocabulary.decisions_for(status.proposal)), "")}
        ),
        "note_form": NoteForm(),
        "destruction_form": DestructionForm(),
        "erasure_missing": evidence.erasure_missing(status),
        # the lending form's own rule: not out on loan, re-wiped since the last return
        "lending_missing": lending_rules.missing(status),
        "conflicts": conflicts.for_device(status.pk),
        "certificates": Certificate.objects.filter(device=device).order_by("-issued_at"),
    }
    return render(request, "web/device_detail.html", context)


def _back(status: DeviceStatus, request: HttpRequest | None = None) -> HttpResponse:
    """Back to the laptop's page, or to the page the form names (the review queue)."""
    target = request.POST.get("next", "") if request is not None else ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return redirect(target)
    return redirect("web:device", pk=status.pk)


def _refused(request: HttpRequest, exc: decisions.Refused) -> None:
    messages.error(request, " ".join(exc.reasons))


@require_POST
@login_required
@permission_required("web.override_grade", raise_exception=True)
@laptop_view
def override_grade(request: HttpRequest, status: DeviceStatus) -> HttpResponse:
    form = GradeOverrideForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return _back(status)
    try:
        decisions.override_grade(
            status, form.cleaned_data["grade"], form.cleaned_data["reason"], audit.staff(request)
        )
    except decisions.Refused as exc:
        _refused(request, exc)
        return _back(status)
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
        return _back(status, request)
    try:
        decisions.decide(
            status,
            form.cleaned_data["destination"],
            audit.staff(request),
            reason=form.cleaned_data["reason"],
        )
    except decisions.Refused as exc:
        messages.error(
            request, _("Not lendable: %(missing)s.") % {"missing": "; ".join(exc.reasons)}
        )
        return _back(status, request)
    messages.success(request, _("Destination decided."))
    return _back(status, request)


@require_POST
@login_required
@permission_required("web.add_note", raise_exception=True)
@laptop_view
def add_note(request: HttpRequest, status: DeviceStatus) -> HttpResponse:
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A note cannot be empty."))
        return _back(status)
    try:
        decisions.add_note(status, form.cleaned_data["text"], audit.staff(request))
    except decisions.Refused as exc:
        _refused(request, exc)
    return _back(status)


@require_POST
@login_required
@permission_required("web.add_diskdestruction", raise_exception=True)
@laptop_view
def record_destruction(request: HttpRequest, status: DeviceStatus) -> HttpResponse:
    form = DestructionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the disk serial and how it was destroyed."))
        return _back(status)
    try:
        decisions.record_destruction(status, **form.cleaned_data, user=audit.staff(request))
    except decisions.Refused as exc:
        _refused(request, exc)
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
        "proposal": status.proposal,
        "decision": status.decision,
        "lending": status.lending,
        "erasure": status.erasure,
        "erasure_missing": [{"code": m.code, **m.params} for m in evidence.erasure_missing(status)],
        "lending_missing": [{"code": m.code, **m.params} for m in lending_rules.missing(status)],
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
        {
            "events": rows,
            "next": rows[-1].pk if len(rows) == 100 else None,
            "params": request.GET,
            "actions": [(k, str(v)) for k, v in vocabulary.LABELS["audit"].items()],
        },
    )
